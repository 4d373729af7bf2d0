//! The compile pass: MicroPython's concrete parse tree to a `.mpy` file, byte-identical to
//! `mpy-cross` 1.29 (mpy-format §3).
//!
//! [`compile`] parses the source, then drives the [`Emitter`] through the pass sequence of
//! §3.1: pass 1 ([`Pass::Scope`]) over every scope in breadth-first discovery order (which
//! discovers identifiers and child scopes and fills the qstr/constant tables in "phase A"
//! order), closure analysis and slot numbering ([`crate::mpy::scope`]), then per scope the
//! stack-size, code-size and repeated emit passes.
//!
//! The tree walk is split by statement family: [`stmt`] (simple and compound statements),
//! [`expr`] (expressions, calls, displays), [`func`] (defs, lambdas, classes, comprehensions
//! and the bodies of their scopes) and [`trystmt`] (try/with and the unwinding rules).
//! Anything this compiler cannot yet reproduce byte for byte is refused with
//! [`CompileError::Unsupported`] instead of producing different bytes.

mod asyncstmt;
mod expr;
mod func;
mod stmt;
mod trystmt;
mod walker;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use crate::mpy::emit::{EmitError, Emitter, Label, Pass, PassEnd, ScopeId};
use crate::mpy::format::{self, Target};
use crate::mpy::parse::{self, Const, FloatOps, Node, ParseOptions, Rule, StructNode};
use crate::mpy::scope::{IdKind, Scope, ScopeKind, ScopeList};

/// Options of one compile, mirroring `mpy-cross`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileOptions {
    /// Which compiler to imitate (magic byte, qstr pool, CircuitPython differences).
    pub target: Target,
    /// `-O` level: ≥1 drops asserts and makes `__debug__` false; ≥3 drops line numbers.
    pub opt_level: u8,
    /// `-msmall-int-bits` (default 31).
    pub small_int_bits: u8,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            target: Target::MicroPython,
            opt_level: 0,
            small_int_bits: 31,
        }
    }
}

/// Why a source did not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// An error mpy-cross reports too (`SyntaxError`, `IndentationError`, …).
    #[error("{exception}: {message}")]
    Python {
        /// The exception name mpy-cross prints.
        exception: String,
        /// Its message.
        message: String,
        /// 1-based line (0 when mpy-cross prints none).
        line: u32,
        /// 1-based column when known.
        col: Option<u32>,
    },
    /// A construct this compiler does not reproduce byte for byte yet.
    #[error("unsupported construct {construct} (portlib cannot compile it yet)")]
    Unsupported {
        /// What it is.
        construct: &'static str,
        /// Line of the nearest enclosing statement or expression node.
        line: u32,
    },
    /// An internal inconsistency between the compile pass and the emitter.
    #[error("internal compiler error: {0}")]
    Internal(#[from] EmitError),
}

impl CompileError {
    /// The line to report (0 when unknown).
    pub fn line(&self) -> u32 {
        match self {
            CompileError::Python { line, .. } | CompileError::Unsupported { line, .. } => *line,
            CompileError::Internal(_) => 0,
        }
    }

    /// The column to report, when known.
    pub fn col(&self) -> Option<u32> {
        match self {
            CompileError::Python { col, .. } => *col,
            _ => None,
        }
    }

    /// The exception kind (`SyntaxError`, …), `Unsupported` or `InternalError`.
    pub fn kind(&self) -> &str {
        match self {
            CompileError::Python { exception, .. } => exception,
            CompileError::Unsupported { .. } => "Unsupported",
            CompileError::Internal(_) => "InternalError",
        }
    }

