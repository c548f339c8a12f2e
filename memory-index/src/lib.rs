//! Derived retrieval state (SPEC 5): tantivy BM25 full text plus per-namespace vector structures
//! (exact scan while small, hnsw_rs once large), fused by RRF or a normalized blend.
//!
//! The index is rebuildable from the store at any time and never reads it: documents, vectors
//! and filters arrive as data. It knows nothing of policies or embedders either; the caller
//! resolves the read set and embeds. [`MemoryIndex::applied_seq`] is the store change sequence
//! the index has absorbed, so a caller can replay what a crash lost.
//!
//! Visibility contract: a search through a `MemoryIndex` sees every upsert and delete that
//! returned before it started; other readers of the directory see them within
//! [`IndexOptions::commit_delay`]; [`MemoryIndex::flush`] makes everything durable.

mod deferred_sync;
mod fusion;
mod options;
mod persist;
mod query;
mod terms;
mod text;
mod vector;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use memory_core::{Error, MemoryId, NamespaceKey, Result};

pub use options::{DEFAULT_EXACT_THRESHOLD, HnswParams, IndexOptions};
pub use query::{Fusion, Hit, IndexDoc, SearchQuery, SearchResults, SearchStats};

use persist::Meta;
use text::TextIndex;
use vector::{VectorDoc, VectorIndex};

/// Candidates each retriever hands to fusion: `max(limit * 4, 50)`.
fn candidates_for(limit: usize) -> usize {
    limit.saturating_mul(4).max(50)
}

/// Largest accepted vector dimension (a guard against a misconfigured embedder, not a real limit).
const MAX_DIMENSION: usize = 1 << 16;

/// The retrieval index of one tenant: full text and vectors over all its namespaces.
///
/// `Send + Sync`; every method takes `&self`. Searches run concurrently with each other; writes
/// are serialized and block searches only while the vector side is updated.
pub struct MemoryIndex {
    inner: Arc<Inner>,
    committer: Option<Committer>,
}

struct Inner {
    dir: Option<PathBuf>,
    model_id: String,
    dimension: usize,
    analyzer: &'static str,
    exact_threshold: usize,
    hnsw: HnswParams,
    commit_delay: Duration,
    text: TextIndex,
    vectors: RwLock<VectorIndex>,
    /// Serializes writers so the text and vector sides apply batches in the same order.
    write_lock: Mutex<()>,
    flush_lock: Mutex<()>,
    applied_seq: AtomicU64,
    /// Bumped by every vector-side change; compared with `saved_version` to skip rewriting an
    /// unchanged vectors file.
    version: AtomicU64,
    saved_version: AtomicU64,
    exact_scans: AtomicU64,
    hnsw_searches: AtomicU64,
    /// Graph builds running in the background, and the signal that one finished.
    graph_builds: (Mutex<usize>, Condvar),
}

impl Inner {
    /// Runs `jobs` on background threads: an HNSW build takes seconds to minutes, and holding
    /// the vector lock meanwhile would stall every write and search of the index.
    fn start_graph_builds(self: &Arc<Self>, jobs: Vec<vector::GraphJob>) {
        for job in jobs {
            *self.graph_builds.0.lock().expect("graph builds") += 1;
            let weak = Arc::downgrade(self);
            let params = self.hnsw.clone();
            let spawned = std::thread::Builder::new().name("memory-index-graph".into()).spawn(move || {
                let graph = job.build(&params);
                // The index may have been dropped meanwhile; then the graph is simply discarded.
                if let Some(inner) = weak.upgrade() {
                    let more = {
                        let mut v = inner.vectors.write().expect("vector lock");
                        if v.install_graph(&job, graph) {
                            inner.version.fetch_add(1, Ordering::SeqCst);
                        }
                        v.take_graph_jobs()
                    };
                    inner.start_graph_builds(more);
                    inner.graph_build_done();
                }
            });
            if spawned.is_err() {
                // No thread to be had: searches keep scanning exactly, which is correct.
                self.graph_build_done();
            }
        }
    }

