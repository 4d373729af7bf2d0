//! The patch workflow end to end through the binary, on a scratch repository and the real
//! CPython 3.4.9 upstream: port, edit, refresh, check, status, checkout, strip, and the errors.

mod common;

use std::fs;
use std::path::Path;

use common::{portlib, text};

const ZSUFFIX: &str = "    return res + '\\Z(?ms)'\n";

fn scratch_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("patches")).unwrap();
    dir
}

/// Port fnmatch and make the edit the real port makes.
fn ported_fnmatch(dir: &Path) -> String {
    ported_fnmatch_with_upstream(dir).1
}

/// `ported_fnmatch`, also returning the upstream file (what `port` first checks out).
fn ported_fnmatch_with_upstream(dir: &Path) -> (String, String) {
    let out = portlib(dir, &["port", "fnmatch"]);
    assert!(out.status.success(), "{}", text(&out));
    let work = dir.join("work/fnmatch.py");
    let original = fs::read_to_string(&work).unwrap();
    assert!(original.contains(ZSUFFIX));
    let edited = original.replace(
        ZSUFFIX,
        &format!("#{ZSUFFIX}    return res + '$'   ### MicroPython's re has no \\Z\n"),
    );
    fs::write(&work, &edited).unwrap();
    (original, edited)
}

