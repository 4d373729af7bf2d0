//! The Python → MicroPython `.mpy` v6.3 compiler and its disassembler. No I/O happens here.

pub mod float;
