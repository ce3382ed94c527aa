//! Issue 14, multi-variant feature flags: rules refused at CreateHostedConfigurationVersion
//! (through the SDK), evaluated per request on the agent path (`Context` headers), the JSON
//! served to plain GetLatestConfiguration callers, and the Ion retrieval format.

use aws_sdk_appconfig::operation::create_hosted_configuration_version::CreateHostedConfigurationVersionError;
use aws_sdk_appconfig::types::DeploymentState;
use aws_sdk_appconfig::Client;
use aws_smithy_types::Blob;
use serde_json::{json, Value};

use crate::harness::*;
use crate::scenario::{Ids, Scenario};

/// A document with one multi-variant flag `f` holding `variants`, and a basic flag `basic`.
fn document(variants: Value) -> Value {
    json!({"version": "1",
        "flags": {
            "f": {"name": "f", "attributes": {"color": {"constraints": {"type": "string"}}}},
            "basic": {"name": "basic", "attributes": {"n": {"constraints": {"type": "number"}}}}
        },
        "values": {"f": {"_variants": variants}, "basic": {"enabled": true, "n": 7}}})
}

fn variant(name: &str, rule: &str) -> Value {
    json!({"name": name, "enabled": true, "rule": rule, "attributeValues": {"color": name}})
}

fn default_variant() -> Value {
    json!({"name": "Default", "enabled": false, "attributeValues": {"color": "grey"}})
}

async fn create(
    c: &Client,
    ids: &Ids,
    doc: &Value,
) -> Result<i32, (CreateHostedConfigurationVersionError, u16)> {
    let out = c
        .create_hosted_configuration_version()
        .application_id(&ids.app)
        .configuration_profile_id(&ids.profile)
        .content(Blob::new(doc.to_string().into_bytes()))
        .content_type("application/json")
        .send()
        .await;
    match out {
        Ok(o) => Ok(o.version_number()),
        Err(e) => Err(service_error::<(), _>(Err(e))),
    }
}

#[tokio::test]
async fn bad_rules_are_refused_at_creation_with_their_location() {
    let (_server, c) = Server::start_with_client();
    let ids = Scenario::new(&c).feature_flags().build().await;
    let at = |i: usize, member: &str| format!("$.values.f._variants[{i}].{member}");
    let many: Vec<Value> = (0..32)
        .map(|i| variant(&format!("v{i}"), "(exists key::\"k\")"))
        .chain([default_variant()])
        .collect();
    let cases: Vec<(&str, Value, String)> = vec![
        (
            "unknown operator",
            json!([variant("a", "(equals $a \"1\")"), default_variant()]),
            at(0, "rule"),
        ),
        (
            "unbalanced",
            json!([variant("a", "(eq $a \"1\""), default_variant()]),
            at(0, "rule"),
        ),
        (
            "invalid regex",
            json!([
                variant("a", "(matches in::$a pattern::\"(\")"),
                default_variant()
            ]),
            at(0, "rule"),
        ),
        (
            "wrong arity",
            json!([variant("a", "(gt $age)"), default_variant()]),
            at(0, "rule"),
        ),
        (
            "default not last",
            json!([default_variant(), variant("a", "(eq $a 1)")]),
            at(0, "rule"),
        ),
        (
            "rule on the last",
            json!([variant("a", "(eq $a 1)"), variant("b", "(eq $b 1)")]),
            at(1, "rule"),
        ),
        (
            "duplicate names",
            json!([
                variant("a", "(eq $a 1)"),
                variant("a", "(eq $b 1)"),
                default_variant()
            ]),
            at(1, "name"),
        ),
        (
            "too many variants",
            Value::Array(many),
            "$.values.f._variants".to_owned(),
        ),
    ];
    for (what, variants, location) in cases {
        let (e, status) = create(&c, &ids, &document(variants)).await.expect_err(what);
        assert_eq!(status, 400, "{what}");
        let CreateHostedConfigurationVersionError::BadRequestException(br) = e else {
            panic!("{what}: expected BadRequestException, got {e:?}");
        };
        let details = invalid_configuration_details(&br, what);
        assert!(
            details
                .iter()
                .any(|d| d.location() == Some(location.as_str()) && d.reason().is_some()),
            "{what}: no detail at {location}: {details:?}"
        );
    }
    let listed = c
        .list_hosted_configuration_versions()
        .application_id(&ids.app)
        .configuration_profile_id(&ids.profile)
        .send()
        .await
        .expect("list versions");
    assert!(
        listed.items().is_empty(),
        "refused documents are not stored"
    );
    // "" on the last variant is no rule; a valid document is version 1.
    let good =
        json!([variant("a", "(eq $a 1)"), {"name": "Default", "enabled": false, "rule": ""}]);
    assert_eq!(create(&c, &ids, &document(good)).await.expect("valid"), 1);
}

