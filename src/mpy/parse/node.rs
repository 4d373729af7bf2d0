//! The concrete parse tree: leaves, struct nodes and constant objects, and its text dump.

use std::fmt::Write as _;

use num_bigint::BigInt;

use super::grammar::Rule;
use crate::mpy::lexer::TokenKind;

/// A node of MicroPython's concrete parse tree (mpy-format §3.3).
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// An empty slot (absent optional part).
    Null,
    /// An identifier (its raw bytes).
    Id(Vec<u8>),
    /// An integer that fits the target's small-int range.
    SmallInt(i64),
    /// An interned string literal (a qstr).
    Str(Vec<u8>),
    /// A token kept as a leaf: `None`, `True`, `False`, `...`, or an operator inside a rule.
    Token(TokenKind),
    /// A grammar rule that was not collapsed.
    Struct(Box<StructNode>),
    /// A constant object: big int, float, complex, bytes, non-interned str, tuple.
    Const(Box<ConstNode>),
}

/// A struct node: a rule, the line of its first token (0 when made by folding) and children.
///
/// Clone, equality and drop walk the subtree with an explicit stack, so trees as deep as the
/// parser accepts (thousands of nested brackets) are safe; `Debug` output still recurses.
#[derive(Debug)]
pub struct StructNode {
    /// The rule.
    pub rule: Rule,
    /// Line of the first token of the rule.
    pub line: u32,
    /// Children in source order.
    pub children: Vec<Node>,
}

impl StructNode {
    fn empty_copy(&self) -> StructNode {
        StructNode {
            rule: self.rule,
            line: self.line,
            children: Vec::with_capacity(self.children.len()),
        }
    }
}

impl Clone for StructNode {
    fn clone(&self) -> Self {
        // Each frame: the source node, the next child index, the copy being built.
        let mut stack: Vec<(&StructNode, usize, StructNode)> = vec![(self, 0, self.empty_copy())];
        loop {
            let Some(top) = stack.last_mut() else {
                return self.empty_copy();
            };
            let (src, idx) = (top.0, top.1);
            if let Some(child) = src.children.get(idx) {
                top.1 += 1;
                match child {
                    Node::Struct(inner) => stack.push((inner, 0, inner.empty_copy())),
                    leaf => top.2.children.push(leaf.clone()),
                }
                continue;
            }
            let Some((_, _, done)) = stack.pop() else {
                return self.empty_copy();
            };
            match stack.last_mut() {
                Some(parent) => parent.2.children.push(Node::Struct(Box::new(done))),
                None => return done,
            }
        }
    }
}

impl PartialEq for StructNode {
    fn eq(&self, other: &Self) -> bool {
        let mut stack: Vec<(&StructNode, &StructNode)> = vec![(self, other)];
        while let Some((a, b)) = stack.pop() {
            if a.rule != b.rule || a.line != b.line || a.children.len() != b.children.len() {
                return false;
            }
            for (x, y) in a.children.iter().zip(&b.children) {
                match (x, y) {
                    (Node::Struct(p), Node::Struct(q)) => stack.push((p, q)),
                    (Node::Struct(_), _) | (_, Node::Struct(_)) => return false,
                    (p, q) => {
                        if p != q {
                            return false;
                        }
                    }
                }
            }
        }
        true
    }
}

impl Drop for StructNode {
    // Deep trees (long chains of nested brackets) must not overflow the stack when dropped.
    fn drop(&mut self) {
        let mut stack: Vec<Node> = std::mem::take(&mut self.children);
        while let Some(node) = stack.pop() {
            if let Node::Struct(mut s) = node {
                stack.append(&mut s.children);
            }
        }
    }
}

/// A constant-object node with the line of the literal it came from (0 when folded).
#[derive(Clone, Debug, PartialEq)]
pub struct ConstNode {
    /// Source line, or 0 for folded values.
    pub line: u32,
    /// The value.
    pub value: Const,
}

/// A float value together with the literal text it was parsed from, when it came from a
/// literal. The text lets the x87-exact float parser re-derive the value at merge time.
#[derive(Clone, Debug)]
pub struct Float {
    /// The value.
    pub value: f64,
    /// Literal text (underscores removed, `E` as `e`, without the `j` of an imaginary).
    pub text: Option<Vec<u8>>,
    /// 0, unless the value is a NaN made by folding arithmetic: then a number unique within
    /// the parse. mpy-cross makes a new float object for every folded result and merges
    /// constants by identity or equality, so such a NaN (never equal, not even to itself by
    /// value) gets a table entry per parse node, while `math.nan`, one shared object, merges.
    pub nan_id: u32,
}

