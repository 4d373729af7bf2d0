//! The primitive encodings of the `.mpy` v6.3 container (mpy-format.md §2), each with an encoder
//! and a decoder.
//!
//! Decoders read through a [`Reader`] that knows its absolute file offset, so every
//! [`MpyError`] names the byte where the problem is. Decoders used for the container structure
//! are *strict*: they reject encodings mpy-cross never writes (non-minimal varints, superfluous
//! prelude bytes). That strictness is what makes `MpyFile::parse` followed by `to_bytes`
//! reproduce every accepted input exactly.

pub mod constant;
pub mod header;
pub mod jump;
pub mod linetable;
pub mod prelude;
pub mod qstr;
pub mod varint;

pub use constant::{Const, ConstTable};
pub use header::{Header, Target};
pub use jump::{decode_jump, encode_jump, JumpOffset};
pub use linetable::{LineEntry, LineTable};
pub use prelude::{PreludeSize, Signature};
pub use qstr::{Qstr, QstrTable};
pub use varint::{decode_sint, encode_sint, encode_vuint};

/// Everything that can be wrong with a `.mpy` file. Offsets are absolute byte offsets into the
/// file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MpyError {
    /// The data ended inside a field.
    #[error("offset {offset}: file ends inside {what}; the file is truncated")]
    Truncated {
        /// Where the incomplete field started.
        offset: usize,
        /// What was being read.
        what: &'static str,
    },
    /// The first byte is neither `M` nor `C`.
    #[error(
        "offset 0: magic byte {found:#04x} is neither 'M' (0x4d) nor 'C' (0x43); not a .mpy file"
    )]
    BadMagic {
        /// The byte found.
        found: u8,
    },
    /// The major version is not 6.
    #[error("offset 1: .mpy version {found}, only version 6 is supported")]
    BadVersion {
        /// The version found.
        found: u8,
    },
    /// The header's flag byte has reserved bits set.
    #[error("offset 2: header flags {found:#04x} have the reserved bit 7 set")]
    BadFlags {
        /// The flags byte.
        found: u8,
    },
    /// A varint does not fit in 64 bits.
    #[error("offset {offset}: variable-length integer is too long")]
    VarintOverflow {
        /// Where the varint starts.
        offset: usize,
    },
    /// An encoding with superfluous bytes that mpy-cross never writes.
    #[error("offset {offset}: non-minimal encoding of {what}; mpy-cross never writes this")]
    NonCanonical {
        /// Where the field starts.
        offset: usize,
        /// What was being read.
        what: &'static str,
    },
    /// A value is too large for its field.
    #[error("offset {offset}: {what} value {value} is out of range")]
    OutOfRange {
        /// Where the field starts.
        offset: usize,
        /// What was being read.
        what: &'static str,
        /// The value found.
        value: u64,
    },
    /// A static qstr reference outside the static list.
    #[error("offset {offset}: static qstr #{index} does not exist (the static list has 1..=165)")]
    BadStaticQstr {
        /// Where the entry starts.
        offset: usize,
        /// The index found.
        index: u64,
    },
    /// A string without its `00` terminator.
    #[error("offset {offset}: string is not followed by its 00 terminator")]
    MissingNul {
        /// Where the terminator should be.
        offset: usize,
    },
    /// An unknown constant-object type code.
    #[error("offset {offset}: unknown constant object type {code}")]
    BadConstType {
        /// Where the entry starts.
        offset: usize,
        /// The code found.
        code: u8,
    },
    /// The text of an int/float/complex constant is not a number.
    #[error("offset {offset}: constant text is not a valid {what}")]
    BadConstText {
        /// Where the text starts.
        offset: usize,
        /// `int`, `float` or `complex`.
        what: &'static str,
    },
    /// Tuples nested deeper than this reader follows.
    #[error("offset {offset}: constants nested too deeply")]
    TooDeep {
        /// Where the nested entry starts.
        offset: usize,
    },
    /// A raw code that is not bytecode (native, viper, inline asm).
    #[error("offset {offset}: raw code kind {kind} is not bytecode; native code is not supported")]
    NotBytecode {
        /// Where the kind/size word starts.
        offset: usize,
        /// The kind found.
        kind: u8,
    },
    /// The prelude's declared sizes run past the end of the code block.
    #[error("offset {offset}: {what} runs past the end of the code block")]
    PreludeOverrun {
        /// Where the overrunning part starts.
        offset: usize,
        /// Which part.
        what: &'static str,
    },
    /// A reference to a qstr index outside the table.
    #[error("offset {offset}: qstr index {index} is out of range (the table has {len})")]
    QstrIndex {
        /// Where the reference is.
        offset: usize,
        /// The index found.
        index: u64,
        /// The table length.
        len: usize,
    },
    /// A reference to an object index outside the table.
    #[error("offset {offset}: constant index {index} is out of range (the table has {len})")]
    ConstIndex {
        /// Where the reference is.
        offset: usize,
        /// The index found.
        index: u64,
        /// The table length.
        len: usize,
    },
    /// A reference to a child raw code that does not exist.
    #[error("offset {offset}: child index {index} is out of range (the raw code has {len})")]
    ChildIndex {
        /// Where the reference is.
        offset: usize,
        /// The index found.
        index: u64,
        /// The number of children.
        len: usize,
    },
    /// An opcode byte that v6.3 does not define.
    #[error("offset {offset}: unknown opcode {byte:#04x}")]
    UnknownOpcode {
        /// Where the opcode is.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// A jump whose target lies outside the bytecode.
    #[error("offset {offset}: jump target {target} lies outside the bytecode (0..={len})")]
    JumpTarget {
        /// Where the jump opcode is.
        offset: usize,
        /// The computed target (relative to the bytecode start).
        target: i64,
        /// The bytecode length.
        len: usize,
    },
    /// Raw codes nested deeper than this reader follows.
    #[error("offset {offset}: raw codes nested too deeply")]
    RawCodeTooDeep {
        /// Where the nested raw code starts.
        offset: usize,
    },
    /// Bytes after the module's raw code.
    #[error("offset {offset}: {count} unexpected bytes after the module code")]
    TrailingBytes {
        /// Where they start.
        offset: usize,
        /// How many.
        count: usize,
    },
}

