//! Running CPython's test modules on a 192 KB VM, one fresh VM per module, like CPython's
//! regrtest: interned strings are never freed on MicroPython, so a whole suite cannot share one
//! heap.
//!
//! * [`frame`]: the event framing printed by `lib-src/portlib_runner.py` and its byte-stream
//!   parser.
//! * [`vm`]: the [`vm::Vm`] trait (a fresh VM per module) and [`vm::HostVm`], the MicroPython
//!   unix port as a process.
//! * [`serial`]: [`serial::SerialVm`], the same on a board over its serial raw REPL.
//! * [`run`]: planning (which modules), the driver loop with timeouts and resume state.
//! * [`report`]: regrtest-shaped text, JUnit XML and JSON.
//!
//! This file holds the result model and turns one VM run into a [`ModuleResult`].

pub mod frame;
pub mod report;
pub mod run;
pub mod serial;
pub mod vm;

use serde::{Deserialize, Serialize};

pub use frame::{CaseStatus, Event, FrameParser, Item};
pub use serial::SerialVm;
pub use vm::{HostVm, RunMode, RunRequest, Vm, VmError, VmExit, VmInfo, VmRun};

/// How a test module ended, from the host's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModuleStatus {
    /// Ran, and no test failed or errored.
    Passed,
    /// A test failed or errored, or the module could not be imported.
    Failed,
    /// `unittest.SkipTest` at import, or every test case was skipped.
    Skipped,
    /// `MemoryError` while importing or running.
    OutOfMemory,
    /// Killed when the timeout expired.
    TimedOut,
    /// The VM ended without finishing (a signal, a non-zero exit, a lost connection).
    Crashed,
}

impl ModuleStatus {
    /// Whether this counts as a failure for the summary and the exit code.
    pub fn is_failure(self) -> bool {
        !matches!(self, Self::Passed | Self::Skipped)
    }
}

/// One test case's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseResult {
    /// `test.id()`, e.g. `test.test_os.WalkTests.test_walk_prune`.
    pub id: String,
    /// How it ended.
    pub status: CaseStatus,
    /// Duration measured on the VM, in milliseconds.
    pub duration_ms: u64,
    /// Exception class for fail/error/expected failure.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub exc_type: String,
    /// Traceback text, or the skip reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// What the test printed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
}

impl CaseResult {
    /// The id split into (class path, method name), as JUnit and unittest's verbose lines want.
    pub fn class_and_name(&self) -> (&str, &str) {
        match self.id.rsplit_once('.') {
            Some((class, name)) => (class, name),
            None => ("", &self.id),
        }
    }
}

/// Heap figures around the import of a module (bytes; from `gc.mem_alloc()`/`gc.mem_free()`
/// after `gc.collect()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemFigures {
    /// Free heap once the runner was loaded (the VM's budget).
    pub free_at_start: i64,
    /// Allocated before the module's import.
    pub alloc_before: i64,
    /// Allocated after the module's import (the difference is what the module keeps).
    pub alloc_after: Option<i64>,
    /// Free before the module's import.
    pub free_before: i64,
    /// Free after the import.
    pub free_after: Option<i64>,
    /// Free heap when the runner finished (after the tests and a collection).
    #[serde(default)]
    pub free_at_end: Option<i64>,
}

impl MemFigures {
    /// Bytes the import kept allocated, when the import finished.
    pub fn import_cost(&self) -> Option<i64> {
        // The figures come from the board (or a report file): never trust them not to overflow.
        self.alloc_after
            .map(|a| a.saturating_sub(self.alloc_before))
    }
}

/// An exception the runner reported outside any test case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerError {
    /// `unittest`, `import` or `run`.
    pub phase: String,
    /// Exception class name.
    pub exc_type: String,
    /// Traceback text.
    pub detail: String,
}

/// Everything known about one module's run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleResult {
    /// The test name as given (`test_os`).
    pub name: String,
    /// The verdict.
    pub status: ModuleStatus,
    /// One line saying why, for anything but a pass.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// Test cases in the order they ran.
    pub cases: Vec<CaseResult>,
    /// Heap figures (absent when the runner never reported them).
    pub mem: Option<MemFigures>,
    /// Host wall time in seconds.
    pub duration_s: f64,
    /// How the VM ended.
    pub exit: VmExit,
    /// Exceptions outside test cases.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RunnerError>,
    /// Output printed outside any test case (and stderr, when the transport has one).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    /// Whether the runner's `done` event arrived.
    pub finished: bool,
    /// VM identification from the runner's hello (implementation, version, word size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vm: Option<VmIdent>,
}

/// What the runner said about the VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmIdent {
    /// `sys.implementation.name`.
    pub implementation: String,
    /// `sys.version`.
    pub version: String,
    /// 32 or 64.
    pub bits: u32,
}

impl ModuleResult {
    /// Count of cases with `status`.
    pub fn count(&self, status: CaseStatus) -> usize {
        self.cases.iter().filter(|c| c.status == status).count()
    }
}

