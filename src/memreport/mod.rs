//! What importing each module costs on a 192 KB heap: every module is imported in a fresh VM
//! between two `gc.collect(); gc.mem_alloc()` readings (the runner's `mem` mode), so modules
//! imported earlier cannot hide the cost of shared dependencies or of interned strings.
//! Output: a table like the original project's README, JSON, a comparison with an older JSON,
//! and an SVG bar chart ([`svg`]).

pub mod svg;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::testrun::frame::FrameParser;
use crate::testrun::vm::{format_size, is_module_name, RunMode, RunRequest, Vm, VmError, VmInfo};
use crate::testrun::{ModuleCollector, ModuleStatus, VmIdent};

/// Errors measuring or reading memory reports.
#[derive(Debug, thiserror::Error)]
pub enum MemError {
    /// Listing the bundle's `lib/` failed.
    #[error("cannot read {path}: {source}")]
    ReadDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A name that cannot be a module.
    #[error("{0:?} is not a module name")]
    BadName(String),
    /// The VM could not run at all.
    #[error(transparent)]
    Vm(#[from] VmError),
    /// A JSON report to compare with is not one.
    #[error("{path}: not a portlib memory report: {message}")]
    BadReport {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        message: String,
    },
}

/// How measuring one module went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemStatus {
    /// Imported; `bytes` is its cost.
    Ok,
    /// The import raised (not MemoryError).
    ImportError,
    /// MemoryError while importing: it does not fit.
    OutOfMemory,
    /// The VM died or hung.
    Crashed,
}

/// One module's import cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemEntry {
    /// Dotted module name.
    pub module: String,
    /// How it went.
    pub status: MemStatus,
    /// Bytes kept allocated by the import (after `gc.collect()`), when it imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<i64>,
    /// The exception or exit, when it did not import.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
}

/// A whole measurement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemReport {
    /// Always `portlib-mem`.
    pub format: String,
    /// Where it ran.
    pub vm: VmInfo,
    /// What the runner said about the VM.
    #[serde(default)]
    pub runtime: Option<VmIdent>,
    /// Free heap once the runner was loaded (the budget a module can use).
    #[serde(default)]
    pub free_at_start: Option<i64>,
    /// One entry per module, sorted by name.
    pub entries: Vec<MemEntry>,
}

impl MemReport {
    /// One line naming the VM, e.g. `micropython 3.4.0; MicroPython v1.26.1 (32-bit), heap 192K`.
    pub fn vm_line(&self) -> String {
        let heap = format_size(self.vm.heap);
        match &self.runtime {
            Some(r) => {
                let version = r.version.split("; ").last().unwrap_or(&r.version);
                format!("{version} ({}-bit), heap {heap}", r.bits)
            }
            None => format!("{} VM, heap {heap}", self.vm.board),
        }
    }

