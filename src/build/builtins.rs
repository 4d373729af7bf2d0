//! The modules a target's firmware provides (`builtins-<target>.txt`, compiled in).
//!
//! The lists are data, not code, so that correcting one for a new firmware is a one-line change
//! that reviewers can check against the firmware's documentation.

use std::collections::BTreeMap;

use super::Target;

/// How the firmware provides a module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltinKind {
    /// Always the firmware's: a file of that name in /lib is never imported.
    Fixed,
    /// The firmware's unless /lib has a file of that name, which then wins.
    Extensible,
}

/// The built-in modules of one target.
#[derive(Debug, Clone)]
pub struct Builtins {
    modules: BTreeMap<String, BuiltinKind>,
}

const MICROPYTHON: &str = include_str!("builtins-micropython.txt");
const CIRCUITPYTHON: &str = include_str!("builtins-circuitpython.txt");

impl Builtins {
    /// The list compiled in for `target`.
    pub fn for_target(target: Target) -> Builtins {
        Builtins::parse(match target {
            Target::Micropython => MICROPYTHON,
            Target::Circuitpython => CIRCUITPYTHON,
        })
    }

    /// Parse the list format: a name per line, optionally followed by `extensible`; `#` comments.
    /// Anything else after a name is ignored, as the lists are compiled in and unit-tested.
    pub fn parse(text: &str) -> Builtins {
        let mut modules = BTreeMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            if let Some(name) = words.next() {
                let kind = if words.next() == Some("extensible") {
                    BuiltinKind::Extensible
                } else {
                    BuiltinKind::Fixed
                };
                modules.insert(name.to_owned(), kind);
            }
        }
        Builtins { modules }
    }

    /// How the firmware provides the top-level module `name`, if it does.
    pub fn get(&self, name: &str) -> Option<BuiltinKind> {
        self.modules.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_classify() {
        for target in [Target::Micropython, Target::Circuitpython] {
            let b = Builtins::for_target(target);
            assert_eq!(b.get("sys"), Some(BuiltinKind::Fixed), "{target:?}");
            assert_eq!(b.get("gc"), Some(BuiltinKind::Fixed), "{target:?}");
            assert_eq!(b.get("time"), Some(BuiltinKind::Extensible), "{target:?}");
            assert_eq!(b.get("os"), Some(BuiltinKind::Extensible), "{target:?}");
            assert_eq!(b.get("re"), Some(BuiltinKind::Extensible), "{target:?}");
            assert_eq!(b.get("fnmatch"), None, "{target:?}");
            assert_eq!(b.get("unittest"), None, "{target:?}");
        }
        let mp = Builtins::for_target(Target::Micropython);
        assert_eq!(mp.get("_thread"), Some(BuiltinKind::Fixed));
        assert_eq!(mp.get("uctypes"), Some(BuiltinKind::Fixed));
        let cp = Builtins::for_target(Target::Circuitpython);
        assert_eq!(cp.get("board"), Some(BuiltinKind::Fixed));
        assert_eq!(cp.get("machine"), None);
    }

    #[test]
    fn comments_and_blank_lines_are_ignored() {
        let b = Builtins::parse("# head\n\nsys  # fixed\ntime extensible\n");
        assert_eq!(b.get("sys"), Some(BuiltinKind::Fixed));
        assert_eq!(b.get("time"), Some(BuiltinKind::Extensible));
        assert_eq!(b.get("head"), None);
    }
}
