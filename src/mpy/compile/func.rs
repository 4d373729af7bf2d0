//! Code objects: `def`, `lambda`, `class`, decorators and comprehensions on the caller's
//! side (defaults, closures, `MAKE_*`), and the bodies of their scopes (parameters, class
//! prologue, comprehension loops) (mpy-format §3.5, §3.6.5, §3.6.8, §3.6.9).

use super::{id_of, kids, list_of, CompileError, Compiler, R};
use crate::mpy::emit::{BuildKind, CompKind, Pass, ScopeId};
use crate::mpy::format::Target;
use crate::mpy::parse::{Node, Rule, StructNode};
use crate::mpy::scope::{
    IdKind, Scope, ScopeKind, FLAG_DBL_STAR, FLAG_PARAM, FLAG_STAR, SCOPE_ASYNC, SCOPE_DEFKWARGS,
    SCOPE_GENERATOR, SCOPE_VARARGS, SCOPE_VARKEYWORDS,
};

/// Counters while compiling a parameter list's defaults.
#[derive(Default)]
struct Defaults {
    have_star: bool,
    n_pos: u32,
    n_kw: u32,
}

impl<'a> Compiler<'a> {
    /// The scope made for `node`, creating it (appended to the list) in pass 1.
    fn child_scope(&mut self, key: &'a StructNode, kind: ScopeKind) -> ScopeId {
        let k = super::node_key(key);
        if self.pass == Pass::Scope {
            if let Some(&id) = self.node_scope.get(&k) {
                return id;
            }
            let name = match kind {
                ScopeKind::Function | ScopeKind::Class => {
                    id_of(&key.children[0]).unwrap_or_default().to_vec()
                }
                ScopeKind::Lambda => b"<lambda>".to_vec(),
                ScopeKind::ListComp => b"<listcomp>".to_vec(),
                ScopeKind::DictComp => b"<dictcomp>".to_vec(),
                ScopeKind::SetComp => b"<setcomp>".to_vec(),
                ScopeKind::GenExpr => b"<genexpr>".to_vec(),
                ScopeKind::Module => b"<module>".to_vec(),
            };
            let id = self.scopes.push(Scope::new(kind, Some(self.cur), name));
            self.scope_structs.push(Some(key));
            self.node_scope.insert(k, id);
            id
        } else {
            self.node_scope.get(&k).copied().unwrap_or(0)
        }
    }

    /// Push the closed-over cells and make the function (§3.6.9).
    fn make(&mut self, child: ScopeId, n_pos_defaults: u32, n_kw_defaults: u32) -> R {
        if n_kw_defaults > 0 {
            self.scopes.scopes[child].flags |= SCOPE_DEFKWARGS;
        }
        self.scopes.scopes[child].n_def_pos_args = n_pos_defaults;
        let mut n_free = 0u32;
        if self.scope().kind != ScopeKind::Module {
            let mine: Vec<(Vec<u8>, u32)> = self
                .scope()
                .ids
                .iter()
                .filter(|i| matches!(i.kind, IdKind::Cell | IdKind::Free))
                .map(|i| (i.name.clone(), i.slot))
                .collect();
            for (name, slot) in mine {
                let uses = self.scopes.scopes[child]
                    .ids
                    .iter()
                    .filter(|i| i.kind == IdKind::Free && i.name == name)
                    .count();
                for _ in 0..uses {
                    self.em.load_fast(slot);
                    n_free += 1;
                }
            }
        }
        let defaults = n_pos_defaults > 0 || n_kw_defaults > 0;
        if n_free > 255 {
            return Err(self.unsupported("closure over more than 255 variables"));
        }
        match (n_free, defaults) {
            (0, false) => self.em.make_function(child),
            (0, true) => self.em.make_function_defargs(child),
            (n, false) => self.em.make_closure(child, n as u8),
            (n, true) => self.em.make_closure_defargs(child, n as u8),
        }
        Ok(())
    }

    /// Defaults of a parameter list, then the function object.
    fn def_or_lambda(&mut self, child: ScopeId, params: &'a Node, list_rule: Rule) -> R {
        let mut d = Defaults::default();
        for p in list_of(params, list_rule) {
            self.param_default(p, &mut d)?;
        }
        if d.n_pos > 0 && d.n_kw == 0 {
            self.em.build(BuildKind::Tuple, d.n_pos);
            self.em.load_null();
        }
        self.make(child, d.n_pos, d.n_kw)
    }

