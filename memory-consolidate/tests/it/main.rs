//! Integration tests of consolidation's public API: the rule-based extractor, entities, dates, the
//! LLM extractor against a local OpenAI-compatible server, and the eval over annotated dialogues.

mod entities;
mod eval;
mod llm;
mod rules;
mod text;
