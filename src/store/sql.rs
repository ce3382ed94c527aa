//! The SQL implementation of `Store`, for SQLite and PostgreSQL. The query text is shared; the
//! `impl_tx!` macro instantiates it for each sqlx driver (sqlx's generic executor bounds are
//! far harder to read than two expansions of the same code).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;

use super::guard::{self, Held};
use super::lane::{BoxFuture, Lane, Undo, Unit};
use super::migrations::{ddl, MIGRATIONS};
use super::{
    AttrFilter, DynStore, Job, Kind, ListQuery, Record, Store, StoreError, StoreResult, Tx, WriteOp,
};

/// PostgreSQL NOTIFY channel that carries changes between nodes.
const CHANGE_CHANNEL: &str = "appconfigd_changes";
const COLUMNS: &str = "kind, id, parent, seq, attr, body, tags, created_at";
const JOB_COLUMNS: &str = "account, kind, id, due_at, payload, lease_owner, lease_until";

/// Claims due, unleased jobs. The inner SELECT picks them; PostgreSQL adds
/// `FOR UPDATE SKIP LOCKED` so concurrent claimers on other nodes take different rows.
fn claim_sql(postgres: bool) -> String {
    let lock = if postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    format!(
        "UPDATE jobs SET lease_owner = ?, lease_until = ? \
         WHERE (account, kind, id) IN ( \
           SELECT account, kind, id FROM jobs \
           WHERE kind = ? AND due_at <= ? AND (lease_until IS NULL OR lease_until < ?) \
           ORDER BY due_at LIMIT ?{lock}) \
         RETURNING {JOB_COLUMNS}"
    )
}

/// Rewrites `?` placeholders to PostgreSQL's `$n`. Our SQL never has `?` inside literals.
fn pg(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// How long a request waits for a database connection before it fails: long enough for its
/// turn under load (transactions last milliseconds), short enough that an unreachable
/// database is reported promptly instead of stalling the caller.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

/// A transaction's connection: a pooled read-only snapshot, or a unit of a write lane.
enum Conn<DB: sqlx::Database>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    Read(sqlx::Transaction<'static, DB>),
    Write(Unit<DB>),
}

impl<DB: sqlx::Database> Conn<DB>
where
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    fn get(&mut self) -> StoreResult<&mut DB::Connection> {
        match self {
            Conn::Read(tx) => Ok(&mut **tx),
            Conn::Write(unit) => unit.conn(),
        }
    }

    async fn commit(self) -> StoreResult<()> {
        match self {
            Conn::Read(tx) => Ok(tx.commit().await?),
            Conn::Write(unit) => unit.commit().await,
        }
    }

    /// A write unit's batch cache (a read snapshot has none): `Some(None)` is "known absent".
    fn cached(&mut self, account: &str, kind: Kind, id: &str) -> Option<Option<Record>> {
        match self {
            Conn::Read(_) => None,
            Conn::Write(unit) => unit.cached(account, kind, id),
        }
    }

    fn remember(&mut self, account: &str, kind: Kind, id: &str, rec: Option<Record>) {
        if let Conn::Write(unit) = self {
            unit.remember(account, kind, id, rec);
        }
    }

    fn savepoint_prefix(&mut self) -> Option<String> {
        match self {
            Conn::Read(_) => None,
            Conn::Write(unit) => unit.savepoint_prefix(),
        }
    }

    fn journal(&mut self, op: &WriteOp) {
        if let Conn::Write(unit) = self {
            unit.journal(op);
        }
    }

    /// A statement failed: the write unit must be undone rather than committed.
    fn failed(&mut self, e: impl Into<StoreError>) -> StoreError {
        if let Conn::Write(unit) = self {
            unit.taint();
        }
        e.into()
    }

    fn forget(&mut self, account: &str, kind: Kind, id: &str) {
        if let Conn::Write(unit) = self {
            unit.forget(account, kind, id);
        }
    }
}

