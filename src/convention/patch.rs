//! Unified diffs: writing the canonical form from an alignment, and strict parsing and applying.
//!
//! Canonical form: `--- a/<rel>` and `+++ b/<rel>` (no timestamps), hunks with 3 lines of
//! context, merged when at most 6 unchanged lines separate two changes, `@@ -s,n +s,n @@` with
//! `,1` left out, removed and added lines in the convention file's order (interleaved), a
//! `\ No newline at end of file` line after a line without one, LF after every patch line. Line
//! content is copied byte for byte, so a CRLF upstream line shows up as `-text\r\n`.
//!
//! Applying is exact: every context and removed line must equal upstream's line at the line
//! number the hunk header states; there is no fuzz and no offset. A patch that does not apply is
//! stale or was edited by hand, and the fix is always to regenerate it.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use super::lines::{display, Ending, Line};

/// How to fix any broken patch.
const FIX: &str = "regenerate it with `portlib refresh` (or check it out again)";

/// A patch that cannot be read or does not apply to its upstream file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    /// The last line of the patch has no newline: the file was cut short.
    #[error("{}:{line}: the patch does not end with a newline (truncated?); fix: {FIX}", path.display())]
    Truncated {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch.
        line: usize,
    },
    /// The patch file's own line endings were converted to CRLF (by an editor or git).
    #[error("{}:{line}: the patch's line endings were converted to CRLF (patches use LF; CR bytes are upstream content); fix: {FIX}", path.display())]
    CrlfPatch {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch.
        line: usize,
    },
    /// The `---`/`+++` file header is missing or malformed.
    #[error("{}:{line}: expected a `{expected}` header line, found `{found}`; fix: {FIX}", path.display())]
    BadFileHeader {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch.
        line: usize,
        /// What the line should start with.
        expected: &'static str,
        /// What is there.
        found: String,
    },
    /// The header names another file than the one this patch is stored for.
    #[error("{}:{line}: the patch is for `{names}` but is stored as the patch of `{expected}`; fix: move it to the right place or {FIX}", path.display())]
    WrongFile {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch.
        line: usize,
        /// The file named by the header.
        names: String,
        /// The file the patch's name says it patches.
        expected: String,
    },
    /// A line where a hunk header was expected is not `@@ -a,b +c,d @@`.
    #[error("{}:{line}: bad hunk header `{found}` (expected `@@ -start,count +start,count @@`); fix: {FIX}", path.display())]
    BadHunkHeader {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch.
        line: usize,
        /// The line as found.
        found: String,
    },
    /// A line inside a hunk starts with something else than ` `, `-`, `+` or `\`.
    #[error("{}:{line}: unexpected line `{found}` in a hunk (every line must start with ' ', '-', '+' or '\\'); fix: {FIX}", path.display())]
    UnexpectedLine {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch.
        line: usize,
        /// The line as found.
        found: String,
    },
    /// A hunk's lines do not add up to the counts in its header.
    #[error("{}:{line}: the hunk at line {header_line} announces {old_count} upstream and {new_count} patched lines but has {old_seen} and {new_seen}; fix: {FIX}", path.display())]
    CountMismatch {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch where the mismatch shows.
        line: usize,
        /// 1-based line of the hunk header.
        header_line: usize,
        /// Upstream lines announced.
        old_count: usize,
        /// Patched lines announced.
        new_count: usize,
        /// Upstream lines found.
        old_seen: usize,
        /// Patched lines found.
        new_seen: usize,
    },
    /// A hunk starts before the previous one ended.
    #[error("{}:{line}: hunk starts at upstream line {old_start}, before the previous hunk ends (line {previous_end}); fix: {FIX}", path.display())]
    HunkOutOfOrder {
        /// The patch file.
        path: PathBuf,
        /// 1-based line of the hunk header.
        line: usize,
        /// Upstream start the header announces.
        old_start: usize,
        /// Last upstream line of the previous hunk.
        previous_end: usize,
    },
    /// A hunk's patched-side start does not follow from the hunks before it.
    #[error("{}:{line}: hunk header says the patched file's line {new_start}, but the hunks before it put this at line {expected}; fix: {FIX}", path.display())]
    HunkOffset {
        /// The patch file.
        path: PathBuf,
        /// 1-based line of the hunk header.
        line: usize,
        /// Start announced.
        new_start: usize,
        /// Start implied by upstream start and earlier hunks.
        expected: usize,
    },
    /// A context or removed line differs from upstream at the stated line number.
    #[error("{}:{line}: upstream line {upstream_line} should be `{expected}` but is `{found}` (a stale patch, or one for another file); fix: {FIX}", path.display())]
    ContextMismatch {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch.
        line: usize,
        /// 1-based upstream line number.
        upstream_line: usize,
        /// The line as the patch has it.
        expected: String,
        /// The line as upstream has it.
        found: String,
    },
    /// A hunk reaches past the end of upstream.
    #[error("{}:{line}: the hunk reaches past the end of upstream, which has {upstream_lines} lines; fix: {FIX}", path.display())]
    PastEnd {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch.
        line: usize,
        /// Number of lines upstream has.
        upstream_lines: usize,
    },
    /// `\ No newline at end of file` on a line that is not a file's last line.
    #[error("{}:{line}: `\\ No newline at end of file` on a line that is not the last one; fix: {FIX}", path.display())]
    MisplacedNoNewline {
        /// The patch file.
        path: PathBuf,
        /// 1-based line in the patch.
        line: usize,
    },
}

