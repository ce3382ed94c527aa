//! The domain: AppConfig resources, their rules and the operations on them. Each operation is
//! a function named after the model operation (`create_application`, …) that takes the typed
//! input shape and returns the model's output type (`crate::api::appconfig`), built from the
//! stored body (each module keeps its storage type apart from the wire type). Nothing here
//! knows about HTTP; storage is reached through the `Store` trait only.

pub mod applications;
pub mod clock;
pub mod configuration_profiles;
pub mod deployment_strategies;
pub mod deployments;
pub mod environments;
pub mod error;
pub mod experiments;
pub mod extension_associations;
pub mod extensions;
pub mod featureflags;
pub mod hosted_versions;
pub mod ids;
pub mod invocation;
pub mod pagination;
pub mod settings;
pub mod sources;
pub mod tags;
pub mod timeline;
pub mod validate_configuration;
pub mod validation;

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::api::appconfig as api;
use crate::store::{DynStore, Kind, Record, Tx};
use clock::Clock;
use error::{Error, Result};

/// Limits AWS applies by default; a self-hosted team may raise them.
#[derive(Debug, Clone)]
pub struct Quotas {
    pub applications: i64,
    pub environments_per_application: i64,
    pub profiles_per_application: i64,
    pub deployment_strategies: i64,
    /// Largest hosted configuration version, in bytes.
    pub hosted_configuration_bytes: usize,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            applications: 100,
            environments_per_application: 20,
            profiles_per_application: 100,
            deployment_strategies: 20,
            hosted_configuration_bytes: 2 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub region: String,
    pub quotas: Quotas,
    /// Service time runs this many times faster than wall time (`--time-scale`).
    pub time_scale: f64,
}

/// Everything an operation needs: storage, time, configuration, and the way out to
/// extension targets.
#[derive(Clone)]
pub struct Service {
    pub store: DynStore,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    pub invoker: Arc<dyn invocation::Invoker>,
    /// Reads S3, SSM and Secrets Manager sources at StartDeployment and ValidateConfiguration.
    pub sources: Arc<dyn sources::SourceFetcher>,
    /// Wakes the deployment engine when new work was scheduled.
    pub wake: Arc<tokio::sync::Notify>,
    /// Tells readers (the data plane's snapshot) what changed, on this node and others.
    pub changes: ChangeFeed,
}

/// Fans changes out to this node's readers and, when several nodes share a database, to the
/// other nodes (the server wires `outbound` to PostgreSQL NOTIFY).
#[derive(Clone)]
pub struct ChangeFeed {
    local: tokio::sync::broadcast::Sender<Change>,
    outbound: Option<tokio::sync::mpsc::UnboundedSender<Change>>,
}

impl ChangeFeed {
    pub fn new(outbound: Option<tokio::sync::mpsc::UnboundedSender<Change>>) -> Self {
        ChangeFeed {
            local: tokio::sync::broadcast::channel(1024).0,
            outbound,
        }
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
        self.local.subscribe()
    }

    /// A change made here: tell local readers and the other nodes.
    pub fn publish(&self, change: Change) {
        if let Some(out) = &self.outbound {
            let _ = out.send(change.clone());
        }
        let _ = self.local.send(change);
    }

    /// A change another node made: tell local readers only.
    pub fn inject(&self, change: Change) {
        let _ = self.local.send(change);
    }
}

/// A change that in-memory views of the store must pick up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// A deployment of this environment started, stepped or ended.
    Deployment {
        account: String,
        app_id: String,
        env_id: String,
    },
    /// An application, or one of its environments or profiles, was renamed, changed or
    /// deleted: names may resolve differently and its entries may be stale.
    Application { account: String, app_id: String },
    /// Applications, environments or profiles of this account were written (sent by nodes of
    /// earlier versions; still honoured during a rolling upgrade).
    Resources { account: String },
}

/// A resource's user tags.
pub type Tags = std::collections::BTreeMap<String, String>;

/// What a create counts against: the account's quota for `kind`, or one application's.
pub struct Quota<'a> {
    pub kind: Kind,
    pub app_id: Option<&'a str>,
    pub limit: i64,
    /// The resources counted, plural ("environments").
    pub what: &'a str,
}

impl<'a> Quota<'a> {
    /// `limit` of `kind` per account.
    pub fn account(kind: Kind, limit: i64, what: &'a str) -> Self {
        let app_id = None;
        Quota {
            kind,
            app_id,
            limit,
            what,
        }
    }

    /// `limit` of `kind` per application (`app_id`, which must exist).
    pub fn application(kind: Kind, app_id: &'a str, limit: i64, what: &'a str) -> Self {
        let app_id = Some(app_id);
        Quota {
            kind,
            app_id,
            limit,
            what,
        }
    }
}

