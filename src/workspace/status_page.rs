//! The port's status page (`PORT_STATUS.md`): per ported file the lines commented out and
//! added, per test module what ran on the VM, and per module the import cost, from the reports
//! `portlib test --json` and `portlib mem --json` wrote.
//!
//! The page is a pure function of its inputs (sorted tables, no clock, no durations) so that a
//! regenerated page only differs where the port did.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::FileStatus;
use crate::memreport::{MemReport, MemStatus};
use crate::testrun::report::Totals;
use crate::testrun::vm::format_size;
use crate::testrun::{CaseStatus, ModuleResult, ModuleStatus, VmIdent, VmInfo};

/// Errors reading the inputs of the status page.
#[derive(Debug, thiserror::Error)]
pub enum StatusPageError {
    /// The test report is not JSON of the expected shape.
    #[error("{}: not a `portlib test --json` report: {message}", path.display())]
    BadTestReport {
        /// The file.
        path: PathBuf,
        /// What is wrong (serde's message carries line and column).
        message: String,
    },
}

/// A `portlib test --json` report read back (the fields the page uses; durations are ignored
/// on purpose, they differ on every run).
#[derive(Debug, Clone, Deserialize)]
pub struct TestReport {
    /// Always `portlib-test`.
    pub format: String,
    /// Where it ran.
    pub vm: VmInfo,
    /// Heap size as given (`192K`).
    pub heap: String,
    /// What the runner said about the VM.
    #[serde(default)]
    pub runtime: Option<VmIdent>,
    /// Every module.
    pub modules: Vec<ModuleResult>,
}

impl TestReport {
    /// Parse a report written by [`crate::testrun::report::write_json`]; `path` names it in
    /// errors.
    pub fn from_json(path: &Path, bytes: &[u8]) -> Result<Self, StatusPageError> {
        let bad = |message: String| StatusPageError::BadTestReport {
            path: path.to_path_buf(),
            message,
        };
        let report: Self = serde_json::from_slice(bytes).map_err(|e| bad(e.to_string()))?;
        if report.format != "portlib-test" {
            return Err(bad(format!(
                "format is {:?}, expected \"portlib-test\"; write it with `portlib test --json FILE`",
                report.format
            )));
        }
        Ok(report)
    }
}

/// Everything the page is made of.
#[derive(Debug, Clone, Copy)]
pub struct StatusPage<'a> {
    /// portlib's version (`CARGO_PKG_VERSION`).
    pub version: &'a str,
    /// The command line that generated the page, as the reader should retype it.
    pub command: &'a str,
    /// Free-form lines shown under the header (how the inputs were made).
    pub notes: &'a [String],
    /// The rows of `portlib status`.
    pub files: &'a [FileStatus],
    /// Test runs, each shown in its own table (the host VM, a board...).
    pub tests: &'a [TestReport],
    /// An import-cost measurement, if any.
    pub mem: Option<&'a MemReport>,
}

/// The dotted module a file is imported as (`unittest/__init__.py` -> `unittest`).
fn module_of(path: &str) -> String {
    let stem = path.strip_suffix(".py").unwrap_or(path);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.replace('/', ".")
}

/// A Markdown table cell: pipes and newlines would break the row.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn vm_line(vm: &VmInfo, heap: &str, runtime: Option<&VmIdent>) -> String {
    match runtime {
        Some(r) => {
            let version = r.version.split("; ").last().unwrap_or(&r.version);
            format!(
                "{version} ({}-bit), heap {heap}, board `{}`",
                r.bits, vm.board
            )
        }
        None => format!("board `{}`, heap {heap}", vm.board),
    }
}

fn mem_cell(mem: Option<&MemReport>, module: &str) -> String {
    let Some(report) = mem else {
        return String::new();
    };
    match report.entries.iter().find(|e| e.module == module) {
        None => String::new(),
        Some(e) => match (e.status, e.bytes) {
            (MemStatus::Ok, Some(b)) => b.to_string(),
            (status, _) => mem_status_word(status).to_owned(),
        },
    }
}

fn mem_status_word(status: MemStatus) -> &'static str {
    match status {
        MemStatus::Ok => "ok",
        MemStatus::ImportError => "import error",
        MemStatus::OutOfMemory => "out of memory",
        MemStatus::Crashed => "crashed",
    }
}

