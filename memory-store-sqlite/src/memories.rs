//! Memories: the SQL behind the memory and usage-statistics methods of [`memory_core::Store`],
//! including deduplication and the store-wide change sequence.
//!
//! Each function runs inside a transaction opened by the caller and checks things in the
//! reference store's order, so both report the same error when several things are wrong.

use std::collections::{HashMap, HashSet};

use memory_core::{
    ContentHash, Embedding, Error, Layer, Memory, MemoryFilter, MemoryId, MemoryPatch, MoveOutcome, NamespaceKey,
    NewMemory, Outcome, Page, PageRequest, PutOutcome, Result, TenantId, Timestamp, UsageStats, plan_move,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use crate::error::Classify;
use crate::event_log::{LogContent, ToLog};
use crate::namespaces;
use crate::paging::{fetch_limit, into_page, start_after};
use crate::rows::{
    MEMORY_COLUMNS, MEMORY_VALUES, STATS_COLUMNS, count_to_sql, execute_memory, json_text, memory_from_row, memory_id,
    micros, stats_from_row,
};

fn not_found(id: MemoryId) -> Error {
    Error::not_found(format!("memory {id} not found"))
}

/// Takes the next `n` values of the change sequence; returns the first.
fn reserve_seqs(conn: &Connection, n: usize) -> Result<u64> {
    let n = i64::try_from(n).map_err(|_| Error::invalid_input("batch too large"))?;
    let last: i64 = conn
        .prepare_cached("UPDATE store_meta SET value = value + ?1 WHERE name = 'seq' RETURNING value")
        .classify()?
        .query_row([n], |r| r.get(0))
        .classify()?;
    Ok((last - n + 1) as u64)
}

fn insert(conn: &Connection, m: &Memory) -> Result<()> {
    let sql = format!("INSERT INTO memories ({MEMORY_COLUMNS}) VALUES ({MEMORY_VALUES})");
    let mut stmt = conn.prepare_cached(&sql).classify()?;
    execute_memory(&mut stmt, m).map(drop)
}

/// Stores the vector a created memory's input carried.
fn insert_embedding(conn: &Connection, tenant: &TenantId, id: MemoryId, e: &Embedding) -> Result<()> {
    conn.prepare_cached("INSERT INTO embeddings (tenant, memory_id, model, vector) VALUES (?1, ?2, ?3, ?4)")
        .classify()?
        .execute((tenant.as_str(), id.as_uuid(), e.model.as_str(), Embedding::to_bytes(&e.vector)))
        .classify()
        .map(drop)
}

/// Drops every stored vector of a memory (its content changed).
fn drop_embeddings(conn: &Connection, tenant: &TenantId, id: MemoryId) -> Result<()> {
    conn.prepare_cached("DELETE FROM embeddings WHERE tenant = ?1 AND memory_id = ?2")
        .classify()?
        .execute((tenant.as_str(), id.as_uuid()))
        .classify()
        .map(drop)
}

/// Per id, in order, the vector of `model` stored with the live memory `id`
/// ([`memory_core::Store::get_embeddings`]).
pub(crate) fn embeddings(
    conn: &Connection,
    tenant: &TenantId,
    model: &str,
    ids: &[MemoryId],
) -> Result<Vec<Option<Vec<f32>>>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT e.vector FROM memories m JOIN embeddings e ON e.tenant = m.tenant AND e.memory_id = m.id \
             WHERE m.tenant = ?1 AND m.id = ?2 AND m.deleted_at IS NULL AND e.model = ?3",
        )
        .classify()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let bytes: Option<Vec<u8>> =
            stmt.query_row((tenant.as_str(), id.as_uuid(), model), |r| r.get(0)).optional().classify()?;
        out.push(match bytes {
            Some(bytes) => Some(Embedding::from_bytes(&bytes).ok_or_else(|| {
                Error::internal(format!("the stored {model:?} vector of memory {id} is not a whole number of f32s"))
            })?),
            None => None,
        });
    }
    Ok(out)
}

