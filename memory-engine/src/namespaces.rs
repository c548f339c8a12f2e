//! Namespace management (SPEC 3): create, get, list with counts, update, archive, restore,
//! delete, verify. Operators manage every namespace of their tenant; other callers manage the
//! namespaces the policies let them write, and see the ones they can read.

use std::collections::HashSet;

use memory_core::{
    AuditOp, AuditOutcome, Error, ErrorKind, MAX_PAGE_LIMIT, MemoryFilter, MemoryId, Namespace, NamespaceFilter,
    NamespaceKey, NamespaceKind, NamespacePatch, NamespaceStatus, PageRequest, Result,
};
use memory_policy::Operation;
use serde::Serialize;

use serde_json::json;

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

/// What `namespaces rebuild` did (or, without `apply`, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CatalogRebuild {
    /// Namespaces known after the rebuild.
    pub namespaces: usize,
    /// Live memories read.
    pub memories: u64,
    /// Catalog records created (or to create).
    pub created: Vec<RebuiltNamespace>,
    /// Whether the records were written.
    pub applied: bool,
}

/// One catalog record a rebuild creates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RebuiltNamespace {
    /// The key.
    pub namespace: NamespaceKey,
    /// Its kind.
    pub kind: NamespaceKind,
    /// Live memories found in it.
    pub memories: u64,
}

/// What `namespaces verify` found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerifyReport {
    /// Namespaces checked.
    pub namespaces: usize,
    /// Live memories counted in the store.
    pub memories: u64,
    /// The store change sequence the index has applied.
    pub applied_seq: u64,
    /// The store's latest change sequence.
    pub store_seq: u64,
    /// Each problem in one sentence; empty when all is well.
    pub problems: Vec<String>,
}

