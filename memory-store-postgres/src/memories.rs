//! Memories: the SQL behind the memory and usage-statistics methods of [`memory_core::Store`],
//! including deduplication and the store-wide change sequence.
//!
//! Each function runs inside a transaction opened by the caller and checks things in the
//! reference store's order, so both report the same error when several things are wrong.
//!
//! # The change sequence is commit-ordered
//! `store_meta.seq` is one counter row. Every transaction that changes memories first locks it
//! ([`lock_writes`]) and holds the lock until it commits, so a transaction that takes numbers
//! after another can only do so once that one has committed (or rolled back, returning its
//! numbers with it). A reader of `seq > n` therefore never misses a change that commits later
//! with a smaller number, which a `bigserial` drawn outside the lock would allow. Writers of
//! memories are serialized store-wide by it, as SQLite's one writer is.

use std::collections::{HashMap, HashSet};

use memory_core::{
    ContentHash, Embedding, Error, Layer, LogEvent, Memory, MemoryFilter, MemoryId, MemoryPatch, MoveOutcome,
    NamespaceKey, NewMemory, Outcome, Page, PageRequest, PutOutcome, Result, TenantId, Timestamp, UsageStats,
    plan_move,
};
use sqlx::AssertSqlSafe;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::Classify;
use crate::namespaces;
use crate::paging::{into_page, push_page};
use crate::rows::{
    Cols, MEMORY_COLUMNS, count_to_sql, json_text, memories_from_rows, memory_from_row, micros, opt_micros,
    stats_from_row,
};

fn not_found(id: MemoryId) -> Error {
    Error::not_found(format!("memory {id} not found"))
}

/// Rows per multi-row insert: 25 parameters each stays well under PostgreSQL's 65,535.
const INSERT_CHUNK: usize = 1000;

/// Takes the change-sequence lock for the rest of the transaction (see the module docs). Call
/// it first in every transaction that changes memories, so all of them take locks in one order.
pub(crate) async fn lock_writes(c: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT seq FROM store_meta FOR UPDATE").fetch_one(&mut *c).await.classify().map(drop)
}

/// Takes the next `n` values of the change sequence; returns the first.
async fn reserve_seqs(c: &mut PgConnection, n: usize) -> Result<u64> {
    let n = i64::try_from(n).map_err(|_| Error::invalid_input("batch too large"))?;
    let last: i64 = sqlx::query_scalar("UPDATE store_meta SET seq = seq + $1 RETURNING seq")
        .bind(n)
        .fetch_one(&mut *c)
        .await
        .classify()?;
    Ok((last - n + 1) as u64)
}

/// Rings the doorbell of every engine listening on this database (delivered at commit).
pub(crate) async fn notify(c: &mut PgConnection, tenant: &TenantId) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(crate::notify::CHANNEL)
        .bind(tenant.as_str())
        .execute(&mut *c)
        .await
        .classify()
        .map(drop)
}

/// Binds every field of `m` in [`MEMORY_COLUMNS`] order.
fn bind_memory<'q>(q: Query<'q, Postgres, PgArguments>, m: &Memory) -> Result<Query<'q, Postgres, PgArguments>> {
    Ok(q.bind(m.id.as_uuid())
        .bind(m.tenant.as_str().to_owned())
        .bind(m.namespace.as_str().to_owned())
        .bind(m.layer.as_str())
        .bind(m.content.clone())
        .bind(m.content_hash.as_str().to_owned())
        .bind(m.category.as_str().to_owned())
        .bind(m.confidence.value())
        .bind(json_text(&m.provenance)?)
        .bind(micros(m.created_at))
        .bind(micros(m.updated_at))
        .bind(opt_micros(m.expires_at))
        .bind(json_text(&m.metadata)?)
        .bind(m.supersedes.map(|id| id.as_uuid()))
        .bind(m.superseded_by.map(|id| id.as_uuid()))
        .bind(m.promoted_from.map(|id| id.as_uuid()))
        .bind(m.stats.utility)
        .bind(count_to_sql(m.stats.evidence_count))
        .bind(count_to_sql(m.stats.access_count))
        .bind(opt_micros(m.stats.last_accessed_at))
        .bind(count_to_sql(m.stats.helpful_count))
        .bind(count_to_sql(m.stats.unhelpful_count))
        .bind(opt_micros(m.stats.last_outcome_at))
        .bind(count_to_sql(m.seq))
        .bind(opt_micros(m.deleted_at)))
}

