//! Checks of the namespace catalog: create, get, list, update, touch, archive, restore,
//! delete, and how the catalog interacts with puts and purges.

use memory_core::{
    ErrorKind, MemoryFilter, NamespaceFilter, NamespaceKind, NamespacePatch, NamespaceStatus, NamespaceTouch,
    Sensitivity, Store,
};
use serde_json::json;

use crate::fixtures::*;

/// `create_namespace` stores the record exactly; `get_namespace` returns it.
pub async fn check_create_namespace_then_get_returns_it(store: &dyn Store) {
    let mut record = namespace(&tenant(), "research");
    record.description = Some("papers we read".to_owned());
    record.team = Some("alpha".to_owned());
    record.sensitivity = Sensitivity::Sensitive;
    record.retention_days = Some(30);
    record.metadata.insert("owner".to_owned(), json!({"name": "alice", "n": 1}));
    store.create_namespace(record.clone()).await.unwrap();
    assert_eq!(store.get_namespace(&tenant(), &ns("research")).await.unwrap(), Some(record));
}

/// `get_namespace` of a key never created is `Ok(None)`, not an error.
pub async fn check_get_missing_namespace_is_none(store: &dyn Store) {
    assert_eq!(store.get_namespace(&tenant(), &ns("nowhere")).await.unwrap(), None);
}

/// Creating a key the tenant already has is `AlreadyExists` and leaves the first record.
pub async fn check_create_duplicate_namespace_is_already_exists(store: &dyn Store) {
    let first = create_namespace(store, &tenant(), "research").await;
    let mut again = namespace(&tenant(), "research");
    again.display_name = "Research, again".to_owned();
    expect_err(store.create_namespace(again).await, ErrorKind::AlreadyExists, "second create of research");
    assert_eq!(store.get_namespace(&tenant(), &ns("research")).await.unwrap(), Some(first));
}

/// A deleted namespace keeps its key: creating it again is `AlreadyExists`, and
/// `get_namespace` still returns it (any status).
pub async fn check_deleted_namespace_key_stays_taken(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    assert!(store.delete_namespace(&tenant(), &ns("research"), at(1)).await.unwrap());
    expect_err(
        store.create_namespace(namespace(&tenant(), "research")).await,
        ErrorKind::AlreadyExists,
        "create over a deleted, unpurged namespace",
    );
    let kept = store.get_namespace(&tenant(), &ns("research")).await.unwrap().expect("deleted namespaces stay");
    assert_eq!(kept.status, NamespaceStatus::Deleted);
}

/// A record that fails `Namespace::validate` is `InvalidInput` and is not stored.
pub async fn check_create_invalid_namespace_is_invalid_input(store: &dyn Store) {
    let mut blank = namespace(&tenant(), "blank");
    blank.display_name = "   ".to_owned();
    expect_err(store.create_namespace(blank).await, ErrorKind::InvalidInput, "create with a blank display name");
    let mut zero = namespace(&tenant(), "zero");
    zero.retention_days = Some(0);
    expect_err(store.create_namespace(zero).await, ErrorKind::InvalidInput, "create with retention_days 0");
    assert_eq!(store.get_namespace(&tenant(), &ns("blank")).await.unwrap(), None);
    assert_eq!(store.get_namespace(&tenant(), &ns("zero")).await.unwrap(), None);
}

/// `list_namespaces` orders by key in byte order (so uppercase before lowercase, and
/// non-ASCII keys by their UTF-8 bytes), whatever the creation order.
pub async fn check_list_namespaces_orders_by_key_bytes(store: &dyn Store) {
    let keys = ["项目", "team.alpha", "Zeta", "alpha", "team-b", "é", "_under", "9lives"];
    for key in keys {
        create_namespace(store, &tenant(), key).await;
    }
    let listed: Vec<String> = store
        .list_namespaces(&tenant(), &NamespaceFilter::default())
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.key.as_str().to_owned())
        .collect();
    let mut expected: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    expected.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    assert_eq!(listed, expected);
}

