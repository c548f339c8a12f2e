//! Consolidation (SPEC 7): what turns a stream of conversation into durable memories.
//!
//! This crate is pure: episodes and existing memories in, proposed actions out. It never
//! touches a store; the engine applies the actions through its one write pipeline.
//! - [`Extractor`]: from episodes, [`Candidate`] semantic, procedural and identity memories.
//!   [`RuleExtractor`] works out of the box; [`LlmExtractor`] asks any OpenAI-compatible chat
//!   model.
//! - [`extract_entities`]: named entities (people, places, organisations, projects, tools)
//!   mentioned by a text.
//! - [`plan`]: candidates merged into what a namespace already holds: a restatement adds
//!   evidence, a contradiction supersedes, identity is only proposed.

mod entities;
mod extract;
mod llm;
mod plan;
mod rules;
pub mod text;
mod when;

pub use entities::{EntityMention, extract_entities};
pub use extract::{Candidate, CandidateKind, Episode, ExtractError, Extractor};
pub use llm::{LlmConfig, LlmExtractor};
pub use plan::{Action, Existing, Plan, Target, plan};
pub use rules::RuleExtractor;
pub use when::{Window, query_window};
