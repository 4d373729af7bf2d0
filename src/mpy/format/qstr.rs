//! qstr table entries (§2.3), the static qstr list (Appendix A) and the qstr pools built into
//! the reference compilers (Appendix B/C).
//!
//! The lists live in `src/mpy/data/` as text and are parsed once on first use.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use super::header::Target;
use super::varint::encode_vuint;
use super::{read_nul_terminated, MpyError, Reader};

const STATIC_QSTRS_TXT: &str = include_str!("../data/static-qstrs.txt");
const POOL_MP_TXT: &str = include_str!("../data/qstr-pool-micropython-1.29.txt");
const POOL_CP_TXT: &str = include_str!("../data/qstr-pool-circuitpython-10.2.1.txt");

/// The static qstr list, indexed from 1 (index 0 is an unused placeholder).
static STATIC: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| parse_static_list(STATIC_QSTRS_TXT));
static STATIC_INDEX: LazyLock<FxHashMap<Vec<u8>, u8>> = LazyLock::new(|| {
    STATIC
        .iter()
        .enumerate()
        .skip(1)
        .filter_map(|(i, s)| u8::try_from(i).ok().map(|i| (s.clone(), i)))
        .collect()
});
static POOL_MP: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| parse_pool(POOL_MP_TXT));
static POOL_CP: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| parse_pool(POOL_CP_TXT));

/// The number of static qstrs (valid static indices are `1..=STATIC_COUNT`).
pub fn static_count() -> usize {
    STATIC.len() - 1
}

/// The text of static qstr `index` (1-based).
pub fn static_text(index: usize) -> Option<&'static [u8]> {
    (index >= 1).then(|| STATIC.get(index).map(Vec::as_slice))?
}

/// The static index of `text`, if it is in the static list.
pub fn static_index(text: &[u8]) -> Option<u8> {
    STATIC_INDEX.get(text).copied()
}

/// Every qstr built into the reference compiler of `target`, in the binary's order. Entry 0 is
/// the null qstr and entries 1..=165 are the static list. The parser's long-string interning
/// rule (§3.4) consults this.
pub fn builtin_pool(target: Target) -> &'static [Vec<u8>] {
    match target {
        Target::MicroPython => &POOL_MP,
        Target::CircuitPython => &POOL_CP,
    }
}

/// Parse a Python single- or double-quoted str repr (the subset the data files use).
fn parse_repr(text: &str) -> Option<Vec<u8>> {
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut out = Vec::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next()? {
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                out.push(u8::from_str_radix(&hex, 16).ok()?);
            }
            other @ ('\\' | '\'' | '"') => out.push(other as u8),
            _ => return None,
        }
    }
    Some(out)
}

fn parse_pool(text: &str) -> Vec<Vec<u8>> {
    // The data files are checked by the tests below; a bad line would show up there.
    text.lines().filter_map(parse_repr).collect()
}

/// Parse `1='', 2=__dir__, 3='\n', …`: comma-separated `index=value` items, a value being a
/// repr or a bare word.
fn parse_static_list(text: &str) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    for line in text.lines() {
        let mut rest = line.trim();
        while !rest.is_empty() {
            let Some((_, after_eq)) = rest.split_once('=') else {
                break;
            };
            let (value, tail) = if let Some(q) = after_eq.strip_prefix('\'') {
                let mut end = None;
                let mut escaped = false;
                for (i, c) in q.char_indices() {
                    match (escaped, c) {
                        (true, _) => escaped = false,
                        (false, '\\') => escaped = true,
                        (false, '\'') => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let Some(end) = end else {
                    break;
                };
                // The repr spans the opening quote, `end` bytes of body and the closing quote.
                let repr = &after_eq[..end + 2];
                (parse_repr(repr).unwrap_or_default(), &q[end + 1..])
            } else {
                let end = after_eq.find(',').unwrap_or(after_eq.len());
                (after_eq.as_bytes()[..end].to_vec(), &after_eq[end..])
            };
            out.push(value);
            rest = tail.trim_start_matches(',').trim_start();
        }
    }
    out
}

/// One entry of a file's qstr table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Qstr {
    /// The bytes of the string (not necessarily UTF-8).
    pub text: Vec<u8>,
    /// Written as a reference into the static list (`(k << 1) | 1`) rather than inline.
    pub static_index: Option<u8>,
}

impl Qstr {
    /// The entry mpy-cross writes for `text`: a static reference whenever the text is in the
    /// static list (§2.3).
    pub fn new(text: &[u8]) -> Qstr {
        Qstr {
            text: text.to_vec(),
            static_index: static_index(text),
        }
    }