impl PartialEq for Float {
    // Strict equality as the constant table needs it: 0.0 and -0.0 differ, NaN equals the
    // same NaN object only.
    fn eq(&self, other: &Self) -> bool {
        self.value.to_bits() == other.value.to_bits() && self.nan_id == other.nan_id
    }
}

/// A compile-time constant value.
///
/// Clone, equality and drop walk nested tuples with an explicit stack: constant tuples can
/// nest as deep as the parser allows (thousands of levels).
#[derive(Debug)]
pub enum Const {
    /// `None`.
    None,
    /// `False`.
    False,
    /// `True`.
    True,
    /// `...`.
    Ellipsis,
    /// An integer of any size.
    Int(BigInt),
    /// A float.
    Float(Float),
    /// A pure imaginary number (the imaginary part).
    Complex(Float),
    /// A str (raw bytes, usually UTF-8).
    Str(Vec<u8>),
    /// A bytes value.
    Bytes(Vec<u8>),
    /// A tuple of constants.
    Tuple(Vec<Const>),
}

impl Const {
    /// Copy of a non-tuple value (an empty tuple for a tuple).
    fn shallow(&self) -> Const {
        match self {
            Const::None => Const::None,
            Const::False => Const::False,
            Const::True => Const::True,
            Const::Ellipsis => Const::Ellipsis,
            Const::Int(i) => Const::Int(i.clone()),
            Const::Float(f) => Const::Float(f.clone()),
            Const::Complex(f) => Const::Complex(f.clone()),
            Const::Str(s) => Const::Str(s.clone()),
            Const::Bytes(b) => Const::Bytes(b.clone()),
            Const::Tuple(_) => Const::Tuple(Vec::new()),
        }
    }

    /// Equality of two non-tuple values (tuples compare equal here; callers recurse).
    fn shallow_eq(&self, other: &Const) -> bool {
        match (self, other) {
            (Const::None, Const::None)
            | (Const::False, Const::False)
            | (Const::True, Const::True)
            | (Const::Ellipsis, Const::Ellipsis) => true,
            (Const::Int(a), Const::Int(b)) => a == b,
            (Const::Float(a), Const::Float(b)) | (Const::Complex(a), Const::Complex(b)) => a == b,
            (Const::Str(a), Const::Str(b)) | (Const::Bytes(a), Const::Bytes(b)) => a == b,
            (Const::Tuple(a), Const::Tuple(b)) => a.len() == b.len(),
            _ => false,
        }
    }
}

impl Clone for Const {
    fn clone(&self) -> Self {
        let Const::Tuple(items) = self else {
            return self.shallow();
        };
        // Each frame: the source items, the next index, the copies made so far.
        let mut stack: Vec<(&[Const], usize, Vec<Const>)> =
            vec![(items.as_slice(), 0, Vec::with_capacity(items.len()))];
        loop {
            let Some(top) = stack.last_mut() else {
                return Const::Tuple(Vec::new());
            };
            let (src, idx) = (top.0, top.1);
            if let Some(item) = src.get(idx) {
                top.1 += 1;
                match item {
                    Const::Tuple(inner) => {
                        stack.push((inner.as_slice(), 0, Vec::with_capacity(inner.len())))
                    }
                    leaf => top.2.push(leaf.shallow()),
                }
                continue;
            }
            let done = stack.pop().map(|f| f.2).unwrap_or_default();
            match stack.last_mut() {
                Some(parent) => parent.2.push(Const::Tuple(done)),
                None => return Const::Tuple(done),
            }
        }
    }
}

impl PartialEq for Const {
    fn eq(&self, other: &Self) -> bool {
        let mut stack: Vec<(&Const, &Const)> = vec![(self, other)];
        while let Some((a, b)) = stack.pop() {
            if !a.shallow_eq(b) {
                return false;
            }
            if let (Const::Tuple(x), Const::Tuple(y)) = (a, b) {
                stack.extend(x.iter().zip(y.iter()));
            }
        }
        true
    }
}

