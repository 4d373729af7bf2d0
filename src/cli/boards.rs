//! `portlib boards`: list attached boards.

use std::io::Write;

use clap::Args;
use portlib::board::discover::{self, BoardCandidate};

use super::{Global, Outcome};

/// Arguments of `portlib boards`.
#[derive(Debug, Args)]
pub struct BoardsArgs {
    /// Print JSON (a list of {port, drive} objects) instead of text.
    #[arg(long)]
    pub json: bool,
}

impl BoardsArgs {
    /// List ports and drives, paired.
    pub fn run(self, global: &Global) -> anyhow::Result<Outcome> {
        let found = discover::discover()?;
        let mut out = std::io::stdout().lock();
        if self.json {
            serde_json::to_writer_pretty(&mut out, &found)?;
            writeln!(out)?;
        } else if found.is_empty() {
            if !global.quiet {
                eprintln!("no boards found (no USB serial port, no CircuitPython drive)");
            }
        } else {
            write_text(&mut out, &found)?;
        }
        Ok(Outcome::Ok)
    }
}

fn write_text(out: &mut impl Write, found: &[BoardCandidate]) -> std::io::Result<()> {
    for c in found {
        match &c.port {
            Some(p) => {
                write!(out, "{}", p.name)?;
                if let (Some(v), Some(d)) = (p.vid, p.pid) {
                    write!(out, "  {v:04x}:{d:04x}")?;
                }
                for s in [&p.manufacturer, &p.product].into_iter().flatten() {
                    write!(out, "  {s}")?;
                }
                if let Some(sn) = &p.serial_number {
                    write!(out, "  serial {sn}")?;
                }
                writeln!(out)?;
            }
            None => writeln!(out, "(no serial port)")?,
        }
        if let Some(d) = &c.drive {
            write!(out, "    drive {}", d.path.display())?;
            if let Some(b) = &d.boot_out {
                write!(out, "  CircuitPython {}  {}", b.version, b.board_name)?;
                if let Some(id) = &b.board_id {
                    write!(out, "  ({id})")?;
                }
            }
            writeln!(out)?;
        }
    }
    Ok(())
}