/// Who is calling. Every stored resource is keyed by account.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub account: String,
}

impl Service {
    /// Publishes a change; nobody listening is fine.
    pub fn changed(&self, change: Change) {
        self.changes.publish(change);
    }

    /// The domain's own account of what it changed, for the data plane's caches.
    pub fn application_changed(&self, ctx: &Ctx, app_id: &str) {
        self.changed(Change::Application {
            account: ctx.account.clone(),
            app_id: app_id.to_string(),
        });
    }

    pub fn arn(&self, ctx: &Ctx, resource: &str) -> String {
        ids::arn(&self.settings.region, &ctx.account, resource)
    }

    /// A read-only snapshot of the caller's account.
    pub async fn read(&self, ctx: &Ctx) -> Result<Box<dyn Tx>> {
        Ok(self.store.read(&ctx.account).await?)
    }

    /// A write transaction on the caller's account.
    pub async fn write(&self, ctx: &Ctx) -> Result<Box<dyn Tx>> {
        Ok(self.store.write(&ctx.account).await?)
    }

    /// A transaction (`write` or read-only) in which application `app_id` exists (else 404).
    pub async fn in_application(
        &self,
        ctx: &Ctx,
        app_id: &str,
        write: bool,
    ) -> Result<Box<dyn Tx>> {
        let mut tx = if write {
            self.write(ctx).await?
        } else {
            self.read(ctx).await?
        };
        load_application(&mut *tx, app_id).await?;
        Ok(tx)
    }

    /// The start of a create: its tags checked, then a write transaction (in which the
    /// application exists, for a resource of one), refused once the quota is reached.
    pub async fn begin_create(
        &self,
        ctx: &Ctx,
        tags: Option<Tags>,
        quota: Quota<'_>,
    ) -> Result<(Box<dyn Tx>, Tags)> {
        let tags = checked_tags(tags)?;
        let (mut tx, counted) = match quota.app_id {
            Some(app_id) => (
                self.in_application(ctx, app_id, true).await?,
                format!("{} in application {app_id}", quota.what),
            ),
            None => (
                self.write(ctx).await?,
                format!("{} in this account", quota.what),
            ),
        };
        check_quota(&mut *tx, quota.kind, quota.app_id, quota.limit, &counted).await?;
        Ok((tx, tags))
    }

    /// The end of deleting application `app_id`, or its environment or profile `id`: the
    /// extension associations of the resource go with it, then commit and tell readers.
    pub async fn delete_in_application(
        &self,
        ctx: &Ctx,
        mut tx: Box<dyn Tx>,
        kind: Kind,
        id: &str,
        app_id: &str,
    ) -> Result<()> {
        let resource = match kind {
            Kind::Application => format!("application/{id}"),
            Kind::Environment => format!("application/{app_id}/environment/{id}"),
            Kind::ConfigurationProfile => format!("application/{app_id}/configurationprofile/{id}"),
            other => {
                return Err(Error::internal(format!(
                    "{} is no part of an application",
                    other.as_str()
                )))
            }
        };
        let arn = self.arn(ctx, &resource);
        extension_associations::delete_for_resource(&mut *tx, &arn).await?;
        tx.delete(kind, id).await?;
        self.commit_application(ctx, tx, app_id).await
    }

    /// Commits a change to application `app_id` or something in it, then tells readers.
    pub async fn commit_application(&self, ctx: &Ctx, tx: Box<dyn Tx>, app_id: &str) -> Result<()> {
        tx.commit().await?;
        self.application_changed(ctx, app_id);
        Ok(())
    }

    /// The end of an update inside application `app_id`: saves, commits, tells readers and
    /// answers the wire form.
    pub async fn save_in_application<T: Serialize + Into<O>, O>(
        &self,
        ctx: &Ctx,
        mut tx: Box<dyn Tx>,
        mut rec: Record,
        value: T,
        app_id: &str,
    ) -> Result<O> {
        save(&mut *tx, &mut rec, &value).await?;
        self.commit_application(ctx, tx, app_id).await?;
        Ok(value.into())
    }
}

/// Decodes a stored body into its domain type.
pub fn decode<T: DeserializeOwned>(rec: &Record) -> Result<T> {
    serde_json::from_value(rec.body.clone())
        .map_err(|e| Error::internal(format!("corrupt {} {}: {e}", rec.kind.as_str(), rec.id)))
}

pub fn encode<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(Error::internal)
}

/// Loads a record that must exist under `parent`, or answers ResourceNotFound naming `what`.
pub async fn must_get(
    tx: &mut dyn Tx,
    kind: Kind,
    id: &str,
    parent: &str,
    what: &str,
) -> Result<Record> {
    match tx.get(kind, id).await? {
        Some(rec) if rec.parent == parent => Ok(rec),
        _ => Err(Error::not_found(what, id)),
    }
}

