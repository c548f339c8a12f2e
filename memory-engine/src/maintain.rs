//! Maintenance (SPEC 7): the jobs that keep every namespace within its rules without an
//! operator, run by the server's scheduler and by `memory maintain`.
//!
//! A cycle picks namespaces within a budget (`default` and `shared` first, then the least
//! recently maintained; deleted namespaces only for the purge), and runs each job on each
//! under the job's lock in the store ([`memory_core::Store::try_lock_job`]): two workers, in
//! one process or many, never run the same job on the same namespace at once, and a crashed
//! worker's lock goes stale after `lock_stale_ms`. Purge, index upkeep and catalog upkeep are
//! tenant-wide (the store purges and the index saves per tenant): they run once per cycle,
//! locked and recorded on the tenant's `default` namespace. One namespace failing never stops
//! the others; every run leaves a status record (`ran`, `skipped` with the reason, `failed`
//! with the error).

use std::collections::BTreeMap;
use std::sync::Arc;

use memory_core::{
    AuditOp, Job, JobLock, JobRun, JobStatus, Layer, MAX_PAGE_LIMIT, Memory, MemoryFilter, Namespace, NamespaceFilter,
    NamespaceKey, NamespaceKind, NamespaceStatus, NamespaceTouch, PageRequest, Result, TenantId, Timestamp,
};
use serde::Serialize;

use crate::caller::Caller;
use crate::engine::{Engine, Tenant};

/// How long deleted memories stay as tombstones before the purge removes them: long enough
/// for every other process to see the deletion through the change feed.
pub const PURGE_GRACE_DAYS: i64 = 1;

/// What a job that ran reports: its counts, and (consolidation) where the next run starts.
pub(crate) type JobDone = (BTreeMap<String, u64>, Option<String>);

/// Why a job did not run to the end: skipped or failed, and the reason.
pub(crate) type JobNotDone = (JobStatus, String);

/// What a maintenance cycle is asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MaintainRequest {
    /// Only this namespace (raw key); `None`: the cycle's choice within the budget.
    pub namespace: Option<String>,
    /// Only these jobs; `None`: all of them, in [`Job::ALL`] order.
    pub jobs: Option<Vec<Job>>,
    /// Most namespaces this cycle covers (default: `max_namespaces_per_cycle` of the
    /// configuration).
    pub budget: Option<usize>,
}

/// What one cycle did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MaintenanceReport {
    /// One record per job and namespace the cycle considered, in the order they ran.
    pub runs: Vec<JobRun>,
    /// Namespaces left for a later cycle by the budget.
    pub deferred: usize,
}

impl MaintenanceReport {
    /// Runs that failed.
    pub fn failed(&self) -> usize {
        self.runs.iter().filter(|r| r.status == JobStatus::Failed).count()
    }
}

impl Engine {
    /// One maintenance cycle over the caller's tenant (operators only). `progress` hears each
    /// finished run and the number planned.
    pub async fn maintain(
        &self,
        caller: &Caller,
        request: &MaintainRequest,
        progress: &mut (dyn FnMut(&JobRun, usize) + Send),
    ) -> Result<MaintenanceReport> {
        if !caller.operator {
            return Err(memory_core::Error::forbidden("maintenance is an operator command"));
        }
        let t = self.tenant(&caller.tenant).await?;
        let jobs: Vec<Job> = match &request.jobs {
            Some(j) => Job::ALL.iter().copied().filter(|a| j.contains(a)).collect(),
            None => Job::ALL.to_vec(),
        };
        let (chosen, deferred) = self.choose_namespaces(&t, request).await?;
        let default_ns = self.inner.policy.config().default_namespace.clone();
        let mut planned: Vec<(Job, NamespaceKey)> = Vec::new();
        for job in &jobs {
            if tenant_wide(*job) {
                // Once per cycle; only when the cycle covers the tenant (not one named namespace).
                if request.namespace.is_none() || request.namespace.as_deref() == Some(default_ns.as_str()) {
                    planned.push((*job, default_ns.clone()));
                }
                continue;
            }
            for ns in chosen.iter().filter(|n| n.status == NamespaceStatus::Active) {
                planned.push((*job, ns.key.clone()));
            }
        }
        let holder = format!("maintain-{}-{}", std::process::id(), uuid::Uuid::now_v7());
        let mut report = MaintenanceReport { runs: Vec::with_capacity(planned.len()), deferred };
        let total = planned.len();
        let maintainer = caller.clone();
        for (job, ns) in planned {
            let run = self.run_job(&maintainer, &t, job, &ns, &holder).await;
            progress(&run, total);
            report.runs.push(run);
        }
        for ns in chosen.iter().filter(|n| n.status == NamespaceStatus::Active) {
            let _ = self
                .inner
                .store
                .touch_namespace(&caller.tenant, &ns.key, NamespaceTouch::Maintenance, self.now())
                .await;
        }
        Ok(report)
    }

