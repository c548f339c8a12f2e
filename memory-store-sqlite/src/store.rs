//! [`SqliteStore`]: opening the database and the [`Store`] methods, each of which validates
//! its input (with [`memory_core::checks`]) and then runs one transaction on tokio's blocking
//! pool.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use memory_core::{
    ApiKey, ApiKeyId, AuditFilter, AuditRecord, Capabilities, ChangeSignal, ContentHash, Decision, Entity,
    EntityFilter, EntityId, EntityLink, Error, Job, JobLock, JobRun, KeyHash, KeyScope, Layer, Memory, MemoryFilter,
    MemoryId, MemoryPatch, MoveOutcome, Namespace, NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceStatus,
    NamespaceTouch, NewMemory, Outcome, Page, PageRequest, Principal, Proposal, ProposalFilter, ProposalId,
    PurgeReport, PutOutcome, Result, Store, StoreId, TenantId, Timestamp, checks,
};
use rusqlite::{Connection, OpenFlags};

use crate::backup::BackupReport;
use crate::connections::Connections;
use crate::error::{Classify, io_error};
use crate::event_log::{EventLog, ToLog};
use crate::options::SqliteOptions;
use crate::{entities, maintenance, memories, namespaces, records, schema};

/// File name of the database inside the data directory.
pub const DATABASE_FILE: &str = "memory.db";
/// Directory of the JSONL event logs inside the data directory.
pub const LOG_DIR: &str = "log";

