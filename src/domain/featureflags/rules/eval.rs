//! Evaluation of a [`Rule`] against a request context.
//!
//! Context values are strings (they travel in HTTP headers). A comparison between a context
//! value and a typed constant first coerces the context string to the constant's type (number,
//! timestamp, boolean, string); if that parse fails the comparison is false. A predicate on a
//! key the context lacks is false, and `not` inverts it. Nothing here can fail or allocate.

use std::cmp::Ordering;

use ion_rs::Timestamp;

use super::split::bucket;
use super::{CompareOp, Expr, Literal, Operand, Rule, TextOp};

/// A request's context: `key=value` pairs. When a key is given twice the last one counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pairs: Vec<(String, String)>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.pairs.push((key.into(), value.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The value of `key`; the last one wins (pairs are few, so a scan beats hashing).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Parses `Context` header values: each holds `k=v` items separated by commas; an item is
    /// split on its first `=` and both sides trimmed. Empty items are skipped. An item without
    /// `=` is refused (the error names it).
    pub fn from_headers<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut context = Context::new();
        for value in values {
            for item in value.split(',') {
                let item = item.trim();
                if item.is_empty() {
                    continue;
                }
                let Some((key, value)) = item.split_once('=') else {
                    return Err(format!(
                        "Context item '{item}' is not of the form key=value."
                    ));
                };
                context.insert(key.trim(), value.trim());
            }
        }
        Ok(context)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Context {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut context = Context::new();
        for (k, v) in iter {
            context.insert(k, v);
        }
        context
    }
}

impl Rule {
    /// Whether the rule holds for `context`. `implicit_seed` is the seed of `split`s that name
    /// none (the flag's own, so that all of one flag's splits agree).
    pub fn matches(&self, context: &Context, implicit_seed: &str) -> bool {
        holds(&self.expr, context, implicit_seed)
    }
}

fn holds(expr: &Expr, context: &Context, implicit_seed: &str) -> bool {
    match expr {
        Expr::And(parts) => parts.iter().all(|p| holds(p, context, implicit_seed)),
        Expr::Or(parts) => parts.iter().any(|p| holds(p, context, implicit_seed)),
        Expr::Not(inner) => !holds(inner, context, implicit_seed),
        Expr::Compare(op, a, b) => {
            let Some(ordering) = compare(a, b, context) else {
                return false;
            };
            match op {
                CompareOp::Eq => ordering == Ordering::Equal,
                CompareOp::Ne => ordering != Ordering::Equal,
                CompareOp::Gt => ordering == Ordering::Greater,
                CompareOp::Gte => ordering != Ordering::Less,
                CompareOp::Lt => ordering == Ordering::Less,
                CompareOp::Lte => ordering != Ordering::Greater,
            }
        }
        Expr::Text(op, a, b) => {
            let (Some(a), Some(b)) = (text(a, context), text(b, context)) else {
                return false;
            };
            match op {
                TextOp::BeginsWith => a.starts_with(b),
                TextOp::EndsWith => a.ends_with(b),
                TextOp::Contains => a.contains(b),
            }
        }
        Expr::In(a, list) => list
            .iter()
            .any(|item| compare_with(a, item, context) == Some(Ordering::Equal)),
        Expr::Matches(input, regex) => text(input, context).is_some_and(|t| regex.is_match(t)),
        Expr::Exists(key) => context.get(key).is_some(),
        Expr::Split {
            by,
            threshold,
            seed,
        } => context.get(by).is_some_and(|value| {
            let seed = seed.as_deref().unwrap_or(implicit_seed);
            threshold.is_none_or(|t| bucket(seed, value) < t)
        }),
    }
}

/// The raw text of a string operand (context value or string constant).
fn text<'a>(operand: &'a Operand, context: &'a Context) -> Option<&'a str> {
    match operand {
        Operand::Context(key) => context.get(key),
        Operand::Literal(Literal::Str(s)) => Some(s),
        Operand::Literal(_) => None,
    }
}

