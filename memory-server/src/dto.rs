//! The wire shapes of the HTTP API, the MCP tools and the CLI's `--json` output: one DTO per
//! answer, converted by hand from engine types so that a change inside the engine never changes
//! the API by accident. Requests are parsed into engine inputs here too, with errors that name
//! the field.
//!
//! Every type derives `ToSchema` (the OpenAPI document) and `JsonSchema` (MCP tool schemas).
//! Times are RFC 3339 strings in UTC; ids are UUID strings.

use std::collections::BTreeMap;

use memory_core::{
    ApiKey, AuditRecord, Category, Confidence, Entity, EntityId, Error, Job, JobRun, KeyScope, Layer, Memory, MemoryId,
    Namespace, NamespaceKey, NamespacePatch, Outcome, PageRequest, Permission, Proposal, ProposalId, Result, Timestamp,
};
use memory_engine::{
    CatalogRebuild, ConsolidateRequest, Consolidation, Duplicate, EntityMemories, Explain, IssuedKey, MaintainRequest,
    MaintenanceReport, MemoryInput, MigrateRequest, Migration, NamespaceInfo, Promoted, Recall, RecallOutcome,
    RecallRequest, Recalled, TransferReport, Written,
};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

/// Free-form JSON object of a memory or namespace.
pub type Metadata = BTreeMap<String, Value>;

// ---- errors -------------------------------------------------------------------------------

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct ErrorDetail {
    /// `invalid_input`, `unauthenticated`, `forbidden`, `not_found`, `already_exists`,
    /// `conflict`, `payload_too_large`, `rate_limited`, `unavailable` or `internal`.
    pub code: String,
    /// A sentence naming the problem.
    pub message: String,
    /// More about it, when there is more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

// ---- memories -----------------------------------------------------------------------------

/// A stored memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct MemoryDto {
    /// UUIDv7 id.
    pub id: String,
    /// The namespace key.
    pub namespace: String,
    /// identity, procedural, semantic, episodic or working.
    pub layer: String,
    /// The text.
    pub content: String,
    /// fact, preference, decision, correction, rule, procedure, event, entity, observation, ...
    pub category: String,
    /// 0..=1.
    pub confidence: f64,
    /// explicit, implied, inferred or speculative.
    pub confidence_tier: String,
    /// When it was remembered.
    pub created_at: String,
    /// Its last change.
    pub updated_at: String,
    /// When a working memory expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Free-form metadata.
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    /// Where it came from.
    pub provenance: ProvenanceDto,
    /// The memory it corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
    /// The memory that corrected it (then it is no longer recalled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// The memory it was promoted from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from: Option<String>,
    /// Usage statistics.
    pub stats: StatsDto,
}

/// Where a memory came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct ProvenanceDto {
    /// The conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// The session key of the write.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Who wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

/// How a memory has been used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct StatsDto {
    /// Learned utility, 0..=1 (neutral 0.5).
    pub utility: f64,
    /// How often the same content was written.
    pub evidence_count: u64,
    /// How often it was recalled.
    pub access_count: u64,
    /// Outcome reports that it helped.
    pub helpful_count: u64,
    /// Outcome reports that it did not.
    pub unhelpful_count: u64,
    /// When it was last recalled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_at: Option<String>,
}

impl From<&Memory> for MemoryDto {
    fn from(m: &Memory) -> Self {
        MemoryDto {
            id: m.id.to_string(),
            namespace: m.namespace.to_string(),
            layer: m.layer.to_string(),
            content: m.content.clone(),
            category: m.category.to_string(),
            confidence: m.confidence.value(),
            confidence_tier: m.tier().to_string(),
            created_at: m.created_at.to_string(),
            updated_at: m.updated_at.to_string(),
            expires_at: m.expires_at.map(|t| t.to_string()),
            metadata: m.metadata.clone(),
            provenance: ProvenanceDto {
                conversation_id: m.provenance.conversation_id.clone(),
                session_key: m.provenance.session_key.clone(),
                principal: m.provenance.principal.as_ref().map(ToString::to_string),
            },
            supersedes: m.supersedes.map(|id| id.to_string()),
            superseded_by: m.superseded_by.map(|id| id.to_string()),
            promoted_from: m.promoted_from.map(|id| id.to_string()),
            stats: StatsDto {
                utility: m.stats.utility,
                evidence_count: m.stats.evidence_count,
                access_count: m.stats.access_count,
                helpful_count: m.stats.helpful_count,
                unhelpful_count: m.stats.unhelpful_count,
                last_accessed_at: m.stats.last_accessed_at.map(|t| t.to_string()),
            },
        }
    }
}

/// A memory to remember (`POST /v1/memories`, the `memory_store` tool).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMemory {
    /// The text to remember.
    pub content: String,
    /// Where to write it [default: the caller's write default, e.g. the key's default
    /// namespace].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// identity, procedural, semantic, episodic or working [default: episodic].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// The category [default: event for episodic memories, else fact].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// How much it is trusted, 0..=1 [default: 1].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The conversation it came from [default: the session key].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// The client's session key (session-key rules, provenance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// When a working memory expires (RFC 3339, in the future; working memories only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
    /// The id of a memory this one corrects (it stops being recalled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
}