/// A [`Store`] in one SQLite database file (WAL mode) with JSONL event logs beside it, or in
/// an in-memory database for tests.
///
/// Behaves exactly like [`memory_core::InMemoryStore`], with one addition: `put_memories`
/// appends a line per created memory to the event log after its transaction commits. Should
/// that append fail (a full disk), the memories are stored but the put returns `Unavailable`
/// saying so; a retry of the same batch then finds them as duplicates.
///
/// Its methods run their database work on tokio's blocking pool, so they must be awaited
/// inside a tokio runtime. Cloning is cheap and shares the connections: every clone is the
/// same store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Stops and joins the checkpoint thread when the store goes (before the connections).
    _checkpointer: Option<Checkpointer>,
    conns: Connections,
    /// `None` for an in-memory database.
    data_dir: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir` with default options.
    pub fn open(data_dir: impl Into<PathBuf>) -> Result<SqliteStore> {
        Self::open_with(SqliteOptions::new(data_dir))
    }

    /// Opens (creating if needed) the store described by `options`: creates the directory,
    /// `memory.db` and `log/`, switches the database to WAL and applies pending migrations.
    /// A database whose schema is newer than this build ([`crate::SCHEMA_VERSION`]) is
    /// refused with `InvalidInput`.
    ///
    /// Blocks while it opens; call it before serving, or from a blocking context.
    pub fn open_with(options: SqliteOptions) -> Result<SqliteStore> {
        let dir = &options.data_dir;
        let log_dir = dir.join(LOG_DIR);
        std::fs::create_dir_all(&log_dir)
            .map_err(|e| io_error(format_args!("cannot create the data directory {}", log_dir.display()), e))?;
        let db_path = dir.join(DATABASE_FILE);
        // Explicit flags: without SQLITE_OPEN_URI, a directory named like `file:...` is a path.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut writer = Connection::open_with_flags(&db_path, flags).classify()?;
        schema::configure_writer(&writer, Some(options.durability), options.busy_timeout)?;
        schema::migrate(&mut writer)?;
        // The thread first looks at the store one interval from now, long after it is built.
        let inner = Arc::new_cyclic(|weak| Inner {
            _checkpointer: Some(Checkpointer::spawn(weak.clone())),
            conns: Connections::file(
                writer,
                db_path,
                options.max_idle_readers,
                options.busy_timeout,
                EventLog::new(log_dir, options.durability, options.busy_timeout),
            ),
            data_dir: Some(options.data_dir),
        });
        Ok(SqliteStore { inner })
    }

    /// A fresh store in an in-memory database, for tests: one connection serves everything,
    /// nothing is logged and nothing survives the store.
    pub fn open_in_memory() -> Result<SqliteStore> {
        let mut conn = Connection::open_in_memory().classify()?;
        schema::configure_writer(&conn, None, SqliteOptions::DEFAULT_BUSY_TIMEOUT)?;
        schema::migrate(&mut conn)?;
        let inner = Inner { _checkpointer: None, conns: Connections::single(conn), data_dir: None };
        Ok(SqliteStore { inner: Arc::new(inner) })
    }

    /// The data directory; `None` for an in-memory store.
    pub fn data_dir(&self) -> Option<&Path> {
        self.inner.data_dir.as_deref()
    }

    /// The directory of the JSONL event logs; `None` for an in-memory store.
    pub fn log_dir(&self) -> Option<PathBuf> {
        self.data_dir().map(|d| d.join(LOG_DIR))
    }

    /// Writes a consistent copy of the database to `to` (which must not exist) with SQLite's
    /// online backup API, while other connections and processes go on reading and writing.
    /// The copy is a self-contained database file (no WAL beside it), synced to disk. The event
    /// logs are not part of it: they are a record of the database, not a second truth.
    pub async fn backup_to(&self, to: &Path) -> Result<BackupReport> {
        let (inner, to) = (Arc::clone(&self.inner), to.to_path_buf());
        blocking(move || inner.conns.read(|src| crate::backup::copy(src, &to))).await
    }

    /// Checkpoints the WAL into `memory.db` now (it also happens within seconds of every write
    /// and when the store closes).
    pub async fn checkpoint(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.conns.checkpoint_now()).await
    }

    /// Runs `f` on the blocking pool, in a read transaction.
    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.conns.read(f)).await
    }

    /// [`SqliteStore::write`] for a write that creates memories, logged after the commit.
    async fn write_logged<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<(T, Vec<ToLog>)> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.conns.write_logged(f)).await
    }

    /// Runs `f` on the blocking pool, in a write transaction (group-committed with the writes
    /// waiting beside it, see `connections`); kept when `f` succeeds and the group commits.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.conns.write(f)).await
    }
}

/// The thread that checkpoints the WAL when a write is not followed by another (see
/// `connections`): it wakes up once per checkpoint interval.
struct Checkpointer {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn spawn(inner: std::sync::Weak<Inner>) -> Checkpointer {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let tick = crate::connections::CHECKPOINT_INTERVAL;
        let thread = std::thread::Builder::new()
            .name("memory-sqlite-checkpoint".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    let Some(inner) = inner.upgrade() else { return };
                    inner.conns.checkpoint_if_due();
                }
            })
            // Without the thread, checkpoints still happen on writes and on close.
            .ok();
        Checkpointer { stop: Some(stop), thread }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take()
            && t.thread().id() != std::thread::current().id()
        {
            let _ = t.join();
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::internal(format!("a store task failed: {e}")).with_source(e))?
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.data_dir {
            Some(dir) => f.debug_struct("SqliteStore").field("data_dir", dir).finish_non_exhaustive(),
            None => f.write_str("SqliteStore(in memory)"),
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn capabilities(&self) -> Capabilities {
        // A file is shared by every process that opens it (WAL), and job locks are rows in it.
        // An in-memory database lives and dies with this one store.
        let file = self.inner.data_dir.is_some();
        Capabilities { durable: file, shared: file, change_notification: false, cross_process_locks: file }
    }

    fn change_signal(&self) -> Option<Arc<ChangeSignal>> {
        None
    }

    async fn create_namespace(&self, namespace: Namespace) -> Result<()> {
        checks::create_namespace(&namespace)?;
        self.write(move |c| namespaces::create(c, &namespace)).await
    }

    async fn get_namespace(&self, tenant: &TenantId, key: &NamespaceKey) -> Result<Option<Namespace>> {
        let (tenant, key) = (tenant.clone(), key.clone());
        self.read(move |c| namespaces::get(c, &tenant, &key)).await
    }

    async fn list_namespaces(&self, tenant: &TenantId, filter: &NamespaceFilter) -> Result<Vec<Namespace>> {
        let (tenant, filter) = (tenant.clone(), filter.clone());
        self.read(move |c| namespaces::list(c, &tenant, &filter)).await
    }

    async fn list_tenants(&self) -> Result<Vec<TenantId>> {
        self.read(namespaces::tenants).await
    }

    async fn namespace_version(&self, tenant: &TenantId) -> Result<u64> {
        let tenant = tenant.clone();
        self.read(move |conn| namespaces::version(conn, &tenant)).await
    }

    async fn update_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        patch: &NamespacePatch,
        at: Timestamp,
    ) -> Result<Namespace> {
        let (tenant, key, patch) = (tenant.clone(), key.clone(), patch.clone());
        self.write(move |c| namespaces::update(c, &tenant, &key, &patch, at)).await
    }

    async fn touch_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        touch: NamespaceTouch,
        at: Timestamp,
    ) -> Result<()> {
        let (tenant, key) = (tenant.clone(), key.clone());
        self.write(move |c| namespaces::touch(c, &tenant, &key, touch, at)).await
    }

    async fn archive_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        let (tenant, key) = (tenant.clone(), key.clone());
        self.write(move |c| namespaces::set_status(c, &tenant, &key, NamespaceStatus::Archived, at)).await
    }

    async fn restore_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        let (tenant, key) = (tenant.clone(), key.clone());
        self.write(move |c| namespaces::set_status(c, &tenant, &key, NamespaceStatus::Active, at)).await
    }

    async fn delete_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        let (tenant, key) = (tenant.clone(), key.clone());
        self.write(move |c| namespaces::delete(c, &tenant, &key, at)).await
    }

    async fn put_memories(&self, tenant: &TenantId, memories: Vec<NewMemory>) -> Result<Vec<PutOutcome>> {
        checks::put_memories(&memories)?;
        if memories.is_empty() {
            return Ok(Vec::new());
        }
        let tenant = tenant.clone();
        self.write_logged(move |c| {
            let put = memories::put(c, &tenant, memories)?;
            Ok((put.outcomes, put.created))
        })
        .await
    }

    async fn find_duplicates(&self, tenant: &TenantId, inputs: &[NewMemory]) -> Result<Vec<Option<Memory>>> {
        let tenant = tenant.clone();
        let keys: Vec<(NamespaceKey, Layer, ContentHash)> =
            inputs.iter().map(|m| (m.namespace.clone(), m.layer, ContentHash::of(&m.content))).collect();
        self.read(move |c| {
            keys.iter().map(|(ns, layer, hash)| memories::live_by_hash(c, &tenant, ns, *layer, hash)).collect()
        })
        .await
    }

    async fn get_embeddings(&self, tenant: &TenantId, model: &str, ids: &[MemoryId]) -> Result<Vec<Option<Vec<f32>>>> {
        let (tenant, model, ids) = (tenant.clone(), model.to_owned(), ids.to_vec());
        self.read(move |c| memories::embeddings(c, &tenant, &model, &ids)).await
    }

    async fn get_memory(&self, tenant: &TenantId, id: MemoryId) -> Result<Option<Memory>> {
        let tenant = tenant.clone();
        self.read(move |c| memories::get(c, &tenant, id)).await
    }

    async fn get_memories(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<Memory>> {
        let (tenant, ids) = (tenant.clone(), ids.to_vec());
        self.read(move |c| memories::get_many(c, &tenant, &ids)).await
    }

    async fn list_memories(
        &self,
        tenant: &TenantId,
        filter: &MemoryFilter,
        page: &PageRequest,
    ) -> Result<Page<Memory>> {
        checks::page(page)?;
        let (tenant, filter, page) = (tenant.clone(), filter.clone(), page.clone());
        self.read(move |c| memories::list(c, &tenant, &filter, &page)).await
    }

    async fn count_memories(&self, tenant: &TenantId, filter: &MemoryFilter) -> Result<u64> {
        let (tenant, filter) = (tenant.clone(), filter.clone());
        self.read(move |c| memories::count(c, &tenant, &filter)).await
    }

    async fn update_memory(
        &self,
        tenant: &TenantId,
        id: MemoryId,
        patch: &MemoryPatch,
        at: Timestamp,
    ) -> Result<Memory> {
        let (tenant, patch) = (tenant.clone(), patch.clone());
        self.write(move |c| memories::update(c, &tenant, id, &patch, at)).await
    }

    async fn move_memories(
        &self,
        tenant: &TenantId,
        from: &NamespaceKey,
        to: &NamespaceKey,
        ids: &[MemoryId],
        at: Timestamp,
    ) -> Result<Vec<MoveOutcome>> {
        let (tenant, from, to, ids) = (tenant.clone(), from.clone(), to.clone(), ids.to_vec());
        self.write(move |c| memories::move_to(c, &tenant, &from, &to, &ids, at)).await
    }

    async fn delete_memory(&self, tenant: &TenantId, id: MemoryId, at: Timestamp) -> Result<bool> {
        let tenant = tenant.clone();
        self.write(move |c| memories::delete(c, &tenant, id, at)).await
    }

    async fn purge(&self, tenant: &TenantId, before: Timestamp) -> Result<PurgeReport> {
        let tenant = tenant.clone();
        self.write(move |c| {
            entities::unlink_purged(c, &tenant, before)?;
            let memories = memories::purge(c, &tenant, before)?;
            entities::purge_unlinked(c, &tenant)?;
            let namespaces = namespaces::purge_deleted(c, &tenant)?;
            Ok(PurgeReport { memories, namespaces })
        })
        .await
    }

    async fn changes_since(&self, tenant: &TenantId, after_seq: u64, limit: usize) -> Result<Vec<Memory>> {
        checks::changes_since(limit)?;
        let tenant = tenant.clone();
        self.read(move |c| memories::changes_since(c, &tenant, after_seq, limit)).await
    }

    async fn taken_memory_ids(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<MemoryId>> {
        let (tenant, ids) = (tenant.clone(), ids.to_vec());
        self.read(move |c| memories::taken_ids(c, &tenant, &ids)).await
    }

    async fn last_seq(&self) -> Result<u64> {
        self.read(memories::last_seq).await
    }

    async fn store_id(&self) -> Result<StoreId> {
        self.read(records::store_id).await
    }

    async fn record_outcomes(
        &self,
        tenant: &TenantId,
        ids: &[MemoryId],
        outcome: Outcome,
        at: Timestamp,
    ) -> Result<()> {
        checks::record_outcomes(outcome, at)?;
        let (tenant, ids) = (tenant.clone(), ids.to_vec());
        self.write(move |c| memories::record_outcomes(c, &tenant, &ids, outcome, at)).await
    }

    async fn record_access(&self, tenant: &TenantId, ids: &[MemoryId], at: Timestamp) -> Result<u64> {
        let (tenant, ids) = (tenant.clone(), ids.to_vec());
        self.write(move |c| memories::record_access(c, &tenant, &ids, at)).await
    }

    async fn append_audit(&self, record: AuditRecord) -> Result<()> {
        checks::append_audit(&record)?;
        self.write(move |c| records::append_audit(c, &record)).await
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>> {
        checks::page(page)?;
        let (tenant, filter, page) = (tenant.clone(), filter.clone(), page.clone());
        self.read(move |c| records::list_audit(c, &tenant, &filter, &page)).await
    }

    async fn create_api_key(&self, key: ApiKey) -> Result<()> {
        checks::create_api_key(&key)?;
        self.write(move |c| records::create_api_key(c, &key)).await
    }

    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>> {
        let hash = hash.clone();
        self.read(move |c| records::find_api_key(c, &hash)).await
    }

    async fn get_api_key(&self, tenant: &TenantId, id: ApiKeyId) -> Result<Option<ApiKey>> {
        let tenant = tenant.clone();
        self.read(move |c| records::get_api_key(c, &tenant, id)).await
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>> {
        let tenant = tenant.clone();
        self.read(move |c| records::list_api_keys(c, &tenant)).await
    }

    async fn update_api_key_scopes(
        &self,
        tenant: &TenantId,
        id: ApiKeyId,
        scopes: Vec<KeyScope>,
        default_namespace: Option<NamespaceKey>,
        at: Timestamp,
    ) -> Result<ApiKey> {
        checks::update_api_key_scopes(&scopes)?;
        let tenant = tenant.clone();
        self.write(move |c| records::update_api_key_scopes(c, &tenant, id, scopes, default_namespace, at)).await
    }

    async fn revoke_api_key(&self, tenant: &TenantId, id: ApiKeyId, at: Timestamp) -> Result<bool> {
        let tenant = tenant.clone();
        self.write(move |c| records::revoke_api_key(c, &tenant, id, at)).await
    }

    async fn create_proposal(&self, proposal: Proposal) -> Result<()> {
        checks::create_proposal(&proposal)?;
        self.write(move |c| records::create_proposal(c, &proposal)).await
    }

    async fn get_proposal(&self, tenant: &TenantId, id: ProposalId) -> Result<Option<Proposal>> {
        let tenant = tenant.clone();
        self.read(move |c| records::get_proposal(c, &tenant, id)).await
    }

    async fn list_proposals(
        &self,
        tenant: &TenantId,
        filter: &ProposalFilter,
        page: &PageRequest,
    ) -> Result<Page<Proposal>> {
        checks::page(page)?;
        let (tenant, filter, page) = (tenant.clone(), filter.clone(), page.clone());
        self.read(move |c| records::list_proposals(c, &tenant, &filter, &page)).await
    }

    async fn decide_proposal(
        &self,
        tenant: &TenantId,
        id: ProposalId,
        decision: Decision,
        by: Principal,
        at: Timestamp,
    ) -> Result<Proposal> {
        let tenant = tenant.clone();
        self.write(move |c| records::decide_proposal(c, &tenant, id, decision, by, at)).await
    }

    async fn link_entities(
        &self,
        tenant: &TenantId,
        namespace: &NamespaceKey,
        links: &[EntityLink],
        at: Timestamp,
    ) -> Result<Vec<Entity>> {
        checks::link_entities(links)?;
        if links.is_empty() {
            return Ok(Vec::new());
        }
        let (tenant, namespace, links) = (tenant.clone(), namespace.clone(), links.to_vec());
        self.write(move |c| entities::link(c, &tenant, &namespace, &links, at)).await
    }

    async fn get_entity(&self, tenant: &TenantId, id: EntityId) -> Result<Option<Entity>> {
        let tenant = tenant.clone();
        self.read(move |c| entities::get(c, &tenant, id)).await
    }

    async fn list_entities(
        &self,
        tenant: &TenantId,
        filter: &EntityFilter,
        page: &PageRequest,
    ) -> Result<Page<Entity>> {
        checks::page(page)?;
        let (tenant, filter, page) = (tenant.clone(), filter.clone(), page.clone());
        self.read(move |c| entities::list(c, &tenant, &filter, &page)).await
    }

    async fn entity_memories(&self, tenant: &TenantId, id: EntityId, page: &PageRequest) -> Result<Page<MemoryId>> {
        checks::page(page)?;
        let (tenant, page) = (tenant.clone(), page.clone());
        self.read(move |c| entities::memories(c, &tenant, id, &page)).await
    }

    async fn entities_of(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<(MemoryId, Entity)>> {
        let (tenant, ids) = (tenant.clone(), ids.to_vec());
        self.read(move |c| entities::of(c, &tenant, &ids)).await
    }

    async fn try_lock_job(&self, lock: &JobLock) -> Result<bool> {
        checks::try_lock_job(lock)?;
        let lock = lock.clone();
        self.write(move |c| maintenance::try_lock(c, &lock)).await
    }

    async fn unlock_job(&self, tenant: &TenantId, job: Job, namespace: &NamespaceKey, holder: &str) -> Result<bool> {
        let (tenant, namespace, holder) = (tenant.clone(), namespace.clone(), holder.to_owned());
        self.write(move |c| maintenance::unlock(c, &tenant, job, &namespace, &holder)).await
    }

    async fn record_job_run(&self, run: &JobRun) -> Result<()> {
        checks::record_job_run(run)?;
        let run = run.clone();
        self.write(move |c| maintenance::record_run(c, &run)).await
    }

    async fn list_job_runs(&self, tenant: &TenantId, namespace: Option<&NamespaceKey>) -> Result<Vec<JobRun>> {
        let (tenant, namespace) = (tenant.clone(), namespace.cloned());
        self.read(move |c| maintenance::list_runs(c, &tenant, namespace.as_ref())).await
    }
}
