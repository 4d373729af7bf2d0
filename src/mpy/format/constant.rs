//! Constant objects (§2.4): the entries of a file's object table, with tuples nesting
//! recursively.
//!
//! Numbers are kept as the exact text the file stores (ints in decimal, floats and complex in
//! MicroPython's repr), because that text *is* the format; turning it into numbers is the
//! compiler's business (see `src/mpy/float/`).

use std::fmt::{self, Write as _};

use rustc_hash::FxHashMap;

use super::varint::encode_vuint;
use super::{read_nul_terminated, MpyError, Reader};

/// The deepest a number may sit inside constant tuples when mpy-cross 1.29 saves them: an
/// int, float or complex enclosed by 710 tuples fails with `RuntimeError: maximum recursion
/// depth exceeded`. Measured: `((…(1,),…),)` 709 levels deep saves and 710 does not, with
/// any number type, any other items and any code around it; tuples of only strings, bytes,
/// `None`, `True`, `...` or empty tuples save at any depth the parser reaches (mpy-cross
/// checks its stack while it writes a number's text, not while it walks the tuples).
/// [`Const::number_depth`] counts the levels.
pub const MAX_SAVED_NUMBER_DEPTH: usize = 709;

/// Tuples nest at most this deep in files this reader accepts: as deep as both compilers
/// write tuples holding numbers (tuples of only strings and the like may be deeper there, but
/// reading those recursively would need a larger stack than a reader's thread may have).
const MAX_DEPTH: usize = MAX_SAVED_NUMBER_DEPTH;

/// One constant object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Const {
    /// `None` (type 1; only inside tuples).
    None,
    /// `False` (type 2).
    False,
    /// `True` (type 3).
    True,
    /// `...` (type 4).
    Ellipsis,
    /// A `str` that is not a qstr (type 5); the raw source bytes.
    Str(Vec<u8>),
    /// A `bytes` literal (type 6).
    Bytes(Vec<u8>),
    /// An int (type 7) as decimal text with an optional leading `-`.
    Int(String),
    /// A float (type 8) in MicroPython's repr (`1e+100`, `2.5`, `inf`, `-0.0`).
    Float(String),
    /// A complex number (type 9) in MicroPython's repr (`2j`, `1e-05j`).
    Complex(String),
    /// A tuple (type 10) of constants.
    Tuple(Vec<Const>),
}

impl Const {
    /// The type code written before the payload.
    pub fn type_code(&self) -> u8 {
        match self {
            Const::None => 1,
            Const::False => 2,
            Const::True => 3,
            Const::Ellipsis => 4,
            Const::Str(_) => 5,
            Const::Bytes(_) => 6,
            Const::Int(_) => 7,
            Const::Float(_) => 8,
            Const::Complex(_) => 9,
            Const::Tuple(_) => 10,
        }
    }

    /// How many tuples enclose the most deeply nested number (int, float or complex) of this
    /// constant: 0 for a number itself or a constant with none, 1 for `(1,)`. Iterative, so
    /// any depth is safe on any stack.
    pub fn number_depth(&self) -> usize {
        if !matches!(self, Const::Tuple(_)) {
            // Most entries; no walk (and no allocation) for them.
            return 0;
        }
        let mut deepest = 0;
        let mut pending = vec![(self, 0)];
        while let Some((c, enclosing)) = pending.pop() {
            match c {
                Const::Int(_) | Const::Float(_) | Const::Complex(_) => {
                    deepest = deepest.max(enclosing);
                }
                Const::Tuple(items) => pending.extend(items.iter().map(|i| (i, enclosing + 1))),
                _ => {}
            }
        }
        deepest
    }