/// PostgreSQL: bump the account's `seq` counter, insert the record with it and, optionally, its
/// content, in one statement (data-modifying CTEs all run, referenced or not).
fn pg_insert_sql(with_content: bool) -> &'static str {
    if with_content {
        "WITH c AS (INSERT INTO counters (account, name, value) VALUES ($1, 'seq', 1) \
           ON CONFLICT (account, name) DO UPDATE SET value = counters.value + 1 RETURNING value), \
         r AS (INSERT INTO resources (account, kind, id, parent, seq, attr, body, tags, created_at) \
           SELECT $1, $2, $3, $4, c.value, $5, $6, $7, $8 FROM c RETURNING seq), \
         k AS (INSERT INTO contents (account, key, data) VALUES ($1, $9, $10) \
           ON CONFLICT (account, key) DO UPDATE SET data = excluded.data) \
         SELECT seq FROM r"
    } else {
        "WITH c AS (INSERT INTO counters (account, name, value) VALUES ($1, 'seq', 1) \
           ON CONFLICT (account, name) DO UPDATE SET value = counters.value + 1 RETURNING value), \
         r AS (INSERT INTO resources (account, kind, id, parent, seq, attr, body, tags, created_at) \
           SELECT $1, $2, $3, $4, c.value, $5, $6, $7, $8 FROM c RETURNING seq) \
         SELECT seq FROM r"
    }
}

/// SQLite: the same as `pg_insert_sql`, as statements run in order in one call.
fn sqlite_insert_sql(with_content: bool) -> &'static str {
    if with_content {
        "INSERT INTO counters (account, name, value) VALUES (?, 'seq', 1) \
           ON CONFLICT (account, name) DO UPDATE SET value = counters.value + 1; \
         INSERT INTO resources (account, kind, id, parent, seq, attr, body, tags, created_at) \
           VALUES (?, ?, ?, ?, (SELECT value FROM counters WHERE account = ? AND name = 'seq'), \
           ?, ?, ?, ?) RETURNING seq; \
         INSERT INTO contents (account, key, data) VALUES (?, ?, ?) \
           ON CONFLICT (account, key) DO UPDATE SET data = excluded.data"
    } else {
        "INSERT INTO counters (account, name, value) VALUES (?, 'seq', 1) \
           ON CONFLICT (account, name) DO UPDATE SET value = counters.value + 1; \
         INSERT INTO resources (account, kind, id, parent, seq, attr, body, tags, created_at) \
           VALUES (?, ?, ?, ?, (SELECT value FROM counters WHERE account = ? AND name = 'seq'), \
           ?, ?, ?, ?) RETURNING seq"
    }
}

