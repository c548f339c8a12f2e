//! Encodings shared by every table, and conversions between domain records and rows.
//!
//! Times are microseconds since the epoch (`i64`), ids 16-byte UUID blobs, counters `u64`
//! stored bit-for-bit in `i64`, enums their lowercase names, and maps or lists JSON text.
//! Stored data that does not decode is reported as a conversion failure (kind `Internal`).

use std::str::FromStr;

use memory_core::{
    ApiKey, ApiKeyId, AuditId, AuditRecord, ContentHash, Entity, EntityId, Error, JobRun, KeyHash, Memory, MemoryId,
    Namespace, Principal, Proposal, ProposalId, Result, Timestamp, UsageStats,
};
use rusqlite::types::Type;
use rusqlite::{Row, Statement};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::Classify;

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_micros()
}

pub(crate) fn opt_micros(t: Option<Timestamp>) -> Option<i64> {
    t.map(Timestamp::as_micros)
}

/// `u64` counters keep every bit: values above `i64::MAX` come back unchanged.
pub(crate) fn count_to_sql(v: u64) -> i64 {
    v as i64
}

fn count_from_sql(v: i64) -> u64 {
    v as u64
}

/// JSON text of a map or list (serializing these types cannot fail; the error path is for
/// completeness).
pub(crate) fn json_text(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode JSON: {e}")).with_source(e))
}

fn bad_column(idx: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

fn parsed<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(idx)?;
    text.parse().map_err(|e| bad_column(idx, e))
}

fn opt_parsed<T>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: Option<String> = row.get(idx)?;
    text.map(|t| t.parse().map_err(|e| bad_column(idx, e))).transpose()
}

fn json<T: DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text).map_err(|e| bad_column(idx, e))
}

fn opt_json<T: DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| serde_json::from_str(&t).map_err(|e| bad_column(idx, e))).transpose()
}

fn time(row: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    row.get(idx).map(Timestamp::from_micros)
}

fn opt_time(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    Ok(row.get::<_, Option<i64>>(idx)?.map(Timestamp::from_micros))
}

fn count(row: &Row<'_>, idx: usize) -> rusqlite::Result<u64> {
    row.get(idx).map(count_from_sql)
}

fn confidence(row: &Row<'_>, idx: usize) -> rusqlite::Result<memory_core::Confidence> {
    memory_core::Confidence::new(row.get(idx)?).map_err(|e| bad_column(idx, e))
}

pub(crate) fn memory_id(row: &Row<'_>, idx: usize) -> rusqlite::Result<MemoryId> {
    row.get(idx).map(MemoryId::from_uuid)
}

