//! `cargo xtask bench engine`: the whole engine end to end, as a user runs it: an on-disk SQLite
//! store (durability `full`, the default), an on-disk index directory, the hash embedder, and a
//! policy of 100 namespaces `ns-000`..`ns-099` that principal `bench` may read and write.
//!
//! Backend: `MEMORY_BENCH_BACKEND` is `sqlite` (the default) or `postgres`. `cargo xtask bench
//! engine --backend postgres` sets it and builds with the cargo feature `postgres`. On
//! PostgreSQL the store is a `PgStore` on `MEMORY_BENCH_PG_URL`, else `MEMORY_TEST_PG_URL`
//! (the bench stops and says so when neither is set). Each store the bench opens gets a new
//! schema, dropped when the bench is done with it. The index stays local, on disk in a temp dir
//! as with SQLite: recall is served by the local index, and the store only loads the hits and
//! the pinned memories. Every section runs on either backend; `export` fills its store at
//! durability `process` on SQLite. `MEMORY_BENCH_PG_ANALYZE=1` analyzes the schema's tables
//! after the first ingest batch and after the ingest (untimed), as a running autovacuum would;
//! by default nothing runs `ANALYZE`.
//!
//! Sections (all on by default):
//! - `ingest`: `remember_batch` of semantic memories, batches of 1,000 memories of one namespace
//!   each, (a) embedded by the engine with the hash embedder, (b) with precomputed random unit
//!   vectors (no embedding cost). Memories/s end to end, and batch latency early vs late.
//! - `recall`: `recall` on the hash-embedded corpus, limit 10: one explicit namespace, three
//!   explicit namespaces, the default read set and `*`, each with (a) the query text embedded by
//!   the engine and (b) a precomputed query vector plus the text. p50/p95/p99.
//! - `export`: `export` of every namespace of a store holding `MEMORY_BENCH_EXPORT_MEMORIES`
//!   (100000) memories in `MEMORY_BENCH_EXPORT_NAMESPACES` (1000) namespaces, written straight
//!   to the store first; the median of 3 runs (target under 2 s: an export costs what its
//!   memories cost, not a scan of the tenant per namespace).
//! - `parts`: the write pipeline re-enacted step by step without the engine (embed, store put,
//!   read the changes back, index upsert, audit append, text commit, index flush), timed per
//!   step, to show where ingest time goes. `recall` likewise times the store reads of a recall.
//!
//! Corpus: word salad with topics (as in `cargo xtask bench index`): 1,000 topics of 12 words,
//! 300 common words and stop words; a query is three words of one topic.
//!
//! Environment: `MEMORY_BENCH_MEMORIES` (100000), `MEMORY_BENCH_QUERIES` (2000),
//! `MEMORY_BENCH_NAMESPACES` (100), `MEMORY_BENCH_BATCH` (1000), `MEMORY_BENCH_SEED` (42),
//! `MEMORY_BENCH_ENGINE_SECTIONS` (comma list, default `ingest,recall,export,parts`),
//! `MEMORY_BENCH_RECALL_SCOPES` (comma list, default `one,three,default,all`),
//! `MEMORY_BENCH_PARTS_FLUSH_EVERY` (0: the `parts` pipeline commits and flushes the index only
//! after the last batch, like the engine; N: every N batches, to show what durability per batch
//! would cost). A quick run:
//! `MEMORY_BENCH_MEMORIES=10000 MEMORY_BENCH_QUERIES=200 cargo xtask bench engine`.
//!
//! The default takes about 80 s on 2 idle cores (the `*` recall rows are most of it) and about
//! 750 MB of RAM at peak; other work on the machine shows directly in the ingest numbers.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use memory_core::{
    AuditId, AuditOutcome, AuditRecord, Layer, MAX_PAGE_LIMIT, MemoryFilter, MemoryId, Namespace, NamespaceKey,
    NamespaceKind, NewMemory, PageRequest, Principal, Store, TenantId, Timestamp,
};
use memory_embed::{DEFAULT_HASH_DIMENSION, Embedder, HashEmbedder};
use memory_engine::{Caller, Engine, EngineParts, MemoryInput, RecallOutcome, RecallRequest, SystemClock};
use memory_index::{IndexOptions, MemoryIndex, SearchQuery};
use memory_policy::Policy;
use memory_policy::load::{Dialect, parse};
use memory_store_sqlite::{Durability, SqliteOptions, SqliteStore};

const TOPICS: usize = 1000;
const PRINCIPAL: &str = "bench";

// ---------------------------------------------------------------------------------------------
// Configuration

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a positive integer")),
        Err(_) => default,
    }
}

