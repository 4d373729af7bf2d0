//! The port's own acceptance run: CPython 3.4.9's tests, ported, on the MicroPython 1.26.1 unix
//! port (32-bit, 192 KiB heap like a Metro M4), one fresh VM per test module.
//!
//! The bundle is what `portlib build --tests` makes: every module compiled to `.mpy` by portlib's
//! own compiler (as plain `.py` the larger test modules do not fit in 192 KiB).

mod common;

use std::path::Path;
use std::process::Command;

use common::text;

/// Test modules that must pass with 0 failures and 0 errors at 192 KiB (every ported test
/// module; `test_unittest` is the `unittest.test.*` modules run one VM each).
const MODULES: &[&str] = &[
    "test_bisect",
    "test_contextlib",
    "test_copy",
    "test_fnmatch",
    "test_functools",
    "test_genericpath",
    "test_glob",
    "test_heapq",
    "test_itertools",
    "test_keyword",
    "test_operator",
    "test_os",
    "test_posixpath",
    "test_reprlib",
    "test_stat",
    "test_string",
    "test_textwrap",
    "test_time",
    "test_traceback",
    "test_types",
    "unittest.test.test_assertions",
    "unittest.test.test_break",
    "unittest.test.test_case",
    "unittest.test.test_discovery",
    "unittest.test.test_functiontestcase",
    "unittest.test.test_loader",
    "unittest.test.test_program",
    "unittest.test.test_result",
    "unittest.test.test_runner",
    "unittest.test.test_setups",
    "unittest.test.test_skipping",
    "unittest.test.test_suite",
];

/// `portlib build --tests` into `tmp/bundle`.
fn mpy_bundle(tmp: &Path) -> std::path::PathBuf {
    let bundle = tmp.join("bundle");
    common::build_tests_bundle(&bundle);
    bundle
}

#[test]
fn ported_tests_pass_on_micropython_with_192k() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = mpy_bundle(tmp.path());
    let json = tmp.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(["test", "--board", "host", "--ram", "192K", "--bundle"])
        .arg(&bundle)
        .arg("--out")
        .arg(tmp.path().join("state"))
        .arg("--json")
        .arg(&json)
        .args(MODULES)
        .env("PORTLIB_MICROPYTHON", common::micropython())
        .output()
        .unwrap();
    println!("{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "{}", text(&out));

    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mut unittest_cases = 0;
    for m in v["modules"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        // A module whose every case is skipped with a reason (test_break: no os.kill) counts
        // as "skipped", not failed; the requirement is 0 failures and 0 errors.
        assert!(
            matches!(m["status"].as_str(), Some("passed" | "skipped")),
            "{name}: {m}"
        );
        let cases = m["cases"].as_array().unwrap();
        for c in cases {
            let status = c["status"].as_str().unwrap();
            assert!(!matches!(status, "failure" | "error"), "{name}: {c}");
        }
        if name.starts_with("unittest.") {
            unittest_cases += cases.len();
        }
    }
    // The original project ran 256 unittest tests on a 256 KB board.
    assert!(
        unittest_cases >= 256,
        "unittest suite ran only {unittest_cases} tests"
    );
}

/// What the port's `io` (a patch over MicroPython's built-in `io`, which it shadows) must give on
/// the target: checked with asserts inside the VM, which prints `io ok` only if all hold.
const IO_CHECK: &str = r#"
import io
assert io.__file__.endswith('io.mpy'), io.__file__
for name in io.__all__:
    getattr(io, name)
s = io.StringIO()
# MicroPython's StringIO counts UTF-8 bytes (CPython: characters); only the text must survive.
s.write('h\xe9')
assert s.write('\nx') == 2
s.seek(0)
assert s.read() == 'h\xe9\nx' and s.getvalue() == 'h\xe9\nx'
assert io.StringIO('a\nb').readline() == 'a\n'
b = io.BytesIO(b'xy')
b.seek(0, io.SEEK_END)
b.write(b'z')
assert b.getvalue() == b'xyz'
assert (io.SEEK_SET, io.SEEK_CUR, io.SEEK_END, io.DEFAULT_BUFFER_SIZE) == (0, 1, 2, 8192)
assert io.UnsupportedOperation.__bases__ == (OSError,)
try:
    raise io.UnsupportedOperation('fileno')
except OSError as e:
    assert e.args == ('fileno',)
assert issubclass(io.BlockingIOError, OSError)
for c in (io.RawIOBase, io.BufferedIOBase, io.TextIOBase):
    assert c.__bases__ == (io.IOBase,)
with io.open('io_check.txt', 'w') as f:
    f.write('ok')
with io.OpenWrapper('io_check.txt') as f:
    assert f.read() == 'ok'
print('io ok')
"#;

#[test]
fn io_port_imports_and_behaves_on_micropython_with_192k() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = mpy_bundle(tmp.path());
    let out = Command::new(common::micropython())
        .args(["-X", "heapsize=192K", "-c", IO_CHECK])
        .env("MICROPYPATH", bundle.join("lib"))
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "io ok\n",
        "{}",
        text(&out)
    );
}
