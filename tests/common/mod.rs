//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The CPython 3.4.9 source the tests use: `PORTLIB_CPYTHON`, else the tarball beside the
/// repository. Tests that need it fail (never pass silently) when it is missing.
pub fn upstream_path() -> PathBuf {
    if let Some(p) = std::env::var_os("PORTLIB_CPYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/upstream/cpython-3.4.9.tar.xz");
    assert!(
        p.exists(),
        "CPython 3.4.9 upstream not found: set PORTLIB_CPYTHON to the tarball or folder \
         (scripts/test does this), or place it at {}",
        p.display()
    );
    p
}

/// Run the built `portlib` binary in `dir` with the test upstream and no user cache.
pub fn portlib(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(args)
        .current_dir(dir)
        .env("PORTLIB_CPYTHON", upstream_path())
        .env("PORTLIB_CACHE", dir.join(".no-cache"))
        .env_remove("PORTLIB_ROOT")
        .output()
        .expect("run portlib")
}

/// stdout and stderr of a finished command, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
