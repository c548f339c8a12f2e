//! Closing and reopening a file store keeps every record exactly, and the change sequence
//! carries on where it stopped (never reusing a number, even after a purge).

use memory_core::{
    AuditFilter, Decision, MemoryFilter, NamespaceFilter, NamespaceStatus, Outcome, PageRequest, Principal,
    ProposalFilter, Store,
};
use memory_store_sqlite::SqliteStore;

use crate::support::*;

/// Everything a tenant can read back, for comparing before and after.
async fn snapshot(store: &dyn Store) -> String {
    let t = tenant();
    let mut all_ns = NamespaceFilter::default();
    let mut out = String::new();
    for status in [None, Some(NamespaceStatus::Deleted)] {
        all_ns.status = status;
        out += &format!("{:?}\n", store.list_namespaces(&t, &all_ns).await.unwrap());
    }
    out += &format!("{:?}\n", store.list_memories(&t, &MemoryFilter::all(), &PageRequest::first(1000)).await.unwrap());
    out += &format!("{:?}\n", store.changes_since(&t, 0, 1000).await.unwrap());
    out += &format!("{:?}\n", store.list_audit(&t, &AuditFilter::default(), &PageRequest::first(1000)).await.unwrap());
    out += &format!("{:?}\n", store.list_api_keys(&t).await.unwrap());
    let proposals = store.list_proposals(&t, &ProposalFilter::default(), &PageRequest::first(1000)).await.unwrap();
    out += &format!("{proposals:?}\n");
    out
}

#[tokio::test]
async fn reopening_preserves_every_record_and_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let before = {
        let store = SqliteStore::open(dir.path()).unwrap();
        create_ns(&store, &t, "default").await;
        create_ns(&store, &t, "gone").await;
        let mut m = memory("default", "with metadata", 1);
        m.metadata.insert("pi".into(), serde_json::json!(std::f64::consts::PI));
        m.metadata.insert("tiny".into(), serde_json::json!(1e-300));
        m.metadata.insert("big".into(), serde_json::json!(u64::MAX));
        m.stats.evidence_count = memory_core::UsageStats::MAX_COUNT;
        store.put_memories(&t, vec![m, memory("default", "b", 2), memory("gone", "c", 3)]).await.unwrap();
        store.record_outcomes(&t, &[id(2)], Outcome::Reward(0.37), at(5)).await.unwrap();
        store.record_outcomes(&t, &[id(1)], Outcome::Helpful, at(6)).await.unwrap();
        store.delete_memory(&t, id(2), at(10)).await.unwrap();
        store.delete_namespace(&t, &ns("gone"), at(11)).await.unwrap();
        store.append_audit(audit(&t, 100, memory_core::AuditOp::MemoryRemember)).await.unwrap();
        store.create_api_key(api_key(&t, 200, "secret")).await.unwrap();
        store.create_proposal(proposal(&t, 300, "I am")).await.unwrap();
        let by = Principal::new("bob").unwrap();
        store.decide_proposal(&t, proposal(&t, 300, "").id, Decision::Reject, by, at(12)).await.unwrap();
        snapshot(&store).await
    };
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(snapshot(&store).await, before);
    let stats = store.get_memory(&t, id(1)).await.unwrap().unwrap().stats;
    assert_eq!(stats.evidence_count, memory_core::UsageStats::MAX_COUNT);
    assert_eq!((stats.last_outcome_at, stats.helpful_count), (Some(at(6)), 1));

    // The newest change (seq 5, the tombstone of memory 3) is purged; the next write still gets 6.
    let report = store.purge(&t, at(100)).await.unwrap();
    assert_eq!((report.memories, report.namespaces), (2, 1));
    drop(store);
    let store = SqliteStore::open(dir.path()).unwrap();
    store.put_memories(&t, vec![memory("default", "after", 4)]).await.unwrap();
    assert_eq!(store.get_memory(&t, id(4)).await.unwrap().unwrap().seq, 6);
}
