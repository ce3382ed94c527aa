//! Data survives a graceful restart (SIGTERM) and a crash (SIGKILL) of the server.

use std::collections::HashMap;

use aws_sdk_appconfig::types::{DeletionProtectionSettings, GrowthType, Monitor};
use aws_sdk_appconfig::Client;
use aws_smithy_types::Blob;

use crate::harness::*;

/// (number, content, content type, description, label) of a hosted version.
type VersionView = (i32, Vec<u8>, Option<String>, Option<String>, Option<String>);
/// (id, name, duration, growth factor, growth type) of a deployment strategy.
type StrategyView = (String, String, i32, Option<f32>, Option<GrowthType>);

/// Everything observable about a populated account, for before/after comparison.
#[derive(Debug, PartialEq)]
struct Snapshot {
    apps: Vec<(String, String, Option<String>)>,
    envs: Vec<(String, String, Option<String>, usize)>,
    profiles: Vec<(String, String, Option<String>, usize)>,
    versions: Vec<VersionView>,
    strategies: Vec<StrategyView>,
    tags: Vec<HashMap<String, String>>,
    settings: (Option<bool>, Option<i32>),
}

struct Ids {
    app: String,
    env: String,
    profile: String,
    strategy: String,
}

fn binary_content() -> Vec<u8> {
    let mut v: Vec<u8> = (0..=255u8).rev().collect();
    v.extend_from_slice(b"\xff\xfe\x00tail");
    v
}

