//! The qstr pool the string-interning rule consults (mpy-format §3.4): the strings built into
//! the mpy-cross binary plus every qstr made so far while parsing this file.

use std::sync::LazyLock;

use rustc_hash::FxHashSet;

use super::Target;

const MICROPYTHON_POOL: &str = include_str!("../data/qstr-pool-micropython-1.29.txt");
const CIRCUITPYTHON_POOL: &str = include_str!("../data/qstr-pool-circuitpython-10.2.1.txt");

/// Longest string MicroPython always interns (`MICROPY_ALLOC_PARSE_INTERN_STRING_LEN`).
pub const INTERN_STRING_LEN: usize = 10;

/// Decode one line of the pool file: a Python string repr in single quotes.
fn unrepr(line: &str) -> Option<Vec<u8>> {
    let inner = line.strip_prefix('\'')?.strip_suffix('\'')?;
    let b = inner.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = *b.get(i + 1)?;
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'x' => {
                let hex = std::str::from_utf8(b.get(i..i + 2)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            other => out.push(other),
        }
    }
    Some(out)
}

/// The qstrs built into a target's binary, decoded once per process (every file starts
/// from the same pool, and building it cost more than parsing a small file).
fn builtin(target: Target) -> &'static FxHashSet<Vec<u8>> {
    fn load(text: &str) -> FxHashSet<Vec<u8>> {
        text.lines().filter_map(unrepr).collect()
    }
    static MICROPYTHON: LazyLock<FxHashSet<Vec<u8>>> = LazyLock::new(|| load(MICROPYTHON_POOL));
    static CIRCUITPYTHON: LazyLock<FxHashSet<Vec<u8>>> = LazyLock::new(|| load(CIRCUITPYTHON_POOL));
    match target {
        Target::MicroPython => &MICROPYTHON,
        Target::CircuitPython => &CIRCUITPYTHON,
    }
}

/// The set of existing qstrs: the binary's pool plus those this file made.
#[derive(Clone, Debug)]
pub struct QstrPool {
    builtin: &'static FxHashSet<Vec<u8>>,
    made: FxHashSet<Vec<u8>>,
}

impl QstrPool {
    /// The pool of the given target's binary, plus the source file name.
    pub fn new(target: Target, source_name: &[u8]) -> Self {
        let mut pool = QstrPool {
            builtin: builtin(target),
            made: FxHashSet::default(),
        };
        pool.intern(source_name);
        pool
    }

    /// Make a qstr (identifiers, short strings).
    pub fn intern(&mut self, s: &[u8]) {
        if !self.contains(s) {
            self.made.insert(s.to_vec());
        }
    }

    /// Whether the qstr exists.
    pub fn contains(&self, s: &[u8]) -> bool {
        self.builtin.contains(s) || self.made.contains(s)
    }

    /// The interning decision for a string literal: short strings become qstrs, long ones
    /// only if the qstr already exists.
    pub fn intern_literal(&mut self, s: &[u8]) -> bool {
        if s.len() <= INTERN_STRING_LEN {
            self.intern(s);
            true
        } else {
            self.contains(s)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_load_with_their_differences() {
        let mp = QstrPool::new(Target::MicroPython, b"t.py");
        let cp = QstrPool::new(Target::CircuitPython, b"t.py");
        assert!(mp.contains(b"UnicodeError") && cp.contains(b"UnicodeError"));
        assert!(mp.contains(b"maximum recursion depth exceeded"));
        assert!(!cp.contains(b"maximum recursion depth exceeded"));
        assert!(cp.contains(b"TimeoutError") && !mp.contains(b"TimeoutError"));
        assert!(mp.contains(b"\n") && mp.contains(b"t.py"));
        assert!(!mp.contains(b"RuntimeWarning"));
    }

    #[test]
    fn interning_rule() {
        let mut p = QstrPool::new(Target::MicroPython, b"t.py");
        assert!(!p.intern_literal(b"long_identifier_name"));
        p.intern(b"long_identifier_name");
        assert!(p.intern_literal(b"long_identifier_name"));
        assert!(p.intern_literal(b"heap_lock"));
        assert!(p.intern_literal(b"UnicodeError"));
        assert!(!p.intern_literal(b"RuntimeWarning"));
    }
}
