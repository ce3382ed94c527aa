//! The signature a request presents, read (not yet checked) from its SigV4 `Authorization`
//! header or, for presigned URLs, from its `X-Amz-*` query parameters.

use std::borrow::Cow;
use std::collections::HashMap;

use http::HeaderMap;

use super::AuthError;
use crate::query::decode_component;

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Longest presigned URL lifetime SigV4 allows (7 days).
const MAX_PRESIGN_SECONDS: u64 = 7 * 24 * 3600;

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

/// Reads the signature from the Authorization header or the presigned query.
pub fn presented(uri: &http::Uri, headers: &HeaderMap) -> Result<Presented, AuthError> {
    if let Some(auth) = headers.get(http::header::AUTHORIZATION) {
        let auth = auth
            .to_str()
            .map_err(|_| AuthError::Incomplete("The Authorization header is not valid.".into()))?;
        return parse_authorization(auth, headers);
    }
    let params = PresignedParams::read(uri.query().unwrap_or_default());
    if !params.signed() {
        return Err(AuthError::Missing);
    }
    parse_presigned_query(params)
}

/// The presigned URL parameters, in the order of `PRESIGNED`.
const PRESIGNED: [&str; 6] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
];
const CREDENTIAL: usize = 1;
const SIGNATURE: usize = 5;

/// The first value of each `PRESIGNED` parameter (as a map of the query would give), found in
/// one pass over the query: presigned reads are verified on every request.
struct PresignedParams<'q>([Option<Cow<'q, str>>; 6]);

impl<'q> PresignedParams<'q> {
    fn read(query: &'q str) -> Self {
        let mut found: [Option<Cow<'q, str>>; 6] = Default::default();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode_component(k);
            if let Some(i) = PRESIGNED.iter().position(|name| *name == k) {
                if found[i].is_none() {
                    found[i] = Some(decode_component(v));
                }
            }
        }
        PresignedParams(found)
    }

    /// Whether the query carries a presigned signature at all.
    fn signed(&self) -> bool {
        self.0[SIGNATURE].is_some() || self.0[CREDENTIAL].is_some()
    }

    /// Each parameter, or the error AWS answers when it is missing.
    fn required(self) -> [Result<Cow<'q, str>, AuthError>; 6] {
        let mut names = PRESIGNED.iter();
        self.0.map(|value| {
            let name = names.next().copied().unwrap_or_default();
            value.ok_or_else(|| {
                AuthError::Incomplete(format!(
                    "AWS query-string parameters must include '{name}'. Re-examine the query-string parameters."
                ))
            })
        })
    }
}

/// A presigned URL: `X-Amz-Algorithm`, `-Credential`, `-Date`, `-Expires`, `-SignedHeaders`
/// and `-Signature` in the query string.
fn parse_presigned_query(params: PresignedParams<'_>) -> Result<Presented, AuthError> {
    // Checked in this order, as the error for the first missing one is the answer.
    let [algorithm, credential, timestamp, expires, signed_headers, signature] = params.required();
    if algorithm? != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': X-Amz-Algorithm must be {ALGORITHM}."
        )));
    }
    let credential = credential?;
    let expires = expires?
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
        signed_headers: signed_header_names(&signed_headers?),
        signature: signature?.into_owned(),
        timestamp: timestamp?.into_owned(),
        expires: Some(expires),
    })
}

/// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, with the time from the
/// `X-Amz-Date` header.
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
    let signed_headers = signed_header_names(need("SignedHeaders")?);
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

/// `host;x-amz-date` → `["host", "x-amz-date"]`.
fn signed_header_names(list: &str) -> Vec<String> {
    list.split(';').map(str::to_string).collect()
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