/// With no status in the filter, deleted namespaces are left out; asking for a status lists
/// exactly the namespaces in it.
pub async fn check_list_namespaces_hides_deleted_unless_asked(store: &dyn Store) {
    for key in ["active", "archived", "deleted"] {
        create_namespace(store, &tenant(), key).await;
    }
    store.archive_namespace(&tenant(), &ns("archived"), at(1)).await.unwrap();
    store.delete_namespace(&tenant(), &ns("deleted"), at(1)).await.unwrap();
    let keys = |status: Option<NamespaceStatus>| async move {
        let mut filter = NamespaceFilter::default();
        filter.status = status;
        let list = store.list_namespaces(&tenant(), &filter).await.unwrap();
        list.into_iter().map(|n| n.key.as_str().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(keys(None).await, ["active", "archived"]);
    assert_eq!(keys(Some(NamespaceStatus::Active)).await, ["active"]);
    assert_eq!(keys(Some(NamespaceStatus::Archived)).await, ["archived"]);
    assert_eq!(keys(Some(NamespaceStatus::Deleted)).await, ["deleted"]);
}

/// Every set field of a `NamespaceFilter` must match (team, sensitivity, kind), combined.
pub async fn check_list_namespaces_applies_every_filter(store: &dyn Store) {
    let specs = [
        ("a", Some("alpha"), Sensitivity::Normal, NamespaceKind::Project),
        ("b", Some("alpha"), Sensitivity::Restricted, NamespaceKind::Explicit),
        ("c", Some("beta"), Sensitivity::Restricted, NamespaceKind::Project),
        ("d", None, Sensitivity::Normal, NamespaceKind::Explicit),
    ];
    for (key, team, sensitivity, kind) in specs {
        let mut record = namespace(&tenant(), key);
        record.team = team.map(str::to_owned);
        record.sensitivity = sensitivity;
        record.kind = kind;
        store.create_namespace(record).await.unwrap();
    }
    let keys = |filter: NamespaceFilter| async move {
        let list = store.list_namespaces(&tenant(), &filter).await.unwrap();
        list.into_iter().map(|n| n.key.as_str().to_owned()).collect::<Vec<_>>()
    };
    let mut by_team = NamespaceFilter::default();
    by_team.team = Some("alpha".to_owned());
    assert_eq!(keys(by_team.clone()).await, ["a", "b"]);
    let mut by_sensitivity = NamespaceFilter::default();
    by_sensitivity.sensitivity = Some(Sensitivity::Restricted);
    assert_eq!(keys(by_sensitivity).await, ["b", "c"]);
    let mut by_kind = NamespaceFilter::default();
    by_kind.kind = Some(NamespaceKind::Project);
    assert_eq!(keys(by_kind).await, ["a", "c"]);
    let mut combined = by_team;
    combined.sensitivity = Some(Sensitivity::Restricted);
    assert_eq!(keys(combined.clone()).await, ["b"]);
    combined.kind = Some(NamespaceKind::Project);
    assert!(keys(combined).await.is_empty());
}

/// `update_namespace` applies the patch, sets `updated_at = at`, keeps the rest, and returns
/// the record that `get_namespace` then returns.
pub async fn check_update_namespace_applies_patch_and_stamps_updated_at(store: &dyn Store) {
    let mut record = namespace(&tenant(), "research");
    record.team = Some("alpha".to_owned());
    record.description = Some("old".to_owned());
    store.create_namespace(record.clone()).await.unwrap();
    let mut patch = NamespacePatch::default();
    patch.display_name = Some("Research".to_owned());
    patch.description = Some(None);
    patch.retention_days = Some(Some(7));
    let updated = store.update_namespace(&tenant(), &ns("research"), &patch, at(10)).await.unwrap();
    let mut expected = record;
    expected.display_name = "Research".to_owned();
    expected.description = None;
    expected.retention_days = Some(7);
    expected.updated_at = at(10);
    assert_eq!(updated, expected);
    assert_eq!(store.get_namespace(&tenant(), &ns("research")).await.unwrap(), Some(expected));
}

/// Updating a missing or deleted namespace is `NotFound`; an archived one can be edited.
pub async fn check_update_namespace_needs_a_live_namespace(store: &dyn Store) {
    let mut patch = NamespacePatch::default();
    patch.display_name = Some("New".to_owned());
    expect_err(
        store.update_namespace(&tenant(), &ns("missing"), &patch, at(1)).await,
        ErrorKind::NotFound,
        "update of a missing namespace",
    );
    create_namespace(store, &tenant(), "gone").await;
    store.delete_namespace(&tenant(), &ns("gone"), at(1)).await.unwrap();
    expect_err(
        store.update_namespace(&tenant(), &ns("gone"), &patch, at(2)).await,
        ErrorKind::NotFound,
        "update of a deleted namespace",
    );
    create_namespace(store, &tenant(), "shelf").await;
    store.archive_namespace(&tenant(), &ns("shelf"), at(1)).await.unwrap();
    let edited = store.update_namespace(&tenant(), &ns("shelf"), &patch, at(2)).await.unwrap();
    assert_eq!((edited.display_name.as_str(), edited.status), ("New", NamespaceStatus::Archived));
}

/// An update whose result would not validate is `InvalidInput` and changes nothing.
pub async fn check_invalid_namespace_update_changes_nothing(store: &dyn Store) {
    let before = create_namespace(store, &tenant(), "research").await;
    let mut blank = NamespacePatch::default();
    blank.description = Some(Some("would be set".to_owned()));
    blank.display_name = Some(String::new());
    expect_err(
        store.update_namespace(&tenant(), &ns("research"), &blank, at(5)).await,
        ErrorKind::InvalidInput,
        "update to a blank display name",
    );
    let mut zero = NamespacePatch::default();
    zero.retention_days = Some(Some(0));
    expect_err(
        store.update_namespace(&tenant(), &ns("research"), &zero, at(5)).await,
        ErrorKind::InvalidInput,
        "update to retention_days 0",
    );
    assert_eq!(store.get_namespace(&tenant(), &ns("research")).await.unwrap(), Some(before));
}

/// `touch_namespace` sets `last_read_at` or `last_maintenance_at` to `at` and leaves
/// `updated_at` alone.
pub async fn check_touch_namespace_records_usage_times(store: &dyn Store) {
    let before = create_namespace(store, &tenant(), "research").await;
    store.touch_namespace(&tenant(), &ns("research"), NamespaceTouch::Read, at(5)).await.unwrap();
    store.touch_namespace(&tenant(), &ns("research"), NamespaceTouch::Maintenance, at(7)).await.unwrap();
    let after = store.get_namespace(&tenant(), &ns("research")).await.unwrap().unwrap();
    assert_eq!(after.last_read_at, Some(at(5)));
    assert_eq!(after.last_maintenance_at, Some(at(7)));
    assert_eq!(after.updated_at, before.updated_at, "touching is not an update");
}

/// Touching a missing or deleted namespace is `NotFound`; an archived one can be touched.
pub async fn check_touch_namespace_needs_a_live_namespace(store: &dyn Store) {
    expect_err(
        store.touch_namespace(&tenant(), &ns("missing"), NamespaceTouch::Read, at(1)).await,
        ErrorKind::NotFound,
        "touch of a missing namespace",
    );
    create_namespace(store, &tenant(), "gone").await;
    store.delete_namespace(&tenant(), &ns("gone"), at(1)).await.unwrap();
    expect_err(
        store.touch_namespace(&tenant(), &ns("gone"), NamespaceTouch::Maintenance, at(2)).await,
        ErrorKind::NotFound,
        "touch of a deleted namespace",
    );
    create_namespace(store, &tenant(), "shelf").await;
    store.archive_namespace(&tenant(), &ns("shelf"), at(1)).await.unwrap();
    store.touch_namespace(&tenant(), &ns("shelf"), NamespaceTouch::Maintenance, at(3)).await.unwrap();
    let shelf = store.get_namespace(&tenant(), &ns("shelf")).await.unwrap().unwrap();
    assert_eq!(shelf.last_maintenance_at, Some(at(3)));
}

/// `archive_namespace` is `Ok(true)` when it changed the status, `Ok(false)` the second time.
pub async fn check_archive_namespace_reports_whether_it_changed(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    assert!(store.archive_namespace(&tenant(), &ns("research"), at(1)).await.unwrap());
    let archived = store.get_namespace(&tenant(), &ns("research")).await.unwrap().unwrap();
    assert_eq!(archived.status, NamespaceStatus::Archived);
    assert!(!store.archive_namespace(&tenant(), &ns("research"), at(2)).await.unwrap());
}

/// `restore_namespace` is `Ok(false)` on an active namespace and `Ok(true)` when it brings an
/// archived one back.
pub async fn check_restore_namespace_reports_whether_it_changed(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    assert!(!store.restore_namespace(&tenant(), &ns("research"), at(1)).await.unwrap());
    store.archive_namespace(&tenant(), &ns("research"), at(2)).await.unwrap();
    assert!(store.restore_namespace(&tenant(), &ns("research"), at(3)).await.unwrap());
    let restored = store.get_namespace(&tenant(), &ns("research")).await.unwrap().unwrap();
    assert_eq!(restored.status, NamespaceStatus::Active);
    assert!(!store.restore_namespace(&tenant(), &ns("research"), at(4)).await.unwrap());
}

/// Archiving or restoring a missing or deleted namespace is `NotFound`.
pub async fn check_archive_and_restore_need_a_live_namespace(store: &dyn Store) {
    let t = tenant();
    expect_err(store.archive_namespace(&t, &ns("missing"), at(1)).await, ErrorKind::NotFound, "archive missing");
    expect_err(store.restore_namespace(&t, &ns("missing"), at(1)).await, ErrorKind::NotFound, "restore missing");
    create_namespace(store, &t, "gone").await;
    store.delete_namespace(&t, &ns("gone"), at(1)).await.unwrap();
    expect_err(store.archive_namespace(&t, &ns("gone"), at(2)).await, ErrorKind::NotFound, "archive deleted");
    expect_err(store.restore_namespace(&t, &ns("gone"), at(2)).await, ErrorKind::NotFound, "restore deleted");
    let gone = store.get_namespace(&t, &ns("gone")).await.unwrap().unwrap();
    assert_eq!(gone.status, NamespaceStatus::Deleted, "a refused archive or restore changes nothing");
}

/// A put into an archived namespace fails with `NotFound` and stores nothing; after a restore
/// the same put succeeds.
pub async fn check_archived_namespace_rejects_puts(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    store.archive_namespace(&tenant(), &ns("research"), at(1)).await.unwrap();
    let memory = new_memory("research", "written while archived");
    expect_err(
        store.put_memories(&tenant(), vec![memory.clone()]).await,
        ErrorKind::NotFound,
        "put into an archived namespace",
    );
    assert_eq!(store.get_memory(&tenant(), memory.id).await.unwrap(), None);
    store.restore_namespace(&tenant(), &ns("research"), at(2)).await.unwrap();
    put(store, &tenant(), memory).await;
}

/// Archiving keeps the namespace's memories stored and readable.
pub async fn check_archived_namespace_keeps_its_memories(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "kept through archiving")).await;
    let before = live(store, &tenant(), id).await;
    store.archive_namespace(&tenant(), &ns("research"), at(1)).await.unwrap();
    assert_eq!(live(store, &tenant(), id).await, before);
    assert_eq!(listed_ids(store, &tenant(), &MemoryFilter::namespace(ns("research"))).await, [id]);
}

