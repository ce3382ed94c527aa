//! SigV4 parsing and verification: arbitrary Authorization headers, dates, query strings and
//! bodies against a server with one key. Half the inputs are shaped like a real signature by
//! the known key at a valid time, so the fuzzer gets past parsing into canonicalisation and
//! signing. Must refuse without panicking, and never accept without the secret.
#![no_main]

use std::time::{Duration, SystemTime};

use appconfigd::wire::auth::Authenticator;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    structured: bool,
    authorization: String,
    region: String,
    signed_headers: String,
    signature: String,
    date: String,
    target: String,
    host: String,
    extra: Vec<(String, String)>,
    body: Vec<u8>,
    skew: u16,
}

/// 2027-01-15T08:00:00Z
const SIGNED_AT: u64 = 1_800_000_000;

fuzz_target!(|i: Input| {
    let auth = Authenticator::with_keys([("AKIDFUZZ", "secret", "111111111111")]);
    let Ok(uri) = i.target.parse::<http::Uri>() else {
        return;
    };
    let (authorization, date) = if i.structured {
        (
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20270115/{}/appconfig/aws4_request, SignedHeaders={}, Signature={}",
                i.region, i.signed_headers, i.signature
            ),
            "20270115T080000Z".to_string(),
        )
    } else {
        (i.authorization, i.date)
    };
    let mut headers = http::HeaderMap::new();
    for (k, v) in [
        ("authorization", authorization.as_str()),
        ("x-amz-date", date.as_str()),
        ("host", i.host.as_str()),
    ]
    .into_iter()
    .chain(i.extra.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_bytes(v.as_bytes()),
        ) {
            headers.append(k, v);
        }
    }
    // Within ±15 minutes of the structured date for most inputs, sometimes outside.
    let now =
        SystemTime::UNIX_EPOCH + Duration::from_secs(SIGNED_AT - 1000 + u64::from(i.skew % 2000));
    let _ = auth.precheck(&uri, &headers, || now);
    let verdict = auth.authenticate(&http::Method::POST, &uri, &headers, &i.body, now);
    assert!(verdict.is_err(), "accepted without the secret: {verdict:?}");
});
