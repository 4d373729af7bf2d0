//! Simple and compound statements: assignment in all its forms, `del`, `return`, `raise`,
//! imports, `global`/`nonlocal`, `assert`, `if`, `while` and `for` (mpy-format §3.6.1–§3.6.4,
//! §3.6.12–§3.6.14).

use super::{id_of, is_const_false, is_const_true, kids, list_of, Compiler, R};
use crate::mpy::emit::{BuildKind, Pass};
use crate::mpy::lexer::TokenKind as K;
use crate::mpy::parse::{Node, Rule, StructNode};
use crate::mpy::scope::ScopeKind;

/// What an assignment target is used for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Assign {
    Store,
    AugLoad,
    AugStore,
}

impl<'a> Compiler<'a> {
    pub(super) fn expr_stmt(&mut self, s: &'a StructNode) -> R {
        let lhs = &s.children[0];
        let rhs = &s.children[1];
        match rhs {
            Node::Null => {
                let lonely = match lhs {
                    Node::Id(_) | Node::Struct(_) => false,
                    Node::Null => true,
                    _ => true,
                };
                if !lonely {
                    self.compile_node(lhs)?;
                    self.em.pop_top();
                }
                Ok(())
            }
            Node::Struct(r) if r.rule == Rule::annassign => {
                if matches!(r.children[1], Node::Null) {
                    if self.pass == Pass::Scope && self.scope().kind == ScopeKind::Function {
                        if let Some(name) = id_of(lhs) {
                            self.scopes.scopes[self.cur]
                                .find_or_add(name, crate::mpy::scope::IdKind::Local);
                        }
                    }
                    Ok(())
                } else {
                    self.plain_assign(lhs, &r.children[1])
                }
            }
            Node::Struct(r) if r.rule == Rule::expr_stmt_augassign => {
                self.assign(lhs, Assign::AugLoad)?;
                self.compile_node(&r.children[1])?;
                let op = self.op_of(&r.children[0])?;
                self.em.binary_op(op);
                self.assign(lhs, Assign::AugStore)
            }
            Node::Struct(r) if r.rule == Rule::expr_stmt_assign_list => {
                let last = r.children.len() - 1;
                self.compile_node(&r.children[last])?;
                if last > 0 {
                    self.em.dup_top();
                }
                self.assign(lhs, Assign::Store)?;
                for i in 0..last {
                    if i + 1 < last {
                        self.em.dup_top();
                    }
                    self.assign(&r.children[i], Assign::Store)?;
                }
                Ok(())
            }
            _ => self.plain_assign(lhs, rhs),
        }
    }

    fn plain_assign(&mut self, lhs: &'a Node, rhs: &'a Node) -> R {
        if let (Some(l), Some(r)) = (lhs.as_struct(), rhs.as_struct()) {
            let n = l.children.len();
            if l.rule == Rule::testlist_star_expr
                && r.rule == Rule::testlist_star_expr
                && n == r.children.len()
                && (n == 2 || n == 3)
                && !l.children.iter().any(|c| c.is_rule(Rule::star_expr))
            {
                self.compile_node(&r.children[0])?;
                self.compile_node(&r.children[1])?;
                if n == 3 {
                    self.compile_node(&r.children[2])?;
                    self.em.rot_three();
                }
                self.em.rot_two();
                for c in &l.children {
                    self.assign(c, Assign::Store)?;
                }
                return Ok(());
            }
        }
        self.compile_node(rhs)?;
        self.assign(lhs, Assign::Store)
    }

    pub(super) fn assign(&mut self, n: &'a Node, kind: Assign) -> R {
        match n {
            Node::Id(name) => {
                match kind {
                    Assign::AugLoad => self.load_id(name),
                    _ => self.store_id(name),
                }
                Ok(())
            }
            Node::Struct(s) => match s.rule {
                Rule::atom_expr_normal => self.assign_trailer(n, s, kind),
                Rule::testlist_star_expr | Rule::exprlist if kind == Assign::Store => {
                    self.assign_tuple(&s.children)
                }
                Rule::atom_paren if kind == Assign::Store => match &s.children[0] {
                    Node::Struct(t) if !super::expr::has_comp_for(t) => {
                        self.assign_tuple(&t.children)
                    }
                    _ => Err(self.syntax_error(n, "can't assign to expression")),
                },
                Rule::atom_bracket if kind == Assign::Store => match &s.children[0] {
                    Node::Null => self.assign_tuple(&[]),
                    Node::Struct(t) if t.rule == Rule::testlist_comp => {
                        if super::expr::has_comp_for(t) {
                            return Err(self.syntax_error(n, "can't assign to expression"));
                        }
                        self.assign_tuple(&t.children)
                    }
                    _ => self.assign_tuple(std::slice::from_ref(&s.children[0])),
                },
                _ => Err(self.syntax_error(n, "can't assign to expression")),
            },
            _ => Err(self.syntax_error(n, "can't assign to expression")),
        }
    }