#[test]
fn port_edit_refresh_check_checkout_round_trip() {
    let repo = scratch_repo();
    let dir = repo.path();
    let (upstream, edited) = ported_fnmatch_with_upstream(dir);
    assert_eq!(fs::read(dir.join("patches/fnmatch.py.diff")).unwrap(), b"");
    let pins = fs::read_to_string(dir.join("patches/upstream.sha256")).unwrap();
    assert!(pins.ends_with("  fnmatch.py\n"), "{pins}");

    let out = portlib(dir, &["refresh", "fnmatch"]);
    assert!(out.status.success(), "{}", text(&out));
    let patch = fs::read_to_string(dir.join("patches/fnmatch.py.diff")).unwrap();
    assert!(
        patch.contains("\n-    return res + '\\Z(?ms)'\n"),
        "{patch}"
    );
    assert!(patch.contains("\n+    return res + '$'"), "{patch}");

    let out = portlib(dir, &["check"]);
    assert!(out.status.success(), "{}", text(&out));

    let out = portlib(dir, &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = stdout
        .lines()
        .find(|l| l.starts_with("fnmatch.py"))
        .expect("status row");
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cols[1..4], ["1", "1", "clean"], "{stdout}");

    // Round trip: a fresh checkout renders exactly what was edited.
    fs::remove_file(dir.join("work/fnmatch.py")).unwrap();
    let out = portlib(dir, &["checkout", "fnmatch"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        fs::read_to_string(dir.join("work/fnmatch.py")).unwrap(),
        edited
    );

    let out = portlib(dir, &["strip", "--out", "stripped"]);
    assert!(out.status.success(), "{}", text(&out));
    let effective = fs::read_to_string(dir.join("stripped/fnmatch.py")).unwrap();
    // Upstream with the commented-out line gone and the added one in its place, its marker
    // turned into the comment it starts (README, "How the marker is read").
    assert_eq!(
        effective,
        upstream.replace(
            ZSUFFIX,
            "    return res + '$'   # MicroPython's re has no \\Z\n"
        )
    );
}

#[test]
fn refresh_refuses_an_invalid_file_and_keeps_the_patch() {
    let repo = scratch_repo();
    let dir = repo.path();
    ported_fnmatch(dir);
    assert!(portlib(dir, &["refresh"]).status.success());
    let before = fs::read(dir.join("patches/fnmatch.py.diff")).unwrap();

    let work = dir.join("work/fnmatch.py");
    let text_now = fs::read_to_string(&work).unwrap();
    // Remove an upstream line and change another in place.
    let broken = text_now
        .replace("import functools\n", "")
        .replace("    i, n = 0, len(pat)\n", "    i, n = 0, len(pat) + 0\n");
    fs::write(&work, broken).unwrap();
    let out = portlib(dir, &["refresh", "fnmatch"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("work/fnmatch.py:"), "{stderr}");
    // Every violation is reported, each with its own message.
    for message in ["was removed", "line changed in place: upstream line"] {
        assert!(stderr.contains(message), "no `{message}` in: {stderr}");
    }
    assert_eq!(
        fs::read(dir.join("patches/fnmatch.py.diff")).unwrap(),
        before
    );

    let out = portlib(dir, &["status"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("INVALID"),
        "{}",
        text(&out)
    );
    // checkout will not silently discard the edits...
    let out = portlib(dir, &["checkout", "fnmatch"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not yet refreshed"),
        "{}",
        text(&out)
    );
    // ...unless told to.
    assert!(portlib(dir, &["checkout", "--force", "fnmatch"])
        .status
        .success());
}

#[test]
fn check_reports_nonsense_patches_and_pin_mismatches() {
    let repo = scratch_repo();
    let dir = repo.path();
    ported_fnmatch(dir);
    assert!(portlib(dir, &["refresh"]).status.success());

    let patch_path = dir.join("patches/fnmatch.py.diff");
    let good = fs::read_to_string(&patch_path).unwrap();
    fs::write(&patch_path, good.replace("@@ -", "@@ -9")).unwrap();
    let out = portlib(dir, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("patches/fnmatch.py.diff"),
        "{}",
        text(&out)
    );
    fs::write(&patch_path, &good).unwrap();

    let pins_path = dir.join("patches/upstream.sha256");
    let pins = fs::read_to_string(&pins_path).unwrap();
    fs::write(&pins_path, format!("{}{}", "0".repeat(64), &pins[64..])).unwrap();
    let out = portlib(dir, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Lib/fnmatch.py") && stderr.contains("pinned SHA-256"),
        "{stderr}"
    );
}

#[test]
fn unknown_module_is_an_error_with_suggestions() {
    let repo = scratch_repo();
    let out = portlib(repo.path(), &["port", "fnmatc"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown module `fnmatc`") && stderr.contains("fnmatch"),
        "{stderr}"
    );
}

/// Regression: a file in `lib-src/` whose name is not UTF-8 was listed under a lossy name and
/// then reported as "No such file or directory", though it exists.
#[cfg(unix)]
#[test]
fn non_utf8_file_name_is_named_as_such() {
    use std::os::unix::ffi::OsStrExt;
    let repo = scratch_repo();
    let lib_src = repo.path().join("lib-src");
    fs::create_dir(&lib_src).unwrap();
    fs::write(
        lib_src.join(std::ffi::OsStr::from_bytes(b"bad\xff.py")),
        "x = 1\n",
    )
    .unwrap();
    for args in [&["status"][..], &["strip", "--out", "stripped"]] {
        let out = portlib(repo.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("the file name is not UTF-8; rename it") && stderr.contains("bad"),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("No such file"), "{args:?}: {stderr}");
    }
}

/// Regression: an error that shows its I/O cause and also chains it printed the cause twice
/// (`x: Not a directory (os error 20): Not a directory (os error 20)`).
#[test]
fn an_io_error_prints_its_cause_once() {
    let repo = scratch_repo();
    fs::write(repo.path().join("afile"), "").unwrap();
    let out = portlib(repo.path(), &["strip", "--out", "afile/x"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("(os error").count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: afile"), "{stderr}");
}

/// Regression: `portlib checkout | head -1` panicked ("failed printing to stdout: Broken
/// pipe", exit 101) once the reader was gone; a closed pipe is a quiet, successful end.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let repo = scratch_repo();
    let out = portlib(repo.path(), &["port", "unittest"]);
    assert!(out.status.success(), "{}", text(&out));
    fs::remove_dir_all(repo.path().join("work")).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portlib"))
        .arg("checkout")
        .current_dir(repo.path())
        .env("PORTLIB_CPYTHON", common::upstream_path())
        .env_remove("PORTLIB_ROOT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before portlib has read the upstream, let alone printed.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

/// Regression: `strip --out` replaced whatever folder it named, so `--out patches` deleted
/// the repository's patches and `--out notes` someone's files. Only an earlier strip output
/// (or a new folder) may be replaced.
#[test]
fn strip_refuses_to_replace_a_folder_it_did_not_write() {
    let dir = scratch_repo();
    let dir = dir.path();
    ported_fnmatch(dir);
    fs::create_dir(dir.join("notes")).unwrap();
    fs::write(dir.join("notes/todo.txt"), "precious").unwrap();
    for (out, why) in [
        ("notes", "it has todo.txt"),
        ("patches", "it is in the repository's patches/"),
        ("work", "it is in the repository's work/"),
        (".", "it holds the repository"),
    ] {
        let res = portlib(dir, &["strip", "--out", out]);
        assert_eq!(res.status.code(), Some(2), "--out {out}: {}", text(&res));
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert!(
            stderr.contains("is not an earlier `portlib strip` output") && stderr.contains(why),
            "--out {out}: {stderr}"
        );
    }
    assert_eq!(
        fs::read_to_string(dir.join("notes/todo.txt")).unwrap(),
        "precious"
    );
    assert!(dir.join("patches/fnmatch.py.diff").is_file());
    // Its own output is replaced, also after Python left bytecode in it.
    let res = portlib(dir, &["strip", "--out", "stripped"]);
    assert!(res.status.success(), "{}", text(&res));
    fs::create_dir(dir.join("stripped/__pycache__")).unwrap();
    fs::write(dir.join("stripped/__pycache__/fnmatch.cpython-34.pyc"), "").unwrap();
    let res = portlib(dir, &["strip", "--out", "stripped"]);
    assert!(res.status.success(), "{}", text(&res));
    assert!(dir.join("stripped/fnmatch.py").is_file());
}

#[test]
fn outside_a_repository_says_where_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = portlib(dir.path(), &["status"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no portlib repository"),
        "{}",
        text(&out)
    );
}

/// The repository's own patches are green.
#[test]
fn repository_check_is_green() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = portlib(root, &["--root", root.to_str().unwrap(), "check"]);
    assert!(out.status.success(), "{}", text(&out));
}
