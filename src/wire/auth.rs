//! Authentication: who is calling, and so which account's resources a request sees.
//!
//! With `--credentials FILE` every request must carry a valid AWS Signature Version 4, in the
//! `Authorization` header or as a presigned query string. The expected signature is computed
//! with `aws-sigv4` (the signer the Rust SDK itself uses) over the canonical request the client
//! built: the same method, path, query, the headers the client listed in `SignedHeaders`, and
//! the payload hash; it is then compared in constant time. Without a credentials file the
//! server is an emulator: any request is accepted, as the configured default account.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use http::HeaderMap;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

/// Both AppConfig and AppConfigData sign as `appconfig`.
const SERVICE: &str = "appconfig";
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// How far a request's X-Amz-Date may be from the server's clock (AWS: 15 minutes).
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);
/// Longest presigned URL lifetime SigV4 allows (7 days).
const MAX_PRESIGN_SECONDS: u64 = 7 * 24 * 3600;

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

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read credentials file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid credentials file {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Why a request is refused. Each maps to the error AWS sends (all 403).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No Authorization header and no presigned query.
    Missing,
    /// An Authorization header or presigned query that is not a complete SigV4 signature.
    Incomplete(String),
    /// The access key is not in the credentials file.
    UnknownKey,
    /// The signature does not match.
    BadSignature,
    /// The request is outside the clock-skew window, or a presigned URL has expired.
    Expired(String),
    /// A signing mode this service does not take (aws-chunked streaming payloads).
    Unsupported(String),
}

impl AuthError {
    pub fn type_name(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationTokenException",
            AuthError::Incomplete(_) => "IncompleteSignatureException",
            AuthError::UnknownKey => "UnrecognizedClientException",
            AuthError::BadSignature | AuthError::Expired(_) => "InvalidSignatureException",
            AuthError::Unsupported(_) => "BadRequestException",
        }
    }

    pub fn message(&self) -> String {
        match self {
            AuthError::Missing => "Missing Authentication Token".into(),
            AuthError::Incomplete(m) | AuthError::Expired(m) | AuthError::Unsupported(m) => {
                m.clone()
            }
            AuthError::UnknownKey => "The security token included in the request is invalid.".into(),
            AuthError::BadSignature => "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.".into(),
        }
    }
}

impl From<AuthError> for crate::domain::error::Error {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unsupported(m) => crate::domain::error::Error::bad_request(m),
            e => crate::domain::error::Error::Unauthenticated {
                kind: e.type_name(),
                message: e.message(),
            },
        }
    }
}

pub struct Key {
    secret: String,
    account: String,
}

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

/// A SigV4 signature as sent, before it is checked.
#[derive(Debug, PartialEq)]
pub struct Presented {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// X-Amz-Date (both forms) as given.
    pub timestamp: String,
    /// Presigned URLs: their X-Amz-Expires.
    pub expires: Option<u64>,
}

impl Authenticator {
    pub fn anonymous(account: String, agent_token: Option<String>) -> Self {
        Authenticator::Anonymous {
            account,
            agent_token,
        }
    }

