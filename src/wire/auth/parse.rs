//! The signature a request presents, read (not yet checked) from its SigV4 `Authorization`
//! header or, for presigned URLs, from its `X-Amz-*` query parameters.

use std::borrow::Cow;

use http::HeaderMap;

use super::AuthError;
use crate::query::{decode_component, raw_pairs};

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Longest presigned URL lifetime SigV4 allows (7 days).
const MAX_PRESIGN_SECONDS: u64 = 7 * 24 * 3600;

/// A SigV4 signature as sent, before it is checked. Its parts borrow from the request: a
/// presigned poll is verified on every request, and copying them cost more than checking them.
#[derive(Debug, PartialEq)]
pub struct Presented<'r> {
    pub access_key: Cow<'r, str>,
    pub date: Cow<'r, str>,
    pub region: Cow<'r, str>,
    pub service: Cow<'r, str>,
    /// As sent: names separated by `;` (see `signed_header_names`).
    pub signed_headers: Cow<'r, str>,
    pub signature: Cow<'r, str>,
    /// X-Amz-Date (both forms) as given.
    pub timestamp: Cow<'r, str>,
    /// Presigned URLs: their X-Amz-Expires.
    pub expires: Option<u64>,
}

impl Presented<'_> {
    /// The names in `SignedHeaders` (`host;x-amz-date` → `host`, `x-amz-date`).
    pub fn signed_header_names(&self) -> std::str::Split<'_, char> {
        self.signed_headers.split(';')
    }

    /// A copy that outlives the request it was read from.
    pub fn into_owned(self) -> Presented<'static> {
        let own = |c: Cow<'_, str>| Cow::Owned(c.into_owned());
        Presented {
            access_key: own(self.access_key),
            date: own(self.date),
            region: own(self.region),
            service: own(self.service),
            signed_headers: own(self.signed_headers),
            signature: own(self.signature),
            timestamp: own(self.timestamp),
            expires: self.expires,
        }
    }
}

/// Reads the signature from the Authorization header or the presigned query.
pub fn presented<'r>(
    uri: &'r http::Uri,
    headers: &'r HeaderMap,
) -> Result<Presented<'r>, AuthError> {
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
/// one pass over the query: presigned reads are verified on every request. Values are kept as
/// sent (still percent-encoded) and decoded where they are read; the credential is split
/// before decoding (`credential_scope`), so the common case copies nothing.
struct PresignedParams<'q>([Option<&'q str>; 6]);

