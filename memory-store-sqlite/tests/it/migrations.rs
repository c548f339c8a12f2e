//! Schema versioning: a fresh database gets the current version, reopening applies nothing
//! twice, and a database from a newer build is refused rather than misread.

use memory_core::{ErrorKind, Outcome, Store};
use memory_store_sqlite::{DATABASE_FILE, SCHEMA_VERSION, SqliteStore};
use rusqlite::Connection;

use crate::support::*;

fn user_version(dir: &std::path::Path) -> u32 {
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
}

#[tokio::test]
async fn a_fresh_database_is_at_the_current_version_in_wal_mode() {
    let (store, dir) = temp_store();
    assert_eq!(user_version(dir.path()), SCHEMA_VERSION);
    let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    assert!(dir.path().join("log").is_dir());
    drop(store);
}

#[tokio::test]
async fn reopening_keeps_the_data_and_the_version() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        create_ns(&store, &tenant(), "default").await;
        store.put_memories(&tenant(), vec![memory("default", "kept", 1)]).await.unwrap();
    }
    for _ in 0..2 {
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.get_memory(&tenant(), id(1)).await.unwrap().unwrap().content, "kept");
    }
    assert_eq!(user_version(dir.path()), SCHEMA_VERSION);
}

#[test]
fn a_newer_database_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
    drop(conn);
    let e = SqliteStore::open(dir.path()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("newer build"), "{e}");
    assert!(e.message().contains(&format!("schema version {}", SCHEMA_VERSION + 1)), "{e}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(DATABASE_FILE), vec![b'x'; 4096]).unwrap();
    assert!(SqliteStore::open(dir.path()).is_err());
}

/// Turns a current database back into what schema version 3 created: no identity, dedupe by
/// namespace only, audit details as free text without an origin (migration 4).
fn downgrade_to_version_4(dir: &std::path::Path) {
    downgrade_to_version_5(dir);
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.execute_batch("ALTER TABLE api_keys DROP COLUMN admin; PRAGMA user_version = 4;").unwrap();
}

/// Turns a current database back into what schema version 8 created: no stored vectors
/// (migration 9).
fn downgrade_to_version_8(dir: &std::path::Path) {
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.execute_batch("DROP TABLE embeddings; PRAGMA user_version = 8;").unwrap();
}

/// Turns a current database back into what schema version 7 created: memories, audit records
/// and proposals keyed by a store-wide `id` (migration 8), with their `(tenant, id)` indexes.
/// The tables keep their column order, so rows copy over as they are.
fn downgrade_to_version_7(dir: &std::path::Path) {
    downgrade_to_version_8(dir);
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.execute_batch(
        "CREATE TABLE memories_v7 (
            id BLOB PRIMARY KEY, tenant TEXT NOT NULL, namespace TEXT NOT NULL, layer TEXT NOT NULL,
            content TEXT NOT NULL, content_hash TEXT NOT NULL, category TEXT NOT NULL, confidence REAL NOT NULL,
            provenance TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER,
            metadata TEXT NOT NULL, supersedes BLOB, superseded_by BLOB, promoted_from BLOB, utility REAL NOT NULL,
            evidence_count INTEGER NOT NULL, access_count INTEGER NOT NULL, last_accessed_at INTEGER,
            helpful_count INTEGER NOT NULL, unhelpful_count INTEGER NOT NULL, seq INTEGER NOT NULL,
            deleted_at INTEGER, last_outcome_at INTEGER,
            FOREIGN KEY (tenant, namespace) REFERENCES namespaces (tenant, key)
         ) STRICT;
         INSERT INTO memories_v7 SELECT * FROM memories;
         DROP TABLE memories;
         ALTER TABLE memories_v7 RENAME TO memories;
         CREATE UNIQUE INDEX memories_live_content ON memories (tenant, namespace, layer, content_hash)
             WHERE deleted_at IS NULL AND superseded_by IS NULL;
         CREATE INDEX memories_tenant_seq ON memories (tenant, seq);
         CREATE INDEX memories_tenant_id ON memories (tenant, id);
         CREATE INDEX memories_tenant_namespace_id ON memories (tenant, namespace, id);
         CREATE INDEX memories_live_namespace_layer ON memories (tenant, namespace, layer, id)
             WHERE deleted_at IS NULL;

         CREATE TABLE audit_v7 (
            id BLOB PRIMARY KEY, tenant TEXT NOT NULL, namespace TEXT, principal TEXT, key_id BLOB,
            operation TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, at INTEGER NOT NULL, origin TEXT
         ) STRICT;
         INSERT INTO audit_v7 SELECT * FROM audit;
         DROP TABLE audit;
         ALTER TABLE audit_v7 RENAME TO audit;
         CREATE INDEX audit_tenant_id ON audit (tenant, id);
         CREATE INDEX audit_tenant_namespace_id ON audit (tenant, namespace, id);

         CREATE TABLE proposals_v7 (
            id BLOB PRIMARY KEY, tenant TEXT NOT NULL, namespace TEXT NOT NULL, layer TEXT NOT NULL,
            content TEXT NOT NULL, category TEXT NOT NULL, confidence REAL NOT NULL, reason TEXT NOT NULL,
            source_memory_ids TEXT NOT NULL, proposed_by TEXT, status TEXT NOT NULL, created_at INTEGER NOT NULL,
            decided_at INTEGER, decided_by TEXT, supersedes BLOB, metadata TEXT NOT NULL DEFAULT '{}'
         ) STRICT;
         INSERT INTO proposals_v7 SELECT * FROM proposals;
         DROP TABLE proposals;
         ALTER TABLE proposals_v7 RENAME TO proposals;
         CREATE INDEX proposals_tenant_id ON proposals (tenant, id);

         PRAGMA user_version = 7;",
    )
    .unwrap();
}