    fn param_default(&mut self, p: &'a Node, d: &mut Defaults) -> R {
        let rule = p.as_struct().map(|s| s.rule);
        let (name, default) = match rule {
            Some(Rule::typedargslist_star | Rule::varargslist_star) => {
                d.have_star = true;
                return Ok(());
            }
            Some(Rule::typedargslist_dbl_star | Rule::varargslist_dbl_star) => return Ok(()),
            Some(Rule::typedargslist_name) => (&kids(p)[0], &kids(p)[2]),
            Some(Rule::varargslist_name) => (&kids(p)[0], &kids(p)[1]),
            _ => (p, &Node::Null),
        };
        if matches!(default, Node::Null) {
            if !d.have_star && d.n_pos != 0 {
                return Err(self.syntax_error(p, "non-default argument follows default argument"));
            }
            return Ok(());
        }
        if d.have_star {
            d.n_kw += 1;
            if d.n_kw == 1 {
                if d.n_pos > 0 {
                    self.em.build(BuildKind::Tuple, d.n_pos);
                } else {
                    self.em.load_null();
                }
                self.em.build(BuildKind::Map, 0);
            }
            self.compile_node(default)?;
            self.em.load_const_string(id_of(name).unwrap_or_default());
            self.em.store_map();
        } else {
            d.n_pos += 1;
            self.compile_node(default)?;
        }
        Ok(())
    }

