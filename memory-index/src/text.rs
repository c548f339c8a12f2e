//! The full-text side: one tantivy index over all namespaces, BM25 with the read set, layers,
//! categories, time range, expiry, metadata pairs and exclusions inside the query as non-scoring
//! clauses.
//!
//! Visibility: tantivy only shows committed segments, so writes bump a generation and a search
//! that finds uncommitted writes commits and reloads first (read-your-writes); a background
//! thread in `lib.rs` commits anything older than `commit_delay` for other readers. Committing per
//! document would make every write pay a segment flush.

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use memory_core::{Error, MemoryId, Result};
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, STRING, Schema, SchemaBuilder, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::deferred_sync::DeferredSyncDirectory;
use crate::fusion::Candidate;
use crate::query::{IndexDoc, SearchQuery};
use crate::terms;

/// Name of the content analyzer; part of the persisted identity of an index (see `meta.json`).
pub(crate) fn analyzer_name(remove_stop_words: bool) -> &'static str {
    if remove_stop_words { "en_stem_stop" } else { "en_stem" }
}

/// Bytes of indexing memory per writer thread; tantivy needs at least 15 MB per thread. Measured
/// at 100k memories: 16 MB x 2 threads built fastest (89k docs/s vs 59k with 40 MB, whose larger
/// term table is zeroed for every new segment) with the lowest RSS.
const WRITER_BYTES_PER_THREAD: usize = 16 << 20;

#[derive(Debug, Clone, Copy)]
struct Fields {
    id: Field,
    id_hi: Field,
    id_lo: Field,
    namespace: Field,
    layer: Field,
    category: Field,
    created_at: Field,
    /// Microseconds; `i64::MAX` for none (see `terms::expiry_micros`).
    expires_at: Field,
    /// One raw term per metadata pair (see `terms::metadata_term`).
    metadata: Field,
    content: Field,
}

fn schema(analyzer: &str) -> (Schema, Fields) {
    let mut b = SchemaBuilder::new();
    // Positions are not indexed: queries are bags of words, and phrase search is not offered.
    let content = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer(analyzer).set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: b.add_text_field("id", STRING),
        id_hi: b.add_u64_field("id_hi", NumericOptions::default().set_fast()),
        id_lo: b.add_u64_field("id_lo", NumericOptions::default().set_fast()),
        namespace: b.add_text_field("namespace", STRING),
        layer: b.add_text_field("layer", STRING),
        category: b.add_text_field("category", STRING),
        created_at: b.add_i64_field("created_at", NumericOptions::default().set_indexed().set_fast()),
        expires_at: b.add_i64_field("expires_at", NumericOptions::default().set_indexed().set_fast()),
        metadata: b.add_text_field("metadata", STRING),
        content: b.add_text_field("content", content),
    };
    (b.build(), fields)
}

fn analyzer(remove_stop_words: bool) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default()).filter(RemoveLongFilter::limit(40)).filter(LowerCaser);
    let base = if remove_stop_words {
        base.dynamic().filter_dynamic(StopWordFilter::new(Language::English).expect("tantivy ships English stop words"))
    } else {
        base.dynamic()
    };
    base.filter_dynamic(Stemmer::new(Language::English)).build()
}

/// The searcher of the last reload plus its id columns, opened once per reload rather than per hit.
struct Snapshot {
    searcher: Searcher,
    ids: Vec<(Column<u64>, Column<u64>)>,
}

impl Snapshot {
    fn new(searcher: Searcher) -> Result<Self> {
        let ids = searcher
            .segment_readers()
            .iter()
            .map(|r| {
                let ff = r.fast_fields();
                Ok((ff.u64("id_hi").map_err(tantivy_err)?, ff.u64("id_lo").map_err(tantivy_err)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Snapshot { searcher, ids })
    }
}

/// The tantivy side of a [`crate::MemoryIndex`].
pub(crate) struct TextIndex {
    /// The on-disk location, if any (synced by [`TextIndex::make_durable`]).
    dir: Option<std::path::PathBuf>,
    fields: Fields,
    // Adds and deletes need `&IndexWriter`, commits `&mut`: the write lock of this RwLock is what
    // makes "everything written before generation g" well defined at commit time.
    writer: RwLock<IndexWriter>,
    reader: IndexReader,
    snapshot: RwLock<Arc<Snapshot>>,
    analyzer: TextAnalyzer,
    /// Bumped after each upsert/delete batch is handed to the writer.
    written: AtomicU64,
    /// The `written` value the current snapshot includes.
    committed: AtomicU64,
    /// When the oldest uncommitted write happened (for the background committer).
    dirty_since: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex")
            .field("written", &self.written.load(Ordering::Relaxed))
            .field("committed", &self.committed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

pub(crate) fn tantivy_err(e: tantivy::TantivyError) -> Error {
    Error::internal(format!("text index: {e}")).with_source(e)
}

impl TextIndex {
    /// Opens (or creates) the text index in `dir`, or in memory when `dir` is `None`.
    pub fn open(dir: Option<&Path>, remove_stop_words: bool) -> Result<Self> {
        let name = analyzer_name(remove_stop_words);
        let (schema, fields) = schema(name);
        let index = match dir {
            None => Index::create_in_ram(schema.clone()),
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| Error::unavailable(format!("cannot create {}: {e}", dir.display())).with_source(e))?;
                let mmap = DeferredSyncDirectory::open(dir).map_err(|e| {
                    Error::unavailable(format!("cannot open text index {}: {e}", dir.display())).with_source(e)
                })?;
                Index::open_or_create(mmap, schema.clone()).map_err(|e| {
                    Error::internal(format!(
                        "text index {} is unreadable or incomplete ({e}): run `memory reindex`",
                        dir.display()
                    ))
                    .with_source(e)
                })?
            }
        };
        index.tokenizers().register(name, analyzer(remove_stop_words));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 2);
        let writer =
            index.writer_with_num_threads(threads, threads * WRITER_BYTES_PER_THREAD).map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => Error::unavailable(format!(
                    "the index directory is in use by another process ({e}); close it first"
                ))
                .with_source(e),
                e => tantivy_err(e),
            })?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(tantivy_err)?;
        let snapshot = Snapshot::new(reader.searcher())?;
        Ok(TextIndex {
            dir: dir.map(Path::to_path_buf),
            fields,
            writer: RwLock::new(writer),
            reader,
            snapshot: RwLock::new(Arc::new(snapshot)),
            analyzer: analyzer(remove_stop_words),
            written: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            dirty_since: Mutex::new(None),
        })
    }

