//! A home shared by many processes and broken by crashes (issue 9): concurrent writers all
//! succeed, readers never fail, `kill -9` at any point leaves a home every command works on
//! with every acknowledged write recallable, and a damaged or foreign index is repaired by
//! `reindex` while store-only commands never need it.
//!
//! Sizes come from the environment: `MEMORY_TEST_KILLS` (SIGKILLs per command kind; default 30,
//! 200 under `CI=true`) and `MEMORY_TEST_WRITERS` (concurrent writers; default 50).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Home, Run, arg};

fn env_size(name: &str, default: usize, ci: usize) -> usize {
    match std::env::var(name).ok().and_then(|v| v.parse().ok()) {
        Some(n) => n,
        None if std::env::var("CI").is_ok_and(|v| v == "true") => ci,
        None => default,
    }
}

/// A `memory` process on `home` as alice with the hash embedder, not waited for.
fn spawn(home: &str, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_memory"))
        .args(["--home", home, "--embedder", "hash", "--principal", "alice"])
        .args(args)
        .env_remove("MEMORY_HOME")
        .env_remove("MEMORY_PRINCIPAL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn memory")
}

fn finish(child: Child) -> Run {
    let out = child.wait_with_output().expect("wait for memory");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every memory of the home, by id, from `export --out -` (the store alone).
fn exported(home: &Home) -> Vec<Value> {
    let run = home.run("op", &["export", "--out", "-"]).expect_code(0);
    run.stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("an export line"))
        .filter(|l| l["type"] == "memory")
        .map(|l| l["memory"].clone())
        .collect()
}

/// `namespaces verify` says ok: the index holds exactly the store's searchable memories.
fn verified(home: &Home) {
    let run = home.run("op", &["namespaces", "verify", "--json"]).expect_code(0);
    assert_eq!(run.json()["problems"], serde_json::json!([]), "{run:#?}");
}

/// A small deterministic generator (xorshift), so a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn many_writers_and_readers_share_one_home() {
    let home = Home::new();
    let path = home.path();
    home.remember("alice", "before the crowd", &[]);
    let writers = env_size("MEMORY_TEST_WRITERS", 50, 50);
    let started = Instant::now();
    let children: Vec<Child> =
        (0..writers).map(|i| spawn(&path, &["remember", &format!("crowd fact {i}"), "--json"])).collect();
    // Two read loops, running while the writers write: none of their reads may fail.
    let readers: Vec<std::thread::JoinHandle<Vec<Run>>> = (0..2)
        .map(|r| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut runs = Vec::new();
                while runs.len() < 12 {
                    let args: &[&str] = match (runs.len() + r) % 3 {
                        0 => &["recall", "crowd fact", "--json"],
                        1 => &["get", "00000000-0000-0000-0000-000000000000"],
                        _ => &["namespaces", "ls", "--json"],
                    };
                    runs.push(finish(spawn(&path, args)));
                }
                runs
            })
        })
        .collect();
    let written: Vec<Run> = children.into_iter().map(finish).collect();
    let elapsed = started.elapsed();
    for run in &written {
        assert_eq!(run.code, 0, "every writer succeeds within the default wait ({elapsed:?}): {run:#?}");
    }
    for runs in readers.into_iter().map(|r| r.join().expect("reader thread")) {
        for run in runs {
            // `get` of an unknown id answers 4 (not found): an answer, not a failure.
            assert!(run.code == 0 || run.code == 4 && run.stderr.contains("not found"), "a read failed: {run:#?}");
            assert!(!run.stderr.contains("in use") && !run.stderr.contains("busy"), "{run:#?}");
        }
    }
    let ids: BTreeSet<String> = written.iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), writers, "each writer stored its own memory");
    let stored: BTreeSet<String> = exported(&home).iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect();
    assert!(ids.is_subset(&stored));
    verified(&home);
    let found = home.recall("alice", "crowd fact 7", &["--limit", "3"]);
    assert_eq!(found.first().map(String::as_str), Some("crowd fact 7"), "{found:?}");
}

#[test]
fn a_writer_that_cannot_get_its_turn_reports_busy_after_its_wait() {
    let home = Home::new();
    home.remember("alice", "first", &[]);
    // Another process's write in progress: its log lock, held here.
    let lock = std::fs::OpenOptions::new().write(true).open(home.dir.path().join("log/.lock")).expect("the log lock");
    lock.lock().expect("take the log lock");
    let started = Instant::now();
    let run = home.run("alice", &["remember", "second", "--wait", "0.3"]).expect_code(1);
    assert!(run.stderr.contains("busy"), "{run:#?}");
    assert!(started.elapsed() >= Duration::from_millis(300), "it waits its turn first");
    // Readers do not care.
    assert_eq!(home.recall("alice", "first", &[]), ["first"]);
    drop(lock);
    home.run("alice", &["remember", "second", "--wait", "0.3"]).expect_code(0);
    assert_eq!(home.recall("alice", "second", &["--limit", "1"]), ["second"]);
}

