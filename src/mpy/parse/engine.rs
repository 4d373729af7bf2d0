//! The parsing machine: walks the grammar table with an explicit stack (so nesting depth
//! costs heap, never native stack) and builds nodes on a result stack, reproducing
//! MicroPython's limited backtracking: an alternative may fail only before it consumed
//! anything, otherwise the input is a syntax error.

use super::fold::{self, BinOp};
use super::grammar::{Act, Arg, Rule};
use super::node::{Const, Node};
use super::number::{parse_float, parse_int};
use super::prune;
use super::qstr::QstrPool;
use super::{ParseError, ParseErrorKind, ParseOptions, Target};
use crate::mpy::lexer::{Token, TokenKind, Tokens};

/// Rule-stack depth at which parsing stops with a memory error. mpy-cross keeps its rule
/// stack (16 bytes an entry) in its heap and fails to grow it past about 129,900 entries:
/// `x = ((…(1)…))` parses with 8,117 parentheses and fails with 8,118 (16 entries a level),
/// and this limit gives exactly that threshold. Other shapes fail earlier in mpy-cross,
/// because its parse tree and result stack take heap too (measured thresholds, mpy-cross /
/// here: `[[…]]` 7,643 / 8,117, `((y,),)` 6,838 / 8,117, `{1: {…}}` 5,487 / 8,117, `f(f(…))`
/// 5,807 / 7,640, `{{…}}` 8,121 / 8,659, 32,487 unary minus signs / none), so for those the
/// limit keeps memory bounded but is not an exact reproduction.
const MAX_RULE_DEPTH: usize = 129_910;

#[derive(Clone, Copy)]
struct Frame {
    rule: Rule,
    /// Index of the next argument to process.
    arg: usize,
    line: u32,
}

pub(crate) struct Parser<'o> {
    tokens: Vec<Token>,
    raise: Option<(crate::mpy::lexer::LexError, u32, u32)>,
    pos: usize,
    opts: &'o ParseOptions<'o>,
    pool: QstrPool,
    consts: std::collections::HashMap<Vec<u8>, Const>,
    /// The last [`Float::nan_id`](super::node::Float) handed out.
    last_nan_id: u32,
    rules: Vec<Frame>,
    results: Vec<Node>,
    end_token: Token,
}

/// Marks the slot of the first item that a `testlist_comp_3c` node took over.
const STOLEN: Node = Node::Token(TokenKind::Invalid);

fn is_stolen(n: &Node) -> bool {
    matches!(n, Node::Token(TokenKind::Invalid))
}

impl<'o> Parser<'o> {
    pub(crate) fn new(tokens: Tokens, opts: &'o ParseOptions<'o>) -> Self {
        let end_token = Token {
            kind: TokenKind::End,
            line: tokens.tokens.last().map_or(1, |t| t.line),
            col: 1,
            text: Vec::new(),
        };
        Parser {
            tokens: tokens.tokens,
            raise: tokens.raise,
            pos: 0,
            opts,
            pool: QstrPool::new(opts.target, opts.source_name),
            consts: std::collections::HashMap::new(),
            last_nan_id: 0,
            rules: Vec::new(),
            results: Vec::new(),
            end_token,
        }
    }

    fn cur(&self) -> &Token {
        self.tokens.get(self.pos).unwrap_or(&self.end_token)
    }

    fn lex_check(&self) -> Result<(), ParseError> {
        if self.pos >= self.tokens.len() {
            if let Some((e, line, col)) = self.raise {
                return Err(ParseError {
                    kind: ParseErrorKind::Lex(e),
                    line,
                    col,
                });
            }
        }
        Ok(())
    }

    fn advance(&mut self) -> Result<(), ParseError> {
        self.pos += 1;
        self.lex_check()
    }

