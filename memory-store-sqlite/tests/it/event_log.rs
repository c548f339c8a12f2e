//! The JSONL event logs: where lines go, what they hold, and how a partial final line left by
//! a crash is handled by the reader and by the next append.

use std::fs;
use std::io::Write;

use memory_core::{ErrorKind, NewMemory, Store};
use memory_store_sqlite::{LogEvent, SqliteStore, log_file_path, read_log};

use crate::support::*;

fn remembered(events: Vec<LogEvent>) -> Vec<memory_core::Memory> {
    events
        .into_iter()
        .map(|e| match e {
            LogEvent::Remember { memory } => *memory,
            other => panic!("unexpected event {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn created_memories_are_logged_per_namespace_and_day() {
    let (store, dir) = temp_store();
    let t = tenant();
    create_ns(&store, &t, "default").await;
    create_ns(&store, &t, "team.alpha").await;
    let next_day = NewMemory::new(ns("default"), memory_core::Layer::Semantic, "tomorrow", at(86_400)).with_id(id(4));
    let batch = vec![
        memory("default", "one", 1),
        memory("team.alpha", "two", 2),
        memory("default", " one ", 3), // deduplicated: not logged
        next_day,
        memory("default", "three", 5),
    ];
    store.put_memories(&t, batch).await.unwrap();

    let log_dir = store.log_dir().unwrap();
    assert_eq!(log_dir, dir.path().join("log"));
    let day1 = log_dir.join("ns-64656661756c74").join("2026-05-08.jsonl");
    assert_eq!(day1, log_file_path(&log_dir, &t, &ns("default"), BASE));
    let logged = remembered(read_log(&day1).unwrap());
    let stored = store.get_memories(&t, &[id(1), id(5)]).await.unwrap();
    assert_eq!(logged, stored, "lines hold the memories as stored, in input order");
    // A later dedupe hit is not logged either.
    store.put_memories(&t, vec![memory("default", "three", 6)]).await.unwrap();
    assert_eq!(read_log(&day1).unwrap().len(), 2);

    let day2 = log_file_path(&log_dir, &t, &ns("default"), at(86_400));
    assert!(day2.ends_with("ns-64656661756c74/2026-05-09.jsonl"));
    assert_eq!(remembered(read_log(&day2).unwrap()), store.get_memories(&t, &[id(4)]).await.unwrap());
    let alpha = log_file_path(&log_dir, &t, &ns("team.alpha"), BASE);
    assert_eq!(remembered(read_log(&alpha).unwrap()), store.get_memories(&t, &[id(2)]).await.unwrap());

    let raw = fs::read_to_string(&day1).unwrap();
    assert_eq!(raw.lines().count(), 2);
    assert!(raw.starts_with("{\"event\":\"remember\",\"memory\":{\"id\":\"00000000-0000-0000-0000-000000000001\""));
    assert!(raw.ends_with("}\n"));
}

#[tokio::test]
async fn other_tenants_and_long_keys_get_their_own_directories() {
    let (store, _dir) = temp_store();
    let o = other_tenant();
    let long = "é".repeat(64); // 128 bytes of UTF-8: the token spans two directories
    create_ns(&store, &o, "default").await;
    create_ns(&store, &o, &long).await;
    store.put_memories(&o, vec![memory("default", "a", 1), memory(&long, "b", 2)]).await.unwrap();

    let log_dir = store.log_dir().unwrap();
    let plain = log_file_path(&log_dir, &o, &ns("default"), BASE);
    assert_eq!(plain, log_dir.join("tenant-41636d652d32/ns-64656661756c74/2026-05-08.jsonl"));
    assert_eq!(read_log(&plain).unwrap().len(), 1);
    let nested = log_file_path(&log_dir, &o, &ns(&long), BASE);
    let relative = nested.strip_prefix(&log_dir).unwrap();
    assert_eq!(relative.components().count(), 4, "tenant dir, two token segments, file: {relative:?}");
    assert_eq!(read_log(&nested).unwrap().len(), 1);
}

#[tokio::test]
async fn a_partial_final_line_is_ignored_by_the_reader_and_cut_by_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let path = {
        let store = SqliteStore::open(dir.path()).unwrap();
        create_ns(&store, &t, "default").await;
        store.put_memories(&t, vec![memory("default", "first", 1)]).await.unwrap();
        log_file_path(&store.log_dir().unwrap(), &t, &ns("default"), BASE)
    };
    // What a crash in the middle of a write leaves behind.
    fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"event\":\"remember\",\"mem").unwrap();
    assert_eq!(read_log(&path).unwrap().len(), 1);

    let store = SqliteStore::open(dir.path()).unwrap();
    store.put_memories(&t, vec![memory("default", "second", 2)]).await.unwrap();
    let raw = fs::read_to_string(&path).unwrap();
    assert_eq!(raw.lines().count(), 2);
    assert!(!raw.contains("\"mem{"), "the partial line is gone: {raw}");
    let logged = remembered(read_log(&path).unwrap());
    assert_eq!(logged, store.get_memories(&t, &[id(1), id(2)]).await.unwrap());
}

#[tokio::test]
async fn a_log_of_only_a_partial_line_is_emptied_before_appending() {
    let dir = tempfile::tempdir().unwrap();
    let t = tenant();
    let store = SqliteStore::open(dir.path()).unwrap();
    create_ns(&store, &t, "default").await;
    let path = log_file_path(&store.log_dir().unwrap(), &t, &ns("default"), BASE);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, b"{\"event\"").unwrap();
    assert!(read_log(&path).unwrap().is_empty());
    store.put_memories(&t, vec![memory("default", "first", 1)]).await.unwrap();
    assert_eq!(read_log(&path).unwrap().len(), 1);
}