/// How `a` compares with `b`, or `None` when they cannot be compared (absent key, a context
/// string that does not parse as the other side's type, constants of different types).
fn compare(a: &Operand, b: &Operand, context: &Context) -> Option<Ordering> {
    match (a, b) {
        (Operand::Context(x), Operand::Context(y)) => Some(context.get(x)?.cmp(context.get(y)?)),
        (a, Operand::Literal(l)) => compare_with(a, l, context),
        (Operand::Literal(l), b) => compare_with(b, l, context).map(Ordering::reverse),
    }
}

/// How `a` compares with the constant `literal`.
fn compare_with(a: &Operand, literal: &Literal, context: &Context) -> Option<Ordering> {
    match a {
        Operand::Context(key) => coerce_compare(context.get(key)?, literal),
        Operand::Literal(l) => compare_literals(l, literal),
    }
}

/// `raw` (a context string) compared with `literal`, after coercing `raw` to its type.
fn coerce_compare(raw: &str, literal: &Literal) -> Option<Ordering> {
    match literal {
        Literal::Str(s) => Some(raw.cmp(s.as_str())),
        Literal::Int(i) => match raw.parse::<i64>() {
            Ok(r) => Some(r.cmp(i)),
            Err(_) => raw.parse::<f64>().ok()?.partial_cmp(&(*i as f64)),
        },
        Literal::Float(f) => raw.parse::<f64>().ok()?.partial_cmp(f),
        Literal::Bool(b) => {
            let r = if raw.eq_ignore_ascii_case("true") {
                true
            } else if raw.eq_ignore_ascii_case("false") {
                false
            } else {
                return None;
            };
            Some(r.cmp(b))
        }
        Literal::Time(t) => Some(parse_instant(raw)?.cmp(t)),
    }
}

fn compare_literals(a: &Literal, b: &Literal) -> Option<Ordering> {
    match (a, b) {
        (Literal::Str(x), Literal::Str(y)) => Some(x.cmp(y)),
        (Literal::Int(x), Literal::Int(y)) => Some(x.cmp(y)),
        (Literal::Int(x), Literal::Float(y)) => (*x as f64).partial_cmp(y),
        (Literal::Float(x), Literal::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Literal::Float(x), Literal::Float(y)) => x.partial_cmp(y),
        (Literal::Bool(x), Literal::Bool(y)) => Some(x.cmp(y)),
        (Literal::Time(x), Literal::Time(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// An Ion timestamp as nanoseconds since the Unix epoch, UTC (an unknown offset counts as UTC;
/// a year or month precision timestamp is its first instant).
pub(super) fn instant(t: &Timestamp) -> i128 {
    let days = days_from_civil(i64::from(t.year()), t.month().max(1), t.day().max(1));
    let seconds = days * 86_400
        + i64::from(t.hour()) * 3600
        + i64::from(t.minute()) * 60
        + i64::from(t.second())
        - i64::from(t.offset().unwrap_or(0)) * 60;
    i128::from(seconds) * 1_000_000_000 + i128::from(t.nanoseconds())
}

/// A context string as a timestamp: RFC 3339 (the common case, parsed without Ion), else any
/// Ion timestamp (`2024-01-15`, `2024-01T`), and the bare `2024-01` and `2024`.
fn parse_instant(raw: &str) -> Option<i128> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(raw, &Rfc3339) {
        return Some(t.unix_timestamp_nanos());
    }
    // Only timestamp characters reach the Ion reader (it recurses on brackets).
    if raw.is_empty()
        || !raw
            .bytes()
            .all(|b| b.is_ascii_digit() || b"-:+.TZtz".contains(&b))
    {
        return None;
    }
    let raw = if raw.len() == 4 && raw.bytes().all(|b| b.is_ascii_digit()) {
        std::borrow::Cow::Owned(format!("{raw}T"))
    } else {
        super::parse::normalize_year_month(raw)
    };
    ion_rs::Element::read_one(raw.as_bytes())
        .ok()?
        .as_timestamp()
        .map(|t| instant(&t))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
