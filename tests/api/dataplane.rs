//! Issue 5, the data plane: AppConfigData (StartConfigurationSession, GetLatestConfiguration)
//! through the official `aws-sdk-appconfigdata` client, gradual rollout to sessions, the
//! feature-flag retrieval form, the AppConfig Agent's local read path and the deprecated
//! GetConfiguration, deletion protection fed by reads, tokens across a restart and (on
//! PostgreSQL) across two nodes.
//!
//! Time: the servers run with `--time-scale 60` (a 15 s poll interval is 0.25 s of wall time,
//! an hour is a minute) unless a test needs another scale.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_appconfig::error::DisplayErrorContext;
use aws_sdk_appconfig::types::{
    DeletionProtectionCheck, DeletionProtectionSettings, DeploymentState, GrowthType,
};
use aws_sdk_appconfig::Client;
use aws_sdk_appconfigdata as data;
use data::operation::get_latest_configuration::{
    GetLatestConfigurationError, GetLatestConfigurationOutput,
};
use data::operation::start_configuration_session::StartConfigurationSessionError;
use data::types::error::{BadRequestException, ResourceNotFoundException};
use data::types::{BadRequestDetails, BadRequestReason, InvalidParameterProblem, ResourceType};
use serde_json::{json, Value};

use crate::harness::*;
use crate::scenario::{Ids, Scenario, StrategySpec};

/// 15 s at `--time-scale 60`, plus a margin.
const SHORT_INTERVAL: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// An AppConfigData client for `server`, built like the harness builds the AppConfig one.
fn data_client(server: &Server) -> data::Client {
    data_client_for(server.endpoint())
}

pub(crate) fn data_client_for(endpoint: &str) -> data::Client {
    data_client_with_keys(endpoint, "AKIDTESTTESTTESTTEST", "test-secret-key")
}

pub(crate) fn data_client_with_keys(
    endpoint: &str,
    access_key: &str,
    secret: &str,
) -> data::Client {
    let http_client = sdk_http_client();
    let config = data::Config::builder()
        .behavior_version(data::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(data::config::Region::new(REGION))
        .credentials_provider(data::config::Credentials::new(
            access_key,
            secret,
            None,
            None,
            "appconfigd-tests",
        ))
        .retry_config(data::config::retry::RetryConfig::disabled())
        .http_client(http_client)
        .build();
    data::Client::from_conf(config)
}

/// Application, environment and hosted profile, with their names.
#[derive(Clone)]
pub(crate) struct Fx {
    pub app: String,
    pub env: String,
    pub profile: String,
    pub app_name: String,
    pub env_name: String,
    pub profile_name: String,
}

pub(crate) async fn fixture(c: &Client, prefix: &str) -> Fx {
    let app_name = format!("{prefix}-app");
    let env_name = format!("{prefix}-env");
    let profile_name = format!("{prefix}-profile");
    let Ids { app, env, profile } = Scenario::new(c)
        .app(&app_name)
        .env(&env_name)
        .profile(&profile_name)
        .build()
        .await;
    Fx {
        app,
        env,
        profile,
        app_name,
        env_name,
        profile_name,
    }
}

impl Fx {
    fn ids(&self) -> Ids {
        Ids {
            app: self.app.clone(),
            env: self.env.clone(),
            profile: self.profile.clone(),
        }
    }
}

/// A custom strategy that deploys at once with no bake: COMPLETE on the first engine step.
pub(crate) async fn instant_strategy(c: &Client) -> String {
    StrategySpec::plain("instant", 0, 100.0, 0).create(c).await
}

async fn start_deployment(c: &Client, fx: &Fx, version: i32, strategy: &str) -> i32 {
    send!(fx.ids().start_request(c, strategy, &version.to_string()))
        .unwrap_or_else(|e| panic!("start deployment: {}", DisplayErrorContext(&e)))
        .deployment_number()
}

/// (state, percentage) of a deployment.
async fn deployment(c: &Client, fx: &Fx, number: i32) -> (DeploymentState, f32) {
    let d = fx.ids().get(c, number).await;
    (
        d.state().cloned().expect("State"),
        d.percentage_complete().unwrap_or_default(),
    )
}

async fn wait_state(c: &Client, fx: &Fx, number: i32, want: DeploymentState) {
    let what = format!("deployment {number} {want:?}");
    fx.ids()
        .wait_for(
            c,
            number,
            Duration::from_secs(60),
            Duration::from_millis(25),
            &what,
            |d| d.state() == Some(&want),
        )
        .await;
}

/// Creates a version with `content` (and optional label) and deploys it to COMPLETE with the
/// instant strategy. Returns (version, deployment number).
pub(crate) async fn deploy_now(
    c: &Client,
    fx: &Fx,
    strategy: &str,
    content: &[u8],
    label: Option<&str>,
) -> (i32, i32) {
    let req = version_request(
        c,
        &fx.app,
        &fx.profile,
        content.to_vec(),
        "application/json",
    );
    let version = send!(req.set_version_label(label.map(String::from)))
        .expect("create hosted configuration version")
        .version_number();
    let number = start_deployment(c, fx, version, strategy).await;
    wait_state(c, fx, number, DeploymentState::Complete).await;
    (version, number)
}

/// A fixture named after `prefix` with `content` deployed to it at once.
pub(crate) async fn deployed_fixture(c: &Client, prefix: &str, content: &[u8]) -> Fx {
    let fx = fixture(c, prefix).await;
    let strategy = instant_strategy(c).await;
    deploy_now(c, &fx, &strategy, content, None).await;
    fx
}

pub(crate) async fn session(
    d: &data::Client,
    app: &str,
    env: &str,
    profile: &str,
    interval: Option<i32>,
) -> String {
    send!(d
        .start_configuration_session()
        .application_identifier(app)
        .environment_identifier(env)
        .configuration_profile_identifier(profile)
        .set_required_minimum_poll_interval_in_seconds(interval))
    .unwrap_or_else(|e| panic!("start session: {}", DisplayErrorContext(&e)))
    .initial_configuration_token()
    .expect("InitialConfigurationToken")
    .to_string()
}

pub(crate) async fn fx_session(d: &data::Client, fx: &Fx) -> String {
    session(d, &fx.app, &fx.env, &fx.profile, Some(15)).await
}

pub(crate) async fn poll(d: &data::Client, token: &str) -> GetLatestConfigurationOutput {
    send!(d.get_latest_configuration().configuration_token(token))
        .unwrap_or_else(|e| panic!("GetLatestConfiguration: {}", DisplayErrorContext(&e)))
}

pub(crate) fn body(out: &GetLatestConfigurationOutput) -> Vec<u8> {
    out.configuration()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default()
}

fn next_token(out: &GetLatestConfigurationOutput) -> String {
    out.next_poll_configuration_token()
        .expect("Next-Poll-Configuration-Token")
        .to_string()
}

pub(crate) async fn poll_err(d: &data::Client, token: &str) -> (GetLatestConfigurationError, u16) {
    service_error(send!(d
        .get_latest_configuration()
        .configuration_token(token)))
}

async fn session_err(
    d: &data::Client,
    app: &str,
    env: &str,
    profile: &str,
    interval: Option<i32>,
) -> (StartConfigurationSessionError, u16) {
    service_error(send!(d
        .start_configuration_session()
        .application_identifier(app)
        .environment_identifier(env)
        .configuration_profile_identifier(profile)
        .set_required_minimum_poll_interval_in_seconds(interval)))
}

fn start_not_found(e: StartConfigurationSessionError) -> ResourceNotFoundException {
    match e {
        StartConfigurationSessionError::ResourceNotFoundException(x) => x,
        other => panic!("expected ResourceNotFoundException, got {other:?}"),
    }
}

fn start_bad_request(e: StartConfigurationSessionError) -> BadRequestException {
    match e {
        StartConfigurationSessionError::BadRequestException(x) => x,
        other => panic!("expected BadRequestException, got {other:?}"),
    }
}

/// The `ConfigurationToken` problem of a GetLatestConfiguration BadRequestException.
#[track_caller]
pub(crate) fn token_problem(e: GetLatestConfigurationError) -> InvalidParameterProblem {
    let x = variant!(e, GetLatestConfigurationError::BadRequestException);
    assert_eq!(
        x.reason(),
        Some(&BadRequestReason::InvalidParameters),
        "{x:?}"
    );
    match x.details() {
        Some(BadRequestDetails::InvalidParameters(m)) => m
            .get("ConfigurationToken")
            .and_then(|d| d.problem())
            .cloned()
            .unwrap_or_else(|| panic!("no ConfigurationToken problem: {x:?}")),
        other => panic!("expected Details.InvalidParameters, got {other:?} ({x:?})"),
    }
}

/// `token` with one character of its payload changed (still base64url).
fn tamper(token: &str, at: usize) -> String {
    let mut b = token.as_bytes().to_vec();
    let i = (at..b.len())
        .find(|i| b[*i].is_ascii_alphanumeric())
        .expect("an alphanumeric character to flip");
    b[i] = if b[i] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

pub(crate) fn agent_path(app: &str, env: &str, profile: &str) -> String {
    format!("/applications/{app}/environments/{env}/configurations/{profile}")
}

pub(crate) fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    raw_request(server.addr(), "GET", path, headers, b"")
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(bytes)))
}

