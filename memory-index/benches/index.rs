//! `cargo xtask bench index`: build throughput, recall latency, vector recall@10 against brute
//! force, RSS and reopen time of `memory-index` on seeded synthetic corpora.
//!
//! Corpora: vectors are clustered (never uniform random: ANN on structureless data says
//! nothing): 1,000 Gaussian centres with N(0, 1) components, each point a centre plus N(0, sigma^2)
//! noise per component, then normalized. Text is word salad with topics: each cluster has its own
//! words, mixed with common words and stop words; a query is a point of a random cluster plus three
//! of that cluster's words, over 1-3 random namespaces.
//!
//! Sections (all on by default):
//! - `main`: 100k memories in 100 namespaces and/or 1M in 10,000 (`MEMORY_BENCH_INDEX_SCALE` =
//!   `100k` | `1m` | `both`, default `both`). Build, latency, namespace-set selectivity, flush,
//!   and a reopen in a fresh child process (reopen time and RSS are not polluted by the build).
//! - `hnsw`: 100k memories, one namespace holding ~99% (an HNSW graph) and namespaces of 1%,
//!   0.1% and 0.01%: recall@10 and the path taken at each selectivity.
//! - `crossover`: one namespace of each size, searched exactly and through a graph: where HNSW
//!   starts to pay (sets `DEFAULT_EXACT_THRESHOLD`).
//!
//! Environment: `MEMORY_BENCH_INDEX_SCALE`, `MEMORY_BENCH_INDEX_SECTIONS` (comma list, default
//! `main,hnsw,crossover`; `writes` adds a write-then-search loop on its own),
//! `MEMORY_BENCH_INDEX_DIM` (384), `MEMORY_BENCH_INDEX_QUERIES` (2000), `MEMORY_BENCH_INDEX_SIGMA`
//! (0.15), `MEMORY_BENCH_SEED` (42), `MEMORY_BENCH_INDEX_KEEP` (a directory to keep the built
//! index in, e.g. to profile a reopen with `MEMORY_BENCH_INDEX_REOPEN=<dir>`).
//!
//! The default (`both`, all sections) takes about 5 minutes on 2 cores and needs about 3.5 GB
//! of RAM at peak (the 1M index plus its brute-force check).

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use memory_core::{Category, Layer, MemoryId, NamespaceKey, Timestamp};
use memory_index::{Fusion, IndexDoc, IndexOptions, MemoryIndex, SearchQuery, SearchStats};

const CLUSTERS: usize = 1000;
const MODEL: &str = "bench-synthetic";

// ---------------------------------------------------------------------------------------------
// Configuration

fn env_str(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a positive integer")),
        Err(_) => default,
    }
}

#[derive(Debug, Clone, Copy)]
struct Config {
    dim: usize,
    queries: usize,
    sigma: f32,
    seed: u64,
}

