//! CreateHostedConfigurationVersion, GetHostedConfigurationVersion,
//! DeleteHostedConfigurationVersion, ListHostedConfigurationVersions.

use aws_sdk_appconfig::operation::create_hosted_configuration_version::CreateHostedConfigurationVersionError;
use aws_sdk_appconfig::operation::get_hosted_configuration_version::GetHostedConfigurationVersionError;
use aws_sdk_appconfig::types::{BadRequestDetails, BadRequestReason};
use aws_sdk_appconfig::Client;
use aws_smithy_types::Blob;

use crate::harness::*;

async fn setup(c: &Client) -> (String, String) {
    app_and_profile(c).await
}

async fn get_content(c: &Client, app: &str, profile: &str, v: i32) -> (Vec<u8>, Option<String>) {
    let out = get_version(c, app, profile, v).await;
    (
        out.content().unwrap().as_ref().to_vec(),
        out.content_type().map(String::from),
    )
}

#[tokio::test]
async fn create_then_get_round_trips_content_and_metadata() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = setup(&c).await;
    let body = br#"{"limit": 10, "name": "caf\u00e9"}"#;
    let created = send!(
        version_request(&c, &app, &profile, body.to_vec(), "application/json")
            .description("first version")
            .version_label("v1.0")
    )
    .unwrap();
    assert_eq!(created.version_number(), 1);
    assert_eq!(created.application_id(), Some(app.as_str()));
    assert_eq!(created.configuration_profile_id(), Some(profile.as_str()));
    assert_eq!(created.content_type(), Some("application/json"));
    assert_eq!(created.description(), Some("first version"));
    assert_eq!(created.version_label(), Some("v1.0"));
    assert_eq!(created.content().unwrap().as_ref(), body, "content echoed");

    let got = get_version(&c, &app, &profile, 1).await;
    assert_eq!(got.version_number(), 1);
    assert_eq!(got.application_id(), Some(app.as_str()));
    assert_eq!(got.configuration_profile_id(), Some(profile.as_str()));
    assert_eq!(got.content_type(), Some("application/json"));
    assert_eq!(got.description(), Some("first version"));
    assert_eq!(got.version_label(), Some("v1.0"));
    assert_eq!(got.content().unwrap().as_ref(), body);

    let list = send!(c
        .list_hosted_configuration_versions()
        .application_id(&app)
        .configuration_profile_id(&profile))
    .unwrap();
    assert_eq!(list.items().len(), 1);
    let s = &list.items()[0];
    assert_eq!(s.application_id(), Some(app.as_str()));
    assert_eq!(s.configuration_profile_id(), Some(profile.as_str()));
    assert_eq!(s.version_number(), 1);
    assert_eq!(s.description(), Some("first version"));
    assert_eq!(s.content_type(), Some("application/json"));
    assert_eq!(s.version_label(), Some("v1.0"));
    assert!(list.next_token().is_none());
}

#[tokio::test]
async fn binary_content_and_arbitrary_content_types_round_trip_exactly() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = setup(&c).await;

    // Every byte value, invalid UTF-8 sequences, NULs and CR/LF.
    let mut binary: Vec<u8> = (0..=255u8).collect();
    binary.extend_from_slice(&[0xff, 0xfe, 0x00, 0xc3, 0x28, b'\r', b'\n', 0x80, 0x00]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (binary, "application/octet-stream"),
        (vec![0x08, 0x96, 0x01, 0x12, 0x00], "application/x-protobuf"),
        (b"a: 1\nb:\n  - x\n".to_vec(), "application/x-yaml"),
        (
            "latin: caf\u{e9}".as_bytes().to_vec(),
            "text/plain; charset=utf-8",
        ),
        (b"  \n\t  ".to_vec(), "text/plain"),
        (vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00], "application/gzip"),
        (b"<x/>".to_vec(), "vendor/x-custom+xml;v=2"),
    ];
    let mut numbers = Vec::new();
    for (content, ct) in &cases {
        let created = send!(version_request(&c, &app, &profile, content.clone(), ct)).unwrap();
        assert_eq!(created.content().unwrap().as_ref(), &content[..], "{ct}");
        assert_eq!(created.content_type(), Some(*ct));
        numbers.push(created.version_number());
    }
    for ((content, ct), n) in cases.iter().zip(&numbers) {
        let (got, got_ct) = get_content(&c, &app, &profile, *n).await;
        assert_eq!(&got, content, "content of {ct} changed");
        assert_eq!(got_ct.as_deref(), Some(*ct));
    }
}

