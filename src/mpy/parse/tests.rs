//! Parser behaviour: tree shape, folding (mpy-format §3.4 table), const(), interning and
//! errors with mpy-cross's messages and lines.

use super::*;

fn tree(src: &str) -> String {
    dump(&parse(src.as_bytes(), &ParseOptions::default()).expect("parses"))
}

fn err(src: &str) -> (String, u32) {
    let e = parse(src.as_bytes(), &ParseOptions::default()).expect_err("must fail");
    (e.kind.to_string(), e.line)
}

/// The value assigned by the single statement `x = <expr>`.
fn value(expr: &str) -> String {
    let t = tree(&format!("x = {expr}\n"));
    let mut lines = t.lines();
    assert_eq!(lines.next(), Some("expr_stmt line=1"), "{t}");
    assert_eq!(lines.next(), Some("  id(x)"), "{t}");
    let rest: Vec<&str> = lines.map(|l| &l[2..]).collect();
    rest.join("\n")
}

#[test]
fn folding_table() {
    assert_eq!(value("1 + 2 * 3"), "int(7)");
    assert_eq!(
        value("2 ** 100"),
        "const line=0 int(1267650600228229401496703205376)"
    );
    assert_eq!(value("1 << 40"), "const line=0 int(1099511627776)");
    assert_eq!(
        value("7 // 2, 7 % -3, -7 // 2"),
        "const line=1 tuple(int(3), int(-2), int(-4))"
    );
    assert_eq!(value("10 / 4"), "const line=0 float(2.5)");
    assert_eq!(
        value("-2 ** 0.5"),
        "const line=0 float(-1.4142135623730951)"
    );
    assert_eq!(value("1 and 2"), "int(2)");
    assert_eq!(value("0 or y"), "id(y)");
    assert_eq!(value("not 0"), "tok(KwTrue)");
    assert_eq!(value("not 1"), "tok(KwFalse)");
    assert_eq!(value("2 ** -1"), "const line=0 float(0.5)");
    assert_eq!(value("~5"), "int(-6)");
    assert_eq!(value("-(1 << 30)"), "int(-1073741824)");
    assert_eq!(value("1 << 30"), "const line=0 int(1073741824)");
}

#[test]
fn partial_or_refused_folds_stay() {
    assert!(value("1 + 2 + y").starts_with("arith_expr line=1"));
    assert!(value("1 / 0").starts_with("term line=1"));
    assert!(value("10 % 0").starts_with("term line=1"));
    assert!(value("(-1) ** 0.5").starts_with("power line=1"));
    assert!(value("(1 + 2j) * 2").starts_with("term line=1"));
    assert!(value("1.0 + 2j").starts_with("arith_expr line=1"));
    assert!(value("~1.5").starts_with("factor_2 line=1"));
    assert!(value("'a' + 'b'").starts_with("arith_expr line=1"));
    assert!(value("True + 1").starts_with("arith_expr line=1"));
    assert!(value("'ab' * 2").starts_with("term line=1"));
    assert!(value("1 << -1").starts_with("shift_expr line=1"));
    assert!(value("3 @ 4").starts_with("term line=1"));
    assert!(value("1 if True else 2").starts_with("test_if_expr line=1"));
    assert!(value("errno.EINTR").starts_with("atom_expr_normal line=1"));
}

#[test]
fn logical_pruning() {
    assert_eq!(value("y or 0 or z"), "or_test line=1\n  id(y)\n  id(z)");
    assert_eq!(value("y or 1 or z"), "or_test line=1\n  id(y)\n  int(1)");
    assert_eq!(value("y and 1 and z"), "and_test line=1\n  id(y)\n  id(z)");
    assert_eq!(value("y or 0"), "or_test line=1\n  id(y)\n  int(0)");
}

#[test]
fn math_constants_fold_without_import() {
    assert_eq!(
        value("math.pi, math.e, math.inf"),
        "const line=1 tuple(float(3.141592653589793), float(2.718281828459045), float(inf))"
    );
    assert_eq!(value("math.tau"), "const line=0 float(6.283185307179586)");
    assert!(value("math.sqrt").starts_with("atom_expr_normal"));
}

#[test]
fn constant_tuples() {
    assert_eq!(
        value("(1, 'a', None, (), b'x', (2,))"),
        "const line=1 tuple(int(1), str(\"a\"), None, tuple(), bytes(\"x\"), tuple(int(2)))"
    );
    assert_eq!(value("()"), "atom_paren line=1\n  NULL");
    assert_eq!(
        value("(y,)"),
        "atom_paren line=1\n  testlist_comp line=1\n    id(y)"
    );
    assert_eq!(
        value("(y, 1, 2)"),
        "atom_paren line=1\n  testlist_comp line=1\n    id(y)\n    int(1)\n    int(2)"
    );
    assert_eq!(
        value("[1, 2]"),
        "atom_bracket line=1\n  testlist_comp line=1\n    int(1)\n    int(2)"
    );
    assert_eq!(value("((y))"), "id(y)");
    let t = tree("for i in 1, 2: pass\nreturn 1, 2\ny[1, 2]\n");
    assert_eq!(t.matches("tuple(int(1), int(2))").count(), 3, "{t}");
}

