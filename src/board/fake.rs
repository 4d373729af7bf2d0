//! A scripted stand-in for a board, so the protocol can be tested byte for byte without hardware.
//!
//! A script is a list of [`Step`]s played in order. Writes by the host must match the `Expect…`
//! steps at the head of the script; as soon as those are satisfied, the following `Reply…`
//! steps become readable (after their delays). A write the script does not expect panics with
//! both sides shown, which fails the test at the exact point of divergence.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::error::{BoardError, Result};
use super::transport::Transport;

/// One scripted event.
#[derive(Debug, Clone)]
pub enum Step {
    /// The host must write exactly these bytes (across any number of `write_all` calls).
    Expect(Vec<u8>),
    /// The host may write anything up to and including this terminator; what it wrote is kept
    /// for [`FakeTransport::captured`]. Used for the code of an exec.
    Capture {
        /// The bytes that end the capture (included in it).
        until: Vec<u8>,
    },
    /// The host must write exactly this many bytes, whatever they are (kept as a capture).
    CaptureLen(usize),
    /// The device sends these bytes.
    Reply(Vec<u8>),
    /// The device sends these bytes in pieces of at most `chunk` bytes, `gap` apart.
    ReplyChunked {
        /// The bytes.
        bytes: Vec<u8>,
        /// Largest piece.
        chunk: usize,
        /// Pause before each piece.
        gap: Duration,
    },
    /// The next replies come this much later.
    Delay(Duration),
    /// Flow-control check: the host must have read everything the device sent so far before it
    /// writes again (a raw-paste host waiting for credit).
    Sync,
    /// The device vanishes: from here on every read and write fails with
    /// [`BoardError::Disconnected`] (a USB reset re-enumerating the port).
    Disconnect,
}

/// Convenience constructors so scripts read like the wire.
impl Step {
    /// [`Step::Expect`] from anything byte-like.
    pub fn expect(b: impl AsRef<[u8]>) -> Step {
        Step::Expect(b.as_ref().to_vec())
    }
    /// [`Step::Reply`] from anything byte-like.
    pub fn reply(b: impl AsRef<[u8]>) -> Step {
        Step::Reply(b.as_ref().to_vec())
    }
    /// [`Step::Capture`] up to and including `until`.
    pub fn capture(until: impl AsRef<[u8]>) -> Step {
        Step::Capture {
            until: until.as_ref().to_vec(),
        }
    }
}

/// The scripted transport. See the module documentation.
#[derive(Debug)]
pub struct FakeTransport {
    script: VecDeque<Step>,
    /// Bytes the device has "sent", each readable from its instant on.
    input: VecDeque<(Instant, Vec<u8>)>,
    /// Progress inside the `Expect`/`Capture` step at the head of the script.
    partial: Vec<u8>,
    captures: Vec<Vec<u8>>,
    written: Vec<u8>,
    disconnected: bool,
    /// When the previous reply became readable, so delays add up.
    clock: Instant,
}

impl FakeTransport {
    /// A fake that plays `script`.
    pub fn new(script: impl IntoIterator<Item = Step>) -> Self {
        let mut fake = FakeTransport {
            script: script.into_iter().collect(),
            input: VecDeque::new(),
            partial: Vec::new(),
            captures: Vec::new(),
            written: Vec::new(),
            disconnected: false,
            clock: Instant::now(),
        };
        fake.release_replies();
        fake
    }

    /// Everything the host wrote, in order.
    pub fn written(&self) -> &[u8] {
        &self.written
    }

    /// What each `Capture`/`CaptureLen` step received, in order.
    pub fn captured(&self) -> &[Vec<u8>] {
        &self.captures
    }

    /// Panic unless the whole script was played and every reply was read.
    pub fn assert_done(&self) {
        assert!(
            self.script.is_empty() && self.partial.is_empty(),
            "fake board: script not finished; next step {:?} (partial write {:?})",
            self.script.front(),
            String::from_utf8_lossy(&self.partial)
        );
        let unread: Vec<u8> = self.input.iter().flat_map(|(_, b)| b.clone()).collect();
        assert!(
            unread.is_empty(),
            "fake board: host never read {:?}",
            String::from_utf8_lossy(&unread)
        );
    }

    /// Move the replies at the head of the script into the input queue.
    fn release_replies(&mut self) {
        let now = Instant::now();
        if self.clock < now {
            self.clock = now;
        }
        while let Some(step) = self.script.front() {
            match step {
                Step::Reply(b) => {
                    self.input.push_back((self.clock, b.clone()));
                }
                Step::ReplyChunked { bytes, chunk, gap } => {
                    for piece in bytes.chunks((*chunk).max(1)) {
                        self.clock += *gap;
                        self.input.push_back((self.clock, piece.to_vec()));
                    }
                }
                Step::Delay(d) => self.clock += *d,
                Step::Disconnect => {
                    if !self.input.is_empty() {
                        // Let the host read what was sent before the device vanished.
                        return;
                    }
                    self.disconnected = true;
                }
                Step::Expect(_) | Step::Capture { .. } | Step::CaptureLen(_) | Step::Sync => return,
            }
            self.script.pop_front();
        }
    }

    fn gone(&self) -> BoardError {
        BoardError::Disconnected {
            port: "fake".into(),
        }
    }

