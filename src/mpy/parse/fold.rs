//! Parse-time constant folding with MicroPython's arithmetic (mpy-format §3.4).
//!
//! Folding never raises: whatever mpy-cross would refuse (division by zero, a complex result,
//! a negative shift, a result too big for its 2 MiB heap, a type error) leaves the node as it
//! is.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};

use super::node::{Const, Float, Node};
use crate::mpy::lexer::TokenKind;

/// Largest integer result (in bits) that is folded. mpy-cross runs out of its heap (and
/// then silently does not fold) somewhere above this; the exact point depends on its heap
/// state, so pathological sizes may differ.
const MAX_INT_BITS: u64 = 1 << 22;

/// A numeric operand.
#[derive(Clone, Debug)]
pub(crate) enum Num {
    Int(BigInt),
    Float(f64),
}

/// Binary operators that can be folded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    Xor,
    And,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    MatMul,
    TrueDiv,
    FloorDiv,
    Mod,
    Pow,
}

impl BinOp {
    pub(crate) fn from_token(k: TokenKind) -> Option<BinOp> {
        Some(match k {
            TokenKind::OpPipe => BinOp::Or,
            TokenKind::OpCaret => BinOp::Xor,
            TokenKind::OpAmpersand => BinOp::And,
            TokenKind::OpDblLess => BinOp::Shl,
            TokenKind::OpDblMore => BinOp::Shr,
            TokenKind::OpPlus => BinOp::Add,
            TokenKind::OpMinus => BinOp::Sub,
            TokenKind::OpStar => BinOp::Mul,
            TokenKind::OpAt => BinOp::MatMul,
            TokenKind::OpSlash => BinOp::TrueDiv,
            TokenKind::OpDblSlash => BinOp::FloorDiv,
            TokenKind::OpPercent => BinOp::Mod,
            TokenKind::OpDblStar => BinOp::Pow,
            _ => return None,
        })
    }
}

fn to_f64(n: &Num) -> f64 {
    match n {
        Num::Int(i) => i.to_f64().unwrap_or(f64::INFINITY),
        Num::Float(f) => *f,
    }
}

/// Python's float divmod (sign of the modulus follows the divisor).
fn float_divmod(x: f64, y: f64) -> (f64, f64) {
    let mut m = x % y;
    let mut div = (x - m) / y;
    if m != 0.0 {
        if (y < 0.0) != (m < 0.0) {
            m += y;
            div -= 1.0;
        }
    } else {
        m = 0.0_f64.copysign(y);
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0_f64.copysign(x / y)
    };
    (floordiv, m)
}

fn float_op(op: BinOp, x: f64, y: f64) -> Option<f64> {
    Some(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::TrueDiv if y == 0.0 => return None,
        BinOp::TrueDiv => x / y,
        BinOp::FloorDiv | BinOp::Mod if y == 0.0 => return None,
        BinOp::FloorDiv => float_divmod(x, y).0,
        BinOp::Mod => float_divmod(x, y).1,
        BinOp::Pow => {
            if x == 0.0 && y < 0.0 {
                return None; // ZeroDivisionError
            }
            if x < 0.0 && y != y.floor() {
                return None; // complex result
            }
            x.powf(y)
        }
        _ => return None,
    })
}

fn bits(i: &BigInt) -> u64 {
    i.bits()
}

fn int_op(op: BinOp, a: &BigInt, b: &BigInt) -> Option<Num> {
    let int = |v: BigInt| Some(Num::Int(v));
    match op {
        BinOp::Or => int(a | b),
        BinOp::Xor => int(a ^ b),
        BinOp::And => int(a & b),
        BinOp::Shl | BinOp::Shr => {
            if b.is_negative() {
                return None;
            }
            let n = b.to_u64()?;
            if op == BinOp::Shl {
                if bits(a).saturating_add(n) > MAX_INT_BITS {
                    return None;
                }
                int(a << n)
            } else if n >= bits(a) {
                int(if a.is_negative() {
                    BigInt::from(-1)
                } else {
                    BigInt::zero()
                })
            } else {
                // Arithmetic shift: floor division by a power of two.
                int(a.div_floor(&(BigInt::from(1) << n)))
            }
        }
        BinOp::Add => int(a + b),
        BinOp::Sub => int(a - b),
        BinOp::Mul => {
            if bits(a) + bits(b) > MAX_INT_BITS {
                return None;
            }
            int(a * b)
        }
        BinOp::MatMul => None,
        BinOp::TrueDiv => {
            if b.is_zero() {
                return None;
            }
            Some(Num::Float(
                a.to_f64().unwrap_or(f64::INFINITY) / b.to_f64().unwrap_or(f64::INFINITY),
            ))
        }
        BinOp::FloorDiv | BinOp::Mod if b.is_zero() => None,
        BinOp::FloorDiv => int(a.div_floor(b)),
        BinOp::Mod => int(a.mod_floor(b)),
        BinOp::Pow => {
            if b.is_negative() {
                // An int to a negative power is a float (0 ** -1 raises).
                if a.is_zero() {
                    return None;
                }
                let x = a.to_f64()?;
                let y = b.to_f64()?;
                return Some(Num::Float(x.powf(y)));
            }
            let e = b.to_u64()?;
            let base_bits = bits(a);
            if base_bits > 1 && base_bits.saturating_mul(e) > MAX_INT_BITS {
                return None;
            }
            // Exponents beyond u32 only get here when |a| <= 1: the result is 0 or ±1.
            match u32::try_from(e).ok() {
                Some(e) => int(num_traits::pow::pow(a.clone(), e as usize)),
                None => {
                    let odd = b.is_odd();
                    let one = BigInt::from(1);
                    if a.is_zero() {
                        int(BigInt::zero())
                    } else if a.is_negative() && odd {
                        int(-one)
                    } else {
                        int(one)
                    }
                }
            }
        }
    }
}

