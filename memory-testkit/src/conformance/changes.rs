//! Checks of the change sequence and the change feed (`changes_since`).

use memory_core::{Layer, MemoryId, MemoryPatch, Store};

use crate::fixtures::*;

/// `changes_since(0)` lists every memory, live or tombstoned, once, in its latest state, in
/// `seq` order (the order of their last changes, not of creation).
pub async fn check_changes_since_lists_latest_states_in_seq_order(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["a", "b", "c"]).await;
    let mut patch = MemoryPatch::default();
    patch.content = Some("a, edited".to_owned());
    store.update_memory(&tenant(), ids[0], &patch, at(1)).await.unwrap();
    store.delete_memory(&tenant(), ids[1], at(2)).await.unwrap();
    store.update_memory(&tenant(), ids[0], &MemoryPatch::default(), at(3)).await.unwrap();
    let changes = all_changes(store, &tenant(), 0, 1000).await;
    let order: Vec<MemoryId> = changes.iter().map(|m| m.id).collect();
    assert_eq!(order, [ids[2], ids[1], ids[0]]);
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq), "seq order: {changes:?}");
    assert_eq!(changes[1].deleted_at, Some(at(2)), "a tombstone is a change");
    assert_eq!(changes[2].content, "a, edited");
    assert_eq!(changes[2], live(store, &tenant(), ids[0]).await, "the latest state");
}

/// `changes_since` returns at most `limit` changes, starting after `after_seq`; continuing
/// from the last returned `seq` visits every change once.
pub async fn check_changes_since_pages_by_limit(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let contents: Vec<String> = (0..10).map(|i| format!("change {i}")).collect();
    let mut ids = Vec::new();
    for content in &contents {
        ids.push(put(store, &tenant(), new_memory("research", content)).await);
    }
    let first = store.changes_since(&tenant(), 0, 3).await.unwrap();
    assert_eq!(first.iter().map(|m| m.id).collect::<Vec<_>>(), ids[..3]);
    let rest = store.changes_since(&tenant(), first[2].seq, 1000).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.id).collect::<Vec<_>>(), ids[3..]);
    for limit in [1, 3, 4] {
        let paged: Vec<_> = all_changes(store, &tenant(), 0, limit).await.into_iter().map(|m| m.id).collect();
        assert_eq!(paged, ids, "limit {limit}");
    }
    let last = rest.last().unwrap().seq;
    assert!(store.changes_since(&tenant(), last, 10).await.unwrap().is_empty(), "nothing after the last change");
}

/// Purged memories leave the change feed.
pub async fn check_changes_since_forgets_purged_memories(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["purged", "kept"]).await;
    store.delete_memory(&tenant(), ids[0], at(1)).await.unwrap();
    store.purge(&tenant(), at(1)).await.unwrap();
    let changes: Vec<_> = all_changes(store, &tenant(), 0, 10).await.into_iter().map(|m| m.id).collect();
    assert_eq!(changes, [ids[1]]);
}

/// Every insert, update, tombstone and namespace-delete tombstone takes a `seq` larger than
/// every `seq` before it.
pub async fn check_seq_strictly_increases_across_operations(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    create_namespace(store, &t, "doomed").await;
    let mut last = 0;
    fn advance(last: &mut u64, seq: u64, what: &str) {
        assert!(seq > *last, "{what}: seq {seq} is not above the previous {last}");
        *last = seq;
    }
    let a = put(store, &t, new_memory("research", "a")).await;
    advance(&mut last, live(store, &t, a).await.seq, "insert");
    let batch = vec![new_memory("doomed", "b"), new_memory("doomed", "c")];
    let (b, c) = (batch[0].id, batch[1].id);
    store.put_memories(&t, batch).await.unwrap();
    // The contract does not order the seqs inside one batch, only against everything before.
    let (seq_b, seq_c) = (live(store, &t, b).await.seq, live(store, &t, c).await.seq);
    assert_ne!(seq_b, seq_c, "each memory of a batch takes its own seq");
    advance(&mut last, seq_b.min(seq_c), "batch");
    advance(&mut last, seq_b.max(seq_c), "batch");
    let mut patch = MemoryPatch::default();
    patch.layer = Some(Layer::Episodic);
    advance(&mut last, store.update_memory(&t, a, &patch, at(1)).await.unwrap().seq, "update");
    store.delete_memory(&t, a, at(2)).await.unwrap();
    let tombstone = all_changes(store, &t, 0, 100).await.into_iter().find(|m| m.id == a).unwrap();
    advance(&mut last, tombstone.seq, "tombstone");
    store.delete_namespace(&t, &ns("doomed"), at(3)).await.unwrap();
    for change in all_changes(store, &t, last, 100).await {
        advance(&mut last, change.seq, "namespace delete");
    }
    assert_eq!(latest_seq(store, &t).await, last);
}