    fn id_term(&self, id: MemoryId) -> Term {
        let mut buf = [0u8; 32];
        Term::from_field_text(self.fields.id, id.as_uuid().simple().encode_lower(&mut buf))
    }

    /// Hands documents to the writer (replacing earlier versions); visible after the next commit.
    pub fn upsert(&self, docs: &[IndexDoc]) -> Result<()> {
        let f = self.fields;
        {
            let writer = self.writer.read().expect("text writer lock");
            for doc in docs {
                let (hi, lo) = split_id(doc.id);
                let mut d = TantivyDocument::default();
                let mut buf = [0u8; 32];
                d.add_text(f.id, doc.id.as_uuid().simple().encode_lower(&mut buf));
                d.add_u64(f.id_hi, hi);
                d.add_u64(f.id_lo, lo);
                d.add_text(f.namespace, doc.namespace.as_str());
                d.add_text(f.layer, doc.layer.as_str());
                d.add_text(f.category, doc.category.as_str());
                d.add_i64(f.created_at, doc.created_at.as_micros());
                d.add_i64(f.expires_at, terms::expiry_micros(doc.expires_at));
                for term in terms::metadata_terms(&doc.metadata) {
                    d.add_text(f.metadata, term);
                }
                d.add_text(f.content, &doc.content);
                // Opstamps order this delete before the add, so only earlier versions go.
                writer.delete_term(self.id_term(doc.id));
                writer.add_document(d).map_err(tantivy_err)?;
            }
            self.mark_written();
        }
        Ok(())
    }

    /// Deletes documents by id; visible after the next commit.
    pub fn delete(&self, ids: &[MemoryId]) {
        let writer = self.writer.read().expect("text writer lock");
        for id in ids {
            writer.delete_term(self.id_term(*id));
        }
        self.mark_written();
    }

    /// Deletes everything; visible after the next commit.
    pub fn clear(&self) -> Result<()> {
        let writer = self.writer.read().expect("text writer lock");
        writer.delete_all_documents().map_err(tantivy_err)?;
        self.mark_written();
        Ok(())
    }

    fn mark_written(&self) {
        self.written.fetch_add(1, Ordering::SeqCst);
        self.dirty_since.lock().expect("dirty lock").get_or_insert_with(Instant::now);
    }

    /// Whether writes are waiting for a commit, and since when.
    pub fn dirty_since(&self) -> Option<Instant> {
        if self.written.load(Ordering::SeqCst) == self.committed.load(Ordering::SeqCst) {
            return None;
        }
        *self.dirty_since.lock().expect("dirty lock")
    }

    /// Commits pending writes (if any) and reloads the searcher.
    pub fn commit(&self) -> Result<()> {
        if self.written.load(Ordering::SeqCst) == self.committed.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut writer = self.writer.write().expect("text writer lock");
        // Under the write lock no batch is half-written, so `generation` covers exactly what commits.
        let generation = self.written.load(Ordering::SeqCst);
        if generation == self.committed.load(Ordering::SeqCst) {
            return Ok(()); // Another thread committed while this one waited.
        }
        *self.dirty_since.lock().expect("dirty lock") = None;
        writer.commit().map_err(tantivy_err)?;
        self.reader.reload().map_err(tantivy_err)?;
        let snapshot = Arc::new(Snapshot::new(self.reader.searcher())?);
        *self.snapshot.write().expect("snapshot lock") = snapshot;
        self.committed.store(generation, Ordering::SeqCst);
        Ok(())
    }

