//! The database schema as an ordered list of migrations, and the pragmas every connection
//! runs with.
//!
//! `PRAGMA user_version` records how many migrations a database has applied. Opening applies
//! the missing ones in one transaction and refuses a database that is newer than this build,
//! instead of guessing at a schema it does not know. Append new migrations; never edit one
//! that has shipped.

use std::time::Duration;

use memory_core::{Error, Result};
use rusqlite::{Connection, TransactionBehavior};

use crate::error::Classify;
use crate::options::Durability;

/// The schema version this build creates and understands (the number of migrations).
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Prepared statements kept per connection; the dynamic memory filters need a few dozen.
const STATEMENT_CACHE: usize = 128;

/// Migration `i` (0-based) takes a database from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
    -- Store-wide counters; `seq` is the change sequence of memories (never reused, even after
    -- a purge removes the newest rows, so max(seq) would not do).
    CREATE TABLE store_meta (
        name  TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) STRICT;
    INSERT INTO store_meta (name, value) VALUES ('seq', 0);

    CREATE TABLE namespaces (
        tenant              TEXT NOT NULL,
        key                 TEXT NOT NULL,
        display_name        TEXT NOT NULL,
        description         TEXT,
        team                TEXT,
        sensitivity         TEXT NOT NULL,
        default_access      TEXT NOT NULL,
        retention_days      INTEGER,
        kind                TEXT NOT NULL,
        status              TEXT NOT NULL,
        metadata            TEXT NOT NULL,
        created_at          INTEGER NOT NULL,
        updated_at          INTEGER NOT NULL,
        last_write_at       INTEGER,
        last_read_at        INTEGER,
        last_maintenance_at INTEGER,
        PRIMARY KEY (tenant, key)
    ) STRICT, WITHOUT ROWID;

    -- Ids are 16-byte UUID blobs: byte order is UUID order, so pages sort like the reference
    -- store. Times are microseconds since the epoch. Counters are u64 stored bit-for-bit.
    CREATE TABLE memories (
        id               BLOB PRIMARY KEY,
        tenant           TEXT NOT NULL,
        namespace        TEXT NOT NULL,
        layer            TEXT NOT NULL,
        content          TEXT NOT NULL,
        content_hash     TEXT NOT NULL,
        category         TEXT NOT NULL,
        confidence       REAL NOT NULL,
        provenance       TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        expires_at       INTEGER,
        metadata         TEXT NOT NULL,
        supersedes       BLOB,
        superseded_by    BLOB,
        promoted_from    BLOB,
        utility          REAL NOT NULL,
        evidence_count   INTEGER NOT NULL,
        access_count     INTEGER NOT NULL,
        last_accessed_at INTEGER,
        helpful_count    INTEGER NOT NULL,
        unhelpful_count  INTEGER NOT NULL,
        seq              INTEGER NOT NULL,
        deleted_at       INTEGER,
        FOREIGN KEY (tenant, namespace) REFERENCES namespaces (tenant, key)
    ) STRICT;
    -- Deduplication: one live memory per content hash and namespace.
    CREATE UNIQUE INDEX memories_live_content ON memories (tenant, namespace, content_hash)
        WHERE deleted_at IS NULL;
    CREATE INDEX memories_tenant_seq ON memories (tenant, seq);
    CREATE INDEX memories_tenant_id ON memories (tenant, id);
    CREATE INDEX memories_tenant_namespace_id ON memories (tenant, namespace, id);

    CREATE TABLE audit (
        id        BLOB PRIMARY KEY,
        tenant    TEXT NOT NULL,
        namespace TEXT,
        principal TEXT,
        key_id    BLOB,
        operation TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        detail    TEXT NOT NULL,
        at        INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX audit_tenant_id ON audit (tenant, id);

    CREATE TABLE api_keys (
        id                BLOB PRIMARY KEY,
        tenant            TEXT NOT NULL,
        principal         TEXT NOT NULL,
        label             TEXT NOT NULL,
        hash              TEXT NOT NULL UNIQUE,
        scopes            TEXT NOT NULL,
        default_namespace TEXT,
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL,
        revoked_at        INTEGER
    ) STRICT;
    CREATE INDEX api_keys_tenant_id ON api_keys (tenant, id);

    CREATE TABLE proposals (
        id                BLOB PRIMARY KEY,
        tenant            TEXT NOT NULL,
        namespace         TEXT NOT NULL,
        layer             TEXT NOT NULL,
        content           TEXT NOT NULL,
        category          TEXT NOT NULL,
        confidence        REAL NOT NULL,
        reason            TEXT NOT NULL,
        source_memory_ids TEXT NOT NULL,
        proposed_by       TEXT,
        status            TEXT NOT NULL,
        created_at        INTEGER NOT NULL,
        decided_at        INTEGER,
        decided_by        TEXT
    ) STRICT;
    CREATE INDEX proposals_tenant_id ON proposals (tenant, id);
    "#,
    // 2: the time of the latest outcome report, from which utility decays toward neutral
    // (microseconds; NULL until the first report, so existing rows do not decay).
    r#"
    ALTER TABLE memories ADD COLUMN last_outcome_at INTEGER;
    "#,
    // 3: the live memories of a namespace by layer, in id order: the engine lists the pinned
    // (identity and procedural) memories of a few namespaces on every recall, and this finds
    // them without reading the other memories of those namespaces.
    r#"
    CREATE INDEX memories_live_namespace_layer ON memories (tenant, namespace, layer, id)
        WHERE deleted_at IS NULL;
    "#,
    // 4: the store's identity (derived state records it, so an index built from another
    // store is recognized); deduplication per namespace and layer among unsuperseded memories
    // (SPEC 2); structured audit details (old free text becomes {"message": text}) and the
    // origin of imported audit records, listed per namespace through an index.
    r#"
    CREATE TABLE store_identity (
        id BLOB NOT NULL CHECK (length(id) = 16)
    ) STRICT;
    INSERT INTO store_identity (id) VALUES (randomblob(16));

    DROP INDEX memories_live_content;
    CREATE UNIQUE INDEX memories_live_content ON memories (tenant, namespace, layer, content_hash)
        WHERE deleted_at IS NULL AND superseded_by IS NULL;

    UPDATE audit SET detail = CASE WHEN detail = '' THEN '{}' ELSE json_object('message', detail) END
        WHERE json_valid(detail) = 0 OR json_type(detail) != 'object';
    ALTER TABLE audit ADD COLUMN origin TEXT;
    -- Audit records per namespace, in id order (an export with --audit reads them so).
    CREATE INDEX audit_tenant_namespace_id ON audit (tenant, namespace, id);
    "#,
    // 5: admin keys (the operators of their tenant, issue 10).
    r#"
    ALTER TABLE api_keys ADD COLUMN admin INTEGER NOT NULL DEFAULT 0 CHECK (admin IN (0, 1));
    "#,
    // 6: who created a namespace (issue 11: `private` namespaces belong to their creator), and
    // each tenant's catalog version, so every process sees a namespace change on its next
    // request (`Store::namespace_version`).
    r#"
    ALTER TABLE namespaces ADD COLUMN created_by TEXT;
    ALTER TABLE namespaces ADD COLUMN created_by_key BLOB;
    CREATE TABLE namespace_versions (
        tenant  TEXT PRIMARY KEY,
        version INTEGER NOT NULL
    ) STRICT;
    INSERT INTO namespace_versions (tenant, version) SELECT DISTINCT tenant, 1 FROM namespaces;
    "#,
    // 7: named entities and their links to memories (SPEC 7, issue 12), the locks maintenance
    // workers hold per job and namespace, and the latest run record of each. An entity's
    // `mentions` is counted on read (links to live memories), so a tombstone needs no update
    // here. Links and entities are removed explicitly (purge), not by foreign keys.
    r#"
    CREATE TABLE entities (
        tenant     TEXT NOT NULL,
        id         BLOB PRIMARY KEY,
        namespace  TEXT NOT NULL,
        name       TEXT NOT NULL,
        key        TEXT NOT NULL,
        kind       TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        UNIQUE (tenant, namespace, kind, key)
    ) STRICT;
    CREATE INDEX entities_tenant_id ON entities (tenant, id);

    CREATE TABLE entity_links (
        tenant    TEXT NOT NULL,
        entity_id BLOB NOT NULL,
        memory_id BLOB NOT NULL,
        PRIMARY KEY (tenant, entity_id, memory_id)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX entity_links_memory ON entity_links (tenant, memory_id, entity_id);

    CREATE TABLE job_locks (
        tenant      TEXT NOT NULL,
        job         TEXT NOT NULL,
        namespace   TEXT NOT NULL,
        holder      TEXT NOT NULL,
        acquired_at INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL,
        PRIMARY KEY (tenant, job, namespace)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE job_runs (
        tenant      TEXT NOT NULL,
        job         TEXT NOT NULL,
        namespace   TEXT NOT NULL,
        status      TEXT NOT NULL,
        reason      TEXT,
        counts      TEXT NOT NULL,
        checkpoint  TEXT,
        started_at  INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        -- Namespace before job: a namespace's records are one range (read per job run).
        PRIMARY KEY (tenant, namespace, job)
    ) STRICT, WITHOUT ROWID;
    -- An identity proposal says what its approval supersedes and the metadata it writes.
    ALTER TABLE proposals ADD COLUMN supersedes BLOB;
    ALTER TABLE proposals ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
    "#,
    // 8: ids are scoped by tenant: memories, audit records and proposals are keyed by
    // (tenant, id), so another tenant may hold the same id. SQLite cannot change a primary key
    // in place, so each table is rebuilt: a new table with every column (in the old order,
    // columns added by ALTERs last), the rows copied, the old table dropped (with its indexes),
    // the new one renamed, and the indexes created again. The old (tenant, id) indexes are not:
    // the primary key is that index.
    r#"
    CREATE TABLE memories_v8 (
        id               BLOB NOT NULL,
        tenant           TEXT NOT NULL,
        namespace        TEXT NOT NULL,
        layer            TEXT NOT NULL,
        content          TEXT NOT NULL,
        content_hash     TEXT NOT NULL,
        category         TEXT NOT NULL,
        confidence       REAL NOT NULL,
        provenance       TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        expires_at       INTEGER,
        metadata         TEXT NOT NULL,
        supersedes       BLOB,
        superseded_by    BLOB,
        promoted_from    BLOB,
        utility          REAL NOT NULL,
        evidence_count   INTEGER NOT NULL,
        access_count     INTEGER NOT NULL,
        last_accessed_at INTEGER,
        helpful_count    INTEGER NOT NULL,
        unhelpful_count  INTEGER NOT NULL,
        seq              INTEGER NOT NULL,
        deleted_at       INTEGER,
        last_outcome_at  INTEGER,
        PRIMARY KEY (tenant, id),
        FOREIGN KEY (tenant, namespace) REFERENCES namespaces (tenant, key)
    ) STRICT;
    INSERT INTO memories_v8 (id, tenant, namespace, layer, content, content_hash, category, confidence,
        provenance, created_at, updated_at, expires_at, metadata, supersedes, superseded_by, promoted_from,
        utility, evidence_count, access_count, last_accessed_at, helpful_count, unhelpful_count, seq,
        deleted_at, last_outcome_at)
    SELECT id, tenant, namespace, layer, content, content_hash, category, confidence,
        provenance, created_at, updated_at, expires_at, metadata, supersedes, superseded_by, promoted_from,
        utility, evidence_count, access_count, last_accessed_at, helpful_count, unhelpful_count, seq,
        deleted_at, last_outcome_at
    FROM memories;
    DROP TABLE memories;
    ALTER TABLE memories_v8 RENAME TO memories;
    CREATE UNIQUE INDEX memories_live_content ON memories (tenant, namespace, layer, content_hash)
        WHERE deleted_at IS NULL AND superseded_by IS NULL;
    CREATE INDEX memories_tenant_seq ON memories (tenant, seq);
    CREATE INDEX memories_tenant_namespace_id ON memories (tenant, namespace, id);
    CREATE INDEX memories_live_namespace_layer ON memories (tenant, namespace, layer, id)
        WHERE deleted_at IS NULL;

    CREATE TABLE audit_v8 (
        id        BLOB NOT NULL,
        tenant    TEXT NOT NULL,
        namespace TEXT,
        principal TEXT,
        key_id    BLOB,
        operation TEXT NOT NULL,
        outcome   TEXT NOT NULL,
        detail    TEXT NOT NULL,
        at        INTEGER NOT NULL,
        origin    TEXT,
        PRIMARY KEY (tenant, id)
    ) STRICT;
    INSERT INTO audit_v8 (id, tenant, namespace, principal, key_id, operation, outcome, detail, at, origin)
    SELECT id, tenant, namespace, principal, key_id, operation, outcome, detail, at, origin FROM audit;
    DROP TABLE audit;
    ALTER TABLE audit_v8 RENAME TO audit;
    CREATE INDEX audit_tenant_namespace_id ON audit (tenant, namespace, id);

    CREATE TABLE proposals_v8 (
        id                BLOB NOT NULL,
        tenant            TEXT NOT NULL,
        namespace         TEXT NOT NULL,
        layer             TEXT NOT NULL,
        content           TEXT NOT NULL,
        category          TEXT NOT NULL,
        confidence        REAL NOT NULL,
        reason            TEXT NOT NULL,
        source_memory_ids TEXT NOT NULL,
        proposed_by       TEXT,
        status            TEXT NOT NULL,
        created_at        INTEGER NOT NULL,
        decided_at        INTEGER,
        decided_by        TEXT,
        supersedes        BLOB,
        metadata          TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (tenant, id)
    ) STRICT;
    INSERT INTO proposals_v8 (id, tenant, namespace, layer, content, category, confidence, reason,
        source_memory_ids, proposed_by, status, created_at, decided_at, decided_by, supersedes, metadata)
    SELECT id, tenant, namespace, layer, content, category, confidence, reason,
        source_memory_ids, proposed_by, status, created_at, decided_at, decided_by, supersedes, metadata
    FROM proposals;
    DROP TABLE proposals;
    ALTER TABLE proposals_v8 RENAME TO proposals;
    "#,
    // 9: the vectors embedding models gave memories (little-endian f32 bytes), one per memory
    // and model, so every process sharing the file indexes a memory without embedding it
    // again. Keyed by memory first: a content update or a purge drops a memory's vectors with
    // one range delete. Rows are removed explicitly (update, purge), not by foreign keys.
    r#"
    CREATE TABLE embeddings (
        tenant    TEXT NOT NULL,
        memory_id BLOB NOT NULL,
        model     TEXT NOT NULL,
        vector    BLOB NOT NULL,
        PRIMARY KEY (tenant, memory_id, model)
    ) STRICT, WITHOUT ROWID;
    "#,
];

/// Settings every connection shares. The query planner's stability guarantee keeps a cached
/// statement's plan: without it, SQLite (built with STAT4) prepares a statement again whenever a
/// bound value could change its plan, which a listing's `json_each(?)` lists do on every run
/// (a tenth of a busy server's CPU went to re-preparing the pinned listing of each recall).
/// The plans are the same, since there are no statistics for bound values to sway.
fn configure_common(conn: &Connection, busy: Duration) -> Result<()> {
    conn.busy_timeout(busy).classify()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).classify()?;
    Ok(())
}

/// Pragmas of the connection that writes (and, for an in-memory database, also reads).
pub(crate) fn configure_writer(conn: &Connection, durability: Option<Durability>, busy: Duration) -> Result<()> {
    configure_common(conn, busy)?;
    conn.pragma_update(None, "foreign_keys", true).classify()?;
    if let Some(durability) = durability {
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0)).classify()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::unavailable(format!("the database refused WAL mode (journal_mode is {mode})")));
        }
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Process => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", synchronous).classify()?;
    }
    Ok(())
}

