//! The port's acceptance run on the emulated board: every test module of `tests/port_suite.rs`
//! on MicroPython 1.26.1's bare-metal firmware (QEMU mps2-an386, Cortex-M4, 192 KiB heap,
//! littlefs in RAM; `scripts/qemu-board/`), which lacks what the unix port has and a Metro M4
//! lacks too (`sys.exc_info`, `_thread`, a null device, double-precision floats, ...).
//!
//! The bundle (`portlib build --tests`) goes onto the board with `portlib deploy`, then
//! `portlib test --board PTY --json` runs the modules, one soft reset each. Skipped, with the
//! reason printed, only when this machine cannot start QEMU (no firmware, no
//! `qemu-system-arm`: `scripts/setup-tools qemu` provides both); any other failure to start or
//! fill the board fails the test. The copy dominates its cost: the board reads about 5-10 KB/s.
#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::qemu::{self, Board};
use common::text;

/// The module list of `tests/port_suite.rs`, read from its source so the two runs cannot drift
/// apart (helpers add modules there).
fn suite_modules() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/port_suite.rs");
    let src = std::fs::read_to_string(&path).unwrap();
    let start = src
        .find("const MODULES: &[&str] = &[")
        .unwrap_or_else(|| panic!("no MODULES list in {}", path.display()));
    let body = &src[start..];
    let body = &body[body.find('[').unwrap() + 1..];
    let body = &body[body.find('[').unwrap() + 1..body.find("];").unwrap()];
    let modules: Vec<String> = body
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    assert!(
        !modules.is_empty()
            && modules
                .iter()
                .all(|m| m.starts_with("test_") || m.starts_with("unittest.test.")),
        "unexpected MODULES entries in {}: {modules:?}",
        path.display()
    );
    modules
}

/// A board with `bundle` deployed into its `/lib` by `portlib deploy`; `None` (after saying
/// why) when this machine cannot run QEMU at all.
fn start_board(bundle: &Path) -> Option<Board> {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{start}'{portlib}' deploy --quiet --board \"$pty\" '{bundle}' >&2\n\
         echo \"$pty\"\n",
        start = qemu::script_start(dir.path()),
        portlib = env!("CARGO_BIN_EXE_portlib"),
        bundle = bundle.display(),
    );
    let started = Instant::now();
    let board = Board::start(dir, &script)?;
    println!(
        "board started and bundle deployed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Some(board)
}

#[test]
fn ported_tests_pass_on_the_emulated_board() {
    let started = Instant::now();
    let modules = suite_modules();
    let tmp = tempfile::tempdir().unwrap();
    let bundle = tmp.path().join("bundle");
    common::build_tests_bundle(&bundle);
    let Some(board) = start_board(&bundle) else {
        return;
    };

    let json = tmp.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(["test", "--board", &board.pty, "--timeout", "300"])
        .arg("--recover-cmd")
        .arg(board.recover_cmd())
        .arg("--bundle")
        .arg(&bundle)
        .arg("--out")
        .arg(tmp.path().join("state"))
        .arg("--json")
        .arg(&json)
        .args(&modules)
        .output()
        .unwrap();
    println!("{}", String::from_utf8_lossy(&out.stdout));
    println!("total wall time {:.1} s", started.elapsed().as_secs_f64());

    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&json).unwrap_or_else(|e| panic!("no JSON report ({e}):\n{}", text(&out))),
    )
    .unwrap();
    let ran: Vec<&str> = report["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(ran, modules, "the run did not cover the suite's modules");
    let mut problems = Vec::new();
    for m in report["modules"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        let cases = m["cases"].as_array().unwrap();
        if cases.is_empty() {
            problems.push(format!("{name}: ran no test ({})", m["status"]));
        }
        // Every case skipped with a reason (test_break: no os.kill) is "skipped", not failed.
        if !matches!(m["status"].as_str(), Some("passed" | "skipped")) {
            problems.push(format!("{name}: {}", m["status"]));
        }
        for c in cases {
            if matches!(c["status"].as_str(), Some("fail" | "error")) {
                problems.push(format!(
                    "{}: {} {}",
                    c["id"].as_str().unwrap_or(name),
                    c["status"],
                    c["detail"].as_str().unwrap_or_default()
                ));
            }
        }
    }
    assert!(
        problems.is_empty() && out.status.success(),
        "{} problem(s) on the board:\n{}\n{}",
        problems.len(),
        problems.join("\n"),
        text(&out)
    );
}
