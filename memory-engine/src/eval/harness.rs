//! The engine a run measures: a fresh one per run, laid out as a home holds it (a SQLite store
//! and its index in a temporary directory), written and asked through its public operations
//! only, as principal [`PRINCIPAL`] with a [`ManualClock`] the run moves.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use memory_core::{Category, Error, Layer, MemoryId, NamespaceKey, Result, Store, TenantId, Timestamp};
use memory_embed::Embedder;
use memory_policy::Policy;
use memory_policy::load::{Dialect, parse};

use super::{DEFAULT_TIMESTAMP, DatasetMemory, INGEST_BATCH};
use crate::{Caller, Engine, EngineParts, ManualClock, MemoryInput, RecallOutcome, RecallRequest};

/// Who writes and asks: the one principal the run's policy lets read and write every
/// collection's namespace.
pub const PRINCIPAL: &str = "eval";

/// A fresh engine over an empty store, with the clock, caller and folder that go with it.
#[derive(Debug)]
pub(super) struct EvalEngine {
    engine: Engine,
    clock: ManualClock,
    caller: Caller,
    /// Declared last so it is removed after the engine (and its store) are dropped.
    _scratch: tempfile::TempDir,
}

impl EvalEngine {
    /// An engine with `embedder`, a store in a new temporary directory, and its index there
    /// too, or in `index_dir` when given (whatever index of the default tenant is there is
    /// removed first: leftovers would distort the scores). The policy lets [`PRINCIPAL`] read
    /// and write `namespaces` and nothing else; recall settings are the defaults.
    pub(super) fn open(
        embedder: Arc<dyn Embedder>,
        namespaces: &[NamespaceKey],
        index_dir: Option<&Path>,
    ) -> Result<EvalEngine> {
        let scratch = tempfile::Builder::new()
            .prefix("memory-eval-")
            .tempdir()
            .map_err(|e| Error::unavailable(format!("cannot create a temporary directory: {e}")).with_source(e))?;
        let index_dir = match index_dir {
            Some(dir) => {
                let tenant_dir = dir.join(TenantId::default_tenant().path_token());
                if tenant_dir.exists() {
                    std::fs::remove_dir_all(&tenant_dir).map_err(|e| {
                        Error::unavailable(format!("cannot remove the old index {}: {e}", tenant_dir.display()))
                            .with_source(e)
                    })?;
                }
                dir.to_owned()
            }
            None => scratch.path().join("index"),
        };
        let policy = policy(namespaces)?;
        let clock = ManualClock::new(DEFAULT_TIMESTAMP);
        let mut parts = EngineParts::new(open_store(&scratch.path().join("store"))?, embedder);
        parts.recall = policy.config().engine.recall.clone();
        parts.policy = policy;
        parts.index_dir = Some(index_dir);
        parts.clock = Arc::new(clock.clone());
        let caller = Caller::principal(PRINCIPAL).expect("the eval principal is valid");
        Ok(EvalEngine { engine: Engine::new(parts), clock, caller, _scratch: scratch })
    }