impl CreateMemory {
    /// The engine input; `field` prefixes error messages (e.g. `memories[3]`).
    pub fn to_input(&self, field: &str) -> Result<MemoryInput> {
        let at = |name: &str| if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
        if self.content.trim().is_empty() {
            return Err(Error::invalid_input(format!("{}: the content is empty", at("content"))));
        }
        let layer = match &self.layer {
            Some(l) => parse::<Layer>(&at("layer"), l)?,
            None => Layer::Episodic,
        };
        let mut input = MemoryInput::new(layer, self.content.clone());
        if let Some(ns) = &self.namespace {
            namespace_key(&at("namespace"), ns)?;
            input.namespace = Some(ns.clone());
        }
        input.category = self
            .category
            .as_deref()
            .map(|c| Category::new(c).map_err(|e| field_error(&at("category"), &e)))
            .transpose()?;
        input.confidence =
            self.confidence.map(|c| Confidence::new(c).map_err(|e| field_error(&at("confidence"), &e))).transpose()?;
        input.expires_at = self.expires_at.as_deref().map(|t| timestamp(&at("expires_at"), t)).transpose()?;
        input.conversation_id.clone_from(&self.conversation_id);
        input.metadata = self.metadata.clone().unwrap_or_default();
        input.supersedes = self.supersedes.as_deref().map(|id| memory_id(&at("supersedes"), id)).transpose()?;
        Ok(input)
    }
}

/// What a write did (`201` new, `200` when the content was already there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct WrittenDto {
    /// The memory's id (also in `memory`, for clients that need only this).
    pub id: String,
    /// Where it is.
    pub namespace: String,
    /// `false` when the content was already there (the opposite of `duplicate`).
    pub created: bool,
    /// The memory: the new one, or the one that already held the content.
    pub memory: MemoryDto,
    /// `true` when the same content was already in the namespace and layer.
    pub duplicate: bool,
    /// For a duplicate: what this write added to the existing memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergedDto>,
    /// Copies made by auto-promotion.
    #[serde(default)]
    pub promoted: Vec<PromotedDto>,
    /// Anything the caller should know.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// What a repeated write handed to the memory that already held its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct MergedDto {
    /// The later expiry it moved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The higher confidence it rose to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// The metadata keys it set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<String>,
}

impl WrittenDto {
    /// The DTO of `written`, whose memory is `memory`.
    pub fn new(written: &Written, memory: &Memory) -> Self {
        WrittenDto {
            id: written.id.to_string(),
            namespace: written.namespace.to_string(),
            created: written.created,
            memory: memory.into(),
            duplicate: !written.created,
            merged: written.merged.as_ref().map(|m| MergedDto {
                expires_at: m.expires_at.map(|t| t.to_string()),
                confidence: m.confidence.map(|c| c.value()),
                metadata: m.metadata.clone(),
            }),
            promoted: written.promoted.iter().map(PromotedDto::from).collect(),
            warnings: written.warnings.clone(),
        }
    }
}

/// Several memories at once, validated whole (`POST /v1/memories/batch`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBatch {
    /// The memories; a bad one fails the whole batch and writes nothing.
    pub memories: Vec<CreateMemory>,
    /// The session key of every memory of the batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
}

/// What a batch did, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct BatchWritten {
    /// One answer per input.
    pub memories: Vec<WrittenDto>,
}

/// A page of memories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct MemoryPage {
    /// The memories, in id order.
    pub memories: Vec<MemoryDto>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The answer of `DELETE /v1/memories/{id}` and the `memory_forget` tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct Forgotten {
    /// The deleted memory's id.
    pub forgotten: String,
}

// ---- recall -------------------------------------------------------------------------------

/// A recall (`POST /v1/recall`, the `memory_recall` tool).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallBody {
    /// What the caller is working on.
    pub query: String,
    /// Namespaces to read: none = the default read set, `["*"]` = every readable one, or an
    /// explicit list (each must be readable: 403 when not, 404 when missing or archived).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<Vec<String>>,
    /// Only these layers (procedural memories are always pinned in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layers: Option<Vec<String>>,
    /// Most memories returned, pinned ones included [default: 10].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Filters of ranked memories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<RecallFilters>,
    /// Return every score component.
    #[serde(default)]
    pub explain: bool,
    /// With `["*"]`: also read `sensitive` namespaces (`restricted` ones are read only when
    /// named) [default: false].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_sensitive: bool,
    /// The client's session key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
}

/// Filters of ranked memories.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecallFilters {
    /// Only these categories.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Created at or after (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// Created before (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// Metadata entries that must be equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
}

impl RecallBody {
    /// The engine request, bounded by `max_limit`.
    pub fn to_request(&self, max_limit: usize) -> Result<RecallRequest> {
        let mut r = RecallRequest::new(self.query.clone());
        if self.query.trim().is_empty() {
            return Err(Error::invalid_input("query: the query is empty"));
        }
        if let Some(list) = &self.namespaces {
            for ns in list {
                if ns.trim() != "*" {
                    namespace_key("namespaces", ns)?;
                }
            }
            r.namespaces.clone_from(list);
        }
        if let Some(layers) = &self.layers {
            r.layers = Some(layers.iter().map(|l| parse::<Layer>("layers", l)).collect::<Result<_>>()?);
        }
        if let Some(limit) = self.limit {
            if limit == 0 || limit > max_limit {
                return Err(Error::invalid_input(format!("limit: must be 1..={max_limit}; got {limit}")));
            }
            r.limit = limit;
        }
        if let Some(f) = &self.filters {
            if let Some(c) = &f.categories {
                r.categories = Some(
                    c.iter()
                        .map(|c| Category::new(c).map_err(|e| field_error("filters.categories", &e)))
                        .collect::<Result<_>>()?,
                );
            }
            r.created_from = f.since.as_deref().map(|t| timestamp("filters.since", t)).transpose()?;
            r.created_before = f.until.as_deref().map(|t| timestamp("filters.until", t)).transpose()?;
            if let (Some(a), Some(b)) = (r.created_from, r.created_before)
                && a >= b
            {
                return Err(Error::invalid_input("filters.since: must be before filters.until"));
            }
            r.metadata = f.metadata.clone().unwrap_or_default();
        }
        r.explain = self.explain;
        r.include_sensitive = self.include_sensitive;
        Ok(r)
    }
}

