//! checkout, refresh, port and status: moving files between `patches/` and `work/`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{io_err, pinned_upstream, resolve_modules, Pins, Repo, WorkspaceError};
use crate::convention::{self, PatchStats};
use crate::diag::Diagnostic;
use crate::fsutil::write_atomic;
use crate::upstream::{sha256_hex, Upstream};

/// Every file below `dir`, as `/`-separated paths relative to it, sorted. Hidden files and
/// editor droppings (`.*`, `*~`, `__pycache__`) are skipped.
pub(crate) fn list_files(dir: &Path) -> Result<Vec<String>, WorkspaceError> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            WorkspaceError::Io {
                path,
                source: e.into(),
            }
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walkdir stays below its root");
        let skip = rel.components().any(|c| {
            let s = c.as_os_str().to_string_lossy();
            s.starts_with('.') || s.ends_with('~') || s == "__pycache__"
        });
        if !skip {
            // A lossy name would point at no file and fail later as "No such file".
            let parts: Option<Vec<&str>> =
                rel.components().map(|c| c.as_os_str().to_str()).collect();
            let parts = parts.ok_or_else(|| WorkspaceError::NonUtf8Name {
                path: entry.path().to_path_buf(),
            })?;
            out.push(parts.join("/"));
        }
    }
    out.sort();
    Ok(out)
}

fn read(path: &Path) -> Result<Vec<u8>, WorkspaceError> {
    std::fs::read(path).map_err(io_err(path))
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, WorkspaceError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(path)(e)),
    }
}

/// The ported files named by `modules`, or all of them.
fn select_ported(repo: &Repo, modules: &[String]) -> Result<Vec<String>, WorkspaceError> {
    let ported = repo.ported()?;
    if modules.is_empty() {
        Ok(ported)
    } else {
        resolve_modules(modules, &ported)
    }
}

/// Render the convention form of a ported file from its patch.
fn rendering(
    repo: &Repo,
    upstream: &Upstream,
    pins: &Pins,
    rel: &str,
) -> Result<Vec<u8>, WorkspaceError> {
    let up = pinned_upstream(upstream, pins, rel)?;
    let patch_path = repo.patch_path(rel);
    let patch = read(&patch_path)?;
    Ok(convention::render(&patch_path, up, &patch)?)
}

/// What `checkout` did.
#[derive(Debug, Default, Serialize)]
pub struct CheckoutReport {
    /// Files written into `work/`.
    pub written: Vec<String>,
    /// Files already up to date in `work/`.
    pub unchanged: Vec<String>,
}

/// Render the convention form of ported files into `work/`. A file in `work/` whose content
/// differs from the current patch's rendering holds edits not yet refreshed: it is only
/// overwritten with `force`.
pub fn checkout(
    repo: &Repo,
    upstream: &Upstream,
    modules: &[String],
    force: bool,
) -> Result<CheckoutReport, WorkspaceError> {
    let pins = Pins::load(&repo.pins_path())?;
    let rels = select_ported(repo, modules)?;
    // Render everything first so that a failure leaves work/ untouched.
    let mut plan = Vec::new();
    for rel in rels {
        let text = rendering(repo, upstream, &pins, &rel)?;
        let target = repo.work_path(&rel);
        match read_optional(&target)? {
            Some(existing) if existing == text => plan.push((rel, None)),
            Some(_) if !force => return Err(WorkspaceError::WorkModified { rel }),
            _ => plan.push((rel, Some((target, text)))),
        }
    }
    let mut report = CheckoutReport::default();
    for (rel, write) in plan {
        match write {
            Some((target, text)) => {
                write_atomic(&target, &text).map_err(io_err(&target))?;
                report.written.push(rel);
            }
            None => report.unchanged.push(rel),
        }
    }
    Ok(report)
}

/// What `refresh` did.
#[derive(Debug, Default, Serialize)]
pub struct RefreshReport {
    /// Patches rewritten (or created).
    pub updated: Vec<String>,
    /// Files whose patch was already current.
    pub unchanged: Vec<String>,
    /// Files that failed validation; their patches were left alone.
    pub invalid: Vec<(String, Vec<Diagnostic>)>,
}

impl RefreshReport {
    /// Whether any file was refused.
    pub fn has_problems(&self) -> bool {
        !self.invalid.is_empty()
    }
}

/// Validate the convention-form files in `work/` and rewrite their patches. An invalid file is
/// reported with every violation and its patch is left as it was; the others are written.
pub fn refresh(
    repo: &Repo,
    upstream: &Upstream,
    modules: &[String],
) -> Result<RefreshReport, WorkspaceError> {
    let mut pins = Pins::load(&repo.pins_path())?;
    let work = repo.work_files()?;
    let rels = if modules.is_empty() {
        work
    } else {
        resolve_modules(modules, &work)?
    };
    let lib_src = repo.lib_src()?;
    let mut report = RefreshReport::default();
    let mut pins_changed = false;
    for rel in rels {
        let work_path = repo.work_path(&rel);
        let display = Path::new("work").join(&rel);
        if upstream.file(&rel).is_none() {
            let diag = Diagnostic::new(&display, 1, 1, format!("no upstream file Lib/{rel}"))
                .with_help("work/ only holds upstream files in the #/### convention; modules written from scratch belong in lib-src/");
            report.invalid.push((rel, vec![diag]));
            continue;
        }
        if lib_src.contains(&rel) {
            return Err(WorkspaceError::LibSrcConflict { rel });
        }
        let up = pinned_upstream(upstream, &pins, &rel)?;
        let conv = read(&work_path)?;
        match convention::make_patch(&display, &rel, up, &conv) {
            Ok(patch) => {
                let patch_path = repo.patch_path(&rel);
                if read_optional(&patch_path)?.as_deref() == Some(patch.as_slice()) {
                    report.unchanged.push(rel.clone());
                } else {
                    write_atomic(&patch_path, &patch).map_err(io_err(&patch_path))?;
                    report.updated.push(rel.clone());
                }
                pins_changed |= pins.set(&rel, sha256_hex(up));
            }
            Err(diags) => report.invalid.push((rel, diags)),
        }
    }
    if pins_changed {
        pins.save(&repo.pins_path())?;
    }
    Ok(report)
}

