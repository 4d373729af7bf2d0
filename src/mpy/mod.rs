//! The Python → MicroPython `.mpy` v6.3 compiler and its disassembler. No I/O happens here.

pub mod bytecode;
pub mod compile;
pub mod disasm;
pub mod emit;
pub mod file;
pub mod float;
pub mod format;
pub mod lexer;
pub mod opcode;
pub mod parse;
pub mod scope;
