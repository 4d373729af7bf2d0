//! `portlib deploy` against the emulated board (MicroPython 1.26.1 in QEMU, see
//! scripts/README.md), with PyPI `mpremote` as an independent peer reading what portlib wrote and
//! writing what portlib must then sync over.
//!
//! The board comes from `scripts/qemu-board/start`, which finds its firmware through
//! `PORTLIB_QEMU_FIRMWARE` (set by the tools' `env.sh`; `scripts/test` runs `setup-tools` and
//! sources it). The test skips, printing the reason, only when this machine cannot start QEMU
//! (no firmware, no `qemu-system-arm`), and not even then with `PORTLIB_REQUIRE_TOOLS=1` (as
//! `scripts/test` runs it); any other problem fails it.

mod common;
mod deploy_support;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use deploy_support::*;
use portlib::board::BoardFs;

/// `portlib deploy --board PTY DIR --json`, returning the report.
fn cli_deploy(pty: &str, dir: &Path) -> serde_json::Value {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(["deploy", "--json", "--board", pty])
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "portlib deploy failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    eprintln!(
        "deploy {}: {:.2} s, copied {}, removed {}",
        dir.display(),
        start.elapsed().as_secs_f64(),
        v["report"]["copied"],
        v["report"]["removed"]
    );
    v["report"].clone()
}

fn names(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Run Python on the board through `portlib run` and return its output.
fn cli_run(pty: &str, dir: &Path, code: &str) -> String {
    let file = dir.join("probe.py");
    std::fs::write(&file, code).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(["run", "--reset", "--timeout", "30", "--board", pty])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "portlib run failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().replace("\r\n", "\n")
}

const FOREIGN: &[u8] = b"# put here by the user with another tool\nMINE = 1\n";
const IMPORTS: &str =
    "import greet, pl_a, pl_pkg\nprint(greet.greet('board'), pl_a.tag(), pl_pkg.double(21))\n";

#[test]
fn deploy_import_redeploy_and_sync_with_mpremote() {
    let Some(board) = start_board("deploy_import_redeploy_and_sync_with_mpremote") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let pty = board.pty.clone();

    // A file of the user's in /lib, written by the peer: portlib must never touch it.
    let foreign = tmp.path().join("mine.py");
    std::fs::write(&foreign, FOREIGN).unwrap();
    mpremote(
        &pty,
        &["fs", "cp", foreign.to_str().unwrap(), ":/lib/mine.py"],
    );

    // First deploy: everything is sent.
    let v1 = write_bundle(&tmp.path().join("v1"), &bundle_files(1));
    let r = cli_deploy(&pty, &v1.dir);
    assert_eq!(names(&r["copied"]).len(), v1.files.len());
    assert_board_is(&mut board.connect(), &v1, &[("/lib/mine.py", FOREIGN)]);
    assert_eq!(
        cli_run(&pty, tmp.path(), IMPORTS),
        "hello, board! a-v1 42\n"
    );

    // Nothing changed: nothing is sent, the record is not rewritten.
    let start = Instant::now();
    let r = cli_deploy(&pty, &v1.dir);
    let noop = start.elapsed();
    assert_eq!(names(&r["copied"]), Vec::<String>::new());
    assert_eq!(r["unchanged"], v1.files.len());
    assert_eq!(r["record_written"], false);
    eprintln!("redeploy with nothing changed: {:.2} s", noop.as_secs_f64());

    // The peer reads back exactly what portlib wrote.
    for f in &v1.files {
        let back = tmp.path().join("back");
        let _ = std::fs::remove_file(&back);
        let remote = format!(":{}", f.board_path);
        mpremote(&pty, &["fs", "cp", &remote, back.to_str().unwrap()]);
        assert!(
            std::fs::read(&back).unwrap() == f.data,
            "mpremote read back {} with other bytes",
            f.board_path
        );
    }

    // v2: one file changed, one added, one dropped (removed; the foreign file stays).
    let v2 = write_bundle(&tmp.path().join("v2"), &bundle_files(2));
    let r = cli_deploy(&pty, &v2.dir);
    assert_eq!(names(&r["copied"]), ["/lib/pl_a.py", "/lib/pl_new.py"]);
    assert_eq!(names(&r["removed"]), ["/lib/pl_pkg/old.py"]);
    assert_board_is(&mut board.connect(), &v2, &[("/lib/mine.py", FOREIGN)]);

    // One changed file: only it is sent.
    let mut files = bundle_files(2);
    files
        .iter_mut()
        .find(|f| f.0 == "lib/pl_pkg/util.py")
        .unwrap()
        .1
        .extend_from_slice(b"\nEXTRA = 3\n");
    let v3 = write_bundle(&tmp.path().join("v3"), &files);
    let r = cli_deploy(&pty, &v3.dir);
    assert_eq!(names(&r["copied"]), ["/lib/pl_pkg/util.py"]);
    assert_eq!(names(&r["removed"]), Vec::<String>::new());

    // The peer overwrites a deployed file with another version; portlib puts the bundle's back.
    let other = tmp.path().join("other.py");
    std::fs::write(&other, b"def tag():\n    return 'mpremote'\n").unwrap();
    mpremote(
        &pty,
        &["fs", "cp", other.to_str().unwrap(), ":/lib/pl_a.py"],
    );
    assert_eq!(
        cli_run(&pty, tmp.path(), "import pl_a\nprint(pl_a.tag())\n"),
        "mpremote\n"
    );
    let r = cli_deploy(&pty, &v3.dir);
    assert_eq!(names(&r["copied"]), ["/lib/pl_a.py"]);
    assert_board_is(&mut board.connect(), &v3, &[("/lib/mine.py", FOREIGN)]);
    assert_eq!(
        cli_run(
            &pty,
            tmp.path(),
            "import greet, pl_a, pl_pkg, pl_new\nfrom pl_pkg import util\n\
             print(greet.greet('again'), pl_a.tag(), pl_new.tag(), util.EXTRA)\n"
        ),
        "hello, again! a-v2 new 3\n"
    );
    let text = String::from_utf8(mpremote(&pty, &["cat", ":/lib/mine.py"])).unwrap();
    assert_eq!(
        text.replace("\r\n", "\n").as_bytes(),
        FOREIGN,
        "the foreign file was changed"
    );

    // --dry-run shows the plan and changes nothing.
    let out = Command::new(env!("CARGO_BIN_EXE_portlib"))
        .args(["deploy", "--dry-run", "--board", &pty])
        .arg(&v1.dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("copy    /lib/pl_a.py"), "{text}");
    assert!(text.contains("remove  /lib/pl_new.py"), "{text}");
    let mut conn = board.connect();
    assert_board_is(&mut conn, &v3, &[("/lib/mine.py", FOREIGN)]);
    assert!(conn.stat("/lib/pl_pkg/old.py").unwrap().is_none());
}
