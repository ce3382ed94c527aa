//! CreateConfigurationProfile, GetConfigurationProfile, UpdateConfigurationProfile,
//! DeleteConfigurationProfile, ListConfigurationProfiles.

use aws_sdk_appconfig::operation::create_configuration_profile::CreateConfigurationProfileError;
use aws_sdk_appconfig::operation::delete_configuration_profile::DeleteConfigurationProfileError;
use aws_sdk_appconfig::operation::get_configuration_profile::GetConfigurationProfileError;
use aws_sdk_appconfig::operation::update_configuration_profile::UpdateConfigurationProfileError;
use aws_sdk_appconfig::types::{Validator, ValidatorType};

use crate::harness::*;

const SCHEMA: &str =
    r#"{"type":"object","required":["limit"],"properties":{"limit":{"type":"integer"}}}"#;
const LAMBDA: &str = "arn:aws:lambda:us-east-1:111122223333:function:validate-config";
const ROLE: &str = "arn:aws:iam::111122223333:role/appconfig-retrieval";

fn validator(kind: ValidatorType, content: &str) -> Validator {
    Validator::builder()
        .r#type(kind)
        .content(content)
        .build()
        .unwrap()
}

#[tokio::test]
async fn create_then_get_round_trips_every_member() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let created = send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("service-config")
        .description("settings for the service")
        .location_uri("hosted")
        .validators(validator(ValidatorType::JsonSchema, SCHEMA))
        .validators(validator(ValidatorType::Lambda, LAMBDA))
        .kms_key_identifier("alias/appconfig")
        .tags("owner", "team-a"))
    .unwrap();
    let id = created.id().unwrap().to_string();
    assert_id(&id);
    assert_eq!(created.application_id(), Some(app.as_str()));
    assert_eq!(created.name(), Some("service-config"));
    assert_eq!(created.description(), Some("settings for the service"));
    assert_eq!(created.location_uri(), Some("hosted"));
    assert_eq!(created.r#type(), Some("AWS.Freeform"), "default type");
    assert_eq!(created.kms_key_identifier(), Some("alias/appconfig"));
    assert_eq!(
        created.kms_key_arn(),
        Some("arn:aws:kms:us-east-1:000000000000:alias/appconfig")
    );

    let got = send!(c
        .get_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&id))
    .unwrap();
    assert_eq!(got.id(), Some(id.as_str()));
    assert_eq!(got.name(), Some("service-config"));
    assert_eq!(got.description(), Some("settings for the service"));
    assert_eq!(got.location_uri(), Some("hosted"));
    assert_eq!(got.r#type(), Some("AWS.Freeform"));
    assert_eq!(got.retrieval_role_arn(), None);
    let v = got.validators();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0].r#type(), &ValidatorType::JsonSchema);
    assert_eq!(v[0].content(), SCHEMA);
    assert_eq!(v[1].r#type(), &ValidatorType::Lambda);
    assert_eq!(v[1].content(), LAMBDA);
    assert_eq!(
        got.kms_key_arn(),
        Some("arn:aws:kms:us-east-1:000000000000:alias/appconfig")
    );
    assert_eq!(
        tags_of(&c, &profile_arn(&app, &id))
            .await
            .get("owner")
            .unwrap(),
        "team-a"
    );
}

