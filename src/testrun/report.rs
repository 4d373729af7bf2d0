//! Reports of a test session: regrtest-shaped text (progress lines, per-module verdicts, the final
//! summary), JUnit XML and JSON. All deterministic apart from the measured times.

use std::io::{self, Write};

use serde::Serialize;

use super::run::Session;
use super::vm::{format_size, VmInfo};
use super::{CaseResult, CaseStatus, ModuleResult, ModuleStatus, VmIdent};

/// regrtest's progress line: `[  3/133] test_x`, or `[  3/133/1] test_x` once something failed.
pub fn progress_line(index: usize, total: usize, failed: usize, name: &str) -> String {
    let width = total.to_string().len();
    if failed > 0 {
        format!("[{index:>width$}/{total}/{failed}] {name}")
    } else {
        format!("[{index:>width$}/{total}] {name}")
    }
}

/// unittest's verbose line for a case: `test_add (test.test_pass.Arithmetic) ... ok`.
pub fn case_line(case: &CaseResult) -> String {
    let (class, name) = case.class_and_name();
    let word = case.status.verbose_word();
    if case.status == CaseStatus::Skip {
        format!("{name} ({class}) ... {word} {:?}", case.detail)
    } else {
        format!("{name} ({class}) ... {word}")
    }
}

/// The line regrtest prints for a module that did not pass (None for a pass). Multi-line
/// tracebacks are included only when there is exactly one to show, as regrtest does.
pub fn verdict_line(m: &ModuleResult) -> Option<String> {
    let name = &m.name;
    Some(match m.status {
        ModuleStatus::Passed => return None,
        ModuleStatus::Skipped => format!("{name} skipped -- {}", m.reason),
        ModuleStatus::TimedOut => format!(
            "test {name} timed out after {:.0} s -- killed{}",
            m.duration_s,
            running(m)
        ),
        ModuleStatus::Crashed => format!("test {name} crashed -- {}{}", m.reason, running(m)),
        ModuleStatus::OutOfMemory => format!("test {name} failed -- {}", m.reason),
        ModuleStatus::Failed => {
            let bad: Vec<&CaseResult> = m
                .cases
                .iter()
                .filter(|c| matches!(c.status, CaseStatus::Fail | CaseStatus::Error))
                .collect();
            match (bad.as_slice(), m.errors.as_slice()) {
                ([one], []) => format!("test {name} failed -- {}", one.detail.trim_end()),
                ([], [one]) => format!("test {name} failed -- {}", one.detail.trim_end()),
                _ => format!(
                    "test {name} failed -- multiple errors occurred; run in verbose mode for \
                     details"
                ),
            }
        }
    })
}

/// ` (in test id)` for the case that was running when the VM died.
fn running(m: &ModuleResult) -> String {
    match m
        .cases
        .iter()
        .find(|c| matches!(c.exc_type.as_str(), "Crash" | "Timeout"))
    {
        Some(c) => format!(" (in {})", c.id),
        None => String::new(),
    }
}

/// The last `n` non-empty lines of `text`, for showing what a dead VM printed last.
pub fn tail(text: &str, n: usize) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].to_vec()
}

/// Totals over a session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Modules run.
    pub modules: usize,
    /// Modules that passed.
    pub modules_ok: usize,
    /// Modules that failed (any failure status).
    pub modules_failed: usize,
    /// Modules skipped.
    pub modules_skipped: usize,
    /// Test cases that reported.
    pub cases: usize,
    /// Passed cases.
    pub ok: usize,
    /// Failed cases.
    pub failures: usize,
    /// Errored cases (including those the VM died in).
    pub errors: usize,
    /// Skipped cases.
    pub skipped: usize,
    /// Expected failures.
    pub expected_failures: usize,
    /// Unexpected successes.
    pub unexpected_successes: usize,
}

impl Totals {
    /// Add up a session.
    pub fn of(modules: &[ModuleResult]) -> Self {
        let mut t = Self {
            modules: modules.len(),
            ..Self::default()
        };
        for m in modules {
            match m.status {
                ModuleStatus::Passed => t.modules_ok += 1,
                ModuleStatus::Skipped => t.modules_skipped += 1,
                _ => t.modules_failed += 1,
            }
            for c in &m.cases {
                t.cases += 1;
                match c.status {
                    CaseStatus::Ok => t.ok += 1,
                    CaseStatus::Fail => t.failures += 1,
                    CaseStatus::Error => t.errors += 1,
                    CaseStatus::Skip => t.skipped += 1,
                    CaseStatus::ExpectedFailure => t.expected_failures += 1,
                    CaseStatus::UnexpectedSuccess => t.unexpected_successes += 1,
                }
            }
        }
        t
    }
}

fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Names wrapped like regrtest's `printlist` (width 70, indent 4).
pub fn wrap_names(names: &[&str]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::from("    ");
    for name in names {
        if line.len() > 4 && line.len() + 1 + name.len() > 70 {
            lines.push(std::mem::replace(&mut line, String::from("    ")));
        }
        if line.len() > 4 {
            line.push(' ');
        }
        line.push_str(name);
    }
    if line.len() > 4 {
        lines.push(line);
    }
    lines
}

/// regrtest's closing summary, plus test-case totals and the total time.
pub fn write_summary(w: &mut impl Write, session: &Session) -> io::Result<()> {
    // Sorted, as regrtest does, whatever the run order was.
    let names = |f: &dyn Fn(ModuleStatus) -> bool| -> Vec<&str> {
        let mut v: Vec<&str> = session
            .modules
            .iter()
            .filter(|m| f(m.status))
            .map(|m| m.name.as_str())
            .collect();
        v.sort_unstable();
        v
    };
    let good = names(&|s| s == ModuleStatus::Passed);
    let bad = names(&|s| s.is_failure());
    let skipped = names(&|s| s == ModuleStatus::Skipped);
    if !good.is_empty() {
        let all = if bad.is_empty() && skipped.is_empty() && good.len() > 1 {
            "All "
        } else {
            ""
        };
        writeln!(w, "{all}{} OK.", count(good.len(), "test"))?;
    }
    for (list, what) in [(&bad, "failed"), (&skipped, "skipped")] {
        if !list.is_empty() {
            writeln!(w, "{} {what}:", count(list.len(), "test"))?;
            for line in wrap_names(list) {
                writeln!(w, "{line}")?;
            }
        }
    }
    let t = Totals::of(&session.modules);
    let parts = [
        format!("{} ok", t.ok),
        count(t.failures, "failure"),
        count(t.errors, "error"),
        format!("{} skipped", t.skipped),
        count(t.expected_failures, "expected failure"),
        if t.unexpected_successes == 1 {
            "1 unexpected success".to_owned()
        } else {
            format!("{} unexpected successes", t.unexpected_successes)
        },
    ];
    writeln!(
        w,
        "Ran {}: {}.",
        count(t.cases, "test case"),
        parts.join(", ")
    )?;
    writeln!(w, "Total duration: {:.1} s", session.duration_s)?;
    Ok(())
}

/// XML-escaped text (control characters XML 1.0 forbids become `\xNN`); `attr` also escapes
/// quotes and whitespace that attribute normalisation would lose.
pub(crate) fn xml_escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\'' if attr => out.push_str("&apos;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' if attr => out.push_str("&#13;"),
            '\t' if attr => out.push_str("&#9;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// The exception line of a traceback (`ValueError: boom`), else its last non-empty line.
fn exc_message<'a>(detail: &'a str, exc_type: &str) -> &'a str {
    let mut lines = detail.lines().rev().filter(|l| !l.trim().is_empty());
    let last = lines.clone().next().unwrap_or("");
    if exc_type.is_empty() {
        return last.trim();
    }
    lines
        .find(|l| l.starts_with(exc_type))
        .unwrap_or(last)
        .trim()
}

/// A module-level problem that no test case carries, shown in JUnit as a synthetic case.
fn module_level(m: &ModuleResult) -> Option<(&'static str, String)> {
    let case_failed = m
        .cases
        .iter()
        .any(|c| matches!(c.status, CaseStatus::Fail | CaseStatus::Error));
    if m.status == ModuleStatus::Skipped && m.cases.is_empty() {
        Some(("skipped", m.reason.clone()))
    } else if m.status.is_failure() && !case_failed {
        Some(("error", m.reason.clone()))
    } else {
        None
    }
}

