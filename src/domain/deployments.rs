//! Deployments: StartDeployment, GetDeployment, ListDeployments, StopDeployment, and the
//! deployment state machine the engine drives (`advance`, `roll_back`).
//!
//! A deployment is one record: the model's `Deployment` shape plus internal `_…` members (the
//! wire layer emits only model members). Its timeline is derived from the strategy numbers
//! copied at start and the wall-clock start time, scaled by `--time-scale`, so any node can
//! pick it up after a crash and land exactly where the timeline says it should be.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::clock::iso8601;
use super::configuration_profiles::load_profile;
use super::environments::{Environment, Monitor};
use super::error::{Error, Result};
use super::hosted_versions::version_key;
use super::invocation::{self, ActionCall, Applied, EventContent, EventContext};
use super::timeline::{self, Progress, Transition};
use super::{check_tags, decode, deployment_strategies, encode, list_scope, must_get, Scope};
use super::{validation, Change, Ctx, Service};
use crate::store::{Kind, ListQuery, Record, Tx};

pub const JOB_KIND: &str = "deployment";
pub const INVOCATION_JOB_KIND: &str = "invocation";
/// AWS lets a completed deployment be reverted for 72 hours.
const REVERT_WINDOW_MS: i64 = 72 * 3600 * 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Deployment {
    pub application_id: String,
    pub environment_id: String,
    pub deployment_strategy_id: String,
    pub configuration_profile_id: String,
    pub deployment_number: i64,
    pub configuration_name: String,
    pub configuration_location_uri: String,
    pub configuration_version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub deployment_duration_in_minutes: i64,
    pub growth_type: String,
    pub growth_factor: f64,
    pub final_bake_time_in_minutes: i64,
    pub state: String,
    /// Newest first, as AWS returns it.
    pub event_log: Vec<Value>,
    pub percentage_complete: f64,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    pub applied_extensions: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_label: Option<String>,

    // Internal state, never on the wire.
    #[serde(rename = "_StartedAtMs")]
    pub started_at_ms: i64,
    #[serde(rename = "_CompletedAtMs", default)]
    pub completed_at_ms: Option<i64>,
    #[serde(rename = "_StepsDone", default)]
    pub steps_done: usize,
    #[serde(rename = "_Baking", default)]
    pub baking: bool,
    #[serde(rename = "_Applied", default)]
    pub applied: Vec<Applied>,
    #[serde(rename = "_Dynamic", default)]
    pub dynamic: BTreeMap<String, String>,
    #[serde(rename = "_ApplicationName")]
    pub application_name: String,
    #[serde(rename = "_EnvironmentName")]
    pub environment_name: String,
    #[serde(rename = "_ContentType")]
    pub content_type: String,
    #[serde(rename = "_Monitors", default)]
    pub monitors: Vec<Monitor>,
}

pub fn is_active(state: &str) -> bool {
    matches!(
        state,
        "VALIDATING" | "DEPLOYING" | "BAKING" | "ROLLING_BACK"
    )
}

/// Record id (and content key) of a deployment.
pub fn deployment_key(app_id: &str, env_id: &str, number: i64) -> String {
    format!("{app_id}/{env_id}/{number}")
}

pub fn content_key(id: &str) -> String {
    format!("deployment/{id}")
}

impl Deployment {
    pub fn key(&self) -> String {
        deployment_key(
            &self.application_id,
            &self.environment_id,
            self.deployment_number,
        )
    }

    fn plan(&self) -> timeline::Plan {
        timeline::plan(
            self.deployment_duration_in_minutes,
            &self.growth_type,
            self.growth_factor,
            self.final_bake_time_in_minutes,
        )
    }

    fn progress(&self) -> Progress {
        Progress {
            steps_done: self.steps_done,
            baking: self.baking,
            complete: self.state == "COMPLETE",
        }
    }

    pub fn event_context(&self) -> EventContext {
        EventContext {
            application: (self.application_id.clone(), self.application_name.clone()),
            environment: Some((self.environment_id.clone(), self.environment_name.clone())),
            profile: (
                self.configuration_profile_id.clone(),
                self.configuration_name.clone(),
            ),
            deployment_number: Some(self.deployment_number),
            description: self.description.clone(),
            configuration_version: Some(self.configuration_version.clone()),
        }
    }

