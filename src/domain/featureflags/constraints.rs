//! Attribute constraints: the `constraints` object of an attribute definition (`type`,
//! `required`, `pattern`/`enum`, `minimum`/`maximum`, `elements`), parsed into a [`Constraint`],
//! and the semantic check of an attribute value against it.

use regex::Regex;
use serde_json::{Map, Value};

use super::problems::{child, index, json_type_name, Problems};
use super::scalars::{as_integer, check_string_max};
use super::{MAX_ENUM_ITEMS, MAX_STRING_CHARS};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueKind {
    String,
    Number,
    Array,
    Boolean,
}

impl ValueKind {
    pub(super) const ALL: [ValueKind; 4] = [
        ValueKind::String,
        ValueKind::Number,
        ValueKind::Array,
        ValueKind::Boolean,
    ];
    /// `elements` of an array constraint may only constrain strings or numbers.
    const ELEMENTS: [ValueKind; 2] = [ValueKind::String, ValueKind::Number];

    fn name(self) -> &'static str {
        match self {
            ValueKind::String => "string",
            ValueKind::Number => "number",
            ValueKind::Array => "array",
            ValueKind::Boolean => "boolean",
        }
    }

    /// The members a constraint object of this kind may have (`additionalProperties: false`).
    fn members(self) -> &'static [&'static str] {
        match self {
            ValueKind::String => &["type", "required", "pattern", "enum"],
            ValueKind::Number => &["type", "required", "minimum", "maximum"],
            ValueKind::Array => &["type", "required", "elements"],
            ValueKind::Boolean => &["type", "required"],
        }
    }
}

/// A usable (fully valid) constraint of one attribute.
pub(super) struct Constraint {
    pub(super) required: bool,
    pub(super) rule: Rule,
}

/// What a value must look like; `Array` holds the element rule, if `elements` was given.
pub(super) enum Rule {
    String(StringRule),
    Number(NumberRule),
    Array(Option<Box<Rule>>),
    Boolean,
}

pub(super) struct StringRule {
    pattern: Option<Regex>,
    allowed: Option<Vec<Value>>,
}

pub(super) struct NumberRule {
    minimum: Option<f64>,
    maximum: Option<f64>,
}

// ---------------------------------------------------------------------------------------------
// Parsing a constraints object
// ---------------------------------------------------------------------------------------------

/// Checks one constraints object. Returns the constraint only if it had no problem at all, so
/// values are never checked against half-understood constraints.
pub(super) fn parse_constraint(
    value: &Value,
    location: &str,
    kinds: &[ValueKind],
    problems: &mut Problems,
) -> Option<Constraint> {
    let members = problems.object(value, location)?;
    let problems_before = problems.len();
    // Which members are allowed depends on `type`, so nothing more can be said without it.
    let kind = parse_constraint_kind(members, location, kinds, problems)?;
    for (member, member_value) in members {
        if !kind.members().contains(&member.as_str()) {
            let owner = format!("{} constraints", kind.name());
            problems.unknown_member(member, &child(location, member), &owner, member_value);
        }
    }
    let required = match members.get("required") {
        None => false,
        Some(Value::Bool(required)) => *required,
        Some(other) => {
            problems.wrong_type(&child(location, "required"), "a boolean", other);
            false
        }
    };
    let rule = match kind {
        ValueKind::String => Rule::String(parse_string_rule(members, location, problems)),
        ValueKind::Number => Rule::Number(parse_number_rule(members, location, problems)),
        ValueKind::Boolean => Rule::Boolean,
        ValueKind::Array => {
            let elements = members.get("elements").and_then(|elements| {
                parse_constraint(
                    elements,
                    &child(location, "elements"),
                    &ValueKind::ELEMENTS,
                    problems,
                )
            });
            Rule::Array(elements.map(|element| Box::new(element.rule)))
        }
    };
    (problems.len() == problems_before).then_some(Constraint { required, rule })
}

fn parse_constraint_kind(
    members: &Map<String, Value>,
    location: &str,
    kinds: &[ValueKind],
    problems: &mut Problems,
) -> Option<ValueKind> {
    let Some(kind) = members.get("type") else {
        problems.missing_member("type", location, "A constraints object");
        return None;
    };
    let found = kinds
        .iter()
        .copied()
        .find(|candidate| kind.as_str() == Some(candidate.name()));
    if found.is_none() {
        let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
        let type_location = child(location, "type");
        let reason = format!("{type_location} must be one of: {}.", names.join(", "));
        problems.syntax(&type_location, "enum", reason, Some(kind));
    }
    found
}

fn parse_string_rule(
    members: &Map<String, Value>,
    location: &str,
    problems: &mut Problems,
) -> StringRule {
    let pattern = members
        .get("pattern")
        .and_then(|pattern| parse_pattern(pattern, &child(location, "pattern"), problems));
    let allowed = members
        .get("enum")
        .and_then(|allowed| parse_enum(allowed, &child(location, "enum"), problems));
    if members.contains_key("pattern") && members.contains_key("enum") {
        let reason = format!("{location} may define 'pattern' or 'enum', but not both.");
        problems.syntax(location, "not", reason, None);
    }
    StringRule { pattern, allowed }
}

