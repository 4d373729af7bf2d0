//! MicroPython's grammar as data: every rule, how it combines its arguments, and which
//! rules keep a node in the parse tree (mpy-format §3.3). The rule names are MicroPython's,
//! so tree dumps can be compared with its debug printer.
//!
//! Rule kinds: `Or` tries alternatives; `And` matches a sequence (only NAME tokens are kept;
//! `AndIdent` collapses to its single non-empty child; `AndBlank` appends an empty slot for
//! the compiler); `List` is `item (sep item)*`, `ListWithEnd` also allows a trailing
//! separator, `OneOrMore` is `item+`. A list with a single item collapses to the item.

use crate::mpy::lexer::TokenKind as K;

/// How a rule combines its arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    Or,
    And,
    AndIdent,
    AndBlank,
    List,
    OneOrMore,
    ListWithEnd,
}

/// One argument of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    /// A token.
    T(K),
    /// A mandatory sub-rule.
    R(Rule),
    /// An optional sub-rule (an empty slot when absent).
    O(Rule),
}

use Arg::{O, R, T};

macro_rules! grammar {
    ($($name:ident : $act:ident [$($arg:expr),* $(,)?];)*) => {
        /// A grammar rule; struct nodes of the parse tree are labelled with one.
        #[allow(non_camel_case_types, missing_docs)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $($name,)*
        }

        impl Rule {
            /// Every rule, in declaration order (`rule as usize` indexes it).
            pub(crate) const ALL: &'static [Rule] = &[$(Rule::$name),*];

            /// MicroPython's name for the rule.
            pub fn name(self) -> &'static str {
                match self {
                    $(Rule::$name => stringify!($name),)*
                }
            }

            /// The rule's definition. The parser asks once per step, so the definitions
            /// sit in a table indexed by the rule rather than behind a `match`.
            #[inline]
            pub(crate) fn def(self) -> (Act, &'static [Arg]) {
                const DEFS: &[(Act, &[Arg])] = &[$((Act::$act, &[$($arg),*]),)*];
                DEFS[self as usize]
            }
        }
    };
}

