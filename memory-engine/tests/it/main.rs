//! Integration tests of the engine's public API, one module per area.

mod consolidate;
mod eval;
mod isolation;
mod maintain;
mod migrate;
mod namespaces;
mod postgres;
mod recall;
mod seeds;
mod support;
mod sync;
mod transfer;
mod writes;
