//! The status page (`portlib status --markdown`): the library on hand-made report fixtures, and
//! the binary on a scratch repository, both compared to expected Markdown byte for byte.
//! `PORTLIB_BLESS=1 cargo test --test status_page` rewrites the expected files that differ (and
//! still fails, naming them, so a blessed run never passes unseen; review the diff, run again).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{portlib, text};
use portlib::memreport::MemReport;
use portlib::workspace::{write_status_page, FileStatus, StatusPage, TestReport, WorkState};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/status")
        .join(name)
}

fn assert_matches_expected(actual: &str, name: &str) {
    let path = fixture(name);
    let expected = fs::read_to_string(&path).unwrap_or_default();
    if actual == expected {
        return;
    }
    // Blessing writes the new page but never passes: the comparison it replaces did not hold.
    let blessed = std::env::var_os("PORTLIB_BLESS").is_some();
    if blessed {
        fs::write(&path, actual).unwrap();
    }
    panic!(
        "page differs from {}{}:\n{}",
        path.display(),
        if blessed {
            " (PORTLIB_BLESS: rewritten; review the diff and run again)"
        } else {
            " (PORTLIB_BLESS=1 rewrites it)"
        },
        similar::TextDiff::from_lines(expected.as_str(), actual).unified_diff()
    );
}

fn row(path: &str, kind: &'static str, commented: usize, added: usize) -> FileStatus {
    FileStatus {
        path: path.to_owned(),
        kind,
        commented,
        added,
        work: (kind == "patch").then_some(WorkState::Clean),
    }
}

#[test]
fn page_from_fixture_reports_matches_expected_markdown() {
    let tests_path = fixture("tests.json");
    let mem_path = fixture("mem.json");
    let tests = TestReport::from_json(&tests_path, &fs::read(&tests_path).unwrap()).unwrap();
    let mem = MemReport::from_json(&mem_path, &fs::read(&mem_path).unwrap()).unwrap();
    // Out of order on purpose: the page sorts.
    let files = [
        row("unittest/case.py", "patch", 12, 30),
        row("posix.py", "lib-src", 0, 140),
        row("fnmatch.py", "patch", 1, 1),
        row("unittest/__init__.py", "patch", 4, 2),
        row("os.py", "patch", 210, 35),
    ];
    let notes = ["bundle compiled with the reference mpy-cross 1.29".to_owned()];
    let page = StatusPage {
        version: "9.9.9",
        command: "portlib status --markdown --tests tests.json --mem mem.json",
        notes: &notes,
        files: &files,
        tests: std::slice::from_ref(&tests),
        mem: Some(&mem),
    };
    let mut out = Vec::new();
    write_status_page(&mut out, &page).unwrap();
    let md = String::from_utf8(out).unwrap();
    assert_matches_expected(&md, "expected.md");

    // Independent of the expected file: the totals row adds up the fixture's cases.
    assert!(
        md.contains("| **all: 5 modules** | **2 passed, 2 failed, 1 skipped** | **10** | **4** | **1** | **1** | **2** | **1** | **1** | |"),
        "{md}"
    );
}

#[test]
fn two_runs_get_a_table_each_named_by_machine() {
    let read = |name: &str| {
        let path = fixture(name);
        TestReport::from_json(&path, &fs::read(&path).unwrap()).unwrap()
    };
    let runs = [read("tests.json"), read("tests-board.json")];
    let files = [row("fnmatch.py", "patch", 1, 1)];
    let page = StatusPage {
        version: "9.9.9",
        command: "portlib status --markdown --tests tests.json --tests tests-board.json",
        notes: &[],
        files: &files,
        tests: &runs,
        mem: None,
    };
    let mut out = Vec::new();
    write_status_page(&mut out, &page).unwrap();
    let md = String::from_utf8(out).unwrap();
    assert_matches_expected(&md, "expected-two-runs.md");
    // Each run keeps its own totals: the board's run has one module fewer.
    let host = md.find("ported) on host").expect("host heading");
    let board = md
        .find("ported) on MicroPython 1.26.1 (mps2-an386 with Cortex-M4)")
        .expect("board heading");
    assert!(host < board, "{md}");
    assert!(md[host..board].contains("**all: 5 modules**"), "{md}");
    assert!(md[board..].contains("**all: 4 modules**"), "{md}");
}

#[test]
fn a_report_of_the_wrong_kind_is_refused_with_its_path() {
    let mem_path = fixture("mem.json");
    let err = TestReport::from_json(&mem_path, &fs::read(&mem_path).unwrap()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("mem.json"), "{msg}");
}

#[test]
fn cli_writes_the_page_for_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    fs::create_dir(dir.join("patches")).unwrap();
    fs::create_dir(dir.join("lib-src")).unwrap();
    fs::write(dir.join("lib-src/posix.py"), "a = 1\nb = 2\n").unwrap();
    let out = portlib(dir, &["port", "fnmatch"]);
    assert!(out.status.success(), "{}", text(&out));
    let work = dir.join("work/fnmatch.py");
    let edited = fs::read_to_string(&work)
        .unwrap()
        .replace("import os\n", "#import os\nimport os   ### kept, marked\n");
    fs::write(&work, edited).unwrap();
    let out = portlib(dir, &["refresh"]);
    assert!(out.status.success(), "{}", text(&out));
    fs::copy(fixture("tests.json"), dir.join("tests.json")).unwrap();
    fs::copy(fixture("mem.json"), dir.join("mem.json")).unwrap();

    let out = portlib(
        dir,
        &[
            "status",
            "--markdown",
            "--tests",
            "tests.json",
            "--mem",
            "mem.json",
            "--note",
            "made by the test",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let md = String::from_utf8(out.stdout)
        .unwrap()
        .replace(env!("CARGO_PKG_VERSION"), "VERSION");
    assert_matches_expected(&md, "cli_expected.md");

    let out = portlib(dir, &["status", "--markdown", "--tests", "mem.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("mem.json"),
        "{}",
        text(&out)
    );
}
