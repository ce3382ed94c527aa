//! The deployment vocabulary as types: the model's enums (generated; serialised to AWS's exact
//! wire strings, which are also what stored records hold) and the event log entry.

use serde::{Deserialize, Serialize};

use crate::domain::clock::iso8601;
use crate::domain::invocation::ActionInvocation;

/// The model's enums, generated from it by build.rs (wire strings, `ALL`, `FromStr`); the
/// lifecycle adds its meaning below.
pub use crate::api::appconfig::{
    ActionPoint, DeploymentEventType, DeploymentState, DeploymentType, TriggeredBy,
};
pub use crate::api::UnknownValue;

impl DeploymentState {
    /// Still moving: the environment has a deployment in progress.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            DeploymentState::Validating
                | DeploymentState::Deploying
                | DeploymentState::Baking
                | DeploymentState::RollingBack
        )
    }

    /// The environment's State once a deployment reaches this state (CamelCase, as AWS
    /// sends it).
    pub fn environment_state(self) -> &'static str {
        match self {
            DeploymentState::Complete => "ReadyForDeployment",
            DeploymentState::RolledBack => "RolledBack",
            DeploymentState::Reverted => "Reverted",
            DeploymentState::RollingBack => "RollingBack",
            DeploymentState::Validating | DeploymentState::Deploying | DeploymentState::Baking => {
                "Deploying"
            }
        }
    }
}

/// Whether a wire or stored `State` string names an in-progress deployment.
pub fn is_active(state: &str) -> bool {
    state
        .parse::<DeploymentState>()
        .is_ok_and(DeploymentState::is_active)
}

/// One entry of a deployment's event log (the model's `DeploymentEvent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeploymentEvent {
    pub event_type: DeploymentEventType,
    pub triggered_by: TriggeredBy,
    pub description: String,
    pub occurred_at: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action_invocations: Vec<ActionInvocation>,
}

impl From<DeploymentEvent> for crate::api::appconfig::DeploymentEvent {
    fn from(e: DeploymentEvent) -> Self {
        crate::api::appconfig::DeploymentEvent {
            event_type: Some(e.event_type),
            triggered_by: Some(e.triggered_by),
            description: Some(e.description),
            occurred_at: Some(e.occurred_at),
            action_invocations: Some(e.action_invocations).filter(|a| !a.is_empty()),
        }
    }
}

impl DeploymentEvent {
    pub fn new(
        event_type: DeploymentEventType,
        triggered_by: TriggeredBy,
        description: String,
        at_ms: i64,
        action_invocations: Vec<ActionInvocation>,
    ) -> Self {
        DeploymentEvent {
            event_type,
            triggered_by,
            description,
            occurred_at: iso8601(at_ms),
            action_invocations,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn enums_round_trip_their_wire_strings() {
        for v in DeploymentState::ALL {
            let json = serde_json::to_value(v).unwrap_or_default();
            assert_eq!(json, Value::String(v.to_string()));
            assert_eq!(
                serde_json::from_value::<DeploymentState>(json).ok(),
                Some(*v)
            );
            assert_eq!(v.as_str().parse::<DeploymentState>().ok(), Some(*v));
        }
        assert_eq!(ActionPoint::ALL.len(), 8);
        assert!("NOPE".parse::<DeploymentState>().is_err());
    }

    #[test]
    fn active_states() {
        let mut active: Vec<_> = DeploymentState::ALL
            .iter()
            .filter(|s| s.is_active())
            .map(|s| s.as_str())
            .collect();
        active.sort();
        assert_eq!(
            active,
            ["BAKING", "DEPLOYING", "ROLLING_BACK", "VALIDATING"]
        );
        assert!(is_active("DEPLOYING"));
        assert!(!is_active("COMPLETE"));
        assert!(!is_active(""));
    }
}
