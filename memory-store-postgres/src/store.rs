//! [`PgStore`]: connecting, migrating, and the [`Store`] methods, each of which checks its
//! input (`memory_core::checks`) and then runs one transaction, retried when PostgreSQL
//! aborts it for a concurrent one.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use memory_core::{
    ApiKey, ApiKeyId, AuditFilter, AuditRecord, Capabilities, ChangeSignal, Decision, Entity, EntityFilter, EntityId,
    EntityLink, Error, Job, JobLock, JobRun, KeyHash, KeyScope, Memory, MemoryFilter, MemoryId, MemoryPatch,
    MoveOutcome, Namespace, NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceStatus, NamespaceTouch, NewMemory,
    Outcome, Page, PageRequest, Principal, Proposal, ProposalFilter, ProposalId, PurgeReport, PutOutcome, Result,
    Store, StoreId, TenantId, Timestamp, checks,
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, PgPool};

use crate::error::{Classify, is_retryable};
use crate::{entities, maintenance, memories, namespaces, notify, records};

/// How often a transaction that PostgreSQL aborted (serialization failure, deadlock) is tried
/// again before the caller gets `Conflict`.
const RETRIES: u32 = 4;

/// How to reach the database.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// `postgres://user@host:port/database`.
    pub url: String,
    /// The schema that holds the store's tables (created when missing); `None` is the
    /// connection's default (`public`). Tests give each store a schema of its own.
    pub schema: Option<String>,
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long a request waits for a connection (or for the server to answer a connect).
    pub acquire_timeout: Duration,
}

impl PgOptions {
    /// Defaults for `url`: the default schema, 16 connections, 10 s to get one.
    pub fn new(url: impl Into<String>) -> Self {
        PgOptions { url: url.into(), schema: None, max_connections: 16, acquire_timeout: Duration::from_secs(10) }
    }

    /// The same, with the store's tables in `schema`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }
}

/// A [`Store`] in a PostgreSQL database that many processes share (SPEC 5: several servers,
/// one database). Behaves exactly like [`memory_core::InMemoryStore`], and its change feed is
/// commit-ordered (see `memories`). It notifies other processes of every change on commit
/// (LISTEN/NOTIFY), which its [`Store::change_signal`] turns into a doorbell.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
    runtime: tokio::runtime::Handle,
    signal: Arc<ChangeSignal>,
    schema: Option<String>,
    statistics: Arc<Statistics>,
}

/// Keeps the planner's statistics up with young, fast-growing tables. Without statistics,
/// PostgreSQL takes `tenant_id = $1` for selective, and reads a memory by id through an index
/// that starts with the tenant, walking the tenant's whole range (measured: 3-6 ms per get at
/// 50,000 memories, against 0.26 ms analyzed). Autovacuum analyzes a minute or more later;
/// this handle analyzes (in the background) each time the memories it inserted double, from
/// a thousand on: a handful of cheap, sampled ANALYZE runs over a table's whole life.
#[derive(Debug)]
struct Statistics {
    inserted: std::sync::atomic::AtomicU64,
    next: std::sync::atomic::AtomicU64,
}

impl Statistics {
    const FIRST: u64 = 1_000;
}

impl fmt::Debug for PgStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgStore").field("schema", &self.schema).finish_non_exhaustive()
    }
}

/// A schema name this crate accepts: it is interpolated into SQL, so letters, digits and `_`.
fn check_schema(schema: &str) -> Result<()> {
    let ok = !schema.is_empty()
        && schema.len() <= 63
        && schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !schema.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "schema name {schema:?} must be 1-63 ASCII letters, digits or _, not starting with a digit"
        )))
    }
}

impl PgStore {
    /// Connects to `url` with default options; see [`PgStore::connect_with`].
    pub async fn connect(url: &str) -> Result<PgStore> {
        Self::connect_with(PgOptions::new(url)).await
    }

