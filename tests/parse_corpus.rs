//! Accept/reject parity of the front end with mpy-cross 1.29 over every `.py` file of the
//! CPython 3.4.9 `Lib/` tree, read straight from the upstream tarball.
//!
//! Expected outcomes: `tests/fixtures/parse/corpus-rejects.tsv` lists the 27 files mpy-cross
//! rejects; those rejected by its parser must be rejected here with the same message and
//! line, those rejected later by its compiler must parse, and every other file must parse.

use std::collections::BTreeMap;

mod common;

use portlib::mpy::parse::{parse, ParseOptions, Target};

/// path -> (stage, line, message)
fn expected() -> BTreeMap<String, (String, Option<u32>, String)> {
    let text = include_str!("fixtures/parse/corpus-rejects.tsv");
    let mut map = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 4, "bad fixture line {line:?}");
        map.insert(
            f[0].to_string(),
            (f[1].to_string(), f[2].parse().ok(), f[3].to_string()),
        );
    }
    map
}

#[test]
fn corpus_parity_with_mpy_cross() {
    let expected = expected();
    let mut seen = 0usize;
    let mut accepted = 0usize;
    let mut rejected = 0usize;
    let mut problems = Vec::new();
    for (rel, src) in common::upstream_py_files() {
        let rel = format!("Lib/{rel}");
        seen += 1;
        let opts = ParseOptions {
            source_name: rel.as_bytes(),
            ..ParseOptions::default()
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(&src, &opts)));
        let Ok(result) = outcome else {
            problems.push(format!("{rel}: PANIC"));
            continue;
        };
        // CircuitPython 10.2.1's front end rejects the same files (its extra acceptances,
        // `*a` after a keyword argument, are compiler-stage differences).
        let cp_opts = ParseOptions {
            target: Target::CircuitPython,
            ..opts
        };
        let cp = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parse(&src, &cp_opts)));
        let cp_ok = cp.as_ref().ok().map(Result::is_ok);
        if cp_ok != Some(result.is_ok()) {
            problems.push(format!(
                "{rel}: CircuitPython target accepts={cp_ok:?}, MicroPython accepts={}",
                result.is_ok()
            ));
        }
        let want = expected.get(&rel).filter(|(stage, _, _)| stage == "parse");
        match (result, want) {
            (Ok(_), None) => accepted += 1,
            (Ok(_), Some((_, line, msg))) => {
                problems.push(format!("{rel}: accepted, mpy-cross: line {line:?} {msg}"))
            }
            (Err(e), None) => problems.push(format!("{rel}: rejected ({e}), mpy-cross accepts")),
            (Err(e), Some((_, line, msg))) => {
                rejected += 1;
                let line_ok = match line {
                    Some(l) => e.has_location() && e.line == *l,
                    None => !e.has_location(),
                };
                if e.kind.to_string() != *msg || !line_ok {
                    problems.push(format!(
                        "{rel}: got line {} {}, mpy-cross: line {line:?} {msg}",
                        e.line, e.kind
                    ));
                }
            }
        }
    }
    assert_eq!(seen, 1505, "expected 1505 .py files under Lib/");
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // 1478 compile + 6 rejected only by the compiler = 1484 accepted by the front end.
    assert_eq!((accepted, rejected), (1484, 21));
}
