//! Recall (SPEC 2): pinned identity and procedural memories, then ranked hybrid candidates
//! re-scored by relevance, utility, recency and read order, merged, deduplicated, explained.
//!
//! The score of a ranked memory is
//! `relevance * utility_factor * recency * position_factor`, where
//! - `relevance` = its fused index score / the best score fusion can give (first place in both
//!   the full-text and the vector ranking), so 1 means "first on both sides" and a recall whose
//!   best match is weak scores low rather than being scaled up to 1;
//! - `utility_factor` = `0.5 + effective utility` (0.5..=1.5, neutral 1): utility learned from
//!   outcome reports, decaying toward neutral between reports ([`memory_core::UsageStats`]);
//! - `recency` = `RECENCY_FLOOR + (1 - RECENCY_FLOOR) * 2^(-age_days / half_life)` for episodic
//!   memories (half-life `recall.recency_half_life_days`, default 30), 1 for other layers: the
//!   decaying part halves every half-life, and the floor keeps an old event that answers the
//!   question above a fresh one that does not (see [`RECENCY_FLOOR`]);
//! - and two boosts: `1 + ENTITY_BOOST` for a memory linked to an entity the query names, and
//!   `1 + TIME_BOOST` for a memory made within the time the query names ("last week");
//! - `position_factor` = `1 / (1 + read_order_weight * position)`, position being the
//!   namespace's place in the plan's read order (0 first; weight default 0.05).

use std::collections::{HashMap, HashSet};

use memory_core::{
    AuditOp, Category, ContentHash, Error, Layer, Memory, MemoryId, Metadata, NamespaceKey, Result, Timestamp,
};
use memory_index::{Fusion, Hit, MemoryIndex, SearchQuery};
use memory_policy::ReadRequest;
use serde::Serialize;

use crate::caller::Caller;
use crate::engine::{Engine, plan_error};
use crate::sync::blocking_value;

/// Most memories one recall returns.
pub const MAX_RECALL_LIMIT: usize = 1000;

/// Layers that are ranked by relevance.
const RANKED: [Layer; 3] = [Layer::Semantic, Layer::Episodic, Layer::Working];

/// One recall.
#[derive(Debug, Clone, PartialEq)]
pub struct RecallRequest {
    /// What the caller is working on.
    pub query: String,
    /// Namespaces to read (raw): empty is the default read set, `["*"]` every readable one.
    pub namespaces: Vec<String>,
    /// Restrict ranked layers and identity; procedural is always pinned.
    pub layers: Option<Vec<Layer>>,
    /// Most memories returned, pinned ones included (1..=[`MAX_RECALL_LIMIT`]).
    pub limit: usize,
    /// Only ranked memories of these categories.
    pub categories: Option<Vec<Category>>,
    /// Only ranked memories created at or after this time.
    pub created_from: Option<Timestamp>,
    /// Only ranked memories created before this time.
    pub created_before: Option<Timestamp>,
    /// Only ranked memories whose metadata has each of these top-level entries (JSON equality).
    pub metadata: Metadata,
    /// A precomputed query embedding; `None` embeds the query.
    pub vector: Option<Vec<f32>>,
    /// Return each score component.
    pub explain: bool,
    /// With `*`: also read `sensitive` namespaces (seeds/004; `restricted` ones are only read
    /// when named).
    pub include_sensitive: bool,
}

impl RecallRequest {
    /// A recall of `query` over the default read set, 10 results.
    pub fn new(query: impl Into<String>) -> Self {
        RecallRequest {
            query: query.into(),
            namespaces: Vec::new(),
            layers: None,
            limit: 10,
            categories: None,
            created_from: None,
            created_before: None,
            metadata: Metadata::new(),
            vector: None,
            explain: false,
            include_sensitive: false,
        }
    }
}

/// Which of the three outcomes a recall is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RecallOutcome {
    /// Everything ran and something matched.
    Ok,
    /// Everything ran and nothing matched.
    Empty,
    /// A part failed (see the warnings); the results are what the rest found.
    Degraded,
}