fn kind_from_str(s: &str) -> StoreResult<Kind> {
    Ok(match s {
        "application" => Kind::Application,
        "environment" => Kind::Environment,
        "configurationprofile" => Kind::ConfigurationProfile,
        "hostedconfigurationversion" => Kind::HostedConfigurationVersion,
        "deploymentstrategy" => Kind::DeploymentStrategy,
        "deployment" => Kind::Deployment,
        "extension" => Kind::Extension,
        "extensionassociation" => Kind::ExtensionAssociation,
        "accountsettings" => Kind::AccountSettings,
        "usage" => Kind::Usage,
        other => return Err(StoreError::Corrupt(format!("unknown kind {other}"))),
    })
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn list_sql(q: &ListQuery<'_>) -> String {
    let mut sql = format!("SELECT {COLUMNS} FROM resources WHERE account = ? AND kind = ?");
    if q.parent.is_some() {
        sql.push_str(" AND parent = ?");
    }
    match &q.attr {
        Some(AttrFilter::Equals(_)) => sql.push_str(" AND attr = ?"),
        Some(AttrFilter::Prefix(_)) => sql.push_str(" AND substr(attr, 1, CAST(? AS INTEGER)) = ?"),
        None => {}
    }
    if q.descending {
        sql.push_str(" AND seq < ? ORDER BY seq DESC LIMIT ?");
    } else {
        sql.push_str(" AND seq > ? ORDER BY seq ASC LIMIT ?");
    }
    sql
}

macro_rules! impl_tx {
    ($name:ident, $db:ty, $rewrite:expr, $postgres:expr) => {
        pub struct $name {
            conn: Conn<$db>,
            account: String,
            _held: Held,
        }

        impl $name {
            fn new(conn: Conn<$db>, account: &str) -> Self {
                $name {
                    conn,
                    account: account.to_string(),
                    _held: guard::hold(),
                }
            }

            /// The statement for this backend, led by `lead` (a unit's savepoint, lane.rs).
            fn sql(lead: &Option<String>, text: &str) -> String {
                let text = ($rewrite)(text);
                match lead {
                    Some(prefix) => format!("{prefix}{text}"),
                    None => text,
                }
            }

            /// Executes one write: the statements behind every write method, and what a
            /// PostgreSQL lane replays (lane.rs). Returns the value for `Counter`, the new
            /// `seq` for `Insert`, 1 or 0 (removed or not) for `Delete`, else 0.
            async fn apply(
                conn: &mut <$db as sqlx::Database>::Connection,
                account: &str,
                lead: Option<String>,
                op: &WriteOp,
            ) -> StoreResult<i64> {
                match op {
                    WriteOp::Insert { rec, content } => {
                        let tags =
                            serde_json::to_string(&rec.tags).unwrap_or_else(|_| "{}".into());
                        let content = content.as_ref();
                        // One round trip for counter, record and content: on a write lane every
                        // round trip is paid by each queued writer.
                        let (sql, rows) = if $postgres {
                            let sql = Self::sql(&lead, pg_insert_sql(content.is_some()));
                            let mut query = sqlx::query(&sql)
                                .bind(account)
                                .bind(rec.kind.as_str())
                                .bind(&rec.id)
                                .bind(&rec.parent)
                                .bind(&rec.attr)
                                .bind(rec.body.to_string())
                                .bind(tags)
                                .bind(rec.created_at);
                            if let Some((key, bytes)) = content {
                                query = query.bind(key).bind(bytes.as_slice());
                            }
                            let rows = query.fetch_all(&mut *conn).await?;
                            (sql, rows)
                        } else {
                            let sql = Self::sql(&lead, sqlite_insert_sql(content.is_some()));
                            let mut query = sqlx::query(&sql)
                                .bind(account)
                                .bind(account)
                                .bind(rec.kind.as_str())
                                .bind(&rec.id)
                                .bind(&rec.parent)
                                .bind(account)
                                .bind(&rec.attr)
                                .bind(rec.body.to_string())
                                .bind(tags)
                                .bind(rec.created_at);
                            if let Some((key, bytes)) = content {
                                query = query.bind(account).bind(key).bind(bytes.as_slice());
                            }
                            // fetch_all: every statement of the call runs to completion.
                            let rows = query.fetch_all(&mut *conn).await?;
                            (sql, rows)
                        };
                        let row = rows.first().ok_or_else(|| {
                            StoreError::Corrupt(format!("no seq from {sql:.40}…"))
                        })?;
                        Ok(row.try_get("seq")?)
                    }
                    WriteOp::Update(rec) => {
                        let sql = Self::sql(
                            &lead,
                            "UPDATE resources SET attr = ?, body = ?, tags = ? \
                             WHERE account = ? AND kind = ? AND id = ?",
                        );
                        sqlx::query(&sql)
                            .bind(&rec.attr)
                            .bind(rec.body.to_string())
                            .bind(
                                serde_json::to_string(&rec.tags)
                                    .unwrap_or_else(|_| "{}".into()),
                            )
                            .bind(account)
                            .bind(rec.kind.as_str())
                            .bind(&rec.id)
                            .execute(&mut *conn)
                            .await?;
                        Ok(0)
                    }
                    WriteOp::Delete(kind, id) => {
                        // RETURNING, not rows_affected: a savepoint sent in the same call
                        // would add the previous statement's change count to it.
                        let sql = Self::sql(
                            &lead,
                            "DELETE FROM resources WHERE account = ? AND kind = ? AND id = ? \
                             RETURNING id",
                        );
                        let deleted = sqlx::query(&sql)
                            .bind(account)
                            .bind(kind.as_str())
                            .bind(id)
                            .fetch_all(&mut *conn)
                            .await?;
                        Ok(deleted.len().min(1) as i64)
                    }
                    WriteOp::Counter(name) => {
                        let sql = Self::sql(
                            &lead,
                            "INSERT INTO counters (account, name, value) VALUES (?, ?, 1) \
                             ON CONFLICT (account, name) DO UPDATE SET value = counters.value + 1 \
                             RETURNING value",
                        );
                        let row = sqlx::query(&sql)
                            .bind(account)
                            .bind(name)
                            .fetch_one(&mut *conn)
                            .await?;
                        Ok(row.try_get::<i64, _>("value")?)
                    }
                    WriteOp::PutContent(key, bytes) => {
                        let sql = Self::sql(
                            &lead,
                            "INSERT INTO contents (account, key, data) VALUES (?, ?, ?) \
                             ON CONFLICT (account, key) DO UPDATE SET data = excluded.data",
                        );
                        sqlx::query(&sql)
                            .bind(account)
                            .bind(key)
                            .bind(bytes.as_slice())
                            .execute(&mut *conn)
                            .await?;
                        Ok(0)
                    }
                    WriteOp::DeleteContent(key) => {
                        let sql = Self::sql(
                            &lead,
                            "DELETE FROM contents WHERE account = ? AND key = ?",
                        );
                        sqlx::query(&sql)
                            .bind(account)
                            .bind(key)
                            .execute(&mut *conn)
                            .await?;
                        Ok(0)
                    }
                    WriteOp::PutJob {
                        kind,
                        id,
                        due_at,
                        payload,
                    } => {
                        let sql = Self::sql(
                            &lead,
                            "INSERT INTO jobs (account, kind, id, due_at, payload) \
                             VALUES (?, ?, ?, ?, ?) \
                             ON CONFLICT (account, kind, id) DO UPDATE SET due_at = excluded.due_at, \
                             payload = excluded.payload, lease_owner = NULL, lease_until = NULL",
                        );
                        sqlx::query(&sql)
                            .bind(account)
                            .bind(kind)
                            .bind(id)
                            .bind(*due_at)
                            .bind(payload)
                            .execute(&mut *conn)
                            .await?;
                        Ok(0)
                    }
                    WriteOp::DeleteJob { kind, id } => {
                        let sql = Self::sql(
                            &lead,
                            "DELETE FROM jobs WHERE account = ? AND kind = ? AND id = ?",
                        );
                        sqlx::query(&sql)
                            .bind(account)
                            .bind(kind)
                            .bind(id)
                            .execute(&mut *conn)
                            .await?;
                        Ok(0)
                    }
                }
            }

            /// Replays committed writes after a rollback (PostgreSQL lanes; lane.rs).
            #[allow(dead_code)] // SQLite lanes undo with savepoints instead.
            fn replay<'a>(
                conn: &'a mut <$db as sqlx::Database>::Connection,
                account: &'a str,
                ops: &'a [WriteOp],
            ) -> BoxFuture<'a, StoreResult<()>> {
                Box::pin(async move {
                    for op in ops {
                        Self::apply(&mut *conn, account, None, op).await?;
                    }
                    Ok(())
                })
            }

            /// Runs a write in this transaction and journals it for the lane.
            async fn write(&mut self, op: &WriteOp) -> StoreResult<i64> {
                let lead = self.conn.savepoint_prefix();
                let result = Self::apply(self.conn.get()?, &self.account, lead, op).await;
                match result {
                    Ok(value) => {
                        self.conn.journal(op);
                        Ok(value)
                    }
                    Err(e) => Err(self.conn.failed(e)),
                }
            }

            /// Inserts a record (and its content), returning it with `seq` and `created_at`.
            async fn insert_op(
                &mut self,
                mut rec: Record,
                content: Option<(String, Vec<u8>)>,
            ) -> StoreResult<Record> {
                rec.created_at = now_millis();
                let op = WriteOp::Insert { rec, content };
                let seq = self.write(&op).await?;
                let WriteOp::Insert { mut rec, .. } = op else {
                    return Err(StoreError::Corrupt("insert lost its record".into()));
                };
                rec.seq = seq;
                self.conn.remember(&self.account, rec.kind, &rec.id, Some(rec.clone()));
                Ok(rec)
            }

            fn job(row: &<$db as sqlx::Database>::Row) -> StoreResult<Job> {
                Ok(Job {
                    account: row.try_get("account")?,
                    kind: row.try_get("kind")?,
                    id: row.try_get("id")?,
                    due_at: row.try_get("due_at")?,
                    payload: row.try_get("payload")?,
                    lease_owner: row.try_get("lease_owner")?,
                    lease_until: row.try_get("lease_until")?,
                })
            }

            fn record(row: &<$db as sqlx::Database>::Row) -> StoreResult<Record> {
                let body: String = row.try_get("body")?;
                let tags: String = row.try_get("tags")?;
                let kind: String = row.try_get("kind")?;
                Ok(Record {
                    kind: kind_from_str(&kind)?,
                    id: row.try_get("id")?,
                    parent: row.try_get("parent")?,
                    seq: row.try_get("seq")?,
                    attr: row.try_get("attr")?,
                    body: serde_json::from_str(&body)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    tags: serde_json::from_str(&tags)
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    created_at: row.try_get("created_at")?,
                })
            }
        }

        #[async_trait::async_trait]
        impl Tx for $name {
            async fn get(&mut self, kind: Kind, id: &str) -> StoreResult<Option<Record>> {
                if let Some(known) = self.conn.cached(&self.account, kind, id) {
                    return Ok(known);
                }
                let sql = Self::sql(
                    &self.conn.savepoint_prefix(),
                    &format!("SELECT {COLUMNS} FROM resources WHERE account = ? AND kind = ? AND id = ?"),
                );
                let row = sqlx::query(&sql)
                    .bind(&self.account)
                    .bind(kind.as_str())
                    .bind(id)
                    .fetch_optional(self.conn.get()?)
                    .await
                    .map_err(|e| self.conn.failed(e))?;
                let rec = row.as_ref().map(Self::record).transpose()?;
                self.conn.remember(&self.account, kind, id, rec.clone());
                Ok(rec)
            }

            async fn list(&mut self, q: ListQuery<'_>) -> StoreResult<Vec<Record>> {
                let sql = Self::sql(&self.conn.savepoint_prefix(), &list_sql(&q));
                let mut query = sqlx::query(&sql).bind(&self.account).bind(q.kind.as_str());
                if let Some(p) = q.parent {
                    query = query.bind(p);
                }
                match &q.attr {
                    Some(AttrFilter::Equals(v)) => query = query.bind(v.clone()),
                    Some(AttrFilter::Prefix(p)) => {
                        query = query.bind(p.chars().count() as i64).bind(p.clone())
                    }
                    None => {}
                }
                let after = if q.descending && q.after_seq <= 0 { i64::MAX } else { q.after_seq };
                let rows = query
                    .bind(after)
                    .bind(q.limit)
                    .fetch_all(self.conn.get()?)
                    .await
                    .map_err(|e| self.conn.failed(e))?;
                rows.iter().map(Self::record).collect()
            }

            async fn count(&mut self, kind: Kind, parent: Option<&str>) -> StoreResult<i64> {
                let text = if parent.is_some() {
                    "SELECT COUNT(*) AS n FROM resources WHERE account = ? AND kind = ? AND parent = ?"
                } else {
                    "SELECT COUNT(*) AS n FROM resources WHERE account = ? AND kind = ?"
                };
                let sql = Self::sql(&self.conn.savepoint_prefix(), text);
                let mut query = sqlx::query(&sql).bind(&self.account).bind(kind.as_str());
                if let Some(p) = parent {
                    query = query.bind(p);
                }
                let row = query
                    .fetch_one(self.conn.get()?)
                    .await
                    .map_err(|e| self.conn.failed(e))?;
                Ok(row.try_get::<i64, _>("n")?)
            }

            async fn insert(&mut self, rec: Record) -> StoreResult<Record> {
                self.insert_op(rec, None).await
            }

            async fn insert_with_content(
                &mut self,
                rec: Record,
                key: &str,
                bytes: &[u8],
            ) -> StoreResult<Record> {
                self.insert_op(rec, Some((key.to_string(), bytes.to_vec())))
                    .await
            }

            async fn update(&mut self, rec: &Record) -> StoreResult<()> {
                self.write(&WriteOp::Update(rec.clone())).await?;
                self.conn.forget(&self.account, rec.kind, &rec.id);
                Ok(())
            }

            async fn delete(&mut self, kind: Kind, id: &str) -> StoreResult<bool> {
                let removed = self.write(&WriteOp::Delete(kind, id.to_string())).await?;
                self.conn.remember(&self.account, kind, id, None);
                Ok(removed > 0)
            }

            async fn next_counter(&mut self, name: &str) -> StoreResult<i64> {
                self.write(&WriteOp::Counter(name.to_string())).await
            }

            async fn put_content(&mut self, key: &str, bytes: &[u8]) -> StoreResult<()> {
                self.write(&WriteOp::PutContent(key.to_string(), bytes.to_vec()))
                    .await?;
                Ok(())
            }

            async fn get_content(&mut self, key: &str) -> StoreResult<Option<Vec<u8>>> {
                let sql = Self::sql(
                    &self.conn.savepoint_prefix(),
                    "SELECT data FROM contents WHERE account = ? AND key = ?",
                );
                let row = sqlx::query(&sql)
                    .bind(&self.account)
                    .bind(key)
                    .fetch_optional(self.conn.get()?)
                    .await
                    .map_err(|e| self.conn.failed(e))?;
                Ok(row.map(|r| r.try_get::<Vec<u8>, _>("data")).transpose()?)
            }

            async fn delete_content(&mut self, key: &str) -> StoreResult<()> {
                self.write(&WriteOp::DeleteContent(key.to_string())).await?;
                Ok(())
            }

            async fn put_job(&mut self, kind: &str, id: &str, due_at: i64, payload: &str) -> StoreResult<()> {
                self.write(&WriteOp::PutJob {
                    kind: kind.to_string(),
                    id: id.to_string(),
                    due_at,
                    payload: payload.to_string(),
                })
                .await?;
                Ok(())
            }

            async fn get_job(&mut self, kind: &str, id: &str) -> StoreResult<Option<Job>> {
                let sql = Self::sql(
                    &self.conn.savepoint_prefix(),
                    &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE account = ? AND kind = ? AND id = ?"),
                );
                let row = sqlx::query(&sql)
                    .bind(&self.account)
                    .bind(kind)
                    .bind(id)
                    .fetch_optional(self.conn.get()?)
                    .await
                    .map_err(|e| self.conn.failed(e))?;
                row.as_ref().map(Self::job).transpose()
            }

            async fn delete_job(&mut self, kind: &str, id: &str) -> StoreResult<()> {
                self.write(&WriteOp::DeleteJob {
                    kind: kind.to_string(),
                    id: id.to_string(),
                })
                .await?;
                Ok(())
            }

            async fn commit(self: Box<Self>) -> StoreResult<()> {
                let this = *self;
                let result = this.conn.commit().await;
                drop(this._held);
                result
            }
        }
    };
}

