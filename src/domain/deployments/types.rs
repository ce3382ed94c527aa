//! The deployment vocabulary as types: the model's enums (serialised to AWS's exact wire
//! strings, which are also what stored records hold) and the event log entry.

use serde::{Deserialize, Serialize};

use crate::domain::clock::iso8601;
use crate::domain::invocation::ActionInvocation;

/// A string that names no member of a wire enum.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

/// A model enum: each member with its wire string, written once. Serde, `as_str`, `Display`,
/// `FromStr` and `ALL` (in declaration order) all follow from it.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $wire)] $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownValue {
                        what: stringify!($name),
                        value: s.to_string(),
                    }),
                }
            }
        }
    };
}

wire_enum! {
    /// `DeploymentState`, in lifecycle order.
    DeploymentState {
        Validating = "VALIDATING",
        Deploying = "DEPLOYING",
        Baking = "BAKING",
        RollingBack = "ROLLING_BACK",
        Complete = "COMPLETE",
        RolledBack = "ROLLED_BACK",
        Reverted = "REVERTED",
    }
}

wire_enum! {
    /// `ActionPoint`: where in a workflow an extension action runs.
    ActionPoint {
        PreCreateHostedConfigurationVersion = "PRE_CREATE_HOSTED_CONFIGURATION_VERSION",
        PreStartDeployment = "PRE_START_DEPLOYMENT",
        AtDeploymentTick = "AT_DEPLOYMENT_TICK",
        OnDeploymentStart = "ON_DEPLOYMENT_START",
        OnDeploymentStep = "ON_DEPLOYMENT_STEP",
        OnDeploymentBaking = "ON_DEPLOYMENT_BAKING",
        OnDeploymentComplete = "ON_DEPLOYMENT_COMPLETE",
        OnDeploymentRolledBack = "ON_DEPLOYMENT_ROLLED_BACK",
    }
}

wire_enum! {
    /// `DeploymentEventType`.
    DeploymentEventType {
        PercentageUpdated = "PERCENTAGE_UPDATED",
        RollbackStarted = "ROLLBACK_STARTED",
        RollbackCompleted = "ROLLBACK_COMPLETED",
        BakeTimeStarted = "BAKE_TIME_STARTED",
        DeploymentStarted = "DEPLOYMENT_STARTED",
        DeploymentCompleted = "DEPLOYMENT_COMPLETED",
        RevertCompleted = "REVERT_COMPLETED",
    }
}

wire_enum! {
    /// `TriggeredBy`: who caused a deployment event.
    TriggeredBy {
        User = "USER",
        Appconfig = "APPCONFIG",
        CloudwatchAlarm = "CLOUDWATCH_ALARM",
        InternalError = "INTERNAL_ERROR",
    }
}

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

    const MODEL: &str = include_str!("../../../model/appconfig-2019-10-09.json");

    fn model_enum(name: &str) -> Vec<String> {
        let model: Value = serde_json::from_str(MODEL).unwrap_or_default();
        model["shapes"][name]["enum"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn check<T>(name: &str, all: &[T])
    where
        T: Copy
            + Serialize
            + for<'de> Deserialize<'de>
            + std::str::FromStr
            + PartialEq
            + std::fmt::Debug
            + std::fmt::Display,
    {
        let mut wire: Vec<String> = all.iter().map(|v| v.to_string()).collect();
        let mut model = model_enum(name);
        wire.sort();
        model.sort();
        assert_eq!(wire, model, "{name} differs from the model");
        for v in all {
            let json = serde_json::to_value(v).unwrap_or_default();
            assert_eq!(json, Value::String(v.to_string()));
            assert_eq!(serde_json::from_value::<T>(json).ok(), Some(*v));
            assert!(v.to_string().parse::<T>().ok() == Some(*v));
        }
    }

    #[test]
    fn enums_match_the_model() {
        check("DeploymentState", DeploymentState::ALL);
        check("ActionPoint", ActionPoint::ALL);
        check("DeploymentEventType", DeploymentEventType::ALL);
        check("TriggeredBy", TriggeredBy::ALL);
        assert!("NOPE".parse::<DeploymentState>().is_err());
    }

    #[test]
    fn active_states() {
        let active: Vec<_> = DeploymentState::ALL
            .iter()
            .filter(|s| s.is_active())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(
            active,
            ["VALIDATING", "DEPLOYING", "BAKING", "ROLLING_BACK"]
        );
        assert!(is_active("DEPLOYING"));
        assert!(!is_active("COMPLETE"));
        assert!(!is_active(""));
    }
}
