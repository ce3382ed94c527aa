//! Issue 7, security: SigV4 authentication against a credentials file, accounts and their
//! isolation, the loopback rule for anonymous mode, and request limits. Driven through the
//! official SDKs signing with real keys; raw HTTP only where a request must be malformed or
//! unsigned (an SDK always signs).

use std::time::{Duration, SystemTime};

use aws_sdk_appconfig::error::ProvideErrorMetadata;
use aws_sdk_appconfig::Client;

use crate::dataplane::{
    agent_path, body, data_client_with_keys, deployed_fixture, fx_session, get, poll, poll_err,
    token_problem,
};
use crate::harness::*;

const ACCOUNT_A: &str = "111111111111";
const ACCOUNT_B: &str = "222222222222";
const KEY_A: (&str, &str) = ("AKIDACCOUNTAAAAAAAAA", "secret-a/with+special=chars");
const KEY_B: (&str, &str) = ("AKIDACCOUNTBBBBBBBBB", "secret-b");

/// A credentials file for two accounts, with an agent token for each.
fn credentials_file() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().expect("temp file");
    let text = format!(
        r#"
[[credentials]]
access_key_id = "{}"
secret_access_key = "{}"
account_id = "{ACCOUNT_A}"

[[credentials]]
access_key_id = "{}"
secret_access_key = "{}"
account_id = "{ACCOUNT_B}"

[[agent_tokens]]
token = "agent-token-a"
account_id = "{ACCOUNT_A}"

[[agent_tokens]]
token = "agent-token-b"
account_id = "{ACCOUNT_B}"
"#,
        KEY_A.0, KEY_A.1, KEY_B.0, KEY_B.1
    );
    std::fs::write(f.path(), text).expect("write credentials");
    f
}

struct Secured {
    server: Server,
    _file: tempfile::NamedTempFile,
}

fn secured(extra: &[&str]) -> Secured {
    let file = credentials_file();
    let path = file.path().to_str().expect("utf-8 path").to_string();
    let mut args = vec!["--credentials", path.as_str(), "--time-scale", "60"];
    args.extend_from_slice(extra);
    Secured {
        server: Server::start_with(&args),
        _file: file,
    }
}

fn as_a(s: &Secured) -> Client {
    client_with_keys(s.server.endpoint(), KEY_A.0, KEY_A.1)
}

fn as_b(s: &Secured) -> Client {
    client_with_keys(s.server.endpoint(), KEY_B.0, KEY_B.1)
}

