//! Float literals and float constant texts exactly as `mpy-cross` 1.29 on x86-64 Linux makes them.
//!
//! MicroPython stores float and complex constants in a `.mpy` file as text (constant types 8
//! and 9), produced by its own `repr`, and it reads float literals with its own parser. On
//! x86-64 Linux both work in the x87 80-bit `long double` type, so the stored text and the parsed
//! double depend on 80-bit rounding and sometimes differ from correctly rounded conversions
//! (`1e23` prints as `1e+23`; `1e-320` prints as `0.999988867182683e-320`). This module
//! reproduces that behaviour on any host with a software model of the extended type
//! ([`ext`]), so the compiler's output does not depend on the machine it runs on.
//!
//! # Parsing (what is reproduced, and why it matters)
//! * Digits are accumulated into an unsigned 64-bit integer, not into a float. Zero digits are
//!   held back and only taken in when a non-zero digit follows, so trailing zeros (in the
//!   fraction) never cost mantissa room; trailing integer zeros become exponent.
//! * Once the integer reaches `0x1999_9999_9999_9998` further digits are dropped (integer
//!   digits still count in the exponent). Hence a literal with more than about 19 significant
//!   digits is truncated, not rounded, before scaling.
//! * The integer is then scaled by the decimal exponent in extended precision: 10 is squared
//!   repeatedly and, for each set bit of the exponent, multiplied into or divided out of the
//!   value, each operation rounded to 64 bits. The result is rounded once more to double. This
//!   double rounding is the source of the last-bit differences from a correctly rounded parse.
//! * Exponent digits stop accumulating at 107374181 (the result is 0 or inf by then anyway).
//! * `_` is skipped anywhere in the number, as MicroPython's lexer and parser allow.
//!
//! # Formatting (`repr`)
//! * The decimal exponent is estimated from the binary exponent (times 0.3010299956639812,
//!   truncated) and corrected by comparing with powers of ten computed in extended precision
//!   and rounded to double. Because the comparison uses rounded powers, a double just below a
//!   power of ten that rounds to it is formatted as that power (`1e+23`), and some subnormals
//!   get a leading `0.` in their digits.
//! * The value is scaled by 10^(digits − exponent − 1) in extended precision, 0.5 is added (in
//!   extended precision) and the result is truncated to an integer of 16 digits. If the text does
//!   not parse back (with the parser above) to the same double, 17, 18 and finally 19 digits
//!   are tried; the 19-digit text is used unchecked.
//! * Layout is C's `%g`: trailing zeros stripped, positional form for exponents −4..15,
//!   otherwise `e` with a sign and at least two digits. `repr` appends `.0` when the text has no
//!   `.`, `e` or `n`; the imaginary part of a complex constant is written without it, then `j`.
//!
//! # Folding
//! `mpy-cross` folds `+ - * / // % **` on numbers when the result is an int or a float, with its
//! runtime semantics ([`fold_binary`]): IEEE double operations, Python's sign rules for `//` and
//! `%` computed through `fmod`, no folding where it would raise (division by zero, `0.0 ** -1`)
//! or give a complex (negative base, fractional exponent). `**` calls the C library's `pow`
//! like MicroPython does; Rust's `powf` uses the same glibc routine on Linux, the reference
//! platform, but may differ in the last bit on other C libraries. Folded values inherit the
//! parsed (80-bit) literal values. `math.pi`, `math.e`, `math.tau`, `math.inf` and `math.nan` are
//! folded too ([`math_constant`]).
//!
//! Everything above was checked by differential testing against the real `mpy-cross` (see
//! `tests/fixtures/float/PROVENANCE.md`).

mod ext;
mod fold;
mod format;
mod parse;

pub use fold::{fold_binary, math_constant, FloatOp};
pub use parse::{parse_decimal_literal, DecimalLiteral};

/// Errors from reading a float literal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FloatError {
    /// The text is not a number MicroPython's parser accepts (MicroPython raises
    /// `SyntaxError: invalid syntax for number`).
    #[error("invalid syntax for number: {text:?}")]
    InvalidSyntax {
        /// The literal as given.
        text: String,
    },
    /// The text is an imaginary literal (ends in `j`) where a float literal was expected.
    #[error("{text:?} is an imaginary literal, not a float literal")]
    Imaginary {
        /// The literal as given.
        text: String,
    },
    /// The text is a float literal where an imaginary literal was expected.
    #[error("{text:?} is a float literal, not an imaginary literal (no trailing `j`)")]
    NotImaginary {
        /// The literal as given.
        text: String,
    },
}

