//! Hardware-in-the-loop: the board layer against a real MicroPython REPL. By default each test
//! boots its own emulated board (MicroPython 1.26.1 in QEMU, `scripts/qemu-board/`), so they run
//! with every `cargo test`; they skip only where QEMU cannot start, as the other board tests do
//! (and fail then with `PORTLIB_REQUIRE_TOOLS=1`). To run them against a real board instead:
//!
//! ```text
//! PORTLIB_TEST_PORT=/dev/ttyACM0 cargo test --test board_hil
//! ```
//!
//! The board must be a MicroPython VM with `vfs.mount` (for the RAM filesystem of
//! `tests/fixtures/board/ramfs.py`); it is soft-reset first.

mod common;
mod deploy_support;

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use portlib::board::fs::sha256;
use portlib::board::ops::SerialBoard;
use portlib::board::output::Flavor;
use portlib::board::{BoardError, BoardFs};

/// The board a test talks to: one given by `PORTLIB_TEST_PORT` (shared, so the tests take
/// turns), or an emulated one of its own.
enum Board {
    Given {
        port: String,
        _turn: MutexGuard<'static, ()>,
    },
    Emulated(deploy_support::QemuBoard),
}

impl Board {
    fn port(&self) -> &str {
        match self {
            Board::Given { port, .. } => port,
            Board::Emulated(b) => &b.pty,
        }
    }
}

/// The board for `test`, or `None` when it has to skip (see `common::skip`).
fn board(test: &str) -> Option<Board> {
    static GIVEN: Mutex<()> = Mutex::new(());
    match std::env::var("PORTLIB_TEST_PORT") {
        Ok(port) if !port.is_empty() => {
            let turn = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
            Some(Board::Given { port, _turn: turn })
        }
        _ => deploy_support::start_board(test).map(Board::Emulated),
    }
}

fn board_with_ramfs(port: &str) -> SerialBoard<portlib::board::SerialTransport> {
    let mut b = SerialBoard::open(port).unwrap();
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
fn info_exec_and_raw_paste() {
    let Some(board) = board("info_exec_and_raw_paste") else {
        return;
    };
    let mut b = SerialBoard::open(board.port()).unwrap();
    let info = b.board_info().unwrap();
    assert_eq!(info.flavor, Flavor::MicroPython);
    assert_eq!(info.mpy_version(), Some(6), "{info:?}");
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
    // A soft reset gives a fresh VM: a global set before it is gone after it.
    let out = b
        .repl()
        .exec(b"marker = 42", Duration::from_secs(5))
        .unwrap();
    assert!(!out.raised(), "{}", out.stderr_text());
    b.repl().soft_reset().unwrap();
    let out = b
        .repl()
        .exec(b"print('marker' in globals())", Duration::from_secs(5))
        .unwrap();
    assert_eq!(out.stdout_text(), "False\r\n", "{}", out.stderr_text());
    let text = b.repl().leave().unwrap();
    assert!(String::from_utf8_lossy(&text).ends_with(">>> "));
}

#[test]
fn file_operations_on_a_ram_filesystem() {
    let Some(board) = board("file_operations_on_a_ram_filesystem") else {
        return;
    };
    let mut b = board_with_ramfs(board.port());
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
