//! Reading the audit log (SPEC 4 "Audit"). Records are written by every operation through
//! `Engine::audit`; this is the read side, per namespace.

use memory_core::{AuditFilter, AuditOp, AuditRecord, Error, NamespaceKey, Page, PageRequest, Result};

use crate::caller::Caller;
use crate::engine::Engine;

impl Engine {
    /// A page of the tenant's audit records, in id (time) order, optionally of one namespace.
    /// Operators read any; other callers read the records of a namespace they may write.
    pub async fn audit_log(
        &self,
        caller: &Caller,
        namespace: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>> {
        let ns = namespace.map(NamespaceKey::new).transpose().map_err(|e| Error::invalid_input(e.to_string()))?;
        let t = self.tenant(&caller.tenant).await?;
        if !caller.operator {
            let vis = self.visibility(caller, &t).await?;
            let allowed = ns.as_ref().is_some_and(|ns| self.may_write(caller, &vis, ns));
            if !allowed {
                let err = Error::forbidden("the audit log is readable by operators, and per namespace by its writers");
                self.audit_denied(caller, ns.as_ref(), AuditOp::AuditList, &err).await;
                return Err(err);
            }
        }
        let mut filter = AuditFilter::default();
        filter.namespace = ns;
        self.inner.store.list_audit(&caller.tenant, &filter, page).await
    }
}
