//! `memory backup`: a consistent copy of a live database through SQLite's online backup API.

use std::path::Path;

use memory_core::{Error, Result};
use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Classify, io_error};

/// What a backup wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct BackupReport {
    /// Size of the copy in bytes.
    pub bytes: u64,
    /// Database pages copied.
    pub pages: u64,
}

/// Copies `src` (inside its read transaction, so the copy is one snapshot) into a new file `to`.
pub(crate) fn copy(src: &Connection, to: &Path) -> Result<BackupReport> {
    if to.exists() {
        return Err(Error::already_exists(format!("{} already exists; the backup never overwrites", to.display())));
    }
    let written = (|| {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut dst = Connection::open_with_flags(to, flags).classify()?;
        let pages = {
            let backup = Backup::new(src, &mut dst).classify()?;
            // All pages in one step: the source is read in its own snapshot, so writers of
            // other connections never force a restart.
            backup.step(-1).classify()?;
            backup.progress().pagecount as u64
        };
        // A backup of a WAL database is a WAL database; the copy is a single file instead.
        dst.pragma_update(None, "journal_mode", "DELETE").classify()?;
        dst.close().map_err(|(_, e)| e).classify()?;
        let file = std::fs::File::open(to).map_err(|e| io_error(format_args!("cannot open {}", to.display()), e))?;
        file.sync_all().map_err(|e| io_error(format_args!("cannot sync {}", to.display()), e))?;
        let bytes = file.metadata().map_err(|e| io_error(format_args!("cannot read {}", to.display()), e))?.len();
        Ok(BackupReport { bytes, pages })
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(to);
    }
    written
}