/// Rewrites every column of an existing memory (found by its key, tenant and id).
fn save(conn: &Connection, m: &Memory) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE memories SET namespace = ?3, layer = ?4, content = ?5, content_hash = ?6, \
             category = ?7, confidence = ?8, provenance = ?9, created_at = ?10, updated_at = ?11, expires_at = ?12, \
             metadata = ?13, supersedes = ?14, superseded_by = ?15, promoted_from = ?16, utility = ?17, \
             evidence_count = ?18, access_count = ?19, last_accessed_at = ?20, helpful_count = ?21, \
             unhelpful_count = ?22, last_outcome_at = ?23, seq = ?24, deleted_at = ?25 WHERE tenant = ?2 AND id = ?1",
        )
        .classify()?;
    execute_memory(&mut stmt, m).map(drop)
}

/// The live, unsuperseded memory of the namespace and layer with this content hash: the dedupe
/// lookup, served by the partial unique index `memories_live_content`.
pub(crate) fn live_by_hash(
    conn: &Connection,
    tenant: &TenantId,
    ns: &NamespaceKey,
    layer: Layer,
    hash: &ContentHash,
) -> Result<Option<Memory>> {
    let sql = format!(
        "SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant = ?1 AND namespace = ?2 AND layer = ?3 \
         AND content_hash = ?4 AND deleted_at IS NULL AND superseded_by IS NULL"
    );
    conn.prepare_cached(&sql)
        .classify()?
        .query_row((tenant.as_str(), ns.as_str(), layer.as_str(), hash.as_str()), memory_from_row)
        .optional()
        .classify()
}

/// Whether a memory of the tenant (tombstoned or not) has this id.
fn id_taken(conn: &Connection, tenant: &TenantId, id: MemoryId) -> Result<bool> {
    conn.prepare_cached("SELECT 1 FROM memories WHERE tenant = ?1 AND id = ?2")
        .classify()?
        .exists((tenant.as_str(), id.as_uuid()))
        .classify()
}

/// What a put wrote: one outcome per input, and the memories it created, as stored.
pub(crate) struct PutResult {
    pub outcomes: Vec<PutOutcome>,
    pub created: Vec<ToLog>,
}

pub(crate) fn put(conn: &Connection, tenant: &TenantId, batch: Vec<NewMemory>) -> Result<PutResult> {
    // Inputs were validated by the caller; the namespaces come next, in input order.
    let mut logs: HashMap<NamespaceKey, LogContent> = HashMap::new();
    for m in &batch {
        if !logs.contains_key(&m.namespace) {
            let content = namespaces::check_writable(conn, tenant, &m.namespace)?;
            logs.insert(m.namespace.clone(), content);
        }
    }
    // Plan the batch in input order (as the reference store does): each input becomes a fresh
    // memory or folds into a planned copy of the memory it duplicates, an earlier input of the
    // batch or a stored one. `true` marks a memory that takes a new seq.
    let mut planned: HashMap<(NamespaceKey, Layer, ContentHash), usize> = HashMap::new();
    let mut changed: Vec<(Memory, bool, bool)> = Vec::new();
    let mut new_ids = HashSet::new();
    let mut outcomes = Vec::with_capacity(batch.len());
    let mut corrections = Vec::new();
    let mut embeddings = Vec::new();
    for mut m in batch {
        if let Some(old) = m.supersedes {
            corrections.push((outcomes.len(), old, m.updated_at));
        }
        let key = (m.namespace.clone(), m.layer, ContentHash::of(&m.content));
        let slot = match planned.get(&key) {
            Some(&slot) => Some(slot),
            None => match live_by_hash(conn, tenant, &key.0, key.1, &key.2)? {
                Some(stored) => {
                    changed.push((stored, false, false));
                    planned.insert(key.clone(), changed.len() - 1);
                    Some(changed.len() - 1)
                }
                None => None,
            },
        };
        if let Some(slot) = slot {
            let merged = changed[slot].0.absorb_duplicate(&m)?;
            changed[slot].1 |= !merged.is_empty();
            outcomes.push(PutOutcome::Existing { id: changed[slot].0.id, merged });
            continue;
        }
        if !new_ids.insert(m.id) || id_taken(conn, tenant, m.id)? {
            return Err(Error::already_exists(format!("memory id {} is already taken", m.id)));
        }
        outcomes.push(PutOutcome::Created { id: m.id });
        if let Some(e) = m.embedding.take() {
            embeddings.push((m.id, e));
        }
        // A memory that arrives superseded (an import) is no dedupe target, as when stored.
        if m.superseded_by.is_none() {
            planned.insert(key, changed.len());
        }
        changed.push((m.into_memory(tenant.clone(), 0), true, true));
    }

    let renumbered = changed.iter().filter(|c| c.1).count();
    let mut next_seq = if renumbered == 0 { 0 } else { reserve_seqs(conn, renumbered)? };
    let mut created = Vec::new();
    let mut last_write: HashMap<NamespaceKey, Timestamp> = HashMap::new();
    for (mut memory, needs_seq, fresh) in changed {
        if needs_seq {
            memory.seq = next_seq;
            next_seq += 1;
        }
        if fresh {
            insert(conn, &memory)?;
            let t = last_write.entry(memory.namespace.clone()).or_insert(memory.created_at);
            *t = (*t).max(memory.created_at);
            created.push(ToLog { content: logs[&memory.namespace], memory });
        } else if needs_seq {
            save(conn, &memory)?;
        } else {
            bump_evidence(conn, &memory)?;
        }
    }
    for (id, e) in &embeddings {
        insert_embedding(conn, tenant, *id, e)?;
    }
    for (ns, at) in &last_write {
        namespaces::note_write(conn, tenant, ns, *at)?;
    }
    // Corrections, in the same transaction: the memory each input corrects stops being current.
    for (i, old, at) in corrections {
        let new = outcomes[i].id();
        if new != old && get(conn, tenant, old)?.is_some_and(|m| m.superseded_by != Some(new)) {
            let mut patch = memory_core::MemoryPatch::default();
            patch.superseded_by = Some(Some(new));
            update(conn, tenant, old, &patch, at)?;
        }
    }
    Ok(PutResult { outcomes, created })
}

