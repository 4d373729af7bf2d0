//! `patches/upstream.sha256`: the SHA-256 of every upstream file the port touches, in the
//! format of `sha256sum` (`<hex>  <path>`), sorted, so it can also be checked by hand with
//! `sha256sum -c` from inside a CPython `Lib/` folder.

use std::collections::BTreeMap;
use std::path::Path;

use super::{io_err, WorkspaceError};
use crate::fsutil::write_atomic;

/// The pins, by path relative to `Lib/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pins {
    map: BTreeMap<String, String>,
}

impl Pins {
    /// Read the pin file; a missing file means no pins yet.
    pub fn load(path: &Path) -> Result<Pins, WorkspaceError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pins::default()),
            Err(e) => return Err(io_err(path)(e)),
        };
        let mut map = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = || WorkspaceError::BadPin {
                path: path.to_path_buf(),
                line: i + 1,
                text: line.to_owned(),
            };
            let (hash, rel) = line.split_once("  ").ok_or_else(bad)?;
            if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) || rel.is_empty() {
                return Err(bad());
            }
            map.insert(rel.to_owned(), hash.to_ascii_lowercase());
        }
        Ok(Pins { map })
    }

    /// Write the pin file atomically, sorted.
    pub fn save(&self, path: &Path) -> Result<(), WorkspaceError> {
        write_atomic(path, self.render().as_bytes()).map_err(io_err(path))
    }

    fn render(&self) -> String {
        self.map
            .iter()
            .map(|(rel, hash)| format!("{hash}  {rel}\n"))
            .collect()
    }

    /// The pinned hash of `rel`.
    pub fn get(&self, rel: &str) -> Option<&str> {
        self.map.get(rel).map(String::as_str)
    }

    /// Pin `rel` to `hash`; returns whether anything changed.
    pub fn set(&mut self, rel: &str, hash: String) -> bool {
        self.map.insert(rel.to_owned(), hash.clone()) != Some(hash)
    }

    /// Every pinned path.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("upstream.sha256");
        assert_eq!(Pins::load(&p).unwrap(), Pins::default());
        let mut pins = Pins::default();
        assert!(pins.set("b.py", "b".repeat(64)));
        assert!(pins.set("a/x.py", "a".repeat(64)));
        assert!(!pins.set("b.py", "b".repeat(64)));
        pins.save(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with(&format!("{}  a/x.py\n", "a".repeat(64))));
        assert_eq!(Pins::load(&p).unwrap(), pins);

        std::fs::write(&p, "deadbeef fnmatch.py\n").unwrap();
        let err = Pins::load(&p).unwrap_err().to_string();
        assert!(err.contains(":1: malformed pin line"), "{err}");
    }
}