#[test]
fn a_broken_complete_line_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.jsonl");
    fs::write(&path, "\n{\"event\":\"forget\"}\n").unwrap();
    let e = read_log(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("line 2"), "{e}");
    assert_eq!(read_log(&dir.path().join("missing.jsonl")).unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn the_in_memory_store_writes_no_logs() {
    let store = SqliteStore::open_in_memory().unwrap();
    assert!(store.log_dir().is_none() && store.data_dir().is_none());
    create_ns(&store, &tenant(), "default").await;
    store.put_memories(&tenant(), vec![memory("default", "a", 1)]).await.unwrap();
    assert_eq!(format!("{store:?}"), "SqliteStore(in memory)");
}

/// seeds/004: a restricted namespace keeps its memories' content out of the log (the line
/// keeps id, namespace, time and hash) unless its metadata opts in with `"log_content": true`.
#[tokio::test]
async fn restricted_namespaces_keep_content_out_of_the_log_unless_they_opt_in() {
    let (store, _dir) = temp_store();
    let t = tenant();
    let mut patch = memory_core::NamespacePatch::default();
    patch.sensitivity = Some(memory_core::Sensitivity::Restricted);
    for key in ["vault", "ledger"] {
        create_ns(&store, &t, key).await;
        store.update_namespace(&t, &ns(key), &patch, BASE).await.unwrap();
    }
    let mut opt_in = memory_core::NamespacePatch::default();
    opt_in.metadata =
        Some(memory_core::Metadata::from([(memory_store_sqlite::LOG_CONTENT_KEY.to_owned(), serde_json::json!(true))]));
    store.update_namespace(&t, &ns("ledger"), &opt_in, BASE).await.unwrap();
    store.put_memories(&t, vec![memory("vault", "the code is 1234", 1), memory("ledger", "paid", 2)]).await.unwrap();

    let log_dir = store.log_dir().unwrap();
    let vault = log_file_path(&log_dir, &t, &ns("vault"), BASE);
    let stored = store.get_memory(&t, id(1)).await.unwrap().unwrap();
    assert_eq!(
        read_log(&vault).unwrap(),
        [LogEvent::Withheld {
            id: stored.id,
            namespace: stored.namespace.clone(),
            created_at: stored.created_at,
            content_hash: stored.content_hash.clone()
        }]
    );
    assert!(!fs::read_to_string(&vault).unwrap().contains("1234"), "the content is not in the file");
    let ledger = log_file_path(&log_dir, &t, &ns("ledger"), BASE);
    assert_eq!(remembered(read_log(&ledger).unwrap()), store.get_memories(&t, &[id(2)]).await.unwrap());
}
