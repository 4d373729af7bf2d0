//! Board operations over the raw REPL: each is a small Python snippet run with exec, printing a
//! line-oriented answer the host parses. The snippets stay small and avoid anything missing on
//! CircuitPython (`os.ilistdir`, `hashlib` on SAMD51 builds) or old MicroPython (`os` was `uos`).
//!
//! File content travels as base64 (`binascii`, present on both firmwares): 4/3 overhead instead
//! of hex's 2, and every byte value is safe inside a Python literal and on the console.
//!
//! Verification: with `hashlib.sha256` on the board, the board hashes the file; without it
//! (Metro M4 / Grand Central CircuitPython builds) the file is read back and hashed on the host.
//! Reading back costs about as much as the upload, but a pure-Python SHA-256 on a 120 MHz
//! Cortex-M4 with 31-bit small ints would allocate a big int per operation and be far slower.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::error::{BoardError, Result};
use super::fs::{
    check_remote_path, path_prefixes, probe_name, sha256, temp_name, BoardFs, FileHash,
    RemoteEntry, RemoteStat,
};
use super::output::Flavor;
use super::raw_repl::RawRepl;
use super::snippets::{self as py, render};
use super::transport::{SerialTransport, Transport, DEFAULT_BAUD};

/// Bytes per line when the board sends file content (512 base64 characters).
const READ_PIECE: usize = 384;

/// How many paths one `hash_files` exec handles (the list literal is compiled in board RAM).
const HASH_BATCH: usize = 64;

/// How many files one read-back exec sends (bounded by [`SerialBoard::transfer_timeout`]).
const READ_BACK_BATCH: usize = 16;

/// What `board_info` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BoardInfo {
    /// Firmware family, from `sys.implementation.name`.
    pub flavor: Flavor,
    /// `sys.implementation.version`, as `major.minor.micro`.
    pub version: String,
    /// `sys.implementation._mpy`, if present: bits 0-7 the .mpy version, 8-9 the sub-version,
    /// 10 and up the native architecture.
    pub mpy: Option<u32>,
    /// `sys.platform` (`MicroChip SAMD51`, `qemu`, ...).
    pub platform: String,
    /// `os.uname().machine`, else `sys.implementation._machine`.
    pub machine: String,
    /// `os.uname().release` (empty without `os.uname`).
    pub release: String,
    /// Whether `hashlib.sha256` exists.
    pub has_hashlib: bool,
    /// `gc.mem_free()` after `gc.collect()` (a heuristic on CircuitPython ≥ 9).
    pub mem_free: u64,
    /// `gc.mem_alloc()` after `gc.collect()`.
    pub mem_alloc: u64,
}

impl BoardInfo {
    /// The .mpy format version the firmware loads (6 for MicroPython ≥ 1.19 / CircuitPython ≥ 9).
    pub fn mpy_version(&self) -> Option<u8> {
        self.mpy.map(|m| (m & 0xff) as u8)
    }

    /// The .mpy sub-version (3 for MicroPython 1.23+).
    pub fn mpy_sub_version(&self) -> Option<u8> {
        self.mpy.map(|m| ((m >> 8) & 3) as u8)
    }

    /// Parse the `key=value` lines of the info snippet.
    fn parse(text: &str) -> Option<BoardInfo> {
        let map: BTreeMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.trim_end_matches('\r').split_once('='))
            .collect();
        let flavor = match *map.get("name")? {
            "circuitpython" => Flavor::CircuitPython,
            _ => Flavor::MicroPython,
        };
        Some(BoardInfo {
            flavor,
            version: map.get("version")?.to_string(),
            mpy: map.get("mpy").and_then(|m| m.parse().ok()),
            platform: map.get("platform")?.to_string(),
            machine: map.get("machine")?.to_string(),
            release: map.get("release")?.to_string(),
            has_hashlib: *map.get("hashlib")? == "1",
            mem_free: map.get("mem_free")?.parse().ok()?,
            mem_alloc: map.get("mem_alloc")?.parse().ok()?,
        })
    }
}

