//! The deployment engine: a thin durable loop around the domain's deployment state machine.
//! It owns leases, the calls that go out (monitors, AT_DEPLOYMENT_TICK targets, outbox
//! entries) and the transactions; what a step does and how it is persisted is the domain's
//! (`domain::deployments::step`).
//!
//! All state lives in the store. Each pass leases the deployments and invocations that are
//! due (`jobs` table), lets the domain apply the state machine and persist events, state, the
//! next due time and new outbox entries in one transaction; then delivers outbox entries. A
//! crash at any point loses nothing: an unfinished lease expires and the work is picked up
//! again (by this node after a restart, or by another node sharing the PostgreSQL database).

pub mod monitors;
pub mod targets;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::domain::deployments::{
    self, record_invocation_failure, OutboxEntry, Rollback, INVOCATION_JOB_KIND, JOB_KIND,
};
use crate::domain::error::Result;
use crate::domain::{ids, Service};
use crate::store::{Claim, Job, Tx};

/// How long a node owns a claimed deployment step before another node may take it over (a
/// step takes milliseconds; monitor checks a few seconds at most).
const LEASE_MS: i64 = 5_000;
/// Invocation leases outlast the longest call (`--invocation-timeout`) by this much.
const INVOCATION_LEASE_MARGIN_MS: i64 = 5_000;
/// Longest idle sleep; new work on this node wakes the loop at once, and the loop otherwise
/// sleeps exactly until the next job is due.
const POLL: Duration = Duration::from_millis(500);
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
            .claim_jobs(Claim {
                kind: JOB_KIND,
                now,
                owner: &self.node,
                lease_ms: LEASE_MS,
                limit: 16,
            })
            .await?
        {
            if let Err(e) = self.process_deployment(&job).await {
                tracing::warn!(deployment = %job.id, error = %e, "deployment step failed; will retry");
            }
        }
        let lease = self.invocation_timeout_ms + INVOCATION_LEASE_MARGIN_MS;
        let jobs = store
            .claim_jobs(Claim {
                kind: INVOCATION_JOB_KIND,
                now,
                owner: &self.node,
                lease_ms: lease,
                limit: 32,
            })
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
        let dep = {
            let mut tx = svc.store.read(&job.account).await?;
            deployments::find_active(&mut *tx, &job.id).await?
        };
        let Some(dep) = dep else {
            let mut tx = svc.store.write(&job.account).await?;
            tx.delete_job(JOB_KIND, &job.id).await?;
            tx.commit().await?;
            return Ok(());
        };

        // Outside any transaction: talk to monitors and AT_DEPLOYMENT_TICK targets.
        let now = svc.clock.wall_millis();
        let mut rollback = None;
        for m in &dep.monitors {
            if let Some(reason) = self.monitors.alarm(m).await {
                rollback = Some(Rollback::alarm(reason));
                break;
            }
        }
        let mut ticks = Vec::new();
        if rollback.is_none() && !dep.due(now, svc.settings.time_scale).is_empty() {
            for call in dep.tick_calls() {
                let result = svc.invoker.invoke(&call).await;
                let (record, verdict) = deployments::tick_outcome(&call, &result);
                ticks.push(record);
                if verdict.is_some() {
                    rollback = verdict;
                    break;
                }
            }
        }

        // One transaction: check the lease is still ours, then the domain steps the
        // deployment and persists the transition (committing it).
        let mut tx = svc.store.write(&job.account).await?;
        if !self.holds_lease(&mut *tx, JOB_KIND, &job.id).await? {
            return Ok(()); // Someone else took over (or it was stopped meanwhile).
        }
        deployments::step(svc, &job.account, tx, &job.id, rollback, ticks).await
    }

    /// Whether this node still holds the lease on a job (inside the transaction that acts on it).
    async fn holds_lease(&self, tx: &mut dyn Tx, kind: &str, id: &str) -> Result<bool> {
        let owner = tx.get_job(kind, id).await?.and_then(|j| j.lease_owner);
        Ok(owner.as_deref() == Some(self.node.as_str()))
    }

    /// Delivers one outbox entry. Failures are retried; the last one is recorded on the
    /// deployment event that carried the invocation.
    async fn deliver(&self, job: &Job) -> Result<()> {
        let svc = &self.svc;
        let entry = OutboxEntry::decode(&job.payload)?;
        let call = &entry.call;
        let attempts = entry.attempts + 1;
        let result = svc.invoker.invoke(call).await;

        let mut tx = svc.store.write(&job.account).await?;
        if !self
            .holds_lease(&mut *tx, INVOCATION_JOB_KIND, &job.id)
            .await?
        {
            return Ok(());
        }
        match result {
            Ok(_) => tx.delete_job(INVOCATION_JOB_KIND, &job.id).await?,
            Err(e) if attempts < MAX_ATTEMPTS => {
                tracing::info!(invocation = %job.id, uri = %call.uri, attempt = attempts, error = %e.message, "invocation failed; retrying");
                let next = OutboxEntry {
                    attempts,
                    ..entry.clone()
                };
                let due = svc.clock.wall_millis() + 1000 * attempts;
                tx.put_job(INVOCATION_JOB_KIND, &job.id, due, &next.encode()?)
                    .await?;
            }
            Err(e) => {
                tracing::warn!(invocation = %job.id, uri = %call.uri, error = %e.message, "invocation failed; recording the error");
                record_invocation_failure(&mut *tx, &entry.deployment_id, call, &e).await?;
                tx.delete_job(INVOCATION_JOB_KIND, &job.id).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
