//! vuint and signed varint (§2.1): 7-bit groups, most significant group first, bit 7 set on
//! every byte but the last. Decoding vuints lives on [`Reader`].

use super::{MpyError, Reader};

/// Append 7-bit groups (collected least significant first) most significant first, with the
/// continuation bit on all but the last byte.
fn push_groups(groups: &[u8], out: &mut Vec<u8>) {
    for (i, g) in groups.iter().enumerate().rev() {
        out.push(g | if i > 0 { 0x80 } else { 0 });
    }
}

/// Append the minimal vuint encoding of `value`.
pub fn encode_vuint(value: u64, out: &mut Vec<u8>) {
    let mut groups = [0u8; 10];
    let mut n = 0;
    let mut v = value;
    loop {
        groups[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    push_groups(&groups[..n], out);
}

/// The number of bytes [`encode_vuint`] writes for `value`.
pub fn vuint_len(value: u64) -> usize {
    let bits = 64 - value.leading_zeros() as usize;
    bits.div_ceil(7).max(1)
}

/// Append the minimal signed-varint encoding of `value` (the `LOAD_CONST_SMALL_INT` operand):
/// two's complement, with bit 6 of the first group as the sign.
pub fn encode_sint(value: i64, out: &mut Vec<u8>) {
    let mut groups = [0u8; 10];
    let mut n = 0;
    let mut v = value;
    loop {
        groups[n] = (v & 0x7F) as u8;
        n += 1;
        v >>= 7; // arithmetic shift keeps the sign
                 // Stop once the rest is pure sign extension and the top group's bit 6 shows the sign.
        let sign_ok = (groups[n - 1] & 0x40 != 0) == (value < 0);
        if (v == 0 || v == -1) && sign_ok {
            break;
        }
    }
    push_groups(&groups[..n], out);
}

/// Decode a signed varint (lenient about length, as the bytecode is kept raw).
pub fn decode_sint(r: &mut Reader<'_>) -> Result<i64, MpyError> {
    let start = r.offset();
    let first = r.byte("a signed varint")?;
    let mut value: i64 = if first & 0x40 != 0 { -1 } else { 0 };
    let mut b = first;
    loop {
        if value.unsigned_abs() >> 56 != 0 {
            return Err(MpyError::VarintOverflow { offset: start });
        }
        value = (value << 7) | i64::from(b & 0x7F);
        if b & 0x80 == 0 {
            return Ok(value);
        }
        b = r.byte("a signed varint")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vu(v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        encode_vuint(v, &mut out);
        out
    }

    fn si(v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        encode_sint(v, &mut out);
        out
    }

    #[test]
    fn vuint_examples_from_the_doc() {
        assert_eq!(vu(0), [0x00]);
        assert_eq!(vu(127), [0x7F]);
        assert_eq!(vu(128), [0x81, 0x00]);
        assert_eq!(vu(247), [0x81, 0x77]);
        assert_eq!(vu(308), [0x82, 0x34]);
        for v in [
            0,
            1,
            127,
            128,
            247,
            308,
            16383,
            16384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let bytes = vu(v);
            assert_eq!(bytes.len(), vuint_len(v));
            let mut r = Reader::new(&bytes, 0);
            assert_eq!(r.vuint("t"), Ok(v));
            assert!(r.is_empty());
        }
    }

    #[test]
    fn vuint_rejects_non_minimal_and_truncated() {
        let mut r = Reader::new(&[0x80, 0x05], 7);
        assert_eq!(
            r.vuint("x"),
            Err(MpyError::NonCanonical {
                offset: 7,
                what: "x"
            })
        );
        let mut r = Reader::new(&[0x81], 3);
        assert!(matches!(
            r.vuint("x"),
            Err(MpyError::Truncated { offset: 4, .. })
        ));
        let long = [0xFFu8; 11];
        assert!(matches!(
            Reader::new(&long, 0).vuint("x"),
            Err(MpyError::VarintOverflow { offset: 0 }) | Err(MpyError::Truncated { .. })
        ));
    }

    #[test]
    fn sint_examples_from_the_doc() {
        assert_eq!(si(48), [0x30]);
        assert_eq!(si(100), [0x80, 0x64]);
        assert_eq!(si(-17), [0x6F]);
        assert_eq!(si(1073741823), [0x83, 0xFF, 0xFF, 0xFF, 0x7F]);
        assert_eq!(si(-1073741824), [0xFC, 0x80, 0x80, 0x80, 0x00]);
        for v in [
            0,
            1,
            -1,
            48,
            63,
            64,
            -64,
            -65,
            100,
            -17,
            1073741823,
            -1073741824,
            i64::from(i32::MIN),
        ] {
            let bytes = si(v);
            let mut r = Reader::new(&bytes, 0);
            assert_eq!(decode_sint(&mut r), Ok(v), "{v}");
            assert!(r.is_empty());
        }
    }
}
