//! The board-side runner against a real unittest: CPython's own. The runner is written against
//! CPython 3.4's unittest API so that it works unchanged with the ported unittest; running it
//! here under `python3` (with the fixture modules but without the stand-in unittest) checks that
//! claim. Needs `python3` on PATH (or `PORTLIB_PYTHON`); without it this test fails.

mod common;

use std::process::Command;
use std::time::Duration;

use portlib::testrun::{collect, CaseStatus, ModuleStatus, VmExit, VmRun};

fn python() -> std::ffi::OsString {
    let py = std::env::var_os("PORTLIB_PYTHON").unwrap_or_else(|| "python3".into());
    match Command::new(&py).arg("--version").output() {
        Ok(o) if o.status.success() => py,
        _ => panic!(
            "this test needs CPython 3 ({py:?} did not run): install python3 or set PORTLIB_PYTHON"
        ),
    }
}

#[test]
fn runner_speaks_cpython_unittest() {
    let py = python();
    let b = common::bundle("testrun");
    let lib = b.path().join("lib");
    // The stand-in must not shadow the real unittest.
    std::fs::remove_file(lib.join("unittest.py")).unwrap();
    let cases = [
        ("test_pass", ModuleStatus::Passed, vec![CaseStatus::Ok; 3]),
        (
            "test_fail",
            ModuleStatus::Failed,
            vec![CaseStatus::Fail, CaseStatus::Ok],
        ),
        ("test_error", ModuleStatus::Failed, vec![CaseStatus::Error]),
        ("test_skipmodule", ModuleStatus::Skipped, vec![]),
        ("test_import_error", ModuleStatus::Failed, vec![]),
        (
            "test_skipcases",
            ModuleStatus::Passed,
            vec![
                CaseStatus::Ok,
                CaseStatus::Skip,
                CaseStatus::Skip,
                CaseStatus::Skip,
                CaseStatus::Skip,
            ],
        ),
        (
            "test_expected",
            ModuleStatus::Passed,
            vec![CaseStatus::UnexpectedSuccess, CaseStatus::ExpectedFailure],
        ),
        ("test_withmain", ModuleStatus::Passed, vec![CaseStatus::Ok]),
    ];
    for (name, want, want_cases) in cases {
        let out = Command::new(&py)
            .arg("-c")
            .arg(format!(
                "import portlib_runner\nportlib_runner.main('test', 'test.{name}')\n"
            ))
            .current_dir(&lib)
            .output()
            .unwrap();
        let run = VmRun {
            output: out.stdout,
            stderr: out.stderr,
            exit: VmExit::Code(out.status.code().unwrap_or(-1)),
            elapsed: Duration::ZERO,
        };
        let m = collect(name, &run);
        assert!(m.finished, "{name}: no done event: {m:#?}");
        assert_eq!(m.status, want, "{name}: {m:#?}");
        let got: Vec<CaseStatus> = m.cases.iter().map(|c| c.status).collect();
        assert_eq!(got, want_cases, "{name}: {m:#?}");
        assert_eq!(m.vm.as_ref().unwrap().implementation, "cpython");
    }
}
