//! Hosted configuration versions: CreateHostedConfigurationVersion,
//! GetHostedConfigurationVersion, DeleteHostedConfigurationVersion,
//! ListHostedConfigurationVersions. Content bytes are stored exactly as received; metadata
//! travels in headers on the wire (the model binds it so).

use crate::api::appconfig::{
    self as api, DeleteHostedConfigurationVersionRequest, GetHostedConfigurationVersionRequest,
    ListHostedConfigurationVersionsRequest,
};
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::configuration_profiles::load_profile;
use super::deployments::ActionPoint;
use super::error::{Error, Result};
use super::{decode, encode, featureflags, invocation, list_page, Ctx, Service};
use crate::store::{AttrFilter, Kind, ListQuery, Record, Tx};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostedConfigurationVersion {
    pub application_id: String,
    pub configuration_profile_id: String,
    pub version_number: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub content_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
}

/// The wire form of a stored version; its content travels beside it as the payload.
impl From<HostedConfigurationVersion> for api::HostedConfigurationVersion {
    fn from(v: HostedConfigurationVersion) -> Self {
        api::HostedConfigurationVersion {
            application_id: Some(v.application_id),
            configuration_profile_id: Some(v.configuration_profile_id),
            version_number: Some(v.version_number),
            description: v.description,
            content_type: Some(v.content_type),
            version_label: v.version_label,
            kms_key_arn: v.kms_key_arn,
            content: None,
        }
    }
}

/// The list form: the wire version's members, all but the content.
impl From<HostedConfigurationVersion> for api::HostedConfigurationVersionSummary {
    fn from(v: HostedConfigurationVersion) -> Self {
        let v = api::HostedConfigurationVersion::from(v);
        api::HostedConfigurationVersionSummary {
            application_id: v.application_id,
            configuration_profile_id: v.configuration_profile_id,
            version_number: v.version_number,
            description: v.description,
            content_type: v.content_type,
            version_label: v.version_label,
            kms_key_arn: v.kms_key_arn,
        }
    }
}

/// Store key of a version (record id and content key alike).
pub fn version_key(app_id: &str, profile_id: &str, number: i64) -> String {
    format!("{app_id}/{profile_id}/{number}")
}

