//! Experiments on the agent read path: the runs in progress on an entry's flags, compiled once
//! when the entry is built, and (with the account's `VendedMetrics` on) a counter per arm, so
//! serving a treatment costs one atomic increment.

use std::sync::LazyLock;

use bytes::Bytes;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use super::snapshot::Key;
use crate::domain::experiments::assign::{Assigned, Assigner};
use crate::domain::experiments::Run;
use crate::domain::featureflags::{Compiled, Context, UnknownFlag};

/// `appconfig_experiment_treatments_served_total`'s labels (ids, the flag key, `__t1__`…).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TreatmentLabels {
    pub application: String,
    pub environment: String,
    pub configuration_profile: String,
    pub flag: String,
    pub variant: String,
}

/// Treatment answers served, by (application, environment, profile, flag, variant); rendered
/// by `ops::metrics`.
pub static TREATMENTS_SERVED: LazyLock<Family<TreatmentLabels, Counter>> =
    LazyLock::new(Family::default);

/// One running experiment on one flag of an entry.
#[derive(Debug)]
pub struct Experiment {
    assigner: Assigner,
    /// Per arm (`Assigned::index`); empty when the account does not count (VendedMetrics off).
    counters: Vec<Counter>,
}

impl Experiment {
    /// The experiments of `runs` on the entry `key`, one per flag (a second run on a flag
    /// already taken is ignored; the operations allow one).
    pub fn compile(runs: &[Run], key: &Key, count: bool) -> Vec<Experiment> {
        let mut out: Vec<Experiment> = Vec::with_capacity(runs.len());
        for run in runs {
            let assigner = Assigner::new(run, &key.0);
            if out
                .iter()
                .any(|e| e.assigner.flag_key() == assigner.flag_key())
            {
                continue;
            }
            let counters = if count {
                assigner
                    .arms()
                    .iter()
                    .map(|arm| {
                        TREATMENTS_SERVED.get_or_create_owned(&TreatmentLabels {
                            application: key.1.clone(),
                            environment: key.2.clone(),
                            configuration_profile: key.3.clone(),
                            flag: assigner.flag_key().to_owned(),
                            variant: arm.variant.clone(),
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            out.push(Experiment { assigner, counters });
        }
        out
    }

    fn count(&self, arm: &Assigned) {
        if let Some(counter) = self.counters.get(arm.index) {
            counter.inc();
        }
    }
}

/// The agent's answer for `entity` (an `Entity-Id`) when experiments run on the entry: flags
/// with an assignment answer their treatment, the rest as [`Compiled::answer`] would.
pub(super) fn answer(
    flags: &Compiled,
    experiments: &[Experiment],
    entity: &str,
    context: &Context,
    wanted: Option<&[String]>,
) -> Result<Bytes, UnknownFlag> {
    // `?flag=k` alone: the treatment's pre-rendered body as is.
    if let Some([one]) = wanted {
        let hit = experiments
            .iter()
            .find(|e| e.assigner.flag_key() == one && flags.contains(one))
            .and_then(|e| Some((e, e.assigner.assign(Some(entity), context)?)));
        return match hit {
            Some((experiment, arm)) => {
                experiment.count(arm);
                Ok(arm.body.clone())
            }
            None => flags.answer(context, wanted),
        };
    }
    // Whole profile or several flags: overlay the treatments on the evaluated document.
    let mut hits: Vec<(&Experiment, &Assigned)> = Vec::new();
    for experiment in experiments {
        let key = experiment.assigner.flag_key();
        let asked = wanted.is_none_or(|w| w.iter().any(|k| k == key));
        if asked && flags.contains(key) {
            if let Some(arm) = experiment.assigner.assign(Some(entity), context) {
                hits.push((experiment, arm));
            }
        }
    }
    if hits.is_empty() {
        return flags.answer(context, wanted);
    }
    let body = flags.answer_overlaid(context, wanted, |key| {
        hits.iter()
            .find(|(e, _)| e.assigner.flag_key() == key)
            .map(|(_, arm)| arm.json.as_str())
    })?;
    // Counted once served (an unknown `?flag=` fails the whole read).
    for (experiment, arm) in &hits {
        experiment.count(arm);
    }
    Ok(body)
}
