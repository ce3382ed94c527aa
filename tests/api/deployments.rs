//! Deployments (issue 4): Start/Get/List/StopDeployment, the time-driven engine (with
//! `--time-scale`, so a minute of strategy time is a second or less), extension actions
//! against a real webhook receiver and against moto (SQS, SNS, EventBridge, Lambda,
//! CloudWatch), monitors, rollbacks, reverts and durability across kill -9.
//!
//! Every server here talks only to 127.0.0.1: the harness points `AWS_ENDPOINT_URL` at a
//! closed local port unless a test gives it a moto endpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_sdk_appconfig::operation::get_deployment::GetDeploymentOutput;
use aws_sdk_appconfig::types::{
    ActionInvocation, ActionPoint, DeploymentEvent, DeploymentEventType, DeploymentState,
    GrowthType, Monitor, Parameter, ValidatorType,
};
use aws_sdk_appconfig::Client;
use aws_smithy_types::Blob;
use serde_json::{json, Value};

use crate::harness::*;
use crate::scenario::*;
use crate::support::*;

/// One strategy minute is one wall second.
const SCALE_60: &[&str] = &["--time-scale", "60"];
/// One strategy minute is 100 ms.
const SCALE_600: &[&str] = &["--time-scale", "600"];
const LONG: Duration = Duration::from_secs(30);

/// An application with an environment, a hosted profile and version 1 of `content`.
type Setup = Ids;

fn scenario<'c>(c: &'c Client, content: &str) -> Scenario<'c> {
    Scenario::new(c)
        .app("deploy-app")
        .env("deploy-env")
        .profile("deploy-profile")
        .version(content.as_bytes(), "application/json")
}

async fn setup(c: &Client, content: &str) -> Setup {
    scenario(c, content).build().await
}

/// `setup` deployed with an instant strategy, waited for until COMPLETE: (setup, number).
async fn complete(c: &Client, content: &str) -> (Setup, i32) {
    let d = scenario(c, content).instant_strategy().deploy().await;
    wait_state(c, &d.ids, d.number, DeploymentState::Complete).await;
    (d.ids, d.number)
}

async fn strategy(c: &Client, duration: i32, growth: GrowthType, factor: f32, bake: i32) -> String {
    StrategySpec::new(duration, growth, factor, bake)
        .create(c)
        .await
}

/// A strategy that completes at once (duration 0, no bake).
async fn instant(c: &Client) -> String {
    StrategySpec::instant().create(c).await
}

async fn start(c: &Client, s: &Setup, strategy: &str) -> i32 {
    s.start(c, strategy, "1").await
}

async fn get(c: &Client, s: &Setup, n: i32) -> GetDeploymentOutput {
    s.get(c, n).await
}

/// Polls GetDeployment until `done` holds.
async fn wait_for(
    c: &Client,
    s: &Setup,
    n: i32,
    timeout: Duration,
    what: &str,
    done: impl Fn(&GetDeploymentOutput) -> bool,
) -> GetDeploymentOutput {
    s.wait_for(c, n, timeout, Duration::from_millis(100), what, done)
        .await
}

async fn wait_state(c: &Client, s: &Setup, n: i32, state: DeploymentState) -> GetDeploymentOutput {
    s.wait_state(c, n, state, LONG).await
}

/// The environment's State as sent: AWS's CamelCase (`ReadyForDeployment`), which the Rust
/// SDK's enum only knows as an unknown variant (docs/decisions.md).
async fn env_state(c: &Client, s: &Setup) -> String {
    send!(c
        .get_environment()
        .application_id(&s.app)
        .environment_id(&s.env))
    .unwrap()
    .state()
    .expect("environment state")
    .as_str()
    .to_string()
}

