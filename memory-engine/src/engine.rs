//! The [`Engine`]: store, index, embedder and the compiled policy behind one handle, plus the
//! pieces every operation shares: per-tenant state (index, catalog, pending vectors), scope
//! plans, visibility checks, audit and index catch-up.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use memory_core::{
    AuditId, AuditOutcome, AuditRecord, Error, ErrorKind, MemoryId, Namespace, NamespaceKey, NamespaceKind, Result,
    Store, TenantId, Timestamp,
};
use memory_embed::Embedder;
use memory_index::{IndexOptions, MemoryIndex};
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
        }
    }
}

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
    tenants: tokio::sync::Mutex<HashMap<TenantId, Arc<Tenant>>>,
}

/// Everything the engine keeps per tenant.
#[derive(Debug)]
pub(crate) struct Tenant {
    pub id: TenantId,
    pub index: Arc<MemoryIndex>,
    /// Serializes index catch-up so the checkpoint only moves forward.
    sync: tokio::sync::Mutex<()>,
    /// Vectors of memories this engine is writing, keyed by id, so catch-up does not embed
    /// them again; `None` marks a memory whose embedding failed (indexed for text only).
    pub(crate) pending: Mutex<HashMap<MemoryId, Option<Vec<f32>>>>,
    catalog: RwLock<Option<Arc<Catalog>>>,
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
                tenants: tokio::sync::Mutex::new(HashMap::new()),
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

    /// Opens a tenant: creates its `default` and `shared` namespaces when missing, opens its
    /// index and catches it up with the store. Every operation does this on first use; calling
    /// it early moves the cost to startup.
    pub async fn open_tenant(&self, tenant: &TenantId) -> Result<SyncReport> {
        let t = self.tenant(tenant).await?;
        self.catch_up_durably(&t, true).await
    }

