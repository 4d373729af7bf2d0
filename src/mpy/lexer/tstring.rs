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
//! * Inside a field's expression, quotes and newlines do not end the literal; in a spec the
//!   literal's closing quote and (single-quoted) a newline do, leaving the field unclosed. In
//!   the literal parts a newline ends a single-quoted literal as usual.
//! * A field's expression ends at the first `:`, `}` or `!r`/`!s` followed by `:`/`}`
//!   outside `[...]`/`{...}` (parentheses and quotes are not tracked; an unmatched closer sends
//!   the count below zero). Its text loses trailing blanks; a trailing `=` goes into the
//!   preceding piece (escapes and all) and makes the conversion `'r'` unless a spec follows.
//! * The spec ends at the `}` that balances the field; escapes in it are decoded. A spec
//!   holding `{` is an f-string (`'...'.format(...)`).
//! * "malformed f-string", on the literal's first line: a lone `}`, an unclosed field, an
//!   empty or blank expression, a conversion or spec without expression. An empty `{}` in an
//!   f-string spec is found later, on the line of the template tokens.
//! * mpy-cross re-quotes the pieces, texts and specs and lexes them again, which shows:
//!   - a newline left in an expression's text, or in an f-string spec's field, is a syntax
//!     error that many lines below the template tokens;
//!   - a backslash-newline in a piece or spec (not raw), and a newline in a `=` text, move
//!     every later line down once more;
//!   - in a triple-quoted literal a piece or spec ending in one bare quote character breaks
//!     the literal (syntax error), two are dropped; in a single-quoted one a `=` text holding
//!     the quote character or a newline breaks it;
//!   - a `#` in an expression comments out the rest of the template and of the source line.
//! * In raw literals a backslash escapes nothing, not even the closing quote.
//! * Adjacent literals: the decoded values of plain literals before the first t-string are
//!   lexed as source right after the name `__template__` (`", 7 #" t"b"` is the tuple
//!   `__template__, 7`, the rest commented out; `"a" t"b"` is a syntax error; empty ones
//!   vanish); a bytes literal ends the run;
//!   `t"a" t"b" t"c{x}"` becomes `__template__('a'(('b'((...`, with the parentheses left
//!   open; the decoded values of plain literals after the last t-string are lexed as source
//!   right after its last piece (`t"a{x}b" "'c'"` has the pieces `('a', 'bc')`,
//!   `t"a{x}b" ", 5"` the pieces `('a', 'b', 5)`, `"c"` is a syntax error, `"#"` comments
//!   out the rest of the template and of the line); an f-string in the run is read, and
//!   raises "malformed f-string" for an empty field, before the run fails; a bad escape in
//!   a plain literal of the run fails where the run starts; any other mix with a t-string
//!   is a syntax error where the run ends. A t-string right after a bytes literal is a
//!   syntax error on its own line and is not read (`b"" t"{"` is no "malformed f-string").
//!
//! Known differences (all in code mpy-cross mostly rejects too; found by
//! `scripts/fstring-fuzz --tstrings 1000`, which agrees on 994 of 1,000 programs):
//! * a t-string with fields followed by another t-string: mpy-cross folds the later
//!   literals into the first one's piece tuple and sometimes even compiles it
//!   (`t"{x}" "#\n" t"""t"q"""`); here it is a syntax error where the run ends;
//! * an f-string before a t-string in a run (`f"#" t"b"` compiles in mpy-cross);
//! * a plain literal in a run whose value leaves a string open: mpy-cross runs it on
//!   through the rest of the template; here it is a syntax error where the value goes;
//! * a t-string right after a bytes literal whose text runs on to a later line: mpy-cross
//!   sometimes reads it (failing later, or raising "malformed f-string"); here it always
//!   fails on its own line;
//! * a `#` in a field when a later field's text holds a newline (mpy-cross resumes lexing
//!   after that newline);
//! * raw triple-quoted pieces ending in a backslash-quote or quote characters; `\{` in the
//!   f-string spec of a raw t-string; t-strings nested more than 64 deep.
//!
//! Those differ in the reported line or in accepting.

use super::{
    fstring, is_space, string, tokenize_nested, Cursor, LexError, Lexer, Token, TokenKind,
};

/// The name a template literal calls (resolved like any other name).
const TEMPLATE_NAME: &[u8] = b"__template__";

