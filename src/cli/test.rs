//! `portlib test`: run CPython's test modules one fresh VM each and print regrtest's output.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use portlib::board::{BoardError, RawRepl, SerialTransport, DEFAULT_BAUD};
use portlib::testrun::run::{self, Observer, RunOptions};
use portlib::testrun::{
    report, serial, vm, CaseStatus, Event, HostVm, Item, ModuleResult, ModuleStatus, SerialVm, Vm,
};

use super::board_args::BoardArgs;
use super::{Global, Outcome};

const TEST_EXAMPLES: &str = "Examples:
  portlib build --tests && portlib test --bundle build test_fnmatch test_glob
  portlib test --bundle build --board auto --junit report.xml   # every test_* on the board
  portlib test --bundle build --board auto --resume             # carry on after an interruption

Exit status: 0 every module passed, 1 a module failed, crashed, ran out of memory or timed out,
2 an error kept the run from starting (no VM, no runner in the bundle, an unknown test).";

#[derive(Debug, clap::Args)]
#[command(after_help = TEST_EXAMPLES)]
pub struct TestArgs {
    /// Test modules (`test_os`, `test.test_os`, or a dotted module elsewhere such as
    /// `unittest.test.test_case`); default: every `test_*` in the bundle's
    /// `lib/test/`.
    pub tests: Vec<String>,

    #[command(flatten)]
    pub target: VmArgs,

    /// Seconds a module's VM may run in all before it is killed.
    #[arg(long, default_value_t = 300, value_name = "S")]
    pub timeout: u64,

    /// One line per test case, and the output of the tests as they run.
    #[arg(short, long)]
    pub verbose: bool,

    /// Skip the tests before this one.
    #[arg(long, value_name = "TEST")]
    pub start: Option<String>,

    /// Do not run again the modules the last (interrupted) run finished.
    #[arg(long)]
    pub resume: bool,

    /// Folder for the resume state.
    #[arg(long, default_value = ".portlib-test", value_name = "DIR")]
    pub out: PathBuf,

    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Write a JSON report (every module and test case, with heap figures).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Where modules run: options shared by `test` and `mem`.
#[derive(Debug, clap::Args)]
pub struct VmArgs {
    /// Where to run: `host` is the MicroPython unix port, a new process per module; a serial
    /// port (/dev/ttyACM0, COM5, the pty of the emulated board) or `auto` runs on a board, a
    /// soft reset per module. The bundle must already be on the board (its /lib).
    #[arg(long, default_value = "host", value_name = "host|auto|PORT")]
    pub board: String,

    /// The bundle: a folder whose `lib/` mirrors a board's `/lib` (with `portlib_runner.py`).
    #[arg(long, value_name = "DIR")]
    pub bundle: PathBuf,

    /// Heap size of the host VM: 192K is a Metro M4, 256K a Grand Central M4.
    #[arg(long, default_value = "192K", value_name = "SIZE")]
    pub ram: String,

    /// The 32-bit MicroPython unix binary (default: micropython32, then micropython, on PATH).
    #[arg(long, env = "PORTLIB_MICROPYTHON", value_name = "PATH")]
    pub micropython: Option<PathBuf>,

    /// A board that stops answering (a hang Ctrl-C cannot stop, a crash) is brought back by
    /// running this shell command; the last line it prints, if any, is the serial port to use
    /// from then on (an emulator restarted on a new pty). Without it the same port is reopened.
    #[arg(long, value_name = "CMD")]
    pub recover_cmd: Option<String>,
}

impl VmArgs {
    /// The bundle's `lib/`.
    pub fn lib(&self) -> PathBuf {
        self.bundle.join("lib")
    }

    /// The VM these options describe.
    pub fn vm(&self) -> anyhow::Result<Box<dyn Vm>> {
        let lib = self.lib();
        if !lib.join("portlib_runner.py").is_file() && !lib.join("portlib_runner.mpy").is_file() {
            bail!(
                "{} has no portlib_runner.py: a bundle's lib/ must carry the runner from lib-src/",
                lib.display()
            );
        }
        if self.board != "host" {
            return self.serial_vm();
        }
        let ram = &self.ram;
        let heap = vm::parse_size(ram).with_context(|| {
            format!("--ram {ram:?}: expected a size such as 192K, 256K or 196608")
        })?;
        let binary = vm::find_micropython(self.micropython.as_deref())?;
        Ok(Box::new(HostVm::new(binary, lib, heap)))
    }