/// (EventType, TriggeredBy, Description), newest first as the service returns them.
fn events(log: &[DeploymentEvent]) -> Vec<(String, String, String)> {
    log.iter()
        .map(|e| {
            (
                e.event_type()
                    .map(|t| t.as_str())
                    .unwrap_or_default()
                    .to_string(),
                e.triggered_by()
                    .map(|t| t.as_str())
                    .unwrap_or_default()
                    .to_string(),
                e.description().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The descriptions of the PERCENTAGE_UPDATED events, newest first.
fn percent_steps(log: &[DeploymentEvent]) -> Vec<String> {
    events(log)
        .into_iter()
        .filter(|e| e.0 == "PERCENTAGE_UPDATED")
        .map(|e| e.2)
        .collect()
}

fn ev(t: &str, by: &str, d: &str) -> (String, String, String) {
    (t.to_string(), by.to_string(), d.to_string())
}

fn pct_text(p: &str) -> String {
    format!("Configuration available to {p}% of clients")
}

fn count(log: &[DeploymentEvent], t: DeploymentEventType) -> usize {
    log.iter().filter(|e| e.event_type() == Some(&t)).count()
}

fn millis(t: Option<&aws_smithy_types::DateTime>) -> i64 {
    t.expect("timestamp").to_millis().expect("millis")
}

async fn associate(c: &Client, ext: &str, resource: &str, params: &[(&str, &str)]) -> String {
    associate_with(c, ext, resource, params).await
}

/// The ActionInvocations recorded on events of type `t`.
fn invocations(log: &[DeploymentEvent], t: DeploymentEventType) -> Vec<ActionInvocation> {
    log.iter()
        .filter(|e| e.event_type() == Some(&t))
        .flat_map(|e| e.action_invocations().to_vec())
        .collect()
}

/// The event type an extension event of `type_` belongs on.
fn event_for(type_: &str) -> DeploymentEventType {
    match type_ {
        "OnDeploymentStart" | "PreStartDeployment" => DeploymentEventType::DeploymentStarted,
        "OnDeploymentStep" => DeploymentEventType::PercentageUpdated,
        "OnDeploymentBaking" => DeploymentEventType::BakeTimeStarted,
        "OnDeploymentComplete" => DeploymentEventType::DeploymentCompleted,
        "OnDeploymentRolledBack" => DeploymentEventType::RollbackCompleted,
        other => panic!("unexpected event type {other}"),
    }
}

// ---------------------------------------------------------------------------------------------
// The Deployment shape, numbering, versions, strategies
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_deployment_runs_to_completion_with_every_field() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let st = setup(&c, r#"{"v": 1}"#).await;
    // Version 2 with a label; deploy it by label.
    c.create_hosted_configuration_version()
        .application_id(&st.app)
        .configuration_profile_id(&st.profile)
        .content(Blob::new(r#"{"v": 2}"#))
        .content_type("application/json")
        .version_label("release-2")
        .send()
        .await
        .unwrap();
    let strat = strategy(&c, 2, GrowthType::Linear, 50.0, 1).await;
    let before = aws_smithy_types::DateTime::from(std::time::SystemTime::now());
    let d = send!(st
        .start_request(&c, &strat, "release-2")
        .description("ship v2")
        .kms_key_identifier("alias/appconfig-test")
        .tags("release", "2"))
    .expect("start deployment");
    assert_eq!(d.application_id(), Some(st.app.as_str()));
    assert_eq!(d.environment_id(), Some(st.env.as_str()));
    assert_eq!(d.deployment_strategy_id(), Some(strat.as_str()));
    assert_eq!(d.configuration_profile_id(), Some(st.profile.as_str()));
    assert_eq!(d.deployment_number(), 1);
    assert_eq!(d.configuration_name(), Some("deploy-profile"));
    assert_eq!(d.configuration_location_uri(), Some("hosted"));
    assert_eq!(d.configuration_version(), Some("2"));
    assert_eq!(d.version_label(), Some("release-2"));
    assert_eq!(d.description(), Some("ship v2"));
    assert_eq!(d.deployment_duration_in_minutes(), 2);
    assert_eq!(d.growth_type(), Some(&GrowthType::Linear));
    assert_eq!(d.growth_factor(), Some(50.0));
    assert_eq!(d.final_bake_time_in_minutes(), 1);
    assert_eq!(d.state(), Some(&DeploymentState::Deploying));
    assert_eq!(d.percentage_complete(), Some(0.0));
    assert!(d.completed_at().is_none());
    assert!(d.applied_extensions().is_empty());
    assert_eq!(d.kms_key_identifier(), Some("alias/appconfig-test"));
    assert_eq!(
        events(d.event_log()),
        vec![ev("DEPLOYMENT_STARTED", "USER", "Deployment started")]
    );
    let started = millis(d.started_at());
    assert!((started - before.to_millis().unwrap()).abs() < 5_000);
    assert_eq!(millis(d.event_log()[0].occurred_at()), started);
    assert_eq!(env_state(&c, &st).await, "Deploying");

    let done = wait_state(&c, &st, 1, DeploymentState::Complete).await;
    assert_eq!(done.percentage_complete(), Some(100.0));
    assert_eq!(
        events(done.event_log()),
        vec![
            ev("DEPLOYMENT_COMPLETED", "APPCONFIG", "Deployment completed"),
            ev(
                "BAKE_TIME_STARTED",
                "APPCONFIG",
                "Deployment bake time started"
            ),
            ev("PERCENTAGE_UPDATED", "APPCONFIG", &pct_text("100.00")),
            ev("PERCENTAGE_UPDATED", "APPCONFIG", &pct_text("50.00")),
            ev("DEPLOYMENT_STARTED", "USER", "Deployment started"),
        ]
    );
    // Wall-clock timestamps on the scaled timeline: 50 % at 1 s, 100 % and bake at 2 s,
    // completion at 3 s after the start; newest first.
    let at: Vec<i64> = done
        .event_log()
        .iter()
        .map(|e| millis(e.occurred_at()) - started)
        .collect();
    assert!(at.windows(2).all(|w| w[0] >= w[1]), "{at:?}");
    for (got, planned) in at.iter().zip([3000, 2000, 2000, 1000, 0]) {
        assert!(
            (*got - planned).abs() <= 50,
            "event times {at:?} (ms after start)"
        );
    }
    assert_eq!(millis(done.completed_at()), started + at[0]);
    assert_eq!(millis(done.started_at()), started);
    assert_eq!(env_state(&c, &st).await, "ReadyForDeployment");
    // The numbers stay the strategy's, unscaled.
    assert_eq!(done.deployment_duration_in_minutes(), 2);
    assert_eq!(done.final_bake_time_in_minutes(), 1);

    // ListDeployments summary.
    let list = st.list_request(&c).send().await.unwrap();
    assert_eq!(list.items().len(), 1);
    let sum = &list.items()[0];
    assert_eq!(sum.deployment_number(), 1);
    assert_eq!(sum.configuration_name(), Some("deploy-profile"));
    assert_eq!(sum.configuration_version(), Some("2"));
    assert_eq!(sum.version_label(), Some("release-2"));
    assert_eq!(sum.deployment_duration_in_minutes(), 2);
    assert_eq!(sum.growth_type(), Some(&GrowthType::Linear));
    assert_eq!(sum.growth_factor(), Some(50.0));
    assert_eq!(sum.final_bake_time_in_minutes(), 1);
    assert_eq!(sum.state(), Some(&DeploymentState::Complete));
    assert_eq!(sum.percentage_complete(), Some(100.0));
    assert_eq!(millis(sum.started_at()), started);
    assert_eq!(sum.completed_at(), done.completed_at());

    // Tags given at start live on the deployment ARN.
    let dep_arn = arn(&format!(
        "application/{}/environment/{}/deployment/1",
        st.app, st.env
    ));
    assert_eq!(tags_of(&c, &dep_arn).await["release"], "2");
}

#[tokio::test]
async fn linear_growth_climbs_then_bakes_then_completes() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let st = setup(&c, "{}").await;
    let strat = strategy(&c, 4, GrowthType::Linear, 25.0, 2).await;
    let n = start(&c, &st, &strat).await;
    let mut seen: Vec<(String, f32)> = Vec::new();
    let mut env_states = BTreeSet::new();
    let deadline = Instant::now() + LONG;
    loop {
        let d = get(&c, &st, n).await;
        let state = d.state().unwrap().as_str().to_string();
        let pct = d.percentage_complete().unwrap();
        if seen.last() != Some(&(state.clone(), pct)) {
            seen.push((state.clone(), pct));
        }
        env_states.insert(env_state(&c, &st).await);
        if state == "COMPLETE" {
            break;
        }
        assert!(Instant::now() < deadline, "{seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Never goes down; passes through intermediate percentages, then BAKING at 100 %.
    assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "{seen:?}");
    let intermediate: BTreeSet<u32> = seen
        .iter()
        .filter(|(s, p)| s == "DEPLOYING" && *p > 0.0 && *p < 100.0)
        .map(|(_, p)| *p as u32)
        .collect();
    assert!(
        !intermediate.is_empty(),
        "no intermediate percentage: {seen:?}"
    );
    assert!(
        intermediate.iter().all(|p| [25, 50, 75].contains(p)),
        "{seen:?}"
    );
    assert!(seen.contains(&("BAKING".to_string(), 100.0)), "{seen:?}");
    assert_eq!(seen.last().unwrap(), &("COMPLETE".to_string(), 100.0));
    assert!(env_states.contains("Deploying"), "{env_states:?}");

    let d = get(&c, &st, n).await;
    let steps: Vec<String> = percent_steps(d.event_log());
    assert_eq!(
        steps,
        ["100.00", "75.00", "50.00", "25.00"].map(pct_text).to_vec()
    );
    assert_eq!(env_state(&c, &st).await, "ReadyForDeployment");
}

#[tokio::test]
async fn exponential_growth_doubles_until_100() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let st = setup(&c, "{}").await;
    // 10, 20, 40, 80, 100 over 10 minutes (1 s).
    let strat = strategy(&c, 10, GrowthType::Exponential, 10.0, 0).await;
    let n = start(&c, &st, &strat).await;
    let mid = wait_for(&c, &st, n, LONG, "a first step", |d| {
        d.percentage_complete().unwrap_or(0.0) > 0.0
    })
    .await;
    assert!(
        [10.0, 20.0, 40.0, 80.0, 100.0].contains(&mid.percentage_complete().unwrap()),
        "{mid:?}"
    );
    let d = wait_state(&c, &st, n, DeploymentState::Complete).await;
    assert_eq!(d.growth_type(), Some(&GrowthType::Exponential));
    assert_eq!(d.growth_factor(), Some(10.0));
    let steps: Vec<String> = percent_steps(d.event_log());
    assert_eq!(
        steps,
        ["100.00", "80.00", "40.00", "20.00", "10.00"]
            .map(pct_text)
            .to_vec()
    );
    // Zero bake: the bake starts and ends at the deployment duration.
    assert_eq!(
        count(d.event_log(), DeploymentEventType::BakeTimeStarted),
        1
    );
    let started = millis(d.started_at());
    assert!((millis(d.completed_at()) - started - 1000).abs() <= 50);
}

#[tokio::test]
async fn zero_duration_deploys_100_percent_at_once() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let st = setup(&c, "{}").await;
    let strat = instant(&c).await;
    let t0 = Instant::now();
    let n = start(&c, &st, &strat).await;
    let d = wait_state(&c, &st, n, DeploymentState::Complete).await;
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(
        events(d.event_log()),
        vec![
            ev("DEPLOYMENT_COMPLETED", "APPCONFIG", "Deployment completed"),
            ev(
                "BAKE_TIME_STARTED",
                "APPCONFIG",
                "Deployment bake time started"
            ),
            ev("PERCENTAGE_UPDATED", "APPCONFIG", &pct_text("100.00")),
            ev("DEPLOYMENT_STARTED", "USER", "Deployment started"),
        ]
    );
}

#[tokio::test]
async fn deployment_numbers_count_per_environment_and_list_newest_first() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let st = setup(&c, "{}").await;
    let other = Setup {
        app: st.app.clone(),
        env: create_env(&c, &st.app, "other-env").await,
        profile: st.profile.clone(),
    };
    let strat = instant(&c).await;
    for expected in 1..=4 {
        let n = start(&c, &st, &strat).await;
        assert_eq!(n, expected);
        wait_state(&c, &st, n, DeploymentState::Complete).await;
    }
    assert_eq!(start(&c, &other, &strat).await, 1);

    let all: Vec<i32> = send!(st.list_request(&c))
        .unwrap()
        .items()
        .iter()
        .map(|d| d.deployment_number())
        .collect();
    assert_eq!(all, vec![4, 3, 2, 1]);
    // Pages keep the order.
    let mut paged = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = send!(st
            .list_request(&c)
            .max_results(3)
            .set_next_token(token.clone()))
        .unwrap();
        assert!(page.items().len() <= 3);
        paged.extend(page.items().iter().map(|d| d.deployment_number()));
        token = page.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(paged, all);
    let other_list = other.list_request(&c).send().await.unwrap();
    assert_eq!(other_list.items().len(), 1);
    // Errors.
    not_found(st.get_request(&c, 99).send().await);
    not_found(send!(c
        .get_deployment()
        .application_id(&st.app)
        .environment_id("zzzzzzz")
        .deployment_number(1)));
    not_found(send!(c
        .list_deployments()
        .application_id("zzzzzzz")
        .environment_id(&st.env)));
    not_found(st.stop_request(&c, 99).send().await);
}

#[tokio::test]
async fn configuration_version_by_number_or_label() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let st = setup(&c, r#"{"v": 1}"#).await;
    for (content, label) in [(r#"{"v": 2}"#, "two"), (r#"{"v": 3}"#, "3.0-final")] {
        send!(
            version_request(&c, &st.app, &st.profile, content, "application/json")
                .version_label(label)
        )
        .unwrap();
    }
    let strat = instant(&c).await;
    for (given, number, label) in [
        ("2", "2", Some("two")),
        ("3.0-final", "3", Some("3.0-final")),
        ("1", "1", None),
        ("two", "2", Some("two")),
    ] {
        let d = send!(st.start_request(&c, &strat, given))
            .unwrap_or_else(|e| panic!("deploy {given}: {e:?}"));
        assert_eq!(d.configuration_version(), Some(number), "{given}");
        assert_eq!(d.version_label(), label, "{given}");
        wait_state(&c, &st, d.deployment_number(), DeploymentState::Complete).await;
    }
    for missing in ["9", "nine", "Two"] {
        not_found(st.start_request(&c, &strat, missing).send().await);
    }
    // Missing application, environment, profile or strategy.
    let base = || st.start_request(&c, &strat, "1");
    not_found(base().environment_id("zzzzzzz").send().await);
    not_found(base().configuration_profile_id("zzzzzzz").send().await);
    not_found(base().deployment_strategy_id("zzzzzzz").send().await);
    // A predefined strategy by id works.
    let d = base()
        .deployment_strategy_id("AppConfig.AllAtOnce")
        .send()
        .await
        .expect("predefined strategy");
    assert_eq!(d.deployment_strategy_id(), Some("AppConfig.AllAtOnce"));
    assert_eq!(d.deployment_duration_in_minutes(), 0);
    assert_eq!(d.growth_factor(), Some(100.0));
    assert_eq!(d.final_bake_time_in_minutes(), 10);
}

#[tokio::test]
async fn strategy_numbers_are_copied_at_start() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let st = setup(&c, "{}").await;
    let strat = strategy(&c, 2, GrowthType::Linear, 50.0, 1).await;
    let n = start(&c, &st, &strat).await;
    send!(c
        .update_deployment_strategy()
        .deployment_strategy_id(&strat)
        .deployment_duration_in_minutes(30)
        .growth_factor(10.0)
        .growth_type(GrowthType::Exponential)
        .final_bake_time_in_minutes(30))
    .unwrap();
    let d = get(&c, &st, n).await;
    assert_eq!(d.deployment_duration_in_minutes(), 2);
    assert_eq!(d.growth_type(), Some(&GrowthType::Linear));
    assert_eq!(d.growth_factor(), Some(50.0));
    assert_eq!(d.final_bake_time_in_minutes(), 1);
    // It finishes on the old timeline (3 s), not the new one (60 s).
    let t0 = Instant::now();
    let done = wait_state(&c, &st, n, DeploymentState::Complete).await;
    assert!(t0.elapsed() < Duration::from_secs(15));
    assert_eq!(
        count(done.event_log(), DeploymentEventType::PercentageUpdated),
        2
    );
    // The next deployment takes the new numbers.
    let next = st.start_request(&c, &strat, "1").send().await.unwrap();
    assert_eq!(next.deployment_duration_in_minutes(), 30);
    assert_eq!(next.growth_type(), Some(&GrowthType::Exponential));
}

#[tokio::test]
async fn one_deployment_at_a_time_per_environment() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let st = setup(&c, "{}").await;
    let slow = strategy(&c, 60, GrowthType::Linear, 10.0, 0).await;
    let n = start(&c, &st, &slow).await;
    let m = conflict(st.start_request(&c, &slow, "1").send().await);
    assert!(!m.is_empty());
    // Another environment is independent.
    let other = Setup {
        app: st.app.clone(),
        env: create_env(&c, &st.app, "parallel").await,
        profile: st.profile.clone(),
    };
    assert_eq!(start(&c, &other, &slow).await, 1);
    // An environment with a running deployment cannot be deleted.
    conflict(send!(c
        .delete_environment()
        .application_id(&st.app)
        .environment_id(&st.env)));
    // Once stopped, the next one starts.
    st.stop_request(&c, n).send().await.unwrap();
    assert_eq!(start(&c, &st, &slow).await, 2);
    assert_eq!(st.list_request(&c).send().await.unwrap().items().len(), 2);
}

#[tokio::test]
async fn a_json_schema_failure_blocks_the_start_and_creates_nothing() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let schema = json!({
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "properties": {"limit": {"type": "integer"}},
        "required": ["limit"]
    });
    let st = Scenario::new(&c)
        .app("validated")
        .profile("with-schema")
        .validator(ValidatorType::JsonSchema, &schema.to_string())
        .version(br#"{"limit": "ten"}"#, "application/json")
        .version(br#"{"limit": 10}"#, "application/json")
        .build()
        .await;
    let strat = instant(&c).await;
    let m = bad_request(st.start_request(&c, &strat, "1").send().await);
    assert!(!m.is_empty());
    let list = st.list_request(&c).send().await.unwrap();
    assert!(list.items().is_empty());
    assert_eq!(env_state(&c, &st).await, "ReadyForDeployment");
    // A valid version deploys, and is number 1: the failed attempt used nothing up.
    let d = send!(st.start_request(&c, &strat, "2")).expect("valid content deploys");
    assert_eq!(d.deployment_number(), 1);
}

#[tokio::test]
async fn a_webhook_lambda_validator_runs_at_start() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let rx = Receiver::start();
    let st = Scenario::new(&c)
        .app("lambda-validated")
        .profile("with-lambda")
        .validator(ValidatorType::Lambda, &rx.url("/validate"))
        .version(br#"{"ok": false}"#, "application/json")
        .build()
        .await;
    let strat = instant(&c).await;
    rx.reply("/validate", Reply::status(400));
    bad_request(st.start_request(&c, &strat, "1").send().await);
    let calls = rx.events("/validate");
    assert_eq!(calls.len(), 1);
    let e = &calls[0];
    assert_eq!(e["ApplicationId"], st.app.as_str());
    assert_eq!(e["ConfigurationProfileId"], st.profile.as_str());
    assert_eq!(e["ConfigurationVersion"], "1");
    assert_eq!(unb64(e["Content"].as_str().unwrap()), br#"{"ok": false}"#);
    assert_eq!(e["Uri"], rx.url("/validate").as_str());
    assert!(st.no_deployments(&c).await);
    rx.reply("/validate", Reply::ok());
    assert_eq!(start(&c, &st, &strat).await, 1);
}

// ---------------------------------------------------------------------------------------------
// StopDeployment: rollback and revert
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn stopping_a_running_deployment_rolls_it_back() {
    let (s, c) = Server::start_with_args_client(SCALE_60);
    let st = setup(&c, "{}").await;
    let slow = strategy(&c, 60, GrowthType::Linear, 10.0, 0).await;
    let n = start(&c, &st, &slow).await;
    wait_for(&c, &st, n, LONG, "the first step", |d| {
        d.percentage_complete().unwrap_or(0.0) > 0.0
    })
    .await;
    // On the wire: 202 Accepted.
    let r = raw_request(
        s.addr(),
        "DELETE",
        &format!(
            "/applications/{}/environments/{}/deployments/{n}",
            st.app, st.env
        ),
        &[],
        b"",
    );
    assert_eq!(r.status, 202, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["State"], "ROLLED_BACK");
    let d = get(&c, &st, n).await;
    assert_eq!(d.state(), Some(&DeploymentState::RolledBack));
    assert_eq!(d.percentage_complete(), Some(0.0));
    assert!(d.completed_at().is_some());
    let log = events(d.event_log());
    assert_eq!(log[0].0, "ROLLBACK_COMPLETED");
    assert_eq!(log[1].0, "ROLLBACK_STARTED");
    assert_eq!(log[1].1, "USER");
    assert!(!log[1].2.is_empty());
    assert_eq!(log.last().unwrap().0, "DEPLOYMENT_STARTED");
    assert_eq!(env_state(&c, &st).await, "RolledBack");
    // Nothing moves afterwards.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let later = get(&c, &st, n).await;
    assert_eq!(later.event_log().len(), d.event_log().len());
    assert_eq!(later.state(), Some(&DeploymentState::RolledBack));
    // A rolled-back deployment cannot be stopped or reverted.
    for revert in [false, true] {
        bad_request(st.stop_request(&c, n).allow_revert(revert).send().await);
    }
}

#[tokio::test]
async fn a_complete_deployment_reverts_only_with_allow_revert() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let rx = Receiver::start();
    let st = setup(&c, "{}").await;
    webhook_on(
        &c,
        "rollback-hook",
        &[ActionPoint::OnDeploymentRolledBack],
        &rx.url("/rolled-back"),
        &env_arn(&st.app, &st.env),
    )
    .await;
    let strat = instant(&c).await;
    let first = start(&c, &st, &strat).await;
    wait_state(&c, &st, first, DeploymentState::Complete).await;
    let n = start(&c, &st, &strat).await;
    wait_state(&c, &st, n, DeploymentState::Complete).await;

    let m = bad_request(st.stop_request(&c, n).send().await);
    assert!(!m.is_empty());
    bad_request(st.stop_request(&c, n).allow_revert(false).send().await);
    // Only the newest deployment can be reverted.
    bad_request(st.stop_request(&c, first).allow_revert(true).send().await);
    assert_eq!(
        get(&c, &st, n).await.state(),
        Some(&DeploymentState::Complete)
    );

    let reverted = send!(st.stop_request(&c, n).allow_revert(true)).expect("revert");
    assert_eq!(reverted.state(), Some(&DeploymentState::Reverted));
    let d = get(&c, &st, n).await;
    assert_eq!(d.state(), Some(&DeploymentState::Reverted));
    let log = events(d.event_log());
    assert_eq!(log[0].0, "REVERT_COMPLETED");
    assert_eq!(log[0].1, "USER");
    assert_eq!(env_state(&c, &st).await, "Reverted");
    // ON_DEPLOYMENT_ROLLED_BACK fired, recorded on the revert event.
    let got = rx.wait_events("/rolled-back", 1, LONG).await;
    assert_eq!(got[0]["Type"], "OnDeploymentRolledBack");
    assert_eq!(got[0]["DeploymentNumber"], json!(n));
    let recorded = invocations(d.event_log(), DeploymentEventType::RevertCompleted);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].invocation_id(), got[0]["InvocationId"].as_str());
    // Once reverted, never again.
    bad_request(st.stop_request(&c, n).allow_revert(true).send().await);
}

#[tokio::test]
async fn the_revert_window_is_72_scaled_hours() {
    // 72 h / 200000 ≈ 1.3 s.
    let (_s, c) = Server::start_with_args_client(&["--time-scale", "200000"]);
    let (st, n) = complete(&c, "{}").await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let m = bad_request(st.stop_request(&c, n).allow_revert(true).send().await);
    assert!(m.contains("72"), "{m}");
    assert_eq!(
        get(&c, &st, n).await.state(),
        Some(&DeploymentState::Complete)
    );
}

// ---------------------------------------------------------------------------------------------
// Extensions at deployment time: a real webhook receiver
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn webhook_receives_every_deployment_event_with_the_documented_payload() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let rx = Receiver::start();
    let st = setup(&c, r#"{"feature": true}"#).await;
    let url = rx.url("/hook");
    let ext = send!(c
        .create_extension()
        .name("observer")
        .actions(
            ActionPoint::OnDeploymentStart,
            vec![webhook_action("start", &url)],
        )
        .actions(
            ActionPoint::OnDeploymentStep,
            vec![webhook_action("step", &url)],
        )
        .actions(
            ActionPoint::OnDeploymentBaking,
            vec![webhook_action("baking", &url)],
        )
        .actions(
            ActionPoint::OnDeploymentComplete,
            vec![webhook_action("complete", &url)],
        )
        .parameters("Channel", Parameter::builder().required(true).build())
        .parameters("Tier", Parameter::builder().dynamic(true).build()))
    .unwrap();
    let ext_id = ext.id().unwrap().to_string();
    let assoc = associate(
        &c,
        &ext_id,
        &env_arn(&st.app, &st.env),
        &[("Channel", "#deploys")],
    )
    .await;
    let strat = strategy(&c, 2, GrowthType::Linear, 50.0, 1).await;
    let started = send!(st
        .start_request(&c, &strat, "1")
        .description("with hooks")
        .dynamic_extension_parameters("observer#Tier", "gold"))
    .expect("start deployment");
    // AppliedExtensions: the association, frozen at start, with the dynamic value.
    let applied = started.applied_extensions();
    assert_eq!(applied.len(), 1);
    assert_eq!(applied[0].extension_id(), Some(ext_id.as_str()));
    assert_eq!(applied[0].extension_association_id(), Some(assoc.as_str()));
    assert_eq!(applied[0].version_number(), 1);
    let params = applied[0].parameters().unwrap();
    assert_eq!(params.get("Channel").map(String::as_str), Some("#deploys"));
    assert_eq!(params.get("Tier").map(String::as_str), Some("gold"));

    let n = started.deployment_number();
    let d = wait_state(&c, &st, n, DeploymentState::Complete).await;
    // start + 2 steps + baking + complete.
    let got = rx.wait_events("/hook", 5, LONG).await;
    assert_eq!(got.len(), 5, "{got:#?}");
    // Invocations of events applied in one engine pass are delivered concurrently, so only
    // the multiset of types is fixed.
    let mut types: Vec<&str> = got.iter().map(|e| e["Type"].as_str().unwrap()).collect();
    types.sort();
    assert_eq!(
        types,
        vec![
            "OnDeploymentBaking",
            "OnDeploymentComplete",
            "OnDeploymentStart",
            "OnDeploymentStep",
            "OnDeploymentStep",
        ]
    );
    assert_eq!(got[0]["Type"], "OnDeploymentStart");
    let app_name = send!(c.get_application().application_id(&st.app))
        .unwrap()
        .name()
        .unwrap()
        .to_string();
    let mut ids = BTreeSet::new();
    for e in &got {
        assert_eq!(
            e["Parameters"],
            json!({"Channel": "#deploys", "Tier": "gold"}),
            "{e}"
        );
        assert_eq!(e["Application"], json!({"Id": st.app, "Name": app_name}));
        assert_eq!(
            e["Environment"],
            json!({"Id": st.env, "Name": "deploy-env"})
        );
        assert_eq!(
            e["ConfigurationProfile"],
            json!({"Id": st.profile, "Name": "deploy-profile"})
        );
        assert!(e["DeploymentNumber"].is_number(), "{e}");
        assert_eq!(e["DeploymentNumber"], json!(n));
        assert_eq!(e["Description"], "with hooks");
        assert_eq!(e["ConfigurationVersion"], "1");
        assert!(
            e.get("Content").is_none(),
            "ON_* events carry no content: {e}"
        );
        let id = e["InvocationId"]
            .as_str()
            .expect("InvocationId")
            .to_string();
        assert!(ids.insert(id.clone()), "InvocationId reused: {id}");
        // Each invocation is recorded on the event it belongs to.
        let on = invocations(d.event_log(), event_for(e["Type"].as_str().unwrap()));
        let inv = on
            .iter()
            .find(|i| i.invocation_id() == Some(id.as_str()))
            .unwrap_or_else(|| panic!("{id} not recorded on its event: {:#?}", d.event_log()));
        assert_eq!(inv.extension_identifier(), Some(ext_id.as_str()));
        assert_eq!(inv.uri(), Some(url.as_str()));
        assert_eq!(
            inv.role_arn(),
            Some("arn:aws:iam::000000000000:role/appconfig-extension")
        );
        let action = match e["Type"].as_str().unwrap() {
            "OnDeploymentStart" => "start",
            "OnDeploymentStep" => "step",
            "OnDeploymentBaking" => "baking",
            _ => "complete",
        };
        assert_eq!(inv.action_name(), Some(action));
        assert!(inv.error_code().is_none() && inv.error_message().is_none());
    }
    // Exactly one invocation per event: nothing recorded that was not delivered.
    let recorded: usize = d
        .event_log()
        .iter()
        .map(|e| e.action_invocations().len())
        .sum();
    assert_eq!(recorded, 5);
    assert_eq!(rx.requests_to("/hook").len(), 5, "each delivered once");
    assert!(rx
        .requests_to("/hook")
        .iter()
        .all(|r| r.header("content-type") == Some("application/json")));
}

#[tokio::test]
async fn dynamic_parameters_must_name_an_applied_dynamic_parameter() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let rx = Receiver::start();
    let st = setup(&c, "{}").await;
    let ext = send!(c
        .create_extension()
        .name("dyn")
        .actions(
            ActionPoint::OnDeploymentStart,
            vec![webhook_action("start", &rx.url("/dyn"))],
        )
        .parameters("Static", Parameter::builder().build())
        .parameters("Tier", Parameter::builder().dynamic(true).build()))
    .unwrap();
    let assoc = associate(&c, "dyn", &app_arn(&st.app), &[("Tier", "default")]).await;
    let strat = instant(&c).await;
    let base = || st.start_request(&c, &strat, "1");
    for bad in ["dyn#Static", "dyn#Nope", "other#Tier", "no-hash"] {
        bad_request(base().dynamic_extension_parameters(bad, "x").send().await);
    }
    assert!(st.no_deployments(&c).await);
    // Without a dynamic value, the association's value is the default; addressed by the
    // extension ARN or the association id, it overrides.
    let mut n = 0;
    for (key, expected) in [
        (None, "default"),
        (Some(format!("{}#Tier", ext.arn().unwrap())), "by-arn"),
        (Some(format!("{assoc}#Tier")), "by-association"),
    ] {
        let d = base()
            .set_dynamic_extension_parameters(key.map(|k| [(k, expected.to_string())].into()))
            .send()
            .await
            .expect("deploy");
        n = d.deployment_number();
        wait_state(&c, &st, n, DeploymentState::Complete).await;
        let got = rx.wait_events("/dyn", n as usize, LONG).await;
        assert_eq!(got.last().unwrap()["Parameters"]["Tier"], expected);
    }
    assert_eq!(n, 3);
}

