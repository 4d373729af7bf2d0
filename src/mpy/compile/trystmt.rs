//! `try`/`except`/`else`/`finally` and `with`: the exception blocks, their stack
//! adjustments and exception-stack levels (mpy-format §3.6.10, §3.6.11, §3.7).

use super::{id_of, kids, list_of, Compiler, R};
use crate::mpy::emit::Label;
use crate::mpy::parse::{Node, Rule, StructNode};

/// The kind of block a `SETUP_*` opens.
#[derive(Clone, Copy)]
pub(super) enum Block {
    With,
    Except,
    Finally,
}

impl<'a> Compiler<'a> {
    pub(super) fn enter_block(&mut self, label: Label, kind: Block) {
        match kind {
            Block::With => self.em.setup_with(label),
            Block::Except => self.em.setup_except(label),
            Block::Finally => self.em.setup_finally(label),
        }
        self.except_level += 1;
        self.em.enter_exception_level();
    }

    pub(super) fn leave_block(&mut self) {
        self.except_level -= 1;
        self.em.exit_exception_level();
        self.em.end_finally();
    }

    pub(super) fn try_stmt(&mut self, s: &'a StructNode) -> R {
        let body = &s.children[0];
        let rest = s.children[1]
            .as_struct()
            .ok_or_else(|| self.unsupported("try statement"))?;
        match rest.rule {
            Rule::try_stmt_finally => self.try_finally(body, &[], &Node::Null, &rest.children[0]),
            Rule::try_stmt_except_and_more => {
                let excepts = list_of(&rest.children[0], Rule::try_stmt_except_list);
                if matches!(rest.children[2], Node::Null) {
                    self.try_except(body, &excepts, &rest.children[1])
                } else {
                    let fin = &kids(&rest.children[2])[0];
                    self.try_finally(body, &excepts, &rest.children[1], fin)
                }
            }
            _ => {
                let excepts = list_of(&s.children[1], Rule::try_stmt_except_list);
                self.try_except(body, &excepts, &Node::Null)
            }
        }
    }

    fn try_except(&mut self, body: &'a Node, excepts: &[&'a Node], orelse: &'a Node) -> R {
        let l1 = self.em.new_label();
        let success = self.em.new_label();
        self.enter_block(l1, Block::Except);
        self.compile_node(body)?;
        self.em.pop_except_jump(success);
        self.em.place_label(l1);
        self.em.adjust_stack(4);
        let l2 = self.em.new_label();
        for (i, ex) in excepts.iter().enumerate() {
            let e = kids(ex);
            let mut local: Option<&'a [u8]> = None;
            let end_finally = self.em.new_label();
            if matches!(e[0], Node::Null) {
                if i + 1 != excepts.len() {
                    return Err(self.syntax_error(ex, "default 'except' must be last"));
                }
            } else {
                let mut ty = &e[0];
                if let Node::Struct(t) = ty {
                    if t.rule == Rule::try_stmt_as_name {
                        ty = &t.children[0];
                        local = id_of(&t.children[1]);
                    }
                }
                self.em.dup_top();
                self.compile_node(ty)?;
                self.em.binary_op(super::expr::binop("exc-match"));
                self.em.pop_jump_if(false, end_finally);
            }
            match local {
                None => self.em.pop_top(),
                Some(name) => self.store_id(name),
            }
            let mut l3 = None;
            if local.is_some() {
                let l = self.em.new_label();
                self.enter_block(l, Block::Finally);
                l3 = Some(l);
            }
            self.compile_node(&e[1])?;
            if let (Some(name), Some(l)) = (local, l3) {
                self.em.load_const_none();
                self.em.place_label(l);
                self.em.adjust_stack(1);
                self.em.load_const_none();
                self.store_id(name);
                self.delete_id(name);
                self.em.adjust_stack(-1);
                self.leave_block();
            }
            self.em.pop_except_jump(l2);
            self.em.place_label(end_finally);
            self.em.adjust_stack(1);
        }
        self.leave_block();
        self.em.adjust_stack(-3);
        self.em.place_label(success);
        self.compile_node(orelse)?;
        self.em.place_label(l2);
        Ok(())
    }

    fn try_finally(
        &mut self,
        body: &'a Node,
        excepts: &[&'a Node],
        orelse: &'a Node,
        fin: &'a Node,
    ) -> R {
        let l_fin = self.em.new_label();
        self.enter_block(l_fin, Block::Finally);
        if excepts.is_empty() {
            self.em.adjust_stack(3);
            self.compile_node(body)?;
            self.em.adjust_stack(-3);
        } else {
            self.try_except(body, excepts, orelse)?;
        }
        self.em.load_const_none();
        self.em.place_label(l_fin);
        self.em.adjust_stack(1);
        self.compile_node(fin)?;
        self.em.adjust_stack(-1);
        self.leave_block();
        Ok(())
    }

    pub(super) fn with_stmt(&mut self, s: &'a StructNode) -> R {
        let items = list_of(&s.children[0], Rule::with_stmt_list);
        self.with_items(&items, &s.children[1])
    }

    fn with_items(&mut self, items: &[&'a Node], body: &'a Node) -> R {
        let Some((first, rest)) = items.split_first() else {
            return self.compile_node(body);
        };
        let end = self.em.new_label();
        match first {
            Node::Struct(w) if w.rule == Rule::with_item => {
                self.compile_node(&w.children[0])?;
                self.enter_block(end, Block::With);
                self.assign(&w.children[1], super::stmt::Assign::Store)?;
            }
            other => {
                self.compile_node(other)?;
                self.enter_block(end, Block::With);
                self.em.pop_top();
            }
        }
        self.with_items(rest, body)?;
        self.em.load_const_none();
        self.em.place_label(end);
        self.em.with_cleanup();
        self.leave_block();
        Ok(())
    }
}
