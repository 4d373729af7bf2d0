//! The one adapter to `rustpython-parser`: the import statements of a Python source.
//!
//! The build needs a CPython-side view of the effective sources (the port is still CPython 3.4
//! code) only to find imports, so the parser's AST never leaves this file: callers get
//! [`ImportRef`]s and [`SyntaxProblem`]s. rustpython-parser stopped at 0.4.0 and is pinned with
//! `=`; replacing it (ruff's parser, or the project's own MicroPython front end) touches only
//! this file.

use rustpython_parser::ast::{self, Expr, Stmt};
use rustpython_parser::text_size::TextSize;
use serde::{Deserialize, Serialize};

/// One import statement's target, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRef {
    /// 1-based line of the statement.
    pub line: usize,
    /// 1-based column (characters) of the statement.
    pub col: usize,
    /// The dotted module: `a.b` for `import a.b` and `from a.b import x`; empty for
    /// `from . import x`.
    pub module: String,
    /// Leading dots of a relative import (0 for absolute ones).
    pub level: u32,
    /// The names of `from … import names` (`*` kept as is); `None` for `import a.b`.
    pub names: Option<Vec<String>>,
    /// Inside the body of a `try` whose handlers catch `ImportError` (or everything), or in a
    /// branch of an `if` on the platform (`sys.implementation`, `sys.platform`, `os.name`,
    /// `hasattr(sys, …)`): the
    /// module may be missing without that being a mistake. It is still followed when present.
    pub optional: bool,
}

/// Why a source could not be read as Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxProblem {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub col: usize,
    /// The parser's message.
    pub message: String,
}

/// Bumped whenever [`scan`]'s output for the same source could change, so that cached scans
/// from an older portlib are not reused.
pub const SCANNER_VERSION: u32 = 2;

/// Every import statement in `source`, wherever it is (module level, functions, classes, all
/// branches of `if`/`try`/loops), in source order. `name` only labels parser errors.
///
/// Sources that are not UTF-8 are read as Latin-1: CPython 3.4 allows a coding declaration,
/// module names are ASCII either way, and line/column numbers stay right.
pub fn scan(source: &[u8], name: &str) -> Result<Vec<ImportRef>, SyntaxProblem> {
    let text: String = match std::str::from_utf8(source) {
        Ok(s) => s.strip_prefix('\u{feff}').unwrap_or(s).to_owned(),
        Err(_) => source.iter().map(|&b| char::from(b)).collect(),
    };
    let lines = LineIndex::new(&text);
    let module =
        rustpython_parser::parse(&text, rustpython_parser::Mode::Module, name).map_err(|e| {
            let (line, col) = lines.position(&text, e.offset);
            SyntaxProblem {
                line,
                col,
                message: e.error.to_string(),
            }
        })?;
    let body = match module {
        ast::Mod::Module(m) => m.body,
        // Mode::Module only ever yields a module.
        _ => Vec::new(),
    };
    let mut walker = Walker {
        text: &text,
        lines: &lines,
        out: Vec::new(),
    };
    walker.block(&body, false);
    walker.out.sort_by_key(|r| (r.line, r.col));
    Ok(walker.out)
}

struct Walker<'a> {
    text: &'a str,
    lines: &'a LineIndex,
    out: Vec<ImportRef>,
}

impl Walker<'_> {
    fn block(&mut self, body: &[Stmt], optional: bool) {
        for stmt in body {
            self.stmt(stmt, optional);
        }
    }

    fn at(&self, offset: TextSize) -> (usize, usize) {
        self.lines.position(self.text, offset)
    }

    fn stmt(&mut self, stmt: &Stmt, optional: bool) {
        match stmt {
            Stmt::Import(s) => {
                let (line, col) = self.at(s.range.start());
                for alias in &s.names {
                    self.out.push(ImportRef {
                        line,
                        col,
                        module: alias.name.as_str().to_owned(),
                        level: 0,
                        names: None,
                        optional,
                    });
                }
            }
            Stmt::ImportFrom(s) => {
                let (line, col) = self.at(s.range.start());
                self.out.push(ImportRef {
                    line,
                    col,
                    module: s
                        .module
                        .as_ref()
                        .map(|m| m.as_str().to_owned())
                        .unwrap_or_default(),
                    level: s.level.as_ref().map_or(0, |l| l.to_u32()),
                    names: Some(s.names.iter().map(|a| a.name.as_str().to_owned()).collect()),
                    optional,
                });
            }
            Stmt::FunctionDef(s) => self.block(&s.body, optional),
            Stmt::AsyncFunctionDef(s) => self.block(&s.body, optional),
            Stmt::ClassDef(s) => self.block(&s.body, optional),
            Stmt::For(s) => {
                self.block(&s.body, optional);
                self.block(&s.orelse, optional);
            }
            Stmt::AsyncFor(s) => {
                self.block(&s.body, optional);
                self.block(&s.orelse, optional);
            }
            Stmt::While(s) => {
                self.block(&s.body, optional);
                self.block(&s.orelse, optional);
            }
            Stmt::If(s) => {
                let optional = optional || tests_platform(&s.test);
                self.block(&s.body, optional);
                self.block(&s.orelse, optional);
            }
            Stmt::With(s) => self.block(&s.body, optional),
            Stmt::AsyncWith(s) => self.block(&s.body, optional),
            Stmt::Match(s) => {
                for case in &s.cases {
                    self.block(&case.body, optional);
                }
            }
            Stmt::Try(s) => self.try_stmt(&s.body, &s.handlers, &s.orelse, &s.finalbody, optional),
            Stmt::TryStar(s) => {
                self.try_stmt(&s.body, &s.handlers, &s.orelse, &s.finalbody, optional)
            }
            _ => {}
        }
    }

    fn try_stmt(
        &mut self,
        body: &[Stmt],
        handlers: &[ast::ExceptHandler],
        orelse: &[Stmt],
        finalbody: &[Stmt],
        optional: bool,
    ) {
        let guarded = handlers.iter().any(|h| {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            h.type_.as_deref().is_none_or(catches_import_error)
        });
        self.block(body, optional || guarded);
        for h in handlers {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            self.block(&h.body, optional);
        }
        self.block(orelse, optional);
        self.block(finalbody, optional);
    }
}

