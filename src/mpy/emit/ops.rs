//! One emitter method per opcode or operation (§2.7). Opcode bytes and stack deltas come from
//! [`crate::mpy::opcode`]; this file only decides operand encodings and which qstrs register
//! in the scope pass (§3.10).

use super::{Emitter, Label, ScopeId};
use crate::mpy::format::varint::{encode_sint, encode_vuint};
use crate::mpy::format::Const;
use crate::mpy::opcode::{
    self, stack_delta, BinaryOp, UnaryOp, COMPACT_FAST_SLOTS, LOAD_FAST_COMPACT,
    SMALL_INT_COMPACT_MAX, SMALL_INT_COMPACT_MIN, STORE_FAST_COMPACT,
};

/// The collection a `BUILD_*` opcode makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildKind {
    /// `BUILD_TUPLE n`
    Tuple,
    /// `BUILD_LIST n`
    List,
    /// `BUILD_MAP n` (n is a size hint; items follow with `STORE_MAP`)
    Map,
    /// `BUILD_SET n`
    Set,
    /// `BUILD_SLICE n` (2 or 3)
    Slice,
}

/// The container a comprehension stores into (`STORE_COMP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompKind {
    /// list comprehension (kind 0)
    List = 0,
    /// dict comprehension (kind 1)
    Dict = 1,
    /// set comprehension (kind 2)
    Set = 2,
}

/// The named opcode byte for a mnemonic; the table is static, so a miss is a typo caught by
/// the tests.
fn byte(name: &'static str) -> u8 {
    opcode::by_static_name(name).map_or(0, |o| o.byte)
}

/// The opcode byte and stack delta of a named opcode given its operand and extra byte, from
/// one look-up (this runs for nearly every instruction).
fn byte_delta(name: &'static str, arg: u64, extra: u8) -> (u8, i64) {
    opcode::by_static_name(name).map_or((0, 0), |o| (o.byte, stack_delta(o.stack, arg, extra)))
}

impl Emitter {
    /// An opcode with no operand.
    fn simple(&mut self, name: &'static str) {
        let (op, delta) = byte_delta(name, 0, 0);
        self.raw(&[op], delta);
    }

    /// An opcode with a vuint operand.
    fn with_uint(&mut self, name: &'static str, arg: u64) {
        let (op, delta) = byte_delta(name, arg, 0);
        self.raw_with(delta, |code| {
            code.push(op);
            encode_vuint(arg, code);
        });
    }

    /// An opcode with a qstr operand; `is_name` ops register nothing in the scope pass.
    fn with_qstr(&mut self, name: &'static str, text: &[u8], is_name: bool) {
        if is_name && !self.in_code_pass() {
            return;
        }
        let q = self.qstr(text);
        let (op, delta) = byte_delta(name, 0, 0);
        self.raw_with(delta, |code| {
            code.push(op);
            encode_vuint(u64::from(q), code);
        });
    }

    // ----- constants -----

    /// `LOAD_CONST_NONE`
    pub fn load_const_none(&mut self) {
        self.simple("LOAD_CONST_NONE");
    }

    /// `LOAD_CONST_TRUE` / `LOAD_CONST_FALSE`
    pub fn load_const_bool(&mut self, value: bool) {
        self.simple(if value {
            "LOAD_CONST_TRUE"
        } else {
            "LOAD_CONST_FALSE"
        });
    }

    /// A small int: the compact opcode for −16..=47, else `LOAD_CONST_SMALL_INT` with a signed
    /// varint. Whether a value is "small" (fits the small-int bits) is the compiler's call.
    pub fn load_const_small_int(&mut self, value: i64) {
        if (SMALL_INT_COMPACT_MIN..=SMALL_INT_COMPACT_MAX).contains(&value) {
            self.raw(&[(value + 0x80) as u8], 1);
        } else {
            let op = byte("LOAD_CONST_SMALL_INT");
            self.raw_with(1, |code| {
                code.push(op);
                encode_sint(value, code);
            });
        }
    }

    /// `LOAD_CONST_STRING q`: a string constant that is a qstr (registers in every pass).
    pub fn load_const_string(&mut self, text: &[u8]) {
        self.with_qstr("LOAD_CONST_STRING", text, false);
    }

    /// `LOAD_CONST_OBJ`: adds `c` to the object table (deduplicated, in every pass).
    pub fn load_const_obj(&mut self, c: Const) {
        self.load_const_object(c, Vec::new());
    }

