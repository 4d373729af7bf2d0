//! [`SerialVm`]: the [`Vm`] of a board on a serial raw REPL (a real board, or the emulated one
//! on a pty).
//!
//! Per module: re-enter the raw REPL (which also throws away anything stale on the line), start
//! a fresh VM, run [`RunRequest::snippet`] streaming its stdout, and judge how it ended:
//! * the frame completed: [`VmExit::Code`] 0, or 1 when a traceback escaped the runner;
//! * the per-module timeout expired: Ctrl-C; a board that answers is fine again, one that does
//!   not (a busy loop the firmware cannot interrupt, a hard fault) is brought back by the
//!   [`Recovery`] hook before the next module ([`VmExit::TimedOut`]);
//! * a reset banner appeared in the middle of the output (the board rebooted under the test):
//!   [`VmExit::Reset`], with everything printed kept;
//! * the port failed (a USB board re-enumerating, an emulator that exited): [`VmExit::Lost`],
//!   and the hook brings the board back.
//!
//! A fresh VM is a raw-mode soft reset (Ctrl-D) on MicroPython and on CircuitPython from 7.1; an
//! older CircuitPython would run `code.py` on that, so there the VM is restarted by leaving the
//! raw REPL (Ctrl-B starts a new VM) and entering it again.
//!
//! When the board cannot be given a fresh VM even after [`SerialVm::max_recoveries`] attempts
//! in a row, [`VmError::Wedged`] ends the run (every later module would fail the same way).

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::board::ops::{BoardInfo, SerialBoard};
use crate::board::output::{Banner, Flavor, RAW_BANNER};
use crate::board::{BoardError, RawRepl, SerialTransport, Timeouts, Transport, DEFAULT_BAUD};

use super::vm::{RunRequest, Vm, VmError, VmExit, VmInfo, VmRun};

/// Imports the runner once; the next module's fresh VM forgets it again.
const CHECK_RUNNER: &str =
    "try:\n import portlib_runner\n print('ok')\nexcept ImportError as e:\n print('missing', e)\n";

/// How a board gets a fresh heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FreshVm {
    /// Ctrl-D at the raw prompt: `soft reboot`, then the raw banner again (MicroPython;
    /// CircuitPython ≥ 7.1, where it no longer runs `code.py`).
    SoftReset,
    /// Ctrl-B out of the raw REPL, which on CircuitPython starts a new VM, then Ctrl-A back in
    /// (CircuitPython before 7.1).
    LeaveRaw,
}

impl FreshVm {
    /// The way that works on this firmware.
    pub fn for_board(flavor: Flavor, version: &str) -> Self {
        if flavor == Flavor::MicroPython {
            return FreshVm::SoftReset;
        }
        let mut parts = version.split(['.', '-']).map(|p| p.parse::<u32>().ok());
        match (parts.next().flatten(), parts.next().flatten()) {
            (Some(major), Some(minor)) if (major, minor) >= (7, 1) => FreshVm::SoftReset,
            (Some(major), None) if major > 7 => FreshVm::SoftReset,
            _ => FreshVm::LeaveRaw,
        }
    }
}

/// Brings back a board that stopped answering and returns a new transport to it: reopen the
/// port after the board re-enumerated, restart an emulator (whose port may change, and whose
/// files the hook puts back), or ask a person to press reset.
pub trait Recovery<T: Transport> {
    /// Attempt `attempt` (1-based, counted since the board last worked). The old transport has
    /// been dropped (its port closed) before this is called.
    fn recover(&mut self, attempt: u32) -> Result<T, BoardError>;
}

impl<T: Transport, F: FnMut(u32) -> Result<T, BoardError>> Recovery<T> for F {
    fn recover(&mut self, attempt: u32) -> Result<T, BoardError> {
        self(attempt)
    }
}

/// The recovery for a real board: wait a little longer on each attempt (a board that reset
/// takes a moment to enumerate again), then open the same port.
pub fn reopen_port(port: String) -> impl Recovery<SerialTransport> {
    move |attempt: u32| {
        std::thread::sleep(Duration::from_secs(u64::from(attempt)));
        SerialTransport::open(&port, DEFAULT_BAUD)
    }
}

/// A test module's VM on a board behind a raw REPL. See the module documentation.
pub struct SerialVm<T: Transport> {
    board: Option<SerialBoard<T>>,
    recovery: Box<dyn Recovery<T>>,
    fresh: FreshVm,
    info: VmInfo,
    board_info: BoardInfo,
    timeouts: Timeouts,
    /// The board did not answer after the last module: recover before trying it again.
    unresponsive: bool,
    /// Attempts at bringing the board back (each a [`Recovery::recover`] call followed by a
    /// fresh VM) before the run is abandoned with [`VmError::Wedged`].
    pub max_recoveries: u32,
    /// How long the board may take to show its raw prompt after the Ctrl-C that ends a module
    /// that ran out of time.
    pub interrupt_grace: Duration,
}

