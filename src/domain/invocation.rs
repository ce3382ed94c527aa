//! Extension actions as the domain sees them: which extensions apply to a workflow, the
//! event each action receives, and the `Invoker` that delivers it. The engine implements
//! `Invoker` (webhooks, Lambda/SQS/SNS/EventBridge, AWS-authored notifications); the domain
//! only decides what to call, with what, and what the answer means.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::deployments::ActionPoint;
use super::error::{Error, Result};
use super::extension_associations::{self, ExtensionAssociation};
use super::extensions::{self, Extension};
use super::{ids, Ctx, Service};
use crate::store::Tx;

/// One call of one action. Serialisable, so pending calls can wait in the durable outbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ActionCall {
    pub invocation_id: String,
    pub action_point: String,
    pub extension_id: String,
    pub extension_arn: String,
    pub association_id: String,
    #[serde(default)]
    pub association_arn: String,
    pub action_name: String,
    pub uri: String,
    pub role_arn: Option<String>,
    /// The association's parameters (plus dynamic ones); AWS-authored targets read theirs here.
    pub parameters: BTreeMap<String, String>,
    /// The JSON event the target receives.
    pub event: Value,
}

impl ActionCall {
    /// The `ActionInvocation` recorded on the deployment event.
    pub fn record(&self, error: Option<&InvokeError>) -> ActionInvocation {
        ActionInvocation {
            extension_identifier: self.extension_id.clone(),
            action_name: self.action_name.clone(),
            uri: self.uri.clone(),
            invocation_id: self.invocation_id.clone(),
            role_arn: self.role_arn.clone(),
            error_code: error.map(|e| e.code.clone()),
            error_message: error.map(|e| e.message.clone()),
        }
    }
}

/// The model's `ActionInvocation` shape: one call as a deployment event records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActionInvocation {
    pub extension_identifier: String,
    pub action_name: String,
    pub uri: String,
    pub invocation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
}

