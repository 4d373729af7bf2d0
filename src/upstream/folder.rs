//! Reading `Lib/` from an extracted source tree or a git checkout.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::UpstreamError;

/// The `Lib/` folder of `dir`: `dir` itself when it is named `Lib`, else `dir/Lib`.
fn lib_folder(dir: &Path) -> Result<PathBuf, UpstreamError> {
    let inner = dir.join("Lib");
    if inner.is_dir() {
        return Ok(inner);
    }
    if dir.file_name().is_some_and(|n| n == "Lib") {
        return Ok(dir.to_path_buf());
    }
    Err(UpstreamError::NotCpython {
        path: dir.to_path_buf(),
    })
}

/// Every regular file under the `Lib/` of `dir`, keyed by its `/`-separated path below `Lib/`.
///
/// Symbolic links are not followed (a release tree has none, and following them could leave the
/// tree). `__pycache__` folders are skipped: a built checkout has thousands of compiled files
/// there that are no part of the source.
pub(super) fn read(dir: &Path) -> Result<BTreeMap<String, Vec<u8>>, UpstreamError> {
    let lib = lib_folder(dir)?;
    let mut files = BTreeMap::new();
    let walker = walkdir::WalkDir::new(&lib)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| !(e.file_type().is_dir() && e.file_name() == "__pycache__"));
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(&lib).to_path_buf();
            UpstreamError::io(path, e.into())
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(&lib) else {
            continue;
        };
        let Some(key) = slash_path(rel) else {
            log::warn!("skipping {}: name is not UTF-8", entry.path().display());
            continue;
        };
        let bytes = std::fs::read(entry.path()).map_err(|e| UpstreamError::io(entry.path(), e))?;
        files.insert(key, bytes);
    }
    Ok(files)
}

/// `a/b/c.py` from a relative path, whatever the platform separator; `None` if not UTF-8.
fn slash_path(rel: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}