/// A recalled memory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recalled {
    /// The memory.
    pub memory: Memory,
    /// Pinned (identity or procedural) rather than ranked.
    pub pinned: bool,
    /// The final score (pinned memories: 0; they come first regardless).
    pub score: f64,
    /// Every component, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explain>,
}

/// Why a memory is where it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explain {
    /// Why it is pinned (pinned memories only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned_reason: Option<String>,
    /// The fused index score.
    pub fused: f32,
    /// BM25 score and rank, if the full-text side found it.
    pub text_score: Option<f32>,
    /// 1-based rank among full-text candidates.
    pub text_rank: Option<usize>,
    /// Cosine similarity, if the vector side found it.
    pub vector_score: Option<f32>,
    /// 1-based rank among vector candidates.
    pub vector_rank: Option<usize>,
    /// `fused / the best score fusion can give`.
    pub relevance: f64,
    /// Effective utility now (0..=1, neutral 0.5).
    pub utility: f64,
    /// `0.5 + utility`.
    pub utility_factor: f64,
    /// Age in days.
    pub age_days: f64,
    /// `2^(-age / half_life)` for episodic memories, else 1.
    pub recency: f64,
    /// Place of its namespace in the read order (0 first).
    pub read_position: usize,
    /// `1 / (1 + weight * position)`.
    pub position_factor: f64,
    /// `1 + ENTITY_BOOST` when the memory is linked to an entity the query names, else 1.
    pub entity_factor: f64,
    /// `1 + TIME_BOOST` when the query names a time ("last week", "in May") and the memory was
    /// made then, else 1.
    pub time_factor: f64,
    /// The product.
    pub score: f64,
}

/// The answer of a recall.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recall {
    /// `ok`, `empty` or `degraded`.
    pub outcome: RecallOutcome,
    /// Pinned first, then ranked, best first.
    pub memories: Vec<Recalled>,
    /// The namespaces read, in read order.
    pub namespaces: Vec<NamespaceKey>,
    /// What went wrong in a degraded recall, and plan warnings.
    pub warnings: Vec<String>,
}

impl Engine {
    /// How recall fuses the full-text and vector rankings of its candidates: the index's
    /// default. One place, so `memory eval` reports the fusion that actually ran.
    pub(crate) fn recall_fusion(&self) -> Fusion {
        Fusion::default()
    }

