//! Differential harness: compile every `.py` under a folder (or inside a `.tar.xz`/`.tgz`)
//! with both portlib and the reference `mpy-cross`, under the same source name, and compare.
//!
//! Usage: `cargo run --example mpy_diff -- [--mpy-cross PATH] [--show N] [--cp] SOURCE`
//! (`PATH` defaults to `$PORTLIB_MPY_CROSS`, then `mpy-cross` on PATH). The source name of
//! each file is its path relative to SOURCE's top (for a tarball: the path inside it), which
//! is also the path mpy-cross is given, run from that top folder.
//!
//! Prints the figures (identical / accepted by mpy-cross, rejections on both sides, portlib's
//! unsupported constructs) and, for the first N mismatches, the first differing offset and
//! both disassemblies side by side. Exit status 0 when every file mpy-cross accepts is
//! identical, 1 otherwise, 2 on a setup error.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use portlib::mpy::compile::{compile, CompileError, CompileOptions};
use portlib::mpy::disasm::disassemble_to_string;
use portlib::mpy::file::MpyFile;
use portlib::mpy::format::Target;

struct Args {
    mpy_cross: PathBuf,
    show: usize,
    target: Target,
    source: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut mpy_cross = std::env::var_os("PORTLIB_MPY_CROSS").map(PathBuf::from);
    let mut show = 5;
    let mut target = Target::MicroPython;
    let mut source = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--mpy-cross" => mpy_cross = it.next().map(PathBuf::from),
            "--show" => {
                show = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--show needs a number")?
            }
            "--cp" => target = Target::CircuitPython,
            _ => source = Some(PathBuf::from(a)),
        }
    }
    Ok(Args {
        mpy_cross: mpy_cross.unwrap_or_else(|| PathBuf::from("mpy-cross")),
        show,
        target,
        source: source.ok_or("usage: mpy_diff [--mpy-cross PATH] [--show N] [--cp] SOURCE")?,
    })
}

/// Unpack a tarball into `dir`, keeping only `.py` files; returns the folder to work in.
fn unpack(tarball: &Path, dir: &Path) -> Result<(), String> {
    let f = std::fs::File::open(tarball).map_err(|e| format!("{}: {e}", tarball.display()))?;
    let reader: Box<dyn Read> = if tarball.to_string_lossy().ends_with(".xz") {
        Box::new(xz2::read::XzDecoder::new(f))
    } else {
        Box::new(flate2::read::GzDecoder::new(f))
    };
    let mut ar = tar::Archive::new(reader);
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| e.to_string())?;
        let path = entry.path().map_err(|e| e.to_string())?.into_owned();
        if path.extension().is_some_and(|x| x == "py") && entry.header().entry_type().is_file() {
            let out = dir.join(&path);
            if let Some(p) = out.parent() {
                std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
            }
            entry.unpack(&out).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// What mpy-cross made of one file.
enum Reference {
    Ok(Vec<u8>),
    Rejected { line: Option<u32>, text: String },
}

fn run_mpy_cross(exe: &Path, top: &Path, rel: &str, out: &Path) -> Reference {
    let res = Command::new(exe)
        .current_dir(top)
        .arg("-o")
        .arg(out)
        .arg(rel)
        .output();
    match res {
        Ok(o) if o.status.success() => match std::fs::read(out) {
            Ok(b) => Reference::Ok(b),
            Err(e) => Reference::Rejected {
                line: None,
                text: e.to_string(),
            },
        },
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stderr).into_owned();
            let line = text
                .split(", line ")
                .nth(1)
                .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|d| d.parse().ok());
            Reference::Rejected {
                line,
                text: text.lines().last().unwrap_or("").to_string(),
            }
        }
        Err(e) => Reference::Rejected {
            line: None,
            text: format!("cannot run mpy-cross: {e}"),
        },
    }
}

fn dis(bytes: &[u8]) -> String {
    match MpyFile::parse(bytes) {
        Ok(f) => disassemble_to_string(&f),
        Err(e) => format!("<unparsable: {e}>"),
    }
}

