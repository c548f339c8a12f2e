//! PostgreSQL backend of the `memory_core::Store` contract, on sqlx, shared by many server
//! processes (SPEC 6). Filled by a later issue; until then this crate is intentionally empty.