    /// Keys given directly as (access key id, secret, account): for tests and fuzzing.
    pub fn with_keys<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Self {
        let keys = entries
            .into_iter()
            .map(|(ak, secret, account)| {
                (
                    ak.to_string(),
                    Key {
                        secret: secret.to_string(),
                        account: account.to_string(),
                    },
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
            let key = Key {
                secret: k.secret_access_key,
                account: k.account_id,
            };
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
    pub fn precheck(
        &self,
        uri: &http::Uri,
        headers: &HeaderMap,
        now: SystemTime,
    ) -> Result<Prechecked<'_>, AuthError> {
        let keys = match self {
            Authenticator::Anonymous { account, .. } => return Ok(Prechecked::Known(account)),
            Authenticator::Keys { keys, .. } => keys,
        };
        let presented = presented(uri, headers)?;
        let key = keys
            .get(&presented.access_key)
            .ok_or(AuthError::UnknownKey)?;
        let signed_at = check_time(&presented, now)?;
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
        self.precheck(uri, headers, now)?
            .verify(method, uri, headers, body)
    }

    /// The agent-compatible read path: `Authorization: Bearer T`. Returns the account, or
    /// `None` when the request must be refused. With credentials, a SigV4-signed request is
    /// accepted too (checked by the caller through `authenticate`).
    pub fn agent_account(&self, headers: &HeaderMap) -> AgentAuth<'_> {
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match self {
            Authenticator::Anonymous {
                account,
                agent_token,
            } => match agent_token {
                Some(t)
                    if bearer.map(|b| b.as_bytes().ct_eq(t.as_bytes()).into()) != Some(true) =>
                {
                    AgentAuth::Refused
                }
                _ => AgentAuth::Account(account),
            },
            Authenticator::Keys { agent_tokens, .. } => {
                if let Some(b) = bearer {
                    // Walk every token (constant time per token) rather than stop early.
                    let mut found = None;
                    for (t, account) in agent_tokens {
                        if bool::from(t.as_bytes().ct_eq(b.as_bytes())) {
                            found = Some(account.as_str());
                        }
                    }
                    return found.map_or(AgentAuth::Refused, AgentAuth::Account);
                }
                AgentAuth::Signed
            }
        }
    }
}

/// A request that passed `Authenticator::precheck`: the caller as far as known before the body.
pub enum Prechecked<'a> {
    /// An account established without a signature (emulator mode, or an agent bearer token).
    Known(&'a str),
    Signed {
        presented: Presented,
        key: &'a Key,
        signed_at: SystemTime,
    },
}

impl Prechecked<'_> {
    /// Checks the signature over the whole request (body included) and returns the account.
    pub fn verify(
        self,
        method: &http::Method,
        uri: &http::Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<String, AuthError> {
        let (p, key, time) = match self {
            Prechecked::Known(account) => return Ok(account.to_string()),
            Prechecked::Signed {
                presented,
                key,
                signed_at,
            } => (presented, key, signed_at),
        };
        let expected = expected_signature(method, uri, headers, body, &p, key, time)
            .ok_or(AuthError::BadSignature)?;
        if bool::from(expected.as_bytes().ct_eq(p.signature.as_bytes())) {
            Ok(key.account.clone())
        } else {
            Err(AuthError::BadSignature)
        }
    }
}

pub enum AgentAuth<'a> {
    Account(&'a str),
    /// No bearer token: the request must carry a SigV4 signature instead.
    Signed,
    Refused,
}

/// Reads the signature from the Authorization header or the presigned query.
pub fn presented(uri: &http::Uri, headers: &HeaderMap) -> Result<Presented, AuthError> {
    if let Some(auth) = headers.get(http::header::AUTHORIZATION) {
        let auth = auth
            .to_str()
            .map_err(|_| AuthError::Incomplete("The Authorization header is not valid.".into()))?;
        return parse_authorization(auth, headers);
    }
    let params = super::input::parse_query(uri.query());
    if !params.contains_key("X-Amz-Signature") && !params.contains_key("X-Amz-Credential") {
        return Err(AuthError::Missing);
    }
    let get = |name: &str| {
        params.get(name).and_then(|v| v.first()).cloned().ok_or_else(|| {
            AuthError::Incomplete(format!(
                "AWS query-string parameters must include '{name}'. Re-examine the query-string parameters."
            ))
        })
    };
    if get("X-Amz-Algorithm")? != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': X-Amz-Algorithm must be {ALGORITHM}."
        )));
    }
    let credential = get("X-Amz-Credential")?;
    let expires = get("X-Amz-Expires")?
        .parse::<u64>()
        .ok()
        .filter(|e| *e <= MAX_PRESIGN_SECONDS)
        .ok_or_else(|| {
            AuthError::Incomplete(format!(
                "X-Amz-Expires must be a number of seconds between 0 and {MAX_PRESIGN_SECONDS}."
            ))
        })?;
    let (access_key, date, region, service) = parse_credential(&credential)?;
    Ok(Presented {
        access_key,
        date,
        region,
        service,
        signed_headers: get("X-Amz-SignedHeaders")?
            .split(';')
            .map(str::to_string)
            .collect(),
        signature: get("X-Amz-Signature")?,
        timestamp: get("X-Amz-Date")?,
        expires: Some(expires),
    })
}