/// Moves live memories of `from` into `to` ([`memory_core::Store::move_memories`]).
pub(crate) fn move_to(
    conn: &Connection,
    tenant: &TenantId,
    from: &NamespaceKey,
    to: &NamespaceKey,
    ids: &[MemoryId],
    at: Timestamp,
) -> Result<Vec<MoveOutcome>> {
    namespaces::check_writable(conn, tenant, to)?;
    let mut memories = Vec::with_capacity(ids.len());
    for id in ids {
        memories.push(get(conn, tenant, *id)?.ok_or_else(|| Error::not_found(format!("memory {id} not found")))?);
    }
    let (records, outcomes) =
        plan_move(memories, from, to, at, |m| live_by_hash(conn, tenant, to, m.layer, &m.content_hash))?;
    if !records.is_empty() {
        let first = reserve_seqs(conn, records.len())?;
        // Superseded records first: a moved duplicate leaves the live-content index before its
        // survivor (already in `to`) is rewritten.
        let (superseded, live): (Vec<Memory>, Vec<Memory>) =
            records.into_iter().partition(|m| m.superseded_by.is_some());
        for (seq, mut record) in (first..).zip(superseded.into_iter().chain(live)) {
            record.seq = seq;
            save(conn, &record)?;
        }
    }
    crate::entities::move_links(conn, tenant, to, ids, at)?;
    Ok(outcomes)
}

/// Stores the evidence count a duplicate raised (usage statistics keep the seq).
fn bump_evidence(conn: &Connection, m: &Memory) -> Result<()> {
    conn.prepare_cached("UPDATE memories SET evidence_count = ?3 WHERE tenant = ?1 AND id = ?2")
        .classify()?
        .execute((m.tenant.as_str(), m.id.as_uuid(), count_to_sql(m.stats.evidence_count)))
        .classify()
        .map(drop)
}

/// The ids among `ids` that a memory of the tenant holds (tombstoned or not), each once.
pub(crate) fn taken_ids(conn: &Connection, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<MemoryId>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        if seen.insert(*id) && id_taken(conn, tenant, *id)? {
            out.push(*id);
        }
    }
    Ok(out)
}