/// The answer of a recall.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct RecallResponse {
    /// `ok`, `empty` (nothing matched) or `degraded` (a part failed: see `warnings`).
    pub outcome: String,
    /// Pinned memories first, then ranked ones, best first.
    pub results: Vec<RecalledDto>,
    /// The namespaces read, in read order.
    pub namespaces: Vec<String>,
    /// What went wrong in a degraded recall, and plan warnings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// One recalled memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct RecalledDto {
    /// The memory.
    pub memory: MemoryDto,
    /// Its final score (0 for pinned memories, which come first).
    pub score: f64,
    /// Pinned (identity or procedural) rather than ranked.
    pub pinned: bool,
    /// Every score component, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explain: Option<ExplainDto>,
}

/// Why a memory is where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct ExplainDto {
    /// Why it is pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned_reason: Option<String>,
    /// The fused index score.
    pub fused: f64,
    /// BM25 score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_score: Option<f64>,
    /// Rank among full-text candidates (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_rank: Option<usize>,
    /// Cosine similarity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_score: Option<f64>,
    /// Rank among vector candidates (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_rank: Option<usize>,
    /// fused / best fused.
    pub relevance: f64,
    /// Effective utility.
    pub utility: f64,
    /// 0.5 + utility.
    pub utility_factor: f64,
    /// Age in days.
    pub age_days: f64,
    /// Recency decay (episodic).
    pub recency: f64,
    /// Place of its namespace in the read order (0 first).
    pub read_position: usize,
    /// Factor of that place.
    pub position_factor: f64,
    /// Boost for sharing an entity with the query (1 when it shares none).
    pub entity_factor: f64,
    /// Boost for being made when the query says ("last week", "in May"; 1 otherwise).
    pub time_factor: f64,
    /// The product.
    pub score: f64,
}

impl From<&Explain> for ExplainDto {
    fn from(e: &Explain) -> Self {
        ExplainDto {
            pinned_reason: e.pinned_reason.clone(),
            fused: f64::from(e.fused),
            text_score: e.text_score.map(f64::from),
            text_rank: e.text_rank,
            vector_score: e.vector_score.map(f64::from),
            vector_rank: e.vector_rank,
            relevance: e.relevance,
            utility: e.utility,
            utility_factor: e.utility_factor,
            age_days: e.age_days,
            recency: e.recency,
            read_position: e.read_position,
            position_factor: e.position_factor,
            entity_factor: e.entity_factor,
            time_factor: e.time_factor,
            score: e.score,
        }
    }
}

impl From<&Recalled> for RecalledDto {
    fn from(r: &Recalled) -> Self {
        RecalledDto {
            memory: (&r.memory).into(),
            score: r.score,
            pinned: r.pinned,
            explain: r.explain.as_ref().map(ExplainDto::from),
        }
    }
}

impl From<&Recall> for RecallResponse {
    fn from(r: &Recall) -> Self {
        RecallResponse {
            outcome: outcome_name(r.outcome).to_owned(),
            results: r.memories.iter().map(RecalledDto::from).collect(),
            namespaces: r.namespaces.iter().map(ToString::to_string).collect(),
            warnings: r.warnings.clone(),
        }
    }
}

/// `ok`, `empty` or `degraded`.
pub fn outcome_name(o: RecallOutcome) -> &'static str {
    match o {
        RecallOutcome::Ok => "ok",
        RecallOutcome::Empty => "empty",
        RecallOutcome::Degraded => "degraded",
    }
}

// ---- observe, outcomes, promote ------------------------------------------------------------

/// Chat messages to remember as episodes (`POST /v1/observe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ObserveBody {
    /// The client's session key (the conversation, and the session-key rules).
    pub session_key: String,
    /// The messages, in order.
    pub messages: Vec<MessageDto>,
    /// Where to write them [default: the write default].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageDto {
    /// user, assistant, system, tool, ...
    pub role: String,
    /// The text.
    pub content: String,
}

/// What an observe wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct Observed {
    /// The episodic memories, one per non-blank message.
    pub memories: Vec<WrittenDto>,
}

/// An outcome report (`POST /v1/outcomes`, the `memory_report_outcome` tool).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutcomeBody {
    /// The memories the outcome is about.
    pub memory_ids: Vec<String>,
    /// `"helpful"`, `"unhelpful"` or a reward in -1..=1.
    #[schema(value_type = Object)]
    #[schemars(with = "Value")]
    pub outcome: Value,
}

impl OutcomeBody {
    /// The ids (each once) and the outcome.
    pub fn parse(&self) -> Result<(Vec<MemoryId>, Outcome)> {
        if self.memory_ids.is_empty() {
            return Err(Error::invalid_input("memory_ids: name at least one memory"));
        }
        let mut ids = Vec::new();
        for raw in &self.memory_ids {
            let id = memory_id("memory_ids", raw)?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let outcome = match &self.outcome {
            Value::String(s) if s == "helpful" => Outcome::Helpful,
            Value::String(s) if s == "unhelpful" => Outcome::Unhelpful,
            Value::Number(n) => match n.as_f64() {
                Some(r) if (-1.0..=1.0).contains(&r) => Outcome::Reward(r),
                _ => return Err(Error::invalid_input(format!("outcome: a reward must be in -1..=1; got {n}"))),
            },
            other => {
                return Err(Error::invalid_input(format!(
                    "outcome: expected \"helpful\", \"unhelpful\" or a number in -1..=1; got {other}"
                )));
            }
        };
        Ok((ids, outcome))
    }
}

/// What an outcome report recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct Reported {
    /// The memories.
    pub memory_ids: Vec<String>,
    /// The reward recorded, in -1..=1.
    pub reward: f64,
}

