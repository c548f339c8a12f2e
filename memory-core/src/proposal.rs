//! The review queue: changes (identity above all) that consolidation may only propose and a
//! person approves or rejects (SPEC 2 and 7).

use serde::{Deserialize, Serialize};

use crate::ids::{MemoryId, Principal, ProposalId, TenantId};
use crate::memory::{Category, Confidence, Layer, Metadata};
use crate::namespace::{NamespaceKey, text_enum};
use crate::timestamp::Timestamp;

text_enum!(
    /// Where a proposal stands.
    ProposalStatus, "proposal status" {
        /// Waiting for a decision.
        Pending = "pending",
        /// Accepted by a reviewer.
        Approved = "approved",
        /// Refused by a reviewer.
        Rejected = "rejected",
    }
);

/// A reviewer's decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Approve.
    Approve,
    /// Reject.
    Reject,
}

/// A proposed memory awaiting review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// UUIDv7 id.
    pub id: ProposalId,
    /// Tenant.
    pub tenant: TenantId,
    /// Namespace the memory would be written into.
    pub namespace: NamespaceKey,
    /// Layer it would be written into.
    pub layer: Layer,
    /// Proposed content.
    pub content: String,
    /// Proposed category.
    pub category: Category,
    /// Proposed confidence.
    pub confidence: Confidence,
    /// Why it is proposed.
    pub reason: String,
    /// Memories it was derived from.
    pub source_memory_ids: Vec<MemoryId>,
    /// Who (or which job) proposed it.
    pub proposed_by: Option<Principal>,
    /// Status.
    pub status: ProposalStatus,
    /// When it was proposed.
    pub created_at: Timestamp,
    /// When it was decided.
    pub decided_at: Option<Timestamp>,
    /// Who decided.
    pub decided_by: Option<Principal>,
    /// The memory that approval supersedes (the identity statement this one corrects).
    #[serde(default)]
    pub supersedes: Option<MemoryId>,
    /// The metadata the memory is written with on approval.
    #[serde(default)]
    pub metadata: Metadata,
}

impl Proposal {
    /// Records `decision` by `by` at `at`; `Conflict` when the proposal is already decided.
    pub fn decide(&mut self, decision: Decision, by: Principal, at: Timestamp) -> crate::Result<()> {
        if self.status != ProposalStatus::Pending {
            return Err(crate::Error::conflict(format!("proposal {} is already {}", self.id, self.status)));
        }
        self.status = match decision {
            Decision::Approve => ProposalStatus::Approved,
            Decision::Reject => ProposalStatus::Rejected,
        };
        self.decided_at = Some(at);
        self.decided_by = Some(by);
        Ok(())
    }
}

/// Filters for listing proposals; every set field must match.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ProposalFilter {
    /// Only this namespace.
    pub namespace: Option<NamespaceKey>,
    /// Only this status.
    pub status: Option<ProposalStatus>,
}

impl ProposalFilter {
    /// Whether `p` passes the filter (the tenant is checked by the store).
    pub fn matches(&self, p: &Proposal) -> bool {
        self.namespace.as_ref().is_none_or(|n| *n == p.namespace) && self.status.is_none_or(|s| s == p.status)
    }
}
