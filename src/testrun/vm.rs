//! Where a test module runs: the [`Vm`] trait, and [`HostVm`], the MicroPython unix port started
//! as a new process per module (the host stand-in for a board, whose heap is set with
//! `-X heapsize`). A serial board ([`super::serial::SerialVm`]) implements the same trait by
//! sending [`RunRequest::snippet`] over the raw REPL after a soft reset.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Environment variable naming the 32-bit MicroPython unix binary (written by
/// `scripts/setup-tools` into `$PORTLIB_TOOLS/env.sh`).
pub const MICROPYTHON_ENV: &str = "PORTLIB_MICROPYTHON";

/// Errors starting or talking to a VM.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    /// No binary given and none found.
    #[error(
        "no MicroPython unix binary found: pass --micropython PATH, set {MICROPYTHON_ENV}, or run \
         scripts/setup-tools (it installs micropython32 and writes $PORTLIB_TOOLS/env.sh)"
    )]
    NotFound,
    /// A binary was named but does not exist.
    #[error("MicroPython binary {path} does not exist (from {origin})")]
    Missing {
        /// The path given.
        path: PathBuf,
        /// Where it came from (option or environment variable).
        origin: &'static str,
    },
    /// The process could not be started.
    #[error("cannot start {path}: {source}")]
    Spawn {
        /// The binary.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Waiting for or killing the process failed.
    #[error("lost track of the VM process {path}: {source}")]
    Wait {
        /// The binary.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The bundle's `lib/` path holds MICROPYPATH's separator, so the VM would look for
    /// modules in two wrong folders.
    #[error(
        "the bundle folder {} contains '{separator}', which separates folders in MICROPYPATH: \
         the VM could not import from it; move or link the bundle to a path without '{separator}'",
        path.display()
    )]
    SeparatorInPath {
        /// The bundle's `lib/`.
        path: PathBuf,
        /// `:` (`;` on Windows).
        separator: char,
    },
    /// The scratch folder used as the VM's working directory could not be made.
    #[error("cannot create a scratch folder for the VM: {0}")]
    Scratch(std::io::Error),
    /// A module name that is not a dotted Python identifier (it is pasted into code).
    #[error("{0:?} is not a Python module name")]
    BadModuleName(String),
    /// A board could not be used at all (connecting, asking what it is).
    #[error("cannot use the board on {port}")]
    Board {
        /// The port.
        port: String,
        /// What went wrong.
        #[source]
        source: crate::board::BoardError,
    },
    /// The board cannot import the runner: the bundle is not on it.
    #[error(
        "the board on {port} cannot import portlib_runner ({detail}): put the bundle on the \
         board first (its lib/ as the board's /lib, with portlib_runner from lib-src/)"
    )]
    NoRunner {
        /// The port.
        port: String,
        /// The board's ImportError message.
        detail: String,
    },
    /// The board stopped answering and could not be brought back: every later module would
    /// fail the same way, so the run stops.
    #[error(
        "the board on {port} stopped answering and {attempts} attempt(s) in a row to bring it \
         back failed. Reset or replug the board (an emulator: restart it), then continue with \
         --resume. The last error"
    )]
    Wedged {
        /// The port last used.
        port: String,
        /// How many recoveries were tried.
        attempts: u32,
        /// The last failure (the error's source, printed after it).
        #[source]
        last: crate::board::BoardError,
    },
}

/// What the runner should do with a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// Import the module and run its unittest tests.
    Test,
    /// Import the module and report only the heap it keeps.
    Mem,
}

/// One module to run in a fresh VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    /// Test or memory measurement.
    pub mode: RunMode,
    /// Dotted module name, e.g. `test.test_os` or `fnmatch`.
    pub module: String,
}

impl RunRequest {
    /// A request, refusing names that are not dotted identifiers.
    pub fn new(mode: RunMode, module: &str) -> Result<Self, VmError> {
        if !is_module_name(module) {
            return Err(VmError::BadModuleName(module.to_owned()));
        }
        Ok(Self {
            mode,
            module: module.to_owned(),
        })
    }

    /// The Python source a VM executes for this request (the same on every transport).
    pub fn snippet(&self) -> String {
        let mode = match self.mode {
            RunMode::Test => "test",
            RunMode::Mem => "mem",
        };
        format!(
            "import portlib_runner\nportlib_runner.main('{mode}', '{}')\n",
            self.module
        )
    }
}

/// Whether `name` is a dotted Python identifier (ASCII; what CPython's test modules use).
pub fn is_module_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
                && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
        })
}