#[derive(Debug, Clone)]
struct Config {
    memories: usize,
    queries: usize,
    namespaces: usize,
    batch: usize,
    seed: u64,
    sections: String,
    backend: Backend,
    /// PostgreSQL: `ANALYZE` after the first ingest batch and after the ingest.
    analyze: bool,
}

impl Config {
    fn from_env() -> Self {
        Config {
            memories: env_usize("MEMORY_BENCH_MEMORIES", 100_000).max(1),
            queries: env_usize("MEMORY_BENCH_QUERIES", 2000).max(10),
            namespaces: env_usize("MEMORY_BENCH_NAMESPACES", 100).clamp(3, 1000),
            batch: env_usize("MEMORY_BENCH_BATCH", 1000).clamp(1, memory_engine::MAX_BATCH),
            seed: env_usize("MEMORY_BENCH_SEED", 42) as u64,
            sections: std::env::var("MEMORY_BENCH_ENGINE_SECTIONS")
                .unwrap_or_else(|_| "ingest,recall,export,parts".into()),
            backend: Backend::from_env(),
            analyze: env_usize("MEMORY_BENCH_PG_ANALYZE", 0) != 0,
        }
    }

    /// Namespaces that get memories: batch `b` writes namespace `b % namespaces`.
    fn filled(&self) -> usize {
        self.memories.div_ceil(self.batch).min(self.namespaces)
    }

    fn namespace(&self, i: usize) -> String {
        format!("ns-{i:03}")
    }

    /// Every namespace readable and writable by `bench`, nothing else configured.
    fn policy(&self) -> Policy {
        let mut toml = String::new();
        for i in 0..self.namespaces {
            toml.push_str(&format!(
                "[[namespaces.policies]]\nname = \"{}\"\nread = [\"{PRINCIPAL}\"]\nwrite = [\"{PRINCIPAL}\"]\n\n",
                self.namespace(i)
            ));
        }
        let loaded = parse(&toml, Dialect::Toml).expect("the bench policy is valid");
        Policy::new(loaded.config)
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic synthetic data

/// SplitMix64: tiny, fast and seedable.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_F42D_4C95_7F2D)
    }
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
    fn unit_f32(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }
    /// A random unit vector (normalized Gaussian).
    fn unit_vector(&mut self, dim: usize) -> Vec<f32> {
        let mut v: Vec<f32> = (0..dim)
            .map(|_| {
                let u1 = self.unit_f32().max(1e-7);
                let u2 = self.unit_f32();
                (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
            })
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= n);
        v
    }
}

const STOP: &[&str] = &["the", "and", "of", "to", "a", "in", "is", "it", "that", "for", "on", "with", "as", "was"];

fn syllable_word(rng: &mut Rng) -> String {
    const SYL: &[&str] = &["ka", "lo", "mi", "ter", "san", "vo", "rin", "dul", "pe", "zor", "qui", "nam", "bex", "tho"];
    let n = 2 + rng.below(3);
    (0..n).map(|_| SYL[rng.below(SYL.len())]).collect()
}

struct Corpus {
    topic_words: Vec<Vec<String>>,
    common: Vec<String>,
}

impl Corpus {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let topic_words = (0..TOPICS).map(|_| (0..12).map(|_| syllable_word(&mut rng)).collect()).collect();
        let common = (0..300).map(|_| syllable_word(&mut rng)).collect();
        Corpus { topic_words, common }
    }

    /// Memory `i`: 8-20 words, half of them from one topic.
    fn text(&self, rng: &mut Rng) -> String {
        let topic = &self.topic_words[rng.below(TOPICS)];
        let len = 8 + rng.below(13);
        let words: Vec<&str> = (0..len)
            .map(|_| match rng.below(10) {
                0..5 => topic[rng.below(12)].as_str(),
                5..8 => self.common[rng.below(self.common.len())].as_str(),
                _ => STOP[rng.below(STOP.len())],
            })
            .collect();
        words.join(" ")
    }

    /// A query: three words of one topic.
    fn query(&self, rng: &mut Rng) -> String {
        let topic = &self.topic_words[rng.below(TOPICS)];
        (0..3).map(|_| topic[rng.below(12)].as_str()).collect::<Vec<_>>().join(" ")
    }
}

