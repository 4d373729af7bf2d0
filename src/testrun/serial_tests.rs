//! `SerialVm` on the scripted fake board: the exact bytes of each fresh-VM sequence, streaming,
//! and every way a run can end (timeout with and without an answer, reset, MemoryError, lost
//! link, a board that never comes back).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use super::*;
use crate::board::fake::{FakeTransport, Step};
use crate::testrun::vm::RunMode;
use crate::testrun::{collect, run, ModuleStatus};

const RAW: &str = "\r\nraw REPL; CTRL-B to exit\r\n>";

fn enter() -> Vec<Step> {
    vec![
        Step::expect("\r\x03\x03"),
        Step::reply("\r\n>>> "),
        Step::expect("\r\x01"),
        Step::reply(RAW),
    ]
}

/// A raw-paste exec whose reply is `stdout` `\x04` `stderr` `\x04>`.
fn exec(stdout: &str, stderr: &str) -> Vec<Step> {
    vec![
        Step::expect("\x05A\x01"),
        Step::reply(b"R\x01\xff\xff\x01"),
        Step::capture("\x04"),
        Step::reply("\x04"),
        Step::ReplyChunked {
            bytes: format!("{stdout}\x04{stderr}\x04>").into_bytes(),
            chunk: 7,
            gap: Duration::from_millis(1),
        },
    ]
}

fn info_reply(name: &str, version: &str) -> String {
    format!(
        "name={name}\r\nversion={version}\r\nmpy=1798\r\nplatform=qemu\r\nmachine=mps2-an386\r\n\
         release=1.26.1\r\nhashlib=0\r\nmem_free=190736\r\nmem_alloc=1328\r\n"
    )
}

fn connect_script(name: &str, version: &str) -> Vec<Step> {
    let mut s = enter();
    s.extend(exec(&info_reply(name, version), ""));
    s
}

fn mp_fresh() -> Vec<Step> {
    let mut s = enter();
    s.push(Step::expect("\x04"));
    s.push(Step::reply(
        "OK\r\nMPY: soft reboot\r\nraw REPL; CTRL-B to exit\r\n>",
    ));
    s
}

/// A runner's events for a module with one passing test.
fn passing_run(module: &str) -> String {
    let ev = crate::testrun::frame::test_event;
    let id = format!("{module}.T.test_ok");
    [
        crate::testrun::frame::test_hello(),
        ev(&["import", module, "9000", "180000"]),
        ev(&["imported", module, "9500", "179500", "3"]),
        ev(&["start", &id]),
        "hello from the test\r\n".to_owned(),
        ev(&["result", &id, "ok", "1", "", ""]),
        ev(&["done", "1", "5", "9600", "179400"]),
    ]
    .concat()
}

fn fast(repl: &mut RawRepl<FakeTransport>) {
    repl.timeouts.drain_quiet = Duration::from_millis(20);
    repl.timeouts.drain_max = Duration::from_millis(300);
    repl.timeouts.enter = Duration::from_millis(200);
    repl.timeouts.handshake = Duration::from_millis(500);
    repl.timeouts.soft_reset = Duration::from_millis(500);
}

fn no_recovery(_: u32) -> Result<FakeTransport, BoardError> {
    panic!("the board answered: no recovery expected")
}

fn vm_with(
    script: Vec<Step>,
    recovery: impl Recovery<FakeTransport> + 'static,
) -> SerialVm<FakeTransport> {
    let mut repl = RawRepl::new(FakeTransport::new(script));
    fast(&mut repl);
    let mut vm = SerialVm::connect(repl, recovery).unwrap();
    vm.interrupt_grace = Duration::from_millis(200);
    vm
}

fn request(module: &str) -> RunRequest {
    RunRequest::new(RunMode::Test, module).unwrap()
}

fn run(vm: &mut SerialVm<FakeTransport>, module: &str, timeout: Duration) -> (VmRun, Vec<u8>) {
    let mut streamed = Vec::new();
    let r = vm
        .run_module(&request(module), timeout, &mut |b| {
            streamed.extend_from_slice(b)
        })
        .unwrap();
    (r, streamed)
}

