//! The shared conformance suite and the model-based comparison with the reference store.
//! Without `MEMORY_TEST_PG_URL` (and outside CI) each check passes vacuously after saying it
//! skipped; under `CI=true` a missing server fails instead.

use std::sync::Arc;

use memory_store_postgres::testing::TestSchema;
use memory_testkit::{Fixture, model};

/// A store in a fresh schema (dropped with the fixture); an in-memory reference store when
/// PostgreSQL tests are skipped, so the suite still runs its checks on something real.
async fn fresh_store() -> Fixture {
    match TestSchema::store().await {
        Some((store, schema)) => Fixture::with_guard(Arc::new(store), schema),
        None => Fixture::new(Arc::new(memory_core::InMemoryStore::new())),
    }
}

memory_testkit::store_conformance!(fresh_store);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agrees_with_the_reference_model() {
    let fixture = fresh_store().await;
    model::run(&*fixture.store, model::iterations_from_env(), model::seed_from_env()).await;
}
