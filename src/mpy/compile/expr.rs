//! Expressions: operators, conditions as jump chains, attribute/subscript/call trailers,
//! `super()`, displays, slices, `yield`, `await` and `:=` (mpy-format §3.6.3, §3.6.6,
//! §3.6.7, §3.6.16).

use super::{id_of, is_const_false, is_const_true, kids, list_of, Compiler, R};
use crate::mpy::emit::{BuildKind, Label, Pass};
use crate::mpy::lexer::TokenKind as K;
use crate::mpy::opcode::{BinaryOp, UnaryOp};
use crate::mpy::parse::{Node, Rule, StructNode};
use crate::mpy::scope::{IdKind, ScopeKind, FLAG_PARAM, SCOPE_GENERATOR};

/// The binary operator spelled `sym`; the symbols come from a fixed table in this module.
pub(super) fn binop(sym: &str) -> BinaryOp {
    BinaryOp::from_symbol(sym).expect("operator symbols come from a fixed table")
}

fn token_op(k: K) -> Option<&'static str> {
    Some(match k {
        K::OpStar => "*",
        K::OpAt => "@",
        K::OpSlash => "/",
        K::OpPercent => "%",
        K::OpDblSlash => "//",
        K::OpPlus => "+",
        K::OpMinus => "-",
        K::OpDblLess => "<<",
        K::OpDblMore => ">>",
        K::OpLess => "<",
        K::OpMore => ">",
        K::OpDblEqual => "==",
        K::OpLessEqual => "<=",
        K::OpMoreEqual => ">=",
        K::OpNotEqual => "!=",
        K::KwIn => "in",
        K::DelPipeEqual => "|=",
        K::DelCaretEqual => "^=",
        K::DelAmpersandEqual => "&=",
        K::DelDblLessEqual => "<<=",
        K::DelDblMoreEqual => ">>=",
        K::DelPlusEqual => "+=",
        K::DelMinusEqual => "-=",
        K::DelStarEqual => "*=",
        K::DelAtEqual => "@=",
        K::DelDblSlashEqual => "//=",
        K::DelSlashEqual => "/=",
        K::DelPercentEqual => "%=",
        K::DelDblStarEqual => "**=",
        _ => return None,
    })
}

impl<'a> Compiler<'a> {
    pub(super) fn op_of(&self, n: &Node) -> Result<BinaryOp, super::CompileError> {
        match n {
            Node::Token(k) => token_op(*k)
                .map(binop)
                .ok_or_else(|| self.unsupported("operator")),
            _ => Err(self.unsupported("operator")),
        }
    }

    pub(super) fn bitwise(&mut self, s: &'a StructNode) -> R {
        let op = match s.rule {
            Rule::expr => "|",
            Rule::xor_expr => "^",
            _ => "&",
        };
        self.compile_node(&s.children[0])?;
        for c in &s.children[1..] {
            self.compile_node(c)?;
            self.em.binary_op(binop(op));
        }
        Ok(())
    }

    pub(super) fn term(&mut self, s: &'a StructNode) -> R {
        self.compile_node(&s.children[0])?;
        let mut i = 1;
        while i + 1 < s.children.len() {
            self.compile_node(&s.children[i + 1])?;
            let op = self.op_of(&s.children[i])?;
            self.em.binary_op(op);
            i += 2;
        }
        Ok(())
    }

    pub(super) fn factor(&mut self, s: &'a StructNode) -> R {
        self.compile_node(&s.children[1])?;
        let op = match s.children[0] {
            Node::Token(K::OpTilde) => UnaryOp::Invert,
            Node::Token(K::OpMinus) => UnaryOp::Negative,
            _ => UnaryOp::Positive,
        };
        self.em.unary_op(op);
        Ok(())
    }

