//! HTTP (JSON under `/v1`) and MCP front ends; the only crate that knows wire formats (SPEC 8).
//! Filled by a later issue; until then this crate is intentionally empty.
