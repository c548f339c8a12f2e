//! Checks that tenants never cross: another tenant's record behaves exactly like a missing
//! one, for every kind of record.

use memory_core::{
    AuditFilter, AuditOp, Decision, ErrorKind, MemoryFilter, MemoryPatch, NamespaceFilter, NamespacePatch,
    NamespaceTouch, Outcome, ProposalFilter, Store,
};

use crate::fixtures::*;

/// Two tenants may use the same namespace key; each sees and changes only its own.
pub async fn check_tenants_have_separate_namespace_catalogs(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    let mine = create_namespace(store, &a, "research").await;
    assert_eq!(store.get_namespace(&b, &ns("research")).await.unwrap(), None);
    assert!(store.list_namespaces(&b, &NamespaceFilter::default()).await.unwrap().is_empty());
    let key = ns("research");
    let mut patch = NamespacePatch::default();
    patch.display_name = Some("hijacked".to_owned());
    expect_err(store.update_namespace(&b, &key, &patch, at(1)).await, ErrorKind::NotFound, "update");
    expect_err(store.touch_namespace(&b, &key, NamespaceTouch::Read, at(1)).await, ErrorKind::NotFound, "touch");
    expect_err(store.archive_namespace(&b, &key, at(1)).await, ErrorKind::NotFound, "archive");
    expect_err(store.restore_namespace(&b, &key, at(1)).await, ErrorKind::NotFound, "restore");
    expect_err(store.delete_namespace(&b, &key, at(1)).await, ErrorKind::NotFound, "delete");
    let theirs = create_namespace(store, &b, "research").await;
    store.delete_namespace(&b, &key, at(2)).await.unwrap();
    store.purge(&b, at(2)).await.unwrap();
    assert_eq!(store.get_namespace(&a, &key).await.unwrap(), Some(mine.clone()));
    assert_eq!(store.list_namespaces(&a, &NamespaceFilter::default()).await.unwrap(), [mine]);
    assert_eq!(theirs.tenant, b);
}

/// `list_tenants` names each tenant with a namespace once, in order, whatever the status.
pub async fn check_list_tenants_names_each_tenant_with_a_namespace(store: &dyn Store) {
    assert_eq!(store.list_tenants().await.unwrap(), []);
    let (a, b) = (tenant(), other_tenant());
    create_namespace(store, &b, "research").await;
    create_namespace(store, &a, "research").await;
    create_namespace(store, &a, "notes").await;
    store.delete_namespace(&b, &ns("research"), at(1)).await.unwrap();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(store.list_tenants().await.unwrap(), expected);
}

/// Another tenant's memory is missing for get, get_memories, list, count, update, delete,
/// outcomes, accesses, the change feed and purge.
pub async fn check_other_tenants_memories_behave_as_missing(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    create_namespace(store, &a, "research").await;
    create_namespace(store, &b, "research").await;
    let ids = put_contents(store, &a, "research", &["mine", "my tombstone"]).await;
    store.delete_memory(&a, ids[1], at(1)).await.unwrap();
    let before = live(store, &a, ids[0]).await;
    let id = ids[0];
    assert_eq!(store.get_memory(&b, id).await.unwrap(), None);
    assert!(store.get_memories(&b, &ids).await.unwrap().is_empty());
    assert!(listed_ids(store, &b, &MemoryFilter::all()).await.is_empty());
    assert_eq!(store.count_memories(&b, &MemoryFilter::namespace(ns("research"))).await.unwrap(), 0);
    assert!(store.changes_since(&b, 0, 100).await.unwrap().is_empty());
    let mut patch = MemoryPatch::default();
    patch.content = Some("hijacked".to_owned());
    expect_err(store.update_memory(&b, id, &patch, at(2)).await, ErrorKind::NotFound, "update");
    expect_err(store.delete_memory(&b, id, at(2)).await, ErrorKind::NotFound, "delete live");
    expect_err(store.delete_memory(&b, ids[1], at(2)).await, ErrorKind::NotFound, "delete tombstone");
    expect_err(store.record_outcomes(&b, &[id], Outcome::Helpful, at(2)).await, ErrorKind::NotFound, "outcome");
    assert_eq!(store.record_access(&b, &[id], at(2)).await.unwrap(), 0);
    assert_eq!(store.purge(&b, at(100)).await.unwrap().memories, 0);
    assert_eq!(live(store, &a, id).await, before);
    assert_eq!(all_changes(store, &a, 0, 10).await.len(), 2, "tenant A's tombstone survives B's purge");
}