async fn populate(c: &Client) -> Ids {
    let app = send!(c
        .create_application()
        .name("durable")
        .description("survives restarts")
        .tags("k", "app"))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    let env = send!(c
        .create_environment()
        .application_id(&app)
        .name("prod")
        .description("production")
        .monitors(
            Monitor::builder()
                .alarm_arn("arn:aws:cloudwatch:us-east-1:111122223333:alarm:x")
                .build()
                .unwrap(),
        )
        .tags("k", "env"))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    let profile = send!(c
        .create_configuration_profile()
        .application_id(&app)
        .name("cfg")
        .description("profile")
        .location_uri("hosted")
        .tags("k", "profile"))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    c.create_hosted_configuration_version()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .content(Blob::new(br#"{"a": 1}"#.to_vec()))
        .content_type("application/json")
        .description("json")
        .version_label("v1")
        .send()
        .await
        .unwrap();
    let req = version_request(
        c,
        &app,
        &profile,
        binary_content(),
        "application/octet-stream",
    );
    send!(req).unwrap();
    let strategy = send!(c
        .create_deployment_strategy()
        .name("custom")
        .deployment_duration_in_minutes(15)
        .growth_factor(33.5)
        .growth_type(GrowthType::Exponential)
        .tags("k", "strategy"))
    .unwrap()
    .id()
    .unwrap()
    .to_string();
    send!(c.update_account_settings().deletion_protection(
        DeletionProtectionSettings::builder()
            .enabled(true)
            .protection_period_in_minutes(90)
            .build(),
    ))
    .unwrap();
    Ids {
        app,
        env,
        profile,
        strategy,
    }
}

async fn snapshot(c: &Client, ids: &Ids) -> Snapshot {
    let mut apps = Vec::new();
    for id in all_app_ids(c).await {
        let a = send!(c.get_application().application_id(&id)).unwrap();
        apps.push((
            id,
            a.name().unwrap().to_string(),
            a.description().map(String::from),
        ));
    }
    let mut envs = Vec::new();
    for id in all_env_ids(c, &ids.app).await {
        let e = send!(c
            .get_environment()
            .application_id(&ids.app)
            .environment_id(&id))
        .unwrap();
        envs.push((
            id,
            e.name().unwrap().to_string(),
            e.description().map(String::from),
            e.monitors().len(),
        ));
    }
    let mut profiles = Vec::new();
    for id in all_profile_ids(c, &ids.app).await {
        let p = send!(c
            .get_configuration_profile()
            .application_id(&ids.app)
            .configuration_profile_id(&id))
        .unwrap();
        profiles.push((
            id,
            p.name().unwrap().to_string(),
            p.description().map(String::from),
            p.validators().len(),
        ));
    }
    let mut versions = Vec::new();
    for n in all_version_numbers(c, &ids.app, &ids.profile).await {
        let v = get_version(c, &ids.app, &ids.profile, n).await;
        versions.push((
            n,
            v.content().unwrap().as_ref().to_vec(),
            v.content_type().map(String::from),
            v.description().map(String::from),
            v.version_label().map(String::from),
        ));
    }
    let mut strategies = Vec::new();
    for id in all_strategy_ids(c).await {
        let s = send!(c.get_deployment_strategy().deployment_strategy_id(&id)).unwrap();
        strategies.push((
            id,
            s.name().unwrap().to_string(),
            s.deployment_duration_in_minutes(),
            s.growth_factor(),
            s.growth_type().cloned(),
        ));
    }
    let mut tags = Vec::new();
    for arn in [
        app_arn(&ids.app),
        env_arn(&ids.app, &ids.env),
        profile_arn(&ids.app, &ids.profile),
        strategy_arn(&ids.strategy),
    ] {
        tags.push(tags_of(c, &arn).await);
    }
    let s = c.get_account_settings().send().await.unwrap();
    let dp = s.deletion_protection().unwrap();
    Snapshot {
        apps,
        envs,
        profiles,
        versions,
        strategies,
        tags,
        settings: (dp.enabled(), dp.protection_period_in_minutes()),
    }
}

#[tokio::test]
async fn everything_survives_a_graceful_restart() {
    let mut server = Server::start();
    let c = server.client();
    let ids = populate(&c).await;
    let before = snapshot(&c, &ids).await;
    assert_eq!(before.versions.len(), 2);
    assert_eq!(before.versions[1].1, binary_content());
    assert_eq!(
        before.tags[3].get("k").map(String::as_str),
        Some("strategy")
    );
    assert_eq!(before.settings, (Some(true), Some(90)));

    server.restart();
    let c = server.client();
    let after = snapshot(&c, &ids).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn everything_survives_kill_9() {
    let mut server = Server::start();
    let c = server.client();
    let ids = populate(&c).await;
    let before = snapshot(&c, &ids).await;

    // Acknowledged writes right before the crash must be there too.
    let last = create_app(&c, "written-just-before-the-crash").await;

    server.kill9_and_restart();
    let c = server.client();
    let mut after = snapshot(&c, &ids).await;
    let (id, name, _) = after.apps.pop().unwrap();
    assert_eq!(
        (id.as_str(), name.as_str()),
        (last.as_str(), "written-just-before-the-crash")
    );
    assert_eq!(after, before);
}

#[tokio::test]
async fn graceful_shutdown_exits_cleanly_and_the_port_is_released() {
    let mut server = Server::start();
    // Serve a request first: see `sigterm_right_after_the_ready_line_is_graceful` for why.
    create_app(&server.client(), "before").await;
    let old_addr = server.addr().to_string();
    let status = server.stop();
    assert!(status.success(), "exit status {status}");
    assert!(
        std::net::TcpStream::connect(&old_addr).is_err(),
        "nothing listens on {old_addr} after shutdown"
    );
    server.kill9_and_restart();
    // Still usable after starting again.
    create_app(&server.client(), "again").await;
    assert!(
        server.logs().contains("appconfigd"),
        "server logs are captured"
    );
}

#[tokio::test]
async fn version_numbers_keep_counting_across_restarts() {
    let mut server = Server::start();
    let c = server.client();
    let (app, profile) = app_and_profile(&c).await;
    create_version(&c, &app, &profile, b"1", "text/plain").await;
    create_version(&c, &app, &profile, b"2", "text/plain").await;
    delete_version(&c, &app, &profile, 2).await;

    server.restart();
    let c = server.client();
    assert_eq!(
        create_version(&c, &app, &profile, b"3", "text/plain").await,
        3
    );

    server.kill9_and_restart();
    let c = server.client();
    assert_eq!(
        create_version(&c, &app, &profile, b"4", "text/plain").await,
        4
    );
    assert_eq!(all_version_numbers(&c, &app, &profile).await, vec![1, 3, 4]);
}

#[tokio::test]
async fn next_tokens_stay_valid_across_a_restart() {
    let mut server = Server::start();
    let c = server.client();
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(create_app(&c, &format!("app-{i}")).await);
    }
    let first = c.list_applications().max_results(2).send().await.unwrap();
    let token = first.next_token().unwrap().to_string();

    server.restart();
    let c = server.client();
    let rest = app_ids_from(&c, token, 2).await;
    assert_eq!(rest, ids[2..]);
}

#[test]
fn sigterm_right_after_the_ready_line_is_graceful() {
    let mut server = Server::start();
    server.stop();
    for attempt in 0..20 {
        let status = server.start_and_sigterm_at_ready_line();
        assert!(
            status.success(),
            "attempt {attempt}: SIGTERM right after the ready line ended appconfigd with {status}"
        );
    }
}
