//! Double → text in MicroPython's `repr` style (its `g` format at "repr precision").

use super::ext::{decimal_exp, Ext};
use super::parse::parse_unsigned;

/// Significant digits tried first.
const FIRST_DIGITS: u32 = 16;
/// The most significant digits the formatter produces; at this count it stops checking.
const MAX_DIGITS: u32 = 19;
/// Decimal exponents from 0 up to (not including) this are written out positionally.
const MAX_POSITIONAL_EXP: i32 = 16;
/// Negative decimal exponents down to this are written as `0.000ddd`.
const MIN_POSITIONAL_EXP: i32 = -4;

/// The decimal exponent estimate MicroPython starts from: the binary exponent field times
/// log10(2) (its constant is the same double as `LOG10_2`), truncated toward zero, then corrected by comparing `x` with powers of ten that were computed in
/// extended precision and rounded to double. The comparison with a rounded power is what makes
/// `1e23` (whose double is just below 10^23 but equal to 10^23 rounded) get exponent 23, and
/// some subnormals get an exponent one too large (their text then starts with `0.`).
fn decimal_exponent(x: f64) -> i32 {
    if x == 0.0 {
        return 0;
    }
    let binary_exp = ((x.to_bits() >> 52) & 0x7FF) as i32 - 1023;
    let mut e = (binary_exp as f64 * std::f64::consts::LOG10_2) as i32;
    let at_least_one = x >= 1.0;
    let step = if at_least_one { 1 } else { -1 };
    let power = |e: i32| decimal_exp(Ext::ONE, (e + at_least_one as i32) as i64).to_f64();
    while (x >= power(e)) == at_least_one {
        e += step;
    }
    e
}

/// Lays out `mantissa` (meant to have `digits` digits) with decimal exponent `e` in `g` style.
/// `pad_zeros` zeros are appended before trailing zeros are stripped, which matters only for
/// where the decimal point goes; the visible result is the same as without them except that a
/// positional integer keeps its trailing zeros.
fn layout(mut mantissa: u64, digits: u32, pad_zeros: i32, mut e: i32) -> String {
    let mut digits = digits as i32;
    if mantissa != 0 && mantissa >= 10u64.pow(digits as u32) {
        // Rounding produced one digit too many.
        mantissa /= 10;
        e += 1;
    }
    let mut out = String::new();
    // Position of the last digit before the decimal point; `None` when the text is already
    // `0.` followed by the digits.
    let mut point_after: Option<i32> = Some(0);
    let mut trailing = pad_zeros;
    if e > 0 && e < MAX_POSITIONAL_EXP {
        let p = e;
        if p >= digits {
            trailing = p - (digits - 1);
        }
        point_after = Some(p);
        e = 0;
    } else if (MIN_POSITIONAL_EXP..0).contains(&e) {
        let mut dropped = 0;
        while e < 0 && mantissa.is_multiple_of(10) {
            mantissa /= 10;
            dropped += 1;
            e += 1;
        }
        digits -= dropped;
        out.push_str("0.");
        for _ in 0..(dropped - e - 1).max(0) {
            out.push('0');
        }
        point_after = None;
        e = 0;
    }
    let mut text: Vec<u8> = (0..digits)
        .rev()
        .map(|i| b'0' + ((mantissa / 10u64.pow(i as u32)) % 10) as u8)
        .collect();
    let mut has_point = point_after.is_none();
    if let Some(p) = point_after {
        if p + 1 < digits {
            text.insert(p as usize + 1, b'.');
            has_point = true;
        }
        if trailing > 0 {
            let mut before_point = p - (digits - 1);
            for _ in 0..trailing {
                if before_point == 0 {
                    text.push(b'.');
                    has_point = true;
                }
                before_point -= 1;
                text.push(b'0');
            }
        }
    }
    if has_point {
        while text.last() == Some(&b'0') {
            text.pop();
        }
        if text.last() == Some(&b'.') {
            text.pop();
        }
    }
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
    if e != 0 {
        out.push('e');
        out.push(if e < 0 { '-' } else { '+' });
        let a = e.unsigned_abs();
        if a >= 100 {
            out.push(char::from(b'0' + (a / 100) as u8));
        }
        out.push(char::from(b'0' + (a / 10 % 10) as u8));
        out.push(char::from(b'0' + (a % 10) as u8));
    }
    out
}

/// The `g`-style text of a finite non-negative double, without the `.0` that `repr` adds.
fn format_positive(x: f64) -> String {
    let e = decimal_exponent(x);
    let mut digits = FIRST_DIGITS;
    loop {
        let scale = if x == 0.0 {
            0
        } else {
            digits as i64 - e as i64 - 1
        };
        let scaled = decimal_exp(Ext::from_f64(x), scale);
        // The scaled value is below 10^19 < 2^64 by construction of `e`.
        let mantissa = scaled.add(Ext::HALF).trunc_u64().unwrap_or(u64::MAX);
        let text = layout(mantissa, digits, (MAX_DIGITS - digits) as i32, e);
        if digits >= MAX_DIGITS {
            return text;
        }
        let back = parse_unsigned(text.as_bytes()).map(|(v, _)| v);
        if back == Some(x) {
            return text;
        }
        digits += 1;
    }
}

/// `g`-style text of any double at repr precision: sign, then `inf`, `nan` or the digits.
pub(crate) fn format_g(x: f64) -> String {
    let mut out = String::new();
    let mut v = x;
    if x.is_sign_negative() && !x.is_nan() {
        out.push('-');
        v = -x;
    }
    if v.is_infinite() {
        out.push_str("inf");
    } else if v.is_nan() {
        out.push_str("nan");
    } else {
        out.push_str(&format_positive(v));
    }
    out
}
