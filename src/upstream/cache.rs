//! The user cache: where `portlib upstream fetch` leaves the verified release tarball, so that
//! later commands find upstream without being told.
//!
//! Layout: `<cache>/upstream/Python-3.4.9.tar.xz` (or `.tgz`). Only files whose SHA-256 matched a
//! pin are ever renamed into place; everything is first streamed into a temp file beside the
//! destination (same folder, so the rename is atomic) and hashed on the way.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::hash::hex;
use super::UpstreamError;

/// One official CPython 3.4.9 release tarball with its pinned SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfficialTarball {
    /// The name it is published and cached under.
    pub file_name: &'static str,
    /// Where the Python Software Foundation publishes it.
    pub url: &'static str,
    /// Its SHA-256, lowercase hex, as published with the release.
    pub sha256: &'static str,
}

/// The official `.tar.xz` (preferred: smaller download).
pub const OFFICIAL_XZ: OfficialTarball = OfficialTarball {
    file_name: "Python-3.4.9.tar.xz",
    url: "https://www.python.org/ftp/python/3.4.9/Python-3.4.9.tar.xz",
    sha256: "59629676ba2b01a798f5211d8f63c26ee52f1d5133cf37583e0bf1bad50c2bd9",
};

/// The official `.tgz`.
pub const OFFICIAL_TGZ: OfficialTarball = OfficialTarball {
    file_name: "Python-3.4.9.tgz",
    url: "https://www.python.org/ftp/python/3.4.9/Python-3.4.9.tgz",
    sha256: "e02e565372750a6678efe35ddecbe5ccd5330a8a2e8bbe38d3060713492e3dab",
};

/// Both official tarballs, in order of preference.
pub const OFFICIAL_TARBALLS: [OfficialTarball; 2] = [OFFICIAL_XZ, OFFICIAL_TGZ];

impl OfficialTarball {
    /// The pin a file name or URL is expected to match, judged by how its name ends (query and
    /// fragment ignored): `.tgz`/`.tar.gz` the gzip one, anything else the xz one.
    pub fn for_name(name: &str) -> &'static OfficialTarball {
        let name = name.split(['?', '#']).next().unwrap_or(name);
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tgz") || lower.ends_with(".tar.gz") {
            &OFFICIAL_TARBALLS[1]
        } else {
            &OFFICIAL_TARBALLS[0]
        }
    }
}

/// The user cache folder: `$PORTLIB_CACHE` if set, else the platform cache folder + `portlib`
/// (`$XDG_CACHE_HOME` or `~/.cache` on Linux and other Unixes, `~/Library/Caches` on macOS,
/// `%LOCALAPPDATA%` on Windows). The folder may not exist yet.
pub fn cache_dir() -> Result<PathBuf, UpstreamError> {
    cache_dir_from(&|name| std::env::var_os(name))
}

fn cache_dir_from(var: &dyn Fn(&str) -> Option<OsString>) -> Result<PathBuf, UpstreamError> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("PORTLIB_CACHE") {
        return Ok(dir);
    }
    platform_cache(&set)
        .map(|dir| dir.join("portlib"))
        .ok_or(UpstreamError::NoCacheDir)
}

#[cfg(windows)]
fn platform_cache(set: &dyn Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    set("LOCALAPPDATA")
}

#[cfg(target_os = "macos")]
fn platform_cache(set: &dyn Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    set("HOME").map(|home| home.join("Library").join("Caches"))
}