/// A memory id is scoped by its tenant: the same id in two tenants is two memories. Both puts
/// succeed, each tenant reads, changes and links only its own, and within one tenant the id is
/// taken (`AlreadyExists`), even after the other tenant's memory is tombstoned and purged.
pub async fn check_memory_ids_are_scoped_by_tenant(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    create_namespace(store, &a, "research").await;
    create_namespace(store, &b, "research").await;
    let id = put(store, &a, new_memory("research", "mine")).await;
    let theirs = new_memory("research", "theirs").with_id(id);
    assert_eq!(store.put_memories(&b, vec![theirs]).await.unwrap(), [created(id)], "the same id in another tenant");
    assert_eq!(live(store, &a, id).await.content, "mine");
    assert_eq!(live(store, &b, id).await.content, "theirs");
    for t in [&a, &b] {
        let again = new_memory("research", "again").with_id(id);
        expect_err(store.put_memories(t, vec![again]).await, ErrorKind::AlreadyExists, "an id taken in the tenant");
        assert_eq!(listed_ids(store, t, &MemoryFilter::all()).await, [id], "one memory per tenant");
        assert_eq!(all_changes(store, t, 0, 10).await.len(), 1, "each tenant's feed holds its own memory");
    }

    // Changes reach only the tenant's own memory.
    let mut patch = MemoryPatch::default();
    patch.content = Some("mine, edited".to_owned());
    store.update_memory(&a, id, &patch, at(1)).await.unwrap();
    store.record_outcomes(&a, &[id], Outcome::Helpful, at(1)).await.unwrap();
    assert_eq!(store.record_access(&a, &[id], at(1)).await.unwrap(), 1);
    let before = live(store, &b, id).await;
    assert_eq!(before.content, "theirs");
    assert_eq!((before.stats.helpful_count, before.stats.access_count), (0, 0), "B's statistics stay");

    // Entity links follow the tenant: A's entity mentions only A's memory.
    let link = memory_core::EntityLink { memory: id, name: "Ada".to_owned(), kind: memory_core::EntityKind::Person };
    let linked = store.link_entities(&a, &ns("research"), &[link], at(2)).await.unwrap();
    assert_eq!(linked[0].mentions, 1, "B's memory of the same id is no mention of A's entity");
    let page = memory_core::PageRequest::first(10);
    assert_eq!(store.entity_memories(&a, linked[0].id, &page).await.unwrap().items, [id]);
    assert!(store.entities_of(&b, &[id]).await.unwrap().is_empty(), "B's memory links to nothing");

    // B's tombstone and purge leave A's memory, and A's links, alone.
    assert!(store.delete_memory(&b, id, at(3)).await.unwrap());
    assert_eq!(store.get_memory(&b, id).await.unwrap(), None);
    assert_eq!(live(store, &a, id).await.content, "mine, edited");
    assert_eq!(store.purge(&b, at(3)).await.unwrap().memories, 1);
    expect_err(store.delete_memory(&b, id, at(4)).await, ErrorKind::NotFound, "B's purged memory");
    assert_eq!(live(store, &a, id).await.content, "mine, edited");
    assert_eq!(store.get_entity(&a, linked[0].id).await.unwrap().map(|e| e.mentions), Some(1));
    let again = new_memory("research", "still taken").with_id(id);
    expect_err(store.put_memories(&a, vec![again]).await, ErrorKind::AlreadyExists, "A's id after B's purge");
}

/// An audit record id is scoped by its tenant: the same id may be appended in two tenants,
/// each lists only its own, and within one tenant it is taken (`AlreadyExists`).
pub async fn check_audit_ids_are_scoped_by_tenant(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    let mine = audit_record(&a, AuditOp::MemoryRemember);
    let mut theirs = audit_record(&b, AuditOp::MemoryForget);
    theirs.id = mine.id;
    store.append_audit(mine.clone()).await.unwrap();
    store.append_audit(theirs.clone()).await.unwrap();
    let page = memory_core::PageRequest::first(10);
    assert_eq!(store.list_audit(&a, &AuditFilter::default(), &page).await.unwrap().items, std::slice::from_ref(&mine));
    assert_eq!(store.list_audit(&b, &AuditFilter::default(), &page).await.unwrap().items, [theirs.clone()]);
    for (record, t) in [(&mine, &a), (&theirs, &b)] {
        let mut again = audit_record(t, AuditOp::MemoryRecall);
        again.id = record.id;
        expect_err(store.append_audit(again).await, ErrorKind::AlreadyExists, "an audit id taken in the tenant");
        assert_eq!(
            store.list_audit(t, &AuditFilter::default(), &page).await.unwrap().items,
            std::slice::from_ref(record)
        );
    }
}

