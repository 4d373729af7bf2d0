//! Float arithmetic with MicroPython's semantics, for parse-time constant folding.
//!
//! `mpy-cross` folds `+ - * / // % **` when both operands are numbers and at least one is a
//! float (or for `/` on two ints), using its runtime float operations on doubles. Those are
//! plain IEEE double operations (host independent) except `**`, which calls the C library's
//! `pow`; Rust's `powf` calls the same routine on Linux (glibc), which is where the reference
//! output comes from. Ints must be converted to double by the caller the way MicroPython does
//! (exactly for small ints; big ints have their own conversion in MicroPython's mpz code).

/// A binary operator that `mpy-cross` folds on float operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    TrueDiv,
    /// `//`
    FloorDiv,
    /// `%`
    Mod,
    /// `**`
    Pow,
}

/// Python's floor division on doubles, as MicroPython computes it (via `fmod`, with the
/// correction that keeps `x == (x // y) * y + x % y`). `y` must not be zero.
fn floor_div(x: f64, y: f64) -> f64 {
    let rem = x % y;
    let mut quot = (x - rem) / y;
    if rem != 0.0 && (rem < 0.0) != (y < 0.0) {
        quot -= 1.0;
    }
    if quot == 0.0 {
        0.0f64.copysign(x / y)
    } else {
        let floor = quot.floor();
        if quot - floor > 0.5 {
            floor + 1.0
        } else {
            floor
        }
    }
}

/// Python's `%` on doubles as MicroPython computes it: `fmod`, then moved to the sign of `y`.
fn modulo(x: f64, y: f64) -> f64 {
    let rem = x % y;
    if rem == 0.0 {
        0.0f64.copysign(y)
    } else if (rem < 0.0) != (y < 0.0) {
        rem + y
    } else {
        rem
    }
}

/// The folded value of `lhs op rhs` on doubles, or `None` when MicroPython does not fold it:
/// the operation raises (`ZeroDivisionError` for `/`, `//`, `%` by zero and for `0.0 ** negative`)
/// or its result is complex (negative base with a non-integral exponent).
pub fn fold_binary(op: FloatOp, lhs: f64, rhs: f64) -> Option<f64> {
    Some(match op {
        FloatOp::Add => lhs + rhs,
        FloatOp::Sub => lhs - rhs,
        FloatOp::Mul => lhs * rhs,
        FloatOp::TrueDiv | FloatOp::FloorDiv | FloatOp::Mod if rhs == 0.0 => return None,
        FloatOp::TrueDiv => lhs / rhs,
        FloatOp::FloorDiv => floor_div(lhs, rhs),
        FloatOp::Mod => modulo(lhs, rhs),
        FloatOp::Pow => {
            if lhs == 0.0 && rhs < 0.0 && !rhs.is_infinite() {
                return None;
            }
            if lhs < 0.0 && rhs != rhs.floor() && !rhs.is_nan() {
                return None;
            }
            lhs.powf(rhs)
        }
    })
}

/// The value `mpy-cross` folds `math.<name>` to (whether or not `math` is imported), for the
/// five names it folds: `pi`, `e`, `tau`, `inf`, `nan`. Other names give `None`.
pub fn math_constant(name: &str) -> Option<f64> {
    Some(match name {
        "pi" => std::f64::consts::PI,
        "e" => std::f64::consts::E,
        "tau" => std::f64::consts::TAU,
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_sign_rules() {
        assert_eq!(fold_binary(FloatOp::FloorDiv, 7.0, -2.0), Some(-4.0));
        assert_eq!(fold_binary(FloatOp::Mod, 7.0, -3.0), Some(-2.0));
        assert_eq!(fold_binary(FloatOp::Mod, -7.0, 3.0), Some(2.0));
        let z = fold_binary(FloatOp::Mod, 6.0, -3.0).unwrap();
        assert!(z == 0.0 && z.is_sign_negative());
        let q = fold_binary(FloatOp::FloorDiv, 0.5, -2.0).unwrap();
        assert_eq!(q, -1.0);
        let q = fold_binary(FloatOp::FloorDiv, -0.0, 2.0).unwrap();
        assert!(q == 0.0 && q.is_sign_negative());
    }

    #[test]
    fn math_constants_print_as_mpy_cross_stores_them() {
        use crate::mpy::float::repr_float;
        let text = |n| math_constant(n).map(repr_float);
        // Texts observed from mpy-cross 1.29 for `(math.pi, math.e, math.inf, math.nan, math.tau)`.
        assert_eq!(text("pi").as_deref(), Some("3.141592653589793"));
        assert_eq!(text("e").as_deref(), Some("2.718281828459045"));
        assert_eq!(text("inf").as_deref(), Some("inf"));
        assert_eq!(text("nan").as_deref(), Some("nan"));
        assert_eq!(text("tau").as_deref(), Some("6.283185307179586"));
        assert_eq!(math_constant("sqrt2"), None);
    }

    #[test]
    fn unfoldable_cases() {
        assert_eq!(fold_binary(FloatOp::TrueDiv, 1.0, 0.0), None);
        assert_eq!(fold_binary(FloatOp::Mod, 1.0, -0.0), None);
        assert_eq!(fold_binary(FloatOp::Pow, 0.0, -1.0), None);
        assert_eq!(fold_binary(FloatOp::Pow, -1.0, 0.5), None);
        assert_eq!(
            fold_binary(FloatOp::Pow, 0.0, f64::NEG_INFINITY),
            Some(f64::INFINITY)
        );
        assert_eq!(fold_binary(FloatOp::Pow, -8.0, 3.0), Some(-512.0));
    }
}
