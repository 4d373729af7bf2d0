//! Decimal text → double, as MicroPython's number parser does it.

use super::ext::{decimal_exp, Ext};
use super::FloatError;

/// Once the accumulated integer reaches this, further digits are not taken into it (another
/// `10 * m + d` could overflow 64 bits); they only move the decimal exponent.
const MANTISSA_LIMIT: u64 = 0x1999_9999_9999_9998;

/// The exponent digits stop being taken once the value reaches this, so that huge exponents
/// saturate instead of overflowing a C `int` (the result is then 0 or infinity anyway).
const EXP_DIGIT_LIMIT: i64 = (i32::MAX as i64 / 2 - 9) / 10;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    Integer,
    Fraction,
    Exponent,
}

/// The state of the digit accumulator.
struct Accumulator {
    mantissa: u64,
    /// Power of ten to apply on top of the written exponent, from fraction digits taken into the
    /// mantissa (each -1) and integer digits dropped after the mantissa filled up (each +1).
    exp_adjust: i64,
    /// Zero digits not yet taken into the mantissa: they count only if a non-zero digit follows.
    pending_int_zeros: i64,
    pending_frac_zeros: i64,
}

impl Accumulator {
    fn take(&mut self, digit: u8, part: Part) {
        if self.mantissa < MANTISSA_LIMIT {
            self.mantissa = 10 * self.mantissa + digit as u64;
            if part == Part::Fraction {
                self.exp_adjust -= 1;
            }
        } else if part == Part::Integer {
            self.exp_adjust += 1;
        }
    }

    fn digit(&mut self, digit: u8, part: Part) {
        if digit == 0 || self.mantissa >= MANTISSA_LIMIT {
            // Zeros wait for a later non-zero digit; once the mantissa is full every digit is
            // treated like such a zero.
            if part == Part::Integer {
                self.pending_int_zeros += 1;
            } else {
                self.pending_frac_zeros += 1;
            }
            return;
        }
        while self.pending_int_zeros > 0 {
            self.take(0, Part::Integer);
            self.pending_int_zeros -= 1;
        }
        while self.pending_frac_zeros > 0 {
            self.take(0, Part::Fraction);
            self.pending_frac_zeros -= 1;
        }
        self.take(digit, part);
    }
}

/// The length (0 or 1) and meaning of an optional `+` or `-` at the start of `text`.
fn sign(text: &[u8]) -> (usize, bool) {
    match text.first() {
        Some(b'+') => (1, false),
        Some(b'-') => (1, true),
        _ => (0, false),
    }
}

/// Parses an unsigned decimal number (digits, optional `.` and fraction, optional exponent;
/// `_` ignored anywhere) from the start of `text`. Returns the value and how many bytes were
/// consumed; stops at the first byte that cannot continue the number. `None` when an `e` has
/// nothing after it (or only a sign), which MicroPython treats as a syntax error.
pub(crate) fn parse_unsigned(text: &[u8]) -> Option<(f64, usize)> {
    let mut part = Part::Integer;
    let mut acc = Accumulator {
        mantissa: 0,
        exp_adjust: 0,
        pending_int_zeros: 0,
        pending_frac_zeros: 0,
    };
    let mut exp_negative = false;
    let mut exp: i64 = 0;
    let mut pos = 0;
    while pos < text.len() {
        let c = text[pos];
        pos += 1;
        match c {
            b'0'..=b'9' => {
                let d = c - b'0';
                if part == Part::Exponent {
                    if exp < EXP_DIGIT_LIMIT {
                        exp = 10 * exp + d as i64;
                    }
                } else {
                    acc.digit(d, part);
                }
            }
            b'.' if part == Part::Integer => part = Part::Fraction,
            b'e' | b'E' if part != Part::Exponent => {
                part = Part::Exponent;
                let (sign_len, negative) = sign(&text[pos..]);
                pos += sign_len;
                exp_negative = negative;
                if pos == text.len() {
                    return None;
                }
            }
            b'_' => {}
            _ => {
                pos -= 1;
                break;
            }
        }
    }
    if exp_negative {
        exp = -exp;
    }
    let exp = exp + acc.exp_adjust + acc.pending_int_zeros;
    let value = decimal_exp(Ext::from_u64(acc.mantissa), exp).to_f64();
    Some((value, pos))
}

/// A parsed float or imaginary literal.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DecimalLiteral {
    /// A float literal such as `1.5` or `1e10`.
    Float(f64),
    /// An imaginary literal such as `2j`: the value is the imaginary part (the real part is 0).
    Imaginary(f64),
}

/// Parses the text of a number token the way MicroPython's parser does for tokens that the
/// lexer classed as float-or-imaginary (they contain `.`, `e`/`E` or `j`/`J`).
///
/// Leading and trailing ASCII whitespace and one leading sign are accepted (MicroPython's
/// routine accepts them; the lexer never produces them), as are `inf`, `infinity` and `nan` in
/// any case. Underscores are ignored anywhere in the digits, as MicroPython does.
pub fn parse_decimal_literal(text: &[u8]) -> Result<DecimalLiteral, FloatError> {
    let invalid = || FloatError::InvalidSyntax {
        text: String::from_utf8_lossy(text).into_owned(),
    };
    let is_space = |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c');
    let mut pos = text.iter().take_while(|c| is_space(c)).count();
    let (sign_len, negative) = sign(&text[pos..]);
    pos += sign_len;
    let start = pos;
    let rest = &text[pos..];
    let word = |w: &[u8]| rest.len() >= w.len() && rest[..w.len()].eq_ignore_ascii_case(w);
    let mut value = if word(b"inf") {
        pos += if word(b"infinity") { 8 } else { 3 };
        f64::INFINITY
    } else if word(b"nan") {
        pos += 3;
        f64::NAN
    } else {
        let (value, used) = parse_unsigned(rest).ok_or_else(invalid)?;
        pos += used;
        value
    };
    let mut imaginary = false;
    if matches!(text.get(pos), Some(b'j' | b'J')) {
        if pos == start {
            value = 1.0;
        }
        pos += 1;
        imaginary = true;
    }
    if negative {
        value = -value;
    }
    if pos == start {
        return Err(invalid());
    }
    pos += text[pos..].iter().take_while(|c| is_space(c)).count();
    if pos != text.len() {
        return Err(invalid());
    }
    Ok(if imaginary {
        DecimalLiteral::Imaginary(value)
    } else {
        DecimalLiteral::Float(value)
    })
}