    fn accept(&mut self, byte: u8) {
        let context = || {
            let start = self.written.len().saturating_sub(40);
            String::from_utf8_lossy(&self.written[start..]).into_owned()
        };
        if let Some(Step::Sync) = self.script.front() {
            if !self.input.is_empty() {
                let unread: Vec<u8> = self.input.iter().flat_map(|(_, b)| b.clone()).collect();
                panic!(
                    "fake board: host wrote {:?} before reading {:?} (flow control violated); recent writes: {:?}",
                    byte as char,
                    String::from_utf8_lossy(&unread),
                    context()
                );
            }
            self.script.pop_front();
        }
        match self.script.front() {
            Some(Step::Expect(want)) => {
                let i = self.partial.len();
                if want[i] != byte {
                    panic!(
                        "fake board: host wrote {:?} but the script expects {:?} (byte {i} of {:?}); recent writes: {:?}",
                        byte as char,
                        want[i] as char,
                        String::from_utf8_lossy(want),
                        context()
                    );
                }
                self.partial.push(byte);
                if self.partial.len() == want.len() {
                    self.partial.clear();
                    self.script.pop_front();
                    self.release_replies();
                }
            }
            Some(Step::Capture { until }) => {
                self.partial.push(byte);
                if self.partial.ends_with(until) {
                    self.captures.push(std::mem::take(&mut self.partial));
                    self.script.pop_front();
                    self.release_replies();
                }
            }
            Some(Step::CaptureLen(n)) => {
                let n = *n;
                self.partial.push(byte);
                if self.partial.len() == n {
                    self.captures.push(std::mem::take(&mut self.partial));
                    self.script.pop_front();
                    self.release_replies();
                }
            }
            other => panic!(
                "fake board: unexpected write {:?} (next step {other:?}); recent writes: {:?}",
                byte as char,
                context()
            ),
        }
    }
}

impl Transport for FakeTransport {
    fn read(&mut self, buf: &mut [u8], deadline: Instant) -> Result<usize> {
        self.release_replies();
        if self.disconnected && self.input.is_empty() {
            return Err(self.gone());
        }
        let Some((at, bytes)) = self.input.front_mut() else {
            // A silent device: the host waits out its deadline, like on a real port.
            let now = Instant::now();
            if deadline > now {
                std::thread::sleep(deadline - now);
            }
            return Ok(0);
        };
        let now = Instant::now();
        if *at > now {
            if *at > deadline {
                if deadline > now {
                    std::thread::sleep(deadline - now);
                }
                return Ok(0);
            }
            std::thread::sleep(*at - now);
        }
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        bytes.drain(..n);
        if bytes.is_empty() {
            self.input.pop_front();
        }
        Ok(n)
    }

    fn write_all(&mut self, data: &[u8]) -> Result<()> {
        if self.disconnected {
            return Err(self.gone());
        }
        for &b in data {
            self.written.push(b);
            self.accept(b);
            if self.disconnected {
                return Err(self.gone());
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        Ok(())
    }

    fn name(&self) -> String {
        "fake".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(f: &mut FakeTransport, wait: Duration) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            let n = f.read(&mut buf, Instant::now() + wait).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn replies_follow_expected_writes() {
        let mut f = FakeTransport::new([
            Step::reply("hello"),
            Step::expect("ab"),
            Step::reply("x"),
            Step::capture("\x04"),
            Step::reply("y"),
        ]);
        assert_eq!(read_all(&mut f, Duration::ZERO), b"hello");
        f.write_all(b"a").unwrap();
        assert_eq!(read_all(&mut f, Duration::ZERO), b"");
        f.write_all(b"b").unwrap();
        assert_eq!(read_all(&mut f, Duration::ZERO), b"x");
        f.write_all(b"code\x04").unwrap();
        assert_eq!(read_all(&mut f, Duration::ZERO), b"y");
        assert_eq!(f.captured(), &[b"code\x04".to_vec()]);
        f.assert_done();
    }

    #[test]
    fn chunked_reply_arrives_in_pieces() {
        let mut f = FakeTransport::new([Step::ReplyChunked {
            bytes: b"abcdefg".to_vec(),
            chunk: 3,
            gap: Duration::from_millis(1),
        }]);
        let mut buf = [0u8; 64];
        let n = f
            .read(&mut buf, Instant::now() + Duration::from_secs(1))
            .unwrap();
        assert_eq!(&buf[..n], b"abc");
        assert_eq!(read_all(&mut f, Duration::from_secs(1)), b"defg");
    }

    #[test]
    #[should_panic(expected = "script expects")]
    fn unexpected_write_panics() {
        let mut f = FakeTransport::new([Step::expect("a")]);
        let _ = f.write_all(b"b");
    }

    #[test]
    fn disconnect_fails_after_pending_output() {
        let mut f = FakeTransport::new([Step::reply("bye"), Step::Disconnect]);
        let mut buf = [0u8; 4];
        assert_eq!(f.read(&mut buf, Instant::now()).unwrap(), 3);
        assert!(matches!(
            f.read(&mut buf, Instant::now()),
            Err(BoardError::Disconnected { .. })
        ));
        assert!(f.write_all(b"x").is_err());
    }
}
