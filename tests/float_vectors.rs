//! Differential vectors: float and imaginary literals with the constant text the real
//! `mpy-cross` 1.29 stored for them (see tests/fixtures/float/PROVENANCE.md).

use portlib::mpy::float::{
    fold_binary, parse_float_literal, parse_imag_literal, repr_complex_imag, repr_float, FloatOp,
};
use std::path::{Path, PathBuf};

/// An operand of a folding vector: a float literal, a small int, either possibly `(-...)`.
fn operand(text: &str) -> f64 {
    let inner = text.trim_start_matches('(').trim_end_matches(')');
    let (negative, digits) = match inner.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let value = if digits.contains(['.', 'e', 'E']) {
        parse_float_literal(digits.as_bytes()).expect("float operand")
    } else {
        digits.parse::<i64>().expect("int operand") as f64
    };
    if negative {
        -value
    } else {
        value
    }
}

/// The folded text of `lhs op rhs`.
fn fold_text(expr: &str) -> String {
    let parts: Vec<&str> = expr.split(' ').collect();
    assert_eq!(
        parts.len(),
        3,
        "folding vector {expr:?} is not `lhs op rhs`"
    );
    let op = match parts[1] {
        "+" => FloatOp::Add,
        "-" => FloatOp::Sub,
        "*" => FloatOp::Mul,
        "/" => FloatOp::TrueDiv,
        "//" => FloatOp::FloorDiv,
        "%" => FloatOp::Mod,
        "**" => FloatOp::Pow,
        other => panic!("unknown operator {other:?} in {expr:?}"),
    };
    match fold_binary(op, operand(parts[0]), operand(parts[2])) {
        Some(v) => repr_float(v),
        None => "<not folded>".to_string(),
    }
}

struct Mismatch {
    line: usize,
    literal: String,
    expected: String,
    got: String,
}

/// Checks every vector in `path`; returns the number checked and the mismatches.
fn check_file(path: &Path) -> (usize, Vec<Mismatch>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read vectors {}: {e}", path.display()));
    let mut checked = 0;
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            fields.len(),
            3,
            "{}:{}: malformed vector line",
            path.display(),
            i + 1
        );
        let (kind, literal, expected) = (fields[0], fields[1], fields[2]);
        let got = match kind {
            "f" => match literal.strip_prefix('-') {
                // A leading minus is a folded unary minus on the parsed literal.
                Some(rest) => parse_float_literal(rest.as_bytes()).map(|v| repr_float(-v)),
                None => parse_float_literal(literal.as_bytes()).map(repr_float),
            },
            "j" => parse_imag_literal(format!("{literal}j").as_bytes()).map(repr_complex_imag),
            "o" => Ok(fold_text(literal)),
            other => panic!(
                "{}:{}: unknown vector kind {other:?}",
                path.display(),
                i + 1
            ),
        };
        let got = got.unwrap_or_else(|e| format!("<error: {e}>"));
        checked += 1;
        if got != expected {
            bad.push(Mismatch {
                line: i + 1,
                literal: literal.to_string(),
                expected: expected.to_string(),
                got,
            });
        }
    }
    (checked, bad)
}

fn report(path: &Path, checked: usize, bad: &[Mismatch]) {
    if !bad.is_empty() {
        let mut msg = format!(
            "{} of {checked} vectors in {} differ:\n",
            bad.len(),
            path.display()
        );
        for m in bad.iter().take(50) {
            msg.push_str(&format!(
                "  line {}: {} -> expected {} got {}\n",
                m.line, m.literal, m.expected, m.got
            ));
        }
        panic!("{msg}");
    }
}

/// Checks the committed fixture, then any extra vector files (same format) named in
/// `PORTLIB_FLOAT_VECTORS`, separated by `:`, for larger differential runs.
#[test]
fn every_vector_matches_mpy_cross() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/float/vectors.txt");
    let (checked, bad) = check_file(&path);
    assert!(
        checked > 10_000,
        "expected the full vector set, found only {checked} vectors"
    );
    report(&path, checked, &bad);
    let extra = std::env::var("PORTLIB_FLOAT_VECTORS").unwrap_or_default();
    for p in extra.split(':').filter(|p| !p.is_empty()) {
        let path = PathBuf::from(p);
        let (checked, bad) = check_file(&path);
        report(&path, checked, &bad);
    }
}
