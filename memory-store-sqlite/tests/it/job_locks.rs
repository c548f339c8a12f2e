//! Maintenance job locks across processes: two processes on one database file contend for
//! the same (job, namespace) lock and never hold it at once; a lock left by a process that
//! exited without releasing it is refused until its lease ends, then taken over.
//!
//! The children are this test binary itself, re-run with `LOCK_CHILD_DIR` set and a filter
//! that selects only [`child_locker`] or [`child_stale_holder`]; without the variable those
//! tests do nothing.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use memory_core::{Job, JobLock, Store, Timestamp};
use memory_store_sqlite::{Durability, SqliteOptions, SqliteStore};

use crate::support::*;

const CHILD_DIR: &str = "MEMORY_SQLITE_LOCK_CHILD_DIR";
const CHILD_HOLDER: &str = "MEMORY_SQLITE_LOCK_CHILD_HOLDER";
/// How many times each contending child takes the lock.
const ROUNDS: usize = 25;
/// The log of holds, one `START holder` and one `END holder` line per hold.
const HOLDS_FILE: &str = "holds.log";
/// A counter each holder increments with a read, a pause and a write: overlapping holders
/// would lose increments.
const COUNTER_FILE: &str = "counter";
/// Created by the parent once every child is ready, so they contend from the same moment.
const GO_FILE: &str = "go";

fn lock(holder: &str, acquired_at: Timestamp, expires_at: Timestamp) -> JobLock {
    JobLock {
        tenant: tenant(),
        job: Job::Consolidate,
        namespace: ns("shared"),
        holder: holder.to_owned(),
        acquired_at,
        expires_at,
    }
}

fn open(dir: &Path) -> SqliteStore {
    SqliteStore::open_with(SqliteOptions::new(dir).durability(Durability::Process)).unwrap()
}

fn append(path: &Path, line: &str) {
    let mut file = OpenOptions::new().create(true).append(true).open(path).unwrap();
    writeln!(file, "{line}").unwrap();
}

/// A contending child: takes the lock `ROUNDS` times (wall-clock times, a lease far longer
/// than a hold), logging and counting under it, and reports how often it was refused.
#[test]
fn child_locker() {
    let (Ok(dir), Ok(holder)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_HOLDER)) else { return };
    let dir = Path::new(&dir);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = open(dir);
        println!("READY");
        std::io::stdout().flush().unwrap();
        let waiting = Instant::now();
        while !dir.join(GO_FILE).exists() {
            assert!(waiting.elapsed() < Duration::from_secs(60), "the parent never said go");
            std::thread::sleep(Duration::from_millis(1));
        }
        let mut refused = 0u64;
        for _ in 0..ROUNDS {
            let started = Instant::now();
            loop {
                let now = Timestamp::now();
                if store.try_lock_job(&lock(&holder, now, now.plus_micros(60_000_000))).await.unwrap() {
                    break;
                }
                refused += 1;
                assert!(started.elapsed() < Duration::from_secs(60), "{holder} never got the lock");
                std::thread::sleep(Duration::from_micros(200));
            }
            append(&dir.join(HOLDS_FILE), &format!("START {holder}"));
            let counter = dir.join(COUNTER_FILE);
            let n: u64 = std::fs::read_to_string(&counter).map(|s| s.trim().parse().unwrap()).unwrap_or(0);
            std::thread::sleep(Duration::from_millis(2));
            std::fs::write(&counter, (n + 1).to_string()).unwrap();
            append(&dir.join(HOLDS_FILE), &format!("END {holder}"));
            let released = store.unlock_job(&tenant(), Job::Consolidate, &ns("shared"), &holder).await.unwrap();
            assert!(released, "{holder} lost a lock it held");
        }
        println!("REFUSED {refused}");
    });
}

fn spawn_child(test: &str, dir: &Path, holder: &str) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_HOLDER, holder)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