impl Engine {
    /// Creates a namespace of kind `explicit` with `patch` applied (display name, description,
    /// team, sensitivity, default access, retention, metadata). 409 when the key is taken
    /// (a deleted key stays taken until purged).
    ///
    /// The caller becomes its creator (principal and key). Operators create any namespace;
    /// other callers what [`memory_policy::Policy::can_create`] allows. Without a default
    /// access in `patch`, it is `team` (as seeds/004 says), which without an owning team
    /// admits its creator and tenant admins only. An owning team must be a team of the
    /// configuration.
    pub async fn create_namespace(&self, caller: &Caller, key: &str, patch: &NamespacePatch) -> Result<Namespace> {
        let key = parse_key(key)?;
        let t = self.tenant(&caller.tenant).await?;
        self.check_team(patch)?;
        if !caller.operator {
            let catalog = self.catalog(&t).await?;
            let verdict = self.inner.policy.can_create(&caller.identity, key.as_str(), catalog.as_ref());
            if !verdict.allowed {
                let err = Error::forbidden(format!("may not create namespace {:?}: {}", key.as_str(), verdict.reason));
                self.audit_denied(caller, Some(&key), AuditOp::NamespaceCreate, &err).await;
                return Err(err);
            }
        }
        let now = self.now();
        let mut ns = Namespace::new(caller.tenant.clone(), key.clone(), NamespaceKind::Explicit, now);
        ns.created_by = self.principal_of(caller);
        ns.created_by_key = caller.key_id();
        patch.apply(&mut ns, now)?;
        match self.inner.store.create_namespace(ns.clone()).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return Err(Error::conflict(format!("namespace {:?} already exists", key.as_str())));
            }
            Err(e) => return Err(e),
        }
        let detail = json!({
            "kind": "explicit",
            "default_access": ns.default_access,
            "sensitivity": ns.sensitivity,
            "team": ns.team,
        });
        self.audit(caller, Some(&key), AuditOp::NamespaceCreate, AuditOutcome::Ok, detail).await?;
        Ok(ns)
    }

    /// An owning team must be one the configuration defines (else 400 naming it).
    fn check_team(&self, patch: &NamespacePatch) -> Result<()> {
        match &patch.team {
            Some(Some(team)) if !self.inner.policy.has_team(team) => Err(Error::invalid_input(format!(
                "unknown team {team:?}: the owning team must be a team of the configuration"
            ))),
            _ => Ok(()),
        }
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
    ///
    /// Who may use it (`default_access`, `team`, `sensitivity`) is a tenant admin's (an
    /// operator's) to change; the change counts on the next request in every process.
    pub async fn update_namespace(&self, caller: &Caller, key: &str, patch: &NamespacePatch) -> Result<Namespace> {
        let key = parse_key(key)?;
        let _t = self.tenant(&caller.tenant).await?;
        self.check_team(patch)?;
        if !caller.operator && (patch.default_access.is_some() || patch.team.is_some() || patch.sensitivity.is_some()) {
            let err = Error::forbidden(format!(
                "may not change who may use namespace {:?} (default_access, team, sensitivity): a tenant admin's change",
                key.as_str()
            ));
            self.audit_denied(caller, Some(&key), AuditOp::NamespaceUpdate, &err).await;
            return Err(err);
        }
        self.authorize_manage(caller, &key, AuditOp::NamespaceUpdate).await?;
        let ns = self.inner.store.update_namespace(&caller.tenant, &key, patch, self.now()).await?;
        self.audit(caller, Some(&key), AuditOp::NamespaceUpdate, AuditOutcome::Ok, json!({ "patch": patch })).await?;
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
        if change == StatusChange::Delete {
            self.index_before_writing(&t).await;
        }
        let (store, tenant, now) = (&self.inner.store, &caller.tenant, self.now());
        let changed = match change {
            StatusChange::Archive => store.archive_namespace(tenant, &key, now).await?,
            StatusChange::Restore => store.restore_namespace(tenant, &key, now).await?,
            StatusChange::Delete => store.delete_namespace(tenant, &key, now).await?,
        };
        if change == StatusChange::Delete {
            let _ = self.catch_up(&t).await;
        }
        self.audit(caller, Some(&key), op, AuditOutcome::Ok, json!({ "changed": changed })).await?;
        Ok(changed)
    }

    /// Checks the catalog against the stored memories and the index: the tenant's default and
    /// shared namespaces exist, every live memory belongs to a cataloged namespace, the index
    /// holds exactly the live, unsuperseded memories of each namespace (by id, not by count),
    /// its change sequence is not ahead of the store's, and its two sides agree. Problems the
    /// index had on disk (another store's, damaged: rebuilt on open) are reported too.
    /// Operators only.
    pub async fn verify_namespaces(&self, caller: &Caller) -> Result<VerifyReport> {
        if !caller.operator {
            return Err(Error::forbidden("namespaces verify is an operator command"));
        }
        let t = self.tenant(&caller.tenant).await?;
        let index = self.index(&t).await?;
        self.catch_up(&t).await?;
        let mut report = VerifyReport::default();
        report.problems.extend(self.index_notes(&t));
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
        let mut indexed = index.ids_by_namespace();
        let mut sum = 0;
        for ns in &all {
            if let Err(e) = ns.validate() {
                report.problems.push(format!("namespace {:?}: {}", ns.key.as_str(), e.message()));
            }
            let live = self.count_in(caller, &ns.key).await?;
            sum += live;
            let in_index = indexed.remove(&ns.key).unwrap_or_default();
            if ns.status == NamespaceStatus::Deleted {
                if live > 0 {
                    report
                        .problems
                        .push(format!("deleted namespace {:?} still has {live} live memories", ns.key.as_str()));
                }
                if !in_index.is_empty() {
                    report.problems.push(format!(
                        "the index still holds {} memories of deleted namespace {:?}; run `memory reindex`",
                        in_index.len(),
                        ns.key.as_str()
                    ));
                }
                continue;
            }
            let searchable = self.searchable_ids(caller, &ns.key).await?;
            let missing: Vec<&MemoryId> = searchable.iter().filter(|id| !in_index.contains(id)).collect();
            let extra: Vec<&MemoryId> = in_index.iter().filter(|id| !searchable.contains(id)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                let example = missing.first().or(extra.first()).map(|id| id.to_string()).unwrap_or_default();
                report.problems.push(format!(
                    "namespace {:?}: the index lacks {} of its {} searchable memories and holds {} it should not \
                     (e.g. {example}); run `memory reindex`",
                    ns.key.as_str(),
                    missing.len(),
                    searchable.len(),
                    extra.len()
                ));
            }
        }
        for (ns, ids) in indexed {
            report.problems.push(format!(
                "the index holds {} memories of namespace {:?}, which the store does not know; run `memory reindex`",
                ids.len(),
                ns.as_str()
            ));
        }
        let last_seq = self.inner.store.last_seq().await?;
        if index.applied_seq() > last_seq {
            report.problems.push(format!(
                "the index has applied change {} but the store ends at {last_seq}; run `memory reindex`",
                index.applied_seq()
            ));
        }
        let idx = index.clone();
        for problem in crate::sync::blocking_value("check", move || idx.check()).await? {
            report.problems.push(format!("{problem}; run `memory reindex`"));
        }
        let total = self.inner.store.count_memories(&caller.tenant, &MemoryFilter::all()).await?;
        if total != sum {
            report
                .problems
                .push(format!("{} live memories belong to no cataloged namespace", total.saturating_sub(sum)));
        }
        report.namespaces = all.len();
        report.memories = total;
        report.applied_seq = index.applied_seq();
        report.store_seq = last_seq;
        Ok(report)
    }

    /// Rebuilds the catalog from the stored memories (`namespaces rebuild`, SPEC 3): the
    /// tenant's `default` and `shared` namespaces, and a record (kind `explicit`) for every
    /// namespace that live memories belong to but the catalog lacks (a backend without
    /// foreign keys, a partial restore). Without `apply` it only says what it would create.
    /// Operators only; audited.
    pub async fn rebuild_catalog(&self, caller: &Caller, apply: bool) -> Result<CatalogRebuild> {
        if !caller.operator {
            return Err(Error::forbidden("namespaces rebuild is an operator command"));
        }
        let store = &self.inner.store;
        let tenant = &caller.tenant;
        let mut known: HashSet<NamespaceKey> = HashSet::new();
        for status in [None, Some(NamespaceStatus::Deleted)] {
            let mut filter = NamespaceFilter::default();
            filter.status = status;
            known.extend(store.list_namespaces(tenant, &filter).await?.into_iter().map(|n| n.key));
        }
        let config = self.inner.policy.config();
        let mut missing: Vec<(NamespaceKey, NamespaceKind, u64)> = Vec::new();
        for (key, kind) in [
            (config.default_namespace.clone(), NamespaceKind::Default),
            (config.shared_namespace.clone(), NamespaceKind::Shared),
        ] {
            if !known.contains(&key) {
                known.insert(key.clone());
                missing.push((key, kind, 0));
            }
        }
        let mut memories = 0;
        let mut page = PageRequest::first(MAX_PAGE_LIMIT);
        loop {
            let p = store.list_memories(tenant, &MemoryFilter::all(), &page).await?;
            for m in &p.items {
                memories += 1;
                if let Some(entry) = missing.iter_mut().find(|(k, _, _)| *k == m.namespace) {
                    entry.2 += 1;
                } else if known.insert(m.namespace.clone()) {
                    missing.push((m.namespace.clone(), NamespaceKind::Explicit, 1));
                }
            }
            match p.next_cursor {
                Some(c) => page = PageRequest::after(c, MAX_PAGE_LIMIT),
                None => break,
            }
        }
        let mut report = CatalogRebuild { namespaces: known.len(), memories, created: Vec::new(), applied: apply };
        for (key, kind, count) in missing {
            if apply {
                let record = memory_core::Namespace::new(tenant.clone(), key.clone(), kind, self.now());
                match store.create_namespace(record).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == memory_core::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
                let detail = json!({ "kind": kind.to_string(), "on": "rebuild", "memories": count });
                self.audit(caller, Some(&key), AuditOp::NamespaceRebuild, AuditOutcome::Ok, detail).await?;
            }
            report.created.push(RebuiltNamespace { namespace: key, kind, memories: count });
        }
        Ok(report)
    }

    /// The ids of a namespace's live, unsuperseded memories: what its index must hold.
    async fn searchable_ids(&self, caller: &Caller, key: &NamespaceKey) -> Result<HashSet<MemoryId>> {
        let mut filter = MemoryFilter::namespace(key.clone());
        filter.exclude_superseded = true;
        let mut ids = HashSet::new();
        let mut page = PageRequest::first(MAX_PAGE_LIMIT);
        loop {
            let p = self.inner.store.list_memories(&caller.tenant, &filter, &page).await?;
            ids.extend(p.items.iter().map(|m| m.id));
            match p.next_cursor {
                Some(c) => page = PageRequest::after(c, MAX_PAGE_LIMIT),
                None => return Ok(ids),
            }
        }
    }

    async fn count_in(&self, caller: &Caller, key: &NamespaceKey) -> Result<u64> {
        self.inner.store.count_memories(&caller.tenant, &MemoryFilter::namespace(key.clone())).await
    }

    /// Operators manage anything; others need write access to the namespace under the policies.
    pub(crate) async fn authorize_manage(&self, caller: &Caller, key: &NamespaceKey, op: AuditOp) -> Result<()> {
        if caller.operator {
            return Ok(());
        }
        let t = self.tenant(&caller.tenant).await?;
        let catalog = self.catalog(&t).await?;
        let verdict = self.inner.policy.can(&caller.identity, Operation::Write, key.as_str(), catalog.as_ref());
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
    fn operation(self) -> AuditOp {
        match self {
            StatusChange::Archive => AuditOp::NamespaceArchive,
            StatusChange::Restore => AuditOp::NamespaceRestore,
            StatusChange::Delete => AuditOp::NamespaceDelete,
        }
    }
}

pub(crate) fn parse_key(key: &str) -> Result<NamespaceKey> {
    NamespaceKey::new(key).map_err(|e| Error::invalid_input(e.to_string()))
}