impl Config {
    fn from_env() -> Self {
        Config {
            dim: env_usize("MEMORY_BENCH_INDEX_DIM", 384),
            queries: env_usize("MEMORY_BENCH_INDEX_QUERIES", 2000).max(10),
            sigma: env_str("MEMORY_BENCH_INDEX_SIGMA", "0.15").parse().expect("sigma is a number"),
            seed: env_usize("MEMORY_BENCH_SEED", 42) as u64,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic synthetic data

/// SplitMix64: tiny, fast, and seedable per document, so any document can be regenerated alone.
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
    /// Two standard normal samples (Box-Muller).
    fn gaussians(&mut self) -> (f32, f32) {
        let u1 = self.unit_f32().max(1e-7);
        let u2 = self.unit_f32();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (2.0 * std::f32::consts::PI * u2).sin_cos();
        (r * c, r * s)
    }
    fn fill_gaussian(&mut self, out: &mut [f32], scale: f32) {
        for pair in out.chunks_mut(2) {
            let (a, b) = self.gaussians();
            pair[0] = a * scale;
            if pair.len() > 1 {
                pair[1] = b * scale;
            }
        }
    }
}

fn normalize(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
}

const STOP: &[&str] = &["the", "and", "of", "to", "a", "in", "is", "it", "that", "for", "on", "with", "as", "was"];

/// The corpus generator: document `i` is a pure function of (seed, i).
struct Corpus {
    cfg: Config,
    namespaces: usize,
    centres: Vec<f32>,
    topic_words: Vec<Vec<String>>,
    common: Vec<String>,
    keys: Vec<NamespaceKey>,
    base: Timestamp,
}

fn syllable_word(rng: &mut Rng) -> String {
    const SYL: &[&str] = &["ka", "lo", "mi", "ter", "san", "vo", "rin", "dul", "pe", "zor", "qui", "nam", "bex", "tho"];
    let n = 2 + rng.below(3);
    (0..n).map(|_| SYL[rng.below(SYL.len())]).collect()
}

struct GenDoc {
    ns: usize,
    doc: IndexDoc,
}

impl Corpus {
    fn new(cfg: Config, namespaces: usize) -> Self {
        let mut rng = Rng::new(cfg.seed);
        let mut centres = vec![0.0f32; CLUSTERS * cfg.dim];
        rng.fill_gaussian(&mut centres, 1.0);
        let topic_words = (0..CLUSTERS).map(|_| (0..12).map(|_| syllable_word(&mut rng)).collect()).collect();
        let common = (0..300).map(|_| syllable_word(&mut rng)).collect();
        let keys = (0..namespaces).map(|i| NamespaceKey::new(format!("agent-{i:05}")).expect("valid")).collect();
        Corpus {
            cfg,
            namespaces,
            centres,
            topic_words,
            common,
            keys,
            base: Timestamp::parse_rfc3339("2026-01-01T00:00:00Z").expect("valid"),
        }
    }

    /// A point of `cluster`: centre plus noise, normalized.
    fn point(&self, rng: &mut Rng, cluster: usize) -> Vec<f32> {
        let d = self.cfg.dim;
        let mut v = vec![0.0f32; d];
        rng.fill_gaussian(&mut v, self.cfg.sigma);
        for (x, c) in v.iter_mut().zip(&self.centres[cluster * d..(cluster + 1) * d]) {
            *x += c;
        }
        normalize(&mut v);
        v
    }

    fn text(&self, rng: &mut Rng, cluster: usize) -> String {
        let len = 8 + rng.below(13);
        let mut words: Vec<&str> = Vec::with_capacity(len);
        for _ in 0..len {
            let roll = rng.below(10);
            words.push(if roll < 5 {
                &self.topic_words[cluster][rng.below(12)]
            } else if roll < 8 {
                &self.common[rng.below(self.common.len())]
            } else {
                STOP[rng.below(STOP.len())]
            });
        }
        words.join(" ")
    }

    /// Document `i`, namespace chosen by `pick_ns` from the document's own random stream.
    fn doc_with(&self, i: usize, pick_ns: impl Fn(&mut Rng) -> usize) -> GenDoc {
        let mut rng = Rng::new(self.cfg.seed.wrapping_mul(1_000_003).wrapping_add(i as u64 + 1));
        let ns = pick_ns(&mut rng);
        let cluster = rng.below(CLUSTERS);
        let vector = self.point(&mut rng, cluster);
        let content = self.text(&mut rng, cluster);
        let id = MemoryId::from_uuid(uuid_from(self.cfg.seed, i));
        let doc = IndexDoc {
            id,
            namespace: self.keys[ns].clone(),
            layer: if rng.below(4) == 0 { Layer::Episodic } else { Layer::Semantic },
            category: Category::fact(),
            created_at: self.base.plus_micros(i as i64 * 1_000),
            expires_at: None,
            metadata: Default::default(),
            content,
            vector: Some(vector),
        };
        GenDoc { ns, doc }
    }

    /// Uniformly random namespaces.
    fn doc(&self, i: usize) -> GenDoc {
        let n = self.namespaces;
        self.doc_with(i, |r| r.below(n))
    }

    /// A query: a fresh point of a random cluster plus three of its words.
    fn query(&self, rng: &mut Rng) -> (String, Vec<f32>) {
        let cluster = rng.below(CLUSTERS);
        let words: Vec<&str> = (0..3).map(|_| self.topic_words[cluster][rng.below(12)].as_str()).collect();
        (words.join(" "), self.point(rng, cluster))
    }

    /// 1-3 distinct random namespaces.
    fn namespace_set(&self, rng: &mut Rng) -> Vec<usize> {
        let want = (1 + rng.below(3)).min(self.namespaces);
        let mut set = Vec::with_capacity(want);
        while set.len() < want {
            let n = rng.below(self.namespaces);
            if !set.contains(&n) {
                set.push(n);
            }
        }
        set
    }
}

fn uuid_from(seed: u64, i: usize) -> uuid::Uuid {
    let mut r = Rng::new(seed ^ 0xABCD_EF01);
    let hi = r.next_u64() & !0xF000; // Any stable bits; ids only need to be unique.
    uuid::Uuid::from_u64_pair(hi, i as u64)
}

// ---------------------------------------------------------------------------------------------
// Measuring

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
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

struct Latency {
    p50: Duration,
    p99: Duration,
    stats: SearchStats,
}

fn latency(idx: &MemoryIndex, queries: &[SearchQuery]) -> Latency {
    let mut times = Vec::with_capacity(queries.len());
    let mut stats = SearchStats::default();
    for q in queries {
        let t = Instant::now();
        let r = idx.search(q).expect("search");
        times.push(t.elapsed());
        stats.exact_scans += r.stats.exact_scans;
        stats.hnsw_searches += r.stats.hnsw_searches;
        stats.text_candidates += r.stats.text_candidates;
        stats.vector_candidates += r.stats.vector_candidates;
    }
    times.sort();
    Latency { p50: percentile(&times, 0.5), p99: percentile(&times, 0.99), stats }
}

fn print_latency(label: &str, l: &Latency, n: usize) {
    println!(
        "  {label:<34} p50 {:>7.3} ms  p99 {:>7.3} ms   per query: {:.2} exact scans, {:.2} hnsw, {:.1} text + {:.1} vector candidates",
        ms(l.p50),
        ms(l.p99),
        l.stats.exact_scans as f64 / n as f64,
        l.stats.hnsw_searches as f64 / n as f64,
        l.stats.text_candidates as f64 / n as f64,
        l.stats.vector_candidates as f64 / n as f64,
    );
}

/// The recall workload: 1-3 random namespaces, text and vector, fused by RRF.
fn recall_queries(corpus: &Corpus, n: usize, seed: u64) -> Vec<SearchQuery> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let set = corpus.namespace_set(&mut rng);
            let (text, vector) = corpus.query(&mut rng);
            SearchQuery {
                text,
                vector: Some(vector),
                namespaces: set.iter().map(|&i| corpus.keys[i].clone()).collect(),
                limit: 10,
                fusion: Fusion::Rrf { k: 60.0 },
                ..SearchQuery::default()
            }
        })
        .collect()
}

