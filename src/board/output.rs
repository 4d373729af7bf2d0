//! Parsers for what a board prints, as `feed(&[u8])` state machines so tests can cut the input
//! at every byte and check nothing depends on how the USB stack chunks it.
//!
//! * [`FrameParser`]: the raw-REPL exec reply `OK<stdout>\x04<stderr>\x04>` (pyexec.c).
//! * [`NoiseFilter`]: drops ANSI/OSC escapes, such as CircuitPython 8+'s status-bar title
//!   `\x1b]0;…\x1b\\` and the line-clear `\x1b[2K\x1b[0G` printed before `code.py output:`.
//! * [`Banner`] and [`ConsoleSigns`]: recognising MicroPython's and CircuitPython's friendly
//!   banners, safe mode, and CircuitPython's "Press any key" wait, which swallows the first byte.

/// Where a [`FrameParser`] is in the exec reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FramePhase {
    /// Waiting for the `OK` the plain raw REPL sends after the code's Ctrl-D (byte count seen).
    Ok(u8),
    /// Inside the program's stdout, up to the first `\x04`.
    Stdout,
    /// Inside the traceback text, up to the second `\x04`.
    Stderr,
    /// Waiting for the raw prompt `>`.
    Prompt,
    /// The frame is complete.
    Done,
}

/// The board broke the exec framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    /// What the protocol requires at this point.
    pub expected: &'static str,
    /// The offending bytes (the rest of the chunk).
    pub got: Vec<u8>,
}

