//! One test per lexer fact of mpy-format §3.2 (plus the layout rules observed with
//! mpy-cross 1.29).

use super::*;
use TokenKind as K;

fn lex(src: &[u8]) -> Tokens {
    tokenize(src, LexOptions::default())
}

fn kinds(src: &[u8]) -> Vec<TokenKind> {
    lex(src).tokens.iter().map(|t| t.kind).collect()
}

fn find(src: &[u8], kind: TokenKind) -> Token {
    lex(src)
        .tokens
        .into_iter()
        .find(|t| t.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} token"))
}

#[test]
fn source_bytes_are_kept_raw() {
    // Latin-1 "café": no decoding, the 0xE9 byte stays.
    let t = find(b"x = 'caf\xe9'\n", K::String);
    assert_eq!(t.text, b"caf\xe9");
    // A coding cookie changes nothing.
    let t = find(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n", K::String);
    assert_eq!(t.text, b"\xe9");
}

#[test]
fn str_escapes_give_utf8_and_bytes_keep_backslash_u() {
    assert_eq!(find(br"x = '\xe9'", K::String).text, "é".as_bytes());
    assert_eq!(find(br"x = '\u00e9'", K::String).text, "é".as_bytes());
    assert_eq!(find(br"x = '\U0001F600'", K::String).text, "😀".as_bytes());
    assert_eq!(find(br"x = '\351'", K::String).text, "é".as_bytes());
    assert_eq!(find(br"x = b'\xe9'", K::Bytes).text, b"\xe9");
    assert_eq!(find(br"x = b'\u00e9'", K::Bytes).text, br"\u00e9");
    assert_eq!(find(br"x = '\q\n'", K::String).text, b"\\q\n");
    assert_eq!(find(br"x = r'\n\''", K::String).text, br"\n\'");
    assert_eq!(find(b"x = 'a\\\nb'", K::String).text, b"ab");
}

#[test]
fn bad_escapes_make_an_invalid_token() {
    assert!(kinds(br"x = '\x4g'").contains(&K::Invalid));
    assert!(kinds(br"x = b'\777'").contains(&K::Invalid));
    assert!(kinds(br"x = '\U00110000'").contains(&K::Invalid));
}

#[test]
fn short_hex_escapes_swallow_the_next_character() {
    // The quote after `\x4` belongs to the escape: the literal runs on to the next quote.
    assert_eq!(
        lex(br"x = '\x4'\N{DASH}'").raise.map(|r| r.0),
        Some(LexError::UnicodeNameEscape)
    );
    // The backslash after `\x4` is swallowed, so `\N` is no escape.
    assert!(lex(br"x = '\x4\N{DASH}'").raise.is_none());
    // A non-hex character ends the escape at once, so a later `\N` still counts.
    assert!(lex(br"x = '\uq\N{DASH}'").raise.is_some());
    // A newline too (the literal is then unterminated only at the next one).
    assert!(kinds(b"x = '\\x4\n'\n").contains(&K::Invalid));
    assert!(kinds(b"x = '\\x4\n\n").contains(&K::LonelyStringOpen));
}

#[test]
fn unicode_name_escape_raises() {
    let t = lex(b"x = 1\ny = '\\N{DASH}'\n");
    assert_eq!(t.raise.map(|r| r.0), Some(LexError::UnicodeNameEscape));
    // The tokens before it are intact; the failing one is not produced.
    assert_eq!(t.tokens.last().map(|t| t.kind), Some(K::DelEqual));
}

#[test]
fn high_bytes_are_identifier_characters() {
    let t = find("€ = 1\n".as_bytes(), K::Name);
    assert_eq!(t.text, "€".as_bytes());
    assert_eq!(find(b"caf\xe9x = 1\n", K::Name).text, b"caf\xe9x");
}

#[test]
fn keywords_include_async_await_and_debug() {
    assert_eq!(kinds(b"async await\n")[..2], [K::KwAsync, K::KwAwait]);
    assert_eq!(kinds(b"__debug__\n")[0], K::KwTrue);
    let opt = tokenize(
        b"__debug__\n",
        LexOptions {
            opt_level: 1,
            ..LexOptions::default()
        },
    );
    assert_eq!(opt.tokens[0].kind, K::KwFalse);
    assert_eq!(
        kinds(b"x.__debug__\n")[..3],
        [K::Name, K::DelPeriod, K::KwTrue]
    );
}

#[test]
fn adjacent_literals_join_with_the_first_line() {
    let t = find(b"x = ('ab'\n 'cd' \"ef\")\n", K::String);
    assert_eq!(t.text, b"abcdef");
    assert_eq!(t.line, 1);
    // str then bytes: two tokens.
    let k = kinds(b"x = 'a' b'c'\n");
    assert_eq!(k[2..4], [K::String, K::Bytes]);
    let k = kinds(b"x = b'a' 'c'\n");
    assert_eq!(k[2..4], [K::Bytes, K::String]);
}

#[test]
fn numbers_are_greedy() {
    let t = lex(b"x = 1if 1else 0\n");
    assert_eq!(t.tokens[2].kind, K::Integer);
    assert_eq!(t.tokens[2].text, b"1if");
    assert_eq!(t.tokens[3].kind, K::FloatOrImag);
    assert_eq!(t.tokens[3].text, b"1else");
    let t = find(b"x = 1.5e100.__format__\n", K::FloatOrImag);
    assert_eq!(t.text, b"1.5e100.format");
    assert_eq!(find(b"x = 0377\n", K::Integer).text, b"0377");
    assert_eq!(find(b"x = 0x1E5\n", K::Integer).text, b"0x1E5");
    assert_eq!(find(b"x = 1_000E+3j\n", K::FloatOrImag).text, b"1000e+3j");
    assert_eq!(find(b"x = .5\n", K::FloatOrImag).text, b".5");
}

#[test]
fn newline_carries_the_line_where_the_logical_line_ended() {
    let t = lex(b"x = (1 +\n  2)  # c\n\n\ny = 2\n");
    let nl: Vec<u32> = t
        .tokens
        .iter()
        .filter(|t| t.kind == K::Newline)
        .map(|t| t.line)
        .collect();
    assert_eq!(nl, [2, 5]);
}

#[test]
fn indent_and_dedent_carry_the_next_token_line() {
    let t = lex(b"if x:\n\n    y\n\n# c\nz\n");
    let ind = t
        .tokens
        .iter()
        .find(|t| t.kind == K::Indent)
        .map(|t| t.line);
    let ded = t
        .tokens
        .iter()
        .find(|t| t.kind == K::Dedent)
        .map(|t| t.line);
    assert_eq!((ind, ded), (Some(3), Some(6)));
}

#[test]
fn dedent_to_an_unknown_level_is_a_mismatch() {
    let t = lex(b"if 1:\n    x=1\n  y=2\n");
    let m = t.tokens.iter().find(|t| t.kind == K::DedentMismatch);
    assert_eq!(m.map(|t| t.line), Some(2));
}

#[test]
fn first_token_must_be_in_column_one() {
    assert_eq!(kinds(b"  x = 1\n")[0], K::Indent);
    assert_eq!(kinds(b"\n\n  x = 1\n")[..2], [K::Newline, K::Indent]);
    assert_eq!(kinds(b"# c\nx = 1\n")[..2], [K::Newline, K::Name]);
}

#[test]
fn newlines_and_columns() {
    let t = lex(b"a\r\nb\rc");
    let lines: Vec<u32> = t
        .tokens
        .iter()
        .filter(|t| t.kind == K::Name)
        .map(|t| t.line)
        .collect();
    assert_eq!(lines, [1, 2, 3]);
    assert_eq!(t.tokens.last().map(|t| t.kind), Some(K::End));
    let t = lex(b"if x:\n\ty\n");
    assert_eq!(find(b"if x:\n\ty\n", K::Indent).col, 9);
    assert!(t.tokens.iter().any(|t| t.kind == K::Name && t.col == 9));
    // Inside brackets newlines and indentation do not count.
    assert!(!kinds(b"x = [\n  1,\n    2]\n")[..7].contains(&K::Newline));
}

#[test]
fn operators_take_the_longest_spelling() {
    assert_eq!(
        kinds(b"a **= b // c -> d := e != f ... g . h\n")[..16],
        [
            K::Name,
            K::DelDblStarEqual,
            K::Name,
            K::OpDblSlash,
            K::Name,
            K::DelMinusMore,
            K::Name,
            K::OpAssign,
            K::Name,
            K::OpNotEqual,
            K::Name,
            K::Ellipsis,
            K::Name,
            K::DelPeriod,
            K::Name,
            K::Newline
        ]
    );
    assert_eq!(kinds(b"a ! b\n")[1], K::Invalid);
    assert_eq!(kinds(b"a $ b\n")[1], K::Invalid);
}

#[test]
fn prefixes_are_lower_case_only() {
    assert_eq!(kinds(b"x = R'a'\n")[2..4], [K::Name, K::String]);
    assert_eq!(find(b"x = rb'\\n'\n", K::Bytes).text, b"\\n");
    assert_eq!(find(b"x = br'\\n'\n", K::Bytes).text, b"\\n");
    assert_eq!(kinds(b"x = ur'a'\n")[2..4], [K::Name, K::String]);
}

#[test]
fn unterminated_strings() {
    assert!(kinds(b"x = 'abc\n").contains(&K::LonelyStringOpen));
    assert!(kinds(b"x = '''abc\n\n").contains(&K::LonelyStringOpen));
}

#[test]
fn fstrings_become_format_calls() {
    let t = lex(b"x = f'a{y!r:>{w}}b{{'\n");
    let k: Vec<TokenKind> = t.tokens.iter().map(|t| t.kind).collect();
    assert_eq!(
        k[..15],
        [
            K::Name,
            K::DelEqual,
            K::String,
            K::DelPeriod,
            K::Name,
            K::DelParenOpen,
            K::DelParenOpen,
            K::Name,
            K::DelParenClose,
            K::DelComma,
            K::DelParenOpen,
            K::Name,
            K::DelParenClose,
            K::DelComma,
            K::DelParenClose
        ]
    );
    assert_eq!(t.tokens[2].text, b"a{!r:>{}}b{{");
    // Plain pieces joined to an f-string keep their braces as they are.
    assert_eq!(find(b"x = 'p' f'{y}' 'q{'\n", K::String).text, b"p{}q{");
    assert_eq!(t.tokens[4].text, b"format");
    // mpy-cross 1.29: `{a=}` keeps no implicit `!r`, and braces of an adjacent plain
    // literal stay format fields (MicroPython's documented f-string difference).
    assert_eq!(find(b"x = f'{a=}'\n", K::String).text, b"a={}");
    assert_eq!(find(b"x = 'a{}a' f'{b}'\n", K::String).text, b"a{}a{}");
    assert!(kinds(b"x = f'{'\n").contains(&K::Invalid));
    // An f-string inside an f-string expression is rewritten too.
    let nested = lex(b"x = f'{f\"{y}\"}'\n");
    assert_eq!(
        nested.tokens.iter().filter(|t| t.text == b"format").count(),
        2
    );
}

#[test]
fn fstring_field_newlines_count_again_after_the_string() {
    // MicroPython lexes the field texts after the closing quote, so a newline inside a
    // field moves the field's later tokens and every following line down once more.
    let t = lex(b"x = f'''a{b +\n1}'''\ny\n");
    let one = t
        .tokens
        .iter()
        .find(|t| t.kind == K::Integer)
        .expect("the 1");
    assert_eq!(one.line, 3);
    let y = t.tokens.iter().rfind(|t| t.text == b"y").expect("y");
    assert_eq!(y.line, 4);
}

#[test]
fn inserted_text_is_read_next_and_keeps_the_column() {
    let read_all = |c: &mut Cursor| {
        let mut out = Vec::new();
        while let Some(b) = c.peek(0) {
            out.push((b, c.col));
            c.bump();
        }
        out
    };
    // Too little read yet to overwrite: the buffer makes room in front.
    let mut c = Cursor::new(b"ab\n".to_vec(), 1, 1);
    c.bump();
    c.insert(b"XY");
    assert_eq!(c.insert_depth(), 1);
    let got = read_all(&mut c);
    assert_eq!(got, [(b'X', 2), (b'Y', 2), (b'b', 2), (b'\n', 3)]);
    assert_eq!(c.insert_depth(), 0);
    // Nested: the inner text is read first, then the rest of the outer one.
    let mut c = Cursor::new(b"0123456789\n".to_vec(), 1, 1);
    for _ in 0..6 {
        c.bump();
    }
    c.insert(b"ab");
    c.bump();
    c.insert(b"c");
    assert_eq!(c.insert_depth(), 2);
    let text: Vec<u8> = read_all(&mut c).into_iter().map(|(b, _)| b).collect();
    assert_eq!(text, b"cb6789\n");
    // At the end of the input a newline follows the inserted text.
    let mut c = Cursor::new(b"a\n".to_vec(), 1, 1);
    c.bump();
    c.bump();
    c.insert(b")");
    let text: Vec<u8> = read_all(&mut c).into_iter().map(|(b, _)| b).collect();
    assert_eq!(text, b")\n");
    assert_eq!(c.line, 3);
}
