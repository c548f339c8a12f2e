//! Encodings shared by every table, and conversions between domain records and rows.
//!
//! Times are microseconds since the epoch (`bigint`), ids `uuid`, counters `u64` stored bit
//! for bit in `bigint`, enums their lowercase names, and maps or lists JSON text. Stored data
//! that does not decode is `Internal`.

use std::str::FromStr;

use memory_core::{
    ApiKey, ApiKeyId, AuditId, AuditRecord, Confidence, ContentHash, Entity, EntityId, Error, JobRun, KeyHash, Memory,
    MemoryId, Namespace, Proposal, ProposalId, Result, Timestamp, UsageStats,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::error::{Classify, bad_value};

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

/// JSON text of a map or list.
pub(crate) fn json_text(value: &impl Serialize) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::internal(format!("cannot encode JSON: {e}")).with_source(e))
}

/// Typed reads of one row's columns by name.
pub(crate) struct Cols<'r>(pub &'r PgRow);

impl Cols<'_> {
    pub fn get<'a, T: sqlx::Decode<'a, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(&'a self, col: &str) -> Result<T> {
        self.0.try_get(col).classify()
    }

    pub fn parsed<T>(&self, col: &str) -> Result<T>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let text: String = self.get(col)?;
        text.parse().map_err(|e| bad_value(col, e))
    }

    pub fn opt_parsed<T>(&self, col: &str) -> Result<Option<T>>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let text: Option<String> = self.get(col)?;
        text.map(|t| t.parse().map_err(|e| bad_value(col, e))).transpose()
    }

    pub fn json<T: DeserializeOwned>(&self, col: &str) -> Result<T> {
        let text: String = self.get(col)?;
        serde_json::from_str(&text).map_err(|e| bad_value(col, e))
    }

    pub fn opt_json<T: DeserializeOwned>(&self, col: &str) -> Result<Option<T>> {
        let text: Option<String> = self.get(col)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| bad_value(col, e))).transpose()
    }

    pub fn time(&self, col: &str) -> Result<Timestamp> {
        self.get::<i64>(col).map(Timestamp::from_micros)
    }

    pub fn opt_time(&self, col: &str) -> Result<Option<Timestamp>> {
        Ok(self.get::<Option<i64>>(col)?.map(Timestamp::from_micros))
    }

    pub fn count(&self, col: &str) -> Result<u64> {
        self.get::<i64>(col).map(|v| v as u64)
    }

    pub fn uuid(&self, col: &str) -> Result<Uuid> {
        self.get(col)
    }

    pub fn opt_memory_id(&self, col: &str) -> Result<Option<MemoryId>> {
        Ok(self.get::<Option<Uuid>>(col)?.map(MemoryId::from_uuid))
    }

    pub fn confidence(&self, col: &str) -> Result<Confidence> {
        Confidence::new(self.get(col)?).map_err(|e| bad_value(col, e))
    }
}

// ---- memories ------------------------------------------------------------------------------

/// Columns of a memory row, as [`memory_from_row`] reads them.
pub(crate) const MEMORY_COLUMNS: &str = "id, tenant_id, namespace, layer, content, content_hash, category, \
     confidence, provenance, created_at, updated_at, expires_at, metadata, supersedes, superseded_by, \
     promoted_from, utility, evidence_count, access_count, last_accessed_at, helpful_count, unhelpful_count, \
     last_outcome_at, seq, deleted_at";

pub(crate) fn stats_from_row(c: &Cols<'_>) -> Result<UsageStats> {
    Ok(UsageStats {
        utility: c.get("utility")?,
        evidence_count: c.count("evidence_count")?,
        access_count: c.count("access_count")?,
        last_accessed_at: c.opt_time("last_accessed_at")?,
        helpful_count: c.count("helpful_count")?,
        unhelpful_count: c.count("unhelpful_count")?,
        last_outcome_at: c.opt_time("last_outcome_at")?,
    })
}

