//! StartDeployment: resolve everything in one snapshot, read an external source, run validators
//! and PRE_START_DEPLOYMENT actions outside any transaction, then create the deployment in one
//! transaction.

use std::collections::BTreeMap;

use crate::api::appconfig::{self as api, StartDeploymentRequest};

use super::persist::{persist, RecordWrite, Transition};
use super::types::{ActionPoint, DeploymentEventType, DeploymentState, TriggeredBy};
use super::{latest_deployment, Deployment};
use crate::domain::clock::iso8601;
use crate::domain::configuration_profiles::load_profile;
use crate::domain::environments::Environment;
use crate::domain::error::{Error, Result};
use crate::domain::hosted_versions::{version_key, HostedConfigurationVersion};
use crate::domain::invocation::{self, Applied, EventContent, EventContext};
use crate::domain::{check_tags, decode, deployment_strategies, must_get};
use crate::domain::{sources, validation, Ctx, Service};
use crate::store::{Kind, ListQuery, Record, Tx};

/// Resolves `ConfigurationVersion` (a version number or a VersionLabel) to a hosted version.
async fn resolve_version(
    tx: &mut dyn Tx,
    app_id: &str,
    profile_id: &str,
    version: &str,
) -> Result<Record> {
    let not_found = || Error::not_found("HostedConfigurationVersion", version);
    if let Ok(n) = version.parse::<i64>() {
        if let Some(r) = tx
            .get(
                Kind::HostedConfigurationVersion,
                &version_key(app_id, profile_id, n),
            )
            .await?
        {
            return Ok(r);
        }
    }
    let parent = format!("{app_id}/{profile_id}");
    let rows = tx
        .list(ListQuery {
            kind: Kind::HostedConfigurationVersion,
            parent: Some(&parent),
            attr: Some(crate::store::AttrFilter::Equals(version.to_string())),
            after_seq: 0,
            limit: 1,
            descending: false,
        })
        .await?;
    rows.into_iter().next().ok_or_else(not_found)
}

/// Every dynamic parameter must address an applied extension that declares it Dynamic.
fn check_dynamic(applied: &[Applied], dynamic: &BTreeMap<String, String>) -> Result<()> {
    for key in dynamic.keys() {
        let Some((reference, name)) = key.split_once('#') else {
            return Err(Error::bad_request(format!(
                "DynamicExtensionParameters key '{key}' must be '<extension>#<parameter>'."
            )));
        };
        let target = applied.iter().find(|a| a.matches_reference(reference)).ok_or_else(|| {
            Error::bad_request(format!(
                "DynamicExtensionParameters key '{key}': no extension '{reference}' is associated with this deployment."
            ))
        })?;
        match target.extension.parameters.get(name) {
            Some(p) if p.dynamic => {}
            _ => {
                return Err(Error::bad_request(format!(
                    "DynamicExtensionParameters key '{key}': extension {} has no dynamic parameter {name}.",
                    target.extension.id
                )))
            }
        }
    }
    Ok(())
}

