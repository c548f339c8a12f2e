//! Checks of listing: filters, counts, page limits, cursors, id order, and paging while the
//! data changes.

use memory_core::{
    AuditFilter, Category, ErrorKind, Layer, MAX_PAGE_LIMIT, MemoryFilter, MemoryId, MemoryPatch, NewMemory,
    PageRequest, ProposalFilter, Store,
};

use crate::fixtures::*;

/// 25 memories over two namespaces and two layers, created one second apart; returns them.
async fn twenty_five(store: &dyn Store) -> Vec<NewMemory> {
    create_namespace(store, &tenant(), "a").await;
    create_namespace(store, &tenant(), "b").await;
    let mut all = Vec::new();
    for i in 0..25 {
        let mut memory = new_memory_at(if i % 3 == 0 { "b" } else { "a" }, &format!("memory number {i}"), at(i));
        if i % 2 == 0 {
            memory.layer = Layer::Episodic;
            memory.category = Category::event();
        }
        put(store, &tenant(), memory.clone()).await;
        all.push(memory);
    }
    all
}

fn filters() -> Vec<MemoryFilter> {
    let mut episodic = MemoryFilter::all();
    episodic.layers = Some(vec![Layer::Episodic]);
    let mut a_episodic = MemoryFilter::namespace(ns("a"));
    a_episodic.layers = Some(vec![Layer::Episodic, Layer::Identity]);
    let mut window = MemoryFilter::namespace(ns("b"));
    window.created_from = Some(at(3));
    window.created_before = Some(at(20));
    vec![MemoryFilter::all(), MemoryFilter::namespace(ns("a")), episodic, a_episodic, window]
}

fn expected_ids(all: &[NewMemory], filter: &MemoryFilter) -> Vec<MemoryId> {
    let mut ids: Vec<MemoryId> =
        all.iter().filter(|m| filter.matches(&(*m).clone().into_memory(tenant(), 1))).map(|m| m.id).collect();
    ids.sort();
    ids
}

/// Paging with limits 1, 2, 7, 25 and 1000 under several filters visits every matching
/// memory exactly once, in id order, each page holding at most `limit` items.
pub async fn check_list_paging_visits_every_item_once(store: &dyn Store) {
    let all = twenty_five(store).await;
    for filter in filters() {
        let expected = expected_ids(&all, &filter);
        assert!(!expected.is_empty());
        for limit in [1, 2, 7, 25, 1000] {
            let got: Vec<_> = list_all(store, &tenant(), &filter, limit).await.into_iter().map(|m| m.id).collect();
            assert_eq!(got, expected, "limit {limit}, filter {filter:?}");
        }
    }
}

/// Pages are ordered by id, not by insertion or creation time.
pub async fn check_list_orders_by_id(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids: Vec<MemoryId> = (0..6).map(|_| memory_id()).collect();
    for (i, id) in ids.iter().enumerate().rev() {
        put(store, &tenant(), new_memory_at("research", &format!("item {i}"), at(100 - i as i64)).with_id(*id)).await;
    }
    assert_eq!(listed_ids(store, &tenant(), &MemoryFilter::all()).await, ids);
    let got: Vec<_> = list_all(store, &tenant(), &MemoryFilter::all(), 4).await.into_iter().map(|m| m.id).collect();
    assert_eq!(got, ids);
}

/// Every set field of a `MemoryFilter` must match: namespaces, layers, category, the created
/// window (`from` inclusive, `before` exclusive), `exclude_superseded`; an empty namespace or
/// layer list matches nothing.
pub async fn check_list_filters_select_exactly_the_matches(store: &dyn Store) {
    create_namespace(store, &tenant(), "a").await;
    create_namespace(store, &tenant(), "b").await;
    let mut decision = new_memory_at("a", "use postgres", at(10));
    decision.category = Category::new("decision").unwrap();
    let decision = put(store, &tenant(), decision).await;
    let fact = put(store, &tenant(), new_memory_at("a", "sky is blue", at(20))).await;
    let mut rule = new_memory_at("b", "always test", at(30));
    rule.layer = Layer::Procedural;
    let rule = put(store, &tenant(), rule).await;
    let mut patch = MemoryPatch::default();
    patch.superseded_by = Some(Some(fact));
    store.update_memory(&tenant(), decision, &patch, at(40)).await.unwrap();

    let ids = |filter: MemoryFilter| async move { listed_ids(store, &tenant(), &filter).await };
    let mut f = MemoryFilter::all();
    f.namespaces = Some(vec![ns("b"), ns("nowhere")]);
    assert_eq!(ids(f).await, [rule]);
    let mut f = MemoryFilter::all();
    f.namespaces = Some(vec![]);
    assert_eq!(ids(f).await, []);
    let mut f = MemoryFilter::all();
    f.layers = Some(vec![Layer::Procedural]);
    assert_eq!(ids(f).await, [rule]);
    let mut f = MemoryFilter::all();
    f.layers = Some(vec![]);
    assert_eq!(ids(f).await, []);
    let mut f = MemoryFilter::all();
    f.category = Some(Category::new("decision").unwrap());
    assert_eq!(ids(f).await, [decision]);
    let mut f = MemoryFilter::all();
    f.created_from = Some(at(20));
    f.created_before = Some(at(30));
    assert_eq!(ids(f).await, [fact]);
    let mut f = MemoryFilter::all();
    f.exclude_superseded = true;
    assert_eq!(ids(f).await, [fact, rule]);
    let mut f = MemoryFilter::namespace(ns("a"));
    f.category = Some(Category::fact());
    f.created_from = Some(at(10));
    assert_eq!(ids(f).await, [fact]);
}

