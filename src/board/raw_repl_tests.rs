//! Raw-REPL protocol tests against the scripted fake board.

use std::time::{Duration, Instant};

use super::*;
use crate::board::fake::{FakeTransport, Step};
use crate::board::output::Flavor;

const RAW: &str = "raw REPL; CTRL-B to exit\r\n>";
const MP_BANNER: &str =
    "MicroPython v1.26.1 on 2025-09-11; QEMU with Cortex-M3\r\nType \"help()\" for more information.\r\n>>> ";
const CP_BANNER: &str =
    "\r\nAdafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit Metro M4 Express with samd51j19\r\n>>> ";

fn quick() -> Timeouts {
    Timeouts {
        enter: Duration::from_millis(200),
        drain_quiet: Duration::from_millis(20),
        drain_max: Duration::from_millis(300),
        handshake: Duration::from_millis(300),
        soft_reset: Duration::from_millis(500),
    }
}

fn repl(script: Vec<Step>) -> RawRepl<FakeTransport> {
    let mut r = RawRepl::new(FakeTransport::new(script));
    r.timeouts = quick();
    r
}

/// A MicroPython board at its friendly prompt entering the raw REPL.
fn mp_enter() -> Vec<Step> {
    vec![
        Step::expect("\r\x03\x03"),
        Step::reply(format!("\r\n>>> \r\n{MP_BANNER}\r\n>>> ")),
        Step::expect("\r\x01"),
        Step::reply(format!("\r\n>>> \r\n{RAW}")),
    ]
}

/// Raw-paste accepted with a 128-byte window, then `code` uploaded and answered with `reply`.
fn raw_paste_exec(reply: &str) -> Vec<Step> {
    vec![
        Step::expect("\x05A\x01"),
        Step::reply(b"R\x01\x80\x00\x01"),
        Step::capture("\x04"),
        Step::reply(format!("\x04{reply}")),
    ]
}

fn done(r: RawRepl<FakeTransport>) -> FakeTransport {
    let f = r.into_transport();
    f.assert_done();
    f
}

#[test]
fn enter_exec_raw_paste_micropython() {
    let mut script = mp_enter();
    script.extend(raw_paste_exec("hello\r\n\x04\x04>"));
    let mut r = repl(script);
    let out = r.exec(b"print('hello')", Duration::from_secs(1)).unwrap();
    assert_eq!(out.stdout, b"hello\r\n");
    assert!(!out.raised());
    assert_eq!(r.raw_paste(), Some(true));
    assert!(r.is_raw());
    assert_eq!(r.banner().unwrap().flavor, Flavor::MicroPython);
    let f = done(r);
    assert_eq!(f.captured()[0], b"print('hello')\x04");
}

/// Regression: `started + within` panicked ("overflow when adding duration to instant") for a
/// limit as large as `portlib run --timeout 18446744073709551615`.
#[test]
fn exec_with_an_unbounded_limit_does_not_overflow() {
    let mut script = mp_enter();
    script.extend(raw_paste_exec("hello\r\n\x04\x04>"));
    let mut r = repl(script);
    r.timeouts.handshake = Duration::MAX;
    let out = r.exec(b"print('hello')", Duration::MAX).unwrap();
    assert_eq!(out.stdout, b"hello\r\n");
    done(r);
}

#[test]
fn exec_error_goes_to_stderr() {
    let mut script = mp_enter();
    script.extend(raw_paste_exec(
        "partial\x04Traceback (most recent call last):\r\n  File \"<stdin>\", line 1, in <module>\r\nZeroDivisionError: divide by zero\r\n\x04>",
    ));
    let mut r = repl(script);
    let out = r
        .exec(b"print('partial');1/0", Duration::from_secs(1))
        .unwrap();
    assert!(out.raised());
    assert_eq!(out.stdout_text(), "partial");
    assert!(out.stderr_text().contains("ZeroDivisionError"));
    done(r);
}

