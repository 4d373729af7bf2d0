//! Aligning a convention file's lines against upstream's lines.
//!
//! # Why a dynamic programme
//!
//! A greedy walk ("take the upstream line if it matches, else a comment, else an addition") is
//! fooled by files this convention meets every day: an added line that repeats an upstream line,
//! upstream comments (`# foo` kept, `## foo` commented out), upstream lines that themselves end in
//! ` ###`, a block commented out in one place and re-added a few lines down. So the alignment is
//! an edit-distance programme over lines: it picks, among all monotone ways to explain the
//! convention file, the cheapest one.
//!
//! # Costs
//!
//! | step | cost |
//! |------|------|
//! | keep (convention line byte-equal to the upstream line) | 0 |
//! | comment out (`#` + upstream line) | 1 |
//! | add (a line carrying the ` ###` marker) | 2 |
//! | pair a near miss (marker on an unchanged line, `##`, indented `#`, `# `, line ending) | V |
//! | upstream line removed | V |
//! | convention line that is none of the above (no marker) | V |
//! | pair such a line with a removed upstream line ("changed in place") | V + 1 |
//!
//! V is large, so the programme first minimises the number of violations, then prefers keeping
//! over commenting over adding. For a valid file the count of added lines is fixed (convention
//! lines minus upstream lines), so the cost reduces to "keep as many upstream lines as possible".
//! Ties are broken in a fixed order (diagonal steps, then convention-only steps, then
//! upstream-only steps, walking back from the end), so the result is deterministic.
//!
//! # Keeping it fast
//!
//! The full table for two 3,000-line files is 9 million cells. Most of it is useless: a line that
//! is byte-equal in both files, occurs once in each, does not start with `#` and carries no
//! marker can only be a kept line in any valid alignment (it cannot be a comment-out or an
//! addition, and the upstream line has no other copy to be kept as). Such lines are anchors,
//! as in patience diff: the longest increasing chain of them splits the problem into small gaps,
//! recursively, and common prefixes and suffixes of anchor-able lines are peeled off the same
//! way. A convention line occurring once that is `#` + an upstream line occurring once (and is
//! no upstream line itself, and has no marker) is forced the same way, as a comment-out. Only
//! the gaps go through the full programme. In a gap with no such anchors, lines equal but for
//! their line endings anchor as violations (an editor converted the file). A gap still too large
//! (a file rewritten wholesale) is split by the `similar` crate's Myers diff first, and one
//! beyond 64 M cells is reported as removed and unmarked lines rather than exhaust memory.

use std::collections::HashMap;
use std::ops::Range;

use super::lines::{comments_out, Added, Line};

/// Why a convention line was paired with a removed upstream line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PairKind {
    /// Same content, another line ending.
    EndingDiffers,
    /// An added line whose effective content is the upstream line.
    MarkerOnUnchanged,
    /// `##…` where one `#` was needed.
    ExtraHashes,
    /// The comment-out `#` is after the indentation.
    IndentedHash,
    /// `# ` + the upstream line.
    SpaceAfterHash,
    /// Anything else: an edit made without commenting the upstream line out.
    Edited,
}

/// One step of an alignment; indices are 0-based into the upstream and convention lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Convention line `c` is upstream line `u`, unchanged.
    Keep { u: usize, c: usize },
    /// Convention line `c` is upstream line `u` commented out.
    Comment { u: usize, c: usize },
    /// Convention line `c` is an added line.
    Add { c: usize },
    /// Upstream line `u` is missing from the convention file.
    Remove { u: usize },
    /// Convention line `c` is neither upstream nor marked as added.
    Junk { c: usize },
    /// Convention line `c` stands where upstream line `u` was removed.
    Pair { u: usize, c: usize, kind: PairKind },
}

const KEEP: u64 = 0;
const COMMENT: u64 = 1;
const ADD: u64 = 2;
/// Cost of a violation: more than any number of valid steps in a real file.
const V: u64 = 1 << 32;

/// Gaps up to this many cells go straight to the programme instead of being split further.
const SMALL_GAP: usize = 4096;
/// Above this many cells a gap without unique anchors is split with Myers' diff first.
const LARGE_GAP: usize = 16 << 20;
/// Never allocate more than this many cells (one byte each).
const MAX_CELLS: usize = 64 << 20;

struct Ctx<'a, 'b> {
    u: &'b [Line<'a>],
    c: &'b [Line<'a>],
    added: &'b [Option<Added>],
}