    /// Compile a `def` (its node is `funcdef`); returns the name it binds.
    fn funcdef_object(
        &mut self,
        s: &'a StructNode,
        is_async: bool,
    ) -> Result<&'a [u8], CompileError> {
        let child = self.child_scope(s, ScopeKind::Function);
        if is_async {
            self.scopes.scopes[child].flags |= SCOPE_GENERATOR;
            if self.opts.target == Target::CircuitPython {
                self.scopes.scopes[child].flags |= SCOPE_ASYNC;
            }
        }
        self.def_or_lambda(child, &s.children[1], Rule::typedargslist)?;
        Ok(id_of(&s.children[0]).unwrap_or_default())
    }

    pub(super) fn funcdef(&mut self, s: &'a StructNode, is_async: bool) -> R {
        let name = self.funcdef_object(s, is_async)?;
        self.store_id(name);
        Ok(())
    }

    fn classdef_object(&mut self, s: &'a StructNode) -> Result<&'a [u8], CompileError> {
        let child = self.child_scope(s, ScopeKind::Class);
        self.em.load_build_class();
        self.make(child, 0, 0)?;
        let name = id_of(&s.children[0]).unwrap_or_default();
        self.em.load_const_string(name);
        let parents = if s.children[1].is_rule(Rule::classdef_2) {
            &Node::Null
        } else {
            &s.children[1]
        };
        self.call_args(parents, false, 2)?;
        Ok(name)
    }

    pub(super) fn classdef(&mut self, s: &'a StructNode) -> R {
        let name = self.classdef_object(s)?;
        self.store_id(name);
        Ok(())
    }

    pub(super) fn decorated(&mut self, s: &'a StructNode) -> R {
        let decorators = list_of(&s.children[0], Rule::decorators);
        let mut n_builtin = 0;
        for dec in &decorators {
            let dk = kids(dec);
            let names = list_of(&dk[0], Rule::dotted_name);
            if id_of(names[0]) == Some(b"micropython".as_slice()) {
                // mpy-cross has no native architecture unless given -march, so every
                // emitter but bytecode is refused the way it refuses them.
                let attr = if names.len() == 2 {
                    id_of(names[1])
                } else {
                    None
                };
                match attr {
                    Some(b"bytecode") => {
                        n_builtin += 1;
                        continue;
                    }
                    Some(b"native" | b"viper" | b"asm_thumb" | b"asm_xtensa" | b"asm_rv32") => {
                        return Err(self.syntax_error(names[0], "invalid arch"));
                    }
                    _ => return Err(self.syntax_error(names[0], "invalid micropython decorator")),
                }
            }
            self.compile_node(names[0])?;
            for n in &names[1..] {
                self.em.load_attr(id_of(n).unwrap_or_default());
            }
            if !matches!(dk[1], Node::Null) {
                self.compile_node(&dk[1])?;
            }
        }
        let body = s.children[1]
            .as_struct()
            .ok_or_else(|| self.unsupported("decorated body"))?;
        let name = match body.rule {
            Rule::funcdef => self.funcdef_object(body, false)?,
            Rule::async_funcdef => {
                let f = body.children[0]
                    .as_struct()
                    .ok_or_else(|| self.unsupported("async def"))?;
                self.funcdef_object(f, true)?
            }
            _ => self.classdef_object(body)?,
        };
        for _ in 0..decorators.len() - n_builtin {
            self.em.call_function(1, 0, false);
        }
        self.store_id(name);
        Ok(())
    }

    pub(super) fn async_stmt(&mut self, s: &'a StructNode) -> R {
        match s.children[0].as_struct() {
            Some(f) if f.rule == Rule::funcdef => self.funcdef(f, true),
            Some(f) if f.rule == Rule::with_stmt || f.rule == Rule::for_stmt => {
                self.async_for_or_with(&s.children[0], f)
            }
            _ => Err(self.unsupported("async statement")),
        }
    }

    pub(super) fn lambdef(&mut self, s: &'a StructNode) -> R {
        let child = self.child_scope(s, ScopeKind::Lambda);
        self.def_or_lambda(child, &s.children[0], Rule::varargslist)
    }

    /// `item comp_for` in `s` (testlist_comp, dictorsetmaker or argument).
    pub(super) fn comprehension(&mut self, s: &'a StructNode, kind: ScopeKind) -> R {
        let child = self.child_scope(s, kind);
        self.make(child, 0, 0)?;
        let comp_for = kids(&s.children[1]);
        self.compile_node(&comp_for[1])?;
        if kind == ScopeKind::GenExpr {
            self.em.get_iter();
        }
        self.em.call_function(1, 0, false);
        Ok(())
    }

    // ----- scope bodies -----

    pub(super) fn compile_scope_body(&mut self, id: ScopeId) -> R {
        let kind = self.scopes.scopes[id].kind;
        if kind == ScopeKind::Module {
            let root = self
                .root
                .ok_or_else(|| self.unsupported("module without tree"))?;
            self.compile_node(root)?;
            self.em.load_const_none();
            self.em.return_value();
            return Ok(());
        }
        let s = self.scope_structs[id].ok_or_else(|| self.unsupported("scope without node"))?;
        match kind {
            ScopeKind::Function => {
                if self.pass == Pass::Scope {
                    let mut have_star = false;
                    for p in list_of(&s.children[1], Rule::typedargslist) {
                        self.scope_param(
                            p,
                            &mut have_star,
                            Rule::typedargslist_name,
                            Rule::typedargslist_star,
                        )?;
                    }
                }
                self.compile_node(&s.children[3])?;
                self.em.load_const_none();
                self.em.return_value();
            }
            ScopeKind::Lambda => {
                self.set_line(s.line);
                if self.pass == Pass::Scope {
                    let mut have_star = false;
                    for p in list_of(&s.children[0], Rule::varargslist) {
                        self.scope_param(
                            p,
                            &mut have_star,
                            Rule::varargslist_name,
                            Rule::varargslist_star,
                        )?;
                    }
                }
                self.compile_node(&s.children[1])?;
                if self.scope().flags & SCOPE_GENERATOR != 0 {
                    self.em.pop_top();
                    self.em.load_const_none();
                }
                self.em.return_value();
            }
            ScopeKind::Class => {
                if self.pass == Pass::Scope {
                    self.scopes.scopes[id].find_or_add(b"__class__", IdKind::Local);
                }
                self.load_id(b"__name__");
                self.store_id(b"__module__");
                let name = id_of(&s.children[0]).unwrap_or_default();
                self.em.load_const_string(name);
                self.store_id(b"__qualname__");
                self.compile_node(&s.children[2])?;
                let (k, slot) = self.resolve(b"__class__");
                if k == IdKind::Local {
                    self.em.load_const_none();
                } else {
                    self.em.load_fast(slot);
                }
                self.em.return_value();
            }
            _ => self.comp_body(id, kind, s)?,
        }
        Ok(())
    }

    fn scope_param(
        &mut self,
        p: &'a Node,
        have_star: &mut bool,
        name_rule: Rule,
        star_rule: Rule,
    ) -> R {
        if self.scope().flags & SCOPE_VARKEYWORDS != 0 {
            return Err(self.syntax_error(p, "invalid syntax"));
        }
        let cur = self.cur;
        let mut flag = FLAG_PARAM;
        let name: Option<&[u8]> = match p {
            Node::Id(n) => {
                self.count_param(*have_star);
                Some(n)
            }
            Node::Struct(s) if s.rule == name_rule => {
                self.count_param(*have_star);
                id_of(&s.children[0])
            }
            Node::Struct(s) if s.rule == star_rule => {
                if *have_star {
                    return Err(self.syntax_error(p, "invalid syntax"));
                }
                *have_star = true;
                flag |= FLAG_STAR;
                match &s.children[0] {
                    Node::Null => None,
                    Node::Id(n) => {
                        self.scopes.scopes[cur].flags |= SCOPE_VARARGS;
                        Some(n)
                    }
                    other => {
                        self.scopes.scopes[cur].flags |= SCOPE_VARARGS;
                        kids(other).first().and_then(id_of)
                    }
                }
            }
            Node::Struct(s) => {
                flag |= FLAG_DBL_STAR;
                self.scopes.scopes[cur].flags |= SCOPE_VARKEYWORDS;
                id_of(&s.children[0])
            }
            _ => return Err(self.unsupported("parameter")),
        };
        if let Some(name) = name {
            let (i, added) = self.scopes.scopes[cur].find_or_add(name, IdKind::Undecided);
            if !added {
                return Err(self.syntax_error(p, "argument name reused"));
            }
            let rec = &mut self.scopes.scopes[cur].ids[i];
            rec.kind = IdKind::Local;
            rec.flags = flag;
        }
        Ok(())
    }

    fn count_param(&mut self, have_star: bool) {
        let s = &mut self.scopes.scopes[self.cur];
        if have_star {
            s.n_kwonly_args += 1;
        } else {
            s.n_pos_args += 1;
        }
    }

    fn comp_body(&mut self, id: ScopeId, kind: ScopeKind, s: &'a StructNode) -> R {
        if self.pass == Pass::Scope {
            self.scopes.scopes[id].find_or_add(b"", IdKind::Local);
            self.scopes.scopes[id].n_pos_args = 1;
        }
        self.set_line(s.line);
        match kind {
            ScopeKind::ListComp => self.em.build(BuildKind::List, 0),
            ScopeKind::DictComp => self.em.build(BuildKind::Map, 0),
            ScopeKind::SetComp => self.em.build(BuildKind::Set, 0),
            _ => {}
        }
        if kind == ScopeKind::GenExpr {
            self.scopes.scopes[id].flags |= SCOPE_GENERATOR;
            self.em.load_null();
            self.load_id(b"");
            self.em.load_null();
            self.em.load_null();
        } else {
            self.load_id(b"");
            self.em.get_iter_stack();
        }
        let comp_for = s.children[1]
            .as_struct()
            .ok_or_else(|| self.unsupported("comprehension"))?;
        self.comp_iter(kind, comp_for, &s.children[0], 0)?;
        if kind == ScopeKind::GenExpr {
            self.em.load_const_none();
        }
        self.em.return_value();
        Ok(())
    }

    fn comp_iter(
        &mut self,
        kind: ScopeKind,
        comp_for: &'a StructNode,
        inner: &'a Node,
        depth: u32,
    ) -> R {
        let top = self.em.new_label();
        let end = self.em.new_label();
        self.em.place_label(top);
        self.em.for_iter(end);
        self.assign(&comp_for.children[0], super::stmt::Assign::Store)?;
        let mut it = &comp_for.children[2];
        loop {
            match it {
                Node::Null => {
                    self.compile_node(inner)?;
                    match kind {
                        ScopeKind::GenExpr => {
                            self.em.yield_value();
                            self.em.pop_top();
                        }
                        ScopeKind::DictComp => self.em.store_comp(CompKind::Dict, 4 * depth + 6),
                        ScopeKind::SetComp => self.em.store_comp(CompKind::Set, 4 * depth + 5),
                        _ => self.em.store_comp(CompKind::List, 4 * depth + 5),
                    }
                    break;
                }
                Node::Struct(c) if c.rule == Rule::comp_if => {
                    self.if_cond(&c.children[0], false, top)?;
                    it = &c.children[1];
                }
                Node::Struct(c) if c.rule == Rule::comp_for => {
                    self.compile_node(&c.children[1])?;
                    self.em.get_iter_stack();
                    self.comp_iter(kind, c, inner, depth + 1)?;
                    break;
                }
                _ => return Err(self.unsupported("comprehension clause")),
            }
        }
        self.em.jump(top);
        self.em.place_label(end);
        self.em.adjust_stack(-4);
        Ok(())
    }
}