/// Turns a current database back into what schema version 6 created: no entities, entity
/// links, job locks or job runs (migration 7).
fn downgrade_to_version_6(dir: &std::path::Path) {
    downgrade_to_version_7(dir);
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.execute_batch(
        "DROP TABLE entities; DROP TABLE entity_links; DROP TABLE job_locks; DROP TABLE job_runs; \
         ALTER TABLE proposals DROP COLUMN supersedes; ALTER TABLE proposals DROP COLUMN metadata; \
         PRAGMA user_version = 6;",
    )
    .unwrap();
}

/// Turns a current database back into what schema version 5 created: no namespace creators,
/// no catalog versions (migration 6).
fn downgrade_to_version_5(dir: &std::path::Path) {
    downgrade_to_version_6(dir);
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.execute_batch(
        "ALTER TABLE namespaces DROP COLUMN created_by; ALTER TABLE namespaces DROP COLUMN created_by_key; \
         DROP TABLE namespace_versions; PRAGMA user_version = 5;",
    )
    .unwrap();
}

fn downgrade_to_version_3(dir: &std::path::Path) {
    downgrade_to_version_4(dir);
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.execute_batch(
        "DROP TABLE store_identity; DROP INDEX audit_tenant_namespace_id; \
         DROP INDEX memories_live_content; \
         CREATE UNIQUE INDEX memories_live_content ON memories (tenant, namespace, content_hash) \
             WHERE deleted_at IS NULL; \
         ALTER TABLE audit DROP COLUMN origin; \
         UPDATE audit SET detail = coalesce(json_extract(detail, '$.message'), ''); \
         PRAGMA user_version = 3;",
    )
    .unwrap();
}

/// Turns a current database back into what schema version 1 created: no `last_outcome_at`
/// (migration 2), no pinned-lookup index (migration 3), and none of migration 4.
fn downgrade_to_version_1(dir: &std::path::Path) {
    downgrade_to_version_3(dir);
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.execute_batch(
        "DROP INDEX memories_live_namespace_layer; \
         ALTER TABLE memories DROP COLUMN last_outcome_at; \
         PRAGMA user_version = 1;",
    )
    .unwrap();
}