fn no_underscore_keys(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .all(|(k, v)| !k.starts_with('_') && no_underscore_keys(v)),
        Value::Array(a) => a.iter().all(no_underscore_keys),
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------------
// StartConfigurationSession
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sessions_by_ids_by_names_and_mixed_read_the_same_configuration() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "ids").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, br#"{"v":1}"#, Some("one")).await;

    for (app, env, profile) in [
        (&fx.app, &fx.env, &fx.profile),
        (&fx.app_name, &fx.env_name, &fx.profile_name),
        (&fx.app_name, &fx.env, &fx.profile_name),
        (&fx.app, &fx.env_name, &fx.profile),
    ] {
        let token = session(&d, app, env, profile, None).await;
        assert!(!token.is_empty());
        let out = poll(&d, &token).await;
        assert_eq!(body(&out), br#"{"v":1}"#, "{app}/{env}/{profile}");
        assert_eq!(out.content_type(), Some("application/json"));
        assert_eq!(out.version_label(), Some("one"));
    }
}

#[tokio::test]
async fn start_session_answers_201_with_an_initial_token() {
    let (server, c) = Server::start_with_client();
    let fx = fixture(&c, "raw").await;
    let body = json!({
        "ApplicationIdentifier": fx.app,
        "EnvironmentIdentifier": fx.env,
        "ConfigurationProfileIdentifier": fx.profile,
    });
    let r = raw_json(
        server.addr(),
        "POST",
        "/configurationsessions",
        body.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{r:?}");
    let token = r.json()["InitialConfigurationToken"]
        .as_str()
        .expect("InitialConfigurationToken")
        .to_string();
    assert!(
        !token.is_empty() && !token.chars().any(char::is_whitespace) && token.len() <= 8192,
        "{token:?}"
    );
}

#[tokio::test]
async fn unknown_application_environment_or_profile_is_resource_not_found() {
    let server = Server::start();
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "nf").await;
    let other = create_app(&c, "other-app").await;
    let other_env = create_env(&c, &other, "other-env").await;
    let other_profile = create_profile(&c, &other, "other-profile").await;

    let cases: [(&str, &str, &str, ResourceType, &str, &str); 6] = [
        (
            "nope",
            &fx.env,
            &fx.profile,
            ResourceType::Application,
            "ApplicationIdentifier",
            "nope",
        ),
        (
            &fx.app,
            "nope",
            &fx.profile,
            ResourceType::Environment,
            "EnvironmentIdentifier",
            "nope",
        ),
        (
            &fx.app,
            &fx.env,
            "nope",
            ResourceType::ConfigurationProfile,
            "ConfigurationProfileIdentifier",
            "nope",
        ),
        // Resources of another application, by id and by name.
        (
            &fx.app,
            &other_env,
            &fx.profile,
            ResourceType::Environment,
            "EnvironmentIdentifier",
            &other_env,
        ),
        (
            &fx.app,
            "other-env",
            &fx.profile,
            ResourceType::Environment,
            "EnvironmentIdentifier",
            "other-env",
        ),
        (
            &fx.app,
            &fx.env,
            &other_profile,
            ResourceType::ConfigurationProfile,
            "ConfigurationProfileIdentifier",
            &other_profile,
        ),
    ];
    for (app, env, profile, rtype, field, value) in cases {
        let (e, status) = session_err(&d, app, env, profile, None).await;
        let nf = start_not_found(e);
        assert_eq!(status, 404, "{app}/{env}/{profile}");
        assert_eq!(nf.resource_type(), Some(&rtype), "{nf:?}");
        let refs = nf
            .referenced_by()
            .unwrap_or_else(|| panic!("no ReferencedBy: {nf:?}"));
        assert_eq!(refs.get(field).map(String::as_str), Some(value), "{nf:?}");
        assert!(nf.message().is_some_and(|m| !m.is_empty()), "{nf:?}");
    }
}

