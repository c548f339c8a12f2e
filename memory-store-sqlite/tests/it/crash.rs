//! Crash safety: a child process streams batched puts and reports each acknowledged batch on
//! stdout; the parent kills it with SIGKILL mid-stream, reopens the store and checks that
//! every acknowledged memory is in the database, intact, and in the event log, that the
//! database passes `PRAGMA integrity_check`, and that every log file parses.
//!
//! The child is this test binary itself, re-run with `CHILD_DIR` set and a filter that selects
//! only [`child_writer`]; without the variable that test does nothing. `MEMORY_CRASH_ROUNDS`
//! sets how many kills to try (default 3), each at a different point.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use memory_core::{Layer, Memory, MemoryId, NamespaceKind, NewMemory, Store};
use memory_store_sqlite::{DATABASE_FILE, LogEvent, SqliteStore, read_log};
use uuid::Uuid;

use crate::support::*;

const CHILD_DIR: &str = "MEMORY_SQLITE_CRASH_CHILD_DIR";
const CHILD_ROUND: &str = "MEMORY_SQLITE_CRASH_CHILD_ROUND";
const BATCH: u64 = 200;
const NAMESPACES: [&str; 2] = ["default", "crash.second"];

fn memory_id(round: u64, batch: u64, item: u64) -> MemoryId {
    MemoryId::from_uuid(Uuid::from_u128((u128::from(round) << 64) | (u128::from(batch) << 32) | u128::from(item)))
}

/// The memory the child writes as item `item` of batch `batch` in round `round`.
fn crash_memory(round: u64, batch: u64, item: u64) -> NewMemory {
    let key = NAMESPACES[(item % 2) as usize];
    let content = format!("round {round} batch {batch} item {item}: {}", "some padding text ".repeat(8));
    NewMemory::new(ns(key), Layer::Episodic, content, at((round * 10_000 + batch) as i64))
        .with_id(memory_id(round, batch, item))
}

/// The child: writes batches until it is killed (or a generous cap, should the parent die).
#[tokio::test]
async fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { return };
    let round: u64 = std::env::var(CHILD_ROUND).unwrap().parse().unwrap();
    let store = SqliteStore::open(&dir).unwrap();
    let t = tenant();
    for key in NAMESPACES {
        let ns = memory_core::Namespace::new(t.clone(), ns(key), NamespaceKind::Explicit, BASE);
        if let Err(e) = store.create_namespace(ns).await {
            assert_eq!(e.kind(), memory_core::ErrorKind::AlreadyExists, "{e}");
        }
    }
    let mut stdout = std::io::stdout();
    for batch in 0..10_000 {
        let memories = (0..BATCH).map(|i| crash_memory(round, batch, i)).collect();
        store.put_memories(&t, memories).await.unwrap();
        writeln!(stdout, "ACK {batch}").unwrap();
        stdout.flush().unwrap();
    }
}

/// Runs one child until it has acknowledged `kill_after` batches, waits `delay`, kills it and
/// returns every batch it acknowledged (including any printed before the kill landed).
fn run_and_kill(dir: &Path, round: u64, kill_after: usize, delay: Duration) -> Vec<u64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash::child_writer", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_ROUND, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    while acked.len() < kill_after {
        let line = lines.next().unwrap_or_else(|| panic!("child exited after {} batches", acked.len())).unwrap();
        if let Some(batch) = line.strip_prefix("ACK ") {
            acked.push(batch.parse().unwrap());
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap();
    child.wait().unwrap();
    for line in lines {
        if let Some(batch) = line.unwrap().strip_prefix("ACK ") {
            acked.push(batch.parse().unwrap());
        }
    }
    acked
}

fn log_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            log_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

async fn check_after_crash(dir: &Path, acked: &[(u64, u64)]) {
    let conn = rusqlite::Connection::open(dir.join(DATABASE_FILE)).unwrap();
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    drop(conn);

    let store = SqliteStore::open(dir).unwrap();
    let t = tenant();
    let mut logged: HashMap<MemoryId, Memory> = HashMap::new();
    let mut files = Vec::new();
    log_files(&store.log_dir().unwrap(), &mut files);
    for file in &files {
        for event in read_log(file).unwrap_or_else(|e| panic!("{}: {e}", file.display())) {
            match event {
                LogEvent::Remember { memory } => assert!(logged.insert(memory.id, *memory).is_none()),
                other => panic!("unexpected event {other:?}"),
            }
        }
    }
    for &(round, batch) in acked {
        let ids: Vec<MemoryId> = (0..BATCH).map(|i| memory_id(round, batch, i)).collect();
        let stored = store.get_memories(&t, &ids).await.unwrap();
        assert_eq!(stored.len() as u64, BATCH, "round {round} batch {batch} is incomplete");
        for (i, m) in stored.iter().enumerate() {
            let expected = crash_memory(round, batch, i as u64);
            assert_eq!(
                (m.id, &m.namespace, &m.content),
                (expected.id, &expected.namespace, &expected.content.trim().to_owned())
            );
            assert_eq!(logged.get(&m.id), Some(m), "round {round} batch {batch} item {i} is not logged as stored");
        }
    }
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    let rounds: u64 = std::env::var("MEMORY_CRASH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut acked: BTreeSet<(u64, u64)> = BTreeSet::new();
    for round in 0..rounds {
        // Vary both how far the child gets and how long after an acknowledgement it dies.
        let kill_after = 1 + (round as usize * 2) % 7;
        let delay = Duration::from_millis(round * 7 % 20);
        for batch in run_and_kill(dir.path(), round, kill_after, delay) {
            acked.insert((round, batch));
        }
        let acked: Vec<_> = acked.iter().copied().collect();
        runtime.block_on(check_after_crash(dir.path(), &acked));
    }
    assert!(acked.len() as u64 >= rounds);
}
