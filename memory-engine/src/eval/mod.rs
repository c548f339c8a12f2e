//! The retrieval evaluation behind `memory eval`: runs a labelled dataset of conversations
//! through a fresh engine, remembering its memories with the engine's write path and asking its
//! queries with [`Engine::recall`](crate::Engine::recall), and reports recall@k, hit@k, MRR and
//! latency, overall and per query category. It measures what a user gets: any change to the
//! engine's writes or ranking (fusion, re-scoring, recency, deduplication) shows in its numbers.
//!
//! How a dataset ([`Dataset`], JSON lines) is run:
//! - The engine is new for each run and laid out as a home holds it: a SQLite store in a
//!   temporary directory (removed afterwards), the index beside it (or in
//!   [`EvalOptions::index_dir`]), the given embedder, the default recall settings, a manual
//!   clock, and a policy that lets principal [`PRINCIPAL`] read and write one namespace per
//!   collection and nothing else.
//! - Each collection is a namespace of its own (the collection name when it is a valid
//!   namespace key, else `c-` + 8 hex digits of its 32-bit FNV-1a hash), so a query only ever
//!   competes with its own collection's memories.
//! - Memories are remembered in file order with `remember_batch` as episodic memories of
//!   category `event`, content `"Speaker: text"` when the dataset names a speaker, else the
//!   text. Before each write the engine's clock is set to the memory's timestamp (a missing one
//!   is [`DEFAULT_TIMESTAMP`]), so that is its creation time; consecutive memories of a
//!   collection with the same timestamp share a batch of at most [`INGEST_BATCH`]. A memory's
//!   `session` becomes its conversation id, `<namespace>/<session>`, for the engine features
//!   that work on conversations. Equal contents in one collection are one memory (the store
//!   deduplicates), which then stands for each of them.
//! - Each query is one recall on its collection's namespace alone, `limit` = the largest k,
//!   with the clock at the query's `asked_at`, else at the collection's latest memory time, so
//!   recency acts as for a user asking right after the conversation. Every memory is written
//!   before the first query, so a query asked before some memories were said still sees them
//!   (their age counts as zero). Recalled memories are mapped back to dataset ids; one from
//!   outside the collection is an internal error, never a plain miss.
//! - A degraded write or recall (the embedder failed, say) is an error: scores of a
//!   full-text-only run would pass for the real thing.
//! - `ingest_s` is the wall time of every write and the final flush (the index saved);
//!   a query's latency is its whole recall (embedding, search, store reads, re-scoring).
//!
//! [`evaluate`] runs the engine on a tokio runtime of its own (one thread, as the CLI's), so it
//! must not be called from inside an async runtime.

mod dataset;
mod harness;
mod metrics;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use memory_core::{Error, MemoryId, NamespaceKey, Result, Timestamp};
use memory_embed::{Embedder, EmbedderSpec};
use memory_index::Fusion;
use serde::Serialize;

pub use dataset::{Collection, Dataset, DatasetMemory, DatasetQuery};
pub use harness::PRINCIPAL;
pub use metrics::{Metrics, QueryOutcome, percentile};

use crate::MAX_RECALL_LIMIT;
use harness::{EvalEngine, created_at};

/// Most memories written per batch: large enough to amortize per-call model overhead, small
/// enough that progress moves often. Only memories with the same timestamp share a batch.
pub const INGEST_BATCH: usize = 64;

/// The category name of queries that have none.
pub const UNCATEGORIZED: &str = "uncategorized";

/// The creation time of memories whose line has no timestamp: 2026-01-01T00:00:00Z. Fixed, so
/// runs are reproducible.
pub const DEFAULT_TIMESTAMP: Timestamp = Timestamp::from_micros(1_767_225_600_000_000);

/// The ks measured when none are given.
pub const DEFAULT_KS: &[usize] = &[5, 10];