#[tokio::test]
async fn a_failing_webhook_is_recorded_but_the_deployment_completes() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let rx = Receiver::start();
    rx.reply("/broken", Reply::status(500));
    let st = setup(&c, "{}").await;
    let ext = webhook_extension(
        &c,
        "broken",
        &[
            ActionPoint::OnDeploymentStart,
            ActionPoint::OnDeploymentComplete,
        ],
        &rx.url("/broken"),
    )
    .await;
    let ok = webhook_extension(
        &c,
        "healthy",
        &[ActionPoint::OnDeploymentStart],
        &rx.url("/fine"),
    )
    .await;
    associate(&c, &ext, &app_arn(&st.app), &[]).await;
    associate(&c, &ok, &profile_arn(&st.app, &st.profile), &[]).await;
    let strat = strategy(&c, 2, GrowthType::Linear, 100.0, 0).await;
    let n = start(&c, &st, &strat).await;
    wait_state(&c, &st, n, DeploymentState::Complete).await;
    // After the retries, both failures are recorded on their events.
    let d = wait_for(&c, &st, n, LONG, "recorded invocation errors", |d| {
        d.event_log()
            .iter()
            .flat_map(|e| e.action_invocations())
            .filter(|i| i.error_code().is_some())
            .count()
            == 2
    })
    .await;
    for t in [
        DeploymentEventType::DeploymentStarted,
        DeploymentEventType::DeploymentCompleted,
    ] {
        let failed: Vec<_> = invocations(d.event_log(), t.clone())
            .into_iter()
            .filter(|i| i.extension_identifier() == Some(ext.as_str()))
            .collect();
        assert_eq!(failed.len(), 1, "{t:?}");
        assert_eq!(failed[0].error_code(), Some("HTTP500"));
        let m = failed[0].error_message().unwrap();
        assert!(m.contains("500"), "{m}");
    }
    // The healthy one on the same event has no error.
    let fine: Vec<_> = invocations(d.event_log(), DeploymentEventType::DeploymentStarted)
        .into_iter()
        .filter(|i| i.extension_identifier() == Some(ok.as_str()))
        .collect();
    assert_eq!(fine.len(), 1);
    assert!(fine[0].error_code().is_none());
    // Up to three attempts each, all with the same InvocationId.
    let attempts = rx.events("/broken");
    assert_eq!(attempts.len(), 6, "3 attempts × 2 events");
    let distinct: BTreeSet<&str> = attempts
        .iter()
        .map(|e| e["InvocationId"].as_str().unwrap())
        .collect();
    assert_eq!(distinct.len(), 2);
    assert_eq!(d.state(), Some(&DeploymentState::Complete));
}

