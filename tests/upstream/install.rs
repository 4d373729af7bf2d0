//! `install_tarball`: only the official release tarballs get into the cache.

use portlib::upstream::{
    install_tarball, sha256_file, UpstreamError, OFFICIAL_TARBALLS, OFFICIAL_XZ,
};

use crate::support::{assert_no_files, chain, entries, mini_release, shared_upstream, txz};

#[test]
fn shared_repack_is_refused_with_both_hashes_and_a_way_out() {
    let shared = shared_upstream();
    assert!(
        shared.is_file(),
        "this test needs the upstream tarball, not a folder: {}",
        shared.display()
    );
    let actual = sha256_file(&shared).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let result = install_tarball(&shared, cache.path());
    if let Some(pin) = OFFICIAL_TARBALLS.iter().find(|t| t.sha256 == actual) {
        // PORTLIB_CPYTHON names a genuine release tarball: it must install.
        let dest = result.unwrap();
        assert_eq!(dest, cache.path().join("upstream").join(pin.file_name));
        assert_eq!(sha256_file(&dest).unwrap(), actual);
        return;
    }
    let err = result.unwrap_err();
    match &err {
        UpstreamError::HashMismatch {
            path,
            expected,
            actual: got,
        } => {
            assert_eq!(path, &shared);
            assert_eq!(got, &actual);
            assert_eq!(
                expected, OFFICIAL_XZ.sha256,
                "a .tar.xz is held to the .tar.xz pin"
            );
        }
        other => panic!("expected HashMismatch, got {other:?}"),
    }
    let msg = err.to_string();
    for needle in [
        shared.file_name().unwrap().to_str().unwrap(),
        &actual,
        OFFICIAL_XZ.sha256,
        "portlib upstream fetch",
        "--cpython",
    ] {
        assert!(msg.contains(needle), "message lacks {needle:?}: {msg}");
    }
    assert_no_files(cache.path());
}

#[test]
fn tgz_name_is_held_to_the_tgz_pin() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("Python-3.4.9.tgz");
    std::fs::write(&file, txz(&entries(&mini_release("Python-3.4.9/")))).unwrap();
    let cache = tmp.path().join("cache");
    let err = install_tarball(&file, &cache).unwrap_err();
    assert!(
        matches!(err, UpstreamError::HashMismatch { ref expected, .. } if expected == OFFICIAL_TARBALLS[1].sha256),
        "{err:?}"
    );
    assert_no_files(&cache);
}

#[test]
fn missing_file_is_an_io_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = install_tarball(&tmp.path().join("absent.tar.xz"), tmp.path()).unwrap_err();
    assert!(matches!(err, UpstreamError::Io { .. }), "{err:?}");
    assert!(chain(&err).contains("absent.tar.xz"));
}
