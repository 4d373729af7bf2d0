//! The patch-workflow subcommands: checkout, refresh, port, check, status, strip.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use portlib::memreport::MemReport;
use portlib::upstream::Upstream;
use portlib::workspace::{self, write_status_page, Repo, StatusPage, TestReport, WorkState};

use super::{Global, Outcome};

/// Open the repository (from `--root`, else the nearest folder with `patches/`).
pub fn open_repo(global: &Global) -> anyhow::Result<Repo> {
    Ok(match &global.root {
        Some(root) => Repo::at(root)?,
        None => {
            Repo::discover(&std::env::current_dir().context("cannot read the current folder")?)?
        }
    })
}

/// Open the upstream CPython source (from `--cpython`/`PORTLIB_CPYTHON`, else the cache).
pub fn open_upstream(global: &Global) -> anyhow::Result<Upstream> {
    Ok(Upstream::locate(global.cpython.as_deref())?)
}

/// Render ported files in the #/### convention into work/ for editing.
#[derive(Debug, Args)]
pub struct CheckoutArgs {
    /// Modules to check out (`fnmatch`, `unittest`, `unittest.case`, `unittest/case.py`); all ported files by default.
    pub modules: Vec<String>,
    /// Overwrite files in work/ even if they hold edits not yet refreshed.
    #[arg(long)]
    pub force: bool,
}

impl CheckoutArgs {
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let repo = open_repo(global)?;
        let upstream = open_upstream(global)?;
        let report = workspace::checkout(&repo, &upstream, &self.modules, self.force)?;
        if !global.quiet {
            for rel in &report.written {
                writeln!(std::io::stdout(), "wrote work/{rel}")?;
            }
            writeln!(
                std::io::stdout(),
                "{} written, {} already up to date",
                report.written.len(),
                report.unchanged.len()
            )?;
        }
        Ok(Outcome::Ok)
    }
}

/// Validate edited files in work/ and rewrite their patches (an invalid file is refused).
#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Modules to refresh; every file in work/ by default.
    pub modules: Vec<String>,
}

impl RefreshArgs {
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let repo = open_repo(global)?;
        let upstream = open_upstream(global)?;
        let report = workspace::refresh(&repo, &upstream, &self.modules)?;
        for (rel, diags) in &report.invalid {
            for d in diags {
                eprintln!("{d}");
            }
            eprintln!(
                "refused: patches/{rel}.diff left unchanged ({} problem(s))",
                diags.len()
            );
        }
        if !global.quiet {
            for rel in &report.updated {
                writeln!(std::io::stdout(), "updated patches/{rel}.diff")?;
            }
            writeln!(
                std::io::stdout(),
                "{} updated, {} unchanged, {} refused",
                report.updated.len(),
                report.unchanged.len(),
                report.invalid.len()
            )?;
        }
        Ok(if report.has_problems() {
            Outcome::Problems
        } else {
            Outcome::Ok
        })
    }
}

/// Start porting an upstream module: pin it, create its (empty) patch and put it in work/.
#[derive(Debug, Args)]
pub struct PortArgs {
    /// Upstream modules or packages to start porting (`glob`, `unittest`, `test/support/__init__.py`).
    #[arg(required = true)]
    pub modules: Vec<String>,
}

impl PortArgs {
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let repo = open_repo(global)?;
        let upstream = open_upstream(global)?;
        let report = workspace::port(&repo, &upstream, &self.modules)?;
        if !global.quiet {
            for rel in &report.started {
                writeln!(
                    std::io::stdout(),
                    "started Lib/{rel}: edit work/{rel}, then `portlib refresh`"
                )?;
            }
        }
        Ok(Outcome::Ok)
    }
}

/// Verify every patch (applies exactly to the pinned upstream, renders validly, is canonical)
/// and that work/ holds no invalid or unrefreshed edits.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Modules to check; all by default.
    pub modules: Vec<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

impl CheckArgs {
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let repo = open_repo(global)?;
        let upstream = open_upstream(global)?;
        let report = workspace::check(&repo, &upstream, &self.modules)?;
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, &report)?;
            writeln!(out)?;
        } else {
            for p in &report.problems {
                eprintln!("{}: {}", p.path.display(), p.message);
                for d in &p.diagnostics {
                    eprintln!("{d}");
                }
                eprintln!("    = help: {}", p.help);
            }
            if !global.quiet {
                writeln!(
                    out,
                    "checked {} patch(es): {} problem(s)",
                    report.checked,
                    report.problems.len()
                )?;
            }
        }
        Ok(if report.problems.is_empty() {
            Outcome::Ok
        } else {
            Outcome::Problems
        })
    }
}

