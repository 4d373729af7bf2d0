//! The MicroPython v6.3 bytecode opcode table (mpy-format.md §2.7), kept as data.
//!
//! This is the single source of truth for opcode bytes, mnemonics, operand formats and stack
//! effects: the emitter ([`crate::mpy::emit`]), the reader ([`crate::mpy::file`]) and the
//! disassembler ([`crate::mpy::disasm`]) all look opcodes up here, so a wrong entry shows up in
//! every one of them (and in the golden round-trip tests) rather than in just one.

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

/// How the bytes after an opcode byte are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand {
    /// No operand.
    None,
    /// A vuint index into the file's qstr table.
    Qstr,
    /// A vuint (slot, count, child index, object index, packed call counts, …).
    Uint,
    /// A signed varint (only `LOAD_CONST_SMALL_INT` 0x22).
    SmallInt,
    /// A signed jump offset (1 or 2 bytes, §2.1).
    SignedJump,
    /// An unsigned jump offset (1 or 2 bytes, §2.1).
    UnsignedJump,
}

/// How an instruction changes the value-stack depth (the deltas of §2.7, used for `n_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackEffect {
    /// A fixed delta.
    Fixed(i8),
    /// `1 - n` where `n` is the vuint operand (BUILD_TUPLE/LIST/SET/SLICE).
    OneMinusArg,
    /// `n - 1` where `n` is the vuint operand (UNPACK_SEQUENCE).
    ArgMinusOne,
    /// `n_before + n_after` of UNPACK_EX's packed operand.
    UnpackEx,
    /// `-(n_pos + 2*n_kw + extra)` of the packed call operand.
    Call {
        /// Additional items popped (star bitmap, method self).
        extra: u8,
    },
    /// `base - n` where `n` is the trailing extra byte (MAKE_CLOSURE: base 1, _DEFARGS: −1).
    ClosureBase(i8),
    /// STORE_COMP: −1 for list/set, −2 for dict (kind in the operand's low two bits).
    StoreComp,
    /// WITH_CLEANUP: +2 at its peak, then −4 (net −2).
    WithCleanup,
}

/// One row of the opcode table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpInfo {
    /// The opcode byte.
    pub byte: u8,
    /// The mnemonic printed by the disassembler.
    pub name: &'static str,
    /// The operand read after the opcode byte.
    pub operand: Operand,
    /// Whether one more raw byte follows the operand (0x20, 0x21, 0x40).
    pub extra_byte: bool,
    /// The stack effect.
    pub stack: StackEffect,
}

const fn op(byte: u8, name: &'static str, operand: Operand, stack: StackEffect) -> OpInfo {
    OpInfo {
        byte,
        name,
        operand,
        extra_byte: false,
        stack,
    }
}

const fn op_x(byte: u8, name: &'static str, operand: Operand, stack: StackEffect) -> OpInfo {
    OpInfo {
        byte,
        name,
        operand,
        extra_byte: true,
        stack,
    }
}

use Operand::{
    None as N, Qstr as Q, SignedJump as SJ, SmallInt as SI, Uint as U, UnsignedJump as UJ,
};
use StackEffect::Fixed as F;

