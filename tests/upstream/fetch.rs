//! `fetch` against a local HTTP server: what lands in the cache, and what never does.

use std::path::{Path, PathBuf};

use portlib::upstream::{
    fetch, sha256_hex, DownloadFailure, FetchOptions, Upstream, UpstreamError,
};

use crate::support::{
    assert_no_files, dead_url, entries, files_under, mini_release, txz, Reply, Server,
};

fn tarball() -> Vec<u8> {
    txz(&entries(&mini_release("Python-3.4.9/")))
}

fn options(url: String, sha: &str, cache: &Path) -> FetchOptions {
    FetchOptions {
        url,
        expected_sha256: sha.to_owned(),
        cache: Some(cache.to_path_buf()),
    }
}

fn download_failure(result: Result<PathBuf, UpstreamError>, url: &str) -> DownloadFailure {
    match result {
        Err(UpstreamError::Download { url: u, source }) => {
            assert_eq!(u, url);
            source
        }
        other => panic!("expected a Download error, got {other:?}"),
    }
}

#[test]
fn good_download_is_installed_and_reused() {
    let bytes = tarball();
    let server = Server::start(vec![Reply::Body(bytes.clone())]);
    let url = server.url("/ftp/python/3.4.9/Python-3.4.9.tar.xz");
    let cache = tempfile::tempdir().unwrap();
    // Upper-case hex must be accepted as well.
    let opts = options(
        url.clone(),
        &sha256_hex(&bytes).to_uppercase(),
        cache.path(),
    );
    let mut calls = Vec::new();
    let dest = fetch(&opts, &mut |done, total| calls.push((done, total))).unwrap();
    assert_eq!(server.finish(), 1);

    assert_eq!(dest, cache.path().join("upstream/Python-3.4.9.tar.xz"));
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert_eq!(
        files_under(cache.path()),
        [PathBuf::from("upstream/Python-3.4.9.tar.xz")],
        "only the tarball, no temp files"
    );
    let len = bytes.len() as u64;
    assert_eq!(calls.first(), Some(&(0, Some(len))));
    assert_eq!(calls.last(), Some(&(len, Some(len))));
    assert!(
        calls.windows(2).all(|w| w[0].0 <= w[1].0),
        "progress went backwards"
    );
    let up = Upstream::open(&dest).unwrap();
    assert!(up.file("fnmatch.py").is_some());

    // Already there and verified: no request is made (nothing listens any more).
    let again = fetch(&opts, &mut |_, _| panic!("no download expected")).unwrap();
    assert_eq!(again, dest);
}

#[test]
fn tgz_url_installs_as_tgz() {
    let bytes = crate::support::tgz(&entries(&mini_release("Python-3.4.9/")));
    let server = Server::start(vec![Reply::Body(bytes.clone())]);
    let cache = tempfile::tempdir().unwrap();
    let opts = options(
        server.url("/Python-3.4.9.tgz?mirror=1"),
        &sha256_hex(&bytes),
        cache.path(),
    );
    let dest = fetch(&opts, &mut |_, _| {}).unwrap();
    server.finish();
    assert_eq!(dest, cache.path().join("upstream/Python-3.4.9.tgz"));
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
}

#[test]
fn wrong_hash_leaves_nothing_in_the_cache() {
    let bytes = tarball();
    let server = Server::start(vec![Reply::Body(bytes.clone())]);
    let url = server.url("/Python-3.4.9.tar.xz");
    let cache = tempfile::tempdir().unwrap();
    let pinned = sha256_hex(b"something else");
    let result = fetch(&options(url.clone(), &pinned, cache.path()), &mut |_, _| {});
    server.finish();
    match download_failure(result, &url) {
        DownloadFailure::HashMismatch { expected, actual } => {
            assert_eq!(expected, pinned);
            assert_eq!(actual, sha256_hex(&bytes));
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    assert_no_files(cache.path());
}

#[test]
fn failed_download_keeps_the_previous_install() {
    let good = tarball();
    let cache = tempfile::tempdir().unwrap();
    let server = Server::start(vec![
        Reply::Body(good.clone()),
        Reply::Body(b"evil".to_vec()),
    ]);
    let url = server.url("/Python-3.4.9.tar.xz");
    let dest = fetch(
        &options(url.clone(), &sha256_hex(&good), cache.path()),
        &mut |_, _| {},
    )
    .unwrap();
    // A second fetch pinned to other bytes downloads, fails, and must not touch the install.
    let err = fetch(
        &options(url, &sha256_hex(b"other"), cache.path()),
        &mut |_, _| {},
    )
    .unwrap_err();
    server.finish();
    assert!(matches!(err, UpstreamError::Download { .. }), "{err:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), good);
    assert_eq!(files_under(cache.path()).len(), 1);
}

#[test]
fn truncated_download_is_rejected() {
    let bytes = tarball();
    let half = bytes[..bytes.len() / 2].to_vec();
    let server = Server::start(vec![Reply::Truncated {
        body: half,
        announced: bytes.len(),
    }]);
    let url = server.url("/Python-3.4.9.tar.xz");
    let cache = tempfile::tempdir().unwrap();
    let result = fetch(
        &options(url.clone(), &sha256_hex(&bytes), cache.path()),
        &mut |_, _| {},
    );
    server.finish();
    let failure = download_failure(result, &url);
    assert!(
        matches!(
            failure,
            DownloadFailure::Body(_) | DownloadFailure::Truncated { .. }
        ),
        "{failure:?}"
    );
    assert_no_files(cache.path());
}

#[test]
fn http_error_status_is_a_download_error() {
    let server = Server::start(vec![Reply::Status(404)]);
    let url = server.url("/Python-3.4.9.tar.xz");
    let cache = tempfile::tempdir().unwrap();
    let result = fetch(
        &options(url.clone(), &sha256_hex(b""), cache.path()),
        &mut |_, _| {},
    );
    server.finish();
    let failure = download_failure(result, &url);
    assert!(failure.to_string().contains("404"), "{failure}");
    assert_no_files(cache.path());
}

#[test]
fn unreachable_server_is_a_download_error_saying_what_to_do() {
    let url = dead_url("/Python-3.4.9.tar.xz");
    let cache = tempfile::tempdir().unwrap();
    let err = fetch(
        &options(url.clone(), &sha256_hex(b""), cache.path()),
        &mut |_, _| {},
    )
    .unwrap_err();
    assert!(matches!(err, UpstreamError::Download { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&url) && msg.contains("fetch --from FILE"),
        "{msg}"
    );
    assert_no_files(cache.path());
}
