//! Deployment strategies: CreateDeploymentStrategy, GetDeploymentStrategy,
//! UpdateDeploymentStrategy, DeleteDeploymentStrategy, ListDeploymentStrategies. The four
//! predefined `AppConfig.*` strategies exist in every account and cannot be changed.

use crate::api::appconfig::{
    self as api, CreateDeploymentStrategyRequest, DeleteDeploymentStrategyRequest,
    GetDeploymentStrategyRequest, ListDeploymentStrategiesRequest, UpdateDeploymentStrategyRequest,
};

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::{
    check_quota, check_tags, decode, encode, insert_with_new_id, list_with_builtins, must_get,
    save, Ctx, Service,
};
use crate::store::{Kind, Record, Tx};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentStrategy {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(flatten)]
    pub rollout: Rollout,
    pub replicate_to: api::ReplicateTo,
}

/// How a strategy rolls a deployment out; a deployment copies it at start (both store it as
/// top-level members, as the model's shapes have them).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Rollout {
    pub deployment_duration_in_minutes: i64,
    pub growth_type: api::GrowthType,
    pub growth_factor: f64,
    pub final_bake_time_in_minutes: i64,
}

impl Rollout {
    /// The deployment timeline this rollout gives.
    pub fn plan(&self) -> super::timeline::Plan {
        super::timeline::plan(
            self.deployment_duration_in_minutes,
            self.growth_type.as_str(),
            self.growth_factor,
            self.final_bake_time_in_minutes,
        )
    }
}

impl From<DeploymentStrategy> for api::DeploymentStrategy {
    fn from(s: DeploymentStrategy) -> Self {
        api::DeploymentStrategy {
            id: Some(s.id),
            name: Some(s.name),
            description: s.description,
            deployment_duration_in_minutes: Some(s.rollout.deployment_duration_in_minutes),
            growth_type: Some(s.rollout.growth_type),
            growth_factor: Some(s.rollout.growth_factor),
            final_bake_time_in_minutes: Some(s.rollout.final_bake_time_in_minutes),
            replicate_to: Some(s.replicate_to),
        }
    }
}

/// The wire form of a stored strategy.
fn output(rec: &Record) -> Result<api::DeploymentStrategy> {
    decode::<DeploymentStrategy>(rec).map(Into::into)
}

/// (Id, GrowthType, GrowthFactor, duration, bake, Description) from the AppConfig user guide.
const PREDEFINED: &[(&str, api::GrowthType, f64, i64, i64, &str)] = &[
    (
        "AppConfig.Linear50PercentEvery30Seconds",
        api::GrowthType::Linear,
        50.0,
        1,
        1,
        "Test/Demo",
    ),
    (
        "AppConfig.Canary10Percent20Minutes",
        api::GrowthType::Exponential,
        10.0,
        20,
        10,
        "AWS Recommended",
    ),
    (
        "AppConfig.AllAtOnce",
        api::GrowthType::Linear,
        100.0,
        0,
        10,
        "Quick",
    ),
    (
        "AppConfig.Linear20PercentEvery6Minutes",
        api::GrowthType::Linear,
        20.0,
        30,
        30,
        "AWS Recommended",
    ),
];

pub fn predefined() -> Vec<DeploymentStrategy> {
    PREDEFINED
        .iter()
        .map(
            |(id, growth_type, factor, duration, bake, desc)| DeploymentStrategy {
                id: id.to_string(),
                name: id.to_string(),
                description: Some(desc.to_string()),
                rollout: Rollout {
                    deployment_duration_in_minutes: *duration,
                    growth_type: *growth_type,
                    growth_factor: *factor,
                    final_bake_time_in_minutes: *bake,
                },
                replicate_to: api::ReplicateTo::None,
            },
        )
        .collect()
}

/// One of the four real predefined ids (another `AppConfig.*` id simply does not exist).
pub fn is_predefined(id: &str) -> bool {
    PREDEFINED.iter().any(|p| p.0 == id)
}

/// Finds a predefined or custom strategy, in the caller's transaction.
pub async fn find(tx: &mut dyn Tx, id: &str) -> Result<DeploymentStrategy> {
    if let Some(s) = predefined().into_iter().find(|s| s.id == id) {
        return Ok(s);
    }
    let rec = must_get(tx, Kind::DeploymentStrategy, id, "", "DeploymentStrategy").await?;
    decode(&rec)
}