/// A client (key A) whose clock says `at`: it signs with that time.
fn client_at(endpoint: &str, at: SystemTime) -> Client {
    let config = client_with_keys(endpoint, KEY_A.0, KEY_A.1)
        .config()
        .to_builder()
        .time_source(aws_smithy_async::time::StaticTimeSource::new(at))
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn signed_requests_work_and_see_only_their_account() {
    let s = secured(&[]);
    let (a, b) = (as_a(&s), as_b(&s));
    let created = send!(a.create_application().name("shared-name")).expect("create as A");
    let app_a = created.id().expect("id").to_string();
    // ARNs carry the signing key's account.
    let tags = send!(a.list_tags_for_resource().resource_arn(format!(
        "arn:aws:appconfig:{REGION}:{ACCOUNT_A}:application/{app_a}"
    )))
    .expect("tags of A's app by A");
    assert!(tags.tags().is_none_or(|t| t.is_empty()));

    // B sees nothing of A's, and cannot touch it: 404 as if absent.
    let listed = b.list_applications().send().await.expect("list as B");
    assert!(listed.items().is_empty(), "{listed:?}");
    let (e, status) = service_error(b.get_application().application_id(&app_a).send().await);
    assert_eq!(
        (code(&e).as_str(), status),
        ("ResourceNotFoundException", 404)
    );
    let (_, status) = service_error(send!(b
        .update_application()
        .application_id(&app_a)
        .name("stolen")));
    assert_eq!(status, 404);
    let (_, status) = service_error(b.delete_application().application_id(&app_a).send().await);
    assert_eq!(status, 404);
    let (_, status) = service_error(send!(b
        .tag_resource()
        .resource_arn(format!(
            "arn:aws:appconfig:{REGION}:{ACCOUNT_A}:application/{app_a}"
        ))
        .tags("k", "v")));
    assert_eq!(status, 404);

    // B may use the same name in its own account; A's app is unchanged.
    let app_b = create_app(&b, "shared-name").await;
    assert_ne!(app_a, app_b);
    let got = send!(a.get_application().application_id(&app_a)).expect("A still has its app");
    assert_eq!(got.name(), Some("shared-name"));
    assert_eq!(a.list_applications().send().await.unwrap().items().len(), 1);
    assert_eq!(b.list_applications().send().await.unwrap().items().len(), 1);

    // Account settings and quotas are per account too.
    send!(a.update_account_settings().deletion_protection(
        aws_sdk_appconfig::types::DeletionProtectionSettings::builder()
            .enabled(true)
            .protection_period_in_minutes(30)
            .build(),
    ))
    .expect("A's settings");
    let b_settings = b.get_account_settings().send().await.expect("B's settings");
    assert_eq!(
        b_settings.deletion_protection().and_then(|d| d.enabled()),
        Some(false)
    );
}

#[tokio::test]
async fn data_plane_is_per_account_and_tokens_do_not_cross() {
    let s = secured(&[]);
    let a = as_a(&s);
    let fx = deployed_fixture(&a, "iso", br#"{"a":1}"#).await;

    let da = data_client_with_keys(s.server.endpoint(), KEY_A.0, KEY_A.1);
    let db = data_client_with_keys(s.server.endpoint(), KEY_B.0, KEY_B.1);
    let token = fx_session(&da, &fx).await;
    assert_eq!(body(&poll(&da, &token).await), br#"{"a":1}"#);

    // B cannot open a session on A's resources (by id or by name)...
    for (app, env, profile) in [
        (&fx.app, &fx.env, &fx.profile),
        (&fx.app_name, &fx.env_name, &fx.profile_name),
    ] {
        let e = send!(db
            .start_configuration_session()
            .application_identifier(app)
            .environment_identifier(env)
            .configuration_profile_identifier(profile))
        .expect_err("B must not see A's application");
        let se = e.into_service_error();
        assert_eq!(se.code(), Some("ResourceNotFoundException"), "{se:?}");
    }
    // ...nor poll with a token A received.
    let (e, status) = poll_err(&db, &token).await;
    assert_eq!(status, 400);
    assert_eq!(
        token_problem(e),
        aws_sdk_appconfigdata::types::InvalidParameterProblem::Corrupted
    );

    // The agent path maps bearer tokens to accounts.
    let path = agent_path(&fx.app_name, &fx.env_name, &fx.profile_name);
    let r = get(
        &s.server,
        &path,
        &[("Authorization", "Bearer agent-token-a")],
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, br#"{"a":1}"#);
    let r = get(
        &s.server,
        &path,
        &[("Authorization", "Bearer agent-token-b")],
    );
    assert_eq!(r.status, 404, "{r:?}");
    for headers in [vec![], vec![("Authorization", "Bearer nope")]] {
        let r = get(&s.server, &path, &headers);
        assert!(r.status == 401 || r.status == 403, "{headers:?}: {r:?}");
    }
}

#[tokio::test]
async fn unsigned_unknown_key_bad_signature_and_skew_are_refused_with_403() {
    let s = secured(&[]);
    let a = as_a(&s);
    create_app(&a, "before").await;

    // No signature at all.
    let r = raw_call(s.server.addr(), "GET", "/applications");
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(
        r.header("x-amzn-ErrorType"),
        Some("MissingAuthenticationTokenException")
    );
    // Even on paths that do not exist: strangers learn nothing about routes.
    let r = raw_call(s.server.addr(), "GET", "/nope");
    assert_eq!(r.status, 403, "{r:?}");
    // A stranger's upload is refused before its body is read: the answer comes while the
    // 3 MB announced have not been sent.
    {
        use std::io::{Read, Write};
        let mut conn = std::net::TcpStream::connect(s.server.addr()).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let head = format!(
            "POST /applications HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
            s.server.addr(),
            3 * 1024 * 1024
        );
        conn.write_all(head.as_bytes()).unwrap();
        let mut buf = [0u8; 256];
        let n = conn.read(&mut buf).expect("an answer before the body");
        assert!(
            buf[..n].starts_with(b"HTTP/1.1 403"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
    }

    // Unknown access key.
    let stranger = client_with_keys(s.server.endpoint(), "AKIDUNKNOWNUNKNOWN00", "x");
    let (e, status) = service_error(stranger.list_applications().send().await);
    assert_eq!(
        (code(&e).as_str(), status),
        ("UnrecognizedClientException", 403)
    );
    assert!(message(&e).contains("security token"), "{e:?}");
    let (e, status) = service_error(stranger.create_application().name("x").send().await);
    assert_eq!(
        (code(&e).as_str(), status),
        ("UnrecognizedClientException", 403)
    );

    // Known key, wrong secret.
    let forger = client_with_keys(s.server.endpoint(), KEY_A.0, "not-the-secret");
    let (e, status) = service_error(forger.create_application().name("forged").send().await);
    assert_eq!(
        (code(&e).as_str(), status),
        ("InvalidSignatureException", 403)
    );
    assert!(message(&e).contains("signature"), "{e:?}");

    // Clock skew: 16 minutes either way is refused, 10 minutes is fine.
    let now = SystemTime::now();
    for at in [
        now - Duration::from_secs(16 * 60),
        now + Duration::from_secs(16 * 60),
    ] {
        let (e, status) = service_error(
            client_at(s.server.endpoint(), at)
                .list_applications()
                .send()
                .await,
        );
        assert_eq!(
            (code(&e).as_str(), status),
            ("InvalidSignatureException", 403),
            "{e:?}"
        );
        assert!(message(&e).contains("Signature"), "{e:?}");
    }
    client_at(s.server.endpoint(), now - Duration::from_secs(10 * 60))
        .list_applications()
        .send()
        .await
        .expect("10 minutes of skew is within the window");

    // Nothing was written by any refused request.
    let names: Vec<_> = send!(a.list_applications())
        .unwrap()
        .items()
        .iter()
        .filter_map(|i| i.name().map(str::to_string))
        .collect();
    assert_eq!(names, vec!["before".to_string()]);
}

#[tokio::test]
async fn every_operation_with_labels_and_queries_verifies() {
    // Encoded ARNs in paths, repeated query parameters, headers bound to members and raw
    // bodies: the canonical requests the SDK builds for these must verify.
    let s = secured(&[]);
    let a = as_a(&s);
    let app = create_app(&a, "canon").await;
    let profile = create_profile(&a, &app, "p").await;
    let arn = format!("arn:aws:appconfig:{REGION}:{ACCOUNT_A}:application/{app}");
    send!(a
        .tag_resource()
        .resource_arn(&arn)
        .tags("a b", "c/d")
        .tags("e+f", "="))
    .expect("tag");
    send!(a
        .untag_resource()
        .resource_arn(&arn)
        .tag_keys("a b")
        .tag_keys("e+f"))
    .expect("untag with repeated query keys");
    send!(a
        .create_hosted_configuration_version()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .content(aws_smithy_types::Blob::new(vec![0u8, 1, 2, 255]))
        .content_type("application/octet-stream")
        .version_label("v 1/(x)"))
    .expect("raw body and header members");
    let listed = send!(a
        .list_hosted_configuration_versions()
        .application_id(&app)
        .configuration_profile_id(&profile)
        .max_results(1)
        .version_label("v*"))
    .expect("query members");
    assert_eq!(listed.items().len(), 1);
    send!(a.list_extension_associations().resource_identifier(&arn)).expect("ARN in the query");
}

#[tokio::test]
async fn anonymous_mode_is_loopback_only_unless_allowed() {
    let bin = env!("CARGO_BIN_EXE_appconfigd");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = format!("sqlite://{}/x.db", dir.path().display());
    let out = std::process::Command::new(bin)
        .args(["serve", "--listen", "0.0.0.0:0", "--database", &db])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("without --credentials") && stderr.contains("--insecure-allow-anonymous"),
        "{stderr}"
    );
    assert!(
        !std::path::Path::new(&format!("{}/x.db", dir.path().display())).exists(),
        "refused before touching the database"
    );

    // With the flag it starts (on all interfaces) and answers on loopback.
    let server = Server::start_with(&["--listen", "0.0.0.0:0", "--insecure-allow-anonymous"]);
    let port = server.addr().rsplit(':').next().expect("port").to_string();
    let c = client_for(&format!("http://127.0.0.1:{port}"));
    c.list_applications().send().await.expect("anonymous list");

    // A malformed credentials file is refused with its path and the reason.
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        bad.path(),
        "[[credentials]]\naccess_key_id = \"A\"\nsecret_access_key = \"s\"\naccount_id = \"12\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .arg("--credentials")
        .arg(bad.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("12 digits"), "{stderr}");
}

#[tokio::test]
async fn limits_and_malformed_requests_are_4xx() {
    let server = Server::start();
    let addr = server.addr();
    // URI too long.
    let long = format!("/applications?next_token={}", "a".repeat(9000));
    let r = raw_call(addr, "GET", &long);
    assert_eq!(r.status, 414, "{r:?}");
    // A head bigger than 64 KB.
    let huge = "h".repeat(70 * 1024);
    let r = raw_request(addr, "GET", "/applications", &[("X-Huge", &huge)], b"");
    assert_eq!(r.status, 431, "{r:?}");
    // Malformed JSON, wrong JSON types, bad percent-encoding, bad UTF-8.
    for (method, path, body) in [
        ("POST", "/applications", &b"{\"Name\": "[..]),
        ("POST", "/applications", &b"[1,2]"[..]),
        ("POST", "/applications", &b"{\"Name\": 5}"[..]),
        ("POST", "/applications", &b"\xff\xfe"[..]),
        ("GET", "/applications/%ZZ", &b""[..]),
        ("GET", "/applications/%C3%28", &b""[..]),
        ("GET", "/applications?max_results=%FF", &b""[..]),
        (
            "GET",
            "/applications?max_results=99999999999999999999",
            &b""[..],
        ),
        ("DELETE", "/tags/%", &b""[..]),
    ] {
        let r = raw_request(addr, method, path, &[], body);
        assert!(
            (400..500).contains(&r.status),
            "{method} {path} {:?}: {r:?}",
            String::from_utf8_lossy(body)
        );
    }
    // Garbage that is not HTTP at all: hyper answers 400 or closes; the server lives on.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"\x16\x03\x01 not http\r\n\r\n").unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        let text = String::from_utf8_lossy(&buf);
        assert!(buf.is_empty() || text.starts_with("HTTP/1.1 400"), "{text}");
    }
    send!(server.client().list_applications()).expect("still serving");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_their_turn() {
    use std::io::{Read, Write};
    let server = Server::start_with(&["--max-connections", "2"]);
    let addr = server.addr().to_string();
    // Two idle keep-alive connections hold both slots.
    let mut held: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(format!("GET /applications HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
                .unwrap();
            let mut buf = [0u8; 512];
            let n = s.read(&mut buf).unwrap();
            assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
            s
        })
        .collect();
    // A third client is not served while they are open...
    let third = std::thread::spawn({
        let addr = addr.clone();
        move || raw_call(&addr, "GET", "/applications").status
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !third.is_finished(),
        "the third connection was served beyond the cap"
    );
    // ...and is served as soon as one closes.
    held.pop();
    assert_eq!(third.join().unwrap(), 200);
}

/// GETs `path` with the headers of a SigV4 signature by `key` over `signed_path`.
fn signed_get(server: &Server, signed_path: &str, path: &str, key: (&str, &str)) -> RawResponse {
    let headers = sigv4_get_headers(server.addr(), signed_path, key);
    let refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    get(server, path, &refs)
}

/// The headers of a GET signed with SigV4 by `key`, as an SDK would send them.
fn sigv4_get_headers(addr: &str, path: &str, key: (&str, &str)) -> Vec<(String, String)> {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    let identity = aws_credential_types::Credentials::new(key.0, key.1, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(REGION)
        .name("appconfig")
        .time(SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .expect("signing params")
        .into();
    let url = format!("http://{addr}{path}");
    let signable = SignableRequest::new(
        "GET",
        &url,
        [("host", addr)].into_iter(),
        SignableBody::Bytes(b""),
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let mut req = http::Request::builder()
        .uri(&url)
        .header("host", addr)
        .body(())
        .expect("request");
    instructions.apply_to_request_http1x(&mut req);
    req.headers()
        .iter()
        .filter(|(k, _)| k.as_str() != "host")
        .map(|(k, v)| (k.to_string(), v.to_str().expect("ascii").to_string()))
        .collect()
}

#[tokio::test]
async fn agent_reads_without_a_bearer_token_take_a_sigv4_signature() {
    let s = secured(&[]);
    let a = as_a(&s);
    let fx = deployed_fixture(&a, "agentsig", br#"{"signed":true}"#).await;
    let path = agent_path(&fx.app_name, &fx.env_name, &fx.profile_name);
    let r = signed_get(&s.server, &path, &path, KEY_A);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body, br#"{"signed":true}"#);

    // Signed by B: B's account has no such application.
    assert_eq!(signed_get(&s.server, &path, &path, KEY_B).status, 404);

    // Signed for another path: refused.
    let other = agent_path(&fx.app_name, &fx.env_name, "other");
    let r = signed_get(&s.server, &other, &path, KEY_A);
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(
        r.header("x-amzn-ErrorType"),
        Some("InvalidSignatureException")
    );
}

#[tokio::test]
async fn metrics_need_the_metrics_token_and_are_closed_with_credentials_without_one() {
    // With credentials and no --metrics-token: closed, probes still open.
    let s = secured(&[]);
    let r = raw_call(s.server.addr(), "GET", "/metrics");
    assert_eq!(r.status, 403, "{r:?}");
    assert!(String::from_utf8_lossy(&r.body).contains("--metrics-token"));
    assert_eq!(raw_call(s.server.addr(), "GET", "/healthz").status, 200);
    assert_eq!(raw_call(s.server.addr(), "GET", "/readyz").status, 200);

    // With a token, in either mode: only that bearer token scrapes.
    let with_creds = secured(&["--metrics-token", "scrape-me"]);
    let anonymous = Server::start_with(&["--metrics-token", "scrape-me"]);
    for addr in [with_creds.server.addr(), anonymous.addr()] {
        for headers in [
            vec![],
            vec![("Authorization", "Bearer nope")],
            vec![("Authorization", "scrape-me")],
        ] {
            let r = raw_request(addr, "GET", "/metrics", &headers, b"");
            assert_eq!(r.status, 401, "{headers:?}: {r:?}");
        }
        let r = raw_request(
            addr,
            "GET",
            "/metrics",
            &[("Authorization", "Bearer scrape-me")],
            b"",
        );
        assert_eq!(r.status, 200, "{r:?}");
        assert!(String::from_utf8_lossy(&r.body).contains("appconfigd_store_up"));
    }
}
