//! The in-memory view of what is deployed where, used by every read.
//!
//! One entry per (account, application, environment, profile): the stable configuration (the
//! newest COMPLETE deployment of that profile in that environment) and, while a newer one is
//! DEPLOYING or BAKING, that one with its percentage. Entries are built from the store on first
//! use and dropped whenever a deployment of their environment changes (the `Change` feed), so
//! a poll costs a hash lookup, not a database round trip.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use super::experiments::Experiment;
use crate::domain::deployments::{all_in_environment, content_key, Deployment, DeploymentState};
use crate::domain::error::Result;
use crate::domain::{decode, experiments, featureflags, settings};
use crate::store::DynStore;

/// One configuration as served to clients.
#[derive(Debug)]
pub struct Served {
    /// Identity of this content for "has it changed?" checks: the deployment number.
    pub id: String,
    pub bytes: Bytes,
    pub content_type: String,
    pub version_label: Option<String>,
    /// The deployment's ConfigurationVersion (GetConfiguration's Configuration-Version).
    pub version: String,
    /// For feature-flag profiles: the document compiled once for this deployed version
    /// (variant rules parsed, answers pre-rendered, the Ion form); `bytes` is then its JSON
    /// answer to an empty context.
    pub flags: Option<featureflags::Compiled>,
}

#[derive(Debug, Default)]
pub struct Entry {
    pub stable: Option<Arc<Served>>,
    /// A deployment in progress and the share of clients (0–100) that get it.
    pub rolling: Option<(Arc<Served>, f64)>,
    /// When a read of this entry was last recorded for deletion protection (wall ms); lets
    /// the hot path skip the bookkeeping with one atomic load.
    pub last_marked: std::sync::atomic::AtomicI64,
    /// The experiment runs in progress on this profile's flags in this environment (feature-
    /// flag profiles only; empty in the common case, which the read paths test first).
    pub experiments: Vec<Experiment>,
}

impl Entry {
    /// What a client with rollout `bucket` (0–9999) receives now.
    pub fn pick(&self, bucket: u64) -> Option<&Arc<Served>> {
        match &self.rolling {
            Some((new, percent)) if (bucket as f64) < percent * 100.0 => Some(new),
            _ => self.stable.as_ref(),
        }
    }
}

/// A client's rollout bucket: FNV-1a of its identity, mod 10 000. Stable across restarts,
/// nodes and versions, so a client keeps its place in every rollout.
pub fn bucket(identity: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in identity.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % 10_000
}

pub type Key = (String, String, String, String);

#[derive(Default)]
pub struct Snapshot {
    /// The entries, and a generation that every invalidation bumps.
    entries: RwLock<(HashMap<Key, Arc<Entry>>, u64)>,
}

impl Snapshot {
    pub fn get(&self, key: &Key) -> Option<Arc<Entry>> {
        self.entries.read().ok()?.0.get(key).cloned()
    }

    /// The generation to pass to `put` for an entry about to be loaded.
    pub fn generation(&self) -> u64 {
        self.entries.read().map(|e| e.1).unwrap_or(0)
    }

    /// Caches an entry loaded at `generation`, unless something was invalidated meanwhile
    /// (then the entry may predate that change, and the next read loads it afresh).
    pub fn put(&self, key: Key, entry: Arc<Entry>, generation: u64) {
        if let Ok(mut e) = self.entries.write() {
            if e.1 == generation {
                e.0.insert(key, entry);
            }
        }
    }

    /// Drops the entries of one environment (its deployments changed).
    pub fn invalidate_environment(&self, account: &str, app: &str, env: &str) {
        if let Ok(mut e) = self.entries.write() {
            e.0.retain(|k, _| !(k.0 == account && k.1 == app && k.2 == env));
            e.1 += 1;
        }
    }

    /// Drops the entries of one application (it, an environment or a profile changed).
    pub fn invalidate_application(&self, account: &str, app: &str) {
        if let Ok(mut e) = self.entries.write() {
            e.0.retain(|k, _| !(k.0 == account && k.1 == app));
            e.1 += 1;
        }
    }

    pub fn invalidate_account(&self, account: &str) {
        if let Ok(mut e) = self.entries.write() {
            e.0.retain(|k, _| k.0 != account);
            e.1 += 1;
        }
    }

