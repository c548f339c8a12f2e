//! The [`Engine`]: store, index, embedder and the compiled policy behind one handle, plus the
//! pieces every operation shares: per-tenant state (index, catalog, pending vectors), scope
//! plans, visibility checks, audit and index catch-up.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use memory_consolidate::{Extractor, RuleExtractor};
use memory_core::{
    AuditDetail, AuditId, AuditOp, AuditOutcome, AuditRecord, Error, ErrorKind, MemoryId, Namespace, NamespaceKey,
    NamespaceKind, Result, Store, TenantId, Timestamp,
};
use memory_embed::Embedder;
use memory_index::{Checkpoint, IndexOptions, MemoryIndex, Opened};
use memory_policy::{
    NamespaceCatalog, Operation, PlanErrorCode, PlanRequest, Policy, ReadRequest, RecallSettings, ScopePlan,
};

use crate::caller::Caller;
use crate::catalog::Catalog;
use crate::clock::{Clock, SystemClock};
use crate::sync::{self, SyncReport};

/// What an engine is built from.
#[derive(Debug)]
pub struct EngineParts {
    /// The source of truth.
    pub store: Arc<dyn Store>,
    /// Embeds memories and queries.
    pub embedder: Arc<dyn Embedder>,
    /// The compiled access policy.
    pub policy: Policy,
    /// Recall tuning.
    pub recall: RecallSettings,
    /// Where each tenant's index lives (`<dir>/tenant-<hex>`); `None` keeps indexes in memory
    /// (rebuilt from the store on every start).
    pub index_dir: Option<PathBuf>,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// How long an operation waits for another process's lock on the index (its checkpoint,
    /// or a reindex) before it goes on without it or reports "busy".
    pub wait: Duration,
    /// What consolidation extracts with (default: the rule-based extractor).
    pub extractor: Arc<dyn Extractor>,
}

impl EngineParts {
    /// Parts with the default policy, recall settings and system clock, indexes in memory.
    pub fn new(store: Arc<dyn Store>, embedder: Arc<dyn Embedder>) -> Self {
        EngineParts {
            store,
            embedder,
            policy: Policy::new(Default::default()),
            recall: RecallSettings::default(),
            index_dir: None,
            clock: Arc::new(SystemClock),
            wait: DEFAULT_WAIT,
            extractor: Arc::new(RuleExtractor::new()),
        }
    }
}

/// Default [`EngineParts::wait`].
pub const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// A long-running process saves its index after a write once it has applied changes for
/// this long since the last save, or this many changes, so it never leaves much for other
/// processes to replay. Not more often: a save writes the changes into the text index a second
/// time and rewrites `vectors.bin` (an ingest of 20,000 memories ran at 9,700/s saving every
/// 10,000 changes, 15,600/s saving once at the end).
const CHECKPOINT_AGE: Duration = Duration::from_secs(60);
const CHECKPOINT_CHANGES: u64 = 100_000;

/// A process that exits with this many unsaved changes waits for the index lock (up to the
/// wait) rather than leave them for every later process to replay.
const LONG_TAIL: u64 = 10_000;

/// The memory engine: the API boundary the server and the CLI use. Cheap to clone; clones
/// share everything.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    pub embedder: Arc<dyn Embedder>,
    pub policy: Policy,
    pub recall: RecallSettings,
    index_dir: Option<PathBuf>,
    pub clock: Arc<dyn Clock>,
    wait: Duration,
    pub extractor: Arc<dyn Extractor>,
    tenants: Mutex<HashMap<TenantId, Arc<Tenant>>>,
    pub keys: crate::keys::KeyCache,
}

/// One open index's size (see [`Engine::index_sizes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSize {
    pub tenant: TenantId,
    /// Memories it holds.
    pub memories: usize,
    /// Changes applied but not saved to disk yet.
    pub unsaved: u64,
}