/// Inserts fresh memories, a multi-row statement per chunk.
async fn insert_all(c: &mut PgConnection, memories: &[Memory]) -> Result<()> {
    for chunk in memories.chunks(INSERT_CHUNK) {
        let encoded: Vec<(String, String)> =
            chunk.iter().map(|m| Ok((json_text(&m.provenance)?, json_text(&m.metadata)?))).collect::<Result<_>>()?;
        let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!("INSERT INTO memories ({MEMORY_COLUMNS}) "));
        qb.push_values(chunk.iter().zip(encoded), |mut b, (m, (provenance, metadata))| {
            b.push_bind(m.id.as_uuid())
                .push_bind(m.tenant.as_str().to_owned())
                .push_bind(m.namespace.as_str().to_owned())
                .push_bind(m.layer.as_str())
                .push_bind(m.content.clone())
                .push_bind(m.content_hash.as_str().to_owned())
                .push_bind(m.category.as_str().to_owned())
                .push_bind(m.confidence.value())
                .push_bind(provenance)
                .push_bind(micros(m.created_at))
                .push_bind(micros(m.updated_at))
                .push_bind(opt_micros(m.expires_at))
                .push_bind(metadata)
                .push_bind(m.supersedes.map(|id| id.as_uuid()))
                .push_bind(m.superseded_by.map(|id| id.as_uuid()))
                .push_bind(m.promoted_from.map(|id| id.as_uuid()))
                .push_bind(m.stats.utility)
                .push_bind(count_to_sql(m.stats.evidence_count))
                .push_bind(count_to_sql(m.stats.access_count))
                .push_bind(opt_micros(m.stats.last_accessed_at))
                .push_bind(count_to_sql(m.stats.helpful_count))
                .push_bind(count_to_sql(m.stats.unhelpful_count))
                .push_bind(opt_micros(m.stats.last_outcome_at))
                .push_bind(count_to_sql(m.seq))
                .push_bind(opt_micros(m.deleted_at));
        });
        qb.build().execute(&mut *c).await.classify()?;
    }
    Ok(())
}

/// Stores the vectors of memories a put created (see migration 3), one multi-row statement per
/// chunk.
async fn insert_embeddings(
    c: &mut PgConnection,
    tenant: &TenantId,
    embeddings: &[(MemoryId, Embedding)],
) -> Result<()> {
    for chunk in embeddings.chunks(INSERT_CHUNK) {
        let mut qb: QueryBuilder<Postgres> =
            QueryBuilder::new("INSERT INTO embeddings (tenant_id, memory_id, model, vector) ");
        qb.push_values(chunk, |mut b, (id, e)| {
            b.push_bind(tenant.as_str().to_owned())
                .push_bind(id.as_uuid())
                .push_bind(e.model.clone())
                .push_bind(Embedding::to_bytes(&e.vector));
        });
        // A row left by a purged memory's id cannot exist (purge removes them); replace anyway.
        qb.push(" ON CONFLICT (tenant_id, memory_id, model) DO UPDATE SET vector = excluded.vector");
        qb.build().execute(&mut *c).await.classify()?;
    }
    Ok(())
}

