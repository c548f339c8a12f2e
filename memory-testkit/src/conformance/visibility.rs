//! Checks of visibility across tasks and threads: read-your-writes, and writes racing each
//! other (deduplication and the change sequence stay exact under concurrency).

use std::collections::HashSet;

use memory_core::{MemoryFilter, PutOutcome, Store};

use crate::fixtures::*;

/// A write that returned `Ok` is seen at once by a call from another thread (its own
/// runtime and, for pooled backends, likely another connection), and the other way round.
pub async fn check_read_your_writes_across_tasks(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let id = put(store, &t, new_memory("research", "written here")).await;
    let seen = on_threads(1, |_| async { store.get_memory(&tenant(), id).await.unwrap().map(|m| m.id) });
    assert_eq!(seen, [Some(id)], "another thread misses a write that returned");
    let written = on_threads(1, |_| async {
        let id = put(store, &tenant(), new_memory("research", "written there")).await;
        store.delete_memory(&tenant(), id, at(1)).await.unwrap();
        put(store, &tenant(), new_memory("research", "written there, again")).await
    });
    live(store, &t, written[0]).await;
    assert_eq!(store.count_memories(&t, &MemoryFilter::all()).await.unwrap(), 2);
}

/// Puts of the same content racing from several threads store it once: exactly one
/// `Created`, the rest `Existing` of that id, and the evidence counts every put.
pub async fn check_concurrent_puts_of_the_same_content_store_it_once(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    const THREADS: usize = 6;
    let outcomes = on_threads(THREADS, |_| async {
        let outcomes = store.put_memories(&tenant(), vec![new_memory("research", "raced")]).await.unwrap();
        outcomes[0].clone()
    });
    let created: Vec<_> = outcomes.iter().filter(|o| matches!(o, PutOutcome::Created { .. })).collect();
    assert_eq!(created.len(), 1, "exactly one put creates: {outcomes:?}");
    let id = created[0].id();
    assert!(outcomes.iter().all(|o| o.id() == id), "every put names the stored memory: {outcomes:?}");
    assert_eq!(live(store, &tenant(), id).await.stats.evidence_count, THREADS as u64);
    assert_eq!(store.count_memories(&tenant(), &MemoryFilter::all()).await.unwrap(), 1);
}

/// Writers racing from several threads each get distinct seqs, and the change feed lists
/// every write once in strictly increasing seq order.
pub async fn check_concurrent_writers_get_distinct_seqs(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    const THREADS: usize = 4;
    const EACH: usize = 10;
    let written = on_threads(THREADS, |thread| async move {
        let mut ids = Vec::new();
        for i in 0..EACH {
            ids.push(put(store, &tenant(), new_memory("research", &format!("thread {thread} write {i}"))).await);
        }
        ids
    });
    let changes = all_changes(store, &tenant(), 0, 7).await;
    assert_eq!(changes.len(), THREADS * EACH);
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq), "strictly increasing seqs");
    let listed: HashSet<_> = changes.iter().map(|m| m.id).collect();
    assert_eq!(listed, written.into_iter().flatten().collect::<HashSet<_>>());
}