/// t-strings nested in t-string fields deeper than this are refused (invalid token), which
/// bounds the recursion; the quotes of a field do not limit nesting as they do for f-strings.
const MAX_NESTING: u32 = 64;

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
    /// Per piece, the newlines of `=` texts appended to it.
    eq_newlines: Vec<u32>,
    fields: Vec<Field>,
    quoting: Quoting,
}

/// How a t-string literal is quoted.
#[derive(Clone, Copy)]
struct Quoting {
    quote: u8,
    triple: bool,
    raw: bool,
}

impl Quoting {
    /// Whether the literal's closing quote starts at `s[i]`.
    fn closes_at(self, s: &[u8], i: usize) -> bool {
        let q = Some(&self.quote);
        s.get(i) == q && (!self.triple || (s.get(i + 1) == q && s.get(i + 2) == q))
    }
}

/// How reading a t-string literal ended.
enum BodyEnd {
    Closed,
    /// The literal part ran into a newline (single-quoted) or the end of the file.
    Unterminated,
    /// The file ended inside a field.
    InField,
}

/// Where a field that starts after its `{` ends.
struct FieldEnd {
    /// Index of the `:`, `!` or `}` that ends the expression.
    expr_end: usize,
    /// Index of the field's closing `}`.
    close: usize,
}

/// Scan a field from just after its `{`. The expression ends at the first `:`, `}`, or
/// `!r`/`!s` followed by `:`/`}`, where `[...]`/`{...}` nesting is back at zero (quotes and
/// parentheses are not tracked; an unmatched closer sends the count negative, so the scan
/// usually runs on to the end of the file); the spec ends at the `}` that balances its own
/// braces. `None`: the text ends first.
fn field_end(s: &[u8], start: usize, q: Quoting) -> Option<FieldEnd> {
    let expr_end = fstring::field_end(s, start)?;
    let mut i = expr_end;
    if s[i] == b'!' {
        i += 2;
    }
    if s[i] == b':' {
        i += 1;
        let mut level = 0usize;
        loop {
            // Unlike the expression, the spec ends at the literal's closing quote (the field
            // is then unclosed).
            if q.closes_at(s, i) || (s.get(i) == Some(&b'\n') && !q.triple) {
                return None;
            }
            match *s.get(i)? {
                b'\\' if !q.raw => i += 1,
                b'{' => level += 1,
                b'}' if level == 0 => break,
                b'}' => level -= 1,
                _ => {}
            }
            i += 1;
        }
    }
    Some(FieldEnd { expr_end, close: i })
}

/// Read a t-string literal from its opening quote; returns the body and, if it was
/// triple-quoted, its quote character. Inside a field neither quotes nor newlines end the literal; in a raw
/// literal a backslash escapes nothing, not even the quote.
fn read_body(cur: &mut Cursor, raw: bool) -> (Vec<u8>, Quoting, BodyEnd) {
    let quote = cur.peek(0).unwrap_or(b'"');
    let triple = cur.peek(1) == Some(quote) && cur.peek(2) == Some(quote);
    let q = Quoting { quote, triple, raw };
    let open = if triple { 3 } else { 1 };
    let src = &cur.src[cur.pos + open..];
    let mut i = 0;
    let (len, close, end) = loop {
        let Some(&b) = src.get(i) else {
            break (i, 0, BodyEnd::Unterminated);
        };
        match b {
            _ if b == quote && !triple => break (i, 1, BodyEnd::Closed),
            _ if b == quote && src.get(i + 1) == Some(&quote) && src.get(i + 2) == Some(&quote) => {
                break (i, 3, BodyEnd::Closed)
            }
            b'\n' if !triple => break (i, 0, BodyEnd::Unterminated),
            b'\\' if !raw => i += 2,
            b'{' if src.get(i + 1) == Some(&b'{') => i += 2,
            b'{' => match field_end(src, i + 1, q) {
                Some(f) => i = f.close + 1,
                None => break (src.len(), 0, BodyEnd::InField),
            },
            _ => i += 1,
        }
    };
    let len = len.min(src.len());
    let body = src[..len].to_vec();
    for _ in 0..open + len + close {
        cur.bump();
    }
    (body, q, end)
}

