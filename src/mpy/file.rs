//! The data model of a whole `.mpy` v6.3 bytecode file, its reader and its writer.
//!
//! [`MpyFile::parse`] accepts exactly the files [`MpyFile::to_bytes`] can reproduce byte for
//! byte: every container field is decoded strictly (see [`crate::mpy::format`]) and the
//! bytecode is kept raw after checking that it decodes and that its qstr, constant, child and
//! jump operands point somewhere real. It never panics, whatever the input.

use crate::mpy::bytecode::{decode_all, Arg};
use crate::mpy::format::varint::encode_vuint;
use crate::mpy::format::{
    Const, Header, LineTable, MpyError, PreludeSize, Qstr, Reader, Signature,
};
use crate::mpy::opcode::Opcode;

/// Raw codes nest at most this deep in files this reader accepts.
const MAX_RAW_CODE_DEPTH: usize = 200;

/// A whole `.mpy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpyFile {
    /// The header (target/magic, flags, small-int bits).
    pub header: Header,
    /// The qstr table; entry 0 is the source name.
    pub qstrs: Vec<Qstr>,
    /// The constant-object table.
    pub objects: Vec<Const>,
    /// The module's raw code, with every other raw code below it.
    pub root: RawCode,
}

/// One bytecode raw code (module, function, class body, lambda or comprehension).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawCode {
    /// The prelude signature.
    pub signature: Signature,
    /// qstr index of the simple name.
    pub name: u32,
    /// qstr indices of the argument names, `n_pos_args + n_kwonly_args` of them.
    pub arg_names: Vec<u32>,
    /// The line-number table.
    pub line_table: LineTable,
    /// Slots of the locals that become cells.
    pub cells: Vec<u8>,
    /// The bytecode after the prelude.
    pub bytecode: Vec<u8>,
    /// Child raw codes, indexed by the MAKE_FUNCTION/MAKE_CLOSURE operands.
    pub children: Vec<RawCode>,
}

impl RawCode {
    /// The source-info bytes: name, argument names, line table.
    fn source_info(&self) -> Vec<u8> {
        let mut info = Vec::new();
        encode_vuint(u64::from(self.name), &mut info);
        for &a in &self.arg_names {
            encode_vuint(u64::from(a), &mut info);
        }
        self.line_table.encode(&mut info);
        info
    }

    /// The prelude (signature, size, source info, cells), i.e. the bytes before the bytecode.
    pub fn prelude(&self) -> Vec<u8> {
        let info = self.source_info();
        let mut out = Vec::new();
        self.signature.encode(&mut out);
        PreludeSize {
            n_info: info.len() as u32,
            n_cell: self.cells.len() as u32,
        }
        .encode(&mut out);
        out.extend_from_slice(&info);
        out.extend_from_slice(&self.cells);
        out
    }

    /// Append this raw code and its children (depth-first pre-order, §2.5).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let prelude = self.prelude();
        let code_len = (prelude.len() + self.bytecode.len()) as u64;
        let has_children = u64::from(!self.children.is_empty());
        encode_vuint((code_len << 3) | (has_children << 2), out);
        out.extend_from_slice(&prelude);
        out.extend_from_slice(&self.bytecode);
        if !self.children.is_empty() {
            encode_vuint(self.children.len() as u64, out);
            for c in &self.children {
                c.encode(out);
            }
        }
    }

    /// Every raw code in file order (depth-first pre-order) with its path of child indices.
    pub fn walk(&self) -> Vec<(Vec<usize>, &RawCode)> {
        let mut out = Vec::new();
        self.walk_into(&mut Vec::new(), &mut out);
        out
    }

    fn walk_into<'a>(&'a self, path: &mut Vec<usize>, out: &mut Vec<(Vec<usize>, &'a RawCode)>) {
        out.push((path.clone(), self));
        for (i, c) in self.children.iter().enumerate() {
            path.push(i);
            c.walk_into(path, out);
            path.pop();
        }
    }
}

/// Sizes of the tables, for checking references while reading.
struct Tables {
    n_qstrs: usize,
    n_objects: usize,
}

