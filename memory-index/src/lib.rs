//! Derived retrieval state (SPEC 5): tantivy BM25 full text plus per-namespace vector structures
//! (exact scan while small, hnsw_rs once large), fused by RRF or a normalized blend.
//!
//! The index is rebuildable from the store at any time and never reads it: documents, vectors
//! and filters arrive as data. It knows nothing of policies or embedders either; the caller
//! resolves the read set and embeds. [`MemoryIndex::applied_seq`] is the store change sequence
//! the index has absorbed, so a caller can replay what it has not seen.
//!
//! # Many processes, one directory
//! A `MemoryIndex` is this process's view: the directory's last **checkpoint** (loaded under a
//! shared [`DirLock`], read-only) plus everything applied since, in memory. Writes never touch
//! the directory; [`MemoryIndex::checkpoint`] saves the view under the exclusive lock, by
//! whichever process gets it, and a process that finds the lock taken simply carries on: the
//! store is the truth, and the next process replays whatever no checkpoint saved. So readers
//! never fail because another process has the index open, and writers never wait for it.
//!
//! # Crashes
//! A checkpoint writes the text index, then `vectors.bin`, then `meta.json` (atomically) with
//! the store sequence they reflect; each part is at least as new as `meta.json` says, and
//! replaying changes is idempotent, so a crash at any point leaves an index that opens. An
//! index that cannot be used (damaged, truncated, another format or another store's) is
//! discarded on open with the reason in [`MemoryIndex::opened`], and rebuilt by the caller's
//! replay; only another embedding model is an error (SPEC 5: it asks for `memory reindex`).
//!
//! Visibility contract: a search through a `MemoryIndex` sees every upsert and delete that
//! returned before it started; other processes see them once a checkpoint saved them, or by
//! replaying them from the store themselves.

mod deferred_sync;
mod fresh;
mod fusion;
mod lock;
mod options;
mod persist;
mod query;
mod terms;
mod text;
mod vector;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use memory_core::{Error, MemoryId, NamespaceKey, Result};

pub use lock::DirLock;
pub use options::{DEFAULT_EXACT_THRESHOLD, HnswParams, IndexOptions};
pub use query::{Fusion, Hit, IndexDoc, SearchQuery, SearchResults, SearchStats};

use persist::Meta;
use text::{BaseText, Combined, TextIndex, TextSchema};
use vector::{VectorDoc, VectorIndex};

/// Candidates each retriever hands to fusion: `max(limit * 2, 50)`. A memory below that depth
/// in one list needs a good rank in the other to make the fused `limit` (reciprocal ranks add
/// up), and deeper lists cost every recall a longer scan and re-score.
fn candidates_for(limit: usize) -> usize {
    limit.saturating_mul(2).max(50)
}

/// The top `n` of `query` in `snapshot` without the `stale` ids (`stale_count` of them at most):
/// asks for a little more than `n` (most queries touch few stale ids), and again for more when
/// stale ids took too many places, up to every stale id.
fn search_excluding(
    snapshot: &text::Snapshot,
    query: &dyn tantivy::query::Query,
    n: usize,
    stats: &Combined<'_>,
    stale_count: usize,
    stale: impl Fn(&MemoryId) -> bool,
) -> Result<Vec<fusion::Candidate>> {
    let most = n + stale_count;
    let mut want = n + stale_count.min(n.saturating_mul(4));
    loop {
        let got = snapshot.search(query, want, stats)?;
        let full = got.len() == want;
        let fresh: Vec<_> = got.into_iter().filter(|c| !stale(&c.id)).collect();
        if fresh.len() >= n || !full || want >= most {
            return Ok(fresh);
        }
        want = want.saturating_mul(4).min(most);
    }
}

/// Largest accepted vector dimension (a guard against a misconfigured embedder, not a real limit).
const MAX_DIMENSION: usize = 1 << 16;

/// What [`MemoryIndex::open`] found in its directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Nothing (or an in-memory index): the view starts empty.
    New,
    /// The last checkpoint, at this store sequence.
    Loaded {
        /// The sequence the checkpoint reflects.
        applied_seq: u64,
    },
    /// An index that could not be used, and why; the view starts empty, and the first
    /// checkpoint replaces what is on disk.
    Discarded {
        /// One sentence.
        reason: String,
    },
}

