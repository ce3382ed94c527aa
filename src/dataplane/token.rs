//! Configuration tokens: opaque to clients, tamper-proof (HMAC-SHA256 with a server key kept in
//! the store, so every node shares it and it survives restarts), and self-contained: a token
//! carries its session and what that session last received, so any node can answer any poll
//! with no per-poll database access.
//!
//! Format (version 2): base64url(claims ‖ tag), where claims is a compact binary encoding
//! (a version byte, three zigzag varints, six length-prefixed strings) and tag the first 16
//! bytes of the HMAC-SHA256 of the claims. Every poll verifies one token and mints the next,
//! and hyper, base64 and UTF-8 checks all cost per byte, so the token is kept short. Tokens of
//! version 1 (big-endian i64s, the full 32-byte tag) and those minted before it (base64 JSON,
//! a dot, base64 tag) are still accepted, so clients polling across an upgrade carry on.

use std::borrow::Cow;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 2;
/// HMAC-SHA256 truncated to its leftmost 128 bits (RFC 2104 allows truncation to half the
/// output; forging one still takes 2^128 guesses).
const TAG_LEN: usize = 16;
/// Version 1: the same claims with big-endian i64s and the full tag.
const V1: u8 = 1;
const V1_TAG_LEN: usize = 32;

/// Reads one of the claims' integers, advancing past it.
type ReadInt = fn(&mut &[u8]) -> Option<i64>;

/// The binary versions accepted, by their first byte: the tag's length and how the integers
/// are read. The one place that knows how versions differ.
fn format(version: u8) -> Option<(usize, ReadInt)> {
    match version {
        VERSION => Some((TAG_LEN, read_varint)),
        V1 => Some((V1_TAG_LEN, read_i64)),
        _ => None,
    }
}

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
        for n in [self.interval, self.not_before, self.expires] {
            varint(n, out);
        }
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

    fn decode(raw: &'a [u8]) -> Option<Claims<'a>> {
        let (version, mut raw) = raw.split_first()?;
        let (_, int) = format(*version)?;
        let (interval, not_before, expires) = (int(&mut raw)?, int(&mut raw)?, int(&mut raw)?);
        // The six strings' bounds first, then one UTF-8 check over all of them (their length
        // bytes are ASCII when under 128, as ids are), not six.
        let mut bounds = [(0, 0); 6];
        let mut at = 0;
        for b in &mut bounds {
            let len = usize::from(*raw.get(at)?);
            *b = (at + 1, at + 1 + len);
            at += 1 + len;
        }
        if at != raw.len() {
            return None;
        }
        let text = std::str::from_utf8(raw);
        let string = |(from, to): (usize, usize)| -> Option<Cow<'a, str>> {
            match text {
                // A length byte is a char of its own, so every bound is a char boundary.
                Ok(text) => text.get(from..to),
                Err(_) => std::str::from_utf8(&raw[from..to]).ok(),
            }
            .map(Cow::Borrowed)
        };
        let [s, account, app, env, profile, last] = bounds.map(string);
        Some(Claims {
            interval,
            not_before,
            expires,
            s: s?,
            account: account?,
            app: app?,
            env: env?,
            profile: profile?,
            last: last?,
        })
    }
}

