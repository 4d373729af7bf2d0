//! String and bytes literals: prefixes, quoting and escape decoding.

use super::{Cursor, LexError};

/// The prefix of a literal (`b`, `r`, `u`, `f`, `t` and the two-letter combinations
/// MicroPython accepts; upper-case prefixes are not literals there).
pub(crate) struct Prefix {
    pub(crate) len: usize,
    pub(crate) raw: bool,
    pub(crate) bytes: bool,
    pub(crate) fstring: bool,
    /// A t-string (only recognised when `tstrings` is on: MicroPython 1.29, not CircuitPython).
    pub(crate) template: bool,
}

fn prefix_at(cur: &Cursor, tstrings: bool) -> Option<Prefix> {
    let is_quote = |k: usize| matches!(cur.peek(k), Some(b'\'' | b'"'));
    let p = |raw, bytes, fstring, len| Prefix {
        len,
        raw,
        bytes,
        fstring,
        template: false,
    };
    let t = |raw, len| Prefix {
        template: true,
        ..p(raw, false, false, len)
    };
    if is_quote(0) {
        return Some(p(false, false, false, 0));
    }
    let two = (cur.peek(0), cur.peek(1));
    if is_quote(2) {
        match two {
            (Some(b'b'), Some(b'r')) | (Some(b'r'), Some(b'b')) => {
                return Some(p(true, true, false, 2))
            }
            (Some(b'r'), Some(b'f')) | (Some(b'f'), Some(b'r')) => {
                return Some(p(true, false, true, 2))
            }
            (Some(b'r'), Some(b't')) | (Some(b't'), Some(b'r')) if tstrings => {
                return Some(t(true, 2))
            }
            _ => {}
        }
    }
    if is_quote(1) {
        return match two.0 {
            Some(b'u') => Some(p(false, false, false, 1)),
            Some(b'b') => Some(p(false, true, false, 1)),
            Some(b'r') => Some(p(true, false, false, 1)),
            Some(b'f') => Some(p(false, false, true, 1)),
            Some(b't') if tstrings => Some(t(false, 1)),
            _ => None,
        };
    }
    None
}

pub(crate) fn starts_literal(cur: &Cursor, tstrings: bool) -> bool {
    prefix_at(cur, tstrings).is_some()
}

pub(crate) fn read_prefix(cur: &Cursor, tstrings: bool) -> Prefix {
    prefix_at(cur, tstrings).unwrap_or(Prefix {
        len: 0,
        raw: false,
        bytes: false,
        fstring: false,
        template: false,
    })
}

/// One literal piece as read from the source.
pub(crate) struct Piece {
    /// Decoded value (or, for f-strings, the raw body with escapes still in it).
    pub(crate) value: Vec<u8>,
    /// The closing quote(s) were missing.
    pub(crate) unterminated: bool,
    /// A bad escape (short hex, code point out of range) made the token invalid.
    pub(crate) invalid: bool,
    /// An escape that raises instead of producing a token.
    pub(crate) raise: Option<LexError>,
}

/// Read one quoted literal starting at the quote. With `keep_escapes` (f-strings, raw
/// strings) backslashes are kept with the bytes they escape; `raw` makes a backslash pair
/// with the next byte only.
pub(crate) fn read_literal(cur: &mut Cursor, keep_escapes: bool, bytes: bool, raw: bool) -> Piece {
    let quote = cur.peek(0).unwrap_or(b'\'');
    cur.bump();
    let triple = cur.peek(0) == Some(quote) && cur.peek(1) == Some(quote);
    let need = if triple {
        cur.bump();
        cur.bump();
        3
    } else {
        1
    };
    let mut body = Vec::new();
    let mut closing = 0;
    while !cur.at_end() && (triple || !cur.is(b'\n')) && closing < need {
        let b = cur.peek(0).unwrap_or(0);
        if b == quote {
            closing += 1;
        } else {
            closing = 0;
        }
        let len = if b != b'\\' {
            1
        } else if raw {
            2
        } else {
            escape_len(&cur.src, cur.pos, bytes)
        };
        for _ in 0..len {
            body.extend(cur.peek(0));
            cur.bump();
        }
    }
    let unterminated = closing < need;
    body.truncate(body.len() - closing.min(body.len()));
    if keep_escapes {
        return Piece {
            value: body,
            unterminated,
            invalid: false,
            raise: None,
        };
    }
    match decode(&body, bytes, false) {
        Ok(d) => Piece {
            value: d.value,
            unterminated,
            invalid: d.invalid,
            raise: None,
        },
        Err(e) => Piece {
            value: Vec::new(),
            unterminated,
            invalid: false,
            raise: Some(e),
        },
    }
}