    /// Recalls the memories that matter for `request.query` from the caller's read set.
    pub async fn recall(&self, caller: &Caller, request: &RecallRequest) -> Result<Recall> {
        if request.limit == 0 || request.limit > MAX_RECALL_LIMIT {
            return Err(Error::invalid_input(format!("limit {} is outside 1..={MAX_RECALL_LIMIT}", request.limit)));
        }
        if request.query.len() > memory_core::MAX_LONG_TEXT_BYTES {
            return Err(Error::invalid_input(format!(
                "the query is {} bytes; at most {} are accepted",
                request.query.len(),
                memory_core::MAX_LONG_TEXT_BYTES
            )));
        }
        let filter_bytes = serde_json::to_vec(&request.metadata).map_or(usize::MAX, |v| v.len());
        if filter_bytes > memory_core::MAX_METADATA_BYTES {
            return Err(Error::invalid_input(format!(
                "the metadata filter is {filter_bytes} bytes as JSON; at most {} are accepted",
                memory_core::MAX_METADATA_BYTES
            )));
        }
        if let (Some(from), Some(before)) = (request.created_from, request.created_before)
            && from >= before
        {
            return Err(Error::invalid_input("created_from must be before created_before"));
        }
        let dimension = self.inner.embedder.dimension();
        if let Some(v) = &request.vector
            && (v.len() != dimension || v.iter().any(|x| !x.is_finite()))
        {
            return Err(Error::invalid_input(format!(
                "the query vector must hold {dimension} finite numbers; got {}",
                v.len()
            )));
        }
        let t = self.tenant(&caller.tenant).await?;
        let catalog = self.catalog(&t).await?;
        let read = ReadRequest::from_raw(&request.namespaces);
        let plan = self.plan(caller, catalog.as_ref(), read, None, request.include_sensitive);
        if let Some(e) = &plan.error {
            let err = plan_error(e.code, &e.message);
            let ns = request.namespaces.first().and_then(|n| NamespaceKey::new(n).ok());
            self.audit_denied(caller, ns.as_ref(), AuditOp::MemoryRecall, &err).await;
            return Err(err);
        }
        let now = self.now();
        let settings = &self.inner.recall;
        let read_order = plan.read;
        let restricted: Vec<&NamespaceKey> = read_order.iter().filter(|ns| catalog.is_restricted(ns)).collect();
        if !restricted.is_empty() {
            let detail = serde_json::json!({ "query_bytes": request.query.len() });
            self.audit_restricted_read(caller, &catalog, &restricted, AuditOp::MemoryRecall, detail).await?;
        }
        let position: HashMap<&NamespaceKey, usize> = read_order.iter().enumerate().map(|(i, n)| (n, i)).collect();
        let mut warnings = plan.warnings;
        let mut degraded = false;

        // One hop to the blocking pool finds both parts in the index (caught up with the
        // store first: cheap when nothing is new), one store read loads the pinned memories
        // with the best candidates, and later reads only happen when those do not settle the
        // answer.
        // 1. Pinned: identity (unless a layers filter leaves it out) and procedural (always).
        let wants = |l: Layer| request.layers.as_ref().is_none_or(|ls| ls.contains(&l));
        let pinned_layers: Vec<Layer> =
            [Layer::Identity, Layer::Procedural].into_iter().filter(|l| *l == Layer::Procedural || wants(*l)).collect();
        let want_pinned = settings.pinned_limit > 0 && !read_order.is_empty();
        // 2. Ranked hybrid candidates.
        let ranked_layers: Vec<Layer> = RANKED.into_iter().filter(|l| wants(*l)).collect();
        let want_ranked = !ranked_layers.is_empty() && !read_order.is_empty();
        let found = if want_pinned || want_ranked {
            let index = self.catch_up_unless_busy(&t).await?;
            let embed = match &request.vector {
                Some(v) => Embed::Given(v.clone()),
                None if !want_ranked || request.query.trim().is_empty() => Embed::None,
                None => Embed::Query(self.inner.embedder.clone()),
            };
            let query = SearchQuery {
                text: request.query.clone(),
                vector: None,
                namespaces: read_order.clone(),
                layers: Some(ranked_layers),
                categories: request.categories.clone(),
                created_from: request.created_from,
                created_before: request.created_before,
                valid_at: Some(now),
                metadata: request.metadata.clone(),
                exclude: Vec::new(),
                // Pinned memories take some of the room, but not more than the limit.
                limit: (settings.candidates as usize).max(request.limit),
                fusion: self.recall_fusion(),
            };
            let layers = want_pinned.then(|| pinned_layers.clone());
            blocking_value("search", move || Ok(find(&index, layers.as_deref(), want_ranked, embed, query))).await?
        } else {
            Found::default()
        };
        if let Some(w) = found.warning {
            degraded = true;
            warnings.push(w);
        }

        let first_batch = candidate_batch(request.limit).min(found.hits.len());
        let mut ids: Vec<MemoryId> = found.pinned.clone();
        ids.extend(found.hits[..first_batch].iter().map(|h| h.id));
        let mut loaded: HashMap<MemoryId, Memory> = if ids.is_empty() {
            HashMap::new()
        } else {
            self.inner.store.get_memories(&caller.tenant, &ids).await?.into_iter().map(|m| (m.id, m)).collect()
        };
        // The store's rows are the truth: a pinned memory the index knew of may have changed since.
        let mut pinned: Vec<Memory> = found
            .pinned
            .iter()
            .filter_map(|id| loaded.remove(id))
            .filter(|m| {
                pinned_layers.contains(&m.layer) && m.superseded_by.is_none() && position.contains_key(&m.namespace)
            })
            .collect();
        pinned.sort_by(|a, b| {
            position[&a.namespace]
                .cmp(&position[&b.namespace])
                .then_with(|| a.layer.cmp(&b.layer))
                .then_with(|| b.confidence.value().total_cmp(&a.confidence.value()))
                .then_with(|| b.stats.effective_utility(now).total_cmp(&a.stats.effective_utility(now)))
                .then_with(|| b.created_at.cmp(&a.created_at))
        });
        let mut seen: HashSet<ContentHash> = HashSet::new();
        pinned.retain(|m| seen.insert(m.content_hash.clone()));
        pinned.truncate((settings.pinned_limit as usize).min(request.limit));

        let room = request.limit - pinned.len();
        let ranked = if room > 0 {
            self.rescore(caller, found.hits, loaded, room, &position, &seen, now, request).await?
        } else {
            Vec::new()
        };

        // 3. Merge: pinned first, then ranked.
        let mut memories: Vec<Recalled> = pinned
            .into_iter()
            .map(|m| {
                let explain = request.explain.then(|| Explain {
                    pinned_reason: Some(format!(
                        "{} memory of {:?} (read position {}): pinned into every recall",
                        m.layer,
                        m.namespace.as_str(),
                        position[&m.namespace]
                    )),
                    ..pinned_explain(&m, now, position[&m.namespace])
                });
                Recalled { memory: m, pinned: true, score: 0.0, explain }
            })
            .collect();
        memories.extend(ranked);
        let outcome = if degraded {
            RecallOutcome::Degraded
        } else if memories.is_empty() {
            RecallOutcome::Empty
        } else {
            RecallOutcome::Ok
        };
        Ok(Recall { outcome, memories, namespaces: read_order, warnings })
    }

