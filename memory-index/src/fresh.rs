//! The fresh set: text documents handed to the overlay's writer since its last commit.
//!
//! tantivy only shows committed segments, and a commit costs milliseconds to tens of
//! milliseconds on a large overlay (17 ms p50 at 1M memories, measured). So a search does not
//! commit: it reads the last commit's snapshot and, beside it, this small inverted index of
//! what was written since, scored with tantivy's own BM25 formula over the same combined
//! statistics, so fresh and committed hits compare as if they were one index. Writers commit
//! once the set holds [`COMMIT_AFTER`] documents, and every flush or checkpoint commits too.
//!
//! A `Fresh` is append-only between commits (a replaced or deleted id leaves its old slot
//! behind, as a tantivy segment keeps deleted documents); a commit starts a new one, and a
//! search that began before keeps the old one together with the snapshot it belongs to.

use std::collections::HashMap;

use memory_core::{Category, Layer, MemoryId, NamespaceKey};
use tantivy::fieldnorm::FieldNormReader;

use crate::fusion::Candidate;
use crate::query::{IndexDoc, SearchQuery};
use crate::terms;

/// Documents written since the last commit after which a writer commits. A search scores only
/// the fresh documents holding a query term, so this bounds memory more than latency.
pub(crate) const COMMIT_AFTER: usize = 20_000;

/// tantivy's BM25 constants (`tantivy::query::bm25`).
const K1: f32 = 1.2;
const B: f32 = 0.75;

/// One written document, as much of it as searching needs.
#[derive(Debug)]
struct Doc {
    id: MemoryId,
    namespace: NamespaceKey,
    layer: Layer,
    category: Category,
    created: i64,
    expires: i64,
    /// Sorted metadata terms (`terms::metadata_term`).
    meta: Box<[String]>,
    /// The token count as tantivy stores it (quantized to a one-byte field norm).
    fieldnorm: u32,
}

/// See the module docs.
#[derive(Debug, Default)]
pub(crate) struct Fresh {
    docs: Vec<Doc>,
    /// Per id written since the commit: its latest slot, or `None` when deleted since.
    latest: HashMap<MemoryId, Option<u32>>,
    /// Per analyzed term: the slots holding it and the term's frequency there.
    postings: HashMap<Box<str>, Vec<(u32, u32)>>,
    tokens: u64,
}

impl Fresh {
    /// Adds `doc`, whose analyzed content is `tokens`, replacing any earlier version.
    pub fn upsert(&mut self, doc: &IndexDoc, tokens: impl IntoIterator<Item = String>) {
        let slot = self.docs.len() as u32;
        let mut freq: HashMap<String, u32> = HashMap::new();
        let mut count = 0_u32;
        for token in tokens {
            *freq.entry(token).or_default() += 1;
            count += 1;
        }
        for (term, tf) in freq {
            self.postings.entry(term.into_boxed_str()).or_default().push((slot, tf));
        }
        self.tokens += u64::from(count);
        let mut meta: Vec<String> = terms::metadata_terms(&doc.metadata).collect();
        meta.sort_unstable();
        meta.dedup();
        self.docs.push(Doc {
            id: doc.id,
            namespace: doc.namespace.clone(),
            layer: doc.layer,
            category: doc.category.clone(),
            created: doc.created_at.as_micros(),
            expires: terms::expiry_micros(doc.expires_at),
            meta: meta.into_boxed_slice(),
            fieldnorm: FieldNormReader::id_to_fieldnorm(FieldNormReader::fieldnorm_to_id(count)),
        });
        self.latest.insert(doc.id, Some(slot));
    }

    /// Marks `id` deleted since the commit.
    pub fn delete(&mut self, id: MemoryId) {
        self.latest.insert(id, None);
    }

    /// Documents written since the commit, replaced ones included.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// Whether `id` was written or deleted since the commit, so a committed version is stale.
    pub fn touches(&self, id: &MemoryId) -> bool {
        self.latest.contains_key(id)
    }