/// A resource of `kind` under `parent` named by id, else by name (the oldest of that name):
/// the `…Identifier` members that accept either.
pub async fn find_by_id_or_name(
    tx: &mut dyn Tx,
    kind: Kind,
    parent: &str,
    ident: &str,
) -> Result<Option<Record>> {
    if let Some(r) = tx.get(kind, ident).await?.filter(|r| r.parent == parent) {
        return Ok(Some(r));
    }
    let parent_filter = (!parent.is_empty()).then_some(parent);
    let mut after = 0;
    loop {
        let rows = tx
            .list(crate::store::ListQuery {
                kind,
                parent: parent_filter,
                attr: None,
                after_seq: after,
                limit: 200,
                descending: false,
            })
            .await?;
        if let Some(r) = rows.iter().find(|r| r.body["Name"].as_str() == Some(ident)) {
            return Ok(Some(r.clone()));
        }
        match rows.last() {
            Some(last) if rows.len() == 200 => after = last.seq,
            _ => return Ok(None),
        }
    }
}

/// `find_by_id_or_name`, or ResourceNotFound naming `what` and the identifier.
pub async fn must_find(
    tx: &mut dyn Tx,
    kind: Kind,
    parent: &str,
    ident: &str,
    what: &str,
) -> Result<Record> {
    find_by_id_or_name(tx, kind, parent, ident)
        .await?
        .ok_or_else(|| Error::not_found(what, ident))
}

/// The application `id`, or ResourceNotFound.
pub async fn load_application(tx: &mut dyn Tx, id: &str) -> Result<Record> {
    must_get(tx, Kind::Application, id, "", "Application").await
}

/// Refuses to create one more `kind` under `parent` once `limit` exist; `counted` names them in
/// the message ("applications in this account").
pub async fn check_quota(
    tx: &mut dyn Tx,
    kind: Kind,
    parent: Option<&str>,
    limit: i64,
    counted: &str,
) -> Result<()> {
    if tx.count(kind, parent).await? >= limit {
        return Err(Error::ServiceQuotaExceeded(format!(
            "The number of {counted} has reached the limit of {limit}."
        )));
    }
    Ok(())
}

/// Replaces a stored record's body with `value`, in the caller's transaction.
pub async fn save<T: Serialize>(tx: &mut dyn Tx, rec: &mut Record, value: &T) -> Result<()> {
    rec.body = encode(value)?;
    Ok(tx.update(rec).await?)
}

/// The end of an update: saves `value` as `rec`'s body, commits and answers the wire form.
pub async fn save_and_commit<T: Serialize + Into<O>, O>(
    mut tx: Box<dyn Tx>,
    mut rec: Record,
    value: T,
) -> Result<O> {
    save(&mut *tx, &mut rec, &value).await?;
    tx.commit().await?;
    Ok(value.into())
}

/// The end of a create: stores `rec` with its tags under a fresh id, commits and answers the
/// stored record.
pub async fn insert_and_commit(mut tx: Box<dyn Tx>, mut rec: Record, tags: Tags) -> Result<Record> {
    rec.tags = tags;
    let rec = insert_with_new_id(&mut *tx, rec).await?;
    tx.commit().await?;
    Ok(rec)
}

/// The most recently created record of `kind` under `parent` (one indexed row).
pub async fn newest(tx: &mut dyn Tx, kind: Kind, parent: &str) -> Result<Option<Record>> {
    let mut rows = tx
        .list(crate::store::ListQuery {
            kind,
            parent: Some(parent),
            attr: None,
            after_seq: 0,
            limit: 1,
            descending: true,
        })
        .await?;
    Ok(rows.pop())
}

/// Creates a record with a fresh random id, retrying on the (unlikely) collision.
pub async fn insert_with_new_id(tx: &mut dyn Tx, mut rec: Record) -> Result<Record> {
    for _ in 0..8 {
        let id = ids::new_id();
        if tx.get(rec.kind, &id).await?.is_none() {
            rec.id = id.clone();
            if let Some(obj) = rec.body.as_object_mut() {
                obj.insert("Id".into(), Value::String(id));
            }
            return Ok(tx.insert(rec).await?);
        }
    }
    Err(Error::internal("could not allocate a unique id"))
}

/// The tags of a create request (none: empty), checked.
pub fn checked_tags(tags: Option<Tags>) -> Result<Tags> {
    let tags = tags.unwrap_or_default();
    check_tags(&tags)?;
    Ok(tags)
}

