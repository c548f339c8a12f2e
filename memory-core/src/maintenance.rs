//! Maintenance jobs (SPEC 7): which jobs exist, the lock a worker holds while it runs one on
//! a namespace, and the status record each run leaves.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::TenantId;
use crate::limits::{MAX_LONG_TEXT_BYTES, MAX_SHORT_TEXT_BYTES, check_text};
use crate::namespace::{NamespaceKey, text_enum};
use crate::timestamp::Timestamp;

text_enum!(
    /// A per-namespace maintenance job, in the order a cycle runs them.
    Job, "maintenance job" {
        /// Episodes become semantic and procedural memories; entities are linked.
        Consolidate = "consolidate",
        /// Expired working memories are deleted.
        Expire = "expire",
        /// Memories older than the namespace's `retention_days` are deleted.
        Retention = "retention",
        /// Tombstones and deleted namespaces are removed for good.
        Purge = "purge",
        /// The search index is committed and its segments merged.
        Index = "index",
        /// The catalog is checked against the stored memories.
        Catalog = "catalog",
    }
);

text_enum!(
    /// How a job run ended.
    JobStatus, "job status" {
        /// It ran to the end.
        Ran = "ran",
        /// It did not run (another worker held the lock, nothing to do, out of budget).
        Skipped = "skipped",
        /// It failed; `reason` says why.
        Failed = "failed",
    }
);

/// The lock a worker holds on one job of one namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobLock {
    /// Tenant.
    pub tenant: TenantId,
    /// The job.
    pub job: Job,
    /// The namespace.
    pub namespace: NamespaceKey,
    /// Who holds it: a worker id unique per process and run (1..=[`MAX_SHORT_TEXT_BYTES`]).
    pub holder: String,
    /// When it was taken or last renewed.
    pub acquired_at: Timestamp,
    /// When it goes stale: after this, another worker may take it over (a crashed worker
    /// never blocks a job for longer than its lease).
    pub expires_at: Timestamp,
}

impl JobLock {
    /// Checks the holder and that the lease ends after it starts.
    pub fn validate(&self) -> Result<(), Error> {
        if self.holder.trim().is_empty() {
            return Err(Error::invalid_input("a lock holder is empty"));
        }
        check_text("lock holder", &self.holder, MAX_SHORT_TEXT_BYTES)?;
        if self.expires_at <= self.acquired_at {
            return Err(Error::invalid_input(format!(
                "a lock lease must end after it starts ({} is not after {})",
                self.expires_at, self.acquired_at
            )));
        }
        Ok(())
    }
}

/// The record a job run leaves (the latest per tenant, job and namespace is kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRun {
    /// Tenant.
    pub tenant: TenantId,
    /// The job.
    pub job: Job,
    /// The namespace.
    pub namespace: NamespaceKey,
    /// How it ended.
    pub status: JobStatus,
    /// Why it was skipped or failed.
    pub reason: Option<String>,
    /// What it did, as named counts (`deleted`, `created`, `episodes`, ...).
    pub counts: BTreeMap<String, u64>,
    /// Where the next run starts (for consolidation: the last episode it read); carried over
    /// by runs that did not advance it.
    pub checkpoint: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
}

impl JobRun {
    /// Checks the text fields and that it did not end before it started.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(r) = &self.reason {
            check_text("job reason", r, MAX_LONG_TEXT_BYTES)?;
        }
        if let Some(c) = &self.checkpoint {
            check_text("job checkpoint", c, MAX_SHORT_TEXT_BYTES)?;
        }
        for key in self.counts.keys() {
            check_text("job count name", key, MAX_SHORT_TEXT_BYTES)?;
        }
        if self.finished_at < self.started_at {
            return Err(Error::invalid_input("a job run finished before it started"));
        }
        Ok(())
    }
}
