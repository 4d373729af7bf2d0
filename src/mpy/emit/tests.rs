//! Hand-assembled programs checked byte for byte against mpy-cross output: the §2.8 worked
//! example and goldens from `tests/fixtures/mpy/` that exercise the jump sizing of §3.9.

use super::*;

use crate::mpy::file::tests_support::WORKED_EXAMPLE;
use crate::mpy::opcode::BinaryOp;

type Body<'a> = Box<dyn Fn(&mut Emitter) + 'a>;

/// Drive every pass in the compiler's order (§3.1) over `scopes` (index = ScopeId, 0 = module).
fn compile(source: &[u8], scopes: &[(ScopeInfo, Body<'_>)]) -> Result<MpyFile, EmitError> {
    let mut e = Emitter::new(source, Target::MicroPython);
    for (id, (info, body)) in scopes.iter().enumerate() {
        e.begin_pass(id, Pass::Scope, info);
        body(&mut e);
        e.end_pass()?;
    }
    for (id, (info, body)) in scopes.iter().enumerate() {
        for pass in [Pass::StackSize, Pass::CodeSize] {
            e.begin_pass(id, pass, info);
            body(&mut e);
            e.end_pass()?;
        }
        let mut rounds = 0;
        loop {
            e.begin_pass(id, Pass::Emit, info);
            body(&mut e);
            rounds += 1;
            if e.end_pass()? == PassEnd::Done {
                break;
            }
            assert!(rounds < 50, "emit passes do not converge");
        }
    }
    e.finish(0)
}

fn module_info() -> ScopeInfo {
    ScopeInfo {
        name: b"<module>".to_vec(),
        ..ScopeInfo::default()
    }
}

fn plus() -> BinaryOp {
    BinaryOp::from_symbol("+").expect("+ is a binary op")
}

#[test]
fn worked_example_byte_for_byte() {
    // §2.8: x = 1 / def f(a, b=2, *args, c, d=3, **kw): return a + b / print(f(x, c=4))
    let module: Body = Box::new(|e| {
        e.set_source_line(1);
        e.load_const_small_int(1);
        e.store_name(b"x");
        e.set_source_line(2);
        e.load_const_small_int(2);
        e.build(BuildKind::Tuple, 1);
        e.build(BuildKind::Map, 0);
        e.load_const_small_int(3);
        e.load_const_string(b"d");
        e.store_map();
        e.make_function_defargs(1);
        e.store_name(b"f");
        e.set_source_line(4);
        e.load_name(b"print");
        e.load_name(b"f");
        e.load_name(b"x");
        e.load_const_string(b"c");
        e.load_const_small_int(4);
        e.call_function(1, 1, false);
        e.call_function(1, 0, false);
        e.pop_top();
        e.load_const_none();
        e.return_value();
    });
    let f_info = ScopeInfo {
        name: b"f".to_vec(),
        // The *args swap quirk of §3.5 puts d before c.
        arg_names: vec![b"a".to_vec(), b"b".to_vec(), b"d".to_vec(), b"c".to_vec()],
        n_pos_args: 2,
        n_kwonly_args: 2,
        n_def_pos_args: 1,
        scope_flags: 0xE,
        n_locals: 6,
        cells: vec![],
    };
    let f: Body = Box::new(|e| {
        e.set_source_line(3);
        e.load_fast(0);
        e.load_fast(1);
        e.binary_op(plus());
        e.return_value();
        // The implicit `return None` is dead after the return and writes nothing.
        e.load_const_none();
        e.return_value();
    });
    let file = compile(b"t/a.py", &[(module_info(), module), (f_info, f)]).expect("emits");
    assert_eq!(file.to_bytes(), WORKED_EXAMPLE);
}

fn golden(name: &str) -> (Vec<u8>, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mpy");
    let mpy = std::fs::read(dir.join(format!("{name}.mpy"))).expect("golden .mpy");
    let py = std::fs::read_to_string(dir.join(format!("{name}.py"))).expect("golden .py");
    (mpy, py)
}

/// (line, name) of every top-level `def`.
fn defs(py: &str) -> Vec<(u64, String)> {
    py.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let rest = l.strip_prefix("def ")?;
            Some((i as u64 + 1, rest.split('(').next()?.to_owned()))
        })
        .collect()
}

