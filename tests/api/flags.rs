//! Issue 14, multi-variant feature flags: rules refused at CreateHostedConfigurationVersion
//! (through the SDK), evaluated per request on the agent path (`Context` headers), the JSON
//! served to plain GetLatestConfiguration callers, and the Ion retrieval format.

use aws_sdk_appconfig::operation::create_hosted_configuration_version::CreateHostedConfigurationVersionError;
use aws_sdk_appconfig::types::{BadRequestDetails, BadRequestReason};
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
    let server = Server::start();
    let c = server.client();
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
        assert_eq!(
            br.reason(),
            Some(&BadRequestReason::InvalidConfiguration),
            "{what}"
        );
        let Some(BadRequestDetails::InvalidConfiguration(details)) = br.details() else {
            panic!("{what}: expected InvalidConfiguration details: {br:?}");
        };
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