/// A promotion (`POST /v1/memories/{id}/promote`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteBody {
    /// The target namespace [default: the first authorized promotion target].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A promoted copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct PromotedDto {
    /// The copy (or the memory that already held the content there).
    pub id: String,
    /// Where it is.
    pub namespace: String,
    /// `false` when the target already held the content.
    pub created: bool,
}

impl From<&Promoted> for PromotedDto {
    fn from(p: &Promoted) -> Self {
        PromotedDto { id: p.id.to_string(), namespace: p.namespace.to_string(), created: p.created }
    }
}

// ---- namespaces ---------------------------------------------------------------------------

/// A namespace of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct NamespaceDto {
    /// The stable key.
    pub key: String,
    /// The display name.
    pub name: String,
    /// The same display name, under the catalog's own word for it.
    pub display_name: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// normal, sensitive or restricted.
    pub sensitivity: String,
    /// public, org, team or private.
    pub default_access: String,
    /// Memories older than this many days are deleted by maintenance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// default, shared, self, project, branch, team-project or explicit.
    pub kind: String,
    /// active, archived or deleted.
    pub status: String,
    /// Free-form metadata.
    #[schema(value_type = Object)]
    pub metadata: Metadata,
    /// Created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Last write of a memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_write_at: Option<String>,
    /// Live memories (listings and `GET` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memories: Option<u64>,
    /// The principal that created it over the API or the CLI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// The id of the API key it was created with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_key: Option<String>,
}

impl From<&Namespace> for NamespaceDto {
    fn from(n: &Namespace) -> Self {
        NamespaceDto {
            key: n.key.to_string(),
            name: n.display_name.clone(),
            display_name: n.display_name.clone(),
            description: n.description.clone(),
            team: n.team.clone(),
            sensitivity: n.sensitivity.to_string(),
            default_access: n.default_access.to_string(),
            retention_days: n.retention_days,
            kind: n.kind.to_string(),
            status: n.status.to_string(),
            metadata: n.metadata.clone(),
            created_at: n.created_at.to_string(),
            updated_at: n.updated_at.to_string(),
            last_write_at: n.last_write_at.map(|t| t.to_string()),
            memories: None,
            created_by: n.created_by.as_ref().map(|p| p.to_string()),
            created_by_key: n.created_by_key.as_ref().map(|k| k.to_string()),
        }
    }
}

impl From<&NamespaceInfo> for NamespaceDto {
    fn from(i: &NamespaceInfo) -> Self {
        NamespaceDto { memories: Some(i.memories), ..NamespaceDto::from(&i.namespace) }
    }
}

/// The catalog (`GET /v1/namespaces`, the `memory_namespaces` tool).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct NamespaceList {
    /// The namespaces, by key.
    pub namespaces: Vec<NamespaceDto>,
}

/// A namespace to create (`POST /v1/namespaces`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateNamespace {
    /// The stable key [default: derived from `name`, `"Customer Data"` -> `customer-data`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The display name [default: the key].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// normal, sensitive or restricted [default: normal].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<String>,
    /// public, org, team or private [default: team].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_access: Option<String>,
    /// Delete memories older than this many days (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
}

impl CreateNamespace {
    /// The key to create: the one given, else the one `seeds/004` derives from the name (a taken
    /// key is then a 409 naming it, never a silent suffix).
    pub fn key(&self) -> Result<String> {
        match (&self.key, &self.name) {
            (Some(key), _) => Ok(key.clone()),
            (None, Some(name)) => Ok(NamespaceKey::from_name(name)?.to_string()),
            (None, None) => Err(Error::invalid_input("a namespace needs a key or a name to derive one from")),
        }
    }

    /// The attributes to set on the new namespace.
    pub fn patch(&self) -> Result<NamespacePatch> {
        let mut p = NamespacePatch::default();
        p.display_name.clone_from(&self.name);
        p.description = self.description.clone().map(Some);
        p.team = self.team.clone().map(Some);
        p.sensitivity = self.sensitivity.as_deref().map(|s| parse("sensitivity", s)).transpose()?;
        p.default_access = self.default_access.as_deref().map(|s| parse("default_access", s)).transpose()?;
        p.retention_days = self.retention_days.map(Some);
        p.metadata.clone_from(&self.metadata);
        Ok(p)
    }
}

/// Changes to a namespace (`PATCH /v1/namespaces/{key}`); `null` clears an optional field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateNamespace {
    /// The display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What it is for (`null` clears it).
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    #[schemars(with = "Option<String>")]
    pub description: Option<Option<String>>,
    /// The owning team (`null` clears it).
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    #[schemars(with = "Option<String>")]
    pub team: Option<Option<String>>,
    /// normal, sensitive or restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<String>,
    /// public, org, team or private.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_access: Option<String>,
    /// Retention in days (`null` keeps memories forever).
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<u32>)]
    #[schemars(with = "Option<u32>")]
    pub retention_days: Option<Option<u32>>,
    /// Free-form metadata (replaces the old).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Metadata>,
}

impl UpdateNamespace {
    /// The patch.
    pub fn patch(&self) -> Result<NamespacePatch> {
        let mut p = NamespacePatch::default();
        p.display_name.clone_from(&self.name);
        p.description.clone_from(&self.description);
        p.team.clone_from(&self.team);
        p.sensitivity = self.sensitivity.as_deref().map(|s| parse("sensitivity", s)).transpose()?;
        p.default_access = self.default_access.as_deref().map(|s| parse("default_access", s)).transpose()?;
        p.retention_days = self.retention_days;
        p.metadata.clone_from(&self.metadata);
        Ok(p)
    }
}

