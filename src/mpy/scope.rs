//! Symbol tables of the compile pass: one [`Scope`] per module, class, function, lambda and
//! comprehension, with its identifier records in first-seen order, and the analysis that turns
//! them into slot numbers (mpy-format §3.5).
//!
//! The scopes live in one [`ScopeList`] in breadth-first discovery order, which is also the
//! order in which the compiler runs its passes. Everything here is pure bookkeeping; the
//! compiler decides when to call what.

use crate::mpy::emit::ScopeInfo;

/// What kind of code block a scope is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeKind {
    /// The module body.
    Module,
    /// A class body.
    Class,
    /// A `def`.
    Function,
    /// A `lambda`.
    Lambda,
    /// `[... for ...]`
    ListComp,
    /// `{k: v for ...}`
    DictComp,
    /// `{... for ...}`
    SetComp,
    /// `(... for ...)`
    GenExpr,
}

impl ScopeKind {
    /// Functions, lambdas and comprehensions: names bound here are locals.
    pub fn is_func_like(self) -> bool {
        !matches!(self, ScopeKind::Module | ScopeKind::Class)
    }

    /// Comprehensions and generator expressions.
    pub fn is_comp_like(self) -> bool {
        matches!(
            self,
            ScopeKind::ListComp | ScopeKind::DictComp | ScopeKind::SetComp | ScopeKind::GenExpr
        )
    }
}

/// How a name is resolved in a scope (§3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    /// Seen in `global`/`nonlocal` but not yet resolved.
    Undecided,
    /// Only read so far; module/class scopes look it up by name.
    GlobalImplicit,
    /// Bound in a module or class scope.
    GlobalImplicitAssigned,
    /// Declared `global` (or forced so by a `global` elsewhere).
    GlobalExplicit,
    /// A local slot.
    Local,
    /// A local slot that inner scopes close over.
    Cell,
    /// A variable of an enclosing scope, passed in as a hidden argument.
    Free,
}

/// A `global`/`nonlocal` declaration that cannot stand; the messages are mpy-cross's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// `global x` after `x` was already bound or declared otherwise.
    #[error("identifier redefined as global")]
    RedefinedGlobal,
    /// `nonlocal x` after `x` was already bound or declared otherwise.
    #[error("identifier redefined as nonlocal")]
    RedefinedNonlocal,
    /// `nonlocal x` with no enclosing function binding `x`.
    #[error("no binding for nonlocal found")]
    NoNonlocalBinding,
}

/// Flag: the record is a parameter.
pub const FLAG_PARAM: u8 = 1;
/// Flag: the record is the `*args` parameter.
pub const FLAG_STAR: u8 = 2;
/// Flag: the record is the `**kw` parameter.
pub const FLAG_DBL_STAR: u8 = 4;

/// Prelude scope flag: generator.
pub const SCOPE_GENERATOR: u32 = 0x01;
/// Prelude scope flag: `**kw`.
pub const SCOPE_VARKEYWORDS: u32 = 0x02;
/// Prelude scope flag: `*args`.
pub const SCOPE_VARARGS: u32 = 0x04;
/// Prelude scope flag: keyword-only defaults.
pub const SCOPE_DEFKWARGS: u32 = 0x08;
/// Prelude scope flag (CircuitPython only): `async def`.
pub const SCOPE_ASYNC: u32 = 0x10;

/// One identifier record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    /// The name.
    pub name: Vec<u8>,
    /// Resolution.
    pub kind: IdKind,
    /// `FLAG_*` bits.
    pub flags: u8,
    /// Slot number once [`ScopeList::compute_slots`] has run.
    pub slot: u32,
}