/// A cursor over a byte slice that remembers the absolute file offset of its first byte.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    /// A reader over `data`, whose first byte is at file offset `base`.
    pub fn new(data: &'a [u8], base: usize) -> Self {
        Reader { data, pos: 0, base }
    }

    /// The absolute offset of the next byte.
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    /// The position relative to this reader's start.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Read one byte.
    pub fn byte(&mut self, what: &'static str) -> Result<u8, MpyError> {
        let b = *self.data.get(self.pos).ok_or(MpyError::Truncated {
            offset: self.offset(),
            what,
        })?;
        self.pos += 1;
        Ok(b)
    }

    /// Read `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MpyError> {
        if n > self.remaining() {
            return Err(MpyError::Truncated {
                offset: self.offset(),
                what,
            });
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Split off the next `n` bytes as their own reader (for a code block or source info).
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, MpyError> {
        let base = self.offset();
        Ok(Reader::new(self.bytes(n, what)?, base))
    }

    /// Read a vuint, accepting any length up to 64 bits (used inside bytecode).
    pub fn vuint_lax(&mut self, what: &'static str) -> Result<u64, MpyError> {
        let start = self.offset();
        let mut value: u64 = 0;
        loop {
            let b = self.byte(what)?;
            if value >> 57 != 0 {
                return Err(MpyError::VarintOverflow { offset: start });
            }
            value = (value << 7) | u64::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
    }

    /// Read a vuint and insist on the minimal encoding (§2.1: mpy-cross always writes it).
    pub fn vuint(&mut self, what: &'static str) -> Result<u64, MpyError> {
        let start = self.offset();
        let first = self.data.get(self.pos).copied();
        let value = self.vuint_lax(what)?;
        if first == Some(0x80) {
            return Err(MpyError::NonCanonical {
                offset: start,
                what,
            });
        }
        Ok(value)
    }

    /// Read a minimal vuint that must fit in `usize` and be at most `max`.
    pub fn vuint_max(&mut self, max: u64, what: &'static str) -> Result<usize, MpyError> {
        let offset = self.offset();
        let value = self.vuint(what)?;
        if value > max {
            return Err(MpyError::OutOfRange {
                offset,
                what,
                value,
            });
        }
        usize::try_from(value).map_err(|_| MpyError::OutOfRange {
            offset,
            what,
            value,
        })
    }
}

/// Read bytes followed by a `00` terminator (qstr and str/bytes object payloads).
pub(crate) fn read_nul_terminated<'a>(
    r: &mut Reader<'a>,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], MpyError> {
    let s = r.bytes(len, what)?;
    let at = r.offset();
    if r.byte(what)? != 0 {
        return Err(MpyError::MissingNul { offset: at });
    }
    Ok(s)
}
