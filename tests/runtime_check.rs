//! `scripts/runtime-check`: MicroPython 1.26.1's `tests/basics`, `float` and `micropython` run
//! on the host VM via `.mpy`, compiled by mpy-cross and then by portlib (bytecode only, see the
//! script's header). Every test that passes via mpy-cross must pass via portlib.
//!
//! Needs the tools of scripts/setup-tools (`source $PORTLIB_TOOLS/env.sh`): `PORTLIB_TOOLS`
//! with the MicroPython source tree, `PORTLIB_MPY_CROSS`, `PORTLIB_MICROPYTHON64` (or
//! `PORTLIB_MICROPYTHON`) and `python3`. Without them this test fails; it never passes
//! silently. It takes about a minute and a half on 2 cores.

use std::path::{Path, PathBuf};
use std::process::Command;

fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Fail with what to do when a tool the script needs is missing.
fn check_tools() {
    let fix = "Run scripts/setup-tools, then `source $PORTLIB_TOOLS/env.sh`.";
    let tools = env_path("PORTLIB_TOOLS")
        .unwrap_or_else(|| panic!("runtime check needs PORTLIB_TOOLS. {fix}"));
    let run_tests = tools.join("src/micropython-1.26.1/tests/run-tests.py");
    assert!(
        run_tests.is_file(),
        "runtime check needs MicroPython's tests at {}. {fix}",
        run_tests.display()
    );
    let mpy_cross = env_path("PORTLIB_MPY_CROSS")
        .unwrap_or_else(|| panic!("runtime check needs PORTLIB_MPY_CROSS (mpy-cross 1.29). {fix}"));
    assert!(
        mpy_cross.is_file(),
        "PORTLIB_MPY_CROSS={} is not a file. {fix}",
        mpy_cross.display()
    );
    let vm = env_path("PORTLIB_MICROPYTHON64")
        .or_else(|| env_path("PORTLIB_MICROPYTHON"))
        .unwrap_or_else(|| {
            panic!("runtime check needs PORTLIB_MICROPYTHON64 or PORTLIB_MICROPYTHON. {fix}")
        });
    assert!(vm.is_file(), "VM {} is not a file. {fix}", vm.display());
    let python = Command::new("python3").arg("--version").output();
    assert!(
        python.is_ok_and(|o| o.status.success()),
        "runtime check needs python3 on PATH (run-tests.py is a Python script)"
    );
}

/// The number after `prefix` on the line starting with it.
fn count_after(out: &str, prefix: &str) -> usize {
    out.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.trim_end_matches(',').parse().ok())
        .unwrap_or_else(|| panic!("no `{prefix}` count in the report:\n{out}"))
}

#[test]
fn every_test_passing_via_mpy_cross_passes_via_portlib() {
    check_tools();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(root.join("scripts/runtime-check"))
        .env("PORTLIB", env!("CARGO_BIN_EXE_portlib"))
        .output()
        .expect("scripts/runtime-check runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "runtime check failed:\n{report}"
    );
    assert_eq!(
        count_after(&stdout, "lost (pass via mpy-cross, not via portlib): "),
        0,
        "{report}"
    );
    let ref_tests = count_after(&stdout, "via mpy-cross: ");
    let ref_passed = count_after(&stdout, &format!("via mpy-cross: {ref_tests} tests, "));
    let our_tests = count_after(&stdout, "via portlib  : ");
    assert_eq!(
        ref_tests, our_tests,
        "both runs must run the same tests:\n{report}"
    );
    assert!(ref_passed > 0, "nothing passed via mpy-cross:\n{report}");
}