#[tokio::test]
async fn identifier_length_and_poll_interval_range_are_validated() {
    let server = Server::start();
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "val").await;
    let long = chars('a', 129);
    for (app, env, profile, field) in [
        (
            long.as_str(),
            fx.env.as_str(),
            fx.profile.as_str(),
            "ApplicationIdentifier",
        ),
        (
            fx.app.as_str(),
            long.as_str(),
            fx.profile.as_str(),
            "EnvironmentIdentifier",
        ),
        (
            fx.app.as_str(),
            fx.env.as_str(),
            long.as_str(),
            "ConfigurationProfileIdentifier",
        ),
        (
            "",
            fx.env.as_str(),
            fx.profile.as_str(),
            "ApplicationIdentifier",
        ),
    ] {
        let (e, status) = session_err(&d, app, env, profile, None).await;
        let bad = start_bad_request(e);
        assert_eq!(status, 400, "{field}: {bad:?}");
    }
    // 128 characters pass validation (and are simply not found).
    let (e, status) = session_err(&d, &chars('a', 128), &fx.env, &fx.profile, None).await;
    assert_eq!(status, 404);
    start_not_found(e);

    for interval in [14, 0, -1, 86401] {
        let (e, status) = session_err(&d, &fx.app, &fx.env, &fx.profile, Some(interval)).await;
        let bad = start_bad_request(e);
        assert_eq!(status, 400, "interval {interval}: {bad:?}");
        assert!(
            bad.message()
                .unwrap_or_default()
                .contains("equiredMinimumPollIntervalInSeconds"),
            "message should name the field: {bad:?}"
        );
    }
    for interval in [15, 86400] {
        session(&d, &fx.app, &fx.env, &fx.profile, Some(interval)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// GetLatestConfiguration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn first_read_too_early_unchanged_and_changed() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "poll").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, br#"{"v":1}"#, Some("v1-label")).await;

    let t0 = fx_session(&d, &fx).await;
    let first = poll(&d, &t0).await;
    assert_eq!(body(&first), br#"{"v":1}"#);
    assert_eq!(first.content_type(), Some("application/json"));
    assert_eq!(first.version_label(), Some("v1-label"));
    // The unscaled interval the client asked for.
    assert_eq!(first.next_poll_interval_in_seconds(), 15);
    let t1 = next_token(&first);
    assert_ne!(t1, t0);

    // Before the interval has passed (0.25 s of wall time).
    let (e, status) = poll_err(&d, &t1).await;
    assert_eq!(status, 400);
    assert_eq!(
        token_problem(e),
        InvalidParameterProblem::PollIntervalNotSatisfied
    );

    // After it: unchanged → 200 with an empty body and a fresh token. The rejected token is
    // still good once the interval has passed (a client simply retries later).
    tokio::time::sleep(SHORT_INTERVAL).await;
    let same = poll(&d, &t1).await;
    assert!(body(&same).is_empty(), "unchanged must be empty: {same:?}");
    assert_eq!(same.version_label(), None, "{same:?}");
    assert_eq!(same.next_poll_interval_in_seconds(), 15);
    let t2 = next_token(&same);
    assert_ne!(t2, t1);
    // Tokens are stateless (docs/dataplane.md): a token presented again gets the same answer.
    assert!(body(&poll(&d, &t1).await).is_empty());
    assert_eq!(body(&poll(&d, &t0).await), br#"{"v":1}"#);

    // A new deployment: the next poll delivers the new bytes, then nothing again.
    deploy_now(&c, &fx, &s, br#"{"v":2}"#, None).await;
    tokio::time::sleep(SHORT_INTERVAL).await;
    let changed = poll(&d, &t2).await;
    assert_eq!(body(&changed), br#"{"v":2}"#);
    assert_eq!(changed.content_type(), Some("application/json"));
    assert_eq!(changed.version_label(), None, "v2 has no label");
    let t3 = next_token(&changed);
    tokio::time::sleep(SHORT_INTERVAL).await;
    let again = poll(&d, &t3).await;
    assert!(body(&again).is_empty(), "{again:?}");

    // A new session gets the current bytes at once.
    let fresh = poll(&d, &fx_session(&d, &fx).await).await;
    assert_eq!(body(&fresh), br#"{"v":2}"#);
}

#[tokio::test]
async fn default_poll_interval_is_60_seconds() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "dflt").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, b"hello", None).await;

    let token = session(&d, &fx.app, &fx.env, &fx.profile, None).await;
    let first = poll(&d, &token).await;
    assert_eq!(first.next_poll_interval_in_seconds(), 60);
    let next = next_token(&first);
    // 60 s is 1 s of wall time: after 0.3 s it is still too early.
    tokio::time::sleep(SHORT_INTERVAL).await;
    let (e, _) = poll_err(&d, &next).await;
    assert_eq!(
        token_problem(e),
        InvalidParameterProblem::PollIntervalNotSatisfied
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    let out = poll(&d, &next).await;
    assert!(body(&out).is_empty());
    assert_eq!(out.next_poll_interval_in_seconds(), 60);
}

#[tokio::test]
async fn tampered_garbage_and_foreign_tokens_are_corrupted() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let other = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "tamper").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, b"x", None).await;

    let initial = fx_session(&d, &fx).await;
    let next = next_token(&poll(&d, &fx_session(&d, &fx).await).await);
    tokio::time::sleep(SHORT_INTERVAL).await;
    for (what, token) in [
        ("initial, start", tamper(&initial, 3)),
        ("initial, middle", tamper(&initial, initial.len() / 2)),
        ("initial, end", tamper(&initial, initial.len() - 6)),
        ("next, middle", tamper(&next, next.len() / 3)),
        ("garbage", "not-a-token".to_string()),
        ("truncated", next[..next.len() - 10].to_string()),
    ] {
        let (e, status) = poll_err(&d, &token).await;
        assert_eq!(status, 400, "{what}");
        assert_eq!(
            token_problem(e),
            InvalidParameterProblem::Corrupted,
            "{what}"
        );
    }
    // No token at all is a plain validation error.
    for path in ["/configuration", "/configuration?configuration_token="] {
        let r = get(&server, path, &[]);
        assert_eq!(r.status, 400, "{path}: {r:?}");
        assert_eq!(
            r.header("x-amzn-errortype")
                .map(|t| t.split(':').next().unwrap()),
            Some("BadRequestException")
        );
    }
    // A token of another server (another key) is not accepted either.
    let (e, _) = poll_err(&data_client(&other), &initial).await;
    assert_eq!(token_problem(e), InvalidParameterProblem::Corrupted);
    // The untouched tokens still work.
    assert_eq!(body(&poll(&d, &initial).await), b"x");
    assert!(body(&poll(&d, &next).await).is_empty());
}

#[tokio::test]
async fn tokens_expire_after_24_scaled_hours() {
    // 24 h is 0.864 s at this scale (and 15 s is 0.15 ms).
    let server = Server::start_with(&["--time-scale", "100000"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "exp").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, b"x", None).await;

    let initial = fx_session(&d, &fx).await;
    let next = next_token(&poll(&d, &fx_session(&d, &fx).await).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for token in [&initial, &next] {
        let (e, status) = poll_err(&d, token).await;
        assert_eq!(status, 400);
        assert_eq!(token_problem(e), InvalidParameterProblem::Expired);
    }
    // A session that keeps polling never expires: each poll hands out a fresh token.
    let mut token = fx_session(&d, &fx).await;
    for _ in 0..4 {
        token = next_token(&poll(&d, &token).await);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

#[tokio::test]
async fn a_profile_never_deployed_is_resource_not_found_deployment() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "undeployed").await;
    // Another profile of the same environment is deployed; this one is not.
    let other = create_profile(&c, &fx.app, "deployed").await;
    let version = create_version(&c, &fx.app, &other, b"o", "text/plain").await;
    let s = instant_strategy(&c).await;
    let ofx = Fx {
        profile: other.clone(),
        app: fx.app.clone(),
        env: fx.env.clone(),
        app_name: String::new(),
        env_name: String::new(),
        profile_name: String::new(),
    };
    let n = start_deployment(&c, &ofx, version, &s).await;
    wait_state(&c, &ofx, n, DeploymentState::Complete).await;

    // The session starts (the profile exists); the read says nothing is deployed.
    let token = fx_session(&d, &fx).await;
    let (e, status) = poll_err(&d, &token).await;
    assert_eq!(status, 404);
    let nf = variant!(e, GetLatestConfigurationError::ResourceNotFoundException);
    assert_eq!(
        nf.resource_type(),
        Some(&ResourceType::Deployment),
        "{nf:?}"
    );

    // The agent path says the same.
    let r = get(&server, &agent_path(&fx.app, &fx.env, &fx.profile), &[]);
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(r.json()["ResourceType"], "Deployment");

    // Once deployed, the same token reads it.
    deploy_now(&c, &fx, &s, b"now", None).await;
    assert_eq!(body(&poll(&d, &token).await), b"now");
}

#[tokio::test]
async fn a_shared_name_resolves_to_the_oldest_resource() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "dup").await;
    let s = instant_strategy(&c).await;
    let older = create_env(&c, &fx.app, "twin").await;
    let newer = create_env(&c, &fx.app, "twin").await;
    let v = create_version(&c, &fx.app, &fx.profile, b"old", "text/plain").await;
    let w = create_version(&c, &fx.app, &fx.profile, b"new", "text/plain").await;
    for (env, version) in [(&older, v), (&newer, w)] {
        let efx = Fx {
            env: env.clone(),
            ..fx.clone()
        };
        let n = start_deployment(&c, &efx, version, &s).await;
        wait_state(&c, &efx, n, DeploymentState::Complete).await;
    }
    let out = poll(&d, &session(&d, &fx.app, "twin", &fx.profile, None).await).await;
    assert_eq!(body(&out), b"old");
    let r = get(&server, &agent_path(&fx.app, "twin", &fx.profile), &[]);
    assert_eq!(r.body, b"old");
    let out = poll(&d, &session(&d, &fx.app, &newer, &fx.profile, None).await).await;
    assert_eq!(body(&out), b"new");
}