/// Whether an `except` clause's type expression catches a failed import.
fn catches_import_error(expr: &Expr) -> bool {
    const CATCHING: [&str; 4] = [
        "ImportError",
        "ModuleNotFoundError",
        "Exception",
        "BaseException",
    ];
    match expr {
        Expr::Name(n) => CATCHING.contains(&n.id.as_str()),
        Expr::Attribute(a) => CATCHING.contains(&a.attr.as_str()),
        Expr::Tuple(t) => t.elts.iter().any(catches_import_error),
        _ => false,
    }
}

/// Whether an `if` test looks at the platform (`sys.implementation`, `sys.platform`,
/// `os.name`, `hasattr(sys, …)`): its branches are for different systems, so a module one of them imports may be
/// missing here without that being a mistake.
fn tests_platform(expr: &Expr) -> bool {
    match expr {
        Expr::Attribute(a) => {
            let on = |module: &str| matches!(&*a.value, Expr::Name(n) if n.id.as_str() == module);
            (on("sys") && matches!(a.attr.as_str(), "implementation" | "platform"))
                || (on("os") && a.attr.as_str() == "name")
                || tests_platform(&a.value)
        }
        Expr::Compare(c) => tests_platform(&c.left) || c.comparators.iter().any(tests_platform),
        Expr::BoolOp(b) => b.values.iter().any(tests_platform),
        Expr::UnaryOp(u) => tests_platform(&u.operand),
        // `hasattr(sys, "print_exception")`: a feature test telling MicroPython from CPython.
        Expr::Call(c) => {
            let hasattr_sys = matches!(&*c.func, Expr::Name(f) if f.id.as_str() == "hasattr")
                && matches!(c.args.first(), Some(Expr::Name(n)) if n.id.as_str() == "sys");
            hasattr_sys || tests_platform(&c.func) || c.args.iter().any(tests_platform)
        }
        Expr::Subscript(s) => tests_platform(&s.value),
        _ => false,
    }
}

/// Byte offsets of line starts, to turn parser offsets into 1-based line and character column.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    fn position(&self, text: &str, offset: TextSize) -> (usize, usize) {
        let offset = usize::from(offset).min(text.len());
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        let col = text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, col + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (module, level, names, optional, line)
    type Row = (String, u32, Option<Vec<String>>, bool, usize);

    fn imports(src: &str) -> Vec<Row> {
        scan(src.as_bytes(), "t.py")
            .unwrap()
            .into_iter()
            .map(|r| (r.module, r.level, r.names, r.optional, r.line))
            .collect()
    }

    fn names(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn finds_imports_everywhere() {
        let src = "\
import os, a.b.c as d
from . import x
from ..pkg.mod import y, z
def f():
    import inner
class C:
    def m(self):
        from deep import *
if sys.implementation.name == 'micropython':
    import ustruct
else:
    import struct
if x:
    import plain
";
        assert_eq!(
            imports(src),
            vec![
                ("os".into(), 0, None, false, 1),
                ("a.b.c".into(), 0, None, false, 1),
                ("".into(), 1, names(&["x"]), false, 2),
                ("pkg.mod".into(), 2, names(&["y", "z"]), false, 3),
                ("inner".into(), 0, None, false, 5),
                ("deep".into(), 0, names(&["*"]), false, 8),
                ("ustruct".into(), 0, None, true, 10),
                ("struct".into(), 0, None, true, 12),
                ("plain".into(), 0, None, false, 14),
            ]
        );
    }

    #[test]
    fn try_import_error_marks_the_body_optional_not_the_fallback() {
        let src = "\
try:
    import fast
except ImportError:
    import slow
try:
    import other
except (ValueError, ImportError):
    pass
try:
    import strict
except ValueError:
    pass
try:
    import anything
except:
    pass
if 'java' in sys.platform or not os.name.startswith('nt'):
    import java
if hasattr(sys, 'print_exception'):
    pass
else:
    import traceback
";
        let got: Vec<(String, bool)> = imports(src).into_iter().map(|i| (i.0, i.3)).collect();
        assert_eq!(
            got,
            [
                ("fast".to_string(), true),
                ("slow".to_string(), false),
                ("other".to_string(), true),
                ("strict".to_string(), false),
                ("anything".to_string(), true),
                ("java".to_string(), true),
                ("traceback".to_string(), true),
            ]
        );
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = scan(b"x = 1\nif x\n    pass\n", "t.py").unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        assert!(err.col >= 1, "{err:?}");
        assert!(!err.message.is_empty());
    }

    #[test]
    fn columns_count_characters_and_latin1_is_read() {
        let r = scan("x = 'é'; import a\n".as_bytes(), "t.py").unwrap();
        assert_eq!((r[0].line, r[0].col), (1, 10));
        let latin1 = b"# -*- coding: latin-1 -*-\ns = '\xe9'\nimport b\n";
        let r = scan(latin1, "t.py").unwrap();
        assert_eq!((r[0].module.as_str(), r[0].line), ("b", 3));
    }
}
