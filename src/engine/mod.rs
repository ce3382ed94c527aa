//! The deployment engine: a thin durable loop around the domain's deployment state machine.
//!
//! All state lives in the store. Each pass leases the deployments and invocations that are
//! due (`jobs` table), applies the state machine, and persists events, state, the next due
//! time and new outbox entries in one transaction; then delivers outbox entries. A crash at
//! any point loses nothing: an unfinished lease expires and the work is picked up again (by
//! this node after a restart, or by another node sharing the PostgreSQL database).

pub mod monitors;
pub mod targets;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::domain::deployments::{
    enqueue_calls, environment_state_for, is_active, set_environment_state, Deployment,
    INVOCATION_JOB_KIND, JOB_KIND,
};
use crate::domain::error::{Error, Result};
use crate::domain::invocation::{ActionCall, InvokeError};
use crate::domain::{decode, encode, ids, Change, Service};
use crate::store::{Job, Kind};

/// How long a node owns a claimed deployment step before another node may take it over (a
/// step takes milliseconds; monitor checks a few seconds at most).
const LEASE_MS: i64 = 5_000;
/// Invocation leases outlast the longest call (`--invocation-timeout`) by this much.
const INVOCATION_LEASE_MARGIN_MS: i64 = 5_000;
/// Longest idle sleep; new work on this node wakes the loop at once, and the loop otherwise
/// sleeps exactly until the next job is due.
const POLL: Duration = Duration::from_millis(500);
/// Monitors are checked at least this often (wall time) while a deployment runs, so an alarm
/// is acted on within 5 seconds.
const MONITOR_INTERVAL_MS: i64 = 2_000;
/// Delivery attempts per invocation before its failure is recorded.
const MAX_ATTEMPTS: i64 = 3;

pub struct Engine {
    svc: Service,
    node: String,
    monitors: Arc<monitors::Monitors>,
    invocation_timeout_ms: i64,
}

impl Engine {
    pub fn new(
        svc: Service,
        monitors: Arc<monitors::Monitors>,
        invocation_timeout: Duration,
    ) -> Self {
        Engine {
            svc,
            node: format!("node-{}", ids::new_id()),
            monitors,
            invocation_timeout_ms: invocation_timeout.as_millis() as i64,
        }
    }

