//! The event framing spoken by `lib-src/portlib_runner.py`, parsed as a byte stream.
//!
//! An event is `\x1e@portlib:` NAME (`\t` FIELD)* `\n`, with `\\`, `\t`, `\n`, `\r` and `\x1e`
//! escaped inside fields. The sentinel is recognised anywhere, not only at a line start, because
//! a test may leave a partial line on stdout before the runner reports its result. Everything
//! outside events is the VM's own output. The parser is a `feed(&[u8])` state machine: a serial
//! board delivers bytes in arbitrary pieces, and a VM may die in the middle of an event.

use serde::{Deserialize, Serialize};

/// The bytes that start every event.
pub const SENTINEL: &[u8] = b"\x1e@portlib:";

/// The event protocol version this parser understands (the runner's `PROTOCOL`).
pub const PROTOCOL: u32 = 1;

/// How one test case ended, as reported by the runner's `result` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Passed.
    Ok,
    /// An assertion failed (`failureException`).
    Fail,
    /// Any other exception.
    Error,
    /// Skipped, with a reason.
    Skip,
    /// `@expectedFailure` that failed, as expected.
    ExpectedFailure,
    /// `@expectedFailure` that passed.
    UnexpectedSuccess,
}

impl CaseStatus {
    fn from_wire(s: &str) -> Option<Self> {
        Some(match s {
            "ok" => Self::Ok,
            "fail" => Self::Fail,
            "error" => Self::Error,
            "skip" => Self::Skip,
            "xfail" => Self::ExpectedFailure,
            "xpass" => Self::UnexpectedSuccess,
            _ => return None,
        })
    }

    /// The word unittest's verbose runner prints after `... `.
    pub fn verbose_word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Fail => "FAIL",
            Self::Error => "ERROR",
            Self::Skip => "skipped",
            Self::ExpectedFailure => "expected failure",
            Self::UnexpectedSuccess => "unexpected success",
        }
    }
}

/// One decoded runner event (see the table at the top of `portlib_runner.py`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// First event: heap figures after the runner itself was imported.
    Hello {
        /// Runner protocol version.
        protocol: u32,
        /// `sys.implementation.name`.
        implementation: String,
        /// `sys.version`.
        version: String,
        /// `gc.mem_free()` after `gc.collect()` (-1 when the VM lacks it).
        mem_free: i64,
        /// `gc.mem_alloc()` after `gc.collect()`.
        mem_alloc: i64,
        /// `sys.maxsize`, which tells a 32-bit VM from a 64-bit one.
        maxsize: i64,
    },
    /// About to import the module.
    Import {
        /// Dotted module name.
        module: String,
        /// Heap allocated before the import.
        mem_alloc: i64,
        /// Heap free before the import.
        mem_free: i64,
    },
    /// The module imported.
    Imported {
        /// Dotted module name.
        module: String,
        /// Heap allocated after the import and a collection.
        mem_alloc: i64,
        /// Heap free after the import and a collection.
        mem_free: i64,
        /// Import time in milliseconds.
        ms: u64,
    },
    /// The module raised `unittest.SkipTest` while importing.
    SkipModule {
        /// Dotted module name.
        module: String,
        /// The skip reason.
        reason: String,
    },
    /// A test case starts.
    Start {
        /// `test.id()`.
        test: String,
    },
    /// A test case (or a subtest, or a class fixture) ended.
    Result {
        /// `test.id()`.
        test: String,
        /// How it ended.
        status: CaseStatus,
        /// Duration in milliseconds.
        ms: u64,
        /// Exception class name for fail/error/expected failure, else empty.
        exc_type: String,
        /// Traceback text, or the skip reason.
        detail: String,
    },
    /// An exception outside any test case.
    Error {
        /// `unittest` (importing it), `import` (the module) or `run` (the suite).
        phase: String,
        /// Exception class name.
        exc_type: String,
        /// Traceback text.
        detail: String,
    },
    /// The runner finished normally.
    Done {
        /// `testsRun`.
        tests_run: u64,
        /// Wall time on the VM in milliseconds.
        ms: u64,
        /// Heap allocated at the end.
        mem_alloc: i64,
        /// Heap free at the end.
        mem_free: i64,
    },
}

