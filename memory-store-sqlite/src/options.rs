//! How to open a [`crate::SqliteStore`]: where its files live and how hard it works to keep
//! acknowledged writes.

use std::path::PathBuf;
use std::time::Duration;

/// What an acknowledged write survives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Durability {
    /// Survives power loss: SQLite runs with `synchronous=FULL` and event-log files are
    /// fsynced before a put returns. The default.
    #[default]
    Full,
    /// Survives the process being killed, not the machine losing power: `synchronous=NORMAL`
    /// and no fsync of event-log files. Noticeably faster for many small writes.
    Process,
}

/// Options of [`crate::SqliteStore::open_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteOptions {
    /// Directory holding `memory.db` and `log/`; created if missing.
    pub data_dir: PathBuf,
    /// What an acknowledged write survives.
    pub durability: Durability,
    /// Reader connections kept open between reads. More readers than this may be open at a
    /// busy moment; the extra ones are closed when they are returned.
    pub max_idle_readers: usize,
    /// How long a write waits for other processes on the same files (SQLite's write lock, the
    /// event-log lock) before giving up with `Unavailable` ("busy"). Writers queue up within
    /// it, so many processes writing at once all succeed as long as the queue drains in time.
    pub busy_timeout: Duration,
}

impl SqliteOptions {
    /// Default readers kept idle: as many as a busy server runs at once (64 connections), so
    /// a request never pays for opening a reader and preparing its statements again.
    pub const DEFAULT_MAX_IDLE_READERS: usize = 64;

    /// Default [`SqliteOptions::busy_timeout`]: long enough for dozens of processes to take
    /// their turn, short enough that a stuck one is reported.
    pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

    /// Options for a store in `data_dir` with [`Durability::Full`].
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            data_dir: data_dir.into(),
            durability: Durability::default(),
            max_idle_readers: Self::DEFAULT_MAX_IDLE_READERS,
            busy_timeout: Self::DEFAULT_BUSY_TIMEOUT,
        }
    }

    /// Sets the durability.
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Sets how long writes wait for other processes.
    pub fn busy_timeout(mut self, wait: Duration) -> Self {
        self.busy_timeout = wait;
        self
    }

    /// Sets how many reader connections stay open between reads.
    pub fn max_idle_readers(mut self, max_idle_readers: usize) -> Self {
        self.max_idle_readers = max_idle_readers;
        self
    }
}