#[tokio::test]
async fn pre_start_deployment_can_block_the_start() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let rx = Receiver::start();
    rx.reply(
        "/gate",
        Reply::json(403, json!({"message": "change freeze"})),
    );
    let st = setup(&c, r#"{"x": 1}"#).await;
    webhook_on(
        &c,
        "gate",
        &[ActionPoint::PreStartDeployment],
        &rx.url("/gate"),
        &env_arn(&st.app, &st.env),
    )
    .await;
    let strat = instant(&c).await;
    let m = bad_request(send!(st
        .start_request(&c, &strat, "1")
        .description("blocked")));
    assert!(m.contains("gate") || m.contains("403"), "{m}");
    assert!(st.no_deployments(&c).await);
    assert_eq!(env_state(&c, &st).await, "ReadyForDeployment");
    // The PRE event carries the content.
    let e = &rx.events("/gate")[0];
    assert_eq!(e["Type"], "PreStartDeployment");
    assert_eq!(unb64(e["Content"].as_str().unwrap()), br#"{"x": 1}"#);
    assert_eq!(e["ContentType"], "application/json");
    assert_eq!(e["ConfigurationVersion"], "1");
    assert_eq!(e["Description"], "blocked");
    assert_eq!(e["Environment"]["Id"], st.env.as_str());
    assert!(e["InvocationId"].is_string());

    // Open the gate: the deployment starts and the PRE invocation is on DEPLOYMENT_STARTED.
    rx.reply("/gate", Reply::ok());
    let d = send!(st.start_request(&c, &strat, "1")).expect("gate open");
    assert_eq!(d.deployment_number(), 1);
    let last = rx.events("/gate").last().cloned().unwrap();
    let recorded = invocations(d.event_log(), DeploymentEventType::DeploymentStarted);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].invocation_id(), last["InvocationId"].as_str());
    assert_eq!(recorded[0].action_name(), Some("gate-PRE_START_DEPLOYMENT"));
}