/// What the parser found in the stream, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// VM output outside events (raw bytes; may be partial lines).
    Output(Vec<u8>),
    /// A complete, well-formed event.
    Event(Event),
    /// A complete event line that could not be decoded (kept so nothing vanishes).
    Malformed {
        /// The line after the sentinel, without its newline.
        line: Vec<u8>,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// The stream ended inside an event: the VM died mid-line.
    Truncated(Vec<u8>),
}

#[derive(Debug, Default)]
enum State {
    /// Plain output; `matched` bytes of the sentinel have been seen and held back.
    #[default]
    Text,
    /// Inside an event, collecting its line.
    Event,
}

/// Incremental parser: `feed` any slices, then `finish` at end of stream.
#[derive(Debug, Default)]
pub struct FrameParser {
    state: State,
    matched: usize,
    line: Vec<u8>,
    text: Vec<u8>,
}

impl FrameParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consume `bytes`; return the items completed by them (output is flushed at each call so
    /// live display does not lag).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Item> {
        let mut items = Vec::new();
        for &b in bytes {
            match self.state {
                State::Text => self.text_byte(b, &mut items),
                State::Event => {
                    if b == b'\n' {
                        let mut line = std::mem::take(&mut self.line);
                        // Boards' REPLs turn "\n" into "\r\n"; the runner escapes real CRs.
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                        items.push(decode_line(line));
                        self.state = State::Text;
                    } else {
                        self.line.push(b);
                    }
                }
            }
        }
        self.flush_text(&mut items);
        items
    }

    /// End of stream: return what was held back (a partial sentinel is output; a partial event
    /// is [`Item::Truncated`]).
    pub fn finish(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        if self.matched > 0 {
            self.text.extend_from_slice(&SENTINEL[..self.matched]);
            self.matched = 0;
        }
        self.flush_text(&mut items);
        if let State::Event = self.state {
            let mut line = SENTINEL.to_vec();
            line.append(&mut self.line);
            items.push(Item::Truncated(line));
            self.state = State::Text;
        }
        items
    }

    fn text_byte(&mut self, b: u8, items: &mut Vec<Item>) {
        if b == SENTINEL[self.matched] {
            self.matched += 1;
            if self.matched == SENTINEL.len() {
                self.matched = 0;
                self.flush_text(items);
                self.state = State::Event;
            }
            return;
        }
        if self.matched > 0 {
            // The sentinel's first byte occurs only once in it, so a mismatch can only restart
            // the match at this very byte.
            self.text.extend_from_slice(&SENTINEL[..self.matched]);
            self.matched = 0;
            if b == SENTINEL[0] {
                self.matched = 1;
                return;
            }
        }
        self.text.push(b);
    }

    fn flush_text(&mut self, items: &mut Vec<Item>) {
        if !self.text.is_empty() {
            items.push(Item::Output(std::mem::take(&mut self.text)));
        }
    }
}

/// Parse a whole stream at once (convenience for tests and for stored raw output).
pub fn parse_all(bytes: &[u8]) -> Vec<Item> {
    let mut p = FrameParser::new();
    let mut items = p.feed(bytes);
    items.extend(p.finish());
    coalesce(items)
}

/// Merge neighbouring [`Item::Output`] pieces (the result of feeding in small slices).
pub fn coalesce(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::with_capacity(items.len());
    for item in items {
        if let (Some(Item::Output(prev)), Item::Output(next)) = (out.last_mut(), &item) {
            prev.extend_from_slice(next);
            continue;
        }
        out.push(item);
    }
    out
}

/// Escape a field the way the runner does (used by tests and by fakes of the runner).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1e' => out.push_str("\\x1e"),
            c => out.push(c),
        }
    }
    out
}

