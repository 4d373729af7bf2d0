//! Argument checking through the built binary: values that would break a command later are
//! refused up front by clap, with exit status 2 and a message naming the option.

mod common;

use std::process::Command;

fn portlib(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(args)
        .env_remove("PORTLIB_BOARD")
        .output()
        .expect("run portlib")
}

/// Regression: `--chunk-size 0` reached `slice::chunks(0)` and panicked mid-deploy.
#[test]
fn deploy_refuses_a_zero_chunk_size() {
    let out = portlib(&["deploy", "--chunk-size", "0", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--chunk-size"), "{err}");
}

/// Every subcommand's help prints (exit 0); the long-running ones teach by example and say
/// what their exit status means.
#[test]
fn help_texts_teach() {
    let all = [
        "checkout", "refresh", "port", "check", "status", "strip", "build", "upstream", "test",
        "mem", "dis", "boards", "run", "repl", "deploy", "compile",
    ];
    for cmd in all {
        let out = portlib(&[cmd, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{cmd}: {}", common::text(&out));
    }
    for cmd in ["build", "deploy", "test", "mem"] {
        let out = portlib(&[cmd, "--help"]);
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            help.contains("Examples:\n  portlib ") && help.contains("Exit status: 0 "),
            "{cmd}: {help}"
        );
    }
}

/// Regression: no logger was installed, so the library's warnings (here: an upstream file
/// skipped because its name is not UTF-8; elsewhere a board in safe mode, an install record
/// deploy ignores) never reached the user. They go to stderr, and `--quiet` silences them.
#[cfg(unix)]
#[test]
fn library_warnings_reach_stderr() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("Lib");
    std::fs::create_dir(&lib).unwrap();
    std::fs::write(lib.join("os.py"), "x = 1\n").unwrap();
    std::fs::write(lib.join(std::ffi::OsStr::from_bytes(b"bad\xff.py")), "").unwrap();
    let cpython = dir.path().to_str().unwrap();
    let out = portlib(&["upstream", "verify", "--cpython", cpython]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: skipping ") && stderr.contains("name is not UTF-8"),
        "{stderr}"
    );
    let out = portlib(&["-q", "upstream", "verify", "--cpython", cpython]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("warning:"), "{stderr}");
}

/// Regression: an option's variable set but empty (`export PORTLIB_CPYTHON=`) made clap say
/// "a value is required for '--cpython <PATH>'", an option nobody typed. Empty means unset.
#[test]
fn empty_option_variables_count_as_unset() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(["upstream", "path"])
        .env("PORTLIB_CPYTHON", "")
        .env("PORTLIB_ROOT", "")
        .env("PORTLIB_CACHE", dir.path().join("empty-cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("a value is required"), "{stderr}");
    assert!(stderr.contains("no CPython 3.4.9 source found"), "{stderr}");
}

/// Regression: a bundle of MicroPython `.mpy` files (the default `--target`) deployed to a
/// CircuitPython drive without a word; every import then failed on the board. Now refused
/// before anything is written, naming the fix.
#[test]
fn deploy_refuses_mpy_files_the_board_cannot_load() {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("CIRCUITPY");
    std::fs::create_dir(&drive).unwrap();
    std::fs::write(
        drive.join("boot_out.txt"),
        "Adafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit Metro M4 Express with samd51j19\r\n",
    )
    .unwrap();
    let bundle = dir.path().join("bundle");
    let mpy = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/deploy/greet.mpy"),
    )
    .unwrap();
    portlib::deploy::Bundle::create(&bundle, "micropython", &[("lib/greet.mpy", &mpy)]).unwrap();
    let out = portlib(&[
        "deploy",
        bundle.to_str().unwrap(),
        "--board",
        drive.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("/lib/greet.mpy is compiled for MicroPython")
            && stderr.contains("--target circuitpython"),
        "{stderr}"
    );
    assert!(!drive.join("lib").exists(), "something was written");
}

/// Regression: a raw Ctrl-D byte in the file cut the code short on the board's raw REPL,
/// which then reported a baffling SyntaxError (Ctrl-A, -B and -C are commands there too).
/// Refused up front, at its line and column.
#[test]
fn run_refuses_a_raw_ctrl_d_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("prog.py");
    std::fs::write(&file, b"x = 1\nprint('a\x04b')\n").unwrap();
    let out = portlib(&[
        "run",
        file.to_str().unwrap(),
        "--board",
        "/dev/portlib-no-such-tty",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("prog.py:2:9: the file holds a raw Ctrl-D byte (0x04)")
            && stderr.contains("'\\x04'"),
        "{stderr}"
    );
}
