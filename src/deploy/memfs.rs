//! An in-memory [`BoardFs`] for tests, which can fail at its Nth operation the way a board does
//! when the link drops: a write in progress leaves a truncated temporary file behind.

use std::collections::{BTreeMap, BTreeSet};

use crate::board::fs::{path_prefixes, sha256, temp_name, FileHash};
use crate::board::{BoardError, BoardFs, RemoteEntry, RemoteStat};

#[derive(Debug, Default, Clone)]
pub struct MemFs {
    pub files: BTreeMap<String, Vec<u8>>,
    pub dirs: BTreeSet<String>,
    /// Operations done so far (each trait call, and each step of a write, counts one).
    pub ops: usize,
    /// Fail (with `Disconnected`) when `ops` reaches this.
    pub fail_at: Option<usize>,
    /// Names of the mutating calls, for "nothing was sent" checks.
    pub writes: Vec<String>,
    pub read_only: bool,
    /// Flip a bit in what `read_file` returns (a garbled serial link).
    pub garble_reads: bool,
}

impl MemFs {
    pub fn new() -> Self {
        let mut fs = MemFs::default();
        fs.dirs.insert("/".into());
        fs
    }

    fn step(&mut self) -> Result<(), BoardError> {
        self.ops += 1;
        if Some(self.ops) == self.fail_at {
            return Err(BoardError::Disconnected {
                port: "memfs".into(),
            });
        }
        Ok(())
    }

    fn parent_exists(&self, path: &str) -> bool {
        match path.rsplit_once('/') {
            Some(("", _)) => true,
            Some((d, _)) => self.dirs.contains(d),
            None => false,
        }
    }

    fn not_found(path: &str) -> BoardError {
        BoardError::NotFound {
            path: path.to_string(),
        }
    }

    fn writable(&self, path: &str) -> Result<(), BoardError> {
        if self.read_only {
            return Err(BoardError::ReadOnlyFs {
                path: path.to_string(),
            });
        }
        Ok(())
    }
}

impl BoardFs for MemFs {
    fn describe(&self) -> String {
        "memfs".into()
    }

    fn stat(&mut self, path: &str) -> Result<Option<RemoteStat>, BoardError> {
        self.step()?;
        if self.dirs.contains(path) {
            return Ok(Some(RemoteStat {
                is_dir: true,
                size: 0,
            }));
        }
        Ok(self.files.get(path).map(|d| RemoteStat {
            is_dir: false,
            size: d.len() as u64,
        }))
    }

    fn listdir(&mut self, path: &str) -> Result<Vec<RemoteEntry>, BoardError> {
        self.step()?;
        if !self.dirs.contains(path) {
            return Err(Self::not_found(path));
        }
        let prefix = format!("{}/", path.trim_end_matches('/'));
        let direct = |p: &String| {
            p.strip_prefix(&prefix)
                .filter(|rest| !rest.is_empty() && !rest.contains('/'))
                .map(str::to_string)
        };
        let mut out: Vec<RemoteEntry> = self
            .files
            .iter()
            .filter_map(|(p, d)| {
                direct(p).map(|name| RemoteEntry {
                    name,
                    stat: RemoteStat {
                        is_dir: false,
                        size: d.len() as u64,
                    },
                })
            })
            .chain(self.dirs.iter().filter_map(|p| {
                direct(p).map(|name| RemoteEntry {
                    name,
                    stat: RemoteStat {
                        is_dir: true,
                        size: 0,
                    },
                })
            }))
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read_file(&mut self, path: &str) -> Result<Vec<u8>, BoardError> {
        self.step()?;
        let mut data = self
            .files
            .get(path)
            .cloned()
            .ok_or_else(|| Self::not_found(path))?;
        if self.garble_reads && !data.is_empty() {
            data[0] ^= 1;
        }
        Ok(data)
    }

    fn write_file_atomic(&mut self, path: &str, data: &[u8]) -> Result<(), BoardError> {
        self.write_file_with_progress(path, data, &mut |_, _| {})
    }

    fn write_file_with_progress(
        &mut self,
        path: &str,
        data: &[u8],
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<(), BoardError> {
        self.writable(path)?;
        if !self.parent_exists(path) {
            return Err(Self::not_found(path));
        }
        let tmp = temp_name(path);
        self.writes.push(format!("write {path}"));
        // The upload: a failure here leaves half the content under the temporary name.
        if let Err(e) = self.step() {
            self.files.insert(tmp, data[..data.len() / 2].to_vec());
            return Err(e);
        }
        self.files.insert(tmp.clone(), data.to_vec());
        progress(data.len(), data.len());
        self.step()?; // verification
        self.step()?; // rename
        self.files.remove(&tmp);
        self.files.insert(path.to_string(), data.to_vec());
        Ok(())
    }

    fn check_writable(&mut self, dir: &str) -> Result<(), BoardError> {
        self.step()?;
        self.writable(dir)
    }

    fn remove(&mut self, path: &str) -> Result<(), BoardError> {
        self.step()?;
        self.writable(path)?;
        self.writes.push(format!("remove {path}"));
        self.files
            .remove(path)
            .map(drop)
            .ok_or_else(|| Self::not_found(path))
    }

    fn rmdir(&mut self, path: &str) -> Result<(), BoardError> {
        self.step()?;
        self.writes.push(format!("rmdir {path}"));
        let prefix = format!("{path}/");
        if self
            .files
            .keys()
            .chain(self.dirs.iter())
            .any(|p| p.starts_with(&prefix))
        {
            return Err(BoardError::Remote {
                operation: format!("rmdir {path}"),
                traceback: "OSError: 39".into(),
            });
        }
        if !self.dirs.remove(path) {
            return Err(Self::not_found(path));
        }
        Ok(())
    }

    fn mkdir_p(&mut self, path: &str) -> Result<(), BoardError> {
        self.step()?;
        for p in path_prefixes(path) {
            if !self.dirs.contains(&p) {
                self.writable(&p)?;
                self.writes.push(format!("mkdir {p}"));
                self.dirs.insert(p);
            }
        }
        Ok(())
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<(), BoardError> {
        self.step()?;
        let data = self
            .files
            .remove(from)
            .ok_or_else(|| Self::not_found(from))?;
        self.files.insert(to.to_string(), data);
        Ok(())
    }

    fn hash_files(
        &mut self,
        paths: &[String],
    ) -> Result<BTreeMap<String, Option<FileHash>>, BoardError> {
        self.step()?;
        Ok(paths
            .iter()
            .map(|p| (p.clone(), self.files.get(p).map(|d| sha256(d))))
            .collect())
    }
}