    fn assign_tuple(&mut self, items: &'a [Node]) -> R {
        let mut star: Option<usize> = None;
        for (i, it) in items.iter().enumerate() {
            if it.is_rule(Rule::star_expr) {
                if star.is_some() {
                    return Err(self.syntax_error(it, "multiple *x in assignment"));
                }
                self.em.unpack_ex(i as u32, (items.len() - i - 1) as u32);
                star = Some(i);
            }
        }
        if star.is_none() {
            self.em.unpack_sequence(items.len() as u32);
        }
        for (i, it) in items.iter().enumerate() {
            if Some(i) == star {
                self.assign(&kids(it)[0], Assign::Store)?;
            } else {
                self.assign(it, Assign::Store)?;
            }
        }
        Ok(())
    }

    fn assign_trailer(&mut self, n: &'a Node, s: &'a StructNode, kind: Assign) -> R {
        let last = self.trailer_target(s, kind != Assign::AugStore)?;
        match last.as_struct() {
            Some(t) if t.rule == Rule::trailer_bracket => {
                if kind == Assign::AugStore {
                    self.em.rot_three();
                    self.em.store_subscr();
                } else {
                    self.compile_node(&t.children[0])?;
                    if kind == Assign::AugLoad {
                        self.em.dup_top_two();
                        self.em.load_subscr();
                    } else {
                        self.em.store_subscr();
                    }
                }
                Ok(())
            }
            Some(t) if t.rule == Rule::trailer_period => {
                let name = id_of(&t.children[0]).unwrap_or_default();
                if kind == Assign::AugLoad {
                    self.em.dup_top();
                    self.em.load_attr(name);
                } else {
                    if kind == Assign::AugStore {
                        self.em.rot_two();
                    }
                    self.em.store_attr(name);
                }
                Ok(())
            }
            _ => Err(self.syntax_error(n, "can't assign to expression")),
        }
    }