    fn graph_build_done(&self) {
        let (count, done) = &self.graph_builds;
        let mut n = count.lock().expect("graph builds");
        *n = n.saturating_sub(1);
        done.notify_all();
    }
}

impl std::fmt::Debug for MemoryIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryIndex")
            .field("dir", &self.inner.dir)
            .field("model_id", &self.inner.model_id)
            .field("dimension", &self.inner.dimension)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The background thread that commits text writes older than `commit_delay`.
struct Committer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    fn spawn(inner: Weak<Inner>, delay: Duration) -> Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        // Checking every half delay and committing writes at least half a delay old keeps the
        // write-to-visible time under one delay without committing every tiny batch at once.
        let tick = (delay / 2).max(Duration::from_millis(5));
        let thread = std::thread::Builder::new()
            .name("memory-index-commit".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    let Some(inner) = inner.upgrade() else { return };
                    if inner.text.dirty_since().is_some_and(|t| t.elapsed() >= tick) {
                        // A failure here resurfaces on the next search or flush, which commit too.
                        let _ = inner.text.commit();
                    }
                }
            })
            .map_err(|e| Error::unavailable(format!("cannot start the index commit thread: {e}")).with_source(e))?;
        Ok(Committer { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for MemoryIndex {
    fn drop(&mut self) {
        // Stop and join the committer first: it may hold the last other reference to `Inner`,
        // and the tantivy writer (with its directory lock) must be gone when `drop` returns, so
        // the same directory can be reopened at once.
        if let Some(c) = self.committer.as_mut() {
            c.stop.take();
            if let Some(t) = c.thread.take() {
                let _ = t.join();
            }
        }
    }
}

fn mismatch(built_model: &str, built_dim: usize, model: &str, dim: usize) -> Error {
    Error::invalid_input(format!(
        "index was built with model {built_model} (dim {built_dim}); this embedder is {model} (dim {dim}): run `memory reindex`"
    ))
}

impl MemoryIndex {
    /// Opens the index in `options.dir` (creating it if missing), or an empty in-memory index.
    ///
    /// An index built by another model or dimension, or with another analyzer, is an
    /// `InvalidInput` error asking for a reindex; a damaged one is an error too, never a panic.
    pub fn open(options: IndexOptions) -> Result<MemoryIndex> {
        let o = options;
        if !(2..=256).contains(&o.hnsw.max_connections) {
            return Err(Error::invalid_input(format!(
                "hnsw max_connections is {}; it must be between 2 and 256",
                o.hnsw.max_connections
            )));
        }
        if o.hnsw.ef_construction == 0 || o.dimension > MAX_DIMENSION {
            return Err(Error::invalid_input("hnsw ef_construction must be positive and dimension at most 65536"));
        }
        let analyzer = text::analyzer_name(o.remove_stop_words);
        let empty = || VectorIndex::new(o.dimension, o.exact_threshold, o.hnsw.clone());

        let (text, vectors, applied_seq, saved) = match &o.dir {
            None => (TextIndex::open(None, o.remove_stop_words)?, empty(), 0, None),
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::unavailable(format!("cannot create index directory {}: {e}", dir.display())).with_source(e)
                })?;
                if o.recreate {
                    persist::remove_index_files(dir)?;
                }
                let meta = match persist::read_meta(dir)? {
                    Some(m) => {
                        if m.format_version != persist::FORMAT_VERSION {
                            return Err(Error::invalid_input(format!(
                                "index in {} has format version {}; this build reads {}: run `memory reindex`",
                                dir.display(),
                                m.format_version,
                                persist::FORMAT_VERSION
                            )));
                        }
                        if m.model_id != o.model_id || m.dimension != o.dimension {
                            return Err(mismatch(&m.model_id, m.dimension, &o.model_id, o.dimension));
                        }
                        if m.analyzer != analyzer {
                            return Err(Error::invalid_input(format!(
                                "index was built with text analyzer {}; these options use {analyzer}: run `memory reindex`",
                                m.analyzer
                            )));
                        }
                        if !dir.join(persist::TEXT_DIR).join("meta.json").is_file() {
                            return Err(persist::corrupt(&dir.join(persist::TEXT_DIR), "the text index is missing"));
                        }
                        m
                    }
                    None => {
                        for leftover in [persist::TEXT_DIR, persist::VECTORS_FILE] {
                            if dir.join(leftover).exists() {
                                return Err(persist::corrupt(&dir.join(persist::META_FILE), "the file is missing"));
                            }
                        }
                        let m = Meta {
                            format_version: persist::FORMAT_VERSION,
                            model_id: o.model_id.clone(),
                            dimension: o.dimension,
                            analyzer: analyzer.to_owned(),
                            applied_seq: 0,
                            vectors: false,
                        };
                        // Written before anything else, so an index directory always says what built it.
                        persist::write_meta(dir, &m)?;
                        m
                    }
                };
                let text = TextIndex::open(Some(&dir.join(persist::TEXT_DIR)), o.remove_stop_words)?;
                let vectors = if meta.vectors { persist::read_vectors(dir, &o.model_id, empty())? } else { empty() };
                (text, vectors, meta.applied_seq, meta.vectors.then_some(0))
            }
        };

        let inner = Arc::new(Inner {
            dir: o.dir.clone(),
            model_id: o.model_id.clone(),
            dimension: o.dimension,
            analyzer,
            exact_threshold: o.exact_threshold,
            hnsw: o.hnsw.clone(),
            commit_delay: o.commit_delay,
            text,
            vectors: RwLock::new(vectors),
            write_lock: Mutex::new(()),
            flush_lock: Mutex::new(()),
            applied_seq: AtomicU64::new(applied_seq),
            version: AtomicU64::new(0),
            saved_version: AtomicU64::new(saved.unwrap_or(u64::MAX)),
            exact_scans: AtomicU64::new(0),
            hnsw_searches: AtomicU64::new(0),
            graph_builds: (Mutex::new(0), Condvar::new()),
        });
        let committer = if o.commit_delay.is_zero() {
            None
        } else {
            Some(Committer::spawn(Arc::downgrade(&inner), o.commit_delay)?)
        };
        Ok(MemoryIndex { inner, committer })
    }

    /// Checks and L2-normalizes a vector; a zero vector has no direction and counts as none.
    fn prepare_vector(&self, what: &dyn std::fmt::Display, v: &[f32]) -> Result<Option<Vec<f32>>> {
        let dim = self.inner.dimension;
        if v.len() != dim {
            return Err(Error::invalid_input(format!(
                "{what} has {} dimensions; the index holds {dim}-dimensional vectors of model {}",
                v.len(),
                self.inner.model_id
            )));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid_input(format!("{what} contains a NaN or infinite value")));
        }
        let mut v = v.to_vec();
        Ok(vector::scan::normalize(&mut v).then_some(v))
    }

    /// Inserts or replaces documents by id. A document whose namespace changed leaves its old
    /// namespace. Visible to searches through this index when this returns.
    pub fn upsert(&self, docs: Vec<IndexDoc>) -> Result<()> {
        if docs.is_empty() {
            return Ok(());
        }
        let mut vectors = Vec::with_capacity(docs.len());
        for d in &docs {
            vectors.push(match &d.vector {
                Some(v) => self.prepare_vector(&format_args!("the vector of memory {}", d.id), v)?,
                None => None,
            });
        }
        let _writer = self.inner.write_lock.lock().expect("write lock");
        self.inner.text.upsert(&docs)?;
        {
            let vdocs: Vec<VectorDoc<'_>> = docs
                .iter()
                .zip(&vectors)
                .map(|(d, v)| VectorDoc {
                    id: d.id,
                    namespace: &d.namespace,
                    layer: d.layer,
                    category: &d.category,
                    created: d.created_at.as_micros(),
                    expires: terms::expiry_micros(d.expires_at),
                    metadata: &d.metadata,
                    vector: v.as_deref(),
                })
                .collect();
            self.change_vectors(|v| v.upsert(&vdocs));
        }
        self.commit_if_immediate()
    }

    /// Applies one change to the vector side, then starts the graph builds it asked for.
    fn change_vectors(&self, change: impl FnOnce(&mut VectorIndex)) {
        let jobs = {
            let mut v = self.inner.vectors.write().expect("vector lock");
            change(&mut v);
            v.take_graph_jobs()
        };
        self.inner.start_graph_builds(jobs);
        self.inner.version.fetch_add(1, Ordering::SeqCst);
    }

    /// With `commit_delay` zero, every write is committed before it returns.
    fn commit_if_immediate(&self) -> Result<()> {
        if self.inner.commit_delay.is_zero() {
            self.inner.text.commit()?;
        }
        Ok(())
    }

    /// Removes documents by id; unknown ids are ignored.
    pub fn delete(&self, ids: &[MemoryId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let _writer = self.inner.write_lock.lock().expect("write lock");
        self.inner.text.delete(ids);
        self.change_vectors(|v| v.delete(ids));
        self.commit_if_immediate()
    }

    /// The best `limit` memories of the query's namespaces by fused BM25 and vector similarity.
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResults> {
        let query_vector = match &q.vector {
            Some(v) if self.inner.dimension > 0 || !v.is_empty() => self.prepare_vector(&"the query vector", v)?,
            _ => None,
        };
        if q.limit == 0 || q.namespaces.is_empty() {
            return Ok(SearchResults::default());
        }
        let n = candidates_for(q.limit);
        let mut stats = SearchStats::default();

        let text_hits = if q.text.trim().is_empty() {
            Vec::new()
        } else {
            // Read-your-writes: uncommitted text writes are committed before the text side runs.
            self.inner.text.commit()?;
            self.inner.text.search(q, n)?
        };

        let v = self.inner.vectors.read().expect("vector lock");
        let allowed: HashSet<u32> = q.namespaces.iter().filter_map(|ns| v.part_of.get(ns).copied()).collect();
        // The text filter already holds the namespaces; checking again against the catalog also
        // drops documents whose text is newer or older than the catalog (a crash before flush,
        // a move racing this search), so no hit ever crosses namespaces.
        // Fusion needs each id once per list. Every text add deletes the id first, so this only
        // guards against whatever a damaged or foreign text index might hold.
        let mut seen = HashSet::with_capacity(text_hits.len());
        let text_hits: Vec<fusion::Candidate> = text_hits
            .into_iter()
            .filter(|c| v.namespace_of(&c.id).is_some_and(|(p, _)| allowed.contains(&p)) && seen.insert(c.id))
            .collect();
        let vector_hits = match &query_vector {
            Some(qv) => v.search(qv, q, n, &mut stats),
            None => Vec::new(),
        };
        stats.text_candidates = text_hits.len();
        stats.vector_candidates = vector_hits.len();

        let hits = fusion::fuse(&text_hits, &vector_hits, q.fusion, q.limit)
            .into_iter()
            .filter_map(|f| {
                let (_, ns) = v.namespace_of(&f.id)?;
                Some(Hit {
                    id: f.id,
                    namespace: ns.clone(),
                    score: f.score,
                    text_score: f.text.map(|t| t.0),
                    text_rank: f.text.map(|t| t.1),
                    vector_score: f.vector.map(|t| t.0),
                    vector_rank: f.vector.map(|t| t.1),
                })
            })
            .collect();
        drop(v);
        self.inner.exact_scans.fetch_add(stats.exact_scans, Ordering::Relaxed);
        self.inner.hnsw_searches.fetch_add(stats.hnsw_searches, Ordering::Relaxed);
        Ok(SearchResults { hits, stats })
    }

    /// Blocks until every background graph build has finished (and been installed). Searches
    /// never need this: until a graph is installed its namespace is scanned exactly.
    pub fn wait_for_graphs(&self) {
        let (count, done) = &self.inner.graph_builds;
        let mut n = count.lock().expect("graph builds");
        while *n > 0 {
            n = done.wait(n).expect("graph builds");
        }
    }

    /// Persists everything: commits the text index, writes changed graphs and the vectors file,
    /// then `meta.json` with the applied sequence. A no-op beyond the commit for in-memory indexes.
    pub fn flush(&self) -> Result<()> {
        // A flush persists finished graphs, never a half-built state.
        self.wait_for_graphs();
        let _flush = self.inner.flush_lock.lock().expect("flush lock");
        self.inner.text.make_durable()?;
        let Some(dir) = &self.inner.dir else { return Ok(()) };
        {
            // A read lock: searches go on while the files are written; writers wait.
            let v = self.inner.vectors.read().expect("vector lock");
            let version = self.inner.version.load(Ordering::SeqCst);
            if version != self.inner.saved_version.load(Ordering::SeqCst) {
                let keep = persist::write_vectors(dir, &self.inner.model_id, &v)?;
                persist::remove_stale_graphs(dir, &keep);
                self.inner.saved_version.store(version, Ordering::SeqCst);
            }
        }
        persist::write_meta(
            dir,
            &Meta {
                format_version: persist::FORMAT_VERSION,
                model_id: self.inner.model_id.clone(),
                dimension: self.inner.dimension,
                analyzer: self.inner.analyzer.to_owned(),
                applied_seq: self.inner.applied_seq.load(Ordering::SeqCst),
                vectors: true,
            },
        )
    }

    /// The store change sequence this index has absorbed (as of the last `set_applied_seq`).
    pub fn applied_seq(&self) -> u64 {
        self.inner.applied_seq.load(Ordering::SeqCst)
    }

    /// Records the store change sequence the index now reflects; persisted by the next flush.
    pub fn set_applied_seq(&self, seq: u64) -> Result<()> {
        self.inner.applied_seq.store(seq, Ordering::SeqCst);
        Ok(())
    }

    /// Empties the index (text, vectors, graphs) and resets the applied sequence, for a reindex.
    /// The next flush makes the empty state durable.
    pub fn clear(&self) -> Result<()> {
        let _writer = self.inner.write_lock.lock().expect("write lock");
        self.inner.text.clear()?;
        self.inner.text.commit()?;
        *self.inner.vectors.write().expect("vector lock") =
            VectorIndex::new(self.inner.dimension, self.inner.exact_threshold, self.inner.hnsw.clone());
        self.inner.version.fetch_add(1, Ordering::SeqCst);
        self.inner.applied_seq.store(0, Ordering::SeqCst);
        Ok(())
    }

    /// Memories in the index.
    pub fn len(&self) -> usize {
        self.inner.vectors.read().expect("vector lock").len()
    }

    /// Whether the index holds no memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Memories in one namespace.
    pub fn namespace_len(&self, ns: &NamespaceKey) -> usize {
        self.inner.vectors.read().expect("vector lock").namespace_len(ns)
    }

    /// Exact scans and HNSW searches since open (the candidate counts are zero), so tests can
    /// prove which path ran.
    pub fn counters(&self) -> SearchStats {
        SearchStats {
            exact_scans: self.inner.exact_scans.load(Ordering::Relaxed),
            hnsw_searches: self.inner.hnsw_searches.load(Ordering::Relaxed),
            text_candidates: 0,
            vector_candidates: 0,
        }
    }
}