/// How a VM run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum VmExit {
    /// The process exited with this status.
    Code(i32),
    /// The process was killed by this signal (Unix).
    Signal(i32),
    /// The per-module timeout expired and the VM was killed.
    TimedOut,
    /// The transport lost the VM (a board whose port went away mid-run).
    Lost,
    /// The board rebooted in the middle of the run (a reset banner appeared in its output).
    Reset,
}

impl std::fmt::Display for VmExit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(c) => write!(f, "exit status {c}"),
            Self::Signal(s) => match signal_name(*s) {
                Some(name) => write!(f, "killed by signal {s} ({name})"),
                None => write!(f, "killed by signal {s}"),
            },
            Self::TimedOut => f.write_str("timed out"),
            Self::Lost => f.write_str("lost (the connection to the VM ended)"),
            Self::Reset => f.write_str("reset (the board rebooted mid-run)"),
        }
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// Everything a VM run produced.
#[derive(Debug, Clone)]
pub struct VmRun {
    /// The raw (framed) output stream.
    pub output: Vec<u8>,
    /// A separate error stream: the unix port's stderr; on a board the raw REPL's traceback
    /// section (a traceback that escaped the runner), or the transport error that lost it.
    pub stderr: Vec<u8>,
    /// How it ended.
    pub exit: VmExit,
    /// Wall time seen by the host.
    pub elapsed: Duration,
}

/// Describes a VM for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmInfo {
    /// `host` or a board's name.
    pub board: String,
    /// The binary or port.
    pub location: String,
    /// Heap size in bytes.
    pub heap: u64,
}

/// A place to run one module in a fresh VM. Implementations: [`HostVm`] (a process per module)
/// and [`super::serial::SerialVm`] (a board on a serial raw REPL).
///
/// What an implementation owes the driver:
/// * a fresh heap for every call (the unix port: a new process; a board: a soft reset, which on
///   CircuitPython leaving the raw REPL restarts the VM) with the bundle's `lib/` importable;
/// * execute [`RunRequest::snippet`] and hand every byte the VM prints to `on_output` as it
///   arrives, with transport framing removed (a raw REPL's `OK` and `\x04` markers), so the
///   runner's events reach the parser untouched;
/// * enforce `timeout` itself (a board: Ctrl-C, then a reset) and report [`VmExit::TimedOut`];
///   report [`VmExit::Lost`] when the board vanished, and a transport failure that prevents any
///   run as a [`VmError`] (the driver stops on those, since no later module can run either).
pub trait Vm {
    /// What this VM is, for reports.
    fn info(&self) -> VmInfo;

    /// Run `request` in a fresh VM, killing it after `timeout`. Output bytes are passed to
    /// `on_output` as they arrive (for live display) and also returned whole in [`VmRun`].
    fn run_module(
        &mut self,
        request: &RunRequest,
        timeout: Duration,
        on_output: &mut dyn FnMut(&[u8]),
    ) -> Result<VmRun, VmError>;
}