fn text_only(qs: &[SearchQuery]) -> Vec<SearchQuery> {
    qs.iter().map(|q| SearchQuery { vector: None, ..q.clone() }).collect()
}

fn vector_only(qs: &[SearchQuery]) -> Vec<SearchQuery> {
    qs.iter().map(|q| SearchQuery { text: String::new(), ..q.clone() }).collect()
}

/// Exact top 10 per query by brute force over regenerated documents (independent of the index).
fn brute_force_top10(
    docs: impl Iterator<Item = (usize, MemoryId, Vec<f32>)>,
    queries: &[(HashSet<usize>, Vec<f32>)],
) -> Vec<Vec<MemoryId>> {
    let mut tops: Vec<Vec<(f32, MemoryId)>> = vec![Vec::new(); queries.len()];
    for (ns, id, v) in docs {
        for (qi, (set, qv)) in queries.iter().enumerate() {
            if !set.contains(&ns) {
                continue;
            }
            let s: f32 = v.iter().zip(qv).map(|(a, b)| a * b).sum();
            let top = &mut tops[qi];
            if top.len() < 10 || s > top[top.len() - 1].0 {
                top.push((s, id));
                top.sort_by(|a, b| b.0.total_cmp(&a.0));
                top.truncate(10);
            }
        }
    }
    tops.into_iter().map(|t| t.into_iter().map(|(_, id)| id).collect()).collect()
}

