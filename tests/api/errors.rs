//! Wire-level error typing: each modelled exception reaches the SDK as its own variant with its
//! members, and everything else still comes back as a well-formed AWS JSON error.

use aws_sdk_appconfig::operation::create_application::CreateApplicationError;
use aws_sdk_appconfig::operation::create_hosted_configuration_version::CreateHostedConfigurationVersionError;
use aws_sdk_appconfig::operation::get_application::GetApplicationError;
use aws_sdk_appconfig::operation::RequestId;
use aws_sdk_appconfig::types::BytesMeasure;

use crate::harness::*;

#[tokio::test]
async fn bad_request_exception() {
    let (_server, c) = Server::start_with_client();
    let e = typed_err(
        send!(c.create_application().name("")),
        "BadRequestException",
        400,
    );
    let br = variant!(e, CreateApplicationError::BadRequestException);
    assert!(
        br.message().unwrap().contains("name"),
        "message names the member: {br:?}"
    );
    assert!(
        br.reason().is_none(),
        "plain constraint errors carry no Reason"
    );
    assert!(
        e.request_id().is_some(),
        "x-amzn-RequestId is sent on errors"
    );
}

#[tokio::test]
async fn every_constraint_violation_is_reported_at_once() {
    let (_server, c) = Server::start_with_client();
    let e = sdk_err!(c
        .create_application()
        .name(chars('n', 65))
        .description(chars('d', 1025)));
    let m = message(&e);
    assert!(m.contains("2 validation errors"), "{m}");
    assert!(m.contains("name") && m.contains("description"), "{m}");
}

#[tokio::test]
async fn resource_not_found_exception_names_the_resource() {
    let (_server, c) = Server::start_with_client();
    let e = typed_err(
        c.get_application().application_id("abcd123").send().await,
        "ResourceNotFoundException",
        404,
    );
    let nf = variant!(e, GetApplicationError::ResourceNotFoundException);
    assert_eq!(nf.resource_name(), Some("Application"));
    assert!(nf.message().unwrap().contains("abcd123"), "{nf:?}");
}

#[tokio::test]
async fn conflict_exception() {
    let (_server, c) = Server::start_with_client();
    let (app, profile) = app_and_profile(&c).await;
    let req = version_request(&c, &app, &profile, b"{}", "application/json");
    let e = typed_err(
        send!(req.latest_version_number(3)),
        "ConflictException",
        409,
    );
    assert!(e.is_conflict_exception(), "{e:?}");
    assert!(!message(&e).is_empty());
}

#[tokio::test]
async fn service_quota_exceeded_exception() {
    let (_server, c) = Server::start_with_args_client(&["--quota-applications", "2"]);
    create_app(&c, "one").await;
    create_app(&c, "two").await;
    let e = typed_err(
        c.create_application().name("three").send().await,
        "ServiceQuotaExceededException",
        402,
    );
    assert_matches!(e, CreateApplicationError::ServiceQuotaExceededException(_));
    assert!(message(&e).contains('2'), "{e:?}");
    assert_eq!(all_app_ids(&c).await.len(), 2, "nothing created");

    // Deleting frees the slot.
    let first = all_app_ids(&c).await.remove(0);
    send!(c.delete_application().application_id(&first)).unwrap();
    create_app(&c, "three").await;
}

#[tokio::test]
async fn payload_too_large_exception() {
    let (_server, c) = Server::start_with_args_client(&["--max-configuration-bytes", "1024"]);
    let (app, profile) = app_and_profile(&c).await;

    // Exactly at the limit is fine.
    let n = create_version(&c, &app, &profile, &[b'a'; 1024], "text/plain").await;
    assert_eq!(n, 1);

    let req = version_request(&c, &app, &profile, vec![b'b'; 2048], "text/plain");
    let e = typed_err(send!(req), "PayloadTooLargeException", 413);
    let pl = variant!(
        e,
        CreateHostedConfigurationVersionError::PayloadTooLargeException
    );
    assert_eq!(pl.measure(), Some(&BytesMeasure::Kilobytes));
    assert_eq!(pl.limit(), 1.0);
    assert_eq!(pl.size(), 2.0);
    assert!(pl.message().is_some());
    assert_eq!(all_version_numbers(&c, &app, &profile).await, vec![1]);
}