    /// Append the entry (type code and payload, tuples recursively).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.type_code());
        match self {
            Const::None | Const::False | Const::True | Const::Ellipsis => {}
            Const::Str(b) | Const::Bytes(b) => {
                encode_vuint(b.len() as u64, out);
                out.extend_from_slice(b);
                out.push(0);
            }
            Const::Int(t) | Const::Float(t) | Const::Complex(t) => {
                encode_vuint(t.len() as u64, out);
                out.extend_from_slice(t.as_bytes());
            }
            Const::Tuple(items) => {
                encode_vuint(items.len() as u64, out);
                for item in items {
                    item.encode(out);
                }
            }
        }
    }

    /// Decode one entry.
    pub fn decode(r: &mut Reader<'_>) -> Result<Const, MpyError> {
        Self::decode_at(r, 0)
    }

    fn decode_at(r: &mut Reader<'_>, depth: usize) -> Result<Const, MpyError> {
        let offset = r.offset();
        if depth > MAX_DEPTH {
            return Err(MpyError::TooDeep { offset });
        }
        let code = r.byte("a constant object")?;
        let max = r.remaining() as u64;
        Ok(match code {
            1 => Const::None,
            2 => Const::False,
            3 => Const::True,
            4 => Const::Ellipsis,
            5 | 6 => {
                let len = r.vuint_max(max, "a constant length")?;
                let b = read_nul_terminated(r, len, "a str/bytes constant")?.to_vec();
                if code == 5 {
                    Const::Str(b)
                } else {
                    Const::Bytes(b)
                }
            }
            7..=9 => {
                let len = r.vuint_max(max, "a constant length")?;
                let at = r.offset();
                let raw = r.bytes(len, "a number constant")?;
                let what = ["int", "float", "complex"][usize::from(code - 7)];
                let ok = if code == 7 {
                    let digits = raw.strip_prefix(b"-").unwrap_or(raw);
                    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
                } else {
                    !raw.is_empty() && raw.iter().all(u8::is_ascii_graphic)
                };
                let text = std::str::from_utf8(raw)
                    .ok()
                    .filter(|_| ok)
                    .ok_or(MpyError::BadConstText { offset: at, what })?
                    .to_owned();
                match code {
                    7 => Const::Int(text),
                    8 => Const::Float(text),
                    _ => Const::Complex(text),
                }
            }
            10 => {
                let n = r.vuint_max(max, "a tuple length")?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(Self::decode_at(r, depth + 1)?);
                }
                Const::Tuple(items)
            }
            _ => return Err(MpyError::BadConstType { offset, code }),
        })
    }

    /// MicroPython's strict equality, which decides constant-table deduplication (§2.4): same
    /// type and equal value, tuples element-wise. Because every number is kept in the exact
    /// repr mpy-cross writes, this is equality of type and text: `0.0` and `-0.0` stay
    /// distinct, `1` and `1.0` too, and two NaNs *are* merged here, as two uses of `math.nan`'s
    /// one shared object merge (observed with mpy-cross 1.29: `a = math.nan; b = math.nan`
    /// gives one object). NaNs that are distinct objects are [`ConstTable::add_object`]'s.
    pub fn strictly_equal(&self, other: &Const) -> bool {
        self == other
    }
}

