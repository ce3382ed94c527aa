//! Configuration tokens: opaque to clients, tamper-proof (HMAC-SHA256 with a server key kept in
//! the store, so every node shares it and it survives restarts), and self-contained: a token
//! carries its session and what that session last received, so any node can answer any poll
//! with no per-poll database access.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// Session id: the client's stable identity for rollout bucketing.
    pub s: String,
    pub account: String,
    pub app: String,
    pub env: String,
    pub profile: String,
    /// Poll interval the client asked for, in (unscaled) seconds.
    pub interval: i64,
    /// Wall ms after which the token may be used (0 for an initial token).
    pub not_before: i64,
    /// Wall ms after which the token is expired.
    pub expires: i64,
    /// Identity of the configuration last delivered to this session ("" = none yet).
    pub last: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TokenError {
    Corrupted,
}

/// Signs and verifies tokens with one key. The keyed HMAC state is computed once and cloned
/// per token (cheaper than re-keying on every poll).
#[derive(Clone)]
pub struct Signer {
    mac: HmacSha256,
}

impl Signer {
    pub fn new(key: &[u8]) -> Option<Self> {
        HmacSha256::new_from_slice(key)
            .ok()
            .map(|mac| Signer { mac })
    }

    pub fn mint(&self, claims: &Claims) -> String {
        let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        let sig = B64.encode(mac.finalize().into_bytes());
        format!("{payload}.{sig}")
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let (payload, sig) = token.split_once('.').ok_or(TokenError::Corrupted)?;
        let sig = B64.decode(sig).map_err(|_| TokenError::Corrupted)?;
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&sig).map_err(|_| TokenError::Corrupted)?;
        let raw = B64.decode(payload).map_err(|_| TokenError::Corrupted)?;
        serde_json::from_slice(&raw).map_err(|_| TokenError::Corrupted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            s: "abc".into(),
            account: "000000000000".into(),
            app: "a".into(),
            env: "e".into(),
            profile: "p".into(),
            interval: 60,
            not_before: 0,
            expires: 10,
            last: String::new(),
        }
    }

    fn signer(key: &[u8]) -> Signer {
        Signer::new(key).unwrap()
    }

    #[test]
    fn round_trip() {
        let t = signer(b"key").mint(&claims());
        assert_eq!(signer(b"key").verify(&t), Ok(claims()));
    }

    #[test]
    fn tampering_and_garbage_are_corrupted() {
        let key = signer(b"key");
        let t = key.mint(&claims());
        assert_eq!(signer(b"other").verify(&t), Err(TokenError::Corrupted));
        let (p, s) = t.split_once('.').unwrap();
        let mut forged = claims();
        forged.last = "d9".into();
        let forged_payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            key.verify(&format!("{forged_payload}.{s}")),
            Err(TokenError::Corrupted)
        );
        assert_eq!(key.verify(p), Err(TokenError::Corrupted));
        assert_eq!(key.verify("!!!"), Err(TokenError::Corrupted));
    }
}