/// `count_memories` equals the number of memories the same filter lists.
pub async fn check_count_matches_list(store: &dyn Store) {
    twenty_five(store).await;
    let ids = put_contents(store, &tenant(), "a", &["gone 1", "gone 2"]).await;
    for id in ids {
        store.delete_memory(&tenant(), id, at(1)).await.unwrap();
    }
    let mut none = MemoryFilter::all();
    none.namespaces = Some(vec![ns("nowhere")]);
    for filter in filters().into_iter().chain([none]) {
        let listed = listed_ids(store, &tenant(), &filter).await.len() as u64;
        assert_eq!(store.count_memories(&tenant(), &filter).await.unwrap(), listed, "filter {filter:?}");
    }
}

/// A page limit of 0 or above `MAX_PAGE_LIMIT` is `InvalidInput` for every paged call;
/// `MAX_PAGE_LIMIT` itself is accepted.
pub async fn check_page_limit_out_of_range_is_invalid_input(store: &dyn Store) {
    let t = tenant();
    for limit in [0, MAX_PAGE_LIMIT + 1] {
        let page = PageRequest::first(limit);
        let what = format!("limit {limit}");
        expect_err(store.list_memories(&t, &MemoryFilter::all(), &page).await, ErrorKind::InvalidInput, &what);
        expect_err(store.list_audit(&t, &AuditFilter::default(), &page).await, ErrorKind::InvalidInput, &what);
        expect_err(store.list_proposals(&t, &ProposalFilter::default(), &page).await, ErrorKind::InvalidInput, &what);
        expect_err(store.changes_since(&t, 0, limit).await, ErrorKind::InvalidInput, &what);
    }
    let page = PageRequest::first(MAX_PAGE_LIMIT);
    store.list_memories(&t, &MemoryFilter::all(), &page).await.unwrap();
    store.list_audit(&t, &AuditFilter::default(), &page).await.unwrap();
    store.list_proposals(&t, &ProposalFilter::default(), &page).await.unwrap();
    store.changes_since(&t, 0, MAX_PAGE_LIMIT).await.unwrap();
}

/// A cursor the store never issued is `InvalidInput` for every paged call.
pub async fn check_malformed_cursor_is_invalid_input(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    put(store, &t, new_memory("research", "something to page over")).await;
    for cursor in ["not a cursor", "", "{}"] {
        let page = PageRequest::after(cursor, 10);
        let what = format!("cursor {cursor:?}");
        expect_err(store.list_memories(&t, &MemoryFilter::all(), &page).await, ErrorKind::InvalidInput, &what);
        expect_err(store.list_audit(&t, &AuditFilter::default(), &page).await, ErrorKind::InvalidInput, &what);
        expect_err(store.list_proposals(&t, &ProposalFilter::default(), &page).await, ErrorKind::InvalidInput, &what);
    }
}

/// `next_cursor` is `Some` exactly when more items follow: set on a page that has
/// successors, `None` on the last page (also when it is exactly full) and on an empty list.
pub async fn check_next_cursor_is_set_exactly_when_more_follow(store: &dyn Store) {
    let first =
        |limit| async move { store.list_memories(&tenant(), &MemoryFilter::all(), &PageRequest::first(limit)).await };
    assert_eq!(first(5).await.unwrap().next_cursor, None, "empty list");
    create_namespace(store, &tenant(), "research").await;
    put_contents(store, &tenant(), "research", &["one", "two", "three"]).await;
    assert!(first(2).await.unwrap().next_cursor.is_some(), "a page with successors");
    assert_eq!(first(5).await.unwrap().next_cursor, None, "a short last page");
    let full = first(3).await.unwrap();
    assert_eq!((full.items.len(), full.next_cursor), (3, None), "an exactly full last page");
}

/// Paging while memories are added and deleted between pages visits every memory that
/// exists throughout exactly once and never returns an id twice.
pub async fn check_paging_during_writes_visits_stable_items_once(store: &dyn Store) {
    let t = tenant();
    create_namespace(store, &t, "research").await;
    let early_ids: Vec<MemoryId> = (0..6).map(|_| memory_id()).collect();
    let mut stable = Vec::new();
    for i in 0..12 {
        stable.push(put(store, &t, new_memory("research", &format!("stable {i}"))).await);
    }
    let doomed: Vec<MemoryId> = put_contents(store, &t, "research", &["doomed 0", "doomed 1", "doomed 2"]).await;
    let mut seen: Vec<MemoryId> = Vec::new();
    let mut request = PageRequest::first(3);
    for round in 0.. {
        let page = store.list_memories(&t, &MemoryFilter::all(), &request).await.unwrap();
        seen.extend(page.items.iter().map(|m| m.id));
        let Some(cursor) = page.next_cursor else { break };
        // Between pages: an id before the cursor, one after it, and a deletion.
        if let Some(early) = early_ids.get(round) {
            put(store, &t, new_memory("research", &format!("early {round}")).with_id(*early)).await;
        }
        put(store, &t, new_memory("research", &format!("late {round}"))).await;
        if let Some(id) = doomed.get(round) {
            store.delete_memory(&t, *id, at(round as i64)).await.unwrap();
        }
        request = PageRequest::after(cursor, 3);
        assert!(round < 100, "paging did not end");
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "an id came back twice: {seen:?}");
    for id in stable {
        assert!(seen.contains(&id), "stable memory {id} was skipped");
    }
    let mut ordered = seen.clone();
    ordered.sort();
    assert_eq!(ordered, seen, "pages follow id order");
}
