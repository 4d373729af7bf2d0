//! Lines as bytes, and the per-line rules of the convention (comment-out, the ` ###` marker).
//!
//! Files are handled as bytes because a few upstream files are not UTF-8. A line is its content
//! plus its ending; only `\n` splits lines, and a `\r` right before it makes the ending CRLF, so
//! CRLF lines survive byte for byte. Only the last line of a file can lack an ending.

/// How a line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// `\n`
    Lf,
    /// `\r\n`
    CrLf,
    /// End of file without a newline.
    None,
}

impl Ending {
    pub(crate) fn bytes(self) -> &'static [u8] {
        match self {
            Ending::Lf => b"\n",
            Ending::CrLf => b"\r\n",
            Ending::None => b"",
        }
    }

    /// How the ending is named in diagnostics.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Ending::Lf => "LF",
            Ending::CrLf => "CRLF",
            Ending::None => "no newline at end of file",
        }
    }
}

/// One line of a file, borrowed from the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// The line without its ending.
    pub content: &'a [u8],
    pub ending: Ending,
    /// The line with its ending, as it is in the file.
    pub raw: &'a [u8],
}

/// Split a file into lines; an empty file has no lines.
pub(crate) fn split_lines(bytes: &[u8]) -> Vec<Line<'_>> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < bytes.len() {
        let rest = &bytes[start..];
        let (content, ending, len) = match rest.iter().position(|&b| b == b'\n') {
            Some(nl) if nl > 0 && rest[nl - 1] == b'\r' => (&rest[..nl - 1], Ending::CrLf, nl + 1),
            Some(nl) => (&rest[..nl], Ending::Lf, nl + 1),
            None => (rest, Ending::None, rest.len()),
        };
        lines.push(Line {
            content,
            ending,
            raw: &rest[..len],
        });
        start += len;
    }
    lines
}

/// Text of a line for diagnostics (lossy for non-UTF-8 bytes, without its ending).
pub(crate) fn display(content: &[u8]) -> String {
    String::from_utf8_lossy(content).into_owned()
}

/// 1-based character column of byte offset `at` in `content` (each invalid UTF-8 sequence counts
/// as one character, as it shows up as one replacement character in the quoted text).
pub(crate) fn column(content: &[u8], at: usize) -> usize {
    String::from_utf8_lossy(&content[..at.min(content.len())])
        .chars()
        .count()
        + 1
}

fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == b' ' || b == b'\t')
}