/// The latest value of the change sequence.
pub(crate) fn last_seq(conn: &Connection) -> Result<u64> {
    let v: i64 = conn
        .prepare_cached("SELECT value FROM store_meta WHERE name = 'seq'")
        .classify()?
        .query_row([], |r| r.get(0))
        .classify()?;
    Ok(v as u64)
}

pub(crate) fn get(conn: &Connection, tenant: &TenantId, id: MemoryId) -> Result<Option<Memory>> {
    let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant = ?1 AND id = ?2 AND deleted_at IS NULL");
    conn.prepare_cached(&sql)
        .classify()?
        .query_row((tenant.as_str(), id.as_uuid()), memory_from_row)
        .optional()
        .classify()
}

pub(crate) fn get_many(conn: &Connection, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<Memory>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        if seen.insert(*id)
            && let Some(m) = get(conn, tenant, *id)?
        {
            out.push(m);
        }
    }
    Ok(out)
}

/// The `WHERE` clause of a memory filter and its arguments. Lists are passed as one JSON
/// array argument, so the statement text (and its cached plan) depends only on which fields
/// are set.
fn filter_clause(tenant: &TenantId, filter: &MemoryFilter) -> Result<(String, Vec<Value>)> {
    let mut sql = String::from("tenant = ? AND deleted_at IS NULL");
    let mut args = vec![Value::Text(tenant.as_str().to_owned())];
    match filter.namespaces.as_deref() {
        // One namespace (an export, a verify): `=` lets the `(tenant, namespace, id)` index serve
        // both the filter and the id order, so a page costs its own rows, not the tenant's.
        Some([one]) => {
            sql.push_str(" AND namespace = ?");
            args.push(Value::Text(one.as_str().to_owned()));
        }
        Some(namespaces) => {
            sql.push_str(" AND namespace IN (SELECT value FROM json_each(?))");
            let keys: Vec<&str> = namespaces.iter().map(NamespaceKey::as_str).collect();
            args.push(Value::Text(json_text(&keys)?));
        }
        None => {}
    }
    if let Some(layers) = &filter.layers {
        sql.push_str(" AND layer IN (SELECT value FROM json_each(?))");
        let names: Vec<&str> = layers.iter().map(|l: &Layer| l.as_str()).collect();
        args.push(Value::Text(json_text(&names)?));
    }
    if let Some(category) = &filter.category {
        sql.push_str(" AND category = ?");
        args.push(Value::Text(category.as_str().to_owned()));
    }
    if let Some(t) = filter.created_from {
        sql.push_str(" AND created_at >= ?");
        args.push(Value::Integer(micros(t)));
    }
    if let Some(t) = filter.created_before {
        sql.push_str(" AND created_at < ?");
        args.push(Value::Integer(micros(t)));
    }
    if filter.exclude_superseded {
        // The unary `+` keeps SQLite from taking the partial dedupe index (whose condition this
        // term would satisfy) for listings: it is in content-hash order, so a page could not
        // start at its cursor and would have to sort every match.
        sql.push_str(" AND +superseded_by IS NULL");
    }
    Ok((sql, args))
}

/// The `ORDER BY` term of a listing. A filter naming both namespaces and layers is served by
/// the live `(tenant, namespace, layer, id)` index (one range per namespace and layer, then a
/// sort of just the matches). Without statistics SQLite takes `tenant = ?` for selective and
/// would rather walk the tenant's `(tenant, id)` index for its order, reading every memory of
/// the tenant; the unary `+` (same values, same order) keeps it from using an index for the
/// order. Other filters keep the plain term, whose index order spares a sort of large sets.
fn order_term(filter: &MemoryFilter) -> &'static str {
    if filter.namespaces.is_some() && filter.layers.is_some() { "+id" } else { "id" }
}

/// The statement of one page of [`list`] and its arguments.
fn list_statement(tenant: &TenantId, filter: &MemoryFilter, page: &PageRequest) -> Result<(String, Vec<Value>)> {
    let after = start_after(page, |id: MemoryId| id.as_uuid())?;
    let (clause, mut args) = filter_clause(tenant, filter)?;
    let order = order_term(filter);
    let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE {clause} AND id > ? ORDER BY {order} LIMIT ?");
    args.push(Value::Blob(after));
    args.push(Value::Integer(fetch_limit(page.limit)));
    Ok((sql, args))
}

