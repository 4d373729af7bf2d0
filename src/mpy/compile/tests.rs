//! Error parity with mpy-cross 1.29 (messages and lines observed with the reference binary)
//! and the CircuitPython differences of mpy-format §4.

use super::{compile, CompileError, CompileOptions};
use crate::mpy::format::Target;

fn err(src: &str) -> CompileError {
    match compile(src.as_bytes(), "t.py", &CompileOptions::default()) {
        Ok(_) => panic!("expected an error for {src:?}"),
        Err(e) => e,
    }
}

fn syntax(src: &str, message: &str, line: u32) {
    let e = err(src);
    assert_eq!(e.kind(), "SyntaxError", "{src:?}: {e}");
    assert_eq!(e.message(), message, "{src:?}");
    assert_eq!(e.line(), line, "{src:?}");
}

#[test]
fn syntax_errors_match_mpy_cross() {
    syntax("x = 1\nreturn 5\n", "'return' outside function", 2);
    syntax(
        "class A:\n    def f():\n        super().g()\n",
        "super() can't find self",
        3,
    );
    syntax("f(k=1, *a)\n", "* arg after kwarg", 1);
    syntax("f(**k, *a)\n", "* arg after **", 1);
    syntax("break\n", "'break'/'continue' outside loop", 1);
    syntax(
        "def f():\n    nonlocal q\n",
        "no binding for nonlocal found",
        2,
    );
    syntax("def f(a, a): pass\n", "argument name reused", 1);
    syntax(
        "def f(a=1, b): pass\n",
        "non-default argument follows default argument",
        1,
    );
    syntax("a, *b, *c = d\n", "multiple *x in assignment", 1);
    syntax("f() = 1\n", "can't assign to expression", 1);
    syntax("yield 1\n", "'yield' outside function", 1);
    syntax("@micropython.native\ndef f(): pass\n", "invalid arch", 1);
    syntax(
        "@micropython.foo\ndef f(): pass\n",
        "invalid micropython decorator",
        1,
    );
}

#[test]
fn parse_errors_keep_kind_and_line() {
    let e = err("x = (\n");
    assert_eq!(e.kind(), "SyntaxError");
    assert_eq!(e.message(), "invalid syntax");
}

#[test]
fn circuitpython_accepts_star_after_keyword_and_uses_c_magic() {
    let opts = CompileOptions {
        target: Target::CircuitPython,
        ..CompileOptions::default()
    };
    let bytes = compile(b"a(k=1, *b, **c)\n", "t.py", &opts).expect("CircuitPython accepts it");
    assert_eq!(bytes[0], b'C');
    // `... 82 35 84 01`: star bitmap 2 (argument index 1), CALL_FUNCTION_VAR_KW n_pos=1 n_kw=2.
    let tail = [0x82, 0x35, 0x84, 0x01];
    assert!(bytes.windows(4).any(|w| w == tail), "{bytes:02x?}");
}

#[test]
fn assert_is_dropped_at_o1_but_its_line_stays() {
    let o0 = compile(b"assert x\n", "t.py", &CompileOptions::default()).expect("compiles");
    let o1 = compile(
        b"assert x\n",
        "t.py",
        &CompileOptions {
            opt_level: 1,
            ..CompileOptions::default()
        },
    )
    .expect("compiles");
    assert!(o1.len() < o0.len());
}

#[test]
fn math_nan_merges_but_each_folded_nan_is_its_own_constant() {
    // Entry counts observed with mpy-cross 1.29; the golden `nan_constants` checks the bytes.
    let objects = |src: &str| {
        let bytes = compile(src.as_bytes(), "t.py", &CompileOptions::default())
            .unwrap_or_else(|e| panic!("{src:?}: {e}"));
        crate::mpy::file::MpyFile::parse(&bytes)
            .expect("own output parses")
            .objects
            .len()
    };
    assert_eq!(objects("a = math.nan\nb = math.nan\n"), 1);
    assert_eq!(objects("a = +math.nan\nb = math.nan\n"), 1);
    assert_eq!(objects("a = -math.nan\nb = -math.nan\n"), 2);
    assert_eq!(
        objects("a = math.inf - math.inf\nb = math.inf - math.inf\n"),
        2
    );
    assert_eq!(objects("a = (math.nan, 1)\nb = (math.nan, 1)\n"), 1);
    assert_eq!(objects("a = (1e400 * 0,)\nb = (1e400 * 0,)\n"), 2);
    let via_const =
        "from micropython import const\nN = const(math.inf * 0)\na = N\nb = (N, N)\nc = (N, N)\n";
    assert_eq!(objects(via_const), 2);
}

#[test]
fn deep_nesting_compiles_without_overflowing_the_stack() {
    // mpy-cross 1.29 compiles 5,000 nested list displays; so must we.
    let n = 5000;
    let src = format!("x = {}y{}\n", "[".repeat(n), "]".repeat(n));
    compile(src.as_bytes(), "t.py", &CompileOptions::default()).expect("compiles");
}

#[test]
fn numbers_nested_in_more_than_709_constant_tuples_are_a_recursion_error() {
    // mpy-cross 1.29 measured: 709 levels save, 710 raise (no line), for any number type;
    // tuples without numbers, or constants that never reach the file, are not limited.
    let nest = |n: usize, leaf: &str| format!("{}{leaf}{}", "(".repeat(n), ",)".repeat(n));
    let opts = CompileOptions::default();
    for leaf in ["1", "1.5", "10**30", "2j"] {
        let ok = format!("x = {}\n", nest(709, leaf));
        compile(ok.as_bytes(), "t.py", &opts).expect("709 levels compile");
        let deep = format!("x = {}\n", nest(710, leaf));
        let e = compile(deep.as_bytes(), "t.py", &opts).expect_err("710 levels do not");
        assert_eq!(
            (e.kind(), e.message().as_str(), e.line()),
            ("RuntimeError", "maximum recursion depth exceeded", 0)
        );
    }
    for src in [
        format!("x = {}\n", nest(2000, "'a'")),
        format!("if 0:\n    x = {}\n", nest(2000, "1")),
        format!("{}\n", nest(2000, "1")),
    ] {
        compile(src.as_bytes(), "t.py", &opts).expect("not limited");
    }
    // A compile error found earlier wins, as in mpy-cross.
    let both = format!("x = {}\nreturn 1\n", nest(710, "1"));
    let e = compile(both.as_bytes(), "t.py", &opts).expect_err("rejected");
    assert_eq!((e.kind(), e.line()), ("SyntaxError", 2));
}

#[test]
fn fstring_fields_spanning_lines_compile() {
    // Byte identity is checked by the golden `fstrings_multiline`; here: no refusal.
    for src in [
        &b"x = f\"\"\"a{\nb\n}\n\"\"\"\n"[..],
        b"x = f\"\"\"a\n{b.\nc}\n\"\"\"\n",
    ] {
        compile(src, "t.py", &CompileOptions::default()).expect("compiles");
    }
}
