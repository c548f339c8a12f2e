//! API keys (SPEC 1 and 4): bound to one tenant and principal, optionally narrowed to
//! namespace scopes. Only a hash of the secret is ever stored.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::ids::{ApiKeyId, Principal, TenantId};
use crate::namespace::{NamespaceKey, text_enum};
use crate::timestamp::Timestamp;

/// SHA-256 (lowercase hex) of an API key secret.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyHash(String);

impl KeyHash {
    /// Hashes a secret as presented by a client.
    pub fn of_secret(secret: &str) -> Self {
        KeyHash(hex::encode(Sha256::digest(secret.as_bytes())))
    }

    /// Wraps a stored hash (64 lowercase hex digits).
    pub fn from_hex(hex: impl Into<String>) -> Result<Self, Error> {
        let hex = hex.into();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(Error::invalid_input("invalid API key hash: expected 64 lowercase hex digits"));
        }
        Ok(KeyHash(hex))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

text_enum!(
    /// What a key may do in one namespace.
    Permission, "permission" {
        /// Recall, get, list.
        Read = "read",
        /// Read plus write.
        ReadWrite = "read_write",
    }
);

/// One (namespace, permission) grant of a key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyScope {
    /// Namespace.
    pub namespace: NamespaceKey,
    /// Permission in it.
    pub permission: Permission,
}

/// A stored API key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Record id (not secret).
    pub id: ApiKeyId,
    /// Tenant the key belongs to.
    pub tenant: TenantId,
    /// Principal the key acts as.
    pub principal: Principal,
    /// Human label, e.g. `alice prod`.
    pub label: String,
    /// Hash of the secret.
    pub hash: KeyHash,
    /// Grants; empty means "the principal's rights under the compiled policy".
    pub scopes: Vec<KeyScope>,
    /// Where writes without a namespace go.
    pub default_namespace: Option<NamespaceKey>,
    /// Whether the key manages its tenant (namespaces, keys, import, export, audit): the
    /// operator of that tenant. Its recall, get and writes still follow the policy.
    #[serde(default)]
    pub admin: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// Last change of scopes.
    pub updated_at: Timestamp,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<Timestamp>,
}

impl ApiKey {
    /// Checks the record: label, distinct scope namespaces.
    pub fn validate(&self) -> Result<(), Error> {
        if self.label.trim().is_empty() || self.label.chars().count() > 200 {
            return Err(Error::invalid_input("API key label must be 1 to 200 characters"));
        }
        validate_scopes(&self.scopes)
    }
}

/// Scopes may name each namespace once.
pub fn validate_scopes(scopes: &[KeyScope]) -> Result<(), Error> {
    let mut seen = std::collections::BTreeSet::new();
    for scope in scopes {
        if !seen.insert(&scope.namespace) {
            return Err(Error::invalid_input(format!(
                "API key scopes name namespace {:?} twice",
                scope.namespace.as_str()
            )));
        }
    }
    Ok(())
}
