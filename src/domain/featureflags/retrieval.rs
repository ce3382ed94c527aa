//! The retrieval form: what the data plane serves for a valid stored-form document (the flag
//! values lifted to the top level, without definitions or internal `_…` members).

use serde_json::{Map, Value};

use super::ENABLED;

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
