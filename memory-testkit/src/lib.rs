//! Shared test support for every [`Store`] backend: the conformance suite
//! (one check per contract bullet of the trait), fixtures, and the model-based test that
//! compares a backend with the in-memory reference.
//!
//! A backend crate runs the whole suite with one macro call in its tests. The calling crate
//! needs `tokio` as a dev-dependency with the features `macros` and `rt-multi-thread`,
//! because every generated test is a multi-threaded `#[tokio::test]`:
//!
//! ```text
//! use std::sync::Arc;
//! use memory_testkit::Fixture;
//!
//! async fn fresh_store() -> Fixture {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = MyStore::open(dir.path()).await.unwrap();
//!     Fixture::with_guard(Arc::new(store), dir) // the guard keeps the directory alive
//! }
//!
//! memory_testkit::store_conformance!(fresh_store);
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn agrees_with_the_reference() {
//!     let f = fresh_store().await;
//!     let (iterations, seed) = (memory_testkit::model::iterations_from_env(), memory_testkit::model::seed_from_env());
//!     memory_testkit::model::run(&*f.store, iterations, seed).await;
//! }
//! ```

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use memory_core::Store;

pub mod conformance;
pub mod fixtures;
pub mod model;

/// A store under test plus whatever must outlive it (a temporary directory, a database
/// handle that drops the schema): checks use `store`, and `guard` is dropped after it.
pub struct Fixture {
    /// The store under test; every check expects it to be empty.
    pub store: Arc<dyn Store>,
    // Dropped after `store` (fields drop in declaration order), so a TempDir outlives the
    // files the store still has open.
    guard: Option<Box<dyn Any + Send + Sync>>,
}

impl Fixture {
    /// A fixture that needs nothing kept alive (an in-memory store).
    pub fn new(store: Arc<dyn Store>) -> Self {
        Fixture { store, guard: None }
    }

    /// A fixture whose `guard` (e.g. a `tempfile::TempDir`) lives as long as the fixture.
    pub fn with_guard(store: Arc<dyn Store>, guard: impl Any + Send + Sync) -> Self {
        Fixture { store, guard: Some(Box::new(guard)) }
    }
}

impl fmt::Debug for Fixture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fixture").field("store", &self.store).field("guarded", &self.guard.is_some()).finish()
    }
}
