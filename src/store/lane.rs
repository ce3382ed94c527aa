//! Group commit: the write transactions of one lane (all of SQLite; one account on PostgreSQL)
//! run one after another on one connection, as *units* of a shared database transaction, and
//! commit together.
//!
//! A unit's commit waits until the shared transaction is durably committed. That commit is made
//! by a flush task queued on the lane's (FIFO) lock behind every writer that was already
//! waiting, so a burst of N writers costs one `COMMIT` (one fsync) instead of N, and a lone
//! writer commits at once. Nobody learns of success before the durable commit, so no
//! acknowledged write can be lost. The lane never leaves a transaction open while nobody is
//! queued: every unit that ends schedules a flush, and the flush returns the connection to the
//! pool.
//!
//! A unit that fails (dropped without committing, or a statement failed) is undone before
//! anyone else runs, and its batch neighbours keep their writes:
//! - SQLite: each unit runs inside a savepoint (`ROLLBACK TO` it). The savepoint travels with
//!   the unit's first statement (SQLite runs several statements in one call), and is never
//!   released: savepoints nest, and names unique in the batch (`u1`, `u2`, …) make a rollback
//!   to one that was never made fail the batch instead of undoing a neighbour.
//! - PostgreSQL: a savepoint would cost every unit a round trip of its own (its extended
//!   protocol takes one statement per call), so the batch keeps a journal of its committed
//!   units' writes instead. A failed unit that wrote anything (or broke the transaction) rolls
//!   the batch back to its start (`SAVEPOINT batch`, taken after the account lock, which stays
//!   held) and the journal is replayed: the same writes in the same order on the same state
//!   give the same results (counters included).
//!
//! Round trips are what bound a lane (every statement waits for the one before it), so a batch
//! also remembers the records its units read or wrote, which stay valid while it holds the
//! write lock. A batch takes at most `MAX_UNITS` units, which bounds its nesting, its journal
//! and how long a commit can be put off.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Executor, Pool};
use tokio::sync::{oneshot, Mutex, OwnedMutexGuard};

use super::{Kind, Record, StoreError, StoreResult, WriteOp};

/// Outcome of the shared commit, told to every unit that took part.
type Outcome = Result<(), Arc<str>>;

/// Records read or written in the open batch, by (account, kind, id); `None`: known absent.
type Cache = HashMap<(String, Kind, String), Option<Record>>;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Re-executes journaled writes on a connection, for an account.
pub type ReplayFn<DB> = for<'a> fn(
    &'a mut <DB as Database>::Connection,
    &'a str,
    &'a [WriteOp],
) -> BoxFuture<'a, StoreResult<()>>;

/// Units per batch, at most.
const MAX_UNITS: usize = 48;

/// How a lane undoes a failed unit (see the module doc).
pub enum Undo<DB: Database> {
    /// A savepoint per unit, sent with the unit's first statement.
    Savepoints,
    /// A journal of the batch's writes, replayed after rolling back to the batch's start.
    Replay {
        account: String,
        replay: ReplayFn<DB>,
    },
}

pub struct Batch<DB: Database> {
    conn: Option<PoolConnection<DB>>,
    /// The shared transaction is open.
    open: bool,
    /// The unit holding the lock, or last holding it if it went away without committing: its
    /// savepoint's name (Savepoints) or just a marker (Replay).
    in_unit: Option<String>,
    /// The open unit's savepoint is still to be made, by its first statement.
    savepoint_pending: bool,
    /// Replay: the open unit's writes so far, and whether one of its statements failed.
    unit_ops: Vec<WriteOp>,
    tainted: bool,
    /// Replay: the writes of the units that committed in this batch, in order.
    journal: Vec<WriteOp>,
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
    /// Keep the connection between batches (SQLite: the lane is the pool's only user).
    keep_conn: bool,
    undo: Undo<DB>,
}

