//! The bundle `portlib build` writes: `DIR/manifest.json` and the files it lists under `DIR/lib/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{DeployError, Result};
use crate::board::fs::{check_remote_path, hex, parse_hash, sha256, FileHash};
use crate::board::output::Flavor;

/// `manifest.json` as `portlib build` writes it. Fields deploy does not use are kept optional so
/// that older or newer manifests still load.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// The portlib version that built the bundle.
    #[serde(default)]
    pub portlib: Option<String>,
    /// The board family the bundle is for (`micropython`, `circuitpython`).
    #[serde(default)]
    pub target: Option<String>,
    /// `mpy` or `py`.
    #[serde(default)]
    pub format: Option<String>,
    /// The `.mpy` version the files were compiled for.
    #[serde(default)]
    pub mpy_version: Option<serde_json::Value>,
    /// Which upstream the port was made from.
    #[serde(default)]
    pub upstream: Option<serde_json::Value>,
    /// The files, paths relative to the bundle folder (`lib/fnmatch.mpy`).
    pub files: Vec<ManifestFile>,
}

/// One file of the manifest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ManifestFile {
    /// Relative path with `/` separators, under `lib/`.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
    /// The source the file was made from, for people reading the manifest.
    #[serde(default)]
    pub source: Option<String>,
    /// SHA-256 of that source.
    #[serde(default)]
    pub source_sha256: Option<String>,
}

/// A file of a loaded bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Where it goes on the board (`/lib/fnmatch.mpy`).
    pub board_path: String,
    /// The content.
    pub data: Vec<u8>,
    /// Its SHA-256.
    pub hash: FileHash,
}

/// A bundle read into memory and checked against its manifest.
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle folder.
    pub dir: PathBuf,
    /// The manifest as read.
    pub manifest: Manifest,
    /// The files, sorted by board path.
    pub files: Vec<BundleFile>,
}

impl Bundle {
    /// Read `dir/manifest.json` and every file it lists, checking sizes and hashes.
    pub fn load(dir: &Path) -> Result<Bundle> {
        let mpath = dir.join("manifest.json");
        let text = std::fs::read_to_string(&mpath).map_err(|cause| DeployError::ManifestRead {
            path: mpath.clone(),
            cause,
        })?;
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|e| DeployError::ManifestParse {
                path: mpath.clone(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        let mut files = Vec::with_capacity(manifest.files.len());
        for entry in &manifest.files {
            let board_path = board_path_of(&mpath, &entry.path)?;
            let local = dir.join(&entry.path);
            let data = std::fs::read(&local).map_err(|cause| DeployError::BundleFileRead {
                path: local.clone(),
                cause,
            })?;
            if data.len() as u64 != entry.size {
                return Err(DeployError::BundleMismatch {
                    path: local,
                    what: "size",
                    expected: entry.size.to_string(),
                    actual: data.len().to_string(),
                });
            }
            let hash = sha256(&data);
            if parse_hash(&entry.sha256) != Some(hash) {
                return Err(DeployError::BundleMismatch {
                    path: local,
                    what: "sha256",
                    expected: entry.sha256.clone(),
                    actual: hex(&hash),
                });
            }
            files.push(BundleFile {
                board_path,
                data,
                hash,
            });
        }
        files.sort_by(|a, b| a.board_path.cmp(&b.board_path));
        if let Some(w) = files
            .windows(2)
            .find(|w| w[0].board_path == w[1].board_path)
        {
            return Err(DeployError::BadBundlePath {
                manifest: mpath,
                path: w[0].board_path.clone(),
                problem: "listed twice",
            });
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
            manifest,
            files,
        })
    }

    /// Write a bundle folder from file contents (`lib/...` paths): the files, then a manifest
    /// describing them, and load it back. For tools and tests that assemble bundles by hand;
    /// `portlib build` writes real ones.
    pub fn create(dir: &Path, target: &str, files: &[(&str, &[u8])]) -> Result<Bundle> {
        let io = |path: PathBuf| move |cause| DeployError::BundleWrite { path, cause };
        let mut entries = Vec::with_capacity(files.len());
        for (rel, data) in files {
            let local = dir.join(rel);
            if let Some(parent) = local.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent.to_path_buf()))?;
            }
            crate::fsutil::write_atomic(&local, data).map_err(io(local.clone()))?;
            entries.push(ManifestFile {
                path: rel.to_string(),
                size: data.len() as u64,
                sha256: hex(&sha256(data)),
                source: None,
                source_sha256: None,
            });
        }
        let manifest = Manifest {
            portlib: Some(env!("CARGO_PKG_VERSION").to_string()),
            target: Some(target.to_string()),
            format: None,
            mpy_version: None,
            upstream: None,
            files: entries,
        };
        let mpath = dir.join("manifest.json");
        let text = serde_json::to_vec_pretty(&manifest).expect("a manifest always serializes");
        crate::fsutil::write_atomic(&mpath, &text).map_err(io(mpath.clone()))?;
        Bundle::load(dir)
    }

    /// Refuse a bundle whose `.mpy` files the board's firmware cannot load, told by their
    /// magic byte (`M` MicroPython, `C` CircuitPython): such a deploy succeeds, and then every
    /// import on the board fails. `board` names the board in the message.
    pub fn check_loadable_on(&self, flavor: Flavor, board: &str) -> Result<()> {
        let (foreign, compiled_for, target) = match flavor {
            Flavor::MicroPython => (b'C', "CircuitPython", "micropython"),
            Flavor::CircuitPython => (b'M', "MicroPython", "circuitpython"),
        };
        let wrong = self
            .files
            .iter()
            .find(|f| f.board_path.ends_with(".mpy") && f.data.first() == Some(&foreign));
        match wrong {
            Some(f) => Err(DeployError::WrongFirmware {
                path: f.board_path.clone(),
                compiled_for,
                board: board.to_string(),
                target,
            }),
            None => Ok(()),
        }
    }

    /// Total size of the files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.data.len() as u64).sum()
    }

    /// The file going to `board_path`.
    pub fn file(&self, board_path: &str) -> Option<&BundleFile> {
        self.files
            .binary_search_by(|f| f.board_path.as_str().cmp(board_path))
            .ok()
            .map(|i| &self.files[i])
    }
}

/// `lib/x.mpy` → `/lib/x.mpy`, refusing anything deploy must not write.
fn board_path_of(manifest: &Path, rel: &str) -> Result<String> {
    let bad = |problem| DeployError::BadBundlePath {
        manifest: manifest.to_path_buf(),
        path: rel.to_string(),
        problem,
    };
    if !rel.starts_with("lib/") || rel.len() <= 4 || rel.ends_with('/') {
        return Err(bad(
            "bundle files must be under lib/ (deploy syncs the board's /lib)",
        ));
    }
    if rel
        .split('/')
        .any(|p| p.is_empty() || p == "." || p == "..")
    {
        return Err(bad("empty, '.' or '..' path components are not allowed"));
    }
    if rel.ends_with(super::record::TEMP_SUFFIX) || rel == "lib/.portlib-manifest.json" {
        return Err(bad(
            "the name is reserved for portlib's own files on the board",
        ));
    }
    let board = format!("/{rel}");
    check_remote_path(&board).map_err(|_| bad("not usable as a board path"))?;
    Ok(board)
}
