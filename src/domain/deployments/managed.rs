//! MANAGED deployments: the deployments appconfigd makes itself when an experiment run starts,
//! changes or stops. One redeploys the version currently deployed (the newest COMPLETE
//! deployment of the flag's profile in the environment, its stored bytes) all at once, with no
//! bake, so it completes at the engine's first step. It carries the run's
//! DeploymentParameters: dynamic extension parameters (for PRE_START_DEPLOYMENT and the ON_*
//! actions) and tags.
//!
//! The caller writes its own change in the same transaction as the deployment: `prepare_managed`
//! (outside any transaction), then `reserve` and `commit` in the caller's write transaction.

use super::start::{check_dynamic, Draft, Resolved, Version};
use super::types::{DeploymentState, DeploymentType};
use super::{all_in_environment, content_key, Deployment};
use crate::api::appconfig as api;
use crate::domain::deployment_strategies::Rollout;
use crate::domain::error::{Error, Result};
use crate::domain::{check_tags, decode, Ctx, Service};
use crate::store::Tx;

/// The strategy id a managed deployment names; its rollout is all at once without a bake.
const STRATEGY_ID: &str = "AppConfig.AllAtOnce";

/// A MANAGED deployment, prepared and waiting for the caller's transaction.
pub struct Managed {
    draft: Draft,
    /// The deployment number `reserve` took, if it is to be deployed.
    number: Option<i64>,
}

/// Prepares a MANAGED deployment that redeploys the version currently deployed (newest COMPLETE
/// deployment) of `profile_id` to `env_id`: resolves in one read snapshot, then runs
/// PRE_START_DEPLOYMENT actions outside any transaction with `params.DynamicExtensionParameters`
/// (checked exactly like StartDeployment's DynamicExtensionParameters). No COMPLETE deployment of
/// the profile in the environment -> BadRequestException saying the flag's configuration profile
/// must be deployed to the environment first.
pub async fn prepare_managed(
    svc: &Service,
    ctx: &Ctx,
    app_id: &str,
    env_id: &str,
    profile_id: &str,
    description: &str,
    params: Option<api::DeploymentParameters>,
) -> Result<Managed> {
    let params = params.unwrap_or(api::DeploymentParameters {
        dynamic_extension_parameters: None,
        tags: None,
    });
    let tags = params.tags.unwrap_or_default();
    check_tags(&tags)?;
    let dynamic = params.dynamic_extension_parameters.unwrap_or_default();

    let mut tx = svc.store.read(&ctx.account).await?;
    let resolved = Resolved::load(svc, ctx, &mut *tx, app_id, env_id, profile_id).await?;
    let mut deployed = None;
    for rec in all_in_environment(&mut *tx, app_id, env_id).await? {
        let dep: Deployment = decode(&rec)?;
        if dep.configuration_profile_id == profile_id && dep.state == DeploymentState::Complete {
            deployed = Some(dep);
            break;
        }
    }
    let deployed = deployed.ok_or_else(|| {
        Error::bad_request(format!(
            "The feature flag's configuration profile {profile_id} must be deployed to environment {env_id} first: it has no completed deployment there."
        ))
    })?;
    let content = tx
        .get_content(&content_key(&deployed.key()))
        .await?
        .unwrap_or_default();
    drop(tx);
    check_dynamic(&resolved.applied, &dynamic)?;

    let draft = Draft {
        resolved,
        kind: DeploymentType::Managed,
        strategy_id: STRATEGY_ID.to_string(),
        rollout: Rollout {
            deployment_duration_in_minutes: 0,
            growth_type: api::GrowthType::Linear,
            growth_factor: 100.0,
            final_bake_time_in_minutes: 0,
        },
        description: Some(description.to_string()).filter(|d| !d.is_empty()),
        kms_key_identifier: deployed.kms_key_identifier,
        tags,
        dynamic,
        version: Version {
            text: deployed.configuration_version,
            label: deployed.version_label,
            content_type: deployed.content_type,
        },
        content,
        pre_records: Vec::new(),
    }
    .run_pre_actions(svc)
    .await?;
    Ok(Managed {
        draft,
        number: None,
    })
}

impl Managed {
    /// In the caller's write transaction: Ok(None) if a deployment of the environment is in
    /// progress (then nothing will be deployed: experiment changes are never blocked by a user's
    /// deployment); otherwise takes the next deployment number and returns the deployment ARN
    /// (arn:aws:appconfig:REGION:ACCOUNT:application/APP/environment/ENV/deployment/N).
    pub async fn reserve(
        &mut self,
        svc: &Service,
        ctx: &Ctx,
        tx: &mut dyn Tx,
    ) -> Result<Option<String>> {
        let r = &self.draft.resolved;
        let (_, active) = r.newest(tx).await?;
        if active {
            self.number = None;
            return Ok(None);
        }
        let number = r.next_number(tx).await?;
        self.number = Some(number);
        let resource = format!(
            "application/{}/environment/{}/deployment/{number}",
            r.app_id, r.env_id
        );
        Ok(Some(svc.arn(ctx, &resource)))
    }

    /// Writes the reserved deployment (if any) in `tx` and commits `tx` together with whatever
    /// the caller wrote in it (one transaction), waking the engine and telling readers.
    pub async fn commit(self, svc: &Service, ctx: &Ctx, tx: Box<dyn Tx>) -> Result<()> {
        match self.number {
            Some(number) => {
                self.draft.create(svc, &ctx.account, tx, number).await?;
            }
            None => tx.commit().await?,
        }
        Ok(())
    }
}