#[tokio::test]
async fn large_content_round_trips() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = setup(&c).await;
    // 1.5 MB of pseudo-random bytes: below the 2 MB default limit, above the JSON body limit.
    let mut rng = fastrand::Rng::with_seed(7);
    let content: Vec<u8> = (0..1_500_000).map(|_| rng.u8(..)).collect();
    let n = create_version(&c, &app, &profile, &content, "application/octet-stream").await;
    let (got, _) = get_content(&c, &app, &profile, n).await;
    assert_eq!(got.len(), content.len());
    assert!(got == content, "large content changed");
}

#[tokio::test]
async fn version_numbers_are_never_reused() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = setup(&c).await;
    let mut numbers = Vec::new();
    for i in 0..3 {
        numbers.push(
            create_version(&c, &app, &profile, format!("{i}").as_bytes(), "text/plain").await,
        );
    }
    assert_eq!(numbers, [1, 2, 3]);

    // Delete the newest: the next version is 4, not 3.
    delete_version(&c, &app, &profile, 3).await;
    assert_eq!(
        create_version(&c, &app, &profile, b"x", "text/plain").await,
        4
    );

    // Delete everything: numbering still continues.
    for v in [1, 2, 4] {
        delete_version(&c, &app, &profile, v).await;
    }
    assert!(all_version_numbers(&c, &app, &profile).await.is_empty());
    assert_eq!(
        create_version(&c, &app, &profile, b"y", "text/plain").await,
        5
    );

    // Numbers are per profile.
    let other = create_profile(&c, &app, "other").await;
    assert_eq!(
        create_version(&c, &app, &other, b"z", "text/plain").await,
        1
    );
}

#[tokio::test]
async fn delete_and_get_of_unknown_versions() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = setup(&c).await;
    create_version(&c, &app, &profile, b"1", "text/plain").await;
    create_version(&c, &app, &profile, b"2", "text/plain").await;
    delete_version(&c, &app, &profile, 1).await;
    assert_eq!(all_version_numbers(&c, &app, &profile).await, vec![2]);

    let (e, status) = service_error(send!(c
        .get_hosted_configuration_version()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .version_number(1)));
    assert_eq!(status, 404);
    assert_not_found_names!(
        e,
        GetHostedConfigurationVersionError,
        "HostedConfigurationVersion"
    );
    let e = sdk_err!(delete_version_request(&c, &app, &profile, 1));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    // A version of another profile is not reachable through this one.
    let other = create_profile(&c, &app, "other").await;
    let e = sdk_err!(c
        .get_hosted_configuration_version()
        .application_id(&app)
        .configuration_profile_id(&other)
        .version_number(2));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    let req = c.list_hosted_configuration_versions().application_id(&app);
    let e = sdk_err!(req.configuration_profile_id("abc1234"));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test]
async fn latest_version_number_is_an_optimistic_lock() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = setup(&c).await;
    create_version(&c, &app, &profile, b"1", "text/plain").await;

    // Stale expectation.
    let req = version_request(&c, &app, &profile, b"stale", "text/plain");
    let (e, status) = service_error(send!(req.latest_version_number(5)));
    assert_eq!(status, 409);
    assert!(e.is_conflict_exception(), "{e:?}");
    assert_eq!(all_version_numbers(&c, &app, &profile).await, vec![1]);

    // Matching expectation.
    let out = send!(
        version_request(&c, &app, &profile, b"fresh".to_vec(), "text/plain")
            .latest_version_number(1)
    )
    .unwrap();
    assert_eq!(out.version_number(), 2);

    // The same expectation again is now stale.
    let e = sdk_err!(c
        .create_hosted_configuration_version()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .content(Blob::new(b"again".to_vec()))
        .content_type("text/plain")
        .latest_version_number(1));
    assert!(e.is_conflict_exception(), "{e:?}");
    assert_eq!(all_version_numbers(&c, &app, &profile).await, vec![1, 2]);
}

/// A profile with one version per entry of `labels` (None = unlabelled).
async fn labelled_versions(c: &Client, labels: &[Option<&str>]) -> (String, String) {
    let (app, profile) = setup(c).await;
    for label in labels {
        let out = send!(
            version_request(c, &app, &profile, b"{}".to_vec(), "application/json")
                .set_version_label(label.map(String::from))
        )
        .unwrap();
        assert_eq!(out.version_label(), *label);
    }
    (app, profile)
}

