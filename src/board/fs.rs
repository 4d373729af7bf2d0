//! The file operations `deploy` needs, common to a board over serial ([`super::ops::SerialBoard`])
//! and a mounted CIRCUITPY drive ([`super::mass_storage::DriveBoard`]).
//!
//! Board paths are absolute, `/`-separated strings (`/lib/json/__init__.mpy`) whatever the host
//! OS: a Windows path with backslashes must be converted before it gets here, because a `\b` in
//! a path has ended up on boards as a backspace character with other tools.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::error::{BoardError, Result};

/// A SHA-256 digest.
pub type FileHash = [u8; 32];

/// Size and kind of a board path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RemoteStat {
    /// A folder rather than a file.
    pub is_dir: bool,
    /// Size in bytes (0 for folders).
    pub size: u64,
}

/// One entry of a folder listing.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RemoteEntry {
    /// The name inside the folder.
    pub name: String,
    /// Kind and size.
    pub stat: RemoteStat,
}

/// File operations on a board. Every write is atomic: the new content goes to
/// `<path>.portlib-tmp`, is verified, and only then renamed over `<path>`, so an interrupted
/// copy (reset, unplug, Ctrl-C) never leaves a truncated file under the real name.
pub trait BoardFs {
    /// A name for messages (port or drive path).
    fn describe(&self) -> String;
    /// Kind and size of `path`, `None` if it does not exist.
    fn stat(&mut self, path: &str) -> Result<Option<RemoteStat>>;
    /// Entries of the folder `path`, sorted by name.
    fn listdir(&mut self, path: &str) -> Result<Vec<RemoteEntry>>;
    /// The whole content of a file.
    fn read_file(&mut self, path: &str) -> Result<Vec<u8>>;
    /// Replace `path` with `data` atomically and verify it by SHA-256. Parent folders must exist
    /// (see [`BoardFs::mkdir_p`]).
    fn write_file_atomic(&mut self, path: &str, data: &[u8]) -> Result<()>;
    /// Like [`BoardFs::write_file_atomic`], reporting `(bytes sent, total)` as the upload
    /// advances. The default reports once, at the end.
    fn write_file_with_progress(
        &mut self,
        path: &str,
        data: &[u8],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<()> {
        self.write_file_atomic(path, data)?;
        progress(data.len(), data.len());
        Ok(())
    }
    /// Fail with [`BoardError::ReadOnlyFs`] if files cannot be written in the existing folder
    /// `dir` (CircuitPython's default over serial), before a long copy starts.
    fn check_writable(&mut self, dir: &str) -> Result<()>;
    /// Delete a file.
    fn remove(&mut self, path: &str) -> Result<()>;
    /// Delete an empty folder.
    fn rmdir(&mut self, path: &str) -> Result<()>;
    /// Create a folder and its parents; existing folders are fine.
    fn mkdir_p(&mut self, path: &str) -> Result<()>;
    /// Rename a file or folder, replacing an existing file at `to`.
    fn rename(&mut self, from: &str, to: &str) -> Result<()>;
    /// SHA-256 of each file, `None` for missing ones, in as few round trips as possible.
    fn hash_files(&mut self, paths: &[String]) -> Result<BTreeMap<String, Option<FileHash>>>;
}

/// The temporary name a file is written under before the rename.
pub fn temp_name(path: &str) -> String {
    format!("{path}.portlib-tmp")
}

/// The scratch file [`BoardFs::check_writable`] creates and deletes in `dir`.
pub fn probe_name(dir: &str) -> Result<String> {
    check_remote_path(dir)?;
    Ok(format!("{}/.portlib-probe", dir.trim_end_matches('/')))
}

/// SHA-256 of bytes.
pub fn sha256(data: &[u8]) -> FileHash {
    Sha256::digest(data).into()
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parse 64 hex digits into a digest.
pub fn parse_hash(text: &str) -> Option<FileHash> {
    let text = text.trim();
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Reject board paths that would be misread on the board.
pub fn check_remote_path(path: &str) -> Result<()> {
    let bad = |problem| {
        Err(BoardError::BadRemotePath {
            path: path.to_string(),
            problem,
        })
    };
    if !path.starts_with('/') {
        return bad("board paths must be absolute, starting with '/'");
    }
    if path.contains('\\') {
        return bad("use '/' to separate folders on the board, not '\\'");
    }
    if path.chars().any(|c| c.is_control()) {
        return bad("control characters are not allowed in board paths");
    }
    if path.split('/').any(|part| part == "..") {
        return bad("'..' is not allowed in board paths");
    }
    Ok(())
}

/// The parent folders of `path`, outermost first (`/a/b/c` → `/a`, `/a/b`, `/a/b/c`).
pub fn path_prefixes(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        cur.push('/');
        cur.push_str(part);
        out.push(cur.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert!(check_remote_path("/lib/a.mpy").is_ok());
        for bad in ["lib/a.mpy", "/lib\\a.mpy", "/a/../b", "/a\nb"] {
            assert!(check_remote_path(bad).is_err(), "{bad:?}");
        }
        assert_eq!(path_prefixes("/a/b//c/"), ["/a", "/a/b", "/a/b/c"]);
        assert_eq!(temp_name("/x.py"), "/x.py.portlib-tmp");
    }

    #[test]
    fn hash_round_trip() {
        let h = sha256(b"abc");
        assert_eq!(
            hex(&h),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(parse_hash(&hex(&h)), Some(h));
        assert_eq!(parse_hash("zz"), None);
    }
}
