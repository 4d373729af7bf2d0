//! `portlib repl`: a plain terminal on the board's REPL. Keys go to the board byte for byte
//! (the host terminal is put in raw mode); Ctrl-] leaves.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;
use portlib::board::SerialTransport;
use portlib::board::{Transport, DEFAULT_BAUD};

use super::board_args::BoardArgs;
use super::terminal;
use super::{Global, Outcome};

/// Ctrl-], the key that leaves (as in telnet and miniterm).
const LEAVE_KEY: u8 = 0x1d;

/// Arguments of `portlib repl`.
#[derive(Debug, Args)]
pub struct ReplArgs {
    #[command(flatten)]
    pub board: BoardArgs,
}

impl ReplArgs {
    /// Connect stdin/stdout to the board until Ctrl-] or the board disappears.
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let c = self.board.resolve()?;
        let Some(port) = c.port else {
            anyhow::bail!("the REPL needs a serial port; this board has only a drive");
        };
        let mut t = SerialTransport::open(&port.name, DEFAULT_BAUD)?;
        if !global.quiet {
            eprintln!("Connected to {}. Ctrl-] leaves.\r", port.name);
        }
        let _raw = terminal::RawMode::enable();
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        // The stdin thread blocks in read; it is left behind when we return (the process ends).
        std::thread::spawn(move || {
            let mut stdin = std::io::stdin();
            let mut buf = [0u8; 256];
            while let Ok(n) = stdin.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let mut stdout = std::io::stdout();
        let mut buf = [0u8; 4096];
        loop {
            let n = t.read(&mut buf, Instant::now() + Duration::from_millis(20))?;
            if n > 0 {
                stdout.write_all(&buf[..n])?;
                stdout.flush()?;
            }
            loop {
                match rx.try_recv() {
                    Ok(keys) => {
                        if let Some(i) = keys.iter().position(|&k| k == LEAVE_KEY) {
                            t.write_all(&keys[..i])?;
                            t.flush()?;
                            drop(_raw);
                            eprintln!();
                            return Ok(Outcome::Ok);
                        }
                        t.write_all(&keys)?;
                        t.flush()?;
                    }
                    Err(mpsc::TryRecvError::Empty) => break,
                    // stdin closed (piped input ran out): keep showing output until Ctrl-C.
                    Err(mpsc::TryRecvError::Disconnected) => break,
                }
            }
        }
    }
}