    /// Runs until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let me = Arc::new(self);
        tracing::info!(node = %me.node, "deployment engine started");
        loop {
            // A pass runs as its own task so that even a panic in it (a bug, or a library
            // misbehaving) leaves the loop alive; leases make the retry safe.
            match tokio::spawn(me.clone().pass()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "engine pass failed; retrying"),
                Err(e) => tracing::error!(error = %e, "engine pass panicked; retrying"),
            }
            // Sleep until the next job is due (at most POLL, so work scheduled by other nodes
            // is seen soon), or until woken by new work.
            let now = me.svc.clock.wall_millis();
            let nap = match me.svc.store.next_due(now).await {
                Ok(Some(due)) => {
                    Duration::from_millis((due - now).clamp(0, POLL.as_millis() as i64) as u64)
                }
                _ => POLL,
            };
            tokio::select! {
                _ = me.svc.wake.notified() => {}
                _ = tokio::time::sleep(nap) => {}
                _ = stop.changed() => break,
            }
            if *stop.borrow() {
                break;
            }
        }
        tracing::info!("deployment engine stopped");
    }

    /// One pass: due deployments (sequentially: they are cheap), then due invocations
    /// (concurrently: they wait on the network).
    async fn pass(self: Arc<Self>) -> Result<()> {
        let now = self.svc.clock.wall_millis();
        let store = &self.svc.store;
        for job in store
            .claim_jobs(JOB_KIND, now, &self.node, LEASE_MS, 16)
            .await?
        {
            if let Err(e) = self.process_deployment(&job).await {
                tracing::warn!(deployment = %job.id, error = %e, "deployment step failed; will retry");
            }
        }
        let lease = self.invocation_timeout_ms + INVOCATION_LEASE_MARGIN_MS;
        let jobs = store
            .claim_jobs(INVOCATION_JOB_KIND, now, &self.node, lease, 32)
            .await?;
        let mut set = JoinSet::new();
        for job in jobs {
            let me = self.clone();
            set.spawn(async move {
                if let Err(e) = me.deliver(&job).await {
                    tracing::warn!(invocation = %job.id, error = %e, "invocation bookkeeping failed; will retry");
                }
            });
        }
        while set.join_next().await.is_some() {}
        Ok(())
    }

    async fn process_deployment(&self, job: &Job) -> Result<()> {
        let svc = &self.svc;
        let scale = svc.settings.time_scale;
        let dep = {
            let mut tx = svc.store.read(&job.account).await?;
            match tx.get(Kind::Deployment, &job.id).await? {
                Some(rec) => Some(decode::<Deployment>(&rec)?),
                None => None,
            }
        };
        let Some(dep) = dep.filter(|d| is_active(&d.state)) else {
            let mut tx = svc.store.write(&job.account).await?;
            tx.delete_job(JOB_KIND, &job.id).await?;
            tx.commit().await?;
            return Ok(());
        };

        // Outside any transaction: talk to monitors and AT_DEPLOYMENT_TICK targets.
        let now = svc.clock.wall_millis();
        let mut rollback: Option<(&str, String)> = None;
        for m in &dep.monitors {
            if let Some(reason) = self.monitors.alarm(m).await {
                rollback = Some(("CLOUDWATCH_ALARM", reason));
                break;
            }
        }
        let mut tick_records = Vec::new();
        if rollback.is_none() && !dep.due(now, scale).is_empty() {
            for mut call in dep.calls("AT_DEPLOYMENT_TICK") {
                call.event["DeploymentState"] = json!(dep.state);
                call.event["PercentageComplete"] = json!(dep.percentage_complete);
                match svc.invoker.invoke(&call).await {
                    Ok(answer) if wants_rollback(answer.as_ref()) => {
                        tick_records.push(call.record(None));
                        rollback = Some((
                            "APPCONFIG",
                            format!(
                                "Rollback requested by extension {} action {}",
                                call.extension_id, call.action_name
                            ),
                        ));
                        break;
                    }
                    Ok(_) => tick_records.push(call.record(None)),
                    Err(e) => {
                        tick_records.push(call.record(Some(&e)));
                        rollback = Some(("APPCONFIG", format!(
                            "Rollback because extension {} action {} failed at AT_DEPLOYMENT_TICK: {}",
                            call.extension_id, call.action_name, e.message
                        )));
                        break;
                    }
                }
            }
        }

        // One transaction: re-read, check the lease is still ours, apply, persist, schedule.
        let mut tx = svc.store.write(&job.account).await?;
        let owner = tx
            .get_job(JOB_KIND, &job.id)
            .await?
            .and_then(|j| j.lease_owner);
        if owner.as_deref() != Some(self.node.as_str()) {
            return Ok(()); // Someone else took over (or it was stopped meanwhile).
        }
        let Some(mut rec) = tx.get(Kind::Deployment, &job.id).await? else {
            tx.delete_job(JOB_KIND, &job.id).await?;
            return Ok(tx.commit().await?);
        };
        let mut dep: Deployment = decode(&rec)?;
        if !is_active(&dep.state) {
            tx.delete_job(JOB_KIND, &job.id).await?;
            return Ok(tx.commit().await?);
        }
        let before = dep.state.clone();
        let now = svc.clock.wall_millis();
        let (calls, next) = match rollback {
            Some((by, reason)) => (dep.roll_back(by, reason, now, tick_records), None),
            None => dep.advance(now, scale, tick_records),
        };
        rec.body = encode(&dep)?;
        tx.update(&rec).await?;
        if dep.state != before {
            let env_state = environment_state_for(&dep.state);
            set_environment_state(
                &mut *tx,
                &dep.application_id,
                &dep.environment_id,
                env_state,
            )
            .await?;
        }
        enqueue_calls(&mut *tx, &job.id, &calls, now).await?;
        if is_active(&dep.state) {
            let mut due = next.unwrap_or(i64::MAX);
            if !dep.monitors.is_empty() {
                due = due.min(now + MONITOR_INTERVAL_MS);
            }
            tx.put_job(JOB_KIND, &job.id, due, "{}").await?;
        } else {
            tx.delete_job(JOB_KIND, &job.id).await?;
        }
        tx.commit().await?;
        if !calls.is_empty() {
            svc.wake.notify_one();
        }
        svc.changed(Change::Deployment {
            account: job.account.clone(),
            app_id: dep.application_id.clone(),
            env_id: dep.environment_id.clone(),
        });
        Ok(())
    }

    /// Delivers one outbox entry. Failures are retried; the last one is recorded on the
    /// deployment event that carried the invocation.
    async fn deliver(&self, job: &Job) -> Result<()> {
        let svc = &self.svc;
        let payload: Value = serde_json::from_str(&job.payload).map_err(Error::internal)?;
        let call: ActionCall =
            serde_json::from_value(payload["Call"].clone()).map_err(Error::internal)?;
        let attempts = payload["Attempts"].as_i64().unwrap_or(0) + 1;
        let result = svc.invoker.invoke(&call).await;

        let mut tx = svc.store.write(&job.account).await?;
        let owner = tx
            .get_job(INVOCATION_JOB_KIND, &job.id)
            .await?
            .and_then(|j| j.lease_owner);
        if owner.as_deref() != Some(self.node.as_str()) {
            return Ok(());
        }
        match result {
            Ok(_) => tx.delete_job(INVOCATION_JOB_KIND, &job.id).await?,
            Err(e) if attempts < MAX_ATTEMPTS => {
                tracing::info!(invocation = %job.id, uri = %call.uri, attempt = attempts, error = %e.message, "invocation failed; retrying");
                let mut next = payload.clone();
                next["Attempts"] = json!(attempts);
                let due = svc.clock.wall_millis() + 1000 * attempts;
                tx.put_job(INVOCATION_JOB_KIND, &job.id, due, &next.to_string())
                    .await?;
            }
            Err(e) => {
                tracing::warn!(invocation = %job.id, uri = %call.uri, error = %e.message, "invocation failed; recording the error");
                if let Some(dep_id) = payload["DeploymentId"].as_str() {
                    record_failure(&mut *tx, dep_id, &call, &e).await?;
                }
                tx.delete_job(INVOCATION_JOB_KIND, &job.id).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// `{"Directive": "ROLL_BACK"}` (any case) asks for a rollback.
fn wants_rollback(answer: Option<&Value>) -> bool {
    answer
        .and_then(|a| a.get("Directive"))
        .and_then(Value::as_str)
        .is_some_and(|d| d.eq_ignore_ascii_case("ROLL_BACK") || d.eq_ignore_ascii_case("ROLLBACK"))
}

/// Sets ErrorCode/ErrorMessage on the ActionInvocation with this InvocationId.
async fn record_failure(
    tx: &mut dyn crate::store::Tx,
    deployment_id: &str,
    call: &ActionCall,
    err: &InvokeError,
) -> Result<()> {
    let Some(mut rec) = tx.get(Kind::Deployment, deployment_id).await? else {
        return Ok(());
    };
    let mut dep: Deployment = decode(&rec)?;
    for event in dep.event_log.iter_mut() {
        if let Some(list) = event
            .get_mut("ActionInvocations")
            .and_then(Value::as_array_mut)
        {
            for inv in list.iter_mut() {
                if inv["InvocationId"] == json!(call.invocation_id) {
                    *inv = call.record(Some(err));
                }
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

    #[test]
    fn rollback_directive() {
        assert!(wants_rollback(Some(&json!({"Directive": "ROLL_BACK"}))));
        assert!(wants_rollback(Some(&json!({"Directive": "rollback"}))));
        assert!(!wants_rollback(Some(&json!({"Directive": "CONTINUE"}))));
        assert!(!wants_rollback(None));
    }
}
