//! Identifiers: tenants, principals, and the UUIDv7 ids of memories and other records.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use crate::error::Error;

/// The top-level isolation boundary (a "workspace"). Nothing ever crosses tenants.
///
/// 1..=64 ASCII letters, digits, `.`, `_` or `-` (UUIDs fit). The embedded default is `default`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TenantId(String);

impl TenantId {
    /// Validates and wraps a tenant id.
    pub fn new(id: impl Into<String>) -> Result<Self, Error> {
        let id = id.into();
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if id.is_empty() || id.len() > 64 || !id.chars().all(ok_char) {
            return Err(Error::invalid_input(format!(
                "invalid tenant id {id:?}: use 1 to 64 ASCII letters, digits, '.', '_' or '-'"
            )));
        }
        Ok(TenantId(id))
    }

    /// The tenant of the embedded single-tenant setup.
    pub fn default_tenant() -> Self {
        TenantId("default".to_owned())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A directory name for this tenant: `tenant-` + lowercase hex of the id's UTF-8 bytes
    /// (reversible, and ids that differ only in case stay apart on any file system).
    pub fn path_token(&self) -> String {
        format!("tenant-{}", hex::encode(&self.0))
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TenantId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        TenantId::new(s)
    }
}

impl<'de> Deserialize<'de> for TenantId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        TenantId::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The identity an operation runs as: an agent, a user, a service. A plain string id,
/// trimmed and NFC-normalized (like namespace keys, so two spellings of "josé" are one
/// principal), 1..=256 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Principal(String);

impl Principal {
    /// Validates and wraps a principal id.
    pub fn new(id: impl AsRef<str>) -> Result<Self, Error> {
        let id = crate::namespace::trim_nfc(id.as_ref());
        let id = id.as_str();
        if id.is_empty() {
            return Err(Error::invalid_input("invalid principal: it is empty"));
        }
        if id.chars().count() > 256 {
            return Err(Error::invalid_input("invalid principal: longer than 256 characters"));
        }
        if id.chars().any(char::is_control) {
            return Err(Error::invalid_input(format!("invalid principal {id:?}: contains a control character")));
        }
        Ok(Principal(id.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Principal {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Principal::new(s)
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Principal::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh UUIDv7 (time-ordered, so ids sort roughly by creation).
            pub fn new_v7() -> Self {
                $name(Uuid::now_v7())
            }

            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Uuid::parse_str(s.trim())
                    .map($name)
                    .map_err(|_| Error::invalid_input(format!(concat!("invalid ", $what, " id {:?}: expected a UUID"), s)))
            }
        }
    };
}

uuid_id!(
    /// The id of a memory: a UUIDv7 chosen by the writer, so imports keep ids.
    MemoryId,
    "memory"
);

impl MemoryId {
    /// The id of this memory's copy in namespace `namespace` (an import into another
    /// namespace): the same for the same pair, so importing a file twice changes nothing, and
    /// time-ordered like the original (its 48-bit time prefix is kept; the rest is a SHA-256 of
    /// the id and the key, marked as a UUIDv7).
    pub fn copy_in(&self, namespace: &crate::NamespaceKey) -> MemoryId {
        use sha2::{Digest, Sha256};
        let original = self.0.into_bytes();
        let digest = Sha256::new().chain_update(original).chain_update(namespace.as_str().as_bytes()).finalize();
        let mut bytes = [0u8; 16];
        bytes[..6].copy_from_slice(&original[..6]);
        bytes[6..].copy_from_slice(&digest[..10]);
        MemoryId(
            uuid::Builder::from_bytes(bytes)
                .with_version(uuid::Version::SortRand)
                .with_variant(uuid::Variant::RFC4122)
                .into_uuid(),
        )
    }
}
uuid_id!(
    /// The id of an audit record (UUIDv7; its order is the log's order).
    AuditId,
    "audit record"
);
uuid_id!(
    /// The id of an API key record (not the secret).
    ApiKeyId,
    "API key"
);
uuid_id!(
    /// The id of a review-queue proposal.
    ProposalId,
    "proposal"
);
uuid_id!(
    /// The id of a named entity of one namespace.
    EntityId,
    "entity"
);
uuid_id!(
    /// The identity of one store, created once with it and never changed: derived state (the
    /// search index) records it, so an index built from another store (a replaced or restored
    /// database file) is recognized and rebuilt instead of trusted.
    StoreId,
    "store"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_ids_are_checked() {
        assert!(TenantId::new("default").is_ok());
        assert!(TenantId::new("0b6f1c52-7d3e-4e0f-9a55-3f1d2b8c9e10").is_ok());
        assert!(TenantId::new("").is_err());
        assert!(TenantId::new("a/b").is_err());
        assert!(TenantId::new("x".repeat(65)).is_err());
    }

    #[test]
    fn principals_are_trimmed_normalized_and_checked() {
        assert_eq!(Principal::new("  alice ").unwrap().as_str(), "alice");
        assert_eq!(Principal::new("jose\u{301}").unwrap(), Principal::new("jos\u{e9}").unwrap());
        assert!(Principal::new("   ").is_err());
        assert!(Principal::new("a\u{7}b").is_err());
    }

    #[test]
    fn memory_ids_parse_and_print() {
        let id = MemoryId::new_v7();
        assert_eq!(id.to_string().parse::<MemoryId>().unwrap(), id);
        assert!("not-a-uuid".parse::<MemoryId>().unwrap_err().message().contains("memory id"));
    }
}
