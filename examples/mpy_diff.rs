//! Differential harness: compile every `.py` under a folder (or inside a `.tar.xz`/`.tgz`)
//! with both portlib and the reference `mpy-cross`, under the same source name, and compare
//! (the work is [`portlib::crosscheck`]; this prints its report).
//!
//! Usage: `cargo run --example mpy_diff -- [--mpy-cross PATH] [--show N] [--cp] SOURCE`
//! (`PATH` defaults to `$PORTLIB_MPY_CROSS`, then `mpy-cross` on PATH). The source name of
//! each file is its path relative to SOURCE's top (for a tarball: the path inside it), which
//! is also the path mpy-cross is given, run from that top folder.
//!
//! Prints every failing file (the first N byte mismatches with both disassemblies side by
//! side) and the figures. Exit status 0 when every file is identical or rejected by both on
//! the same line, 1 otherwise, 2 on a setup error.

use std::path::PathBuf;
use std::process::ExitCode;

use portlib::crosscheck;
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

fn run(args: &Args) -> Result<bool, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
    let top = if args.source.is_dir() {
        args.source.clone()
    } else {
        let dir = tmp.path().join("src");
        crosscheck::unpack_python_files(&args.source, &dir).map_err(|e| e.to_string())?;
        dir
    };
    let files = crosscheck::python_files(&top).map_err(|e| e.to_string())?;
    let report =
        crosscheck::check(&top, &files, &args.mpy_cross, args.target).map_err(|e| e.to_string())?;
    print!("{}", report.failures(args.show));
    println!("{}", report.summary());
    Ok(report.passed())
}

fn main() -> ExitCode {
    match parse_args().and_then(|a| run(&a)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("mpy_diff: {e}");
            ExitCode::from(2)
        }
    }
}
