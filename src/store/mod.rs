//! Storage: one `Store` trait, implemented by SQLite (embedded default) and PostgreSQL.
//!
//! Resources are stored as records: `(account, kind, id)` → JSON body, with the parent resource
//! (for scoped listing), a per-account sequence number (stable list order and keyset
//! pagination, so a page costs O(page)), an optional attribute used as a list filter, and tags.
//! Large opaque bytes (hosted configuration content) live in a separate table so listing never
//! reads them. Both backends run the same SQL text (`?` placeholders are rewritten for
//! PostgreSQL), which keeps their behaviour identical by construction.

pub mod guard;
mod lane;
mod migrations;
mod sql;
mod tx;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

pub use sql::{connect, SqlStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    /// The group commit this write took part in failed (every write of the batch is undone).
    #[error("write batch failed: {0}")]
    BatchFailed(String),
    #[error("unsupported database URL {0:?} (use sqlite://PATH or postgres://...)")]
    BadUrl(String),
}

impl StoreError {
    /// The database could not be reached (no connection in time, connection lost), as
    /// opposed to a query that failed on a working connection.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Db(
                sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::Io(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            )
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Resource kinds, one per stored record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Application,
    Environment,
    ConfigurationProfile,
    HostedConfigurationVersion,
    DeploymentStrategy,
    Deployment,
    Extension,
    ExtensionAssociation,
    AccountSettings,
    /// An experiment definition (parent: its application; attr: its status).
    ExperimentDefinition,
    /// One run of an experiment definition (parent: "app/definition"; attr: its status).
    ExperimentRun,
    /// When an environment or profile was last read by the data plane (deletion protection).
    Usage,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Application => "application",
            Kind::Environment => "environment",
            Kind::ConfigurationProfile => "configurationprofile",
            Kind::HostedConfigurationVersion => "hostedconfigurationversion",
            Kind::DeploymentStrategy => "deploymentstrategy",
            Kind::Deployment => "deployment",
            Kind::Extension => "extension",
            Kind::ExtensionAssociation => "extensionassociation",
            Kind::AccountSettings => "accountsettings",
            Kind::ExperimentDefinition => "experimentdefinition",
            Kind::ExperimentRun => "experimentrun",
            Kind::Usage => "usage",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Record {
    pub kind: Kind,
    pub id: String,
    /// Id path of the owning resource ("" for top-level ones).
    pub parent: String,
    /// Per-account sequence number; assigned by `Tx::insert`.
    pub seq: i64,
    /// Optional attribute for list filters (profile type, version label, …).
    pub attr: Option<String>,
    pub body: Value,
    pub tags: BTreeMap<String, String>,
    /// Unix milliseconds, set by `Tx::insert`.
    pub created_at: i64,
}

impl Record {
    pub fn new(kind: Kind, id: impl Into<String>, parent: impl Into<String>, body: Value) -> Self {
        Record {
            kind,
            id: id.into(),
            parent: parent.into(),
            seq: 0,
            attr: None,
            body,
            tags: BTreeMap::new(),
            created_at: 0,
        }
    }
}

/// One write of a transaction, as the SQL store executes it (and a write lane may replay it;
/// see `lane.rs`).
#[derive(Debug, Clone)]
pub enum WriteOp {
    /// A new record with its `created_at` set (the store assigns `seq`), and optional content.
    Insert {
        rec: Record,
        content: Option<(String, Vec<u8>)>,
    },
    Update(Record),
    Delete(Kind, String),
    Counter(String),
    PutContent(String, Vec<u8>),
    DeleteContent(String),
    PutJob {
        kind: String,
        id: String,
        due_at: i64,
        payload: String,
    },
    DeleteJob {
        kind: String,
        id: String,
    },
}

/// How `Tx::list` filters on `Record::attr`.
#[derive(Debug, Clone)]
pub enum AttrFilter {
    Equals(String),
    Prefix(String),
}

pub struct ListQuery<'a> {
    pub kind: Kind,
    /// `None` lists the kind across all parents.
    pub parent: Option<&'a str>,
    pub attr: Option<AttrFilter>,
    /// Only records with a larger `seq` (keyset pagination).
    pub after_seq: i64,
    pub limit: i64,
    /// Newest first instead of oldest first (then `after_seq` means "smaller than", 0 = start).
    pub descending: bool,
}