    /// Append the entry.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self.static_index {
            Some(k) => encode_vuint((u64::from(k) << 1) | 1, out),
            None => {
                encode_vuint((self.text.len() as u64) << 1, out);
                out.extend_from_slice(&self.text);
                out.push(0);
            }
        }
    }

    /// Decode one entry.
    pub fn decode(r: &mut Reader<'_>) -> Result<Qstr, MpyError> {
        let offset = r.offset();
        let v = r.vuint("a qstr entry")?;
        if v & 1 == 1 {
            let index = v >> 1;
            let text = usize::try_from(index)
                .ok()
                .and_then(static_text)
                .ok_or(MpyError::BadStaticQstr { offset, index })?;
            return Ok(Qstr {
                text: text.to_vec(),
                static_index: u8::try_from(index).ok(),
            });
        }
        let len = usize::try_from(v >> 1).map_err(|_| MpyError::OutOfRange {
            offset,
            what: "a qstr length",
            value: v >> 1,
        })?;
        let text = read_nul_terminated(r, len, "a qstr")?;
        Ok(Qstr {
            text: text.to_vec(),
            static_index: None,
        })
    }
}

/// The file-wide qstr table as the compiler fills it: insertion order, each text once (§3.10).
#[derive(Debug, Clone, Default)]
pub struct QstrTable {
    entries: Vec<Qstr>,
    index: FxHashMap<Vec<u8>, u32>,
}

impl QstrTable {
    /// A table whose entry 0 is the source name (§3.11).
    pub fn new(source_name: &[u8]) -> QstrTable {
        let mut t = QstrTable::default();
        t.intern(source_name);
        t
    }

    /// The index of `text`, adding it at the end if new.
    pub fn intern(&mut self, text: &[u8]) -> u32 {
        if let Some(&i) = self.index.get(text) {
            return i;
        }
        let i = self.entries.len() as u32;
        self.entries.push(Qstr::new(text));
        self.index.insert(text.to_vec(), i);
        i
    }

    /// The entries in index order.
    pub fn entries(&self) -> &[Qstr] {
        &self.entries
    }

    /// Consume the table.
    pub fn into_entries(self) -> Vec<Qstr> {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_list_matches_appendix_a() {
        assert_eq!(static_count(), 165);
        assert_eq!(static_text(1), Some(&b""[..]));
        assert_eq!(static_text(3), Some(&b"\n"[..]));
        assert_eq!(static_text(4), Some(&b" "[..]));
        assert_eq!(static_text(5), Some(&b"*"[..]));
        assert_eq!(static_text(7), Some(&b"<module>"[..]));
        assert_eq!(static_text(123), Some(&b"print"[..]));
        assert_eq!(static_text(161), Some(&b"utf-8"[..]));
        assert_eq!(static_text(165), Some(&b"zip"[..]));
        assert_eq!(static_text(0), None);
        assert_eq!(static_text(166), None);
    }

    #[test]
    fn pools_start_with_the_static_list() {
        for target in [Target::MicroPython, Target::CircuitPython] {
            let pool = builtin_pool(target);
            for (i, text) in pool.iter().enumerate().take(166).skip(1) {
                assert_eq!(Some(text.as_slice()), static_text(i), "{target:?} {i}");
            }
        }
        assert_eq!(builtin_pool(Target::MicroPython).len(), 582);
        assert_eq!(builtin_pool(Target::CircuitPython).len(), 575);
        assert!(builtin_pool(Target::MicroPython)
            .iter()
            .any(|s| s == b"maximum recursion depth exceeded"));
        assert!(builtin_pool(Target::CircuitPython)
            .iter()
            .any(|s| s == b"TimeoutError"));
    }

    #[test]
    fn entries_encode_like_the_worked_example() {
        // §2.8: q0 "t/a.py" = 0C 74 2F 61 2E 70 79 00; <module> = 0F; print = 81 77.
        let mut out = Vec::new();
        Qstr::new(b"t/a.py").encode(&mut out);
        Qstr::new(b"<module>").encode(&mut out);
        Qstr::new(b"print").encode(&mut out);
        assert_eq!(
            out,
            [0x0C, 0x74, 0x2F, 0x61, 0x2E, 0x70, 0x79, 0x00, 0x0F, 0x81, 0x77]
        );
        let mut r = Reader::new(&out, 0);
        assert_eq!(Qstr::decode(&mut r), Ok(Qstr::new(b"t/a.py")));
        assert_eq!(Qstr::decode(&mut r), Ok(Qstr::new(b"<module>")));
        assert_eq!(Qstr::decode(&mut r), Ok(Qstr::new(b"print")));
        assert!(matches!(
            Qstr::decode(&mut Reader::new(&[0x82, 0x4D], 0)),
            Err(MpyError::BadStaticQstr { index: 166, .. })
        ));
        assert!(matches!(
            Qstr::decode(&mut Reader::new(&[0x02, 0x61, 0x62], 0)),
            Err(MpyError::MissingNul { offset: 2 })
        ));
    }

    #[test]
    fn table_interns_in_insertion_order() {
        let mut t = QstrTable::new(b"t/a.py");
        assert_eq!(t.intern(b"<module>"), 1);
        assert_eq!(t.intern(b"d"), 2);
        assert_eq!(t.intern(b"<module>"), 1);
        assert_eq!(t.intern(b"t/a.py"), 0);
        assert_eq!(t.entries().len(), 3);
    }
}
