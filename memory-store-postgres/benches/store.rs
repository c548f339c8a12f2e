//! `cargo xtask bench store --backend postgres`: the PostgreSQL store through the `Store` trait
//! on a seeded synthetic corpus (default 100k memories in 100 namespaces), the counterpart of
//! memory-store-sqlite's `store` bench.
//!
//! Per batch mix (one namespace per batch; every memory in a random namespace), in a schema of
//! its own:
//! - `put_memories` in batches of `MEMORY_BENCH_BATCH` (1,000), each memory with a
//!   `MEMORY_BENCH_DIM`-d vector (384; random unit vectors, stored through `NewMemory::embedding`
//!   as the engine does; 0 puts none): memories/s over the whole load, the median batch, and the
//!   first vs the last 10% of batches (does it slow as the tables grow?);
//! - `get_memory` latency p50/p95/p99 of random ids;
//! - `get_memories` of 10 and of 100 random ids, p50/p99 per call, and `get_embeddings` of 100
//!   (what another process's index catch-up reads);
//! - `changes_since` over the whole change feed in pages of `MAX_PAGE_LIMIT` (1,000): p50/p99
//!   per page and memories/s;
//! - the size of the `memories` and `embeddings` tables with their indexes.
//!
//! Planner statistics: by default nothing runs `ANALYZE`, so the planner has statistics only if
//! the server's autovacuum gathers them during the run (a freshly filled database; with
//! autovacuum off, none at all). `MEMORY_BENCH_PG_ANALYZE=1` analyzes the schema's tables after
//! the first batch and after the load (untimed), as a running autovacuum would.
//!
//! The server: `MEMORY_BENCH_PG_URL`, else `MEMORY_TEST_PG_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`). Each run creates a schema of its own
//! (`membench_<pid>_<n>`) and drops it when it ends.
//!
//! Sizes come from the environment: `MEMORY_BENCH_MEMORIES` (100000),
//! `MEMORY_BENCH_NAMESPACES` (100), `MEMORY_BENCH_BATCH` (1000), `MEMORY_BENCH_DIM` (384),
//! `MEMORY_BENCH_GETS` (20000; the `get_memories` and `get_embeddings` rows make a tenth as many
//! calls each), `MEMORY_BENCH_SEED` (42),
//! `MEMORY_BENCH_MIXES` (comma list, default `per-namespace,mixed`). A quick run:
//! `MEMORY_BENCH_MEMORIES=20000 MEMORY_BENCH_GETS=2000 cargo xtask bench store --backend postgres`.

use std::time::{Duration, Instant};

use memory_core::{
    Embedding, Layer, MAX_PAGE_LIMIT, MemoryId, Namespace, NamespaceKey, NamespaceKind, NewMemory, Store, TenantId,
    Timestamp,
};
use memory_store_postgres::{PgStore, redact_url};

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

/// Where the server's URL comes from, first set wins.
const URL_VARS: [&str; 2] = ["MEMORY_BENCH_PG_URL", "MEMORY_TEST_PG_URL"];

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a positive integer")),
        Err(_) => default,
    }
}

/// The server's URL; exits with a message saying what to set when there is none.
fn pg_url() -> String {
    URL_VARS.iter().find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty())).unwrap_or_else(|| {
        eprintln!(
            "error: the PostgreSQL store bench needs a server: set {} (or {}), e.g. \
             {}=postgres://postgres@127.0.0.1:5432/test",
            URL_VARS[0], URL_VARS[1], URL_VARS[0]
        );
        std::process::exit(2)
    })
}

/// SplitMix64: tiny, fast and seedable.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// A random unit vector (uniform in a cube, normalized: enough for bytes on the wire).
    fn unit_vector(&mut self, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim).map(|_| (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0).collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        v.iter_mut().for_each(|x| *x /= n);
        v
    }
}

/// The model name the bench's vectors are stored under.
const MODEL: &str = "bench-random";

fn sentence(rng: &mut Rng, n: usize) -> String {
    let len = 8 + rng.below(16);
    let mut words: Vec<&str> = (0..len).map(|_| *rng.pick(WORDS)).collect();
    // A unique tail keeps every memory distinct, so dedupe never short-cuts an insert.
    let tail = format!("#{n}");
    words.push(&tail);
    words.join(" ")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn mean(ds: &[Duration]) -> Duration {
    if ds.is_empty() { Duration::ZERO } else { ds.iter().sum::<Duration>() / ds.len() as u32 }
}

struct Config {
    url: String,
    memories: usize,
    namespaces: usize,
    batch: usize,
    dim: usize,
    gets: usize,
    seed: u64,
    analyze: bool,
}

/// Analyzes every table of the store's schema; returns how long it took.
async fn analyze(store: &PgStore) -> Duration {
    let t = Instant::now();
    sqlx::query(
        "DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() \
         LOOP EXECUTE format('ANALYZE %I', t); END LOOP; END $$",
    )
    .execute(store.pool())
    .await
    .expect("analyze");
    t.elapsed()
}

/// How batches pick namespaces: one namespace per batch (an agent flushing its session), or
/// every memory in a random namespace.
#[derive(Clone, Copy)]
enum Mix {
    PerNamespace,
    Mixed,
}

impl Mix {
    fn name(self) -> &'static str {
        match self {
            Mix::PerNamespace => "per-namespace",
            Mix::Mixed => "mixed",
        }
    }
}

