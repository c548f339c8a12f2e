//! Checks of memory writes and reads: put (deduplication, validation, atomic batches), get,
//! get_memories, update, delete and purge.

use memory_core::{
    Category, Confidence, ContentHash, ErrorKind, Layer, Memory, MemoryFilter, MemoryId, MemoryPatch, Metadata,
    MoveOutcome, Provenance, PutOutcome, Store, UsageStats,
};
use serde_json::json;

use crate::fixtures::*;

/// A put stores the memory under its id with every field as given, content hash computed,
/// `seq > 0` and `deleted_at = None`, and `get_memory` returns it.
pub async fn check_put_then_get_returns_the_memory(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let mut memory = new_memory_at("research", "Alice prefers Python", at(3));
    memory.category = Category::new("preference").unwrap();
    memory.confidence = Confidence::new(0.8).unwrap();
    memory.provenance = Provenance {
        conversation_id: Some("conv-1".to_owned()),
        session_key: Some("s-1".to_owned()),
        principal: Some(principal("alice")),
    };
    memory.updated_at = at(4);
    memory.metadata = Metadata::from([("source".to_owned(), json!(["chat", 2, null]))]);
    memory.promoted_from = Some(memory_id());
    memory.stats = UsageStats {
        utility: 0.7,
        evidence_count: 3,
        access_count: 2,
        last_accessed_at: Some(at(1)),
        helpful_count: 4,
        unhelpful_count: 1,
        last_outcome_at: Some(at(2)),
    };
    let id = put(store, &tenant(), memory.clone()).await;
    let stored = live(store, &tenant(), id).await;
    assert!(stored.seq > 0, "seq starts above 0");
    assert_eq!(stored, memory.into_memory(tenant(), stored.seq));
}

/// `get_memory` of an id never written is `Ok(None)`.
pub async fn check_get_missing_memory_is_none(store: &dyn Store) {
    assert_eq!(store.get_memory(&tenant(), memory_id()).await.unwrap(), None);
}

/// Content is stored trimmed (inner whitespace kept), and hashed as trimmed.
pub async fn check_put_trims_content(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", " \n\t Alice  likes\ttea \n")).await;
    let stored = live(store, &tenant(), id).await;
    assert_eq!(stored.content, "Alice  likes\ttea");
    assert_eq!(stored.content_hash, ContentHash::of("Alice  likes\ttea"));
}

/// Content equal (by hash: spacing and normal form ignored) to a live memory of the
/// namespace is not stored again: the outcome is `Existing(that id)` and its
/// `evidence_count` grows by one.
pub async fn check_put_duplicate_content_bumps_evidence(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let first = put(store, &tenant(), new_memory("research", "Café opens at nine")).await;
    let again = new_memory("research", "  Cafe\u{301}   opens at\nnine ");
    let outcomes = store.put_memories(&tenant(), vec![again.clone()]).await.unwrap();
    assert_eq!(outcomes, [existing(first)]);
    assert_eq!(live(store, &tenant(), first).await.stats.evidence_count, 2);
    assert_eq!(store.get_memory(&tenant(), again.id).await.unwrap(), None, "the duplicate is not stored");
    assert_eq!(store.count_memories(&tenant(), &MemoryFilter::all()).await.unwrap(), 1);
}

/// Inside one batch, a repeat of an earlier input's content is `Existing(earlier id)` and
/// bumps its evidence; outcomes follow input order.
pub async fn check_put_duplicate_within_batch_bumps_evidence(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let a = new_memory("research", "x marks the spot");
    let b = new_memory("research", "x  marks the spot");
    let c = new_memory("research", "something else");
    let d = new_memory("research", "x marks the spot ");
    let outcomes = store.put_memories(&tenant(), vec![a.clone(), b.clone(), c.clone(), d]).await.unwrap();
    assert_eq!(outcomes, [created(a.id), existing(a.id), created(c.id), existing(a.id)]);
    assert_eq!(live(store, &tenant(), a.id).await.stats.evidence_count, 3);
    assert_eq!(live(store, &tenant(), c.id).await.stats.evidence_count, 1);
    assert_eq!(store.get_memory(&tenant(), b.id).await.unwrap(), None);
}

