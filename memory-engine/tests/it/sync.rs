//! The index follows the store: catch-up applies changes after its checkpoint (and resumes from
//! it), deletions leave the index, and a rebuild reproduces the same index from the store.

use std::sync::Arc;

use memory_core::{
    InMemoryStore, Layer, Namespace, NamespaceKey, NamespaceKind, NewMemory, Store, TenantId, Timestamp,
};
use memory_embed::{Embedder, HashEmbedder};
use memory_engine::sync::{SyncReport, catch_up};
use memory_index::{IndexOptions, MemoryIndex, SearchQuery};

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
    assert_eq!(report, SyncReport { indexed: 3, removed: 0, applied_seq: 3, text_only: 0 });
    assert_eq!(seen.last(), Some(&report));
    assert_eq!(index.applied_seq(), 3);
    let mut math = vec![ids[0].clone(), ids[2].clone()];
    math.sort();
    assert_eq!(ids_found(&index, "math").await, math);
    assert_eq!(index.len(), 3);

    // Nothing new: nothing is done again.
    let again = catch_up(&store, &tenant, embedder.clone(), index.clone(), &mut |_| {}).await.unwrap();
    assert_eq!(again, SyncReport { indexed: 0, removed: 0, applied_seq: 3, text_only: 0 });

    // A deletion in the store leaves the index on the next catch-up.
    store.delete_memory(&tenant, ids[0].parse().unwrap(), at).await.unwrap();
    let after = catch_up(&store, &tenant, embedder.clone(), index.clone(), &mut |_| {}).await.unwrap();
    assert_eq!(after, SyncReport { indexed: 0, removed: 1, applied_seq: 4, text_only: 0 });
    assert_eq!(ids_found(&index, "math").await, vec![ids[2].clone()]);

    // A rebuild from the store (an emptied index caught up from 0) gives the same answers.
    index.clear().unwrap();
    let rebuilt = catch_up(&store, &tenant, embedder.clone(), index.clone(), &mut |_| {}).await.unwrap();
    assert_eq!(rebuilt, SyncReport { indexed: 2, removed: 1, applied_seq: 4, text_only: 0 });
    assert_eq!(ids_found(&index, "math").await, vec![ids[2].clone()]);
    assert_eq!(index.len(), 2);
}

/// An embedder that refuses any text containing "poison" (as an endpoint refuses an input too
/// long for it), and everything while `down` is set.
#[derive(Debug)]
struct Picky {
    inner: HashEmbedder,
    down: std::sync::atomic::AtomicBool,
}

impl Embedder for Picky {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn embed(&self, texts: &[&str]) -> memory_core::Result<Vec<Vec<f32>>> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) || texts.iter().any(|t| t.contains("poison")) {
            return Err(memory_core::Error::unavailable("the embedder refuses this"));
        }
        self.inner.embed(texts)
    }
}

/// A memory the embedder never takes is indexed for full text only instead of stopping every
/// catch-up (and reindex) for good; an embedder that takes nothing is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_memory_the_embedder_refuses_is_indexed_for_text_only() {
    let store = InMemoryStore::new();
    let tenant = TenantId::default_tenant();
    let at = Timestamp::parse_rfc3339("2026-05-08T00:00:00Z").unwrap();
    store.create_namespace(Namespace::new(tenant.clone(), ns("team"), NamespaceKind::Explicit, at)).await.unwrap();
    let texts = ["fine words", "poison pill words", "more fine words"];
    let batch: Vec<NewMemory> = texts.iter().map(|t| NewMemory::new(ns("team"), Layer::Semantic, *t, at)).collect();
    store.put_memories(&tenant, batch).await.unwrap();
    let picky = Arc::new(Picky { inner: HashEmbedder::new(64).unwrap(), down: false.into() });
    let embedder: Arc<dyn Embedder> = picky.clone();
    let index = Arc::new(MemoryIndex::open(IndexOptions::new(None, 64, embedder.model_id())).unwrap());
    let report = catch_up(&store, &tenant, embedder.clone(), index.clone(), &mut |_| {}).await.unwrap();
    assert_eq!(report, SyncReport { indexed: 3, removed: 0, applied_seq: 3, text_only: 1 });
    assert_eq!(ids_found(&index, "pill").await.len(), 1, "found by its text");

    picky.down.store(true, std::sync::atomic::Ordering::SeqCst);
    store.put_memories(&tenant, vec![NewMemory::new(ns("team"), Layer::Semantic, "later words", at)]).await.unwrap();
    let err = catch_up(&store, &tenant, embedder, index.clone(), &mut |_| {}).await.unwrap_err();
    assert!(err.message().contains("refuses"), "{err}");
    assert_eq!(index.applied_seq(), 3, "nothing was skipped");
}

/// One tenant's cold start (its index kept locked by another process, so opening it waits)
/// never holds up another tenant's requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_cold_start_never_blocks_another_tenant() {
    use memory_engine::{Caller, HomeOptions, RecallRequest, open_home};
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let mut options = HomeOptions::new(dir.path());
        options.embedder = Some("hash".into());
        options.wait = std::time::Duration::from_secs(60);
        open_home(options)
    };
    let beta = TenantId::new("beta").unwrap();
    let in_tenant = |tenant: &TenantId| {
        let mut caller = crate::support::who("u");
        caller.tenant = tenant.clone();
        caller
    };
    {
        let home = open().await.unwrap();
        let e = &home.engine;
        assert!(e.create_tenant(&crate::support::who("op").as_operator(), &beta).await.unwrap());
        e.remember(&in_tenant(&TenantId::default_tenant()), "the default tenant's note", None).await.unwrap();
        e.remember(&in_tenant(&beta), "the beta tenant's note", None).await.unwrap();
        e.flush().await.unwrap();
    }
    // Another process checkpoints beta's index: opening it waits for the lock.
    let lock_path = dir.path().join("index").join(beta.path_token()).join("lock");
    let lock = std::fs::OpenOptions::new().write(true).open(&lock_path).unwrap();
    lock.lock().unwrap();

    let home = open().await.unwrap();
    let engine = home.engine.clone();
    let beta_caller: Caller = in_tenant(&beta);
    let cold = tokio::spawn(async move { engine.recall(&beta_caller, &RecallRequest::new("note")).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let answer =
        home.engine.recall(&in_tenant(&TenantId::default_tenant()), &RecallRequest::new("note")).await.unwrap();
    assert_eq!(answer.memories.len(), 1);
    assert!(!cold.is_finished(), "beta's open waits for its lock while the default tenant answers");
    lock.unlock().unwrap();
    let beta_answer = cold.await.unwrap().unwrap();
    assert_eq!(beta_answer.memories[0].memory.content, "the beta tenant's note");
}

/// Many writers at once share catch-ups, and each still reads its own write the moment it is
/// acknowledged (a catch-up that started before a write's put returned never counts for it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_each_read_their_own_write_at_once() {
    use memory_engine::RecallRequest;
    let dir = tempfile::tempdir().unwrap();
    let mut options = memory_engine::HomeOptions::new(dir.path());
    options.embedder = Some("hash".into());
    let home = memory_engine::open_home(options).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let engine = home.engine.clone();
        tasks.spawn(async move {
            let caller = crate::support::who("u");
            let word = format!("zebra{i}quokka");
            engine.remember(&caller, &format!("note about {word}"), None).await.unwrap();
            let mut request = RecallRequest::new(word.clone());
            request.limit = 5;
            let found = engine.recall(&caller, &request).await.unwrap();
            assert!(
                found.memories.iter().any(|r| r.memory.content.contains(&word)),
                "writer {i} does not read its own write"
            );
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}