    /// Connects, creates the schema when it is missing, applies pending migrations (several
    /// processes starting at once take turns: sqlx holds an advisory lock while it migrates),
    /// and starts listening for other processes' changes. A database whose migrations are
    /// newer than this build is refused.
    pub async fn connect_with(options: PgOptions) -> Result<PgStore> {
        let mut connect: PgConnectOptions = options.url.parse().map_err(|e: sqlx::Error| {
            Error::invalid_input(format!("the database URL {} is not usable: {e}", redact_url(&options.url)))
        })?;
        // Statement logging stays off: statements carry memory content.
        connect = connect.application_name("memory").disable_statement_logging();
        // Plan every execution with its own values and the tables' current size. sqlx keeps
        // statements prepared per connection, and PostgreSQL would otherwise settle on a
        // generic plan after five runs: made while a table is still small, that plan scans it
        // whole, and keeps doing so as it grows (measured: 50,000 memories put at 309/s and
        // gets at 6 ms, against 7,800/s and 0.26 ms re-planned).
        connect = connect.options([("plan_cache_mode", "force_custom_plan")]);
        if let Some(schema) = &options.schema {
            check_schema(schema)?;
            let mut admin = connect.connect().await.classify()?;
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}")))
                .execute(&mut admin)
                .await
                .classify()?;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .classify()?;
        crate::MIGRATOR.run(&pool).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::VersionMissing(v) => Error::invalid_input(format!(
                "the database has migration {v}, which this build does not know; use a newer build"
            )),
            other => Error::unavailable(format!("cannot migrate the database: {other}")).with_source(other),
        })?;
        let signal = Arc::new(ChangeSignal::default());
        notify::spawn(pool.clone(), &signal);
        let statistics = Arc::new(Statistics {
            inserted: std::sync::atomic::AtomicU64::new(0),
            next: std::sync::atomic::AtomicU64::new(Statistics::FIRST),
        });
        Ok(PgStore { pool, runtime: tokio::runtime::Handle::current(), signal, schema: options.schema, statistics })
    }

    /// Counts memories this handle inserted and, when they doubled since the last time,
    /// refreshes the planner's statistics in the background (see [`Statistics`]).
    fn note_inserted(&self, n: u64) {
        use std::sync::atomic::Ordering::SeqCst;
        let total = self.statistics.inserted.fetch_add(n, SeqCst) + n;
        let next = self.statistics.next.load(SeqCst);
        if total < next || self.statistics.next.compare_exchange(next, total * 2, SeqCst, SeqCst).is_err() {
            return;
        }
        let pool = self.pool.clone();
        self.runtime.spawn(async move {
            // Best effort: a failed ANALYZE leaves the statistics to autovacuum.
            let _ = sqlx::query("ANALYZE memories, embeddings, entity_links, event_log").execute(&pool).await;
        });
    }

    /// The connection pool (for tools and tests that query the database directly).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Runs `work` on the runtime the store was opened on. Connections belong to the runtime
    /// that opened them (their sockets are registered with its reactor), so work from any
    /// other runtime (a thread with a runtime of its own, a test) must not touch them directly.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        self.runtime.spawn(work).await.map_err(|e| Error::internal(format!("a database task did not finish: {e}")))?
    }
}

/// `url` with its password (if any) replaced by `***`, for messages and logs.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    match authority.rsplit_once('@') {
        Some((user, host)) if user.contains(':') => {
            let name = user.split(':').next().unwrap_or_default();
            format!("{scheme}://{name}:***@{host}{path}")
        }
        _ => url.to_owned(),
    }
}

/// Runs `$body` (an expression using the connection `$c`) in a transaction and commits it,
/// trying again when PostgreSQL aborted it for a concurrent transaction. `lock` first takes
/// the change-sequence lock (every transaction that changes memories does). The borrowed
/// arguments in `[...]` are copied, so the work can run on the store's own runtime.
macro_rules! in_tx {
    ($self:ident, $lock:expr, [$($arg:ident),*], |$c:ident| $body:expr) => {{
        $(let $arg = $arg.to_owned();)*
        let pool = $self.pool.clone();
        $self.run(async move {
            $(let $arg = &$arg;)*
            let mut attempt = 0;
            loop {
                let mut tx = pool.begin().await.classify()?;
                let result = async {
                    let $c: &mut sqlx::PgConnection = &mut *tx;
                    if $lock {
                        memories::lock_writes($c).await?;
                    }
                    $body.await
                }
                .await;
                let result = match result {
                    Ok(value) => tx.commit().await.classify().map(|()| value),
                    Err(e) => Err(e),
                };
                match result {
                    Err(e) if is_retryable(&e) && attempt < RETRIES => {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                    }
                    other => break other,
                }
            }
        })
        .await
    }};
}