    /// For `a.b[c].d` as a target: compile everything but the last trailer (when `load`)
    /// and return that last trailer.
    fn trailer_target(
        &mut self,
        s: &'a StructNode,
        load: bool,
    ) -> Result<&'a Node, super::CompileError> {
        if load {
            self.compile_node(&s.children[0])?;
        }
        Ok(match &s.children[1] {
            Node::Struct(t) if t.rule == Rule::atom_expr_trailers => {
                let k = t.children.len();
                if load {
                    for c in &t.children[..k - 1] {
                        self.compile_node(c)?;
                    }
                }
                &t.children[k - 1]
            }
            other => other,
        })
    }

    pub(super) fn del_stmt(&mut self, s: &'a StructNode) -> R {
        for t in list_of(&s.children[0], Rule::exprlist) {
            self.del_one(t)?;
        }
        Ok(())
    }

    fn del_one(&mut self, n: &'a Node) -> R {
        let cannot = |c: &Self| Err(c.syntax_error(n, "can't delete expression"));
        match n {
            Node::Id(name) => {
                self.delete_id(name);
                Ok(())
            }
            Node::Struct(s) if s.rule == Rule::atom_expr_normal => {
                let last = self.trailer_target(s, true)?;
                match last.as_struct() {
                    Some(t) if t.rule == Rule::trailer_bracket => {
                        self.compile_node(&t.children[0])?;
                        self.em.load_null();
                        self.em.rot_three();
                        self.em.store_subscr();
                        Ok(())
                    }
                    Some(t) if t.rule == Rule::trailer_period => {
                        let name = id_of(&t.children[0]).unwrap_or_default();
                        self.em.load_null();
                        self.em.rot_two();
                        self.em.store_attr(name);
                        Ok(())
                    }
                    _ => cannot(self),
                }
            }
            Node::Struct(s) if s.rule == Rule::atom_paren => match &s.children[0] {
                Node::Struct(t) if !super::expr::has_comp_for(t) => {
                    for c in &t.children {
                        self.del_one(c)?;
                    }
                    Ok(())
                }
                _ => cannot(self),
            },
            _ => cannot(self),
        }
    }

    pub(super) fn return_stmt(&mut self, n: &'a Node, s: &'a StructNode) -> R {
        if self.scope().kind != ScopeKind::Function {
            return Err(self.syntax_error(n, "'return' outside function"));
        }
        let v = &s.children[0];
        match v {
            Node::Null => self.em.load_const_none(),
            Node::Struct(t) if t.rule == Rule::test_if_expr => {
                let tail = kids(&t.children[1]);
                let l_fail = self.em.new_label();
                self.if_cond(&tail[0], false, l_fail)?;
                self.compile_node(&t.children[0])?;
                self.em.return_value();
                self.em.place_label(l_fail);
                self.compile_node(&tail[1])?;
            }
            other => self.compile_node(other)?,
        }
        self.em.return_value();
        Ok(())
    }

    pub(super) fn raise_stmt(&mut self, s: &'a StructNode) -> R {
        match &s.children[0] {
            Node::Null => self.em.raise_last(),
            Node::Struct(a) if a.rule == Rule::raise_stmt_arg => {
                self.compile_node(&a.children[0])?;
                self.compile_node(&a.children[1])?;
                self.em.raise_from();
            }
            other => {
                self.compile_node(other)?;
                self.em.raise_obj();
            }
        }
        Ok(())
    }

    /// `IMPORT_NAME` of a dotted name; returns the name to bind for `import a.b`.
    fn import_dotted(&mut self, n: &'a Node, is_as: bool) -> Result<Vec<u8>, super::CompileError> {
        match n {
            Node::Null => {
                self.em.import_name(b"");
                Ok(Vec::new())
            }
            Node::Id(name) => {
                self.em.import_name(name);
                Ok(name.clone())
            }
            Node::Struct(s) if s.rule == Rule::dotted_name => {
                let parts: Vec<&[u8]> = s.children.iter().filter_map(id_of).collect();
                let full = parts.join(&b'.');
                self.em.import_name(&full);
                if is_as {
                    for p in &parts[1..] {
                        self.em.load_attr(p);
                    }
                }
                Ok(parts.first().map(|p| p.to_vec()).unwrap_or_default())
            }
            _ => Err(self.unsupported("import name")),
        }
    }

    pub(super) fn import_name(&mut self, s: &'a StructNode) -> R {
        for item in list_of(&s.children[0], Rule::dotted_as_names) {
            self.em.load_const_small_int(0);
            self.em.load_const_none();
            let bind = match item {
                Node::Struct(d) if d.rule == Rule::dotted_as_name => {
                    self.import_dotted(&d.children[0], true)?;
                    id_of(&d.children[1]).unwrap_or_default().to_vec()
                }
                other => self.import_dotted(other, false)?,
            };
            self.store_id(&bind);
        }
        Ok(())
    }

    pub(super) fn import_from(&mut self, n: &'a Node, s: &'a StructNode) -> R {
        let mut source = &s.children[0];
        let mut level = 0i64;
        let rel: Option<&Node> = match source {
            Node::Token(_) => {
                let r = source;
                source = &Node::Null;
                Some(r)
            }
            Node::Struct(t) if t.rule == Rule::one_or_more_period_or_ellipsis => {
                let r = source;
                source = &Node::Null;
                Some(r)
            }
            Node::Struct(t) if t.rule == Rule::import_from_2b => {
                source = &t.children[1];
                Some(&t.children[0])
            }
            _ => None,
        };
        if let Some(r) = rel {
            for p in list_of(r, Rule::one_or_more_period_or_ellipsis) {
                level += if matches!(p, Node::Token(K::DelPeriod)) {
                    1
                } else {
                    3
                };
            }
        }
        if matches!(s.children[1], Node::Token(K::OpStar)) {
            if self.scope().kind != ScopeKind::Module {
                return Err(self.syntax_error(n, "import * not at module level"));
            }
            self.em.load_const_small_int(level);
            self.em.load_const_string(b"*");
            self.em.build(BuildKind::Tuple, 1);
            self.import_dotted(source, false)?;
            self.em.import_star();
            return Ok(());
        }
        self.em.load_const_small_int(level);
        let names = list_of(&s.children[1], Rule::import_as_names);
        for item in &names {
            let name = id_of(&kids(item)[0]).unwrap_or_default();
            self.em.load_const_string(name);
        }
        self.em.build(BuildKind::Tuple, names.len() as u32);
        self.import_dotted(source, false)?;
        for item in &names {
            let k = kids(item);
            let name = id_of(&k[0]).unwrap_or_default();
            self.em.import_from(name);
            let bind = id_of(&k[1]).unwrap_or(name);
            self.store_id(bind);
        }
        self.em.pop_top();
        Ok(())
    }

    pub(super) fn global_nonlocal(&mut self, n: &'a Node, s: &'a StructNode) -> R {
        if self.pass != Pass::Scope {
            return Ok(());
        }
        let is_global = s.rule == Rule::global_stmt;
        if !is_global && self.scope().kind == ScopeKind::Module {
            return Err(self.syntax_error(n, "can't declare nonlocal in outer code"));
        }
        for name in list_of(&s.children[0], Rule::name_list) {
            let name = id_of(name).unwrap_or_default();
            let (id, _) = self.scopes.scopes[self.cur]
                .find_or_add(name, crate::mpy::scope::IdKind::Undecided);
            let declared = if is_global {
                self.scopes.declare_global(self.cur, id)
            } else {
                self.scopes.declare_nonlocal(self.cur, id)
            };
            if let Err(e) = declared {
                return Err(self.syntax_error(n, &e.to_string()));
            }
        }
        Ok(())
    }

    pub(super) fn assert_stmt(&mut self, s: &'a StructNode) -> R {
        if self.opts.opt_level != 0 {
            return Ok(());
        }
        let end = self.em.new_label();
        self.if_cond(&s.children[0], true, end)?;
        self.load_global_phase_a(b"AssertionError");
        if !matches!(s.children[1], Node::Null) {
            self.compile_node(&s.children[1])?;
            self.em.call_function(1, 0, false);
        }
        self.em.raise_obj();
        self.em.place_label(end);
        Ok(())
    }

    pub(super) fn if_stmt(&mut self, s: &'a StructNode) -> R {
        let c = &s.children;
        let end = self.em.new_label();
        let mut done = false;
        if !is_const_false(&c[0]) {
            let fail = self.em.new_label();
            self.if_cond(&c[0], false, fail)?;
            self.compile_node(&c[1])?;
            if is_const_true(&c[0]) {
                done = true;
            } else {
                if !(matches!(c[2], Node::Null) && matches!(c[3], Node::Null)) {
                    self.em.jump(end);
                }
                self.em.place_label(fail);
            }
        }
        if !done {
            for elif in list_of(&c[2], Rule::if_stmt_elif_list) {
                let e = kids(elif);
                if is_const_false(&e[0]) {
                    continue;
                }
                let fail = self.em.new_label();
                self.if_cond(&e[0], false, fail)?;
                self.compile_node(&e[1])?;
                if is_const_true(&e[0]) {
                    done = true;
                    break;
                }
                self.em.jump(end);
                self.em.place_label(fail);
            }
        }
        if !done {
            self.compile_node(&c[3])?;
        }
        self.em.place_label(end);
        Ok(())
    }

    pub(super) fn while_stmt(&mut self, s: &'a StructNode) -> R {
        let c = &s.children;
        let (saved, l) = self.new_loop(false);
        if !is_const_false(&c[0]) {
            let top = self.em.new_label();
            if !is_const_true(&c[0]) {
                self.em.jump(l.cont);
            }
            self.em.place_label(top);
            self.compile_node(&c[1])?;
            self.em.place_label(l.cont);
            self.if_cond(&c[0], true, top)?;
        }
        self.loop_labels = saved;
        self.compile_node(&c[2])?;
        self.em.place_label(l.brk);
        Ok(())
    }

    pub(super) fn for_stmt(&mut self, s: &'a StructNode) -> R {
        let c = &s.children;
        if let Some((start, end, step)) = range_args(&c[0], &c[1]) {
            return self.for_range(&c[0], start, end, step, &c[2], &c[3]);
        }
        let (saved, l) = self.new_loop(true);
        let pop = self.em.new_label();
        self.compile_node(&c[1])?;
        self.em.get_iter_stack();
        self.em.place_label(l.cont);
        self.em.for_iter(pop);
        self.assign(&c[0], Assign::Store)?;
        self.compile_node(&c[2])?;
        self.em.jump(l.cont);
        self.em.place_label(pop);
        self.em.adjust_stack(-4);
        self.loop_labels = saved;
        self.compile_node(&c[3])?;
        self.em.place_label(l.brk);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn for_range(
        &mut self,
        var: &'a Node,
        start: RangeArg<'a>,
        end: &'a Node,
        step: i64,
        body: &'a Node,
        orelse: &'a Node,
    ) -> R {
        let (saved, l) = self.new_loop(false);
        let top = self.em.new_label();
        let entry = self.em.new_label();
        let end_on_stack = !matches!(end, Node::SmallInt(_));
        if end_on_stack {
            self.compile_node(end)?;
        }
        match start {
            RangeArg::Zero => self.em.load_const_small_int(0),
            RangeArg::Node(n) => self.compile_node(n)?,
        }
        self.em.jump(entry);
        self.em.place_label(top);
        self.em.dup_top();
        self.assign(var, Assign::Store)?;
        self.compile_node(body)?;
        self.em.place_label(l.cont);
        self.em.load_const_small_int(step);
        self.em.binary_op(super::expr::binop("+="));
        self.em.place_label(entry);
        if end_on_stack {
            self.em.dup_top_two();
            self.em.rot_two();
        } else {
            self.em.dup_top();
            self.compile_node(end)?;
        }
        self.em
            .binary_op(super::expr::binop(if step >= 0 { "<" } else { ">" }));
        self.em.pop_jump_if(true, top);
        self.loop_labels = saved;
        let has_else = !matches!(orelse, Node::Null);
        let mut end_label = None;
        if has_else {
            self.em.pop_top();
            if end_on_stack {
                self.em.pop_top();
            }
            self.compile_node(orelse)?;
            let e = self.em.new_label();
            self.em.jump(e);
            self.em.adjust_stack(1 + i64::from(end_on_stack));
            end_label = Some(e);
        }
        self.em.place_label(l.brk);
        self.em.pop_top();
        if end_on_stack {
            self.em.pop_top();
        }
        if let Some(e) = end_label {
            self.em.place_label(e);
        }
        Ok(())
    }
}

