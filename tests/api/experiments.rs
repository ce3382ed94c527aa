//! Issue 16, experiments through the AWS SDK for Rust (the newest model's 11 operations):
//! definitions, runs and their state machine, events, tags on both ARN kinds, and every
//! illegal request answered the AWS way without changing what is stored.

use aws_sdk_appconfig::types::{
    AttributeValue, DeleteType, ExperimentDefinitionStatus as DefStatus,
    ExperimentRunEventType as EventType, ExperimentRunResult, ExperimentRunStatus as RunStatus,
    FlagValue, TreatmentInput, TreatmentOverrides,
};
use aws_sdk_appconfig::Client;
use serde_json::json;

use crate::harness::*;
use crate::scenario::{Ids, Scenario};

/// A flag `checkout` whose `color` must be green or blue, and a plain flag `other`.
pub(crate) fn flags_document() -> serde_json::Value {
    json!({"version": "1",
        "flags": {
            "checkout": {"name": "checkout", "attributes": {
                "color": {"constraints": {"type": "string", "enum": ["green", "blue", "grey"]}}}},
            "other": {"name": "other"}
        },
        "values": {"checkout": {"enabled": false, "color": "grey"}, "other": {"enabled": true}}})
}

pub(crate) fn treatment(weight: f32, enabled: bool, color: Option<&str>) -> TreatmentInput {
    let mut value = FlagValue::builder().enabled(enabled);
    if let Some(c) = color {
        value = value.attribute_values("color", AttributeValue::StringValue(c.into()));
    }
    TreatmentInput::builder()
        .weight(weight)
        .flag_value(value.build())
        .build()
}

/// The flag document deployed (instant strategy) to a feature-flag profile, deployment complete.
pub(crate) async fn deployed_flags(c: &Client) -> Ids {
    crate::flags::deploy_flags(c, &flags_document()).await
}

/// A definition on `checkout` with a 50/50 control and one treatment, for premium users.
pub(crate) async fn define(c: &Client, ids: &Ids, name: &str) -> String {
    let out = c
        .create_experiment_definition()
        .application_identifier(&ids.app)
        .name(name)
        .environment_identifier(&ids.env)
        .configuration_profile_identifier(&ids.profile)
        .flag_key("checkout")
        .control(treatment(50.0, false, Some("grey")))
        .treatments(treatment(50.0, true, Some("green")))
        .audience_rule("(eq $plan \"premium\")")
        .send()
        .await
        .expect("create experiment definition");
    out.id().expect("definition id").to_string()
}

#[tokio::test]
async fn a_definition_keys_its_treatments_and_is_found_by_id_or_name() {
    let (_server, c) = Server::start_with_client();
    let ids = deployed_flags(&c).await;
    let created = c
        .create_experiment_definition()
        .application_identifier(&ids.app)
        .name("checkout-colors")
        .environment_identifier("env")
        .configuration_profile_identifier("profile")
        .flag_key("checkout")
        .control(treatment(50.0, false, None))
        .treatments(treatment(25.0, true, Some("green")))
        .treatments(treatment(25.0, true, Some("blue")))
        .audience_rule("(eq $plan \"premium\")")
        .hypothesis("green sells")
        .tags("team", "growth")
        .send()
        .await
        .expect("create");
    assert_eq!(created.status(), Some(&DefStatus::Idle));
    assert_eq!(created.control().and_then(|t| t.key()), Some("c"));
    let keys: Vec<_> = created
        .treatments()
        .iter()
        .filter_map(|t| t.key())
        .collect();
    assert_eq!(keys, ["t1", "t2"]);
    assert_eq!(created.environment_id(), Some(ids.env.as_str()));
    assert_eq!(
        created.configuration_profile_id(),
        Some(ids.profile.as_str())
    );
    assert_eq!(created.created_at(), created.updated_at());
    assert!(created.audience_description().is_none());
    let id = created.id().expect("id").to_string();
    for ident in [id.as_str(), "checkout-colors"] {
        let got = c
            .get_experiment_definition()
            .application_identifier("app")
            .experiment_definition_identifier(ident)
            .send()
            .await
            .expect("get by id or name");
        assert_eq!(got.id(), Some(id.as_str()));
        assert_eq!(got.hypothesis(), Some("green sells"));
    }
    let updated = c
        .update_experiment_definition()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&id)
        .launch_criteria("+2% conversion")
        .treatments(treatment(50.0, true, Some("blue")))
        .send()
        .await
        .expect("update");
    assert_eq!(
        updated.hypothesis(),
        Some("green sells"),
        "omitted members are kept"
    );
    assert_eq!(updated.launch_criteria(), Some("+2% conversion"));
    assert_eq!(updated.treatments().len(), 1);
    assert_eq!(updated.treatments()[0].key(), Some("t1"));
    // Listed account-wide, by application, environment and profile (ids or names).
    for (app, env, profile) in [
        (None, None, None),
        (Some("app"), Some("env"), Some("profile")),
        (
            Some(ids.app.as_str()),
            Some(ids.env.as_str()),
            Some(ids.profile.as_str()),
        ),
    ] {
        let list = c
            .list_experiment_definitions()
            .set_application_identifier(app.map(Into::into))
            .set_environment_identifier(env.map(Into::into))
            .set_configuration_profile_identifier(profile.map(Into::into))
            .send()
            .await
            .expect("list");
        assert_eq!(list.items().len(), 1, "{app:?} {env:?} {profile:?}");
        assert_eq!(list.items()[0].flag_key(), Some("checkout"));
    }
    let none = c
        .list_experiment_definitions()
        .environment_identifier("no-such-env")
        .send()
        .await
        .expect("list");
    assert!(none.items().is_empty());
    let arn = arn(&format!(
        "application/{}/experimentdefinition/{id}",
        ids.app
    ));
    assert_eq!(
        tags_of(&c, &arn).await.get("team").map(String::as_str),
        Some("growth")
    );
}