/// What a lifecycle change (archive, restore, delete) did to a namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct NamespaceChange {
    /// The namespace key.
    pub namespace: String,
    /// Its status now: active, archived or deleted.
    pub status: String,
    /// `false` when it was already in that state.
    pub changed: bool,
}

/// A namespace migration (`POST /v1/namespaces/{key}/migrate`): every memory of the path's
/// namespace moves into `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MigrateBody {
    /// The namespace that receives the memories.
    pub to: String,
    /// Move them; without it the answer is only the plan (a dry run).
    #[serde(default)]
    pub apply: bool,
    /// Memories per atomic batch (1..=1000) [default: 500].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
}

/// A memory of the source that duplicates one of the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct DuplicateDto {
    /// The memory of the source.
    pub id: String,
    /// The memory of the target with the same layer and content.
    pub into: String,
    /// Why it cannot merge (another category).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
}

/// What a migration does (dry run) or did (apply); the CLI's `namespaces migrate --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct MigrationDto {
    /// The source.
    pub from: String,
    /// The target.
    pub to: String,
    /// Whether memories were moved.
    pub applied: bool,
    /// Live memories of the source when planned (superseded ones included).
    pub memories: u64,
    /// Those that move as they are.
    pub moves: u64,
    /// Duplicates that merge into a memory of the target (moved in superseded by it).
    pub merges: Vec<DuplicateDto>,
    /// Duplicates of another category: an apply refuses while there are any.
    pub conflicts: Vec<DuplicateDto>,
    /// Memories moved by this apply.
    pub moved: u64,
    /// Batches this apply committed.
    pub batches: u64,
}

impl From<&Migration> for MigrationDto {
    fn from(m: &Migration) -> Self {
        let dup = |d: &Duplicate| DuplicateDto {
            id: d.id.to_string(),
            into: d.into.to_string(),
            conflict: d.conflict.clone(),
        };
        MigrationDto {
            from: m.from.to_string(),
            to: m.to.to_string(),
            applied: m.applied,
            memories: m.memories,
            moves: m.moves,
            merges: m.merges.iter().map(dup).collect(),
            conflicts: m.conflicts.iter().map(dup).collect(),
            moved: m.moved,
            batches: m.batches,
        }
    }
}

impl MigrateBody {
    /// The engine's request for migrating `from`.
    pub fn request(&self, from: &str) -> MigrateRequest {
        let mut request =
            if self.apply { MigrateRequest::apply(from, &self.to) } else { MigrateRequest::dry_run(from, &self.to) };
        if let Some(batch) = self.batch {
            request.batch = batch;
        }
        request
    }
}

/// What revoking a key did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct KeyRevoked {
    /// The key's id.
    pub key: String,
    /// `false` when it was already revoked.
    pub changed: bool,
}

// ---- keys ---------------------------------------------------------------------------------

/// One (namespace, permissions) grant of a key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeDto {
    /// The namespace key.
    pub namespace: String,
    /// `["read"]` or `["read", "write"]`.
    pub permissions: Vec<String>,
}

impl ScopeDto {
    fn parse(&self, at: &str) -> Result<KeyScope> {
        let namespace = namespace_key(&format!("{at}.namespace"), &self.namespace)?;
        let mut read = false;
        let mut write = false;
        for p in &self.permissions {
            match p.as_str() {
                "read" => read = true,
                "write" | "read_write" => write = true,
                other => {
                    return Err(Error::invalid_input(format!(
                        "{at}.permissions: unknown permission {other:?} (use \"read\" and \"write\")"
                    )));
                }
            }
        }
        let permission = match (read, write) {
            (_, true) => Permission::ReadWrite,
            (true, false) => Permission::Read,
            (false, false) => {
                return Err(Error::invalid_input(format!(
                    "{at}.permissions: give [\"read\"] or [\"read\", \"write\"]"
                )));
            }
        };
        Ok(KeyScope { namespace, permission })
    }
}

/// The scopes of a key body.
pub fn parse_scopes(scopes: &[ScopeDto]) -> Result<Vec<KeyScope>> {
    scopes.iter().enumerate().map(|(i, s)| s.parse(&format!("scopes[{i}]"))).collect()
}

/// A key to issue (`POST /v1/keys`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// The principal the key acts as.
    pub principal: String,
    /// A label [default: the principal].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Whether it manages its tenant.
    #[serde(default)]
    pub admin: bool,
    /// Where writes without a namespace go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_namespace: Option<String>,
    /// Grants; none means the principal's rights under the policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<ScopeDto>>,
}

/// Changes to a key (`PATCH /v1/keys/{id}`): its scopes and default namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateKey {
    /// The new grants (replace the old; `[]` = the principal's rights under the policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<ScopeDto>>,
    /// The new default namespace (`null` clears it).
    #[serde(default, deserialize_with = "double_option", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    #[schemars(with = "Option<String>")]
    pub default_namespace: Option<Option<String>>,
}

/// A stored key (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct KeyDto {
    /// The key's id.
    pub id: String,
    /// Its tenant.
    pub tenant: String,
    /// The principal it acts as.
    pub principal: String,
    /// Its label.
    pub label: String,
    /// Whether it manages its tenant.
    pub admin: bool,
    /// Where writes without a namespace go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_namespace: Option<String>,
    /// Its grants.
    pub scopes: Vec<ScopeDto>,
    /// Created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

