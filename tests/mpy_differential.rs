//! The differential harness as part of the suite: portlib's compiler against the reference
//! mpy-cross 1.29 (`PORTLIB_MPY_CROSS`) over the whole corpus of issue 3: every `.py` of
//! CPython 3.4.9's `Lib/`, every `.py` under MicroPython 1.26.1's `tests/`, and the port's own
//! effective sources. Each file must compile to the same bytes, or be rejected by both on the
//! same line. `scripts/mpy-diff` prints the same report for one corpus at a time.
//!
//! These tests need the tools of `scripts/setup-tools` (`source $PORTLIB_TOOLS/env.sh`); they
//! fail, never pass silently, without them.

use std::path::{Path, PathBuf};

use portlib::crosscheck::{self, Counts, Report};
use portlib::mpy::format::Target;

mod common;

fn mpy_cross() -> PathBuf {
    let exe = std::env::var_os("PORTLIB_MPY_CROSS").map(PathBuf::from);
    match exe {
        Some(p) if p.is_file() => p,
        _ => panic!(
            "these tests need the reference mpy-cross 1.29: run scripts/setup-tools and source \
             $PORTLIB_TOOLS/env.sh (it sets PORTLIB_MPY_CROSS)"
        ),
    }
}

fn check(top: &Path) -> Report {
    let files = crosscheck::python_files(top).expect("list the corpus");
    assert!(!files.is_empty(), "no .py files under {}", top.display());
    crosscheck::check(top, &files, &mpy_cross(), Target::MicroPython).expect("run the check")
}

fn assert_passes(name: &str, report: &Report) {
    println!("{name}: {}", report.summary());
    assert!(
        report.passed(),
        "{name}: {}\n{}",
        report.summary(),
        report.failures(3)
    );
}

#[test]
fn cpython_lib_is_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    crosscheck::unpack_python_files(&common::upstream_path(), tmp.path()).expect("unpack");
    let report = check(tmp.path());
    assert_passes("CPython 3.4.9 Lib/", &report);
    // The corpus is fixed: a different count means files went missing, not a better compiler.
    let c = report.counts();
    assert_eq!(
        (c.files, c.accepted, c.both_reject),
        (1505, 1478, 27),
        "{c:?}"
    );
}

#[test]
fn micropython_tests_are_byte_identical() {
    let tools = std::env::var_os("PORTLIB_TOOLS").unwrap_or_else(|| {
        panic!("PORTLIB_TOOLS is not set: run scripts/setup-tools and source $PORTLIB_TOOLS/env.sh")
    });
    let top = Path::new(&tools).join("src/micropython-1.26.1/tests");
    assert!(
        top.is_dir(),
        "{} is missing: run scripts/setup-tools micropython",
        top.display()
    );
    let report = check(&top);
    assert_passes("MicroPython 1.26.1 tests/", &report);
    let Counts { accepted, .. } = report.counts();
    assert!(
        accepted > 1300,
        "only {accepted} files compiled by mpy-cross"
    );
}

#[test]
fn port_sources_are_byte_identical() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let repo = portlib::workspace::Repo::at(root).expect("the repository");
    let upstream = portlib::upstream::Upstream::open(&common::upstream_path()).expect("upstream");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("port");
    let stripped = portlib::workspace::strip(&repo, &upstream, &out).expect("strip");
    let report = check(&out);
    assert_passes("the port's effective sources", &report);
    let c = report.counts();
    assert_eq!(
        c.files,
        stripped.ported.len() + stripped.lib_src.len(),
        "every stripped file is compared"
    );
    // The port must compile: a reject on both sides is still a broken module.
    assert_eq!(c.both_reject, 0, "{}", report.failures(3));
}

#[path = "support/nesting.rs"]
mod nesting;

#[test]
fn nesting_thresholds_match_mpy_cross() {
    // Both sides of every limit of `tests/fixtures/mpy-nesting/`: the same bytes at the
    // deepest accepted level, both reject one level deeper.
    let tmp = tempfile::tempdir().unwrap();
    let table = nesting::thresholds();
    for t in &table {
        for n in [t.accepted, t.accepted + 1] {
            let path = tmp.path().join(format!("{}_{n}.py", t.kind));
            std::fs::write(&path, nesting::source(&t.kind, n)).expect("write a source");
        }
    }
    let report = check(tmp.path());
    assert_passes("nesting thresholds", &report);
    let c = report.counts();
    assert_eq!(
        (c.files, c.accepted, c.both_reject),
        (2 * table.len(), table.len(), table.len()),
        "{c:?}"
    );
}
