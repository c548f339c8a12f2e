//! Checks of named entities: linking, mention counts, listings, and how moves, tombstones and
//! purges carry or remove links.

use memory_core::{
    Entity, EntityFilter, EntityId, EntityKind, EntityLink, ErrorKind, MAX_ENTITY_NAME_BYTES, MemoryId, PageRequest,
    Store, TenantId,
};

use crate::fixtures::*;

/// A link of memory `memory` to `name` of `kind`.
fn link(memory: MemoryId, name: &str, kind: EntityKind) -> EntityLink {
    EntityLink { memory, name: name.to_owned(), kind }
}

/// The entity `id`, panicking if the store does not return it.
async fn entity(store: &dyn Store, tenant: &TenantId, id: EntityId) -> Entity {
    store
        .get_entity(tenant, id)
        .await
        .unwrap_or_else(|e| panic!("get entity {id}: {e}"))
        .unwrap_or_else(|| panic!("entity {id} should exist"))
}

/// Every entity of the tenant passing `filter`, paging with `limit`.
async fn all_entities(store: &dyn Store, tenant: &TenantId, filter: &EntityFilter, limit: usize) -> Vec<Entity> {
    collect_pages(limit, move |page| Box::pin(async move { store.list_entities(tenant, filter, &page).await })).await
}

/// The ids of every entity of the tenant.
async fn entity_ids(store: &dyn Store, tenant: &TenantId) -> Vec<EntityId> {
    all_entities(store, tenant, &EntityFilter::default(), 100).await.into_iter().map(|e| e.id).collect()
}

/// Every live memory linked to entity `id`, paging with `limit`.
async fn linked_memories(store: &dyn Store, tenant: &TenantId, id: EntityId, limit: usize) -> Vec<MemoryId> {
    collect_pages(limit, move |page| Box::pin(async move { store.entity_memories(tenant, id, &page).await })).await
}

fn filter(namespaces: Option<&[&str]>, kind: Option<EntityKind>, query: Option<&str>) -> EntityFilter {
    let mut f = EntityFilter::default();
    f.namespaces = namespaces.map(|keys| keys.iter().map(|k| ns(k)).collect());
    f.kind = kind;
    f.query = query.map(str::to_owned);
    f
}

/// The first link of (namespace, kind, key) creates the entity (name trimmed, key folded,
/// both times `at`); later links of any spelling with the same key find it, stamp
/// `updated_at` and count; another kind or namespace is another entity. The call returns each
/// linked entity once, in order of first appearance, as stored after it.
pub async fn check_link_entities_creates_then_finds_entities_by_kind_and_key(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    create_namespace(store, &t, "notes").await;
    let ids = put_contents(store, &t, "research", &["Ada wrote the notes", "ADA reviewed Rust", "Rust ships"]).await;
    let linked = store
        .link_entities(
            &t,
            &ns("research"),
            &[
                link(ids[0], "  Ada   Lovelace ", EntityKind::Person),
                link(ids[0], "Rust", EntityKind::Tool),
                link(ids[1], "ada lovelace", EntityKind::Person),
            ],
            at(5),
        )
        .await
        .unwrap();
    assert_eq!(linked.len(), 2, "each entity once: {linked:?}");
    let (ada, rust) = (&linked[0], &linked[1]);
    assert_eq!(
        (ada.name.as_str(), ada.key.as_str(), ada.kind, ada.namespace.as_str()),
        ("Ada   Lovelace", "ada lovelace", EntityKind::Person, "research"),
        "the first name as given, trimmed; the key folded"
    );
    assert_eq!((ada.tenant.clone(), ada.created_at, ada.updated_at, ada.mentions), (t.clone(), at(5), at(5), 2));
    assert_eq!((rust.name.as_str(), rust.kind, rust.mentions), ("Rust", EntityKind::Tool, 1));
    assert_eq!(&entity(store, &t, ada.id).await, ada, "get_entity returns what link_entities did");

    let again =
        store.link_entities(&t, &ns("research"), &[link(ids[2], "RUST", EntityKind::Tool)], at(9)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, rust.id, "the same kind and key finds the entity");
    assert_eq!((again[0].name.as_str(), again[0].created_at), ("Rust", at(5)), "name and creation stay");
    assert_eq!((again[0].updated_at, again[0].mentions), (at(9), 2), "a new link stamps updated_at");
    let earlier = store
        .link_entities(&t, &ns("research"), &[link(ids[2], "Ada Lovelace", EntityKind::Person)], at(1))
        .await
        .unwrap();
    assert_eq!(earlier[0].updated_at, at(5), "updated_at never goes back");

    let other_kind =
        store.link_entities(&t, &ns("research"), &[link(ids[0], "Rust", EntityKind::Project)], at(10)).await.unwrap();
    assert_ne!(other_kind[0].id, rust.id, "another kind is another entity");
    let theirs = put(store, &t, new_memory("notes", "Ada again")).await;
    let elsewhere = store
        .link_entities(&t, &ns("notes"), &[link(theirs, "Ada Lovelace", EntityKind::Person)], at(11))
        .await
        .unwrap();
    assert_ne!(elsewhere[0].id, ada.id, "another namespace is another entity");
    assert_eq!((elsewhere[0].namespace.as_str(), elsewhere[0].mentions), ("notes", 1));
    assert_eq!(entity_ids(store, &t).await.len(), 4);
}