#[test]
fn raw_paste_respects_window_credit() {
    let code = b"print('0123456789')\n"; // 20 bytes, window 8
    assert_eq!(code.len(), 20);
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        // Window 8 plus the immediate extra credit: 16 bytes may go at once.
        Step::reply("R\x01\x08\x00\x01"),
        Step::CaptureLen(16),
        Step::Delay(Duration::from_millis(30)),
        Step::reply("\x01"),
        Step::Sync,
        Step::CaptureLen(4),
        Step::expect("\x04"),
        // Late credit may still come before the end-of-code ack.
        Step::reply("\x01\x040123456789\r\n\x04\x04>"),
    ]);
    let mut r = repl(script);
    let out = r.exec(code, Duration::from_secs(2)).unwrap();
    assert_eq!(out.stdout, b"0123456789\r\n");
    let f = done(r);
    let sent: Vec<u8> = f.captured().concat();
    assert_eq!(sent, code);
}

#[test]
fn raw_paste_without_credit_times_out() {
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        Step::reply("R\x01\x08\x00"),
        Step::CaptureLen(8),
    ]);
    let mut r = repl(script);
    let err = r.exec(&[b'x'; 20], Duration::from_secs(2)).unwrap_err();
    match err {
        BoardError::Timeout { waiting_for, .. } => assert!(waiting_for.contains("credit")),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(!r.is_raw(), "state after a failed exec must be unknown");
    done(r);
}

#[test]
fn raw_paste_early_abort_on_syntax_error() {
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        Step::reply("R\x01\x08\x00\x01"),
        Step::CaptureLen(16),
        // The device found a syntax error and stops the upload.
        Step::reply("\x04"),
        Step::Sync,
        Step::expect("\x04"),
        Step::reply(
            "\x04Traceback (most recent call last):\r\nSyntaxError: invalid syntax\r\n\x04>",
        ),
    ]);
    let mut r = repl(script);
    let out = r.exec(&[b'('; 40], Duration::from_secs(2)).unwrap();
    assert!(out.stderr_text().contains("SyntaxError"));
    assert!(out.stdout.is_empty());
    done(r);
}

#[test]
fn fallback_to_plain_raw_repl_is_cached() {
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        Step::reply("R\x00"),
        Step::capture("\x04"),
        Step::reply("OKone\r\n\x04\x04>"),
        // Second exec: no new negotiation.
        Step::capture("\x04"),
        Step::reply("OKtwo\r\n\x04\x04>"),
    ]);
    let mut r = repl(script);
    assert_eq!(
        r.exec(b"print('one')", Duration::from_secs(1))
            .unwrap()
            .stdout,
        b"one\r\n"
    );
    assert_eq!(r.raw_paste(), Some(false));
    assert_eq!(
        r.exec(b"print('two')", Duration::from_secs(1))
            .unwrap()
            .stdout,
        b"two\r\n"
    );
    let f = done(r);
    assert_eq!(f.captured()[1], b"print('two')\x04");
}

#[test]
fn very_old_firmware_answers_ra() {
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        // The Ctrl-A was taken as "reset raw REPL": the banner comes again.
        Step::reply(RAW),
        Step::capture("\x04"),
        Step::reply("OK\x04\x04>"),
    ]);
    let mut r = repl(script);
    r.exec(b"x=1", Duration::from_secs(1)).unwrap();
    assert_eq!(r.raw_paste(), Some(false));
    done(r);
}

#[test]
fn plain_exec_long_code_goes_in_slices() {
    let code = vec![b'#'; 600];
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        Step::reply("R\x00"),
        Step::CaptureLen(600),
        Step::expect("\x04"),
        Step::reply("OK\x04\x04>"),
    ]);
    let mut r = repl(script);
    r.exec(&code, Duration::from_secs(2)).unwrap();
    let f = done(r);
    assert_eq!(f.captured()[0], code);
}

