//! The differential check of portlib's compiler against the reference `mpy-cross`: every `.py`
//! under a folder is compiled by both, under the same source name, and the bytes compared.
//!
//! This is how the compiler's correctness is proven (byte identity), so the rules are strict:
//! a file passes when both produce the same bytes, or when both reject it on the same line.
//! Anything else (different bytes, a file only one side rejects, a reject on another line)
//! is a failure that the report lists with enough detail to act on.

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use rayon::prelude::*;
use thiserror::Error;

use crate::mpy::compile::{compile, CompileError, CompileOptions};
use crate::mpy::disasm::disassemble_to_string;
use crate::mpy::file::MpyFile;
use crate::mpy::format::Target;

/// Why a check could not run at all (as opposed to finding differences).
#[derive(Debug, Error)]
pub enum CrossCheckError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The reference compiler could not be started.
    #[error("cannot run the reference mpy-cross `{exe}`: {source} (set PORTLIB_MPY_CROSS, or run scripts/setup-tools)")]
    MpyCross {
        /// The executable tried.
        exe: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CrossCheckError + '_ {
    move |source| CrossCheckError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What became of one file.
#[derive(Debug)]
pub enum FileOutcome {
    /// Both compiled it to the same bytes.
    Identical,
    /// Both compiled it, to different bytes.
    Differs {
        /// portlib's output.
        ours: Vec<u8>,
        /// mpy-cross's output.
        reference: Vec<u8>,
    },
    /// mpy-cross compiled it; portlib refused.
    OnlyPortlibRejects {
        /// portlib's error.
        error: String,
    },
    /// portlib compiled it; mpy-cross refused.
    OnlyReferenceRejects {
        /// The last line of mpy-cross's traceback.
        text: String,
    },
    /// Both refused it.
    BothReject {
        /// The line mpy-cross named, if it named one.
        reference_line: Option<u32>,
        /// The last line of mpy-cross's traceback.
        reference_text: String,
        /// The line portlib named.
        our_line: u32,
        /// portlib's error.
        ours: String,
    },
}

impl FileOutcome {
    /// Whether this file meets the bar: same bytes, or rejected by both on the same line.
    pub fn passes(&self) -> bool {
        match self {
            FileOutcome::Identical => true,
            FileOutcome::BothReject {
                reference_line,
                our_line,
                ..
            } => *reference_line == Some(*our_line) || (reference_line.is_none() && *our_line == 0),
            _ => false,
        }
    }
}

/// The outcome of every file, in path order.
#[derive(Debug, Default)]
pub struct Report {
    /// `(path relative to the corpus top, outcome)`.
    pub files: Vec<(String, FileOutcome)>,
}

/// The report's figures.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Files compared.
    pub files: usize,
    /// Files mpy-cross compiled.
    pub accepted: usize,
    /// Of those, the files portlib compiled to the same bytes.
    pub identical: usize,
    /// Of those, the files portlib compiled to other bytes.
    pub differing: usize,
    /// Of those, the files portlib refused.
    pub only_portlib_rejects: usize,
    /// Files both refused.
    pub both_reject: usize,
    /// Of those, the files both refused on the same line.
    pub same_line: usize,
    /// Files only mpy-cross refused.
    pub only_reference_rejects: usize,
}

