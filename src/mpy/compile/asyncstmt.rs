//! `async for`, `async with` and CircuitPython's `await` (mpy-format §3.6.16, §4.1): the
//! `__aiter__`/`__anext__`/`__aenter__`/`__aexit__` protocol written out as bytecode.

use super::trystmt::Block;
use super::{Compiler, R};
use crate::mpy::emit::Pass;
use crate::mpy::parse::{Node, Rule, StructNode};
use crate::mpy::scope::SCOPE_GENERATOR;

impl<'a> Compiler<'a> {
    /// `LOAD_GLOBAL name` whose qstr mpy-cross registers already in pass 1 (§3.10): in that
    /// pass a string load registers it and writes nothing.
    pub(super) fn load_global_phase_a(&mut self, name: &[u8]) {
        if self.pass == Pass::Scope {
            self.em.load_const_string(name);
        } else {
            self.em.load_global(name);
        }
    }

    /// `x.method()` then `yield from` its result.
    fn await_method(&mut self, method: &[u8]) {
        self.em.load_method(method);
        self.em.call_method(0, 0, false);
        self.yield_from();
    }

    /// CircuitPython's `await x`: `x.__await__()` then a `YIELD_FROM` without `GET_ITER`.
    pub(super) fn await_circuitpython(&mut self) {
        self.em.load_method(b"__await__");
        self.em.call_method(0, 0, false);
        self.em.load_const_none();
        self.em.yield_from();
        self.scopes.scopes[self.cur].flags |= SCOPE_GENERATOR;
    }

    pub(super) fn async_for_or_with(&mut self, n: &'a Node, s: &'a StructNode) -> R {
        if self.scope().flags & SCOPE_GENERATOR == 0 {
            return Err(self.syntax_error(n, "async for/with outside async function"));
        }
        if s.rule == Rule::for_stmt {
            self.async_for(s)
        } else {
            let items = super::list_of(&s.children[0], Rule::with_stmt_list);
            self.async_with(&items, &s.children[1])
        }
    }

    fn async_for(&mut self, s: &'a StructNode) -> R {
        let c = &s.children;
        let while_else = self.em.new_label();
        let try_exception = self.em.new_label();
        let try_else = self.em.new_label();
        let try_finally = self.em.new_label();
        self.compile_node(&c[1])?;
        self.em.load_method(b"__aiter__");
        self.em.call_method(0, 0, false);
        let (saved, l) = self.new_loop(false);
        self.em.place_label(l.cont);
        self.enter_block(try_exception, Block::Except);
        self.em.dup_top();
        self.await_method(b"__anext__");
        self.assign(&c[0], super::stmt::Assign::Store)?;
        self.em.pop_except_jump(try_else);
        self.em.place_label(try_exception);
        self.em.adjust_stack(4);
        self.em.dup_top();
        self.load_global_phase_a(b"StopAsyncIteration");
        self.em.binary_op(super::expr::binop("exc-match"));
        self.em.pop_jump_if(false, try_finally);
        self.em.pop_top();
        self.em.pop_except_jump(while_else);
        self.em.place_label(try_finally);
        self.em.adjust_stack(1);
        self.leave_block();
        self.em.adjust_stack(-3);
        self.em.place_label(try_else);
        self.compile_node(&c[2])?;
        self.em.jump(l.cont);
        self.loop_labels = saved;
        self.em.place_label(while_else);
        self.compile_node(&c[3])?;
        self.em.place_label(l.brk);
        self.em.pop_top();
        Ok(())
    }

    fn async_with(&mut self, items: &[&'a Node], body: &'a Node) -> R {
        let Some((first, rest)) = items.split_first() else {
            return self.compile_node(body);
        };
        let l_finally = self.em.new_label();
        let l_aexit_no_exc = self.em.new_label();
        let l_ret_unwind = self.em.new_label();
        let l_end = self.em.new_label();
        match first {
            Node::Struct(w) if w.rule == Rule::with_item => {
                self.compile_node(&w.children[0])?;
                self.em.dup_top();
                self.await_method(b"__aenter__");
                self.assign(&w.children[1], super::stmt::Assign::Store)?;
            }
            other => {
                self.compile_node(other)?;
                self.em.dup_top();
                self.await_method(b"__aenter__");
                self.em.pop_top();
            }
        }
        self.enter_block(l_finally, Block::Finally);
        self.em.adjust_stack(3);
        self.async_with(rest, body)?;
        self.em.adjust_stack(-3);
        // Normal exit: None as the "no exception" marker, then call __aexit__.
        self.em.load_const_none();
        self.em.rot_two();
        self.em.jump(l_aexit_no_exc);
        self.em.place_label(l_finally);
        self.em.dup_top();
        self.load_global_phase_a(b"BaseException");
        self.em.binary_op(super::expr::binop("exc-match"));
        self.em.pop_jump_if(false, l_ret_unwind);
        // An exception: __aexit__(type, exc, None), swallow it when that returns true.
        self.em.dup_top();
        self.em.rot_three();
        self.em.rot_two();
        self.em.load_method(b"__aexit__");
        self.em.rot_three();
        self.em.rot_three();
        self.em.dup_top();
        self.em.load_attr(b"__class__");
        self.em.rot_two();
        self.em.load_const_none();
        self.em.call_method(3, 0, false);
        self.yield_from();
        self.em.pop_jump_if(false, l_end);
        self.em.pop_top();
        self.em.load_const_none();
        self.em.jump(l_end);
        self.em.adjust_stack(2);
        self.em.place_label(l_ret_unwind);
        self.em.rot_three();
        self.em.rot_three();
        self.em.place_label(l_aexit_no_exc);
        self.em.load_method(b"__aexit__");
        self.em.load_const_none();
        self.em.dup_top();
        self.em.dup_top();
        self.em.call_method(3, 0, false);
        self.yield_from();
        self.em.pop_top();
        self.em.adjust_stack(-1);
        self.em.place_label(l_end);
        self.leave_block();
        Ok(())
    }
}