fn opt_memory_id(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<MemoryId>> {
    Ok(row.get::<_, Option<Uuid>>(idx)?.map(MemoryId::from_uuid))
}

// ---- memories ------------------------------------------------------------------------------

/// Columns of a memory row, in the order of [`memory_from_row`] and [`MEMORY_VALUES`].
pub(crate) const MEMORY_COLUMNS: &str = "id, tenant, namespace, layer, content, content_hash, category, \
     confidence, provenance, created_at, updated_at, expires_at, metadata, supersedes, superseded_by, \
     promoted_from, utility, evidence_count, access_count, last_accessed_at, helpful_count, unhelpful_count, \
     last_outcome_at, seq, deleted_at";

/// Placeholders matching [`MEMORY_COLUMNS`].
pub(crate) const MEMORY_VALUES: &str = "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25";

/// Columns of the usage statistics, in the order of [`stats_from_row`] starting at `first`.
pub(crate) const STATS_COLUMNS: &str =
    "utility, evidence_count, access_count, last_accessed_at, helpful_count, unhelpful_count, last_outcome_at";

pub(crate) fn stats_from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<UsageStats> {
    Ok(UsageStats {
        utility: row.get(first)?,
        evidence_count: count(row, first + 1)?,
        access_count: count(row, first + 2)?,
        last_accessed_at: opt_time(row, first + 3)?,
        helpful_count: count(row, first + 4)?,
        unhelpful_count: count(row, first + 5)?,
        last_outcome_at: opt_time(row, first + 6)?,
    })
}

pub(crate) fn memory_from_row(row: &Row<'_>) -> rusqlite::Result<Memory> {
    Ok(Memory {
        id: memory_id(row, 0)?,
        tenant: parsed(row, 1)?,
        namespace: parsed(row, 2)?,
        layer: parsed(row, 3)?,
        content: row.get(4)?,
        content_hash: ContentHash::from_hex(row.get::<_, String>(5)?).map_err(|e| bad_column(5, e))?,
        category: parsed(row, 6)?,
        confidence: confidence(row, 7)?,
        provenance: json(row, 8)?,
        created_at: time(row, 9)?,
        updated_at: time(row, 10)?,
        expires_at: opt_time(row, 11)?,
        metadata: json(row, 12)?,
        supersedes: opt_memory_id(row, 13)?,
        superseded_by: opt_memory_id(row, 14)?,
        promoted_from: opt_memory_id(row, 15)?,
        stats: stats_from_row(row, 16)?,
        seq: count(row, 23)?,
        deleted_at: opt_time(row, 24)?,
    })
}

/// Runs `stmt` (whose placeholders are [`MEMORY_VALUES`]) with the fields of `m`.
pub(crate) fn execute_memory(stmt: &mut Statement<'_>, m: &Memory) -> Result<usize> {
    let provenance = json_text(&m.provenance)?;
    let metadata = json_text(&m.metadata)?;
    stmt.execute(rusqlite::params![
        m.id.as_uuid(),
        m.tenant.as_str(),
        m.namespace.as_str(),
        m.layer.as_str(),
        m.content,
        m.content_hash.as_str(),
        m.category.as_str(),
        m.confidence.value(),
        provenance,
        micros(m.created_at),
        micros(m.updated_at),
        opt_micros(m.expires_at),
        metadata,
        m.supersedes.map(|id| id.as_uuid()),
        m.superseded_by.map(|id| id.as_uuid()),
        m.promoted_from.map(|id| id.as_uuid()),
        m.stats.utility,
        count_to_sql(m.stats.evidence_count),
        count_to_sql(m.stats.access_count),
        opt_micros(m.stats.last_accessed_at),
        count_to_sql(m.stats.helpful_count),
        count_to_sql(m.stats.unhelpful_count),
        opt_micros(m.stats.last_outcome_at),
        count_to_sql(m.seq),
        opt_micros(m.deleted_at),
    ])
    .classify()
}

// ---- namespaces ----------------------------------------------------------------------------

/// Columns of a namespace row, in the order of [`namespace_from_row`] and [`NAMESPACE_VALUES`].
pub(crate) const NAMESPACE_COLUMNS: &str = "tenant, key, display_name, description, team, sensitivity, \
     default_access, retention_days, kind, status, metadata, created_at, updated_at, last_write_at, last_read_at, \
     last_maintenance_at, created_by, created_by_key";

/// Placeholders matching [`NAMESPACE_COLUMNS`].
pub(crate) const NAMESPACE_VALUES: &str =
    "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18";

pub(crate) fn namespace_from_row(row: &Row<'_>) -> rusqlite::Result<Namespace> {
    Ok(Namespace {
        tenant: parsed(row, 0)?,
        key: parsed(row, 1)?,
        display_name: row.get(2)?,
        description: row.get(3)?,
        team: row.get(4)?,
        sensitivity: parsed(row, 5)?,
        default_access: parsed(row, 6)?,
        retention_days: row.get(7)?,
        kind: parsed(row, 8)?,
        status: parsed(row, 9)?,
        metadata: json(row, 10)?,
        created_at: time(row, 11)?,
        updated_at: time(row, 12)?,
        last_write_at: opt_time(row, 13)?,
        last_read_at: opt_time(row, 14)?,
        last_maintenance_at: opt_time(row, 15)?,
        created_by: opt_parsed(row, 16)?,
        created_by_key: row.get::<_, Option<Uuid>>(17)?.map(ApiKeyId::from_uuid),
    })
}

/// Runs `stmt` (whose placeholders are [`NAMESPACE_VALUES`]) with the fields of `ns`.
pub(crate) fn execute_namespace(stmt: &mut Statement<'_>, ns: &Namespace) -> Result<usize> {
    let metadata = json_text(&ns.metadata)?;
    stmt.execute(rusqlite::params![
        ns.tenant.as_str(),
        ns.key.as_str(),
        ns.display_name,
        ns.description,
        ns.team,
        ns.sensitivity.as_str(),
        ns.default_access.as_str(),
        ns.retention_days,
        ns.kind.as_str(),
        ns.status.as_str(),
        metadata,
        micros(ns.created_at),
        micros(ns.updated_at),
        opt_micros(ns.last_write_at),
        opt_micros(ns.last_read_at),
        opt_micros(ns.last_maintenance_at),
        ns.created_by.as_ref().map(Principal::as_str),
        ns.created_by_key.map(|id| id.as_uuid()),
    ])
    .classify()
}

// ---- audit, API keys, proposals ----------------------------------------------------------

/// Columns of an audit row, in the order of [`audit_from_row`].
pub(crate) const AUDIT_COLUMNS: &str =
    "id, tenant, namespace, principal, key_id, operation, outcome, detail, at, origin";

pub(crate) fn audit_from_row(row: &Row<'_>) -> rusqlite::Result<AuditRecord> {
    Ok(AuditRecord {
        id: AuditId::from_uuid(row.get(0)?),
        tenant: parsed(row, 1)?,
        namespace: opt_parsed(row, 2)?,
        principal: opt_parsed(row, 3)?,
        key_id: row.get::<_, Option<Uuid>>(4)?.map(ApiKeyId::from_uuid),
        operation: parsed(row, 5)?,
        outcome: parsed(row, 6)?,
        detail: json(row, 7)?,
        at: time(row, 8)?,
        origin: opt_json(row, 9)?,
    })
}

/// Columns of an API key row, in the order of [`api_key_from_row`].
pub(crate) const API_KEY_COLUMNS: &str =
    "id, tenant, principal, label, hash, scopes, default_namespace, created_at, updated_at, revoked_at, admin";

pub(crate) fn api_key_from_row(row: &Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(row.get(0)?),
        tenant: parsed(row, 1)?,
        principal: parsed::<Principal>(row, 2)?,
        label: row.get(3)?,
        hash: KeyHash::from_hex(row.get::<_, String>(4)?).map_err(|e| bad_column(4, e))?,
        scopes: json(row, 5)?,
        default_namespace: opt_parsed(row, 6)?,
        created_at: time(row, 7)?,
        updated_at: time(row, 8)?,
        revoked_at: opt_time(row, 9)?,
        admin: row.get(10)?,
    })
}

