//! The extraction contract: episodes in, candidate durable memories out.

use memory_core::{Category, Confidence, Layer, MemoryId, Timestamp};
use serde::{Deserialize, Serialize};

/// One episodic memory (a remembered event or an observed chat message) to learn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// The episodic memory.
    pub id: MemoryId,
    /// Its conversation, when known: statements are read in the context of their conversation
    /// ("actually, it's tea" corrects the drink named just before).
    pub conversation: Option<String>,
    /// The speaker's role (`user`, `assistant`, ...) when the episode was an observed message.
    pub role: Option<String>,
    /// The text.
    pub content: String,
    /// When it happened: relative dates ("tomorrow", "next Friday") resolve against it.
    pub at: Timestamp,
}

/// What kind of knowledge a candidate is; decides its layer and category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CandidateKind {
    /// Who the user is (name, role, home): identity, only ever proposed for review.
    Identity,
    /// A like or dislike.
    Preference,
    /// Something the user intends to do, with its date when one is given.
    Plan,
    /// Something decided.
    Decision,
    /// A durable fact about the user or their world.
    Fact,
    /// A behavioural rule for the agent ("always", "never", "from now on").
    Rule,
    /// A correction of an earlier statement: supersedes what it corrects.
    Correction,
}

impl CandidateKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [CandidateKind] = &[
        CandidateKind::Identity,
        CandidateKind::Preference,
        CandidateKind::Plan,
        CandidateKind::Decision,
        CandidateKind::Fact,
        CandidateKind::Rule,
        CandidateKind::Correction,
    ];

    /// The layer a candidate of this kind is written into.
    pub fn layer(self) -> Layer {
        match self {
            CandidateKind::Identity => Layer::Identity,
            CandidateKind::Rule => Layer::Procedural,
            _ => Layer::Semantic,
        }
    }

    /// The category a candidate of this kind is written with.
    pub fn category(self) -> Category {
        let name = match self {
            CandidateKind::Identity | CandidateKind::Fact => "fact",
            CandidateKind::Preference => "preference",
            CandidateKind::Plan => "event",
            CandidateKind::Decision => "decision",
            CandidateKind::Rule => "rule",
            CandidateKind::Correction => "correction",
        };
        Category::new(name).expect("a known category")
    }

    /// Its name in files and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateKind::Identity => "identity",
            CandidateKind::Preference => "preference",
            CandidateKind::Plan => "plan",
            CandidateKind::Decision => "decision",
            CandidateKind::Fact => "fact",
            CandidateKind::Rule => "rule",
            CandidateKind::Correction => "correction",
        }
    }
}

impl std::fmt::Display for CandidateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CandidateKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        CandidateKind::ALL.iter().copied().find(|k| k.as_str() == s.trim()).ok_or_else(|| {
            format!("unknown kind {s:?}; expected one of identity, preference, plan, decision, fact, rule, correction")
        })
    }
}

/// A durable memory an extractor proposes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// What kind of knowledge it is.
    pub kind: CandidateKind,
    /// The memory's text, in the third person about the user ("User prefers tea"), with
    /// relative dates resolved ("on 2026-12-11").
    pub content: String,
    /// How sure the extractor is (SPEC 1 tiers: explicit >= 0.95, implied >= 0.70, ...).
    pub confidence: Confidence,
    /// What it is about, as a stable key (`"drink"`, `"name"`, `"home"`): two candidates or
    /// memories with the same slot and different content contradict each other, and the
    /// later supersedes the earlier. `None` when the extractor cannot tell.
    pub slot: Option<String>,
    /// The episodes it was read from (at least one).
    pub sources: Vec<MemoryId>,
    /// When the knowledge was stated: the latest of its sources' times.
    pub at: Timestamp,
}

impl Candidate {
    /// Its layer (see [`CandidateKind::layer`]).
    pub fn layer(&self) -> Layer {
        self.kind.layer()
    }

    /// Its category (see [`CandidateKind::category`]).
    pub fn category(&self) -> Category {
        self.kind.category()
    }
}

/// Why an extractor produced nothing for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtractError {
    /// The model or endpoint could not be reached, or timed out, after every retry.
    Unavailable(String),
    /// The model answered something that is not the promised shape: nothing of it is used.
    InvalidOutput(String),
    /// The extractor is configured wrongly (no model, a malformed URL, ...).
    Config(String),
}

impl std::fmt::Display for ExtractError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExtractError::Unavailable(m) => write!(f, "the extractor is unavailable: {m}"),
            ExtractError::InvalidOutput(m) => write!(f, "the extractor answered invalid output: {m}"),
            ExtractError::Config(m) => write!(f, "the extractor is misconfigured: {m}"),
        }
    }
}

impl std::error::Error for ExtractError {}

/// Reads candidate durable memories out of episodes.
///
/// Contract (every implementation):
/// - Episodes come in time order; the answer is deterministic for the same input when the
///   extractor is (the rule-based one always is).
/// - Every candidate names at least one source, and only ids of the given episodes.
/// - Content is trimmed, non-empty and at most [`memory_core::MAX_CONTENT_BYTES`].
/// - An error means nothing of the batch is used: output is never partly trusted.
/// - Blocking: the LLM extractor does network IO; callers run it off the async runtime.
pub trait Extractor: Send + Sync + std::fmt::Debug {
    /// A short name recorded in the metadata of what it extracted (`rules`, `llm:<model>`).
    fn name(&self) -> String;

    /// The candidates found in `episodes`.
    fn extract(&self, episodes: &[Episode]) -> Result<Vec<Candidate>, ExtractError>;
}