/// A scope and its identifier table.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Kind.
    pub kind: ScopeKind,
    /// Enclosing scope (None for the module).
    pub parent: Option<usize>,
    /// Simple name (`<module>`, the def/class name, `<lambda>`, …).
    pub name: Vec<u8>,
    /// Identifier records in first-seen order.
    pub ids: Vec<Ident>,
    /// Prelude flags (`SCOPE_*`).
    pub flags: u32,
    /// Positional parameters (plus free variables after slot numbering).
    pub n_pos_args: u32,
    /// Keyword-only parameters.
    pub n_kwonly_args: u32,
    /// Positional parameters with defaults.
    pub n_def_pos_args: u32,
    /// Local slots.
    pub n_locals: u32,
}

impl Scope {
    /// A fresh scope.
    pub fn new(kind: ScopeKind, parent: Option<usize>, name: Vec<u8>) -> Scope {
        Scope {
            kind,
            parent,
            name,
            ids: Vec::new(),
            flags: 0,
            n_pos_args: 0,
            n_kwonly_args: 0,
            n_def_pos_args: 0,
            n_locals: 0,
        }
    }

    /// Index of the record for `name`.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        self.ids.iter().position(|i| i.name == name)
    }

    /// Index of the record for `name`, adding one of kind `kind` if missing; the flag says
    /// whether it was added.
    pub fn find_or_add(&mut self, name: &[u8], kind: IdKind) -> (usize, bool) {
        match self.find(name) {
            Some(i) => (i, false),
            None => {
                self.ids.push(Ident {
                    name: name.to_vec(),
                    kind,
                    flags: 0,
                    slot: 0,
                });
                (self.ids.len() - 1, true)
            }
        }
    }

    /// What the emitter needs: names, counts, flags and cells.
    pub fn info(&self) -> ScopeInfo {
        let n_args = self.n_pos_args + self.n_kwonly_args;
        let arg_names = (0..n_args)
            .map(|i| {
                self.ids
                    .iter()
                    .find(|id| id.flags & FLAG_PARAM != 0 && id.slot == i)
                    .map_or_else(|| b"*".to_vec(), |id| id.name.clone())
            })
            .collect();
        ScopeInfo {
            name: self.name.clone(),
            arg_names,
            n_pos_args: self.n_pos_args,
            n_kwonly_args: self.n_kwonly_args,
            n_def_pos_args: self.n_def_pos_args,
            scope_flags: self.flags,
            n_locals: self.n_locals,
            cells: self
                .ids
                .iter()
                .filter(|i| i.kind == IdKind::Cell)
                .map(|i| i.slot as u8)
                .collect(),
        }
    }
}

/// All scopes of one file, in discovery order.
#[derive(Debug, Clone, Default)]
pub struct ScopeList {
    /// The scopes; index 0 is the module.
    pub scopes: Vec<Scope>,
}

impl ScopeList {
    /// Append a scope and return its id.
    pub fn push(&mut self, scope: Scope) -> usize {
        self.scopes.push(scope);
        self.scopes.len() - 1
    }

    /// A name read in `scope`: recorded as implicit global if new.
    pub fn note_load(&mut self, scope: usize, name: &[u8]) {
        self.scopes[scope].find_or_add(name, IdKind::GlobalImplicit);
    }

    /// A name bound or deleted in `scope`.
    pub fn note_store(&mut self, scope: usize, name: &[u8]) -> usize {
        let s = &mut self.scopes[scope];
        let (i, _) = s.find_or_add(name, IdKind::GlobalImplicit);
        if s.ids[i].kind == IdKind::GlobalImplicit {
            s.ids[i].kind = if s.kind.is_func_like() {
                IdKind::Local
            } else {
                IdKind::GlobalImplicitAssigned
            };
        }
        i
    }

    /// The record of `name` in the module scope, if any.
    fn module_id(&mut self, name: &[u8]) -> Option<&mut Ident> {
        let m = &mut self.scopes[0];
        let i = m.find(name)?;
        Some(&mut m.ids[i])
    }

