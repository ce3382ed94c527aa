//! Group commit: the write transactions of one lane (all of SQLite; one account on PostgreSQL)
//! run one after another on one connection, each inside a savepoint of a shared database
//! transaction, and commit together.
//!
//! A write unit begins with `SAVEPOINT`; its commit releases the savepoint and then waits until
//! the shared transaction is durably committed. That commit is made by a flush task queued on
//! the lane's (FIFO) lock behind every writer that was already waiting, so a burst of N writers
//! costs one `COMMIT` (one fsync) instead of N, and a lone writer commits at once. A unit that
//! is dropped without committing is rolled back to its savepoint before anyone else runs.
//! Nobody learns of success before the durable commit, so no acknowledged write can be lost.
//!
//! The lane never leaves a transaction open while nobody is queued: every unit that ends
//! schedules a flush, and the flush returns the connection to the pool.
//!
//! Round trips on the lane are what bound its throughput (every statement waits for the one
//! before it), so the lane spends as few as it can: a committing unit leaves its savepoint
//! open instead of releasing it (savepoints nest), on SQLite the savepoint travels with the
//! unit's first statement, and a batch remembers the records its units read or wrote, which
//! stay valid while it holds the write lock. A batch takes at most `MAX_UNITS` units, which bounds
//! both its nesting and how long a commit can be put off.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Executor, Pool};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

use super::{Kind, Record, StoreError, StoreResult};

/// Outcome of the shared commit, told to every unit that took part.
type Outcome = Result<(), Arc<str>>;

/// Records read or written in the open batch, by (account, kind, id); `None`: known absent.
type Cache = HashMap<(String, Kind, String), Option<Record>>;

/// Units per batch, at most (PostgreSQL keeps up to 64 subtransactions per backend cheaply).
const MAX_UNITS: usize = 48;

pub struct Batch<DB: Database> {
    conn: Option<PoolConnection<DB>>,
    /// The shared transaction is open.
    open: bool,
    /// The savepoint of the unit holding the lock (or last holding it, if it went away
    /// without committing). Names are unique in a batch (`u1`, `u2`, …), so rolling back to
    /// one that was never made fails instead of undoing an earlier unit.
    in_unit: Option<String>,
    /// The open unit's savepoint is still to be made, by its first statement (see
    /// `Unit::savepoint_prefix`).
    savepoint_pending: bool,
    /// Units that committed, waiting for the shared commit.
    committers: Vec<oneshot::Sender<Outcome>>,
    /// Units begun in the open batch.
    units: usize,
    /// A flush task is queued on the lock (one per batch is enough).
    flush_pending: bool,
    cache: Cache,
}

pub struct Lane<DB: Database> {
    pool: Pool<DB>,
    state: Arc<Mutex<Batch<DB>>>,
    begin_sql: &'static str,
    /// Run right after BEGIN (PostgreSQL: takes the account's write lock across nodes).
    lock_sql: Option<String>,
    acquire_timeout: Duration,
    /// Keep the connection between batches (SQLite: the lane is the pool's only user).
    keep_conn: bool,
    /// Send a unit's `SAVEPOINT` with its first statement, saving a round trip (SQLite runs
    /// several statements in one call; PostgreSQL's extended protocol does not).
    fold_savepoint: bool,
}

/// One write transaction: the lane's lock and its connection, inside a savepoint.
pub struct Unit<DB: Database>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    lane: Arc<Lane<DB>>,
    guard: Option<OwnedMutexGuard<Batch<DB>>>,
}

impl<DB: Database> Lane<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    pub fn new(
        pool: Pool<DB>,
        begin_sql: &'static str,
        lock_sql: Option<String>,
        acquire_timeout: Duration,
        keep_conn: bool,
        fold_savepoint: bool,
    ) -> Arc<Self> {
        Arc::new(Lane {
            pool,
            state: Arc::new(Mutex::new(Batch {
                conn: None,
                open: false,
                in_unit: None,
                savepoint_pending: false,
                committers: Vec::new(),
                units: 0,
                flush_pending: false,
                cache: Cache::new(),
            })),
            begin_sql,
            lock_sql,
            acquire_timeout,
            keep_conn,
            fold_savepoint,
        })
    }

    /// Starts a write unit (waits for the lane's earlier units to finish theirs).
    pub async fn begin(self: &Arc<Self>) -> StoreResult<Unit<DB>> {
        let mut g = self.state.clone().lock_owned().await;
        self.discard_open_unit(&mut g).await;
        if g.units >= MAX_UNITS {
            self.commit_batch(&mut g).await;
        }
        if g.conn.is_none() {
            let conn = tokio::time::timeout(self.acquire_timeout, self.pool.acquire())
                .await
                .map_err(|_| StoreError::Db(sqlx::Error::PoolTimedOut))??;
            g.conn = Some(conn);
        }
        g.units += 1;
        let name = format!("u{}", g.units);
        // What must run before the unit's own statements, sent as one round trip (plain
        // statements without parameters): BEGIN and the lock for a new batch, the savepoint.
        let mut lead: Vec<String> = Vec::new();
        if !g.open {
            lead.push(self.begin_sql.to_string());
            lead.extend(self.lock_sql.clone());
        }
        if self.fold_savepoint {
            g.savepoint_pending = true;
        } else {
            lead.push(format!("SAVEPOINT {name}"));
        }
        if !lead.is_empty() {
            if let Err(e) = exec(&mut g, &lead.join("; ")).await {
                abort(&mut g, &e);
                return Err(e);
            }
            g.open = true;
        }
        g.in_unit = Some(name);
        Ok(Unit {
            lane: self.clone(),
            guard: Some(g),
        })
    }

    /// Rolls back a unit whose holder dropped it; a failure there ends the whole batch.
    async fn discard_open_unit(&self, g: &mut Batch<DB>) {
        let Some(name) = g.in_unit.take() else {
            return;
        };
        // What the abandoned unit wrote may be cached; forget everything rather than track it.
        g.cache.clear();
        if std::mem::take(&mut g.savepoint_pending) {
            return; // It ran no statement: nothing to undo.
        }
        if let Err(e) = exec(g, &format!("ROLLBACK TO SAVEPOINT {name}")).await {
            abort(g, &e);
        }
    }

    /// Commits the shared transaction (if open), tells its units, returns the connection.
    async fn flush(&self) {
        let mut g = self.state.clone().lock_owned().await;
        g.flush_pending = false;
        self.discard_open_unit(&mut g).await;
        self.commit_batch(&mut g).await;
        // Idle lanes hold no connection (a PostgreSQL lane per account would otherwise pin one).
        if !self.keep_conn {
            g.conn = None;
        }
    }

    async fn commit_batch(&self, g: &mut Batch<DB>) {
        if !g.open {
            return;
        }
        match exec(g, "COMMIT").await {
            Ok(()) => {
                g.open = false;
                g.units = 0;
                g.cache.clear();
                for c in g.committers.drain(..) {
                    let _ = c.send(Ok(()));
                }
            }
            Err(e) => abort(g, &e),
        }
    }

    /// Queues a flush behind whoever waits for the lock now, unless one is queued already.
    /// Call with the lock held (so `flush_pending` is exact), just before releasing it.
    fn schedule_flush(self: &Arc<Self>, g: &mut Batch<DB>) {
        if g.flush_pending {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            g.flush_pending = true;
            let lane = self.clone();
            rt.spawn(async move { lane.flush().await });
        }
    }
}