impl PatchError {
    /// The patch file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            PatchError::Truncated { path, .. }
            | PatchError::CrlfPatch { path, .. }
            | PatchError::BadFileHeader { path, .. }
            | PatchError::WrongFile { path, .. }
            | PatchError::BadHunkHeader { path, .. }
            | PatchError::UnexpectedLine { path, .. }
            | PatchError::CountMismatch { path, .. }
            | PatchError::HunkOutOfOrder { path, .. }
            | PatchError::HunkOffset { path, .. }
            | PatchError::ContextMismatch { path, .. }
            | PatchError::PastEnd { path, .. }
            | PatchError::MisplacedNoNewline { path, .. } => path,
        }
    }

    /// The 1-based line in the patch file where the problem shows.
    pub fn line(&self) -> usize {
        match self {
            PatchError::Truncated { line, .. }
            | PatchError::CrlfPatch { line, .. }
            | PatchError::BadFileHeader { line, .. }
            | PatchError::WrongFile { line, .. }
            | PatchError::BadHunkHeader { line, .. }
            | PatchError::UnexpectedLine { line, .. }
            | PatchError::CountMismatch { line, .. }
            | PatchError::HunkOutOfOrder { line, .. }
            | PatchError::HunkOffset { line, .. }
            | PatchError::ContextMismatch { line, .. }
            | PatchError::PastEnd { line, .. }
            | PatchError::MisplacedNoNewline { line, .. } => *line,
        }
    }

    /// What to do about it (also the end of the message).
    pub fn fix(&self) -> &'static str {
        FIX
    }
}

/// One line of a diff: `b' '`, `b'-'` or `b'+'`, its content and its ending.
#[derive(Debug, Clone)]
pub(crate) struct DiffLine<'a> {
    pub kind: u8,
    pub content: Cow<'a, [u8]>,
    pub ending: Ending,
}

const CONTEXT: usize = 3;

