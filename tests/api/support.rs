//! Stand-ins for the world outside appconfigd, all on 127.0.0.1:
//!
//! - [`Receiver`]: a real HTTP server (std `TcpListener`, one thread per connection) that
//!   records every request and answers what the test told it to, per path: a status, a JSON
//!   body such as `{"Content": "<base64>"}` or `{"Directive": "ROLL_BACK"}`. Webhook extension
//!   targets, http(s) monitors and LAMBDA-validator URLs point at it.
//! - [`Moto`]: `python3 -m moto.server` as a child process (killed on drop), the AWS stand-in
//!   for SQS, SNS, EventBridge, CloudWatch and Lambda, driven with plain HTTP requests (moto
//!   does not check signatures; a fake `Authorization` header tells it which service is meant).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use crate::harness::{raw_call, raw_request, RawResponse};

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64 ({e}): {text:?}"))
}

// ---------------------------------------------------------------------------------------------
// Webhook receiver
// ---------------------------------------------------------------------------------------------

/// What the receiver answers on one path.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
    /// Wait this long before answering.
    pub delay: Duration,
}

impl Reply {
    /// `200 {}`.
    pub fn ok() -> Reply {
        Reply::json(200, json!({}))
    }

    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            body: format!("{{\"message\": \"receiver says {status}\"}}"),
            delay: Duration::ZERO,
        }
    }

    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn delayed(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }
}

/// One request the receiver got, with the status it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub status: u16,
    pub at: Instant,
}

impl Received {
    /// The body as JSON (panics if it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {} body is not JSON ({e}): {:?}",
                self.method,
                self.path,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        crate::harness::header_in(&self.headers, name)
    }
}

#[derive(Default)]
struct ReceiverState {
    requests: Vec<Received>,
    replies: HashMap<String, Reply>,
}

