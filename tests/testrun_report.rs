//! The test driver and its reports against a scripted fake VM: no MicroPython needed. The fake
//! replays event streams like the ones `lib-src/portlib_runner.py` prints, so the driver's
//! classification, resume logic, regrtest text, JUnit XML and JSON are checked on their own.

use std::collections::BTreeMap;
use std::time::Duration;

use portlib::testrun::frame::{escape, SENTINEL};
use portlib::testrun::report;
use portlib::testrun::run::{self, Quiet, RunOptions, Session};
use portlib::testrun::{ModuleStatus, RunMode, RunRequest, Vm, VmError, VmExit, VmInfo, VmRun};

fn ev(fields: &[&str]) -> Vec<u8> {
    let mut v = SENTINEL.to_vec();
    let esc: Vec<String> = fields.iter().map(|f| escape(f)).collect();
    v.extend_from_slice(esc.join("\t").as_bytes());
    v.push(b'\n');
    v
}

fn hello() -> Vec<u8> {
    ev(&[
        "hello",
        "1",
        "micropython",
        "3.4.0; MicroPython v1.26.1",
        "186000",
        "5000",
        "2147483647",
    ])
}

/// Canned runs keyed by module; records what it was asked to run.
struct FakeVm {
    runs: BTreeMap<String, (Vec<u8>, VmExit)>,
    asked: Vec<String>,
}

impl Vm for FakeVm {
    fn info(&self) -> VmInfo {
        VmInfo {
            board: "fake".into(),
            location: "memory".into(),
            heap: 196608,
        }
    }

    fn run_module(
        &mut self,
        request: &RunRequest,
        _timeout: Duration,
        on_output: &mut dyn FnMut(&[u8]),
    ) -> Result<VmRun, VmError> {
        assert_eq!(request.mode, RunMode::Test);
        self.asked.push(request.module.clone());
        let (out, exit) = self.runs[&request.module].clone();
        // Deliver in awkward pieces, as a serial line would.
        for chunk in out.chunks(7) {
            on_output(chunk);
        }
        Ok(VmRun {
            output: out,
            stderr: Vec::new(),
            exit,
            elapsed: Duration::from_millis(10),
        })
    }
}

fn case(id: &str, status: &str, exc: &str, detail: &str) -> Vec<u8> {
    let mut v = ev(&["start", id]);
    v.extend(ev(&["result", id, status, "3", exc, detail]));
    v
}

fn fake() -> FakeVm {
    let mut runs = BTreeMap::new();
    let ok = |body: Vec<u8>| {
        let mut v = hello();
        v.extend(ev(&["import", "m", "5000", "180000"]));
        v.extend(ev(&["imported", "m", "6000", "179000", "2"]));
        v.extend(body);
        v.extend(ev(&["done", "1", "9", "6100", "178900"]));
        (v, VmExit::Code(0))
    };
    runs.insert(
        "test.test_a".into(),
        ok(case("test.test_a.A.test_x", "ok", "", "")),
    );
    runs.insert(
        "test.test_b".into(),
        ok(case(
            "test.test_b.B.test_y",
            "fail",
            "AssertionError",
            "Traceback (most recent call last):\n  File \"b.py\", line 3\nAssertionError: 1 != 2 <&>\n",
        )),
    );
    let mut crash = hello();
    crash.extend(ev(&["import", "m", "5000", "180000"]));
    crash.extend(ev(&["imported", "m", "6000", "179000", "2"]));
    crash.extend(ev(&["start", "test.test_c.C.test_z"]));
    crash.extend_from_slice(b"dying \x01 now");
    runs.insert("test.test_c".into(), (crash, VmExit::Signal(11)));
    let mut skip = hello();
    skip.extend(ev(&["import", "m", "5000", "180000"]));
    skip.extend(ev(&["skipmodule", "test.test_d", "no zlib"]));
    skip.extend(ev(&["done", "0", "1", "5000", "180000"]));
    runs.insert("test.test_d".into(), (skip, VmExit::Code(0)));
    FakeVm {
        runs,
        asked: Vec::new(),
    }
}

fn names() -> Vec<String> {
    ["test_a", "test_b", "test_c", "test_d"]
        .map(String::from)
        .to_vec()
}

fn session(vm: &mut FakeVm) -> Session {
    let opts = RunOptions {
        timeout: Duration::from_secs(5),
    };
    run::run_session(vm, &names(), &opts, None, false, &mut Quiet).unwrap()
}

