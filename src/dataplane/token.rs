//! Configuration tokens: opaque to clients, tamper-proof (HMAC-SHA256 with a server key kept in
//! the store, so every node shares it and it survives restarts), and self-contained: a token
//! carries its session and what that session last received, so any node can answer any poll
//! with no per-poll database access.
//!
//! Format (version 1): base64url(claims ‖ tag), where claims is a compact binary encoding
//! (a version byte, three integers, six length-prefixed strings) and tag the HMAC-SHA256 of
//! the claims. Every poll verifies one token and mints the next, so the encoding is binary
//! rather than JSON. Tokens minted before version 1 (base64 JSON, a dot, base64 tag) are still
//! accepted, so clients polling across an upgrade carry on.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 1;
const TAG_LEN: usize = 32;

/// A token's content. The strings borrow from the decoded token where they can: a poll reads
/// one token and writes the next without copying them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims<'a> {
    /// Session id: the client's stable identity for rollout bucketing.
    pub s: Cow<'a, str>,
    pub account: Cow<'a, str>,
    pub app: Cow<'a, str>,
    pub env: Cow<'a, str>,
    pub profile: Cow<'a, str>,
    /// Poll interval the client asked for, in (unscaled) seconds.
    pub interval: i64,
    /// Wall ms after which the token may be used (0 for an initial token).
    pub not_before: i64,
    /// Wall ms after which the token is expired.
    pub expires: i64,
    /// Identity of the configuration last delivered to this session ("" = none yet).
    pub last: Cow<'a, str>,
}

impl<'a> Claims<'a> {
    fn into_owned(self) -> Claims<'static> {
        let own = |c: Cow<'a, str>| Cow::Owned(c.into_owned());
        Claims {
            s: own(self.s),
            account: own(self.account),
            app: own(self.app),
            env: own(self.env),
            profile: own(self.profile),
            interval: self.interval,
            not_before: self.not_before,
            expires: self.expires,
            last: own(self.last),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) -> Option<()> {
        out.push(VERSION);
        out.extend_from_slice(&self.interval.to_be_bytes());
        out.extend_from_slice(&self.not_before.to_be_bytes());
        out.extend_from_slice(&self.expires.to_be_bytes());
        for s in [
            &self.s,
            &self.account,
            &self.app,
            &self.env,
            &self.profile,
            &self.last,
        ] {
            out.push(u8::try_from(s.len()).ok()?);
            out.extend_from_slice(s.as_bytes());
        }
        Some(())
    }