/// Everything the engine keeps per tenant. The index opens on first use by an operation that
/// needs it (recall, writes): operations that only read the store never touch it, so a broken
/// or busy index never stands in their way.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub id: TenantId,
    /// The tenant's `default` and `shared` namespaces exist.
    ready: tokio::sync::OnceCell<()>,
    index: tokio::sync::OnceCell<Arc<MemoryIndex>>,
    /// Serializes index catch-up so the checkpoint only moves forward.
    sync: tokio::sync::Mutex<()>,
    /// A clock of catch-ups: a caller takes a tick when it needs the index to hold what the
    /// store held at that moment, a catch-up takes one when it starts reading the store.
    catch_up_ticks: AtomicU64,
    /// The start tick of the latest catch-up that finished: it covers every write acknowledged
    /// before that tick, so a writer whose tick is older need not read the store again (many
    /// concurrent writers share one catch-up instead of queueing a read each).
    caught_up_from: AtomicU64,
    /// The store's change-signal generation read before the latest catch-up by a reader
    /// (`u64::MAX`: none yet); while the signal still shows it, readers skip the change feed.
    caught_up_generation: AtomicU64,
    /// Vectors of memories this engine is writing, keyed by id, so catch-up does not embed
    /// them again; `None` marks a memory whose embedding failed (indexed for text only).
    pub(crate) pending: Mutex<HashMap<MemoryId, Option<Vec<f32>>>>,
    catalog: RwLock<Option<Arc<Catalog>>>,
    /// What went wrong with the index on disk when it was opened or saved (it was discarded
    /// and rebuilt, a checkpoint failed), for `namespaces verify` and the operator.
    index_notes: Mutex<Vec<String>>,
    /// Notes not yet handed out by [`Engine::take_notices`].
    notices: Mutex<Vec<String>>,
    /// When the index was opened or last saved.
    saved_at: Mutex<std::time::Instant>,
}

impl Tenant {
    /// Records an index note for verify and the operator.
    pub(crate) fn note(&self, note: String) {
        self.index_notes.lock().expect("index notes").push(note.clone());
        self.notices.lock().expect("notices").push(note);
    }
}

