//! Which rules give up at once on a given token, so the parser can skip trying them.
//!
//! MicroPython's parser tries the alternatives of an `Or` rule in turn by pushing each one
//! and letting it fail; a simple statement walks through every compound statement kind and
//! most small statement kinds before it reaches `expr_stmt`. For most rules, whether the
//! attempt fails without consuming anything is decided by the first token alone, so the
//! attempt can be skipped with exactly the same outcome. This module derives, from the
//! grammar table, the set of tokens on which each rule might do anything else.
//!
//! A rule *gives up* on a token when trying it pushes and pops rules, consumes nothing,
//! builds nothing and ends in a backtrack (never a syntax error). By the parsing machine's
//! rules that holds, for a token outside the rule's start set:
//! * `And` rules starting with a token or a mandatory sub-rule (with an optional first part
//!   the rule goes on to its second part, so it has no start set);
//! * list rules, whose first item decides alone;
//! * `Or` rules, when every alternative gives up.

use std::sync::LazyLock;

use super::grammar::{Act, Arg, Rule};
use crate::mpy::lexer::TokenKind;

/// Token kinds as bits of a `u128`.
fn bit(k: TokenKind) -> u128 {
    1u128 << (k as u32)
}

#[derive(Clone, Copy)]
enum State {
    Todo,
    Busy,
    Done(Option<u128>),
}

/// The start set of `rule`: None when the rule may do more than give up on any token.
fn start_set(rule: Rule, memo: &mut [State]) -> Option<u128> {
    match memo[rule as usize] {
        State::Done(v) => return v,
        // A cycle through first positions: stay conservative.
        State::Busy => return None,
        State::Todo => {}
    }
    memo[rule as usize] = State::Busy;
    let (act, args) = rule.def();
    let set = match act {
        Act::Or => args.iter().try_fold(0u128, |acc, a| match *a {
            Arg::T(k) => Some(acc | bit(k)),
            Arg::R(r) | Arg::O(r) => start_set(r, memo).map(|s| acc | s),
        }),
        Act::And | Act::AndIdent | Act::AndBlank => match args.first() {
            Some(Arg::T(k)) => Some(bit(*k)),
            Some(Arg::R(r)) => start_set(*r, memo),
            Some(Arg::O(_)) | None => None,
        },
        Act::List | Act::OneOrMore | Act::ListWithEnd => match args.first() {
            Some(Arg::T(k)) => Some(bit(*k)),
            Some(Arg::R(r) | Arg::O(r)) => start_set(*r, memo),
            None => None,
        },
    };
    memo[rule as usize] = State::Done(set);
    set
}

static START_SETS: LazyLock<Vec<Option<u128>>> = LazyLock::new(|| {
    let mut memo = vec![State::Todo; Rule::ALL.len()];
    Rule::ALL.iter().map(|&r| start_set(r, &mut memo)).collect()
});

/// Whether trying `rule` when the current token is `tok` certainly gives up (see the module
/// docs).
pub(super) fn gives_up(rule: Rule, tok: TokenKind) -> bool {
    START_SETS[rule as usize].is_some_and(|set| set & bit(tok) == 0)
}

/// How many rule-stack entries an attempt that gives up can push at most: each rule on the
/// way down pushes its continuation and one child, and no rule repeats on that way (the
/// grammar has no left recursion, or the parser would loop).
pub(super) const MAX_ATTEMPT_DEPTH: usize = 2 * Rule::ALL.len() + 2;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_kinds_fit_the_bit_set() {
        assert!((TokenKind::DelDblSlashEqual as u32) < 128);
    }

    #[test]
    fn start_sets_follow_the_grammar() {
        // Statements: `x = 1` cannot start any compound statement or `del`/`pass`/`import`.
        assert!(gives_up(Rule::compound_stmt, TokenKind::Name));
        assert!(gives_up(Rule::del_stmt, TokenKind::Name));
        assert!(gives_up(Rule::import_stmt, TokenKind::Name));
        assert!(!gives_up(Rule::expr_stmt, TokenKind::Name));
        assert!(!gives_up(Rule::compound_stmt, TokenKind::KwIf));
        assert!(!gives_up(Rule::compound_stmt, TokenKind::OpAt));
        // Trailers start with `(`, `[` or `.` only.
        assert!(gives_up(Rule::trailer, TokenKind::DelComma));
        assert!(!gives_up(Rule::trailer, TokenKind::DelPeriod));
        // A rule with an optional first part never gives up by its first token alone.
        assert!(!gives_up(Rule::file_input, TokenKind::End));
    }
}
