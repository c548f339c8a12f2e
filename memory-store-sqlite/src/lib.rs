//! The embedded [`memory_core::Store`] backend: one SQLite file in WAL mode plus append-only
//! per-namespace JSONL event logs (SPEC 6).
//!
//! ```text
//! <data_dir>/
//! ├── memory.db                                  all records (plus memory.db-wal, memory.db-shm)
//! └── log/
//!     ├── ns-<hex of key>/2026-05-08.jsonl       tenant `default`
//!     └── tenant-<hex of tenant>/ns-<hex>/...    any other tenant
//! ```
//!
//! [`SqliteStore`] behaves exactly like [`memory_core::InMemoryStore`], the reference store,
//! and passes the shared conformance suite of `memory-testkit`. Every database call runs on
//! tokio's blocking pool; one writer connection serializes writes while a small pool of reader
//! connections serves reads concurrently (WAL lets readers proceed during a write).
//!
//! Durability: a put commits its transaction, then appends one `remember` line per created
//! memory to the event log, then returns. With [`Durability::Full`] both the database and the
//! log are fsynced first, so an acknowledged write survives power loss; with
//! [`Durability::Process`] it survives the process being killed.

mod backup;
mod connections;
mod entities;
mod error;
mod event_log;
mod maintenance;
mod memories;
mod namespaces;
mod options;
mod paging;
mod records;
mod rows;
mod schema;
mod store;

pub use backup::BackupReport;
pub use event_log::{LOG_CONTENT_KEY, LogEvent, log_file_path, read_log};
pub use options::{Durability, SqliteOptions};
pub use schema::SCHEMA_VERSION;
pub use store::{DATABASE_FILE, LOG_DIR, SqliteStore};