#[tokio::test]
async fn bad_definitions_are_refused_and_nothing_is_stored() {
    let (_server, c) = Server::start_with_client();
    let ids = deployed_flags(&c).await;
    let plain = Scenario::new(&c).app("plain").build().await;
    let base = || {
        c.create_experiment_definition()
            .application_identifier(&ids.app)
            .name("exp")
            .environment_identifier(&ids.env)
            .configuration_profile_identifier(&ids.profile)
            .flag_key("checkout")
            .control(treatment(50.0, false, None))
            .treatments(treatment(50.0, true, Some("green")))
            .audience_rule("(eq $plan \"premium\")")
    };
    let m = bad_request(base().audience_rule("(eq $plan").send().await);
    assert!(m.contains("AudienceRule"), "{m}");
    let m = bad_request(base().flag_key("missing").send().await);
    assert!(m.contains("FlagKey 'missing'"), "{m}");
    let m = bad_request(
        base()
            .treatments(treatment(1.0, true, Some("purple")))
            .send()
            .await,
    );
    assert!(m.contains("treatment 't2'"), "{m}");
    let m = bad_request(
        base()
            .control(treatment(0.0, false, None))
            .set_treatments(Some(vec![treatment(0.0, true, None)]))
            .send()
            .await,
    );
    assert!(m.contains("Weight"), "{m}");
    let m = bad_request(base().name("AWS.reserved").send().await);
    assert!(m.contains("'name'"), "{m}");
    let six: Vec<_> = (0..6).map(|_| treatment(1.0, true, None)).collect();
    let m = bad_request(base().set_treatments(Some(six)).send().await);
    assert!(m.contains("'treatments'"), "{m}");
    // A profile that is not a feature-flag profile.
    let m = bad_request(
        base()
            .application_identifier(&plain.app)
            .environment_identifier(&plain.env)
            .configuration_profile_identifier(&plain.profile)
            .send()
            .await,
    );
    assert!(m.contains("AWS.AppConfig.FeatureFlags"), "{m}");
    not_found(base().application_identifier("nope123").send().await);
    not_found(base().environment_identifier("nope123").send().await);
    not_found(
        base()
            .configuration_profile_identifier("nope123")
            .send()
            .await,
    );
    let list = c.list_experiment_definitions().send().await.expect("list");
    assert!(list.items().is_empty(), "nothing stored: {list:?}");
    base().send().await.expect("the good one");
    let m = conflict(base().send().await);
    assert!(m.contains("'exp' already exists"), "{m}");
}

