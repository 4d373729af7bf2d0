//! Unit tests of the public functions on small hand-written files.

use std::path::Path;

use super::*;

const C: &str = "work/m.py";
const P: &str = "patches/m.py.diff";

fn patch(u: &str, c: &str) -> String {
    let p = make_patch(Path::new(C), "m.py", u.as_bytes(), c.as_bytes()).unwrap_or_else(|d| {
        panic!("unexpected diagnostics: {d:#?}");
    });
    String::from_utf8(p).unwrap()
}

fn diags(u: &str, c: &str) -> Vec<String> {
    match make_patch(Path::new(C), "m.py", u.as_bytes(), c.as_bytes()) {
        Ok(p) => panic!(
            "expected diagnostics, got patch {}",
            String::from_utf8_lossy(&p)
        ),
        Err(d) => d
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect(),
    }
}

fn roundtrip(u: &str, c: &str) -> String {
    let p = patch(u, c);
    let rendered = render(Path::new(P), u.as_bytes(), p.as_bytes()).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&rendered),
        c,
        "render(make_patch(C)) != C; patch:\n{p}"
    );
    let applied = apply_patch(Path::new(P), u.as_bytes(), p.as_bytes()).unwrap();
    let extracted = extract(Path::new(C), u.as_bytes(), c.as_bytes()).unwrap();
    assert_eq!(applied, extracted);
    p
}

#[test]
fn unchanged_file_gives_empty_patch() {
    let u = "a\nb\n";
    assert_eq!(patch(u, u), "");
    assert_eq!(
        render(Path::new(P), u.as_bytes(), b"").unwrap(),
        u.as_bytes()
    );
    assert_eq!(patch("", ""), "");
}

#[test]
fn interleaved_hunk() {
    let u = "a\nold1\nold2\nz\n";
    let c = "a\n#old1\nnew1 ###\n#old2\nnew2 ###\nz\n";
    let p = roundtrip(u, c);
    assert_eq!(
        p,
        "--- a/m.py\n+++ b/m.py\n@@ -1,4 +1,4 @@\n a\n-old1\n+new1\n-old2\n+new2\n z\n"
    );
    let stats = patch_stats(Path::new(P), p.as_bytes()).unwrap();
    assert_eq!(
        stats,
        PatchStats {
            commented: 2,
            added: 2
        }
    );
}

#[test]
fn marker_comment_survives() {
    let u = "try:\n    f()\nexcept:\n    pass\n";
    let c = "try:\n    f()\nexcept:\n#    pass\n    raise   ### let the host print it\n";
    let p = roundtrip(u, c);
    assert!(
        p.contains("\n+    raise   # let the host print it\n"),
        "{p}"
    );
    let e = extract(Path::new(C), u.as_bytes(), c.as_bytes()).unwrap();
    assert_eq!(
        e,
        b"try:\n    f()\nexcept:\n    raise   # let the host print it\n"
    );
}

#[test]
fn hunks_split_and_merge() {
    let u: String = (1..=30).map(|k| format!("l{k}\n")).collect();
    // Changes at lines 2 and 9 (6 unchanged lines between): one hunk; at 20: another.
    let c = u
        .replace("l2\n", "#l2\n")
        .replace("l9\n", "#l9\n")
        .replace("l20\n", "l20\nx ###\n");
    let p = roundtrip(&u, &c);
    let headers: Vec<&str> = p.lines().filter(|l| l.starts_with("@@")).collect();
    assert_eq!(headers, vec!["@@ -1,12 +1,10 @@", "@@ -18,6 +16,7 @@"]);
}

#[test]
fn no_newline_at_end() {
    roundtrip("a\nb", "a\nb");
    let p = roundtrip("a\nb", "a\n#b");
    assert_eq!(
        p,
        "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1 @@\n a\n-b\n\\ No newline at end of file\n"
    );
    roundtrip("a\nb", "a\n#b\nc ###");
    roundtrip("a\nb", "a\n#b\nb ###\nc ###\n");
    roundtrip("a\nb\n", "a\nb\nc ###");
    roundtrip("", "x ###\n");
    roundtrip("a\n", "#a\n");
}

#[test]
fn crlf_and_bytes() {
    roundtrip("a\r\nb\r\n", "a\r\n#b\r\nc ###\r\n");
    let u = b"x = '\xff'\n# \xfe\n";
    let c = b"#x = '\xff'\n## \xfe\ny = 1 ### \xfe\n";
    let p = make_patch(Path::new(C), "m.py", u, c).unwrap();
    assert_eq!(render(Path::new(P), u, &p).unwrap(), c);
    assert_eq!(apply_patch(Path::new(P), u, &p).unwrap(), b"y = 1 # \xfe\n");
    roundtrip("a\r", "#a\r");
}

#[test]
fn violations_are_all_reported() {
    let u = "a\nb = 1\nc\nd\n    e\nf\ng\n";
    let c = "a\nb = 2\nc\nd ###\n    #e\n##f\nnew\n";
    assert_eq!(
        diags(u, c),
        vec![
            "2:5: line changed in place: upstream line 2 was edited without being commented out",
            "4:2: ' ###' marker on unchanged upstream line 4",
            "5:5: upstream line 5 commented out with an indented '#'",
            "6:1: upstream line 6 commented out with more than one '#'",
            // `new` looks nothing like `g`: a removal plus an unmarked addition.
            "7:1: upstream line 7 was removed",
            "7:4: added line has no ' ###' marker",
        ]
    );
}

