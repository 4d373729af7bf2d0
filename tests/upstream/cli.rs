//! `portlib upstream …` run as a user would: the built binary, a private cache, exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{assert_no_files, entries, mini_release, shared_upstream, txz, Reply, Server};

/// The binary with a private cache and no upstream from the caller's environment.
fn portlib(cache: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portlib"));
    cmd.env("PORTLIB_CACHE", cache)
        .env_remove("PORTLIB_CPYTHON");
    // The test server is local; a proxy from the caller's environment must not intercept it.
    for proxy in ["http_proxy", "https_proxy", "all_proxy"] {
        cmd.env_remove(proxy).env_remove(proxy.to_ascii_uppercase());
    }
    cmd
}

fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run portlib");
    (
        status.code().expect("exit code"),
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    )
}

/// A cache holding a (non-official) tarball where `fetch` would have installed one.
fn filled_cache() -> (tempfile::TempDir, PathBuf) {
    let cache = tempfile::tempdir().unwrap();
    let tarball = cache.path().join("upstream/Python-3.4.9.tar.xz");
    std::fs::create_dir_all(tarball.parent().unwrap()).unwrap();
    std::fs::write(&tarball, txz(&entries(&mini_release("Python-3.4.9/")))).unwrap();
    (cache, tarball)
}

#[test]
fn path_without_any_source_exits_2_naming_both_ways_out() {
    let cache = tempfile::tempdir().unwrap();
    let (code, out, err) = run(portlib(cache.path()).args(["upstream", "path"]));
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    for needle in ["portlib upstream fetch", "--cpython", "PORTLIB_CPYTHON"] {
        assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    }
    assert!(err.contains(&cache.path().display().to_string()), "{err}");
}

#[test]
fn path_prefers_explicit_over_cache() {
    let (cache, cached) = filled_cache();
    let (code, out, err) = run(portlib(cache.path()).args(["upstream", "path"]));
    assert_eq!((code, out.trim()), (0, cached.to_str().unwrap()), "{err}");

    let shared = shared_upstream();
    let (code, out, err) = run(portlib(cache.path())
        .args(["upstream", "path", "--cpython"])
        .arg(&shared));
    assert_eq!((code, out.trim()), (0, shared.to_str().unwrap()), "{err}");

    let (code, out, err) = run(portlib(cache.path())
        .env("PORTLIB_CPYTHON", &shared)
        .args(["upstream", "path"]));
    assert_eq!((code, out.trim()), (0, shared.to_str().unwrap()), "{err}");
}

#[test]
fn explicit_source_that_is_broken_is_an_error_even_with_a_cache() {
    let (cache, _) = filled_cache();
    let bogus = cache.path().join("bogus.tar.xz");
    std::fs::write(&bogus, b"not an archive").unwrap();
    let (code, _, err) = run(portlib(cache.path())
        .args(["upstream", "path", "--cpython"])
        .arg(&bogus));
    assert_eq!(code, 2);
    assert!(
        err.contains("bogus.tar.xz") && err.contains("neither xz- nor gzip-compressed"),
        "{err}"
    );
}

#[test]
fn verify_counts_the_shared_tarball() {
    let cache = tempfile::tempdir().unwrap();
    let (code, out, err) = run(portlib(cache.path())
        .args(["upstream", "verify", "--cpython"])
        .arg(shared_upstream()));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(", 1505 of them .py"), "{out}");
}

#[test]
fn fetch_from_the_repack_is_refused_and_installs_nothing() {
    let shared = shared_upstream();
    let cache = tempfile::tempdir().unwrap();
    let (code, out, err) = run(portlib(cache.path())
        .args(["upstream", "fetch", "--from"])
        .arg(&shared));
    if portlib::upstream::OFFICIAL_TARBALLS
        .iter()
        .any(|t| Some(t.sha256) == portlib::upstream::sha256_file(&shared).ok().as_deref())
    {
        assert_eq!(code, 0, "official tarball refused: {err}");
        return;
    }
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("not the official CPython 3.4.9 release tarball"),
        "{err}"
    );
    assert_no_files(cache.path());
}

#[test]
fn fetch_from_url_checks_the_official_pin() {
    let server = Server::start(vec![Reply::Body(txz(&entries(&mini_release("x/"))))]);
    let cache = tempfile::tempdir().unwrap();
    let url = server.url("/Python-3.4.9.tar.xz");
    let (code, _, err) =
        run(portlib(cache.path()).args(["upstream", "fetch", "-q", "--url", &url]));
    assert_eq!(server.finish(), 1);
    assert_eq!(code, 2);
    assert!(err.contains(&url) && err.contains("SHA-256"), "{err}");
    assert_no_files(cache.path());
}

#[test]
fn from_and_url_conflict() {
    let cache = tempfile::tempdir().unwrap();
    let (code, _, err) = run(portlib(cache.path()).args([
        "upstream",
        "fetch",
        "--from",
        "a.tgz",
        "--url",
        "http://127.0.0.1:9/",
    ]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot be used with"), "{err}");
}

#[test]
fn verify_flags_an_incomplete_lib() {
    let (cache, cached) = filled_cache();
    let (code, out, err) = run(portlib(cache.path()).args(["upstream", "verify"]));
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("4 files in Lib/, 3 of them .py"), "{out}");
    assert!(out.contains(cached.to_str().unwrap()), "{out}");
    assert!(err.contains("1505") && err.contains("incomplete"), "{err}");
}