impl<'q> PresignedParams<'q> {
    fn read(query: &'q str) -> Self {
        let mut found: [Option<&'q str>; 6] = Default::default();
        for (k, v) in raw_pairs(query) {
            let k = decode_component(k);
            if let Some(i) = PRESIGNED.iter().position(|name| *name == k) {
                if found[i].is_none() {
                    found[i] = Some(v);
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
    fn required(self) -> [Result<&'q str, AuthError>; 6] {
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
fn parse_presigned_query(params: PresignedParams<'_>) -> Result<Presented<'_>, AuthError> {
    // Checked in this order, as the error for the first missing one is the answer.
    let [algorithm, credential, timestamp, expires, signed_headers, signature] = params.required();
    if decode_component(algorithm?) != ALGORITHM {
        return Err(AuthError::Incomplete(format!(
            "Unsupported AWS 'algorithm': X-Amz-Algorithm must be {ALGORITHM}."
        )));
    }
    let credential = credential?;
    let expires = decode_component(expires?)
        .parse::<u64>()
        .ok()
        .filter(|e| *e <= MAX_PRESIGN_SECONDS)
        .ok_or_else(|| {
            AuthError::Incomplete(format!(
                "X-Amz-Expires must be a number of seconds between 0 and {MAX_PRESIGN_SECONDS}."
            ))
        })?;
    // The scope's `/` arrives as `%2F`: split first, then decode each part, which is then
    // the same as decoding the whole and splitting on `/`.
    let [access_key, date, region, service] = credential_scope(credential, true)
        .ok_or_else(|| malformed_scope(&decode_component(credential)))?;
    Ok(Presented {
        access_key,
        date,
        region,
        service,
        signed_headers: decode_component(signed_headers?),
        signature: decode_component(signature?),
        timestamp: decode_component(timestamp?),
        expires: Some(expires),
    })
}

/// `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`, with the time from the
/// `X-Amz-Date` header.
fn parse_authorization<'r>(
    auth: &'r str,
    headers: &'r HeaderMap,
) -> Result<Presented<'r>, AuthError> {
    let Some(rest) = auth.strip_prefix(ALGORITHM) else {
        return Err(AuthError::Incomplete(format!(
            "Authorization header requires the {ALGORITHM} scheme. Authorization={auth}"
        )));
    };
    // The last of each name counts; read in place (SDK calls carry this on every request).
    let need = |name: &str| {
        rest.rsplit(',')
            .filter_map(|piece| piece.trim().split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim())
            .ok_or_else(|| {
                AuthError::Incomplete(format!(
                    "Authorization header requires '{name}' parameter. Authorization={auth}"
                ))
            })
    };
    let credential = need("Credential")?;
    let [access_key, date, region, service] =
        credential_scope(credential, false).ok_or_else(|| malformed_scope(credential))?;
    let signed_headers = Cow::Borrowed(need("SignedHeaders")?);
    let signature = Cow::Borrowed(need("Signature")?);
    let timestamp = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AuthError::Incomplete(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                    .into(),
            )
        })?;
    Ok(Presented {
        access_key,
        date,
        region,
        service,
        signed_headers,
        signature,
        timestamp: Cow::Borrowed(timestamp),
        expires: None,
    })
}

/// `AKID/20260101/us-east-1/appconfig/aws4_request` → the key, date, region and service. In a
/// query (`encoded`), `/` may arrive as `%2F` and each part is percent-decoded.
fn credential_scope(c: &str, encoded: bool) -> Option<[Cow<'_, str>; 4]> {
    let mut parts: [&str; 5] = [""; 5];
    let mut count = 0;
    let (bytes, mut start, mut i) = (c.as_bytes(), 0, 0);
    while i <= bytes.len() {
        let separator = match bytes.get(i) {
            None => 1,
            Some(b'/') => 1,
            Some(b'%') if encoded && matches!(bytes.get(i + 1..i + 3), Some(b"2F" | b"2f")) => 3,
            Some(_) => 0,
        };
        if separator > 0 {
            *parts.get_mut(count)? = c.get(start..i)?;
            count += 1;
            start = i + separator;
        }
        i += separator.max(1);
    }
    let [ak, date, region, service, terminal] = parts.map(|s| {
        if encoded {
            decode_component(s)
        } else {
            Cow::Borrowed(s)
        }
    });
    (count == 5 && terminal == "aws4_request" && !ak.is_empty())
        .then_some([ak, date, region, service])
}

fn malformed_scope(c: &str) -> AuthError {
    AuthError::Incomplete(format!(
        "Credential should be scoped to a valid region, not a malformed scope. Credential={c}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_scopes_split_on_plain_and_encoded_slashes() {
        let parts =
            |c, encoded| credential_scope(c, encoded).map(|p| p.map(|s| s.into_owned()).join(" "));
        let want = Some("AK 20260101 us-east-1 appconfig".to_string());
        assert_eq!(
            parts("AK/20260101/us-east-1/appconfig/aws4_request", false),
            want
        );
        assert_eq!(
            parts("AK%2F20260101%2fus-east-1/appconfig%2Faws4_request", true),
            want
        );
        // Only a query is percent-decoded; `%252F` is a literal `%2F`, not a separator.
        assert_eq!(
            parts(
                "AK%2F20260101%2Fus-east-1%2Fappconfig%2Faws4_request",
                false
            ),
            None
        );
        assert_eq!(
            parts(
                "A%252FK%2F20260101%2Fus%2Deast-1%2Fappconfig%2Faws4_request",
                true
            ),
            Some("A%2FK 20260101 us-east-1 appconfig".into())
        );
        for bad in [
            "",
            "AK",
            "/20260101/r/s/aws4_request",
            "AK/d/r/s/aws4",
            "AK/d/r/s/aws4_request/x",
            "AK/d/r/s/t/u/v",
        ] {
            assert_eq!(parts(bad, true), None, "{bad}");
        }
    }
}
