//! The memory record (SPEC 1-2) and its value types: layers, categories, confidence, provenance,
//! content hashes and usage statistics.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use unicode_normalization::UnicodeNormalization;

use crate::error::Error;
use crate::ids::{MemoryId, Principal, TenantId};
use crate::limits::{MAX_SHORT_TEXT_BYTES, check_text};
use crate::namespace::{NamespaceKey, text_enum};
use crate::timestamp::{MICROS_PER_DAY, Timestamp};

/// Free-form metadata attached to memories and namespaces.
pub type Metadata = BTreeMap<String, serde_json::Value>;

/// Largest accepted memory content, in bytes. Front ends may set lower limits.
pub const MAX_CONTENT_BYTES: usize = 1 << 20;
/// Largest accepted metadata map, serialized as JSON, in bytes.
pub const MAX_METADATA_BYTES: usize = 64 << 10;

text_enum!(
    /// The five memory layers of SPEC 2, from most to least stable.
    Layer, "layer" {
        /// Who the user fundamentally is; pinned; explicit writes only.
        Identity = "identity",
        /// Behavioural rules; pinned.
        Procedural = "procedural",
        /// Durable facts, recalled by relevance.
        Semantic = "semantic",
        /// Timestamped events of conversations, recalled by relevance with recency decay.
        Episodic = "episodic",
        /// Temporary state with a required expiry.
        Working = "working",
    }
);

impl Layer {
    /// Identity and procedural memories are pinned into every recall.
    pub fn is_pinned(self) -> bool {
        matches!(self, Layer::Identity | Layer::Procedural)
    }
}

/// What kind of item a memory is: one of the nine known categories or an extension
/// (1..=64 of `a-z`, `0-9`, `_`, `-`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Category(String);

impl Category {
    /// The categories SPEC 1 names.
    pub const KNOWN: &'static [&'static str] =
        &["fact", "preference", "decision", "correction", "rule", "procedure", "event", "entity", "observation"];

    /// Validates a category name.
    pub fn new(name: impl AsRef<str>) -> Result<Self, Error> {
        let name = name.as_ref().trim();
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-';
        if name.is_empty() || name.len() > 64 || !name.chars().all(ok) {
            return Err(Error::invalid_input(format!(
                "invalid category {name:?}: use 1 to 64 of a-z, 0-9, '_' or '-' (known: {})",
                Self::KNOWN.join(", ")
            )));
        }
        Ok(Category(name.to_owned()))
    }

    /// `fact`.
    pub fn fact() -> Self {
        Category("fact".to_owned())
    }

    /// `event`, the category of conversation events.
    pub fn event() -> Self {
        Category("event".to_owned())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Category {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Category::new(s)
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Category::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// How much a memory is trusted: a finite number in `0..=1`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Confidence(f64);

impl Confidence {
    /// Validates a confidence.
    pub fn new(value: f64) -> Result<Self, Error> {
        if !(0.0..=1.0).contains(&value) {
            return Err(Error::invalid_input(format!("confidence {value} is outside 0..=1")));
        }
        Ok(Confidence(value))
    }

    /// Full confidence (explicit statements).
    pub const fn certain() -> Self {
        Confidence(1.0)
    }

    /// The number.
    pub const fn value(self) -> f64 {
        self.0
    }

    /// The tier this confidence falls in.
    pub fn tier(self) -> ConfidenceTier {
        match self.0 {
            c if c >= 0.95 => ConfidenceTier::Explicit,
            c if c >= 0.70 => ConfidenceTier::Implied,
            c if c >= 0.40 => ConfidenceTier::Inferred,
            _ => ConfidenceTier::Speculative,
        }
    }
}

impl<'de> Deserialize<'de> for Confidence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Confidence::new(f64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

text_enum!(
    /// Confidence tiers, declared from most to least trusted; `Ord` follows trust
    /// (`Explicit > Implied > Inferred > Speculative`).
    ConfidenceTier, "confidence tier" {
        /// `< 0.40`.
        Speculative = "speculative",
        /// `0.40..0.70`.
        Inferred = "inferred",
        /// `0.70..0.95`.
        Implied = "implied",
        /// `>= 0.95`.
        Explicit = "explicit",
    }
);

/// Where a memory came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// Conversation it was said in.
    pub conversation_id: Option<String>,
    /// Session key of the client that wrote it.
    pub session_key: Option<String>,
    /// Principal that wrote it.
    pub principal: Option<Principal>,
}

/// SHA-256 (lowercase hex) of a memory's content after NFC, trimming and collapsing runs of
/// whitespace; the key of per-namespace deduplication.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentHash(String);

impl Provenance {
    /// Checks the free-text fields against [`MAX_SHORT_TEXT_BYTES`].
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(c) = &self.conversation_id {
            check_text("the conversation id", c, MAX_SHORT_TEXT_BYTES)?;
        }
        if let Some(k) = &self.session_key {
            check_text("the session key", k, MAX_SHORT_TEXT_BYTES)?;
        }
        Ok(())
    }
}

impl ContentHash {
    /// The hash of `content`.
    pub fn of(content: &str) -> Self {
        let mut canonical = String::with_capacity(content.len());
        for word in content.split_whitespace() {
            if !canonical.is_empty() {
                canonical.push(' ');
            }
            canonical.extend(word.nfc());
        }
        ContentHash(hex::encode(Sha256::digest(canonical.as_bytes())))
    }

    /// Wraps a stored hash (64 lowercase hex digits).
    pub fn from_hex(hex: impl Into<String>) -> Result<Self, Error> {
        let hex = hex.into();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(Error::invalid_input(format!("invalid content hash {hex:?}")));
        }
        Ok(ContentHash(hex))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A reported outcome of using a memory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It helped (reward +1).
    Helpful,
    /// It did not help (reward -1).
    Unhelpful,
    /// A graded reward in `-1..=1`.
    Reward(f64),
}

impl Outcome {
    /// The reward in `-1..=1`, or an error for an out-of-range graded reward.
    pub fn reward(self) -> Result<f64, Error> {
        match self {
            Outcome::Helpful => Ok(1.0),
            Outcome::Unhelpful => Ok(-1.0),
            Outcome::Reward(r) if (-1.0..=1.0).contains(&r) => Ok(r),
            Outcome::Reward(r) => Err(Error::invalid_input(format!("reward {r} is outside -1..=1"))),
        }
    }
}

/// Usage statistics of a memory. They never change its change sequence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageStats {
    /// Learned usefulness in `0..=1`; [`UsageStats::NEUTRAL_UTILITY`] when nothing is known.
    pub utility: f64,
    /// How many times the same content was written into the namespace (1 for a new memory).
    pub evidence_count: u64,
    /// How many times it was returned by a recall.
    pub access_count: u64,
    /// Last time it was returned by a recall.
    pub last_accessed_at: Option<Timestamp>,
    /// Outcome reports with a positive reward.
    pub helpful_count: u64,
    /// Outcome reports with a negative reward.
    pub unhelpful_count: u64,
    /// Latest time of an outcome report; `utility` is as of this time and decays toward
    /// neutral after it (see [`UsageStats::effective_utility`]). `None` before the first report.
    #[serde(default)]
    pub last_outcome_at: Option<Timestamp>,
}