fn one_arg(name: &str, n_locals: u32) -> ScopeInfo {
    ScopeInfo {
        name: name.as_bytes().to_vec(),
        arg_names: vec![b"x".to_vec()],
        n_pos_args: 1,
        n_locals,
        ..ScopeInfo::default()
    }
}

/// Module code that defines each function in turn.
fn module_of_defs(defs: &[(u64, String)]) -> Body<'_> {
    Box::new(move |e| {
        for (i, (line, name)) in defs.iter().enumerate() {
            e.set_source_line(*line);
            e.make_function(i + 1);
            e.store_name(name.as_bytes());
        }
        e.load_const_none();
        e.return_value();
    })
}

#[test]
fn jump_sizes_golden_byte_for_byte() {
    // `if x:` / `for i in x:` around bodies of N two-byte statements `x = x` (§3.9).
    let (mpy, py) = golden("jump_sizes");
    let defs = defs(&py);
    let mut scopes: Vec<(ScopeInfo, Body)> = vec![(module_info(), module_of_defs(&defs))];
    for (line, name) in &defs {
        let line = *line;
        let (kind, n) = name.split_once('_').expect("kind_n");
        let n: u64 = n.parse().expect("body size");
        if kind == "if" {
            scopes.push((
                one_arg(name, 1),
                Box::new(move |e| {
                    e.set_source_line(line + 1);
                    let end = e.new_label();
                    e.load_fast(0);
                    e.pop_jump_if(false, end);
                    for k in 0..n {
                        e.set_source_line(line + 2 + k);
                        e.load_fast(0);
                        e.store_fast(0);
                    }
                    e.place_label(end);
                    e.set_source_line(line + n + 2);
                    e.load_fast(0);
                    e.return_value();
                    e.load_const_none();
                    e.return_value();
                }),
            ));
        } else {
            scopes.push((
                one_arg(name, 2),
                Box::new(move |e| {
                    e.set_source_line(line + 1);
                    let top = e.new_label();
                    let end = e.new_label();
                    e.load_fast(0);
                    e.get_iter_stack();
                    e.place_label(top);
                    e.for_iter(end);
                    e.store_fast(1);
                    for k in 0..n {
                        e.set_source_line(line + 2 + k);
                        e.load_fast(0);
                        e.store_fast(0);
                    }
                    e.jump(top);
                    e.place_label(end);
                    e.adjust_stack(-4);
                    e.set_source_line(line + n + 2);
                    e.load_fast(0);
                    e.return_value();
                    e.load_const_none();
                    e.return_value();
                }),
            ));
        }
    }
    let file = compile(b"jump_sizes.py", &scopes).expect("emits");
    assert_eq!(file, MpyFile::parse(&mpy).expect("golden parses"));
    assert_eq!(file.to_bytes(), mpy);
}

#[test]
fn long_function_golden_byte_for_byte() {
    // while x: 40 stmts; if y: 40 stmts; continue / 40 stmts — 2-byte jumps both ways.
    let (mpy, py) = golden("long_function");
    let defs = defs(&py);
    let line0 = defs[0].0;
    let stmts = |e: &mut Emitter, first_line: u64| {
        for i in 0..40 {
            e.set_source_line(first_line + i);
            e.load_fast(0);
            e.load_const_small_int(i as i64);
            e.binary_op(plus());
            e.store_fast(1);
        }
    };
    let body: Body = Box::new(move |e| {
        e.set_source_line(line0 + 1);
        let cond = e.new_label();
        let top = e.new_label();
        let after_if = e.new_label();
        e.jump(cond);
        e.place_label(top);
        stmts(e, line0 + 2);
        e.set_source_line(line0 + 42);
        e.load_fast(1);
        e.pop_jump_if(false, after_if);
        stmts(e, line0 + 43);
        e.set_source_line(line0 + 83);
        e.jump(cond);
        e.place_label(after_if);
        stmts(e, line0 + 84);
        e.place_label(cond);
        e.load_fast(0);
        e.pop_jump_if(true, top);
        e.set_source_line(line0 + 124);
        e.load_fast(0);
        e.return_value();
        e.load_const_none();
        e.return_value();
    });
    let scopes: Vec<(ScopeInfo, Body)> = vec![
        (module_info(), module_of_defs(&defs)),
        (one_arg("long", 2), body),
    ];
    let file = compile(b"long_function.py", &scopes).expect("emits");
    assert_eq!(file, MpyFile::parse(&mpy).expect("golden parses"));
    assert_eq!(file.to_bytes(), mpy);
}

