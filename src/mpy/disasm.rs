//! A readable, stable text form of a `.mpy` file, ours or mpy-cross's.
//!
//! The layout is portlib's own and is what the golden snapshots compare, so it must stay
//! deterministic: no addresses, no hashing order, every byte of the file accounted for. Offsets
//! in the code listing are relative to the start of the bytecode (after the prelude), which is
//! also what line-table offsets and jump targets are relative to.

use std::io::{self, Write};

use crate::mpy::bytecode::{decode_all, Arg, Insn};
use crate::mpy::file::{MpyFile, RawCode};
use crate::mpy::format::constant::escape_bytes;
use crate::mpy::format::{Const, Target};
use crate::mpy::opcode::Opcode;

/// Longest constant repr shown inline in the code listing (the table shows it whole).
const INLINE_CONST_MAX: usize = 48;

/// Write the disassembly of `file`.
pub fn disassemble(file: &MpyFile, out: &mut impl Write) -> io::Result<()> {
    let h = &file.header;
    let family = match h.target {
        Target::MicroPython => "MicroPython",
        Target::CircuitPython => "CircuitPython",
    };
    write!(
        out,
        "mpy v6 magic '{}' ({family}) flags {:#04x} small-int-bits {}",
        char::from(h.target.magic()),
        h.flags,
        h.small_int_bits
    )?;
    if let Some(a) = h.arch_flags {
        write!(out, " arch-flags {a:#x}")?;
    }
    writeln!(out)?;

    writeln!(out, "qstrs {}:", file.qstrs.len())?;
    for (i, q) in file.qstrs.iter().enumerate() {
        let form = match q.static_index {
            Some(k) => format!("static {k}"),
            None => "inline".to_owned(),
        };
        writeln!(out, "  q{i:<5} {form:<10} {}", quote(&q.text))?;
    }
    writeln!(out, "objects {}:", file.objects.len())?;
    for (i, c) in file.objects.iter().enumerate() {
        writeln!(out, "  c{i:<5} {:<10} {c}", kind_name(c))?;
    }
    for (path, rc) in file.root.walk() {
        writeln!(out)?;
        raw_code(file, &path, rc, out)?;
    }
    Ok(())
}

/// Disassemble to a string (the form the snapshot tests and the CLI use).
pub fn disassemble_to_string(file: &MpyFile) -> String {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = disassemble(file, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn kind_name(c: &Const) -> &'static str {
    match c {
        Const::None => "none",
        Const::False | Const::True => "bool",
        Const::Ellipsis => "ellipsis",
        Const::Str(_) => "str",
        Const::Bytes(_) => "bytes",
        Const::Int(_) => "int",
        Const::Float(_) => "float",
        Const::Complex(_) => "complex",
        Const::Tuple(_) => "tuple",
    }
}

fn quote(bytes: &[u8]) -> String {
    let mut s = String::from("'");
    escape_bytes(bytes, '\'', &mut s);
    s.push('\'');
    s
}

fn qstr_text(file: &MpyFile, index: u64) -> String {
    match file.qstr(index) {
        Some(t) => quote(t),
        None => format!("<bad qstr {index}>"),
    }
}

fn path_name(path: &[usize]) -> String {
    if path.is_empty() {
        return "root".to_owned();
    }
    path.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

fn flag_names(flags: u32) -> String {
    const NAMES: [&str; 5] = ["generator", "varkw", "varargs", "kwonly-defaults", "async"];
    let mut parts: Vec<String> = NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, n)| (*n).to_owned())
        .collect();
    if flags >> 5 != 0 {
        parts.push(format!("{:#x}", flags & !0x1F));
    }
    if parts.is_empty() {
        "-".to_owned()
    } else {
        parts.join("|")
    }
}

