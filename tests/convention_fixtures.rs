//! Fixture-driven tests of the convention checker: every folder under
//! `tests/fixtures/convention/` holds an upstream file, a convention file and the diagnostics
//! expected for it (see the README there).

use std::path::{Path, PathBuf};

use portlib::convention::{apply_patch, extract, make_patch, render};

fn fixture_root(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The case folders under `tests/fixtures/<name>`, sorted.
fn case_dirs(name: &str) -> Vec<PathBuf> {
    let root = fixture_root(name);
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("read the fixture folder")
        .map(|e| e.expect("fixture entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

/// Check one case; returns a description of what differs.
fn check(dir: &Path) -> Result<(), String> {
    let case = dir
        .file_name()
        .expect("case name")
        .to_string_lossy()
        .into_owned();
    let upstream = read(dir, "upstream.py");
    let convention = read(dir, "convention.py");
    let expected = String::from_utf8(read(dir, "expected.txt")).expect("expected.txt is UTF-8");
    let rel = format!("{case}.py");
    let result = make_patch(Path::new("convention.py"), &rel, &upstream, &convention);
    let got: String = match &result {
        Ok(_) => String::new(),
        Err(diags) => diags
            .iter()
            .map(|d| format!("{}:{}:{}: {}\n", d.path.display(), d.line, d.col, d.message))
            .collect(),
    };
    if got != expected {
        return Err(format!(
            "{case}: diagnostics differ\n--- expected\n{expected}--- got\n{got}"
        ));
    }
    match result {
        Ok(patch) => {
            let ppath = PathBuf::from(format!("patches/{rel}.diff"));
            let rendered = render(&ppath, &upstream, &patch).map_err(|e| format!("{case}: {e}"))?;
            if rendered != convention {
                return Err(format!("{case}: render(make_patch(C)) != C"));
            }
            let applied =
                apply_patch(&ppath, &upstream, &patch).map_err(|e| format!("{case}: {e}"))?;
            let extracted = extract(Path::new("convention.py"), &upstream, &convention)
                .map_err(|_| format!("{case}: extract rejected a valid file"))?;
            if applied != extracted {
                return Err(format!("{case}: apply(make_patch(C)) != extract(C)"));
            }
            if dir.join("expected.diff").exists() && read(dir, "expected.diff") != patch {
                return Err(format!(
                    "{case}: patch differs from expected.diff; got:\n{}",
                    String::from_utf8_lossy(&patch)
                ));
            }
        }
        Err(diags) => {
            // Each diagnostic quotes its line and says what to do.
            if let Some(d) = diags.iter().find(|d| d.help.is_none() || d.text.is_none()) {
                return Err(format!("{case}: diagnostic without text or help: {d}"));
            }
        }
    }
    Ok(())
}

#[test]
fn convention_fixtures() {
    let cases = case_dirs("convention");
    assert!(cases.len() >= 20, "only {} fixture cases", cases.len());
    let failures: Vec<String> = cases.iter().filter_map(|c| check(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn fixtures_cover_every_message() {
    let all: String = case_dirs("convention")
        .iter()
        .map(|c| String::from_utf8(read(c, "expected.txt")).expect("UTF-8"))
        .collect();
    for needle in [
        "was removed",
        "were removed",
        "line changed in place",
        "added line has no ' ###' marker",
        "marker on unchanged upstream line",
        "commented out with more than one '#'",
        "commented out with an indented '#'",
        "commented out with a space after '#'",
        "line ending differs from upstream line",
        "comment before the ' ###' marker",
        "trailing whitespace in an added line",
    ] {
        assert!(all.contains(needle), "no fixture expects `{needle}`");
    }
}

/// Broken patches under `tests/fixtures/convention-patches/`: the error each must give.
#[test]
fn patch_fixtures() {
    let root = fixture_root("convention-patches");
    let dirs = case_dirs("convention-patches");
    assert!(dirs.len() >= 10, "only {} patch fixture cases", dirs.len());
    let upstream = read(&root, "upstream.py");
    let mut failures = Vec::new();
    for dir in &dirs {
        let case = dir
            .file_name()
            .expect("case name")
            .to_string_lossy()
            .into_owned();
        let patch = read(dir, "patch.diff");
        let expected = String::from_utf8(read(dir, "expected.txt")).expect("expected.txt is UTF-8");
        let ppath = PathBuf::from(format!("patches/{case}.py.diff"));
        let applied = apply_patch(&ppath, &upstream, &patch);
        let rendered = render(&ppath, &upstream, &patch);
        let got = match (&applied, &rendered) {
            (Err(a), Err(r)) if a == r => format!("{a}\n"),
            (Ok(_), Ok(_)) => String::new(),
            _ => format!("apply and render disagree: {applied:?} / {rendered:?}\n"),
        };
        if got != expected {
            failures.push(format!("{case}:\n--- expected\n{expected}--- got\n{got}"));
            continue;
        }
        if let Ok(convention) = rendered {
            // A canonical patch comes back unchanged through its convention form.
            let again = make_patch(
                Path::new("convention.py"),
                &format!("{case}.py"),
                &upstream,
                &convention,
            );
            if again.as_deref() != Ok(&patch[..]) {
                failures.push(format!("{case}: make_patch(render(P)) != P"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
