//! A mounted CIRCUITPY drive used as a board: the host writes files directly.
//!
//! Writes follow the same rule as over serial: `<path>.portlib-tmp`, fsync, hash check, rename,
//! fsync of the folder. The hash check reads through the host's page cache, so it proves what
//! the OS will write back, not what reached flash; the fsyncs are what push it to the device.
//! CircuitPython reloads 750 ms after the last write it sees; hold the board in the raw REPL
//! during a deploy to suspend that, and finish with [`DriveBoard::sync`].

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::{BoardError, Result};
use super::fs::{check_remote_path, sha256, temp_name, BoardFs, FileHash, RemoteEntry, RemoteStat};
use super::output::{Banner, Flavor};

/// What CircuitPython's `boot_out.txt` says (written at hard boot; CRLF line ends; at most 512
/// bytes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BootOut {
    /// CircuitPython version (`9.2.1`).
    pub version: String,
    /// Build date as printed.
    pub date: String,
    /// Board name (`Adafruit Metro M4 Express`).
    pub board_name: String,
    /// Microcontroller (`samd51j19`), when the line has `with <mcu>`.
    pub mcu: Option<String>,
    /// `Board ID:` line (`metro_m4_express`).
    pub board_id: Option<String>,
    /// `UID:` line (CircuitPython ≥ 8): the USB serial number, which pairs the drive with its port.
    pub uid: Option<String>,
    /// Text printed by `boot.py`, if the file has that section.
    pub boot_py_output: Option<String>,
}

impl BootOut {
    /// Parse the text of `boot_out.txt`; `None` if the first line is not a CircuitPython banner.
    pub fn parse(text: &str) -> Option<BootOut> {
        let mut lines = text.lines().map(|l| l.trim_end_matches('\r'));
        let banner = Banner::parse_line(lines.next()?)?;
        if banner.flavor != Flavor::CircuitPython {
            return None;
        }
        let (board_name, mcu) = match banner.machine.rsplit_once(" with ") {
            Some((b, m)) => (b.to_string(), Some(m.to_string())),
            None => (banner.machine.clone(), None),
        };
        let mut out = BootOut {
            version: banner.version,
            date: banner.date,
            board_name,
            mcu,
            board_id: None,
            uid: None,
            boot_py_output: None,
        };
        let mut boot_py: Option<Vec<&str>> = None;
        for line in lines {
            if let Some(acc) = boot_py.as_mut() {
                acc.push(line);
            } else if let Some(id) = line.strip_prefix("Board ID:") {
                out.board_id = Some(id.trim().to_string());
            } else if let Some(uid) = line.strip_prefix("UID:") {
                out.uid = Some(uid.trim().to_string());
            } else if line.trim() == "boot.py output:" {
                boot_py = Some(Vec::new());
            }
        }
        out.boot_py_output = boot_py.map(|l| l.join("\n"));
        Some(out)
    }

    /// Read and parse `<root>/boot_out.txt`.
    pub fn read(root: &Path) -> Result<BootOut> {
        let path = root.join("boot_out.txt");
        let bytes = fs::read(&path).map_err(|source| BoardError::Drive {
            path: path.clone(),
            source,
        })?;
        BootOut::parse(&String::from_utf8_lossy(&bytes)).ok_or(BoardError::BootOut {
            path,
            problem: "the first line is not an 'Adafruit CircuitPython <version> on <date>; <board>' banner",
        })
    }
}

/// A mounted board drive.
#[derive(Debug, Clone)]
pub struct DriveBoard {
    root: PathBuf,
    /// Check every write by reading it back and hashing.
    pub verify: bool,
}

