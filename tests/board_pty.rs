//! The real `SerialTransport` against a simulated device on a pseudo-terminal: a thread on the
//! master side speaks the raw-REPL protocol (friendly/raw modes, raw-paste with a small window
//! and a credit check, soft reset), so port opening, deadlines and flow control are exercised
//! through the kernel's tty layer rather than the scripted fake.
#![cfg(target_os = "linux")]

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt, PtyMaster};
use portlib::board::ops::SerialBoard;
use portlib::board::{BoardError, RawRepl, SerialTransport, Transport, DEFAULT_BAUD};
use sha2::{Digest, Sha256};

const WINDOW: usize = 32;
const BANNER: &[u8] = b"MicroPython v1.26.1 on 2025-09-11; pty simulator\r\nType \"help()\" for more information.\r\n>>> ";

struct Device {
    master: PtyMaster,
    raw_paste: bool,
    violation: Arc<AtomicBool>,
}

impl Device {
    fn byte(&mut self) -> Option<u8> {
        let mut b = [0u8];
        match self.master.read(&mut b) {
            Ok(1) => Some(b[0]),
            _ => None,
        }
    }

    fn send(&mut self, data: &[u8]) {
        let _ = self.master.write_all(data);
        let _ = self.master.flush();
    }

    /// "Run" code: print its length and SHA-256 so the host can check every byte arrived;
    /// code containing `raise` fails.
    fn run(&mut self, code: &[u8]) -> Vec<u8> {
        if code.windows(4).any(|w| w == b"hang") {
            // Runs until Ctrl-C, like `while True: pass`.
            while let Some(b) = self.byte() {
                if b == 0x03 {
                    return b"\x04Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n\x04>"
                        .to_vec();
                }
            }
            return Vec::new();
        }
        let mut out = format!("{} {:x}\r\n", code.len(), Sha256::digest(code)).into_bytes();
        out.push(4);
        if code.windows(5).any(|w| w == b"raise") {
            out.extend_from_slice(
                b"Traceback (most recent call last):\r\nValueError: simulated\r\n",
            );
        }
        out.extend_from_slice(b"\x04>");
        out
    }

    fn serve(mut self) {
        let mut raw = false;
        let mut buf: Vec<u8> = Vec::new();
        while let Some(b) = self.byte() {
            if !raw {
                match b {
                    b'\r' => self.send(b"\r\n>>> "),
                    0x03 => self.send(b"\r\n>>> "),
                    0x01 => {
                        raw = true;
                        buf.clear();
                        self.send(b"\r\nraw REPL; CTRL-B to exit\r\n>");
                    }
                    _ => {}
                }
                continue;
            }
            match b {
                0x01 => {
                    buf.clear();
                    self.send(b"raw REPL; CTRL-B to exit\r\n>");
                }
                0x02 => {
                    raw = false;
                    let mut text = b"\r\n".to_vec();
                    text.extend_from_slice(BANNER);
                    self.send(&text);
                }
                0x03 => buf.clear(),
                0x04 if buf.is_empty() => {
                    self.send(b"OK\r\nMPY: soft reboot\r\nraw REPL; CTRL-B to exit\r\n>");
                }
                0x04 => {
                    let code = std::mem::take(&mut buf);
                    self.send(b"OK");
                    let reply = self.run(&code);
                    self.send(&reply);
                }
                0x05 if buf.is_empty() => {
                    let (a, c) = (self.byte(), self.byte());
                    if (a, c) != (Some(b'A'), Some(0x01)) {
                        return;
                    }
                    if !self.raw_paste {
                        self.send(b"R\x00");
                        continue;
                    }
                    self.paste();
                }
                other => buf.push(other),
            }
        }
    }

    fn paste(&mut self) {
        let mut hello = b"R\x01".to_vec();
        hello.extend_from_slice(&(WINDOW as u16).to_le_bytes());
        hello.push(0x01);
        self.send(&hello);
        let mut credit = 2 * WINDOW;
        let mut since_credit = 0;
        let mut code = Vec::new();
        loop {
            let Some(b) = self.byte() else { return };
            if b == 0x04 {
                break;
            }
            if credit == 0 {
                self.violation.store(true, Ordering::SeqCst);
            }
            credit = credit.saturating_sub(1);
            code.push(b);
            since_credit += 1;
            if since_credit == WINDOW {
                since_credit = 0;
                credit += WINDOW;
                self.send(b"\x01");
            }
        }
        // Acknowledged once compiled, before it runs.
        self.send(b"\x04");
        let reply = self.run(&code);
        self.send(&reply);
    }
}

/// Start a simulated device; returns the slave path and the flow-control violation flag.
fn device(raw_paste: bool) -> (String, Arc<AtomicBool>) {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY).expect("posix_openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let path = ptsname_r(&master).expect("ptsname");
    let violation = Arc::new(AtomicBool::new(false));
    let dev = Device {
        master,
        raw_paste,
        violation: violation.clone(),
    };
    std::thread::spawn(move || dev.serve());
    (path, violation)
}

fn code_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + (i % 26) as u8).collect()
}

fn expected(code: &[u8]) -> String {
    format!("{} {:x}\r\n", code.len(), Sha256::digest(code))
}