#[test]
fn misuse_is_reported_not_panicked() {
    let mut e = Emitter::new(b"m.py", Target::MicroPython);
    e.load_const_none();
    assert_eq!(e.end_pass(), Err(EmitError::NoPass));
    let info = module_info();
    e.begin_pass(0, Pass::StackSize, &info);
    e.end_pass().expect("empty pass");
    e.begin_pass(0, Pass::CodeSize, &info);
    let l = e.new_label();
    e.jump(l);
    assert_eq!(
        e.end_pass(),
        Err(EmitError::LabelNotPlaced { scope: 0, label: 0 })
    );
    let e = Emitter::new(b"m.py", Target::MicroPython);
    assert_eq!(
        e.finish(3).err(),
        Some(EmitError::ScopeMissing { scope: 3 })
    );
}

#[test]
fn scope_pass_registers_only_non_names() {
    let mut e = Emitter::new(b"m.py", Target::CircuitPython);
    let info = module_info();
    e.begin_pass(0, Pass::Scope, &info);
    e.load_name(b"a");
    e.store_global(b"b");
    e.load_attr(b"attr");
    e.load_const_obj(Const::Float("1.5".into()));
    e.end_pass().expect("scope pass");
    let texts: Vec<&[u8]> = e
        .qstrs()
        .entries()
        .iter()
        .map(|q| q.text.as_slice())
        .collect();
    assert_eq!(texts, [&b"m.py"[..], b"<module>", b"attr"]);
    assert_eq!(e.consts().entries().len(), 1);
}

fn binop(sym: &str) -> BinaryOp {
    BinaryOp::from_symbol(sym).expect("known operator")
}