/// Write `bytes` as the body of a Python-style quoted literal: printable ASCII as is, the rest
/// escaped, so the output is stable and free of control characters.
pub fn escape_bytes(bytes: &[u8], quote: char, out: &mut String) {
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            _ if char::from(b) == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7E => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

impl fmt::Display for Const {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Const::None => f.write_str("None"),
            Const::False => f.write_str("False"),
            Const::True => f.write_str("True"),
            Const::Ellipsis => f.write_str("Ellipsis"),
            Const::Str(b) | Const::Bytes(b) => {
                let mut s = String::new();
                if matches!(self, Const::Bytes(_)) {
                    s.push('b');
                }
                s.push('\'');
                escape_bytes(b, '\'', &mut s);
                s.push('\'');
                f.write_str(&s)
            }
            Const::Int(t) | Const::Float(t) | Const::Complex(t) => f.write_str(t),
            Const::Tuple(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                if items.len() == 1 {
                    f.write_str(",")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// The file-wide object table as the compiler fills it: insertion order, deduplicated by
/// [`Const::strictly_equal`] (§2.4, §3.10).
#[derive(Debug, Clone, Default)]
pub struct ConstTable {
    entries: Vec<Const>,
    /// Entry index by value and NaN objects (see [`ConstTable::add_object`]): strict equality
    /// is `==` (see [`Const::strictly_equal`]), and a scan of the entries made large modules
    /// quadratic.
    index: FxHashMap<(Const, Vec<u32>), u32>,
}

impl ConstTable {
    /// The index of a strictly equal entry, adding `c` at the end if there is none. Every NaN
    /// in `c` counts as `math.nan`'s shared object.
    pub fn add(&mut self, c: Const) -> u32 {
        self.add_object(c, Vec::new())
    }

    /// As [`ConstTable::add`] for a constant whose NaNs may be distinct objects: `nan_ids`
    /// names, in depth-first order, the object of each NaN in `c` (0 for `math.nan`'s, missing
    /// trailing ones count as 0). A NaN equals no value, not even itself, so mpy-cross merges
    /// it with the same object only: entries merge when strictly equal *and* made of the same
    /// NaN objects (observed: two folded `math.inf - math.inf` give two entries).
    pub fn add_object(&mut self, c: Const, mut nan_ids: Vec<u32>) -> u32 {
        while nan_ids.last() == Some(&0) {
            nan_ids.pop();
        }
        let key = (c, nan_ids);
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.entries.len() as u32;
        self.entries.push(key.0.clone());
        self.index.insert(key, i);
        i
    }

    /// The entries in index order.
    pub fn entries(&self) -> &[Const] {
        &self.entries
    }

    /// Consume the table.
    pub fn into_entries(self) -> Vec<Const> {
        self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(c: &Const) -> Vec<u8> {
        let mut out = Vec::new();
        c.encode(&mut out);
        let mut r = Reader::new(&out, 0);
        assert_eq!(Const::decode(&mut r).as_ref(), Ok(c));
        assert!(r.is_empty());
        out
    }

    #[test]
    fn encodings_from_the_doc() {
        // §2.4: inside a tuple, 1 is `07 01 31` and a short string `05 01 78 00`.
        assert_eq!(round_trip(&Const::Int("1".into())), [0x07, 0x01, 0x31]);
        assert_eq!(
            round_trip(&Const::Str(b"x".to_vec())),
            [0x05, 0x01, 0x78, 0x00]
        );
        let big = round_trip(&Const::Int("1099511627776".into()));
        assert_eq!(&big[..2], [0x07, 0x0D]);
        let t = Const::Tuple(vec![
            Const::None,
            Const::True,
            Const::Float("2.5".into()),
            Const::Tuple(vec![]),
            Const::Bytes(vec![0, 0xFF]),
            Const::Complex("1e-05j".into()),
            Const::Ellipsis,
            Const::False,
        ]);
        let bytes = round_trip(&t);
        assert_eq!(&bytes[..4], [0x0A, 0x08, 0x01, 0x03]);
        assert_eq!(
            t.to_string(),
            "(None, True, 2.5, (), b'\\x00\\xff', 1e-05j, Ellipsis, False)"
        );
    }

    #[test]
    fn decode_errors() {
        assert!(matches!(
            Const::decode(&mut Reader::new(&[0x00], 4)),
            Err(MpyError::BadConstType { offset: 4, code: 0 })
        ));
        assert!(matches!(
            Const::decode(&mut Reader::new(&[0x07, 0x02, b'1', b'x'], 0)),
            Err(MpyError::BadConstText {
                offset: 2,
                what: "int"
            })
        ));
        let deep: Vec<u8> = std::iter::repeat_n([0x0A, 0x01], MAX_DEPTH + 2)
            .flatten()
            .collect();
        assert!(matches!(
            Const::decode(&mut Reader::new(&deep, 0)),
            Err(MpyError::TooDeep { .. })
        ));
    }

    #[test]
    fn number_depth_counts_tuples_around_numbers_only() {
        let nest = |leaf: Const, n: usize| (0..n).fold(leaf, |c, _| Const::Tuple(vec![c]));
        assert_eq!(Const::Int("1".into()).number_depth(), 0);
        assert_eq!(nest(Const::Int("1".into()), 709).number_depth(), 709);
        assert_eq!(nest(Const::Complex("1j".into()), 3).number_depth(), 3);
        assert_eq!(nest(Const::Str(b"a".to_vec()), 900).number_depth(), 0);
        assert_eq!(nest(Const::Tuple(vec![]), 900).number_depth(), 0);
        // The deepest number counts, wherever it sits.
        let mixed = Const::Tuple(vec![
            nest(Const::Float("1.5".into()), 2),
            Const::Int("2".into()),
            nest(Const::None, 5),
        ]);
        assert_eq!(mixed.number_depth(), 3);
    }

    #[test]
    fn strict_equality_dedup() {
        let mut t = ConstTable::default();
        assert_eq!(t.add(Const::Float("1.5".into())), 0);
        assert_eq!(t.add(Const::Float("0.0".into())), 1);
        assert_eq!(t.add(Const::Float("-0.0".into())), 2);
        assert_eq!(t.add(Const::Int("1".into())), 3);
        assert_eq!(t.add(Const::Tuple(vec![Const::Int("1".into())])), 4);
        assert_eq!(t.add(Const::Tuple(vec![Const::True])), 5);
        assert_eq!(t.add(Const::Float("1.5".into())), 0);
        assert_eq!(t.add(Const::Tuple(vec![Const::Int("1".into())])), 4);
        assert_eq!(t.add(Const::Float("nan".into())), 6);
        assert_eq!(t.add(Const::Float("nan".into())), 6);
        assert_eq!(t.add_object(Const::Float("nan".into()), vec![0]), 6);
        assert_eq!(t.add_object(Const::Float("nan".into()), vec![1]), 7);
        assert_eq!(t.add_object(Const::Float("nan".into()), vec![2]), 8);
        assert_eq!(t.add_object(Const::Float("nan".into()), vec![1]), 7);
        let pair = || Const::Tuple(vec![Const::Float("nan".into()), Const::Float("nan".into())]);
        assert_eq!(t.add_object(pair(), vec![1, 0]), 9);
        assert_eq!(t.add_object(pair(), vec![0, 1]), 10);
        assert_eq!(t.add_object(pair(), vec![1]), 9);
        assert_eq!(t.add(pair()), 11);
        assert_eq!(t.add_object(pair(), vec![0, 0]), 11);
    }
}