/// Split a t-string body; `None` means "malformed f-string".
fn split(body: &[u8], quoting: Quoting) -> Option<Template> {
    let raw = quoting.raw;
    let mut pieces = vec![Vec::new()];
    let mut eq_newlines = vec![0];
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
                let end = field_end(body, i + 1, quoting)?;
                let before = piece.len();
                fields.push(split_field(body, i + 1, &end, piece)?);
                let added = piece[before..].iter().filter(|&&b| b == b'\n').count();
                if let Some(n) = eq_newlines.last_mut() {
                    *n = u32::try_from(added).unwrap_or(u32::MAX);
                }
                pieces.push(Vec::new());
                eq_newlines.push(0);
                i = end.close + 1;
            }
            _ => {
                piece.push(b);
                i += 1;
            }
        }
    }
    Some(Template {
        pieces,
        eq_newlines,
        fields,
        quoting,
    })
}

/// Take one field apart (`start` is after its `{`); appends a `=` text to `piece`.
fn split_field(body: &[u8], start: usize, end: &FieldEnd, piece: &mut Vec<u8>) -> Option<Field> {
    let mut i = end.expr_end;
    let mut expr = &body[start..i];
    let self_documenting = expr.last() == Some(&b'=');
    if self_documenting {
        piece.extend_from_slice(expr);
        expr = &expr[..expr.len() - 1];
    }
    let stripped = expr
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(0, |p| p + 1);
    let text = expr[..stripped].to_vec();
    if text.is_empty() {
        return None;
    }
    let mut conv = None;
    if body[i] == b'!' {
        conv = Some(body[i + 1]);
        i += 2;
    }
    let mut spec = None;
    if body[i] == b':' {
        let s = body.get(i + 1..end.close)?;
        if s.contains(&b'{') {
            fstring::split(s, false)?;
        }
        spec = Some(s.to_vec());
    }
    if self_documenting && conv.is_none() && spec.is_none() {
        conv = Some(b'r');
    }
    Some(Field { text, conv, spec })
}

/// Where a bare quote or newline in `s` breaks a single-quoted literal: the number of
/// backslash-newlines before it.
fn single_quote_break(s: &[u8], q: Quoting) -> Option<u32> {
    let mut lines = 0;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'\\' if !q.raw => {
                lines += u32::from(s.get(i + 1) == Some(&b'\n'));
                i += 2;
            }
            b if b == q.quote || b == b'\n' => return Some(lines),
            _ => i += 1,
        }
    }
    None
}

/// How many unescaped `quote` characters end `s`: mpy-cross re-quotes pieces and specs of a
/// triple-quoted literal with the same quotes, so one such quote breaks the literal and two
/// make an empty literal that vanishes.
fn trailing_quotes(s: &[u8], quote: u8, raw: bool) -> usize {
    let run = s.iter().rev().take_while(|&&b| b == quote).count();
    let slashes = s[..s.len() - run]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count();
    if run > 0 && slashes % 2 == 1 && !raw {
        run - 1
    } else {
        run
    }
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
    /// A plain (not f-, not bytes) literal's decoded value.
    Plain(Vec<u8>),
    Other,
}

/// What a literal's escapes decode to (`None`: a bad escape, the token is invalid).
fn decode(raw: &[u8], raw_prefix: bool) -> Result<Option<Vec<u8>>, LexError> {
    let d = string::decode(raw, false, raw_prefix)?;
    Ok((!d.invalid).then_some(d.value))
}

