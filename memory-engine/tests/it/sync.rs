//! The index follows the store: catch-up applies changes after its checkpoint (and resumes from
//! it), deletions leave the index, and a rebuild reproduces the same index from the store.

use std::sync::Arc;

use memory_core::{
    InMemoryStore, Layer, Namespace, NamespaceKey, NamespaceKind, NewMemory, Store, TenantId, Timestamp,
};
use memory_engine::embed::{Embedder, HashEmbedder};
use memory_engine::index::{IndexOptions, MemoryIndex, SearchQuery};
use memory_engine::sync::{SyncReport, catch_up};

fn ns(name: &str) -> NamespaceKey {
    NamespaceKey::new(name).unwrap()
}

/// Ids of the BM25 matches of `text` (text only: in a tiny namespace every vector is a candidate).
async fn ids_found(index: &MemoryIndex, text: &str) -> Vec<String> {
    let query = SearchQuery {
        text: text.to_owned(),
        vector: None,
        namespaces: vec![ns("team")],
        limit: 10,
        ..SearchQuery::default()
    };
    let mut ids: Vec<String> = index.search(&query).unwrap().hits.iter().map(|h| h.id.to_string()).collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_catches_up_with_the_store_and_rebuilds_from_it() {
    let store = InMemoryStore::new();
    let tenant = TenantId::default_tenant();
    let at = Timestamp::parse_rfc3339("2026-05-08T00:00:00Z").unwrap();
    store.create_namespace(Namespace::new(tenant.clone(), ns("team"), NamespaceKind::Explicit, at)).await.unwrap();
    let texts = ["GPT-4 outperforms on math by 12%", "the team prefers postgres", "math olympiad results"];
    let batch: Vec<NewMemory> = texts.iter().map(|t| NewMemory::new(ns("team"), Layer::Semantic, *t, at)).collect();
    let ids: Vec<_> = batch.iter().map(|m| m.id.to_string()).collect();
    store.put_memories(&tenant, batch).await.unwrap();

    let embedder: Arc<dyn Embedder> = Arc::new(HashEmbedder::new(64).unwrap());
    let options = IndexOptions::new(None, embedder.dimension(), embedder.model_id());
    let index = Arc::new(MemoryIndex::open(options).unwrap());
    let mut seen = Vec::new();
    let report = catch_up(&store, &tenant, embedder.clone(), index.clone(), &mut |r| seen.push(r)).await.unwrap();
    assert_eq!(report, SyncReport { indexed: 3, removed: 0, applied_seq: 3 });
    assert_eq!(seen.last(), Some(&report));
    assert_eq!(index.applied_seq(), 3);
    let mut math = vec![ids[0].clone(), ids[2].clone()];
    math.sort();
    assert_eq!(ids_found(&index, "math").await, math);
    assert_eq!(index.len(), 3);

    // Nothing new: nothing is done again.
    let again = catch_up(&store, &tenant, embedder.clone(), index.clone(), &mut |_| {}).await.unwrap();
    assert_eq!(again, SyncReport { indexed: 0, removed: 0, applied_seq: 3 });

    // A deletion in the store leaves the index on the next catch-up.
    store.delete_memory(&tenant, ids[0].parse().unwrap(), at).await.unwrap();
    let after = catch_up(&store, &tenant, embedder.clone(), index.clone(), &mut |_| {}).await.unwrap();
    assert_eq!(after, SyncReport { indexed: 0, removed: 1, applied_seq: 4 });
    assert_eq!(ids_found(&index, "math").await, vec![ids[2].clone()]);

    // A rebuild from the store (an emptied index caught up from 0) gives the same answers.
    index.clear().unwrap();
    let rebuilt = catch_up(&store, &tenant, embedder.clone(), index.clone(), &mut |_| {}).await.unwrap();
    assert_eq!(rebuilt, SyncReport { indexed: 2, removed: 1, applied_seq: 4 });
    assert_eq!(ids_found(&index, "math").await, vec![ids[2].clone()]);
    assert_eq!(index.len(), 2);
}
