//! The data that crosses the index boundary: documents in, queries in, ranked hits out.

use memory_core::{Category, Layer, MemoryId, Metadata, NamespaceKey, Timestamp};

/// One memory as the index sees it. The vector, if any, comes from the caller's embedder; the
/// index never embeds.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    /// The memory's id; upserting an id again replaces the earlier document.
    pub id: MemoryId,
    /// Its namespace; only searches naming this namespace can return it.
    pub namespace: NamespaceKey,
    /// Its layer.
    pub layer: Layer,
    /// Its category.
    pub category: Category,
    /// When it was created (filters `created_from` / `created_before` apply to this).
    pub created_at: Timestamp,
    /// When it stops being returned to searches that set [`SearchQuery::valid_at`]; `None`
    /// never expires.
    pub expires_at: Option<Timestamp>,
    /// Its metadata; [`SearchQuery::metadata`] filters on the top-level pairs.
    pub metadata: Metadata,
    /// The text that BM25 scores.
    pub content: String,
    /// Its embedding (`dimension` long; normalized by the index). `None` leaves the memory out of
    /// vector search only.
    pub vector: Option<Vec<f32>>,
}

/// How the text and vector rankings combine into one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// Reciprocal-rank fusion: `score = sum over rankings of 1 / (k + rank)`, ranks from 1.
    Rrf {
        /// The damping constant (60 in the literature; 10 by default here, see `Default`).
        k: f32,
    },
    /// `text_weight * bm25' + (1 - text_weight) * cos'`, where `bm25'` is BM25 min-max
    /// normalized over the text candidates and `cos' = (cos + 1) / 2`; a missing side counts 0.
    Blend {
        /// Weight of the text side, in `0..=1`.
        text_weight: f32,
    },
}

/// Reciprocal-rank fusion with k = 10, measured on `testdata/eval/conversations.jsonl`
/// (`memory eval`): RRF beats the normalized blend at every weight for the hash, static and
/// MiniLM embedders, and small k beats the textbook 60 (recall@5 with the static model: k=60
/// 0.774, k=10 0.790, k=5 0.826; MiniLM 0.842 / 0.868 / 0.890). k = 10 is within a few points of
/// the best for every embedder without fitting one 155-query set too closely.
impl Default for Fusion {
    fn default() -> Self {
        Fusion::Rrf { k: 10.0 }
    }
}

impl Fusion {
    /// The highest score this fusion can give: first place in both rankings (RRF), or a perfect
    /// match on both sides (blend). Dividing by it makes fused scores comparable across queries.
    pub fn best_possible(&self) -> f32 {
        match *self {
            Fusion::Rrf { k } => 2.0 / (k + 1.0),
            Fusion::Blend { .. } => 1.0,
        }
    }
}

/// One search. Filters are applied inside both retrievers (never after a top-k cut), so a
/// selective filter cannot starve the result.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// Free text for BM25; empty skips the text side.
    pub text: String,
    /// The query embedding; `None` skips the vector side.
    pub vector: Option<Vec<f32>>,
    /// The namespaces that may be returned; empty returns nothing.
    pub namespaces: Vec<NamespaceKey>,
    /// Restrict to these layers (`None`: any layer).
    pub layers: Option<Vec<Layer>>,
    /// Restrict to these categories (`None`: any category).
    pub categories: Option<Vec<Category>>,
    /// Only memories created at or after this instant.
    pub created_from: Option<Timestamp>,
    /// Only memories created strictly before this instant.
    pub created_before: Option<Timestamp>,
    /// Only memories still valid at this instant: a memory with `expires_at = Some(e)` and
    /// `e <= valid_at` is never returned; one without `expires_at` never expires. `None` does
    /// not filter by expiry.
    pub valid_at: Option<Timestamp>,
    /// Only memories whose metadata holds every one of these top-level pairs (AND), each with
    /// an equal JSON value; empty does not filter. Values are compared by canonical JSON
    /// (compact, object keys sorted, numbers as serde_json writes them): so `1` and `1.0` differ,
    /// as do `1` and `"1"`; a nested object or array must match whole.
    pub metadata: Metadata,
    /// Memories never to return (e.g. already pinned ones).
    pub exclude: Vec<MemoryId>,
    /// How many hits to return.
    pub limit: usize,
    /// How to combine the two rankings.
    pub fusion: Fusion,
}

impl Default for SearchQuery {
    fn default() -> Self {
        SearchQuery {
            text: String::new(),
            vector: None,
            namespaces: Vec::new(),
            layers: None,
            categories: None,
            created_from: None,
            created_before: None,
            valid_at: None,
            metadata: Metadata::new(),
            exclude: Vec::new(),
            limit: 10,
            fusion: Fusion::default(),
        }
    }
}

/// One fused result, with its components kept for `explain`.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The memory.
    pub id: MemoryId,
    /// Its namespace (always one of the query's).
    pub namespace: NamespaceKey,
    /// The fused score; hits are sorted by it, descending.
    pub score: f32,
    /// Raw BM25 score, if the text side found it.
    pub text_score: Option<f32>,
    /// 1-based rank among the text candidates.
    pub text_rank: Option<usize>,
    /// Cosine similarity, if the vector side found it.
    pub vector_score: Option<f32>,
    /// 1-based rank among the vector candidates.
    pub vector_rank: Option<usize>,
}

/// What a search did; [`crate::MemoryIndex::counters`] sums the path counters since open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// Namespaces searched by an exact scan of their own vectors.
    pub exact_scans: u64,
    /// HNSW graph searches.
    pub hnsw_searches: u64,
    /// Text candidates that entered fusion.
    pub text_candidates: usize,
    /// Vector candidates that entered fusion.
    pub vector_candidates: usize,
}

/// Hits plus the statistics of the search that found them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchResults {
    /// At most `limit` hits, best first.
    pub hits: Vec<Hit>,
    /// What the search did.
    pub stats: SearchStats,
}
