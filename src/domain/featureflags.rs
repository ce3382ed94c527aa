//! Feature-flag documents (configuration profile type `AWS.AppConfig.FeatureFlags`).
//!
//! A feature-flag profile has two forms:
//!
//! * the **stored form**, which users upload with CreateHostedConfigurationVersion and get back
//!   unchanged from GetHostedConfigurationVersion:
//!   `{"version": "1", "flags": {<key>: <definition>}, "values": {<key>: {"enabled": …, <attr>: …}}}`.
//!   Definitions carry names, descriptions and attribute constraints; values carry the state.
//! * the **retrieval form**, which the data plane (GetLatestConfiguration, the agent) serves:
//!   just the values, lifted to the top level, without definitions or internal `_…` keys:
//!   `{<key>: {"enabled": false}}` or `{<key>: {"enabled": true, <attr>: <value>, …}}`.
//!
//! [`validate`] checks the stored form the way AWS does: against the published JSON schema (the
//! newer revision, which allows `_` in flag keys and only requires `version`), and then every
//! attribute value against the constraints declared for it. [`to_retrieval_form`] derives the
//! retrieval form from a document that passed validation.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

use crate::domain::error::InvalidConfigurationDetail;

/// AWS's 2023 schema caps a document at 100 flags (the newer excerpt is silent; we keep the cap).
const MAX_FLAGS: usize = 100;
const MAX_ATTRIBUTES: usize = 25;
const MAX_ENUM_ITEMS: usize = 100;
/// Limit for descriptions, string attribute values and constraint patterns / enum strings.
const MAX_STRING_CHARS: usize = 1024;
const MAX_NAME_CHARS: usize = 64;
const MAX_RULE_CHARS: usize = 16384;
/// Offending values are echoed back to the caller; keep that echo short.
const MAX_RENDERED_VALUE_CHARS: usize = 200;

const TOP_LEVEL_MEMBERS: [&str; 3] = ["version", "flags", "values"];
const SUPPORTED_VERSION: &str = "1";
const TIMESTAMP_MEMBERS: [&str; 2] = ["_createdAt", "_updatedAt"];
const VARIANTS_MEMBER: &str = "_variants";
const ENABLED: &str = "enabled";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// Validates a stored-form feature-flag document (the bytes a user uploads with
/// CreateHostedConfigurationVersion). Returns every problem found (not just the first).
pub fn validate(content: &[u8]) -> Result<(), Vec<InvalidConfigurationDetail>> {
    let mut problems = Problems::default();
    if let Some(document) = parse_document(content, &mut problems) {
        check_document(&document, &mut problems);
    }
    problems.into_result()
}

/// Turns a valid stored-form document into the retrieval form served by the data plane:
/// `{ "<flagKey>": {"enabled": false} }` for disabled flags or flags without a values entry,
/// `{ "<flagKey>": {"enabled": true, "<attr>": value, ...} }` for enabled ones; internal keys
/// like `_createdAt`/`_updatedAt` removed. Returns None if the document is not valid JSON of that shape.
pub fn to_retrieval_form(content: &[u8]) -> Option<Value> {
    let document: Value = serde_json::from_slice(content).ok()?;
    let root = document.as_object()?;
    let no_members = Map::new();
    let flags = object_member(root, "flags", &no_members)?;
    let values = object_member(root, "values", &no_members)?;

    let mut delivered = Map::new();
    // Only defined flags are delivered; validation guarantees every value has a definition.
    for key in flags.keys() {
        let flag = match values.get(key) {
            None => disabled_flag(),
            Some(value) => delivered_flag(value.as_object()?),
        };
        delivered.insert(key.clone(), flag);
    }
    Some(Value::Object(delivered))
}

// ---------------------------------------------------------------------------------------------
// Retrieval form
// ---------------------------------------------------------------------------------------------

/// `obj[key]` as an object; an absent member counts as empty, any other type as malformed.
fn object_member<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    empty: &'a Map<String, Value>,
) -> Option<&'a Map<String, Value>> {
    match obj.get(key) {
        None => Some(empty),
        Some(value) => value.as_object(),
    }
}

fn disabled_flag() -> Value {
    serde_json::json!({ "enabled": false })
}

/// A disabled flag is delivered without its attributes; an enabled one with all of them but
/// without internal `_…` members (timestamps, variants), which are not part of the output schema.
fn delivered_flag(value: &Map<String, Value>) -> Value {
    if value.get(ENABLED) != Some(&Value::Bool(true)) {
        return disabled_flag();
    }
    let mut delivered = Map::new();
    delivered.insert(ENABLED.to_owned(), Value::Bool(true));
    for (key, attribute) in value {
        if key != ENABLED && !key.starts_with('_') {
            delivered.insert(key.clone(), attribute.clone());
        }
    }
    Value::Object(delivered)
}

