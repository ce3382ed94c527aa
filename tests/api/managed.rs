//! The newest model's deployment additions (issue 16): StartDeployment's
//! `LatestDeploymentNumber` (checked atomically with the start), `ConfigurationProfileId` and
//! `Type` on ListDeployments items, and MANAGED deployments (made by appconfigd for experiment
//! runs). MANAGED deployments have no API of their own: the test drives
//! `domain::deployments::prepare_managed` in-process on the server's own database, and watches
//! the result (and the server's engine completing it) through the SDK.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use appconfigd::api::appconfig::DeploymentParameters;
use appconfigd::domain::deployments::prepare_managed;
use appconfigd::domain::error::Error;
use appconfigd::domain::{ChangeFeed, Ctx, Quotas, Service, Settings};
use aws_sdk_appconfig::types::{
    ActionPoint, DeploymentState, DeploymentSummary, DeploymentType, GrowthType, Parameter,
};
use aws_sdk_appconfig::Client;
use serde_json::json;

use crate::harness::*;
use crate::scenario::*;
use crate::support::*;

const LONG: Duration = Duration::from_secs(30);

async fn summaries(c: &Client, ids: &Ids) -> Vec<DeploymentSummary> {
    send!(ids.list_request(c))
        .expect("list deployments")
        .items()
        .to_vec()
}

async fn numbers(c: &Client, ids: &Ids) -> Vec<i32> {
    summaries(c, ids)
        .await
        .iter()
        .map(|s| s.deployment_number())
        .collect()
}

/// A deployment that stays DEPLOYING for the whole test (10 strategy minutes).
async fn slow_strategy(c: &Client) -> String {
    StrategySpec::new(10, GrowthType::Linear, 50.0, 0)
        .create(c)
        .await
}

#[tokio::test]
async fn latest_deployment_number_is_checked_with_the_start() {
    let (_s, c) = Server::start_with_client();
    let ids = Scenario::new(&c)
        .version(br#"{"v": 1}"#, "application/json")
        .build()
        .await;
    let instant = StrategySpec::instant().create(&c).await;
    let start = |latest: i32| {
        ids.start_request(&c, &instant, "1")
            .latest_deployment_number(latest)
            .send()
    };

    // No deployment yet: the latest number is 0.
    let msg = conflict(start(1).await);
    assert!(msg.contains("LatestDeploymentNumber 1"), "{msg}");
    assert!(msg.contains("latest deployment number 0"), "{msg}");
    assert!(ids.no_deployments(&c).await);
    let first = start(0).await.expect("start with 0").deployment_number();
    assert_eq!(first, 1);
    ids.wait_state(&c, 1, DeploymentState::Complete, LONG).await;

    // Stale and future numbers: 409, nothing created.
    for stale in [0, 2, -1] {
        let msg = conflict(start(stale).await);
        assert!(msg.contains("LatestDeploymentNumber"), "{msg}");
        assert!(msg.contains(&format!("{stale}")), "{msg}");
        assert!(msg.contains("latest deployment number 1"), "{msg}");
        assert_eq!(numbers(&c, &ids).await, vec![1]);
    }
    let second = start(1).await.expect("start with 1").deployment_number();
    assert_eq!(second, 2);
    ids.wait_state(&c, 2, DeploymentState::Complete, LONG).await;

    // Summaries carry the profile and the type.
    let items = summaries(&c, &ids).await;
    assert_eq!(items.len(), 2);
    for s in &items {
        assert_eq!(s.configuration_profile_id(), Some(ids.profile.as_str()));
        assert_eq!(s.r#type(), Some(&DeploymentType::User));
    }

    // Ten concurrent starts naming the same latest number: exactly one wins.
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let req = ids
            .start_request(&c, &instant, "1")
            .latest_deployment_number(2);
        calls.spawn(async move { req.send().await });
    }
    let results = calls.join_all().await;
    let won: Vec<i32> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|d| d.deployment_number()))
        .collect();
    assert_eq!(won, vec![3], "{results:#?}");
    for r in results.into_iter().filter(|r| r.is_err()) {
        conflict(r);
    }
    assert_eq!(numbers(&c, &ids).await, vec![3, 2, 1]);
}

