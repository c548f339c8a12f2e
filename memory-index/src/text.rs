//! The full-text side: tantivy BM25 with the read set, layers, categories, time range, expiry,
//! metadata pairs and exclusions inside the query as non-scoring clauses.
//!
//! A process sees one text index made of two tantivy indexes:
//! - the **base**, the on-disk index as the last checkpoint left it, opened read-only
//!   ([`BaseText`]; no writer, so any number of processes read it at once), and
//! - the **overlay**, a writable in-memory index of everything this process applied since
//!   ([`TextIndex`]).
//!
//! A search runs on both with the BM25 statistics of both together ([`Combined`]), so the two
//! score lists compare as if they were one index, and drops base hits for ids the overlay has
//! changed. A checkpoint writes the overlay into the disk index: incrementally through a
//! short-lived writer ([`apply_to_disk`]), or, when the base was discarded, by copying the
//! overlay's files into a fresh directory ([`TextIndex::persist_to`]).
//!
//! Visibility: tantivy only shows committed segments, so what the overlay's writer holds since
//! its last commit is also kept in a [`Fresh`] set that searches read beside the committed
//! snapshot (read-your-writes without paying a commit); writers commit once it grows large.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use memory_core::{Error, MemoryId, Result};
use tantivy::collector::TopDocs;
use tantivy::columnar::Column;
use tantivy::directory::{MmapDirectory, RamDirectory};
use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, ConstScoreQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, STRING, Schema, SchemaBuilder, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::deferred_sync::DeferredSyncDirectory;
use crate::fresh::{self, Fresh, Stats};
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

pub(crate) fn tantivy_err(e: tantivy::TantivyError) -> Error {
    Error::internal(format!("text index: {e}")).with_source(e)
}

/// The schema, fields and analyzer every text index of these options shares; the query of a
/// search is built once against it and runs on the base and the overlay alike.
#[derive(Clone)]
pub(crate) struct TextSchema {
    schema: Schema,
    fields: Fields,
    analyzer_name: &'static str,
    analyzer: TextAnalyzer,
}

impl TextSchema {
    pub fn new(remove_stop_words: bool) -> Self {
        let analyzer_name = analyzer_name(remove_stop_words);
        let (schema, fields) = schema(analyzer_name);
        TextSchema { schema, fields, analyzer_name, analyzer: analyzer(remove_stop_words) }
    }

    fn register(&self, index: &Index) {
        index.tokenizers().register(self.analyzer_name, self.analyzer.clone());
    }

    fn id_term(&self, id: MemoryId) -> Term {
        let mut buf = [0u8; 32];
        Term::from_field_text(self.fields.id, id.as_uuid().simple().encode_lower(&mut buf))
    }

    fn document(&self, doc: &IndexDoc) -> TantivyDocument {
        let f = self.fields;
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
        d
    }

    /// Replaces each document's earlier versions (opstamps order the delete before the add).
    fn write(&self, writer: &IndexWriter, docs: &[IndexDoc]) -> Result<()> {
        for doc in docs {
            writer.delete_term(self.id_term(doc.id));
            writer.add_document(self.document(doc)).map_err(tantivy_err)?;
        }
        Ok(())
    }

    /// Every analyzed token of `text`, in order, repeats included.
    fn tokens(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.analyzer.clone();
        let mut stream = analyzer.token_stream(text);
        let mut tokens = Vec::new();
        while stream.advance() {
            tokens.push(stream.token().text.clone());
        }
        tokens
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

    /// The field BM25 scores.
    pub fn content_field(&self) -> Field {
        self.fields.content
    }

    /// The BM25 query of `q` for its analyzed `terms` ([`TextSchema::terms`] of its text);
    /// `None` when nothing can match (no terms, an empty layer or category list).
    pub fn query(&self, q: &SearchQuery, terms: &[String]) -> Option<BooleanQuery> {
        if terms.is_empty() {
            return None;
        }
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

    fn writer(&self, index: &Index) -> Result<IndexWriter> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 2);
        index.writer_with_num_threads(threads, threads * WRITER_BYTES_PER_THREAD).map_err(tantivy_err)
    }
}

/// BM25 statistics of the base, the overlay and its fresh set together: scores of any part are
/// what one index holding them all would give (replaced versions still count, as deleted
/// documents do inside tantivy).
pub(crate) struct Combined<'a> {
    pub searchers: Vec<&'a Searcher>,
    pub fresh: &'a Fresh,
    pub content: Field,
}

impl Combined<'_> {
    /// The fresh set's best `n` for the analyzed `terms` of `q`, scored with these statistics.
    pub fn search_fresh(&self, terms: &[String], q: &SearchQuery, n: usize) -> Result<Vec<Candidate>> {
        let docs = self.total_num_docs().map_err(tantivy_err)?;
        let tokens = self.total_num_tokens(self.content).map_err(tantivy_err)?;
        let committed = |term: &str| -> u64 {
            let term = Term::from_field_text(self.content, term);
            self.searchers.iter().map(|s| s.doc_freq(&term).unwrap_or(0)).sum()
        };
        let doc_freq = |term: &str| committed(term) + self.fresh.doc_freq(term);
        Ok(self.fresh.search(terms, q, n, Stats { docs, tokens, doc_freq: &doc_freq }))
    }
}

