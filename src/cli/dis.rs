//! `portlib dis FILE.mpy`: print the disassembly of a `.mpy` file.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::{Global, Outcome};
use portlib::mpy::disasm::disassemble;
use portlib::mpy::file::MpyFile;

/// Arguments of `portlib dis`.
#[derive(Debug, clap::Args)]
pub struct DisArgs {
    /// The `.mpy` file (v6.3 bytecode, from portlib or mpy-cross).
    #[arg(value_name = "FILE.mpy")]
    pub file: PathBuf,
}

impl DisArgs {
    /// Read, parse and print.
    pub fn run(self, _global: &Global) -> anyhow::Result<Outcome> {
        let data = std::fs::read(&self.file)
            .with_context(|| format!("cannot read {}", self.file.display()))?;
        let file = MpyFile::parse(&data).with_context(|| {
            format!(
                "{} is not a valid .mpy v6 bytecode file",
                self.file.display()
            )
        })?;
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        disassemble(&file, &mut out)?;
        out.flush()?;
        Ok(Outcome::Ok)
    }
}
