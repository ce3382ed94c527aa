//! GetDeployment, ListDeployments and StopDeployment.

use crate::api::appconfig::{
    self as api, GetDeploymentRequest, ListDeploymentsRequest, StopDeploymentRequest,
};
use crate::domain::environments::load_environment;

use super::lifecycle::Rollback;
use super::persist::{persist, RecordWrite, Transition};
use super::types::{DeploymentState, TriggeredBy};
use super::{latest_deployment, load, Deployment};
use crate::domain::error::{Error, Result};
use crate::domain::{decode, list_scope, Ctx, Scope, Service};
use crate::store::Kind;

/// AWS lets a completed deployment be reverted for 72 hours.
const REVERT_WINDOW_MS: i64 = 72 * 3600 * 1000;

pub async fn get_deployment(
    svc: &Service,
    ctx: &Ctx,
    input: GetDeploymentRequest,
) -> Result<api::Deployment> {
    let mut tx = svc.store.read(&ctx.account).await?;
    let (_, dep) = load(
        &mut *tx,
        &input.application_id,
        &input.environment_id,
        input.deployment_number,
    )
    .await?;
    Ok(dep.into())
}

/// Newest first (by DeploymentNumber, which follows creation order).
pub async fn list_deployments(
    svc: &Service,
    ctx: &Ctx,
    input: ListDeploymentsRequest,
) -> Result<api::Deployments> {
    let mut tx = svc.store.read(&ctx.account).await?;
    load_environment(&mut *tx, &input.application_id, &input.environment_id).await?;
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
        |r| decode::<Deployment>(r).map(Into::into),
    )
    .await
    .map(Into::into)
}

/// In progress → ROLLED_BACK. COMPLETE with `Allow-Revert: true`, within 72 hours and still the
/// newest deployment → REVERTED. Anything else → BadRequest.
pub async fn stop_deployment(
    svc: &Service,
    ctx: &Ctx,
    input: StopDeploymentRequest,
) -> Result<api::Deployment> {
    let (app_id, env_id, number) = (
        input.application_id,
        input.environment_id,
        input.deployment_number,
    );
    let mut tx = svc.store.write(&ctx.account).await?;
    let (rec, mut dep) = load(&mut *tx, &app_id, &env_id, number).await?;
    let before = dep.state;
    let now = svc.clock.wall_millis();
    let calls = if dep.state.is_active() {
        let cause = Rollback {
            by: TriggeredBy::User,
            reason: format!("Rollback initiated by user in account {}", ctx.account),
        };
        dep.roll_back(cause, now, Vec::new())
    } else if dep.state == DeploymentState::Complete {
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
        dep.revert(&ctx.account, now)
    } else {
        return Err(Error::bad_request(format!(
            "Deployment {number} is {} and cannot be stopped.",
            dep.state
        )));
    };
    let t = Transition {
        write: RecordWrite::Update(rec),
        before: Some(before),
        calls,
        next_due: now,
    };
    persist(svc, &ctx.account, tx, &dep, t, now).await?;
    Ok(dep.into())
}