fn parse_authorization(auth: &str, headers: &HeaderMap) -> Result<Presented, AuthError> {
    let Some(rest) = auth.strip_prefix(ALGORITHM) else {
        return Err(AuthError::Incomplete(format!(
            "Authorization header requires the {ALGORITHM} scheme. Authorization={auth}"
        )));
    };
    let mut parts: HashMap<&str, &str> = HashMap::new();
    for piece in rest.split(',') {
        if let Some((k, v)) = piece.trim().split_once('=') {
            parts.insert(k.trim(), v.trim());
        }
    }
    let need = |name: &str| {
        parts.get(name).copied().ok_or_else(|| {
            AuthError::Incomplete(format!(
                "Authorization header requires '{name}' parameter. Authorization={auth}"
            ))
        })
    };
    let (access_key, date, region, service) = parse_credential(need("Credential")?)?;
    let signed_headers: Vec<String> = need("SignedHeaders")?
        .split(';')
        .map(str::to_string)
        .collect();
    let signature = need("Signature")?.to_string();
    let timestamp = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AuthError::Incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into(),
            )
        })?
        .to_string();
    Ok(Presented {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
        timestamp,
        expires: None,
    })
}

/// `AKID/20260101/us-east-1/appconfig/aws4_request`
fn parse_credential(c: &str) -> Result<(String, String, String, String), AuthError> {
    let parts: Vec<&str> = c.split('/').collect();
    match parts.as_slice() {
        [ak, date, region, service, "aws4_request"] if !ak.is_empty() => Ok((
            ak.to_string(),
            date.to_string(),
            region.to_string(),
            service.to_string(),
        )),
        _ => Err(AuthError::Incomplete(format!(
            "Credential should be scoped to a valid region, not a malformed scope. Credential={c}"
        ))),
    }
}

