//! Board-operation tests: the snippets' replies and the write protocol, on the scripted fake.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use super::*;
use crate::board::fake::{FakeTransport, Step};
use crate::board::raw_repl::Timeouts;

const RAW: &str = "raw REPL; CTRL-B to exit\r\n>";

fn enter() -> Vec<Step> {
    vec![
        Step::expect("\r\x03\x03"),
        Step::reply("\r\n>>> "),
        Step::expect("\r\x01"),
        Step::reply(format!("\r\n{RAW}")),
    ]
}

/// One raw-paste exec answered with `out` on stdout and `err` as traceback.
fn ex_full(out: &str, err: &str) -> Vec<Step> {
    vec![
        Step::expect("\x05A\x01"),
        // 4 KiB window: snippets fit in the first credit.
        Step::reply("R\x01\x00\x10\x01"),
        Step::capture("\x04"),
        Step::reply(format!("\x04{out}\x04{err}\x04>")),
    ]
}

fn ex(out: &str) -> Vec<Step> {
    ex_full(out, "")
}

fn board(steps: Vec<Vec<Step>>) -> SerialBoard<FakeTransport> {
    let mut script = enter();
    for s in steps {
        script.extend(s);
    }
    let mut repl = RawRepl::new(FakeTransport::new(script));
    repl.timeouts = Timeouts {
        enter: Duration::from_millis(200),
        drain_quiet: Duration::from_millis(20),
        drain_max: Duration::from_millis(300),
        handshake: Duration::from_millis(300),
        soft_reset: Duration::from_millis(500),
    };
    let mut b = SerialBoard::new(repl);
    b.op_timeout = Duration::from_secs(2);
    b
}

/// The code of every exec, as text without the final Ctrl-D.
fn codes(b: SerialBoard<FakeTransport>, finished: bool) -> Vec<String> {
    let f = b.into_repl().into_transport();
    if finished {
        f.assert_done();
    }
    f.captured()
        .iter()
        .map(|c| String::from_utf8_lossy(c.strip_suffix(b"\x04").unwrap_or(c)).into_owned())
        .collect()
}

fn digest_b64(data: &[u8]) -> String {
    B64.encode(sha256(data))
}

const TRACE_EROFS: &str = "Traceback (most recent call last):\r\n  File \"<stdin>\", line 7, in <module>\r\nOSError: [Errno 30] Read-only filesystem\r\n";

#[test]
fn board_info_parses_circuitpython() {
    let mut b = board(vec![ex(
        "name=circuitpython\r\nversion=9.2.1\r\nmpy=6\r\nplatform=MicroChip SAMD51\r\nmachine=Adafruit Metro M4 Express with samd51j19\r\nrelease=9.2.1\r\nhashlib=0\r\nmem_free=150000\r\nmem_alloc=12000\r\n",
    )]);
    let info = b.board_info().unwrap();
    assert_eq!(info.flavor, Flavor::CircuitPython);
    assert_eq!(info.version, "9.2.1");
    assert_eq!(info.mpy_version(), Some(6));
    assert!(!info.has_hashlib);
    assert_eq!(info.mem_free, 150_000);
    assert_eq!(info.machine, "Adafruit Metro M4 Express with samd51j19");
    // hashlib is now known: no extra exec for it.
    assert!(!b.has_hashlib().unwrap());
    let code = &codes(b, true)[0];
    assert!(code.contains("sys.implementation") && code.contains("gc.mem_free()"));
}

#[test]
fn board_info_micropython_mpy_sub_version() {
    let mpy = 6 | (3 << 8) | (7 << 10);
    let mut b = board(vec![ex(&format!(
        "name=micropython\r\nversion=1.26.1\r\nmpy={mpy}\r\nplatform=qemu\r\nmachine=QEMU with Cortex-M3\r\nrelease=1.26.1\r\nhashlib=1\r\nmem_free=100\r\nmem_alloc=20\r\n"
    ))]);
    let info = b.board_info().unwrap();
    assert_eq!(info.flavor, Flavor::MicroPython);
    assert_eq!(info.mpy_version(), Some(6));
    assert_eq!(info.mpy_sub_version(), Some(3));
    assert!(info.has_hashlib);
}

#[test]
fn board_info_garbage_is_bad_reply() {
    let mut b = board(vec![ex("what\r\n")]);
    assert!(matches!(b.board_info(), Err(BoardError::BadReply { .. })));
}