/// Find the MicroPython unix binary: `explicit` (from `--micropython`), then
/// `$PORTLIB_MICROPYTHON`, then `micropython32` and `micropython` on `PATH`.
pub fn find_micropython(explicit: Option<&Path>) -> Result<PathBuf, VmError> {
    if let Some(p) = explicit {
        return existing(p, "--micropython");
    }
    if let Some(p) = std::env::var_os(MICROPYTHON_ENV).filter(|v| !v.is_empty()) {
        return existing(Path::new(&p), MICROPYTHON_ENV);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["micropython32", "micropython"] {
        for dir in std::env::split_paths(&path) {
            let cand = dir.join(name);
            if cand.is_file() {
                return Ok(cand);
            }
        }
    }
    Err(VmError::NotFound)
}

fn existing(p: &Path, origin: &'static str) -> Result<PathBuf, VmError> {
    if p.is_file() {
        Ok(p.to_path_buf())
    } else {
        Err(VmError::Missing {
            path: p.to_path_buf(),
            origin,
        })
    }
}

/// The MicroPython unix port, one process per module, with a bundle's `lib/` on its path.
#[derive(Debug, Clone)]
pub struct HostVm {
    binary: PathBuf,
    lib: PathBuf,
    heap: u64,
}

impl HostVm {
    /// A VM running `binary` with `heap` bytes of heap and `lib` (a bundle's `lib/`) on
    /// `MICROPYPATH`, ahead of the frozen modules as on a board with `/lib`.
    pub fn new(binary: PathBuf, lib: PathBuf, heap: u64) -> Self {
        // The VM runs in a scratch folder, so a relative path would point nowhere.
        let lib = std::path::absolute(&lib).unwrap_or(lib);
        Self { binary, lib, heap }
    }
}

impl Vm for HostVm {
    fn info(&self) -> VmInfo {
        VmInfo {
            board: "host".into(),
            location: self.binary.display().to_string(),
            heap: self.heap,
        }
    }

    fn run_module(
        &mut self,
        request: &RunRequest,
        timeout: Duration,
        on_output: &mut dyn FnMut(&[u8]),
    ) -> Result<VmRun, VmError> {
        let separator = if cfg!(windows) { ';' } else { ':' };
        if self.lib.to_string_lossy().contains(separator) {
            return Err(VmError::SeparatorInPath {
                path: self.lib.clone(),
                separator,
            });
        }
        // A fresh working folder per module: CPython's tests write TESTFN into the cwd.
        let scratch = tempfile::tempdir().map_err(VmError::Scratch)?;
        let mut path = std::ffi::OsString::from(self.lib.as_os_str());
        path.push(separator.to_string());
        path.push(".frozen");
        let started = Instant::now();
        let mut child = Command::new(&self.binary)
            .arg("-X")
            .arg(format!("heapsize={}", self.heap))
            .arg("-c")
            .arg(request.snippet())
            .env("MICROPYPATH", path)
            .current_dir(scratch.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| VmError::Spawn {
                path: self.binary.clone(),
                source,
            })?;
        let wait_err = |source| VmError::Wait {
            path: self.binary.clone(),
            source,
        };

        // Readers on threads, so the main thread can stream stdout and still notice the timeout.
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let mut stdout = child.stdout.take().expect("stdout was piped");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().expect("stderr was piped");
        let (err_tx, err_rx) = mpsc::channel::<Vec<u8>>();
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = stderr_pipe.read_to_end(&mut v);
            let _ = err_tx.send(v);
        });

        let deadline = crate::board::transport::deadline_after(started, timeout);
        let mut output = Vec::new();
        let mut timed_out = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // Wake up now and then to notice an exit even while a process the VM started keeps
            // the pipe open.
            match rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(chunk) => {
                    on_output(&chunk);
                    output.extend_from_slice(&chunk);
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if child.try_wait().map_err(wait_err)?.is_some() {
                        break;
                    }
                    if Instant::now() >= deadline {
                        timed_out = true;
                        // Already exited is fine: kill only fails then.
                        let _ = child.kill();
                        break;
                    }
                }
            }
        }
        let status = child.wait().map_err(wait_err)?;
        let elapsed = started.elapsed();
        // The VM is gone and its pipes close, unless a process it started still holds them:
        // take what is there, but never wait long for such a straggler (the readers are left
        // to end on their own).
        let until = Instant::now() + Duration::from_millis(500);
        while let Ok(chunk) = rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            on_output(&chunk);
            output.extend_from_slice(&chunk);
        }
        let stderr = err_rx
            .recv_timeout(until.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        let exit = if timed_out {
            VmExit::TimedOut
        } else {
            exit_of(status)
        };
        Ok(VmRun {
            output,
            stderr,
            exit,
            elapsed,
        })
    }
}

fn exit_of(status: std::process::ExitStatus) -> VmExit {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return VmExit::Signal(sig);
        }
    }
    VmExit::Code(status.code().unwrap_or(-1))
}

/// Parse a heap size: `192K`, `256k`, `1M`, or a number of bytes.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1024),
        b'm' | b'M' => (&s[..s.len() - 1], 1024 * 1024),
        _ => (s, 1),
    };
    let n: u64 = digits.parse().ok()?;
    n.checked_mul(mult).filter(|&v| v > 0)
}

/// A heap size for humans: `192K` when it is a whole number of KiB.
pub fn format_size(bytes: u64) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{}M", bytes / (1024 * 1024))
    } else if bytes.is_multiple_of(1024) {
        format!("{}K", bytes / 1024)
    } else {
        bytes.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("192K"), Some(196608));
        assert_eq!(parse_size("256k"), Some(262144));
        assert_eq!(parse_size("1M"), Some(1048576));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("12Q"), None);
        assert_eq!(format_size(196608), "192K");
        assert_eq!(format_size(1048576), "1M");
        assert_eq!(format_size(1000), "1000");
    }

    #[test]
    fn module_names_are_checked_before_they_become_code() {
        assert!(is_module_name("test.test_os"));
        assert!(is_module_name("_collections_abc"));
        assert!(!is_module_name("test..x"));
        assert!(!is_module_name("x'); import os; ('"));
        assert!(!is_module_name("1abc"));
        assert!(RunRequest::new(RunMode::Test, "a b").is_err());
        let r = RunRequest::new(RunMode::Mem, "fnmatch").unwrap();
        assert_eq!(
            r.snippet(),
            "import portlib_runner\nportlib_runner.main('mem', 'fnmatch')\n"
        );
    }
}
