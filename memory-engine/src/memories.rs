//! Memories by id: get, list, forget, and outcome reports. A memory the caller may not read
//! behaves exactly like a missing one (404): ids leak nothing.

use memory_core::{
    AuditOp, AuditOutcome, Category, Error, Layer, Memory, MemoryFilter, MemoryId, NamespaceKey, Outcome, Page,
    PageRequest, Result,
};

use serde_json::json;

use crate::caller::Caller;
use crate::engine::{Engine, Visibility};

/// What [`Engine::list`] returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListRequest {
    /// Namespaces to list (raw); empty lists every readable namespace.
    pub namespaces: Vec<String>,
    /// Only these layers (`None`: all).
    pub layers: Option<Vec<Layer>>,
    /// Only this category (`None`: all).
    pub category: Option<Category>,
    /// Leave out memories that a correction superseded.
    pub exclude_superseded: bool,
}

impl Engine {
    /// The memory with `id`, when the caller may read it. Superseded memories are returned (with
    /// `superseded_by` set); expired working memories are not.
    pub async fn get(&self, caller: &Caller, id: MemoryId) -> Result<Memory> {
        let t = self.tenant(&caller.tenant).await?;
        let vis = self.visibility(caller, &t).await?;
        let m = self.visible(caller, &vis, id, AuditOp::MemoryGet).await?;
        self.audit_restricted_read(caller, &vis.catalog, &[&m.namespace], AuditOp::MemoryGet, json!({ "ids": [id] }))
            .await?;
        Ok(m)
    }

    /// A page of memories the caller may read, in id order.
    pub async fn list(&self, caller: &Caller, request: &ListRequest, page: &PageRequest) -> Result<Page<Memory>> {
        let t = self.tenant(&caller.tenant).await?;
        let vis = self.visibility(caller, &t).await?;
        let namespaces = if request.namespaces.is_empty() {
            vis.read_order.clone()
        } else {
            let mut keys = Vec::new();
            for raw in &request.namespaces {
                let ns = NamespaceKey::new(raw).map_err(|e| Error::invalid_input(e.to_string()))?;
                if !vis.readable.contains(&ns) {
                    let err = Error::not_found(format!("namespace {:?} not found or not readable", ns.as_str()));
                    self.audit_denied(caller, Some(&ns), AuditOp::MemoryList, &err).await;
                    return Err(err);
                }
                keys.push(ns);
            }
            keys
        };
        let mut filter = MemoryFilter::default();
        filter.namespaces = Some(namespaces);
        filter.layers = request.layers.clone();
        filter.category = request.category.clone();
        filter.exclude_superseded = request.exclude_superseded;
        let mut page = self.inner.store.list_memories(&caller.tenant, &filter, page).await?;
        let now = self.now();
        page.items.retain(|m| !m.is_expired(now));
        let named: Vec<&NamespaceKey> = filter.namespaces.iter().flatten().collect();
        let ids: Vec<MemoryId> = page.items.iter().map(|m| m.id).collect();
        self.audit_restricted_read(caller, &vis.catalog, &named, AuditOp::MemoryList, json!({ "ids": ids })).await?;
        Ok(page)
    }

    /// Deletes a memory: it is no longer retrievable at once (its tombstone is purged later).
    /// 404 when the caller cannot see it, 403 when it can but may not change its namespace.
    pub async fn forget(&self, caller: &Caller, id: MemoryId) -> Result<()> {
        let t = self.tenant(&caller.tenant).await?;
        let vis = self.visibility(caller, &t).await?;
        let m = self.visible(caller, &vis, id, AuditOp::MemoryForget).await?;
        if !self.may_write(caller, &vis, &m.namespace) {
            let err = Error::forbidden(format!(
                "may not forget memory {id}: namespace {:?} is read-only for this caller",
                m.namespace.as_str()
            ));
            self.audit_denied(caller, Some(&m.namespace), AuditOp::MemoryForget, &err).await;
            return Err(err);
        }
        self.index_before_writing(&t).await;
        self.inner.store.delete_memory(&caller.tenant, id, self.now()).await?;
        let _ = self.catch_up(&t).await;
        self.audit(caller, Some(&m.namespace), AuditOp::MemoryForget, AuditOutcome::Ok, json!({ "id": id })).await
    }

    /// Reports how useful recalled memories were; each one's utility moves toward the reward
    /// (see [`memory_core::UsageStats::apply_outcome`] for the formula: bounded in 0..=1,
    /// decaying toward neutral between reports). Feedback is a read-side signal: the caller
    /// needs to be able to read each memory, not to write its namespace (agents report on
    /// shared memories they recalled). All ids must be visible, else nothing changes (404).
    pub async fn report_outcome(&self, caller: &Caller, ids: &[MemoryId], outcome: Outcome) -> Result<()> {
        outcome.reward()?;
        if ids.is_empty() {
            return Err(Error::invalid_input("no memory ids to report on"));
        }
        let t = self.tenant(&caller.tenant).await?;
        let vis = self.visibility(caller, &t).await?;
        let found = self.inner.store.get_memories(&caller.tenant, ids).await?;
        for id in ids {
            if !found.iter().any(|m| m.id == *id && vis.readable.contains(&m.namespace)) {
                return Err(self
                    .memory_not_found(caller, found.iter().find(|m| m.id == *id), *id, AuditOp::MemoryOutcome)
                    .await);
            }
        }
        self.inner.store.record_outcomes(&caller.tenant, ids, outcome, self.now()).await?;
        let mut namespaces: Vec<&NamespaceKey> = found.iter().map(|m| &m.namespace).collect();
        namespaces.sort();
        namespaces.dedup();
        for ns in namespaces {
            let here: Vec<MemoryId> = found.iter().filter(|m| &m.namespace == ns).map(|m| m.id).collect();
            let detail = json!({ "outcome": outcome_name(outcome), "reward": outcome.reward()?, "ids": here });
            self.audit(caller, Some(ns), AuditOp::MemoryOutcome, AuditOutcome::Ok, detail).await?;
        }
        Ok(())
    }

    /// The memory `id` if `vis` lets the caller read it; else 404 (audited).
    async fn visible(&self, caller: &Caller, vis: &Visibility, id: MemoryId, op: AuditOp) -> Result<Memory> {
        let found = self.inner.store.get_memory(&caller.tenant, id).await?;
        match found {
            Some(m) if vis.readable.contains(&m.namespace) && !m.is_expired(self.now()) => Ok(m),
            other => Err(self.memory_not_found(caller, other.as_ref(), id, op).await),
        }
    }

    /// The 404 for memory `id`, audited: in the memory's namespace when it exists (its
    /// writers see who looked), else without one. The caller learns nothing either way.
    pub(crate) async fn memory_not_found(
        &self,
        caller: &Caller,
        found: Option<&Memory>,
        id: MemoryId,
        op: AuditOp,
    ) -> Error {
        let err = Error::not_found(format!("memory {id} not found"));
        self.audit_denied(caller, found.map(|m| &m.namespace), op, &err).await;
        err
    }
}

/// How an outcome report is named in audit details.
fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Helpful => "helpful",
        Outcome::Unhelpful => "unhelpful",
        Outcome::Reward(_) => "reward",
    }
}
