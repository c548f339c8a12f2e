//! `cargo xtask bench store`: batched insert throughput and point-get latency of the SQLite
//! store on a seeded synthetic corpus (default 100k memories in 100 namespaces).
//!
//! Sizes come from the environment so CI and laptops can run it small:
//! `MEMORY_BENCH_MEMORIES` (100000), `MEMORY_BENCH_NAMESPACES` (100), `MEMORY_BENCH_BATCH` (1000),
//! `MEMORY_BENCH_GETS` (20000), `MEMORY_BENCH_SEED` (42).

use std::sync::Arc;
use std::time::{Duration, Instant};

use memory_core::{Layer, MemoryId, Namespace, NamespaceKey, NamespaceKind, NewMemory, Store, TenantId, Timestamp};
use memory_store_sqlite::{Durability, SqliteOptions, SqliteStore};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const WORDS: &[&str] = &[
    "alice",
    "bob",
    "prefers",
    "python",
    "rust",
    "meeting",
    "deadline",
    "thursday",
    "flight",
    "departs",
    "project",
    "budget",
    "review",
    "customer",
    "asked",
    "about",
    "pricing",
    "team",
    "alpha",
    "decided",
    "to",
    "use",
    "postgres",
    "for",
    "the",
    "new",
    "service",
    "because",
    "latency",
    "matters",
    "user",
    "likes",
    "short",
    "answers",
    "and",
    "dark",
    "mode",
    "reminder",
    "call",
    "dentist",
    "at",
    "noon",
    "research",
    "shows",
    "gpt",
    "outperforms",
    "on",
    "math",
    "by",
    "twelve",
    "percent",
    "release",
    "notes",
    "mention",
    "breaking",
    "change",
    "in",
    "api",
    "version",
];

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a positive integer")),
        Err(_) => default,
    }
}

fn sentence(rng: &mut StdRng, n: usize) -> String {
    let len = rng.random_range(8..24);
    let mut words: Vec<&str> = (0..len).map(|_| *WORDS.choose(rng).expect("non-empty")).collect();
    // A unique tail keeps every memory distinct, so dedupe never short-cuts an insert.
    let tail = format!("#{n}");
    words.push(&tail);
    words.join(" ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

struct Config {
    memories: usize,
    namespaces: usize,
    batch: usize,
    gets: usize,
    seed: u64,
}

/// How batches pick namespaces: one namespace per batch (an agent flushing its session), or
/// every memory in a random namespace (the worst case for the per-namespace logs).
#[derive(Clone, Copy)]
enum Mix {
    PerNamespace,
    Mixed,
}

async fn run(cfg: &Config, durability: Durability, mix: Mix) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store =
        Arc::new(SqliteStore::open_with(SqliteOptions::new(dir.path()).durability(durability)).expect("open store"));
    let tenant = TenantId::default_tenant();
    let base = Timestamp::parse_rfc3339("2026-05-08T00:00:00Z").expect("valid");
    let keys: Vec<NamespaceKey> =
        (0..cfg.namespaces).map(|i| NamespaceKey::new(format!("agent-{i:04}")).expect("valid key")).collect();
    for key in &keys {
        store
            .create_namespace(Namespace::new(tenant.clone(), key.clone(), NamespaceKind::Explicit, base))
            .await
            .unwrap();
    }

    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut batches: Vec<Vec<NewMemory>> = Vec::new();
    let mut ids: Vec<MemoryId> = Vec::with_capacity(cfg.memories);
    let mut n = 0;
    while n < cfg.memories {
        let size = cfg.batch.min(cfg.memories - n);
        let batch_ns = keys.choose(&mut rng).expect("namespaces").clone();
        let batch: Vec<NewMemory> = (0..size)
            .map(|i| {
                let ns = match mix {
                    Mix::PerNamespace => batch_ns.clone(),
                    Mix::Mixed => keys.choose(&mut rng).expect("namespaces").clone(),
                };
                let at = base.plus_micros(((n + i) * 1000) as i64);
                let m = NewMemory::new(ns, Layer::Episodic, sentence(&mut rng, n + i), at);
                ids.push(m.id);
                m
            })
            .collect();
        n += size;
        batches.push(batch);
    }

    let started = Instant::now();
    for batch in batches {
        store.put_memories(&tenant, batch).await.expect("put");
    }
    let insert = started.elapsed();

    let mut latencies = Vec::with_capacity(cfg.gets);
    for _ in 0..cfg.gets {
        let id = *ids.choose(&mut rng).expect("ids");
        let t = Instant::now();
        let got = store.get_memory(&tenant, id).await.expect("get");
        latencies.push(t.elapsed());
        assert!(got.is_some(), "memory {id} vanished");
    }
    latencies.sort();

    let db_bytes = std::fs::metadata(dir.path().join("memory.db")).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.path().join("memory.db-wal")).map(|m| m.len()).unwrap_or(0);
    println!(
        "{:<8} {:<13} {:>9.0} memories/s ({:>6.2} s)   get p50 {:>6.1} us  p95 {:>6.1} us  p99 {:>6.1} us   db {:>5.1} MB",
        match durability {
            Durability::Full => "full",
            Durability::Process => "process",
        },
        match mix {
            Mix::PerNamespace => "per-namespace",
            Mix::Mixed => "mixed",
        },
        cfg.memories as f64 / insert.as_secs_f64(),
        insert.as_secs_f64(),
        percentile(&latencies, 0.50).as_secs_f64() * 1e6,
        percentile(&latencies, 0.95).as_secs_f64() * 1e6,
        percentile(&latencies, 0.99).as_secs_f64() * 1e6,
        db_bytes as f64 / 1e6,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; this target takes no arguments of its own.
    let cfg = Config {
        memories: env_usize("MEMORY_BENCH_MEMORIES", 100_000),
        namespaces: env_usize("MEMORY_BENCH_NAMESPACES", 100).max(1),
        batch: env_usize("MEMORY_BENCH_BATCH", 1000).max(1),
        gets: env_usize("MEMORY_BENCH_GETS", 20_000).max(1),
        seed: env_usize("MEMORY_BENCH_SEED", 42) as u64,
    };
    println!(
        "SQLite store: {} memories in {} namespaces, batches of {}, {} point gets (seed {})",
        cfg.memories, cfg.namespaces, cfg.batch, cfg.gets, cfg.seed
    );
    println!("durability / batch mix / insert throughput / get latency / database size");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        for (durability, mix) in [
            (Durability::Full, Mix::PerNamespace),
            (Durability::Full, Mix::Mixed),
            (Durability::Process, Mix::PerNamespace),
            (Durability::Process, Mix::Mixed),
        ] {
            run(&cfg, durability, mix).await;
        }
    });
}