impl Default for UsageStats {
    fn default() -> Self {
        UsageStats {
            utility: Self::NEUTRAL_UTILITY,
            evidence_count: 1,
            access_count: 0,
            last_accessed_at: None,
            helpful_count: 0,
            unhelpful_count: 0,
            last_outcome_at: None,
        }
    }
}

impl UsageStats {
    /// Utility of a memory nobody has reported on.
    pub const NEUTRAL_UTILITY: f64 = 0.5;
    /// Step size of the utility update.
    pub const LEARNING_RATE: f64 = 0.2;

    /// Half-life of the distance between utility and [`UsageStats::NEUTRAL_UTILITY`] while no
    /// outcome is reported.
    pub const UTILITY_HALF_LIFE_DAYS: f64 = 90.0;

    /// The utility as of `now`: the stored `utility` decayed toward neutral since
    /// `last_outcome_at`,
    ///
    /// ```text
    /// 0.5 + (utility - 0.5) * 2^(-(now - last_outcome_at) / 90 days)
    /// ```
    ///
    /// so the distance from neutral halves every [`UsageStats::UTILITY_HALF_LIFE_DAYS`]. No
    /// decay happens before the first report (`last_outcome_at` is `None`) or when `now` is not
    /// after `last_outcome_at`. The result is in `0..=1` whenever `utility` is.
    pub fn effective_utility(&self, now: Timestamp) -> f64 {
        let Some(last) = self.last_outcome_at.filter(|last| now > *last) else {
            return self.utility;
        };
        // i128: any two i64 instants have a representable difference.
        let elapsed_micros = i128::from(now.as_micros()) - i128::from(last.as_micros());
        let elapsed_days = elapsed_micros as f64 / MICROS_PER_DAY as f64;
        let factor = (-elapsed_days / Self::UTILITY_HALF_LIFE_DAYS).exp2();
        (Self::NEUTRAL_UTILITY + (self.utility - Self::NEUTRAL_UTILITY) * factor).clamp(0.0, 1.0)
    }

    /// Applies one outcome reported at `at`. This is the utility formula of the product:
    ///
    /// ```text
    /// u      <- 0.5 + (u - 0.5) * 2^(-(at - last_outcome_at) / 90 days)   decay to `at`
    /// u      <- u + 0.2 * ((reward + 1) / 2 - u)                          move 20% toward the reward
    /// last_outcome_at <- max(last_outcome_at, at)
    /// ```
    ///
    /// The first line is [`UsageStats::effective_utility`] (no decay before the first report or
    /// for an `at` that is not after `last_outcome_at`). The second is an exponential moving
    /// average toward the reward mapped from `-1..=1` to `0..=1`. Both keep utility in `0..=1`
    /// whatever the sequence of reports: each report moves it 20% of the way toward the reward,
    /// and between reports its distance from neutral (0.5) halves every
    /// [`UsageStats::UTILITY_HALF_LIFE_DAYS`] (90) days. A positive reward also counts as
    /// helpful, a negative one as unhelpful.
    ///
    /// `InvalidInput` for a reward outside `-1..=1` or an `at` outside the accepted years; then
    /// nothing changes.
    pub fn apply_outcome(&mut self, outcome: Outcome, at: Timestamp) -> Result<(), Error> {
        let reward = outcome.reward()?;
        at.validate("outcome time")?;
        let decayed = self.effective_utility(at);
        let target = (reward + 1.0) / 2.0;
        self.utility = (decayed + Self::LEARNING_RATE * (target - decayed)).clamp(0.0, 1.0);
        if reward > 0.0 {
            self.helpful_count += 1;
        } else if reward < 0.0 {
            self.unhelpful_count += 1;
        }
        self.last_outcome_at = Some(self.last_outcome_at.map_or(at, |last| last.max(at)));
        Ok(())
    }