impl Report {
    /// Count the outcomes.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            files: self.files.len(),
            ..Counts::default()
        };
        for (_, o) in &self.files {
            match o {
                FileOutcome::Identical => {
                    c.accepted += 1;
                    c.identical += 1;
                }
                FileOutcome::Differs { .. } => {
                    c.accepted += 1;
                    c.differing += 1;
                }
                FileOutcome::OnlyPortlibRejects { .. } => {
                    c.accepted += 1;
                    c.only_portlib_rejects += 1;
                }
                FileOutcome::OnlyReferenceRejects { .. } => c.only_reference_rejects += 1,
                FileOutcome::BothReject { .. } => {
                    c.both_reject += 1;
                    c.same_line += usize::from(o.passes());
                }
            }
        }
        c
    }

    /// Whether every file passes.
    pub fn passed(&self) -> bool {
        self.files.iter().all(|(_, o)| o.passes())
    }

    /// The one-line summary, e.g. `identical 1478 / 1478 accepted by mpy-cross (1505 files); …`.
    pub fn summary(&self) -> String {
        let c = self.counts();
        format!(
            "identical {} / {} accepted by mpy-cross ({} files); differing {}; portlib rejects {} \
             of those; both reject {} (same line {}); only mpy-cross rejects {}",
            c.identical,
            c.accepted,
            c.files,
            c.differing,
            c.only_portlib_rejects,
            c.both_reject,
            c.same_line,
            c.only_reference_rejects
        )
    }

    /// Every failing file, one paragraph each; the first `show` byte mismatches come with both
    /// disassemblies side by side (portlib left, mpy-cross right), the rest with the offset only.
    pub fn failures(&self, show: usize) -> String {
        let mut out = String::new();
        let mut shown = 0;
        for (rel, o) in self.files.iter().filter(|(_, o)| !o.passes()) {
            // Writing into a String cannot fail.
            let _ = match o {
                FileOutcome::Differs { ours, reference } => {
                    let at = first_difference(ours, reference);
                    if shown < show {
                        shown += 1;
                        writeln!(
                            out,
                            "=== {rel}: first difference at offset {at} (portlib | mpy-cross)\n{}",
                            side_by_side(&dis(ours), &dis(reference))
                        )
                    } else {
                        writeln!(out, "differs: {rel} at offset {at}")
                    }
                }
                FileOutcome::OnlyPortlibRejects { error } => {
                    writeln!(out, "only portlib rejects {rel}: {error}")
                }
                FileOutcome::OnlyReferenceRejects { text } => {
                    writeln!(out, "only mpy-cross rejects {rel}: {text}")
                }
                FileOutcome::BothReject {
                    reference_line,
                    reference_text,
                    our_line,
                    ours,
                } => writeln!(
                    out,
                    "both reject {rel}, lines differ: mpy-cross {reference_line:?} \
                     `{reference_text}`, portlib {our_line} `{ours}`"
                ),
                FileOutcome::Identical => Ok(()),
            };
        }
        out
    }
}

fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

fn dis(bytes: &[u8]) -> String {
    match MpyFile::parse(bytes) {
        Ok(f) => disassemble_to_string(&f),
        Err(e) => format!("<unparsable: {e}>"),
    }
}

fn side_by_side(a: &str, b: &str) -> String {
    let la: Vec<&str> = a.lines().collect();
    let lb: Vec<&str> = b.lines().collect();
    let mut out = String::new();
    for i in 0..la.len().max(lb.len()) {
        let l = la.get(i).copied().unwrap_or("");
        let r = lb.get(i).copied().unwrap_or("");
        let mark = if l == r { ' ' } else { '|' };
        let _ = writeln!(out, "{l:<60.60} {mark} {r}");
    }
    out
}

