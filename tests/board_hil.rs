//! Hardware-in-the-loop: the board layer against a real MicroPython REPL (a board, or the
//! emulated QEMU board on a pty). Opt-in, never part of a plain `cargo test`:
//!
//! ```text
//! PORTLIB_TEST_PORT=/dev/pts/3 cargo test --test board_hil -- --ignored
//! ```
//!
//! The board must be a MicroPython VM with `vfs.mount` (for the RAM filesystem of
//! `tests/fixtures/board/ramfs.py`); it is soft-reset first.

use std::time::Duration;

use portlib::board::fs::sha256;
use portlib::board::ops::SerialBoard;
use portlib::board::output::Flavor;
use portlib::board::{BoardError, BoardFs};

fn port() -> String {
    std::env::var("PORTLIB_TEST_PORT").expect(
        "set PORTLIB_TEST_PORT to the board's serial port (for the emulated board, the pty QEMU printed)",
    )
}

fn board_with_ramfs() -> SerialBoard<portlib::board::SerialTransport> {
    let mut b = SerialBoard::open(&port()).unwrap();
    b.repl().enter_raw().unwrap();
    b.repl().soft_reset().unwrap();
    let ramfs = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/board/ramfs.py"
    ))
    .unwrap();
    let out = b.repl().exec(&ramfs, Duration::from_secs(10)).unwrap();
    assert!(
        !out.raised(),
        "mounting the RAM filesystem: {}",
        out.stderr_text()
    );
    b
}

#[test]
#[ignore = "needs a board: PORTLIB_TEST_PORT=... cargo test --test board_hil -- --ignored"]
fn info_exec_and_raw_paste() {
    let mut b = SerialBoard::open(&port()).unwrap();
    let info = b.board_info().unwrap();
    assert_eq!(info.flavor, Flavor::MicroPython);
    assert!(info.mpy_version().is_some());
    assert_eq!(b.repl().raw_paste(), Some(true));
    let out = b
        .repl()
        .exec(b"print(6*7)", Duration::from_secs(5))
        .unwrap();
    assert_eq!(out.stdout_text(), "42\r\n");
    let out = b.repl().exec(b"1/0", Duration::from_secs(5)).unwrap();
    assert!(out.stderr_text().contains("ZeroDivisionError"));
    // A syntax error stops a raw-paste upload early.
    let mut bad = b"x = )\n".to_vec();
    bad.extend(std::iter::repeat_n(b'1', 2000));
    let out = b.repl().exec(&bad, Duration::from_secs(5)).unwrap();
    assert!(
        out.stderr_text().contains("SyntaxError"),
        "{}",
        out.stderr_text()
    );
    let boot = b.repl().soft_reset().unwrap();
    let _ = boot;
    let text = b.repl().leave().unwrap();
    assert!(String::from_utf8_lossy(&text).ends_with(">>> "));
}

#[test]
#[ignore = "needs a board: PORTLIB_TEST_PORT=... cargo test --test board_hil -- --ignored"]
fn file_operations_on_a_ram_filesystem() {
    let mut b = board_with_ramfs();
    b.check_writable("/ram").unwrap();
    b.mkdir_p("/ram/lib/json").unwrap();
    b.mkdir_p("/ram/lib/json").unwrap();
    for (k, n) in [0usize, 1, 100, 5000, 20000, 3000].into_iter().enumerate() {
        if k == 4 {
            // The second half verifies by reading back instead of on-board hashlib.
            b.set_has_hashlib(Some(false));
        }
        let data: Vec<u8> = (0..n).map(|i| (i * 31 % 256) as u8).collect();
        b.write_file_atomic("/ram/lib/json/a.mpy", &data).unwrap();
        assert_eq!(b.read_file("/ram/lib/json/a.mpy").unwrap(), data);
        let h = b
            .hash_files(&["/ram/lib/json/a.mpy".into(), "/ram/nope".into()])
            .unwrap();
        assert_eq!(h["/ram/lib/json/a.mpy"], Some(sha256(&data)));
        assert_eq!(h["/ram/nope"], None);
    }
    let names: Vec<String> = b
        .listdir("/ram/lib/json")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["a.mpy"], "no temporary file left");
    assert_eq!(b.stat("/ram/lib/json/a.mpy").unwrap().unwrap().size, 3000);
    assert_eq!(b.stat("/ram/x").unwrap(), None);
    b.rename("/ram/lib/json/a.mpy", "/ram/lib/b.mpy").unwrap();
    b.remove("/ram/lib/b.mpy").unwrap();
    b.rmdir("/ram/lib/json").unwrap();
    assert!(matches!(
        b.remove("/ram/lib/b.mpy"),
        Err(BoardError::NotFound { .. })
    ));
    let out = b
        .repl()
        .exec(b"_ram.ro=True", Duration::from_secs(5))
        .unwrap();
    assert!(!out.raised());
    assert!(matches!(
        b.check_writable("/ram"),
        Err(BoardError::ReadOnlyFs { .. })
    ));
    assert!(matches!(
        b.write_file_atomic("/ram/x.py", b"x"),
        Err(BoardError::ReadOnlyFs { .. })
    ));
}
