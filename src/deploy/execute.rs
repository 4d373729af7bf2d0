//! Carrying out a [`Plan`]: the order of writes is what makes every interruption recoverable.

use std::collections::BTreeSet;
use std::time::Instant;

use serde::Serialize;

use super::bundle::Bundle;
use super::plan::{intent_record, Plan};
use super::record::RECORD_PATH;
use super::{Result, LIB_DIR};
use crate::board::fs::path_prefixes;
use crate::board::{BoardError, BoardFs};

/// Progress of an execution, for a progress bar or a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Copying starts: `files` files, `bytes` bytes in all.
    Start {
        /// Files to copy.
        files: usize,
        /// Bytes to copy.
        bytes: u64,
    },
    /// A file's upload begins.
    FileStart {
        /// Board path.
        path: String,
        /// Its size.
        size: u64,
    },
    /// Bytes of the current file sent so far.
    FileProgress {
        /// Sent.
        sent: u64,
        /// Size of the file.
        size: u64,
    },
    /// A file is written, verified and renamed into place.
    FileDone {
        /// Board path.
        path: String,
    },
    /// A file was removed.
    Removed {
        /// Board path.
        path: String,
    },
}

/// What a deploy did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Files written.
    pub copied: Vec<String>,
    /// Their bytes.
    pub copied_bytes: u64,
    /// Files that were already right.
    pub unchanged: usize,
    /// Their bytes.
    pub unchanged_bytes: u64,
    /// Files removed (portlib's own, no longer in the bundle).
    pub removed: Vec<String>,
    /// Leftover temporary files deleted.
    pub stale_temps_removed: usize,
    /// Whether the record was (re)written.
    pub record_written: bool,
    /// Wall time of the whole deploy, seconds (set by [`super::deploy`]).
    pub seconds: f64,
}

/// Execute `plan` (made by [`super::plan()`] for the same `bundle` and board).
pub fn execute(
    fs: &mut dyn BoardFs,
    bundle: &Bundle,
    plan: &Plan,
    events: &mut dyn FnMut(&Event),
) -> Result<Report> {
    let start = Instant::now();
    let mut report = Report {
        unchanged: plan.unchanged.len(),
        unchanged_bytes: plan.unchanged_bytes,
        ..Report::default()
    };
    if plan.is_noop() {
        report.seconds = start.elapsed().as_secs_f64();
        return Ok(report);
    }
    // A read-only filesystem (CircuitPython over serial) fails here, with the boot.py fix,
    // before anything is changed.
    fs.mkdir_p(LIB_DIR)?;
    fs.check_writable(LIB_DIR)?;

    for tmp in &plan.stale_temps {
        remove_if_present(fs, tmp)?;
        report.stale_temps_removed += 1;
    }
    let changes = !plan.copy.is_empty() || !plan.remove.is_empty();
    if changes {
        let intent = intent_record(plan);
        if plan.old_record.as_ref() != Some(&intent) {
            fs.write_file_atomic(RECORD_PATH, &intent.to_bytes())?;
        }
    }

    events(&Event::Start {
        files: plan.copy.len(),
        bytes: plan.copy_bytes(),
    });
    let mut made: BTreeSet<String> = BTreeSet::new();
    made.insert(LIB_DIR.to_string());
    for c in &plan.copy {
        let Some(file) = bundle.file(&c.path) else {
            continue;
        };
        if let Some((parent, _)) = c.path.rsplit_once('/') {
            if !made.contains(parent) {
                fs.mkdir_p(parent)?;
                made.extend(path_prefixes(parent));
            }
        }
        events(&Event::FileStart {
            path: c.path.clone(),
            size: c.size,
        });
        let size = c.size;
        fs.write_file_with_progress(&c.path, &file.data, &mut |sent, _| {
            events(&Event::FileProgress {
                sent: sent as u64,
                size,
            })
        })?;
        events(&Event::FileDone {
            path: c.path.clone(),
        });
        report.copied.push(c.path.clone());
        report.copied_bytes += size;
    }

    for p in &plan.remove {
        remove_if_present(fs, p)?;
        events(&Event::Removed { path: p.clone() });
        report.removed.push(p.clone());
    }
    remove_emptied_dirs(fs, bundle, &plan.remove)?;

    // Last: the record now describes exactly what is on the board.
    fs.write_file_atomic(RECORD_PATH, &plan.new_record.to_bytes())?;
    report.record_written = true;
    report.seconds = start.elapsed().as_secs_f64();
    Ok(report)
}

/// Delete a file; one already gone (an earlier interrupted run got there) is fine.
fn remove_if_present(fs: &mut dyn BoardFs, path: &str) -> Result<()> {
    match fs.remove(path) {
        Ok(()) | Err(BoardError::NotFound { .. }) => Ok(()),
        Err(BoardError::Drive { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Folders below `/lib` that held removed files and that the bundle does not use: delete them
/// when they are now empty (a folder with the user's own files in it stays).
fn remove_emptied_dirs(fs: &mut dyn BoardFs, bundle: &Bundle, removed: &[String]) -> Result<()> {
    let used: BTreeSet<String> = bundle
        .files
        .iter()
        .filter_map(|f| f.board_path.rsplit_once('/').map(|(d, _)| d.to_string()))
        .flat_map(|d| path_prefixes(&d))
        .collect();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for p in removed {
        if let Some((d, _)) = p.rsplit_once('/') {
            dirs.extend(
                path_prefixes(d)
                    .into_iter()
                    .filter(|x| x.starts_with("/lib/")),
            );
        }
    }
    // Deepest first, so a parent is looked at after its children went.
    let mut dirs: Vec<String> = dirs.into_iter().filter(|d| !used.contains(d)).collect();
    dirs.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
    for d in dirs {
        match fs.listdir(&d) {
            Ok(entries) if entries.is_empty() => fs.rmdir(&d)?,
            Ok(_) | Err(BoardError::NotFound { .. }) => {}
            Err(BoardError::Drive { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
