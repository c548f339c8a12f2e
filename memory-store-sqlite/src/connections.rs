//! The store's connections: one writer behind a mutex (SQLite allows one writer at a time, and
//! queuing in-process is cheaper than SQLITE_BUSY retries), plus a small pool of read-only
//! connections that WAL lets run alongside the writer. An in-memory database has only the one
//! connection, which then serves reads too.
//!
//! Every method here blocks; callers run them on tokio's blocking pool.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use memory_core::Result;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::error::Classify;
use crate::schema;

pub(crate) struct Connections {
    writer: Mutex<Connection>,
    readers: Option<ReaderPool>,
}

struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    max_idle: usize,
}

/// A poisoned lock still guards a consistent connection: a panic unwinds through the
/// transaction guard, which rolls the transaction back.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Connections {
    /// A file database: `writer` is configured and migrated; readers open on demand.
    pub(crate) fn file(writer: Connection, path: PathBuf, max_idle_readers: usize) -> Self {
        let readers = ReaderPool { path, idle: Mutex::new(Vec::new()), max_idle: max_idle_readers };
        Connections { writer: Mutex::new(writer), readers: Some(readers) }
    }

    /// One connection for everything (an in-memory database is private to its connection).
    pub(crate) fn single(conn: Connection) -> Self {
        Connections { writer: Mutex::new(conn), readers: None }
    }

    /// Runs `f` on the writer connection, with nothing else writing meanwhile.
    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        f(&mut lock(&self.writer))
    }

    /// Runs `f` in an IMMEDIATE transaction of the writer and commits when it returns `Ok`.
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).classify()?;
            let out = f(&tx)?;
            tx.commit().classify()?;
            Ok(out)
        })
    }

    /// Runs `f` in a read transaction, so it sees one snapshot even across statements.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let Some(pool) = &self.readers else {
            return self.with_writer(|conn| in_read_transaction(conn, f));
        };
        let conn = match lock(&pool.idle).pop() {
            Some(conn) => conn,
            None => open_reader(&pool.path)?,
        };
        let out = in_read_transaction(&conn, f);
        let mut idle = lock(&pool.idle);
        if idle.len() < pool.max_idle {
            idle.push(conn);
        }
        out
    }
}

fn in_read_transaction<T>(conn: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    let tx = conn.unchecked_transaction().classify()?;
    let out = f(&tx)?;
    tx.commit().classify()?;
    Ok(out)
}

fn open_reader(path: &std::path::Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).classify()?;
    schema::configure_reader(&conn)?;
    Ok(conn)
}

impl fmt::Debug for Connections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.readers {
            None => f.write_str("Connections(single)"),
            Some(pool) => {
                let idle = pool.idle.try_lock().map(|v| v.len()).ok();
                f.debug_struct("Connections").field("idle_readers", &idle).field("max_idle", &pool.max_idle).finish()
            }
        }
    }
}
