//! Issue 16, treatment assignment on the agent read path: `Entity-Id` and `Context` headers,
//! overrides, the audience rule, the overlay on whole-profile and multi-flag reads, and the
//! VendedMetrics counter on `/metrics`. The running experiment is written straight into the
//! server's database (before the first agent read builds the entry), so this depends on the
//! data plane only; the SDK lifecycle tests cover the operations.

use std::collections::BTreeMap;

use appconfigd::api::appconfig as api;
use appconfigd::domain::experiments::{run_key, runs_parent, Definition, Run};
use appconfigd::store::{Kind, Record};
use aws_sdk_appconfig::types::VendedMetricsSettings;
use serde_json::{json, Value};

use crate::dataplane::{agent_path, get};
use crate::harness::*;
use crate::scenario::Ids;

const FLAG: &str = "checkout";

fn document() -> Value {
    json!({"version": "1",
        "flags": {
            FLAG: {"name": "checkout", "attributes": {"color": {"constraints": {"type": "string"}}}},
            "other": {"name": "other"}
        },
        "values": {FLAG: {"enabled": true, "color": "blue"}, "other": {"enabled": true}}})
}

fn arm(key: &str, weight: f64, enabled: bool, color: &str) -> api::Treatment {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "color".to_owned(),
        api::AttributeValue::StringValue(color.into()),
    );
    api::Treatment {
        description: None,
        flag_value: api::FlagValue {
            enabled,
            attribute_values: Some(attributes),
        },
        key: Some(key.into()),
        weight,
    }
}

/// Writes an ACTIVE definition `def0001` with run 1 RUNNING at `exposure` %, audience
/// `plan = gold`, control 50 (disabled) / t1 50 (green), override `qa-1` → t1.
async fn start_experiment(server: &Server, ids: &Ids, exposure: f64) {
    let store = appconfigd::store::connect(server.database_url())
        .await
        .expect("open the server's database");
    let (def_id, now) = ("def0001", "2026-07-01T10:00:00.000Z");
    let rule = "(eq $plan \"gold\")";
    let definition = Definition {
        application_id: ids.app.clone(),
        id: def_id.into(),
        name: "exp".into(),
        hypothesis: None,
        status: api::ExperimentDefinitionStatus::Active,
        configuration_profile_id: ids.profile.clone(),
        environment_id: ids.env.clone(),
        flag_key: FLAG.into(),
        audience_rule: rule.into(),
        audience_description: None,
        launch_criteria: None,
        treatments: vec![arm("t1", 50.0, true, "green")],
        control: arm("c", 50.0, false, "grey"),
        created_at: now.into(),
        updated_at: now.into(),
        kms_key_identifier: None,
        running_run: Some(1),
        runs: 1,
    };
    let mut overrides = BTreeMap::new();
    overrides.insert("qa-1".to_owned(), "t1".to_owned());
    let run = Run {
        application_id: ids.app.clone(),
        experiment_definition_id: def_id.into(),
        run: 1,
        description: None,
        status: api::ExperimentRunStatus::Running,
        exposure_percentage: exposure,
        treatment_overrides: Some(api::TreatmentOverrides::Inline(overrides)),
        result: None,
        started_at: now.into(),
        updated_at: now.into(),
        ended_at: None,
        experiment_definition_snapshot: api::ExperimentDefinitionSnapshot {
            application_id: Some(ids.app.clone()),
            audience_description: None,
            audience_rule: Some(rule.into()),
            configuration_profile_id: Some(ids.profile.clone()),
            control: Some(definition.control.clone()),
            environment_id: Some(ids.env.clone()),
            flag_key: Some(FLAG.into()),
            hypothesis: None,
            id: Some(def_id.into()),
            launch_criteria: None,
            name: Some("exp".into()),
            treatments: Some(definition.treatments.clone()),
        },
        events: Vec::new(),
    };
    let mut tx = store.write(ACCOUNT).await.expect("write");
    let mut rec = Record::new(
        Kind::ExperimentDefinition,
        def_id,
        ids.app.clone(),
        serde_json::to_value(&definition).expect("definition JSON"),
    );
    rec.attr = Some(definition.status.to_string());
    tx.insert(rec).await.expect("insert the definition");
    let mut rec = Record::new(
        Kind::ExperimentRun,
        run_key(def_id, 1),
        runs_parent(&ids.app, def_id),
        serde_json::to_value(&run).expect("run JSON"),
    );
    rec.attr = Some(run.status.to_string());
    tx.insert(rec).await.expect("insert the run");
    tx.commit().await.expect("commit");
}