/// Runs `$body` on a pooled connection outside any explicit transaction (one statement, or
/// reads that need no common snapshot); arguments as for `in_tx!`.
macro_rules! on_conn {
    ($self:ident, [$($arg:ident),*], |$c:ident| $body:expr) => {{
        $(let $arg = $arg.to_owned();)*
        let pool = $self.pool.clone();
        $self.run(async move {
            $(let $arg = &$arg;)*
            let mut conn = pool.acquire().await.classify()?;
            let $c: &mut sqlx::PgConnection = &mut *conn;
            $body.await
        })
        .await
    }};
}

const WRITES_MEMORIES: bool = true;
const LEAVES_MEMORIES: bool = false;

#[async_trait]
impl Store for PgStore {
    fn capabilities(&self) -> Capabilities {
        Capabilities { durable: true, shared: true, change_notification: true, cross_process_locks: true }
    }

    fn change_signal(&self) -> Option<Arc<ChangeSignal>> {
        Some(self.signal.clone())
    }

    async fn create_namespace(&self, namespace: Namespace) -> Result<()> {
        checks::create_namespace(&namespace)?;
        in_tx!(self, LEAVES_MEMORIES, [], |c| namespaces::create(c, &namespace))
    }

    async fn get_namespace(&self, tenant: &TenantId, key: &NamespaceKey) -> Result<Option<Namespace>> {
        on_conn!(self, [tenant, key], |c| namespaces::get(c, tenant, key))
    }

    async fn list_namespaces(&self, tenant: &TenantId, filter: &NamespaceFilter) -> Result<Vec<Namespace>> {
        on_conn!(self, [tenant, filter], |c| namespaces::list(c, tenant, filter))
    }

    async fn list_tenants(&self) -> Result<Vec<TenantId>> {
        on_conn!(self, [], |c| namespaces::tenants(c))
    }

    async fn namespace_version(&self, tenant: &TenantId) -> Result<u64> {
        on_conn!(self, [tenant], |c| namespaces::version(c, tenant))
    }

