//! t-strings (PEP 750 template strings), as mpy-cross 1.29 compiles them.
//!
//! `t"a{x!r:>{w}}b"` becomes the tokens of
//! `__template__(('a', 'b',), (x), 'x', 'r', '>{}'.format((w),),)`: the literal pieces as
//! one constant tuple, then per field the value, the expression's source text, the
//! conversion (`None` when absent) and the format spec. Everything here was observed on
//! mpy-cross 1.29 (black-box, by compiling and disassembling):
//!
//! * Prefixes `t`, `tr`, `rt` only (lower case, as for every MicroPython prefix).
//! * The `__template__` name token sits where the literal starts; the rest carries the
//!   position the lexer reached after the literal and the blanks behind it (the same rule as
//!   f-strings, visible in line tables inside brackets).
//! * Inside a `{...}` field, quotes and newlines do not end the literal; in the literal
//!   parts a newline ends a single-quoted literal as usual.
//! * A field's expression ends at the first `:`, `}` or `!r`/`!s` followed by `:`/`}`
//!   outside `[...]`/`{...}` (parentheses and quotes are not tracked). Its text loses
//!   trailing blanks; a trailing `=` goes into the preceding piece (escapes and all) and makes
//!   the conversion `'r'` unless a spec follows.
//! * The spec ends at the `}` that balances the field; escapes in it are decoded. A spec
//!   holding `{` is an f-string (`'...'.format(...)`), where `{}` is malformed.
//! * "malformed f-string" (on the literal's first line): a lone `}`, an unclosed `{`, an empty
//!   or blank expression, an unmatched `]`/`}` in an expression, a newline in the spec of a
//!   single-quoted literal.
//! * A newline left in an expression's text (or in an f-string spec) is a syntax error,
//!   reported that many lines below the template tokens: mpy-cross writes the text as a quoted
//!   literal and re-lexes it.
//! * A backslash-newline in a piece or spec moves every later line down once more.
//! * Adjacent literals: a bytes literal ends the run; `t"a" t"b" t"c{x}"` becomes
//!   `__template__('a'('b'((...), ...` with the parentheses left open; any other mix with a
//!   t-string is a syntax error where the run ends.

use super::{fstring, is_space, string, tokenize_nested, Cursor, LexError, Lexer, TokenKind};

/// The name a template literal calls (resolved like any other name).
const TEMPLATE_NAME: &[u8] = b"__template__";

/// t-strings nested in t-string fields deeper than this are refused (invalid token), which
/// bounds the recursion; the quotes of a field do not limit nesting as they do for f-strings.
const MAX_NESTING: u32 = 8;

/// One `{...}` field of a t-string.
struct Field {
    /// The expression's source text without trailing blanks.
    text: Vec<u8>,
    /// `r` or `s`.
    conv: Option<u8>,
    /// The spec after `:`, escapes still in it.
    spec: Option<Vec<u8>>,
}

/// A t-string body split into pieces and fields (`pieces.len() == fields.len() + 1`).
struct Template {
    /// The literal pieces, escapes still in them.
    pieces: Vec<Vec<u8>>,
    fields: Vec<Field>,
}

/// How reading a t-string literal ended.
enum BodyEnd {
    Closed,
    /// The literal part ran into a newline (single-quoted) or the end of the file.
    Unterminated,
    /// The file ended inside a field.
    InField,
}

/// Read a t-string literal from its opening quote; returns the body and whether it was
/// triple-quoted. In a raw literal a backslash escapes nothing, not even the quote.
fn read_body(cur: &mut Cursor<'_>, raw: bool) -> (Vec<u8>, bool, BodyEnd) {
    let quote = cur.peek(0).unwrap_or(b'"');
    cur.bump();
    let triple = cur.peek(0) == Some(quote) && cur.peek(1) == Some(quote);
    if triple {
        cur.bump();
        cur.bump();
    }
    let mut body = Vec::new();
    let mut depth = 0usize;
    loop {
        let Some(b) = cur.peek(0) else {
            let end = if depth > 0 {
                BodyEnd::InField
            } else {
                BodyEnd::Unterminated
            };
            return (body, triple, end);
        };
        if depth > 0 {
            match b {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                _ => {}
            }
            body.push(b);
            cur.bump();
            continue;
        }
        if b == quote {
            if !triple {
                cur.bump();
                return (body, triple, BodyEnd::Closed);
            }
            if cur.peek(1) == Some(quote) && cur.peek(2) == Some(quote) {
                for _ in 0..3 {
                    cur.bump();
                }
                return (body, triple, BodyEnd::Closed);
            }
        }
        if b == b'\n' && !triple {
            return (body, triple, BodyEnd::Unterminated);
        }
        body.push(b);
        cur.bump();
        match b {
            b'\\' if !raw => {
                if let Some(n) = cur.peek(0) {
                    body.push(n);
                    cur.bump();
                }
            }
            b'{' if cur.is(b'{') => {
                body.push(b'{');
                cur.bump();
            }
            b'{' => depth = 1,
            _ => {}
        }
    }
}

