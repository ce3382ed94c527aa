//! The document's structure: parsing, the top level (`version`, `flags`, `values`), and the flag
//! definitions with their attribute definitions. What the definitions declare is collected as
//! [`Definitions`], against which [`super::values`] checks the `values` section.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::constraints::{parse_constraint, Constraint, ValueKind};
use super::problems::{child, located, Problems};
use super::scalars::{check_date, check_key, check_name, check_string_max, check_timestamp};
use super::values::check_values;
use super::{
    ENABLED, MAX_ATTRIBUTES, MAX_FLAGS, MAX_STRING_CHARS, SUPPORTED_VERSION, TIMESTAMP_MEMBERS,
    TOP_LEVEL_MEMBERS,
};

/// What validation learned about the flags, keyed by flag key; used to check `values`.
pub(super) type Definitions = BTreeMap<String, FlagShape>;

/// The attributes one flag declares, with their constraints where those are usable.
pub(super) type DeclaredAttributes = BTreeMap<String, Option<Constraint>>;

/// The declared attributes of one flag, or `Unknown` when its definition was too broken to say
/// (then its values get no attribute checks, to avoid piling follow-up errors onto one mistake).
pub(super) enum FlagShape {
    Known(DeclaredAttributes),
    Unknown,
}

pub(super) fn parse_document(content: &[u8], problems: &mut Problems) -> Option<Value> {
    let parsed = std::str::from_utf8(content)
        .map_err(|e| format!("The feature flag document is not valid UTF-8: {e}."))
        .and_then(|text| {
            serde_json::from_str::<Value>(text)
                .map_err(|e| format!("The feature flag document is not valid JSON: {e}."))
        });
    match parsed {
        Ok(document) => Some(document),
        Err(reason) => {
            problems.syntax("$", "format", reason, None);
            None
        }
    }
}

pub(super) fn check_document(document: &Value, problems: &mut Problems) {
    let Some(root) = problems.object(document, "$") else {
        return;
    };
    for (key, value) in root {
        if !TOP_LEVEL_MEMBERS.contains(&key.as_str()) {
            problems.unknown_member(key, &child("$", key), "the document", value);
        }
    }
    match root.get("version") {
        None => problems.missing_member("version", "$", "The document"),
        Some(version) => check_version(version, problems),
    }
    // Without `flags` no flag is defined, so every `values` entry will be reported.
    let definitions = match root.get("flags") {
        None => Some(BTreeMap::new()),
        Some(flags) => check_flags(flags, problems),
    };
    if let Some(values) = root.get("values") {
        check_values(values, definitions.as_ref(), problems);
    }
}

fn check_version(version: &Value, problems: &mut Problems) {
    let location = "$.version";
    match version.as_str() {
        None => problems.wrong_type(location, "the string \"1\"", version),
        Some(SUPPORTED_VERSION) => {}
        Some(_) => {
            let reason = format!("{location} must be \"{SUPPORTED_VERSION}\".");
            problems.syntax(location, "const", reason, Some(version));
        }
    }
}

/// Returns `None` when `flags` is not an object at all, so that `values` are not all reported
/// as undefined.
fn check_flags(flags: &Value, problems: &mut Problems) -> Option<Definitions> {
    let location = "$.flags";
    let flags = problems.object(flags, location)?;
    problems.limit(location, "maxProperties", flags.len(), MAX_FLAGS, || {
        format!("The document defines {} flags", flags.len())
    });
    Some(check_each(flags, location, problems, check_flag_definition))
}

/// Runs `check` on every member of `members` (with its key, value and location) and keeps
/// what it made of each, by key.
fn check_each<T>(
    members: &Map<String, Value>,
    location: &str,
    problems: &mut Problems,
    check: fn(&str, &Value, &str, &mut Problems) -> T,
) -> BTreeMap<String, T> {
    located(members, location)
        .map(|(key, value, member_location)| {
            let checked = check(key, value, &member_location, problems);
            (key.to_owned(), checked)
        })
        .collect()
}

