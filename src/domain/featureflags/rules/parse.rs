//! Rule text → [`Rule`]: read with the `ion-rs` reader (the rule language is Ion
//! s-expressions), then checked and typed node by node. Every refusal is a sentence naming
//! the offending part, for the `Details` of CreateHostedConfigurationVersion's
//! BadRequestException.

use std::borrow::Cow;

use ion_rs::{Element, IonType, Value};
use regex::RegexBuilder;

use super::eval::instant;
use super::split::threshold;
use super::{CompareOp, Expr, Literal, Operand, Rule, TextOp};

/// Deeper nesting than this is refused (no real rule comes close; it bounds the recursion).
const MAX_DEPTH: usize = 64;
/// Compiled size limit of a `matches` pattern (the `regex` crate's own default is 10 MiB).
const MAX_REGEX_BYTES: usize = 1 << 20;
/// Ion reader messages can be long; the caller gets the start.
const MAX_ION_ERROR_CHARS: usize = 160;

const OPERATORS: &str = "eq, ne, gt, gte, lt, lte, and, or, not, begins_with, ends_with, \
                         contains, in, matches, exists, split";

type Parsed<T> = Result<T, String>;

/// Parses and validates one rule. The error says what is wrong, in one sentence.
pub fn parse(text: &str) -> Parsed<Rule> {
    let element = read(text)?;
    Ok(Rule {
        expr: expression(&element, 0)?,
    })
}

/// The rule as one Ion element (an s-expression), as the Ion retrieval format carries it.
/// `None` if the text is not one readable Ion value.
pub fn to_ion_element(text: &str) -> Option<Element> {
    read(text).ok()
}

fn read(text: &str) -> Parsed<Element> {
    let (normalized, depth) = scan(text);
    // The Ion reader recurses per nesting level: refuse deep nesting before it sees it.
    if depth > MAX_DEPTH {
        return Err(format!(
            "The rule is nested more than {MAX_DEPTH} levels deep."
        ));
    }
    let values = Element::read_all(normalized.as_bytes()).map_err(|e| {
        let message: String = e.to_string().chars().take(MAX_ION_ERROR_CHARS).collect();
        format!("The rule is not a balanced Ion s-expression: {message}")
    })?;
    let mut values = values.into_iter();
    match (values.next(), values.next()) {
        (Some(one), None) => Ok(one),
        (None, _) => Err("The rule is empty.".to_owned()),
        (Some(_), Some(_)) => Err(
            "The rule must be a single s-expression, but it holds several top-level values."
                .to_owned(),
        ),
    }
}

/// AWS's documentation writes a year-month timestamp as `2024-01`; strict Ion spells it
/// `2024-01T`. Adds the `T` to bare `YYYY-MM` tokens outside strings, symbols and comments.
pub(super) fn normalize_year_month(text: &str) -> Cow<'_, str> {
    scan(text).0
}

/// One lexical pass over rule text (strings, quoted symbols and comments skipped): the text
/// with bare `YYYY-MM` tokens completed, and the deepest bracket nesting.
fn scan(text: &str) -> (Cow<'_, str>, usize) {
    let bytes = text.as_bytes();
    let mut inserts = Vec::new();
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut i = 0;
    let delimiter =
        |b: Option<&u8>| b.is_none_or(|b| b.is_ascii_whitespace() || b"()[],:{}".contains(b));
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"'''") {
            i += 3 + skip_quoted(&rest[3..], b"'''");
        } else if rest[0] == b'"' {
            i += 1 + skip_quoted(&rest[1..], b"\"");
        } else if rest[0] == b'\'' {
            i += 1 + skip_quoted(&rest[1..], b"'");
        } else if rest.starts_with(b"//") {
            i += rest.iter().position(|b| *b == b'\n').unwrap_or(rest.len());
        } else if rest.starts_with(b"/*") {
            i += rest
                .windows(2)
                .skip(2)
                .position(|w| w == b"*/")
                .map_or(rest.len(), |p| p + 4);
        } else if rest.len() >= 7
            && delimiter(i.checked_sub(1).map(|p| &bytes[p]))
            && rest[..4].iter().all(u8::is_ascii_digit)
            && rest[4] == b'-'
            && rest[5..7].iter().all(u8::is_ascii_digit)
            && delimiter(rest.get(7))
        {
            inserts.push(i + 7);
            i += 7;
        } else {
            match rest[0] {
                b'(' | b'[' | b'{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
            i += 1;
        }
    }
    if inserts.is_empty() {
        return (Cow::Borrowed(text), deepest);
    }
    let mut out = String::with_capacity(text.len() + inserts.len());
    let mut from = 0;
    for at in inserts {
        out.push_str(&text[from..at]);
        out.push('T');
        from = at;
    }
    out.push_str(&text[from..]);
    (Cow::Owned(out), deepest)
}

