//! The whole conformance suite and the model test against `InMemoryStore`, the reference.

use std::sync::Arc;

use memory_core::InMemoryStore;
use memory_testkit::{Fixture, model};

async fn fresh() -> Fixture {
    Fixture::new(Arc::new(InMemoryStore::new()))
}

memory_testkit::store_conformance!(fresh);

/// The reference agrees with itself; this exercises the generator and every comparison.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_of_the_reference_agrees_with_itself() {
    let fixture = fresh().await;
    model::run(&*fixture.store, model::iterations_from_env(), model::seed_from_env()).await;
}
