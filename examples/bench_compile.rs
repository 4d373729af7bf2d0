//! Time portlib's compiler in one process over a list of CPython `Lib/` files: once spread over
//! all cores with rayon, once on a single thread. Driven by `scripts/bench-compile`, which
//! times mpy-cross on the same files and prints the ratios (see its header for the method).
//!
//! Usage: `cargo run --release --example bench_compile -- [--reps N] --list FILE SOURCE`
//! where FILE holds one path per line, relative to `Lib/` (the files mpy-cross accepts), and
//! SOURCE is the CPython tarball or folder, read through `Upstream::open`. Reading and
//! decompressing SOURCE is not timed: the files are in memory before the clock starts, as
//! the script's extracted files are in the page cache before mpy-cross runs.
//!
//! Prints `key value` lines: `files`, `bytes_in`, `bytes_out`, `threads`, `parallel_s`,
//! `single_s` (each the best of N repetitions). Exit status 2 when a listed file is missing
//! or does not compile, since the comparison would then be unfair.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use portlib::mpy::compile::{compile, CompileOptions};
use portlib::upstream::Upstream;
use rayon::prelude::*;

struct Args {
    reps: usize,
    list: PathBuf,
    source: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let usage = "usage: bench_compile [--reps N] --list FILE SOURCE";
    let (mut reps, mut list, mut source) = (3, None, None);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--reps" => {
                reps = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--reps needs a positive number")?
            }
            "--list" => list = Some(it.next().map(PathBuf::from).ok_or(usage)?),
            _ => source = Some(PathBuf::from(a)),
        }
    }
    Ok(Args {
        reps,
        list: list.ok_or(usage)?,
        source: source.ok_or(usage)?,
    })
}

/// Compile one file; the output length is returned so the work cannot be optimised away.
fn one(name: &str, src: &[u8], opts: &CompileOptions) -> Result<usize, String> {
    compile(src, name, opts)
        .map(|mpy| mpy.len())
        .map_err(|e| format!("{name}: {e}"))
}

fn best_of<F: FnMut() -> Result<usize, String>>(
    reps: usize,
    mut f: F,
) -> Result<(f64, usize), String> {
    let mut best = f64::INFINITY;
    let mut out = 0;
    for _ in 0..reps {
        let t = Instant::now();
        out = f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok((best, out))
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let up = Upstream::open(&args.source).map_err(|e| e.to_string())?;
    let list =
        std::fs::read_to_string(&args.list).map_err(|e| format!("{}: {e}", args.list.display()))?;
    let files: Vec<(&str, &[u8])> = list
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            up.file(l)
                .map(|src| (l, src))
                .ok_or_else(|| format!("{l}: not in {}", args.source.display()))
        })
        .collect::<Result<_, _>>()?;
    let opts = CompileOptions::default();

    let (parallel_s, out_par) = best_of(args.reps, || {
        files
            .par_iter()
            .map(|(name, src)| one(name, src, &opts))
            .try_reduce(|| 0, |a, b| Ok(a + b))
    })?;
    let (single_s, out_single) = best_of(args.reps, || {
        files
            .iter()
            .map(|(name, src)| one(name, src, &opts))
            .sum::<Result<usize, String>>()
    })?;
    if out_par != out_single {
        return Err(format!(
            "parallel and single-threaded runs wrote {out_par} and {out_single} bytes"
        ));
    }
    let bytes_in: usize = files.iter().map(|(_, src)| src.len()).sum();
    println!("files {}", files.len());
    println!("bytes_in {bytes_in}");
    println!("bytes_out {out_single}");
    println!("threads {}", rayon::current_num_threads());
    println!("parallel_s {parallel_s:.6}");
    println!("single_s {single_s:.6}");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_compile: {e}");
            ExitCode::from(2)
        }
    }
}