    /// The engine, for what the run reports about it.
    pub(super) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Remembers `memories` (one collection's, in file order) in `namespace` with
    /// `remember_batch`, each as an episodic event created at its timestamp: the clock is set
    /// to it before the write. Consecutive memories with the same timestamp share a batch of
    /// at most [`INGEST_BATCH`]. Calls `written(n)` after each batch of `n` memories. Returns
    /// which memories (by position) each stored memory stands for: usually one, more when
    /// the store deduplicated equal contents.
    pub(super) async fn remember(
        &self,
        namespace: &NamespaceKey,
        memories: &[DatasetMemory],
        written: &mut dyn FnMut(usize),
    ) -> Result<HashMap<MemoryId, Vec<usize>>> {
        let mut stands_for: HashMap<MemoryId, Vec<usize>> = HashMap::with_capacity(memories.len());
        let mut start = 0;
        while start < memories.len() {
            let at = created_at(&memories[start]);
            let end = (start + 1..memories.len())
                .find(|&i| i - start == INGEST_BATCH || created_at(&memories[i]) != at)
                .unwrap_or(memories.len());
            let batch = &memories[start..end];
            let inputs = batch.iter().map(|m| input(namespace, m)).collect();
            self.clock.set(at);
            let results = self.engine.remember_batch(&self.caller, inputs).await.map_err(|e| at_lines(batch, e))?;
            if results.len() != batch.len() {
                return Err(Error::internal(format!(
                    "remember_batch answered {} results for {} memories",
                    results.len(),
                    batch.len()
                )));
            }
            for (offset, (memory, result)) in batch.iter().zip(results).enumerate() {
                if let Some(warning) = result.warnings.first() {
                    // A degraded write (say, indexed for full text only) would be scored as if
                    // it were the real thing.
                    return Err(Error::unavailable(format!("line {}: {warning}", memory.line)));
                }
                stands_for.entry(result.id).or_default().push(start + offset);
            }
            written(batch.len());
            start = end;
        }
        Ok(stands_for)
    }

    /// Ends the ingest as a process that writes would: the index saved.
    pub(super) async fn flush(&self) -> Result<()> {
        self.engine.flush().await
    }

    /// Recalls `query` from `namespace` alone, at most `limit` memories, with the clock at
    /// `at`; the ids, best first. A degraded recall is an error, for the same reason as a
    /// degraded write.
    pub(super) async fn recall(
        &self,
        namespace: &NamespaceKey,
        query: &str,
        limit: usize,
        at: Timestamp,
    ) -> Result<Vec<MemoryId>> {
        let mut request = RecallRequest::new(query);
        request.namespaces = vec![namespace.as_str().to_owned()];
        request.limit = limit;
        self.clock.set(at);
        let recall = self.engine.recall(&self.caller, &request).await?;
        if recall.outcome == RecallOutcome::Degraded {
            return Err(Error::unavailable(format!("the recall was degraded: {}", recall.warnings.join("; "))));
        }
        Ok(recall.memories.iter().map(|r| r.memory.id).collect())
    }
}

/// When `memory` was said: its timestamp, else [`DEFAULT_TIMESTAMP`].
pub(super) fn created_at(memory: &DatasetMemory) -> Timestamp {
    memory.timestamp.unwrap_or(DEFAULT_TIMESTAMP)
}

/// The conversation id of a memory of `session` in `namespace`: `<namespace>/<session>`.
/// Namespace keys hold no `/`, so two collections never share a conversation.
fn conversation_id(namespace: &NamespaceKey, session: &str) -> String {
    format!("{namespace}/{session}")
}

/// The write of one dataset memory.
fn input(namespace: &NamespaceKey, memory: &DatasetMemory) -> MemoryInput {
    let mut input = MemoryInput::new(Layer::Episodic, memory.indexed_content())
        .in_namespace(namespace.as_str())
        .category(Category::event());
    input.conversation_id = memory.session.as_deref().map(|session| conversation_id(namespace, session));
    input
}

/// `error` with the dataset lines of `batch` in front, keeping its kind: the engine names a
/// batch's inputs, the user needs lines.
fn at_lines(batch: &[DatasetMemory], error: Error) -> Error {
    let lines = match batch {
        [one] => format!("line {}", one.line),
        [first, .., last] => format!("lines {}-{}", first.line, last.line),
        [] => return error,
    };
    Error::new(error.kind(), format!("{lines}: {}", error.message()))
}

/// A policy that lets [`PRINCIPAL`] read and write each of `namespaces`.
fn policy(namespaces: &[NamespaceKey]) -> Result<Policy> {
    let policies: serde_json::Map<String, serde_json::Value> = namespaces
        .iter()
        .map(|ns| (ns.as_str().to_owned(), serde_json::json!({ "read": [PRINCIPAL], "write": [PRINCIPAL] })))
        .collect();
    let text = serde_json::json!({ "namespacePolicies": policies }).to_string();
    let loaded = parse(&text, Dialect::Json).map_err(|diagnostics| {
        let found: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        Error::invalid_input(format!("the collections cannot be given namespaces: {}", found.join("; ")))
    })?;
    Ok(Policy::new(loaded.config))
}

/// The store of a run: SQLite in `dir`, as a home has it.
#[cfg(feature = "sqlite")]
fn open_store(dir: &Path) -> Result<Arc<dyn Store>> {
    let store = memory_store_sqlite::SqliteStore::open_with(memory_store_sqlite::SqliteOptions::new(dir.to_owned()))?;
    Ok(Arc::new(store))
}

/// Without SQLite there is no store to run on.
#[cfg(not(feature = "sqlite"))]
fn open_store(_dir: &Path) -> Result<Arc<dyn Store>> {
    Err(Error::invalid_input(
        "this build has no SQLite store, which `memory eval` runs on: rebuild with the cargo feature `sqlite` of memory-engine",
    ))
}

#[cfg(test)]
mod tests {
    use memory_embed::HashEmbedder;

    use super::*;
    use crate::eval::Dataset;

    const DATASET: &str = r#"
{"type":"memory","collection":"trip","id":"a","text":"We land in Osaka at noon.","timestamp":"2026-03-01T09:00:00Z","speaker":"Ann","session":"S1"}
{"type":"memory","collection":"trip","id":"b","text":"The hotel is by the river.","timestamp":"2026-03-01T09:00:00Z","speaker":"Ben","session":"S1"}
{"type":"memory","collection":"trip","id":"c","text":"Booked the train to Kyoto.","timestamp":"2026-03-04T18:30:00Z","session":"S2"}
{"type":"memory","collection":"trip","id":"d","text":"Bring the rail passes."}
{"type":"memory","collection":"trip","id":"e","text":"Pack an umbrella."}
{"type":"query","collection":"trip","id":"q","text":"Where is the hotel?","relevant":["b"]}
"#;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    }