    /// The ON_*/AT_* calls of every applied extension for `point`.
    pub fn calls(&self, point: &str) -> Vec<ActionCall> {
        invocation::calls_for(
            &self.applied,
            point,
            &self.event_context(),
            &self.dynamic,
            None,
        )
    }

    fn push_event(
        &mut self,
        event_type: &str,
        by: &str,
        description: String,
        at_ms: i64,
        invocations: Vec<Value>,
    ) {
        let mut e = json!({
            "EventType": event_type,
            "TriggeredBy": by,
            "Description": description,
            "OccurredAt": iso8601(at_ms),
        });
        if !invocations.is_empty() {
            e["ActionInvocations"] = Value::Array(invocations);
        }
        self.event_log.insert(0, e);
    }

    /// Pending timeline transitions at `now` (wall ms), without applying them.
    pub fn due(&self, now: i64, scale: f64) -> Vec<Transition> {
        let elapsed = ((now - self.started_at_ms) as f64 * scale) as i64;
        timeline::advance(&self.plan(), self.progress(), elapsed).0
    }

    /// Wall time at which a timeline offset (service ms after start) falls.
    fn wall_at(&self, at_ms: i64, scale: f64) -> i64 {
        self.started_at_ms + (at_ms as f64 / scale).ceil() as i64
    }

    /// Applies everything due at `now`: events, state, percentage. Returns the ON_* calls to
    /// deliver and when the deployment is next due (None once complete). `tick_records` are
    /// the AT_DEPLOYMENT_TICK invocations made before this step; they go on its first event.
    pub fn advance(
        &mut self,
        now: i64,
        scale: f64,
        mut tick_records: Vec<Value>,
    ) -> (Vec<ActionCall>, Option<i64>) {
        let elapsed = ((now - self.started_at_ms) as f64 * scale) as i64;
        let (transitions, progress, next) =
            timeline::advance(&self.plan(), self.progress(), elapsed);
        let mut calls = Vec::new();
        for t in transitions {
            let at = self.wall_at(t.at_ms(), scale).min(now);
            let (event, by, text, point) = match t {
                Transition::Percentage { percent, .. } => {
                    self.percentage_complete = percent;
                    (
                        "PERCENTAGE_UPDATED",
                        "APPCONFIG",
                        timeline::percentage_text(percent),
                        "ON_DEPLOYMENT_STEP",
                    )
                }
                Transition::BakeStarted { .. } => {
                    self.state = "BAKING".into();
                    (
                        "BAKE_TIME_STARTED",
                        "APPCONFIG",
                        "Deployment bake time started".into(),
                        "ON_DEPLOYMENT_BAKING",
                    )
                }
                Transition::Completed { .. } => {
                    self.state = "COMPLETE".into();
                    self.completed_at = Some(iso8601(at));
                    self.completed_at_ms = Some(at);
                    (
                        "DEPLOYMENT_COMPLETED",
                        "APPCONFIG",
                        "Deployment completed".into(),
                        "ON_DEPLOYMENT_COMPLETE",
                    )
                }
            };
            let new_calls = self.calls(point);
            let mut records: Vec<Value> = std::mem::take(&mut tick_records);
            records.extend(new_calls.iter().map(|c| c.record(None)));
            self.push_event(event, by, text, at, records);
            calls.extend(new_calls);
        }
        self.steps_done = progress.steps_done;
        self.baking = progress.baking;
        (calls, next.map(|n| self.wall_at(n, scale)))
    }

    /// Ends an in-progress deployment as ROLLED_BACK. Returns the ON_DEPLOYMENT_ROLLED_BACK calls.
    pub fn roll_back(
        &mut self,
        by: &str,
        reason: String,
        now: i64,
        mut records: Vec<Value>,
    ) -> Vec<ActionCall> {
        self.push_event(
            "ROLLBACK_STARTED",
            by,
            reason,
            now,
            std::mem::take(&mut records),
        );
        let calls = self.calls("ON_DEPLOYMENT_ROLLED_BACK");
        self.state = "ROLLED_BACK".into();
        self.percentage_complete = 0.0;
        self.completed_at = Some(iso8601(now));
        self.completed_at_ms = Some(now);
        self.push_event(
            "ROLLBACK_COMPLETED",
            "APPCONFIG",
            "Deployment rollback completed".into(),
            now,
            calls.iter().map(|c| c.record(None)).collect(),
        );
        calls
    }