/// The named (non-compact) opcodes, in byte order.
pub const TABLE: &[OpInfo] = &[
    op(0x10, "LOAD_CONST_STRING", Q, F(1)),
    op(0x11, "LOAD_NAME", Q, F(1)),
    op(0x12, "LOAD_GLOBAL", Q, F(1)),
    op(0x13, "LOAD_ATTR", Q, F(0)),
    op(0x14, "LOAD_METHOD", Q, F(1)),
    op(0x15, "LOAD_SUPER_METHOD", Q, F(-1)),
    op(0x16, "STORE_NAME", Q, F(-1)),
    op(0x17, "STORE_GLOBAL", Q, F(-1)),
    op(0x18, "STORE_ATTR", Q, F(-2)),
    op(0x19, "DELETE_NAME", Q, F(0)),
    op(0x1A, "DELETE_GLOBAL", Q, F(0)),
    op(0x1B, "IMPORT_NAME", Q, F(-1)),
    op(0x1C, "IMPORT_FROM", Q, F(1)),
    op_x(0x20, "MAKE_CLOSURE", U, StackEffect::ClosureBase(1)),
    op_x(
        0x21,
        "MAKE_CLOSURE_DEFARGS",
        U,
        StackEffect::ClosureBase(-1),
    ),
    op(0x22, "LOAD_CONST_SMALL_INT", SI, F(1)),
    op(0x23, "LOAD_CONST_OBJ", U, F(1)),
    op(0x24, "LOAD_FAST_N", U, F(1)),
    op(0x25, "LOAD_DEREF", U, F(1)),
    op(0x26, "STORE_FAST_N", U, F(-1)),
    op(0x27, "STORE_DEREF", U, F(-1)),
    op(0x28, "DELETE_FAST", U, F(0)),
    op(0x29, "DELETE_DEREF", U, F(0)),
    op(0x2A, "BUILD_TUPLE", U, StackEffect::OneMinusArg),
    op(0x2B, "BUILD_LIST", U, StackEffect::OneMinusArg),
    op(0x2C, "BUILD_MAP", U, F(1)),
    op(0x2D, "BUILD_SET", U, StackEffect::OneMinusArg),
    op(0x2E, "BUILD_SLICE", U, StackEffect::OneMinusArg),
    op(0x2F, "STORE_COMP", U, StackEffect::StoreComp),
    op(0x30, "UNPACK_SEQUENCE", U, StackEffect::ArgMinusOne),
    op(0x31, "UNPACK_EX", U, StackEffect::UnpackEx),
    op(0x32, "MAKE_FUNCTION", U, F(1)),
    op(0x33, "MAKE_FUNCTION_DEFARGS", U, F(-1)),
    op(0x34, "CALL_FUNCTION", U, StackEffect::Call { extra: 0 }),
    op(
        0x35,
        "CALL_FUNCTION_VAR_KW",
        U,
        StackEffect::Call { extra: 1 },
    ),
    op(0x36, "CALL_METHOD", U, StackEffect::Call { extra: 1 }),
    op(
        0x37,
        "CALL_METHOD_VAR_KW",
        U,
        StackEffect::Call { extra: 2 },
    ),
    op_x(0x40, "UNWIND_JUMP", SJ, F(0)),
    op(0x42, "JUMP", SJ, F(0)),
    op(0x43, "POP_JUMP_IF_TRUE", SJ, F(-1)),
    op(0x44, "POP_JUMP_IF_FALSE", SJ, F(-1)),
    op(0x45, "JUMP_IF_TRUE_OR_POP", UJ, F(-1)),
    op(0x46, "JUMP_IF_FALSE_OR_POP", UJ, F(-1)),
    op(0x47, "SETUP_WITH", UJ, F(2)),
    op(0x48, "SETUP_EXCEPT", UJ, F(0)),
    op(0x49, "SETUP_FINALLY", UJ, F(0)),
    op(0x4A, "POP_EXCEPT_JUMP", UJ, F(0)),
    op(0x4B, "FOR_ITER", UJ, F(1)),
    op(0x50, "LOAD_CONST_FALSE", N, F(1)),
    op(0x51, "LOAD_CONST_NONE", N, F(1)),
    op(0x52, "LOAD_CONST_TRUE", N, F(1)),
    op(0x53, "LOAD_NULL", N, F(1)),
    op(0x54, "LOAD_BUILD_CLASS", N, F(1)),
    op(0x55, "LOAD_SUBSCR", N, F(-1)),
    op(0x56, "STORE_SUBSCR", N, F(-3)),
    op(0x57, "DUP_TOP", N, F(1)),
    op(0x58, "DUP_TOP_TWO", N, F(2)),
    op(0x59, "POP_TOP", N, F(-1)),
    op(0x5A, "ROT_TWO", N, F(0)),
    op(0x5B, "ROT_THREE", N, F(0)),
    op(0x5C, "WITH_CLEANUP", N, StackEffect::WithCleanup),
    op(0x5D, "END_FINALLY", N, F(-1)),
    op(0x5E, "GET_ITER", N, F(0)),
    op(0x5F, "GET_ITER_STACK", N, F(3)),
    op(0x62, "STORE_MAP", N, F(-2)),
    op(0x63, "RETURN_VALUE", N, F(-1)),
    op(0x64, "RAISE_LAST", N, F(0)),
    op(0x65, "RAISE_OBJ", N, F(-1)),
    op(0x66, "RAISE_FROM", N, F(-2)),
    op(0x67, "YIELD_VALUE", N, F(0)),
    op(0x68, "YIELD_FROM", N, F(-1)),
    op(0x69, "IMPORT_STAR", N, F(-1)),
];