/// `delete_namespace` is `Ok(true)` when it changed the status, `Ok(false)` the second time;
/// it works on archived namespaces too.
pub async fn check_delete_namespace_reports_whether_it_changed(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    store.archive_namespace(&tenant(), &ns("research"), at(1)).await.unwrap();
    assert!(store.delete_namespace(&tenant(), &ns("research"), at(2)).await.unwrap());
    let deleted = store.get_namespace(&tenant(), &ns("research")).await.unwrap().unwrap();
    assert_eq!(deleted.status, NamespaceStatus::Deleted);
    assert!(!store.delete_namespace(&tenant(), &ns("research"), at(3)).await.unwrap());
}

/// Deleting a namespace that was never created is `NotFound`.
pub async fn check_delete_missing_namespace_is_not_found(store: &dyn Store) {
    expect_err(
        store.delete_namespace(&tenant(), &ns("missing"), at(1)).await,
        ErrorKind::NotFound,
        "delete of a missing namespace",
    );
}

/// Deleting a namespace tombstones all its live memories at once: each gets `deleted_at = at`
/// and a new `seq`; other namespaces are untouched.
pub async fn check_delete_namespace_tombstones_its_memories(store: &dyn Store) {
    create_namespace(store, &tenant(), "doomed").await;
    create_namespace(store, &tenant(), "kept").await;
    let doomed = put_contents(store, &tenant(), "doomed", &["one", "two", "three"]).await;
    let kept = put(store, &tenant(), new_memory("kept", "stays")).await;
    let seq_before = latest_seq(store, &tenant()).await;
    store.delete_namespace(&tenant(), &ns("doomed"), at(20)).await.unwrap();
    for id in &doomed {
        assert_eq!(store.get_memory(&tenant(), *id).await.unwrap(), None, "memory {id} should be tombstoned");
    }
    let changes = all_changes(store, &tenant(), seq_before, 1000).await;
    let mut changed: Vec<_> = changes.iter().map(|m| m.id).collect();
    changed.sort();
    assert_eq!(changed, doomed, "exactly the namespace's memories change");
    assert!(changes.iter().all(|m| m.deleted_at == Some(at(20))), "tombstones carry deleted_at = at: {changes:?}");
    assert_eq!(store.count_memories(&tenant(), &MemoryFilter::all()).await.unwrap(), 1);
    live(store, &tenant(), kept).await;
}