/// A fresh schema of the bench server, dropped (with everything in it) when it goes.
type Schema = memory_store_postgres::testing::TestSchema;

/// A schema name for this run.
fn schema(url: &str) -> Schema {
    Schema::named(url, "membench")
}

async fn run(cfg: &Config, mix: Mix) {
    let schema = schema(&cfg.url);
    let store = schema.open().await;
    let tenant = TenantId::default_tenant();
    let base = Timestamp::parse_rfc3339("2026-05-08T00:00:00Z").expect("valid");
    let keys: Vec<NamespaceKey> =
        (0..cfg.namespaces).map(|i| NamespaceKey::new(format!("agent-{i:04}")).expect("valid key")).collect();
    for key in &keys {
        store
            .create_namespace(Namespace::new(tenant.clone(), key.clone(), NamespaceKind::Explicit, base))
            .await
            .expect("create namespace");
    }

    // Inputs are built before the clock starts: only the store is timed.
    let mut rng = Rng(cfg.seed);
    let mut batches: Vec<Vec<NewMemory>> = Vec::new();
    let mut ids: Vec<MemoryId> = Vec::with_capacity(cfg.memories);
    let mut n = 0;
    while n < cfg.memories {
        let size = cfg.batch.min(cfg.memories - n);
        let batch_ns = rng.pick(&keys).clone();
        let batch: Vec<NewMemory> = (0..size)
            .map(|i| {
                let ns = match mix {
                    Mix::PerNamespace => batch_ns.clone(),
                    Mix::Mixed => rng.pick(&keys).clone(),
                };
                let at = base.plus_micros(((n + i) * 1000) as i64);
                let mut m = NewMemory::new(ns, Layer::Episodic, sentence(&mut rng, n + i), at);
                if cfg.dim > 0 {
                    m.embedding = Some(Embedding { model: MODEL.to_owned(), vector: rng.unit_vector(cfg.dim) });
                }
                ids.push(m.id);
                m
            })
            .collect();
        n += size;
        batches.push(batch);
    }

    // Inserts.
    let mut per_batch: Vec<(usize, Duration)> = Vec::with_capacity(batches.len());
    let mut analyzing = Duration::ZERO;
    let started = Instant::now();
    for batch in batches {
        let size = batch.len();
        let t = Instant::now();
        store.put_memories(&tenant, batch).await.expect("put");
        per_batch.push((size, t.elapsed()));
        if cfg.analyze && per_batch.len() == 1 {
            analyzing += analyze(&store).await;
        }
    }
    let insert = started.elapsed() - analyzing;
    if cfg.analyze {
        analyze(&store).await;
    }
    // Memories/s per batch; the median of them, and the first vs the last tenth.
    let rate = |b: &[(usize, Duration)]| {
        let (m, d) = b.iter().fold((0, Duration::ZERO), |(m, d), (s, t)| (m + s, d + *t));
        m as f64 / d.as_secs_f64()
    };
    let mut rates: Vec<f64> = per_batch.iter().map(|(s, t)| *s as f64 / t.as_secs_f64()).collect();
    rates.sort_by(f64::total_cmp);
    let tenth = (per_batch.len() / 10).max(1);

    // Point gets.
    let mut gets = Vec::with_capacity(cfg.gets);
    for _ in 0..cfg.gets {
        let id = *rng.pick(&ids);
        let t = Instant::now();
        let got = store.get_memory(&tenant, id).await.expect("get");
        gets.push(t.elapsed());
        assert!(got.is_some(), "memory {id} vanished");
    }
    gets.sort();

    // Multi-gets of 10 and 100 ids.
    let mut multi = Vec::new();
    for size in [10, 100] {
        let calls = (cfg.gets / 10).max(10);
        let mut times = Vec::with_capacity(calls);
        for _ in 0..calls {
            let want: Vec<MemoryId> = (0..size).map(|_| *rng.pick(&ids)).collect();
            let t = Instant::now();
            let got = store.get_memories(&tenant, &want).await.expect("get_memories");
            times.push(t.elapsed());
            assert!(!got.is_empty(), "get_memories found nothing");
        }
        times.sort();
        multi.push((size, calls, times));
    }
    let mut vectors = Vec::new();
    if cfg.dim > 0 {
        for _ in 0..(cfg.gets / 10).max(10) {
            let want: Vec<MemoryId> = (0..100).map(|_| *rng.pick(&ids)).collect();
            let t = Instant::now();
            let got = store.get_embeddings(&tenant, MODEL, &want).await.expect("get_embeddings");
            vectors.push(t.elapsed());
            assert!(got.iter().all(|v| v.as_ref().is_some_and(|v| v.len() == cfg.dim)), "a vector is missing");
        }
        vectors.sort();
    }

    // The change feed, page by page.
    let mut pages = Vec::new();
    let (mut seq, mut read) = (0u64, 0usize);
    let started = Instant::now();
    loop {
        let t = Instant::now();
        let page = store.changes_since(&tenant, seq, MAX_PAGE_LIMIT).await.expect("changes_since");
        let Some(last) = page.last().map(|m| m.seq) else { break };
        pages.push(t.elapsed());
        read += page.len();
        seq = last;
    }
    let feed = started.elapsed();
    assert_eq!(read, cfg.memories, "the change feed holds every memory once");
    pages.sort();

    let (table, indexes, vtable, vindexes): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT pg_table_size('memories'), pg_indexes_size('memories'), \
         pg_table_size('embeddings'), pg_indexes_size('embeddings')",
    )
    .fetch_one(store.pool())
    .await
    .expect("table sizes");
    store.pool().close().await;
    drop(store);
    drop(schema);

    println!(
        "{:<13} put_memories {:>7.0} memories/s overall ({:>6.2} s)  median batch {:>7.0}/s  first 10% {:>7.0}/s  last 10% {:>7.0}/s",
        mix.name(),
        cfg.memories as f64 / insert.as_secs_f64(),
        insert.as_secs_f64(),
        percentile_f64(&rates, 0.5),
        rate(&per_batch[..tenth]),
        rate(&per_batch[per_batch.len() - tenth..]),
    );
    println!(
        "{:<13} get_memory   p50 {:>7.1} us  p95 {:>7.1} us  p99 {:>7.1} us  ({} gets)",
        "",
        us(percentile(&gets, 0.5)),
        us(percentile(&gets, 0.95)),
        us(percentile(&gets, 0.99)),
        gets.len()
    );
    for (size, calls, times) in &multi {
        println!(
            "{:<13} get_memories of {size:>3} ids  p50 {:>7.1} us  p99 {:>7.1} us  ({calls} calls)",
            "",
            us(percentile(times, 0.5)),
            us(percentile(times, 0.99)),
        );
    }
    if !vectors.is_empty() {
        println!(
            "{:<13} get_embeddings of 100 ids  p50 {:>7.1} us  p99 {:>7.1} us  ({} calls)",
            "",
            us(percentile(&vectors, 0.5)),
            us(percentile(&vectors, 0.99)),
            vectors.len()
        );
    }
    println!(
        "{:<13} changes_since pages of {MAX_PAGE_LIMIT}  p50 {:>7.2} ms  p99 {:>7.2} ms  mean {:>7.2} ms  ({} pages, {:.0} memories/s)",
        "",
        us(percentile(&pages, 0.5)) / 1e3,
        us(percentile(&pages, 0.99)) / 1e3,
        us(mean(&pages)) / 1e3,
        pages.len(),
        read as f64 / feed.as_secs_f64(),
    );
    println!(
        "{:<13} memories table {:.1} MB + indexes {:.1} MB; embeddings table {:.1} MB + indexes {:.1} MB",
        "",
        table as f64 / 1e6,
        indexes as f64 / 1e6,
        vtable as f64 / 1e6,
        vindexes as f64 / 1e6
    );
}