/// Most bytes of the database file a connection reads through a memory map (address space,
/// not memory: the OS pages it in and out).
const MMAP_SIZE: i64 = 1 << 30;

/// Pragmas of a pooled reader connection.
pub(crate) fn configure_reader(conn: &Connection, busy: Duration) -> Result<()> {
    configure_common(conn, busy)?;
    // A reader must never write, even by a bug: the writer's mutex is what serializes writes.
    conn.pragma_update(None, "query_only", true).classify()?;
    // Pages are read through a memory map of the database file: every reader shares the OS
    // page cache instead of copying pages into a private cache of its own (a recall touches
    // rows spread over the whole file; copying them cost a tenth of a busy server's CPU).
    conn.pragma_update(None, "mmap_size", MMAP_SIZE).classify()?;
    Ok(())
}

/// Brings the database to [`SCHEMA_VERSION`], or refuses one that is newer.
pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    // IMMEDIATE: two processes opening a fresh database at once must not both migrate it.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).classify()?;
    let version: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).classify()?;
    if version > SCHEMA_VERSION {
        return Err(Error::invalid_input(format!(
            "the database has schema version {version}, but this build knows versions up to {SCHEMA_VERSION}; \
             open it with a newer build"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).classify()?;
        tx.pragma_update(None, "user_version", i as u32 + 1).classify()?;
    }
    tx.commit().classify()
}
