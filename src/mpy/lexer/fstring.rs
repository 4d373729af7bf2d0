//! f-string rewriting: `f'a{x!r:>{w}}b'` becomes the tokens of `'a{!r:>{}}b'.format(x, w)`.
//!
//! MicroPython does this in its lexer too. CPython 3.4 code has no f-strings, so the exact
//! token layout mpy-cross produces for them is not verified byte for byte; the semantics
//! follow CPython (auto-numbered fields, nested replacement fields in the spec, `{x=}`).

use super::{tokenize, LexOptions, Token, TokenKind};

/// Split an f-string body (escapes still in it) into the `str.format` template and the
/// token lists of each argument expression. `Err` means a malformed f-string.
pub(crate) fn split(
    body: &[u8],
    line: u32,
    opts: LexOptions,
) -> Result<(Vec<u8>, Vec<Vec<Token>>), ()> {
    let mut fmt = Vec::new();
    let mut args = Vec::new();
    split_into(body, line, opts, &mut fmt, &mut args, 0)?;
    Ok((fmt, args))
}

fn split_into(
    body: &[u8],
    line: u32,
    opts: LexOptions,
    fmt: &mut Vec<u8>,
    args: &mut Vec<Vec<Token>>,
    depth: u32,
) -> Result<(), ()> {
    if depth > 2 {
        return Err(());
    }
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if (b == b'{' || b == b'}') && body.get(i + 1) == Some(&b) {
            fmt.extend_from_slice(&[b, b]);
            i += 2;
            continue;
        }
        if b != b'{' {
            fmt.push(b);
            i += 1;
            continue;
        }
        let end = field_end(body, i + 1).ok_or(())?;
        let field = &body[i + 1..end];
        let (expr_end, conv_at, spec_at) = field_parts(field);
        let mut expr = &field[..expr_end];
        fmt.push(b'{');
        let conv: Option<&[u8]> = conv_at.map(|c| &field[c + 1..spec_at.unwrap_or(field.len())]);
        // `{x=}` prints the expression text first and defaults to repr.
        let trimmed = trim_end(expr);
        if trimmed.ends_with(b"=")
            && !matches!(
                trimmed.len().checked_sub(2).map(|k| trimmed[k]),
                Some(b'=' | b'!' | b'<' | b'>')
            )
        {
            let text_len = fmt.len() - 1;
            fmt.truncate(text_len);
            fmt.extend_from_slice(expr);
            fmt.push(b'{');
            expr = &trimmed[..trimmed.len() - 1];
        }
        if trim_end(expr).is_empty() {
            return Err(());
        }
        let mut src = Vec::with_capacity(expr.len() + 2);
        src.push(b'(');
        src.extend_from_slice(expr);
        src.push(b')');
        let toks = tokenize(&src, opts);
        if toks.raise.is_some() {
            return Err(());
        }
        let mut list: Vec<Token> = toks
            .tokens
            .into_iter()
            .filter(|t| !matches!(t.kind, TokenKind::Newline | TokenKind::End))
            .collect();
        for t in &mut list {
            t.line = line;
        }
        args.push(list);
        if let Some(c) = conv {
            fmt.push(b'!');
            fmt.extend_from_slice(c);
        }
        if let Some(s) = spec_at {
            fmt.push(b':');
            split_into(&field[s + 1..], line, opts, fmt, args, depth + 1)?;
        }
        fmt.push(b'}');
        i = end + 1;
    }
    Ok(())
}

fn trim_end(s: &[u8]) -> &[u8] {
    let mut n = s.len();
    while n > 0 && matches!(s[n - 1], b' ' | b'\t' | b'\n') {
        n -= 1;
    }
    &s[..n]
}

/// Index of the `}` closing the field that starts at `start`, skipping nested brackets and
/// quoted strings.
fn field_end(body: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = start;
    while i < body.len() {
        let b = body[i];
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
        } else {
            match b {
                b'\'' | b'"' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' => depth = depth.saturating_sub(1),
                b'}' if depth == 0 => return Some(i),
                b'}' => depth -= 1,
                _ => {}
            }
        }
        i += 1;
    }
    None
}

/// Split a field into expression end, `!` position and `:` position (top level only).
fn field_parts(field: &[u8]) -> (usize, Option<usize>, Option<usize>) {
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut conv = None;
    for (i, &b) in field.iter().enumerate() {
        if let Some(q) = quote {
            if b == q {
                quote = None;
            }
            continue;
        }
        match b {
            b'\'' | b'"' => quote = Some(b),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b'!' if depth == 0 && conv.is_none() && field.get(i + 1) != Some(&b'=') => {
                conv = Some(i)
            }
            b':' if depth == 0 => {
                return (conv.unwrap_or(i), conv, Some(i));
            }
            _ => {}
        }
    }
    (conv.unwrap_or(field.len()), conv, None)
}

/// Append `.format(arg, ...)` after the string token just pushed.
pub(crate) fn emit_format_call(out: &mut Vec<Token>, args: Vec<Vec<Token>>, line: u32, col: u32) {
    let tok = |kind, text: &[u8]| Token {
        kind,
        line,
        col,
        text: text.to_vec(),
    };
    out.push(tok(TokenKind::DelPeriod, b""));
    out.push(tok(TokenKind::Name, b"format"));
    out.push(tok(TokenKind::DelParenOpen, b""));
    for (k, arg) in args.into_iter().enumerate() {
        if k > 0 {
            out.push(tok(TokenKind::DelComma, b""));
        }
        out.extend(arg);
    }
    out.push(tok(TokenKind::DelParenClose, b""));
}