impl Ctx<'_, '_> {
    /// A pair that can only be a kept line in a valid alignment (see module docs).
    fn anchorable(&self, u: usize, c: usize) -> bool {
        self.u[u].raw == self.c[c].raw
            && self.added[c].is_none()
            && !self.c[c].content.starts_with(b"#")
    }

    fn c_is_last(&self, c: usize) -> bool {
        c + 1 == self.c.len()
    }

    /// The cheapest diagonal step pairing upstream line `u` with convention line `c`.
    fn diagonal(&self, u: usize, c: usize) -> Option<(u64, Step)> {
        let (ul, cl) = (&self.u[u], &self.c[c]);
        if ul.raw == cl.raw {
            return Some((KEEP, Step::Keep { u, c }));
        }
        if comments_out(cl, self.c_is_last(c), ul) {
            return Some((COMMENT, Step::Comment { u, c }));
        }
        if let Some(kind) = near_miss(ul, cl, self.added[c].as_ref()) {
            return Some((V, Step::Pair { u, c, kind }));
        }
        if self.added[c].is_none() {
            return Some((
                V + 1,
                Step::Pair {
                    u,
                    c,
                    kind: PairKind::Edited,
                },
            ));
        }
        None
    }

    fn left(&self, c: usize) -> (u64, Step) {
        if self.added[c].is_some() {
            (ADD, Step::Add { c })
        } else {
            (V, Step::Junk { c })
        }
    }
}

