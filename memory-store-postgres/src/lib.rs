//! The shared [`memory_core::Store`] backend: one PostgreSQL database (15 or later, no
//! extensions) that several `memory serve` processes use at once.
//!
//! - **Schema**: versioned migrations in `migrations/`, applied on connect. `tenant_id` leads
//!   every key and index of tenant data and every query filters on it, so the schema can be
//!   distributed by tenant (Citus-style) when one database is not enough.
//! - **Commit-ordered change feed**: one counter row, locked by every writing transaction
//!   until it commits (see the `memories` module), so a reader never skips a change.
//! - **Doorbell**: writers `NOTIFY` on commit; a listener task turns that into the store's
//!   [`memory_core::ChangeSignal`], so engines read the change feed only when something changed.
//! - **Errors**: unique violations are `AlreadyExists`, serialization failures and deadlocks
//!   are retried and then `Conflict`, a lost connection is `Unavailable`.

mod entities;
mod error;
mod event_log;
mod maintenance;
mod memories;
mod namespaces;
mod notify;
mod paging;
mod records;
mod rows;
mod store;
pub mod testing;

pub use event_log::LogExport;
pub use store::{PgOptions, PgStore, redact_url};

/// The schema migrations, embedded in the binary.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