    /// `global name` in `scope` (record `id`).
    pub fn declare_global(&mut self, scope: usize, id: usize) -> Result<(), ScopeError> {
        let rec = &mut self.scopes[scope].ids[id];
        if !matches!(rec.kind, IdKind::Undecided | IdKind::GlobalExplicit) {
            return Err(ScopeError::RedefinedGlobal);
        }
        rec.kind = IdKind::GlobalExplicit;
        let name = rec.name.clone();
        if let Some(m) = self.module_id(&name) {
            m.kind = IdKind::GlobalExplicit;
        }
        Ok(())
    }

    /// `nonlocal name` in `scope` (record `id`).
    pub fn declare_nonlocal(&mut self, scope: usize, id: usize) -> Result<(), ScopeError> {
        match self.scopes[scope].ids[id].kind {
            IdKind::Undecided => {
                self.scopes[scope].ids[id].kind = IdKind::GlobalImplicit;
                self.check_close_over(scope, id);
                if self.scopes[scope].ids[id].kind == IdKind::GlobalImplicit {
                    return Err(ScopeError::NoNonlocalBinding);
                }
                Ok(())
            }
            IdKind::Free => Ok(()),
            _ => Err(ScopeError::RedefinedNonlocal),
        }
    }

    /// If an implicit-global record of `scope` names a local/cell/free of the nearest
    /// enclosing non-module scope that has it, make it free and close over it in the parents.
    pub fn check_close_over(&mut self, scope: usize, id: usize) {
        let name = self.scopes[scope].ids[id].name.clone();
        let mut s = self.scopes[scope].parent;
        while let Some(p) = s {
            if self.scopes[p].parent.is_none() {
                break;
            }
            if let Some(j) = self.scopes[p].find(&name) {
                if matches!(
                    self.scopes[p].ids[j].kind,
                    IdKind::Local | IdKind::Cell | IdKind::Free
                ) {
                    self.scopes[scope].ids[id].kind = IdKind::Free;
                    self.close_over_in_parents(scope, &name);
                }
                break;
            }
            s = self.scopes[p].parent;
        }
    }

    fn close_over_in_parents(&mut self, scope: usize, name: &[u8]) {
        let mut s = self.scopes[scope].parent;
        while let Some(p) = s {
            if self.scopes[p].parent.is_none() {
                return;
            }
            let (j, _) = self.scopes[p].find_or_add(name, IdKind::Undecided);
            let rec = &mut self.scopes[p].ids[j];
            match rec.kind {
                IdKind::Undecided => rec.kind = IdKind::Free,
                IdKind::Local => {
                    rec.kind = IdKind::Cell;
                    return;
                }
                _ => return,
            }
            s = self.scopes[p].parent;
        }
    }

    /// After pass 1 of `scope`: every record still implicit global may be closed over.
    pub fn finish_scope_pass(&mut self, scope: usize) {
        for i in 0..self.scopes[scope].ids.len() {
            if self.scopes[scope].ids[i].kind == IdKind::GlobalImplicit {
                self.check_close_over(scope, i);
            }
        }
    }

