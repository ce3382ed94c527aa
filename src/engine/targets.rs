//! Extension targets: where an action's Uri points, and how it is called.
//!
//! - `http://` / `https://`: POST of the JSON event (our webhook target); 2xx is success and
//!   a JSON answer is returned to the caller (PRE_* actions may replace content with it).
//! - Lambda, SQS, SNS and EventBridge ARNs: Invoke / SendMessage / Publish / PutEvents through
//!   the AWS SDK for Rust, configured by the standard chain, so `AWS_ENDPOINT_URL` (or
//!   `AWS_ENDPOINT_URL_SQS`, …) points it at any AWS-compatible endpoint.
//! - `builtin:AWS.AppConfig.*`: the AWS-authored extensions, delivering AWS's notification
//!   formats to the queue, topic or default bus given in the association parameters.

use std::sync::OnceLock;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_types::Blob;
use serde_json::{json, Value};
use tokio::sync::OnceCell;

use crate::domain::ids::parse_arn;
use crate::domain::invocation::{action_point_words, ActionCall, InvokeError, Invoker};

type Outcome = std::result::Result<Option<Value>, InvokeError>;

pub struct TargetInvoker {
    /// Built on first use: loading the platform's root certificates takes a while, and most
    /// servers never call out.
    http: OnceLock<reqwest::Client>,
    timeout: Duration,
    region: String,
    aws: OnceCell<SdkConfig>,
}

/// The reqwest client in `cell`, built on first use. (Building only fails if the TLS
/// provider is missing, which `install_crypto_provider` rules out.)
pub fn http_client(cell: &OnceLock<reqwest::Client>, timeout: Duration) -> &reqwest::Client {
    cell.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_default()
    })
}

/// One HTTP/TLS stack for the whole process: rustls with the ring provider.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client for AWS SDK clients, on the same rustls/ring stack.
pub fn smithy_http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls;
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Loads the AWS SDK configuration from the standard chain (env, profile, …); the region
/// falls back to appconfigd's own `--region`. The HTTP client must be given before loading:
/// the chain's own providers (IMDS, ECS) need one.
pub async fn aws_config(region: &str) -> SdkConfig {
    let load = |fallback: Option<Region>| {
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).http_client(smithy_http_client());
        if let Some(r) = fallback {
            loader = loader.region(r);
        }
        loader.load()
    };
    let config = load(None).await;
    if config.region().is_some() {
        return config;
    }
    load(Some(Region::new(region.to_string()))).await
}

impl TargetInvoker {
    pub fn new(region: &str, timeout: Duration) -> Self {
        install_crypto_provider();
        TargetInvoker {
            http: OnceLock::new(),
            timeout,
            region: region.to_string(),
            aws: OnceCell::new(),
        }
    }

    fn http(&self) -> &reqwest::Client {
        http_client(&self.http, self.timeout)
    }

    async fn aws(&self) -> &SdkConfig {
        self.aws.get_or_init(|| aws_config(&self.region)).await
    }