fn recall_at_10(
    idx: &MemoryIndex,
    keys: &[NamespaceKey],
    queries: &[(HashSet<usize>, Vec<f32>)],
    truth: &[Vec<MemoryId>],
) -> (f64, Latency) {
    let qs: Vec<SearchQuery> = queries
        .iter()
        .map(|(set, v)| SearchQuery {
            vector: Some(v.clone()),
            namespaces: set.iter().map(|&i| keys[i].clone()).collect(),
            limit: 10,
            ..SearchQuery::default()
        })
        .collect();
    let mut found = 0usize;
    let mut wanted = 0usize;
    for (q, t) in qs.iter().zip(truth) {
        let got: HashSet<MemoryId> = idx.search(q).expect("search").hits.iter().map(|h| h.id).collect();
        found += t.iter().filter(|id| got.contains(id)).count();
        wanted += t.len();
    }
    (found as f64 / wanted.max(1) as f64, latency(idx, &qs))
}

// ---------------------------------------------------------------------------------------------
// Sections

/// Write-then-search: every search must see the write before it (read-your-writes), which the
/// index serves from its fresh set without a commit.
fn write_then_search(idx: &MemoryIndex, corpus: &Corpus, first: usize, label: &str) {
    let (mut writes, mut reads) = (Vec::new(), Vec::new());
    for k in 0..200 {
        let g = corpus.doc(first + k);
        let q = SearchQuery {
            text: g.doc.content.split(' ').take(3).collect::<Vec<_>>().join(" "),
            vector: g.doc.vector.clone(),
            namespaces: vec![g.doc.namespace.clone()],
            ..SearchQuery::default()
        };
        let t = Instant::now();
        idx.upsert(vec![g.doc]).expect("upsert");
        writes.push(t.elapsed());
        let t = Instant::now();
        let hits = idx.search(&q).expect("search").hits;
        reads.push(t.elapsed());
        assert!(!hits.is_empty());
    }
    writes.sort();
    reads.sort();
    println!(
        "  write 1 doc, then search ({label:<7})  upsert p50 {:.3} ms p99 {:.3} ms; search p50 {:.2} ms p99 {:.2} ms",
        ms(percentile(&writes, 0.5)),
        ms(percentile(&writes, 0.99)),
        ms(percentile(&reads, 0.5)),
        ms(percentile(&reads, 0.99))
    );
}

fn build(idx: &MemoryIndex, n: usize, make: impl Fn(usize) -> GenDoc) -> Duration {
    const BATCH: usize = 1000;
    let mut spent = Duration::ZERO;
    let mut i = 0;
    while i < n {
        let end = (i + BATCH).min(n);
        let batch: Vec<IndexDoc> = (i..end).map(|j| make(j).doc).collect();
        let t = Instant::now();
        idx.upsert(batch).expect("upsert");
        spent += t.elapsed();
        i = end;
    }
    // Graphs build in the background; a build is finished when they are installed.
    let t = Instant::now();
    idx.wait_for_graphs();
    spent + t.elapsed()
}

