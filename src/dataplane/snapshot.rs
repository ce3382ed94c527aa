//! The in-memory view of what is deployed where, used by every read.
//!
//! One entry per (account, application, environment, profile): the stable configuration (the
//! newest COMPLETE deployment of that profile in that environment) and, while a newer one is
//! DEPLOYING or BAKING, that one with its percentage. Entries are built from the store on first
//! use and dropped whenever a deployment of their environment changes (the `Change` feed), so
//! a poll costs a hash lookup, not a database round trip.

use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http::HeaderValue;
use indexmap::IndexMap;

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
    // Header values are built once per deployed version, not on every read.
    pub content_type: HeaderValue,
    /// Absent also when the label cannot be a header value (control characters).
    pub version_label: Option<HeaderValue>,
    /// The deployment's ConfigurationVersion (GetConfiguration's Configuration-Version).
    pub version: HeaderValue,
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

/// A client's rollout bucket when it gave no identity: that of its address's text form
/// (formatted on the stack: this runs on every such read).
pub fn bucket_of_address(ip: std::net::IpAddr) -> u64 {
    use std::io::Write;
    let mut buf = [0u8; 64];
    let len = match ip {
        // Dotted decimal by hand: the formatter costs more than the rest of the read.
        std::net::IpAddr::V4(v4) => {
            let mut len = 0;
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[len] = b'.';
                    len += 1;
                }
                let digits = [octet / 100, octet / 10 % 10, octet % 10];
                let skip = if octet >= 100 {
                    0
                } else if octet >= 10 {
                    1
                } else {
                    2
                };
                for d in &digits[skip..] {
                    buf[len] = b'0' + d;
                    len += 1;
                }
            }
            len
        }
        std::net::IpAddr::V6(_) => {
            let mut out = &mut buf[..];
            let _ = write!(out, "{ip}");
            64 - out.len()
        }
    };
    bucket(std::str::from_utf8(&buf[..len]).unwrap_or_default())
}

/// (account, application, environment, profile).
pub type Key = (String, String, String, String);

/// A `Key` made of borrowed parts: finds an entry without building a `Key` (it hashes like one).
#[derive(Hash, Clone, Copy)]
pub struct KeyRef<'a>(pub &'a str, pub &'a str, pub &'a str, pub &'a str);

impl<'a> KeyRef<'a> {
    pub fn of(k: &'a Key) -> Self {
        KeyRef(&k.0, &k.1, &k.2, &k.3)
    }
}

impl indexmap::Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, k: &Key) -> bool {
        self.0 == k.0 && self.1 == k.1 && self.2 == k.2 && self.3 == k.3
    }
}

/// What reads look things up in: keyed by `Key`, searched by `KeyRef`. Hashed with foldhash
/// (randomly seeded per map), cheaper than SipHash, which hashed each poll's key twice. Keys
/// are ids and names that resolved, not arbitrary client input.
pub type KeyMap<V> = IndexMap<Key, V, foldhash::fast::RandomState>;

#[derive(Default)]
pub struct Snapshot {
    /// The entries, and a generation that every invalidation bumps.
    entries: RwLock<(KeyMap<Arc<Entry>>, u64)>,
}

impl Snapshot {
    pub fn get(&self, key: KeyRef<'_>) -> Option<Arc<Entry>> {
        self.entries.read().ok()?.0.get(&key).cloned()
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
        Some(f) => (f.json().clone(), "application/json"),
        None => (Bytes::from(raw), d.content_type.as_str()),
    };
    // Stored values passed the model's checks; a byte no header may carry (a control
    // character) still must not lose the answer, so such a value is dropped or replaced.
    let header = |v: &str| HeaderValue::from_bytes(v.as_bytes()).ok();
    Ok(Served {
        id: d.deployment_number.to_string(),
        bytes,
        content_type: header(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        version_label: d.version_label.as_deref().and_then(header),
        version: header(&d.configuration_version).unwrap_or(HeaderValue::from_static("")),
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
            content_type: HeaderValue::from_static("text/plain"),
            version_label: None,
            version: HeaderValue::from_static("1"),
            flags: None,
        })
    }

    #[test]
    fn an_address_buckets_as_its_text_form() {
        for ip in [
            "127.0.0.1",
            "10.200.3.45",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fe80::1",
        ] {
            let addr: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(bucket_of_address(addr), bucket(ip), "{ip}");
        }
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
