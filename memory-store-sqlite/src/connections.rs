//! The store's connections: one writer behind a mutex (SQLite allows one writer at a time, and
//! queuing in-process is cheaper than SQLITE_BUSY retries), plus a small pool of read-only
//! connections that WAL lets run alongside the writer. An in-memory database has only the one
//! connection, which then serves reads too.
//!
//! WAL keeps committed pages in `memory.db-wal` until a checkpoint copies them into
//! `memory.db`; until then a copy of `memory.db` alone holds nothing of them. So the writer
//! checkpoints within [`CHECKPOINT_INTERVAL`] of a write (passively: it never waits for
//! readers): on the next write after the interval, or from the store's checkpoint thread when
//! no write follows; and once more, fully, when the store closes, after its readers are gone.
//!
//! Writes are group-committed: the writes waiting for the writer at one moment run in one
//! IMMEDIATE transaction, each in its own savepoint (a failing one is rolled back alone), and
//! share one commit, so one fsync. Each learns its result only after that commit, so nothing
//! is acknowledged before it is durable; a failed commit fails every write of the group.
//!
//! Every method here blocks; callers run them on tokio's blocking pool.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use memory_core::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::Classify;
use crate::schema;

/// Longest time committed writes stay in the WAL only (SQLite's own checkpoint waits for
/// 1000 pages, which a small store may never reach).
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(2);

pub(crate) struct Connections {
    writer: Mutex<Writer>,
    /// Writes waiting for the writer; whoever holds it next runs them all (group commit).
    pending: Mutex<Vec<Job>>,
    readers: Option<ReaderPool>,
}

/// One queued write: runs in its savepoint of the group's transaction (or learns why the
/// transaction could not begin) and returns what tells its caller the outcome once the commit
/// is known (`Some(error)` when the commit failed).
type Job = Box<dyn FnOnce(std::result::Result<&Connection, &Error>) -> Completion + Send>;
type Completion = Box<dyn FnOnce(Option<&Error>) + Send>;

struct Writer {
    conn: Connection,
    /// When the WAL was last checkpointed; `None` for an in-memory database (no WAL).
    checkpointed: Option<Instant>,
    /// Whether anything was written since.
    dirty: bool,
}

impl Writer {
    /// A passive checkpoint when something was written and the last one is `min_age` old.
    fn checkpoint_if_due(&mut self, min_age: Duration) {
        if let Some(at) = self.checkpointed
            && self.dirty
            && at.elapsed() >= min_age
        {
            // Best effort: a checkpoint that cannot finish now (readers of other processes
            // pin old pages) is simply done later.
            let _ = checkpoint(&self.conn, "PASSIVE");
            self.checkpointed = Some(Instant::now());
            self.dirty = false;
        }
    }
}

struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
    busy: Duration,
}

/// A poisoned lock still guards a consistent connection: a panic unwinds through the
/// transaction guard, which rolls the transaction back.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Connections {
    /// A file database: `writer` is configured and migrated; readers open on demand.
    pub(crate) fn file(writer: Connection, path: PathBuf, max_idle_readers: usize, busy: Duration) -> Self {
        let readers = ReaderPool { path, idle: Mutex::new(Vec::new()), max_idle: max_idle_readers, busy };
        let writer = Writer { conn: writer, checkpointed: Some(Instant::now()), dirty: false };
        Connections { writer: Mutex::new(writer), pending: Mutex::new(Vec::new()), readers: Some(readers) }
    }

    /// One connection for everything (an in-memory database is private to its connection).
    pub(crate) fn single(conn: Connection) -> Self {
        Connections {
            writer: Mutex::new(Writer { conn, checkpointed: None, dirty: false }),
            pending: Mutex::new(Vec::new()),
            readers: None,
        }
    }

    /// Runs `f` on the writer connection, with nothing else writing meanwhile; afterwards
    /// checkpoints the WAL when the last checkpoint is [`CHECKPOINT_INTERVAL`] old.
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut w = lock(&self.writer);
        let out = f(&mut w.conn);
        w.dirty = true;
        w.checkpoint_if_due(CHECKPOINT_INTERVAL);
        out
    }

    /// For the checkpoint thread: a checkpoint when writes have waited for one long enough.
    pub(crate) fn checkpoint_if_due(&self) {
        lock(&self.writer).checkpoint_if_due(CHECKPOINT_INTERVAL);
    }

    /// Runs `f` in a write transaction of the writer, shared with the other writes waiting at
    /// the same moment (see the module documentation); what `f` did is kept when it returns
    /// `Ok` and the group commits, and rolled back when it returns an error.
    pub(crate) fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (done, outcome) = std::sync::mpsc::sync_channel::<Result<T>>(1);
        let job: Job = Box::new(move |conn: std::result::Result<&Connection, &Error>| {
            let out = match conn {
                Ok(conn) => in_savepoint(conn, f),
                Err(e) => Err(Error::new(e.kind(), e.message())),
            };
            Box::new(move |commit: Option<&Error>| {
                let out = match commit {
                    Some(e) => Err(Error::new(e.kind(), e.message())),
                    None => out,
                };
                let _ = done.send(out);
            })
        });
        lock(&self.pending).push(job);
        // Whoever holds the writer next runs every queued job, ours included; when another
        // leader took ours, its outcome was sent before that leader let the writer go.
        self.with_writer(|conn| {
            let jobs = std::mem::take(&mut *lock(&self.pending));
            if !jobs.is_empty() {
                run_group(conn, jobs);
            }
            Ok(())
        })?;
        outcome.recv().unwrap_or_else(|_| Err(Error::internal("a grouped write was lost (its group panicked)")))
    }

    /// Runs `f` in a read transaction, so it sees one snapshot even across statements.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let Some(pool) = &self.readers else {
            return in_read_transaction(&lock(&self.writer).conn, f);
        };
        let conn = match lock(&pool.idle).pop() {
            Some(conn) => conn,
            None => open_reader(&pool.path, pool.busy)?,
        };
        let out = in_read_transaction(&conn, f);
        let mut idle = lock(&pool.idle);
        if idle.len() < pool.max_idle {
            idle.push(conn);
        }
        out
    }
}