/// Builds a [`ModuleResult`] from parser items as they arrive (so a live display and the final
/// result see the same thing).
#[derive(Debug)]
pub struct ModuleCollector {
    name: String,
    cases: Vec<CaseResult>,
    current: Option<CaseResult>,
    output: Vec<u8>,
    mem: Option<MemFigures>,
    free_at_start: Option<i64>,
    errors: Vec<RunnerError>,
    skipped: Option<String>,
    done: bool,
    vm: Option<VmIdent>,
    malformed: usize,
}

impl ModuleCollector {
    /// Start collecting for the test named `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            cases: Vec::new(),
            current: None,
            output: Vec::new(),
            mem: None,
            free_at_start: None,
            errors: Vec::new(),
            skipped: None,
            done: false,
            vm: None,
            malformed: 0,
        }
    }

    /// The case that started and has not ended yet.
    pub fn current_case(&self) -> Option<&str> {
        self.current.as_ref().map(|c| c.id.as_str())
    }

    /// Take one parser item.
    pub fn push(&mut self, item: Item) {
        match item {
            Item::Output(bytes) => match &mut self.current {
                Some(case) => case.output.push_str(&String::from_utf8_lossy(&bytes)),
                None => self.output.extend_from_slice(&bytes),
            },
            Item::Malformed { line, .. } | Item::Truncated(line) => {
                self.malformed += 1;
                self.output.extend_from_slice(&line);
                self.output.push(b'\n');
            }
            Item::Event(ev) => self.event(ev),
        }
    }

    fn event(&mut self, ev: Event) {
        match ev {
            Event::Hello {
                implementation,
                version,
                mem_free,
                maxsize,
                ..
            } => {
                self.free_at_start = Some(mem_free);
                let bits = if maxsize > i64::from(i32::MAX) {
                    64
                } else {
                    32
                };
                self.vm = Some(VmIdent {
                    implementation,
                    version,
                    bits,
                });
            }
            Event::Import {
                mem_alloc,
                mem_free,
                ..
            } => {
                self.mem = Some(MemFigures {
                    free_at_start: self.free_at_start.unwrap_or(mem_free),
                    alloc_before: mem_alloc,
                    alloc_after: None,
                    free_before: mem_free,
                    free_after: None,
                    free_at_end: None,
                });
            }
            Event::Imported {
                mem_alloc,
                mem_free,
                ..
            } => {
                if let Some(m) = &mut self.mem {
                    m.alloc_after = Some(mem_alloc);
                    m.free_after = Some(mem_free);
                }
            }
            Event::SkipModule { reason, .. } => self.skipped = Some(reason),
            Event::Start { test } => {
                self.close_current(None);
                self.current = Some(CaseResult {
                    id: test,
                    status: CaseStatus::Ok,
                    duration_ms: 0,
                    exc_type: String::new(),
                    detail: String::new(),
                    output: String::new(),
                });
            }
            Event::Result {
                test,
                status,
                ms,
                exc_type,
                detail,
            } => {
                let output = match self.current.take() {
                    Some(c) if c.id == test => c.output,
                    other => {
                        // A subtest or class fixture result: the running case stays open.
                        self.current = other;
                        String::new()
                    }
                };
                self.cases.push(CaseResult {
                    id: test,
                    status,
                    duration_ms: ms,
                    exc_type,
                    detail,
                    output,
                });
            }
            Event::Error {
                phase,
                exc_type,
                detail,
            } => {
                // Something escaped unittest's own handling while a case ran: that case is
                // where it happened, so it carries the traceback (not "never reported").
                if self.current.is_some() {
                    self.close_current(Some((&exc_type, format!("{phase}: {detail}"))));
                }
                self.errors.push(RunnerError {
                    phase,
                    exc_type,
                    detail,
                })
            }
            Event::Done { mem_free, .. } => {
                if let Some(m) = &mut self.mem {
                    m.free_at_end = Some(mem_free);
                }
                self.close_current(None);
                self.done = true;
            }
        }
    }

    /// A case that started but never reported: the VM died or hung inside it.
    fn close_current(&mut self, why: Option<(&str, String)>) {
        if let Some(mut case) = self.current.take() {
            let (exc, detail) =
                why.unwrap_or(("Unfinished", "the test started but never reported".into()));
            case.status = CaseStatus::Error;
            case.exc_type = exc.into();
            case.detail = detail;
            self.cases.push(case);
        }
    }

    /// Finish with the VM's exit, giving the module's verdict.
    pub fn finish(mut self, exit: VmExit, stderr: &[u8], duration_s: f64) -> ModuleResult {
        let stderr = String::from_utf8_lossy(stderr).into_owned();
        let died = match exit {
            VmExit::TimedOut => Some(("Timeout", "the VM was killed when the timeout expired")),
            _ if !self.done => Some(("Crash", "the VM ended while this test ran")),
            _ => None,
        };
        if let Some((exc, text)) = died {
            let detail = format!("{text} ({exit})");
            self.close_current(Some((exc, detail)));
        }
        let mut output = String::from_utf8_lossy(&self.output).into_owned();
        if !stderr.is_empty() {
            output.push_str(&stderr);
        }
        let no_memory = self.errors.iter().any(|e| e.exc_type == "MemoryError")
            || self.cases.iter().any(ran_out_of_memory)
            || (!self.done && last_line_has(&output, "MemoryError"));
        let failed_cases = self
            .cases
            .iter()
            .filter(|c| matches!(c.status, CaseStatus::Fail | CaseStatus::Error))
            .count();
        let (status, reason) = if exit == VmExit::TimedOut {
            (ModuleStatus::TimedOut, exit.to_string())
        } else if no_memory {
            let phase = self
                .errors
                .iter()
                .find(|e| e.exc_type == "MemoryError")
                .map(|e| e.phase.as_str());
            let what = match phase {
                Some("import") => "Out of memory while importing".to_owned(),
                Some("unittest") => "Out of memory while importing unittest".to_owned(),
                _ => match self.cases.iter().find(|c| ran_out_of_memory(c)) {
                    Some(c) => format!("Out of memory in {}", c.id),
                    None => "Out of memory".to_owned(),
                },
            };
            (ModuleStatus::OutOfMemory, what)
        } else if !self.done {
            (
                ModuleStatus::Crashed,
                format!("VM {exit} before the runner finished"),
            )
        } else if let Some(reason) = self.skipped.take() {
            (ModuleStatus::Skipped, reason)
        } else if let Some(e) = self.errors.first() {
            let last = e.detail.lines().last().unwrap_or(&e.exc_type).to_owned();
            (ModuleStatus::Failed, format!("{} failed: {last}", e.phase))
        } else if failed_cases > 0 {
            (
                ModuleStatus::Failed,
                format!("{failed_cases} of {} test cases failed", self.cases.len()),
            )
        } else if !self.cases.is_empty() && self.cases.iter().all(|c| c.status == CaseStatus::Skip)
        {
            (ModuleStatus::Skipped, "every test case was skipped".into())
        } else {
            (ModuleStatus::Passed, String::new())
        };
        let reason = if self.malformed > 0 && status == ModuleStatus::Passed {
            format!("{} malformed runner line(s) in the output", self.malformed)
        } else {
            reason
        };
        ModuleResult {
            name: self.name,
            status,
            reason,
            cases: self.cases,
            mem: self.mem,
            duration_s,
            exit,
            errors: self.errors,
            output,
            finished: self.done,
            vm: self.vm,
        }
    }
}

