//! Fault injection on the emulated board: a proxy transport between portlib and the board's pty
//! (`deploy_support/faults.rs`) drops the link, corrupts, duplicates or delays a byte, slips in
//! a Ctrl-D, or hard-resets the board (kills QEMU) in the middle of a deploy, at chosen points
//! and at seeded random ones (`PORTLIB_FAULT_SEED` repeats a run; `PORTLIB_FAULT_RANDOM` sets
//! how many random scenarios run, default 6).
//!
//! After every fault: the deploy returned an error (never a panic, and within a bounded time)
//! or, for a fault the protocol absorbed, succeeded; no file under its real name on the board is
//! truncated or wrong (each holds the old bundle's content or the new one's, checked over a clean
//! connection); and a clean re-run converges to exactly the new bundle, leaving the user's own
//! file alone. A last test kills the board under the `portlib` binary itself (exit status 2, an
//! error message, then convergence). Skips (printing why) only when this machine cannot start
//! QEMU, and fails then too with `PORTLIB_REQUIRE_TOOLS=1`.

mod common;
mod deploy_support;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use deploy_support::faults::{Dir, Fault, FaultTransport, Injection, Rng};
use deploy_support::*;
use portlib::board::fs::sha256;
use portlib::board::ops::SerialBoard;
use portlib::board::{BoardFs, RawRepl, SerialTransport, DEFAULT_BAUD};
use portlib::deploy::{deploy, Bundle, RECORD_PATH};

const FOREIGN: &[u8] = b"MINE = 'not portlib's'\n";

/// Longest a faulty deploy may take before it counts as a hang: every read has a deadline.
const BOUND: Duration = Duration::from_secs(120);

/// A deploy over the proxy, soft reset first as `portlib deploy` does. Returns the error text
/// (`Ok` when the fault was absorbed), the proxy's byte counts, and whether the fault fired.
fn faulty_deploy(
    board: &QemuBoard,
    bundle: &Bundle,
    inj: Option<Injection>,
) -> (Result<(), String>, u64, u64, bool) {
    let serial = SerialTransport::open(&board.pty, DEFAULT_BAUD).unwrap();
    let mut proxy = FaultTransport::new(serial, inj);
    proxy.on_hard_reset(board.killer());
    let mut b = SerialBoard::new(RawRepl::new(proxy));
    let result = (|| -> Result<(), String> {
        b.repl().enter_raw().map_err(|e| e.to_string())?;
        b.repl().soft_reset().map_err(|e| e.to_string())?;
        deploy(&mut b, bundle, &mut |_| {}).map_err(|e| e.to_string())?;
        Ok(())
    })();
    let t = b.into_repl().into_transport();
    (result, t.sent, t.received, t.fired)
}

/// A clean deploy, then the board must be exactly `bundle` plus the user's file.
fn converge(board: &QemuBoard, bundle: &Bundle) {
    let mut b = board.connect();
    b.repl().soft_reset().unwrap();
    deploy(&mut b, bundle, &mut |_| {}).unwrap();
    assert_board_is(&mut b, bundle, &[("/lib/mine.py", FOREIGN)]);
}

/// Every file under its real name holds `from`'s or `to`'s content (or the user's file).
fn check_no_broken_file(board: &QemuBoard, from: &Bundle, to: &Bundle) -> Result<(), String> {
    let mut b = board.connect();
    for (path, hash) in board_lib(&mut b) {
        if path.ends_with(".portlib-tmp") || path == RECORD_PATH {
            continue;
        }
        let ok = from.file(&path).is_some_and(|f| f.hash == hash)
            || to.file(&path).is_some_and(|f| f.hash == hash)
            || (path == "/lib/mine.py" && hash == sha256(FOREIGN));
        if !ok {
            return Err(format!(
                "{path} on the board is neither version (truncated or wrong)"
            ));
        }
    }
    Ok(())
}

fn put_foreign(board: &QemuBoard) {
    let mut b = board.connect();
    b.mkdir_p("/lib").unwrap();
    b.write_file_atomic("/lib/mine.py", FOREIGN).unwrap();
}