/// Deduplication is per namespace: the same content in another namespace is a new memory.
pub async fn check_dedupe_is_per_namespace(store: &dyn Store) {
    create_namespace(store, &tenant(), "one").await;
    create_namespace(store, &tenant(), "two").await;
    let first = put(store, &tenant(), new_memory("one", "shared fact")).await;
    put(store, &tenant(), new_memory("two", "shared fact")).await;
    assert_eq!(live(store, &tenant(), first).await.stats.evidence_count, 1);
}

/// Deduplication only sees live memories: content of a tombstoned memory is stored anew.
pub async fn check_dedupe_ignores_tombstoned_memories(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let old = put(store, &tenant(), new_memory("research", "said again later")).await;
    assert!(store.delete_memory(&tenant(), old, at(1)).await.unwrap());
    put(store, &tenant(), new_memory("research", "said again later")).await;
}

/// One invalid input fails the whole batch with `InvalidInput`: no memory is stored, no
/// evidence is bumped, no `seq` is used and `last_write_at` does not move.
pub async fn check_put_batch_with_an_invalid_input_writes_nothing(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let known = put(store, &tenant(), new_memory("research", "known")).await;
    let seq_before = latest_seq(store, &tenant()).await;
    let namespace_before = store.get_namespace(&tenant(), &ns("research")).await.unwrap();
    let fresh = new_memory_at("research", "fresh", at(50));
    let batch = vec![new_memory("research", "known"), fresh.clone(), new_memory("research", "   ")];
    expect_err(store.put_memories(&tenant(), batch).await, ErrorKind::InvalidInput, "batch with blank content");
    assert_eq!(live(store, &tenant(), known).await.stats.evidence_count, 1, "no evidence bump");
    assert_eq!(store.get_memory(&tenant(), fresh.id).await.unwrap(), None, "no valid input stored");
    assert!(store.changes_since(&tenant(), seq_before, 10).await.unwrap().is_empty(), "no seq used");
    assert_eq!(store.get_namespace(&tenant(), &ns("research")).await.unwrap(), namespace_before);
}

/// A batch naming a missing or deleted namespace fails with `NotFound` and writes nothing,
/// not even the inputs aimed at a live namespace.
pub async fn check_put_into_missing_namespace_writes_nothing(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    create_namespace(store, &tenant(), "gone").await;
    store.delete_namespace(&tenant(), &ns("gone"), at(1)).await.unwrap();
    for target in ["missing", "gone"] {
        let good = new_memory("research", "would be fine alone");
        let batch = vec![good.clone(), new_memory(target, "nowhere to go")];
        expect_err(store.put_memories(&tenant(), batch).await, ErrorKind::NotFound, target);
        assert_eq!(store.get_memory(&tenant(), good.id).await.unwrap(), None);
    }
    assert_eq!(store.count_memories(&tenant(), &MemoryFilter::all()).await.unwrap(), 0);
}

/// A new memory whose id is taken (live or tombstoned) fails the batch with `AlreadyExists`
/// and writes nothing.
pub async fn check_put_with_a_taken_id_is_already_exists(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let taken = put(store, &tenant(), new_memory("research", "original")).await;
    let other = new_memory("research", "innocent bystander");
    let reuse = new_memory("research", "different content").with_id(taken);
    expect_err(
        store.put_memories(&tenant(), vec![other.clone(), reuse.clone()]).await,
        ErrorKind::AlreadyExists,
        "put reusing a live id",
    );
    assert_eq!(store.get_memory(&tenant(), other.id).await.unwrap(), None);
    assert_eq!(live(store, &tenant(), taken).await.content, "original");
    store.delete_memory(&tenant(), taken, at(1)).await.unwrap();
    expect_err(store.put_memories(&tenant(), vec![reuse]).await, ErrorKind::AlreadyExists, "put reusing a tombstone");
    assert_eq!(store.get_memory(&tenant(), taken).await.unwrap(), None);
}

/// An id repeated inside one batch (with different content) is `AlreadyExists`; nothing is
/// written.
pub async fn check_put_with_an_id_repeated_in_batch_is_already_exists(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let first = new_memory("research", "first of the pair");
    let second = new_memory("research", "second of the pair").with_id(first.id);
    expect_err(store.put_memories(&tenant(), vec![first.clone(), second]).await, ErrorKind::AlreadyExists, "batch");
    assert_eq!(store.get_memory(&tenant(), first.id).await.unwrap(), None);
}

