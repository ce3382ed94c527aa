//! Applications: CreateApplication, GetApplication, UpdateApplication, DeleteApplication,
//! ListApplications.

use crate::api::appconfig::{
    self as api, CreateApplicationRequest, DeleteApplicationRequest, GetApplicationRequest,
    ListApplicationsRequest, UpdateApplicationRequest,
};

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::{
    check_quota, check_tags, decode, encode, insert_with_new_id, list_page, load_application, save,
    Ctx, Service,
};
use crate::store::{Kind, Record};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Application {
    pub id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl From<Application> for api::Application {
    fn from(a: Application) -> Self {
        api::Application {
            id: Some(a.id),
            name: Some(a.name),
            description: a.description,
        }
    }
}

/// The wire form of a stored application.
fn output(rec: &Record) -> Result<api::Application> {
    decode::<Application>(rec).map(Into::into)
}

pub async fn create_application(
    svc: &Service,
    ctx: &Ctx,
    input: CreateApplicationRequest,
) -> Result<api::Application> {
    let tags = input.tags.clone().unwrap_or_default();
    check_tags(&tags)?;
    let mut tx = svc.store.write(&ctx.account).await?;
    let limit = svc.settings.quotas.applications;
    let counted = "applications in this account";
    check_quota(&mut *tx, Kind::Application, None, limit, counted).await?;
    let app = Application {
        id: String::new(),
        name: input.name,
        description: input.description,
    };
    let mut rec = Record::new(Kind::Application, "", "", encode(&app)?);
    rec.tags = tags;
    let rec = insert_with_new_id(&mut *tx, rec).await?;
    tx.commit().await?;
    output(&rec)
}

pub async fn get_application(
    svc: &Service,
    ctx: &Ctx,
    input: GetApplicationRequest,
) -> Result<api::Application> {
    let mut tx = svc.store.read(&ctx.account).await?;
    output(&load_application(&mut *tx, &input.application_id).await?)
}

pub async fn update_application(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateApplicationRequest,
) -> Result<api::Application> {
    let mut tx = svc.store.write(&ctx.account).await?;
    let mut rec = load_application(&mut *tx, &input.application_id).await?;
    let mut app: Application = decode(&rec)?;
    if let Some(n) = input.name {
        app.name = n;
    }
    if let Some(d) = input.description {
        app.description = Some(d);
    }
    save(&mut *tx, &mut rec, &app).await?;
    tx.commit().await?;
    svc.application_changed(ctx, &input.application_id);
    Ok(app.into())
}

/// Refuses while environments or configuration profiles remain (see docs/decisions.md).
pub async fn delete_application(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteApplicationRequest,
) -> Result<()> {
    let id = input.application_id;
    let mut tx = svc.store.write(&ctx.account).await?;
    load_application(&mut *tx, &id).await?;
    for (kind, what) in [
        (Kind::Environment, "environments"),
        (Kind::ConfigurationProfile, "configuration profiles"),
    ] {
        if tx.count(kind, Some(&id)).await? > 0 {
            return Err(Error::bad_request(format!(
                "Cannot delete application {id} because there are still {what} existing under it."
            )));
        }
    }
    let arn = svc.arn(ctx, &format!("application/{id}"));
    super::extension_associations::delete_for_resource(&mut *tx, &arn).await?;
    tx.delete(Kind::Application, &id).await?;
    tx.commit().await?;
    svc.application_changed(ctx, &id);
    Ok(())
}

pub async fn list_applications(
    svc: &Service,
    ctx: &Ctx,
    input: ListApplicationsRequest,
) -> Result<api::Applications> {
    let mut tx = svc.store.read(&ctx.account).await?;
    list_page(
        &mut *tx,
        Kind::Application,
        None,
        None,
        input.max_results,
        input.next_token.as_deref(),
        output,
    )
    .await
    .map(Into::into)
}
