//! `portlib test` on the real MicroPython unix port (32-bit, `-X heapsize=192K`), one process
//! per fixture module in `tests/fixtures/testrun/lib/test/`. Needs the VM: set
//! `PORTLIB_MICROPYTHON` (scripts/setup-tools writes it into `$PORTLIB_TOOLS/env.sh`); without
//! it these tests fail, they never pass silently.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn portlib(bundle: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portlib"))
        .arg("test")
        .arg("--bundle")
        .arg(bundle)
        .arg("--out")
        .arg(bundle.join("state"))
        .args(args)
        .env("PORTLIB_MICROPYTHON", common::micropython())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn whole_fixture_suite() {
    let b = common::bundle("testrun");
    let junit = b.path().join("out/junit.xml");
    let json = b.path().join("out/report.json");
    let out = portlib(
        b.path(),
        &[
            "--timeout",
            "3",
            "--junit",
            junit.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );

    // regrtest's progress lines, with the failure count once something failed.
    assert_eq!(
        common::progress_lines(&stdout),
        [
            "[ 1/12] test_crash",
            "[ 2/12/1] test_error",
            "[ 3/12/2] test_expected",
            "[ 4/12/2] test_fail",
            "[ 5/12/3] test_hang",
            "[ 6/12/4] test_import_error",
            "[ 7/12/5] test_nomem_import",
            "[ 8/12/6] test_nomem_run",
            "[ 9/12/7] test_pass",
            "[10/12/7] test_skipcases",
            "[11/12/7] test_skipmodule",
            "[12/12/7] test_withmain",
        ]
    );
    for needle in [
        "test test_crash crashed -- VM killed by signal 11 (SIGSEGV) before the runner finished \
         (in test.test_crash.Crash.test_b_segfault)",
        "    | about to crash",
        "test test_hang timed out after 3 s -- killed (in test.test_hang.Forever.test_spin)",
        "    | spinning",
        "test test_nomem_import failed -- Out of memory while importing",
        "test test_nomem_run failed -- Out of memory in test.test_nomem_run.Hungry.test_b_huge",
        "ImportError: no module named 'no_such_module_anywhere'",
        "AssertionError: 1 != 2",
        "ValueError: boom",
        "test_skipmodule skipped -- needs a feature this VM lacks",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    let summary = common::summary_after(&stdout, "4 tests OK.\n");
    assert_eq!(
        summary[..7],
        [
            "7 tests failed:",
            "    test_crash test_error test_fail test_hang test_import_error",
            "    test_nomem_import test_nomem_run",
            "1 test skipped:",
            "    test_skipmodule",
            "Ran 19 test cases: 8 ok, 1 failure, 4 errors, 4 skipped, 1 expected failure, 1 \
             unexpected success.",
            summary[6],
        ]
    );
    assert!(summary[6].starts_with("Total duration: "));

    // JSON: every module and case, with heap figures from the VM.
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let status = |name: &str| common::json_module(&v, name);
    for (name, want) in [
        ("test_crash", "crashed"),
        ("test_error", "failed"),
        ("test_expected", "passed"),
        ("test_fail", "failed"),
        ("test_hang", "timed_out"),
        ("test_import_error", "failed"),
        ("test_nomem_import", "out_of_memory"),
        ("test_nomem_run", "out_of_memory"),
        ("test_pass", "passed"),
        ("test_skipcases", "passed"),
        ("test_skipmodule", "skipped"),
        ("test_withmain", "passed"),
    ] {
        assert_eq!(status(name)["status"], want, "{name}");
    }
    assert_eq!(
        v["runtime"]["bits"], 32,
        "the host VM must be the 32-bit build"
    );
    let pass = status("test_pass");
    let mem = &pass["mem"];
    let before = mem["alloc_before"].as_i64().unwrap();
    let after = mem["alloc_after"].as_i64().unwrap();
    assert!(before > 0 && after > before, "{mem}");
    let free = mem["free_at_start"].as_i64().unwrap();
    assert!(
        (150_000..196_608).contains(&free),
        "192K heap, runner loaded: {free}"
    );
    let cases: Vec<(String, String)> = pass["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().into(),
                c["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(cases.len(), 3);
    assert!(cases.iter().all(|(_, s)| s == "ok"));
    let partial = pass["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "test.test_pass.Arithmetic.test_partial_line")
        .unwrap();
    assert_eq!(partial["output"], "no newline here");
    let skips: Vec<&str> = status("test_skipcases")["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "skip")
        .map(|c| c["detail"].as_str().unwrap())
        .collect();
    assert_eq!(
        skips,
        [
            "not today",
            "condition true",
            "condition false",
            "whole class"
        ]
    );
    let exp: Vec<&str> = status("test_expected")["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(exp, ["unexpected_success", "expected_failure"]);
    assert_eq!(status("test_crash")["exit"]["value"], 11);

    // JUnit: parse it back.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("well-formed JUnit XML");
    let suites: Vec<_> = doc
        .root_element()
        .children()
        .filter(|n| n.is_element())
        .collect();
    assert_eq!(suites.len(), 12);
    let suite = |name: &str| {
        *suites
            .iter()
            .find(|s| s.attribute("name") == Some(name))
            .unwrap()
    };
    assert_eq!(suite("test_fail").attribute("failures"), Some("1"));
    assert_eq!(suite("test_error").attribute("errors"), Some("1"));
    assert_eq!(suite("test_skipcases").attribute("skipped"), Some("4"));
    assert_eq!(suite("test_pass").attribute("failures"), Some("0"));
    let import_err = suite("test_import_error")
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert_eq!(import_err.attribute("type"), Some("Failed"));
    assert!(import_err
        .text()
        .unwrap()
        .contains("no_such_module_anywhere"));
    let hang = suite("test_hang")
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert_eq!(hang.attribute("type"), Some("Timeout"));
}

#[test]
fn passing_modules_exit_zero_and_verbose_lines() {
    let b = common::bundle("testrun");
    let out = portlib(b.path(), &["-v", "test_pass", "test.test_skipcases"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    for needle in [
        "[1/2] test_pass\n",
        "test_add (test.test_pass.Arithmetic) ... ok\n",
        "no newline here\ntest_partial_line (test.test_pass.Arithmetic) ... ok\n",
        "tab\there \\ and a fake marker @portlib: done\n",
        "test_skip (test.test_skipcases.Mixed) ... skipped \"not today\"\n",
        "All 2 tests OK.\n",
        " before the import, ",
        " bytes kept), ",
        "Ran 8 test cases: 4 ok, 0 failures, 0 errors, 4 skipped",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
}

#[test]
fn bigger_heap_start_and_resume() {
    let b = common::bundle("testrun");
    let json = b.path().join("r.json");
    let out = portlib(
        b.path(),
        &[
            "--ram",
            "256K",
            "--start",
            "test_fail",
            "test_error",
            "test_fail",
            "test_pass",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        common::progress_lines(&stdout),
        ["[1/2] test_fail", "[2/2/1] test_pass"],
        "{stdout}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["heap"], "256K");
    let free = v["modules"][0]["mem"]["free_at_start"].as_i64().unwrap();
    assert!(free > 240_000, "256K heap gives {free} free");

    let again = portlib(
        b.path(),
        &["--resume", "test_fail", "test_pass", "test_expected"],
    );
    let stdout = text(&again.stdout);
    assert!(
        stdout.contains("[1/3] test_fail (resumed: failed)\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[2/3/1] test_pass (resumed: passed)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("[3/3/1] test_expected\n"), "{stdout}");
    assert_eq!(again.status.code(), Some(1));
}

#[test]
fn missing_vm_is_a_clear_error() {
    let b = common::bundle("testrun");
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(["test", "--bundle"])
        .arg(b.path())
        .env("PORTLIB_MICROPYTHON", b.path().join("no-such-binary"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("no-such-binary does not exist"), "{err}");
}

/// A test that leaves a background process holding the VM's stdout: the VM's exit must still
/// end the module (not the timeout, and not a reader waiting for the straggler).
#[test]
fn straggler_holding_stdout_does_not_hold_the_run() {
    let b = common::bundle("testrun");
    std::fs::write(
        b.path().join("lib/test/test_background.py"),
        "import os\nimport unittest\n\n\nclass Bg(unittest.TestCase):\n    \
         def test_spawn(self):\n        os.system('sleep 25 &')\n",
    )
    .unwrap();
    let out = portlib(b.path(), &["--timeout", "20", "test_background"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("1 test OK."), "{stdout}");
}

/// Regression: a `--timeout` past what the clock can add (u64::MAX seconds) panicked with
/// "overflow when adding duration to instant" (exit 101); it means "no limit".
#[test]
fn huge_timeout_means_no_limit() {
    let b = common::bundle("testrun");
    let out = portlib(b.path(), &["--timeout", &u64::MAX.to_string(), "test_pass"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.contains("1 test OK."), "{stdout}");
}

/// Regression: a bundle path holding ':' split MICROPYPATH in two, so every module "crashed"
/// with `no module named 'portlib_runner'` (exit 1) though the runner is there. It is an
/// error (2) that says why.
#[cfg(unix)]
#[test]
fn bundle_path_with_the_path_separator_is_a_clear_error() {
    let b = common::bundle("testrun");
    let odd = b.path().join("with:colon");
    std::fs::create_dir(&odd).unwrap();
    std::fs::rename(b.path().join("lib"), odd.join("lib")).unwrap();
    let out = portlib(&odd, &["test_pass"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("contains ':', which separates folders in MICROPYPATH"),
        "{stderr}"
    );
}

/// `--board` other than `host` goes to a board: a port that does not exist is an error (2)
/// naming it, before any module runs.
#[test]
fn unknown_board_is_a_clear_error() {
    let b = common::bundle("testrun");
    for cmd in ["test", "mem"] {
        let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
            .args([cmd, "--board", "/dev/portlib-no-such-tty", "--bundle"])
            .arg(b.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
        let err = text(&out.stderr);
        assert!(
            err.contains("--board /dev/portlib-no-such-tty: not a serial port"),
            "{err}"
        );
    }
}

/// Regression: `--out FILE` naming an existing file (people expect a report there) failed only
/// after the first module had run. `--out` is the folder of the resume state: an error (2)
/// saying what to pass instead, before any module runs, and the file left alone.
#[test]
fn out_naming_a_file_is_an_error_before_any_module_runs() {
    let b = common::bundle("testrun");
    let file = b.path().join("results.txt");
    std::fs::write(&file, "keep me\n").unwrap();
    for (out, what) in [
        (file.clone(), "is a file".to_owned()),
        (
            file.join("deeper/state"),
            format!("is inside {}, which is a file", file.display()),
        ),
    ] {
        let run = Command::new(env!("CARGO_BIN_EXE_portlib"))
            .args(["test", "--bundle"])
            .arg(b.path())
            .arg("--out")
            .arg(&out)
            .args(["test_pass", "test_fail"])
            .env("PORTLIB_MICROPYTHON", common::micropython())
            .output()
            .unwrap();
        assert_eq!(run.status.code(), Some(2), "{}", common::text(&run));
        assert!(
            run.stdout.is_empty(),
            "no module ran: {}",
            common::text(&run)
        );
        let err = text(&run.stderr);
        assert!(
            err.contains(&format!("--out {} {what}", out.display())),
            "{err}"
        );
        assert!(
            err.contains("pass a folder") && err.contains("--json FILE or --junit FILE"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
    }
}