#[tokio::test]
async fn list_summaries_and_type_filter() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let plain = create_profile(&c, &app, "plain").await;
    let flags = create_flags_profile(&c, &app, "flags").await;
    let validated = send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("validated")
        .location_uri("hosted")
        .r#type("AWS.Freeform")
        .validators(validator(ValidatorType::JsonSchema, SCHEMA))
        .validators(validator(ValidatorType::Lambda, LAMBDA)))
    .unwrap()
    .id()
    .unwrap()
    .to_string();

    let all = send!(c.list_configuration_profiles().application_id(&app)).unwrap();
    let ids: Vec<_> = all.items().iter().map(|p| p.id().unwrap()).collect();
    assert_eq!(ids, [plain.as_str(), flags.as_str(), validated.as_str()]);
    let summary = &all.items()[2];
    assert_eq!(summary.application_id(), Some(app.as_str()));
    assert_eq!(summary.name(), Some("validated"));
    assert_eq!(summary.location_uri(), Some("hosted"));
    assert_eq!(summary.r#type(), Some("AWS.Freeform"));
    assert_eq!(
        summary.validator_types(),
        [ValidatorType::JsonSchema, ValidatorType::Lambda]
    );
    assert!(all.items()[0].validator_types().is_empty());
    assert_eq!(all.items()[1].r#type(), Some("AWS.AppConfig.FeatureFlags"));

    let only_flags = send!(c
        .list_configuration_profiles()
        .application_id(&app)
        .r#type("AWS.AppConfig.FeatureFlags"))
    .unwrap();
    let ids: Vec<_> = only_flags.items().iter().map(|p| p.id().unwrap()).collect();
    assert_eq!(ids, [flags.as_str()]);

    let only_freeform = send!(c
        .list_configuration_profiles()
        .application_id(&app)
        .r#type("AWS.Freeform"))
    .unwrap();
    let ids: Vec<_> = only_freeform
        .items()
        .iter()
        .map(|p| p.id().unwrap())
        .collect();
    assert_eq!(ids, [plain.as_str(), validated.as_str()]);

    let none = send!(c
        .list_configuration_profiles()
        .application_id(&app)
        .r#type("Some.Other"))
    .unwrap();
    assert!(none.items().is_empty());
}

#[tokio::test]
async fn list_of_unknown_application_is_not_found() {
    let (_server, c) = Server::start_with_client();
    let e = sdk_err!(c.list_configuration_profiles().application_id("abc1234"));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test]
async fn json_schema_validator_must_be_a_valid_schema() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;

    for bad in [r#"{"type": "object""#, r#"{"type": 12}"#] {
        let (e, status) = service_error(send!(c
            .create_configuration_profile()
            .application_id(&app)
            .name("bad-schema")
            .location_uri("hosted")
            .validators(validator(ValidatorType::JsonSchema, bad))));
        assert_eq!(status, 400);
        assert!(
            matches!(e, CreateConfigurationProfileError::BadRequestException(_)),
            "{bad}: {e:?}"
        );
        assert!(message(&e).contains("JSON_SCHEMA"), "{e:?}");
    }
    assert!(all_profile_ids(&c, &app).await.is_empty());

    // The same check guards UpdateConfigurationProfile; the stored validators stay.
    let id = send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("good-schema")
        .location_uri("hosted")
        .validators(validator(ValidatorType::JsonSchema, SCHEMA)))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    let e = sdk_err!(c
        .update_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&id)
        .name("renamed")
        .validators(validator(ValidatorType::JsonSchema, "[not a schema")));
    assert_matches!(e, UpdateConfigurationProfileError::BadRequestException(_));
    let got = send!(c
        .get_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&id))
    .unwrap();
    assert_eq!(got.name(), Some("good-schema"));
    assert_eq!(got.validators()[0].content(), SCHEMA);
}

#[tokio::test]
async fn lambda_validator_must_name_a_function() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let ok = send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("lambda")
        .location_uri("hosted")
        .validators(validator(ValidatorType::Lambda, LAMBDA)))
    .unwrap();
    assert_eq!(ok.validators()[0].content(), LAMBDA);

    let e = sdk_err!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("not-lambda")
        .location_uri("hosted")
        .validators(validator(ValidatorType::Lambda, "my-function")));
    assert_matches!(e, CreateConfigurationProfileError::BadRequestException(_));
    assert!(message(&e).contains("LAMBDA"), "{e:?}");
    assert_eq!(all_profile_ids(&c, &app).await.len(), 1);
}

#[tokio::test]
async fn at_most_two_validators() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let e = sdk_err!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("three")
        .location_uri("hosted")
        .validators(validator(ValidatorType::JsonSchema, SCHEMA))
        .validators(validator(ValidatorType::JsonSchema, SCHEMA))
        .validators(validator(ValidatorType::Lambda, LAMBDA)));
    assert_bad_field!(e, CreateConfigurationProfileError, "validators");
    assert!(all_profile_ids(&c, &app).await.is_empty());
}