/// A signed integer as a zigzag LEB128 varint: the times (ms since 1970) take 6 bytes, not 8,
/// and the interval 1 or 2.
fn varint(n: i64, out: &mut Vec<u8>) {
    let mut z = ((n << 1) ^ (n >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

fn read_varint(raw: &mut &[u8]) -> Option<i64> {
    let mut z: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (b, rest) = raw.split_first()?;
        *raw = rest;
        z |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(((z >> 1) as i64) ^ -((z & 1) as i64));
        }
    }
    None
}

fn read_i64(raw: &mut &[u8]) -> Option<i64> {
    let (head, rest) = raw.split_first_chunk::<8>()?;
    *raw = rest;
    Some(i64::from_be_bytes(*head))
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
        raw.extend_from_slice(&mac.finalize().into_bytes()[..TAG_LEN]);
        B64.encode(raw)
    }

    /// The claims of a genuine token, decoded into `scratch` (which they borrow from).
    pub fn verify<'t>(
        &self,
        token: &str,
        scratch: &'t mut Vec<u8>,
    ) -> Result<Claims<'t>, TokenError> {
        // The base64url alphabet has no '.', so a legacy token fails this decoding.
        if B64.decode_vec(token, scratch).is_err() {
            return match token.contains('.') {
                true => self.verify_legacy(token),
                false => Err(TokenError::Corrupted),
            };
        }
        let raw = &scratch[..];
        let (tag_len, _) = raw
            .first()
            .and_then(|v| format(*v))
            .ok_or(TokenError::Corrupted)?;
        let split = raw
            .len()
            .checked_sub(tag_len)
            .ok_or(TokenError::Corrupted)?;
        let (claims, tag) = raw.split_at(split);
        let mut mac = self.mac.clone();
        mac.update(claims);
        // Constant-time comparison (of the leftmost bytes: the whole tag for version 1).
        mac.verify_truncated_left(tag)
            .map_err(|_| TokenError::Corrupted)?;
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
    fn integers_round_trip_at_their_extremes() {
        for n in [
            0,
            1,
            -1,
            63,
            64,
            -64,
            -65,
            1_800_000_000_000,
            i64::MAX,
            i64::MIN,
        ] {
            let mut out = Vec::new();
            varint(n, &mut out);
            let mut raw = &out[..];
            assert_eq!(read_varint(&mut raw), Some(n));
            assert!(raw.is_empty());
        }
        // Ten continuation bytes never end: not an integer.
        assert_eq!(read_varint(&mut &[0xff; 10][..]), None);
    }

    /// What version 1 minted: big-endian i64s and the whole 32-byte tag.
    fn v1_token(key: &Signer, c: &Claims) -> String {
        let mut raw = vec![V1];
        for n in [c.interval, c.not_before, c.expires] {
            raw.extend_from_slice(&n.to_be_bytes());
        }
        for s in [&c.s, &c.account, &c.app, &c.env, &c.profile, &c.last] {
            raw.push(s.len() as u8);
            raw.extend_from_slice(s.as_bytes());
        }
        let mut mac = key.mac.clone();
        mac.update(&raw);
        raw.extend_from_slice(&mac.finalize().into_bytes());
        B64.encode(raw)
    }

    #[test]
    fn version_1_tokens_are_still_accepted_with_their_whole_tag() {
        let key = signer(b"key");
        let t = v1_token(&key, &claims());
        assert_eq!(key.verify(&t, &mut Vec::new()), Ok(claims()));
        // Its tag cut to version 2's length is not enough.
        let raw = B64.decode(&t).unwrap();
        let cut = B64.encode(&raw[..raw.len() - (V1_TAG_LEN - TAG_LEN)]);
        assert_eq!(
            key.verify(&cut, &mut Vec::new()),
            Err(TokenError::Corrupted)
        );
        assert_eq!(
            signer(b"other").verify(&t, &mut Vec::new()),
            Err(TokenError::Corrupted)
        );
    }

    #[test]
    fn a_typical_token_is_short() {
        let typical = Claims {
            s: "abcdefghijklmnopqrstu".into(),
            account: "123456789012".into(),
            app: "abc1234".into(),
            env: "def5678".into(),
            profile: "ghi9012".into(),
            interval: 60,
            not_before: 1_800_000_000_000,
            expires: 1_800_086_400_000,
            last: "12".into(),
        };
        // 92 bytes (version 1: 119), in base64.
        let t = signer(b"key").mint(&typical);
        assert_eq!(t.len(), 123, "{t}");
        assert_eq!(v1_token(&signer(b"key"), &typical).len(), 159);
    }

    #[test]
    fn strings_over_127_bytes_and_non_ascii_text_still_decode() {
        let mut c = claims();
        c.last = "é".repeat(100).into();
        c.profile = "ü".into();
        let t = signer(b"key").mint(&c);
        assert_eq!(signer(b"key").verify(&t, &mut Vec::new()), Ok(c));
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