/// A webhook extension with a dynamic parameter `Tier` on PRE_START_DEPLOYMENT,
/// ON_DEPLOYMENT_START and ON_DEPLOYMENT_COMPLETE, associated with the environment.
async fn observer(c: &Client, ids: &Ids, url: &str) {
    let mut req = c
        .create_extension()
        .name("observer")
        .parameters("Tier", Parameter::builder().dynamic(true).build());
    for p in [
        ActionPoint::PreStartDeployment,
        ActionPoint::OnDeploymentStart,
        ActionPoint::OnDeploymentComplete,
    ] {
        req = req.actions(p.clone(), vec![webhook_action(p.as_str(), url)]);
    }
    let ext = send!(req).expect("create extension");
    associate_with(c, ext.id().unwrap(), &env_arn(&ids.app, &ids.env), &[]).await;
}

/// A domain service on the server's database, as the server's own account.
async fn service_on(server: &Server) -> Service {
    let store = appconfigd::store::connect(server.database_url())
        .await
        .expect("connect to the server's database");
    Service {
        store,
        clock: Arc::new(appconfigd::domain::clock::ScaledClock::new(1.0)),
        settings: Arc::new(Settings {
            region: REGION.into(),
            quotas: Quotas::default(),
            time_scale: 1.0,
        }),
        invoker: Arc::new(appconfigd::engine::targets::TargetInvoker::new(
            REGION,
            Duration::from_secs(5),
        )),
        sources: Arc::new(appconfigd::domain::sources::NoSources),
        wake: Arc::new(tokio::sync::Notify::new()),
        changes: ChangeFeed::new(None),
    }
}

