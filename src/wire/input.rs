//! Request → input value: collects every member of the operation's input shape from its model
//! binding (URI label, query string, header or JSON body), then enforces the model constraints
//! (required, type, length, pattern, range, enum) before any handler sees the request.

use std::collections::HashMap;

use http::HeaderMap;
use serde_json::{Map, Value};

use super::model::{appconfig, Location, Operation, Shape};
use crate::domain::error::{Error, Result};

pub struct RawRequest<'a> {
    pub labels: &'a HashMap<String, String>,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

pub use crate::query::{parse_query, query_first};

/// Builds the JSON value of the operation's input shape. A blob payload (hosted configuration
/// content) is not copied into the value; handlers read the raw body instead.
pub fn build(op: &Operation, req: &RawRequest<'_>) -> Result<Value> {
    let model = appconfig();
    let Some(input) = &op.input else {
        return Ok(Value::Object(Map::new()));
    };
    let shape = model
        .shape(&input.shape)
        .ok_or_else(|| Error::internal(format!("model has no shape {}", input.shape)))?;
    let query = parse_query(req.query);
    let blob_payload = shape
        .payload
        .as_deref()
        .filter(|p| member_kind(shape, p) == Some("blob"));

    let has_body_members = shape
        .members
        .iter()
        .any(|(n, m)| m.location() == Location::Body && Some(n.as_str()) != blob_payload);
    let body: Map<String, Value> =
        if has_body_members && !req.body.iter().all(u8::is_ascii_whitespace) {
            match serde_json::from_slice::<Value>(req.body) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(Error::bad_request(
                        "The request body must be a JSON object.",
                    ))
                }
                Err(e) => {
                    return Err(Error::bad_request(format!(
                        "The request body is not valid JSON: {e}"
                    )))
                }
            }
        } else {
            Map::new()
        };

    let mut out = Map::new();
    for (name, member) in &shape.members {
        let target = model.shape(&member.shape);
        let kind = target.map(|s| s.kind.as_str()).unwrap_or("string");
        let wire = member.wire_name(name);
        let value = match member.location() {
            Location::Uri => req
                .labels
                .get(wire)
                .map(|v| scalar(name, kind, v))
                .transpose()?,
            Location::Query => match query.get(wire) {
                Some(values) if kind == "list" => Some(Value::Array(
                    values.iter().map(|v| Value::String(v.clone())).collect(),
                )),
                Some(values) => values.first().map(|v| scalar(name, kind, v)).transpose()?,
                None => None,
            },
            Location::Header => match req.headers.get(wire) {
                Some(h) => {
                    let text = h.to_str().map_err(|_| {
                        Error::bad_request(format!("Header {wire} must be ASCII text."))
                    })?;
                    Some(scalar(name, kind, text)?)
                }
                None => None,
            },
            Location::Body if Some(name.as_str()) == blob_payload => None,
            Location::Body => body.get(name).filter(|v| !v.is_null()).cloned(),
        };
        if let Some(v) = value {
            out.insert(name.clone(), v);
        }
    }
    let value = Value::Object(out);

    let mut problems = Vec::new();
    check_struct(shape, &value, "", blob_payload, &mut problems);
    if let Some(p) = blob_payload {
        if shape.required.iter().any(|r| r == p) && req.body.is_empty() {
            problems.push(format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                lower_first(p)
            ));
        }
    }
    if problems.is_empty() {
        Ok(value)
    } else {
        let n = problems.len();
        let noun = if n == 1 { "error" } else { "errors" };
        Err(Error::bad_request(format!(
            "{n} validation {noun} detected: {}",
            problems.join("; ")
        )))
    }
}

fn member_kind<'m>(shape: &Shape, member: &str) -> Option<&'m str> {
    let m = shape.members.get(member)?;
    appconfig().shape(&m.shape).map(|s| s.kind.as_str())
}

/// Converts a label/query/header string to the JSON type the shape wants.
fn scalar(member: &str, kind: &str, text: &str) -> Result<Value> {
    let bad = || {
        Error::bad_request(format!(
            "1 validation error detected: Value '{text}' at '{}' failed to satisfy constraint: Member must be of type {kind}",
            lower_first(member)
        ))
    };
    Ok(match kind {
        "integer" | "long" => Value::from(text.trim().parse::<i64>().map_err(|_| bad())?),
        "float" | "double" => {
            let f = text.trim().parse::<f64>().map_err(|_| bad())?;
            serde_json::Number::from_f64(f)
                .map(Value::Number)
                .ok_or_else(bad)?
        }
        "boolean" => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad()),
        },
        _ => Value::String(text.to_string()),
    })
}