#[test]
fn try_except_golden_byte_for_byte() {
    // Exercises SETUP_FINALLY/SETUP_EXCEPT, POP_EXCEPT_JUMP, dead code after raise/return,
    // exception levels (n_exc_stack 3) and the §3.7 stack adjustments of try statements.
    let (mpy, _) = golden("try_except");
    let module: Body = Box::new(|e| {
        e.set_source_line(1);
        e.make_function(1);
        e.store_name(b"g");
        e.set_source_line(18);
        e.make_function(2);
        e.store_name(b"h");
        e.load_const_none();
        e.return_value();
    });
    let g: Body = Box::new(|e| {
        let print_call = |e: &mut Emitter, s: &[u8]| {
            e.load_global(b"print");
            e.load_const_string(s);
        };
        e.set_source_line(2);
        let l_finally = e.new_label();
        e.setup_finally(l_finally);
        e.enter_exception_level();
        e.adjust_stack(3);
        e.set_source_line(3);
        let l_handlers = e.new_label();
        let l_else = e.new_label();
        let l_end = e.new_label();
        e.setup_except(l_handlers);
        e.enter_exception_level();
        e.set_source_line(4);
        e.load_const_small_int(1);
        e.load_fast(0);
        e.binary_op(binop("/"));
        e.store_fast(1);
        e.pop_except_jump(l_else);
        e.place_label(l_handlers);
        e.adjust_stack(4);
        // except ZeroDivisionError as e:
        let next1 = e.new_label();
        e.dup_top();
        e.load_global(b"ZeroDivisionError");
        e.binary_op(binop("exc-match"));
        e.pop_jump_if(false, next1);
        e.store_fast(2);
        let l_as = e.new_label();
        e.setup_finally(l_as);
        e.enter_exception_level();
        e.set_source_line(6);
        print_call(e, b"zero");
        e.load_fast(2);
        e.call_function(2, 0, false);
        e.pop_top();
        e.set_source_line(7);
        e.raise_last();
        e.load_const_none();
        e.place_label(l_as);
        e.adjust_stack(1);
        e.load_const_none();
        e.store_fast(2);
        e.delete_fast(2);
        e.adjust_stack(-1);
        e.end_finally();
        e.exit_exception_level();
        e.pop_except_jump(l_end);
        e.place_label(next1);
        e.adjust_stack(1);
        // except (TypeError, ValueError):
        let next2 = e.new_label();
        e.dup_top();
        e.set_source_line(8);
        e.load_global(b"TypeError");
        e.load_global(b"ValueError");
        e.build(BuildKind::Tuple, 2);
        e.binary_op(binop("exc-match"));
        e.pop_jump_if(false, next2);
        e.pop_top();
        e.set_source_line(9);
        e.load_const_none();
        e.store_fast(1);
        e.pop_except_jump(l_end);
        e.place_label(next2);
        e.adjust_stack(1);
        // bare except:
        let next3 = e.new_label();
        e.pop_top();
        e.set_source_line(11);
        e.load_global(b"RuntimeError");
        e.load_const_string(b"other");
        e.call_function(1, 0, false);
        e.load_const_none();
        e.raise_from();
        e.pop_except_jump(l_end);
        e.place_label(next3);
        e.adjust_stack(1);
        e.end_finally();
        e.adjust_stack(-3);
        e.exit_exception_level();
        e.place_label(l_else);
        e.set_source_line(13);
        print_call(e, b"ok");
        e.call_function(1, 0, false);
        e.pop_top();
        e.place_label(l_end);
        e.adjust_stack(-3);
        e.load_const_none();
        e.place_label(l_finally);
        e.adjust_stack(1);
        e.set_source_line(15);
        print_call(e, b"done");
        e.call_function(1, 0, false);
        e.pop_top();
        e.adjust_stack(-1);
        e.end_finally();
        e.exit_exception_level();
        e.set_source_line(16);
        e.load_fast(1);
        e.return_value();
        e.load_const_none();
        e.return_value();
    });
    let h: Body = Box::new(|e| {
        e.set_source_line(19);
        let l_finally = e.new_label();
        e.setup_finally(l_finally);
        e.enter_exception_level();
        e.adjust_stack(3);
        e.set_source_line(20);
        e.load_const_small_int(1);
        e.return_value();
        e.adjust_stack(-3);
        e.load_const_none();
        e.place_label(l_finally);
        e.adjust_stack(1);
        e.set_source_line(22);
        e.adjust_stack(-1);
        e.end_finally();
        e.exit_exception_level();
        e.load_const_none();
        e.return_value();
    });
    let scopes: Vec<(ScopeInfo, Body)> = vec![
        (module_info(), module),
        (one_arg("g", 3), g),
        (
            ScopeInfo {
                name: b"h".to_vec(),
                ..ScopeInfo::default()
            },
            h,
        ),
    ];
    let file = compile(b"try_except.py", &scopes).expect("emits");
    assert_eq!(file, MpyFile::parse(&mpy).expect("golden parses"));
    assert_eq!(file.to_bytes(), mpy);
}

