//! Every `tests/fixtures/mpy/NAME.py` compiled by portlib must equal mpy-cross 1.29's
//! `NAME.mpy` byte for byte (source name = the bare file name, as in PROVENANCE.md). On a
//! mismatch the test prints the first differing offset and both disassemblies.

use std::fs;
use std::path::{Path, PathBuf};

use portlib::mpy::compile::{compile, CompileOptions};
use portlib::mpy::disasm::disassemble_to_string;
use portlib::mpy::file::MpyFile;

fn sources() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mpy");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    assert!(files.len() >= 20, "expected fixtures in {}", dir.display());
    files
}

fn dis(bytes: &[u8]) -> String {
    match MpyFile::parse(bytes) {
        Ok(f) => disassemble_to_string(&f),
        Err(e) => format!("<unparsable: {e}>"),
    }
}

/// Compare one fixture; `Err` holds a report for the failure message.
fn check(py: &Path) -> Result<(), String> {
    let name = py
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let golden_path = py.with_extension("mpy");
    let golden = fs::read(&golden_path).map_err(|e| format!("{name}: no golden: {e}"))?;
    let src = fs::read(py).map_err(|e| format!("{name}: {e}"))?;
    let ours = compile(&src, &name, &CompileOptions::default())
        .map_err(|e| format!("{name}: portlib refused: {e} (line {})", e.line()))?;
    if ours == golden {
        return Ok(());
    }
    let at = ours
        .iter()
        .zip(&golden)
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(golden.len()));
    Err(format!(
        "{name}: differs at offset {at} (portlib {} bytes, mpy-cross {} bytes)\n--- portlib\n{}\n--- mpy-cross\n{}",
        ours.len(),
        golden.len(),
        dis(&ours),
        dis(&golden)
    ))
}

#[test]
fn every_fixture_compiles_byte_identical_to_mpy_cross() {
    let mut failures = Vec::new();
    let all = sources();
    for py in &all {
        if let Err(report) = check(py) {
            failures.push(report);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fixtures differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n\n")
    );
}

/// CircuitPython 10's mpy-cross writes MicroPython's bytes with magic `C` except for `await`
/// and `async def` (mpy-format §4.1); every fixture without those must compare that way.
#[test]
fn circuitpython_target_matches_goldens_apart_from_the_magic() {
    use portlib::mpy::format::Target;
    let opts = CompileOptions {
        target: Target::CircuitPython,
        ..CompileOptions::default()
    };
    let mut checked = 0;
    for py in sources() {
        let src = fs::read(&py).expect("readable fixture");
        let text = String::from_utf8_lossy(&src);
        if text.contains("async") || text.contains("await") {
            continue;
        }
        let name = py
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        // CircuitPython has no t-strings; tests/compile_tstrings.rs checks their rejection.
        if name.starts_with("tstrings") {
            continue;
        }
        let mut golden = fs::read(py.with_extension("mpy")).expect("golden");
        golden[0] = b'C';
        let ours = compile(&src, &name, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(ours == golden, "{name}: CircuitPython output differs");
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} fixtures checked");
}