/// Columns of a proposal row, in the order of [`proposal_from_row`].
pub(crate) const PROPOSAL_COLUMNS: &str = "id, tenant, namespace, layer, content, category, confidence, reason, \
     source_memory_ids, proposed_by, status, created_at, decided_at, decided_by, supersedes, metadata";

pub(crate) fn proposal_from_row(row: &Row<'_>) -> rusqlite::Result<Proposal> {
    Ok(Proposal {
        id: ProposalId::from_uuid(row.get(0)?),
        tenant: parsed(row, 1)?,
        namespace: parsed(row, 2)?,
        layer: parsed(row, 3)?,
        content: row.get(4)?,
        category: parsed(row, 5)?,
        confidence: confidence(row, 6)?,
        reason: row.get(7)?,
        source_memory_ids: json(row, 8)?,
        proposed_by: opt_parsed(row, 9)?,
        status: parsed(row, 10)?,
        created_at: time(row, 11)?,
        decided_at: opt_time(row, 12)?,
        decided_by: opt_parsed(row, 13)?,
        supersedes: opt_memory_id(row, 14)?,
        metadata: json(row, 15)?,
    })
}

// ---- entities ------------------------------------------------------------------------------

/// The columns of an entity read through the alias `e`, the last one its `mentions`: the links
/// to live memories, counted on read.
pub(crate) const ENTITY_COLUMNS: &str = "e.id, e.tenant, e.namespace, e.name, e.key, e.kind, e.created_at, \
    e.updated_at, (SELECT count(*) FROM entity_links l JOIN memories m ON m.tenant = l.tenant AND m.id = l.memory_id \
    WHERE l.tenant = e.tenant AND l.entity_id = e.id AND m.deleted_at IS NULL)";

pub(crate) fn entity_from_row(row: &Row<'_>) -> rusqlite::Result<Entity> {
    Ok(Entity {
        id: EntityId::from_uuid(row.get(0)?),
        tenant: parsed(row, 1)?,
        namespace: parsed(row, 2)?,
        name: row.get(3)?,
        key: row.get(4)?,
        kind: parsed(row, 5)?,
        created_at: time(row, 6)?,
        updated_at: time(row, 7)?,
        mentions: count(row, 8)?,
    })
}

// ---- maintenance ---------------------------------------------------------------------------

pub(crate) const JOB_RUN_COLUMNS: &str =
    "tenant, job, namespace, status, reason, counts, checkpoint, started_at, finished_at";

pub(crate) fn job_run_from_row(row: &Row<'_>) -> rusqlite::Result<JobRun> {
    Ok(JobRun {
        tenant: parsed(row, 0)?,
        job: parsed(row, 1)?,
        namespace: parsed(row, 2)?,
        status: parsed(row, 3)?,
        reason: row.get(4)?,
        counts: json(row, 5)?,
        checkpoint: row.get(6)?,
        started_at: time(row, 7)?,
        finished_at: time(row, 8)?,
    })
}
