//! Building convention files from edit plans, shared by the convention tests.
//!
//! A plan says which upstream lines are commented out and which lines are added where; `build`
//! makes the upstream file, the convention file and the expected effective file from it. The
//! marker rules are restated here independently of the library, so a library bug cannot hide in
//! both places at once.

#![allow(dead_code)]

#[derive(Debug, Clone)]
pub struct UpLine {
    pub content: Vec<u8>,
    pub crlf: bool,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub upstream: Vec<UpLine>,
    pub upstream_final_newline: bool,
    /// Per upstream line: comment it out?
    pub comment: Vec<bool>,
    /// Added lines before upstream line k (k == len: at the end): (effective, crlf).
    pub added: Vec<Vec<(Vec<u8>, bool)>>,
    /// Whether the convention file's last line, when added, lacks a newline.
    pub last_added_without_newline: bool,
}

pub fn ending(crlf: bool) -> &'static [u8] {
    if crlf {
        b"\r\n"
    } else {
        b"\n"
    }
}

/// One line of the convention file being built: its bytes without ending, its ending, and what
/// it contributes to the effective file.
struct Built {
    content: Vec<u8>,
    ending: Vec<u8>,
    effective: Option<Vec<u8>>,
    /// Upstream's last line without a newline, commented out: takes an LF if not last.
    commented_unterminated: bool,
}

/// A plan made into files.
pub struct Files {
    pub upstream: Vec<u8>,
    pub convention: Vec<u8>,
    pub effective: Vec<u8>,
    pub added: usize,
    pub commented: usize,
}

/// Render a plan as files.
pub fn build(p: &Plan) -> Files {
    let n = p.upstream.len();
    // An empty last line without a newline is no line at all.
    let unterminated = n > 0 && !p.upstream_final_newline && !p.upstream[n - 1].content.is_empty();
    let mut upstream = Vec::new();
    let mut lines: Vec<Built> = Vec::new();
    let mut added = 0;
    let mut add = |lines: &mut Vec<Built>, k: usize| {
        for (e, crlf) in &p.added[k] {
            added += 1;
            lines.push(Built {
                content: render_added_for_test(e),
                ending: ending(*crlf).to_vec(),
                effective: Some(e.clone()),
                commented_unterminated: false,
            });
        }
    };
    for (k, ul) in p.upstream.iter().enumerate() {
        let last_unterminated = k + 1 == n && unterminated;
        let end: &[u8] = if last_unterminated {
            b""
        } else {
            ending(ul.crlf)
        };
        upstream.extend_from_slice(&ul.content);
        upstream.extend_from_slice(end);
        add(&mut lines, k);
        if p.comment[k] {
            let mut content = b"#".to_vec();
            content.extend_from_slice(&ul.content);
            lines.push(Built {
                content,
                ending: end.to_vec(),
                effective: None,
                commented_unterminated: last_unterminated,
            });
        } else {
            lines.push(Built {
                content: ul.content.clone(),
                ending: end.to_vec(),
                effective: Some(ul.content.clone()),
                commented_unterminated: false,
            });
        }
    }
    let upstream_ends_kept_unterminated = unterminated && !p.comment[n - 1];
    if !upstream_ends_kept_unterminated {
        add(&mut lines, n);
    }
    let count = lines.len();
    if p.last_added_without_newline && !upstream_ends_kept_unterminated {
        if let Some(last) = lines.last_mut() {
            if !p.added[n].is_empty() {
                last.ending.clear();
            }
        }
    }
    let (mut convention, mut effective) = (Vec::new(), Vec::new());
    for (k, l) in lines.iter().enumerate() {
        convention.extend_from_slice(&l.content);
        let end: &[u8] = if l.commented_unterminated && k + 1 < count {
            b"\n"
        } else {
            &l.ending
        };
        convention.extend_from_slice(end);
        if let Some(e) = &l.effective {
            effective.extend_from_slice(e);
            effective.extend_from_slice(end);
        }
    }
    Files {
        upstream,
        convention,
        effective,
        added,
        commented: p.comment.iter().filter(|&&c| c).count(),
    }
}

/// The marker rules, restated independently of the library (see the module docs there).
pub fn render_added_for_test(e: &[u8]) -> Vec<u8> {
    let comment = first_comment(e);
    match comment {
        Some(p)
            if p > 0
                && matches!(e[p - 1], b' ' | b'\t')
                && e[..p].iter().any(|b| !matches!(b, b' ' | b'\t')) =>
        {
            let mut c = e[..p].to_vec();
            c.extend_from_slice(b"###");
            c.extend_from_slice(&e[p + 1..]);
            c
        }
        _ => {
            let mut c = e.to_vec();
            c.extend_from_slice(b" ###");
            c
        }
    }
}

fn first_comment(s: &[u8]) -> Option<usize> {
    let mut quote: Option<&[u8]> = None;
    let mut i = 0;
    while i < s.len() {
        match quote {
            Some(q) => {
                if s[i] == b'\\' {
                    i += 2;
                    continue;
                }
                if s[i..].starts_with(q) {
                    i += q.len();
                    quote = None;
                    continue;
                }
            }
            None => {
                if s[i] == b'#' {
                    return Some(i);
                }
                for q in [&b"'''"[..], b"\"\"\"", b"'", b"\""] {
                    if s[i..].starts_with(q) {
                        quote = Some(q);
                        i += q.len();
                        break;
                    }
                }
                if quote.is_some() {
                    continue;
                }
            }
        }
        i += 1;
    }
    None
}