impl From<&ApiKey> for KeyDto {
    fn from(k: &ApiKey) -> Self {
        KeyDto {
            id: k.id.to_string(),
            tenant: k.tenant.to_string(),
            principal: k.principal.to_string(),
            label: k.label.clone(),
            admin: k.admin,
            default_namespace: k.default_namespace.as_ref().map(ToString::to_string),
            scopes: k
                .scopes
                .iter()
                .map(|s| ScopeDto {
                    namespace: s.namespace.to_string(),
                    permissions: match s.permission {
                        Permission::Read => vec!["read".into()],
                        Permission::ReadWrite => vec!["read".into(), "write".into()],
                    },
                })
                .collect(),
            created_at: k.created_at.to_string(),
            updated_at: k.updated_at.to_string(),
            revoked_at: k.revoked_at.map(|t| t.to_string()),
        }
    }
}

/// An issued key, with its secret: shown this once, never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct IssuedKeyDto {
    /// The stored record.
    pub key: KeyDto,
    /// The secret to send as `Authorization: Bearer <secret>`.
    pub secret: String,
}

impl From<&IssuedKey> for IssuedKeyDto {
    fn from(k: &IssuedKey) -> Self {
        IssuedKeyDto { key: (&k.key).into(), secret: k.secret.clone() }
    }
}

/// The tenant's keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct KeyList {
    /// The keys, revoked ones included, by id.
    pub keys: Vec<KeyDto>,
}

// ---- consolidation and the review queue ---------------------------------------------------

/// A consolidation run (`POST /v1/consolidate`, the `memory_consolidate` tool).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsolidateBody {
    /// The namespace whose new episodes to consolidate [default: the caller's write default].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Most episodes to read in this run (at least 1) [default: 10000]; the next run goes on
    /// from where this one stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_episodes: Option<usize>,
}

impl ConsolidateBody {
    /// The engine request.
    pub fn to_request(&self) -> Result<ConsolidateRequest> {
        if let Some(ns) = &self.namespace {
            namespace_key("namespace", ns)?;
        }
        if self.max_episodes == Some(0) {
            return Err(Error::invalid_input("max_episodes: must be at least 1"));
        }
        Ok(ConsolidateRequest { namespace: self.namespace.clone(), max_episodes: self.max_episodes })
    }
}

/// A correction consolidation made: `new` supersedes `old`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct SupersededDto {
    /// The memory corrected (no longer recalled).
    pub old: String,
    /// The memory that corrects it.
    pub new: String,
}

/// What a consolidation run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct ConsolidationDto {
    /// The namespace consolidated.
    pub namespace: String,
    /// The extractor that read the episodes (`rules`, `llm:<model>`).
    pub extractor: String,
    /// Episodes read.
    pub episodes: usize,
    /// Candidate memories the extractor found.
    pub candidates: usize,
    /// New memories written.
    pub created: Vec<String>,
    /// Memories that gained evidence (restated).
    pub evidence: Vec<String>,
    /// Corrections.
    pub superseded: Vec<SupersededDto>,
    /// Identity proposals queued for review (`GET /v1/proposals`).
    pub proposed: Vec<String>,
    /// Copies made by auto-promotion.
    pub promoted: Vec<PromotedDto>,
    /// Entity links made.
    pub entity_links: usize,
    /// Candidates that changed nothing (already known, or older than what they contradict).
    pub unchanged: usize,
    /// Whether episodes remain for another run (over `max_episodes`).
    pub more: bool,
    /// Anything the caller should know.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl From<&Consolidation> for ConsolidationDto {
    fn from(c: &Consolidation) -> Self {
        let ids = |ids: &[MemoryId]| ids.iter().map(ToString::to_string).collect();
        ConsolidationDto {
            namespace: c.namespace.as_ref().map(ToString::to_string).unwrap_or_default(),
            extractor: c.extractor.clone(),
            episodes: c.episodes,
            candidates: c.candidates,
            created: ids(&c.created),
            evidence: ids(&c.evidence),
            superseded: c
                .superseded
                .iter()
                .map(|(old, new)| SupersededDto { old: old.to_string(), new: new.to_string() })
                .collect(),
            proposed: c.proposed.iter().map(ToString::to_string).collect(),
            promoted: c.promoted.iter().map(PromotedDto::from).collect(),
            entity_links: c.entity_links,
            unchanged: c.unchanged,
            more: c.more,
            warnings: c.warnings.clone(),
        }
    }
}

/// Which proposals (`GET /v1/proposals`, the `memory_proposals_list` tool).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ProposalsQuery {
    /// Only this namespace's [default: every namespace the caller may review].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// pending, approved or rejected [default: all].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size (1..=1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A proposed memory awaiting (or past) review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct ProposalDto {
    /// UUIDv7 id.
    pub id: String,
    /// The namespace the memory would be written into.
    pub namespace: String,
    /// The layer it would be written into (identity).
    pub layer: String,
    /// The proposed text.
    pub content: String,
    /// The proposed category.
    pub category: String,
    /// The proposed confidence, 0..=1.
    pub confidence: f64,
    /// Why it is proposed.
    pub reason: String,
    /// The episodes it was read from.
    pub source_memory_ids: Vec<String>,
    /// Whose episodes proposed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed_by: Option<String>,
    /// pending, approved or rejected.
    pub status: String,
    /// When it was proposed.
    pub created_at: String,
    /// When it was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<String>,
    /// Who decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    /// The memory an approval supersedes (the statement this one corrects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<String>,
}

impl From<&Proposal> for ProposalDto {
    fn from(p: &Proposal) -> Self {
        ProposalDto {
            id: p.id.to_string(),
            namespace: p.namespace.to_string(),
            layer: p.layer.to_string(),
            content: p.content.clone(),
            category: p.category.to_string(),
            confidence: p.confidence.value(),
            reason: p.reason.clone(),
            source_memory_ids: p.source_memory_ids.iter().map(ToString::to_string).collect(),
            proposed_by: p.proposed_by.as_ref().map(ToString::to_string),
            status: p.status.to_string(),
            created_at: p.created_at.to_string(),
            decided_at: p.decided_at.map(|t| t.to_string()),
            decided_by: p.decided_by.as_ref().map(ToString::to_string),
            supersedes: p.supersedes.map(|id| id.to_string()),
        }
    }
}

