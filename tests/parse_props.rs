//! Robustness: the front end never panics and always terminates, on arbitrary bytes and on
//! random sequences of Python-looking fragments (which get much deeper into the parser).

use portlib::mpy::parse::{dump, parse, ParseOptions, Target};
use proptest::prelude::*;

const FRAGMENTS: &[&str] = &[
    "x",
    "y",
    "1",
    "0",
    "2.5",
    "1j",
    "'s'",
    "b'b'",
    "'long string value'",
    "None",
    "True",
    "...",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ";",
    ".",
    "=",
    "+",
    "-",
    "*",
    "**",
    "/",
    "//",
    "%",
    "<<",
    ">>",
    "&",
    "|",
    "^",
    "~",
    "<",
    "==",
    "not",
    "and",
    "or",
    "if",
    "else",
    "for",
    "in",
    "lambda",
    "def",
    "class",
    "return",
    "yield",
    "from",
    "import",
    "as",
    "with",
    "try",
    "except",
    "finally",
    "while",
    "pass",
    "const",
    "math",
    "pi",
    "async",
    "await",
    "@",
    ":=",
    "\n",
    "\n    ",
    "\n  ",
    " ",
    "\\\n",
    "#c\n",
    "f'{x}'",
    "__debug__",
    "del",
    "global",
    "assert",
    "raise",
    "is",
    "*",
    "\t",
];

fn opts(target: Target, level: u8) -> ParseOptions<'static> {
    ParseOptions {
        target,
        opt_level: level,
        ..ParseOptions::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(src in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(tree) = parse(&src, &opts(Target::MicroPython, 0)) {
            let _ = dump(&tree);
        }
    }

    #[test]
    fn fragment_soup_never_panics(
        parts in proptest::collection::vec(proptest::sample::select(FRAGMENTS), 0..80),
        cp in any::<bool>(),
        level in 0u8..4,
    ) {
        let src: String = parts.concat();
        let target = if cp { Target::CircuitPython } else { Target::MicroPython };
        if let Ok(tree) = parse(src.as_bytes(), &opts(target, level)) {
            let _ = dump(&tree);
        }
    }
}