#[test]
fn write_atomic_with_hashlib() {
    let data: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut b = board(vec![
        ex(""),      // open tmp
        ex(""),      // chunk 1
        ex(""),      // chunk 2
        ex(""),      // chunk 3
        ex(""),      // close
        ex("1\r\n"), // hashlib?
        ex(&format!("0 {}\r\n", digest_b64(&data))),
        ex(""), // rename
    ]);
    b.chunk_size = Some(2048);
    b.write_file_atomic("/lib/big.mpy", &data).unwrap();
    let codes = codes(b, true);
    assert_eq!(codes.len(), 8);
    assert!(codes[0].contains("_f=open('/lib/big.mpy.portlib-tmp','wb')"));
    // The chunks carry the data, in order, as base64.
    let mut sent = Vec::new();
    for c in &codes[1..4] {
        let b64 = c
            .strip_prefix("_f.write(_d(b'")
            .and_then(|s| s.strip_suffix("'))\n"))
            .unwrap();
        sent.extend(B64.decode(b64).unwrap());
    }
    assert_eq!(sent, data);
    assert!(codes[4].contains("_f.close()"));
    assert!(
        codes[6].contains("hashlib.sha256()") && codes[6].contains("'/lib/big.mpy.portlib-tmp'")
    );
    assert!(codes[7].contains("os.rename('/lib/big.mpy.portlib-tmp','/lib/big.mpy')"));
    // Only the last exec ever names the real file.
    for c in &codes[..7] {
        assert!(
            !c.contains("'/lib/big.mpy'"),
            "real name touched early: {c}"
        );
    }
}

/// Regression: a chunk size of 0 (`portlib deploy --chunk-size 0`) panicked in
/// `slice::chunks`; it is taken as the smallest chunk, one byte.
#[test]
fn zero_chunk_size_sends_one_byte_per_exec() {
    let data = b"abc";
    let mut b = board(vec![
        ex(""), // open tmp
        ex(""), // a
        ex(""), // b
        ex(""), // c
        ex(""), // close
        ex("1\r\n"),
        ex(&format!("0 {}\r\n", digest_b64(data))),
        ex(""), // rename
    ]);
    b.chunk_size = Some(0);
    b.write_file_atomic("/lib/x.py", data).unwrap();
    assert_eq!(codes(b, true).len(), 8);
}

#[test]
fn a_small_file_is_uploaded_in_one_exec_once_the_protocol_is_known() {
    let data = b"X = 1\n".to_vec();
    let mut b = board(vec![
        ex("-\r\n"), // stat: raw-paste is negotiated here
        ex(""),      // open + write + close
        ex("1\r\n"), // hashlib?
        ex(&format!("0 {}\r\n", digest_b64(&data))),
        ex(""), // rename
    ]);
    assert_eq!(b.stat("/lib/x.py").unwrap(), None);
    b.write_file_atomic("/lib/x.py", &data).unwrap();
    let codes = codes(b, true);
    let upload = &codes[1];
    assert!(upload.contains("_f=open('/lib/x.py.portlib-tmp','wb')"));
    assert!(upload.contains(&format!("_f.write(_d(b'{}'))", B64.encode(&data))));
    assert!(upload.trim_end().ends_with("del _f"), "{upload}");
    assert!(codes[4].contains("os.rename('/lib/x.py.portlib-tmp','/lib/x.py')"));
}

#[test]
fn write_atomic_without_hashlib_reads_back() {
    let data = b"print('hi')\n".to_vec();
    let mut b = board(vec![
        ex(""),
        ex(""),
        ex(""),
        ex("0\r\n"), // no hashlib
        ex(&format!("0 +\r\n{}\r\n.\r\n", B64.encode(&data))),
        ex(""),
    ]);
    b.write_file_atomic("/code.py", &data).unwrap();
    let codes = codes(b, true);
    assert!(codes[4].contains("print(i,'+')"));
    assert!(codes[5].contains("os.rename"));
}

#[test]
fn verify_mismatch_keeps_the_real_file() {
    let mut b = board(vec![
        ex(""),
        ex(""),
        ex(""),
        ex("1\r\n"),
        ex(&format!("0 {}\r\n", digest_b64(b"other"))),
    ]);
    let err = b.write_file_atomic("/a.py", b"mine").unwrap_err();
    assert!(matches!(err, BoardError::VerifyFailed { .. }), "{err:?}");
    let codes = codes(b, true);
    assert!(codes.iter().all(|c| !c.contains("os.rename")));
}