impl MpyFile {
    /// Read a file. Errors name the byte offset of the problem.
    pub fn parse(data: &[u8]) -> Result<MpyFile, MpyError> {
        let mut r = Reader::new(data, 0);
        let header = Header::decode(&mut r)?;
        let n_qstrs = r.vuint_max(r.remaining() as u64, "the qstr count")?;
        let n_objects = r.vuint_max(r.remaining() as u64, "the object count")?;
        let mut qstrs = Vec::new();
        for _ in 0..n_qstrs {
            qstrs.push(Qstr::decode(&mut r)?);
        }
        let mut objects = Vec::new();
        for _ in 0..n_objects {
            objects.push(Const::decode(&mut r)?);
        }
        let tables = Tables { n_qstrs, n_objects };
        let root = read_raw_code(&mut r, &tables, 0)?;
        if !r.is_empty() {
            return Err(MpyError::TrailingBytes {
                offset: r.offset(),
                count: r.remaining(),
            });
        }
        Ok(MpyFile {
            header,
            qstrs,
            objects,
            root,
        })
    }

    /// Write the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.header.encode(&mut out);
        encode_vuint(self.qstrs.len() as u64, &mut out);
        encode_vuint(self.objects.len() as u64, &mut out);
        for q in &self.qstrs {
            q.encode(&mut out);
        }
        for o in &self.objects {
            o.encode(&mut out);
        }
        self.root.encode(&mut out);
        out
    }

    /// The text of qstr `index`, if it exists.
    pub fn qstr(&self, index: u64) -> Option<&[u8]> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.qstrs.get(i))
            .map(|q| q.text.as_slice())
    }
}

fn check_qstr(offset: usize, index: u64, t: &Tables) -> Result<u32, MpyError> {
    if index >= t.n_qstrs as u64 {
        return Err(MpyError::QstrIndex {
            offset,
            index,
            len: t.n_qstrs,
        });
    }
    Ok(index as u32)
}

fn read_raw_code(r: &mut Reader<'_>, t: &Tables, depth: usize) -> Result<RawCode, MpyError> {
    let start = r.offset();
    if depth > MAX_RAW_CODE_DEPTH {
        return Err(MpyError::RawCodeTooDeep { offset: start });
    }
    let word = r.vuint("a raw code's kind/size word")?;
    let kind = (word & 3) as u8;
    if kind != 0 {
        return Err(MpyError::NotBytecode {
            offset: start,
            kind,
        });
    }
    let has_children = word & 4 != 0;
    let code_len = usize::try_from(word >> 3).unwrap_or(usize::MAX);
    let mut code = r.sub(code_len, "a raw code")?;

    let signature = Signature::decode(&mut code)?;
    let size = PreludeSize::decode(&mut code)?;
    let info_at = code.offset();
    let n_info = size.n_info as usize;
    if n_info > code.remaining() {
        return Err(MpyError::PreludeOverrun {
            offset: info_at,
            what: "the source info",
        });
    }
    let mut info = code.sub(n_info, "the source info")?;
    let at = info.offset();
    let name = check_qstr(at, info.vuint("the function name")?, t)?;
    let n_args = u64::from(signature.n_pos_args) + u64::from(signature.n_kwonly_args);
    let mut arg_names = Vec::new();
    for _ in 0..n_args {
        let at = info.offset();
        if info.is_empty() {
            return Err(MpyError::PreludeOverrun {
                offset: at,
                what: "the argument names",
            });
        }
        arg_names.push(check_qstr(at, info.vuint("an argument name")?, t)?);
    }
    let line_table = LineTable::decode(&mut info)?;
    let cells_at = code.offset();
    if size.n_cell as usize > code.remaining() {
        return Err(MpyError::PreludeOverrun {
            offset: cells_at,
            what: "the closure cells",
        });
    }
    let cells = code
        .bytes(size.n_cell as usize, "the closure cells")?
        .to_vec();
    let bytecode_at = code.offset();
    let bytecode = code.bytes(code.remaining(), "bytecode")?.to_vec();

    let mut children = Vec::new();
    if has_children {
        let at = r.offset();
        let n = r.vuint_max(r.remaining() as u64, "the child count")?;
        if n == 0 {
            return Err(MpyError::NonCanonical {
                offset: at,
                what: "a child count of 0",
            });
        }
        for _ in 0..n {
            children.push(read_raw_code(r, t, depth + 1)?);
        }
    }
    check_bytecode(&bytecode, bytecode_at, t, children.len())?;
    Ok(RawCode {
        signature,
        name,
        arg_names,
        line_table,
        cells,
        bytecode,
        children,
    })
}

