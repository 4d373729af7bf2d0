//! Golden `.mpy` files compiled by the real mpy-cross 1.29 (see
//! `tests/fixtures/mpy/PROVENANCE.md`): each must parse, re-serialise byte-identical, and
//! disassemble to its reviewed snapshot.

use std::fs;
use std::path::{Path, PathBuf};

use portlib::mpy::disasm::disassemble_to_string;
use portlib::mpy::file::MpyFile;

fn goldens() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mpy");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mpy"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 15,
        "expected the golden .mpy files in {}",
        dir.display()
    );
    files
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[test]
fn every_golden_round_trips_byte_identical() {
    for path in goldens() {
        let data = fs::read(&path).expect("readable golden");
        let file = MpyFile::parse(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            file.to_bytes() == data,
            "{} does not round-trip",
            path.display()
        );
        // Every golden has a Python source next to it.
        assert!(
            path.with_extension("py").exists(),
            "{} has no .py",
            path.display()
        );
    }
}

/// The stems of the snapshots named `<test crate>__<prefix><stem>.snap`, sorted.
fn snapshot_stems(prefix: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut stems: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(&format!("mpy_golden__{prefix}"))?;
            Some(rest.strip_suffix(".snap")?.to_owned())
        })
        .collect();
    stems.sort();
    stems
}

/// A golden that is deleted (or renamed) must take its snapshot with it: otherwise the reviewed
/// disassembly is silently no longer checked.
#[test]
fn every_snapshot_has_its_golden() {
    let goldens: Vec<String> = goldens().iter().map(|p| stem(p)).collect();
    assert_eq!(snapshot_stems("dis_"), goldens);
}

#[test]
fn every_golden_disassembly_matches_its_snapshot() {
    for path in goldens() {
        let data = fs::read(&path).expect("readable golden");
        let file = MpyFile::parse(&data).expect("parses");
        insta::assert_snapshot!(format!("dis_{}", stem(&path)), disassemble_to_string(&file));
    }
}