    async fn update_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        patch: &NamespacePatch,
        at: Timestamp,
    ) -> Result<Namespace> {
        in_tx!(self, LEAVES_MEMORIES, [tenant, key, patch], |c| namespaces::update(c, tenant, key, patch, at))
    }

    async fn touch_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        touch: NamespaceTouch,
        at: Timestamp,
    ) -> Result<()> {
        on_conn!(self, [tenant, key], |c| namespaces::touch(c, tenant, key, touch, at))
    }

    async fn archive_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        in_tx!(self, LEAVES_MEMORIES, [tenant, key], |c| namespaces::set_status(
            c,
            tenant,
            key,
            NamespaceStatus::Archived,
            at
        ))
    }

    async fn restore_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        in_tx!(self, LEAVES_MEMORIES, [tenant, key], |c| namespaces::set_status(
            c,
            tenant,
            key,
            NamespaceStatus::Active,
            at
        ))
    }

    async fn delete_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        in_tx!(self, WRITES_MEMORIES, [tenant, key], |c| namespaces::delete(c, tenant, key, at))
    }

    async fn put_memories(&self, tenant: &TenantId, batch: Vec<NewMemory>) -> Result<Vec<PutOutcome>> {
        checks::put_memories(&batch)?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let n = batch.len() as u64;
        let outcomes = in_tx!(self, WRITES_MEMORIES, [tenant], |c| memories::put(c, tenant, batch.clone()))?;
        self.note_inserted(n);
        Ok(outcomes)
    }

    async fn find_duplicates(&self, tenant: &TenantId, inputs: &[NewMemory]) -> Result<Vec<Option<Memory>>> {
        on_conn!(self, [tenant, inputs], |c| memories::find_duplicates(c, tenant, inputs))
    }

    async fn get_embeddings(&self, tenant: &TenantId, model: &str, ids: &[MemoryId]) -> Result<Vec<Option<Vec<f32>>>> {
        on_conn!(self, [tenant, model, ids], |c| memories::get_embeddings(c, tenant, model, ids))
    }

    async fn get_memory(&self, tenant: &TenantId, id: MemoryId) -> Result<Option<Memory>> {
        on_conn!(self, [tenant], |c| memories::get(c, tenant, id))
    }

    async fn get_memories(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<Memory>> {
        on_conn!(self, [tenant, ids], |c| memories::get_many(c, tenant, ids))
    }

    async fn list_memories(
        &self,
        tenant: &TenantId,
        filter: &MemoryFilter,
        page: &PageRequest,
    ) -> Result<Page<Memory>> {
        checks::page(page)?;
        on_conn!(self, [tenant, filter, page], |c| memories::list(c, tenant, filter, page))
    }

    async fn count_memories(&self, tenant: &TenantId, filter: &MemoryFilter) -> Result<u64> {
        on_conn!(self, [tenant, filter], |c| memories::count(c, tenant, filter))
    }

    async fn update_memory(
        &self,
        tenant: &TenantId,
        id: MemoryId,
        patch: &MemoryPatch,
        at: Timestamp,
    ) -> Result<Memory> {
        in_tx!(self, WRITES_MEMORIES, [tenant, patch], |c| async {
            let m = memories::update(c, tenant, id, patch, at).await?;
            memories::notify(c, tenant).await?;
            Ok(m)
        })
    }

    async fn delete_memory(&self, tenant: &TenantId, id: MemoryId, at: Timestamp) -> Result<bool> {
        in_tx!(self, WRITES_MEMORIES, [tenant], |c| memories::delete(c, tenant, id, at))
    }

    async fn move_memories(
        &self,
        tenant: &TenantId,
        from: &NamespaceKey,
        to: &NamespaceKey,
        ids: &[MemoryId],
        at: Timestamp,
    ) -> Result<Vec<MoveOutcome>> {
        in_tx!(self, WRITES_MEMORIES, [tenant, from, to, ids], |c| memories::move_to(c, tenant, from, to, ids, at))
    }

    async fn purge(&self, tenant: &TenantId, before: Timestamp) -> Result<PurgeReport> {
        in_tx!(self, WRITES_MEMORIES, [tenant], |c| async {
            entities::unlink_purged(c, tenant, before).await?;
            let memories = memories::purge(c, tenant, before).await?;
            entities::purge_unlinked(c, tenant).await?;
            let namespaces = namespaces::purge_deleted(c, tenant).await?;
            Ok(PurgeReport { memories, namespaces })
        })
    }

    async fn changes_since(&self, tenant: &TenantId, after_seq: u64, limit: usize) -> Result<Vec<Memory>> {
        checks::changes_since(limit)?;
        on_conn!(self, [tenant], |c| memories::changes_since(c, tenant, after_seq, limit))
    }

    async fn taken_memory_ids(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<MemoryId>> {
        on_conn!(self, [tenant, ids], |c| memories::taken_ids(c, tenant, ids))
    }

    async fn last_seq(&self) -> Result<u64> {
        on_conn!(self, [], |c| memories::last_seq(c))
    }

    async fn store_id(&self) -> Result<StoreId> {
        on_conn!(self, [], |c| records::store_id(c))
    }

    async fn record_outcomes(
        &self,
        tenant: &TenantId,
        ids: &[MemoryId],
        outcome: Outcome,
        at: Timestamp,
    ) -> Result<()> {
        checks::record_outcomes(outcome, at)?;
        in_tx!(self, LEAVES_MEMORIES, [tenant, ids], |c| memories::record_outcomes(c, tenant, ids, outcome, at))
    }

    async fn record_access(&self, tenant: &TenantId, ids: &[MemoryId], at: Timestamp) -> Result<u64> {
        on_conn!(self, [tenant, ids], |c| memories::record_access(c, tenant, ids, at))
    }

    async fn append_audit(&self, record: AuditRecord) -> Result<()> {
        checks::append_audit(&record)?;
        on_conn!(self, [], |c| records::append_audit(c, &record))
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>> {
        checks::page(page)?;
        on_conn!(self, [tenant, filter, page], |c| records::list_audit(c, tenant, filter, page))
    }

    async fn create_api_key(&self, key: ApiKey) -> Result<()> {
        checks::create_api_key(&key)?;
        on_conn!(self, [], |c| records::create_api_key(c, &key))
    }

    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>> {
        on_conn!(self, [hash], |c| records::find_api_key(c, hash))
    }

    async fn get_api_key(&self, tenant: &TenantId, id: ApiKeyId) -> Result<Option<ApiKey>> {
        on_conn!(self, [tenant], |c| records::get_api_key(c, tenant, id))
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>> {
        on_conn!(self, [tenant], |c| records::list_api_keys(c, tenant))
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
        in_tx!(self, LEAVES_MEMORIES, [tenant], |c| records::update_api_key_scopes(
            c,
            tenant,
            id,
            scopes.clone(),
            default_namespace.clone(),
            at
        ))
    }

    async fn revoke_api_key(&self, tenant: &TenantId, id: ApiKeyId, at: Timestamp) -> Result<bool> {
        in_tx!(self, LEAVES_MEMORIES, [tenant], |c| records::revoke_api_key(c, tenant, id, at))
    }

    async fn create_proposal(&self, proposal: Proposal) -> Result<()> {
        checks::create_proposal(&proposal)?;
        on_conn!(self, [], |c| records::create_proposal(c, &proposal))
    }

    async fn get_proposal(&self, tenant: &TenantId, id: ProposalId) -> Result<Option<Proposal>> {
        on_conn!(self, [tenant], |c| records::get_proposal(c, tenant, id))
    }

    async fn list_proposals(
        &self,
        tenant: &TenantId,
        filter: &ProposalFilter,
        page: &PageRequest,
    ) -> Result<Page<Proposal>> {
        checks::page(page)?;
        on_conn!(self, [tenant, filter, page], |c| records::list_proposals(c, tenant, filter, page))
    }

    async fn decide_proposal(
        &self,
        tenant: &TenantId,
        id: ProposalId,
        decision: Decision,
        by: Principal,
        at: Timestamp,
    ) -> Result<Proposal> {
        in_tx!(self, LEAVES_MEMORIES, [tenant], |c| records::decide_proposal(c, tenant, id, decision, by.clone(), at))
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
        in_tx!(self, LEAVES_MEMORIES, [tenant, namespace, links], |c| entities::link(c, tenant, namespace, links, at))
    }

    async fn get_entity(&self, tenant: &TenantId, id: EntityId) -> Result<Option<Entity>> {
        on_conn!(self, [tenant], |c| entities::get(c, tenant, id))
    }

    async fn list_entities(
        &self,
        tenant: &TenantId,
        filter: &EntityFilter,
        page: &PageRequest,
    ) -> Result<Page<Entity>> {
        checks::page(page)?;
        on_conn!(self, [tenant, filter, page], |c| entities::list(c, tenant, filter, page))
    }

    async fn entity_memories(&self, tenant: &TenantId, id: EntityId, page: &PageRequest) -> Result<Page<MemoryId>> {
        checks::page(page)?;
        on_conn!(self, [tenant, page], |c| entities::memories(c, tenant, id, page))
    }

    async fn entities_of(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<(MemoryId, Entity)>> {
        on_conn!(self, [tenant, ids], |c| entities::of(c, tenant, ids))
    }

    async fn try_lock_job(&self, lock: &JobLock) -> Result<bool> {
        checks::try_lock_job(lock)?;
        on_conn!(self, [lock], |c| maintenance::try_lock(c, lock))
    }

    async fn unlock_job(&self, tenant: &TenantId, job: Job, namespace: &NamespaceKey, holder: &str) -> Result<bool> {
        on_conn!(self, [tenant, namespace, holder], |c| maintenance::unlock(c, tenant, job, namespace, holder))
    }

    async fn record_job_run(&self, run: &JobRun) -> Result<()> {
        checks::record_job_run(run)?;
        on_conn!(self, [run], |c| maintenance::record_run(c, run))
    }

    async fn list_job_runs(&self, tenant: &TenantId, namespace: Option<&NamespaceKey>) -> Result<Vec<JobRun>> {
        let namespace = namespace.cloned();
        on_conn!(self, [tenant], |c| maintenance::list_runs(c, tenant, namespace.as_ref()))
    }
}