/// `lhs op rhs` as mpy-cross folds it, or `None` if it does not.
pub(crate) fn binary(op: BinOp, lhs: &Num, rhs: &Num) -> Option<Num> {
    match (lhs, rhs) {
        (Num::Int(a), Num::Int(b)) => int_op(op, a, b),
        _ => {
            if matches!(
                op,
                BinOp::Or | BinOp::Xor | BinOp::And | BinOp::Shl | BinOp::Shr | BinOp::MatMul
            ) {
                return None;
            }
            float_op(op, to_f64(lhs), to_f64(rhs)).map(Num::Float)
        }
    }
}

/// Unary `+`, `-`, `~` (the last on ints only).
pub(crate) fn unary(op: TokenKind, v: &Num) -> Option<Num> {
    match (op, v) {
        (TokenKind::OpPlus, n) => Some(n.clone()),
        (TokenKind::OpMinus, Num::Int(i)) => Some(Num::Int(-i)),
        (TokenKind::OpMinus, Num::Float(f)) => Some(Num::Float(-f)),
        (TokenKind::OpTilde, Num::Int(i)) => Some(Num::Int(-i - 1)),
        _ => None,
    }
}

/// The number a node holds, if it is a small int or an int/float constant object.
pub(crate) fn number_of(node: &Node) -> Option<Num> {
    match node {
        Node::SmallInt(v) => Some(Num::Int(BigInt::from(*v))),
        Node::Const(c) => match &c.value {
            Const::Int(i) => Some(Num::Int(i.clone())),
            Const::Float(f) => Some(Num::Float(f.value)),
            _ => None,
        },
        _ => None,
    }
}

/// The [`Float::nan_id`] of a float constant node, else 0.
pub(crate) fn nan_id_of(node: &Node) -> u32 {
    match node {
        Node::Const(c) => match &c.value {
            Const::Float(f) => f.nan_id,
            _ => 0,
        },
        _ => 0,
    }
}

/// Range check for the target's small ints (`-2^(bits-1) .. 2^(bits-1)-1`).
pub(crate) fn small_int(i: &BigInt, small_int_bits: u32) -> Option<i64> {
    let v = i.to_i64()?;
    let half = 1i64 << (small_int_bits.clamp(2, 63) - 1);
    (-half..half).contains(&v).then_some(v)
}

/// A node for a folded or substituted value: a small-int leaf when it fits, else a constant
/// object with the given line.
pub(crate) fn value_node(value: Const, line: u32, small_int_bits: u32) -> Node {
    if let Const::Int(i) = &value {
        if let Some(v) = small_int(i, small_int_bits) {
            return Node::SmallInt(v);
        }
    }
    Node::new_const(line, value)
}

/// A folded number as a constant; `nan_id` as [`Float::nan_id`] (ignored for ints).
pub(crate) fn num_to_const(n: Num, nan_id: u32) -> Const {
    match n {
        Num::Int(i) => Const::Int(i),
        Num::Float(f) => Const::Float(Float {
            value: f,
            text: None,
            nan_id,
        }),
    }
}

/// Whether a node is a compile-time constant (small int, interned str, None/True/False/...,
/// constant object, or the empty tuple `()`).
pub(crate) fn is_const(node: &Node) -> bool {
    match node {
        Node::SmallInt(_) | Node::Str(_) | Node::Const(_) => true,
        Node::Token(k) => matches!(
            k,
            TokenKind::KwNone | TokenKind::KwFalse | TokenKind::KwTrue | TokenKind::Ellipsis
        ),
        Node::Struct(s) => {
            s.rule == super::grammar::Rule::atom_paren
                && matches!(s.children.first(), Some(Node::Null))
        }
        _ => false,
    }
}

