//! The API boundary used by the server and the CLI: joins store, index, embedder and the scope
//! resolver into the behaviour of SPEC 2-4 and 6.
//!
//! - [`Engine`] ([`engine`]): built from [`EngineParts`] or opened from a home directory
//!   ([`open_home`]). Every operation takes a [`Caller`] and gets its namespaces from the one
//!   scope resolver.
//! - Writes ([`Engine::remember`], [`Engine::remember_now`], [`Engine::remember_batch`],
//!   [`Engine::observe`], [`Engine::supersede`]), recall ([`Engine::recall`]), memories by id
//!   ([`Engine::get`], [`Engine::list`], [`Engine::forget`], [`Engine::report_outcome`]),
//!   promotion ([`Engine::promote`]), namespaces ([`Engine::create_namespace`] and friends),
//!   API keys ([`Engine::create_key`] and friends), audit ([`Engine::audit_log`]), export and import ([`Engine::export`], [`Engine::import`]).
//! - Consolidation and its review queue ([`Engine::consolidate`], [`Engine::proposals`],
//!   [`Engine::approve_proposal`], [`Engine::reject_proposal`]), entities ([`Engine::entities`]),
//!   maintenance ([`Engine::maintain`], [`Engine::maintenance_status`]).
//! - [`sync`] keeps the derived index in step with the store; [`eval`] measures retrieval.

mod audit;
mod caller;
mod catalog;
mod clock;
mod consolidate;
mod engine;
mod entities;
pub mod eval;
mod home;
mod keys;
mod maintain;
mod memories;
mod migrate;
mod namespaces;
mod pipeline;
mod promote;
mod recall;
pub mod sync;
mod transfer;
mod write;

pub use caller::Caller;
pub use clock::{Clock, ManualClock, SystemClock};
pub use consolidate::{ConsolidateRequest, Consolidation, DEFAULT_CONSOLIDATE_EPISODES, meta as consolidation_meta};
pub use engine::{DEFAULT_WAIT, Engine, EngineParts, IndexSize};
pub use entities::EntityMemories;
pub use home::{CONFIG_FILE, DATABASE_URL_VAR, Home, HomeOptions, LogsReport, StoreUrl, open_home};
pub use keys::{Authenticated, IssuedKey, NewKey, SECRET_PREFIX};
pub use maintain::{MaintainRequest, MaintenanceReport, PURGE_GRACE_DAYS};
pub use memories::ListRequest;
/// The identity facts of a request (header principal, key grant, server principal, session
/// key, account), as a front end found them; the policy decides what they mean.
pub use memory_policy::{Caller as Identity, KeyGrant, ScopePlan};
pub use migrate::{DEFAULT_MIGRATE_BATCH, Duplicate, MigrateRequest, Migration};
pub use namespaces::{CatalogRebuild, NamespaceInfo, RebuiltNamespace, VerifyReport};
pub use promote::Promoted;
pub use recall::{
    ENTITY_BOOST, Explain, MAX_RECALL_LIMIT, RECENCY_FLOOR, Recall, RecallOutcome, RecallRequest, Recalled, TIME_BOOST,
    VECTOR_FLOOR,
};
pub use transfer::{
    EXPORT_FORMAT, EXPORT_VERSION, ExportLine, ExportRequest, ImportInput, ImportRequest, MAX_IMPORT_LINE_BYTES,
    TransferReport,
};
pub use write::{MAX_BATCH, MemoryInput, Message, Written};

/// Which embedder to build (`memory eval --embedder`).
pub use memory_embed::EmbedderSpec;

/// What `memory backup` reports.
#[cfg(feature = "sqlite")]
pub use memory_store_sqlite::BackupReport;