    pub(super) fn comparison(&mut self, s: &'a StructNode) -> R {
        let n = s.children.len();
        self.compile_node(&s.children[0])?;
        let multi = n > 3;
        let l_fail = if multi {
            Some(self.em.new_label())
        } else {
            None
        };
        let mut i = 1;
        while i + 1 < n {
            self.compile_node(&s.children[i + 1])?;
            let more = i + 2 < n;
            if more {
                self.em.dup_top();
                self.em.rot_three();
            }
            match &s.children[i] {
                Node::Token(_) => {
                    let op = self.op_of(&s.children[i])?;
                    self.em.binary_op(op);
                }
                Node::Struct(op) if op.rule == Rule::comp_op_not_in => {
                    self.em.binary_op(binop("in"));
                    self.em.unary_op(UnaryOp::Not);
                }
                Node::Struct(op) if op.rule == Rule::comp_op_is => {
                    self.em.binary_op(binop("is"));
                    if !matches!(op.children.first(), None | Some(Node::Null)) {
                        self.em.unary_op(UnaryOp::Not);
                    }
                }
                _ => return Err(self.unsupported("comparison operator")),
            }
            if let (true, Some(l)) = (more, l_fail) {
                self.em.jump_if_or_pop(false, l);
            }
            i += 2;
        }
        if let Some(l) = l_fail {
            let end = self.em.new_label();
            self.em.jump(end);
            self.em.place_label(l);
            self.em.adjust_stack(1);
            self.em.rot_two();
            self.em.pop_top();
            self.em.place_label(end);
        }
        Ok(())
    }

    pub(super) fn or_and_test(&mut self, s: &'a StructNode) -> R {
        let cond = s.rule == Rule::or_test;
        let end = self.em.new_label();
        let n = s.children.len();
        for (i, c) in s.children.iter().enumerate() {
            self.compile_node(c)?;
            if i + 1 < n {
                self.em.jump_if_or_pop(cond, end);
            }
        }
        self.em.place_label(end);
        Ok(())
    }

    pub(super) fn test_if_expr(&mut self, s: &'a StructNode) -> R {
        let tail = kids(&s.children[1]);
        let l_fail = self.em.new_label();
        let l_end = self.em.new_label();
        self.if_cond(&tail[0], false, l_fail)?;
        self.compile_node(&s.children[0])?;
        self.em.jump(l_end);
        self.em.place_label(l_fail);
        self.em.adjust_stack(-1);
        self.compile_node(&tail[1])?;
        self.em.place_label(l_end);
        Ok(())
    }

    /// Jump to `label` when `n` is `jump_if`, turning and/or/not into jump chains (§3.6.3).
    pub(super) fn if_cond(&mut self, n: &'a Node, jump_if: bool, label: Label) -> R {
        if is_const_false(n) {
            if !jump_if {
                self.em.jump(label);
            }
            return Ok(());
        }
        if is_const_true(n) {
            if jump_if {
                self.em.jump(label);
            }
            return Ok(());
        }
        if let Node::Struct(s) = n {
            let or = s.rule == Rule::or_test;
            if or || s.rule == Rule::and_test {
                // `or` jumping on false and `and` jumping on true need a local skip label.
                if or != jump_if {
                    let l2 = self.em.new_label();
                    let last = s.children.len() - 1;
                    for c in &s.children[..last] {
                        self.if_cond(c, !jump_if, l2)?;
                    }
                    self.if_cond(&s.children[last], jump_if, label)?;
                    self.em.place_label(l2);
                } else {
                    for c in &s.children {
                        self.if_cond(c, jump_if, label)?;
                    }
                }
                return Ok(());
            }
            if s.rule == Rule::not_test_2 {
                return self.if_cond(&s.children[0], !jump_if, label);
            }
        }
        self.compile_node(n)?;
        self.em.pop_jump_if(jump_if, label);
        Ok(())
    }

