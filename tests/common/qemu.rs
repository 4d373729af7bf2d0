//! The emulated board (`scripts/qemu-board/`) for integration tests: started by a shell
//! script that the test writes (start the board, put files on it, print its pty last), which
//! also serves as `portlib test --recover-cmd`, since a restarted board has an empty flash.

use std::path::Path;
use std::process::Command;

/// A running emulated board, stopped when dropped.
pub struct Board {
    /// Holds `board.sh`, `board.pid` and QEMU's log.
    pub dir: tempfile::TempDir,
    /// The board's serial port.
    pub pty: String,
}

/// The first lines of a board script: the tools' environment, then a fresh board whose pty
/// is in `$pty`. The caller appends what to put on it and `echo "$pty"`.
pub fn script_start(dir: &Path) -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let qemu = repo.join("scripts/qemu-board");
    format!(
        "set -e\n\
         tools=\"${{PORTLIB_TOOLS:-{repo}/.tools}}\"\n\
         if [ -f \"$tools/env.sh\" ]; then . \"$tools/env.sh\"; fi\n\
         '{qemu}/stop' --pidfile '{pid}' >/dev/null 2>&1 || true\n\
         pty=$('{qemu}/start' --pidfile '{pid}')\n",
        repo = repo.display(),
        qemu = qemu.display(),
        pid = dir.join("board.pid").display(),
    )
}

impl Board {
    /// Write `script` (which must begin with [`script_start`]) as `dir/board.sh` and run it;
    /// `None`, after saying why, only when this machine cannot run QEMU at all (no firmware,
    /// no `qemu-system-arm`) and `PORTLIB_REQUIRE_TOOLS` is not set ([`super::skip`]). Any
    /// other failure fails the test.
    pub fn start(dir: tempfile::TempDir, script: &str) -> Option<Board> {
        let path = dir.path().join("board.sh");
        std::fs::write(&path, script).unwrap();
        let out = Command::new("sh").arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let cannot = [
                "start: no firmware",
                "start: firmware",
                "qemu-system-arm not found",
            ];
            if let Some(line) = err.lines().find(|l| cannot.iter().any(|c| l.contains(c))) {
                // Test threads are named after their test.
                let test = std::thread::current().name().unwrap_or("test").to_owned();
                super::skip(
                    &test,
                    &format!("the emulated board cannot start on this machine: {line}"),
                );
                return None;
            }
            panic!("could not start the emulated board:\n{err}");
        }
        let pty = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(pty.starts_with("/dev/"), "start printed {pty:?}\n{err}");
        Some(Board { dir, pty })
    }

    /// The command that brings the board back with the same files (`--recover-cmd`).
    pub fn recover_cmd(&self) -> String {
        format!("sh '{}'", self.dir.path().join("board.sh").display())
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let stop = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/qemu-board/stop");
        let _ = Command::new(stop)
            .arg("--pidfile")
            .arg(self.dir.path().join("board.pid"))
            .output();
    }
}
