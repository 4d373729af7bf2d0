//! Helpers shared by the tests that need the real MicroPython unix port.

// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The 32-bit MicroPython unix binary; panics (fails the test) with what to do when missing.
pub fn micropython() -> PathBuf {
    match portlib::testrun::vm::find_micropython(None) {
        Ok(p) => p,
        Err(e) => panic!(
            "these tests need the 32-bit MicroPython unix port: {e}\n\
             Run scripts/setup-tools and source $PORTLIB_TOOLS/env.sh (it sets PORTLIB_MICROPYTHON)."
        ),
    }
}

/// A temporary bundle: `tests/fixtures/<fixture>/lib` copied to `DIR/lib`, plus the runner
/// from `lib-src/` (what `portlib build` will produce).
pub fn bundle(fixture: &str) -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let from = root.join("tests/fixtures").join(fixture).join("lib");
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("lib");
    for entry in walkdir::WalkDir::new(&from) {
        let entry = entry.unwrap();
        let dest = lib.join(entry.path().strip_prefix(&from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
    std::fs::copy(
        root.join("lib-src/portlib_runner.py"),
        lib.join("portlib_runner.py"),
    )
    .unwrap();
    dir
}