    /// `LOAD_CONST_OBJ` of a constant whose NaNs are the objects `nan_ids` names (see
    /// [`ConstTable::add_object`](crate::mpy::format::ConstTable::add_object)).
    pub fn load_const_object(&mut self, c: Const, nan_ids: Vec<u32>) {
        let i = self.constant(c, nan_ids);
        self.with_uint("LOAD_CONST_OBJ", u64::from(i));
    }

    /// `LOAD_NULL`
    pub fn load_null(&mut self) {
        self.simple("LOAD_NULL");
    }

    // ----- names -----

    /// `LOAD_FAST` (compact for slots 0–15, else `LOAD_FAST_N`).
    pub fn load_fast(&mut self, slot: u32) {
        if slot < COMPACT_FAST_SLOTS {
            self.raw(&[LOAD_FAST_COMPACT + slot as u8], 1);
        } else {
            self.with_uint("LOAD_FAST_N", u64::from(slot));
        }
    }

    /// `STORE_FAST` (compact for slots 0–15, else `STORE_FAST_N`).
    pub fn store_fast(&mut self, slot: u32) {
        if slot < COMPACT_FAST_SLOTS {
            self.raw(&[STORE_FAST_COMPACT + slot as u8], -1);
        } else {
            self.with_uint("STORE_FAST_N", u64::from(slot));
        }
    }

    /// `DELETE_FAST` (always the long form).
    pub fn delete_fast(&mut self, slot: u32) {
        self.with_uint("DELETE_FAST", u64::from(slot));
    }

    /// `LOAD_DEREF`
    pub fn load_deref(&mut self, slot: u32) {
        self.with_uint("LOAD_DEREF", u64::from(slot));
    }

    /// `STORE_DEREF`
    pub fn store_deref(&mut self, slot: u32) {
        self.with_uint("STORE_DEREF", u64::from(slot));
    }

    /// `DELETE_DEREF`
    pub fn delete_deref(&mut self, slot: u32) {
        self.with_uint("DELETE_DEREF", u64::from(slot));
    }

    /// `LOAD_NAME q` (not registered in the scope pass).
    pub fn load_name(&mut self, name: &[u8]) {
        self.with_qstr("LOAD_NAME", name, true);
    }

    /// `STORE_NAME q` (not registered in the scope pass).
    pub fn store_name(&mut self, name: &[u8]) {
        self.with_qstr("STORE_NAME", name, true);
    }

    /// `DELETE_NAME q` (not registered in the scope pass).
    pub fn delete_name(&mut self, name: &[u8]) {
        self.with_qstr("DELETE_NAME", name, true);
    }

    /// `LOAD_GLOBAL q` (not registered in the scope pass).
    pub fn load_global(&mut self, name: &[u8]) {
        self.with_qstr("LOAD_GLOBAL", name, true);
    }

    /// `STORE_GLOBAL q` (not registered in the scope pass).
    pub fn store_global(&mut self, name: &[u8]) {
        self.with_qstr("STORE_GLOBAL", name, true);
    }

    /// `DELETE_GLOBAL q` (not registered in the scope pass).
    pub fn delete_global(&mut self, name: &[u8]) {
        self.with_qstr("DELETE_GLOBAL", name, true);
    }

    /// `LOAD_ATTR q`
    pub fn load_attr(&mut self, attr: &[u8]) {
        self.with_qstr("LOAD_ATTR", attr, false);
    }

    /// `STORE_ATTR q`
    pub fn store_attr(&mut self, attr: &[u8]) {
        self.with_qstr("STORE_ATTR", attr, false);
    }

    /// `LOAD_METHOD q`
    pub fn load_method(&mut self, name: &[u8]) {
        self.with_qstr("LOAD_METHOD", name, false);
    }

    /// `LOAD_SUPER_METHOD q`
    pub fn load_super_method(&mut self, name: &[u8]) {
        self.with_qstr("LOAD_SUPER_METHOD", name, false);
    }

    /// `IMPORT_NAME q`
    pub fn import_name(&mut self, module: &[u8]) {
        self.with_qstr("IMPORT_NAME", module, false);
    }

    /// `IMPORT_FROM q`
    pub fn import_from(&mut self, name: &[u8]) {
        self.with_qstr("IMPORT_FROM", name, false);
    }

    /// `IMPORT_STAR`
    pub fn import_star(&mut self) {
        self.simple("IMPORT_STAR");
    }

    /// `LOAD_BUILD_CLASS`
    pub fn load_build_class(&mut self) {
        self.simple("LOAD_BUILD_CLASS");
    }

