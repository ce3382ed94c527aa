//! ValidateConfiguration: runs a profile's validators against one of its hosted versions.

use aws_sdk_appconfig::operation::validate_configuration::ValidateConfigurationError;
use aws_sdk_appconfig::types::{BadRequestDetails, BadRequestReason, Validator, ValidatorType};
use aws_sdk_appconfig::Client;

use crate::harness::*;

const SCHEMA: &str = r#"{
  "type": "object",
  "required": ["limit"],
  "properties": {"limit": {"type": "integer", "minimum": 1}, "name": {"type": "string"}}
}"#;

async fn schema_profile(c: &Client, app: &str) -> String {
    send!(c
        .create_configuration_profile()
        .application_id(app)
        .name("validated")
        .location_uri("hosted")
        .validators(
            Validator::builder()
                .r#type(ValidatorType::JsonSchema)
                .content(SCHEMA)
                .build()
                .unwrap(),
        ))
    .unwrap()
    .id()
    .unwrap()
    .to_string()
}

fn invalid_configuration(e: ValidateConfigurationError) -> Vec<(String, String)> {
    let ValidateConfigurationError::BadRequestException(br) = e else {
        panic!("expected BadRequestException, got {e:?}");
    };
    assert_eq!(br.reason(), Some(&BadRequestReason::InvalidConfiguration));
    let Some(BadRequestDetails::InvalidConfiguration(details)) = br.details() else {
        panic!("expected InvalidConfiguration details: {br:?}");
    };
    assert!(!details.is_empty());
    details
        .iter()
        .map(|d| {
            (
                d.location().unwrap_or_default().to_string(),
                d.constraint().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// ValidateConfiguration of `version` of the profile.
fn validate(
    c: &Client,
    app: &str,
    profile: &str,
    version: impl Into<String>,
) -> aws_sdk_appconfig::operation::validate_configuration::builders::ValidateConfigurationFluentBuilder
{
    c.validate_configuration()
        .application_id(app)
        .configuration_profile_id(profile)
        .configuration_version(version)
}

#[tokio::test]
async fn passes_when_content_satisfies_the_schema() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = schema_profile(&c, &app).await;
    let v = create_version(
        &c,
        &app,
        &profile,
        br#"{"limit": 5, "name": "x"}"#,
        "application/json",
    )
    .await;
    validate(&c, &app, &profile, v.to_string())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn fails_with_invalid_configuration_details_when_content_breaks_the_schema() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = schema_profile(&c, &app).await;
    // The hosted store accepts it; only validation rejects it.
    let v = create_version(
        &c,
        &app,
        &profile,
        br#"{"limit": "ten"}"#,
        "application/json",
    )
    .await;
    let (e, status) = service_error(validate(&c, &app, &profile, v.to_string()).send().await);
    assert_eq!(status, 400);
    let details = invalid_configuration(e);
    assert!(
        details.contains(&("$.limit".to_string(), "type".to_string())),
        "{details:?}"
    );

    let v = create_version(&c, &app, &profile, br#"{"name": 1}"#, "application/json").await;
    let e = err(validate(&c, &app, &profile, v.to_string()).send().await);
    let details = invalid_configuration(e);
    assert!(
        details.len() >= 2,
        "missing limit and wrong name type: {details:?}"
    );
}

#[tokio::test]
async fn fails_when_content_is_not_json() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = schema_profile(&c, &app).await;
    let v = create_version(&c, &app, &profile, b"limit = 5", "text/plain").await;
    let e = err(validate(&c, &app, &profile, v.to_string()).send().await);
    invalid_configuration(e);
}

#[tokio::test]
async fn a_profile_without_validators_always_passes() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = create_profile(&c, &app, "plain").await;
    let v = create_version(
        &c,
        &app,
        &profile,
        b"\x00\x01 anything",
        "application/octet-stream",
    )
    .await;
    validate(&c, &app, &profile, v.to_string())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn feature_flag_profiles_validate_their_documents() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = create_flags_profile(&c, &app, "flags").await;
    let doc = br#"{"version": "1", "flags": {"beta": {"name": "Beta"}}, "values": {"beta": {"enabled": true}}}"#;
    let v = create_version(&c, &app, &profile, doc, "application/json").await;
    validate(&c, &app, &profile, v.to_string())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn unknown_version_or_profile_is_not_found() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = schema_profile(&c, &app).await;
    let v = create_version(&c, &app, &profile, br#"{"limit": 1}"#, "application/json").await;

    for version in ["99", "not-a-number"] {
        let (e, status) = service_error(validate(&c, &app, &profile, version).send().await);
        assert_eq!(status, 404, "{version}");
        assert!(
            matches!(e, ValidateConfigurationError::ResourceNotFoundException(_)),
            "{version}: {e:?}"
        );
    }
    // A deleted version is gone for validation too.
    delete_version(&c, &app, &profile, v).await;
    let e = err(validate(&c, &app, &profile, v.to_string()).send().await);
    assert_matches!(e, ValidateConfigurationError::ResourceNotFoundException(_));
    let e = sdk_err!(c
        .validate_configuration()
        .application_id(&app)
        .configuration_profile_id("abcd123")
        .configuration_version("1"));
    assert_matches!(e, ValidateConfigurationError::ResourceNotFoundException(_));
}

#[tokio::test]
async fn configuration_version_is_required() {
    // The SDK refuses to send this, so check the wire directly (other clients may send it).
    let (server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = create_profile(&c, &app, "plain").await;
    let raw = raw_call(
        server.addr(),
        "POST",
        &format!("/applications/{app}/configurationprofiles/{profile}/validators"),
    );
    assert_eq!(raw.status, 400, "{raw:?}");
    assert_eq!(raw.header("x-amzn-errortype"), Some("BadRequestException"));
    assert!(raw.message().contains("configurationVersion"), "{raw:?}");
}