/// The start of a counted `range` loop.
#[derive(Clone, Copy)]
enum RangeArg<'a> {
    Zero,
    Node(&'a Node),
}

/// `for x in range(...)` that mpy-cross turns into a counted loop: (start, end, step).
fn range_args<'a>(var: &'a Node, iter: &'a Node) -> Option<(RangeArg<'a>, &'a Node, i64)> {
    id_of(var)?;
    let it = iter.as_struct()?;
    if it.rule != Rule::atom_expr_normal || id_of(&it.children[0]) != Some(b"range".as_slice()) {
        return None;
    }
    let paren = it.children[1].as_struct()?;
    if paren.rule != Rule::trailer_paren {
        return None;
    }
    let args = list_of(&paren.children[0], Rule::arglist);
    let bad = |n: &Node| {
        n.is_rule(Rule::arglist_star)
            || n.is_rule(Rule::arglist_dbl_star)
            || n.is_rule(Rule::argument)
    };
    let (start, end, step) = match args.len() {
        1 => (RangeArg::Zero, args[0], 1),
        2 => (RangeArg::Node(args[0]), args[1], 1),
        3 => match args[2] {
            Node::SmallInt(v) if *v != 0 => (RangeArg::Node(args[0]), args[1], *v),
            _ => return None,
        },
        _ => return None,
    };
    if let RangeArg::Node(n) = start {
        if bad(n) {
            return None;
        }
    }
    if bad(end) {
        return None;
    }
    Some((start, end, step))
}