#[test]
fn faults_mid_deploy_leave_whole_files_and_rerun_converges() {
    let Some(mut board) = start_board("faults_mid_deploy_leave_whole_files_and_rerun_converges")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let v1 = write_bundle(&tmp.path().join("v1"), &bundle_files(1));
    let v2 = write_bundle(&tmp.path().join("v2"), &bundle_files(2));
    put_foreign(&board);
    converge(&board, &v1);

    // A fault-free v1 → v2 through the proxy gives the byte counts fault points are chosen in.
    let (clean, sent, received, _) = faulty_deploy(&board, &v2, None);
    clean.unwrap();
    eprintln!("a v1 → v2 deploy moves {sent} bytes to the board and {received} back");
    converge(&board, &v2);

    let at = |frac: f64, total: u64| (total as f64 * frac) as u64;
    let mut scenarios: Vec<(String, Injection)> = Vec::new();
    let mut add = |fault: Fault, dir: Dir, at: u64| {
        scenarios.push((
            format!("{fault:?} {dir:?} at byte {at}"),
            Injection { fault, dir, at },
        ))
    };
    // Chosen points: inside the first file's upload, in a hash reply, near the end.
    add(Fault::Drop, Dir::ToBoard, at(0.3, sent));
    add(Fault::Drop, Dir::FromBoard, at(0.6, received));
    add(Fault::Corrupt, Dir::ToBoard, at(0.5, sent));
    add(Fault::Corrupt, Dir::FromBoard, at(0.4, received));
    add(Fault::Duplicate, Dir::ToBoard, at(0.45, sent));
    add(Fault::Duplicate, Dir::FromBoard, at(0.7, received));
    add(
        Fault::Delay(Duration::from_millis(1500)),
        Dir::ToBoard,
        at(0.5, sent),
    );
    add(Fault::CtrlD, Dir::ToBoard, at(0.35, sent));
    add(Fault::CtrlD, Dir::ToBoard, at(0.85, sent));
    add(Fault::HardReset, Dir::ToBoard, at(0.55, sent));
    // Random points.
    let seed: u64 = std::env::var("PORTLIB_FAULT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_261_121);
    let random: u64 = std::env::var("PORTLIB_FAULT_RANDOM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    eprintln!("random fault points from seed {seed} (PORTLIB_FAULT_SEED)");
    let mut rng = Rng::new(seed);
    for _ in 0..random {
        let kinds = [
            Fault::Drop,
            Fault::Corrupt,
            Fault::Duplicate,
            Fault::CtrlD,
            Fault::Delay(Duration::from_millis(800)),
        ];
        let fault = kinds[rng.below(kinds.len() as u64) as usize];
        let dir = if fault == Fault::CtrlD || rng.below(2) == 0 {
            Dir::ToBoard
        } else {
            Dir::FromBoard
        };
        let total = if dir == Dir::ToBoard { sent } else { received };
        add(fault, dir, rng.below(total));
    }

    let (mut ran, mut passed, mut errors, mut absorbed) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut from = &v2;
    for (i, (name, inj)) in scenarios.iter().enumerate() {
        let to = if i % 2 == 0 { &v1 } else { &v2 };
        ran += 1;
        let start = Instant::now();
        let attempt = catch_unwind(AssertUnwindSafe(|| faulty_deploy(&board, to, Some(*inj))));
        let took = start.elapsed();
        let outcome = match attempt {
            Err(_) => Err("the deploy panicked".to_string()),
            Ok(_) if took > BOUND => Err(format!("the deploy took {took:?} (a hang)")),
            // A fault point past the end of the transfer tests nothing: the scenario fails
            // rather than passing as "absorbed".
            Ok((.., false)) => {
                Err("the fault never fired (the deploy ended before its byte)".into())
            }
            Ok((Err(msg), ..)) if msg.trim().is_empty() => Err("an empty error".into()),
            Ok((r, ..)) => Ok(r),
        };
        if inj.fault == Fault::HardReset {
            board.restart();
            put_foreign(&board);
        }
        let checked = outcome.and_then(|r| {
            check_no_broken_file(&board, from, to)?;
            Ok(r)
        });
        match checked {
            Ok(r) => {
                // Whatever happened, a clean re-run must converge (panics fail the test).
                converge(&board, to);
                passed += 1;
                match r {
                    Err(msg) => {
                        errors += 1;
                        let first = msg.lines().next().unwrap_or("");
                        eprintln!("ok   {name} ({took:.1?}): error: {first}");
                    }
                    Ok(()) => {
                        absorbed += 1;
                        eprintln!("ok   {name} ({took:.1?}): absorbed, deploy succeeded");
                    }
                }
            }
            Err(why) => {
                eprintln!("FAIL {name}: {why}");
                failures.push(format!("{name}: {why}"));
                converge(&board, to);
            }
        }
        from = to;
    }
    eprintln!(
        "fault scenarios: {ran} ran, {passed} passed ({errors} ended in a clear error, \
         {absorbed} absorbed by the protocol), {} failed",
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The binary itself: the board dies (QEMU killed) in the middle of `portlib deploy`. It must
/// exit with status 2 and an error message, not a panic or a hang; after a restart the same
/// command converges.
#[test]
fn cli_deploy_survives_the_board_dying_mid_copy() {
    let Some(mut board) = start_board("cli_deploy_survives_the_board_dying_mid_copy") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let mut files = bundle_files(1);
    // About 8 s of upload at the emulated board's input rate on a loaded machine (10 KB/s),
    // 2-3 s on a quiet one: room to cut it in the middle.
    files.push(("lib/pl_big.py", module("big", 60_000)));
    let bundle = write_bundle(&tmp.path().join("b"), &files);
    let deploy_cmd = |pty: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_portlib"))
            .args(["deploy", "--board", pty])
            .arg(&bundle.dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let start = Instant::now();
    let child = deploy_cmd(&board.pty);
    std::thread::sleep(Duration::from_millis(1500));
    board.killer()();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!(
        "portlib deploy after the board died ({:.1?}): {stderr}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(start.elapsed() < BOUND);

    board.restart();
    let out = deploy_cmd(&board.pty).wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_board_is(&mut board.connect(), &bundle, &[]);
}