    /// Commits, then fsyncs the committed files (commits alone skip fsync; see `deferred_sync`).
    pub fn make_durable(&self) -> Result<()> {
        self.commit()?;
        let Some(dir) = &self.dir else { return Ok(()) };
        // Hold the writer so no commit or merge swaps files while they are synced.
        let _writer = self.writer.write().expect("text writer lock");
        DeferredSyncDirectory::sync_all(dir)
            .map_err(|e| Error::unavailable(format!("cannot sync text index {}: {e}", dir.display())).with_source(e))
    }

    /// The analyzed, de-duplicated terms of `text`.
    pub fn terms(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut terms: Vec<String> = Vec::new();
        while stream.advance() {
            let t = &stream.token().text;
            if !terms.iter().any(|x| x == t) {
                terms.push(t.clone());
            }
        }
        terms
    }

    /// BM25 top `n` inside the query's filters. The caller commits first for read-your-writes.
    pub fn search(&self, q: &SearchQuery, n: usize) -> Result<Vec<Candidate>> {
        let terms = self.terms(&q.text);
        if terms.is_empty() || n == 0 {
            return Ok(Vec::new());
        }
        let Some(query) = self.build_query(q, &terms) else {
            return Ok(Vec::new());
        };
        let snapshot = Arc::clone(&self.snapshot.read().expect("snapshot lock"));
        let top = snapshot.searcher.search(&query, &TopDocs::with_limit(n).order_by_score()).map_err(tantivy_err)?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let (hi, lo) = &snapshot.ids[addr.segment_ord as usize];
            if let (Some(hi), Some(lo)) = (hi.first(addr.doc_id), lo.first(addr.doc_id)) {
                out.push(Candidate { id: join_id(hi, lo), score });
            }
        }
        Ok(out)
    }

    /// `None` when a filter can match nothing (an empty layer or category list).
    fn build_query(&self, q: &SearchQuery, terms: &[String]) -> Option<BooleanQuery> {
        let f = self.fields;
        let text: Vec<Box<dyn Query>> = terms
            .iter()
            .map(|t| {
                Box::new(TermQuery::new(Term::from_field_text(f.content, t), IndexRecordOption::WithFreqs))
                    as Box<dyn Query>
            })
            .collect();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, one_or_union(text))];
        clauses.push((Occur::Must, filter(f.namespace, q.namespaces.iter().map(|n| n.as_str()))?));
        if let Some(layers) = &q.layers {
            clauses.push((Occur::Must, filter(f.layer, layers.iter().map(|l| l.as_str()))?));
        }
        if let Some(categories) = &q.categories {
            clauses.push((Occur::Must, filter(f.category, categories.iter().map(|c| c.as_str()))?));
        }
        if q.created_from.is_some() || q.created_before.is_some() {
            let term = |t: memory_core::Timestamp| Term::from_field_i64(f.created_at, t.as_micros());
            let lower = q.created_from.map_or(Bound::Unbounded, |t| Bound::Included(term(t)));
            let upper = q.created_before.map_or(Bound::Unbounded, |t| Bound::Excluded(term(t)));
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(RangeQuery::new(lower, upper)), 0.0))));
        }
        if let Some(after) = terms::valid_after(q) {
            let lower = Bound::Excluded(Term::from_field_i64(f.expires_at, after));
            let range = RangeQuery::new(lower, Bound::Unbounded);
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(Box::new(range), 0.0))));
        }
        for (key, value) in &q.metadata {
            let term = terms::metadata_term(key, value);
            clauses.push((Occur::Must, filter(f.metadata, std::iter::once(term.as_str()))?));
        }
        for id in &q.exclude {
            clauses.push((Occur::MustNot, Box::new(TermQuery::new(self.id_term(*id), IndexRecordOption::Basic))));
        }
        Some(BooleanQuery::new(clauses))
    }
}

fn one_or_union(mut queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    if queries.len() == 1 { queries.pop().expect("one query") } else { Box::new(BooleanQuery::union(queries)) }
}

/// A non-scoring "field is one of values" clause. A few term queries beat a `TermSetQuery`,
/// which allocates a bitset over every document of every segment per query.
fn filter<'a>(field: Field, values: impl Iterator<Item = &'a str>) -> Option<Box<dyn Query>> {
    let terms: Vec<Box<dyn Query>> = values
        .map(|v| Box::new(TermQuery::new(Term::from_field_text(field, v), IndexRecordOption::Basic)) as Box<dyn Query>)
        .collect();
    if terms.is_empty() {
        return None;
    }
    Some(Box::new(ConstScoreQuery::new(one_or_union(terms), 0.0)))
}

pub(crate) fn split_id(id: MemoryId) -> (u64, u64) {
    let v = id.as_uuid().as_u128();
    ((v >> 64) as u64, v as u64)
}

pub(crate) fn join_id(hi: u64, lo: u64) -> MemoryId {
    MemoryId::from_uuid(uuid::Uuid::from_u128((u128::from(hi) << 64) | u128::from(lo)))
}
