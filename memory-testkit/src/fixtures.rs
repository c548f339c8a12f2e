//! Fixtures shared by the conformance checks: fixed tenants, a fixed base time, builders of
//! valid records and small assertion helpers, so each check states only what it tests.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

use memory_core::{
    ApiKey, ApiKeyId, AuditId, AuditOp, AuditOutcome, AuditRecord, Category, Confidence, ErrorKind, Job, JobLock,
    JobRun, JobStatus, KeyHash, Layer, Memory, MemoryFilter, MemoryId, Namespace, NamespaceKey, NamespaceKind,
    NewMemory, Page, PageRequest, Principal, Proposal, ProposalId, ProposalStatus, PutOutcome, Result, Store, TenantId,
    Timestamp,
};
use uuid::Uuid;

/// 2026-01-01T00:00:00Z: every time in the checks is an offset from it, so results never
/// depend on the clock.
pub const BASE: Timestamp = Timestamp::from_micros(1_767_225_600_000_000);

/// [`BASE`] plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    BASE.plus_micros(secs * 1_000_000)
}

static NEXT_UUID: AtomicU64 = AtomicU64::new(0);

/// A UUIDv7 that is unique in the process and larger than every one made before it: its time
/// part counts up from [`BASE`]. Ids therefore sort in creation order inside a check, which
/// the paging checks rely on.
pub fn next_uuid() -> Uuid {
    let n = NEXT_UUID.fetch_add(1, Ordering::Relaxed);
    let millis = (BASE.as_micros() / 1000) as u64 + n;
    uuid::Builder::from_unix_timestamp_millis(millis, &[0; 10]).into_uuid()
}

/// A fresh memory id (see [`next_uuid`]).
pub fn memory_id() -> MemoryId {
    MemoryId::from_uuid(next_uuid())
}

/// A fresh audit record id.
pub fn audit_id() -> AuditId {
    AuditId::from_uuid(next_uuid())
}

/// A fresh API key id.
pub fn key_id() -> ApiKeyId {
    ApiKeyId::from_uuid(next_uuid())
}

/// A fresh proposal id.
pub fn proposal_id() -> ProposalId {
    ProposalId::from_uuid(next_uuid())
}

/// The tenant most checks work in.
pub fn tenant() -> TenantId {
    TenantId::new("tenant-a").expect("valid tenant")
}

/// A second tenant, for the isolation checks.
pub fn other_tenant() -> TenantId {
    TenantId::new("tenant-b").expect("valid tenant")
}

/// A principal.
pub fn principal(name: &str) -> Principal {
    Principal::new(name).expect("valid principal")
}

/// A namespace key; panics on an invalid one (fixtures only use valid keys).
pub fn ns(key: &str) -> NamespaceKey {
    NamespaceKey::new(key).expect("valid namespace key")
}

/// An active, explicit namespace record created at [`BASE`].
pub fn namespace(tenant: &TenantId, key: &str) -> Namespace {
    Namespace::new(tenant.clone(), ns(key), NamespaceKind::Explicit, BASE)
}

/// Creates [`namespace`]`(tenant, key)`, panicking if the store refuses.
pub async fn create_namespace(store: &dyn Store, tenant: &TenantId, key: &str) -> Namespace {
    let record = namespace(tenant, key);
    store.create_namespace(record.clone()).await.unwrap_or_else(|e| panic!("create namespace {key:?}: {e}"));
    record
}

/// A semantic memory for namespace `key`, created at [`BASE`], with a fresh id.
pub fn new_memory(key: &str, content: &str) -> NewMemory {
    NewMemory::new(ns(key), Layer::Semantic, content, BASE).with_id(memory_id())
}

/// [`new_memory`] created (and last updated) at `created_at`.
pub fn new_memory_at(key: &str, content: &str, created_at: Timestamp) -> NewMemory {
    NewMemory::new(ns(key), Layer::Semantic, content, created_at).with_id(memory_id())
}

/// The outcome of a put that stored a new memory under `id`.
pub fn created(id: MemoryId) -> PutOutcome {
    PutOutcome::Created { id }
}

/// The outcome of a duplicate put that only bumped the evidence of memory `id`.
pub fn existing(id: MemoryId) -> PutOutcome {
    PutOutcome::Existing { id, merged: memory_core::Merged::default() }
}