pub(crate) fn list(
    conn: &Connection,
    tenant: &TenantId,
    filter: &MemoryFilter,
    page: &PageRequest,
) -> Result<Page<Memory>> {
    let (sql, args) = list_statement(tenant, filter, page)?;
    let mut stmt = conn.prepare_cached(&sql).classify()?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), memory_from_row).classify()?;
    let rows = rows.collect::<rusqlite::Result<Vec<_>>>().classify()?;
    // The SQL must say what the filter's own rule says; a field added to the filter and
    // forgotten here shows up in tests.
    debug_assert!(rows.iter().all(|m| filter.matches(m)), "SQL filter disagrees with MemoryFilter::matches");
    Ok(into_page(rows, page.limit, |m| m.id))
}

/// The statement of [`count`] and its arguments.
fn count_statement(tenant: &TenantId, filter: &MemoryFilter) -> Result<(String, Vec<Value>)> {
    let (clause, args) = filter_clause(tenant, filter)?;
    Ok((format!("SELECT count(*) FROM memories WHERE {clause}"), args))
}

pub(crate) fn count(conn: &Connection, tenant: &TenantId, filter: &MemoryFilter) -> Result<u64> {
    let (sql, args) = count_statement(tenant, filter)?;
    let n: i64 =
        conn.prepare_cached(&sql).classify()?.query_row(rusqlite::params_from_iter(args), |r| r.get(0)).classify()?;
    Ok(n as u64)
}

pub(crate) fn update(
    conn: &Connection,
    tenant: &TenantId,
    id: MemoryId,
    patch: &MemoryPatch,
    at: Timestamp,
) -> Result<Memory> {
    let old = get(conn, tenant, id)?.ok_or_else(|| not_found(id))?;
    let mut next = patch.applied_to(&old)?;
    if next.superseded_by.is_none()
        && let Some(other) = live_by_hash(conn, tenant, &next.namespace, next.layer, &next.content_hash)?
        && other.id != id
    {
        return Err(Error::conflict(format!(
            "namespace {:?} already holds a {} memory with this content",
            next.namespace.as_str(),
            next.layer
        )));
    }
    next.updated_at = at.max(next.created_at);
    next.seq = reserve_seqs(conn, 1)?;
    save(conn, &next)?;
    // The vectors described the old content.
    if next.content_hash != old.content_hash {
        drop_embeddings(conn, tenant, id)?;
    }
    Ok(next)
}

fn tombstone(conn: &Connection, tenant: &TenantId, id: MemoryId, at: Timestamp) -> Result<()> {
    let seq = reserve_seqs(conn, 1)?;
    conn.prepare_cached("UPDATE memories SET deleted_at = ?3, seq = ?4 WHERE tenant = ?1 AND id = ?2")
        .classify()?
        .execute((tenant.as_str(), id.as_uuid(), micros(at), count_to_sql(seq)))
        .classify()
        .map(drop)
}

pub(crate) fn delete(conn: &Connection, tenant: &TenantId, id: MemoryId, at: Timestamp) -> Result<bool> {
    let deleted_at: Option<Option<i64>> = conn
        .prepare_cached("SELECT deleted_at FROM memories WHERE tenant = ?1 AND id = ?2")
        .classify()?
        .query_row((tenant.as_str(), id.as_uuid()), |r| r.get(0))
        .optional()
        .classify()?;
    match deleted_at {
        None => Err(not_found(id)),
        Some(Some(_)) => Ok(false),
        Some(None) => {
            tombstone(conn, tenant, id, at)?;
            Ok(true)
        }
    }
}

/// Tombstones every live memory of a namespace, in id order (each takes the next `seq`).
pub(crate) fn tombstone_namespace(
    conn: &Connection,
    tenant: &TenantId,
    ns: &NamespaceKey,
    at: Timestamp,
) -> Result<()> {
    let ids = conn
        .prepare_cached(
            "SELECT id FROM memories WHERE tenant = ?1 AND namespace = ?2 AND deleted_at IS NULL ORDER BY id",
        )
        .classify()?
        .query_map((tenant.as_str(), ns.as_str()), |r| memory_id(r, 0))
        .classify()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .classify()?;
    for id in ids {
        tombstone(conn, tenant, id, at)?;
    }
    Ok(())
}