impl Bm25StatisticsProvider for Combined<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let fresh = if field == self.content { self.fresh.tokens_total() } else { 0 };
        Ok(self.searchers.iter().map(|s| s.total_num_tokens(field)).sum::<tantivy::Result<u64>>()? + fresh)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        let committed: u64 =
            self.searchers.iter().map(|s| Bm25StatisticsProvider::total_num_docs(*s)).sum::<tantivy::Result<u64>>()?;
        Ok(committed + self.fresh.docs_total())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let fresh = match term.value().as_str() {
            Some(text) if term.field() == self.content => self.fresh.doc_freq(text),
            _ => 0,
        };
        Ok(self.searchers.iter().map(|s| s.doc_freq(term)).sum::<tantivy::Result<u64>>()? + fresh)
    }
}

/// The searcher of one reload plus its id columns, opened once per reload rather than per hit.
pub(crate) struct Snapshot {
    pub searcher: Searcher,
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

    /// The top `n` of `query` scored with `stats`.
    pub fn search(&self, query: &dyn Query, n: usize, stats: &Combined<'_>) -> Result<Vec<Candidate>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let top = self
            .searcher
            .search_with_statistics_provider(query, &TopDocs::with_limit(n).order_by_score(), stats)
            .map_err(tantivy_err)?;
        let mut out = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let (hi, lo) = &self.ids[addr.segment_ord as usize];
            if let (Some(hi), Some(lo)) = (hi.first(addr.doc_id), lo.first(addr.doc_id)) {
                out.push(Candidate { id: join_id(hi, lo), score });
            }
        }
        Ok(out)
    }

    /// The ids of every live document.
    pub fn ids(&self) -> HashSet<MemoryId> {
        let mut out = HashSet::new();
        for (reader, (hi, lo)) in self.searcher.segment_readers().iter().zip(&self.ids) {
            for doc in reader.doc_ids_alive() {
                if let (Some(hi), Some(lo)) = (hi.first(doc), lo.first(doc)) {
                    out.insert(join_id(hi, lo));
                }
            }
        }
        out
    }
}

/// The overlay: a writable text index in memory.
pub(crate) struct TextIndex {
    schema: TextSchema,
    ram: RamDirectory,
    index: Index,
    // Adds and deletes need `&IndexWriter`, commits `&mut`: the write lock of this RwLock is what
    // makes "everything written before generation g" well defined at commit time.
    /// `None` only while a persist waits for the merges of the previous writer.
    writer: RwLock<Option<IndexWriter>>,
    reader: IndexReader,
    view: RwLock<View>,
    /// Bumped after each upsert/delete batch is handed to the writer.
    written: AtomicU64,
    /// The `written` value the current snapshot includes.
    committed: AtomicU64,
}

/// What a search reads: the last commit and everything written since, replaced together by a
/// commit so a search never sees a document twice or not at all.
#[derive(Clone)]
pub(crate) struct View {
    pub snapshot: Arc<Snapshot>,
    pub fresh: Arc<RwLock<Fresh>>,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex")
            .field("written", &self.written.load(Ordering::Relaxed))
            .field("committed", &self.committed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl TextIndex {
    /// An empty overlay.
    pub fn new(schema: &TextSchema) -> Result<Self> {
        let ram = RamDirectory::create();
        let index = Index::create(ram.clone(), schema.schema.clone(), IndexSettings::default()).map_err(tantivy_err)?;
        schema.register(&index);
        let writer = schema.writer(&index)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(tantivy_err)?;
        let snapshot = Snapshot::new(reader.searcher())?;
        Ok(TextIndex {
            schema: schema.clone(),
            ram,
            index,
            writer: RwLock::new(Some(writer)),
            reader,
            view: RwLock::new(View { snapshot: Arc::new(snapshot), fresh: Arc::default() }),
            written: AtomicU64::new(0),
            committed: AtomicU64::new(0),
        })
    }

    /// Hands documents to the writer (replacing earlier versions) and to the fresh set, so
    /// searches see them at once; commits when the fresh set has grown large.
    pub fn upsert(&self, docs: &[IndexDoc]) -> Result<()> {
        let tokens: Vec<Vec<String>> = docs.iter().map(|d| self.schema.tokens(&d.content)).collect();
        let fresh_len = {
            let writer = self.writer.read().expect("text writer lock");
            self.schema.write(writer.as_ref().expect("a text writer"), docs)?;
            let view = self.view.read().expect("view lock");
            let mut fresh = view.fresh.write().expect("fresh lock");
            for (doc, tokens) in docs.iter().zip(tokens) {
                fresh.upsert(doc, tokens);
            }
            self.written.fetch_add(1, Ordering::SeqCst);
            fresh.len()
        };
        if fresh_len >= fresh::COMMIT_AFTER {
            self.commit()?;
        }
        Ok(())
    }

    /// Deletes documents by id; searches stop seeing them at once.
    pub fn delete(&self, ids: &[MemoryId]) {
        let writer = self.writer.read().expect("text writer lock");
        let writer = writer.as_ref().expect("a text writer");
        let view = self.view.read().expect("view lock");
        let mut fresh = view.fresh.write().expect("fresh lock");
        for id in ids {
            writer.delete_term(self.schema.id_term(*id));
            fresh.delete(*id);
        }
        self.written.fetch_add(1, Ordering::SeqCst);
    }

    /// Commits pending writes (if any), reloads the searcher and starts an empty fresh set.
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
        writer.as_mut().expect("a text writer").commit().map_err(tantivy_err)?;
        self.reader.reload().map_err(tantivy_err)?;
        let snapshot = Arc::new(Snapshot::new(self.reader.searcher())?);
        *self.view.write().expect("view lock") = View { snapshot, fresh: Arc::default() };
        self.committed.store(generation, Ordering::SeqCst);
        Ok(())
    }

    /// The last commit and what was written since.
    pub fn view(&self) -> View {
        self.view.read().expect("view lock").clone()
    }

    /// The committed state alone (commit first to include every write).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.view.read().expect("view lock").snapshot)
    }

