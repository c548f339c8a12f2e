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
//! One waiting writer at a time leads: it takes every queued write into its group, and the
//! others sleep until a group ends, then return if theirs ran or elect the next leader. (A
//! writer that queued for the writer mutex instead waited its turn at the mutex even when its
//! write had long been committed: measured at 13-26 ms per write under 64 concurrent writers.)
//!
//! Every method here blocks; callers run them on tokio's blocking pool.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use memory_core::{Error, Result};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::Classify;
use crate::event_log::{EventLog, ToLog};
use crate::schema;

/// Longest time committed writes stay in the WAL only (SQLite's own checkpoint waits for
/// 1000 pages, which a small store may never reach).
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(2);

pub(crate) struct Connections {
    writer: Mutex<Writer>,
    /// Writes waiting for a group (group commit), and whether a leader is running one.
    pending: Mutex<Pending>,
    /// Signalled when a group ends.
    group_ended: Condvar,
    readers: Option<ReaderPool>,
    /// The event logs of a file store: each group's created memories are appended after its
    /// commit, under the log lock taken before its transaction began.
    log: Option<EventLog>,
}

/// The queue of grouped writes.
#[derive(Default)]
struct Pending {
    jobs: Vec<Job>,
    leading: bool,
}

/// Ends a leader's turn however its group ends (a panic included), so a next leader is elected.
struct Turn<'a>(&'a Connections);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        lock(&self.0.pending).leading = false;
        self.0.group_ended.notify_all();
    }
}

/// One queued write: runs in its savepoint of the group's transaction (or learns why the
/// transaction could not begin).
struct Job {
    /// Whether it may create memories, whose lines go to the event log after the commit.
    logs: bool,
    run: RunJob,
}

/// A job's body: given the group's connection (or why there is none), it runs and says what
/// it left.
type RunJob = Box<dyn FnOnce(std::result::Result<&Connection, &Error>) -> Ran + Send>;

