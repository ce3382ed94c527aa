//! Deployment strategies: CreateDeploymentStrategy, GetDeploymentStrategy,
//! UpdateDeploymentStrategy, DeleteDeploymentStrategy, ListDeploymentStrategies. The four
//! predefined `AppConfig.*` strategies exist in every account and cannot be changed.

use crate::api::appconfig::{
    CreateDeploymentStrategyRequest, DeleteDeploymentStrategyRequest, GetDeploymentStrategyRequest,
    ListDeploymentStrategiesRequest, UpdateDeploymentStrategyRequest,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{Error, Result};
use super::{
    check_tags, decode, encode, insert_with_new_id, list_with_builtins, must_get, Ctx, Service,
};
use crate::store::{Kind, Record, Tx};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentStrategy {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub deployment_duration_in_minutes: i64,
    pub growth_type: String,
    pub growth_factor: f64,
    pub final_bake_time_in_minutes: i64,
    pub replicate_to: String,
}

/// (Id, GrowthType, GrowthFactor, duration, bake, Description) from the AppConfig user guide.
const PREDEFINED: &[(&str, &str, f64, i64, i64, &str)] = &[
    (
        "AppConfig.Linear50PercentEvery30Seconds",
        "LINEAR",
        50.0,
        1,
        1,
        "Test/Demo",
    ),
    (
        "AppConfig.Canary10Percent20Minutes",
        "EXPONENTIAL",
        10.0,
        20,
        10,
        "AWS Recommended",
    ),
    ("AppConfig.AllAtOnce", "LINEAR", 100.0, 0, 10, "Quick"),
    (
        "AppConfig.Linear20PercentEvery6Minutes",
        "LINEAR",
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
                deployment_duration_in_minutes: *duration,
                growth_type: growth_type.to_string(),
                growth_factor: *factor,
                final_bake_time_in_minutes: *bake,
                replicate_to: "NONE".into(),
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
) -> Result<Value> {
    let tags = input.tags.clone().unwrap_or_default();
    check_tags(&tags)?;
    let mut tx = svc.store.write(&ctx.account).await?;
    let quota = svc.settings.quotas.deployment_strategies;
    if tx.count(Kind::DeploymentStrategy, None).await? >= quota {
        return Err(Error::ServiceQuotaExceeded(format!(
            "The number of deployment strategies in this account has reached the limit of {quota}."
        )));
    }
    let strategy = DeploymentStrategy {
        id: String::new(),
        name: input.name,
        description: input.description,
        deployment_duration_in_minutes: input.deployment_duration_in_minutes,
        growth_type: input
            .growth_type
            .map_or("LINEAR", |g| g.as_str())
            .to_string(),
        growth_factor: input.growth_factor,
        final_bake_time_in_minutes: input.final_bake_time_in_minutes.unwrap_or(0),
        replicate_to: input
            .replicate_to
            .map_or("NONE", |r| r.as_str())
            .to_string(),
    };
    let mut rec = Record::new(Kind::DeploymentStrategy, "", "", encode(&strategy)?);
    rec.tags = tags;
    let rec = insert_with_new_id(&mut *tx, rec).await?;
    tx.commit().await?;
    Ok(rec.body)
}

pub async fn get_deployment_strategy(
    svc: &Service,
    ctx: &Ctx,
    input: GetDeploymentStrategyRequest,
) -> Result<Value> {
    let mut tx = svc.store.read(&ctx.account).await?;
    encode(&find(&mut *tx, &input.deployment_strategy_id).await?)
}

pub async fn update_deployment_strategy(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateDeploymentStrategyRequest,
) -> Result<Value> {
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
    if let Some(v) = input.deployment_duration_in_minutes {
        s.deployment_duration_in_minutes = v;
    }
    if let Some(v) = input.final_bake_time_in_minutes {
        s.final_bake_time_in_minutes = v;
    }
    if let Some(v) = input.growth_factor {
        s.growth_factor = v;
    }
    if let Some(v) = input.growth_type {
        s.growth_type = v.as_str().to_string();
    }
    rec.body = encode(&s)?;
    tx.update(&rec).await?;
    tx.commit().await?;
    Ok(rec.body)
}

pub async fn delete_deployment_strategy(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteDeploymentStrategyRequest,
) -> Result<Value> {
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
    Ok(Value::Null)
}

/// Predefined strategies come first, then the account's own.
pub async fn list_deployment_strategies(
    svc: &Service,
    ctx: &Ctx,
    input: ListDeploymentStrategiesRequest,
) -> Result<Value> {
    let builtins = predefined()
        .iter()
        .map(encode)
        .collect::<Result<Vec<_>>>()?;
    let mut tx = svc.store.read(&ctx.account).await?;
    list_with_builtins(
        &mut *tx,
        builtins,
        Kind::DeploymentStrategy,
        None,
        input.max_results,
        input.next_token.as_deref(),
        |r| Ok(r.body.clone()),
    )
    .await
}