/// Runs `args(i)` on `home` for i in 0..kills, killing each run with SIGKILL at a random point
/// of its usual duration (measured on a few runs `args(kills + n)` first, which complete).
/// Returns the runs that finished (exit 0) before their kill.
fn kill_repeatedly(home: &Home, rng: &mut Rng, kills: usize, args: &dyn Fn(usize) -> Vec<String>) -> Vec<(usize, Run)> {
    let path = home.path();
    let run = |i: usize| {
        let a = args(i);
        spawn(&path, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    // How long one run takes here, so the kills spread over all of it and some runs finish
    // (a run under a storm of kills takes longer than alone).
    let mut times: Vec<u64> = (0..3)
        .map(|n| {
            let t = Instant::now();
            let probe = finish(run(kills + n));
            assert_eq!(probe.code, 0, "{probe:#?}");
            t.elapsed().as_micros() as u64
        })
        .collect();
    times.sort_unstable();
    let span = (times[1] * 5 / 2).max(1);
    let mut acknowledged = Vec::new();
    for i in 0..kills {
        let mut child = run(i);
        std::thread::sleep(Duration::from_micros(rng.below(span)));
        let _ = child.kill();
        let done = finish(child);
        if std::env::var("MEMORY_TEST_DEBUG").is_ok() {
            eprintln!("run {i}: code {} span {span} {}", done.code, done.stderr.lines().next().unwrap_or(""));
        }
        if done.code == 0 {
            acknowledged.push((i, done));
        }
    }
    acknowledged
}

/// Export file number `n`: the memories of `template` under fresh ids and contents of its own,
/// so every import writes new memories.
fn import_file(dir: &Path, template: &str, n: usize) -> PathBuf {
    let mut j = 0u64;
    let lines: Vec<String> = template
        .lines()
        .map(|line| {
            let mut v: Value = serde_json::from_str(line).expect("an export line");
            if v["type"] == "memory" {
                j += 1;
                v["memory"]["id"] = format!("0190a000-0000-7000-8000-{:06x}{:06x}", n, j).into();
                v["memory"]["content"] = format!("imported memory {j} of file {n}").into();
            }
            v.to_string()
        })
        .collect();
    let path = dir.join(format!("import-{n}.jsonl"));
    std::fs::write(&path, lines.join("\n") + "\n").expect("write an import file");
    path
}

#[test]
fn sigkill_at_random_points_never_breaks_the_home() {
    let kills = env_size("MEMORY_TEST_KILLS", 30, 200);
    let seed = std::env::var("MEMORY_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x9e37_79b9_7f4a_7c15);
    let mut rng = Rng(seed);
    let home = Home::new();
    home.remember("alice", "there before the kills", &[]);

    // Writes killed mid-way.
    let remembered = kill_repeatedly(&home, &mut rng, kills, &|i| {
        vec!["remember".into(), format!("killed write {i}"), "--json".into()]
    });
    // Imports killed mid-way: each file holds 40 memories of its own.
    let files = tempfile::tempdir().expect("temp dir");
    let source = Home::new();
    for i in 0..40 {
        source.remember("alice", &format!("template memory {i}"), &[]);
    }
    let template = source.run("op", &["export", "--out", "-"]).expect_code(0).stdout;
    let imports = kills / 2;
    let paths: Vec<PathBuf> = (0..imports + 3).map(|n| import_file(files.path(), &template, n)).collect();
    let imported = kill_repeatedly(&home, &mut rng, imports, &|n| vec!["import".into(), arg(&paths[n])]);

    // Every command works, without deleting anything by hand.
    let stored = exported(&home);
    let ids: BTreeSet<&str> = stored.iter().map(|m| m["id"].as_str().unwrap()).collect();
    let contents: BTreeSet<&str> = stored.iter().map(|m| m["content"].as_str().unwrap()).collect();
    for (i, run) in &remembered {
        let id = run.json()["id"].as_str().unwrap().to_owned();
        assert!(ids.contains(id.as_str()), "acknowledged write {i} ({id}) is missing");
    }
    for (n, _) in &imported {
        for j in 1..=40 {
            let text = format!("imported memory {j} of file {n}");
            assert!(contents.contains(text.as_str()), "acknowledged import {n} lost {text:?}");
        }
    }
    // The index holds exactly what the store holds: everything acknowledged is recallable.
    verified(&home);
    for (i, _) in remembered.iter().take(10) {
        let text = format!("killed write {i}");
        assert_eq!(home.recall("alice", &text, &["--limit", "1"]), [text]);
    }
    home.run("alice", &["get", stored[0]["id"].as_str().unwrap()]).expect_code(0);
    home.run("op", &["namespaces", "ls"]).expect_code(0);
    home.remember("alice", "after the kills", &[]);
    home.run("op", &["reindex"]).expect_code(0);
    verified(&home);
    assert_eq!(home.recall("alice", "after the kills", &["--limit", "1"]), ["after the kills"]);
    eprintln!(
        "{kills} kills of remember ({} acknowledged), {imports} of import ({} acknowledged), seed {seed}",
        remembered.len(),
        imported.len()
    );
}

/// The index directory of the default tenant.
fn index_dir(home: &Home) -> PathBuf {
    home.dir.path().join("index").join(format!("tenant-{}", hex("default")))
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn text_dir(index: &Path) -> PathBuf {
    let meta: Value = serde_json::from_slice(&std::fs::read(index.join("meta.json")).unwrap()).unwrap();
    index.join(meta["text_dir"].as_str().unwrap())
}

/// Puts `database` in place of the home's, as the README's restore does (no process running).
fn restore(home: &Home, database: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(home.dir.path().join(format!("memory.db{suffix}")));
    }
    std::fs::copy(database, home.dir.path().join("memory.db")).unwrap();
}

/// A home with a few memories and a saved index, damaged by `damage`; then: export works
/// (the store alone), reindex repairs, and everything is recallable again.
fn damaged_home(damage: impl FnOnce(&Home)) -> Home {
    let home = Home::new();
    for text in ["the sky is blue", "grass is green", "snow is white"] {
        home.remember("alice", text, &[]);
    }
    assert!(index_dir(&home).join("meta.json").is_file(), "the index was saved");
    damage(&home);
    assert_eq!(exported(&home).len(), 3, "export needs the store only");
    home.run("alice", &["get", exported(&home)[0]["id"].as_str().unwrap()]).expect_code(0);
    home.run("op", &["namespaces", "ls"]).expect_code(0);
    home
}

fn repaired(home: &Home) {
    home.run("op", &["reindex"]).expect_code(0);
    verified(home);
    assert_eq!(home.recall("alice", "grass", &["--limit", "1"]), ["grass is green"]);
}

#[test]
fn a_damaged_index_is_rebuilt_with_a_warning_and_reindex_repairs_it() {
    type Damage = Box<dyn Fn(&Home)>;
    let cases: Vec<(&str, Damage)> = vec![
        ("corrupt meta.json", Box::new(|h| std::fs::write(index_dir(h).join("meta.json"), b"{corrupt").unwrap())),
        (
            "truncated vectors.bin",
            Box::new(|h| {
                let f = std::fs::OpenOptions::new().write(true).open(index_dir(h).join("vectors.bin")).unwrap();
                f.set_len(40).unwrap();
            }),
        ),
        (
            "a deleted segment file",
            Box::new(|h| {
                let dir = text_dir(&index_dir(h));
                let seg = std::fs::read_dir(&dir)
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .find(|p| p.extension().is_some_and(|x| x == "idx"))
                    .expect("a segment file");
                std::fs::remove_file(seg).unwrap();
            }),
        ),
    ];
    for (what, damage) in cases {
        let home = damaged_home(damage);
        // Any command that needs the index rebuilds it from the store, and says so.
        let run = home.run("alice", &["recall", "grass", "--json"]).expect_code(0);
        assert!(run.stderr.contains("warning: the index on disk could not be used"), "{what}: {run:#?}");
        assert_eq!(crate::contents(&run.json()).first().map(String::as_str), Some("grass is green"), "{what}");
        repaired(&home);
    }
}

#[test]
fn another_models_index_asks_for_a_reindex_which_repairs_it() {
    let home = damaged_home(|h| {
        let path = index_dir(h).join("meta.json");
        let meta = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, meta.replace("hash-v1-d384", "another-model")).unwrap();
    });
    let run = home.run("alice", &["recall", "grass"]).expect_code(2);
    assert!(run.stderr.contains("another-model") && run.stderr.contains("memory reindex"), "{run:#?}");
    repaired(&home);
}

#[test]
fn a_replaced_database_is_flagged_by_verify_and_its_index_rebuilt() {
    let home = damaged_home(|_| {});
    // Replace memory.db with another home's (a different store, fewer changes).
    let other = Home::new();
    other.remember("alice", "the other store's only memory", &[]);
    restore(&home, &other.dir.path().join("memory.db"));
    let run = home.run("op", &["namespaces", "verify"]).expect_code(1);
    assert!(run.stdout.contains("another store"), "{run:#?}");
    assert_eq!(exported(&home).len(), 1);
    // Writes whose sequence numbers the old index had seen are indexed all the same.
    for i in 0..6 {
        home.remember("alice", &format!("written after the swap {i}"), &[]);
    }
    let found = home.recall("alice", "written after the swap", &["--limit", "10"]);
    assert_eq!(found.iter().filter(|c| c.starts_with("written after the swap")).count(), 6, "{found:?}");
    verified(&home);
    home.run("op", &["reindex"]).expect_code(0);
    verified(&home);
}

#[test]
fn an_older_copy_of_the_same_store_rebuilds_the_index() {
    let home = Home::new();
    home.remember("alice", "kept in the backup", &[]);
    let files = tempfile::tempdir().unwrap();
    let backup = files.path().join("backup.db");
    home.run("op", &["backup", "--out", &arg(&backup)]).expect_code(0);
    for i in 0..5 {
        home.remember("alice", &format!("after the backup {i}"), &[]);
    }
    // Restore as documented: no process running, the copy in place of memory.db.
    restore(&home, &backup);
    let run = home.run("alice", &["recall", "backup", "--json"]).expect_code(0);
    assert!(run.stderr.contains("restored from an older copy"), "{run:#?}");
    assert_eq!(crate::contents(&run.json()), ["kept in the backup"]);
    // New writes reuse the sequence numbers the old index had seen: they are found too.
    home.remember("alice", "after the restore", &[]);
    assert_eq!(home.recall("alice", "after the restore", &["--limit", "1"]), ["after the restore"]);
    verified(&home);
}

#[test]
fn a_backup_taken_while_another_process_writes_is_a_whole_store() {
    let home = Home::new();
    for i in 0..20 {
        home.remember("alice", &format!("early {i}"), &[]);
    }
    let path = home.path();
    let writer = std::thread::spawn(move || {
        (0..15).map(|i| finish(spawn(&path, &["remember", &format!("during the backup {i}")])).code).collect::<Vec<_>>()
    });
    let files = tempfile::tempdir().unwrap();
    let backup = files.path().join("copy.db");
    let run = home.run("op", &["backup", "--out", &arg(&backup), "--json"]).expect_code(0);
    assert!(run.json()["bytes"].as_u64().unwrap() > 0);
    assert!(writer.join().unwrap().iter().all(|c| *c == 0));
    // The copy is a home of its own.
    let restored = Home::new();
    std::fs::copy(&backup, restored.dir.path().join("memory.db")).unwrap();
    let n = exported(&restored).len();
    assert!((20..=35).contains(&n), "{n} memories in the copy");
    assert_eq!(restored.recall("alice", "early 3", &["--limit", "1"]), ["early 3"]);
    // Written to standard output too (bytes: never printed).
    let out = spawn(&home.path(), &["backup", "--out", "-"]).wait_with_output().expect("backup to stdout");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.starts_with(b"SQLite format 3\0"), "a database on stdout");
    assert!(String::from_utf8_lossy(&out.stderr).contains("backed up the database"), "the summary goes to stderr");
}

#[test]
fn the_database_file_alone_holds_every_write_once_a_command_ends() {
    let home = Home::new();
    home.remember("alice", "in memory.db itself", &[]);
    let copy = Home::new();
    std::fs::copy(home.dir.path().join("memory.db"), copy.dir.path().join("memory.db")).unwrap();
    assert_eq!(copy.recall("alice", "memory.db", &[]), ["in memory.db itself"]);
}

/// An import as the first command after a restore: the index is compared with the store before
/// the import writes, so the imported memories (which reuse sequence numbers the old index had
/// seen) are all found.
#[test]
fn an_import_right_after_a_restore_is_fully_indexed() {
    let home = Home::new();
    home.remember("alice", "kept in the backup", &[]);
    let files = tempfile::tempdir().unwrap();
    let backup = files.path().join("backup.db");
    home.run("op", &["backup", "--out", &arg(&backup)]).expect_code(0);
    for i in 0..5 {
        home.remember("alice", &format!("lost by the restore {i}"), &[]);
    }
    let source = Home::new();
    for i in 0..10 {
        source.remember("alice", &format!("imported after the restore {i}"), &[]);
    }
    let file = files.path().join("import.jsonl");
    source.run("op", &["export", "--out", &arg(&file)]).expect_code(0);
    restore(&home, &backup);
    home.run("op", &["import", &arg(&file)]).expect_code(0);
    verified(&home);
    let found = home.recall("alice", "imported after the restore", &["--limit", "20"]);
    assert_eq!(found.iter().filter(|c| c.starts_with("imported after the restore")).count(), 10, "{found:?}");
    assert!(!found.iter().any(|c| c.starts_with("lost by the restore")), "{found:?}");
}