/// A case that errored with MemoryError (an expected failure that did is no verdict on the VM).
fn ran_out_of_memory(c: &CaseResult) -> bool {
    c.exc_type == "MemoryError" && matches!(c.status, CaseStatus::Fail | CaseStatus::Error)
}

fn last_line_has(text: &str, needle: &str) -> bool {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| l.contains(needle))
}

/// Turn a whole captured run into a result (what [`run`] does incrementally).
pub fn collect(name: &str, run: &VmRun) -> ModuleResult {
    let mut c = ModuleCollector::new(name);
    for item in frame::parse_all(&run.output) {
        c.push(item);
    }
    c.finish(run.exit, &run.stderr, run.elapsed.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrun::frame::{test_event as event, test_hello};

    #[test]
    fn an_error_that_escapes_a_running_case_is_that_cases_error() {
        let id = "test.test_x.T.test_crash";
        let output = [
            test_hello(),
            event(&["import", "test.test_x", "9000", "180000"]),
            event(&["imported", "test.test_x", "9500", "179500", "1"]),
            event(&["start", id]),
            event(&[
                "error",
                "run",
                "AttributeError",
                "Traceback: no attribute 'exc_info'",
            ]),
            event(&["done", "1", "5", "9600", "179400"]),
        ]
        .concat();
        let run = VmRun {
            output: output.into_bytes(),
            stderr: Vec::new(),
            exit: VmExit::Code(0),
            elapsed: std::time::Duration::from_millis(10),
        };
        let m = collect("test.test_x", &run);
        assert_eq!(m.cases.len(), 1, "{m:?}");
        let case = &m.cases[0];
        assert_eq!(case.id, id);
        assert_eq!(case.status, CaseStatus::Error);
        assert_eq!(case.exc_type, "AttributeError");
        assert_eq!(case.detail, "run: Traceback: no attribute 'exc_info'");
        // The module still fails on the runner's error, as before.
        assert_eq!(m.status, ModuleStatus::Failed);
        assert_eq!(m.errors.len(), 1);
    }

    /// Regression: figures at the ends of i64 (a runner bug on the board, a corrupt report)
    /// made the subtraction overflow, a panic in a debug build.
    #[test]
    fn import_cost_saturates() {
        let m = MemFigures {
            free_at_start: 0,
            alloc_before: i64::MIN,
            alloc_after: Some(i64::MAX),
            free_before: 0,
            free_after: None,
            free_at_end: None,
        };
        assert_eq!(m.import_cost(), Some(i64::MAX));
    }
}