    /// The message without the kind.
    pub fn message(&self) -> String {
        match self {
            CompileError::Python { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }
}

impl From<parse::ParseError> for CompileError {
    fn from(e: parse::ParseError) -> Self {
        let text = e.kind.to_string();
        let (exception, message) = match text.split_once(": ") {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None => (text.clone(), String::new()),
        };
        let located = e.has_location();
        CompileError::Python {
            exception,
            message,
            line: if located { e.line } else { 0 },
            col: located.then_some(e.col),
        }
    }
}

/// The x87-exact float literal parser plugged into the front end.
struct X87Floats;

impl FloatOps for X87Floats {
    fn parse(&self, text: &[u8]) -> f64 {
        crate::mpy::float::parse_float_literal(text).unwrap_or_else(|_| {
            String::from_utf8_lossy(text)
                .parse::<f64>()
                .unwrap_or(f64::NAN)
        })
    }
}

/// Compile Python source (raw bytes, as mpy-cross reads them) to `.mpy` bytes.
/// `source_name` is stored as qstr 0 (with `\` turned into `/`, as mpy-cross does).
pub fn compile(
    source: &[u8],
    source_name: &str,
    opts: &CompileOptions,
) -> Result<Vec<u8>, CompileError> {
    let name = source_name.replace('\\', "/");
    let popts = ParseOptions {
        target: match opts.target {
            Target::MicroPython => parse::Target::MicroPython,
            Target::CircuitPython => parse::Target::CircuitPython,
        },
        opt_level: opts.opt_level,
        small_int_bits: u32::from(opts.small_int_bits),
        source_name: name.as_bytes(),
        float_ops: &X87Floats,
    };
    let tree = parse::parse(source, &popts)?;
    let opts = *opts;
    // The tree walk recurses once per nesting level, so it runs where the stack is large.
    walker::on_large_stack(move || -> Result<Vec<u8>, CompileError> {
        let mut c = Compiler::new(name.as_bytes(), &opts);
        let file = c
            .run(&tree)
            .and_then(|()| Ok(c.em.finish(0)?))
            .map_err(|e| match e {
                // mpy-cross's name for a jump that does not fit once the code is final; the
                // same files fail (tests/fixtures/mpy-nesting: long bodies, nested blocks).
                CompileError::Internal(EmitError::JumpTooFar { .. }) => CompileError::Python {
                    exception: "RuntimeError".into(),
                    message: "bytecode overflow".into(),
                    line: 0,
                    col: None,
                },
                other => other,
            })?;
        // mpy-cross checks its stack while saving, after the whole file compiled: only
        // constants that reach the file count, and the error has no line.
        let deepest = file.objects.iter().map(format::Const::number_depth).max();
        if deepest.unwrap_or(0) > format::constant::MAX_SAVED_NUMBER_DEPTH {
            return Err(CompileError::Python {
                exception: "RuntimeError".into(),
                message: "maximum recursion depth exceeded".into(),
                line: 0,
                col: None,
            });
        }
        Ok(file.to_bytes())
    })
}

/// Loop context for `break`/`continue`.
#[derive(Debug, Clone, Copy)]
struct LoopLabels {
    brk: Label,
    cont: Label,
    from_for: bool,
    except_level: u32,
}

/// The state of one compile.
struct Compiler<'a> {
    em: Emitter,
    opts: CompileOptions,
    scopes: ScopeList,
    /// The parse tree's root (the module scope's node).
    root: Option<&'a Node>,
    /// The def/class/lambda/comprehension node of each scope (None for the module).
    scope_structs: Vec<Option<&'a StructNode>>,
    /// Scope created for a def/class/lambda/comprehension node, keyed by node address.
    node_scope: HashMap<usize, ScopeId>,
    cur: ScopeId,
    pass: Pass,
    loop_labels: Option<LoopLabels>,
    except_level: u32,
    /// Line of the innermost struct node being compiled (for error positions).
    line: u32,
}

fn node_key(s: &StructNode) -> usize {
    s as *const StructNode as usize
}

/// Children of a struct node (empty for leaves).
fn kids(n: &Node) -> &[Node] {
    match n {
        Node::Struct(s) => &s.children,
        _ => &[],
    }
}

/// `n` as a list: the children of a `rule` node, nothing for Null, else `n` itself.
fn list_of(n: &Node, rule: Rule) -> Vec<&Node> {
    match n {
        Node::Null => Vec::new(),
        Node::Struct(s) if s.rule == rule => s.children.iter().collect(),
        other => vec![other],
    }
}

fn id_of(n: &Node) -> Option<&[u8]> {
    match n {
        Node::Id(s) => Some(s),
        _ => None,
    }
}

fn is_const_true(n: &Node) -> bool {
    parse::const_truth(n) == Some(true)
}

fn is_const_false(n: &Node) -> bool {
    parse::const_truth(n) == Some(false)
}

/// A parse-tree constant as a constant-table entry, with the [`Float::nan_id`] of each NaN
/// in it appended to `nan_ids` (depth-first, as `ConstTable::add_object` takes them).
///
/// [`Float::nan_id`]: crate::mpy::parse::Float
fn const_entry(c: &Const, nan_ids: &mut Vec<u32>) -> format::Const {
    match c {
        Const::None => format::Const::None,
        Const::False => format::Const::False,
        Const::True => format::Const::True,
        Const::Ellipsis => format::Const::Ellipsis,
        Const::Int(i) => format::Const::Int(i.to_string()),
        Const::Float(f) | Const::Complex(f) => {
            if f.value.is_nan() {
                nan_ids.push(f.nan_id);
            }
            if matches!(c, Const::Float(_)) {
                format::Const::Float(crate::mpy::float::repr_float(f.value))
            } else {
                format::Const::Complex(crate::mpy::float::repr_complex_imag(f.value))
            }
        }
        Const::Str(s) => format::Const::Str(s.clone()),
        Const::Bytes(b) => format::Const::Bytes(b.clone()),
        Const::Tuple(items) => format::Const::Tuple(
            items
                .iter()
                .map(|item| const_entry(item, nan_ids))
                .collect(),
        ),
    }
}

type R = Result<(), CompileError>;

impl<'a> Compiler<'a> {
    fn new(source_name: &[u8], opts: &CompileOptions) -> Self {
        let mut em = Emitter::new(source_name, opts.target);
        em.set_small_int_bits(opts.small_int_bits);
        Compiler {
            em,
            opts: *opts,
            scopes: ScopeList::default(),
            root: None,
            scope_structs: Vec::new(),
            node_scope: HashMap::new(),
            cur: 0,
            pass: Pass::Scope,
            loop_labels: None,
            except_level: 0,
            line: 1,
        }
    }

