//! Times the convention engine on the largest real `Lib/*.py` files (a benchmark, not a test).
//!
//! `cargo run --release --example convention_timing [cpython-3.4.9.tar.xz]` (default: the
//! `PORTLIB_CPYTHON` variable). For each file: `make_patch` of the file itself, of a few small
//! edits, of the whole file commented out (no kept line to anchor on) and of the whole file
//! converted to CRLF (every line a violation), then `render` of the small-edit patch.

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use portlib::convention::{make_patch, render};

fn main() {
    let path = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("PORTLIB_CPYTHON"))
        .expect("give the CPython tarball as an argument or in PORTLIB_CPYTHON");
    let file = std::fs::File::open(&path).expect("open the tarball");
    let mut archive = tar::Archive::new(xz2::read::XzDecoder::new(file));
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for entry in archive.entries().expect("read the tarball") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        if let Some(rel) = name
            .strip_prefix("cpython-3.4.9/Lib/")
            .filter(|r| r.ends_with(".py"))
        {
            let rel = rel.to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read");
            files.push((rel, bytes));
        }
    }
    files.sort_by_key(|(_, b)| std::cmp::Reverse(b.iter().filter(|&&c| c == b'\n').count()));
    let cpath = Path::new("work/x.py");
    for (rel, upstream) in files.iter().take(5) {
        let lines: Vec<&[u8]> = upstream.split_inclusive(|&b| b == b'\n').collect();
        let mut edited = Vec::new();
        for (k, l) in lines.iter().enumerate() {
            if k % 500 == 7 {
                edited.push(b'#');
                edited.extend_from_slice(l);
                edited.extend_from_slice(b"pass   ### portlib\n");
            } else {
                edited.extend_from_slice(l);
            }
        }
        let commented: Vec<u8> = lines.iter().flat_map(|l| [&b"#"[..], l].concat()).collect();
        let crlf: Vec<u8> = lines
            .iter()
            .flat_map(|l| match l.strip_suffix(b"\n") {
                Some(c) if !c.ends_with(b"\r") => [c, &b"\r\n"[..]].concat(),
                _ => l.to_vec(),
            })
            .collect();
        let time = |c: &[u8]| {
            let t = Instant::now();
            let ok = make_patch(cpath, rel, upstream, c).is_ok();
            (t.elapsed().as_secs_f64() * 1000.0, ok)
        };
        let (same, _) = time(upstream);
        let (edit, _) = time(&edited);
        let (all, all_ok) = time(&commented);
        let (cr, _) = time(&crlf);
        let patch = make_patch(cpath, rel, upstream, &edited).expect("valid edit");
        let t = Instant::now();
        render(
            &Path::new("patches").join(format!("{rel}.diff")),
            upstream,
            &patch,
        )
        .expect("renders");
        let rendering = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "{rel} ({} lines): same {same:.1} ms, edits {edit:.1} ms, all commented {all:.1} ms (valid: {all_ok}), CRLF {cr:.1} ms, render {rendering:.1} ms",
            lines.len()
        );
    }
}
