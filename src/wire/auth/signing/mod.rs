//! The signature a request should carry, computed the way SigV4 specifies: the canonical request
//! rebuilt from what the client signed (method, path, query, its `SignedHeaders`, the payload
//! hash), hashed into the string to sign, and signed with the key derived from the secret for
//! the request's date and region. The derived key is cached per access key (four HMACs saved per
//! request), and the canonical request is written into one reused per-thread buffer, so a
//! verification allocates nothing. `reference.rs` computes the same with aws-sigv4; the tests
//! hold the two equal.

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::RwLock;

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Key, Presented};

/// Both AppConfig and AppConfigData sign as `appconfig`.
const SERVICE: &str = "appconfig";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const UNSIGNED: &str = "UNSIGNED-PAYLOAD";
/// Derived keys kept per access key: a client signs with one (date, region) for a day.
const CACHED_KEYS: usize = 8;

type HmacSha256 = Hmac<Sha256>;

/// Signing keys derived from one secret, by (date, region), each kept as a MAC already keyed
/// with it (cloned per request: keying costs two more SHA-256 blocks).
#[derive(Default)]
pub(super) struct DerivedKeys(RwLock<Vec<(String, String, HmacSha256)>>);

impl DerivedKeys {
    fn get(&self, secret: &str, date: &str, region: &str) -> Option<HmacSha256> {
        if let Ok(keys) = self.0.read() {
            if let Some((_, _, k)) = keys.iter().find(|(d, r, _)| d == date && r == region) {
                return Some(k.clone());
            }
        }
        let mut key = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
        for part in [region, SERVICE, "aws4_request"] {
            key = hmac(&key, part.as_bytes());
        }
        let mac = HmacSha256::new_from_slice(&key).ok()?;
        if let Ok(mut keys) = self.0.write() {
            if keys.len() >= CACHED_KEYS {
                keys.remove(0);
            }
            keys.push((date.to_string(), region.to_string(), mac.clone()));
        }
        Some(mac)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => return [0; 32],
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

thread_local! {
    /// The canonical request under construction (reused: no allocation per request).
    static CANONICAL: RefCell<String> = RefCell::new(String::with_capacity(1024));
}

/// The signature a client presents, as the 32 bytes its 64 lowercase hex digits encode.
pub(super) fn signature_bytes(hex: &str) -> Option<[u8; 32]> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let hex = hex.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// The signature this request should carry, or `None` when it cannot be computed (the
/// request is then refused as a bad signature). `sent` is the one presented, decoded
/// (`signature_bytes`): it picks which of a presigned URL's two possible payloads was signed.
pub(super) fn expected_signature(
    method: &http::Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    p: &Presented,
    key: &Key,
    sent: &[u8; 32],
) -> Option<[u8; 32]> {
    // The scope's date must be the signing date, and the service ours.
    if !p.timestamp.starts_with(p.date.as_ref()) || p.service != SERVICE {
        return None;
    }
    // Every SigV4 signer signs host, and x-amz-date unless the date is in the query; a client
    // that left them out signed something else, which cannot match.
    let signs = |name: &str| p.signed_header_names().any(|h| h == name);
    if !signs("host") || (p.expires.is_none() && !signs("x-amz-date")) {
        return None;
    }
    let declared = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok());
    let signing_key = key.derived.get(&key.secret, &p.date, &p.region)?;
    let presigned = p.expires.is_some();
    CANONICAL.with(|buffer| {
        let mut canonical = buffer.try_borrow_mut().ok()?;
        canonical.clear();
        write_canonical_request(&mut canonical, method, uri, headers, p)?;
        let without_payload = canonical.len();
        let mut sign_with = |payload_hash: &[u8]| -> [u8; 32] {
            canonical.truncate(without_payload);
            // Payload hashes are ASCII (hex, or UNSIGNED-PAYLOAD).
            canonical.push_str(std::str::from_utf8(payload_hash).unwrap_or_default());
            let scope_hash = Sha256::digest(canonical.as_bytes());
            let mut mac = signing_key.clone();
            // The string to sign, fed to the MAC piece by piece.
            for piece in [
                ALGORITHM,
                "\n",
                &p.timestamp,
                "\n",
                &p.date,
                "/",
                &p.region,
                "/",
            ] {
                mac.update(piece.as_bytes());
            }
            mac.update(SERVICE.as_bytes());
            mac.update(b"/aws4_request\n");
            mac.update(&hex(&scope_hash));
            mac.finalize().into_bytes().into()
        };
        if presigned {
            // Presigned URLs sign either the body's hash (botocore's generic presigner, hence
            // boto3 and the CLI, and smithy's) or UNSIGNED-PAYLOAD (S3-style presigners), and
            // say nothing about which: try the common one first, each try being a SHA-256 of
            // the whole canonical request and an HMAC.
            let hashed = sign_with(&payload_hash(body));
            // In constant time too: which one matched must not leak how much of it did.
            if bool::from(hashed[..].ct_eq(&sent[..])) {
                return Some(hashed);
            }
            return Some(sign_with(UNSIGNED.as_bytes()));
        }
        // The payload hash is the body's, except where the client declared it unsigned. (A
        // declared hex hash that differs from the body's fails, as a tampered body should.)
        match declared {
            Some(UNSIGNED) => Some(sign_with(UNSIGNED.as_bytes())),
            _ => Some(sign_with(&payload_hash(body))),
        }
    })
}

/// Method, path, query, headers and signed-header list, each line ended; the payload hash
/// (the last line) is appended by the caller.
fn write_canonical_request(
    out: &mut String,
    method: &http::Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    p: &Presented,
) -> Option<()> {
    out.push_str(method.as_str());
    out.push('\n');
    write_path(out, uri.path())?;
    out.push('\n');
    write_query(out, uri.query().unwrap_or_default(), p.expires.is_some())?;
    out.push('\n');
    // Headers sorted by name, as the signer sorts them (clients send them sorted already).
    let mut names: [&str; 16] = [""; 16];
    let mut count = 0;
    for name in p.signed_header_names() {
        *names.get_mut(count)? = name;
        count += 1;
    }
    let names = &mut names[..count];
    names.sort_unstable();
    for name in names.iter() {
        out.push_str(name);
        out.push(':');
        let mut any = false;
        for value in headers.get_all(*name) {
            if any {
                out.push(',');
            }
            // Not `to_str`: values may be UTF-8 (e.g. a Version-Label), signed as text.
            write_trimmed(out, std::str::from_utf8(value.as_bytes()).ok()?);
            any = true;
        }
        if !any {
            return None;
        }
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(name);
    }
    out.push('\n');
    Some(())
}

/// A header value with its ends trimmed and inner runs of spaces collapsed to one.
fn write_trimmed(out: &mut String, value: &str) {
    let mut space = false;
    for c in value.trim().chars() {
        if c == ' ' {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
}

/// RFC 3986's unreserved characters, the only ones SigV4 leaves unencoded.
fn unreserved(b: u8) -> bool {
    UNRESERVED[usize::from(b)]
}

/// `unreserved` as a table: every byte of a presigned query goes through it.
static UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~');
        b += 1;
    }
    table
};

fn push_encoded(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(HEX[usize::from(b >> 4)] as char);
    out.push(HEX[usize::from(b & 15)] as char);
}

/// The path as sent, with dot segments and empty segments removed, encoded once more (`%` →
/// `%25`), as AWS signs for every service but S3.
fn write_path(out: &mut String, path: &str) -> Option<()> {
    let normalized;
    let path = if path.contains("/.") || path.contains("//") || !path.starts_with('/') {
        normalized = normalize_path(path);
        normalized.as_str()
    } else {
        path
    };
    for &b in path.as_bytes() {
        if unreserved(b) || b == b'/' {
            out.push(b as char);
        } else {
            push_encoded(out, b);
        }
    }
    Some(())
}

/// RFC 3986 §5.2.4 (remove dot segments), dropping empty segments, keeping a trailing slash.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in crate::query::split_at(path, b'/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut result = String::with_capacity(path.len() + 1);
    for segment in &segments {
        result.push('/');
        result.push_str(segment);
    }
    let trailing = ["/", "/.", "/./", "/..", "/../"]
        .iter()
        .any(|end| path.ends_with(end));
    if result.is_empty() || (trailing && !result.ends_with('/')) {
        result.push('/');
    }
    result
}