    fn run(&mut self, root: &'a Node) -> R {
        self.scopes
            .push(Scope::new(ScopeKind::Module, None, b"<module>".to_vec()));
        self.root = Some(root);
        self.scope_structs.push(None);
        let mut i = 0;
        while i < self.scopes.scopes.len() {
            self.compile_scope(i, Pass::Scope)?;
            self.scopes.finish_scope_pass(i);
            i += 1;
        }
        for i in 0..self.scopes.scopes.len() {
            self.scopes.compute_slots(i);
        }
        for i in 0..self.scopes.scopes.len() {
            self.compile_scope(i, Pass::StackSize)?;
            self.compile_scope(i, Pass::CodeSize)?;
            while self.compile_scope(i, Pass::Emit)? == PassEnd::RepeatEmit {}
        }
        Ok(())
    }

    fn compile_scope(&mut self, id: ScopeId, pass: Pass) -> Result<PassEnd, CompileError> {
        self.cur = id;
        self.pass = pass;
        self.loop_labels = None;
        self.except_level = 0;
        let info = self.scopes.scopes[id].info();
        self.em.begin_pass(id, pass, &info);
        self.compile_scope_body(id)?;
        Ok(self.em.end_pass()?)
    }

    fn scope(&self) -> &Scope {
        &self.scopes.scopes[self.cur]
    }

    fn unsupported(&self, construct: &'static str) -> CompileError {
        CompileError::Unsupported {
            construct,
            line: self.line,
        }
    }

    fn syntax_error(&self, node: &Node, message: &str) -> CompileError {
        let line = match node {
            Node::Struct(s) if s.line > 0 => s.line,
            _ => self.line,
        };
        CompileError::Python {
            exception: "SyntaxError".to_string(),
            message: message.to_string(),
            line,
            col: None,
        }
    }

    fn set_line(&mut self, line: u32) {
        if line > 0 {
            self.line = line;
        }
        if self.opts.opt_level < 3 {
            self.em.set_source_line(u64::from(line));
        }
    }

    // ----- names -----

