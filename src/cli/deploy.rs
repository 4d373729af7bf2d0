//! `portlib deploy [BUNDLE]`: sync a bundle into the board's `/lib` (see [`portlib::deploy`]).

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use portlib::board::output::Flavor;
use portlib::board::{SerialTransport, Session};
use portlib::deploy::{self, Bundle, DeployError, Event, Plan, Report};

use super::board_args::BoardArgs;
use super::{Global, Outcome};

const NO_FS: &str = "the board has neither a serial port nor a drive";

const DEPLOY_EXAMPLES: &str = "Examples:
  portlib build && portlib deploy            # sync build/ into the only attached board's /lib
  portlib deploy --dry-run                   # show what would be copied and removed
  portlib deploy build --board /media/me/CIRCUITPY --json

Exit status: 0 the board holds the bundle, 2 an error; every file on the board is then either
the old one or the new one, and running the same command again finishes the job.";

/// Arguments of `portlib deploy`.
#[derive(Debug, Args)]
#[command(after_help = DEPLOY_EXAMPLES)]
pub struct DeployArgs {
    /// The bundle folder (`manifest.json` and `lib/`, as `portlib build` writes it); `build/`,
    /// `portlib build`'s default output, when omitted.
    #[arg(value_name = "BUNDLE", default_value = "build")]
    pub bundle: PathBuf,

    #[command(flatten)]
    pub board: BoardArgs,

    /// Show what would be copied and removed, change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Print the plan and the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,

    /// Do not soft-reset a serial board before copying (the reset gives the copy a fresh heap
    /// and closes files a crashed earlier run left open).
    #[arg(long)]
    pub no_reset: bool,

    /// Bytes of file content per round trip over serial with raw-paste (lower it for a board
    /// short of memory).
    #[arg(long, default_value_t = 8192, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub chunk_size: u32,
}

impl DeployArgs {
    /// Deploy; errors exit with status 2 and leave every file on the board whole.
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let bundle = Bundle::load(&self.bundle)?;
        let candidate = self.board.resolve()?;
        let start = std::time::Instant::now();
        let mut session = Session::open(&candidate)
            .with_context(|| format!("opening {}", candidate.describe()))?;
        let result = self.sync(&mut session, &bundle, global);
        // Also after an error: flush the drive and let CircuitPython out of the raw REPL.
        let finished = session.finish();
        let (plan, report, target) = match result {
            Ok(done) => done,
            Err(e) => {
                if let Err(f) = finished {
                    log::debug!("leaving the board after the error: {f}");
                }
                return Err(e);
            }
        };
        finished?;
        let mut out = std::io::stdout().lock();
        match report {
            None if self.json => {
                serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "plan": plan }))?;
                writeln!(out)?;
            }
            None if !global.quiet => print_plan(&mut out, &plan, &target)?,
            Some(mut report) => {
                report.seconds = start.elapsed().as_secs_f64();
                if self.json {
                    let both = serde_json::json!({ "plan": plan, "report": report });
                    serde_json::to_writer_pretty(&mut out, &both)?;
                    writeln!(out)?;
                } else if !global.quiet {
                    print_summary(&mut out, &report, &target)?;
                }
            }
            None => {}
        }
        Ok(Outcome::Ok)
    }

    /// Hold the board, plan, and (unless `--dry-run`) execute: the plan, the report, the target.
    fn sync(
        &self,
        session: &mut Session<SerialTransport>,
        bundle: &Bundle,
        global: &Global,
    ) -> anyhow::Result<(Plan, Option<Report>, String)> {
        session.hold()?;
        if let Some((flavor, board)) = firmware(session) {
            bundle.check_loadable_on(flavor, &board)?;
        }
        let fs = session.fs().context(NO_FS)?;
        let target = fs.describe();
        // Planning hashes every file on the board; without hashlib (CircuitPython on SAMD51)
        // that reads the whole bundle back, minutes over serial: show that something happens.
        let spinner = (global.show_progress() && !self.json).then(|| {
            let s = ProgressBar::new_spinner();
            s.set_message(format!(
                "comparing {} bundle files with {target}",
                bundle.files.len()
            ));
            s.enable_steady_tick(std::time::Duration::from_millis(120));
            s
        });
        let mut plan = deploy::plan(fs, bundle);
        if let Err(DeployError::Board(e)) = &plan {
            // A program run before still holds the board's heap (a `portlib run`, a REPL
            // session): the soft reset that a copy gets anyway frees it for planning too.
            if e.is_out_of_memory() && !self.no_reset {
                if let Some(s) = session.serial.as_mut() {
                    log::warn!("{target}: the board is out of memory; soft-resetting it");
                    s.repl().soft_reset()?;
                    plan = deploy::plan(session.fs().context(NO_FS)?, bundle);
                }
            }
        }
        if let Some(s) = spinner {
            s.finish_and_clear();
        }
        let plan = plan?;
        if self.dry_run {
            return Ok((plan, None, target));
        }
        if session.drive.is_none() && !plan.is_noop() {
            if let Some(s) = session.serial.as_mut() {
                // Only when there is work: a redeploy with nothing changed stays a read-only visit.
                if !self.no_reset {
                    s.repl().soft_reset()?;
                }
                // Raw-paste compiles as it reads, so a larger chunk costs the board little heap
                // and saves round trips (known by now: the plan ran code on the board).
                if s.repl().raw_paste() == Some(true) {
                    s.chunk_size = Some(self.chunk_size as usize);
                }
            }
        }
        let fs = session.fs().context(NO_FS)?;
        let bar = Bar::new(global.show_progress() && !self.json);
        let result = deploy::execute(fs, bundle, &plan, &mut |e| bar.event(e));
        bar.done();
        Ok((plan, Some(result?), target))
    }
}

