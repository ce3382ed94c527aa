//! The `values` section: one value object per defined flag (`enabled`, timestamps, attribute
//! values) and its multi-variant `_variants`, checked for shape and against what the flag's
//! definition declares ([`Definitions`]).

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::constraints::check_rule;
use super::document::{check_attribute_count, DeclaredAttributes, Definitions, FlagShape};
use super::problems::{child, index, located, Kind, Problems};
use super::rules;
use super::scalars::{check_key, check_name, check_string_max, check_timestamp};
use super::{
    ENABLED, MAX_RULE_CHARS, MAX_STRING_CHARS, MAX_VARIANTS, TIMESTAMP_MEMBERS, VARIANTS_MEMBER,
};

/// The flag whose value is being checked: its key, and its declared attributes when its
/// definition was usable (otherwise attribute values get only their shape checked).
#[derive(Clone, Copy)]
struct Flag<'a> {
    key: &'a str,
    attributes: Option<&'a DeclaredAttributes>,
}

/// `definitions` is `None` when `flags` was unusable; then cross-references are not checked.
pub(super) fn check_values(
    values: &Value,
    definitions: Option<&Definitions>,
    problems: &mut Problems,
) {
    let location = "$.values";
    let Some(values) = problems.object(values, location) else {
        return;
    };
    for (key, value, value_location) in located(values, location) {
        check_key(key, &value_location, "flag", problems);
        let attributes = match definitions.map(|definitions| definitions.get(key)) {
            Some(Some(FlagShape::Known(attributes))) => Some(attributes),
            Some(Some(FlagShape::Unknown)) | None => None,
            Some(None) => {
                let reason = format!("Flag '{key}' has a value but is not defined in $.flags.");
                problems.semantic(&value_location, "additionalProperties", reason, value);
                None
            }
        };
        let flag = Flag { key, attributes };
        check_flag_value(flag, value, &value_location, problems);
    }
}

fn check_flag_value(flag: Flag<'_>, value: &Value, location: &str, problems: &mut Problems) {
    let Some(members) = problems.object(value, location) else {
        return;
    };
    for (member, member_value, member_location) in located(members, location) {
        match member {
            ENABLED => problems.boolean(member_value, &member_location),
            timestamp if TIMESTAMP_MEMBERS.contains(&timestamp) => {
                check_timestamp(member_value, &member_location, problems);
            }
            VARIANTS_MEMBER => check_variants(flag, member_value, &member_location, problems),
            _ => check_attribute_value(flag, member, member_value, location, problems),
        }
    }
    match members.get(ENABLED) {
        // A multi-variant flag's variants carry `enabled` (AWS's own example omits it here).
        None if members.contains_key(VARIANTS_MEMBER) => {}
        None => {
            let owner = format!("The value of flag '{}'", flag.key);
            problems.missing_member(ENABLED, location, &owner);
        }
        Some(Value::Bool(true)) => check_required_attributes(flag, members, location, problems),
        Some(_) => {}
    }
}

/// `required: true` means "must have a value while the flag is on"; a disabled flag is
/// delivered without attributes, so it needs none.
fn check_required_attributes(
    flag: Flag<'_>,
    members: &Map<String, Value>,
    location: &str,
    problems: &mut Problems,
) {
    let Some(attributes) = flag.attributes else {
        return;
    };
    let key = flag.key;
    for (name, constraint) in attributes {
        let required = constraint.as_ref().is_some_and(|c| c.required);
        if required && !members.contains_key(name) {
            let reason =
                format!("Attribute '{name}' of flag '{key}' is required when the flag is enabled.");
            problems.push(
                Kind::Semantic,
                &child(location, name),
                "required",
                reason,
                None,
            );
        }
    }
}

/// One attribute member of a value object (or of a variant's `attributeValues`).
fn check_attribute_value(
    flag: Flag<'_>,
    name: &str,
    value: &Value,
    parent: &str,
    problems: &mut Problems,
) {
    let location = child(parent, name);
    if !check_key(name, &location, "attribute", problems)
        || !check_value_shape(value, &location, problems)
    {
        return;
    }
    let Some(attributes) = flag.attributes else {
        return;
    };
    match attributes.get(name) {
        None => {
            let reason = format!(
                "Flag '{}' does not declare an attribute '{name}'.",
                flag.key
            );
            problems.semantic(&location, "additionalProperties", reason, value);
        }
        Some(Some(constraint)) => check_rule(&constraint.rule, value, &location, problems),
        Some(None) => {}
    }
}

/// The schema's `attributeValue`: a string (≤ 1024 chars), number, boolean, or an array of only
/// strings or only numbers. Returns true if `value` has that shape.
fn check_value_shape(value: &Value, location: &str, problems: &mut Problems) -> bool {
    match value {
        Value::String(_) => check_string_max(value, location, MAX_STRING_CHARS, problems),
        Value::Number(_) | Value::Bool(_) => true,
        Value::Array(items) => check_array_shape(items, location, problems),
        Value::Null | Value::Object(_) => {
            problems.wrong_type(location, "a string, number, boolean or array", value);
            false
        }
    }
}

