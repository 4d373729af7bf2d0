//! `portlib build`: the effective sources as a deployable bundle, `DIR/lib/…` mirroring a
//! board's `/lib`, plus `DIR/manifest.json` and optionally a reproducible zip.
//!
//! Decisions that shape the output:
//!
//! * **What goes in.** With no module named, every ported file and `lib-src/` file except test
//!   files (below a `test`/`tests` folder; `--tests` adds them) and files named like a fixed
//!   built-in of the target. With names, those modules (a package name means all of its files,
//!   as in every portlib command) plus their import closure, found by parsing the effective
//!   sources on the CPython side ([`imports`]) and resolved like a board resolves `/lib`
//!   ([`graph`]). Built-ins come from a per-target list ([`builtins`]). With `--tests` and a
//!   top-level module name `m`, `test/test_m.py` (or the `test/test_m/` package) goes in too.
//! * **Source name.** A compiled file stores its path relative to `lib/`, `unittest/case.py`,
//!   the name a traceback on the board then shows; it is part of the cache key.
//! * **Atomic output.** Everything is built in a temporary folder beside `DIR` and renamed over
//!   it at the end, so `DIR` is always a complete bundle or the previous one. `DIR` is replaced
//!   whole; to protect a mistyped `--out`, an existing `DIR` must look like a bundle (nothing
//!   but `lib/`, `manifest.json`, `.cache/` and zips).
//! * **Cache.** `DIR/.cache/` ([`cache`]) survives the swap: compiled files keyed by a hash of
//!   the effective source, its name, the compiler's id and the target; import scans keyed by the
//!   source's hash (parsing the whole standard library takes seconds, a warm build must not).
//! * **Reproducibility.** No wall-clock time anywhere: the manifest has no dates, the zip's
//!   timestamps and default name come from [`BuildOptions::source_date_epoch`].

mod archive;
mod builtins;
mod cache;
mod graph;
pub mod imports;
mod manifest;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

pub use archive::{civil, default_zip_name, zip_bytes};
pub use builtins::{BuiltinKind, Builtins};
pub use cache::Cache;
pub use graph::{is_test_file, Reason, Selection};
pub use manifest::{Manifest, ManifestFile};

use crate::diag::Diagnostic;
use crate::fsutil::{replace_dir, staging_dir_beside, write_atomic};
use crate::upstream::{sha256_hex, Upstream};
use crate::workspace::{self, Repo, WorkspaceError};

/// The CPython version the port is made against (recorded in manifests).
pub const UPSTREAM_VERSION: &str = "3.4.9";

/// The `.mpy` format version the compiler writes.
pub const MPY_VERSION: &str = "6.3";

/// Which firmware the bundle is for: decides built-in modules and the `.mpy` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// MicroPython 1.2x (header `M`).
    Micropython,
    /// CircuitPython 10 (header `C`).
    Circuitpython,
}

impl Target {
    /// `micropython` / `circuitpython`.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Micropython => "micropython",
            Target::Circuitpython => "circuitpython",
        }
    }
}

/// What the bundle's modules are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Compiled `.mpy` bytecode.
    Mpy,
    /// The effective sources themselves.
    Py,
}

impl Format {
    /// `mpy` / `py`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Mpy => "mpy",
            Format::Py => "py",
        }
    }
}

/// Whether and where to write the zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZipRequest {
    /// No zip.
    None,
    /// Inside the output folder, under [`default_zip_name`].
    Default,
    /// At this path.
    At(PathBuf),
}

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Modules to build with their import closure; empty for everything.
    pub modules: Vec<String>,
    /// The firmware.
    pub target: Target,
    /// Bytecode or sources.
    pub format: Format,
    /// Let test files in.
    pub tests: bool,
    /// The output folder (`DIR`; the bundle is `DIR/lib`).
    pub out: PathBuf,
    /// The zip.
    pub zip: ZipRequest,
    /// Seconds since 1970 (UTC) stamped into the zip and its default name.
    pub source_date_epoch: u64,
    /// Worker threads; `None` for one per core.
    pub jobs: Option<usize>,
}

/// A module the compiler refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct BuildCompileError {
    /// 1-based line, when the compiler knows it.
    pub line: Option<usize>,
    /// 1-based column, when the compiler knows it.
    pub col: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// A Python → bytecode compiler as the build sees it. Called from several threads at once.