/// Length up to and including the closing `end` (backslash escapes skipped), or all of `rest`.
fn skip_quoted(rest: &[u8], end: &[u8]) -> usize {
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'\\' {
            i += 2;
        } else if rest[i..].starts_with(end) {
            return i + end.len();
        } else {
            i += 1;
        }
    }
    rest.len()
}

fn expression(element: &Element, depth: usize) -> Parsed<Expr> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "The rule is nested more than {MAX_DEPTH} levels deep."
        ));
    }
    no_annotations(element, "an expression")?;
    let Some(items) = element.as_sexp() else {
        return Err(format!(
            "Expected an expression such as (eq $key \"value\"), but found {}.",
            describe(element)
        ));
    };
    let items: Vec<&Element> = items.iter().collect();
    let Some((head, args)) = items.split_first() else {
        return Err("An expression is empty: () has no operator.".to_owned());
    };
    let operator = match head.value() {
        Value::Symbol(s) if head.annotations().is_empty() => s.text().unwrap_or(""),
        _ => {
            return Err(format!(
                "An expression must start with an operator ({OPERATORS}), but it starts with {}.",
                describe(head)
            ))
        }
    };
    let compare = |op| -> Parsed<Expr> {
        let [a, b] = exactly::<2>(operator, args)?;
        Ok(Expr::Compare(op, operand(a)?, operand(b)?))
    };
    let text = |op| -> Parsed<Expr> {
        let [a, b] = exactly::<2>(operator, args)?;
        Ok(Expr::Text(op, text_operand(a)?, text_operand(b)?))
    };
    match operator {
        "and" | "or" => {
            if args.len() < 2 {
                return Err(format!(
                    "'{operator}' takes two or more expressions, but has {}.",
                    args.len()
                ));
            }
            let parts = args
                .iter()
                .map(|a| expression(a, depth + 1))
                .collect::<Parsed<Vec<_>>>()?;
            Ok(if operator == "and" {
                Expr::And(parts)
            } else {
                Expr::Or(parts)
            })
        }
        "not" => {
            let [inner] = exactly::<1>(operator, args)?;
            Ok(Expr::Not(Box::new(expression(inner, depth + 1)?)))
        }
        "eq" => compare(CompareOp::Eq),
        "ne" => compare(CompareOp::Ne),
        "gt" => compare(CompareOp::Gt),
        "gte" => compare(CompareOp::Gte),
        "lt" => compare(CompareOp::Lt),
        "lte" => compare(CompareOp::Lte),
        "begins_with" => text(TextOp::BeginsWith),
        "ends_with" => text(TextOp::EndsWith),
        "contains" => text(TextOp::Contains),
        "in" => {
            let [a, list] = exactly::<2>(operator, args)?;
            Ok(Expr::In(operand(a)?, constant_list(list)?))
        }
        "matches" => matches(args),
        "exists" => {
            let [key] = named(operator, args, &["key"], &["key"])?;
            let key = key.map(|k| string(k, "key")).transpose()?;
            Ok(Expr::Exists(key.unwrap_or_default()))
        }
        "split" => split(args),
        other => Err(format!(
            "Unknown operator '{other}'; the operators are {OPERATORS}."
        )),
    }
}