    /// The trailers of `atom trailer*`, with the method-call and `super()` patterns.
    pub(super) fn atom_expr(&mut self, s: &'a StructNode) -> R {
        self.compile_node(&s.children[0])?;
        let trailers = list_of(&s.children[1], Rule::atom_expr_trailers);
        if trailers.is_empty() {
            return Ok(());
        }
        let rule_of = |i: usize| trailers.get(i).and_then(|t| t.as_struct()).map(|t| t.rule);
        let mut i = 0;
        let is_super = self.scope().kind == ScopeKind::Function
            && id_of(&s.children[0]) == Some(b"super".as_slice())
            && rule_of(0) == Some(Rule::trailer_paren)
            && matches!(kids(trailers[0]).first(), Some(Node::Null) | None);
        if is_super {
            self.load_id(b"__class__");
            let first_param = self
                .scope()
                .ids
                .iter()
                .find(|id| id.flags & FLAG_PARAM != 0)
                .map(|id| id.name.clone());
            let Some(p) = first_param else {
                return Err(self.syntax_error(trailers[0], "super() can't find self"));
            };
            self.load_id(&p);
            if trailers.len() >= 3
                && rule_of(1) == Some(Rule::trailer_period)
                && rule_of(2) == Some(Rule::trailer_paren)
            {
                let name = id_of(&kids(trailers[1])[0]).unwrap_or_default();
                self.em.load_super_method(name);
                self.call_args(&kids(trailers[2])[0], true, 0)?;
                i = 3;
            } else {
                self.em.call_function(2, 0, false);
                i = 1;
            }
        }
        while i < trailers.len() {
            if i + 1 < trailers.len()
                && rule_of(i) == Some(Rule::trailer_period)
                && rule_of(i + 1) == Some(Rule::trailer_paren)
            {
                let name = id_of(&kids(trailers[i])[0]).unwrap_or_default();
                self.em.load_method(name);
                self.call_args(&kids(trailers[i + 1])[0], true, 0)?;
                i += 2;
            } else {
                self.compile_node(trailers[i])?;
                i += 1;
            }
        }
        Ok(())
    }

    pub(super) fn atom_expr_await(&mut self, n: &'a Node, s: &'a StructNode) -> R {
        if !matches!(self.scope().kind, ScopeKind::Function | ScopeKind::Lambda) {
            return Err(self.syntax_error(n, "'await' outside function"));
        }
        self.atom_expr(s)?;
        if self.opts.target == crate::mpy::format::Target::CircuitPython {
            self.await_circuitpython();
        } else {
            self.yield_from();
        }
        Ok(())
    }

    pub(super) fn yield_from(&mut self) {
        self.em.get_iter();
        self.em.load_const_none();
        self.em.yield_from();
        self.scopes.scopes[self.cur].flags |= SCOPE_GENERATOR;
    }

    /// Arguments of a call; `extra` positional arguments are already on the stack.
    pub(super) fn call_args(&mut self, arglist: &'a Node, method: bool, extra: u32) -> R {
        let args = list_of(arglist, Rule::arglist);
        let mut n_pos = extra;
        let mut n_kw = 0u32;
        let mut have_star = false;
        let mut have_dbl = false;
        let mut star_bits: u64 = 0;
        for (i, a) in args.iter().enumerate() {
            let rule = a.as_struct().map(|s| s.rule);
            match rule {
                Some(Rule::arglist_star) => {
                    if have_dbl {
                        return Err(self.syntax_error(a, "* arg after **"));
                    }
                    if n_kw > 0 && self.opts.target == crate::mpy::format::Target::MicroPython {
                        return Err(self.syntax_error(a, "* arg after kwarg"));
                    }
                    if i + 1 >= usize::from(self.opts.small_int_bits) {
                        return Err(self.syntax_error(a, "too many args"));
                    }
                    have_star = true;
                    star_bits |= 1 << i;
                    self.compile_node(&kids(a)[0])?;
                    n_pos += 1;
                }
                Some(Rule::arglist_dbl_star) => {
                    have_dbl = true;
                    self.em.load_null();
                    self.compile_node(&kids(a)[0])?;
                    n_kw += 1;
                }
                Some(Rule::argument) => {
                    let k = kids(a);
                    if k[1].is_rule(Rule::argument_3) {
                        self.namedexpr(&k[0], &kids(&k[1])[0])?;
                        n_pos += 1;
                    } else if k[1].is_rule(Rule::comp_for) {
                        let s = a.as_struct().ok_or_else(|| self.unsupported("argument"))?;
                        self.comprehension(s, ScopeKind::GenExpr)?;
                        n_pos += 1;
                    } else {
                        let Some(name) = id_of(&k[0]) else {
                            return Err(self.syntax_error(a, "LHS of keyword arg must be an id"));
                        };
                        self.em.load_const_string(name);
                        self.compile_node(&k[1])?;
                        n_kw += 1;
                    }
                }
                _ => {
                    if have_dbl {
                        return Err(self.syntax_error(a, "positional arg after **"));
                    }
                    if n_kw > 0 {
                        return Err(self.syntax_error(a, "positional arg after keyword arg"));
                    }
                    self.compile_node(a)?;
                    n_pos += 1;
                }
            }
        }
        let star = have_star || have_dbl;
        if star {
            self.em.load_const_small_int(star_bits as i64);
        }
        if n_pos > 255 || n_kw > 255 {
            return Err(self.unsupported("call with more than 255 arguments"));
        }
        if method {
            self.em.call_method(n_pos as u8, n_kw as u8, star);
        } else {
            self.em.call_function(n_pos as u8, n_kw as u8, star);
        }
        Ok(())
    }