/// Linking a memory to an entity it is already linked to changes nothing (not even
/// `updated_at`), and an empty batch is `Ok(vec![])`.
pub async fn check_relinking_changes_nothing(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let id = put(store, &t, new_memory("research", "Ada wrote the notes")).await;
    let first = store.link_entities(&t, &ns("research"), &[link(id, "Ada", EntityKind::Person)], at(5)).await.unwrap();
    let seq = store.last_seq().await.unwrap();
    let again = store
        .link_entities(
            &t,
            &ns("research"),
            &[link(id, "ada", EntityKind::Person), link(id, " ADA ", EntityKind::Person)],
            at(9),
        )
        .await
        .unwrap();
    assert_eq!(again, first, "a repeated link returns the entity unchanged");
    assert_eq!(entity(store, &t, first[0].id).await, first[0]);
    assert_eq!(linked_memories(store, &t, first[0].id, 10).await, [id]);
    assert_eq!(store.last_seq().await.unwrap(), seq, "links are not memory changes");
    assert_eq!(store.link_entities(&t, &ns("research"), &[], at(10)).await.unwrap(), []);
    assert_eq!(entity_ids(store, &t).await.len(), 1);
}

/// `mentions` counts the live memories linked to an entity: a tombstone stops counting at
/// once (in get, list and link results), and tombstoned memories leave `entity_memories`.
pub async fn check_mentions_count_live_memories_only(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let ids = put_contents(store, &t, "research", &["Ada one", "Ada two", "Ada three"]).await;
    let links: Vec<EntityLink> = ids.iter().map(|id| link(*id, "Ada", EntityKind::Person)).collect();
    let ada = store.link_entities(&t, &ns("research"), &links, at(5)).await.unwrap().remove(0);
    assert_eq!(ada.mentions, 3);
    assert!(store.delete_memory(&t, ids[1], at(6)).await.unwrap());
    assert_eq!(entity(store, &t, ada.id).await.mentions, 2, "a tombstone stops counting at once");
    let listed = all_entities(store, &t, &EntityFilter::default(), 10).await;
    assert_eq!(listed.iter().map(|e| e.mentions).collect::<Vec<_>>(), [2], "listings count the same way");
    assert_eq!(linked_memories(store, &t, ada.id, 10).await, [ids[0], ids[2]]);
    let relinked = store.link_entities(&t, &ns("research"), &[link(ids[0], "Ada", EntityKind::Person)], at(7)).await;
    assert_eq!(relinked.unwrap()[0].mentions, 2, "link results count live memories too");
    store.delete_memory(&t, ids[0], at(8)).await.unwrap();
    store.delete_memory(&t, ids[2], at(8)).await.unwrap();
    let gone = entity(store, &t, ada.id).await;
    assert_eq!(gone.mentions, 0, "an entity without live memories stays until a purge, with no mentions");
    assert!(linked_memories(store, &t, ada.id, 10).await.is_empty());
}