#[tokio::test]
async fn a_run_goes_from_start_through_exposure_changes_to_stop_with_its_events() {
    let (_server, c) = Server::start_with_client();
    let ids = deployed_flags(&c).await;
    let def = define(&c, &ids, "exp").await;
    let start = || {
        c.start_experiment_run()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
    };
    let m = bad_request(
        start()
            .treatment_overrides(TreatmentOverrides::Inline(
                [("qa".to_string(), "t9".to_string())].into(),
            ))
            .send()
            .await,
    );
    assert!(m.contains("TreatmentOverrides"), "{m}");
    let run = start()
        .description("first")
        .treatment_overrides(TreatmentOverrides::Inline(
            [("qa".to_string(), "t1".to_string())].into(),
        ))
        .tags("run", "one")
        .send()
        .await
        .expect("start");
    assert_eq!((run.run(), run.status()), (1, Some(&RunStatus::Running)));
    assert_eq!(
        run.exposure_percentage(),
        Some(0.0),
        "exposure defaults to 0"
    );
    let snapshot = run.experiment_definition_snapshot().expect("snapshot");
    assert_eq!(snapshot.flag_key(), Some("checkout"));
    let got = c
        .get_experiment_definition()
        .application_identifier(&ids.app)
        .experiment_definition_identifier(&def)
        .send()
        .await
        .expect("get");
    assert_eq!(got.status(), Some(&DefStatus::Active));
    // While it runs: no second run, no definition edits, no delete.
    conflict(start().send().await);
    conflict(
        c.update_experiment_definition()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .hypothesis("x")
            .send()
            .await,
    );
    conflict(
        c.delete_experiment_definition()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .send()
            .await,
    );
    let update = || {
        c.update_experiment_run()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .run(1)
    };
    let raised = update()
        .exposure_percentage(30.0)
        .send()
        .await
        .expect("raise");
    assert_eq!(raised.exposure_percentage(), Some(30.0));
    assert_eq!(raised.started_at(), run.started_at());
    let m = bad_request(update().exposure_percentage(10.0).send().await);
    assert!(m.contains("ExposurePercentage can only increase"), "{m}");
    let m = bad_request(update().exposure_percentage(100.5).send().await);
    assert!(m.contains("exposurePercentage"), "{m}");
    update()
        .treatment_overrides(TreatmentOverrides::Inline(
            [("qa".to_string(), "c".to_string())].into(),
        ))
        .send()
        .await
        .expect("overrides");
    not_found(update().run(7).exposure_percentage(50.0).send().await);
    let stopped = c
        .stop_experiment_run()
        .application_identifier(&ids.app)
        .experiment_definition_identifier("exp")
        .run(1)
        .result(
            ExperimentRunResult::builder()
                .executive_summary("green wins")
                .build(),
        )
        .send()
        .await
        .expect("stop");
    assert_eq!(stopped.status(), Some(&RunStatus::Done));
    assert_eq!(stopped.ended_at(), stopped.updated_at());
    assert_eq!(
        stopped.result().and_then(|r| r.executive_summary()),
        Some("green wins")
    );
    conflict(update().exposure_percentage(90.0).send().await);
    conflict(
        c.stop_experiment_run()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .run(1)
            .send()
            .await,
    );
    // Events newest first, one page at a time.
    let (mut kinds, mut associated) = (Vec::new(), Vec::new());
    let mut token = None;
    loop {
        let page = c
            .list_experiment_run_events()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .run(1)
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .expect("events");
        kinds.extend(page.items().iter().filter_map(|e| e.event_type().cloned()));
        associated.extend(
            page.items()
                .iter()
                .filter_map(|e| e.associated_deployment())
                .map(str::to_string),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        kinds,
        [
            EventType::RunStopped,
            EventType::OverridesUpdated,
            EventType::ExposureUpdated,
            EventType::RunStarted
        ]
    );
    // Each change that alters what clients get is a MANAGED deployment of the flag's profile,
    // named by the event (a change made while the previous one is still deploying, within
    // milliseconds, has none: see docs/decisions.md).
    let deployments = ids.list_request(&c).send().await.expect("deployments");
    let managed: Vec<String> = deployments
        .items()
        .iter()
        .filter(|d| d.r#type() == Some(&aws_sdk_appconfig::types::DeploymentType::Managed))
        .map(|d| {
            arn(&format!(
                "application/{}/environment/{}/deployment/{}",
                ids.app,
                ids.env,
                d.deployment_number()
            ))
        })
        .collect();
    assert!(
        !associated.is_empty() && associated.len() <= 4,
        "{associated:?}"
    );
    for a in &associated {
        assert!(
            managed.contains(a),
            "{a} is not a MANAGED deployment of {managed:?}"
        );
    }
    // The definition is idle again; a second run is numbered 2; runs are listed by status.
    let run2 = start()
        .exposure_percentage(5.0)
        .send()
        .await
        .expect("second run");
    assert_eq!(run2.run(), 2);
    for (status, want) in [
        (None, vec![1, 2]),
        (Some(RunStatus::Done), vec![1]),
        (Some(RunStatus::Running), vec![2]),
    ] {
        let runs = c
            .list_experiment_runs()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .set_status(status.clone())
            .send()
            .await
            .expect("runs");
        let got: Vec<i32> = runs.items().iter().map(|r| r.run()).collect();
        assert_eq!(got, want, "{status:?}");
    }
    let arn = arn(&format!(
        "application/{}/experimentdefinition/{def}/experimentrun/1",
        ids.app
    ));
    assert_eq!(
        tags_of(&c, &arn).await.get("run").map(String::as_str),
        Some("one")
    );
}

#[tokio::test]
async fn archived_definitions_are_hidden_kept_and_destroyed_on_request() {
    let (_server, c) = Server::start_with_client();
    let ids = deployed_flags(&c).await;
    let def = define(&c, &ids, "exp").await;
    let delete = |kind: Option<DeleteType>| {
        c.delete_experiment_definition()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .set_delete_type(kind)
    };
    delete(None).send().await.expect("archive");
    delete(Some(DeleteType::Archive))
        .send()
        .await
        .expect("archive again");
    let list = c.list_experiment_definitions().send().await.expect("list");
    assert!(list.items().is_empty(), "archived ones are hidden");
    let archived = c
        .list_experiment_definitions()
        .status(DefStatus::Archived)
        .send()
        .await
        .expect("list archived");
    assert_eq!(archived.items().len(), 1);
    conflict(
        c.start_experiment_run()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .send()
            .await,
    );
    delete(Some(DeleteType::Destroy))
        .send()
        .await
        .expect("destroy");
    not_found(
        c.get_experiment_definition()
            .application_identifier(&ids.app)
            .experiment_definition_identifier(&def)
            .send()
            .await,
    );
}