#[tokio::test]
async fn payload_too_large_beyond_the_request_body_buffer() {
    // Larger than anything the server buffers for a request: the body is cut off, and the
    // answer must still be a typed PayloadTooLargeException (not a dropped connection).
    let (_server, c) = Server::start_with_args_client(&["--max-configuration-bytes", "1024"]);
    let (app, profile) = app_and_profile(&c).await;
    let size = 1536 * 1024;
    let req = version_request(
        &c,
        &app,
        &profile,
        vec![b'c'; size],
        "application/octet-stream",
    );
    let (e, status) = service_error(send!(req));
    assert_eq!(status, 413);
    let pl = variant!(
        e,
        CreateHostedConfigurationVersionError::PayloadTooLargeException
    );
    assert_eq!(pl.limit(), 1.0);
    assert_eq!(pl.size(), 1536.0);
    assert!(all_version_numbers(&c, &app, &profile).await.is_empty());
}

/// A concrete value for a URI label of the model.
fn label_value(label: &str, app: &str) -> String {
    match label {
        "ResourceArn" => app_arn(app).replace(':', "%3A").replace('/', "%2F"),
        "ApplicationId" | "Application" => app.to_string(),
        "DeploymentNumber" | "VersionNumber" => "1".to_string(),
        "DeploymentStrategyId" => "AppConfig.AllAtOnce".to_string(),
        _ => "abcd123".to_string(),
    }
}

