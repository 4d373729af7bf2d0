//! MicroPython's tokeniser, over raw source bytes.
//!
//! The source is never decoded: coding cookies are ignored and any byte ≥ 0x80 may appear in
//! an identifier or a literal, where it is kept verbatim (mpy-format §3.2). The facts this
//! lexer reproduces, all observed on mpy-cross 1.29:
//!
//! * CR and CR LF become LF; a final newline is added when missing.
//! * Adjacent string literals are joined into one token carrying the first piece's line;
//!   a str piece followed by a bytes piece (or the reverse) ends the token.
//! * In str literals `\xNN`, `\uNNNN`, `\UNNNNNNNN` and octal escapes produce the UTF-8
//!   encoding of the code point; in bytes literals `\u`/`\U` stay literally.
//! * `\N{...}` raises `NotImplementedError: unicode name escapes` (no line is reported).
//! * A `\x`, `\u` or `\U` escape cut short by a non-hex character swallows that character,
//!   quotes and newlines included (`string::escape_len`).
//! * Numbers swallow letters, digits, `.` and `_` greedily (so `1if` is one bad number).
//! * `__debug__` becomes `True` at optimisation level 0, `False` otherwise.
//! * NEWLINE carries the line where the logical line ended; INDENT and DEDENT carry the
//!   line of the next real token; a dedent to an unknown level turns the NEWLINE into a
//!   `DedentMismatch` token.
//! * f-strings are rewritten into `'...'.format(...)`: the literal becomes a string token
//!   and the call is inserted into the source text behind it (`Cursor::insert`).
//! * t-strings become `__template__(...)` call tokens when [`LexOptions::tstrings`] is on
//!   (MicroPython 1.29; CircuitPython 10 has none, so there `t"..."` is a name and a string).

mod fstring;
mod string;
#[cfg(test)]
mod tests;
mod token;
mod tstring;

use std::rc::Rc;

pub use token::{Token, TokenKind};

use token::{KEYWORDS, OPERATORS};

/// An error the lexer raises (rather than reporting through an error token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LexError {
    /// A `\N{...}` escape; mpy-cross raises `NotImplementedError` without a location.
    #[error("NotImplementedError: unicode name escapes")]
    UnicodeNameEscape,
    /// An f-string field with no expression (`{}`, `{=}`, `{:>3}`, `{!r}`); mpy-cross raises
    /// it once the literal is read, on the line where the string token starts.
    #[error("SyntaxError: malformed f-string")]
    MalformedFString,
}

/// The token stream of one source file.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    /// The tokens, ending with [`TokenKind::End`] unless `raise` is set.
    pub tokens: Vec<Token>,
    /// If set, producing the token after the last one raised this error at (line, column).
    /// MicroPython lexes one token ahead of the parser, so the parser reports it when it
    /// moves onto that position.
    pub raise: Option<(LexError, u32, u32)>,
}

/// Options that change what the lexer produces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LexOptions {
    /// Optimisation level (mpy-cross `-O`): decides what `__debug__` becomes.
    pub opt_level: u8,
    /// Recognise t-string prefixes (`t`, `tr`, `rt`): on for MicroPython 1.29.
    pub tstrings: bool,
}

/// Tokenise a whole source file.
pub fn tokenize(source: &[u8], opts: LexOptions) -> Tokens {
    tokenize_nested(source, opts, 0)
}

/// Tokenise f-string expressions (`nesting` > 0), with a bound on how deep they nest.
pub(crate) fn tokenize_nested(source: &[u8], opts: LexOptions, nesting: u32) -> Tokens {
    let text = normalize_newlines(source);
    let mut lx = Lexer::new(text, opts);
    lx.nesting = nesting;
    lx.run();
    lx.out
}

/// CR and CR LF become LF, and a missing final newline is added. Empty input becomes a
/// single newline: MicroPython's reader primes its look-ahead with dummy bytes, so even an
/// empty file yields one NEWLINE token (its tree is a lone NEWLINE token leaf).
fn normalize_newlines(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() + 1);
    let mut i = 0;
    while i < src.len() {
        let b = src[i];
        if b == b'\r' {
            out.push(b'\n');
            if src.get(i + 1) == Some(&b'\n') {
                i += 1;
            }
        } else {
            out.push(b);
        }
        i += 1;
    }
    if out.last() != Some(&b'\n') {
        out.push(b'\n');
    }
    out
}

pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

pub(crate) fn is_ident_head(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

pub(crate) fn is_ident_tail(b: u8) -> bool {
    is_ident_head(b) || b.is_ascii_digit()
}

/// Cursor over normalised source with MicroPython's line/column bookkeeping.
///
/// The source is shared (`Rc`) so that cloning a cursor to read ahead is cheap, and text
/// can be inserted at the cursor: mpy-cross lexes the `.format(...)` call of an f-string as
/// text inserted into its input after the literal, so a token begun in that text runs on
/// into the source behind it (see [`Cursor::insert`]). Bytes before the cursor are never
/// read again, so an insertion overwrites them instead of moving what follows.
#[derive(Clone)]
pub(crate) struct Cursor {
    pub(crate) src: Rc<Vec<u8>>,
    pub(crate) pos: usize,
    pub(crate) line: u32,
    pub(crate) col: u32,
    /// Ends of the inserted texts the cursor is inside, innermost last.
    inserted: Vec<usize>,
    /// The innermost of `inserted` (0 when there is none), checked on every byte.
    inserted_end: usize,
}

impl Cursor {
    pub(crate) fn new(src: Vec<u8>, line: u32, col: u32) -> Self {
        Cursor {
            src: Rc::new(src),
            pos: 0,
            line,
            col,
            inserted: Vec::new(),
            inserted_end: 0,
        }
    }

    pub(crate) fn peek(&self, k: usize) -> Option<u8> {
        self.src.get(self.pos + k).copied()
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub(crate) fn is(&self, b: u8) -> bool {
        self.peek(0) == Some(b)
    }

    pub(crate) fn bump(&mut self) {
        let Some(b) = self.peek(0) else { return };
        let inside = self.pos < self.inserted_end;
        match b {
            b'\n' => {
                self.line += 1;
                if !inside {
                    self.col = 1;
                }
            }
            // Inserted text keeps the column where it was inserted (portlib's choice: the
            // column is invisible in the bytecode and mpy-cross prints none).
            _ if inside => {}
            // Tabs advance to the next multiple of 8 (plus one, columns being 1-based).
            b'\t' => self.col = ((self.col - 1 + 8) / 8) * 8 + 1,
            _ => self.col += 1,
        }
        self.pos += 1;
        if self.pos == self.inserted_end {
            while self.inserted.last().is_some_and(|&end| self.pos >= end) {
                self.inserted.pop();
            }
            self.inserted_end = self.inserted.last().copied().unwrap_or(0);
        }
    }

    /// Insert `text` at the cursor, to be read next.
    pub(crate) fn insert(&mut self, text: &[u8]) {
        if text.is_empty() {
            return;
        }
        let src = Rc::make_mut(&mut self.src);
        if self.pos < text.len() {
            // Make room before the cursor, with spare room for later insertions.
            let room = text.len().max(src.len() / 8).max(256);
            src.splice(0..0, std::iter::repeat_n(0, room));
            self.pos += room;
            for end in &mut self.inserted {
                *end += room;
            }
        }
        let start = self.pos - text.len();
        src[start..self.pos].copy_from_slice(text);
        // Input must end in a newline, and one read from inserted text does not count
        // (observed: `x = (f"a"` + newline fails on line 3, at the end of the input).
        if self.pos == src.len() && text.last() != Some(&b'\n') {
            src.push(b'\n');
        }
        self.inserted.push(self.pos);
        self.inserted_end = self.pos;
        self.pos = start;
    }

    /// How many inserted texts the cursor is inside.
    pub(crate) fn insert_depth(&self) -> usize {
        self.inserted.len()
    }
}

struct Lexer {
    cur: Cursor,
    opts: LexOptions,
    indents: Vec<u32>,
    pending_dents: i64,
    brackets: i64,
    out: Tokens,
    first: bool,
    /// How many f-string expressions enclose this source.
    nesting: u32,
}

/// Result of skipping blanks: whether a physical newline was crossed, and where the first one
/// was (the NEWLINE token's position).
struct Skipped {
    newline_at: Option<(u32, u32)>,
}

impl Lexer {
    fn new(src: Vec<u8>, opts: LexOptions) -> Self {
        let capacity = src.len() / 4 + 8;
        Lexer {
            cur: Cursor::new(src, 1, 1),
            opts,
            indents: vec![0],
            pending_dents: 0,
            brackets: 0,
            // Python averages well over four bytes a token; reserving up front spares the
            // token list its repeated growth (and copies) on large modules.
            out: Tokens {
                tokens: Vec::with_capacity(capacity),
                raise: None,
            },
            first: true,
            nesting: 0,
        }
    }

    fn push(&mut self, kind: TokenKind, line: u32, col: u32, text: Vec<u8>) {
        self.out.tokens.push(Token {
            kind,
            line,
            col,
            text,
        });
    }

    fn run(&mut self) {
        loop {
            let before = self.out.tokens.len();
            if !self.next_token() {
                return;
            }
            if self.first {
                self.first = false;
                // A first token on line 1 must sit in column 1, else the parser sees an
                // INDENT; after leading blank lines the NEWLINE/INDENT logic covers it.
                if let Some(t) = self.out.tokens.get_mut(before) {
                    if t.kind != TokenKind::Newline && t.col != 1 {
                        t.kind = TokenKind::Indent;
                    }
                }
            }
            if matches!(self.out.tokens.last(), Some(t) if t.kind == TokenKind::End) {
                return;
            }
            if self.out.raise.is_some() {
                return;
            }
        }
    }

    /// Skip spaces, comments and line continuations; stops before a newline only when
    /// `stop_at_newline` is set and no bracket is open.
    fn skip_blanks(&mut self, stop_at_newline: bool) -> Skipped {
        let mut newline_at = None;
        while let Some(b) = self.cur.peek(0) {
            if b == b'\n' {
                if stop_at_newline && self.brackets == 0 {
                    break;
                }
                if newline_at.is_none() {
                    newline_at = Some((self.cur.line, self.cur.col));
                }
                self.cur.bump();
            } else if is_space(b) {
                self.cur.bump();
            } else if b == b'#' {
                while !self.cur.at_end() && !self.cur.is(b'\n') {
                    self.cur.bump();
                }
            } else if b == b'\\' && self.cur.peek(1) == Some(b'\n') {
                self.cur.bump();
                self.cur.bump();
            } else {
                break;
            }
        }
        Skipped { newline_at }
    }

    /// Produce the next token(s). Returns false when lexing must stop (an error was raised).
    fn next_token(&mut self) -> bool {
        let skipped = self.skip_blanks(false);
        let (line, col) = (self.cur.line, self.cur.col);

        if self.pending_dents < 0 {
            self.pending_dents += 1;
            self.push(TokenKind::Dedent, line, col, Vec::new());
            return true;
        }
        if self.pending_dents > 0 {
            self.pending_dents -= 1;
            self.push(TokenKind::Indent, line, col, Vec::new());
            return true;
        }
        if let (Some((nl_line, nl_col)), 0) = (skipped.newline_at, self.brackets) {
            let mut kind = TokenKind::Newline;
            let spaces = col - 1;
            let top = *self.indents.last().unwrap_or(&0);
            if spaces > top {
                self.indents.push(spaces);
                self.pending_dents += 1;
            } else if spaces < top {
                while spaces < *self.indents.last().unwrap_or(&0) {
                    self.indents.pop();
                    self.pending_dents -= 1;
                }
                if spaces != *self.indents.last().unwrap_or(&0) {
                    kind = TokenKind::DedentMismatch;
                }
            }
            self.push(kind, nl_line, nl_col, Vec::new());
            return true;
        }
        let Some(b) = self.cur.peek(0) else {
            self.push(TokenKind::End, line, col, Vec::new());
            return true;
        };
        if string::starts_literal(&self.cur, self.opts.tstrings) {
            return self.lex_strings(line, col);
        }
        if is_ident_head(b) {
            let start = self.cur.pos;
            while self.cur.peek(0).is_some_and(is_ident_tail) {
                self.cur.bump();
            }
            let word = &self.cur.src[start..self.cur.pos];
            let kind = self.keyword(word);
            let text = if kind == TokenKind::Name {
                word.to_vec()
            } else {
                Vec::new()
            };
            self.push(kind, line, col, text);
            return true;
        }
        if b.is_ascii_digit() || (b == b'.' && self.cur.peek(1).is_some_and(|c| c.is_ascii_digit()))
        {
            let (kind, text) = self.lex_number();
            self.push(kind, line, col, text);
            return true;
        }
        self.lex_operator(line, col);
        true
    }

    fn keyword(&self, word: &[u8]) -> TokenKind {
        if word == b"__debug__" {
            return if self.opts.opt_level == 0 {
                TokenKind::KwTrue
            } else {
                TokenKind::KwFalse
            };
        }
        // Every identifier passes here: compare lengths and first bytes before whole words.
        KEYWORDS
            .iter()
            .find(|(k, _)| k.len() == word.len() && k.first() == word.first() && *k == word)
            .map_or(TokenKind::Name, |&(_, kind)| kind)
    }

    fn lex_number(&mut self) -> (TokenKind, Vec<u8>) {
        let mut text = Vec::new();
        let first = self.cur.peek(0).unwrap_or(b'0');
        let mut kind = if first == b'.' {
            TokenKind::FloatOrImag
        } else {
            TokenKind::Integer
        };
        // A 0x/0o/0b prefix makes `e` an ordinary digit-letter instead of an exponent.
        let prefixed =
            first == b'0' && matches!(self.cur.peek(1).map(|c| c | 0x20), Some(b'b' | b'o' | b'x'));
        text.push(first);
        self.cur.bump();
        while let Some(c) = self.cur.peek(0) {
            if !prefixed && (c == b'e' || c == b'E') {
                kind = TokenKind::FloatOrImag;
                text.push(b'e');
                self.cur.bump();
                if let Some(s @ (b'+' | b'-')) = self.cur.peek(0) {
                    text.push(s);
                    self.cur.bump();
                }
            } else if c.is_ascii_alphanumeric() || c == b'.' {
                if matches!(c, b'.' | b'j' | b'J') {
                    kind = TokenKind::FloatOrImag;
                }
                text.push(c);
                self.cur.bump();
            } else if c == b'_' {
                self.cur.bump();
            } else {
                break;
            }
        }
        (kind, text)
    }

    fn lex_operator(&mut self, line: u32, col: u32) {
        let rest = &self.cur.src[self.cur.pos..];
        let found = OPERATORS
            .iter()
            .find(|(spelling, _)| rest.first() == spelling.first() && rest.starts_with(spelling));
        let (len, kind) = match found {
            Some(&(spelling, kind)) => (spelling.len(), kind),
            None => (1, TokenKind::Invalid),
        };
        for _ in 0..len {
            self.cur.bump();
        }
        match kind {
            TokenKind::DelParenOpen | TokenKind::DelBracketOpen | TokenKind::DelBraceOpen => {
                self.brackets += 1
            }
            TokenKind::DelParenClose | TokenKind::DelBracketClose | TokenKind::DelBraceClose => {
                self.brackets -= 1
            }
            _ => {}
        }
        self.push(kind, line, col, Vec::new());
    }

    /// One string/bytes token, made of every adjacent literal of the same kind.
    fn lex_strings(&mut self, line: u32, col: u32) -> bool {
        let mut kind: Option<TokenKind> = None;
        let mut value = Vec::new();
        let mut bad = false;
        // f-string pieces collect their argument texts; they are emitted after the string.
        let mut fargs: Vec<Vec<u8>> = Vec::new();
        let mut fstring_seen = false;
        // A t-string after other pieces: mpy-cross gives a syntax error where the run ends.
        let mut template_mixed = false;
        // A t-string after bytes: mpy-cross fails there without reading it.
        let mut template_after_bytes = None;
        while string::starts_literal(&self.cur, self.opts.tstrings) {
            let prefix = string::read_prefix(&self.cur, self.opts.tstrings);
            if prefix.template {
                match kind {
                    Some(TokenKind::Bytes) => {
                        template_after_bytes = Some((self.cur.line, self.cur.col));
                        break;
                    }
                    // Plain literals before a t-string become source text after the name
                    // (empty ones vanish).
                    _ if !fstring_seen && !bad => return self.lex_template_run(line, col, &value),
                    _ => {}
                }
                if let Err(e) = self.skip_template_piece(&prefix) {
                    return self.raise(e, line, col);
                }
                template_mixed = true;
                self.skip_blanks(true);
                continue;
            }
            let piece_kind = if prefix.bytes {
                TokenKind::Bytes
            } else {
                TokenKind::String
            };
            match kind {
                None => kind = Some(piece_kind),
                Some(k) if k != piece_kind => break,
                Some(_) => {}
            }
            for _ in 0..prefix.len {
                self.cur.bump();
            }
            if prefix.fstring {
                // Braces of adjacent plain pieces are NOT escaped (mpy-cross 1.29 makes them
                // format fields, MicroPython's documented f-string difference).
                fstring_seen = true;
                let start = self.cur.clone();
                let mut piece = string::read_literal(&mut self.cur, true, false, prefix.raw);
                let mut parts = if piece.unterminated {
                    None
                } else {
                    fstring::split(&piece.value, prefix.raw)
                };
                if parts.is_none() {
                    // A field may run past the quote that ends the literal as a plain string.
                    let mut raw = start;
                    match fstring::read_raw(&mut raw, prefix.raw) {
                        Ok(body) => {
                            parts = fstring::split(&body, prefix.raw);
                            piece.value = body;
                            self.cur = raw;
                        }
                        Err(template) => {
                            if let Err(e) = string::decode(&template, false, prefix.raw) {
                                return self.raise(e, line, col);
                            }
                        }
                    }
                }
                if parts.is_none() && piece.unterminated {
                    self.push(TokenKind::LonelyStringOpen, line, col, Vec::new());
                    return true;
                }
                match parts {
                    Some((fmt, args)) => {
                        match string::decode(&fmt, false, prefix.raw) {
                            Ok(v) => {
                                value.extend_from_slice(&v.value);
                                bad |= v.invalid;
                            }
                            Err(e) => return self.raise(e, line, col),
                        }
                        match fstring::empty_fields(&piece.value, prefix.raw) {
                            fstring::EmptyFields::Harmless => {}
                            fstring::EmptyFields::Invalid => bad = true,
                            fstring::EmptyFields::Malformed => {
                                return self.raise(LexError::MalformedFString, line, col)
                            }
                        }
                        fargs.extend(args);
                    }
                    None => bad = true,
                }
            } else {
                let piece =
                    string::read_literal(&mut self.cur, prefix.raw, prefix.bytes, prefix.raw);
                if let Some(e) = piece.raise {
                    return self.raise(e, line, col);
                }
                if piece.unterminated {
                    self.push(TokenKind::LonelyStringOpen, line, col, Vec::new());
                    return true;
                }
                bad |= piece.invalid;
                value.extend_from_slice(&piece.value);
            }
            if bad {
                // The token ends at an invalid piece (observed: `f"{}\n" f"{}"` and
                // `"\x4" "\N{DASH}"` are "invalid syntax", the later pieces never read).
                break;
            }
            self.skip_blanks(true);
        }
        let kind = if bad {
            TokenKind::Invalid
        } else {
            kind.unwrap_or(TokenKind::String)
        };
        self.push(kind, line, col, value);
        if let Some((l, c)) = template_after_bytes {
            // Observed: `b"" t"{"` is "invalid syntax" on the t-string's line, never
            // "malformed f-string", so lexing ends at its prefix.
            self.push(TokenKind::Invalid, l, c, Vec::new());
            self.push(TokenKind::End, l, c, Vec::new());
            return true;
        }
        if template_mixed && kind == TokenKind::String {
            let (l, c) = (self.cur.line, self.cur.col);
            self.push(TokenKind::Invalid, l, c, Vec::new());
        }
        if fstring_seen && kind == TokenKind::String {
            // mpy-cross lexes the format call as text inserted where the string token
            // ended: its tokens take the lines reached there, newlines in the arguments
            // move everything after them down, brackets an argument leaves open stay open,
            // and a token left unfinished (an open quote) runs on into the source.
            if self.cur.insert_depth() >= fstring::MAX_NESTING {
                let (l, c) = (self.cur.line, self.cur.col);
                self.push(TokenKind::Invalid, l, c, Vec::new());
                return true;
            }
            self.cur.insert(&fstring::format_call(&fargs));
        }
        true
    }

    fn raise(&mut self, e: LexError, line: u32, col: u32) -> bool {
        self.out.raise = Some((e, line, col));
        false
    }
}