pub(crate) fn memory_from_row(row: &PgRow) -> Result<Memory> {
    let c = Cols(row);
    Ok(Memory {
        id: MemoryId::from_uuid(c.uuid("id")?),
        tenant: c.parsed("tenant_id")?,
        namespace: c.parsed("namespace")?,
        layer: c.parsed("layer")?,
        content: c.get("content")?,
        content_hash: ContentHash::from_hex(c.get::<String>("content_hash")?)
            .map_err(|e| bad_value("content_hash", e))?,
        category: c.parsed("category")?,
        confidence: c.confidence("confidence")?,
        provenance: c.json("provenance")?,
        created_at: c.time("created_at")?,
        updated_at: c.time("updated_at")?,
        expires_at: c.opt_time("expires_at")?,
        metadata: c.json("metadata")?,
        supersedes: c.opt_memory_id("supersedes")?,
        superseded_by: c.opt_memory_id("superseded_by")?,
        promoted_from: c.opt_memory_id("promoted_from")?,
        stats: stats_from_row(&c)?,
        seq: c.count("seq")?,
        deleted_at: c.opt_time("deleted_at")?,
    })
}

pub(crate) fn memories_from_rows(rows: &[PgRow]) -> Result<Vec<Memory>> {
    rows.iter().map(memory_from_row).collect()
}

// ---- namespaces ----------------------------------------------------------------------------

/// Columns of a namespace row, as [`namespace_from_row`] reads them.
pub(crate) const NAMESPACE_COLUMNS: &str = "tenant_id, key, display_name, description, team, sensitivity, \
     default_access, retention_days, kind, status, metadata, created_at, updated_at, last_write_at, last_read_at, \
     last_maintenance_at, created_by, created_by_key";

pub(crate) fn namespace_from_row(row: &PgRow) -> Result<Namespace> {
    let c = Cols(row);
    Ok(Namespace {
        tenant: c.parsed("tenant_id")?,
        key: c.parsed("key")?,
        display_name: c.get("display_name")?,
        description: c.get("description")?,
        team: c.get("team")?,
        sensitivity: c.parsed("sensitivity")?,
        default_access: c.parsed("default_access")?,
        retention_days: c
            .get::<Option<i64>>("retention_days")?
            .map(|d| d.try_into())
            .transpose()
            .map_err(|e| bad_value("retention_days", e))?,
        kind: c.parsed("kind")?,
        status: c.parsed("status")?,
        metadata: c.json("metadata")?,
        created_at: c.time("created_at")?,
        updated_at: c.time("updated_at")?,
        last_write_at: c.opt_time("last_write_at")?,
        last_read_at: c.opt_time("last_read_at")?,
        last_maintenance_at: c.opt_time("last_maintenance_at")?,
        created_by: c.opt_parsed("created_by")?,
        created_by_key: c.get::<Option<Uuid>>("created_by_key")?.map(ApiKeyId::from_uuid),
    })
}

// ---- audit, API keys, proposals ----------------------------------------------------------

pub(crate) const AUDIT_COLUMNS: &str =
    "id, tenant_id, namespace, principal, key_id, operation, outcome, detail, at, origin";

pub(crate) fn audit_from_row(row: &PgRow) -> Result<AuditRecord> {
    let c = Cols(row);
    Ok(AuditRecord {
        id: AuditId::from_uuid(c.uuid("id")?),
        tenant: c.parsed("tenant_id")?,
        namespace: c.opt_parsed("namespace")?,
        principal: c.opt_parsed("principal")?,
        key_id: c.get::<Option<Uuid>>("key_id")?.map(ApiKeyId::from_uuid),
        operation: c.parsed("operation")?,
        outcome: c.parsed("outcome")?,
        detail: c.json("detail")?,
        at: c.time("at")?,
        origin: c.opt_json("origin")?,
    })
}