pub async fn start_deployment(
    svc: &Service,
    ctx: &Ctx,
    input: StartDeploymentRequest,
) -> Result<api::Deployment> {
    let tags = input.tags.unwrap_or_default();
    check_tags(&tags)?;
    let dynamic = input.dynamic_extension_parameters.unwrap_or_default();
    let (app_id, env_id, profile_id) = (
        input.application_id.clone(),
        input.environment_id.clone(),
        input.configuration_profile_id.clone(),
    );
    // 1. Resolve everything in one snapshot.
    let mut tx = svc.store.read(&ctx.account).await?;
    let app = crate::domain::load_application(&mut *tx, &app_id).await?;
    let env_rec = must_get(&mut *tx, Kind::Environment, &env_id, &app_id, "Environment").await?;
    let env: Environment = decode(&env_rec)?;
    let (_, profile) = load_profile(&mut *tx, &app_id, &profile_id).await?;
    let external = sources::external_source(&profile)?;
    let strategy = deployment_strategies::find(&mut *tx, &input.deployment_strategy_id).await?;
    let hosted = match external {
        Some(_) => None,
        None => {
            let rec = resolve_version(&mut *tx, &app_id, &profile_id, &input.configuration_version)
                .await?;
            let version: HostedConfigurationVersion = decode(&rec)?;
            let content = tx.get_content(&rec.id).await?.unwrap_or_default();
            Some((version, content))
        }
    };
    if let Some(active) = latest_deployment(&mut *tx, &app_id, &env_id).await? {
        if active.state.is_active() {
            return Err(conflict(&env_id, active.deployment_number));
        }
    }
    let applied =
        invocation::applied_extensions(svc, ctx, &mut *tx, &app_id, Some(&env_id), &profile_id)
            .await?;
    drop(tx);
    check_dynamic(&applied, &dynamic)?;

    // 2. An external source is read now, outside any transaction, for exactly the version
    //    asked; the deployment keeps those bytes (rollbacks never read the source again).
    let (version_text, version_label, content_type, content) = match (hosted, &external) {
        (Some((version, content)), _) => (
            version.version_number.to_string(),
            version.version_label,
            version.content_type,
            content,
        ),
        (None, Some(source)) => {
            let version = input.configuration_version.clone();
            let got = sources::fetch(svc, &profile, source, &version).await?;
            (version, None, got.content_type, got.content)
        }
        (None, None) => return Err(Error::internal("hosted profile without a version")),
    };

    // 3. Validators, then PRE_START_DEPLOYMENT actions (synchronous; they may replace content).
    validation::validate_all(svc, &profile, &version_text, &content).await?;
    let app_name = app.body["Name"].as_str().unwrap_or_default().to_string();
    let event_ctx = EventContext {
        application: (app_id.clone(), app_name.clone()),
        environment: Some((env_id.clone(), env.name.clone())),
        profile: (profile_id.clone(), profile.name.clone()),
        deployment_number: None,
        description: input.description.clone(),
        configuration_version: Some(version_text.clone()),
    };
    let pre_calls = invocation::calls_for(
        &applied,
        ActionPoint::PreStartDeployment,
        &event_ctx,
        &dynamic,
        Some(&EventContent {
            bytes: &content,
            content_type: &content_type,
        }),
    );
    let (content, pre_records) = invocation::run_pre_actions(svc, pre_calls, content).await?;

    // 4. Create it: one transaction for the record, the content snapshot, the environment
    //    state, the first timer and the ON_DEPLOYMENT_START outbox entries.
    let mut tx = svc.store.write(&ctx.account).await?;
    must_get(&mut *tx, Kind::Environment, &env_id, &app_id, "Environment").await?;
    if let Some(active) = latest_deployment(&mut *tx, &app_id, &env_id).await? {
        if active.state.is_active() {
            return Err(conflict(&env_id, active.deployment_number));
        }
    }
    let number = tx
        .next_counter(&format!("deployment:{app_id}/{env_id}"))
        .await?;
    let now = svc.clock.wall_millis();
    let mut dep = Deployment {
        application_id: app_id.clone(),
        environment_id: env_id.clone(),
        deployment_strategy_id: strategy.id.clone(),
        configuration_profile_id: profile_id.clone(),
        deployment_number: number,
        configuration_name: profile.name.clone(),
        configuration_location_uri: profile.location_uri.clone(),
        configuration_version: version_text,
        description: input.description,
        rollout: strategy.rollout.clone(),
        state: DeploymentState::Deploying,
        event_log: Vec::new(),
        percentage_complete: 0.0,
        started_at: iso8601(now),
        completed_at: None,
        applied_extensions: applied
            .iter()
            .map(|a| a.applied_extension(&dynamic))
            .collect(),
        kms_key_arn: profile.kms_key_arn.clone(),
        kms_key_identifier: input
            .kms_key_identifier
            .or(profile.kms_key_identifier.clone()),
        version_label,
        started_at_ms: now,
        completed_at_ms: None,
        steps_done: 0,
        baking: false,
        applied,
        dynamic,
        application_name: app_name,
        environment_name: env.name.clone(),
        content_type,
        monitors: env.monitors.clone(),
    };
    let start_calls = dep.calls(ActionPoint::OnDeploymentStart);
    let mut records = pre_records;
    records.extend(start_calls.iter().map(|c| c.record(None)));
    dep.push_event(
        DeploymentEventType::DeploymentStarted,
        TriggeredBy::User,
        "Deployment started".into(),
        now,
        records,
    );
    let t = Transition {
        write: RecordWrite::Create {
            tags,
            content: &content,
        },
        before: None,
        calls: start_calls,
        next_due: now,
    };
    persist(svc, &ctx.account, tx, &dep, t, now).await?;
    Ok(dep.into())
}

fn conflict(env_id: &str, number: i64) -> Error {
    Error::Conflict(format!(
        "Deployment number {number} is in progress in environment {env_id}. Only one deployment can run in an environment at a time."
    ))
}