    fn error_here(&self) -> ParseError {
        let t = self.cur();
        let kind = match t.kind {
            TokenKind::Indent => ParseErrorKind::UnexpectedIndent,
            TokenKind::DedentMismatch => ParseErrorKind::UnindentMismatch,
            _ => ParseErrorKind::InvalidSyntax,
        };
        ParseError {
            kind,
            line: t.line,
            col: t.col,
        }
    }

    fn push_rule(&mut self, rule: Rule, arg: usize, line: u32) -> Result<(), ParseError> {
        if self.rules.len() >= MAX_RULE_DEPTH {
            let t = self.cur();
            return Err(ParseError {
                kind: ParseErrorKind::Memory,
                line: t.line,
                col: t.col,
            });
        }
        self.rules.push(Frame { rule, arg, line });
        Ok(())
    }

    /// Whether trying `rule` here would give up at once (see [`prune`]), so the attempt can
    /// be skipped. Near the depth limit every attempt is made, so that the memory error
    /// comes exactly where it would.
    fn gives_up(&self, rule: Rule) -> bool {
        self.rules.len() + prune::MAX_ATTEMPT_DEPTH < MAX_RULE_DEPTH
            && prune::gives_up(rule, self.cur().kind)
    }

    fn push_child(&mut self, child: Rule) -> Result<(), ParseError> {
        let line = self.cur().line;
        self.push_rule(child, 0, line)
    }

    fn peek(&self, k: usize) -> &Node {
        &self.results[self.results.len() - 1 - k]
    }

    fn pop(&mut self) -> Node {
        self.results.pop().unwrap_or(Node::Null)
    }

    pub(crate) fn run(mut self) -> Result<Node, ParseError> {
        self.lex_check()?;
        let line = self.cur().line;
        self.push_rule(Rule::file_input, 0, line)?;
        let mut backtrack = false;
        while let Some(frame) = self.rules.pop() {
            let (act, args) = frame.rule.def();
            backtrack = match act {
                Act::Or => self.step_or(frame, args, backtrack)?,
                Act::And | Act::AndIdent | Act::AndBlank => {
                    self.step_and(frame, act, args, backtrack)?
                }
                Act::List | Act::OneOrMore | Act::ListWithEnd => {
                    self.step_list(frame, act, args, backtrack)?
                }
            };
        }
        if self.cur().kind != TokenKind::End || self.results.is_empty() {
            return Err(self.error_here());
        }
        Ok(self.pop())
    }