/// What a job leaves once it ran: the memories it created (for the event log) and what tells
/// its caller the outcome once the commit and the log append are known (`Some(error)` when
/// either failed).
struct Ran {
    created: Vec<ToLog>,
    complete: Completion,
}

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
    pub(crate) fn file(
        writer: Connection,
        path: PathBuf,
        max_idle_readers: usize,
        busy: Duration,
        log: EventLog,
    ) -> Self {
        let readers = ReaderPool { path, idle: Mutex::new(Vec::new()), max_idle: max_idle_readers, busy };
        let writer = Writer { conn: writer, checkpointed: Some(Instant::now()), dirty: false };
        Connections {
            writer: Mutex::new(writer),
            pending: Mutex::new(Pending::default()),
            group_ended: Condvar::new(),
            readers: Some(readers),
            log: Some(log),
        }
    }

    /// One connection for everything (an in-memory database is private to its connection).
    pub(crate) fn single(conn: Connection) -> Self {
        Connections {
            writer: Mutex::new(Writer { conn, checkpointed: None, dirty: false }),
            pending: Mutex::new(Pending::default()),
            group_ended: Condvar::new(),
            readers: None,
            log: None,
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
        self.enqueue(false, move |conn| f(conn).map(|out| (out, Vec::new())))
    }

    /// [`Connections::write`] for a write that creates memories: `f` also returns them, and
    /// their event log lines are appended after the group's commit (one write and one sync per
    /// file for the whole group) before the write is acknowledged. When the append fails, the
    /// write fails although its rows are stored (see `event_log`).
    pub(crate) fn write_logged<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<(T, Vec<ToLog>)> + Send + 'static,
    ) -> Result<T> {
        self.enqueue(true, f)
    }

    fn enqueue<T: Send + 'static>(
        &self,
        logs: bool,
        f: impl FnOnce(&Connection) -> Result<(T, Vec<ToLog>)> + Send + 'static,
    ) -> Result<T> {
        let (done, outcome) = std::sync::mpsc::sync_channel::<Result<T>>(1);
        let run = Box::new(move |conn: std::result::Result<&Connection, &Error>| {
            let (out, created) = match conn.map(|conn| in_savepoint(conn, f)) {
                Ok(Ok((out, created))) => (Ok(out), created),
                Ok(Err(e)) => (Err(e), Vec::new()),
                Err(e) => (Err(Error::new(e.kind(), e.message())), Vec::new()),
            };
            let complete: Completion = Box::new(move |failed: Option<&Error>| {
                let out = match failed {
                    Some(e) => Err(Error::new(e.kind(), e.message())),
                    None => out,
                };
                let _ = done.send(out);
            });
            Ran { created, complete }
        });
        let lost = || Error::internal("a grouped write was lost (its group panicked)");
        let mut pending = lock(&self.pending);
        pending.jobs.push(Job { logs, run });
        // A leader's group sends each outcome before the group ends; until ours is here, wait
        // for a group to end, and lead the next one when nobody else does.
        loop {
            match outcome.try_recv() {
                Ok(out) => return out,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => return Err(lost()),
                Err(std::sync::mpsc::TryRecvError::Empty) => {}
            }
            if !pending.leading {
                break;
            }
            pending = self.group_ended.wait(pending).unwrap_or_else(|e| e.into_inner());
        }
        pending.leading = true;
        let jobs = std::mem::take(&mut pending.jobs);
        drop(pending);
        let turn = Turn(self);
        self.with_writer(|conn| {
            run_group(conn, jobs, self.log.as_ref());
            Ok(())
        })?;
        drop(turn);
        outcome.recv().unwrap_or_else(|_| Err(lost()))
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

/// Runs `jobs` in one IMMEDIATE transaction, appends the memories they created to the event
/// log, and then tells each its outcome. When a job may log, the log lock is taken before the
/// transaction begins and held until the lines are written, so log order is commit order
/// across processes too.
fn run_group(conn: &mut Connection, jobs: Vec<Job>, log: Option<&EventLog>) {
    let fail_all = |jobs: Vec<Job>, e: &Error| {
        for job in jobs {
            ((job.run)(Err(e)).complete)(Some(e));
        }
    };
    let held = match log {
        Some(log) if jobs.iter().any(|j| j.logs) => match log.lock() {
            Ok(held) => Some((log, held)),
            Err(e) => return fail_all(jobs, &e),
        },
        _ => None,
    };
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate).classify() {
        Ok(tx) => tx,
        // Nothing ran (the database is busy past its timeout): every job learns why.
        Err(e) => return fail_all(jobs, &e),
    };
    let mut ran: Vec<Ran> = jobs.into_iter().map(|job| (job.run)(Ok(&tx))).collect();
    if let Err(e) = tx.commit().classify() {
        for r in ran {
            (r.complete)(Some(&e));
        }
        return;
    }
    let logged: Vec<bool> = ran.iter().map(|r| !r.created.is_empty()).collect();
    let created: Vec<ToLog> = ran.iter_mut().flat_map(|r| std::mem::take(&mut r.created)).collect();
    let appended = match &held {
        Some((log, held)) if !created.is_empty() => log.append(held, &created).err(),
        _ => None,
    };
    drop(held);
    for (r, logged) in ran.into_iter().zip(logged) {
        (r.complete)(appended.as_ref().filter(|_| logged));
    }
}

/// Runs `f` in a savepoint: kept when it succeeds, rolled back when it fails.
fn in_savepoint<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    run(conn, "SAVEPOINT grouped_write")?;
    match f(conn) {
        Ok(out) => {
            run(conn, "RELEASE grouped_write")?;
            Ok(out)
        }
        Err(e) => {
            let _ = run(conn, "ROLLBACK TO grouped_write").and_then(|()| run(conn, "RELEASE grouped_write"));
            Err(e)
        }
    }
}

fn in_read_transaction<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    run(conn, "BEGIN")?;
    // Ends the transaction however `f` leaves, a panic included (the connection may be reused).
    struct End<'a>(&'a Connection);
    impl Drop for End<'_> {
        fn drop(&mut self) {
            let _ = run(self.0, "ROLLBACK");
        }
    }
    let end = End(conn);
    let out = f(conn)?;
    std::mem::forget(end);
    run(conn, "COMMIT")?;
    Ok(out)
}

/// Runs a statement without parameters or rows through the statement cache: transaction
/// control runs for every read and write of a busy server, and parsing it each time showed.
fn run(conn: &Connection, sql: &str) -> Result<()> {
    conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map(|_| ()).classify()
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
