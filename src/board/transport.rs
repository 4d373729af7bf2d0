//! The byte pipe to a board. The protocol code ([`super::raw_repl`]) only sees this trait, so the
//! scripted [`super::fake::FakeTransport`] can stand in for hardware in tests.
//!
//! Reads take an overall deadline rather than an inter-byte timeout: a chatty board (a `code.py`
//! printing in a loop, a boot message storm) would otherwise keep a per-byte timer alive forever,
//! the hang users of other tools report (micropython PR #16616).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::error::{BoardError, Result};

/// `start + within`, or a century after `start` when that is past what an `Instant` holds: a
/// limit given as `--timeout 18446744073709551615` means "no limit", not a panic.
pub fn deadline_after(start: Instant, within: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
    start
        .checked_add(within)
        .or_else(|| start.checked_add(CENTURY))
        .unwrap_or(start)
}

/// A byte-level connection to a board.
pub trait Transport {
    /// Read whatever is available into `buf`, waiting until at most `deadline` for the first
    /// byte. Returns `Ok(0)` when the deadline passes with nothing received. A deadline in the
    /// past means "only what is already waiting": a non-blocking poll.
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize>;

    /// Write all of `data`.
    fn write_all(&mut self, data: &[u8]) -> Result<()>;

    /// Push buffered writes to the device.
    fn flush(&mut self) -> Result<()>;

    /// Set the DTR line. CircuitPython only prints its prompts while DTR is asserted. Transports
    /// without modem lines ignore this.
    fn set_dtr(&mut self, _on: bool) -> Result<()> {
        Ok(())
    }

    /// Set the RTS line. Transports without modem lines ignore this.
    fn set_rts(&mut self, _on: bool) -> Result<()> {
        Ok(())
    }

    /// Send a line break of about `duration`. Transports without one ignore this.
    fn send_break(&mut self, _duration: Duration) -> Result<()> {
        Ok(())
    }

    /// A short name for messages: the port path, or `fake`.
    fn name(&self) -> String;
}

/// The baud rate portlib uses. USB CDC ignores it, but it must never be 1200.
pub const DEFAULT_BAUD: u32 = 115_200;

/// Opening and closing a SAMD CDC port at this rate resets the board into its UF2 bootloader.
pub const BOOTLOADER_TOUCH_BAUD: u32 = 1200;

/// Refuse baud rates that would reset the board instead of talking to it.
pub fn check_baud(port: &str, baud: u32) -> Result<()> {
    if baud == BOOTLOADER_TOUCH_BAUD {
        return Err(BoardError::ForbiddenBaud {
            port: port.to_string(),
            baud,
        });
    }
    Ok(())
}

/// A real serial port (USB CDC or UART) through the `serialport` crate.
pub struct SerialTransport {
    port: Box<dyn serialport::SerialPort>,
    name: String,
}

/// How long one blocking OS read may take before the deadline is checked again; short so
/// deadlines are honoured closely even on ports whose driver ignores our timeout changes.
const POLL_SLICE: Duration = Duration::from_millis(50);

impl SerialTransport {
    /// Open `path` at `baud` (use [`DEFAULT_BAUD`]), exclusively where the OS supports it.
    /// 1200 baud is refused with [`BoardError::ForbiddenBaud`] before anything touches the port.
    pub fn open(path: &str, baud: u32) -> Result<Self> {
        check_baud(path, baud)?;
        let builder = serialport::new(path, baud).timeout(POLL_SLICE);
        #[cfg(unix)]
        let builder = builder.exclusive(true);
        let port = builder.open().map_err(|source| BoardError::Open {
            port: path.to_string(),
            source,
        })?;
        log::debug!("opened {path} at {baud} baud");
        Ok(SerialTransport {
            port,
            name: path.to_string(),
        })
    }

    fn io(&self, source: std::io::Error) -> BoardError {
        // EIO, ENXIO, ENODEV: what Linux returns once a USB CDC device or a pty's other side
        // is gone.
        #[cfg(unix)]
        if matches!(source.raw_os_error(), Some(5 | 6 | 19)) {
            return BoardError::Disconnected {
                port: self.name.clone(),
            };
        }
        match source.kind() {
            // A USB CDC device that re-enumerates (reset, bootloader) shows up as one of these.
            std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::NotConnected
            | std::io::ErrorKind::UnexpectedEof => BoardError::Disconnected {
                port: self.name.clone(),
            },
            _ => BoardError::Io {
                port: self.name.clone(),
                source,
            },
        }
    }

    fn serial(&self, source: serialport::Error) -> BoardError {
        BoardError::Io {
            port: self.name.clone(),
            source: source.into(),
        }
    }
}

impl Transport for SerialTransport {
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            if left.is_zero() {
                // Non-blocking poll: only read what the driver already holds.
                let waiting = self.port.bytes_to_read().map_err(|e| self.serial(e))? as usize;
                if waiting == 0 {
                    return Ok(0);
                }
                let n = waiting.min(buf.len());
                return match self.port.read(&mut buf[..n]) {
                    Ok(n) => Ok(n),
                    Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Ok(0),
                    Err(e) => Err(self.io(e)),
                };
            }
            let slice = left.min(POLL_SLICE).max(Duration::from_millis(1));
            self.port.set_timeout(slice).map_err(|e| self.serial(e))?;
            match self.port.read(buf) {
                // A zero-length read on a tty means the other side hung up.
                Ok(0) => {
                    return Err(BoardError::Disconnected {
                        port: self.name.clone(),
                    })
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                    if Instant::now() >= deadline {
                        return Ok(0);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io(e)),
            }
        }
    }

    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.port.write_all(data).map_err(|e| self.io(e))
    }

    fn flush(&mut self) -> Result<()> {
        self.port.flush().map_err(|e| self.io(e))
    }

    fn set_dtr(&mut self, on: bool) -> Result<()> {
        self.port
            .write_data_terminal_ready(on)
            .map_err(|e| self.serial(e))
    }

    fn set_rts(&mut self, on: bool) -> Result<()> {
        self.port
            .write_request_to_send(on)
            .map_err(|e| self.serial(e))
    }

    fn send_break(&mut self, duration: Duration) -> Result<()> {
        self.port.set_break().map_err(|e| self.serial(e))?;
        std::thread::sleep(duration);
        self.port.clear_break().map_err(|e| self.serial(e))
    }

    fn name(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_after_saturates_instead_of_panicking() {
        let now = Instant::now();
        let d = Duration::from_millis(5);
        assert_eq!(deadline_after(now, d), now + d);
        let far = deadline_after(now, Duration::MAX);
        assert!(
            far >= now + Duration::from_secs(365 * 86_400),
            "{:?}",
            far - now
        );
    }

    #[test]
    fn bootloader_baud_is_refused_before_opening() {
        // The path does not exist: if the check ran after opening we would get `Open` instead.
        let err = SerialTransport::open("/nonexistent/ttyACM-portlib-test", 1200)
            .err()
            .expect("1200 baud must be refused");
        assert!(
            matches!(err, BoardError::ForbiddenBaud { baud: 1200, .. }),
            "got {err:?}"
        );
        assert!(err.to_string().contains("bootloader"));
        assert!(check_baud("x", DEFAULT_BAUD).is_ok());
    }

    #[test]
    fn missing_port_gives_open_error() {
        let err = SerialTransport::open("/nonexistent/ttyACM-portlib-test", DEFAULT_BAUD)
            .err()
            .expect("no such port");
        assert!(matches!(err, BoardError::Open { .. }), "got {err:?}");
    }
}
