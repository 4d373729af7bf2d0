//! Turning an alignment into diagnostics, and a valid alignment into the effective source.

use std::path::Path;

use super::align::{align, PairKind, Step};
use super::lines::{
    column, display, parse_added, render_added, split_lines, trailing_space, Added, Line,
};
use super::messages as msg;
use crate::diag::Diagnostic;

/// A convention file read against its upstream.
pub(crate) struct Analysis<'a> {
    pub u: Vec<Line<'a>>,
    pub c: Vec<Line<'a>>,
    pub added: Vec<Option<Added>>,
    pub steps: Vec<Step>,
}

impl Analysis<'_> {
    /// The effective source: kept lines, then added lines with their markers removed.
    pub(crate) fn effective(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for step in &self.steps {
            match *step {
                Step::Keep { u, .. } => out.extend_from_slice(self.u[u].raw),
                Step::Add { c } => {
                    if let Some(a) = &self.added[c] {
                        out.extend_from_slice(&a.effective);
                        out.extend_from_slice(self.c[c].ending.bytes());
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// Align and validate; every violation in the file is reported.
pub(crate) fn analyse<'a>(
    path: &Path,
    upstream: &'a [u8],
    convention: &'a [u8],
) -> Result<Analysis<'a>, Vec<Diagnostic>> {
    let u = split_lines(upstream);
    let c = split_lines(convention);
    let added: Vec<Option<Added>> = c.iter().map(|l| parse_added(l.content)).collect();
    let steps = align(&u, &c, &added);
    let analysis = Analysis { u, c, added, steps };
    let diags = diagnose(path, &analysis);
    if diags.is_empty() {
        Ok(analysis)
    } else {
        Err(diags)
    }
}

struct Reporter<'p, 'a, 'b> {
    path: &'p Path,
    a: &'b Analysis<'a>,
    out: Vec<Diagnostic>,
}

impl Reporter<'_, '_, '_> {
    /// A diagnostic on convention line `c` (0-based) at byte offset `at`.
    fn at(&mut self, c: usize, at: usize, message: String, help: String) {
        let content = self.a.c[c].content;
        self.out.push(
            Diagnostic::new(self.path, c + 1, column(content, at), message)
                .with_text(display(content))
                .with_help(help),
        );
    }

    /// Upstream lines `first..=last` (0-based) missing before convention line `before`.
    fn removed(&mut self, first: usize, last: usize, before: usize) {
        let ul = &self.a.u[first];
        let message = if first == last {
            msg::removed_one(first + 1)
        } else {
            msg::removed_many(first + 1, last + 1)
        };
        self.out.push(
            Diagnostic::new(self.path, before + 1, 1, message)
                .with_text(display(ul.content))
                .with_help(msg::help_removed(&commented(ul))),
        );
    }

    fn junk(&mut self, c: usize) {
        let len = self.a.c[c].content.len();
        self.at(
            c,
            len,
            msg::NO_MARKER.to_string(),
            msg::HELP_NO_MARKER.to_string(),
        );
    }

    fn added(&mut self, c: usize) {
        let Some(a) = &self.a.added[c] else { return };
        let content = self.a.c[c].content;
        let canonical = render_added(&a.effective);
        if canonical != content {
            // Only a comment before an end-of-line marker renders differently (see lines.rs).
            let at = super::lines::first_comment(content).unwrap_or(0);
            self.at(
                c,
                at,
                msg::COMMENT_BEFORE_MARKER.to_string(),
                msg::help_comment_before_marker(&display(&canonical)),
            );
        }
        if let Some(ws) = trailing_space(&a.effective) {
            // Map the offset in the effective line back to the convention line.
            let at = if ws > a.marker_at {
                ws + 2
            } else {
                ws.min(content.len())
            };
            self.at(
                c,
                at,
                msg::TRAILING_WHITESPACE.to_string(),
                msg::HELP_TRAILING_WHITESPACE.to_string(),
            );
        }
    }

    fn pair(&mut self, u: usize, c: usize, kind: PairKind) {
        let (ul, cl) = (&self.a.u[u], &self.a.c[c]);
        let n = u + 1;
        let fix = commented(ul);
        match kind {
            PairKind::EndingDiffers => {
                let message = msg::ending_differs(n, ul.ending.name(), cl.ending.name());
                self.at(c, cl.content.len(), message, msg::HELP_ENDING.to_string());
            }
            PairKind::MarkerOnUnchanged => {
                let at = self.a.added[c].as_ref().map_or(0, |a| a.marker_at);
                self.at(
                    c,
                    at.saturating_sub(1),
                    msg::marker_on_unchanged(n),
                    msg::HELP_MARKER_ON_UNCHANGED.to_string(),
                );
            }
            PairKind::ExtraHashes => {
                self.at(c, 0, msg::extra_hashes(n), msg::help_exact_comment(&fix))
            }
            PairKind::IndentedHash => {
                let at = cl.content.iter().position(|&b| b == b'#').unwrap_or(0);
                self.at(c, at, msg::indented_hash(n), msg::help_exact_comment(&fix));
            }
            PairKind::SpaceAfterHash => self.at(
                c,
                1,
                msg::space_after_hash(n),
                msg::help_exact_comment(&fix),
            ),
            PairKind::Edited => {
                let (old, new) = (display(ul.content), display(cl.content));
                if similar::TextDiff::from_chars(old.as_str(), new.as_str()).ratio() >= 0.5 {
                    let same = ul
                        .content
                        .iter()
                        .zip(cl.content)
                        .take_while(|(a, b)| a == b)
                        .count();
                    self.at(
                        c,
                        same,
                        msg::changed_in_place(n),
                        msg::help_changed_in_place(&fix),
                    );
                } else {
                    // Too different to call an edit: a removal and an unmarked addition.
                    self.removed(u, u, c);
                    self.junk(c);
                }
            }
        }
    }
}

/// Upstream line commented out, as the user should write it (for help texts).
fn commented(u: &Line<'_>) -> String {
    format!("#{}", display(u.content))
}

fn diagnose(path: &Path, a: &Analysis<'_>) -> Vec<Diagnostic> {
    let mut r = Reporter {
        path,
        a,
        out: Vec::new(),
    };
    // Position in the convention file: index of the next convention line.
    let mut next_c = 0;
    let mut run: Option<(usize, usize)> = None;
    for step in &a.steps {
        if let Step::Remove { u } = *step {
            run = match run {
                Some((first, last)) if last + 1 == u => Some((first, u)),
                Some((first, last)) => {
                    r.removed(first, last, next_c);
                    Some((u, u))
                }
                None => Some((u, u)),
            };
            continue;
        }
        if let Some((first, last)) = run.take() {
            r.removed(first, last, next_c);
        }
        match *step {
            Step::Keep { c, .. } | Step::Comment { c, .. } => next_c = c + 1,
            Step::Add { c } => {
                r.added(c);
                next_c = c + 1;
            }
            Step::Junk { c } => {
                r.junk(c);
                next_c = c + 1;
            }
            Step::Pair { u, c, kind } => {
                r.pair(u, c, kind);
                next_c = c + 1;
            }
            Step::Remove { .. } => {}
        }
    }
    if let Some((first, last)) = run {
        r.removed(first, last, next_c);
    }
    let mut out = r.out;
    out.sort_by_key(|d| (d.line, d.col));
    out
}