    fn open(namespaces: &[NamespaceKey], index_dir: Option<&Path>) -> EvalEngine {
        EvalEngine::open(Arc::new(HashEmbedder::new(64).unwrap()), namespaces, index_dir).unwrap()
    }

    #[test]
    fn memories_are_episodic_events_created_at_their_time_in_their_session() {
        let dataset = Dataset::parse(DATASET).unwrap();
        let memories = &dataset.collections[0].memories;
        let ns = NamespaceKey::new("trip").unwrap();
        runtime().block_on(async {
            let eval = open(std::slice::from_ref(&ns), None);
            let mut batches = Vec::new();
            let stands_for = eval.remember(&ns, memories, &mut |n| batches.push(n)).await.unwrap();
            // Equal timestamps share a batch; undated memories share the default time.
            assert_eq!(batches, [2, 1, 2]);
            assert_eq!(stands_for.len(), 5);
            for (id, positions) in &stands_for {
                let [position] = positions[..] else { panic!("{positions:?}") };
                let expected = &memories[position];
                let m = eval.engine.get(&eval.caller, *id).await.unwrap();
                assert_eq!(m.content, expected.indexed_content());
                assert_eq!((m.namespace.as_str(), m.layer, &m.category), ("trip", Layer::Episodic, &Category::event()));
                assert_eq!(m.created_at, expected.timestamp.unwrap_or(DEFAULT_TIMESTAMP), "{}", expected.id);
                let conversation = expected.session.as_ref().map(|s| format!("trip/{s}"));
                assert_eq!(m.provenance.conversation_id, conversation, "{}", expected.id);
            }
        });
    }

    #[test]
    fn equal_contents_are_one_memory_standing_for_each() {
        let text = r#"
{"type":"memory","collection":"c","id":"a","text":"Yes.","speaker":"Ann"}
{"type":"memory","collection":"c","id":"b","text":"No.","speaker":"Ann","timestamp":"2026-02-01T00:00:00Z"}
{"type":"memory","collection":"c","id":"c","text":"Yes.","speaker":"Ann","timestamp":"2026-03-01T00:00:00Z"}
{"type":"query","collection":"c","id":"q","text":"Yes?","relevant":["c"]}
"#;
        let dataset = Dataset::parse(text).unwrap();
        let ns = NamespaceKey::new("c").unwrap();
        runtime().block_on(async {
            let eval = open(std::slice::from_ref(&ns), None);
            let stands_for = eval.remember(&ns, &dataset.collections[0].memories, &mut |_| {}).await.unwrap();
            let mut held: Vec<Vec<usize>> = stands_for.into_values().collect();
            held.sort();
            assert_eq!(held, [vec![0, 2], vec![1]]);
        });
    }

    #[test]
    fn a_write_the_engine_refuses_names_its_line() {
        let long = "s".repeat(memory_core::MAX_SHORT_TEXT_BYTES);
        let text = format!(
            "{{\"type\":\"memory\",\"collection\":\"c\",\"id\":\"a\",\"text\":\"t\",\"session\":\"{long}\"}}\n\
             {{\"type\":\"query\",\"collection\":\"c\",\"id\":\"q\",\"text\":\"t\",\"relevant\":[\"a\"]}}"
        );
        let dataset = Dataset::parse(&text).unwrap();
        let ns = NamespaceKey::new("c").unwrap();
        runtime().block_on(async {
            let eval = open(std::slice::from_ref(&ns), None);
            let e = eval.remember(&ns, &dataset.collections[0].memories, &mut |_| {}).await.unwrap_err();
            assert_eq!(e.kind(), memory_core::ErrorKind::InvalidInput);
            assert!(e.message().starts_with("line 1: ") && e.message().contains("conversation"), "{e}");
        });
    }

    #[test]
    fn the_policy_names_every_collection_even_reserved_names() {
        let keys: Vec<NamespaceKey> =
            ["default", "shared", "eval", "team.alpha"].into_iter().map(|k| NamespaceKey::new(k).unwrap()).collect();
        let policy = policy(&keys).unwrap();
        let named: Vec<&str> = policy.configured_namespaces().map(NamespaceKey::as_str).collect();
        for key in &keys {
            assert!(named.contains(&key.as_str()), "{key}: {named:?}");
        }
    }

    #[test]
    fn an_index_folder_is_emptied_of_the_last_run() {
        let dir = tempfile::tempdir().unwrap();
        let stale = dir.path().join(TenantId::default_tenant().path_token()).join("meta.json");
        std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
        std::fs::write(&stale, "{}").unwrap();
        let eval = open(&[], Some(dir.path()));
        assert!(!stale.exists());
        drop(eval);
    }
}