/// Recognise the usual ways of getting a comment-out or an addition slightly wrong.
fn near_miss(u: &Line<'_>, c: &Line<'_>, added: Option<&Added>) -> Option<PairKind> {
    let (uc, cc) = (u.content, c.content);
    if cc == uc || (cc.len() == uc.len() + 1 && cc[0] == b'#' && &cc[1..] == uc) {
        return Some(PairKind::EndingDiffers);
    }
    // `foo ###` or `foo  ### why` where upstream has `foo`.
    let code_is_upstream = |a: &Added| {
        let code = &cc[..a.marker_at];
        let end = code.len()
            - code
                .iter()
                .rev()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
        a.effective == uc || &code[..end] == uc
    };
    if added.is_some_and(code_is_upstream) {
        return Some(PairKind::MarkerOnUnchanged);
    }
    if cc.len() >= uc.len() + 2
        && cc.ends_with(uc)
        && cc[..cc.len() - uc.len()].iter().all(|&b| b == b'#')
    {
        return Some(PairKind::ExtraHashes);
    }
    if cc.len() == uc.len() + 2 && cc.starts_with(b"# ") && &cc[2..] == uc {
        return Some(PairKind::SpaceAfterHash);
    }
    let indent = cc.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    if indent > 0 && cc.get(indent) == Some(&b'#') {
        let rest = trim_start(&cc[indent + 1..]);
        let upstream = trim_start(uc);
        if !upstream.is_empty() && rest == upstream {
            return Some(PairKind::IndentedHash);
        }
    }
    None
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

/// Align convention lines `c` (with their marker readings `added`) against upstream lines `u`.
pub(crate) fn align(u: &[Line<'_>], c: &[Line<'_>], added: &[Option<Added>]) -> Vec<Step> {
    let ctx = Ctx { u, c, added };
    let mut out = Vec::with_capacity(u.len().max(c.len()) + 16);
    solve(&ctx, 0..u.len(), 0..c.len(), &mut out);
    out
}

fn solve(ctx: &Ctx<'_, '_>, mut ur: Range<usize>, mut cr: Range<usize>, out: &mut Vec<Step>) {
    while !ur.is_empty() && !cr.is_empty() && ctx.anchorable(ur.start, cr.start) {
        out.push(Step::Keep {
            u: ur.start,
            c: cr.start,
        });
        ur.start += 1;
        cr.start += 1;
    }
    let mut suffix = 0;
    while ur.len() > suffix
        && cr.len() > suffix
        && ctx.anchorable(ur.end - 1 - suffix, cr.end - 1 - suffix)
    {
        suffix += 1;
    }
    let (ur_mid, cr_mid) = (ur.start..ur.end - suffix, cr.start..cr.end - suffix);
    solve_middle(ctx, ur_mid, cr_mid, out);
    for k in (1..=suffix).rev() {
        out.push(Step::Keep {
            u: ur.end - k,
            c: cr.end - k,
        });
    }
}

fn solve_middle(ctx: &Ctx<'_, '_>, ur: Range<usize>, cr: Range<usize>, out: &mut Vec<Step>) {
    let cells = (ur.len() + 1).saturating_mul(cr.len() + 1);
    if ur.is_empty() || cr.is_empty() || cells <= SMALL_GAP {
        return table(ctx, ur, cr, out);
    }
    let mut anchors = unique_anchors(ctx, ur.clone(), cr.clone());
    if anchors.is_empty() {
        anchors = ending_anchors(ctx, ur.clone(), cr.clone());
    }
    if anchors.is_empty() && cells > LARGE_GAP {
        anchors = myers_anchors(ctx, ur.clone(), cr.clone());
    }
    if anchors.is_empty() {
        return table(ctx, ur, cr, out);
    }
    let (mut u0, mut c0) = (ur.start, cr.start);
    for (ua, ca) in anchors {
        solve(ctx, u0..ua, c0..ca, out);
        out.push(if ctx.u[ua].raw == ctx.c[ca].raw {
            Step::Keep { u: ua, c: ca }
        } else if ctx.u[ua].content == ctx.c[ca].content {
            Step::Pair {
                u: ua,
                c: ca,
                kind: PairKind::EndingDiffers,
            }
        } else {
            Step::Comment { u: ua, c: ca }
        });
        u0 = ua + 1;
        c0 = ca + 1;
    }
    solve(ctx, u0..ur.end, c0..cr.end, out);
}

/// Pairs forced in any valid alignment, longest chain increasing in both members.
///
/// A kept anchor is an anchor-able line occurring once in each range. A comment-out anchor is a
/// convention line occurring once, equal to `#` + an upstream line that occurs once, carrying no
/// marker and not itself an upstream line: it can only be that line commented out, which is
/// what makes a file commented out wholesale cheap to align.
fn unique_anchors(ctx: &Ctx<'_, '_>, ur: Range<usize>, cr: Range<usize>) -> Vec<(usize, usize)> {
    let in_u = occurrences(ctx.u, ur, |l| l.raw);
    let in_c = occurrences(ctx.c, cr, |l| l.raw);
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (&raw, &(nc, j)) in &in_c {
        if nc != 1 {
            continue;
        }
        match in_u.get(raw) {
            Some(&(1, i)) if ctx.anchorable(i, j) => pairs.push((i, j)),
            Some(_) => {}
            None => {
                let commented = raw.strip_prefix(b"#").and_then(|rest| in_u.get(rest));
                if let Some(&(1, i)) = commented {
                    if ctx.added[j].is_none() {
                        pairs.push((i, j));
                    }
                }
            }
        }
    }
    pairs.sort_unstable();
    longest_increasing(&pairs)
}

/// Lines equal but for their endings, occurring once in each range: in a file whose line
/// endings were all converted by an editor nothing else matches, and without these anchors the
/// whole file would go through the programme only to report the same thing line by line.
/// Such a convention line (no marker, no leading `#`) is a violation in every alignment, so
/// these anchors are only ever taken in files that are invalid anyway.
fn ending_anchors(ctx: &Ctx<'_, '_>, ur: Range<usize>, cr: Range<usize>) -> Vec<(usize, usize)> {
    let in_u = occurrences(ctx.u, ur, |l| l.content);
    let in_c = occurrences(ctx.c, cr, |l| l.content);
    let mut pairs: Vec<(usize, usize)> = in_c
        .iter()
        .filter(|(content, &(nc, j))| {
            nc == 1 && ctx.added[j].is_none() && !content.starts_with(b"#")
        })
        .filter_map(|(content, &(_, j))| match in_u.get(content) {
            Some(&(1, i)) if ctx.u[i].ending != ctx.c[j].ending => Some((i, j)),
            _ => None,
        })
        .collect();
    pairs.sort_unstable();
    longest_increasing(&pairs)
}

/// For each key of the lines in `range`: how many lines have it, and the last one's index.
fn occurrences<'a>(
    lines: &[Line<'a>],
    range: Range<usize>,
    key: fn(&Line<'a>) -> &'a [u8],
) -> HashMap<&'a [u8], (u32, usize)> {
    let mut seen: HashMap<&'a [u8], (u32, usize)> = HashMap::new();
    for k in range {
        let e = seen.entry(key(&lines[k])).or_insert((0, k));
        e.0 += 1;
        e.1 = k;
    }
    seen
}

/// Longest chain of pairs (sorted by first member) increasing in the second member.
fn longest_increasing(pairs: &[(usize, usize)]) -> Vec<(usize, usize)> {
    // tails[k]: index into `pairs` of the smallest tail of a chain of length k + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; pairs.len()];
    for (idx, &(_, j)) in pairs.iter().enumerate() {
        let pos = tails.partition_point(|&t| pairs[t].1 < j);
        if pos > 0 {
            prev[idx] = Some(tails[pos - 1]);
        }
        if pos == tails.len() {
            tails.push(idx);
        } else {
            tails[pos] = idx;
        }
    }
    let mut chain = Vec::with_capacity(tails.len());
    let mut cur = tails.last().copied();
    while let Some(idx) = cur {
        chain.push(pairs[idx]);
        cur = prev[idx];
    }
    chain.reverse();
    chain
}

/// Anchor-able equal lines found by Myers' diff, for huge gaps without unique lines.
fn myers_anchors(ctx: &Ctx<'_, '_>, ur: Range<usize>, cr: Range<usize>) -> Vec<(usize, usize)> {
    let old: Vec<&[u8]> = ctx.u[ur.clone()].iter().map(|l| l.raw).collect();
    let new: Vec<&[u8]> = ctx.c[cr.clone()].iter().map(|l| l.raw).collect();
    let mut anchors = Vec::new();
    for op in similar::capture_diff_slices(similar::Algorithm::Myers, &old, &new) {
        if let similar::DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        {
            for k in 0..len {
                let (i, j) = (ur.start + old_index + k, cr.start + new_index + k);
                if ctx.anchorable(i, j) {
                    anchors.push((i, j));
                }
            }
        }
    }
    anchors
}

const FROM_DIAG: u8 = 1;
const FROM_LEFT: u8 = 2;
const FROM_UP: u8 = 3;

/// The full programme over one gap; appends the cheapest steps in order.
fn table(ctx: &Ctx<'_, '_>, ur: Range<usize>, cr: Range<usize>, out: &mut Vec<Step>) {
    let (n, m) = (ur.len(), cr.len());
    if (n + 1).saturating_mul(m + 1) > MAX_CELLS {
        // A wholesale rewrite of a huge file: report it as such rather than exhaust memory.
        out.extend(ur.map(|u| Step::Remove { u }));
        out.extend(cr.map(|c| ctx.left(c).1));
        return;
    }
    let w = m + 1;
    let mut from = vec![0u8; (n + 1) * w];
    let mut prev = vec![0u64; w];
    let mut cur = vec![0u64; w];
    for j in 1..=m {
        prev[j] = prev[j - 1] + ctx.left(cr.start + j - 1).0;
        from[j] = FROM_LEFT;
    }
    for i in 1..=n {
        let u = ur.start + i - 1;
        cur[0] = prev[0] + V;
        from[i * w] = FROM_UP;
        for j in 1..=m {
            let c = cr.start + j - 1;
            let mut best = u64::MAX;
            let mut how = 0;
            if let Some((cost, _)) = ctx.diagonal(u, c) {
                best = prev[j - 1] + cost;
                how = FROM_DIAG;
            }
            let left = cur[j - 1] + ctx.left(c).0;
            if left < best {
                best = left;
                how = FROM_LEFT;
            }
            let up = prev[j] + V;
            if up < best {
                best = up;
                how = FROM_UP;
            }
            cur[j] = best;
            from[i * w + j] = how;
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    let mut steps = Vec::with_capacity(n + m);
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let u = (ur.start + i).saturating_sub(1);
        let c = (cr.start + j).saturating_sub(1);
        match from[i * w + j] {
            FROM_DIAG => {
                // The table only records a diagonal step where one exists.
                let step = ctx.diagonal(u, c).map_or(Step::Remove { u }, |(_, s)| s);
                steps.push(step);
                i -= 1;
                j -= 1;
            }
            FROM_LEFT => {
                steps.push(ctx.left(c).1);
                j -= 1;
            }
            _ => {
                steps.push(Step::Remove { u });
                i -= 1;
            }
        }
    }
    steps.reverse();
    out.extend(steps);
}

#[cfg(test)]
mod tests {
    use super::super::lines::{parse_added, split_lines};
    use super::*;

    fn run(u: &[u8], c: &[u8]) -> Vec<Step> {
        let (u, c) = (split_lines(u), split_lines(c));
        let added: Vec<_> = c.iter().map(|l| parse_added(l.content)).collect();
        align(&u, &c, &added)
    }

    #[test]
    fn added_copy_of_upstream_line() {
        let steps = run(b"a\nb\nc\n", b"a\nb ###\nb\nc\n");
        assert_eq!(
            steps,
            vec![
                Step::Keep { u: 0, c: 0 },
                Step::Add { c: 1 },
                Step::Keep { u: 1, c: 2 },
                Step::Keep { u: 2, c: 3 }
            ]
        );
    }

    #[test]
    fn upstream_comments_and_markers() {
        // `## foo` comments out `# foo`; `#x ###` comments out `x ###`; `x ###` kept.
        let steps = run(b"# foo\nx ###\nx ###\n", b"## foo\n#x ###\nx ###\n");
        assert_eq!(
            steps,
            vec![
                Step::Comment { u: 0, c: 0 },
                Step::Comment { u: 1, c: 1 },
                Step::Keep { u: 2, c: 2 }
            ]
        );
    }

    #[test]
    fn commented_pair_beats_unique_match() {
        // `#foo` is byte-equal to upstream line 0 but must be the comment-out of `foo`.
        let steps = run(b"#foo\nfoo\n", b"##foo\n#foo\n");
        assert_eq!(
            steps,
            vec![Step::Comment { u: 0, c: 0 }, Step::Comment { u: 1, c: 1 }]
        );
    }

    #[test]
    fn moved_block() {
        let steps = run(b"a\nb\nc\nd\n", b"a\n#b\nc\nb ###\nd\n");
        assert_eq!(
            steps,
            vec![
                Step::Keep { u: 0, c: 0 },
                Step::Comment { u: 1, c: 1 },
                Step::Keep { u: 2, c: 2 },
                Step::Add { c: 3 },
                Step::Keep { u: 3, c: 4 }
            ]
        );
    }

    #[test]
    fn violations_are_paired() {
        let steps = run(b"a\nfoo\nc\n", b"a\nfoo ###\nc\n");
        assert_eq!(
            steps[1],
            Step::Pair {
                u: 1,
                c: 1,
                kind: PairKind::MarkerOnUnchanged
            }
        );
        let steps = run(b"a\n    foo\nc\n", b"a\n    #foo\nc\n");
        assert_eq!(
            steps[1],
            Step::Pair {
                u: 1,
                c: 1,
                kind: PairKind::IndentedHash
            }
        );
        let steps = run(b"a\nb\nc\n", b"a\nc\n");
        assert_eq!(steps[1], Step::Remove { u: 1 });
    }

    #[test]
    fn large_files_use_anchors() {
        let mut u = Vec::new();
        for k in 0..3000 {
            u.extend_from_slice(format!("line {k}\n").as_bytes());
        }
        let mut c = u.clone();
        c.splice(0..0, b"#".iter().copied());
        c.extend_from_slice(b"tail ###\n");
        let steps = run(&u, &c);
        assert_eq!(steps[0], Step::Comment { u: 0, c: 0 });
        assert_eq!(steps.len(), 3001);
        assert_eq!(steps[3000], Step::Add { c: 3000 });
    }

    #[test]
    fn commented_out_file_uses_comment_anchors() {
        let mut u = Vec::new();
        let mut c = Vec::new();
        for k in 0..9000 {
            u.extend_from_slice(format!("line {k}\n").as_bytes());
            c.extend_from_slice(format!("#line {k}\n").as_bytes());
        }
        let steps = run(&u, &c);
        assert_eq!(steps.len(), 9000);
        assert!(steps
            .iter()
            .enumerate()
            .all(|(k, s)| *s == Step::Comment { u: k, c: k }));
    }

    #[test]
    fn converted_line_endings_pair_up() {
        let mut u = Vec::new();
        let mut c = Vec::new();
        for k in 0..5000 {
            u.extend_from_slice(format!("line {k}\n").as_bytes());
            c.extend_from_slice(format!("line {k}\r\n").as_bytes());
        }
        let steps = run(&u, &c);
        assert_eq!(steps.len(), 5000);
        let pair = |k| Step::Pair {
            u: k,
            c: k,
            kind: PairKind::EndingDiffers,
        };
        assert!(steps.iter().enumerate().all(|(k, s)| *s == pair(k)));
    }

    #[test]
    fn lis_picks_longest_chain() {
        let pairs = [(0, 5), (1, 1), (2, 2), (3, 0), (4, 3)];
        assert_eq!(longest_increasing(&pairs), vec![(1, 1), (2, 2), (4, 3)]);
    }
}