// ---------------------------------------------------------------------------------------------
// Gradual rollout
// ---------------------------------------------------------------------------------------------

/// One simulated client: a session polled through the SDK, or an agent entity (`Entity-Id`).
#[derive(Debug, Clone)]
struct Reader {
    token: String,
    /// Version number decoded from the last bytes received (0 = none yet).
    version: u8,
    /// The version after every round.
    history: Vec<u8>,
    /// Whether the last poll delivered bytes.
    changed: bool,
}

fn version_of(bytes: &[u8]) -> u8 {
    json_of(bytes)["v"].as_u64().expect("v") as u8
}

/// Polls every session once (32 at a time) and records what each one holds.
async fn poll_round(d: &data::Client, sessions: &mut [Reader]) {
    let permits = Arc::new(tokio::sync::Semaphore::new(32));
    let mut set = tokio::task::JoinSet::new();
    for (i, s) in sessions.iter().enumerate() {
        let (d, token, permits) = (d.clone(), s.token.clone(), permits.clone());
        set.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let out = send!(d.get_latest_configuration().configuration_token(token));
            (i, out)
        });
    }
    while let Some(done) = set.join_next().await {
        let (i, out) = done.expect("poll task");
        let out =
            out.unwrap_or_else(|e| panic!("poll of session {i}: {}", DisplayErrorContext(&e)));
        let s = &mut sessions[i];
        s.token = next_token(&out);
        let bytes = body(&out);
        s.changed = !bytes.is_empty();
        if s.changed {
            s.version = version_of(&bytes);
        }
        s.history.push(s.version);
    }
}

/// Agent reads with `Entity-Id: <token>` (the entity name is kept in `token`).
async fn agent_round(addr: String, path: String, entities: &mut [Reader]) {
    let names: Vec<String> = entities.iter().map(|e| e.token.clone()).collect();
    let versions = tokio::task::spawn_blocking(move || {
        names
            .iter()
            .map(|name| {
                let r = raw_request(&addr, "GET", &path, &[("Entity-Id", name)], b"");
                assert_eq!(r.status, 200, "agent read: {r:?}");
                version_of(&r.body)
            })
            .collect::<Vec<u8>>()
    })
    .await
    .expect("agent reads");
    for (e, v) in entities.iter_mut().zip(versions) {
        e.changed = e.version != v;
        e.version = v;
        e.history.push(v);
    }
}

fn share_on(clients: &[Reader], version: u8) -> f64 {
    clients.iter().filter(|c| c.version == version).count() as f64 / clients.len() as f64
}

/// No client went from `new` back to `old` between two rounds.
#[track_caller]
fn assert_no_flip_back(clients: &[Reader], old: u8, new: u8, what: &str) {
    for (i, c) in clients.iter().enumerate() {
        for w in c.history.windows(2) {
            assert!(
                !(w[0] == new && w[1] == old),
                "{what} {i} went back from v{new} to v{old}: {:?}",
                c.history
            );
        }
    }
}

