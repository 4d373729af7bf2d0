//! Which test modules to run, and the loop that runs them one fresh VM each, keeping a resume
//! state file so an interrupted 20-minute board run can carry on where it stopped.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::frame::FrameParser;
use super::vm::{is_module_name, RunMode, RunRequest, Vm, VmError, VmInfo};
use super::{Item, ModuleCollector, ModuleResult};

/// Errors planning or running a test session.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The bundle has no `lib/test` folder to discover tests in.
    #[error(
        "{path} does not exist: the bundle has no test modules (expected DIR/lib/test/test_*.py)"
    )]
    NoTestDir {
        /// The missing folder.
        path: PathBuf,
    },
    /// The bundle's test folder has no test modules.
    #[error("no test_* modules in {dir}")]
    NoTests {
        /// The test folder.
        dir: PathBuf,
    },
    /// Listing a folder failed.
    #[error("cannot read {path}: {source}")]
    ReadDir {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A test named on the command line is not in the bundle.
    #[error("no test module {name} in {dir} (looked for {name}.py, {name}.mpy and {name}/)")]
    UnknownTest {
        /// The name given.
        name: String,
        /// The test folder.
        dir: PathBuf,
    },
    /// `--start` names a test that is not in the plan.
    #[error("--start {name}: not among the {count} tests planned")]
    UnknownStart {
        /// The name given.
        name: String,
        /// How many tests were planned.
        count: usize,
    },
    /// A test name that cannot be a module.
    #[error("{0:?} is not a test module name (expected something like test_os)")]
    BadName(String),
    /// The VM failed (not the test: the VM could not even run).
    #[error(transparent)]
    Vm(#[from] VmError),
    /// The resume state file could not be read or parsed.
    #[error("resume state {path}: {message}; delete it to start afresh")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The resume state file could not be written.
    #[error("cannot write resume state {path}: {source}")]
    WriteState {
        /// The state file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Every `test_*` module in `lib/test` of a bundle (`.py`, `.mpy` or a package), sorted.
pub fn discover_tests(lib: &Path) -> Result<Vec<String>, RunError> {
    let dir = lib.join("test");
    if !dir.is_dir() {
        return Err(RunError::NoTestDir { path: dir });
    }
    let read_err = |source| RunError::ReadDir {
        path: dir.clone(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let stem = if entry.path().is_dir() {
            if !entry.path().join("__init__.py").is_file()
                && !entry.path().join("__init__.mpy").is_file()
            {
                continue;
            }
            file.as_str()
        } else if let Some(s) = file.strip_suffix(".py").or(file.strip_suffix(".mpy")) {
            s
        } else {
            continue;
        };
        if stem.starts_with("test_") && is_module_name(stem) {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// The ordered list of tests to run: `requested` (names with or without the `test.` prefix) or
/// everything discovered, then cut to start at `start`.
pub fn plan(
    lib: &Path,
    requested: &[String],
    start: Option<&str>,
) -> Result<Vec<String>, RunError> {
    let all = discover_tests(lib)?;
    let mut tests = Vec::new();
    if requested.is_empty() {
        if all.is_empty() {
            return Err(RunError::NoTests {
                dir: lib.join("test"),
            });
        }
        tests = all;
    } else {
        for r in requested {
            let name = r.strip_prefix("test.").unwrap_or(r);
            if !is_module_name(name) {
                return Err(RunError::BadName(r.clone()));
            }
            // A dotted name outside `test` (`unittest.test.test_case`): a test module of a package
            // whose suite is too big for one VM, so each of its modules gets its own.
            if name.contains('.') && module_exists(lib, name) {
                tests.push(name.to_owned());
                continue;
            }
            if !all.iter().any(|t| t == name) {
                return Err(RunError::UnknownTest {
                    name: name.to_owned(),
                    dir: lib.join("test"),
                });
            }
            tests.push(name.to_owned());
        }
    }
    if let Some(start) = start {
        let start = start.strip_prefix("test.").unwrap_or(start);
        let at = tests
            .iter()
            .position(|t| t == start)
            .ok_or_else(|| RunError::UnknownStart {
                name: start.to_owned(),
                count: tests.len(),
            })?;
        tests.drain(..at);
    }
    Ok(tests)
}

/// Whether the dotted module `name` is in the bundle's `lib` (`.py`, `.mpy` or a package).
fn module_exists(lib: &Path, name: &str) -> bool {
    let path = lib.join(name.replace('.', "/"));
    path.with_extension("py").is_file()
        || path.with_extension("mpy").is_file()
        || path.join("__init__.py").is_file()
        || path.join("__init__.mpy").is_file()
}

/// Settings for a session.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Per-module timeout.
    pub timeout: Duration,
}

/// Live notifications from the driver (the CLI draws progress and verbose lines from these).
pub trait Observer {
    /// Module `index` (1-based) of `total` starts; `failed` modules have failed so far.
    fn module_started(&mut self, index: usize, total: usize, failed: usize, name: &str);
    /// A parser item arrived while the module runs.
    fn item(&mut self, item: &Item);
    /// The module's verdict.
    fn module_finished(&mut self, result: &ModuleResult);
    /// A module from the resume state, not run again.
    fn module_resumed(
        &mut self,
        _index: usize,
        _total: usize,
        _failed: usize,
        _result: &ModuleResult,
    ) {
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {
    fn module_started(&mut self, _: usize, _: usize, _: usize, _: &str) {}
    fn item(&mut self, _: &Item) {}
    fn module_finished(&mut self, _: &ModuleResult) {}
}

/// A finished (or interrupted and resumed) test session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The VM it ran on.
    pub vm: VmInfo,
    /// Results in plan order.
    pub modules: Vec<ModuleResult>,
    /// Host wall time of this invocation, in seconds.
    pub duration_s: f64,
}

impl Session {
    /// Whether anything failed (the exit code is 1 then).
    pub fn failed(&self) -> bool {
        self.modules.iter().any(|m| m.status.is_failure())
    }
}

/// The resume state: which modules of which plan are finished, with their results.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ResumeState {
    /// The plan the results belong to.
    pub plan: Vec<String>,
    /// Finished modules.
    pub finished: Vec<ModuleResult>,
}

impl ResumeState {
    /// Read a state file; a missing file is an empty state.
    pub fn load(path: &Path) -> Result<Self, RunError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| RunError::State {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(RunError::State {
                path: path.to_path_buf(),
                message: e.to_string(),
            }),
        }
    }

    fn save(&self, path: &Path) -> Result<(), RunError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| RunError::State {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        crate::fsutil::write_atomic(path, &json).map_err(|source| RunError::WriteState {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Run `tests` on `vm`, one fresh VM each. With `state_file`, results are saved after every
/// module and, when `resume` is set, modules already finished there are not run again.
pub fn run_session(
    vm: &mut dyn Vm,
    tests: &[String],
    opts: &RunOptions,
    state_file: Option<&Path>,
    resume: bool,
    obs: &mut dyn Observer,
) -> Result<Session, RunError> {
    let started = Instant::now();
    let mut state = match (state_file, resume) {
        (Some(p), true) => ResumeState::load(p)?,
        _ => ResumeState::default(),
    };
    state.plan = tests.to_vec();
    state.finished.retain(|m| tests.contains(&m.name));
    let total = tests.len();
    let mut modules = Vec::with_capacity(total);
    let mut failed = 0;
    for (i, name) in tests.iter().enumerate() {
        if let Some(done) = state.finished.iter().find(|m| &m.name == name) {
            obs.module_resumed(i + 1, total, failed, done);
            failed += usize::from(done.status.is_failure());
            modules.push(done.clone());
            continue;
        }
        obs.module_started(i + 1, total, failed, name);
        let result = run_one(vm, name, opts.timeout, obs)?;
        failed += usize::from(result.status.is_failure());
        obs.module_finished(&result);
        if let Some(p) = state_file {
            state.finished.push(result.clone());
            state.save(p)?;
        }
        modules.push(result);
    }
    Ok(Session {
        vm: vm.info(),
        modules,
        duration_s: started.elapsed().as_secs_f64(),
    })
}

/// Run one test module (`test.<name>`, or `<name>` when dotted) in a fresh VM and judge it.
pub fn run_one(
    vm: &mut dyn Vm,
    name: &str,
    timeout: Duration,
    obs: &mut dyn Observer,
) -> Result<ModuleResult, RunError> {
    // Names from `lib/test` are bare (`test_os`); a dotted name is already the full module.
    let module = if name.contains('.') {
        name.to_owned()
    } else {
        format!("test.{name}")
    };
    let request = RunRequest::new(RunMode::Test, &module)?;
    let mut parser = FrameParser::new();
    let mut collector = ModuleCollector::new(name);
    let run = vm.run_module(&request, timeout, &mut |bytes| {
        for item in parser.feed(bytes) {
            obs.item(&item);
            collector.push(item);
        }
    })?;
    for item in parser.finish() {
        obs.item(&item);
        collector.push(item);
    }
    Ok(collector.finish(run.exit, &run.stderr, run.elapsed.as_secs_f64()))
}