    /// Every tenant's cycle (the server's scheduler): one tenant failing never stops the others.
    pub async fn maintain_all(&self, request: &MaintainRequest) -> Vec<(TenantId, Result<MaintenanceReport>)> {
        let tenants = match self.inner.store.list_tenants().await {
            Ok(t) => t,
            Err(e) => return vec![(TenantId::default_tenant(), Err(e))],
        };
        let mut out = Vec::with_capacity(tenants.len());
        for tenant in tenants {
            let caller = Caller::new(tenant.clone(), Default::default()).as_operator();
            let report = self.maintain(&caller, request, &mut |_, _| {}).await;
            out.push((tenant, report));
        }
        out
    }

    /// The latest status record of every job and namespace of the caller's tenant (of one
    /// namespace when given). Operators only.
    pub async fn maintenance_status(&self, caller: &Caller, namespace: Option<&str>) -> Result<Vec<JobRun>> {
        if !caller.operator {
            return Err(memory_core::Error::forbidden("maintenance status is an operator command"));
        }
        let ns = namespace.map(crate::namespaces::parse_key).transpose()?;
        self.inner.store.list_job_runs(&caller.tenant, ns.as_ref()).await
    }

    /// Records a job run's status (carrying the previous checkpoint over when this run did not
    /// set one); returns the record.
    pub(crate) async fn record_run(
        &self,
        tenant: &memory_core::TenantId,
        job: Job,
        ns: &NamespaceKey,
        started: Timestamp,
        outcome: std::result::Result<JobDone, JobNotDone>,
    ) -> Result<JobRun> {
        let previous = match &outcome {
            Ok((_, Some(_))) => None,
            _ => self.inner.store.list_job_runs(tenant, Some(ns)).await?.into_iter().find(|r| r.job == job),
        };
        let carried = previous.and_then(|r| r.checkpoint);
        let (status, reason, counts, checkpoint) = match outcome {
            Ok((counts, checkpoint)) => (JobStatus::Ran, None, counts, checkpoint.or(carried)),
            Err((status, reason)) => (status, Some(reason), BTreeMap::new(), carried),
        };
        let run = JobRun {
            tenant: tenant.clone(),
            job,
            namespace: ns.clone(),
            status,
            reason,
            counts,
            checkpoint,
            started_at: started,
            finished_at: self.now().max(started),
        };
        self.inner.store.record_job_run(&run).await?;
        Ok(run)
    }

