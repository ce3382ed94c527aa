//! The multi-variant rule language: one Amazon Ion s-expression per variant rule, such as
//! `(and (eq $tier "gold") (split by::$userId pct::20))`.
//!
//! * [`parse`]: rule text → typed [`Rule`] (via the `ion-rs` reader), refusing anything the
//!   evaluator could not give a meaning to (unknown operator, wrong arity, bad regex, …);
//! * [`eval`]: [`Rule::matches`] against a request [`Context`], with the coercion and
//!   missing-key rules written down in `docs/flags.md`;
//! * [`split`]: the stable hash behind `split`.
//!
//! A rule is compiled once (per deployed version) and evaluated many times; evaluation
//! allocates nothing and never fails: a value that cannot be compared makes its predicate false.

mod eval;
mod parse;
mod split;

#[cfg(test)]
mod tests;

pub use eval::Context;
pub use parse::{parse, to_ion_element};
pub use split::{bucket, implicit_seed, threshold};

use regex::Regex;

/// A parsed, validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub(crate) expr: Expr,
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// `eq ne gt gte lt lte`.
    Compare(CompareOp, Operand, Operand),
    /// `begins_with ends_with contains`: on the raw text of both operands.
    Text(TextOp, Operand, Operand),
    /// `(in A [c1, c2 …])`.
    In(Operand, Vec<Literal>),
    /// `(matches in::A pattern::"re")`: unanchored search.
    Matches(Operand, Box<Regex>),
    /// `(exists key::"k")`.
    Exists(String),
    /// `(split by::$k pct::N seed::"s")`: true when the value's bucket is below `threshold`.
    Split {
        by: String,
        /// `bucket < threshold` matches; `None` is `pct::100` (every present value).
        threshold: Option<u64>,
        /// `None`: the flag's implicit seed, supplied at evaluation.
        seed: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CompareOp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    BeginsWith,
    EndsWith,
    Contains,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    /// `$key`: the request context's value for `key` (a string), absent if not supplied.
    Context(String),
    Literal(Literal),
}

#[derive(Debug, Clone)]
pub(crate) enum Literal {
    Str(String),
    Int(i64),
    /// Ion decimals (`3.14`) and floats (`1.2e-5`) alike.
    Float(f64),
    Bool(bool),
    /// An instant, in nanoseconds since the Unix epoch (UTC).
    Time(i128),
}
