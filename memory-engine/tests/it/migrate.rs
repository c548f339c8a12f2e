//! Namespace migration and import into another namespace (seeds/002): a dry run changes
//! nothing, an apply moves everything (ids and history kept, duplicates merged), an interrupted
//! apply resumes, and an export of one namespace imports into another.

use std::io::Cursor;
use std::sync::Arc;

use memory_core::{
    Category, ErrorKind, InMemoryStore, Layer, Memory, MemoryId, NamespacePatch, PageRequest, Store, TenantId,
};
use memory_embed::HashEmbedder;
use memory_engine::{
    Caller, Engine, EngineParts, ExportRequest, ImportRequest, ListRequest, ManualClock, MemoryInput, MigrateRequest,
};

use crate::support::{START, who};

fn engine_over(store: Arc<InMemoryStore>) -> Engine {
    let mut parts = EngineParts::new(store, Arc::new(HashEmbedder::new(64).unwrap()));
    parts.clock = Arc::new(ManualClock::new(START));
    Engine::new(parts)
}

fn op() -> Caller {
    who("ops").as_operator()
}

async fn setup() -> (Engine, Arc<InMemoryStore>, Vec<MemoryId>, MemoryId) {
    let store = Arc::new(InMemoryStore::new());
    let e = engine_over(store.clone());
    for ns in ["old", "new"] {
        e.create_namespace(&op(), ns, &NamespacePatch::default()).await.unwrap();
    }
    let mut ids = Vec::new();
    for content in ["Alice prefers Python", "The deploy runs on Fridays", "Bob is on call", "Carol writes Go"] {
        ids.push(write(&e, "old", content).await);
    }
    let survivor = write(&e, "new", "The deploy runs on Fridays").await;
    (e, store, ids, survivor)
}

async fn write(e: &Engine, ns: &str, content: &str) -> MemoryId {
    let mut input = MemoryInput::new(Layer::Semantic, content);
    input.namespace = Some(ns.to_owned());
    e.remember_now(&op(), input).await.unwrap().id
}

async fn all_in(e: &Engine, ns: &str) -> Vec<Memory> {
    let request = ListRequest { namespaces: vec![ns.to_owned()], ..ListRequest::default() };
    e.list(&op(), &request, &PageRequest::first(100)).await.unwrap().items
}

/// The expectation after migrating `setup` into `new`: every memory of `old` is in `new`
/// under its id, the duplicate superseded by the survivor, which counts its evidence.
async fn check_migrated(e: &Engine, ids: &[MemoryId], survivor: MemoryId) {
    assert!(all_in(e, "old").await.is_empty(), "the source is left empty");
    let info = e.namespace(&op(), "old").await.unwrap();
    assert_eq!(info.memories, 0, "and it still exists");
    let new = all_in(e, "new").await;
    assert_eq!(new.len(), 5);
    for id in ids {
        let m = new.iter().find(|m| m.id == *id).unwrap_or_else(|| panic!("memory {id} did not move"));
        assert_eq!(m.namespace.as_str(), "new");
    }
    let twin = new.iter().find(|m| m.id == ids[1]).unwrap();
    assert_eq!(twin.superseded_by, Some(survivor), "the duplicate moved in superseded by the survivor");
    let kept = new.iter().find(|m| m.id == survivor).unwrap();
    assert_eq!(kept.stats.evidence_count, 2);
    // The index followed: recall in `new` finds a moved memory, and `old` has nothing left.
    let mut request = memory_engine::RecallRequest::new("Who is on call?");
    request.namespaces = vec!["new".into()];
    let recall = e.recall(&op(), &request).await.unwrap();
    assert!(recall.memories.iter().any(|r| r.memory.id == ids[2]), "recall finds the moved memory in new");
}

#[tokio::test]
async fn a_dry_run_plans_and_changes_nothing() {
    let (e, store, ids, survivor) = setup().await;
    let seq = store.last_seq().await.unwrap();
    let plan = e.migrate_namespace(&op(), &MigrateRequest::dry_run("old", "new")).await.unwrap();
    assert_eq!((plan.memories, plan.moves, plan.merges.len(), plan.conflicts.len()), (4, 3, 1, 0));
    assert_eq!((plan.merges[0].id, plan.merges[0].into), (ids[1], survivor));
    assert!(!plan.applied);
    assert_eq!(store.last_seq().await.unwrap(), seq, "a dry run writes nothing");
    assert_eq!(all_in(&e, "old").await.len(), 4);
}

#[tokio::test]
async fn an_apply_moves_everything_keeping_ids_and_history() {
    let (e, _, ids, survivor) = setup().await;
    let mut request = MigrateRequest::apply("old", "new");
    request.batch = 3;
    let done = e.migrate_namespace(&op(), &request).await.unwrap();
    assert_eq!((done.applied, done.moved, done.batches), (true, 4, 2));
    check_migrated(&e, &ids, survivor).await;
    let audit = e.audit_log(&op(), Some("old"), &PageRequest::first(100)).await.unwrap();
    let batches = audit.items.iter().filter(|r| r.operation == "namespace.migrate").count();
    assert_eq!(batches, 2, "each batch is audited");
    let again = e.migrate_namespace(&op(), &MigrateRequest::apply("old", "new")).await.unwrap();
    assert_eq!((again.memories, again.moved), (0, 0), "applying again finds nothing left");
}