    fn serial_vm(&self) -> anyhow::Result<Box<dyn Vm>> {
        let candidate = BoardArgs {
            board: self.board.clone(),
        }
        .resolve()?;
        let Some(port) = candidate.port.as_ref().map(|p| p.name.clone()) else {
            bail!(
                "{} is a drive with no serial port paired to it; running tests needs the \
                 board's serial port (--board PORT)",
                candidate.describe()
            );
        };
        let transport = SerialTransport::open(&port, DEFAULT_BAUD)?;
        let repl = RawRepl::new(transport);
        let mut vm = match &self.recover_cmd {
            Some(cmd) => SerialVm::connect(repl, command_recovery(cmd.clone(), port))?,
            None => SerialVm::connect(repl, serial::reopen_port(port))?,
        };
        vm.check_runner()?;
        Ok(Box::new(vm))
    }
}

/// Recovery by a user's command (see `--recover-cmd`).
fn command_recovery(
    cmd: String,
    mut port: String,
) -> impl serial::Recovery<SerialTransport> + 'static {
    move |attempt: u32| {
        log::warn!("board not answering: running the recovery command (attempt {attempt})");
        let out = std::process::Command::new(if cfg!(windows) { "cmd" } else { "sh" })
            .arg(if cfg!(windows) { "/C" } else { "-c" })
            .arg(&cmd)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|source| BoardError::Io {
                port: port.clone(),
                source,
            })?;
        if !out.status.success() {
            log::warn!("recovery command {cmd:?} failed ({})", out.status);
        }
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().rev().map(str::trim).find(|l| !l.is_empty()) {
            port = line.to_owned();
        }
        SerialTransport::open(&port, DEFAULT_BAUD)
    }
}

impl TestArgs {
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        // The state is written after each module: a bad --out must stop the run before the
        // first one, not after it.
        check_state_dir(&self.out)?;
        let mut vm = self.target.vm()?;
        let tests = run::plan(&self.target.lib(), &self.tests, self.start.as_deref())?;
        let opts = RunOptions {
            timeout: Duration::from_secs(self.timeout.max(1)),
        };
        let state = self.out.join("state.json");
        let mut obs = Printer::new(self.verbose, global.quiet, tests.len());
        // regrtest opens with "== <interpreter>" lines; the VM is all we know before it runs.
        let info = vm.info();
        obs.line(&format!("== {} VM {}", info.board, info.location));
        obs.line(&format!(
            "==   heap {}, timeout {} s per module",
            vm::format_size(info.heap),
            opts.timeout.as_secs()
        ));
        let session =
            run::run_session(&mut *vm, &tests, &opts, Some(&state), self.resume, &mut obs)?;
        obs.finish();
        if !global.quiet {
            let mut out = std::io::stdout().lock();
            report::write_summary(&mut out, &session)?;
        }
        write_report(self.junit.as_deref(), |b| report::write_junit(b, &session))?;
        write_report(self.json.as_deref(), |b| report::write_json(b, &session))?;
        Ok(if session.failed() {
            Outcome::Problems
        } else {
            Outcome::Ok
        })
    }
}

/// `--out` names a folder (created if missing) that will hold `state.json`: it, or the nearest
/// of its parents that exists, must be a folder.
fn check_state_dir(out: &Path) -> anyhow::Result<()> {
    let mut at = out;
    loop {
        match std::fs::metadata(at) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                let what = if at == out {
                    "is a file".to_owned()
                } else {
                    format!("is inside {}, which is a file", at.display())
                };
                bail!(
                    "--out {} {what}: --out is the folder for the resume state (state.json); \
                     pass a folder (it is created if missing), and --json FILE or --junit FILE \
                     for a report file",
                    out.display()
                );
            }
            // Below a file the error is "not a directory": that file is found further up.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) => {}
            Err(e) => return Err(e).with_context(|| format!("--out {}", out.display())),
        }
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            // A relative path with no existing component is created under the current folder.
            _ => return Ok(()),
        }
    }
}