    /// Read a JSON report written by [`write_json`].
    pub fn from_json(path: &Path, bytes: &[u8]) -> Result<Self, MemError> {
        let report: Self = serde_json::from_slice(bytes).map_err(|e| MemError::BadReport {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if report.format != "portlib-mem" {
            return Err(MemError::BadReport {
                path: path.to_path_buf(),
                message: format!("format is {:?}, expected \"portlib-mem\"", report.format),
            });
        }
        Ok(report)
    }

    /// Whether any module failed to import.
    pub fn has_failures(&self) -> bool {
        self.entries.iter().any(|e| e.status != MemStatus::Ok)
    }
}

/// The modules of a bundle's `lib/` worth measuring: top-level `.py`/`.mpy` files and packages,
/// leaving out `test` and the runner itself. Sorted.
pub fn discover_modules(lib: &Path) -> Result<Vec<String>, MemError> {
    let read_err = |source| MemError::ReadDir {
        path: lib.to_path_buf(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(lib).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let name = if path.is_dir() {
            let init = path.join("__init__.py").is_file() || path.join("__init__.mpy").is_file();
            if !init {
                continue;
            }
            file
        } else if let Some(s) = file.strip_suffix(".py").or(file.strip_suffix(".mpy")) {
            s.to_owned()
        } else {
            continue;
        };
        if is_module_name(&name) && name != "test" && name != "portlib_runner" {
            names.push(name);
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// Measure each module in a fresh VM. `progress(index, total, module)` is called before each.
pub fn measure(
    vm: &mut dyn Vm,
    modules: &[String],
    timeout: Duration,
    progress: &mut dyn FnMut(usize, usize, &str),
) -> Result<MemReport, MemError> {
    let mut entries = Vec::with_capacity(modules.len());
    let mut runtime = None;
    let mut free_at_start = None;
    for (i, module) in modules.iter().enumerate() {
        progress(i + 1, modules.len(), module);
        let request =
            RunRequest::new(RunMode::Mem, module).map_err(|_| MemError::BadName(module.clone()))?;
        let mut parser = FrameParser::new();
        let mut collector = ModuleCollector::new(module);
        let run = vm.run_module(&request, timeout, &mut |bytes| {
            for item in parser.feed(bytes) {
                collector.push(item);
            }
        })?;
        for item in parser.finish() {
            collector.push(item);
        }
        let result = collector.finish(run.exit, &run.stderr, run.elapsed.as_secs_f64());
        if runtime.is_none() {
            runtime = result.vm.clone();
        }
        if free_at_start.is_none() {
            free_at_start = result.mem.map(|m| m.free_at_start);
        }
        let bytes = result.mem.and_then(|m| m.import_cost());
        let last_line = |detail: &str| {
            detail
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        let (status, error) = match result.status {
            ModuleStatus::OutOfMemory => (MemStatus::OutOfMemory, "MemoryError".to_owned()),
            ModuleStatus::Crashed | ModuleStatus::TimedOut => {
                (MemStatus::Crashed, format!("VM {}", result.exit))
            }
            _ => match result.errors.first() {
                Some(e) => (MemStatus::ImportError, last_line(&e.detail)),
                None if bytes.is_none() => (MemStatus::Crashed, "no figures reported".into()),
                None => (MemStatus::Ok, String::new()),
            },
        };
        entries.push(MemEntry {
            module: module.clone(),
            status,
            bytes: if status == MemStatus::Ok { bytes } else { None },
            error,
        });
    }
    entries.sort_by(|a, b| a.module.cmp(&b.module));
    Ok(MemReport {
        format: "portlib-mem".into(),
        vm: vm.info(),
        runtime,
        free_at_start,
        entries,
    })
}

/// Table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    /// Alphabetical, as in the original project's README.
    #[default]
    Name,
    /// Largest first.
    Size,
}

/// Entries in the requested order (failures last when sorting by size).
pub fn sorted(report: &MemReport, by: SortBy) -> Vec<&MemEntry> {
    let mut v: Vec<&MemEntry> = report.entries.iter().collect();
    match by {
        SortBy::Name => v.sort_by(|a, b| a.module.cmp(&b.module)),
        SortBy::Size => v.sort_by(|a, b| {
            b.bytes
                .unwrap_or(i64::MIN)
                .cmp(&a.bytes.unwrap_or(i64::MIN))
                .then_with(|| a.module.cmp(&b.module))
        }),
    }
    v
}

/// The table: `name  bytes bytes` per module, like the original README's.
pub fn write_table(w: &mut impl Write, report: &MemReport, by: SortBy) -> io::Result<()> {
    let width = report
        .entries
        .iter()
        .map(|e| e.module.len())
        .max()
        .unwrap_or(0)
        .max(15);
    writeln!(w, "Import cost on {}", report.vm_line())?;
    if let Some(free) = report.free_at_start {
        writeln!(
            w,
            "({free} bytes free after gc.collect(), before the import)"
        )?;
    }
    writeln!(w)?;
    for e in sorted(report, by) {
        match e.bytes {
            Some(b) => writeln!(w, "{:width$} {b:6} bytes", e.module)?,
            None => writeln!(w, "{:width$} {}", e.module, e.error)?,
        }
    }
    Ok(())
}

/// The JSON report.
pub fn write_json(w: &mut impl Write, report: &MemReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report)?;
    writeln!(w)
}

/// What grew and what shrank between `old` and `new`, by module name.
pub fn write_compare<'a>(
    w: &mut impl Write,
    old: &'a MemReport,
    new: &'a MemReport,
) -> io::Result<()> {
    let mut names: Vec<&str> = old
        .entries
        .iter()
        .chain(&new.entries)
        .map(|e| e.module.as_str())
        .collect();
    names.sort();
    names.dedup();
    let find = |r: &'a MemReport, n: &str| -> Option<&'a MemEntry> {
        r.entries.iter().find(|e| e.module == n)
    };
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0).max(15);
    writeln!(w, "Compared with {}", old.vm_line())?;
    writeln!(
        w,
        "{:width$} {:>8} {:>8} {:>8}",
        "module", "old", "new", "change"
    )?;
    let (mut grew, mut shrank, mut same, mut delta_sum) = (0, 0, 0, 0i64);
    for n in names {
        let (oe, ce) = (find(old, n), find(new, n));
        let (o, c) = (oe.and_then(|e| e.bytes), ce.and_then(|e| e.bytes));
        // "-" not measured, "fail" measured but did not import.
        let show = |e: Option<&MemEntry>| match e {
            None => "-".to_owned(),
            Some(e) => e.bytes.map_or("fail".to_owned(), |b| b.to_string()),
        };
        let change = match (o, c) {
            (Some(o), Some(c)) => {
                // Reports are files a user may have edited: saturate rather than overflow.
                let d = c.saturating_sub(o);
                delta_sum = delta_sum.saturating_add(d);
                match d.cmp(&0) {
                    std::cmp::Ordering::Greater => grew += 1,
                    std::cmp::Ordering::Less => shrank += 1,
                    std::cmp::Ordering::Equal => same += 1,
                }
                if o != 0 {
                    format!("{d:+8} ({:+.1}%)", d as f64 * 100.0 / o as f64)
                } else {
                    format!("{d:+8}")
                }
            }
            (None, Some(_)) if oe.is_some() => "   fixed".to_owned(),
            (None, Some(_)) => "     new".to_owned(),
            (Some(_), None) if ce.is_some() => "   fails".to_owned(),
            (Some(_), None) => "    gone".to_owned(),
            (None, None) => String::new(),
        };
        let line = format!("{n:width$} {:>8} {:>8} {change}", show(oe), show(ce));
        writeln!(w, "{}", line.trim_end())?;
    }
    writeln!(
        w,
        "{grew} grew, {shrank} shrank, {same} unchanged; modules in both: {delta_sum:+} bytes"
    )
}
