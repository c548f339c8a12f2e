//! The engine on the shared PostgreSQL store (`MEMORY_TEST_PG_URL`; skipped with a message
//! without it, a failure under `CI=true`): what a team moving from one machine to a shared
//! database relies on.

use std::io::Cursor;
use std::sync::Arc;

use memory_core::{Layer, Outcome, TenantId};
use memory_embed::HashEmbedder;
use memory_engine::{Engine, EngineParts, ExportRequest, HomeOptions, ManualClock, MemoryInput, open_home};
use memory_policy::Policy;
use memory_policy::load::{Dialect, parse};
use memory_store_postgres::testing::TestSchema;

use crate::support::{START, who};

const CONFIG: &str = r#"
[namespaces]
[[namespaces.policies]]
name = "research"
read = ["r"]
write = ["r"]
"#;

/// An engine with `config` over a store in a fresh schema (dropped with the guard).
pub async fn pg_engine(config: &str, clock: &ManualClock) -> Option<(Engine, TestSchema)> {
    let (store, schema) = TestSchema::store().await?;
    let loaded = parse(config, Dialect::Toml).unwrap_or_else(|d| panic!("bad test config: {d:?}"));
    let mut parts = EngineParts::new(Arc::new(store), Arc::new(HashEmbedder::new(384).unwrap()));
    parts.recall = loaded.config.engine.recall.clone();
    parts.policy = Policy::new(loaded.config);
    parts.clock = Arc::new(clock.clone());
    Some((Engine::new(parts), schema))
}

async fn export_all(e: &Engine) -> String {
    let mut out = Vec::new();
    let op = who("ops").as_operator();
    e.export(&op, &ExportRequest::default(), &mut out, &mut |_| {}).await.unwrap();
    String::from_utf8(out).unwrap()
}

/// The memory lines of an export, in order.
fn memory_lines(export: &str) -> Vec<&str> {
    export.lines().filter(|l| l.contains(r#""type":"memory""#)).collect()
}

/// Export from SQLite, import into PostgreSQL, export again: the same memory lines, byte for
/// byte; importing again changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_export_imports_into_postgres_and_exports_identically() {
    let clock = ManualClock::new(START);
    let Some((pg, _schema)) = pg_engine(CONFIG, &clock).await else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("memory.toml"), CONFIG).unwrap();
    let mut options = HomeOptions::new(dir.path());
    options.embedder = Some("hash".into());
    options.clock = Arc::new(clock.clone());
    let sqlite = open_home(options).await.unwrap().engine;

    let r = who("r");
    let first = sqlite
        .remember_now(&r, MemoryInput::new(Layer::Semantic, "fact one").in_namespace("research").meta("k", 1.5))
        .await
        .unwrap();
    clock.advance_days(1);
    sqlite.remember(&r, "an event with ünïcödé and \"quotes\"", Some("c1")).await.unwrap();
    sqlite.remember(&r, "an event with ünïcödé and \"quotes\"", Some("c1")).await.unwrap();
    let now = memory_engine::Clock::now(&clock);
    sqlite.remember_now(&r, MemoryInput::new(Layer::Working, "temporary").expires_at(now.plus_days(3))).await.unwrap();
    sqlite
        .supersede(&r, first.id, MemoryInput::new(Layer::Semantic, "fact one, corrected").in_namespace("research"))
        .await
        .unwrap();
    sqlite.report_outcome(&r, &[first.id], Outcome::Helpful).await.unwrap();
    let exported = export_all(&sqlite).await;
    assert_eq!(memory_lines(&exported).len(), 4, "{exported}");

    let op = who("ops").as_operator();
    let report = pg.import(&op, &mut Cursor::new(exported.clone()), &Default::default(), &mut |_| {}).await.unwrap();
    assert_eq!(report.memories, 4);
    let again = export_all(&pg).await;
    assert_eq!(memory_lines(&again), memory_lines(&exported), "PostgreSQL must give back exactly what SQLite wrote");
    let report = pg.import(&op, &mut Cursor::new(exported.clone()), &Default::default(), &mut |_| {}).await.unwrap();
    assert_eq!((report.memories, report.skipped), (0, 4));
    // And recall finds them through the engine's own index.
    let mut request = memory_engine::RecallRequest::new("fact corrected");
    request.namespaces = vec!["research".into()];
    let found = pg.recall(&r, &request).await.unwrap();
    assert!(found.memories.iter().any(|m| m.memory.content == "fact one, corrected"), "{found:?}");
    assert_eq!(
        pg.store().get_memory(&TenantId::default_tenant(), first.id).await.unwrap().unwrap().stats.helpful_count,
        1
    );
}

