//! Robustness of the whole compiler (parser, folding, scopes, emitter): on arbitrary bytes and
//! on generated Python-like programs, `compile` returns `Ok` or a typed error, never panics and
//! never hangs. Inputs are bounded, and each case runs under a generous deadline so a hang
//! fails the case instead of stalling the suite.
//!
//! The default case count is small so the suite stays fast; set `PROPTEST_CASES` for long
//! runs (`PROPTEST_CASES=200000 cargo test --release --test compile_props`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use portlib::mpy::compile::{compile, CompileError, CompileOptions};
use portlib::mpy::format::Target;
use proptest::prelude::*;

/// A case taking this long is a hang, not a slow compile (the inputs are a few KB at most).
const HANG_DEADLINE: Duration = Duration::from_secs(120);

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Compile on a worker thread; fail on a panic, a hang, an internal error, or a bare error.
fn check(src: &[u8], cp: bool, opt_level: u8) -> Result<(), TestCaseError> {
    let opts = CompileOptions {
        target: if cp {
            Target::CircuitPython
        } else {
            Target::MicroPython
        },
        opt_level,
        ..CompileOptions::default()
    };
    let owned = src.to_vec();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let out = catch_unwind(AssertUnwindSafe(|| compile(&owned, "fuzz.py", &opts)));
        let _ = tx.send(out);
    });
    match rx.recv_timeout(HANG_DEADLINE) {
        Err(_) => Err(TestCaseError::fail(format!(
            "compile did not finish within {HANG_DEADLINE:?} on {:?}",
            String::from_utf8_lossy(src)
        ))),
        Ok(Err(_)) => Err(TestCaseError::fail(format!(
            "compile panicked on {:?}",
            String::from_utf8_lossy(src)
        ))),
        Ok(Ok(Ok(mpy))) => {
            prop_assert!(mpy.len() >= 4, "an .mpy file starts with a 4-byte header");
            Ok(())
        }
        Ok(Ok(Err(e))) => {
            // An internal error is typed too, but it means the compile pass and the emitter
            // disagree: a compiler bug, so it fails the case.
            let is_user_error = matches!(
                e,
                CompileError::Python { .. } | CompileError::Unsupported { .. }
            );
            prop_assert!(is_user_error, "{e} on {:?}", String::from_utf8_lossy(src));
            prop_assert!(!e.to_string().trim().is_empty(), "error without a message");
            Ok(())
        }
    }
}

// ---- a small Python grammar -------------------------------------------------------------

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a",
        "b",
        "x",
        "y",
        "self",
        "cls",
        "print",
        "len",
        "range",
        "__name__",
        "__debug__",
        "const",
        "micropython",
        "super",
        "_",
        "Exception",
    ])
    .prop_map(str::to_string)
}

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0u32..1000).prop_map(|n| n.to_string()),
        Just("1 << 100".to_string()),
        Just("0x7fffffff".to_string()),
        Just("1.5e300".to_string()),
        Just("2j".to_string()),
        Just("'text'".to_string()),
        Just("b'\\x00\\xff'".to_string()),
        Just("'''multi\nline'''".to_string()),
        Just("None".to_string()),
        Just("True".to_string()),
        Just("...".to_string()),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![name(), literal()];
    leaf.prop_recursive(6, 48, 4, |inner| {
        let binop = prop::sample::select(vec![
            "+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "and", "or", "<", "==",
            "is not", "not in", "in",
        ]);
        prop_oneof![
            (inner.clone(), binop, inner.clone()).prop_map(|(l, o, r)| format!("({l} {o} {r})")),
            (prop::sample::select(vec!["-", "~", "not "]), inner.clone())
                .prop_map(|(o, e)| format!("({o}{e})")),
            (inner.clone(), prop::collection::vec(inner.clone(), 0..3))
                .prop_map(|(f, a)| format!("{f}({})", a.join(", "))),
            (inner.clone(), name()).prop_map(|(e, n)| format!("{e}.{n}")),
            (inner.clone(), inner.clone()).prop_map(|(e, i)| format!("{e}[{i}]")),
            (inner.clone(), inner.clone()).prop_map(|(e, i)| format!("{e}[{i}:]")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("({},)", v.join(", "))),
            (inner.clone(), inner.clone()).prop_map(|(k, v)| format!("{{{k}: {v}}}")),
            (name(), inner.clone()).prop_map(|(n, e)| format!("(lambda {n}, *r, k=1: {e})")),
            (inner.clone(), name(), inner.clone(), inner.clone(), 0u8..4).prop_map(
                |(e, n, it, c, kind)| {
                    let body = format!("{e} for {n} in {it} if {c}");
                    match kind {
                        0 => format!("[{body}]"),
                        1 => format!("({body})"),
                        2 => format!("{{{body}}}"),
                        _ => format!("{{{n}: {body}}}"),
                    }
                }
            ),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(a, c, b)| format!("({a} if {c} else {b})")),
            inner.clone().prop_map(|e| format!("(yield {e})")),
            inner.clone().prop_map(|e| format!("f'{{{e}}}'")),
            // t-strings (MicroPython only; the CircuitPython runs see a name and a string).
            inner.clone().prop_map(|e| format!("t'{{{e}}}'")),
            (inner.clone(), inner.clone()).prop_map(|(e, w)| {
                format!("(t\"\"\"a{{{{{{{e}=!r:>{{{w}}}}}}}}}\n\"\"\" '', rt'\\{{{w}}}')")
            }),
            inner.prop_map(|e| format!("(*{e},)")),
        ]
    })
}