/// A link that fails [`EntityLink::validate`] (empty, too long, a control character) is
/// `InvalidInput`, even when the namespace is missing too; nothing of the batch is stored.
pub async fn check_link_entities_with_a_bad_name_changes_nothing(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let id = put(store, &t, new_memory("research", "Ada wrote the notes")).await;
    let long = "x".repeat(MAX_ENTITY_NAME_BYTES + 1);
    for bad in ["", "   ", long.as_str(), "Ada\u{7}"] {
        let batch = [link(id, "Ada", EntityKind::Person), link(id, bad, EntityKind::Person)];
        let result = store.link_entities(&t, &ns("research"), &batch, at(5)).await;
        expect_err(result, ErrorKind::InvalidInput, &format!("link to {bad:?}"));
        let result = store.link_entities(&t, &ns("nowhere"), &batch, at(5)).await;
        expect_err(result, ErrorKind::InvalidInput, "a bad name in a missing namespace");
    }
    assert!(entity_ids(store, &t).await.is_empty(), "a refused batch creates no entity");
    assert!(store.entities_of(&t, &[id]).await.unwrap().is_empty(), "a refused batch links nothing");
}

/// `NotFound`, changing nothing, when the namespace is missing or deleted, or a memory is not
/// a live memory of that namespace in this tenant (missing, tombstoned, of another namespace
/// or tenant). An archived namespace takes links.
pub async fn check_link_entities_needs_live_memories_of_the_namespace(store: &dyn Store) {
    let (t, b) = (tenant(), other_tenant());
    for key in ["research", "notes", "gone", "old"] {
        create_namespace(store, &t, key).await;
    }
    create_namespace(store, &b, "research").await;
    let mine = put(store, &t, new_memory("research", "Ada wrote the notes")).await;
    let tombstone = put(store, &t, new_memory("research", "Ada left")).await;
    store.delete_memory(&t, tombstone, at(1)).await.unwrap();
    let other_ns = put(store, &t, new_memory("notes", "Ada in notes")).await;
    let gone = put(store, &t, new_memory("gone", "Ada gone")).await;
    store.delete_namespace(&t, &ns("gone"), at(2)).await.unwrap();
    let theirs = put(store, &b, new_memory("research", "Ada of tenant b")).await;
    let attempts = [
        ("nowhere", memory_id(), "a missing namespace"),
        ("gone", gone, "a deleted namespace"),
        ("research", memory_id(), "a missing memory"),
        ("research", tombstone, "a tombstoned memory"),
        ("research", other_ns, "a memory of another namespace"),
        ("research", theirs, "a memory of another tenant"),
    ];
    for (key, bad, what) in attempts {
        let batch = [link(mine, "Ada", EntityKind::Person), link(bad, "Ada", EntityKind::Person)];
        expect_err(store.link_entities(&t, &ns(key), &batch, at(5)).await, ErrorKind::NotFound, what);
    }
    let batch = [link(mine, "Ada", EntityKind::Person)];
    expect_err(store.link_entities(&b, &ns("research"), &batch, at(5)).await, ErrorKind::NotFound, "tenant b");
    assert!(entity_ids(store, &t).await.is_empty(), "a refused batch creates no entity");
    assert!(entity_ids(store, &b).await.is_empty(), "a refused batch creates no entity");
    assert!(store.entities_of(&t, &[mine, other_ns]).await.unwrap().is_empty(), "a refused batch links nothing");

    let archived = put(store, &t, new_memory("old", "Ada archived")).await;
    store.archive_namespace(&t, &ns("old"), at(3)).await.unwrap();
    let linked = store.link_entities(&t, &ns("old"), &[link(archived, "Ada", EntityKind::Person)], at(5)).await;
    assert_eq!(linked.unwrap()[0].mentions, 1, "an archived namespace takes links");
}