/// Split a t-string body; `None` means "malformed f-string".
fn split(body: &[u8], triple: bool, raw: bool) -> Option<Template> {
    let mut pieces = vec![Vec::new()];
    let mut fields = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        let piece = pieces.last_mut()?;
        match b {
            b'\\' if !raw => {
                piece.extend_from_slice(&body[i..(i + 2).min(body.len())]);
                i += 2;
            }
            b'{' | b'}' if body.get(i + 1) == Some(&b) => {
                piece.push(b);
                i += 2;
            }
            b'}' => return None,
            b'{' => {
                let (field, next) = split_field(body, i + 1, (triple, raw), piece)?;
                fields.push(field);
                pieces.push(Vec::new());
                i = next;
            }
            _ => {
                piece.push(b);
                i += 1;
            }
        }
    }
    Some(Template { pieces, fields })
}

/// Split one field starting after its `{`; appends a `=` text to `piece`. Returns the field
/// and the index after its `}`.
fn split_field(
    body: &[u8],
    mut i: usize,
    (triple, raw): (bool, bool),
    piece: &mut Vec<u8>,
) -> Option<(Field, usize)> {
    let start = i;
    i = fstring::expr_end(body, start)?;
    let mut expr = &body[start..i];
    let self_documenting = expr.last() == Some(&b'=');
    if self_documenting {
        piece.extend_from_slice(expr);
        expr = &expr[..expr.len() - 1];
    }
    let end = expr
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(0, |p| p + 1);
    let text = expr[..end].to_vec();
    if text.iter().all(|&b| is_space(b)) {
        return None;
    }
    let mut conv = None;
    if body[i] == b'!' {
        conv = Some(body[i + 1]);
        i += 2;
    }
    let mut spec = None;
    if body[i] == b':' {
        i += 1;
        let s = i;
        let mut level = 0usize;
        loop {
            match *body.get(i)? {
                b'\\' if !raw => i += 1,
                b'{' => level += 1,
                b'}' if level == 0 => break,
                b'}' => level -= 1,
                b'\n' if !triple => return None,
                _ => {}
            }
            i += 1;
        }
        let raw = body.get(s..i)?.to_vec();
        if raw.contains(&b'{') {
            let (_, args) = fstring::split(&raw)?;
            if args.iter().any(|a| a.is_empty()) {
                return None;
            }
        }
        spec = Some(raw);
    }
    if self_documenting && conv.is_none() && spec.is_none() {
        conv = Some(b'r');
    }
    // The loops above stop only on `}` (fields end there; specs stop before it).
    Some((Field { text, conv, spec }, i + 1))
}

/// Backslash-newline continuations in a raw piece or spec.
fn continuations(raw: &[u8]) -> u32 {
    let mut n = 0u32;
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'\\' {
            n += u32::from(raw.get(i + 1) == Some(&b'\n'));
            i += 2;
        } else {
            i += 1;
        }
    }
    n
}

/// One literal of a run that starts with a t-string.
enum Literal {
    Template(Template),
    Other,
}

/// What a literal's escapes decode to (`None`: a bad escape, the token is invalid).
fn decode(raw: &[u8], raw_prefix: bool) -> Result<Option<Vec<u8>>, LexError> {
    let d = string::decode(raw, false, raw_prefix)?;
    Ok((!d.invalid).then_some(d.value))
}

