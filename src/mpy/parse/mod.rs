//! MicroPython's parser: tokens to its concrete parse tree, folding constants on the way.
//!
//! The tree has the exact shape mpy-cross builds (mpy-format §3.3): which rules keep a node,
//! which collapse, the line of each struct node, parentheses that vanish, lonely constant
//! statements replaced by `pass`, `const()` substitution, constant tuples, and the
//! string-interning decision (§3.4). The compiler's line tables and constant tables depend
//! on all of it.
//!
//! Entry point: [`parse`] with [`ParseOptions`]; result: the root [`Node`]; failure:
//! [`ParseError`] with mpy-cross's exception name, message and line.
//!
//! Reading the tree (what the compile pass relies on):
//! * A rule that collapsed is simply absent: wherever a rule *may* appear, its single child
//!   may appear instead (e.g. `file_input_2` holds the statements, but a one-statement file's
//!   root is that statement; an empty file's root is `Token(Newline)`).
//! * `And` rules keep only NAME tokens and sub-rule results; absent optional parts are
//!   [`Node::Null`]. `funcdef`, `classdef`, `lambdef` and `comp_for` end with an extra `Null`
//!   slot (MicroPython stores the scope there).
//! * Operators separating items of `comparison`, `shift_expr`, `arith_expr` and `term`, and
//!   tokens matched by `Or` rules (`factor_op`, `augassign`, `comp_op`, `period_or_ellipsis`,
//!   `import_from_3`'s `*`, `atom`'s `None`/`True`/`False`/`...`), are [`Node::Token`] leaves.
//! * `( ... )` with one expression vanishes; `()` is `atom_paren(Null)`; `(a,)`/`(a, b)` are
//!   `atom_paren(testlist_comp(...))` unless every item is constant, in which case the whole
//!   is one constant tuple, as are constant `testlist`, `testlist_star_expr` and
//!   `subscriptlist` nodes.
//! * Struct nodes carry the line of their first token; nodes made by folding carry line 0.

mod engine;
mod fold;
pub mod grammar;
pub mod node;
pub mod number;
mod prune;
pub mod qstr;
#[cfg(test)]
mod tests;

pub use grammar::Rule;
pub use node::{dump, Const, ConstNode, Float, Node, StructNode};
pub use number::{FloatOps, NumberError, StdFloatOps};

// The compiler decides constant conditions with the same truth rule as the folder.
pub(crate) use fold::const_truth;

use crate::mpy::lexer::LexError;

/// Which compiler's behaviour to reproduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// MicroPython 1.29 mpy-cross.
    #[default]
    MicroPython,
    /// CircuitPython 10.2.1 mpy-cross: its own qstr pool; `X: T = const(v)` is not a
    /// constant definition there.
    CircuitPython,
}

/// Options of one parse.
#[derive(Clone, Copy)]
pub struct ParseOptions<'a> {
    /// Target compiler.
    pub target: Target,
    /// Optimisation level 0–3 (`-O`): `__debug__` is `True` only at 0.
    pub opt_level: u8,
    /// Small-int width (`-msmall-int-bits`, default 31): wider ints become objects.
    pub small_int_bits: u32,
    /// The source name mpy-cross stores as qstr 0 (it is also a qstr for interning).
    pub source_name: &'a [u8],
    /// Float parsing; swap in the x87-exact implementation for byte identity.
    pub float_ops: &'a dyn FloatOps,
}

impl Default for ParseOptions<'_> {
    fn default() -> Self {
        ParseOptions {
            target: Target::MicroPython,
            opt_level: 0,
            small_int_bits: 31,
            source_name: b"",
            float_ops: &StdFloatOps,
        }
    }
}

impl std::fmt::Debug for ParseOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParseOptions")
            .field("target", &self.target)
            .field("opt_level", &self.opt_level)
            .field("small_int_bits", &self.small_int_bits)
            .field("source_name", &String::from_utf8_lossy(self.source_name))
            .finish_non_exhaustive()
    }
}