/// Puts one memory and returns its id, panicking unless it was newly created.
pub async fn put(store: &dyn Store, tenant: &TenantId, memory: NewMemory) -> MemoryId {
    let id = memory.id;
    let outcomes = store.put_memories(tenant, vec![memory]).await.unwrap_or_else(|e| panic!("put {id}: {e}"));
    assert_eq!(outcomes, vec![created(id)], "a fresh memory must be created under its own id");
    id
}

/// Puts one memory per content into namespace `key` and returns their ids in order.
pub async fn put_contents(store: &dyn Store, tenant: &TenantId, key: &str, contents: &[&str]) -> Vec<MemoryId> {
    let mut ids = Vec::with_capacity(contents.len());
    for content in contents {
        ids.push(put(store, tenant, new_memory(key, content)).await);
    }
    ids
}

/// The live memory `id`, panicking if the store does not return it.
pub async fn live(store: &dyn Store, tenant: &TenantId, id: MemoryId) -> Memory {
    store
        .get_memory(tenant, id)
        .await
        .unwrap_or_else(|e| panic!("get memory {id}: {e}"))
        .unwrap_or_else(|| panic!("memory {id} should be live"))
}

/// Every live memory passing `filter`, paging with `limit` and asserting that no page is
/// longer than `limit` and that only the last page lacks a cursor.
pub async fn list_all(store: &dyn Store, tenant: &TenantId, filter: &MemoryFilter, limit: usize) -> Vec<Memory> {
    collect_pages(limit, move |page| Box::pin(async move { store.list_memories(tenant, filter, &page).await })).await
}

/// The ids of [`list_all`] with the largest page.
pub async fn listed_ids(store: &dyn Store, tenant: &TenantId, filter: &MemoryFilter) -> Vec<MemoryId> {
    list_all(store, tenant, filter, memory_core::MAX_PAGE_LIMIT).await.into_iter().map(|m| m.id).collect()
}

/// One page being fetched. Paging helpers take a closure returning this rather than an async
/// closure, so the futures of the checks stay `Send` (they can be spawned).
pub type PageFuture<'a, T> = Pin<Box<dyn Future<Output = Result<Page<T>>> + Send + 'a>>;

/// Follows cursors from the first page to the last and returns all items, checking the page
/// shape on the way (at most `limit` items; a short page is the last one).
pub async fn collect_pages<'a, T>(limit: usize, mut fetch: impl FnMut(PageRequest) -> PageFuture<'a, T>) -> Vec<T> {
    let mut items = Vec::new();
    let mut request = PageRequest::first(limit);
    for _ in 0..100_000 {
        let page = fetch(request.clone()).await.unwrap_or_else(|e| panic!("list page {request:?}: {e}"));
        assert!(page.items.len() <= limit, "a page of limit {limit} held {} items", page.items.len());
        let short = page.items.len() < limit;
        items.extend(page.items);
        match page.next_cursor {
            Some(cursor) => {
                assert!(!short, "a page with fewer than {limit} items must be the last one (next_cursor None)");
                request = PageRequest::after(cursor, limit);
            }
            None => return items,
        }
    }
    panic!("paging with limit {limit} did not end after 100000 pages");
}

/// Every change of the tenant after `after_seq`, following the continuation rule with `limit`.
pub async fn all_changes(store: &dyn Store, tenant: &TenantId, after_seq: u64, limit: usize) -> Vec<Memory> {
    let mut out: Vec<Memory> = Vec::new();
    let mut after = after_seq;
    loop {
        let batch = store.changes_since(tenant, after, limit).await.unwrap_or_else(|e| panic!("changes_since: {e}"));
        assert!(batch.len() <= limit, "changes_since returned {} changes for limit {limit}", batch.len());
        let Some(last) = batch.last() else { return out };
        assert!(last.seq > after, "changes_since({after}) returned seq {} which is not after it", last.seq);
        after = last.seq;
        out.extend(batch);
    }
}

/// The highest `seq` among the tenant's memories (0 when none).
pub async fn latest_seq(store: &dyn Store, tenant: &TenantId) -> u64 {
    all_changes(store, tenant, 0, memory_core::MAX_PAGE_LIMIT).await.last().map_or(0, |m| m.seq)
}