/// A working memory requires `expires_at` and only working memories may have one; the store
/// enforces `NewMemory::validate` with `InvalidInput`.
pub async fn check_put_working_memory_requires_expiry(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let mut working = new_memory("research", "current task: refactor");
    working.layer = Layer::Working;
    expect_err(store.put_memories(&tenant(), vec![working.clone()]).await, ErrorKind::InvalidInput, "no expiry");
    let semantic = new_memory("research", "a fact").expiring_at(at(60));
    expect_err(store.put_memories(&tenant(), vec![semantic]).await, ErrorKind::InvalidInput, "semantic expiry");
    let id = put(store, &tenant(), working.expiring_at(at(60))).await;
    assert_eq!(live(store, &tenant(), id).await.expires_at, Some(at(60)));
}

/// An empty batch is `Ok(vec![])`.
pub async fn check_put_empty_batch_is_ok(store: &dyn Store) {
    assert_eq!(store.put_memories(&tenant(), Vec::new()).await.unwrap(), []);
}

/// `get_memories` returns the live memories among `ids` in the order of `ids`, each once,
/// skipping missing and tombstoned ones.
pub async fn check_get_memories_keeps_order_and_skips_missing(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["a", "b", "c"]).await;
    store.delete_memory(&tenant(), ids[1], at(1)).await.unwrap();
    let asked = [ids[2], memory_id(), ids[0], ids[1], ids[2], ids[0]];
    let got: Vec<_> = store.get_memories(&tenant(), &asked).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(got, [ids[2], ids[0]]);
    assert!(store.get_memories(&tenant(), &[]).await.unwrap().is_empty());
}

/// Superseded and expired memories are still returned by `get_memory` and `get_memories`.
pub async fn check_get_returns_superseded_and_expired_memories(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let mut working = new_memory("research", "expired long ago");
    working.layer = Layer::Working;
    let expired = put(store, &tenant(), working.expiring_at(at(-3600))).await;
    let old = put(store, &tenant(), new_memory("research", "old belief")).await;
    let new = put(store, &tenant(), new_memory("research", "corrected belief")).await;
    let mut patch = MemoryPatch::default();
    patch.superseded_by = Some(Some(new));
    store.update_memory(&tenant(), old, &patch, at(5)).await.unwrap();
    assert_eq!(live(store, &tenant(), old).await.superseded_by, Some(new));
    assert!(live(store, &tenant(), expired).await.is_expired(at(0)));
    assert_eq!(store.get_memories(&tenant(), &[old, expired]).await.unwrap().len(), 2);
}

/// `update_memory` applies the patch, sets `updated_at = at` and a new, larger `seq`, keeps
/// `created_at`, and returns what `get_memory` then returns.
pub async fn check_update_memory_bumps_seq_and_updated_at(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "draft")).await;
    let before = live(store, &tenant(), id).await;
    let mut patch = MemoryPatch::default();
    patch.confidence = Some(Confidence::new(0.5).unwrap());
    patch.category = Some(Category::new("decision").unwrap());
    patch.metadata = Some(Metadata::from([("k".to_owned(), json!("v"))]));
    let updated = store.update_memory(&tenant(), id, &patch, at(30)).await.unwrap();
    assert!(updated.seq > before.seq, "update takes a new seq");
    assert_eq!(updated.updated_at, at(30));
    let mut expected = before;
    expected.confidence = Confidence::new(0.5).unwrap();
    expected.category = Category::new("decision").unwrap();
    expected.metadata = Metadata::from([("k".to_owned(), json!("v"))]);
    expected.updated_at = at(30);
    expected.seq = updated.seq;
    assert_eq!(updated, expected);
    assert_eq!(live(store, &tenant(), id).await, updated);
}

/// Updating a missing or tombstoned memory is `NotFound`.
pub async fn check_update_missing_or_tombstoned_memory_is_not_found(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let mut patch = MemoryPatch::default();
    patch.content = Some("new".to_owned());
    expect_err(store.update_memory(&tenant(), memory_id(), &patch, at(1)).await, ErrorKind::NotFound, "missing");
    let id = put(store, &tenant(), new_memory("research", "old")).await;
    store.delete_memory(&tenant(), id, at(1)).await.unwrap();
    expect_err(store.update_memory(&tenant(), id, &patch, at(2)).await, ErrorKind::NotFound, "tombstoned");
}