/// The newest existing version of a profile, if any.
pub async fn latest_version(
    tx: &mut dyn Tx,
    app_id: &str,
    profile_id: &str,
) -> Result<Option<Record>> {
    let parent = format!("{app_id}/{profile_id}");
    super::newest(tx, Kind::HostedConfigurationVersion, &parent).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateHostedConfigurationVersionRequest {
    pub application_id: String,
    pub configuration_profile_id: String,
    pub description: Option<String>,
    pub content_type: String,
    pub latest_version_number: Option<i64>,
    pub version_label: Option<String>,
}

pub async fn create_hosted_configuration_version(
    svc: &Service,
    ctx: &Ctx,
    input: CreateHostedConfigurationVersionRequest,
    content: Bytes,
) -> Result<(api::HostedConfigurationVersion, Bytes)> {
    let limit = svc.settings.quotas.hosted_configuration_bytes;
    if content.len() > limit {
        return Err(payload_too_large(limit, content.len()));
    }
    let (app_id, profile_id) = (
        input.application_id.clone(),
        input.configuration_profile_id.clone(),
    );
    let content = run_pre_create_actions(svc, ctx, &app_id, &profile_id, &input, content).await?;
    if content.len() > limit {
        return Err(payload_too_large(limit, content.len()));
    }
    let mut tx = svc.store.write(&ctx.account).await?;
    let (_, profile) = load_profile(&mut *tx, &app_id, &profile_id).await?;
    if !profile.is_hosted() {
        return Err(Error::bad_request(format!(
            "Configuration profile {profile_id} uses LocationUri '{}'; hosted versions can only be created for 'hosted' profiles.",
            profile.location_uri
        )));
    }
    // Only an optimistic-lock check needs the newest version (one query fewer otherwise).
    if let Some(expected) = input.latest_version_number {
        let latest_number = latest_version(&mut *tx, &app_id, &profile_id)
            .await?
            .and_then(|r| r.body["VersionNumber"].as_i64())
            .unwrap_or(0);
        if expected != latest_number {
            return Err(Error::Conflict(format!(
                "LatestVersionNumber {expected} does not match the latest hosted configuration version {latest_number} of configuration profile {profile_id}."
            )));
        }
    }
    let parent = format!("{app_id}/{profile_id}");
    if let Some(label) = &input.version_label {
        let taken = tx
            .list(ListQuery {
                kind: Kind::HostedConfigurationVersion,
                parent: Some(&parent),
                attr: Some(AttrFilter::Equals(label.clone())),
                after_seq: 0,
                limit: 1,
                descending: false,
            })
            .await?;
        if !taken.is_empty() {
            return Err(Error::Conflict(format!(
                "VersionLabel '{label}' is already used by another hosted configuration version of configuration profile {profile_id}."
            )));
        }
    }
    if profile.is_feature_flags() {
        featureflags::validate(&content).map_err(|details| {
            Error::invalid_configuration(
                "The feature flag configuration is invalid.".to_string(),
                details,
            )
        })?;
    }
    // A per-profile counter, so numbers are never reused after a delete.
    let number = tx.next_counter(&format!("hostedversion:{parent}")).await?;
    let version = HostedConfigurationVersion {
        application_id: app_id.clone(),
        configuration_profile_id: profile_id.clone(),
        version_number: number,
        description: input.description,
        content_type: input.content_type,
        version_label: input.version_label.clone(),
        kms_key_arn: profile.kms_key_arn.clone(),
    };
    let key = version_key(&app_id, &profile_id, number);
    let mut rec = Record::new(
        Kind::HostedConfigurationVersion,
        key.clone(),
        parent,
        encode(&version)?,
    );
    rec.attr = input.version_label;
    tx.insert_with_content(rec, &key, &content).await?;
    tx.commit().await?;
    Ok((version.into(), content))
}

/// PRE_CREATE_HOSTED_CONFIGURATION_VERSION actions of the application's and the profile's
/// associations run before anything is stored; they may replace the content or refuse it.
async fn run_pre_create_actions(
    svc: &Service,
    ctx: &Ctx,
    app_id: &str,
    profile_id: &str,
    input: &CreateHostedConfigurationVersionRequest,
    content: Bytes,
) -> Result<Bytes> {
    const POINT: ActionPoint = ActionPoint::PreCreateHostedConfigurationVersion;
    let mut tx = svc.store.read(&ctx.account).await?;
    // Associations first: most profiles have none, and then nothing else needs reading here
    // (the write re-checks that application and profile exist).
    let applied =
        invocation::applied_extensions(svc, ctx, &mut *tx, app_id, None, profile_id).await?;
    if !applied
        .iter()
        .any(|a| a.extension.actions.contains_key(&POINT))
    {
        return Ok(content);
    }
    let app = crate::domain::load_application(&mut *tx, app_id).await?;
    let (_, profile) = load_profile(&mut *tx, app_id, profile_id).await?;
    let next_number = latest_version(&mut *tx, app_id, profile_id)
        .await?
        .and_then(|r| r.body["VersionNumber"].as_i64())
        .unwrap_or(0)
        + 1;
    drop(tx);
    let event_ctx = invocation::EventContext {
        application: (
            app_id.to_string(),
            app.body["Name"].as_str().unwrap_or_default().to_string(),
        ),
        environment: None,
        profile: (profile_id.to_string(), profile.name.clone()),
        deployment_number: None,
        description: input.description.clone(),
        configuration_version: Some(next_number.to_string()),
    };
    let calls = invocation::calls_for(
        &applied,
        POINT,
        &event_ctx,
        &Default::default(),
        Some(&invocation::EventContent {
            bytes: &content,
            content_type: &input.content_type,
        }),
    );
    let (content, _) = invocation::run_pre_actions(svc, calls, content.to_vec()).await?;
    Ok(Bytes::from(content))
}

fn payload_too_large(limit: usize, size: usize) -> Error {
    // Kilobytes with two decimals; the size rounds up so it always shows above the limit.
    let kb = |b: usize| b as f64 / 1024.0;
    let limit_kb = (kb(limit) * 100.0).floor() / 100.0;
    let size_kb = (kb(size) * 100.0).ceil() / 100.0;
    Error::PayloadTooLarge {
        message: format!(
            "The content is {size_kb} KB, larger than the {limit_kb} KB allowed for a hosted configuration version."
        ),
        limit: limit_kb,
        size: size_kb,
    }
}

/// Used by the wire layer when the body is cut off before it was read completely.
pub fn too_large(svc: &Service, size: usize) -> Error {
    payload_too_large(svc.settings.quotas.hosted_configuration_bytes, size)
}

pub async fn get_hosted_configuration_version(
    svc: &Service,
    ctx: &Ctx,
    input: GetHostedConfigurationVersionRequest,
) -> Result<(api::HostedConfigurationVersion, Bytes)> {
    let (app_id, profile_id) = (input.application_id, input.configuration_profile_id);
    let mut tx = svc.store.read(&ctx.account).await?;
    load_profile(&mut *tx, &app_id, &profile_id).await?;
    let key = version_key(&app_id, &profile_id, input.version_number);
    let rec = tx
        .get(Kind::HostedConfigurationVersion, &key)
        .await?
        .ok_or_else(|| {
            Error::not_found(
                "HostedConfigurationVersion",
                &input.version_number.to_string(),
            )
        })?;
    let content = tx.get_content(&key).await?.unwrap_or_default();
    let version: HostedConfigurationVersion = decode(&rec)?;
    Ok((version.into(), Bytes::from(content)))
}

pub async fn delete_hosted_configuration_version(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteHostedConfigurationVersionRequest,
) -> Result<()> {
    let (app_id, profile_id) = (input.application_id, input.configuration_profile_id);
    let mut tx = svc.store.write(&ctx.account).await?;
    load_profile(&mut *tx, &app_id, &profile_id).await?;
    let key = version_key(&app_id, &profile_id, input.version_number);
    if !tx.delete(Kind::HostedConfigurationVersion, &key).await? {
        return Err(Error::not_found(
            "HostedConfigurationVersion",
            &input.version_number.to_string(),
        ));
    }
    tx.delete_content(&key).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list_hosted_configuration_versions(
    svc: &Service,
    ctx: &Ctx,
    input: ListHostedConfigurationVersionsRequest,
) -> Result<api::HostedConfigurationVersions> {
    let (app_id, profile_id) = (input.application_id, input.configuration_profile_id);
    let mut tx = svc.store.read(&ctx.account).await?;
    load_profile(&mut *tx, &app_id, &profile_id).await?;
    // `v2*` matches labels starting with `v2`; without a trailing `*` the match is exact.
    let filter = input.version_label.map(|l| match l.strip_suffix('*') {
        Some(prefix) => AttrFilter::Prefix(prefix.to_string()),
        None => AttrFilter::Equals(l),
    });
    list_page(
        &mut *tx,
        Kind::HostedConfigurationVersion,
        Some(&format!("{app_id}/{profile_id}")),
        filter,
        input.max_results,
        input.next_token.as_deref(),
        |r| decode::<HostedConfigurationVersion>(r).map(Into::into),
    )
    .await
    .map(Into::into)
}
