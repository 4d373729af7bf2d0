//! `Upstream::open` on the shared tarball, on folders and on archives built in the test.

use std::path::Path;

use portlib::upstream::{ArchiveProblem, Upstream, UpstreamError};

use crate::support::{self, entries, mini_release, shared_upstream, tar, tgz, txz};

const MINI_LIB: [&str; 4] = [
    "fnmatch.py",
    "test/data.bin",
    "unittest/__init__.py",
    "unittest/case.py",
];

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn paths(up: &Upstream) -> Vec<&str> {
    up.paths().collect()
}

#[test]
fn shared_tarball_holds_cpython_lib() {
    let path = shared_upstream();
    let up = Upstream::open(&path).unwrap_or_else(|e| panic!("{}", support::chain(&e)));
    assert_eq!(up.origin(), path);
    let all = paths(&up);
    let py = all.iter().filter(|p| p.ends_with(".py")).count();
    assert_eq!(py, 1505, "CPython 3.4.9 has 1,505 .py files under Lib/");
    let mut sorted = all.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(all, sorted, "paths() must be sorted and unique");
    assert!(all
        .iter()
        .all(|p| !p.contains('\\') && !p.starts_with("Lib/")));
    let fnmatch = up.file("fnmatch.py").expect("fnmatch.py");
    assert!(fnmatch.starts_with(b"\"\"\"Filename matching with shell patterns."));
    let case = std::str::from_utf8(up.file("unittest/case.py").unwrap()).unwrap();
    assert!(case.contains("class TestCase(object):"));
    assert!(
        up.file("LICENSE").is_none(),
        "files outside Lib/ must not be read"
    );
    assert!(up.file("os.py").is_some() && up.file("no/such.py").is_none());
}

#[test]
fn folder_root_and_lib_give_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cpython");
    for (name, data) in mini_release("") {
        write(&root, &name, &data);
    }
    write(
        &root,
        "Lib/unittest/__pycache__/case.cpython-34.pyc",
        b"\x00",
    );
    let from_root = Upstream::open(&root).unwrap();
    let from_lib = Upstream::open(&root.join("Lib")).unwrap();
    assert_eq!(paths(&from_root), MINI_LIB);
    assert_eq!(paths(&from_lib), MINI_LIB);
    assert_eq!(from_lib.origin(), root.join("Lib"));
    assert_eq!(
        from_root.file("test/data.bin"),
        Some(&[0u8, 0xff, 0x80, b'\n'][..])
    );
}

#[test]
fn folder_without_lib_is_not_cpython() {
    let tmp = tempfile::tempdir().unwrap();
    write(tmp.path(), "Modules/main.c", b"");
    let err = Upstream::open(tmp.path()).unwrap_err();
    assert!(matches!(err, UpstreamError::NotCpython { ref path } if path == tmp.path()));
    assert!(err.to_string().contains("no `Lib/` folder"), "{err}");

    let empty_lib = tmp.path().join("Lib");
    std::fs::create_dir(&empty_lib).unwrap();
    let err = Upstream::open(&empty_lib).unwrap_err();
    assert!(matches!(err, UpstreamError::NotCpython { .. }), "{err:?}");
}

#[test]
fn missing_path_is_an_io_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope.tar.xz");
    let err = Upstream::open(&missing).unwrap_err();
    assert!(matches!(err, UpstreamError::Io { ref path, .. } if *path == missing));
    assert!(err.to_string().contains("nope.tar.xz"));
}

/// Build `bytes` as a file named `name` in a temp dir and open it.
fn open_bytes(name: &str, bytes: &[u8]) -> Result<Upstream, UpstreamError> {
    let tmp = tempfile::tempdir().unwrap();
    let path = write(tmp.path(), name, bytes);
    Upstream::open(&path)
}

#[test]
fn archive_layouts_and_formats() {
    type Compress = fn(&[support::Entry]) -> Vec<u8>;
    let cases: [(&str, &str, Compress); 6] = [
        ("Python-3.4.9/", "Python-3.4.9.tgz", tgz),
        ("./cpython-3.4.9/", "cpython.tar.xz", txz),
        ("", "lib.tar.gz", tgz),
        ("top/", "lib.tar.xz", txz),
        // The format comes from the content, not the name.
        ("top/", "download.bin", txz),
        ("top/", "misnamed.tar.xz", tgz),
    ];
    for (top, name, compress) in cases {
        let owned = mini_release(top);
        let up = open_bytes(name, &compress(&entries(&owned)))
            .unwrap_or_else(|e| panic!("{top}{name}: {}", support::chain(&e)));
        assert_eq!(paths(&up), MINI_LIB, "{top} in {name}");
        assert_eq!(
            up.file("unittest/case.py"),
            Some(&b"class TestCase: pass\n"[..])
        );
    }
}