#[test]
fn two_processes_never_hold_a_job_lock_at_once() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Migrate once before the children open the file.
    drop(open(dir.path()));
    let holders = ["worker-a", "worker-b"];
    let mut children: Vec<Child> =
        holders.iter().map(|h| spawn_child("job_locks::child_locker", dir.path(), h)).collect();
    let mut outputs: Vec<_> = children.iter_mut().map(|c| BufReader::new(c.stdout.take().unwrap()).lines()).collect();
    for (lines, holder) in outputs.iter_mut().zip(holders) {
        // libtest prints `test <name> ... ` before the test runs, on the same line.
        let ready = lines.find(|l| l.as_deref().is_ok_and(|l| l.ends_with("READY")));
        assert!(ready.is_some(), "{holder} exited before it was ready");
    }
    std::fs::write(dir.path().join(GO_FILE), "").unwrap();
    let mut refused = 0u64;
    for ((child, lines), holder) in children.iter_mut().zip(outputs).zip(holders) {
        for line in lines {
            if let Some((_, n)) = line.unwrap().split_once("REFUSED ") {
                refused += n.trim().parse::<u64>().unwrap();
            }
        }
        assert!(child.wait().unwrap().success(), "{holder} failed");
    }

    let holds = std::fs::read_to_string(dir.path().join(HOLDS_FILE)).unwrap();
    let lines: Vec<&str> = holds.lines().collect();
    assert_eq!(lines.len(), 2 * ROUNDS * holders.len(), "every hold is logged");
    for pair in lines.chunks(2) {
        let (start, end) = (pair[0].strip_prefix("START "), pair[1].strip_prefix("END "));
        assert!(start.is_some() && start == end, "two holders overlapped: {pair:?}");
    }
    for holder in holders {
        let held = lines.iter().filter(|l| **l == format!("START {holder}")).count();
        assert_eq!(held, ROUNDS, "{holder} held the lock {held} times");
    }
    let counter = std::fs::read_to_string(dir.path().join(COUNTER_FILE)).unwrap();
    assert_eq!(counter.trim(), (ROUNDS * holders.len()).to_string(), "an increment was lost to an overlap");
    assert!(refused > 0, "the two processes never contended for the lock");
}

/// A child that takes the lock with a short lease (in test time) and exits without
/// releasing it, as a crashed worker would.
#[test]
fn child_stale_holder() {
    let (Ok(dir), Ok(holder)) = (std::env::var(CHILD_DIR), std::env::var(CHILD_HOLDER)) else { return };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = open(Path::new(&dir));
        assert!(store.try_lock_job(&lock(&holder, at(0), at(30))).await.unwrap());
        println!("LOCKED");
    });
}

#[tokio::test]
async fn a_lock_left_by_an_exited_process_is_taken_over_once_stale() {
    if std::env::var(CHILD_DIR).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    let mut child = spawn_child("job_locks::child_stale_holder", dir.path(), "crashed-worker");
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Read to the end: a closed pipe would fail the child's last words.
    let lines: Vec<String> = lines.map_while(|l| l.ok()).collect();
    let locked = lines.iter().any(|l| l.ends_with("LOCKED"));
    assert!(child.wait().unwrap().success() && locked, "the child did not take the lock");

    let store = open(dir.path());
    assert!(!store.try_lock_job(&lock("parent", at(29), at(90))).await.unwrap(), "the child's lease still runs");
    assert!(!store.unlock_job(&tenant(), Job::Consolidate, &ns("shared"), "parent").await.unwrap());
    assert!(store.try_lock_job(&lock("parent", at(30), at(90))).await.unwrap(), "a stale lock is taken over");
    assert!(
        !store.unlock_job(&tenant(), Job::Consolidate, &ns("shared"), "crashed-worker").await.unwrap(),
        "the old holder has lost it"
    );
    assert!(store.unlock_job(&tenant(), Job::Consolidate, &ns("shared"), "parent").await.unwrap());
}
