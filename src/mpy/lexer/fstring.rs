//! f-string rewriting, as MicroPython's lexer does it: `f'a{x!r:>{w}}b'` becomes the tokens
//! of `'a{!r:>{}}b'.format((x),(w),)`.
//!
//! The rules (observed in MicroPython 1.26.1's lexer and parse trees, mpy-format §3.2):
//! * `{{` stays `{{`; a `}` is copied like any other character.
//! * A field's expression runs to the first `:` or `}`, or `!` followed by `r`/`s` and then
//!   `:`/`}`, outside `[...]`/`{...}` nesting (parentheses and quotes are not tracked, so
//!   `f'{d[":"]}'` works but `f'{f(":")}'` does not); the conversion and spec stay in the
//!   template, where a `{...}` inside a spec is a field of its own.
//! * An expression ending in `=` also puts its text (with the `=`) in the template and gets
//!   no default conversion.
//! * Every argument is written `(expr),`, so `f'{}'` formats an empty tuple and a single
//!   argument still leaves an `arglist` node.
//! * The `.format(...)` tokens carry the line where the string token ended.

use super::{tokenize_nested, LexOptions, Token, TokenKind};

/// f-strings inside f-string expressions deeper than this are refused (invalid token).
const MAX_NESTING: u32 = 8;

/// Split an f-string body (escapes still in it) into the `str.format` template (escapes
/// still in it) and the text of each argument expression. `None`: malformed.
pub(crate) fn split(body: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let mut fmt = Vec::with_capacity(body.len());
    let mut args = Vec::new();
    let mut i = 0;
    while i < body.len() {
        while body.get(i) == Some(&b'{') {
            i += 1;
            if body.get(i) == Some(&b'{') {
                fmt.push(b'{');
                i += 1;
            } else {
                let start = i;
                i = expr_end(body, start)?;
                let mut arg = body[start..i].to_vec();
                if arg.last() == Some(&b'=') {
                    fmt.extend_from_slice(&arg);
                    arg.pop();
                }
                args.push(arg);
            }
            fmt.push(b'{');
        }
        let Some(&b) = body.get(i) else { break };
        fmt.push(b);
        i += 1;
        if b == b'\\' {
            if let Some(&n) = body.get(i) {
                fmt.push(n);
                i += 1;
            }
        }
    }
    Some((fmt, args))
}

/// Where a field's expression starting at `start` ends: the first `:`, `}`, or `!r`/`!s`
/// followed by `:`/`}`, outside `[...]`/`{...}` nesting. `None`: no end before the body ends,
/// or an unmatched closer (which makes MicroPython scan to the end of the file). t-strings
/// split their fields the same way.
pub(crate) fn expr_end(body: &[u8], start: usize) -> Option<usize> {
    let mut i = start;
    let mut level = 0usize;
    loop {
        let c = *body.get(i)?;
        if level == 0 {
            let conv = c == b'!'
                && matches!(body.get(i + 1), Some(b'r' | b's'))
                && matches!(body.get(i + 2), Some(b':' | b'}'));
            if c == b':' || c == b'}' || conv {
                return Some(i);
            }
        }
        match c {
            b'[' | b'{' => level += 1,
            b']' | b'}' => level = level.checked_sub(1)?,
            _ => {}
        }
        i += 1;
    }
}

/// Append `.format((arg),...,)` after the string token just pushed, and return how many
/// newlines the argument texts hold: MicroPython lexes those texts after the string, so
/// their newlines move the argument tokens and every later line down once more (mpy-cross
/// line tables show it). `None` if an argument could not be tokenised.
pub(crate) fn emit_format_call(
    out: &mut Vec<Token>,
    args: &[Vec<u8>],
    line: u32,
    col: u32,
    opts: LexOptions,
    nesting: u32,
) -> Option<u32> {
    if nesting >= MAX_NESTING {
        return None;
    }
    let tok = |kind, line, text: &[u8]| Token {
        kind,
        line,
        col,
        text: text.to_vec(),
    };
    out.push(tok(TokenKind::DelPeriod, line, b""));
    out.push(tok(TokenKind::Name, line, b"format"));
    out.push(tok(TokenKind::DelParenOpen, line, b""));
    let mut extra = 0u32;
    for arg in args {
        let mut src = Vec::with_capacity(arg.len() + 2);
        src.push(b'(');
        src.extend_from_slice(arg);
        src.push(b')');
        let toks = tokenize_nested(&src, opts, nesting + 1);
        if toks.raise.is_some() {
            return None;
        }
        let base = line + extra;
        out.extend(
            toks.tokens
                .into_iter()
                .filter(|t| !matches!(t.kind, TokenKind::Newline | TokenKind::End))
                .map(|mut t| {
                    t.line = base + t.line.saturating_sub(1);
                    t.col = col;
                    t
                }),
        );
        let newlines = arg.iter().filter(|&&b| b == b'\n').count();
        extra = extra.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        out.push(tok(TokenKind::DelComma, line + extra, b""));
    }
    out.push(tok(TokenKind::DelParenClose, line + extra, b""));
    Some(extra)
}