    /// The namespaces this cycle covers, and how many the budget left out.
    async fn choose_namespaces(&self, t: &Tenant, request: &MaintainRequest) -> Result<(Vec<Namespace>, usize)> {
        let store = &self.inner.store;
        let config = self.inner.policy.config();
        if let Some(raw) = &request.namespace {
            let key = crate::namespaces::parse_key(raw)?;
            return match store.get_namespace(&t.id, &key).await? {
                Some(ns) => Ok((vec![ns], 0)),
                None => Err(memory_core::Error::not_found(format!("namespace {raw:?} not found"))),
            };
        }
        let settings = &config.maintenance;
        let mut all: Vec<Namespace> = store
            .list_namespaces(&t.id, &NamespaceFilter::default())
            .await?
            .into_iter()
            .filter(|n| n.status == NamespaceStatus::Active)
            .filter(|n| match n.kind {
                NamespaceKind::Project => settings.include_project_namespaces,
                NamespaceKind::Branch => settings.include_branch_namespaces,
                NamespaceKind::TeamProject => settings.include_team_project_namespaces,
                _ => true,
            })
            .collect();
        // Default and shared first, then the least recently maintained, then by key.
        let rank = |n: &Namespace| match () {
            _ if n.key == config.default_namespace => 0,
            _ if n.key == config.shared_namespace => 1,
            _ => 2,
        };
        all.sort_by(|a, b| {
            rank(a)
                .cmp(&rank(b))
                .then(a.last_maintenance_at.cmp(&b.last_maintenance_at))
                .then(a.key.as_str().cmp(b.key.as_str()))
        });
        let budget = match request.budget {
            Some(b) => b,
            None if settings.fanout_enabled => settings.max_namespaces_per_cycle as usize,
            // Without fan-out only the configured namespaces are maintained.
            None => 2,
        };
        let deferred = all.len().saturating_sub(budget);
        all.truncate(budget);
        Ok((all, deferred))
    }

    /// Runs one job on one namespace under its lock and records how it ended.
    async fn run_job(&self, caller: &Caller, t: &Arc<Tenant>, job: Job, ns: &NamespaceKey, holder: &str) -> JobRun {
        let started = self.now();
        let tenant = &caller.tenant;
        let lock = JobLock {
            tenant: tenant.clone(),
            job,
            namespace: ns.clone(),
            holder: holder.to_owned(),
            acquired_at: started,
            expires_at: started.plus_micros(self.maintenance_lease()),
        };
        let outcome = match self.inner.store.try_lock_job(&lock).await {
            Ok(true) => {
                let result = self.job(caller, t, job, ns, &lock).await;
                let _ = self.inner.store.unlock_job(tenant, job, ns, holder).await;
                result.map_err(|e| (JobStatus::Failed, e.message().to_owned()))
            }
            Ok(false) => Err((JobStatus::Skipped, "another worker holds the lock".to_owned())),
            Err(e) => Err((JobStatus::Failed, format!("could not take the lock: {}", e.message()))),
        };
        match self.record_run(tenant, job, ns, started, outcome).await {
            Ok(run) => run,
            Err(e) => JobRun {
                tenant: tenant.clone(),
                job,
                namespace: ns.clone(),
                status: JobStatus::Failed,
                reason: Some(format!("the status could not be recorded: {}", e.message())),
                counts: BTreeMap::new(),
                checkpoint: None,
                started_at: started,
                finished_at: self.now().max(started),
            },
        }
    }

