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

pub fn mint(key: &[u8], claims: &Claims) -> String {
    let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let sig = B64.encode(sign(key, payload.as_bytes()));
    format!("{payload}.{sig}")
}

pub fn verify(key: &[u8], token: &str) -> Result<Claims, TokenError> {
    let (payload, sig) = token.split_once('.').ok_or(TokenError::Corrupted)?;
    let sig = B64.decode(sig).map_err(|_| TokenError::Corrupted)?;
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| TokenError::Corrupted)?;
    mac.update(payload.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&sig).map_err(|_| TokenError::Corrupted)?;
    let raw = B64.decode(payload).map_err(|_| TokenError::Corrupted)?;
    serde_json::from_slice(&raw).map_err(|_| TokenError::Corrupted)
}

fn sign(key: &[u8], data: &[u8]) -> Vec<u8> {
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
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

    #[test]
    fn round_trip() {
        let t = mint(b"key", &claims());
        assert_eq!(verify(b"key", &t), Ok(claims()));
    }

    #[test]
    fn tampering_and_garbage_are_corrupted() {
        let t = mint(b"key", &claims());
        assert_eq!(verify(b"other", &t), Err(TokenError::Corrupted));
        let (p, s) = t.split_once('.').unwrap();
        let mut forged = claims();
        forged.last = "d9".into();
        let forged_payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            verify(b"key", &format!("{forged_payload}.{s}")),
            Err(TokenError::Corrupted)
        );
        assert_eq!(verify(b"key", p), Err(TokenError::Corrupted));
        assert_eq!(verify(b"key", "!!!"), Err(TokenError::Corrupted));
    }
}