    /// Slot numbering of one scope (§3.5), after pass 1 of every scope.
    pub fn compute_slots(&mut self, scope: usize) {
        let parent = self.scopes[scope].parent;
        // Only the parent's cells and free variables number the free slots; copying just
        // those keeps a module with many functions from copying all its names per function.
        let parent_ids: Vec<(Vec<u8>, IdKind)> = match parent {
            Some(p) => self.scopes[p]
                .ids
                .iter()
                .filter(|i| matches!(i.kind, IdKind::Cell | IdKind::Free))
                .map(|i| (i.name.clone(), i.kind))
                .collect(),
            None => Vec::new(),
        };
        let s = &mut self.scopes[scope];
        if s.flags & SCOPE_VARARGS != 0 {
            // The `*args` record trades places with the last plain parameter after it.
            let mut plain: Option<usize> = None;
            for i in (0..s.ids.len()).rev() {
                if s.ids[i].flags & FLAG_STAR != 0 {
                    if let Some(j) = plain {
                        s.ids.swap(i, j);
                    }
                    break;
                } else if plain.is_none() && s.ids[i].flags == FLAG_PARAM {
                    plain = Some(i);
                }
            }
        }
        let mut n = 0u32;
        let kind = s.kind;
        for id in s.ids.iter_mut() {
            if kind == ScopeKind::Class && id.name == b"__class__" {
                continue;
            }
            if kind.is_func_like() && id.kind == IdKind::GlobalImplicit {
                id.kind = IdKind::GlobalExplicit;
            }
            if id.kind == IdKind::Local || id.flags & FLAG_PARAM != 0 {
                id.slot = n;
                n += 1;
            }
        }
        for id in s.ids.iter_mut() {
            if id.kind == IdKind::Cell && id.flags & FLAG_PARAM == 0 {
                id.slot = n;
                n += 1;
            }
        }
        let mut n_free = 0u32;
        for (pname, pkind) in &parent_ids {
            if matches!(pkind, IdKind::Cell | IdKind::Free) {
                for id in s.ids.iter_mut() {
                    if id.kind == IdKind::Free && &id.name == pname {
                        id.slot = n_free;
                        n_free += 1;
                    }
                }
            }
        }
        if n_free > 0 {
            for id in s.ids.iter_mut() {
                if id.kind != IdKind::Free || id.flags & FLAG_PARAM != 0 {
                    id.slot += n_free;
                }
            }
            s.n_pos_args += n_free;
            n += n_free;
        }
        s.n_locals = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_args_swap_with_last_plain_parameter() {
        // def f(a, b=2, *args, c, d=3, **kw) -> slots a0 b1 d2 c3 args4 kw5
        let mut l = ScopeList::default();
        let m = l.push(Scope::new(ScopeKind::Module, None, b"<module>".to_vec()));
        let f = l.push(Scope::new(ScopeKind::Function, Some(m), b"f".to_vec()));
        for (n, fl) in [
            ("a", FLAG_PARAM),
            ("b", FLAG_PARAM),
            ("args", FLAG_PARAM | FLAG_STAR),
            ("c", FLAG_PARAM),
            ("d", FLAG_PARAM),
            ("kw", FLAG_PARAM | FLAG_DBL_STAR),
        ] {
            let (i, _) = l.scopes[f].find_or_add(n.as_bytes(), IdKind::Local);
            l.scopes[f].ids[i].flags = fl;
        }
        l.scopes[f].flags |= SCOPE_VARARGS | SCOPE_VARKEYWORDS;
        l.scopes[f].n_pos_args = 2;
        l.scopes[f].n_kwonly_args = 2;
        l.compute_slots(f);
        let names: Vec<_> = l.scopes[f].info().arg_names;
        assert_eq!(
            names,
            vec![b"a".to_vec(), b"b".to_vec(), b"d".to_vec(), b"c".to_vec()]
        );
    }

    #[test]
    fn closure_makes_cell_and_free() {
        let mut l = ScopeList::default();
        let m = l.push(Scope::new(ScopeKind::Module, None, b"<module>".to_vec()));
        let f = l.push(Scope::new(ScopeKind::Function, Some(m), b"f".to_vec()));
        let g = l.push(Scope::new(ScopeKind::Function, Some(f), b"g".to_vec()));
        l.note_store(f, b"x");
        l.note_load(g, b"x");
        l.finish_scope_pass(g);
        assert_eq!(l.scopes[f].ids[0].kind, IdKind::Cell);
        assert_eq!(l.scopes[g].ids[0].kind, IdKind::Free);
        l.compute_slots(f);
        l.compute_slots(g);
        assert_eq!(l.scopes[g].n_pos_args, 1);
        assert_eq!(l.scopes[f].info().cells, vec![0]);
    }
}