/// Validates user tags beyond the model's length limits: the `aws:` prefix is reserved.
pub fn check_tags(tags: &Tags) -> Result<()> {
    if let Some(k) = tags
        .keys()
        .find(|k| k.to_ascii_lowercase().starts_with("aws:"))
    {
        return Err(Error::bad_request(format!(
            "Tag key '{k}' is invalid: keys starting with 'aws:' are reserved."
        )));
    }
    Ok(())
}

/// One page of a list operation, oldest first unless the scope says otherwise: the items and
/// the token of the next page. Each list output of the model is built from one (`From`).
pub struct Listed<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// The model's list outputs (`Items` always present, `NextToken` when there is more) and their
/// item shapes.
macro_rules! list_outputs {
    ($($list:ident<$item:ident>),* $(,)?) => {$(
        impl From<Listed<api::$item>> for api::$list {
            fn from(page: Listed<api::$item>) -> Self {
                api::$list { items: Some(page.items), next_token: page.next_token }
            }
        }
    )*};
}

list_outputs!(
    Applications<Application>,
    Environments<Environment>,
    ConfigurationProfiles<ConfigurationProfileSummary>,
    HostedConfigurationVersions<HostedConfigurationVersionSummary>,
    DeploymentStrategies<DeploymentStrategy>,
    Deployments<DeploymentSummary>,
    Extensions<ExtensionSummary>,
    ExtensionAssociations<ExtensionAssociationSummary>,
    ExperimentDefinitions<ExperimentDefinitionSummary>,
    ExperimentRuns<ExperimentRunSummary>,
    ExperimentRunEvents<ExperimentRunEvent>,
);

/// One page of a list operation, oldest first.
pub async fn list_page<T>(
    tx: &mut dyn Tx,
    kind: Kind,
    parent: Option<&str>,
    attr: Option<crate::store::AttrFilter>,
    max_results: Option<i64>,
    next_token: Option<&str>,
    item: impl Fn(&Record) -> Result<T>,
) -> Result<Listed<T>> {
    let scope = Scope {
        kind,
        parent,
        attr,
        descending: false,
    };
    list_scope(tx, scope, max_results, next_token, item).await
}

/// What a list operation walks: one kind, optionally under one parent and filtered on the
/// record attribute, in creation order or newest first.
pub struct Scope<'a> {
    pub kind: Kind,
    pub parent: Option<&'a str>,
    pub attr: Option<crate::store::AttrFilter>,
    pub descending: bool,
}

/// One page of `scope`, reading `limit + 1` rows by keyset so the cost is proportional to
/// the page, not the table.
pub async fn list_scope<T>(
    tx: &mut dyn Tx,
    scope: Scope<'_>,
    max_results: Option<i64>,
    next_token: Option<&str>,
    item: impl Fn(&Record) -> Result<T>,
) -> Result<Listed<T>> {
    let page = pagination::page(max_results, next_token)?;
    let rows = tx
        .list(crate::store::ListQuery {
            kind: scope.kind,
            parent: scope.parent,
            attr: scope.attr,
            after_seq: page.after_seq,
            limit: page.limit + 1,
            descending: scope.descending,
        })
        .await?;
    let (rows, next_token) = pagination::finish(rows, page.limit, |r| r.seq);
    let items = rows.iter().map(item).collect::<Result<Vec<_>>>()?;
    Ok(Listed { items, next_token })
}

/// A list whose first items are built in (predefined strategies, AWS-authored extensions)
/// and the rest stored. Built-ins take sequence numbers below every stored one (-n..-1), so
/// one keyset token walks across both.
#[allow(clippy::too_many_arguments)]
pub async fn list_with_builtins<T>(
    tx: &mut dyn Tx,
    builtins: Vec<T>,
    kind: Kind,
    attr: Option<crate::store::AttrFilter>,
    max_results: Option<i64>,
    next_token: Option<&str>,
    item: impl Fn(&Record) -> Result<T>,
) -> Result<Listed<T>> {
    let page = pagination::page(max_results, next_token)?;
    let n = builtins.len() as i64;
    let mut rows: Vec<(i64, T)> = builtins
        .into_iter()
        .enumerate()
        .map(|(i, v)| (i as i64 - n, v))
        .filter(|(seq, _)| page.after_seq == 0 || *seq > page.after_seq)
        .collect();
    let stored = tx
        .list(crate::store::ListQuery {
            kind,
            parent: None,
            attr,
            after_seq: page.after_seq.max(0),
            limit: page.limit + 1,
            descending: false,
        })
        .await?;
    for r in &stored {
        rows.push((r.seq, item(r)?));
    }
    rows.truncate(page.limit as usize + 1);
    let (rows, next_token) = pagination::finish(rows, page.limit, |r| r.0);
    let items = rows.into_iter().map(|r| r.1).collect();
    Ok(Listed { items, next_token })
}