#[test]
fn with_golden_byte_for_byte() {
    // SETUP_WITH / WITH_CLEANUP stack peaks, dead LOAD_CONST_NONE after return, and the
    // 3-line limit of short line entries (`0:4 0:6`).
    let (mpy, _) = golden("with_stmt");
    let module: Body = Box::new(|e| {
        e.set_source_line(1);
        e.make_function(1);
        e.store_name(b"f");
        e.set_source_line(5);
        e.make_function(2);
        e.store_name(b"g");
        e.load_const_none();
        e.return_value();
    });
    // Each with item: <ctx>; SETUP_WITH L; (store|POP_TOP); <inner>; LOAD_CONST_NONE;
    // L: WITH_CLEANUP; END_FINALLY.
    let f: Body = Box::new(|e| {
        e.set_source_line(2);
        let l1 = e.new_label();
        let l2 = e.new_label();
        e.load_fast(0);
        e.setup_with(l1);
        e.enter_exception_level();
        e.store_fast(2);
        e.load_fast(1);
        e.setup_with(l2);
        e.enter_exception_level();
        e.pop_top();
        e.set_source_line(3);
        e.load_fast(2);
        e.return_value();
        e.load_const_none();
        e.place_label(l2);
        e.with_cleanup();
        e.end_finally();
        e.exit_exception_level();
        e.load_const_none();
        e.place_label(l1);
        e.with_cleanup();
        e.end_finally();
        e.exit_exception_level();
        e.load_const_none();
        e.return_value();
    });
    let g: Body = Box::new(|e| {
        e.set_source_line(6);
        let l0 = e.new_label();
        e.load_fast(0);
        e.setup_with(l0);
        e.enter_exception_level();
        e.pop_top();
        e.set_source_line(7);
        e.load_const_small_int(1);
        e.store_fast(1);
        e.load_const_none();
        e.place_label(l0);
        e.with_cleanup();
        e.end_finally();
        e.exit_exception_level();
        e.set_source_line(8);
        let l1 = e.new_label();
        let l2 = e.new_label();
        e.load_global(b"open");
        e.load_const_string(b"f");
        e.call_function(1, 0, false);
        e.setup_with(l1);
        e.enter_exception_level();
        e.store_fast(2);
        e.load_global(b"open");
        e.load_const_string(b"g");
        e.call_function(1, 0, false);
        e.setup_with(l2);
        e.enter_exception_level();
        e.store_fast(3);
        e.set_source_line(9);
        e.load_fast(2);
        e.load_method(b"write");
        e.load_fast(3);
        e.load_method(b"read");
        e.call_method(0, 0, false);
        e.call_method(1, 0, false);
        e.pop_top();
        e.load_const_none();
        e.place_label(l2);
        e.with_cleanup();
        e.end_finally();
        e.exit_exception_level();
        e.load_const_none();
        e.place_label(l1);
        e.with_cleanup();
        e.end_finally();
        e.exit_exception_level();
        e.set_source_line(10);
        e.load_fast(1);
        e.return_value();
        e.load_const_none();
        e.return_value();
    });
    let two_args = ScopeInfo {
        name: b"f".to_vec(),
        arg_names: vec![b"a".to_vec(), b"c".to_vec()],
        n_pos_args: 2,
        n_locals: 3,
        ..ScopeInfo::default()
    };
    let g_info = ScopeInfo {
        name: b"g".to_vec(),
        arg_names: vec![b"lock".to_vec()],
        n_pos_args: 1,
        n_locals: 4,
        ..ScopeInfo::default()
    };
    let scopes: Vec<(ScopeInfo, Body)> = vec![(module_info(), module), (two_args, f), (g_info, g)];
    let file = compile(b"with_stmt.py", &scopes).expect("emits");
    assert_eq!(file, MpyFile::parse(&mpy).expect("golden parses"));
    assert_eq!(file.to_bytes(), mpy);
}

#[test]
fn long_line_gaps_golden_byte_for_byte() {
    // 3,000-line gap (two 2-byte entries), a 10-line gap (2-byte) and a 101-line gap.
    let (mpy, py) = golden("line_gaps_long");
    let line_of = |prefix: &str| {
        py.lines()
            .position(|l| l.starts_with(prefix))
            .map_or(0, |i| i as u64 + 1)
    };
    let (ly, lz, lw) = (line_of("y ="), line_of("z ="), line_of("w ="));
    let module: Body = Box::new(move |e| {
        e.set_source_line(1);
        e.load_const_small_int(1);
        e.store_name(b"x");
        e.set_source_line(ly);
        e.load_const_small_int(2);
        e.store_name(b"y");
        e.set_source_line(lz);
        e.load_const_small_int(3);
        e.store_name(b"z");
        e.set_source_line(lw);
        e.load_name(b"x");
        e.load_name(b"y");
        e.build(BuildKind::Tuple, 2);
        e.store_name(b"w");
        e.load_const_none();
        e.return_value();
    });
    let file = compile(b"line_gaps_long.py", &[(module_info(), module)]).expect("emits");
    assert_eq!(file.to_bytes(), mpy);
}

