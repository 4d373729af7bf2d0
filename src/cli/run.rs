//! `portlib run FILE`: run a Python file on the board, streaming its output.

use std::io::Write;
use std::path::PathBuf;
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
        let (_, mut board) = self.board.open_serial()?;
        let repl = board.repl();
        repl.enter_raw()?;
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
