//! Print the MicroPython parse tree of Python files, in the `parse::dump` text form.
//!
//! Usage: `cargo run --example parse_tree -- [--small-int-bits N] [--cp] FILE...`
//! Each file's dump is preceded by `=== FILE` (or followed by `!!! error` on failure).

use std::io::Write;

use portlib::mpy::parse::{dump, parse, ParseOptions, Target};

fn main() -> std::process::ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut opts = ParseOptions::default();
    if let Some(i) = args.iter().position(|a| a == "--small-int-bits") {
        opts.small_int_bits = args.get(i + 1).and_then(|v| v.parse().ok()).unwrap_or(31);
        args.drain(i..(i + 2).min(args.len()));
    }
    if let Some(i) = args.iter().position(|a| a == "--cp") {
        opts.target = Target::CircuitPython;
        args.remove(i);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = false;
    for path in &args {
        let src = match std::fs::read(path) {
            Ok(s) => s,
            Err(e) => {
                let _ = writeln!(out, "!!! {path}: {e}");
                failed = true;
                continue;
            }
        };
        let opts = ParseOptions {
            source_name: path.as_bytes(),
            ..opts
        };
        let _ = writeln!(out, "=== {path}");
        match parse(&src, &opts) {
            Ok(tree) => {
                let _ = out.write_all(dump(&tree).as_bytes());
            }
            Err(e) => {
                let _ = writeln!(out, "!!! {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    }
}