impl Lexer {
    /// Lex a run of adjacent literals whose first one is a t-string (the cursor is on its
    /// prefix). Returns false when an error was raised.
    /// `lead` holds the decoded values of the plain literals before the first t-string.
    pub(super) fn lex_template_run(&mut self, line: u32, col: u32, lead: &[u8]) -> bool {
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
                let (body, quoting, end) = read_body(&mut self.cur, prefix.raw);
                match end {
                    BodyEnd::Closed => {}
                    BodyEnd::Unterminated => {
                        self.push(TokenKind::LonelyStringOpen, line, col, Vec::new());
                        return true;
                    }
                    BodyEnd::InField => return self.raise(LexError::MalformedFString, line, col),
                }
                match split(&body, quoting) {
                    Some(t) => run.push((Literal::Template(t), prefix.raw)),
                    None => return self.raise(LexError::MalformedFString, line, col),
                }
            } else {
                let keep = prefix.raw || prefix.fstring;
                let piece = string::read_literal(&mut self.cur, keep, false, prefix.raw);
                if let Some(e) = piece.raise {
                    return self.raise(e, line, col);
                }
                if piece.unterminated {
                    self.push(TokenKind::LonelyStringOpen, line, col, Vec::new());
                    return true;
                }
                if prefix.fstring {
                    // An f-string is read (and found malformed) before the mix fails.
                    if let Err(e) = fstring_piece_error(&piece.value, prefix.raw) {
                        return self.raise(e, line, col);
                    }
                    run.push((Literal::Other, prefix.raw));
                } else if piece.invalid {
                    // A bad escape makes the whole run one invalid token.
                    self.push(TokenKind::Invalid, line, col, Vec::new());
                    return true;
                } else if !piece.value.is_empty() {
                    // An empty plain literal adds nothing to the token and is ignored.
                    run.push((Literal::Plain(piece.value), prefix.raw));
                }
            }
            self.skip_blanks(true);
        }
        let (at_line, at_col) = (self.cur.line, self.cur.col);
        // Plain literals after the last t-string: mpy-cross puts their decoded values, as
        // source text, right after that t-string's last piece (`t"a{x}b" ", 5"` makes the
        // pieces `('a', 'b', 5)`, `"'c'"` makes `'bc'`, `"c"` is a syntax error).
        let last_t = run
            .iter()
            .rposition(|(lit, _)| matches!(lit, Literal::Template(_)))
            .unwrap_or(0);
        let mut extra = Vec::new();
        let cascade = run.iter().enumerate().all(|(k, (lit, _))| match lit {
            Literal::Template(t) => k == last_t || t.fields.is_empty(),
            Literal::Plain(v) if k > last_t => {
                extra.extend_from_slice(v);
                true
            }
            Literal::Plain(_) | Literal::Other => false,
        });
        let mut decoded = Vec::with_capacity(run.len());
        for (lit, raw) in &run {
            if let Literal::Template(t) = lit {
                match self.decode_template(t, *raw) {
                    Ok(d) => decoded.push(d),
                    Err(e) => return self.raise(e, line, col),
                }
            }
        }
        self.push(TokenKind::Name, line, col, TEMPLATE_NAME.to_vec());
        if !cascade {
            // The mix fails where the run ends, before any error inside the literals.
            self.push(TokenKind::Invalid, at_line, at_col, Vec::new());
            return true;
        }
        // Plain literals before the first t-string are source text right after the name
        // (`", 7 #" t"b"` is the tuple `__template__, 7`, the rest commented out).
        let at_line = match lead {
            [] => at_line,
            _ => match self.emit_inserted(lead, at_line, at_col, 0) {
                Some(lines) => {
                    self.cur.line += lines;
                    at_line + lines
                }
                None => return true,
            },
        };
        self.push(TokenKind::DelParenOpen, at_line, at_col, Vec::new());
        let last = decoded.len() - 1;
        let mut at = at_line;
        for (k, d) in decoded[..last].iter().enumerate() {
            // Where mpy-cross's extra parentheses go is invisible in the bytecode; only
            // their number (two per literal after the first) shows.
            if k > 0 {
                self.push(TokenKind::DelParenOpen, at, at_col, Vec::new());
            }
            let Some((Ok(piece), shift)) = d.pieces.first().cloned() else {
                self.push(TokenKind::Invalid, at, at_col, Vec::new());
                return true;
            };
            self.push(TokenKind::String, at, at_col, piece);
            at += shift;
            self.push(TokenKind::DelParenOpen, at, at_col, Vec::new());
        }
        // Lines the leading literals count extra move the rest down too.
        self.cur.line += at - at_line;
        let at_line = at;
        if let Some(t) = run.iter().rev().find_map(|(lit, _)| match lit {
            Literal::Template(t) => Some(t),
            Literal::Plain(_) | Literal::Other => None,
        }) {
            let closed = last == 0;
            if !self.emit_template(t, &decoded[last], (at_line, at_col), &extra, closed) {
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
        let (body, quoting, end) = read_body(&mut self.cur, prefix.raw);
        if matches!(end, BodyEnd::InField) {
            return Err(LexError::MalformedFString);
        }
        let t = split(&body, quoting).ok_or(LexError::MalformedFString)?;
        self.decode_template(&t, prefix.raw).map(|_| ())
    }

    /// Decode pieces and specs; a bad escape makes that piece `None` or that spec broken
    /// (mpy-cross meets it when it re-lexes that part).
    fn decode_template(&self, t: &Template, raw: bool) -> Result<Decoded, LexError> {
        // Drop a pair of quotes closing a piece or spec (see `trailing_quotes`); `false`: a
        // lone one, which breaks the re-quoted literal.
        let q = t.quoting;
        // `Err`: the re-quoted text breaks, that many lines down (`None`: at its end).
        let requote = |text: &[u8], last: bool| -> Result<Vec<u8>, Option<u32>> {
            if !q.triple {
                // Only a `=` text can put a bare quote or newline into a piece here.
                return match single_quote_break(text, q) {
                    Some(lines) => Err(Some(lines)),
                    None => Ok(text.to_vec()),
                };
            }
            match trailing_quotes(text, q.quote, raw) {
                1 if !last => Err(None),
                2 if !last => Ok(text[..text.len() - 2].to_vec()),
                _ => Ok(text.to_vec()),
            }
        };
        // mpy-cross re-lexes each piece, so its backslash-newlines and the newlines of `=`
        // texts count again; raw pieces keep theirs as characters.
        let shift_of = |text: &[u8]| if raw { 0 } else { continuations(text) };
        let last = t.pieces.len() - 1;
        let mut pieces = Vec::with_capacity(t.pieces.len());
        for (k, (p, eq)) in t.pieces.iter().zip(&t.eq_newlines).enumerate() {
            let shift = shift_of(p) + eq;
            // A bad escape is met where the piece starts.
            let value = match requote(p, k == last) {
                Err(at) => Err(at.unwrap_or(shift)),
                Ok(text) => decode(&text, raw)?.ok_or(0),
            };
            pieces.push((value, shift));
        }
        let mut specs = Vec::with_capacity(t.fields.len());
        for f in &t.fields {
            let spec = match &f.spec {
                None => Spec::Plain(Vec::new(), 0),
                Some(s) if s.contains(&b'{') => {
                    // `split_field` checked that the spec splits.
                    let (fmt, args) = fstring::split(s, false).unwrap_or_default();
                    match decode(&fmt, raw)? {
                        Some(_) if args.iter().any(|a| a.is_empty()) => Spec::Malformed,
                        Some(_) if args.iter().any(|a| a.contains(&b'\n')) => Spec::Broken,
                        Some(v) => Spec::Format(v, args, shift_of(s)),
                        None => Spec::Broken,
                    }
                }
                Some(s) => match requote(s, false) {
                    Err(_) => Spec::Broken,
                    Ok(text) => match decode(&text, raw)? {
                        Some(v) => Spec::Plain(v, shift_of(s)),
                        None => Spec::Broken,
                    },
                },
            };
            specs.push(spec);
        }
        Ok(Decoded { pieces, specs })
    }

    /// Push the call arguments of one t-string (and its closing parenthesis when `close`).
    /// Returns false if a syntax error token was pushed instead of the rest.
    fn emit_template(
        &mut self,
        t: &Template,
        d: &Decoded,
        (line, col): (u32, u32),
        extra: &[u8],
        close: bool,
    ) -> bool {
        self.push(TokenKind::DelParenOpen, line, col, Vec::new());
        // The tokens after a piece that counts extra lines move down (line tables show it
        // through the tuple's line).
        let mut at = line;
        for (k, (p, shift)) in d.pieces.iter().enumerate() {
            let p = match p {
                Ok(p) => p,
                Err(offset) => {
                    self.push(TokenKind::Invalid, at + offset, col, Vec::new());
                    return false;
                }
            };
            self.push(TokenKind::String, at, col, p.clone());
            at += shift;
            if !extra.is_empty() && k + 1 == d.pieces.len() {
                match self.emit_inserted(extra, at, col, 2) {
                    Some(lines) => at += lines,
                    None => return false,
                }
            }
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
            self.brackets += fstring::open_brackets(&self.out.tokens[before..]);
            if f.text.contains(&b'#') && self.comment_ate_rest(&src) {
                // In mpy-cross the comment runs to the end of the injected text and on to the
                // end of the source line: the rest of the template vanishes and its call
                // stays open.
                self.brackets += 1;
                while !self.cur.at_end() && !self.cur.is(b'\n') {
                    self.cur.bump();
                }
                self.cur.line += shift;
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
            let k = match spec {
                Spec::Plain(_, k) | Spec::Format(_, _, k) => *k,
                Spec::Broken | Spec::Malformed => 0,
            };
            match spec {
                Spec::Plain(v, _) => self.push(TokenKind::String, at, col, v.clone()),
                Spec::Broken => {
                    self.push(TokenKind::Invalid, at, col, Vec::new());
                    return false;
                }
                // mpy-cross finds the empty field when it lexes the spec as an f-string.
                Spec::Malformed => return self.raise(LexError::MalformedFString, at, col),
                Spec::Format(fmt, args, _) => {
                    self.push(TokenKind::String, at, col, fmt.clone());
                    let (opts, nesting) = (self.opts, self.nesting);
                    let tokens = &mut self.out.tokens;
                    match fstring::emit_format_call(tokens, args, at, col, opts, nesting) {
                        Ok(_) => {}
                        Err(fstring::FormatCallError::Invalid) => {
                            self.push(TokenKind::Invalid, at, col, Vec::new());
                            return false;
                        }
                        Err(fstring::FormatCallError::Raise(e, line, col)) => {
                            return self.raise(e, line, col)
                        }
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

/// A syntax error an f-string literal inside a t-string run raises as it is read: a bad
/// `\N{...}` escape in its text, or a field with no expression.
fn fstring_piece_error(body: &[u8], raw: bool) -> Result<(), LexError> {
    if let Some((fmt, _)) = fstring::split(body, raw) {
        string::decode(&fmt, false, raw)?;
        if fstring::empty_fields(body, raw) == fstring::EmptyFields::Malformed {
            return Err(LexError::MalformedFString);
        }
    }
    Ok(())
}

impl Lexer {
    /// Push the tokens of `extra` (plain literal values in a t-string run), lexed as source
    /// at line `at`: a string first joins a string token just pushed (a t-string's last
    /// piece). Returns the newlines `extra` holds, or `None` if lexing must stop (an error
    /// was raised, or a comment swallowed the rest of the template, leaving `open`
    /// brackets of it open).
    fn emit_inserted(&mut self, extra: &[u8], at: u32, col: u32, open: i64) -> Option<u32> {
        let mut src = Vec::with_capacity(extra.len() + 2);
        src.push(b'(');
        src.extend_from_slice(extra);
        src.push(b')');
        let toks = tokenize_nested(&src, self.opts, self.nesting + 1);
        if let Some((e, l, _)) = toks.raise {
            self.raise(e, at + l.saturating_sub(1), col);
            return None;
        }
        if toks
            .tokens
            .iter()
            .any(|t| t.kind == TokenKind::LonelyStringOpen)
        {
            // mpy-cross runs the literal on through the rest of the template (not modelled).
            self.push(TokenKind::Invalid, at, col, Vec::new());
            return None;
        }
        let comment_ate_rest = extra.contains(&b'#') && self.comment_ate_rest(&src);
        let mut toks: Vec<Token> = toks
            .tokens
            .into_iter()
            .filter(|t| !matches!(t.kind, TokenKind::Newline | TokenKind::End))
            .collect();
        // Drop the parentheses added around the text.
        if toks
            .last()
            .is_some_and(|t| t.kind == TokenKind::DelParenClose)
        {
            toks.pop();
        }
        let mut toks = toks.into_iter().skip(1).peekable();
        if let (Some(first), Some(piece)) = (toks.peek(), self.out.tokens.last_mut()) {
            if first.kind == TokenKind::String && piece.kind == TokenKind::String {
                piece.text.extend_from_slice(&first.text);
                toks.next();
            }
        }
        let before = self.out.tokens.len();
        self.out.tokens.extend(toks.map(|mut t| {
            t.line = at + t.line.saturating_sub(1);
            t.col = col;
            t
        }));
        // Brackets the text leaves open stay open for what follows.
        self.brackets += fstring::open_brackets(&self.out.tokens[before..]);
        if comment_ate_rest {
            // The comment runs on through the rest of the template and the source line.
            self.brackets += open;
            while !self.cur.at_end() && !self.cur.is(b'\n') {
                self.cur.bump();
            }
            return None;
        }
        Some(u32::try_from(extra.iter().filter(|&&b| b == b'\n').count()).unwrap_or(u32::MAX))
    }

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

/// A field's spec after decoding, with the lines it counts extra.
enum Spec {
    Plain(Vec<u8>, u32),
    /// An f-string spec: the decoded template and the argument texts.
    Format(Vec<u8>, Vec<Vec<u8>>, u32),
    /// A syntax error where the spec is (a newline in an f-string spec's field, or a lone
    /// quote ending it).
    Broken,
    /// An empty `{}` field in an f-string spec.
    Malformed,
}

/// A t-string's pieces (with the lines each counts extra; `Err`: a syntax error that many
/// lines below the piece's start) and specs after decoding.
struct Decoded {
    pieces: Vec<(Result<Vec<u8>, u32>, u32)>,
    specs: Vec<Spec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field as (expression text, conversion, spec).
    type FieldParts = (String, Option<char>, Option<String>);

    fn parts(body: &str) -> Option<(Vec<String>, Vec<FieldParts>)> {
        let q = Quoting {
            quote: b'"',
            triple: false,
            raw: false,
        };
        let t = split(body.as_bytes(), q)?;
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
            "}", "{", "{}", "{ }", "{=}", "{!r}", "{a]}", "{a:x}}y}", "\\{a}",
        ] {
            assert!(parts(body).is_none(), "{body}");
        }
        assert!(parts("{a:\n}").is_none());
        let q = |triple, raw| Quoting {
            quote: b'"',
            triple,
            raw,
        };
        assert!(split(b"{a:\n}", q(true, false)).is_some());
        assert!(split(b"\\{a}\\", q(false, true)).is_some());
    }

    fn lex(src: &str) -> crate::mpy::lexer::Tokens {
        let opts = super::super::LexOptions {
            tstrings: true,
            ..Default::default()
        };
        super::super::tokenize(src.as_bytes(), opts)
    }

    #[test]
    fn template_tokens() {
        let toks = lex("x = t'a{b!r}'\n");
        let kinds: Vec<TokenKind> = toks.tokens.iter().map(|t| t.kind).collect();
        use TokenKind::*;
        assert_eq!(
            kinds[2..],
            [
                Name,
                DelParenOpen,
                DelParenOpen,
                String,
                DelComma,
                String,
                DelComma,
                DelParenClose,
                DelComma,
                DelParenOpen,
                Name,
                DelParenClose,
                DelComma,
                String,
                DelComma,
                String,
                DelComma,
                String,
                DelParenClose,
                Newline,
                End
            ]
        );
        assert_eq!(toks.tokens[2].text, TEMPLATE_NAME);
        // Without t-strings (CircuitPython) `t` is a name and the literal a plain string.
        let plain = super::super::tokenize(b"t'a'\n", Default::default());
        assert_eq!(plain.tokens[0].kind, Name);
        assert_eq!(plain.tokens[1].kind, String);
    }

    #[test]
    fn empty_spec_field_is_malformed_where_the_spec_is() {
        let toks = lex("x = [\n t'{a:{}}'\n, 1]\n");
        assert_eq!(
            toks.raise.map(|r| (r.0, r.1)),
            Some((LexError::MalformedFString, 3))
        );
        let toks = lex("x = [\n t'}'\n, 1]\n");
        assert_eq!(
            toks.raise.map(|r| (r.0, r.1)),
            Some((LexError::MalformedFString, 2))
        );
    }

    #[test]
    fn nesting_is_bounded() {
        let nested = |n: usize| format!("x = {}a{}\n", "t\"{".repeat(n), "}\"".repeat(n));
        let ok = lex(&nested(MAX_NESTING as usize));
        assert!(ok.tokens.iter().all(|t| t.kind != TokenKind::Invalid));
        // Deeper than the bound: a syntax error, not a stack overflow.
        let deep = lex(&nested(2000));
        assert!(deep.tokens.iter().any(|t| t.kind == TokenKind::Invalid));
    }

    #[test]
    fn counts_continuations() {
        assert_eq!(continuations(b"a\\\nb\\\\\nc\\\n"), 2);
    }
}
