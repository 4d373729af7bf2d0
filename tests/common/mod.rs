//! Helpers shared by the integration tests: the upstream source, the built binary, and the real
//! MicroPython unix port.

// Each test crate compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod qemu;

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

/// The variable that makes a missing tool fail the tests that would otherwise skip for it.
/// `scripts/test` sets it to `1` once `scripts/setup-tools all` has installed everything, so in
/// CI a skip can only mean a broken setup, and fails.
pub const REQUIRE_TOOLS: &str = "PORTLIB_REQUIRE_TOOLS";

/// Whether `PORTLIB_REQUIRE_TOOLS` is on: set to anything but empty or `0`.
pub fn tools_required() -> bool {
    std::env::var_os(REQUIRE_TOOLS).is_some_and(|v| !v.is_empty() && v != "0")
}

/// The one way a test may skip: `test` cannot run on this machine because of `why` (a missing
/// tool). Prints the reason and returns, so the caller returns and the test passes, unless
/// `PORTLIB_REQUIRE_TOOLS` is on: then the test fails with the same reason.
pub fn skip(test: &str, why: &str) {
    assert!(
        !tools_required(),
        "{test} cannot run: {why}\n({REQUIRE_TOOLS} is set, so a missing tool is a failure \
         instead of a skip; scripts/test sets it after scripts/setup-tools all)"
    );
    eprintln!("SKIPPED {test}: {why}");
}

/// Every `Lib/**/*.py` file of the test upstream as (path under `Lib/`, bytes), sorted by path,
/// read through portlib's own upstream reader.
pub fn upstream_py_files() -> Vec<(String, Vec<u8>)> {
    let path = upstream_path();
    let upstream = portlib::upstream::Upstream::open(&path)
        .unwrap_or_else(|e| panic!("cannot read CPython 3.4.9 at {}: {e}", path.display()));
    upstream
        .paths()
        .filter(|p| p.ends_with(".py"))
        .map(|p| {
            (
                p.to_owned(),
                upstream.file(p).expect("listed file").to_vec(),
            )
        })
        .collect()
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

/// regrtest's progress lines (`[ n/N] test_x`) of `portlib test` output.
pub fn progress_lines(stdout: &str) -> Vec<&str> {
    stdout.lines().filter(|l| l.starts_with('[')).collect()
}

/// The lines after `N tests OK.` of `portlib test` output: the failed and skipped lists and
/// the totals.
pub fn summary_after<'a>(stdout: &'a str, ok_line: &str) -> Vec<&'a str> {
    stdout
        .split(ok_line)
        .nth(1)
        .unwrap_or_else(|| panic!("no {ok_line:?} in:\n{stdout}"))
        .lines()
        .collect()
}

/// A module's entry in a `portlib test --json` report.
pub fn json_module<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["modules"]
        .as_array()
        .expect("modules array")
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in the JSON report"))
}

/// Each test suite of a JUnit report as (name, failures, errors, skipped).
pub fn junit_suites(xml: &str) -> Vec<(String, String, String, String)> {
    let doc = roxmltree::Document::parse(xml).expect("well-formed JUnit XML");
    let attr = |n: roxmltree::Node, a: &str| n.attribute(a).unwrap_or_default().to_owned();
    doc.root_element()
        .children()
        .filter(|n| n.is_element())
        .map(|s| {
            (
                attr(s, "name"),
                attr(s, "failures"),
                attr(s, "errors"),
                attr(s, "skipped"),
            )
        })
        .collect()
}

/// A module's import cost in a `portlib mem --json` report (`None` when it did not import).
pub fn mem_bytes(report: &serde_json::Value, module: &str) -> Option<i64> {
    report["entries"]
        .as_array()
        .expect("entries array")
        .iter()
        .find(|e| e["module"] == module)
        .and_then(|e| e["bytes"].as_i64())
}
/// Every file below `dir` (`/`-separated relative paths, sorted) with its bytes; a build's
/// `.cache/` is left out.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap();
            let parts: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            (parts.join("/"), std::fs::read(e.path()).unwrap())
        })
        .filter(|(rel, _)| !rel.starts_with(".cache/"))
        .collect()
}

/// `portlib build --tests` of this repository's port into `out` (every ported and lib-src
/// module, with the ported tests, compiled to `.mpy` by portlib's own compiler).
pub fn build_tests_bundle(out: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let args = [
        "--root",
        root.to_str().unwrap(),
        "build",
        "--tests",
        "--format",
        "mpy",
    ];
    let out = portlib(
        root,
        &[&args[..], &["--out", out.to_str().unwrap()]].concat(),
    );
    assert!(out.status.success(), "{}", text(&out));
}
