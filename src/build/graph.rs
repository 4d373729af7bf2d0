//! Which files go into a bundle: everything ported, or the import closure of named modules.
//!
//! Module resolution follows what a board does with `/lib` on `sys.path`: `a.b` is `a/b.py` or
//! `a/b/__init__.py`; importing `a.b` runs `a/__init__.py` first; a fixed built-in wins over any
//! file, an extensible one loses to a file of the same name. A dotted name below a plain module
//! (`os.path` when `os.py` is a module) is an attribute made at run time, not a file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use serde::Serialize;

use super::builtins::{BuiltinKind, Builtins};
use super::imports::ImportRef;
use super::{BuildError, BuildWarning};
use crate::workspace::resolve_modules;

/// Why a file is in the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Reason {
    /// No module was named: every ported file goes in.
    All,
    /// Named on the command line (directly, or as a file of a named package).
    Requested {
        /// The name as given.
        name: String,
    },
    /// The tests of a named module (`--tests`).
    TestOf {
        /// The module name as given.
        name: String,
    },
    /// Imported by another file of the bundle.
    Imported {
        /// The importing file (relative to `lib/`'s source tree, like `glob.py`).
        by: String,
        /// 1-based line of the import statement.
        line: usize,
    },
    /// The `__init__.py` of a package one of whose files is in the bundle.
    PackageOf {
        /// The file inside the package.
        child: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::All => write!(f, "all files (no module named)"),
            Reason::Requested { name } => write!(f, "requested as `{name}`"),
            Reason::TestOf { name } => write!(f, "tests of `{name}` (--tests)"),
            Reason::Imported { by, line } => write!(f, "imported at {by}:{line}"),
            Reason::PackageOf { child } => write!(f, "package of {child}"),
        }
    }
}

/// The files of a bundle with the reason each is there, and what looked wrong on the way.
#[derive(Debug, Default)]
pub struct Selection {
    /// Included files (paths relative to `Lib/` / `lib-src/`) and why.
    pub files: BTreeMap<String, Reason>,
    /// Problems that do not stop the build.
    pub warnings: Vec<BuildWarning>,
}

impl Selection {
    /// The chain of reasons from `rel` back to what was requested: first the file that imported
    /// `rel`, then the one that imported that, and so on.
    pub fn chain(&self, rel: &str) -> Vec<Reason> {
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        let mut cur = rel;
        while let Some(reason) = self.files.get(cur) {
            out.push(reason.clone());
            let next = match reason {
                Reason::Imported { by, .. } => by.as_str(),
                Reason::PackageOf { child } => child.as_str(),
                _ => break,
            };
            // Reasons are assigned once, breadth first, so they cannot loop; stay safe anyway.
            if !seen.insert(next) {
                break;
            }
            cur = next;
        }
        out
    }
}

/// Test files are those below a `test`, `tests` or `idle_test` folder (`test/…`,
/// `unittest/test/…`, `lib2to3/tests/…`): they only go in with `--tests`.
pub fn is_test_file(rel: &str) -> bool {
    let mut parts: Vec<&str> = rel.split('/').collect();
    parts.pop();
    parts
        .iter()
        .any(|p| matches!(*p, "test" | "tests" | "idle_test"))
}

/// Imports of a batch of files, in the batch's order.
pub type Scan<'a> = dyn Fn(&[String]) -> Result<Vec<Vec<ImportRef>>, BuildError> + 'a;

/// The inputs of a selection.
pub struct Graph<'a> {
    /// Every file that could be shipped (ported and `lib-src/`), sorted.
    pub universe: &'a [String],
    /// The imports of a batch of files, in order (none for a file that is not Python or does
    /// not parse). Called once per breadth-first wave, so a caller can scan a wave in parallel
    /// and only files that end up in the bundle are ever parsed.
    pub scan: &'a Scan<'a>,
    /// The target's built-in modules.
    pub builtins: &'a Builtins,
    /// Whether test files may go in.
    pub tests: bool,
    /// The target's name, for messages.
    pub target: &'a str,
}