    pub(super) fn atom_paren(&mut self, s: &'a StructNode) -> R {
        match &s.children[0] {
            Node::Null => self.em.build(BuildKind::Tuple, 0),
            Node::Struct(t) => {
                if has_comp_for(t) {
                    self.comprehension(t, ScopeKind::GenExpr)?;
                } else {
                    self.compile_all(t)?;
                    self.em.build(BuildKind::Tuple, t.children.len() as u32);
                }
            }
            _ => return Err(self.unsupported("parenthesised leaf")),
        }
        Ok(())
    }

    pub(super) fn atom_bracket(&mut self, s: &'a StructNode) -> R {
        match &s.children[0] {
            Node::Null => self.em.build(BuildKind::List, 0),
            Node::Struct(t) if t.rule == Rule::testlist_comp => {
                if has_comp_for(t) {
                    self.comprehension(t, ScopeKind::ListComp)?;
                } else {
                    self.compile_all(t)?;
                    self.em.build(BuildKind::List, t.children.len() as u32);
                }
            }
            other => {
                self.compile_node(other)?;
                self.em.build(BuildKind::List, 1);
            }
        }
        Ok(())
    }

    pub(super) fn atom_brace(&mut self, s: &'a StructNode, create_map: bool) -> R {
        let pn = &s.children[0];
        match pn {
            Node::Null => {
                if create_map {
                    self.em.build(BuildKind::Map, 0);
                }
            }
            Node::Struct(p) if p.rule == Rule::dictorsetmaker_item => {
                if create_map {
                    self.em.build(BuildKind::Map, 1);
                }
                self.compile_node(pn)?;
                self.em.store_map();
            }
            Node::Struct(p) if p.rule == Rule::dictorsetmaker => {
                let tail = &p.children[1];
                if tail.is_rule(Rule::comp_for) {
                    let kind = if p.children[0].is_rule(Rule::dictorsetmaker_item) {
                        ScopeKind::DictComp
                    } else {
                        ScopeKind::SetComp
                    };
                    return self.comprehension(p, kind);
                }
                let items = list_of(&kids(tail)[0], Rule::dictorsetmaker_list2);
                let is_dict = p.children[0].is_rule(Rule::dictorsetmaker_item);
                if is_dict {
                    if create_map {
                        self.em.build(BuildKind::Map, 1 + items.len() as u32);
                    }
                    self.compile_node(&p.children[0])?;
                    self.em.store_map();
                } else {
                    self.compile_node(&p.children[0])?;
                }
                for it in &items {
                    let kv = it.is_rule(Rule::dictorsetmaker_item);
                    self.compile_node(it)?;
                    if is_dict {
                        if !kv {
                            return Err(self.syntax_error(pn, "expecting key:value for dict"));
                        }
                        self.em.store_map();
                    } else if kv {
                        return Err(self.syntax_error(pn, "expecting just a value for set"));
                    }
                }
                if !is_dict {
                    self.em.build(BuildKind::Set, 1 + items.len() as u32);
                }
            }
            other => {
                self.compile_node(other)?;
                self.em.build(BuildKind::Set, 1);
            }
        }
        Ok(())
    }