    pub(crate) async fn tenant(&self, id: &TenantId) -> Result<Arc<Tenant>> {
        let mut tenants = self.inner.tenants.lock().await;
        if let Some(t) = tenants.get(id) {
            return Ok(t.clone());
        }
        let now = self.now();
        for (key, kind) in [
            (self.inner.policy.config().default_namespace.clone(), NamespaceKind::Default),
            (self.inner.policy.config().shared_namespace.clone(), NamespaceKind::Shared),
        ] {
            match self.inner.store.create_namespace(Namespace::new(id.clone(), key, kind, now)).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        let dir = self.inner.index_dir.as_ref().map(|d| d.join(id.path_token()));
        let options = IndexOptions::new(dir, self.inner.embedder.dimension(), self.inner.embedder.model_id());
        let index = sync::blocking_value("open", move || MemoryIndex::open(options)).await?;
        let t = Arc::new(Tenant {
            id: id.clone(),
            index: Arc::new(index),
            sync: tokio::sync::Mutex::new(()),
            pending: Mutex::new(HashMap::new()),
            catalog: RwLock::new(None),
        });
        self.catch_up_durably(&t, true).await?;
        tenants.insert(id.clone(), t.clone());
        Ok(t)
    }

    /// Applies every store change the tenant's index has not seen, using the vectors of
    /// memories this engine just wrote.
    pub(crate) async fn catch_up(&self, t: &Tenant) -> Result<SyncReport> {
        self.catch_up_durably(t, false).await
    }

    /// [`Engine::catch_up`], flushing the index at the end when `durable`.
    async fn catch_up_durably(&self, t: &Tenant, durable: bool) -> Result<SyncReport> {
        let _guard = t.sync.lock().await;
        let pending = &t.pending;
        let take = move |ids: &[MemoryId]| -> Vec<Option<Option<Vec<f32>>>> {
            let mut p = pending.lock().expect("pending vectors");
            ids.iter().map(|id| p.remove(id)).collect()
        };
        sync::catch_up_with(
            self.inner.store.as_ref(),
            &t.id,
            self.inner.embedder.clone(),
            t.index.clone(),
            &take,
            durable,
            &mut |_| {},
        )
        .await
    }

    /// Empties the tenant's index and rebuilds it from the store (`memory reindex`).
    pub async fn reindex(
        &self,
        tenant: &TenantId,
        progress: &mut (dyn FnMut(SyncReport) + Send),
    ) -> Result<SyncReport> {
        let t = self.tenant(tenant).await?;
        let _guard = t.sync.lock().await;
        sync::rebuild(self.inner.store.as_ref(), tenant, self.inner.embedder.clone(), t.index.clone(), progress).await
    }

    /// Makes every index durable (the store already is). Call before a process exits.
    pub async fn flush(&self) -> Result<()> {
        let tenants: Vec<Arc<Tenant>> = self.inner.tenants.lock().await.values().cloned().collect();
        for t in tenants {
            let index = t.index.clone();
            sync::blocking_value("flush", move || index.flush()).await?;
        }
        Ok(())
    }

    /// Memories in the tenant's index (for `namespaces verify` and tests).
    pub async fn indexed_count(&self, tenant: &TenantId, namespace: &NamespaceKey) -> Result<usize> {
        Ok(self.tenant(tenant).await?.index.namespace_len(namespace))
    }

    // ---- plans and visibility -----------------------------------------------------------------

    pub(crate) async fn catalog(&self, t: &Tenant) -> Result<Arc<Catalog>> {
        if let Some(c) = t.catalog.read().expect("catalog lock").as_ref() {
            return Ok(c.clone());
        }
        let c = Arc::new(Catalog::load(self.inner.store.as_ref(), &t.id, &self.inner.policy).await?);
        *t.catalog.write().expect("catalog lock") = Some(c.clone());
        Ok(c)
    }

    pub(crate) fn forget_catalog(&self, t: &Tenant) {
        *t.catalog.write().expect("catalog lock") = None;
    }

    /// The scope plan of `caller` for this read and write request.
    pub(crate) fn plan(
        &self,
        caller: &Caller,
        catalog: &dyn NamespaceCatalog,
        read: ReadRequest,
        write: Option<String>,
    ) -> ScopePlan {
        let request = PlanRequest { caller: caller.identity.clone(), project: caller.project.clone(), read, write };
        self.inner.policy.plan(&request, catalog)
    }

    /// What `caller` may see and change, from the plan of `*` (every readable namespace).
    pub(crate) async fn visibility(&self, caller: &Caller, t: &Tenant) -> Result<Visibility> {
        let catalog = self.catalog(t).await?;
        let plan = self.plan(caller, catalog.as_ref(), ReadRequest::All, None);
        if let Some(e) = &plan.error {
            let err = plan_error(e.code, &e.message);
            self.audit_denied(caller, None, "access", &err).await;
            return Err(err);
        }
        let mut writable: HashSet<NamespaceKey> =
            plan.layers.iter().filter(|l| l.writable).filter_map(|l| l.namespace.clone()).collect();
        writable.extend(plan.write.clone());
        Ok(Visibility { readable: plan.read.iter().cloned().collect(), read_order: plan.read, writable })
    }

    /// Whether `caller` may change memories of `ns` (a readable namespace): a writable layer of
    /// its plan, or the policies allow an explicit write.
    pub(crate) fn may_write(&self, caller: &Caller, vis: &Visibility, ns: &NamespaceKey) -> bool {
        vis.readable.contains(ns)
            && (vis.writable.contains(ns)
                || self.inner.policy.can(&caller.identity, Operation::Write, ns.as_str()).allowed)
    }

    // ---- audit ---------------------------------------------------------------------------------

    /// Appends an audit record. Operations return a failure to append, even after their own
    /// write succeeded: retrying is safe, since writes deduplicate by content.
    pub(crate) async fn audit(
        &self,
        caller: &Caller,
        namespace: Option<&NamespaceKey>,
        operation: &str,
        outcome: AuditOutcome,
        detail: impl Into<String>,
    ) -> Result<()> {
        let principal = self.principal_of(caller);
        let record = AuditRecord {
            id: AuditId::new_v7(),
            tenant: caller.tenant.clone(),
            namespace: namespace.cloned(),
            principal,
            key_id: caller.key_id(),
            operation: operation.to_owned(),
            outcome,
            detail: detail.into(),
            at: self.now(),
        };
        self.inner.store.append_audit(record).await
    }

    /// Records a refusal (best effort: the refusal itself is what the caller must see).
    pub(crate) async fn audit_denied(&self, caller: &Caller, ns: Option<&NamespaceKey>, operation: &str, err: &Error) {
        if matches!(err.kind(), ErrorKind::Forbidden | ErrorKind::NotFound | ErrorKind::Unauthenticated) {
            let _ = self.audit(caller, ns, operation, AuditOutcome::Denied, err.message()).await;
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
