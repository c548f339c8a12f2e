//! The input checks of [`Store`](crate::Store) methods, written once for every backend.
//!
//! A backend's method starts with the function of the same name here (where there is one) and
//! returns its error unchanged, so every backend refuses the same inputs with the same
//! `InvalidInput` before it looks at its data (the contract's "which error wins" order). A
//! method missing here takes no input that could be invalid, or (like `update_namespace`) can
//! only validate once it has read the record.

use crate::api_key::{ApiKey, KeyScope, validate_scopes};
use crate::audit::AuditRecord;
use crate::entity::EntityLink;
use crate::error::{Error, Result};
use crate::limits::{MAX_LONG_TEXT_BYTES, check_text};
use crate::maintenance::{JobLock, JobRun};
use crate::memory::{NewMemory, Outcome, validate_content};
use crate::namespace::Namespace;
use crate::proposal::{Proposal, ProposalStatus};
use crate::store::PageRequest;
use crate::timestamp::Timestamp;

/// `create_namespace`: the record validates.
pub fn create_namespace(namespace: &Namespace) -> Result<()> {
    namespace.validate()
}

/// `put_memories`: every input validates (the batch is refused as a whole).
pub fn put_memories(memories: &[NewMemory]) -> Result<()> {
    memories.iter().try_for_each(NewMemory::validate)
}

/// Every paged listing: the limit is within 1..=[`crate::MAX_PAGE_LIMIT`]. (A malformed cursor
/// is found when it is parsed, as a cursor of the listing's id type.)
pub fn page(page: &PageRequest) -> Result<()> {
    page.validate()
}

/// `changes_since`: the limit is within 1..=[`crate::MAX_PAGE_LIMIT`].
pub fn changes_since(limit: usize) -> Result<()> {
    PageRequest::first(limit).validate()
}

/// `record_outcomes`: the reward is within -1..=1 and the time within the accepted years.
pub fn record_outcomes(outcome: Outcome, at: Timestamp) -> Result<()> {
    outcome.reward()?;
    at.validate("outcome time")
}

/// `append_audit`: the record validates.
pub fn append_audit(record: &AuditRecord) -> Result<()> {
    record.validate()
}

/// `create_api_key`: the key validates.
pub fn create_api_key(key: &ApiKey) -> Result<()> {
    key.validate()
}

/// `update_api_key_scopes`: no namespace is named twice.
pub fn update_api_key_scopes(scopes: &[KeyScope]) -> Result<()> {
    validate_scopes(scopes)
}

/// `create_proposal`: a new proposal is pending and undecided, and its content is valid.
pub fn create_proposal(p: &Proposal) -> Result<()> {
    if p.status != ProposalStatus::Pending || p.decided_at.is_some() || p.decided_by.is_some() {
        return Err(Error::invalid_input("a new proposal must be pending and undecided"));
    }
    if p.content.trim().is_empty() {
        return Err(Error::invalid_input("proposal content is empty"));
    }
    validate_content(&p.content)?;
    check_text("proposal reason", &p.reason, MAX_LONG_TEXT_BYTES)
}

/// `link_entities`: every link validates.
pub fn link_entities(links: &[EntityLink]) -> Result<()> {
    links.iter().try_for_each(EntityLink::validate)
}

/// `try_lock_job`: the lock validates.
pub fn try_lock_job(lock: &JobLock) -> Result<()> {
    lock.validate()
}

/// `record_job_run`: the run record validates.
pub fn record_job_run(run: &JobRun) -> Result<()> {
    run.validate()
}