/// Per id, in order, the vector of `model` stored with the live memory `id`.
pub(crate) async fn get_embeddings(
    c: &mut PgConnection,
    tenant: &TenantId,
    model: &str,
    ids: &[MemoryId],
) -> Result<Vec<Option<Vec<f32>>>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let uuids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
    let rows = sqlx::query(
        "SELECT e.memory_id, e.vector FROM embeddings e JOIN memories m ON m.tenant_id = e.tenant_id \
         AND m.id = e.memory_id WHERE e.tenant_id = $1 AND e.model = $2 AND e.memory_id = ANY($3) \
         AND m.deleted_at IS NULL",
    )
    .bind(tenant.as_str())
    .bind(model)
    .bind(uuids)
    .fetch_all(&mut *c)
    .await
    .classify()?;
    let mut found: HashMap<MemoryId, Vec<f32>> = HashMap::new();
    for row in &rows {
        let id: Uuid = row.try_get(0).classify()?;
        let bytes: Vec<u8> = row.try_get(1).classify()?;
        let vector = Embedding::from_bytes(&bytes)
            .ok_or_else(|| crate::error::bad_value("embeddings.vector", "not a whole number of f32 values"))?;
        found.insert(MemoryId::from_uuid(id), vector);
    }
    Ok(ids.iter().map(|id| found.get(id).cloned()).collect())
}

/// Removes every stored vector of a memory (its content changed).
async fn drop_embeddings(c: &mut PgConnection, tenant: &TenantId, id: MemoryId) -> Result<()> {
    sqlx::query("DELETE FROM embeddings WHERE tenant_id = $1 AND memory_id = $2")
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .execute(&mut *c)
        .await
        .classify()
        .map(drop)
}

/// Appends the event-log lines of memories a put created (see migration 2), one multi-row
/// statement per chunk, in the put's transaction.
async fn log_created(c: &mut PgConnection, created: &[Memory], withheld: &HashSet<NamespaceKey>) -> Result<()> {
    for chunk in created.chunks(INSERT_CHUNK) {
        let lines: Vec<String> = chunk
            .iter()
            .map(|m| json_text(&LogEvent::created(m, withheld.contains(&m.namespace))))
            .collect::<Result<_>>()?;
        let mut qb: QueryBuilder<Postgres> =
            QueryBuilder::new("INSERT INTO event_log (tenant_id, seq, namespace, created_at, line) ");
        qb.push_values(chunk.iter().zip(lines), |mut b, (m, line)| {
            b.push_bind(m.tenant.as_str().to_owned())
                .push_bind(count_to_sql(m.seq))
                .push_bind(m.namespace.as_str().to_owned())
                .push_bind(micros(m.created_at))
                .push_bind(line);
        });
        qb.build().execute(&mut *c).await.classify()?;
    }
    Ok(())
}

/// Rewrites every column of an existing memory.
async fn save(c: &mut PgConnection, m: &Memory) -> Result<()> {
    let q = sqlx::query(
        "UPDATE memories SET namespace = $3, layer = $4, content = $5, content_hash = $6, category = $7, \
         confidence = $8, provenance = $9, created_at = $10, updated_at = $11, expires_at = $12, metadata = $13, \
         supersedes = $14, superseded_by = $15, promoted_from = $16, utility = $17, evidence_count = $18, \
         access_count = $19, last_accessed_at = $20, helpful_count = $21, unhelpful_count = $22, \
         last_outcome_at = $23, seq = $24, deleted_at = $25 WHERE id = $1 AND tenant_id = $2",
    );
    bind_memory(q, m)?.execute(&mut *c).await.classify().map(drop)
}

type DedupeKey = (NamespaceKey, Layer, ContentHash);

/// The live, unsuperseded memories with these dedupe keys, in one query (served by the partial
/// unique index `memories_live_content`).
async fn live_by_hashes(
    c: &mut PgConnection,
    tenant: &TenantId,
    keys: &[DedupeKey],
) -> Result<HashMap<DedupeKey, Memory>> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let namespaces: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    let layers: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
    let hashes: Vec<&str> = keys.iter().map(|k| k.2.as_str()).collect();
    let sql = format!(
        "SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = $1 AND deleted_at IS NULL AND superseded_by IS NULL \
         AND (namespace, layer, content_hash) IN (SELECT * FROM unnest($2::text[], $3::text[], $4::text[]))"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(namespaces)
        .bind(layers)
        .bind(hashes)
        .fetch_all(&mut *c)
        .await
        .classify()?;
    let mut out = HashMap::new();
    for row in &rows {
        let m = memory_from_row(row)?;
        out.insert((m.namespace.clone(), m.layer, m.content_hash.clone()), m);
    }
    Ok(out)
}

