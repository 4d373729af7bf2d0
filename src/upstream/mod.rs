//! Locating, reading, fetching and verifying CPython 3.4.9's `Lib/`.
//!
//! The port is a set of patches against pristine upstream, so every command that renders or
//! checks a patch needs the exact upstream bytes. Those bytes are never copied into the
//! repository (licence and size); instead the user points portlib at a source they have
//! (`--cpython PATH`: a folder, `.tar.xz` or `.tgz`) or lets `portlib upstream fetch` download the
//! official release into the user cache, pinned by SHA-256.
//!
//! [`Upstream`] holds the whole `Lib/` in memory (about 30 MB): every consumer reads many files,
//! often all of them, and reading a tarball is one sequential pass anyway.

mod archive;
mod cache;
mod error;
mod fetch;
mod folder;
mod hash;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use cache::{
    cache_dir, cached_tarball, install_tarball, OfficialTarball, OFFICIAL_TARBALLS, OFFICIAL_TGZ,
    OFFICIAL_XZ,
};
pub use error::{ArchiveProblem, DownloadFailure, UpstreamError};
pub use fetch::{fetch, FetchOptions};
pub use hash::{sha256_file, sha256_hex};

/// An opened CPython 3.4.9 source: the regular files of its `Lib/`, held in memory.
#[derive(Debug, Clone)]
pub struct Upstream {
    origin: PathBuf,
    /// Keyed by `/`-separated path below `Lib/`; sorted, so `paths` needs no sorting.
    files: BTreeMap<String, Vec<u8>>,
}

impl Upstream {
    /// Open a CPython source: a folder (the source tree root containing `Lib/`, or `Lib/`
    /// itself), a `.tar.xz`, or a `.tgz`/`.tar.gz` (the official `Python-3.4.9/` top folder or
    /// any single top folder such as `cpython-3.4.9/`). Reads every regular file under `Lib/`
    /// into memory, except compiled files in `__pycache__` folders.
    pub fn open(path: &Path) -> Result<Upstream, UpstreamError> {
        let meta = std::fs::metadata(path).map_err(|e| UpstreamError::io(path, e))?;
        let files = if meta.is_dir() {
            folder::read(path)?
        } else {
            archive::read(path)?
        };
        if files.is_empty() {
            return Err(UpstreamError::NotCpython {
                path: path.to_path_buf(),
            });
        }
        log::debug!("read {} files from {}", files.len(), path.display());
        Ok(Upstream {
            origin: path.to_path_buf(),
            files,
        })
    }

    /// Open `explicit` (from `--cpython` / `PORTLIB_CPYTHON`, merged by the CLI) if given, else
    /// the tarball in the user cache filled by [`fetch`] / [`install_tarball`]. Missing
    /// everywhere gives [`UpstreamError::NotFound`], whose message names both ways out.
    pub fn locate(explicit: Option<&Path>) -> Result<Upstream, UpstreamError> {
        match explicit {
            Some(path) => Upstream::open(path),
            None => Upstream::open(&find_cached(&cache_dir()?)?),
        }
    }

    /// Bytes of a file relative to `Lib/` (`"fnmatch.py"`, `"unittest/case.py"`), if present.
    pub fn file(&self, rel: &str) -> Option<&[u8]> {
        self.files.get(rel).map(Vec::as_slice)
    }

    /// All file paths relative to `Lib/`, sorted, `/`-separated.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Where it was opened from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }
}

/// The cached tarball, or `NotFound` naming the cache that was searched.
fn find_cached(cache: &Path) -> Result<PathBuf, UpstreamError> {
    cached_tarball(cache).ok_or_else(|| UpstreamError::NotFound {
        cache: cache.to_path_buf(),
    })
}