pub trait ModuleCompiler: Sync {
    /// Compile one effective source; `source_name` is stored in the output (`unittest/case.py`).
    fn compile(&self, source: &[u8], source_name: &str) -> Result<Vec<u8>, BuildCompileError>;

    /// Everything that changes the output for the same input (compiler version, target,
    /// options): it goes into cache keys, so a different id never reuses a cached file.
    fn id(&self) -> String;
}

/// portlib's own compiler ([`crate::mpy::compile`]) as the build sees it.
struct PortlibCompiler {
    opts: crate::mpy::compile::CompileOptions,
    id: String,
}

impl ModuleCompiler for PortlibCompiler {
    fn compile(&self, source: &[u8], source_name: &str) -> Result<Vec<u8>, BuildCompileError> {
        crate::mpy::compile::compile(source, source_name, &self.opts).map_err(|e| {
            BuildCompileError {
                line: (e.line() > 0).then_some(e.line() as usize),
                col: e.col().map(|c| c as usize),
                message: format!("{}: {}", e.kind(), e.message()),
            }
        })
    }

    fn id(&self) -> String {
        self.id.clone()
    }
}

/// The project's own `.mpy` compiler for `target` at optimisation level `opt`.
///
/// Its cache id names the portlib version and, because the compiler changes between releases
/// while it is developed, the identity (size and modification time) of the running executable:
/// a rebuilt portlib never reuses `.mpy` files cached by another build of itself.
pub fn real_compiler(target: Target, opt: u8) -> Result<Box<dyn ModuleCompiler>, BuildError> {
    let format_target = match target {
        Target::Micropython => crate::mpy::format::Target::MicroPython,
        Target::Circuitpython => crate::mpy::format::Target::CircuitPython,
    };
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}-{modified}", m.len())
        })
        .unwrap_or_default();
    Ok(Box::new(PortlibCompiler {
        opts: crate::mpy::compile::CompileOptions {
            target: format_target,
            opt_level: opt,
            small_int_bits: 31,
        },
        id: format!(
            "portlib-{} exe-{exe} target-{} opt-{opt}",
            env!("CARGO_PKG_VERSION"),
            target.as_str()
        ),
    }))
}

/// Progress of the per-file work, reported from worker threads.
pub trait Progress: Sync {
    /// `total` files are about to be produced.
    fn start(&self, total: u64);
    /// One file is done.
    fn advance(&self, rel: &str);
    /// All done (also called when the build fails part way).
    fn finish(&self);
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: u64) {}
    fn advance(&self, _: &str) {}
    fn finish(&self) {}
}

/// Something worth telling that does not stop the build.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum BuildWarning {
    /// An import that is neither ported, in `lib-src/`, nor built in (and not optional).
    UnknownImport {
        /// The importing file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// The dotted module that is missing.
        module: String,
    },
    /// A non-test file imports a test file, left out without `--tests`.
    TestImportSkipped {
        /// The importing file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// The test file.
        module: String,
    },
    /// A relative import going above the top-level package.
    RelativeBeyondTop {
        /// The importing file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// Number of leading dots.
        level: u32,
    },
    /// A ported file named like a built-in the firmware never lets a file shadow: not shipped.
    FixedBuiltin {
        /// The file.
        path: String,
        /// The built-in module.
        module: String,
        /// The target.
        target: String,
    },
}

impl fmt::Display for BuildWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildWarning::UnknownImport { path, line, col, module } => write!(
                f,
                "{path}:{line}:{col}: warning: `{module}` is not ported, not in lib-src/ and not built in: the import will fail on the board"
            ),
            BuildWarning::TestImportSkipped { path, line, col, module } => write!(
                f,
                "{path}:{line}:{col}: warning: imports the test file {module}, left out (add --tests)"
            ),
            BuildWarning::RelativeBeyondTop { path, line, col, level } => write!(
                f,
                "{path}:{line}:{col}: warning: relative import with {level} dot(s) goes above the top-level package"
            ),
            BuildWarning::FixedBuiltin { path, module, target } => write!(
                f,
                "{path}: warning: `{module}` is built into {target} and cannot be shadowed from /lib: not shipped"
            ),
        }
    }
}