    /// Writes the whole overlay as a new disk index in `dir` (which must not exist), synced.
    pub fn persist_to(&self, dir: &Path) -> Result<()> {
        self.commit()?;
        let mut writer = self.writer.write().expect("text writer lock");
        // Background merges write files into the directory being copied: let them finish (a
        // writer ends its merges when it is consumed), then carry on with a fresh writer.
        if let Some(busy) = writer.take() {
            busy.wait_merging_threads().map_err(tantivy_err)?;
        }
        *writer = Some(self.schema.writer(&self.index)?);
        create_dir(dir)?;
        let dest = DeferredSyncDirectory::open(dir).map_err(|e| open_err(dir, e))?;
        self.ram.persist(&dest).map_err(tantivy_err)?;
        DeferredSyncDirectory::sync_all(dir).map_err(|e| sync_err(dir, e))
    }
}

/// The base: the on-disk text index of the last checkpoint, read-only.
pub(crate) struct BaseText {
    snapshot: Arc<Snapshot>,
}

impl BaseText {
    /// Opens the index in `dir` for reading; a missing or damaged one is an error.
    pub fn open(dir: &Path, schema: &TextSchema) -> Result<Self> {
        if !dir.join("meta.json").is_file() {
            return Err(Error::internal(format!("the text index {} is missing", dir.display())));
        }
        let mmap = MmapDirectory::open(dir).map_err(|e| open_err(dir, e))?;
        let index = Index::open(mmap).map_err(|e| damaged(dir, e))?;
        if index.schema() != schema.schema {
            return Err(Error::internal(format!("the text index {} has another schema", dir.display())));
        }
        schema.register(&index);
        let reader: IndexReader =
            index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into().map_err(|e| damaged(dir, e))?;
        Ok(BaseText { snapshot: Arc::new(Snapshot::new(reader.searcher()).map_err(|e| damaged(dir, e))?) })
    }

    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }
}

/// Applies the overlay's changes (per id: its latest document, or `None` for deleted) to the
/// disk index in `dir` with a writer of its own, commits, and syncs. The caller holds the
/// index directory's exclusive lock, so this is the only writer of `dir`.
pub(crate) fn apply_to_disk(
    dir: &Path,
    schema: &TextSchema,
    changes: &HashMap<MemoryId, Option<IndexDoc>>,
) -> Result<()> {
    let directory = DeferredSyncDirectory::open(dir).map_err(|e| open_err(dir, e))?;
    let index = Index::open(directory).map_err(|e| damaged(dir, e))?;
    schema.register(&index);
    let mut writer = schema.writer(&index)?;
    // Files a crashed writer left behind are listed as managed but unused: collect them first.
    let _ = writer.garbage_collect_files().wait();
    let mut docs = Vec::with_capacity(changes.len());
    for (id, doc) in changes {
        match doc {
            Some(d) => docs.push(d.clone()),
            None => {
                writer.delete_term(schema.id_term(*id));
            }
        }
    }
    schema.write(&writer, &docs)?;
    writer.commit().map_err(tantivy_err)?;
    writer.wait_merging_threads().map_err(tantivy_err)?;
    DeferredSyncDirectory::sync_all(dir).map_err(|e| sync_err(dir, e))
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::unavailable(format!("cannot create {}: {e}", dir.display())).with_source(e))
}

fn open_err(dir: &Path, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::unavailable(format!("cannot open text index {}: {e}", dir.display())).with_source(e)
}

fn sync_err(dir: &Path, e: std::io::Error) -> Error {
    Error::unavailable(format!("cannot sync text index {}: {e}", dir.display())).with_source(e)
}

fn damaged(dir: &Path, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("text index {} is unreadable or incomplete ({e})", dir.display()))
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