    fn decode(mut raw: &'a [u8]) -> Option<Claims<'a>> {
        fn int(raw: &mut &[u8]) -> Option<i64> {
            let (head, rest) = raw.split_first_chunk::<8>()?;
            *raw = rest;
            Some(i64::from_be_bytes(*head))
        }
        fn string<'a>(raw: &mut &'a [u8]) -> Option<Cow<'a, str>> {
            let (len, rest) = raw.split_first()?;
            let (s, rest) = rest.split_at_checked(usize::from(*len))?;
            *raw = rest;
            std::str::from_utf8(s).ok().map(Cow::Borrowed)
        }
        let (version, rest) = raw.split_first()?;
        if *version != VERSION {
            return None;
        }
        raw = rest;
        let (interval, not_before, expires) = (int(&mut raw)?, int(&mut raw)?, int(&mut raw)?);
        let claims = Claims {
            interval,
            not_before,
            expires,
            s: string(&mut raw)?,
            account: string(&mut raw)?,
            app: string(&mut raw)?,
            env: string(&mut raw)?,
            profile: string(&mut raw)?,
            last: string(&mut raw)?,
        };
        raw.is_empty().then_some(claims)
    }
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
        let mut raw = Vec::with_capacity(160);
        // Only strings over 255 bytes fail to encode; claims hold ids, never user text.
        if claims.encode(&mut raw).is_none() {
            return String::new();
        }
        let mut mac = self.mac.clone();
        mac.update(&raw);
        raw.extend_from_slice(&mac.finalize().into_bytes());
        B64.encode(raw)
    }

    /// The claims of a genuine token, decoded into `scratch` (which they borrow from).
    pub fn verify<'t>(
        &self,
        token: &str,
        scratch: &'t mut Vec<u8>,
    ) -> Result<Claims<'t>, TokenError> {
        if token.contains('.') {
            return self.verify_legacy(token);
        }
        B64.decode_vec(token, scratch)
            .map_err(|_| TokenError::Corrupted)?;
        let raw = &scratch[..];
        let split = raw
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(TokenError::Corrupted)?;
        let (claims, tag) = raw.split_at(split);
        let mut mac = self.mac.clone();
        mac.update(claims);
        // Constant-time comparison.
        mac.verify_slice(tag).map_err(|_| TokenError::Corrupted)?;
        Claims::decode(claims).ok_or(TokenError::Corrupted)
    }

    /// Tokens minted before the binary format: base64(JSON claims) "." base64(tag).
    fn verify_legacy(&self, token: &str) -> Result<Claims<'static>, TokenError> {
        let (payload, sig) = token.split_once('.').ok_or(TokenError::Corrupted)?;
        let sig = B64.decode(sig).map_err(|_| TokenError::Corrupted)?;
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).map_err(|_| TokenError::Corrupted)?;
        let raw = B64.decode(payload).map_err(|_| TokenError::Corrupted)?;
        serde_json::from_slice::<Claims<'_>>(&raw)
            .map(Claims::into_owned)
            .map_err(|_| TokenError::Corrupted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims<'static> {
        Claims {
            s: "abc".into(),
            account: "000000000000".into(),
            app: "a".into(),
            env: "e".into(),
            profile: "p".into(),
            interval: 60,
            not_before: 0,
            expires: 10,
            last: "".into(),
        }
    }

    fn signer(key: &[u8]) -> Signer {
        Signer::new(key).unwrap()
    }

    #[test]
    fn round_trip() {
        let t = signer(b"key").mint(&claims());
        assert_eq!(signer(b"key").verify(&t, &mut Vec::new()), Ok(claims()));
        let mut long = claims();
        long.last = "x".repeat(255).into();
        long.not_before = -1;
        let t = signer(b"key").mint(&long);
        assert_eq!(signer(b"key").verify(&t, &mut Vec::new()), Ok(long));
    }

    #[test]
    fn tampering_and_garbage_are_corrupted() {
        let key = signer(b"key");
        let t = key.mint(&claims());
        assert_eq!(
            signer(b"other").verify(&t, &mut Vec::new()),
            Err(TokenError::Corrupted)
        );
        let mut raw = B64.decode(&t).unwrap();
        for i in 0..raw.len() {
            raw[i] ^= 1;
            assert_eq!(
                key.verify(&B64.encode(&raw), &mut Vec::new()),
                Err(TokenError::Corrupted)
            );
            raw[i] ^= 1;
        }
        assert_eq!(
            key.verify(&B64.encode(&raw[..raw.len() - 1]), &mut Vec::new()),
            Err(TokenError::Corrupted)
        );
        assert_eq!(key.verify("", &mut Vec::new()), Err(TokenError::Corrupted));
        assert_eq!(
            key.verify("!!!", &mut Vec::new()),
            Err(TokenError::Corrupted)
        );
        assert_eq!(
            key.verify("a.b", &mut Vec::new()),
            Err(TokenError::Corrupted)
        );
    }

    #[test]
    fn legacy_json_tokens_are_still_accepted() {
        let key = signer(b"key");
        let payload = B64.encode(serde_json::to_vec(&claims()).unwrap());
        let mut mac = key.mac.clone();
        mac.update(payload.as_bytes());
        let sig = B64.encode(mac.finalize().into_bytes());
        assert_eq!(
            key.verify(&format!("{payload}.{sig}"), &mut Vec::new()),
            Ok(claims())
        );
        let mut forged = claims();
        forged.last = "d9".into();
        let forged_payload = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            key.verify(&format!("{forged_payload}.{sig}"), &mut Vec::new()),
            Err(TokenError::Corrupted)
        );
    }

    #[test]
    fn decoding_never_panics_on_any_prefix() {
        let mut raw = Vec::new();
        claims().encode(&mut raw).unwrap();
        for n in 0..raw.len() {
            assert!(Claims::decode(&raw[..n]).is_none());
        }
    }
}
