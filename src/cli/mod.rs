//! Operator subcommands that talk to a running server through its public API, like any SDK:
//! `export` / `import` of an account's resources and `status` of live deployments.
//!
//! Requests are signed with SigV4 (service `appconfig`) using `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`) from the environment, `test`/`test` if
//! unset, so the commands work against a server started with `--credentials` as well as an
//! anonymous one.

pub mod export;
pub mod status;

use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use clap::Args;
use http::{HeaderMap, Method, StatusCode};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

/// Flags every operator subcommand shares.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The server's URL, e.g. http://127.0.0.1:2772.
    #[arg(
        long,
        env = "APPCONFIGD_ENDPOINT",
        default_value = "http://127.0.0.1:2772"
    )]
    pub endpoint: String,

    /// Region to sign requests for (the server's `--region`).
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{method} {path}: {source}")]
    Http {
        method: Method,
        path: String,
        source: reqwest::Error,
    },
    #[error("{method} {path} answered {status} {code}: {message}")]
    Api {
        method: Method,
        path: String,
        status: u16,
        code: String,
        message: String,
    },
    #[error("cannot sign the request: {0}")]
    Sign(String),
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Ends a subcommand: prints the error, if any, and picks the exit code.
pub fn exit(result: Result<(), CliError>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("appconfigd: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Path segments are escaped as the AWS SDKs escape labels: all but `A-Za-z0-9-_.~`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `/a/b/c` from raw segments, each escaped (an ARN stays one segment).
pub fn path(segments: &[&str]) -> String {
    segments
        .iter()
        .map(|s| format!("/{}", utf8_percent_encode(s, SEGMENT)))
        .collect()
}

/// A SigV4-signing client of one server.
pub struct Api {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    credentials: aws_credential_types::Credentials,
}

/// A successful answer.
pub struct Reply {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Result<Value, CliError> {
        if self.body.is_empty() {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| CliError::Invalid(format!("the server answered with invalid JSON: {e}")))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Api {
    pub fn new(conn: &Connection) -> Result<Api, CliError> {
        crate::engine::targets::install_crypto_provider();
        let endpoint = conn.endpoint.trim_end_matches('/').to_string();
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            return Err(CliError::Invalid(format!(
                "--endpoint must be an http:// or https:// URL, got {endpoint:?}"
            )));
        }
        let var = |name: &str, default: &str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| default.to_string())
        };
        let credentials = aws_credential_types::Credentials::new(
            var("AWS_ACCESS_KEY_ID", "test"),
            var("AWS_SECRET_ACCESS_KEY", "test"),
            std::env::var("AWS_SESSION_TOKEN")
                .ok()
                .filter(|v| !v.is_empty()),
            None,
            "environment",
        );
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|source| CliError::Http {
                method: Method::GET,
                path: endpoint.clone(),
                source,
            })?;
        Ok(Api {
            http,
            endpoint,
            region: conn.region.clone(),
            credentials,
        })
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// One signed request. `query` pairs are escaped here; `path` comes from [`path`].
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Result<Reply, CliError> {
        let mut url = format!("{}{}", self.endpoint, path);
        if !query.is_empty() {
            let q: Vec<String> = query
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        utf8_percent_encode(k, SEGMENT),
                        utf8_percent_encode(v, SEGMENT)
                    )
                })
                .collect();
            url = format!("{url}?{}", q.join("&"));
        }
        let body = body.unwrap_or_default();
        let identity = self.credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("appconfig")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| CliError::Sign(e.to_string()))?
            .into();
        let signable = SignableRequest::new(
            method.as_str(),
            url.as_str(),
            headers.iter().map(|(k, v)| (*k, v.as_str())),
            SignableBody::Bytes(&body),
        )
        .map_err(|e| CliError::Sign(e.to_string()))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| CliError::Sign(e.to_string()))?
            .into_parts();
        let mut req = self.http.request(method.clone(), &url);
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        for (k, v) in instructions.headers() {
            req = req.header(k, v);
        }
        let fail = |source| CliError::Http {
            method: method.clone(),
            path: path.to_string(),
            source,
        };
        let resp = req.body(body).send().await.map_err(fail)?;
        let status = resp.status();
        let resp_headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(fail)?;
        if !status.is_success() {
            return Err(api_error(method, path, status, &resp_headers, &bytes));
        }
        Ok(Reply {
            headers: resp_headers,
            body: bytes,
        })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, CliError> {
        self.call(Method::GET, path, query, &[], None).await?.json()
    }

    /// A JSON request body; answers the JSON reply.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: &Value,
        headers: &[(&str, String)],
    ) -> Result<Value, CliError> {
        let mut all = vec![("content-type", "application/json".to_string())];
        all.extend(headers.iter().cloned());
        self.call(method, path, &[], &all, Some(body.to_string().into_bytes()))
            .await?
            .json()
    }

    /// Every item of a list operation, following NextToken.
    pub async fn list(&self, path: &str) -> Result<Vec<Value>, CliError> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("max_results", "50".to_string())];
            if let Some(t) = &token {
                query.push(("next_token", t.clone()));
            }
            let page = self.get(path, &query).await?;
            if let Some(list) = page["Items"].as_array() {
                items.extend(list.iter().cloned());
            }
            match page["NextToken"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(items),
            }
        }
    }
}

fn api_error(
    method: Method,
    path: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> CliError {
    let parsed: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .or_else(|| parsed["__type"].as_str())
        .unwrap_or_default();
    let code = code.split(':').next().unwrap_or_default().to_string();
    let message = parsed["Message"]
        .as_str()
        .or_else(|| parsed["message"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
    CliError::Api {
        method,
        path: path.to_string(),
        status: status.as_u16(),
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_segments_stay_one_segment() {
        assert_eq!(
            path(&["tags", "arn:aws:appconfig:us-east-1:1:application/abc"]),
            "/tags/arn%3Aaws%3Aappconfig%3Aus-east-1%3A1%3Aapplication%2Fabc"
        );
        assert_eq!(
            path(&["applications", "a-b_c.d~e"]),
            "/applications/a-b_c.d~e"
        );
    }
}
