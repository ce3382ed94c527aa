//! Configuration profiles: CreateConfigurationProfile, GetConfigurationProfile,
//! UpdateConfigurationProfile, DeleteConfigurationProfile, ListConfigurationProfiles.

use crate::api::appconfig::{
    self as api, CreateConfigurationProfileRequest, DeleteConfigurationProfileRequest,
    GetConfigurationProfileRequest, ListConfigurationProfilesRequest,
    UpdateConfigurationProfileRequest,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{Error, Result};
use super::insert_and_commit;
use super::sources::Source;
use super::{checked_tags, Quota};
use super::{decode, encode, list_page, load_application, must_get, Ctx, Service};
use crate::store::{AttrFilter, Kind, Record, Tx};

pub const FREEFORM: &str = "AWS.Freeform";
pub const FEATURE_FLAGS: &str = "AWS.AppConfig.FeatureFlags";
pub const HOSTED: &str = "hosted";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Validator {
    pub r#type: api::ValidatorType,
    pub content: String,
}

impl From<api::Validator> for Validator {
    fn from(v: api::Validator) -> Self {
        Validator {
            r#type: v.r#type,
            content: v.content,
        }
    }
}

impl From<Validator> for api::Validator {
    fn from(v: Validator) -> Self {
        api::Validator {
            r#type: v.r#type,
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

impl From<ConfigurationProfile> for api::ConfigurationProfile {
    fn from(p: ConfigurationProfile) -> Self {
        api::ConfigurationProfile {
            application_id: Some(p.application_id),
            id: Some(p.id),
            name: Some(p.name),
            description: p.description,
            location_uri: Some(p.location_uri),
            retrieval_role_arn: p.retrieval_role_arn,
            validators: Some(p.validators.into_iter().map(Into::into).collect()),
            r#type: Some(p.r#type),
            kms_key_arn: p.kms_key_arn,
            kms_key_identifier: p.kms_key_identifier,
        }
    }
}

/// The wire form of a stored profile.
fn output(rec: &Record) -> Result<api::ConfigurationProfile> {
    decode::<ConfigurationProfile>(rec).map(Into::into)
}

/// The summary shape of ListConfigurationProfiles (ValidatorTypes only when there are some).
fn summary(rec: &Record) -> Result<api::ConfigurationProfileSummary> {
    let p: ConfigurationProfile = decode(rec)?;
    let types: Vec<api::ValidatorType> = p.validators.iter().map(|v| v.r#type).collect();
    Ok(api::ConfigurationProfileSummary {
        application_id: Some(p.application_id),
        id: Some(p.id),
        name: Some(p.name),
        location_uri: Some(p.location_uri),
        r#type: Some(p.r#type),
        validator_types: (!types.is_empty()).then_some(types),
    })
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
        match v.r#type {
            api::ValidatorType::JsonSchema => {
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
            api::ValidatorType::Lambda => {
                let c = v.content.as_str();
                let lambda = c.starts_with("arn:") && c.contains(":lambda:");
                let webhook = c.starts_with("http://") || c.starts_with("https://");
                if !lambda && !webhook {
                    return Err(Error::bad_request(format!(
                        "The LAMBDA validator at '{field}' must be a Lambda function ARN or an http(s) URL, got '{c}'."
                    )));
                }
            }
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
    load_application(tx, app_id).await?;
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
) -> Result<api::ConfigurationProfile> {
    let tags = checked_tags(input.tags)?;
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
    let limit = svc.settings.quotas.profiles_per_application;
    let what = "configuration profiles";
    let quota = Quota::application(Kind::ConfigurationProfile, &app_id, limit, what);
    // Tags were checked first, before the other members.
    let (tx, tags) = svc.begin_create(ctx, Some(tags), quota).await?;
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
    output(&insert_and_commit(tx, rec, tags).await?)
}

pub async fn get_configuration_profile(
    svc: &Service,
    ctx: &Ctx,
    input: GetConfigurationProfileRequest,
) -> Result<api::ConfigurationProfile> {
    let mut tx = svc.read(ctx).await?;
    let (rec, _) = load_profile(
        &mut *tx,
        &input.application_id,
        &input.configuration_profile_id,
    )
    .await?;
    output(&rec)
}

pub async fn update_configuration_profile(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateConfigurationProfileRequest,
) -> Result<api::ConfigurationProfile> {
    let validators: Option<Vec<Validator>> = input
        .validators
        .map(|v| v.into_iter().map(Validator::from).collect());
    if let Some(v) = &validators {
        check_validators(v)?;
    }
    let mut tx = svc.write(ctx).await?;
    let (rec, mut profile) = load_profile(
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
    svc.save_in_application(ctx, tx, rec, profile, &input.application_id)
        .await
}

pub async fn delete_configuration_profile(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteConfigurationProfileRequest,
) -> Result<()> {
    let (app_id, id) = (input.application_id, input.configuration_profile_id);
    let mut tx = svc.write(ctx).await?;
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
    svc.delete_in_application(ctx, tx, Kind::ConfigurationProfile, &id, &app_id)
        .await
}

pub async fn list_configuration_profiles(
    svc: &Service,
    ctx: &Ctx,
    input: ListConfigurationProfilesRequest,
) -> Result<api::ConfigurationProfiles> {
    let mut tx = svc
        .in_application(ctx, &input.application_id, false)
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
    .map(Into::into)
}
