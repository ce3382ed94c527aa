//! Extension associations: CreateExtensionAssociation, GetExtensionAssociation,
//! UpdateExtensionAssociation, DeleteExtensionAssociation, ListExtensionAssociations.
//! An association attaches one extension version, with parameter values, to an application,
//! environment or configuration profile.

use crate::api::appconfig::{
    self as api, CreateExtensionAssociationRequest, DeleteExtensionAssociationRequest,
    GetExtensionAssociationRequest, ListExtensionAssociationsRequest,
    UpdateExtensionAssociationRequest,
};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::extensions::{self, Extension};
use super::ids::parse_arn;
use super::{
    check_tags, decode, encode, insert_with_new_id, must_get, pagination, save, Ctx, Listed,
    Service,
};
use crate::store::{AttrFilter, Kind, ListQuery, Record, Tx};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExtensionAssociation {
    pub id: String,
    pub extension_arn: String,
    pub resource_arn: String,
    pub arn: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    pub extension_version_number: i64,
    /// Not on the wire (the output shape has no such member): used for filtering.
    #[serde(rename = "_ExtensionId")]
    pub extension_id: String,
}

impl From<ExtensionAssociation> for api::ExtensionAssociation {
    fn from(a: ExtensionAssociation) -> Self {
        api::ExtensionAssociation {
            id: Some(a.id),
            extension_arn: Some(a.extension_arn),
            resource_arn: Some(a.resource_arn),
            arn: Some(a.arn),
            parameters: Some(a.parameters),
            extension_version_number: Some(a.extension_version_number),
        }
    }
}

impl From<ExtensionAssociation> for api::ExtensionAssociationSummary {
    fn from(a: ExtensionAssociation) -> Self {
        api::ExtensionAssociationSummary {
            id: Some(a.id),
            extension_arn: Some(a.extension_arn),
            resource_arn: Some(a.resource_arn),
        }
    }
}

/// Checks that `arn` names an existing application, environment or configuration profile of
/// this account. A string that is no such ARN is a BadRequest; a well-formed ARN of a missing
/// resource is a ResourceNotFound.
pub async fn check_resource(svc: &Service, ctx: &Ctx, tx: &mut dyn Tx, arn: &str) -> Result<()> {
    let malformed = || {
        Error::bad_request(format!(
            "ResourceIdentifier '{arn}' must be the ARN of an application, environment or configuration profile."
        ))
    };
    let p = parse_arn(arn).ok_or_else(malformed)?;
    if p.service != "appconfig" {
        return Err(malformed());
    }
    let missing = || Error::ResourceNotFound {
        message: format!("Resource {arn} not found"),
        resource_name: Some(arn.to_string()),
    };
    let mine = p.region == svc.settings.region && p.account == ctx.account;
    match p.resource.as_slice() {
        ["application", app] => {
            if !mine {
                return Err(missing());
            }
            super::load_application(tx, app)
                .await
                .map_err(|_| missing())?;
        }
        ["application", app, kind @ ("environment" | "configurationprofile"), id] => {
            if !mine {
                return Err(missing());
            }
            let kind = if *kind == "environment" {
                Kind::Environment
            } else {
                Kind::ConfigurationProfile
            };
            must_get(tx, kind, id, app, "Resource")
                .await
                .map_err(|_| missing())?;
        }
        _ => return Err(malformed()),
    }
    Ok(())
}

/// Every Required parameter must be given; names the extension does not declare are refused.
fn check_parameters(ext: &Extension, params: &BTreeMap<String, String>) -> Result<()> {
    if let Some(unknown) = params.keys().find(|k| !ext.parameters.contains_key(*k)) {
        return Err(Error::bad_request(format!(
            "Parameter {unknown} is not defined by extension {} version {}.",
            ext.id, ext.version_number
        )));
    }
    let missing: Vec<&str> = ext
        .parameters
        .iter()
        .filter(|(name, p)| p.required && !params.contains_key(*name))
        .map(|(name, _)| name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(Error::bad_request(format!(
            "Required parameter(s) {} of extension {} must be provided.",
            missing.join(", "),
            ext.id
        )));
    }
    Ok(())
}

/// Associations that pin `extension_arn` (one extension version).
pub async fn count_for_extension(tx: &mut dyn Tx, extension_arn: &str) -> Result<usize> {
    Ok(all(tx, None)
        .await?
        .iter()
        .filter(|a| a.extension_arn == extension_arn)
        .count())
}

/// All associations, or those on one resource ARN.
pub async fn all(tx: &mut dyn Tx, resource_arn: Option<&str>) -> Result<Vec<ExtensionAssociation>> {
    let rows = tx
        .list(ListQuery {
            kind: Kind::ExtensionAssociation,
            parent: None,
            attr: resource_arn.map(|r| AttrFilter::Equals(r.to_string())),
            after_seq: 0,
            limit: i64::MAX,
            descending: false,
        })
        .await?;
    rows.iter().map(decode).collect()
}

/// Deletes the associations on a resource that is being deleted (same transaction).
pub async fn delete_for_resource(tx: &mut dyn Tx, resource_arn: &str) -> Result<()> {
    for a in all(tx, Some(resource_arn)).await? {
        tx.delete(Kind::ExtensionAssociation, &a.id).await?;
    }
    Ok(())
}