/// What a checkpoint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkpoint {
    /// The directory now holds this view, at `applied_seq`; `full` when it was written anew
    /// rather than updated.
    Saved {
        /// The store sequence saved.
        applied_seq: u64,
        /// Written from scratch (the view did not start from the directory's checkpoint).
        full: bool,
    },
    /// Nothing changed since the last checkpoint.
    UpToDate,
    /// Not saved: the directory no longer holds the checkpoint this view started from (it was
    /// deleted or replaced meanwhile) and the view alone cannot rebuild it. Reopen to rebuild.
    Skipped {
        /// Why.
        reason: String,
    },
}

/// The retrieval index of one tenant: full text and vectors over all its namespaces.
///
/// `Send + Sync`; every method takes `&self`. Searches run concurrently with each other; writes
/// are serialized and block searches only while the vector side is updated.
pub struct MemoryIndex {
    inner: Arc<Inner>,
}

struct Inner {
    dir: Option<PathBuf>,
    model_id: String,
    dimension: usize,
    analyzer: &'static str,
    store_id: Option<String>,
    lock_wait: std::time::Duration,
    exact_threshold: usize,
    hnsw: HnswParams,
    schema: TextSchema,
    text: RwLock<TextState>,
    vectors: RwLock<VectorIndex>,
    /// Serializes writers (and checkpoints) so the text and vector sides apply batches in the
    /// same order.
    write_lock: Mutex<()>,
    applied_seq: AtomicU64,
    /// Documents upserted or deleted since the last checkpoint (or open).
    unsaved: AtomicU64,
    /// Bumped by every vector-side change; compared with `saved_version` to skip rewriting an
    /// unchanged vectors file.
    version: AtomicU64,
    saved_version: AtomicU64,
    exact_scans: AtomicU64,
    hnsw_searches: AtomicU64,
    /// Graph builds running in the background, and the signal that one finished.
    graph_builds: (Mutex<usize>, Condvar),
    opened: Opened,
}

/// The text side of the view.
struct TextState {
    /// The directory's checkpoint this view started from; `None` when it started empty, so the
    /// overlay holds everything.
    base: Option<Base>,
    /// Everything applied since.
    overlay: TextIndex,
    /// With a base: the ids the overlay changed and their latest documents (`None`: deleted),
    /// which hide their base versions and are what an incremental checkpoint writes.
    changed: HashMap<MemoryId, Option<IndexDoc>>,
}

struct Base {
    text: BaseText,
    /// The store sequence of the checkpoint.
    seq: u64,
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
            .field("opened", &self.inner.opened)
            .finish_non_exhaustive()
    }
}

fn mismatch(built_model: &str, built_dim: usize, model: &str, dim: usize) -> Error {
    Error::invalid_input(format!(
        "index was built with model {built_model} (dim {built_dim}); this embedder is {model} (dim {dim}): run `memory reindex`"
    ))
}

/// What a directory held that this view can start from.
struct Loaded {
    meta: Meta,
    base: BaseText,
    vectors: VectorIndex,
}

/// Why a directory's index cannot be used: another model or text analyzer is the caller's
/// configuration error (SPEC 5: it asks for a reindex); any other reason means "discard and
/// rebuild".
enum Unusable {
    Config(Error),
    Damaged(String),
}