pub async fn create_deployment_strategy(
    svc: &Service,
    ctx: &Ctx,
    input: CreateDeploymentStrategyRequest,
) -> Result<api::DeploymentStrategy> {
    let tags = input.tags.clone().unwrap_or_default();
    check_tags(&tags)?;
    let mut tx = svc.store.write(&ctx.account).await?;
    let limit = svc.settings.quotas.deployment_strategies;
    let counted = "deployment strategies in this account";
    check_quota(&mut *tx, Kind::DeploymentStrategy, None, limit, counted).await?;
    let strategy = DeploymentStrategy {
        id: String::new(),
        name: input.name,
        description: input.description,
        rollout: Rollout {
            deployment_duration_in_minutes: input.deployment_duration_in_minutes,
            growth_type: input.growth_type.unwrap_or(api::GrowthType::Linear),
            growth_factor: input.growth_factor,
            final_bake_time_in_minutes: input.final_bake_time_in_minutes.unwrap_or(0),
        },
        replicate_to: input.replicate_to.unwrap_or(api::ReplicateTo::None),
    };
    let mut rec = Record::new(Kind::DeploymentStrategy, "", "", encode(&strategy)?);
    rec.tags = tags;
    let rec = insert_with_new_id(&mut *tx, rec).await?;
    tx.commit().await?;
    output(&rec)
}

pub async fn get_deployment_strategy(
    svc: &Service,
    ctx: &Ctx,
    input: GetDeploymentStrategyRequest,
) -> Result<api::DeploymentStrategy> {
    let mut tx = svc.store.read(&ctx.account).await?;
    Ok(find(&mut *tx, &input.deployment_strategy_id).await?.into())
}

pub async fn update_deployment_strategy(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateDeploymentStrategyRequest,
) -> Result<api::DeploymentStrategy> {
    let id = input.deployment_strategy_id;
    if is_predefined(&id) {
        return Err(Error::bad_request(format!(
            "Cannot update predefined Deployment Strategy {id}."
        )));
    }
    let mut tx = svc.store.write(&ctx.account).await?;
    let mut rec = must_get(
        &mut *tx,
        Kind::DeploymentStrategy,
        &id,
        "",
        "DeploymentStrategy",
    )
    .await?;
    let mut s: DeploymentStrategy = decode(&rec)?;
    if let Some(d) = input.description {
        s.description = Some(d);
    }
    let r = &mut s.rollout;
    if let Some(v) = input.deployment_duration_in_minutes {
        r.deployment_duration_in_minutes = v;
    }
    if let Some(v) = input.final_bake_time_in_minutes {
        r.final_bake_time_in_minutes = v;
    }
    if let Some(v) = input.growth_factor {
        r.growth_factor = v;
    }
    if let Some(v) = input.growth_type {
        r.growth_type = v;
    }
    save(&mut *tx, &mut rec, &s).await?;
    tx.commit().await?;
    Ok(s.into())
}

pub async fn delete_deployment_strategy(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteDeploymentStrategyRequest,
) -> Result<()> {
    let id = input.deployment_strategy_id;
    if is_predefined(&id) {
        return Err(Error::bad_request(format!(
            "Cannot delete predefined Deployment Strategy {id}."
        )));
    }
    let mut tx = svc.store.write(&ctx.account).await?;
    if !tx.delete(Kind::DeploymentStrategy, &id).await? {
        return Err(Error::not_found("DeploymentStrategy", &id));
    }
    tx.commit().await?;
    Ok(())
}

/// Predefined strategies come first, then the account's own.
pub async fn list_deployment_strategies(
    svc: &Service,
    ctx: &Ctx,
    input: ListDeploymentStrategiesRequest,
) -> Result<api::DeploymentStrategies> {
    let builtins = predefined().into_iter().map(Into::into).collect();
    let mut tx = svc.store.read(&ctx.account).await?;
    list_with_builtins(
        &mut *tx,
        builtins,
        Kind::DeploymentStrategy,
        None,
        input.max_results,
        input.next_token.as_deref(),
        output,
    )
    .await
    .map(Into::into)
}
