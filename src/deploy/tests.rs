use std::collections::BTreeMap;
use std::path::Path;

use super::memfs::MemFs;
use super::*;
use crate::board::fs::{hex, sha256};
use crate::board::output::Flavor;

fn make_bundle(dir: &Path, files: &[(&str, &[u8])]) -> Bundle {
    Bundle::create(dir, "micropython", files).unwrap()
}

const V1: &[(&str, &[u8])] = &[
    ("lib/a.py", b"A = 1\n"),
    ("lib/b.mpy", b"M\x06\x00\x1fbbbb"),
    ("lib/pkg/__init__.py", b""),
    ("lib/pkg/mod.py", b"X = 'v1'\n"),
    ("lib/gone/old.py", b"old\n"),
];
const V2: &[(&str, &[u8])] = &[
    ("lib/a.py", b"A = 2  # changed\n"),
    ("lib/b.mpy", b"M\x06\x00\x1fbbbb"),
    ("lib/pkg/__init__.py", b""),
    ("lib/pkg/mod.py", b"X = 'v1'\n"),
    ("lib/new.py", b"NEW = True\n"),
];

fn board_with_foreign() -> MemFs {
    let mut fs = MemFs::new();
    fs.dirs.insert("/lib".into());
    fs.files
        .insert("/lib/mine.py".into(), b"user's own".to_vec());
    fs.files.insert("/boot.py".into(), b"boot".to_vec());
    fs
}

/// Exactly the bundle (plus the untouched foreign files and the record), no temporary files.
fn assert_converged(fs: &MemFs, bundle: &Bundle) {
    let mut want: BTreeMap<String, Vec<u8>> = bundle
        .files
        .iter()
        .map(|f| (f.board_path.clone(), f.data.clone()))
        .collect();
    want.insert("/lib/mine.py".into(), b"user's own".to_vec());
    want.insert("/boot.py".into(), b"boot".to_vec());
    let record = fs.files.get(RECORD_PATH).expect("record written");
    let rec = InstallRecord::parse(record).unwrap();
    assert!(rec.complete);
    assert_eq!(rec.files.len(), bundle.files.len());
    let mut have = fs.files.clone();
    have.remove(RECORD_PATH);
    assert_eq!(have, want);
}

fn no_events() -> impl FnMut(&Event) {
    |_| {}
}

#[test]
fn first_deploy_then_nothing_to_do() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b"), V1);
    let mut fs = board_with_foreign();
    let r = deploy(&mut fs, &b1, &mut no_events()).unwrap();
    assert_eq!(r.copied.len(), 5);
    assert_eq!(r.unchanged, 0);
    assert_converged(&fs, &b1);

    fs.writes.clear();
    let ops = fs.ops;
    let p = plan(&mut fs, &b1).unwrap();
    assert!(p.is_noop(), "{p:?}");
    let r = deploy(&mut fs, &b1, &mut no_events()).unwrap();
    assert!(fs.writes.is_empty(), "{:?}", fs.writes);
    assert_eq!((r.copied.len(), r.unchanged, r.removed.len()), (0, 5, 0));
    // A redeploy is the record read and one hash batch per run, nothing else.
    assert_eq!(fs.ops - ops, 4);
}