#[test]
fn lonely_constants_become_pass_keeping_the_line() {
    let t =
        tree("def f():\n    \"\"\"doc\"\"\"\n    ...\n    None\n    1 + 2\n    (1, 2)\n    x\n");
    assert_eq!(t.matches("pass_stmt line=").count(), 5, "{t}");
    for line in 2..=6 {
        assert!(t.contains(&format!("pass_stmt line={line}")), "{t}");
    }
    assert!(t.contains("expr_stmt line=7"), "{t}");
}

#[test]
fn const_definitions_are_substituted_everywhere() {
    let t = tree("X = const(3)\n_Y = const(X * 2)\ndef f():\n    return X + _Y\n");
    assert!(t.contains("expr_stmt line=1\n    id(X)\n    int(3)"), "{t}");
    assert!(t.contains("pass_stmt line=0"), "{t}");
    assert!(t.contains("return_stmt line=4\n      int(9)"), "{t}");
    // Annotated form (MicroPython only).
    let t = tree("X: int = const(5)\nprint(X)\n");
    assert!(t.contains("expr_stmt line=1\n    id(X)\n    int(5)"), "{t}");
    assert!(t.contains("trailer_paren line=2\n        int(5)"), "{t}");
    let cp = ParseOptions {
        target: Target::CircuitPython,
        ..ParseOptions::default()
    };
    let t = dump(&parse(b"X: int = const(5)\nprint(X)\n", &cp).expect("parses"));
    assert!(t.contains("annassign"), "{t}");
    assert!(t.contains("trailer_paren line=2\n        id(X)"), "{t}");
    // A str constant is substituted as a string object.
    let t = tree("S = const('abc')\nprint(S)\n");
    assert!(t.contains("const line=2 str(\"abc\")"), "{t}");
    assert_eq!(
        err("X = const(y)\n"),
        ("SyntaxError: not a constant".into(), 1)
    );
    assert_eq!(
        err("\nX = const(1, 2)\n"),
        ("SyntaxError: not a constant".into(), 2)
    );
}

#[test]
fn string_interning_rule() {
    let t =
        tree("x = 'long_identifier_name'\nlong_identifier_name = 1\nx = 'long_identifier_name'\n");
    assert!(
        t.contains("const line=1 str(\"long_identifier_name\")"),
        "{t}"
    );
    assert!(t.contains("  str(\"long_identifier_name\")"), "{t}");
    assert!(tree("x = 'UnicodeError'\n").contains("  str(\"UnicodeError\")"));
    assert!(tree("x = 'RuntimeWarning'\n").contains("const line=1 str("));
    assert!(tree("x = 'heap_lock'\n").contains("  str(\"heap_lock\")"));
    let named = ParseOptions {
        source_name: b"pkg/module_name.py",
        ..ParseOptions::default()
    };
    let t = dump(&parse(b"x = 'pkg/module_name.py'\n", &named).expect("parses"));
    assert!(t.contains("  str(\"pkg/module_name.py\")"), "{t}");
    // CircuitPython's pool differs.
    let cp = ParseOptions {
        target: Target::CircuitPython,
        ..ParseOptions::default()
    };
    let t = dump(&parse(b"x = 'TimeoutError'\n", &cp).expect("parses"));
    assert!(t.contains("  str(\"TimeoutError\")"), "{t}");
    assert!(tree("x = 'TimeoutError'\n").contains("const line=1 str("));
    assert!(tree("x = b'ab'\n").contains("const line=1 bytes(\"ab\")"));
}

#[test]
fn struct_lines_are_first_token_lines() {
    let t = tree("x = (foo\n .bar)\n");
    assert!(t.contains("trailer_period line=2"), "{t}");
    let t = tree("@dec\ndef f():\n    pass\n");
    assert!(t.starts_with("decorated line=1"), "{t}");
    assert!(t.contains("funcdef line=2"), "{t}");
}

