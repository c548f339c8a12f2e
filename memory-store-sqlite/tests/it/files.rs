//! What the files of one data directory promise when several stores (processes) share it or
//! are copied: a stable identity, a database file that holds its data without the WAL,
//! online backups, and one log order across writers.

use std::time::Duration;

use memory_core::{MemoryFilter, Store};
use memory_store_sqlite::{DATABASE_FILE, LogEvent, SqliteOptions, SqliteStore, log_file_path, read_log};

use crate::support::*;

#[tokio::test]
async fn every_store_has_its_own_identity_kept_across_reopening() {
    let (a, dir) = temp_store();
    let (b, _other) = temp_store();
    let id = a.store_id().await.unwrap();
    assert_ne!(id, b.store_id().await.unwrap(), "two stores, two identities");
    drop(a);
    let again = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(again.store_id().await.unwrap(), id);
}

/// A copy of `memory.db` alone (no `-wal` beside it) holds what was written, once the store
/// closed, and within the checkpoint interval while it is open.
#[tokio::test]
async fn the_database_file_alone_holds_the_data_after_close_and_within_seconds_of_a_write() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let copy_holds = |n: u64| {
        let copy = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join(DATABASE_FILE), copy.path().join(DATABASE_FILE)).unwrap();
        let conn = rusqlite::Connection::open(copy.path().join(DATABASE_FILE)).unwrap();
        let count: i64 = conn.query_row("SELECT count(*) FROM memories", [], |r| r.get(0)).unwrap();
        assert_eq!(count as u64, n, "memories in a copy of memory.db alone");
    };
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        create_ns(&store, &t, "default").await;
        store.put_memories(&t, vec![memory("default", "one", 1)]).await.unwrap();
    }
    copy_holds(1);
    let store = SqliteStore::open(dir.path()).unwrap();
    store.put_memories(&t, vec![memory("default", "two", 2)]).await.unwrap();
    // No write follows: the checkpoint thread copies it within two intervals, store still open.
    tokio::time::sleep(Duration::from_millis(4500)).await;
    copy_holds(2);
    store.put_memories(&t, vec![memory("default", "three", 3)]).await.unwrap();
    store.checkpoint().await.unwrap();
    copy_holds(3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_writing_is_a_consistent_database() {
    let (store, dir) = temp_store();
    let t = tenant();
    create_ns(&store, &t, "default").await;
    let writer = {
        let store = SqliteStore::open(dir.path()).unwrap();
        let t = t.clone();
        tokio::spawn(async move {
            for n in 0..200u128 {
                let batch =
                    (0..5).map(|i| memory("default", &format!("batch {n} item {i}"), 1000 + n * 5 + i)).collect();
                store.put_memories(&t, batch).await.unwrap();
            }
        })
    };
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join(DATABASE_FILE);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let report = store.backup_to(&target).await.unwrap();
    assert!(report.bytes > 0 && report.pages > 0, "{report:?}");
    writer.await.unwrap();
    assert!(!out.path().join("memory.db-wal").exists(), "the copy is one file");
    let copy = SqliteStore::open(out.path()).unwrap();
    assert_eq!(copy.store_id().await.unwrap(), store.store_id().await.unwrap(), "a backup is the same store");
    let n = copy.count_memories(&t, &MemoryFilter::all()).await.unwrap();
    assert_eq!(n % 5, 0, "whole batches only: {n}");
    assert_eq!(copy.last_seq().await.unwrap(), n, "the sequence matches what the copy holds");
    let again = store.backup_to(&target).await.unwrap_err();
    assert_eq!(again.kind(), memory_core::ErrorKind::AlreadyExists, "never overwrites: {again}");
}

/// Two stores on one directory (as two processes would be) write one log whose line order is
/// the commit (seq) order, with no line lost or glued to another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_writers_share_one_log_in_commit_order() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let first = SqliteStore::open(dir.path()).unwrap();
    create_ns(&first, &t, "default").await;
    let tasks: Vec<_> = (0..2u128)
        .map(|w| {
            let store = SqliteStore::open_with(SqliteOptions::new(dir.path())).unwrap();
            let t = t.clone();
            tokio::spawn(async move {
                for n in 0..50u128 {
                    let id = 10_000 * (w + 1) + n;
                    store.put_memories(&t, vec![memory("default", &format!("writer {w} line {n}"), id)]).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let log = log_file_path(&dir.path().join("log"), &t, &ns("default"), BASE);
    let seqs: Vec<u64> = read_log(&log)
        .unwrap()
        .into_iter()
        .map(|e| match e {
            LogEvent::Remember { memory } => memory.seq,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(seqs.len(), 100);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "log order is commit order: {seqs:?}");
}
