//! Sorts driver and file-system errors into [`memory_core::ErrorKind`]s, keeping the cause as
//! the source, so callers see the same kinds from every backend.

use memory_core::{Error, ErrorKind};
use rusqlite::ErrorCode;
use rusqlite::ffi;

/// Classifies a `rusqlite` result's error; see [`classify`].
pub(crate) trait Classify<T> {
    /// The result with its error classified.
    fn classify(self) -> Result<T, Error>;
}

impl<T> Classify<T> for rusqlite::Result<T> {
    fn classify(self) -> Result<T, Error> {
        self.map_err(classify)
    }
}

/// Unique and primary-key violations are `AlreadyExists` (an id, key or hash is taken), other
/// constraint violations `Conflict`; a busy or locked database is `Unavailable` (another
/// process holds it; retrying may help), and so are a full disk and IO failures. Everything
/// else is `Internal`: a query the code got wrong or stored data it cannot read.
pub(crate) fn classify(e: rusqlite::Error) -> Error {
    let (kind, what) = match &e {
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::ConstraintViolation => match f.extended_code {
                ffi::SQLITE_CONSTRAINT_PRIMARYKEY | ffi::SQLITE_CONSTRAINT_UNIQUE => {
                    (ErrorKind::AlreadyExists, "a record with this id or key already exists")
                }
                _ => (ErrorKind::Conflict, "the change violates a database constraint"),
            },
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                (ErrorKind::Unavailable, "the database is busy; try again")
            }
            ErrorCode::DiskFull | ErrorCode::SystemIoFailure | ErrorCode::CannotOpen | ErrorCode::ReadOnly => {
                (ErrorKind::Unavailable, "the database file cannot be written or read")
            }
            _ => (ErrorKind::Internal, "database error"),
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..) => (ErrorKind::Internal, "stored data cannot be read"),
        _ => (ErrorKind::Internal, "database error"),
    };
    Error::new(kind, format!("{what}: {e}")).with_source(e)
}

/// A file-system error of the store's own files: `Unavailable` (disk full, permissions, a
/// vanished directory are conditions of the machine, not of the request).
pub(crate) fn io_error(what: impl std::fmt::Display, e: std::io::Error) -> Error {
    Error::unavailable(format!("{what}: {e}")).with_source(e)
}
