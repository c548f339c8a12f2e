//! Promotion (SPEC 4): an authorized, audited copy of a memory into `shared` or a scope
//! profile's promotion target, linked to its source and deduplicated by content.

use memory_core::{AuditOp, Error, Memory, MemoryId, NamespaceKey, NewMemory, Result};
use memory_policy::{Operation, ReadRequest};
use serde::Serialize;

use crate::caller::Caller;
use crate::engine::{Engine, Tenant, plan_error};
use crate::pipeline::{Audit, IndexUpdate, Staged};

/// One promotion copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Promoted {
    /// The copy (or the memory that already held the same content there).
    pub id: MemoryId,
    /// Where it is.
    pub namespace: NamespaceKey,
    /// `false` when the target already held the content.
    pub created: bool,
}

impl Engine {
    /// Copies memory `id` into `target` (default: the first authorized promotion target of the
    /// caller's plan: `shared` without a scope profile). The source must be visible to the
    /// caller (else 404) and the target an authorized promotion target or a namespace the
    /// policies let it promote into (else 403).
    pub async fn promote(&self, caller: &Caller, id: MemoryId, target: Option<&str>) -> Result<Promoted> {
        let t = self.tenant(&caller.tenant).await?;
        let vis = self.visibility(caller, &t).await?;
        let found = self.inner.store.get_memory(&caller.tenant, id).await?;
        let source = match found {
            Some(m) if vis.readable.contains(&m.namespace) && !m.is_expired(self.now()) => m,
            other => return Err(self.memory_not_found(caller, other.as_ref(), id, AuditOp::MemoryPromote).await),
        };
        let catalog = self.catalog(&t).await?;
        let plan = self.plan(caller, catalog.as_ref(), ReadRequest::Default, None, false);
        if let Some(e) = &plan.error {
            return Err(plan_error(e.code, &e.message));
        }
        let (target, reason) = match target {
            Some(raw) => {
                let ns = NamespaceKey::new(raw).map_err(|e| Error::invalid_input(e.to_string()))?;
                let listed = plan.promotion_targets.iter().find(|p| p.namespace.as_ref() == Some(&ns));
                let verdict =
                    self.inner.policy.can(&caller.identity, Operation::Promote, ns.as_str(), catalog.as_ref());
                match listed {
                    Some(p) if p.authorized => (ns, p.reason.clone()),
                    _ if verdict.allowed => (ns, verdict.reason),
                    _ => {
                        let why = listed.map_or(verdict.reason, |p| p.reason.clone());
                        let err = Error::forbidden(format!("may not promote into {:?}: {why}", ns.as_str()));
                        self.audit_denied(caller, Some(&ns), AuditOp::MemoryPromote, &err).await;
                        return Err(err);
                    }
                }
            }
            None => match plan.promotion_targets.iter().find(|p| p.authorized && p.namespace.is_some()) {
                Some(p) => (p.namespace.clone().expect("checked"), p.reason.clone()),
                None => {
                    let reasons: Vec<String> =
                        plan.promotion_targets.iter().map(|p| format!("{}: {}", p.target, p.reason)).collect();
                    let err = Error::forbidden(format!("no authorized promotion target ({})", reasons.join("; ")));
                    self.audit_denied(caller, None, AuditOp::MemoryPromote, &err).await;
                    return Err(err);
                }
            },
        };
        if target == source.namespace {
            return Err(Error::invalid_input(format!(
                "memory {id} is already in {:?}; promotion copies into another namespace",
                target.as_str()
            )));
        }
        self.ensure_namespace(caller, &t, &plan, &target).await?;
        self.copy_into(caller, &t, &source, &target, AuditOp::MemoryPromote, &reason).await
    }

    /// Copies `source` into `target` (authorized, and existing: see `ensure_namespace`) and
    /// audits it.
    pub(crate) async fn copy_into(
        &self,
        caller: &Caller,
        t: &Tenant,
        source: &Memory,
        target: &NamespaceKey,
        op: AuditOp,
        reason: &str,
    ) -> Result<Promoted> {
        let now = self.now();
        let mut copy = NewMemory::new(target.clone(), source.layer, source.content.clone(), now);
        copy.category = source.category.clone();
        copy.confidence = source.confidence;
        copy.provenance = source.provenance.clone();
        copy.expires_at = source.expires_at;
        copy.metadata = source.metadata.clone();
        copy.promoted_from = Some(source.id);
        // A target that already holds the content keeps its version: the copy takes its
        // category, so promotion deduplicates by content and never conflicts over a category.
        let held = self.inner.store.find_duplicates(&caller.tenant, std::slice::from_ref(&copy)).await?;
        if let Some(held) = held.into_iter().next().flatten() {
            copy.category = held.category;
        }
        self.index_before_writing(t).await;
        let audit = Audit::Copy { op, source, reason };
        let mut committed = self.commit(caller, t, Staged::plain(vec![copy]), audit, IndexUpdate::Now).await?;
        let o = committed.outcomes.pop().expect("one input, one outcome");
        let created = o.created();
        Ok(Promoted { id: o.id(), namespace: target.clone(), created })
    }
}