#[test]
fn nested_jumps_golden_byte_for_byte() {
    // Nested ifs whose outer jump depends on the inner one shrinking (n_29 keeps `44 BF 80`
    // for +63 although the short form would fit: the §3.9 fixpoint), and while loops with a
    // forward `break` and a long backward jump.
    let (mpy, py) = golden("jump_nested");
    let defs = defs(&py);
    let mut scopes: Vec<(ScopeInfo, Body)> = vec![(module_info(), module_of_defs(&defs))];
    let assign_x = |e: &mut Emitter, line: u64| {
        e.set_source_line(line);
        e.load_fast(0);
        e.store_fast(0);
    };
    let ret_x = |e: &mut Emitter, line: u64| {
        e.set_source_line(line);
        e.load_fast(0);
        e.return_value();
        e.load_const_none();
        e.return_value();
    };
    for (d, name) in &defs {
        let d = *d;
        let (kind, k) = name.split_once('_').expect("kind_k");
        let k: u64 = k.parse().expect("body size");
        let body: Body = if kind == "n" {
            Box::new(move |e| {
                e.set_source_line(d + 1);
                let outer = e.new_label();
                e.load_fast(0);
                e.pop_jump_if(false, outer);
                e.set_source_line(d + 2);
                let inner = e.new_label();
                e.load_fast(0);
                e.pop_jump_if(false, inner);
                for i in 0..k {
                    assign_x(e, d + 3 + i);
                }
                e.place_label(inner);
                assign_x(e, d + 3 + k);
                e.place_label(outer);
                ret_x(e, d + 4 + k);
            })
        } else {
            Box::new(move |e| {
                e.set_source_line(d + 1);
                let cond = e.new_label();
                let top = e.new_label();
                let end = e.new_label();
                e.jump(cond);
                e.place_label(top);
                e.set_source_line(d + 2);
                let after_if = e.new_label();
                e.load_fast(0);
                e.pop_jump_if(false, after_if);
                e.set_source_line(d + 3);
                e.jump(end);
                e.place_label(after_if);
                for i in 0..k {
                    assign_x(e, d + 4 + i);
                }
                e.place_label(cond);
                e.load_fast(0);
                e.pop_jump_if(true, top);
                e.place_label(end);
                ret_x(e, d + 4 + k);
            })
        };
        scopes.push((one_arg(name, 1), body));
    }
    let file = compile(b"jump_nested.py", &scopes).expect("emits");
    assert_eq!(file, MpyFile::parse(&mpy).expect("golden parses"));
    assert_eq!(file.to_bytes(), mpy);
}