#[test]
fn update_copies_changed_and_new_and_removes_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b1"), V1);
    let b2 = make_bundle(&tmp.path().join("b2"), V2);
    let mut fs = board_with_foreign();
    deploy(&mut fs, &b1, &mut no_events()).unwrap();
    fs.writes.clear();
    let p = plan(&mut fs, &b2).unwrap();
    let copies: Vec<(&str, CopyReason)> =
        p.copy.iter().map(|c| (c.path.as_str(), c.reason)).collect();
    assert_eq!(
        copies,
        [
            ("/lib/a.py", CopyReason::Changed),
            ("/lib/new.py", CopyReason::Missing)
        ]
    );
    assert_eq!(p.remove, ["/lib/gone/old.py"]);
    let mut events = Vec::new();
    let r = deploy(&mut fs, &b2, &mut |e| events.push(e.clone())).unwrap();
    assert_eq!(r.copied, ["/lib/a.py", "/lib/new.py"]);
    assert_eq!(r.removed, ["/lib/gone/old.py"]);
    assert_eq!(r.unchanged, 3);
    assert_converged(&fs, &b2);
    // The emptied folder went; /lib with the user's file stays.
    assert!(!fs.dirs.contains("/lib/gone"));
    assert!(fs.dirs.contains("/lib"));
    assert_eq!(
        events.first(),
        Some(&Event::Start {
            files: 2,
            bytes: (V2[0].1.len() + V2[4].1.len()) as u64
        })
    );
    // Only the two files (and the record, twice) were written.
    let written: Vec<&str> = fs.writes.iter().map(String::as_str).collect();
    assert_eq!(
        written,
        [
            "write /lib/.portlib-manifest.json",
            "write /lib/a.py",
            "write /lib/new.py",
            "remove /lib/gone/old.py",
            "rmdir /lib/gone",
            "write /lib/.portlib-manifest.json"
        ]
    );
}

#[test]
fn a_file_changed_behind_portlibs_back_is_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b1"), V1);
    let mut fs = board_with_foreign();
    deploy(&mut fs, &b1, &mut no_events()).unwrap();
    fs.files
        .insert("/lib/pkg/mod.py".into(), b"edited".to_vec());
    fs.files.remove("/lib/a.py");
    let r = deploy(&mut fs, &b1, &mut no_events()).unwrap();
    assert_eq!(r.copied, ["/lib/a.py", "/lib/pkg/mod.py"]);
    assert_converged(&fs, &b1);
}

/// Fail at every operation of a v1 → v2 deploy in turn: no real-name file is ever wrong, and a
/// re-run always converges.
#[test]
fn interrupted_at_every_operation_then_converges() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b1"), V1);
    let b2 = make_bundle(&tmp.path().join("b2"), V2);
    let mut base = board_with_foreign();
    deploy(&mut base, &b1, &mut no_events()).unwrap();
    let mut clean = base.clone();
    let start = clean.ops;
    deploy(&mut clean, &b2, &mut no_events()).unwrap();
    let total = clean.ops - start;
    assert!(total > 10);
    for n in 1..=total {
        let mut fs = base.clone();
        fs.fail_at = Some(fs.ops + n);
        let err = deploy(&mut fs, &b2, &mut no_events());
        assert!(
            matches!(
                err,
                Err(DeployError::Board(BoardError::Disconnected { .. }))
            ),
            "op {n}: {err:?}"
        );
        for (path, data) in &fs.files {
            if path.ends_with(".portlib-tmp") || path == RECORD_PATH {
                continue;
            }
            let ok = b1.file(path).is_some_and(|f| &f.data == data)
                || b2.file(path).is_some_and(|f| &f.data == data)
                || path == "/lib/mine.py"
                || path == "/boot.py";
            assert!(ok, "op {n}: {path} holds {data:?}");
        }
        fs.fail_at = None;
        deploy(&mut fs, &b2, &mut no_events()).unwrap();
        assert_converged(&fs, &b2);
    }
}