/// The query's parameters form-decoded, each name and value re-encoded (unreserved kept), sorted
/// by encoded name then value; for a presigned URL without its `X-Amz-Signature`.
fn write_query(out: &mut String, query: &str, presigned: bool) -> Option<()> {
    let mut pairs: [(&str, &str); 32] = [("", ""); 32];
    let mut count = 0;
    for (name, value) in crate::query::raw_pairs(query) {
        if presigned && name == "X-Amz-Signature" {
            continue;
        }
        *pairs.get_mut(count)? = (name, value);
        count += 1;
    }
    let pairs = &mut pairs[..count];
    let mut scratch = Vec::new();
    // With distinct names that are canonical already (their encoding is themselves), the
    // order by raw name is the order by encoded name, and each value can be re-encoded
    // straight into the buffer (the common case: no allocation but the scratch for a decoded
    // value).
    pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let distinct = pairs.windows(2).all(|w| w[0].0 != w[1].0);
    if distinct && pairs.iter().all(|(n, _)| canonical(n)) {
        for (i, (name, value)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            out.push_str(name);
            out.push('=');
            reencode_into(out, value, &mut scratch);
        }
        return Some(());
    }
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| {
            let (mut name, mut value) = (String::new(), String::new());
            reencode_into(&mut name, n, &mut scratch);
            reencode_into(&mut value, v, &mut scratch);
            (name, value)
        })
        .collect();
    encoded.sort_unstable();
    for (i, (name, value)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        let _ = write!(out, "{name}={value}");
    }
    Some(())
}

