//! The two packed words at the start of every bytecode prelude (§2.6): the signature
//! (S, E, F, A, K, D) and the size (n_info, n_cell).

use super::{MpyError, Reader};

/// The function signature packed at the start of a prelude.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Signature {
    /// Locals plus maximum stack depth (at least 1); stored as `n_state − 1`.
    pub n_state: u32,
    /// Maximum exception-handler nesting.
    pub n_exc_stack: u32,
    /// Scope flags: 1 generator, 2 `**kw`, 4 `*args`, 8 keyword-only defaults (CircuitPython
    /// adds 0x10 async).
    pub scope_flags: u32,
    /// Positional parameters, including hidden leading free-variable slots.
    pub n_pos_args: u32,
    /// Keyword-only parameters.
    pub n_kwonly_args: u32,
    /// Positional parameters with defaults.
    pub n_def_pos_args: u32,
}

// Each continuation byte carries 2 bits of S, so this many of them cover a 32-bit S.
const MAX_SIG_EXTRA: usize = 14;

impl Signature {
    /// Append the packed encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut s = self.n_state.saturating_sub(1);
        let mut e = self.n_exc_stack;
        let mut f = self.scope_flags;
        let mut a = self.n_pos_args;
        let mut k = self.n_kwonly_args;
        let mut d = self.n_def_pos_args;
        let mut z = (((s & 0xF) << 3) | ((e & 1) << 2) | (a & 3)) as u8;
        s >>= 4;
        e >>= 1;
        a >>= 2;
        while s | e | f | a | k | d != 0 {
            out.push(z | 0x80);
            z = (((f & 1) << 6)
                | ((s & 3) << 4)
                | ((k & 1) << 3)
                | ((a & 1) << 2)
                | ((e & 1) << 1)
                | (d & 1)) as u8;
            f >>= 1;
            s >>= 2;
            k >>= 1;
            a >>= 1;
            e >>= 1;
            d >>= 1;
        }
        out.push(z);
    }

    /// Decode, insisting on the minimal encoding.
    pub fn decode(r: &mut Reader<'_>) -> Result<Signature, MpyError> {
        const WHAT: &str = "the prelude signature";
        let start = r.offset();
        let first_pos = r.pos();
        let mut z = u32::from(r.byte(WHAT)?);
        let mut s = (z >> 3) & 0xF;
        let mut e = (z >> 2) & 1;
        let mut a = z & 3;
        let (mut f, mut k, mut d) = (0u32, 0u32, 0u32);
        let mut n = 0usize;
        while z & 0x80 != 0 {
            if n == MAX_SIG_EXTRA {
                return Err(MpyError::OutOfRange {
                    offset: start,
                    what: WHAT,
                    value: n as u64,
                });
            }
            z = u32::from(r.byte(WHAT)?);
            // Bits beyond 32 are impossible here: n < 14 keeps every shift below 32.
            f |= ((z >> 6) & 1) << n;
            s |= ((z >> 4) & 3) << (4 + 2 * n);
            k |= ((z >> 3) & 1) << n;
            a |= ((z >> 2) & 1) << (2 + n);
            e |= ((z >> 1) & 1) << (1 + n);
            d |= (z & 1) << n;
            n += 1;
        }
        let sig = Signature {
            n_state: s.checked_add(1).ok_or(MpyError::OutOfRange {
                offset: start,
                what: WHAT,
                value: u64::from(s),
            })?,
            n_exc_stack: e,
            scope_flags: f,
            n_pos_args: a,
            n_kwonly_args: k,
            n_def_pos_args: d,
        };
        let mut again = Vec::new();
        sig.encode(&mut again);
        if again.len() != r.pos() - first_pos {
            return Err(MpyError::NonCanonical {
                offset: start,
                what: WHAT,
            });
        }
        Ok(sig)
    }
}

/// The prelude size word: bytes of source info and of closure cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PreludeSize {
    /// Source-info bytes (name, argument names, line table).
    pub n_info: u32,
    /// Closure-cell bytes.
    pub n_cell: u32,
}