async fn labels_matching(c: &Client, app: &str, profile: &str, filter: &str) -> Vec<String> {
    send!(c
        .list_hosted_configuration_versions()
        .application_id(app)
        .configuration_profile_id(profile)
        .version_label(filter))
    .unwrap_or_else(|e| panic!("list with version_label={filter:?}: {e:?}"))
    .items()
    .iter()
    .map(|v| v.version_label().unwrap_or_default().to_string())
    .collect()
}

#[tokio::test]
async fn version_label_filter_exact() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = labelled_versions(
        &c,
        &[Some("v1"), Some("v2"), Some("v2.1"), Some("beta"), None],
    )
    .await;
    assert_eq!(labels_matching(&c, &app, &profile, "v2").await, ["v2"]);
    assert_eq!(labels_matching(&c, &app, &profile, "beta").await, ["beta"]);
    assert!(
        labels_matching(&c, &app, &profile, "bet").await.is_empty(),
        "no prefix match without *"
    );
    assert!(labels_matching(&c, &app, &profile, "V2").await.is_empty());
    assert_eq!(
        all_version_numbers(&c, &app, &profile).await,
        vec![1, 2, 3, 4, 5]
    );
}

#[tokio::test]
async fn version_label_filter_trailing_star_is_a_prefix_match() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = labelled_versions(
        &c,
        &[
            Some("v1"),
            Some("v2"),
            Some("v2.1"),
            Some("beta"),
            None,
            Some("a_b"),
            Some("axb"),
            Some("a%c"),
        ],
    )
    .await;
    assert_eq!(
        labels_matching(&c, &app, &profile, "v2*").await,
        ["v2", "v2.1"]
    );
    assert_eq!(
        labels_matching(&c, &app, &profile, "v*").await,
        ["v1", "v2", "v2.1"]
    );
    assert!(labels_matching(&c, &app, &profile, "nope*")
        .await
        .is_empty());
    // `_` and `%` are literal characters, not SQL wildcards.
    assert_eq!(labels_matching(&c, &app, &profile, "a_*").await, ["a_b"]);
    assert_eq!(labels_matching(&c, &app, &profile, "a%*").await, ["a%c"]);
}

#[tokio::test]
async fn version_label_rules() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = setup(&c).await;
    let create = |label: &'static str| {
        c.create_hosted_configuration_version()
            .application_id(&app)
            .configuration_profile_id(&profile)
            .content(Blob::new(b"{}".to_vec()))
            .content_type("application/json")
            .version_label(label)
            .send()
    };
    create("release-1").await.unwrap();

    // All digits: the model pattern `.*[^0-9].*` requires a non-digit.
    let e = err(create("123").await);
    assert!(e.is_bad_request_exception(), "{e:?}");
    assert_names(&e, "versionLabel");

    // Header values are ASCII (AWS documents the same for Description).
    let e = err(create("\u{e9}t\u{e9}").await);
    assert!(e.is_bad_request_exception(), "{e:?}");

    // Labels are unique within a profile (they can stand in for the number).
    let (e, status) = service_error(create("release-1").await);
    assert_eq!(status, 409);
    assert!(e.is_conflict_exception(), "{e:?}");
    assert_eq!(all_version_numbers(&c, &app, &profile).await, vec![1]);
}

#[tokio::test]
async fn content_and_content_type_are_required() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = setup(&c).await;
    let e = sdk_err!(c
        .create_hosted_configuration_version()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .content(Blob::new(Vec::new()))
        .content_type("text/plain"));
    assert!(e.is_bad_request_exception(), "{e:?}");
    assert_names(&e, "content");

    let e = sdk_err!(version_request(&c, &app, &profile, b"x", &chars('t', 256)));
    assert!(e.is_bad_request_exception(), "{e:?}");
    assert_names(&e, "contentType");
    assert!(all_version_numbers(&c, &app, &profile).await.is_empty());
}

#[tokio::test]
async fn versions_only_for_hosted_profiles() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let role = "arn:aws:iam::111122223333:role/reader";
    let ssm = create_external_profile(&c, &app, "ssm", "ssm-parameter://param", role).await;
    let e = sdk_err!(version_request(&c, &app, &ssm, b"x", "text/plain"));
    assert!(e.is_bad_request_exception(), "{e:?}");
    let e = sdk_err!(version_request(&c, &app, "abc1234", b"x", "text/plain"));
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

