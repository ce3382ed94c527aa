//! Environments: CreateEnvironment, GetEnvironment, UpdateEnvironment, DeleteEnvironment,
//! ListEnvironments.

use crate::api::appconfig::{
    self as api, CreateEnvironmentRequest, DeleteEnvironmentRequest, GetEnvironmentRequest,
    ListEnvironmentsRequest, UpdateEnvironmentRequest,
};

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::insert_and_commit;
use super::Quota;
use super::{decode, encode, list_page, load_application, must_get, Ctx, Service};
use crate::store::{Kind, Record, Tx};

/// Environment states as the service sends them: CamelCase, which the SDK waiter
/// `EnvironmentReadyForDeployment` matches (unlike the model's upper-snake enum).
pub const READY_FOR_DEPLOYMENT: &str = "ReadyForDeployment";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Monitor {
    pub alarm_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alarm_role_arn: Option<String>,
}

impl From<api::Monitor> for Monitor {
    fn from(m: api::Monitor) -> Self {
        Monitor {
            alarm_arn: m.alarm_arn,
            alarm_role_arn: m.alarm_role_arn,
        }
    }
}

impl From<Monitor> for api::Monitor {
    fn from(m: Monitor) -> Self {
        api::Monitor {
            alarm_arn: m.alarm_arn,
            alarm_role_arn: m.alarm_role_arn,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Environment {
    pub application_id: String,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub state: String,
    #[serde(default)]
    pub monitors: Vec<Monitor>,
}

impl From<Environment> for api::Environment {
    fn from(e: Environment) -> Self {
        api::Environment {
            application_id: Some(e.application_id),
            id: Some(e.id),
            name: Some(e.name),
            description: e.description,
            state: Some(e.state),
            monitors: Some(e.monitors.into_iter().map(Into::into).collect()),
        }
    }
}

/// The wire form of a stored environment.
fn output(rec: &Record) -> Result<api::Environment> {
    decode::<Environment>(rec).map(Into::into)
}

pub async fn create_environment(
    svc: &Service,
    ctx: &Ctx,
    input: CreateEnvironmentRequest,
) -> Result<api::Environment> {
    let app_id = input.application_id;
    let limit = svc.settings.quotas.environments_per_application;
    let quota = Quota::application(Kind::Environment, &app_id, limit, "environments");
    let (tx, tags) = svc.begin_create(ctx, input.tags, quota).await?;
    let env = Environment {
        application_id: app_id.clone(),
        id: String::new(),
        name: input.name,
        description: input.description,
        state: READY_FOR_DEPLOYMENT.into(),
        monitors: input
            .monitors
            .unwrap_or_default()
            .into_iter()
            .map(Monitor::from)
            .collect(),
    };
    let rec = Record::new(Kind::Environment, "", app_id, encode(&env)?);
    output(&insert_and_commit(tx, rec, tags).await?)
}

/// An environment that must exist in an application that must exist (404 naming which not).
pub async fn load_environment(tx: &mut dyn Tx, app_id: &str, env_id: &str) -> Result<Record> {
    load_application(tx, app_id).await?;
    must_get(tx, Kind::Environment, env_id, app_id, "Environment").await
}

pub async fn get_environment(
    svc: &Service,
    ctx: &Ctx,
    input: GetEnvironmentRequest,
) -> Result<api::Environment> {
    let mut tx = svc.read(ctx).await?;
    output(&load_environment(&mut *tx, &input.application_id, &input.environment_id).await?)
}

pub async fn update_environment(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateEnvironmentRequest,
) -> Result<api::Environment> {
    let mut tx = svc.write(ctx).await?;
    let rec = load_environment(&mut *tx, &input.application_id, &input.environment_id).await?;
    let mut env: Environment = decode(&rec)?;
    if let Some(n) = input.name {
        env.name = n;
    }
    if let Some(d) = input.description {
        env.description = Some(d);
    }
    // A Monitors list replaces the old one; an empty list clears it.
    if let Some(m) = input.monitors {
        env.monitors = m.into_iter().map(Monitor::from).collect();
    }
    svc.save_in_application(ctx, tx, rec, env, &input.application_id)
        .await
}

pub async fn delete_environment(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteEnvironmentRequest,
) -> Result<()> {
    let mut tx = svc.write(ctx).await?;
    let rec = load_environment(&mut *tx, &input.application_id, &input.environment_id).await?;
    super::settings::check_deletion_protection(
        svc,
        &mut *tx,
        &format!("environment {}", input.environment_id),
        &format!("environment/{}", input.environment_id),
        rec.created_at,
        input.deletion_protection_check.map(|c| c.as_str()),
    )
    .await?;
    if let Some(d) = super::deployments::latest_deployment(
        &mut *tx,
        &input.application_id,
        &input.environment_id,
    )
    .await?
    {
        if d.state.is_active() {
            return Err(Error::Conflict(format!(
                "Cannot delete environment {} while deployment {} is in progress.",
                input.environment_id, d.deployment_number
            )));
        }
    }
    super::deployments::delete_all(&mut *tx, &input.application_id, &input.environment_id).await?;
    let (app_id, id) = (&input.application_id, &input.environment_id);
    svc.delete_in_application(ctx, tx, Kind::Environment, id, app_id)
        .await
}

pub async fn list_environments(
    svc: &Service,
    ctx: &Ctx,
    input: ListEnvironmentsRequest,
) -> Result<api::Environments> {
    let mut tx = svc
        .in_application(ctx, &input.application_id, false)
        .await?;
    list_page(
        &mut *tx,
        Kind::Environment,
        Some(&input.application_id),
        None,
        input.max_results,
        input.next_token.as_deref(),
        output,
    )
    .await
    .map(Into::into)
}