/// How many bytes the escape starting with the backslash at `s[i]` spans in a literal that
/// is not raw. Observed with mpy-cross 1.29: `\x`, `\u` and `\U` (the latter two not in
/// bytes) read up to 2, 4 or 8 hex digits, and the first other character ends the escape
/// *and is swallowed by it* (even a quote or a newline): `'\x4'\N{DASH}'` is one literal
/// that raises, `'\x4\N{DASH}'` one without a `\N` escape.
pub(crate) fn escape_len(s: &[u8], i: usize, bytes: bool) -> usize {
    let digits = match s.get(i + 1) {
        None => return 1,
        Some(b'x') => 2,
        Some(b'u') if !bytes => 4,
        Some(b'U') if !bytes => 8,
        Some(_) => return 2,
    };
    let mut j = i + 2;
    for _ in 0..digits {
        match s.get(j) {
            Some(d) if d.is_ascii_hexdigit() => j += 1,
            Some(_) => return j + 1 - i,
            None => break,
        }
    }
    j - i
}

/// Result of decoding escapes.
pub(crate) struct Decoded {
    pub(crate) value: Vec<u8>,
    pub(crate) invalid: bool,
}

fn push_utf8(out: &mut Vec<u8>, c: u32) {
    // Encoded by hand because surrogates (which `char` refuses) are valid here.
    if c < 0x80 {
        out.push(c as u8);
    } else if c < 0x800 {
        out.push(0xc0 | (c >> 6) as u8);
        out.push(0x80 | (c & 0x3f) as u8);
    } else if c < 0x10000 {
        out.push(0xe0 | (c >> 12) as u8);
        out.push(0x80 | ((c >> 6) & 0x3f) as u8);
        out.push(0x80 | (c & 0x3f) as u8);
    } else {
        out.push(0xf0 | (c >> 18) as u8);
        out.push(0x80 | ((c >> 12) & 0x3f) as u8);
        out.push(0x80 | ((c >> 6) & 0x3f) as u8);
        out.push(0x80 | (c & 0x3f) as u8);
    }
}

/// Decode the escapes of a literal body (quotes already removed). `raw` keeps every
/// backslash.
pub(crate) fn decode(body: &[u8], bytes: bool, raw: bool) -> Result<Decoded, LexError> {
    let mut out = Vec::with_capacity(body.len());
    let mut invalid = false;
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        i += 1;
        if b != b'\\' || raw {
            out.push(b);
            continue;
        }
        let Some(&c) = body.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        let code: Option<u32> = match c {
            b'\n' => None,
            b'\\' | b'\'' | b'"' => Some(c as u32),
            b'a' => Some(7),
            b'b' => Some(8),
            b't' => Some(9),
            b'n' => Some(10),
            b'v' => Some(11),
            b'f' => Some(12),
            b'r' => Some(13),
            b'u' | b'U' if bytes => {
                out.push(b'\\');
                Some(c as u32)
            }
            b'x' | b'u' | b'U' => {
                let n = match c {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let mut v: u32 = 0;
                let mut ok = true;
                for _ in 0..n {
                    match body.get(i).and_then(|d| (*d as char).to_digit(16)) {
                        Some(d) => {
                            v = v.wrapping_shl(4).wrapping_add(d);
                            i += 1;
                        }
                        None => {
                            // The character that ends the escape early is swallowed.
                            ok = false;
                            i = (i + 1).min(body.len());
                            break;
                        }
                    }
                }
                if !ok {
                    invalid = true;
                }
                Some(v)
            }
            b'N' => return Err(LexError::UnicodeNameEscape),
            b'0'..=b'7' => {
                let mut v = (c - b'0') as u32;
                let mut digits = 1;
                while digits < 3 {
                    match body.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + (d - b'0') as u32;
                            i += 1;
                            digits += 1;
                        }
                        _ => break,
                    }
                }
                Some(v)
            }
            _ => {
                // Unknown escapes are kept verbatim, backslash included.
                out.push(b'\\');
                Some(c as u32)
            }
        };
        if let Some(v) = code {
            if bytes {
                if v < 0x100 {
                    out.push(v as u8);
                } else {
                    invalid = true;
                }
            } else if v < 0x11_0000 {
                push_utf8(&mut out, v);
            } else {
                invalid = true;
            }
        }
    }
    Ok(Decoded {
        value: out,
        invalid,
    })
}
