//! What the resolver needs to know about existing namespaces, supplied by the caller: the
//! engine answers from the store, the policy CLI from the configuration alone.

use std::collections::BTreeSet;

use memory_core::{NamespaceKey, NamespaceKind, NamespaceStatus};

use crate::Policy;

/// Existing namespaces of one tenant, as far as a plan needs them.
pub trait NamespaceCatalog {
    /// The status of `key`, or `None` when no such namespace exists.
    fn status(&self, key: &NamespaceKey) -> Option<NamespaceStatus>;
    /// The kind of `key`, or `None` when no such namespace exists. A team template may only
    /// render onto a namespace that does not exist yet or is a team-project namespace.
    fn kind(&self, key: &NamespaceKey) -> Option<NamespaceKind>;
    /// Every existing namespace that is active, for `*` requests.
    fn active_keys(&self) -> Vec<NamespaceKey>;
}

/// The catalog of a configuration without a store (SPEC 4 "Precise rules"): the default and
/// shared namespaces and every policy namespace exist and are active; namespaces a team or
/// profile renders for the request are added by the plan itself.
#[derive(Debug, Clone)]
pub struct ConfiguredCatalog {
    keys: BTreeSet<NamespaceKey>,
}

impl ConfiguredCatalog {
    /// The namespaces `policy` names.
    pub fn new(policy: &Policy) -> Self {
        ConfiguredCatalog { keys: policy.configured_namespaces().cloned().collect() }
    }
}

impl NamespaceCatalog for ConfiguredCatalog {
    fn status(&self, key: &NamespaceKey) -> Option<NamespaceStatus> {
        self.keys.contains(key).then_some(NamespaceStatus::Active)
    }

    fn kind(&self, key: &NamespaceKey) -> Option<NamespaceKind> {
        self.keys.contains(key).then_some(NamespaceKind::Explicit)
    }

    fn active_keys(&self) -> Vec<NamespaceKey> {
        self.keys.iter().cloned().collect()
    }
}