/// The value of a constant node (see [`is_const`]).
pub(crate) fn const_value(node: &Node) -> Option<Const> {
    Some(match node {
        Node::SmallInt(v) => Const::Int(BigInt::from(*v)),
        Node::Str(s) => Const::Str(s.clone()),
        Node::Const(c) => c.value.clone(),
        Node::Token(TokenKind::KwNone) => Const::None,
        Node::Token(TokenKind::KwFalse) => Const::False,
        Node::Token(TokenKind::KwTrue) => Const::True,
        Node::Token(TokenKind::Ellipsis) => Const::Ellipsis,
        n if is_const(n) => Const::Tuple(Vec::new()),
        _ => return None,
    })
}

/// The value of a constant node, taking it out of the node (no copy of nested tuples).
pub(crate) fn into_const(node: Node) -> Option<Const> {
    match node {
        Node::Const(c) => {
            let mut c = c;
            Some(std::mem::replace(&mut c.value, Const::None))
        }
        other => const_value(&other),
    }
}

/// Python truthiness of a constant.
fn truth(c: &Const) -> bool {
    match c {
        Const::None | Const::False => false,
        Const::True | Const::Ellipsis => true,
        Const::Int(i) => !i.is_zero(),
        Const::Float(f) | Const::Complex(f) => f.value != 0.0,
        Const::Str(s) | Const::Bytes(s) => !s.is_empty(),
        Const::Tuple(t) => !t.is_empty(),
    }
}

/// `Some(truth)` if the node is a constant.
pub(crate) fn const_truth(node: &Node) -> Option<bool> {
    match node {
        // Cheap paths first; these are by far the most common.
        Node::SmallInt(v) => Some(*v != 0),
        Node::Token(TokenKind::KwTrue) => Some(true),
        Node::Token(TokenKind::KwFalse | TokenKind::KwNone) => Some(false),
        Node::Const(c) => Some(truth(&c.value)),
        n => const_value(n).map(|c| truth(&c)),
    }
}

/// The value of `math.<attr>` that mpy-cross folds, whether or not `math` is imported.
pub(crate) fn math_constant(attr: &[u8]) -> Option<f64> {
    Some(match attr {
        b"pi" => std::f64::consts::PI,
        b"e" => std::f64::consts::E,
        b"tau" => std::f64::consts::TAU,
        b"inf" => f64::INFINITY,
        b"nan" => f64::NAN,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(v: i64) -> Num {
        Num::Int(BigInt::from(v))
    }

    fn as_int(n: Option<Num>) -> Option<i64> {
        match n {
            Some(Num::Int(v)) => v.to_i64(),
            _ => None,
        }
    }

    #[test]
    fn integer_semantics_follow_python() {
        assert_eq!(as_int(binary(BinOp::FloorDiv, &i(-7), &i(2))), Some(-4));
        assert_eq!(as_int(binary(BinOp::Mod, &i(7), &i(-3))), Some(-2));
        assert_eq!(as_int(binary(BinOp::Shr, &i(-5), &i(1))), Some(-3));
        assert_eq!(as_int(binary(BinOp::Shr, &i(-5), &i(100))), Some(-1));
        assert_eq!(as_int(binary(BinOp::And, &i(-6), &i(7))), Some(2));
        assert!(binary(BinOp::Shl, &i(1), &i(-1)).is_none());
        assert!(binary(BinOp::Mod, &i(10), &i(0)).is_none());
        assert!(binary(BinOp::TrueDiv, &i(1), &i(0)).is_none());
        assert!(binary(BinOp::MatMul, &i(1), &i(2)).is_none());
        match binary(BinOp::Pow, &i(2), &i(100)) {
            Some(Num::Int(v)) => assert_eq!(v.to_string(), "1267650600228229401496703205376"),
            other => panic!("{other:?}"),
        }
        assert!(binary(BinOp::Pow, &i(2), &i(1 << 40)).is_none());
        assert_eq!(as_int(binary(BinOp::Pow, &i(-1), &i(1 << 40))), Some(1));
    }

    #[test]
    fn float_semantics_follow_python() {
        let f = |n: Option<Num>| match n {
            Some(Num::Float(v)) => Some(v),
            _ => None,
        };
        assert_eq!(f(binary(BinOp::TrueDiv, &i(10), &i(4))), Some(2.5));
        assert_eq!(f(binary(BinOp::Pow, &i(2), &i(-1))), Some(0.5));
        assert!(binary(BinOp::Pow, &Num::Float(-1.0), &Num::Float(0.5)).is_none());
        assert!(binary(BinOp::Pow, &i(0), &i(-1)).is_none());
        assert_eq!(
            f(binary(BinOp::Mod, &Num::Float(-1.0), &Num::Float(3.0))),
            Some(2.0)
        );
        assert_eq!(
            f(binary(BinOp::FloorDiv, &Num::Float(-7.0), &Num::Float(2.0))),
            Some(-4.0)
        );
        assert!(unary(TokenKind::OpTilde, &Num::Float(1.0)).is_none());
        assert!(binary(BinOp::Or, &Num::Float(1.0), &i(1)).is_none());
    }
}