impl From<ActionInvocation> for crate::api::appconfig::ActionInvocation {
    fn from(a: ActionInvocation) -> Self {
        crate::api::appconfig::ActionInvocation {
            extension_identifier: Some(a.extension_identifier),
            action_name: Some(a.action_name),
            uri: Some(a.uri),
            invocation_id: Some(a.invocation_id),
            role_arn: a.role_arn,
            error_code: a.error_code,
            error_message: a.error_message,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvokeError {
    pub code: String,
    pub message: String,
}

impl InvokeError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        InvokeError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// Delivers an action call and returns the target's JSON answer, if it gave one.
#[async_trait::async_trait]
pub trait Invoker: Send + Sync {
    async fn invoke(&self, call: &ActionCall) -> std::result::Result<Option<Value>, InvokeError>;
}

/// An invoker that refuses everything; for tools and tests that never run extensions.
pub struct NoInvoker;

#[async_trait::async_trait]
impl Invoker for NoInvoker {
    async fn invoke(&self, call: &ActionCall) -> std::result::Result<Option<Value>, InvokeError> {
        Err(InvokeError::new(
            "NotConfigured",
            format!("no invoker configured for {}", call.uri),
        ))
    }
}

/// An association in effect, with the extension version it pins.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Applied {
    pub association: ExtensionAssociation,
    pub extension: Extension,
}

impl Applied {
    /// What a deployment records of the extension it applied (the model's `AppliedExtension`).
    pub fn applied_extension(
        &self,
        dynamic: &BTreeMap<String, String>,
    ) -> super::deployments::AppliedExtension {
        super::deployments::AppliedExtension {
            extension_id: self.extension.id.clone(),
            extension_association_id: self.association.id.clone(),
            version_number: self.extension.version_number,
            parameters: self.parameters(dynamic),
        }
    }

    /// Association parameters plus the dynamic ones addressed to this extension.
    pub fn parameters(&self, dynamic: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut p = self.association.parameters.clone();
        for (key, value) in dynamic {
            if let Some((reference, name)) = key.split_once('#') {
                if self.matches_reference(reference) {
                    p.insert(name.to_string(), value.clone());
                }
            }
        }
        p
    }

    /// A dynamic-parameter reference names the extension (id, name or ARN) or the association.
    pub fn matches_reference(&self, reference: &str) -> bool {
        let e = &self.extension;
        reference == e.id
            || reference == e.name
            || reference == e.arn
            || reference == self.association.id
            || reference == self.association.arn
    }
}

/// The associations in effect for a workflow, in AWS's order: application, then environment,
/// then configuration profile; within one resource, oldest first.
pub async fn applied_extensions(
    svc: &Service,
    ctx: &Ctx,
    tx: &mut dyn Tx,
    app_id: &str,
    env_id: Option<&str>,
    profile_id: &str,
) -> Result<Vec<Applied>> {
    let mut resources = vec![format!("application/{app_id}")];
    if let Some(env) = env_id {
        resources.push(format!("application/{app_id}/environment/{env}"));
    }
    resources.push(format!(
        "application/{app_id}/configurationprofile/{profile_id}"
    ));
    let mut out = Vec::new();
    for r in resources {
        let arn = svc.arn(ctx, &r);
        for association in extension_associations::all(tx, Some(&arn)).await? {
            let (_, extension) =
                extensions::resolve(svc, ctx, tx, &association.extension_arn, None).await?;
            out.push(Applied {
                association,
                extension,
            });
        }
    }
    Ok(out)
}

/// Names and ids of the resources an event describes.
#[derive(Debug, Clone, Default)]
pub struct EventContext {
    pub application: (String, String),
    pub environment: Option<(String, String)>,
    pub profile: (String, String),
    pub deployment_number: Option<i64>,
    pub description: Option<String>,
    pub configuration_version: Option<String>,
}

/// Content carried by PRE_* events.
pub struct EventContent<'a> {
    pub bytes: &'a [u8],
    pub content_type: &'a str,
}

/// `ON_DEPLOYMENT_START` → `OnDeploymentStart`, as AWS names event types.
pub fn event_type(action_point: &str) -> String {
    action_point_words(action_point).concat()
}

/// The words of an action point in title case: `ON_DEPLOYMENT_START` → On, Deployment, Start
/// (the event `Type` joins them; EventBridge's detail-type joins them with spaces).
pub fn action_point_words(action_point: &str) -> Vec<String> {
    action_point
        .split('_')
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut c = lower.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// Builds the calls of every applied extension that has an action at `point`.
pub fn calls_for(
    applied: &[Applied],
    point: ActionPoint,
    ctx: &EventContext,
    dynamic: &BTreeMap<String, String>,
    content: Option<&EventContent<'_>>,
) -> Vec<ActionCall> {
    let mut calls = Vec::new();
    for a in applied {
        let Some(actions) = a.extension.actions.get(&point) else {
            continue;
        };
        for action in actions {
            let invocation_id = ids::new_id();
            let parameters = a.parameters(dynamic);
            let mut event = json!({
                "InvocationId": invocation_id,
                "Parameters": parameters,
                "Type": event_type(point.as_str()),
                "Application": {"Id": ctx.application.0, "Name": ctx.application.1},
                "ConfigurationProfile": {"Id": ctx.profile.0, "Name": ctx.profile.1},
                "Description": ctx.description,
            });
            if let Some((id, name)) = &ctx.environment {
                event["Environment"] = json!({"Id": id, "Name": name});
            }
            if let Some(n) = ctx.deployment_number {
                event["DeploymentNumber"] = json!(n);
            }
            if let Some(v) = &ctx.configuration_version {
                event["ConfigurationVersion"] = json!(v);
            }
            if let Some(c) = content {
                event["Content"] = json!(B64.encode(c.bytes));
                event["ContentType"] = json!(c.content_type);
                if let Some(v) = &ctx.configuration_version {
                    event["ContentVersion"] = json!(v);
                }
            }
            calls.push(ActionCall {
                invocation_id,
                action_point: point.as_str().to_string(),
                extension_id: a.extension.id.clone(),
                extension_arn: a.extension.arn.clone(),
                association_id: a.association.id.clone(),
                association_arn: a.association.arn.clone(),
                action_name: action.name.clone().unwrap_or_default(),
                uri: action.uri.clone().unwrap_or_default(),
                role_arn: action.role_arn.clone(),
                parameters,
                event,
            });
        }
    }
    calls
}

/// Runs PRE_* calls one after another; each may replace the content (`{"Content": base64}`),
/// and the next sees the replaced content. A failure stops the workflow with BadRequest.
pub async fn run_pre_actions(
    svc: &Service,
    calls: Vec<ActionCall>,
    mut content: Vec<u8>,
) -> Result<(Vec<u8>, Vec<ActionInvocation>)> {
    let mut records = Vec::new();
    for mut call in calls {
        call.event["Content"] = json!(B64.encode(&content));
        match svc.invoker.invoke(&call).await {
            Ok(answer) => {
                if let Some(new) = answer
                    .as_ref()
                    .and_then(|a| a.get("Content"))
                    .and_then(Value::as_str)
                {
                    content = B64.decode(new).map_err(|e| {
                        Error::bad_request(format!(
                            "Extension {} action {} returned Content that is not base64: {e}",
                            call.extension_id, call.action_name
                        ))
                    })?;
                }
                records.push(call.record(None));
            }
            Err(e) => {
                return Err(Error::bad_request(format!(
                    "Extension {} action {} ({}) failed at {}: {}: {}",
                    call.extension_id,
                    call.action_name,
                    call.uri,
                    call.action_point,
                    e.code,
                    e.message
                )))
            }
        }
    }
    Ok((content, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_type_names() {
        assert_eq!(event_type("ON_DEPLOYMENT_START"), "OnDeploymentStart");
        assert_eq!(
            event_type("ON_DEPLOYMENT_ROLLED_BACK"),
            "OnDeploymentRolledBack"
        );
        assert_eq!(
            event_type("PRE_CREATE_HOSTED_CONFIGURATION_VERSION"),
            "PreCreateHostedConfigurationVersion"
        );
        assert_eq!(event_type("AT_DEPLOYMENT_TICK"), "AtDeploymentTick");
    }
}