    fn load_id(&mut self, name: &[u8]) {
        if self.pass == Pass::Scope {
            self.scopes.note_load(self.cur, name);
            return;
        }
        let (kind, slot) = self.resolve(name);
        match kind {
            IdKind::GlobalExplicit => self.em.load_global(name),
            IdKind::Local => self.em.load_fast(slot),
            IdKind::Cell | IdKind::Free => self.em.load_deref(slot),
            _ => self.em.load_name(name),
        }
    }

    fn store_id(&mut self, name: &[u8]) {
        if self.pass == Pass::Scope {
            self.scopes.note_store(self.cur, name);
            return;
        }
        let (kind, slot) = self.resolve(name);
        match kind {
            IdKind::GlobalExplicit => self.em.store_global(name),
            IdKind::Local => self.em.store_fast(slot),
            IdKind::Cell | IdKind::Free => self.em.store_deref(slot),
            _ => self.em.store_name(name),
        }
    }

    fn delete_id(&mut self, name: &[u8]) {
        if self.pass == Pass::Scope {
            self.scopes.note_store(self.cur, name);
            return;
        }
        let (kind, slot) = self.resolve(name);
        match kind {
            IdKind::GlobalExplicit => self.em.delete_global(name),
            IdKind::Local => self.em.delete_fast(slot),
            IdKind::Cell | IdKind::Free => self.em.delete_deref(slot),
            _ => self.em.delete_name(name),
        }
    }

    fn resolve(&self, name: &[u8]) -> (IdKind, u32) {
        let s = self.scope();
        match s.find(name) {
            Some(i) => (s.ids[i].kind, s.ids[i].slot),
            None => (IdKind::GlobalImplicit, 0),
        }
    }

    // ----- generic node compilation -----

    fn compile_node(&mut self, n: &'a Node) -> R {
        match n {
            Node::Null => {}
            Node::SmallInt(v) => self.em.load_const_small_int(*v),
            Node::Id(name) => self.load_id(name),
            Node::Str(s) => self.em.load_const_string(s),
            Node::Token(k) => self.load_token(*k)?,
            Node::Const(c) => {
                self.set_line(c.line);
                let mut nan_ids = Vec::new();
                let entry = const_entry(&c.value, &mut nan_ids);
                self.em.load_const_object(entry, nan_ids);
            }
            Node::Struct(s) => {
                let saved = self.line;
                self.set_line(s.line);
                self.compile_struct(n, s)?;
                self.line = saved;
            }
        }
        Ok(())
    }

    fn load_token(&mut self, k: crate::mpy::lexer::TokenKind) -> R {
        use crate::mpy::lexer::TokenKind as K;
        match k {
            K::KwNone => self.em.load_const_none(),
            K::KwTrue => self.em.load_const_bool(true),
            K::KwFalse => self.em.load_const_bool(false),
            K::Ellipsis => self.em.load_const_obj(format::Const::Ellipsis),
            K::Newline => {}
            _ => return Err(self.unsupported("operator token as value")),
        }
        Ok(())
    }

    fn compile_all(&mut self, s: &'a StructNode) -> R {
        for c in &s.children {
            self.compile_node(c)?;
        }
        Ok(())
    }