fn has_index(dir: &std::path::Path, name: &str) -> bool {
    let conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    conn.query_row("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?1", [name], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap()
        == 1
}

#[tokio::test]
async fn a_version_1_database_is_upgraded_keeping_its_memories() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let before = {
        let store = SqliteStore::open(dir.path()).unwrap();
        create_ns(&store, &t, "default").await;
        store.put_memories(&t, vec![memory("default", "from version 1", 1)]).await.unwrap();
        store.get_memory(&t, id(1)).await.unwrap().unwrap()
    };
    downgrade_to_version_1(dir.path());
    assert_eq!(user_version(dir.path()), 1);
    assert!(!has_index(dir.path(), "memories_live_namespace_layer"));

    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), SCHEMA_VERSION);
    assert!(has_index(dir.path(), "memories_live_namespace_layer"));
    let upgraded = store.get_memory(&t, id(1)).await.unwrap().unwrap();
    assert_eq!(upgraded, before);
    assert_eq!(upgraded.stats.last_outcome_at, None, "rows from version 1 have no outcome time");
    store.record_outcomes(&t, &[id(1)], Outcome::Helpful, at(5)).await.unwrap();
    assert_eq!(store.get_memory(&t, id(1)).await.unwrap().unwrap().stats.last_outcome_at, Some(at(5)));
}

#[tokio::test]
async fn a_version_3_database_gets_an_identity_per_layer_dedupe_and_structured_audit() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        create_ns(&store, &t, "default").await;
        store.put_memories(&t, vec![memory("default", "said twice", 1)]).await.unwrap();
        store.append_audit(audit(&t, 7, memory_core::AuditOp::MemoryRemember)).await.unwrap();
    }
    downgrade_to_version_3(dir.path());
    {
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        conn.execute("UPDATE audit SET detail = 'free text of version 3'", []).unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), SCHEMA_VERSION);
    let id = store.store_id().await.unwrap();
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.store_id().await.unwrap(), id, "the identity is created once");
    let records = store.list_audit(&t, &Default::default(), &memory_core::PageRequest::first(10)).await.unwrap();
    assert_eq!(
        records.items[0].detail,
        memory_core::AuditDetail::from([("message".to_owned(), "free text of version 3".into())])
    );
    assert_eq!(records.items[0].origin, None);
    let mut working = memory("default", "said twice", 2);
    working.layer = memory_core::Layer::Working;
    working.expires_at = Some(at(1000));
    let outcomes = store.put_memories(&t, vec![working]).await.unwrap();
    assert!(outcomes[0].created(), "the same content in another layer is a new memory: {outcomes:?}");
}

#[tokio::test]
async fn a_version_4_database_keeps_its_keys_which_are_not_admin_keys() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let mut key = memory_testkit::fixtures::api_key(&t, "s3cret");
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        store.create_api_key(key.clone()).await.unwrap();
    }
    downgrade_to_version_4(dir.path());
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), SCHEMA_VERSION);
    key.admin = false;
    assert_eq!(store.get_api_key(&t, key.id).await.unwrap(), Some(key));
}

#[tokio::test]
async fn a_version_5_database_gets_catalog_versions_and_namespaces_without_creators() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let before = {
        let store = SqliteStore::open(dir.path()).unwrap();
        create_ns(&store, &t, "research").await;
        store.get_namespace(&t, &memory_testkit::fixtures::ns("research")).await.unwrap().unwrap()
    };
    downgrade_to_version_5(dir.path());
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), SCHEMA_VERSION);
    let upgraded = store.get_namespace(&t, &memory_testkit::fixtures::ns("research")).await.unwrap().unwrap();
    assert_eq!(upgraded, before);
    assert_eq!(upgraded.created_by, None);
    let version = store.namespace_version(&t).await.unwrap();
    assert!(version > 0, "a tenant with namespaces starts above 0");
    let mut patch = memory_core::NamespacePatch::default();
    patch.display_name = Some("Research".into());
    store.update_namespace(&t, &memory_testkit::fixtures::ns("research"), &patch, at(9)).await.unwrap();
    assert!(store.namespace_version(&t).await.unwrap() > version);
}

#[tokio::test]
async fn a_version_6_database_gets_entities_and_job_records() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        create_ns(&store, &t, "default").await;
        store.put_memories(&t, vec![memory("default", "Ada works on the engine", 1)]).await.unwrap();
    }
    downgrade_to_version_6(dir.path());
    assert_eq!(user_version(dir.path()), 6);
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), SCHEMA_VERSION);
    let link = memory_core::EntityLink { memory: id(1), name: "Ada".into(), kind: memory_core::EntityKind::Person };
    let linked = store.link_entities(&t, &ns("default"), &[link], at(2)).await.unwrap();
    assert_eq!(linked[0].mentions, 1);
    let lock = memory_core::JobLock {
        tenant: t.clone(),
        job: memory_core::Job::Consolidate,
        namespace: ns("default"),
        holder: "worker-1".into(),
        acquired_at: at(3),
        expires_at: at(60),
    };
    assert!(store.try_lock_job(&lock).await.unwrap());
    assert!(store.list_job_runs(&t, None).await.unwrap().is_empty());
}

