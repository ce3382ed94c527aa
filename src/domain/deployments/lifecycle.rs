//! The deployment state machine: moving along the timeline, rolling back, reverting, and what
//! an AT_DEPLOYMENT_TICK answer means. Pure: nothing here reads or writes the store.

use serde_json::{json, Value};

use super::types::TriggeredBy;
use super::types::{ActionPoint, DeploymentEvent, DeploymentEventType, DeploymentState};
use super::Deployment;
use crate::domain::clock::iso8601;
use crate::domain::invocation::{ActionCall, ActionInvocation, InvokeError};
use crate::domain::timeline::{self, Progress, Transition};

/// Monitors are checked at least this often (wall time) while a deployment runs, so an alarm
/// is acted on within 5 seconds.
const MONITOR_INTERVAL_MS: i64 = 2_000;

/// Why a running deployment is rolled back, and who caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollback {
    pub by: TriggeredBy,
    pub reason: String,
}

impl Rollback {
    /// A CloudWatch alarm of one of the environment's monitors is in ALARM.
    pub fn alarm(reason: String) -> Self {
        Rollback {
            by: TriggeredBy::CloudwatchAlarm,
            reason,
        }
    }
}

impl Deployment {
    fn plan(&self) -> timeline::Plan {
        self.rollout.plan()
    }

    fn progress(&self) -> Progress {
        Progress {
            steps_done: self.steps_done,
            baking: self.baking,
            complete: self.state == DeploymentState::Complete,
        }
    }

    /// Records an event (newest first).
    pub(super) fn push_event(
        &mut self,
        event_type: DeploymentEventType,
        by: TriggeredBy,
        description: String,
        at_ms: i64,
        invocations: Vec<ActionInvocation>,
    ) {
        let event = DeploymentEvent::new(event_type, by, description, at_ms, invocations);
        self.event_log.insert(0, event);
    }

    /// Pending timeline transitions at `now` (wall ms), without applying them.
    pub fn due(&self, now: i64, scale: f64) -> Vec<Transition> {
        let elapsed = ((now - self.started_at_ms) as f64 * scale) as i64;
        timeline::advance(&self.plan(), self.progress(), elapsed).0
    }

    /// Wall time at which a timeline offset (service ms after start) falls.
    fn wall_at(&self, at_ms: i64, scale: f64) -> i64 {
        self.started_at_ms + (at_ms as f64 / scale).ceil() as i64
    }

    /// When the engine should look at this deployment again, given the timeline's next
    /// transition (`None`: nothing left on it): monitors are polled in between.
    pub fn next_due(&self, next: Option<i64>, now: i64) -> i64 {
        let mut due = next.unwrap_or(i64::MAX);
        if !self.monitors.is_empty() {
            due = due.min(now + MONITOR_INTERVAL_MS);
        }
        due
    }

    /// Applies everything due at `now`: events, state, percentage. Returns the ON_* calls to
    /// deliver and when the deployment is next due (None once complete). `tick_records` are
    /// the AT_DEPLOYMENT_TICK invocations made before this step; they go on its first event.
    pub fn advance(
        &mut self,
        now: i64,
        scale: f64,
        mut tick_records: Vec<ActionInvocation>,
    ) -> (Vec<ActionCall>, Option<i64>) {
        let elapsed = ((now - self.started_at_ms) as f64 * scale) as i64;
        let (transitions, progress, next) =
            timeline::advance(&self.plan(), self.progress(), elapsed);
        let mut calls = Vec::new();
        for t in transitions {
            let at = self.wall_at(t.at_ms(), scale).min(now);
            let (event, text, point) = match t {
                Transition::Percentage { percent, .. } => {
                    self.percentage_complete = percent;
                    (
                        DeploymentEventType::PercentageUpdated,
                        timeline::percentage_text(percent),
                        ActionPoint::OnDeploymentStep,
                    )
                }
                Transition::BakeStarted { .. } => {
                    self.state = DeploymentState::Baking;
                    (
                        DeploymentEventType::BakeTimeStarted,
                        "Deployment bake time started".into(),
                        ActionPoint::OnDeploymentBaking,
                    )
                }
                Transition::Completed { .. } => {
                    self.state = DeploymentState::Complete;
                    self.completed_at = Some(iso8601(at));
                    self.completed_at_ms = Some(at);
                    (
                        DeploymentEventType::DeploymentCompleted,
                        "Deployment completed".into(),
                        ActionPoint::OnDeploymentComplete,
                    )
                }
            };
            let new_calls = self.calls(point);
            let mut records = std::mem::take(&mut tick_records);
            records.extend(new_calls.iter().map(|c| c.record(None)));
            self.push_event(event, TriggeredBy::Appconfig, text, at, records);
            calls.extend(new_calls);
        }
        self.steps_done = progress.steps_done;
        self.baking = progress.baking;
        (calls, next.map(|n| self.wall_at(n, scale)))
    }