/// What to run and how.
#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// The cut-offs for recall@k and hit@k; sorted and deduplicated before use, each in
    /// 1..=[`MAX_RECALL_LIMIT`].
    pub ks: Vec<usize>,
    /// The embedder to build.
    pub embedder: EmbedderSpec,
    /// Where the engine keeps its index (in `tenant-<hex>/` inside, as a home's `index/`);
    /// `None` keeps it in the run's temporary directory. The default tenant's index there is
    /// removed first, since leftovers would distort the scores.
    pub index_dir: Option<PathBuf>,
}

/// The two timed phases of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalPhase {
    /// Remembering the memories.
    Ingest,
    /// Recalling for the queries.
    Query,
}

/// What a run reports while it works, for progress bars.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalProgress {
    /// The dataset is read and the embedder built.
    Ready {
        /// Memories in the dataset.
        memories: usize,
        /// Queries in the dataset.
        queries: usize,
        /// The embedder's model id.
        embedder: String,
        /// Why this embedder was chosen.
        why: String,
    },
    /// A phase begins with `total` items.
    Started {
        /// Which phase.
        phase: EvalPhase,
        /// How many memories or queries it handles.
        total: usize,
    },
    /// `done` items of the phase are complete.
    Advanced {
        /// Which phase.
        phase: EvalPhase,
        /// Items complete so far.
        done: usize,
    },
    /// The phase is over.
    Finished {
        /// Which phase.
        phase: EvalPhase,
    },
}

/// The embedder that ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmbedderInfo {
    /// Its model id (as the index records it).
    pub model_id: String,
    /// Its vector length.
    pub dimension: usize,
    /// Why it was chosen (for `auto`, which models were found).
    pub why: String,
}

/// The result of a run. Serializes with the keys `overall`, `by_category`, `memories`,
/// `queries`, `ingest_s`, `query_ms_p50`, `query_ms_p95`, `embedder`, `fusion`, `collections`.
#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    /// Metrics over every query.
    pub overall: Metrics,
    /// Metrics per query category ([`UNCATEGORIZED`] for queries without one), by name.
    pub by_category: BTreeMap<String, Metrics>,
    /// Memories in the dataset, all remembered.
    pub memories: usize,
    /// Queries asked.
    pub queries: usize,
    /// Wall time of remembering every memory and saving the index, in seconds.
    pub ingest_s: f64,
    /// Median query latency (the whole recall), in milliseconds.
    pub query_ms_p50: f64,
    /// 95th-percentile query latency, in milliseconds.
    pub query_ms_p95: f64,
    /// The embedder that ran.
    pub embedder: EmbedderInfo,
    /// The fusion the engine's recall ran, e.g. `rrf(k=10)` or `blend(text_weight=0.5)`.
    pub fusion: String,
    /// Collections (namespaces) in the dataset.
    pub collections: usize,
}

/// Reads the dataset at `path`, builds the embedder of `options`, and evaluates.
///
/// Errors: an unreadable or invalid dataset or bad ks are `InvalidInput` (naming the line); an
/// embedder that cannot be built, a degraded write or recall, or a store or index failure keeps
/// its own kind.
pub fn run(path: &Path, options: &EvalOptions, progress: &mut dyn FnMut(EvalProgress)) -> Result<EvalReport> {
    // Checked first so a bad --k fails before a model is loaded.
    normalized_ks(&options.ks)?;
    let dataset = Dataset::load(path)?;
    let (embedder, why) = memory_embed::build(&options.embedder)?;
    evaluate(&dataset, embedder, &why, options, progress)
}

