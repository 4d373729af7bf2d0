//! The diagnostic messages, in one place so their wording stays stable (the README lists them;
//! tests compare them).

pub(crate) fn removed_one(n: usize) -> String {
    format!("upstream line {n} was removed")
}

pub(crate) fn removed_many(first: usize, last: usize) -> String {
    format!("upstream lines {first}-{last} were removed")
}

pub(crate) fn help_removed(commented: &str) -> String {
    format!("upstream lines are never deleted: comment it out here with one '#' at column 0: `{commented}`")
}

pub(crate) fn changed_in_place(n: usize) -> String {
    format!("line changed in place: upstream line {n} was edited without being commented out")
}

pub(crate) fn help_changed_in_place(commented: &str) -> String {
    format!("keep the upstream line commented out (`{commented}`) and add your version after it, ending in ' ###'")
}

pub(crate) const NO_MARKER: &str = "added line has no ' ###' marker";
pub(crate) const HELP_NO_MARKER: &str =
    "end every added line with ' ###' (a space and three '#'); \
to comment out an upstream line, put one '#' at column 0";

pub(crate) fn marker_on_unchanged(n: usize) -> String {
    format!("' ###' marker on unchanged upstream line {n}")
}

pub(crate) const HELP_MARKER_ON_UNCHANGED: &str =
    "remove the marker: the line is the same as upstream";

pub(crate) fn extra_hashes(n: usize) -> String {
    format!("upstream line {n} commented out with more than one '#'")
}

pub(crate) fn indented_hash(n: usize) -> String {
    format!("upstream line {n} commented out with an indented '#'")
}

pub(crate) fn space_after_hash(n: usize) -> String {
    format!("upstream line {n} commented out with a space after '#'")
}

pub(crate) fn help_exact_comment(commented: &str) -> String {
    format!("comment out with exactly one '#' at column 0, followed by the upstream line as is: `{commented}`")
}

pub(crate) fn ending_differs(n: usize, upstream: &str, here: &str) -> String {
    format!(
        "line ending differs from upstream line {n}: upstream has {upstream}, this line has {here}"
    )
}

pub(crate) const HELP_ENDING: &str = "restore upstream's line ending (check the editor's line-ending \
and final-newline settings); to add lines after an upstream last line without a newline, comment it \
out and add it again";

pub(crate) const COMMENT_BEFORE_MARKER: &str = "comment before the ' ###' marker in an added line";

pub(crate) fn help_comment_before_marker(canonical: &str) -> String {
    format!(
        "write `{canonical}`: on a line with code, the marker takes the place of the comment's '#'"
    )
}

pub(crate) const TRAILING_WHITESPACE: &str = "trailing whitespace in an added line";
pub(crate) const HELP_TRAILING_WHITESPACE: &str =
    "remove the spaces or tabs: the effective line must not end in whitespace (the marker is ' ###' right after the code)";