    /// The ListDeployments summary shape.
    fn summary(&self) -> Value {
        let mut v = json!({
            "DeploymentNumber": self.deployment_number,
            "ConfigurationName": self.configuration_name,
            "ConfigurationVersion": self.configuration_version,
            "DeploymentDurationInMinutes": self.deployment_duration_in_minutes,
            "GrowthType": self.growth_type,
            "GrowthFactor": self.growth_factor,
            "FinalBakeTimeInMinutes": self.final_bake_time_in_minutes,
            "State": self.state,
            "PercentageComplete": self.percentage_complete,
            "StartedAt": self.started_at,
        });
        if let Some(c) = &self.completed_at {
            v["CompletedAt"] = json!(c);
        }
        if let Some(l) = &self.version_label {
            v["VersionLabel"] = json!(l);
        }
        v
    }
}

/// Sets the environment's State (CamelCase, as AWS sends it).
pub async fn set_environment_state(
    tx: &mut dyn Tx,
    app_id: &str,
    env_id: &str,
    state: &str,
) -> Result<()> {
    if let Some(mut rec) = tx.get(Kind::Environment, env_id).await? {
        if rec.parent == app_id {
            let mut env: Environment = decode(&rec)?;
            env.state = state.to_string();
            rec.body = encode(&env)?;
            tx.update(&rec).await?;
        }
    }
    Ok(())
}

/// Environment state after a deployment reaches `state`.
pub fn environment_state_for(state: &str) -> &'static str {
    match state {
        "COMPLETE" => "ReadyForDeployment",
        "ROLLED_BACK" => "RolledBack",
        "REVERTED" => "Reverted",
        "ROLLING_BACK" => "RollingBack",
        _ => "Deploying",
    }
}

/// Puts ON_* calls in the durable outbox, to be delivered by the engine.
pub async fn enqueue_calls(
    tx: &mut dyn Tx,
    deployment_id: &str,
    calls: &[ActionCall],
    now: i64,
) -> Result<()> {
    for call in calls {
        let payload = json!({ "DeploymentId": deployment_id, "Call": call, "Attempts": 0 });
        tx.put_job(
            INVOCATION_JOB_KIND,
            &call.invocation_id,
            now,
            &payload.to_string(),
        )
        .await?;
    }
    Ok(())
}

/// The newest deployment of an environment, if any.
pub async fn latest_deployment(
    tx: &mut dyn Tx,
    app_id: &str,
    env_id: &str,
) -> Result<Option<Deployment>> {
    let parent = format!("{app_id}/{env_id}");
    let rows = tx
        .list(ListQuery {
            kind: Kind::Deployment,
            parent: Some(&parent),
            attr: None,
            after_seq: 0,
            limit: 1,
            descending: true,
        })
        .await?;
    rows.first().map(decode).transpose()
}

/// Every deployment record of an environment, newest first.
pub async fn all_in_environment(
    tx: &mut dyn Tx,
    app_id: &str,
    env_id: &str,
) -> Result<Vec<Record>> {
    let parent = format!("{app_id}/{env_id}");
    Ok(tx
        .list(ListQuery {
            kind: Kind::Deployment,
            parent: Some(&parent),
            attr: None,
            after_seq: 0,
            limit: i64::MAX,
            descending: true,
        })
        .await?)
}

/// Removes every (finished) deployment of an environment with its content snapshot.
pub async fn delete_all(tx: &mut dyn Tx, app_id: &str, env_id: &str) -> Result<()> {
    for r in all_in_environment(tx, app_id, env_id).await? {
        tx.delete(Kind::Deployment, &r.id).await?;
        tx.delete_content(&content_key(&r.id)).await?;
        tx.delete_job(JOB_KIND, &r.id).await?;
    }
    Ok(())
}

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

