//! Extensions: CreateExtension, GetExtension, UpdateExtension, DeleteExtension,
//! ListExtensions. An extension has versions that share its Id and Name; each version is one
//! record (`{id}/{version}`) with its own ARN. The AWS-authored extensions exist in every
//! account, read-only, with an empty account field in their ARNs.

use crate::api::appconfig::{
    self as api, ActionPoint, CreateExtensionRequest, DeleteExtensionRequest, GetExtensionRequest,
    ListExtensionsRequest, UpdateExtensionRequest,
};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::ids::{new_id, parse_arn};
use super::{check_tags, decode, encode, list_with_builtins, save, Ctx, Service};
use crate::store::{AttrFilter, Kind, ListQuery, Record, Tx};

/// Wire actions as stored.
fn actions_from(
    actions: BTreeMap<ActionPoint, Vec<api::Action>>,
) -> BTreeMap<ActionPoint, Vec<Action>> {
    actions
        .into_iter()
        .map(|(point, list)| {
            let list = list
                .into_iter()
                .map(|a| Action {
                    name: a.name,
                    description: a.description,
                    uri: a.uri,
                    role_arn: a.role_arn,
                })
                .collect();
            (point, list)
        })
        .collect()
}

fn parameters_from(parameters: BTreeMap<String, api::Parameter>) -> BTreeMap<String, Parameter> {
    parameters
        .into_iter()
        .map(|(name, p)| {
            let p = Parameter {
                description: p.description,
                required: p.required.unwrap_or(false),
                dynamic: p.dynamic.unwrap_or(false),
            };
            (name, p)
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Action {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Parameter {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub dynamic: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Extension {
    pub id: String,
    pub name: String,
    pub version_number: i64,
    pub arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub actions: BTreeMap<ActionPoint, Vec<Action>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, Parameter>,
}

impl Extension {
    pub fn is_aws_authored(&self) -> bool {
        self.id.starts_with("AWS.")
    }
}

impl From<Action> for api::Action {
    fn from(a: Action) -> Self {
        api::Action {
            name: a.name,
            description: a.description,
            uri: a.uri,
            role_arn: a.role_arn,
        }
    }
}

impl From<Extension> for api::Extension {
    fn from(e: Extension) -> Self {
        let actions = e
            .actions
            .into_iter()
            .map(|(point, list)| (point, list.into_iter().map(Into::into).collect()));
        let parameters = e.parameters.into_iter().map(|(name, p)| {
            let p = api::Parameter {
                description: p.description,
                required: Some(p.required),
                dynamic: Some(p.dynamic),
            };
            (name, p)
        });
        api::Extension {
            id: Some(e.id),
            name: Some(e.name),
            version_number: Some(e.version_number),
            arn: Some(e.arn),
            description: e.description,
            actions: Some(actions.collect()),
            parameters: Some(parameters.collect::<BTreeMap<_, _>>()).filter(|p| !p.is_empty()),
        }
    }
}

/// The ExtensionSummary shape of ListExtensions.
impl From<Extension> for api::ExtensionSummary {
    fn from(e: Extension) -> Self {
        api::ExtensionSummary {
            id: Some(e.id),
            name: Some(e.name),
            version_number: Some(e.version_number),
            arn: Some(e.arn),
            description: e.description,
        }
    }
}

/// Record id of one extension version.
pub fn version_key(id: &str, version: i64) -> String {
    format!("{id}/{version}")
}

// ---------------------------------------------------------------------------------------------
// AWS-authored extensions

const NOTIFY_POINTS: &[ActionPoint] = &[
    ActionPoint::OnDeploymentStart,
    ActionPoint::OnDeploymentComplete,
    ActionPoint::OnDeploymentRolledBack,
];

struct Builtin {
    id: &'static str,
    name: &'static str,
    description: &'static str,
    points: &'static [ActionPoint],
    /// (name, description, required)
    parameters: &'static [(&'static str, &'static str, bool)],
}

const BUILTINS: &[Builtin] = &[
    Builtin {
        id: "AWS.AppConfig.FeatureFlags",
        name: "AppConfig Feature Flags Helper",
        description: "Validates AppConfig feature flag data automatically against a JSON schema that includes structure and constraints. Also transforms feature flag data prior to sending to the client. This extension is automatically associated to configuration profiles with type \"AWS.AppConfig.FeatureFlags\".",
        points: &[
            ActionPoint::PreCreateHostedConfigurationVersion,
            ActionPoint::PreStartDeployment,
        ],
        parameters: &[],
    },
    Builtin {
        id: "AWS.AppConfig.JiraIntegration",
        name: "AppConfig integration with Atlassian Jira",
        description: "Exports feature flag data from AWS AppConfig into Jira. The lifecycle of each feature flag in AppConfig is tracked in Jira as an individual issue. Customers can see in Jira when flags are updated, turned on or off. Works in conjunction with the AppConfig app in the Atlassian Marketplace and is automatically associated to configuration profiles when configured through the Atlassian Marketplace app.",
        points: &[ActionPoint::OnDeploymentComplete],
        parameters: &[],
    },
    Builtin {
        id: "AWS.AppConfig.DeploymentNotificationsToEventBridge",
        name: "AppConfig deployment events to Amazon EventBridge",
        description: "Sends events to Amazon EventBridge when a deployment of configuration data in AppConfig is started, completed, or rolled back. Can be associated to the following resources in AppConfig: Application, Environment, Configuration Profile.",
        points: NOTIFY_POINTS,
        parameters: &[],
    },
    Builtin {
        id: "AWS.AppConfig.DeploymentNotificationsToSqs",
        name: "AppConfig deployment events to Amazon SQS",
        description: "Sends messages to the configured Amazon SQS queue when a deployment of configuration data in AppConfig is started, completed, or rolled back. Can be associated to the following resources in AppConfig: Application, Environment, Configuration Profile.",
        points: NOTIFY_POINTS,
        parameters: &[("queueArn", "The Amazon SQS queue Arn that messages will be sent to.", true)],
    },
    Builtin {
        id: "AWS.AppConfig.DeploymentNotificationsToSns",
        name: "AppConfig deployment events to Amazon SNS",
        description: "Sends messages to the configured Amazon SNS topic when a deployment of configuration data in AppConfig is started, completed, or rolled back. Can be associated to the following resources in AppConfig: Application, Environment, Configuration Profile.",
        points: NOTIFY_POINTS,
        parameters: &[("topicArn", "The Amazon SNS topic Arn that messages will be sent to.", true)],
    },
];

/// The AWS-authored extensions as this region shows them. Their actions point at
/// `builtin:` URIs, which the deployment engine implements itself.
pub fn aws_authored(region: &str) -> Vec<Extension> {
    BUILTINS
        .iter()
        .map(|b| Extension {
            id: b.id.to_string(),
            name: b.name.to_string(),
            version_number: 1,
            arn: format!("arn:aws:appconfig:{region}::extension/{}/1", b.id),
            description: Some(b.description.to_string()),
            actions: b
                .points
                .iter()
                .map(|p| {
                    let action = Action {
                        name: Some(b.id.to_string()),
                        description: None,
                        uri: Some(format!("builtin:{}", b.id)),
                        role_arn: None,
                    };
                    (*p, vec![action])
                })
                .collect(),
            parameters: b
                .parameters
                .iter()
                .map(|(n, d, required)| {
                    let p = Parameter {
                        description: Some(d.to_string()),
                        required: *required,
                        dynamic: false,
                    };
                    (n.to_string(), p)
                })
                .collect(),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Resolving identifiers

/// Finds an extension version by name, id or ARN. `version` (from a query parameter or
/// body member) wins over a version inside an ARN; with neither, the highest version.
pub async fn resolve(
    svc: &Service,
    ctx: &Ctx,
    tx: &mut dyn Tx,
    identifier: &str,
    version: Option<i64>,
) -> Result<(Option<Record>, Extension)> {
    let not_found = || Error::not_found("Extension", identifier);
    let (key, arn_version) = if identifier.starts_with("arn:") {
        let p = parse_arn(identifier).ok_or_else(|| {
            Error::bad_request(format!("The extension ARN '{identifier}' is malformed."))
        })?;
        // Another region's or account's ARN names nothing here (AWS-authored ones have an
        // empty account field).
        let aws_owned =
            p.account.is_empty() && p.resource.get(1).is_some_and(|id| id.starts_with("AWS."));
        if p.region != svc.settings.region || !(aws_owned || p.account == ctx.account) {
            return Err(not_found());
        }
        match p.resource.as_slice() {
            ["extension", id, v] if p.service == "appconfig" => (
                id.to_string(),
                Some(v.parse::<i64>().map_err(|_| not_found())?),
            ),
            ["extension", id] if p.service == "appconfig" => (id.to_string(), None),
            _ => {
                return Err(Error::bad_request(format!(
                    "'{identifier}' is not an AppConfig extension ARN."
                )))
            }
        }
    } else {
        (identifier.to_string(), None)
    };
    let wanted = version.or(arn_version);

    if let Some(b) = aws_authored(&svc.settings.region)
        .into_iter()
        .find(|b| b.id == key || b.name == key)
    {
        return match wanted {
            None | Some(1) => Ok((None, b)),
            Some(_) => Err(not_found()),
        };
    }
    // By id first (the parent of its versions), then by name.
    let mut versions = versions_of(tx, Some(&key), None).await?;
    if versions.is_empty() {
        versions = versions_of(tx, None, Some(&key)).await?;
    }
    let rec = match wanted {
        Some(v) => versions
            .into_iter()
            .find(|r| r.body["VersionNumber"].as_i64() == Some(v)),
        None => versions.pop(),
    }
    .ok_or_else(not_found)?;
    let ext = decode(&rec)?;
    Ok((Some(rec), ext))
}

/// All versions of one extension (selected by id or by name), oldest first.
async fn versions_of(tx: &mut dyn Tx, id: Option<&str>, name: Option<&str>) -> Result<Vec<Record>> {
    Ok(tx
        .list(ListQuery {
            kind: Kind::Extension,
            parent: id,
            attr: name.map(|n| AttrFilter::Equals(n.to_string())),
            after_seq: 0,
            limit: 10_000,
            descending: false,
        })
        .await?)
}

// ---------------------------------------------------------------------------------------------
// Validation

fn check_actions(actions: &BTreeMap<ActionPoint, Vec<Action>>) -> Result<()> {
    for (point, list) in actions {
        for action in list {
            let field = |m: &str| format!("Actions.{point}.{m}");
            if action.name.as_deref().unwrap_or_default().is_empty() {
                return Err(Error::bad_request(format!(
                    "{} is required.",
                    field("Name")
                )));
            }
            let uri = action.uri.as_deref().unwrap_or_default();
            if !is_valid_target(uri) {
                return Err(Error::bad_request(format!(
                    "{} '{uri}' is not a valid action target: use the ARN of a Lambda function, SQS queue, SNS topic or the EventBridge default event bus, or an http(s):// URL.",
                    field("Uri")
                )));
            }
        }
    }
    Ok(())
}

/// The targets AWS accepts (Lambda, SQS, SNS, EventBridge default bus), plus webhooks.
pub fn is_valid_target(uri: &str) -> bool {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return uri.len() > "https://".len();
    }
    let Some(p) = parse_arn(uri) else {
        return false;
    };
    let named = |r: &[&str]| r.iter().all(|s| !s.is_empty());
    match p.service {
        "lambda" => uri.split(':').nth(5) == Some("function") && uri.split(':').count() >= 7,
        "sqs" | "sns" => p.resource.len() == 1 && named(&p.resource),
        "events" => p.resource == ["event-bus", "default"],
        _ => false,
    }
}

fn check_parameters(parameters: &BTreeMap<String, Parameter>) -> Result<()> {
    if let Some((name, _)) = parameters.iter().find(|(_, p)| p.dynamic && p.required) {
        return Err(Error::bad_request(format!(
            "Parameter {name} cannot be both Dynamic and Required: dynamic parameters are supplied at deployment time."
        )));
    }
    Ok(())
}

fn aws_authored_is_read_only(ext: &Extension, what: &str) -> Result<()> {
    if ext.is_aws_authored() {
        return Err(Error::bad_request(format!(
            "Cannot {what} the AWS-authored extension {}.",
            ext.id
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Operations

/// A new name creates version 1; an existing name with `Latest-Version-Number` equal to its
/// highest version creates the next version under the same Id.
pub async fn create_extension(
    svc: &Service,
    ctx: &Ctx,
    input: CreateExtensionRequest,
) -> Result<api::Extension> {
    let tags = input.tags.clone().unwrap_or_default();
    check_tags(&tags)?;
    let actions = actions_from(input.actions);
    let parameters = parameters_from(input.parameters.unwrap_or_default());
    check_actions(&actions)?;
    check_parameters(&parameters)?;
    if aws_authored(&svc.settings.region)
        .iter()
        .any(|b| b.id == input.name || b.name == input.name)
    {
        return Err(Error::Conflict(format!(
            "The name {} belongs to an AWS-authored extension.",
            input.name
        )));
    }
    let mut tx = svc.store.write(&ctx.account).await?;
    let existing = versions_of(&mut *tx, None, Some(&input.name)).await?;
    let (id, version) = match existing.last() {
        None => (new_extension_id(&mut *tx).await?, 1),
        Some(latest) => {
            let current = latest.body["VersionNumber"].as_i64().unwrap_or(0);
            match input.latest_version_number {
                Some(n) if n == current => (latest.parent.clone(), current + 1),
                Some(n) => {
                    return Err(Error::Conflict(format!(
                        "LatestVersionNumber {n} does not match the latest version {current} of extension {}.",
                        input.name
                    )))
                }
                None => {
                    return Err(Error::Conflict(format!(
                        "An extension named {} already exists. To create a new version, pass LatestVersionNumber {current}.",
                        input.name
                    )))
                }
            }
        }
    };
    let ext = Extension {
        id: id.clone(),
        name: input.name.clone(),
        version_number: version,
        arn: svc.arn(ctx, &format!("extension/{id}/{version}")),
        description: input.description,
        actions,
        parameters,
    };
    let mut rec = Record::new(
        Kind::Extension,
        version_key(&id, version),
        id,
        encode(&ext)?,
    );
    rec.attr = Some(input.name);
    rec.tags = tags;
    tx.insert(rec).await?;
    tx.commit().await?;
    Ok(ext.into())
}

async fn new_extension_id(tx: &mut dyn Tx) -> Result<String> {
    for _ in 0..8 {
        let id = new_id();
        if versions_of(tx, Some(&id), None).await?.is_empty() {
            return Ok(id);
        }
    }
    Err(Error::internal("could not allocate a unique extension id"))
}

pub async fn get_extension(
    svc: &Service,
    ctx: &Ctx,
    input: GetExtensionRequest,
) -> Result<api::Extension> {
    let ident = input.extension_identifier;
    let mut tx = svc.store.read(&ctx.account).await?;
    let (_, ext) = resolve(svc, ctx, &mut *tx, &ident, input.version_number).await?;
    Ok(ext.into())
}

/// Edits one version in place (it does not create a version).
pub async fn update_extension(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateExtensionRequest,
) -> Result<api::Extension> {
    let actions = input.actions.map(actions_from);
    let parameters = input.parameters.map(parameters_from);
    if let Some(a) = &actions {
        check_actions(a)?;
    }
    if let Some(p) = &parameters {
        check_parameters(p)?;
    }
    let ident = input.extension_identifier;
    let mut tx = svc.store.write(&ctx.account).await?;
    let (rec, mut ext) = resolve(svc, ctx, &mut *tx, &ident, input.version_number).await?;
    aws_authored_is_read_only(&ext, "update")?;
    let Some(mut rec) = rec else {
        return Err(Error::internal("stored extension without record"));
    };
    if let Some(d) = input.description {
        ext.description = Some(d);
    }
    if let Some(a) = actions {
        ext.actions = a;
    }
    if let Some(p) = parameters {
        ext.parameters = p;
    }
    save(&mut *tx, &mut rec, &ext).await?;
    tx.commit().await?;
    Ok(ext.into())
}

/// Deletes one version (default: the highest). Refused while associations use that version.
pub async fn delete_extension(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteExtensionRequest,
) -> Result<()> {
    let ident = input.extension_identifier;
    let mut tx = svc.store.write(&ctx.account).await?;
    let (rec, ext) = resolve(svc, ctx, &mut *tx, &ident, input.version_number).await?;
    aws_authored_is_read_only(&ext, "delete")?;
    let in_use = super::extension_associations::count_for_extension(&mut *tx, &ext.arn).await?;
    if in_use > 0 {
        return Err(Error::bad_request(format!(
            "Extension {} version {} still has {in_use} extension association(s). Delete them before deleting the extension.",
            ext.id, ext.version_number
        )));
    }
    if let Some(rec) = rec {
        tx.delete(Kind::Extension, &rec.id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One row per extension version: AWS-authored ones first, then the account's own.
pub async fn list_extensions(
    svc: &Service,
    ctx: &Ctx,
    input: ListExtensionsRequest,
) -> Result<api::Extensions> {
    let name = input.name;
    let builtins = aws_authored(&svc.settings.region)
        .into_iter()
        .filter(|b| name.as_ref().is_none_or(|n| &b.name == n || &b.id == n))
        .map(Into::into)
        .collect();
    let mut tx = svc.store.read(&ctx.account).await?;
    list_with_builtins(
        &mut *tx,
        builtins,
        Kind::Extension,
        name.map(AttrFilter::Equals),
        input.max_results,
        input.next_token.as_deref(),
        |r| decode::<Extension>(r).map(Into::into),
    )
    .await
    .map(Into::into)
}