fn percentile_f64(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    // `cargo bench` passes `--bench`; this target takes no arguments of its own.
    let cfg = Config {
        url: pg_url(),
        memories: env_usize("MEMORY_BENCH_MEMORIES", 100_000).max(1),
        namespaces: env_usize("MEMORY_BENCH_NAMESPACES", 100).max(1),
        batch: env_usize("MEMORY_BENCH_BATCH", 1000).max(1),
        dim: env_usize("MEMORY_BENCH_DIM", 384).min(Embedding::MAX_DIMENSION),
        gets: env_usize("MEMORY_BENCH_GETS", 20_000).max(1),
        seed: env_usize("MEMORY_BENCH_SEED", 42) as u64,
        analyze: env_usize("MEMORY_BENCH_PG_ANALYZE", 0) != 0,
    };
    let mixes = std::env::var("MEMORY_BENCH_MIXES").unwrap_or_else(|_| "per-namespace,mixed".into());
    println!(
        "PostgreSQL store ({}): {} memories in {} namespaces, batches of {}, {}, {} point gets (seed {})",
        redact_url(&cfg.url),
        cfg.memories,
        cfg.namespaces,
        cfg.batch,
        if cfg.dim > 0 { format!("each with a {}-d vector", cfg.dim) } else { "no vectors".to_owned() },
        cfg.gets,
        cfg.seed
    );
    println!(
        "planner statistics: {}",
        if cfg.analyze {
            "ANALYZE after the first batch and after the load (MEMORY_BENCH_PG_ANALYZE=1)"
        } else {
            "whatever autovacuum gathers during the run (nothing runs ANALYZE)"
        }
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        for mix in [Mix::PerNamespace, Mix::Mixed] {
            if mixes.split(',').any(|m| m.trim() == mix.name()) {
                run(&cfg, mix).await;
            }
        }
    });
}