/// Why a build stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Sources could not be produced (patch, upstream, repository).
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// `--format mpy` without a compiler (a library caller passed none).
    #[error("--format mpy needs a compiler, and none was given")]
    CompilerUnavailable,
    /// A named module has only test files and `--tests` was not given.
    #[error("`{name}` names only test files; add --tests to build them")]
    TestsOnly {
        /// The name as given.
        name: String,
    },
    /// Files of the bundle are not valid Python (one diagnostic each).
    #[error("{} file(s) of the bundle cannot be parsed", diagnostics.len())]
    Syntax {
        /// One per file.
        diagnostics: Vec<Diagnostic>,
    },
    /// The compiler refused files (one diagnostic each).
    #[error("{} file(s) failed to compile", diagnostics.len())]
    Compile {
        /// One per file.
        diagnostics: Vec<Diagnostic>,
    },
    /// `--out` names a folder that is not a bundle: it would be replaced whole.
    #[error("{dir} exists and does not look like a portlib bundle (it has {entry}); refusing to replace it: choose another --out or remove it")]
    NotABundle {
        /// The output folder.
        dir: PathBuf,
        /// The first entry that does not belong in a bundle.
        entry: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The zip could not be assembled.
    #[error("cannot write the zip: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// The worker threads could not be started.
    #[error("cannot start worker threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
}

impl BuildError {
    /// The per-file diagnostics, for errors that have them.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            BuildError::Syntax { diagnostics } | BuildError::Compile { diagnostics } => diagnostics,
            _ => &[],
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a build did.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    /// The output folder.
    pub out: PathBuf,
    /// The bundle on disk already was exactly this one, so it was left as it was.
    pub unchanged: bool,
    /// The target.
    pub target: Target,
    /// The format.
    pub format: Format,
    /// Files in the bundle (the manifest's list).
    pub files: Vec<ManifestFile>,
    /// Files compiled in this run.
    pub compiled: usize,
    /// Files taken from the cache.
    pub cached: usize,
    /// Files copied as they are (sources in a `py` bundle, non-Python files).
    pub copied: usize,
    /// Total size of the bundle's files.
    pub bytes: u64,
    /// Sources parsed for imports in this run (the others came from the cache).
    pub scanned: usize,
    /// Time to find the files of the bundle (parsing included).
    #[serde(serialize_with = "millis")]
    pub closure_time: Duration,
    /// Time of the whole build.
    #[serde(serialize_with = "millis")]
    pub time: Duration,
    /// The zip written, if any.
    pub zip: Option<PathBuf>,
    /// Problems that did not stop the build.
    pub warnings: Vec<BuildWarning>,
    /// Per file of the bundle (by source), the chain of reasons it is in.
    pub explain: BTreeMap<String, Vec<Reason>>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1e6).round() / 1e3)
}

/// One effective source with what the build knows about it.
struct Source {
    rel: String,
    bytes: Vec<u8>,
    sha256: String,
    from_lib_src: bool,
}

/// Build the bundle. `compiler` is needed for [`Format::Mpy`] only.
pub fn build(
    repo: &Repo,
    upstream: &Upstream,
    opts: &BuildOptions,
    compiler: Option<&dyn ModuleCompiler>,
    progress: &dyn Progress,
) -> Result<BuildReport, BuildError> {
    let compiler = match opts.format {
        Format::Mpy => Some(compiler.ok_or(BuildError::CompilerUnavailable)?),
        Format::Py => None,
    };
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = opts.jobs {
        pool = pool.num_threads(n.max(1));
    }
    let job = Job {
        repo,
        upstream,
        opts,
        compiler,
        progress,
    };
    let result = pool.build()?.install(|| job.run());
    progress.finish();
    result
}

/// One build's inputs, shared by its steps.
struct Job<'a> {
    repo: &'a Repo,
    upstream: &'a Upstream,
    opts: &'a BuildOptions,
    compiler: Option<&'a dyn ModuleCompiler>,
    progress: &'a dyn Progress,
}