/// The live, unsuperseded memory of the namespace and layer with this content hash.
pub(crate) async fn live_by_hash(
    c: &mut PgConnection,
    tenant: &TenantId,
    ns: &NamespaceKey,
    layer: Layer,
    hash: &ContentHash,
) -> Result<Option<Memory>> {
    let key = (ns.clone(), layer, hash.clone());
    Ok(live_by_hashes(c, tenant, std::slice::from_ref(&key)).await?.remove(&key))
}

/// The ids among `ids` that a memory of the tenant holds (tombstoned or not), as a set.
async fn taken_set(c: &mut PgConnection, tenant: &TenantId, ids: &[MemoryId]) -> Result<HashSet<MemoryId>> {
    let uuids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
    let rows: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM memories WHERE tenant_id = $1 AND id = ANY($2)")
        .bind(tenant.as_str())
        .bind(uuids)
        .fetch_all(&mut *c)
        .await
        .classify()?;
    Ok(rows.into_iter().map(MemoryId::from_uuid).collect())
}

pub(crate) async fn put(c: &mut PgConnection, tenant: &TenantId, batch: Vec<NewMemory>) -> Result<Vec<PutOutcome>> {
    // Inputs were validated by the caller; the namespaces come next, in input order.
    let mut targets: Vec<NamespaceKey> = Vec::new();
    for m in &batch {
        if !targets.contains(&m.namespace) {
            targets.push(m.namespace.clone());
        }
    }
    let withheld = namespaces::check_writable(c, tenant, &targets).await?;
    // Everything the plan needs from the store, in two queries.
    let keys: Vec<DedupeKey> = {
        let mut seen = HashSet::new();
        batch
            .iter()
            .map(|m| (m.namespace.clone(), m.layer, ContentHash::of(&m.content)))
            .filter(|k| seen.insert(k.clone()))
            .collect()
    };
    let mut stored = live_by_hashes(c, tenant, &keys).await?;
    let ids: Vec<MemoryId> = batch.iter().map(|m| m.id).collect();
    let taken = taken_set(c, tenant, &ids).await?;

    // Plan the batch in input order (as the reference store does): each input becomes a fresh
    // memory or folds into a planned copy of the memory it duplicates, an earlier input of the
    // batch or a stored one. (memory, takes a new seq, is fresh)
    let mut planned: HashMap<DedupeKey, usize> = HashMap::new();
    let mut changed: Vec<(Memory, bool, bool)> = Vec::new();
    let mut new_ids = HashSet::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut corrections = Vec::new();
    let mut embeddings: Vec<(MemoryId, Embedding)> = Vec::new();
    for m in batch {
        if let Some(old) = m.supersedes {
            corrections.push((outcomes.len(), old, m.updated_at));
        }
        let key = (m.namespace.clone(), m.layer, ContentHash::of(&m.content));
        let slot = match planned.get(&key) {
            Some(&slot) => Some(slot),
            None => stored.remove(&key).map(|existing| {
                changed.push((existing, false, false));
                planned.insert(key.clone(), changed.len() - 1);
                changed.len() - 1
            }),
        };
        if let Some(slot) = slot {
            let merged = changed[slot].0.absorb_duplicate(&m)?;
            changed[slot].1 |= !merged.is_empty();
            outcomes.push(PutOutcome::Existing { id: changed[slot].0.id, merged });
            continue;
        }
        if !new_ids.insert(m.id) || taken.contains(&m.id) {
            return Err(Error::already_exists(format!("memory id {} is already taken", m.id)));
        }
        outcomes.push(PutOutcome::Created { id: m.id });
        if let Some(e) = &m.embedding {
            embeddings.push((m.id, e.clone()));
        }
        // A memory that arrives superseded (an import) is no dedupe target, as when stored.
        if m.superseded_by.is_none() {
            planned.insert(key, changed.len());
        }
        changed.push((m.into_memory(tenant.clone(), 0), true, true));
    }

    let renumbered = changed.iter().filter(|c| c.1).count();
    let mut next_seq = if renumbered == 0 { 0 } else { reserve_seqs(c, renumbered).await? };
    let mut fresh = Vec::new();
    let mut last_write: HashMap<NamespaceKey, Timestamp> = HashMap::new();
    for (mut memory, needs_seq, is_fresh) in changed {
        if needs_seq {
            memory.seq = next_seq;
            next_seq += 1;
        }
        if is_fresh {
            let t = last_write.entry(memory.namespace.clone()).or_insert(memory.created_at);
            *t = (*t).max(memory.created_at);
            fresh.push(memory);
        } else if needs_seq {
            save(c, &memory).await?;
        } else {
            bump_evidence(c, &memory).await?;
        }
    }
    insert_all(c, &fresh).await?;
    insert_embeddings(c, tenant, &embeddings).await?;
    log_created(c, &fresh, &withheld).await?;
    for (ns, at) in &last_write {
        namespaces::note_write(c, tenant, ns, *at).await?;
    }
    // Corrections, in the same transaction: the memory each input corrects stops being current.
    for (i, old, at) in corrections {
        let new = outcomes[i].id();
        if new != old && get(c, tenant, old).await?.is_some_and(|m| m.superseded_by != Some(new)) {
            let mut patch = MemoryPatch::default();
            patch.superseded_by = Some(Some(new));
            update(c, tenant, old, &patch, at).await?;
        }
    }
    notify(c, tenant).await?;
    Ok(outcomes)
}