// ---------------------------------------------------------------------------------------------
// Evaluation through the agent path
// ---------------------------------------------------------------------------------------------

/// A document whose flags each hold `[yes: rule, no: default]` (or several ruled variants).
fn rules_document(flags: &[(&str, &[(&str, &str)])]) -> Value {
    let mut definitions = serde_json::Map::new();
    let mut values = serde_json::Map::new();
    for (key, ruled) in flags {
        definitions.insert(key.to_string(), json!({"name": key}));
        let mut variants: Vec<Value> = ruled
            .iter()
            .map(|(name, rule)| json!({"name": name, "enabled": true, "rule": rule}))
            .collect();
        variants.push(json!({"name": "no", "enabled": false}));
        values.insert(key.to_string(), json!({"_variants": variants}));
    }
    json!({"version": "1", "flags": definitions, "values": values})
}

/// Deploys `doc` to a new feature-flag profile and waits until the deployment is complete.
pub(crate) async fn deploy_flags(c: &Client, doc: &Value) -> Ids {
    let d = Scenario::new(c)
        .feature_flags()
        .version(doc.to_string().as_bytes(), "application/json")
        .deploy()
        .await;
    let timeout = std::time::Duration::from_secs(60);
    d.ids
        .wait_state(c, d.number, DeploymentState::Complete, timeout)
        .await;
    d.ids
}

/// Deploys `doc` (see [`deploy_flags`]); returns the agent path.
async fn deployed(c: &Client, doc: &Value) -> String {
    let ids = deploy_flags(c, doc).await;
    crate::dataplane::agent_path(&ids.app, &ids.env, &ids.profile)
}

fn read(server: &Server, path: &str, headers: &[(&str, &str)]) -> Value {
    let r = crate::dataplane::get(server, path, headers);
    assert_eq!(r.status, 200, "{path} {headers:?}: {r:?}");
    r.json()
}

