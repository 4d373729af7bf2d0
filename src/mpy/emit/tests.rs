//! Hand-assembled programs checked byte for byte against mpy-cross output: the §2.8 worked
//! example and goldens from `tests/fixtures/mpy/` that exercise the jump sizing of §3.9.

use super::*;
use crate::mpy::emit::ops::BuildKind;
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