#[tokio::test]
async fn every_model_operation_answers_with_a_well_formed_response() {
    // Walk the botocore model: every operation, built or not, must answer with either success
    // or an AWS JSON error (x-amzn-ErrorType + JSON body with Message), never an HTML page or a
    // dropped connection. Every operation is built: none answers 501.
    let model: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/model/appconfig-2019-10-09.json"
    )))
    .unwrap();
    let (server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let operations = model["operations"].as_object().unwrap();
    // The newest published model (botocore 1.44.8): 45 operations of 2019–2022 and 11 for
    // experiments.
    assert_eq!(operations.len(), 56);
    for (name, op) in operations {
        let method = op["http"]["method"].as_str().unwrap();
        let uri = op["http"]["requestUri"].as_str().unwrap();
        let path: String = uri
            .split('?')
            .next()
            .unwrap()
            .split('/')
            .map(|segment| match segment.strip_prefix('{') {
                Some(label) => label_value(label.trim_end_matches(['}', '+']), &app),
                None => segment.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/");
        let body: &[u8] = if matches!(method, "POST" | "PATCH" | "PUT") {
            b"{}"
        } else {
            b""
        };
        let raw = raw_json(server.addr(), method, &path, body);
        assert!(
            (200..300).contains(&raw.status) || (400..600).contains(&raw.status),
            "{name}: {method} {path} answered {}",
            raw.status
        );
        // GetConfiguration's missing request id is pinned by `get_configuration_errors_…`.
        if name != "GetConfiguration" {
            assert!(
                raw.header("x-amzn-requestid").is_some(),
                "{name}: no request id"
            );
        }
        if raw.status >= 400 {
            assert!(
                raw.header("x-amzn-errortype").is_some(),
                "{name}: error without x-amzn-ErrorType: {raw:?}"
            );
            assert_eq!(
                raw.header("content-type"),
                Some("application/json"),
                "{name}"
            );
            assert!(raw.json()["Message"].is_string(), "{name}: {raw:?}");
            assert_ne!(
                raw.status, 500,
                "{name}: internal error for {method} {path}"
            );
            assert_ne!(raw.status, 501, "{name} is not implemented: {raw:?}");
        }
    }
    // The server is still healthy afterwards (the walk may have deleted the application).
    c.list_applications().send().await.unwrap();
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_json_errors() {
    let server = Server::start();
    let raw = raw_call(server.addr(), "GET", "/no/such/route");
    raw.assert_error(404, "ResourceNotFoundException");
    assert!(raw.json()["Message"].is_string());
    assert!(raw.header("x-amzn-requestid").is_some());

    let raw = raw_call(server.addr(), "PUT", "/applications");
    raw.assert_error(400, "BadRequestException");
    assert!(raw.json()["Message"].is_string());
}

#[tokio::test]
async fn malformed_json_bodies_are_bad_requests() {
    let (server, c) = Server::start_with_client();
    for body in [&b"{"[..], b"[1, 2]", b"\"just a string\"", b"{\"Name\": 5}"] {
        let raw = raw_json(server.addr(), "POST", "/applications", body);
        assert_eq!(raw.status, 400, "{:?}", String::from_utf8_lossy(body));
        assert_eq!(raw.header("x-amzn-errortype"), Some("BadRequestException"));
        assert!(raw.json()["Message"].is_string());
    }
    assert!(all_app_ids(&c).await.is_empty());
}

#[tokio::test]
async fn error_body_carries_type_and_members_on_the_wire() {
    let server = Server::start();
    let raw = raw_call(server.addr(), "GET", "/applications/abcd123");
    raw.assert_error(404, "ResourceNotFoundException");
    assert_eq!(raw.header("content-type"), Some("application/json"));
    let body = raw.json();
    assert_eq!(body["ResourceName"], "Application");
    assert!(body["Message"].as_str().unwrap().contains("abcd123"));
}

#[tokio::test]
async fn successful_responses_carry_a_request_id() {
    let (_server, c) = Server::start_with_client();
    let out = c.create_application().name("x").send().await.unwrap();
    let id = out.request_id().expect("x-amzn-RequestId");
    assert!(!id.is_empty());
    let again = c.list_applications().send().await.unwrap();
    assert_ne!(again.request_id(), Some(id), "request ids are unique");
}

#[tokio::test]
async fn get_configuration_errors_follow_the_control_plane_conventions() {
    let (server, c) = Server::start_with_client();
    let app = create_app(&c, "app").await;
    let path = format!("/applications/{app}/environments/abcd123/configurations/abcd123");

    // Without client_id the same path is the AppConfig Agent's read API (issue 5): an unknown
    // environment is a 404 in the data plane's shape, with a request id.
    let raw = raw_call(server.addr(), "GET", &path);
    assert!(raw.header("x-amzn-requestid").is_some(), "{raw:?}");
    assert_eq!(raw.status, 404, "{raw:?}");
    assert_eq!(raw.json()["ResourceType"], "Environment", "{raw:?}");

    // An empty client_id is the deprecated GetConfiguration with a bad input.
    let raw = raw_call(server.addr(), "GET", &format!("{path}?client_id="));
    assert_eq!(raw.status, 400, "{raw:?}");
    assert!(raw.message().contains("clientId"), "{raw:?}");

    let raw = raw_call(server.addr(), "GET", &format!("{path}?client_id=client-1"));
    assert!(raw.header("x-amzn-requestid").is_some(), "{raw:?}");
    raw.assert_error(404, "ResourceNotFoundException");
    assert!(raw.json()["ResourceName"].is_string(), "{raw:?}");
    let e = sdk_err!(get_configuration_request(
        &c, &app, "abcd123", "abcd123", "client-1"
    ));
    match e {
        aws_sdk_appconfig::operation::get_configuration::GetConfigurationError::ResourceNotFoundException(nf) => {
            assert!(nf.resource_name().is_some(), "{nf:?}");
        }
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
}