#[tokio::test]
async fn update_is_a_patch() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let id = send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("cfg")
        .description("first")
        .location_uri("hosted")
        .validators(validator(ValidatorType::JsonSchema, SCHEMA))
        .kms_key_identifier("1234abcd-12ab-34cd-56ef-1234567890ab"))
    .unwrap()
    .id()
    .unwrap()
    .to_string();

    let out = send!(c
        .update_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&id)
        .description("second"))
    .unwrap();
    assert_eq!(out.name(), Some("cfg"));
    assert_eq!(out.description(), Some("second"));
    assert_eq!(out.location_uri(), Some("hosted"));
    assert_eq!(out.r#type(), Some("AWS.Freeform"));
    assert_eq!(out.validators().len(), 1, "omitted Validators are kept");
    assert_eq!(
        out.kms_key_arn(),
        Some("arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    );

    let out = send!(c
        .update_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&id)
        .name("renamed")
        .retrieval_role_arn(ROLE)
        .validators(validator(ValidatorType::Lambda, LAMBDA)))
    .unwrap();
    assert_eq!(out.name(), Some("renamed"));
    assert_eq!(out.description(), Some("second"));
    assert_eq!(out.retrieval_role_arn(), Some(ROLE));
    assert_eq!(out.validators().len(), 1);
    assert_eq!(out.validators()[0].r#type(), &ValidatorType::Lambda);

    // An empty KmsKeyIdentifier removes the key; an empty validator list clears them.
    let out = send!(c
        .update_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&id)
        .kms_key_identifier("")
        .set_validators(Some(vec![])))
    .unwrap();
    assert_eq!(out.kms_key_arn(), None);
    assert_eq!(out.kms_key_identifier(), None);
    assert!(out.validators().is_empty());

    let got = send!(c
        .get_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&id))
    .unwrap();
    assert_eq!(got.name(), Some("renamed"));
    assert_eq!(got.description(), Some("second"));
    assert_eq!(got.retrieval_role_arn(), Some(ROLE));
    assert!(got.validators().is_empty());
    assert_eq!(got.kms_key_arn(), None);
}

#[tokio::test]
async fn delete_refuses_while_hosted_versions_exist_and_removes_nothing() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = app_and_profile(&c).await;
    let v1 = create_version(&c, &app, &profile, b"{\"a\":1}", "application/json").await;
    let v2 = create_version(&c, &app, &profile, b"{\"a\":2}", "application/json").await;

    let (e, status) = service_error(send!(c
        .delete_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&profile)));
    assert_eq!(status, 400);
    assert_matches!(e, DeleteConfigurationProfileError::BadRequestException(_));
    assert!(
        message(&e).contains("hosted configuration versions"),
        "{e:?}"
    );
    send!(c
        .get_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&profile))
    .unwrap();
    assert_eq!(all_version_numbers(&c, &app, &profile).await, vec![v1, v2]);
    let content = get_version(&c, &app, &profile, v2).await;
    assert_eq!(content.content().unwrap().as_ref(), b"{\"a\":2}");

    for v in [v1, v2] {
        delete_version(&c, &app, &profile, v).await;
    }
    send!(c
        .delete_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&profile))
    .unwrap();
    let e = sdk_err!(c
        .get_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&profile));
    assert_not_found_names!(e, GetConfigurationProfileError, "ConfigurationProfile");
}

#[tokio::test]
async fn delete_accepts_the_deletion_protection_header() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = app_and_profile(&c).await;
    send!(c
        .delete_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .deletion_protection_check(aws_sdk_appconfig::types::DeletionProtectionCheck::Bypass))
    .unwrap();
    assert!(all_profile_ids(&c, &app).await.is_empty());
    let e = sdk_err!(c
        .delete_configuration_profile()
        .application_id(&app)
        .configuration_profile_id(&profile));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test]