fn read(server: &Server, path: &str, headers: &[(&str, &str)]) -> Value {
    let r = get(server, path, headers);
    assert_eq!(r.status, 200, "{path} {headers:?}: {r:?}");
    r.json()
}

/// The served-treatments counter of `variant`, from `/metrics`.
fn served(server: &Server, ids: &Ids, variant: &str) -> Option<f64> {
    let resp = raw_call(server.addr(), "GET", "/metrics");
    assert_eq!(resp.status, 200);
    let series = format!(
        "appconfig_experiment_treatments_served_total{{application=\"{}\",environment=\"{}\",configuration_profile=\"{}\",flag=\"{FLAG}\",variant=\"{variant}\"}} ",
        ids.app, ids.env, ids.profile
    );
    String::from_utf8_lossy(&resp.body)
        .lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .map(|v| v.trim().parse().expect("a number"))
}

#[tokio::test]
async fn treatments_reach_agent_reads_by_entity_and_are_counted() {
    let (server, c) = Server::start_with_client();
    let ids = crate::flags::deploy_flags(&c, &document()).await;
    c.update_account_settings()
        .vended_metrics(VendedMetricsSettings::builder().enabled(true).build())
        .send()
        .await
        .expect("enable VendedMetrics");
    start_experiment(&server, &ids, 100.0).await;
    let path = agent_path(&ids.app, &ids.env, &ids.profile);
    let one = format!("{path}?flag={FLAG}");
    let deployed = json!({"enabled": true, "color": "blue"});
    let green = json!({"_variant": "__t1__", "enabled": true, "color": "green"});

    // The override wins outside the audience (no Context at all).
    assert_eq!(read(&server, &one, &[("Entity-Id", "qa-1")]), green);
    // No entity: the flag as deployed, whatever the context.
    assert_eq!(read(&server, &one, &[("Context", "plan=gold")]), deployed);
    // Outside the audience: as deployed.
    let silver = [("Entity-Id", "u-1"), ("Context", "plan=silver")];
    assert_eq!(read(&server, &one, &silver), deployed);

    // In the audience at 100 %: everyone gets an arm, the same one on every read, both arms
    // in use; the control is disabled, so it carries no attributes.
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for i in 0..200 {
        let entity = format!("u-{i}");
        let headers = [("Entity-Id", entity.as_str()), ("Context", "plan=gold")];
        let got = read(&server, &one, &headers);
        assert_eq!(read(&server, &one, &headers), got, "stable for {entity}");
        let variant = got["_variant"].as_str().expect("a treatment").to_owned();
        match variant.as_str() {
            "__c__" => assert_eq!(got, json!({"_variant": "__c__", "enabled": false})),
            "__t1__" => assert_eq!(got, green),
            other => panic!("unexpected variant {other}"),
        }
        *counts.entry(variant).or_default() += 2;
    }
    assert!(
        counts.get("__c__").copied().unwrap_or(0) > 100,
        "{counts:?}"
    );
    assert!(
        counts.get("__t1__").copied().unwrap_or(0) > 100,
        "{counts:?}"
    );

    // Whole profile and several flags: the experiment's flag overlaid, the other as deployed.
    let all = read(&server, &path, &[("Entity-Id", "qa-1")]);
    assert_eq!(all, json!({FLAG: green, "other": {"enabled": true}}));
    let both = format!("{path}?flag={FLAG}&flag=other");
    let pair = read(&server, &both, &[("Entity-Id", "qa-1")]);
    assert_eq!(pair, json!({FLAG: green, "other": {"enabled": true}}));
    // Without an entity, the whole profile is the deployed one.
    assert_eq!(
        read(&server, &path, &[]),
        json!({FLAG: deployed, "other": {"enabled": true}})
    );
    // An unknown flag still fails the read, and is not counted.
    let missing = get(
        &server,
        &format!("{path}?flag={FLAG}&flag=nope"),
        &[("Entity-Id", "qa-1")],
    );
    assert_eq!(missing.status, 404, "{missing:?}");

    // Counted: every treatment answer (the three override reads, the 400 audience reads),
    // never the fallbacks.
    *counts.entry("__t1__".into()).or_default() += 3;
    assert_eq!(
        served(&server, &ids, "__t1__"),
        Some(f64::from(counts["__t1__"]))
    );
    assert_eq!(
        served(&server, &ids, "__c__"),
        Some(f64::from(counts["__c__"]))
    );
}

