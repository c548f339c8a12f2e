//! Many readers while one task writes: reads proceed on their own connections, never see a
//! batch half-applied, and see every acknowledged write.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use memory_core::{MemoryFilter, PageRequest, Store};

use crate::support::*;

const BATCHES: u64 = 40;
const BATCH: u64 = 25;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_see_whole_batches_while_a_writer_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(open_fast(dir.path()));
    let t = tenant();
    create_ns(&*store, &t, "default").await;
    // How many batches have been acknowledged: a reader must see at least that many.
    let acked = Arc::new(AtomicU64::new(0));

    let writer = {
        let (store, acked, t) = (Arc::clone(&store), Arc::clone(&acked), t.clone());
        tokio::spawn(async move {
            for b in 0..BATCHES {
                let batch = (0..BATCH)
                    .map(|i| {
                        let n = u128::from(b * BATCH + i + 1);
                        memory("default", &format!("batch {b} item {i}"), n)
                    })
                    .collect();
                store.put_memories(&t, batch).await.unwrap();
                acked.store(b + 1, Ordering::SeqCst);
            }
        })
    };
    let readers: Vec<_> = (0..8)
        .map(|r| {
            let (store, acked, t) = (Arc::clone(&store), Arc::clone(&acked), t.clone());
            tokio::spawn(async move {
                let mut last = 0;
                loop {
                    let floor = acked.load(Ordering::SeqCst) * BATCH;
                    let n = store.count_memories(&t, &MemoryFilter::all()).await.unwrap();
                    assert_eq!(n % BATCH, 0, "reader {r} saw a partial batch: {n}");
                    assert!(n >= floor && n >= last, "reader {r} went back in time: {n} < {floor} or {last}");
                    last = n;
                    if n > 0 {
                        let newest = id(u128::from(n));
                        assert!(store.get_memory(&t, newest).await.unwrap().is_some(), "reader {r} misses {newest}");
                        let page =
                            store.list_memories(&t, &MemoryFilter::all(), &PageRequest::first(10)).await.unwrap();
                        assert_eq!(page.items.len() as u64, n.min(10));
                    }
                    if n == BATCHES * BATCH {
                        break;
                    }
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    writer.await.unwrap();
    for reader in readers {
        reader.await.unwrap();
    }
    assert_eq!(store.changes_since(&t, 0, 1000).await.unwrap().len() as u64, BATCHES * BATCH);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_get_distinct_sequence_numbers() {
    let (store, _dir) = temp_store();
    let store = Arc::new(store);
    let t = tenant();
    create_ns(&*store, &t, "default").await;
    let tasks: Vec<_> = (0..8u128)
        .map(|w| {
            let (store, t) = (Arc::clone(&store), t.clone());
            tokio::spawn(async move {
                for i in 0..10u128 {
                    let n = w * 100 + i + 1;
                    store.put_memories(&t, vec![memory("default", &format!("w{w} i{i}"), n)]).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let changes = store.changes_since(&t, 0, 1000).await.unwrap();
    let seqs: Vec<u64> = changes.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=80).collect::<Vec<_>>());
}