    /// Loads the hits' memories and scores them; drops anything that stopped qualifying since
    /// it was indexed (deleted, superseded, expired, moved out of the read set). Returns the
    /// best `room` (fewer when fewer qualify), best first.
    ///
    /// Hits are loaded best first, a batch at a time, and loading stops once no hit left can
    /// make the answer: a hit's score is at most `relevance * MAX_UTILITY_FACTOR *
    /// position_factor` (recency is at most 1), so when that bound of the next hit is below the
    /// `room`-th best score loaded, the rest cannot change the answer. Most recalls load one
    /// batch instead of every candidate. Memories already in `loaded` (the first batch, read
    /// with the pinned ones) are not read again.
    #[allow(clippy::too_many_arguments)]
    async fn rescore(
        &self,
        caller: &Caller,
        hits: Vec<Hit>,
        mut loaded: HashMap<MemoryId, Memory>,
        room: usize,
        position: &HashMap<&NamespaceKey, usize>,
        pinned: &HashSet<ContentHash>,
        now: Timestamp,
        request: &RecallRequest,
    ) -> Result<Vec<Recalled>> {
        let best = self.recall_fusion().best_possible();
        let hits: Vec<Hit> = hits.into_iter().filter(clears_floor).collect();
        let settings = &self.inner.recall;
        let position_factor = |pos: usize| 1.0 / (1.0 + settings.read_order_weight * pos as f64);
        let bound = |h: &Hit| {
            let pos = position.get(&h.namespace).copied().unwrap_or(0);
            f64::from(h.score / best) * MAX_UTILITY_FACTOR * position_factor(pos)
        };
        // Memories that share an entity with the query rank higher; the bound allows for it.
        let entity_keys: Vec<String> = memory_consolidate::extract_entities(&request.query)
            .into_iter()
            .map(|e| memory_core::Entity::key_of(&e.name))
            .collect();
        let window = memory_consolidate::query_window(&request.query, now);
        let most_boost = if entity_keys.is_empty() { 1.0 } else { 1.0 + ENTITY_BOOST }
            * if window.is_some() { 1.0 + TIME_BOOST } else { 1.0 };
        let bound = |h: &Hit| bound(h) * most_boost;
        let batch = candidate_batch(room);
        let mut out: Vec<Recalled> = Vec::with_capacity(room);
        let mut rest = hits.as_slice();
        while !rest.is_empty() {
            if out.len() >= room && rest.iter().map(bound).fold(0.0, f64::max) < out[room - 1].score {
                break;
            }
            let (next, later) = rest.split_at(batch.min(rest.len()));
            rest = later;
            let ids: Vec<MemoryId> = next.iter().map(|h| h.id).filter(|id| !loaded.contains_key(id)).collect();
            if !ids.is_empty() {
                loaded
                    .extend(self.inner.store.get_memories(&caller.tenant, &ids).await?.into_iter().map(|m| (m.id, m)));
            }
            let sharing: HashSet<MemoryId> = if entity_keys.is_empty() {
                HashSet::new()
            } else {
                let ids: Vec<MemoryId> = next.iter().map(|h| h.id).collect();
                let links = self.inner.store.entities_of(&caller.tenant, &ids).await?;
                links.into_iter().filter(|(_, e)| entity_keys.contains(&e.key)).map(|(id, _)| id).collect()
            };
            for hit in next {
                let Some(m) = loaded.remove(&hit.id) else { continue };
                let Some(&pos) = position.get(&m.namespace) else { continue };
                if m.superseded_by.is_some() || m.is_expired(now) || m.layer.is_pinned() {
                    continue;
                }
                let relevance = f64::from(hit.score / best);
                let utility = m.stats.effective_utility(now);
                let utility_factor = 0.5 + utility;
                let age_days = (now.as_micros() - m.created_at.as_micros()).max(0) as f64 / 86_400e6;
                let recency =
                    if m.layer == Layer::Episodic { recency(age_days, settings.recency_half_life_days) } else { 1.0 };
                let position_factor = position_factor(pos);
                let entity_factor = if sharing.contains(&m.id) { 1.0 + ENTITY_BOOST } else { 1.0 };
                let time_factor = if window.is_some_and(|w| w.contains(m.created_at)) { 1.0 + TIME_BOOST } else { 1.0 };
                let score = relevance * utility_factor * recency * position_factor * entity_factor * time_factor;
                let explain = request.explain.then_some(Explain {
                    pinned_reason: None,
                    fused: hit.score,
                    text_score: hit.text_score,
                    text_rank: hit.text_rank,
                    vector_score: hit.vector_score,
                    vector_rank: hit.vector_rank,
                    relevance,
                    utility,
                    utility_factor,
                    age_days,
                    recency,
                    read_position: pos,
                    position_factor,
                    entity_factor,
                    time_factor,
                    score,
                });
                out.push(Recalled { memory: m, pinned: false, score, explain });
            }
            out.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.memory.id.cmp(&b.memory.id)));
            let mut seen = pinned.clone();
            out.retain(|r| seen.insert(r.memory.content_hash.clone()));
        }
        out.truncate(room);
        Ok(out)
    }
}

