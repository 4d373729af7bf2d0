//! The line-number table in a prelude's source info (§2.6): a list of (+bytes, +lines) steps
//! in 1-byte (`0LLBBBBB`) or 2-byte (`1LLLBBBB LLLLLLLL`) entries, starting at (0, line 1).
//!
//! Entries are kept one by one, with their width, because mpy-cross neither merges zero-byte
//! entries nor always picks the narrowest form (§3.8): the model must round-trip exactly.

use super::{MpyError, Reader};

/// One line-table entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineEntry {
    /// Bytecode bytes advanced (0..=31 short, 0..=15 wide).
    pub bytes: u8,
    /// Lines advanced (0..=3 short, 0..=2047 wide).
    pub lines: u16,
    /// Whether this is a 2-byte entry.
    pub wide: bool,
}

/// A raw code's line-number table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LineTable {
    /// The entries in file order.
    pub entries: Vec<LineEntry>,
}

impl LineTable {
    /// Record one "line changed" event, `delta_bytes` bytecode bytes and `delta_lines` lines
    /// after the previous one, split into entries by the compiler's chunking rule (§2.6).
    pub fn push_event(&mut self, mut delta_bytes: u64, mut delta_lines: u64) {
        while delta_bytes > 0 || delta_lines > 0 {
            let entry = if delta_lines <= 6 || delta_bytes > 15 {
                let b = delta_bytes.min(31);
                let l = if b < delta_bytes {
                    0
                } else {
                    delta_lines.min(3)
                };
                LineEntry {
                    bytes: b as u8,
                    lines: l as u16,
                    wide: false,
                }
            } else {
                LineEntry {
                    bytes: delta_bytes.min(15) as u8,
                    lines: delta_lines.min(2047) as u16,
                    wide: true,
                }
            };
            delta_bytes -= u64::from(entry.bytes);
            delta_lines -= u64::from(entry.lines);
            self.entries.push(entry);
        }
    }

    /// The encoded size in bytes.
    pub fn encoded_len(&self) -> usize {
        self.entries.iter().map(|e| 1 + usize::from(e.wide)).sum()
    }

    /// Append the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        for e in &self.entries {
            if e.wide {
                out.push(0x80 | (((e.lines >> 8) as u8 & 7) << 4) | (e.bytes & 0x0F));
                out.push(e.lines as u8);
            } else {
                out.push(((e.lines as u8 & 3) << 5) | (e.bytes & 0x1F));
            }
        }
    }

    /// Decode everything left in `r` as a line table.
    pub fn decode(r: &mut Reader<'_>) -> Result<LineTable, MpyError> {
        let mut entries = Vec::new();
        while !r.is_empty() {
            let b0 = r.byte("a line-table entry")?;
            if b0 & 0x80 == 0 {
                entries.push(LineEntry {
                    bytes: b0 & 0x1F,
                    lines: u16::from((b0 >> 5) & 3),
                    wide: false,
                });
            } else {
                let b1 = r.byte("a 2-byte line-table entry")?;
                entries.push(LineEntry {
                    bytes: b0 & 0x0F,
                    lines: (u16::from((b0 >> 4) & 7) << 8) | u16::from(b1),
                    wide: true,
                });
            }
        }
        Ok(LineTable { entries })
    }

    /// The cumulative (bytecode offset, line) reached after each entry.
    pub fn pairs(&self) -> Vec<(u64, u64)> {
        let (mut offset, mut line) = (0u64, 1u64);
        self.entries
            .iter()
            .map(|e| {
                offset += u64::from(e.bytes);
                line += u64::from(e.lines);
                (offset, line)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(db: u64, dl: u64) -> Vec<u8> {
        let mut t = LineTable::default();
        t.push_event(db, dl);
        let mut out = Vec::new();
        t.encode(&mut out);
        assert_eq!(out.len(), t.encoded_len());
        out
    }

    #[test]
    fn chunking_examples_from_the_doc() {
        assert_eq!(event(4, 3), [0x64]);
        assert_eq!(event(0, 6), [0x60, 0x60]);
        assert_eq!(event(4, 7), [0x84, 0x07]);
        assert_eq!(event(4, 13), [0x84, 0x0D]);
        assert_eq!(event(8, 3001), [0xF8, 0xFF, 0xB0, 0xBA]);
        // §2.8 module: +3 bytes +1 line, +13 bytes +2 lines → 23 4D.
        let mut t = LineTable::default();
        t.push_event(3, 1);
        t.push_event(13, 2);
        let mut out = Vec::new();
        t.encode(&mut out);
        assert_eq!(out, [0x23, 0x4D]);
        assert_eq!(t.pairs(), [(3, 2), (16, 4)]);
    }

    #[test]
    fn long_byte_gaps_split_before_lines() {
        // 40 bytes and 2 lines: 31 bytes alone, then 9 bytes with the 2 lines.
        assert_eq!(event(40, 2), [0x1F, 0x49]);
        // 20 bytes and 10 lines: ΔB > 15 forces a short entry (b=20, l=3) first, then the
        // remaining 7 lines need the wide form.
        assert_eq!(event(20, 10), [0x74, 0x80, 0x07]);
    }

    #[test]
    fn decode_round_trip() {
        let bytes = [0x23, 0x4D, 0x84, 0x07, 0x00, 0xF8, 0xFF, 0x60];
        let t = LineTable::decode(&mut Reader::new(&bytes, 0)).expect("decodes");
        let mut out = Vec::new();
        t.encode(&mut out);
        assert_eq!(out, bytes);
        assert!(matches!(
            LineTable::decode(&mut Reader::new(&[0x23, 0x84], 10)),
            Err(MpyError::Truncated { offset: 12, .. })
        ));
    }
}