    /// `LOAD_SUBSCR`
    pub fn load_subscr(&mut self) {
        self.simple("LOAD_SUBSCR");
    }

    /// `STORE_SUBSCR`
    pub fn store_subscr(&mut self) {
        self.simple("STORE_SUBSCR");
    }

    // ----- stack -----

    /// `DUP_TOP`
    pub fn dup_top(&mut self) {
        self.simple("DUP_TOP");
    }

    /// `DUP_TOP_TWO`
    pub fn dup_top_two(&mut self) {
        self.simple("DUP_TOP_TWO");
    }

    /// `POP_TOP`
    pub fn pop_top(&mut self) {
        self.simple("POP_TOP");
    }

    /// `ROT_TWO`
    pub fn rot_two(&mut self) {
        self.simple("ROT_TWO");
    }

    /// `ROT_THREE`
    pub fn rot_three(&mut self) {
        self.simple("ROT_THREE");
    }

    // ----- jumps and blocks -----

    /// `JUMP label`; the code after it is dead until the next label.
    pub fn jump(&mut self, label: Label) {
        self.jump_op(byte("JUMP"), true, label, None, 0);
        self.mark_dead();
    }

    /// `POP_JUMP_IF_TRUE` (`cond` true) or `POP_JUMP_IF_FALSE`.
    pub fn pop_jump_if(&mut self, cond: bool, label: Label) {
        let name = if cond {
            "POP_JUMP_IF_TRUE"
        } else {
            "POP_JUMP_IF_FALSE"
        };
        self.jump_op(byte(name), true, label, None, -1);
    }

    /// `JUMP_IF_TRUE_OR_POP` (`cond` true, for `or`) or `JUMP_IF_FALSE_OR_POP`.
    pub fn jump_if_or_pop(&mut self, cond: bool, label: Label) {
        let name = if cond {
            "JUMP_IF_TRUE_OR_POP"
        } else {
            "JUMP_IF_FALSE_OR_POP"
        };
        self.jump_op(byte(name), false, label, None, -1);
    }

    /// `UNWIND_JUMP label, depth` (`| 0x80` when leaving a `for` loop); dead code follows.
    pub fn unwind_jump(&mut self, label: Label, depth: u8, from_for: bool) {
        let extra = (depth & 0x7F) | if from_for { 0x80 } else { 0 };
        self.jump_op(byte("UNWIND_JUMP"), true, label, Some(extra), 0);
        self.mark_dead();
    }

    /// `SETUP_WITH label`
    pub fn setup_with(&mut self, label: Label) {
        self.jump_op(byte("SETUP_WITH"), false, label, None, 2);
    }

    /// `SETUP_EXCEPT label`
    pub fn setup_except(&mut self, label: Label) {
        self.jump_op(byte("SETUP_EXCEPT"), false, label, None, 0);
    }

    /// `SETUP_FINALLY label`
    pub fn setup_finally(&mut self, label: Label) {
        self.jump_op(byte("SETUP_FINALLY"), false, label, None, 0);
    }

    /// `POP_EXCEPT_JUMP label`; dead code follows.
    pub fn pop_except_jump(&mut self, label: Label) {
        self.jump_op(byte("POP_EXCEPT_JUMP"), false, label, None, 0);
        self.mark_dead();
    }

    /// `FOR_ITER label`
    pub fn for_iter(&mut self, label: Label) {
        self.jump_op(byte("FOR_ITER"), false, label, None, 1);
    }

    /// `WITH_CLEANUP`: the stack peaks 2 higher before dropping by 4 (§2.7).
    pub fn with_cleanup(&mut self) {
        self.adjust_stack(2);
        self.raw(&[byte("WITH_CLEANUP")], -4);
    }

    /// `END_FINALLY`
    pub fn end_finally(&mut self) {
        self.simple("END_FINALLY");
    }

    /// `GET_ITER` (heap iterator).
    pub fn get_iter(&mut self) {
        self.simple("GET_ITER");
    }

    /// `GET_ITER_STACK` (4-slot iterator on the stack).
    pub fn get_iter_stack(&mut self) {
        self.simple("GET_ITER_STACK");
    }

    // ----- operators -----

    /// `UNARY_OP`
    pub fn unary_op(&mut self, op: UnaryOp) {
        self.raw(&[op.byte()], 0);
    }

    /// `BINARY_OP`
    pub fn binary_op(&mut self, op: BinaryOp) {
        self.raw(&[op.byte()], -1);
    }

    // ----- collections -----