    pub(super) fn subscript(&mut self, s: &'a StructNode) -> R {
        let mut s3 = s;
        if s.rule == Rule::subscript_2 {
            self.compile_node(&s.children[0])?;
            match s.children[1].as_struct() {
                Some(t) => s3 = t,
                None => return Err(self.unsupported("subscript")),
            }
        } else {
            self.em.load_const_none();
        }
        let pn = &s3.children[0];
        match pn {
            Node::Null => {
                self.em.load_const_none();
                self.em.build(BuildKind::Slice, 2);
            }
            Node::Struct(p) if p.rule == Rule::subscript_3c => {
                self.em.load_const_none();
                if matches!(p.children[0], Node::Null) {
                    self.em.build(BuildKind::Slice, 2);
                } else {
                    self.compile_node(&p.children[0])?;
                    self.em.build(BuildKind::Slice, 3);
                }
            }
            Node::Struct(p) if p.rule == Rule::subscript_3d => {
                self.compile_node(&p.children[0])?;
                let step = kids(&p.children[1]);
                match step.first() {
                    None | Some(Node::Null) => self.em.build(BuildKind::Slice, 2),
                    Some(st) => {
                        self.compile_node(st)?;
                        self.em.build(BuildKind::Slice, 3);
                    }
                }
            }
            other => {
                self.compile_node(other)?;
                self.em.build(BuildKind::Slice, 2);
            }
        }
        Ok(())
    }

    pub(super) fn yield_expr(&mut self, n: &'a Node, s: &'a StructNode) -> R {
        if !matches!(self.scope().kind, ScopeKind::Function | ScopeKind::Lambda) {
            return Err(self.syntax_error(n, "'yield' outside function"));
        }
        self.scopes.scopes[self.cur].flags |= SCOPE_GENERATOR;
        match &s.children[0] {
            Node::Null => {
                self.em.load_const_none();
                self.em.yield_value();
            }
            Node::Struct(f) if f.rule == Rule::yield_arg_from => {
                if self.scope().flags & crate::mpy::scope::SCOPE_ASYNC != 0 {
                    return Err(self.syntax_error(n, "'yield from' inside async function"));
                }
                self.compile_node(&f.children[0])?;
                self.yield_from();
            }
            other => {
                self.compile_node(other)?;
                self.em.yield_value();
            }
        }
        Ok(())
    }

    pub(super) fn namedexpr(&mut self, name: &'a Node, value: &'a Node) -> R {
        let Some(target) = id_of(name) else {
            return Err(self.syntax_error(name, "can't assign to expression"));
        };
        self.compile_node(value)?;
        self.em.dup_top();
        if self.pass == Pass::Scope && self.scope().kind.is_comp_like() {
            // The target binds in the enclosing scope: global from a module-level
            // comprehension, nonlocal otherwise.
            let parent = self.scope().parent.unwrap_or(0);
            let pid = self.scopes.note_store(parent, target);
            let cur = self.cur;
            if self.scopes.scopes[parent].ids[pid].kind == IdKind::GlobalExplicit {
                self.scopes.scopes[cur].find_or_add(target, IdKind::GlobalExplicit);
            } else {
                let (id, _) = self.scopes.scopes[cur].find_or_add(target, IdKind::Undecided);
                let is_global = self.scopes.scopes[parent].parent.is_none();
                let rec = &mut self.scopes.scopes[cur].ids[id];
                if !is_global && rec.kind == IdKind::GlobalImplicit {
                    rec.kind = IdKind::Undecided;
                }
                let declared = if is_global {
                    self.scopes.declare_global(cur, id)
                } else {
                    self.scopes.declare_nonlocal(cur, id)
                };
                if let Err(e) = declared {
                    return Err(self.syntax_error(name, &e.to_string()));
                }
            }
        }
        self.store_id(target);
        Ok(())
    }
}

/// Whether a `testlist_comp`-like node is `item comp_for`.
pub(super) fn has_comp_for(s: &StructNode) -> bool {
    s.children.len() == 2 && s.children[1].is_rule(Rule::comp_for)
}