/// Reads the checkpoint in `dir` (the caller holds its shared lock). `Ok(None)` for none.
fn load(dir: &Path, o: &IndexOptions, schema: &TextSchema, empty: VectorIndex) -> Result<Option<Loaded>, Unusable> {
    let damaged = |e: Error| Unusable::Damaged(e.message().to_owned());
    let Some(meta) = persist::read_meta(dir).map_err(damaged)? else {
        if persist::holds_index_files(dir) {
            return Err(Unusable::Damaged(format!("{} is missing", dir.join(persist::META_FILE).display())));
        }
        return Ok(None);
    };
    if meta.format_version != persist::FORMAT_VERSION {
        return Err(Unusable::Damaged(format!(
            "it has format version {}; this build writes {}",
            meta.format_version,
            persist::FORMAT_VERSION
        )));
    }
    if let Some(want) = &o.store_id
        && meta.store_id.as_ref() != Some(want)
    {
        return Err(Unusable::Damaged(format!(
            "it was built from another store ({}, this one is {want})",
            meta.store_id.as_deref().unwrap_or("unknown")
        )));
    }
    if meta.model_id != o.model_id || meta.dimension != o.dimension {
        return Err(Unusable::Config(mismatch(&meta.model_id, meta.dimension, &o.model_id, o.dimension)));
    }
    let analyzer = text::analyzer_name(o.remove_stop_words);
    if meta.analyzer != analyzer {
        return Err(Unusable::Config(Error::invalid_input(format!(
            "index was built with text analyzer {}; these options use {analyzer}: run `memory reindex`",
            meta.analyzer
        ))));
    }
    let base = BaseText::open(&dir.join(&meta.text_dir), schema).map_err(damaged)?;
    let vectors = if meta.vectors { persist::read_vectors(dir, &o.model_id, empty).map_err(damaged)? } else { empty };
    Ok(Some(Loaded { meta, base, vectors }))
}

impl MemoryIndex {
    /// Opens the index in `options.dir` (creating the directory if missing), or an empty
    /// in-memory index.
    ///
    /// The directory's checkpoint is read under its shared lock. One that cannot be used
    /// (damaged, incomplete, of another format or store, or locked by a checkpoint for longer
    /// than `lock_wait`) is discarded: the view starts empty and [`MemoryIndex::opened`] says
    /// why. An index built by another model, dimension or text analyzer is an `InvalidInput`
    /// error asking for a reindex, unless `recreate` asks to start over anyway.
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
        let schema = TextSchema::new(o.remove_stop_words);
        let empty = || VectorIndex::new(o.dimension, o.exact_threshold, o.hnsw.clone());

