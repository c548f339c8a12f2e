//! Databases for tests: each test gets a store in a schema of its own, dropped afterwards.
//!
//! `MEMORY_TEST_PG_URL` names the server. Without it, tests skip with a message, unless
//! `CI=true`: under CI a missing or unreachable PostgreSQL is a failure, never a skip.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{PgOptions, PgStore};

/// The variable that names the test server.
pub const TEST_URL_VAR: &str = "MEMORY_TEST_PG_URL";

/// The test server's URL; `None` (after saying so on stderr) when tests should skip.
///
/// # Panics
/// Under `CI=true` when the variable is unset: CI never skips PostgreSQL tests.
pub fn test_url() -> Option<String> {
    match std::env::var(TEST_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{TEST_URL_VAR} is unset under CI=true: PostgreSQL tests must run in CI")
        }
        _ => {
            eprintln!(
                "skipped: set {TEST_URL_VAR} (e.g. postgres://postgres@127.0.0.1:5432/test) to run PostgreSQL tests"
            );
            None
        }
    }
}

/// A schema of its own for one test: dropped (with everything in it) when this is dropped.
#[derive(Debug)]
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// A fresh schema name on the test server, and a store in it; `None` when tests skip.
    ///
    /// # Panics
    /// When the server cannot be reached or the store cannot be opened (a test failure).
    pub async fn store() -> Option<(PgStore, TestSchema)> {
        let url = test_url()?;
        let schema = TestSchema::new(url);
        let store = schema.open().await;
        Some((store, schema))
    }

    fn new(url: String) -> TestSchema {
        TestSchema::named(url, "memtest")
    }

    /// A fresh schema name `<prefix>_...` on the server at `url` (benchmarks use their own
    /// prefix); nothing is created until [`TestSchema::open`], and the schema is dropped with
    /// this value.
    pub fn named(url: impl Into<String>, prefix: &str) -> TestSchema {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}_{}_{}_{n}", std::process::id(), uuid::Uuid::now_v7().simple());
        TestSchema { url: url.into(), name }
    }

    /// Another store on the same schema (another "process" sharing the database).
    ///
    /// # Panics
    /// When the store cannot be opened.
    pub async fn open(&self) -> PgStore {
        let options = PgOptions::new(&self.url).schema(&self.name);
        PgStore::connect_with(options).await.unwrap_or_else(|e| panic!("cannot open a test store on {}: {e}", self.url))
    }

    /// The database URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        // Drop may run inside a runtime that cannot block: a thread of its own does the work.
        let (url, name) = (self.url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move {
                use sqlx::{ConnectOptions, Connection};
                let options: sqlx::postgres::PgConnectOptions = url.parse().map_err(std::io::Error::other)?;
                let mut conn = options.connect().await.map_err(std::io::Error::other)?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE")))
                    .execute(&mut conn)
                    .await
                    .map_err(std::io::Error::other)?;
                conn.close().await.map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: test schema {} was not dropped", self.name);
        }
    }
}