/// What `port` did.
#[derive(Debug, Default, Serialize)]
pub struct PortReport {
    /// Upstream files now ported (empty patch, pin, and a `work/` copy to edit).
    pub started: Vec<String>,
}

/// Start porting upstream modules: pin them, write an empty patch, and put the upstream text in
/// `work/` for editing. A package means all of its files.
pub fn port(
    repo: &Repo,
    upstream: &Upstream,
    modules: &[String],
) -> Result<PortReport, WorkspaceError> {
    let universe: Vec<String> = upstream
        .paths()
        .filter(|p| p.ends_with(".py"))
        .map(str::to_owned)
        .collect();
    let rels = resolve_modules(modules, &universe)?;
    let ported = repo.ported()?;
    let lib_src = repo.lib_src()?;
    for rel in &rels {
        if ported.contains(rel) {
            return Err(WorkspaceError::AlreadyPorted { rel: rel.clone() });
        }
        if lib_src.contains(rel) {
            return Err(WorkspaceError::LibSrcConflict { rel: rel.clone() });
        }
        let work_path = repo.work_path(rel);
        if work_path.exists() {
            return Err(WorkspaceError::WorkModified { rel: rel.clone() });
        }
    }
    let mut pins = Pins::load(&repo.pins_path())?;
    let mut report = PortReport::default();
    for rel in rels {
        let up = upstream
            .file(&rel)
            .expect("resolved against upstream paths");
        let work_path = repo.work_path(&rel);
        write_atomic(&work_path, up).map_err(io_err(&work_path))?;
        let patch_path = repo.patch_path(&rel);
        write_atomic(&patch_path, b"").map_err(io_err(&patch_path))?;
        pins.set(&rel, sha256_hex(up));
        report.started.push(rel);
    }
    pins.save(&repo.pins_path())?;
    Ok(report)
}

/// State of a ported file's copy in `work/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkState {
    /// No copy in `work/`.
    NotCheckedOut,
    /// Identical to the rendering of its patch.
    Clean,
    /// Edited and valid: `refresh` would change the patch.
    Modified,
    /// Edited and failing validation.
    Invalid,
}

/// The state of `work/<rel>` for a ported or portable upstream file, with the diagnostics when
/// it is invalid.
pub(crate) fn work_state(
    repo: &Repo,
    upstream: &Upstream,
    pins: &Pins,
    rel: &str,
) -> Result<(WorkState, Vec<Diagnostic>), WorkspaceError> {
    let Some(conv) = read_optional(&repo.work_path(rel))? else {
        return Ok((WorkState::NotCheckedOut, Vec::new()));
    };
    let patch_path = repo.patch_path(rel);
    if patch_path.exists() && conv == rendering(repo, upstream, pins, rel)? {
        return Ok((WorkState::Clean, Vec::new()));
    }
    let up = pinned_upstream(upstream, pins, rel)?;
    let display: PathBuf = Path::new("work").join(rel);
    Ok(match convention::make_patch(&display, rel, up, &conv) {
        Ok(_) => (WorkState::Modified, Vec::new()),
        Err(diags) => (WorkState::Invalid, diags),
    })
}

/// One line of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct FileStatus {
    /// Path relative to `Lib/` (or to `lib-src/`).
    pub path: String,
    /// `patch` for a ported upstream file, `lib-src` for a module written from scratch.
    pub kind: &'static str,
    /// Upstream lines commented out (ported files).
    pub commented: usize,
    /// Lines added (ported files) or the file's line count (lib-src).
    pub added: usize,
    /// The `work/` copy's state (ported files).
    pub work: Option<WorkState>,
}

/// Per file: lines commented out, lines added, and whether `work/` holds unrefreshed edits.
pub fn status(
    repo: &Repo,
    upstream: &Upstream,
    modules: &[String],
) -> Result<Vec<FileStatus>, WorkspaceError> {
    let pins = Pins::load(&repo.pins_path())?;
    let mut out = Vec::new();
    for rel in select_ported(repo, modules)? {
        let patch_path = repo.patch_path(&rel);
        let PatchStats { commented, added } =
            convention::patch_stats(&patch_path, &read(&patch_path)?)?;
        let (work, _) = work_state(repo, upstream, &pins, &rel)?;
        out.push(FileStatus {
            path: rel,
            kind: "patch",
            commented,
            added,
            work: Some(work),
        });
    }
    if modules.is_empty() {
        for rel in repo.lib_src()? {
            let path = repo.lib_src_dir().join(&rel);
            let lines = read(&path)?.iter().filter(|b| **b == b'\n').count();
            out.push(FileStatus {
                path: rel,
                kind: "lib-src",
                commented: 0,
                added: lines,
                work: None,
            });
        }
    }
    Ok(out)
}
