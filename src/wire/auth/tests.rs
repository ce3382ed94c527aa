//! Tests of header and presigned SigV4 verification (signed here the way the SDKs sign), clock
//! skew, refusals, and emulator mode.

use std::collections::HashMap;
use std::time::Duration;

use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;

use super::*;

fn keys() -> Authenticator {
    let mut keys = HashMap::new();
    keys.insert(
        "AKIDEXAMPLE".to_string(),
        Key::new(
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            "111111111111".into(),
        ),
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
    assert_eq!(
        auth.precheck(&uri, &h, || now).err(),
        Some(AuthError::Missing)
    );
    h.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Credential=NOPE/20260101/us-east-1/appconfig/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
            .parse()
            .unwrap(),
    );
    h.insert("x-amz-date", "20260101T000000Z".parse().unwrap());
    assert_eq!(
        auth.precheck(&uri, &h, || now).err(),
        Some(AuthError::UnknownKey)
    );
    h.insert(
        "authorization",
        "AWS4-HMAC-SHA256 Signature=00".parse().unwrap(),
    );
    assert!(matches!(
        auth.precheck(&uri, &h, || now),
        Err(AuthError::Incomplete(m)) if m.contains("'Credential'")
    ));
    h.insert("authorization", "Basic abc".parse().unwrap());
    assert!(matches!(
        auth.precheck(&uri, &h, || now),
        Err(AuthError::Incomplete(_))
    ));
}

#[test]
fn presigned_queries_missing_a_parameter_name_the_first_one_missing() {
    let now = SystemTime::now();
    let auth = keys();
    let refusal = |query: &str| {
        let uri: http::Uri = format!("/configuration?{query}").parse().unwrap();
        auth.precheck(&uri, &HeaderMap::new(), || now).err()
    };
    // Neither a signature nor a credential: not presigned at all.
    assert_eq!(
        refusal("configuration_token=t&X-Amz-Date=20260101T000000Z"),
        Some(AuthError::Missing)
    );
    let credential =
        "X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fappconfig%2Faws4_request";
    // Algorithm, credential, expires, signed headers, signature, date: in that order.
    for (query, named) in [
        (format!("{credential}&X-Amz-Signature=00"), "X-Amz-Algorithm"),
        (
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00".to_string(),
            "X-Amz-Credential",
        ),
        (
            format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&{credential}&X-Amz-Signature=00"),
            "X-Amz-Expires",
        ),
        (
            format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&{credential}&X-Amz-Expires=60"),
            "X-Amz-SignedHeaders",
        ),
        (
            format!(
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&{credential}&X-Amz-Expires=60&X-Amz-SignedHeaders=host"
            ),
            "X-Amz-Signature",
        ),
        (
            format!(
                "X-Amz-Algorithm=AWS4-HMAC-SHA256&{credential}&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00"
            ),
            "X-Amz-Date",
        ),
    ] {
        assert!(
            matches!(refusal(&query), Some(AuthError::Incomplete(m)) if m.contains(&format!("'{named}'"))),
            "{query} should name {named}"
        );
    }
    // The first value of a repeated parameter counts, as a map of the query would give.
    assert!(matches!(
        refusal(&format!("X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Algorithm=AWS4-HMAC-SHA256&{credential}")),
        Some(AuthError::Incomplete(m)) if m.contains("Unsupported AWS 'algorithm'")
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
    // botocore's generic presigner signs the body's hash; S3-style presigners UNSIGNED-PAYLOAD.
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
