//! Recall details: filters inside the search, degraded outcomes, pinned caps, deduplication.

use std::sync::Arc;

use memory_core::{Category, Error, ErrorKind, InMemoryStore, Layer, Result};
use memory_embed::Embedder;
use memory_engine::{Engine, EngineParts, MemoryInput, RecallOutcome, RecallRequest};

use crate::support::{contents, engine, who};

#[tokio::test]
async fn category_time_and_metadata_filters_apply_to_ranked_memories() {
    let (e, clock) = engine("");
    let me = who("u");
    let pref = Category::new("preference").unwrap();
    e.remember_now(
        &me,
        MemoryInput::new(Layer::Semantic, "User prefers dark mode").category(pref.clone()).meta("app", "editor"),
    )
    .await
    .unwrap();
    e.remember_now(
        &me,
        MemoryInput::new(Layer::Semantic, "User prefers light mode in the browser").meta("app", "browser"),
    )
    .await
    .unwrap();
    clock.advance_days(10);
    let cutoff = e.now();
    e.remember_now(&me, MemoryInput::new(Layer::Semantic, "User prefers compact mode").meta("app", "editor"))
        .await
        .unwrap();

    let mut req = RecallRequest::new("user prefers mode");
    req.categories = Some(vec![pref]);
    assert_eq!(contents(&e.recall(&me, &req).await.unwrap()), ["User prefers dark mode"]);

    let mut req = RecallRequest::new("user prefers mode");
    req.metadata.insert("app".into(), "editor".into());
    let mut got = contents(&e.recall(&me, &req).await.unwrap());
    got.sort();
    assert_eq!(got, ["User prefers compact mode", "User prefers dark mode"]);

    req.created_from = Some(cutoff);
    assert_eq!(contents(&e.recall(&me, &req).await.unwrap()), ["User prefers compact mode"]);
    req.created_before = Some(cutoff);
    assert_eq!(e.recall(&me, &req).await.unwrap_err().kind(), ErrorKind::InvalidInput);

    let mut req = RecallRequest::new("user prefers mode");
    req.metadata.insert("app".into(), "phone".into());
    let r = e.recall(&me, &req).await.unwrap();
    assert_eq!(r.outcome, RecallOutcome::Empty);
}

#[derive(Debug)]
struct Broken;

impl Embedder for Broken {
    fn model_id(&self) -> &str {
        "broken"
    }
    fn dimension(&self) -> usize {
        8
    }
    fn embed(&self, _: &[&str]) -> Result<Vec<Vec<f32>>> {
        Err(Error::unavailable("the embedding service is down"))
    }
}

#[tokio::test]
async fn a_failing_embedder_degrades_to_full_text_and_says_so() {
    let e = Engine::new(EngineParts::new(Arc::new(InMemoryStore::new()), Arc::new(Broken)));
    let me = who("u");
    let w = e.remember(&me, "The build server is named hopper", None).await.unwrap();
    assert!(w.warnings.iter().any(|x| x.contains("degraded")), "{:?}", w.warnings);
    let r = e.recall(&me, &RecallRequest::new("build server name")).await.unwrap();
    assert_eq!(r.outcome, RecallOutcome::Degraded);
    assert_eq!(contents(&r), ["The build server is named hopper"]);
    assert!(r.warnings.iter().any(|x| x.contains("embedder failed")));
    // A query vector given by the caller needs no embedder.
    let mut req = RecallRequest::new("build server name");
    req.vector = Some(vec![0.5; 8]);
    assert_eq!(e.recall(&me, &req).await.unwrap().outcome, RecallOutcome::Ok);
}

#[tokio::test]
async fn pinned_memories_are_capped_and_deduplicated_across_namespaces() {
    let config = "[namespaces]\ndefault_recall = [\"*\"]\n[[namespaces.policies]]\nname = \"team\"\nread = [\"*\"]\nwrite = [\"*\"]\n[recall]\npinned_limit = 2\n";
    let (e, _) = engine(config);
    let me = who("u");
    for rule in ["Rule one", "Rule two", "Rule three"] {
        e.remember_now(&me, MemoryInput::new(Layer::Procedural, rule)).await.unwrap();
    }
    e.remember_now(&me, MemoryInput::new(Layer::Procedural, "Rule one").in_namespace("team")).await.unwrap();
    let mut req = RecallRequest::new("anything");
    req.limit = 10;
    let r = e.recall(&me, &req).await.unwrap();
    let pinned: Vec<&str> = r.memories.iter().filter(|m| m.pinned).map(|m| m.memory.content.as_str()).collect();
    assert_eq!(pinned.len(), 2, "{pinned:?}");
    let mut unique = pinned.clone();
    unique.dedup();
    assert_eq!(unique.len(), pinned.len());
    assert_eq!(e.recall(&me, &RecallRequest { limit: 0, ..req }).await.unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn unauthenticated_callers_are_refused() {
    let (e, _) = engine("");
    let nobody = memory_engine::Caller::new(memory_core::TenantId::default_tenant(), memory_policy::Caller::default());
    assert_eq!(e.recall(&nobody, &RecallRequest::new("x")).await.unwrap_err().kind(), ErrorKind::Unauthenticated);
    assert_eq!(e.remember(&nobody, "x", None).await.unwrap_err().kind(), ErrorKind::Unauthenticated);
}

/// A recall's free text is bounded like any other: a query over 64 KiB is invalid input.
#[tokio::test]
async fn an_oversized_query_is_invalid_input() {
    let (e, _) = crate::support::engine("");
    let me = crate::support::who("u");
    let request = memory_engine::RecallRequest::new("q".repeat(memory_core::MAX_LONG_TEXT_BYTES + 1));
    let err = e.recall(&me, &request).await.unwrap_err();
    assert_eq!(err.kind(), memory_core::ErrorKind::InvalidInput);
    assert!(err.message().contains("the query is 65537 bytes"), "{err}");
}