#[cfg(all(unix, not(target_os = "macos")))]
fn platform_cache(set: &dyn Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    // The XDG spec says a relative XDG_CACHE_HOME is invalid and must be ignored.
    set("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| set("HOME").map(|home| home.join(".cache")))
}

#[cfg(not(any(unix, windows)))]
fn platform_cache(_set: &dyn Fn(&str) -> Option<PathBuf>) -> Option<PathBuf> {
    None
}

/// The folder inside the cache that holds the tarball.
pub(super) fn upstream_dir(cache: &Path) -> PathBuf {
    cache.join("upstream")
}

/// The installed tarball in `cache` (the folder [`cache_dir`] returns), `.tar.xz` preferred.
pub fn cached_tarball(cache: &Path) -> Option<PathBuf> {
    let dir = upstream_dir(cache);
    OFFICIAL_TARBALLS
        .iter()
        .map(|t| dir.join(t.file_name))
        .find(|p| p.is_file())
}

/// Verify a local tarball against the pinned official hashes and install it in `cache` (the
/// folder [`cache_dir`] returns) as `upstream/Python-3.4.9.tar.xz` or `.tgz`, whichever it is.
/// Returns the installed path. A file matching neither pin is refused and nothing is written.
pub fn install_tarball(path: &Path, cache: &Path) -> Result<PathBuf, UpstreamError> {
    install_pinned(path, cache, &OFFICIAL_TARBALLS)
}

/// `install_tarball` against the given pins (tests use pins for tarballs they build).
fn install_pinned(
    path: &Path,
    cache: &Path,
    pins: &[OfficialTarball],
) -> Result<PathBuf, UpstreamError> {
    let mut file = File::open(path).map_err(|e| UpstreamError::io(path, e))?;
    let dir = upstream_dir(cache);
    let staged = stage(&dir, &mut file, &mut |_| {}).map_err(|e| match e {
        StageError::Read(e) => UpstreamError::io(path, e),
        StageError::Write(p, e) => UpstreamError::io(p, e),
    })?;
    let Some(pin) = pins.iter().find(|t| t.sha256 == staged.sha256) else {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        return Err(UpstreamError::HashMismatch {
            path: path.to_path_buf(),
            expected: OfficialTarball::for_name(&name).sha256.to_owned(),
            actual: staged.sha256,
        });
    };
    let dest = dir.join(pin.file_name);
    staged.commit(&dest)?;
    log::info!("installed {} as {}", path.display(), dest.display());
    Ok(dest)
}

/// A fully written, synced temp file and what was learnt while writing it. Dropping it removes
/// the temp file.
pub(super) struct Staged {
    file: tempfile::NamedTempFile,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Bytes written.
    pub len: u64,
}

impl Staged {
    /// Rename into place (atomic: same folder).
    pub fn commit(self, dest: &Path) -> Result<(), UpstreamError> {
        self.file
            .persist(dest)
            .map_err(|e| UpstreamError::io(dest, e.error))?;
        Ok(())
    }
}

/// Which side of a copy failed.
pub(super) enum StageError {
    Read(io::Error),
    Write(PathBuf, io::Error),
}

/// Name prefix of the temp files `stage` writes.
const PARTIAL_PREFIX: &str = ".portlib-partial-";

/// Age after which a temp file is surely abandoned rather than another process's live download.
const STALE_AFTER: Duration = Duration::from_secs(6 * 60 * 60);

/// Remove temp files left by a killed run (Ctrl-C ends the process before the temp file's
/// destructor can delete it). Best effort: failing to tidy up must not fail the install.
fn sweep_stale_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(PARTIAL_PREFIX)
        {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_some_and(|age| age > STALE_AFTER) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => log::info!("removed stale {}", entry.path().display()),
                Err(e) => log::warn!("cannot remove stale {}: {e}", entry.path().display()),
            }
        }
    }
}