/// Two engines on one database (two processes' worth: each its own pool and index): each
/// recalls what the other wrote, and an archive through one is honoured by the other on its
/// next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_engines_on_one_database_see_each_others_writes_and_archives() {
    let clock = ManualClock::new(START);
    let Some((a, schema)) = pg_engine(CONFIG, &clock).await else { return };
    let loaded = parse(CONFIG, Dialect::Toml).unwrap();
    let mut parts = EngineParts::new(Arc::new(schema.open().await), Arc::new(HashEmbedder::new(384).unwrap()));
    parts.policy = Policy::new(loaded.config);
    parts.clock = Arc::new(clock.clone());
    let b = Engine::new(parts);
    let r = who("r");
    let request = || {
        let mut q = memory_engine::RecallRequest::new("quarterly budget");
        q.namespaces = vec!["research".into()];
        q
    };
    assert!(b.recall(&r, &request()).await.unwrap().memories.is_empty());
    a.remember_now(&r, MemoryInput::new(Layer::Semantic, "the quarterly budget is 40k").in_namespace("research"))
        .await
        .unwrap();
    // The doorbell may take a moment; within a second the other engine recalls it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        if !b.recall(&r, &request()).await.unwrap().memories.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "engine B never saw engine A's write");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    a.archive_namespace(&who("ops").as_operator(), "research").await.unwrap();
    let err = b.recall(&r, &request()).await.err().map(|e| e.kind());
    let refused = b
        .remember_now(&r, MemoryInput::new(Layer::Semantic, "late").in_namespace("research"))
        .await
        .err()
        .map(|e| e.kind());
    assert!(refused.is_some(), "engine B wrote into a namespace engine A archived");
    assert!(
        err.is_some() || b.recall(&r, &request()).await.unwrap().memories.is_empty(),
        "engine B recalled from a namespace engine A archived"
    );
}

/// Counts the texts it embeds, embedding as the hash embedder does.
#[derive(Debug)]
struct Counting {
    inner: HashEmbedder,
    texts: std::sync::atomic::AtomicUsize,
}

impl memory_embed::Embedder for Counting {
    fn model_id(&self) -> &str {
        self.inner.model_id()
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    fn embed(&self, texts: &[&str]) -> memory_core::Result<Vec<Vec<f32>>> {
        self.texts.fetch_add(texts.len(), std::sync::atomic::Ordering::SeqCst);
        self.inner.embed(texts)
    }
}

/// A memory is embedded once, by the engine that wrote it: the store keeps the vector, and the
/// other engine indexes it from there (it embeds only its queries).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_engine_indexes_stored_vectors_without_embedding_again() {
    use memory_embed::Embedder;
    let clock = ManualClock::new(START);
    let Some((a, schema)) = pg_engine(CONFIG, &clock).await else { return };
    let counting = Arc::new(Counting { inner: HashEmbedder::new(384).unwrap(), texts: Default::default() });
    let loaded = parse(CONFIG, Dialect::Toml).unwrap();
    let mut parts = EngineParts::new(Arc::new(schema.open().await), counting.clone());
    parts.policy = Policy::new(loaded.config);
    parts.clock = Arc::new(clock.clone());
    let b = Engine::new(parts);
    let r = who("r");
    let inputs: Vec<MemoryInput> = (0..50)
        .map(|i| MemoryInput::new(Layer::Semantic, format!("note {i} about the garden")).in_namespace("research"))
        .collect();
    let written: Vec<memory_core::MemoryId> =
        a.remember_batch(&r, inputs).await.unwrap().iter().map(|w| w.id).collect();
    let stored = a.store().get_embeddings(&TenantId::default_tenant(), counting.model_id(), &written).await.unwrap();
    assert!(stored.iter().all(|v| v.as_ref().is_some_and(|v| v.len() == 384)), "every vector is stored");
    let mut request = memory_engine::RecallRequest::new("garden note");
    request.namespaces = vec!["research".into()];
    let found = b.recall(&r, &request).await.unwrap();
    assert!(!found.memories.is_empty());
    assert_eq!(
        counting.texts.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "engine B should embed its query only, taking the 50 memories' vectors from the store"
    );
}