#[test]
fn hard_links_to_earlier_lib_files_are_resolved() {
    let mut owned = mini_release("top/");
    owned.push((
        "top/Lib/glob_copy.py".into(),
        b"LINK:top/Lib/fnmatch.py".to_vec(),
    ));
    owned.push((
        "top/Lib/dangling.py".into(),
        b"LINK:top/Lib/later.py".to_vec(),
    ));
    owned.push(("top/Lib/outside.py".into(), b"LINK:top/README".to_vec()));
    let up = open_bytes("links.tgz", &tgz(&entries(&owned))).unwrap();
    assert_eq!(up.file("glob_copy.py"), up.file("fnmatch.py"));
    assert!(up.file("glob_copy.py").is_some());
    assert!(up.file("dangling.py").is_none() && up.file("outside.py").is_none());

    owned.push(("top/Lib/evil.py".into(), b"LINK:top/Lib/../../x".to_vec()));
    let problem = bad_archive(open_bytes("links.tgz", &tgz(&entries(&owned))));
    assert!(
        matches!(problem, ArchiveProblem::UnsafeEntry { ref entry } if entry == "top/Lib/../../x")
    );
}

fn bad_archive(result: Result<Upstream, UpstreamError>) -> ArchiveProblem {
    match result {
        Err(UpstreamError::BadArchive { problem, .. }) => problem,
        other => panic!("expected BadArchive, got {other:?}"),
    }
}

#[test]
fn dotdot_and_absolute_entries_are_refused() {
    for name in [
        "top/Lib/../../evil.py",
        "/etc/Lib/passwd",
        "top/../Lib/x.py",
    ] {
        let mut owned = mini_release("top/");
        owned.push((name.to_owned(), b"x".to_vec()));
        let problem = bad_archive(open_bytes("evil.tgz", &tgz(&entries(&owned))));
        assert!(
            matches!(problem, ArchiveProblem::UnsafeEntry { ref entry } if entry == name),
            "{name}: {problem:?}"
        );
    }
}

#[test]
fn entries_outside_lib_are_checked_too() {
    let mut owned = mini_release("top/");
    owned.insert(0, ("../outside".to_owned(), b"x".to_vec()));
    let problem = bad_archive(open_bytes("evil.tar.xz", &txz(&entries(&owned))));
    assert!(
        matches!(problem, ArchiveProblem::UnsafeEntry { .. }),
        "{problem:?}"
    );
}

#[test]
fn two_top_folders_with_lib_are_ambiguous() {
    let mut owned = mini_release("a/");
    owned.extend(mini_release("b/"));
    let problem = bad_archive(open_bytes("two.tgz", &tgz(&entries(&owned))));
    assert!(
        matches!(problem, ArchiveProblem::SeveralTopFolders { ref first, ref second } if first == "a" && second == "b"),
        "{problem:?}"
    );
}

#[test]
fn archive_without_lib_is_not_cpython() {
    let err = open_bytes("x.tgz", &tgz(&[("top/README", b"hi")])).unwrap_err();
    assert!(matches!(err, UpstreamError::NotCpython { .. }), "{err:?}");
}

#[test]
fn unknown_format_and_plain_tar() {
    let problem = bad_archive(open_bytes("x.tar.xz", b"definitely not an archive"));
    assert!(matches!(problem, ArchiveProblem::UnknownFormat));
    // An uncompressed tar is not among the accepted formats either.
    let owned = mini_release("top/");
    let problem = bad_archive(open_bytes("x.tar", &tar(&entries(&owned))));
    assert!(matches!(problem, ArchiveProblem::UnknownFormat));
}

#[test]
fn truncated_archives_are_corrupt() {
    let owned = mini_release("top/");
    for (name, bytes) in [
        ("t.tgz", tgz(&entries(&owned))),
        ("t.tar.xz", txz(&entries(&owned))),
    ] {
        let cut = &bytes[..bytes.len() / 2];
        let err = open_bytes(name, cut).unwrap_err();
        assert!(
            matches!(
                err,
                UpstreamError::BadArchive {
                    problem: ArchiveProblem::Corrupt(_),
                    ..
                }
            ),
            "{name}: {err:?}"
        );
        let text = support::chain(&err);
        assert!(
            text.contains(name) && text.contains("corrupt or truncated"),
            "{text}"
        );
    }
}
