//! Shared by `deploy_qemu.rs`, `deploy_faults.rs` and `board_hil.rs` (each also has `mod common`): the emulated board (started through
//! `scripts/qemu-board/start`, stopped on drop), bundles written on the fly, a clean connection,
//! and checks of what the board holds.

// Each test crate uses part of this.
#![allow(dead_code)]

pub mod faults;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use portlib::board::fs::sha256;
use portlib::board::ops::SerialBoard;
use portlib::board::{BoardFs, SerialTransport};
use portlib::deploy::{Bundle, RECORD_PATH};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// An emulated board running in QEMU; stopped when dropped.
pub struct QemuBoard {
    /// The board's serial pty.
    pub pty: String,
    pidfile: PathBuf,
    _dir: tempfile::TempDir,
}

/// Why this machine cannot start the emulated board, if it cannot: no firmware or no
/// `qemu-system-arm` (scripts/setup-tools qemu provides both; scripts/test runs it).
pub fn qemu_unavailable() -> Option<String> {
    let tools_env = std::env::var_os("PORTLIB_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools"))
        .join("env.sh");
    let firmware = std::env::var_os("PORTLIB_QEMU_FIRMWARE").map(PathBuf::from);
    match &firmware {
        Some(f) if f.is_file() => {}
        Some(f) => {
            return Some(format!(
                "PORTLIB_QEMU_FIRMWARE={} does not exist",
                f.display()
            ))
        }
        None if tools_env.is_file() => {} // start sources env.sh, which names the firmware
        None => {
            return Some(
                "PORTLIB_QEMU_FIRMWARE is not set and no tools folder has env.sh \
                 (run scripts/setup-tools qemu, then source its env.sh)"
                    .into(),
            )
        }
    }
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("qemu-system-arm").is_file()))
        .unwrap_or(false);
    if !on_path && !tools_env.is_file() {
        return Some("qemu-system-arm is not on PATH (source the tools' env.sh)".into());
    }
    None
}

/// Start a board, or print why this machine cannot and return `None` (the only reason a
/// board test may skip; with `PORTLIB_REQUIRE_TOOLS=1` it fails instead, see
/// `common::skip`). A board that is available but fails to start fails the test.
pub fn start_board(test: &str) -> Option<QemuBoard> {
    if let Some(why) = qemu_unavailable() {
        crate::common::skip(test, &format!("cannot start the emulated board: {why}"));
        return None;
    }
    Some(QemuBoard::start())
}

impl QemuBoard {
    fn start() -> QemuBoard {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("board.pid");
        let pty = launch(&pidfile);
        QemuBoard {
            pty,
            pidfile,
            _dir: dir,
        }
    }

    /// A hard reset: QEMU stops and starts again (a new pty, an empty flash).
    pub fn restart(&mut self) {
        self.stop();
        self.pty = launch(&self.pidfile);
    }

    /// Kill QEMU now (the link dies as when a board is unplugged).
    pub fn stop(&self) {
        if self.pidfile.exists() {
            let _ = Command::new(repo().join("scripts/qemu-board/stop"))
                .arg("--pidfile")
                .arg(&self.pidfile)
                .status();
        }
    }

    /// Something that kills this QEMU, for a fault proxy to call mid-transfer.
    pub fn killer(&self) -> Box<dyn FnMut()> {
        let pidfile = self.pidfile.clone();
        Box::new(move || {
            let _ = Command::new(repo().join("scripts/qemu-board/stop"))
                .arg("--pidfile")
                .arg(&pidfile)
                .status();
        })
    }

    /// A clean connection through portlib's own serial board, in the raw REPL.
    pub fn connect(&self) -> SerialBoard<SerialTransport> {
        let mut b = SerialBoard::open(&self.pty).unwrap();
        b.repl().enter_raw().unwrap();
        b
    }
}

impl Drop for QemuBoard {
    fn drop(&mut self) {
        self.stop();
    }
}