    /// `BUILD_TUPLE/LIST/MAP/SET/SLICE n`
    pub fn build(&mut self, kind: BuildKind, n: u32) {
        let name = match kind {
            BuildKind::Tuple => "BUILD_TUPLE",
            BuildKind::List => "BUILD_LIST",
            BuildKind::Map => "BUILD_MAP",
            BuildKind::Set => "BUILD_SET",
            BuildKind::Slice => "BUILD_SLICE",
        };
        self.with_uint(name, u64::from(n));
    }

    /// `STORE_MAP` (value pushed before key).
    pub fn store_map(&mut self) {
        self.simple("STORE_MAP");
    }

    /// `STORE_COMP (stack_index << 2) | kind` (§3.6.5).
    pub fn store_comp(&mut self, kind: CompKind, stack_index: u32) {
        self.with_uint("STORE_COMP", (u64::from(stack_index) << 2) | kind as u64);
    }

    /// `UNPACK_SEQUENCE n`
    pub fn unpack_sequence(&mut self, n: u32) {
        self.with_uint("UNPACK_SEQUENCE", u64::from(n));
    }

    /// `UNPACK_EX n_before | n_after << 8`
    pub fn unpack_ex(&mut self, n_before: u32, n_after: u32) {
        self.with_uint("UNPACK_EX", u64::from(n_before) | (u64::from(n_after) << 8));
    }

    // ----- functions and calls -----

    /// `MAKE_FUNCTION child`
    pub fn make_function(&mut self, child: ScopeId) {
        let i = self.child_index(child);
        self.with_uint("MAKE_FUNCTION", i);
    }

    /// `MAKE_FUNCTION_DEFARGS child` (pops the defaults tuple and the kw-defaults dict/NULL).
    pub fn make_function_defargs(&mut self, child: ScopeId) {
        let i = self.child_index(child);
        self.with_uint("MAKE_FUNCTION_DEFARGS", i);
    }

    /// `MAKE_CLOSURE child, n_closed` (the closed-over values are already pushed).
    pub fn make_closure(&mut self, child: ScopeId, n_closed: u8) {
        self.closure("MAKE_CLOSURE", child, n_closed);
    }

    /// `MAKE_CLOSURE_DEFARGS child, n_closed`
    pub fn make_closure_defargs(&mut self, child: ScopeId, n_closed: u8) {
        self.closure("MAKE_CLOSURE_DEFARGS", child, n_closed);
    }

    fn closure(&mut self, name: &'static str, child: ScopeId, n_closed: u8) {
        let i = self.child_index(child);
        let (op, delta) = byte_delta(name, i, n_closed);
        self.raw_with(delta, |code| {
            code.push(op);
            encode_vuint(i, code);
            code.push(n_closed);
        });
    }

    /// `CALL_FUNCTION` or, with `star` (a star bitmap was pushed last), `CALL_FUNCTION_VAR_KW`.
    pub fn call_function(&mut self, n_pos: u8, n_kw: u8, star: bool) {
        let name = if star {
            "CALL_FUNCTION_VAR_KW"
        } else {
            "CALL_FUNCTION"
        };
        self.with_uint(name, u64::from(n_pos) | (u64::from(n_kw) << 8));
    }

    /// `CALL_METHOD` or `CALL_METHOD_VAR_KW`.
    pub fn call_method(&mut self, n_pos: u8, n_kw: u8, star: bool) {
        let name = if star {
            "CALL_METHOD_VAR_KW"
        } else {
            "CALL_METHOD"
        };
        self.with_uint(name, u64::from(n_pos) | (u64::from(n_kw) << 8));
    }

    /// `RETURN_VALUE`; dead code follows.
    pub fn return_value(&mut self) {
        self.simple("RETURN_VALUE");
        self.mark_dead();
    }

    /// `RAISE_LAST` (bare `raise`); dead code follows.
    pub fn raise_last(&mut self) {
        self.simple("RAISE_LAST");
        self.mark_dead();
    }

    /// `RAISE_OBJ`; dead code follows.
    pub fn raise_obj(&mut self) {
        self.simple("RAISE_OBJ");
        self.mark_dead();
    }

    /// `RAISE_FROM`; dead code follows.
    pub fn raise_from(&mut self) {
        self.simple("RAISE_FROM");
        self.mark_dead();
    }

    /// `YIELD_VALUE`
    pub fn yield_value(&mut self) {
        self.simple("YIELD_VALUE");
    }

    /// `YIELD_FROM`
    pub fn yield_from(&mut self) {
        self.simple("YIELD_FROM");
    }
}