/// A recording HTTP server on `127.0.0.1:0`. Paths without a configured reply get `200 {}`.
pub struct Receiver {
    addr: String,
    state: Arc<Mutex<ReceiverState>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address").to_string();
        let state = Arc::new(Mutex::new(ReceiverState::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || serve_connection(conn, st));
            }
        });
        Receiver { addr, state, stop }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// From now on, `path` is answered with `reply`.
    pub fn reply(&self, path: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .replies
            .insert(path.to_string(), reply);
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<Received> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests to `path`, oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<Received> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// JSON bodies of the POSTs to `path`, oldest first.
    pub fn events(&self, path: &str) -> Vec<Value> {
        self.requests_to(path)
            .iter()
            .filter(|r| r.method == "POST")
            .map(Received::json)
            .collect()
    }

    /// Waits until `done` holds for the requests to `path` (polling), returning them.
    pub async fn wait_for(
        &self,
        path: &str,
        timeout: Duration,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.requests_to(path);
            if done(&got) {
                return got;
            }
            if Instant::now() > deadline {
                let bodies: Vec<String> = got
                    .iter()
                    .map(|r| String::from_utf8_lossy(&r.body).to_string())
                    .collect();
                panic!("receiver: timed out after {timeout:?} waiting for {what}; {path} got {bodies:#?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until at least `n` POSTs reached `path`; returns their JSON bodies.
    pub async fn wait_events(&self, path: &str, n: usize, timeout: Duration) -> Vec<Value> {
        self.wait_for(path, timeout, &format!("{n} POSTs"), |r| {
            r.iter().filter(|r| r.method == "POST").count() >= n
        })
        .await;
        self.events(path)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Unblock `accept`.
        let _ = TcpStream::connect(&self.addr);
    }
}

/// Reads requests from one connection (keep-alive aware) and answers each.
fn serve_connection(conn: TcpStream, state: Arc<Mutex<ReceiverState>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut out = write_half;
    let mut reader = BufReader::new(conn);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = request_line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        if method.is_empty() {
            return;
        }
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut body = Vec::new();
        if let Some(len) = header("content-length").and_then(|l| l.parse::<usize>().ok()) {
            body.resize(len, 0);
            if reader.read_exact(&mut body).is_err() {
                return;
            }
        } else if header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
            loop {
                let mut size_line = String::new();
                if reader.read_line(&mut size_line).unwrap_or(0) == 0 {
                    return;
                }
                let size =
                    usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
                        .unwrap_or(0);
                let mut chunk = vec![0; size + 2];
                if reader.read_exact(&mut chunk).is_err() {
                    return;
                }
                if size == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..size]);
            }
        }
        let path = target.split('?').next().unwrap_or_default().to_string();
        let reply = {
            let mut st = state.lock().unwrap();
            let reply = st.replies.get(&path).cloned().unwrap_or_else(Reply::ok);
            st.requests.push(Received {
                method,
                path,
                headers: headers.clone(),
                body,
                status: reply.status,
                at: Instant::now(),
            });
            reply
        };
        if !reply.delay.is_zero() {
            std::thread::sleep(reply.delay);
        }
        let close = header("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
        let response = format!(
            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{}\r\n{}",
            reply.status,
            reply.body.len(),
            if close { "connection: close\r\n" } else { "" },
            reply.body
        );
        if out.write_all(response.as_bytes()).is_err() || close {
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// moto
// ---------------------------------------------------------------------------------------------

/// The account moto puts every resource in.
pub const MOTO_ACCOUNT: &str = "123456789012";

/// A `python3 -m moto.server` on a free local port, killed when dropped.
pub struct Moto {
    child: Child,
    port: u16,
    log: tempfile::NamedTempFile,
}

impl Moto {
    pub fn start() -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = tempfile::NamedTempFile::new().expect("moto log file");
        let mut cmd = Command::new("python3");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("AWS_") {
                cmd.env_remove(key);
            }
        }
        let child = cmd
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log.reopen().expect("moto log")))
            .spawn()
            .expect("spawn python3 -m moto.server (pip install 'moto[server]')");
        let mut moto = Moto { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto exited with {status}: {}", moto.logs());
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                let r = raw_call(&moto.addr(), "GET", "/moto-api/");
                if r.status == 200 {
                    break;
                }
            }
            if Instant::now() > deadline {
                panic!("moto did not answer on port {port}: {}", moto.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    fn auth(service: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0")
    }

    /// A Query-protocol call (SNS, CloudWatch, IAM). Panics on a non-2xx answer.
    pub fn query(&self, service: &str, params: &[(&str, &str)]) -> String {
        let body = params
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let auth = Moto::auth(service);
        let r = raw_request(
            &self.addr(),
            "POST",
            "/",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        );
        let text = String::from_utf8_lossy(&r.body).to_string();
        assert!(
            (200..300).contains(&r.status),
            "moto {service} {params:?} answered {}: {text}",
            r.status
        );
        text
    }

    /// A JSON-protocol call (SQS `AmazonSQS.*` 1.0, EventBridge `AWSEvents.*` 1.1).
    pub fn json(&self, service: &str, target: &str, version: &str, body: Value) -> Value {
        let auth = Moto::auth(service);
        let content_type = format!("application/x-amz-json-{version}");
        let r = raw_request(
            &self.addr(),
            "POST",
            "/",
            &[
                ("Authorization", &auth),
                ("X-Amz-Target", target),
                ("Content-Type", &content_type),
            ],
            body.to_string().as_bytes(),
        );
        r.ok_json(&format!("moto {target}"))
    }

    /// A REST-JSON call (Lambda) or a `/moto-api` call.
    pub fn rest(&self, service: &str, method: &str, path: &str, body: Value) -> RawResponse {
        let auth = Moto::auth(service);
        raw_request(
            &self.addr(),
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    }

    // --- SQS ---------------------------------------------------------------------------------

    /// Creates a queue; returns (url, arn).
    pub fn create_queue(&self, name: &str) -> (String, String) {
        let out = self.json(
            "sqs",
            "AmazonSQS.CreateQueue",
            "1.0",
            json!({"QueueName": name}),
        );
        let url = out["QueueUrl"].as_str().expect("QueueUrl").to_string();
        (url, format!("arn:aws:sqs:us-east-1:{MOTO_ACCOUNT}:{name}"))
    }

    /// Receives (and deletes) messages until `n` arrived or `timeout` passed; returns bodies.
    pub async fn receive(&self, queue_url: &str, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut bodies = Vec::new();
        while bodies.len() < n && Instant::now() < deadline {
            let out = self.json(
                "sqs",
                "AmazonSQS.ReceiveMessage",
                "1.0",
                json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0}),
            );
            let msgs = out["Messages"].as_array().cloned().unwrap_or_default();
            if msgs.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            for m in msgs {
                bodies.push(m["Body"].as_str().unwrap_or_default().to_string());
                self.json(
                    "sqs",
                    "AmazonSQS.DeleteMessage",
                    "1.0",
                    json!({"QueueUrl": queue_url, "ReceiptHandle": m["ReceiptHandle"]}),
                );
            }
        }
        bodies
    }

    /// Like [`Moto::receive`], parsing each body as JSON.
    pub async fn receive_json(&self, queue_url: &str, n: usize, timeout: Duration) -> Vec<Value> {
        self.receive(queue_url, n, timeout)
            .await
            .iter()
            .map(|b| serde_json::from_str(b).unwrap_or_else(|e| panic!("not JSON ({e}): {b:?}")))
            .collect()
    }

    // --- SNS ---------------------------------------------------------------------------------

    /// Creates a topic whose messages land (raw) in a new queue; returns (topic arn, queue url).
    pub fn topic_into_queue(&self, name: &str) -> (String, String) {
        let (queue_url, queue_arn) = self.create_queue(&format!("{name}-sink"));
        self.query("sns", &[("Action", "CreateTopic"), ("Name", name)]);
        let topic_arn = format!("arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:{name}");
        self.query(
            "sns",
            &[
                ("Action", "Subscribe"),
                ("TopicArn", &topic_arn),
                ("Protocol", "sqs"),
                ("Endpoint", &queue_arn),
                ("Attributes.entry.1.key", "RawMessageDelivery"),
                ("Attributes.entry.1.value", "true"),
            ],
        );
        (topic_arn, queue_url)
    }

    // --- EventBridge -------------------------------------------------------------------------

    /// A rule on the default bus matching `source: aws.appconfig` that targets a new queue;
    /// returns the queue url.
    pub fn appconfig_events_into_queue(&self, name: &str) -> String {
        let (queue_url, queue_arn) = self.create_queue(name);
        self.json(
            "events",
            "AWSEvents.PutRule",
            "1.1",
            json!({"Name": name, "EventPattern": json!({"source": ["aws.appconfig"]}).to_string()}),
        );
        self.json(
            "events",
            "AWSEvents.PutTargets",
            "1.1",
            json!({"Rule": name, "Targets": [{"Id": "1", "Arn": queue_arn}]}),
        );
        queue_url
    }

    // --- CloudWatch --------------------------------------------------------------------------

    /// Creates a metric alarm; returns its ARN.
    pub fn put_alarm(&self, name: &str) -> String {
        self.query(
            "monitoring",
            &[
                ("Action", "PutMetricAlarm"),
                ("Version", "2010-08-01"),
                ("AlarmName", name),
                ("MetricName", "Errors"),
                ("Namespace", "AppConfigTest"),
                ("Statistic", "Sum"),
                ("Period", "60"),
                ("EvaluationPeriods", "1"),
                ("Threshold", "1"),
                ("ComparisonOperator", "GreaterThanOrEqualToThreshold"),
            ],
        );
        format!("arn:aws:cloudwatch:us-east-1:{MOTO_ACCOUNT}:alarm:{name}")
    }

    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub fn set_alarm_state(&self, name: &str, state: &str) {
        self.query(
            "monitoring",
            &[
                ("Action", "SetAlarmState"),
                ("Version", "2010-08-01"),
                ("AlarmName", name),
                ("StateValue", state),
                ("StateReason", "set by the test"),
            ],
        );
    }

    // --- Lambda ------------------------------------------------------------------------------

    /// Creates a function (moto's docker-free Lambda, which answers with the request payload,
    /// or with the results queued by [`Moto::queue_lambda_result`]); returns its ARN.
    pub fn create_function(&self, name: &str) -> String {
        let r = self.rest(
            "lambda",
            "POST",
            "/moto-api/config",
            json!({"lambda": {"use_docker": false}}),
        );
        assert!(r.status < 300, "moto config: {r:?}");
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
        let role = format!("{name}-role");
        self.query(
            "iam",
            &[
                ("Action", "CreateRole"),
                ("Version", "2010-05-08"),
                ("RoleName", &role),
                ("AssumeRolePolicyDocument", &trust.to_string()),
            ],
        );
        // A zip holding index.py with `def handler(e, c): return e`.
        const ZIP: &str = "UEsDBBQAAAAAAICyel1dpjLZHwAAAB8AAAAIAAAAaW5kZXgucHlkZWYgaGFuZGxlcihlLGMpOgogICAgcmV0dXJuIGUKUEsBAhQDFAAAAAAAgLJ6XV2mMtkfAAAAHwAAAAgAAAAAAAAAAAAAAIABAAAAAGluZGV4LnB5UEsFBgAAAAABAAEANgAAAEUAAAAAAA==";
        let r = self.rest(
            "lambda",
            "POST",
            "/2015-03-31/functions",
            json!({
                "FunctionName": name,
                "Runtime": "python3.12",
                "Role": format!("arn:aws:iam::{MOTO_ACCOUNT}:role/{role}"),
                "Handler": "index.handler",
                "Code": {"ZipFile": ZIP},
            }),
        );
        assert!(
            r.status < 300,
            "CreateFunction: {}",
            String::from_utf8_lossy(&r.body)
        );
        r.json()["FunctionArn"]
            .as_str()
            .expect("FunctionArn")
            .to_string()
    }

    /// The next Lambda invocation (any function) answers `result` instead of echoing.
    pub fn queue_lambda_result(&self, result: &Value) {
        let r = self.rest(
            "lambda",
            "POST",
            "/moto-api/static/lambda-simple/response",
            json!({"results": [result.to_string()], "region": "us-east-1", "account_id": MOTO_ACCOUNT}),
        );
        assert!(r.status < 300, "lambda-simple result: {r:?}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
fn form_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