#[tokio::test]
async fn pre_start_deployment_can_replace_the_content() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let rx = Receiver::start();
    let replaced = br#"{"replaced": "by the first action"}"#;
    rx.reply(
        "/replace",
        Reply::json(200, json!({"Content": b64(replaced)})),
    );
    let st = setup(&c, r#"{"original": true}"#).await;
    let replacer = webhook_extension(
        &c,
        "replacer",
        &[ActionPoint::PreStartDeployment],
        &rx.url("/replace"),
    )
    .await;
    let observer = webhook_extension(
        &c,
        "observer",
        &[ActionPoint::PreStartDeployment],
        &rx.url("/observe"),
    )
    .await;
    // Application associations run before profile associations.
    associate(&c, &replacer, &app_arn(&st.app), &[]).await;
    associate(&c, &observer, &profile_arn(&st.app, &st.profile), &[]).await;
    let strat = instant(&c).await;
    let n = start(&c, &st, &strat).await;
    let first = &rx.events("/replace")[0];
    assert_eq!(
        unb64(first["Content"].as_str().unwrap()),
        br#"{"original": true}"#
    );
    let second = &rx.events("/observe")[0];
    assert_eq!(unb64(second["Content"].as_str().unwrap()), replaced);
    // The stored version is not changed.
    let v = get_version(&c, &st.app, &st.profile, 1).await;
    assert_eq!(v.content().unwrap().as_ref(), br#"{"original": true}"#);
    wait_state(&c, &st, n, DeploymentState::Complete).await;
    // What clients get is the replaced content.
    #[allow(deprecated)]
    let served = send!(c
        .get_configuration()
        .application(&st.app)
        .environment(&st.env)
        .configuration(&st.profile)
        .client_id("pre-start-test"))
    .expect("GetConfiguration");
    assert_eq!(served.content().map(|b| b.as_ref()), Some(&replaced[..]));

    // Content that is not base64 fails the start.
    rx.reply(
        "/replace",
        Reply::json(200, json!({"Content": "%%% not base64 %%%"})),
    );
    bad_request(st.start_request(&c, &strat, "1").send().await);
}

#[tokio::test]
async fn pre_create_hosted_configuration_version_can_replace_or_refuse_content() {
    let (_s, c) = Server::start_with_client();
    let rx = Receiver::start();
    let Ids { app, env, profile } = Scenario::new(&c).app("pre-create").build().await;
    let replaced = b"replaced by the extension";
    rx.reply(
        "/pre-create",
        Reply::json(200, json!({"Content": b64(replaced)})),
    );
    webhook_on(
        &c,
        "pre-create",
        &[ActionPoint::PreCreateHostedConfigurationVersion],
        &rx.url("/pre-create"),
        &profile_arn(&app, &profile),
    )
    .await;
    // On an environment it does not fire (there is no environment in this workflow).
    webhook_on(
        &c,
        "env-only",
        &[ActionPoint::PreCreateHostedConfigurationVersion],
        &rx.url("/env-only"),
        &env_arn(&app, &env),
    )
    .await;

    let created = send!(
        version_request(&c, &app, &profile, "original content", "text/plain")
            .description("first version")
    )
    .expect("create version");
    assert_eq!(created.version_number(), 1);
    assert_eq!(created.content().unwrap().as_ref(), replaced);
    let got = get_version(&c, &app, &profile, 1).await;
    assert_eq!(got.content().unwrap().as_ref(), replaced);
    assert_eq!(got.content_type(), Some("text/plain"));
    let e = &rx.events("/pre-create")[0];
    assert_eq!(e["Type"], "PreCreateHostedConfigurationVersion");
    assert_eq!(unb64(e["Content"].as_str().unwrap()), b"original content");
    assert_eq!(e["ContentType"], "text/plain");
    assert_eq!(e["Description"], "first version");
    assert_eq!(e["ConfigurationProfile"]["Id"], profile.as_str());
    assert_eq!(e["Application"]["Id"], app.as_str());
    assert!(e.get("Environment").is_none(), "{e}");
    assert!(e.get("DeploymentNumber").is_none(), "{e}");
    assert!(rx.requests_to("/env-only").is_empty());

    // Refused: nothing stored.
    rx.reply("/pre-create", Reply::status(422));
    let req = version_request(&c, &app, &profile, "refused", "text/plain");
    bad_request(send!(req));
    assert_eq!(all_version_numbers(&c, &app, &profile).await, vec![1]);
    // Answering 2xx without Content keeps the content.
    rx.reply("/pre-create", Reply::ok());
    let kept = send!(version_request(&c, &app, &profile, "kept", "text/plain")).unwrap();
    let got = get_version(&c, &app, &profile, kept.version_number()).await;
    assert_eq!(got.content().unwrap().as_ref(), b"kept");
}

#[tokio::test]
async fn at_deployment_tick_can_roll_back() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let rx = Receiver::start();
    let st = setup(&c, "{}").await;
    webhook_on(
        &c,
        "ticker",
        &[
            ActionPoint::AtDeploymentTick,
            ActionPoint::OnDeploymentRolledBack,
        ],
        &rx.url("/tick"),
        &env_arn(&st.app, &st.env),
    )
    .await;
    let strat = strategy(&c, 3, GrowthType::Linear, 34.0, 0).await;

    // A tick target that is happy: the deployment completes, each tick recorded.
    let n = start(&c, &st, &strat).await;
    let d = wait_state(&c, &st, n, DeploymentState::Complete).await;
    let ticks: Vec<Value> = rx
        .events("/tick")
        .into_iter()
        .filter(|e| e["Type"] == "AtDeploymentTick")
        .collect();
    assert!(ticks.len() >= 3, "{ticks:#?}");
    let first = &ticks[0];
    assert_eq!(first["DeploymentState"], "DEPLOYING");
    assert!(first["PercentageComplete"].is_number());
    assert_eq!(first["DeploymentNumber"], json!(n));
    let recorded: usize = d
        .event_log()
        .iter()
        .flat_map(|e| e.action_invocations())
        .filter(|i| i.action_name() == Some("ticker-AT_DEPLOYMENT_TICK"))
        .count();
    assert_eq!(recorded, ticks.len());

    // A tick target that says ROLL_BACK.
    rx.reply("/tick", Reply::json(200, json!({"Directive": "ROLL_BACK"})));
    let n = start(&c, &st, &strat).await;
    let d = wait_state(&c, &st, n, DeploymentState::RolledBack).await;
    let log = events(d.event_log());
    assert_eq!(log[0].0, "ROLLBACK_COMPLETED");
    assert_eq!(log[1].0, "ROLLBACK_STARTED");
    assert_eq!(log[1].1, "APPCONFIG");
    assert_eq!(
        count(d.event_log(), DeploymentEventType::PercentageUpdated),
        0,
        "rolled back before the first step"
    );
    assert_eq!(env_state(&c, &st).await, "RolledBack");
    let tick_inv = invocations(d.event_log(), DeploymentEventType::RollbackStarted);
    assert_eq!(tick_inv.len(), 1);
    // ON_DEPLOYMENT_ROLLED_BACK follows.
    let rolled = rx
        .wait_for("/tick", LONG, "OnDeploymentRolledBack", |r| {
            r.iter()
                .any(|r| r.json()["Type"] == "OnDeploymentRolledBack")
        })
        .await;
    assert!(!rolled.is_empty());
}

#[tokio::test]
async fn on_deployment_rolled_back_fires_when_stopped() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let rx = Receiver::start();
    let st = setup(&c, "{}").await;
    webhook_on(
        &c,
        "rb",
        &[
            ActionPoint::OnDeploymentRolledBack,
            ActionPoint::OnDeploymentComplete,
        ],
        &rx.url("/rb"),
        &app_arn(&st.app),
    )
    .await;
    let slow = strategy(&c, 60, GrowthType::Linear, 10.0, 0).await;
    let n = start(&c, &st, &slow).await;
    st.stop_request(&c, n).send().await.unwrap();
    let got = rx.wait_events("/rb", 1, LONG).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["Type"], "OnDeploymentRolledBack");
    let d = get(&c, &st, n).await;
    let inv = invocations(d.event_log(), DeploymentEventType::RollbackCompleted);
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0].invocation_id(), got[0]["InvocationId"].as_str());
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        rx.events("/rb").len(),
        1,
        "no OnDeploymentComplete after a rollback"
    );
}