/// A unit of work. Reads see one consistent snapshot; writes become visible together at
/// `commit`, or not at all (dropping an uncommitted transaction rolls it back).
#[async_trait::async_trait]
pub trait Tx: Send {
    async fn get(&mut self, kind: Kind, id: &str) -> StoreResult<Option<Record>>;
    async fn list(&mut self, q: ListQuery<'_>) -> StoreResult<Vec<Record>>;
    async fn count(&mut self, kind: Kind, parent: Option<&str>) -> StoreResult<i64>;
    /// Inserts a new record, assigning `seq` and `created_at`; returns the stored record.
    async fn insert(&mut self, rec: Record) -> StoreResult<Record>;
    /// `insert`, then `put_content(key, bytes)`, in as few round trips as the backend allows.
    async fn insert_with_content(
        &mut self,
        rec: Record,
        key: &str,
        bytes: &[u8],
    ) -> StoreResult<Record>;
    /// Replaces body, attr and tags of an existing record.
    async fn update(&mut self, rec: &Record) -> StoreResult<()>;
    async fn delete(&mut self, kind: Kind, id: &str) -> StoreResult<bool>;
    /// Next value of a named per-account counter (first call returns 1). Never reused.
    async fn next_counter(&mut self, name: &str) -> StoreResult<i64>;
    async fn put_content(&mut self, key: &str, bytes: &[u8]) -> StoreResult<()>;
    async fn get_content(&mut self, key: &str) -> StoreResult<Option<Vec<u8>>>;
    async fn delete_content(&mut self, key: &str) -> StoreResult<()>;
    /// Schedules (or reschedules) background work; clears any lease on it.
    async fn put_job(
        &mut self,
        kind: &str,
        id: &str,
        due_at: i64,
        payload: &str,
    ) -> StoreResult<()>;
    async fn get_job(&mut self, kind: &str, id: &str) -> StoreResult<Option<Job>>;
    async fn delete_job(&mut self, kind: &str, id: &str) -> StoreResult<()>;
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// A pending piece of background work (see `Store::claim_jobs`).
#[derive(Debug, Clone)]
pub struct Job {
    pub account: String,
    pub kind: String,
    pub id: String,
    pub due_at: i64,
    pub payload: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
}

/// A request to lease due jobs (see `Store::claim_jobs`).
#[derive(Debug, Clone, Copy)]
pub struct Claim<'a> {
    pub kind: &'a str,
    pub now: i64,
    pub owner: &'a str,
    pub lease_ms: i64,
    pub limit: i64,
}

#[async_trait::async_trait]
pub trait Store: Send + Sync {
    /// A read-only snapshot for `account`.
    async fn read(&self, account: &str) -> StoreResult<Box<dyn Tx>>;
    /// A write transaction for `account`. Writers of one account are serialised, so checks made
    /// inside (quotas, uniqueness, counters) hold until commit, on either backend.
    async fn write(&self, account: &str) -> StoreResult<Box<dyn Tx>>;
    fn backend(&self) -> &'static str;
    /// Leases up to `limit` jobs of `kind` that are due at `now` and not leased by a live
    /// owner, to `owner` until `now + lease_ms`. Across nodes, each job goes to one owner.
    async fn claim_jobs(&self, claim: Claim<'_>) -> StoreResult<Vec<Job>>;
    /// The earliest due time of any job that is not leased at `now` (lets the engine sleep
    /// exactly until there is work).
    async fn next_due(&self, now: i64) -> StoreResult<Option<i64>>;
    /// Broadcasts a message to every node on this database (PostgreSQL NOTIFY; a no-op on
    /// SQLite, which one process owns).
    async fn publish(&self, message: &str) -> StoreResult<()>;
    /// Messages published by any node (including this one), if the backend has a feed.
    async fn subscribe(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<String>>>;
}

pub type DynStore = Arc<dyn Store>;