/// An audit record of `operation` at [`BASE`], with a fresh id.
pub fn audit_record(tenant: &TenantId, operation: AuditOp) -> AuditRecord {
    AuditRecord {
        id: audit_id(),
        tenant: tenant.clone(),
        namespace: None,
        principal: Some(principal("alice")),
        key_id: None,
        operation,
        outcome: AuditOutcome::Ok,
        detail: Default::default(),
        at: BASE,
        origin: None,
    }
}

/// An unscoped, unrevoked API key for `secret`, created at [`BASE`], with a fresh id.
pub fn api_key(tenant: &TenantId, secret: &str) -> ApiKey {
    ApiKey {
        id: key_id(),
        tenant: tenant.clone(),
        principal: principal("alice"),
        label: format!("key for {secret}"),
        hash: KeyHash::of_secret(secret),
        scopes: Vec::new(),
        default_namespace: None,
        created_at: BASE,
        updated_at: BASE,
        revoked_at: None,
        admin: false,
    }
}

/// A pending proposal of `content` for namespace `key`, created at [`BASE`], with a fresh id.
pub fn proposal(tenant: &TenantId, key: &str, content: &str) -> Proposal {
    Proposal {
        id: proposal_id(),
        tenant: tenant.clone(),
        namespace: ns(key),
        layer: Layer::Identity,
        content: content.to_owned(),
        category: Category::fact(),
        confidence: Confidence::certain(),
        reason: "seen three times".to_owned(),
        source_memory_ids: Vec::new(),
        proposed_by: Some(principal("consolidator")),
        status: ProposalStatus::Pending,
        created_at: BASE,
        decided_at: None,
        decided_by: None,
        supersedes: Some(memory_core::MemoryId::new_v7()),
        metadata: memory_core::Metadata::from_iter([("slot".to_owned(), serde_json::json!("name"))]),
    }
}

/// A lock of `job` on namespace `key` held by `holder` from `at(from)` to `at(until)`.
pub fn job_lock(tenant: &TenantId, job: Job, key: &str, holder: &str, from: i64, until: i64) -> JobLock {
    JobLock {
        tenant: tenant.clone(),
        job,
        namespace: ns(key),
        holder: holder.to_owned(),
        acquired_at: at(from),
        expires_at: at(until),
    }
}

/// A run of `job` on namespace `key` that ran from `at(finished - 1)` to `at(finished)`,
/// deleting `finished` memories (so runs differ by their time).
pub fn job_run(tenant: &TenantId, job: Job, key: &str, finished: i64) -> JobRun {
    JobRun {
        tenant: tenant.clone(),
        job,
        namespace: ns(key),
        status: JobStatus::Ran,
        reason: None,
        counts: [("deleted".to_owned(), finished as u64)].into(),
        checkpoint: None,
        started_at: at(finished - 1),
        finished_at: at(finished),
    }
}

/// Asserts that `result` failed with `kind`; `what` names the call in the panic message.
#[track_caller]
pub fn expect_err<T: Debug>(result: Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Ok(value) => panic!("{what}: expected a {kind} error, got Ok({value:?})"),
        Err(e) if e.kind() == kind => {}
        Err(e) => panic!("{what}: expected a {kind} error, got {} ({e})", e.kind()),
    }
}

/// Runs `task(0..count)` on `count` OS threads at once, each with its own Tokio runtime, and
/// returns their results in order. The threads are real, so a backend's locking and
/// connection handling are exercised as in production; while they run, the calling worker
/// thread is handed over with `block_in_place` when the runtime allows it.
pub fn on_threads<F, Fut>(count: usize, task: F) -> Vec<Fut::Output>
where
    F: Fn(usize) -> Fut + Sync,
    Fut: Future,
    Fut::Output: Send,
{
    let run = || {
        std::thread::scope(|scope| {
            let task = &task;
            let handles: Vec<_> = (0..count)
                .map(|i| {
                    scope.spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .expect("a thread-local Tokio runtime");
                        runtime.block_on(task(i))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
        })
    };
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(run)
        }
        _ => run(),
    }
}
