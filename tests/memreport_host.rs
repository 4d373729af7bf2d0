//! `portlib mem` on the real MicroPython unix port (32-bit, 192K heap), with the fixture modules
//! in `tests/fixtures/mem/lib/`. Needs `PORTLIB_MICROPYTHON` (see scripts/setup-tools); without
//! it these tests fail, they never pass silently.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn mem(bundle: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_portlib"))
        .arg("mem")
        .arg("--bundle")
        .arg(bundle)
        .args(args)
        .env("PORTLIB_MICROPYTHON", common::micropython())
        .output()
        .unwrap()
}

#[test]
fn table_json_svg_and_compare() {
    let b = common::bundle("mem");
    let json = b.path().join("mem.json");
    let svg = b.path().join("mem.svg");
    let out = mem(
        b.path(),
        &[
            "--json",
            json.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // broken.py and hog.py do not import: exit 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<&str> = stdout.lines().skip(3).collect();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(
        names,
        ["big", "broken", "hog", "pkg", "small", "tiny"],
        "{stdout}"
    );
    assert!(
        stdout.starts_with("Import cost on MicroPython v1.26"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .next()
            .unwrap()
            .ends_with("(32-bit), heap 192K"),
        "{stdout}"
    );
    assert!(rows[1].contains("ImportError: no module named 'this_module_does_not_exist'"));
    assert!(rows[2].ends_with("MemoryError"));
    assert!(rows[0].ends_with(" bytes"));

    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["format"], "portlib-mem");
    assert_eq!(v["vm"]["heap"], 196608);
    let bytes = |name: &str| common::mem_bytes(&v, name);
    let (tiny, small, pkg, big) = (
        bytes("tiny").unwrap(),
        bytes("small").unwrap(),
        bytes("pkg").unwrap(),
        bytes("big").unwrap(),
    );
    assert!(0 < tiny && tiny < small && small < pkg && pkg < big, "{v}");
    // big keeps a 2 KB bytearray and 40 methods.
    assert!(big > 2048, "{big}");
    assert_eq!(bytes("hog"), None);
    let free = v["free_at_start"].as_i64().unwrap();
    assert!((150_000..196_608).contains(&free), "{free}");

    let svg_text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&svg_text).expect("well-formed SVG");
    let bars = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("height") == Some("14"))
        .count();
    assert_eq!(bars, 4);

    // Compare with an "older" report where big was 100 bytes smaller and tiny was absent.
    let mut old = v.clone();
    let entries = old["entries"].as_array_mut().unwrap();
    entries.retain(|e| e["module"] != "tiny");
    for e in entries.iter_mut() {
        if e["module"] == "big" {
            e["bytes"] = serde_json::json!(big - 100);
        }
    }
    let old_path = b.path().join("old.json");
    std::fs::write(&old_path, serde_json::to_vec(&old).unwrap()).unwrap();
    let out = mem(
        b.path(),
        &[
            "--compare",
            old_path.to_str().unwrap(),
            "big",
            "small",
            "tiny",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let cmp = stdout.split("Compared with").nth(1).expect("comparison");
    let line = |m: &str| {
        cmp.lines()
            .find(|l| l.split_whitespace().next() == Some(m))
            .unwrap_or_else(|| panic!("no {m} in {cmp}"))
            .to_owned()
    };
    assert!(line("big").contains("+100 ("), "{cmp}");
    assert!(line("small").contains("+0"), "{cmp}");
    assert!(line("tiny").ends_with("new"), "{cmp}");
    // broken was measured (and failed) before, and not measured now.
    assert!(
        line("broken")
            .split_whitespace()
            .eq(["broken", "fail", "-"]),
        "{cmp}"
    );
    assert!(cmp.contains("1 grew, 0 shrank, 1 unchanged"), "{cmp}");
}

/// Regression: an old report holding figures at the ends of i64 (a hand-edited or corrupt
/// file) made `c - o` overflow, a panic (exit 101) in a debug build and a wrong sum in a
/// release one.
#[test]
fn compare_with_extreme_figures_saturates() {
    let b = common::bundle("mem");
    let old = b.path().join("old.json");
    let report = serde_json::json!({
        "format": "portlib-mem",
        "vm": {"board": "host", "location": "micropython32", "heap": 196608},
        "entries": [
            {"module": "small", "status": "ok", "bytes": i64::MIN},
            {"module": "tiny", "status": "ok", "bytes": i64::MIN},
        ],
    });
    std::fs::write(&old, serde_json::to_vec(&report).unwrap()).unwrap();
    let svg = b.path().join("mem.svg");
    let out = mem(
        b.path(),
        &[
            "--compare",
            old.to_str().unwrap(),
            "--svg",
            svg.to_str().unwrap(),
            "small",
            "tiny",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
    assert!(
        stdout.contains(&format!("modules in both: +{} bytes", i64::MAX)),
        "{stdout}"
    );
}

#[test]
fn compare_rejects_a_test_report() {
    let b = common::bundle("mem");
    let bad = b.path().join("bad.json");
    std::fs::write(&bad, br#"{"format": "portlib-test"}"#).unwrap();
    let out = mem(b.path(), &["--compare", bad.to_str().unwrap(), "tiny"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a portlib memory report"), "{err}");
}