/// Every `.py` file below `top`, as sorted `/`-separated paths relative to it.
pub fn python_files(top: &Path) -> Result<Vec<String>, CrossCheckError> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(top) {
        let entry = entry.map_err(|e| CrossCheckError::Io {
            path: e.path().unwrap_or(top).to_owned(),
            source: e.into(),
        })?;
        let path = entry.path();
        if entry.file_type().is_file() && path.extension().is_some_and(|x| x == "py") {
            if let Ok(rel) = path.strip_prefix(top) {
                files.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Unpack the `.py` files of a `.tar.xz` or `.tgz` into `dir` (paths as in the archive).
pub fn unpack_python_files(tarball: &Path, dir: &Path) -> Result<(), CrossCheckError> {
    let f = std::fs::File::open(tarball).map_err(io_err(tarball))?;
    let reader: Box<dyn Read> = if tarball.to_string_lossy().ends_with(".xz") {
        Box::new(xz2::read::XzDecoder::new(f))
    } else {
        Box::new(flate2::read::GzDecoder::new(f))
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let mut ar = tar::Archive::new(reader);
    for entry in ar.entries().map_err(io_err(tarball))? {
        let mut entry = entry.map_err(io_err(tarball))?;
        let path = entry.path().map_err(io_err(tarball))?.into_owned();
        if path.extension().is_some_and(|x| x == "py") && entry.header().entry_type().is_file() {
            // unpack_in refuses paths that would land outside `dir`.
            entry.unpack_in(dir).map_err(io_err(&dir.join(&path)))?;
        }
    }
    Ok(())
}

/// What mpy-cross made of one file.
enum Reference {
    Ok(Vec<u8>),
    Rejected { line: Option<u32>, text: String },
}

fn run_mpy_cross(
    exe: &Path,
    top: &Path,
    rel: &str,
    out: &Path,
) -> Result<Reference, CrossCheckError> {
    let o = Command::new(exe)
        .current_dir(top)
        .arg("-o")
        .arg(out)
        .arg(rel)
        .output()
        .map_err(|source| CrossCheckError::MpyCross {
            exe: exe.to_owned(),
            source,
        })?;
    if o.status.success() {
        return Ok(Reference::Ok(std::fs::read(out).map_err(io_err(out))?));
    }
    // mpy-cross prints a traceback: `  File "x.py", line 9` … `SyntaxError: invalid syntax`.
    let text = String::from_utf8_lossy(&o.stderr).into_owned();
    let line = text
        .split(", line ")
        .nth(1)
        .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|d| d.parse().ok());
    Ok(Reference::Rejected {
        line,
        text: text.lines().last().unwrap_or("").to_string(),
    })
}

/// Compile each of `files` (relative to `top`) with portlib and with `mpy_cross`, in parallel.
///
/// For [`Target::CircuitPython`] there is no CircuitPython mpy-cross to run, so the reference
/// is MicroPython's output with the magic byte changed to `C`; mpy-format.md §4.1 names the
/// three corpus files where CircuitPython 10's real output differs beyond that.
pub fn check(
    top: &Path,
    files: &[String],
    mpy_cross: &Path,
    target: Target,
) -> Result<Report, CrossCheckError> {
    let tmp = tempfile::tempdir().map_err(io_err(Path::new("temporary folder")))?;
    let opts = CompileOptions {
        target,
        ..CompileOptions::default()
    };
    let outcomes = files
        .par_iter()
        .enumerate()
        .map(|(i, rel)| {
            let path = top.join(rel);
            let src = std::fs::read(&path).map_err(io_err(&path))?;
            let out = tmp.path().join(format!("ref{i}.mpy"));
            let mut reference = run_mpy_cross(mpy_cross, top, rel, &out)?;
            if let (Target::CircuitPython, Reference::Ok(bytes)) = (target, &mut reference) {
                if let Some(b) = bytes.first_mut() {
                    *b = b'C';
                }
            }
            let outcome = match (reference, compile(&src, rel, &opts)) {
                (Reference::Ok(r), Ok(o)) if r == o => FileOutcome::Identical,
                (Reference::Ok(reference), Ok(ours)) => FileOutcome::Differs { ours, reference },
                (Reference::Ok(_), Err(e)) => FileOutcome::OnlyPortlibRejects {
                    error: describe(&e),
                },
                (Reference::Rejected { text, .. }, Ok(_)) => {
                    FileOutcome::OnlyReferenceRejects { text }
                }
                (Reference::Rejected { line, text }, Err(e)) => FileOutcome::BothReject {
                    reference_line: line,
                    reference_text: text,
                    our_line: e.line(),
                    ours: describe(&e),
                },
            };
            Ok((rel.clone(), outcome))
        })
        .collect::<Result<Vec<_>, CrossCheckError>>()?;
    Ok(Report { files: outcomes })
}

fn describe(e: &CompileError) -> String {
    match e {
        CompileError::Unsupported { construct, .. } => format!("unsupported: {construct}"),
        other => format!(
            "{}: {} (line {})",
            other.kind(),
            other.message(),
            other.line()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_pass_only_on_identity_or_same_line_rejects() {
        let both = |reference_line, our_line| FileOutcome::BothReject {
            reference_line,
            reference_text: String::new(),
            our_line,
            ours: String::new(),
        };
        assert!(FileOutcome::Identical.passes());
        assert!(both(Some(3), 3).passes());
        assert!(both(None, 0).passes());
        assert!(!both(Some(9), 8).passes());
        assert!(!both(None, 2).passes());
        assert!(!FileOutcome::OnlyReferenceRejects { text: "x".into() }.passes());
        assert!(!FileOutcome::OnlyPortlibRejects { error: "x".into() }.passes());
        let differs = FileOutcome::Differs {
            ours: vec![1, 2, 3],
            reference: vec![1, 2, 4],
        };
        assert!(!differs.passes());
        let report = Report {
            files: vec![("a.py".into(), differs), ("b.py".into(), both(Some(1), 1))],
        };
        let c = report.counts();
        assert_eq!(
            (c.accepted, c.differing, c.both_reject, c.same_line),
            (1, 1, 1, 1)
        );
        assert!(!report.passed());
        assert!(report.failures(0).contains("differs: a.py at offset 2"));
    }
}