/// A run of v2 is interrupted after it copied `new.py`; the user then deploys v1, which does not
/// have it: the intent record makes `new.py` portlib's to remove.
#[test]
fn files_of_an_interrupted_run_are_still_owned() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b1"), V1);
    let b2 = make_bundle(&tmp.path().join("b2"), V2);
    let mut fs = board_with_foreign();
    deploy(&mut fs, &b1, &mut no_events()).unwrap();
    // Find an interruption after `new.py` was copied but before the final record.
    let base = fs.ops;
    let found = (1..200).find_map(|n| {
        let mut t = fs.clone();
        t.fail_at = Some(base + n);
        let failed = deploy(&mut t, &b2, &mut no_events()).is_err();
        (failed && t.files.contains_key("/lib/new.py")).then_some(t)
    });
    fs = found.expect("an interruption point after new.py was written");
    fs.fail_at = None;
    assert!(
        !InstallRecord::parse(&fs.files[RECORD_PATH])
            .unwrap()
            .complete
    );
    deploy(&mut fs, &b1, &mut no_events()).unwrap();
    assert!(!fs.files.contains_key("/lib/new.py"));
    assert_converged(&fs, &b1);
}

#[test]
fn read_only_board_fails_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b"), V1);
    let mut fs = board_with_foreign();
    fs.read_only = true;
    let err = deploy(&mut fs, &b1, &mut no_events()).unwrap_err();
    assert!(matches!(
        err,
        DeployError::Board(BoardError::ReadOnlyFs { .. })
    ));
    assert!(err.to_string().contains("storage.remount"), "{err}");
    assert!(fs.writes.is_empty());
}

#[test]
fn a_doctored_record_cannot_delete_other_files() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b"), V1);
    let mut fs = board_with_foreign();
    let rec = serde_json::json!({"portlib": "0", "complete": true, "files": {
        "/boot.py": "00", "/lib/../boot.py": "00", "/lib/mine.py.portlib-tmp": "00"}});
    fs.files
        .insert(RECORD_PATH.into(), rec.to_string().into_bytes());
    deploy(&mut fs, &b1, &mut no_events()).unwrap();
    assert_converged(&fs, &b1);

    fs.files.insert(RECORD_PATH.into(), b"{not json".to_vec());
    let p = plan(&mut fs, &b1).unwrap();
    assert!(p.remove.is_empty() && p.copy.is_empty() && p.write_record);
}

#[test]
fn stale_temporary_files_are_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b"), V1);
    let mut fs = board_with_foreign();
    deploy(&mut fs, &b1, &mut no_events()).unwrap();
    fs.files
        .insert("/lib/a.py.portlib-tmp".into(), b"A = ".to_vec());
    let p = plan(&mut fs, &b1).unwrap();
    assert_eq!(p.stale_temps, ["/lib/a.py.portlib-tmp"]);
    let r = deploy(&mut fs, &b1, &mut no_events()).unwrap();
    assert_eq!(r.stale_temps_removed, 1);
    assert_converged(&fs, &b1);
}

#[test]
fn bad_bundles_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("b");
    make_bundle(&dir, V1);
    std::fs::write(dir.join("lib/a.py"), b"edited after the build").unwrap();
    let err = Bundle::load(&dir).unwrap_err();
    assert!(
        matches!(err, DeployError::BundleMismatch { what: "size", .. }),
        "{err}"
    );

    std::fs::write(
        dir.join("manifest.json"),
        "{\"files\": [\n  {\"path\": 3}]}",
    )
    .unwrap();
    let err = Bundle::load(&dir).unwrap_err();
    assert!(
        matches!(err, DeployError::ManifestParse { line: 2, .. }),
        "{err}"
    );

    for bad in [
        "boot.py",
        "lib/../boot.py",
        "lib/x.py.portlib-tmp",
        "lib//x.py",
    ] {
        let m =
            serde_json::json!({"files": [{"path": bad, "size": 0, "sha256": hex(&sha256(b""))}]});
        std::fs::write(dir.join("manifest.json"), m.to_string()).unwrap();
        let err = Bundle::load(&dir).unwrap_err();
        assert!(
            matches!(err, DeployError::BadBundlePath { .. }),
            "{bad}: {err}"
        );
    }
    let err = Bundle::load(&tmp.path().join("nothing")).unwrap_err();
    assert!(err.to_string().contains("portlib build"), "{err}");
}