/// Runs `jobs` in one IMMEDIATE transaction and tells each its outcome after the commit.
fn run_group(conn: &mut Connection, jobs: Vec<Job>) {
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate).classify() {
        Ok(tx) => tx,
        Err(e) => {
            // Nothing ran (the database is busy past its timeout): every job learns why.
            for job in jobs {
                job(Err(&e))(Some(&e));
            }
            return;
        }
    };
    let completions: Vec<Completion> = jobs.into_iter().map(|job| job(Ok(&tx))).collect();
    let committed = tx.commit().classify();
    let error = committed.err();
    for complete in completions {
        complete(error.as_ref());
    }
}

/// Runs `f` in a savepoint: kept when it succeeds, rolled back when it fails.
fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    conn.execute_batch("SAVEPOINT grouped_write").classify()?;
    match f(conn) {
        Ok(out) => {
            conn.execute_batch("RELEASE grouped_write").classify()?;
            Ok(out)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK TO grouped_write; RELEASE grouped_write");
            Err(e)
        }
    }
}

fn in_read_transaction<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let tx = conn.unchecked_transaction().classify()?;
    let out = f(&tx)?;
    tx.commit().classify()?;
    Ok(out)
}

fn open_reader(path: &std::path::Path, busy: Duration) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).classify()?;
    schema::configure_reader(&conn, busy)?;
    Ok(conn)
}

/// `PRAGMA wal_checkpoint(mode)`.
fn checkpoint(conn: &Connection, mode: &str) -> Result<()> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(())).classify()
}

impl Connections {
    /// Checkpoints the whole WAL into the database file now (`TRUNCATE`, else as much as
    /// other processes' readers allow). For a backup-by-copy and for closing.
    pub(crate) fn checkpoint_now(&self) -> Result<()> {
        let mut w = lock(&self.writer);
        if w.checkpointed.is_none() {
            return Ok(());
        }
        let full = checkpoint(&w.conn, "TRUNCATE");
        if full.is_err() {
            checkpoint(&w.conn, "PASSIVE")?;
        }
        w.checkpointed = Some(Instant::now());
        w.dirty = false;
        Ok(())
    }
}

impl Drop for Connections {
    fn drop(&mut self) {
        // Readers first: the last connection to close is the one whose checkpoint empties the
        // WAL, and a read-only connection cannot do that.
        if let Some(pool) = &self.readers {
            lock(&pool.idle).clear();
        }
        let _ = self.checkpoint_now();
    }
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.readers {
            None => f.write_str("Connections(single)"),
            Some(pool) => {
                let idle = pool.idle.try_lock().map(|v| v.len()).ok();
                f.debug_struct("Connections")
                    .field("idle_readers", &idle)
                    .field("max_idle", &pool.max_idle)
                    .field("busy", &pool.busy)
                    .finish()
            }
        }
    }
}
