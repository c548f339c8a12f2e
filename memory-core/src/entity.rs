//! Named entities (SPEC 7, issue 12): people, places, organisations, projects and tools that
//! memories mention, kept per namespace (an entity never links memories of two namespaces).

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

use crate::error::Error;
use crate::ids::{EntityId, MemoryId, TenantId};
use crate::namespace::{NamespaceKey, text_enum};
use crate::timestamp::Timestamp;

/// Longest entity name, in bytes.
pub const MAX_ENTITY_NAME_BYTES: usize = 200;

text_enum!(
    /// What an entity is.
    EntityKind, "entity kind" {
        /// A person.
        Person = "person",
        /// A city, country, address or venue.
        Place = "place",
        /// A company, team, school or other organisation.
        Organization = "organization",
        /// A project or product being built.
        Project = "project",
        /// A tool, language, library or service.
        Tool = "tool",
        /// Anything else with a name.
        Other = "other",
    }
);

/// One named entity of a namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// UUIDv7 id.
    pub id: EntityId,
    /// Tenant.
    pub tenant: TenantId,
    /// The namespace whose memories mention it.
    pub namespace: NamespaceKey,
    /// Its name as first seen (trimmed).
    pub name: String,
    /// The comparison key: [`Entity::key_of`] the name. Unique per namespace and kind.
    pub key: String,
    /// What it is.
    pub kind: EntityKind,
    /// How many live memories link to it.
    pub mentions: u64,
    /// When it was first linked.
    pub created_at: Timestamp,
    /// When a memory was last linked to it.
    pub updated_at: Timestamp,
}

impl Entity {
    /// The comparison key of a name: NFC, lowercase, inner whitespace collapsed to one space.
    pub fn key_of(name: &str) -> String {
        let folded: String = name.nfc().flat_map(char::to_lowercase).collect();
        folded.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// A request to link a memory to a named entity (created on first link).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityLink {
    /// The memory that mentions the entity.
    pub memory: MemoryId,
    /// The entity's name as written.
    pub name: String,
    /// What it is.
    pub kind: EntityKind,
}

impl EntityLink {
    /// Checks the name: 1..=[`MAX_ENTITY_NAME_BYTES`] bytes after trimming, no control characters.
    pub fn validate(&self) -> Result<(), Error> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err(Error::invalid_input("an entity name is empty"));
        }
        if name.len() > MAX_ENTITY_NAME_BYTES {
            return Err(Error::invalid_input(format!(
                "entity name of {} bytes; at most {MAX_ENTITY_NAME_BYTES} are accepted",
                name.len()
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(Error::invalid_input(format!("entity name {name:?} holds a control character")));
        }
        Ok(())
    }
}

/// Filters for listing entities; every set field must match.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct EntityFilter {
    /// Only these namespaces (`None`: all of the tenant's; an empty list matches nothing).
    pub namespaces: Option<Vec<NamespaceKey>>,
    /// Only this kind.
    pub kind: Option<EntityKind>,
    /// Only entities whose key contains every word of this text (compared as [`Entity::key_of`]).
    pub query: Option<String>,
}

impl EntityFilter {
    /// Whether `e` passes the filter (the tenant is checked by the store).
    pub fn matches(&self, e: &Entity) -> bool {
        self.namespaces.as_ref().is_none_or(|ns| ns.contains(&e.namespace))
            && self.kind.is_none_or(|k| k == e.kind)
            && self.query.as_ref().is_none_or(|q| Entity::key_of(q).split(' ').all(|w| e.key.contains(w)))
    }
}
