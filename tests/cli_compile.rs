//! `portlib compile` end to end: output next to the input equal to the mpy-cross golden,
//! `-o`/`-s`, errors as `FILE:LINE:COL: SyntaxError: message` with exit 1, I/O errors exit 2.

use std::path::Path;
use std::process::Command;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mpy")
        .join(name)
}

fn portlib() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portlib"))
}

/// Run `portlib` with `args` and insist on success; returns stdout.
fn succeed(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().expect("runs portlib");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn writes_mpy_next_to_the_input_equal_to_the_golden() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(fixture("calls.py"), dir.path().join("calls.py")).expect("copy");
    // Run inside the folder so that the source name is the bare file name, as for the golden.
    succeed(
        portlib()
            .current_dir(dir.path())
            .args(["compile", "calls.py"]),
    );
    let ours = std::fs::read(dir.path().join("calls.mpy")).expect("output written");
    let golden = std::fs::read(fixture("calls.mpy")).expect("golden");
    assert!(ours == golden, "calls.mpy differs from the golden");
}

#[test]
fn source_name_option_and_output_option() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_path = dir.path().join("x.mpy");
    succeed(
        portlib()
            .arg("compile")
            .arg(fixture("worked_example.py"))
            .args(["-s", "worked_example.py", "-o"])
            .arg(&out_path),
    );
    let ours = std::fs::read(&out_path).expect("output written");
    assert!(ours == std::fs::read(fixture("worked_example.mpy")).expect("golden"));
}

#[test]
fn syntax_error_is_reported_with_position_and_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let py = dir.path().join("bad.py");
    std::fs::write(&py, "x = 1\nreturn 5\n").expect("write");
    let out = portlib()
        .arg("compile")
        .arg(&py)
        .output()
        .expect("runs portlib");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.py:2:1: SyntaxError: 'return' outside function"),
        "{err}"
    );
    assert!(!dir.path().join("bad.mpy").exists(), "no output on error");
}

#[test]
fn missing_input_is_an_error_exit_2() {
    let out = portlib()
        .args(["compile", "/nonexistent/portlib-test.py"])
        .output()
        .expect("runs portlib");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("error: ") && err.contains("/nonexistent/portlib-test.py"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn circuitpython_target_writes_c_magic() {
    let stdout = succeed(portlib().arg("compile").arg(fixture("calls.py")).args([
        "-s",
        "calls.py",
        "--target",
        "circuitpython",
        "-o",
        "-",
    ]));
    assert_eq!(&stdout[..4], b"C\x06\x00\x1f");
    // Apart from the magic, CircuitPython's bytes are mpy-cross's (no async code here).
    let mut golden = std::fs::read(fixture("calls.mpy")).expect("golden");
    golden[0] = b'C';
    assert!(stdout == golden, "differs from calls.mpy with magic `C`");
}