    /// The work of one job; returns its counts and (consolidation) its checkpoint.
    async fn job(
        &self,
        caller: &Caller,
        t: &Arc<Tenant>,
        job: Job,
        ns: &NamespaceKey,
        lock: &JobLock,
    ) -> Result<JobDone> {
        let tenant = &caller.tenant;
        let now = self.now();
        let count = |name: &str, n: u64| BTreeMap::from([(name.to_owned(), n)]);
        match job {
            Job::Consolidate => {
                // Renews the lease as it goes, so a long run is not taken over as stale.
                let store = self.inner.store.clone();
                let lease = self.maintenance_lease();
                let base = lock.clone();
                let mut last_renewed = now;
                let mut renew = move |at: Timestamp| {
                    if at.as_micros() - last_renewed.as_micros() > lease / 3 {
                        last_renewed = at;
                        let l = JobLock { acquired_at: at, expires_at: at.plus_micros(lease), ..base.clone() };
                        let store = store.clone();
                        tokio::spawn(async move { store.try_lock_job(&l).await });
                    }
                };
                let (report, checkpoint) = self.consolidate_locked(caller, ns, None, &mut |_| {}, &mut renew).await?;
                Ok((report.counts(), checkpoint))
            }
            Job::Expire => {
                let mut filter = MemoryFilter::namespace(ns.clone());
                filter.layers = Some(vec![Layer::Working]);
                let expired = self.matching(tenant, &filter, |m| m.is_expired(now)).await?;
                Ok((count("deleted", self.delete_all(caller, t, ns, &expired, AuditOp::MemoryExpire).await?), None))
            }
            Job::Retention => {
                let Some(days) = self.inner.store.get_namespace(tenant, ns).await?.and_then(|n| n.retention_days)
                else {
                    return Ok((count("deleted", 0), None));
                };
                let mut filter = MemoryFilter::namespace(ns.clone());
                filter.created_before = Some(now.plus_days(-i64::from(days)));
                let old = self.matching(tenant, &filter, |_| true).await?;
                Ok((count("deleted", self.delete_all(caller, t, ns, &old, AuditOp::MemoryRetention).await?), None))
            }
            Job::Purge => {
                let purged = self.inner.store.purge(tenant, now.plus_days(-PURGE_GRACE_DAYS)).await?;
                Ok((
                    BTreeMap::from([
                        ("memories".to_owned(), purged.memories),
                        ("namespaces".to_owned(), purged.namespaces),
                    ]),
                    None,
                ))
            }
            Job::Index => {
                let applied = self.catch_up(t).await?;
                self.checkpoint(t, std::time::Duration::ZERO).await?;
                Ok((
                    BTreeMap::from([("indexed".to_owned(), applied.indexed), ("removed".to_owned(), applied.removed)]),
                    None,
                ))
            }
            Job::Catalog => {
                let report = self.verify_namespaces(caller).await?;
                let problems = report.problems.len() as u64;
                if problems > 0 {
                    return Err(memory_core::Error::conflict(format!(
                        "{problems} catalog problem(s): {}",
                        report.problems.join("; ")
                    )));
                }
                Ok((count("namespaces", report.namespaces as u64), None))
            }
        }
    }

    /// The live memories passing `filter` and `keep`, paged through.
    async fn matching(
        &self,
        tenant: &TenantId,
        filter: &MemoryFilter,
        keep: impl Fn(&Memory) -> bool,
    ) -> Result<Vec<memory_core::MemoryId>> {
        let mut out = Vec::new();
        let mut page = PageRequest::first(MAX_PAGE_LIMIT);
        loop {
            let p = self.inner.store.list_memories(tenant, filter, &page).await?;
            out.extend(p.items.iter().filter(|m| keep(m)).map(|m| m.id));
            match p.next_cursor {
                Some(c) => page = PageRequest::after(c, MAX_PAGE_LIMIT),
                None => return Ok(out),
            }
        }
    }

    /// Tombstones `ids` of `ns`, brings the index up to date and audits the deletion; returns
    /// how many were live.
    async fn delete_all(
        &self,
        caller: &Caller,
        t: &Tenant,
        ns: &NamespaceKey,
        ids: &[memory_core::MemoryId],
        op: AuditOp,
    ) -> Result<u64> {
        let mut deleted = Vec::new();
        for id in ids {
            if self.inner.store.delete_memory(&caller.tenant, *id, self.now()).await? {
                deleted.push(*id);
            }
        }
        if !deleted.is_empty() {
            let _ = self.catch_up(t).await;
            let shown: Vec<_> = deleted.iter().take(20).collect();
            let detail = serde_json::json!({ "deleted": deleted.len(), "ids": shown, "more_ids": deleted.len().saturating_sub(20) });
            self.audit(caller, Some(ns), op, memory_core::AuditOutcome::Ok, detail).await?;
        }
        Ok(deleted.len() as u64)
    }
}

/// Jobs that act on the whole tenant.
fn tenant_wide(job: Job) -> bool {
    matches!(job, Job::Purge | Job::Index | Job::Catalog)
}