#[tokio::test]
async fn applied_extensions_are_frozen_at_start() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let rx = Receiver::start();
    let st = setup(&c, "{}").await;
    let ext = webhook_extension(
        &c,
        "frozen",
        &[ActionPoint::OnDeploymentComplete],
        &rx.url("/frozen"),
    )
    .await;
    let late = webhook_extension(
        &c,
        "late",
        &[ActionPoint::OnDeploymentComplete],
        &rx.url("/late"),
    )
    .await;
    let assoc = associate(&c, &ext, &app_arn(&st.app), &[]).await;
    let strat = strategy(&c, 2, GrowthType::Linear, 100.0, 0).await;
    let n = start(&c, &st, &strat).await;
    // Changes after the start do not affect it.
    send!(c
        .delete_extension_association()
        .extension_association_id(&assoc))
    .unwrap();
    associate(&c, &late, &env_arn(&st.app, &st.env), &[]).await;
    let d = wait_state(&c, &st, n, DeploymentState::Complete).await;
    assert_eq!(d.applied_extensions().len(), 1);
    assert_eq!(
        d.applied_extensions()[0].extension_association_id(),
        Some(assoc.as_str())
    );
    rx.wait_events("/frozen", 1, LONG).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.requests_to("/late").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Monitors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_unhealthy_http_monitor_rolls_back() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let rx = Receiver::start();
    let st = setup(&c, "{}").await;
    rx.reply("/health", Reply::ok());
    send!(c
        .update_environment()
        .application_id(&st.app)
        .environment_id(&st.env)
        .monitors(
            Monitor::builder()
                .alarm_arn(rx.url("/health"))
                .build()
                .unwrap(),
        ))
    .unwrap();
    // Healthy: completes, and the monitor was asked.
    let quick = strategy(&c, 2, GrowthType::Linear, 50.0, 1).await;
    let n = start(&c, &st, &quick).await;
    wait_state(&c, &st, n, DeploymentState::Complete).await;
    assert!(!rx.requests_to("/health").is_empty());

    // Unhealthy: rolled back within 5 s, by CLOUDWATCH_ALARM; then ON_DEPLOYMENT_ROLLED_BACK.
    webhook_on(
        &c,
        "rolled-back",
        &[ActionPoint::OnDeploymentRolledBack],
        &rx.url("/rolled-back"),
        &env_arn(&st.app, &st.env),
    )
    .await;
    rx.reply("/health", Reply::status(500));
    let slow = strategy(&c, 60, GrowthType::Linear, 10.0, 0).await;
    let t0 = Instant::now();
    let n = start(&c, &st, &slow).await;
    let d = wait_state(&c, &st, n, DeploymentState::RolledBack).await;
    assert!(
        t0.elapsed() < Duration::from_secs(6),
        "acted on after {:?}",
        t0.elapsed()
    );
    let log = events(d.event_log());
    let started = log.iter().find(|e| e.0 == "ROLLBACK_STARTED").unwrap();
    assert_eq!(started.1, "CLOUDWATCH_ALARM");
    assert!(started.2.contains(&rx.url("/health")), "{started:?}");
    let got = rx.wait_events("/rolled-back", 1, LONG).await;
    assert_eq!(got[0]["Type"], "OnDeploymentRolledBack");
    assert_eq!(got[0]["DeploymentNumber"], json!(n));
    assert_eq!(env_state(&c, &st).await, "RolledBack");
}

// ---------------------------------------------------------------------------------------------
// AWS targets (moto)
// ---------------------------------------------------------------------------------------------

fn moto_env(moto: &Moto) -> Vec<(&'static str, String)> {
    vec![("AWS_ENDPOINT_URL", moto.endpoint())]
}

fn start_with_moto(moto: &Moto, args: &[&str]) -> Server {
    let env = moto_env(moto);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start_with_env(args, &env)
}

