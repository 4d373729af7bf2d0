//! `portlib run FILE`: run a Python file on the board, streaming its output.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::board_args::BoardArgs;
use super::{Global, Outcome};

/// Arguments of `portlib run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The Python file to run (sent as source; nothing is written to the board).
    pub file: PathBuf,

    #[command(flatten)]
    pub board: BoardArgs,

    /// Give up after this many seconds (the board is then interrupted with Ctrl-C).
    #[arg(long, default_value_t = 600, value_name = "SECS")]
    pub timeout: u64,

    /// Soft-reset the board first, for a fresh heap.
    #[arg(long)]
    pub reset: bool,
}

impl RunArgs {
    /// Run the file; exit status 1 when it raised.
    pub fn run(self, _global: &Global) -> anyhow::Result<Outcome> {
        let code = std::fs::read(&self.file)
            .with_context(|| format!("reading {}", self.file.display()))?;
        if let Some(at) = code.iter().position(|b| (0x01..=0x04).contains(b)) {
            let line_start = code[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1);
            let line = code[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            let col = String::from_utf8_lossy(&code[line_start..at])
                .chars()
                .count()
                + 1;
            let byte = code[at];
            let key = char::from(b'@' + byte);
            anyhow::bail!(
                "{}:{line}:{col}: the file holds a raw Ctrl-{key} byte (0x{byte:02x}), which the \
                 board's raw REPL takes as a command while it reads code; write it as \
                 '\\x{byte:02x}' inside a string instead",
                self.file.display()
            );
        }
        let (_, mut board) = self.board.open_serial()?;
        let repl = board.repl();
        repl.enter_raw()?;
        catch_ctrl_c();
        repl.set_interrupt_flag(&STOP);
        if self.reset {
            repl.soft_reset()?;
        }
        let mut stdout = std::io::stdout().lock();
        let mut write_err = None;
        let result = repl.exec_streaming(&code, Duration::from_secs(self.timeout), &mut |b| {
            if write_err.is_none() {
                if let Err(e) = stdout.write_all(b).and_then(|_| stdout.flush()) {
                    write_err = Some(e);
                }
            }
        });
        if let Err(e) = &result {
            if matches!(e, portlib::board::BoardError::Timeout { .. }) {
                // Stop the script so the board is usable again.
                let _ = repl.interrupt();
            }
        }
        let out = result?;
        if let Some(e) = write_err {
            return Err(e.into());
        }
        // Return the board to its friendly REPL (a fresh VM on CircuitPython).
        if let Err(e) = repl.leave() {
            log::warn!("leaving the raw REPL: {e}");
        }
        if out.raised() {
            std::io::stderr().write_all(&out.stderr)?;
            return Ok(Outcome::Problems);
        }
        Ok(Outcome::Ok)
    }
}

/// Set by Ctrl-C on the host: the running exec passes it on to the board.
static STOP: AtomicBool = AtomicBool::new(false);

/// The first Ctrl-C interrupts the code on the board (the script ends with
/// `KeyboardInterrupt`, exit status 1); a second one kills portlib, for a board that ignores
/// Ctrl-C.
#[cfg(unix)]
fn catch_ctrl_c() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    extern "C" fn on_sigint(_: nix::libc::c_int) {
        STOP.store(true, std::sync::atomic::Ordering::SeqCst);
        let default = SigAction::new(SigHandler::SigDfl, SaFlags::empty(), SigSet::empty());
        // SAFETY: sigaction is async-signal-safe.
        let _ = unsafe { sigaction(Signal::SIGINT, &default) };
    }
    let action = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic and calls sigaction.
    if let Err(e) = unsafe { sigaction(Signal::SIGINT, &action) } {
        log::warn!("cannot catch Ctrl-C: {e}");
    }
}

/// Elsewhere Ctrl-C keeps its default effect: portlib stops, the script keeps running until
/// the next connection interrupts it.
#[cfg(not(unix))]
fn catch_ctrl_c() {}