    /// Largest accepted counter value, so every backend (SQLite and PostgreSQL integers are
    /// signed 64-bit) stores counters exactly and can still add to them.
    pub const MAX_COUNT: u64 = i64::MAX as u64 / 2;

    /// Checks that the statistics are coherent: utility in range, evidence >= 1, counters at
    /// most [`UsageStats::MAX_COUNT`], times in range.
    pub fn validate(&self) -> Result<(), Error> {
        if !(0.0..=1.0).contains(&self.utility) {
            return Err(Error::invalid_input(format!("utility {} is outside 0..=1", self.utility)));
        }
        if self.evidence_count == 0 {
            return Err(Error::invalid_input("evidence_count must be at least 1"));
        }
        let counts = [self.evidence_count, self.access_count, self.helpful_count, self.unhelpful_count];
        if counts.iter().any(|c| *c > Self::MAX_COUNT) {
            return Err(Error::invalid_input(format!("usage counters may be at most {}", Self::MAX_COUNT)));
        }
        if let Some(t) = self.last_accessed_at {
            t.validate("last_accessed_at")?;
        }
        if let Some(t) = self.last_outcome_at {
            t.validate("last_outcome_at")?;
        }
        Ok(())
    }
}

/// One stored memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// UUIDv7 id.
    pub id: MemoryId,
    /// Owning tenant.
    pub tenant: TenantId,
    /// Owning namespace.
    pub namespace: NamespaceKey,
    /// Layer.
    pub layer: Layer,
    /// The text.
    pub content: String,
    /// Hash of the canonical content (dedupe key).
    pub content_hash: ContentHash,
    /// Category.
    pub category: Category,
    /// Confidence.
    pub confidence: Confidence,
    /// Where it came from.
    pub provenance: Provenance,
    /// When it was remembered.
    pub created_at: Timestamp,
    /// Last change of content or attributes.
    pub updated_at: Timestamp,
    /// When a working memory stops being recalled (working layer only).
    pub expires_at: Option<Timestamp>,
    /// Free-form metadata.
    pub metadata: Metadata,
    /// The memory this one corrects.
    pub supersedes: Option<MemoryId>,
    /// The memory that corrected this one; a superseded memory is no longer recalled.
    pub superseded_by: Option<MemoryId>,
    /// The memory this one was promoted (copied) from.
    pub promoted_from: Option<MemoryId>,
    /// Usage statistics.
    pub stats: UsageStats,
    /// Store-wide change sequence number of its last change (insert, update or tombstone).
    pub seq: u64,
    /// When it was deleted; a tombstoned memory is not retrievable and awaits purging.
    pub deleted_at: Option<Timestamp>,
}

impl Memory {
    /// The confidence tier.
    pub fn tier(&self) -> ConfidenceTier {
        self.confidence.tier()
    }

    /// Whether a working memory has expired at `now`.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// The vector an embedding model gave a memory's content: derived data a store keeps beside
/// the memory, so every process sharing the store can index the memory without embedding it
/// again. Stored compactly (little-endian `f32` bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// The model that made it (the embedder's model id); vectors of other models never mix.
    pub model: String,
    /// The vector.
    pub vector: Vec<f32>,
}

impl Embedding {
    /// Most dimensions a stored vector may have.
    pub const MAX_DIMENSION: usize = 8192;

    /// Checks the model name (1..=256 bytes) and the vector (1..=[`Self::MAX_DIMENSION`]
    /// finite values).
    pub fn validate(&self) -> Result<(), Error> {
        if self.model.trim().is_empty() || self.model.len() > 256 {
            return Err(Error::invalid_input("an embedding's model name must be 1..=256 bytes"));
        }
        if self.vector.is_empty() || self.vector.len() > Self::MAX_DIMENSION {
            return Err(Error::invalid_input(format!(
                "an embedding has {} dimensions; 1..={} are allowed",
                self.vector.len(),
                Self::MAX_DIMENSION
            )));
        }
        if self.vector.iter().any(|v| !v.is_finite()) {
            return Err(Error::invalid_input("an embedding holds a value that is not a finite number"));
        }
        Ok(())
    }