/// First byte of the compact `LOAD_CONST_SMALL_INT` range (value = byte − 0x80).
pub const SMALL_INT_COMPACT_FIRST: u8 = 0x70;
/// Last byte of the compact small-int range.
pub const SMALL_INT_COMPACT_LAST: u8 = 0xAF;
/// Smallest value with a compact small-int opcode.
pub const SMALL_INT_COMPACT_MIN: i64 = -16;
/// Largest value with a compact small-int opcode.
pub const SMALL_INT_COMPACT_MAX: i64 = 47;
/// Compact `LOAD_FAST` base (slots 0–15).
pub const LOAD_FAST_COMPACT: u8 = 0xB0;
/// Compact `STORE_FAST` base (slots 0–15).
pub const STORE_FAST_COMPACT: u8 = 0xC0;
/// Number of slots with compact LOAD_FAST/STORE_FAST forms.
pub const COMPACT_FAST_SLOTS: u32 = 16;
/// `UNARY_OP` base byte.
pub const UNARY_OP_BASE: u8 = 0xD0;
/// `BINARY_OP` base byte.
pub const BINARY_OP_BASE: u8 = 0xD7;

/// Unary operators (`UNARY_OP` 0xD0–0xD3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `+x`
    Positive = 0,
    /// `-x`
    Negative = 1,
    /// `~x`
    Invert = 2,
    /// `not x`
    Not = 3,
}

impl UnaryOp {
    const ALL: [UnaryOp; 4] = [
        UnaryOp::Positive,
        UnaryOp::Negative,
        UnaryOp::Invert,
        UnaryOp::Not,
    ];

    /// The opcode byte.
    pub fn byte(self) -> u8 {
        UNARY_OP_BASE + self as u8
    }

    /// The operator for a byte in 0xD0–0xD3.
    pub fn from_byte(byte: u8) -> Option<UnaryOp> {
        Self::ALL
            .get(usize::from(byte.checked_sub(UNARY_OP_BASE)?))
            .copied()
    }

    /// How the disassembler spells it.
    pub fn symbol(self) -> &'static str {
        ["+", "-", "~", "not"][self as usize]
    }
}

/// Binary-operator symbols in operator-number order (§2.7): `BINARY_OP` byte = 0xD7 + index.
pub const BINARY_OPS: [&str; 35] = [
    "<",
    ">",
    "==",
    "<=",
    ">=",
    "!=",
    "in",
    "is",
    "exc-match",
    "|=",
    "^=",
    "&=",
    "<<=",
    ">>=",
    "+=",
    "-=",
    "*=",
    "@=",
    "//=",
    "/=",
    "%=",
    "**=",
    "|",
    "^",
    "&",
    "<<",
    ">>",
    "+",
    "-",
    "*",
    "@",
    "//",
    "/",
    "%",
    "**",
];

/// A binary operator number (0–34, §2.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BinaryOp(u8);

impl BinaryOp {
    /// The operator with this symbol (`"+"`, `"+="`, `"exc-match"`, …).
    pub fn from_symbol(symbol: &str) -> Option<BinaryOp> {
        BINARY_OPS
            .iter()
            .position(|s| *s == symbol)
            .and_then(|i| u8::try_from(i).ok())
            .map(BinaryOp)
    }

    /// The operator with this number.
    pub fn from_number(number: u8) -> Option<BinaryOp> {
        (usize::from(number) < BINARY_OPS.len()).then_some(BinaryOp(number))
    }

    /// The operator number.
    pub fn number(self) -> u8 {
        self.0
    }

    /// The opcode byte.
    pub fn byte(self) -> u8 {
        BINARY_OP_BASE + self.0
    }

    /// The operator's symbol.
    pub fn symbol(self) -> &'static str {
        BINARY_OPS[usize::from(self.0)]
    }
}

