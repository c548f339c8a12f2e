//! The lock of an index directory (`<dir>/lock`, an `flock`), which lets many processes use one
//! index: opening reads the files under a **shared** lock, a checkpoint writes them under the
//! **exclusive** one. Nobody holds it between those moments, so readers never wait for a
//! long-running process, and a crashed holder releases it with its last file descriptor.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use memory_core::{Error, Result};

/// Name of the lock file inside the index directory.
pub(crate) const LOCK_FILE: &str = "lock";

/// A held lock of an index directory; released when dropped.
#[derive(Debug)]
pub struct DirLock {
    file: File,
    dir: PathBuf,
    exclusive: bool,
}

impl DirLock {
    /// Takes the lock of `dir`, waiting up to `wait` (zero: one try). `Ok(None)` when another
    /// process kept it that long.
    pub(crate) fn acquire(dir: &Path, exclusive: bool, wait: Duration) -> Result<Option<DirLock>> {
        let path = dir.join(LOCK_FILE);
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| {
            Error::unavailable(format!("cannot open the index lock {}: {e}", path.display())).with_source(e)
        })?;
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            let tried = if exclusive { file.try_lock() } else { file.try_lock_shared() };
            match tried {
                Ok(()) => return Ok(Some(DirLock { file, dir: dir.to_path_buf(), exclusive })),
                Err(TryLockError::WouldBlock) if started.elapsed() < wait => {
                    std::thread::sleep(pause.min(wait.saturating_sub(started.elapsed())));
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => {
                    return Err(Error::unavailable(format!("cannot lock {}: {e}", path.display())).with_source(e));
                }
            }
        }
    }

    /// Whether this is the exclusive (writing) lock.
    pub fn is_exclusive(&self) -> bool {
        self.exclusive
    }

    /// The directory it locks.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}