/// Per input, the live memory a put of it alone would deduplicate into.
pub(crate) async fn find_duplicates(
    c: &mut PgConnection,
    tenant: &TenantId,
    inputs: &[NewMemory],
) -> Result<Vec<Option<Memory>>> {
    let keys: Vec<DedupeKey> =
        inputs.iter().map(|m| (m.namespace.clone(), m.layer, ContentHash::of(&m.content))).collect();
    let found = live_by_hashes(c, tenant, &keys).await?;
    Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
}

/// Moves live memories of `from` into `to` ([`memory_core::Store::move_memories`]).
pub(crate) async fn move_to(
    c: &mut PgConnection,
    tenant: &TenantId,
    from: &NamespaceKey,
    to: &NamespaceKey,
    ids: &[MemoryId],
    at: Timestamp,
) -> Result<Vec<MoveOutcome>> {
    if from == to {
        return Err(Error::invalid_input(format!("cannot move memories of {:?} into itself", to.as_str())));
    }
    namespaces::check_writable(c, tenant, std::slice::from_ref(to)).await?;
    let mut memories = Vec::with_capacity(ids.len());
    for id in ids {
        memories.push(get(c, tenant, *id).await?.ok_or_else(|| not_found(*id))?);
    }
    let keys: Vec<DedupeKey> = memories.iter().map(|m| (to.clone(), m.layer, m.content_hash.clone())).collect();
    let survivors = live_by_hashes(c, tenant, &keys).await?;
    let (records, outcomes) = plan_move(memories, from, to, at, |m| {
        Ok(survivors.get(&(to.clone(), m.layer, m.content_hash.clone())).cloned())
    })?;
    if !records.is_empty() {
        let first = reserve_seqs(c, records.len()).await?;
        // Superseded records first: a moved duplicate leaves the live-content index before its
        // survivor (already in `to`) is rewritten.
        let (superseded, live): (Vec<Memory>, Vec<Memory>) =
            records.into_iter().partition(|m| m.superseded_by.is_some());
        for (seq, mut record) in (first..).zip(superseded.into_iter().chain(live)) {
            record.seq = seq;
            save(c, &record).await?;
        }
    }
    crate::entities::move_links(c, tenant, to, ids, at).await?;
    notify(c, tenant).await?;
    Ok(outcomes)
}