fn matches(args: &[&Element]) -> Parsed<Expr> {
    let [input, pattern] = named("matches", args, &["in", "pattern"], &["in", "pattern"])?;
    let (Some(input), Some(pattern)) = (input, pattern) else {
        return Err("'matches' needs in:: and pattern::.".to_owned());
    };
    let input = text_operand(&bare(input))?;
    let pattern = string(pattern, "pattern")?;
    let regex = RegexBuilder::new(&pattern)
        .size_limit(MAX_REGEX_BYTES)
        .build()
        .map_err(|e| {
            let first = e.to_string();
            let first = first.lines().last().unwrap_or_default().trim().to_owned();
            format!("pattern::\"{pattern}\" is not a valid regular expression: {first}")
        })?;
    Ok(Expr::Matches(input, Box::new(regex)))
}

fn split(args: &[&Element]) -> Parsed<Expr> {
    let [by, pct, seed] = named("split", args, &["by", "pct", "seed"], &["by", "pct"])?;
    let (Some(by), Some(pct)) = (by, pct) else {
        return Err("'split' needs by:: and pct::.".to_owned());
    };
    let Operand::Context(by) = operand(&bare(by))? else {
        return Err(format!(
            "by:: must name a context value such as $userId, but it is {}.",
            describe(&bare(by))
        ));
    };
    let pct = match literal(&bare(pct))? {
        Literal::Int(i) => i as f64,
        Literal::Float(f) => f,
        _ => {
            return Err(format!(
                "pct:: must be a number from 0 to 100, but it is {}.",
                describe(&bare(pct))
            ))
        }
    };
    if !(0.0..=100.0).contains(&pct) {
        return Err(format!("pct:: must be from 0 to 100, but it is {pct}."));
    }
    let seed = seed.map(|s| string(s, "seed")).transpose()?;
    Ok(Expr::Split {
        by,
        threshold: threshold(pct),
        seed,
    })
}

fn exactly<'a, const N: usize>(operator: &str, args: &[&'a Element]) -> Parsed<[&'a Element; N]> {
    <[&Element; N]>::try_from(args).map_err(|_| {
        let what = if N == 1 { "operand" } else { "operands" };
        format!("'{operator}' takes {N} {what}, but has {}.", args.len())
    })
}

/// The named operands `name::value` of `operator`, in the order of `names` (any order in the
/// text); each at most once, `required` ones present, nothing else.
fn named<'a, const N: usize>(
    operator: &str,
    args: &[&'a Element],
    names: &[&str; N],
    required: &[&str],
) -> Parsed<[Option<&'a Element>; N]> {
    let mut found: [Option<&Element>; N] = [None; N];
    let expected = names
        .iter()
        .map(|n| format!("{n}::"))
        .collect::<Vec<_>>()
        .join(", ");
    for arg in args {
        let annotations: Vec<&str> = arg
            .annotations()
            .iter()
            .map(|a| a.text().unwrap_or(""))
            .collect();
        let [name] = annotations.as_slice() else {
            return Err(format!(
                "Every operand of '{operator}' is named ({expected}), but {} is not.",
                describe(arg)
            ));
        };
        let Some(slot) = names.iter().position(|n| n == name) else {
            return Err(format!(
                "'{operator}' has no operand {name}::; its operands are {expected}."
            ));
        };
        if found[slot].replace(arg).is_some() {
            return Err(format!("'{operator}' has {name}:: twice."));
        }
    }
    for name in required {
        if let Some(slot) = names.iter().position(|n| n == name) {
            if found[slot].is_none() {
                return Err(format!("'{operator}' is missing its operand {name}::."));
            }
        }
    }
    Ok(found)
}

/// A named operand's value, without its name annotation.
fn bare(element: &Element) -> Element {
    Element::from(element.value().clone())
}

