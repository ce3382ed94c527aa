//! Treatment assignment on the agent read path (the hashing is written down in
//! `docs/experiments.md`).
//!
//! A RUNNING [`Run`] is compiled once into an [`Assigner`] (audience rule parsed, overrides
//! indexed, weights turned into 64-bit bucket bounds, every treatment's answer pre-rendered);
//! [`Assigner::assign`] then costs an override lookup, one rule evaluation and two XXH3 hashes,
//! and allocates nothing.
//!
//! Order: no entity → nothing; an override → its treatment (audience and exposure bypassed);
//! audience rule false → nothing; exposure bucket at or above the threshold → nothing; else the
//! weighted pick over `[c, t1, …]` with an independent hash.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::Value;

use super::{attribute_json, Run};
use crate::api::appconfig as api;
use crate::domain::featureflags::rules::{bucket, implicit_seed, parse, threshold, Context, Rule};

/// One arm of the experiment (the control or a treatment), as served.
#[derive(Debug)]
pub struct Assigned {
    /// `c`, `t1`, … `t5`.
    pub key: String,
    /// `__c__`, `__t1__`, …
    pub variant: String,
    /// Position in `[c, t1, …]` (for per-arm counters kept beside the assigner).
    pub index: usize,
    /// `{"_variant":"__t1__","enabled":true,<attr>:<value>…}` (attributes only when enabled,
    /// as the retrieval form delivers flags).
    pub json: String,
    /// `json` as a body: cloning it is a reference-count increment.
    pub body: Bytes,
}

/// A run compiled for the read path.
#[derive(Debug)]
pub struct Assigner {
    flag_key: String,
    /// `None` when the stored rule does not parse (the operations refuse such rules): then only
    /// override entities get a treatment.
    audience: Option<Rule>,
    /// The seed of `split`s in the audience rule that name none: the flag's own.
    audience_seed: String,
    exposure_seed: String,
    pick_seed: String,
    /// `bucket(exposure_seed, entity) < t` exposes the entity; `None`: everyone (100 %).
    exposure: Option<u64>,
    /// `[c, t1, …]`.
    arms: Vec<Assigned>,
    /// The arms with a positive weight and the exclusive upper bound of each one's slice of
    /// the pick bucket; the last one takes the rest (no bound). Empty: total weight 0.
    picks: Vec<(u64, usize)>,
    last_pick: Option<usize>,
    /// Entity id → arm index.
    overrides: HashMap<String, usize>,
}

impl Assigner {
    /// Compiles `run` (served to `account`). The snapshot's members are optional in the model;
    /// missing keys fall back to `c` and `t<position>`.
    pub fn new(run: &Run, account: &str) -> Assigner {
        let snapshot = &run.experiment_definition_snapshot;
        let flag_key = snapshot.flag_key.clone().unwrap_or_default();
        let profile = snapshot
            .configuration_profile_id
            .as_deref()
            .unwrap_or_default();
        let app = &run.application_id;
        let definition = &run.experiment_definition_id;
        let number = run.run;

        let mut arms = Vec::new();
        let mut weights = Vec::new();
        let control = snapshot.control.iter().map(|t| (t, "c".to_owned()));
        let treatments = snapshot
            .treatments
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, t)| (t, format!("t{}", i + 1)));
        for (treatment, default_key) in control.chain(treatments) {
            let key = treatment.key.clone().unwrap_or(default_key);
            let weight = treatment.weight;
            weights.push(if weight.is_finite() && weight > 0.0 {
                weight
            } else {
                0.0
            });
            arms.push(render(arms.len(), key, &treatment.flag_value));
        }

        let (picks, last_pick) = pick_bounds(&weights);
        let overrides = run
            .overrides()
            .into_iter()
            .filter_map(|(entity, key)| {
                let index = arms.iter().position(|a| a.key == key)?;
                Some((entity, index))
            })
            .collect();
        Assigner {
            audience: snapshot
                .audience_rule
                .as_deref()
                .and_then(|r| parse(r).ok()),
            audience_seed: implicit_seed(account, app, profile, &flag_key),
            exposure_seed: format!("exposure:{account}:{app}:{definition}:{number}"),
            pick_seed: format!("treatment:{account}:{app}:{definition}:{number}"),
            exposure: threshold(run.exposure_percentage),
            flag_key,
            arms,
            picks,
            last_pick,
            overrides,
        }
    }

    /// The flag this run experiments on.
    pub fn flag_key(&self) -> &str {
        &self.flag_key
    }

    /// `[c, t1, …]`, indexed by [`Assigned::index`].
    pub fn arms(&self) -> &[Assigned] {
        &self.arms
    }

    /// The arm `entity_id` receives with `context`, or `None` (the flag as deployed).
    pub fn assign(&self, entity_id: Option<&str>, context: &Context) -> Option<&Assigned> {
        let entity = entity_id?;
        if !self.overrides.is_empty() {
            if let Some(&index) = self.overrides.get(entity) {
                return self.arms.get(index);
            }
        }
        if !self
            .audience
            .as_ref()
            .is_some_and(|rule| rule.matches(context, &self.audience_seed))
        {
            return None;
        }
        if let Some(bound) = self.exposure {
            if bucket(&self.exposure_seed, entity) >= bound {
                return None;
            }
        }
        let last = self.last_pick?;
        let v = bucket(&self.pick_seed, entity);
        let index = self
            .picks
            .iter()
            .find(|(bound, _)| v < *bound)
            .map_or(last, |(_, index)| *index);
        self.arms.get(index)
    }
}

/// Cumulative weights → bucket bounds: arm i (weight > 0) takes `[B(i-1), B(i))` with
/// `B(i) = floor(cum_i / total × 2^64)`; the last positive arm takes everything above.
fn pick_bounds(weights: &[f64]) -> (Vec<(u64, usize)>, Option<usize>) {
    let total: f64 = weights.iter().sum();
    let positive: Vec<usize> = (0..weights.len()).filter(|i| weights[*i] > 0.0).collect();
    let Some((&last, rest)) = positive.split_last() else {
        return (Vec::new(), None);
    };
    let mut cumulative = 0.0;
    let bounds = rest
        .iter()
        .map(|&i| {
            cumulative += weights[i];
            // `threshold` is floor(pct/100 × 2^64); `None` only at 100 %, impossible here
            // while a later arm has weight, but rounding could reach it: then all.
            let bound = threshold(cumulative / total * 100.0).unwrap_or(u64::MAX);
            (bound, i)
        })
        .collect();
    (bounds, Some(last))
}

/// An arm's answer, rendered once.
fn render(index: usize, key: String, value: &api::FlagValue) -> Assigned {
    let variant = format!("__{key}__");
    // `_variant` and `enabled` first, then the attributes by name.
    let mut json = format!(
        "{{\"_variant\":{},\"enabled\":{}",
        Value::from(variant.as_str()),
        value.enabled
    );
    if value.enabled {
        for (name, attribute) in value.attribute_values.iter().flatten() {
            json.push(',');
            json.push_str(&Value::from(name.as_str()).to_string());
            json.push(':');
            json.push_str(&attribute_json(attribute).to_string());
        }
    }
    json.push('}');
    Assigned {
        key,
        variant,
        index,
        body: Bytes::from(json.clone()),
        json,
    }
}

#[cfg(test)]
#[path = "assign_tests.rs"]
mod tests;