/// The least cosine similarity a candidate found by the vector side alone needs to be recalled.
/// Every vector is "nearest" to something, so without a floor a query about nothing in
/// memory still fills its limit; with it such a recall is `empty`. Candidates that match a
/// query word (BM25) always qualify.
/// Measured with `memory eval` on `testdata/eval/`: 0.1 keeps recall@10 of the shipped model
/// within 0.005 of no floor on both sets (0.2 costs 0.01-0.02, 0.3 up to 0.04), and sends
/// nonsense queries ("xqzv blorf wibble") to `empty`.
pub const VECTOR_FLOOR: f32 = 0.1;

/// Whether a candidate is related to the query at all (see [`VECTOR_FLOOR`]).
fn clears_floor(hit: &Hit) -> bool {
    hit.text_score.is_some() || hit.vector_score.is_some_and(|cos| cos >= VECTOR_FLOOR)
}

/// The share of an episodic memory's score that never decays, so recency orders near-equals
/// instead of burying answers from earlier sessions under any recent turn. Measured with
/// `memory eval` on `testdata/eval/` (conversations over months, asked after the last turn),
/// shipped model, recall@10 / MRR on conversations and dialogues: floor 0 (pure decay)
/// 0.855 / 0.522 and 0.688 / 0.389; 0.25: 0.890 / 0.562 and 0.800 / 0.482; 0.5: 0.897 / 0.609
/// and 0.820 / 0.552; 0.75: 0.900 / 0.635 and 0.823 / 0.636 (the hash embedder agrees).
pub const RECENCY_FLOOR: f64 = 0.75;

