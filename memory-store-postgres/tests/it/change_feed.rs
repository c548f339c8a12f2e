//! The change feed is commit-ordered: a tailer that moves its cursor while many writers (in
//! two "processes": two pools) commit concurrently still sees every change. A plain
//! `bigserial` fails this: a transaction that drew a smaller number commits after a larger
//! one was read, and the tailer's cursor has moved past it.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use memory_core::{MemoryId, Store};
use memory_store_postgres::testing::TestSchema;
use memory_testkit::fixtures::{at, create_namespace, new_memory, tenant};

const WRITERS_PER_STORE: usize = 6;
const WRITES_PER_WRITER: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tailer_sees_every_change_of_concurrent_writers() {
    let Some((first, schema)) = TestSchema::store().await else { return };
    let second = schema.open().await;
    let t = tenant();
    for key in ["a", "b"] {
        create_namespace(&first, &t, key).await;
    }
    let done = Arc::new(AtomicBool::new(false));
    let tailer = {
        let (store, t, done) = (second.clone(), t.clone(), done.clone());
        tokio::spawn(async move {
            let (mut cursor, mut seen) = (0u64, HashSet::new());
            loop {
                // Read whether the writers are done before reading the feed, so the last
                // pass surely comes after the last commit.
                let finished = done.load(Ordering::SeqCst);
                let changes = store.changes_since(&t, cursor, 50).await.expect("changes");
                for m in &changes {
                    assert!(m.seq > cursor, "the feed went backwards: {} after {cursor}", m.seq);
                    cursor = m.seq;
                    seen.insert(m.id);
                }
                if changes.is_empty() {
                    if finished {
                        return seen;
                    }
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };
    let mut writers = Vec::new();
    for (s, store) in [first.clone(), second.clone()].into_iter().enumerate() {
        for w in 0..WRITERS_PER_STORE {
            let (store, t) = (store.clone(), t.clone());
            writers.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..WRITES_PER_WRITER {
                    let key = if i % 2 == 0 { "a" } else { "b" };
                    let mut batch = vec![new_memory(key, &format!("store {s} writer {w} note {i}"))];
                    if i % 7 == 0 {
                        batch.push(new_memory(key, &format!("store {s} writer {w} note {i} second")));
                    }
                    ids.extend(batch.iter().map(|m| m.id));
                    store.put_memories(&t, batch).await.expect("put");
                    if i % 11 == 0 {
                        store.delete_memory(&t, ids[ids.len() - 1], at(1)).await.expect("delete");
                    }
                }
                ids
            }));
        }
    }
    let mut written: HashSet<MemoryId> = HashSet::new();
    for w in writers {
        written.extend(w.await.expect("writer"));
    }
    done.store(true, Ordering::SeqCst);
    let seen = tailer.await.expect("tailer");
    let missed: Vec<&MemoryId> = written.difference(&seen).collect();
    assert!(missed.is_empty(), "the tailer missed {} of {} changes: {missed:?}", missed.len(), written.len());
    assert_eq!(seen.len(), written.len());
}

/// Another handle's commit moves the change signal within a second; the writer's own does too
/// (every listener hears every commit), and the signal is live once connected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_process_commit_rings_the_doorbell() {
    let Some((first, schema)) = TestSchema::store().await else { return };
    let second = schema.open().await;
    assert!(second.capabilities().change_notification);
    let signal = second.change_signal().expect("a signal");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while signal.generation().is_none() {
        assert!(tokio::time::Instant::now() < deadline, "the listener never went live");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before = signal.generation().expect("live");
    let t = tenant();
    create_namespace(&first, &t, "a").await;
    first.put_memories(&t, vec![new_memory("a", "rings")]).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while signal.generation() == Some(before) {
        assert!(tokio::time::Instant::now() < deadline, "no notification within 1 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