impl Lexer<'_> {
    /// Lex a run of adjacent literals whose first one is a t-string (the cursor is on its
    /// prefix). Returns false when an error was raised.
    pub(super) fn lex_template_run(&mut self, line: u32, col: u32) -> bool {
        let mut run: Vec<(Literal, bool)> = Vec::new();
        while string::starts_literal(&self.cur, true) {
            let prefix = string::read_prefix(&self.cur, true);
            if prefix.bytes {
                break;
            }
            for _ in 0..prefix.len {
                self.cur.bump();
            }
            if prefix.template {
                let (body, triple, end) = read_body(&mut self.cur, prefix.raw);
                match end {
                    BodyEnd::Closed => {}
                    BodyEnd::Unterminated => {
                        self.push(TokenKind::LonelyStringOpen, line, col, Vec::new());
                        return true;
                    }
                    BodyEnd::InField => return self.raise(LexError::MalformedFString, line, col),
                }
                match split(&body, triple, prefix.raw) {
                    Some(t) => run.push((Literal::Template(t), prefix.raw)),
                    None => return self.raise(LexError::MalformedFString, line, col),
                }
            } else {
                let keep = prefix.raw || prefix.fstring;
                let piece = string::read_literal(&mut self.cur, keep, false);
                if let Some(e) = piece.raise {
                    return self.raise(e, line, col);
                }
                if piece.unterminated {
                    self.push(TokenKind::LonelyStringOpen, line, col, Vec::new());
                    return true;
                }
                run.push((Literal::Other, prefix.raw));
            }
            self.skip_blanks(true);
        }
        let (at_line, at_col) = (self.cur.line, self.cur.col);
        let cascade = run.iter().enumerate().all(|(k, (lit, _))| match lit {
            Literal::Template(t) => k + 1 == run.len() || t.fields.is_empty(),
            Literal::Other => false,
        });
        if !cascade {
            self.push(TokenKind::Name, line, col, TEMPLATE_NAME.to_vec());
            self.push(TokenKind::Invalid, at_line, at_col, Vec::new());
            return true;
        }
        // Decode everything first: a bad escape anywhere makes the whole literal invalid.
        let mut decoded = Vec::with_capacity(run.len());
        for (lit, raw) in &run {
            if let Literal::Template(t) = lit {
                match self.decode_template(t, *raw) {
                    Ok(Some(d)) => decoded.push(d),
                    Ok(None) => {
                        self.push(TokenKind::Invalid, line, col, Vec::new());
                        return true;
                    }
                    Err(e) => return self.raise(e, line, col),
                }
            }
        }
        self.push(TokenKind::Name, line, col, TEMPLATE_NAME.to_vec());
        self.push(TokenKind::DelParenOpen, at_line, at_col, Vec::new());
        let last = decoded.len() - 1;
        for (k, d) in decoded[..last].iter().enumerate() {
            // Where mpy-cross's extra parentheses go is invisible in the bytecode; only
            // their number (two per literal after the first) shows.
            if k > 0 {
                self.push(TokenKind::DelParenOpen, at_line, at_col, Vec::new());
            }
            let piece = d.pieces.first().cloned().unwrap_or_default();
            self.push(TokenKind::String, at_line, at_col, piece);
            self.push(TokenKind::DelParenOpen, at_line, at_col, Vec::new());
        }
        if let Some(t) = run.iter().rev().find_map(|(lit, _)| match lit {
            Literal::Template(t) => Some(t),
            Literal::Other => None,
        }) {
            let closed = last == 0;
            if !self.emit_template(t, &decoded[last], at_line, at_col, closed) {
                return true;
            }
            if !closed {
                // The cascade leaves two parentheses open per literal after the first, so
                // the lexer keeps skipping newlines as mpy-cross does.
                self.brackets += 2 * i64::try_from(last).unwrap_or(i64::MAX / 2);
            }
        }
        true
    }

    /// A t-string after plain pieces of a run: read it (it can still be malformed); the run
    /// then ends in a syntax error.
    pub(super) fn skip_template_piece(&mut self, prefix: &string::Prefix) -> Result<(), LexError> {
        for _ in 0..prefix.len {
            self.cur.bump();
        }
        let (body, triple, end) = read_body(&mut self.cur, prefix.raw);
        if matches!(end, BodyEnd::InField) {
            return Err(LexError::MalformedFString);
        }
        let t = split(&body, triple, prefix.raw).ok_or(LexError::MalformedFString)?;
        self.decode_template(&t, prefix.raw).map(|_| ())
    }

    fn decode_template(&self, t: &Template, raw: bool) -> Result<Option<Decoded>, LexError> {
        let mut pieces = Vec::with_capacity(t.pieces.len());
        for p in &t.pieces {
            match decode(p, raw)? {
                Some(v) => pieces.push(v),
                None => return Ok(None),
            }
        }
        let mut specs = Vec::with_capacity(t.fields.len());
        for f in &t.fields {
            let spec = match &f.spec {
                None => Spec::Plain(Vec::new()),
                Some(s) if s.contains(&b'{') => {
                    let Some((fmt, args)) = fstring::split(s) else {
                        return Ok(None);
                    };
                    match decode(&fmt, raw)? {
                        Some(v) => {
                            let newline = args.iter().any(|a| a.contains(&b'\n'));
                            Spec::Format(v, args, newline)
                        }
                        None => return Ok(None),
                    }
                }
                Some(s) => match decode(s, raw)? {
                    Some(v) => Spec::Plain(v),
                    None => return Ok(None),
                },
            };
            specs.push(spec);
        }
        Ok(Some(Decoded { pieces, specs }))
    }

    /// Push the call arguments of one t-string (and its closing parenthesis when `close`).
    /// Returns false if a syntax error token was pushed instead of the rest.
    fn emit_template(
        &mut self,
        t: &Template,
        d: &Decoded,
        line: u32,
        col: u32,
        close: bool,
    ) -> bool {
        self.push(TokenKind::DelParenOpen, line, col, Vec::new());
        // A continuation in a piece counts once more when mpy-cross re-lexes the piece: the
        // tokens after it move down (line tables show it through the tuple's line).
        let mut at = line;
        for (raw, p) in t.pieces.iter().zip(&d.pieces) {
            self.push(TokenKind::String, at, col, p.clone());
            at += continuations(raw);
            self.push(TokenKind::DelComma, at, col, Vec::new());
        }
        self.push(TokenKind::DelParenClose, at, col, Vec::new());
        let mut shift = at - line;
        if self.nesting >= MAX_NESTING && !t.fields.is_empty() {
            self.push(TokenKind::Invalid, at, col, Vec::new());
            return false;
        }
        for (f, spec) in t.fields.iter().zip(&d.specs) {
            self.push(TokenKind::DelComma, at, col, Vec::new());
            let mut src = Vec::with_capacity(f.text.len() + 2);
            src.push(b'(');
            src.extend_from_slice(&f.text);
            src.push(b')');
            let toks = tokenize_nested(&src, self.opts, self.nesting + 1);
            if let Some((e, _, _)) = toks.raise {
                return self.raise(e, line, col);
            }
            let before = self.out.tokens.len();
            self.out.tokens.extend(
                toks.tokens
                    .into_iter()
                    .filter(|t| !matches!(t.kind, TokenKind::Newline | TokenKind::End))
                    .map(|mut t| {
                        t.line = at + t.line.saturating_sub(1);
                        t.col = col;
                        t
                    }),
            );
            // mpy-cross lexes the expression with its main lexer, so a bracket the text
            // leaves open (`{(x:1}` splits at the colon) keeps later newlines skipped.
            self.brackets += self.out.tokens[before..]
                .iter()
                .map(|t| match t.kind {
                    TokenKind::DelParenOpen
                    | TokenKind::DelBracketOpen
                    | TokenKind::DelBraceOpen => 1,
                    TokenKind::DelParenClose
                    | TokenKind::DelBracketClose
                    | TokenKind::DelBraceClose => -1,
                    _ => 0,
                })
                .sum::<i64>();
            if f.text.contains(&b'#') && self.comment_ate_rest(&src) {
                // In mpy-cross the comment runs to the end of the injected text: the rest of
                // the template vanishes and its call stays open.
                self.brackets += 1;
                return false;
            }
            let newlines = f.text.iter().filter(|&&b| b == b'\n').count();
            if newlines > 0 {
                let l = at.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
                self.push(TokenKind::Invalid, l, col, Vec::new());
                return false;
            }
            self.push(TokenKind::DelComma, at, col, Vec::new());
            self.push(TokenKind::String, at, col, f.text.clone());
            self.push(TokenKind::DelComma, at, col, Vec::new());
            match f.conv {
                Some(c) => self.push(TokenKind::String, at, col, vec![c]),
                None => self.push(TokenKind::KwNone, at, col, Vec::new()),
            }
            self.push(TokenKind::DelComma, at, col, Vec::new());
            let k = f.spec.as_deref().map_or(0, continuations);
            match spec {
                Spec::Plain(v) => self.push(TokenKind::String, at, col, v.clone()),
                Spec::Format(_, _, true) => {
                    self.push(TokenKind::Invalid, at, col, Vec::new());
                    return false;
                }
                Spec::Format(fmt, args, false) => {
                    self.push(TokenKind::String, at, col, fmt.clone());
                    let (opts, nesting) = (self.opts, self.nesting);
                    let tokens = &mut self.out.tokens;
                    if fstring::emit_format_call(tokens, args, at, col, opts, nesting).is_none() {
                        self.push(TokenKind::Invalid, at, col, Vec::new());
                        return false;
                    }
                }
            }
            at += k;
            shift += k;
        }
        if close {
            self.push(TokenKind::DelParenClose, at, col, Vec::new());
        }
        self.cur.line += shift;
        true
    }
}