impl_tx!(SqliteTx, sqlx::Sqlite, |s: &str| s.to_string(), false);
impl_tx!(PgTx, sqlx::Postgres, pg, true);

pub enum SqlStore {
    /// SQLite allows one writer: every write runs on the one write lane (group commit over
    /// its single connection); reads use a pool of read-only connections beside it (WAL).
    Sqlite {
        lane: Arc<Lane<sqlx::Sqlite>>,
        readers: SqlitePool,
    },
    /// Reads and write lanes (one per account, created on first write) share one pool.
    Postgres {
        pool: PgPool,
        lanes: Mutex<HashMap<String, Arc<Lane<sqlx::Postgres>>>>,
    },
}

/// Opens (creating if needed) the database named by `url` and applies pending migrations.
pub async fn connect(url: &str) -> StoreResult<DynStore> {
    let store = if url.starts_with("sqlite:") {
        let opts = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a committed write survives kill -9 and power loss alike.
            .synchronous(SqliteSynchronous::Full)
            // Only another process can make SQLite busy (this one has a single writer).
            .busy_timeout(ACQUIRE_TIMEOUT)
            .foreign_keys(true);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts.clone())
            .await?;
        // Migrate before the readers open, so they see the schema.
        migrate_sqlite(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts.read_only(true))
            .await?;
        let lane = Lane::new(
            writer,
            "BEGIN IMMEDIATE",
            None,
            ACQUIRE_TIMEOUT,
            true,
            Undo::Savepoints,
        );
        SqlStore::Sqlite { lane, readers }
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        // A node that stops mid-transaction (paused, partitioned) must not hold the account's
        // write lock for long: PostgreSQL aborts such a transaction after 5 s.
        let opts = sqlx::postgres::PgConnectOptions::from_str(url)?
            .options([("idle_in_transaction_session_timeout", "5s")]);
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(opts)
            .await?;
        migrate_pg(&pool).await?;
        SqlStore::Postgres {
            pool,
            lanes: Mutex::new(HashMap::new()),
        }
    } else {
        return Err(StoreError::BadUrl(url.to_string()));
    };
    Ok(std::sync::Arc::new(store))
}

