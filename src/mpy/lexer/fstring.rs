//! f-string rewriting, as MicroPython's lexer does it: `f'a{x!r:>{w}}b'` becomes the tokens
//! of `'a{!r:>{}}b'.format((x),(w),)`.
//!
//! The rules (observed in MicroPython 1.26.1's lexer and parse trees, mpy-format §3.2):
//! * `{{` stays `{{`; a `}` is copied like any other character.
//! * A field's expression runs to the first `:` or `}`, or `!` followed by `r`/`s` and then
//!   `:`/`}`, outside `[...]`/`{...}` nesting (parentheses and quotes are not tracked, so
//!   `f'{d[":"]}'` works but `f'{f(":")}'` does not); the conversion and spec stay in the
//!   template, where a `{...}` inside a spec is a field of its own. The nesting count goes
//!   below zero on an unmatched `]` or `}` and back up on later openers.
//! * The field is scanned over the source, not over the string: it runs past the closing
//!   quote and across lines (so `f"{d["k"]}"` and a single-quoted `f"{[1,\n2]}"` compile) until
//!   its end is found, or the file ends, which leaves the string unterminated. The string
//!   then goes on to its next closing quote; see [`read_raw`].
//! * An expression ending in `=` also puts its text (with the `=`) in the template and gets
//!   no default conversion.
//! * Every argument is written `(expr),`, so `f'{ }'` formats an empty tuple and a single
//!   argument still leaves an `arglist` node.
//! * The call `.format((arg),...,)` is lexed as text inserted into the source where the
//!   lexer stands after the literal and the blanks behind it (see [`format_call`] and
//!   `Cursor::insert`): its tokens carry the line reached there, the newlines of the
//!   arguments move every later line down, brackets an argument leaves open stay open, and
//!   a token an argument leaves unfinished (`f"{'''}"`) runs on into the source. At the end
//!   of the input one more newline follows the call.
//! * A field with no expression at all (`f'{}'`, `f'{=}'`) is `SyntaxError: malformed
//!   f-string` in mpy-cross 1.29 (MicroPython 1.26.1 accepted it); see [`empty_fields`].
//!   The CircuitPython target gets the same rule: mpy-format §4.1 lists no lexer difference
//!   but t-strings (not checked against CircuitPython's own mpy-cross).

use super::{string, tokenize_nested, Cursor, LexError, LexOptions, Token, TokenKind};

/// f-strings inside f-string expressions deeper than this are refused (invalid token), which
/// bounds the work on pathological input; mpy-cross runs out of memory well before.
pub(crate) const MAX_NESTING: usize = 1000;

/// The text mpy-cross lexes after an f-string: `.format((arg),...,)`.
pub(crate) fn format_call(args: &[Vec<u8>]) -> Vec<u8> {
    let mut text = b".format(".to_vec();
    for arg in args {
        text.push(b'(');
        text.extend_from_slice(arg);
        text.extend_from_slice(b"),");
    }
    text.push(b')');
    text
}

/// Split an f-string body (escapes still in it) into the `str.format` template (escapes
/// still in it) and the text of each argument expression. `None`: malformed.
pub(crate) fn split(body: &[u8], raw: bool) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
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
                i = field_end(body, i)?;
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
        let len = match b {
            b'\\' if !raw => string::escape_len(body, i, false),
            b'\\' => 2,
            _ => 1,
        }
        .min(body.len() - i);
        fmt.extend_from_slice(&body[i..i + len]);
        i += len;
    }
    Some((fmt, args))
}

/// The index of the byte ending the field expression that starts at `text[start]` (`:`,
/// `}` or the `!` of a conversion, at nesting level 0), or `None` if `text` ends first.
/// t-string fields end the same way.
pub(crate) fn field_end(text: &[u8], start: usize) -> Option<usize> {
    let mut level = 0i64;
    let mut i = start;
    loop {
        let c = *text.get(i)?;
        if level == 0 {
            let conv = c == b'!'
                && matches!(text.get(i + 1), Some(b'r' | b's'))
                && matches!(text.get(i + 2), Some(b':' | b'}'));
            if c == b':' || c == b'}' || conv {
                return Some(i);
            }
        }
        match c {
            b'[' | b'{' => level += 1,
            b']' | b'}' => level -= 1,
            _ => {}
        }
        i += 1;
    }
}

