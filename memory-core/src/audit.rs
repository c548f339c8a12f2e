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

/// Declares [`AuditOp`]: its text is its name on the wire and in storage (with dots, so not the
/// snake_case serde would derive).
macro_rules! audit_ops {
    ($($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)?) => {
        /// What an audited operation was. One name per operation, the same in every front end.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum AuditOp {
            $($(#[$vdoc])* $variant),+
        }

        impl AuditOp {
            /// Every operation, in declaration order.
            pub const ALL: &'static [AuditOp] = &[$(AuditOp::$variant),+];

            /// Its name (`memory.remember`, `namespace.create`, ...).
            pub fn as_str(self) -> &'static str {
                match self { $(AuditOp::$variant => $text),+ }
            }
        }
    };
}

audit_ops! {
    /// A checked access that failed before any operation was chosen.
    Access = "access",
    /// A memory written (`remember`, `remember_now`).
    MemoryRemember = "memory.remember",
    /// A batch of memories written.
    MemoryBatch = "memory.batch",
    /// Chat messages observed.
    MemoryObserve = "memory.observe",
    /// A correction written.
    MemorySupersede = "memory.supersede",
    /// A memory read by id.
    MemoryGet = "memory.get",
    /// Memories listed.
    MemoryList = "memory.list",
    /// A memory deleted.
    MemoryForget = "memory.forget",
    /// An outcome reported.
    MemoryOutcome = "memory.outcome",
    /// A memory recalled.
    MemoryRecall = "memory.recall",
    /// A memory promoted on request.
    MemoryPromote = "memory.promote",
    /// A memory promoted by the auto-promotion policy.
    MemoryAutoPromote = "memory.auto_promote",
    /// Memories written by consolidation.
    MemoryConsolidate = "memory.consolidate",
    /// Expired working memories deleted by maintenance.
    MemoryExpire = "memory.expire",
    /// Memories past their namespace's retention deleted by maintenance.
    MemoryRetention = "memory.retention",
    /// A namespace created.
    NamespaceCreate = "namespace.create",
    /// A namespace's metadata changed.
    NamespaceUpdate = "namespace.update",
    /// A namespace archived.
    NamespaceArchive = "namespace.archive",
    /// A namespace restored.
    NamespaceRestore = "namespace.restore",
    /// A namespace deleted.
    NamespaceDelete = "namespace.delete",
    /// A namespace's memories moved into another.
    NamespaceMigrate = "namespace.migrate",
    /// Catalog records rebuilt from the stored memories.
    NamespaceRebuild = "namespace.rebuild",
    /// An API key issued.
    KeyCreate = "key.create",
    /// An API key read.
    KeyGet = "key.get",
    /// API keys listed.
    KeyList = "key.list",
    /// An API key's scopes changed.
    KeyUpdate = "key.update",
    /// An API key revoked.
    KeyRevoke = "key.revoke",
    /// A tenant created.
    TenantCreate = "tenant.create",
    /// The audit log read.
    AuditList = "audit.list",
    /// Data exported.
    Export = "export",
    /// Data imported.
    Import = "import",
    /// The store backed up.
    StoreBackup = "store.backup",
    /// An identity proposal queued.
    ProposalCreate = "proposal.create",
    /// The review queue read.
    ProposalList = "proposal.list",
    /// A proposal approved.
    ProposalApprove = "proposal.approve",
    /// A proposal rejected.
    ProposalReject = "proposal.reject",
    /// A proposal decided (the decision record).
    ProposalDecide = "proposal.decide",
    /// Entities listed.
    EntityList = "entity.list",
    /// An entity read.
    EntityGet = "entity.get",
    /// A maintenance cycle ran.
    Maintain = "maintain",
}

impl std::fmt::Display for AuditOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for AuditOp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let s = s.trim();
        AuditOp::ALL
            .iter()
            .copied()
            .find(|op| op.as_str() == s)
            .ok_or_else(|| Error::invalid_input(format!("unknown audit operation {s:?}")))
    }
}

/// Compares with an operation's name (`op == "memory.remember"`).
impl PartialEq<&str> for AuditOp {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for AuditOp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AuditOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

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
    /// The operation.
    pub operation: AuditOp,
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
    /// Checks the text fields: a detail of at most [`MAX_LONG_TEXT_BYTES`] as JSON.
    pub fn validate(&self) -> Result<(), Error> {
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
    pub operation: Option<AuditOp>,
    /// Only this outcome.
    pub outcome: Option<AuditOutcome>,
}

impl AuditFilter {
    /// Whether `r` passes the filter (the tenant is checked by the store).
    pub fn matches(&self, r: &AuditRecord) -> bool {
        self.namespace.as_ref().is_none_or(|n| r.namespace.as_ref() == Some(n))
            && self.principal.as_ref().is_none_or(|p| r.principal.as_ref() == Some(p))
            && self.operation.is_none_or(|o| o == r.operation)
            && self.outcome.is_none_or(|o| o == r.outcome)
    }
}