impl Job<'_> {
    fn run(&self) -> Result<BuildReport, BuildError> {
        let Job {
            repo,
            upstream,
            opts,
            compiler,
            ..
        } = *self;
        let started = Instant::now();
        check_out_dir(&opts.out)?;
        let lib_src: BTreeSet<String> = repo.lib_src()?.into_iter().collect();
        let sources: Vec<Source> = workspace::effective_sources(repo, upstream)?
            .into_par_iter()
            .map(|(rel, bytes)| Source {
                sha256: sha256_hex(&bytes),
                from_lib_src: lib_src.contains(&rel),
                rel,
                bytes,
            })
            .collect();
        // Bad module names fail before anything is written (the scans below fill the cache).
        let universe: Vec<String> = sources.iter().map(|s| s.rel.clone()).collect();
        workspace::resolve_modules(&opts.modules, &universe)?;
        let cache = Cache::new(opts.out.join(".cache"));

        let (selection, scanned) = self.select(&sources, &universe, &cache)?;
        let closure_time = started.elapsed();

        let selected: Vec<&Source> = sources
            .iter()
            .filter(|s| selection.files.contains_key(&s.rel))
            .collect();
        let namespace = compiler.map(|c| Cache::namespace(&c.id(), opts.target.as_str()));
        let mut done = self.produce_all(&selected, namespace.as_deref(), &cache)?;
        done.sort_by(|a, b| a.path.cmp(&b.path));
        let count = |how: How| done.iter().filter(|o| o.how == how).count();
        let (compiled, cached, copied) =
            (count(How::Compiled), count(How::Cached), count(How::Copied));
        let used_objects: BTreeSet<String> = done.iter().filter_map(|o| o.key.clone()).collect();
        let files: Vec<ManifestFile> = done.iter().map(|o| o.entry.clone()).collect();
        let manifest = Manifest {
            portlib: env!("CARGO_PKG_VERSION").to_owned(),
            target: opts.target.as_str().to_owned(),
            format: opts.format.as_str().to_owned(),
            mpy_version: (opts.format == Format::Mpy).then(|| MPY_VERSION.to_owned()),
            upstream: UPSTREAM_VERSION.to_owned(),
            files,
        };
        let manifest_json = manifest.to_json();
        let zip = match &opts.zip {
            ZipRequest::None => None,
            request => {
                let mut entries: Vec<(&str, &[u8])> = done
                    .iter()
                    .map(|o| (o.path.as_str(), o.bytes.as_slice()))
                    .collect();
                entries.push(("manifest.json", &manifest_json));
                let bytes = zip_bytes(&entries, opts.source_date_epoch)?;
                let path = match request {
                    ZipRequest::At(path) => path.clone(),
                    _ => opts.out.join(default_zip_name(
                        opts.target,
                        opts.format,
                        opts.source_date_epoch,
                    )),
                };
                Some((path, bytes))
            }
        };

        if opts.modules.is_empty() {
            let used_scans = sources.iter().map(|s| s.sha256.clone()).collect();
            cache.prune(namespace.as_deref(), &used_objects, &used_scans)?;
        }
        let unchanged = self.write(&done, &manifest_json, &cache)?;
        if let Some((path, bytes)) = &zip {
            write_atomic(path, bytes).map_err(io(path))?;
        }
        let zip = zip.map(|(path, _)| path);

        let explain = selection
            .files
            .keys()
            .map(|rel| (rel.clone(), selection.chain(rel)))
            .collect();
        let bytes = manifest.files.iter().map(|f| f.size).sum();
        Ok(BuildReport {
            out: opts.out.clone(),
            unchanged,
            target: opts.target,
            format: opts.format,
            files: manifest.files,
            compiled,
            cached,
            copied,
            bytes,
            scanned,
            closure_time,
            time: started.elapsed(),
            zip,
            warnings: selection.warnings,
            explain,
        })
    }

    /// The files of the bundle. Imports are scanned wave by wave as the closure reaches files,
    /// each wave in parallel and from the cache where possible, so files left out are never
    /// parsed. Returns the selection and how many files were parsed (not cached).
    fn select(
        &self,
        sources: &[Source],
        universe: &[String],
        cache: &Cache,
    ) -> Result<(Selection, usize), BuildError> {
        let by_rel: BTreeMap<&str, &Source> = sources.iter().map(|s| (s.rel.as_str(), s)).collect();
        let syntax: Mutex<BTreeMap<String, imports::SyntaxProblem>> = Mutex::default();
        let scanned = AtomicUsize::new(0);
        let scan = |rels: &[String]| -> Result<Vec<Vec<imports::ImportRef>>, BuildError> {
            rels.par_iter()
                .map(|rel| {
                    let Some(s) = by_rel.get(rel.as_str()).filter(|s| s.rel.ends_with(".py"))
                    else {
                        return Ok(Vec::new());
                    };
                    if let Some(refs) = cache.load_imports(&s.sha256)? {
                        return Ok(refs);
                    }
                    scanned.fetch_add(1, Ordering::Relaxed);
                    match imports::scan(&s.bytes, &s.rel) {
                        Ok(refs) => {
                            cache.store_imports(&s.sha256, &refs)?;
                            Ok(refs)
                        }
                        Err(problem) => {
                            let mut syntax = syntax.lock().unwrap_or_else(|e| e.into_inner());
                            syntax.insert(s.rel.clone(), problem);
                            Ok(Vec::new())
                        }
                    }
                })
                .collect()
        };
        let builtins = Builtins::for_target(self.opts.target);
        let graph = graph::Graph {
            universe,
            scan: &scan,
            builtins: &builtins,
            tests: self.opts.tests,
            target: self.opts.target.as_str(),
        };
        let selection = if self.opts.modules.is_empty() {
            graph.select_all()?
        } else {
            graph.select(&self.opts.modules)?
        };
        let scanned = scanned.into_inner();

        // Only files of the bundle are scanned, so every problem is one to report.
        let syntax = syntax.into_inner().unwrap_or_else(|e| e.into_inner());
        let diagnostics: Vec<Diagnostic> = syntax
            .iter()
            .map(|(rel, p)| {
                let s = by_rel[rel.as_str()];
                source_diagnostic(s, p.line, p.col, &format!("syntax error: {}", p.message))
            })
            .collect();
        if !diagnostics.is_empty() {
            return Err(BuildError::Syntax { diagnostics });
        }
        Ok((selection, scanned))
    }

    /// Every output file, in parallel; all compile failures are reported together.
    fn produce_all(
        &self,
        selected: &[&Source],
        namespace: Option<&str>,
        cache: &Cache,
    ) -> Result<Vec<Output>, BuildError> {
        self.progress.start(selected.len() as u64);
        let outputs: Vec<Result<Output, Diagnostic>> = selected
            .par_iter()
            .map(|s| {
                let out = produce(s, self.compiler, namespace, cache)?;
                self.progress.advance(&s.rel);
                Ok(out)
            })
            .collect::<Result<_, BuildError>>()?;
        let mut done = Vec::new();
        let mut failures = Vec::new();
        for out in outputs {
            match out {
                Ok(out) => done.push(out),
                Err(d) => failures.push(d),
            }
        }
        if failures.is_empty() {
            Ok(done)
        } else {
            Err(BuildError::Compile {
                diagnostics: failures,
            })
        }
    }

    /// Put the bundle in place: staged beside the output folder and swapped in, unless the
    /// folder already holds exactly this bundle. Returns whether it did.
    fn write(
        &self,
        done: &[Output],
        manifest_json: &[u8],
        cache: &Cache,
    ) -> Result<bool, BuildError> {
        if up_to_date(&self.opts.out, manifest_json, done) {
            return Ok(true);
        }
        let staging =
            staging_dir_beside(&self.opts.out, "portlib-build").map_err(io(&self.opts.out))?;
        done.par_iter().try_for_each(|o| {
            let path = staging.path().join(&o.path);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io(dir))?;
            }
            std::fs::write(&path, &o.bytes).map_err(io(&path))
        })?;
        let manifest_path = staging.path().join("manifest.json");
        std::fs::write(&manifest_path, manifest_json).map_err(io(&manifest_path))?;
        // The cache moves into the new tree; losing it to an interruption here only costs
        // time.
        if cache.root().is_dir() {
            let moved = staging.path().join(".cache");
            std::fs::rename(cache.root(), &moved).map_err(io(cache.root()))?;
        }
        replace_dir(&staging.keep(), &self.opts.out).map_err(io(&self.opts.out))?;
        Ok(false)
    }
}

