//! The `memory` command-line program; the only crate that knows argv and terminals (SPEC 8).
//! Filled by a later issue; until then this crate is intentionally empty.