// ---------------------------------------------------------------------------------------------
// Problem collection
// ---------------------------------------------------------------------------------------------

/// `Syntax`: the document does not have the schema's shape. `Semantic`: the shape is fine but a
/// value contradicts what the document itself declares (constraints, flag definitions).
#[derive(Clone, Copy)]
enum Kind {
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
struct Problems(Vec<InvalidConfigurationDetail>);

impl Problems {
    fn push(
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

    fn syntax(&mut self, location: &str, constraint: &str, reason: String, value: Option<&Value>) {
        self.push(Kind::Syntax, location, constraint, reason, value);
    }

    fn semantic(&mut self, location: &str, constraint: &str, reason: String, value: &Value) {
        self.push(Kind::Semantic, location, constraint, reason, Some(value));
    }

    /// Shorthand for the most common shape problem: a member of the wrong JSON type.
    fn wrong_type(&mut self, location: &str, expected: &str, value: &Value) {
        let reason = format!(
            "{location} must be {expected}, but it is {}.",
            json_type_name(value)
        );
        self.syntax(location, "type", reason, Some(value));
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn into_result(self) -> Result<(), Vec<InvalidConfigurationDetail>> {
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

fn json_type_name(value: &Value) -> &'static str {
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
fn child(parent: &str, key: &str) -> String {
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

fn index(parent: &str, position: usize) -> String {
    format!("{parent}[{position}]")
}

// ---------------------------------------------------------------------------------------------
// Scalar rules shared by several places
// ---------------------------------------------------------------------------------------------

/// Flag, attribute and value keys: `^[a-z][a-zA-Z\d_-]{0,63}$` (the schema's `\d` is ASCII).
fn is_valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    first_ok
        && key.len() <= MAX_NAME_CHARS
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

const KEY_PATTERN: &str = r"^[a-z][a-zA-Z\d_-]{0,63}$";

fn check_key(key: &str, location: &str, what: &str, problems: &mut Problems) -> bool {
    if is_valid_key(key) {
        return true;
    }
    let reason = format!("The {what} key '{key}' does not match the pattern {KEY_PATTERN}.");
    problems.syntax(location, "pattern", reason, Some(&Value::from(key)));
    false
}

/// Checks that `value` is a string of at most `max_chars` characters; true if it is.
fn check_string_max(
    value: &Value,
    location: &str,
    max_chars: usize,
    problems: &mut Problems,
) -> bool {
    let Some(text) = value.as_str() else {
        problems.wrong_type(location, "a string", value);
        return false;
    };
    if text.chars().count() > max_chars {
        let reason = format!("{location} must be at most {max_chars} characters long.");
        problems.syntax(location, "maxLength", reason, Some(value));
        return false;
    }
    true
}

/// `customerDefinedName`: `^[^\n]{1,64}$`.
fn check_name(value: &Value, location: &str, problems: &mut Problems) {
    let Some(name) = value.as_str() else {
        problems.wrong_type(location, "a string", value);
        return;
    };
    let length = name.chars().count();
    if length == 0 || length > MAX_NAME_CHARS || name.contains('\n') {
        let reason = format!(
            "{location} must be 1 to {MAX_NAME_CHARS} characters long and contain no line breaks."
        );
        problems.syntax(location, "pattern", reason, Some(value));
    }
}

fn check_timestamp(value: &Value, location: &str, problems: &mut Problems) {
    if !value.is_string() {
        problems.wrong_type(location, "a string", value);
    }
}

/// Schema integers: JSON numbers without a fractional part (so `5.0` counts, as in draft-07).
fn as_integer(value: &Value) -> Option<f64> {
    let number = value.as_f64()?;
    (number.fract() == 0.0).then_some(number)
}

fn report_unknown_member(
    key: &str,
    location: &str,
    owner: &str,
    value: &Value,
    problems: &mut Problems,
) {
    let reason = format!("'{key}' is not an allowed member of {owner}.");
    problems.syntax(location, "additionalProperties", reason, Some(value));
}

fn report_missing_member(key: &str, parent: &str, owner: &str, problems: &mut Problems) {
    let reason = format!("{owner} is missing the required member '{key}'.");
    problems.syntax(&child(parent, key), "required", reason, None);
}

// ---------------------------------------------------------------------------------------------
// Document and flag definitions
// ---------------------------------------------------------------------------------------------

fn parse_document(content: &[u8], problems: &mut Problems) -> Option<Value> {
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

fn check_document(document: &Value, problems: &mut Problems) {
    let Some(root) = document.as_object() else {
        problems.wrong_type("$", "an object", document);
        return;
    };
    for (key, value) in root {
        if !TOP_LEVEL_MEMBERS.contains(&key.as_str()) {
            report_unknown_member(key, &child("$", key), "the document", value, problems);
        }
    }
    match root.get("version") {
        None => report_missing_member("version", "$", "The document", problems),
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

/// What validation learned about the flags, keyed by flag key; used to check `values`.
type Definitions = BTreeMap<String, FlagShape>;

/// The declared attributes of one flag, or `Unknown` when its definition was too broken to say
/// (then its values get no attribute checks, to avoid piling follow-up errors onto one mistake).
enum FlagShape {
    Known(BTreeMap<String, Option<Constraint>>),
    Unknown,
}

/// Returns `None` when `flags` is not an object at all, so that `values` are not all reported
/// as undefined.
fn check_flags(flags: &Value, problems: &mut Problems) -> Option<Definitions> {
    let location = "$.flags";
    let Some(flags) = flags.as_object() else {
        problems.wrong_type(location, "an object", flags);
        return None;
    };
    if flags.len() > MAX_FLAGS {
        let reason = format!(
            "The document defines {} flags; at most {MAX_FLAGS} are allowed.",
            flags.len()
        );
        problems.syntax(location, "maxProperties", reason, None);
    }
    let definitions = flags
        .iter()
        .map(|(key, definition)| {
            let flag_location = child(location, key);
            check_key(key, &flag_location, "flag", problems);
            let shape = check_flag_definition(key, definition, &flag_location, problems);
            (key.clone(), shape)
        })
        .collect();
    Some(definitions)
}

fn check_flag_definition(
    key: &str,
    definition: &Value,
    location: &str,
    problems: &mut Problems,
) -> FlagShape {
    let Some(members) = definition.as_object() else {
        problems.wrong_type(location, "an object", definition);
        return FlagShape::Unknown;
    };
    let owner = format!("flag '{key}'");
    let mut shape = FlagShape::Known(BTreeMap::new());
    for (member, value) in members {
        let member_location = child(location, member);
        match member.as_str() {
            "name" => check_name(value, &member_location, problems),
            "description" => {
                check_string_max(value, &member_location, MAX_STRING_CHARS, problems);
            }
            timestamp if TIMESTAMP_MEMBERS.contains(&timestamp) => {
                check_timestamp(value, &member_location, problems);
            }
            "_deprecation" => check_deprecation(value, &member_location, problems),
            "attributes" => {
                shape = check_attribute_definitions(value, &member_location, problems)
                    .map_or(FlagShape::Unknown, FlagShape::Known);
            }
            _ => report_unknown_member(member, &member_location, &owner, value, problems),
        }
    }
    if !members.contains_key("name") {
        report_missing_member("name", location, &format!("Flag '{key}'"), problems);
    }
    shape
}

/// `_deprecation`: `{"status": "planned", "date": "<full-date>"}`, both optional per schema.
fn check_deprecation(value: &Value, location: &str, problems: &mut Problems) {
    let Some(members) = value.as_object() else {
        problems.wrong_type(location, "an object", value);
        return;
    };
    for (member, member_value) in members {
        let member_location = child(location, member);
        match member.as_str() {
            "status" => {
                if member_value.as_str() != Some("planned") {
                    let reason = format!("{member_location} must be \"planned\".");
                    problems.syntax(&member_location, "enum", reason, Some(member_value));
                }
            }
            "date" => check_date(member_value, &member_location, problems),
            _ => report_unknown_member(
                member,
                &member_location,
                "_deprecation",
                member_value,
                problems,
            ),
        }
    }
}

/// JSON-schema `format: date`, i.e. an RFC 3339 full-date such as `2025-01-31`.
fn check_date(value: &Value, location: &str, problems: &mut Problems) {
    let Some(text) = value.as_str() else {
        problems.wrong_type(location, "a string", value);
        return;
    };
    if !is_full_date(text) {
        let reason = format!("{location} must be a date in the form YYYY-MM-DD.");
        problems.syntax(location, "format", reason, Some(value));
    }
}

fn is_full_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    let digits =
        |part: &str, len: usize| part.len() == len && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year, 4) && digits(month, 2) && digits(day, 2)) {
        return false;
    }
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<u32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days_in_month).contains(&day)
}

/// Returns the declared attributes (with their usable constraints), or `None` if `attributes`
/// is not an object.
fn check_attribute_definitions(
    attributes: &Value,
    location: &str,
    problems: &mut Problems,
) -> Option<BTreeMap<String, Option<Constraint>>> {
    let Some(attributes) = attributes.as_object() else {
        problems.wrong_type(location, "an object", attributes);
        return None;
    };
    if attributes.len() > MAX_ATTRIBUTES {
        let reason = format!(
            "{location} has {} attributes; at most {MAX_ATTRIBUTES} are allowed.",
            attributes.len()
        );
        problems.syntax(location, "maxProperties", reason, None);
    }
    let declared = attributes
        .iter()
        .map(|(key, definition)| {
            let attribute_location = child(location, key);
            check_attribute_key(key, &attribute_location, problems);
            let constraint = check_attribute_definition(definition, &attribute_location, problems);
            (key.clone(), constraint)
        })
        .collect();
    Some(declared)
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

fn check_attribute_definition(
    definition: &Value,
    location: &str,
    problems: &mut Problems,
) -> Option<Constraint> {
    let Some(members) = definition.as_object() else {
        problems.wrong_type(location, "an object", definition);
        return None;
    };
    let mut constraint = None;
    for (member, value) in members {
        let member_location = child(location, member);
        match member.as_str() {
            "description" => {
                check_string_max(value, &member_location, MAX_STRING_CHARS, problems);
            }
            "constraints" => {
                constraint = parse_constraint(value, &member_location, &ValueKind::ALL, problems);
            }
            _ => report_unknown_member(
                member,
                &member_location,
                "an attribute definition",
                value,
                problems,
            ),
        }
    }
    constraint
}

// ---------------------------------------------------------------------------------------------
// Attribute constraints
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    String,
    Number,
    Array,
    Boolean,
}

impl ValueKind {
    const ALL: [ValueKind; 4] = [
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
struct Constraint {
    required: bool,
    rule: Rule,
}

/// What a value must look like; `Array` holds the element rule, if `elements` was given.
enum Rule {
    String(StringRule),
    Number(NumberRule),
    Array(Option<Box<Rule>>),
    Boolean,
}

struct StringRule {
    pattern: Option<Regex>,
    allowed: Option<Vec<Value>>,
}

struct NumberRule {
    minimum: Option<f64>,
    maximum: Option<f64>,
}

/// Checks one constraints object. Returns the constraint only if it had no problem at all, so
/// values are never checked against half-understood constraints.
fn parse_constraint(
    value: &Value,
    location: &str,
    kinds: &[ValueKind],
    problems: &mut Problems,
) -> Option<Constraint> {
    let Some(members) = value.as_object() else {
        problems.wrong_type(location, "an object", value);
        return None;
    };
    let problems_before = problems.len();
    // Which members are allowed depends on `type`, so nothing more can be said without it.
    let kind = parse_constraint_kind(members, location, kinds, problems)?;
    for (member, member_value) in members {
        if !kind.members().contains(&member.as_str()) {
            let owner = format!("{} constraints", kind.name());
            report_unknown_member(
                member,
                &child(location, member),
                &owner,
                member_value,
                problems,
            );
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
        report_missing_member("type", location, "A constraints object", problems);
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
    let Some(items) = allowed.as_array() else {
        problems.wrong_type(location, "an array", allowed);
        return None;
    };
    if items.len() > MAX_ENUM_ITEMS {
        let reason = format!(
            "{location} has {} items; at most {MAX_ENUM_ITEMS} are allowed.",
            items.len()
        );
        problems.syntax(location, "maxItems", reason, None);
    }
    for (position, item) in items.iter().enumerate() {
        let item_location = index(location, position);
        if item.is_string() {
            check_string_max(item, &item_location, MAX_STRING_CHARS, problems);
        } else if as_integer(item).is_none() {
            problems.wrong_type(&item_location, "a string or an integer", item);
        }
    }
    Some(items.clone())
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
// Flag values
// ---------------------------------------------------------------------------------------------

/// `definitions` is `None` when `flags` was unusable; then cross-references are not checked.
fn check_values(values: &Value, definitions: Option<&Definitions>, problems: &mut Problems) {
    let location = "$.values";
    let Some(values) = values.as_object() else {
        problems.wrong_type(location, "an object", values);
        return;
    };
    for (key, value) in values {
        let value_location = child(location, key);
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
        check_flag_value(key, value, &value_location, attributes, problems);
    }
}

type DeclaredAttributes = BTreeMap<String, Option<Constraint>>;

fn check_flag_value(
    key: &str,
    value: &Value,
    location: &str,
    attributes: Option<&DeclaredAttributes>,
    problems: &mut Problems,
) {
    let Some(members) = value.as_object() else {
        problems.wrong_type(location, "an object", value);
        return;
    };
    for (member, member_value) in members {
        let member_location = child(location, member);
        match member.as_str() {
            ENABLED => {
                if !member_value.is_boolean() {
                    problems.wrong_type(&member_location, "a boolean", member_value);
                }
            }
            timestamp if TIMESTAMP_MEMBERS.contains(&timestamp) => {
                check_timestamp(member_value, &member_location, problems);
            }
            VARIANTS_MEMBER => {
                check_variants(key, member_value, &member_location, attributes, problems)
            }
            _ => check_attribute_value(key, member, member_value, location, attributes, problems),
        }
    }
    match members.get(ENABLED) {
        None => report_missing_member(
            ENABLED,
            location,
            &format!("The value of flag '{key}'"),
            problems,
        ),
        Some(Value::Bool(true)) => {
            check_required_attributes(key, members, location, attributes, problems)
        }
        Some(_) => {}
    }
}

/// `required: true` means "must have a value while the flag is on"; a disabled flag is
/// delivered without attributes, so it needs none.
fn check_required_attributes(
    key: &str,
    members: &Map<String, Value>,
    location: &str,
    attributes: Option<&DeclaredAttributes>,
    problems: &mut Problems,
) {
    let Some(attributes) = attributes else {
        return;
    };
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
    flag: &str,
    name: &str,
    value: &Value,
    parent: &str,
    attributes: Option<&DeclaredAttributes>,
    problems: &mut Problems,
) {
    let location = child(parent, name);
    if !check_key(name, &location, "attribute", problems)
        || !check_value_shape(value, &location, problems)
    {
        return;
    }
    let Some(attributes) = attributes else {
        return;
    };
    match attributes.get(name) {
        None => {
            let reason = format!("Flag '{flag}' does not declare an attribute '{name}'.");
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

/// Semantic check of a well-shaped value against its declared constraint.
fn check_rule(rule: &Rule, value: &Value, location: &str, problems: &mut Problems) {
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

// ---------------------------------------------------------------------------------------------
// Multi-variant flags
// ---------------------------------------------------------------------------------------------

/// `_variants` as the current schema describes it: an array of `{name, enabled, rule?,
/// attributeValues?}`. Rule syntax is not checked here; it is evaluated by the agent.
fn check_variants(
    flag: &str,
    variants: &Value,
    location: &str,
    attributes: Option<&DeclaredAttributes>,
    problems: &mut Problems,
) {
    let Some(variants) = variants.as_array() else {
        problems.wrong_type(location, "an array", variants);
        return;
    };
    for (position, variant) in variants.iter().enumerate() {
        check_variant(
            flag,
            variant,
            &index(location, position),
            attributes,
            problems,
        );
    }
}

fn check_variant(
    flag: &str,
    variant: &Value,
    location: &str,
    attributes: Option<&DeclaredAttributes>,
    problems: &mut Problems,
) {
    let Some(members) = variant.as_object() else {
        problems.wrong_type(location, "an object", variant);
        return;
    };
    for (member, value) in members {
        let member_location = child(location, member);
        match member.as_str() {
            "name" => check_name(value, &member_location, problems),
            ENABLED => {
                if !value.is_boolean() {
                    problems.wrong_type(&member_location, "a boolean", value);
                }
            }
            "rule" => {
                check_string_max(value, &member_location, MAX_RULE_CHARS, problems);
            }
            "attributeValues" => {
                check_variant_attributes(flag, value, &member_location, attributes, problems)
            }
            _ => report_unknown_member(member, &member_location, "a variant", value, problems),
        }
    }
    for required in ["name", ENABLED] {
        if !members.contains_key(required) {
            report_missing_member(required, location, "A variant", problems);
        }
    }
}

fn check_variant_attributes(
    flag: &str,
    values: &Value,
    location: &str,
    attributes: Option<&DeclaredAttributes>,
    problems: &mut Problems,
) {
    let Some(values) = values.as_object() else {
        problems.wrong_type(location, "an object", values);
        return;
    };
    if values.len() > MAX_ATTRIBUTES {
        let reason = format!(
            "{location} has {} attributes; at most {MAX_ATTRIBUTES} are allowed.",
            values.len()
        );
        problems.syntax(location, "maxProperties", reason, None);
    }
    for (name, value) in values {
        check_attribute_value(flag, name, value, location, attributes, problems);
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems_of(document: &Value) -> Vec<InvalidConfigurationDetail> {
        validate(document.to_string().as_bytes())
            .err()
            .unwrap_or_default()
    }

    /// (location, constraint, type) of every problem, sorted so that assertions do not depend on
    /// whether serde_json preserves member order.
    fn summary(document: &Value) -> Vec<(String, String, String)> {
        let mut summary: Vec<_> = problems_of(document)
            .into_iter()
            .map(|d| {
                (
                    d.location.unwrap_or_default(),
                    d.constraint.unwrap_or_default(),
                    d.r#type.unwrap_or_default(),
                )
            })
            .collect();
        summary.sort();
        summary
    }

    fn sorted(mut expected: Vec<(String, String, String)>) -> Vec<(String, String, String)> {
        expected.sort();
        expected
    }

    fn entry(location: &str, constraint: &str, kind: &str) -> (String, String, String) {
        (location.to_owned(), constraint.to_owned(), kind.to_owned())
    }

    fn full_document() -> Value {
        json!({
            "version": "1",
            "flags": {
                "ui_refresh": {
                    "name": "UI refresh",
                    "description": "New look",
                    "_createdAt": "2024-01-01T00:00:00Z",
                    "_updatedAt": "2024-01-01T00:00:00Z",
                    "_deprecation": {"status": "planned", "date": "2025-01-01"},
                    "attributes": {
                        "color": {"constraints": {"type": "string", "enum": ["red", "blue", 7], "required": true}},
                        "code": {"description": "digits", "constraints": {"type": "string", "pattern": "^[0-9]+$"}},
                        "limit": {"constraints": {"type": "number", "minimum": 1, "maximum": 10}},
                        "ids": {"constraints": {"type": "array", "elements": {"type": "string", "pattern": "^[0-9]+$"}}},
                        "ratios": {"constraints": {"type": "array", "elements": {"type": "number", "maximum": 1}}},
                        "beta": {"constraints": {"type": "boolean", "required": false}},
                        "free": {}
                    }
                },
                "dark-mode": {"name": "Dark mode"}
            },
            "values": {
                "ui_refresh": {
                    "enabled": true, "color": "red", "code": "42", "limit": 5, "ids": ["1", "22"],
                    "ratios": [0.5, 1], "beta": false, "free": ["x"],
                    "_createdAt": "2024-01-01T00:00:00Z", "_updatedAt": "2024-01-02T00:00:00Z"
                },
                "dark-mode": {"enabled": false}
            }
        })
    }

    #[test]
    fn minimal_document_is_valid() {
        assert_eq!(validate(br#"{"version":"1"}"#), Ok(()));
    }

    #[test]
    fn full_document_with_every_constraint_kind_is_valid() {
        assert_eq!(summary(&full_document()), vec![]);
    }

    #[test]
    fn invalid_json_and_utf8_are_format_errors() {
        for content in [&b"{\"version\":"[..], &b"\xff\xfe"[..], &b""[..]] {
            let problems = validate(content).err().unwrap_or_default();
            assert_eq!(problems.len(), 1);
            assert_eq!(problems[0].location.as_deref(), Some("$"));
            assert_eq!(problems[0].constraint.as_deref(), Some("format"));
            assert_eq!(problems[0].r#type.as_deref(), Some("Syntax"));
        }
    }

    #[test]
    fn top_level_shape_is_enforced() {
        assert_eq!(summary(&json!([1])), vec![entry("$", "type", "Syntax")]);
        assert_eq!(
            summary(&json!({"flags": {}, "extra": 1})),
            sorted(vec![
                entry("$.extra", "additionalProperties", "Syntax"),
                entry("$.version", "required", "Syntax")
            ])
        );
        assert_eq!(
            summary(&json!({"version": "2"})),
            vec![entry("$.version", "const", "Syntax")]
        );
        assert_eq!(
            summary(&json!({"version": 1})),
            vec![entry("$.version", "type", "Syntax")]
        );
    }

    #[test]
    fn flag_keys_follow_the_newer_pattern() {
        let document = json!({"version": "1", "flags": {
            "snake_case-ok": {"name": "a"}, "Upper": {"name": "b"}, "has space": {"name": "c"}
        }});
        assert_eq!(
            summary(&document),
            sorted(vec![
                entry("$.flags[\"has space\"]", "pattern", "Syntax"),
                entry("$.flags.Upper", "pattern", "Syntax")
            ])
        );
        let long_key = format!("a{}", "b".repeat(64));
        let document = json!({"version": "1", "flags": {long_key.clone(): {"name": "x"}}});
        assert_eq!(
            summary(&document),
            vec![entry(&format!("$.flags.{long_key}"), "pattern", "Syntax")]
        );
    }

    #[test]
    fn too_many_flags_is_reported() {
        let flags: Map<String, Value> = (0..=MAX_FLAGS)
            .map(|i| (format!("f{i}"), json!({"name": "n"})))
            .collect();
        let document = json!({"version": "1", "flags": flags});
        assert_eq!(
            summary(&document),
            vec![entry("$.flags", "maxProperties", "Syntax")]
        );
    }

    #[test]
    fn flag_definition_members_are_checked() {
        let document = json!({"version": "1", "flags": {
            "a": {"description": "x".repeat(1025), "owner": "me"},
            "b": {"name": "line\nbreak", "_createdAt": 5, "_deprecation": {"status": "done", "date": "2025-02-30"}},
            "c": {"name": ""}
        }});
        assert_eq!(
            summary(&document),
            sorted(vec![
                entry("$.flags.a.description", "maxLength", "Syntax"),
                entry("$.flags.a.owner", "additionalProperties", "Syntax"),
                entry("$.flags.a.name", "required", "Syntax"),
                entry("$.flags.b._createdAt", "type", "Syntax"),
                entry("$.flags.b._deprecation.date", "format", "Syntax"),
                entry("$.flags.b._deprecation.status", "enum", "Syntax"),
                entry("$.flags.b.name", "pattern", "Syntax"),
                entry("$.flags.c.name", "pattern", "Syntax"),
            ])
        );
    }

    #[test]
    fn attribute_keys_and_count_are_checked() {
        let mut attributes: Map<String, Value> = (0..MAX_ATTRIBUTES)
            .map(|i| (format!("a{i}"), json!({})))
            .collect();
        attributes.insert("enabled".into(), json!({}));
        attributes.insert("Bad".into(), json!({}));
        let document =
            json!({"version": "1", "flags": {"f": {"name": "f", "attributes": attributes}}});
        assert_eq!(
            summary(&document),
            sorted(vec![
                entry("$.flags.f.attributes", "maxProperties", "Syntax"),
                entry("$.flags.f.attributes.Bad", "pattern", "Syntax"),
                entry("$.flags.f.attributes.enabled", "pattern", "Syntax"),
            ])
        );
    }

    #[test]
    fn malformed_constraints_are_reported() {
        let document = json!({"version": "1", "flags": {"f": {"name": "f", "attributes": {
            "a": {"constraints": {"type": "string", "pattern": "x", "enum": ["x"]}},
            "b": {"constraints": {"type": "number", "minimum": 1.5, "pattern": "x"}},
            "c": {"constraints": {"type": "object"}},
            "d": {"constraints": {"required": true}},
            "e": {"constraints": {"type": "array", "elements": {"type": "boolean"}}},
            "g": {"constraints": {"type": "string", "enum": [true], "required": "yes"}},
            "h": {"constraints": {"type": "string", "pattern": "(unclosed"}}
        }}}});
        let base = "$.flags.f.attributes";
        assert_eq!(
            summary(&document),
            sorted(vec![
                entry(&format!("{base}.a.constraints"), "not", "Syntax"),
                entry(
                    &format!("{base}.b.constraints.pattern"),
                    "additionalProperties",
                    "Syntax"
                ),
                entry(&format!("{base}.b.constraints.minimum"), "type", "Syntax"),
                entry(&format!("{base}.c.constraints.type"), "enum", "Syntax"),
                entry(&format!("{base}.d.constraints.type"), "required", "Syntax"),
                entry(
                    &format!("{base}.e.constraints.elements.type"),
                    "enum",
                    "Syntax"
                ),
                entry(&format!("{base}.g.constraints.required"), "type", "Syntax"),
                entry(&format!("{base}.g.constraints.enum[0]"), "type", "Syntax"),
                entry(&format!("{base}.h.constraints.pattern"), "format", "Syntax"),
            ])
        );
    }

    #[test]
    fn values_must_reference_defined_flags_and_declared_attributes() {
        let document = json!({"version": "1",
            "flags": {"f": {"name": "f", "attributes": {"a": {}}}},
            "values": {"ghost": {"enabled": true}, "f": {"enabled": true, "b": 1}}});
        assert_eq!(
            summary(&document),
            sorted(vec![
                entry("$.values.f.b", "additionalProperties", "Semantic"),
                entry("$.values.ghost", "additionalProperties", "Semantic"),
            ])
        );
    }

    #[test]
    fn value_objects_need_a_boolean_enabled() {
        let document = json!({"version": "1",
            "flags": {"f": {"name": "f"}, "g": {"name": "g"}, "h": {"name": "h"}},
            "values": {"f": {}, "g": {"enabled": "yes"}, "h": 3}});
        assert_eq!(
            summary(&document),
            sorted(vec![
                entry("$.values.f.enabled", "required", "Syntax"),
                entry("$.values.g.enabled", "type", "Syntax"),
                entry("$.values.h", "type", "Syntax"),
            ])
        );
    }

    #[test]
    fn attribute_values_are_checked_against_constraints() {
        let mut document = full_document();
        document["values"]["ui_refresh"] = json!({
            "enabled": true, "color": "green", "code": "4a2", "limit": 11, "ids": ["1", "x"],
            "ratios": [2], "beta": "no", "free": {"nested": true}
        });
        let base = "$.values.ui_refresh";
        assert_eq!(
            summary(&document),
            sorted(vec![
                entry(&format!("{base}.beta"), "type", "Semantic"),
                entry(&format!("{base}.code"), "pattern", "Semantic"),
                entry(&format!("{base}.color"), "enum", "Semantic"),
                entry(&format!("{base}.free"), "type", "Syntax"),
                entry(&format!("{base}.ids[1]"), "pattern", "Semantic"),
                entry(&format!("{base}.limit"), "maximum", "Semantic"),
                entry(&format!("{base}.ratios[0]"), "maximum", "Semantic"),
            ])
        );
    }

    #[test]
    fn minimum_integer_enum_items_and_value_shapes() {
        let document = json!({"version": "1",
            "flags": {"f": {"name": "f", "attributes": {
                "n": {"constraints": {"type": "number", "minimum": 1}},
                "s": {"constraints": {"type": "string", "enum": [5]}},
                "mixed": {}, "long": {}
            }}},
            "values": {"f": {"enabled": false, "n": 0, "s": "5", "mixed": ["a", 1], "long": "x".repeat(1025)}}});
        assert_eq!(
            summary(&document),
            sorted(vec![
                entry("$.values.f.long", "maxLength", "Syntax"),
                entry("$.values.f.mixed[1]", "type", "Syntax"),
                entry("$.values.f.n", "minimum", "Semantic"),
            ])
        );
    }

    #[test]
    fn required_attributes_only_matter_when_enabled() {
        let mut document = full_document();
        document["values"]["ui_refresh"] = json!({"enabled": false});
        assert_eq!(summary(&document), vec![]);
        document["values"]["ui_refresh"] = json!({"enabled": true});
        let problems = problems_of(&document);
        assert_eq!(problems.len(), 1);
        assert_eq!(
            problems[0].location.as_deref(),
            Some("$.values.ui_refresh.color")
        );
        assert_eq!(problems[0].constraint.as_deref(), Some("required"));
        assert_eq!(problems[0].r#type.as_deref(), Some("Semantic"));
        assert!(problems[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("color"));
    }

    #[test]
    fn details_carry_reason_and_truncated_value() {
        let long = "x".repeat(1500);
        let document = json!({"version": "1", "flags": {"f": {"name": "f", "description": long}}});
        let problems = problems_of(&document);
        assert_eq!(problems.len(), 1);
        let value = problems[0].value.clone().unwrap_or_default();
        assert_eq!(value.chars().count(), MAX_RENDERED_VALUE_CHARS);
        assert!(value.starts_with("\"xxx"));
        assert!(problems[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("$.flags.f.description"));
    }

    #[test]
    fn every_problem_is_reported_not_just_the_first() {
        let document =
            json!({"version": "3", "bogus": true, "flags": {"Bad": {}}, "values": {"x": {}}});
        // additionalProperties, const, flag key pattern, missing name, undefined flag, missing enabled
        assert_eq!(problems_of(&document).len(), 6);
    }

    #[test]
    fn variants_follow_the_schema() {
        let document = json!({"version": "1",
        "flags": {"f": {"name": "f", "attributes": {"a": {"constraints": {"type": "number", "maximum": 3}}}}},
        "values": {"f": {"enabled": true, "_variants": [
            {"name": "big", "enabled": true, "rule": "(eq $tier \"gold\")", "attributeValues": {"a": 9}},
            {"enabled": true, "color": 1},
            {"name": "default", "enabled": false}
        ]}}});
        assert_eq!(
            summary(&document),
            sorted(vec![
                entry(
                    "$.values.f._variants[0].attributeValues.a",
                    "maximum",
                    "Semantic"
                ),
                entry(
                    "$.values.f._variants[1].color",
                    "additionalProperties",
                    "Syntax"
                ),
                entry("$.values.f._variants[1].name", "required", "Syntax"),
            ])
        );
    }

    #[test]
    fn retrieval_form_lifts_values_and_drops_internals() {
        let delivered = to_retrieval_form(full_document().to_string().as_bytes());
        assert_eq!(
            delivered,
            Some(json!({
                "ui_refresh": {"enabled": true, "color": "red", "code": "42", "limit": 5,
                               "ids": ["1", "22"], "ratios": [0.5, 1], "beta": false, "free": ["x"]},
                "dark-mode": {"enabled": false}
            }))
        );
    }

    #[test]
    fn retrieval_form_of_disabled_and_missing_values() {
        let document = json!({"version": "1",
            "flags": {"off": {"name": "off", "attributes": {"a": {}}}, "unset": {"name": "unset"}},
            "values": {"off": {"enabled": false, "a": 1, "_createdAt": "t"}}});
        assert_eq!(
            to_retrieval_form(document.to_string().as_bytes()),
            Some(json!({"off": {"enabled": false}, "unset": {"enabled": false}}))
        );
        assert_eq!(to_retrieval_form(br#"{"version":"1"}"#), Some(json!({})));
    }

    #[test]
    fn retrieval_form_rejects_other_shapes() {
        assert_eq!(to_retrieval_form(b"not json"), None);
        assert_eq!(to_retrieval_form(b"[1]"), None);
        assert_eq!(to_retrieval_form(br#"{"flags": []}"#), None);
        assert_eq!(
            to_retrieval_form(br#"{"flags": {"a": {}}, "values": {"a": 1}}"#),
            None
        );
    }

    #[test]
    fn full_dates_are_checked() {
        assert!(is_full_date("2024-02-29"));
        assert!(!is_full_date("2023-02-29"));
        assert!(!is_full_date("2024-13-01"));
        assert!(!is_full_date("2024-1-01"));
        assert!(!is_full_date("2024-01-01T00:00:00Z"));
    }
}