/// A proposal id is scoped by its tenant: the same id may be queued in two tenants, each gets,
/// lists and decides only its own, and within one tenant it is taken (`AlreadyExists`).
pub async fn check_proposal_ids_are_scoped_by_tenant(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    let mine = proposal(&a, "self", "mine to decide");
    let mut theirs = proposal(&b, "self", "theirs to decide");
    theirs.id = mine.id;
    store.create_proposal(mine.clone()).await.unwrap();
    store.create_proposal(theirs.clone()).await.unwrap();
    assert_eq!(store.get_proposal(&a, mine.id).await.unwrap(), Some(mine.clone()));
    assert_eq!(store.get_proposal(&b, mine.id).await.unwrap(), Some(theirs.clone()));
    let decided = store.decide_proposal(&b, mine.id, Decision::Reject, principal("bob"), at(1)).await.unwrap();
    assert_eq!(decided.content, "theirs to decide");
    assert_eq!(store.get_proposal(&a, mine.id).await.unwrap(), Some(mine.clone()), "A's stays pending");
    let page = memory_core::PageRequest::first(10);
    let listed = store.list_proposals(&a, &ProposalFilter::default(), &page).await.unwrap().items;
    assert_eq!(listed, std::slice::from_ref(&mine));
    assert_eq!(store.list_proposals(&b, &ProposalFilter::default(), &page).await.unwrap().items, [decided]);
    let mut again = proposal(&a, "self", "again");
    again.id = mine.id;
    expect_err(store.create_proposal(again).await, ErrorKind::AlreadyExists, "a proposal id taken in the tenant");
    assert_eq!(store.get_proposal(&a, mine.id).await.unwrap(), Some(mine));
}

/// Deduplication never looks into another tenant: the same namespace key and content there
/// is a new memory, and the first one's evidence does not move.
pub async fn check_dedupe_never_crosses_tenants(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    create_namespace(store, &a, "research").await;
    create_namespace(store, &b, "research").await;
    let mine = put(store, &a, new_memory("research", "the same words")).await;
    let theirs = new_memory("research", "the same words");
    let outcomes = store.put_memories(&b, vec![theirs.clone()]).await.unwrap();
    assert_eq!(outcomes, [created(theirs.id)]);
    assert_eq!(live(store, &a, mine).await.stats.evidence_count, 1);
}

/// A put into a namespace only another tenant has is `NotFound`.
pub async fn check_put_into_other_tenants_namespace_is_not_found(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let memory = new_memory("research", "misdirected");
    expect_err(store.put_memories(&other_tenant(), vec![memory]).await, ErrorKind::NotFound, "foreign namespace");
    assert_eq!(store.count_memories(&tenant(), &MemoryFilter::all()).await.unwrap(), 0);
}

/// Another tenant's audit records are never listed.
pub async fn check_other_tenants_audit_records_are_invisible(store: &dyn Store) {
    store.append_audit(audit_record(&tenant(), AuditOp::MemoryRemember)).await.unwrap();
    let page = memory_core::PageRequest::first(10);
    assert!(store.list_audit(&other_tenant(), &AuditFilter::default(), &page).await.unwrap().items.is_empty());
}

/// Another tenant's API key is missing for get, list, scope updates and revocation; only
/// `find_api_key`, which has no tenant, returns it.
pub async fn check_other_tenants_api_keys_behave_as_missing(store: &dyn Store) {
    let key = api_key(&tenant(), "s3cret");
    store.create_api_key(key.clone()).await.unwrap();
    let b = other_tenant();
    assert_eq!(store.get_api_key(&b, key.id).await.unwrap(), None);
    assert!(store.list_api_keys(&b).await.unwrap().is_empty());
    let update = store.update_api_key_scopes(&b, key.id, Vec::new(), None, at(1)).await;
    expect_err(update, ErrorKind::NotFound, "scopes of a foreign key");
    expect_err(store.revoke_api_key(&b, key.id, at(1)).await, ErrorKind::NotFound, "revoke a foreign key");
    assert_eq!(store.find_api_key(&key.hash).await.unwrap(), Some(key));
}

/// Another tenant's proposal is missing for get, list and decide.
pub async fn check_other_tenants_proposals_behave_as_missing(store: &dyn Store) {
    let p = proposal(&tenant(), "self", "mine to decide");
    store.create_proposal(p.clone()).await.unwrap();
    let b = other_tenant();
    assert_eq!(store.get_proposal(&b, p.id).await.unwrap(), None);
    let page = memory_core::PageRequest::first(10);
    assert!(store.list_proposals(&b, &ProposalFilter::default(), &page).await.unwrap().items.is_empty());
    let decide = store.decide_proposal(&b, p.id, Decision::Approve, principal("mallory"), at(1)).await;
    expect_err(decide, ErrorKind::NotFound, "decide a foreign proposal");
    assert_eq!(store.get_proposal(&tenant(), p.id).await.unwrap(), Some(p));
}