async fn strategy(c: &Client, name: &str, minutes: i32, growth: f32, bake: i32) -> String {
    let spec = StrategySpec::plain(name, minutes, growth, bake);
    spec.growth(GrowthType::Linear).create(c).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gradual_rollout_tracks_percentage_and_rollback_converges() {
    const SESSIONS: usize = 400;
    const ENTITIES: usize = 100;
    const TOLERANCE: f64 = 0.10;
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "rollout").await;
    let addr = server.addr().to_string();
    let path = agent_path(&fx.app, &fx.env, &fx.profile);
    // 25 % every 4 scaled minutes (4 s of wall time; a round of 400 SDK polls takes 1–2 s on
    // two cores): 25, 50, 75, 100, then a minute of baking.
    let linear = strategy(&c, "linear-25", 16, 25.0, 1).await;
    // For the deployment that gets stopped: 50 % after a second, then a long bake.
    let fast = strategy(&c, "linear-50", 2, 50.0, 10).await;
    let mut versions = Vec::new();
    for v in 1..=3 {
        let content = json!({"v": v, "pad": chars('x', 100)}).to_string();
        versions.push(create_json_version(&c, &fx.app, &fx.profile, content.as_bytes()).await);
    }

    // v1 with AllAtOnce (10 scaled minutes of baking); clients are served v1 at once.
    let d1 = start_deployment(&c, &fx, versions[0], "AppConfig.AllAtOnce").await;
    let mut sessions = Vec::with_capacity(SESSIONS);
    {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..SESSIONS {
            let (d, app, env, profile) = (
                d.clone(),
                fx.app.clone(),
                fx.env.clone(),
                fx.profile.clone(),
            );
            set.spawn(async move { session(&d, &app, &env, &profile, Some(15)).await });
        }
        while let Some(t) = set.join_next().await {
            sessions.push(Reader {
                token: t.unwrap(),
                version: 0,
                history: Vec::new(),
                changed: false,
            });
        }
    }
    let mut entities: Vec<Reader> = (0..ENTITIES)
        .map(|i| Reader {
            token: format!("entity-{i}"),
            version: 0,
            history: Vec::new(),
            changed: false,
        })
        .collect();
    wait_state(&c, &fx, d1, DeploymentState::Complete).await;
    poll_round(&d, &mut sessions).await;
    agent_round(addr.clone(), path.clone(), &mut entities).await;
    assert_eq!(share_on(&sessions, 1), 1.0);
    assert_eq!(share_on(&entities, 1), 1.0);

    // v2, gradually. A round is judged only when the deployment did not move during it.
    let d2 = start_deployment(&c, &fx, versions[1], &linear).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut judged = BTreeSet::new();
    loop {
        tokio::time::sleep(SHORT_INTERVAL).await;
        let before = deployment(&c, &fx, d2).await;
        let (_, ()) = tokio::join!(
            poll_round(&d, &mut sessions),
            agent_round(addr.clone(), path.clone(), &mut entities)
        );
        let after = deployment(&c, &fx, d2).await;
        assert_no_flip_back(&sessions, 1, 2, "session");
        assert_no_flip_back(&entities, 1, 2, "entity");
        let share = share_on(&sessions, 2);
        if before == after {
            let expected = f64::from(before.1) / 100.0;
            assert!(
                (share - expected).abs() <= TOLERANCE,
                "{:?} at {}%: {share:.3} of sessions on v2",
                before.0,
                before.1
            );
            let entity_share = share_on(&entities, 2);
            assert!(
                (entity_share - expected).abs() <= 2.0 * TOLERANCE,
                "{:?} at {}%: {entity_share:.3} of entities on v2",
                before.0,
                before.1
            );
            judged.insert(before.1 as u32);
        }
        if before.0 == DeploymentState::Complete {
            assert_eq!(share, 1.0, "all sessions on v2 at COMPLETE");
            assert_eq!(
                share_on(&entities, 2),
                1.0,
                "all entities on v2 at COMPLETE"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "deployment 2 did not complete: {after:?}"
        );
    }
    let intermediate = judged.iter().filter(|p| **p > 0 && **p < 100).count();
    assert!(
        intermediate >= 2,
        "too few rounds at intermediate percentages to judge the rollout: {judged:?}"
    );

    // v3, stopped halfway: every client converges back to v2.
    let d3 = start_deployment(&c, &fx, versions[2], &fast).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        tokio::time::sleep(SHORT_INTERVAL).await;
        poll_round(&d, &mut sessions).await;
        agent_round(addr.clone(), path.clone(), &mut entities).await;
        assert_no_flip_back(&sessions, 2, 3, "session");
        assert_no_flip_back(&entities, 2, 3, "entity");
        if deployment(&c, &fx, d3).await.1 >= 50.0 && share_on(&sessions, 3) > 0.3 {
            break;
        }
        assert!(Instant::now() < deadline, "deployment 3 never reached 50 %");
        let (state, _) = deployment(&c, &fx, d3).await;
        assert_ne!(
            state,
            DeploymentState::Complete,
            "deployment 3 completed before the stop"
        );
    }
    tokio::time::sleep(SHORT_INTERVAL).await;
    // Stop while clients are polling.
    let on_v3_before: usize;
    {
        let stop = async {
            send!(c
                .stop_deployment()
                .application_id(&fx.app)
                .environment_id(&fx.env)
                .deployment_number(d3))
            .unwrap_or_else(|e| panic!("stop deployment: {}", DisplayErrorContext(&e)))
        };
        let (_, _) = tokio::join!(poll_round(&d, &mut sessions), stop);
        on_v3_before = sessions.iter().filter(|s| s.version == 3).count();
    }
    wait_state(&c, &fx, d3, DeploymentState::RolledBack).await;
    assert!(on_v3_before > 0, "nobody had v3 when it was stopped");
    tokio::time::sleep(SHORT_INTERVAL).await;
    poll_round(&d, &mut sessions).await;
    agent_round(addr.clone(), path.clone(), &mut entities).await;
    assert_eq!(share_on(&sessions, 2), 1.0, "sessions after the rollback");
    assert_eq!(share_on(&entities, 2), 1.0, "entities after the rollback");
    for (i, s) in sessions.iter().enumerate() {
        let was_on_v3 = s.history[s.history.len() - 2] == 3;
        assert!(
            !was_on_v3 || s.changed,
            "session {i} did not get v2's bytes back"
        );
    }
    // And it stays there: the next round is unchanged for everybody.
    tokio::time::sleep(SHORT_INTERVAL).await;
    poll_round(&d, &mut sessions).await;
    assert!(sessions.iter().all(|s| !s.changed && s.version == 2));
}

