//! `portlib build`: the bundle (`DIR/lib`, `DIR/manifest.json`, optionally a zip).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use portlib::build::{self, BuildError, BuildOptions, BuildReport, Format, Target, ZipRequest};

use super::workspace::{open_repo, open_upstream};
use super::{Global, Outcome};

/// Used for the zip's timestamps and name when neither `SOURCE_DATE_EPOCH` nor a git commit
/// gives a date: CPython 3.4.9's release day, 2018-08-02 00:00 UTC.
const FALLBACK_EPOCH: u64 = 1_533_168_000;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TargetArg {
    Micropython,
    Circuitpython,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    /// Compiled .mpy bytecode (needs the portlib compiler).
    Mpy,
    /// The effective sources.
    Py,
}

const BUILD_EXAMPLES: &str = "Examples:
  portlib build --zip                        # everything ported, as .mpy, plus a zip in build/
  portlib build unittest --tests --explain   # unittest, what it imports, and its tests; why each
  portlib build --target circuitpython --format py --out bundle-py

Exit status: 0 built, 1 a file does not parse or compile (FILE:LINE:COL printed, nothing written),
2 an error (a patch that no longer applies, missing upstream, an unknown module, a bad --out).";

/// Build the bundle: `DIR/lib/…` mirroring a board's /lib, `DIR/manifest.json`, and a zip.
#[derive(Debug, Args)]
#[command(after_help = BUILD_EXAMPLES)]
pub struct BuildArgs {
    /// Modules to build, with their import closure (`glob`, `unittest`, `unittest.case`,
    /// `test/support/__init__.py`); everything ported by default.
    pub modules: Vec<String>,

    /// The firmware: decides the built-in modules and the .mpy header.
    #[arg(long, value_enum, default_value = "micropython")]
    pub target: TargetArg,

    /// Compiled `.mpy` bytecode (portlib's own compiler, byte-identical to mpy-cross 1.29) or
    /// the effective `.py` sources.
    #[arg(long, value_enum, default_value = "mpy")]
    pub format: FormatArg,

    /// Optimisation level of the compiler (like mpy-cross -O).
    #[arg(short = 'O', long = "opt", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=3), value_name = "N")]
    pub opt: u8,

    /// Include test files (`test/…`, `unittest/test/…`) and, for a named module `m`,
    /// `test/test_m`.
    #[arg(long)]
    pub tests: bool,

    /// Output folder (replaced whole; the bundle is DIR/lib).
    #[arg(long, short, default_value = "build", value_name = "DIR")]
    pub out: PathBuf,

    /// Also write a reproducible zip: `--zip=FILE`, or `--zip` alone for DIR/<bundle name>
    /// (`portlib-stdlib-10.x-mpy-YYYYMMDD.zip`, date from SOURCE_DATE_EPOCH, else the last git
    /// commit, else CPython 3.4.9's release day). The `=` keeps `--zip unittest` meaning the
    /// module.
    #[arg(long, value_name = "FILE", num_args = 0..=1, require_equals = true)]
    pub zip: Option<Option<PathBuf>>,

    /// Print why each file is in the bundle (the import chain back to a named module).
    #[arg(long)]
    pub explain: bool,

    /// Print a machine-readable summary on stdout.
    #[arg(long)]
    pub json: bool,

    /// Worker threads (default: one per core).
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<usize>,
}

struct Bar(ProgressBar);