/// New content that duplicates another live memory of the namespace is `Conflict`, and the
/// memory is unchanged.
pub async fn check_update_to_duplicate_content_is_conflict(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["the sky is blue", "grass is green"]).await;
    let before = live(store, &tenant(), ids[1]).await;
    let mut patch = MemoryPatch::default();
    patch.content = Some("  the sky  is blue".to_owned());
    expect_err(store.update_memory(&tenant(), ids[1], &patch, at(5)).await, ErrorKind::Conflict, "duplicate content");
    assert_eq!(live(store, &tenant(), ids[1]).await, before);
}

/// New content is rehashed: the old content no longer deduplicates, the new one does, and
/// re-spacing a memory's own content is not a conflict.
pub async fn check_update_content_moves_the_dedupe_key(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "before")).await;
    let mut patch = MemoryPatch::default();
    patch.content = Some(" after ".to_owned());
    let updated = store.update_memory(&tenant(), id, &patch, at(1)).await.unwrap();
    assert_eq!((updated.content.as_str(), &updated.content_hash), ("after", &ContentHash::of("after")));
    patch.content = Some("after\n".to_owned());
    store.update_memory(&tenant(), id, &patch, at(2)).await.unwrap();
    put(store, &tenant(), new_memory("research", "before")).await;
    let outcomes = store.put_memories(&tenant(), vec![new_memory("research", "after")]).await.unwrap();
    assert_eq!(outcomes, [existing(id)]);
}

/// A patch whose result would not validate is `InvalidInput` and changes nothing.
pub async fn check_invalid_memory_update_changes_nothing(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "stable")).await;
    let before = live(store, &tenant(), id).await;
    let mut to_working = MemoryPatch::default();
    to_working.layer = Some(Layer::Working);
    expect_err(store.update_memory(&tenant(), id, &to_working, at(1)).await, ErrorKind::InvalidInput, "no expiry");
    let mut blank = MemoryPatch::default();
    blank.confidence = Some(Confidence::new(0.1).unwrap());
    blank.content = Some(" \n ".to_owned());
    expect_err(store.update_memory(&tenant(), id, &blank, at(1)).await, ErrorKind::InvalidInput, "blank content");
    let mut itself = MemoryPatch::default();
    itself.superseded_by = Some(Some(id));
    expect_err(store.update_memory(&tenant(), id, &itself, at(1)).await, ErrorKind::InvalidInput, "self-supersede");
    assert_eq!(live(store, &tenant(), id).await, before);
}

/// `delete_memory` is `Ok(true)` for a live memory and `Ok(false)` for a tombstoned one.
pub async fn check_delete_memory_reports_whether_it_was_live(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "short-lived")).await;
    assert!(store.delete_memory(&tenant(), id, at(1)).await.unwrap());
    assert!(!store.delete_memory(&tenant(), id, at(2)).await.unwrap());
}

/// Deleting an id no memory has is `NotFound`.
pub async fn check_delete_missing_memory_is_not_found(store: &dyn Store) {
    expect_err(store.delete_memory(&tenant(), memory_id(), at(1)).await, ErrorKind::NotFound, "delete missing");
}

/// A tombstoned memory disappears at once from get, get_memories, list and count.
pub async fn check_tombstoned_memory_is_invisible(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["doomed", "kept"]).await;
    store.delete_memory(&tenant(), ids[0], at(1)).await.unwrap();
    assert_eq!(store.get_memory(&tenant(), ids[0]).await.unwrap(), None);
    let got: Vec<_> = store.get_memories(&tenant(), &ids).await.unwrap().into_iter().map(|m| m.id).collect();
    assert_eq!(got, [ids[1]]);
    for filter in [MemoryFilter::all(), MemoryFilter::namespace(ns("research"))] {
        assert_eq!(listed_ids(store, &tenant(), &filter).await, [ids[1]]);
        assert_eq!(store.count_memories(&tenant(), &filter).await.unwrap(), 1);
    }
}

