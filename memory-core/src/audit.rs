//! Audit records: who did what, where, with which outcome (SPEC 4 "Audit"). Append-only.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::Error;
use crate::ids::{ApiKeyId, AuditId, Principal, TenantId};
use crate::limits::{MAX_LONG_TEXT_BYTES, MAX_SHORT_TEXT_BYTES, check_text};
use crate::namespace::{NamespaceKey, text_enum};
use crate::timestamp::Timestamp;

/// The structured detail of an audit record: named values (ids touched, counts, the reason of
/// a denial under `reason`), never free-form debug text.
pub type AuditDetail = BTreeMap<String, serde_json::Value>;

/// Where an audit record was recorded, when it was not recorded by this store: records brought
/// in by an import are marked so that history can never be forged by importing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditOrigin {
    /// The audit record of the import that brought this record in.
    pub import: AuditId,
    /// The tenant the export file says it came from.
    pub tenant: String,
    /// When that file was exported.
    pub exported_at: Timestamp,
}

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
    /// What happened, as named values.
    #[serde(deserialize_with = "detail_or_legacy_text")]
    pub detail: AuditDetail,
    /// When it happened.
    pub at: Timestamp,
    /// Set when the record was imported rather than recorded here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<AuditOrigin>,
}

impl AuditRecord {
    /// Checks the text fields: an operation of 1..=[`MAX_SHORT_TEXT_BYTES`] bytes and a detail
    /// of at most [`MAX_LONG_TEXT_BYTES`] as JSON.
    pub fn validate(&self) -> Result<(), Error> {
        if self.operation.trim().is_empty() {
            return Err(Error::invalid_input("audit operation is empty"));
        }
        check_text("audit operation", &self.operation, MAX_SHORT_TEXT_BYTES)?;
        let detail = serde_json::to_string(&self.detail).unwrap_or_default();
        check_text("audit detail", &detail, MAX_LONG_TEXT_BYTES)?;
        if let Some(o) = &self.origin {
            check_text("audit origin tenant", &o.tenant, MAX_SHORT_TEXT_BYTES)?;
        }
        Ok(())
    }
}

/// A detail from before details were structured (format 1 exports) is plain text: it becomes
/// `{"message": text}` (empty text: no values).
fn detail_or_legacy_text<'de, D: Deserializer<'de>>(d: D) -> Result<AuditDetail, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Detail {
        Values(AuditDetail),
        Text(String),
    }
    Ok(match Detail::deserialize(d)? {
        Detail::Values(v) => v,
        Detail::Text(t) if t.is_empty() => AuditDetail::new(),
        Detail::Text(t) => AuditDetail::from([("message".to_owned(), serde_json::Value::String(t))]),
    })
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