/// Evaluates a parsed `dataset` with a ready `embedder` (`why` says why it was chosen); the
/// embedder spec in `options` is not used. Not from inside an async runtime: it runs the
/// engine on one of its own.
pub fn evaluate(
    dataset: &Dataset,
    embedder: Arc<dyn Embedder>,
    why: &str,
    options: &EvalOptions,
    progress: &mut dyn FnMut(EvalProgress),
) -> Result<EvalReport> {
    let ks = normalized_ks(&options.ks)?;
    let namespaces = namespace_keys(&dataset.collections)?;
    progress(EvalProgress::Ready {
        memories: dataset.memory_count(),
        queries: dataset.query_count(),
        embedder: embedder.model_id().to_owned(),
        why: why.to_owned(),
    });
    let embedder_info =
        EmbedderInfo { model_id: embedder.model_id().to_owned(), dimension: embedder.dimension(), why: why.to_owned() };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::internal(format!("cannot start the runtime: {e}")).with_source(e))?;
    runtime.block_on(async {
        let engine = EvalEngine::open(embedder, &namespaces, options.index_dir.as_deref())?;
        let fusion = describe_fusion(&engine.engine().recall_fusion());

        let started = Instant::now();
        let stands_for = ingest(&engine, dataset, &namespaces, progress).await?;
        let ingest_s = started.elapsed().as_secs_f64();

        let limit = *ks.last().expect("normalized ks are never empty");
        let (outcomes, latencies_ms) = ask(&engine, dataset, &namespaces, &stands_for, limit, progress).await?;

        let mut categories: BTreeMap<&str, Vec<&QueryOutcome>> = BTreeMap::new();
        for (category, outcome) in &outcomes {
            categories.entry(category).or_default().push(outcome);
        }
        Ok(EvalReport {
            overall: Metrics::average(&ks, outcomes.iter().map(|(_, o)| o)),
            by_category: categories
                .into_iter()
                .map(|(category, list)| (category.to_owned(), Metrics::average(&ks, list)))
                .collect(),
            memories: dataset.memory_count(),
            queries: outcomes.len(),
            ingest_s,
            query_ms_p50: percentile(&latencies_ms, 50.0),
            query_ms_p95: percentile(&latencies_ms, 95.0),
            embedder: embedder_info,
            fusion,
            collections: dataset.collections.len(),
        })
    })
}

/// Remembers every collection's memories in its namespace and saves the index; returns, per
/// collection, which memories (by position) each stored memory stands for.
async fn ingest(
    engine: &EvalEngine,
    dataset: &Dataset,
    namespaces: &[NamespaceKey],
    progress: &mut dyn FnMut(EvalProgress),
) -> Result<Vec<HashMap<MemoryId, Vec<usize>>>> {
    progress(EvalProgress::Started { phase: EvalPhase::Ingest, total: dataset.memory_count() });
    let mut done = 0;
    let mut all = Vec::with_capacity(dataset.collections.len());
    for (collection, namespace) in dataset.collections.iter().zip(namespaces) {
        let stands_for = engine
            .remember(namespace, &collection.memories, &mut |n| {
                done += n;
                progress(EvalProgress::Advanced { phase: EvalPhase::Ingest, done });
            })
            .await?;
        all.push(stands_for);
    }
    // Counted in the ingest time: a process that writes ends with its index saved.
    engine.flush().await?;
    progress(EvalProgress::Finished { phase: EvalPhase::Ingest });
    Ok(all)
}