impl build::Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, rel: &str) {
        self.0.set_message(rel.to_owned());
        self.0.inc(1);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

impl BuildArgs {
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let repo = open_repo(global)?;
        let target = match self.target {
            TargetArg::Micropython => Target::Micropython,
            TargetArg::Circuitpython => Target::Circuitpython,
        };
        let format = match self.format {
            FormatArg::Mpy => Format::Mpy,
            FormatArg::Py => Format::Py,
        };
        // Fail before the (slow) upstream read when the compiler is missing.
        let compiler = match format {
            Format::Mpy => Some(build::real_compiler(target, self.opt)?),
            Format::Py => None,
        };
        let upstream = open_upstream(global)?;
        let opts = BuildOptions {
            modules: self.modules.clone(),
            target,
            format,
            tests: self.tests,
            out: self.out.clone(),
            zip: match &self.zip {
                None => ZipRequest::None,
                Some(None) => ZipRequest::Default,
                Some(Some(path)) => ZipRequest::At(path.clone()),
            },
            source_date_epoch: source_date_epoch(repo.root())?,
            jobs: self.jobs,
        };
        let bar = if global.show_progress() && !self.json {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                    .expect("valid template"),
            );
            Some(Bar(bar))
        } else {
            None
        };
        let progress: &dyn build::Progress = match &bar {
            Some(b) => b,
            None => &build::NoProgress,
        };
        let report = match build::build(&repo, &upstream, &opts, compiler.as_deref(), progress) {
            Ok(r) => r,
            Err(err @ (BuildError::Syntax { .. } | BuildError::Compile { .. })) => {
                for d in err.diagnostics() {
                    eprintln!("{d}");
                }
                eprintln!(
                    "error: {err}; nothing was written to {}",
                    opts.out.display()
                );
                return Ok(Outcome::Problems);
            }
            Err(err) => return Err(err.into()),
        };
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, &summary(&report, self.explain))?;
            writeln!(out)?;
            return Ok(Outcome::Ok);
        }
        // Warnings are not errors: `--quiet` promises errors only (`--json` still lists them).
        if !global.quiet {
            for w in &report.warnings {
                eprintln!("{w}");
            }
        }
        if self.explain {
            write_explain(&report, &mut out)?;
        }
        if !global.quiet {
            writeln!(
                out,
                "{} {} file(s) in {} ({} compiled, {} cached, {} copied; {} bytes) in {:.2} s",
                if report.unchanged {
                    "up to date:"
                } else {
                    "built"
                },
                report.files.len(),
                report.out.join("lib").display(),
                report.compiled,
                report.cached,
                report.copied,
                report.bytes,
                report.time.as_secs_f64()
            )?;
            if let Some(zip) = &report.zip {
                writeln!(out, "wrote {}", zip.display())?;
            }
        }
        Ok(Outcome::Ok)
    }
}

/// One line per file: its bundle path and the chain of reasons back to what was asked for.
fn write_explain(report: &BuildReport, mut out: impl Write) -> std::io::Result<()> {
    for f in &report.files {
        let chain: Vec<String> = report
            .explain
            .get(&f.source)
            .map(|c| c.iter().map(ToString::to_string).collect())
            .unwrap_or_default();
        writeln!(out, "{}: {}", f.path, chain.join(" <- "))?;
    }
    Ok(())
}

fn summary(report: &BuildReport, explain: bool) -> serde_json::Value {
    let mut v = serde_json::json!({
        "out": report.out,
        "target": report.target,
        "format": report.format,
        "files": report.files.len(),
        "unchanged": report.unchanged,
        "compiled": report.compiled,
        "cached": report.cached,
        "copied": report.copied,
        "bytes": report.bytes,
        "scanned": report.scanned,
        "closure_ms": report.closure_time.as_secs_f64() * 1e3,
        "time_ms": report.time.as_secs_f64() * 1e3,
        "zip": report.zip,
        "warnings": report.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    if explain {
        v["explain"] = serde_json::json!(report
            .files
            .iter()
            .map(|f| (f.path.clone(), report.explain.get(&f.source)))
            .collect::<std::collections::BTreeMap<_, _>>());
    }
    v
}

/// `SOURCE_DATE_EPOCH` if set, else the time of the repository's last git commit, else
/// [`FALLBACK_EPOCH`]: never the clock, so the same sources always give the same zip.
fn source_date_epoch(root: &Path) -> anyhow::Result<u64> {
    if let Some(v) = std::env::var_os("SOURCE_DATE_EPOCH") {
        let v = v.to_string_lossy();
        return v.trim().parse().with_context(|| {
            format!("SOURCE_DATE_EPOCH must be whole seconds since 1970, not `{v}`")
        });
    }
    let git = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["log", "-1", "--format=%ct"])
        .output();
    if let Ok(out) = git {
        if out.status.success() {
            if let Ok(t) = String::from_utf8_lossy(&out.stdout).trim().parse() {
                return Ok(t);
            }
        }
    }
    Ok(FALLBACK_EPOCH)
}