fn done(vm: &mut SerialVm<FakeTransport>) {
    vm.board().unwrap().repl().transport().assert_done();
}

fn captured_code(vm: &mut SerialVm<FakeTransport>) -> Vec<String> {
    let t = vm.board().unwrap().repl().transport();
    t.captured()
        .iter()
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect()
}

const SEC: Duration = Duration::from_secs(5);

#[test]
fn micropython_soft_resets_before_every_module_and_streams_stdout() {
    let mut script = connect_script("micropython", "1.26.1");
    for m in ["test.test_a", "test.test_b"] {
        script.extend(mp_fresh());
        script.extend(exec(&passing_run(m), ""));
    }
    let mut vm = vm_with(script, no_recovery);
    assert_eq!(vm.fresh_vm_kind(), FreshVm::SoftReset);
    let info = vm.info();
    assert_eq!(info.board, "MicroPython 1.26.1 (mps2-an386)");
    assert_eq!(info.location, "fake");
    assert_eq!(info.heap, 190736 + 1328);
    for m in ["test.test_a", "test.test_b"] {
        let (r, streamed) = run(&mut vm, m, SEC);
        assert_eq!(r.exit, VmExit::Code(0));
        // The raw REPL's framing is gone: exactly what the runner printed, as it arrived.
        assert_eq!(streamed, passing_run(m).into_bytes());
        assert_eq!(r.output, streamed);
        assert!(r.stderr.is_empty());
        let result = collect(m, &r);
        assert_eq!(result.status, ModuleStatus::Passed, "{result:?}");
        assert_eq!(result.cases[0].output, "hello from the test\r\n");
    }
    let code = captured_code(&mut vm);
    assert_eq!(code.len(), 3, "board info and two modules");
    assert_eq!(
        code[2],
        "import portlib_runner\nportlib_runner.main('test', 'test.test_b')\n\x04"
    );
    done(&mut vm);
}

#[test]
fn a_board_whose_heap_an_earlier_program_holds_is_soft_reset_at_connect() {
    // The first board-info query runs out of heap; after one soft reset it answers.
    let mut script = enter();
    script.extend(exec(
        "",
        "Traceback (most recent call last):\r\n  File \"<stdin>\", line 2, in <module>\r\n\
         MemoryError: memory allocation failed, allocating 512 bytes\r\n",
    ));
    script.push(Step::expect("\x04"));
    script.push(Step::reply(
        "OK\r\nMPY: soft reboot\r\nraw REPL; CTRL-B to exit\r\n>",
    ));
    script.extend(exec(&info_reply("micropython", "1.26.1"), ""));
    let mut repl = RawRepl::new(FakeTransport::new(script));
    fast(&mut repl);
    let mut vm = SerialVm::connect(repl, no_recovery).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(vm.info().heap, 190736 + 1328);
    done(&mut vm);

    // Any other failure of the query is not papered over by a reset.
    let mut script = enter();
    script.extend(exec("", "Traceback:\r\nOSError: [Errno 5] EIO\r\n"));
    let mut repl = RawRepl::new(FakeTransport::new(script));
    fast(&mut repl);
    match SerialVm::connect(repl, no_recovery) {
        Err(e) => {
            let cause = std::error::Error::source(&e).map(|s| s.to_string());
            assert!(
                cause.as_deref().unwrap_or("").contains("EIO"),
                "{e}: {cause:?}"
            );
        }
        Ok(_) => panic!("connected although board info failed"),
    }
}

#[test]
fn circuitpython_before_7_1_restarts_the_vm_by_leaving_the_raw_repl() {
    let mut script = connect_script("circuitpython", "6.3.0");
    script.extend(enter());
    script.push(Step::expect("\x02"));
    script.push(Step::reply(
        "\r\nAdafruit CircuitPython 6.3.0 on 2021-06-01; Adafruit Metro M4 Express with samd51j19\r\n>>> ",
    ));
    script.extend(enter());
    script.extend(exec(&passing_run("test.test_a"), ""));
    let mut vm = vm_with(script, no_recovery);
    assert_eq!(vm.fresh_vm_kind(), FreshVm::LeaveRaw);
    assert!(vm.info().board.starts_with("CircuitPython 6.3.0"));
    let (r, _) = run(&mut vm, "test.test_a", SEC);
    assert_eq!(r.exit, VmExit::Code(0));
    // No Ctrl-D anywhere outside the code: that would run code.py on this firmware.
    let written = vm.board().unwrap().repl().transport().written().to_vec();
    let outside_code = String::from_utf8_lossy(&written).replace("portlib_runner", "");
    assert_eq!(
        outside_code.matches('\x04').count(),
        2,
        "only the two execs end in Ctrl-D"
    );
    done(&mut vm);
}