/// What went wrong; `Display` gives mpy-cross's `Exception: message` line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// `SyntaxError: invalid syntax`.
    #[error("SyntaxError: invalid syntax")]
    InvalidSyntax,
    /// `IndentationError: unexpected indent`.
    #[error("IndentationError: unexpected indent")]
    UnexpectedIndent,
    /// `IndentationError: unindent doesn't match any outer indent level`.
    #[error("IndentationError: unindent doesn't match any outer indent level")]
    UnindentMismatch,
    /// A bad number literal.
    #[error("SyntaxError: {0}")]
    Number(NumberError),
    /// `SyntaxError: not a constant` (the argument of `const()`).
    #[error("SyntaxError: not a constant")]
    NotAConstant,
    /// An error the lexer raised (mpy-cross prints no line for `UnicodeNameEscape`).
    #[error("{0}")]
    Lex(LexError),
    /// Nesting so deep that mpy-cross runs out of its heap (reported without a line).
    #[error("MemoryError: memory allocation failed")]
    Memory,
}

/// A parse failure at a source position.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {col}: {kind}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// 1-based line (the line mpy-cross prints, when it prints one).
    pub line: u32,
    /// 1-based column of the offending token (mpy-cross does not print it).
    pub col: u32,
}

impl ParseError {
    /// Whether mpy-cross prints a `File "...", line N` entry for this error.
    pub fn has_location(&self) -> bool {
        !matches!(
            self.kind,
            ParseErrorKind::Lex(LexError::UnicodeNameEscape) | ParseErrorKind::Memory
        )
    }

    /// A diagnostic for `path`, quoting the offending line of `source` and saying what to do
    /// where the cause is a known MicroPython difference.
    pub fn to_diagnostic(&self, path: &std::path::Path, source: &[u8]) -> crate::diag::Diagnostic {
        let mut d = crate::diag::Diagnostic::new(
            path,
            self.line as usize,
            self.col as usize,
            self.kind.to_string(),
        );
        let text = source
            .split(|&b| b == b'\n')
            .nth((self.line as usize).saturating_sub(1))
            .map(|l| {
                String::from_utf8_lossy(l)
                    .trim_end_matches('\r')
                    .to_string()
            });
        if let Some(t) = text.filter(|t| !t.trim().is_empty()) {
            d = d.with_text(t);
        }
        let help = match &self.kind {
            ParseErrorKind::Lex(LexError::UnicodeNameEscape) => Some(
                "MicroPython has no Unicode name table: write the character itself or a \\u/\\U escape",
            ),
            ParseErrorKind::Number(NumberError::Integer { base: 0, .. }) => {
                Some("a decimal number cannot start with 0: use the 0o prefix for octal")
            }
            ParseErrorKind::Number(_) => Some(
                "MicroPython reads every letter, digit, '.' and '_' after a digit as part of the \
                 number: separate it with a space (`1 if`, not `1if`)",
            ),
            ParseErrorKind::Memory => Some("reduce the nesting depth of this expression"),
            ParseErrorKind::Lex(LexError::MalformedFString) => Some(
                "in a t-string every `{` needs an expression and a matching `}`; write `{{` and \
                 `}}` for literal braces",
            ),
            _ => None,
        };
        match help {
            Some(h) => d.with_help(h),
            None => d,
        }
    }
}

/// Parse a whole source file (`file_input`) into MicroPython's parse tree.
pub fn parse(source: &[u8], opts: &ParseOptions<'_>) -> Result<Node, ParseError> {
    let lex_opts = crate::mpy::lexer::LexOptions {
        opt_level: opts.opt_level,
        tstrings: opts.target == Target::MicroPython,
    };
    let tokens = crate::mpy::lexer::tokenize(source, lex_opts);
    engine::Parser::new(tokens, opts).run()
}