    /// The vector as stored: little-endian `f32` bytes.
    pub fn to_bytes(vector: &[f32]) -> Vec<u8> {
        vector.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// A stored vector back; `None` when the byte count is not a whole number of `f32`s.
    pub fn from_bytes(bytes: &[u8]) -> Option<Vec<f32>> {
        bytes
            .len()
            .is_multiple_of(4)
            .then(|| bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }
}

/// A memory to write. The writer chooses the id (UUIDv7), so imports keep ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewMemory {
    /// Id of the new memory.
    pub id: MemoryId,
    /// Target namespace (must exist and be active).
    pub namespace: NamespaceKey,
    /// Layer.
    pub layer: Layer,
    /// The text (trimmed on write; 1 byte..=[`MAX_CONTENT_BYTES`]).
    pub content: String,
    /// Category.
    pub category: Category,
    /// Confidence.
    pub confidence: Confidence,
    /// Provenance.
    pub provenance: Provenance,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last-change time (equal to `created_at` for a fresh memory; kept on import).
    pub updated_at: Timestamp,
    /// Required for, and only allowed on, the working layer.
    pub expires_at: Option<Timestamp>,
    /// Metadata.
    pub metadata: Metadata,
    /// The memory this one corrects.
    pub supersedes: Option<MemoryId>,
    /// The memory that corrected this one (imports only).
    pub superseded_by: Option<MemoryId>,
    /// The memory this one was promoted from.
    pub promoted_from: Option<MemoryId>,
    /// Initial usage statistics (neutral for a fresh memory; kept on import).
    pub stats: UsageStats,
    /// Its content's vector, stored with the memory when the put creates it (derived data:
    /// never exported, so not serialized).
    #[serde(skip)]
    pub embedding: Option<Embedding>,
}

impl NewMemory {
    /// A fresh memory with defaults: category `fact` (`event` for episodic), confidence 1.
    pub fn new(namespace: NamespaceKey, layer: Layer, content: impl Into<String>, at: Timestamp) -> Self {
        NewMemory {
            id: MemoryId::new_v7(),
            namespace,
            layer,
            content: content.into(),
            category: if layer == Layer::Episodic { Category::event() } else { Category::fact() },
            confidence: Confidence::certain(),
            provenance: Provenance::default(),
            created_at: at,
            updated_at: at,
            expires_at: None,
            metadata: Metadata::new(),
            supersedes: None,
            superseded_by: None,
            promoted_from: None,
            stats: UsageStats::default(),
            embedding: None,
        }
    }

    /// Sets the id.
    pub fn with_id(mut self, id: MemoryId) -> Self {
        self.id = id;
        self
    }

    /// Sets the expiry (working layer).
    pub fn expiring_at(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Checks content, expiry, metadata and statistics (the store trims the content on write).
    pub fn validate(&self) -> Result<(), Error> {
        validate_content(&self.content)?;
        self.created_at.validate("created_at")?;
        self.updated_at.validate("updated_at")?;
        if let Some(t) = self.expires_at {
            t.validate("expires_at")?;
        }
        validate_expiry(self.layer, self.expires_at)?;
        validate_metadata(&self.metadata)?;
        self.provenance.validate()?;
        self.stats.validate()?;
        if let Some(e) = &self.embedding {
            e.validate()?;
        }
        if self.supersedes == Some(self.id) || self.superseded_by == Some(self.id) {
            return Err(Error::invalid_input(format!("memory {} cannot supersede itself", self.id)));
        }
        if self.updated_at < self.created_at {
            return Err(Error::invalid_input(format!("memory {}: updated_at is before created_at", self.id)));
        }
        Ok(())
    }

    /// The stored record for this new memory.
    pub fn into_memory(self, tenant: TenantId, seq: u64) -> Memory {
        let content = self.content.trim().to_owned();
        Memory {
            id: self.id,
            tenant,
            namespace: self.namespace,
            layer: self.layer,
            content_hash: ContentHash::of(&content),
            content,
            category: self.category,
            confidence: self.confidence,
            provenance: self.provenance,
            created_at: self.created_at,
            updated_at: self.updated_at,
            expires_at: self.expires_at,
            metadata: self.metadata,
            supersedes: self.supersedes,
            superseded_by: self.superseded_by,
            promoted_from: self.promoted_from,
            stats: self.stats,
            seq,
            deleted_at: None,
        }
    }
}

pub(crate) fn validate_content(content: &str) -> Result<(), Error> {
    let trimmed = content.trim();
    if trimmed.is_empty() {
        return Err(Error::invalid_input("memory content is empty"));
    }
    if trimmed.len() > MAX_CONTENT_BYTES {
        return Err(Error::invalid_input(format!(
            "memory content is {} bytes; at most {MAX_CONTENT_BYTES} are allowed",
            trimmed.len()
        )));
    }
    if trimmed.contains('\0') {
        return Err(Error::invalid_input("memory content contains a NUL character"));
    }
    Ok(())
}

fn validate_expiry(layer: Layer, expires_at: Option<Timestamp>) -> Result<(), Error> {
    match (layer, expires_at) {
        (Layer::Working, None) => Err(Error::invalid_input("a working memory requires expires_at")),
        (Layer::Working, Some(_)) | (_, None) => Ok(()),
        (other, Some(_)) => {
            Err(Error::invalid_input(format!("only working memories expire; a {other} memory cannot have expires_at")))
        }
    }
}

pub(crate) fn validate_metadata(metadata: &Metadata) -> Result<(), Error> {
    if let Some(key) = metadata.keys().find(|k| k.is_empty() || k.chars().count() > 128) {
        return Err(Error::invalid_input(format!("metadata key {key:?} must be 1 to 128 characters")));
    }
    let size = serde_json::to_vec(metadata).map(|v| v.len()).unwrap_or(usize::MAX);
    if size > MAX_METADATA_BYTES {
        return Err(Error::invalid_input(format!(
            "metadata is {size} bytes as JSON; at most {MAX_METADATA_BYTES} are allowed"
        )));
    }
    Ok(())
}

/// Changes to a memory; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemoryPatch {
    /// New content (rehashed; must not duplicate another live memory of the namespace).
    pub content: Option<String>,
    /// New layer (the working layer needs an expiry, the others must have none).
    pub layer: Option<Layer>,
    /// New category.
    pub category: Option<Category>,
    /// New confidence.
    pub confidence: Option<Confidence>,
    /// New expiry (`Some(None)` clears it).
    pub expires_at: Option<Option<Timestamp>>,
    /// Replaces the metadata map.
    pub metadata: Option<Metadata>,
    /// Marks (or with `Some(None)` unmarks) the memory as superseded by another.
    pub superseded_by: Option<Option<MemoryId>>,
}

impl MemoryPatch {
    /// Applies the patch to a copy of `memory`, validates it and returns the copy. Leaves
    /// `seq` and `updated_at` to the store.
    pub fn applied_to(&self, memory: &Memory) -> Result<Memory, Error> {
        let mut next = memory.clone();
        if let Some(content) = &self.content {
            validate_content(content)?;
            next.content = content.trim().to_owned();
            next.content_hash = ContentHash::of(&next.content);
        }
        if let Some(v) = self.layer {
            next.layer = v;
        }
        if let Some(v) = &self.category {
            next.category = v.clone();
        }
        if let Some(v) = self.confidence {
            next.confidence = v;
        }
        if let Some(v) = self.expires_at {
            if let Some(t) = v {
                t.validate("expires_at")?;
            }
            next.expires_at = v;
        }
        if let Some(v) = &self.metadata {
            validate_metadata(v)?;
            next.metadata = v.clone();
        }
        if let Some(v) = self.superseded_by {
            if v == Some(memory.id) {
                return Err(Error::invalid_input(format!("memory {} cannot supersede itself", memory.id)));
            }
            next.superseded_by = v;
        }
        validate_expiry(next.layer, next.expires_at)?;
        Ok(next)
    }
}

/// Filters for listing and counting memories; every set field must match. Tombstoned memories
/// never match.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct MemoryFilter {
    /// Only these namespaces (`None`: all of the tenant's; an empty list matches nothing).
    pub namespaces: Option<Vec<NamespaceKey>>,
    /// Only these layers (`None`: all; an empty list matches nothing).
    pub layers: Option<Vec<Layer>>,
    /// Only this category.
    pub category: Option<Category>,
    /// Created at or after this time.
    pub created_from: Option<Timestamp>,
    /// Created strictly before this time.
    pub created_before: Option<Timestamp>,
    /// Leave out memories that a correction superseded.
    pub exclude_superseded: bool,
}

