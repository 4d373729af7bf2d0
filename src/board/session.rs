//! One connected board for a whole command: its serial REPL, its drive, or both, with the
//! sequence a deploy needs.
//!
//! When a CircuitPython board has both, files go through the drive (the host writes them; no
//! read-only filesystem problem, no base64 overhead) while the serial port holds the board in
//! the raw REPL: auto-reload is suspended while a REPL is active, so the copies do not restart
//! `code.py` over and over. [`Session::finish`] then syncs the drive and leaves the raw REPL,
//! which on CircuitPython starts a fresh VM.

use super::discover::BoardCandidate;
use super::error::Result;
use super::fs::BoardFs;
use super::mass_storage::DriveBoard;
use super::ops::SerialBoard;
use super::transport::{SerialTransport, Transport};

/// A board opened for a command.
pub struct Session<T: Transport> {
    /// The REPL, when the board has a serial port.
    pub serial: Option<SerialBoard<T>>,
    /// The mounted drive, when the board has one.
    pub drive: Option<DriveBoard>,
}

impl Session<SerialTransport> {
    /// Open what `candidate` has: its serial port and its drive.
    pub fn open(candidate: &BoardCandidate) -> Result<Self> {
        let serial = match &candidate.port {
            Some(p) => Some(SerialBoard::open(&p.name)?),
            None => None,
        };
        let drive = match &candidate.drive {
            Some(d) => Some(DriveBoard::open(&d.path)?),
            None => None,
        };
        Ok(Session { serial, drive })
    }
}

impl<T: Transport> Session<T> {
    /// Where files go: the drive if there is one, else the serial REPL. `None` for an empty
    /// session (a candidate with neither, which discovery never produces).
    pub fn fs(&mut self) -> Option<&mut dyn BoardFs> {
        if let Some(d) = self.drive.as_mut() {
            return Some(d);
        }
        self.serial.as_mut().map(|s| s as &mut dyn BoardFs)
    }

    /// Put the board in the raw REPL (stopping `code.py` and suspending CircuitPython's
    /// auto-reload) if it has a serial port.
    pub fn hold(&mut self) -> Result<()> {
        if let Some(s) = self.serial.as_mut() {
            s.repl().enter_raw()?;
        }
        Ok(())
    }

    /// After copying: flush the drive, then leave the raw REPL (a new VM on CircuitPython; on
    /// MicroPython the same VM in friendly mode).
    pub fn finish(&mut self) -> Result<()> {
        if let Some(d) = self.drive.as_ref() {
            d.sync();
        }
        if let Some(s) = self.serial.as_mut() {
            if s.repl().is_raw() {
                s.repl().leave()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::board::fake::{FakeTransport, Step};
    use crate::board::RawRepl;

    #[test]
    fn drive_writes_while_the_repl_holds_the_board() {
        let dir = tempfile::tempdir().unwrap();
        let script = vec![
            Step::expect("\r\x03\x03"),
            Step::reply("\r\n>>> "),
            Step::expect("\r\x01"),
            Step::reply("\r\nraw REPL; CTRL-B to exit\r\n>"),
            Step::expect("\x02"),
            Step::reply("\r\nAdafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit Metro M4 Express with samd51j19\r\n>>> "),
        ];
        let mut repl = RawRepl::new(FakeTransport::new(script));
        repl.timeouts.drain_quiet = Duration::from_millis(20);
        let mut s = Session {
            serial: Some(SerialBoard::new(repl)),
            drive: Some(DriveBoard::open(dir.path()).unwrap()),
        };
        s.hold().unwrap();
        s.fs()
            .unwrap()
            .write_file_atomic("/code.py", b"print(1)\n")
            .unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("code.py")).unwrap(),
            b"print(1)\n"
        );
        s.finish().unwrap();
        let serial = s.serial.take().unwrap();
        serial.into_repl().into_transport().assert_done();
    }

    #[test]
    fn serial_only_uses_the_repl_for_files() {
        let repl = RawRepl::new(FakeTransport::new(Vec::new()));
        let mut s = Session {
            serial: Some(SerialBoard::new(repl)),
            drive: None,
        };
        assert_eq!(s.fs().unwrap().describe(), "fake");
        // Nothing to leave: the board was never put in the raw REPL.
        s.finish().unwrap();
    }
}
