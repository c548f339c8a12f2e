//! Embedders behind one trait (SPEC 5): a deterministic built-in hash embedder, local sentence
//! models loaded from disk, and OpenAI-compatible endpoints. Filled by a later issue; until then
//! this crate is intentionally empty.