#[test]
fn circuitpython_from_7_1_soft_resets_in_raw_mode() {
    let mut script = connect_script("circuitpython", "9.2.1");
    script.extend(enter());
    script.push(Step::expect("\x04"));
    script.push(Step::reply(
        "OK\r\nsoft reboot\r\n\r\nraw REPL; CTRL-B to exit\r\n>",
    ));
    script.extend(exec(&passing_run("test.test_a"), ""));
    let mut vm = vm_with(script, no_recovery);
    assert_eq!(vm.fresh_vm_kind(), FreshVm::SoftReset);
    let (r, _) = run(&mut vm, "test.test_a", SEC);
    assert_eq!(r.exit, VmExit::Code(0));
    done(&mut vm);
}

#[test]
fn fresh_vm_choice_by_version() {
    assert_eq!(
        FreshVm::for_board(Flavor::MicroPython, "1.9.4"),
        FreshVm::SoftReset
    );
    for (v, want) in [
        ("7.0.0", FreshVm::LeaveRaw),
        ("7.1.0", FreshVm::SoftReset),
        ("7.1.0-beta.1", FreshVm::SoftReset),
        ("10.0.3", FreshVm::SoftReset),
        ("4.1.2", FreshVm::LeaveRaw),
        ("junk", FreshVm::LeaveRaw),
    ] {
        assert_eq!(FreshVm::for_board(Flavor::CircuitPython, v), want, "{v}");
    }
}

/// The start of an exec whose code never finishes (raw-paste accepted, code acknowledged,
/// `printed` streamed).
fn hanging_exec(printed: &str) -> Vec<Step> {
    vec![
        Step::expect("\x05A\x01"),
        Step::reply(b"R\x01\xff\xff\x01"),
        Step::capture("\x04"),
        Step::reply("\x04"),
        Step::reply(printed),
    ]
}

#[test]
fn timeout_interrupts_and_a_board_that_answers_needs_no_recovery() {
    let mut script = connect_script("micropython", "1.26.1");
    script.extend(mp_fresh());
    script.extend(hanging_exec("spinning\r\n"));
    script.push(Step::expect("\r\x03\x03"));
    script.push(Step::reply(
        "\x04Traceback (most recent call last):\r\n  File \"<stdin>\", line 2\r\nKeyboardInterrupt: \r\n\x04>",
    ));
    script.extend(mp_fresh());
    script.extend(exec(&passing_run("test.test_b"), ""));
    let mut vm = vm_with(script, no_recovery);
    let (r, streamed) = run(&mut vm, "test.test_hang", Duration::from_millis(300));
    assert_eq!(r.exit, VmExit::TimedOut);
    assert_eq!(streamed, b"spinning\r\n");
    assert!(String::from_utf8_lossy(&r.stderr).contains("KeyboardInterrupt"));
    assert!(r.elapsed >= Duration::from_millis(300));
    let result = collect("test_hang", &r);
    assert_eq!(result.status, ModuleStatus::TimedOut);
    // The next module runs on the same connection.
    let (r, _) = run(&mut vm, "test.test_b", SEC);
    assert_eq!(r.exit, VmExit::Code(0));
    done(&mut vm);
}

/// A recovery hook handing out prepared transports, counting calls.
fn recoveries(
    boards: Vec<Result<Vec<Step>, BoardError>>,
) -> (
    impl Recovery<FakeTransport> + 'static,
    Rc<RefCell<Vec<u32>>>,
) {
    let calls = Rc::new(RefCell::new(Vec::new()));
    let seen = calls.clone();
    let mut boards = boards.into_iter();
    let hook = move |attempt: u32| {
        seen.borrow_mut().push(attempt);
        let next = boards.next().expect("more recoveries than prepared")?;
        Ok(FakeTransport::new(next))
    };
    (hook, calls)
}