impl Lexer<'_> {
    /// Whether a comment in `(text)` swallows the closing parenthesis (tokenising it without
    /// that parenthesis gives the same tokens).
    fn comment_ate_rest(&self, src: &[u8]) -> bool {
        let count = |s: &[u8]| {
            let t = tokenize_nested(s, self.opts, self.nesting + 1);
            t.tokens
                .iter()
                .filter(|t| !matches!(t.kind, TokenKind::Newline | TokenKind::End))
                .count()
        };
        count(src) == count(&src[..src.len() - 1])
    }
}

/// A field's spec after decoding.
enum Spec {
    Plain(Vec<u8>),
    /// An f-string spec: the decoded template, the argument texts, and whether a newline is
    /// in it (a syntax error in mpy-cross).
    Format(Vec<u8>, Vec<Vec<u8>>, bool),
}

/// A t-string's pieces and specs after decoding.
struct Decoded {
    pieces: Vec<Vec<u8>>,
    specs: Vec<Spec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field as (expression text, conversion, spec).
    type FieldParts = (String, Option<char>, Option<String>);

    fn parts(body: &str) -> Option<(Vec<String>, Vec<FieldParts>)> {
        let t = split(body.as_bytes(), false, false)?;
        let s = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        Some((
            t.pieces.iter().map(|p| s(p)).collect(),
            t.fields
                .iter()
                .map(|f| (s(&f.text), f.conv.map(char::from), f.spec.as_deref().map(s)))
                .collect(),
        ))
    }