/// Render a report into memory and write it atomically, when a path was given.
pub(crate) fn write_report(
    path: Option<&Path>,
    render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    if let Some(path) = path {
        let mut buf = Vec::new();
        render(&mut buf)?;
        portlib::fsutil::write_atomic(path, &buf)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// A progress bar for `total` modules (drawn only when `show`).
pub(crate) fn progress_bar(show: bool, total: usize) -> Option<ProgressBar> {
    show.then(|| {
        let bar = ProgressBar::new(total as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    })
}

/// Prints regrtest's lines; a progress bar on a terminal.
struct Printer {
    verbose: bool,
    quiet: bool,
    bar: Option<ProgressBar>,
    at_line_start: bool,
}

impl Printer {
    fn new(verbose: bool, quiet: bool, total: usize) -> Self {
        // The bar draws on stderr and prints the lines above itself: both must be terminals.
        let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let bar = progress_bar(!quiet && !verbose && tty, total);
        Self {
            verbose,
            quiet,
            bar,
            at_line_start: true,
        }
    }

    fn line(&mut self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let mut out = std::io::stdout().lock();
                if !self.at_line_start {
                    let _ = writeln!(out);
                    self.at_line_start = true;
                }
                let _ = writeln!(out, "{text}");
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Observer for Printer {
    fn module_started(&mut self, index: usize, total: usize, failed: usize, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_position(index as u64 - 1);
            bar.set_message(name.to_owned());
        }
        self.line(&report::progress_line(index, total, failed, name));
    }

    fn module_resumed(&mut self, index: usize, total: usize, failed: usize, result: &ModuleResult) {
        let line = format!(
            "{} (resumed: {})",
            report::progress_line(index, total, failed, &result.name),
            serde_json::to_value(result.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        );
        self.line(&line);
    }

    fn item(&mut self, item: &Item) {
        if !self.verbose || self.quiet {
            return;
        }
        match item {
            Item::Output(bytes) => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(bytes);
                let _ = out.flush();
                self.at_line_start = bytes.last() == Some(&b'\n');
            }
            Item::Event(Event::Result {
                test,
                status,
                ms,
                exc_type,
                detail,
            }) => {
                let case = portlib::testrun::CaseResult {
                    id: test.clone(),
                    status: *status,
                    duration_ms: *ms,
                    exc_type: exc_type.clone(),
                    detail: detail.clone(),
                    output: String::new(),
                };
                self.line(&report::case_line(&case));
            }
            _ => {}
        }
    }

    fn module_finished(&mut self, result: &ModuleResult) {
        if self.verbose {
            // The original board regrtest's "Loading module mem_free: before=…, after=…" line.
            if let Some(m) = &result.mem {
                let mut line = format!("heap free: {} before the import", m.free_before);
                if let (Some(after), Some(cost)) = (m.free_after, m.import_cost()) {
                    line.push_str(&format!(", {after} after ({cost} bytes kept)"));
                }
                if let Some(end) = m.free_at_end {
                    line.push_str(&format!(", {end} at the end"));
                }
                self.line(&line);
            }
            // unittest's verbose runner: the tracebacks after the case lines.
            for c in &result.cases {
                if matches!(c.status, CaseStatus::Fail | CaseStatus::Error) {
                    let word = if c.status == CaseStatus::Fail {
                        "FAIL"
                    } else {
                        "ERROR"
                    };
                    let (class, name) = c.class_and_name();
                    self.line(&"=".repeat(70));
                    self.line(&format!("{word}: {name} ({class})"));
                    self.line(&"-".repeat(70));
                    self.line(c.detail.trim_end());
                }
            }
        }
        if let Some(line) = report::verdict_line(result) {
            let multi = line.contains('\n');
            self.line(&line);
            let dead = matches!(
                result.status,
                ModuleStatus::Crashed | ModuleStatus::TimedOut
            );
            if dead && !self.verbose && !multi {
                let mut text = result
                    .cases
                    .iter()
                    .filter(|c| matches!(c.exc_type.as_str(), "Crash" | "Timeout"))
                    .map(|c| c.output.clone())
                    .collect::<String>();
                text.push('\n');
                text.push_str(&result.output);
                for l in report::tail(&text, 10) {
                    self.line(&format!("    | {l}"));
                }
            }
        }
    }
}
