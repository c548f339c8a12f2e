//! How an index is opened: where it lives, which embedding space it holds, and the tuning knobs.

use std::path::PathBuf;
use std::time::Duration;

/// Namespace size (live vectors) at which a namespace gets an HNSW graph, by default.
///
/// Measured by `cargo xtask bench index` (the "crossover" table) on clustered 384-d vectors on a
/// 2-core machine, 50 candidates: an exact scan costs about 0.067 us per vector (8,000 vectors:
/// 0.53 ms p50, 12,000: 0.80 ms, 16,000: 1.08 ms) while an HNSW search at ef 100 costs
/// 0.52-0.76 ms between 8,000 and 16,000 vectors. The curves cross between 8,000 and 12,000;
/// below that the scan is as fast and exact, and a graph would only add build time (2,000-4,000
/// inserts/s) and a second copy of the vectors.
pub const DEFAULT_EXACT_THRESHOLD: usize = 10_000;

/// The hnsw_rs graph parameters used once a namespace outgrows exact scans.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HnswParams {
    /// Neighbours kept per node and layer (`M`). hnsw_rs exits the process above 256, so
    /// [`crate::MemoryIndex::open`] rejects larger values.
    pub max_connections: usize,
    /// Candidate list size while inserting.
    pub ef_construction: usize,
    /// Smallest candidate list size while searching; a search for `k` candidates uses at least `2k`.
    pub ef_search: usize,
}

impl Default for HnswParams {
    fn default() -> Self {
        HnswParams { max_connections: 16, ef_construction: 200, ef_search: 64 }
    }
}

/// Options of [`crate::MemoryIndex::open`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// Where the index lives; `None` keeps everything in memory and persists nothing.
    pub dir: Option<PathBuf>,
    /// Length of every vector; 0 for a text-only index.
    pub dimension: usize,
    /// Identifies the embedding model; an index built by another model cannot be reused.
    pub model_id: String,
    /// Live vectors at which a namespace switches from exact scans to an HNSW graph.
    pub exact_threshold: usize,
    /// Graph parameters for namespaces past `exact_threshold`.
    pub hnsw: HnswParams,
    /// The identity of the store the index is derived from (`Store::store_id`), recorded by
    /// every checkpoint: a directory holding another store's index is discarded on open.
    pub store_id: Option<String>,
    /// How long opening waits for a checkpoint of another process to finish (then the view
    /// starts empty instead), and how long [`crate::MemoryIndex::flush`] waits for the lock.
    pub lock_wait: Duration,
    /// Drop English stop words from content and queries (the default). Persisted: an index built
    /// with the other setting must be rebuilt.
    pub remove_stop_words: bool,
    /// Ignore whatever index exists under `dir` and start empty (for `memory reindex`, also
    /// when the existing one was built by another model); the first checkpoint replaces it.
    pub recreate: bool,
}

impl IndexOptions {
    /// Options with the measured defaults.
    pub fn new(dir: Option<PathBuf>, dimension: usize, model_id: impl Into<String>) -> Self {
        IndexOptions {
            dir,
            dimension,
            model_id: model_id.into(),
            exact_threshold: DEFAULT_EXACT_THRESHOLD,
            hnsw: HnswParams::default(),
            store_id: None,
            lock_wait: Duration::from_secs(30),
            remove_stop_words: true,
            recreate: false,
        }
    }
}