#[test]
fn verdicts() {
    let mut vm = fake();
    let s = session(&mut vm);
    let st: Vec<ModuleStatus> = s.modules.iter().map(|m| m.status).collect();
    assert_eq!(
        st,
        [
            ModuleStatus::Passed,
            ModuleStatus::Failed,
            ModuleStatus::Crashed,
            ModuleStatus::Skipped
        ]
    );
    let c = &s.modules[2];
    assert_eq!(c.cases[0].exc_type, "Crash");
    assert_eq!(c.cases[0].output, "dying \x01 now");
    assert!(s.failed());
    assert_eq!(s.modules[0].mem.unwrap().import_cost(), Some(1000));
}

#[test]
fn summary_text() {
    let mut vm = fake();
    let mut s = session(&mut vm);
    s.duration_s = 1.25;
    let mut out = Vec::new();
    report::write_summary(&mut out, &s).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "1 test OK.\n\
         2 tests failed:\n    test_b test_c\n\
         1 test skipped:\n    test_d\n\
         Ran 3 test cases: 1 ok, 1 failure, 1 error, 0 skipped, 0 expected failures, \
         0 unexpected successes.\n\
         Total duration: 1.2 s\n"
    );
    assert_eq!(
        report::verdict_line(&s.modules[2]).unwrap(),
        "test test_c crashed -- VM killed by signal 11 (SIGSEGV) before the runner finished \
         (in test.test_c.C.test_z)"
    );
    assert_eq!(
        report::verdict_line(&s.modules[3]).unwrap(),
        "test_d skipped -- no zlib"
    );
}

#[test]
fn all_ok_and_progress_lines() {
    let mut vm = fake();
    let opts = RunOptions {
        timeout: Duration::from_secs(5),
    };
    let tests = vec!["test_a".to_owned(), "test_a".to_owned()];
    let s = run::run_session(&mut vm, &tests, &opts, None, false, &mut Quiet).unwrap();
    let mut out = Vec::new();
    report::write_summary(&mut out, &s).unwrap();
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("All 2 tests OK.\n"));
    assert_eq!(
        report::progress_line(1, 133, 0, "test_grammar"),
        "[  1/133] test_grammar"
    );
    assert_eq!(
        report::progress_line(133, 133, 2, "test_zipfile4"),
        "[133/133/2] test_zipfile4"
    );
}

#[test]
fn long_lists_wrap_like_regrtest() {
    let names: Vec<String> = (0..20).map(|i| format!("test_module{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let lines = report::wrap_names(&refs);
    assert!(lines.len() > 1);
    for l in &lines {
        assert!(l.len() <= 70, "{l:?}");
        assert!(l.starts_with("    test_module"));
    }
    assert_eq!(lines.join(" ").split_whitespace().count(), 20);
}

#[test]
fn junit_parses_back() {
    let mut vm = fake();
    let s = session(&mut vm);
    let mut out = Vec::new();
    report::write_junit(&mut out, &s).unwrap();
    let text = String::from_utf8(out).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed JUnit XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    // 3 cases + 1 synthetic skipped case for the module-level skip.
    assert_eq!(root.attribute("tests"), Some("4"));
    assert_eq!(root.attribute("failures"), Some("1"));
    assert_eq!(root.attribute("errors"), Some("1"));
    assert_eq!(root.attribute("skipped"), Some("1"));
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    let names: Vec<_> = suites
        .iter()
        .map(|n| n.attribute("name").unwrap())
        .collect();
    assert_eq!(names, ["test_a", "test_b", "test_c", "test_d"]);
    let failure = suites[1]
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("type"), Some("AssertionError"));
    assert_eq!(
        failure.attribute("message"),
        Some("AssertionError: 1 != 2 <&>")
    );
    assert!(failure.text().unwrap().contains("File \"b.py\""));
    let crash = suites[2]
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .unwrap();
    assert_eq!(crash.attribute("type"), Some("Crash"));
    let out = suites[2]
        .descendants()
        .find(|n| n.has_tag_name("system-out"))
        .unwrap();
    assert_eq!(out.text(), Some("dying \\x01 now"));
    assert!(suites[3]
        .descendants()
        .any(|n| n.has_tag_name("skipped") && n.attribute("message") == Some("no zlib")));
}

#[test]
fn json_has_every_case_and_heap_figures() {
    let mut vm = fake();
    let s = session(&mut vm);
    let mut out = Vec::new();
    report::write_json(&mut out, &s).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["format"], "portlib-test");
    assert_eq!(v["heap"], "192K");
    assert_eq!(v["runtime"]["bits"], 32);
    assert_eq!(v["totals"]["modules_failed"], 2);
    let m = &v["modules"][1];
    assert_eq!(m["name"], "test_b");
    assert_eq!(m["status"], "failed");
    assert_eq!(m["mem"]["alloc_before"], 5000);
    assert_eq!(m["mem"]["alloc_after"], 6000);
    assert_eq!(m["mem"]["free_at_end"], 178900);
    assert_eq!(m["cases"][0]["status"], "fail");
    assert_eq!(m["cases"][0]["duration_ms"], 3);
    assert_eq!(v["modules"][2]["exit"]["kind"], "signal");
}