/// Write the canonical unified diff of `lines` (in order); no changes give an empty patch.
pub(crate) fn write(rel: &str, lines: &[DiffLine<'_>]) -> Vec<u8> {
    let changes: Vec<usize> = (0..lines.len())
        .filter(|&k| lines[k].kind != b' ')
        .collect();
    let Some(&first) = changes.first() else {
        return Vec::new();
    };
    let mut out = format!("--- a/{rel}\n+++ b/{rel}\n").into_bytes();
    // Groups of changes whose contexts overlap or touch: [first change, last change].
    let mut groups = vec![(first, first)];
    for &k in &changes[1..] {
        let last = groups.last_mut().expect("groups starts non-empty");
        if k - last.1 - 1 <= 2 * CONTEXT {
            last.1 = k;
        } else {
            groups.push((k, k));
        }
    }
    // Old and new line counts before each diff line, filled as we go.
    let (mut old_before, mut new_before, mut pos) = (0usize, 0usize, 0usize);
    for (lo, hi) in groups {
        let start = lo.saturating_sub(CONTEXT);
        let end = (hi + 1 + CONTEXT).min(lines.len());
        for l in &lines[pos..start] {
            old_before += usize::from(l.kind != b'+');
            new_before += usize::from(l.kind != b'-');
        }
        pos = start;
        let old_n = lines[start..end].iter().filter(|l| l.kind != b'+').count();
        let new_n = lines[start..end].iter().filter(|l| l.kind != b'-').count();
        out.extend_from_slice(
            format!(
                "@@ -{} +{} @@\n",
                range(old_before, old_n),
                range(new_before, new_n)
            )
            .as_bytes(),
        );
        for l in &lines[start..end] {
            out.push(l.kind);
            out.extend_from_slice(&l.content);
            if l.ending == Ending::None {
                out.extend_from_slice(b"\n\\ No newline at end of file\n");
            } else {
                // A CRLF line keeps its CR before the patch's own LF.
                out.extend_from_slice(l.ending.bytes());
            }
        }
    }
    out
}

/// `start,count` as unified diffs write it: a count of 1 is left out, and an empty range names
/// the line before it.
fn range(before: usize, count: usize) -> String {
    match count {
        0 => format!("{before},0"),
        1 => format!("{}", before + 1),
        n => format!("{},{n}", before + 1),
    }
}

/// A line of a parsed hunk.
#[derive(Debug, Clone)]
pub(crate) struct HunkLine<'a> {
    pub kind: u8,
    pub content: &'a [u8],
    pub ending: Ending,
    /// Everything after the kind byte (content and a CR, if any).
    payload: &'a [u8],
    /// 1-based line in the patch.
    pub at: usize,
}

#[derive(Debug)]
pub(crate) struct Hunk<'a> {
    /// 1-based line of the header.
    at: usize,
    old_start: usize,
    old_count: usize,
    lines: Vec<HunkLine<'a>>,
}

/// One step of applying a patch to upstream, in file order.
#[derive(Debug)]
pub(crate) enum Applied<'a> {
    /// Upstream line (0-based) unchanged.
    Keep(usize),
    /// Upstream line (0-based) removed (commented out in the convention form).
    Remove(usize),
    /// A line the patch adds.
    Add(&'a [u8], Ending),
}

/// A parsed patch.
#[derive(Debug)]
pub(crate) struct Parsed<'a> {
    hunks: Vec<Hunk<'a>>,
}

impl<'a> Parsed<'a> {
    /// Lines removed and added.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let lines = self.hunks.iter().flat_map(|h| &h.lines);
        let (mut removed, mut added) = (0, 0);
        for l in lines {
            removed += usize::from(l.kind == b'-');
            added += usize::from(l.kind == b'+');
        }
        (removed, added)
    }

    /// Apply to upstream exactly: context and removed lines must match where stated.
    pub(crate) fn apply(
        &self,
        path: &Path,
        u: &[Line<'_>],
    ) -> Result<Vec<Applied<'a>>, PatchError> {
        let mut out = Vec::with_capacity(u.len() + 16);
        let mut cursor = 0;
        for h in &self.hunks {
            // Header positions were checked in parse: the hunk's first upstream line is here.
            let start = if h.old_count == 0 {
                h.old_start
            } else {
                h.old_start - 1
            };
            if start > u.len() {
                return Err(PatchError::PastEnd {
                    path: path.to_path_buf(),
                    line: h.at,
                    upstream_lines: u.len(),
                });
            }
            out.extend((cursor..start).map(Applied::Keep));
            cursor = start;
            for l in &h.lines {
                if l.kind == b'+' {
                    out.push(Applied::Add(l.content, l.ending));
                    continue;
                }
                let Some(ul) = u.get(cursor) else {
                    return Err(PatchError::PastEnd {
                        path: path.to_path_buf(),
                        line: l.at,
                        upstream_lines: u.len(),
                    });
                };
                if ul.content != l.content || ul.ending != l.ending {
                    return Err(PatchError::ContextMismatch {
                        path: path.to_path_buf(),
                        line: l.at,
                        upstream_line: cursor + 1,
                        expected: display(l.content),
                        found: display(ul.content),
                    });
                }
                out.push(if l.kind == b' ' {
                    Applied::Keep(cursor)
                } else {
                    Applied::Remove(cursor)
                });
                cursor += 1;
            }
        }
        out.extend((cursor..u.len()).map(Applied::Keep));
        // Only the patched file's last line may lack a newline.
        let endings: Vec<Ending> = out
            .iter()
            .filter_map(|a| match a {
                Applied::Keep(k) => Some(u[*k].ending),
                Applied::Add(_, e) => Some(*e),
                Applied::Remove(_) => None,
            })
            .collect();
        if let Some((_, init)) = endings.split_last() {
            if init.contains(&Ending::None) {
                return Err(PatchError::MisplacedNoNewline {
                    path: path.to_path_buf(),
                    line: self.no_newline_line().unwrap_or(1),
                });
            }
        }
        Ok(out)
    }

    /// Patch line of the first added line without a newline.
    fn no_newline_line(&self) -> Option<usize> {
        self.hunks
            .iter()
            .flat_map(|h| &h.lines)
            .find(|l| l.kind == b'+' && l.ending == Ending::None)
            .map(|l| l.at + 1)
    }
}

