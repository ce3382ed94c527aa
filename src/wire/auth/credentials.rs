//! The `--credentials` file: access keys (each with its secret and account) and agent bearer
//! tokens, loaded and checked into an [`Authenticator::Keys`].

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

use super::{Authenticator, LoadError};

/// A `--credentials` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsFile {
    #[serde(default)]
    pub credentials: Vec<KeyEntry>,
    /// Bearer tokens for the agent-compatible read path, each mapped to an account.
    #[serde(default)]
    pub agent_tokens: Vec<AgentToken>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub account_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentToken {
    pub token: String,
    pub account_id: String,
}

/// An access key's secret and the account it acts as.
pub struct Key {
    pub(super) secret: String,
    pub(super) account: String,
    /// Signing keys derived from `secret`, kept for the next request of the same day.
    pub(super) derived: super::signing::DerivedKeys,
}

impl Key {
    pub(super) fn new(secret: String, account: String) -> Key {
        Key {
            secret,
            account,
            derived: Default::default(),
        }
    }
}

impl Authenticator {
    /// Keys given directly as (access key id, secret, account): for tests and fuzzing.
    pub fn with_keys<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Self {
        let keys = entries
            .into_iter()
            .map(|(ak, secret, account)| {
                (
                    ak.to_string(),
                    Key::new(secret.to_string(), account.to_string()),
                )
            })
            .collect();
        Authenticator::Keys {
            keys,
            agent_tokens: Vec::new(),
        }
    }

    pub fn from_file(path: &Path) -> Result<Self, LoadError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
            path: shown.clone(),
            source,
        })?;
        let invalid = |message: String| LoadError::Invalid {
            path: shown.clone(),
            message,
        };
        let file: CredentialsFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        if file.credentials.is_empty() {
            return Err(invalid("no [[credentials]] entries".into()));
        }
        let account_ok = |a: &str| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit());
        let mut keys = HashMap::new();
        for k in file.credentials {
            if !account_ok(&k.account_id) {
                return Err(invalid(format!(
                    "account_id {:?} of {} is not 12 digits",
                    k.account_id, k.access_key_id
                )));
            }
            if k.access_key_id.is_empty() || k.secret_access_key.is_empty() {
                return Err(invalid("empty access_key_id or secret_access_key".into()));
            }
            let key = Key::new(k.secret_access_key, k.account_id);
            if keys.insert(k.access_key_id.clone(), key).is_some() {
                return Err(invalid(format!(
                    "access_key_id {} appears twice",
                    k.access_key_id
                )));
            }
        }
        let mut agent_tokens = Vec::new();
        for t in file.agent_tokens {
            if !account_ok(&t.account_id) || t.token.is_empty() {
                return Err(invalid(format!(
                    "agent token for account {:?}: needs a token and a 12-digit account_id",
                    t.account_id
                )));
            }
            agent_tokens.push((t.token, t.account_id));
        }
        Ok(Authenticator::Keys { keys, agent_tokens })
    }
}
