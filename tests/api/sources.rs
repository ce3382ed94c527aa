//! Issue 15: configuration from S3, SSM Parameter Store, SSM documents and Secrets Manager,
//! against moto (S3, SSM, Secrets Manager, STS). Fixtures are written with the official SDK
//! crates the server itself uses; appconfigd reads them at StartDeployment and
//! ValidateConfiguration, and clients read the stored snapshot through GetLatestConfiguration
//! and the agent path even after the source changed or went away.

use std::time::{Duration, Instant};

use aws_sdk_appconfig::operation::start_deployment::StartDeploymentError;
use aws_sdk_appconfig::types::{DeploymentState, GrowthType, Validator, ValidatorType};
use aws_sdk_appconfig::Client;
use aws_smithy_types::byte_stream::ByteStream;

use crate::dataplane::{agent_path, body, data_client_for, get, poll};
use crate::harness::*;
use crate::scenario::{Ids, StrategySpec};
use crate::support::{Moto, Receiver, Reply, MOTO_ACCOUNT};

const ROLE: &str = "arn:aws:iam::123456789012:role/appconfig-reader";
const WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Fixtures in moto, through the SDK crates
// ---------------------------------------------------------------------------------------------

struct Aws {
    s3: aws_sdk_s3::Client,
    ssm: aws_sdk_ssm::Client,
    secrets: aws_sdk_secretsmanager::Client,
}

fn aws(moto: &Moto) -> Aws {
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("test", "test", None, None, "static"),
            ),
        )
        .http_client(sdk_http_client())
        .build();
    Aws {
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&config)
                .force_path_style(true)
                .build(),
        ),
        ssm: aws_sdk_ssm::Client::new(&config),
        secrets: aws_sdk_secretsmanager::Client::new(&config),
    }
}

impl Aws {
    async fn bucket(&self, name: &str, versioned: bool) {
        self.s3.create_bucket().bucket(name).send().await.unwrap();
        if versioned {
            let cfg = aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build();
            self.s3
                .put_bucket_versioning()
                .bucket(name)
                .versioning_configuration(cfg)
                .send()
                .await
                .unwrap();
        }
    }