fn params(dynamic: &[(&str, &str)], tags: &[(&str, &str)]) -> Option<DeploymentParameters> {
    let map = |kv: &[(&str, &str)]| {
        Some(
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    };
    Some(DeploymentParameters {
        dynamic_extension_parameters: map(dynamic),
        tags: map(tags),
    })
}

#[tokio::test]
async fn managed_deployments_redeploy_what_is_deployed_and_never_wait() {
    let rx = Receiver::start();
    let (server, c) = Server::start_with_client();
    let ids = Scenario::new(&c)
        .version(br#"{"v": 1}"#, "application/json")
        .version(br#"{"v": 2}"#, "application/json")
        .build()
        .await;
    observer(&c, &ids, &rx.url("/hook")).await;
    let svc = service_on(&server).await;
    let ctx = Ctx {
        account: ACCOUNT.into(),
    };
    let prepare = |dynamic: &'static [(&'static str, &'static str)]| {
        prepare_managed(
            &svc,
            &ctx,
            &ids.app,
            &ids.env,
            &ids.profile,
            "experiment run 1 started",
            params(dynamic, &[("run", "1")]),
        )
    };

    // Nothing deployed yet.
    let e = prepare(&[]).await.err().expect("nothing deployed");
    assert!(
        matches!(&e, Error::BadRequest { message: m, .. } if m.contains("must be deployed to environment")),
        "{e:?}"
    );

    // Version 1 deployed by a user (then version 2 deployed and rolled back: what is deployed
    // is still version 1).
    let instant = StrategySpec::instant().create(&c).await;
    let slow = slow_strategy(&c).await;
    let n = ids.start(&c, &instant, "1").await;
    ids.wait_state(&c, n, DeploymentState::Complete, LONG).await;
    let n = send!(ids
        .start_request(&c, &slow, "2")
        .dynamic_extension_parameters("observer#Tier", "user"))
    .expect("start version 2")
    .deployment_number();
    send!(ids.stop_request(&c, n)).expect("stop deployment 2");
    ids.wait_state(&c, n, DeploymentState::RolledBack, LONG)
        .await;

    // Dynamic parameters are checked as StartDeployment checks them.
    let e = prepare(&[("nope#Tier", "x")]).await.err().expect("bad key");
    assert!(
        matches!(&e, Error::BadRequest { message: m, .. } if m.contains("nope")),
        "{e:?}"
    );

    // Prepared (PRE_START_DEPLOYMENT ran), reserved and committed in one write transaction.
    let mut managed = prepare(&[("observer#Tier", "gold")])
        .await
        .expect("prepare");
    let pre: Vec<_> = rx
        .events("/hook")
        .into_iter()
        .filter(|e| e["Type"] == "PreStartDeployment")
        .filter(|e| e["Description"] == "experiment run 1 started")
        .collect();
    assert_eq!(pre.len(), 1, "{pre:#?}");
    let pre = &pre[0];
    assert_eq!(pre["Parameters"], json!({"Tier": "gold"}));
    assert_eq!(pre["ConfigurationVersion"], "1");
    let mut tx = svc.write(&ctx).await.expect("write");
    let arn_got = managed
        .reserve(&svc, &ctx, &mut *tx)
        .await
        .expect("reserve");
    let want = arn(&format!(
        "application/{}/environment/{}/deployment/3",
        ids.app, ids.env
    ));
    assert_eq!(arn_got.as_deref(), Some(want.as_str()));
    managed.commit(&svc, &ctx, tx).await.expect("commit");

    // ListDeployments shows it as MANAGED; the server's engine completes it at once.
    let items = summaries(&c, &ids).await;
    let types: Vec<_> = items
        .iter()
        .map(|s| (s.deployment_number(), s.r#type().cloned()))
        .collect();
    assert_eq!(
        types,
        vec![
            (3, Some(DeploymentType::Managed)),
            (2, Some(DeploymentType::User)),
            (1, Some(DeploymentType::User)),
        ]
    );
    assert_eq!(
        items[0].configuration_profile_id(),
        Some(ids.profile.as_str())
    );
    let d = ids.wait_state(&c, 3, DeploymentState::Complete, LONG).await;
    assert_eq!(d.configuration_version(), Some("1"));
    assert_eq!(d.deployment_strategy_id(), Some("AppConfig.AllAtOnce"));
    assert_eq!(d.deployment_duration_in_minutes(), 0);
    assert_eq!(d.final_bake_time_in_minutes(), 0);
    assert_eq!(d.description(), Some("experiment run 1 started"));
    let applied = d.applied_extensions();
    assert_eq!(
        applied[0]
            .parameters()
            .and_then(|p| p.get("Tier"))
            .map(String::as_str),
        Some("gold")
    );
    assert_eq!(
        tags_of(&c, &want).await,
        HashMap::from([("run".to_string(), "1".to_string())])
    );
    // Its content is version 1's bytes, as served by the deployment it redeploys.
    let mut tx = svc.read(&ctx).await.expect("read");
    let key = format!("deployment/{}/{}/3", ids.app, ids.env);
    let content = tx.get_content(&key).await.expect("content");
    assert_eq!(content.as_deref(), Some(&br#"{"v": 1}"#[..]));
    drop(tx);
    // ON_DEPLOYMENT_* calls carry the dynamic parameter too.
    let got = rx
        .wait_for("/hook", LONG, "managed ON_* events", |r| {
            r.iter()
                .filter(|r| r.json()["DeploymentNumber"] == json!(3))
                .count()
                >= 2
        })
        .await;
    let mut on: Vec<String> = got
        .iter()
        .map(Received::json)
        .filter(|e| e["DeploymentNumber"] == json!(3))
        .map(|e| {
            assert_eq!(e["Parameters"], json!({"Tier": "gold"}), "{e}");
            e["Type"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    on.sort();
    assert_eq!(on, vec!["OnDeploymentComplete", "OnDeploymentStart"]);

    // A user's LatestDeploymentNumber counts the managed deployment.
    conflict(send!(ids
        .start_request(&c, &slow, "2")
        .latest_deployment_number(2)));
    let user = send!(ids
        .start_request(&c, &slow, "2")
        .latest_deployment_number(3))
    .expect("start with the managed number")
    .deployment_number();
    assert_eq!(user, 4);

    // While the user's deployment runs, a managed one is skipped; the caller's transaction
    // still commits.
    let mut managed = prepare(&[]).await.expect("prepare while deploying");
    let mut tx = svc.write(&ctx).await.expect("write");
    let reserved = managed
        .reserve(&svc, &ctx, &mut *tx)
        .await
        .expect("reserve");
    assert_eq!(reserved, None);
    managed
        .commit(&svc, &ctx, tx)
        .await
        .expect("commit nothing");
    assert_eq!(numbers(&c, &ids).await, vec![4, 3, 2, 1]);
    send!(ids.stop_request(&c, user)).expect("stop the user's deployment");
}