#[tokio::test]
async fn aws_authored_notification_extensions_deliver_to_sqs_sns_and_eventbridge() {
    let moto = Moto::start();
    let s = start_with_moto(&moto, SCALE_600);
    let c = s.client();
    let st = setup(&c, "{}").await;
    let (sqs_url, sqs_arn) = moto.create_queue("appconfig-notifications");
    let (topic_arn, sns_sink) = moto.topic_into_queue("appconfig-topic");
    let events_sink = moto.appconfig_events_into_queue("appconfig-events");
    associate(
        &c,
        "AWS.AppConfig.DeploymentNotificationsToSqs",
        &env_arn(&st.app, &st.env),
        &[("queueArn", &sqs_arn)],
    )
    .await;
    associate(
        &c,
        "AWS.AppConfig.DeploymentNotificationsToSns",
        &app_arn(&st.app),
        &[("topicArn", &topic_arn)],
    )
    .await;
    let eb_assoc = send!(c.create_extension_association().extension_identifier("arn:aws:appconfig:us-east-1::extension/AWS.AppConfig.DeploymentNotificationsToEventBridge/1").resource_identifier(profile_arn(&st.app, &st.profile)))
        .unwrap();
    let strat = instant(&c).await;
    let d = send!(st
        .start_request(&c, &strat, "1")
        .description("notify everyone"))
    .unwrap();
    assert_eq!(d.applied_extensions().len(), 3);
    let n = d.deployment_number();
    wait_state(&c, &st, n, DeploymentState::Complete).await;

    let check = |m: &Value, t: &str, number: Value| {
        assert_eq!(m["Type"], t, "{m}");
        assert_eq!(m["Application"]["Id"], st.app.as_str(), "{m}");
        assert_eq!(m["Environment"]["Id"], st.env.as_str(), "{m}");
        assert_eq!(m["ConfigurationProfile"]["Id"], st.profile.as_str(), "{m}");
        assert_eq!(m["DeploymentNumber"], number, "{m}");
        assert_eq!(m["ConfigurationVersion"], "1", "{m}");
        assert_eq!(m["Description"], "notify everyone", "{m}");
        assert!(m.get("Parameters").is_none(), "{m}");
    };
    let sqs = moto.receive_json(&sqs_url, 2, LONG).await;
    assert_eq!(sqs.len(), 2, "{sqs:#?}");
    check(&sqs[0], "OnDeploymentStart", json!(n.to_string()));
    check(&sqs[1], "OnDeploymentComplete", json!(n.to_string()));
    let sns = moto.receive_json(&sns_sink, 2, LONG).await;
    assert_eq!(sns.len(), 2, "{sns:#?}");
    check(&sns[0], "OnDeploymentStart", json!(n.to_string()));
    check(&sns[1], "OnDeploymentComplete", json!(n.to_string()));
    let eb = moto.receive_json(&events_sink, 2, LONG).await;
    assert_eq!(eb.len(), 2, "{eb:#?}");
    for (e, (t, dt)) in eb.iter().zip([
        ("OnDeploymentStart", "On Deployment Start"),
        ("OnDeploymentComplete", "On Deployment Complete"),
    ]) {
        assert_eq!(e["source"], "aws.appconfig", "{e}");
        assert_eq!(e["detail-type"], dt, "{e}");
        assert_eq!(e["resources"], json!([eb_assoc.arn().unwrap()]), "{e}");
        check(&e["detail"], t, json!(n));
    }
    // Every invocation succeeded.
    let d = get(&c, &st, n).await;
    let all: Vec<_> = d
        .event_log()
        .iter()
        .flat_map(|e| e.action_invocations().to_vec())
        .collect();
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|i| i.error_code().is_none()), "{all:#?}");

    // A rollback is announced too.
    let slow = strategy(&c, 600, GrowthType::Linear, 1.0, 0).await;
    let n = start(&c, &st, &slow).await;
    st.stop_request(&c, n).send().await.unwrap();
    let sqs = moto.receive_json(&sqs_url, 2, LONG).await;
    let types: Vec<&str> = sqs.iter().map(|m| m["Type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["OnDeploymentStart", "OnDeploymentRolledBack"]);
}

#[tokio::test]
async fn custom_actions_call_lambda_sqs_sns_and_eventbridge_arns() {
    let moto = Moto::start();
    let s = start_with_moto(&moto, SCALE_600);
    let c = s.client();
    let rx = Receiver::start();
    let st = setup(&c, r#"{"from": "user"}"#).await;
    let (queue_url, queue_arn) = moto.create_queue("custom-target");
    let (topic_arn, topic_sink) = moto.topic_into_queue("custom-topic");
    let bus_sink = moto.appconfig_events_into_queue("custom-bus");
    let function = moto.create_function("appconfig-pre-start");
    let bus = format!("arn:aws:events:us-east-1:{MOTO_ACCOUNT}:event-bus/default");
    send!(c
        .create_extension()
        .name("aws-targets")
        .actions(
            ActionPoint::PreStartDeployment,
            vec![webhook_action("lambda", &function)],
        )
        .actions(
            ActionPoint::OnDeploymentStart,
            vec![webhook_action("sqs", &queue_arn)],
        )
        .actions(
            ActionPoint::OnDeploymentBaking,
            vec![webhook_action("events", &bus)],
        )
        .actions(
            ActionPoint::OnDeploymentComplete,
            vec![webhook_action("sns", &topic_arn)],
        )
        .parameters("Team", Parameter::builder().required(true).build()))
    .unwrap();
    associate(&c, "aws-targets", &app_arn(&st.app), &[("Team", "core")]).await;
    webhook_on(
        &c,
        "observer",
        &[ActionPoint::PreStartDeployment],
        &rx.url("/observe"),
        &profile_arn(&st.app, &st.profile),
    )
    .await;
    // The Lambda (moto's) answers with replaced content; the next PRE action sees it.
    let replaced = br#"{"from": "lambda"}"#;
    moto.queue_lambda_result(&json!({"Content": b64(replaced)}));
    let strat = strategy(&c, 1, GrowthType::Linear, 100.0, 1).await;
    let n = start(&c, &st, &strat).await;
    let seen = &rx.events("/observe")[0];
    assert_eq!(unb64(seen["Content"].as_str().unwrap()), replaced);
    wait_state(&c, &st, n, DeploymentState::Complete).await;

    let sqs = moto.receive_json(&queue_url, 1, LONG).await;
    assert_eq!(sqs.len(), 1);
    assert_eq!(sqs[0]["Type"], "OnDeploymentStart");
    assert_eq!(sqs[0]["Parameters"], json!({"Team": "core"}));
    assert_eq!(sqs[0]["DeploymentNumber"], json!(n));
    let sns = moto.receive_json(&topic_sink, 1, LONG).await;
    assert_eq!(sns.len(), 1);
    assert_eq!(sns[0]["Type"], "OnDeploymentComplete");
    assert_eq!(sns[0]["Parameters"], json!({"Team": "core"}));
    let eb = moto.receive_json(&bus_sink, 1, LONG).await;
    assert_eq!(eb.len(), 1);
    assert_eq!(eb[0]["source"], "aws.appconfig");
    assert_eq!(eb[0]["detail-type"], "On Deployment Baking");
    assert_eq!(eb[0]["detail"]["Type"], "OnDeploymentBaking");

    let d = wait_for(&c, &st, n, LONG, "all invocations settled", |d| {
        d.event_log()
            .iter()
            .flat_map(|e| e.action_invocations())
            .count()
            == 5
    })
    .await;
    let all: Vec<_> = d
        .event_log()
        .iter()
        .flat_map(|e| e.action_invocations().to_vec())
        .collect();
    assert!(all.iter().all(|i| i.error_code().is_none()), "{all:#?}");
    let uris: BTreeSet<&str> = all.iter().filter_map(|i| i.uri()).collect();
    assert!(uris.contains(function.as_str()) && uris.contains(queue_arn.as_str()));
}

#[tokio::test]
async fn aws_target_failures_are_recorded() {
    let moto = Moto::start();
    let s = start_with_moto(&moto, SCALE_600);
    let c = s.client();
    let st = setup(&c, "{}").await;
    let missing_queue = format!("arn:aws:sqs:us-east-1:{MOTO_ACCOUNT}:no-such-queue");
    let ext = send!(c.create_extension().name("missing-queue").actions(
        ActionPoint::OnDeploymentStart,
        vec![webhook_action("sqs", &missing_queue)],
    ))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    associate(&c, &ext, &env_arn(&st.app, &st.env), &[]).await;
    let strat = instant(&c).await;
    let n = start(&c, &st, &strat).await;
    let d = wait_for(&c, &st, n, LONG, "the SQS failure recorded", |d| {
        d.event_log()
            .iter()
            .flat_map(|e| e.action_invocations())
            .any(|i| i.error_code().is_some())
    })
    .await;
    assert_eq!(d.state(), Some(&DeploymentState::Complete));
    let inv = &invocations(d.event_log(), DeploymentEventType::DeploymentStarted)[0];
    assert!(inv.error_code().unwrap().contains("SQS"), "{inv:?}");
    assert!(!inv.error_message().unwrap().is_empty());
}

#[tokio::test]
async fn aws_targets_without_an_endpoint_fail_locally_and_are_recorded() {
    // The harness points AWS_ENDPOINT_URL at a closed local port: nothing leaves the machine,
    // the failure is recorded, the deployment carries on.
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let st = setup(&c, "{}").await;
    associate(
        &c,
        "AWS.AppConfig.DeploymentNotificationsToSqs",
        &env_arn(&st.app, &st.env),
        &[("queueArn", "arn:aws:sqs:us-east-1:111122223333:q")],
    )
    .await;
    let strat = instant(&c).await;
    let n = start(&c, &st, &strat).await;
    let d = wait_for(&c, &st, n, LONG, "both failures recorded", |d| {
        d.event_log()
            .iter()
            .flat_map(|e| e.action_invocations())
            .filter(|i| i.error_code().is_some())
            .count()
            == 2
    })
    .await;
    assert_eq!(d.state(), Some(&DeploymentState::Complete));
}

#[tokio::test]
async fn a_cloudwatch_alarm_rolls_back() {
    let moto = Moto::start();
    let s = start_with_moto(&moto, SCALE_60);
    let c = s.client();
    let st = setup(&c, "{}").await;
    let ok_alarm = moto.put_alarm("appconfig-ok");
    moto.set_alarm_state("appconfig-ok", "OK");
    let bad_alarm = moto.put_alarm("appconfig-bad");
    moto.set_alarm_state("appconfig-bad", "OK");
    let role = "arn:aws:iam::000000000000:role/appconfig-monitor";
    send!(c
        .update_environment()
        .application_id(&st.app)
        .environment_id(&st.env)
        .monitors(
            Monitor::builder()
                .alarm_arn(&ok_alarm)
                .alarm_role_arn(role)
                .build()
                .unwrap(),
        )
        .monitors(
            Monitor::builder()
                .alarm_arn(&bad_alarm)
                .alarm_role_arn(role)
                .build()
                .unwrap(),
        ))
    .unwrap();
    // Both OK: completes.
    let quick = strategy(&c, 2, GrowthType::Linear, 50.0, 1).await;
    let n = start(&c, &st, &quick).await;
    wait_state(&c, &st, n, DeploymentState::Complete).await;

    // One goes into ALARM mid-deployment: rolled back within 5 s.
    let slow = strategy(&c, 60, GrowthType::Linear, 10.0, 0).await;
    let n = start(&c, &st, &slow).await;
    wait_for(&c, &st, n, LONG, "the first step", |d| {
        d.percentage_complete().unwrap_or(0.0) > 0.0
    })
    .await;
    moto.set_alarm_state("appconfig-bad", "ALARM");
    let t0 = Instant::now();
    let d = wait_state(&c, &st, n, DeploymentState::RolledBack).await;
    assert!(
        t0.elapsed() < Duration::from_secs(6),
        "acted on after {:?}",
        t0.elapsed()
    );
    let log = events(d.event_log());
    let rb = log.iter().find(|e| e.0 == "ROLLBACK_STARTED").unwrap();
    assert_eq!(rb.1, "CLOUDWATCH_ALARM");
    assert!(rb.2.contains(&bad_alarm), "{rb:?}");
    assert_eq!(env_state(&c, &st).await, "RolledBack");
}

#[tokio::test]
async fn a_failing_or_slow_tick_target_rolls_back_with_the_error_recorded() {
    let (_s, c) =
        Server::start_with_args_client(&["--time-scale", "60", "--invocation-timeout", "1"]);
    let rx = Receiver::start();
    let st = setup(&c, "{}").await;
    webhook_on(
        &c,
        "ticker",
        &[ActionPoint::AtDeploymentTick],
        &rx.url("/tick"),
        &env_arn(&st.app, &st.env),
    )
    .await;
    let strat = strategy(&c, 3, GrowthType::Linear, 34.0, 0).await;
    for reply in [
        Reply::status(500),
        Reply::ok().delayed(Duration::from_millis(2500)),
    ] {
        rx.reply("/tick", reply);
        let n = start(&c, &st, &strat).await;
        let d = wait_state(&c, &st, n, DeploymentState::RolledBack).await;
        let rb = &events(d.event_log())[1];
        assert_eq!(
            (rb.0.as_str(), rb.1.as_str()),
            ("ROLLBACK_STARTED", "APPCONFIG")
        );
        let inv = invocations(d.event_log(), DeploymentEventType::RollbackStarted);
        assert_eq!(inv.len(), 1, "{:#?}", d.event_log());
        assert!(inv[0].error_code().is_some(), "{inv:?}");
        assert!(!inv[0].error_message().unwrap_or_default().is_empty());
    }
}

#[tokio::test]
async fn a_slow_pre_start_target_times_out_and_blocks_the_start() {
    let (_s, c) =
        Server::start_with_args_client(&["--time-scale", "600", "--invocation-timeout", "1"]);
    let rx = Receiver::start();
    rx.reply("/slow", Reply::ok().delayed(Duration::from_secs(4)));
    let st = setup(&c, "{}").await;
    webhook_on(
        &c,
        "slow",
        &[ActionPoint::PreStartDeployment],
        &rx.url("/slow"),
        &app_arn(&st.app),
    )
    .await;
    let strat = instant(&c).await;
    let t0 = Instant::now();
    let m = bad_request(st.start_request(&c, &strat, "1").send().await);
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    assert!(
        m.to_lowercase().contains("timeout") || m.to_lowercase().contains("timed out"),
        "{m}"
    );
    assert!(st.no_deployments(&c).await);
}

#[tokio::test]
async fn stopping_while_baking_rolls_back() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let st = setup(&c, "{}").await;
    let strat = strategy(&c, 1, GrowthType::Linear, 100.0, 60).await;
    let n = start(&c, &st, &strat).await;
    wait_state(&c, &st, n, DeploymentState::Baking).await;
    let stopped = send!(st.stop_request(&c, n)).expect("stop while baking");
    assert_eq!(stopped.state(), Some(&DeploymentState::RolledBack));
    assert_eq!(stopped.percentage_complete(), Some(0.0));
    let log = events(stopped.event_log());
    assert_eq!(log[0].0, "ROLLBACK_COMPLETED");
    assert_eq!(
        (log[1].0.as_str(), log[1].1.as_str()),
        ("ROLLBACK_STARTED", "USER")
    );
    assert_eq!(log[2].0, "BAKE_TIME_STARTED");
    assert_eq!(env_state(&c, &st).await, "RolledBack");
}

#[tokio::test]
async fn an_environment_takes_its_finished_deployments_along() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let st = setup(&c, "{}").await;
    let strat = instant(&c).await;
    let n = start(&c, &st, &strat).await;
    wait_state(&c, &st, n, DeploymentState::Complete).await;
    send!(c
        .delete_environment()
        .application_id(&st.app)
        .environment_id(&st.env))
    .expect("delete environment after its deployment finished");
    not_found(st.get_request(&c, n).send().await);
    // A new environment numbers from 1 again.
    let fresh = Setup {
        app: st.app.clone(),
        env: create_env(&c, &st.app, "fresh").await,
        profile: st.profile.clone(),
    };
    assert_eq!(start(&c, &fresh, &strat).await, 1);
}

