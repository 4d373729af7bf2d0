//! Nesting limits: for each kind of `tests/fixtures/mpy-nesting/thresholds.tsv`, portlib
//! compiles the source mpy-cross 1.29 compiles at the deepest level it accepts, and rejects
//! the one a level deeper with mpy-cross's exception, message and line.
//! (`mpy_differential` compares the same files with mpy-cross itself.)

use portlib::mpy::compile::{compile, CompileOptions};

#[path = "support/nesting.rs"]
mod nesting;

#[test]
fn portlib_rejects_exactly_one_level_past_mpy_cross() {
    let table = nesting::thresholds();
    assert!(table.len() >= 10, "rows missing in thresholds.tsv");
    let opts = CompileOptions::default();
    let mut problems = Vec::new();
    for t in &table {
        let ok = nesting::source(&t.kind, t.accepted);
        if let Err(e) = compile(ok.as_bytes(), "t.py", &opts) {
            problems.push(format!("{} at {}: rejected with {e}", t.kind, t.accepted));
        }
        let deep = nesting::source(&t.kind, t.accepted + 1);
        match compile(deep.as_bytes(), "t.py", &opts) {
            Ok(_) => problems.push(format!("{} at {}: compiled", t.kind, t.accepted + 1)),
            Err(e) => {
                let got = format!("{}: {}", e.kind(), e.message());
                // mpy-cross's MemoryError may add the size it failed to allocate.
                let same =
                    got == t.error || (e.kind() == "MemoryError" && t.error.starts_with(&got));
                if !same || e.line() != t.line {
                    problems.push(format!(
                        "{} at {}: got {got} on line {}, mpy-cross says {} on line {}",
                        t.kind,
                        t.accepted + 1,
                        e.line(),
                        t.error,
                        t.line
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