fn side_by_side(a: &str, b: &str) -> String {
    let la: Vec<&str> = a.lines().collect();
    let lb: Vec<&str> = b.lines().collect();
    let mut out = String::new();
    for i in 0..la.len().max(lb.len()) {
        let l = la.get(i).copied().unwrap_or("");
        let r = lb.get(i).copied().unwrap_or("");
        let mark = if l == r { ' ' } else { '|' };
        out.push_str(&format!("{l:<60.60} {mark} {r}\n"));
    }
    out
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let tmp = match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("temporary folder: {e}");
            return ExitCode::from(2);
        }
    };
    let top = if args.source.is_dir() {
        args.source.clone()
    } else {
        let dir = tmp.path().join("src");
        if let Err(e) = unpack(&args.source, &dir) {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
        dir
    };
    let mut files: Vec<String> = walkdir::WalkDir::new(&top)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "py"))
        .filter_map(|e| {
            e.path()
                .strip_prefix(&top)
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        })
        .collect();
    files.sort();
    let opts = CompileOptions {
        target: args.target,
        ..CompileOptions::default()
    };
    let (mut identical, mut accepted, mut both_reject, mut same_line) = (0, 0, 0, 0);
    let mut only_ours_reject: BTreeMap<String, usize> = BTreeMap::new();
    let mut only_ref_reject = Vec::new();
    let mut mismatches = Vec::new();
    for (i, rel) in files.iter().enumerate() {
        let src = match std::fs::read(top.join(rel)) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("{rel}: {e}");
                continue;
            }
        };
        let out = tmp.path().join(format!("ref{i}.mpy"));
        let mut reference = run_mpy_cross(&args.mpy_cross, &top, rel, &out);
        if args.target == Target::CircuitPython {
            // No CircuitPython mpy-cross here: its output equals MicroPython's apart from
            // the magic byte for all but the few files listed in mpy-format §4.1.
            if let Reference::Ok(bytes) = &mut reference {
                if let Some(b) = bytes.first_mut() {
                    *b = b'C';
                }
            }
        }
        let ours = compile(&src, rel, &opts);
        match (reference, ours) {
            (Reference::Ok(r), Ok(o)) => {
                accepted += 1;
                if r == o {
                    identical += 1;
                } else {
                    mismatches.push((rel.clone(), o, r));
                }
            }
            (Reference::Ok(_), Err(e)) => {
                accepted += 1;
                let key = match &e {
                    CompileError::Unsupported { construct, .. } => {
                        format!("unsupported: {construct}")
                    }
                    other => format!("{}: {}", other.kind(), other.message()),
                };
                *only_ours_reject.entry(key).or_default() += 1;
            }
            (Reference::Rejected { line, text }, Err(e)) => {
                both_reject += 1;
                if line == Some(e.line()) || (line.is_none() && e.line() == 0) {
                    same_line += 1;
                } else {
                    println!(
                        "both reject {rel}, lines differ: mpy-cross {line:?} `{text}`, portlib {} `{e}`",
                        e.line()
                    );
                }
            }
            (Reference::Rejected { text, .. }, Ok(_)) => only_ref_reject.push((rel.clone(), text)),
        }
    }
    for (k, (rel, ours, reference)) in mismatches.iter().enumerate() {
        let at = ours
            .iter()
            .zip(reference)
            .position(|(a, b)| a != b)
            .unwrap_or(ours.len().min(reference.len()));
        if k < args.show {
            println!("=== {rel}: first difference at offset {at} (portlib | mpy-cross)");
            print!("{}", side_by_side(&dis(ours), &dis(reference)));
        } else {
            println!("differs: {rel} at offset {at}");
        }
    }
    for (rel, text) in &only_ref_reject {
        println!("only mpy-cross rejects {rel}: {text}");
    }
    for (k, n) in &only_ours_reject {
        println!("only portlib rejects ({n} files): {k}");
    }
    println!(
        "identical {identical} / {accepted} accepted by mpy-cross ({} files); differing {}; \
         portlib rejects {} of those; both reject {both_reject} (same line {same_line}); \
         only mpy-cross rejects {}",
        files.len(),
        mismatches.len(),
        only_ours_reject.values().sum::<usize>(),
        only_ref_reject.len()
    );
    if identical == accepted {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
