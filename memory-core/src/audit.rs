//! Audit records: who did what, where, with which outcome (SPEC 4 "Audit"). Append-only.

use serde::{Deserialize, Serialize};

use crate::ids::{ApiKeyId, AuditId, Principal, TenantId};
use crate::namespace::{NamespaceKey, text_enum};
use crate::timestamp::Timestamp;

text_enum!(
    /// How an audited operation ended.
    AuditOutcome, "audit outcome" {
        /// It was carried out.
        Ok = "ok",
        /// Policy refused it.
        Denied = "denied",
        /// It was allowed but failed.
        Failed = "failed",
    }
);

/// One audit log entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// UUIDv7; the log is ordered by it.
    pub id: AuditId,
    /// Tenant.
    pub tenant: TenantId,
    /// Namespace the operation concerned, if one.
    pub namespace: Option<NamespaceKey>,
    /// Acting principal, if known.
    pub principal: Option<Principal>,
    /// API key used, if any.
    pub key_id: Option<ApiKeyId>,
    /// Operation name, e.g. `memory.put`, `namespace.archive`.
    pub operation: String,
    /// Outcome.
    pub outcome: AuditOutcome,
    /// Free text: ids touched, the reason of a denial.
    pub detail: String,
    /// When it happened.
    pub at: Timestamp,
}

/// Filters for listing audit records; every set field must match.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AuditFilter {
    /// Only this namespace.
    pub namespace: Option<NamespaceKey>,
    /// Only this principal.
    pub principal: Option<Principal>,
    /// Only this operation.
    pub operation: Option<String>,
    /// Only this outcome.
    pub outcome: Option<AuditOutcome>,
}

impl AuditFilter {
    /// Whether `r` passes the filter (the tenant is checked by the store).
    pub fn matches(&self, r: &AuditRecord) -> bool {
        self.namespace.as_ref().is_none_or(|n| r.namespace.as_ref() == Some(n))
            && self.principal.as_ref().is_none_or(|p| r.principal.as_ref() == Some(p))
            && self.operation.as_ref().is_none_or(|o| *o == r.operation)
            && self.outcome.is_none_or(|o| o == r.outcome)
    }
}