fn main_section(cfg: Config, memories: usize, namespaces: usize) {
    println!("\n== {memories} memories in {namespaces} namespaces, {}-d ==", cfg.dim);
    let corpus = Corpus::new(cfg, namespaces);
    let tmp = tempfile::tempdir().expect("temp dir");
    // MEMORY_BENCH_INDEX_KEEP=<dir> keeps the built index there (to profile a reopen).
    let dir = std::env::var("MEMORY_BENCH_INDEX_KEEP").map_or_else(|_| tmp.path().join("index"), Into::into);
    let rss_start = rss_mb();
    let idx = MemoryIndex::open(IndexOptions::new(Some(dir.clone()), cfg.dim, MODEL)).expect("open");
    let spent = build(&idx, memories, |i| corpus.doc(i));
    // Writers commit every `COMMIT_AFTER` documents; the first search is counted with the build.
    let t = Instant::now();
    idx.search(&SearchQuery { text: "x".into(), namespaces: vec![corpus.keys[0].clone()], ..SearchQuery::default() })
        .expect("search");
    let commit = t.elapsed();
    println!(
        "  build (text + vectors, batches of 1000)  {:>9.0} docs/s  ({:.2} s upserts + {:.2} s first search)",
        memories as f64 / (spent + commit).as_secs_f64(),
        spent.as_secs_f64(),
        commit.as_secs_f64()
    );
    let rss_built = rss_mb();
    println!("  RSS after build                    {:>9.0} MB  (process start {:.0} MB)", rss_built, rss_start);

    let qs = recall_queries(&corpus, cfg.queries, cfg.seed ^ 1);
    // Warm up (page cache, allocator) before timing.
    latency(&idx, &qs[..qs.len().min(200)]);
    print_latency("recall (BM25 + vector + RRF)", &latency(&idx, &qs), qs.len());
    print_latency("  BM25 only", &latency(&idx, &text_only(&qs)), qs.len());
    print_latency("  vector only", &latency(&idx, &vector_only(&qs)), qs.len());
    let blend: Vec<SearchQuery> =
        qs.iter().map(|q| SearchQuery { fusion: Fusion::Blend { text_weight: 0.5 }, ..q.clone() }).collect();
    print_latency("recall (BM25 + vector + blend)", &latency(&idx, &blend), qs.len());

    write_then_search(&idx, &corpus, memories, "on disk");
    let mut rng = Rng::new(cfg.seed ^ 7);

    // Vector recall@10 vs brute force at namespace-set selectivities (every namespace is below
    // the exact threshold here, so every path is an exact scan; the hnsw section covers graphs).
    let mut sel_rows = Vec::new();
    let mut queries: Vec<(HashSet<usize>, Vec<f32>)> = Vec::new();
    for (label, frac, count) in [("100%", 1.0, 5usize), ("1%", 0.01, 20), ("0.1%", 0.001, 20), ("0.01%", 0.0001, 20)] {
        let k = (namespaces as f64 * frac).round() as usize;
        if k == 0 {
            sel_rows.push((label, None));
            continue;
        }
        let start = queries.len();
        for _ in 0..count {
            let mut set = HashSet::new();
            while set.len() < k {
                set.insert(rng.below(namespaces));
            }
            queries.push((set, corpus.query(&mut rng).1));
        }
        sel_rows.push((label, Some(start..queries.len())));
    }
    let t = Instant::now();
    let truth = brute_force_top10(
        (0..memories + 200).map(|i| {
            let g = corpus.doc(i);
            (g.ns, g.doc.id, g.doc.vector.expect("vector"))
        }),
        &queries,
    );
    let truth_time = t.elapsed();
    for (label, range) in sel_rows {
        match range {
            None => println!("  recall@10 at {label:>5} of namespaces: n/a ({namespaces} namespaces)"),
            Some(r) => {
                let (recall, lat) = recall_at_10(&idx, &corpus.keys, &queries[r.clone()], &truth[r.clone()]);
                println!(
                    "  recall@10 at {label:>5} of namespaces: {recall:.4}  vector p50 {:>8.3} ms  paths: {:.0} exact scans, {} hnsw per query",
                    ms(lat.p50),
                    lat.stats.exact_scans as f64 / r.len() as f64,
                    lat.stats.hnsw_searches
                );
            }
        }
    }
    println!("  (brute-force truth took {:.1} s)", truth_time.as_secs_f64());

    let t = Instant::now();
    idx.flush().expect("flush");
    println!(
        "  flush                              {:>9.2} s   on disk {:.0} MB",
        t.elapsed().as_secs_f64(),
        dir_mb(&dir)
    );
    drop(idx);

    // Reopen in a fresh process, so its RSS is the index's alone.
    let exe = std::env::current_exe().expect("own path");
    let status = std::process::Command::new(exe)
        .env("MEMORY_BENCH_INDEX_REOPEN", &dir)
        .env("MEMORY_BENCH_INDEX_REOPEN_NS", namespaces.to_string())
        .status()
        .expect("run reopen child");
    assert!(status.success(), "reopen child failed");
}