/// A Python string literal for `s` (paths are checked to hold no control characters).
pub fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32 & 0xff)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The errno of an `OSError` ending a traceback: `OSError: [Errno 30] EROFS` (firmware
/// errors, MicroPython and CircuitPython), or `OSError: 30` (raised from Python code).
pub fn remote_errno(traceback: &str) -> Option<i32> {
    let last = traceback.lines().rev().find(|l| !l.trim().is_empty())?;
    let rest = last.trim().strip_prefix("OSError:")?.trim_start();
    let rest = rest.strip_prefix("[Errno ").unwrap_or(rest);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Turn a traceback from a file operation into the matching typed error.
pub fn classify_remote_error(operation: &str, path: &str, traceback: &str) -> BoardError {
    let path = path.to_string();
    match remote_errno(traceback) {
        Some(30) => BoardError::ReadOnlyFs { path },
        Some(2) => BoardError::NotFound { path },
        Some(28) => BoardError::NoSpace { path },
        _ => BoardError::Remote {
            operation: operation.to_string(),
            traceback: traceback.trim_end().to_string(),
        },
    }
}

/// A board reached through its serial raw REPL.
pub struct SerialBoard<T: Transport> {
    repl: RawRepl<T>,
    /// Limit for one small operation (stat, listdir, one chunk, ...).
    pub op_timeout: Duration,
    /// Limit for an operation that sends whole files back (read_file, hashing by read-back),
    /// whose size is not known beforehand.
    pub transfer_timeout: Duration,
    /// Bytes of file content per exec when writing; `None` picks 2048 with raw-paste and 512
    /// without (plain raw REPL buffers the whole snippet in board RAM before compiling it).
    pub chunk_size: Option<usize>,
    /// Check every write by SHA-256 (on the board, or by reading back).
    pub verify: bool,
    hashlib: Option<bool>,
}

impl SerialBoard<SerialTransport> {
    /// Open a serial port at the default rate.
    pub fn open(port: &str) -> Result<Self> {
        Ok(SerialBoard::new(RawRepl::new(SerialTransport::open(
            port,
            DEFAULT_BAUD,
        )?)))
    }
}

impl<T: Transport> SerialBoard<T> {
    /// Operations over an existing session.
    pub fn new(repl: RawRepl<T>) -> Self {
        SerialBoard {
            repl,
            op_timeout: Duration::from_secs(10),
            transfer_timeout: Duration::from_secs(120),
            chunk_size: None,
            verify: true,
            hashlib: None,
        }
    }

    /// The raw-REPL session (for exec, soft reset, leaving).
    pub fn repl(&mut self) -> &mut RawRepl<T> {
        &mut self.repl
    }

    /// Give the session back.
    pub fn into_repl(self) -> RawRepl<T> {
        self.repl
    }

    /// Run a snippet; a traceback becomes a typed error about `path`.
    fn run(&mut self, operation: &str, path: &str, code: &str) -> Result<String> {
        self.run_within(operation, path, code, self.op_timeout)
    }

    fn run_within(
        &mut self,
        operation: &str,
        path: &str,
        code: &str,
        within: Duration,
    ) -> Result<String> {
        log::trace!("exec for {operation}:\n{code}");
        let out = self.repl.exec(code.as_bytes(), within)?;
        if out.raised() {
            return Err(classify_remote_error(operation, path, &out.stderr_text()));
        }
        Ok(out.stdout_text())
    }

    /// Implementation, versions, .mpy ABI, hashlib and free memory.
    pub fn board_info(&mut self) -> Result<BoardInfo> {
        let code = render(py::BOARD_INFO, true, &[]);
        let text = self.run("board info", "/", &code)?;
        let info = BoardInfo::parse(&text).ok_or_else(|| BoardError::BadReply {
            operation: "board info".into(),
            reply: text.clone(),
        })?;
        self.hashlib = Some(info.has_hashlib);
        Ok(info)
    }

    /// Whether the board has `hashlib.sha256` (asked once per connection).
    pub fn has_hashlib(&mut self) -> Result<bool> {
        if let Some(h) = self.hashlib {
            return Ok(h);
        }
        let text = self.run("check for hashlib", "/", py::HAS_HASHLIB)?;
        let h = text.trim() == "1";
        self.hashlib = Some(h);
        Ok(h)
    }

    /// Override the `hashlib` detection: `Some(false)` makes verification and `hash_files`
    /// read files back and hash on the host; `None` asks the board again.
    pub fn set_has_hashlib(&mut self, has: Option<bool>) {
        self.hashlib = has;
    }

    fn chunk(&self) -> usize {
        let chunk = self.chunk_size.unwrap_or(match self.repl.raw_paste() {
            Some(false) => 512,
            _ => 2048,
        });
        chunk.max(1)
    }

    /// Upload `data` to `tmp` in chunks; the real name is not touched.
    fn upload(
        &mut self,
        tmp: &str,
        data: &[u8],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        let op = format!("write {tmp}");
        let open = render(py::OPEN_WRITE, true, &[('P', &py_str(tmp))]);
        // Once the protocol is known, a file that fits in one chunk goes in one round trip
        // (a bundle is mostly small files, and each exec costs a handshake).
        if self.repl.raw_paste().is_some() && data.len() <= self.chunk() {
            let mut code = open;
            code.push_str(&render(py::WRITE_CHUNK, false, &[('B', &B64.encode(data))]));
            code.push_str(py::CLOSE_WRITE);
            self.run(&op, tmp, &code)?;
            progress(data.len(), data.len());
            return Ok(());
        }
        self.run(&op, tmp, &open)?;
        // The chunk size depends on raw-paste, known after the first exec.
        let chunk = self.chunk();
        let mut sent = 0;
        for piece in data.chunks(chunk) {
            let code = render(py::WRITE_CHUNK, false, &[('B', &B64.encode(piece))]);
            self.run(&op, tmp, &code)?;
            sent += piece.len();
            progress(sent, data.len());
        }
        self.run(&op, tmp, py::CLOSE_WRITE)?;
        Ok(())
    }

    fn hash_on_board(&mut self, paths: &[String]) -> Result<BTreeMap<String, Option<FileHash>>> {
        let mut out = BTreeMap::new();
        for batch in paths.chunks(HASH_BATCH) {
            let list: Vec<String> = batch.iter().map(|p| py_str(p)).collect();
            let code = render(py::HASH_FILES, true, &[('L', &list.join(","))]);
            let text = self.run("hash files", &batch[0], &code)?;
            let bad = || BoardError::BadReply {
                operation: "hash files".into(),
                reply: text.clone(),
            };
            // Every index exactly once: a line repeated by a garbled link must not stand in
            // for a missing one.
            let mut seen = vec![false; batch.len()];
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let (i, val) = line.split_once(' ').ok_or_else(bad)?;
                let i = i.parse::<usize>().map_err(|_| bad())?;
                let path = batch.get(i).ok_or_else(bad)?;
                if std::mem::replace(&mut seen[i], true) {
                    return Err(bad());
                }
                let hash = if val == "-" {
                    None
                } else {
                    let raw = B64.decode(val).map_err(|_| bad())?;
                    Some(<FileHash>::try_from(raw.as_slice()).map_err(|_| bad())?)
                };
                out.insert(path.clone(), hash);
            }
            if seen.contains(&false) {
                return Err(bad());
            }
        }
        Ok(out)
    }

    /// Read many files back in one exec per batch, hashing on the host.
    fn hash_by_reading(&mut self, paths: &[String]) -> Result<BTreeMap<String, Option<FileHash>>> {
        let mut out = BTreeMap::new();
        // Smaller batches than on-board hashing: the whole content crosses the wire.
        for batch in paths.chunks(READ_BACK_BATCH) {
            let list: Vec<String> = batch.iter().map(|p| py_str(p)).collect();
            let code = render(
                py::READ_FILES,
                true,
                &[('L', &list.join(",")), ('N', &READ_PIECE.to_string())],
            );
            let within = self.transfer_timeout;
            let text = self.run_within("read files back", &batch[0], &code, within)?;
            let files =
                parse_file_stream(&text, batch.len()).ok_or_else(|| BoardError::BadReply {
                    operation: "read files back".into(),
                    reply: super::error::tail_text(text.as_bytes(), 300),
                })?;
            for (path, content) in batch.iter().zip(files) {
                out.insert(path.clone(), content.map(|c| sha256(&c)));
            }
        }
        Ok(out)
    }
}

/// Parse the `i -` / `i +`, base64 lines, `.` stream of the read-back snippet.
fn parse_file_stream(text: &str, count: usize) -> Option<Vec<Option<Vec<u8>>>> {
    let mut files: Vec<Option<Vec<u8>>> = vec![None; count];
    let mut current: Option<(usize, String)> = None;
    let mut seen = 0;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match current.take() {
            Some((i, b64)) if line == "." => {
                files[i] = Some(B64.decode(b64.as_bytes()).ok()?);
            }
            Some((i, mut b64)) => {
                b64.push_str(line);
                current = Some((i, b64));
            }
            None => {
                let (i, mark) = line.split_once(' ')?;
                let i: usize = i.parse().ok()?;
                if i >= count {
                    return None;
                }
                seen += 1;
                match mark {
                    "-" => {}
                    "+" => current = Some((i, String::new())),
                    _ => return None,
                }
            }
        }
    }
    (current.is_none() && seen == count).then_some(files)
}

