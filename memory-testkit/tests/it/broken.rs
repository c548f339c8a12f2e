//! Stores that break one contract bullet on purpose, to prove the suite and the model test
//! catch it: each delegates to `InMemoryStore` except for its one fault.

use std::sync::Arc;

use async_trait::async_trait;
use memory_core::{
    ApiKey, ApiKeyId, AuditFilter, AuditRecord, Capabilities, ChangeSignal, Decision, Entity, EntityFilter, EntityId,
    EntityLink, InMemoryStore, Job, JobLock, JobRun, KeyHash, KeyScope, MAX_PAGE_LIMIT, Memory, MemoryFilter, MemoryId,
    MemoryPatch, MoveOutcome, Namespace, NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceTouch, NewMemory,
    Outcome, Page, PageRequest, Principal, Proposal, ProposalFilter, ProposalId, PurgeReport, PutOutcome, Result,
    Store, StoreId, TenantId, Timestamp,
};
use memory_testkit::{conformance, model};

/// The one thing a [`Broken`] store gets wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    /// `get_memory` also returns tombstoned memories.
    ShowsTombstones,
    /// `get_memory` reports every memory with `evidence_count = 1`, as if dedupe never counted.
    ForgetsEvidence,
    /// `delete_memory` always answers `Ok(true)`, even for a tombstone.
    DeletesTwice,
    /// `list_memories` treats a limit of 0 as 1 instead of rejecting it.
    ClampsLimit,
    /// `record_access` counts every listed id, updated or not.
    CountsMissingAccesses,
    /// `record_outcomes` applies every report as if it came at `Timestamp::MIN`, so utility
    /// never decays and `last_outcome_at` is wrong.
    IgnoresOutcomeTime,
    /// `last_seq` forgets the newest change, as if it were `max(seq)` after a purge.
    LastSeqLags,
    /// `namespace_version` ignores status changes (archive, restore, delete).
    VersionMissesStatus,
    /// `move_memories` drops a merged duplicate instead of keeping it, superseded, in the target.
    MoveDropsDuplicates,
    /// `try_lock_job` takes the lock whoever holds it, as if every lease had ended.
    LockIgnoresHolders,
    /// `link_entities` skips the links whose memory is not a live memory of the namespace
    /// instead of refusing the batch.
    LinkSkipsMemoryCheck,
    /// `put_memories` refuses an id any tenant holds, as if ids were unique store-wide.
    IdsAreStoreWide,
    /// `taken_memory_ids` also names ids that only another tenant holds.
    TakenCountsOtherTenants,
    /// `change_signal` gives a signal although the store offers no change notification.
    SignalWithoutNotification,
}

impl Broken {
    /// The ids among `ids` that any tenant holds (the old, store-wide meaning of taken).
    async fn taken_anywhere(&self, ids: &[MemoryId]) -> Result<Vec<MemoryId>> {
        let mut taken = Vec::new();
        for tenant in self.inner.list_tenants().await? {
            taken.extend(self.inner.taken_memory_ids(&tenant, ids).await?);
        }
        let mut seen = std::collections::HashSet::new();
        Ok(ids.iter().filter(|id| taken.contains(id) && seen.insert(**id)).copied().collect())
    }
}

#[derive(Debug)]
struct Broken {
    inner: InMemoryStore,
    fault: Fault,
}

fn broken(fault: Fault) -> Arc<dyn Store> {
    Arc::new(Broken { inner: InMemoryStore::new(), fault })
}