/// Bumping this row takes its lock until commit: the write batches of one account queue
/// here across nodes, so quota, uniqueness and existence checks cannot race.
fn pg_account_lock_sql(account: &str) -> String {
    // A literal, not a bind: lane statements take no parameters. Quotes are doubled
    // (standard_conforming_strings is on by default since PostgreSQL 9.1).
    let account = account.replace('\'', "''");
    format!(
        "INSERT INTO counters (account, name, value) VALUES ('{account}', 'writes', 1) \
         ON CONFLICT (account, name) DO UPDATE SET value = counters.value + 1"
    )
}

impl SqlStore {
    fn pg_lane(&self, account: &str) -> Option<Arc<Lane<sqlx::Postgres>>> {
        let SqlStore::Postgres { pool, lanes } = self else {
            return None;
        };
        let mut lanes = lanes.lock().ok()?;
        let lane = lanes.entry(account.to_string()).or_insert_with(|| {
            Lane::new(
                pool.clone(),
                "BEGIN",
                Some(pg_account_lock_sql(account)),
                ACQUIRE_TIMEOUT,
                false,
                Undo::Replay {
                    account: account.to_string(),
                    replay: PgTx::replay,
                },
            )
        });
        Some(lane.clone())
    }
}

const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

async fn migrate_sqlite(pool: &SqlitePool) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(MIGRATIONS_TABLE).execute(&mut *tx).await?;
    let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_one(&mut *tx)
        .await?
        .try_get("v")?;
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        for s in m.statements {
            sqlx::query(&ddl(s, false)).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
            .bind(m.version)
            .bind(m.name)
            .bind(now_millis())
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn migrate_pg(pool: &PgPool) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    // Several nodes may start at once: one migrates, the others wait and then see it done.
    sqlx::query("SELECT pg_advisory_xact_lock(727272)")
        .execute(&mut *tx)
        .await?;
    sqlx::query(MIGRATIONS_TABLE).execute(&mut *tx).await?;
    let current: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
        .fetch_one(&mut *tx)
        .await?
        .try_get("v")?;
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        for s in m.statements {
            sqlx::query(&ddl(s, true)).execute(&mut *tx).await?;
        }
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[async_trait::async_trait]
impl Store for SqlStore {
    async fn read(&self, account: &str) -> StoreResult<Box<dyn Tx>> {
        guard::check("Store::read");
        Ok(match self {
            SqlStore::Sqlite { readers, .. } => {
                Box::new(SqliteTx::new(Conn::Read(readers.begin().await?), account))
            }
            SqlStore::Postgres { pool, .. } => {
                let tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?;
                Box::new(PgTx::new(Conn::Read(tx), account))
            }
        })
    }

    async fn write(&self, account: &str) -> StoreResult<Box<dyn Tx>> {
        guard::check("Store::write");
        Ok(match self {
            SqlStore::Sqlite { lane, .. } => {
                Box::new(SqliteTx::new(Conn::Write(lane.begin().await?), account))
            }
            SqlStore::Postgres { .. } => {
                let lane = self
                    .pg_lane(account)
                    .ok_or_else(|| StoreError::Corrupt("write lanes unavailable".into()))?;
                Box::new(PgTx::new(Conn::Write(lane.begin().await?), account))
            }
        })
    }

    async fn claim_jobs(
        &self,
        kind: &str,
        now: i64,
        owner: &str,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<Job>> {
        guard::check("Store::claim_jobs");
        let until = now + lease_ms;
        match self {
            SqlStore::Sqlite { lane, .. } => {
                // Through the write lane: SQLite has one writer connection, and it is the lane's.
                let mut unit = lane.begin().await?;
                let sql = claim_sql(false);
                let rows = sqlx::query(&sql)
                    .bind(owner)
                    .bind(until)
                    .bind(kind)
                    .bind(now)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(unit.conn()?)
                    .await?;
                let jobs = rows.iter().map(SqliteTx::job).collect::<StoreResult<_>>()?;
                unit.commit().await?;
                Ok(jobs)
            }
            SqlStore::Postgres { pool, .. } => {
                let sql = pg(&claim_sql(true));
                let rows = sqlx::query(&sql)
                    .bind(owner)
                    .bind(until)
                    .bind(kind)
                    .bind(now)
                    .bind(now)
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(PgTx::job).collect()
            }
        }
    }

    async fn next_due(&self, now: i64) -> StoreResult<Option<i64>> {
        guard::check("Store::next_due");
        let sql = "SELECT MIN(due_at) AS d FROM jobs WHERE lease_until IS NULL OR lease_until < ?";
        let row = match self {
            SqlStore::Sqlite { readers, .. } => sqlx::query(sql)
                .bind(now)
                .fetch_one(readers)
                .await?
                .try_get::<Option<i64>, _>("d")?,
            SqlStore::Postgres { pool, .. } => sqlx::query(&pg(sql))
                .bind(now)
                .fetch_one(pool)
                .await?
                .try_get::<Option<i64>, _>("d")?,
        };
        Ok(row)
    }

    async fn publish(&self, message: &str) -> StoreResult<()> {
        guard::check("Store::publish");
        if let SqlStore::Postgres { pool, .. } = self {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANGE_CHANNEL)
                .bind(message)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    async fn subscribe(&self) -> StoreResult<Option<tokio::sync::mpsc::Receiver<String>>> {
        let SqlStore::Postgres { pool, .. } = self else {
            return Ok(None);
        };
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        listener.listen(CHANGE_CHANNEL).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(1024);
        tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => {
                        if tx.send(n.payload().to_string()).await.is_err() {
                            break;
                        }
                    }
                    // recv() reconnects by itself; an error here is transient.
                    Err(e) => {
                        tracing::warn!(error = %e, "change feed interrupted; reconnecting");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        Ok(Some(rx))
    }

    fn backend(&self) -> &'static str {
        match self {
            SqlStore::Sqlite { .. } => "sqlite",
            SqlStore::Postgres { .. } => "postgres",
        }
    }
}