/// `1 file`, `2 files`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn module_status_word(status: ModuleStatus) -> &'static str {
    match status {
        ModuleStatus::Passed => "passed",
        ModuleStatus::Failed => "failed",
        ModuleStatus::Skipped => "skipped",
        ModuleStatus::OutOfMemory => "out_of_memory",
        ModuleStatus::TimedOut => "timed_out",
        ModuleStatus::Crashed => "crashed",
    }
}

/// Write the page as Markdown.
pub fn write_status_page(w: &mut impl Write, page: &StatusPage<'_>) -> io::Result<()> {
    writeln!(w, "# Port status")?;
    writeln!(w)?;
    writeln!(
        w,
        "Generated by portlib {} with `{}`; do not edit by hand.",
        page.version, page.command
    )?;
    if !page.notes.is_empty() {
        writeln!(w)?;
        for note in page.notes {
            writeln!(w, "- {note}")?;
        }
    }
    write_files(w, page)?;
    write_mem_only(w, page)?;
    for tests in page.tests {
        // With more than one run the headings say which machine each table is from.
        let machine = (page.tests.len() > 1).then_some(tests.vm.board.as_str());
        write_tests(w, tests, machine)?;
    }
    Ok(())
}

fn write_files(w: &mut impl Write, page: &StatusPage<'_>) -> io::Result<()> {
    let mut rows: Vec<&FileStatus> = page.files.iter().collect();
    rows.sort_by(|a, b| (a.kind, &a.path).cmp(&(b.kind, &b.path)));
    let with_mem = page.mem.is_some();
    let mem_head = if with_mem {
        " import cost (bytes) |"
    } else {
        ""
    };
    let mem_rule = if with_mem { "---:|" } else { "" };

    writeln!(w)?;
    writeln!(w, "## Ported modules (patches against CPython 3.4.9)")?;
    writeln!(w)?;
    writeln!(
        w,
        "| file | module | lines commented out | lines added |{mem_head}"
    )?;
    writeln!(w, "|---|---|---:|---:|{mem_rule}")?;
    // The extra column only exists with a mem report: an empty column would read as "0 bytes".
    let mem_col = |module: &str| match page.mem {
        Some(_) => format!(" {} |", mem_cell(page.mem, module)),
        None => String::new(),
    };
    let (mut commented, mut added, mut n) = (0, 0, 0);
    for r in rows.iter().filter(|r| r.kind == "patch") {
        let module = module_of(&r.path);
        let mem = mem_col(&module);
        writeln!(
            w,
            "| `{}` | `{module}` | {} | {} |{mem}",
            r.path, r.commented, r.added
        )?;
        commented += r.commented;
        added += r.added;
        n += 1;
    }
    let mem_blank = if with_mem { " |" } else { "" };
    writeln!(
        w,
        "| **{}** | | **{commented}** | **{added}** |{mem_blank}",
        count(n, "file")
    )?;

    writeln!(w)?;
    writeln!(w, "## Modules written anew (`lib-src/`)")?;
    writeln!(w)?;
    writeln!(w, "| file | module | lines |{mem_head}")?;
    writeln!(w, "|---|---|---:|{mem_rule}")?;
    let (mut lines, mut n) = (0, 0);
    for r in rows.iter().filter(|r| r.kind == "lib-src") {
        let module = module_of(&r.path);
        let mem = mem_col(&module);
        writeln!(w, "| `{}` | `{module}` | {} |{mem}", r.path, r.added)?;
        lines += r.added;
        n += 1;
    }
    writeln!(w, "| **{}** | | **{lines}** |{mem_blank}", count(n, "file"))
}