/// The columns of `table`'s primary key, in key order.
fn primary_key(conn: &Connection, table: &str) -> Vec<String> {
    let mut stmt = conn.prepare(&format!("SELECT name, pk FROM pragma_table_info('{table}') WHERE pk > 0")).unwrap();
    let mut columns: Vec<(String, i64)> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<rusqlite::Result<_>>().unwrap();
    columns.sort_by_key(|(_, pk)| *pk);
    columns.into_iter().map(|(name, _)| name).collect()
}

#[tokio::test]
async fn a_version_7_database_is_keyed_by_tenant_and_id_keeping_every_record() {
    use memory_core::{AuditFilter, Decision, MemoryPatch, PageRequest, Principal, ProposalFilter};

    let dir = tempfile::tempdir().unwrap();
    let (t, other) = (tenant(), other_tenant());
    let page = PageRequest::first(100);
    // A bit of everything: live, superseded and tombstoned memories with statistics, an entity
    // link, audit records and proposals (one decided), in two tenants.
    let (memories, audit_records, proposals, entities, seq, store_id) = {
        let store = SqliteStore::open(dir.path()).unwrap();
        for tn in [&t, &other] {
            create_ns(&store, tn, "default").await;
        }
        let batch = vec![memory("default", "kept", 1), memory("default", "corrected", 2), memory("default", "gone", 3)];
        store.put_memories(&t, batch).await.unwrap();
        store.put_memories(&other, vec![memory("default", "another tenant's", 10)]).await.unwrap();
        let mut patch = MemoryPatch::default();
        patch.superseded_by = Some(Some(id(1)));
        store.update_memory(&t, id(2), &patch, at(4)).await.unwrap();
        store.delete_memory(&t, id(3), at(5)).await.unwrap();
        store.record_outcomes(&t, &[id(1)], Outcome::Helpful, at(6)).await.unwrap();
        store.record_access(&t, &[id(1)], at(6)).await.unwrap();
        let link = memory_core::EntityLink { memory: id(1), name: "Ada".into(), kind: memory_core::EntityKind::Person };
        store.link_entities(&t, &ns("default"), &[link], at(7)).await.unwrap();
        let mut imported = audit(&t, 20, memory_core::AuditOp::MemoryRemember);
        imported.origin = Some(memory_core::AuditOrigin {
            import: memory_core::AuditId::new_v7(),
            tenant: "x".into(),
            exported_at: at(1),
        });
        store.append_audit(imported).await.unwrap();
        store.append_audit(audit(&other, 21, memory_core::AuditOp::MemoryRecall)).await.unwrap();
        store.create_proposal(proposal(&t, 30, "pending")).await.unwrap();
        store.create_proposal(proposal(&t, 31, "decided")).await.unwrap();
        let by = Principal::new("alice").unwrap();
        store
            .decide_proposal(
                &t,
                memory_core::ProposalId::from_uuid(uuid::Uuid::from_u128(31)),
                Decision::Approve,
                by,
                at(8),
            )
            .await
            .unwrap();
        let mut memories = Vec::new();
        let (mut audit_records, mut proposals, mut entities) = (Vec::new(), Vec::new(), Vec::new());
        for tn in [&t, &other] {
            memories.push(store.changes_since(tn, 0, 100).await.unwrap());
            audit_records.push(store.list_audit(tn, &AuditFilter::default(), &page).await.unwrap().items);
            proposals.push(store.list_proposals(tn, &ProposalFilter::default(), &page).await.unwrap().items);
            entities.push(store.list_entities(tn, &Default::default(), &page).await.unwrap().items);
        }
        (memories, audit_records, proposals, entities, store.last_seq().await.unwrap(), store.store_id().await.unwrap())
    };
    assert_eq!((memories[0].len(), audit_records[0].len(), proposals[0].len(), entities[0].len()), (3, 1, 2, 1));
    downgrade_to_version_7(dir.path());
    assert_eq!(user_version(dir.path()), 7);
    assert!(has_index(dir.path(), "memories_tenant_id"));

    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), SCHEMA_VERSION);
    for (i, tn) in [&t, &other].into_iter().enumerate() {
        assert_eq!(store.changes_since(tn, 0, 100).await.unwrap(), memories[i], "memories of tenant {i}");
        assert_eq!(store.list_audit(tn, &AuditFilter::default(), &page).await.unwrap().items, audit_records[i]);
        assert_eq!(store.list_proposals(tn, &ProposalFilter::default(), &page).await.unwrap().items, proposals[i]);
        assert_eq!(store.list_entities(tn, &Default::default(), &page).await.unwrap().items, entities[i]);
    }
    assert_eq!(store.last_seq().await.unwrap(), seq);
    assert_eq!(store.store_id().await.unwrap(), store_id);

    // The schema: keyed by (tenant, id), the foreign key and every other index kept.
    {
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        for table in ["memories", "audit", "proposals"] {
            assert_eq!(primary_key(&conn, table), ["tenant", "id"], "the key of {table}");
        }
        let parent: String =
            conn.query_row("SELECT \"table\" FROM pragma_foreign_key_list('memories')", [], |r| r.get(0)).unwrap();
        assert_eq!(parent, "namespaces");
        let violations: i64 =
            conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(violations, 0);
        let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(integrity, "ok");
    }
    for index in [
        "memories_live_content",
        "memories_tenant_seq",
        "memories_tenant_namespace_id",
        "memories_live_namespace_layer",
        "audit_tenant_namespace_id",
    ] {
        assert!(has_index(dir.path(), index), "{index} is kept");
    }

    // Ids are now scoped by tenant; the live-content index still deduplicates.
    let outcomes = store.put_memories(&other, vec![memory("default", "the same id elsewhere", 1)]).await.unwrap();
    assert!(outcomes[0].created(), "{outcomes:?}");
    let again = store.put_memories(&t, vec![memory("default", "an id taken here", 3)]).await;
    assert_eq!(again.unwrap_err().kind(), ErrorKind::AlreadyExists);
    let outcomes = store.put_memories(&t, vec![memory("default", "kept", 40)]).await.unwrap();
    assert!(!outcomes[0].created(), "a duplicate: {outcomes:?}");
    store.append_audit(audit(&other, 20, memory_core::AuditOp::MemoryRemember)).await.unwrap();
    store.create_proposal(proposal(&other, 30, "the same id elsewhere")).await.unwrap();
}