/// What one opcode byte means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// A named opcode with its table row.
    Named(&'static OpInfo),
    /// Compact `LOAD_CONST_SMALL_INT` with its value.
    SmallInt(i8),
    /// Compact `LOAD_FAST` of a slot 0–15.
    LoadFast(u8),
    /// Compact `STORE_FAST` of a slot 0–15.
    StoreFast(u8),
    /// `UNARY_OP`.
    Unary(UnaryOp),
    /// `BINARY_OP`.
    Binary(BinaryOp),
}

/// Decode an opcode byte; `None` for the unused bytes listed in §2.7.
pub fn decode(byte: u8) -> Option<Opcode> {
    match byte {
        SMALL_INT_COMPACT_FIRST..=SMALL_INT_COMPACT_LAST => {
            // The compact range is 0x70..=0xAF for -16..=47, i.e. value = byte - 0x80.
            Some(Opcode::SmallInt((i16::from(byte) - 0x80) as i8))
        }
        0xB0..=0xBF => Some(Opcode::LoadFast(byte - LOAD_FAST_COMPACT)),
        0xC0..=0xCF => Some(Opcode::StoreFast(byte - STORE_FAST_COMPACT)),
        0xD0..=0xD3 => UnaryOp::from_byte(byte).map(Opcode::Unary),
        0xD7..=0xF9 => BinaryOp::from_number(byte - BINARY_OP_BASE).map(Opcode::Binary),
        _ => info(byte).map(Opcode::Named),
    }
}

/// The table row of a named opcode byte.
pub fn info(byte: u8) -> Option<&'static OpInfo> {
    TABLE
        .binary_search_by_key(&byte, |o| o.byte)
        .ok()
        .map(|i| &TABLE[i])
}

/// The table row for a mnemonic. The emitter looks an opcode up by name for every
/// instruction it writes, so the rows are indexed once instead of scanned each time.
pub fn by_name(name: &str) -> Option<&'static OpInfo> {
    row_by_name(name).map(|row| &TABLE[row])
}

fn row_by_name(name: &str) -> Option<usize> {
    static ROWS: LazyLock<FxHashMap<&'static str, usize>> =
        LazyLock::new(|| TABLE.iter().enumerate().map(|(i, o)| (o.name, i)).collect());
    ROWS.get(name).copied()
}