    fn compile_struct(&mut self, n: &'a Node, s: &'a StructNode) -> R {
        use Rule as Ru;
        match s.rule {
            Ru::file_input
            | Ru::file_input_2
            | Ru::suite_block_stmts
            | Ru::simple_stmt_2
            | Ru::pass_stmt => self.compile_all(s),
            Ru::atom_expr_trailers => self.compile_all(s),
            Ru::expr_stmt => self.expr_stmt(s),
            Ru::del_stmt => self.del_stmt(s),
            Ru::break_stmt | Ru::continue_stmt => self.break_continue(n, s.rule == Ru::break_stmt),
            Ru::return_stmt => self.return_stmt(n, s),
            Ru::yield_stmt => {
                self.compile_node(&s.children[0])?;
                self.em.pop_top();
                Ok(())
            }
            Ru::raise_stmt => self.raise_stmt(s),
            Ru::import_name => self.import_name(s),
            Ru::import_from => self.import_from(n, s),
            Ru::global_stmt | Ru::nonlocal_stmt => self.global_nonlocal(n, s),
            Ru::assert_stmt => self.assert_stmt(s),
            Ru::if_stmt => self.if_stmt(s),
            Ru::while_stmt => self.while_stmt(s),
            Ru::for_stmt => self.for_stmt(s),
            Ru::try_stmt => self.try_stmt(s),
            Ru::with_stmt => self.with_stmt(s),
            Ru::funcdef => self.funcdef(s, false),
            Ru::classdef => self.classdef(s),
            Ru::decorated => self.decorated(s),
            Ru::async_stmt => self.async_stmt(s),
            Ru::testlist_star_expr | Ru::exprlist | Ru::testlist | Ru::subscriptlist => {
                self.compile_all(s)?;
                self.em
                    .build(crate::mpy::emit::BuildKind::Tuple, s.children.len() as u32);
                Ok(())
            }
            Ru::test_if_expr => self.test_if_expr(s),
            Ru::lambdef | Ru::lambdef_nocond => self.lambdef(s),
            Ru::or_test | Ru::and_test => self.or_and_test(s),
            Ru::not_test_2 => {
                self.compile_node(&s.children[0])?;
                self.em.unary_op(crate::mpy::opcode::UnaryOp::Not);
                Ok(())
            }
            Ru::comparison => self.comparison(s),
            Ru::star_expr => Err(self.syntax_error(n, "*x must be assignment target")),
            Ru::expr | Ru::xor_expr | Ru::and_expr => self.bitwise(s),
            Ru::shift_expr | Ru::arith_expr | Ru::term => self.term(s),
            Ru::factor_2 => self.factor(s),
            Ru::power => {
                self.compile_all(s)?;
                self.em.binary_op(expr::binop("**"));
                Ok(())
            }
            Ru::atom_expr_normal => self.atom_expr(s),
            Ru::atom_expr_await => self.atom_expr_await(n, s),
            Ru::atom_paren => self.atom_paren(s),
            Ru::atom_bracket => self.atom_bracket(s),
            Ru::atom_brace => self.atom_brace(s, true),
            Ru::trailer_paren => self.call_args(&s.children[0], false, 0),
            Ru::trailer_bracket => {
                self.compile_node(&s.children[0])?;
                self.em.load_subscr();
                Ok(())
            }
            Ru::trailer_period => {
                let name = id_of(&s.children[0]).unwrap_or_default();
                self.em.load_attr(name);
                Ok(())
            }
            Ru::subscript_2 | Ru::subscript_3 => self.subscript(s),
            Ru::dictorsetmaker_item => {
                self.compile_node(&s.children[1])?;
                self.compile_node(&s.children[0])
            }
            Ru::yield_expr => self.yield_expr(n, s),
            Ru::namedexpr_test => self.namedexpr(&s.children[0], &s.children[1]),
            _ => Err(self.unsupported(s.rule.name())),
        }
    }

    // ----- loops -----

    fn break_continue(&mut self, n: &Node, is_break: bool) -> R {
        let Some(l) = self.loop_labels else {
            return Err(self.syntax_error(n, "'break'/'continue' outside loop"));
        };
        let depth = self.except_level - l.except_level;
        let target = if is_break { l.brk } else { l.cont };
        let from_for = is_break && l.from_for;
        if depth == 0 {
            if from_for {
                for _ in 0..4 {
                    self.em.pop_top();
                }
                // The iterator pops are raw bytes in mpy-cross: they do not lower the depth.
                self.em.adjust_stack(4);
            }
            self.em.jump(target);
        } else {
            self.em.unwind_jump(target, depth as u8, from_for);
        }
        Ok(())
    }

    /// Run `body` with fresh break/continue labels; returns (break, continue) labels.
    fn new_loop(&mut self, from_for: bool) -> (Option<LoopLabels>, LoopLabels) {
        let brk = self.em.new_label();
        let cont = self.em.new_label();
        let l = LoopLabels {
            brk,
            cont,
            from_for,
            except_level: self.except_level,
        };
        (self.loop_labels.replace(l), l)
    }
}