/// The child of `main_section`: open, report time and RSS, run the recall workload once.
fn reopen_child(dir: &Path, namespaces: usize) {
    let cfg = Config::from_env();
    let rss_before = rss_mb();
    let t = Instant::now();
    let idx = MemoryIndex::open(IndexOptions::new(Some(dir.to_path_buf()), cfg.dim, MODEL)).expect("reopen");
    let took = t.elapsed();
    let rss_open = rss_mb();
    let corpus = Corpus::new(cfg, namespaces);
    let qs = recall_queries(&corpus, cfg.queries, cfg.seed ^ 1);
    let cold = latency(&idx, &qs);
    let warm = latency(&idx, &qs);
    println!(
        "  reopen (fresh process)             {:>9.3} s   {} memories; RSS {:.0} MB after open ({:.0} MB before), {:.0} MB after queries",
        took.as_secs_f64(),
        idx.len(),
        rss_open,
        rss_before,
        rss_mb()
    );
    print_latency("recall after reopen (first pass)", &cold, qs.len());
    print_latency("recall after reopen (second pass)", &warm, qs.len());
}

fn hnsw_section(cfg: Config) {
    let total = 100_000;
    println!("\n== selectivity: {total} memories, one namespace of ~99% (HNSW) plus 1%, 0.1%, 0.01% ==");
    // Namespace 0: the bulk; 1: 1%; 2: 0.1%; 3: 0.01%.
    let sizes = [total / 100, total / 1000, total / 10_000];
    let corpus = Corpus::new(cfg, 4);
    let pick = |i: usize| {
        move |_: &mut Rng| {
            if i < sizes[0] {
                1
            } else if i < sizes[0] + sizes[1] {
                2
            } else if i < sizes[0] + sizes[1] + sizes[2] {
                3
            } else {
                0
            }
        }
    };
    let idx = MemoryIndex::open(IndexOptions::new(None, cfg.dim, MODEL)).expect("open");
    let spent = build(&idx, total, |i| corpus.doc_with(i, pick(i)));
    println!(
        "  build incl. graph                  {:>9.0} docs/s  ({:.1} s; the 1% namespace of {} crosses no threshold)",
        total as f64 / spent.as_secs_f64(),
        spent.as_secs_f64(),
        sizes[0]
    );
    let mut rng = Rng::new(cfg.seed ^ 3);
    let sets: [(&str, HashSet<usize>); 5] = [
        ("100% (all 4)", [0, 1, 2, 3].into()),
        ("~99% (bulk)", [0].into()),
        ("1%", [1].into()),
        ("0.1%", [2].into()),
        ("0.01%", [3].into()),
    ];
    let per = 100;
    let mut queries = Vec::new();
    for (_, set) in &sets {
        for _ in 0..per {
            queries.push((set.clone(), corpus.query(&mut rng).1));
        }
    }
    let truth = brute_force_top10(
        (0..total).map(|i| {
            let g = corpus.doc_with(i, pick(i));
            (g.ns, g.doc.id, g.doc.vector.expect("vector"))
        }),
        &queries,
    );
    for (k, (label, _)) in sets.iter().enumerate() {
        let r = k * per..(k + 1) * per;
        let (recall, lat) = recall_at_10(&idx, &corpus.keys, &queries[r.clone()], &truth[r]);
        println!(
            "  recall@10 at {label:<13} {recall:.4}  vector p50 {:>7.3} ms p99 {:>7.3} ms  paths per query: {:.2} exact, {:.2} hnsw",
            ms(lat.p50),
            ms(lat.p99),
            lat.stats.exact_scans as f64 / per as f64,
            lat.stats.hnsw_searches as f64 / per as f64
        );
    }
    write_then_search(&idx, &corpus, total, "in RAM");
}

