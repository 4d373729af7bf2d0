//! Sources nested N levels deep, one shape per kind of `tests/fixtures/mpy-nesting/`
//! `thresholds.tsv`, and that table (mpy-cross 1.29's deepest accepted level and its error one
//! level deeper, measured as the folder's README says).

// Each test including this file reads a different part of a row.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// One row of the table.
pub struct Threshold {
    pub kind: String,
    /// The deepest level mpy-cross compiles.
    pub accepted: usize,
    /// `Kind: message` mpy-cross prints one level deeper.
    pub error: String,
    /// The line it reports (0: none).
    pub line: u32,
}

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mpy-nesting")
}

pub fn thresholds() -> Vec<Threshold> {
    let path = dir().join("thresholds.tsv");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|row| {
            let f: Vec<&str> = row.split('\t').collect();
            assert_eq!(f.len(), 4, "bad row {row:?}");
            Threshold {
                kind: f[0].to_string(),
                accepted: f[1]
                    .parse()
                    .unwrap_or_else(|_| panic!("bad level in {row:?}")),
                error: f[2].to_string(),
                line: match f[3] {
                    "-" => 0,
                    n => n.parse().unwrap_or_else(|_| panic!("bad line in {row:?}")),
                },
            }
        })
        .collect()
}

/// `open` N times, `leaf`, `close` N times.
fn wrap(n: usize, open: &str, leaf: &str, close: &str) -> String {
    format!("{}{leaf}{}", open.repeat(n), close.repeat(n))
}

/// One statement per line, each indented one space more than the last.
fn blocks(n: usize, head: &str) -> String {
    let mut s = String::new();
    for d in 0..n {
        s.push_str(&" ".repeat(d));
        s.push_str(head);
        s.push('\n');
    }
    s.push_str(&" ".repeat(n));
    s.push_str("pass\n");
    s
}

/// The source of `kind` nested `n` levels deep.
pub fn source(kind: &str, n: usize) -> String {
    match kind {
        "paren" => format!("x = {}\n", wrap(n, "(", "1", ")")),
        "paren_name" => format!("x = {}\n", wrap(n, "(", "y", ")")),
        "const_tuple_int" => format!("x = {}\n", wrap(n, "(", "1", ",)")),
        "const_tuple_float" => format!("x = {}\n", wrap(n, "(", "1.5", ",)")),
        "const_tuple_bigint" => format!("x = {}\n", wrap(n, "(", "10**30", ",)")),
        "const_tuple_complex" => format!("x = {}\n", wrap(n, "(", "1j", ",)")),
        "const_tuple_pairs" => format!("x = {}\n", wrap(n, "(1, ", "1", ")")),
        "const_tuple_in_def" => format!("def f():\n    return {}\n", wrap(n, "(", "1", ",)")),
        // One number n tuples deep, under a 2,000-deep chain of string-only tuples.
        "number_under_strings" => {
            let inner = wrap(2000 - n, "(", "'a'", ",)");
            format!("x = {}\n", wrap(n - 1, "(", &format!("(1, {inner})"), ",)"))
        }
        "flat_if" => format!("if x:\n{}", " y = z\n".repeat(n)),
        "flat_while" => format!("while x:\n{}", " y = z\n".repeat(n)),
        "nested_for" => blocks(n, "for x in y:"),
        "nested_if" => blocks(n, "if x:"),
        "nested_while" => blocks(n, "while x:"),
        "nested_with" => blocks(n, "with x:"),
        "nested_try" => {
            let mut s = blocks(n, "try:");
            for d in (0..n).rev() {
                s.push_str(&format!("{0}except:\n{0} pass\n", " ".repeat(d)));
            }
            s
        }
        "and_chain" => format!("x = {}y\n", "y and ".repeat(n)),
        "comparison_chain" => format!("x = {}y\n", "y < ".repeat(n)),
        "conditional_chain" => format!("x = {}y\n", "y if y else ".repeat(n)),
        other => panic!("no generator for kind {other:?} of thresholds.tsv"),
    }
}