/// LAMBDA validators (a Lambda ARN or an http(s) URL) get AWS's validator event; any error fails.
async fn run_lambda_validators(
    svc: &Service,
    profile: &super::configuration_profiles::ConfigurationProfile,
    version: &str,
    content: &[u8],
) -> Result<()> {
    use base64::Engine;
    for v in profile.validators.iter().filter(|v| v.r#type == "LAMBDA") {
        let call = ActionCall {
            invocation_id: super::ids::new_id(),
            action_point: "VALIDATOR".into(),
            extension_id: String::new(),
            extension_arn: String::new(),
            association_id: String::new(),
            association_arn: String::new(),
            action_name: "LambdaValidator".into(),
            uri: v.content.clone(),
            role_arn: None,
            parameters: BTreeMap::new(),
            event: json!({
                "ApplicationId": profile.application_id,
                "ConfigurationProfileId": profile.id,
                "ConfigurationVersion": version,
                "Content": base64::engine::general_purpose::STANDARD.encode(content),
                "Uri": v.content,
            }),
        };
        if let Err(e) = svc.invoker.invoke(&call).await {
            return Err(Error::invalid_configuration(
                format!(
                    "The configuration failed validation by {}: {}",
                    v.content, e.message
                ),
                vec![super::error::InvalidConfigurationDetail {
                    constraint: Some("LAMBDA".into()),
                    location: Some("$".into()),
                    reason: Some(format!("{}: {}", e.code, e.message)),
                    r#type: Some("Validator".into()),
                    value: None,
                }],
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartDeploymentRequest {
    pub application_id: String,
    pub environment_id: String,
    pub deployment_strategy_id: String,
    pub configuration_profile_id: String,
    pub configuration_version: String,
    pub description: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    pub kms_key_identifier: Option<String>,
    #[serde(default)]
    pub dynamic_extension_parameters: BTreeMap<String, String>,
}

pub async fn start_deployment(
    svc: &Service,
    ctx: &Ctx,
    input: StartDeploymentRequest,
) -> Result<Value> {
    check_tags(&input.tags)?;
    let (app_id, env_id, profile_id) = (
        input.application_id.clone(),
        input.environment_id.clone(),
        input.configuration_profile_id.clone(),
    );
    // 1. Resolve everything in one snapshot.
    let mut tx = svc.store.read(&ctx.account).await?;
    let app = must_get(&mut *tx, Kind::Application, &app_id, "", "Application").await?;
    let env_rec = must_get(&mut *tx, Kind::Environment, &env_id, &app_id, "Environment").await?;
    let env: Environment = decode(&env_rec)?;
    let (_, profile) = load_profile(&mut *tx, &app_id, &profile_id).await?;
    if !profile.is_hosted() {
        return Err(Error::bad_request(format!(
            "Configuration profile {profile_id} uses LocationUri '{}'; appconfigd deploys hosted configurations only.",
            profile.location_uri
        )));
    }
    let strategy = deployment_strategies::find(&mut *tx, &input.deployment_strategy_id).await?;
    let version_rec =
        resolve_version(&mut *tx, &app_id, &profile_id, &input.configuration_version).await?;
    let version: super::hosted_versions::HostedConfigurationVersion = decode(&version_rec)?;
    let content = tx.get_content(&version_rec.id).await?.unwrap_or_default();
    if let Some(active) = latest_deployment(&mut *tx, &app_id, &env_id).await? {
        if is_active(&active.state) {
            return Err(conflict(&env_id, active.deployment_number));
        }
    }
    let applied =
        invocation::applied_extensions(svc, ctx, &mut *tx, &app_id, Some(&env_id), &profile_id)
            .await?;
    drop(tx);
    check_dynamic(&applied, &input.dynamic_extension_parameters)?;
    let version_text = version.version_number.to_string();

    // 2. Validators, then PRE_START_DEPLOYMENT actions (synchronous; they may replace content).
    validation::validate_content(&profile, &content)?;
    run_lambda_validators(svc, &profile, &version_text, &content).await?;
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
        "PRE_START_DEPLOYMENT",
        &event_ctx,
        &input.dynamic_extension_parameters,
        Some(&EventContent {
            bytes: &content,
            content_type: &version.content_type,
        }),
    );
    let (content, pre_records) = invocation::run_pre_actions(svc, pre_calls, content).await?;

    // 3. Create it: one transaction for the record, the content snapshot, the environment
    //    state, the first timer and the ON_DEPLOYMENT_START outbox entries.
    let mut tx = svc.store.write(&ctx.account).await?;
    must_get(&mut *tx, Kind::Environment, &env_id, &app_id, "Environment").await?;
    if let Some(active) = latest_deployment(&mut *tx, &app_id, &env_id).await? {
        if is_active(&active.state) {
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
        deployment_duration_in_minutes: strategy.deployment_duration_in_minutes,
        growth_type: strategy.growth_type.clone(),
        growth_factor: strategy.growth_factor,
        final_bake_time_in_minutes: strategy.final_bake_time_in_minutes,
        state: "DEPLOYING".into(),
        event_log: Vec::new(),
        percentage_complete: 0.0,
        started_at: iso8601(now),
        completed_at: None,
        applied_extensions: applied
            .iter()
            .map(|a| a.to_wire(&input.dynamic_extension_parameters))
            .collect(),
        kms_key_arn: profile.kms_key_arn.clone(),
        kms_key_identifier: input
            .kms_key_identifier
            .or(profile.kms_key_identifier.clone()),
        version_label: version.version_label.clone(),
        started_at_ms: now,
        completed_at_ms: None,
        steps_done: 0,
        baking: false,
        applied,
        dynamic: input.dynamic_extension_parameters,
        application_name: app_name,
        environment_name: env.name.clone(),
        content_type: version.content_type.clone(),
        monitors: env.monitors.clone(),
    };
    let key = dep.key();
    let start_calls = dep.calls("ON_DEPLOYMENT_START");
    let mut records = pre_records;
    records.extend(start_calls.iter().map(|c| c.record(None)));
    dep.push_event(
        "DEPLOYMENT_STARTED",
        "USER",
        "Deployment started".into(),
        now,
        records,
    );
    let mut rec = Record::new(
        Kind::Deployment,
        key.clone(),
        format!("{app_id}/{env_id}"),
        encode(&dep)?,
    );
    rec.tags = input.tags;
    tx.insert_with_content(rec, &content_key(&key), &content)
        .await?;
    set_environment_state(&mut *tx, &app_id, &env_id, "Deploying").await?;
    enqueue_calls(&mut *tx, &key, &start_calls, now).await?;
    tx.put_job(JOB_KIND, &key, now, "{}").await?;
    tx.commit().await?;
    svc.wake.notify_one();
    svc.changed(Change::Deployment {
        account: ctx.account.clone(),
        app_id,
        env_id,
    });
    encode(&dep)
}

fn conflict(env_id: &str, number: i64) -> Error {
    Error::Conflict(format!(
        "Deployment number {number} is in progress in environment {env_id}. Only one deployment can run in an environment at a time."
    ))
}

async fn load(
    tx: &mut dyn Tx,
    app_id: &str,
    env_id: &str,
    number: i64,
) -> Result<(Record, Deployment)> {
    must_get(tx, Kind::Application, app_id, "", "Application").await?;
    must_get(tx, Kind::Environment, env_id, app_id, "Environment").await?;
    let rec = tx
        .get(Kind::Deployment, &deployment_key(app_id, env_id, number))
        .await?
        .ok_or_else(|| Error::not_found("Deployment", &number.to_string()))?;
    let dep = decode(&rec)?;
    Ok((rec, dep))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetDeploymentRequest {
    pub application_id: String,
    pub environment_id: String,
    pub deployment_number: i64,
}

pub async fn get_deployment(
    svc: &Service,
    ctx: &Ctx,
    input: GetDeploymentRequest,
) -> Result<Value> {
    let mut tx = svc.store.read(&ctx.account).await?;
    let (rec, _) = load(
        &mut *tx,
        &input.application_id,
        &input.environment_id,
        input.deployment_number,
    )
    .await?;
    Ok(rec.body)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeploymentsRequest {
    pub application_id: String,
    pub environment_id: String,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

/// Newest first (by DeploymentNumber, which follows creation order).
pub async fn list_deployments(
    svc: &Service,
    ctx: &Ctx,
    input: ListDeploymentsRequest,
) -> Result<Value> {
    let mut tx = svc.store.read(&ctx.account).await?;
    must_get(
        &mut *tx,
        Kind::Application,
        &input.application_id,
        "",
        "Application",
    )
    .await?;
    must_get(
        &mut *tx,
        Kind::Environment,
        &input.environment_id,
        &input.application_id,
        "Environment",
    )
    .await?;
    let parent = format!("{}/{}", input.application_id, input.environment_id);
    let scope = Scope {
        kind: Kind::Deployment,
        parent: Some(&parent),
        attr: None,
        descending: true,
    };
    list_scope(
        &mut *tx,
        scope,
        input.max_results,
        input.next_token.as_deref(),
        |r| decode::<Deployment>(r).map(|d| d.summary()),
    )
    .await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopDeploymentRequest {
    pub application_id: String,
    pub environment_id: String,
    pub deployment_number: i64,
    pub allow_revert: Option<bool>,
}

/// In progress → ROLLED_BACK. COMPLETE with `Allow-Revert: true`, within 72 hours and still the
/// newest deployment → REVERTED. Anything else → BadRequest.
pub async fn stop_deployment(
    svc: &Service,
    ctx: &Ctx,
    input: StopDeploymentRequest,
) -> Result<Value> {
    let (app_id, env_id, number) = (
        input.application_id,
        input.environment_id,
        input.deployment_number,
    );
    let mut tx = svc.store.write(&ctx.account).await?;
    let (mut rec, mut dep) = load(&mut *tx, &app_id, &env_id, number).await?;
    let now = svc.clock.wall_millis();
    let calls = if is_active(&dep.state) {
        let reason = format!("Rollback initiated by user in account {}", ctx.account);
        dep.roll_back("USER", reason, now, Vec::new())
    } else if dep.state == "COMPLETE" {
        if input.allow_revert != Some(true) {
            return Err(Error::bad_request(format!(
                "Deployment {number} is already complete. To revert it, call StopDeployment with AllowRevert set to true."
            )));
        }
        let window = (REVERT_WINDOW_MS as f64 / svc.settings.time_scale) as i64;
        if now - dep.completed_at_ms.unwrap_or(now) > window {
            return Err(Error::bad_request(format!(
                "Deployment {number} completed more than 72 hours ago and can no longer be reverted."
            )));
        }
        let newest = latest_deployment(&mut *tx, &app_id, &env_id).await?;
        if newest.is_some_and(|n| n.deployment_number != number) {
            return Err(Error::bad_request(format!(
                "Only the most recent deployment of environment {env_id} can be reverted; deployment {number} is not."
            )));
        }
        let calls = dep.calls("ON_DEPLOYMENT_ROLLED_BACK");
        dep.state = "REVERTED".into();
        dep.percentage_complete = 0.0;
        let records = calls.iter().map(|c| c.record(None)).collect();
        dep.push_event(
            "REVERT_COMPLETED",
            "USER",
            format!("Deployment reverted by user in account {}", ctx.account),
            now,
            records,
        );
        calls
    } else {
        return Err(Error::bad_request(format!(
            "Deployment {number} is {} and cannot be stopped.",
            dep.state
        )));
    };
    rec.body = encode(&dep)?;
    tx.update(&rec).await?;
    set_environment_state(
        &mut *tx,
        &app_id,
        &env_id,
        environment_state_for(&dep.state),
    )
    .await?;
    enqueue_calls(&mut *tx, &rec.id, &calls, now).await?;
    tx.delete_job(JOB_KIND, &rec.id).await?;
    tx.commit().await?;
    svc.wake.notify_one();
    svc.changed(Change::Deployment {
        account: ctx.account.clone(),
        app_id,
        env_id,
    });
    Ok(rec.body)
}