#[test]
fn reset_mid_transfer_never_touches_the_real_name() {
    // The board resets (USB re-enumerates) during the second chunk.
    let data = vec![b'z'; 3000];
    let mut steps = vec![ex(""), ex("")];
    steps.push(vec![
        Step::expect("\x05A\x01"),
        Step::reply("R\x01\x00\x10\x01"),
        Step::capture("\x04"),
        Step::Disconnect,
    ]);
    let mut b = board(steps);
    b.chunk_size = Some(1024);
    let err = b.write_file_atomic("/lib/x.mpy", &data).unwrap_err();
    assert!(matches!(err, BoardError::Disconnected { .. }), "{err:?}");
    for c in codes(b, true) {
        assert!(!c.contains("'/lib/x.mpy'"), "real name touched: {c}");
        assert!(!c.contains("rename"), "rename attempted: {c}");
    }
}

#[test]
fn soft_reset_mid_transfer_is_detected() {
    // The VM restarted between chunks (auto-reload, watchdog): the open file handle is gone.
    let mut b = board(vec![
        ex(""),
        ex(""),
        ex_full(
            "",
            "Traceback (most recent call last):\r\n  File \"<stdin>\", line 1, in <module>\r\nNameError: name '_f' isn't defined\r\n",
        ),
    ]);
    b.chunk_size = Some(1024);
    let err = b.write_file_atomic("/lib/x.mpy", &[1u8; 3000]).unwrap_err();
    match &err {
        BoardError::Remote { traceback, .. } => assert!(traceback.contains("NameError")),
        other => panic!("{other:?}"),
    }
    for c in codes(b, true) {
        assert!(!c.contains("'/lib/x.mpy'"));
    }
}

