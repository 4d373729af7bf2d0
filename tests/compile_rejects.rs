//! Every `tests/fixtures/mpy-rejects/NAME.py` must be rejected by portlib with the message
//! and on the line that mpy-cross 1.29 prints for it (`expected.tsv`, recorded as that
//! folder's README says).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use portlib::mpy::compile::{compile, CompileOptions};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mpy-rejects")
}

/// file name -> (line, `Kind: message`)
fn expected() -> BTreeMap<String, (u32, String)> {
    let path = dir().join("expected.tsv");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut map = BTreeMap::new();
    for row in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = row.split('\t').collect();
        assert_eq!(f.len(), 3, "bad row {row:?} in {}", path.display());
        // `-`: mpy-cross prints no line, which portlib reports as line 0.
        let line = match f[1] {
            "-" => 0,
            n => n
                .parse()
                .unwrap_or_else(|_| panic!("bad line number in row {row:?}")),
        };
        map.insert(f[0].to_string(), (line, f[2].to_string()));
    }
    map
}

#[test]
fn every_reject_fixture_fails_on_mpy_cross_line() {
    let expected = expected();
    let mut files: Vec<String> = fs::read_dir(dir())
        .expect("fixture folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".py"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "fixtures missing in {}", dir().display());
    let listed: Vec<&String> = expected.keys().collect();
    assert_eq!(
        files.iter().collect::<Vec<_>>(),
        listed,
        "expected.tsv must list exactly the .py files"
    );
    let mut problems = Vec::new();
    for name in &files {
        let src = fs::read(dir().join(name)).expect("readable fixture");
        let (line, message) = &expected[name];
        match compile(&src, name, &CompileOptions::default()) {
            Ok(_) => problems.push(format!(
                "{name}: compiled, mpy-cross says {message} on line {line}"
            )),
            Err(e) => {
                let got = format!("{}: {}", e.kind(), e.message());
                if got != *message || e.line() != *line {
                    problems.push(format!(
                        "{name}: got {got} on line {}, mpy-cross says {message} on line {line}",
                        e.line()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