#[tokio::test]
async fn cloudwatch_alarm_states_and_an_unreachable_cloudwatch() {
    // No moto: CloudWatch cannot be reached (the harness's closed local port). That is no
    // evidence of a problem, so the deployment completes.
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let st = setup(&c, "{}").await;
    send!(c
        .update_environment()
        .application_id(&st.app)
        .environment_id(&st.env)
        .monitors(
            Monitor::builder()
                .alarm_arn("arn:aws:cloudwatch:us-east-1:111122223333:alarm:unreachable")
                .build()
                .unwrap(),
        ))
    .unwrap();
    let strat = strategy(&c, 3, GrowthType::Linear, 50.0, 0).await;
    let n = start(&c, &st, &strat).await;
    wait_state(&c, &st, n, DeploymentState::Complete).await;

    // With moto: INSUFFICIENT_DATA and a missing alarm both roll back, as in AWS.
    let moto = Moto::start();
    let s = start_with_moto(&moto, SCALE_60);
    let c = s.client();
    let st = setup(&c, "{}").await;
    let fresh = moto.put_alarm("never-evaluated");
    moto.set_alarm_state("never-evaluated", "INSUFFICIENT_DATA");
    let missing = format!("arn:aws:cloudwatch:us-east-1:{MOTO_ACCOUNT}:alarm:does-not-exist");
    let slow = strategy(&c, 60, GrowthType::Linear, 10.0, 0).await;
    for alarm in [fresh, missing] {
        send!(c
            .update_environment()
            .application_id(&st.app)
            .environment_id(&st.env)
            .monitors(Monitor::builder().alarm_arn(&alarm).build().unwrap()))
        .unwrap();
        let n = start(&c, &st, &slow).await;
        let d = wait_state(&c, &st, n, DeploymentState::RolledBack).await;
        let rb = events(d.event_log())
            .into_iter()
            .find(|e| e.0 == "ROLLBACK_STARTED")
            .unwrap();
        assert_eq!(rb.1, "CLOUDWATCH_ALARM", "{alarm}");
        assert!(rb.2.contains(&alarm), "{rb:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Durability
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn kill_9_mid_deployment_then_restart_finishes_without_duplicates() {
    let mut s = Server::start_with(SCALE_60);
    let c = s.client();
    let rx = Receiver::start();
    // The receiver fails at first, so the first invocation is still pending (waiting for
    // its retry) when the server dies.
    rx.reply("/durable", Reply::status(503));
    let st = setup(&c, "{}").await;
    webhook_on(
        &c,
        "durable",
        &[
            ActionPoint::OnDeploymentStart,
            ActionPoint::OnDeploymentStep,
            ActionPoint::OnDeploymentComplete,
        ],
        &rx.url("/durable"),
        &env_arn(&st.app, &st.env),
    )
    .await;
    // Steps at 1.2, 2.4, 3.6, 4.8 and 6 s; complete at 7 s.
    let strat = strategy(&c, 6, GrowthType::Linear, 20.0, 1).await;
    let n = start(&c, &st, &strat).await;
    rx.wait_for("/durable", LONG, "the first attempt", |r| !r.is_empty())
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    s.kill9_and_restart_after(Duration::from_millis(2500));
    rx.reply("/durable", Reply::ok());
    let restarted_at = Instant::now();
    let c = s.client();

    let d = wait_state(&c, &st, n, DeploymentState::Complete).await;
    assert_eq!(
        count(d.event_log(), DeploymentEventType::PercentageUpdated),
        5
    );
    assert_eq!(
        count(d.event_log(), DeploymentEventType::DeploymentStarted),
        1
    );
    assert_eq!(
        count(d.event_log(), DeploymentEventType::BakeTimeStarted),
        1
    );
    assert_eq!(
        count(d.event_log(), DeploymentEventType::DeploymentCompleted),
        1
    );
    let steps: Vec<String> = percent_steps(d.event_log());
    assert_eq!(
        steps,
        ["100.00", "80.00", "60.00", "40.00", "20.00"]
            .map(pct_text)
            .to_vec()
    );
    // Every recorded invocation reached the receiver with a 2xx (at least once), the
    // pending start invocation after the restart; none failed.
    let recorded: Vec<String> = d
        .event_log()
        .iter()
        .flat_map(|e| e.action_invocations())
        .map(|i| i.invocation_id().unwrap().to_string())
        .collect();
    assert_eq!(recorded.len(), 1 + 5 + 1);
    rx.wait_for("/durable", LONG, "every invocation delivered", |r| {
        recorded.iter().all(|id| {
            r.iter()
                .any(|r| r.status == 200 && r.json()["InvocationId"] == id.as_str())
        })
    })
    .await;
    let start_inv = &invocations(d.event_log(), DeploymentEventType::DeploymentStarted)[0];
    let start_id = start_inv.invocation_id().unwrap();
    let delivered_start: Vec<Received> = rx
        .requests_to("/durable")
        .into_iter()
        .filter(|r| r.json()["InvocationId"] == start_id && r.status == 200)
        .collect();
    assert!(delivered_start[0].at >= restarted_at);
    let d = get(&c, &st, n).await;
    assert!(d
        .event_log()
        .iter()
        .flat_map(|e| e.action_invocations())
        .all(|i| i.error_code().is_none()));
    // Event types per delivery: one start, five steps, one complete (duplicates allowed by
    // at-least-once delivery only for retried ids, never new ids).
    let ids: BTreeSet<String> = rx
        .events("/durable")
        .iter()
        .map(|e| e["InvocationId"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, recorded.iter().cloned().collect());
}

#[tokio::test]
async fn a_graceful_restart_mid_deployment_loses_nothing() {
    let mut s = Server::start_with(SCALE_60);
    let c = s.client();
    let st = setup(&c, "{}").await;
    let strat = strategy(&c, 3, GrowthType::Linear, 34.0, 0).await;
    let n = start(&c, &st, &strat).await;
    wait_for(&c, &st, n, LONG, "the first step", |d| {
        d.percentage_complete().unwrap_or(0.0) > 0.0
    })
    .await;
    s.restart();
    let c = s.client();
    let d = wait_state(&c, &st, n, DeploymentState::Complete).await;
    let steps: Vec<String> = percent_steps(d.event_log());
    assert_eq!(steps, ["100.00", "68.00", "34.00"].map(pct_text).to_vec());
    assert_eq!(env_state(&c, &st).await, "ReadyForDeployment");
    // And the numbering continues.
    let strat = instant(&c).await;
    assert_eq!(start(&c, &st, &strat).await, 2);
}

/// The Deployment JSON as sent: every model member present, DeploymentNumber a JSON number,
/// no internal members.
#[tokio::test]
async fn deployment_json_on_the_wire() {
    let (s, c) = Server::start_with_args_client(SCALE_600);
    let (st, n) = complete(&c, "{}").await;
    let r = raw_request(
        s.addr(),
        "GET",
        &format!(
            "/applications/{}/environments/{}/deployments/{n}",
            st.app, st.env
        ),
        &[],
        b"",
    );
    assert_eq!(r.status, 200);
    let body = r.json();
    let keys: BTreeSet<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for k in [
        "ApplicationId",
        "EnvironmentId",
        "DeploymentStrategyId",
        "ConfigurationProfileId",
        "DeploymentNumber",
        "ConfigurationName",
        "ConfigurationLocationUri",
        "ConfigurationVersion",
        "DeploymentDurationInMinutes",
        "GrowthType",
        "GrowthFactor",
        "FinalBakeTimeInMinutes",
        "State",
        "EventLog",
        "PercentageComplete",
        "StartedAt",
        "CompletedAt",
        "AppliedExtensions",
    ] {
        assert!(keys.contains(k), "{k} missing: {keys:?}");
    }
    assert!(
        !keys.iter().any(|k| k.starts_with('_')),
        "internal members leak: {keys:?}"
    );
    assert!(body["DeploymentNumber"].is_number());
    let _: BTreeMap<String, Value> = serde_json::from_value(body).unwrap();
}

#[tokio::test]
async fn only_associations_on_the_deployed_resources_apply() {
    let (_s, c) = Server::start_with_args_client(SCALE_600);
    let rx = Receiver::start();
    let st = setup(&c, "{}").await;
    let other_env = create_env(&c, &st.app, "other-env").await;
    let other_profile = create_profile(&c, &st.app, "other-profile").await;
    let other_app = create_app(&c, "other-app").await;
    let ext = webhook_on(
        &c,
        "elsewhere",
        &[
            ActionPoint::OnDeploymentStart,
            ActionPoint::PreStartDeployment,
        ],
        &rx.url("/elsewhere"),
        &env_arn(&st.app, &other_env),
    )
    .await;
    associate(&c, &ext, &profile_arn(&st.app, &other_profile), &[]).await;
    associate(&c, &ext, &app_arn(&other_app), &[]).await;
    let here = webhook_extension(
        &c,
        "here",
        &[ActionPoint::OnDeploymentStart],
        &rx.url("/here"),
    )
    .await;
    let on_app = associate(&c, &here, &app_arn(&st.app), &[]).await;
    let strat = instant(&c).await;
    let d = st.start_request(&c, &strat, "1").send().await.unwrap();
    let applied: Vec<&str> = d
        .applied_extensions()
        .iter()
        .filter_map(|a| a.extension_association_id())
        .collect();
    assert_eq!(applied, vec![on_app.as_str()]);
    wait_state(&c, &st, d.deployment_number(), DeploymentState::Complete).await;
    rx.wait_events("/here", 1, LONG).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.requests_to("/elsewhere").is_empty());
}

#[tokio::test]
async fn an_http_monitor_that_does_not_answer_rolls_back() {
    let (_s, c) = Server::start_with_args_client(SCALE_60);
    let st = setup(&c, "{}").await;
    // Nothing listens on the discard port.
    let dead = "http://127.0.0.1:9/health";
    send!(c
        .update_environment()
        .application_id(&st.app)
        .environment_id(&st.env)
        .monitors(Monitor::builder().alarm_arn(dead).build().unwrap()))
    .unwrap();
    let slow = strategy(&c, 60, GrowthType::Linear, 10.0, 0).await;
    let n = start(&c, &st, &slow).await;
    let d = wait_state(&c, &st, n, DeploymentState::RolledBack).await;
    let rb = events(d.event_log())
        .into_iter()
        .find(|e| e.0 == "ROLLBACK_STARTED")
        .unwrap();
    assert_eq!(rb.1, "CLOUDWATCH_ALARM");
    assert!(rb.2.contains(dead), "{rb:?}");
}
