//! Repository-level operations over `patches/`, `lib-src/` and the `work/` checkout.
//!
//! The repository never holds upstream files. What it holds per ported upstream file is
//! `patches/<rel>.diff` (the canonical unified diff to the effective source) and one line in
//! `patches/upstream.sha256` pinning the SHA-256 of the upstream file the patch was made against,
//! so a patch is never silently applied to a different CPython. `work/` is a git-ignored
//! scratch tree holding the convention-form rendering for editing; `lib-src/` holds modules
//! written from scratch.
//!
//! Every operation takes the [`Repo`] and an opened [`Upstream`], and returns a report that the
//! CLI prints; nothing here prints.

mod check;
mod files;
mod pins;
mod status_page;
mod strip;

pub use check::{check, CheckProblem, CheckReport};
pub use files::{
    checkout, port, refresh, status, CheckoutReport, FileStatus, PortReport, RefreshReport,
    WorkState,
};
pub use pins::Pins;
pub use status_page::{write_status_page, StatusPage, StatusPageError, TestReport};
pub use strip::{effective_sources, strip, StripReport};

use std::path::{Path, PathBuf};

use crate::convention::PatchError;
use crate::upstream::{sha256_hex, Upstream, UpstreamError};

/// Errors from repository-level operations. Problems *inside* user files are not errors but
/// diagnostics in the reports; these are the conditions that stop an operation.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    /// No enclosing folder has `patches/`.
    #[error("no portlib repository found at or above {start}: expected a folder with `patches/` (run inside the repository or pass --root DIR)")]
    NoRepo {
        /// Where the search started.
        start: PathBuf,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file in the repository whose name is not UTF-8 (module paths are text).
    #[error("{}: the file name is not UTF-8; rename it (module and file names must be text, usually ASCII)", path.display())]
    NonUtf8Name {
        /// The file.
        path: PathBuf,
    },
    /// `strip --out` names a folder that is not an earlier strip output.
    #[error("{} exists and is not an earlier `portlib strip` output ({why}); refusing to replace it: choose another --out or remove it", dir.display())]
    NotStripOutput {
        /// The folder.
        dir: PathBuf,
        /// What gives it away.
        why: String,
    },
    /// A module name matches nothing.
    #[error("unknown module `{name}`{}", suggest(suggestions))]
    UnknownModule {
        /// The name as given.
        name: String,
        /// Close names that do exist.
        suggestions: Vec<String>,
    },
    /// `port` of something already ported.
    #[error("Lib/{rel} is already ported (patches/{rel}.diff exists); edit it with `portlib checkout` and `portlib refresh`")]
    AlreadyPorted {
        /// Path relative to `Lib/`.
        rel: String,
    },
    /// A module exists both as a patch and in `lib-src/`.
    #[error("{rel} is both ported (patches/{rel}.diff) and written from scratch (lib-src/{rel}); keep one of them")]
    LibSrcConflict {
        /// Path relative to `Lib/`.
        rel: String,
    },
    /// The upstream tree lacks a file that a patch needs.
    #[error("upstream file Lib/{rel} is missing from {origin}; point --cpython at a pristine CPython 3.4.9 source")]
    MissingUpstream {
        /// Path relative to `Lib/`.
        rel: String,
        /// Where the upstream was opened from.
        origin: PathBuf,
    },
    /// The upstream file differs from the one the patch was made against.
    #[error("upstream file Lib/{rel} in {origin} does not match its pinned SHA-256 (pinned {pinned}, found {actual}); the port is made against pristine CPython 3.4.9: point --cpython at the official release")]
    PinMismatch {
        /// Path relative to `Lib/`.
        rel: String,
        /// Where the upstream was opened from.
        origin: PathBuf,
        /// Hash recorded in `patches/upstream.sha256`.
        pinned: String,
        /// Hash of the file found.
        actual: String,
    },
    /// `patches/upstream.sha256` is malformed.
    #[error("{path}:{line}: malformed pin line (expected `<64 hex digits>  <path>`): {text}")]
    BadPin {
        /// The pin file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The line's text.
        text: String,
    },
    /// `work/<rel>` has edits that were not refreshed and would be overwritten.
    #[error("work/{rel} has edits not yet refreshed into patches/{rel}.diff; run `portlib refresh` first, or `portlib checkout --force` to discard them")]
    WorkModified {
        /// Path relative to `Lib/`.
        rel: String,
    },
    /// A patch could not be applied or parsed.
    #[error(transparent)]
    Patch(#[from] PatchError),
    /// The upstream source could not be used.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

fn suggest(suggestions: &[String]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", suggestions.join(", "))
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> WorkspaceError + '_ {
    move |source| WorkspaceError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A portlib repository: the folder holding `patches/`, `lib-src/` and (once checked out) `work/`.
#[derive(Debug, Clone)]
pub struct Repo {
    root: PathBuf,
}

impl Repo {
    /// The repository rooted exactly at `root` (which must contain `patches/`).
    pub fn at(root: impl Into<PathBuf>) -> Result<Repo, WorkspaceError> {
        let root = root.into();
        if root.join("patches").is_dir() {
            Ok(Repo { root })
        } else {
            Err(WorkspaceError::NoRepo { start: root })
        }
    }

    /// The nearest folder at or above `start` that has `patches/`.
    pub fn discover(start: &Path) -> Result<Repo, WorkspaceError> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            if d.join("patches").is_dir() {
                return Ok(Repo {
                    root: d.to_path_buf(),
                });
            }
            dir = d.parent();
        }
        Err(WorkspaceError::NoRepo {
            start: start.to_path_buf(),
        })
    }

    /// The repository root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `patches/`.
    pub fn patches_dir(&self) -> PathBuf {
        self.root.join("patches")
    }

    /// `lib-src/`.
    pub fn lib_src_dir(&self) -> PathBuf {
        self.root.join("lib-src")
    }

    /// `work/`.
    pub fn work_dir(&self) -> PathBuf {
        self.root.join("work")
    }

    /// `patches/<rel>.diff`.
    pub fn patch_path(&self, rel: &str) -> PathBuf {
        self.patches_dir().join(format!("{rel}.diff"))
    }

    /// `work/<rel>`.
    pub fn work_path(&self, rel: &str) -> PathBuf {
        self.work_dir().join(rel)
    }

    /// `patches/upstream.sha256`.
    pub fn pins_path(&self) -> PathBuf {
        self.patches_dir().join("upstream.sha256")
    }

    /// Paths (relative to `Lib/`) of every ported upstream file, sorted.
    pub fn ported(&self) -> Result<Vec<String>, WorkspaceError> {
        let mut out: Vec<String> = files::list_files(&self.patches_dir())?
            .into_iter()
            .filter_map(|p| p.strip_suffix(".diff").map(str::to_owned))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Paths of every file under `lib-src/`, sorted.
    pub fn lib_src(&self) -> Result<Vec<String>, WorkspaceError> {
        let dir = self.lib_src_dir();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        files::list_files(&dir)
    }

    /// Paths of every file under `work/`, sorted.
    pub fn work_files(&self) -> Result<Vec<String>, WorkspaceError> {
        let dir = self.work_dir();
        if !dir.is_dir() {
            return Ok(Vec::new());
        }
        files::list_files(&dir)
    }
}

/// The upstream bytes of `rel`, checked against its pin when there is one.
pub(crate) fn pinned_upstream<'u>(
    upstream: &'u Upstream,
    pins: &Pins,
    rel: &str,
) -> Result<&'u [u8], WorkspaceError> {
    let bytes = upstream
        .file(rel)
        .ok_or_else(|| WorkspaceError::MissingUpstream {
            rel: rel.to_owned(),
            origin: upstream.origin().to_path_buf(),
        })?;
    if let Some(pinned) = pins.get(rel) {
        let actual = sha256_hex(bytes);
        if actual != pinned {
            return Err(WorkspaceError::PinMismatch {
                rel: rel.to_owned(),
                origin: upstream.origin().to_path_buf(),
                pinned: pinned.to_owned(),
                actual,
            });
        }
    }
    Ok(bytes)
}

