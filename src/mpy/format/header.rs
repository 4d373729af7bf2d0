//! The file header (§2.2): magic, version 6, flags, small-int bits, optional arch flags.

use super::varint::encode_vuint;
use super::{MpyError, Reader};

/// The major version every file here has.
pub const MPY_VERSION: u8 = 6;
/// The small-int width mpy-cross assumes by default.
pub const DEFAULT_SMALL_INT_BITS: u8 = 31;

/// Which VM family a file is for; only the magic byte differs (§4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// MicroPython, magic `M`.
    MicroPython,
    /// CircuitPython, magic `C`.
    CircuitPython,
}

impl Target {
    /// The magic byte.
    pub fn magic(self) -> u8 {
        match self {
            Target::MicroPython => b'M',
            Target::CircuitPython => b'C',
        }
    }

    /// The target with this magic byte.
    pub fn from_magic(byte: u8) -> Option<Target> {
        match byte {
            b'M' => Some(Target::MicroPython),
            b'C' => Some(Target::CircuitPython),
            _ => None,
        }
    }
}

/// A decoded header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The VM family (magic byte).
    pub target: Target,
    /// The flags byte: 0 for every bytecode-only file mpy-cross writes.
    pub flags: u8,
    /// Small-int bits the file needs (31 by default).
    pub small_int_bits: u8,
    /// The arch-flags vuint, present exactly when flags bit 6 is set.
    pub arch_flags: Option<u64>,
}

impl Header {
    /// The header mpy-cross writes for a bytecode-only file.
    pub fn bytecode(target: Target, small_int_bits: u8) -> Header {
        Header {
            target,
            flags: 0,
            small_int_bits,
            arch_flags: None,
        }
    }

    /// Append the header.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.target.magic(),
            MPY_VERSION,
            self.flags,
            self.small_int_bits,
        ]);
        if let Some(a) = self.arch_flags {
            encode_vuint(a, out);
        }
    }

    /// Decode the header at the start of a file.
    pub fn decode(r: &mut Reader<'_>) -> Result<Header, MpyError> {
        let magic = r.byte("the header")?;
        let target = Target::from_magic(magic).ok_or(MpyError::BadMagic { found: magic })?;
        let version = r.byte("the header")?;
        if version != MPY_VERSION {
            return Err(MpyError::BadVersion { found: version });
        }
        let flags = r.byte("the header")?;
        if flags & 0x80 != 0 {
            return Err(MpyError::BadFlags { found: flags });
        }
        let small_int_bits = r.byte("the header")?;
        let arch_flags = if flags & 0x40 != 0 {
            Some(r.vuint("the arch flags")?)
        } else {
            None
        };
        Ok(Header {
            target,
            flags,
            small_int_bits,
            arch_flags,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let mut out = Vec::new();
        Header::bytecode(Target::MicroPython, 31).encode(&mut out);
        assert_eq!(out, [0x4D, 0x06, 0x00, 0x1F]);
        out.clear();
        Header::bytecode(Target::CircuitPython, 31).encode(&mut out);
        assert_eq!(out, [0x43, 0x06, 0x00, 0x1F]);
        // §2.2: `-march=rv32imc -march-flags=zba` gave 4D 06 40 1F 01.
        let h = Header::decode(&mut Reader::new(&[0x4D, 0x06, 0x40, 0x1F, 0x01], 0)).expect("ok");
        assert_eq!(h.arch_flags, Some(1));
        assert_eq!(
            Header::decode(&mut Reader::new(b"# x", 0)),
            Err(MpyError::BadMagic { found: b'#' })
        );
        assert_eq!(
            Header::decode(&mut Reader::new(&[0x4D, 0x05, 0, 31], 0)),
            Err(MpyError::BadVersion { found: 5 })
        );
    }
}
