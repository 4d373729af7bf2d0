//! `portlib compile FILE…`: Python source to `.mpy` v6.3, byte-identical to `mpy-cross` 1.29
//! (or CircuitPython 10's), with mpy-cross's defaults.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::{Global, Outcome};
use portlib::diag::Diagnostic;
use portlib::mpy::compile::{compile, CompileOptions};
use portlib::mpy::format::Target;

/// Which compiler's output to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TargetArg {
    /// MicroPython 1.29 (`M` header).
    Micropython,
    /// CircuitPython 10 (`C` header and its few differences).
    Circuitpython,
}

/// Arguments of `portlib compile`.
#[derive(Debug, clap::Args)]
pub struct CompileArgs {
    /// Python source files.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// Output file (only with one input; `-` for stdout). Default: the input with `.mpy`.
    #[arg(short = 'o', value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Source name stored in the file (only with one input). Default: the path as given.
    #[arg(short = 's', value_name = "SOURCE_NAME")]
    pub source_name: Option<String>,

    /// Optimisation level as mpy-cross's `-O`: 1+ drops asserts, 3 drops line numbers.
    #[arg(short = 'O', value_name = "LEVEL", default_value_t = 0)]
    pub opt_level: u8,

    /// Target compiler.
    #[arg(long, value_enum, default_value_t = TargetArg::Micropython)]
    pub target: TargetArg,

    /// Bits of a small int (mpy-cross `-msmall-int-bits`).
    #[arg(long, value_name = "N", default_value_t = 31,
          value_parser = clap::value_parser!(u8).range(8..=63))]
    pub small_int_bits: u8,
}

impl CompileArgs {
    /// Compile every file; compile errors are reported per file (exit 1), I/O errors stop.
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        if self.files.len() > 1 && (self.output.is_some() || self.source_name.is_some()) {
            bail!("-o and -s need exactly one input file");
        }
        let opts = CompileOptions {
            target: match self.target {
                TargetArg::Micropython => Target::MicroPython,
                TargetArg::Circuitpython => Target::CircuitPython,
            },
            opt_level: self.opt_level,
            small_int_bits: self.small_int_bits,
        };
        let mut outcome = Outcome::Ok;
        for file in &self.files {
            let source =
                std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
            let name = self
                .source_name
                .clone()
                .unwrap_or_else(|| file.to_string_lossy().into_owned());
            match compile(&source, &name, &opts) {
                Ok(bytes) => self.write(file, &bytes, global)?,
                Err(e) => {
                    let d = Diagnostic::new(
                        file,
                        e.line() as usize,
                        e.col().unwrap_or(1) as usize,
                        format!("{}: {}", e.kind(), e.message()),
                    );
                    eprintln!("{d}");
                    outcome = Outcome::Problems;
                }
            }
        }
        Ok(outcome)
    }

    fn write(&self, input: &Path, bytes: &[u8], global: &Global) -> anyhow::Result<()> {
        let out = match &self.output {
            Some(o) if o.as_os_str() == "-" => {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(bytes)?;
                stdout.flush()?;
                return Ok(());
            }
            Some(o) => o.clone(),
            None => input.with_extension("mpy"),
        };
        portlib::fsutil::write_atomic(&out, bytes)
            .with_context(|| format!("cannot write {}", out.display()))?;
        if !global.quiet {
            log::info!("wrote {}", out.display());
        }
        Ok(())
    }
}