#[tokio::test]
async fn revert_sends_every_session_back_to_the_previous_version() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "revert").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, br#"{"v":1}"#, None).await;
    let (_, n2) = deploy_now(&c, &fx, &s, br#"{"v":2}"#, Some("two")).await;

    let mut tokens = Vec::new();
    for _ in 0..20 {
        let out = poll(&d, &fx_session(&d, &fx).await).await;
        assert_eq!(body(&out), br#"{"v":2}"#);
        tokens.push(next_token(&out));
    }
    send!(c
        .stop_deployment()
        .application_id(&fx.app)
        .environment_id(&fx.env)
        .deployment_number(n2)
        .allow_revert(true))
    .unwrap_or_else(|e| panic!("revert: {}", DisplayErrorContext(&e)));
    wait_state(&c, &fx, n2, DeploymentState::Reverted).await;
    tokio::time::sleep(SHORT_INTERVAL).await;
    for t in &tokens {
        let out = poll(&d, t).await;
        assert_eq!(body(&out), br#"{"v":1}"#);
        assert_eq!(out.version_label(), None);
    }
    let r = get(&server, &agent_path(&fx.app, &fx.env, &fx.profile), &[]);
    assert_eq!(r.body, br#"{"v":1}"#);
}

// ---------------------------------------------------------------------------------------------
// Feature flags
// ---------------------------------------------------------------------------------------------

fn flags_document() -> Value {
    json!({
        "version": "1",
        "flags": {
            "ui-refresh": {
                "name": "UI refresh",
                "description": "The new UI",
                "_createdAt": "2024-01-01T00:00:00Z",
                "_updatedAt": "2024-01-02T00:00:00Z",
                "attributes": {
                    "color": {"constraints": {"type": "string", "enum": ["red", "blue"], "required": true}},
                    "limit": {"constraints": {"type": "number", "minimum": 1, "maximum": 10}},
                    "ids": {"constraints": {"type": "array", "elements": {"type": "string"}}}
                }
            },
            "beta": {
                "name": "Beta",
                "_deprecation": {"status": "planned"},
                "attributes": {"level": {"constraints": {"type": "number"}}}
            },
            "ghost": {"name": "Ghost"}
        },
        "values": {
            "ui-refresh": {
                "enabled": true, "color": "red", "limit": 5, "ids": ["1", "2"],
                "_createdAt": "2024-01-01T00:00:00Z", "_updatedAt": "2024-01-02T00:00:00Z"
            },
            "beta": {"enabled": false, "level": 3, "_createdAt": "2024-01-01T00:00:00Z"}
        }
    })
}

fn retrieval_form() -> Value {
    json!({
        "ui-refresh": {"enabled": true, "color": "red", "limit": 5, "ids": ["1", "2"]},
        "beta": {"enabled": false},
        "ghost": {"enabled": false}
    })
}

#[tokio::test]
async fn feature_flags_are_served_in_the_retrieval_form() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let app = create_app(&c, "ff-app").await;
    let env = create_env(&c, &app, "ff-env").await;
    let profile = create_flags_profile(&c, &app, "ff-profile").await;
    let fx = Fx {
        app: app.clone(),
        env: env.clone(),
        profile: profile.clone(),
        app_name: "ff-app".into(),
        env_name: "ff-env".into(),
        profile_name: "ff-profile".into(),
    };
    let s = instant_strategy(&c).await;
    deploy_now(
        &c,
        &fx,
        &s,
        flags_document().to_string().as_bytes(),
        Some("flags-1"),
    )
    .await;

    // AppConfigData.
    let out = poll(&d, &fx_session(&d, &fx).await).await;
    let served = json_of(&body(&out));
    assert_eq!(served, retrieval_form());
    assert!(no_underscore_keys(&served));
    assert_eq!(out.content_type(), Some("application/json"));
    assert_eq!(out.version_label(), Some("flags-1"));

    // The agent path, by ids and by names, whole and filtered.
    for path in [
        agent_path(&app, &env, &profile),
        agent_path("ff-app", "ff-env", "ff-profile"),
    ] {
        let r = get(&server, &path, &[]);
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.json(), retrieval_form());
        assert!(r
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")));
        let one = get(&server, &format!("{path}?flag=ui-refresh"), &[]);
        assert_eq!(one.status, 200, "{one:?}");
        assert_eq!(one.json(), retrieval_form()["ui-refresh"]);
        let two = get(&server, &format!("{path}?flag=ui-refresh&flag=beta"), &[]);
        assert_eq!(two.status, 200, "{two:?}");
        assert_eq!(
            two.json(),
            json!({"ui-refresh": retrieval_form()["ui-refresh"], "beta": {"enabled": false}})
        );
        let missing = get(&server, &format!("{path}?flag=nope"), &[]);
        assert_eq!(missing.status, 404, "{missing:?}");
    }

    // The stored document is untouched.
    let stored = get_version(&c, &app, &profile, 1).await;
    assert_eq!(
        json_of(stored.content().unwrap().as_ref()),
        flags_document()
    );

    // A flag switched on in a new version reaches the session as a change.
    let mut doc = flags_document();
    doc["values"]["beta"] = json!({"enabled": true, "level": 7});
    let token = fx_session(&d, &fx).await;
    let first = poll(&d, &token).await;
    deploy_now(&c, &fx, &s, doc.to_string().as_bytes(), None).await;
    tokio::time::sleep(SHORT_INTERVAL).await;
    let out = poll(&d, &next_token(&first)).await;
    assert_eq!(
        json_of(&body(&out))["beta"],
        json!({"enabled": true, "level": 7})
    );
}

// ---------------------------------------------------------------------------------------------
// Agent-compatible reads and the deprecated GetConfiguration
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn agent_reads_by_names_and_ids() {
    let (server, c) = Server::start_with_args_client(&["--time-scale", "60"]);
    let fx = Fx {
        app_name: "my app".into(),
        env_name: "prod".into(),
        profile_name: "main".into(),
        ..fixture(&c, "agent").await
    };
    send!(c
        .update_application()
        .application_id(&fx.app)
        .name("my app"))
    .unwrap();
    send!(c
        .update_environment()
        .application_id(&fx.app)
        .environment_id(&fx.env)
        .name("prod"))
    .unwrap();
    send!(c
        .update_configuration_profile()
        .application_id(&fx.app)
        .configuration_profile_id(&fx.profile)
        .name("main"))
    .unwrap();
    let s = instant_strategy(&c).await;
    let req = version_request(&c, &fx.app, &fx.profile, b"key=value\n", "text/plain");
    let v = send!(req.version_label("first")).unwrap().version_number();
    let n = start_deployment(&c, &fx, v, &s).await;
    wait_state(&c, &fx, n, DeploymentState::Complete).await;

    for path in [
        agent_path(&fx.app, &fx.env, &fx.profile),
        agent_path("my%20app", "prod", "main"),
        agent_path(&fx.app, "prod", &fx.profile),
    ] {
        let r = get(&server, &path, &[]);
        assert_eq!(r.status, 200, "{path}: {r:?}");
        assert_eq!(r.body, b"key=value\n");
        assert_eq!(r.header("content-type"), Some("text/plain"));
        assert_eq!(
            r.header("configuration-version"),
            Some(v.to_string().as_str())
        );
        assert_eq!(r.header("version-label"), Some("first"));
        // Reading again gives the bytes again (the agent serves its cache, never "unchanged").
        assert_eq!(get(&server, &path, &[]).body, b"key=value\n");
    }
    for (path, rtype) in [
        (agent_path("nope", "prod", "main"), "Application"),
        (agent_path("my%20app", "nope", "main"), "Environment"),
        (
            agent_path("my%20app", "prod", "nope"),
            "ConfigurationProfile",
        ),
    ] {
        let r = get(&server, &path, &[]);
        assert_eq!(r.status, 404, "{path}: {r:?}");
        assert_eq!(r.json()["ResourceType"], rtype, "{path}");
    }
}

#[tokio::test]
async fn agent_token_requires_a_bearer_header_on_the_agent_path_only() {
    let server = Server::start_with(&["--time-scale", "60", "--agent-token", "secret"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "bearer").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, b"{}", None).await;
    let path = agent_path(&fx.app_name, &fx.env_name, &fx.profile_name);

    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "secret")],
        vec![("Authorization", "Basic secret")],
    ] {
        let r = get(&server, &path, &headers);
        assert_eq!(r.status, 401, "{headers:?}: {r:?}");
        assert!(r.body.is_empty() || r.json().is_object(), "{r:?}");
    }
    let r = get(&server, &path, &[("Authorization", "Bearer secret")]);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, b"{}");

    // The SDK operations are not agent reads: they work without the bearer token.
    let out = poll(&d, &fx_session(&d, &fx).await).await;
    assert_eq!(body(&out), b"{}");
    let got = send!(get_configuration_request(
        &c,
        &fx.app_name,
        &fx.env_name,
        &fx.profile_name,
        "sdk-client"
    ))
    .unwrap_or_else(|e| panic!("GetConfiguration: {}", DisplayErrorContext(&e)));
    assert_eq!(got.content().map(|b| b.as_ref()), Some(&b"{}"[..]));
}