/// Parse a patch strictly. `path` names the patch in errors, and when it ends in `.diff` the
/// header must name the file it is stored for (`patches/json/decoder.py.diff` ↔ `json/decoder.py`).
pub(crate) fn parse<'a>(path: &Path, patch: &'a [u8]) -> Result<Parsed<'a>, PatchError> {
    let err_path = || path.to_path_buf();
    if patch.is_empty() {
        return Ok(Parsed { hunks: Vec::new() });
    }
    let mut lines: Vec<&[u8]> = patch.split(|&b| b == b'\n').collect();
    if lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    } else {
        return Err(PatchError::Truncated {
            path: err_path(),
            line: lines.len(),
        });
    }
    if lines[0].ends_with(b"\r") {
        return Err(PatchError::CrlfPatch {
            path: err_path(),
            line: 1,
        });
    }
    let old_name = header(path, &lines, 0, b"--- a/", "--- a/")?;
    let new_name = header(path, &lines, 1, b"+++ b/", "+++ b/")?;
    if old_name != new_name {
        return Err(PatchError::WrongFile {
            path: err_path(),
            line: 2,
            names: display(new_name),
            expected: display(old_name),
        });
    }
    check_name(path, old_name)?;

    let mut hunks: Vec<Hunk<'a>> = Vec::new();
    let mut k = 2;
    // Upstream lines consumed and (new - old) offset after the previous hunk.
    let (mut old_end, mut delta) = (0usize, 0isize);
    while k < lines.len() {
        let at = k + 1;
        let (os, oc, ns, nc) = hunk_header(lines[k]).ok_or_else(|| PatchError::BadHunkHeader {
            path: err_path(),
            line: at,
            found: display(lines[k]),
        })?;
        let old_first = if oc == 0 { os + 1 } else { os };
        let new_first = if nc == 0 { ns + 1 } else { ns };
        if old_first <= old_end || (oc > 0 && os == 0) || (nc > 0 && ns == 0) {
            return Err(PatchError::HunkOutOfOrder {
                path: err_path(),
                line: at,
                old_start: os,
                previous_end: old_end,
            });
        }
        let expected = old_first as isize + delta;
        if new_first as isize != expected {
            return Err(PatchError::HunkOffset {
                path: err_path(),
                line: at,
                new_start: ns,
                expected: usize::try_from(expected).unwrap_or(0),
            });
        }
        k += 1;
        let mut hunk = Hunk {
            at,
            old_start: os,
            old_count: oc,
            lines: Vec::new(),
        };
        let (mut old_seen, mut new_seen) = (0, 0);
        let mismatch = |line, old_seen, new_seen| PatchError::CountMismatch {
            path: err_path(),
            line,
            header_line: at,
            old_count: oc,
            new_count: nc,
            old_seen,
            new_seen,
        };
        while old_seen < oc || new_seen < nc {
            let Some(&text) = lines.get(k) else {
                return Err(mismatch(lines.len(), old_seen, new_seen));
            };
            let kind = text.first().copied().unwrap_or(b'\n');
            match kind {
                b' ' | b'-' | b'+' => {}
                b'@' => return Err(mismatch(k + 1, old_seen, new_seen)),
                b'\\' => {
                    no_newline(path, &mut hunk, text, k + 1)?;
                    k += 1;
                    continue;
                }
                _ => {
                    let found = if text.is_empty() {
                        "(an empty line: a blank context line is a single space)".to_string()
                    } else {
                        display(text)
                    };
                    return Err(PatchError::UnexpectedLine {
                        path: err_path(),
                        line: k + 1,
                        found,
                    });
                }
            }
            old_seen += usize::from(kind != b'+');
            new_seen += usize::from(kind != b'-');
            if old_seen > oc || new_seen > nc {
                return Err(mismatch(k + 1, old_seen, new_seen));
            }
            let payload = &text[1..];
            let (content, ending) = match payload.strip_suffix(b"\r") {
                Some(c) => (c, Ending::CrLf),
                None => (payload, Ending::Lf),
            };
            hunk.lines.push(HunkLine {
                kind,
                content,
                ending,
                payload,
                at: k + 1,
            });
            k += 1;
        }
        if lines.get(k).is_some_and(|l| l.starts_with(b"\\")) {
            no_newline(path, &mut hunk, lines[k], k + 1)?;
            k += 1;
        }
        if let Some(&text) = lines.get(k) {
            if !text.starts_with(b"@@") {
                return Err(match text.first() {
                    Some(b' ' | b'-' | b'+') => mismatch(k + 1, old_seen + 1, new_seen + 1),
                    _ => PatchError::BadHunkHeader {
                        path: err_path(),
                        line: k + 1,
                        found: display(text),
                    },
                });
            }
        }
        old_end = old_first + oc - 1;
        delta += nc as isize - oc as isize;
        hunks.push(hunk);
    }
    if hunks.is_empty() {
        return Err(PatchError::BadHunkHeader {
            path: err_path(),
            line: lines.len() + 1,
            found: "(end of file)".to_string(),
        });
    }
    Ok(Parsed { hunks })
}