/// Value of a Python float literal as MicroPython's parser computes it (digits accumulated in a
/// 64-bit integer, scaled in 80-bit extended precision, then rounded to double), bit-exact with
/// `mpy-cross` 1.29 on x86-64 Linux.
///
/// `text` is the literal as in the source, e.g. `1.5e10`, `1_000.5`, `.5`, `5.`, `1e-5`.
/// Imaginary literals are rejected with [`FloatError::Imaginary`]; see [`parse_imag_literal`].
pub fn parse_float_literal(text: &[u8]) -> Result<f64, FloatError> {
    match parse_decimal_literal(text)? {
        DecimalLiteral::Float(v) => Ok(v),
        DecimalLiteral::Imaginary(_) => Err(FloatError::Imaginary {
            text: String::from_utf8_lossy(text).into_owned(),
        }),
    }
}

/// The imaginary part of an imaginary literal such as `2j` or `1.5e3J`, parsed like
/// [`parse_float_literal`].
pub fn parse_imag_literal(text: &[u8]) -> Result<f64, FloatError> {
    match parse_decimal_literal(text)? {
        DecimalLiteral::Imaginary(v) => Ok(v),
        DecimalLiteral::Float(_) => Err(FloatError::NotImaginary {
            text: String::from_utf8_lossy(text).into_owned(),
        }),
    }
}

/// MicroPython's `repr(float)`, as stored in a `.mpy` float constant (type 8): `g` style with
/// 16 significant digits, or 17, 18, 19 until it parses back to the same double; trailing zeros
/// stripped; `.0` appended when there is no `.`, `e` or `n`; exponent form when the exponent is
/// below −4 or at least 16. Examples: `1e+100`, `1e-05`, `100000.0`, `inf`, `-0.0`,
/// `95.40000000000001`.
pub fn repr_float(x: f64) -> String {
    let mut text = format::format_g(x);
    if !text.contains(['.', 'e', 'n']) {
        text.push_str(".0");
    }
    text
}

/// The text of a pure-imaginary complex constant (type 9) with imaginary part `x`: the same `g`
/// style as [`repr_float`] but without the `.0`, followed by `j` (`2j`, `0.5j`, `1e+16j`,
/// `infj`).
pub fn repr_complex_imag(x: f64) -> String {
    let mut text = format::format_g(x);
    text.push('j');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples() {
        let cases = [
            ("1e100", "1e+100"),
            ("1e-5", "1e-05"),
            ("100000.0", "100000.0"),
            ("1e15", "1000000000000000.0"),
            ("1e16", "1e+16"),
            ("95.4", "95.40000000000001"),
            ("1e23", "1e+23"),
            ("1e-320", "0.999988867182683e-320"),
            ("0.5", "0.5"),
            ("1_000.5", "1000.5"),
        ];
        for (lit, want) in cases {
            let v = parse_float_literal(lit.as_bytes()).unwrap();
            assert_eq!(repr_float(v), want, "literal {lit}");
        }
        assert_eq!(repr_float(f64::INFINITY), "inf");
        assert_eq!(repr_float(-0.0), "-0.0");
        assert_eq!(repr_float(f64::NAN), "nan");
        assert_eq!(repr_complex_imag(2.0), "2j");
        assert_eq!(repr_complex_imag(1e16), "1e+16j");
    }

    #[test]
    fn literal_errors() {
        for bad in ["1e", "1e+", "1.e", "1.2.3", "1x", ""] {
            assert!(
                matches!(
                    parse_float_literal(bad.as_bytes()),
                    Err(FloatError::InvalidSyntax { .. })
                ),
                "{bad:?} should be rejected"
            );
        }
        assert!(matches!(
            parse_float_literal(b"2j"),
            Err(FloatError::Imaginary { .. })
        ));
        assert!(matches!(
            parse_imag_literal(b"2.0"),
            Err(FloatError::NotImaginary { .. })
        ));
        assert_eq!(parse_imag_literal(b"2.5J"), Ok(2.5));
    }
}
