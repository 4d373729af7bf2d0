//! The `#`/`###` line convention: validation, alignment, patches and rendering (no I/O).
//!
//! # The convention
//!
//! A ported file changes its CPython 3.4.9 upstream file only by lines:
//!
//! * no upstream line is removed;
//! * an unwanted upstream line is commented out with exactly one `#` at column 0, followed by
//!   the upstream line as is (`# foo` upstream becomes `## foo`);
//! * every added line carries the ` ###` marker.
//!
//! `patches/<path>.diff` is a unified diff from the upstream file to the *effective* source:
//! upstream minus the commented-out lines, plus the added lines with their markers removed. The
//! convention form ("C") is what the user edits; [`render`] makes it from upstream and patch,
//! [`make_patch`] turns it back, and [`extract`] gives the effective source directly.
//!
//! # The marker
//!
//! An added line is read in one of two forms (see `lines.rs`):
//!
//! 1. **code, then the marker, then a comment**: the line's first comment (the first `#` outside
//!    string literals, scanning the line alone) starts with `###`, is preceded by a space or
//!    tab, has code before it and text after it. The effective line keeps the comment with one
//!    `#`: `raise   ### let the host print it` ↔ `raise   # let the host print it`.
//! 2. **anything, then ` ###` at the end of the line**: the effective line is what comes before
//!    it. `x = 1 ###` ↔ `x = 1`; `    # why ###` ↔ `    # why`; ` ###` ↔ an empty line.
//!
//! Rendering an effective line inverts this: if the line has code followed by a comment, the
//! comment's `#` becomes `###`; otherwise ` ###` is appended. So `x = 1  # hi ###` is not
//! accepted (it would come back as `x = 1  ### hi`), and a line must not end in whitespace
//! before its marker. With these two rules every valid convention file maps to exactly one
//! (upstream, patch) pair and back.
//!
//! Two consequences worth knowing. Strings are followed within the line only, so an added line
//! inside a docstring is read as code: `    See issue #12. ###` has "code" and a comment before
//! the marker and is refused; write it `    See issue ###12.` (effective `    See issue #12.`).
//! And where a line could be read two ways, the alignment keeps as many upstream lines as it
//! can: after an upstream line `x ###`, the lines `#x ###` + `x ###` read as an added `#x` and
//! the kept upstream line, not as a comment-out plus an added `x`.
//!
//! # Bytes, line endings, final newlines
//!
//! Files are bytes: non-UTF-8 upstream files work, and diagnostics quote lines lossily with
//! columns counted in characters (an invalid byte sequence counts as one). Lines split at `\n`;
//! a `\r` before it is part of a CRLF ending. A kept line must be byte-equal to upstream,
//! ending included, so upstream CRLF lines survive and a changed ending is reported. A
//! commented-out line has upstream's ending, except that an upstream last line without a newline
//! takes an LF when more lines follow it. Added lines keep whatever ending they have.
//!
//! # Diagnostics
//!
//! Every violation in a file is reported, each at a 1-based line and character column of the
//! convention file, with the line's text and a help. The messages (`{n}` is an upstream line
//! number):
//!
//! | message | when |
//! |---|---|
//! | `upstream line {n} was removed` / `upstream lines {a}-{b} were removed` | upstream lines missing from C; reported at the C line where they belong (one past the last line at end of file), quoting the first missing line |
//! | `line changed in place: upstream line {n} was edited without being commented out` | a C line that is neither upstream, commented out nor marked, standing where a similar upstream line is missing |
//! | `added line has no ' ###' marker` | any other C line that is neither upstream, commented out nor marked |
//! | `' ###' marker on unchanged upstream line {n}` | an added line whose code before the marker is the missing upstream line at that place (`foo ###`, `foo  ### why`) |
//! | `upstream line {n} commented out with more than one '#'` | `##foo` where upstream has `foo` |
//! | `upstream line {n} commented out with an indented '#'` | `    #foo` where upstream has `    foo` |
//! | `upstream line {n} commented out with a space after '#'` | `# foo` where upstream has `foo` |
//! | `line ending differs from upstream line {n}: upstream has {A}, this line has {B}` | kept or commented-out line with another ending (LF, CRLF, no newline at end of file) |
//! | `comment before the ' ###' marker in an added line` | `x = 1  # hi ###` (write `x = 1  ### hi`) |
//! | `trailing whitespace in an added line` | the effective line would end in spaces or tabs |
//!
//! Broken patch files are [`PatchError`]s, displayed as `patch:line: problem; fix: regenerate it
//! with `portlib refresh` (or check it out again)`: the patch does not end with a newline; its
//! line endings were converted to CRLF; a missing `--- a/`/`+++ b/` header; a header naming
//! another file than the one the patch is stored for; a bad hunk header; a line in a hunk not
//! starting with ` `, `-`, `+` or `\`; hunk counts that do not add up; hunks out of order or
//! with a wrong patched-side start; a context or removed line that is not upstream's line at the
//! stated number (stale, or for another file); a hunk past the end of upstream; a misplaced
//! `\ No newline at end of file`.
//!
//! # Patch file names
//!
//! When a patch's path ends in `.diff` (`patches/json/decoder.py.diff`), its header must name
//! the path it is stored for (`json/decoder.py`), so a patch copied over another one is caught
//! even where the contexts happen to match.

