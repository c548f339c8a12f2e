//! The namespace facts a scope plan needs, answered from the store: one snapshot per tenant,
//! cached by the engine and dropped whenever this engine changes a namespace's existence or
//! status.

use std::collections::HashMap;

use memory_core::{NamespaceFilter, NamespaceKey, NamespaceKind, NamespaceStatus, Result, Store, TenantId};
use memory_policy::{NamespaceCatalog, Policy};

/// Existing namespaces of one tenant. Namespaces the configuration names (`default`, `shared`,
/// every policy namespace) count as existing and active before their first write, as in the
/// policy CLI: they come into being on that write, and reading one before it is empty, not 404.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    stored: HashMap<NamespaceKey, (NamespaceStatus, NamespaceKind)>,
    configured: Vec<NamespaceKey>,
}

impl Catalog {
    /// Reads the tenant's namespaces, deleted ones included (their keys stay taken).
    pub async fn load(store: &dyn Store, tenant: &TenantId, policy: &Policy) -> Result<Catalog> {
        let mut stored = HashMap::new();
        let live = store.list_namespaces(tenant, &NamespaceFilter::default()).await?;
        let mut deleted = NamespaceFilter::default();
        deleted.status = Some(NamespaceStatus::Deleted);
        let deleted = store.list_namespaces(tenant, &deleted).await?;
        for ns in live.into_iter().chain(deleted) {
            stored.insert(ns.key, (ns.status, ns.kind));
        }
        Ok(Catalog { stored, configured: policy.configured_namespaces().cloned().collect() })
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
        self.stored.get(key).map(|(_, kind)| *kind)
    }

    fn active_keys(&self) -> Vec<NamespaceKey> {
        let mut keys: Vec<NamespaceKey> =
            self.stored.iter().filter(|(_, (s, _))| *s == NamespaceStatus::Active).map(|(k, _)| k.clone()).collect();
        keys.sort();
        keys
    }
}