fn raw_code(file: &MpyFile, path: &[usize], rc: &RawCode, out: &mut impl Write) -> io::Result<()> {
    let s = &rc.signature;
    writeln!(
        out,
        "code {} [{}] children {}",
        qstr_text(file, u64::from(rc.name)),
        path_name(path),
        rc.children.len()
    )?;
    writeln!(
        out,
        "  n_state {} n_exc_stack {} flags {:#x} ({}) n_pos_args {} n_kwonly_args {} n_def_pos_args {}",
        s.n_state,
        s.n_exc_stack,
        s.scope_flags,
        flag_names(s.scope_flags),
        s.n_pos_args,
        s.n_kwonly_args,
        s.n_def_pos_args
    )?;
    let args: Vec<String> = rc
        .arg_names
        .iter()
        .map(|&a| qstr_text(file, u64::from(a)))
        .collect();
    writeln!(out, "  args [{}]", args.join(", "))?;
    let cells: Vec<String> = rc.cells.iter().map(u8::to_string).collect();
    writeln!(out, "  cells [{}]", cells.join(", "))?;
    let lines: Vec<String> = rc
        .line_table
        .pairs()
        .iter()
        .map(|(o, l)| format!("{o}:{l}"))
        .collect();
    writeln!(
        out,
        "  lines ({} bytes) [{}]",
        rc.line_table.encoded_len(),
        lines.join(" ")
    )?;
    writeln!(
        out,
        "  prelude {} bytes, bytecode {} bytes:",
        rc.prelude().len(),
        rc.bytecode.len()
    )?;
    match decode_all(&rc.bytecode, 0) {
        Ok(insns) => {
            for insn in insns {
                let raw = &rc.bytecode[insn.offset..insn.offset + insn.len];
                let hex: Vec<String> = raw.iter().map(|b| format!("{b:02x}")).collect();
                let operand = operand_text(file, rc, &insn);
                let text = format!(
                    "{:>6}  {:<18} {} {}",
                    insn.offset,
                    hex.join(" "),
                    insn.name(),
                    operand
                );
                writeln!(out, "{}", text.trim_end())?;
            }
        }
        // A parsed file's bytecode always decodes; this only guards hand-built models.
        Err(e) => writeln!(out, "  <undecodable bytecode: {e}>")?,
    }
    Ok(())
}

fn child_text(rc: &RawCode, file: &MpyFile, index: u64) -> String {
    let name = usize::try_from(index)
        .ok()
        .and_then(|i| rc.children.get(i))
        .map(|c| qstr_text(file, u64::from(c.name)))
        .unwrap_or_else(|| "<missing>".to_owned());
    format!("child {index} {name}")
}

fn operand_text(file: &MpyFile, rc: &RawCode, insn: &Insn) -> String {
    let byte = match insn.opcode {
        Opcode::SmallInt(v) => return v.to_string(),
        Opcode::LoadFast(s) | Opcode::StoreFast(s) => return s.to_string(),
        Opcode::Unary(u) => return u.symbol().to_owned(),
        Opcode::Binary(b) => return b.symbol().to_owned(),
        Opcode::Named(info) => info.byte,
    };
    match (byte, insn.arg) {
        (_, Arg::None) => String::new(),
        (_, Arg::Qstr(q)) => qstr_text(file, q),
        (_, Arg::SmallInt(v)) => v.to_string(),
        (0x40, Arg::Jump { target, .. }) => {
            let depth = insn.extra.unwrap_or(0);
            let for_loop = if depth & 0x80 != 0 { " from-for" } else { "" };
            format!("-> {target} depth {}{for_loop}", depth & 0x7F)
        }
        (_, Arg::Jump { target, .. }) => format!("-> {target}"),
        (0x20 | 0x21, Arg::Uint(v)) => format!(
            "{} n_closed {}",
            child_text(rc, file, v),
            insn.extra.unwrap_or(0)
        ),
        (0x32 | 0x33, Arg::Uint(v)) => child_text(rc, file, v),
        (0x23, Arg::Uint(v)) => {
            let text = usize::try_from(v)
                .ok()
                .and_then(|i| file.objects.get(i))
                .map(|c| {
                    let s = c.to_string();
                    if s.chars().count() > INLINE_CONST_MAX {
                        let cut: String = s.chars().take(INLINE_CONST_MAX).collect();
                        format!("{cut}...")
                    } else {
                        s
                    }
                })
                .unwrap_or_else(|| "<missing>".to_owned());
            format!("c{v} {text}")
        }
        (0x34..=0x37, Arg::Uint(v)) => format!("n_pos {} n_kw {}", v & 0xFF, v >> 8),
        (0x31, Arg::Uint(v)) => format!("before {} after {}", v & 0xFF, v >> 8),
        (0x2F, Arg::Uint(v)) => {
            let kind = match v & 3 {
                0 => "list",
                1 => "dict",
                2 => "set",
                _ => "?",
            };
            format!("{kind} stack {}", v >> 2)
        }
        (_, Arg::Uint(v)) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_listing() {
        let f = MpyFile::parse(crate::mpy::file::tests_support::WORKED_EXAMPLE).expect("parses");
        let text = disassemble_to_string(&f);
        assert!(text.starts_with("mpy v6 magic 'M' (MicroPython) flags 0x00 small-int-bits 31\n"));
        assert!(text.contains("  q6     static 123 'print'\n"), "{text}");
        assert!(text.contains("code 'f' [0] children 0\n"), "{text}");
        assert!(text.contains("args ['a', 'b', 'd', 'c']"), "{text}");
        assert!(text.contains("MAKE_FUNCTION_DEFARGS child 0 'f'"), "{text}");
        assert!(text.contains("CALL_FUNCTION n_pos 1 n_kw 1"), "{text}");
        assert!(text.contains("lines (2 bytes) [3:2 16:4]"), "{text}");
        assert!(
            text.contains("flags 0xe (varkw|varargs|kwonly-defaults)"),
            "{text}"
        );
    }
}
