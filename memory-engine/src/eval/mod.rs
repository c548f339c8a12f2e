//! The retrieval evaluation harness behind `memory eval`: ingests a labelled dataset of
//! conversations into a fresh index, asks its queries, and reports recall@k, hit@k, MRR and
//! latency, overall and per query category.
//!
//! How a dataset ([`Dataset`], JSON lines) is run:
//! - Each collection is ingested into a namespace of its own (the collection name when it is a
//!   valid namespace key, else `c-` + 8 hex digits of its 32-bit FNV-1a hash), so a query only
//!   ever competes with its own collection's memories, as a scoped recall would.
//! - A memory's indexed content is `"Speaker: text"` when the dataset names a speaker, else its
//!   text. Memories are episodic events of category `event`; a missing timestamp becomes
//!   [`DEFAULT_TIMESTAMP`]. Texts are embedded and upserted in batches of [`INGEST_BATCH`].
//! - Memory ids are deterministic UUIDv7s (a fixed time and a counter), so two runs build the
//!   same index; a map leads back to the dataset's ids.
//! - Each query is embedded and searched on its collection's namespace alone, with
//!   `limit` = the largest k; its latency is the embedding plus the search.
//!
//! The index is the real one ([`crate::index`]), in memory unless a folder is given, so the
//! numbers measure what recall will do rather than a model of it.

mod dataset;
mod metrics;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use memory_core::{Category, Error, Layer, MemoryId, NamespaceKey, Result, Timestamp};
use memory_embed::{Embedder, EmbedderSpec};
use memory_index::{Fusion, IndexDoc, IndexOptions, MemoryIndex, SearchQuery};
use serde::Serialize;

pub use dataset::{Collection, Dataset, DatasetMemory, DatasetQuery};
pub use metrics::{Metrics, QueryOutcome, percentile};

/// Memories embedded and upserted per call: large enough to amortize per-call model overhead,
/// small enough that progress moves often.
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
    /// The cut-offs for recall@k and hit@k; sorted and deduplicated before use, each >= 1.
    pub ks: Vec<usize>,
    /// The embedder to build.
    pub embedder: EmbedderSpec,
    /// How full-text and vector rankings are fused.
    pub fusion: Fusion,
    /// Where to build the index; `None` keeps it in memory. An existing index there is
    /// discarded first, since leftovers would distort the scores.
    pub index_dir: Option<PathBuf>,
}

/// The two timed phases of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalPhase {
    /// Embedding and indexing the memories.
    Ingest,
    /// Embedding and searching the queries.
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
    /// Memories ingested.
    pub memories: usize,
    /// Queries asked.
    pub queries: usize,
    /// Wall time of embedding and indexing every memory, in seconds.
    pub ingest_s: f64,
    /// Median query latency (embedding plus search), in milliseconds.
    pub query_ms_p50: f64,
    /// 95th-percentile query latency, in milliseconds.
    pub query_ms_p95: f64,
    /// The embedder that ran.
    pub embedder: EmbedderInfo,
    /// The fusion that ran, e.g. `rrf(k=60)` or `blend(text_weight=0.5)`.
    pub fusion: String,
    /// Collections (namespaces) in the dataset.
    pub collections: usize,
}

/// Reads the dataset at `path`, builds the embedder of `options`, and evaluates.
///
/// Errors: an unreadable or invalid dataset or bad ks are `InvalidInput` (naming the line); an
/// embedder that cannot be built or called, or an index failure, keeps its own kind.
pub fn run(path: &Path, options: &EvalOptions, progress: &mut dyn FnMut(EvalProgress)) -> Result<EvalReport> {
    // Checked first so a bad --k fails before a model is loaded.
    normalized_ks(&options.ks)?;
    let dataset = Dataset::load(path)?;
    let (embedder, why) = memory_embed::build(&options.embedder)?;
    evaluate(&dataset, embedder.as_ref(), &why, options, progress)
}

/// Evaluates a parsed `dataset` with a ready `embedder` (`why` says why it was chosen); the
/// embedder spec in `options` is not used.
pub fn evaluate(
    dataset: &Dataset,
    embedder: &dyn Embedder,
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

    let mut index_options = IndexOptions::new(options.index_dir.clone(), embedder.dimension(), embedder.model_id());
    index_options.recreate = true;
    let index = MemoryIndex::open(index_options)?;

    let started = Instant::now();
    let ids = ingest(dataset, &namespaces, embedder, &index, progress)?;
    let ingest_s = started.elapsed().as_secs_f64();

    let limit = *ks.last().expect("normalized ks are never empty");
    progress(EvalProgress::Started { phase: EvalPhase::Query, total: dataset.query_count() });
    let mut outcomes: Vec<(&str, QueryOutcome)> = Vec::with_capacity(dataset.query_count());
    let mut latencies_ms = Vec::with_capacity(dataset.query_count());
    for (collection, (namespace, ids)) in dataset.collections.iter().zip(namespaces.iter().zip(&ids)) {
        for query in &collection.queries {
            let started = Instant::now();
            let vector = embed_one(embedder, &query.text)?;
            let results = index.search(&SearchQuery {
                text: query.text.clone(),
                vector: Some(vector),
                namespaces: vec![namespace.clone()],
                limit,
                fusion: options.fusion,
                ..SearchQuery::default()
            })?;
            latencies_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            let ranked = results
                .hits
                .iter()
                .take(limit)
                .map(|hit| {
                    // A hit from another namespace would be a leak in the index's namespace
                    // filter: fail loudly rather than score it as a plain miss.
                    ids.get(&hit.id).map(|&i| collection.memories[i].id.as_str()).ok_or_else(|| {
                        Error::internal(format!(
                            "the index returned memory {} from outside namespace {namespace} for query {:?}",
                            hit.id, query.id
                        ))
                    })
                })
                .collect::<Result<Vec<&str>>>()?;
            let relevant: Vec<&str> = query.relevant.iter().map(String::as_str).collect();
            let category = query.category.as_deref().unwrap_or(UNCATEGORIZED);
            outcomes.push((category, QueryOutcome::from_ranking(&ranked, &relevant)));
            progress(EvalProgress::Advanced { phase: EvalPhase::Query, done: outcomes.len() });
        }
    }
    progress(EvalProgress::Finished { phase: EvalPhase::Query });

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
        embedder: EmbedderInfo {
            model_id: embedder.model_id().to_owned(),
            dimension: embedder.dimension(),
            why: why.to_owned(),
        },
        fusion: describe_fusion(&options.fusion),
        collections: dataset.collections.len(),
    })
}