#[tokio::test]
async fn without_vended_metrics_nothing_is_counted_and_zero_exposure_serves_overrides_only() {
    let (server, c) = Server::start_with_client();
    let ids = crate::flags::deploy_flags(&c, &document()).await;
    start_experiment(&server, &ids, 0.0).await;
    let one = format!(
        "{}?flag={FLAG}",
        agent_path(&ids.app, &ids.env, &ids.profile)
    );
    for i in 0..50 {
        let entity = format!("u-{i}");
        let got = read(
            &server,
            &one,
            &[("Entity-Id", &entity), ("Context", "plan=gold")],
        );
        assert_eq!(got, json!({"enabled": true, "color": "blue"}));
    }
    let qa = read(
        &server,
        &one,
        &[("Entity-Id", "qa-1"), ("Context", "plan=gold")],
    );
    assert_eq!(qa["_variant"], "__t1__");
    assert_eq!(served(&server, &ids, "__t1__"), None);
}

/// Reads `path` until it answers `want` (the change feed reloads the entry asynchronously).
async fn eventually(server: &Server, path: &str, headers: &[(&str, &str)], want: &Value) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let got = read(server, path, headers);
        if &got == want {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{path} {headers:?}: {got} after 1 s, want {want}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn starting_updating_and_stopping_a_run_reach_agent_reads() {
    use aws_sdk_appconfig::types::TreatmentOverrides;
    let (server, c) = Server::start_with_client();
    let ids = crate::experiments::deployed_flags(&c).await;
    let def = crate::experiments::define(&c, &ids, "exp").await;
    let one = format!(
        "{}?flag=checkout",
        agent_path(&ids.app, &ids.env, &ids.profile)
    );
    let deployed = json!({"enabled": false});
    let green = json!({"_variant": "__t1__", "enabled": true, "color": "green"});
    let control = json!({"_variant": "__c__", "enabled": false});
    let qa = [("Entity-Id", "qa"), ("Context", "plan=free")];
    // Read before the run starts, so the entry is cached and must be dropped by the start.
    assert_eq!(read(&server, &one, &qa), deployed);

    let overrides =
        |key: &str| TreatmentOverrides::Inline([("qa".to_string(), key.to_string())].into());
    c.start_experiment_run()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&def)
        .exposure_percentage(0.0)
        .treatment_overrides(overrides("t1"))
        .send()
        .await
        .expect("start");
    eventually(&server, &one, &qa, &green).await;
    // 0 %: nobody else, even in the audience.
    let premium: Vec<String> = (0..100).map(|i| format!("u-{i}")).collect();
    for entity in &premium {
        let headers = [("Entity-Id", entity.as_str()), ("Context", "plan=premium")];
        assert_eq!(read(&server, &one, &headers), deployed);
    }

    c.update_experiment_run()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&def)
        .run(1)
        .exposure_percentage(100.0)
        .treatment_overrides(overrides("c"))
        .send()
        .await
        .expect("raise exposure, move the override");
    eventually(&server, &one, &qa, &control).await;
    let mut arms = std::collections::BTreeSet::new();
    for entity in &premium {
        let headers = [("Entity-Id", entity.as_str()), ("Context", "plan=premium")];
        let got = read(&server, &one, &headers);
        assert!(got == green || got == control, "{entity}: {got}");
        arms.insert(got["_variant"].to_string());
        // Outside the audience: as deployed.
        let free = [("Entity-Id", entity.as_str()), ("Context", "plan=free")];
        assert_eq!(read(&server, &one, &free), deployed);
    }
    assert_eq!(arms.len(), 2, "both arms in use at 50/50");

    c.stop_experiment_run()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&def)
        .run(1)
        .send()
        .await
        .expect("stop");
    eventually(&server, &one, &qa, &deployed).await;
    for entity in &premium {
        let headers = [("Entity-Id", entity.as_str()), ("Context", "plan=premium")];
        assert_eq!(read(&server, &one, &headers), deployed);
    }
}