/// AWS patterns are ECMA-262 regular expressions; the `regex` crate understands the common
/// subset (not look-around or back-references), and a pattern it cannot compile is reported
/// rather than silently never matching.
fn parse_pattern(pattern: &Value, location: &str, problems: &mut Problems) -> Option<Regex> {
    if !check_string_max(pattern, location, MAX_STRING_CHARS, problems) {
        return None;
    }
    let source = pattern.as_str()?;
    match Regex::new(source) {
        Ok(regex) => Some(regex),
        Err(error) => {
            let reason = format!("{location} is not a valid regular expression: {error}");
            problems.syntax(location, "format", reason, Some(pattern));
            None
        }
    }
}

fn parse_enum(allowed: &Value, location: &str, problems: &mut Problems) -> Option<Vec<Value>> {
    let items = problems.array(allowed, location)?;
    problems.limit(location, "maxItems", items.len(), MAX_ENUM_ITEMS, || {
        format!("{location} has {} items", items.len())
    });
    for (position, item) in items.iter().enumerate() {
        let item_location = index(location, position);
        if item.is_string() {
            check_string_max(item, &item_location, MAX_STRING_CHARS, problems);
        } else if as_integer(item).is_none() {
            problems.wrong_type(&item_location, "a string or an integer", item);
        }
    }
    Some(items.to_vec())
}

fn parse_number_rule(
    members: &Map<String, Value>,
    location: &str,
    problems: &mut Problems,
) -> NumberRule {
    let mut bound = |name: &str| {
        let value = members.get(name)?;
        let integer = as_integer(value);
        if integer.is_none() {
            problems.wrong_type(&child(location, name), "an integer", value);
        }
        integer
    };
    NumberRule {
        minimum: bound("minimum"),
        maximum: bound("maximum"),
    }
}

// ---------------------------------------------------------------------------------------------
// Checking a value against its constraint
// ---------------------------------------------------------------------------------------------

/// Semantic check of a well-shaped value against its declared constraint.
pub(super) fn check_rule(rule: &Rule, value: &Value, location: &str, problems: &mut Problems) {
    match rule {
        Rule::String(string_rule) => match value.as_str() {
            Some(text) => check_string_rule(string_rule, text, value, location, problems),
            None => report_kind_mismatch(ValueKind::String, value, location, problems),
        },
        Rule::Number(number_rule) => match value.as_f64() {
            Some(number) => check_number_rule(number_rule, number, value, location, problems),
            None => report_kind_mismatch(ValueKind::Number, value, location, problems),
        },
        Rule::Boolean => {
            if !value.is_boolean() {
                report_kind_mismatch(ValueKind::Boolean, value, location, problems);
            }
        }
        Rule::Array(elements) => match (value.as_array(), elements) {
            (None, _) => report_kind_mismatch(ValueKind::Array, value, location, problems),
            (Some(items), Some(element_rule)) => {
                for (position, item) in items.iter().enumerate() {
                    check_rule(element_rule, item, &index(location, position), problems);
                }
            }
            (Some(_), None) => {}
        },
    }
}

fn report_kind_mismatch(
    expected: ValueKind,
    value: &Value,
    location: &str,
    problems: &mut Problems,
) {
    let reason = format!(
        "{location} must be a {} as its constraints declare, but it is {}.",
        expected.name(),
        json_type_name(value)
    );
    problems.semantic(location, "type", reason, value);
}

fn check_string_rule(
    rule: &StringRule,
    text: &str,
    value: &Value,
    location: &str,
    problems: &mut Problems,
) {
    if let Some(allowed) = &rule.allowed {
        if !allowed.iter().any(|item| enum_item_matches(item, text)) {
            let listed: Vec<String> = allowed.iter().map(Value::to_string).collect();
            let reason = format!("{location} must be one of [{}].", listed.join(", "));
            problems.semantic(location, "enum", reason, value);
        }
    }
    if let Some(pattern) = &rule.pattern {
        if !pattern.is_match(text) {
            let reason = format!(
                "{location} does not match the pattern {}.",
                pattern.as_str()
            );
            problems.semantic(location, "pattern", reason, value);
        }
    }
}

/// Enum items may be integers although the value is a string; `"5"` matches `5`.
fn enum_item_matches(item: &Value, text: &str) -> bool {
    match item {
        Value::String(allowed) => allowed == text,
        Value::Number(allowed) => allowed.to_string() == text,
        _ => false,
    }
}

fn check_number_rule(
    rule: &NumberRule,
    number: f64,
    value: &Value,
    location: &str,
    problems: &mut Problems,
) {
    if let Some(minimum) = rule.minimum {
        if number < minimum {
            let reason = format!("{location} must be at least {minimum}.");
            problems.semantic(location, "minimum", reason, value);
        }
    }
    if let Some(maximum) = rule.maximum {
        if number > maximum {
            let reason = format!("{location} must be at most {maximum}.");
            problems.semantic(location, "maximum", reason, value);
        }
    }
}
