//! The `--board` option shared by every command that talks to a board, and its resolution
//! (asking on a terminal when several boards are attached).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};
use clap::Args;
use portlib::board::discover::{self, BoardCandidate};
use portlib::board::ops::SerialBoard;
use portlib::board::{BoardError, SerialTransport};

/// Which board to use.
#[derive(Debug, Args, Clone)]
pub struct BoardArgs {
    /// The board: `auto` (the only one attached), a serial port (/dev/ttyACM0, COM5, a pty of
    /// an emulated board), or a mounted CIRCUITPY folder.
    #[arg(
        long,
        env = "PORTLIB_BOARD",
        default_value = "auto",
        value_name = "auto|PORT|DRIVE"
    )]
    pub board: String,
}

impl BoardArgs {
    /// Find the board. With several candidates, ask on a terminal; fail otherwise.
    pub fn resolve(&self) -> anyhow::Result<BoardCandidate> {
        let spec = discover::parse_spec(&self.board);
        // Listing can fail on odd systems; an explicit port or drive must still work then.
        let found = match discover::discover() {
            Ok(found) => found,
            Err(e) if spec != discover::BoardSpec::Auto => {
                log::warn!("{e}");
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
        match discover::resolve_board(&spec, &found) {
            Err(BoardError::Ambiguous { candidates })
                if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() =>
            {
                let pool = discover::auto_pool(&found);
                debug_assert_eq!(pool.len(), candidates.len());
                ask(&pool)
            }
            other => Ok(other?),
        }
    }

    /// Resolve and open the board's serial port (commands that need the REPL).
    pub fn open_serial(&self) -> anyhow::Result<(BoardCandidate, SerialBoard<SerialTransport>)> {
        let c = self.resolve()?;
        let Some(port) = c.port.as_ref() else {
            bail!(
                "{} is a drive with no serial port paired to it; this command needs the board's \
                 serial port (--board PORT)",
                c.describe()
            );
        };
        let board = SerialBoard::open(&port.name)?;
        Ok((c, board))
    }
}

fn ask(pool: &[&BoardCandidate]) -> anyhow::Result<BoardCandidate> {
    let mut err = std::io::stderr();
    writeln!(err, "Several boards are attached:")?;
    for (i, c) in pool.iter().enumerate() {
        writeln!(err, "  {}) {}", i + 1, c.describe())?;
    }
    write!(err, "Which one? [1-{}] ", pool.len())?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the choice")?;
    match line.trim().parse::<usize>() {
        Ok(n) if (1..=pool.len()).contains(&n) => Ok(pool[n - 1].clone()),
        _ => bail!("no board chosen; name one with --board"),
    }
}