#[tokio::test]
async fn kms_key_arn_of_the_profile_is_reported_on_versions() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let profile = send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("encrypted")
        .location_uri("hosted")
        .kms_key_identifier(key))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    let req = version_request(&c, &app, &profile, b"secret", "text/plain");
    let created = send!(req).unwrap();
    assert_eq!(created.kms_key_arn(), Some(key));
    let list = send!(c
        .list_hosted_configuration_versions()
        .application_id(&app)
        .configuration_profile_id(&profile))
    .unwrap();
    assert_eq!(list.items()[0].kms_key_arn(), Some(key));
}

const VALID_FLAGS: &str = r#"{
  "version": "1",
  "flags": {
    "ui_refresh": {
      "name": "UI refresh",
      "attributes": {
        "color": {"constraints": {"type": "string", "enum": ["red", "blue"], "required": true}},
        "limit": {"constraints": {"type": "number", "minimum": 1, "maximum": 10}}
      }
    },
    "dark-mode": {"name": "Dark mode"}
  },
  "values": {
    "ui_refresh": {"enabled": true, "color": "red", "limit": 5},
    "dark-mode": {"enabled": false}
  }
}"#;

#[tokio::test]
async fn feature_flag_profile_accepts_a_valid_document_unchanged() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = create_flags_profile(&c, &app, "flags").await;
    let n = create_version(
        &c,
        &app,
        &profile,
        VALID_FLAGS.as_bytes(),
        "application/json",
    )
    .await;
    let (got, ct) = get_content(&c, &app, &profile, n).await;
    assert_eq!(
        got,
        VALID_FLAGS.as_bytes(),
        "stored form is returned as uploaded"
    );
    assert_eq!(ct.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn feature_flag_profile_rejects_invalid_documents_with_details() {
    let (_server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let profile = create_flags_profile(&c, &app, "flags").await;
    let bad_docs: [&[u8]; 6] = [
        // Not JSON.
        b"this is not json",
        // Unsupported version.
        br#"{"version": "2", "flags": {}}"#,
        // Unknown top-level member.
        br#"{"version": "1", "flags": {}, "extra": true}"#,
        // Invalid flag key.
        br#"{"version": "1", "flags": {"Bad Key": {"name": "x"}}}"#,
        // Value breaks its constraint (enum).
        br#"{"version": "1",
            "flags": {"f": {"name": "f", "attributes": {"color": {"constraints": {"type": "string", "enum": ["red"]}}}}},
            "values": {"f": {"enabled": true, "color": "green"}}}"#,
        // Value without `enabled`.
        br#"{"version": "1", "flags": {"f": {"name": "f"}}, "values": {"f": {}}}"#,
    ];
    for doc in bad_docs {
        let shown = String::from_utf8_lossy(doc).to_string();
        let req = version_request(&c, &app, &profile, doc.to_vec(), "application/json");
        let (e, status) = service_error(send!(req));
        assert_eq!(status, 400, "{shown}");
        let CreateHostedConfigurationVersionError::BadRequestException(br) = e else {
            panic!("expected BadRequestException for {shown}, got {e:?}");
        };
        assert_eq!(
            br.reason(),
            Some(&BadRequestReason::InvalidConfiguration),
            "{shown}"
        );
        let Some(BadRequestDetails::InvalidConfiguration(details)) = br.details() else {
            panic!("expected InvalidConfiguration details for {shown}: {br:?}");
        };
        assert!(!details.is_empty(), "{shown}");
        for d in details {
            assert!(d.location().is_some(), "detail without Location: {d:?}");
            assert!(d.reason().is_some(), "detail without Reason: {d:?}");
        }
    }
    assert!(
        all_version_numbers(&c, &app, &profile).await.is_empty(),
        "rejected documents are not stored"
    );
    // The first accepted version is still number 1.
    let n = create_version(
        &c,
        &app,
        &profile,
        VALID_FLAGS.as_bytes(),
        "application/json",
    )
    .await;
    assert_eq!(n, 1);
}

#[tokio::test]
async fn freeform_profile_stores_anything() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = setup(&c).await;
    // The hosted store itself does not validate freeform content.
    let n = create_version(
        &c,
        &app,
        &profile,
        br#"{"version": "2", "not": "flags"#,
        "application/json",
    )
    .await;
    assert_eq!(n, 1);
}