async fn location_uri_and_type_rules() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;

    // External sources are stored as given.
    let ssm = c
        .create_configuration_profile()
        .application_id(&app)
        .name("ssm")
        .location_uri("ssm-parameter://my-parameter")
        .retrieval_role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(ssm.location_uri(), Some("ssm-parameter://my-parameter"));
    assert_eq!(ssm.retrieval_role_arn(), Some(ROLE));
    let before = all_profile_ids(&c, &app).await;

    // Unknown scheme.
    let e = err(c
        .create_configuration_profile()
        .application_id(&app)
        .name("ftp")
        .location_uri("ftp://example.com/config")
        .send()
        .await);
    assert_matches!(e, CreateConfigurationProfileError::BadRequestException(_));
    assert!(message(&e).contains("LocationUri"), "{e:?}");

    // Feature flags live in the hosted store only.
    let e = err(c
        .create_configuration_profile()
        .application_id(&app)
        .name("ff-on-s3")
        .location_uri("s3://bucket/flags.json")
        .r#type("AWS.AppConfig.FeatureFlags")
        .retrieval_role_arn(ROLE)
        .send()
        .await);
    assert_matches!(e, CreateConfigurationProfileError::BadRequestException(_));

    // Unknown type.
    let e = sdk_err!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("custom")
        .location_uri("hosted")
        .r#type("Custom.Type"));
    assert_matches!(e, CreateConfigurationProfileError::BadRequestException(_));
    assert!(message(&e).contains("Custom.Type"), "{e:?}");

    // RetrievalRoleArn must be an IAM role ARN (model pattern).
    let e = sdk_err!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("bad-role")
        .location_uri("hosted")
        .retrieval_role_arn("arn:aws:s3:::not-a-role-at-all"));
    assert_bad_field!(e, CreateConfigurationProfileError, "retrievalRoleArn");

    assert_eq!(all_profile_ids(&c, &app).await, before);
}

#[tokio::test]
async fn profile_names_may_be_128_characters() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let long = chars('p', 128);
    let ok = send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name(&long)
        .location_uri("hosted"))
    .unwrap();
    assert_eq!(ok.name(), Some(long.as_str()));
    let e = sdk_err!(c
        .create_configuration_profile()
        .application_id(&app)
        .name(chars('p', 129))
        .location_uri("hosted"));
    assert_bad_field!(e, CreateConfigurationProfileError, "name");
    // LocationUri is required.
    let e = sdk_err!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("no-location"));
    assert_bad_field!(e, CreateConfigurationProfileError, "locationUri");
    assert_eq!(all_profile_ids(&c, &app).await.len(), 1);
}

#[tokio::test]
async fn profile_is_scoped_to_its_application() {
    let (_server, c) = Server::start_with_client();
    let a = create_app(&c, "a").await;
    let b = create_app(&c, "b").await;
    let profile = create_profile(&c, &a, "cfg").await;
    let e = sdk_err!(c
        .get_configuration_profile()
        .application_id(&b)
        .configuration_profile_id(&profile));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = sdk_err!(c
        .update_configuration_profile()
        .application_id(&b)
        .configuration_profile_id(&profile)
        .name("stolen"));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let e = sdk_err!(c
        .get_configuration_profile()
        .application_id("abc1234")
        .configuration_profile_id(&profile));
    assert_not_found_names!(e, GetConfigurationProfileError, "Application");
    assert!(all_profile_ids(&c, &b).await.is_empty());
}

#[tokio::test]
async fn profile_quota_per_application() {
    let (_server, c) = Server::start_with_args_client(&["--quota-profiles", "1"]);
    let app = create_app(&c, "app").await;
    create_profile(&c, &app, "one").await;
    let (e, status) = service_error(send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("two")
        .location_uri("hosted")));
    assert_eq!(status, 402);
    assert!(e.is_service_quota_exceeded_exception(), "{e:?}");
    assert_eq!(all_profile_ids(&c, &app).await.len(), 1);
}