/// A page of the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct ProposalPage {
    /// The proposals, in id order.
    pub proposals: Vec<ProposalDto>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One proposal to decide on (the `memory_proposal_approve` and `memory_proposal_reject` tools).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposalIdParams {
    /// The proposal's id.
    pub id: String,
}

/// An approved proposal and the memory its approval wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct ProposalApproved {
    /// The proposal, now approved.
    pub proposal: ProposalDto,
    /// The memory written (or the one that already held the content).
    pub memory: MemoryDto,
}

/// A rejected proposal; nothing was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct ProposalRejected {
    /// The proposal, now rejected.
    pub proposal: ProposalDto,
}

// ---- entities -----------------------------------------------------------------------------

/// A named entity (person, place, organization, project, tool) that memories of one namespace
/// mention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct EntityDto {
    /// UUIDv7 id.
    pub id: String,
    /// The namespace whose memories mention it.
    pub namespace: String,
    /// Its name as first seen.
    pub name: String,
    /// person, place, organization, project, tool or other.
    pub kind: String,
    /// Live memories that mention it.
    pub mentions: u64,
    /// When it was first mentioned.
    pub created_at: String,
    /// When a memory last mentioned it.
    pub updated_at: String,
}

impl From<&Entity> for EntityDto {
    fn from(e: &Entity) -> Self {
        EntityDto {
            id: e.id.to_string(),
            namespace: e.namespace.to_string(),
            name: e.name.clone(),
            kind: e.kind.to_string(),
            mentions: e.mentions,
            created_at: e.created_at.to_string(),
            updated_at: e.updated_at.to_string(),
        }
    }
}

/// Which entities (`GET /v1/entities`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntitiesQuery {
    /// Only this namespace's (it must be readable) [default: every namespace the caller reads].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only entities whose name holds every word of this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// person, place, organization, project, tool or other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size (1..=1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// A page of an entity's memories (`GET /v1/entities/{id}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size (1..=1000, default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

impl PageQuery {
    /// The page asked for.
    pub fn page(&self) -> Result<PageRequest> {
        page_request(self.cursor.clone(), self.limit)
    }
}

/// A page of entities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct EntityPage {
    /// The entities, in id order.
    pub entities: Vec<EntityDto>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// One entity and a page of the memories that mention it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct EntityMemoriesDto {
    /// The entity.
    pub entity: EntityDto,
    /// Live memories that mention it, in id order.
    pub memories: Vec<MemoryDto>,
    /// Pass as `cursor` for the next page of memories; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl From<&EntityMemories> for EntityMemoriesDto {
    fn from(e: &EntityMemories) -> Self {
        EntityMemoriesDto {
            entity: (&e.entity).into(),
            memories: e.memories.iter().map(MemoryDto::from).collect(),
            next_cursor: e.next_cursor.clone(),
        }
    }
}

// ---- maintenance --------------------------------------------------------------------------

/// A maintenance cycle (`POST /v1/maintenance`, admin keys).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintainBody {
    /// Only this namespace [default: the cycle's choice within the budget].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Only these jobs: consolidate, expire, retention, purge, index, catalog [default: all].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Vec<String>>,
    /// Most namespaces the cycle covers (at least 1) [default: the configuration's].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<usize>,
}

impl MaintainBody {
    /// The engine request.
    pub fn to_request(&self) -> Result<MaintainRequest> {
        if let Some(ns) = &self.namespace {
            namespace_key("namespace", ns)?;
        }
        let jobs = match &self.jobs {
            Some(jobs) if jobs.is_empty() => {
                return Err(Error::invalid_input("jobs: name at least one job (or leave it out for all)"));
            }
            Some(jobs) => Some(jobs.iter().map(|j| parse::<Job>("jobs", j)).collect::<Result<Vec<_>>>()?),
            None => None,
        };
        if self.budget == Some(0) {
            return Err(Error::invalid_input("budget: must be at least 1"));
        }
        Ok(MaintainRequest { namespace: self.namespace.clone(), jobs, budget: self.budget })
    }
}

/// The status record of one job run on one namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct JobRunDto {
    /// consolidate, expire, retention, purge, index or catalog.
    pub job: String,
    /// The namespace (tenant-wide jobs are recorded on `default`).
    pub namespace: String,
    /// ran, skipped or failed.
    pub status: String,
    /// Why it was skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What it did, as named counts (`deleted`, `created`, `episodes`, ...).
    pub counts: BTreeMap<String, u64>,
    /// Where the job's next run starts (consolidation: the last episode read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// When it started.
    pub started_at: String,
    /// When it ended.
    pub finished_at: String,
}

impl From<&JobRun> for JobRunDto {
    fn from(r: &JobRun) -> Self {
        JobRunDto {
            job: r.job.to_string(),
            namespace: r.namespace.to_string(),
            status: r.status.to_string(),
            reason: r.reason.clone(),
            counts: r.counts.clone(),
            checkpoint: r.checkpoint.clone(),
            started_at: r.started_at.to_string(),
            finished_at: r.finished_at.to_string(),
        }
    }
}

/// What a maintenance cycle did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct MaintenanceDto {
    /// One record per job and namespace, in the order they ran.
    pub runs: Vec<JobRunDto>,
    /// Namespaces the budget left for a later cycle.
    pub deferred: usize,
    /// Runs that failed.
    pub failed: usize,
}