#[test]
fn errors_match_mpy_cross() {
    let syntax = |l: u32| ("SyntaxError: invalid syntax".to_string(), l);
    assert_eq!(err("x = 1 +\ny=2\n"), syntax(1));
    assert_eq!(err("x = (\n"), syntax(2));
    assert_eq!(err("x = (1 +\n\n# c\n\n"), syntax(5));
    assert_eq!(err("if 1:\n\n# c\n\nx=1\n"), syntax(5));
    assert_eq!(err("x = 1\ny = \"a\" b\"c\"\n"), syntax(2));
    assert_eq!(err("x = 'abc\n"), syntax(1));
    assert_eq!(err("x = $\n"), syntax(1));
    assert_eq!(err("x.__debug__\n"), syntax(1));
    assert_eq!(err("async = 1\n"), syntax(1));
    assert_eq!(
        err("if 1:\n    x=1\n\n  y=2\n"),
        (
            "IndentationError: unindent doesn't match any outer indent level".into(),
            2
        )
    );
    assert_eq!(
        err("x=1\n\n# c\n    y=2\n"),
        ("IndentationError: unexpected indent".into(), 4)
    );
    assert_eq!(
        err("  x=1\n"),
        ("IndentationError: unexpected indent".into(), 1)
    );
    assert_eq!(
        err("x = 1if 1else 0\n"),
        (
            "SyntaxError: invalid syntax for integer with base 10: '1if'".into(),
            1
        )
    );
    assert_eq!(
        err("\nx = 1.5e100.__format__\n"),
        ("SyntaxError: invalid syntax for number".into(), 2)
    );
    assert_eq!(
        err("x = 0377\n"),
        (
            "SyntaxError: invalid syntax for integer with base 0: '0377'".into(),
            1
        )
    );
    let e = parse(b"x = '\\N{DASH}'\n", &ParseOptions::default()).expect_err("fails");
    assert_eq!(
        e.kind.to_string(),
        "NotImplementedError: unicode name escapes"
    );
    assert!(!e.has_location());
    assert!(parse(b"x = 00\n", &ParseOptions::default()).is_ok());
    // An empty file is a lone NEWLINE token, as MicroPython's parser gives.
    assert_eq!(tree(""), "tok(Newline)\n");
    assert_eq!(tree("# only a comment"), "tok(Newline)\n");
    assert!(parse("€ = 1\n".as_bytes(), &ParseOptions::default()).is_ok());
}

#[test]
fn debug_follows_the_optimisation_level() {
    assert_eq!(value("__debug__"), "tok(KwTrue)");
    let o1 = ParseOptions {
        opt_level: 1,
        ..ParseOptions::default()
    };
    let t = dump(&parse(b"x = __debug__\n", &o1).expect("parses"));
    assert!(t.contains("tok(KwFalse)"), "{t}");
}

#[test]
fn deep_nesting_is_a_clean_error_or_a_tree() {
    let ok = format!("x = {}1{}\n", "(".repeat(1000), ")".repeat(1000));
    assert_eq!(value(&ok[4..ok.len() - 1]), "int(1)");
    let brackets = format!("x = {}1{}\n", "[".repeat(1000), "]".repeat(1000));
    assert!(parse(brackets.as_bytes(), &ParseOptions::default()).is_ok());
    let deep = format!("x = {}1{}\n", "(".repeat(100_000), ")".repeat(100_000));
    let e = parse(deep.as_bytes(), &ParseOptions::default()).expect_err("too deep");
    assert_eq!(e.kind, ParseErrorKind::Memory);
}

#[test]
fn small_int_width_follows_the_option() {
    let narrow = ParseOptions {
        small_int_bits: 8,
        ..ParseOptions::default()
    };
    let t = dump(&parse(b"x = 127\ny = 128\nz = -128\nw = -129\n", &narrow).expect("parses"));
    assert!(t.contains("int(127)") && t.contains("int(-128)"), "{t}");
    assert!(t.contains("const line=2 int(128)"), "{t}");
    assert!(t.contains("const line=0 int(-129)"), "{t}");
}

#[test]
fn nesting_stops_at_the_rule_stack_limit() {
    // mpy-cross 1.29: 8,117 parentheses parse, 8,118 are a MemoryError (no line).
    let parens = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
    let ok = parens(8117);
    assert_eq!(value(&ok[4..ok.len() - 1]), "int(1)");
    let e = parse(parens(8118).as_bytes(), &ParseOptions::default()).expect_err("too deep");
    assert_eq!(e.kind, ParseErrorKind::Memory);
    assert!(!e.has_location());
}

#[test]
fn deeply_nested_constant_tuples_fold_up_to_the_rule_limit() {
    // Folding is iterative: a constant tuple as deep as the rule stack allows is one constant
    // (the save-time limit on numbers in deep tuples is the compiler's, see
    // `format::constant::MAX_SAVED_NUMBER_DEPTH`). mpy-cross runs out of heap from about
    // 6,750 levels already; here the rule limit alone decides.
    let tuples = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ",)".repeat(n));
    let tree = parse(tuples(8117).as_bytes(), &ParseOptions::default()).expect("parses");
    let dumped = dump(&tree);
    assert_eq!(
        dumped.matches("tuple(").count(),
        8117,
        "one constant, fully nested"
    );
    assert!(!dumped.contains("atom_paren"));
    let copy = tree.clone();
    assert_eq!(copy, tree);
    let e = parse(tuples(8118).as_bytes(), &ParseOptions::default()).expect_err("too deep");
    assert_eq!(e.kind, ParseErrorKind::Memory);
}

#[test]
fn errors_become_diagnostics() {
    let src = b"x = 1\ny = 0377\n";
    let e = parse(src, &ParseOptions::default()).expect_err("fails");
    let d = e.to_diagnostic(std::path::Path::new("m.py"), src);
    assert_eq!((d.line, d.col), (2, 5));
    assert_eq!(d.text.as_deref(), Some("y = 0377"));
    assert!(d.help.as_deref().is_some_and(|h| h.contains("0o")));
    assert!(d
        .to_string()
        .starts_with("m.py:2:5: SyntaxError: invalid syntax for integer with base 0: '0377'"));
}
