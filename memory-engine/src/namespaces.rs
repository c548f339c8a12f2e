//! Namespace management (SPEC 3): create, get, list with counts, update, archive, restore,
//! delete, verify. Operators manage every namespace of their tenant; other callers manage the
//! namespaces the policies let them write, and see the ones they can read.

use memory_core::{
    AuditOutcome, Error, ErrorKind, MemoryFilter, Namespace, NamespaceFilter, NamespaceKey, NamespaceKind,
    NamespacePatch, NamespaceStatus, Result,
};
use memory_policy::Operation;
use serde::Serialize;

use crate::caller::Caller;
use crate::engine::Engine;

/// A namespace with its live memory count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamespaceInfo {
    /// The catalog record.
    pub namespace: Namespace,
    /// Live memories in it.
    pub memories: u64,
}

/// What `namespaces verify` found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Namespaces checked.
    pub namespaces: usize,
    /// Live memories counted in the store.
    pub memories: u64,
    /// Each problem in one sentence; empty when all is well.
    pub problems: Vec<String>,
}

impl Engine {
    /// Creates a namespace of kind `explicit` with `patch` applied (display name, description,
    /// team, sensitivity, default access, retention, metadata). 409 when the key is taken
    /// (a deleted key stays taken until purged).
    pub async fn create_namespace(&self, caller: &Caller, key: &str, patch: &NamespacePatch) -> Result<Namespace> {
        let key = parse_key(key)?;
        let t = self.tenant(&caller.tenant).await?;
        self.authorize_manage(caller, &key, "namespace.create").await?;
        let now = self.now();
        let mut ns = Namespace::new(caller.tenant.clone(), key.clone(), NamespaceKind::Explicit, now);
        patch.apply(&mut ns, now)?;
        match self.inner.store.create_namespace(ns.clone()).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(Error::conflict(format!("namespace {:?} already exists", key.as_str())));
            }
            Err(e) => return Err(e),
        }
        self.forget_catalog(&t);
        self.audit(caller, Some(&key), "namespace.create", AuditOutcome::Ok, "created").await?;
        Ok(ns)
    }

    /// One namespace with its count; 404 when missing, deleted, or not readable by a
    /// non-operator.
    pub async fn namespace(&self, caller: &Caller, key: &str) -> Result<NamespaceInfo> {
        let key = parse_key(key)?;
        let t = self.tenant(&caller.tenant).await?;
        let found = self.inner.store.get_namespace(&caller.tenant, &key).await?;
        let visible = match &found {
            Some(ns) if ns.status != NamespaceStatus::Deleted => {
                caller.operator || self.visibility(caller, &t).await?.readable.contains(&key)
            }
            _ => false,
        };
        match found {
            Some(ns) if visible => {
                let memories = self.count_in(caller, &key).await?;
                Ok(NamespaceInfo { namespace: ns, memories })
            }
            _ => Err(Error::not_found(format!("namespace {:?} not found", key.as_str()))),
        }
    }

    /// Namespaces passing `filter` (team, sensitivity, kind, status), by key, with counts.
    /// Non-operators see only namespaces they can read.
    pub async fn list_namespaces(&self, caller: &Caller, filter: &NamespaceFilter) -> Result<Vec<NamespaceInfo>> {
        let t = self.tenant(&caller.tenant).await?;
        let mut all = self.inner.store.list_namespaces(&caller.tenant, filter).await?;
        if !caller.operator {
            let vis = self.visibility(caller, &t).await?;
            all.retain(|ns| vis.readable.contains(&ns.key));
        }
        let mut out = Vec::with_capacity(all.len());
        for ns in all {
            let memories = self.count_in(caller, &ns.key).await?;
            out.push(NamespaceInfo { namespace: ns, memories });
        }
        Ok(out)
    }

    /// Updates display name (`rename`), description, team, sensitivity, default access,
    /// retention or metadata. The key never changes.
    pub async fn update_namespace(&self, caller: &Caller, key: &str, patch: &NamespacePatch) -> Result<Namespace> {
        let key = parse_key(key)?;
        let _t = self.tenant(&caller.tenant).await?;
        self.authorize_manage(caller, &key, "namespace.update").await?;
        let ns = self.inner.store.update_namespace(&caller.tenant, &key, patch, self.now()).await?;
        self.audit(caller, Some(&key), "namespace.update", AuditOutcome::Ok, format!("{patch:?}")).await?;
        Ok(ns)
    }

    /// Archives a namespace: no reads or writes until restored (explicit requests get 404).
    /// Returns whether it changed.
    pub async fn archive_namespace(&self, caller: &Caller, key: &str) -> Result<bool> {
        self.change_status(caller, key, StatusChange::Archive).await
    }

    /// Restores an archived namespace. Returns whether it changed.
    pub async fn restore_namespace(&self, caller: &Caller, key: &str) -> Result<bool> {
        self.change_status(caller, key, StatusChange::Restore).await
    }

    /// Deletes a namespace: its memories stop being retrievable at once and are purged later;
    /// the key stays taken until then. Returns whether it changed.
    pub async fn delete_namespace(&self, caller: &Caller, key: &str) -> Result<bool> {
        self.change_status(caller, key, StatusChange::Delete).await
    }

    async fn change_status(&self, caller: &Caller, key: &str, change: StatusChange) -> Result<bool> {
        let key = parse_key(key)?;
        let t = self.tenant(&caller.tenant).await?;
        let op = change.operation();
        let config = self.inner.policy.config();
        if change != StatusChange::Restore && (key == config.default_namespace || key == config.shared_namespace) {
            return Err(Error::invalid_input(format!(
                "the tenant's {:?} namespace cannot be archived or deleted",
                key.as_str()
            )));
        }
        self.authorize_manage(caller, &key, op).await?;
        let (store, tenant, now) = (&self.inner.store, &caller.tenant, self.now());
        let changed = match change {
            StatusChange::Archive => store.archive_namespace(tenant, &key, now).await?,
            StatusChange::Restore => store.restore_namespace(tenant, &key, now).await?,
            StatusChange::Delete => store.delete_namespace(tenant, &key, now).await?,
        };
        self.forget_catalog(&t);
        if change == StatusChange::Delete {
            let _ = self.catch_up(&t).await;
        }
        let detail = if changed { "changed" } else { "unchanged: already in that state" };
        self.audit(caller, Some(&key), op, AuditOutcome::Ok, detail).await?;
        Ok(changed)
    }

    /// Checks the catalog against the stored memories and the index: the tenant's default and
    /// shared namespaces exist, every live memory belongs to a cataloged namespace, and the index
    /// holds exactly the live, unsuperseded memories of each namespace. Operators only.
    pub async fn verify_namespaces(&self, caller: &Caller) -> Result<VerifyReport> {
        if !caller.operator {
            return Err(Error::forbidden("namespaces verify is an operator command"));
        }
        let t = self.tenant(&caller.tenant).await?;
        self.catch_up(&t).await?;
        let mut report = VerifyReport::default();
        let config = self.inner.policy.config();
        let mut all = self.inner.store.list_namespaces(&caller.tenant, &NamespaceFilter::default()).await?;
        let mut deleted = NamespaceFilter::default();
        deleted.status = Some(NamespaceStatus::Deleted);
        all.extend(self.inner.store.list_namespaces(&caller.tenant, &deleted).await?);
        for required in [&config.default_namespace, &config.shared_namespace] {
            match all.iter().find(|n| &n.key == required) {
                None => report.problems.push(format!("the {:?} namespace is missing", required.as_str())),
                Some(n) if n.status != NamespaceStatus::Active => {
                    report.problems.push(format!("the {:?} namespace is {}", required.as_str(), n.status))
                }
                Some(_) => {}
            }
        }
        let mut sum = 0;
        for ns in &all {
            if let Err(e) = ns.validate() {
                report.problems.push(format!("namespace {:?}: {}", ns.key.as_str(), e.message()));
            }
            let live = self.count_in(caller, &ns.key).await?;
            sum += live;
            if ns.status == NamespaceStatus::Deleted {
                if live > 0 {
                    report
                        .problems
                        .push(format!("deleted namespace {:?} still has {live} live memories", ns.key.as_str()));
                }
                continue;
            }
            let mut filter = MemoryFilter::namespace(ns.key.clone());
            filter.exclude_superseded = true;
            let searchable = self.inner.store.count_memories(&caller.tenant, &filter).await?;
            let indexed = t.index.namespace_len(&ns.key) as u64;
            if indexed != searchable {
                report.problems.push(format!(
                    "namespace {:?}: the index holds {indexed} memories, the store {searchable}; run `memory reindex`",
                    ns.key.as_str()
                ));
            }
        }
        let total = self.inner.store.count_memories(&caller.tenant, &MemoryFilter::all()).await?;
        if total != sum {
            report
                .problems
                .push(format!("{} live memories belong to no cataloged namespace", total.saturating_sub(sum)));
        }
        report.namespaces = all.len();
        report.memories = total;
        Ok(report)
    }

    async fn count_in(&self, caller: &Caller, key: &NamespaceKey) -> Result<u64> {
        self.inner.store.count_memories(&caller.tenant, &MemoryFilter::namespace(key.clone())).await
    }

    /// Operators manage anything; others need write access to the namespace under the policies.
    async fn authorize_manage(&self, caller: &Caller, key: &NamespaceKey, op: &str) -> Result<()> {
        if caller.operator {
            return Ok(());
        }
        let verdict = self.inner.policy.can(&caller.identity, Operation::Write, key.as_str());
        if verdict.allowed {
            return Ok(());
        }
        let err = Error::forbidden(format!("may not manage namespace {:?}: {}", key.as_str(), verdict.reason));
        self.audit_denied(caller, Some(key), op, &err).await;
        Err(err)
    }
}

/// A lifecycle move of a namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StatusChange {
    Archive,
    Restore,
    Delete,
}

impl StatusChange {
    /// The audited operation name.
    fn operation(self) -> &'static str {
        match self {
            StatusChange::Archive => "namespace.archive",
            StatusChange::Restore => "namespace.restore",
            StatusChange::Delete => "namespace.delete",
        }
    }
}

fn parse_key(key: &str) -> Result<NamespaceKey> {
    NamespaceKey::new(key).map_err(|e| Error::invalid_input(e.to_string()))
}
