//! Decoding one bytecode instruction at a time, driven by the opcode table in
//! [`crate::mpy::opcode`]. Shared by the file reader (which validates operands) and the
//! disassembler.

use crate::mpy::format::jump::{decode_jump, JumpOffset};
use crate::mpy::format::{decode_sint, MpyError, Reader};
use crate::mpy::opcode::{self, Opcode, Operand};

/// A decoded operand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// No operand.
    None,
    /// A qstr-table index.
    Qstr(u64),
    /// A vuint.
    Uint(u64),
    /// A signed small int.
    SmallInt(i64),
    /// A jump: its encoded offset and the target relative to the bytecode start.
    Jump {
        /// The encoded offset.
        offset: JumpOffset,
        /// `end of offset field + offset`, relative to the bytecode start.
        target: i64,
    },
}

/// One decoded instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Offset of the opcode byte, relative to the bytecode start.
    pub offset: usize,
    /// Encoded length in bytes.
    pub len: usize,
    /// The opcode.
    pub opcode: Opcode,
    /// The operand.
    pub arg: Arg,
    /// The trailing extra byte of 0x20, 0x21 and 0x40.
    pub extra: Option<u8>,
}

impl Insn {
    /// The mnemonic.
    pub fn name(&self) -> &'static str {
        match self.opcode {
            Opcode::Named(info) => info.name,
            Opcode::SmallInt(_) => "LOAD_CONST_SMALL_INT",
            Opcode::LoadFast(_) => "LOAD_FAST",
            Opcode::StoreFast(_) => "STORE_FAST",
            Opcode::Unary(_) => "UNARY_OP",
            Opcode::Binary(_) => "BINARY_OP",
        }
    }
}

/// Decode the instruction at `pos` of `code`, whose first byte is at file offset `base`.
pub fn decode_insn(code: &[u8], pos: usize, base: usize) -> Result<Insn, MpyError> {
    let mut r = Reader::new(code, base);
    // Skip to `pos` through the reader so that error offsets stay absolute.
    r.bytes(pos, "bytecode")?;
    let at = r.offset();
    let byte = r.byte("an opcode")?;
    let opcode = opcode::decode(byte).ok_or(MpyError::UnknownOpcode { offset: at, byte })?;
    let mut extra = None;
    let arg = match opcode {
        Opcode::Named(info) => {
            let arg = match info.operand {
                Operand::None => Arg::None,
                Operand::Qstr => Arg::Qstr(r.vuint_lax("a qstr operand")?),
                Operand::Uint => Arg::Uint(r.vuint_lax("an operand")?),
                Operand::SmallInt => Arg::SmallInt(decode_sint(&mut r)?),
                Operand::SignedJump | Operand::UnsignedJump => {
                    let signed = info.operand == Operand::SignedJump;
                    let offset = decode_jump(signed, &mut r)?;
                    Arg::Jump {
                        offset,
                        target: r.pos() as i64 + offset.value,
                    }
                }
            };
            if info.extra_byte {
                extra = Some(r.byte("an opcode's extra byte")?);
            }
            arg
        }
        _ => Arg::None,
    };
    Ok(Insn {
        offset: pos,
        len: r.pos() - pos,
        opcode,
        arg,
        extra,
    })
}

/// Decode a whole bytecode block.
pub fn decode_all(code: &[u8], base: usize) -> Result<Vec<Insn>, MpyError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < code.len() {
        let insn = decode_insn(code, pos, base)?;
        pos += insn.len;
        out.push(insn);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_worked_example_module_code() {
        // §2.8 module bytecode.
        let code = [
            0x81, 0x16, 0x05, 0x82, 0x2A, 0x01, 0x2C, 0x00, 0x83, 0x10, 0x02, 0x62, 0x33, 0x00,
            0x16, 0x04, 0x11, 0x06, 0x11, 0x04, 0x11, 0x05, 0x10, 0x03, 0x84, 0x34, 0x82, 0x01,
            0x34, 0x01, 0x59, 0x51, 0x63,
        ];
        let insns = decode_all(&code, 100).expect("decodes");
        let names: Vec<&str> = insns.iter().map(Insn::name).collect();
        assert_eq!(
            names[..4],
            [
                "LOAD_CONST_SMALL_INT",
                "STORE_NAME",
                "LOAD_CONST_SMALL_INT",
                "BUILD_TUPLE"
            ]
        );
        assert_eq!(insns[1].arg, Arg::Qstr(5));
        assert_eq!(insns.last().map(Insn::name), Some("RETURN_VALUE"));
        assert_eq!(insns.iter().map(|i| i.len).sum::<usize>(), code.len());
    }

    #[test]
    fn jumps_and_errors() {
        // UNWIND_JUMP +13 depth 0x81; offset field ends at 2, so the target is 15.
        let insn = decode_insn(&[0x40, 0x4D, 0x81], 0, 0).expect("decodes");
        assert_eq!(insn.extra, Some(0x81));
        assert!(matches!(insn.arg, Arg::Jump { target: 15, .. }));
        assert_eq!(
            decode_insn(&[0x59, 0x00], 1, 10),
            Err(MpyError::UnknownOpcode {
                offset: 11,
                byte: 0
            })
        );
        assert!(matches!(
            decode_insn(&[0x42], 0, 10),
            Err(MpyError::Truncated { offset: 11, .. })
        ));
    }
}