/// The ingest workload, batch by batch: (namespace index, texts). Batch `b` goes to namespace
/// `b % namespaces`, so 100k memories in batches of 1,000 fill 100 namespaces evenly.
fn batches(cfg: &Config, corpus: &Corpus) -> Vec<(usize, Vec<String>)> {
    let mut rng = Rng::new(cfg.seed ^ 0xD0C5);
    let mut out = Vec::new();
    let mut n = 0;
    while n < cfg.memories {
        let size = cfg.batch.min(cfg.memories - n);
        out.push((out.len() % cfg.namespaces, (0..size).map(|_| corpus.text(&mut rng)).collect()));
        n += size;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Measuring

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mean(ds: &[Duration]) -> Duration {
    if ds.is_empty() { Duration::ZERO } else { ds.iter().sum::<Duration>() / ds.len() as u32 }
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn dir_mb(dir: &Path) -> f64 {
    fn walk(p: &Path) -> u64 {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        let m = e.metadata().expect("metadata");
                        if m.is_dir() { walk(&e.path()) } else { m.len() }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(dir) as f64 / 1e6
}

// ---------------------------------------------------------------------------------------------
// The store

/// Which store the engine runs on (`MEMORY_BENCH_BACKEND`).
#[derive(Debug, Clone)]
enum Backend {
    Sqlite,
    /// A PostgreSQL server, by URL.
    #[cfg(feature = "postgres")]
    Postgres(String),
}

impl Backend {
    fn from_env() -> Backend {
        match std::env::var("MEMORY_BENCH_BACKEND").as_deref() {
            Err(_) | Ok("" | "sqlite") => Backend::Sqlite,
            Ok("postgres" | "postgresql") => Backend::postgres(),
            Ok(other) => fail(&format!("MEMORY_BENCH_BACKEND={other:?}: use sqlite or postgres")),
        }
    }

    #[cfg(feature = "postgres")]
    fn postgres() -> Backend {
        Backend::Postgres(pg::url())
    }

    #[cfg(not(feature = "postgres"))]
    fn postgres() -> Backend {
        fail(
            "MEMORY_BENCH_BACKEND=postgres needs the cargo feature `postgres`: run \
             `cargo xtask bench engine --backend postgres` (or add `--features postgres`)",
        )
    }

    /// For the header.
    fn describe(&self) -> String {
        match self {
            Backend::Sqlite => "SQLite store (durability full)".to_owned(),
            #[cfg(feature = "postgres")]
            Backend::Postgres(url) => format!(
                "PostgreSQL store at {} (a fresh schema per store, dropped afterwards)",
                memory_store_postgres::redact_url(url)
            ),
        }
    }

    /// For row labels.
    fn short(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite, full",
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A fresh, empty store and the directory for its index. `fast`: on SQLite, durability
    /// `process` (to fill a store whose writes are not what is measured).
    async fn open(&self, fast: bool) -> (Arc<dyn Store>, Workdir) {
        let dir = tempfile::tempdir().expect("temp dir");
        match self {
            Backend::Sqlite => {
                let durability = if fast { Durability::Process } else { Durability::Full };
                let options = SqliteOptions::new(dir.path().join("store")).durability(durability);
                let store = SqliteStore::open_with(options).expect("open store");
                #[cfg(feature = "postgres")]
                let work = Workdir { dir, pg: None };
                #[cfg(not(feature = "postgres"))]
                let work = Workdir { dir };
                (Arc::new(store), work)
            }
            #[cfg(feature = "postgres")]
            Backend::Postgres(url) => {
                let schema = pg::schema(url);
                let store = schema.open().await;
                (Arc::new(store.clone()), Workdir { dir, pg: Some((store, schema)) })
            }
        }
    }
}

/// Prints `message` and exits: the bench cannot run as configured.
fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// Where one store and its engine keep their data: a temp dir (the index; the SQLite store)
/// and, on PostgreSQL, a schema of their own. Both are removed when this is dropped.
struct Workdir {
    dir: tempfile::TempDir,
    #[cfg(feature = "postgres")]
    pg: Option<(memory_store_postgres::PgStore, pg::Schema)>,
}

impl Workdir {
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The store's size on disk: the SQLite files, or the PostgreSQL schema's tables and indexes.
    async fn store_mb(&self) -> f64 {
        #[cfg(feature = "postgres")]
        if let Some((store, _)) = &self.pg {
            return pg::size_mb(store).await;
        }
        dir_mb(&self.path().join("store"))
    }

    /// PostgreSQL: analyzes the schema's tables and returns how long it took; SQLite: nothing.
    async fn analyze(&self) -> Duration {
        #[cfg(feature = "postgres")]
        if let Some((store, _)) = &self.pg {
            return pg::analyze(store).await;
        }
        Duration::ZERO
    }
}

/// The PostgreSQL side: the server's URL and a schema per store.
#[cfg(feature = "postgres")]
mod pg {
    use memory_store_postgres::PgStore;

    /// Where the server's URL comes from, first set wins.
    const URL_VARS: [&str; 2] = ["MEMORY_BENCH_PG_URL", "MEMORY_TEST_PG_URL"];

    /// The server's URL; exits with a message saying what to set when there is none.
    pub fn url() -> String {
        URL_VARS.iter().find_map(|v| std::env::var(v).ok().filter(|u| !u.trim().is_empty())).unwrap_or_else(|| {
            super::fail(&format!(
                "the engine bench on PostgreSQL needs a server: set {} (or {}), e.g. \
                 {}=postgres://postgres@127.0.0.1:5432/test",
                URL_VARS[0], URL_VARS[1], URL_VARS[0]
            ))
        })
    }

    /// A fresh schema of the bench server, dropped (with everything in it) when it goes.
    pub type Schema = memory_store_postgres::testing::TestSchema;

    /// A schema name for this run.
    pub fn schema(url: &str) -> Schema {
        Schema::named(url, "membench_engine")
    }

    /// Analyzes every table of the store's schema; returns how long it took.
    pub async fn analyze(store: &PgStore) -> std::time::Duration {
        let t = std::time::Instant::now();
        sqlx::query(
            "DO $$ DECLARE t text; BEGIN FOR t IN SELECT tablename FROM pg_tables \
             WHERE schemaname = current_schema() LOOP EXECUTE format('ANALYZE %I', t); END LOOP; END $$",
        )
        .execute(store.pool())
        .await
        .expect("analyze");
        t.elapsed()
    }

    /// The tables and indexes of the store's schema, in MB.
    pub async fn size_mb(store: &PgStore) -> f64 {
        let bytes: Option<i64> = sqlx::query_scalar(
            "SELECT sum(pg_total_relation_size(c.oid))::bigint FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'",
        )
        .fetch_one(store.pool())
        .await
        .expect("schema size");
        bytes.unwrap_or(0) as f64 / 1e6
    }
}

// ---------------------------------------------------------------------------------------------
// The engine

/// An engine as `memory` runs it: the store (SQLite at durability full, or PostgreSQL) and the
/// index on disk in the workdir.
async fn open_engine(cfg: &Config) -> (Engine, Workdir) {
    let (store, work) = cfg.backend.open(false).await;
    let dir = work.path();
    let embedder: Arc<dyn Embedder> = Arc::new(HashEmbedder::new(DEFAULT_HASH_DIMENSION).expect("hash embedder"));
    let policy = cfg.policy();
    let recall = policy.config().engine.recall.clone();
    let engine = Engine::new(EngineParts {
        store,
        embedder,
        policy,
        recall,
        index_dir: Some(dir.join("index")),
        clock: Arc::new(SystemClock),
        wait: memory_engine::DEFAULT_WAIT,
        extractor: Arc::new(memory_consolidate::RuleExtractor::new()),
    });
    engine.open_tenant(&TenantId::default_tenant()).await.expect("open tenant");
    (engine, work)
}

fn caller() -> Caller {
    Caller::principal(PRINCIPAL).expect("valid principal")
}

/// Writes the corpus through `remember_batch`; returns the engine (for recall) and its dir.
async fn ingest(cfg: &Config, work: &[(usize, Vec<String>)], with_vectors: bool) -> (Engine, Workdir) {
    let (engine, dir) = open_engine(cfg).await;
    let dim = engine.embedder().dimension();
    let mut rng = Rng::new(cfg.seed ^ 0x7EC7);
    // Inputs are built before the clock starts: only the engine is timed.
    let inputs: Vec<Vec<MemoryInput>> = work
        .iter()
        .map(|(ns, texts)| {
            texts
                .iter()
                .map(|t| {
                    let input = MemoryInput::new(Layer::Semantic, t.clone()).in_namespace(cfg.namespace(*ns));
                    if with_vectors { input.vector(rng.unit_vector(dim)) } else { input }
                })
                .collect()
        })
        .collect();
    let caller = caller();
    let mut per_batch = Vec::with_capacity(inputs.len());
    let mut created = 0usize;
    let mut analyzing = Duration::ZERO;
    let started = Instant::now();
    for batch in inputs {
        let t = Instant::now();
        let written = engine.remember_batch(&caller, batch).await.expect("remember_batch");
        per_batch.push(t.elapsed());
        if cfg.analyze && per_batch.len() == 1 {
            analyzing += dir.analyze().await;
        }
        created += written.iter().filter(|w| w.created).count();
        if let Some(w) = written.iter().find(|w| !w.warnings.is_empty()) {
            panic!("degraded write: {:?}", w.warnings);
        }
    }
    let writes = started.elapsed() - analyzing;
    let t = Instant::now();
    engine.flush().await.expect("flush");
    let flush = t.elapsed();
    if cfg.analyze {
        dir.analyze().await;
    }
    assert_eq!(created, cfg.memories, "every memory is new (no deduplication)");

    let tenth = (per_batch.len() / 10).max(1);
    let mut sorted = per_batch.clone();
    sorted.sort();
    println!(
        "  {:<28} {:>8.0} memories/s  ({:>6.2} s; + flush {:.2} s: {:.0}/s)  batch p50 {:>6.1} ms  p99 {:>6.1} ms  first 10% {:>6.1} ms  last 10% {:>6.1} ms",
        if with_vectors { "(b) precomputed vectors" } else { "(a) hash embedder" },
        cfg.memories as f64 / writes.as_secs_f64(),
        writes.as_secs_f64(),
        flush.as_secs_f64(),
        cfg.memories as f64 / (writes + flush).as_secs_f64(),
        ms(percentile(&sorted, 0.5)),
        ms(percentile(&sorted, 0.99)),
        ms(mean(&per_batch[..tenth])),
        ms(mean(&per_batch[per_batch.len() - tenth..])),
    );
    println!(
        "  {:<28} store {:.0} MB, index {:.0} MB, RSS {:.0} MB",
        "",
        dir.store_mb().await,
        dir_mb(&dir.path().join("index")),
        rss_mb()
    );
    (engine, dir)
}

// ---------------------------------------------------------------------------------------------
// Recall

struct Query {
    text: String,
    vector: Vec<f32>,
    /// `ns-042` (or a filled namespace in a quick run).
    one: String,
    three: Vec<String>,
}

fn queries(cfg: &Config, corpus: &Corpus, embedder: &dyn Embedder) -> Vec<Query> {
    // A quick run fills only the first namespaces; queries read those.
    let filled = cfg.filled();
    let one = cfg.namespace(42 % filled);
    let mut rng = Rng::new(cfg.seed ^ 0x0E11);
    let texts: Vec<String> = (0..cfg.queries).map(|_| corpus.query(&mut rng)).collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed(&refs).expect("embed queries");
    texts
        .into_iter()
        .zip(vectors)
        .map(|(text, vector)| {
            let mut three: Vec<String> = Vec::with_capacity(3);
            while three.len() < 3.min(filled) {
                let ns = cfg.namespace(rng.below(filled));
                if !three.contains(&ns) {
                    three.push(ns);
                }
            }
            Query { text, vector, one: one.clone(), three }
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Scope {
    One,
    Three,
    Default,
    All,
}

impl Scope {
    fn label(self) -> &'static str {
        match self {
            Scope::One => "1 namespace",
            Scope::Three => "3 random namespaces",
            Scope::Default => "default read set",
            Scope::All => "* (every readable)",
        }
    }
}

fn request(q: &Query, scope: Scope, with_vector: bool) -> RecallRequest {
    let mut r = RecallRequest::new(q.text.clone());
    r.limit = 10;
    r.namespaces = match scope {
        Scope::One => vec![q.one.clone()],
        Scope::Three => q.three.clone(),
        Scope::Default => Vec::new(),
        Scope::All => vec!["*".to_owned()],
    };
    if with_vector {
        r.vector = Some(q.vector.clone());
    }
    r
}

async fn recall_case(engine: &Engine, qs: &[Query], scope: Scope, with_vector: bool) {
    let caller = caller();
    let requests: Vec<RecallRequest> = qs.iter().map(|q| request(q, scope, with_vector)).collect();
    // Warm up (page cache, allocator, SQLite statement cache).
    for r in requests.iter().take(200) {
        engine.recall(&caller, r).await.expect("recall");
    }
    let mut times = Vec::with_capacity(requests.len());
    let (mut results, mut empty) = (0usize, 0usize);
    let mut read: Vec<String> = Vec::new();
    for r in &requests {
        let t = Instant::now();
        let got = engine.recall(&caller, r).await.expect("recall");
        times.push(t.elapsed());
        assert_ne!(got.outcome, RecallOutcome::Degraded, "degraded recall: {:?}", got.warnings);
        results += got.memories.len();
        empty += usize::from(got.outcome == RecallOutcome::Empty);
        if read.is_empty() {
            read = got.namespaces.iter().map(|n| n.as_str().to_owned()).collect();
        }
    }
    times.sort();
    let reads = match scope {
        Scope::One | Scope::Default => format!("reads [{}]", read.join(", ")),
        Scope::All => format!("reads {} namespaces", read.len()),
        Scope::Three => String::new(),
    };
    println!(
        "  {:<22} {:<17} p50 {:>7.3} ms  p95 {:>7.3} ms  p99 {:>7.3} ms  {:>5.1} results/query, {:>4} empty  {reads}",
        scope.label(),
        if with_vector { "(b) vector given" } else { "(a) text embedded" },
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.95)),
        ms(percentile(&times, 0.99)),
        results as f64 / requests.len() as f64,
        empty,
    );
}

/// The store reads inside one recall of 3 namespaces with the vector given, timed alone:
/// the pinned listing and the load of the index candidates (`recall.candidates`, 50).
async fn recall_breakdown(engine: &Engine, qs: &[Query]) {
    let caller = caller();
    let tenant = TenantId::default_tenant();
    let store = engine.store();
    let candidates = engine.policy().config().engine.recall.candidates as usize;
    let (mut whole, mut pinned, mut load) = (Vec::new(), Vec::new(), Vec::new());
    for q in qs {
        let r = request(q, Scope::Three, true);
        let t = Instant::now();
        let got = engine.recall(&caller, &r).await.expect("recall");
        whole.push(t.elapsed());

        let mut filter = MemoryFilter::default();
        filter.namespaces = Some(got.namespaces.clone());
        filter.layers = Some(vec![Layer::Identity, Layer::Procedural]);
        filter.exclude_superseded = true;
        let t = Instant::now();
        store.list_memories(&tenant, &filter, &PageRequest::first(MAX_PAGE_LIMIT)).await.expect("list");
        pinned.push(t.elapsed());

        let wide = RecallRequest { limit: candidates, ..r };
        let ids: Vec<MemoryId> =
            engine.recall(&caller, &wide).await.expect("recall").memories.iter().map(|m| m.memory.id).collect();
        let t = Instant::now();
        store.get_memories(&tenant, &ids).await.expect("get");
        load.push(t.elapsed());
    }
    let (w, p, l) = (mean(&whole), mean(&pinned), mean(&load));
    println!("  where a 3-namespace recall (vector given) spends its time, means over {} queries:", qs.len());
    println!("    whole recall                                   {:>7.3} ms", ms(w));
    println!("    store: pinned listing (identity + procedural)  {:>7.3} ms", ms(p));
    println!("    store: get_memories of {candidates:>3} candidates           {:>7.3} ms", ms(l));
    println!(
        "    the rest: plan, index search, rescoring, tasks {:>7.3} ms",
        ms(w.saturating_sub(p).saturating_sub(l))
    );
}

async fn recall_section(cfg: &Config, corpus: &Corpus, engine: &Engine) {
    println!(
        "\n== recall, limit 10, {} queries per row after 200 warm-up (target p50 <= 1 ms with the vector given) ==",
        cfg.queries
    );
    let qs = queries(cfg, corpus, engine.embedder().as_ref());
    let wanted = std::env::var("MEMORY_BENCH_RECALL_SCOPES").unwrap_or_else(|_| "one,three,default,all".into());
    for (name, scope) in
        [("one", Scope::One), ("three", Scope::Three), ("default", Scope::Default), ("all", Scope::All)]
    {
        if !wanted.split(',').any(|w| w.trim() == name) {
            continue;
        }
        for with_vector in [false, true] {
            recall_case(engine, &qs, scope, with_vector).await;
        }
    }
    if wanted.split(',').any(|w| w.trim() == "three") {
        recall_breakdown(engine, &qs).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Export

/// Export of a store of many namespaces: filled through the store (fast), exported through the
/// engine as the CLI does (`memory export`), into a sink.
async fn export_section(cfg: &Config, corpus: &Corpus) {
    let memories = env_usize("MEMORY_BENCH_EXPORT_MEMORIES", 100_000).max(1);
    let namespaces = env_usize("MEMORY_BENCH_EXPORT_NAMESPACES", 1000).max(1);
    println!("\n== export: {memories} memories in {namespaces} namespaces, median of 3 runs (target < 2 s) ==");
    let (store, dir) = cfg.backend.open(true).await;
    let tenant = TenantId::default_tenant();
    let now = Timestamp::now();
    let mut rng = Rng::new(cfg.seed ^ 0xE4);
    let t = Instant::now();
    for n in 0..namespaces {
        let key = NamespaceKey::new(format!("x-{n:04}")).expect("valid key");
        store
            .create_namespace(Namespace::new(tenant.clone(), key.clone(), NamespaceKind::Explicit, now))
            .await
            .expect("ns");
        let here = memories / namespaces + usize::from(n < memories % namespaces);
        for chunk in (0..here).collect::<Vec<_>>().chunks(1000) {
            let batch = chunk
                .iter()
                .map(|i| {
                    NewMemory::new(key.clone(), Layer::Semantic, format!("{} {n}-{i}", corpus.text(&mut rng)), now)
                })
                .collect();
            store.put_memories(&tenant, batch).await.expect("put");
        }
    }
    println!("  filled in {:.1} s", t.elapsed().as_secs_f64());
    let embedder: Arc<dyn Embedder> = Arc::new(HashEmbedder::new(DEFAULT_HASH_DIMENSION).expect("hash embedder"));
    let mut parts = EngineParts::new(store, embedder);
    parts.index_dir = Some(dir.path().join("index"));
    let engine = Engine::new(parts);
    let op = caller().as_operator();
    let mut times = Vec::new();
    for _ in 0..3 {
        let mut out = std::io::BufWriter::new(std::io::sink());
        let t = Instant::now();
        let report = engine.export(&op, &Default::default(), &mut out, &mut |_| {}).await.expect("export");
        times.push(t.elapsed());
        assert_eq!(report.memories as usize, memories);
    }
    times.sort();
    println!(
        "  export: median {:.2} s ({:.0} memories/s; runs {:.2} / {:.2} / {:.2} s), index opened: {}",
        times[1].as_secs_f64(),
        memories as f64 / times[1].as_secs_f64(),
        times[0].as_secs_f64(),
        times[1].as_secs_f64(),
        times[2].as_secs_f64(),
        dir.path().join("index").exists()
    );
}

// ---------------------------------------------------------------------------------------------
// The write pipeline step by step

#[derive(Default)]
struct Steps {
    embed: Duration,
    put: Duration,
    changes: Duration,
    upsert: Duration,
    commit: Duration,
    flush: Duration,
    audit: Duration,
}

/// What `remember_batch` does for one batch, without the engine: each step timed.
async fn parts_section(cfg: &Config, work: &[(usize, Vec<String>)]) {
    let flush_every = env_usize("MEMORY_BENCH_PARTS_FLUSH_EVERY", 0);
    let when = match flush_every {
        0 => "once, after the last batch, as the engine's write path leaves it to Engine::flush".to_owned(),
        1 => "after every batch".to_owned(),
        n => format!("every {n} batches"),
    };
    println!("\n== where ingest time goes: the write pipeline step by step, without the engine ==");
    println!("  (index committed and flushed {when})");
    let (store, dir) = cfg.backend.open(false).await;
    let embedder = Arc::new(HashEmbedder::new(DEFAULT_HASH_DIMENSION).expect("hash embedder"));
    let index = Arc::new(
        MemoryIndex::open(IndexOptions::new(Some(dir.path().join("index")), embedder.dimension(), embedder.model_id()))
            .expect("open index"),
    );
    let tenant = TenantId::default_tenant();
    let now = Timestamp::now();
    for i in 0..cfg.namespaces {
        let key = NamespaceKey::new(cfg.namespace(i)).expect("valid key");
        store.create_namespace(Namespace::new(tenant.clone(), key, NamespaceKind::Explicit, now)).await.expect("ns");
    }
    let mut s = Steps::default();
    let mut flushes = Vec::with_capacity(work.len());
    let mut seq = 0u64;
    let mut b = 0usize;
    let started = Instant::now();
    for (ns, texts) in work {
        let key = NamespaceKey::new(cfg.namespace(*ns)).expect("valid key");
        // 1. Embed (spawn_blocking, as the engine does).
        let t = Instant::now();
        let (e, owned) = (embedder.clone(), texts.clone());
        let vectors = tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            e.embed(&refs)
        })
        .await
        .expect("join")
        .expect("embed");
        s.embed += t.elapsed();
        // 2. Put the batch.
        let news: Vec<NewMemory> =
            texts.iter().map(|c| NewMemory::new(key.clone(), Layer::Semantic, c.clone(), Timestamp::now())).collect();
        let mut by_id: HashMap<_, _> = news.iter().map(|m| m.id).zip(vectors).collect();
        let t = Instant::now();
        store.put_memories(&tenant, news).await.expect("put");
        s.put += t.elapsed();
        // 3. Read the changes back (the index catch-up).
        let t = Instant::now();
        let mut changed = Vec::new();
        loop {
            let page = store.changes_since(&tenant, seq, MAX_PAGE_LIMIT).await.expect("changes");
            let Some(last) = page.last().map(|m| m.seq) else { break };
            seq = last;
            changed.extend(page);
        }
        s.changes += t.elapsed();
        // 4. Upsert into the index.
        let docs: Vec<_> = changed.iter().map(|m| memory_engine::sync::index_doc(m, by_id.remove(&m.id))).collect();
        let t = Instant::now();
        let idx = index.clone();
        tokio::task::spawn_blocking(move || idx.upsert(docs)).await.expect("join").expect("upsert");
        s.upsert += t.elapsed();
        // 5. One audit record.
        let t = Instant::now();
        store
            .append_audit(AuditRecord {
                id: AuditId::new_v7(),
                tenant: tenant.clone(),
                namespace: Some(key.clone()),
                principal: Some(Principal::new(PRINCIPAL).expect("valid")),
                key_id: None,
                operation: memory_core::AuditOp::MemoryBatch,
                outcome: AuditOutcome::Ok,
                detail: [("created".to_owned(), serde_json::json!(texts.len()))].into(),
                at: Timestamp::now(),
                origin: None,
            })
            .await
            .expect("audit");
        s.audit += t.elapsed();
        b += 1;
        // The engine's write path neither commits nor flushes: searches commit the text side
        // (read-your-writes) and Engine::flush makes it durable. The last batch always does both.
        if b < work.len() && (flush_every == 0 || !b.is_multiple_of(flush_every)) {
            continue;
        }
        // 6a. Commit the text side (tantivy indexes the batch), as the next search would.
        let t = Instant::now();
        let (idx, ns_key) = (index.clone(), key.clone());
        tokio::task::spawn_blocking(move || {
            idx.search(&SearchQuery { text: "x".into(), namespaces: vec![ns_key], ..SearchQuery::default() })
        })
        .await
        .expect("join")
        .expect("search");
        s.commit += t.elapsed();
        // 6b. Make the index durable: fsync the text files, rewrite the vector file.
        let t = Instant::now();
        let idx = index.clone();
        tokio::task::spawn_blocking(move || idx.flush()).await.expect("join").expect("flush");
        let f = t.elapsed();
        s.flush += f;
        flushes.push(f);
    }
    let total = started.elapsed();
    let n = cfg.memories as f64;
    let row = |label: &str, d: Duration| {
        println!(
            "  {label:<36} {:>7.2} s  {:>5.1}%  ({:>8.0} memories/s alone)",
            d.as_secs_f64(),
            100.0 * d.as_secs_f64() / total.as_secs_f64(),
            n / d.as_secs_f64()
        );
    };
    row("embed (hash, 384-d)", s.embed);
    row(&format!("store put_memories ({})", cfg.backend.short()), s.put);
    row("store changes_since (catch-up read)", s.changes);
    row("index upsert", s.upsert);
    row("index text commit (tantivy)", s.commit);
    row("index flush (fsync + vectors.bin)", s.flush);
    row("audit append", s.audit);
    println!(
        "  {:<36} {:>7.2} s  = {:.0} memories/s with embedding, {:.0} without",
        "total",
        total.as_secs_f64(),
        n / total.as_secs_f64(),
        n / (total - s.embed).as_secs_f64()
    );
    let on_disk = dir_mb(&dir.path().join("index"));
    if let [only] = flushes.as_slice() {
        println!("  1 index flush: {:.1} ms (index {on_disk:.0} MB on disk)", ms(*only));
    } else {
        let tenth = (flushes.len() / 10).max(1);
        println!(
            "  {} index flushes: first 10% {:.1} ms, last 10% {:.1} ms each (index {on_disk:.0} MB on disk)",
            flushes.len(),
            ms(mean(&flushes[..tenth])),
            ms(mean(&flushes[flushes.len() - tenth..])),
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; this target takes no arguments of its own.
    let cfg = Config::from_env();
    println!(
        "memory-engine bench: {} semantic memories in {} namespaces, batches of {} (one namespace each), {} recall queries, seed {}, sections {}",
        cfg.memories, cfg.namespaces, cfg.batch, cfg.queries, cfg.seed, cfg.sections
    );
    println!(
        "engine: {} + index on disk in a temp dir, hash embedder ({DEFAULT_HASH_DIMENSION}-d), caller principal {PRINCIPAL:?}, default tenant",
        cfg.backend.describe()
    );
    #[cfg(feature = "postgres")]
    if matches!(cfg.backend, Backend::Postgres(_)) {
        println!(
            "planner statistics: {}",
            if cfg.analyze {
                "ANALYZE after the first ingest batch and after the ingest (MEMORY_BENCH_PG_ANALYZE=1)"
            } else {
                "whatever autovacuum gathers during the run (nothing runs ANALYZE)"
            }
        );
    }
    let corpus = Corpus::new(cfg.seed);
    let work = batches(&cfg, &corpus);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let started = Instant::now();
    runtime.block_on(async {
        let mut hashed = None;
        if cfg.sections.contains("ingest") || cfg.sections.contains("recall") {
            println!("\n== ingest: remember_batch, end to end (target >= 20,000 memories/s) ==");
            hashed = Some(ingest(&cfg, &work, false).await);
        }
        if cfg.sections.contains("ingest") {
            drop(ingest(&cfg, &work, true).await);
        }
        if cfg.sections.contains("recall")
            && let Some((engine, _dir)) = &hashed
        {
            recall_section(&cfg, &corpus, engine).await;
        }
        drop(hashed);
        if cfg.sections.contains("export") {
            export_section(&cfg, &corpus).await;
        }
        if cfg.sections.contains("parts") {
            parts_section(&cfg, &work).await;
        }
    });
    println!("\ntotal {:.0} s", started.elapsed().as_secs_f64());
}