pub(crate) const API_KEY_COLUMNS: &str =
    "id, tenant_id, principal, label, hash, scopes, default_namespace, created_at, updated_at, revoked_at, admin";

pub(crate) fn api_key_from_row(row: &PgRow) -> Result<ApiKey> {
    let c = Cols(row);
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(c.uuid("id")?),
        tenant: c.parsed("tenant_id")?,
        principal: c.parsed("principal")?,
        label: c.get("label")?,
        hash: KeyHash::from_hex(c.get::<String>("hash")?).map_err(|e| bad_value("hash", e))?,
        scopes: c.json("scopes")?,
        default_namespace: c.opt_parsed("default_namespace")?,
        created_at: c.time("created_at")?,
        updated_at: c.time("updated_at")?,
        revoked_at: c.opt_time("revoked_at")?,
        admin: c.get("admin")?,
    })
}

pub(crate) const PROPOSAL_COLUMNS: &str = "id, tenant_id, namespace, layer, content, category, confidence, reason, \
     source_memory_ids, proposed_by, status, created_at, decided_at, decided_by, supersedes, metadata";

pub(crate) fn proposal_from_row(row: &PgRow) -> Result<Proposal> {
    let c = Cols(row);
    Ok(Proposal {
        id: ProposalId::from_uuid(c.uuid("id")?),
        tenant: c.parsed("tenant_id")?,
        namespace: c.parsed("namespace")?,
        layer: c.parsed("layer")?,
        content: c.get("content")?,
        category: c.parsed("category")?,
        confidence: c.confidence("confidence")?,
        reason: c.get("reason")?,
        source_memory_ids: c.json("source_memory_ids")?,
        proposed_by: c.opt_parsed("proposed_by")?,
        status: c.parsed("status")?,
        created_at: c.time("created_at")?,
        decided_at: c.opt_time("decided_at")?,
        decided_by: c.opt_parsed("decided_by")?,
        supersedes: c.opt_memory_id("supersedes")?,
        metadata: c.json("metadata")?,
    })
}

// ---- entities ------------------------------------------------------------------------------

/// The columns of an entity read through the alias `e`, the last one its `mentions`: the links
/// to live memories, counted on read.
pub(crate) const ENTITY_COLUMNS: &str = "e.id, e.tenant_id, e.namespace, e.name, e.key, e.kind, e.created_at, \
    e.updated_at, (SELECT count(*) FROM entity_links l JOIN memories m ON m.tenant_id = l.tenant_id \
    AND m.id = l.memory_id WHERE l.tenant_id = e.tenant_id AND l.entity_id = e.id AND m.deleted_at IS NULL) \
    AS mentions";

pub(crate) fn entity_from_row(row: &PgRow) -> Result<Entity> {
    let c = Cols(row);
    Ok(Entity {
        id: EntityId::from_uuid(c.uuid("id")?),
        tenant: c.parsed("tenant_id")?,
        namespace: c.parsed("namespace")?,
        name: c.get("name")?,
        key: c.get("key")?,
        kind: c.parsed("kind")?,
        created_at: c.time("created_at")?,
        updated_at: c.time("updated_at")?,
        mentions: c.count("mentions")?,
    })
}

// ---- maintenance ---------------------------------------------------------------------------

pub(crate) const JOB_RUN_COLUMNS: &str =
    "tenant_id, job, namespace, status, reason, counts, checkpoint, started_at, finished_at";

pub(crate) fn job_run_from_row(row: &PgRow) -> Result<JobRun> {
    let c = Cols(row);
    Ok(JobRun {
        tenant: c.parsed("tenant_id")?,
        job: c.parsed("job")?,
        namespace: c.parsed("namespace")?,
        status: c.parsed("status")?,
        reason: c.get("reason")?,
        counts: c.json("counts")?,
        checkpoint: c.get("checkpoint")?,
        started_at: c.time("started_at")?,
        finished_at: c.time("finished_at")?,
    })
}