        let (base, vectors, applied_seq, opened) = match &o.dir {
            None => (None, empty(), 0, Opened::New),
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::unavailable(format!("cannot create index directory {}: {e}", dir.display())).with_source(e)
                })?;
                let loaded = if o.recreate {
                    Err(Unusable::Damaged("asked to start over (reindex)".into()))
                } else {
                    match DirLock::acquire(dir, false, o.lock_wait)? {
                        None => Err(Unusable::Damaged(format!(
                            "another process kept it locked for more than {} s",
                            o.lock_wait.as_secs_f64()
                        ))),
                        Some(_shared) => load(dir, &o, &schema, empty()),
                    }
                };
                match loaded {
                    Ok(None) => (None, empty(), 0, Opened::New),
                    Ok(Some(l)) => {
                        let seq = l.meta.applied_seq;
                        let base = Base { text: l.base, seq };
                        (Some(base), l.vectors, seq, Opened::Loaded { applied_seq: seq })
                    }
                    Err(Unusable::Config(e)) => return Err(e),
                    Err(Unusable::Damaged(why)) => (None, empty(), 0, Opened::Discarded { reason: why }),
                }
            }
        };
        let saved = if base.is_some() { 0 } else { u64::MAX };
        Ok(MemoryIndex {
            inner: Arc::new(Inner {
                dir: o.dir.clone(),
                model_id: o.model_id.clone(),
                dimension: o.dimension,
                analyzer: text::analyzer_name(o.remove_stop_words),
                store_id: o.store_id.clone(),
                lock_wait: o.lock_wait,
                exact_threshold: o.exact_threshold,
                hnsw: o.hnsw.clone(),
                text: RwLock::new(TextState { base, overlay: TextIndex::new(&schema)?, changed: HashMap::new() }),
                schema,
                vectors: RwLock::new(vectors),
                write_lock: Mutex::new(()),
                applied_seq: AtomicU64::new(applied_seq),
                unsaved: AtomicU64::new(0),
                version: AtomicU64::new(0),
                saved_version: AtomicU64::new(saved),
                exact_scans: AtomicU64::new(0),
                hnsw_searches: AtomicU64::new(0),
                graph_builds: (Mutex::new(0), Condvar::new()),
                opened,
            }),
        })
    }

    /// What open found in the directory.
    pub fn opened(&self) -> &Opened {
        &self.inner.opened
    }

    /// Whether the index lives in a directory (else it is in memory and never checkpointed).
    pub fn is_persistent(&self) -> bool {
        self.inner.dir.is_some()
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
        {
            let mut text = self.inner.text.write().expect("text lock");
            text.overlay.upsert(&docs)?;
            if text.base.is_some() {
                for d in &docs {
                    // The text side needs no vector: keep what a checkpoint writes, only.
                    text.changed.insert(d.id, Some(IndexDoc { vector: None, ..d.clone() }));
                }
            }
        }
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
        self.inner.unsaved.fetch_add(docs.len() as u64, Ordering::SeqCst);
        Ok(())
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

    /// Removes documents by id; unknown ids are ignored.
    pub fn delete(&self, ids: &[MemoryId]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let _writer = self.inner.write_lock.lock().expect("write lock");
        {
            let mut text = self.inner.text.write().expect("text lock");
            text.overlay.delete(ids);
            if text.base.is_some() {
                for id in ids {
                    text.changed.insert(*id, None);
                }
            }
        }
        self.change_vectors(|v| v.delete(ids));
        self.inner.unsaved.fetch_add(ids.len() as u64, Ordering::SeqCst);
        Ok(())
    }

    /// BM25 candidates of the base, the overlay and its fresh set, scored as one index.
    fn text_candidates(&self, q: &SearchQuery, n: usize) -> Result<Vec<fusion::Candidate>> {
        let terms = self.inner.schema.terms(&q.text);
        let Some(query) = self.inner.schema.query(q, &terms) else { return Ok(Vec::new()) };
        let text = self.inner.text.read().expect("text lock");
        // Read-your-writes without a commit: the overlay's last commit plus what was written
        // since, which hides the committed versions of the ids it touched.
        let view = text.overlay.view();
        let fresh = view.fresh.read().expect("fresh lock");
        let mut searchers = vec![&view.snapshot.searcher];
        if let Some(base) = &text.base {
            searchers.push(&base.text.snapshot().searcher);
        }
        let stats = Combined { searchers, fresh: &fresh, content: self.inner.schema.content_field() };
        let mut hits = stats.search_fresh(&terms, q, n)?;
        hits.extend(search_excluding(&view.snapshot, &query, n, &stats, fresh.touched(), |id| fresh.touches(id))?);
        if let Some(base) = &text.base {
            // Base versions of changed ids are stale and dropped.
            let changed = &text.changed;
            hits.extend(search_excluding(base.text.snapshot(), &query, n, &stats, changed.len(), |id| {
                changed.contains_key(id)
            })?);
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        hits.truncate(n);
        Ok(hits)
    }

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

        let text_hits = if q.text.trim().is_empty() { Vec::new() } else { self.text_candidates(q, n)? };

        let v = self.inner.vectors.read().expect("vector lock");
        let allowed: HashSet<u32> = q.namespaces.iter().filter_map(|ns| v.part_of.get(ns).copied()).collect();
        // The text filter already holds the namespaces; checking again against the catalog also
        // drops documents whose text is newer or older than the catalog (a crash mid-checkpoint,
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

    /// Takes the directory's exclusive lock for a [`MemoryIndex::checkpoint`], waiting up to
    /// `wait` (zero: one try). `Ok(None)` when another process holds it that long, or when the
    /// index is in memory.
    pub fn lock_for_checkpoint(&self, wait: std::time::Duration) -> Result<Option<DirLock>> {
        match &self.inner.dir {
            Some(dir) => DirLock::acquire(dir, true, wait),
            None => Ok(None),
        }
    }

    /// Saves this view to the directory under the exclusive `lock`: the text index (updated in
    /// place, or written anew when the view did not start from the directory's checkpoint),
    /// changed graphs and `vectors.bin`, then `meta.json` with the applied sequence. Callers
    /// that replay a store catch up first (under the lock), so the directory only moves forward.
    /// Writes wait meanwhile; searches go on.
    pub fn checkpoint(&self, lock: &DirLock) -> Result<Checkpoint> {
        let Some(dir) = &self.inner.dir else { return Ok(Checkpoint::UpToDate) };
        if !lock.is_exclusive() || lock.dir() != dir {
            return Err(Error::internal("a checkpoint needs the exclusive lock of its own directory"));
        }
        // A checkpoint saves finished graphs, never a half-built state.
        self.wait_for_graphs();
        let _writer = self.inner.write_lock.lock().expect("write lock");
        let seq = self.inner.applied_seq.load(Ordering::SeqCst);
        let version = self.inner.version.load(Ordering::SeqCst);
        let text = self.inner.text.read().expect("text lock");
        let (text_dir, full) = match &text.base {
            Some(base) => {
                let vectors_saved = version == self.inner.saved_version.load(Ordering::SeqCst);
                if text.changed.is_empty() && vectors_saved && base.seq == seq {
                    return Ok(Checkpoint::UpToDate);
                }
                let disk = persist::read_meta(dir).ok().flatten();
                let usable = disk.as_ref().is_some_and(|m| {
                    m.format_version == persist::FORMAT_VERSION
                        && m.model_id == self.inner.model_id
                        && m.dimension == self.inner.dimension
                        && m.analyzer == self.inner.analyzer
                        && m.store_id == self.inner.store_id
                        && (base.seq..=seq).contains(&m.applied_seq)
                        && dir.join(&m.text_dir).join("meta.json").is_file()
                });
                let Some(disk) = disk.filter(|_| usable) else {
                    return Ok(Checkpoint::Skipped {
                        reason: format!(
                            "the index in {} no longer holds the checkpoint this process started from",
                            dir.display()
                        ),
                    });
                };
                text::apply_to_disk(&dir.join(&disk.text_dir), &self.inner.schema, &text.changed)?;
                (disk.text_dir, false)
            }
            None => {
                let name = format!("text-{}", uuid::Uuid::now_v7().simple());
                text.overlay.persist_to(&dir.join(&name))?;
                (name, true)
            }
        };
        {
            // A read lock: searches go on while the files are written (writers wait above).
            let v = self.inner.vectors.read().expect("vector lock");
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
                applied_seq: seq,
                vectors: true,
                store_id: self.inner.store_id.clone(),
                text_dir: text_dir.clone(),
            },
        )?;
        persist::remove_stale_text(dir, &text_dir);
        let base = BaseText::open(&dir.join(&text_dir), &self.inner.schema)?;
        let overlay = TextIndex::new(&self.inner.schema)?;
        drop(text);
        let mut text = self.inner.text.write().expect("text lock");
        *text = TextState { base: Some(Base { text: base, seq }), overlay, changed: HashMap::new() };
        self.inner.unsaved.store(0, Ordering::SeqCst);
        Ok(Checkpoint::Saved { applied_seq: seq, full })
    }

    /// [`MemoryIndex::checkpoint`], taking the exclusive lock itself (waiting up to the
    /// options' `lock_wait`); for a process that owns the index alone. `Unavailable` when the
    /// lock cannot be had or the checkpoint was skipped. In memory: commits the text side.
    pub fn flush(&self) -> Result<()> {
        let Some(dir) = &self.inner.dir else {
            return self.inner.text.read().expect("text lock").overlay.commit();
        };
        let Some(lock) = self.lock_for_checkpoint(self.inner.lock_wait)? else {
            return Err(Error::unavailable(format!(
                "the index in {} is being saved by another process; try again",
                dir.display()
            )));
        };
        match self.checkpoint(&lock)? {
            Checkpoint::Skipped { reason } => Err(Error::unavailable(reason)),
            Checkpoint::Saved { .. } | Checkpoint::UpToDate => Ok(()),
        }
    }

    /// The store change sequence this index has absorbed (as of the last `set_applied_seq`).
    pub fn applied_seq(&self) -> u64 {
        self.inner.applied_seq.load(Ordering::SeqCst)
    }

    /// Records the store change sequence the index now reflects; saved by the next checkpoint.
    pub fn set_applied_seq(&self, seq: u64) -> Result<()> {
        self.inner.applied_seq.store(seq, Ordering::SeqCst);
        Ok(())
    }

    /// Whether the directory already holds this view: it started from the directory's
    /// checkpoint and nothing changed since (then a checkpoint would be `UpToDate`).
    pub fn is_saved(&self) -> bool {
        let text = self.inner.text.read().expect("text lock");
        text.base.as_ref().is_some_and(|b| b.seq == self.inner.applied_seq.load(Ordering::SeqCst))
            && text.changed.is_empty()
            && self.inner.version.load(Ordering::SeqCst) == self.inner.saved_version.load(Ordering::SeqCst)
    }

    /// Upserts and deletes since the last checkpoint (or open): what a checkpoint would save.
    pub fn unsaved(&self) -> u64 {
        self.inner.unsaved.load(Ordering::SeqCst)
    }

    /// Empties the view (text, vectors, graphs) and resets the applied sequence, for a reindex
    /// or a view that must not trust the directory; the next checkpoint writes the directory
    /// anew. Nothing on disk changes before then.
    pub fn clear(&self) -> Result<()> {
        let _writer = self.inner.write_lock.lock().expect("write lock");
        let overlay = TextIndex::new(&self.inner.schema)?;
        *self.inner.text.write().expect("text lock") = TextState { base: None, overlay, changed: HashMap::new() };
        *self.inner.vectors.write().expect("vector lock") =
            VectorIndex::new(self.inner.dimension, self.inner.exact_threshold, self.inner.hnsw.clone());
        self.inner.version.fetch_add(1, Ordering::SeqCst);
        self.inner.saved_version.store(u64::MAX, Ordering::SeqCst);
        self.inner.applied_seq.store(0, Ordering::SeqCst);
        self.inner.unsaved.store(0, Ordering::SeqCst);
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

    /// The memories of `layers` in `namespaces` that the index holds (live and unsuperseded,
    /// as of the store changes it has absorbed), namespace by namespace in the order given.
    /// Cheap when a namespace holds none: the engine asks it for the pinned layers of every
    /// recall's read set.
    pub fn ids_in(&self, namespaces: &[NamespaceKey], layers: &[memory_core::Layer]) -> Vec<MemoryId> {
        let layers: Vec<u8> = layers.iter().map(|l| vector::layer_index(*l)).collect();
        self.inner.vectors.read().expect("vector lock").ids_in(namespaces, &layers)
    }

    /// Every memory the index holds, by namespace (for verification).
    pub fn ids_by_namespace(&self) -> HashMap<NamespaceKey, HashSet<MemoryId>> {
        let v = self.inner.vectors.read().expect("vector lock");
        let mut out: HashMap<NamespaceKey, HashSet<MemoryId>> = HashMap::new();
        for id in v.catalog.keys() {
            if let Some((_, ns)) = v.namespace_of(id) {
                out.entry(ns.clone()).or_default().insert(*id);
            }
        }
        out
    }

    /// Problems between the two sides: memories the vector side holds that full text would
    /// never find, and text documents of memories the vector side does not hold (those are
    /// never returned, but show the two disagree). Empty when they agree.
    pub fn check(&self) -> Result<Vec<String>> {
        let text = self.inner.text.read().expect("text lock");
        text.overlay.commit()?;
        let mut in_text = text.overlay.snapshot().ids();
        if let Some(base) = &text.base {
            in_text.extend(base.text.snapshot().ids().into_iter().filter(|id| !text.changed.contains_key(id)));
        }
        drop(text);
        let v = self.inner.vectors.read().expect("vector lock");
        let missing = v.catalog.keys().filter(|id| !in_text.contains(id)).count();
        let extra = in_text.iter().filter(|id| !v.catalog.contains_key(id)).count();
        let mut problems = Vec::new();
        if missing > 0 {
            problems.push(format!("{missing} indexed memories are missing from the full-text index"));
        }
        if extra > 0 {
            problems.push(format!("the full-text index holds {extra} memories the vector side does not"));
        }
        Ok(problems)
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
