//! Configuration profiles: CreateConfigurationProfile, GetConfigurationProfile,
//! UpdateConfigurationProfile, DeleteConfigurationProfile, ListConfigurationProfiles.

use crate::api::appconfig::{
    CreateConfigurationProfileRequest, DeleteConfigurationProfileRequest,
    GetConfigurationProfileRequest, ListConfigurationProfilesRequest,
    UpdateConfigurationProfileRequest,
};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::{Error, Result};
use super::sources::Source;
use super::{check_tags, decode, encode, insert_with_new_id, list_page, must_get, Ctx, Service};
use crate::store::{AttrFilter, Kind, Record, Tx};

pub const FREEFORM: &str = "AWS.Freeform";
pub const FEATURE_FLAGS: &str = "AWS.AppConfig.FeatureFlags";
pub const HOSTED: &str = "hosted";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Validator {
    pub r#type: String,
    pub content: String,
}

impl From<crate::api::appconfig::Validator> for Validator {
    fn from(v: crate::api::appconfig::Validator) -> Self {
        Validator {
            r#type: v.r#type.as_str().to_string(),
            content: v.content,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigurationProfile {
    pub application_id: String,
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub location_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retrieval_role_arn: Option<String>,
    #[serde(default)]
    pub validators: Vec<Validator>,
    pub r#type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_identifier: Option<String>,
}

impl ConfigurationProfile {
    pub fn is_hosted(&self) -> bool {
        self.location_uri == HOSTED
    }
    pub fn is_feature_flags(&self) -> bool {
        self.r#type == FEATURE_FLAGS
    }
}

/// The summary shape of ListConfigurationProfiles.
fn summary(rec: &Record) -> Value {
    let b = &rec.body;
    let types: Vec<Value> = b["Validators"]
        .as_array()
        .map(|v| v.iter().map(|x| x["Type"].clone()).collect())
        .unwrap_or_default();
    let mut s = json!({
        "ApplicationId": b["ApplicationId"],
        "Id": b["Id"],
        "Name": b["Name"],
        "LocationUri": b["LocationUri"],
        "Type": b["Type"],
    });
    if !types.is_empty() {
        s["ValidatorTypes"] = Value::Array(types);
    }
    s
}

/// The LocationUri must be `hosted` or a source appconfigd can parse; external sources other
/// than CodePipeline need a RetrievalRoleArn (AWS requires one; docs/decisions.md).
fn check_location(uri: &str, profile_type: &str, role: Option<&str>) -> Result<()> {
    let source = Source::parse(uri).map_err(Error::bad_request)?;
    if profile_type == FEATURE_FLAGS && source.is_some() {
        return Err(Error::bad_request(format!(
            "Configuration profiles of type {FEATURE_FLAGS} must use LocationUri 'hosted'."
        )));
    }
    let needs_role = !matches!(source, None | Some(Source::CodePipeline { .. }));
    if needs_role && role.is_none() {
        return Err(Error::bad_request(format!(
            "RetrievalRoleArn is required for LocationUri '{uri}': AppConfig reads the source with that role."
        )));
    }
    Ok(())
}

/// A JSON_SCHEMA validator must hold a schema that itself compiles; a LAMBDA validator names a
/// function ARN (or, for self-hosted use, an http(s) URL).
fn check_validators(validators: &[Validator]) -> Result<()> {
    for (i, v) in validators.iter().enumerate() {
        let field = format!("validators.{}.member.content", i + 1);
        match v.r#type.as_str() {
            "JSON_SCHEMA" => {
                let schema: Value = serde_json::from_str(&v.content).map_err(|e| {
                    Error::bad_request(format!(
                        "The JSON_SCHEMA validator at '{field}' is not valid JSON: {e}"
                    ))
                })?;
                super::validation::compile_schema(&schema).map_err(|e| {
                    Error::bad_request(format!(
                        "The JSON_SCHEMA validator at '{field}' is not a valid JSON schema: {e}"
                    ))
                })?;
            }
            "LAMBDA" => {
                let c = v.content.as_str();
                let lambda = c.starts_with("arn:") && c.contains(":lambda:");
                let webhook = c.starts_with("http://") || c.starts_with("https://");
                if !lambda && !webhook {
                    return Err(Error::bad_request(format!(
                        "The LAMBDA validator at '{field}' must be a Lambda function ARN or an http(s) URL, got '{c}'."
                    )));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// KmsKeyArn as AWS resolves it: an ARN stays, a key id or alias becomes the ARN in this region.
fn kms_arn(svc: &Service, ctx: &Ctx, identifier: &str) -> String {
    if identifier.starts_with("arn:") {
        identifier.to_string()
    } else if identifier.starts_with("alias/") {
        format!(
            "arn:aws:kms:{}:{}:{identifier}",
            svc.settings.region, ctx.account
        )
    } else {
        format!(
            "arn:aws:kms:{}:{}:key/{identifier}",
            svc.settings.region, ctx.account
        )
    }
}

pub async fn load_profile(
    tx: &mut dyn Tx,
    app_id: &str,
    profile_id: &str,
) -> Result<(Record, ConfigurationProfile)> {
    must_get(tx, Kind::Application, app_id, "", "Application").await?;
    let rec = must_get(
        tx,
        Kind::ConfigurationProfile,
        profile_id,
        app_id,
        "ConfigurationProfile",
    )
    .await?;
    let profile = decode(&rec)?;
    Ok((rec, profile))
}

pub async fn create_configuration_profile(
    svc: &Service,
    ctx: &Ctx,
    input: CreateConfigurationProfileRequest,
) -> Result<Value> {
    let tags = input.tags.clone().unwrap_or_default();
    check_tags(&tags)?;
    let profile_type = input.r#type.unwrap_or_else(|| FREEFORM.to_string());
    if profile_type != FREEFORM && profile_type != FEATURE_FLAGS {
        return Err(Error::bad_request(format!(
            "Type '{profile_type}' is not supported. Use {FREEFORM} or {FEATURE_FLAGS}."
        )));
    }
    check_location(
        &input.location_uri,
        &profile_type,
        input.retrieval_role_arn.as_deref(),
    )?;
    let validators: Vec<Validator> = input
        .validators
        .unwrap_or_default()
        .into_iter()
        .map(Validator::from)
        .collect();
    check_validators(&validators)?;
    let app_id = input.application_id;
    let mut tx = svc.store.write(&ctx.account).await?;
    must_get(&mut *tx, Kind::Application, &app_id, "", "Application").await?;
    let quota = svc.settings.quotas.profiles_per_application;
    if tx.count(Kind::ConfigurationProfile, Some(&app_id)).await? >= quota {
        return Err(Error::ServiceQuotaExceeded(format!(
            "The number of configuration profiles in application {app_id} has reached the limit of {quota}."
        )));
    }
    let profile = ConfigurationProfile {
        application_id: app_id.clone(),
        id: String::new(),
        name: input.name,
        description: input.description,
        location_uri: input.location_uri,
        retrieval_role_arn: input.retrieval_role_arn,
        validators,
        r#type: profile_type.clone(),
        kms_key_arn: input
            .kms_key_identifier
            .as_deref()
            .map(|k| kms_arn(svc, ctx, k)),
        kms_key_identifier: input.kms_key_identifier,
    };
    let mut rec = Record::new(Kind::ConfigurationProfile, "", app_id, encode(&profile)?);
    rec.attr = Some(profile_type);
    rec.tags = tags;
    let rec = insert_with_new_id(&mut *tx, rec).await?;
    tx.commit().await?;
    Ok(rec.body)
}

pub async fn get_configuration_profile(
    svc: &Service,
    ctx: &Ctx,
    input: GetConfigurationProfileRequest,
) -> Result<Value> {
    let mut tx = svc.store.read(&ctx.account).await?;
    let (rec, _) = load_profile(
        &mut *tx,
        &input.application_id,
        &input.configuration_profile_id,
    )
    .await?;
    Ok(rec.body)
}

pub async fn update_configuration_profile(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateConfigurationProfileRequest,
) -> Result<Value> {
    let validators: Option<Vec<Validator>> = input
        .validators
        .map(|v| v.into_iter().map(Validator::from).collect());
    if let Some(v) = &validators {
        check_validators(v)?;
    }
    let mut tx = svc.store.write(&ctx.account).await?;
    let (mut rec, mut profile) = load_profile(
        &mut *tx,
        &input.application_id,
        &input.configuration_profile_id,
    )
    .await?;
    if let Some(n) = input.name {
        profile.name = n;
    }
    if let Some(d) = input.description {
        profile.description = Some(d);
    }
    if let Some(r) = input.retrieval_role_arn {
        profile.retrieval_role_arn = Some(r);
    }
    if let Some(v) = validators {
        profile.validators = v;
    }
    // An empty KmsKeyIdentifier removes the key (model: KmsKeyIdentifierOrEmpty).
    match input.kms_key_identifier.as_deref() {
        Some("") => {
            profile.kms_key_identifier = None;
            profile.kms_key_arn = None;
        }
        Some(k) => {
            profile.kms_key_arn = Some(kms_arn(svc, ctx, k));
            profile.kms_key_identifier = Some(k.to_string());
        }
        None => {}
    }
    rec.body = encode(&profile)?;
    tx.update(&rec).await?;
    tx.commit().await?;
    svc.application_changed(ctx, &input.application_id);
    Ok(rec.body)
}

pub async fn delete_configuration_profile(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteConfigurationProfileRequest,
) -> Result<Value> {
    let (app_id, id) = (input.application_id, input.configuration_profile_id);
    let mut tx = svc.store.write(&ctx.account).await?;
    let (rec, _) = load_profile(&mut *tx, &app_id, &id).await?;
    super::settings::check_deletion_protection(
        svc,
        &mut *tx,
        &format!("configuration profile {id}"),
        &format!("configurationprofile/{id}"),
        rec.created_at,
        input.deletion_protection_check.map(|c| c.as_str()),
    )
    .await?;
    let versions = tx
        .count(
            Kind::HostedConfigurationVersion,
            Some(&format!("{app_id}/{id}")),
        )
        .await?;
    if versions > 0 {
        return Err(Error::bad_request(format!(
            "Cannot delete configuration profile {id} because there are still hosted configuration versions existing under it."
        )));
    }
    let arn = svc.arn(
        ctx,
        &format!("application/{app_id}/configurationprofile/{id}"),
    );
    super::extension_associations::delete_for_resource(&mut *tx, &arn).await?;
    tx.delete(Kind::ConfigurationProfile, &id).await?;
    tx.commit().await?;
    svc.application_changed(ctx, &app_id);
    Ok(Value::Null)
}

pub async fn list_configuration_profiles(
    svc: &Service,
    ctx: &Ctx,
    input: ListConfigurationProfilesRequest,
) -> Result<Value> {
    let mut tx = svc.store.read(&ctx.account).await?;
    must_get(
        &mut *tx,
        Kind::Application,
        &input.application_id,
        "",
        "Application",
    )
    .await?;
    list_page(
        &mut *tx,
        Kind::ConfigurationProfile,
        Some(&input.application_id),
        input.r#type.map(AttrFilter::Equals),
        input.max_results,
        input.next_token.as_deref(),
        summary,
    )
    .await
}