    /// Puts an object; its version id (empty in an unversioned bucket).
    async fn object(&self, bucket: &str, key: &str, content: &[u8], content_type: &str) -> String {
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(content.to_vec()))
            .content_type(content_type)
            .send()
            .await
            .unwrap()
            .version_id()
            .unwrap_or_default()
            .to_string()
    }

    /// Puts a parameter (overwriting); its new version number.
    async fn parameter(&self, name: &str, value: &str, secure: bool) -> String {
        let kind = if secure {
            aws_sdk_ssm::types::ParameterType::SecureString
        } else {
            aws_sdk_ssm::types::ParameterType::String
        };
        self.ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(kind)
            .overwrite(true)
            .send()
            .await
            .unwrap()
            .version()
            .to_string()
    }

    async fn document(&self, name: &str, content: &str) {
        self.ssm
            .create_document()
            .name(name)
            .content(content)
            .document_type(aws_sdk_ssm::types::DocumentType::ApplicationConfiguration)
            .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
            .send()
            .await
            .unwrap();
    }

    /// A new document version; its number.
    async fn document_version(&self, name: &str, content: &str) -> String {
        self.ssm
            .update_document()
            .name(name)
            .content(content)
            .document_version("$LATEST")
            .document_format(aws_sdk_ssm::types::DocumentFormat::Json)
            .send()
            .await
            .unwrap()
            .document_description()
            .and_then(|d| d.document_version())
            .unwrap()
            .to_string()
    }

    /// Creates a secret; (ARN, version id).
    async fn secret(&self, name: &str, value: &str) -> (String, String) {
        let out = self
            .secrets
            .create_secret()
            .name(name)
            .secret_string(value)
            .send()
            .await
            .unwrap();
        (
            out.arn().unwrap().to_string(),
            out.version_id().unwrap().to_string(),
        )
    }

    /// A new current version of a secret; its version id.
    async fn secret_version(&self, name: &str, value: &str) -> String {
        self.secrets
            .put_secret_value()
            .secret_id(name)
            .secret_string(value)
            .send()
            .await
            .unwrap()
            .version_id()
            .unwrap()
            .to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// appconfigd side
// ---------------------------------------------------------------------------------------------

fn server_on(moto: &Moto, args: &[&str], env: &[(&str, &str)]) -> Server {
    let endpoint = moto.endpoint();
    let mut all: Vec<(&str, &str)> = vec![("AWS_ENDPOINT_URL", endpoint.as_str())];
    all.extend_from_slice(env);
    let mut argv = vec!["--time-scale", "60", "--s3-force-path-style"];
    argv.extend_from_slice(args);
    Server::start_with_env(&argv, &all)
}

/// An environment and a profile on `uri` (with the retrieval role) in application `app`.
async fn source_profile(c: &Client, app: &str, uri: &str, validators: Vec<Validator>) -> Ids {
    let env = create_env(c, app, &format!("env-{}", fastrand::u32(..))).await;
    let profile = c
        .create_configuration_profile()
        .application_id(app)
        .name("source")
        .location_uri(uri)
        .retrieval_role_arn(ROLE)
        .set_validators(Some(validators).filter(|v| !v.is_empty()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("create profile on {uri}: {e:?}"))
        .id()
        .unwrap()
        .to_string();
    Ids {
        app: app.to_string(),
        env,
        profile,
    }
}

/// Deploys `version` with an instant strategy and waits for it to complete.
async fn deploy(c: &Client, ids: &Ids, strategy: &str, version: &str) -> i32 {
    let d = ids
        .start_request(c, strategy, version)
        .send()
        .await
        .unwrap_or_else(|e| panic!("deploy {version}: {:?}", e.into_service_error()));
    assert_eq!(d.configuration_version(), Some(version));
    assert_eq!(d.version_label(), None);
    let n = d.deployment_number();
    ids.wait_state(c, n, DeploymentState::Complete, WAIT).await;
    n
}

/// What a client reads, through GetLatestConfiguration and the agent path:
/// (bytes, content type), checked to agree.
async fn read(server: &Server, ids: &Ids, version: &str) -> (Vec<u8>, String) {
    let d = data_client_for(server.endpoint());
    let token = crate::dataplane::session(&d, &ids.app, &ids.env, &ids.profile, None).await;
    let out = poll(&d, &token).await;
    let (bytes, content_type) = (
        body(&out),
        out.content_type().unwrap_or_default().to_string(),
    );
    assert_eq!(out.version_label(), None);
    let r = get(server, &agent_path(&ids.app, &ids.env, &ids.profile), &[]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, bytes, "agent and GetLatestConfiguration agree");
    assert_eq!(r.header("content-type"), Some(content_type.as_str()));
    assert_eq!(r.header("configuration-version"), Some(version));
    assert_eq!(r.header("version-label"), None);
    (bytes, content_type)
}

fn schema_validator() -> Validator {
    Validator::builder()
        .r#type(ValidatorType::JsonSchema)
        .content(r#"{"type":"object","required":["v"]}"#)
        .build()
        .unwrap()
}

/// StartDeployment fails with BadRequestException and deploys nothing; its message.
async fn start_err(c: &Client, ids: &Ids, strategy: &str, version: &str) -> String {
    let m = bad_request(ids.start_request(c, strategy, version).send().await);
    assert!(ids.no_deployments(c).await, "nothing deployed after {m:?}");
    m
}

/// ValidateConfiguration fails with BadRequestException; its message.
async fn validate_err(c: &Client, ids: &Ids, version: &str) -> String {
    bad_request(
        c.validate_configuration()
            .application_id(&ids.app)
            .configuration_profile_id(&ids.profile)
            .configuration_version(version)
            .send()
            .await,
    )
}

/// A server on moto with one application and an instant strategy: (server, client, app, strategy).
async fn app_on(
    moto: &Moto,
    args: &[&str],
    env: &[(&str, &str)],
    name: &str,
) -> (Server, Client, String, String) {
    let s = server_on(moto, args, env);
    let c = s.client();
    let app = create_app(&c, name).await;
    let st = StrategySpec::instant().create(&c).await;
    (s, c, app, st)
}

/// StartDeployment is refused (nothing deployed) with a message naming every part; the message.
async fn refused(c: &Client, ids: &Ids, strategy: &str, version: &str, parts: &[&str]) -> String {
    let m = start_err(c, ids, strategy, version).await;
    contains_all(&m, parts);
    m
}

fn contains_all(m: &str, parts: &[&str]) {
    for p in parts {
        assert!(m.contains(p), "{p:?} not in {m:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn each_source_deploys_the_requested_version_and_serves_its_snapshot() {
    let moto = Moto::start();
    let a = aws(&moto);
    let (s, c, app, instant) = app_on(&moto, &[], &[], "sources").await;

    // S3: version ids, the object's own content type.
    a.bucket("configs", true).await;
    let s3_v1 = a
        .object(
            "configs",
            "app/config.json",
            br#"{"v":1}"#,
            "application/json",
        )
        .await;
    let s3_v2 = a
        .object(
            "configs",
            "app/config.json",
            br#"{"v":2}"#,
            "application/json",
        )
        .await;
    assert_ne!(s3_v1, s3_v2);
    let s3 = source_profile(
        &c,
        &app,
        "s3://configs/app/config.json",
        vec![schema_validator()],
    )
    .await;
    c.validate_configuration()
        .application_id(&app)
        .configuration_profile_id(&s3.profile)
        .configuration_version(&s3_v1)
        .send()
        .await
        .unwrap();
    deploy(&c, &s3, &instant, &s3_v1).await;
    assert_eq!(
        read(&s, &s3, &s3_v1).await,
        (br#"{"v":1}"#.to_vec(), "application/json".to_string())
    );

    // SSM parameter by ARN (hierarchical name), version number; SecureString decrypted.
    let p1 = a.parameter("/app/settings", "mode=one", false).await;
    let p2 = a.parameter("/app/settings", "mode=two", false).await;
    assert_eq!((p1.as_str(), p2.as_str()), ("1", "2"));
    let param_arn = format!("arn:aws:ssm:us-east-1:{MOTO_ACCOUNT}:parameter/app/settings");
    let param = source_profile(&c, &app, &param_arn, vec![]).await;
    deploy(&c, &param, &instant, "1").await;
    assert_eq!(
        read(&s, &param, "1").await,
        (b"mode=one".to_vec(), "application/octet-stream".to_string())
    );
    a.parameter("db-password", "hunter2", true).await;
    let secure = source_profile(&c, &app, "ssm-parameter://db-password", vec![]).await;
    deploy(&c, &secure, &instant, "1").await;
    assert_eq!(read(&s, &secure, "1").await.0, b"hunter2");

    // SSM document (ApplicationConfiguration), document version. (moto wants a schemaVersion
    // in every document.)
    const DOC1: &str = r#"{"schemaVersion":"1.0","doc":1}"#;
    a.document("AppDoc", DOC1).await;
    let doc2 = r#"{"schemaVersion":"1.0","doc":2}"#;
    assert_eq!(a.document_version("AppDoc", doc2).await, "2");
    let doc = source_profile(&c, &app, "ssm-document://AppDoc", vec![]).await;
    deploy(&c, &doc, &instant, "1").await;
    assert_eq!(
        read(&s, &doc, "1").await,
        (DOC1.as_bytes().to_vec(), "application/json".to_string())
    );

    // Secrets Manager by name and by ARN: VersionId, or a staging label.
    let (secret_arn, sv1) = a.secret("app/token", "token-1").await;
    let sv2 = a.secret_version("app/token", "token-2").await;
    assert_ne!(sv1, sv2);
    let secret = source_profile(&c, &app, "secretsmanager://app/token", vec![]).await;
    deploy(&c, &secret, &instant, &sv1).await;
    assert_eq!(
        read(&s, &secret, &sv1).await,
        (b"token-1".to_vec(), "application/octet-stream".to_string())
    );
    let by_arn = source_profile(&c, &app, &secret_arn, vec![]).await;
    deploy(&c, &by_arn, &instant, "AWSCURRENT").await;
    assert_eq!(read(&s, &by_arn, "AWSCURRENT").await.0, b"token-2");

    // The sources change and go away: clients keep the deployed snapshots.
    a.object(
        "configs",
        "app/config.json",
        br#"{"v":3}"#,
        "application/json",
    )
    .await;
    for v in [&s3_v1, &s3_v2] {
        a.s3.delete_object()
            .bucket("configs")
            .key("app/config.json")
            .version_id(v)
            .send()
            .await
            .unwrap();
    }
    a.ssm
        .delete_parameter()
        .name("/app/settings")
        .send()
        .await
        .unwrap();
    a.ssm.delete_document().name("AppDoc").send().await.unwrap();
    a.secrets
        .delete_secret()
        .secret_id("app/token")
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert_eq!(read(&s, &s3, &s3_v1).await.0, br#"{"v":1}"#);
    assert_eq!(read(&s, &param, "1").await.0, b"mode=one");
    assert_eq!(read(&s, &doc, "1").await.0, DOC1.as_bytes());
    assert_eq!(read(&s, &secret, &sv1).await.0, b"token-1");
    // ... and the deployment of a version that is gone now fails, deploying nothing new.
    let m = bad_request(param.start_request(&c, &instant, "2").send().await);
    contains_all(&m, &[&param_arn, "not found"]);
    assert_eq!(
        param.list_request(&c).send().await.unwrap().items().len(),
        1
    );
}

#[tokio::test]
async fn a_rollback_serves_the_previous_snapshot_without_reading_the_source() {
    let moto = Moto::start();
    let a = aws(&moto);
    let (s, c, app, instant) = app_on(&moto, &[], &[], "rollback").await;
    let slow = StrategySpec::new(600, GrowthType::Linear, 10.0, 0)
        .create(&c)
        .await;
    a.bucket("configs", true).await;
    let v1 = a.object("configs", "c.txt", b"one", "text/plain").await;
    let v2 = a.object("configs", "c.txt", b"two", "text/plain").await;
    let ids = source_profile(&c, &app, "s3://configs/c.txt", vec![]).await;
    deploy(&c, &ids, &instant, &v1).await;
    let n = ids.start(&c, &slow, &v2).await;
    // The bucket empties; stopping rolls back to the first snapshot.
    for v in [&v1, &v2] {
        a.s3.delete_object()
            .bucket("configs")
            .key("c.txt")
            .version_id(v)
            .send()
            .await
            .unwrap();
    }
    ids.stop_request(&c, n).send().await.unwrap();
    ids.wait_state(&c, n, DeploymentState::RolledBack, WAIT)
        .await;
    assert_eq!(
        read(&s, &ids, &v1).await,
        (b"one".to_vec(), "text/plain".into())
    );
}

#[tokio::test]
async fn source_failures_are_bad_requests_naming_source_and_reason() {
    let moto = Moto::start();
    let a = aws(&moto);
    let (_s, c, app, st) = app_on(
        &moto,
        &["--max-configuration-bytes", "1024"],
        &[],
        "failures",
    )
    .await;

    // S3: no bucket, no object, no such version, unversioned bucket, too large.
    let nobucket = source_profile(&c, &app, "s3://missing-bucket/c.json", vec![]).await;
    refused(
        &c,
        &nobucket,
        &st,
        "v1",
        &[
            "s3://missing-bucket/c.json",
            "'v1'",
            "not found",
            "NoSuchBucket",
        ],
    )
    .await;
    a.bucket("versioned", true).await;
    let good = a
        .object("versioned", "c.json", br#"{"v":1}"#, "application/json")
        .await;
    let big = a
        .object("versioned", "big.json", &[b' '; 2000], "application/json")
        .await;
    let noobject = source_profile(&c, &app, "s3://versioned/none.json", vec![]).await;
    refused(
        &c,
        &noobject,
        &st,
        &good,
        &["s3://versioned/none.json", "not found"],
    )
    .await;
    let ids = source_profile(&c, &app, "s3://versioned/c.json", vec![schema_validator()]).await;
    refused(
        &c,
        &ids,
        &st,
        "no-such-version",
        &["s3://versioned/c.json", "'no-such-version'"],
    )
    .await;
    let large = source_profile(&c, &app, "s3://versioned/big.json", vec![]).await;
    refused(
        &c,
        &large,
        &st,
        &big,
        &["s3://versioned/big.json", "too large", "1024"],
    )
    .await;
    a.bucket("plain", false).await;
    a.object("plain", "c.json", b"{}", "application/json").await;
    let plain = source_profile(&c, &app, "s3://plain/c.json", vec![]).await;
    refused(
        &c,
        &plain,
        &st,
        "null",
        &["s3://plain/c.json", "versioning"],
    )
    .await;

    // A validator failure on fetched content (StartDeployment and ValidateConfiguration).
    let bad = a
        .object("versioned", "c.json", br#"{"w":1}"#, "application/json")
        .await;
    let e = err(ids.start_request(&c, &st, &bad).send().await);
    let StartDeploymentError::BadRequestException(b) = &e else {
        panic!("{e:?}")
    };
    assert!(b.details().is_some(), "{b:?}");
    assert!(ids.no_deployments(&c).await);
    validate_err(&c, &ids, &bad).await;
    let m = validate_err(&c, &noobject, &good).await;
    contains_all(&m, &["s3://versioned/none.json", "not found"]);

    // SSM parameters: missing, missing version, not a version number.
    let missing = source_profile(&c, &app, "ssm-parameter://nope", vec![]).await;
    refused(
        &c,
        &missing,
        &st,
        "1",
        &["ssm-parameter://nope", "not found", "ParameterNotFound"],
    )
    .await;
    a.parameter("present", "x", false).await;
    let present = source_profile(&c, &app, "ssm-parameter://present", vec![]).await;
    refused(
        &c,
        &present,
        &st,
        "7",
        &["ssm-parameter://present", "'7'", "not found"],
    )
    .await;
    refused(
        &c,
        &present,
        &st,
        "latest",
        &["ssm-parameter://present", "'latest'", "version number"],
    )
    .await;

    // SSM document and secret: missing, missing version.
    let nodoc = source_profile(&c, &app, "ssm-document://NoDoc", vec![]).await;
    refused(&c, &nodoc, &st, "1", &["ssm-document://NoDoc", "not found"]).await;
    let nosecret = source_profile(&c, &app, "secretsmanager://nope", vec![]).await;
    refused(
        &c,
        &nosecret,
        &st,
        "AWSCURRENT",
        &["secretsmanager://nope", "not found"],
    )
    .await;
    a.secret("there", "x").await;
    let there = source_profile(&c, &app, "secretsmanager://there", vec![]).await;
    refused(
        &c,
        &there,
        &st,
        "00000000-0000-0000-0000-000000000000",
        &["secretsmanager://there", "not found"],
    )
    .await;

    // CodePipeline stays refused, saying why.
    let pipeline = c
        .create_configuration_profile()
        .application_id(&app)
        .name("pipeline")
        .location_uri("codepipeline://my-pipeline")
        .send()
        .await
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let ids_p = Ids {
        profile: pipeline,
        ..nodoc.clone()
    };
    refused(
        &c,
        &ids_p,
        &st,
        "1",
        &["codepipeline://my-pipeline", "CodePipeline"],
    )
    .await;

    // A source needs a retrieval role (AWS requires one), named in the error.
    let m = bad_request(
        c.create_configuration_profile()
            .application_id(&app)
            .name("no-role")
            .location_uri("s3://versioned/c.json")
            .send()
            .await,
    );
    contains_all(&m, &["RetrievalRoleArn"]);
    let m = bad_request(
        c.create_configuration_profile()
            .application_id(&app)
            .name("no-key")
            .location_uri("s3://versioned")
            .retrieval_role_arn(ROLE)
            .send()
            .await,
    );
    contains_all(&m, &["s3://versioned", "key"]);
}

/// An STS error document, as the Query protocol sends it.
fn sts_denied() -> Reply {
    Reply {
        status: 403,
        body: "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>\
               <Message>not authorized to perform sts:AssumeRole</Message></Error>\
               <RequestId>1</RequestId></ErrorResponse>"
            .into(),
        delay: Duration::ZERO,
    }
}

#[tokio::test]
async fn the_retrieval_role_is_assumed_unless_turned_off() {
    let moto = Moto::start();
    let a = aws(&moto);
    a.parameter("p", "value", false).await;
    let sts = Receiver::start();
    sts.reply("/", sts_denied());
    let sts_url = sts.url("");
    let env = [("AWS_ENDPOINT_URL_STS", sts_url.as_str())];

    // Role assumption on: the denied AssumeRole fails the deployment.
    let (_s, c, app, st) = app_on(&moto, &[], &env, "roles").await;
    let ids = source_profile(&c, &app, "ssm-parameter://p", vec![]).await;
    refused(
        &c,
        &ids,
        &st,
        "1",
        &[
            "ssm-parameter://p",
            "role could not be assumed",
            ROLE,
            "AccessDenied",
        ],
    )
    .await;
    assert!(!sts.requests_to("/").is_empty());

    // Against moto's STS the role is assumed and the read succeeds.
    let (s2, c2, app2, st2) = app_on(&moto, &[], &[], "roles").await;
    let ids2 = source_profile(&c2, &app2, "ssm-parameter://p", vec![]).await;
    deploy(&c2, &ids2, &st2, "1").await;
    assert_eq!(read(&s2, &ids2, "1").await.0, b"value");

    // --no-assume-role: STS is never called.
    let before = sts.requests_to("/").len();
    let s3 = server_on(&moto, &["--no-assume-role"], &env);
    let c3 = s3.client();
    let app3 = create_app(&c3, "roles").await;
    let st3 = StrategySpec::instant().create(&c3).await;
    let ids3 = source_profile(&c3, &app3, "ssm-parameter://p", vec![]).await;
    deploy(&c3, &ids3, &st3, "1").await;
    assert_eq!(read(&s3, &ids3, "1").await.0, b"value");
    assert_eq!(sts.requests_to("/").len(), before);
}

#[tokio::test]
async fn a_hung_source_times_out_without_holding_the_request() {
    let moto = Moto::start();
    let hung = Receiver::start();
    hung.reply("/", Reply::ok().delayed(Duration::from_secs(60)));
    let url = hung.url("");
    let (_s, c, app, st) = app_on(
        &moto,
        &["--source-timeout", "1", "--no-assume-role"],
        &[("AWS_ENDPOINT_URL_SECRETS_MANAGER", url.as_str())],
        "hung",
    )
    .await;
    let ids = source_profile(&c, &app, "secretsmanager://slow", vec![]).await;
    let t = Instant::now();
    let m = start_err(&c, &ids, &st, "AWSCURRENT").await;
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    contains_all(&m, &["secretsmanager://slow", "timed out"]);
    let t = Instant::now();
    let m = validate_err(&c, &ids, "AWSCURRENT").await;
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    contains_all(&m, &["timed out"]);
    create_app(&c, "still-serving").await;
}

#[tokio::test]
async fn lambda_validators_see_the_fetched_content_and_source_version() {
    let moto = Moto::start();
    let a = aws(&moto);
    let rx = Receiver::start();
    rx.reply("/refuse", Reply::status(500));
    let (_s, c, app, st) = app_on(&moto, &[], &[], "lambda").await;
    let (_, v1) = a.secret("api-key", "key-one").await;
    let webhook = |path: &str| {
        Validator::builder()
            .r#type(ValidatorType::Lambda)
            .content(rx.url(path))
            .build()
            .unwrap()
    };
    let uri = "secretsmanager://api-key";
    let ids = source_profile(&c, &app, uri, vec![webhook("/validate")]).await;
    c.validate_configuration()
        .application_id(&app)
        .configuration_profile_id(&ids.profile)
        .configuration_version(&v1)
        .send()
        .await
        .unwrap();
    deploy(&c, &ids, &st, &v1).await;
    let events = rx.events("/validate");
    assert_eq!(events.len(), 2, "{events:#?}");
    for e in &events {
        assert_eq!(e["ConfigurationVersion"], v1.as_str(), "{e}");
        assert_eq!(e["ConfigurationProfileId"], ids.profile.as_str(), "{e}");
        assert_eq!(e["Content"], crate::support::b64(b"key-one"), "{e}");
    }

    // A refusing validator fails both, and nothing is deployed.
    let refusing = source_profile(&c, &app, uri, vec![webhook("/refuse")]).await;
    let m = validate_err(&c, &refusing, &v1).await;
    contains_all(&m, &["/refuse"]);
    refused(&c, &refusing, &st, &v1, &["/refuse"]).await;
}

#[tokio::test]
async fn access_denied_by_the_source_is_named() {
    let moto = Moto::start();
    let denier = Receiver::start();
    denier.reply(
        "/locked/c.json",
        Reply {
            status: 403,
            body: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>\
                   <Message>Access Denied</Message><RequestId>1</RequestId></Error>"
                .into(),
            delay: Duration::ZERO,
        },
    );
    denier.reply(
        "/",
        Reply::json(
            400,
            serde_json::json!({"__type": "AccessDeniedException", "message": "not allowed to read"}),
        ),
    );
    let url = denier.url("");
    let (_s, c, app, st) = app_on(
        &moto,
        &["--no-assume-role"],
        &[
            ("AWS_ENDPOINT_URL_S3", url.as_str()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", url.as_str()),
        ],
        "denied",
    )
    .await;
    let s3 = source_profile(&c, &app, "s3://locked/c.json", vec![]).await;
    refused(
        &c,
        &s3,
        &st,
        "v1",
        &["s3://locked/c.json", "access denied", "AccessDenied"],
    )
    .await;
    let secret = source_profile(&c, &app, "secretsmanager://locked", vec![]).await;
    refused(
        &c,
        &secret,
        &st,
        "AWSCURRENT",
        &[
            "secretsmanager://locked",
            "access denied",
            "not allowed to read",
        ],
    )
    .await;
}