/// `list_entities` applies every filter field: namespaces (`None` all, an empty list none),
/// kind, and a query whose every word the key must contain (compared folded).
pub async fn check_list_entities_applies_every_filter(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    create_namespace(store, &t, "notes").await;
    let r = put(store, &t, new_memory("research", "research memory")).await;
    let n = put(store, &t, new_memory("notes", "notes memory")).await;
    let research = [
        link(r, "Ada Lovelace", EntityKind::Person),
        link(r, "Analytical Engine", EntityKind::Project),
        link(r, "Rust", EntityKind::Tool),
    ];
    store.link_entities(&t, &ns("research"), &research, at(1)).await.unwrap();
    store.link_entities(&t, &ns("notes"), &[link(n, "Ada Byron", EntityKind::Person)], at(2)).await.unwrap();
    let names = |entities: Vec<Entity>| {
        let mut names: Vec<String> = entities.into_iter().map(|e| format!("{}:{}", e.namespace, e.name)).collect();
        names.sort();
        names
    };
    let cases: [(EntityFilter, &[&str]); 9] = [
        (
            filter(None, None, None),
            &["notes:Ada Byron", "research:Ada Lovelace", "research:Analytical Engine", "research:Rust"],
        ),
        (filter(Some(&[]), None, None), &[]),
        (filter(Some(&["notes"]), None, None), &["notes:Ada Byron"]),
        (filter(Some(&["notes", "nowhere"]), Some(EntityKind::Tool), None), &[]),
        (filter(None, Some(EntityKind::Person), None), &["notes:Ada Byron", "research:Ada Lovelace"]),
        (filter(None, None, Some("ADA")), &["notes:Ada Byron", "research:Ada Lovelace"]),
        (filter(None, None, Some("  lovelace   ada ")), &["research:Ada Lovelace"]),
        (filter(None, None, Some("engine ada")), &[]),
        (filter(Some(&["research"]), Some(EntityKind::Project), Some("analyt")), &["research:Analytical Engine"]),
    ];
    for (f, expected) in cases {
        assert_eq!(names(all_entities(store, &t, &f, 2).await), expected, "filter {f:?}");
    }
}

/// Entities are listed in id order, each once, in pages of at most `limit`; a cursor is the
/// last id, and the paging rules (limit range, malformed cursor) hold.
pub async fn check_list_entities_pages_in_id_order(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let id = put(store, &t, new_memory("research", "many names")).await;
    let links: Vec<EntityLink> = (0..7).map(|i| link(id, &format!("name {i}"), EntityKind::Other)).collect();
    store.link_entities(&t, &ns("research"), &links, at(1)).await.unwrap();
    let all = all_entities(store, &t, &EntityFilter::default(), 3).await;
    let ids: Vec<EntityId> = all.iter().map(|e| e.id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "entities come in id order, each once");
    assert_eq!(ids.len(), 7);
    let page = store.list_entities(&t, &EntityFilter::default(), &PageRequest::after(ids[4].to_string(), 10)).await;
    assert_eq!(page.unwrap().items.iter().map(|e| e.id).collect::<Vec<_>>(), ids[5..], "resumes after any id");
    let f = EntityFilter::default();
    expect_err(store.list_entities(&t, &f, &PageRequest::first(0)).await, ErrorKind::InvalidInput, "limit 0");
    let too_long = PageRequest::first(memory_core::MAX_PAGE_LIMIT + 1);
    expect_err(store.list_entities(&t, &f, &too_long).await, ErrorKind::InvalidInput, "limit above the maximum");
    let bad = PageRequest::after("not an id", 10);
    expect_err(store.list_entities(&t, &f, &bad).await, ErrorKind::InvalidInput, "malformed cursor");
}

