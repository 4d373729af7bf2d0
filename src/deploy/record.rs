//! The board's record of what portlib installed: `/lib/.portlib-manifest.json`. Only files it
//! names are ever removed, so files the user put in `/lib` by other means are safe.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Where the record lives on the board.
pub const RECORD_PATH: &str = "/lib/.portlib-manifest.json";

/// The suffix of files being written ([`crate::board::fs::temp_name`]).
pub(crate) const TEMP_SUFFIX: &str = ".portlib-tmp";

/// What portlib installed on a board.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InstallRecord {
    /// The portlib version that wrote it.
    pub portlib: String,
    /// `false` while a deploy is under way: `files` then also names files that may or may not
    /// have been written yet.
    pub complete: bool,
    /// Board path → SHA-256 (hex) of every file portlib owns.
    pub files: BTreeMap<String, String>,
}

impl InstallRecord {
    /// Parse the record's JSON, keeping only entries deploy may act on (files under `/lib/`,
    /// not the record itself): a hand-edited record must not make portlib delete `/boot.py`.
    pub fn parse(bytes: &[u8]) -> Option<InstallRecord> {
        let mut rec: InstallRecord = serde_json::from_slice(bytes).ok()?;
        rec.files.retain(|path, _| is_owned_path(path));
        Some(rec)
    }

    /// The JSON written to the board.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            serde_json::to_vec_pretty(self).expect("a record of strings always serializes");
        out.push(b'\n');
        out
    }
}

/// Whether deploy may create or delete `path`.
pub(crate) fn is_owned_path(path: &str) -> bool {
    path.starts_with("/lib/")
        && path != RECORD_PATH
        && !path.ends_with(TEMP_SUFFIX)
        && crate::board::fs::check_remote_path(path).is_ok()
}