/// One flag: its key and its definition (`name`, `description`, timestamps, `_deprecation`,
/// `attributes`).
fn check_flag_definition(
    key: &str,
    definition: &Value,
    location: &str,
    problems: &mut Problems,
) -> FlagShape {
    check_key(key, location, "flag", problems);
    let Some(members) = problems.object(definition, location) else {
        return FlagShape::Unknown;
    };
    let owner = format!("flag '{key}'");
    let mut shape = FlagShape::Known(BTreeMap::new());
    for (member, value, member_location) in located(members, location) {
        match member {
            "name" => check_name(value, &member_location, problems),
            "description" => check_description(value, &member_location, problems),
            timestamp if TIMESTAMP_MEMBERS.contains(&timestamp) => {
                check_timestamp(value, &member_location, problems);
            }
            "_deprecation" => check_deprecation(value, &member_location, problems),
            "attributes" => {
                shape = check_attribute_definitions(value, &member_location, problems)
                    .map_or(FlagShape::Unknown, FlagShape::Known);
            }
            _ => problems.unknown_member(member, &member_location, &owner, value),
        }
    }
    if !members.contains_key("name") {
        problems.missing_member("name", location, &format!("Flag '{key}'"));
    }
    shape
}

fn check_description(value: &Value, location: &str, problems: &mut Problems) {
    check_string_max(value, location, MAX_STRING_CHARS, problems);
}

/// `_deprecation`: `{"status": "planned", "date": "<full-date>"}`, both optional per schema.
fn check_deprecation(value: &Value, location: &str, problems: &mut Problems) {
    let Some(members) = problems.object(value, location) else {
        return;
    };
    for (member, member_value, member_location) in located(members, location) {
        match member {
            "status" => {
                if member_value.as_str() != Some("planned") {
                    let reason = format!("{member_location} must be \"planned\".");
                    problems.syntax(&member_location, "enum", reason, Some(member_value));
                }
            }
            "date" => check_date(member_value, &member_location, problems),
            _ => problems.unknown_member(member, &member_location, "_deprecation", member_value),
        }
    }
}

/// Returns the declared attributes (with their usable constraints), or `None` if `attributes`
/// is not an object.
fn check_attribute_definitions(
    attributes: &Value,
    location: &str,
    problems: &mut Problems,
) -> Option<DeclaredAttributes> {
    let attributes = problems.object(attributes, location)?;
    check_attribute_count(attributes, location, problems);
    Some(check_each(
        attributes,
        location,
        problems,
        check_attribute_definition,
    ))
}

/// A flag declares, and a variant sets, at most [`MAX_ATTRIBUTES`] attributes.
pub(super) fn check_attribute_count(
    attributes: &Map<String, Value>,
    location: &str,
    problems: &mut Problems,
) {
    problems.limit(
        location,
        "maxProperties",
        attributes.len(),
        MAX_ATTRIBUTES,
        || format!("{location} has {} attributes", attributes.len()),
    );
}

/// `enabled` matches the key pattern but would collide with the flag state in the retrieval form.
fn check_attribute_key(key: &str, location: &str, problems: &mut Problems) {
    if key == ENABLED {
        let reason = "The attribute key 'enabled' is reserved for the flag state.".to_owned();
        problems.syntax(location, "pattern", reason, Some(&Value::from(key)));
    } else {
        check_key(key, location, "attribute", problems);
    }
}

/// One attribute: its key and its definition (`description`, `constraints`).
fn check_attribute_definition(
    key: &str,
    definition: &Value,
    location: &str,
    problems: &mut Problems,
) -> Option<Constraint> {
    check_attribute_key(key, location, problems);
    let members = problems.object(definition, location)?;
    let mut constraint = None;
    for (member, value, member_location) in located(members, location) {
        match member {
            "description" => check_description(value, &member_location, problems),
            "constraints" => {
                constraint = parse_constraint(value, &member_location, &ValueKind::ALL, problems);
            }
            _ => {
                problems.unknown_member(member, &member_location, "an attribute definition", value)
            }
        }
    }
    constraint
}