/// `entity_memories` pages the ids of the entity's live memories in id order; `NotFound` for
/// a missing entity or one of another tenant; the paging rules hold.
pub async fn check_entity_memories_pages_live_memories_in_id_order(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let ids = put_contents(store, &t, "research", &["m0", "m1", "m2", "m3", "m4", "m5"]).await;
    let links: Vec<EntityLink> = ids.iter().rev().map(|id| link(*id, "Ada", EntityKind::Person)).collect();
    let ada = store.link_entities(&t, &ns("research"), &links, at(1)).await.unwrap().remove(0);
    store.delete_memory(&t, ids[3], at(2)).await.unwrap();
    let expected = [ids[0], ids[1], ids[2], ids[4], ids[5]];
    for limit in [1, 2, 5, 10] {
        assert_eq!(linked_memories(store, &t, ada.id, limit).await, expected, "limit {limit}");
    }
    let after = store.entity_memories(&t, ada.id, &PageRequest::after(ids[1].to_string(), 10)).await.unwrap();
    assert_eq!(after.items, [ids[2], ids[4], ids[5]]);
    let missing = EntityId::from_uuid(next_uuid());
    expect_err(store.entity_memories(&t, missing, &PageRequest::first(10)).await, ErrorKind::NotFound, "missing");
    let other = store.entity_memories(&other_tenant(), ada.id, &PageRequest::first(10)).await;
    expect_err(other, ErrorKind::NotFound, "another tenant's entity");
    let zero = store.entity_memories(&t, ada.id, &PageRequest::first(0)).await;
    expect_err(zero, ErrorKind::InvalidInput, "limit 0");
    let bad = store.entity_memories(&t, ada.id, &PageRequest::after("nope", 10)).await;
    expect_err(bad, ErrorKind::InvalidInput, "malformed cursor");
}

/// `entities_of` lists each (memory, entity) link of the live memories among `ids`, in the
/// order of `ids`, then by entity id; missing and tombstoned memories are skipped.
pub async fn check_entities_of_orders_by_position_then_entity_id(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let ids = put_contents(store, &t, "research", &["Ada and Rust", "Rust only", "Ada, deleted", "nothing"]).await;
    let linked = store
        .link_entities(
            &t,
            &ns("research"),
            &[
                link(ids[0], "Rust", EntityKind::Tool),
                link(ids[0], "Ada", EntityKind::Person),
                link(ids[1], "Rust", EntityKind::Tool),
                link(ids[2], "Ada", EntityKind::Person),
            ],
            at(1),
        )
        .await
        .unwrap();
    let (rust, ada) = (linked[0].id, linked[1].id);
    store.delete_memory(&t, ids[2], at(2)).await.unwrap();
    let got = store.entities_of(&t, &[ids[1], memory_id(), ids[2], ids[3], ids[0]]).await.unwrap();
    let pairs: Vec<(MemoryId, EntityId)> = got.iter().map(|(m, e)| (*m, e.id)).collect();
    let mut first_ones = [rust, ada];
    first_ones.sort();
    assert_eq!(pairs, [(ids[1], rust), (ids[0], first_ones[0]), (ids[0], first_ones[1])]);
    let rust_entity = &got[0].1;
    assert_eq!(rust_entity.mentions, 2, "entities come as get_entity returns them");
    assert_eq!(rust_entity, &entity(store, &t, rust).await);
    assert!(store.entities_of(&t, &[]).await.unwrap().is_empty());
}

