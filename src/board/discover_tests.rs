//! Discovery tests on fixture data (`tests/fixtures/board/`), never on this machine's devices.

use super::*;

const MOUNTINFO: &str = include_str!("../../tests/fixtures/board/mountinfo-linux.txt");
const PORTS: &str = include_str!("../../tests/fixtures/board/ports-two-boards.json");
const METRO_CP9: &str = include_str!("../../tests/fixtures/board/boot_out-metro-m4-cp9.txt");
const GC_CP10: &str = include_str!("../../tests/fixtures/board/boot_out-grandcentral-cp10.txt");
const METRO_CP7: &str = include_str!("../../tests/fixtures/board/boot_out-metro-m4-cp7.txt");

fn ports() -> Vec<PortInfo> {
    serde_json::from_str(PORTS).unwrap()
}

fn drive(path: &str, boot_out: &str) -> DriveInfo {
    DriveInfo {
        path: PathBuf::from(path),
        label: Some("CIRCUITPY".into()),
        boot_out: Some(BootOut::parse(boot_out).unwrap()),
    }
}

#[test]
fn mountinfo_fixture() {
    let mounts = parse_mountinfo(MOUNTINFO);
    assert_eq!(mounts.len(), 7, "the malformed line is skipped");
    let boards = board_mount_points(&mounts);
    assert_eq!(
        boards,
        [
            PathBuf::from("/boot/efi"),
            PathBuf::from("/media/ada/CIRCUITPY"),
            PathBuf::from("/media/ada/CIRCUITPY 1"),
        ]
    );
    assert_eq!(mounts[4].source, "/dev/sdb1");
    assert_eq!(mounts[4].fs_type, "vfat");
}

#[test]
fn unescape() {
    assert_eq!(unescape_octal(r"/a\040b\134c\011"), "/a b\\c\t");
    assert_eq!(unescape_octal(r"/x\04"), r"/x\04");
    assert_eq!(unescape_octal(r"/x\999"), r"/x\999");
}

#[test]
fn pair_by_serial_number_ignoring_case() {
    let drives = vec![
        drive("/media/ada/CIRCUITPY 1", GC_CP10),
        drive("/media/ada/CIRCUITPY", METRO_CP9),
    ];
    let found = pair(ports(), drives);
    assert_eq!(found.len(), 3);
    let metro = &found[0];
    assert_eq!(metro.port.as_ref().unwrap().name, "/dev/ttyACM0");
    assert_eq!(
        metro.drive.as_ref().unwrap().path,
        PathBuf::from("/media/ada/CIRCUITPY")
    );
    let gc = &found[1];
    assert_eq!(
        gc.drive.as_ref().unwrap().path,
        PathBuf::from("/media/ada/CIRCUITPY 1")
    );
    assert!(found[2].drive.is_none());
    assert!(!found[2].is_known_board());
    assert!(metro.describe().contains("[239a:8021]"));
    assert!(metro
        .describe()
        .contains("CircuitPython 9.2.1 on Adafruit Metro M4 Express"));
}

#[test]
fn unpaired_drive_stays_separate() {
    let mut p = ports();
    p.truncate(1);
    let found = pair(p, vec![drive("/media/ada/CIRCUITPY 1", GC_CP10)]);
    assert_eq!(found.len(), 2);
    assert!(found[0].drive.is_none());
    assert!(found[1].port.is_none());
}

#[test]
fn cp7_without_uid_pairs_only_when_unambiguous() {
    let mut p = ports();
    p.truncate(1);
    let found = pair(p.clone(), vec![drive("/media/ada/CIRCUITPY", METRO_CP7)]);
    assert_eq!(found.len(), 1);
    assert!(found[0].drive.is_some() && found[0].port.is_some());
    // Two Adafruit ports: no guessing.
    let found = pair(ports(), vec![drive("/media/ada/CIRCUITPY", METRO_CP7)]);
    assert_eq!(found.len(), 4);
}

#[test]
fn resolve_auto() {
    let both = pair(
        ports(),
        vec![
            drive("/media/ada/CIRCUITPY", METRO_CP9),
            drive("/media/ada/CIRCUITPY 1", GC_CP10),
        ],
    );
    match resolve_board(&BoardSpec::Auto, &both) {
        Err(BoardError::Ambiguous { candidates }) => {
            assert_eq!(
                candidates.len(),
                2,
                "the UART bridge is not a board: {candidates:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    let one = pair(
        ports()[..1].to_vec(),
        vec![drive("/media/ada/CIRCUITPY", METRO_CP9)],
    );
    let c = resolve_board(&BoardSpec::Auto, &one).unwrap();
    assert_eq!(c.port.unwrap().name, "/dev/ttyACM0");
    assert!(matches!(
        resolve_board(&BoardSpec::Auto, &[]),
        Err(BoardError::NoBoard)
    ));
    // Only an unknown USB serial device: still offered, as the only thing there is.
    let other = pair(ports()[2..].to_vec(), vec![]);
    let c = resolve_board(&BoardSpec::Auto, &other).unwrap();
    assert_eq!(c.port.unwrap().name, ports()[2].name);
}

#[test]
fn resolve_port_and_drive() {
    let found = pair(ports(), vec![drive("/media/ada/CIRCUITPY", METRO_CP9)]);
    let c = resolve_board(&BoardSpec::Port("/dev/ttyACM0".into()), &found).unwrap();
    assert!(c.drive.is_some(), "the paired drive comes along");
    let c = resolve_board(&BoardSpec::Drive("/media/ada/CIRCUITPY".into()), &found).unwrap();
    assert_eq!(c.port.unwrap().name, "/dev/ttyACM0");
    match resolve_board(&BoardSpec::Port("/dev/ttyNOPE9".into()), &found) {
        Err(BoardError::UnknownBoard { known, .. }) => assert_eq!(known.len(), 3),
        other => panic!("{other:?}"),
    }
    // A Windows COM name that discovery did not list is taken as given, without a drive.
    for com in ["COM7", r"\\.\COM12"] {
        let c = resolve_board(&BoardSpec::Port(com.into()), &found).unwrap();
        assert_eq!(c.port.map(|p| p.name).as_deref(), Some(com));
        assert!(c.drive.is_none(), "{com}");
    }
}

#[test]
fn spec_parsing_and_drive_probe() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("CIRCUITPY");
    std::fs::create_dir(&root).unwrap();
    assert_eq!(parse_spec("auto"), BoardSpec::Auto);
    assert_eq!(parse_spec(""), BoardSpec::Auto);
    assert_eq!(
        parse_spec("/dev/ttyACM0"),
        BoardSpec::Port("/dev/ttyACM0".into())
    );
    assert_eq!(
        parse_spec(root.to_str().unwrap()),
        BoardSpec::Drive(root.clone())
    );
    // Named like a drive but no boot_out.txt yet.
    let d = probe_drive(&root, None).unwrap();
    assert!(d.boot_out.is_none());
    std::fs::write(root.join("boot_out.txt"), METRO_CP9).unwrap();
    let d = probe_drive(&root, None).unwrap();
    assert_eq!(
        d.boot_out.unwrap().board_id.as_deref(),
        Some("metro_m4_express")
    );
    // Any other folder is not a board drive.
    assert!(probe_drive(dir.path(), None).is_none());
    // ...but can be named explicitly.
    let c = resolve_board(&BoardSpec::Drive(dir.path().to_path_buf()), &[]).unwrap();
    assert!(c.drive.unwrap().boot_out.is_none());
}