const AMZ_DATE: &[time::format_description::FormatItem<'static>] =
    time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");

fn check_time(p: &Presented, now: SystemTime) -> Result<SystemTime, AuthError> {
    let at = time::PrimitiveDateTime::parse(&p.timestamp, AMZ_DATE)
        .map_err(|_| {
            AuthError::Incomplete(format!(
                "X-Amz-Date must be in the ISO8601 basic format (yyyyMMddTHHmmssZ): {}",
                p.timestamp
            ))
        })?
        .assume_utc();
    let at_sys = SystemTime::from(at);
    let fmt = |t: SystemTime| OffsetDateTime::from(t).format(AMZ_DATE).unwrap_or_default();
    // A date in the future is refused alike for both forms.
    if at_sys > now + MAX_SKEW {
        return Err(AuthError::Expired(format!(
            "Signature not yet current: {} is still later than {} ({} + 15 min.)",
            p.timestamp,
            fmt(now + MAX_SKEW),
            fmt(now)
        )));
    }
    match p.expires {
        // Presigned: valid from its date for X-Amz-Expires seconds.
        Some(expires) if at_sys + Duration::from_secs(expires) < now => {
            Err(AuthError::Expired(format!(
                "Signature expired: {} is now earlier than {} ({} - {expires} sec.)",
                fmt(at_sys + Duration::from_secs(expires)),
                fmt(now),
                p.timestamp
            )))
        }
        // Header: within 15 minutes of the server's clock.
        None if at_sys + MAX_SKEW < now => Err(AuthError::Expired(format!(
            "Signature expired: {} is now earlier than {} ({} - 15 min.)",
            p.timestamp,
            fmt(now - MAX_SKEW),
            fmt(now)
        ))),
        _ => Ok(at_sys),
    }
}

/// The signature this request should carry, or `None` when it cannot be computed (the
/// request is then refused as a bad signature).
fn expected_signature(
    method: &http::Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    p: &Presented,
    key: &Key,
    time: SystemTime,
) -> Option<String> {
    // The scope's date must be the signing date, and the service ours.
    if !p.timestamp.starts_with(&p.date) || p.service != SERVICE {
        return None;
    }
    let host = headers.get(http::header::HOST)?.to_str().ok()?;
    // The query as signed: without the presigning parameters, which the signer adds back.
    let query = uri.query().map(|q| {
        q.split('&')
            .filter(|kv| {
                let name = kv.split('=').next().unwrap_or_default();
                !(p.expires.is_some()
                    && matches!(
                        name,
                        "X-Amz-Algorithm"
                            | "X-Amz-Credential"
                            | "X-Amz-Date"
                            | "X-Amz-Expires"
                            | "X-Amz-SignedHeaders"
                            | "X-Amz-Signature"
                    ))
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    let url = match query.as_deref() {
        Some(q) if !q.is_empty() => format!("http://{host}{}?{q}", uri.path()),
        _ => format!("http://{host}{}", uri.path()),
    };
    // Exactly the headers the client signed, as sent (`host` too, so the signer does not
    // derive it from the URL); header-form `x-amz-date` is added by the signer from the time.
    let mut signed: Vec<(&str, &str)> = Vec::new();
    for name in &p.signed_headers {
        if p.expires.is_none() && name == "x-amz-date" {
            continue;
        }
        let values = headers.get_all(name.as_str());
        let mut any = false;
        for v in values {
            // Not `to_str`: values may be UTF-8 (e.g. a Version-Label), signed as bytes.
            signed.push((name.as_str(), std::str::from_utf8(v.as_bytes()).ok()?));
            any = true;
        }
        if !any {
            return None;
        }
    }
    // The signer always signs host and x-amz-date; a client that left them out signed
    // something else, which cannot match.
    let signs = |name: &str| p.signed_headers.iter().any(|h| h == name);
    if !signs("host") || (p.expires.is_none() && !signs("x-amz-date")) {
        return None;
    }
    // The payload hash is always the body's, except where the client declared it unsigned.
    // (A declared hex hash that differs from the body's fails, as a tampered body should.)
    let payload_hash = match headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
    {
        Some(h @ "UNSIGNED-PAYLOAD") => h.to_string(),
        _ => hex(&Sha256::digest(body)),
    };
    let identity = aws_credential_types::Credentials::new(
        p.access_key.clone(),
        key.secret.clone(),
        None,
        None,
        "appconfigd",
    )
    .into();
    let mut settings = SigningSettings::default();
    settings.excluded_headers = None;
    if let Some(expires) = p.expires {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(expires));
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&p.region)
        .name(SERVICE)
        .time(time)
        .settings(settings)
        .build()
        .ok()?
        .into();
    let sign_with = |hash: String| -> Option<String> {
        let signable = SignableRequest::new(
            method.as_str(),
            url.as_str(),
            signed.iter().copied(),
            SignableBody::Precomputed(hash),
        )
        .ok()?;
        let (_, signature) = sign(signable, &params).ok()?.into_parts();
        Some(signature)
    };
    if p.expires.is_none() {
        return sign_with(payload_hash);
    }
    // Presigned URLs sign either UNSIGNED-PAYLOAD (botocore, hence boto3 and the CLI) or the
    // body's hash, and say nothing about which: try the common one first.
    let unsigned = sign_with("UNSIGNED-PAYLOAD".into())?;
    if bool::from(unsigned.as_bytes().ct_eq(p.signature.as_bytes())) {
        return Some(unsigned);
    }
    sign_with(payload_hash)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Authenticator {
        let mut keys = HashMap::new();
        keys.insert(
            "AKIDEXAMPLE".to_string(),
            Key {
                secret: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
                account: "111111111111".into(),
            },
        );
        Authenticator::Keys {
            keys,
            agent_tokens: vec![],
        }
    }

    /// Signs a request the way the SDKs do, with aws-sigv4 in its default settings.
    fn signed(
        method: &str,
        url: &str,
        body: &[u8],
        at: SystemTime,
        secret: &str,
    ) -> (http::Uri, HeaderMap) {
        let identity =
            aws_credential_types::Credentials::new("AKIDEXAMPLE", secret, None, None, "t").into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("appconfig")
            .time(at)
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let uri: http::Uri = url.parse().unwrap();
        let host = uri.authority().unwrap().to_string();
        let headers = [
            ("host", host.as_str()),
            ("content-type", "application/json"),
        ];
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .unwrap();
        let (instructions, _) = sign(signable, &params).unwrap().into_parts();
        let mut req = http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let mut req = req.body(()).unwrap();
        instructions.apply_to_request_http1x(&mut req);
        let (parts, _) = req.into_parts();
        let path: http::Uri = parts
            .uri
            .path_and_query()
            .unwrap()
            .as_str()
            .parse()
            .unwrap();
        (path, parts.headers)
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn a_correct_signature_is_accepted_and_names_the_account() {
        let now = SystemTime::now();
        let url = "http://127.0.0.1:2772/tags/arn%3Aaws%3Aappconfig%3Aus-east-1%3A111111111111%3Aapplication%2Fabc?tagKeys=a&tagKeys=b%20c";
        let (uri, headers) = signed("DELETE", url, b"", now, SECRET);
        let account = keys().authenticate(&http::Method::DELETE, &uri, &headers, b"", now);
        assert_eq!(account, Ok("111111111111".into()));
    }

    #[test]
    fn tampering_is_a_bad_signature() {
        let now = SystemTime::now();
        let url = "http://127.0.0.1:2772/applications";
        let (uri, headers) = signed("POST", url, b"{\"Name\":\"a\"}", now, SECRET);
        let auth = keys();
        assert_eq!(
            auth.authenticate(
                &http::Method::POST,
                &uri,
                &headers,
                b"{\"Name\":\"b\"}",
                now
            ),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            auth.authenticate(&http::Method::PUT, &uri, &headers, b"{\"Name\":\"a\"}", now),
            Err(AuthError::BadSignature)
        );
        let (uri, headers) = signed("POST", url, b"{}", now, "wrong secret");
        assert_eq!(
            auth.authenticate(&http::Method::POST, &uri, &headers, b"{}", now),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn skew_beyond_fifteen_minutes_is_expired() {
        let now = SystemTime::now();
        let then = now - Duration::from_secs(16 * 60);
        let (uri, headers) = signed("GET", "http://h/applications", b"", then, SECRET);
        let err = keys()
            .authenticate(&http::Method::GET, &uri, &headers, b"", now)
            .unwrap_err();
        assert!(matches!(err, AuthError::Expired(m) if m.starts_with("Signature expired")));
        let later = now + Duration::from_secs(16 * 60);
        let (uri, headers) = signed("GET", "http://h/applications", b"", later, SECRET);
        assert!(matches!(
            keys().authenticate(&http::Method::GET, &uri, &headers, b"", now),
            Err(AuthError::Expired(_))
        ));
    }

    #[test]
    fn missing_unknown_and_malformed() {
        let now = SystemTime::now();
        let uri: http::Uri = "/applications".parse().unwrap();
        let auth = keys();
        let mut h = HeaderMap::new();
        assert_eq!(auth.precheck(&uri, &h, now).err(), Some(AuthError::Missing));
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=NOPE/20260101/us-east-1/appconfig/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
                .parse()
                .unwrap(),
        );
        h.insert("x-amz-date", "20260101T000000Z".parse().unwrap());
        assert_eq!(
            auth.precheck(&uri, &h, now).err(),
            Some(AuthError::UnknownKey)
        );
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Signature=00".parse().unwrap(),
        );
        assert!(matches!(
            auth.precheck(&uri, &h, now),
            Err(AuthError::Incomplete(m)) if m.contains("'Credential'")
        ));
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert!(matches!(
            auth.precheck(&uri, &h, now),
            Err(AuthError::Incomplete(_))
        ));
    }

    #[test]
    fn presigned_query_strings_verify() {
        let now = SystemTime::now();
        let identity =
            aws_credential_types::Credentials::new("AKIDEXAMPLE", SECRET, None, None, "t").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("eu-west-1")
            .name("appconfig")
            .time(now)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let url = "http://127.0.0.1:2772/applications?max_results=5";
        // botocore presigns UNSIGNED-PAYLOAD; aws-sigv4 callers may sign the body's hash.
        for body in [SignableBody::UnsignedPayload, SignableBody::Bytes(b"")] {
            let signable =
                SignableRequest::new("GET", url, [("host", "127.0.0.1:2772")].into_iter(), body)
                    .unwrap();
            let (instructions, _) = sign(signable, &params).unwrap().into_parts();
            let mut req = http::Request::builder()
                .uri(url)
                .header("host", "127.0.0.1:2772")
                .body(())
                .unwrap();
            instructions.apply_to_request_http1x(&mut req);
            let uri: http::Uri = req
                .uri()
                .path_and_query()
                .unwrap()
                .as_str()
                .parse()
                .unwrap();
            let auth = keys();
            assert_eq!(
                auth.authenticate(&http::Method::GET, &uri, req.headers(), b"", now),
                Ok("111111111111".into())
            );
            let late = now + Duration::from_secs(301);
            assert!(matches!(
                auth.authenticate(&http::Method::GET, &uri, req.headers(), b"", late),
                Err(AuthError::Expired(_))
            ));
        }
    }

    #[test]
    fn anonymous_mode_accepts_everything_as_the_default_account() {
        let auth = Authenticator::anonymous("000000000000".into(), None);
        let uri: http::Uri = "/applications".parse().unwrap();
        assert_eq!(
            auth.authenticate(
                &http::Method::GET,
                &uri,
                &HeaderMap::new(),
                b"",
                SystemTime::now()
            ),
            Ok("000000000000".into())
        );
    }
}