/// Runs `$check` on a store with `$fault` in a task of its own and asserts that it panicked.
macro_rules! assert_fails {
    ($fault:expr, $check:path) => {{
        let store = broken($fault);
        let result = tokio::spawn(async move { $check(&*store).await }).await;
        assert!(
            result.is_err_and(|e| e.is_panic()),
            concat!(stringify!($check), " passed on a store with fault {:?}"),
            $fault
        );
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_tombstones_returned_by_get() {
    assert_fails!(Fault::ShowsTombstones, conformance::check_tombstoned_memory_is_invisible);
    assert_fails!(Fault::ShowsTombstones, conformance::check_delete_namespace_tombstones_its_memories);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_forgotten_evidence() {
    assert_fails!(Fault::ForgetsEvidence, conformance::check_put_duplicate_content_bumps_evidence);
    assert_fails!(Fault::ForgetsEvidence, conformance::check_put_duplicate_within_batch_bumps_evidence);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_second_delete_reported_as_a_change() {
    assert_fails!(Fault::DeletesTwice, conformance::check_delete_memory_reports_whether_it_was_live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_an_unchecked_page_limit() {
    assert_fails!(Fault::ClampsLimit, conformance::check_page_limit_out_of_range_is_invalid_input);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_miscounted_accesses() {
    assert_fails!(Fault::CountsMissingAccesses, conformance::check_record_access_skips_missing_memories);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_outcomes_that_ignore_their_time() {
    assert_fails!(Fault::IgnoresOutcomeTime, conformance::check_record_outcomes_applies_each_listed_id);
    assert_fails!(Fault::IgnoresOutcomeTime, conformance::check_record_outcomes_decays_utility_between_reports);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_lagging_change_sequence() {
    assert_fails!(Fault::LastSeqLags, conformance::check_last_seq_is_the_latest_change);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_catalog_version_that_misses_changes() {
    assert_fails!(Fault::VersionMissesStatus, conformance::check_namespace_version_grows_with_every_catalog_change);
    assert_fails!(Fault::MoveDropsDuplicates, conformance::check_move_memories_keeps_ids_and_merges_duplicates);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_lock_that_ignores_other_holders() {
    assert_fails!(Fault::LockIgnoresHolders, conformance::check_try_lock_job_takes_a_free_lock);
    assert_fails!(
        Fault::LockIgnoresHolders,
        conformance::check_try_lock_job_refuses_another_holder_while_the_lease_runs
    );
    assert_fails!(Fault::LockIgnoresHolders, conformance::check_try_lock_job_takes_over_a_stale_lock);
    assert_fails!(Fault::LockIgnoresHolders, conformance::check_unlock_job_releases_only_for_its_holder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_links_to_memories_of_other_namespaces() {
    assert_fails!(Fault::LinkSkipsMemoryCheck, conformance::check_link_entities_needs_live_memories_of_the_namespace);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_ids_that_are_not_scoped_by_tenant() {
    assert_fails!(Fault::IdsAreStoreWide, conformance::check_memory_ids_are_scoped_by_tenant);
    assert_fails!(
        Fault::TakenCountsOtherTenants,
        conformance::check_taken_memory_ids_include_tombstones_not_other_tenants
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_a_change_signal_without_notification() {
    assert_fails!(
        Fault::SignalWithoutNotification,
        conformance::check_capabilities_are_stable_and_match_the_change_signal
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_test_catches_broken_stores() {
    let faults = [
        Fault::ShowsTombstones,
        Fault::ForgetsEvidence,
        Fault::DeletesTwice,
        Fault::CountsMissingAccesses,
        Fault::IgnoresOutcomeTime,
        Fault::IdsAreStoreWide,
    ];
    for fault in faults {
        let store = broken(fault);
        let result = tokio::spawn(async move { model::run(&*store, 2000, model::DEFAULT_SEED).await }).await;
        assert!(result.is_err_and(|e| e.is_panic()), "the model test passed on a store with fault {fault:?}");
    }
}

#[async_trait]
impl Store for Broken {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn change_signal(&self) -> Option<Arc<ChangeSignal>> {
        match self.fault {
            Fault::SignalWithoutNotification => Some(Arc::default()),
            _ => self.inner.change_signal(),
        }
    }

    async fn create_namespace(&self, namespace: Namespace) -> Result<()> {
        self.inner.create_namespace(namespace).await
    }

    async fn get_namespace(&self, tenant: &TenantId, key: &NamespaceKey) -> Result<Option<Namespace>> {
        self.inner.get_namespace(tenant, key).await
    }

    async fn list_namespaces(&self, tenant: &TenantId, filter: &NamespaceFilter) -> Result<Vec<Namespace>> {
        self.inner.list_namespaces(tenant, filter).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantId>> {
        self.inner.list_tenants().await
    }

    async fn namespace_version(&self, tenant: &TenantId) -> Result<u64> {
        let version = self.inner.namespace_version(tenant).await?;
        if self.fault != Fault::VersionMissesStatus {
            return Ok(version);
        }
        // Counts only the records that ever changed apart from their status.
        let mut filter = NamespaceFilter::default();
        let mut changed = 0;
        for status in memory_core::NamespaceStatus::ALL {
            filter.status = Some(*status);
            changed += self
                .inner
                .list_namespaces(tenant, &filter)
                .await?
                .iter()
                .filter(|n| n.updated_at == n.created_at)
                .count();
        }
        Ok(changed as u64 + version.min(1))
    }

    async fn update_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        patch: &NamespacePatch,
        at: Timestamp,
    ) -> Result<Namespace> {
        self.inner.update_namespace(tenant, key, patch, at).await
    }

    async fn touch_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        touch: NamespaceTouch,
        at: Timestamp,
    ) -> Result<()> {
        self.inner.touch_namespace(tenant, key, touch, at).await
    }

    async fn archive_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        self.inner.archive_namespace(tenant, key, at).await
    }

    async fn restore_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        self.inner.restore_namespace(tenant, key, at).await
    }

    async fn delete_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        self.inner.delete_namespace(tenant, key, at).await
    }

    async fn put_memories(&self, tenant: &TenantId, memories: Vec<NewMemory>) -> Result<Vec<PutOutcome>> {
        if self.fault == Fault::IdsAreStoreWide {
            let ids: Vec<MemoryId> = memories.iter().map(|m| m.id).collect();
            if let Some(id) = self.taken_anywhere(&ids).await?.first() {
                return Err(memory_core::Error::already_exists(format!("memory id {id} is already taken")));
            }
        }
        self.inner.put_memories(tenant, memories).await
    }

    async fn find_duplicates(&self, tenant: &TenantId, inputs: &[NewMemory]) -> Result<Vec<Option<Memory>>> {
        self.inner.find_duplicates(tenant, inputs).await
    }

    async fn get_embeddings(&self, tenant: &TenantId, model: &str, ids: &[MemoryId]) -> Result<Vec<Option<Vec<f32>>>> {
        self.inner.get_embeddings(tenant, model, ids).await
    }

    async fn get_memory(&self, tenant: &TenantId, id: MemoryId) -> Result<Option<Memory>> {
        match self.fault {
            Fault::ShowsTombstones => {
                let changes = self.inner.changes_since(tenant, 0, MAX_PAGE_LIMIT).await?;
                Ok(changes.into_iter().find(|m| m.id == id))
            }
            Fault::ForgetsEvidence => Ok(self.inner.get_memory(tenant, id).await?.map(|mut m| {
                m.stats.evidence_count = 1;
                m
            })),
            _ => self.inner.get_memory(tenant, id).await,
        }
    }

    async fn get_memories(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<Memory>> {
        self.inner.get_memories(tenant, ids).await
    }

    async fn list_memories(
        &self,
        tenant: &TenantId,
        filter: &MemoryFilter,
        page: &PageRequest,
    ) -> Result<Page<Memory>> {
        if self.fault == Fault::ClampsLimit && page.limit == 0 {
            return self.inner.list_memories(tenant, filter, &PageRequest { limit: 1, ..page.clone() }).await;
        }
        self.inner.list_memories(tenant, filter, page).await
    }

    async fn count_memories(&self, tenant: &TenantId, filter: &MemoryFilter) -> Result<u64> {
        self.inner.count_memories(tenant, filter).await
    }

    async fn update_memory(
        &self,
        tenant: &TenantId,
        id: MemoryId,
        patch: &MemoryPatch,
        at: Timestamp,
    ) -> Result<Memory> {
        self.inner.update_memory(tenant, id, patch, at).await
    }

    async fn move_memories(
        &self,
        tenant: &TenantId,
        from: &NamespaceKey,
        to: &NamespaceKey,
        ids: &[MemoryId],
        at: Timestamp,
    ) -> Result<Vec<MoveOutcome>> {
        let outcomes = self.inner.move_memories(tenant, from, to, ids, at).await?;
        if self.fault == Fault::MoveDropsDuplicates {
            for o in &outcomes {
                if let MoveOutcome::Merged { id, .. } = o {
                    self.inner.delete_memory(tenant, *id, at).await?;
                }
            }
        }
        Ok(outcomes)
    }

    async fn delete_memory(&self, tenant: &TenantId, id: MemoryId, at: Timestamp) -> Result<bool> {
        let changed = self.inner.delete_memory(tenant, id, at).await?;
        Ok(changed || self.fault == Fault::DeletesTwice)
    }

    async fn purge(&self, tenant: &TenantId, before: Timestamp) -> Result<PurgeReport> {
        self.inner.purge(tenant, before).await
    }

    async fn changes_since(&self, tenant: &TenantId, after_seq: u64, limit: usize) -> Result<Vec<Memory>> {
        self.inner.changes_since(tenant, after_seq, limit).await
    }

    async fn taken_memory_ids(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<MemoryId>> {
        match self.fault {
            Fault::TakenCountsOtherTenants => self.taken_anywhere(ids).await,
            _ => self.inner.taken_memory_ids(tenant, ids).await,
        }
    }

    async fn last_seq(&self) -> Result<u64> {
        let seq = self.inner.last_seq().await?;
        Ok(if self.fault == Fault::LastSeqLags { seq.saturating_sub(1) } else { seq })
    }

    async fn store_id(&self) -> Result<StoreId> {
        self.inner.store_id().await
    }

    async fn record_outcomes(
        &self,
        tenant: &TenantId,
        ids: &[MemoryId],
        outcome: Outcome,
        at: Timestamp,
    ) -> Result<()> {
        let at = if self.fault == Fault::IgnoresOutcomeTime { Timestamp::MIN } else { at };
        self.inner.record_outcomes(tenant, ids, outcome, at).await
    }

    async fn record_access(&self, tenant: &TenantId, ids: &[MemoryId], at: Timestamp) -> Result<u64> {
        let updated = self.inner.record_access(tenant, ids, at).await?;
        Ok(if self.fault == Fault::CountsMissingAccesses { ids.len() as u64 } else { updated })
    }

    async fn append_audit(&self, record: AuditRecord) -> Result<()> {
        self.inner.append_audit(record).await
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>> {
        self.inner.list_audit(tenant, filter, page).await
    }

    async fn create_api_key(&self, key: ApiKey) -> Result<()> {
        self.inner.create_api_key(key).await
    }

    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>> {
        self.inner.find_api_key(hash).await
    }

    async fn get_api_key(&self, tenant: &TenantId, id: ApiKeyId) -> Result<Option<ApiKey>> {
        self.inner.get_api_key(tenant, id).await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>> {
        self.inner.list_api_keys(tenant).await
    }

    async fn update_api_key_scopes(
        &self,
        tenant: &TenantId,
        id: ApiKeyId,
        scopes: Vec<KeyScope>,
        default_namespace: Option<NamespaceKey>,
        at: Timestamp,
    ) -> Result<ApiKey> {
        self.inner.update_api_key_scopes(tenant, id, scopes, default_namespace, at).await
    }

    async fn revoke_api_key(&self, tenant: &TenantId, id: ApiKeyId, at: Timestamp) -> Result<bool> {
        self.inner.revoke_api_key(tenant, id, at).await
    }

    async fn create_proposal(&self, proposal: Proposal) -> Result<()> {
        self.inner.create_proposal(proposal).await
    }

    async fn get_proposal(&self, tenant: &TenantId, id: ProposalId) -> Result<Option<Proposal>> {
        self.inner.get_proposal(tenant, id).await
    }

    async fn list_proposals(
        &self,
        tenant: &TenantId,
        filter: &ProposalFilter,
        page: &PageRequest,
    ) -> Result<Page<Proposal>> {
        self.inner.list_proposals(tenant, filter, page).await
    }

    async fn decide_proposal(
        &self,
        tenant: &TenantId,
        id: ProposalId,
        decision: Decision,
        by: Principal,
        at: Timestamp,
    ) -> Result<Proposal> {
        self.inner.decide_proposal(tenant, id, decision, by, at).await
    }

    async fn link_entities(
        &self,
        tenant: &TenantId,
        namespace: &NamespaceKey,
        links: &[EntityLink],
        at: Timestamp,
    ) -> Result<Vec<Entity>> {
        if self.fault == Fault::LinkSkipsMemoryCheck {
            let mut kept = Vec::new();
            for link in links {
                let home = self.inner.get_memory(tenant, link.memory).await?.map(|m| m.namespace);
                if home.as_ref() == Some(namespace) {
                    kept.push(link.clone());
                }
            }
            return self.inner.link_entities(tenant, namespace, &kept, at).await;
        }
        self.inner.link_entities(tenant, namespace, links, at).await
    }

    async fn get_entity(&self, tenant: &TenantId, id: EntityId) -> Result<Option<Entity>> {
        self.inner.get_entity(tenant, id).await
    }

    async fn list_entities(
        &self,
        tenant: &TenantId,
        filter: &EntityFilter,
        page: &PageRequest,
    ) -> Result<Page<Entity>> {
        self.inner.list_entities(tenant, filter, page).await
    }

    async fn entity_memories(&self, tenant: &TenantId, id: EntityId, page: &PageRequest) -> Result<Page<MemoryId>> {
        self.inner.entity_memories(tenant, id, page).await
    }

    async fn entities_of(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<(MemoryId, Entity)>> {
        self.inner.entities_of(tenant, ids).await
    }

    async fn try_lock_job(&self, lock: &JobLock) -> Result<bool> {
        if self.fault == Fault::LockIgnoresHolders && lock.validate().is_ok() {
            // Take the lock over as if the current lease had long ended; the call below then
            // renews it with the requested times.
            let later = lock.expires_at.plus_days(365 * 100);
            let takeover = JobLock { acquired_at: later, expires_at: later.plus_micros(1), ..lock.clone() };
            self.inner.try_lock_job(&takeover).await?;
        }
        self.inner.try_lock_job(lock).await
    }

    async fn unlock_job(&self, tenant: &TenantId, job: Job, namespace: &NamespaceKey, holder: &str) -> Result<bool> {
        self.inner.unlock_job(tenant, job, namespace, holder).await
    }

    async fn record_job_run(&self, run: &JobRun) -> Result<()> {
        self.inner.record_job_run(run).await
    }

    async fn list_job_runs(&self, tenant: &TenantId, namespace: Option<&NamespaceKey>) -> Result<Vec<JobRun>> {
        self.inner.list_job_runs(tenant, namespace).await
    }
}