#[tokio::test]
async fn every_documented_operator_example_through_the_agent() {
    let (server, c) = Server::start_with_client();
    let examples: &[(&str, &str)] = &[
        ("eq", r#"(eq $state "Virginia")"#),
        ("ne", r#"(ne $region "us-west-2")"#),
        ("gt", "(gt $age 65)"),
        ("gte", "(gte $age 65)"),
        ("lt", "(lt $age 65)"),
        ("lte", "(lte $age 65)"),
        ("and", r#"(and (eq $state "Virginia") (gt $age 65))"#),
        ("or", r#"(or (eq $state "Virginia") (gt $age 65))"#),
        ("not", r#"(not (eq $state "Virginia"))"#),
        ("begins", r#"(begins_with $state "A")"#),
        ("ends", r#"(ends_with $email "amazon.com")"#),
        ("contains", r#"(contains $promoCode "WIN")"#),
        ("in", r#"(in $userId ["123", "456"])"#),
        ("matches", r#"(matches in::$greeting pattern::"h.*y")"#),
        ("exists", r#"(exists key::"country")"#),
        ("split", r#"(split pct::100 by::$userId seed::"abc")"#),
        ("before", "(lt $date 2024-01)"),
        ("price", "(gte $price 3.14)"),
    ];
    let pairs: Vec<[(&str, &str); 1]> = examples.iter().map(|(_, rule)| [("yes", *rule)]).collect();
    let flags: Vec<(&str, &[(&str, &str)])> = examples
        .iter()
        .zip(&pairs)
        .map(|((key, _), pair)| (*key, pair.as_slice()))
        .collect();
    let path = deployed(&c, &rules_document(&flags)).await;
    let cases: &[(&str, &str, &str)] = &[
        ("eq", "state=Virginia", "yes"),
        ("eq", "state=Ohio", "no"),
        ("eq", "", "no"),
        ("ne", "region=us-east-1", "yes"),
        ("ne", "region=us-west-2", "no"),
        ("ne", "", "no"),
        ("gt", "age=70", "yes"),
        ("gt", "age=65", "no"),
        ("gt", "age=abc", "no"),
        ("gte", "age=65", "yes"),
        ("gte", "age=64", "no"),
        ("lt", "age=64", "yes"),
        ("lt", "age=65", "no"),
        ("lte", "age=65", "yes"),
        ("lte", "age=66", "no"),
        ("and", "state=Virginia, age=70", "yes"),
        ("and", "state=Virginia, age=60", "no"),
        ("or", "state=Ohio,age=70", "yes"),
        ("or", "state=Ohio,age=60", "no"),
        ("not", "state=Ohio", "yes"),
        ("not", "state=Virginia", "no"),
        ("not", "", "yes"),
        ("begins", "state=Alabama", "yes"),
        ("begins", "state=Ohio", "no"),
        ("ends", "email=jeff@amazon.com", "yes"),
        ("ends", "email=jeff@example.com", "no"),
        ("contains", "promoCode=BIGWIN", "yes"),
        ("contains", "promoCode=LOSE", "no"),
        ("in", "userId=456", "yes"),
        ("in", "userId=789", "no"),
        ("matches", "greeting=hey", "yes"),
        ("matches", "greeting=hello", "no"),
        ("exists", "country=", "yes"),
        ("exists", "region=x", "no"),
        ("split", "userId=anyone", "yes"),
        ("split", "", "no"),
        ("before", "date=2023-12-31T10:00:00Z", "yes"),
        ("before", "date=2024-01-02", "no"),
        ("price", "price=3.15", "yes"),
        ("price", "price=3", "no"),
    ];
    for (flag, context, expected) in cases {
        let query = format!("{path}?flag={flag}");
        let headers: Vec<(&str, &str)> = if context.is_empty() {
            vec![]
        } else {
            vec![("Context", *context)]
        };
        let got = read(&server, &query, &headers);
        assert_eq!(got["_variant"], *expected, "{flag} with {context:?}: {got}");
        let enabled = *expected == "yes";
        assert_eq!(
            got,
            json!({"_variant": expected, "enabled": enabled}),
            "{flag}"
        );
    }
    // The same context as repeated headers, or both forms mixed; the last duplicate wins.
    for headers in [
        vec![("Context", "state=Virginia"), ("Context", "age=70")],
        vec![
            ("Context", " state = Virginia ,age=1"),
            ("Context", "age=70"),
        ],
    ] {
        let got = read(
            &server,
            &format!("{path}?flag=and&flag=gt&flag=ne"),
            &headers,
        );
        assert_eq!(got["and"]["_variant"], "yes", "{headers:?}: {got}");
        assert_eq!(got["gt"]["_variant"], "yes", "{headers:?}");
        assert_eq!(got["ne"]["_variant"], "no", "{headers:?}");
    }
    let all = read(&server, &path, &[("Context", "state=Virginia")]);
    assert_eq!(all.as_object().unwrap().len(), examples.len());
    assert_eq!(all["eq"]["_variant"], "yes");
    assert_eq!(all["not"]["_variant"], "no");
}

#[tokio::test]
async fn documented_split_distributions_through_the_agent() {
    let (server, c) = Server::start_with_client();
    let doc = rules_document(&[
        ("one", &[("a", "(split by::$uniqueId pct::20)")]),
        (
            "same",
            &[
                ("a", "(split by::$uniqueId pct::20)"),
                ("b", "(split by::$uniqueId pct::20)"),
            ],
        ),
        (
            "more",
            &[
                ("a", "(split by::$uniqueId pct::20)"),
                ("b", "(split by::$uniqueId pct::25)"),
            ],
        ),
        (
            "seeded",
            &[
                ("a", r#"(split by::$uniqueId pct::20 seed::"seed_one")"#),
                ("b", r#"(split by::$uniqueId pct::25 seed::"seed_two")"#),
            ],
        ),
    ]);
    let path = deployed(&c, &doc).await;
    const N: usize = 3000;
    let mut counts: std::collections::HashMap<(String, String), usize> = Default::default();
    for i in 0..N {
        let context = format!("uniqueId=user-{i}");
        let all = read(&server, &path, &[("Context", &context)]);
        for (flag, answer) in all.as_object().unwrap() {
            let variant = answer["_variant"].as_str().unwrap().to_owned();
            *counts.entry((flag.clone(), variant)).or_default() += 1;
        }
    }
    let share = |flag: &str, variant: &str| {
        counts
            .get(&(flag.into(), variant.into()))
            .copied()
            .unwrap_or(0) as f64
            / N as f64
    };
    let expected = [
        ("one", [("a", 0.2), ("b", 0.0), ("no", 0.8)]),
        ("same", [("a", 0.2), ("b", 0.0), ("no", 0.8)]),
        ("more", [("a", 0.2), ("b", 0.05), ("no", 0.75)]),
        ("seeded", [("a", 0.2), ("b", 0.2), ("no", 0.6)]),
    ];
    for (flag, variants) in expected {
        for (variant, want) in variants {
            let got = share(flag, variant);
            assert!(
                (got - want).abs() < 0.03,
                "{flag}/{variant}: {got} vs {want}"
            );
        }
    }
    assert_eq!(
        share("same", "b"),
        0.0,
        "one implicit seed per flag: B fully shadowed"
    );
}

#[tokio::test]
async fn context_errors_plain_reads_and_get_latest_configuration() {
    let (server, c) = Server::start_with_client();
    let doc = document(json!([
        variant("gold", r#"(eq $tier "gold")"#),
        variant("open", r#"(not (eq $tier "silver"))"#),
        default_variant()
    ]));
    let ids = deploy_flags(&c, &doc).await;
    let path = crate::dataplane::agent_path(&ids.app, &ids.env, &ids.profile);
    let bad = crate::dataplane::get(&server, &path, &[("Context", "tier=gold,oops")]);
    assert_eq!(bad.status, 400, "{bad:?}");
    assert_eq!(
        bad.header("x-amzn-errortype")
            .unwrap_or_default()
            .split(':')
            .next(),
        Some("BadRequestException"),
        "{bad:?}"
    );
    assert_eq!(
        read(&server, &path, &[("Context", "tier=gold")]),
        json!({"f": {"_variant": "gold", "enabled": true, "color": "gold"}, "basic": {"enabled": true, "n": 7}})
    );
    assert_eq!(
        read(&server, &path, &[("Context", "tier=silver")])["f"],
        json!({"_variant": "Default", "enabled": false})
    );
    // No context: `(not (eq $tier "silver"))` holds for an absent tier.
    let empty = json!({"f": {"_variant": "open", "enabled": true, "color": "open"}, "basic": {"enabled": true, "n": 7}});
    assert_eq!(read(&server, &path, &[]), empty);
    assert_eq!(
        read(
            &server,
            &format!("{path}?flag=basic"),
            &[("Context", "tier=gold")]
        ),
        json!({"enabled": true, "n": 7})
    );
    // Plain AppConfigData callers get the same empty-context evaluation, as JSON.
    let data = crate::dataplane::data_client_for(server.endpoint());
    let token = crate::dataplane::session(&data, &ids.app, &ids.env, &ids.profile, None).await;
    let out = crate::dataplane::poll(&data, &token).await;
    assert_eq!(out.content_type(), Some("application/json"));
    let served: Value = serde_json::from_slice(&crate::dataplane::body(&out)).unwrap();
    assert_eq!(served, empty);
}

// ---------------------------------------------------------------------------------------------
// The Ion retrieval format
// ---------------------------------------------------------------------------------------------

const ION_ACCEPT: &str = "application/ion;type=AWS.AppConfig.FeatureFlags;q=1.0,*/*;q=0.1";

/// Checks the documented layout: every flag annotated with its key; a variant flag a list of
/// [rule s-expression, content] tuples annotated with the variant name, then the default's
/// content; a basic flag a string.
fn assert_ion_layout(body: &[u8]) {
    assert!(
        body.starts_with(&[0xE0, 0x01, 0x00, 0xEA]),
        "binary Ion 1.0"
    );
    let values = ion_rs::Element::read_all(body).expect("the body decodes as Ion");
    let mut seen = Vec::new();
    for value in values.iter() {
        let key = value
            .annotations()
            .first()
            .expect("annotated with the flag key");
        seen.push(key.to_owned());
        match key {
            "basic" => {
                let content: Value = serde_json::from_str(value.as_string().unwrap()).unwrap();
                assert_eq!(content, json!({"enabled": true, "n": 7}));
            }
            "f" => {
                let items = value.as_list().expect("a list");
                assert_eq!(items.len(), 3);
                let gold = items.get(0).unwrap();
                assert_eq!(gold.annotations().first(), Some("gold"));
                let tuple = gold.as_list().expect("[rule, content]");
                let rule = tuple.get(0).unwrap().as_sexp().expect("an s-expression");
                let parts: Vec<String> = rule.iter().map(|e| e.to_string()).collect();
                assert_eq!(parts, ["eq", "$tier", "\"gold\""]);
                let content: Value =
                    serde_json::from_str(tuple.get(1).unwrap().as_string().unwrap()).unwrap();
                assert_eq!(
                    content,
                    json!({"_variant": "gold", "enabled": true, "color": "gold"})
                );
                let default = items.get(2).unwrap();
                assert!(default.annotations().is_empty());
                let content: Value = serde_json::from_str(default.as_string().unwrap()).unwrap();
                assert_eq!(content, json!({"_variant": "Default", "enabled": false}));
            }
            other => panic!("unexpected flag {other}"),
        }
    }
    seen.sort();
    assert_eq!(seen, ["basic", "f"]);
}

#[tokio::test]
async fn the_agents_accept_header_gets_the_ion_retrieval_format() {
    let (server, c) = Server::start_with_client();
    let doc = document(json!([
        variant("gold", r#"(eq $tier "gold")"#),
        variant("silver", "(gte $points 1000)"),
        default_variant()
    ]));
    let ids = deploy_flags(&c, &doc).await;
    let data = crate::dataplane::data_client_for(server.endpoint());
    let session = || crate::dataplane::session(&data, &ids.app, &ids.env, &ids.profile, None);
    let token = session().await;
    let encoded = percent_encoding::utf8_percent_encode(&token, percent_encoding::NON_ALPHANUMERIC);
    let path = format!("/configuration?configuration_token={encoded}");
    let r = crate::dataplane::get(&server, &path, &[("Accept", ION_ACCEPT)]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/ion; type=AWS.AppConfig.FeatureFlags")
    );
    assert_ion_layout(&r.body);
    // Other callers, and an Ion Accept refused with q=0, get JSON.
    for accept in [
        "application/json",
        "application/ion;type=AWS.AppConfig.FeatureFlags;q=0",
    ] {
        let r = crate::dataplane::get(&server, &path, &[("Accept", accept)]);
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{accept}"
        );
        assert_eq!(r.json()["basic"], json!({"enabled": true, "n": 7}));
    }
    // The agent path answers Ion too.
    let agent = crate::dataplane::agent_path(&ids.app, &ids.env, &ids.profile);
    let r = crate::dataplane::get(&server, &agent, &[("Accept", ION_ACCEPT)]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_ion_layout(&r.body);
}