/// One write transaction: the lane's lock and its connection.
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
        keep_conn: bool,
        undo: Undo<DB>,
    ) -> Arc<Self> {
        Arc::new(Lane {
            pool,
            state: Arc::new(Mutex::new(Batch {
                conn: None,
                open: false,
                in_unit: None,
                savepoint_pending: false,
                unit_ops: Vec::new(),
                tainted: false,
                journal: Vec::new(),
                committers: Vec::new(),
                units: 0,
                flush_pending: false,
                cache: Cache::new(),
            })),
            begin_sql,
            lock_sql,
            keep_conn,
            undo,
        })
    }

    fn replays(&self) -> bool {
        matches!(self.undo, Undo::Replay { .. })
    }

    /// Starts a write unit (waits for the lane's earlier units to finish theirs).
    pub async fn begin(self: &Arc<Self>) -> StoreResult<Unit<DB>> {
        let mut g = self.state.clone().lock_owned().await;
        self.discard_open_unit(&mut g).await;
        if g.units >= MAX_UNITS {
            self.commit_batch(&mut g).await;
        }
        if g.conn.is_none() {
            // The pool's own acquire timeout bounds the wait (sql.rs: ACQUIRE_TIMEOUT).
            g.conn = Some(self.pool.acquire().await?);
        }
        if !g.open {
            // BEGIN, the lock and the batch savepoint in one round trip (plain statements
            // without parameters run together).
            let mut lead = vec![self.begin_sql.to_string()];
            lead.extend(self.lock_sql.clone());
            if self.replays() {
                lead.push("SAVEPOINT batch".into());
            }
            if let Err(e) = exec(&mut g, &lead.join("; ")).await {
                abort(&mut g, &e);
                return Err(e);
            }
            g.open = true;
        }
        g.units += 1;
        g.savepoint_pending = !self.replays();
        g.in_unit = Some(format!("u{}", g.units));
        Ok(Unit {
            lane: self.clone(),
            guard: Some(g),
        })
    }

    /// Undoes a unit whose holder dropped it; a failure there ends the whole batch.
    async fn discard_open_unit(&self, g: &mut Batch<DB>) {
        let Some(name) = g.in_unit.take() else {
            return;
        };
        let ran_nothing = std::mem::take(&mut g.savepoint_pending);
        let wrote = !g.unit_ops.is_empty();
        g.unit_ops.clear();
        let tainted = std::mem::take(&mut g.tainted);
        let result = match &self.undo {
            Undo::Savepoints if ran_nothing => return,
            Undo::Savepoints => exec(g, &format!("ROLLBACK TO SAVEPOINT {name}")).await,
            Undo::Replay { .. } if !wrote && !tainted => return,
            Undo::Replay { account, replay } => {
                let redo = async {
                    exec(g, "ROLLBACK TO SAVEPOINT batch").await?;
                    let Batch { conn, journal, .. } = &mut *g;
                    let conn = conn.as_mut().ok_or_else(|| {
                        StoreError::Corrupt("write lane has no connection".into())
                    })?;
                    replay(conn.as_mut(), account, journal).await
                };
                redo.await
            }
        };
        // What the abandoned unit wrote may be cached; forget everything rather than track it.
        g.cache.clear();
        if let Err(e) = result {
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
                g.journal.clear();
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
    g.unit_ops.clear();
    g.tainted = false;
    g.journal.clear();
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
    /// still to be made.
    pub fn savepoint_prefix(&mut self) -> Option<String> {
        let g = self.guard.as_mut()?;
        if !std::mem::take(&mut g.savepoint_pending) {
            return None;
        }
        g.in_unit.as_ref().map(|name| format!("SAVEPOINT {name}; "))
    }

    /// Records a write that succeeded (kept only by lanes that replay).
    pub fn journal(&mut self, op: &WriteOp) {
        if !self.lane.replays() {
            return;
        }
        if let Some(g) = self.guard.as_mut() {
            g.unit_ops.push(op.clone());
        }
    }

    /// A statement of this unit failed (on PostgreSQL that breaks the whole transaction).
    pub fn taint(&mut self) {
        if let Some(g) = self.guard.as_mut() {
            g.tainted = true;
        }
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
    /// durably committed.
    pub async fn commit(mut self) -> StoreResult<()> {
        let Some(mut g) = self.guard.take() else {
            return Err(StoreError::Corrupt("write unit already ended".into()));
        };
        if g.tainted {
            // A statement failed and the caller commits anyway: on PostgreSQL the transaction
            // is broken, so this unit must be undone, not committed.
            self.lane.schedule_flush(&mut g);
            return Err(StoreError::BatchFailed(
                "a statement of this transaction failed; it was rolled back".into(),
            ));
        }
        g.in_unit = None;
        g.savepoint_pending = false;
        let ops = std::mem::take(&mut g.unit_ops);
        g.journal.extend(ops);
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
        // Dropped without commit: the unit stays marked open; whoever takes the lane next (at
        // the latest the flush scheduled here) undoes it first.
        if let Some(mut g) = self.guard.take() {
            self.lane.schedule_flush(&mut g);
        }
    }
}