#[test]
fn resume_skips_finished_modules() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let opts = RunOptions {
        timeout: Duration::from_secs(5),
    };
    let mut vm = fake();
    let first = &names()[..2];
    run::run_session(&mut vm, first, &opts, Some(&state), false, &mut Quiet).unwrap();
    assert_eq!(vm.asked, ["test.test_a", "test.test_b"]);
    let mut vm = fake();
    let s = run::run_session(&mut vm, &names(), &opts, Some(&state), true, &mut Quiet).unwrap();
    assert_eq!(vm.asked, ["test.test_c", "test.test_d"]);
    assert_eq!(s.modules.len(), 4);
    assert_eq!(s.modules[1].status, ModuleStatus::Failed);
    // Without --resume everything runs again.
    let mut vm = fake();
    run::run_session(&mut vm, &names(), &opts, Some(&state), false, &mut Quiet).unwrap();
    assert_eq!(vm.asked.len(), 4);
}

#[test]
fn plan_discovers_and_starts() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("lib/test");
    std::fs::create_dir_all(t.join("test_pkg")).unwrap();
    std::fs::write(t.join("test_pkg/__init__.py"), "").unwrap();
    for f in [
        "__init__.py",
        "test_b.py",
        "test_a.mpy",
        "support.py",
        "test_c.txt",
    ] {
        std::fs::write(t.join(f), "").unwrap();
    }
    let lib = dir.path().join("lib");
    assert_eq!(
        run::plan(&lib, &[], None).unwrap(),
        ["test_a", "test_b", "test_pkg"]
    );
    assert_eq!(
        run::plan(&lib, &[], Some("test_b")).unwrap(),
        ["test_b", "test_pkg"]
    );
    assert_eq!(
        run::plan(&lib, &["test.test_pkg".into(), "test_a".into()], None).unwrap(),
        ["test_pkg", "test_a"]
    );
    std::fs::create_dir_all(dir.path().join("lib/pkg/test")).unwrap();
    std::fs::write(dir.path().join("lib/pkg/test/test_x.mpy"), "").unwrap();
    assert_eq!(
        run::plan(&lib, &["pkg.test.test_x".into(), "test_b".into()], None).unwrap(),
        ["pkg.test.test_x", "test_b"]
    );
    assert!(run::plan(&lib, &["pkg.test.test_nope".into()], None).is_err());
    let err = run::plan(&lib, &["test_nope".into()], None).unwrap_err();
    assert!(
        err.to_string().contains("no test module test_nope"),
        "{err}"
    );
    assert!(run::plan(&lib, &[], Some("test_zz")).is_err());
    assert!(run::plan(&dir.path().join("nolib"), &[], None).is_err());
    let empty = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(empty.path().join("lib/test")).unwrap();
    let err = run::plan(&empty.path().join("lib"), &[], None).unwrap_err();
    assert!(
        err.to_string().starts_with("no test_* modules in "),
        "{err}"
    );
}

#[test]
fn summary_lists_are_sorted_whatever_the_run_order() {
    let mut vm = fake();
    let opts = RunOptions {
        timeout: Duration::from_secs(5),
    };
    let tests = vec!["test_c".to_owned(), "test_b".to_owned()];
    let s = run::run_session(&mut vm, &tests, &opts, None, false, &mut Quiet).unwrap();
    let mut out = Vec::new();
    report::write_summary(&mut out, &s).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("2 tests failed:\n    test_b test_c\n"),
        "{text}"
    );
}

#[test]
fn expected_memory_error_is_not_out_of_memory() {
    let mut runs = BTreeMap::new();
    let mut v = hello();
    v.extend(ev(&["import", "m", "5000", "180000"]));
    v.extend(ev(&["imported", "m", "6000", "179000", "2"]));
    v.extend(case(
        "test.test_x.X.test_big",
        "xfail",
        "MemoryError",
        "MemoryError: too big",
    ));
    v.extend(ev(&["done", "1", "9", "6100", "178900"]));
    runs.insert("test.test_x".to_owned(), (v, VmExit::Code(0)));
    let mut vm = FakeVm {
        runs,
        asked: Vec::new(),
    };
    let opts = RunOptions {
        timeout: Duration::from_secs(5),
    };
    let s = run::run_session(&mut vm, &["test_x".into()], &opts, None, false, &mut Quiet).unwrap();
    assert_eq!(s.modules[0].status, ModuleStatus::Passed);
}
