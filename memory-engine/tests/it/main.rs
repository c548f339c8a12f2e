//! Integration tests of the engine's public API, one module per area.

mod eval;
mod sync;
