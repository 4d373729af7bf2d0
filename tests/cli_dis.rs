//! `portlib dis` end to end: prints a golden's disassembly, and names the file and the byte
//! offset when the input is not a `.mpy` file.

use std::path::Path;
use std::process::Command;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mpy")
        .join(name)
}

#[test]
fn disassembles_a_golden() {
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .arg("dis")
        .arg(fixture("worked_example.mpy"))
        .output()
        .expect("runs portlib");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("MAKE_FUNCTION_DEFARGS child 0 'f'"), "{text}");
}

#[test]
fn non_mpy_input_names_file_and_offset() {
    let py = fixture("worked_example.py");
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .arg("dis")
        .arg(&py)
        .output()
        .expect("runs portlib");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("worked_example.py"), "{err}");
    assert!(err.contains("offset 0"), "{err}");
}

#[test]
fn truncated_mpy_names_the_offset() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("cut.mpy");
    let data = std::fs::read(fixture("worked_example.mpy")).expect("golden");
    std::fs::write(&path, &data[..40]).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .arg("dis")
        .arg(&path)
        .output()
        .expect("runs portlib");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cut.mpy") && err.contains("offset 40") && err.contains("truncated"),
        "{err}"
    );
}