/// `purge` removes for good the memories tombstoned at or before `before` (they leave the
/// change feed and deleting them again is `NotFound`) and keeps later tombstones and live
/// memories.
pub async fn check_purge_removes_tombstones_up_to_the_cutoff(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["early", "late", "live"]).await;
    store.delete_memory(&tenant(), ids[0], at(10)).await.unwrap();
    store.delete_memory(&tenant(), ids[1], at(20)).await.unwrap();
    let report = store.purge(&tenant(), at(10)).await.unwrap();
    assert_eq!((report.memories, report.namespaces), (1, 0));
    let remaining: Vec<_> = all_changes(store, &tenant(), 0, 100).await.into_iter().map(|m| m.id).collect();
    assert!(!remaining.contains(&ids[0]) && remaining.contains(&ids[1]) && remaining.contains(&ids[2]));
    expect_err(store.delete_memory(&tenant(), ids[0], at(30)).await, ErrorKind::NotFound, "delete purged");
    assert!(!store.delete_memory(&tenant(), ids[1], at(30)).await.unwrap());
    live(store, &tenant(), ids[2]).await;
}

/// Deduplication is per layer too: the same content in another layer of the namespace is a
/// new memory, with its own fields.
pub async fn check_dedupe_is_per_layer(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let semantic = put(store, &tenant(), new_memory("research", "standup at ten")).await;
    let mut working = new_memory("research", "standup at ten");
    working.layer = Layer::Working;
    working.expires_at = Some(at(60));
    let working = put(store, &tenant(), working).await;
    assert_ne!(semantic, working);
    assert_eq!(live(store, &tenant(), working).await.expires_at, Some(at(60)));
    assert_eq!(live(store, &tenant(), semantic).await.stats.evidence_count, 1);
}

/// A superseded memory takes no part in deduplication: writing its content again stores a new
/// memory (the correction's old text, asserted afresh, is recalled again).
pub async fn check_dedupe_ignores_superseded_memories(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["the office is in Lisbon", "the office is in Porto"]).await;
    let mut patch = MemoryPatch::default();
    patch.superseded_by = Some(Some(ids[1]));
    store.update_memory(&tenant(), ids[0], &patch, at(1)).await.unwrap();
    let again = put(store, &tenant(), new_memory("research", "the office is in Lisbon")).await;
    assert_ne!(again, ids[0]);
    // Un-superseding the old one would now duplicate the new one.
    patch.superseded_by = Some(None);
    expect_err(store.update_memory(&tenant(), ids[0], &patch, at(2)).await, ErrorKind::Conflict, "unsupersede");
}

/// A duplicate carrying a later expiry, a higher confidence and new or changed metadata hands
/// them to the existing memory and says so in `merged`; that memory takes a new `seq` and the
/// input's `updated_at`. An earlier expiry and a lower confidence change nothing.
pub async fn check_duplicate_merges_what_it_adds(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let mut first = new_memory("research", "in a meeting");
    first.layer = Layer::Working;
    first.expires_at = Some(at(100));
    first.confidence = Confidence::new(0.5).unwrap();
    first.metadata = Metadata::from([("room".to_owned(), json!("a")), ("kept".to_owned(), json!(1))]);
    let id = put(store, &tenant(), first.clone()).await;
    let before = live(store, &tenant(), id).await;

    let mut weaker = new_memory_at("research", "in a meeting", at(5));
    weaker.layer = Layer::Working;
    weaker.expires_at = Some(at(50));
    weaker.confidence = Confidence::new(0.4).unwrap();
    weaker.metadata = first.metadata.clone();
    let outcomes = store.put_memories(&tenant(), vec![weaker]).await.unwrap();
    assert_eq!(outcomes, [existing(id)], "nothing new: only evidence");
    let after_weaker = live(store, &tenant(), id).await;
    assert_eq!(after_weaker.seq, before.seq, "evidence alone keeps the seq");
    assert_eq!((after_weaker.expires_at, after_weaker.stats.evidence_count), (Some(at(100)), 2));

    let mut stronger = new_memory_at("research", "in  a meeting", at(9));
    stronger.layer = Layer::Working;
    stronger.expires_at = Some(at(200));
    stronger.confidence = Confidence::new(0.9).unwrap();
    stronger.metadata = Metadata::from([("room".to_owned(), json!("b")), ("floor".to_owned(), json!(3))]);
    let outcomes = store.put_memories(&tenant(), vec![stronger]).await.unwrap();
    let merged = memory_core::Merged {
        expires_at: Some(at(200)),
        confidence: Some(Confidence::new(0.9).unwrap()),
        metadata: vec!["floor".to_owned(), "room".to_owned()],
    };
    assert_eq!(outcomes, [PutOutcome::Existing { id, merged }]);
    let after = live(store, &tenant(), id).await;
    assert!(after.seq > before.seq, "a merge is a change");
    assert_eq!(after.expires_at, Some(at(200)));
    assert_eq!(after.confidence, Confidence::new(0.9).unwrap());
    let metadata = Metadata::from([
        ("room".to_owned(), json!("b")),
        ("kept".to_owned(), json!(1)),
        ("floor".to_owned(), json!(3)),
    ]);
    assert_eq!(after.metadata, metadata);
    assert_eq!((after.updated_at, after.stats.evidence_count), (at(9), 3));
    assert_eq!(after.content, "in a meeting", "the content is the stored one");
}

