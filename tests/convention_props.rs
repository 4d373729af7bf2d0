//! Property tests of the convention round trip on generated files:
//! `render(U, make_patch(U, C)) == C` and `apply_patch(U, make_patch(U, C)) == extract(U, C)`.
//!
//! Upstream files are drawn from lines chosen to confuse an alignment: comments (`# c`,
//! `## c`), lines ending in ` ###`, duplicates, blank lines, CRLF endings, non-UTF-8 bytes and a
//! missing final newline. Edits comment lines out and add lines (with and without a comment
//! after the marker), interleaved.

use std::path::Path;

use portlib::convention::{apply_patch, extract, make_patch, patch_stats, render};
use proptest::prelude::*;

#[path = "support/plan.rs"]
mod plan;
use plan::{build, Files, Plan, UpLine};

const CPATH: &str = "work/m.py";
const PPATH: &str = "patches/m.py.diff";

/// Upstream line contents, tricky on purpose.
const UPSTREAM: &[&[u8]] = &[
    b"",
    b"x = 1",
    b"# c",
    b"## c",
    b"#",
    b"y ###",
    b"x = 1 ###",
    b"    pass",
    b"\tz = 2",
    b"x = '#'  # hi",
    b"a ### b",
    b"\xc3\xa9 = 3",
    b"\xff\xfe",
    b"###",
    b" ###",
    b"    # note ###",
    b"s = \"\"\"",
    b"new",
    b"x = 1  ",
];

/// Effective contents of added lines (never ending in whitespace: that is a violation).
const ADDED: &[&[u8]] = &[
    b"new",
    b"",
    b"# note",
    b"raise   # let the host print it",
    b"x = '#'",
    b"x = 1",
    b"y",
    b"\xc3\xa9 = 2",
    b"\xff",
    b"    ### section",
    b"a ### b",
    b"x = 1  # c",
    b"# c",
    b"Don't # do",
];

fn up_line(pool: &'static [&'static [u8]]) -> impl Strategy<Value = UpLine> {
    (prop::sample::select(pool), prop::bool::weighted(0.15)).prop_map(|(c, crlf)| UpLine {
        content: c.to_vec(),
        crlf,
    })
}

fn plans(
    up_pool: &'static [&'static [u8]],
    add_pool: &'static [&'static [u8]],
) -> impl Strategy<Value = Plan> {
    (
        prop::collection::vec(up_line(up_pool), 0..24),
        prop::bool::weighted(0.8),
    )
        .prop_flat_map(move |(upstream, final_nl)| {
            let n = upstream.len();
            let added_line = (prop::sample::select(add_pool), prop::bool::weighted(0.1))
                .prop_map(|(c, crlf)| (c.to_vec(), crlf));
            let before = prop::collection::vec(prop::collection::vec(added_line, 0..3), n + 1);
            let comment = prop::collection::vec(prop::bool::weighted(0.3), n);
            (
                Just(upstream),
                Just(final_nl),
                comment,
                before,
                any::<bool>(),
            )
                .prop_map(
                    |(
                        upstream,
                        upstream_final_newline,
                        comment,
                        added,
                        last_added_without_newline,
                    )| Plan {
                        upstream,
                        upstream_final_newline,
                        comment,
                        added,
                        last_added_without_newline,
                    },
                )
        })
}

fn check_roundtrip(upstream: &[u8], convention: &[u8]) -> Result<Vec<u8>, TestCaseError> {
    let patch = match make_patch(Path::new(CPATH), "m.py", upstream, convention) {
        Ok(p) => p,
        Err(d) => {
            return Err(TestCaseError::fail(format!(
                "valid file rejected: {}\nupstream: {:?}\nconvention: {:?}",
                d.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                String::from_utf8_lossy(upstream),
                String::from_utf8_lossy(convention)
            )))
        }
    };
    let rendered = render(Path::new(PPATH), upstream, &patch).map_err(|e| {
        TestCaseError::fail(format!(
            "render failed: {e}\npatch:\n{}",
            String::from_utf8_lossy(&patch)
        ))
    })?;
    prop_assert_eq!(
        String::from_utf8_lossy(&rendered),
        String::from_utf8_lossy(convention),
        "render(make_patch(C)) != C; patch:\n{}",
        String::from_utf8_lossy(&patch)
    );
    prop_assert_eq!(&rendered, convention);
    let applied = apply_patch(Path::new(PPATH), upstream, &patch)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let extracted = extract(Path::new(CPATH), upstream, convention)
        .map_err(|_| TestCaseError::fail("extract"))?;
    prop_assert_eq!(&applied, &extracted);
    Ok(patch)
}