#[test]
fn read_only_filesystem_explains_boot_py() {
    let mut b = board(vec![ex_full("", TRACE_EROFS)]);
    let err = b.write_file_atomic("/lib/x.mpy", b"data").unwrap_err();
    assert!(matches!(err, BoardError::ReadOnlyFs { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("storage.remount(\"/\", readonly=False)"),
        "{msg}"
    );
    assert!(msg.contains("boot.py") && msg.contains("CIRCUITPY"));
    // MicroPython spells it differently; an OSError raised from Python code has no "[Errno".
    let e = classify_remote_error("w", "/x", "OSError: [Errno 30] EROFS\r\n");
    assert!(matches!(e, BoardError::ReadOnlyFs { .. }));
    let e = classify_remote_error(
        "w",
        "/x",
        "Traceback:\r\n  File \"<stdin>\"\r\nOSError: 30\r\n",
    );
    assert!(matches!(e, BoardError::ReadOnlyFs { .. }));
    // Only the final line counts: an errno quoted earlier in the text does not.
    assert!(matches!(
        classify_remote_error("w", "/x", "OSError: 30\r\nValueError: later\r\n"),
        BoardError::Remote { .. }
    ));
    assert!(matches!(
        classify_remote_error("w", "/x", "OSError: [Errno 28] ENOSPC\r\n"),
        BoardError::NoSpace { .. }
    ));
    assert!(matches!(
        classify_remote_error("w", "/x", "OSError: [Errno 2] ENOENT\r\n"),
        BoardError::NotFound { .. }
    ));
}

#[test]
fn stat_listdir_and_missing() {
    let mut b = board(vec![
        ex("f 1234\r\n"),
        ex("-\r\n"),
        ex("d 0 lib\r\nf 12 code.py\r\nf 3 name with spaces.txt\r\n"),
        ex_full("", "OSError: [Errno 2] ENOENT\r\n"),
    ]);
    assert_eq!(
        b.stat("/code.py").unwrap(),
        Some(RemoteStat {
            is_dir: false,
            size: 1234
        })
    );
    assert_eq!(b.stat("/nope").unwrap(), None);
    let entries = b.listdir("/").unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["code.py", "lib", "name with spaces.txt"]);
    assert!(entries[1].stat.is_dir);
    assert!(matches!(
        b.listdir("/gone"),
        Err(BoardError::NotFound { .. })
    ));
    done_ok(b);
}

fn done_ok(b: SerialBoard<FakeTransport>) {
    codes(b, true);
}

#[test]
fn read_file_decodes_base64_lines() {
    let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let text: String = data
        .chunks(READ_PIECE)
        .map(|c| format!("{}\r\n", B64.encode(c)))
        .collect();
    let mut b = board(vec![ex(&text)]);
    assert_eq!(b.read_file("/x.bin").unwrap(), data);
}

#[test]
fn hash_files_on_board_with_missing() {
    let mut b = board(vec![
        ex("1\r\n"),
        ex(&format!("0 {}\r\n1 -\r\n", digest_b64(b"abc"))),
    ]);
    let map = b
        .hash_files(&["/a.py".to_string(), "/b.py".to_string()])
        .unwrap();
    assert_eq!(map["/a.py"], Some(sha256(b"abc")));
    assert_eq!(map["/b.py"], None);
}

#[test]
fn hash_files_short_reply_is_an_error() {
    let mut b = board(vec![ex("1\r\n"), ex("0 -\r\n")]);
    let err = b
        .hash_files(&["/a.py".to_string(), "/b.py".to_string()])
        .unwrap_err();
    assert!(matches!(err, BoardError::BadReply { .. }));
}

/// Regression: the reply was checked by its line count, so a garbled reply naming one index
/// twice and another not at all was accepted, leaving a file out of the map.
#[test]
fn hash_files_repeated_index_is_an_error() {
    let mut b = board(vec![ex("1\r\n"), ex("0 -\r\n0 -\r\n")]);
    let err = b
        .hash_files(&["/a.py".to_string(), "/b.py".to_string()])
        .unwrap_err();
    assert!(matches!(err, BoardError::BadReply { .. }), "{err:?}");
}

#[test]
fn hash_files_by_reading_back() {
    let mut b = board(vec![
        ex("0\r\n"),
        ex(&format!(
            "0 +\r\n{}\r\n.\r\n1 -\r\n2 +\r\n.\r\n",
            B64.encode(b"abc")
        )),
    ]);
    let paths = ["/a", "/b", "/empty"].map(String::from);
    let map = b.hash_files(&paths).unwrap();
    assert_eq!(map["/a"], Some(sha256(b"abc")));
    assert_eq!(map["/b"], None);
    assert_eq!(map["/empty"], Some(sha256(b"")));
}

#[test]
fn mkdir_p_remove_rename_codes() {
    let mut b = board(vec![ex(""), ex(""), ex(""), ex("")]);
    b.mkdir_p("/lib/json").unwrap();
    b.remove("/lib/json/x.mpy").unwrap();
    b.rmdir("/lib/json").unwrap();
    b.rename("/a", "/b").unwrap();
    let codes = codes(b, true);
    assert!(codes[0].contains("for p in ['/lib','/lib/json']:"));
    assert!(codes[1].contains("os.remove('/lib/json/x.mpy')"));
    assert!(codes[2].contains("os.rmdir('/lib/json')"));
    assert!(codes[3].contains("os.rename('/a','/b')"));
}

#[test]
fn bad_paths_never_reach_the_board() {
    let mut b = board(vec![]);
    assert!(matches!(
        b.write_file_atomic("lib\\x.mpy", b""),
        Err(BoardError::BadRemotePath { .. })
    ));
    // Nothing was sent, not even the raw-REPL entry.
    assert!(b.into_repl().into_transport().written().is_empty());
}

#[test]
fn py_str_escapes() {
    assert_eq!(py_str("/a'b\\c"), "'/a\\'b\\\\c'");
    assert_eq!(py_str("/é"), "'/é'");
}

#[test]
fn check_writable_reports_erofs_up_front() {
    let mut b = board(vec![ex(""), ex_full("", TRACE_EROFS)]);
    b.check_writable("/lib/").unwrap();
    let err = b.check_writable("/").unwrap_err();
    assert!(matches!(err, BoardError::ReadOnlyFs { ref path } if path == "/.portlib-probe"));
    let codes = codes(b, true);
    assert!(codes[0].contains("open('/lib/.portlib-probe','wb')"));
    assert!(codes[0].contains("os.remove('/lib/.portlib-probe')"));
}

#[test]
fn write_progress_counts_chunks() {
    let data = vec![7u8; 2500];
    let mut b = board(vec![
        ex(""),
        ex(""),
        ex(""),
        ex(""),
        ex(""),
        ex("1\r\n"),
        ex(&format!("0 {}\r\n", digest_b64(&data))),
        ex(""),
    ]);
    b.chunk_size = Some(1000);
    let mut seen = Vec::new();
    b.write_file_with_progress("/p.bin", &data, &mut |done, total| seen.push((done, total)))
        .unwrap();
    assert_eq!(seen, [(1000, 2500), (2000, 2500), (2500, 2500)]);
}

#[test]
fn read_back_goes_in_batches() {
    let paths: Vec<String> = (0..20).map(|i| format!("/f{i}")).collect();
    let missing = |n: usize| -> String { (0..n).map(|i| format!("{i} -\r\n")).collect() };
    let mut b = board(vec![ex("0\r\n"), ex(&missing(16)), ex(&missing(4))]);
    let map = b.hash_files(&paths).unwrap();
    assert_eq!(map.len(), 20);
    assert!(map.values().all(Option::is_none));
    let codes = codes(b, true);
    assert!(codes[1].contains("'/f15'") && !codes[1].contains("'/f16'"));
    assert!(codes[2].contains("'/f16'") && codes[2].contains("'/f19'"));
}
