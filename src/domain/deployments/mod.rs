//! Deployments: StartDeployment, GetDeployment, ListDeployments, StopDeployment, and the
//! deployment state machine the engine drives.
//!
//! A deployment is one record: the model's `Deployment` shape plus internal `_…` members (the
//! wire layer emits only model members). Its timeline is derived from the strategy numbers
//! copied at start and the wall-clock start time, scaled by `--time-scale`, so any node can
//! pick it up after a crash and land exactly where the timeline says it should be.
//!
//! - `types`: the model's enums (`DeploymentState`, `ActionPoint`, `DeploymentEventType`,
//!   `TriggeredBy`) and the event log entry;
//! - `lifecycle`: the state machine (advance along the timeline, roll back, revert) and what
//!   AT_DEPLOYMENT_TICK answers mean;
//! - `persist`: the one function that persists a transition (record, environment state,
//!   outbox, job, commit, wake, publish), and the engine's step built on it;
//! - `outbox`: the job kinds and the typed outbox entry of an ON_* call;
//! - `start`, `operations`: the API operations.

mod lifecycle;
mod managed;
mod operations;
mod outbox;
mod persist;
mod start;
mod types;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::decode;
use super::deployment_strategies::Rollout;
use super::environments::Monitor;
use super::error::{Error, Result};
use super::invocation::{self, ActionCall, Applied, EventContext};
use crate::api::appconfig as api;
use crate::store::{Kind, ListQuery, Record, Tx};

pub use lifecycle::{tick_outcome, Rollback};
pub use managed::{prepare_managed, Managed};
pub use operations::{get_deployment, list_deployments, stop_deployment};
pub use outbox::{record_invocation_failure, OutboxEntry, INVOCATION_JOB_KIND, JOB_KIND};
pub use persist::{persist, step, RecordWrite, Transition};
pub use start::start_deployment;
pub use types::{
    is_active, ActionPoint, DeploymentEvent, DeploymentEventType, DeploymentState, TriggeredBy,
    UnknownValue,
};

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
    /// The strategy's numbers, copied at start.
    #[serde(flatten)]
    pub rollout: Rollout,
    pub state: DeploymentState,
    /// Newest first, as AWS returns it.
    pub event_log: Vec<DeploymentEvent>,
    pub percentage_complete: f64,
    pub started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    pub applied_extensions: Vec<AppliedExtension>,
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

    /// The calls of every applied extension for `point`.
    pub fn calls(&self, point: ActionPoint) -> Vec<ActionCall> {
        invocation::calls_for(
            &self.applied,
            point,
            &self.event_context(),
            &self.dynamic,
            None,
        )
    }
}

/// The model's `AppliedExtension`, as stored with the deployment that applied it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AppliedExtension {
    pub extension_id: String,
    pub extension_association_id: String,
    pub version_number: i64,
    pub parameters: BTreeMap<String, String>,
}

impl From<AppliedExtension> for api::AppliedExtension {
    fn from(a: AppliedExtension) -> Self {
        api::AppliedExtension {
            extension_id: Some(a.extension_id),
            extension_association_id: Some(a.extension_association_id),
            version_number: Some(a.version_number),
            parameters: Some(a.parameters),
        }
    }
}

/// GetDeployment, StartDeployment and StopDeployment answer the whole deployment (without the
/// internal members).
impl From<Deployment> for api::Deployment {
    fn from(d: Deployment) -> Self {
        api::Deployment {
            application_id: Some(d.application_id),
            environment_id: Some(d.environment_id),
            deployment_strategy_id: Some(d.deployment_strategy_id),
            configuration_profile_id: Some(d.configuration_profile_id),
            deployment_number: Some(d.deployment_number),
            configuration_name: Some(d.configuration_name),
            configuration_location_uri: Some(d.configuration_location_uri),
            configuration_version: Some(d.configuration_version),
            description: d.description,
            deployment_duration_in_minutes: Some(d.rollout.deployment_duration_in_minutes),
            growth_type: Some(d.rollout.growth_type),
            growth_factor: Some(d.rollout.growth_factor),
            final_bake_time_in_minutes: Some(d.rollout.final_bake_time_in_minutes),
            state: Some(d.state),
            event_log: Some(d.event_log.into_iter().map(Into::into).collect()),
            percentage_complete: Some(d.percentage_complete),
            started_at: Some(d.started_at),
            completed_at: d.completed_at,
            applied_extensions: Some(d.applied_extensions.into_iter().map(Into::into).collect()),
            kms_key_arn: d.kms_key_arn,
            kms_key_identifier: d.kms_key_identifier,
            version_label: d.version_label,
        }
    }
}