/// Inside one batch, later duplicates merge into the earlier input just as into a stored one.
pub async fn check_duplicate_within_batch_merges(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let a = new_memory("research", "likes tea");
    let mut b = new_memory("research", "likes tea");
    b.metadata = Metadata::from([("source".to_owned(), json!("chat"))]);
    let outcomes = store.put_memories(&tenant(), vec![a.clone(), b]).await.unwrap();
    let merged = memory_core::Merged { metadata: vec!["source".to_owned()], ..Default::default() };
    assert_eq!(outcomes, [created(a.id), PutOutcome::Existing { id: a.id, merged }]);
    let stored = live(store, &tenant(), a.id).await;
    assert_eq!(stored.metadata.get("source"), Some(&json!("chat")));
    assert_eq!(stored.stats.evidence_count, 2);
}

/// A duplicate of another category would lose its category: `Conflict`, and the batch writes
/// nothing (not even evidence).
pub async fn check_duplicate_of_another_category_is_conflict(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "prefers Python")).await;
    let before = live(store, &tenant(), id).await;
    let fresh = new_memory("research", "unrelated, would be fine alone");
    let mut other = new_memory("research", "prefers Python");
    other.category = Category::new("preference").unwrap();
    expect_err(store.put_memories(&tenant(), vec![fresh.clone(), other]).await, ErrorKind::Conflict, "category");
    assert_eq!(live(store, &tenant(), id).await, before);
    assert_eq!(store.get_memory(&tenant(), fresh.id).await.unwrap(), None);
}

/// An update whose result duplicates another memory of the same namespace and layer is a
/// `Conflict`; moving the same content into another layer is not.
pub async fn check_update_conflict_is_per_layer(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["shared text", "other text"]).await;
    let mut to_procedural = MemoryPatch::default();
    to_procedural.layer = Some(Layer::Procedural);
    store.update_memory(&tenant(), ids[0], &to_procedural, at(1)).await.unwrap();
    let mut same = MemoryPatch::default();
    same.content = Some("shared text".to_owned());
    store.update_memory(&tenant(), ids[1], &same, at(2)).await.unwrap();
    expect_err(store.update_memory(&tenant(), ids[1], &to_procedural, at(3)).await, ErrorKind::Conflict, "layer");
}

/// Provenance text is bounded: a conversation id or session key over
/// [`memory_core::MAX_SHORT_TEXT_BYTES`] is `InvalidInput`.
pub async fn check_put_bounds_provenance_text(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let long = "x".repeat(memory_core::MAX_SHORT_TEXT_BYTES + 1);
    let mut m = new_memory("research", "bounded");
    m.provenance.conversation_id = Some(long.clone());
    expect_err(store.put_memories(&tenant(), vec![m]).await, ErrorKind::InvalidInput, "conversation id");
    let mut m = new_memory("research", "bounded");
    m.provenance.session_key = Some(long);
    expect_err(store.put_memories(&tenant(), vec![m]).await, ErrorKind::InvalidInput, "session key");
    assert_eq!(store.count_memories(&tenant(), &MemoryFilter::all()).await.unwrap(), 0);
}

/// The duplicate `find_duplicates` names for one input.
async fn duplicate_of(
    store: &dyn Store,
    t: &memory_core::TenantId,
    key: &str,
    layer: Layer,
    content: &str,
) -> Option<memory_core::MemoryId> {
    let mut probe = new_memory(key, content);
    probe.layer = layer;
    let found = store.find_duplicates(t, &[probe]).await.unwrap();
    assert_eq!(found.len(), 1, "one answer per input");
    found.into_iter().next().flatten().map(|m| m.id)
}

