//! The SQL implementation of `Store`, for SQLite and PostgreSQL: connecting and migrating,
//! handing out transactions (read snapshots from a pool, writes through write lanes), and the
//! engine's job leases. The transactions themselves are in `tx.rs`.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Row;

use super::guard;
use super::lane::{Lane, Undo};
use super::migrations::{ddl, MIGRATIONS};
use super::tx::{now_millis, pg, Conn, PgTx, SqliteTx, JOB_COLUMNS};
use super::{Claim, DynStore, Job, Store, StoreError, StoreResult, Tx};

/// PostgreSQL NOTIFY channel that carries changes between nodes.
const CHANGE_CHANNEL: &str = "appconfigd_changes";
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

/// How long a request waits for a database connection before it fails: long enough for its
/// turn under load (transactions last milliseconds), short enough that an unreachable
/// database is reported promptly instead of stalling the caller.
const ACQUIRE_TIMEOUT: Duration = Duration::from_millis(1500);

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
        let lane = Lane::new(writer, "BEGIN IMMEDIATE", None, true, Undo::Savepoints);
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

/// Applies the migrations newer than the recorded version, in the open transaction `$tx`
/// (one body for both backends: sqlx's executors are typed per database).
macro_rules! apply_migrations {
    ($tx:ident, $postgres:expr) => {{
        let tx = &mut *$tx;
        sqlx::query(MIGRATIONS_TABLE).execute(&mut *tx).await?;
        let current: i64 =
            sqlx::query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations")
                .fetch_one(&mut *tx)
                .await?
                .try_get("v")?;
        let insert = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)";
        let insert = if $postgres {
            pg(insert)
        } else {
            insert.to_string()
        };
        for m in MIGRATIONS.iter().filter(|m| m.version > current) {
            for s in m.statements {
                sqlx::query(&ddl(s, $postgres)).execute(&mut *tx).await?;
            }
            sqlx::query(&insert)
                .bind(m.version)
                .bind(m.name)
                .bind(now_millis())
                .execute(&mut *tx)
                .await?;
        }
    }};
}

async fn migrate_sqlite(pool: &SqlitePool) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    apply_migrations!(tx, false);
    tx.commit().await?;
    Ok(())
}

async fn migrate_pg(pool: &PgPool) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    // Several nodes may start at once: one migrates, the others wait and then see it done.
    sqlx::query("SELECT pg_advisory_xact_lock(727272)")
        .execute(&mut *tx)
        .await?;
    apply_migrations!(tx, true);
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

    async fn claim_jobs(&self, c: Claim<'_>) -> StoreResult<Vec<Job>> {
        guard::check("Store::claim_jobs");
        // The parameters of `claim_sql`, in order.
        macro_rules! claim_query {
            ($sql:expr) => {
                sqlx::query($sql)
                    .bind(c.owner)
                    .bind(c.now + c.lease_ms)
                    .bind(c.kind)
                    .bind(c.now)
                    .bind(c.now)
                    .bind(c.limit)
            };
        }
        match self {
            SqlStore::Sqlite { lane, .. } => {
                // Through the write lane: SQLite has one writer connection, and it is the lane's.
                let mut unit = lane.begin().await?;
                let sql = claim_sql(false);
                let rows = claim_query!(&sql).fetch_all(unit.conn()?).await?;
                let jobs = rows.iter().map(SqliteTx::job).collect::<StoreResult<_>>()?;
                unit.commit().await?;
                Ok(jobs)
            }
            SqlStore::Postgres { pool, .. } => {
                let sql = pg(&claim_sql(true));
                let rows = claim_query!(&sql).fetch_all(pool).await?;
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
