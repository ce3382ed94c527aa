//! The reference for `signing`: the same expected signature computed by aws-sigv4 (the signer the
//! SDKs use) from what the client signed. Test-only: `signing` must agree with it on every
//! request (see `signing::tests`), while doing a fraction of the work.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::super::{constant_time_eq, Key, Presented};
use super::SERVICE;

/// The signature this request should carry, or `None` when it cannot be computed (the
/// request is then refused as a bad signature).
pub(super) fn reference_signature(
    method: &http::Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    p: &Presented,
    key: &Key,
    time: SystemTime,
) -> Option<String> {
    // The scope's date must be the signing date, and the service ours.
    if !p.timestamp.starts_with(p.date.as_ref()) || p.service != SERVICE {
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
    for name in p.signed_header_names() {
        if p.expires.is_none() && name == "x-amz-date" {
            continue;
        }
        let values = headers.get_all(name);
        let mut any = false;
        for v in values {
            // Not `to_str`: values may be UTF-8 (e.g. a Version-Label), signed as bytes.
            signed.push((name, std::str::from_utf8(v.as_bytes()).ok()?));
            any = true;
        }
        if !any {
            return None;
        }
    }
    // The signer always signs host and x-amz-date; a client that left them out signed
    // something else, which cannot match.
    let signs = |name: &str| p.signed_header_names().any(|h| h == name);
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
        p.access_key.to_string(),
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
    // Presigned URLs sign either the body's hash (botocore's generic presigner, hence boto3
    // and the CLI) or UNSIGNED-PAYLOAD (S3-style presigners), and say nothing about which:
    // try the common one first.
    let hashed = sign_with(payload_hash)?;
    if constant_time_eq(&hashed, &p.signature) {
        return Some(hashed);
    }
    sign_with("UNSIGNED-PAYLOAD".into())
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