fn header<'a>(
    path: &Path,
    lines: &[&'a [u8]],
    k: usize,
    prefix: &[u8],
    expected: &'static str,
) -> Result<&'a [u8], PatchError> {
    match lines.get(k).and_then(|l| l.strip_prefix(prefix)) {
        Some(name) if !name.is_empty() && !name.ends_with(b"\r") => Ok(name),
        _ => Err(PatchError::BadFileHeader {
            path: path.to_path_buf(),
            line: k + 1,
            expected,
            found: lines
                .get(k)
                .map_or_else(|| "(end of file)".to_string(), |l| display(l)),
        }),
    }
}

/// When the patch file is named `<something>/<rel>.diff`, the header must name `<rel>`.
fn check_name(path: &Path, name: &[u8]) -> Result<(), PatchError> {
    let stored = path.to_string_lossy().replace('\\', "/");
    let Some(stem) = stored.strip_suffix(".diff") else {
        return Ok(());
    };
    let name = display(name);
    let matches = stem == name || stem.ends_with(&format!("/{name}"));
    if matches {
        Ok(())
    } else {
        Err(PatchError::WrongFile {
            path: path.to_path_buf(),
            line: 1,
            names: name,
            expected: stem.rsplit('/').next().unwrap_or(stem).to_string(),
        })
    }
}

/// `\ No newline at end of file` after a hunk line: that line has no ending.
fn no_newline(path: &Path, hunk: &mut Hunk<'_>, text: &[u8], at: usize) -> Result<(), PatchError> {
    let misplaced = || PatchError::MisplacedNoNewline {
        path: path.to_path_buf(),
        line: at,
    };
    if !text.starts_with(b"\\ ") {
        return Err(misplaced());
    }
    let Some(last) = hunk.lines.last_mut() else {
        return Err(misplaced());
    };
    if last.ending == Ending::None || last.at + 1 != at {
        return Err(misplaced());
    }
    // A `\r` before the missing newline is content, not half a CRLF.
    last.content = last.payload;
    last.ending = Ending::None;
    Ok(())
}

/// Parse `@@ -a[,b] +c[,d] @@[ heading]`.
fn hunk_header(line: &[u8]) -> Option<(usize, usize, usize, usize)> {
    let text = std::str::from_utf8(line).ok()?;
    let rest = text.strip_prefix("@@ -")?;
    let (ranges, _heading) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let (os, oc) = parse_range(old)?;
    let (ns, nc) = parse_range(new)?;
    Some((os, oc, ns, nc))
}

fn parse_range(s: &str) -> Option<(usize, usize)> {
    // No source file has a billion lines; the cap keeps all position arithmetic far from overflow.
    let num = |t: &str| -> Option<usize> {
        if t.is_empty() || t.len() > 9 || !t.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            t.parse().ok()
        }
    };
    match s.split_once(',') {
        Some((a, b)) => Some((num(a)?, num(b)?)),
        None => Some((num(s)?, 1)),
    }
}