/// The ListDeployments summary shape.
impl From<Deployment> for api::DeploymentSummary {
    fn from(d: Deployment) -> Self {
        api::DeploymentSummary {
            deployment_number: Some(d.deployment_number),
            configuration_name: Some(d.configuration_name),
            configuration_version: Some(d.configuration_version),
            deployment_duration_in_minutes: Some(d.rollout.deployment_duration_in_minutes),
            growth_type: Some(d.rollout.growth_type),
            growth_factor: Some(d.rollout.growth_factor),
            final_bake_time_in_minutes: Some(d.rollout.final_bake_time_in_minutes),
            state: Some(d.state),
            percentage_complete: Some(d.percentage_complete),
            started_at: Some(d.started_at),
            completed_at: d.completed_at,
            version_label: d.version_label,
            configuration_profile_id: None,
            r#type: None,
        }
    }
}

/// The deployment stored under `id`, if it exists and is still in progress.
pub async fn find_active(tx: &mut dyn Tx, id: &str) -> Result<Option<Deployment>> {
    let Some(rec) = tx.get(Kind::Deployment, id).await? else {
        return Ok(None);
    };
    let dep: Deployment = decode(&rec)?;
    Ok(dep.state.is_active().then_some(dep))
}

/// The newest deployment of an environment, if any.
pub async fn latest_deployment(
    tx: &mut dyn Tx,
    app_id: &str,
    env_id: &str,
) -> Result<Option<Deployment>> {
    let newest = super::newest(tx, Kind::Deployment, &format!("{app_id}/{env_id}")).await?;
    newest.as_ref().map(decode).transpose()
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

/// A deployment of an existing application and environment, with its record.
async fn load(
    tx: &mut dyn Tx,
    app_id: &str,
    env_id: &str,
    number: i64,
) -> Result<(Record, Deployment)> {
    super::environments::load_environment(tx, app_id, env_id).await?;
    let rec = tx
        .get(Kind::Deployment, &deployment_key(app_id, env_id, number))
        .await?
        .ok_or_else(|| Error::not_found("Deployment", &number.to_string()))?;
    let dep = decode(&rec)?;
    Ok((rec, dep))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records written before the deployment types were introduced (captured from a server
    /// run: a completed deployment whose ON_* calls failed, and one stopped by the user, with
    /// a monitor added) still load, and re-encode to exactly the same JSON.
    #[test]
    fn stored_records_of_today_decode_and_round_trip() {
        for body in [
            include_str!("testdata/completed.json"),
            include_str!("testdata/rolled_back.json"),
        ] {
            let stored: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            let rec = Record::new(Kind::Deployment, "a/e/1", "a/e", stored.clone());
            let dep: Deployment = match decode(&rec) {
                Ok(d) => d,
                Err(e) => panic!("cannot decode a stored deployment: {e}"),
            };
            assert!(!dep.event_log.is_empty());
            assert!(!dep.state.is_active());
            assert_eq!(serde_json::to_value(&dep).ok(), Some(stored));
        }
        let completed: Deployment = serde_json::from_str(include_str!("testdata/completed.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(completed.state, DeploymentState::Complete);
        let first = &completed.event_log[0];
        assert_eq!(first.event_type, DeploymentEventType::DeploymentCompleted);
        assert_eq!(first.triggered_by, TriggeredBy::Appconfig);
        assert_eq!(
            first.action_invocations[0].error_code.as_deref(),
            Some("ConnectionError")
        );
        let last = &completed.event_log[completed.event_log.len() - 1];
        assert_eq!(last.event_type, DeploymentEventType::DeploymentStarted);
        assert_eq!(last.triggered_by, TriggeredBy::User);
        let rolled_back: Deployment =
            serde_json::from_str(include_str!("testdata/rolled_back.json"))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rolled_back.state, DeploymentState::RolledBack);
        assert_eq!(rolled_back.monitors.len(), 1);
    }
}