/// AWS validation messages name members the way the service's Java model does: camelCase.
fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn join(path: &str, member: &str) -> String {
    if path.is_empty() {
        lower_first(member)
    } else {
        format!("{path}.{}", lower_first(member))
    }
}

/// `skip` names a blob payload member, which is checked against the raw body instead.
fn check_struct(
    shape: &Shape,
    value: &Value,
    path: &str,
    skip: Option<&str>,
    problems: &mut Vec<String>,
) {
    let Some(obj) = value.as_object() else {
        problems.push(format!(
            "Value at '{path}' failed to satisfy constraint: Member must be a structure"
        ));
        return;
    };
    for req in shape.required.iter().filter(|r| Some(r.as_str()) != skip) {
        if obj.get(req).is_none_or(Value::is_null) {
            problems.push(format!(
                "Value null at '{}' failed to satisfy constraint: Member must not be null",
                join(path, req)
            ));
        }
    }
    for (name, member) in &shape.members {
        if let Some(v) = obj.get(name).filter(|v| !v.is_null()) {
            check(&member.shape, v, &join(path, name), problems);
        }
    }
}

fn render(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn check(shape_name: &str, value: &Value, path: &str, problems: &mut Vec<String>) {
    let model = appconfig();
    let Some(shape) = model.shape(shape_name) else {
        return;
    };
    let shown = if shape.sensitive {
        "Value".to_string()
    } else {
        format!("Value '{}'", render(value))
    };
    let mut fail = |constraint: String| {
        problems.push(format!(
            "{shown} at '{path}' failed to satisfy constraint: {constraint}"
        ))
    };
    match shape.kind.as_str() {
        "string" => {
            let Some(s) = value.as_str() else {
                return fail("Member must be of type string".into());
            };
            check_bounds(shape, s.chars().count() as f64, "length", &mut fail);
            if let Some(values) = &shape.enum_values {
                if !values.iter().any(|v| v == s) {
                    fail(format!(
                        "Member must satisfy enum value set: [{}]",
                        values.join(", ")
                    ));
                }
            }
            if let (Some(re), Some(p)) = (model.pattern(shape_name), &shape.pattern) {
                if !re.is_match(s) {
                    fail(format!(
                        "Member must satisfy regular expression pattern: {p}"
                    ));
                }
            }
        }
        "integer" | "long" | "float" | "double" => {
            let number = if shape.kind == "integer" || shape.kind == "long" {
                value.as_i64().map(|i| i as f64)
            } else {
                value.as_f64()
            };
            let Some(n) = number else {
                return fail(format!("Member must be of type {}", shape.kind));
            };
            check_bounds(shape, n, "value", &mut fail);
        }
        "boolean" if !value.is_boolean() => fail("Member must be of type boolean".into()),
        "list" => {
            let Some(items) = value.as_array() else {
                return fail("Member must be a list".into());
            };
            check_bounds(shape, items.len() as f64, "length", &mut fail);
            if let Some(member) = &shape.member {
                for (i, item) in items.iter().enumerate() {
                    check(
                        &member.shape,
                        item,
                        &format!("{path}.{}.member", i + 1),
                        problems,
                    );
                }
            }
        }
        "map" => {
            let Some(entries) = value.as_object() else {
                return fail("Member must be a map".into());
            };
            check_bounds(shape, entries.len() as f64, "length", &mut fail);
            for (k, v) in entries {
                if let Some(key) = &shape.key {
                    check(
                        &key.shape,
                        &Value::String(k.clone()),
                        &format!("{path}.key"),
                        problems,
                    );
                }
                if let Some(val) = &shape.value {
                    check(&val.shape, v, &format!("{path}.{k}"), problems);
                }
            }
        }
        "structure" => check_struct(shape, value, path, None, problems),
        _ => {}
    }
}

/// The model's min/max of `shape` against `x`, a `what` (length or value).
fn check_bounds(shape: &Shape, x: f64, what: &str, fail: &mut impl FnMut(String)) {
    if let Some(min) = shape.min.filter(|m| x < *m) {
        fail(format!(
            "Member must have {what} greater than or equal to {min}"
        ));
    }
    if let Some(max) = shape.max.filter(|m| x > *m) {
        fail(format!(
            "Member must have {what} less than or equal to {max}"
        ));
    }
}

#[cfg(test)]
mod tests {
    //! Walks the whole model: every constraint of every shape must be enforced by `check`.
    use super::*;
    use serde_json::json;

    fn problems(shape: &str, value: &Value) -> Vec<String> {
        let mut p = Vec::new();
        check(shape, value, "field", &mut p);
        p
    }

    fn string_of(len: usize) -> Value {
        Value::String("a".repeat(len))
    }

    #[test]
    fn every_constraint_in_the_model_is_enforced() {
        let model = appconfig();
        let mut checked = 0;
        for (name, shape) in &model.shapes {
            match shape.kind.as_str() {
                "string" => {
                    if let Some(min) = shape.min.filter(|m| *m > 0.0) {
                        assert!(
                            !problems(name, &string_of(min as usize - 1)).is_empty(),
                            "{name} min"
                        );
                        checked += 1;
                    }
                    if let Some(max) = shape.max {
                        assert!(
                            !problems(name, &string_of(max as usize + 1)).is_empty(),
                            "{name} max"
                        );
                        checked += 1;
                    }
                    if shape.enum_values.is_some() {
                        assert!(
                            !problems(name, &json!("NOT_IN_THE_ENUM")).is_empty(),
                            "{name} enum"
                        );
                        checked += 1;
                    }
                    if let Some(re) = model.pattern(name) {
                        let bad = ["", "123", "\n", "#/:", "ABC DEF", "a"]
                            .into_iter()
                            .find(|c| !re.is_match(c));
                        if let Some(bad) = bad {
                            let p = problems(name, &json!(bad));
                            assert!(p.iter().any(|m| m.contains("pattern")), "{name} pattern");
                            checked += 1;
                        }
                    }
                    assert!(!problems(name, &json!(5)).is_empty(), "{name} type");
                }
                "integer" | "long" | "float" | "double" => {
                    if let Some(min) = shape.min {
                        assert!(
                            !problems(name, &json!(min - 1.0)).is_empty()
                                || shape.kind == "integer"
                        );
                        assert!(
                            !problems(name, &json!(min as i64 - 1)).is_empty(),
                            "{name} min"
                        );
                        checked += 1;
                    }
                    if let Some(max) = shape.max {
                        assert!(
                            !problems(name, &json!(max as i64 + 1)).is_empty(),
                            "{name} max"
                        );
                        checked += 1;
                    }
                    assert!(!problems(name, &json!("x")).is_empty(), "{name} type");
                }
                "list" | "map" => {
                    let item = |i: usize| (format!("k{i}"), json!("v"));
                    let make = |n: usize| {
                        if shape.kind == "list" {
                            Value::Array((0..n).map(|_| json!("v")).collect())
                        } else {
                            Value::Object((0..n).map(item).collect())
                        }
                    };
                    if let Some(min) = shape.min.filter(|m| *m > 0.0) {
                        let p = problems(name, &make(min as usize - 1));
                        assert!(p.iter().any(|m| m.contains("length")), "{name} min");
                        checked += 1;
                    }
                    if let Some(max) = shape.max {
                        let p = problems(name, &make(max as usize + 1));
                        assert!(p.iter().any(|m| m.contains("length")), "{name} max");
                        checked += 1;
                    }
                }
                "structure" if !shape.required.is_empty() => {
                    let p = problems(name, &json!({}));
                    for r in &shape.required {
                        let field = format!("field.{}", lower_first(r));
                        assert!(p.iter().any(|m| m.contains(&field)), "{name} requires {r}");
                        checked += 1;
                    }
                }
                _ => {}
            }
        }
        assert!(checked > 100, "only {checked} constraints walked");
    }

    #[test]
    fn sensitive_values_are_not_echoed() {
        let p = problems("StringWithLengthBetween0And32768", &string_of(40000));
        assert!(p[0].starts_with("Value at"), "{}", p[0]);
    }

    #[test]
    fn query_parsing_decodes_and_repeats() {
        let q = parse_query(Some("tagKeys=a%20b&tagKeys=c&max_results=5"));
        assert_eq!(q["tagKeys"], vec!["a b", "c"]);
        assert_eq!(q["max_results"], vec!["5"]);
    }

    #[test]
    fn scalar_conversion_rejects_garbage() {
        assert!(scalar("MaxResults", "integer", "abc").is_err());
        assert_eq!(scalar("Enabled", "boolean", "true").ok(), Some(json!(true)));
        assert_eq!(scalar("Max", "integer", "7").ok(), Some(json!(7)));
    }
}
