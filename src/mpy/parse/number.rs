//! Number literals: integer text to a big integer, float/imaginary text to a value through
//! the [`FloatOps`] hook.

use num_bigint::BigInt;
use num_traits::Num;

use super::node::{Const, Float};

/// Float operations whose exact results must match MicroPython's x87 `long double` code.
///
/// The default [`StdFloatOps`] uses Rust's correctly rounded parser, which differs from
/// mpy-cross in the last bit for a few literals (mpy-format §7); the x87-exact parser from
/// the float module is meant to be plugged in here for byte identity.
pub trait FloatOps: Sync {
    /// Parse a decimal float literal (already checked against MicroPython's syntax:
    /// digits, optional `.`, optional exponent; no sign, no `j`).
    fn parse(&self, text: &[u8]) -> f64;
}

/// Rust's `str::parse::<f64>`: correct rounding, NOT byte-identical to mpy-cross for every
/// literal. Replace with the x87-exact implementation for byte identity.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFloatOps;

impl FloatOps for StdFloatOps {
    fn parse(&self, text: &[u8]) -> f64 {
        let s = String::from_utf8_lossy(text);
        s.parse::<f64>().unwrap_or(f64::NAN)
    }
}

/// Why a number literal was rejected; the messages are mpy-cross's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// A bad integer literal: base and the offending text (after any base prefix).
    #[error("invalid syntax for integer with base {base}: '{text}'")]
    Integer {
        /// The base MicroPython reports (0 for a leading-zero decimal).
        base: u32,
        /// The digits it could not read.
        text: String,
    },
    /// A bad float or imaginary literal.
    #[error("invalid syntax for number")]
    Float,
}

/// Parse an integer token's text (underscores already removed by the lexer).
pub fn parse_int(text: &[u8]) -> Result<BigInt, NumberError> {
    let bad = |base: u32, t: &[u8]| NumberError::Integer {
        base,
        text: String::from_utf8_lossy(t).into_owned(),
    };
    if text.len() >= 2 && text[0] == b'0' {
        let base = match text[1] | 0x20 {
            b'x' => Some(16),
            b'o' => Some(8),
            b'b' => Some(2),
            _ => None,
        };
        if let Some(base) = base {
            let rest = &text[2..];
            let ok = !rest.is_empty() && rest.iter().all(|&c| (c as char).is_digit(base));
            if !ok {
                return Err(bad(base, rest));
            }
            let s = std::str::from_utf8(rest).map_err(|_| bad(base, rest))?;
            return BigInt::from_str_radix(s, base).map_err(|_| bad(base, rest));
        }
        // A decimal with a leading zero may only be all zeros (`00` is fine, `0377` is not).
        if text.iter().all(|&c| c == b'0') {
            return Ok(BigInt::from(0));
        }
        return Err(bad(0, text));
    }
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return Err(bad(10, text));
    }
    let s = std::str::from_utf8(text).map_err(|_| bad(10, text))?;
    BigInt::from_str_radix(s, 10).map_err(|_| bad(10, text))
}

/// Check a float/imaginary literal against MicroPython's syntax and return the decimal part
/// (normalised so any float parser accepts it) and whether it is imaginary.
fn split_float(text: &[u8]) -> Option<(Vec<u8>, bool)> {
    let (body, imag) = match text.last() {
        Some(b'j' | b'J') => (&text[..text.len() - 1], true),
        _ => (text, false),
    };
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while body.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        &body[start..*i]
    };
    let int_part = digits(&mut i);
    let mut frac: &[u8] = b"";
    if body.get(i) == Some(&b'.') {
        i += 1;
        frac = digits(&mut i);
    }
    if int_part.is_empty() && frac.is_empty() {
        return None;
    }
    let mut norm = Vec::with_capacity(body.len() + 4);
    norm.extend_from_slice(if int_part.is_empty() { b"0" } else { int_part });
    norm.push(b'.');
    norm.extend_from_slice(if frac.is_empty() { b"0" } else { frac });
    if matches!(body.get(i), Some(b'e' | b'E')) {
        i += 1;
        norm.push(b'e');
        if let Some(&s @ (b'+' | b'-')) = body.get(i) {
            norm.push(s);
            i += 1;
        }
        let exp = digits(&mut i);
        if exp.is_empty() {
            return None;
        }
        norm.extend_from_slice(exp);
    }
    if i != body.len() {
        return None;
    }
    Some((norm, imag))
}

/// Parse a float or imaginary token's text into a constant.
pub fn parse_float(text: &[u8], ops: &dyn FloatOps) -> Result<Const, NumberError> {
    let (norm, imag) = split_float(text).ok_or(NumberError::Float)?;
    let value = ops.parse(&norm);
    let lit = if imag {
        text[..text.len() - 1].to_vec()
    } else {
        text.to_vec()
    };
    let f = Float {
        value,
        text: Some(lit),
        nan_id: 0,
    };
    Ok(if imag {
        Const::Complex(f)
    } else {
        Const::Float(f)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_mpy_cross() {
        assert_eq!(parse_int(b"00").unwrap(), BigInt::from(0));
        assert_eq!(parse_int(b"0x1F").unwrap(), BigInt::from(31));
        assert_eq!(parse_int(b"0B1").unwrap(), BigInt::from(1));
        assert_eq!(
            parse_int(b"0377").unwrap_err().to_string(),
            "invalid syntax for integer with base 0: '0377'"
        );
        assert_eq!(
            parse_int(b"1if").unwrap_err().to_string(),
            "invalid syntax for integer with base 10: '1if'"
        );
        assert_eq!(
            parse_int(b"0x1g").unwrap_err().to_string(),
            "invalid syntax for integer with base 16: '1g'"
        );
        assert_eq!(
            parse_int(b"0b").unwrap_err().to_string(),
            "invalid syntax for integer with base 2: ''"
        );
    }

    #[test]
    fn floats_follow_mpy_cross() {
        for ok in [
            "0e5", "00.5", "09.5", "0j", ".5j", "0.e5", "1.j", "1e+5", "1.5",
        ] {
            assert!(parse_float(ok.as_bytes(), &StdFloatOps).is_ok(), "{ok}");
        }
        for bad in [
            "1e",
            "1e+",
            "1jj",
            "1.2.3",
            "1ee5",
            "1else",
            "1.5e100.format",
        ] {
            assert_eq!(
                parse_float(bad.as_bytes(), &StdFloatOps),
                Err(NumberError::Float),
                "{bad}"
            );
        }
        match parse_float(b"2.5", &StdFloatOps) {
            Ok(Const::Float(ref f)) => assert_eq!(f.value, 2.5),
            other => panic!("{other:?}"),
        }
    }
}
