//! The `Store` trait: the persistence contract every backend implements and the conformance
//! suite in `memory-testkit` checks, one test per bullet below.
//!
//! # Contract shared by every method
//! - **Tenants never cross.** Every method takes the tenant; a record of another tenant behaves
//!   exactly like a missing one (`Ok(None)`, `NotFound`, or absent from a list).
//! - **Bad input changes nothing.** A method that returns `Err` has written nothing, including
//!   batches: a batch is validated as a whole and applied atomically. The one exception is an
//!   `Unavailable` error from a file-backed store whose database committed but whose event log
//!   could not be appended: the memories are stored, and retrying the same put is safe (it
//!   deduplicates to the stored ids).
//! - **The store keeps data, the engine decides visibility.** Archived namespaces refuse puts,
//!   but their memories stay readable, updatable and deletable here; hiding them from callers
//!   (SPEC 3: archived means no reads or writes) is the engine's job, as is every policy check.
//! - **Read your writes.** Once a write returns `Ok`, every later call on the same store (any
//!   handle, any task) sees it; for file-backed stores the write is durable (it survives the
//!   process being killed).
//! - **Times come from the caller.** Methods that stamp a time take `at`; a store never reads
//!   the clock, so results are reproducible. A stamped `updated_at` is `max(at, created_at)`,
//!   so a record never looks changed before it existed.
//! - **Which error wins.** Checks run in this order and the first failure is returned: input
//!   validation (`InvalidInput`), then existence (`NotFound`), then state (`AlreadyExists`,
//!   `Conflict`). `update_namespace` is the exception: it needs the namespace before it can
//!   validate the patched record, so `NotFound` comes first.
//! - **Ids are scoped by tenant.** A memory, audit record or proposal is keyed by (tenant, id):
//!   another tenant may hold a record with the same id, and creating one with an id taken in
//!   the *same* tenant is `AlreadyExists`. So no answer ever says that an id exists elsewhere
//!   (SPEC 1). API keys are the exception: a key is found by its secret's hash alone (the key
//!   names the tenant), so key ids and hashes are unique store-wide.
//! - **Input checks come first, and live once**: a method that takes input starts with the
//!   function of the same name in [`crate::checks`].
//! - **Change sequence.** Every insert, update or tombstone of a memory gives it the next value
//!   of one store-wide, strictly increasing sequence (`Memory::seq`), shared by all tenants and
//!   never reused. A batch numbers its new memories in input order; `delete_namespace` numbers
//!   the memories it tombstones in id order. Usage statistics (evidence, access, outcomes) do
//!   not advance it.
//! - **The change feed is commit-ordered.** A change becomes visible only after every change
//!   with a smaller `seq` is visible (or was rolled back): a reader that has seen `seq = n`
//!   never later finds a new change numbered `n` or less. (A sequence drawn outside the writing
//!   transaction, like a PostgreSQL `bigserial`, breaks this under concurrent writers: a
//!   transaction that drew a smaller number can commit after one that drew a larger.)
//! - **Pages** are ordered by id ascending (ids are UUIDv7, so roughly by creation time). A page
//!   holds at most `limit` items (1..=[`MAX_PAGE_LIMIT`], else `InvalidInput`); `next_cursor` is
//!   `Some` exactly when more items follow (no trailing empty page). Paging with the returned cursors visits every
//!   item that exists throughout the paging exactly once. A malformed cursor is `InvalidInput`.
//!   A cursor is the id of the last item returned, so `PageRequest::after(id)` resumes after
//!   any id (consolidation keeps its checkpoint that way).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::api_key::{ApiKey, KeyHash, KeyScope};
use crate::audit::{AuditFilter, AuditRecord};
use crate::entity::{Entity, EntityFilter, EntityLink};
use crate::error::{Error, Result};
use crate::ids::{ApiKeyId, EntityId, MemoryId, Principal, ProposalId, StoreId, TenantId};
use crate::maintenance::{Job, JobLock, JobRun};
use crate::memory::{Memory, MemoryFilter, MemoryPatch, MoveOutcome, NewMemory, Outcome, PutOutcome};
use crate::namespace::{Namespace, NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceTouch};
use crate::proposal::{Decision, Proposal, ProposalFilter};
use crate::timestamp::Timestamp;

/// Largest page a list call returns.
pub const MAX_PAGE_LIMIT: usize = 1000;