    /// Ends an in-progress deployment as ROLLED_BACK. Returns the ON_DEPLOYMENT_ROLLED_BACK calls.
    pub fn roll_back(
        &mut self,
        cause: Rollback,
        now: i64,
        records: Vec<ActionInvocation>,
    ) -> Vec<ActionCall> {
        self.push_event(
            DeploymentEventType::RollbackStarted,
            cause.by,
            cause.reason,
            now,
            records,
        );
        let calls = self.calls(ActionPoint::OnDeploymentRolledBack);
        self.state = DeploymentState::RolledBack;
        self.percentage_complete = 0.0;
        self.completed_at = Some(iso8601(now));
        self.completed_at_ms = Some(now);
        self.push_event(
            DeploymentEventType::RollbackCompleted,
            TriggeredBy::Appconfig,
            "Deployment rollback completed".into(),
            now,
            calls.iter().map(|c| c.record(None)).collect(),
        );
        calls
    }

    /// Turns a COMPLETE deployment into REVERTED (the checks are the caller's). Returns the
    /// ON_DEPLOYMENT_ROLLED_BACK calls.
    pub fn revert(&mut self, account: &str, now: i64) -> Vec<ActionCall> {
        let calls = self.calls(ActionPoint::OnDeploymentRolledBack);
        self.state = DeploymentState::Reverted;
        self.percentage_complete = 0.0;
        let records = calls.iter().map(|c| c.record(None)).collect();
        self.push_event(
            DeploymentEventType::RevertCompleted,
            TriggeredBy::User,
            format!("Deployment reverted by user in account {account}"),
            now,
            records,
        );
        calls
    }

    /// The AT_DEPLOYMENT_TICK calls, their events carrying the state and percentage now.
    pub fn tick_calls(&self) -> Vec<ActionCall> {
        let mut calls = self.calls(ActionPoint::AtDeploymentTick);
        for call in &mut calls {
            call.event["DeploymentState"] = json!(self.state);
            call.event["PercentageComplete"] = json!(self.percentage_complete);
        }
        calls
    }
}

/// What the answer to one AT_DEPLOYMENT_TICK call means: the invocation to record and, when
/// the target asked for a rollback or failed, the rollback (no later tick call is made then).
pub fn tick_outcome(
    call: &ActionCall,
    result: &std::result::Result<Option<Value>, InvokeError>,
) -> (ActionInvocation, Option<Rollback>) {
    match result {
        Ok(answer) if wants_rollback(answer.as_ref()) => (
            call.record(None),
            Some(Rollback {
                by: TriggeredBy::Appconfig,
                reason: format!(
                    "Rollback requested by extension {} action {}",
                    call.extension_id, call.action_name
                ),
            }),
        ),
        Ok(_) => (call.record(None), None),
        Err(e) => (
            call.record(Some(e)),
            Some(Rollback {
                by: TriggeredBy::Appconfig,
                reason: format!(
                    "Rollback because extension {} action {} failed at AT_DEPLOYMENT_TICK: {}",
                    call.extension_id, call.action_name, e.message
                ),
            }),
        ),
    }
}

/// `{"Directive": "ROLL_BACK"}` (any case) asks for a rollback.
fn wants_rollback(answer: Option<&Value>) -> bool {
    answer
        .and_then(|a| a.get("Directive"))
        .and_then(Value::as_str)
        .is_some_and(|d| d.eq_ignore_ascii_case("ROLL_BACK") || d.eq_ignore_ascii_case("ROLLBACK"))
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
