//! The deployment's durable work in the store's `jobs` table: one job per running deployment
//! (its id is the deployment key, its due time the next step), and one outbox entry per ON_*
//! call still to deliver.

use serde::{Deserialize, Serialize};

use super::Deployment;
use crate::domain::error::{Error, Result};
use crate::domain::invocation::{ActionCall, InvokeError};
use crate::domain::{decode, encode};
use crate::store::{Kind, Tx};

/// Job kind of a running deployment's next step.
pub const JOB_KIND: &str = "deployment";
/// Job kind of an outbox entry (an `OutboxEntry` payload, keyed by invocation id).
pub const INVOCATION_JOB_KIND: &str = "invocation";
/// Payload of a deployment step job: everything else is in the deployment record.
pub(super) const STEP_PAYLOAD: &str = "{}";

/// One ON_* call waiting in the outbox, as the `jobs` payload stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutboxEntry {
    /// Key of the deployment whose event records this call.
    #[serde(default)]
    pub deployment_id: String,
    pub call: ActionCall,
    /// Deliveries tried so far.
    #[serde(default)]
    pub attempts: i64,
}

impl OutboxEntry {
    pub fn new(deployment_id: &str, call: ActionCall) -> Self {
        OutboxEntry {
            deployment_id: deployment_id.to_string(),
            call,
            attempts: 0,
        }
    }

    pub fn decode(payload: &str) -> Result<Self> {
        serde_json::from_str(payload).map_err(Error::internal)
    }

    pub fn encode(&self) -> Result<String> {
        serde_json::to_string(self).map_err(Error::internal)
    }
}

/// Puts ON_* calls in the durable outbox, to be delivered by the engine.
pub(super) async fn enqueue_calls(
    tx: &mut dyn Tx,
    deployment_id: &str,
    calls: &[ActionCall],
    now: i64,
) -> Result<()> {
    for call in calls {
        let entry = OutboxEntry::new(deployment_id, call.clone());
        tx.put_job(
            INVOCATION_JOB_KIND,
            &call.invocation_id,
            now,
            &entry.encode()?,
        )
        .await?;
    }
    Ok(())
}

/// A call that failed for good: sets ErrorCode/ErrorMessage on the ActionInvocation with its
/// InvocationId in the deployment's event log.
pub async fn record_invocation_failure(
    tx: &mut dyn Tx,
    deployment_id: &str,
    call: &ActionCall,
    err: &InvokeError,
) -> Result<()> {
    let Some(mut rec) = tx.get(Kind::Deployment, deployment_id).await? else {
        return Ok(());
    };
    let mut dep: Deployment = decode(&rec)?;
    for event in dep.event_log.iter_mut() {
        for inv in event.action_invocations.iter_mut() {
            if inv.invocation_id.as_deref() == Some(call.invocation_id.as_str()) {
                *inv = call.record(Some(err));
            }
        }
    }
    rec.body = encode(&dep)?;
    tx.update(&rec).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An outbox entry written before `OutboxEntry` existed (captured from a server run, a
    /// call on its third attempt) still loads, and re-encodes to the same JSON.
    #[test]
    fn stored_outbox_entry_of_today_decodes() {
        let stored = include_str!("testdata/invocation_job.json");
        let entry = OutboxEntry::decode(stored).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entry.attempts, 2);
        assert_eq!(entry.deployment_id, "yvjtxcn/7d66dl3/2");
        assert_eq!(entry.call.action_point, "ON_DEPLOYMENT_START");
        let again: serde_json::Value =
            serde_json::from_str(&entry.encode().unwrap_or_default()).unwrap_or_default();
        let stored: serde_json::Value = serde_json::from_str(stored).unwrap_or_default();
        assert_eq!(again, stored);
    }
}
