//! Domain types of the memory system (SPEC 1-3), the [`Store`] persistence contract, the
//! classified [`Error`], and [`InMemoryStore`], the reference store.
//!
//! This crate does no IO and starts no runtime: it is the vocabulary every other crate shares.

mod api_key;
mod audit;
pub mod checks;
mod entity;
mod error;
mod event_log;
mod ids;
mod in_memory;
mod limits;
mod maintenance;
mod memory;
mod namespace;
mod proposal;
mod store;
mod timestamp;

pub use api_key::{ApiKey, KeyHash, KeyScope, Permission, validate_scopes};
pub use audit::{AuditDetail, AuditFilter, AuditOp, AuditOrigin, AuditOutcome, AuditRecord};
pub use entity::{Entity, EntityFilter, EntityKind, EntityLink, MAX_ENTITY_NAME_BYTES};
pub use error::{Error, ErrorKind, Result};
pub use event_log::{LOG_CONTENT_KEY, LogEvent, log_relative_path, withholds_content};
pub use ids::{ApiKeyId, AuditId, EntityId, MemoryId, Principal, ProposalId, StoreId, TenantId};
pub use in_memory::InMemoryStore;
pub use limits::{MAX_LONG_TEXT_BYTES, MAX_SHORT_TEXT_BYTES};
pub use maintenance::{Job, JobLock, JobRun, JobStatus};
pub use memory::{
    Category, Confidence, ConfidenceTier, ContentHash, Embedding, Layer, MAX_CONTENT_BYTES, MAX_METADATA_BYTES, Memory,
    MemoryFilter, MemoryPatch, Merged, Metadata, MoveOutcome, NewMemory, Outcome, Provenance, PutOutcome, UsageStats,
    plan_move,
};
pub use namespace::{
    DefaultAccess, MAX_NAMESPACE_KEY_CHARS, Namespace, NamespaceFilter, NamespaceKey, NamespaceKeyError, NamespaceKind,
    NamespacePatch, NamespaceStatus, NamespaceTouch, Sensitivity,
};
pub use proposal::{Decision, Proposal, ProposalFilter, ProposalStatus};
pub use store::{Capabilities, ChangeSignal, MAX_PAGE_LIMIT, Page, PageRequest, PurgeReport, Store};
pub use timestamp::Timestamp;