/// Check that the bytecode decodes and that its operands refer to things that exist.
fn check_bytecode(code: &[u8], base: usize, t: &Tables, n_children: usize) -> Result<(), MpyError> {
    for insn in decode_all(code, base)? {
        let at = base + insn.offset;
        match (insn.opcode, insn.arg) {
            (_, Arg::Qstr(q)) => {
                check_qstr(at, q, t)?;
            }
            (_, Arg::Jump { target, .. }) if target < 0 || target > code.len() as i64 => {
                return Err(MpyError::JumpTarget {
                    offset: at,
                    target,
                    len: code.len(),
                });
            }
            (Opcode::Named(info), Arg::Uint(v)) => match info.byte {
                0x23 if v >= t.n_objects as u64 => {
                    return Err(MpyError::ConstIndex {
                        offset: at,
                        index: v,
                        len: t.n_objects,
                    })
                }
                0x20 | 0x21 | 0x32 | 0x33 if v >= n_children as u64 => {
                    return Err(MpyError::ChildIndex {
                        offset: at,
                        index: v,
                        len: n_children,
                    })
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests_support {
    /// §2.8, byte by byte.
    pub(crate) const WORKED_EXAMPLE: &[u8] = &[
        0x4D, 0x06, 0x00, 0x1F, 0x09, 0x00, 0x0C, 0x74, 0x2F, 0x61, 0x2E, 0x70, 0x79, 0x00, 0x0F,
        0x02, 0x64, 0x00, 0x02, 0x63, 0x00, 0x02, 0x66, 0x00, 0x02, 0x78, 0x00, 0x81, 0x77, 0x02,
        0x61, 0x00, 0x02, 0x62, 0x00, 0x82, 0x34, 0x20, 0x06, 0x01, 0x23, 0x4D, 0x81, 0x16, 0x05,
        0x82, 0x2A, 0x01, 0x2C, 0x00, 0x83, 0x10, 0x02, 0x62, 0x33, 0x00, 0x16, 0x04, 0x11, 0x06,
        0x11, 0x04, 0x11, 0x05, 0x10, 0x03, 0x84, 0x34, 0x82, 0x01, 0x34, 0x01, 0x59, 0x51, 0x63,
        0x01, 0x81, 0x00, 0xBA, 0x81, 0xC8, 0xC0, 0x40, 0x0C, 0x04, 0x07, 0x08, 0x02, 0x03, 0x40,
        0xB0, 0xB1, 0xF2, 0x63,
    ];
}

#[cfg(test)]
mod tests {
    use super::tests_support::WORKED_EXAMPLE;
    use super::*;

    #[test]
    fn worked_example_parses_and_round_trips() {
        let f = MpyFile::parse(WORKED_EXAMPLE).expect("parses");
        assert_eq!(f.qstrs.len(), 9);
        assert_eq!(f.qstr(6), Some(&b"print"[..]));
        assert_eq!(f.root.children.len(), 1);
        let child = &f.root.children[0];
        assert_eq!(child.arg_names, [7, 8, 2, 3]);
        assert_eq!(child.signature.n_state, 8);
        assert_eq!(child.line_table.pairs(), [(0, 3)]);
        assert_eq!(f.to_bytes(), WORKED_EXAMPLE);
    }

    #[test]
    fn circuitpython_magic_round_trips() {
        let mut data = WORKED_EXAMPLE.to_vec();
        data[0] = b'C';
        let f = MpyFile::parse(&data).expect("parses");
        assert_eq!(f.header.target, crate::mpy::format::Target::CircuitPython);
        assert_eq!(f.to_bytes(), data);
    }

    #[test]
    fn errors_carry_offsets() {
        let mut bad = WORKED_EXAMPLE.to_vec();
        bad.push(0);
        assert_eq!(
            MpyFile::parse(&bad),
            Err(MpyError::TrailingBytes {
                offset: WORKED_EXAMPLE.len(),
                count: 1
            })
        );
        // STORE_NAME x (qstr 5) → qstr 9, one past the table.
        let mut bad = WORKED_EXAMPLE.to_vec();
        bad[44] = 0x09;
        assert_eq!(
            MpyFile::parse(&bad),
            Err(MpyError::QstrIndex {
                offset: 43,
                index: 9,
                len: 9
            })
        );
        assert!(matches!(
            MpyFile::parse(&WORKED_EXAMPLE[..60]),
            Err(MpyError::Truncated { .. })
        ));
    }
}
