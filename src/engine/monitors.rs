//! Environment monitors, checked while a deployment is DEPLOYING or BAKING.
//!
//! - A CloudWatch alarm ARN: `DescribeAlarms` in the Query protocol, signed with SigV4 by
//!   `aws-sigv4`. (The current `aws-sdk-cloudwatch` speaks rpc-v2-cbor, which moto and many
//!   AWS-compatible endpoints do not.) `ALARM` or `INSUFFICIENT_DATA` rolls back, as in AWS.
//! - An `http(s)://` AlarmArn (appconfigd extension): a health check; a non-2xx answer or no
//!   answer rolls back.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use tokio::sync::OnceCell;

use crate::domain::environments::Monitor;
use crate::domain::ids::parse_arn;

pub struct Monitors {
    /// Built on first use: loading the platform's root certificates takes a while, and most
    /// servers never call out.
    http: OnceLock<reqwest::Client>,
    timeout: Duration,
    region: String,
    aws: OnceCell<SdkConfig>,
}

impl Monitors {
    pub fn new(region: &str) -> Self {
        super::targets::install_crypto_provider();
        Monitors {
            http: OnceLock::new(),
            timeout: Duration::from_secs(3),
            region: region.to_string(),
            aws: OnceCell::new(),
        }
    }

    /// Why the deployment must roll back, if the monitor says so.
    pub async fn alarm(&self, m: &Monitor) -> Option<String> {
        let arn = m.alarm_arn.as_str();
        if arn.starts_with("http://") || arn.starts_with("https://") {
            let http = super::targets::http_client(&self.http, self.timeout);
            return match http.get(arn).send().await {
                Ok(r) if r.status().is_success() => None,
                Ok(r) => Some(format!("Health check {arn} answered {}", r.status())),
                Err(e) => Some(format!("Health check {arn} did not answer: {e}")),
            };
        }
        match self.cloudwatch_state(arn).await {
            Ok(state) if state == "ALARM" || state == "INSUFFICIENT_DATA" => Some(format!(
                "Rollback triggered by CloudWatch alarm {arn} in state {state}"
            )),
            Ok(_) => None,
            Err(e) => {
                // A monitor we cannot read is not evidence of a problem; AWS keeps going too.
                tracing::warn!(alarm = %arn, error = %e, "cannot read alarm state");
                None
            }
        }
    }

    async fn cloudwatch_state(&self, alarm_arn: &str) -> Result<String, String> {
        let p = parse_arn(alarm_arn).ok_or_else(|| format!("not an ARN: {alarm_arn}"))?;
        // arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME
        let name = alarm_arn
            .splitn(7, ':')
            .nth(6)
            .filter(|_| p.service == "cloudwatch")
            .ok_or_else(|| format!("not a CloudWatch alarm ARN: {alarm_arn}"))?;
        let region = if p.region.is_empty() {
            self.region.as_str()
        } else {
            p.region
        };
        let endpoint = std::env::var("AWS_ENDPOINT_URL_CLOUDWATCH")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|_| format!("https://monitoring.{region}.amazonaws.com"));
        let url = format!("{}/", endpoint.trim_end_matches('/'));
        let body = format!(
            "Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1={}",
            percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC)
        );

        let config = self
            .aws
            .get_or_init(|| super::targets::aws_config(&self.region))
            .await;
        let provider = config
            .credentials_provider()
            .ok_or("no AWS credentials configured")?;
        let creds = provider
            .provide_credentials()
            .await
            .map_err(|e| e.to_string())?;
        let identity = creds.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("monitoring")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| e.to_string())?
            .into();
        let content_type = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = [("content-type", content_type)];
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| e.to_string())?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| e.to_string())?
            .into_parts();
        let http = super::targets::http_client(&self.http, self.timeout);
        let mut req = http.post(&url).header("content-type", content_type);
        for (name, value) in instructions.headers() {
            req = req.header(name, value);
        }
        let resp = req.body(body).send().await.map_err(|e| e.to_string())?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("DescribeAlarms answered {status}: {text}"));
        }
        // The alarm is missing: treat it as AWS treats an alarm it cannot evaluate.
        Ok(xml_value(&text, "StateValue").unwrap_or_else(|| "INSUFFICIENT_DATA".to_string()))
    }
}

/// The text of the first `<tag>…</tag>` (the DescribeAlarms answer is small and flat enough).
fn xml_value(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_state_value() {
        let xml = "<DescribeAlarmsResponse><DescribeAlarmsResult><MetricAlarms><member><AlarmName>a</AlarmName><StateValue>ALARM</StateValue></member></MetricAlarms></DescribeAlarmsResult></DescribeAlarmsResponse>";
        assert_eq!(xml_value(xml, "StateValue").as_deref(), Some("ALARM"));
        assert_eq!(xml_value("<x/>", "StateValue"), None);
    }
}