/// The recency factor of an episodic memory `age_days` old.
fn recency(age_days: f64, half_life_days: f64) -> f64 {
    RECENCY_FLOOR + (1.0 - RECENCY_FLOOR) * (-age_days / half_life_days).exp2()
}

/// How much more a ranked memory scores when it is linked to an entity the query names.
pub const ENTITY_BOOST: f64 = 0.25;

/// How much more a ranked memory scores when the query names a time ("last week", "in May",
/// resolved against the recall's now by `memory_consolidate::query_window`) and the memory was
/// made then. Measured with `memory eval` on `testdata/eval/dialogues.jsonl`, shipped model,
/// temporal questions recall@10 / MRR: no boost 0.740 / 0.541, 0.5: 0.799 / 0.625, 1.0: 0.805 /
/// 0.654, 2.0: 0.829 / 0.664; 1.0 doubles a memory of that time without letting the time alone
/// outrank a much better match. Questions without time words are untouched.
pub const TIME_BOOST: f64 = 1.0;

/// How many candidates a recall with `room` places left loads at a time.
fn candidate_batch(room: usize) -> usize {
    (2 * room).max(16)
}

/// How a recall gets its query vector.
enum Embed {
    /// No vector search (no query text, or no ranked layers).
    None,
    /// The caller's vector.
    Given(Vec<f32>),
    /// Embedded from the query text.
    Query(std::sync::Arc<dyn memory_embed::Embedder>),
}

/// What a recall finds in the index.
#[derive(Default)]
struct Found {
    /// The pinned memories the index holds in the read set, in read order.
    pinned: Vec<MemoryId>,
    /// Ranked candidates, best first.
    hits: Vec<Hit>,
    /// Why the recall is degraded, when a part failed.
    warning: Option<String>,
}

/// The index part of a recall, on a blocking thread: the pinned memories of `pinned_layers`
/// (when asked), the query vector and the search (when ranked results are wanted). A failing
/// embedder or search degrades the recall instead of failing it.
fn find(
    index: &MemoryIndex,
    pinned_layers: Option<&[Layer]>,
    ranked: bool,
    embed: Embed,
    mut query: SearchQuery,
) -> Found {
    let mut found = Found::default();
    if let Some(layers) = pinned_layers {
        found.pinned = index.ids_in(&query.namespaces, layers);
    }
    if !ranked {
        return found;
    }
    query.vector = match embed {
        Embed::None => None,
        Embed::Given(v) => Some(v),
        Embed::Query(embedder) => match embedder.embed(&[query.text.as_str()]) {
            Ok(mut v) => v.pop(),
            Err(e) => {
                found.warning = Some(format!("degraded: the embedder failed ({e}); full-text results only"));
                None
            }
        },
    };
    match index.search(&query) {
        Ok(r) => found.hits = r.hits,
        Err(e) => found.warning = Some(format!("degraded: the index search failed ({e})")),
    }
    found
}

/// The largest `utility_factor` (`0.5 + utility`, utility in `0..=1`).
const MAX_UTILITY_FACTOR: f64 = 1.5;

/// The components of a pinned memory (it is not ranked: relevance and score are 0).
fn pinned_explain(m: &Memory, now: Timestamp, position: usize) -> Explain {
    let utility = m.stats.effective_utility(now);
    Explain {
        pinned_reason: None,
        fused: 0.0,
        text_score: None,
        text_rank: None,
        vector_score: None,
        vector_rank: None,
        relevance: 0.0,
        utility,
        utility_factor: 0.5 + utility,
        age_days: (now.as_micros() - m.created_at.as_micros()).max(0) as f64 / 86_400e6,
        recency: 1.0,
        read_position: position,
        position_factor: 1.0,
        entity_factor: 1.0,
        time_factor: 1.0,
        score: 0.0,
    }
}
