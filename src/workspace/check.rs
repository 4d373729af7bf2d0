//! `check`: every patch applies exactly to its pinned upstream, renders to a convention-form
//! file that passes validation, and is canonical (regenerating it gives the same bytes).

use std::path::PathBuf;

use serde::Serialize;

use super::files::{work_state, WorkState};
use super::{pinned_upstream, Pins, Repo, WorkspaceError};
use crate::convention;
use crate::diag::Diagnostic;
use crate::upstream::Upstream;

/// One failed check, with the fix.
#[derive(Debug, Clone, Serialize)]
pub struct CheckProblem {
    /// The file at fault (a patch, the pin file, a lib-src module).
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// The violations, when the problem is an invalid convention-form file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<Diagnostic>,
}

/// The result of `check`.
#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    /// Patches examined.
    pub checked: usize,
    /// Everything that failed; empty means green.
    pub problems: Vec<CheckProblem>,
}

/// Check every patch (or those of `modules`) against the upstream. Problems are collected, not
/// returned as errors, so one run shows all of them.
pub fn check(
    repo: &Repo,
    upstream: &Upstream,
    modules: &[String],
) -> Result<CheckReport, WorkspaceError> {
    let pins = Pins::load(&repo.pins_path())?;
    let ported = repo.ported()?;
    let rels = if modules.is_empty() {
        ported.clone()
    } else {
        super::resolve_modules(modules, &ported)?
    };
    let mut report = CheckReport::default();
    let mut problem = |path: PathBuf, message: String, help: &str| {
        report.problems.push(CheckProblem {
            path,
            message,
            help: help.to_owned(),
            diagnostics: Vec::new(),
        })
    };
    let patches_rel = |rel: &str| PathBuf::from("patches").join(format!("{rel}.diff"));
    let lib_src = repo.lib_src()?;
    let mut checked = 0;
    for rel in &rels {
        checked += 1;
        let shown = patches_rel(rel);
        if pins.get(rel).is_none() {
            problem(
                shown.clone(),
                format!("no pinned SHA-256 for Lib/{rel} in patches/upstream.sha256"),
                "run `portlib checkout` then `portlib refresh` on this module to record the pin",
            );
        }
        if lib_src.contains(rel) {
            problem(
                shown.clone(),
                format!("{rel} is also in lib-src/"),
                "a module is either ported (patches/) or written from scratch (lib-src/): remove one",
            );
        }
        let up = match pinned_upstream(upstream, &pins, rel) {
            Ok(up) => up,
            Err(
                e @ (WorkspaceError::PinMismatch { .. } | WorkspaceError::MissingUpstream { .. }),
            ) => {
                problem(
                    shown,
                    e.to_string(),
                    "use a pristine CPython 3.4.9 (`portlib upstream fetch`)",
                );
                continue;
            }
            Err(e) => return Err(e),
        };
        let patch_path = repo.patch_path(rel);
        let patch = std::fs::read(&patch_path).map_err(super::io_err(&patch_path))?;
        if let Err(e) = convention::apply_patch(&shown, up, &patch) {
            problem(
                shown,
                format!("does not apply exactly to Lib/{rel}: {e}"),
                "if work/ holds the intended file, run `portlib refresh` on it; otherwise restore the patch from git",
            );
            continue;
        }
        let rendered = match convention::render(&shown, up, &patch) {
            Ok(r) => r,
            Err(e) => {
                problem(
                    shown,
                    format!("cannot be rendered: {e}"),
                    "restore the patch from git or regenerate it",
                );
                continue;
            }
        };
        let display = PathBuf::from("work").join(rel);
        match convention::make_patch(&display, rel, up, &rendered) {
            Ok(regenerated) if regenerated == patch => {}
            Ok(_) => problem(
                shown,
                "is not in canonical form (regenerating it gives different bytes)".to_owned(),
                "run `portlib checkout --force` then `portlib refresh` on this module to rewrite it",
            ),
            Err(diags) => {
                let first = diags.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
                problem(
                    shown,
                    format!("its rendering breaks the #/### convention:\n{first}"),
                    "edit work/ and run `portlib refresh`",
                );
            }
        }
    }
    if modules.is_empty() {
        for rel in pins.paths() {
            if !ported.iter().any(|p| p == rel) {
                problem(
                    PathBuf::from("patches/upstream.sha256"),
                    format!("pins Lib/{rel}, which has no patch"),
                    "remove the line, or restore patches/<path>.diff",
                );
            }
        }
    }
    report.checked = checked;
    check_work(repo, upstream, &pins, modules, &mut report)?;
    Ok(report)
}

/// Files in `work/` that differ from their patch: edits forgotten before a commit, or files that
/// break the convention (reported with every violation).
fn check_work(
    repo: &Repo,
    upstream: &Upstream,
    pins: &Pins,
    modules: &[String],
    report: &mut CheckReport,
) -> Result<(), WorkspaceError> {
    let work = repo.work_files()?;
    let rels = if modules.is_empty() {
        work
    } else {
        let wanted = super::resolve_modules(modules, &repo.ported()?)?;
        work.into_iter().filter(|w| wanted.contains(w)).collect()
    };
    for rel in rels {
        let path = PathBuf::from("work").join(&rel);
        if upstream.file(&rel).is_none() {
            report.problems.push(CheckProblem {
                path,
                message: format!("has no upstream file Lib/{rel}"),
                help: "work/ only holds upstream files in the #/### convention; modules written \
                       from scratch belong in lib-src/"
                    .to_owned(),
                diagnostics: Vec::new(),
            });
            continue;
        }
        let (state, diagnostics) = match work_state(repo, upstream, pins, &rel) {
            Ok(s) => s,
            // A pin, upstream or patch problem of a ported file is already reported above.
            Err(
                WorkspaceError::PinMismatch { .. }
                | WorkspaceError::MissingUpstream { .. }
                | WorkspaceError::Patch(_),
            ) => continue,
            Err(e) => return Err(e),
        };
        let (message, help) = match state {
            WorkState::NotCheckedOut | WorkState::Clean => continue,
            WorkState::Modified => (
                "has edits not yet refreshed into its patch".to_owned(),
                format!("run `portlib refresh {rel}` (or `portlib checkout --force {rel}` to drop them)"),
            ),
            WorkState::Invalid => (
                format!("breaks the #/### convention ({} problem(s))", diagnostics.len()),
                "fix the lines below, then run `portlib refresh`".to_owned(),
            ),
        };
        report.problems.push(CheckProblem {
            path,
            message,
            help,
            diagnostics,
        });
    }
    Ok(())
}