/// Resolve module names to paths relative to `Lib/` among `universe` (sorted).
///
/// Accepted forms: a path (`unittest/case.py`), a dotted module (`unittest.case`), or a package
/// (`unittest`, meaning every file of `universe` below `unittest/`).
pub fn resolve_modules(
    names: &[String],
    universe: &[String],
) -> Result<Vec<String>, WorkspaceError> {
    let mut out = Vec::new();
    for name in names {
        let found = resolve_one(name, universe);
        if found.is_empty() {
            return Err(WorkspaceError::UnknownModule {
                name: name.clone(),
                suggestions: suggestions(name, universe),
            });
        }
        out.extend(found);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn resolve_one(name: &str, universe: &[String]) -> Vec<String> {
    let trimmed = name.trim_end_matches('/');
    if trimmed.ends_with(".py") || trimmed.contains('/') {
        return universe.iter().filter(|u| *u == trimmed).cloned().collect();
    }
    let base = trimmed.replace('.', "/");
    let module = format!("{base}.py");
    let package = format!("{base}/");
    universe
        .iter()
        .filter(|u| **u == module || u.starts_with(&package))
        .cloned()
        .collect()
}

/// Module-style names from `universe` closest to `name` (edit distance), at most three.
fn suggestions(name: &str, universe: &[String]) -> Vec<String> {
    let mut names: Vec<String> = universe
        .iter()
        .map(|u| {
            let u = u.strip_suffix("/__init__.py").unwrap_or(u);
            u.strip_suffix(".py").unwrap_or(u).replace('/', ".")
        })
        .collect();
    names.sort();
    names.dedup();
    let limit = (name.len() / 3).max(2);
    let mut scored: Vec<(usize, String)> = names
        .into_iter()
        .map(|n| (levenshtein(name, &n), n))
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, n)| n).collect()
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uni() -> Vec<String> {
        [
            "fnmatch.py",
            "unittest/__init__.py",
            "unittest/case.py",
            "os.py",
            "glob.py",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn resolves_modules_packages_and_paths() {
        let u = uni();
        let r = |n: &str| resolve_modules(&[n.to_string()], &u).unwrap();
        assert_eq!(r("fnmatch"), ["fnmatch.py"]);
        assert_eq!(r("unittest"), ["unittest/__init__.py", "unittest/case.py"]);
        assert_eq!(r("unittest.case"), ["unittest/case.py"]);
        assert_eq!(r("unittest/case.py"), ["unittest/case.py"]);
    }

    #[test]
    fn unknown_module_suggests_close_names() {
        let err = resolve_modules(&["fnmatc".to_string()], &uni()).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown module `fnmatc`"), "{msg}");
        assert!(msg.contains("did you mean fnmatch?"), "{msg}");
    }

    #[test]
    fn levenshtein_basics() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }
}