/// Measured modules that match no file row (packages are measured as a whole, as their
/// `__init__`, so this is normally empty), and the VM the measurement ran on.
fn write_mem_only(w: &mut impl Write, page: &StatusPage<'_>) -> io::Result<()> {
    let Some(mem) = page.mem else {
        return Ok(());
    };
    writeln!(w)?;
    writeln!(w, "## Import cost")?;
    writeln!(w)?;
    writeln!(
        w,
        "Heap kept after `import` (after `gc.collect()`), one fresh VM per module, on {}.",
        vm_line(&mem.vm, &format_size(mem.vm.heap), mem.runtime.as_ref())
    )?;
    if let Some(free) = mem.free_at_start {
        writeln!(w, "Free heap with only the runner loaded: {free} bytes.")?;
    }
    let known: Vec<String> = page.files.iter().map(|f| module_of(&f.path)).collect();
    let mut extra: Vec<_> = mem
        .entries
        .iter()
        .filter(|e| !known.contains(&e.module))
        .collect();
    extra.sort_by(|a, b| a.module.cmp(&b.module));
    if !extra.is_empty() {
        writeln!(w)?;
        writeln!(w, "Measured modules without a row above:")?;
        writeln!(w)?;
        writeln!(w, "| module | import cost (bytes) |")?;
        writeln!(w, "|---|---:|")?;
        for e in extra {
            writeln!(w, "| `{}` | {} |", e.module, mem_cell(Some(mem), &e.module))?;
        }
    }
    let mut failed: Vec<_> = mem
        .entries
        .iter()
        .filter(|e| e.status != MemStatus::Ok)
        .collect();
    failed.sort_by(|a, b| a.module.cmp(&b.module));
    if !failed.is_empty() {
        writeln!(w)?;
        writeln!(w, "Modules that did not import:")?;
        writeln!(w)?;
        for e in failed {
            writeln!(
                w,
                "- `{}`: {} ({})",
                e.module,
                mem_status_word(e.status),
                cell(e.error.lines().last().unwrap_or(""))
            )?;
        }
    }
    Ok(())
}

fn write_tests(w: &mut impl Write, tests: &TestReport, machine: Option<&str>) -> io::Result<()> {
    let mut modules: BTreeMap<&str, &ModuleResult> = BTreeMap::new();
    for m in &tests.modules {
        modules.insert(&m.name, m);
    }
    let ordered: Vec<ModuleResult> = modules.values().map(|m| (*m).clone()).collect();
    let t = Totals::of(&ordered);

    writeln!(w)?;
    match machine {
        Some(machine) => writeln!(w, "## Tests (CPython 3.4.9's, ported) on {}", cell(machine))?,
        None => writeln!(w, "## Tests (CPython 3.4.9's, ported)")?,
    }
    writeln!(w)?;
    writeln!(
        w,
        "Run one fresh VM per module on {}.",
        vm_line(&tests.vm, &tests.heap, tests.runtime.as_ref())
    )?;
    writeln!(w)?;
    writeln!(
        w,
        "| test module | status | ran | ok | failed | errors | skipped | expected failures | unexpected successes | note |"
    )?;
    writeln!(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---|")?;
    for m in &ordered {
        writeln!(
            w,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            m.name,
            module_status_word(m.status),
            m.cases.len(),
            m.count(CaseStatus::Ok),
            m.count(CaseStatus::Fail),
            m.count(CaseStatus::Error),
            m.count(CaseStatus::Skip),
            m.count(CaseStatus::ExpectedFailure),
            m.count(CaseStatus::UnexpectedSuccess),
            cell(&m.reason)
        )?;
    }
    // Subtotals per package of dotted test modules (`unittest.test.*`): a package's suite is
    // what gets counted against a target, like the original project's 256 unittest tests.
    let mut packages: BTreeMap<&str, Vec<ModuleResult>> = BTreeMap::new();
    for m in &ordered {
        if let Some((package, _)) = m.name.rsplit_once('.') {
            packages.entry(package).or_default().push(m.clone());
        }
    }
    for (package, members) in &packages {
        write_totals_row(w, &format!("`{package}.*`"), &Totals::of(members))?;
    }
    write_totals_row(w, "all", &t)
}

fn write_totals_row(w: &mut impl Write, label: &str, t: &Totals) -> io::Result<()> {
    writeln!(
        w,
        "| **{label}: {}** | **{} passed, {} failed, {} skipped** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | **{}** | |",
        count(t.modules, "module"),
        t.modules_ok,
        t.modules_failed,
        t.modules_skipped,
        t.cases,
        t.ok,
        t.failures,
        t.errors,
        t.skipped,
        t.expected_failures,
        t.unexpected_successes
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_follow_import_paths() {
        assert_eq!(module_of("unittest/__init__.py"), "unittest");
        assert_eq!(
            module_of("unittest/test/test_case.py"),
            "unittest.test.test_case"
        );
        assert_eq!(module_of("os.py"), "os");
    }

    #[test]
    fn cells_cannot_break_rows() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
