//! Transactions of the SQL store: `Tx` for SQLite and PostgreSQL. The query text is shared;
//! the `impl_tx!` macro instantiates it for each sqlx driver (sqlx's generic executor bounds are
//! far harder to read than two expansions of the same code). Every write goes through
//! `apply`, which is also what a PostgreSQL write lane replays (lane.rs).

use sqlx::Row;

use super::guard::{self, Held};
use super::lane::{BoxFuture, Unit};
use super::{AttrFilter, Job, Kind, ListQuery, Record, StoreError, StoreResult, Tx, WriteOp};

const COLUMNS: &str = "kind, id, parent, seq, attr, body, tags, created_at";
pub(super) const JOB_COLUMNS: &str = "account, kind, id, due_at, payload, lease_owner, lease_until";

/// Rewrites `?` placeholders to PostgreSQL's `$n`. Our SQL never has `?` inside literals.
pub(super) fn pg(sql: &str) -> String {
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

/// A transaction's connection: a pooled read-only snapshot, or a unit of a write lane.
pub(super) enum Conn<DB: sqlx::Database>
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
        "experimentdefinition" => Kind::ExperimentDefinition,
        "experimentrun" => Kind::ExperimentRun,
        "usage" => Kind::Usage,
        other => return Err(StoreError::Corrupt(format!("unknown kind {other}"))),
    })
}

pub(super) fn now_millis() -> i64 {
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
            pub(super) fn new(conn: Conn<$db>, account: &str) -> Self {
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

            /// Runs `sql` with text parameters only (the deletes keyed by account and names).
            async fn execute_text(
                conn: &mut <$db as sqlx::Database>::Connection,
                sql: &str,
                params: &[&str],
            ) -> StoreResult<i64> {
                let mut query = sqlx::query(sql);
                for p in params {
                    query = query.bind(*p);
                }
                query.execute(&mut *conn).await?;
                Ok(0)
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
                        let sql = "DELETE FROM contents WHERE account = ? AND key = ?";
                        Self::execute_text(conn, &Self::sql(&lead, sql), &[account, key]).await
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
                        let sql = "DELETE FROM jobs WHERE account = ? AND kind = ? AND id = ?";
                        Self::execute_text(conn, &Self::sql(&lead, sql), &[account, kind, id]).await
                    }
                }
            }

            /// Replays committed writes after a rollback (PostgreSQL lanes; lane.rs).
            #[allow(dead_code)] // SQLite lanes undo with savepoints instead.
            pub(super) fn replay<'a>(
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

            pub(super) fn job(row: &<$db as sqlx::Database>::Row) -> StoreResult<Job> {
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