impl MemoryFilter {
    /// Every live memory of the tenant.
    pub fn all() -> Self {
        Self::default()
    }

    /// Every live memory of one namespace.
    pub fn namespace(ns: NamespaceKey) -> Self {
        MemoryFilter { namespaces: Some(vec![ns]), ..Self::default() }
    }

    /// Whether a live `memory` passes the filter (the tenant is checked by the store).
    pub fn matches(&self, m: &Memory) -> bool {
        m.deleted_at.is_none()
            && self.namespaces.as_ref().is_none_or(|ns| ns.contains(&m.namespace))
            && self.layers.as_ref().is_none_or(|ls| ls.contains(&m.layer))
            && self.category.as_ref().is_none_or(|c| *c == m.category)
            && self.created_from.is_none_or(|t| m.created_at >= t)
            && self.created_before.is_none_or(|t| m.created_at < t)
            && !(self.exclude_superseded && m.superseded_by.is_some())
    }
}

/// What a duplicate write added to the memory that already held its content (SPEC 2: merged
/// and reported, never silently dropped). Empty when the duplicate carried nothing new.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Merged {
    /// The later expiry the duplicate carried (working memories): the memory now expires then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// The higher confidence the duplicate carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<Confidence>,
    /// Metadata keys the duplicate added or changed (its values won), in key order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<String>,
}

impl Merged {
    /// Whether the duplicate changed nothing but the evidence count.
    pub fn is_empty(&self) -> bool {
        self.expires_at.is_none() && self.confidence.is_none() && self.metadata.is_empty()
    }
}

/// What a put did with one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum PutOutcome {
    /// A new memory was stored under this id.
    Created {
        /// The new memory's id.
        id: MemoryId,
    },
    /// The namespace already held the same content in the same layer: this is that memory's
    /// id; its evidence count was bumped and `merged` says what else the write added to it.
    Existing {
        /// The existing memory's id.
        id: MemoryId,
        /// What the duplicate added (a later expiry, a higher confidence, metadata).
        merged: Merged,
    },
}

/// What a move ([`crate::Store::move_memories`]) did with one memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum MoveOutcome {
    /// It moved into the target namespace as it was.
    Moved {
        /// The memory's id (unchanged).
        id: MemoryId,
    },
    /// The target already held the same content in the same layer: that memory absorbed this
    /// one, which moved in superseded by it (its id and history kept).
    Merged {
        /// The moved memory's id (unchanged).
        id: MemoryId,
        /// The memory of the target that absorbed it.
        into: MemoryId,
    },
}

