//! Authentication: who is calling, and so which account's resources a request sees.
//!
//! With `--credentials FILE` every request must carry a valid AWS Signature Version 4, in the
//! `Authorization` header or as a presigned query string. The expected signature is computed
//! over the canonical request the client built (tests hold it equal to what `aws-sigv4`, the
//! signer the Rust SDK uses, computes): the same method, path, query, the headers the client listed in `SignedHeaders`, and
//! the payload hash; it is then compared in constant time. Without a credentials file the
//! server is an emulator: any request is accepted, as the configured default account.
//!
//! Checking happens in two steps: [`Authenticator::precheck`] before the body is read (is there
//! a signature, by a known key, made in time?), then [`Prechecked::verify`] over the whole
//! request. This file holds the [`Authenticator`] and those two steps; the parts live in:
//! * [`credentials`]: the `--credentials` file, its keys and accounts;
//! * [`parse`]: the signature as presented, from the Authorization header or a presigned query;
//! * [`clock`]: the signing time against the server's clock (skew, presigned expiry);
//! * [`signing`]: the signature the request should carry (the canonical request, signed with a
//!   cached derived key; checked against aws-sigv4 in its tests);
//! * [`bearer`]: bearer tokens on the agent-compatible read path;
//! * [`errors`]: why a request is refused, and why a credentials file is not loaded.

mod bearer;
mod clock;
mod credentials;
mod errors;
mod parse;
mod signing;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::SystemTime;

use http::HeaderMap;
use subtle::ConstantTimeEq;

pub use bearer::AgentAuth;
pub use credentials::{AgentToken, CredentialsFile, Key, KeyEntry};
pub use errors::{AuthError, LoadError};
pub use parse::{presented, Presented};

/// How requests are authenticated.
pub enum Authenticator {
    /// Emulator mode: every request is accepted as `account`.
    Anonymous {
        account: String,
        /// The legacy `--agent-token`: if set, agent-style reads need it.
        agent_token: Option<String>,
    },
    /// SigV4 against the keys of a credentials file.
    Keys {
        keys: HashMap<String, Key>,
        agent_tokens: Vec<(String, String)>,
    },
}

impl Authenticator {
    pub fn anonymous(account: String, agent_token: Option<String>) -> Self {
        Authenticator::Anonymous {
            account,
            agent_token,
        }
    }

    /// Every account a caller can act as (operator views such as `/metrics` cover them all).
    pub fn accounts(&self) -> Vec<String> {
        let mut all: Vec<String> = match self {
            Authenticator::Anonymous { account, .. } => vec![account.clone()],
            Authenticator::Keys { keys, .. } => keys.values().map(|k| k.account.clone()).collect(),
        };
        all.sort();
        all.dedup();
        all
    }

    pub fn requires_signatures(&self) -> bool {
        matches!(self, Authenticator::Keys { .. })
    }

    /// The cheap part, before the body is read: is there a signature, by a known key, made
    /// within the allowed time? Unknown callers are refused before they can upload anything.
    /// What it established is kept for `Prechecked::verify`, so nothing is parsed twice.
    /// `now` is called only when a signature's time is checked (not in emulator mode, where
    /// every read would pay for a clock it never uses).
    pub fn precheck<'r>(
        &self,
        uri: &'r http::Uri,
        headers: &'r HeaderMap,
        now: impl FnOnce() -> SystemTime,
    ) -> Result<Prechecked<'_, 'r>, AuthError> {
        let keys = match self {
            Authenticator::Anonymous { account, .. } => return Ok(Prechecked::Known(account)),
            Authenticator::Keys { keys, .. } => keys,
        };
        let presented = presented(uri, headers)?;
        let key = keys
            .get(presented.access_key.as_ref())
            .ok_or(AuthError::UnknownKey)?;
        let signed_at = clock::check_time(&presented, now())?;
        // aws-chunked bodies are an S3 upload mode; no AppConfig operation streams its input.
        if headers
            .get("x-amz-content-sha256")
            .is_some_and(|v| v.as_bytes().starts_with(b"STREAMING-"))
        {
            return Err(AuthError::Unsupported(
                "Streaming (aws-chunked) payloads are not supported by this service: sign the payload's SHA-256 or send UNSIGNED-PAYLOAD.".into(),
            ));
        }
        Ok(Prechecked::Signed {
            presented,
            key,
            signed_at,
        })
    }

    /// Verifies the whole request and returns the caller's account.
    pub fn authenticate(
        &self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<String, AuthError> {
        self.precheck(uri, headers, || now)?
            .verify(method, uri, headers, body)
            .map(str::to_string)
    }
}

/// A request that passed `Authenticator::precheck`: the caller as far as known before the body
/// (`'a`: the authenticator's keys; `'r`: the request the signature was read from).
pub enum Prechecked<'a, 'r> {
    /// An account established without a signature (emulator mode, or an agent bearer token).
    Known(&'a str),
    Signed {
        presented: Presented<'r>,
        key: &'a Key,
        signed_at: SystemTime,
    },
}

impl<'a> Prechecked<'a, '_> {
    /// The same, no longer borrowing the request (which can then be taken apart).
    pub fn into_owned(self) -> Prechecked<'a, 'static> {
        match self {
            Prechecked::Known(account) => Prechecked::Known(account),
            Prechecked::Signed {
                presented,
                key,
                signed_at,
            } => Prechecked::Signed {
                presented: presented.into_owned(),
                key,
                signed_at,
            },
        }
    }

    /// Checks the signature over the whole request (body included) and returns the account
    /// (borrowed: a read allocates nothing for it).
    pub fn verify(
        self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<&'a str, AuthError> {
        let (p, key) = match self {
            Prechecked::Known(account) => return Ok(account),
            Prechecked::Signed { presented, key, .. } => (presented, key),
        };
        // Compared as the 32 bytes they encode (SigV4 writes lowercase hex; nothing else is
        // accepted), without formatting the expected one.
        let sent = signing::signature_bytes(&p.signature).ok_or(AuthError::BadSignature)?;
        let expected = signing::expected_signature(method, uri, headers, body, &p, key, &sent)
            .ok_or(AuthError::BadSignature)?;
        if bool::from(expected.ct_eq(&sent)) {
            Ok(&key.account)
        } else {
            Err(AuthError::BadSignature)
        }
    }
}

/// Compares secrets (signatures, tokens) without leaking through timing how much matched.
fn constant_time_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}
