//! Consolidation (episodic memories into durable semantic and procedural ones) and per-namespace
//! maintenance jobs (SPEC 7). Filled by a later issue; until then this crate is intentionally empty.