/// Text already in its canonical encoding: unreserved characters, and `%XX` in uppercase hex
/// for ASCII bytes that are not (what every SDK sends: a presigned credential's `%2F`).
/// Decoding and encoding it again would give it back unchanged.
fn canonical(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let upper_hex = |j: usize| match bytes.get(j) {
                    Some(c @ b'0'..=b'9') => Some(c - b'0'),
                    Some(c @ b'A'..=b'F') => Some(c - b'A' + 10),
                    _ => None,
                };
                match (upper_hex(i + 1), upper_hex(i + 2)) {
                    (Some(h), Some(l)) if h < 8 && !unreserved(h << 4 | l) => i += 3,
                    _ => return false,
                }
            }
            b if unreserved(b) => i += 1,
            _ => return false,
        }
    }
    true
}

/// Form-decodes `raw` (`+` is a space, `%XX` a byte, a stray `%` itself; bytes that are not
/// UTF-8 become U+FFFD, as the form decoder does) and writes it encoded again, with only the
/// unreserved characters left as they are.
fn reencode_into(out: &mut String, raw: &str, scratch: &mut Vec<u8>) {
    if canonical(raw) {
        out.push_str(raw);
    } else {
        decode_and_encode(out, raw, scratch);
    }
}

/// `reencode_into` the long way, for text that is not `canonical` already.
fn decode_and_encode(out: &mut String, raw: &str, scratch: &mut Vec<u8>) {
    let bytes = raw.as_bytes();
    scratch.clear();
    let mut i = 0;
    while i < bytes.len() {
        let hex_at = |j: usize| bytes.get(j).and_then(|c| (*c as char).to_digit(16));
        match bytes[i] {
            b'+' => scratch.push(b' '),
            b'%' => match (hex_at(i + 1), hex_at(i + 2)) {
                (Some(h), Some(l)) => {
                    scratch.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => scratch.push(b'%'),
            },
            b => scratch.push(b),
        }
        i += 1;
    }
    for &b in String::from_utf8_lossy(scratch).as_bytes() {
        if unreserved(b) {
            out.push(b as char);
        } else {
            push_encoded(out, b);
        }
    }
}

/// The hex SHA-256 of a request body; that of the empty body (every GET) is a constant.
fn payload_hash(body: &[u8]) -> [u8; 64] {
    const EMPTY: &[u8; 64] = b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    if body.is_empty() {
        *EMPTY
    } else {
        hex(&Sha256::digest(body))
    }
}

/// A SHA-256 value as the 64 lowercase hex digits SigV4 writes (on the stack).
fn hex(bytes: &[u8]) -> [u8; 64] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
    out
}