/// Embeds and indexes every memory; returns, per collection, the map from index id to the
/// memory's position in the collection.
fn ingest(
    dataset: &Dataset,
    namespaces: &[NamespaceKey],
    embedder: &dyn Embedder,
    index: &MemoryIndex,
    progress: &mut dyn FnMut(EvalProgress),
) -> Result<Vec<HashMap<MemoryId, usize>>> {
    progress(EvalProgress::Started { phase: EvalPhase::Ingest, total: dataset.memory_count() });
    let mut all_ids = Vec::with_capacity(dataset.collections.len());
    let mut counter = 0_u64;
    let mut done = 0;
    for (collection, namespace) in dataset.collections.iter().zip(namespaces) {
        let mut ids = HashMap::with_capacity(collection.memories.len());
        for (batch_no, batch) in collection.memories.chunks(INGEST_BATCH).enumerate() {
            let contents: Vec<String> = batch.iter().map(DatasetMemory::indexed_content).collect();
            let texts: Vec<&str> = contents.iter().map(String::as_str).collect();
            let vectors = embedder.embed(&texts)?;
            if vectors.len() != texts.len() {
                return Err(Error::internal(format!(
                    "embedder {} returned {} vectors for {} texts",
                    embedder.model_id(),
                    vectors.len(),
                    texts.len()
                )));
            }
            let mut docs = Vec::with_capacity(batch.len());
            for (offset, ((memory, content), vector)) in batch.iter().zip(contents).zip(vectors).enumerate() {
                counter += 1;
                let id = memory_id(counter);
                ids.insert(id, batch_no * INGEST_BATCH + offset);
                docs.push(IndexDoc {
                    id,
                    namespace: namespace.clone(),
                    layer: Layer::Episodic,
                    category: Category::event(),
                    created_at: memory.timestamp.unwrap_or(DEFAULT_TIMESTAMP),
                    content,
                    expires_at: None,
                    metadata: Default::default(),
                    vector: Some(vector),
                });
            }
            index.upsert(docs)?;
            done += batch.len();
            progress(EvalProgress::Advanced { phase: EvalPhase::Ingest, done });
        }
        all_ids.push(ids);
    }
    // Counted in the ingest time: a real ingest ends with the index durable, not just visible.
    index.flush()?;
    progress(EvalProgress::Finished { phase: EvalPhase::Ingest });
    Ok(all_ids)
}

/// The single vector of `text`.
fn embed_one(embedder: &dyn Embedder, text: &str) -> Result<Vec<f32>> {
    embedder
        .embed(&[text])?
        .pop()
        .ok_or_else(|| Error::internal(format!("embedder {} returned no vector for a query", embedder.model_id())))
}

/// `ks` sorted and deduplicated; an empty list or a zero is `InvalidInput`.
pub fn normalized_ks(ks: &[usize]) -> Result<Vec<usize>> {
    if ks.is_empty() {
        return Err(Error::invalid_input("give at least one k to measure recall@k at"));
    }
    if ks.contains(&0) {
        return Err(Error::invalid_input("k must be at least 1"));
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

/// Milliseconds since the Unix epoch in every generated id (2026-01-01T00:00:00Z).
const ID_EPOCH_MS: u64 = 1_767_225_600_000;

/// The `n`th generated memory id: a UUIDv7 with a fixed time and `n` in its random bits, so
/// ids are unique within a run, sort in ingest order and repeat across runs.
fn memory_id(n: u64) -> MemoryId {
    let mut bits = [0_u8; 10];
    bits[2..].copy_from_slice(&n.to_be_bytes());
    MemoryId::from_uuid(uuid::Builder::from_unix_timestamp_millis(ID_EPOCH_MS, &bits).into_uuid())
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

    #[test]
    fn generated_ids_are_uuid_v7_unique_and_ordered() {
        let ids: Vec<MemoryId> = (1..=1000).map(memory_id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(ids[0].as_uuid().get_version_num(), 7);
        assert_eq!(memory_id(42), memory_id(42));
    }

    #[test]
    fn ks_are_sorted_deduplicated_and_checked() {
        assert_eq!(normalized_ks(&[10, 5, 10]).unwrap(), vec![5, 10]);
        assert!(normalized_ks(&[]).is_err());
        assert!(normalized_ks(&[5, 0]).is_err());
    }
}
