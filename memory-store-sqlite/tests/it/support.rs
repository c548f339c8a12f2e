//! Helpers shared by the SQLite-specific tests: stores in temporary directories, fixed times
//! and tenants, record builders.

use memory_core::{
    ApiKey, ApiKeyId, AuditId, AuditOutcome, AuditRecord, Category, Confidence, KeyHash, Layer, MemoryId, Namespace,
    NamespaceKey, NamespaceKind, NewMemory, Principal, Proposal, ProposalId, ProposalStatus, Store, TenantId,
    Timestamp,
};
use memory_store_sqlite::{Durability, SqliteOptions, SqliteStore};
use tempfile::TempDir;
use uuid::Uuid;

/// 2026-05-08T00:00:00Z.
pub const BASE: Timestamp = Timestamp::from_micros(1_778_198_400_000_000);

/// [`BASE`] plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    BASE.plus_micros(secs * 1_000_000)
}

/// A store in a fresh temporary directory (kept alive by the returned guard).
pub fn temp_store() -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open store");
    (store, dir)
}

/// A store with [`Durability::Process`], for tests that write a lot.
pub fn open_fast(dir: &std::path::Path) -> SqliteStore {
    SqliteStore::open_with(SqliteOptions::new(dir).durability(Durability::Process)).expect("open store")
}

pub fn tenant() -> TenantId {
    TenantId::default_tenant()
}

pub fn other_tenant() -> TenantId {
    TenantId::new("Acme-2").unwrap()
}

pub fn ns(key: &str) -> NamespaceKey {
    NamespaceKey::new(key).unwrap()
}

/// An id from a number: tests that need to rebuild expected records know them in advance.
pub fn id(n: u128) -> MemoryId {
    MemoryId::from_uuid(Uuid::from_u128(n))
}

pub async fn create_ns(store: &dyn Store, tenant: &TenantId, key: &str) {
    store.create_namespace(Namespace::new(tenant.clone(), ns(key), NamespaceKind::Explicit, BASE)).await.unwrap();
}

pub fn memory(key: &str, content: &str, n: u128) -> NewMemory {
    NewMemory::new(ns(key), Layer::Semantic, content, at(n as i64)).with_id(id(n))
}

pub fn audit(tenant: &TenantId, n: u128, operation: memory_core::AuditOp) -> AuditRecord {
    AuditRecord {
        id: AuditId::from_uuid(Uuid::from_u128(n)),
        tenant: tenant.clone(),
        namespace: Some(ns("default")),
        principal: Some(Principal::new("alice").unwrap()),
        key_id: None,
        operation,
        outcome: AuditOutcome::Ok,
        detail: memory_core::AuditDetail::from([("n".to_owned(), serde_json::json!(n))]),
        at: at(n as i64),
        origin: None,
    }
}

pub fn api_key(tenant: &TenantId, n: u128, secret: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::from_uuid(Uuid::from_u128(n)),
        tenant: tenant.clone(),
        principal: Principal::new("alice").unwrap(),
        label: format!("key {n}"),
        hash: KeyHash::of_secret(secret),
        scopes: Vec::new(),
        default_namespace: None,
        created_at: BASE,
        updated_at: BASE,
        revoked_at: None,
        admin: false,
    }
}

pub fn proposal(tenant: &TenantId, n: u128, content: &str) -> Proposal {
    Proposal {
        id: ProposalId::from_uuid(Uuid::from_u128(n)),
        tenant: tenant.clone(),
        namespace: ns("default"),
        layer: Layer::Identity,
        content: content.to_owned(),
        category: Category::fact(),
        confidence: Confidence::new(0.8).unwrap(),
        reason: "seen twice".to_owned(),
        source_memory_ids: vec![id(1), id(2)],
        proposed_by: None,
        status: ProposalStatus::Pending,
        created_at: BASE,
        decided_at: None,
        decided_by: None,
        supersedes: None,
        metadata: Default::default(),
    }
}