#[tokio::test]
#[allow(deprecated)]
async fn get_configuration_with_client_id() {
    let (server, c) = Server::start_with_args_client(&["--time-scale", "60"]);
    let fx = fixture(&c, "getconf").await;
    let s = instant_strategy(&c).await;
    let (v1, _) = deploy_now(&c, &fx, &s, br#"{"v":1}"#, None).await;

    let read = |known: Option<String>| {
        get_configuration_request(&c, &fx.app_name, &fx.env_name, &fx.profile_name, "client-1")
            .set_client_configuration_version(known)
            .send()
    };
    let first = read(None)
        .await
        .unwrap_or_else(|e| panic!("GetConfiguration: {}", DisplayErrorContext(&e)));
    assert_eq!(
        first.content().map(|b| b.as_ref()),
        Some(&br#"{"v":1}"#[..])
    );
    assert_eq!(first.configuration_version(), Some(v1.to_string().as_str()));
    assert_eq!(first.content_type(), Some("application/json"));

    // The client already has the current version: 204 and no content.
    let raw = get(
        &server,
        &format!(
            "{}?client_id=client-1&client_configuration_version={v1}",
            agent_path(&fx.app, &fx.env, &fx.profile)
        ),
        &[],
    );
    assert_eq!(raw.status, 204, "{raw:?}");
    assert!(raw.body.is_empty());
    let same = read(Some(v1.to_string())).await.unwrap();
    assert!(
        same.content().is_none_or(|b| b.as_ref().is_empty()),
        "{same:?}"
    );

    // A new version: the old client version gets the new bytes.
    let (v2, _) = deploy_now(&c, &fx, &s, br#"{"v":2}"#, None).await;
    let newer = read(Some(v1.to_string())).await.unwrap();
    assert_eq!(
        newer.content().map(|b| b.as_ref()),
        Some(&br#"{"v":2}"#[..])
    );
    assert_eq!(newer.configuration_version(), Some(v2.to_string().as_str()));

    // By ids too; client_id length is checked.
    let by_ids = send!(get_configuration_request(
        &c,
        &fx.app,
        &fx.env,
        &fx.profile,
        "client-2"
    ))
    .unwrap();
    assert_eq!(
        by_ids.content().map(|b| b.as_ref()),
        Some(&br#"{"v":2}"#[..])
    );
    let (_, status) = service_error(send!(get_configuration_request(
        &c,
        &fx.app,
        &fx.env,
        &fx.profile,
        chars('c', 65)
    )));
    assert_eq!(status, 400);

    // Not for feature flags.
    let ff = create_flags_profile(&c, &fx.app, "flags").await;
    let (e, status) = service_error(send!(get_configuration_request(
        &c, &fx.app, &fx.env, &ff, "client-1"
    )));
    assert_eq!(status, 400, "{e:?}");
    // Nothing deployed for a fresh profile.
    let fresh = create_profile(&c, &fx.app, "fresh").await;
    let (e, status) = service_error(send!(get_configuration_request(
        &c, &fx.app, &fx.env, &fresh, "client-1"
    )));
    assert_eq!(status, 404, "{e:?}");
    assert!(e.is_resource_not_found_exception(), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// Deletion protection
// ---------------------------------------------------------------------------------------------

async fn protect(c: &Client, enabled: bool, minutes: i32) {
    send!(c.update_account_settings().deletion_protection(
        DeletionProtectionSettings::builder()
            .enabled(enabled)
            .protection_period_in_minutes(minutes)
            .build(),
    ))
    .expect("update account settings");
}

/// `Ok(())`, or the service error's (code, HTTP status).
fn outcome<
    T: std::fmt::Debug,
    E: std::fmt::Debug + aws_sdk_appconfig::error::ProvideErrorMetadata,
>(
    result: Result<
        T,
        aws_sdk_appconfig::error::SdkError<E, aws_sdk_appconfig::config::http::HttpResponse>,
    >,
) -> Result<(), (String, u16)> {
    result.map(|_| ()).map_err(|e| {
        let (e, status) = service_error::<(), _>(Err(e));
        (code(&e), status)
    })
}

async fn delete_env(
    c: &Client,
    fx: &Fx,
    env: &str,
    check: Option<DeletionProtectionCheck>,
) -> Result<(), (String, u16)> {
    outcome(send!(c
        .delete_environment()
        .application_id(&fx.app)
        .environment_id(env)
        .set_deletion_protection_check(check)))
}

async fn delete_profile(
    c: &Client,
    fx: &Fx,
    profile: &str,
    check: Option<DeletionProtectionCheck>,
) -> Result<(), (String, u16)> {
    outcome(send!(c
        .delete_configuration_profile()
        .application_id(&fx.app)
        .configuration_profile_id(profile)
        .set_deletion_protection_check(check)))
}

async fn delete_versions(c: &Client, fx: &Fx, profile: &str) {
    for v in all_version_numbers(c, &fx.app, profile).await {
        delete_version(c, &fx.app, profile, v).await;
    }
}

fn conflict() -> Result<(), (String, u16)> {
    Err(("ConflictException".to_string(), 409))
}

/// Resources created less than an hour ago (a minute at this scale) are protected only with
/// APPLY.
#[tokio::test]
async fn deletion_protection_apply_bypass_and_new_resources() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    protect(&c, true, 15).await;
    let fx = fixture(&c, "protect").await;
    let env2 = create_env(&c, &fx.app, "second").await;
    let unread = create_env(&c, &fx.app, "unread").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, b"{}", None).await;
    let fx2 = Fx {
        env: env2.clone(),
        ..fx.clone()
    };
    let v = all_version_numbers(&c, &fx.app, &fx.profile).await[0];
    let n = start_deployment(&c, &fx2, v, &s).await;
    wait_state(&c, &fx2, n, DeploymentState::Complete).await;

    // Read through the data plane (the usage mark is written in the background).
    let gone = next_token(&poll(&d, &fx_session(&d, &fx).await).await);
    poll(&d, &fx_session(&d, &fx2).await).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    use DeletionProtectionCheck::*;
    assert_eq!(delete_env(&c, &fx, &fx.env, Some(Apply)).await, conflict());
    assert_eq!(
        delete_profile(&c, &fx, &fx.profile, Some(Apply)).await,
        conflict()
    );
    // An environment nobody read is not protected.
    assert_eq!(delete_env(&c, &fx, &unread, Some(Apply)).await, Ok(()));
    // BYPASS skips the check.
    assert_eq!(delete_env(&c, &fx, &fx.env, Some(Bypass)).await, Ok(()));
    // A session of the deleted environment now reads "not found".
    tokio::time::sleep(SHORT_INTERVAL).await;
    let (e, status) = poll_err(&d, &gone).await;
    assert_eq!(status, 404, "{e:?}");
    assert!(e.is_resource_not_found_exception(), "{e:?}");
    // ACCOUNT_DEFAULT (given or implied) skips resources younger than an hour.
    assert_eq!(
        delete_env(&c, &fx, &env2, Some(AccountDefault)).await,
        Ok(())
    );
    delete_versions(&c, &fx, &fx.profile).await;
    assert_eq!(delete_profile(&c, &fx, &fx.profile, None).await, Ok(()));
}

/// At `--time-scale 3600` an hour is a second, so resources become "old" quickly; every read
/// API (GetLatestConfiguration, GetConfiguration, the agent path) counts as use.
#[tokio::test]
#[allow(deprecated)]
async fn deletion_protection_follows_the_account_setting_for_old_resources() {
    let server = Server::start_with(&["--time-scale", "3600"]);
    let (c, d) = (server.client(), data_client(&server));
    // 24 h = 24 s of wall time.
    protect(&c, true, 1440).await;
    let fx = fixture(&c, "old").await;
    let s = instant_strategy(&c).await;
    let mut envs = Vec::new();
    for name in ["sdk", "getconf", "agent", "unread"] {
        envs.push(create_env(&c, &fx.app, name).await);
    }
    let v = create_version(&c, &fx.app, &fx.profile, b"{}", "application/json").await;
    for env in &envs {
        let efx = Fx {
            env: env.clone(),
            ..fx.clone()
        };
        let n = start_deployment(&c, &efx, v, &s).await;
        wait_state(&c, &efx, n, DeploymentState::Complete).await;
    }
    // Older than an hour (scaled).
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let out = poll(&d, &session(&d, &fx.app, &envs[0], &fx.profile, None).await).await;
    assert_eq!(body(&out), b"{}");
    send!(get_configuration_request(
        &c,
        &fx.app,
        &envs[1],
        &fx.profile,
        "c"
    ))
    .unwrap();
    assert_eq!(
        get(&server, &agent_path(&fx.app, &envs[2], &fx.profile), &[]).status,
        200
    );
    tokio::time::sleep(Duration::from_millis(500)).await;

    use DeletionProtectionCheck::*;
    for env in &envs[..3] {
        assert_eq!(
            delete_env(&c, &fx, env, None).await,
            conflict(),
            "env {env}"
        );
    }
    assert_eq!(delete_profile(&c, &fx, &fx.profile, None).await, conflict());
    assert_eq!(
        delete_env(&c, &fx, &envs[3], None).await,
        Ok(()),
        "unread env"
    );

    // Protection off: ACCOUNT_DEFAULT allows, APPLY still checks.
    protect(&c, false, 1440).await;
    assert_eq!(delete_env(&c, &fx, &envs[0], Some(Apply)).await, conflict());
    assert_eq!(
        delete_env(&c, &fx, &envs[0], Some(AccountDefault)).await,
        Ok(())
    );

    // Protection on with a 15-minute period (0.25 s): once it has passed, deletes go through.
    protect(&c, true, 15).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(delete_env(&c, &fx, &envs[1], None).await, Ok(()));
    assert_eq!(delete_env(&c, &fx, &envs[2], Some(Apply)).await, Ok(()));
    delete_versions(&c, &fx, &fx.profile).await;
    assert_eq!(
        delete_profile(&c, &fx, &fx.profile, Some(Apply)).await,
        Ok(())
    );
}

/// A client that keeps polling keeps its environment "in use": the protection period is
/// measured from the latest read.
#[tokio::test]
async fn deletion_protection_counts_the_latest_read() {
    let server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    // 15 minutes = 15 s of wall time.
    protect(&c, true, 15).await;
    let fx = fixture(&c, "busy").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, b"{}", None).await;

    // Poll every 2 s (scaled: every 2 minutes) for 20 s (20 minutes).
    let mut token = fx_session(&d, &fx).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        token = next_token(&poll(&d, &token).await);
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    poll(&d, &token).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Read half a second (30 scaled seconds) ago: protected.
    assert_eq!(
        delete_env(&c, &fx, &fx.env, Some(DeletionProtectionCheck::Apply)).await,
        conflict()
    );
}

// ---------------------------------------------------------------------------------------------
// Restart
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tokens_survive_a_restart() {
    let mut server = Server::start_with(&["--time-scale", "60"]);
    let (c, d) = (server.client(), data_client(&server));
    let fx = fixture(&c, "restart").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, br#"{"v":1}"#, None).await;

    let initial = fx_session(&d, &fx).await;
    let next = next_token(&poll(&d, &fx_session(&d, &fx).await).await);

    server.restart();
    let (c, d) = (server.client(), data_client(&server));
    tokio::time::sleep(SHORT_INTERVAL).await;
    assert_eq!(body(&poll(&d, &initial).await), br#"{"v":1}"#);
    let after = poll(&d, &next).await;
    assert!(
        body(&after).is_empty(),
        "unchanged across the restart: {after:?}"
    );
    let next = next_token(&after);

    // And after a crash, with a deployment made in between.
    server.kill9_and_restart();
    let (c2, d) = (server.client(), data_client(&server));
    drop(c);
    deploy_now(&c2, &fx, &s, br#"{"v":2}"#, None).await;
    tokio::time::sleep(SHORT_INTERVAL).await;
    assert_eq!(body(&poll(&d, &next).await), br#"{"v":2}"#);
}

/// A second `appconfigd serve` on another server's database (a second node). Killed on drop.
pub(crate) struct Node {
    child: std::process::Child,
    pub(crate) endpoint: String,
}

impl Node {
    pub(crate) fn start(database: &str, args: &[&str]) -> Node {
        use std::io::BufRead;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_appconfigd"));
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().to_string();
            if key.starts_with("APPCONFIGD_") || key.starts_with("AWS_") {
                cmd.env_remove(key);
            }
        }
        cmd.envs(AWS_SANDBOX_ENV.iter().copied())
            .env("AWS_CONFIG_FILE", "/nonexistent/appconfigd-test")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/appconfigd-test",
            );
        let mut child = cmd
            .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn a second appconfigd");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("ready line");
        let endpoint = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no endpoint in {line:?}"))
            .to_string();
        Node { child, endpoint }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two nodes on one PostgreSQL database: tokens of one are good on the other, and the other's
/// snapshot follows deployments and renames made through the first (LISTEN/NOTIFY).
#[tokio::test]
async fn a_second_node_accepts_tokens_and_follows_changes() {
    if backend() != Backend::Postgres {
        eprintln!("multi-node data plane needs PostgreSQL (APPCONFIGD_TEST_BACKEND=postgres)");
        return;
    }
    let a = Server::start_with(&["--time-scale", "60"]);
    let b = Node::start(a.database_url(), &["--time-scale", "60"]);
    let (c, da, db) = (a.client(), data_client(&a), data_client_for(&b.endpoint));
    let fx = fixture(&c, "nodes").await;
    let s = instant_strategy(&c).await;
    deploy_now(&c, &fx, &s, br#"{"v":1}"#, None).await;

    // A session started on A is read on B, and B caches the entry.
    let first = poll(&db, &fx_session(&da, &fx).await).await;
    assert_eq!(body(&first), br#"{"v":1}"#);
    tokio::time::sleep(SHORT_INTERVAL).await;
    let same = poll(&db, &next_token(&first)).await;
    assert!(body(&same).is_empty());

    // A deployment made through A reaches B's snapshot.
    deploy_now(&c, &fx, &s, br#"{"v":2}"#, None).await;
    tokio::time::sleep(SHORT_INTERVAL).await;
    let changed = poll(&db, &next_token(&same)).await;
    assert_eq!(body(&changed), br#"{"v":2}"#);
    // And B's next token works on A.
    tokio::time::sleep(SHORT_INTERVAL).await;
    assert!(body(&poll(&da, &next_token(&changed)).await).is_empty());

    // A rename through A: B resolves the new name, not the old one.
    let b_addr = b.endpoint.trim_start_matches("http://").to_string();
    let old_path = agent_path(&fx.app_name, &fx.env_name, &fx.profile_name);
    assert_eq!(raw_call(&b_addr, "GET", &old_path).status, 200);
    send!(c
        .update_application()
        .application_id(&fx.app)
        .name("renamed"))
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = raw_call(&b_addr, "GET", &old_path);
    assert_eq!(r.status, 404, "old name on B: {r:?}");
    let new_path = agent_path("renamed", &fx.env_name, &fx.profile_name);
    let r = raw_call(&b_addr, "GET", &new_path);
    assert_eq!(r.status, 200, "new name on B: {r:?}");
    assert_eq!(r.body, br#"{"v":2}"#);
}