/// Read an f-string literal from its opening quote as MicroPython's lexer does, fields
/// scanned over the source (they may run past the quote that ends the literal as a plain
/// string, and across lines), and return its body for [`split`]. Only needed when a field
/// does that, which makes the plain reading fail: observed with mpy-cross 1.29,
/// `f"{'a { b'}")` then takes the source up to the next field end, and the syntax error
/// falls on a later line. If the literal is unterminated, `Err` holds the text outside fields
/// read until then: mpy-cross decodes escapes as it reads, so a `\N{...}` there still raises.
pub(crate) fn read_raw(cur: &mut Cursor, raw: bool) -> Result<Vec<u8>, Vec<u8>> {
    let mut template = Vec::new();
    let Some(quote) = cur.peek(0) else {
        return Err(template);
    };
    cur.bump();
    let triple = cur.peek(0) == Some(quote) && cur.peek(1) == Some(quote);
    if triple {
        cur.bump();
        cur.bump();
    }
    let start = cur.pos;
    loop {
        let Some(b) = cur.peek(0) else {
            return Err(template);
        };
        if b == b'\n' && !triple {
            return Err(template);
        }
        if b == quote && (!triple || (cur.peek(1) == Some(quote) && cur.peek(2) == Some(quote))) {
            let body = cur.src[start..cur.pos].to_vec();
            for _ in 0..if triple { 3 } else { 1 } {
                cur.bump();
            }
            return Ok(body);
        }
        if b == b'\\' && !raw {
            for _ in 0..string::escape_len(&cur.src, cur.pos, false) {
                template.extend(cur.peek(0));
                cur.bump();
            }
            continue;
        }
        template.push(b);
        cur.bump();
        if b == b'\\' || (b == b'{' && cur.is(b'{')) {
            template.extend(cur.peek(0));
            cur.bump();
        } else if b == b'{' {
            let Some(end) = field_end(&cur.src, cur.pos) else {
                return Err(template);
            };
            while cur.pos < end {
                cur.bump();
            }
        }
    }
}

/// What empty fields (`{}`, `{=}`, `{:...}`, `{!r}`) make of an f-string literal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EmptyFields {
    /// None, or none that counts.
    Harmless,
    /// mpy-cross raises `SyntaxError: malformed f-string` once the literal is read.
    Malformed,
    /// The token is invalid ("invalid syntax").
    Invalid,
}

/// Classify an f-string body by its empty fields, as observed with mpy-cross 1.29: reading
/// in order, an empty field makes the literal malformed, a backslash after it (in a non-raw
/// literal: other than a line continuation) makes it an invalid token instead, and a later
/// empty field makes it malformed again (`f"{}\n"` is invalid, `f"{}\n{}"`, `f"\n{}"` and
/// `f"{}\` + newline are malformed). A `\x`, `\u` or `\U` escape ends at its first
/// character that is not a hex digit and swallows it, so `f"\x4{}"` has no field (see
/// [`string::escape_len`]).
pub(crate) fn empty_fields(body: &[u8], raw: bool) -> EmptyFields {
    let mut state = EmptyFields::Harmless;
    let mut i = 0;
    while let Some(&b) = body.get(i) {
        if b == b'{' && body.get(i + 1) == Some(&b'{') {
            i += 2;
        } else if b == b'{' {
            let Some(end) = field_end(body, i + 1) else {
                return state;
            };
            if matches!(&body[i + 1..end], b"" | b"=") {
                state = EmptyFields::Malformed;
            }
            i = end;
        } else if b == b'\\' {
            let next = body.get(i + 1).copied();
            if (raw || next != Some(b'\n')) && state == EmptyFields::Malformed {
                state = EmptyFields::Invalid;
            }
            i += if raw {
                2
            } else {
                string::escape_len(body, i, false)
            };
        } else {
            i += 1;
        }
    }
    state
}

/// Opening minus closing brackets among `tokens`.
pub(crate) fn open_brackets(tokens: &[Token]) -> i64 {
    tokens
        .iter()
        .map(|t| match t.kind {
            TokenKind::DelParenOpen | TokenKind::DelBracketOpen | TokenKind::DelBraceOpen => 1,
            TokenKind::DelParenClose | TokenKind::DelBracketClose | TokenKind::DelBraceClose => -1,
            _ => 0,
        })
        .sum()
}

/// Why [`emit_format_call`] could not emit the call.
pub(crate) enum FormatCallError {
    /// An argument does not tokenise: the call becomes an invalid token.
    Invalid,
    /// Lexing an argument raised this error at (line, column) of the file.
    Raise(LexError, u32, u32),
}

/// Append the tokens of `.format((arg),...,)` after the string token just pushed (the
/// f-string spec of a t-string field; f-strings themselves go through [`format_call`]),
/// and return how many
/// newlines the argument texts hold: MicroPython lexes those texts after the string, so
/// their newlines move the argument tokens and every later line down once more (mpy-cross
/// line tables show it). On a raise, the argument tokens before it are appended.
pub(crate) fn emit_format_call(
    out: &mut Vec<Token>,
    args: &[Vec<u8>],
    line: u32,
    col: u32,
    opts: LexOptions,
    nesting: u32,
) -> Result<u32, FormatCallError> {
    if usize::try_from(nesting).map_or(true, |n| n >= MAX_NESTING) {
        return Err(FormatCallError::Invalid);
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
        if let Some((e, at, _)) = toks.raise {
            return Err(FormatCallError::Raise(e, base + at.saturating_sub(1), col));
        }
        let newlines = arg.iter().filter(|&&b| b == b'\n').count();
        extra = extra.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
        out.push(tok(TokenKind::DelComma, line + extra, b""));
    }
    out.push(tok(TokenKind::DelParenClose, line + extra, b""));
    Ok(extra)
}