/// Whether `out` already holds exactly this bundle: the same manifest, and under `lib/` the
/// same files with the same bytes. Rewriting an unchanged tree is most of a warm build's time.
/// Anything unreadable counts as "no", and the bundle is rebuilt.
fn up_to_date(out: &Path, manifest_json: &[u8], done: &[Output]) -> bool {
    if std::fs::read(out.join("manifest.json")).ok().as_deref() != Some(manifest_json) {
        return false;
    }
    let mut on_disk = Vec::new();
    for entry in walkdir::WalkDir::new(out.join("lib")) {
        let Ok(entry) = entry else { return false };
        if !entry.file_type().is_dir() {
            let Ok(rel) = entry.path().strip_prefix(out) else {
                return false;
            };
            let parts: Vec<_> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            on_disk.push(parts.join("/"));
        }
    }
    on_disk.sort();
    on_disk.iter().eq(done.iter().map(|o| &o.path))
        && done
            .par_iter()
            .all(|o| std::fs::read(out.join(&o.path)).ok().as_deref() == Some(o.bytes.as_slice()))
}

/// An existing output folder may be replaced only if everything in it is what a build writes.
fn check_out_dir(out: &Path) -> Result<(), BuildError> {
    let entries = match std::fs::read_dir(out) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(out)(e)),
    };
    for entry in entries {
        let name = entry.map_err(io(out))?.file_name();
        let name = name.to_string_lossy();
        let ours = matches!(&*name, "lib" | "manifest.json" | ".cache") || name.ends_with(".zip");
        if !ours {
            return Err(BuildError::NotABundle {
                dir: out.to_path_buf(),
                entry: name.into_owned(),
            });
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    Compiled,
    Cached,
    Copied,
}

struct Output {
    /// Relative to the output folder (`lib/…`).
    path: String,
    bytes: Vec<u8>,
    entry: ManifestFile,
    how: How,
    /// The cache key used, if any.
    key: Option<String>,
}

/// One file of the bundle: compiled (or from the cache) for a Python source in an `mpy` build,
/// the source itself otherwise. A compiler refusal is a diagnostic, not an error, so that every
/// failing file is reported at once.
fn produce(
    s: &Source,
    compiler: Option<&dyn ModuleCompiler>,
    namespace: Option<&str>,
    cache: &Cache,
) -> Result<Result<Output, Diagnostic>, BuildError> {
    let (rel_out, bytes, how, key) = match (compiler, namespace, s.rel.strip_suffix(".py")) {
        (Some(compiler), Some(ns), Some(stem)) => {
            let key = Cache::object_key(ns, &s.rel, &s.sha256);
            let (bytes, how) = match cache.load_object(ns, &key)? {
                Some(bytes) => (bytes, How::Cached),
                None => match compiler.compile(&s.bytes, &s.rel) {
                    Ok(bytes) => {
                        cache.store_object(ns, &key, &bytes)?;
                        (bytes, How::Compiled)
                    }
                    Err(e) => {
                        let d = source_diagnostic(
                            s,
                            e.line.unwrap_or(1),
                            e.col.unwrap_or(1),
                            &format!("cannot compile: {}", e.message),
                        );
                        return Ok(Err(d));
                    }
                },
            };
            (format!("{stem}.mpy"), bytes, how, Some(key))
        }
        _ => (s.rel.clone(), s.bytes.clone(), How::Copied, None),
    };
    let path = format!("lib/{rel_out}");
    Ok(Ok(Output {
        entry: ManifestFile {
            path: path.clone(),
            size: bytes.len() as u64,
            sha256: match how {
                How::Copied => s.sha256.clone(),
                _ => sha256_hex(&bytes),
            },
            source: s.rel.clone(),
            source_sha256: s.sha256.clone(),
        },
        path,
        bytes,
        how,
        key,
    }))
}

/// A problem at `line:col` of an effective source, pointing at the file the user edits.
fn source_diagnostic(s: &Source, line: usize, col: usize, message: &str) -> Diagnostic {
    let text = String::from_utf8_lossy(&s.bytes)
        .lines()
        .nth(line.saturating_sub(1))
        .map(str::to_owned);
    let (path, message, help) = if s.from_lib_src {
        (
            format!("lib-src/{}", s.rel),
            message.to_owned(),
            format!("fix lib-src/{}", s.rel),
        )
    } else {
        let module = s
            .rel
            .strip_suffix(".py")
            .unwrap_or(&s.rel)
            .replace('/', ".");
        (
            s.rel.clone(),
            format!("{message} (in the effective source of patches/{}.diff)", s.rel),
            format!(
                "see the effective source with `portlib strip --out DIR`; fix it with `portlib checkout {module}`, edit work/{}, then `portlib refresh`",
                s.rel
            ),
        )
    };
    let d = Diagnostic::new(path, line, col, message).with_help(help);
    match text {
        Some(t) => d.with_text(t),
        None => d,
    }
}