/// Removes the tenant's memories tombstoned at or before `before`, with their vectors;
/// returns how many.
pub(crate) fn purge(conn: &Connection, tenant: &TenantId, before: Timestamp) -> Result<u64> {
    conn.prepare_cached(
        "DELETE FROM embeddings WHERE tenant = ?1 AND memory_id IN (SELECT id FROM memories \
         WHERE tenant = ?1 AND deleted_at IS NOT NULL AND deleted_at <= ?2)",
    )
    .classify()?
    .execute((tenant.as_str(), micros(before)))
    .classify()?;
    let removed = conn
        .prepare_cached("DELETE FROM memories WHERE tenant = ?1 AND deleted_at IS NOT NULL AND deleted_at <= ?2")
        .classify()?
        .execute((tenant.as_str(), micros(before)))
        .classify()?;
    Ok(removed as u64)
}

pub(crate) fn changes_since(conn: &Connection, tenant: &TenantId, after_seq: u64, limit: usize) -> Result<Vec<Memory>> {
    // No seq exceeds i64::MAX, so a larger `after_seq` simply finds nothing.
    let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
    let sql = format!("SELECT {MEMORY_COLUMNS} FROM memories WHERE tenant = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
    conn.prepare_cached(&sql)
        .classify()?
        .query_map((tenant.as_str(), after, limit as i64), memory_from_row)
        .classify()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .classify()
}

fn live_stats(conn: &Connection, tenant: &TenantId, id: MemoryId) -> Result<Option<UsageStats>> {
    let sql = format!("SELECT {STATS_COLUMNS} FROM memories WHERE tenant = ?1 AND id = ?2 AND deleted_at IS NULL");
    conn.prepare_cached(&sql)
        .classify()?
        .query_row((tenant.as_str(), id.as_uuid()), |r| stats_from_row(r, 0))
        .optional()
        .classify()
}

fn save_stats(conn: &Connection, tenant: &TenantId, id: MemoryId, s: &UsageStats) -> Result<()> {
    conn.prepare_cached(
        "UPDATE memories SET utility = ?3, evidence_count = ?4, access_count = ?5, last_accessed_at = ?6, \
         helpful_count = ?7, unhelpful_count = ?8, last_outcome_at = ?9 WHERE tenant = ?1 AND id = ?2",
    )
    .classify()?
    .execute((
        tenant.as_str(),
        id.as_uuid(),
        s.utility,
        count_to_sql(s.evidence_count),
        count_to_sql(s.access_count),
        s.last_accessed_at.map(micros),
        count_to_sql(s.helpful_count),
        count_to_sql(s.unhelpful_count),
        s.last_outcome_at.map(micros),
    ))
    .classify()
    .map(drop)
}

pub(crate) fn record_outcomes(
    conn: &Connection,
    tenant: &TenantId,
    ids: &[MemoryId],
    outcome: Outcome,
    at: Timestamp,
) -> Result<()> {
    for id in ids {
        if live_stats(conn, tenant, *id)?.is_none() {
            return Err(not_found(*id));
        }
    }
    // Applied one report at a time, in order, so the float arithmetic matches the reference.
    for id in ids {
        let mut stats = live_stats(conn, tenant, *id)?.ok_or_else(|| not_found(*id))?;
        stats.apply_outcome(outcome, at)?;
        save_stats(conn, tenant, *id, &stats)?;
    }
    Ok(())
}

pub(crate) fn record_access(conn: &Connection, tenant: &TenantId, ids: &[MemoryId], at: Timestamp) -> Result<u64> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE memories SET access_count = access_count + 1, last_accessed_at = ?3 \
             WHERE tenant = ?1 AND id = ?2 AND deleted_at IS NULL",
        )
        .classify()?;
    let mut updated = 0;
    for id in ids {
        updated += stmt.execute((tenant.as_str(), id.as_uuid(), micros(at))).classify()? as u64;
    }
    Ok(updated)
}

#[cfg(test)]
mod tests;