/// What firmware the board runs, when it said so: a drive's `boot_out.txt`, or the banner the
/// serial REPL printed while portlib took hold of it.
fn firmware(session: &mut Session<SerialTransport>) -> Option<(Flavor, String)> {
    if let Some(boot) = session.drive.as_ref().and_then(|d| d.boot_out().ok()) {
        let board = format!("CircuitPython {} ({})", boot.version, boot.board_name);
        return Some((Flavor::CircuitPython, board));
    }
    let serial = session.serial.as_mut()?;
    let banner = serial.repl().banner()?;
    let family = match banner.flavor {
        Flavor::MicroPython => "MicroPython",
        Flavor::CircuitPython => "CircuitPython",
    };
    let board = format!("{family} {} ({})", banner.version, banner.machine);
    Some((banner.flavor, board))
}

fn print_plan(out: &mut impl Write, plan: &Plan, target: &str) -> std::io::Result<()> {
    writeln!(out, "plan for {target} (nothing changed: --dry-run)")?;
    for c in &plan.copy {
        let why = match c.reason {
            deploy::CopyReason::Missing => "new",
            deploy::CopyReason::Changed => "changed",
        };
        writeln!(out, "  copy    {} ({} bytes, {why})", c.path, c.size)?;
    }
    for p in &plan.remove {
        writeln!(out, "  remove  {p}")?;
    }
    for p in &plan.stale_temps {
        writeln!(out, "  clean   {p} (left by an interrupted copy)")?;
    }
    writeln!(
        out,
        "{} to copy ({} bytes), {} unchanged ({} bytes), {} to remove{}",
        plan.copy.len(),
        plan.copy_bytes(),
        plan.unchanged.len(),
        plan.unchanged_bytes,
        plan.remove.len(),
        if plan.write_record && plan.copy.is_empty() && plan.remove.is_empty() {
            "; the install record will be rewritten"
        } else {
            ""
        }
    )
}

fn print_summary(out: &mut impl Write, r: &Report, target: &str) -> std::io::Result<()> {
    let rate = if r.seconds > 0.0 {
        r.copied_bytes as f64 / r.seconds
    } else {
        0.0
    };
    writeln!(
        out,
        "deployed to {target}: {} copied ({} bytes), {} unchanged ({} bytes), {} removed in {:.1} s ({:.0} bytes/s)",
        r.copied.len(),
        r.copied_bytes,
        r.unchanged,
        r.unchanged_bytes,
        r.removed.len(),
        r.seconds,
        rate
    )
}

/// The progress bar: total bytes with the current file's name, drawn only on a terminal.
struct Bar {
    bar: Option<ProgressBar>,
    done_before: std::cell::Cell<u64>,
}

impl Bar {
    fn new(show: bool) -> Bar {
        Bar {
            bar: show.then(ProgressBar::hidden),
            done_before: std::cell::Cell::new(0),
        }
    }

    fn event(&self, e: &Event) {
        let Some(bar) = &self.bar else { return };
        match e {
            Event::Start { bytes, .. } => {
                bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                bar.set_length(*bytes);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta} {msg}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
            }
            Event::FileStart { path, .. } => bar.set_message(path.clone()),
            Event::FileProgress { sent, .. } => bar.set_position(self.done_before.get() + sent),
            Event::FileDone { .. } => self.done_before.set(bar.position()),
            Event::Removed { path } => bar.set_message(format!("removed {path}")),
        }
    }

    fn done(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