/// `purge` removes a deleted namespace once it has no memories left, and its key is free.
pub async fn check_purge_frees_a_deleted_namespace_key(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    put(store, &tenant(), new_memory("research", "gone soon")).await;
    store.delete_namespace(&tenant(), &ns("research"), at(10)).await.unwrap();
    let report = store.purge(&tenant(), at(10)).await.unwrap();
    assert_eq!((report.memories, report.namespaces), (1, 1));
    assert_eq!(store.get_namespace(&tenant(), &ns("research")).await.unwrap(), None);
    create_namespace(store, &tenant(), "research").await;
}

/// A deleted namespace whose tombstoned memories are newer than the purge cutoff stays (its
/// key taken) until they are purged.
pub async fn check_purge_keeps_a_deleted_namespace_with_memories_left(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    put(store, &tenant(), new_memory("research", "tombstoned at 10")).await;
    store.delete_namespace(&tenant(), &ns("research"), at(10)).await.unwrap();
    let report = store.purge(&tenant(), at(9)).await.unwrap();
    assert_eq!((report.memories, report.namespaces), (0, 0));
    expect_err(
        store.create_namespace(namespace(&tenant(), "research")).await,
        ErrorKind::AlreadyExists,
        "create while the deleted namespace still holds tombstones",
    );
    let report = store.purge(&tenant(), at(10)).await.unwrap();
    assert_eq!((report.memories, report.namespaces), (1, 1));
}