/// Splits an exec reply into stdout and stderr. See the module documentation.
#[derive(Debug, Clone)]
pub struct FrameParser {
    phase: FramePhase,
    collect_stdout: bool,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl FrameParser {
    /// A parser for a plain raw-REPL reply (`expect_ok`) or a raw-paste reply (no `OK`).
    /// With `collect_stdout` false, stdout only goes to the `feed` callback.
    pub fn new(expect_ok: bool, collect_stdout: bool) -> Self {
        FrameParser {
            phase: if expect_ok {
                FramePhase::Ok(0)
            } else {
                FramePhase::Stdout
            },
            collect_stdout,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    /// Consume bytes; stdout pieces go to `on_stdout` as they arrive. Returns how many bytes
    /// were consumed: fewer than `data.len()` only once the frame is complete, leaving what
    /// follows the prompt to the caller.
    pub fn feed(
        &mut self,
        data: &[u8],
        on_stdout: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, FrameError> {
        let mut i = 0;
        while i < data.len() {
            match self.phase {
                FramePhase::Ok(seen) => {
                    let want = b"OK"[seen as usize];
                    if data[i] != want {
                        return Err(FrameError {
                            expected: "OK after sending the code",
                            got: data[i..].to_vec(),
                        });
                    }
                    i += 1;
                    self.phase = if seen == 1 {
                        FramePhase::Stdout
                    } else {
                        FramePhase::Ok(1)
                    };
                }
                FramePhase::Stdout => {
                    let rest = &data[i..];
                    let end = rest.iter().position(|&b| b == 0x04);
                    let piece = &rest[..end.unwrap_or(rest.len())];
                    if !piece.is_empty() {
                        on_stdout(piece);
                        if self.collect_stdout {
                            self.stdout.extend_from_slice(piece);
                        }
                    }
                    i += piece.len();
                    if end.is_some() {
                        i += 1;
                        self.phase = FramePhase::Stderr;
                    }
                }
                FramePhase::Stderr => {
                    let rest = &data[i..];
                    let end = rest.iter().position(|&b| b == 0x04);
                    let piece = &rest[..end.unwrap_or(rest.len())];
                    self.stderr.extend_from_slice(piece);
                    i += piece.len();
                    if end.is_some() {
                        i += 1;
                        self.phase = FramePhase::Prompt;
                    }
                }
                FramePhase::Prompt => {
                    if data[i] != b'>' {
                        return Err(FrameError {
                            expected: "the raw prompt '>' after the output",
                            got: data[i..].to_vec(),
                        });
                    }
                    i += 1;
                    self.phase = FramePhase::Done;
                }
                FramePhase::Done => break,
            }
        }
        Ok(i)
    }

    /// The current phase.
    pub fn phase(&self) -> FramePhase {
        self.phase
    }

    /// Whether the whole frame, prompt included, has been seen.
    pub fn is_done(&self) -> bool {
        self.phase == FramePhase::Done
    }

    /// Collected stdout and stderr.
    pub fn into_parts(self) -> (Vec<u8>, Vec<u8>) {
        (self.stdout, self.stderr)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    Text,
    /// Saw `\x1b`.
    Start,
    /// Inside `\x1b[` … final byte.
    Csi,
    /// Inside `\x1b]` … `\x1b\\` or BEL.
    Osc,
    /// Saw `\x1b` inside an OSC string.
    OscEsc,
}

/// Longest OSC string kept pending; a lost terminator must not swallow the console forever.
const OSC_MAX: usize = 512;

/// Removes terminal escape sequences from a byte stream, holding back incomplete ones across
/// `feed` calls.
#[derive(Debug, Clone)]
pub struct NoiseFilter {
    state: Escape,
    osc_len: usize,
}

impl Default for NoiseFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl NoiseFilter {
    /// A filter in the text state.
    pub fn new() -> Self {
        NoiseFilter {
            state: Escape::Text,
            osc_len: 0,
        }
    }

    /// Append the text bytes of `data` to `out`.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) {
        for &b in data {
            self.state = match self.state {
                Escape::Text if b == 0x1b => Escape::Start,
                Escape::Text => {
                    out.push(b);
                    Escape::Text
                }
                Escape::Start => match b {
                    b'[' => Escape::Csi,
                    b']' => {
                        self.osc_len = 0;
                        Escape::Osc
                    }
                    // A two-byte escape such as `\x1bc`: drop both.
                    _ => Escape::Text,
                },
                Escape::Csi if (0x40..=0x7e).contains(&b) => Escape::Text,
                Escape::Csi => Escape::Csi,
                Escape::Osc if b == 0x07 => Escape::Text,
                Escape::Osc if b == 0x1b => Escape::OscEsc,
                Escape::Osc | Escape::OscEsc => {
                    self.osc_len += 1;
                    if self.osc_len > OSC_MAX || (self.state == Escape::OscEsc && b == b'\\') {
                        Escape::Text
                    } else if b == 0x1b {
                        Escape::OscEsc
                    } else {
                        Escape::Osc
                    }
                }
            };
        }
    }
}

/// Strip escape sequences from a complete byte string.
pub fn strip_noise(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    NoiseFilter::new().feed(data, &mut out);
    out
}

/// Which firmware family printed a banner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    /// MicroPython (`MicroPython v1.26.1 on …`).
    MicroPython,
    /// CircuitPython (`Adafruit CircuitPython 9.2.1 on …`).
    CircuitPython,
}

/// A parsed version banner, also the first line of CircuitPython's `boot_out.txt`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Banner {
    /// Firmware family.
    pub flavor: Flavor,
    /// Version as printed, without MicroPython's leading `v` (`1.26.1`, `9.2.1-beta.1`).
    pub version: String,
    /// Build date as printed.
    pub date: String,
    /// Everything after `; ` (`Adafruit Metro M4 Express with samd51j19`).
    pub machine: String,
}

impl Banner {
    /// Find and parse a banner line anywhere in `text`.
    pub fn find(text: &str) -> Option<Banner> {
        text.lines().find_map(Banner::parse_line)
    }

    /// Parse one banner line (`<impl> <version> on <date>; <machine>`).
    pub fn parse_line(line: &str) -> Option<Banner> {
        let line = line.trim();
        let (flavor, rest) = if let Some(i) = line.find("Adafruit CircuitPython ") {
            (
                Flavor::CircuitPython,
                &line[i + "Adafruit CircuitPython ".len()..],
            )
        } else if let Some(i) = line.find("MicroPython v") {
            (Flavor::MicroPython, &line[i + "MicroPython v".len()..])
        } else {
            return None;
        };
        let (version, rest) = rest.split_once(" on ")?;
        let (date, machine) = rest.split_once("; ")?;
        if version.is_empty() || version.contains(' ') {
            return None;
        }
        Some(Banner {
            flavor,
            version: version.to_string(),
            date: date.trim().to_string(),
            machine: machine.trim().to_string(),
        })
    }

    /// The major version number, if the version starts with one.
    pub fn major(&self) -> Option<u32> {
        self.version.split('.').next()?.parse().ok()
    }
}

/// What the friendly console output says about the board's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsoleSigns {
    /// A version banner, if one was printed.
    pub banner: Option<Banner>,
    /// CircuitPython reported safe mode (`boot.py`/`code.py` do not run; auto-reload is off).
    pub safe_mode: bool,
    /// CircuitPython is waiting at "Press any key to enter the REPL": the next byte sent is
    /// swallowed.
    pub waiting_for_key: bool,
    /// The output ends at the friendly prompt `>>> `.
    pub friendly_prompt: bool,
    /// The output ends at the raw prompt (`raw REPL; CTRL-B to exit\r\n>`).
    pub raw_prompt: bool,
}

/// The raw REPL's banner; it is followed by the prompt `>`.
pub const RAW_BANNER: &[u8] = b"raw REPL; CTRL-B to exit\r\n";

impl ConsoleSigns {
    /// Read the signs from console output (escape sequences are stripped first).
    pub fn scan(raw: &[u8]) -> ConsoleSigns {
        let clean = strip_noise(raw);
        let text = String::from_utf8_lossy(&clean);
        let tail = text.trim_end_matches(['\r', '\n']);
        ConsoleSigns {
            banner: Banner::find(&text),
            safe_mode: text.contains("You are in safe mode")
                || text.contains("Running in safe mode"),
            waiting_for_key: tail
                .ends_with("Press any key to enter the REPL. Use CTRL-D to reload."),
            friendly_prompt: text.ends_with(">>> "),
            raw_prompt: clean.ends_with(b"raw REPL; CTRL-B to exit\r\n>"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Streamed stdout, collected stdout, stderr, bytes consumed.
    type Split = (Vec<u8>, Vec<u8>, Vec<u8>, usize);
    /// Input, expect OK, stdout, stderr.
    type Case<'a> = (&'a [u8], bool, &'a [u8], &'a [u8]);

    /// Feed `input` split at `cut` (two pieces) and return (stdout via callback, stdout
    /// collected, stderr, consumed).
    fn run_split(input: &[u8], cut: usize, expect_ok: bool) -> Result<Split, FrameError> {
        let mut p = FrameParser::new(expect_ok, true);
        let mut streamed = Vec::new();
        let mut consumed = 0;
        for piece in [&input[..cut], &input[cut..]] {
            if p.is_done() {
                break;
            }
            consumed += p.feed(piece, &mut |b| streamed.extend_from_slice(b))?;
        }
        assert!(p.is_done(), "frame not complete for cut {cut}");
        let (out, err) = p.into_parts();
        Ok((streamed, out, err, consumed))
    }

    #[test]
    fn frame_every_split_point() {
        let cases: &[Case] = &[
            (b"OKhello\r\n\x04\x04>", true, b"hello\r\n", b""),
            (
                b"OK1\r\n\x04Traceback (most recent call last):\r\nValueError: x\r\n\x04>",
                true,
                b"1\r\n",
                b"Traceback (most recent call last):\r\nValueError: x\r\n",
            ),
            (b"OK\x04\x04>", true, b"", b""),
            (b"out\x04err\x04>", false, b"out", b"err"),
        ];
        for &(input, ok, want_out, want_err) in cases {
            for cut in 0..=input.len() {
                let (streamed, out, err, consumed) = run_split(input, cut, ok).unwrap();
                assert_eq!(streamed, want_out, "cut {cut}");
                assert_eq!(out, want_out, "cut {cut}");
                assert_eq!(err, want_err, "cut {cut}");
                assert_eq!(consumed, input.len(), "cut {cut}");
            }
        }
    }

    #[test]
    fn frame_leaves_trailing_bytes() {
        let mut p = FrameParser::new(false, true);
        let n = p.feed(b"a\x04\x04>rest", &mut |_| {}).unwrap();
        assert_eq!(n, 4);
        assert!(p.is_done());
    }

    #[test]
    fn frame_rejects_missing_ok_and_prompt() {
        let mut p = FrameParser::new(true, true);
        let e = p.feed(b"raw REPL", &mut |_| {}).unwrap_err();
        assert_eq!(e.got, b"raw REPL");
        let mut p = FrameParser::new(false, true);
        let e = p.feed(b"x\x04\x04!", &mut |_| {}).unwrap_err();
        assert_eq!(e.got, b"!");
    }

    #[test]
    fn noise_filter_strips_status_bar_at_every_split() {
        let input = "\x1b]0;\u{1f40d}Wi-Fi: off | REPL | 9.2.1\x1b\\\x1b[2K\x1b[0Gcode.py output:\r\nhi\x1b]0;t\x07!";
        let want = b"code.py output:\r\nhi!";
        let bytes = input.as_bytes();
        for cut in 0..=bytes.len() {
            let mut f = NoiseFilter::new();
            let mut out = Vec::new();
            f.feed(&bytes[..cut], &mut out);
            f.feed(&bytes[cut..], &mut out);
            assert_eq!(out, want, "cut {cut}");
        }
    }

    #[test]
    fn noise_filter_gives_up_on_unterminated_osc() {
        let mut data = b"\x1b]0;".to_vec();
        data.extend(vec![b'x'; OSC_MAX + 10]);
        data.extend_from_slice(b"\x1b\\tail");
        let out = strip_noise(&data);
        assert!(
            out.ends_with(b"tail"),
            "{:?}",
            String::from_utf8_lossy(&out)
        );
    }

    #[test]
    fn banners() {
        let mp = Banner::find(
            "\r\nMicroPython v1.26.1 on 2025-09-11; QEMU with Cortex-M3\r\nType \"help()\" for more information.\r\n>>> ",
        )
        .unwrap();
        assert_eq!(mp.flavor, Flavor::MicroPython);
        assert_eq!(mp.version, "1.26.1");
        assert_eq!(mp.date, "2025-09-11");
        assert_eq!(mp.machine, "QEMU with Cortex-M3");
        let cp = Banner::find(
            "\r\nAdafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit Metro M4 Express with samd51j19\r\n>>> ",
        )
        .unwrap();
        assert_eq!(cp.flavor, Flavor::CircuitPython);
        assert_eq!(cp.version, "9.2.1");
        assert_eq!(cp.major(), Some(9));
        assert_eq!(cp.machine, "Adafruit Metro M4 Express with samd51j19");
        assert_eq!(Banner::find("Type \"help()\" for more information."), None);
    }

    #[test]
    fn console_signs_cp_code_done_both_orders() {
        // 10.2.x and earlier: auto-reload line before `code.py output:`.
        let old = b"\r\nAuto-reload is on. Simply save files over USB to run them or enter REPL to disable.\r\n\x1b[2K\x1b[0Gcode.py output:\r\nhello\r\n\r\nCode done running.\r\n\r\nPress any key to enter the REPL. Use CTRL-D to reload.\r\n";
        // 10.3 alpha: the status lines come after the code finishes.
        let new = b"\x1b]0;\xf0\x9f\x90\x8dcode.py | 10.3.0\x1b\\\x1b[2K\x1b[0Gcode.py output:\r\nhello\r\n\r\nCode done running.\r\n\r\nAuto-reload is on. Simply save files over USB to run them or enter REPL to disable.\r\n\r\nPress any key to enter the REPL. Use CTRL-D to reload.\r\n";
        for text in [&old[..], &new[..]] {
            let s = ConsoleSigns::scan(text);
            assert!(s.waiting_for_key);
            assert!(!s.safe_mode && !s.friendly_prompt && !s.raw_prompt);
        }
        let safe = ConsoleSigns::scan(b"\r\nYou are in safe mode because:\r\nYou pressed the reset button during boot.\r\nPress reset to exit safe mode.\r\n\r\nPress any key to enter the REPL. Use CTRL-D to reload.\r\n");
        assert!(safe.safe_mode && safe.waiting_for_key);
        let prompt = ConsoleSigns::scan(b"\r\nAdafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit Metro M4 Express with samd51j19\r\n>>> ");
        assert!(prompt.friendly_prompt);
        assert_eq!(prompt.banner.unwrap().flavor, Flavor::CircuitPython);
        assert!(ConsoleSigns::scan(b"\r\nraw REPL; CTRL-B to exit\r\n>").raw_prompt);
    }
}