/// The sequence is store-wide: writes of different tenants draw from the same sequence.
pub async fn check_seq_is_shared_by_all_tenants(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    create_namespace(store, &a, "research").await;
    create_namespace(store, &b, "research").await;
    let first = put(store, &a, new_memory("research", "one")).await;
    let second = put(store, &b, new_memory("research", "two")).await;
    let third = put(store, &a, new_memory("research", "three")).await;
    let seqs = [live(store, &a, first).await.seq, live(store, &b, second).await.seq, live(store, &a, third).await.seq];
    assert!(seqs[0] < seqs[1] && seqs[1] < seqs[2], "one sequence across tenants: {seqs:?}");
    let a_changes: Vec<_> = all_changes(store, &a, seqs[0], 10).await.into_iter().map(|m| m.id).collect();
    assert_eq!(a_changes, [third], "another tenant's seq leaves a gap, not a change");
}

/// `last_seq` is 0 on a fresh store, then the `seq` of the newest change; a purge that removes
/// the newest memories does not lower it.
pub async fn check_last_seq_is_the_latest_change(store: &dyn Store) {
    assert_eq!(store.last_seq().await.unwrap(), 0, "a fresh store");
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["a", "b"]).await;
    assert_eq!(store.last_seq().await.unwrap(), latest_seq(store, &tenant()).await);
    store.delete_memory(&tenant(), ids[1], at(1)).await.unwrap();
    let newest = latest_seq(store, &tenant()).await;
    assert_eq!(store.last_seq().await.unwrap(), newest, "a tombstone is a change");
    store.purge(&tenant(), at(1)).await.unwrap();
    assert!(latest_seq(store, &tenant()).await < newest, "the purge removed the newest memory");
    assert_eq!(store.last_seq().await.unwrap(), newest, "a purge never lowers the sequence");
}

/// `store_id` answers the same identity on every call.
pub async fn check_store_id_is_stable(store: &dyn Store) {
    let id = store.store_id().await.unwrap();
    create_namespace(store, &tenant(), "research").await;
    put_contents(store, &tenant(), "research", &["a"]).await;
    assert_eq!(store.store_id().await.unwrap(), id);
}

/// `taken_memory_ids` names the ids held by the tenant's live and tombstoned memories, each
/// once in the order asked, and leaves out free ones and ids that only another tenant holds.
pub async fn check_taken_memory_ids_include_tombstones_not_other_tenants(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    create_namespace(store, &a, "research").await;
    create_namespace(store, &b, "research").await;
    let ids = put_contents(store, &a, "research", &["live", "deleted"]).await;
    store.delete_memory(&a, ids[1], at(1)).await.unwrap();
    let theirs = put(store, &b, new_memory("research", "theirs")).await;
    let shared = put(store, &b, new_memory("research", "the same id in B").with_id(ids[0])).await;
    assert_eq!(shared, ids[0]);
    let free = memory_id();
    let asked = [free, ids[1], theirs, ids[0], ids[1]];
    assert_eq!(store.taken_memory_ids(&a, &asked).await.unwrap(), [ids[1], ids[0]]);
    assert_eq!(store.taken_memory_ids(&b, &asked).await.unwrap(), [theirs, ids[0]]);
    assert!(store.taken_memory_ids(&a, &[]).await.unwrap().is_empty());
}
