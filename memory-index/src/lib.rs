//! Derived retrieval state (SPEC 5): tantivy BM25 full text plus per-namespace vector structures
//! (exact scan while small, hnsw_rs once large), fused. Rebuildable from the store at any time.
//! Filled by a later issue; until then this crate is intentionally empty.