/// Where a page starts and how long it may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Cursor returned by the previous page; `None` starts at the beginning.
    pub cursor: Option<String>,
    /// Most items to return (1..=[`MAX_PAGE_LIMIT`]).
    pub limit: usize,
}

impl PageRequest {
    /// The first page of up to `limit` items.
    pub fn first(limit: usize) -> Self {
        PageRequest { cursor: None, limit }
    }

    /// The page after `cursor`.
    pub fn after(cursor: impl Into<String>, limit: usize) -> Self {
        PageRequest { cursor: Some(cursor.into()), limit }
    }

    /// Rejects a limit outside 1..=[`MAX_PAGE_LIMIT`].
    pub fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_PAGE_LIMIT {
            return Err(Error::invalid_input(format!("page limit {} is outside 1..={MAX_PAGE_LIMIT}", self.limit)));
        }
        Ok(())
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in id order.
    pub items: Vec<T>,
    /// Cursor of the next page; `None` when this is the last one.
    pub next_cursor: Option<String>,
}

/// What a purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeReport {
    /// Tombstoned memories removed for good.
    pub memories: u64,
    /// Deleted namespaces removed for good (their keys are free again).
    pub namespaces: u64,
}

/// What a backend offers beyond the contract every store keeps. The conformance suite picks
/// its checks from it, and the engine picks how it learns of other processes' writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// An acknowledged write survives the process being killed.
    pub durable: bool,
    /// Several processes may open the store at once and see each other's writes.
    pub shared: bool,
    /// [`Store::change_signal`] gives a signal that moves when another process writes, so an
    /// engine need not read the change feed before every recall.
    pub change_notification: bool,
    /// [`Store::try_lock_job`] excludes holders in other processes, not only other handles.
    pub cross_process_locks: bool,
}

/// A doorbell for changes made through other handles or processes (see
/// [`Store::change_signal`]). `generation` moves after such a change commits; while `live` is
/// false (the notification channel is down, or reconnecting), nothing can be concluded from
/// it and readers poll the change feed instead.
#[derive(Debug, Default)]
pub struct ChangeSignal {
    generation: std::sync::atomic::AtomicU64,
    live: std::sync::atomic::AtomicBool,
}

impl ChangeSignal {
    /// The current generation, or `None` while the channel is not live (poll instead).
    pub fn generation(&self) -> Option<u64> {
        use std::sync::atomic::Ordering::SeqCst;
        // Read the generation first: a change that lands between the two reads moves it
        // again, so the caller polls next time rather than missing it.
        let g = self.generation.load(SeqCst);
        self.live.load(SeqCst).then_some(g)
    }