/// `move_memories` moves each moved memory's links to the entity of the same kind and key in
/// `to` (created when missing, with the source entity's name); the source entities keep
/// their other links. A refused move moves no link.
pub async fn check_move_memories_moves_entity_links(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "old").await;
    create_namespace(store, &t, "new").await;
    let moving = put(store, &t, new_memory_at("old", "Ada uses Rust", at(1))).await;
    let staying = put(store, &t, new_memory_at("old", "Ada stays", at(2))).await;
    let twin = put(store, &t, new_memory_at("old", "The deploy runs on Fridays", at(3))).await;
    let resident = put(store, &t, new_memory_at("new", "ADA is here", at(4))).await;
    let survivor = put(store, &t, new_memory_at("new", "The deploy runs on Fridays", at(5))).await;
    let old_links = [
        link(moving, "Ada", EntityKind::Person),
        link(moving, "Rust", EntityKind::Tool),
        link(staying, "Ada", EntityKind::Person),
        link(twin, "Friday deploy", EntityKind::Other),
    ];
    let old = store.link_entities(&t, &ns("old"), &old_links, at(6)).await.unwrap();
    let (old_ada, old_rust, old_deploy) = (old[0].id, old[1].id, old[2].id);
    let new = store.link_entities(&t, &ns("new"), &[link(resident, "ada", EntityKind::Person)], at(6)).await.unwrap();
    let new_ada = new[0].id;

    let refused = store.move_memories(&t, &ns("old"), &ns("nowhere"), &[moving], at(8)).await;
    expect_err(refused, ErrorKind::NotFound, "a move to a missing namespace");
    assert_eq!(entity_ids(store, &t).await.len(), 4, "a refused move creates no entity");
    assert_eq!(linked_memories(store, &t, old_ada, 10).await, [moving, staying], "a refused move moves no link");

    store.move_memories(&t, &ns("old"), &ns("new"), &[moving, twin], at(9)).await.unwrap();
    let of_moved = store.entities_of(&t, &[moving]).await.unwrap();
    assert_eq!(of_moved.len(), 2, "{of_moved:?}");
    let ada = of_moved.iter().map(|(_, e)| e).find(|e| e.kind == EntityKind::Person).expect("a person");
    let rust = of_moved.iter().map(|(_, e)| e).find(|e| e.kind == EntityKind::Tool).expect("a tool");
    assert_eq!(ada.id, new_ada, "the link moves to the entity of the same kind and key in `to`");
    assert_eq!(ada.mentions, 2);
    assert_eq!(ada.updated_at, at(9), "the new link stamps the target entity");
    assert_ne!(rust.id, old_rust, "a missing target entity is created");
    assert_eq!(
        (rust.namespace.as_str(), rust.name.as_str(), rust.key.as_str(), rust.mentions, rust.created_at),
        ("new", "Rust", "rust", 1, at(9))
    );
    let of_twin = store.entities_of(&t, &[twin]).await.unwrap();
    assert_eq!(of_twin.len(), 1, "a merged memory moves in, superseded, with its links");
    assert_eq!((of_twin[0].1.namespace.as_str(), of_twin[0].1.mentions), ("new", 1));
    assert_eq!(linked_memories(store, &t, old_ada, 10).await, [staying], "the source entity keeps its other links");
    assert_eq!(entity(store, &t, old_ada).await.mentions, 1);
    assert_eq!(entity(store, &t, old_rust).await.mentions, 0, "a source entity left without links stays");
    assert!(linked_memories(store, &t, old_deploy, 10).await.is_empty());
    assert!(store.entities_of(&t, &[survivor]).await.unwrap().is_empty(), "the survivor gains no link");
    let in_old = all_entities(store, &t, &filter(Some(&["old"]), None, None), 10).await;
    assert_eq!(in_old.len(), 3, "no entity of `old` links a memory of `new`");
}

/// `purge` removes the links of the memories it removes, then every entity left without
/// links (including ones a move emptied); entities with links left stay.
pub async fn check_purge_removes_links_and_unlinked_entities(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    create_namespace(store, &t, "notes").await;
    let ids = put_contents(store, &t, "research", &["Ada and Rust", "Rust only", "moving Go"]).await;
    let linked = store
        .link_entities(
            &t,
            &ns("research"),
            &[
                link(ids[0], "Ada", EntityKind::Person),
                link(ids[0], "Rust", EntityKind::Tool),
                link(ids[1], "Rust", EntityKind::Tool),
                link(ids[2], "Go", EntityKind::Tool),
            ],
            at(1),
        )
        .await
        .unwrap();
    let (ada, rust, go) = (linked[0].id, linked[1].id, linked[2].id);
    store.move_memories(&t, &ns("research"), &ns("notes"), &[ids[2]], at(2)).await.unwrap();
    store.delete_memory(&t, ids[0], at(5)).await.unwrap();
    store.purge(&t, at(4)).await.unwrap();
    assert_eq!(entity(store, &t, ada).await.mentions, 0, "a tombstone after the cutoff keeps its links");
    assert_eq!(store.get_entity(&t, go).await.unwrap(), None, "an entity a move left without links is purged");
    let report = store.purge(&t, at(5)).await.unwrap();
    assert_eq!(report.memories, 1);
    assert_eq!(store.get_entity(&t, ada).await.unwrap(), None, "an entity left without links is purged");
    assert_eq!(entity(store, &t, rust).await.mentions, 1, "an entity with links left stays");
    assert_eq!(linked_memories(store, &t, rust, 10).await, [ids[1]]);
    let of_moved = store.entities_of(&t, &[ids[2]]).await.unwrap();
    assert_eq!(of_moved.len(), 1, "the moved memory's entity in `notes` stays");
    assert_eq!(entity_ids(store, &t).await.len(), 2);
}

