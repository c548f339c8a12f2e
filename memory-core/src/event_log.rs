//! The event-log vocabulary of SPEC 6, shared by every backend: what a line says, which file
//! (relative to a log directory) it belongs in, and when a namespace keeps content out of it.
//! Writing and reading files is the backends' business.
//!
//! A line is `{"event":"remember","memory":<Memory>}`. A memory of a `restricted` namespace
//! keeps its content out of the log (`seeds/004`): its line is
//! `{"event":"withheld","id":..,"namespace":..,"created_at":..,"content_hash":..}`, unless the
//! namespace's metadata opts in with `"log_content": true`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ids::{MemoryId, TenantId};
use crate::memory::{ContentHash, Memory, Metadata};
use crate::namespace::{NamespaceKey, Sensitivity};
use crate::timestamp::Timestamp;

/// The namespace metadata key by which a `restricted` namespace lets its content into the log.
pub const LOG_CONTENT_KEY: &str = "log_content";

/// One line of an event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogEvent {
    /// A put created this memory (deduplicated inputs are not logged); the record as stored
    /// when the put committed.
    Remember {
        /// The memory.
        memory: Box<Memory>,
    },
    /// A put created a memory in a `restricted` namespace: what identifies it, not its content.
    Withheld {
        /// The memory's id.
        id: MemoryId,
        /// Its namespace.
        namespace: NamespaceKey,
        /// When it was created.
        created_at: Timestamp,
        /// The hash of its content.
        content_hash: ContentHash,
    },
}

impl LogEvent {
    /// The line for a memory a put created; `withheld` as [`withholds_content`] decides.
    pub fn created(memory: &Memory, withheld: bool) -> LogEvent {
        if withheld {
            LogEvent::Withheld {
                id: memory.id,
                namespace: memory.namespace.clone(),
                created_at: memory.created_at,
                content_hash: memory.content_hash.clone(),
            }
        } else {
            LogEvent::Remember { memory: Box::new(memory.clone()) }
        }
    }
}

/// Whether the log of a namespace with this sensitivity and metadata keeps content out: a
/// `restricted` one does, unless its metadata says `"log_content": true`.
pub fn withholds_content(sensitivity: Sensitivity, metadata: &Metadata) -> bool {
    sensitivity == Sensitivity::Restricted && metadata.get(LOG_CONTENT_KEY) != Some(&serde_json::Value::Bool(true))
}

/// The log file of `namespace` for the UTC day of `at`, relative to a log directory:
/// `<token>/<date>.jsonl` for the tenant `default`, `tenant-<hex>/<token>/<date>.jsonl` for any
/// other, where `<token>` is [`NamespaceKey::path_token`] (it may span several directories for
/// long keys). Hex keeps tenant ids that differ only in case apart on any file system.
pub fn log_relative_path(tenant: &TenantId, namespace: &NamespaceKey, at: Timestamp) -> PathBuf {
    let mut path = PathBuf::new();
    if *tenant != TenantId::default_tenant() {
        path.push(tenant.path_token());
    }
    path.push(namespace.path_token());
    path.push(format!("{}.jsonl", at.utc_date()));
    path
}