fn launch(pidfile: &Path) -> String {
    let out = Command::new(repo().join("scripts/qemu-board/start"))
        .arg("--pidfile")
        .arg(pidfile)
        .output()
        .expect("running scripts/qemu-board/start");
    assert!(
        out.status.success(),
        "scripts/qemu-board/start failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Write a bundle (manifest + files) into `dir` and load it.
pub fn write_bundle(dir: &Path, files: &[(&str, Vec<u8>)]) -> Bundle {
    let files: Vec<(&str, &[u8])> = files.iter().map(|(p, d)| (*p, d.as_slice())).collect();
    Bundle::create(dir, "micropython", &files).unwrap()
}

/// A Python module of about `size` bytes whose content depends on `tag`.
pub fn module(tag: &str, size: usize) -> Vec<u8> {
    let mut s = format!("TAG = {tag:?}\n\ndef tag():\n    return TAG\n\n");
    let mut i = 0;
    while s.len() < size {
        s.push_str(&format!("V{i} = {:?}  # {tag}\n", i * 7919 % 1000));
        i += 1;
    }
    s.into_bytes()
}

/// The test bundles: `v1`, and `v2` with `lib/pl_a.py` changed, `lib/pl_pkg/old.py` dropped
/// and `lib/pl_new.py` added (about 4 KB each).
pub fn bundle_files(version: u32) -> Vec<(&'static str, Vec<u8>)> {
    let greet = std::fs::read(repo().join("tests/fixtures/deploy/greet.mpy")).unwrap();
    let mut files = vec![
        ("lib/greet.mpy", greet),
        (
            "lib/pl_pkg/__init__.py",
            b"from .util import double\n".to_vec(),
        ),
        ("lib/pl_pkg/util.py", module("util", 700)),
    ];
    if version == 1 {
        files.push(("lib/pl_a.py", module("a-v1", 1500)));
        files.push(("lib/pl_pkg/old.py", module("old", 400)));
    } else {
        files.push(("lib/pl_a.py", module("a-v2", 1600)));
        files.push(("lib/pl_new.py", module("new", 500)));
    }
    let util = files
        .iter_mut()
        .find(|f| f.0 == "lib/pl_pkg/util.py")
        .unwrap();
    util.1
        .extend_from_slice(b"\ndef double(x):\n    return 2 * x\n");
    files
}

/// Every file under `/lib` on the board with its content hash (one listing per folder).
pub fn board_lib(b: &mut dyn BoardFs) -> BTreeMap<String, [u8; 32]> {
    let mut paths = Vec::new();
    let mut dirs = vec!["/lib".to_string()];
    while let Some(d) = dirs.pop() {
        for e in b.listdir(&d).unwrap() {
            let p = format!("{d}/{}", e.name);
            if e.stat.is_dir {
                dirs.push(p);
            } else {
                paths.push(p);
            }
        }
    }
    b.hash_files(&paths)
        .unwrap()
        .into_iter()
        .map(|(p, h)| (p, h.expect("listed file exists")))
        .collect()
}

/// The board's `/lib` holds exactly the bundle, the record and `extra` (foreign files), with
/// no temporary file left.
pub fn assert_board_is(b: &mut dyn BoardFs, bundle: &Bundle, extra: &[(&str, &[u8])]) {
    let mut have = board_lib(b);
    assert!(have.remove(RECORD_PATH).is_some(), "no install record");
    let mut want: BTreeMap<String, [u8; 32]> = bundle
        .files
        .iter()
        .map(|f| (f.board_path.clone(), f.hash))
        .collect();
    for (p, d) in extra {
        want.insert(p.to_string(), sha256(d));
    }
    assert_eq!(have, want, "board /lib differs from the bundle");
}

/// The reference client: PyPI mpremote (`PORTLIB_MPREMOTE`, else `mpremote` on PATH).
pub fn mpremote(pty: &str, args: &[&str]) -> Vec<u8> {
    let exe = std::env::var("PORTLIB_MPREMOTE").unwrap_or_else(|_| "mpremote".into());
    let out = Command::new(&exe)
        .args(["connect", pty])
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {exe} (scripts/setup-tools venv installs it; source env.sh): {e}")
        });
    assert!(
        out.status.success(),
        "mpremote {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