#[test]
fn a_board_that_ignores_ctrl_c_is_brought_back_by_the_hook() {
    let mut script = connect_script("micropython", "1.26.1");
    script.extend(mp_fresh());
    script.extend(hanging_exec("spinning\r\n"));
    // Ctrl-C goes unanswered (a busy loop the firmware cannot interrupt).
    script.push(Step::expect("\r\x03\x03"));
    let mut back = mp_fresh();
    back.extend(exec(&passing_run("test.test_b"), ""));
    let (hook, calls) = recoveries(vec![Ok(back)]);
    let mut vm = vm_with(script, hook);
    let (r, _) = run(&mut vm, "test.test_hang", Duration::from_millis(200));
    assert_eq!(r.exit, VmExit::TimedOut);
    assert!(
        calls.borrow().is_empty(),
        "recovery waits for the next module"
    );
    let (r, _) = run(&mut vm, "test.test_b", SEC);
    assert_eq!(r.exit, VmExit::Code(0));
    assert_eq!(*calls.borrow(), [1]);
    done(&mut vm);
}

#[test]
fn failed_recoveries_in_a_row_abort_as_wedged() {
    let mut script = connect_script("micropython", "1.26.1");
    script.extend(mp_fresh());
    script.extend(hanging_exec(""));
    script.push(Step::expect("\r\x03\x03"));
    // A silent board: takes every byte, never answers.
    let silent = vec![Step::capture("never sent")];
    let gone = || BoardError::Disconnected {
        port: "fake".into(),
    };
    let (hook, calls) = recoveries(vec![Err(gone()), Ok(silent), Err(gone())]);
    let mut vm = vm_with(script, hook);
    let (r, _) = run(&mut vm, "test.test_hang", Duration::from_millis(200));
    assert_eq!(r.exit, VmExit::TimedOut);
    let err = vm
        .run_module(&request("test.test_b"), SEC, &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(err, VmError::Wedged { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(*calls.borrow(), [1, 2, 3]);
    let text = err.to_string();
    assert!(text.contains("stopped answering"), "{text}");
    assert!(text.contains("--resume"), "{text}");
}

#[test]
fn a_reset_banner_mid_run_ends_the_module_with_what_was_printed() {
    let mut script = connect_script("micropython", "1.26.1");
    script.extend(mp_fresh());
    let ev = "\x1e@portlib:start\ttest.test_crash.C.test_boom\n";
    script.extend(hanging_exec(&format!(
        "{ev}about to crash\r\nMPY: soft reboot\r\nMicroPython v1.26.1 on 2025-09-11; \
         mps2-an386 with Cortex-M4\r\nType \"help()\" for more information.\r\n>>> "
    )));
    // After the reset the host collects what is left, then the next module starts as usual.
    script.push(Step::expect("\r\x03\x03"));
    script.push(Step::reply("\r\n>>> "));
    script.extend(mp_fresh());
    script.extend(exec(&passing_run("test.test_b"), ""));
    let mut vm = vm_with(script, no_recovery);
    let (r, streamed) = run(&mut vm, "test.test_crash", SEC);
    assert_eq!(r.exit, VmExit::Reset);
    assert!(
        r.elapsed < Duration::from_secs(2),
        "no wait for the timeout"
    );
    let text = String::from_utf8_lossy(&streamed);
    assert!(text.contains("about to crash") && text.contains("soft reboot"));
    let result = collect("test_crash", &r);
    assert_eq!(result.status, ModuleStatus::Crashed);
    assert!(result.reason.contains("reset"), "{}", result.reason);
    assert_eq!(result.cases[0].exc_type, "Crash");
    assert!(result.cases[0].output.contains("about to crash"));
    let (r, _) = run(&mut vm, "test.test_b", SEC);
    assert_eq!(r.exit, VmExit::Code(0));
    done(&mut vm);
}

#[test]
fn reset_signs_are_found_however_the_output_is_cut() {
    let samples: [&[u8]; 4] = [
        b"x\r\nMPY: soft reboot\r\n",
        b"abc\r\nraw REPL; CTRL-B to exit\r\n>",
        b"\r\nAdafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit Metro M4 Express with samd51j19\r\n>>> ",
        b"\r\nYou are in safe mode because:\r\n",
    ];
    for s in samples {
        for cut in 0..s.len() {
            let mut w = ResetWatch::default();
            let first = w.feed(&s[..cut]);
            let second = w.feed(&s[cut..]);
            assert!(
                first || second,
                "{:?} cut at {cut}",
                String::from_utf8_lossy(s)
            );
        }
    }
    // What a test may well print is not a reset.
    let mut w = ResetWatch::default();
    assert!(!w.feed(b"MicroPython v1.26.1 is what we run\r\n>>> not a prompt\r\nsoft reboot"));
}

#[test]
fn memory_error_escaping_the_runner_is_out_of_memory() {
    let mut script = connect_script("micropython", "1.26.1");
    script.extend(mp_fresh());
    script.extend(exec(
        "",
        "Traceback (most recent call last):\r\n  File \"<stdin>\", line 1, in <module>\r\n\
         MemoryError: memory allocation failed, allocating 2048 bytes\r\n",
    ));
    let mut vm = vm_with(script, no_recovery);
    let (r, _) = run(&mut vm, "test.test_big", SEC);
    assert_eq!(r.exit, VmExit::Code(1));
    let result = collect("test_big", &r);
    assert_eq!(result.status, ModuleStatus::OutOfMemory, "{result:?}");
    done(&mut vm);
}

#[test]
fn a_lost_link_is_recorded_and_the_port_reopened() {
    let mut script = connect_script("micropython", "1.26.1");
    script.extend(mp_fresh());
    script.extend(hanging_exec(
        "\x1e@portlib:start\ttest.test_x.C.test_a\npartial",
    ));
    script.push(Step::Disconnect);
    let mut back = mp_fresh();
    back.extend(exec(&passing_run("test.test_b"), ""));
    let (hook, calls) = recoveries(vec![Ok(back)]);
    let mut vm = vm_with(script, hook);
    let (r, streamed) = run(&mut vm, "test.test_x", SEC);
    assert_eq!(r.exit, VmExit::Lost);
    assert!(streamed.ends_with(b"partial"));
    assert!(String::from_utf8_lossy(&r.stderr).contains("disconnected"));
    let result = collect("test_x", &r);
    assert_eq!(result.status, ModuleStatus::Crashed);
    assert_eq!(result.cases[0].output, "partial");
    let (r, _) = run(&mut vm, "test.test_b", SEC);
    assert_eq!(r.exit, VmExit::Code(0));
    assert_eq!(*calls.borrow(), [1]);
    done(&mut vm);
}

#[test]
fn the_driver_runs_a_session_on_a_board() {
    let mut script = connect_script("micropython", "1.26.1");
    script.extend(mp_fresh());
    script.extend(exec(&passing_run("test.test_a"), ""));
    let mut vm = vm_with(script, no_recovery);
    let opts = run::RunOptions { timeout: SEC };
    let session = run::run_session(
        &mut vm,
        &["test_a".to_owned()],
        &opts,
        None,
        false,
        &mut run::Quiet,
    )
    .unwrap();
    assert!(!session.failed());
    assert_eq!(session.vm.board, "MicroPython 1.26.1 (mps2-an386)");
    let m = &session.modules[0];
    assert_eq!(m.mem.unwrap().free_at_start, 180000);
    done(&mut vm);
}

#[test]
fn a_board_without_the_bundle_is_a_clear_error() {
    let mut script = connect_script("micropython", "1.26.1");
    script.extend(exec("ok\r\n", ""));
    script.extend(exec("missing no module named 'portlib_runner'\r\n", ""));
    let mut vm = vm_with(script, no_recovery);
    vm.check_runner().unwrap();
    let err = vm.check_runner().unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, VmError::NoRunner { .. }), "{err:?}");
    assert!(
        text.contains("no module named 'portlib_runner'") && text.contains("put the bundle"),
        "{text}"
    );
    done(&mut vm);
}