/// Deleting a namespace keeps its entities (without mentions); the purge that removes the
/// namespace removes its entities and job records with it, so a namespace created again
/// under the key starts empty. Other namespaces keep theirs.
pub async fn check_purge_removes_a_deleted_namespaces_entities_and_job_runs(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "gone").await;
    create_namespace(store, &t, "kept").await;
    let doomed = put(store, &t, new_memory("gone", "Ada was here")).await;
    let kept = put(store, &t, new_memory("kept", "Ada is here")).await;
    let gone_ada =
        store.link_entities(&t, &ns("gone"), &[link(doomed, "Ada", EntityKind::Person)], at(1)).await.unwrap()[0].id;
    let kept_ada =
        store.link_entities(&t, &ns("kept"), &[link(kept, "Ada", EntityKind::Person)], at(1)).await.unwrap()[0].id;
    for key in ["gone", "kept"] {
        store.record_job_run(&job_run(&t, memory_core::Job::Expire, key, 2)).await.unwrap();
    }
    store.delete_namespace(&t, &ns("gone"), at(3)).await.unwrap();
    assert_eq!(entity(store, &t, gone_ada).await.mentions, 0, "delete_namespace keeps the entities");
    assert_eq!(store.list_job_runs(&t, Some(&ns("gone"))).await.unwrap().len(), 1);
    let report = store.purge(&t, at(3)).await.unwrap();
    assert_eq!(report.namespaces, 1);
    assert_eq!(store.get_entity(&t, gone_ada).await.unwrap(), None);
    assert!(store.list_job_runs(&t, Some(&ns("gone"))).await.unwrap().is_empty(), "its job records go too");
    assert_eq!(entity(store, &t, kept_ada).await.mentions, 1);
    assert_eq!(store.list_job_runs(&t, None).await.unwrap().len(), 1, "other namespaces keep their job records");
    create_namespace(store, &t, "gone").await;
    assert!(all_entities(store, &t, &filter(Some(&["gone"]), None, None), 10).await.is_empty());
}

/// Another tenant's entities behave as missing for every entity method, tenants with the
/// same namespace key get separate entities, and a purge never crosses tenants.
pub async fn check_other_tenants_entities_behave_as_missing(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    create_namespace(store, &a, "research").await;
    create_namespace(store, &b, "research").await;
    let mine = put(store, &a, new_memory("research", "Ada of a")).await;
    let theirs = put(store, &b, new_memory("research", "Ada of b")).await;
    let ada = store.link_entities(&a, &ns("research"), &[link(mine, "Ada", EntityKind::Person)], at(1)).await.unwrap();
    let ada = ada[0].clone();
    assert_eq!(store.get_entity(&b, ada.id).await.unwrap(), None);
    assert!(all_entities(store, &b, &EntityFilter::default(), 10).await.is_empty());
    let page = PageRequest::first(10);
    expect_err(store.entity_memories(&b, ada.id, &page).await, ErrorKind::NotFound, "entity of another tenant");
    assert!(store.entities_of(&b, &[mine]).await.unwrap().is_empty());
    let same =
        store.link_entities(&b, &ns("research"), &[link(theirs, "Ada", EntityKind::Person)], at(2)).await.unwrap();
    assert_ne!(same[0].id, ada.id, "each tenant has its own entities");
    assert_eq!((same[0].tenant.clone(), same[0].mentions), (b.clone(), 1));
    store.delete_memory(&b, theirs, at(3)).await.unwrap();
    store.delete_namespace(&b, &ns("research"), at(3)).await.unwrap();
    store.purge(&b, at(3)).await.unwrap();
    assert_eq!(entity(store, &a, ada.id).await, ada, "another tenant's purge leaves the entity alone");
    assert_eq!(linked_memories(store, &a, ada.id, 10).await, [mine]);
}
