//! Shared helpers: engines over the in-memory store with the hash embedder and a manual clock.

use std::sync::Arc;

use memory_core::{InMemoryStore, Store, Timestamp};
use memory_embed::HashEmbedder;
use memory_engine::{Caller, Engine, EngineParts, ManualClock};
use memory_policy::Policy;
use memory_policy::load::{Dialect, parse};

/// 2026-06-01T00:00:00Z.
pub const START: Timestamp = Timestamp::from_micros(1_780_272_000_000_000);

/// An engine with `config` (TOML, may be empty) over a fresh in-memory store.
pub fn engine(config: &str) -> (Engine, ManualClock) {
    engine_on(config, Arc::new(InMemoryStore::new()))
}

/// An engine with `config` (TOML, may be empty) over `store`.
pub fn engine_on(config: &str, store: Arc<dyn Store>) -> (Engine, ManualClock) {
    let loaded = parse(config, Dialect::Toml).unwrap_or_else(|d| panic!("bad test config: {d:?}"));
    let clock = ManualClock::new(START);
    let mut parts = EngineParts::new(store, Arc::new(HashEmbedder::new(384).unwrap()));
    parts.recall = loaded.config.engine.recall.clone();
    parts.policy = Policy::new(loaded.config);
    parts.clock = Arc::new(clock.clone());
    (Engine::new(parts), clock)
}

/// The default tenant acting as `principal`.
pub fn who(principal: &str) -> Caller {
    Caller::principal(principal).unwrap()
}

/// The contents of a recall, in order.
pub fn contents(recall: &memory_engine::Recall) -> Vec<String> {
    recall.memories.iter().map(|r| r.memory.content.clone()).collect()
}