#[test]
fn a_record_garbled_on_the_link_stops_the_deploy() {
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b1"), V1);
    let b2 = make_bundle(&tmp.path().join("b2"), V2);
    let mut fs = board_with_foreign();
    deploy(&mut fs, &b1, &mut no_events()).unwrap();
    fs.garble_reads = true;
    fs.writes.clear();
    let err = deploy(&mut fs, &b2, &mut no_events()).unwrap_err();
    assert!(err.to_string().contains("does not match its hash"), "{err}");
    assert!(fs.writes.is_empty());
    fs.garble_reads = false;
    deploy(&mut fs, &b2, &mut no_events()).unwrap();
    assert_converged(&fs, &b2);
}

/// The same deploy onto a mounted CIRCUITPY folder (the mass-storage path): a missing record
/// and missing files come back as drive errors, which must read as "absent".
#[test]
fn deploy_onto_a_circuitpy_drive() {
    use crate::board::mass_storage::DriveBoard;
    let tmp = tempfile::tempdir().unwrap();
    let b1 = make_bundle(&tmp.path().join("b1"), V1);
    let b2 = make_bundle(&tmp.path().join("b2"), V2);
    let drive = tmp.path().join("CIRCUITPY");
    std::fs::create_dir_all(drive.join("lib")).unwrap();
    std::fs::write(
        drive.join("boot_out.txt"),
        "Adafruit CircuitPython 9.2.1 on 2024-11-20; Adafruit Metro M4 Express with samd51j19\r\nBoard ID:metro_m4_express\r\n",
    )
    .unwrap();
    std::fs::write(drive.join("lib/mine.py"), b"user's own").unwrap();
    let mut fs = DriveBoard::open(&drive).unwrap();
    let r = deploy(&mut fs, &b1, &mut no_events()).unwrap();
    assert_eq!(r.copied.len(), 5);
    let r = deploy(&mut fs, &b2, &mut no_events()).unwrap();
    assert_eq!(r.copied, ["/lib/a.py", "/lib/new.py"]);
    assert_eq!(r.removed, ["/lib/gone/old.py"]);
    for f in &b2.files {
        let local = drive.join(f.board_path.trim_start_matches('/'));
        assert_eq!(std::fs::read(local).unwrap(), f.data);
    }
    assert!(!drive.join("lib/gone").exists());
    assert_eq!(
        std::fs::read(drive.join("lib/mine.py")).unwrap(),
        b"user's own"
    );
    let r = deploy(&mut fs, &b2, &mut no_events()).unwrap();
    assert!(r.copied.is_empty() && !r.record_written);
}

/// Regression: a bundle compiled for the other firmware family deployed without a word, and
/// every import on the board then failed ("incompatible .mpy"). The magic byte tells.
#[test]
fn mpy_files_for_the_other_firmware_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let b = make_bundle(
        dir.path(),
        &[
            ("lib/a.py", b"C is fine in a .py"),
            ("lib/m.mpy", b"M\x06\x00\x1f"),
        ],
    );
    b.check_loadable_on(Flavor::MicroPython, "MicroPython 1.26.1")
        .unwrap();
    let err = b
        .check_loadable_on(Flavor::CircuitPython, "CircuitPython 9.2.1")
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DeployError::WrongFirmware { .. }), "{err:?}");
    assert!(
        msg.contains("/lib/m.mpy is compiled for MicroPython")
            && msg.contains("CircuitPython 9.2.1")
            && msg.contains("--target circuitpython"),
        "{msg}"
    );
    let dir = tempfile::tempdir().unwrap();
    let b = make_bundle(dir.path(), &[("lib/c.mpy", b"C\x06\x00\x1f")]);
    b.check_loadable_on(Flavor::CircuitPython, "CircuitPython 9.2.1")
        .unwrap();
    assert!(b
        .check_loadable_on(Flavor::MicroPython, "MicroPython 1.26.1")
        .is_err());
}