    /// How many ids were written or deleted since the commit.
    pub fn touched(&self) -> usize {
        self.latest.len()
    }

    /// This set's share of the BM25 statistics: documents, tokens, and documents holding `term`.
    /// Replaced versions count, as they do in a tantivy segment until it merges.
    pub fn docs_total(&self) -> u64 {
        self.docs.len() as u64
    }

    pub fn tokens_total(&self) -> u64 {
        self.tokens
    }

    pub fn doc_freq(&self, term: &str) -> u64 {
        self.postings.get(term).map_or(0, |p| p.len() as u64)
    }

    /// The best `n` live documents matching any of `query_terms` and every filter of `q`,
    /// scored by BM25 with the combined statistics (`docs`, `tokens`, `doc_freq`).
    pub fn search(&self, query_terms: &[String], q: &SearchQuery, n: usize, stats: Stats<'_>) -> Vec<Candidate> {
        let Stats { docs, tokens, doc_freq } = stats;
        if n == 0 || self.docs.is_empty() || docs == 0 {
            return Vec::new();
        }
        let average = tokens as f32 / docs as f32;
        let filter = Filter::new(q);
        let mut scores: HashMap<u32, f32> = HashMap::new();
        let mut accepted: HashMap<u32, bool> = HashMap::new();
        for term in query_terms {
            let Some(postings) = self.postings.get(term.as_str()) else { continue };
            let df = doc_freq(term).max(postings.len() as u64).min(docs);
            let idf = (1.0 + ((docs - df) as f32 + 0.5) / (df as f32 + 0.5)).ln();
            let weight = idf * (1.0 + K1);
            for &(slot, tf) in postings {
                let ok = *accepted.entry(slot).or_insert_with(|| {
                    let doc = &self.docs[slot as usize];
                    self.latest.get(&doc.id) == Some(&Some(slot)) && filter.accepts(doc)
                });
                if ok {
                    let doc = &self.docs[slot as usize];
                    let tf = tf as f32;
                    let norm = K1 * (1.0 - B + B * doc.fieldnorm as f32 / average);
                    *scores.entry(slot).or_default() += weight * tf / (tf + norm);
                }
            }
        }
        let mut out: Vec<Candidate> =
            scores.into_iter().map(|(slot, score)| Candidate { id: self.docs[slot as usize].id, score }).collect();
        out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
        out.truncate(n);
        out
    }
}

/// The BM25 statistics a fresh search scores with: those of every part of the text index.
pub(crate) struct Stats<'a> {
    /// Documents, replaced versions included.
    pub docs: u64,
    /// Tokens of the content field.
    pub tokens: u64,
    /// Documents holding a term.
    pub doc_freq: &'a dyn Fn(&str) -> u64,
}

/// The filters of a [`SearchQuery`], checked against one fresh document (the text query of a
/// committed index holds the same clauses; see `text::TextSchema::query`).
struct Filter<'a> {
    q: &'a SearchQuery,
    valid_after: Option<i64>,
    meta: Vec<String>,
}

impl<'a> Filter<'a> {
    fn new(q: &'a SearchQuery) -> Self {
        let meta = q.metadata.iter().map(|(k, v)| terms::metadata_term(k, v)).collect();
        Filter { q, valid_after: terms::valid_after(q), meta }
    }

    fn accepts(&self, doc: &Doc) -> bool {
        let q = self.q;
        q.namespaces.contains(&doc.namespace)
            && q.layers.as_ref().is_none_or(|ls| ls.contains(&doc.layer))
            && q.categories.as_ref().is_none_or(|cs| cs.contains(&doc.category))
            && q.created_from.is_none_or(|t| doc.created >= t.as_micros())
            && q.created_before.is_none_or(|t| doc.created < t.as_micros())
            && self.valid_after.is_none_or(|after| doc.expires > after)
            && self.meta.iter().all(|t| doc.meta.binary_search(t).is_ok())
            && !q.exclude.contains(&doc.id)
    }
}
