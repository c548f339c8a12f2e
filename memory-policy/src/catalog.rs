//! What the resolver needs to know about existing namespaces, supplied by the caller: the
//! engine answers from the store, the policy CLI from the configuration alone.

use std::collections::BTreeSet;

use memory_core::{DefaultAccess, Namespace, NamespaceKey, NamespaceKind, NamespaceStatus, Principal, Sensitivity};

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
    /// What the access rules need of an existing namespace (its owner, default access and
    /// sensitivity), or `None` when the catalog holds no record of it (a namespace that only
    /// the configuration names, or any namespace for the policy CLI).
    fn facts(&self, key: &NamespaceKey) -> Option<&NamespaceFacts>;
}

/// The facts of a stored namespace that access decisions depend on (seeds/004).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceFacts {
    /// How it came to be: only namespaces created over the API or the CLI (`explicit`) follow
    /// their default access; the others keep the configuration's rules.
    pub kind: NamespaceKind,
    /// Its creator.
    pub created_by: Option<Principal>,
    /// Its owning team (a team of the configuration).
    pub team: Option<String>,
    /// Who may use it when no policy names it.
    pub default_access: DefaultAccess,
    /// How it is read.
    pub sensitivity: Sensitivity,
}

impl NamespaceFacts {
    /// The facts of a stored record.
    pub fn of(ns: &Namespace) -> Self {
        NamespaceFacts {
            kind: ns.kind,
            created_by: ns.created_by.clone(),
            team: ns.team.clone(),
            default_access: ns.default_access,
            sensitivity: ns.sensitivity,
        }
    }
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

    fn facts(&self, _: &NamespaceKey) -> Option<&NamespaceFacts> {
        None
    }
}
