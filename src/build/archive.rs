//! The reproducible zip of a bundle, named the way CircuitPython users know bundles.
//!
//! Same inputs, same bytes: entries sorted by name with an explicit entry per folder, every
//! timestamp the build's `SOURCE_DATE_EPOCH`, fixed permissions (0644 files, 0755 folders), one
//! compression method and level, no extra fields. The `zip` crate writes the container (its
//! format corners, like zip64 and the central directory, are not worth re-deriving); what makes
//! the bytes stable is that this module fixes every choice it would otherwise default.

use std::collections::BTreeSet;
use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{Format, Target};

/// The zip's bytes: `files` (path inside the zip, bytes) plus a folder entry for every folder
/// they are in, all stamped with `epoch` (seconds since 1970, UTC; clamped to the 1980–2107
/// range a zip can hold).
pub fn zip_bytes(files: &[(&str, &[u8])], epoch: u64) -> zip::result::ZipResult<Vec<u8>> {
    let (y, mo, d, h, mi, s) = civil(epoch.clamp(315_532_800, 4_354_819_199));
    // A zip holds even seconds only; rounding down keeps the stamp a pure function of epoch.
    let stamp = DateTime::from_date_and_time(y as u16, mo, d, h, mi, s - s % 2)
        .map_err(|_| zip::result::ZipError::InvalidArchive("timestamp out of range".into()))?;
    let base = SimpleFileOptions::default()
        .last_modified_time(stamp)
        .large_file(false);
    let file_opts = base
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .unix_permissions(0o644);
    let dir_opts = base.unix_permissions(0o755);

    let mut names: BTreeSet<String> = BTreeSet::new();
    for (path, _) in files {
        let mut dir = *path;
        while let Some(i) = dir.rfind('/') {
            dir = &dir[..i];
            names.insert(format!("{dir}/"));
        }
    }
    let mut entries: Vec<(&str, Option<&[u8]>)> =
        names.iter().map(|n| (n.as_str(), None)).collect();
    entries.extend(files.iter().map(|(p, b)| (*p, Some(*b))));
    entries.sort_by(|a, b| a.0.cmp(b.0));

    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        match bytes {
            None => zip.add_directory(name, dir_opts)?,
            Some(bytes) => {
                zip.start_file(name, file_opts)?;
                zip.write_all(bytes)?;
            }
        }
    }
    Ok(zip.finish()?.into_inner())
}

/// The default zip name: `portlib-stdlib-10.x-mpy-YYYYMMDD.zip` (CircuitPython),
/// `portlib-stdlib-py-YYYYMMDD.zip` (CircuitPython, sources), and
/// `portlib-stdlib-micropython-{mpy,py}-YYYYMMDD.zip`, like Adafruit's bundle names; the date is
/// the build's `SOURCE_DATE_EPOCH` (UTC).
pub fn default_zip_name(target: Target, format: Format, epoch: u64) -> String {
    let (y, m, d, ..) = civil(epoch);
    let kind = match (target, format) {
        (Target::Circuitpython, Format::Mpy) => "10.x-mpy",
        (Target::Circuitpython, Format::Py) => "py",
        (Target::Micropython, Format::Mpy) => "micropython-mpy",
        (Target::Micropython, Format::Py) => "micropython-py",
    };
    format!("portlib-stdlib-{kind}-{y:04}{m:02}{d:02}.zip")
}

/// Seconds since 1970-01-01 UTC to (year, month, day, hour, minute, second), proleptic
/// Gregorian. Uses the days-from-civil inverse published by Howard Hinnant (public domain).
pub fn civil(epoch: u64) -> (u64, u8, u8, u8, u8, u8) {
    let days = epoch / 86_400;
    let rem = epoch % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (
        year,
        month as u8,
        day as u8,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        // CPython 3.4.9's release day.
        assert_eq!(civil(1_533_168_000), (2018, 8, 2, 0, 0, 0));
        assert_eq!(civil(951_782_400 + 3_661), (2000, 2, 29, 1, 1, 1));
        assert_eq!(civil(4_102_444_799), (2099, 12, 31, 23, 59, 59));
    }

    #[test]
    fn names_follow_the_bundle_convention() {
        let e = 1_700_000_000; // 2023-11-14
        assert_eq!(
            default_zip_name(Target::Circuitpython, Format::Mpy, e),
            "portlib-stdlib-10.x-mpy-20231114.zip"
        );
        assert_eq!(
            default_zip_name(Target::Circuitpython, Format::Py, e),
            "portlib-stdlib-py-20231114.zip"
        );
        assert_eq!(
            default_zip_name(Target::Micropython, Format::Mpy, e),
            "portlib-stdlib-micropython-mpy-20231114.zip"
        );
    }

    #[test]
    fn zip_is_deterministic_sorted_and_readable() {
        let big = vec![7; 1000];
        let files: Vec<(&str, &[u8])> = vec![
            ("manifest.json", b"{}\n"),
            ("lib/b/x.mpy", b"xx"),
            ("lib/a.mpy", &big),
        ];
        let one = zip_bytes(&files, 1_700_000_001).unwrap();
        let mut reversed = files.clone();
        reversed.reverse();
        assert_eq!(one, zip_bytes(&reversed, 1_700_000_001).unwrap());
        assert_ne!(one, zip_bytes(&files, 1_800_000_000).unwrap());

        let mut archive = zip::ZipArchive::new(Cursor::new(one)).unwrap();
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().name().to_owned())
            .collect();
        assert_eq!(
            names,
            [
                "lib/",
                "lib/a.mpy",
                "lib/b/",
                "lib/b/x.mpy",
                "manifest.json"
            ]
        );
        let mut f = archive.by_name("lib/a.mpy").unwrap();
        assert_eq!(f.unix_mode().map(|m| m & 0o777), Some(0o644));
        let t = f.last_modified().unwrap();
        assert_eq!(
            (t.year(), t.month(), t.day(), t.second()),
            (2023, 11, 14, 20)
        );
        let mut content = Vec::new();
        f.read_to_end(&mut content).unwrap();
        assert_eq!(content, vec![7; 1000]);
    }
}