#[tokio::test]
async fn an_interrupted_apply_resumes() {
    let (e, store, ids, survivor) = setup().await;
    // A killed apply leaves whole batches moved: here the first two memories.
    let tenant = TenantId::default_tenant();
    let (old, new) = ("old".parse().unwrap(), "new".parse().unwrap());
    store.move_memories(&tenant, &old, &new, &ids[..2], START).await.unwrap();
    let done = e.migrate_namespace(&op(), &MigrateRequest::apply("old", "new")).await.unwrap();
    assert_eq!(done.moved, 2, "the apply moves what is left");
    check_migrated(&e, &ids, survivor).await;
}

#[tokio::test]
async fn conflicts_keep_an_apply_from_starting() {
    let (e, store, ids, _) = setup().await;
    let mut input = MemoryInput::new(Layer::Semantic, "Bob is on call");
    input.namespace = Some("new".into());
    input.category = Some(Category::new("event").unwrap());
    e.remember_now(&op(), input).await.unwrap();
    let plan = e.migrate_namespace(&op(), &MigrateRequest::dry_run("old", "new")).await.unwrap();
    assert_eq!(plan.conflicts.len(), 1);
    assert_eq!(plan.conflicts[0].id, ids[2]);
    let seq = store.last_seq().await.unwrap();
    let err = e.migrate_namespace(&op(), &MigrateRequest::apply("old", "new")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.message().contains(&ids[2].to_string()), "{}", err.message());
    assert_eq!(store.last_seq().await.unwrap(), seq, "nothing moved");
}

#[tokio::test]
async fn migrate_refuses_bad_requests_and_strangers() {
    let (e, _, _, _) = setup().await;
    let bad = [
        (MigrateRequest::apply("old", "old"), ErrorKind::InvalidInput),
        (MigrateRequest::apply("old", "nowhere"), ErrorKind::NotFound),
        (MigrateRequest::apply("bad/key", "new"), ErrorKind::InvalidInput),
    ];
    for (request, kind) in bad {
        assert_eq!(e.migrate_namespace(&op(), &request).await.unwrap_err().kind(), kind, "{request:?}");
    }
    let stranger = who("mallory");
    let err = e.migrate_namespace(&stranger, &MigrateRequest::apply("old", "new")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    assert_eq!(all_in(&e, "old").await.len(), 4);
}

#[tokio::test]
async fn an_export_of_one_namespace_imports_into_another() {
    let (e, _, ids, _) = setup().await;
    let mut file = Vec::new();
    let request = ExportRequest { namespaces: vec!["old".into()], audit: false };
    e.export(&op(), &request, &mut file, &mut |_| {}).await.unwrap();
    let into = ImportRequest { namespace: Some("copy".into()), ..ImportRequest::default() };
    let report = e.import(&op(), &mut Cursor::new(file.clone()), &into, &mut |_| {}).await.unwrap();
    assert_eq!((report.namespaces, report.memories), (1, 4));
    let copy = all_in(&e, "copy").await;
    assert_eq!(copy.len(), 4);
    for id in &ids {
        let derived = id.copy_in(&"copy".parse().unwrap());
        assert!(copy.iter().any(|m| m.id == derived), "memory {id} has its copy");
    }
    assert_eq!(all_in(&e, "old").await.len(), 4, "the source is untouched");
    let again = e.import(&op(), &mut Cursor::new(file), &into, &mut |_| {}).await.unwrap();
    assert_eq!((again.memories, again.skipped), (0, 4), "importing twice changes nothing");
    // An existing target keeps its attributes and takes the copies.
    let mut file = Vec::new();
    e.export(&op(), &ExportRequest { namespaces: vec!["new".into()], audit: false }, &mut file, &mut |_| {})
        .await
        .unwrap();
    let into_default = ImportRequest { namespace: Some("default".into()), ..ImportRequest::default() };
    e.import(&op(), &mut Cursor::new(file), &into_default, &mut |_| {}).await.unwrap();
    let default = e.namespace(&op(), "default").await.unwrap();
    assert_eq!((default.namespace.display_name.as_str(), default.memories), ("default", 1));
}

#[tokio::test]
async fn a_file_of_several_namespaces_does_not_import_into_one() {
    let (e, _, _, _) = setup().await;
    let mut file = Vec::new();
    let request = ExportRequest { namespaces: vec!["old".into(), "new".into()], audit: false };
    e.export(&op(), &request, &mut file, &mut |_| {}).await.unwrap();
    let into = ImportRequest { namespace: Some("copy".into()), ..ImportRequest::default() };
    let err = e.import(&op(), &mut Cursor::new(file), &into, &mut |_| {}).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("new, old") || err.message().contains("old, new"), "{}", err.message());
    assert!(e.namespace(&op(), "copy").await.is_err(), "nothing was created");
}