fn check_array_shape(items: &[Value], location: &str, problems: &mut Problems) -> bool {
    // The first element decides whether this is an array of strings or of numbers.
    let strings = items.first().is_none_or(Value::is_string);
    let mut ok = true;
    for (position, item) in items.iter().enumerate() {
        let item_location = index(location, position);
        ok &= if strings {
            check_string_max(item, &item_location, MAX_STRING_CHARS, problems)
        } else if item.is_number() {
            true
        } else {
            problems.wrong_type(&item_location, "a number like the first element", item);
            false
        };
    }
    ok
}

// ---------------------------------------------------------------------------------------------
// Multi-variant flags
// ---------------------------------------------------------------------------------------------

/// `_variants` as the current schema describes it: an array of `{name, enabled, rule?,
/// attributeValues?}`, at most 32, uniquely named, every one but the last (the default) with a
/// rule that parses (see [`rules`]).
fn check_variants(flag: Flag<'_>, variants: &Value, location: &str, problems: &mut Problems) {
    let Some(variants) = problems.array(variants, location) else {
        return;
    };
    problems.limit(location, "maxItems", variants.len(), MAX_VARIANTS, || {
        format!("Flag '{}' has {} variants", flag.key, variants.len())
    });
    if variants.is_empty() {
        let reason = format!(
            "Flag '{}' has no variants; _variants needs at least the default variant.",
            flag.key
        );
        problems.syntax(location, "minItems", reason, None);
    }
    let mut names = HashSet::new();
    for (position, variant) in variants.iter().enumerate() {
        let variant_location = index(location, position);
        check_variant(flag, variant, &variant_location, problems);
        let Some(members) = variant.as_object() else {
            continue;
        };
        if let Some(name) = members.get("name").and_then(Value::as_str) {
            if !names.insert(name) {
                let reason = format!(
                    "Flag '{}' has two variants named '{name}'; variant names must be unique.",
                    flag.key
                );
                let name_location = child(&variant_location, "name");
                problems.push(
                    Kind::Semantic,
                    &name_location,
                    "uniqueVariantNames",
                    reason,
                    members.get("name"),
                );
            }
        }
        let is_default = position + 1 == variants.len();
        check_variant_rule(flag, members, is_default, &variant_location, problems);
    }
}

/// The last variant is the default: no rule (`""` counts as none). Every other variant has a
/// rule, and it must parse.
fn check_variant_rule(
    flag: Flag<'_>,
    members: &Map<String, Value>,
    is_default: bool,
    location: &str,
    problems: &mut Problems,
) {
    let rule_location = child(location, "rule");
    let rule = members.get("rule");
    let text = rule.and_then(Value::as_str);
    let named = members.get("name").and_then(Value::as_str).unwrap_or("?");
    let misplaced = match (is_default, text) {
        (true, None | Some("")) => None,
        (true, Some(_)) => Some(
            "is the last, so it is the default variant, which must not have a rule; \
             add a variant without a rule after it",
        ),
        (false, None | Some("")) if rule.is_none_or(Value::is_string) => {
            Some("has no rule; only the default variant, which must be last, has none")
        }
        _ => None,
    };
    if let Some(problem) = misplaced {
        let reason = format!("Variant '{named}' of flag '{}' {problem}.", flag.key);
        problems.push(
            Kind::Semantic,
            &rule_location,
            "defaultVariant",
            reason,
            rule,
        );
        return;
    }
    // Not a string, or too long: reported by the shape checks.
    let Some(text) = text.filter(|t| !is_default && t.chars().count() <= MAX_RULE_CHARS) else {
        return;
    };
    if let Err(reason) = rules::parse(text) {
        let reason = format!("Invalid rule of variant '{named}': {reason}");
        problems.push(Kind::Syntax, &rule_location, "rule", reason, rule);
    }
}

fn check_variant(flag: Flag<'_>, variant: &Value, location: &str, problems: &mut Problems) {
    let Some(members) = problems.object(variant, location) else {
        return;
    };
    for (member, value, member_location) in located(members, location) {
        match member {
            "name" => check_name(value, &member_location, problems),
            ENABLED => problems.boolean(value, &member_location),
            "rule" => {
                check_string_max(value, &member_location, MAX_RULE_CHARS, problems);
            }
            "attributeValues" => check_variant_attributes(flag, value, &member_location, problems),
            _ => problems.unknown_member(member, &member_location, "a variant", value),
        }
    }
    for required in ["name", ENABLED] {
        if !members.contains_key(required) {
            problems.missing_member(required, location, "A variant");
        }
    }
}

fn check_variant_attributes(
    flag: Flag<'_>,
    values: &Value,
    location: &str,
    problems: &mut Problems,
) {
    let Some(values) = problems.object(values, location) else {
        return;
    };
    check_attribute_count(values, location, problems);
    for (name, value) in values {
        check_attribute_value(flag, name, value, location, problems);
    }
}