/// A put sets the namespace's `last_write_at` to the newest `created_at` written so far:
/// an older memory does not move it back, and a deduplicated input does not move it.
pub async fn check_put_advances_last_write_at(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let last_write = || async { store.get_namespace(&tenant(), &ns("research")).await.unwrap().unwrap().last_write_at };
    assert_eq!(last_write().await, None);
    put(store, &tenant(), new_memory_at("research", "first", at(10))).await;
    assert_eq!(last_write().await, Some(at(10)));
    put(store, &tenant(), new_memory_at("research", "older import", at(5))).await;
    assert_eq!(last_write().await, Some(at(10)));
    store.put_memories(&tenant(), vec![new_memory_at("research", "first", at(30))]).await.unwrap();
    assert_eq!(last_write().await, Some(at(10)), "a deduplicated input writes no new memory");
    put(store, &tenant(), new_memory_at("research", "newest", at(20))).await;
    assert_eq!(last_write().await, Some(at(20)));
}

/// `namespace_version` is 0 before a tenant's first namespace, grows with every create,
/// update, archive, restore, delete and namespace-removing purge, is per tenant, and stays put
/// for touches and memory writes.
pub async fn check_namespace_version_grows_with_every_catalog_change(store: &dyn Store) {
    let (t, other) = (tenant(), other_tenant());
    assert_eq!(store.namespace_version(&t).await.unwrap(), 0, "no namespace yet");
    let mut last = 0;
    let mut grew = |v: u64, what: &str| {
        assert!(v > last, "namespace_version did not grow on {what}: {last} -> {v}");
        last = v;
    };
    create_namespace(store, &t, "research").await;
    grew(store.namespace_version(&t).await.unwrap(), "create");
    let mut patch = NamespacePatch::default();
    patch.sensitivity = Some(Sensitivity::Restricted);
    store.update_namespace(&t, &ns("research"), &patch, at(1)).await.unwrap();
    grew(store.namespace_version(&t).await.unwrap(), "update");
    assert!(store.archive_namespace(&t, &ns("research"), at(2)).await.unwrap());
    grew(store.namespace_version(&t).await.unwrap(), "archive");
    assert!(store.restore_namespace(&t, &ns("research"), at(3)).await.unwrap());
    grew(store.namespace_version(&t).await.unwrap(), "restore");

    let before = store.namespace_version(&t).await.unwrap();
    store.touch_namespace(&t, &ns("research"), NamespaceTouch::Read, at(4)).await.unwrap();
    store.put_memories(&t, vec![new_memory("research", "a note")]).await.unwrap();
    assert_eq!(store.namespace_version(&t).await.unwrap(), before, "touches and memory writes leave it");
    assert_eq!(store.namespace_version(&other).await.unwrap(), 0, "another tenant's catalog is its own");

    assert!(store.delete_namespace(&t, &ns("research"), at(6)).await.unwrap());
    grew(store.namespace_version(&t).await.unwrap(), "delete");
    let report = store.purge(&t, at(7)).await.unwrap();
    assert_eq!(report.namespaces, 1);
    grew(store.namespace_version(&t).await.unwrap(), "a purge that removed a namespace");
}

/// A namespace's creator (principal and API key) is stored and returned as given.
pub async fn check_namespace_creator_round_trips(store: &dyn Store) {
    let mut record = namespace(&tenant(), "private-notes");
    record.created_by = Some(memory_core::Principal::new("alice").unwrap());
    record.created_by_key = Some(memory_core::ApiKeyId::new_v7());
    record.default_access = memory_core::DefaultAccess::Private;
    store.create_namespace(record.clone()).await.unwrap();
    assert_eq!(store.get_namespace(&tenant(), &ns("private-notes")).await.unwrap(), Some(record.clone()));
    let listed = store.list_namespaces(&tenant(), &NamespaceFilter::default()).await.unwrap();
    assert_eq!(listed, vec![record]);
}
