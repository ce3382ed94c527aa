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

use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Executor, Pool};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

use super::{StoreError, StoreResult};

/// Outcome of the shared commit, told to every unit that took part.
type Outcome = Result<(), Arc<str>>;

pub struct Batch<DB: Database> {
    conn: Option<PoolConnection<DB>>,
    /// The shared transaction is open.
    open: bool,
    /// A unit's savepoint is open (its holder went away without committing).
    in_unit: bool,
    /// Units whose savepoint was released, waiting for the shared commit.
    committers: Vec<oneshot::Sender<Outcome>>,
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
    ) -> Arc<Self> {
        Arc::new(Lane {
            pool,
            state: Arc::new(Mutex::new(Batch {
                conn: None,
                open: false,
                in_unit: false,
                committers: Vec::new(),
            })),
            begin_sql,
            lock_sql,
            acquire_timeout,
            keep_conn,
        })
    }

    /// Starts a write unit (waits for the lane's earlier units to finish theirs).
    pub async fn begin(self: &Arc<Self>) -> StoreResult<Unit<DB>> {
        let mut g = self.state.clone().lock_owned().await;
        self.discard_open_unit(&mut g).await;
        if g.conn.is_none() {
            let conn = tokio::time::timeout(self.acquire_timeout, self.pool.acquire())
                .await
                .map_err(|_| StoreError::Db(sqlx::Error::PoolTimedOut))??;
            g.conn = Some(conn);
        }
        if !g.open {
            if let Err(e) = self.open_batch(&mut g).await {
                abort(&mut g, &e);
                return Err(e);
            }
        }
        if let Err(e) = exec(&mut g, "SAVEPOINT unit").await {
            abort(&mut g, &e);
            return Err(e);
        }
        g.in_unit = true;
        Ok(Unit {
            lane: self.clone(),
            guard: Some(g),
        })
    }

    async fn open_batch(&self, g: &mut Batch<DB>) -> StoreResult<()> {
        exec(g, self.begin_sql).await?;
        g.open = true;
        if let Some(sql) = &self.lock_sql {
            exec(g, sql).await?;
        }
        Ok(())
    }

    /// Rolls back a unit whose holder dropped it; a failure there ends the whole batch.
    async fn discard_open_unit(&self, g: &mut Batch<DB>) {
        if !g.in_unit {
            return;
        }
        g.in_unit = false;
        let r = async {
            exec(g, "ROLLBACK TO SAVEPOINT unit").await?;
            exec(g, "RELEASE SAVEPOINT unit").await
        }
        .await;
        if let Err(e) = r {
            abort(g, &e);
        }
    }

    /// Commits the shared transaction (if open), tells its units, returns the connection.
    async fn flush(&self) {
        let mut g = self.state.clone().lock_owned().await;
        self.discard_open_unit(&mut g).await;
        if g.open {
            match exec(&mut g, "COMMIT").await {
                Ok(()) => {
                    g.open = false;
                    for c in g.committers.drain(..) {
                        let _ = c.send(Ok(()));
                    }
                }
                Err(e) => abort(&mut g, &e),
            }
        }
        // Idle lanes hold no connection (a PostgreSQL lane per account would otherwise pin one).
        if !self.keep_conn {
            g.conn = None;
        }
    }

    fn schedule_flush(self: &Arc<Self>) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
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
    g.in_unit = false;
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

    /// Makes the unit's writes part of the shared transaction and waits until that is
    /// durably committed.
    pub async fn commit(mut self) -> StoreResult<()> {
        let Some(mut g) = self.guard.take() else {
            return Err(StoreError::Corrupt("write unit already ended".into()));
        };
        if let Err(e) = exec(&mut g, "RELEASE SAVEPOINT unit").await {
            abort(&mut g, &e);
            drop(g);
            self.lane.schedule_flush();
            return Err(e);
        }
        g.in_unit = false;
        let (tx, rx) = oneshot::channel();
        g.committers.push(tx);
        drop(g);
        self.lane.schedule_flush();
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
        if self.guard.take().is_some() {
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                let lane = self.lane.clone();
                rt.spawn(async move { lane.flush().await });
            }
        }
    }
}