grammar! {
    generic_colon_test: AndIdent [T(K::DelColon), R(Rule::test)];
    generic_equal_test: AndIdent [T(K::DelEqual), R(Rule::test)];
    single_input: Or [T(K::Newline), R(Rule::simple_stmt), R(Rule::compound_stmt)];
    file_input: AndIdent [O(Rule::file_input_2)];
    file_input_2: OneOrMore [R(Rule::file_input_3)];
    file_input_3: Or [T(K::Newline), R(Rule::stmt)];
    eval_input: AndIdent [R(Rule::testlist), O(Rule::eval_input_2)];
    eval_input_2: And [T(K::Newline)];
    decorator: And [T(K::OpAt), R(Rule::dotted_name), O(Rule::trailer_paren), T(K::Newline)];
    decorators: OneOrMore [R(Rule::decorator)];
    decorated: AndIdent [R(Rule::decorators), R(Rule::decorated_body)];
    decorated_body: Or [R(Rule::classdef), R(Rule::funcdef), R(Rule::async_funcdef)];
    async_funcdef: And [T(K::KwAsync), R(Rule::funcdef)];
    funcdef: AndBlank [T(K::KwDef), T(K::Name), T(K::DelParenOpen), O(Rule::typedargslist), T(K::DelParenClose), O(Rule::funcdefrettype), T(K::DelColon), R(Rule::suite)];
    funcdefrettype: AndIdent [T(K::DelMinusMore), R(Rule::test)];
    typedargslist: ListWithEnd [R(Rule::typedargslist_item), T(K::DelComma)];
    typedargslist_item: Or [R(Rule::typedargslist_name), R(Rule::typedargslist_star), R(Rule::typedargslist_dbl_star)];
    typedargslist_name: AndIdent [T(K::Name), O(Rule::generic_colon_test), O(Rule::generic_equal_test)];
    typedargslist_star: And [T(K::OpStar), O(Rule::tfpdef)];
    typedargslist_dbl_star: And [T(K::OpDblStar), T(K::Name), O(Rule::generic_colon_test)];
    tfpdef: And [T(K::Name), O(Rule::generic_colon_test)];
    varargslist: ListWithEnd [R(Rule::varargslist_item), T(K::DelComma)];
    varargslist_item: Or [R(Rule::varargslist_name), R(Rule::varargslist_star), R(Rule::varargslist_dbl_star)];
    varargslist_name: AndIdent [T(K::Name), O(Rule::generic_equal_test)];
    varargslist_star: And [T(K::OpStar), O(Rule::vfpdef)];
    varargslist_dbl_star: And [T(K::OpDblStar), T(K::Name)];
    vfpdef: AndIdent [T(K::Name)];
    stmt: Or [R(Rule::compound_stmt), R(Rule::simple_stmt)];
    simple_stmt: AndIdent [R(Rule::simple_stmt_2), T(K::Newline)];
    simple_stmt_2: ListWithEnd [R(Rule::small_stmt), T(K::DelSemicolon)];
    small_stmt: Or [R(Rule::del_stmt), R(Rule::pass_stmt), R(Rule::flow_stmt), R(Rule::import_stmt), R(Rule::global_stmt), R(Rule::nonlocal_stmt), R(Rule::assert_stmt), R(Rule::expr_stmt)];
    expr_stmt: And [R(Rule::testlist_star_expr), O(Rule::expr_stmt_2)];
    expr_stmt_2: Or [R(Rule::annassign), R(Rule::expr_stmt_augassign), R(Rule::expr_stmt_assign_list)];
    expr_stmt_augassign: AndIdent [R(Rule::augassign), R(Rule::expr_stmt_6)];
    expr_stmt_assign_list: OneOrMore [R(Rule::expr_stmt_assign)];
    expr_stmt_assign: AndIdent [T(K::DelEqual), R(Rule::expr_stmt_6)];
    expr_stmt_6: Or [R(Rule::yield_expr), R(Rule::testlist_star_expr)];
    testlist_star_expr: ListWithEnd [R(Rule::testlist_star_expr_2), T(K::DelComma)];
    testlist_star_expr_2: Or [R(Rule::star_expr), R(Rule::test)];
    annassign: And [T(K::DelColon), R(Rule::test), O(Rule::expr_stmt_assign)];
    augassign: Or [T(K::DelPlusEqual), T(K::DelMinusEqual), T(K::DelStarEqual), T(K::DelAtEqual), T(K::DelSlashEqual), T(K::DelPercentEqual), T(K::DelAmpersandEqual), T(K::DelPipeEqual), T(K::DelCaretEqual), T(K::DelDblLessEqual), T(K::DelDblMoreEqual), T(K::DelDblStarEqual), T(K::DelDblSlashEqual)];
    del_stmt: And [T(K::KwDel), R(Rule::exprlist)];
    pass_stmt: And [T(K::KwPass)];
    flow_stmt: Or [R(Rule::break_stmt), R(Rule::continue_stmt), R(Rule::return_stmt), R(Rule::raise_stmt), R(Rule::yield_stmt)];
    break_stmt: And [T(K::KwBreak)];
    continue_stmt: And [T(K::KwContinue)];
    return_stmt: And [T(K::KwReturn), O(Rule::testlist)];
    yield_stmt: And [R(Rule::yield_expr)];
    raise_stmt: And [T(K::KwRaise), O(Rule::raise_stmt_arg)];
    raise_stmt_arg: AndIdent [R(Rule::test), O(Rule::raise_stmt_from)];
    raise_stmt_from: AndIdent [T(K::KwFrom), R(Rule::test)];
    import_stmt: Or [R(Rule::import_name), R(Rule::import_from)];
    import_name: And [T(K::KwImport), R(Rule::dotted_as_names)];
    import_from: And [T(K::KwFrom), R(Rule::import_from_2), T(K::KwImport), R(Rule::import_from_3)];
    import_from_2: Or [R(Rule::dotted_name), R(Rule::import_from_2b)];
    import_from_2b: AndIdent [R(Rule::one_or_more_period_or_ellipsis), O(Rule::dotted_name)];
    import_from_3: Or [T(K::OpStar), R(Rule::import_as_names_paren), R(Rule::import_as_names)];
    import_as_names_paren: AndIdent [T(K::DelParenOpen), R(Rule::import_as_names), T(K::DelParenClose)];
    one_or_more_period_or_ellipsis: OneOrMore [R(Rule::period_or_ellipsis)];
    period_or_ellipsis: Or [T(K::DelPeriod), T(K::Ellipsis)];
    import_as_name: And [T(K::Name), O(Rule::as_name)];
    dotted_as_name: AndIdent [R(Rule::dotted_name), O(Rule::as_name)];
    as_name: AndIdent [T(K::KwAs), T(K::Name)];
    import_as_names: ListWithEnd [R(Rule::import_as_name), T(K::DelComma)];
    dotted_as_names: List [R(Rule::dotted_as_name), T(K::DelComma)];
    dotted_name: List [T(K::Name), T(K::DelPeriod)];
    global_stmt: And [T(K::KwGlobal), R(Rule::name_list)];
    nonlocal_stmt: And [T(K::KwNonlocal), R(Rule::name_list)];
    name_list: List [T(K::Name), T(K::DelComma)];
    assert_stmt: And [T(K::KwAssert), R(Rule::test), O(Rule::assert_stmt_extra)];
    assert_stmt_extra: AndIdent [T(K::DelComma), R(Rule::test)];
    compound_stmt: Or [R(Rule::if_stmt), R(Rule::while_stmt), R(Rule::for_stmt), R(Rule::try_stmt), R(Rule::with_stmt), R(Rule::funcdef), R(Rule::classdef), R(Rule::decorated), R(Rule::async_stmt)];
    async_stmt: And [T(K::KwAsync), R(Rule::async_stmt_2)];
    async_stmt_2: Or [R(Rule::funcdef), R(Rule::with_stmt), R(Rule::for_stmt)];
    if_stmt: And [T(K::KwIf), R(Rule::namedexpr_test), T(K::DelColon), R(Rule::suite), O(Rule::if_stmt_elif_list), O(Rule::else_stmt)];
    if_stmt_elif_list: OneOrMore [R(Rule::if_stmt_elif)];
    if_stmt_elif: And [T(K::KwElif), R(Rule::namedexpr_test), T(K::DelColon), R(Rule::suite)];
    while_stmt: And [T(K::KwWhile), R(Rule::namedexpr_test), T(K::DelColon), R(Rule::suite), O(Rule::else_stmt)];
    for_stmt: And [T(K::KwFor), R(Rule::exprlist), T(K::KwIn), R(Rule::testlist), T(K::DelColon), R(Rule::suite), O(Rule::else_stmt)];
    try_stmt: And [T(K::KwTry), T(K::DelColon), R(Rule::suite), R(Rule::try_stmt_2)];
    try_stmt_2: Or [R(Rule::try_stmt_except_and_more), R(Rule::try_stmt_finally)];
    try_stmt_except_and_more: AndIdent [R(Rule::try_stmt_except_list), O(Rule::else_stmt), O(Rule::try_stmt_finally)];
    try_stmt_except: And [T(K::KwExcept), O(Rule::try_stmt_as_name), T(K::DelColon), R(Rule::suite)];
    try_stmt_as_name: AndIdent [R(Rule::test), O(Rule::as_name)];
    try_stmt_except_list: OneOrMore [R(Rule::try_stmt_except)];
    try_stmt_finally: And [T(K::KwFinally), T(K::DelColon), R(Rule::suite)];
    else_stmt: AndIdent [T(K::KwElse), T(K::DelColon), R(Rule::suite)];
    with_stmt: And [T(K::KwWith), R(Rule::with_stmt_list), T(K::DelColon), R(Rule::suite)];
    with_stmt_list: List [R(Rule::with_item), T(K::DelComma)];
    with_item: AndIdent [R(Rule::test), O(Rule::with_item_as)];
    with_item_as: AndIdent [T(K::KwAs), R(Rule::expr)];
    suite: Or [R(Rule::suite_block), R(Rule::simple_stmt)];
    suite_block: AndIdent [T(K::Newline), T(K::Indent), R(Rule::suite_block_stmts), T(K::Dedent)];
    suite_block_stmts: OneOrMore [R(Rule::stmt)];
    namedexpr_test: AndIdent [R(Rule::test), O(Rule::namedexpr_test_2)];
    namedexpr_test_2: AndIdent [T(K::OpAssign), R(Rule::test)];
    test: Or [R(Rule::lambdef), R(Rule::test_if_expr)];
    test_if_expr: AndIdent [R(Rule::or_test), O(Rule::test_if_else)];
    test_if_else: And [T(K::KwIf), R(Rule::or_test), T(K::KwElse), R(Rule::test)];
    test_nocond: Or [R(Rule::lambdef_nocond), R(Rule::or_test)];
    lambdef: AndBlank [T(K::KwLambda), O(Rule::varargslist), T(K::DelColon), R(Rule::test)];
    lambdef_nocond: AndBlank [T(K::KwLambda), O(Rule::varargslist), T(K::DelColon), R(Rule::test_nocond)];
    or_test: List [R(Rule::and_test), T(K::KwOr)];
    and_test: List [R(Rule::not_test), T(K::KwAnd)];
    not_test: Or [R(Rule::not_test_2), R(Rule::comparison)];
    not_test_2: And [T(K::KwNot), R(Rule::not_test)];
    comparison: List [R(Rule::expr), R(Rule::comp_op)];
    comp_op: Or [T(K::OpLess), T(K::OpMore), T(K::OpDblEqual), T(K::OpLessEqual), T(K::OpMoreEqual), T(K::OpNotEqual), T(K::KwIn), R(Rule::comp_op_not_in), R(Rule::comp_op_is)];
    comp_op_not_in: And [T(K::KwNot), T(K::KwIn)];
    comp_op_is: And [T(K::KwIs), O(Rule::comp_op_is_not)];
    comp_op_is_not: And [T(K::KwNot)];
    star_expr: And [T(K::OpStar), R(Rule::expr)];
    expr: List [R(Rule::xor_expr), T(K::OpPipe)];
    xor_expr: List [R(Rule::and_expr), T(K::OpCaret)];
    and_expr: List [R(Rule::shift_expr), T(K::OpAmpersand)];
    shift_expr: List [R(Rule::arith_expr), R(Rule::shift_op)];
    shift_op: Or [T(K::OpDblLess), T(K::OpDblMore)];
    arith_expr: List [R(Rule::term), R(Rule::arith_op)];
    arith_op: Or [T(K::OpPlus), T(K::OpMinus)];
    term: List [R(Rule::factor), R(Rule::term_op)];
    term_op: Or [T(K::OpStar), T(K::OpAt), T(K::OpSlash), T(K::OpPercent), T(K::OpDblSlash)];
    factor: Or [R(Rule::factor_2), R(Rule::power)];
    factor_2: AndIdent [R(Rule::factor_op), R(Rule::factor)];
    factor_op: Or [T(K::OpPlus), T(K::OpMinus), T(K::OpTilde)];
    power: AndIdent [R(Rule::atom_expr), O(Rule::power_dbl_star)];
    atom_expr: Or [R(Rule::atom_expr_await), R(Rule::atom_expr_normal)];
    atom_expr_await: And [T(K::KwAwait), R(Rule::atom), O(Rule::atom_expr_trailers)];
    atom_expr_normal: AndIdent [R(Rule::atom), O(Rule::atom_expr_trailers)];
    atom_expr_trailers: OneOrMore [R(Rule::trailer)];
    power_dbl_star: AndIdent [T(K::OpDblStar), R(Rule::factor)];
    atom: Or [T(K::Name), T(K::Integer), T(K::FloatOrImag), T(K::String), T(K::Bytes), T(K::Ellipsis), T(K::KwNone), T(K::KwTrue), T(K::KwFalse), R(Rule::atom_paren), R(Rule::atom_bracket), R(Rule::atom_brace)];
    atom_paren: And [T(K::DelParenOpen), O(Rule::atom_2b), T(K::DelParenClose)];
    atom_2b: Or [R(Rule::yield_expr), R(Rule::testlist_comp)];
    atom_bracket: And [T(K::DelBracketOpen), O(Rule::testlist_comp), T(K::DelBracketClose)];
    atom_brace: And [T(K::DelBraceOpen), O(Rule::dictorsetmaker), T(K::DelBraceClose)];
    testlist_comp: AndIdent [R(Rule::testlist_comp_2), O(Rule::testlist_comp_3)];
    testlist_comp_2: Or [R(Rule::star_expr), R(Rule::namedexpr_test)];
    testlist_comp_3: Or [R(Rule::comp_for), R(Rule::testlist_comp_3b)];
    testlist_comp_3b: AndIdent [T(K::DelComma), O(Rule::testlist_comp_3c)];
    testlist_comp_3c: ListWithEnd [R(Rule::testlist_comp_2), T(K::DelComma)];
    trailer: Or [R(Rule::trailer_paren), R(Rule::trailer_bracket), R(Rule::trailer_period)];
    trailer_paren: And [T(K::DelParenOpen), O(Rule::arglist), T(K::DelParenClose)];
    trailer_bracket: And [T(K::DelBracketOpen), R(Rule::subscriptlist), T(K::DelBracketClose)];
    trailer_period: And [T(K::DelPeriod), T(K::Name)];
    subscriptlist: ListWithEnd [R(Rule::subscript), T(K::DelComma)];
    subscript: Or [R(Rule::subscript_3), R(Rule::subscript_2)];
    subscript_2: AndIdent [R(Rule::test), O(Rule::subscript_3)];
    subscript_3: And [T(K::DelColon), O(Rule::subscript_3b)];
    subscript_3b: Or [R(Rule::subscript_3c), R(Rule::subscript_3d)];
    subscript_3c: And [T(K::DelColon), O(Rule::test)];
    subscript_3d: AndIdent [R(Rule::test), O(Rule::sliceop)];
    sliceop: And [T(K::DelColon), O(Rule::test)];
    exprlist: ListWithEnd [R(Rule::exprlist_2), T(K::DelComma)];
    exprlist_2: Or [R(Rule::star_expr), R(Rule::expr)];
    testlist: ListWithEnd [R(Rule::test), T(K::DelComma)];
    dictorsetmaker: AndIdent [R(Rule::dictorsetmaker_item), O(Rule::dictorsetmaker_tail)];
    dictorsetmaker_item: AndIdent [R(Rule::test), O(Rule::generic_colon_test)];
    dictorsetmaker_tail: Or [R(Rule::comp_for), R(Rule::dictorsetmaker_list)];
    dictorsetmaker_list: And [T(K::DelComma), O(Rule::dictorsetmaker_list2)];
    dictorsetmaker_list2: ListWithEnd [R(Rule::dictorsetmaker_item), T(K::DelComma)];
    classdef: AndBlank [T(K::KwClass), T(K::Name), O(Rule::classdef_2), T(K::DelColon), R(Rule::suite)];
    classdef_2: AndIdent [T(K::DelParenOpen), O(Rule::arglist), T(K::DelParenClose)];
    arglist: ListWithEnd [R(Rule::arglist_2), T(K::DelComma)];
    arglist_2: Or [R(Rule::arglist_star), R(Rule::arglist_dbl_star), R(Rule::argument)];
    arglist_star: And [T(K::OpStar), R(Rule::test)];
    arglist_dbl_star: And [T(K::OpDblStar), R(Rule::test)];
    argument: AndIdent [R(Rule::test), O(Rule::argument_2)];
    argument_2: Or [R(Rule::comp_for), R(Rule::generic_equal_test), R(Rule::argument_3)];
    argument_3: And [T(K::OpAssign), R(Rule::test)];
    comp_iter: Or [R(Rule::comp_for), R(Rule::comp_if)];
    comp_for: AndBlank [T(K::KwFor), R(Rule::exprlist), T(K::KwIn), R(Rule::or_test), O(Rule::comp_iter)];
    comp_if: And [T(K::KwIf), R(Rule::test_nocond), O(Rule::comp_iter)];
    yield_expr: And [T(K::KwYield), O(Rule::yield_arg)];
    yield_arg: Or [R(Rule::yield_arg_from), R(Rule::testlist)];
    yield_arg_from: And [T(K::KwFrom), R(Rule::test)];
}