#[test]
fn loops_golden_byte_for_byte() {
    // for/else with continue and break (4×POP_TOP), while with break, break/continue inside
    // try/finally and with (UNWIND_JUMP, from-for flag), and the counted range loops.
    let (mpy, _) = golden("loops_break_continue");
    let module: Body = Box::new(|e| {
        e.set_source_line(1);
        e.make_function(1);
        e.store_name(b"f");
        e.load_const_none();
        e.return_value();
    });
    let op = binop;
    let f: Body = Box::new(move |e| {
        let (items, lock, total, i, j, k) = (0, 1, 2, 3, 4, 5);
        e.set_source_line(2);
        e.load_const_small_int(0);
        e.store_fast(total);
        // for i in items: ... else: total = -1
        e.set_source_line(3);
        let (top, end, brk) = (e.new_label(), e.new_label(), e.new_label());
        e.load_fast(items);
        e.get_iter_stack();
        e.place_label(top);
        e.for_iter(end);
        e.store_fast(i);
        e.set_source_line(4);
        let after = e.new_label();
        e.load_fast(i);
        e.load_const_small_int(0);
        e.binary_op(op("<"));
        e.pop_jump_if(false, after);
        e.set_source_line(5);
        e.jump(top);
        e.place_label(after);
        e.set_source_line(6);
        let after = e.new_label();
        e.load_fast(i);
        e.load_const_small_int(100);
        e.binary_op(op(">"));
        e.pop_jump_if(false, after);
        e.set_source_line(7);
        for _ in 0..4 {
            e.pop_top();
        }
        e.jump(brk);
        // Not in the §3.7 list but needed for n_state 14: the four POP_TOPs of a `break` out
        // of a `for` do not lower the depth the rest of the loop body is counted from.
        e.adjust_stack(4);
        e.place_label(after);
        e.set_source_line(8);
        e.load_fast(total);
        e.load_fast(i);
        e.binary_op(op("+="));
        e.store_fast(total);
        e.jump(top);
        e.place_label(end);
        e.adjust_stack(-4);
        e.set_source_line(10);
        e.load_const_small_int(-1);
        e.store_fast(total);
        e.place_label(brk);
        // while total > 10: ...
        e.set_source_line(11);
        let (cond, top, brk) = (e.new_label(), e.new_label(), e.new_label());
        e.jump(cond);
        e.place_label(top);
        e.set_source_line(12);
        e.load_fast(total);
        e.load_const_small_int(3);
        e.binary_op(op("-="));
        e.store_fast(total);
        e.set_source_line(13);
        e.load_fast(total);
        e.load_const_small_int(5);
        e.binary_op(op("=="));
        let after = e.new_label();
        e.pop_jump_if(false, after);
        e.set_source_line(14);
        e.jump(brk);
        e.place_label(after);
        e.place_label(cond);
        e.load_fast(total);
        e.load_const_small_int(10);
        e.binary_op(op(">"));
        e.pop_jump_if(true, top);
        e.place_label(brk);
        // for j in items: try: ... finally: total += 1
        e.set_source_line(15);
        let (top, end) = (e.new_label(), e.new_label());
        e.load_fast(items);
        e.get_iter_stack();
        e.place_label(top);
        e.for_iter(end);
        e.store_fast(j);
        e.set_source_line(16);
        let fin = e.new_label();
        e.setup_finally(fin);
        e.enter_exception_level();
        e.adjust_stack(3);
        e.set_source_line(17);
        let after = e.new_label();
        e.load_fast(j);
        e.pop_jump_if(false, after);
        e.set_source_line(18);
        e.unwind_jump(end, 1, true);
        e.place_label(after);
        e.set_source_line(19);
        e.unwind_jump(top, 1, false);
        e.adjust_stack(-3);
        e.load_const_none();
        e.place_label(fin);
        e.adjust_stack(1);
        e.set_source_line(21);
        e.load_fast(total);
        e.load_const_small_int(1);
        e.binary_op(op("+="));
        e.store_fast(total);
        e.adjust_stack(-1);
        e.end_finally();
        e.exit_exception_level();
        e.jump(top);
        e.place_label(end);
        e.adjust_stack(-4);
        // while True: with lock: ...
        e.set_source_line(22);
        let (top, cont, brk) = (e.new_label(), e.new_label(), e.new_label());
        e.place_label(top);
        e.set_source_line(23);
        let cleanup = e.new_label();
        e.load_fast(lock);
        e.setup_with(cleanup);
        e.enter_exception_level();
        e.pop_top();
        e.set_source_line(24);
        let after = e.new_label();
        e.load_fast(total);
        e.pop_jump_if(false, after);
        e.set_source_line(25);
        e.unwind_jump(brk, 1, false);
        e.place_label(after);
        e.set_source_line(26);
        e.unwind_jump(cont, 1, false);
        e.load_const_none();
        e.place_label(cleanup);
        e.with_cleanup();
        e.end_finally();
        e.exit_exception_level();
        e.place_label(cont);
        e.jump(top);
        e.place_label(brk);
        // for k in range(10): total += k
        e.set_source_line(27);
        let (top, cond) = (e.new_label(), e.new_label());
        e.load_const_small_int(0);
        e.jump(cond);
        e.place_label(top);
        e.dup_top();
        e.store_fast(k);
        e.set_source_line(28);
        e.load_fast(total);
        e.load_fast(k);
        e.binary_op(op("+="));
        e.store_fast(total);
        e.load_const_small_int(1);
        e.binary_op(op("+="));
        e.place_label(cond);
        e.dup_top();
        e.load_const_small_int(10);
        e.binary_op(op("<"));
        e.pop_jump_if(true, top);
        e.pop_top();
        // for k in range(1, total, -2): pass / for k in range(total): pass
        for (line, start, step, cmp) in [(29, 1, -2, ">"), (31, 0, 1, "<")] {
            e.set_source_line(line);
            let (top, cond) = (e.new_label(), e.new_label());
            e.load_fast(total);
            e.load_const_small_int(start);
            e.jump(cond);
            e.place_label(top);
            e.dup_top();
            e.store_fast(k);
            e.set_source_line(line + 1);
            e.load_const_small_int(step);
            e.binary_op(op("+="));
            e.place_label(cond);
            e.dup_top_two();
            e.rot_two();
            e.binary_op(op(cmp));
            e.pop_jump_if(true, top);
            e.pop_top();
            e.pop_top();
        }
        e.set_source_line(33);
        e.load_fast(total);
        e.return_value();
        e.load_const_none();
        e.return_value();
    });
    let f_info = ScopeInfo {
        name: b"f".to_vec(),
        arg_names: vec![b"items".to_vec(), b"lock".to_vec()],
        n_pos_args: 2,
        n_locals: 6,
        ..ScopeInfo::default()
    };
    let scopes: Vec<(ScopeInfo, Body)> = vec![(module_info(), module), (f_info, f)];
    let file = compile(b"loops_break_continue.py", &scopes).expect("emits");
    assert_eq!(file, MpyFile::parse(&mpy).expect("golden parses"));
    assert_eq!(file.to_bytes(), mpy);
}