/// [`by_name`] for a `'static` mnemonic, as the emitter passes them (string literals): the
/// row is remembered by the string's address and length, which identify a `'static` string's
/// bytes for good, so a repeated look-up costs one load instead of hashing and comparing
/// the name.
pub fn by_static_name(name: &'static str) -> Option<&'static OpInfo> {
    use std::sync::atomic::{AtomicU64, Ordering};
    // Direct-mapped; each slot packs address (48 bits), length (8) and row (8) into one word,
    // so concurrent callers see a whole entry or none.
    static CACHE: [AtomicU64; 256] = [const { AtomicU64::new(0) }; 256];
    let (addr, len) = (name.as_ptr() as u64, name.len() as u64);
    if addr >= 1 << 48 || len >= 1 << 8 {
        return by_name(name);
    }
    let key = (addr << 16) | (len << 8);
    let slot = &CACHE[((addr ^ (addr >> 8)) & 0xFF) as usize];
    let entry = slot.load(Ordering::Relaxed);
    if entry != 0 && entry & !0xFF == key {
        return TABLE.get((entry & 0xFF) as usize);
    }
    let row = row_by_name(name)?;
    if let Ok(row) = u8::try_from(row) {
        slot.store(key | u64::from(row), Ordering::Relaxed);
    }
    TABLE.get(row)
}

/// The stack delta of one instruction given its decoded vuint operand (0 if none) and extra
/// byte (0 if none). For WITH_CLEANUP this is the net −2; see [`StackEffect::WithCleanup`].
pub fn stack_delta(effect: StackEffect, arg: u64, extra: u8) -> i64 {
    let arg = i64::try_from(arg).unwrap_or(i64::MAX / 4);
    match effect {
        StackEffect::Fixed(d) => i64::from(d),
        StackEffect::OneMinusArg => 1 - arg,
        StackEffect::ArgMinusOne => arg - 1,
        StackEffect::UnpackEx => (arg & 0xFF) + (arg >> 8),
        StackEffect::Call { extra: e } => -((arg & 0xFF) + 2 * (arg >> 8) + i64::from(e)),
        StackEffect::ClosureBase(base) => i64::from(base) - i64::from(extra),
        StackEffect::StoreComp => {
            if arg & 3 == 1 {
                -2
            } else {
                -1
            }
        }
        StackEffect::WithCleanup => -2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_name_look_ups_agree_with_the_table() {
        assert!(TABLE.len() <= 256, "rows must fit the cache's 8 bits");
        for _ in 0..2 {
            for o in TABLE {
                assert_eq!(by_static_name(o.name), Some(o));
                assert_eq!(by_name(o.name), Some(o));
            }
            // A copy at another address, a prefix and an unknown name.
            let copy: &'static str = String::from("LOAD_FAST_N").leak();
            assert_eq!(by_static_name(copy).map(|o| o.name), Some("LOAD_FAST_N"));
            assert_eq!(by_static_name(&copy[..9]), None);
            assert_eq!(by_static_name("NOT_AN_OPCODE"), None);
        }
    }

    #[test]
    fn table_is_sorted_and_matches_the_format_formula() {
        for pair in TABLE.windows(2) {
            assert!(pair[0].byte < pair[1].byte, "{:?}", pair);
        }
        for o in TABLE {
            // §2.7: format = (0x3A4 >> 2*(op>>4)) & 3 with 0 byte, 1 qstr, 2 vuint, 3 offset.
            let fmt = (0x3A4u32 >> (2 * u32::from(o.byte >> 4))) & 3;
            let expect = match o.operand {
                Operand::None => 0,
                Operand::Qstr => 1,
                Operand::Uint | Operand::SmallInt => 2,
                Operand::SignedJump | Operand::UnsignedJump => 3,
            };
            assert_eq!(fmt, expect, "{}", o.name);
            // §2.7: the extra byte is carried by the used opcodes with op & 0x9E == 0.
            assert_eq!(o.extra_byte, o.byte & 0x9E == 0, "{}", o.name);
        }
    }

    #[test]
    fn unused_bytes_decode_to_none() {
        let unused: Vec<u8> = (0x00..=0x0F)
            .chain(0x1D..=0x1F)
            .chain(0x38..=0x3F)
            .chain([0x41])
            .chain(0x4C..=0x4F)
            .chain([0x60, 0x61])
            .chain(0x6A..=0x6F)
            .chain(0xD4..=0xD6)
            .chain(0xFA..=0xFF)
            .collect();
        for b in 0..=255u8 {
            assert_eq!(decode(b).is_none(), unused.contains(&b), "byte {b:#04x}");
        }
    }

    #[test]
    fn compact_ranges_and_examples() {
        assert_eq!(decode(0x70), Some(Opcode::SmallInt(-16)));
        assert_eq!(decode(0x81), Some(Opcode::SmallInt(1)));
        assert_eq!(decode(0xAF), Some(Opcode::SmallInt(47)));
        assert_eq!(decode(0xB1), Some(Opcode::LoadFast(1)));
        assert_eq!(decode(0xCF), Some(Opcode::StoreFast(15)));
        assert_eq!(decode(0xD3), Some(Opcode::Unary(UnaryOp::Not)));
        // §2.7 examples: + = F2, < = D7, in = DD, is = DE, exc-match = DF, += = E5, ** = F9.
        for (sym, byte) in [
            ("+", 0xF2),
            ("<", 0xD7),
            ("in", 0xDD),
            ("is", 0xDE),
            ("exc-match", 0xDF),
            ("+=", 0xE5),
            ("**", 0xF9),
        ] {
            assert_eq!(BinaryOp::from_symbol(sym).map(BinaryOp::byte), Some(byte));
        }
    }

    #[test]
    fn stack_effects() {
        let call = by_name("CALL_METHOD").map(|o| o.stack);
        // n_pos=1, n_kw=1: −(1 + 2 + 1)
        assert_eq!(call.map(|e| stack_delta(e, 0x101, 0)), Some(-4));
        let clo = by_name("MAKE_CLOSURE_DEFARGS").map(|o| o.stack);
        assert_eq!(clo.map(|e| stack_delta(e, 0, 2)), Some(-3));
        assert_eq!(stack_delta(StackEffect::StoreComp, (5 << 2) | 1, 0), -2);
        assert_eq!(stack_delta(StackEffect::UnpackEx, 1 | (2 << 8), 0), 3);
    }
}