fn is_space(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Byte offset of the first `#` that is not inside a string literal, scanning this line alone.
///
/// Quotes (`'`, `"`, and their tripled forms) and backslash escapes are followed within the line;
/// a string still open at the end of the line just ends the scan. The scan is a left-to-right
/// state machine, so two lines sharing a prefix agree on any `#` found inside that prefix: the
/// marker rules below rely on that to be exact inverses.
pub(crate) fn first_comment(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'#' => return Some(i),
            q @ (b'\'' | b'"') => {
                let triple = s[i..].starts_with(&[q, q, q]);
                i += if triple { 3 } else { 1 };
                loop {
                    if i >= s.len() {
                        return None;
                    }
                    if s[i] == b'\\' {
                        i += 2;
                    } else if triple && s[i..].starts_with(&[q, q, q]) {
                        i += 3;
                        break;
                    } else if !triple && s[i] == q {
                        i += 1;
                        break;
                    } else {
                        i += 1;
                    }
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The convention-form content of an added line whose effective content is `effective`.
///
/// If the effective line has code followed by a comment (`raise   # why`), the comment's `#`
/// becomes the marker (`raise   ### why`); otherwise (no comment, or a line that is only a
/// comment) ` ###` is appended.
pub(crate) fn render_added(effective: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(effective.len() + 4);
    match first_comment(effective) {
        Some(p) if p > 0 && is_space(effective[p - 1]) && !is_blank(&effective[..p]) => {
            out.extend_from_slice(&effective[..p]);
            out.extend_from_slice(b"###");
            out.extend_from_slice(&effective[p + 1..]);
        }
        _ => {
            out.extend_from_slice(effective);
            out.extend_from_slice(b" ###");
        }
    }
    out
}

/// How a convention line carries its marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Added {
    /// The effective content (marker removed or turned back into `#`).
    pub effective: Vec<u8>,
    /// Byte offset of the marker's `###` in the convention line.
    pub marker_at: usize,
}

/// Read a convention line as an added line, if it carries a marker.
///
/// Two forms, tried in this order:
/// * code, whitespace, `###`, then a non-empty comment, where that `###` starts the line's first
///   comment (found by [`first_comment`]) and there is code before it: the effective line keeps
///   the comment with a single `#` (`raise   ### why` → `raise   # why`);
/// * anything ending in ` ###`: the effective line is what comes before it (`x = 1 ###` →
///   `x = 1`, `    # note ###` → `    # note`, ` ###` → an empty line).
///
/// Whether the result is canonical (renders back to the same line) is checked by the caller.
pub(crate) fn parse_added(c: &[u8]) -> Option<Added> {
    if let Some(p) = first_comment(c) {
        if c[p..].starts_with(b"###")
            && p > 0
            && is_space(c[p - 1])
            && !is_blank(&c[..p])
            && c.len() > p + 3
        {
            let mut effective = c[..p].to_vec();
            effective.push(b'#');
            effective.extend_from_slice(&c[p + 3..]);
            return Some(Added {
                effective,
                marker_at: p,
            });
        }
    }
    if c.ends_with(b" ###") {
        return Some(Added {
            effective: c[..c.len() - 4].to_vec(),
            marker_at: c.len() - 3,
        });
    }
    None
}

/// Byte offset where trailing spaces and tabs start, if there are any.
pub(crate) fn trailing_space(content: &[u8]) -> Option<usize> {
    let end = content.len() - content.iter().rev().take_while(|&&b| is_space(b)).count();
    (end < content.len()).then_some(end)
}

/// Whether convention line `c` is upstream line `u` commented out: one `#` at column 0 and then
/// the upstream line. The ending must be upstream's, except that upstream's last line, when it
/// has no newline, takes an LF when something follows it in the convention file.
pub(crate) fn comments_out(c: &Line<'_>, c_is_last: bool, u: &Line<'_>) -> bool {
    c.content.len() == u.content.len() + 1
        && c.content[0] == b'#'
        && &c.content[1..] == u.content
        && commented_ending_ok(c.ending, c_is_last, u.ending)
}

fn commented_ending_ok(c: Ending, c_is_last: bool, u: Ending) -> bool {
    match u {
        Ending::None if !c_is_last => c == Ending::Lf,
        _ => c == u,
    }
}

/// Ending of a commented-out upstream line in the convention form (see [`comments_out`]).
pub(crate) fn commented_ending(u: Ending, c_is_last: bool) -> Ending {
    match u {
        Ending::None if !c_is_last => Ending::Lf,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_endings() {
        let lines = split_lines(b"a\r\nb\n\nc");
        let got: Vec<_> = lines.iter().map(|l| (l.content, l.ending)).collect();
        assert_eq!(
            got,
            vec![
                (&b"a"[..], Ending::CrLf),
                (&b"b"[..], Ending::Lf),
                (&b""[..], Ending::Lf),
                (&b"c"[..], Ending::None)
            ]
        );
        assert!(split_lines(b"").is_empty());
        assert_eq!(split_lines(b"\r").len(), 1);
    }

    #[test]
    fn first_comment_skips_strings() {
        assert_eq!(first_comment(b"x = '#' # c"), Some(8));
        assert_eq!(first_comment(br##"x = "\"#" # c"##), Some(10));
        assert_eq!(first_comment(b"s = '''a # b''' #"), Some(16));
        assert_eq!(first_comment(b"Don't # do"), None);
        assert_eq!(first_comment(b"# x"), Some(0));
    }

    fn roundtrip(effective: &[u8]) -> Vec<u8> {
        let c = render_added(effective);
        let back = parse_added(&c).expect("rendered line has a marker");
        assert_eq!(back.effective, effective, "for {:?}", display(&c));
        c
    }

    #[test]
    fn marker_forms_roundtrip() {
        assert_eq!(
            roundtrip(b"raise   # let the host print it"),
            b"raise   ### let the host print it"
        );
        assert_eq!(roundtrip(b"x = 1"), b"x = 1 ###");
        assert_eq!(roundtrip(b""), b" ###");
        assert_eq!(roundtrip(b"    # note"), b"    # note ###");
        assert_eq!(roundtrip(b"    ### section"), b"    ### section ###");
        assert_eq!(roundtrip(b"if c == '#':"), b"if c == '#': ###");
        assert_eq!(
            roundtrip(b"if c == '#':  # skip"),
            b"if c == '#':  ### skip"
        );
        assert_eq!(roundtrip(b"x = 1 ##"), b"x = 1 ####");
        assert_eq!(roundtrip(b"x = 1 # see ###"), b"x = 1 ### see ###");
        assert_eq!(roundtrip(b"Don't do this."), b"Don't do this. ###");
        assert_eq!(roundtrip(b"x = 1# y"), b"x = 1# y ###");
        assert_eq!(roundtrip(b"\xff\xfe # z"), b"\xff\xfe ### z");
    }

    #[test]
    fn non_canonical_marker_is_detected() {
        let a = parse_added(b"x = 1  # hi ###").unwrap();
        assert_eq!(a.effective, b"x = 1  # hi");
        assert_ne!(render_added(&a.effective), b"x = 1  # hi ###");
        assert_eq!(parse_added(b"x = 1###"), None);
        assert_eq!(parse_added(b"x = 1"), None);
    }

    #[test]
    fn comment_out_rules() {
        let u = split_lines(b"foo");
        let c = split_lines(b"#foo\nbar ###\n");
        assert!(comments_out(&c[0], false, &u[0]));
        assert!(!comments_out(&c[0], true, &u[0]));
        let u = split_lines(b"foo\r\n");
        let c = split_lines(b"#foo\n");
        assert!(!comments_out(&c[0], true, &u[0]));
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(column("é = 1".as_bytes(), 3), 3);
        assert_eq!(column(b"\xff\xfex", 2), 3);
        assert_eq!(column(b"abc", 0), 1);
    }
}