impl<T: Transport> SerialVm<T> {
    /// Connect: enter the raw REPL, ask the board what it is, and pick how it gets fresh VMs.
    /// The repl's [`RawRepl::timeouts`] are kept for every later connection too.
    pub fn connect(
        repl: RawRepl<T>,
        recovery: impl Recovery<T> + 'static,
    ) -> Result<Self, VmError> {
        let timeouts = repl.timeouts.clone();
        let port = repl.transport().name();
        let mut board = SerialBoard::new(repl);
        let board_info = match board.board_info() {
            // Every module gets a fresh VM anyway, so freeing a heap that an earlier program
            // left full costs nothing here.
            Err(e) if e.is_out_of_memory() => {
                log::warn!("{port}: the board is out of memory ({e}); soft-resetting it");
                board.repl().soft_reset().and_then(|_| board.board_info())
            }
            other => other,
        }
        .map_err(|source| VmError::Board { port, source })?;
        let fresh = FreshVm::for_board(board_info.flavor, &board_info.version);
        let info = info_of(&board_info, board.repl().transport().name());
        Ok(SerialVm {
            board: Some(board),
            recovery: Box::new(recovery),
            fresh,
            info,
            board_info,
            timeouts,
            unresponsive: false,
            max_recoveries: 3,
            interrupt_grace: Duration::from_secs(2),
        })
    }

    /// Check that the board can import the runner, i.e. that the bundle is on it; without this
    /// every module would end in the same ImportError.
    pub fn check_runner(&mut self) -> Result<(), VmError> {
        let port = self.port();
        let Some(board) = self.board.as_mut() else {
            return Err(VmError::Board {
                source: BoardError::Disconnected { port: port.clone() },
                port,
            });
        };
        let out = board
            .repl()
            .exec(CHECK_RUNNER.as_bytes(), self.timeouts.handshake)
            .map_err(|source| VmError::Board {
                port: port.clone(),
                source,
            })?;
        let text = out.stdout_text();
        match text.trim().split_once(' ') {
            None if text.trim() == "ok" => Ok(()),
            Some(("missing", detail)) => Err(VmError::NoRunner {
                port,
                detail: detail.to_owned(),
            }),
            _ => Err(VmError::Board {
                port: port.clone(),
                source: BoardError::BadReply {
                    operation: "checking for portlib_runner".into(),
                    reply: format!("{text}{}", out.stderr_text()),
                },
            }),
        }
    }

    /// What the board said about itself when connected.
    pub fn board_info(&self) -> &BoardInfo {
        &self.board_info
    }

    /// How this board gets a fresh VM.
    pub fn fresh_vm_kind(&self) -> FreshVm {
        self.fresh
    }

    /// Choose how the board gets a fresh VM (instead of the choice from its version).
    pub fn set_fresh_vm_kind(&mut self, fresh: FreshVm) {
        self.fresh = fresh;
    }

    /// The connection, for the caller's own operations between runs (`None` only while a
    /// recovery failed).
    pub fn board(&mut self) -> Option<&mut SerialBoard<T>> {
        self.board.as_mut()
    }

    fn port(&self) -> String {
        self.info.location.clone()
    }

    /// Raw REPL, then a fresh VM, on the current connection.
    fn try_fresh(&mut self) -> Result<(), BoardError> {
        let Some(board) = self.board.as_mut() else {
            return Err(BoardError::Disconnected { port: self.port() });
        };
        let repl = board.repl();
        // Entering interrupts and drains first, so output left by a previous module (a late
        // traceback, a reboot after SystemExit) cannot be mistaken for this one's.
        repl.enter_raw()?;
        match self.fresh {
            FreshVm::SoftReset => {
                repl.soft_reset()?;
            }
            FreshVm::LeaveRaw => {
                repl.leave()?;
                repl.enter_raw()?;
            }
        }
        Ok(())
    }

    /// A fresh VM, bringing the board back first when it stopped answering.
    fn fresh_vm(&mut self) -> Result<(), VmError> {
        if !self.unresponsive {
            match self.try_fresh() {
                Ok(()) => return Ok(()),
                Err(e) => log::warn!(
                    "{}: no fresh VM ({e}); bringing the board back",
                    self.port()
                ),
            }
        }
        let mut last = None;
        for attempt in 1..=self.max_recoveries.max(1) {
            // Close the port before the hook reopens it (exclusive opens would fail otherwise).
            self.board = None;
            log::info!("{}: recovery attempt {attempt}", self.port());
            match self.recovery.recover(attempt) {
                Ok(t) => {
                    self.info.location = t.name();
                    let mut repl = RawRepl::new(t);
                    repl.timeouts = self.timeouts.clone();
                    self.board = Some(SerialBoard::new(repl));
                    match self.try_fresh() {
                        Ok(()) => {
                            self.unresponsive = false;
                            return Ok(());
                        }
                        Err(e) => last = Some(e),
                    }
                }
                Err(e) => last = Some(e),
            }
        }
        self.unresponsive = true;
        Err(VmError::Wedged {
            port: self.port(),
            attempts: self.max_recoveries.max(1),
            last: last.expect("at least one attempt"),
        })
    }

