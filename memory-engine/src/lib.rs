//! The API boundary used by the server and the CLI: joins store, index, embedder and the scope
//! resolver into remember / recall / promote / export (SPEC 2-4, 8). Backends are cargo features
//! here.
//!
//! Today it offers front ends the scope resolver ([`policy`]), the embedders ([`embed`]) and the
//! index ([`index`]), keeps the index in step with a store ([`sync`]), and runs the retrieval
//! evaluation harness ([`eval`]); the remember/recall pipeline comes with a later issue.

pub mod eval;
pub mod sync;

/// The scope resolver: configuration loading, compiled policies and scope plans. Front ends
/// reach it through the engine, never directly (see ARCHITECTURE.md, "Who may depend on whom").
pub use memory_policy as policy;

/// Embedders (hash, static, MiniLM, OpenAI-compatible) and the spec that chooses one.
pub use memory_embed as embed;

/// The derived search index: BM25 plus vectors, fused.
pub use memory_index as index;
