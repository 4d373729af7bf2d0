//! The raw REPL protocol over any [`Transport`] (device side: `shared/runtime/pyexec.c` in both
//! MicroPython and CircuitPython; protocol notes in the project's board-protocol document).
//!
//! Every wait has an overall deadline and fails with [`BoardError::Timeout`] naming what was
//! awaited. Entering the raw REPL is retried a bounded number of times, because CircuitPython's
//! "Press any key" wait swallows a byte and boot noise can hide the first banner.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::error::{tail_text, BoardError, Result};
use super::output::{Banner, ConsoleSigns, FrameParser, RAW_BANNER};
use super::transport::{deadline_after, Transport};

const CTRL_A: u8 = 0x01;
const CTRL_B: u8 = 0x02;
const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const CTRL_E: u8 = 0x05;

/// Plain raw REPL has no flow control: the code goes in slices with a pause after each so the
/// device's UART/CDC buffer is not overrun (the slice and pause other hosts use successfully).
const PLAIN_SLICE: usize = 256;
const PLAIN_PAUSE: Duration = Duration::from_millis(10);

/// Entering the raw REPL is attempted this many times before giving up.
const ENTER_ATTEMPTS: u32 = 3;

/// How often a running exec checks the interrupt flag.
const INTERRUPT_POLL: Duration = Duration::from_millis(100);

/// Keep at most this much unconsumed input while waiting for a pattern (a chatty `code.py` must
/// not grow memory without bound).
const PENDING_MAX: usize = 256 * 1024;

/// Deadlines for the protocol steps. All are overall limits, not inter-byte timeouts.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// One attempt at getting the raw-REPL banner after Ctrl-A.
    pub enter: Duration,
    /// How long the line must stay quiet for a drain to end.
    pub drain_quiet: Duration,
    /// Longest drain (a board printing forever still gets an answer).
    pub drain_max: Duration,
    /// Protocol handshakes: `OK`, the raw-paste header, flow-control credit, the end-of-code ack.
    pub handshake: Duration,
    /// Soft reset until the raw banner is back (boot.py runs in between).
    pub soft_reset: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            enter: Duration::from_secs(3),
            drain_quiet: Duration::from_millis(150),
            drain_max: Duration::from_secs(2),
            handshake: Duration::from_secs(5),
            soft_reset: Duration::from_secs(10),
        }
    }
}

/// What one exec printed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    /// Standard output (empty when streamed to a callback).
    pub stdout: Vec<u8>,
    /// The traceback, empty when the code did not raise.
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// Whether the code raised an exception.
    pub fn raised(&self) -> bool {
        !self.stderr.is_empty()
    }

    /// Stdout as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A raw-REPL session on a transport.
pub struct RawRepl<T: Transport> {
    t: T,
    pending: Vec<u8>,
    /// Deadlines used by every step; adjust before use if the board is slow.
    pub timeouts: Timeouts,
    raw_paste: Option<bool>,
    in_raw: bool,
    signs: ConsoleSigns,
    interrupt_flag: Option<&'static AtomicBool>,
}

impl<T: Transport> RawRepl<T> {
    /// Wrap a transport. Nothing is sent until the first operation.
    pub fn new(t: T) -> Self {
        RawRepl {
            t,
            pending: Vec::new(),
            timeouts: Timeouts::default(),
            raw_paste: None,
            in_raw: false,
            signs: ConsoleSigns::default(),
            interrupt_flag: None,
        }
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.t
    }