impl Drop for Const {
    fn drop(&mut self) {
        if let Const::Tuple(items) = self {
            let mut stack = std::mem::take(items);
            while let Some(mut c) = stack.pop() {
                if let Const::Tuple(inner) = &mut c {
                    stack.append(inner);
                }
            }
        }
    }
}

impl Node {
    /// The struct node, if this is one.
    pub fn as_struct(&self) -> Option<&StructNode> {
        match self {
            Node::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is a struct node of the given rule.
    pub fn is_rule(&self, rule: Rule) -> bool {
        matches!(self, Node::Struct(s) if s.rule == rule)
    }

    pub(crate) fn new_struct(rule: Rule, line: u32, children: Vec<Node>) -> Node {
        Node::Struct(Box::new(StructNode {
            rule,
            line,
            children,
        }))
    }

    pub(crate) fn new_const(line: u32, value: Const) -> Node {
        Node::Const(Box::new(ConstNode { line, value }))
    }
}

fn push_bytes(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
}

fn push_float(out: &mut String, f: &Float) {
    match &f.text {
        Some(t) => {
            out.push_str(&String::from_utf8_lossy(t));
        }
        None => {
            let _ = write!(out, "{:?}", f.value);
        }
    }
}

/// Text form of a constant: `int(5)`, `float(2.5)`, `str("x")`, `tuple(int(1), None)`.
pub fn const_text(c: &Const) -> String {
    let mut out = String::new();
    let mut stack: Vec<Option<&Const>> = vec![Some(c)];
    // Iterative so that deeply nested tuples cannot overflow the stack; `None` closes a tuple.
    let mut first_stack: Vec<bool> = Vec::new();
    while let Some(item) = stack.pop() {
        let Some(c) = item else {
            out.push(')');
            first_stack.pop();
            continue;
        };
        if let Some(first) = first_stack.last_mut() {
            if !*first {
                out.push_str(", ");
            }
            *first = false;
        }
        match c {
            Const::None => out.push_str("None"),
            Const::False => out.push_str("False"),
            Const::True => out.push_str("True"),
            Const::Ellipsis => out.push_str("Ellipsis"),
            Const::Int(i) => {
                let _ = write!(out, "int({i})");
            }
            Const::Float(f) => {
                out.push_str("float(");
                push_float(&mut out, f);
                out.push(')');
            }
            Const::Complex(f) => {
                out.push_str("complex(");
                push_float(&mut out, f);
                out.push_str("j)");
            }
            Const::Str(s) => {
                out.push_str("str(\"");
                push_bytes(&mut out, s);
                out.push_str("\")");
            }
            Const::Bytes(s) => {
                out.push_str("bytes(\"");
                push_bytes(&mut out, s);
                out.push_str("\")");
            }
            Const::Tuple(items) => {
                out.push_str("tuple(");
                first_stack.push(true);
                stack.push(None);
                for it in items.iter().rev() {
                    stack.push(Some(it));
                }
            }
        }
    }
    out
}

/// A stable, indented text dump of a tree: one node per line; struct nodes as
/// `rule_name line=N`, leaves as `id(x)`, `int(5)`, `str("x")`, `tok(KwNone)`, `NULL`,
/// constant objects as `const line=N <value>`.
pub fn dump(root: &Node) -> String {
    let mut out = String::new();
    let mut stack: Vec<(&Node, usize)> = vec![(root, 0)];
    while let Some((node, depth)) = stack.pop() {
        for _ in 0..depth {
            out.push_str("  ");
        }
        match node {
            Node::Null => out.push_str("NULL"),
            Node::Id(s) => {
                out.push_str("id(");
                push_bytes(&mut out, s);
                out.push(')');
            }
            Node::SmallInt(v) => {
                let _ = write!(out, "int({v})");
            }
            Node::Str(s) => {
                out.push_str("str(\"");
                push_bytes(&mut out, s);
                out.push_str("\")");
            }
            Node::Token(k) => {
                let _ = write!(out, "tok({k:?})");
            }
            Node::Const(c) => {
                let _ = write!(out, "const line={} {}", c.line, const_text(&c.value));
            }
            Node::Struct(s) => {
                let _ = write!(out, "{} line={}", s.rule.name(), s.line);
                for child in s.children.iter().rev() {
                    stack.push((child, depth + 1));
                }
            }
        }
        out.push('\n');
    }
    out
}