    /// Returns the new backtrack flag.
    fn step_or(&mut self, f: Frame, args: &[Arg], backtrack: bool) -> Result<bool, ParseError> {
        if f.arg > 0 && !backtrack {
            return Ok(false);
        }
        for (i, a) in args.iter().enumerate().skip(f.arg) {
            match *a {
                Arg::T(k) => {
                    if self.cur().kind == k {
                        self.push_token(f.rule)?;
                        self.advance()?;
                        return Ok(false);
                    }
                }
                Arg::R(r) | Arg::O(r) => {
                    if self.gives_up(r) {
                        continue;
                    }
                    if i + 1 < args.len() {
                        self.push_rule(f.rule, i + 1, f.line)?;
                    }
                    self.push_child(r)?;
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    fn step_and(
        &mut self,
        f: Frame,
        act: Act,
        args: &[Arg],
        backtrack: bool,
    ) -> Result<bool, ParseError> {
        let mut i = f.arg;
        if backtrack {
            if i == 0 {
                return Ok(true);
            }
            if matches!(args[i - 1], Arg::O(_)) {
                self.results.push(Node::Null);
            } else if i > 1 {
                return Err(self.error_here());
            } else {
                return Ok(true);
            }
        }
        while i < args.len() {
            match args[i] {
                Arg::T(k) => {
                    if self.cur().kind == k {
                        if k == TokenKind::Name {
                            self.push_token(f.rule)?;
                        }
                        self.advance()?;
                    } else if i > 0 {
                        return Err(self.error_here());
                    } else {
                        return Ok(true);
                    }
                }
                Arg::O(r) if self.gives_up(r) => {
                    // As if the attempt had backtracked: an empty slot, then the next part.
                    self.results.push(Node::Null);
                }
                Arg::R(r) if i == 0 && self.gives_up(r) => return Ok(true),
                Arg::R(r) | Arg::O(r) => {
                    self.push_rule(f.rule, i + 1, f.line)?;
                    self.push_child(r)?;
                    return Ok(false);
                }
            }
            i += 1;
        }

        // Doc strings are disabled, so a statement that is only a constant is dropped.
        if f.rule == Rule::expr_stmt && matches!(self.peek(0), Node::Null) {
            let lonely = match self.peek(1) {
                Node::Id(_) | Node::Struct(_) | Node::Null => false,
                Node::Const(_) | Node::SmallInt(_) | Node::Str(_) | Node::Token(_) => true,
            };
            if lonely {
                self.pop();
                self.pop();
                self.reduce(f.line, Rule::pass_stmt, 0)?;
                return Ok(false);
            }
        }

        let mut count = 0;
        let mut not_null = 0;
        for a in args.iter().rev() {
            match a {
                Arg::T(TokenKind::Name) => {
                    count += 1;
                    not_null += 1;
                }
                Arg::T(_) => {}
                Arg::R(_) | Arg::O(_) => {
                    if !matches!(self.peek(count), Node::Null) {
                        not_null += 1;
                    }
                    count += 1;
                }
            }
        }
        if not_null == 1 && act == Act::AndIdent {
            let mut keep = Node::Null;
            for _ in 0..count {
                let n = self.pop();
                if !matches!(n, Node::Null) {
                    keep = n;
                }
            }
            self.results.push(keep);
        } else {
            if act == Act::AndBlank {
                self.results.push(Node::Null);
                count += 1;
            }
            self.reduce(f.line, f.rule, count)?;
        }
        Ok(false)
    }

    fn step_list(
        &mut self,
        f: Frame,
        act: Act,
        args: &[Arg],
        backtrack: bool,
    ) -> Result<bool, ParseError> {
        // Argument selector: one-or-more always uses the item; the other lists alternate
        // item (even positions) and separator (odd positions).
        let alternates = act != Act::OneOrMore;
        let mut i = f.arg;
        let mut trailing_sep = false;
        let mut failed = backtrack;
        if !failed {
            loop {
                let a = args[if alternates { i & 1 } else { 0 }];
                match a {
                    Arg::T(k) => {
                        if self.cur().kind == k {
                            if !(alternates && i & 1 == 1) {
                                self.push_token(f.rule)?;
                            }
                            self.advance()?;
                            i += 1;
                        } else {
                            i += 1;
                            failed = true;
                            break;
                        }
                    }
                    // The first item giving up fails the whole list.
                    Arg::R(r) | Arg::O(r) if i == 0 && self.gives_up(r) => return Ok(true),
                    Arg::R(r) | Arg::O(r) => {
                        self.push_rule(f.rule, i + 1, f.line)?;
                        self.push_child(r)?;
                        return Ok(false);
                    }
                }
            }
        }
        if failed {
            if i == 1 {
                // The first item failed: the whole list fails.
                return Ok(true);
            }
            if alternates && i & 1 == 1 {
                // An item after a separator failed.
                if act == Act::ListWithEnd {
                    trailing_sep = true;
                } else {
                    return Err(self.error_here());
                }
            }
        }
        let mut n = i.saturating_sub(1);
        if alternates && matches!(args[1], Arg::T(_)) {
            n = n.div_ceil(2);
        }
        if n != 1 || trailing_sep {
            self.reduce(f.line, f.rule, n)?;
        }
        Ok(false)
    }

    /// Turn the current token into a leaf (or constant node) on the result stack.
    fn push_token(&mut self, rule: Rule) -> Result<(), ParseError> {
        // The token's text moves into the tree: the parser never reads a token's text again
        // once it has consumed it (errors only need kind, line and column).
        let text = match self.tokens.get_mut(self.pos) {
            Some(t) => std::mem::take(&mut t.text),
            None => Vec::new(),
        };
        let t = self.cur();
        let (line, col) = (t.line, t.col);
        let bits = self.opts.small_int_bits;
        let node = match t.kind {
            TokenKind::Name => {
                let name = text;
                self.pool.intern(&name);
                match (rule, self.consts.get(&name)) {
                    (Rule::atom, Some(c)) => fold::value_node(c.clone(), line, bits),
                    _ => Node::Id(name),
                }
            }
            TokenKind::Integer => match parse_int(&text) {
                Ok(v) => fold::value_node(Const::Int(v), line, bits),
                Err(e) => {
                    return Err(ParseError {
                        kind: ParseErrorKind::Number(e),
                        line,
                        col,
                    })
                }
            },
            TokenKind::FloatOrImag => match parse_float(&text, self.opts.float_ops) {
                Ok(c) => Node::new_const(line, c),
                Err(e) => {
                    return Err(ParseError {
                        kind: ParseErrorKind::Number(e),
                        line,
                        col,
                    })
                }
            },
            TokenKind::String => {
                let s = text;
                if self.pool.intern_literal(&s) {
                    Node::Str(s)
                } else {
                    Node::new_const(line, Const::Str(s))
                }
            }
            TokenKind::Bytes => Node::new_const(line, Const::Bytes(text)),
            k => Node::Token(k),
        };
        self.results.push(node);
        Ok(())
    }

    /// Build a struct node of `rule` from the top `n` results, after MicroPython's
    /// simplifications and folds.
    fn reduce(&mut self, line: u32, rule: Rule, mut n: usize) -> Result<(), ParseError> {
        match rule {
            Rule::atom_paren => {
                let top = self.peek(0);
                if !matches!(top, Node::Null) && !top.is_rule(Rule::testlist_comp) {
                    // Parentheses around one expression vanish.
                    return Ok(());
                }
            }
            Rule::testlist_comp => {
                if self.peek(0).is_rule(Rule::testlist_comp_3b) {
                    // `(a,)`: one item and a trailing comma.
                    self.pop();
                    n -= 1;
                } else if is_stolen(self.peek(0)) {
                    // `(a, b, c)`: the 3c node below already holds every item.
                    self.pop();
                    if let Some(Node::Struct(s)) = self.results.last_mut() {
                        s.rule = Rule::testlist_comp;
                    }
                    return Ok(());
                }
            }
            // The item list takes over the first item, which sits below it.
            Rule::testlist_comp_3c => n += 1,
            _ => {}
        }

        if self.fold_logical(rule, &mut n) || self.fold_constants(rule, n)? {
            return Ok(());
        }
        if self.build_tuple(line, rule, n) {
            return Ok(());
        }

        let children = self.results.split_off(self.results.len() - n);
        let node = Node::new_struct(rule, line, children);
        self.results.push(node);
        if rule == Rule::testlist_comp_3c {
            // Keep the depth of the stack as the enclosing rules expect.
            let node = self.pop();
            self.results.push(node);
            self.results.push(STOLEN);
        }
        Ok(())
    }

    fn fold_logical(&mut self, rule: Rule, n: &mut usize) -> bool {
        match rule {
            Rule::or_test | Rule::and_test => {
                let decisive = rule == Rule::or_test;
                let base = self.results.len() - *n;
                let ops: Vec<Node> = self.results.split_off(base);
                let last = ops.len() - 1;
                let mut kept = Vec::with_capacity(ops.len());
                for (k, op) in ops.into_iter().enumerate() {
                    let truth = fold::const_truth(&op);
                    if k == last || truth == Some(decisive) {
                        kept.push(op);
                        break;
                    }
                    if truth != Some(!decisive) {
                        kept.push(op);
                    }
                }
                *n = kept.len();
                self.results.extend(kept);
                *n == 1
            }
            Rule::not_test_2 => match fold::const_truth(self.peek(0)) {
                Some(t) => {
                    self.pop();
                    self.results.push(Node::Token(if t {
                        TokenKind::KwFalse
                    } else {
                        TokenKind::KwTrue
                    }));
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// Replace the top `n` results by one folded value. `same_object` is the NaN identity of
    /// a fold that hands back an existing object (unary `+`, `math.nan`); any other NaN result
    /// is a new object and gets an identity of its own.
    fn replace_with(&mut self, n: usize, value: fold::Num, same_object: Option<u32>) {
        let nan_id = match (&value, same_object) {
            (_, Some(id)) => id,
            (fold::Num::Float(f), None) if f.is_nan() => {
                self.last_nan_id += 1;
                self.last_nan_id
            }
            _ => 0,
        };
        self.results.truncate(self.results.len() - n);
        let node = fold::value_node(
            fold::num_to_const(value, nan_id),
            0,
            self.opts.small_int_bits,
        );
        self.results.push(node);
    }

    fn fold_constants(&mut self, rule: Rule, n: usize) -> Result<bool, ParseError> {
        match rule {
            Rule::expr | Rule::xor_expr | Rule::and_expr | Rule::power => {
                let op = match rule {
                    Rule::expr => BinOp::Or,
                    Rule::xor_expr => BinOp::Xor,
                    Rule::and_expr => BinOp::And,
                    _ => BinOp::Pow,
                };
                let base = self.results.len() - n;
                let Some(mut acc) = fold::number_of(&self.results[base]) else {
                    return Ok(false);
                };
                for k in 1..n {
                    let Some(rhs) = fold::number_of(&self.results[base + k]) else {
                        return Ok(false);
                    };
                    let Some(v) = fold::binary(op, &acc, &rhs) else {
                        return Ok(false);
                    };
                    acc = v;
                }
                self.replace_with(n, acc, None);
                Ok(true)
            }
            Rule::shift_expr | Rule::arith_expr | Rule::term => {
                let base = self.results.len() - n;
                let Some(mut acc) = fold::number_of(&self.results[base]) else {
                    return Ok(false);
                };
                let mut k = 1;
                while k < n {
                    let Some(rhs) = fold::number_of(&self.results[base + k + 1]) else {
                        return Ok(false);
                    };
                    let op = match &self.results[base + k] {
                        Node::Token(t) => BinOp::from_token(*t),
                        _ => None,
                    };
                    let Some(v) = op.and_then(|op| fold::binary(op, &acc, &rhs)) else {
                        return Ok(false);
                    };
                    acc = v;
                    k += 2;
                }
                self.replace_with(n, acc, None);
                Ok(true)
            }
            Rule::factor_2 => {
                let Some(v) = fold::number_of(self.peek(0)) else {
                    return Ok(false);
                };
                let op = match self.peek(1) {
                    Node::Token(t) => *t,
                    _ => return Ok(false),
                };
                let same = (op == TokenKind::OpPlus).then(|| fold::nan_id_of(self.peek(0)));
                match fold::unary(op, &v) {
                    Some(r) => {
                        self.replace_with(n, r, same);
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
            Rule::expr_stmt => self.fold_const_assignment(),
            Rule::atom_expr_normal => {
                let (Node::Id(base), Node::Struct(s)) = (self.peek(1), self.peek(0)) else {
                    return Ok(false);
                };
                if base.as_slice() != b"math" || s.rule != Rule::trailer_period {
                    return Ok(false);
                }
                let Some(Node::Id(attr)) = s.children.first() else {
                    return Ok(false);
                };
                match fold::math_constant(attr) {
                    Some(v) => {
                        self.replace_with(n, fold::Num::Float(v), Some(0));
                        Ok(true)
                    }
                    None => Ok(false),
                }
            }
            _ => Ok(false),
        }
    }

    /// `NAME = const(value)`: remember the value for later uses of NAME.
    fn fold_const_assignment(&mut self) -> Result<bool, ParseError> {
        let rhs_index = self.results.len() - 1;
        let mut annotated = false;
        if self.peek(0).is_rule(Rule::annassign) {
            if self.opts.target == Target::CircuitPython {
                return Ok(false);
            }
            // `NAME: T = const(value)` behaves exactly like `NAME = const(value)`.
            let is_call = matches!(
                self.peek(0).as_struct().and_then(|s| s.children.get(1)),
                Some(v) if is_const_call(v)
            );
            if !is_call {
                return Ok(false);
            }
            annotated = true;
        }
        let rhs = self.peek(0);
        let call = if annotated {
            rhs.as_struct().and_then(|s| s.children.get(1))
        } else {
            Some(rhs)
        };
        let Some(call) = call.filter(|c| is_const_call(c)) else {
            return Ok(false);
        };
        let Node::Id(name) = self.peek(1) else {
            return Ok(false);
        };
        let name = name.clone();
        let Some(call) = call.as_struct() else {
            return Ok(false);
        };
        let call_line = call.line;
        let value_ref = call
            .children
            .get(1)
            .and_then(Node::as_struct)
            .and_then(|trailer| trailer.children.first());
        // Check before copying: a non-constant argument may be a deep expression.
        if !value_ref.is_some_and(fold::is_const) {
            let col = self.cur().col;
            return Err(ParseError {
                kind: ParseErrorKind::NotAConstant,
                line: call_line,
                col,
            });
        }
        let value_node = value_ref.cloned().unwrap_or(Node::Null);
        let Some(value) = fold::const_value(&value_node) else {
            return Ok(false);
        };
        self.consts.insert(name.clone(), value);
        self.results.truncate(rhs_index);
        if name.first() == Some(&b'_') {
            self.pop();
            self.reduce(0, Rule::pass_stmt, 0)?;
            return Ok(true);
        }
        self.results.push(value_node);
        Ok(false)
    }

    fn build_tuple(&mut self, line: u32, rule: Rule, n: usize) -> bool {
        let parent = |k: usize| {
            self.rules
                .len()
                .checked_sub(k + 1)
                .map(|i| self.rules[i].rule)
        };
        let applies = match rule {
            Rule::testlist_comp => parent(0) == Some(Rule::atom_paren),
            Rule::testlist_comp_3c => parent(2) == Some(Rule::atom_paren),
            Rule::testlist_star_expr | Rule::testlist | Rule::subscriptlist => true,
            _ => false,
        };
        if !applies {
            return false;
        }
        let base = self.results.len() - n;
        if !self.results[base..].iter().all(fold::is_const) {
            return false;
        }
        let items: Vec<Const> = self
            .results
            .split_off(base)
            .into_iter()
            .filter_map(fold::into_const)
            .collect();
        self.results
            .push(Node::new_const(line, Const::Tuple(items)));
        if rule == Rule::testlist_comp_3c {
            // The tuple replaces the whole `( ... )` content: drop the pending
            // testlist_comp_3b and testlist_comp rules.
            let keep = self.rules.len().saturating_sub(2);
            self.rules.truncate(keep);
        }
        true
    }
}

/// `const(...)` as parsed: atom_expr_normal(id(const), trailer_paren(...)).
fn is_const_call(n: &Node) -> bool {
    let Some(s) = n.as_struct() else { return false };
    s.rule == Rule::atom_expr_normal
        && matches!(s.children.first(), Some(Node::Id(id)) if id.as_slice() == b"const")
        && s.children
            .get(1)
            .is_some_and(|t| t.is_rule(Rule::trailer_paren))
}
