//! Experiments: definitions (which flag, in which environment, with which control, treatments
//! and audience) and runs (one execution of a definition: exposure, overrides, events, result).
//!
//! - `definitions`: Create/Get/Update/Delete/ListExperimentDefinitions;
//! - `runs`: Start/Get/Update/Stop/ListExperimentRuns, ListExperimentRunEvents; each start,
//!   update and stop is recorded as a `MANAGED` deployment of the flag's profile;
//! - `assign`: which treatment an entity gets on the agent read path (overrides, audience rule,
//!   exposure bucket, weighted pick), compiled once per run for the data plane.
//!
//! Storage: a definition is a record under its application (attr = status, so the data plane
//! finds the ACTIVE ones with one indexed list); a run is a record `"<definition>/<run>"` under
//! `"<application>/<definition>"` (attr = status) holding its events, oldest first.

pub mod assign;
mod definitions;
mod runs;

pub use definitions::{
    create_experiment_definition, delete_experiment_definition, get_experiment_definition,
    list_experiment_definitions, update_experiment_definition,
};
pub use runs::{
    get_experiment_run, list_experiment_run_events, list_experiment_runs, start_experiment_run,
    stop_experiment_run, update_experiment_run,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::decode;
use super::error::Result;
use crate::api::appconfig as api;
use crate::store::{AttrFilter, Kind, ListQuery, Tx};

/// A stored experiment definition: the model's `ExperimentDefinition` members plus the run
/// bookkeeping (`_…`, never on the wire).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Definition {
    pub application_id: String,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hypothesis: Option<String>,
    pub status: api::ExperimentDefinitionStatus,
    pub configuration_profile_id: String,
    pub environment_id: String,
    pub flag_key: String,
    pub audience_rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_criteria: Option<String>,
    /// Keys `t1`, `t2`, … in list order.
    pub treatments: Vec<api::Treatment>,
    /// Key `c`.
    pub control: api::Treatment,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_identifier: Option<String>,
    /// The number of the run that is RUNNING, if any (then `status` is ACTIVE).
    #[serde(rename = "_RunningRun", default)]
    pub running_run: Option<i64>,
    /// How many runs were started (the next one is `runs + 1`).
    #[serde(rename = "_Runs", default)]
    pub runs: i64,
}

/// A stored experiment run: the model's `ExperimentRun` members plus its events.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Run {
    pub application_id: String,
    pub experiment_definition_id: String,
    pub run: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub status: api::ExperimentRunStatus,
    pub exposure_percentage: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub treatment_overrides: Option<api::TreatmentOverrides>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<api::ExperimentRunResult>,
    pub started_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    pub experiment_definition_snapshot: api::ExperimentDefinitionSnapshot,
    /// Oldest first (ListExperimentRunEvents answers newest first).
    #[serde(rename = "_Events", default)]
    pub events: Vec<api::ExperimentRunEvent>,
}

/// Record id of run `run` of definition `def_id`.
pub fn run_key(def_id: &str, run: i64) -> String {
    format!("{def_id}/{run}")
}

/// Parent of the runs of definition `def_id` in application `app_id`.
pub fn runs_parent(app_id: &str, def_id: &str) -> String {
    format!("{app_id}/{def_id}")
}

impl Run {
    /// Entity id → treatment key (`c`, `t1`, …) of the run's overrides.
    pub fn overrides(&self) -> std::collections::BTreeMap<String, String> {
        match &self.treatment_overrides {
            Some(api::TreatmentOverrides::Inline(map)) => map.clone(),
            None => Default::default(),
        }
    }
}

/// The RUNNING runs whose definition targets `profile_id` in `env_id` of `app_id`: what the data
/// plane overlays on the flags it serves there. One indexed list plus one read per active run.
pub async fn running_in(
    tx: &mut dyn Tx,
    app_id: &str,
    env_id: &str,
    profile_id: &str,
) -> Result<Vec<Run>> {
    let active = tx
        .list(ListQuery {
            kind: Kind::ExperimentDefinition,
            parent: Some(app_id),
            attr: Some(AttrFilter::Equals(
                api::ExperimentDefinitionStatus::Active.to_string(),
            )),
            after_seq: 0,
            limit: i64::MAX,
            descending: false,
        })
        .await?;
    let mut runs = Vec::new();
    for rec in &active {
        let def: Definition = decode(rec)?;
        let (Some(n), true) = (
            def.running_run,
            def.environment_id == env_id && def.configuration_profile_id == profile_id,
        ) else {
            continue;
        };
        if let Some(run) = tx.get(Kind::ExperimentRun, &run_key(&def.id, n)).await? {
            let run: Run = decode(&run)?;
            if run.status == api::ExperimentRunStatus::Running {
                runs.push(run);
            }
        }
    }
    Ok(runs)
}

/// A flag value as the flag object clients read: `{"enabled": …, <attribute>: <value>, …}`.
pub fn flag_object(v: &api::FlagValue) -> serde_json::Map<String, Value> {
    let mut object = serde_json::Map::new();
    object.insert("enabled".into(), Value::Bool(v.enabled));
    for (name, value) in v.attribute_values.iter().flatten() {
        object.insert(name.clone(), attribute_json(value));
    }
    object
}

/// A treatment attribute as the flag attribute it stands for: a JSON scalar or array.
pub(crate) fn attribute_json(value: &api::AttributeValue) -> Value {
    match value {
        api::AttributeValue::StringValue(s) => Value::from(s.as_str()),
        api::AttributeValue::NumberValue(n) => number(*n),
        api::AttributeValue::BooleanValue(b) => Value::Bool(*b),
        api::AttributeValue::StringArray(items) => {
            Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
        }
        api::AttributeValue::NumberArray(items) => {
            Value::Array(items.iter().map(|n| number(*n)).collect())
        }
    }
}

/// Whole numbers as JSON integers (`3`, as a flag document would hold them), others as floats.
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}
