//! The fast signer against aws-sigv4: requests signed the way the SDKs sign them (header and
//! presigned, odd paths, encoded and repeated query parameters, folded header values, UTF-8)
//! must get the same expected signature from both, and that signature must be the one sent.

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
};
use aws_sigv4::sign::v4;
use http::HeaderMap;

use super::reference::reference_signature;
use super::*;
use crate::wire::auth::{clock, presented};

/// The expected signature as the hex text a client sends.
fn hexed(signature: Option<[u8; 32]>) -> Option<String> {
    signature.map(|s| hex(&s).iter().map(|b| char::from(*b)).collect())
}

/// `expected_signature` for a request presenting `p`, as hex text.
fn expected_hex(
    method: &http::Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &[u8],
    p: &Presented,
    key: &Key,
) -> Option<String> {
    let presented = signature_bytes(&p.signature).expect("a hex signature");
    hexed(expected_signature(
        method, uri, headers, body, p, key, &presented,
    ))
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn sign_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    presign: bool,
    unsigned_payload: bool,
) -> (http::Uri, HeaderMap) {
    let identity =
        aws_credential_types::Credentials::new("AKIDEXAMPLE", SECRET, None, None, "t").into();
    let mut settings = SigningSettings::default();
    if presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("appconfig")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .expect("params")
        .into();
    let signable_body = if unsigned_payload {
        SignableBody::UnsignedPayload
    } else {
        SignableBody::Bytes(body)
    };
    let signable = SignableRequest::new(method, url, headers.iter().copied(), signable_body)
        .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let mut req = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if unsigned_payload && !presign {
        req = req.header("x-amz-content-sha256", "UNSIGNED-PAYLOAD");
    }
    let mut req = req.body(()).expect("request");
    instructions.apply_to_request_http1x(&mut req);
    let (parts, _) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .expect("path")
        .as_str()
        .parse()
        .expect("uri");
    (path, parts.headers)
}

#[test]
fn the_fast_signer_agrees_with_aws_sigv4() {
    let urls = [
        "http://127.0.0.1:2772/applications",
        "http://127.0.0.1:2772/",
        "http://127.0.0.1:2772/applications/abc1234/environments/def5678",
        "http://127.0.0.1:2772/deploymentstrategies/AppConfig.AllAtOnce",
        "http://127.0.0.1:2772/extensions/my.ext/v1/",
        "http://127.0.0.1:2772/applications/a%20b/x%2Fy",
        "http://127.0.0.1:2772/a/./b/../c",
        "http://127.0.0.1:2772/tags/arn%3Aaws%3Aappconfig%3Aus-east-1%3A123456789012%3Aapplication%2Fabc",
        "http://127.0.0.1:2772/applications?max_results=5&next_token=abc",
        "http://127.0.0.1:2772/configuration?configuration_token=AYADeJ%2Bx%2F%3D%3Dz",
        "http://127.0.0.1:2772/x?b=2&a=1&a=0&c=",
        "http://127.0.0.1:2772/x?flag=a&flag=b&tagKeys=k%201&tagKeys=k+2",
        "http://127.0.0.1:2772/x?%C3%A9t%C3%A9=%E2%9C%93&z=~._-",
        "http://127.0.0.1:2772/x?empty&also=&weird=%ZZ%2",
    ];
    let header_sets: [&[(&str, &str)]; 3] = [
        &[("host", "127.0.0.1:2772")],
        &[
            ("host", "127.0.0.1:2772"),
            ("content-type", "application/json"),
        ],
        &[
            ("host", "127.0.0.1:2772"),
            ("content-type", "  application/json ;  charset=utf-8  "),
            ("version-label", "v1 é  two"),
        ],
    ];
    let key = Key::new(SECRET.into(), "111111111111".into());
    let mut checked = 0;
    for url in urls {
        for headers in header_sets {
            for (presign, unsigned) in [(false, false), (false, true), (true, true), (true, false)]
            {
                let body: &[u8] = if presign { b"" } else { b"{\"Name\":\"x\"}" };
                let (uri, sent) = sign_request("POST", url, headers, body, presign, unsigned);
                let p = presented(&uri, &sent).expect("presented");
                let time = clock::check_time(&p, SystemTime::now()).expect("in time");
                let method = http::Method::POST;
                let fast = expected_hex(&method, &uri, &sent, body, &p, &key);
                let reference = reference_signature(&method, &uri, &sent, body, &p, &key, time);
                let case = format!("{url} {headers:?} presign={presign} unsigned={unsigned}");
                assert_eq!(fast, reference, "{case}");
                assert_eq!(fast.as_deref(), Some(p.signature.as_ref()), "{case}");
                // Cached derived key: the second verification answers the same.
                assert_eq!(
                    expected_hex(&method, &uri, &sent, body, &p, &key),
                    fast,
                    "{case}"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 14 * 3 * 4);
}

#[test]
fn a_tampered_request_gets_another_signature() {
    let key = Key::new(SECRET.into(), "111111111111".into());
    let url = "http://127.0.0.1:2772/applications?max_results=5";
    let (uri, sent) = sign_request("GET", url, &[("host", "127.0.0.1:2772")], b"", false, false);
    let p = presented(&uri, &sent).expect("presented");
    let good = expected_hex(&http::Method::GET, &uri, &sent, b"", &p, &key);
    assert_eq!(good.as_deref(), Some(p.signature.as_ref()));
    let other: http::Uri = "/applications?max_results=6".parse().expect("uri");
    assert_ne!(
        expected_hex(&http::Method::GET, &other, &sent, b"", &p, &key),
        good
    );
    assert_ne!(
        expected_hex(&http::Method::DELETE, &uri, &sent, b"", &p, &key),
        good
    );
    assert_ne!(
        expected_hex(&http::Method::GET, &uri, &sent, b"x", &p, &key),
        good
    );
}

#[test]
fn text_taken_as_canonical_is_what_decoding_and_encoding_it_gives() {
    let mut scratch = Vec::new();
    let mut taken = 0;
    for raw in [
        "abc",
        "AKID%2F20260101%2Fus-east-1",
        "a%20b",
        "%7E",
        "%2f",
        "%41",
        "a+b",
        "%C3%A9",
        "%ZZ",
        "%2",
        "~._-",
        "%00%7F",
        "%80",
        "%2F%2F",
        "é",
        "a b",
        "",
    ] {
        let mut slow = String::new();
        decode_and_encode(&mut slow, raw, &mut scratch);
        if canonical(raw) {
            assert_eq!(slow, raw);
            taken += 1;
        }
    }
    // The plain ones, and the uppercase escapes of ASCII that must stay escaped.
    assert_eq!(taken, 7);
}

#[test]
fn signatures_are_64_lowercase_hex_digits() {
    let hex64 = "0123456789abcdef".repeat(4);
    assert_eq!(
        signature_bytes(&hex64).map(|b| b[..2].to_vec()),
        Some(vec![0x01, 0x23])
    );
    assert_eq!(signature_bytes(&hex64.to_uppercase()), None);
    assert_eq!(signature_bytes(&hex64[1..]), None);
    assert_eq!(signature_bytes(&format!("{hex64}0")), None);
    assert_eq!(signature_bytes(&hex64.replace('f', "g")), None);
    assert_eq!(hexed(signature_bytes(&hex64)), Some(hex64));
}

#[test]
fn the_empty_body_hash_is_the_sha256_of_nothing() {
    assert_eq!(payload_hash(b""), hex(&Sha256::digest(b"")));
    assert_eq!(payload_hash(b"{}"), hex(&Sha256::digest(b"{}")));
}