    #[test]
    fn splits_pieces_and_fields() {
        let (p, f) = parts("a{x!r:>{w}}b").unwrap();
        assert_eq!(p, ["a", "b"]);
        assert_eq!(f, [("x".into(), Some('r'), Some(">{w}".into()))]);
        let (p, f) = parts("{ a.b  =:5}{{}}").unwrap();
        assert_eq!(p, [" a.b  =", "{}"]);
        assert_eq!(f, [(" a.b".into(), None, Some("5".into()))]);
        let (_, f) = parts("{a=}{b!=c}{d[':']}").unwrap();
        assert_eq!(f[0], ("a".into(), Some('r'), None));
        assert_eq!(f[1].0, "b!=c");
        assert_eq!(f[2].0, "d[':']");
    }

    #[test]
    fn malformed_bodies() {
        for body in [
            "}", "{", "{}", "{ }", "{=}", "{!r}", "{a]}", "{a:{}}", "{a:x}}y}", "\\{a}",
        ] {
            assert!(parts(body).is_none(), "{body}");
        }
        assert!(parts("{a:\n}").is_none());
        assert!(split(b"{a:\n}", true, false).is_some());
        assert!(split(b"\\{a}\\", false, true).is_some());
    }

    #[test]
    fn counts_continuations() {
        assert_eq!(continuations(b"a\\\nb\\\\\nc\\\n"), 2);
    }
}
