//! The API boundary used by the server and the CLI: joins store, index, embedder and the scope
//! resolver into remember / recall / promote / export (SPEC 2-4, 8). Backends are cargo features
//! here. Filled by a later issue; until then this crate is intentionally empty.