impl PutOutcome {
    /// The id of the stored memory either way.
    pub fn id(&self) -> MemoryId {
        match self {
            PutOutcome::Created { id } | PutOutcome::Existing { id, .. } => *id,
        }
    }

    /// Whether a new memory was stored.
    pub fn created(&self) -> bool {
        matches!(self, PutOutcome::Created { .. })
    }
}

impl Memory {
    /// Whether a write of `input` is a duplicate of this memory: same namespace, layer and
    /// canonical content (SPEC 2). Callers also check that this memory is live and unsuperseded.
    pub fn is_duplicated_by(&self, input: &NewMemory) -> bool {
        self.namespace == input.namespace
            && self.layer == input.layer
            && self.content_hash == ContentHash::of(&input.content)
    }

    /// The `Conflict` of a write that repeats this memory's content under category `said`:
    /// taken as a duplicate, it would succeed with its category discarded.
    pub fn category_conflict(&self, said: &Category) -> Error {
        Error::conflict(format!(
            "memory {} already holds this content in namespace {:?}, layer {}, as category {}; this write says {said} \
             (supersede the memory to change its category)",
            self.id,
            self.namespace.as_str(),
            self.layer,
            self.category,
        ))
    }

    /// Folds a duplicate write into this memory, the one merge rule every store applies: the
    /// evidence count grows by one; a later expiry, a higher confidence and new or changed
    /// metadata values are taken over (and reported); `updated_at` advances to the input's
    /// when anything was taken over. A different category is a `Conflict` (the write would
    /// otherwise succeed with its category discarded); merged metadata over the size limit is
    /// `InvalidInput`. On error `self` is unchanged.
    pub fn absorb_duplicate(&mut self, input: &NewMemory) -> Result<Merged, Error> {
        let incoming = Incoming {
            category: &input.category,
            metadata: &input.metadata,
            expires_at: input.expires_at,
            confidence: input.confidence,
            updated_at: input.updated_at,
            evidence: 1,
        };
        self.absorb(&incoming)
    }

    /// Folds another stored memory with the same content into this one (a namespace
    /// migration): the rule of [`Memory::absorb_duplicate`], with the other's evidence count
    /// added instead of one.
    pub fn absorb_memory(&mut self, other: &Memory) -> Result<Merged, Error> {
        let incoming = Incoming {
            category: &other.category,
            metadata: &other.metadata,
            expires_at: other.expires_at,
            confidence: other.confidence,
            updated_at: other.updated_at,
            evidence: other.stats.evidence_count.max(1),
        };
        self.absorb(&incoming)
    }

    fn absorb(&mut self, input: &Incoming<'_>) -> Result<Merged, Error> {
        if *input.category != self.category {
            return Err(self.category_conflict(input.category));
        }
        let mut merged = Merged::default();
        let mut metadata = self.metadata.clone();
        for (key, value) in input.metadata {
            if metadata.get(key) != Some(value) {
                metadata.insert(key.clone(), value.clone());
                merged.metadata.push(key.clone());
            }
        }
        if !merged.metadata.is_empty() {
            validate_metadata(&metadata).map_err(|e| {
                Error::invalid_input(format!("merging a duplicate write into memory {}: {}", self.id, e.message()))
            })?;
        }
        if let (Some(new), Some(old)) = (input.expires_at, self.expires_at)
            && new > old
        {
            merged.expires_at = Some(new);
        }
        if input.confidence.value() > self.confidence.value() {
            merged.confidence = Some(input.confidence);
        }
        self.stats.evidence_count = self.stats.evidence_count.saturating_add(input.evidence).min(UsageStats::MAX_COUNT);
        if !merged.is_empty() {
            self.metadata = metadata;
            if let Some(t) = merged.expires_at {
                self.expires_at = Some(t);
            }
            if let Some(c) = merged.confidence {
                self.confidence = c;
            }
            self.updated_at = self.updated_at.max(input.updated_at);
        }
        Ok(merged)
    }
}

/// The records a move of `memories` (all of namespace `from`) into `to` writes, in order, each
/// to be stored with a new `seq`, and one outcome per memory: the one rule of
/// [`crate::Store::move_memories`] for every store. `survivor` finds the live, unsuperseded
/// memory of `to` with the same layer and content hash as a memory.
pub fn plan_move(
    memories: Vec<Memory>,
    from: &NamespaceKey,
    to: &NamespaceKey,
    at: Timestamp,
    mut survivor: impl FnMut(&Memory) -> Result<Option<Memory>, Error>,
) -> Result<(Vec<Memory>, Vec<MoveOutcome>), Error> {
    if from == to {
        return Err(Error::invalid_input(format!("cannot move memories of {:?} into itself", to.as_str())));
    }
    let mut survivors: Vec<Memory> = Vec::new();
    let mut moved = Vec::with_capacity(memories.len());
    let mut outcomes = Vec::with_capacity(memories.len());
    for mut m in memories {
        if m.namespace != *from {
            return Err(Error::not_found(format!("memory {} is not in namespace {:?}", m.id, from.as_str())));
        }
        let mut into = None;
        if m.deleted_at.is_none() && m.superseded_by.is_none() {
            let known = survivors.iter().position(|s| s.layer == m.layer && s.content_hash == m.content_hash);
            let slot = match known {
                Some(i) => Some(i),
                None => survivor(&m)?.map(|s| {
                    survivors.push(s);
                    survivors.len() - 1
                }),
            };
            if let Some(i) = slot {
                survivors[i].absorb_memory(&m)?;
                m.superseded_by = Some(survivors[i].id);
                into = Some(survivors[i].id);
            }
        }
        outcomes.push(match into {
            Some(into) => MoveOutcome::Merged { id: m.id, into },
            None => MoveOutcome::Moved { id: m.id },
        });
        m.namespace = to.clone();
        m.updated_at = m.updated_at.max(at);
        moved.push(m);
    }
    survivors.extend(moved);
    Ok((survivors, outcomes))
}