    pub fn clear(&self) {
        if let Ok(mut e) = self.entries.write() {
            e.0.clear();
            e.1 += 1;
        }
    }
}

/// Builds the entry of one (environment, profile) from the store.
pub async fn load(store: &DynStore, key: &Key, feature_flags: bool) -> Result<Entry> {
    let (account, app, env, profile) = key;
    let mut tx = store.read(account).await?;
    let rows = all_in_environment(&mut *tx, app, env).await?;
    let mut deployments = Vec::new();
    for r in &rows {
        let d: Deployment = decode(r)?;
        if &d.configuration_profile_id == profile {
            deployments.push((r.id.clone(), d));
        }
    }
    let mut entry = Entry::default();
    let mut iter = deployments.into_iter();
    let mut first = true;
    for (id, d) in iter.by_ref() {
        let newest = std::mem::replace(&mut first, false);
        if newest && d.state.is_active() && d.state != DeploymentState::RollingBack {
            let served = served(&mut *tx, key, &id, &d, feature_flags).await?;
            entry.rolling = Some((Arc::new(served), d.percentage_complete));
            continue;
        }
        if d.state == DeploymentState::Complete {
            let served = served(&mut *tx, key, &id, &d, feature_flags).await?;
            entry.stable = Some(Arc::new(served));
            break;
        }
    }
    // A run's start, update or stop publishes a deployment change of its environment, and a
    // VendedMetrics change one of the account: either drops this entry, so both stay current.
    if feature_flags {
        let runs = experiments::running_in(&mut *tx, app, env, profile).await?;
        if !runs.is_empty() {
            let count = settings::vended_metrics_enabled(&mut *tx).await?;
            entry.experiments = Experiment::compile(&runs, key, count);
        }
    }
    Ok(entry)
}

async fn served(
    tx: &mut dyn crate::store::Tx,
    key: &Key,
    id: &str,
    d: &Deployment,
    feature_flags: bool,
) -> Result<Served> {
    let raw = tx.get_content(&content_key(id)).await?.unwrap_or_default();
    let owner = featureflags::Owner {
        account: &key.0,
        application: &key.1,
        profile: &key.3,
    };
    let flags = if feature_flags {
        featureflags::Compiled::new(&raw, owner)
    } else {
        None
    };
    let (bytes, content_type) = match &flags {
        Some(f) => (f.json().clone(), "application/json".to_string()),
        None => (Bytes::from(raw), d.content_type.clone()),
    };
    Ok(Served {
        id: d.deployment_number.to_string(),
        bytes,
        content_type,
        version_label: d.version_label.clone(),
        version: d.configuration_version.clone(),
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(id: &str) -> Arc<Served> {
        Arc::new(Served {
            id: id.into(),
            bytes: Bytes::new(),
            content_type: "text/plain".into(),
            version_label: None,
            version: id.into(),
            flags: None,
        })
    }

    #[test]
    fn buckets_are_stable_and_spread() {
        assert_eq!(bucket("session-1"), bucket("session-1"));
        let n = 20_000;
        let below_25 = (0..n).filter(|i| bucket(&format!("s{i}")) < 2500).count();
        let share = below_25 as f64 / n as f64;
        assert!((0.23..0.27).contains(&share), "share {share}");
    }

    #[test]
    fn rollout_only_grows_and_rollback_converges() {
        let mut e = Entry {
            stable: Some(served("1")),
            rolling: Some((served("2"), 25.0)),
            ..Entry::default()
        };
        let clients: Vec<u64> = (0..1000).map(|i| bucket(&format!("c{i}"))).collect();
        let at_25: Vec<bool> = clients
            .iter()
            .map(|b| e.pick(*b).unwrap().id == "2")
            .collect();
        e.rolling = Some((served("2"), 50.0));
        let at_50: Vec<bool> = clients
            .iter()
            .map(|b| e.pick(*b).unwrap().id == "2")
            .collect();
        // Nobody who had the new version loses it as the percentage grows.
        assert!(at_25.iter().zip(&at_50).all(|(a, b)| !a || *b));
        assert!(at_50.iter().filter(|x| **x).count() > at_25.iter().filter(|x| **x).count());
        // Rolled back: the rolling part is gone and everyone gets the stable version.
        e.rolling = None;
        assert!(clients.iter().all(|b| e.pick(*b).unwrap().id == "1"));
    }
}