/// Asks every query of every collection with one recall; returns each query's category and
/// outcome, and each recall's latency in milliseconds.
async fn ask<'d>(
    engine: &EvalEngine,
    dataset: &'d Dataset,
    namespaces: &[NamespaceKey],
    stands_for: &[HashMap<MemoryId, Vec<usize>>],
    limit: usize,
    progress: &mut dyn FnMut(EvalProgress),
) -> Result<(Vec<(&'d str, QueryOutcome)>, Vec<f64>)> {
    progress(EvalProgress::Started { phase: EvalPhase::Query, total: dataset.query_count() });
    let mut outcomes = Vec::with_capacity(dataset.query_count());
    let mut latencies_ms = Vec::with_capacity(dataset.query_count());
    for ((collection, namespace), stands_for) in dataset.collections.iter().zip(namespaces).zip(stands_for) {
        // Right after the conversation, unless a query says when it is asked.
        let last_said = collection.memories.iter().map(created_at).max().unwrap_or(DEFAULT_TIMESTAMP);
        let positions: HashMap<&str, usize> =
            collection.memories.iter().enumerate().map(|(i, m)| (m.id.as_str(), i)).collect();
        for query in &collection.queries {
            let at_line = |e: Error| Error::new(e.kind(), format!("line {}: {}", query.line, e.message()));
            let started = Instant::now();
            let recalled = engine.recall(namespace, &query.text, limit, query.asked_at.unwrap_or(last_said)).await;
            latencies_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            let outcome = score(&recalled.map_err(at_line)?, stands_for, &positions, query).map_err(at_line)?;
            outcomes.push((query.category.as_deref().unwrap_or(UNCATEGORIZED), outcome));
            progress(EvalProgress::Advanced { phase: EvalPhase::Query, done: outcomes.len() });
        }
    }
    progress(EvalProgress::Finished { phase: EvalPhase::Query });
    Ok((outcomes, latencies_ms))
}

/// Where `query`'s relevant memories landed among the `recalled` ones (best first):
/// `stands_for` maps each stored memory of the collection to the dataset memories it holds
/// (by position), `positions` each dataset id to its position. A recalled memory the
/// collection does not hold is an internal error: the engine read outside the namespace it
/// was asked for, and scoring that as a plain miss would hide a leak.
fn score(
    recalled: &[MemoryId],
    stands_for: &HashMap<MemoryId, Vec<usize>>,
    positions: &HashMap<&str, usize>,
    query: &DatasetQuery,
) -> Result<QueryOutcome> {
    let mut rank_of: HashMap<usize, usize> = HashMap::new();
    for (i, id) in recalled.iter().enumerate() {
        let held = stands_for.get(id).ok_or_else(|| {
            Error::internal(format!(
                "the engine recalled memory {id} from outside the collection for query {:?}",
                query.id
            ))
        })?;
        for &position in held {
            rank_of.entry(position).or_insert(i + 1);
        }
    }
    let mut relevant_ranks: Vec<usize> =
        query.relevant.iter().filter_map(|r| rank_of.get(positions.get(r.as_str())?)).copied().collect();
    relevant_ranks.sort_unstable();
    Ok(QueryOutcome { relevant_ranks, relevant: query.relevant.len() })
}

/// `ks` sorted and deduplicated; an empty list or a k outside 1..=[`MAX_RECALL_LIMIT`] is
/// `InvalidInput`.
pub fn normalized_ks(ks: &[usize]) -> Result<Vec<usize>> {
    if ks.is_empty() {
        return Err(Error::invalid_input("give at least one k to measure recall@k at"));
    }
    if ks.contains(&0) {
        return Err(Error::invalid_input("k must be at least 1"));
    }
    if let Some(k) = ks.iter().find(|&&k| k > MAX_RECALL_LIMIT) {
        return Err(Error::invalid_input(format!("k is {k}; a recall returns at most {MAX_RECALL_LIMIT} memories")));
    }
    let mut ks = ks.to_vec();
    ks.sort_unstable();
    ks.dedup();
    Ok(ks)
}

/// One namespace key per collection, in order: the name itself when it is a valid key, else
/// `c-` + FNV-1a hex. Two collections that would share a key are an error.
pub fn namespace_keys(collections: &[Collection]) -> Result<Vec<NamespaceKey>> {
    let mut owners: HashMap<NamespaceKey, &str> = HashMap::new();
    let mut keys = Vec::with_capacity(collections.len());
    for c in collections {
        let key = match NamespaceKey::new(&c.name) {
            // NamespaceKey trims and normalizes, so " a" would silently join "a".
            Ok(key) if !owners.contains_key(&key) => key,
            _ => NamespaceKey::new(format!("c-{:08x}", fnv1a32(c.name.as_bytes())))
                .expect("c- and hex digits form a valid namespace key"),
        };
        if let Some(other) = owners.insert(key.clone(), &c.name) {
            return Err(Error::invalid_input(format!(
                "collections {other:?} and {:?} map to the same namespace {key}; rename one",
                c.name
            )));
        }
        keys.push(key);
    }
    Ok(keys)
}

/// The 32-bit FNV-1a hash.
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, &b| (hash ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// A short, stable description of a fusion for reports.
pub fn describe_fusion(fusion: &Fusion) -> String {
    match fusion {
        Fusion::Rrf { k } => format!("rrf(k={k})"),
        Fusion::Blend { text_weight } => format!("blend(text_weight={text_weight})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(name: &str) -> Collection {
        Collection { name: name.to_owned(), memories: Vec::new(), queries: Vec::new() }
    }

    #[test]
    fn valid_collection_names_are_namespace_keys_and_others_are_hashed() {
        let keys = namespace_keys(&[collection("team.alpha"), collection("garden shed"), collection("a/b")]).unwrap();
        assert_eq!(keys[0].as_str(), "team.alpha");
        assert_eq!(keys[1].as_str(), format!("c-{:08x}", fnv1a32(b"garden shed")));
        assert_eq!(keys[2].as_str(), format!("c-{:08x}", fnv1a32(b"a/b")));
        // Known FNV-1a vectors.
        assert_eq!(fnv1a32(b""), 0x811c_9dc5);
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
    }

    #[test]
    fn names_that_normalize_alike_get_distinct_namespaces() {
        let keys = namespace_keys(&[collection("a"), collection(" a")]).unwrap();
        assert_eq!(keys[0].as_str(), "a");
        assert!(keys[1].as_str().starts_with("c-"), "{}", keys[1]);
    }

    fn query(relevant: &[&str]) -> DatasetQuery {
        DatasetQuery {
            id: "q".to_owned(),
            text: "?".to_owned(),
            relevant: relevant.iter().map(|&r| r.to_owned()).collect(),
            category: None,
            asked_at: None,
            line: 9,
        }
    }

    #[test]
    fn recalled_memories_are_scored_by_the_dataset_memories_they_stand_for() {
        let (x, y, z) = (MemoryId::new_v7(), MemoryId::new_v7(), MemoryId::new_v7());
        // y holds two dataset memories (equal contents, deduplicated by the store).
        let stands_for = HashMap::from([(x, vec![0]), (y, vec![1, 2]), (z, vec![3])]);
        let positions = HashMap::from([("a", 0), ("b", 1), ("c", 2), ("d", 3)]);
        let outcome = score(&[z, y], &stands_for, &positions, &query(&["b", "c", "a"])).unwrap();
        assert_eq!(outcome, QueryOutcome { relevant_ranks: vec![2, 2], relevant: 3 });
        assert_eq!(score(&[], &stands_for, &positions, &query(&["a"])).unwrap().relevant_ranks, Vec::<usize>::new());
    }

    #[test]
    fn a_recalled_memory_from_outside_the_collection_is_an_internal_error() {
        let stands_for = HashMap::from([(MemoryId::new_v7(), vec![0])]);
        let positions = HashMap::from([("a", 0)]);
        let e = score(&[MemoryId::new_v7()], &stands_for, &positions, &query(&["a"])).unwrap_err();
        assert_eq!(e.kind(), memory_core::ErrorKind::Internal);
        assert!(e.message().contains("from outside the collection for query \"q\""), "{e}");
    }

    #[test]
    fn ks_are_sorted_deduplicated_and_checked() {
        assert_eq!(normalized_ks(&[10, 5, 10]).unwrap(), vec![5, 10]);
        assert!(normalized_ks(&[]).is_err());
        assert!(normalized_ks(&[5, 0]).is_err());
        assert_eq!(normalized_ks(&[MAX_RECALL_LIMIT]).unwrap(), vec![MAX_RECALL_LIMIT]);
        let e = normalized_ks(&[5, MAX_RECALL_LIMIT + 1]).unwrap_err();
        assert!(e.message().contains("at most 1000"), "{e}");
    }
}