/// Undo [`escape`]. Unknown escapes are kept literally: a runner bug must not lose text.
pub fn unescape(field: &[u8]) -> String {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let b = field[i];
        if b != b'\\' || i + 1 == field.len() {
            out.push(b);
            i += 1;
            continue;
        }
        match field[i + 1] {
            b'\\' => out.push(b'\\'),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'x' if field.get(i + 2..i + 4).and_then(hex_byte).is_some() => {
                out.extend(field.get(i + 2..i + 4).and_then(hex_byte));
                i += 4;
                continue;
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
        i += 2;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_byte(two: &[u8]) -> Option<u8> {
    let s = std::str::from_utf8(two).ok()?;
    u8::from_str_radix(s, 16).ok()
}

fn decode_line(line: Vec<u8>) -> Item {
    match decode_event(&line) {
        Ok(ev) => Item::Event(ev),
        Err(reason) => Item::Malformed { line, reason },
    }
}

fn decode_event(line: &[u8]) -> Result<Event, &'static str> {
    let fields: Vec<String> = line.split(|&b| b == b'\t').map(unescape).collect();
    let (name, f) = fields.split_first().ok_or("empty event")?;
    let want = |n: usize| {
        if f.len() == n {
            Ok(())
        } else {
            Err("wrong number of fields")
        }
    };
    let int = |s: &String| s.parse::<i64>().map_err(|_| "a field is not an integer");
    let uint = |s: &String| {
        s.parse::<u64>()
            .map_err(|_| "a field is not an unsigned integer")
    };
    Ok(match name.as_str() {
        "hello" => {
            want(6)?;
            Event::Hello {
                protocol: f[0].parse().map_err(|_| "bad protocol number")?,
                implementation: f[1].clone(),
                version: f[2].clone(),
                mem_free: int(&f[3])?,
                mem_alloc: int(&f[4])?,
                maxsize: int(&f[5])?,
            }
        }
        "import" => {
            want(3)?;
            Event::Import {
                module: f[0].clone(),
                mem_alloc: int(&f[1])?,
                mem_free: int(&f[2])?,
            }
        }
        "imported" => {
            want(4)?;
            Event::Imported {
                module: f[0].clone(),
                mem_alloc: int(&f[1])?,
                mem_free: int(&f[2])?,
                ms: uint(&f[3])?,
            }
        }
        "skipmodule" => {
            want(2)?;
            Event::SkipModule {
                module: f[0].clone(),
                reason: f[1].clone(),
            }
        }
        "start" => {
            want(1)?;
            Event::Start { test: f[0].clone() }
        }
        "result" => {
            want(5)?;
            Event::Result {
                test: f[0].clone(),
                status: CaseStatus::from_wire(&f[1]).ok_or("unknown test status")?,
                ms: uint(&f[2])?,
                exc_type: f[3].clone(),
                detail: f[4].clone(),
            }
        }
        "error" => {
            want(3)?;
            Event::Error {
                phase: f[0].clone(),
                exc_type: f[1].clone(),
                detail: f[2].clone(),
            }
        }
        "done" => {
            want(4)?;
            Event::Done {
                tests_run: uint(&f[0])?,
                ms: uint(&f[1])?,
                mem_alloc: int(&f[2])?,
                mem_free: int(&f[3])?,
            }
        }
        _ => return Err("unknown event name"),
    })
}

/// One event line as the runner writes it (fields without characters that need escaping),
/// for tests that script a runner's output.
#[cfg(test)]
pub(crate) fn test_event(fields: &[&str]) -> String {
    format!("\x1e@portlib:{}\n", fields.join("\t"))
}

/// The runner's `hello` event of a 32-bit MicroPython with a 192K heap, for scripted runs.
#[cfg(test)]
pub(crate) fn test_hello() -> String {
    test_event(&[
        "hello",
        "1",
        "micropython",
        "3.4.0",
        "180000",
        "9000",
        "2147483647",
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream with every awkward case: plain output, an event after a partial line, escapes,
    /// CRLF line ends, a lookalike of the sentinel, a malformed event and a truncated one.
    fn stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(b"hello from the VM\n");
        s.extend_from_slice(b"\x1e@portlib:start\ttest.t.C.test_a\n");
        s.extend_from_slice(b"no newline\x1e@port almost\x1e");
        s.extend_from_slice(b"\x1e@portlib:result\ttest.t.C.test_a\tfail\t12\tAssertionError\t");
        s.extend_from_slice(b"Traceback\\n  tab\\there \\\\ \\x1e end\r\n");
        s.extend_from_slice(b"\x1e@portlib:bogus\t1\n");
        s.extend_from_slice(b"\x1e@portlib:done\t1\t5\t100\t-1\n");
        s.extend_from_slice(b"\x1e@portlib:result\ttest.t.C.te");
        s
    }

    fn expected() -> Vec<Item> {
        vec![
            Item::Output(b"hello from the VM\n".to_vec()),
            Item::Event(Event::Start {
                test: "test.t.C.test_a".into(),
            }),
            Item::Output(b"no newline\x1e@port almost\x1e".to_vec()),
            Item::Event(Event::Result {
                test: "test.t.C.test_a".into(),
                status: CaseStatus::Fail,
                ms: 12,
                exc_type: "AssertionError".into(),
                detail: "Traceback\n  tab\there \\ \x1e end".into(),
            }),
            Item::Malformed {
                line: b"bogus\t1".to_vec(),
                reason: "unknown event name",
            },
            Item::Event(Event::Done {
                tests_run: 1,
                ms: 5,
                mem_alloc: 100,
                mem_free: -1,
            }),
            Item::Truncated(b"\x1e@portlib:result\ttest.t.C.te".to_vec()),
        ]
    }

    #[test]
    fn whole_stream() {
        assert_eq!(parse_all(&stream()), expected());
    }

    #[test]
    fn split_at_every_position() {
        let s = stream();
        for cut in 0..=s.len() {
            let mut p = FrameParser::new();
            let mut items = p.feed(&s[..cut]);
            items.extend(p.feed(&s[cut..]));
            items.extend(p.finish());
            assert_eq!(coalesce(items), expected(), "split at {cut}");
        }
    }

    #[test]
    fn byte_by_byte() {
        let mut p = FrameParser::new();
        let mut items = Vec::new();
        for b in stream() {
            items.extend(p.feed(&[b]));
        }
        items.extend(p.finish());
        assert_eq!(coalesce(items), expected());
    }

    #[test]
    fn partial_sentinel_at_end_is_output() {
        assert_eq!(
            parse_all(b"abc\x1e@porti"),
            vec![Item::Output(b"abc\x1e@porti".to_vec())]
        );
    }

    #[test]
    fn wrong_field_count_and_bad_numbers_are_malformed() {
        for (line, reason) in [
            (&b"start"[..], "wrong number of fields"),
            (b"done\t1\tx\t3\t4", "a field is not an unsigned integer"),
            (b"result\tt\tweird\t1\t\t", "unknown test status"),
            (b"import\tm\t1\t-", "a field is not an integer"),
        ] {
            let mut s = SENTINEL.to_vec();
            s.extend_from_slice(line);
            s.push(b'\n');
            assert_eq!(
                parse_all(&s),
                vec![Item::Malformed {
                    line: line.to_vec(),
                    reason
                }]
            );
        }
    }

    #[test]
    fn every_event_decodes() {
        let lines = [
            "hello\t1\tmicropython\t3.4.0; MicroPython v1.26.1\t191376\t688\t2147483647",
            "import\ttest.test_os\t5000\t186000",
            "imported\ttest.test_os\t9000\t182000\t7",
            "skipmodule\ttest.test_x\tno zlib",
            "error\timport\tImportError\tTraceback\\n...",
        ];
        for line in lines {
            let mut s = SENTINEL.to_vec();
            s.extend_from_slice(line.as_bytes());
            s.push(b'\n');
            let items = parse_all(&s);
            assert!(
                matches!(items.as_slice(), [Item::Event(_)]),
                "{line}: {items:?}"
            );
        }
    }

    #[test]
    fn unknown_escapes_are_kept() {
        assert_eq!(unescape(b"a\\qb\\x4"), "a\\qb\\x4");
        assert_eq!(unescape(b"\\x41\\"), "A\\");
    }

    proptest::proptest! {
        #[test]
        fn escape_round_trips_and_never_frames(s in "\\PC*|[\\\\\t\n\r\x1e@a-z]*") {
            let e = escape(&s);
            proptest::prop_assert!(!e.contains(['\t', '\n', '\r', '\x1e']));
            proptest::prop_assert_eq!(unescape(e.as_bytes()), s);
        }
    }
}
