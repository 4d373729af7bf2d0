//! t-strings that mpy-cross 1.29 rejects must be rejected by portlib with the same line and
//! message (`tests/fixtures/tstring/expected-micropython.tsv`, recorded from mpy-cross), and
//! with `--target circuitpython`, where t-strings do not exist, every t-string fixture must
//! fail as `expected-circuitpython.tsv` says. The accepted forms are byte-compared with
//! mpy-cross by `tests/compile_goldens.rs` (`tests/fixtures/mpy/tstrings*.py`).

use std::fs;
use std::path::{Path, PathBuf};

use portlib::mpy::compile::{compile, CompileError, CompileOptions};
use portlib::mpy::format::Target;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Rows of a `file<TAB>line<TAB>message` table; line `-` means none printed.
fn table(name: &str) -> Vec<(String, Option<u32>, String)> {
    let path = fixtures().join("tstring").join(name);
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 3, "bad row {l:?} in {name}");
            (f[0].to_string(), f[1].parse().ok(), f[2].to_string())
        })
        .collect()
}

/// Compile `path` (source name = bare file name, as the expectations were recorded) and
/// describe any difference from the expected rejection.
fn check(path: &Path, target: Target, line: Option<u32>, message: &str) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let src = match fs::read(path) {
        Ok(s) => s,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    let opts = CompileOptions {
        target,
        ..CompileOptions::default()
    };
    let err: CompileError = match compile(&src, &name, &opts) {
        Ok(_) => return Some(format!("{name} ({target:?}): accepted, expected {message}")),
        Err(e) => e,
    };
    let got_message = format!("{}: {}", err.kind(), err.message());
    let got_line = (err.line() > 0).then_some(err.line());
    (got_message != message || got_line != line).then(|| {
        format!("{name} ({target:?}): got line {got_line:?} {got_message:?}, mpy-cross: line {line:?} {message:?}")
    })
}

#[test]
fn micropython_rejects_like_mpy_cross() {
    let rows = table("expected-micropython.tsv");
    let dir = fixtures().join("tstring/reject");
    let on_disk = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "py"))
        })
        .count();
    assert_eq!(
        rows.len(),
        on_disk,
        "every reject/*.py needs a row: rerun tests/fixtures/tstring/regen.sh"
    );
    assert!(rows.len() >= 40, "only {} reject fixtures", rows.len());
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(file, line, msg)| check(&dir.join(file), Target::MicroPython, *line, msg))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

#[test]
fn circuitpython_has_no_tstrings() {
    let rows = table("expected-circuitpython.tsv");
    assert!(rows.len() >= 10);
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(file, line, msg)| {
            check(&fixtures().join(file), Target::CircuitPython, *line, msg)
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The golden t-string fixtures all compile for MicroPython, so each rejection above is
    // the target's doing.
    for (file, _, _) in rows.iter().filter(|r| r.0.starts_with("mpy/")) {
        let path = fixtures().join(file);
        let src = fs::read(&path).expect("fixture");
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        assert!(
            compile(&src, &name, &CompileOptions::default()).is_ok(),
            "{file} must compile for MicroPython"
        );
    }
}
