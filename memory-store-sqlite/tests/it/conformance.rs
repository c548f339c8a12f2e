//! The shared conformance suite and the model-based comparison with the reference store, run
//! against a file database (in a temporary directory) and an in-memory database.

use std::sync::Arc;

use memory_store_sqlite::SqliteStore;
use memory_testkit::{Fixture, model};

/// A store in a fresh temporary directory, with the default (full) durability.
async fn file_store() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).expect("open store");
    Fixture::with_guard(Arc::new(store), dir)
}

async fn in_memory_store() -> Fixture {
    Fixture::new(Arc::new(SqliteStore::open_in_memory().expect("open store")))
}

mod file {
    memory_testkit::store_conformance!(super::file_store);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn agrees_with_the_reference_model() {
        let fixture = super::file_store().await;
        super::model::run(&*fixture.store, super::model::iterations_from_env(), super::model::seed_from_env()).await;
    }
}

mod in_memory {
    memory_testkit::store_conformance!(super::in_memory_store);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn agrees_with_the_reference_model() {
        let fixture = super::in_memory_store().await;
        super::model::run(&*fixture.store, super::model::iterations_from_env(), super::model::seed_from_env()).await;
    }
}

/// A file store is durable and shared, with locks that hold across processes; an in-memory
/// database offers none of that. Neither rings a change signal.
#[test]
fn capabilities_follow_the_kind_of_database() {
    use memory_core::{Capabilities, Store};
    let dir = tempfile::tempdir().expect("temp dir");
    let file = SqliteStore::open(dir.path()).expect("open store");
    let expected = Capabilities { durable: true, shared: true, change_notification: false, cross_process_locks: true };
    assert_eq!(file.capabilities(), expected);
    assert!(file.change_signal().is_none());
    let memory = SqliteStore::open_in_memory().expect("open store");
    let none = Capabilities { durable: false, shared: false, change_notification: false, cross_process_locks: false };
    assert_eq!(memory.capabilities(), none);
    assert!(memory.change_signal().is_none());
}