impl PreludeSize {
    /// Append the packed encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut i = self.n_info;
        let mut c = self.n_cell;
        loop {
            let z = (((i & 0x3F) << 1) | (c & 1)) as u8;
            i >>= 6;
            c >>= 1;
            if i | c == 0 {
                out.push(z);
                return;
            }
            out.push(z | 0x80);
        }
    }

    /// Decode, insisting on the minimal encoding.
    pub fn decode(r: &mut Reader<'_>) -> Result<PreludeSize, MpyError> {
        const WHAT: &str = "the prelude size";
        let start = r.offset();
        let first_pos = r.pos();
        let (mut i, mut c) = (0u32, 0u32);
        let mut n = 0u32;
        loop {
            let z = u32::from(r.byte(WHAT)?);
            // Six bytes give 36 bits of n_info: more is out of range for any real file.
            if n == 6 {
                return Err(MpyError::OutOfRange {
                    offset: start,
                    what: WHAT,
                    value: u64::from(n),
                });
            }
            i |= ((z >> 1) & 0x3F).checked_shl(6 * n).unwrap_or(0);
            c |= (z & 1) << n;
            n += 1;
            if z & 0x80 == 0 {
                break;
            }
        }
        let size = PreludeSize {
            n_info: i,
            n_cell: c,
        };
        let mut again = Vec::new();
        size.encode(&mut again);
        if again.len() != r.pos() - first_pos {
            return Err(MpyError::NonCanonical {
                offset: start,
                what: WHAT,
            });
        }
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_examples() {
        // §2.6 / §2.8: BA 81 C8 C0 40 = n_state 8, E 0, F 0b1110, A 2, K 2, D 1.
        let sig = Signature {
            n_state: 8,
            n_exc_stack: 0,
            scope_flags: 0b1110,
            n_pos_args: 2,
            n_kwonly_args: 2,
            n_def_pos_args: 1,
        };
        let mut out = Vec::new();
        sig.encode(&mut out);
        assert_eq!(out, [0xBA, 0x81, 0xC8, 0xC0, 0x40]);
        assert_eq!(Signature::decode(&mut Reader::new(&out, 0)), Ok(sig));
        // §2.8 module: 20 = n_state 5.
        let module = Signature {
            n_state: 5,
            ..Signature::default()
        };
        out.clear();
        module.encode(&mut out);
        assert_eq!(out, [0x20]);
    }

    #[test]
    fn signature_round_trips_and_rejects_padding() {
        for n_state in [1, 2, 16, 17, 100, 70000] {
            for a in [0, 3, 4, 9] {
                let sig = Signature {
                    n_state,
                    n_exc_stack: a % 3,
                    scope_flags: a & 0xF,
                    n_pos_args: a,
                    n_kwonly_args: a / 2,
                    n_def_pos_args: a / 3,
                };
                let mut out = Vec::new();
                sig.encode(&mut out);
                let mut r = Reader::new(&out, 0);
                assert_eq!(Signature::decode(&mut r), Ok(sig));
                assert!(r.is_empty());
            }
        }
        assert!(matches!(
            Signature::decode(&mut Reader::new(&[0xA0, 0x00], 5)),
            Err(MpyError::NonCanonical { offset: 5, .. })
        ));
    }

    #[test]
    fn size_examples() {
        // §2.8: 06 = n_info 3, n_cell 0; 0C = n_info 6.
        let mut out = Vec::new();
        PreludeSize {
            n_info: 3,
            n_cell: 0,
        }
        .encode(&mut out);
        assert_eq!(out, [0x06]);
        for (n_info, n_cell) in [(0, 0), (6, 0), (63, 1), (64, 0), (5000, 3), (1, 9)] {
            let size = PreludeSize { n_info, n_cell };
            out.clear();
            size.encode(&mut out);
            let mut r = Reader::new(&out, 0);
            assert_eq!(PreludeSize::decode(&mut r), Ok(size));
            assert!(r.is_empty());
        }
        assert!(matches!(
            PreludeSize::decode(&mut Reader::new(&[0x86, 0x00], 0)),
            Err(MpyError::NonCanonical { .. })
        ));
    }
}
