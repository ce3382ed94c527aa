//! Applications: CreateApplication, GetApplication, UpdateApplication, DeleteApplication,
//! ListApplications.

use crate::api::appconfig::{
    self as api, CreateApplicationRequest, DeleteApplicationRequest, GetApplicationRequest,
    ListApplicationsRequest, UpdateApplicationRequest,
};

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::insert_and_commit;
use super::Quota;
use super::{decode, encode, list_page, load_application, Ctx, Service};
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
    let limit = svc.settings.quotas.applications;
    let quota = Quota::account(Kind::Application, limit, "applications");
    let (tx, tags) = svc.begin_create(ctx, input.tags, quota).await?;
    let app = Application {
        id: String::new(),
        name: input.name,
        description: input.description,
    };
    let rec = Record::new(Kind::Application, "", "", encode(&app)?);
    output(&insert_and_commit(tx, rec, tags).await?)
}

pub async fn get_application(
    svc: &Service,
    ctx: &Ctx,
    input: GetApplicationRequest,
) -> Result<api::Application> {
    let mut tx = svc.read(ctx).await?;
    output(&load_application(&mut *tx, &input.application_id).await?)
}

pub async fn update_application(
    svc: &Service,
    ctx: &Ctx,
    input: UpdateApplicationRequest,
) -> Result<api::Application> {
    let mut tx = svc.write(ctx).await?;
    let rec = load_application(&mut *tx, &input.application_id).await?;
    let mut app: Application = decode(&rec)?;
    if let Some(n) = input.name {
        app.name = n;
    }
    if let Some(d) = input.description {
        app.description = Some(d);
    }
    svc.save_in_application(ctx, tx, rec, app, &input.application_id)
        .await
}

/// Refuses while environments or configuration profiles remain (see docs/decisions.md).
pub async fn delete_application(
    svc: &Service,
    ctx: &Ctx,
    input: DeleteApplicationRequest,
) -> Result<()> {
    let id = input.application_id;
    let mut tx = svc.in_application(ctx, &id, true).await?;
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
    svc.delete_in_application(ctx, tx, Kind::Application, &id, &id)
        .await
}

pub async fn list_applications(
    svc: &Service,
    ctx: &Ctx,
    input: ListApplicationsRequest,
) -> Result<api::Applications> {
    let mut tx = svc.read(ctx).await?;
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
