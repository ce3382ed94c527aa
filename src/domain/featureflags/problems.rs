//! Problem collection: every problem becomes an `InvalidConfigurationDetail` (the `Details` of
//! BadRequestException) with its kind, the schema keyword it breaks, a reason, the offending
//! value (shortened) and its location as a JSON path (`$.flags.a`, `$.values["b c"][0]`).
//! Also the shape checks every part of the document uses: wrong JSON type, unknown member,
//! missing member.

use serde_json::{Map, Value};

use super::MAX_RENDERED_VALUE_CHARS;
use crate::domain::error::InvalidConfigurationDetail;

/// `Syntax`: the document does not have the schema's shape. `Semantic`: the shape is fine but a
/// value contradicts what the document itself declares (constraints, flag definitions).
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Syntax,
    Semantic,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Syntax => "Syntax",
            Kind::Semantic => "Semantic",
        }
    }
}

#[derive(Default)]
pub(super) struct Problems(Vec<InvalidConfigurationDetail>);

impl Problems {
    pub(super) fn push(
        &mut self,
        kind: Kind,
        location: &str,
        constraint: &str,
        reason: String,
        value: Option<&Value>,
    ) {
        self.0.push(InvalidConfigurationDetail {
            constraint: Some(constraint.to_owned()),
            location: Some(location.to_owned()),
            reason: Some(reason),
            r#type: Some(kind.as_str().to_owned()),
            value: value.map(render_value),
        });
    }

    pub(super) fn syntax(
        &mut self,
        location: &str,
        constraint: &str,
        reason: String,
        value: Option<&Value>,
    ) {
        self.push(Kind::Syntax, location, constraint, reason, value);
    }

    pub(super) fn semantic(
        &mut self,
        location: &str,
        constraint: &str,
        reason: String,
        value: &Value,
    ) {
        self.push(Kind::Semantic, location, constraint, reason, Some(value));
    }

    /// Shorthand for the most common shape problem: a member of the wrong JSON type.
    pub(super) fn wrong_type(&mut self, location: &str, expected: &str, value: &Value) {
        let reason = format!(
            "{location} must be {expected}, but it is {}.",
            json_type_name(value)
        );
        self.syntax(location, "type", reason, Some(value));
    }

    /// `value` as an object; anything else is reported as the wrong type.
    pub(super) fn object<'a>(
        &mut self,
        value: &'a Value,
        location: &str,
    ) -> Option<&'a Map<String, Value>> {
        let object = value.as_object();
        if object.is_none() {
            self.wrong_type(location, "an object", value);
        }
        object
    }

    /// `value` as an array; anything else is reported as the wrong type.
    pub(super) fn array<'a>(&mut self, value: &'a Value, location: &str) -> Option<&'a [Value]> {
        let array = value.as_array();
        if array.is_none() {
            self.wrong_type(location, "an array", value);
        }
        array.map(Vec::as_slice)
    }

    /// `value` as a string; anything else is reported as the wrong type.
    pub(super) fn string<'a>(&mut self, value: &'a Value, location: &str) -> Option<&'a str> {
        let text = value.as_str();
        if text.is_none() {
            self.wrong_type(location, "a string", value);
        }
        text
    }

    /// Reports `value` as the wrong type unless it is a boolean.
    pub(super) fn boolean(&mut self, value: &Value, location: &str) {
        if !value.is_boolean() {
            self.wrong_type(location, "a boolean", value);
        }
    }

    /// Member `key` (at `location`) is not allowed in `owner` (`additionalProperties: false`).
    pub(super) fn unknown_member(&mut self, key: &str, location: &str, owner: &str, value: &Value) {
        let reason = format!("'{key}' is not an allowed member of {owner}.");
        self.syntax(location, "additionalProperties", reason, Some(value));
    }

    /// `owner` (at `parent`) lacks the required member `key`.
    pub(super) fn missing_member(&mut self, key: &str, parent: &str, owner: &str) {
        let reason = format!("{owner} is missing the required member '{key}'.");
        self.syntax(&child(parent, key), "required", reason, None);
    }

    /// Reports a collection of `count` things when more than `max` are allowed (`constraint`
    /// is `maxProperties` or `maxItems`); `counted` says what there are ("$.x has 26 items").
    pub(super) fn limit(
        &mut self,
        location: &str,
        constraint: &str,
        count: usize,
        max: usize,
        counted: impl FnOnce() -> String,
    ) {
        if count > max {
            let reason = format!("{}; at most {max} are allowed.", counted());
            self.syntax(location, constraint, reason, None);
        }
    }

    pub(super) fn len(&self) -> usize {
        self.0.len()
    }

    pub(super) fn into_result(self) -> Result<(), Vec<InvalidConfigurationDetail>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

fn render_value(value: &Value) -> String {
    let rendered = value.to_string();
    if rendered.chars().count() <= MAX_RENDERED_VALUE_CHARS {
        rendered
    } else {
        rendered.chars().take(MAX_RENDERED_VALUE_CHARS).collect()
    }
}

pub(super) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// JSON path of `parent`'s member `key`: dot notation for ordinary keys, bracket notation (with
/// a JSON-quoted key) for anything that would make the dotted path ambiguous.
pub(super) fn child(parent: &str, key: &str) -> String {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("{parent}.{key}")
    } else {
        format!("{parent}[{}]", Value::from(key))
    }
}

/// The members of an object, each with its location.
pub(super) fn located<'a>(
    members: &'a Map<String, Value>,
    parent: &'a str,
) -> impl Iterator<Item = (&'a str, &'a Value, String)> + 'a {
    members
        .iter()
        .map(move |(key, value)| (key.as_str(), value, child(parent, key)))
}

pub(super) fn index(parent: &str, position: usize) -> String {
    format!("{parent}[{position}]")
}