/// `find_duplicates` finds exactly what a put would deduplicate into: the live, unsuperseded
/// memory of the namespace and layer with the same canonical content, per input, in order.
pub async fn check_find_duplicates_agrees_with_put(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "Café opens at nine")).await;
    let spaced = " Cafe\u{301} opens  at nine";
    assert_eq!(duplicate_of(store, &tenant(), "research", Layer::Semantic, spaced).await, Some(id));
    for (key, layer) in [("research", Layer::Episodic), ("other", Layer::Semantic)] {
        assert_eq!(duplicate_of(store, &tenant(), key, layer, "Café opens at nine").await, None, "{key} {layer}");
    }
    let theirs = duplicate_of(store, &other_tenant(), "research", Layer::Semantic, "Café opens at nine").await;
    assert_eq!(theirs, None, "tenants never cross");
    let batch = [new_memory("research", "unknown"), new_memory("research", "Café opens at nine")];
    let found = store.find_duplicates(&tenant(), &batch).await.unwrap();
    assert_eq!(found.into_iter().map(|m| m.map(|m| m.id)).collect::<Vec<_>>(), [None, Some(id)]);
    store.delete_memory(&tenant(), id, at(1)).await.unwrap();
    assert_eq!(duplicate_of(store, &tenant(), "research", Layer::Semantic, "Café opens at nine").await, None);
}

/// A memory that arrives superseded (as an import brings one) is stored but no dedupe target:
/// a later input of the batch, or a later put, with its content is a memory of its own.
pub async fn check_a_superseded_input_is_no_dedupe_target(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let mut old = new_memory("research", "the sky is green");
    let fix = new_memory("research", "the sky is blue");
    old.superseded_by = Some(fix.id);
    let again = new_memory("research", "the sky is green");
    let outcomes = store.put_memories(&tenant(), vec![old.clone(), fix.clone(), again.clone()]).await.unwrap();
    assert_eq!(outcomes, [created(old.id), created(fix.id), created(again.id)]);
    let later = new_memory("research", "the sky is green");
    assert_eq!(store.put_memories(&tenant(), vec![later]).await.unwrap(), [existing(again.id)]);
    let found = duplicate_of(store, &tenant(), "research", Layer::Semantic, "the sky is green").await;
    assert_eq!(found, Some(again.id));
}

/// `move_memories` moves each memory into the target as it was (id, content, statistics,
/// `created_at` kept), with a new `seq` and `updated_at = max(updated_at, at)`; a live,
/// unsuperseded duplicate of a memory of the target merges: the survivor absorbs its evidence
/// and it moves in superseded by the survivor. The source is left without live memories.
pub async fn check_move_memories_keeps_ids_and_merges_duplicates(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "old").await;
    create_namespace(store, &t, "new").await;
    let mut plain = new_memory_at("old", "Alice prefers Python", at(1));
    plain.stats.evidence_count = 2;
    let plain = put(store, &t, plain).await;
    let twin = put(store, &t, new_memory_at("old", "The deploy runs on Fridays", at(2))).await;
    let survivor = put(store, &t, new_memory_at("new", "The deploy runs on Fridays", at(3))).await;
    let before = live(store, &t, plain).await;
    let seq = store.last_seq().await.unwrap();
    let outcomes = store.move_memories(&t, &ns("old"), &ns("new"), &[plain, twin], at(9)).await.unwrap();
    assert_eq!(
        outcomes,
        vec![MoveOutcome::Moved { id: plain }, MoveOutcome::Merged { id: twin, into: survivor }],
        "one outcome per id, in order"
    );
    let moved = live(store, &t, plain).await;
    assert!(moved.seq > seq, "a moved memory takes a new seq");
    let expected = Memory { namespace: ns("new"), updated_at: at(9), seq: moved.seq, ..before };
    assert_eq!(moved, expected, "a moved memory keeps everything but its namespace, seq and updated_at");
    let merged = live(store, &t, twin).await;
    assert_eq!((merged.namespace.as_str(), merged.superseded_by), ("new", Some(survivor)));
    let kept = live(store, &t, survivor).await;
    assert_eq!(kept.stats.evidence_count, 2, "the survivor absorbs the duplicate's evidence");
    assert!(kept.seq > seq, "the survivor changed, so it takes a new seq");
    let mut left = MemoryFilter::default();
    left.namespaces = Some(vec![ns("old")]);
    assert_eq!(store.count_memories(&t, &left).await.unwrap(), 0, "the source is left empty");
    let changes = store.changes_since(&t, seq, 100).await.unwrap();
    let changed: Vec<MemoryId> = changes.iter().map(|m| m.id).collect();
    for id in [plain, twin, survivor] {
        assert!(changed.contains(&id), "change readers see memory {id} move");
    }
}

