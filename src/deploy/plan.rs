//! What a deploy will do, worked out from one read of the record and one batch of hashes.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::bundle::Bundle;
use super::record::{is_owned_path, InstallRecord, RECORD_PATH};
use super::Result;
use crate::board::fs::{hex, sha256, temp_name};
use crate::board::{BoardError, BoardFs};

/// Why a file is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyReason {
    /// Not on the board.
    Missing,
    /// On the board with other content.
    Changed,
}

/// One file to copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Copy {
    /// Board path.
    pub path: String,
    /// Bytes to send.
    pub size: u64,
    /// Why.
    pub reason: CopyReason,
}

/// The work a deploy has to do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Files to write, in board-path order.
    pub copy: Vec<Copy>,
    /// Files already right on the board.
    pub unchanged: Vec<String>,
    /// Bytes of the unchanged files.
    pub unchanged_bytes: u64,
    /// Files portlib installed earlier that the bundle no longer has and that are on the board.
    pub remove: Vec<String>,
    /// Leftover `*.portlib-tmp` files of interrupted copies.
    pub stale_temps: Vec<String>,
    /// The record as found (`None`: no record, or one that could not be read).
    #[serde(skip)]
    pub old_record: Option<InstallRecord>,
    /// The record describing the bundle, written last.
    #[serde(skip)]
    pub new_record: InstallRecord,
    /// Whether the board's record differs from `new_record`.
    pub write_record: bool,
}

impl Plan {
    /// Nothing to send, nothing to delete.
    pub fn is_noop(&self) -> bool {
        self.copy.is_empty()
            && self.remove.is_empty()
            && self.stale_temps.is_empty()
            && !self.write_record
    }

    /// Bytes the copies will send (file content, before encoding).
    pub fn copy_bytes(&self) -> u64 {
        self.copy.iter().map(|c| c.size).sum()
    }
}

/// Read the board's record, hash what is there and work out the plan. Sends nothing but reads.
pub fn plan(fs: &mut dyn BoardFs, bundle: &Bundle) -> Result<Plan> {
    let (old_record, record_bytes) = read_record(fs)?;
    let recorded: BTreeSet<&str> = old_record
        .iter()
        .flat_map(|r| r.files.keys().map(String::as_str))
        .collect();

    // Every path the bundle or the record names, and the temporary twin of each (and of the
    // record): one hash batch tells what exists, what matches, and what was left half-written.
    let mut wanted: BTreeSet<String> = BTreeSet::new();
    for f in &bundle.files {
        wanted.insert(f.board_path.clone());
        wanted.insert(temp_name(&f.board_path));
    }
    for p in &recorded {
        wanted.insert(p.to_string());
        wanted.insert(temp_name(p));
    }
    wanted.insert(temp_name(RECORD_PATH));
    wanted.insert(RECORD_PATH.to_string());
    let paths: Vec<String> = wanted.into_iter().collect();
    let hashes = fs.hash_files(&paths)?;
    // The raw REPL has no checksum: a record garbled on the way could still parse and then
    // lose track of files to remove. Its hash, computed on the board, catches that.
    let board_hash = hashes.get(RECORD_PATH).copied().flatten();
    if record_bytes.as_deref().map(sha256) != board_hash {
        return Err(BoardError::BadReply {
            operation: format!("read {RECORD_PATH}"),
            reply: "the content read does not match its hash on the board (garbled on the \
                    link, or changed meanwhile); run the deploy again"
                .into(),
        }
        .into());
    }
    let exists = |p: &str| matches!(hashes.get(p), Some(Some(_)));

    let mut out = Plan::default();
    for f in &bundle.files {
        match hashes.get(&f.board_path).copied().flatten() {
            Some(h) if h == f.hash => {
                out.unchanged.push(f.board_path.clone());
                out.unchanged_bytes += f.data.len() as u64;
            }
            have => out.copy.push(Copy {
                path: f.board_path.clone(),
                size: f.data.len() as u64,
                reason: if have.is_some() {
                    CopyReason::Changed
                } else {
                    CopyReason::Missing
                },
            }),
        }
    }
    for p in &recorded {
        if bundle.file(p).is_none() && exists(p) {
            out.remove.push(p.to_string());
        }
    }
    out.stale_temps = paths
        .iter()
        .filter(|p| p.ends_with(super::record::TEMP_SUFFIX) && exists(p))
        .cloned()
        .collect();
    out.new_record = InstallRecord {
        portlib: env!("CARGO_PKG_VERSION").to_string(),
        complete: true,
        files: bundle
            .files
            .iter()
            .map(|f| (f.board_path.clone(), hex(&f.hash)))
            .collect(),
    };
    out.write_record = old_record.as_ref() != Some(&out.new_record);
    out.old_record = old_record;
    Ok(out)
}

/// The record on the board and its bytes; `None` when there is none. A record that is not
/// portlib's JSON (edited by hand) is treated as absent: deploy then removes nothing, which is
/// the safe side.
fn read_record(fs: &mut dyn BoardFs) -> Result<(Option<InstallRecord>, Option<Vec<u8>>)> {
    match fs.read_file(RECORD_PATH) {
        Ok(bytes) => {
            let rec = InstallRecord::parse(&bytes);
            if rec.is_none() {
                log::warn!("{RECORD_PATH} on the board is not a portlib record; ignoring it");
            }
            Ok((rec, Some(bytes)))
        }
        Err(BoardError::NotFound { .. }) => Ok((None, None)),
        Err(BoardError::Drive { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok((None, None))
        }
        Err(e) => Err(e.into()),
    }
}

/// The record written before copying: old ∪ new files, marked incomplete, so that whatever an
/// interrupted run leaves behind is still portlib's to remove next time.
pub(crate) fn intent_record(plan: &Plan) -> InstallRecord {
    let mut files: BTreeMap<String, String> = plan
        .old_record
        .as_ref()
        .map(|r| r.files.clone())
        .unwrap_or_default();
    for (k, v) in &plan.new_record.files {
        files.insert(k.clone(), v.clone());
    }
    files.retain(|p, _| is_owned_path(p));
    InstallRecord {
        portlib: plan.new_record.portlib.clone(),
        complete: false,
        files,
    }
}
