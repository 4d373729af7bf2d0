//! `portlib mem`: the heap each module keeps after its import, one fresh VM per module.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use portlib::memreport::{self, svg, MemReport, SortBy};

use super::test::{progress_bar, write_report, VmArgs};
use super::{Global, Outcome};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SortArg {
    /// Alphabetical (as in the original project's README).
    Name,
    /// Largest first.
    Size,
}

const MEM_EXAMPLES: &str = "Examples:
  portlib mem --bundle build --sort size --json mem.json --svg mem.svg
  portlib mem --bundle build --compare mem.json       # what grew and shrank since mem.json
  portlib mem --bundle build --board auto unittest    # on the board instead of the host VM

Exit status: 0 every module imported, 1 one did not (import error, out of memory, crash),
2 an error kept the measurement from starting.";

#[derive(Debug, clap::Args)]
#[command(after_help = MEM_EXAMPLES)]
pub struct MemArgs {
    /// Modules to measure (dotted names); default: every top-level module and package in the
    /// bundle's `lib/` except `test`.
    pub modules: Vec<String>,

    #[command(flatten)]
    pub target: VmArgs,

    /// Seconds before a module's VM is killed.
    #[arg(long, default_value_t = 60, value_name = "S")]
    pub timeout: u64,

    /// Table order.
    #[arg(long, value_enum, default_value = "name")]
    pub sort: SortArg,

    /// Write the figures as JSON (input for a later --compare).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Draw a bar chart as SVG.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,

    /// Show what grew and shrank since an earlier --json report.
    #[arg(long, value_name = "OLD.json")]
    pub compare: Option<PathBuf>,
}

impl MemArgs {
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        // Read the old report first: a typo should not cost a whole measurement.
        let old = match &self.compare {
            Some(path) => {
                let bytes =
                    std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
                Some(MemReport::from_json(path, &bytes)?)
            }
            None => None,
        };
        let mut vm = self.target.vm()?;
        let modules = if self.modules.is_empty() {
            memreport::discover_modules(&self.target.lib())?
        } else {
            self.modules.clone()
        };
        let bar = progress_bar(global.show_progress(), modules.len());
        let report = memreport::measure(
            &mut *vm,
            &modules,
            Duration::from_secs(self.timeout.max(1)),
            &mut |i, _, name| {
                if let Some(bar) = &bar {
                    bar.set_position(i as u64 - 1);
                    bar.set_message(name.to_owned());
                }
            },
        )?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let sort = match self.sort {
            SortArg::Name => SortBy::Name,
            SortArg::Size => SortBy::Size,
        };
        if !global.quiet {
            let mut out = std::io::stdout().lock();
            memreport::write_table(&mut out, &report, sort)?;
            if let Some(old) = &old {
                use std::io::Write;
                writeln!(out)?;
                memreport::write_compare(&mut out, old, &report)?;
            }
        }
        write_report(self.json.as_deref(), |b| memreport::write_json(b, &report))?;
        write_report(self.svg.as_deref(), |b| svg::write_svg(b, &report))?;
        Ok(if report.has_failures() {
            Outcome::Problems
        } else {
            Outcome::Ok
        })
    }
}
