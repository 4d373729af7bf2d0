//! Jump offsets (§2.1): relative to the byte after the offset field, in a 1-byte form
//! (bit 7 clear) or a 2-byte form (bit 7 of the first byte set, 15 bits little-endian-ish:
//! `(b0 & 0x7F) | b1 << 7`). Signed opcodes bias the raw value by 0x40 / 0x4000.

use super::{MpyError, Reader};

/// A decoded or to-be-encoded jump offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JumpOffset {
    /// The offset relative to the byte after the offset field.
    pub value: i64,
    /// Whether the 2-byte form is used.
    pub wide: bool,
}

impl JumpOffset {
    /// The number of offset bytes.
    pub fn len(self) -> usize {
        if self.wide {
            2
        } else {
            1
        }
    }

    /// Always false: an offset has at least one byte (for clippy's `len_without_is_empty`).
    pub fn is_empty(self) -> bool {
        false
    }
}

/// Whether `value` fits the 1-byte form.
pub fn fits_short(signed: bool, value: i64) -> bool {
    if signed {
        (-0x40..0x40).contains(&value)
    } else {
        (0..0x80).contains(&value)
    }
}

/// Whether `value` fits the 2-byte form.
pub fn fits_wide(signed: bool, value: i64) -> bool {
    if signed {
        (-0x4000..0x4000).contains(&value)
    } else {
        (0..0x8000).contains(&value)
    }
}

/// The offset the emitter writes for a jump whose provisional distance is `d = label − here − 2`
/// (§3.9): the 1-byte form with `d` if it fits, else the 2-byte form with `d − 1` (one more
/// offset byte moves the reference point one byte on).
pub fn sized_jump(signed: bool, d: i64) -> JumpOffset {
    if fits_short(signed, d) {
        JumpOffset {
            value: d,
            wide: false,
        }
    } else {
        JumpOffset {
            value: d - 1,
            wide: true,
        }
    }
}

/// Append an offset. Returns `false` (writing nothing) if the value does not fit the form.
pub fn encode_jump(signed: bool, off: JumpOffset, out: &mut Vec<u8>) -> bool {
    let fits = if off.wide {
        fits_wide(signed, off.value)
    } else {
        fits_short(signed, off.value)
    };
    if !fits {
        return false;
    }
    if off.wide {
        let raw = (off.value + if signed { 0x4000 } else { 0 }) as u16;
        out.push(0x80 | (raw & 0x7F) as u8);
        out.push((raw >> 7) as u8);
    } else {
        out.push((off.value + if signed { 0x40 } else { 0 }) as u8);
    }
    true
}

/// Decode an offset.
pub fn decode_jump(signed: bool, r: &mut Reader<'_>) -> Result<JumpOffset, MpyError> {
    let b0 = r.byte("a jump offset")?;
    if b0 & 0x80 == 0 {
        let value = i64::from(b0) - if signed { 0x40 } else { 0 };
        return Ok(JumpOffset { value, wide: false });
    }
    let b1 = r.byte("a jump offset")?;
    let raw = i64::from(b0 & 0x7F) | (i64::from(b1) << 7);
    let value = raw - if signed { 0x4000 } else { 0 };
    Ok(JumpOffset { value, wide: true })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(signed: bool, value: i64, wide: bool) -> Vec<u8> {
        let mut out = Vec::new();
        assert!(encode_jump(signed, JumpOffset { value, wide }, &mut out));
        out
    }

    #[test]
    fn examples_from_the_doc() {
        // §3.9: POP_JUMP_IF_FALSE +62 = 44 7E, +63 = 44 BF 80; FOR_ITER +126 = 4B 7E, +127 = 4B FF 00.
        assert_eq!(enc(true, 62, false), [0x7E]);
        assert_eq!(enc(true, 63, true), [0xBF, 0x80]);
        assert_eq!(enc(false, 126, false), [0x7E]);
        assert_eq!(enc(false, 127, true), [0xFF, 0x00]);
        // §3.6.12: UNWIND_JUMP 4D = +13, 33 = −13; §3.6.4 JUMP 45 = +5, POP_JUMP_IF_TRUE 36 = −10.
        assert_eq!(enc(true, 13, false), [0x4D]);
        assert_eq!(enc(true, -13, false), [0x33]);
        assert_eq!(enc(true, -10, false), [0x36]);
    }

    #[test]
    fn round_trip_and_ranges() {
        for signed in [false, true] {
            let (lo, hi) = if signed {
                (-0x4000, 0x3FFF)
            } else {
                (0, 0x7FFF)
            };
            for value in [lo, lo + 1, -65, -64, -1, 0, 1, 63, 64, 127, 128, hi] {
                for wide in [false, true] {
                    let off = JumpOffset { value, wide };
                    let mut out = Vec::new();
                    let ok = encode_jump(signed, off, &mut out);
                    let fits = if wide {
                        fits_wide(signed, value)
                    } else {
                        fits_short(signed, value)
                    };
                    assert_eq!(ok, fits, "{signed} {value} {wide}");
                    if ok {
                        assert_eq!(out.len(), off.len());
                        let mut r = Reader::new(&out, 0);
                        assert_eq!(decode_jump(signed, &mut r), Ok(off));
                    }
                }
            }
        }
        assert!(!encode_jump(
            false,
            JumpOffset {
                value: -1,
                wide: true
            },
            &mut Vec::new()
        ));
    }

    #[test]
    fn sizing_rule() {
        assert_eq!(
            sized_jump(true, 63),
            JumpOffset {
                value: 63,
                wide: false
            }
        );
        assert_eq!(
            sized_jump(true, 64),
            JumpOffset {
                value: 63,
                wide: true
            }
        );
        assert_eq!(
            sized_jump(true, -65),
            JumpOffset {
                value: -66,
                wide: true
            }
        );
        assert_eq!(
            sized_jump(false, 128),
            JumpOffset {
                value: 127,
                wide: true
            }
        );
    }
}
