//! Persisting a transition: the one place where a deployment's change reaches the store
//! (StartDeployment, StopDeployment and every engine step go through `persist`).

use std::collections::BTreeMap;

use super::lifecycle::Rollback;
use super::outbox::{enqueue_calls, JOB_KIND, STEP_PAYLOAD};
use super::types::DeploymentState;
use super::{content_key, Deployment};
use crate::domain::environments::Environment;
use crate::domain::error::Result;
use crate::domain::invocation::{ActionCall, ActionInvocation};
use crate::domain::{decode, encode, Change, Service};
use crate::store::{Kind, Record, Tx};

/// How the deployment's record is written.
pub enum RecordWrite<'a> {
    /// A new deployment: the record with its tags, and the content snapshot it serves.
    Create {
        tags: BTreeMap<String, String>,
        content: &'a [u8],
    },
    /// A later transition: the stored record, whose body is replaced.
    Update(Record),
}

/// One transition of a deployment, ready to persist.
pub struct Transition<'a> {
    pub write: RecordWrite<'a>,
    /// The state before the transition (`None` for a new deployment); the environment's
    /// State follows when it changed.
    pub before: Option<DeploymentState>,
    /// The ON_* calls the transition made, for the outbox.
    pub calls: Vec<ActionCall>,
    /// When the engine should step the deployment next, if it is still in progress.
    pub next_due: i64,
}

/// Persists `dep` after a transition and commits `tx`: the record, the environment's State
/// (when the deployment's changed), the outbox entries of its calls, its step job (scheduled
/// while in progress, removed once it ended). Then wakes the engine if that left work due now,
/// and tells readers the environment's deployments changed.
pub async fn persist(
    svc: &Service,
    account: &str,
    mut tx: Box<dyn Tx>,
    dep: &Deployment,
    t: Transition<'_>,
    now: i64,
) -> Result<()> {
    let key = dep.key();
    let body = encode(dep)?;
    match t.write {
        RecordWrite::Create { tags, content } => {
            let parent = format!("{}/{}", dep.application_id, dep.environment_id);
            let mut rec = Record::new(Kind::Deployment, key.clone(), parent, body);
            rec.tags = tags;
            tx.insert_with_content(rec, &content_key(&key), content)
                .await?;
        }
        RecordWrite::Update(mut rec) => {
            rec.body = body;
            tx.update(&rec).await?;
        }
    }
    if t.before != Some(dep.state) {
        set_environment_state(
            &mut *tx,
            &dep.application_id,
            &dep.environment_id,
            dep.state.environment_state(),
        )
        .await?;
    }
    enqueue_calls(&mut *tx, &key, &t.calls, now).await?;
    let step_due = dep.state.is_active().then_some(t.next_due);
    match step_due {
        Some(due) => tx.put_job(JOB_KIND, &key, due, STEP_PAYLOAD).await?,
        None => tx.delete_job(JOB_KIND, &key).await?,
    }
    tx.commit().await?;
    if !t.calls.is_empty() || step_due.is_some_and(|due| due <= now) {
        svc.wake.notify_one();
    }
    svc.changed(Change::Deployment {
        account: account.to_string(),
        app_id: dep.application_id.clone(),
        env_id: dep.environment_id.clone(),
    });
    Ok(())
}

/// The engine's step of the deployment stored under `id`, in the write transaction it checked
/// its lease in: re-reads the deployment, rolls it back (`rollback`) or applies what is due,
/// and persists the transition. `ticks` are the AT_DEPLOYMENT_TICK invocations made for it.
/// A deployment that is gone or no longer in progress just loses its step job.
pub async fn step(
    svc: &Service,
    account: &str,
    mut tx: Box<dyn Tx>,
    id: &str,
    rollback: Option<Rollback>,
    ticks: Vec<ActionInvocation>,
) -> Result<()> {
    let rec = tx.get(Kind::Deployment, id).await?;
    let Some((rec, mut dep)) = rec
        .map(|rec| decode::<Deployment>(&rec).map(|dep| (rec, dep)))
        .transpose()?
        .filter(|(_, dep)| dep.state.is_active())
    else {
        tx.delete_job(JOB_KIND, id).await?;
        return Ok(tx.commit().await?);
    };
    let before = dep.state;
    let now = svc.clock.wall_millis();
    let (calls, next) = match rollback {
        Some(cause) => (dep.roll_back(cause, now, ticks), None),
        None => dep.advance(now, svc.settings.time_scale, ticks),
    };
    let next_due = dep.next_due(next, now);
    let t = Transition {
        write: RecordWrite::Update(rec),
        before: Some(before),
        calls,
        next_due,
    };
    persist(svc, account, tx, &dep, t, now).await?;
    Ok(())
}

/// Sets the environment's State (CamelCase, as AWS sends it).
pub(super) async fn set_environment_state(
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
