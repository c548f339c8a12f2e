//! memory-embed's integration tests, one binary (`autotests = false`): the embedder contract for
//! each embedder, spec parsing and `auto`, a tiny generated static model, an OpenAI mock server,
//! and MiniLM check values when the model is prepared.

mod contract;
mod hash;
#[cfg(feature = "minilm")]
mod minilm;
mod openai;
mod spec;
#[cfg(feature = "static")]
mod static_model;
#[cfg(feature = "static")]
mod tiny_model;
