//! The convention round trip on real CPython 3.4.9 `Lib/` files, read from the tarball (or an
//! unpacked tree) named by `PORTLIB_CPYTHON`, else `../shared/upstream/cpython-3.4.9.tar.xz`
//! next to the repository. Without it these tests fail: they are not optional.

use std::path::{Path, PathBuf};

use portlib::convention::{apply_patch, extract, make_patch, patch_stats, render};

mod common;

#[path = "support/plan.rs"]
mod plan;
use plan::{build, Plan, UpLine};

/// Every `Lib/**/*.py` file as (path under `Lib/`, bytes), sorted by path: all 1,505 of them, so
/// a wrong or partial upstream cannot pass for a checked one.
fn lib_files() -> Vec<(String, Vec<u8>)> {
    let files = common::upstream_py_files();
    assert_eq!(
        files.len(),
        1505,
        "CPython 3.4.9 has 1,505 .py files under Lib/"
    );
    files
}

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Upstream lines of a file, in the plan's form.
fn up_lines(bytes: &[u8]) -> (Vec<UpLine>, bool) {
    let mut lines = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match rest.iter().position(|&b| b == b'\n') {
            Some(nl) => {
                let crlf = nl > 0 && rest[nl - 1] == b'\r';
                let content = rest[..if crlf { nl - 1 } else { nl }].to_vec();
                lines.push(UpLine { content, crlf });
                rest = &rest[nl + 1..];
            }
            None => {
                lines.push(UpLine {
                    content: rest.to_vec(),
                    crlf: false,
                });
                return (lines, false);
            }
        }
    }
    (lines, true)
}

/// Random valid edits: comment-out runs, added lines (some copying nearby upstream lines, some
/// with a comment after the marker), and blocks moved by commenting out and re-adding below.
fn random_plan(bytes: &[u8], rng: &mut Rng) -> Plan {
    const NEW: &[&[u8]] = &[
        b"pass",
        b"raise   # let the host print it",
        b"",
        b"# portlib: no threads",
        b"import sys",
    ];
    let (upstream, upstream_final_newline) = up_lines(bytes);
    let n = upstream.len();
    let mut comment = vec![false; n];
    let mut added: Vec<Vec<(Vec<u8>, bool)>> = vec![Vec::new(); n + 1];
    let copy = |l: &UpLine| -> Vec<u8> {
        let mut c = l.content.clone();
        while c.last().is_some_and(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            c.pop();
        }
        c
    };
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(n);
        match rng.below(4) {
            0 => {
                let end = (at + 1 + rng.below(4)).min(n);
                comment[at..end].iter_mut().for_each(|c| *c = true);
            }
            1 => {
                let e = NEW[rng.below(NEW.len())].to_vec();
                added[at].push((e, false));
            }
            2 if n > 0 => {
                // An added copy of an upstream line, next to it.
                let src = rng.below(n);
                added[at].push((copy(&upstream[src]), upstream[src].crlf));
            }
            _ if n > 0 => {
                // Move a block down: comment it out, add it again a few lines below.
                let len = 1 + rng.below(3);
                let end = (at + len).min(n);
                let to = (end + rng.below(8)).min(n);
                for k in at..end {
                    comment[k] = true;
                    let line = copy(&upstream[k]);
                    added[to].push((line, upstream[k].crlf));
                }
            }
            _ => {}
        }
    }
    Plan {
        upstream,
        upstream_final_newline,
        comment,
        added,
        last_added_without_newline: rng.below(8) == 0,
    }
}

#[test]
fn every_upstream_file_is_its_own_convention_form() {
    let files = lib_files();
    for (rel, bytes) in &files {
        let patch = make_patch(Path::new(rel), rel, bytes, bytes).unwrap_or_else(|d| {
            panic!(
                "{rel}: upstream rejected as its own convention form: {}",
                d[0]
            )
        });
        assert!(
            patch.is_empty(),
            "{rel}: non-empty patch for an unchanged file"
        );
        let rendered =
            render(Path::new("patches/x.diff"), bytes, b"").expect("empty patch renders");
        assert_eq!(
            &rendered, bytes,
            "{rel}: empty patch does not render to upstream"
        );
    }
}

#[test]
fn random_edits_on_real_files_roundtrip() {
    let files = lib_files();
    let odd =
        |b: &[u8]| std::str::from_utf8(b).is_err() || b.contains(&b'\r') || !b.ends_with(b"\n");
    let sample: Vec<&(String, Vec<u8>)> = files
        .iter()
        .enumerate()
        .filter(|(k, (_, b))| k % 15 == 0 || odd(b))
        .map(|(_, f)| f)
        .collect();
    assert!(
        sample.iter().any(|(_, b)| std::str::from_utf8(b).is_err()),
        "no non-UTF-8 file in the sample"
    );
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut checked = 0;
    for (rel, bytes) in sample {
        for _ in 0..3 {
            let f = build(&random_plan(bytes, &mut rng));
            let cpath = Path::new("work").join(rel);
            let ppath = PathBuf::from(format!("patches/{rel}.diff"));
            let patch = make_patch(&cpath, rel, &f.upstream, &f.convention).unwrap_or_else(|d| {
                panic!(
                    "{rel}: valid edit rejected:\n{}",
                    d.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            });
            let rendered =
                render(&ppath, &f.upstream, &patch).unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert!(
                rendered == f.convention,
                "{rel}: render(make_patch(C)) != C; patch:\n{}",
                String::from_utf8_lossy(&patch)
            );
            let applied =
                apply_patch(&ppath, &f.upstream, &patch).unwrap_or_else(|e| panic!("{rel}: {e}"));
            let extracted = extract(&cpath, &f.upstream, &f.convention).expect("valid");
            assert_eq!(
                applied, extracted,
                "{rel}: apply(make_patch(C)) != extract(C)"
            );
            let stats = patch_stats(&ppath, &patch).unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert_eq!(stats.added, f.added, "{rel}: added lines");
            assert!(stats.commented <= f.commented, "{rel}: commented lines");
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} edits checked");
}