pub async fn create_extension_association(
    svc: &Service,
    ctx: &Ctx,
    input: CreateExtensionAssociationRequest,
) -> Result<api::ExtensionAssociation> {
    let tags = input.tags.clone().unwrap_or_default();
    check_tags(&tags)?;
    let mut tx = svc.store.write(&ctx.account).await?;
    let (_, ext) = extensions::resolve(
        svc,
        ctx,
        &mut *tx,
        &input.extension_identifier,
        input.extension_version_number,
    )
    .await?;
    let resource_arn = input.resource_identifier;
    check_resource(svc, ctx, &mut *tx, &resource_arn).await?;
    let parameters = input.parameters.unwrap_or_default();
    check_parameters(&ext, &parameters)?;
    if all(&mut *tx, Some(&resource_arn))
        .await?
        .iter()
        .any(|a| a.extension_id == ext.id)
    {
        return Err(Error::bad_request(format!(
            "Extension {} is already associated with {resource_arn}.",
            ext.id
        )));
    }
    let assoc = ExtensionAssociation {
        id: String::new(),
        extension_arn: ext.arn.clone(),
        resource_arn: resource_arn.clone(),
        arn: String::new(),
        parameters,
        extension_version_number: ext.version_number,
        extension_id: ext.id.clone(),
    };
    let mut rec = Record::new(Kind::ExtensionAssociation, "", "", encode(&assoc)?);
    rec.attr = Some(resource_arn);
    rec.tags = tags;
    let mut rec = insert_with_new_id(&mut *tx, rec).await?;
    // The ARN embeds the id, known only after insertion.
    let mut assoc: ExtensionAssociation = decode(&rec)?;
    assoc.arn = svc.arn(ctx, &format!("extensionassociation/{}", assoc.id));
    save(&mut *tx, &mut rec, &assoc).await?;
    tx.commit().await?;
    Ok(assoc.into())
}

async fn load(tx: &mut dyn Tx, id: &str) -> Result<(Record, ExtensionAssociation)> {
    let rec = must_get(
        tx,
        Kind::ExtensionAssociation,
        id,
        "",
        "ExtensionAssociation",
    )
    .await?;
    let assoc = decode(&rec)?;
    Ok((rec, assoc))
}

pub async fn get_extension_association(
    svc: &Service,
    ctx: &Ctx,
    input: GetExtensionAssociationRequest,
) -> Result<api::ExtensionAssociation> {
    let mut tx = svc.store.read(&ctx.account).await?;
    let (_, assoc) = load(&mut *tx, &input.extension_association_id).await?;
    Ok(assoc.into())
}

/// Parameters, when given, replace the old map and are checked against the pinned version.
pub async fn update_extension_association(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateExtensionAssociationRequest,
) -> Result<api::ExtensionAssociation> {
    let mut tx = svc.store.write(&ctx.account).await?;
    let (mut rec, mut assoc) = load(&mut *tx, &input.extension_association_id).await?;
    if let Some(params) = input.parameters {
        let (_, ext) = extensions::resolve(svc, ctx, &mut *tx, &assoc.extension_arn, None).await?;
        check_parameters(&ext, &params)?;
        assoc.parameters = params;
    }
    save(&mut *tx, &mut rec, &assoc).await?;
    tx.commit().await?;
    Ok(assoc.into())
}

pub async fn delete_extension_association(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteExtensionAssociationRequest,
) -> Result<()> {
    let mut tx = svc.store.write(&ctx.account).await?;
    load(&mut *tx, &input.extension_association_id).await?;
    tx.delete(Kind::ExtensionAssociation, &input.extension_association_id)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The resource filter runs in SQL (indexed attribute); the extension filters are applied to
/// each batch, reading on until the page is full.
pub async fn list_extension_associations(
    svc: &Service,
    ctx: &Ctx,
    input: ListExtensionAssociationsRequest,
) -> Result<api::ExtensionAssociations> {
    let page = pagination::page(input.max_results, input.next_token.as_deref())?;
    let mut tx = svc.store.read(&ctx.account).await?;
    if input.extension_version_number.is_some() && input.extension_identifier.is_none() {
        return Err(Error::bad_request(
            "extension_version_number can only be used together with extension_identifier.",
        ));
    }
    // A versioned extension ARN filters on its version too, unless a version is given.
    let (extension_id, version) = match &input.extension_identifier {
        Some(ident) => {
            let (_, ext) =
                extensions::resolve(svc, ctx, &mut *tx, ident, input.extension_version_number)
                    .await?;
            let arn_version = ident.starts_with("arn:") && ident.split('/').count() == 3;
            let version = input
                .extension_version_number
                .or(arn_version.then_some(ext.version_number));
            (Some(ext.id), version)
        }
        None => (None, None),
    };
    let matches = |a: &ExtensionAssociation| {
        extension_id.as_ref().is_none_or(|id| &a.extension_id == id)
            && version.is_none_or(|v| a.extension_version_number == v)
    };
    let mut found: Vec<(i64, api::ExtensionAssociationSummary)> = Vec::new();
    let mut after = page.after_seq;
    loop {
        let batch = tx
            .list(ListQuery {
                kind: Kind::ExtensionAssociation,
                parent: None,
                attr: input.resource_identifier.clone().map(AttrFilter::Equals),
                after_seq: after,
                limit: page.limit + 1,
                descending: false,
            })
            .await?;
        let done = (batch.len() as i64) < page.limit + 1;
        for rec in &batch {
            after = rec.seq;
            let a: ExtensionAssociation = decode(rec)?;
            if matches(&a) {
                found.push((rec.seq, a.into()));
            }
        }
        if done || found.len() as i64 > page.limit {
            break;
        }
    }
    found.truncate(page.limit as usize + 1);
    let (rows, next_token) = pagination::finish(found, page.limit, |r| r.0);
    let items = rows.into_iter().map(|r| r.1).collect();
    Ok(Listed { items, next_token }.into())
}