impl Graph<'_> {
    /// Every shippable file (no module named). Their imports are still followed, only to
    /// report the ones that cannot work on the board.
    pub fn select_all(&self) -> Result<Selection, BuildError> {
        let mut sel = Selection::default();
        let mut queue = VecDeque::new();
        for rel in self.universe {
            if is_test_file(rel) && !self.tests {
                continue;
            }
            if self.fixed_builtin(rel, &mut sel) {
                continue;
            }
            sel.files.insert(rel.clone(), Reason::All);
            queue.push_back(rel.clone());
        }
        self.close(&mut sel, queue)?;
        Ok(sel)
    }

    /// The named modules (see [`resolve_modules`] for the forms) and their import closure.
    pub fn select(&self, names: &[String]) -> Result<Selection, BuildError> {
        let mut sel = Selection::default();
        let mut queue = VecDeque::new();
        for name in names {
            let found = resolve_modules(std::slice::from_ref(name), self.universe)?;
            let mut kept = 0;
            for rel in found {
                if is_test_file(&rel) && !self.tests {
                    continue;
                }
                kept += 1;
                let reason = Reason::Requested { name: name.clone() };
                self.include(&rel, reason, &mut sel, &mut queue);
            }
            if kept == 0 {
                return Err(BuildError::TestsOnly { name: name.clone() });
            }
            if self.tests && !name.contains(['.', '/']) {
                let test = format!("test/test_{name}");
                let module = format!("{test}.py");
                let package = format!("{test}/");
                for rel in self.universe {
                    if *rel == module || rel.starts_with(&package) {
                        let reason = Reason::TestOf { name: name.clone() };
                        self.include(rel, reason, &mut sel, &mut queue);
                    }
                }
            }
        }
        self.close(&mut sel, queue)?;
        Ok(sel)
    }

    /// Follow the imports of the queued files, breadth first (wave by wave, in queue order), so
    /// each file's reason is its shortest chain back to a root.
    fn close(&self, sel: &mut Selection, mut queue: VecDeque<String>) -> Result<(), BuildError> {
        while !queue.is_empty() {
            let wave: Vec<String> = queue.drain(..).collect();
            let refs = (self.scan)(&wave)?;
            for (rel, refs) in wave.iter().zip(refs) {
                for r in &refs {
                    self.follow(rel, r, sel, &mut queue);
                }
            }
        }
        sel.warnings.sort();
        sel.warnings.dedup();
        Ok(())
    }

    /// A ported file named like a fixed built-in can never be imported on the board: leave it
    /// out and say so. Returns whether `rel` is such a file.
    fn fixed_builtin(&self, rel: &str, sel: &mut Selection) -> bool {
        let top = rel.split('/').next().unwrap_or(rel);
        let top = top.strip_suffix(".py").unwrap_or(top);
        if self.builtins.get(top) == Some(BuiltinKind::Fixed) {
            sel.warnings.push(BuildWarning::FixedBuiltin {
                path: rel.to_owned(),
                module: top.to_owned(),
                target: self.target.to_owned(),
            });
            return true;
        }
        false
    }

    fn include(
        &self,
        rel: &str,
        reason: Reason,
        sel: &mut Selection,
        queue: &mut VecDeque<String>,
    ) {
        if sel.files.contains_key(rel) || self.fixed_builtin(rel, sel) {
            return;
        }
        sel.files.insert(rel.to_owned(), reason);
        queue.push_back(rel.to_owned());
        // Importing `a.b.c` runs `a/__init__.py` and `a/b/__init__.py` first.
        let parts: Vec<&str> = rel.split('/').collect();
        let mut child = rel.to_owned();
        for depth in (1..parts.len()).rev() {
            let init = format!("{}/__init__.py", parts[..depth].join("/"));
            if init == rel || !self.has(&init) {
                continue;
            }
            if sel.files.contains_key(&init) {
                break;
            }
            sel.files.insert(
                init.clone(),
                Reason::PackageOf {
                    child: child.clone(),
                },
            );
            queue.push_back(init.clone());
            child = init;
        }
    }

    fn has(&self, rel: &str) -> bool {
        self.universe
            .binary_search_by(|u| u.as_str().cmp(rel))
            .is_ok()
    }

    /// Whether some available file lies below folder `dir` (which ends in `/`).
    fn has_under(&self, dir: &str) -> bool {
        let at = self.universe.partition_point(|u| u.as_str() < dir);
        self.universe.get(at).is_some_and(|u| u.starts_with(dir))
    }

    /// The file of module `name` and whether it is a package.
    fn module_file(&self, name: &str) -> Option<(String, bool)> {
        let base = name.replace('.', "/");
        let package = format!("{base}/__init__.py");
        if self.has(&package) {
            return Some((package, true));
        }
        let module = format!("{base}.py");
        self.has(&module).then_some((module, false))
    }

    fn follow(&self, rel: &str, r: &ImportRef, sel: &mut Selection, queue: &mut VecDeque<String>) {
        let warn_at = |module: String| BuildWarning::UnknownImport {
            path: rel.to_owned(),
            line: r.line,
            col: r.col,
            module,
        };
        let base = if r.level > 0 {
            let mut package: Vec<&str> = rel.split('/').collect();
            package.pop();
            let mut beyond = false;
            for _ in 1..r.level {
                beyond |= package.pop().is_none();
            }
            if beyond || package.is_empty() {
                sel.warnings.push(BuildWarning::RelativeBeyondTop {
                    path: rel.to_owned(),
                    line: r.line,
                    col: r.col,
                    level: r.level,
                });
                return;
            }
            let mut base = package.join(".");
            if !r.module.is_empty() {
                base.push('.');
                base.push_str(&r.module);
            }
            base
        } else {
            r.module.clone()
        };
        let reason = Reason::Imported {
            by: rel.to_owned(),
            line: r.line,
        };
        let mut prefix = String::new();
        let mut package = false;
        for (i, part) in base.split('.').enumerate() {
            if i > 0 {
                prefix.push('.');
            }
            prefix.push_str(part);
            let builtin = if i == 0 {
                self.builtins.get(part)
            } else {
                None
            };
            if builtin == Some(BuiltinKind::Fixed) {
                return;
            }
            match self.module_file(&prefix) {
                Some((file, is_package)) => {
                    if !self.admit(rel, r, &file, sel) {
                        return;
                    }
                    self.include(&file, reason.clone(), sel, queue);
                    package = is_package;
                    if !is_package {
                        // Below a plain module, dotted names are attributes (`os.path`).
                        return;
                    }
                }
                // A folder of modules without `__init__.py` is a namespace package, which
                // MicroPython imports too (the port's `test/` is one): nothing to ship for
                // the folder itself, but its submodules still resolve below.
                None if builtin.is_none()
                    && self.has_under(&format!("{}/", prefix.replace('.', "/"))) =>
                {
                    package = true;
                }
                None => {
                    if builtin.is_none() && !r.optional {
                        sel.warnings.push(warn_at(prefix));
                    }
                    return;
                }
            }
        }
        if !package {
            return;
        }
        for name in r.names.iter().flatten() {
            if name == "*" {
                continue;
            }
            if let Some((file, _)) = self.module_file(&format!("{prefix}.{name}")) {
                if self.admit(rel, r, &file, sel) {
                    self.include(&file, reason.clone(), sel, queue);
                }
            }
        }
    }

    /// Whether `file`, imported by `rel`, may go in: a test file only with `--tests`.
    fn admit(&self, rel: &str, r: &ImportRef, file: &str, sel: &mut Selection) -> bool {
        if is_test_file(file) && !self.tests {
            sel.warnings.push(BuildWarning::TestImportSkipped {
                path: rel.to_owned(),
                line: r.line,
                col: r.col,
                module: file.to_owned(),
            });
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn imp(line: usize, module: &str, level: u32, names: &[&str], optional: bool) -> ImportRef {
        ImportRef {
            line,
            col: 1,
            module: module.to_owned(),
            level,
            names: if names.is_empty() {
                None
            } else {
                Some(names.iter().map(|s| s.to_string()).collect())
            },
            optional,
        }
    }

    struct Fixture {
        universe: Vec<String>,
        imports: BTreeMap<String, Vec<ImportRef>>,
        builtins: Builtins,
    }

    impl Fixture {
        fn new(files: &[(&str, Vec<ImportRef>)]) -> Fixture {
            let mut universe: Vec<String> = files.iter().map(|(f, _)| f.to_string()).collect();
            universe.sort();
            Fixture {
                universe,
                imports: files
                    .iter()
                    .map(|(f, i)| (f.to_string(), i.clone()))
                    .collect(),
                builtins: Builtins::parse("sys\ngc\ntime extensible\nos extensible\n"),
            }
        }

        fn scan(
            &self,
        ) -> impl Fn(&[String]) -> Result<Vec<Vec<ImportRef>>, BuildError> + Sync + '_ {
            |rels| {
                Ok(rels
                    .iter()
                    .map(|r| self.imports.get(r).cloned().unwrap_or_default())
                    .collect())
            }
        }

        fn with_graph<T>(&self, tests: bool, f: impl FnOnce(&Graph<'_>) -> T) -> T {
            let scan = self.scan();
            f(&Graph {
                universe: &self.universe,
                scan: &scan,
                builtins: &self.builtins,
                tests,
                target: "micropython",
            })
        }

        fn select(&self, names: &[&str], tests: bool) -> Selection {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            self.with_graph(tests, |g| g.select(&names).unwrap())
        }

        fn select_all(&self, tests: bool) -> Selection {
            self.with_graph(tests, |g| g.select_all().unwrap())
        }
    }

    fn files(sel: &Selection) -> Vec<&str> {
        sel.files.keys().map(String::as_str).collect()
    }

    #[test]
    fn closure_follows_packages_relative_and_submodule_imports() {
        let fx = Fixture::new(&[
            (
                "app.py",
                vec![
                    imp(1, "pkg.sub", 0, &[], false),
                    imp(2, "sys", 0, &[], false),
                ],
            ),
            ("pkg/__init__.py", vec![imp(1, "", 1, &["helper"], false)]),
            ("pkg/helper.py", vec![imp(3, "util", 2, &["x"], false)]),
            ("pkg/sub.py", vec![imp(1, "plain", 0, &["attr"], false)]),
            ("plain.py", vec![]),
            ("unrelated.py", vec![]),
        ]);
        let sel = fx.select(&["app"], false);
        assert_eq!(
            files(&sel),
            [
                "app.py",
                "pkg/__init__.py",
                "pkg/helper.py",
                "pkg/sub.py",
                "plain.py"
            ]
        );
        // `from ..util import x` in pkg/helper.py goes above the top-level package.
        assert_eq!(
            sel.warnings,
            [BuildWarning::RelativeBeyondTop {
                path: "pkg/helper.py".into(),
                line: 3,
                col: 1,
                level: 2
            }]
        );
        assert_eq!(
            sel.chain("plain.py"),
            [
                Reason::Imported {
                    by: "pkg/sub.py".into(),
                    line: 1
                },
                Reason::Imported {
                    by: "app.py".into(),
                    line: 1
                },
                Reason::Requested { name: "app".into() },
            ]
        );
    }

    #[test]
    fn builtins_missing_and_optional_imports() {
        let fx = Fixture::new(&[
            (
                "m.py",
                vec![
                    imp(1, "gc", 0, &[], false),
                    imp(2, "time", 0, &[], false),
                    imp(3, "os.path", 0, &[], false),
                    imp(4, "fast", 0, &[], true),
                    imp(5, "missing", 0, &[], false),
                    imp(6, "pkg.nothere", 0, &[], false),
                ],
            ),
            ("time.py", vec![imp(1, "gc", 0, &[], false)]),
            ("pkg/__init__.py", vec![]),
        ]);
        let sel = fx.select(&["m"], false);
        // The ported time.py shadows the extensible built-in; os stays the firmware's.
        assert_eq!(files(&sel), ["m.py", "pkg/__init__.py", "time.py"]);
        let unknown: Vec<(usize, &str)> = sel
            .warnings
            .iter()
            .filter_map(|w| match w {
                BuildWarning::UnknownImport { line, module, .. } => Some((*line, module.as_str())),
                _ => None,
            })
            .collect();
        assert_eq!(unknown, [(5, "missing"), (6, "pkg.nothere")]);
    }

    #[test]
    fn namespace_packages_resolve_without_warning() {
        let fx = Fixture::new(&[
            (
                "m.py",
                vec![
                    imp(1, "ns", 0, &["sub"], false),
                    imp(2, "ns.deep.leaf", 0, &[], false),
                    imp(3, "ns", 0, &["absent"], false),
                    imp(4, "nsx", 0, &[], false),
                ],
            ),
            ("ns/sub.py", vec![]),
            ("ns/deep/leaf.py", vec![]),
            ("nsxy.py", vec![]),
        ]);
        let sel = fx.select(&["m"], false);
        assert_eq!(files(&sel), ["m.py", "ns/deep/leaf.py", "ns/sub.py"]);
        let unknown: Vec<&str> = sel
            .warnings
            .iter()
            .filter_map(|w| match w {
                BuildWarning::UnknownImport { module, .. } => Some(module.as_str()),
                _ => None,
            })
            .collect();
        // `from ns import absent` may name an attribute, as for regular packages; `nsx` is
        // only a prefix of a file name, not a folder.
        assert_eq!(unknown, ["nsx"]);
    }

    #[test]
    fn tests_only_with_the_flag() {
        let fx = Fixture::new(&[
            ("fnmatch.py", vec![]),
            (
                "test/test_fnmatch.py",
                vec![imp(1, "test", 0, &["support"], false)],
            ),
            ("test/__init__.py", vec![]),
            ("test/support/__init__.py", vec![]),
            ("u/__init__.py", vec![]),
            ("u/test/__init__.py", vec![]),
            ("x.py", vec![imp(4, "test.support", 0, &[], false)]),
        ]);
        assert_eq!(files(&fx.select(&["fnmatch"], false)), ["fnmatch.py"]);
        assert_eq!(
            files(&fx.select(&["fnmatch"], true)),
            [
                "fnmatch.py",
                "test/__init__.py",
                "test/support/__init__.py",
                "test/test_fnmatch.py"
            ]
        );
        assert_eq!(files(&fx.select(&["u"], false)), ["u/__init__.py"]);
        let sel = fx.select(&["x"], false);
        assert_eq!(files(&sel), ["x.py"]);
        assert!(matches!(
            sel.warnings[0],
            BuildWarning::TestImportSkipped { line: 4, .. }
        ));
        let err = fx
            .with_graph(false, |g| g.select(&["test.test_fnmatch".to_string()]))
            .unwrap_err();
        assert!(err.to_string().contains("--tests"), "{err}");
        let all = fx.select_all(false);
        assert_eq!(files(&all), ["fnmatch.py", "u/__init__.py", "x.py"]);
    }

    #[test]
    fn fixed_builtins_are_never_shipped() {
        let fx = Fixture::new(&[
            ("sys.py", vec![]),
            ("a.py", vec![imp(1, "sys", 0, &[], false)]),
        ]);
        let all = fx.select_all(false);
        assert_eq!(files(&all), ["a.py"]);
        assert!(
            matches!(&all.warnings[0], BuildWarning::FixedBuiltin { path, .. } if path == "sys.py")
        );
        let sel = fx.select(&["a"], false);
        assert_eq!(files(&sel), ["a.py"]);
        assert!(sel.warnings.is_empty(), "{:?}", sel.warnings);
    }

    #[test]
    fn test_file_detection() {
        assert!(is_test_file("test/test_os.py"));
        assert!(is_test_file("unittest/test/test_case.py"));
        assert!(is_test_file("lib2to3/tests/data/x.py"));
        assert!(!is_test_file("test.py"));
        assert!(!is_test_file("unittest/case.py"));
    }
}
