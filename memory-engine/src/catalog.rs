//! The namespace facts a scope plan needs, answered from the store: one snapshot per tenant,
//! cached by the engine against the store's catalog version (`Store::namespace_version`), so a
//! namespace change made by any process counts on the next request.

use std::collections::HashMap;

use memory_core::{NamespaceFilter, NamespaceKey, NamespaceKind, NamespaceStatus, Result, Store, TenantId};
use memory_policy::{NamespaceCatalog, NamespaceFacts, Policy};

/// Existing namespaces of one tenant. Namespaces the configuration names (`default`, `shared`,
/// every policy namespace) count as existing and active before their first write, as in the
/// policy CLI: they come into being on that write, and reading one before it is empty, not 404.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    stored: HashMap<NamespaceKey, (NamespaceStatus, NamespaceFacts)>,
    configured: Vec<NamespaceKey>,
    /// The store's catalog version this snapshot was read at (or after).
    pub version: u64,
}

impl Catalog {
    /// Reads the tenant's namespaces, deleted ones included (their keys stay taken), as of
    /// catalog `version` or later (read before the namespaces, so a change racing this load
    /// makes the next request load again).
    pub async fn load(store: &dyn Store, tenant: &TenantId, policy: &Policy, version: u64) -> Result<Catalog> {
        let mut stored = HashMap::new();
        let live = store.list_namespaces(tenant, &NamespaceFilter::default()).await?;
        let mut deleted = NamespaceFilter::default();
        deleted.status = Some(NamespaceStatus::Deleted);
        let deleted = store.list_namespaces(tenant, &deleted).await?;
        for ns in live.into_iter().chain(deleted) {
            let facts = NamespaceFacts::of(&ns);
            stored.insert(ns.key, (ns.status, facts));
        }
        Ok(Catalog { stored, configured: policy.configured_namespaces().cloned().collect(), version })
    }

    /// Whether the namespace is `restricted` (seeds/004).
    pub fn is_restricted(&self, key: &NamespaceKey) -> bool {
        self.stored.get(key).is_some_and(|(_, f)| f.sensitivity == memory_core::Sensitivity::Restricted)
    }

    /// Whether the store holds this namespace (in any status).
    pub fn is_stored(&self, key: &NamespaceKey) -> bool {
        self.stored.contains_key(key)
    }
}

impl NamespaceCatalog for Catalog {
    fn status(&self, key: &NamespaceKey) -> Option<NamespaceStatus> {
        match self.stored.get(key) {
            Some((status, _)) => Some(*status),
            None => self.configured.contains(key).then_some(NamespaceStatus::Active),
        }
    }

    fn kind(&self, key: &NamespaceKey) -> Option<NamespaceKind> {
        self.stored.get(key).map(|(_, facts)| facts.kind)
    }

    fn facts(&self, key: &NamespaceKey) -> Option<&NamespaceFacts> {
        self.stored.get(key).map(|(_, facts)| facts)
    }

    fn active_keys(&self) -> Vec<NamespaceKey> {
        let mut keys: Vec<NamespaceKey> =
            self.stored.iter().filter(|(_, (s, _))| *s == NamespaceStatus::Active).map(|(k, _)| k.clone()).collect();
        keys.sort();
        keys
    }
}