    /// After the timeout: Ctrl-C, and whatever the board still prints. Returns the rest of
    /// stdout and the traceback, and whether the board came back to its raw prompt.
    fn interrupt_after_timeout(&mut self) -> (Vec<u8>, Vec<u8>, bool) {
        let grace = self.interrupt_grace;
        let Some(board) = self.board.as_mut() else {
            return (Vec::new(), Vec::new(), false);
        };
        let repl = board.repl();
        let saved = repl.timeouts.clone();
        repl.timeouts.drain_max = grace;
        let seen = repl.interrupt();
        repl.timeouts = saved;
        let seen = match seen {
            Ok(s) => s,
            Err(_) => return (Vec::new(), Vec::new(), false),
        };
        // The rest of the frame: stdout \x04 traceback \x04 >
        let mut parts = seen.splitn(3, |&b| b == 0x04);
        let stdout = parts.next().unwrap_or_default().to_vec();
        let stderr = parts.next().unwrap_or_default().to_vec();
        let answered = parts.next().is_some_and(|rest| rest.contains(&b'>'));
        (stdout, stderr, answered)
    }
}

fn info_of(b: &BoardInfo, location: String) -> VmInfo {
    let family = match b.flavor {
        Flavor::MicroPython => "MicroPython",
        Flavor::CircuitPython => "CircuitPython",
    };
    let machine = if b.machine.is_empty() {
        &b.platform
    } else {
        &b.machine
    };
    VmInfo {
        board: format!("{family} {} ({machine})", b.version),
        location,
        heap: b.mem_free.saturating_add(b.mem_alloc),
    }
}

impl<T: Transport> Vm for SerialVm<T> {
    fn info(&self) -> VmInfo {
        self.info.clone()
    }

    fn run_module(
        &mut self,
        request: &RunRequest,
        timeout: Duration,
        on_output: &mut dyn FnMut(&[u8]),
    ) -> Result<VmRun, VmError> {
        self.fresh_vm()?;
        let started = Instant::now();
        let mut output = Vec::new();
        let mut watch = ResetWatch::default();
        let reset = Cell::new(false);
        let board = self.board.as_mut().expect("fresh_vm leaves a connection");
        let result = board.repl().exec_watching(
            request.snippet().as_bytes(),
            timeout,
            &mut |bytes| {
                on_output(bytes);
                output.extend_from_slice(bytes);
                if watch.feed(bytes) {
                    reset.set(true);
                }
            },
            &mut || reset.get(),
        );
        let (exit, stderr) = match result {
            Ok(Some(out)) => {
                let code = i32::from(out.raised());
                (VmExit::Code(code), out.stderr)
            }
            Ok(None) => {
                // Let the board finish its boot messages: they are part of what it printed.
                let rest = board.repl().interrupt().unwrap_or_default();
                on_output(&rest);
                output.extend_from_slice(&rest);
                (VmExit::Reset, Vec::new())
            }
            Err(BoardError::Timeout { .. }) => {
                let (rest, stderr, answered) = self.interrupt_after_timeout();
                on_output(&rest);
                output.extend_from_slice(&rest);
                if !answered {
                    log::warn!("{}: no answer to Ctrl-C after the timeout", self.port());
                    self.unresponsive = true;
                }
                (VmExit::TimedOut, stderr)
            }
            Err(e) => {
                log::warn!("{}: lost the board mid-run: {e}", self.port());
                self.unresponsive = true;
                (VmExit::Lost, e.to_string().into_bytes())
            }
        };
        Ok(VmRun {
            output,
            stderr,
            exit,
            elapsed: started.elapsed(),
        })
    }
}

/// Recognises, in a run's stdout, the signs of a board that rebooted under it: the soft-reboot
/// line, the raw REPL's banner, a version banner followed by the friendly prompt or help line,
/// CircuitPython's safe-mode notice. None of these can be part of a frame that completes.
#[derive(Debug, Default)]
struct ResetWatch {
    tail: Vec<u8>,
}

/// Longest sign looked for across two pieces of output (a banner line is under 200 bytes).
const WATCH_TAIL: usize = 512;

impl ResetWatch {
    fn feed(&mut self, bytes: &[u8]) -> bool {
        self.tail.extend_from_slice(bytes);
        let hit = self.seen();
        if self.tail.len() > WATCH_TAIL {
            self.tail.drain(..self.tail.len() - WATCH_TAIL);
        }
        hit
    }

    fn seen(&self) -> bool {
        let t = &self.tail;
        if contains(t, b"soft reboot\r\n")
            || contains(t, RAW_BANNER)
            || contains(t, b"You are in safe mode")
        {
            return true;
        }
        let text = String::from_utf8_lossy(t);
        let lines: Vec<&str> = text.split("\r\n").collect();
        lines.windows(2).any(|w| {
            let banner = w[0].trim_start();
            (banner.starts_with("MicroPython v") || banner.starts_with("Adafruit CircuitPython "))
                && Banner::parse_line(banner).is_some()
                && (w[1].starts_with(">>> ") || w[1].starts_with("Type \"help()\""))
        })
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
#[path = "serial_tests.rs"]
mod tests;
