//! Snapshot of the parse tree of every hand-written fixture in `tests/fixtures/parse/`.
//!
//! The snapshots are the text dump of `portlib::mpy::parse::dump`; see the fixtures README
//! for how they were checked against MicroPython's own parse-tree printer.

use std::path::PathBuf;

use portlib::mpy::parse::{dump, parse, ParseOptions};

#[test]
fn fixture_trees() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parse");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "fixtures missing in {}", dir.display());
    // Each snapshot belongs to a fixture: one whose fixture went away is no longer checked.
    let fixtures: Vec<String> = files
        .iter()
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    let snaps = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let mut snapshots: Vec<String> = std::fs::read_dir(&snaps)
        .expect("snapshot folder")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|n| {
            let rest = n.strip_prefix("parse_fixtures__")?;
            Some(rest.strip_suffix(".snap")?.to_owned())
        })
        .collect();
    snapshots.sort();
    assert_eq!(snapshots, fixtures, "snapshots and fixtures differ");
    for path in files {
        let name = path
            .file_stem()
            .expect("stem")
            .to_string_lossy()
            .into_owned();
        let src = std::fs::read(&path).expect("readable fixture");
        let source_name = format!("fixtures/{name}.py");
        let opts = ParseOptions {
            source_name: source_name.as_bytes(),
            ..ParseOptions::default()
        };
        let tree = parse(&src, &opts).unwrap_or_else(|e| panic!("{name}: {e}"));
        insta::assert_snapshot!(name, dump(&tree));
    }
}
