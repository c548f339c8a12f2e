//! Query plans of the memory listings: the pinned lookup the engine runs on every recall
//! (identity and procedural memories of a few namespaces) must search the live
//! `(tenant, namespace, layer, id)` index, never walk the tenant's or a namespace's memories.

use memory_core::{
    Layer, MemoryFilter, Namespace, NamespaceKey, NamespaceKind, NewMemory, PageRequest, TenantId, Timestamp,
};
use rusqlite::types::Value;
use rusqlite::{Connection, StatementStatus};

use super::{count_statement, list_statement, put};
use crate::{namespaces, schema};

const PINNED_INDEX: &str = "memories_live_namespace_layer";

fn tenant() -> TenantId {
    TenantId::default_tenant()
}

fn key(k: &str) -> NamespaceKey {
    NamespaceKey::new(k).unwrap()
}

/// A migrated in-memory database (no `ANALYZE` statistics, as in production).
fn database() -> Connection {
    let mut conn = Connection::open_in_memory().unwrap();
    schema::configure_writer(&conn, None, std::time::Duration::from_secs(5)).unwrap();
    schema::migrate(&mut conn).unwrap();
    conn
}

/// The filter of the engine's pinned lookup.
fn pinned_filter(keys: &[&str]) -> MemoryFilter {
    let mut filter = MemoryFilter::default();
    filter.namespaces = Some(keys.iter().map(|k| key(k)).collect());
    filter.layers = Some(vec![Layer::Identity, Layer::Procedural]);
    filter.exclude_superseded = true;
    filter
}

/// The `detail` lines of `EXPLAIN QUERY PLAN`.
fn plan(conn: &Connection, sql: &str, args: &[Value]) -> Vec<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3)).unwrap();
    rows.collect::<rusqlite::Result<_>>().unwrap()
}

fn assert_searches_the_pinned_index(plan: &[String]) {
    assert!(
        plan.iter().any(|line| line.starts_with("SEARCH memories USING INDEX memories_live_namespace_layer (")
            && line.contains("namespace=? AND layer=?")),
        "the pinned lookup should search {PINNED_INDEX} by namespace and layer: {plan:#?}"
    );
    assert!(!plan.iter().any(|line| line.contains("SCAN memories")), "the pinned lookup scans memories: {plan:#?}");
}

#[test]
fn pinned_lookups_search_the_live_layer_index() {
    let conn = database();
    let filter = pinned_filter(&["default", "team.alpha", "user.alice"]);
    let cursor = memory_core::MemoryId::new_v7().to_string();
    for page in [PageRequest::first(1000), PageRequest::after(cursor, 1000)] {
        let (sql, args) = list_statement(&tenant(), &filter, &page).unwrap();
        let plan = plan(&conn, &sql, &args);
        assert_searches_the_pinned_index(&plan);
        assert!(plan.iter().any(|line| line.contains("id>?")), "the cursor should bound the search: {plan:#?}");
    }
    let (sql, args) = count_statement(&tenant(), &filter).unwrap();
    assert_searches_the_pinned_index(&plan(&conn, &sql, &args));
}

#[test]
fn pinned_lookups_read_only_the_pinned_memories() {
    let conn = database();
    let at = Timestamp::from_micros(1_778_198_400_000_000);
    for k in ["default", "team.alpha"] {
        namespaces::create(&conn, &Namespace::new(tenant(), key(k), NamespaceKind::Explicit, at)).unwrap();
    }
    // 4,000 ordinary memories around 8 pinned ones (two of them superseded).
    let mut batch = Vec::new();
    for i in 0..4000 {
        let (k, layer) = if i % 2 == 0 { ("default", Layer::Semantic) } else { ("team.alpha", Layer::Episodic) };
        batch.push(NewMemory::new(key(k), layer, format!("ordinary {i}"), at));
    }
    for i in 0..8 {
        let layer = if i % 2 == 0 { Layer::Identity } else { Layer::Procedural };
        let mut m = NewMemory::new(key(if i < 4 { "default" } else { "team.alpha" }), layer, format!("pinned {i}"), at);
        if i >= 6 {
            m.superseded_by = Some(memory_core::MemoryId::new_v7());
        }
        batch.push(m);
    }
    put(&conn, &tenant(), batch).unwrap();

    let (sql, args) =
        list_statement(&tenant(), &pinned_filter(&["default", "team.alpha"]), &PageRequest::first(1000)).unwrap();
    let mut stmt = conn.prepare(&sql).unwrap();
    let contents: Vec<String> = stmt
        .query_map(rusqlite::params_from_iter(&args), |r| r.get(4))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(contents.len(), 6, "{contents:?}");
    assert!(contents.iter().all(|c| c.starts_with("pinned")));
    assert_eq!(stmt.get_status(StatementStatus::FullscanStep), 0, "no full-scan steps");
    // Reading each of the 4,000 ordinary rows would take several VM steps apiece.
    let steps = stmt.get_status(StatementStatus::VmStep);
    assert!(steps < 1000, "the pinned lookup took {steps} VM steps");
}

/// An export lists one namespace at a time: that must search the `(tenant, namespace, id)`
/// index in id order, never walk the tenant's memories (it cost 11 ms per namespace).
#[test]
fn a_one_namespace_listing_searches_by_namespace_in_id_order() {
    let conn = database();
    let filter = MemoryFilter::namespace(key("team.alpha"));
    let cursor = memory_core::MemoryId::new_v7().to_string();
    for page in [PageRequest::first(1000), PageRequest::after(cursor, 1000)] {
        let (sql, args) = list_statement(&tenant(), &filter, &page).unwrap();
        let plan = plan(&conn, &sql, &args);
        assert!(
            plan.iter().any(|l| l.starts_with("SEARCH memories USING INDEX memories_tenant_namespace_id (")
                && l.contains("namespace=?")),
            "{plan:#?}"
        );
        assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "no sort: {plan:#?}");
    }
}

/// A cached listing runs again with other lists of namespaces and layers without being
/// prepared again (`configure_common`: the query planner's stability guarantee).
#[test]
fn a_cached_listing_is_not_prepared_again_for_other_values() {
    let conn = database();
    let mut sql = String::new();
    for keys in [&["default", "a"][..], &["b", "c", "d"], &["e", "f"]] {
        let (text, args) = list_statement(&tenant(), &pinned_filter(keys), &PageRequest::first(100)).unwrap();
        let mut stmt = conn.prepare_cached(&text).unwrap();
        let rows = stmt.query_map(rusqlite::params_from_iter(&args), |_| Ok(())).unwrap().count();
        assert_eq!(rows, 0);
        assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0, "prepared again for {keys:?}");
        sql = text;
    }
    assert!(sql.contains("json_each"), "the listing takes its lists as JSON: {sql}");
}