mod align;
mod lines;
mod messages;
mod patch;
mod validate;

use std::borrow::Cow;
use std::path::Path;

use crate::diag::Diagnostic;
use align::Step;
use lines::{commented_ending, render_added, split_lines};
use patch::{Applied, DiffLine};

pub use patch::PatchError;

/// Lines a patch comments out and lines it adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PatchStats {
    /// Upstream lines commented out (`-` lines).
    pub commented: usize,
    /// Lines added (`+` lines).
    pub added: usize,
}

/// Validate a convention-form file against its upstream and produce its canonical patch.
///
/// `path` names the convention file in diagnostics; `rel` is the file's path under `Lib/`, used
/// in the patch header. A file identical to upstream gives an empty patch.
pub fn make_patch(
    path: &Path,
    rel: &str,
    upstream: &[u8],
    convention: &[u8],
) -> Result<Vec<u8>, Vec<Diagnostic>> {
    let a = validate::analyse(path, upstream, convention)?;
    let mut diff = Vec::with_capacity(a.steps.len());
    for step in &a.steps {
        let line = match *step {
            Step::Keep { u, .. } => DiffLine {
                kind: b' ',
                content: Cow::Borrowed(a.u[u].content),
                ending: a.u[u].ending,
            },
            Step::Comment { u, .. } => DiffLine {
                kind: b'-',
                content: Cow::Borrowed(a.u[u].content),
                ending: a.u[u].ending,
            },
            Step::Add { c } => DiffLine {
                kind: b'+',
                content: Cow::Owned(
                    a.added[c]
                        .as_ref()
                        .map(|x| x.effective.clone())
                        .unwrap_or_default(),
                ),
                ending: a.c[c].ending,
            },
            // analyse() only succeeds when there are no violation steps.
            Step::Remove { .. } | Step::Junk { .. } | Step::Pair { .. } => continue,
        };
        diff.push(line);
    }
    Ok(patch::write(rel, &diff))
}

/// Validate a convention-form file and return the effective source (what the compiler gets).
pub fn extract(
    path: &Path,
    upstream: &[u8],
    convention: &[u8],
) -> Result<Vec<u8>, Vec<Diagnostic>> {
    Ok(validate::analyse(path, upstream, convention)?.effective())
}

/// Apply a patch exactly (no fuzz, no offset: every context and removed line must match at the
/// stated line numbers) and return the effective source.
///
/// `patch_path` names the patch in errors; see "Patch file names" above. An empty patch gives
/// upstream unchanged.
pub fn apply_patch(
    patch_path: &Path,
    upstream: &[u8],
    patch: &[u8],
) -> Result<Vec<u8>, PatchError> {
    let u = split_lines(upstream);
    let steps = patch::parse(patch_path, patch)?.apply(patch_path, &u)?;
    let mut out = Vec::with_capacity(upstream.len());
    for step in steps {
        match step {
            Applied::Keep(k) => out.extend_from_slice(u[k].raw),
            Applied::Remove(_) => {}
            Applied::Add(content, ending) => {
                out.extend_from_slice(content);
                out.extend_from_slice(ending.bytes());
            }
        }
    }
    Ok(out)
}

/// Render upstream + patch as the convention form (what `checkout` writes).
pub fn render(patch_path: &Path, upstream: &[u8], patch: &[u8]) -> Result<Vec<u8>, PatchError> {
    let u = split_lines(upstream);
    let steps = patch::parse(patch_path, patch)?.apply(patch_path, &u)?;
    let mut out = Vec::with_capacity(upstream.len() + 64);
    let last = steps.len().saturating_sub(1);
    for (k, step) in steps.iter().enumerate() {
        match *step {
            Applied::Keep(i) => out.extend_from_slice(u[i].raw),
            Applied::Remove(i) => {
                out.push(b'#');
                out.extend_from_slice(u[i].content);
                out.extend_from_slice(commented_ending(u[i].ending, k == last).bytes());
            }
            Applied::Add(content, ending) => {
                out.extend_from_slice(&render_added(content));
                out.extend_from_slice(ending.bytes());
            }
        }
    }
    Ok(out)
}

/// Lines commented out and lines added by a patch (parsed strictly, not applied).
pub fn patch_stats(patch_path: &Path, patch: &[u8]) -> Result<PatchStats, PatchError> {
    let (commented, added) = patch::parse(patch_path, patch)?.counts();
    Ok(PatchStats { commented, added })
}

#[cfg(test)]
mod tests;