    async fn webhook(&self, url: &str, event: &Value) -> Outcome {
        let resp = self
            .http()
            .post(url)
            .header("content-type", "application/json")
            .body(event.to_string())
            .send()
            .await
            .map_err(|e| {
                let code = if e.is_timeout() {
                    "Timeout"
                } else {
                    "ConnectionError"
                };
                InvokeError::new(code, format!("POST {url}: {e}"))
            })?;
        let status = resp.status();
        let body = resp.bytes().await.unwrap_or_default();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let snippet: String = text.chars().take(300).collect();
            return Err(InvokeError::new(
                format!("HTTP{}", status.as_u16()),
                format!("POST {url} answered {status}: {snippet}"),
            ));
        }
        Ok(serde_json::from_slice(&body).ok())
    }

    async fn lambda(&self, arn: &str, event: &Value) -> Outcome {
        let client = aws_sdk_lambda::Client::new(self.aws().await);
        let out = client
            .invoke()
            .function_name(arn)
            .payload(Blob::new(event.to_string()))
            .send()
            .await
            .map_err(|e| sdk_error("Lambda.Invoke", e))?;
        let payload = out
            .payload()
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default();
        if let Some(kind) = out.function_error() {
            let text = String::from_utf8_lossy(&payload)
                .chars()
                .take(300)
                .collect::<String>();
            return Err(InvokeError::new(
                "LambdaFunctionError",
                format!("{kind}: {text}"),
            ));
        }
        Ok(serde_json::from_slice(&payload).ok())
    }

    async fn sqs(&self, queue_arn: &str, body: String) -> Outcome {
        let arn = parse_arn(queue_arn)
            .filter(|a| a.service == "sqs" && a.resource.len() == 1)
            .ok_or_else(|| {
                InvokeError::new(
                    "InvalidTarget",
                    format!("not an SQS queue ARN: {queue_arn}"),
                )
            })?;
        let client = aws_sdk_sqs::Client::new(self.aws().await);
        let url = client
            .get_queue_url()
            .queue_name(arn.resource[0])
            .queue_owner_aws_account_id(arn.account)
            .send()
            .await
            .map_err(|e| sdk_error("SQS.GetQueueUrl", e))?;
        let url = url.queue_url().unwrap_or_default().to_string();
        client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| sdk_error("SQS.SendMessage", e))?;
        Ok(None)
    }

    async fn sns(&self, topic_arn: &str, message: String, event_type: &str) -> Outcome {
        let client = aws_sdk_sns::Client::new(self.aws().await);
        let attr = aws_sdk_sns::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(event_type)
            .build()
            .map_err(|e| InvokeError::new("InvalidTarget", e.to_string()))?;
        client
            .publish()
            .topic_arn(topic_arn)
            .message(message)
            .message_attributes("MessageType", attr)
            .send()
            .await
            .map_err(|e| sdk_error("SNS.Publish", e))?;
        Ok(None)
    }

    async fn eventbridge(&self, bus: &str, call: &ActionCall, detail: &Value) -> Outcome {
        let client = aws_sdk_eventbridge::Client::new(self.aws().await);
        let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
            .source("aws.appconfig")
            .detail_type(detail_type(&call.action_point))
            .detail(detail.to_string())
            .resources(call.association_arn.clone())
            .event_bus_name(bus)
            .build();
        let out = client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| sdk_error("EventBridge.PutEvents", e))?;
        if out.failed_entry_count() > 0 {
            let reason = out
                .entries()
                .first()
                .and_then(|e| e.error_message())
                .unwrap_or("entry rejected")
                .to_string();
            return Err(InvokeError::new("EventBridgeFailedEntry", reason));
        }
        Ok(None)
    }

    /// The AWS-authored extensions.
    async fn builtin(&self, name: &str, call: &ActionCall) -> Outcome {
        let event_type = call.event["Type"].as_str().unwrap_or_default().to_string();
        let param = |key: &str| {
            call.parameters.get(key).cloned().ok_or_else(|| {
                InvokeError::new("MissingParameter", format!("{name} needs parameter {key}"))
            })
        };
        match name {
            "AWS.AppConfig.DeploymentNotificationsToSqs" => {
                self.sqs(
                    &param("queueArn")?,
                    notification(&call.event, true).to_string(),
                )
                .await
            }
            "AWS.AppConfig.DeploymentNotificationsToSns" => {
                let message = notification(&call.event, true).to_string();
                self.sns(&param("topicArn")?, message, &event_type).await
            }
            "AWS.AppConfig.DeploymentNotificationsToEventBridge" => {
                self.eventbridge("default", call, &notification(&call.event, false))
                    .await
            }
            // Feature-flag validation runs inside CreateHostedConfigurationVersion; Jira is a
            // marketplace integration with nothing to call here.
            "AWS.AppConfig.FeatureFlags" | "AWS.AppConfig.JiraIntegration" => Ok(None),
            other => Err(InvokeError::new(
                "InvalidTarget",
                format!("unknown built-in {other}"),
            )),
        }
    }
}

/// AWS's notification envelope: the event without parameters; SQS and SNS carry the
/// deployment number as a string (as AWS's samples show), EventBridge as a number.
fn notification(event: &Value, number_as_string: bool) -> Value {
    let mut e = event.clone();
    if let Some(obj) = e.as_object_mut() {
        obj.remove("Parameters");
        if number_as_string {
            if let Some(n) = obj.get("DeploymentNumber").and_then(Value::as_i64) {
                obj.insert("DeploymentNumber".into(), json!(n.to_string()));
            }
        }
    }
    e
}

/// `ON_DEPLOYMENT_START` → `On Deployment Start` (EventBridge detail-type).
pub fn detail_type(action_point: &str) -> String {
    action_point_words(action_point).join(" ")
}

fn sdk_error<E: std::error::Error>(what: &str, e: E) -> InvokeError {
    // The SDK's Display is terse; the source chain carries the service's message.
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    InvokeError::new(format!("{what}Failed"), message)
}

#[async_trait::async_trait]
impl Invoker for TargetInvoker {
    async fn invoke(&self, call: &ActionCall) -> Outcome {
        self.call_target(call).await
    }
}

impl TargetInvoker {
    async fn call_target(&self, call: &ActionCall) -> Outcome {
        let uri = call.uri.as_str();
        if uri.starts_with("http://") || uri.starts_with("https://") {
            return self.webhook(uri, &call.event).await;
        }
        if let Some(name) = uri.strip_prefix("builtin:") {
            return self.builtin(name, call).await;
        }
        let service = parse_arn(uri).map(|a| a.service).unwrap_or_default();
        match service {
            "lambda" => self.lambda(uri, &call.event).await,
            "sqs" => self.sqs(uri, call.event.to_string()).await,
            "sns" => {
                let t = call.event["Type"].as_str().unwrap_or_default().to_string();
                self.sns(uri, call.event.to_string(), &t).await
            }
            "events" => self.eventbridge(uri, call, &call.event).await,
            _ => Err(InvokeError::new(
                "InvalidTarget",
                format!("unsupported action target {uri}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_types() {
        assert_eq!(detail_type("ON_DEPLOYMENT_START"), "On Deployment Start");
        assert_eq!(
            detail_type("ON_DEPLOYMENT_ROLLED_BACK"),
            "On Deployment Rolled Back"
        );
    }

    #[test]
    fn notification_envelope() {
        let e = json!({"Type": "OnDeploymentStart", "DeploymentNumber": 3, "Parameters": {"queueArn": "x"}});
        let n = notification(&e, true);
        assert_eq!(n["DeploymentNumber"], json!("3"));
        assert!(n.get("Parameters").is_none());
        assert_eq!(notification(&e, false)["DeploymentNumber"], json!(3));
    }
}
