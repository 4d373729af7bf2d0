//! The fault-injecting proxy: a [`Transport`] that sits between portlib's raw-REPL code and the
//! emulated board's pty and, once a chosen byte offset in one direction is reached, drops the
//! link, corrupts, duplicates or delays a byte, injects a Ctrl-D (soft reset / early end of a
//! paste), or hard-resets the board (kills QEMU).

use std::time::{Duration, Instant};

use portlib::board::{BoardError, Transport};

/// Which way the fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Host → board.
    ToBoard,
    /// Board → host.
    FromBoard,
}

/// What happens at the fault point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The link goes away: every later call fails as on an unplugged board.
    Drop,
    /// One byte has a bit flipped.
    Corrupt,
    /// One byte arrives twice.
    Duplicate,
    /// The bytes stall this long.
    Delay(Duration),
    /// A Ctrl-D is slipped in (host → board only).
    CtrlD,
    /// QEMU is killed (the caller restarts it: a new, empty board).
    HardReset,
}

/// One injected fault.
#[derive(Debug, Clone, Copy)]
pub struct Injection {
    /// The fault.
    pub fault: Fault,
    /// Direction.
    pub dir: Dir,
    /// Byte offset in that direction where it hits.
    pub at: u64,
}

/// The proxy transport.
pub struct FaultTransport<T: Transport> {
    inner: T,
    injection: Option<Injection>,
    /// Bytes passed host → board.
    pub sent: u64,
    /// Bytes passed board → host.
    pub received: u64,
    /// Whether the fault has happened.
    pub fired: bool,
    dead: bool,
    pending: Vec<u8>,
    kill: Option<Box<dyn FnMut()>>,
}

impl<T: Transport> FaultTransport<T> {
    /// Relay through `inner`, applying `injection` (none: a byte counter).
    pub fn new(inner: T, injection: Option<Injection>) -> Self {
        FaultTransport {
            inner,
            injection,
            sent: 0,
            received: 0,
            fired: false,
            dead: false,
            pending: Vec::new(),
            kill: None,
        }
    }

    /// What a hard reset runs (stopping QEMU).
    pub fn on_hard_reset(&mut self, kill: Box<dyn FnMut()>) {
        self.kill = Some(kill);
    }

    fn lost(&self) -> BoardError {
        BoardError::Disconnected {
            port: self.inner.name(),
        }
    }

    /// The index in a chunk of `len` bytes starting at `offset` where the fault hits, if it
    /// hits in this chunk.
    fn hit(&self, dir: Dir, offset: u64, len: usize) -> Option<(usize, Fault)> {
        let inj = self.injection?;
        if self.fired || inj.dir != dir || inj.at < offset || inj.at >= offset + len as u64 {
            return None;
        }
        Some(((inj.at - offset) as usize, inj.fault))
    }
}

impl<T: Transport> Transport for FaultTransport<T> {
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> portlib::board::Result<usize> {
        if self.dead {
            return Err(self.lost());
        }
        if !self.pending.is_empty() {
            let k = self.pending.len().min(buf.len());
            buf[..k].copy_from_slice(&self.pending[..k]);
            self.pending.drain(..k);
            return Ok(k);
        }
        let n = self.inner.read(buf, deadline)?;
        let Some((i, fault)) = self.hit(Dir::FromBoard, self.received, n) else {
            self.received += n as u64;
            return Ok(n);
        };
        self.fired = true;
        self.received += n as u64;
        match fault {
            Fault::Drop | Fault::HardReset => {
                if fault == Fault::HardReset {
                    if let Some(k) = self.kill.as_mut() {
                        k();
                    }
                }
                self.dead = true;
                // What came before the cut still arrives.
                if i == 0 {
                    return Err(self.lost());
                }
                Ok(i)
            }
            Fault::Corrupt => {
                buf[i] ^= 0x04;
                Ok(n)
            }
            Fault::Duplicate => {
                let mut bytes = buf[..n].to_vec();
                bytes.insert(i, bytes[i]);
                let k = bytes.len().min(buf.len());
                buf[..k].copy_from_slice(&bytes[..k]);
                // What does not fit comes with the next read.
                self.pending.extend_from_slice(&bytes[k..]);
                Ok(k)
            }
            Fault::Delay(d) => {
                std::thread::sleep(d);
                Ok(n)
            }
            Fault::CtrlD => Ok(n),
        }
    }

    fn write_all(&mut self, data: &[u8]) -> portlib::board::Result<()> {
        if self.dead {
            return Err(self.lost());
        }
        let Some((i, fault)) = self.hit(Dir::ToBoard, self.sent, data.len()) else {
            self.sent += data.len() as u64;
            return self.inner.write_all(data);
        };
        self.fired = true;
        self.sent += data.len() as u64;
        self.inner.write_all(&data[..i])?;
        let rest = &data[i..];
        match fault {
            Fault::Drop | Fault::HardReset => {
                let _ = self.inner.flush();
                if fault == Fault::HardReset {
                    if let Some(k) = self.kill.as_mut() {
                        k();
                    }
                }
                self.dead = true;
                Err(self.lost())
            }
            Fault::Corrupt => {
                let mut bytes = rest.to_vec();
                bytes[0] ^= 0x04;
                self.inner.write_all(&bytes)
            }
            Fault::Duplicate => {
                self.inner.write_all(&rest[..1])?;
                self.inner.write_all(rest)
            }
            Fault::Delay(d) => {
                self.inner.flush()?;
                std::thread::sleep(d);
                self.inner.write_all(rest)
            }
            Fault::CtrlD => {
                self.inner.write_all(b"\x04")?;
                self.inner.write_all(rest)
            }
        }
    }

    fn flush(&mut self) -> portlib::board::Result<()> {
        if self.dead {
            return Err(self.lost());
        }
        self.inner.flush()
    }

    fn set_dtr(&mut self, on: bool) -> portlib::board::Result<()> {
        self.inner.set_dtr(on)
    }

    fn name(&self) -> String {
        format!("fault proxy to {}", self.inner.name())
    }
}

/// A small seeded generator (xorshift64*), so random fault points repeat from the seed.
pub struct Rng(u64);

impl Rng {
    /// From a seed (0 is replaced, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next value below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}