fn simple_stmt() -> impl Strategy<Value = String> {
    prop_oneof![
        (name(), expr()).prop_map(|(n, e)| format!("{n} = {e}")),
        (name(), name(), expr()).prop_map(|(a, b, e)| format!("{a}, *{b} = {e}")),
        (expr(), name(), expr()).prop_map(|(o, n, e)| format!("{o}.{n} += {e}")),
        expr(),
        expr().prop_map(|e| format!("return {e}")),
        Just("return".to_string()),
        Just("pass".to_string()),
        Just("break".to_string()),
        Just("continue".to_string()),
        name().prop_map(|n| format!("del {n}")),
        name().prop_map(|n| format!("global {n}")),
        name().prop_map(|n| format!("nonlocal {n}")),
        Just("import os.path as p".to_string()),
        Just("from . import x".to_string()),
        Just("from micropython import const".to_string()),
        name().prop_map(|n| format!("{n} = const(1 << 4)")),
        expr().prop_map(|e| format!("raise {e} from None")),
        (expr(), expr()).prop_map(|(c, m)| format!("assert {c}, {m}")),
        expr().prop_map(|e| format!("yield from {e}")),
    ]
}

/// A statement, rendered as lines without indentation (blocks indent their bodies).
fn stmt() -> impl Strategy<Value = Vec<String>> {
    let leaf = simple_stmt().prop_map(|s| vec![s]);
    leaf.prop_recursive(5, 64, 4, |inner| {
        let body = prop::collection::vec(inner, 1..4).prop_map(|stmts| {
            let mut lines = Vec::new();
            for s in stmts {
                lines.extend(s.into_iter().map(|l| format!("    {l}")));
            }
            lines
        });
        prop_oneof![
            (expr(), body.clone(), body.clone())
                .prop_map(|(c, a, b)| block(&[(format!("if {c}:"), a), ("else:".into(), b)])),
            (expr(), body.clone()).prop_map(|(c, a)| block(&[(format!("while {c}:"), a)])),
            (name(), expr(), body.clone(), body.clone()).prop_map(|(n, it, a, b)| {
                block(&[(format!("for {n} in {it}:"), a), ("else:".into(), b)])
            }),
            (body.clone(), name(), body.clone(), body.clone()).prop_map(|(t, n, h, f)| {
                block(&[
                    ("try:".into(), t),
                    (format!("except Exception as {n}:"), h),
                    ("finally:".into(), f),
                ])
            }),
            (expr(), name(), body.clone())
                .prop_map(|(e, n, b)| block(&[(format!("with {e} as {n}:"), b)])),
            (name(), name(), body.clone(), any::<bool>()).prop_map(|(f, a, b, deco)| {
                let mut lines = Vec::new();
                if deco {
                    lines.push("@micropython.native".to_string());
                }
                lines.extend(block(&[(format!("def {f}({a}, *args, k=None, **kw):"), b)]));
                lines
            }),
            (name(), body).prop_map(|(c, b)| block(&[(format!("class {c}(object):"), b)])),
        ]
    })
}

fn block(parts: &[(String, Vec<String>)]) -> Vec<String> {
    let mut lines = Vec::new();
    for (head, body) in parts {
        lines.push(head.clone());
        lines.extend(body.iter().cloned());
    }
    lines
}

fn program() -> impl Strategy<Value = String> {
    prop::collection::vec(stmt(), 0..6).prop_map(|stmts| {
        let mut src = stmts.concat().join("\n");
        src.push('\n');
        src
    })
}

/// Token soup: the grammar's pieces in random order, so most programs are wrong in new places.
fn soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        name(),
        literal(),
        prop::sample::select(vec![
            "def",
            "class",
            "for",
            "in",
            "while",
            "try:",
            "except",
            "finally:",
            "with",
            "as",
            "lambda",
            "yield",
            "return",
            "if",
            "else",
            "elif",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ":",
            ",",
            "=",
            "+=",
            "*",
            "**",
            ".",
            "@",
            "\n",
            "\n    ",
            "\n        ",
            "\t",
            "\\\n",
            "#",
            // t-string openers and field punctuation: literals that run on over the soup.
            "t'",
            "t\"\"\"",
            "rt\"",
            "'",
            "\"",
            "!r",
            "{{",
            "}}",
        ])
        .prop_map(str::to_string),
    ];
    prop::collection::vec(piece, 0..120).prop_map(|v| v.join(" "))
}

/// Deep nesting of blocks, brackets or both: where recursion limits and stack use live.
fn deep() -> impl Strategy<Value = String> {
    (0u8..5, 1usize..400).prop_map(|(kind, depth)| match kind {
        0 => {
            let mut src = String::new();
            for d in 0..depth.min(120) {
                src.push_str(&" ".repeat(d));
                src.push_str(if d % 2 == 0 { "def f():\n" } else { "if x:\n" });
            }
            src.push_str(&" ".repeat(depth.min(120)));
            src.push_str("return [y for y in x]\n");
            src
        }
        1 => format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth)),
        2 => format!("x = {}\n", "-".repeat(depth) + "1"),
        // Constant tuples around a number: rejected past 709 levels when saved.
        3 => format!("x = {}1{}\n", "(".repeat(depth * 3), ",)".repeat(depth * 3)),
        _ => format!("x = {}0{}\n", "[lambda: ".repeat(depth), "]".repeat(depth)),
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(src in prop::collection::vec(any::<u8>(), 0..600), cp in any::<bool>()) {
        check(&src, cp, 0)?;
    }

    #[test]
    fn generated_programs(src in program(), cp in any::<bool>(), level in 0u8..4) {
        check(src.as_bytes(), cp, level)?;
    }

    #[test]
    fn token_soup(src in soup(), cp in any::<bool>()) {
        check(src.as_bytes(), cp, 0)?;
    }

    #[test]
    fn deep_nesting(src in deep()) {
        check(src.as_bytes(), false, 0)?;
    }
}