#[test]
fn silent_board_times_out_after_bounded_retries() {
    let mut script = Vec::new();
    for _ in 0..3 {
        script.push(Step::expect("\r\x03\x03"));
        script.push(Step::expect("\r\x01"));
    }
    let mut r = repl(script);
    let started = Instant::now();
    let err = r.enter_raw().unwrap_err();
    assert!(
        matches!(
            err,
            BoardError::Timeout {
                waiting_for: "the raw REPL banner",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("raw REPL banner"));
    assert!(started.elapsed() < Duration::from_secs(5));
    done(r);
}

#[test]
fn chatty_board_cannot_extend_the_deadline() {
    // A code.py printing forever: bytes keep arriving, but the overall deadline still fires.
    let script = vec![
        Step::expect("\r\x03\x03"),
        Step::ReplyChunked {
            bytes: vec![b'x'; 4000],
            chunk: 4,
            gap: Duration::from_millis(1),
        },
        Step::expect("\r\x01"),
        Step::expect("\r\x03\x03"),
        Step::expect("\r\x01"),
        Step::expect("\r\x03\x03"),
        Step::expect("\r\x01"),
    ];
    let mut r = repl(script);
    let started = Instant::now();
    let err = r.enter_raw().unwrap_err();
    assert!(matches!(err, BoardError::Timeout { .. }), "{err:?}");
    // 3 attempts x (200 ms + 300 ms drain cap); far below the 4 s of chatter.
    assert!(
        started.elapsed() < Duration::from_millis(3500),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn exec_overall_deadline() {
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        Step::reply(b"R\x01\x80\x00\x01"),
        Step::capture("\x04"),
        Step::reply("\x04"),
        Step::ReplyChunked {
            bytes: vec![b'.'; 2000],
            chunk: 2,
            gap: Duration::from_millis(1),
        },
    ]);
    let mut r = repl(script);
    let err = r
        .exec(b"while 1: print('.')", Duration::from_millis(200))
        .unwrap_err();
    match err {
        BoardError::Timeout { waiting_for, .. } => assert!(waiting_for.contains("finish")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn streaming_exec_passes_chunks() {
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        Step::reply(b"R\x01\x80\x00\x01"),
        Step::capture("\x04"),
        Step::reply("\x04"),
        Step::ReplyChunked {
            bytes: b"line 1\r\nline 2\r\nline 3\r\n\x04\x04>".to_vec(),
            chunk: 5,
            gap: Duration::from_millis(2),
        },
    ]);
    let mut r = repl(script);
    let mut pieces: Vec<Vec<u8>> = Vec::new();
    let out = r
        .exec_streaming(
            b"for i in range(3): print('line', i+1)",
            Duration::from_secs(2),
            &mut |b| pieces.push(b.to_vec()),
        )
        .unwrap();
    assert!(out.stdout.is_empty(), "streamed output is not collected");
    assert!(pieces.len() > 1);
    assert_eq!(pieces.concat(), b"line 1\r\nline 2\r\nline 3\r\n");
    done(r);
}

#[test]
fn empty_code_is_not_a_soft_reset() {
    let mut script = mp_enter();
    script.extend(raw_paste_exec("\x04\x04>"));
    let mut r = repl(script);
    r.exec(b"  \n", Duration::from_secs(1)).unwrap();
    let f = done(r);
    assert_eq!(f.captured()[0], b"pass\x04");
}

#[test]
fn soft_reset_micropython_and_circuitpython() {
    for (text, boot) in [
        (
            "OK\r\nMPY: soft reboot\r\nboot.py says hi\r\n",
            "boot.py says hi\r\n",
        ),
        ("OK\r\nsoft reboot\r\n\r\n", "\r\n"),
    ] {
        let mut script = mp_enter();
        script.push(Step::expect("\x04"));
        script.push(Step::reply(format!("{text}{RAW}")));
        let mut r = repl(script);
        r.enter_raw().unwrap();
        let between = r.soft_reset().unwrap();
        assert_eq!(String::from_utf8_lossy(&between), boot);
        assert!(r.is_raw());
        done(r);
    }
}

#[test]
fn soft_reset_timeout_names_the_wait() {
    let mut script = mp_enter();
    script.push(Step::expect("\x04"));
    script.push(Step::reply("OK\r\nMPY: soft reboot\r\n"));
    let mut r = repl(script);
    r.enter_raw().unwrap();
    let err = r.soft_reset().unwrap_err();
    assert!(
        matches!(
            err,
            BoardError::Timeout {
                waiting_for: "the raw REPL banner after soft reboot",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn circuitpython_after_code_py_with_status_bar() {
    // code.py finished; the board waits at "Press any key", which eats the first byte.
    let waiting = "\x1b]0;\u{1f40d}Done | 9.2.1\x1b\\\x1b[2K\x1b[0Gcode.py output:\r\nhello\r\n\r\nCode done running.\r\n\r\nPress any key to enter the REPL. Use CTRL-D to reload.\r\n";
    let script = vec![
        Step::expect("\r\x03\x03"),
        Step::reply(waiting),
        Step::expect("\r"),
        Step::reply(format!("\x1b]0;\u{1f40d}REPL | 9.2.1\x1b\\{CP_BANNER}")),
        Step::expect("\r\x01"),
        Step::reply(format!("\r\n{RAW}")),
    ];
    let mut r = repl(script);
    r.enter_raw().unwrap();
    let b = r.banner().unwrap();
    assert_eq!(b.flavor, Flavor::CircuitPython);
    assert_eq!(b.version, "9.2.1");
    assert!(!r.safe_mode());
    done(r);
}

#[test]
fn circuitpython_swallowed_ctrl_a_is_retried() {
    let script = vec![
        Step::expect("\r\x03\x03"),
        Step::reply("\r\nCode done running.\r\n"),
        // The board only now reaches "Press any key": our \r is eaten, the Ctrl-A lost.
        Step::expect("\r\x01"),
        Step::reply("\r\nPress any key to enter the REPL. Use CTRL-D to reload.\r\n"),
        Step::expect("\r\x03\x03"),
        Step::reply(CP_BANNER),
        Step::expect("\r\x01"),
        Step::reply(format!("\r\n{RAW}")),
    ];
    let mut r = repl(script);
    r.enter_raw().unwrap();
    assert!(r.is_raw());
    done(r);
}

#[test]
fn safe_mode_is_noticed() {
    let script = vec![
        Step::expect("\r\x03\x03"),
        Step::reply("\r\nYou are in safe mode because:\r\nYou pressed the reset button during boot.\r\nPress reset to exit safe mode.\r\n"),
        Step::expect("\r\x01"),
        Step::reply(format!("\r\n{RAW}")),
    ];
    let mut r = repl(script);
    r.enter_raw().unwrap();
    assert!(r.safe_mode());
    done(r);
}

#[test]
fn interrupt_stops_running_raw_exec() {
    // The board was left running code in raw mode; Ctrl-C makes it finish the frame.
    let script = vec![
        Step::expect("\r\x03\x03"),
        Step::reply("...\x04Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n\x04>"),
        Step::expect("\r\x01"),
        Step::reply(RAW),
    ];
    let mut r = repl(script);
    r.enter_raw().unwrap();
    done(r);
}

#[test]
fn leave_returns_friendly_banner() {
    let mut script = mp_enter();
    script.push(Step::expect("\x02"));
    script.push(Step::reply(format!("\r\n{MP_BANNER}")));
    let mut r = repl(script);
    r.enter_raw().unwrap();
    let text = r.leave().unwrap();
    assert!(String::from_utf8_lossy(&text).ends_with(">>> "));
    assert!(!r.is_raw());
    done(r);
}

#[test]
fn missing_ok_is_a_protocol_error() {
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        Step::reply("R\x00"),
        Step::capture("\x04"),
        Step::reply("garbage"),
    ]);
    let mut r = repl(script);
    let err = r.exec(b"x", Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err, BoardError::Protocol { .. }), "{err:?}");
}

#[test]
fn disconnect_mid_exec() {
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        Step::reply(b"R\x01\x80\x00\x01"),
        Step::capture("\x04"),
        Step::reply("\x04part"),
        Step::Disconnect,
    ]);
    let mut r = repl(script);
    let err = r.exec(b"x", Duration::from_secs(1)).unwrap_err();
    assert!(matches!(err, BoardError::Disconnected { .. }), "{err:?}");
}

#[test]
fn interrupt_flag_sends_ctrl_c_to_running_code() {
    static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let mut script = mp_enter();
    script.extend([
        Step::expect("\x05A\x01"),
        Step::reply(b"R\x01\x80\x00\x01"),
        Step::capture("\x04"),
        Step::reply("\x04tick\r\n"),
        // The code runs silently until the host interrupts it.
        Step::expect("\x03"),
        Step::reply("\x04Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n\x04>"),
    ]);
    let mut r = repl(script);
    r.set_interrupt_flag(&STOP);
    let out = r
        .exec_streaming(b"while 1: pass", Duration::from_secs(5), &mut |_| {
            // As if the user pressed Ctrl-C once output appeared.
            STOP.store(true, std::sync::atomic::Ordering::SeqCst)
        })
        .unwrap();
    assert!(out.stderr_text().contains("KeyboardInterrupt"));
    assert!(
        !STOP.load(std::sync::atomic::Ordering::SeqCst),
        "flag consumed"
    );
    assert!(r.is_raw());
    done(r);
}
