//! `manifest.json`: what a bundle holds, for deploying it incrementally.
//!
//! Deterministic by construction: fields in a fixed order, files sorted by path, no dates, no
//! absolute paths. A deploy tool compares `path`, `size` and `sha256` with what the board has.

use serde::{Deserialize, Serialize};

/// The manifest of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Version of the portlib that built it.
    pub portlib: String,
    /// `micropython` or `circuitpython`.
    pub target: String,
    /// `mpy` or `py`.
    pub format: String,
    /// `.mpy` format version of the compiled files (`"6.3"`), `null` for a `py` bundle.
    pub mpy_version: Option<String>,
    /// CPython version the port is made against.
    pub upstream: String,
    /// Every file of the bundle, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path inside the bundle, `/`-separated (`lib/unittest/case.mpy`).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// The source it was made from, relative to `Lib/` (ported) or `lib-src/`.
    pub source: String,
    /// SHA-256 of the effective source.
    pub source_sha256: String,
}

impl Manifest {
    /// The JSON text: pretty-printed, ending in a newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).expect("a manifest always serializes");
        out.push(b'\n');
        out
    }

    /// Read a manifest written by [`Manifest::to_json`].
    pub fn from_json(bytes: &[u8]) -> Result<Manifest, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_fields_in_order() {
        let m = Manifest {
            portlib: "0.1.0".into(),
            target: "micropython".into(),
            format: "py".into(),
            mpy_version: None,
            upstream: "3.4.9".into(),
            files: vec![ManifestFile {
                path: "lib/fnmatch.py".into(),
                size: 3,
                sha256: "ab".into(),
                source: "fnmatch.py".into(),
                source_sha256: "cd".into(),
            }],
        };
        let json = m.to_json();
        let text = String::from_utf8(json.clone()).unwrap();
        let order: Vec<usize> = ["\"portlib\"", "\"target\"", "\"mpy_version\"", "\"files\""]
            .iter()
            .map(|k| text.find(k).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains("\"mpy_version\": null"), "{text}");
        assert_eq!(Manifest::from_json(&json).unwrap(), m);
    }
}
