//! `portlib check` end to end on every convention fixture: each case becomes a scratch
//! repository whose `work/` holds the fixture's convention file, against a pretend CPython tree
//! holding the fixture's upstream file. Invalid files must fail `check` with exactly the
//! documented diagnostics; valid ones fail until refreshed, then pass.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::text;
use portlib::upstream::sha256_hex;

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/convention");
    let mut out: Vec<PathBuf> = fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    // A missing or emptied fixture folder would make the test below check nothing.
    assert!(
        out.len() >= 20,
        "only {} convention fixture cases",
        out.len()
    );
    out
}

fn portlib(repo: &Path, cpython: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portlib"))
        .arg("--cpython")
        .arg(cpython)
        .args(args)
        .current_dir(repo)
        .env_remove("PORTLIB_ROOT")
        .env_remove("PORTLIB_CPYTHON")
        .output()
        .unwrap()
}

/// A pretend CPython tree with `Lib/<name>.py`, and a repository porting it with an empty patch
/// and the fixture's convention file in `work/`.
fn setup(case: &Path, name: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let cpython = tmp.path().join("cpython");
    let repo = tmp.path().join("repo");
    let upstream = fs::read(case.join("upstream.py")).unwrap();
    fs::create_dir_all(cpython.join("Lib")).unwrap();
    fs::write(cpython.join("Lib").join(format!("{name}.py")), &upstream).unwrap();
    fs::create_dir_all(repo.join("patches")).unwrap();
    fs::create_dir_all(repo.join("work")).unwrap();
    fs::write(repo.join(format!("patches/{name}.py.diff")), b"").unwrap();
    fs::write(
        repo.join("patches/upstream.sha256"),
        format!("{}  {name}.py\n", sha256_hex(&upstream)),
    )
    .unwrap();
    fs::copy(
        case.join("convention.py"),
        repo.join(format!("work/{name}.py")),
    )
    .unwrap();
    (tmp, cpython, repo)
}

#[test]
fn check_reports_every_fixture_violation_through_the_binary() {
    let mut failures = Vec::new();
    for case in cases() {
        let name = case
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace('-', "_");
        let expected = fs::read_to_string(case.join("expected.txt")).unwrap();
        let (_tmp, cpython, repo) = setup(&case, &name);
        let unchanged = fs::read(case.join("upstream.py")).unwrap()
            == fs::read(case.join("convention.py")).unwrap();
        let out = portlib(&repo, &cpython, &["check"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if expected.is_empty() {
            if unchanged {
                if !out.status.success() {
                    failures.push(format!(
                        "{name}: unchanged file fails check\n{}",
                        text(&out)
                    ));
                }
                continue;
            }
            // Valid edits: check flags them as not refreshed; refresh takes them; check passes.
            if out.status.code() != Some(1) || !stderr.contains("not yet refreshed") {
                failures.push(format!(
                    "{name}: unrefreshed edits not flagged\n{}",
                    text(&out)
                ));
                continue;
            }
            let refreshed = portlib(&repo, &cpython, &["refresh"]);
            let after = portlib(&repo, &cpython, &["check"]);
            if !refreshed.status.success() || !after.status.success() {
                failures.push(format!(
                    "{name}: refresh then check is not green\n{}\n{}",
                    text(&refreshed),
                    text(&after)
                ));
            }
            continue;
        }
        if out.status.code() != Some(1) {
            failures.push(format!("{name}: expected exit 1\n{}", text(&out)));
            continue;
        }
        for line in expected.lines() {
            let want = line.replacen("convention.py:", &format!("work/{name}.py:"), 1);
            if !stderr.contains(&want) {
                failures.push(format!("{name}: missing `{want}`\n{}", text(&out)));
            }
        }
        let prefix = format!("work/{name}.py:");
        let reported = stderr
            .lines()
            .filter(|l| {
                l.strip_prefix(&prefix)
                    .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            })
            .count();
        if reported != expected.lines().count() {
            failures.push(format!(
                "{name}: {reported} diagnostics, expected {}\n{}",
                expected.lines().count(),
                text(&out)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