fn string(element: &Element, name: &str) -> Parsed<String> {
    match element.value() {
        Value::String(s) => Ok(s.text().to_owned()),
        _ => Err(format!(
            "{name}:: must be a string in double quotes, but it is {}.",
            describe(&bare(element))
        )),
    }
}

fn no_annotations(element: &Element, what: &str) -> Parsed<()> {
    match element.annotations().first() {
        None => Ok(()),
        Some(a) => Err(format!(
            "Unexpected name '{a}::' on {what}; only matches, exists and split take named operands."
        )),
    }
}

/// A comparison operand: a context reference or a literal.
fn operand(element: &Element) -> Parsed<Operand> {
    no_annotations(element, "an operand")?;
    match element.value() {
        Value::Symbol(s) => match s.text() {
            Some(t) if t.len() > 1 && t.starts_with('$') => Ok(Operand::Context(t[1..].to_owned())),
            t => Err(format!(
                "Unknown symbol '{}': a context value is written $name and a string in double quotes.",
                t.unwrap_or("")
            )),
        },
        Value::SExp(_) => Err(
            "An expression cannot be an operand of a comparison; compare a context value or a constant."
                .to_owned(),
        ),
        Value::List(_) => Err("A list is only allowed as the right operand of 'in'.".to_owned()),
        _ => Ok(Operand::Literal(literal(element)?)),
    }
}

/// Operands of the string operators: context values and string constants.
fn text_operand(element: &Element) -> Parsed<Operand> {
    match operand(element)? {
        o @ (Operand::Context(_) | Operand::Literal(Literal::Str(_))) => Ok(o),
        Operand::Literal(_) => Err(format!(
            "String operators take context values and strings, not {}.",
            describe(element)
        )),
    }
}

fn constant_list(element: &Element) -> Parsed<Vec<Literal>> {
    no_annotations(element, "a list")?;
    let Some(items) = element.as_list() else {
        return Err(format!(
            "The right operand of 'in' must be a list of constants such as [\"a\", \"b\"], but it is {}.",
            describe(element)
        ));
    };
    items
        .iter()
        .map(|item| {
            no_annotations(item, "a list item")?;
            literal(item)
        })
        .collect()
}

fn literal(element: &Element) -> Parsed<Literal> {
    let refuse = || {
        Err(format!(
            "{} is not allowed here.",
            capitalized(&describe(element))
        ))
    };
    if element.is_null() {
        return refuse();
    }
    Ok(match element.value() {
        Value::String(s) => Literal::Str(s.text().to_owned()),
        Value::Bool(b) => Literal::Bool(*b),
        Value::Int(i) => Literal::Int(
            i.as_i64()
                .ok_or_else(|| format!("The integer {i} does not fit in 64 bits."))?,
        ),
        Value::Float(f) => Literal::Float(*f),
        Value::Decimal(d) => Literal::Float(decimal_to_f64(&d.to_string())),
        Value::Timestamp(t) => Literal::Time(instant(t)),
        _ => return refuse(),
    })
}

/// Ion writes decimals as `3.14`, `314d-2` or `123.`; Rust parses them once `d` is `e`.
fn decimal_to_f64(text: &str) -> f64 {
    text.replace(['d', 'D'], "e").parse().unwrap_or(f64::NAN)
}

fn describe(element: &Element) -> String {
    let kind = match element.ion_type() {
        _ if element.is_null() => "null",
        IonType::Bool => "a boolean",
        IonType::Int => "an integer",
        IonType::Float | IonType::Decimal => "a number",
        IonType::Timestamp => "a timestamp",
        IonType::Symbol => "the symbol",
        IonType::String => "the string",
        IonType::List => "a list",
        IonType::SExp => "an expression",
        IonType::Struct => "a struct",
        _ => "a binary value",
    };
    let mut shown = element.to_string();
    if shown.chars().count() > 60 {
        shown = shown.chars().take(60).collect::<String>() + "…";
    }
    format!("{kind} {shown}")
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
