//! The API boundary used by the server and the CLI: joins store, index, embedder and the scope
//! resolver into remember / recall / promote / export (SPEC 2-4, 8). Backends are cargo features
//! here.
//!
//! Today it offers front ends the scope resolver ([`policy`]); the remember/recall pipeline
//! comes with a later issue.

/// The scope resolver: configuration loading, compiled policies and scope plans. Front ends
/// reach it through the engine, never directly (see ARCHITECTURE.md, "Who may depend on whom").
pub use memory_policy as policy;
