//! `MpyFile::parse` must never panic, and whatever it accepts must re-serialise to exactly the
//! same bytes.

use std::fs;
use std::path::Path;

use portlib::mpy::disasm::disassemble_to_string;
use portlib::mpy::file::MpyFile;
use proptest::prelude::*;

fn golden_bytes() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mpy");
    let mut names: Vec<_> = fs::read_dir(&dir)
        .expect("fixtures folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "mpy"))
        .collect();
    names.sort();
    let out: Vec<Vec<u8>> = names.iter().filter_map(|p| fs::read(p).ok()).collect();
    assert!(!out.is_empty(), "no golden .mpy files in {}", dir.display());
    out
}

fn check(data: &[u8]) {
    if let Ok(file) = MpyFile::parse(data) {
        assert_eq!(file.to_bytes(), data);
        // The disassembler must cope with anything the reader accepts.
        let _ = disassemble_to_string(&file);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes(mut data in proptest::collection::vec(any::<u8>(), 0..300), valid_header in any::<bool>()) {
        if valid_header && data.len() >= 4 {
            data[..4].copy_from_slice(&[0x4D, 0x06, 0x00, 0x1F]);
        }
        check(&data);
    }

    #[test]
    fn mutated_goldens(
        which in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..4),
    ) {
        let goldens = golden_bytes();
        let mut data = which.get(&goldens).clone();
        for (at, byte, kind) in edits {
            if data.is_empty() {
                break;
            }
            let i = at.index(data.len());
            match kind {
                0 => data[i] = byte,
                1 => data[i] ^= 1 << (byte % 8),
                2 => { data.remove(i); }
                _ => data.truncate(i),
            }
        }
        check(&data);
    }
}

/// Exhaustive small damage to every golden: each prefix, and each byte with its top bit or its
/// low bit flipped. Parsing must not panic, and whatever parses must round-trip.
#[test]
fn every_prefix_and_bit_flip_of_the_goldens() {
    for golden in golden_bytes() {
        // Every prefix of the smaller goldens (the cost is quadratic in the size).
        let prefixes = if golden.len() <= 2048 {
            golden.len()
        } else {
            0
        };
        for len in 0..prefixes {
            assert!(
                MpyFile::parse(&golden[..len]).is_err(),
                "a strict prefix parsed"
            );
        }
        // Large goldens get the same treatment on their first 1 KB, which covers the header,
        // the tables and the first raw codes.
        for i in 0..golden.len().min(1024) {
            for mask in [0x80u8, 0x01] {
                let mut data = golden.clone();
                data[i] ^= mask;
                check(&data);
            }
        }
    }
}
