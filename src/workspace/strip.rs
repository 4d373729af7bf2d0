//! `strip`: the effective sources of every ported file plus `lib-src/`, the compiler's input.

use std::path::Path;

use serde::Serialize;

use super::{io_err, pinned_upstream, Pins, Repo, WorkspaceError};
use crate::convention;
use crate::fsutil::{replace_dir, staging_dir_beside};

/// What `strip` wrote.
#[derive(Debug, Default, Serialize)]
pub struct StripReport {
    /// Effective sources of ported upstream files.
    pub ported: Vec<String>,
    /// Modules copied from `lib-src/`.
    pub lib_src: Vec<String>,
}

/// The effective sources, by path relative to `Lib/`, in memory.
pub fn effective_sources(
    repo: &Repo,
    upstream: &crate::upstream::Upstream,
) -> Result<Vec<(String, Vec<u8>)>, WorkspaceError> {
    let pins = Pins::load(&repo.pins_path())?;
    let lib_src = repo.lib_src()?;
    let mut out = Vec::new();
    for rel in repo.ported()? {
        if lib_src.contains(&rel) {
            return Err(WorkspaceError::LibSrcConflict { rel });
        }
        let up = pinned_upstream(upstream, &pins, &rel)?;
        let patch_path = repo.patch_path(&rel);
        let patch = std::fs::read(&patch_path).map_err(io_err(&patch_path))?;
        out.push((rel, convention::apply_patch(&patch_path, up, &patch)?));
    }
    for rel in lib_src {
        let path = repo.lib_src_dir().join(&rel);
        out.push((rel, std::fs::read(&path).map_err(io_err(&path))?));
    }
    out.sort();
    Ok(out)
}

/// `out` is replaced whole, so a mistyped `--out` must not cost the repository or anyone's
/// files: an existing folder is replaced only if it holds nothing but `.py` files or files
/// strip writes (and the `__pycache__` folders a Python run leaves) and is none of the
/// repository's own folders.
fn check_out_dir(
    repo: &Repo,
    out: &Path,
    sources: &[(String, Vec<u8>)],
) -> Result<(), WorkspaceError> {
    let refuse = |why: String| WorkspaceError::NotStripOutput {
        dir: out.to_path_buf(),
        why,
    };
    let Ok(out_real) = out.canonicalize() else {
        // Nothing there yet (or unreadable: the write reports that).
        return Ok(());
    };
    let root = repo.root().canonicalize().map_err(io_err(repo.root()))?;
    if root.starts_with(&out_real) {
        return Err(refuse("it holds the repository".into()));
    }
    for (dir, name) in [
        (repo.patches_dir(), "patches/"),
        (repo.lib_src_dir(), "lib-src/"),
        (repo.work_dir(), "work/"),
    ] {
        if dir.canonicalize().is_ok_and(|d| out_real.starts_with(d)) {
            return Err(refuse(format!("it is in the repository's {name}")));
        }
    }
    for entry in walkdir::WalkDir::new(&out_real).min_depth(1) {
        let entry = entry.map_err(|e| WorkspaceError::Io {
            path: e.path().unwrap_or(out).to_path_buf(),
            source: e.into(),
        })?;
        let rel = entry.path().strip_prefix(&out_real).unwrap_or(entry.path());
        let in_pycache = rel.components().any(|c| c.as_os_str() == "__pycache__");
        let written = || {
            let slashed = rel.to_string_lossy().replace('\\', "/");
            sources.iter().any(|(r, _)| *r == slashed)
        };
        let ok = entry.file_type().is_dir()
            || in_pycache
            || (entry.file_type().is_file()
                && (rel.extension().is_some_and(|e| e == "py") || written()));
        if !ok {
            return Err(refuse(format!("it has {}", rel.display())));
        }
    }
    Ok(())
}

/// Write the effective sources into `out`, replacing it whole: the tree is built beside it and
/// renamed into place, so an interrupted run never leaves a partial tree under that name.
pub fn strip(
    repo: &Repo,
    upstream: &crate::upstream::Upstream,
    out: &Path,
) -> Result<StripReport, WorkspaceError> {
    let sources = effective_sources(repo, upstream)?;
    check_out_dir(repo, out, &sources)?;
    let lib_src = repo.lib_src()?;
    let staging = staging_dir_beside(out, "portlib-strip").map_err(io_err(out))?;
    let mut report = StripReport::default();
    for (rel, bytes) in &sources {
        let path = staging.path().join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        std::fs::write(&path, bytes).map_err(io_err(&path))?;
        if lib_src.contains(rel) {
            report.lib_src.push(rel.clone());
        } else {
            report.ported.push(rel.clone());
        }
    }
    replace_dir(&staging.keep(), out).map_err(io_err(out))?;
    Ok(report)
}