/// Lines a hand edit might leave in a patch.
const JUNK: &[&[u8]] = &[
    b"@@ -1 +1 @@\n",
    b" x\n",
    b"-\n",
    b"\\ No newline at end of file\n",
    b"\n",
    b"@@ -0,0 +0,0 @@\n",
    b"+++ b/m.py\n",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn valid_edits_roundtrip(p in plans(UPSTREAM, ADDED)) {
        let f = build(&p);
        let patch = check_roundtrip(&f.upstream, &f.convention)?;
        let stats = patch_stats(Path::new(PPATH), &patch).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (planned_added, planned_commented) = (f.added, f.commented);
        // The alignment keeps as many upstream lines as it can: never more comment-outs than
        // planned. Added lines are convention lines minus upstream lines, whatever the reading.
        prop_assert!(stats.commented <= planned_commented);
        prop_assert_eq!(stats.added, planned_added);
    }

    #[test]
    fn unambiguous_edits_give_the_planned_effective_file(p in plans(&[b"u1", b"u2", b"", b"    u3", b"\xff"], &[b"a1", b"# a2", b"a3  # why"])) {
        let f = build(&p);
        check_roundtrip(&f.upstream, &f.convention)?;
        let extracted = extract(Path::new(CPATH), &f.upstream, &f.convention).map_err(|_| TestCaseError::fail("extract"))?;
        prop_assert_eq!(extracted, f.effective);
    }

    #[test]
    fn unchanged_file_gives_empty_patch(p in plans(UPSTREAM, ADDED)) {
        let upstream = build(&p).upstream;
        let patch = make_patch(Path::new(CPATH), "m.py", &upstream, &upstream).map_err(|_| TestCaseError::fail("rejected"))?;
        prop_assert!(patch.is_empty());
        prop_assert_eq!(render(Path::new(PPATH), &upstream, b"").map_err(|e| TestCaseError::fail(e.to_string()))?, upstream.clone());
        prop_assert_eq!(apply_patch(Path::new(PPATH), &upstream, b"").map_err(|e| TestCaseError::fail(e.to_string()))?, upstream);
    }

    /// Any convention file at all: diagnostics or a patch, never a panic; a patch round-trips.
    #[test]
    fn arbitrary_files_never_panic(
        u in prop::collection::vec((prop::sample::select(UPSTREAM), 0u8..3), 0..16),
        c in prop::collection::vec((prop::sample::select(UPSTREAM), 0u8..4, 0u8..3), 0..16),
    ) {
        let line = |content: &[u8], end: u8| -> Vec<u8> {
            let mut l = content.to_vec();
            l.extend_from_slice(match end { 0 => b"\n", 1 => b"\r\n", _ => b"" });
            l
        };
        let upstream: Vec<u8> = u.iter().flat_map(|(l, e)| line(l, *e)).collect();
        let convention: Vec<u8> = c.iter().flat_map(|(l, how, e)| {
            let mut content = match how { 0 => l.to_vec(), 1 => [b"#", *l].concat(), 2 => [*l, b" ###"].concat(), _ => [b"  #", *l].concat() };
            content = line(&content, *e);
            content
        }).collect();
        match make_patch(Path::new(CPATH), "m.py", &upstream, &convention) {
            Ok(_) => { check_roundtrip(&upstream, &convention)?; }
            Err(diags) => {
                prop_assert!(!diags.is_empty());
                let lines = convention.split(|&b| b == b'\n').count();
                for d in diags {
                    prop_assert!(d.line >= 1 && d.line <= lines + 1 && d.col >= 1, "{}", d);
                }
            }
        }
    }

    /// Patches mangled by hand: an error or a result, never a panic.
    #[test]
    fn mangled_patches_never_panic(p in plans(UPSTREAM, ADDED), cut in any::<prop::sample::Index>(), junk in prop::sample::select(JUNK)) {
        let Files { upstream, convention, .. } = build(&p);
        let patch = make_patch(Path::new(CPATH), "m.py", &upstream, &convention).map_err(|_| TestCaseError::fail("rejected"))?;
        let at = cut.index(patch.len() + 1);
        let mangled = [&patch[..at], junk, &patch[at..]].concat();
        let _ = apply_patch(Path::new(PPATH), &upstream, &mangled);
        let _ = render(Path::new(PPATH), &upstream, &mangled);
        let _ = patch_stats(Path::new(PPATH), &mangled);
    }
}