    /// Something changed (a notification arrived).
    pub fn ring(&self) {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The channel is up (`true`, after it has caught up) or down (`false`). Any transition
    /// also rings: changes may have been missed while it was down.
    pub fn set_live(&self, live: bool) {
        self.ring();
        self.live.store(live, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Persistence of namespaces, memories, usage statistics, audit, API keys and proposals.
///
/// Every method is required (convenience belongs in extension traits), and every bullet in a
/// method's doc is checked by the conformance suite.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// What this backend offers (see [`Capabilities`]); the same on every call.
    fn capabilities(&self) -> Capabilities;

    /// With [`Capabilities::change_notification`], the signal that moves when any other
    /// handle or process commits a memory change or a catalog change; `None` otherwise.
    fn change_signal(&self) -> Option<std::sync::Arc<ChangeSignal>>;

    // ---- namespaces ------------------------------------------------------------------------

    /// Adds a namespace to the catalog, stored as given (an import may bring an archived one).
    /// - `AlreadyExists` when the tenant has a namespace with that key in any status (a deleted
    ///   key stays taken until [`Store::purge`] removes it).
    /// - `InvalidInput` when [`Namespace::validate`] fails.
    async fn create_namespace(&self, namespace: Namespace) -> Result<()>;

    /// The namespace with `key`, in any status; `Ok(None)` when there is none.
    async fn get_namespace(&self, tenant: &TenantId, key: &NamespaceKey) -> Result<Option<Namespace>>;

    /// The tenant's namespaces that pass `filter`, ordered by key (byte order). With no status
    /// in the filter, deleted namespaces are left out.
    async fn list_namespaces(&self, tenant: &TenantId, filter: &NamespaceFilter) -> Result<Vec<Namespace>>;

    /// Every tenant that has a namespace (in any status), ordered by id (byte order). A tenant
    /// comes into being with its first namespace (the engine creates `default` and `shared`).
    async fn list_tenants(&self) -> Result<Vec<TenantId>>;

    /// A number that grows whenever the tenant's catalog changes, through any handle of the
    /// store in any process: every successful `create_namespace`, `update_namespace`,
    /// `archive_namespace`, `restore_namespace` and `delete_namespace`, and a `purge` that
    /// removes namespaces. `0` before the tenant's first namespace. Touches and memory writes
    /// leave it alone. Engines cache what they know of namespaces (status, owner, access
    /// rules) against it, so a change made elsewhere counts on the next request.
    async fn namespace_version(&self, tenant: &TenantId) -> Result<u64>;

    /// Applies `patch` and stamps `updated_at`; returns the new record.
    /// - `NotFound` when the namespace is missing or deleted (archived ones can be edited).
    /// - `InvalidInput` when the result would not validate; nothing changes.
    async fn update_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        patch: &NamespacePatch,
        at: Timestamp,
    ) -> Result<Namespace>;

    /// Records a read or maintenance time without touching `updated_at`.
    /// - `NotFound` when the namespace is missing or deleted.
    async fn touch_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        touch: NamespaceTouch,
        at: Timestamp,
    ) -> Result<()>;

    /// Active -> archived, stamping `updated_at`. `Ok(true)` when it changed, `Ok(false)` when it was already archived.
    /// - `NotFound` when missing or deleted.
    /// - Memories stay stored; puts into an archived namespace fail with `NotFound`.
    async fn archive_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool>;

    /// Archived -> active, stamping `updated_at`. `Ok(true)` when it changed, `Ok(false)` when it was already active.
    /// - `NotFound` when missing or deleted.
    async fn restore_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool>;

    /// Marks the namespace deleted (stamping `updated_at`) and tombstones all its live memories at once (each gets a new
    /// `seq`). `Ok(true)` when it changed, `Ok(false)` when it was already deleted.
    /// - `NotFound` when missing.
    /// - The key stays taken until [`Store::purge`] removes the namespace.
    async fn delete_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool>;

    // ---- memories --------------------------------------------------------------------------

    /// Writes a batch atomically; returns one outcome per input, in input order.
    /// - Deduplication (SPEC 2): an input whose namespace, layer and content hash equal those of
    ///   a live, unsuperseded memory (or of an earlier input of the batch) is not stored; the
    ///   outcome is `Existing { id, merged }` for that memory, which absorbs the input as
    ///   [`Memory::absorb_duplicate`] says: evidence count +1, a later expiry, a higher
    ///   confidence and new or changed metadata values taken over and listed in `merged`. A
    ///   memory that took anything over gets a new `seq` and `updated_at`; one that only gained
    ///   evidence keeps its `seq`. The same content in another layer, or next to a superseded
    ///   memory, is a new memory.
    /// - A duplicate of another category is `Conflict`; one whose merged metadata would exceed
    ///   the limit is `InvalidInput`. Then nothing is written.
    /// - Otherwise the memory is stored under its id with `seq` from the change sequence,
    ///   content trimmed, `deleted_at = None`; the outcome is `Created { id }`. Memories that
    ///   take a new `seq` are numbered in order of their first appearance in the batch.
    /// - `InvalidInput` when any input fails [`NewMemory::validate`]; `NotFound` when a target
    ///   namespace is missing, archived or deleted; `AlreadyExists` when a new memory's id is
    ///   taken in this tenant (tombstoned or not) or repeated in the batch. Then nothing is written.
    /// - A namespace that receives new memories gets `last_write_at = max(last_write_at, their created_at)`.
    /// - Corrections apply in the same transaction: for an input with `supersedes: Some(old)`
    ///   whose outcome id differs from `old`, the live memory `old` of this tenant (if any;
    ///   a missing one is skipped) takes `superseded_by` = that id, as [`Store::update_memory`]
    ///   with the input's `updated_at` would (new `seq` after the batch's, `updated_at`),
    ///   unless it already has exactly that (an import of both keeps them as they were).
    /// - A created memory whose input carries an `embedding` stores it with the memory, in the
    ///   same transaction ([`Store::get_embeddings`] returns it); the embedding of an input
    ///   that deduplicates into an existing memory is ignored.
    /// - An empty batch is `Ok(vec![])`.
    async fn put_memories(&self, tenant: &TenantId, memories: Vec<NewMemory>) -> Result<Vec<PutOutcome>>;

    /// Per input, in order, the stored memory a put of it alone would deduplicate into: the
    /// live, unsuperseded one of its namespace and layer with the same content hash; `None`
    /// when there is none. Only namespace, layer and content of the inputs are looked at, and
    /// nothing is validated or written. (The engine reads it to give a repeated write the
    /// category and confidence it did not state, and to refuse one of another stated category
    /// before anything is written.)
    async fn find_duplicates(&self, tenant: &TenantId, inputs: &[NewMemory]) -> Result<Vec<Option<Memory>>>;

    /// Per id, in order, the vector stored for `model` with the live memory `id` of this
    /// tenant; `None` when the memory is missing or tombstoned, or has no vector of `model`.
    /// A memory whose content an update changed has no vectors (they described the old
    /// content); a move keeps them; a purge removes them with the memory.
    async fn get_embeddings(&self, tenant: &TenantId, model: &str, ids: &[MemoryId]) -> Result<Vec<Option<Vec<f32>>>>;

    /// The live memory with `id`; `Ok(None)` when missing, tombstoned or of another tenant.
    /// Superseded and expired memories are returned (callers decide what to show).
    async fn get_memory(&self, tenant: &TenantId, id: MemoryId) -> Result<Option<Memory>>;

    /// The live memories among `ids`, in the order of `ids`, each once; missing ones are skipped.
    async fn get_memories(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<Memory>>;

    /// A page of live memories passing `filter`, ordered by id (see the paging contract above).
    async fn list_memories(&self, tenant: &TenantId, filter: &MemoryFilter, page: &PageRequest)
    -> Result<Page<Memory>>;

    /// How many live memories pass `filter`.
    async fn count_memories(&self, tenant: &TenantId, filter: &MemoryFilter) -> Result<u64>;

    /// Applies `patch`, stamps `updated_at` and takes a new `seq`; returns the new record.
    /// - `NotFound` when missing or tombstoned.
    /// - `InvalidInput` when the patched memory would not validate.
    /// - `Conflict` when the patched memory, live and unsuperseded, would duplicate another
    ///   such memory (same namespace, layer and content hash).
    async fn update_memory(
        &self,
        tenant: &TenantId,
        id: MemoryId,
        patch: &MemoryPatch,
        at: Timestamp,
    ) -> Result<Memory>;

    /// Tombstones a memory: it is no longer returned by get or list, at once; it keeps its row
    /// (with `deleted_at = at` and a new `seq`) until purged, so change readers see the deletion.
    /// - `Ok(true)` when it was live, `Ok(false)` when it was already tombstoned.
    /// - `NotFound` when no memory has this id (or it was purged).
    async fn delete_memory(&self, tenant: &TenantId, id: MemoryId, at: Timestamp) -> Result<bool>;

    /// Moves the live memories `ids` (superseded ones too) of namespace `from` into namespace
    /// `to` of the same tenant, all or nothing: a namespace migration. Each keeps its id,
    /// content, links, statistics and `created_at`, and takes `to`, a new `seq` and
    /// `updated_at = max(updated_at, at)`. A live, unsuperseded memory whose layer and content
    /// hash equal those of a live, unsuperseded memory of `to` merges: that survivor absorbs it
    /// ([`Memory::absorb_memory`], new `seq`) and it moves in superseded by the survivor, so its
    /// id and history stay. One outcome per id, in order ([`crate::plan_move`] is the rule).
    /// - `NotFound` when `to` is missing, archived or deleted, or an id is not a live memory of
    ///   `from` in this tenant; `Conflict` when a duplicate has another category;
    ///   `InvalidInput` when `from == to`. Then nothing changes.
    async fn move_memories(
        &self,
        tenant: &TenantId,
        from: &NamespaceKey,
        to: &NamespaceKey,
        ids: &[MemoryId],
        at: Timestamp,
    ) -> Result<Vec<MoveOutcome>>;

    /// Removes for good every memory tombstoned at or before `before` (with its entity links),
    /// then every entity left without links, then every deleted namespace that has no memories
    /// left (its key becomes free; its entities and job records go with it).
    async fn purge(&self, tenant: &TenantId, before: Timestamp) -> Result<PurgeReport>;

    /// Memories (live and tombstoned) whose `seq` is greater than `after_seq`, in `seq` order,
    /// at most `limit` (1..=[`MAX_PAGE_LIMIT`], else `InvalidInput`). Each memory appears once, in its latest state;
    /// purged memories are gone. Continue from the last returned `seq`.
    async fn changes_since(&self, tenant: &TenantId, after_seq: u64, limit: usize) -> Result<Vec<Memory>>;

    /// The ids among `ids` that a memory of this tenant holds, live or tombstoned (these cannot
    /// be put), each once, in the order of `ids`. Other tenants' memories never count.
    async fn taken_memory_ids(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<MemoryId>>;

    /// The latest value of the change sequence (0 for a fresh store). It never goes down, even
    /// when a purge removes the memories that took the newest values.
    async fn last_seq(&self) -> Result<u64>;

    /// This store's identity: created with the store, the same on every call and after every
    /// reopen, different for every other store (derived state records it; see [`StoreId`]).
    async fn store_id(&self) -> Result<StoreId>;

    // ---- usage statistics ------------------------------------------------------------------

    /// Applies `outcome`, reported at `at`, to each live memory in `ids`: the memory's stats
    /// become what [`crate::UsageStats::apply_outcome`]`(outcome, at)` makes of them (utility
    /// decayed to `at`, then moved 20% toward the reward; `last_outcome_at` the later of its
    /// old value and `at`). An id listed twice is applied twice, in list order.
    /// - `InvalidInput` for a reward outside -1..=1 or an `at` outside the accepted years, then
    ///   `NotFound` when any id is missing or tombstoned. Then nothing changes.
    async fn record_outcomes(&self, tenant: &TenantId, ids: &[MemoryId], outcome: Outcome, at: Timestamp)
    -> Result<()>;

    /// Counts one access per listing of a live memory in `ids` (an id listed twice counts
    /// twice) and sets `last_accessed_at = at`. Best effort by design (a recalled memory may be
    /// deleted meanwhile): missing ids are skipped. Returns how many accesses were counted.
    async fn record_access(&self, tenant: &TenantId, ids: &[MemoryId], at: Timestamp) -> Result<u64>;

    // ---- audit ------------------------------------------------------------------------------

    /// Appends a record. `InvalidInput` when [`AuditRecord::validate`] fails; `AlreadyExists`
    /// when its id is taken in this tenant. Records are never
    /// changed or removed.
    async fn append_audit(&self, record: AuditRecord) -> Result<()>;

    /// A page of the tenant's audit records passing `filter`, ordered by id.
    async fn list_audit(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>>;

    // ---- API keys ---------------------------------------------------------------------------

    /// Stores a key as given. `AlreadyExists` when its id or hash is taken (any tenant);
    /// `InvalidInput` when [`ApiKey::validate`] fails.
    async fn create_api_key(&self, key: ApiKey) -> Result<()>;

    /// The unrevoked key with this hash, whatever its tenant (the key names the tenant);
    /// `Ok(None)` when there is none or it was revoked.
    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>>;

    /// The key with `id`, revoked or not; `Ok(None)` when missing.
    async fn get_api_key(&self, tenant: &TenantId, id: ApiKeyId) -> Result<Option<ApiKey>>;

    /// The tenant's keys, revoked ones included, ordered by id.
    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>>;

    /// Replaces a key's scopes and default namespace, stamps `updated_at`; returns the key.
    /// - `NotFound` when missing; `Conflict` when revoked; `InvalidInput` for scopes naming a
    ///   namespace twice.
    async fn update_api_key_scopes(
        &self,
        tenant: &TenantId,
        id: ApiKeyId,
        scopes: Vec<KeyScope>,
        default_namespace: Option<NamespaceKey>,
        at: Timestamp,
    ) -> Result<ApiKey>;

    /// Revokes a key. `Ok(true)` when it changed, `Ok(false)` when it was already revoked;
    /// `NotFound` when missing.
    async fn revoke_api_key(&self, tenant: &TenantId, id: ApiKeyId, at: Timestamp) -> Result<bool>;

    // ---- review queue -----------------------------------------------------------------------

    /// Queues a proposal. `AlreadyExists` when its id is taken in this tenant; `InvalidInput`
    /// when it is not pending and undecided or its content is empty ([`crate::checks::create_proposal`]).
    async fn create_proposal(&self, proposal: Proposal) -> Result<()>;

    /// The proposal with `id`; `Ok(None)` when missing.
    async fn get_proposal(&self, tenant: &TenantId, id: ProposalId) -> Result<Option<Proposal>>;

    /// A page of proposals passing `filter`, ordered by id.
    async fn list_proposals(
        &self,
        tenant: &TenantId,
        filter: &ProposalFilter,
        page: &PageRequest,
    ) -> Result<Page<Proposal>>;

    /// Records a decision on a pending proposal; returns it.
    /// - `NotFound` when missing; `Conflict` when already decided.
    async fn decide_proposal(
        &self,
        tenant: &TenantId,
        id: ProposalId,
        decision: Decision,
        by: Principal,
        at: Timestamp,
    ) -> Result<Proposal>;

    // ---- entities ---------------------------------------------------------------------------

    /// Links memories of `namespace` to named entities of that namespace, all or nothing. An
    /// entity is identified by (namespace, kind, [`Entity::key_of`] its name): the first link
    /// creates it (UUIDv7 id, the name as given, trimmed, `created_at = at`), later ones find
    /// it and stamp `updated_at = max(updated_at, at)`. Linking a memory to an entity it is
    /// already linked to changes nothing else. Returns the linked entities, each once, in
    /// order of first appearance in `links`, with `mentions` as stored after the call.
    /// - `InvalidInput` when a link fails [`EntityLink::validate`]; then `NotFound` when the
    ///   namespace is missing or deleted, or a memory is not a live memory of `namespace` in
    ///   this tenant (an entity never links memories of two namespaces). Then nothing changes.
    /// - An empty `links` is `Ok(vec![])`.
    async fn link_entities(
        &self,
        tenant: &TenantId,
        namespace: &NamespaceKey,
        links: &[EntityLink],
        at: Timestamp,
    ) -> Result<Vec<Entity>>;

    /// The entity with `id`; `Ok(None)` when missing or of another tenant. `mentions` counts
    /// the live memories linked to it (tombstoned ones stop counting at once).
    async fn get_entity(&self, tenant: &TenantId, id: EntityId) -> Result<Option<Entity>>;

    /// A page of the tenant's entities passing `filter`, ordered by id.
    async fn list_entities(&self, tenant: &TenantId, filter: &EntityFilter, page: &PageRequest)
    -> Result<Page<Entity>>;

    /// A page of the ids of the live memories linked to entity `id`, ordered by memory id.
    /// `NotFound` when the entity is missing or of another tenant.
    async fn entity_memories(&self, tenant: &TenantId, id: EntityId, page: &PageRequest) -> Result<Page<MemoryId>>;

    /// For the live memories among `ids`: each (memory, entity) link, ordered by the position
    /// of the memory in `ids`, then by entity id. Missing ids are skipped. (Recall reads it to
    /// favour memories that share an entity with the query.)
    async fn entities_of(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<(MemoryId, Entity)>>;

    // ---- maintenance ------------------------------------------------------------------------

    /// Takes or renews the lock of `lock.job` on `lock.namespace` (which need not exist: a
    /// purge runs on deleted namespaces), atomically across every handle and process sharing
    /// the store. `Ok(true)` when it was free, already held by `lock.holder` (renewed with the
    /// new times), or stale (its `expires_at <= lock.acquired_at`: taken over); `Ok(false)`,
    /// changing nothing, while another holder's lease runs. `InvalidInput` when
    /// [`JobLock::validate`] fails.
    async fn try_lock_job(&self, lock: &JobLock) -> Result<bool>;

    /// Releases the lock of `job` on `namespace` when `holder` holds it: `Ok(true)`. `Ok(false)`,
    /// changing nothing, when it is free or held by another holder (taken over after going stale).
    async fn unlock_job(&self, tenant: &TenantId, job: Job, namespace: &NamespaceKey, holder: &str) -> Result<bool>;

    /// Stores `run` as the latest record of its tenant, job and namespace (replacing the one
    /// before). `InvalidInput` when [`JobRun::validate`] fails.
    async fn record_job_run(&self, run: &JobRun) -> Result<()>;

    /// The latest run records of the tenant (of one namespace when given), ordered by namespace
    /// key (byte order), then job.
    async fn list_job_runs(&self, tenant: &TenantId, namespace: Option<&NamespaceKey>) -> Result<Vec<JobRun>>;
}