#[test]
fn raw_paste_over_a_pty_respects_the_window() {
    let (path, violation) = device(true);
    let mut repl = RawRepl::new(SerialTransport::open(&path, DEFAULT_BAUD).unwrap());
    repl.enter_raw().unwrap();
    for len in [1, WINDOW, 2 * WINDOW + 1, 5000] {
        let code = code_of(len);
        let out = repl.exec(&code, Duration::from_secs(10)).unwrap();
        assert_eq!(out.stdout_text(), expected(&code), "len {len}");
        assert!(!out.raised());
    }
    assert_eq!(repl.raw_paste(), Some(true));
    assert!(
        !violation.load(Ordering::SeqCst),
        "host sent beyond its credit"
    );
    let out = repl
        .exec(b"raise ValueError", Duration::from_secs(5))
        .unwrap();
    assert!(out.stderr_text().contains("ValueError"));
    repl.soft_reset().unwrap();
    let text = repl.leave().unwrap();
    assert!(String::from_utf8_lossy(&text).contains("MicroPython v1.26.1"));
    assert_eq!(
        repl.banner().map(|b| b.version.as_str()),
        Some("1.26.1"),
        "banner recorded when leaving"
    );
}

#[test]
fn plain_raw_repl_over_a_pty() {
    let (path, _) = device(false);
    let mut repl = RawRepl::new(SerialTransport::open(&path, DEFAULT_BAUD).unwrap());
    let code = code_of(1000);
    let out = repl.exec(&code, Duration::from_secs(10)).unwrap();
    assert_eq!(out.stdout_text(), expected(&code));
    assert_eq!(repl.raw_paste(), Some(false));
}

#[test]
fn board_ops_reach_the_device() {
    // The simulator does not run Python; it proves a whole snippet arrives intact.
    let (path, _) = device(true);
    let mut board = SerialBoard::open(&path).unwrap();
    let err = board.board_info().unwrap_err();
    match err {
        BoardError::BadReply { reply, .. } => {
            assert!(reply.contains(' ') && reply.ends_with("\r\n"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn serial_read_honours_the_deadline() {
    let (path, _) = device(true);
    let mut t = SerialTransport::open(&path, DEFAULT_BAUD).unwrap();
    let mut buf = [0u8; 16];
    let started = Instant::now();
    assert_eq!(
        t.read(&mut buf, started + Duration::from_millis(120))
            .unwrap(),
        0
    );
    assert!(started.elapsed() >= Duration::from_millis(100));
    // A past deadline is a poll.
    assert_eq!(t.read(&mut buf, Instant::now()).unwrap(), 0);
    t.write_all(b"\r").unwrap();
    let mut got = Vec::new();
    let end = Instant::now() + Duration::from_secs(5);
    while !got.ends_with(b">>> ") && Instant::now() < end {
        let n = t.read(&mut buf, end).unwrap();
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"\r\n>>> ");
}

#[test]
fn bootloader_baud_never_opens_the_port() {
    let (path, _) = device(true);
    let err = SerialTransport::open(&path, 1200)
        .err()
        .expect("must refuse");
    assert!(matches!(err, BoardError::ForbiddenBaud { baud: 1200, .. }));
}

fn portlib(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(args)
        .env_remove("PORTLIB_BOARD")
        .output()
        .expect("run portlib")
}

#[test]
fn cli_run_streams_output_and_reports_exceptions() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.py");
    std::fs::write(&ok, b"print('hello')\n").unwrap();
    let (path, _) = device(true);
    let out = portlib(&["run", ok.to_str().unwrap(), "--board", &path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        expected(b"print('hello')\n")
    );

    let bad = dir.path().join("bad.py");
    std::fs::write(&bad, b"raise ValueError\n").unwrap();
    let (path, _) = device(false);
    let out = portlib(&["run", bad.to_str().unwrap(), "--board", &path]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ValueError: simulated"));
}

#[test]
fn cli_run_unknown_board_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.py");
    std::fs::write(&file, b"pass\n").unwrap();
    let out = portlib(&[
        "run",
        file.to_str().unwrap(),
        "--board",
        "/dev/portlib-no-such-port",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a serial port"), "{err}");
}

#[test]
fn cli_boards_json_is_a_list() {
    let out = portlib(&["boards", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.is_array());
}

#[test]
fn cli_repl_passes_keys_and_leaves_on_ctrl_right_bracket() {
    let (path, _) = device(true);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(["repl", "--board", &path])
        .env_remove("PORTLIB_BOARD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Ctrl-A enters raw mode on the simulator, which answers with the raw banner.
    stdin.write_all(b"\x01").unwrap();
    stdin.flush().unwrap();
    // The pass-through polls the port every 20 ms; give the answer time to be echoed before
    // leaving (leaving does not wait for pending output).
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"\x1d").unwrap();
    stdin.flush().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("raw REPL; CTRL-B to exit"), "{shown:?}");
}

#[test]
fn cli_run_passes_ctrl_c_to_the_board() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hang.py");
    std::fs::write(&file, b"while True: pass  # hang\n").unwrap();
    let (path, _) = device(true);
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(["run", file.to_str().unwrap(), "--board", &path])
        .env_remove("PORTLIB_BOARD")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Enough for portlib to enter the raw REPL and start the exec.
    std::thread::sleep(Duration::from_millis(1500));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("KeyboardInterrupt"), "{err}");
}