/// Stream `reader` into a new temp file in `dir` (created if needed), hashing on the way and
/// reporting the running byte count. `fsutil::write_atomic` is not used because it needs the
/// whole content in memory and would rename before we know the hash.
pub(super) fn stage(
    dir: &Path,
    reader: &mut dyn Read,
    on_progress: &mut dyn FnMut(u64),
) -> Result<Staged, StageError> {
    std::fs::create_dir_all(dir).map_err(|e| StageError::Write(dir.to_path_buf(), e))?;
    sweep_stale_partials(dir);
    let mut file = tempfile::Builder::new()
        .prefix(PARTIAL_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| StageError::Write(dir.to_path_buf(), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut len = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StageError::Read(e)),
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n])
            .map_err(|e| StageError::Write(file.path().to_path_buf(), e))?;
        len += n as u64;
        on_progress(len);
    }
    file.as_file()
        .sync_all()
        .map_err(|e| StageError::Write(file.path().to_path_buf(), e))?;
    Ok(Staged {
        file,
        sha256: hex(&hasher.finalize()),
        len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn portlib_cache_wins() {
        let dir = cache_dir_from(&env(&[("PORTLIB_CACHE", "/c"), ("HOME", "/h")])).unwrap();
        assert_eq!(dir, PathBuf::from("/c"));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let got = cache_dir_from(&env(&[
            ("PORTLIB_CACHE", ""),
            ("HOME", ""),
            ("XDG_CACHE_HOME", ""),
            ("LOCALAPPDATA", ""),
        ]));
        assert!(matches!(got, Err(UpstreamError::NoCacheDir)), "{got:?}");
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn xdg_layout() {
        let home = cache_dir_from(&env(&[("HOME", "/h")])).unwrap();
        assert_eq!(home, PathBuf::from("/h/.cache/portlib"));
        let xdg = cache_dir_from(&env(&[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")])).unwrap();
        assert_eq!(xdg, PathBuf::from("/x/portlib"));
        let relative = cache_dir_from(&env(&[("HOME", "/h"), ("XDG_CACHE_HOME", "x")])).unwrap();
        assert_eq!(relative, PathBuf::from("/h/.cache/portlib"));
    }

    #[test]
    fn pins_by_name() {
        for (name, pinned) in [
            ("Python-3.4.9.TGZ", "Python-3.4.9.tgz"),
            ("x.tar.gz", "Python-3.4.9.tgz"),
            ("x.tar.xz", "Python-3.4.9.tar.xz"),
            ("download", "Python-3.4.9.tar.xz"),
            ("https://h/p/Python-3.4.9.tgz?x=1#y", "Python-3.4.9.tgz"),
            (
                "https://h/p/a.tgz/Python-3.4.9.tar.xz",
                "Python-3.4.9.tar.xz",
            ),
        ] {
            assert_eq!(OfficialTarball::for_name(name).file_name, pinned, "{name}");
        }
    }

    #[test]
    fn install_matching_file_replaces_atomically() {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("downloaded.tgz");
        std::fs::write(&src, b"release bytes").unwrap();
        let cache = tmp.path().join("cache");
        let pins = [
            OFFICIAL_XZ,
            OfficialTarball {
                sha256: Box::leak(super::super::sha256_hex(b"release bytes").into_boxed_str()),
                ..OFFICIAL_TGZ
            },
        ];
        std::fs::create_dir_all(cache.join("upstream")).unwrap();
        std::fs::write(cache.join("upstream/Python-3.4.9.tgz"), b"old").unwrap();
        let dest = install_pinned(&src, &cache, &pins).unwrap();
        assert_eq!(dest, cache.join("upstream/Python-3.4.9.tgz"));
        assert_eq!(std::fs::read(&dest).unwrap(), b"release bytes");
        assert_eq!(cached_tarball(&cache), Some(dest));
        let names: Vec<_> = std::fs::read_dir(cache.join("upstream")).unwrap().collect();
        assert_eq!(names.len(), 1, "temp file left behind");
    }

    #[test]
    fn cached_tarball_prefers_xz() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(cached_tarball(tmp.path()), None);
        let dir = tmp.path().join("upstream");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("Python-3.4.9.tgz"), b"").unwrap();
        assert_eq!(
            cached_tarball(tmp.path()),
            Some(dir.join("Python-3.4.9.tgz"))
        );
        std::fs::write(dir.join("Python-3.4.9.tar.xz"), b"").unwrap();
        assert_eq!(
            cached_tarball(tmp.path()),
            Some(dir.join("Python-3.4.9.tar.xz"))
        );
    }

    #[test]
    fn stage_sweeps_only_stale_partials() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join(".portlib-partial-old");
        let fresh = dir.path().join(".portlib-partial-fresh");
        let other = dir.path().join("keep-me");
        for p in [&old, &fresh, &other] {
            std::fs::write(p, b"x").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - STALE_AFTER * 2;
        for p in [&old, &other] {
            File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_modified(long_ago)
                .unwrap();
        }
        let staged = stage(dir.path(), &mut &b""[..], &mut |_| {})
            .unwrap_or_else(|_| panic!("stage failed"));
        drop(staged);
        assert!(!old.exists(), "stale partial kept");
        assert!(fresh.exists() && other.exists(), "removed too much");
    }

    #[test]
    fn stage_hashes_and_drops_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("upstream");
        let mut seen = Vec::new();
        let staged = stage(&sub, &mut &b"abc"[..], &mut |n| seen.push(n))
            .unwrap_or_else(|_| panic!("stage failed"));
        assert_eq!(staged.sha256, super::super::sha256_hex(b"abc"));
        assert_eq!(staged.len, 3);
        assert_eq!(seen, [3]);
        drop(staged);
        assert_eq!(
            std::fs::read_dir(&sub).unwrap().count(),
            0,
            "temp file left"
        );
    }
}