impl DriveBoard {
    /// Use the folder `root` (the drive's mount point).
    pub fn open(root: &Path) -> Result<Self> {
        let meta = fs::metadata(root).map_err(|source| BoardError::Drive {
            path: root.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(BoardError::Drive {
                path: root.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a folder"),
            });
        }
        Ok(DriveBoard {
            root: root.to_path_buf(),
            verify: true,
        })
    }

    /// The mount point.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The drive's `boot_out.txt`.
    pub fn boot_out(&self) -> Result<BootOut> {
        BootOut::read(&self.root)
    }

    /// The host path of a board path.
    pub fn local(&self, path: &str) -> Result<PathBuf> {
        check_remote_path(path)?;
        Ok(self.root.join(path.trim_start_matches('/')))
    }

    /// Flush everything the OS holds for all drives (`sync`), so a late metadata write does not
    /// trigger another auto-reload later. A no-op where the OS has no such call.
    pub fn sync(&self) {
        #[cfg(unix)]
        nix::unistd::sync();
    }

    fn err(path: &Path) -> impl FnOnce(std::io::Error) -> BoardError + '_ {
        move |source| BoardError::Drive {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// fsync a folder so a rename inside it is durable (not possible, nor needed, on Windows).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

impl BoardFs for DriveBoard {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn stat(&mut self, path: &str) -> Result<Option<RemoteStat>> {
        let local = self.local(path)?;
        match fs::metadata(&local) {
            Ok(m) => Ok(Some(RemoteStat {
                is_dir: m.is_dir(),
                size: if m.is_dir() { 0 } else { m.len() },
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Self::err(&local)(e)),
        }
    }

    fn listdir(&mut self, path: &str) -> Result<Vec<RemoteEntry>> {
        let local = self.local(path)?;
        let mut out = Vec::new();
        for entry in fs::read_dir(&local).map_err(Self::err(&local))? {
            let entry = entry.map_err(Self::err(&local))?;
            let meta = entry.metadata().map_err(Self::err(&entry.path()))?;
            out.push(RemoteEntry {
                name: entry.file_name().to_string_lossy().into_owned(),
                stat: RemoteStat {
                    is_dir: meta.is_dir(),
                    size: if meta.is_dir() { 0 } else { meta.len() },
                },
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn read_file(&mut self, path: &str) -> Result<Vec<u8>> {
        let local = self.local(path)?;
        fs::read(&local).map_err(Self::err(&local))
    }

    fn write_file_atomic(&mut self, path: &str, data: &[u8]) -> Result<()> {
        let local = self.local(path)?;
        let tmp = self.local(&temp_name(path))?;
        {
            let mut f = File::create(&tmp).map_err(Self::err(&tmp))?;
            f.write_all(data).map_err(Self::err(&tmp))?;
            f.sync_all().map_err(Self::err(&tmp))?;
        }
        if self.verify {
            let back = fs::read(&tmp).map_err(Self::err(&tmp))?;
            let (want, got) = (sha256(data), sha256(&back));
            if want != got {
                return Err(BoardError::VerifyFailed {
                    path: path.to_string(),
                    expected: super::fs::hex(&want),
                    actual: super::fs::hex(&got),
                });
            }
        }
        fs::rename(&tmp, &local).map_err(Self::err(&local))?;
        if let Some(dir) = local.parent() {
            sync_dir(dir).map_err(Self::err(dir))?;
        }
        Ok(())
    }

    fn check_writable(&mut self, dir: &str) -> Result<()> {
        let probe = self.local(&super::fs::probe_name(dir)?)?;
        File::create(&probe)
            .and_then(|f| f.sync_all())
            .and_then(|_| fs::remove_file(&probe))
            .map_err(Self::err(&probe))
    }

    fn remove(&mut self, path: &str) -> Result<()> {
        let local = self.local(path)?;
        fs::remove_file(&local).map_err(Self::err(&local))
    }

    fn rmdir(&mut self, path: &str) -> Result<()> {
        let local = self.local(path)?;
        fs::remove_dir(&local).map_err(Self::err(&local))
    }

    fn mkdir_p(&mut self, path: &str) -> Result<()> {
        let local = self.local(path)?;
        fs::create_dir_all(&local).map_err(Self::err(&local))
    }

    fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        let (a, b) = (self.local(from)?, self.local(to)?);
        fs::rename(&a, &b).map_err(Self::err(&a))
    }

    fn hash_files(&mut self, paths: &[String]) -> Result<BTreeMap<String, Option<FileHash>>> {
        let mut out = BTreeMap::new();
        for p in paths {
            let local = self.local(p)?;
            let hash = match fs::read(&local) {
                Ok(bytes) => Some(sha256(&bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Self::err(&local)(e)),
            };
            out.insert(p.clone(), hash);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRO: &str = "Adafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit Metro M4 Express with samd51j19\r\nBoard ID:metro_m4_express\r\nUID:4E0F2C0A5335374B39202020FF0F1B1D\r\nboot.py output:\r\nremounted rw\r\n";

    #[test]
    fn boot_out_metro() {
        let b = BootOut::parse(METRO).unwrap();
        assert_eq!(b.version, "9.2.1");
        assert_eq!(b.board_name, "Adafruit Metro M4 Express");
        assert_eq!(b.mcu.as_deref(), Some("samd51j19"));
        assert_eq!(b.board_id.as_deref(), Some("metro_m4_express"));
        assert_eq!(b.uid.as_deref(), Some("4E0F2C0A5335374B39202020FF0F1B1D"));
        assert_eq!(b.boot_py_output.as_deref(), Some("remounted rw"));
    }

    #[test]
    fn boot_out_old_and_bad() {
        // CircuitPython 7 has no UID line.
        let b = BootOut::parse("Adafruit CircuitPython 7.3.3 on 2022-08-29; Adafruit Grand Central M4 Express with samd51p20\r\nBoard ID:grandcentral_m4_express\r\n").unwrap();
        assert_eq!(b.uid, None);
        assert_eq!(b.board_id.as_deref(), Some("grandcentral_m4_express"));
        assert_eq!(b.boot_py_output, None);
        assert!(BootOut::parse("hello\r\n").is_none());
        assert!(BootOut::parse("MicroPython v1.26.1 on 2025-09-11; x\r\n").is_none());
    }

    #[test]
    fn drive_board_file_ops() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("boot_out.txt"), METRO).unwrap();
        let mut d = DriveBoard::open(dir.path()).unwrap();
        assert_eq!(
            d.boot_out().unwrap().board_id.as_deref(),
            Some("metro_m4_express")
        );
        d.mkdir_p("/lib/json").unwrap();
        d.write_file_atomic("/lib/json/a.mpy", b"one").unwrap();
        d.write_file_atomic("/lib/json/a.mpy", b"two").unwrap();
        assert_eq!(d.read_file("/lib/json/a.mpy").unwrap(), b"two");
        let names: Vec<_> = d
            .listdir("/lib/json")
            .unwrap()
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["a.mpy"], "temporary file left behind");
        assert_eq!(
            d.stat("/lib").unwrap(),
            Some(RemoteStat {
                is_dir: true,
                size: 0
            })
        );
        let h = d
            .hash_files(&["/lib/json/a.mpy".into(), "/nope".into()])
            .unwrap();
        assert_eq!(h["/lib/json/a.mpy"], Some(sha256(b"two")));
        assert_eq!(h["/nope"], None);
        d.rename("/lib/json/a.mpy", "/lib/b.mpy").unwrap();
        d.remove("/lib/b.mpy").unwrap();
        d.rmdir("/lib/json").unwrap();
        assert_eq!(d.stat("/lib/b.mpy").unwrap(), None);
        assert!(matches!(
            d.write_file_atomic("lib\\x", b""),
            Err(BoardError::BadRemotePath { .. })
        ));
        d.check_writable("/lib").unwrap();
        assert_eq!(
            d.listdir("/lib").unwrap().len(),
            0,
            "probe file left behind"
        );
        d.sync();
    }
}