/// Stores the evidence count a duplicate raised (usage statistics keep the seq).
async fn bump_evidence(c: &mut PgConnection, m: &Memory) -> Result<()> {
    sqlx::query("UPDATE memories SET evidence_count = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(m.tenant.as_str())
        .bind(m.id.as_uuid())
        .bind(count_to_sql(m.stats.evidence_count))
        .execute(&mut *c)
        .await
        .classify()
        .map(drop)
}

/// The ids among `ids` that a memory of the tenant holds (tombstoned or not), each once, in
/// the order of `ids`.
pub(crate) async fn taken_ids(c: &mut PgConnection, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<MemoryId>> {
    let taken = taken_set(c, tenant, ids).await?;
    let mut seen = HashSet::new();
    Ok(ids.iter().filter(|id| taken.contains(id) && seen.insert(**id)).copied().collect())
}

/// The latest value of the change sequence.
pub(crate) async fn last_seq(c: &mut PgConnection) -> Result<u64> {
    let v: i64 = sqlx::query_scalar("SELECT seq FROM store_meta").fetch_one(&mut *c).await.classify()?;
    Ok(v as u64)
}

pub(crate) async fn get(c: &mut PgConnection, tenant: &TenantId, id: MemoryId) -> Result<Option<Memory>> {
    let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .classify()?;
    row.as_ref().map(memory_from_row).transpose()
}

/// The live memories among `ids`, in the order of `ids`, each once: one query.
pub(crate) async fn get_many(c: &mut PgConnection, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<Memory>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let uuids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
    let sql =
        format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = $1 AND id = ANY($2) AND deleted_at IS NULL");
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(tenant.as_str()).bind(uuids).fetch_all(&mut *c).await.classify()?;
    let mut found: HashMap<MemoryId, Memory> = memories_from_rows(&rows)?.into_iter().map(|m| (m.id, m)).collect();
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}

/// Appends the `WHERE` terms of a memory filter (after `tenant_id = ...`).
fn push_filter(qb: &mut QueryBuilder<Postgres>, tenant: &TenantId, filter: &MemoryFilter) {
    qb.push(" WHERE tenant_id = ").push_bind(tenant.as_str().to_owned()).push(" AND deleted_at IS NULL");
    match filter.namespaces.as_deref() {
        Some([one]) => {
            qb.push(" AND namespace = ").push_bind(one.as_str().to_owned());
        }
        Some(namespaces) => {
            let keys: Vec<String> = namespaces.iter().map(|n| n.as_str().to_owned()).collect();
            qb.push(" AND namespace = ANY(").push_bind(keys).push(")");
        }
        None => {}
    }
    if let Some(layers) = &filter.layers {
        let names: Vec<String> = layers.iter().map(|l| l.as_str().to_owned()).collect();
        qb.push(" AND layer = ANY(").push_bind(names).push(")");
    }
    if let Some(category) = &filter.category {
        qb.push(" AND category = ").push_bind(category.as_str().to_owned());
    }
    if let Some(t) = filter.created_from {
        qb.push(" AND created_at >= ").push_bind(micros(t));
    }
    if let Some(t) = filter.created_before {
        qb.push(" AND created_at < ").push_bind(micros(t));
    }
    if filter.exclude_superseded {
        qb.push(" AND superseded_by IS NULL");
    }
}

pub(crate) async fn list(
    c: &mut PgConnection,
    tenant: &TenantId,
    filter: &MemoryFilter,
    page: &PageRequest,
) -> Result<Page<Memory>> {
    let mut qb = QueryBuilder::new(format!("SELECT {MEMORY_COLUMNS} FROM memories"));
    push_filter(&mut qb, tenant, filter);
    push_page(&mut qb, "id", page, |id: MemoryId| id.as_uuid())?;
    let rows = qb.build().fetch_all(&mut *c).await.classify()?;
    let rows = memories_from_rows(&rows)?;
    debug_assert!(rows.iter().all(|m| filter.matches(m)), "SQL filter disagrees with MemoryFilter::matches");
    Ok(into_page(rows, page.limit, |m| m.id))
}

pub(crate) async fn count(c: &mut PgConnection, tenant: &TenantId, filter: &MemoryFilter) -> Result<u64> {
    let mut qb = QueryBuilder::new("SELECT count(*) FROM memories");
    push_filter(&mut qb, tenant, filter);
    let n: i64 = qb.build_query_scalar().fetch_one(&mut *c).await.classify()?;
    Ok(n as u64)
}

pub(crate) async fn update(
    c: &mut PgConnection,
    tenant: &TenantId,
    id: MemoryId,
    patch: &MemoryPatch,
    at: Timestamp,
) -> Result<Memory> {
    let old = get(c, tenant, id).await?.ok_or_else(|| not_found(id))?;
    let mut next = patch.applied_to(&old)?;
    if next.superseded_by.is_none()
        && let Some(other) = live_by_hash(c, tenant, &next.namespace, next.layer, &next.content_hash).await?
        && other.id != id
    {
        return Err(Error::conflict(format!(
            "namespace {:?} already holds a {} memory with this content",
            next.namespace.as_str(),
            next.layer
        )));
    }
    next.updated_at = at.max(next.created_at);
    next.seq = reserve_seqs(c, 1).await?;
    save(c, &next).await?;
    if next.content_hash != old.content_hash {
        drop_embeddings(c, tenant, id).await?;
    }
    Ok(next)
}

pub(crate) async fn delete(c: &mut PgConnection, tenant: &TenantId, id: MemoryId, at: Timestamp) -> Result<bool> {
    let deleted_at: Option<Option<i64>> =
        sqlx::query_scalar("SELECT deleted_at FROM memories WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
            .bind(tenant.as_str())
            .bind(id.as_uuid())
            .fetch_optional(&mut *c)
            .await
            .classify()?;
    match deleted_at {
        None => Err(not_found(id)),
        Some(Some(_)) => Ok(false),
        Some(None) => {
            let seq = reserve_seqs(c, 1).await?;
            sqlx::query("UPDATE memories SET deleted_at = $3, seq = $4 WHERE tenant_id = $1 AND id = $2")
                .bind(tenant.as_str())
                .bind(id.as_uuid())
                .bind(micros(at))
                .bind(count_to_sql(seq))
                .execute(&mut *c)
                .await
                .classify()?;
            notify(c, tenant).await?;
            Ok(true)
        }
    }
}

/// Tombstones every live memory of a namespace, in id order (each takes the next `seq`).
pub(crate) async fn tombstone_namespace(
    c: &mut PgConnection,
    tenant: &TenantId,
    ns: &NamespaceKey,
    at: Timestamp,
) -> Result<()> {
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM memories WHERE tenant_id = $1 AND namespace = $2 AND deleted_at IS NULL",
    )
    .bind(tenant.as_str())
    .bind(ns.as_str())
    .fetch_one(&mut *c)
    .await
    .classify()?;
    if n == 0 {
        return Ok(());
    }
    let first = reserve_seqs(c, n as usize).await?;
    sqlx::query(
        "UPDATE memories m SET deleted_at = $3, seq = $4 + d.rn - 1 FROM \
         (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM memories \
          WHERE tenant_id = $1 AND namespace = $2 AND deleted_at IS NULL) d \
         WHERE m.tenant_id = $1 AND m.id = d.id",
    )
    .bind(tenant.as_str())
    .bind(ns.as_str())
    .bind(micros(at))
    .bind(count_to_sql(first))
    .execute(&mut *c)
    .await
    .classify()?;
    notify(c, tenant).await
}

/// Removes the tenant's memories tombstoned at or before `before`; returns how many.
pub(crate) async fn purge(c: &mut PgConnection, tenant: &TenantId, before: Timestamp) -> Result<u64> {
    sqlx::query(
        "DELETE FROM embeddings e USING memories m WHERE e.tenant_id = $1 AND m.tenant_id = $1 \
         AND m.id = e.memory_id AND m.deleted_at IS NOT NULL AND m.deleted_at <= $2",
    )
    .bind(tenant.as_str())
    .bind(micros(before))
    .execute(&mut *c)
    .await
    .classify()?;
    let done = sqlx::query("DELETE FROM memories WHERE tenant_id = $1 AND deleted_at IS NOT NULL AND deleted_at <= $2")
        .bind(tenant.as_str())
        .bind(micros(before))
        .execute(&mut *c)
        .await
        .classify()?;
    Ok(done.rows_affected())
}

pub(crate) async fn changes_since(
    c: &mut PgConnection,
    tenant: &TenantId,
    after_seq: u64,
    limit: usize,
) -> Result<Vec<Memory>> {
    // No seq exceeds i64::MAX, so a larger `after_seq` simply finds nothing.
    let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
    let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(after)
        .bind(limit as i64)
        .fetch_all(&mut *c)
        .await
        .classify()?;
    memories_from_rows(&rows)
}

/// The usage statistics of the live memories among `ids`, locked for update.
async fn live_stats(c: &mut PgConnection, tenant: &TenantId, ids: &[Uuid]) -> Result<HashMap<MemoryId, UsageStats>> {
    let rows = sqlx::query(
        "SELECT id, utility, evidence_count, access_count, last_accessed_at, helpful_count, unhelpful_count, \
         last_outcome_at FROM memories WHERE tenant_id = $1 AND id = ANY($2) AND deleted_at IS NULL \
         ORDER BY id FOR UPDATE",
    )
    .bind(tenant.as_str())
    .bind(ids)
    .fetch_all(&mut *c)
    .await
    .classify()?;
    rows.iter()
        .map(|row| {
            let cols = Cols(row);
            Ok((MemoryId::from_uuid(cols.uuid("id")?), stats_from_row(&cols)?))
        })
        .collect()
}

pub(crate) async fn record_outcomes(
    c: &mut PgConnection,
    tenant: &TenantId,
    ids: &[MemoryId],
    outcome: Outcome,
    at: Timestamp,
) -> Result<()> {
    let uuids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
    let mut stats = live_stats(c, tenant, &uuids).await?;
    if let Some(missing) = ids.iter().find(|id| !stats.contains_key(id)) {
        return Err(not_found(*missing));
    }
    // Applied one report at a time, in order, so the float arithmetic matches the reference.
    for id in ids {
        stats.get_mut(id).expect("checked").apply_outcome(outcome, at)?;
    }
    for (id, s) in &stats {
        sqlx::query(
            "UPDATE memories SET utility = $3, evidence_count = $4, access_count = $5, last_accessed_at = $6, \
             helpful_count = $7, unhelpful_count = $8, last_outcome_at = $9 WHERE tenant_id = $1 AND id = $2",
        )
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(s.utility)
        .bind(count_to_sql(s.evidence_count))
        .bind(count_to_sql(s.access_count))
        .bind(opt_micros(s.last_accessed_at))
        .bind(count_to_sql(s.helpful_count))
        .bind(count_to_sql(s.unhelpful_count))
        .bind(opt_micros(s.last_outcome_at))
        .execute(&mut *c)
        .await
        .classify()?;
    }
    Ok(())
}

pub(crate) async fn record_access(
    c: &mut PgConnection,
    tenant: &TenantId,
    ids: &[MemoryId],
    at: Timestamp,
) -> Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let uuids: Vec<Uuid> = ids.iter().map(|id| id.as_uuid()).collect();
    // One statement; an id listed twice counts twice.
    let counted: Vec<i64> = sqlx::query_scalar(
        "UPDATE memories m SET access_count = m.access_count + k.n, last_accessed_at = $3 \
         FROM (SELECT id, count(*) AS n FROM unnest($2::uuid[]) AS id GROUP BY id) k \
         WHERE m.tenant_id = $1 AND m.id = k.id AND m.deleted_at IS NULL RETURNING k.n",
    )
    .bind(tenant.as_str())
    .bind(uuids)
    .bind(micros(at))
    .fetch_all(&mut *c)
    .await
    .classify()?;
    Ok(counted.iter().map(|n| *n as u64).sum())
}

/// Whether the memory is a live memory of the tenant, and its namespace.
pub(crate) async fn live_namespace_of(c: &mut PgConnection, tenant: &TenantId, id: MemoryId) -> Result<Option<String>> {
    sqlx::query("SELECT namespace FROM memories WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL")
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .classify()?
        .map(|row| row.try_get::<String, _>(0).classify())
        .transpose()
}