/// What a merge folds into a memory: a duplicate write, or another stored memory.
struct Incoming<'a> {
    category: &'a Category,
    metadata: &'a Metadata,
    expires_at: Option<Timestamp>,
    confidence: Confidence,
    updated_at: Timestamp,
    evidence: u64,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn tiers_follow_the_thresholds() {
        let tier = |c| Confidence::new(c).unwrap().tier();
        assert_eq!(tier(1.0), ConfidenceTier::Explicit);
        assert_eq!(tier(0.95), ConfidenceTier::Explicit);
        assert_eq!(tier(0.94), ConfidenceTier::Implied);
        assert_eq!(tier(0.70), ConfidenceTier::Implied);
        assert_eq!(tier(0.4), ConfidenceTier::Inferred);
        assert_eq!(tier(0.39), ConfidenceTier::Speculative);
        assert!(ConfidenceTier::Explicit > ConfidenceTier::Implied);
        assert!(ConfidenceTier::Inferred > ConfidenceTier::Speculative);
        assert!(Confidence::new(1.01).is_err());
        assert!(Confidence::new(f64::NAN).is_err());
    }

    #[test]
    fn content_hash_ignores_spacing_and_normal_form() {
        assert_eq!(ContentHash::of("  Alice  prefers\tPython\n"), ContentHash::of("Alice prefers Python"));
        assert_eq!(ContentHash::of("caf\u{e9}"), ContentHash::of("cafe\u{301}"));
        assert_ne!(ContentHash::of("alice"), ContentHash::of("Alice"));
    }

    fn day(n: f64) -> Timestamp {
        Timestamp::from_micros(1_767_225_600_000_000 + (n * MICROS_PER_DAY as f64) as i64)
    }

    #[test]
    fn utility_stays_bounded() {
        let mut s = UsageStats::default();
        for _ in 0..1000 {
            s.apply_outcome(Outcome::Helpful, day(0.0)).unwrap();
        }
        assert!(s.utility <= 1.0 && s.utility > 0.99);
        for _ in 0..1000 {
            s.apply_outcome(Outcome::Unhelpful, day(0.0)).unwrap();
        }
        assert!(s.utility >= 0.0 && s.utility < 0.01);
        assert_eq!((s.helpful_count, s.unhelpful_count), (1000, 1000));
        let before = s.clone();
        assert!(s.apply_outcome(Outcome::Reward(2.0), day(1.0)).is_err());
        assert!(s.apply_outcome(Outcome::Helpful, Timestamp::MAX.plus_micros(1)).is_err());
        assert_eq!(s, before, "a rejected report changes nothing");
    }

    #[test]
    fn one_report_moves_utility_a_fifth_toward_the_reward() {
        let mut s = UsageStats::default();
        s.apply_outcome(Outcome::Helpful, day(0.0)).unwrap();
        assert_eq!(s.utility, 0.6);
        assert_eq!(s.last_outcome_at, Some(day(0.0)));
        s.apply_outcome(Outcome::Reward(0.0), day(0.0)).unwrap();
        assert_eq!(s.utility, 0.58);
        assert_eq!((s.helpful_count, s.unhelpful_count), (1, 0), "a zero reward counts as neither");
    }

    #[test]
    fn the_distance_from_neutral_halves_every_half_life() {
        let mut s = UsageStats::default();
        s.apply_outcome(Outcome::Helpful, day(0.0)).unwrap();
        s.apply_outcome(Outcome::Helpful, day(0.0)).unwrap();
        let distance = s.utility - UsageStats::NEUTRAL_UTILITY;
        let half_life = UsageStats::UTILITY_HALF_LIFE_DAYS;
        assert_eq!(s.effective_utility(day(0.0)), s.utility);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(s.effective_utility(day(half_life)), 0.5 + distance / 2.0));
        assert!(close(s.effective_utility(day(2.0 * half_life)), 0.5 + distance / 4.0));
        assert!(close(s.effective_utility(day(half_life / 2.0)), 0.5 + distance * 0.5f64.sqrt()));
        assert!(close(s.effective_utility(day(100.0 * half_life)), 0.5));
        // A report after one half-life first decays, then moves 20% toward the reward.
        let mut later = s.clone();
        later.apply_outcome(Outcome::Unhelpful, day(half_life)).unwrap();
        let decayed = s.effective_utility(day(half_life));
        assert_eq!(later.utility, decayed + 0.2 * (0.0 - decayed));
        assert_eq!(later.last_outcome_at, Some(day(half_life)));
    }

    #[test]
    fn no_decay_without_a_previous_report_or_going_back_in_time() {
        let fresh = UsageStats { utility: 0.9, ..UsageStats::default() };
        assert_eq!(fresh.effective_utility(day(1000.0)), 0.9, "imported utility without a report time");
        let mut s = fresh.clone();
        s.apply_outcome(Outcome::Helpful, day(1000.0)).unwrap();
        assert_eq!(s.utility, 0.9 + 0.2 * (1.0 - 0.9));
        let reported = s.clone();
        assert_eq!(s.effective_utility(day(999.0)), s.utility, "before the last report");
        // A late report (older than the last one) applies without decay and keeps the latest time.
        s.apply_outcome(Outcome::Unhelpful, day(10.0)).unwrap();
        assert_eq!(s.utility, reported.utility + 0.2 * (0.0 - reported.utility));
        assert_eq!(s.last_outcome_at, Some(day(1000.0)));
    }

    #[test]
    fn extreme_times_neither_overflow_nor_leave_the_range() {
        let s = UsageStats { utility: 1.0, last_outcome_at: Some(Timestamp::MIN), ..UsageStats::default() };
        assert_eq!(s.effective_utility(Timestamp::MAX), 0.5);
        let s = UsageStats { last_outcome_at: Some(Timestamp::from_micros(i64::MIN)), ..s };
        assert_eq!(s.effective_utility(Timestamp::from_micros(i64::MAX)), 0.5);
        let one_micro_later = s.effective_utility(Timestamp::from_micros(i64::MIN + 1));
        assert!(one_micro_later > 0.999_999 && one_micro_later <= 1.0);
    }

    #[test]
    fn stats_without_last_outcome_at_still_parse() {
        let old = r#"{"utility":0.7,"evidence_count":2,"access_count":0,"last_accessed_at":null,
            "helpful_count":1,"unhelpful_count":0}"#;
        let stats: UsageStats = serde_json::from_str(old).unwrap();
        assert_eq!(stats.last_outcome_at, None);
        assert_eq!(stats.utility, 0.7);
        let round_trip: UsageStats = serde_json::from_str(&serde_json::to_string(&stats).unwrap()).unwrap();
        assert_eq!(round_trip, stats);
    }

    #[test]
    fn an_out_of_range_last_outcome_at_is_invalid() {
        let s = UsageStats { last_outcome_at: Some(Timestamp::MAX.plus_micros(1)), ..UsageStats::default() };
        assert!(s.validate().unwrap_err().message().contains("last_outcome_at"));
    }

    fn outcome() -> impl Strategy<Value = Outcome> {
        prop_oneof![
            Just(Outcome::Helpful),
            Just(Outcome::Unhelpful),
            (-1.0f64..=1.0).prop_map(Outcome::Reward),
            Just(Outcome::Reward(1.0)),
            Just(Outcome::Reward(-1.0)),
        ]
    }

    /// A report time: mostly forward steps from minutes to years, sometimes back in time.
    fn step_micros() -> impl Strategy<Value = i64> {
        prop_oneof![
            4 => 0i64..=1_000 * MICROS_PER_DAY,
            1 => -10 * MICROS_PER_DAY..0i64,
            1 => Just(0i64),
        ]
    }

    proptest! {
        #[test]
        fn utility_stays_in_range_under_any_reports(
            start in 0.0f64..=1.0,
            reports in proptest::collection::vec((outcome(), step_micros()), 0..200),
            probe in 0i64..=100_000 * MICROS_PER_DAY,
        ) {
            let mut s = UsageStats { utility: start, ..UsageStats::default() };
            let mut now = day(0.0);
            for (outcome, step) in reports {
                now = now.plus_micros(step);
                let before = s.effective_utility(now);
                s.apply_outcome(outcome, now).unwrap();
                prop_assert!((0.0..=1.0).contains(&s.utility), "utility {}", s.utility);
                prop_assert!(s.validate().is_ok());
                // The report moved utility toward its reward, never past it.
                let target = (outcome.reward().unwrap() + 1.0) / 2.0;
                prop_assert!((s.utility - target).abs() <= (before - target).abs() + 1e-12);
                prop_assert!(s.last_outcome_at >= Some(now));
            }
            let later = s.effective_utility(now.plus_micros(probe));
            prop_assert!((0.0..=1.0).contains(&later));
            // Decay only ever brings utility closer to neutral.
            prop_assert!((later - 0.5).abs() <= (s.utility - 0.5).abs());
        }
    }

    #[test]
    fn working_memories_need_an_expiry_and_only_they_may_have_one() {
        let ns = NamespaceKey::default_ns();
        let at = Timestamp::from_micros(0);
        assert!(NewMemory::new(ns.clone(), Layer::Working, "x", at).validate().is_err());
        assert!(NewMemory::new(ns.clone(), Layer::Working, "x", at).expiring_at(at).validate().is_ok());
        assert!(NewMemory::new(ns, Layer::Semantic, "x", at).expiring_at(at).validate().is_err());
    }

    #[test]
    fn categories_are_checked() {
        for known in Category::KNOWN {
            Category::new(known).unwrap();
        }
        assert!(Category::new("Fact").is_err());
        assert!(Category::new("").is_err());
    }
}
