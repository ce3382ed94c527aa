//! Tests of the public API: validation problems (location, constraint, kind) for each part of a
//! document, and the retrieval form.

use serde_json::{json, Map, Value};

use super::*;

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

/// The document's problems are exactly these (location, constraint, type), in any order.
#[track_caller]
fn expect_problems(document: &Value, expected: &[(&str, &str, &str)]) {
    let expected: Vec<_> = expected.iter().map(|(l, c, k)| entry(l, c, k)).collect();
    assert_eq!(summary(document), sorted(expected));
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
    expect_problems(
        &document,
        &[
            ("$.flags[\"has space\"]", "pattern", "Syntax"),
            ("$.flags.Upper", "pattern", "Syntax"),
        ],
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
    expect_problems(
        &document,
        &[
            ("$.flags.a.description", "maxLength", "Syntax"),
            ("$.flags.a.owner", "additionalProperties", "Syntax"),
            ("$.flags.a.name", "required", "Syntax"),
            ("$.flags.b._createdAt", "type", "Syntax"),
            ("$.flags.b._deprecation.date", "format", "Syntax"),
            ("$.flags.b._deprecation.status", "enum", "Syntax"),
            ("$.flags.b.name", "pattern", "Syntax"),
            ("$.flags.c.name", "pattern", "Syntax"),
        ],
    );
}

#[test]
fn attribute_keys_and_count_are_checked() {
    let mut attributes: Map<String, Value> = (0..MAX_ATTRIBUTES)
        .map(|i| (format!("a{i}"), json!({})))
        .collect();
    attributes.insert("enabled".into(), json!({}));
    attributes.insert("Bad".into(), json!({}));
    let document = json!({"version": "1", "flags": {"f": {"name": "f", "attributes": attributes}}});
    expect_problems(
        &document,
        &[
            ("$.flags.f.attributes", "maxProperties", "Syntax"),
            ("$.flags.f.attributes.Bad", "pattern", "Syntax"),
            ("$.flags.f.attributes.enabled", "pattern", "Syntax"),
        ],
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
    expect_problems(
        &document,
        &[
            (&format!("{base}.a.constraints"), "not", "Syntax"),
            (
                &format!("{base}.b.constraints.pattern"),
                "additionalProperties",
                "Syntax",
            ),
            (&format!("{base}.b.constraints.minimum"), "type", "Syntax"),
            (&format!("{base}.c.constraints.type"), "enum", "Syntax"),
            (&format!("{base}.d.constraints.type"), "required", "Syntax"),
            (
                &format!("{base}.e.constraints.elements.type"),
                "enum",
                "Syntax",
            ),
            (&format!("{base}.g.constraints.required"), "type", "Syntax"),
            (&format!("{base}.g.constraints.enum[0]"), "type", "Syntax"),
            (&format!("{base}.h.constraints.pattern"), "format", "Syntax"),
        ],
    );
}

#[test]
fn values_must_reference_defined_flags_and_declared_attributes() {
    let document = json!({"version": "1",
        "flags": {"f": {"name": "f", "attributes": {"a": {}}}},
        "values": {"ghost": {"enabled": true}, "f": {"enabled": true, "b": 1}}});
    expect_problems(
        &document,
        &[
            ("$.values.f.b", "additionalProperties", "Semantic"),
            ("$.values.ghost", "additionalProperties", "Semantic"),
        ],
    );
}

#[test]
fn value_objects_need_a_boolean_enabled() {
    let document = json!({"version": "1",
        "flags": {"f": {"name": "f"}, "g": {"name": "g"}, "h": {"name": "h"}},
        "values": {"f": {}, "g": {"enabled": "yes"}, "h": 3}});
    expect_problems(
        &document,
        &[
            ("$.values.f.enabled", "required", "Syntax"),
            ("$.values.g.enabled", "type", "Syntax"),
            ("$.values.h", "type", "Syntax"),
        ],
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
    expect_problems(
        &document,
        &[
            (&format!("{base}.beta"), "type", "Semantic"),
            (&format!("{base}.code"), "pattern", "Semantic"),
            (&format!("{base}.color"), "enum", "Semantic"),
            (&format!("{base}.free"), "type", "Syntax"),
            (&format!("{base}.ids[1]"), "pattern", "Semantic"),
            (&format!("{base}.limit"), "maximum", "Semantic"),
            (&format!("{base}.ratios[0]"), "maximum", "Semantic"),
        ],
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
    expect_problems(
        &document,
        &[
            ("$.values.f.long", "maxLength", "Syntax"),
            ("$.values.f.mixed[1]", "type", "Syntax"),
            ("$.values.f.n", "minimum", "Semantic"),
        ],
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
    expect_problems(
        &document,
        &[
            (
                "$.values.f._variants[0].attributeValues.a",
                "maximum",
                "Semantic",
            ),
            (
                "$.values.f._variants[1].color",
                "additionalProperties",
                "Syntax",
            ),
            ("$.values.f._variants[1].name", "required", "Syntax"),
            // Not last, so it is not the default: it needs a rule.
            ("$.values.f._variants[1].rule", "defaultVariant", "Semantic"),
        ],
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

fn with_variants(variants: Value) -> Value {
    json!({"version": "1", "flags": {"f": {"name": "f"}},
           "values": {"f": {"enabled": true, "_variants": variants}}})
}

#[test]
fn variant_rules_are_parsed_and_the_default_is_last_without_a_rule() {
    let ok = with_variants(json!([
        {"name": "a", "enabled": true, "rule": "(split pct::10 by::$userId)"},
        {"name": "b", "enabled": true, "rule": "(and (eq $x 1)\n (matches in::$y pattern::\"^a\"))"},
        {"name": "default", "enabled": false, "rule": ""}
    ]));
    assert_eq!(summary(&ok), vec![]);
    let only_default = with_variants(json!([{"name": "default", "enabled": false}]));
    assert_eq!(summary(&only_default), vec![]);

    let bad = with_variants(json!([
        {"name": "unknown-op", "enabled": true, "rule": "(equals $a 1)"},
        {"name": "unbalanced", "enabled": true, "rule": "(eq $a 1"},
        {"name": "regex", "enabled": true, "rule": "(matches in::$a pattern::\"[\")"},
        {"name": "arity", "enabled": true, "rule": "(not (eq $a 1) (eq $a 2))"},
        {"name": "middle", "enabled": true},
        {"name": "empty", "enabled": true, "rule": ""},
        {"name": "unknown-op", "enabled": true, "rule": "(exists key::\"k\")"},
        {"name": "last", "enabled": false, "rule": "(eq $a 1)"}
    ]));
    let at = |i: usize, member: &str| format!("$.values.f._variants[{i}].{member}");
    expect_problems(
        &bad,
        &[
            (&at(0, "rule"), "rule", "Syntax"),
            (&at(1, "rule"), "rule", "Syntax"),
            (&at(2, "rule"), "rule", "Syntax"),
            (&at(3, "rule"), "rule", "Syntax"),
            (&at(4, "rule"), "defaultVariant", "Semantic"),
            (&at(5, "rule"), "defaultVariant", "Semantic"),
            (&at(6, "name"), "uniqueVariantNames", "Semantic"),
            (&at(7, "rule"), "defaultVariant", "Semantic"),
        ],
    );
    let reasons: Vec<String> = problems_of(&bad)
        .into_iter()
        .filter_map(|d| d.reason)
        .collect();
    for expected in [
        "Unknown operator 'equals'",
        "balanced",
        "not a valid regular expression",
        "'not' takes 1 operand, but has 2",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(expected)),
            "{expected}: {reasons:?}"
        );
    }
}

#[test]
fn at_most_32_variants_and_at_least_one() {
    let mut variants: Vec<Value> = (0..32)
        .map(|i| json!({"name": format!("v{i}"), "enabled": true, "rule": "(exists key::\"k\")"}))
        .collect();
    variants.push(json!({"name": "default", "enabled": false}));
    assert_eq!(
        summary(&with_variants(Value::Array(variants.clone()))),
        vec![entry("$.values.f._variants", "maxItems", "Syntax")]
    );
    variants.remove(0);
    assert_eq!(summary(&with_variants(Value::Array(variants))), vec![]);
    assert_eq!(
        summary(&with_variants(json!([]))),
        vec![entry("$.values.f._variants", "minItems", "Syntax")]
    );
}

// ---- compiled documents (evaluated) -------------------------------------------------------

/// digest A1's `ui_refresh`, plus a basic flag.
fn ui_refresh() -> Value {
    json!({"version": "1",
      "flags": {
        "ui_refresh": {"name": "UI Refresh",
          "attributes": {"dark_mode_support": {"constraints": {"type": "boolean"}}}},
        "button_color": {"name": "b", "attributes": {"color": {}}}},
      "values": {
        "ui_refresh": {"_variants": [
          {"name": "QA", "enabled": true, "attributeValues": {"dark_mode_support": true},
           "rule": "(ends_with $email \"qa-testers.mycompany.com\")"},
          {"name": "Beta Testers", "enabled": true, "attributeValues": {"dark_mode_support": true},
           "rule": "(exists key::\"opted_in_to_beta\")"},
          {"name": "Sample Population", "enabled": true, "attributeValues": {"dark_mode_support": false},
           "rule": "(split pct::10 by::$email)"},
          {"name": "Default Variant", "enabled": false, "attributeValues": {"dark_mode_support": false}}]},
        "button_color": {"enabled": true, "color": "orange"}}})
}

const OWNER: Owner<'static> = Owner {
    account: "000000000000",
    application: "app",
    profile: "prof",
};

fn compiled(document: &Value) -> Compiled {
    assert_eq!(validate(document.to_string().as_bytes()), Ok(()));
    Compiled::new(document.to_string().as_bytes(), OWNER).expect("compiles")
}

fn answer(c: &Compiled, pairs: &[(&str, &str)], wanted: Option<&[String]>) -> Value {
    let context: Context = pairs.iter().copied().collect();
    serde_json::from_slice(&c.answer(&context, wanted).expect("answer")).expect("JSON")
}

#[test]
fn variant_flags_answer_per_context_and_basic_flags_do_not_change() {
    let c = compiled(&ui_refresh());
    let default = json!({"_variant": "Default Variant", "enabled": false});
    let button = json!({"enabled": true, "color": "orange"});
    let plain: Value = serde_json::from_slice(c.json()).unwrap();
    assert_eq!(
        plain,
        json!({"ui_refresh": default, "button_color": button})
    );
    assert_eq!(answer(&c, &[], None), plain);
    assert_eq!(
        answer(&c, &[("email", "jane@qa-testers.mycompany.com")], None)["ui_refresh"],
        json!({"_variant": "QA", "enabled": true, "dark_mode_support": true})
    );
    assert_eq!(
        answer(
            &c,
            &[
                ("email", "jane_doe@example.org"),
                ("opted_in_to_beta", "false")
            ],
            None
        )["ui_refresh"],
        json!({"_variant": "Beta Testers", "enabled": true, "dark_mode_support": true})
    );
    let one = ["ui_refresh".to_owned()];
    let sampled = (0..1000)
        .filter(|i| {
            let email = format!("{i}@example.org");
            answer(&c, &[("email", &email)], Some(&one))["_variant"] == "Sample Population"
        })
        .count();
    assert!(
        (60..140).contains(&sampled),
        "{sampled} of 1000 in the 10 % split"
    );
    assert_eq!(
        answer(&c, &[("email", "x")], Some(&["button_color".to_owned()])),
        button
    );
    assert_eq!(
        c.answer(&Context::new(), Some(&["nope".to_owned()])),
        Err(UnknownFlag("nope".to_owned()))
    );
}

#[test]
fn explanation_names_the_variant_and_the_rule_that_chose_it() {
    let doc = ui_refresh().to_string();
    let context: Context = [("opted_in_to_beta", "yes")].into_iter().collect();
    assert_eq!(
        evaluate_with_explanation(doc.as_bytes(), "ui_refresh", &context, "seed"),
        Some((
            "Beta Testers".to_owned(),
            Some("(exists key::\"opted_in_to_beta\")".to_owned())
        ))
    );
    assert_eq!(
        evaluate_with_explanation(doc.as_bytes(), "ui_refresh", &Context::new(), "seed"),
        Some(("Default Variant".to_owned(), None))
    );
    assert_eq!(
        evaluate_with_explanation(doc.as_bytes(), "button_color", &Context::new(), "s"),
        None
    );
    let c = compiled(&ui_refresh());
    assert_eq!(
        c.explain("ui_refresh", &context),
        Some(("Beta Testers", Some("(exists key::\"opted_in_to_beta\")")))
    );
}

#[test]
fn ion_retrieval_format_has_the_documented_layout() {
    let c = compiled(&ui_refresh());
    let values = ion_rs::Element::read_all(c.ion().as_ref()).expect("binary Ion");
    assert!(
        c.ion().starts_with(&[0xE0, 0x01, 0x00, 0xEA]),
        "an Ion 1.0 binary stream"
    );
    let mut by_key = std::collections::HashMap::new();
    for v in values.iter() {
        by_key.insert(
            v.annotations().first().expect("annotated").to_owned(),
            v.clone(),
        );
    }
    let button = &by_key["button_color"];
    let button: Value = serde_json::from_str(button.as_string().expect("a string")).unwrap();
    assert_eq!(button, json!({"enabled": true, "color": "orange"}));
    let flag = by_key["ui_refresh"].as_list().expect("a list");
    assert_eq!(flag.len(), 4);
    let names: Vec<&str> = flag
        .iter()
        .take(3)
        .map(|t| t.annotations().first().unwrap())
        .collect();
    assert_eq!(names, ["QA", "Beta Testers", "Sample Population"]);
    let qa = flag
        .get(0)
        .unwrap()
        .as_list()
        .expect("a [rule, content] tuple");
    let rule = qa
        .get(0)
        .unwrap()
        .as_sexp()
        .expect("the rule as an s-expression");
    assert_eq!(
        rule.get(0).unwrap().as_symbol().unwrap().text(),
        Some("ends_with")
    );
    let content: Value = serde_json::from_str(qa.get(1).unwrap().as_string().unwrap()).unwrap();
    assert_eq!(
        content,
        json!({"_variant": "QA", "enabled": true, "dark_mode_support": true})
    );
    let default = flag.get(3).unwrap();
    assert!(default.annotations().is_empty());
    let default: Value = serde_json::from_str(default.as_string().unwrap()).unwrap();
    assert_eq!(
        default,
        json!({"_variant": "Default Variant", "enabled": false})
    );
}