#[tokio::test]
async fn a_version_8_database_gets_vectors_keeping_its_memories() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let vector = vec![0.1, -3.5e-8, f32::MAX];
    let before = {
        let store = SqliteStore::open(dir.path()).unwrap();
        create_ns(&store, &t, "default").await;
        let mut m = memory("default", "from version 8", 1);
        m.embedding = Some(memory_core::Embedding { model: "m1".into(), vector: vector.clone() });
        store.put_memories(&t, vec![m]).await.unwrap();
        assert_eq!(store.get_embeddings(&t, "m1", &[id(1)]).await.unwrap(), [Some(vector.clone())]);
        store.changes_since(&t, 0, 100).await.unwrap()
    };
    downgrade_to_version_8(dir.path());
    assert_eq!(user_version(dir.path()), 8);

    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(user_version(dir.path()), SCHEMA_VERSION);
    assert_eq!(store.changes_since(&t, 0, 100).await.unwrap(), before);
    assert_eq!(store.get_embeddings(&t, "m1", &[id(1)]).await.unwrap(), [None], "version 8 kept no vectors");
    {
        let conn = Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
        assert_eq!(primary_key(&conn, "embeddings"), ["tenant", "memory_id", "model"]);
    }
    let mut m = memory("default", "after the upgrade", 2);
    m.embedding = Some(memory_core::Embedding { model: "m1".into(), vector: vector.clone() });
    store.put_memories(&t, vec![m]).await.unwrap();
    assert_eq!(store.get_embeddings(&t, "m1", &[id(1), id(2)]).await.unwrap(), [None, Some(vector)]);
}