    /// The transport, mutably (for the REPL pass-through).
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.t
    }

    /// Give the transport back.
    pub fn into_transport(self) -> T {
        self.t
    }

    /// Whether raw-paste mode works on this connection; `None` until the first exec tried.
    pub fn raw_paste(&self) -> Option<bool> {
        self.raw_paste
    }

    /// Force (or forbid) raw-paste mode instead of negotiating it.
    pub fn set_raw_paste(&mut self, use_it: Option<bool>) {
        self.raw_paste = use_it;
    }

    /// A flag the host sets (from a Ctrl-C handler) to stop the code being executed: while an
    /// exec waits for output it checks the flag every 100 ms and, when set, clears it and sends
    /// Ctrl-C to the board, which ends the code with `KeyboardInterrupt` in stderr.
    pub fn set_interrupt_flag(&mut self, flag: &'static AtomicBool) {
        self.interrupt_flag = Some(flag);
    }

    /// Whether the session believes the board sits at the raw prompt.
    pub fn is_raw(&self) -> bool {
        self.in_raw
    }

    /// The last friendly banner seen while interrupting or leaving, if any.
    pub fn banner(&self) -> Option<&Banner> {
        self.signs.banner.as_ref()
    }

    /// Whether CircuitPython said it is in safe mode.
    pub fn safe_mode(&self) -> bool {
        self.signs.safe_mode
    }

    fn timeout(&self, waiting_for: &'static str, started: Instant, received: &[u8]) -> BoardError {
        BoardError::Timeout {
            waiting_for,
            port: self.t.name(),
            elapsed: started.elapsed(),
            received: tail_text(received, 200),
        }
    }

    /// Read once into `pending`; returns the count (0 when the deadline passed).
    fn fill(&mut self, deadline: Instant) -> Result<usize> {
        let mut buf = [0u8; 4096];
        let n = self.t.read(&mut buf, deadline)?;
        self.pending.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    /// Read until `pat` has arrived; return everything up to and including it.
    fn wait_for(&mut self, pat: &[u8], within: Duration, what: &'static str) -> Result<Vec<u8>> {
        let started = Instant::now();
        let deadline = deadline_after(started, within);
        let mut searched: usize = 0;
        loop {
            let from = searched.saturating_sub(pat.len());
            if let Some(pos) = find(&self.pending[from..], pat) {
                let end = from + pos + pat.len();
                let rest = self.pending.split_off(end);
                return Ok(std::mem::replace(&mut self.pending, rest));
            }
            searched = self.pending.len();
            if self.pending.len() > PENDING_MAX {
                let cut = self.pending.len() - pat.len();
                self.pending.drain(..cut);
                searched = self.pending.len();
            }
            if self.fill(deadline)? == 0 && Instant::now() >= deadline {
                return Err(self.timeout(what, started, &self.pending.clone()));
            }
        }
    }

    /// Read one byte (from `pending` first); `None` if the deadline passed.
    fn read_byte(&mut self, deadline: Instant) -> Result<Option<u8>> {
        if self.pending.is_empty() && self.fill(deadline)? == 0 {
            return Ok(None);
        }
        Ok(Some(self.pending.remove(0)))
    }

    /// Read exactly `n` bytes.
    fn read_exact(&mut self, n: usize, within: Duration, what: &'static str) -> Result<Vec<u8>> {
        let started = Instant::now();
        let deadline = deadline_after(started, within);
        while self.pending.len() < n {
            if self.fill(deadline)? == 0 && Instant::now() >= deadline {
                return Err(self.timeout(what, started, &self.pending.clone()));
            }
        }
        let rest = self.pending.split_off(n);
        Ok(std::mem::replace(&mut self.pending, rest))
    }

    /// Read until the line is quiet for `drain_quiet` (or `drain_max` passed); return it all.
    fn drain(&mut self) -> Result<Vec<u8>> {
        let started = Instant::now();
        let end = deadline_after(started, self.timeouts.drain_max);
        loop {
            let quiet_until = deadline_after(Instant::now(), self.timeouts.drain_quiet).min(end);
            if self.fill(quiet_until)? == 0 || Instant::now() >= end {
                break;
            }
        }
        Ok(std::mem::take(&mut self.pending))
    }

    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.t.write_all(bytes)?;
        self.t.flush()
    }

    /// Stop whatever runs: Ctrl-C twice, then drain. A leading `\r` is the key CircuitPython
    /// swallows at "Press any key to enter the REPL" (it is harmless at a prompt). Returns the
    /// drained console output.
    pub fn interrupt(&mut self) -> Result<Vec<u8>> {
        self.send(&[b'\r', CTRL_C, CTRL_C])?;
        let mut seen = self.drain()?;
        let mut signs = ConsoleSigns::scan(&seen);
        if signs.waiting_for_key {
            // Our Ctrl-C stopped code.py and the board now waits for a key: give it one.
            log::debug!("board waits for a key after code.py; sending one");
            self.send(b"\r")?;
            seen.extend(self.drain()?);
            signs = ConsoleSigns::scan(&seen);
        }
        if signs.safe_mode {
            log::warn!(
                "{}: the board reports CircuitPython safe mode",
                self.t.name()
            );
        }
        if signs.banner.is_some() || signs.safe_mode {
            self.signs = signs;
        }
        self.in_raw = false;
        Ok(seen)
    }

    /// Enter the raw REPL: interrupt, Ctrl-A, wait for `raw REPL; CTRL-B to exit\r\n>`.
    /// Retried up to three times; a board that never answers gives [`BoardError::Timeout`].
    pub fn enter_raw(&mut self) -> Result<()> {
        self.interrupt()?;
        let mut last = None;
        for attempt in 1..=ENTER_ATTEMPTS {
            self.send(&[b'\r', CTRL_A])?;
            match self.wait_for(RAW_BANNER, self.timeouts.enter, "the raw REPL banner") {
                Ok(before) => {
                    let signs = ConsoleSigns::scan(&before);
                    if signs.banner.is_some() {
                        self.signs.banner = signs.banner;
                    }
                    self.signs.safe_mode |= signs.safe_mode;
                    self.wait_for(b">", self.timeouts.handshake, "the raw prompt '>'")?;
                    if attempt > 1 {
                        // An earlier Ctrl-A may still produce a second banner; eat it.
                        self.drain()?;
                    }
                    self.in_raw = true;
                    log::debug!("{}: in raw REPL (attempt {attempt})", self.t.name());
                    return Ok(());
                }
                Err(e @ BoardError::Timeout { .. }) => {
                    log::debug!("{}: no raw banner on attempt {attempt}", self.t.name());
                    last = Some(e);
                    if attempt < ENTER_ATTEMPTS {
                        self.interrupt()?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// Run `code` and collect its output. `within` bounds the whole run (upload and execution).
    pub fn exec(&mut self, code: &[u8], within: Duration) -> Result<ExecOutput> {
        let out = self.exec_inner(code, within, true, &mut |_| {}, &mut || false)?;
        Ok(out.expect("never stopped"))
    }

    /// Run `code`, passing stdout to `on_stdout` as it arrives (not collected in the result).
    pub fn exec_streaming(
        &mut self,
        code: &[u8],
        within: Duration,
        on_stdout: &mut dyn FnMut(&[u8]),
    ) -> Result<ExecOutput> {
        let out = self.exec_inner(code, within, false, on_stdout, &mut || false)?;
        Ok(out.expect("never stopped"))
    }

    /// Like [`RawRepl::exec_streaming`], but `stop` is asked after every piece of output:
    /// when it says true the wait ends at once with `Ok(None)` and the board's state is unknown
    /// (the next operation re-enters the raw REPL). For a caller that recognises in the output
    /// that the frame will never complete, such as a reset banner in the middle of a run.
    pub fn exec_watching(
        &mut self,
        code: &[u8],
        within: Duration,
        on_stdout: &mut dyn FnMut(&[u8]),
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<Option<ExecOutput>> {
        self.exec_inner(code, within, false, on_stdout, stop)
    }

    fn exec_inner(
        &mut self,
        code: &[u8],
        within: Duration,
        collect: bool,
        on_stdout: &mut dyn FnMut(&[u8]),
        stop: &mut dyn FnMut() -> bool,
    ) -> Result<Option<ExecOutput>> {
        if !self.in_raw {
            self.enter_raw()?;
        }
        let started = Instant::now();
        // Ctrl-D on an empty buffer would soft-reset the board.
        let code: &[u8] = if code.iter().all(|b| b.is_ascii_whitespace()) {
            b"pass"
        } else {
            code
        };
        // Until the frame is complete the board is not at the prompt; an error below leaves it
        // unknown, so the next operation re-enters the raw REPL.
        self.in_raw = false;
        let expect_ok = match self.raw_paste {
            Some(false) => {
                self.send_plain(code)?;
                true
            }
            Some(true) => {
                if !self.try_raw_paste(code)? {
                    return Err(BoardError::Protocol {
                        port: self.t.name(),
                        during: "starting raw-paste mode",
                        expected: "R\\x01 (raw-paste accepted), as earlier on this connection",
                        got: "a refusal".into(),
                    });
                }
                false
            }
            None => {
                let used = self.try_raw_paste(code)?;
                self.raw_paste = Some(used);
                log::debug!("{}: raw-paste supported: {used}", self.t.name());
                if !used {
                    self.send_plain(code)?;
                }
                !used
            }
        };
        let mut parser = FrameParser::new(expect_ok, collect);
        let deadline = deadline_after(started, within);
        loop {
            if !self.pending.is_empty() {
                let data = std::mem::take(&mut self.pending);
                let used = parser
                    .feed(&data, on_stdout)
                    .map_err(|e| BoardError::Protocol {
                        port: self.t.name(),
                        during: "reading the output of code",
                        expected: e.expected,
                        got: tail_text(&e.got, 200),
                    })?;
                self.pending = data[used..].to_vec();
                if parser.is_done() {
                    break;
                }
                if stop() {
                    return Ok(None);
                }
            }
            let mut until = deadline;
            if let Some(flag) = self.interrupt_flag {
                if flag.swap(false, Ordering::SeqCst) {
                    log::debug!("{}: interrupting the running code", self.t.name());
                    self.send(&[CTRL_C])?;
                }
                until = until.min(Instant::now() + INTERRUPT_POLL);
            }
            if self.fill(until)? == 0 && Instant::now() >= deadline {
                return Err(self.timeout(
                    match parser.phase() {
                        super::output::FramePhase::Ok(_) => "OK after sending code",
                        super::output::FramePhase::Stdout => "the code to finish (end of stdout)",
                        _ => "the end of the traceback and the raw prompt",
                    },
                    started,
                    &[],
                ));
            }
        }
        self.in_raw = true;
        log::debug!(
            "{}: exec of {} bytes took {:?}",
            self.t.name(),
            code.len(),
            started.elapsed()
        );
        let (stdout, stderr) = parser.into_parts();
        Ok(Some(ExecOutput { stdout, stderr }))
    }

    fn send_plain(&mut self, code: &[u8]) -> Result<()> {
        for slice in code.chunks(PLAIN_SLICE) {
            self.t.write_all(slice)?;
            self.t.flush()?;
            std::thread::sleep(PLAIN_PAUSE);
        }
        self.send(&[CTRL_D])
    }

    /// Negotiate raw-paste and, if accepted, stream `code` under the device's flow control.
    /// Returns false (nothing sent but the request) if the device does not support it.
    fn try_raw_paste(&mut self, code: &[u8]) -> Result<bool> {
        let hs = self.timeouts.handshake;
        self.send(&[CTRL_E, b'A', CTRL_A])?;
        let answer = self.read_exact(2, hs, "the raw-paste answer (R\\x01)")?;
        match answer.as_slice() {
            b"R\x01" => {}
            b"R\x00" => return Ok(false),
            b"ra" => {
                // Old firmware took our Ctrl-A as "reset raw REPL" and reprinted its banner.
                self.wait_for(b"w REPL; CTRL-B to exit\r\n>", hs, "the raw REPL banner")?;
                return Ok(false);
            }
            other => {
                return Err(BoardError::Protocol {
                    port: self.t.name(),
                    during: "starting raw-paste mode",
                    expected: "R\\x01, R\\x00 or ra",
                    got: tail_text(other, 40),
                })
            }
        }
        let w = self.read_exact(2, hs, "the raw-paste window size")?;
        let window = u16::from_le_bytes([w[0], w[1]]) as usize;
        if window == 0 {
            return Err(BoardError::Protocol {
                port: self.t.name(),
                during: "starting raw-paste mode",
                expected: "a non-zero window size",
                got: "0".into(),
            });
        }
        let mut credit = window;
        let mut sent = 0;
        let mut aborted = false;
        'send: while sent < code.len() {
            // Take any credit already waiting; block for it only when we have none left.
            loop {
                let started = Instant::now();
                let deadline = if credit == 0 {
                    deadline_after(started, hs)
                } else {
                    started
                };
                match self.read_byte(deadline)? {
                    Some(CTRL_A) => credit += window,
                    Some(CTRL_D) => {
                        // The device stopped reading (a syntax error): acknowledge, stop.
                        log::debug!(
                            "{}: upload stopped by the device after {sent} bytes",
                            self.t.name()
                        );
                        aborted = true;
                        break 'send;
                    }
                    Some(other) => {
                        return Err(BoardError::Protocol {
                            port: self.t.name(),
                            during: "raw-paste upload",
                            expected: "flow-control byte \\x01 or \\x04",
                            got: tail_text(&[other], 4),
                        })
                    }
                    None if credit == 0 => {
                        return Err(self.timeout(
                            "raw-paste flow-control credit (\\x01)",
                            started,
                            &[],
                        ))
                    }
                    None => break,
                }
            }
            let n = credit.min(code.len() - sent);
            self.t.write_all(&code[sent..sent + n])?;
            self.t.flush()?;
            sent += n;
            credit -= n;
        }
        self.send(&[CTRL_D])?;
        if !aborted {
            // The device acknowledges the end of the code with \x04; credit may still arrive.
            let started = Instant::now();
            loop {
                match self.read_byte(deadline_after(started, hs))? {
                    Some(CTRL_D) => break,
                    Some(CTRL_A) => {}
                    Some(other) => {
                        return Err(BoardError::Protocol {
                            port: self.t.name(),
                            during: "ending a raw-paste upload",
                            expected: "the end-of-code acknowledgement \\x04",
                            got: tail_text(&[other], 4),
                        })
                    }
                    None => {
                        return Err(self.timeout(
                            "the end-of-code acknowledgement (\\x04)",
                            started,
                            &[],
                        ))
                    }
                }
            }
        }
        Ok(true)
    }

    /// Soft-reset from the raw REPL (Ctrl-D on an empty line): a fresh heap, `boot.py` runs,
    /// `main.py`/`code.py` do not (MicroPython; CircuitPython ≥ 7.1). Returns what the board
    /// printed in between (boot.py output).
    pub fn soft_reset(&mut self) -> Result<Vec<u8>> {
        if !self.in_raw {
            self.enter_raw()?;
        }
        self.in_raw = false;
        self.send(&[CTRL_D])?;
        let within = self.timeouts.soft_reset;
        let started = Instant::now();
        self.wait_for(b"soft reboot\r\n", within, "'soft reboot' after Ctrl-D")?;
        let left = within.saturating_sub(started.elapsed());
        let between = self.wait_for(RAW_BANNER, left, "the raw REPL banner after soft reboot")?;
        let left = within.saturating_sub(started.elapsed());
        self.wait_for(
            b">",
            left.max(self.timeouts.handshake),
            "the raw prompt '>'",
        )?;
        self.in_raw = true;
        Ok(between[..between.len() - RAW_BANNER.len()].to_vec())
    }

    /// Leave the raw REPL (Ctrl-B) and wait for the friendly prompt `>>> `. On CircuitPython
    /// this starts a brand-new VM. Returns the banner text.
    pub fn leave(&mut self) -> Result<Vec<u8>> {
        self.in_raw = false;
        self.send(&[CTRL_B])?;
        let text = self.wait_for(b">>> ", self.timeouts.enter, "the friendly prompt '>>> '")?;
        let signs = ConsoleSigns::scan(&text);
        if signs.banner.is_some() {
            self.signs.banner = signs.banner;
        }
        Ok(text)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[path = "raw_repl_tests.rs"]
mod tests;