impl<T: Transport> BoardFs for SerialBoard<T> {
    fn describe(&self) -> String {
        self.repl.transport().name()
    }

    fn stat(&mut self, path: &str) -> Result<Option<RemoteStat>> {
        check_remote_path(path)?;
        let code = render(py::STAT, true, &[('P', &py_str(path))]);
        let text = self.run(&format!("stat {path}"), path, &code)?;
        let line = text.trim();
        if line == "-" {
            return Ok(None);
        }
        parse_stat(line)
            .map(Some)
            .ok_or_else(|| BoardError::BadReply {
                operation: format!("stat {path}"),
                reply: text.clone(),
            })
    }

    fn listdir(&mut self, path: &str) -> Result<Vec<RemoteEntry>> {
        check_remote_path(path)?;
        let code = render(py::LISTDIR, true, &[('P', &py_str(path))]);
        let text = self.run(&format!("listdir {path}"), path, &code)?;
        let mut out = Vec::new();
        for line in text.lines().map(|l| l.trim_end_matches('\r')) {
            if line.is_empty() {
                continue;
            }
            let mut parts = line.splitn(3, ' ');
            let (kind, size, name) = (parts.next(), parts.next(), parts.next());
            let entry = match (kind, size, name) {
                (Some(k), Some(s), Some(n)) => {
                    parse_stat(&format!("{k} {s}")).map(|stat| RemoteEntry {
                        name: n.to_string(),
                        stat,
                    })
                }
                _ => None,
            };
            out.push(entry.ok_or_else(|| BoardError::BadReply {
                operation: format!("listdir {path}"),
                reply: line.to_string(),
            })?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read_file(&mut self, path: &str) -> Result<Vec<u8>> {
        check_remote_path(path)?;
        let code = render(
            py::READ_FILE,
            true,
            &[('P', &py_str(path)), ('N', &READ_PIECE.to_string())],
        );
        let within = self.transfer_timeout;
        let text = self.run_within(&format!("read {path}"), path, &code, within)?;
        let joined: String = text.split_whitespace().collect();
        B64.decode(joined.as_bytes())
            .map_err(|_| BoardError::BadReply {
                operation: format!("read {path}"),
                reply: super::error::tail_text(text.as_bytes(), 200),
            })
    }

    fn write_file_atomic(&mut self, path: &str, data: &[u8]) -> Result<()> {
        self.write_file_with_progress(path, data, &mut |_, _| {})
    }

    fn write_file_with_progress(
        &mut self,
        path: &str,
        data: &[u8],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        check_remote_path(path)?;
        let tmp = temp_name(path);
        self.upload(&tmp, data, progress)?;
        if self.verify {
            let want = sha256(data);
            let got = self.hash_files(std::slice::from_ref(&tmp))?;
            let got = got.get(&tmp).copied().flatten();
            if got != Some(want) {
                return Err(BoardError::VerifyFailed {
                    path: path.to_string(),
                    expected: super::fs::hex(&want),
                    actual: got.map_or("nothing (file missing)".into(), |h| super::fs::hex(&h)),
                });
            }
        }
        // Only a verified temporary file is renamed over the real name.
        let code = render(
            py::RENAME,
            true,
            &[('A', &py_str(&tmp)), ('B', &py_str(path))],
        );
        self.run(&format!("rename {tmp} to {path}"), path, &code)?;
        log::debug!("wrote {path} ({} bytes)", data.len());
        Ok(())
    }

    fn check_writable(&mut self, dir: &str) -> Result<()> {
        let probe = probe_name(dir)?;
        let probe = probe.as_str();
        let code = render(py::PROBE_WRITE, true, &[('P', &py_str(probe))]);
        self.run("check that the board is writable", probe, &code)
            .map(drop)
    }

    fn remove(&mut self, path: &str) -> Result<()> {
        check_remote_path(path)?;
        let code = render(py::REMOVE, true, &[('P', &py_str(path))]);
        self.run(&format!("remove {path}"), path, &code).map(drop)
    }

    fn rmdir(&mut self, path: &str) -> Result<()> {
        check_remote_path(path)?;
        let code = render(py::RMDIR, true, &[('P', &py_str(path))]);
        self.run(&format!("rmdir {path}"), path, &code).map(drop)
    }

    fn mkdir_p(&mut self, path: &str) -> Result<()> {
        check_remote_path(path)?;
        let parts: Vec<String> = path_prefixes(path).iter().map(|p| py_str(p)).collect();
        if parts.is_empty() {
            return Ok(());
        }
        let code = render(py::MKDIR_P, true, &[('L', &parts.join(","))]);
        self.run(&format!("mkdir {path}"), path, &code).map(drop)
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        check_remote_path(from)?;
        check_remote_path(to)?;
        let code = render(
            py::RENAME,
            true,
            &[('A', &py_str(from)), ('B', &py_str(to))],
        );
        self.run(&format!("rename {from} to {to}"), from, &code)
            .map(drop)
    }

    fn hash_files(&mut self, paths: &[String]) -> Result<BTreeMap<String, Option<FileHash>>> {
        for p in paths {
            check_remote_path(p)?;
        }
        if paths.is_empty() {
            return Ok(BTreeMap::new());
        }
        if self.has_hashlib()? {
            self.hash_on_board(paths)
        } else {
            self.hash_by_reading(paths)
        }
    }
}

fn parse_stat(line: &str) -> Option<RemoteStat> {
    let (kind, size) = line.trim().split_once(' ')?;
    let size = size.trim().parse().ok()?;
    match kind {
        "d" => Some(RemoteStat { is_dir: true, size }),
        "f" => Some(RemoteStat {
            is_dir: false,
            size,
        }),
        _ => None,
    }
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