#[test]
fn table_order_golden_byte_for_byte() {
    // §3.10: constants in breadth-first scope order (the module's 2.5 first, f's deduplicated),
    // non-name qstrs in phase A (`real` before `g`), names and `*` in phase B; a cell and a
    // closure with a hidden free-variable argument.
    let (mpy, _) = golden("table_order");
    let float = |t: &str| Const::Float(t.to_owned());
    let module: Body = Box::new(move |e| {
        e.set_source_line(1);
        e.load_const_obj(float("1.5"));
        e.store_name(b"x");
        e.set_source_line(2);
        e.make_function(1);
        e.store_name(b"f");
        e.set_source_line(7);
        e.load_const_obj(float("4.5"));
        e.store_name(b"z");
        e.set_source_line(8);
        e.load_name(b"f");
        e.load_const_obj(float("2.5"));
        e.call_function(1, 0, false);
        e.store_name(b"w");
        e.load_const_none();
        e.return_value();
    });
    let f: Body = Box::new(move |e| {
        e.set_source_line(3);
        e.load_const_obj(float("2.5"));
        e.store_deref(1);
        e.set_source_line(4);
        e.load_fast(1);
        e.make_closure(2, 1);
        e.store_fast(0);
        e.set_source_line(6);
        e.load_const_obj(Const::Str(b"a long string constant".to_vec()));
        e.load_fast(0);
        e.load_global(b"x");
        e.load_attr(b"real");
        e.build(BuildKind::Tuple, 3);
        e.return_value();
        e.load_const_none();
        e.return_value();
    });
    let g: Body = Box::new(move |e| {
        e.set_source_line(5);
        e.load_const_obj(float("3.5"));
        e.load_deref(0);
        e.load_attr(b"attr");
        e.build(BuildKind::Tuple, 2);
        e.return_value();
        e.load_const_none();
        e.return_value();
    });
    let f_info = ScopeInfo {
        name: b"f".to_vec(),
        n_locals: 2,
        cells: vec![1],
        ..ScopeInfo::default()
    };
    let g_info = ScopeInfo {
        name: b"g".to_vec(),
        arg_names: vec![b"*".to_vec()],
        n_pos_args: 1,
        n_locals: 1,
        ..ScopeInfo::default()
    };
    let scopes: Vec<(ScopeInfo, Body)> = vec![(module_info(), module), (f_info, f), (g_info, g)];
    let file = compile(b"table_order.py", &scopes).expect("emits");
    assert_eq!(file, MpyFile::parse(&mpy).expect("golden parses"));
    assert_eq!(file.to_bytes(), mpy);
}