/// A move that cannot complete changes nothing: an unknown target or id, an id of another
/// namespace, a duplicate of another category, or a move into the source itself.
pub async fn check_move_memories_is_all_or_nothing(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "old").await;
    create_namespace(store, &t, "new").await;
    create_namespace(store, &t, "other").await;
    let first = put(store, &t, new_memory_at("old", "Alice prefers Python", at(1))).await;
    let mut fact = new_memory_at("old", "Bob likes tea", at(2));
    fact.category = Category::new("fact").unwrap();
    let fact = put(store, &t, fact).await;
    let mut pref = new_memory_at("new", "Bob likes tea", at(3));
    pref.category = Category::new("preference").unwrap();
    put(store, &t, pref).await;
    let elsewhere = put(store, &t, new_memory_at("other", "Carol writes Go", at(4))).await;
    let seq = store.last_seq().await.unwrap();
    let attempts = [
        (ns("old"), ns("nowhere"), vec![first], ErrorKind::NotFound),
        (ns("old"), ns("new"), vec![first, memory_id()], ErrorKind::NotFound),
        (ns("old"), ns("new"), vec![first, elsewhere], ErrorKind::NotFound),
        (ns("old"), ns("new"), vec![first, fact], ErrorKind::Conflict),
        (ns("old"), ns("old"), vec![first], ErrorKind::InvalidInput),
    ];
    for (from, to, ids, kind) in attempts {
        let err = store.move_memories(&t, &from, &to, &ids, at(9)).await.unwrap_err();
        assert_eq!(err.kind(), kind, "moving {ids:?} from {from} to {to}: {err}");
    }
    assert_eq!(store.last_seq().await.unwrap(), seq, "a refused move changes nothing");
    assert_eq!(live(store, &t, first).await.namespace.as_str(), "old");
    let other = store.move_memories(&other_tenant(), &ns("old"), &ns("new"), &[first], at(9)).await;
    assert_eq!(other.unwrap_err().kind(), ErrorKind::NotFound, "another tenant's memories are not found");
}

/// A put whose input supersedes a memory marks that memory `superseded_by` the new one in the
/// same call (new `seq` after the batch's, `updated_at` from the input); a missing memory is
/// skipped, and one already marked so is left as it is.
pub async fn check_put_marks_the_memory_an_input_supersedes(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let old = new_memory_at("research", "The deploy runs on Fridays", at(1));
    let old_id = old.id;
    store.put_memories(&tenant(), vec![old]).await.unwrap();
    let mut fix = new_memory_at("research", "The deploy runs on Thursdays", at(5));
    fix.supersedes = Some(old_id);
    let mut dangling = new_memory_at("research", "The deploy is manual", at(5));
    dangling.supersedes = Some(memory_id());
    let fix_id = fix.id;
    let out = store.put_memories(&tenant(), vec![fix, dangling]).await.unwrap();
    assert_eq!(out.len(), 2, "a missing superseded memory is skipped, the input stored");
    let new = store.get_memory(&tenant(), fix_id).await.unwrap().unwrap();
    let marked = store.get_memory(&tenant(), old_id).await.unwrap().unwrap();
    assert_eq!(marked.superseded_by, Some(fix_id), "the corrected memory is marked by the put itself");
    assert!(marked.seq > new.seq, "it takes a seq after the batch's");
    assert_eq!(marked.updated_at, at(5), "stamped with the input's updated_at");

    // Already superseded by exactly the input's id (an import of both): nothing changes.
    let mut import = new_memory_at("research", "Imported correction", at(9));
    import.supersedes = Some(old_id);
    let mut patch = MemoryPatch::default();
    patch.superseded_by = Some(Some(import.id));
    store.update_memory(&tenant(), old_id, &patch, at(8)).await.unwrap();
    let before = store.get_memory(&tenant(), old_id).await.unwrap().unwrap();
    store.put_memories(&tenant(), vec![import]).await.unwrap();
    let after = store.get_memory(&tenant(), old_id).await.unwrap().unwrap();
    assert_eq!(after, before, "already superseded by this id: unchanged");
}
