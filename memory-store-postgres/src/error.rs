//! Sorts driver errors into [`memory_core::ErrorKind`]s, keeping the cause as the source, so
//! callers see the same kinds from every backend.

use memory_core::{Error, ErrorKind};

/// Classifies a `sqlx` result's error; see [`classify`].
pub(crate) trait Classify<T> {
    /// The result with its error classified.
    fn classify(self) -> Result<T, Error>;
}

impl<T> Classify<T> for Result<T, sqlx::Error> {
    fn classify(self) -> Result<T, Error> {
        self.map_err(classify)
    }
}

/// SQLSTATE codes this crate acts on.
pub(crate) mod code {
    pub const UNIQUE_VIOLATION: &str = "23505";
    pub const SERIALIZATION_FAILURE: &str = "40001";
    pub const DEADLOCK_DETECTED: &str = "40P01";
}

/// Whether retrying the whole transaction may succeed: the server aborted it to keep
/// concurrent transactions serializable, or to break a deadlock.
pub(crate) fn is_retryable(e: &Error) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<sqlx::Error>())
        .and_then(|e| e.as_database_error())
        .and_then(|d| d.code())
        .is_some_and(|c| c == code::SERIALIZATION_FAILURE || c == code::DEADLOCK_DETECTED)
}

/// Unique violations are `AlreadyExists` (an id, key or hash is taken), other constraint
/// violations `Conflict`, and so are serialization failures and deadlocks (after the store's
/// retries); a lost or refused connection, an exhausted pool or a server shutting down is
/// `Unavailable`. Everything else is `Internal`: a query the code got wrong, or stored data it
/// cannot read.
pub(crate) fn classify(e: sqlx::Error) -> Error {
    let (kind, what) = match &e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some(code::UNIQUE_VIOLATION) => (ErrorKind::AlreadyExists, "a record with this id or key already exists"),
            Some(code::SERIALIZATION_FAILURE | code::DEADLOCK_DETECTED) => {
                (ErrorKind::Conflict, "a concurrent change got in the way; try again")
            }
            // Class 23: other integrity constraint violations.
            Some(c) if c.starts_with("23") => (ErrorKind::Conflict, "the change violates a database constraint"),
            // Class 08 (connection exception), 53 (insufficient resources), 57P (operator
            // intervention: shutdown, cancel), 58 (system error, e.g. IO).
            Some(c) if c.starts_with("08") || c.starts_with("53") || c.starts_with("57P") || c.starts_with("58") => {
                (ErrorKind::Unavailable, "the database is unavailable")
            }
            _ => (ErrorKind::Internal, "database error"),
        },
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => (ErrorKind::Unavailable, "the database cannot be reached"),
        sqlx::Error::Configuration(_) => (ErrorKind::InvalidInput, "the database URL is not usable"),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
            (ErrorKind::Internal, "stored data cannot be read")
        }
        _ => (ErrorKind::Internal, "database error"),
    };
    Error::new(kind, format!("{what}: {e}")).with_source(e)
}

/// A stored value that does not decode into its domain type.
pub(crate) fn bad_value(column: &str, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("stored data cannot be read: column {column}: {e}"))
}
