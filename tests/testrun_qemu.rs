//! `portlib test --board PORT` and `portlib mem --board PORT` on the emulated board
//! (MicroPython 1.26.1 in QEMU, 192 KiB heap, `scripts/qemu-board/`), with the fixture modules
//! of `tests/fixtures/testrun/` and two of `tests/fixtures/mem/` copied to its `/lib`.
//!
//! Skipped, with the reason printed, only when the machine cannot start QEMU: no firmware or no
//! `qemu-system-arm` (`scripts/setup-tools qemu` provides both); with `PORTLIB_REQUIRE_TOOLS=1`
//! (as `scripts/test` runs it) that fails too. Any other failure to start the board fails the
//! test. Kept small: the board reads about 10 KB/s.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::qemu::{self, Board};

/// Start a board with `files` (relative to `lib`) in its `/lib`, copied by mpremote; `None`
/// (after saying why) when this machine cannot run QEMU at all.
fn start_board(lib: &Path, files: &[&str]) -> Option<Board> {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{start}cd '{lib}'\n\
         \"${{PORTLIB_MPREMOTE:-mpremote}}\" connect \"$pty\" fs cp -r {files} :lib/ >&2\n\
         echo \"$pty\" >'{dir}/board.pty'\n\
         echo \"$pty\"\n",
        start = qemu::script_start(dir.path()),
        dir = dir.path().display(),
        lib = lib.display(),
        files = files.join(" "),
    );
    Board::start(dir, &script)
}

fn portlib(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(args)
        .output()
        .unwrap()
}

/// One board for both commands (a boot and the copy cost more than the runs).
#[test]
fn test_and_mem_on_the_emulated_board() {
    let b = common::bundle("testrun");
    let lib = b.path().join("lib");
    // The `mem` fixtures live beside the test ones on the board.
    let mem = common::bundle("mem");
    for m in ["small.py", "tiny.py"] {
        std::fs::copy(mem.path().join("lib").join(m), lib.join(m)).unwrap();
    }
    let files = [
        "portlib_runner.py",
        "unittest.py",
        "test",
        "small.py",
        "tiny.py",
    ];
    // machine.reset() ends the QEMU process, as a hard fault or a watchdog resets a board: the
    // port goes away mid-test. (Not among the fixtures: the host VM has no machine.reset.)
    std::fs::write(
        lib.join("test/test_reset.py"),
        "import unittest\n\n\nclass Reset(unittest.TestCase):\n    def test_reset(self):\n        \
         print('resetting')\n        import machine\n        machine.reset()\n",
    )
    .unwrap();
    let Some(board) = start_board(&lib, &files) else {
        return;
    };
    let bundle = b.path().to_str().unwrap();
    let junit = b.path().join("junit.xml");
    let json = b.path().join("report.json");
    let state = b.path().join("state");
    let recover = board.recover_cmd();
    let out = portlib(&[
        "test",
        "--board",
        &board.pty,
        "--bundle",
        bundle,
        "--out",
        state.to_str().unwrap(),
        "--timeout",
        "8",
        "--recover-cmd",
        &recover,
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "test_error",
        "test_expected",
        "test_fail",
        "test_hang",
        "test_nomem_run",
        "test_pass",
        "test_reset",
        "test_skipcases",
        "test_skipmodule",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{}", common::text(&out));
    assert_eq!(
        common::progress_lines(&stdout),
        [
            "[1/9] test_error",
            "[2/9/1] test_expected",
            "[3/9/1] test_fail",
            "[4/9/2] test_hang",
            "[5/9/3] test_nomem_run",
            "[6/9/4] test_pass",
            "[7/9/4] test_reset",
            "[8/9/5] test_skipcases",
            "[9/9/5] test_skipmodule",
        ]
    );
    assert!(stdout.starts_with("== MicroPython 1.26.1 ("), "{stdout}");
    for needle in [
        "test test_hang timed out after 8 s -- killed (in test.test_hang.Forever.test_spin)",
        "    | spinning",
        "test test_reset crashed -- VM lost (the connection to the VM ended) before the runner \
         finished (in test.test_reset.Reset.test_reset)",
        "    | resetting",
        "test test_nomem_run failed -- Out of memory in test.test_nomem_run.Hungry.test_b_huge",
        "AssertionError: 1 != 2",
        "ValueError: boom",
        "test_skipmodule skipped -- needs a feature this VM lacks",
    ] {
        assert!(stdout.contains(needle), "missing {needle:?} in:\n{stdout}");
    }
    let summary = common::summary_after(&stdout, "3 tests OK.\n");
    assert_eq!(
        summary[..5],
        [
            "5 tests failed:",
            "    test_error test_fail test_hang test_nomem_run test_reset",
            "1 test skipped:",
            "    test_skipmodule",
            "Ran 17 test cases: 6 ok, 1 failure, 4 errors, 4 skipped, 1 expected failure, 1 \
             unexpected success.",
        ],
        "{stdout}"
    );

    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for (name, want) in [
        ("test_error", "failed"),
        ("test_expected", "passed"),
        ("test_fail", "failed"),
        ("test_hang", "timed_out"),
        ("test_nomem_run", "out_of_memory"),
        ("test_pass", "passed"),
        ("test_reset", "crashed"),
        ("test_skipcases", "passed"),
        ("test_skipmodule", "skipped"),
    ] {
        assert_eq!(common::json_module(&v, name)["status"], want, "{name}");
    }
    assert_eq!(v["runtime"]["bits"], 32);
    // A fresh VM per module: every module starts with the same heap, the board's 192 KiB less
    // the runner (so nothing leaked from the module before, not even interned strings). Only
    // the module's name, compiled into the snippet, differs: a few bytes.
    let starts: Vec<i64> = ["test_error", "test_pass", "test_skipcases"]
        .iter()
        .map(|n| {
            common::json_module(&v, n)["mem"]["free_at_start"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(
        (150_000..196_608).contains(&starts[0]),
        "free at start {starts:?}"
    );
    assert!(
        starts.iter().all(|&s| (s - starts[0]).abs() <= 64),
        "{starts:?}"
    );

    let suites = common::junit_suites(&std::fs::read_to_string(&junit).unwrap());
    let suite = |n: &str| suites.iter().find(|s| s.0 == n).unwrap().clone();
    assert_eq!(suites.len(), 9);
    assert_eq!(suite("test_reset").2, "1");
    assert_eq!(suite("test_fail").1, "1");
    assert_eq!(suite("test_error").2, "1");
    assert_eq!(suite("test_hang").2, "1");
    assert_eq!(suite("test_skipcases").3, "4");

    // The hang had the board restarted, perhaps on another pty: the script noted it.
    let pty = std::fs::read_to_string(board.dir.path().join("board.pty")).unwrap();
    let pty = pty.trim();
    let mem_json = b.path().join("mem.json");
    let out = portlib(&[
        "mem",
        "--board",
        pty,
        "--bundle",
        bundle,
        "--json",
        mem_json.to_str().unwrap(),
        "small",
        "tiny",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    assert!(
        stdout.starts_with("Import cost on MicroPython v1.26"),
        "{stdout}"
    );
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&mem_json).unwrap()).unwrap();
    let bytes = |name: &str| {
        common::mem_bytes(&v, name).unwrap_or_else(|| panic!("no figure for {name}: {v}"))
    };
    let (small, tiny) = (bytes("small"), bytes("tiny"));
    assert!(0 < tiny && tiny < small, "tiny {tiny}, small {small}");
}