/// Show, per file, lines commented out, lines added, and unrefreshed edits in work/.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Modules to show; all by default (lib-src/ modules included).
    pub modules: Vec<String>,
    /// Print the result as JSON.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the status page (PORT_STATUS.md) as Markdown.
    #[arg(long)]
    pub markdown: bool,
    /// With --markdown: a `portlib test --json` report to show per test module; repeatable
    /// (one table per run, e.g. the host VM and a board).
    #[arg(long, value_name = "REPORT.json", requires = "markdown")]
    pub tests: Vec<PathBuf>,
    /// With --markdown: a `portlib mem --json` report, for the import cost per module.
    #[arg(long, value_name = "MEM.json", requires = "markdown")]
    pub mem: Option<PathBuf>,
    /// With --markdown: a line to show under the header (how the inputs were made); repeatable.
    #[arg(long, value_name = "TEXT", requires = "markdown")]
    pub note: Vec<String>,
}

impl StatusArgs {
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let repo = open_repo(global)?;
        let upstream = open_upstream(global)?;
        let rows = workspace::status(&repo, &upstream, &self.modules)?;
        let mut out = std::io::stdout().lock();
        if self.markdown {
            self.write_page(&mut out, &rows)?;
            return Ok(Outcome::Ok);
        }
        if self.json {
            serde_json::to_writer_pretty(&mut out, &rows)?;
            writeln!(out)?;
            return Ok(Outcome::Ok);
        }
        let width = rows.iter().map(|r| r.path.len()).max().unwrap_or(4).max(4);
        writeln!(
            out,
            "{:width$}  {:>9}  {:>6}  work/",
            "file", "commented", "added"
        )?;
        for r in &rows {
            let work = match r.work {
                None => "(lib-src)",
                Some(WorkState::NotCheckedOut) => "-",
                Some(WorkState::Clean) => "clean",
                Some(WorkState::Modified) => "modified, not refreshed",
                Some(WorkState::Invalid) => "modified, INVALID (see `portlib refresh`)",
            };
            writeln!(
                out,
                "{:width$}  {:>9}  {:>6}  {work}",
                r.path, r.commented, r.added
            )?;
        }
        Ok(Outcome::Ok)
    }
}

impl StatusArgs {
    fn write_page(
        &self,
        out: &mut impl Write,
        rows: &[workspace::FileStatus],
    ) -> anyhow::Result<()> {
        let read = |path: &PathBuf| {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))
        };
        let tests = self
            .tests
            .iter()
            .map(|p| Ok(TestReport::from_json(p, &read(p)?)?))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mem = match &self.mem {
            Some(p) => Some(MemReport::from_json(p, &read(p)?)?),
            None => None,
        };
        // The command as the reader would retype it: file names as given, notes left out.
        let mut command = String::from("portlib status --markdown");
        for m in &self.modules {
            command.push_str(&format!(" {m}"));
        }
        for p in &self.tests {
            command.push_str(&format!(" --tests {}", p.display()));
        }
        if let Some(p) = &self.mem {
            command.push_str(&format!(" --mem {}", p.display()));
        }
        let page = StatusPage {
            version: env!("CARGO_PKG_VERSION"),
            command: &command,
            notes: &self.note,
            files: rows,
            tests: &tests,
            mem: mem.as_ref(),
        };
        write_status_page(out, &page)?;
        Ok(())
    }
}

/// Write the effective sources of all ported files plus lib-src/ (the compiler's input).
#[derive(Debug, Args)]
pub struct StripArgs {
    /// Output folder, replaced whole; an existing one must be an earlier strip output (nothing
    /// but Python sources), never a folder of the repository.
    #[arg(long, short)]
    pub out: PathBuf,
}

impl StripArgs {
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let repo = open_repo(global)?;
        let upstream = open_upstream(global)?;
        let report = workspace::strip(&repo, &upstream, &self.out)?;
        if !global.quiet {
            writeln!(
                std::io::stdout(),
                "wrote {} ported and {} lib-src file(s) to {}",
                report.ported.len(),
                report.lib_src.len(),
                self.out.display()
            )?;
        }
        Ok(Outcome::Ok)
    }
}