fn crossover_section(cfg: Config) {
    let sizes = [1_000usize, 2_000, 4_000, 8_000, 12_000, 16_000, 32_000];
    println!("\n== crossover: one namespace searched exactly vs through its HNSW graph (k = 50 candidates) ==");
    let corpus = Corpus::new(cfg, sizes.len());
    let mut exact_opts = IndexOptions::new(None, cfg.dim, MODEL);
    exact_opts.exact_threshold = usize::MAX;
    let mut graph_opts = IndexOptions::new(None, cfg.dim, MODEL);
    graph_opts.exact_threshold = 0;
    let exact = MemoryIndex::open(exact_opts).expect("open");
    let graph = MemoryIndex::open(graph_opts).expect("open");
    let mut offset = 0;
    for (ns, &n) in sizes.iter().enumerate() {
        let docs: Vec<IndexDoc> = (offset..offset + n).map(|i| corpus.doc_with(i, |_| ns).doc).collect();
        offset += n;
        exact.upsert(docs.clone()).expect("upsert");
        let t = Instant::now();
        graph.upsert(docs).expect("upsert");
        graph.wait_for_graphs();
        let build = t.elapsed();
        let mut rng = Rng::new(cfg.seed ^ 11);
        let qs: Vec<SearchQuery> = (0..300)
            .map(|_| SearchQuery {
                vector: Some(corpus.query(&mut rng).1),
                namespaces: vec![corpus.keys[ns].clone()],
                limit: 10,
                ..SearchQuery::default()
            })
            .collect();
        let le = latency(&exact, &qs);
        let lg = latency(&graph, &qs);
        let mut found = 0;
        for q in &qs {
            let t: HashSet<MemoryId> = exact.search(q).expect("search").hits.iter().map(|h| h.id).collect();
            found += graph.search(q).expect("search").hits.iter().filter(|h| t.contains(&h.id)).count();
        }
        println!(
            "  {n:>6} vectors: exact p50 {:>6.3} ms p99 {:>6.3} ms | hnsw p50 {:>6.3} ms p99 {:>6.3} ms, recall@10 {:.3}, graph build {:>5.0} inserts/s",
            ms(le.p50),
            ms(le.p99),
            ms(lg.p50),
            ms(lg.p99),
            found as f64 / (qs.len() * 10) as f64,
            n as f64 / build.as_secs_f64()
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; this target takes no arguments of its own.
    if let Ok(dir) = std::env::var("MEMORY_BENCH_INDEX_REOPEN") {
        let ns = env_usize("MEMORY_BENCH_INDEX_REOPEN_NS", 100);
        reopen_child(Path::new(&dir), ns);
        return;
    }
    let cfg = Config::from_env();
    let scale = env_str("MEMORY_BENCH_INDEX_SCALE", "both");
    let sections = env_str("MEMORY_BENCH_INDEX_SECTIONS", "main,hnsw,crossover");
    println!(
        "memory-index bench: dim {}, {} recall queries, {CLUSTERS} clusters, sigma {}, seed {}, scale {scale}, sections {sections}",
        cfg.dim, cfg.queries, cfg.sigma, cfg.seed
    );
    let started = Instant::now();
    if sections.contains("main") {
        if matches!(scale.as_str(), "100k" | "both") {
            main_section(cfg, 100_000, 100);
        }
        if matches!(scale.as_str(), "1m" | "both") {
            main_section(cfg, 1_000_000, 10_000);
        }
        assert!(matches!(scale.as_str(), "100k" | "1m" | "both"), "MEMORY_BENCH_INDEX_SCALE is 100k, 1m or both");
    }
    if sections.contains("writes") {
        // Not in the default list: read-your-writes on its own.
        let corpus = Corpus::new(cfg, 100);
        let tmp = tempfile::tempdir().expect("temp dir");
        let idx = MemoryIndex::open(IndexOptions::new(Some(tmp.path().join("index")), cfg.dim, MODEL)).expect("open");
        build(&idx, 100_000, |i| corpus.doc(i));
        for round in 0..5 {
            write_then_search(&idx, &corpus, 100_000 + round * 200, "on disk");
        }
    }
    if sections.contains("hnsw") {
        hnsw_section(cfg);
    }
    if sections.contains("crossover") {
        crossover_section(cfg);
    }
    println!("\ntotal {:.0} s", started.elapsed().as_secs_f64());
}