async fn exec<DB: Database>(g: &mut Batch<DB>, sql: &str) -> StoreResult<()>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let conn = g
        .conn
        .as_mut()
        .ok_or_else(|| StoreError::Corrupt("write lane has no connection".into()))?;
    conn.as_mut().execute(sql).await?;
    Ok(())
}

/// The shared transaction failed: every unit waiting on it fails, and the connection (whose
/// state is now unknown) is closed rather than reused.
fn abort<DB: Database>(g: &mut Batch<DB>, e: &StoreError) {
    tracing::error!(error = %e, units = g.committers.len(), "store: write batch failed; rolling back");
    let msg: Arc<str> = Arc::from(e.to_string());
    for c in g.committers.drain(..) {
        let _ = c.send(Err(msg.clone()));
    }
    if let Some(mut conn) = g.conn.take() {
        // Closing rolls back whatever the server still holds open.
        conn.close_on_drop();
    }
    g.open = false;
    g.in_unit = None;
    g.savepoint_pending = false;
    g.units = 0;
    g.cache.clear();
}

impl<DB: Database> Unit<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    pub fn conn(&mut self) -> StoreResult<&mut DB::Connection> {
        self.guard
            .as_mut()
            .and_then(|g| g.conn.as_mut())
            .map(|c| c.as_mut())
            .ok_or_else(|| StoreError::Corrupt("write unit has no connection".into()))
    }

    /// `SAVEPOINT uN; ` to put in front of the unit's first statement, if its savepoint is
    /// still to be made (the lane folds savepoints; see `Lane::fold_savepoint`).
    pub fn savepoint_prefix(&mut self) -> Option<String> {
        let g = self.guard.as_mut()?;
        if !std::mem::take(&mut g.savepoint_pending) {
            return None;
        }
        g.in_unit.as_ref().map(|name| format!("SAVEPOINT {name}; "))
    }

    /// What the open batch knows of a record: `Some(None)` known absent, `None` unknown.
    pub fn cached(&mut self, account: &str, kind: Kind, id: &str) -> Option<Option<Record>> {
        let g = self.guard.as_mut()?;
        g.cache
            .get(&(account.to_string(), kind, id.to_string()))
            .cloned()
    }

    pub fn remember(&mut self, account: &str, kind: Kind, id: &str, rec: Option<Record>) {
        if let Some(g) = self.guard.as_mut() {
            g.cache
                .insert((account.to_string(), kind, id.to_string()), rec);
        }
    }

    pub fn forget(&mut self, account: &str, kind: Kind, id: &str) {
        if let Some(g) = self.guard.as_mut() {
            g.cache.remove(&(account.to_string(), kind, id.to_string()));
        }
    }

    /// Makes the unit's writes part of the shared transaction and waits until that is
    /// durably committed. The savepoint stays open (see the module doc).
    pub async fn commit(mut self) -> StoreResult<()> {
        let Some(mut g) = self.guard.take() else {
            return Err(StoreError::Corrupt("write unit already ended".into()));
        };
        g.in_unit = None;
        g.savepoint_pending = false;
        let (tx, rx) = oneshot::channel();
        g.committers.push(tx);
        self.lane.schedule_flush(&mut g);
        drop(g);
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(msg)) => Err(StoreError::BatchFailed(msg.to_string())),
            Err(_) => Err(StoreError::BatchFailed(
                "the write batch ended without committing".into(),
            )),
        }
    }
}

impl<DB: Database> Drop for Unit<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    fn drop(&mut self) {
        // Dropped without commit: the savepoint stays marked open; whoever takes the lane
        // next (at the latest the flush scheduled here) rolls it back first.
        if let Some(mut g) = self.guard.take() {
            self.lane.schedule_flush(&mut g);
        }
    }
}