/// JUnit XML: one `testsuite` per module, one `testcase` per case, in run order.
pub fn write_junit(w: &mut impl Write, session: &Session) -> io::Result<()> {
    let t = Totals::of(&session.modules);
    let extra: Vec<Option<(&str, String)>> = session.modules.iter().map(module_level).collect();
    let extra_err = extra.iter().flatten().filter(|e| e.0 == "error").count();
    let extra_skip = extra.iter().flatten().filter(|e| e.0 == "skipped").count();
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="portlib" tests="{}" failures="{}" errors="{}" skipped="{}" time="{:.3}">"#,
        t.cases + extra_err + extra_skip,
        t.failures,
        t.errors + extra_err,
        t.skipped + extra_skip,
        session.duration_s
    )?;
    for (m, extra) in session.modules.iter().zip(&extra) {
        let mt = Totals::of(std::slice::from_ref(m));
        let (e_err, e_skip) = match extra {
            Some(("error", _)) => (1, 0),
            Some(_) => (0, 1),
            None => (0, 0),
        };
        writeln!(
            w,
            r#"  <testsuite name="{}" tests="{}" failures="{}" errors="{}" skipped="{}" time="{:.3}">"#,
            xml_escape(&m.name, true),
            mt.cases + e_err + e_skip,
            mt.failures,
            mt.errors + e_err,
            mt.skipped + e_skip,
            m.duration_s
        )?;
        writeln!(w, "    <properties>")?;
        let status = serde_json::to_value(m.status).ok();
        let status = status.as_ref().and_then(|v| v.as_str()).unwrap_or("");
        let mut props = vec![("status", status.to_owned()), ("exit", m.exit.to_string())];
        if let Some(mem) = &m.mem {
            props.push(("mem_alloc_before", mem.alloc_before.to_string()));
            if let Some(a) = mem.alloc_after {
                props.push(("mem_alloc_after", a.to_string()));
            }
            props.push(("mem_free_before", mem.free_before.to_string()));
        }
        for (k, v) in props {
            writeln!(
                w,
                r#"      <property name="{k}" value="{}"/>"#,
                xml_escape(&v, true)
            )?;
        }
        writeln!(w, "    </properties>")?;
        for c in &m.cases {
            write_case(w, c)?;
        }
        if let Some((kind, reason)) = extra {
            let body = if *kind == "error" {
                let mut text = m
                    .errors
                    .iter()
                    .map(|e| e.detail.as_str())
                    .collect::<Vec<_>>()
                    .join("\n");
                if text.is_empty() {
                    text = tail(&m.output, 20).join("\n");
                }
                format!(
                    r#"<error type="{}" message="{}">{}</error>"#,
                    xml_escape(&format!("{:?}", m.status), true),
                    xml_escape(reason, true),
                    xml_escape(&text, false)
                )
            } else {
                format!(r#"<skipped message="{}"/>"#, xml_escape(reason, true))
            };
            writeln!(
                w,
                r#"    <testcase classname="{}" name="&lt;module&gt;" time="{:.3}">{body}</testcase>"#,
                xml_escape(&m.name, true),
                m.duration_s
            )?;
        }
        if !m.output.is_empty() {
            writeln!(
                w,
                "    <system-out>{}</system-out>",
                xml_escape(&m.output, false)
            )?;
        }
        writeln!(w, "  </testsuite>")?;
    }
    writeln!(w, "</testsuites>")
}

fn write_case(w: &mut impl Write, c: &CaseResult) -> io::Result<()> {
    let (class, name) = c.class_and_name();
    let head = format!(
        r#"    <testcase classname="{}" name="{}" time="{:.3}""#,
        xml_escape(class, true),
        xml_escape(name, true),
        c.duration_ms as f64 / 1000.0
    );
    let inner = match c.status {
        CaseStatus::Ok => String::new(),
        CaseStatus::Fail | CaseStatus::Error => format!(
            r#"<{tag} type="{}" message="{}">{}</{tag}>"#,
            xml_escape(&c.exc_type, true),
            xml_escape(exc_message(&c.detail, &c.exc_type), true),
            xml_escape(&c.detail, false),
            tag = if c.status == CaseStatus::Fail {
                "failure"
            } else {
                "error"
            }
        ),
        CaseStatus::Skip => format!(r#"<skipped message="{}"/>"#, xml_escape(&c.detail, true)),
        CaseStatus::ExpectedFailure => format!(
            "<system-out>expected failure: {}</system-out>",
            xml_escape(exc_message(&c.detail, &c.exc_type), false)
        ),
        CaseStatus::UnexpectedSuccess => "<system-out>unexpected success</system-out>".into(),
    };
    let out = if c.output.is_empty() || inner.starts_with("<system-out>") {
        String::new()
    } else {
        format!("<system-out>{}</system-out>", xml_escape(&c.output, false))
    };
    if inner.is_empty() && out.is_empty() {
        writeln!(w, "{head}/>")
    } else {
        writeln!(w, "{head}>{inner}{out}</testcase>")
    }
}

/// The JSON report: every module and case, with statuses, durations and heap figures.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// Always `portlib-test`.
    pub format: &'static str,
    /// Format version.
    pub version: u32,
    /// Where it ran.
    pub vm: &'a VmInfo,
    /// Heap size as given (`192K`).
    pub heap: String,
    /// What the runner said about the VM (from the first module that reported).
    pub runtime: Option<&'a VmIdent>,
    /// Totals.
    pub totals: Totals,
    /// Host wall time in seconds.
    pub duration_s: f64,
    /// Every module, in plan order.
    pub modules: &'a [ModuleResult],
}

/// Write the JSON report.
pub fn write_json(w: &mut impl Write, session: &Session) -> io::Result<()> {
    let report = JsonReport {
        format: "portlib-test",
        version: 1,
        vm: &session.vm,
        heap: format_size(session.vm.heap),
        runtime: session.modules.iter().find_map(|m| m.vm.as_ref()),
        totals: Totals::of(&session.modules),
        duration_s: session.duration_s,
        modules: &session.modules,
    };
    serde_json::to_writer_pretty(&mut *w, &report)?;
    writeln!(w)
}