impl From<&MaintenanceReport> for MaintenanceDto {
    fn from(r: &MaintenanceReport) -> Self {
        MaintenanceDto { runs: r.runs.iter().map(JobRunDto::from).collect(), deferred: r.deferred, failed: r.failed() }
    }
}

/// Whose maintenance records (`GET /v1/maintenance`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceQuery {
    /// Only this namespace's records [default: every namespace's].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The latest status record of every job and namespace (`GET /v1/maintenance`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct JobRunList {
    /// The records.
    pub runs: Vec<JobRunDto>,
}

/// What `memory namespaces rebuild` did, or with a dry run would do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct CatalogRebuildDto {
    /// Whether the missing records were written.
    pub applied: bool,
    /// Namespaces known after the rebuild.
    pub namespaces: usize,
    /// Live memories read.
    pub memories: u64,
    /// Catalog records created (or to create).
    pub created: Vec<RebuiltNamespaceDto>,
}

/// One catalog record a rebuild creates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct RebuiltNamespaceDto {
    /// The key.
    pub namespace: String,
    /// Its kind.
    pub kind: String,
    /// Live memories found in it.
    pub memories: u64,
}

impl From<&CatalogRebuild> for CatalogRebuildDto {
    fn from(r: &CatalogRebuild) -> Self {
        CatalogRebuildDto {
            applied: r.applied,
            namespaces: r.namespaces,
            memories: r.memories,
            created: r
                .created
                .iter()
                .map(|n| RebuiltNamespaceDto {
                    namespace: n.namespace.to_string(),
                    kind: n.kind.to_string(),
                    memories: n.memories,
                })
                .collect(),
        }
    }
}

// ---- audit, transfer, health --------------------------------------------------------------

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct AuditDto {
    /// Record id.
    pub id: String,
    /// The namespace it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// With which key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// What was done (`memory.remember`, `namespace.archive`, ...).
    pub operation: String,
    /// ok, denied or failed.
    pub outcome: String,
    /// Details of the operation.
    #[schema(value_type = Object)]
    pub detail: Value,
    /// When.
    pub at: String,
}

impl From<&AuditRecord> for AuditDto {
    fn from(a: &AuditRecord) -> Self {
        AuditDto {
            id: a.id.to_string(),
            namespace: a.namespace.as_ref().map(ToString::to_string),
            principal: a.principal.as_ref().map(ToString::to_string),
            key_id: a.key_id.map(|k| k.to_string()),
            operation: a.operation.to_string(),
            outcome: a.outcome.to_string(),
            detail: serde_json::to_value(&a.detail).unwrap_or(Value::Null),
            at: a.at.to_string(),
        }
    }
}

/// A page of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct AuditPage {
    /// Records, in id order.
    pub records: Vec<AuditDto>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Counts of an import or export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct TransferDto {
    /// Namespaces exported, or created by the import.
    pub namespaces: u64,
    /// Memories exported or written.
    pub memories: u64,
    /// Memories already there.
    pub skipped: u64,
    /// Memories merged into one that held the same content.
    pub merged: u64,
    /// Audit records exported or appended.
    pub audit: u64,
}

impl From<&TransferReport> for TransferDto {
    fn from(r: &TransferReport) -> Self {
        TransferDto {
            namespaces: r.namespaces,
            memories: r.memories,
            skipped: r.skipped,
            merged: r.merged,
            audit: r.audit,
        }
    }
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, JsonSchema)]
pub struct Health {
    /// `ok`, `ready` or `starting`.
    pub status: String,
    /// Which embedder runs, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedder: Option<String>,
    /// The product version.
    pub version: String,
}

// ---- parsing helpers ----------------------------------------------------------------------

fn field_error(field: &str, e: &Error) -> Error {
    Error::invalid_input(format!("{field}: {}", e.message()))
}

/// A text enum (layer, sensitivity, ...) of `field`.
pub fn parse<T: std::str::FromStr<Err = Error>>(field: &str, raw: &str) -> Result<T> {
    raw.trim().parse::<T>().map_err(|e| field_error(field, &e))
}

/// A namespace key of `field`.
pub fn namespace_key(field: &str, raw: &str) -> Result<NamespaceKey> {
    NamespaceKey::new(raw).map_err(|e| Error::invalid_input(format!("{field}: {e}")))
}

/// An RFC 3339 time of `field`.
pub fn timestamp(field: &str, raw: &str) -> Result<Timestamp> {
    Timestamp::parse_rfc3339(raw.trim()).map_err(|e| field_error(field, &e))
}

/// A memory id of `field`.
pub fn memory_id(field: &str, raw: &str) -> Result<MemoryId> {
    raw.trim().parse::<MemoryId>().map_err(|e| field_error(field, &e))
}

/// A proposal id of `field`.
pub fn proposal_id(field: &str, raw: &str) -> Result<ProposalId> {
    raw.trim().parse::<ProposalId>().map_err(|e| field_error(field, &e))
}

/// An entity id of `field`.
pub fn entity_id(field: &str, raw: &str) -> Result<EntityId> {
    raw.trim().parse::<EntityId>().map_err(|e| field_error(field, &e))
}

/// A page from a listing's `cursor` and `limit` (1..=1000, default 100).
pub fn page_request(cursor: Option<String>, limit: Option<usize>) -> Result<PageRequest> {
    let limit = limit.unwrap_or(100);
    let page = match cursor {
        Some(c) => PageRequest::after(c, limit),
        None => PageRequest::first(limit),
    };
    page.validate().map_err(|e| field_error("limit", &e))?;
    Ok(page)
}

/// `Some(None)` for an explicit `null`, `Some(Some(v))` for a value (absent: `None`).
fn double_option<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
