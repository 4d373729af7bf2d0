//! Reading `Lib/` straight out of a `.tar.xz` or `.tgz` without extracting anything to disk.
//!
//! The compression is recognised by its magic bytes rather than the file name, so a renamed or
//! extension-less download still opens. Entries are checked before anything else is done with
//! them: a name that is absolute or climbs with `..` makes the whole archive suspect, so it is
//! refused rather than skipped.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use super::{ArchiveProblem, UpstreamError};

const XZ_MAGIC: &[u8] = &[0xfd, b'7', b'z', b'X', b'Z', 0x00];
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// Cap on the buffer reserved up front from an entry's declared size, so a lying header cannot
/// make us allocate gigabytes before the read fails. Larger entries still read fine, in steps.
const MAX_RESERVE: u64 = 16 << 20;

/// Every regular file under the archive's `Lib/`, keyed by its `/`-separated path below `Lib/`.
pub(super) fn read(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, UpstreamError> {
    let file = File::open(path).map_err(|e| UpstreamError::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let head = reader.fill_buf().map_err(|e| UpstreamError::io(path, e))?;
    let found = if head.starts_with(XZ_MAGIC) {
        // Multi-stream so that a tarball compressed in parallel (pixz, xz -T) reads in full.
        collect(xz2::read::XzDecoder::new_multi_decoder(reader))
    } else if head.starts_with(GZIP_MAGIC) {
        collect(flate2::read::MultiGzDecoder::new(reader))
    } else {
        Err(Found::Problem(ArchiveProblem::UnknownFormat))
    };
    found.map_err(|f| match f {
        Found::Problem(problem) => UpstreamError::BadArchive {
            path: path.to_path_buf(),
            problem,
        },
        Found::NoLib => UpstreamError::NotCpython {
            path: path.to_path_buf(),
        },
    })
}

/// Why `collect` found nothing; the caller adds the archive's path.
enum Found {
    Problem(ArchiveProblem),
    NoLib,
}

impl From<ArchiveProblem> for Found {
    fn from(p: ArchiveProblem) -> Self {
        Found::Problem(p)
    }
}

/// Walk the tar stream once, keeping the files below `<top>/Lib/` (or a bare `Lib/`).
fn collect(reader: impl Read) -> Result<BTreeMap<String, Vec<u8>>, Found> {
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(ArchiveProblem::Corrupt)?;
    let mut files = BTreeMap::new();
    // The top folder whose `Lib/` we are reading ("" for a bare `Lib/`), once one is seen.
    let mut top: Option<String> = None;
    for entry in entries {
        let mut entry = entry.map_err(ArchiveProblem::Corrupt)?;
        let raw = entry.path_bytes().into_owned();
        let parts = entry_parts(&raw)?;
        let kind = entry.header().entry_type();
        // Symbolic links are skipped (CPython's Lib/ has none, and a link could point anywhere);
        // hard links are kept because some tar tools store identical files that way.
        if !(kind.is_file() || kind.is_hard_link()) {
            continue;
        }
        let Some((this_top, rel)) = split_lib(&parts) else {
            continue;
        };
        match &top {
            None => top = Some(this_top.to_owned()),
            Some(t) if t != this_top => {
                return Err(ArchiveProblem::SeveralTopFolders {
                    first: t.clone(),
                    second: this_top.to_owned(),
                }
                .into())
            }
            Some(_) => {}
        }
        if rel.contains(&"__pycache__") {
            continue;
        }
        let bytes = if kind.is_hard_link() {
            let target = entry
                .link_name_bytes()
                .map(|t| t.into_owned())
                .unwrap_or_default();
            match linked_file(&files, this_top, &target)? {
                Some(bytes) => bytes,
                None => {
                    log::warn!(
                        "skipping {}: hard link to a file not read before it",
                        String::from_utf8_lossy(&raw)
                    );
                    continue;
                }
            }
        } else {
            let mut bytes = Vec::with_capacity(entry.size().min(MAX_RESERVE) as usize);
            entry
                .read_to_end(&mut bytes)
                .map_err(ArchiveProblem::Corrupt)?;
            bytes
        };
        // A name stored twice means the later copy wins, as when tar extracts it.
        files.insert(rel.join("/"), bytes);
    }
    if files.is_empty() {
        return Err(Found::NoLib);
    }
    Ok(files)
}

/// Content of the earlier file a hard link names, if it is one of ours. Tar stores the target
/// before any link to it, so one pass suffices.
fn linked_file(
    files: &BTreeMap<String, Vec<u8>>,
    top: &str,
    target: &[u8],
) -> Result<Option<Vec<u8>>, ArchiveProblem> {
    let parts = entry_parts(target)?;
    Ok(match split_lib(&parts) {
        Some((t, rel)) if t == top => files.get(&rel.join("/")).cloned(),
        _ => None,
    })
}

/// The entry name's components, without empty and `.` ones; refuses unsafe names.
fn entry_parts(raw: &[u8]) -> Result<Vec<&str>, ArchiveProblem> {
    let name = std::str::from_utf8(raw).map_err(|_| ArchiveProblem::NonUtf8Entry {
        entry: String::from_utf8_lossy(raw).into_owned(),
    })?;
    let unsafe_entry = || ArchiveProblem::UnsafeEntry {
        entry: name.to_owned(),
    };
    // `tar` already turns `\` into `/`; a drive letter (`C:`) is as absolute as a leading `/`.
    if name.starts_with('/') || name.as_bytes().get(1) == Some(&b':') {
        return Err(unsafe_entry());
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(unsafe_entry()),
            p => parts.push(p),
        }
    }
    Ok(parts)
}

/// `(top, path below Lib/)` for a file under `<top>/Lib/` or a bare `Lib/`.
fn split_lib<'a>(parts: &'a [&'a str]) -> Option<(&'a str, &'a [&'a str])> {
    match parts {
        [top, "Lib", rest @ ..] if !rest.is_empty() => Some((top, rest)),
        ["Lib", rest @ ..] if !rest.is_empty() => Some(("", rest)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names() {
        assert_eq!(
            entry_parts(b"./cpython/Lib//os.py").unwrap(),
            ["cpython", "Lib", "os.py"]
        );
        for bad in [&b"/etc/passwd"[..], b"a/../../x", b"..", b"C:/x"] {
            assert!(
                matches!(entry_parts(bad), Err(ArchiveProblem::UnsafeEntry { .. })),
                "{bad:?} accepted"
            );
        }
        assert!(matches!(
            entry_parts(b"a/\xff.py"),
            Err(ArchiveProblem::NonUtf8Entry { .. })
        ));
    }

    #[test]
    fn lib_split() {
        assert_eq!(
            split_lib(&["Python-3.4.9", "Lib", "unittest", "case.py"]),
            Some(("Python-3.4.9", &["unittest", "case.py"][..]))
        );
        assert_eq!(split_lib(&["Lib", "os.py"]), Some(("", &["os.py"][..])));
        assert_eq!(split_lib(&["Python-3.4.9", "Lib"]), None);
        assert_eq!(split_lib(&["Python-3.4.9", "Modules", "x.c"]), None);
    }
}