#[test]
fn removed_runs_and_endings() {
    assert_eq!(
        diags("a\nb\nc\nd\n", "a\nd\n"),
        vec!["2:1: upstream lines 2-3 were removed"]
    );
    assert_eq!(
        diags("a\nb\n", "a\r\nb"),
        vec![
            "1:2: line ending differs from upstream line 1: upstream has LF, this line has CRLF",
            "2:2: line ending differs from upstream line 2: upstream has LF, this line has no newline at end of file",
        ]
    );
    assert_eq!(diags("a\n", ""), vec!["1:1: upstream line 1 was removed"]);
}

#[test]
fn added_line_problems() {
    assert_eq!(
        diags("a\n", "a\nx = 1  # hi ###\ny = 2  ###\n"),
        vec![
            "2:8: comment before the ' ###' marker in an added line",
            "3:6: trailing whitespace in an added line",
        ]
    );
}

#[test]
fn broken_patches() {
    let u = b"a\nb\nc\n";
    let p = make_patch(Path::new(C), "m.py", u, b"a\n#b\nc\n").unwrap();
    let good = String::from_utf8(p).unwrap();
    let err = |patch: &str| apply_patch(Path::new(P), u, patch.as_bytes()).unwrap_err();
    assert!(matches!(
        err(&good.replace("@@ -1,3", "@@ -1,x")),
        PatchError::BadHunkHeader { line: 3, .. }
    ));
    assert!(matches!(
        err(&good.replace("@@ -1,3", "@@ -1,4")),
        PatchError::CountMismatch { .. }
    ));
    assert!(matches!(
        err(&good.replace(" a\n", " z\n")),
        PatchError::ContextMismatch {
            line: 4,
            upstream_line: 1,
            ..
        }
    ));
    assert!(matches!(
        err(&good.replace("m.py", "n.py")),
        PatchError::WrongFile { .. }
    ));
    assert!(matches!(
        err(&good.replace(" c\n", "?c\n")),
        PatchError::UnexpectedLine { line: 6, .. }
    ));
    assert!(matches!(
        err(&good[..good.len() - 1]),
        PatchError::Truncated { .. }
    ));
    assert!(matches!(
        err("hello\n"),
        PatchError::BadFileHeader { line: 1, .. }
    ));
    assert!(matches!(
        apply_patch(Path::new(P), b"a\n", good.as_bytes()).unwrap_err(),
        PatchError::PastEnd { .. } | PatchError::ContextMismatch { .. }
    ));
    let msg = err(&good.replace(" a\n", " z\n")).to_string();
    assert!(
        msg.starts_with("patches/m.py.diff:4: ") && msg.contains("portlib refresh"),
        "{msg}"
    );
}

#[test]
fn hunk_positions_are_checked() {
    let u = b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n";
    let p = make_patch(
        Path::new(C),
        "m.py",
        u,
        b"#a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n#k\n",
    )
    .unwrap();
    let good = String::from_utf8(p).unwrap();
    assert_eq!(good.matches("@@").count(), 4, "two hunks:\n{good}");
    let err = |patch: &str| apply_patch(Path::new(P), u, patch.as_bytes()).unwrap_err();
    assert!(matches!(
        err(&good.replace("@@ -8,4 +7,3 @@", "@@ -8,4 +8,3 @@")),
        PatchError::HunkOffset { line: 8, .. }
    ));
    assert!(matches!(
        err(&good.replace("@@ -8,4 +7,3 @@", "@@ -2,4 +1,3 @@")),
        PatchError::HunkOutOfOrder { line: 8, .. }
    ));
    assert!(matches!(
        err(&good.replace("@@ -8,4 +7,3 @@", "@@ -99999999999,4 +7,3 @@")),
        PatchError::BadHunkHeader { .. }
    ));
    assert!(matches!(
        err(&good.replace("@@ -8,4 +7,3 @@", "@@ -9,4 +8,3 @@")),
        PatchError::ContextMismatch {
            line: 9,
            upstream_line: 9,
            ..
        }
    ));
    assert!(matches!(
        err(&good.replace("@@ -8,4 +7,3 @@", "@@ -90,4 +89,3 @@")),
        PatchError::PastEnd { .. }
    ));
    let no_hunks = "--- a/m.py\n+++ b/m.py\n";
    assert!(matches!(
        err(no_hunks),
        PatchError::BadHunkHeader { line: 3, .. }
    ));
    let misplaced =
        "--- a/m.py\n+++ b/m.py\n@@ -1,2 +1,3 @@\n+x\n\\ No newline at end of file\n a\n b\n";
    assert!(matches!(
        err(misplaced),
        PatchError::MisplacedNoNewline { .. }
    ));
    let stats = patch_stats(Path::new(P), good.as_bytes()).unwrap();
    assert_eq!(
        stats,
        PatchStats {
            commented: 2,
            added: 0
        }
    );
}

#[test]
fn documented_quirks_hold() {
    assert_eq!(
        diags("'''\n'''\n", "'''\n    See issue #12. ###\n'''\n"),
        vec!["2:15: comment before the ' ###' marker in an added line"]
    );
    let e = extract(
        Path::new(C),
        b"'''\n'''\n",
        b"'''\n    See issue ###12.\n'''\n",
    )
    .unwrap();
    assert_eq!(e, b"'''\n    See issue #12.\n'''\n");
    let e = extract(Path::new(C), b"x ###\n", b"#x ###\nx ###\n").unwrap();
    assert_eq!(e, b"#x\nx ###\n");
}