impl Engine {
    /// Builds an engine. Indexes open lazily, per tenant, on first use.
    pub fn new(parts: EngineParts) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                store: parts.store,
                embedder: parts.embedder,
                policy: parts.policy,
                recall: parts.recall,
                index_dir: parts.index_dir,
                clock: parts.clock,
                wait: parts.wait,
                extractor: parts.extractor,
                tenants: Mutex::new(HashMap::new()),
                keys: Default::default(),
            }),
        }
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The compiled policy.
    pub fn policy(&self) -> &Policy {
        &self.inner.policy
    }

    /// The embedder.
    pub fn embedder(&self) -> &Arc<dyn Embedder> {
        &self.inner.embedder
    }

    /// Now, by the engine's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// The lease of a maintenance lock in microseconds: after it, a worker that stopped
    /// renewing (crashed) loses the lock to the next one (`lock_stale_ms` of the configuration).
    pub(crate) fn maintenance_lease(&self) -> i64 {
        let ms = self.inner.policy.config().maintenance.lock_stale_ms.max(1);
        i64::try_from(ms).unwrap_or(i64::MAX / 1000).saturating_mul(1000)
    }

    /// Opens a tenant: creates its `default` and `shared` namespaces when missing, opens its
    /// index and catches it up with the store. Operations do this on first use; calling it
    /// early moves the cost to startup.
    pub async fn open_tenant(&self, tenant: &TenantId) -> Result<SyncReport> {
        let t = self.tenant(tenant).await?;
        let index = self.index(&t).await?;
        let report = self.catch_up(&t).await?;
        Ok(SyncReport { applied_seq: index.applied_seq(), ..report })
    }

    /// What an operator should know that happened since the last call: an index that could
    /// not be used and was rebuilt from the store, a checkpoint that failed. Front ends show
    /// them as warnings.
    pub fn take_notices(&self) -> Vec<String> {
        let tenants: Vec<Arc<Tenant>> = self.inner.tenants.lock().expect("tenants").values().cloned().collect();
        tenants.iter().flat_map(|t| std::mem::take(&mut *t.notices.lock().expect("notices"))).collect()
    }

    /// The tenant's state, with its `default` and `shared` namespaces in place. The map lock is
    /// held only to find or insert the entry, so one tenant's first use never waits for
    /// another's.
    pub(crate) async fn tenant(&self, id: &TenantId) -> Result<Arc<Tenant>> {
        let t = {
            let mut tenants = self.inner.tenants.lock().expect("tenants");
            tenants
                .entry(id.clone())
                .or_insert_with(|| {
                    Arc::new(Tenant {
                        id: id.clone(),
                        ready: tokio::sync::OnceCell::new(),
                        index: tokio::sync::OnceCell::new(),
                        sync: tokio::sync::Mutex::new(()),
                        catch_up_ticks: AtomicU64::new(1),
                        caught_up_from: AtomicU64::new(0),
                        caught_up_generation: AtomicU64::new(u64::MAX),
                        pending: Mutex::new(HashMap::new()),
                        catalog: RwLock::new(None),
                        index_notes: Mutex::new(Vec::new()),
                        notices: Mutex::new(Vec::new()),
                        saved_at: Mutex::new(std::time::Instant::now()),
                    })
                })
                .clone()
        };
        t.ready.get_or_try_init(|| self.create_base_namespaces(id)).await?;
        Ok(t)
    }

    /// Creates the tenant's `default` and `shared` namespaces unless they exist (read first:
    /// most starts find them, and a read never queues behind other processes' writes).
    async fn create_base_namespaces(&self, id: &TenantId) -> Result<()> {
        let now = self.now();
        for (key, kind) in [
            (self.inner.policy.config().default_namespace.clone(), NamespaceKind::Default),
            (self.inner.policy.config().shared_namespace.clone(), NamespaceKind::Shared),
        ] {
            if self.inner.store.get_namespace(id, &key).await?.is_some() {
                continue;
            }
            match self.inner.store.create_namespace(Namespace::new(id.clone(), key, kind, now)).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The tenant's index, opened (and caught up with the store) on first use.
    pub(crate) async fn index(&self, t: &Tenant) -> Result<Arc<MemoryIndex>> {
        t.index.get_or_try_init(|| async { self.open_index(t, false, &mut |_| {}).await }).await.cloned()
    }

    /// Opens the tenant's index (`recreate`: ignoring what is on disk) and catches it up. An
    /// index on disk that belongs to another store, or that has seen more changes than the
    /// store holds (the store was replaced or restored from an older copy), is not trusted: the
    /// view starts empty and is rebuilt from the store, with a note saying why.
    async fn open_index(
        &self,
        t: &Tenant,
        recreate: bool,
        progress: &mut (dyn FnMut(SyncReport) + Send),
    ) -> Result<Arc<MemoryIndex>> {
        let store = &self.inner.store;
        let store_id = store.store_id().await?;
        let dir = self.inner.index_dir.as_ref().map(|d| d.join(t.id.path_token()));
        let mut options = IndexOptions::new(dir, self.inner.embedder.dimension(), self.inner.embedder.model_id());
        options.store_id = Some(store_id.to_string());
        options.lock_wait = self.inner.wait;
        options.recreate = recreate;
        let index = Arc::new(sync::blocking_value("open", move || MemoryIndex::open(options)).await?);
        match index.opened() {
            Opened::Discarded { reason } if !recreate => {
                t.note(format!("the index on disk could not be used ({reason}); it is rebuilt from the store"));
            }
            _ => {}
        }
        // Read after the index: another process may checkpoint a newer state meanwhile, but
        // never one newer than the store it read.
        let last_seq = store.last_seq().await?;
        if index.applied_seq() > last_seq {
            t.note(format!(
                "the index on disk has seen change {} but the store ends at {last_seq} (the database was replaced or \
                 restored from an older copy); it is rebuilt from the store",
                index.applied_seq()
            ));
            index.clear()?;
        }
        let _guard = t.sync.lock().await;
        self.catch_up_locked(t, &index, progress).await?;
        Ok(index)
    }

    /// Opens the tenant's index (when it can) before an operation changes the store: opening
    /// compares the index with the store, and a store restored from an older copy must be
    /// noticed before new writes take the sequence numbers the index has already seen. A
    /// failure here is not the operation's: it degrades to a warning at catch-up.
    pub(crate) async fn index_before_writing(&self, t: &Tenant) {
        let _ = self.index(t).await;
    }

    /// Applies every store change the tenant's index has not seen, using the vectors of
    /// memories this engine just wrote.
    pub(crate) async fn catch_up(&self, t: &Tenant) -> Result<SyncReport> {
        let index = self.index(t).await?;
        let tick = t.catch_up_ticks.fetch_add(1, Ordering::SeqCst);
        let _guard = t.sync.lock().await;
        if t.caught_up_from.load(Ordering::SeqCst) > tick {
            // A catch-up that started after this call did already finished.
            return Ok(SyncReport { applied_seq: index.applied_seq(), ..SyncReport::default() });
        }
        self.catch_up_locked(t, &index, &mut |_| {}).await
    }

    /// [`Engine::catch_up`] unless another task is catching up right now (then its result is
    /// good enough for a read: it sees at least what the store held when it started), or the
    /// store's change signal says nothing changed elsewhere since the last catch-up (this
    /// engine's own writes catch up before they return, so only other processes' count).
    pub(crate) async fn catch_up_unless_busy(&self, t: &Tenant) -> Result<Arc<MemoryIndex>> {
        let index = self.index(t).await?;
        // Read before catching up: a change that lands meanwhile moves it again.
        let generation = self.inner.store.change_signal().and_then(|s| s.generation());
        if generation.is_some_and(|g| t.caught_up_generation.load(Ordering::SeqCst) == g) {
            return Ok(index);
        }
        if let Ok(_guard) = t.sync.try_lock() {
            self.catch_up_locked(t, &index, &mut |_| {}).await?;
            if let Some(g) = generation {
                t.caught_up_generation.store(g, Ordering::SeqCst);
            }
        }
        Ok(index)
    }

    /// Catch-up; the caller holds `t.sync`.
    async fn catch_up_locked(
        &self,
        t: &Tenant,
        index: &Arc<MemoryIndex>,
        progress: &mut (dyn FnMut(SyncReport) + Send),
    ) -> Result<SyncReport> {
        let start = t.catch_up_ticks.fetch_add(1, Ordering::SeqCst);
        let pending = &t.pending;
        let take = move |ids: &[MemoryId]| -> Vec<Option<Option<Vec<f32>>>> {
            let mut p = pending.lock().expect("pending vectors");
            ids.iter().map(|id| p.remove(id)).collect()
        };
        let embedder = self.inner.embedder.clone();
        let report =
            sync::catch_up_with(self.inner.store.as_ref(), &t.id, embedder, index.clone(), &take, progress).await?;
        t.caught_up_from.fetch_max(start, Ordering::SeqCst);
        Ok(report)
    }

    /// Saves the tenant's index to disk when its lock can be had within `wait`: catches up
    /// under the lock (so the saved state only moves forward), then checkpoints. `Ok(None)`
    /// when another process holds the lock, or the index is not open or in memory.
    pub(crate) async fn checkpoint(&self, t: &Tenant, wait: Duration) -> Result<Option<Checkpoint>> {
        let Some(index) = t.index.get().cloned() else { return Ok(None) };
        if !index.is_persistent() {
            return Ok(None);
        }
        // Nothing to save (a process that only read): no need to take the lock at all. Other
        // processes' unsaved writes are theirs to save, or the next opener's to replay.
        if index.is_saved() {
            return Ok(Some(Checkpoint::UpToDate));
        }
        // The slow parts first, without the lock (other processes may need it to open the
        // index): pending graph builds, and catching up with what the store holds now.
        let idx = index.clone();
        sync::blocking_value("graphs", move || {
            idx.wait_for_graphs();
            Ok(())
        })
        .await?;
        self.catch_up(t).await?;
        let idx = index.clone();
        let Some(lock) = sync::blocking_value("lock", move || idx.lock_for_checkpoint(wait)).await? else {
            return Ok(None);
        };
        // Under the lock, only what was written meanwhile: the saved state only moves forward.
        let _guard = t.sync.lock().await;
        self.catch_up_locked(t, &index, &mut |_| {}).await?;
        let idx = index.clone();
        let done = sync::blocking_value("checkpoint", move || idx.checkpoint(&lock)).await?;
        match &done {
            Checkpoint::Skipped { reason } => {
                t.note(format!("the index was not saved: {reason}; the next start rebuilds it"))
            }
            Checkpoint::Saved { .. } | Checkpoint::UpToDate => {
                *t.saved_at.lock().expect("saved_at") = std::time::Instant::now();
            }
        }
        Ok(Some(done))
    }

    /// After a write: saves the index when this process has held unsaved changes for a while,
    /// or many of them ([`CHECKPOINT_AGE`], [`CHECKPOINT_CHANGES`]), and nobody else is saving
    /// right now. A failure is only a note: the store holds every acknowledged write.
    pub(crate) async fn checkpoint_if_due(&self, t: &Tenant) {
        let unsaved = t.index.get().map_or(0, |i| i.unsaved());
        let old = t.saved_at.lock().expect("saved_at").elapsed() >= CHECKPOINT_AGE;
        if (unsaved >= CHECKPOINT_CHANGES || unsaved > 0 && old)
            && let Err(e) = self.checkpoint(t, Duration::ZERO).await
        {
            t.note(format!("the index could not be saved ({e}); other processes replay the changes"));
        }
    }

    /// Empties the tenant's index and rebuilds it from the store, whatever was on disk
    /// (`memory reindex`), then saves it; `Unavailable` when another process holds the index
    /// lock for longer than the wait.
    pub async fn reindex(
        &self,
        tenant: &TenantId,
        progress: &mut (dyn FnMut(SyncReport) + Send),
    ) -> Result<SyncReport> {
        let t = self.tenant(tenant).await?;
        let mut opened = false;
        let mut last = SyncReport::default();
        let index = t
            .index
            .get_or_try_init(|| {
                opened = true;
                let (t, last, progress) = (&t, &mut last, &mut *progress);
                async move {
                    let mut track = |r: SyncReport| {
                        *last = r;
                        progress(r);
                    };
                    self.open_index(t, true, &mut track).await
                }
            })
            .await?
            .clone();
        let report = if opened {
            SyncReport { applied_seq: index.applied_seq(), ..last }
        } else {
            let _guard = t.sync.lock().await;
            let idx = index.clone();
            sync::blocking_value("clear", move || idx.clear()).await?;
            self.catch_up_locked(&t, &index, progress).await?
        };
        match self.checkpoint(&t, self.inner.wait).await? {
            _ if !index.is_persistent() => Ok(report),
            Some(Checkpoint::Saved { .. } | Checkpoint::UpToDate) => Ok(report),
            Some(Checkpoint::Skipped { reason }) => {
                Err(Error::internal(format!("the rebuilt index was not saved: {reason}")))
            }
            None => Err(Error::unavailable(format!(
                "the index is busy: another process kept it locked for more than {} s; the store is unchanged, try again",
                self.inner.wait.as_secs_f64()
            ))),
        }
    }

    /// Saves every open index whose lock is free right now (another process saving it means
    /// it will not be lost). Call before a process exits. The store needs no flushing: every
    /// write was durable when acknowledged, and whatever no checkpoint saved, the next process
    /// replays from the store. Failures become notices ([`Engine::take_notices`]).
    pub async fn flush(&self) -> Result<()> {
        let tenants: Vec<Arc<Tenant>> = self.inner.tenants.lock().expect("tenants").values().cloned().collect();
        for t in tenants {
            // A long tail is worth waiting for: otherwise every later process replays it.
            let wait =
                if t.index.get().is_some_and(|i| i.unsaved() >= LONG_TAIL) { self.inner.wait } else { Duration::ZERO };
            if let Err(e) = self.checkpoint(&t, wait).await {
                t.note(format!("the index could not be saved ({e}); the next command replays the changes"));
            }
        }
        Ok(())
    }

    /// Memories in the tenant's index (for `namespaces verify` and tests).
    pub async fn indexed_count(&self, tenant: &TenantId, namespace: &NamespaceKey) -> Result<usize> {
        let t = self.tenant(tenant).await?;
        Ok(self.catch_up_unless_busy(&t).await?.namespace_len(namespace))
    }

    /// The size of every index this engine has open (tenants not used yet are not opened for
    /// it), by tenant, for metrics.
    pub fn index_sizes(&self) -> Vec<IndexSize> {
        let tenants: Vec<Arc<Tenant>> = self.inner.tenants.lock().expect("tenants").values().cloned().collect();
        let mut sizes: Vec<IndexSize> = tenants
            .iter()
            .filter_map(|t| {
                let index = t.index.get()?;
                Some(IndexSize { tenant: t.id.clone(), memories: index.len(), unsaved: index.unsaved() })
            })
            .collect();
        sizes.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        sizes
    }

    /// The tenant's index notes (see `Tenant::index_notes`).
    pub(crate) fn index_notes(&self, t: &Tenant) -> Vec<String> {
        t.index_notes.lock().expect("index notes").clone()
    }

    // ---- plans and visibility -----------------------------------------------------------------

    /// The tenant's namespaces as the resolver sees them: the cached snapshot while the
    /// store's catalog version says nothing changed since (in any process), else a new one.
    pub(crate) async fn catalog(&self, t: &Tenant) -> Result<Arc<Catalog>> {
        let version = self.inner.store.namespace_version(&t.id).await?;
        if let Some(c) = t.catalog.read().expect("catalog lock").as_ref().filter(|c| c.version == version) {
            return Ok(c.clone());
        }
        let c = Arc::new(Catalog::load(self.inner.store.as_ref(), &t.id, &self.inner.policy, version).await?);
        *t.catalog.write().expect("catalog lock") = Some(c.clone());
        Ok(c)
    }

    /// The scope plan of `caller` for this read and write request.
    pub(crate) fn plan(
        &self,
        caller: &Caller,
        catalog: &dyn NamespaceCatalog,
        read: ReadRequest,
        write: Option<String>,
        include_sensitive: bool,
    ) -> ScopePlan {
        let request = PlanRequest {
            caller: caller.identity.clone(),
            project: caller.project.clone(),
            read,
            write,
            include_sensitive,
        };
        self.inner.policy.plan(&request, catalog)
    }

    /// The caller's scope plan for a recall of `namespaces` (raw; empty is the default read set,
    /// `["*"]` every readable namespace) and a write into `write` (or the write default), with
    /// the reason of every decision: what `memory inspect` and `GET /v1/plan` show. Refusals
    /// are part of the plan (`error`, `write_refusal`), not an error of this call.
    pub async fn inspect(
        &self,
        caller: &Caller,
        namespaces: &[String],
        write: Option<String>,
        include_sensitive: bool,
    ) -> Result<ScopePlan> {
        let t = self.tenant(&caller.tenant).await?;
        let catalog = self.catalog(&t).await?;
        let read = ReadRequest::from_raw(namespaces);
        Ok(self.plan(caller, catalog.as_ref(), read, write, include_sensitive))
    }

    /// What `caller` may see and change, from the plan of `*` with sensitive namespaces
    /// (every readable namespace): restricted ones are readable too, but only where a request
    /// names them (one memory of them, or the namespace itself), never in a listing of all.
    pub(crate) async fn visibility(&self, caller: &Caller, t: &Tenant) -> Result<Visibility> {
        let catalog = self.catalog(t).await?;
        let plan = self.plan(caller, catalog.as_ref(), ReadRequest::All, None, true);
        if let Some(e) = &plan.error {
            let err = plan_error(e.code, &e.message);
            self.audit_denied(caller, None, AuditOp::Access, &err).await;
            return Err(err);
        }
        let mut writable: HashSet<NamespaceKey> =
            plan.layers.iter().filter(|l| l.writable).filter_map(|l| l.namespace.clone()).collect();
        writable.extend(plan.write.clone());
        let mut readable: HashSet<NamespaceKey> = plan.read.iter().cloned().collect();
        readable.extend(plan.readable_when_named.iter().cloned());
        Ok(Visibility { readable, read_order: plan.read, writable, catalog })
    }

    /// Whether `caller` may change memories of `ns` (a readable namespace): a writable layer of
    /// its plan, or the policies allow an explicit write.
    pub(crate) fn may_write(&self, caller: &Caller, vis: &Visibility, ns: &NamespaceKey) -> bool {
        vis.readable.contains(ns)
            && (vis.writable.contains(ns)
                || self.inner.policy.can(&caller.identity, Operation::Write, ns.as_str(), vis.catalog.as_ref()).allowed)
    }

    /// Records a read of a restricted namespace (seeds/004: every read of one is audited).
    pub(crate) async fn audit_restricted_read(
        &self,
        caller: &Caller,
        catalog: &Catalog,
        namespaces: &[&NamespaceKey],
        operation: AuditOp,
        detail: serde_json::Value,
    ) -> Result<()> {
        for ns in namespaces.iter().filter(|ns| catalog.is_restricted(ns)) {
            self.audit(caller, Some(ns), operation, AuditOutcome::Ok, detail.clone()).await?;
        }
        Ok(())
    }

    // ---- audit ---------------------------------------------------------------------------------

    /// Appends an audit record. Operations return a failure to append, even after their own
    /// write succeeded: retrying is safe, since writes deduplicate by content.
    pub(crate) async fn audit(
        &self,
        caller: &Caller,
        namespace: Option<&NamespaceKey>,
        operation: AuditOp,
        outcome: AuditOutcome,
        detail: serde_json::Value,
    ) -> Result<()> {
        self.audit_with_id(caller, AuditId::new_v7(), namespace, operation, outcome, detail).await
    }

    /// [`Engine::audit`] under an id chosen beforehand (records that others refer to).
    pub(crate) async fn audit_with_id(
        &self,
        caller: &Caller,
        id: AuditId,
        namespace: Option<&NamespaceKey>,
        operation: AuditOp,
        outcome: AuditOutcome,
        detail: serde_json::Value,
    ) -> Result<()> {
        let principal = self.principal_of(caller);
        let record = AuditRecord {
            id,
            tenant: caller.tenant.clone(),
            namespace: namespace.cloned(),
            principal,
            key_id: caller.key_id(),
            operation,
            outcome,
            detail: audit_detail(detail),
            at: self.now(),
            origin: None,
        };
        self.inner.store.append_audit(record).await
    }

    /// Records a refusal (best effort: the refusal itself is what the caller must see).
    pub(crate) async fn audit_denied(
        &self,
        caller: &Caller,
        ns: Option<&NamespaceKey>,
        operation: AuditOp,
        err: &Error,
    ) {
        if matches!(err.kind(), ErrorKind::Forbidden | ErrorKind::NotFound | ErrorKind::Unauthenticated) {
            let _ = self.audit(caller, ns, operation, AuditOutcome::Denied, error_detail(err)).await;
        }
    }

    /// The principal a caller resolves to, for audit and provenance.
    pub(crate) fn principal_of(&self, caller: &Caller) -> Option<memory_core::Principal> {
        self.inner.policy.resolve_principal(&caller.identity).principal
    }
}

/// What one caller may see and change.
#[derive(Debug, Clone)]
pub(crate) struct Visibility {
    /// Readable namespaces in read order.
    pub read_order: Vec<NamespaceKey>,
    pub readable: HashSet<NamespaceKey>,
    /// Namespaces that are writable layers of the caller's plan.
    pub writable: HashSet<NamespaceKey>,
    /// The catalog the plan was made with.
    pub catalog: Arc<Catalog>,
}

/// The audit detail of a refused or failed operation: why, and its error kind.
pub(crate) fn error_detail(e: &Error) -> serde_json::Value {
    serde_json::json!({ "reason": e.message(), "status": e.kind().to_string() })
}

/// An audit detail from a JSON object (anything else is kept under `value`).
pub(crate) fn audit_detail(detail: serde_json::Value) -> AuditDetail {
    match detail {
        serde_json::Value::Object(map) => map.into_iter().collect(),
        serde_json::Value::Null => AuditDetail::new(),
        other => AuditDetail::from([("value".to_owned(), other)]),
    }
}

/// The classified error of a refused plan.
pub(crate) fn plan_error(code: PlanErrorCode, message: &str) -> Error {
    match code {
        PlanErrorCode::Forbidden => Error::forbidden(message),
        PlanErrorCode::NotFound => Error::not_found(message),
        PlanErrorCode::Unauthenticated => Error::new(ErrorKind::Unauthenticated, message),
        PlanErrorCode::Invalid => Error::invalid_input(message),
    }
}
