//! A scripted tour of every `Store` method, run against the reference store and both SQLite
//! variants: every result must be equal, and every error must have the same kind and message
//! (so the checks run in the same order). The randomized model test covers more ground; this
//! one pins the tricky cases by name.

use std::sync::Arc;

use memory_core::{
    AuditFilter, AuditOp, AuditOutcome, Decision, InMemoryStore, KeyHash, KeyScope, Layer, MemoryFilter, MemoryPatch,
    Namespace, NamespaceFilter, NamespaceKind, NamespacePatch, NamespaceStatus, NamespaceTouch, NewMemory, Outcome,
    PageRequest, Permission, Principal, ProposalFilter, ProposalStatus, Result, Store, Timestamp,
};
use memory_store_sqlite::SqliteStore;

use crate::support::*;

fn compare<T: PartialEq + std::fmt::Debug>(results: &[Result<T>], what: &str) {
    let (first, rest) = results.split_first().unwrap();
    for (i, other) in rest.iter().enumerate() {
        match (first, other) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "store {} differs on {what}", i + 1),
            (Err(a), Err(b)) => assert_eq!(
                (a.kind(), a.message()),
                (b.kind(), b.message()),
                "store {} fails differently on {what}",
                i + 1
            ),
            (a, b) => panic!("store {} differs on {what}: reference {a:?}, got {b:?}", i + 1),
        }
    }
}

/// Runs one call on every store, checks they agree, and returns the reference's result.
macro_rules! same {
    ($stores:expr, |$s:ident| $call:expr) => {{
        let mut results = Vec::new();
        for store in $stores.iter() {
            let $s: &dyn Store = &**store;
            results.push($call.await);
        }
        compare(&results, stringify!($call));
        results.into_iter().next().unwrap()
    }};
}

#[tokio::test]
async fn every_method_agrees_with_the_reference() {
    let (_guard_store, dir) = temp_store();
    drop(_guard_store);
    let stores: Vec<Arc<dyn Store>> = vec![
        Arc::new(InMemoryStore::new()),
        Arc::new(SqliteStore::open_in_memory().unwrap()),
        Arc::new(SqliteStore::open(dir.path()).unwrap()),
    ];
    let t = tenant();
    let o = other_tenant();

    // ---- namespaces
    for key in ["default", "team.alpha", "archive-me", "doomed", "ÄÖ-項目"] {
        same!(stores, |s| s.create_namespace(Namespace::new(t.clone(), ns(key), NamespaceKind::Explicit, BASE)))
            .unwrap();
    }
    same!(stores, |s| s.create_namespace(Namespace::new(o.clone(), ns("default"), NamespaceKind::Default, BASE)))
        .unwrap();
    same!(stores, |s| s.create_namespace(Namespace::new(t.clone(), ns("default"), NamespaceKind::Default, BASE)))
        .unwrap_err();
    let mut invalid = Namespace::new(t.clone(), ns("default"), NamespaceKind::Default, BASE);
    invalid.display_name = " ".into();
    same!(stores, |s| s.create_namespace(invalid.clone())).unwrap_err();
    same!(stores, |s| s.get_namespace(&t, &ns("team.alpha"))).unwrap();
    same!(stores, |s| s.get_namespace(&o, &ns("team.alpha"))).unwrap();
    let mut patch = NamespacePatch::default();
    patch.display_name = Some("Team Alpha".into());
    patch.team = Some(Some("alpha".into()));
    patch.retention_days = Some(Some(30));
    same!(stores, |s| s.update_namespace(&t, &ns("team.alpha"), &patch, at(5))).unwrap();
    let mut bad_patch = NamespacePatch::default();
    bad_patch.retention_days = Some(Some(0));
    same!(stores, |s| s.update_namespace(&t, &ns("team.alpha"), &bad_patch, at(6))).unwrap_err();
    same!(stores, |s| s.update_namespace(&t, &ns("missing"), &bad_patch, at(6))).unwrap_err();
    same!(stores, |s| s.touch_namespace(&t, &ns("team.alpha"), NamespaceTouch::Read, at(7))).unwrap();
    same!(stores, |s| s.touch_namespace(&t, &ns("team.alpha"), NamespaceTouch::Maintenance, at(8))).unwrap();
    same!(stores, |s| s.touch_namespace(&o, &ns("team.alpha"), NamespaceTouch::Read, at(8))).unwrap_err();
    assert!(same!(stores, |s| s.archive_namespace(&t, &ns("archive-me"), at(9))).unwrap());
    assert!(!same!(stores, |s| s.archive_namespace(&t, &ns("archive-me"), at(9))).unwrap());

    // ---- puts: dedupe inside the batch and against stored memories, ids, namespaces
    let batch = vec![
        memory("default", "Alice prefers Python", 1),
        memory("default", "  Alice   prefers Python ", 2),
        memory("team.alpha", "Alice prefers Python", 3),
        memory("default", "Bob likes tea", 4),
    ];
    same!(stores, |s| s.put_memories(&t, batch.clone())).unwrap();
    same!(stores, |s| s.put_memories(&t, vec![memory("default", "Bob  likes tea", 5), memory("default", "new", 6)]))
        .unwrap();
    same!(stores, |s| s.put_memories(&t, vec![])).unwrap();
    // A repeated id whose content dedupes is not an error; an id taken in the tenant is, and
    // another tenant's id is free (ids are scoped by tenant).
    same!(stores, |s| s.put_memories(&t, vec![memory("default", "Alice prefers Python", 1)])).unwrap();
    same!(stores, |s| s.put_memories(&t, vec![memory("default", "taken here", 1)])).unwrap_err();
    same!(stores, |s| s.put_memories(&o, vec![memory("default", "other tenant", 1)])).unwrap();
    same!(stores, |s| s.taken_memory_ids(&o, &[id(4), id(1), id(99)])).unwrap();
    same!(stores, |s| s.put_memories(&t, vec![memory("default", "x", 7), memory("default", "y", 7)])).unwrap_err();
    // Check order: invalid input, then namespaces, then ids.
    let empty = memory("default", "   ", 8);
    same!(stores, |s| s.put_memories(&t, vec![memory("missing", "a", 9), empty.clone()])).unwrap_err();
    same!(stores, |s| s.put_memories(&t, vec![memory("default", "taken", 1), memory("missing", "a", 9)])).unwrap_err();
    same!(stores, |s| s.put_memories(&t, vec![memory("default", "z", 10), memory("archive-me", "a", 11)])).unwrap_err();
    let working = NewMemory::new(ns("default"), Layer::Working, "todo", at(12)).with_id(id(12));
    same!(stores, |s| s.put_memories(&t, vec![working.clone()])).unwrap_err();
    same!(stores, |s| s.put_memories(&t, vec![working.clone().expiring_at(at(100))])).unwrap();
    let mut episodic = NewMemory::new(ns("ÄÖ-項目"), Layer::Episodic, "met Carol", at(13)).with_id(id(13));
    episodic.metadata.insert("score".into(), serde_json::json!(0.1 + 0.2));
    episodic.metadata.insert("tags".into(), serde_json::json!(["a", {"b": null}]));
    episodic.provenance.principal = Some(Principal::new("agent-7").unwrap());
    episodic.supersedes = Some(id(3));
    same!(stores, |s| s.put_memories(&t, vec![episodic.clone()])).unwrap();
    for n in 20..45 {
        let m = memory(if n % 3 == 0 { "team.alpha" } else { "default" }, &format!("fact {n}"), n);
        same!(stores, |s| s.put_memories(&t, vec![m.clone()])).unwrap();
    }

    // ---- reads
    same!(stores, |s| s.get_memory(&t, id(1))).unwrap();
    same!(stores, |s| s.get_memory(&o, id(1))).unwrap();
    same!(stores, |s| s.get_memories(&t, &[id(4), id(1), id(4), id(99), id(13)])).unwrap();
    let mut filters = vec![MemoryFilter::all(), MemoryFilter::namespace(ns("team.alpha"))];
    let mut f = MemoryFilter::all();
    f.namespaces = Some(vec![]);
    filters.push(f);
    let mut f = MemoryFilter::all();
    f.layers = Some(vec![Layer::Episodic, Layer::Working]);
    filters.push(f);
    let mut f = MemoryFilter::all();
    f.created_from = Some(at(25));
    f.created_before = Some(at(30));
    f.category = Some(memory_core::Category::fact());
    filters.push(f);
    for filter in &filters {
        same!(stores, |s| s.count_memories(&t, filter)).unwrap();
        let mut cursor = None;
        loop {
            let page = PageRequest { cursor: cursor.clone(), limit: 7 };
            let page = same!(stores, |s| s.list_memories(&t, filter, &page)).unwrap();
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    same!(stores, |s| s.list_memories(&t, &MemoryFilter::all(), &PageRequest::after("nope", 5))).unwrap_err();
    same!(stores, |s| s.list_memories(&t, &MemoryFilter::all(), &PageRequest::after("nope", 0))).unwrap_err();
    same!(stores, |s| s.list_memories(&t, &MemoryFilter::all(), &PageRequest::first(1001))).unwrap_err();

    // ---- updates and deletes
    let mut p = MemoryPatch::default();
    p.content = Some(" Bob likes green tea ".into());
    same!(stores, |s| s.update_memory(&t, id(4), &p, at(50))).unwrap();
    p.content = Some("new".into());
    same!(stores, |s| s.update_memory(&t, id(4), &p, at(51))).unwrap_err();
    let mut p = MemoryPatch::default();
    p.layer = Some(Layer::Working);
    same!(stores, |s| s.update_memory(&t, id(4), &p, at(52))).unwrap_err();
    same!(stores, |s| s.update_memory(&o, id(4), &p, at(52))).unwrap_err();
    let mut p = MemoryPatch::default();
    p.superseded_by = Some(Some(id(13)));
    p.metadata = Some([("k".to_owned(), serde_json::json!(1))].into());
    same!(stores, |s| s.update_memory(&t, id(4), &p, Timestamp::from_micros(0))).unwrap();
    assert!(same!(stores, |s| s.delete_memory(&t, id(6), at(53))).unwrap());
    assert!(!same!(stores, |s| s.delete_memory(&t, id(6), at(54))).unwrap());
    same!(stores, |s| s.delete_memory(&o, id(6), at(54))).unwrap_err();
    same!(stores, |s| s.delete_memory(&t, id(999), at(54))).unwrap_err();
    same!(stores, |s| s.update_memory(&t, id(6), &p, at(55))).unwrap_err();
    // The content of a tombstoned memory is free again.
    same!(stores, |s| s.put_memories(&t, vec![memory("default", "new", 60)])).unwrap();

    // ---- usage statistics
    same!(stores, |s| s.record_outcomes(&t, &[id(1), id(1), id(3)], Outcome::Helpful, at(65))).unwrap();
    // A month later (utility has decayed), then a late report from before the last one.
    same!(stores, |s| s.record_outcomes(&t, &[id(3)], Outcome::Reward(-0.3), at(65).plus_days(30))).unwrap();
    same!(stores, |s| s.record_outcomes(&t, &[id(3)], Outcome::Reward(0.6), at(66))).unwrap();
    same!(stores, |s| s.record_outcomes(&t, &[id(1), id(6)], Outcome::Unhelpful, at(67))).unwrap_err();
    same!(stores, |s| s.record_outcomes(&t, &[id(6)], Outcome::Reward(3.0), at(67))).unwrap_err();
    same!(stores, |s| s.record_outcomes(&t, &[id(1)], Outcome::Helpful, Timestamp::MAX.plus_micros(1))).unwrap_err();
    same!(stores, |s| s.record_access(&t, &[id(1), id(6), id(1), id(99), id(3)], at(70))).unwrap();
    same!(stores, |s| s.get_memories(&t, &[id(1), id(3), id(2)])).unwrap();

    // ---- namespace deletion, change feed, purge
    same!(stores, |s| s.put_memories(&t, vec![memory("doomed", "d1", 80), memory("doomed", "d2", 81)])).unwrap();
    assert!(same!(stores, |s| s.delete_namespace(&t, &ns("doomed"), at(82))).unwrap());
    assert!(!same!(stores, |s| s.delete_namespace(&t, &ns("doomed"), at(83))).unwrap());
    same!(stores, |s| s.archive_namespace(&t, &ns("doomed"), at(83))).unwrap_err();
    same!(stores, |s| s.create_namespace(Namespace::new(t.clone(), ns("doomed"), NamespaceKind::Explicit, BASE)))
        .unwrap_err();
    for status in [None, Some(NamespaceStatus::Deleted), Some(NamespaceStatus::Archived)] {
        let mut filter = NamespaceFilter::default();
        filter.status = status;
        same!(stores, |s| s.list_namespaces(&t, &filter)).unwrap();
    }
    let mut filter = NamespaceFilter::default();
    filter.team = Some("alpha".into());
    same!(stores, |s| s.list_namespaces(&t, &filter)).unwrap();
    let mut after = 0;
    loop {
        let changes = same!(stores, |s| s.changes_since(&t, after, 9)).unwrap();
        match changes.last() {
            Some(m) => after = m.seq,
            None => break,
        }
    }
    same!(stores, |s| s.changes_since(&t, 0, 0)).unwrap_err();
    same!(stores, |s| s.changes_since(&t, u64::MAX, 5)).unwrap();
    same!(stores, |s| s.purge(&t, at(53))).unwrap();
    same!(stores, |s| s.purge(&t, at(100))).unwrap();
    same!(stores, |s| s.changes_since(&t, 0, 1000)).unwrap();
    same!(stores, |s| s.create_namespace(Namespace::new(t.clone(), ns("doomed"), NamespaceKind::Explicit, BASE)))
        .unwrap();
    assert!(same!(stores, |s| s.restore_namespace(&t, &ns("archive-me"), at(90))).unwrap());
    same!(stores, |s| s.put_memories(&t, vec![memory("archive-me", "back", 91)])).unwrap();
    same!(stores, |s| s.changes_since(&t, 0, 1000)).unwrap();

    // ---- audit
    for n in 0..12u128 {
        let mut r = audit(
            if n % 4 == 0 { &o } else { &t },
            1000 + n,
            if n % 2 == 0 { AuditOp::MemoryRemember } else { AuditOp::Export },
        );
        if n % 3 == 0 {
            r.outcome = AuditOutcome::Denied;
            r.namespace = None;
        }
        same!(stores, |s| s.append_audit(r.clone())).unwrap();
    }
    same!(stores, |s| s.append_audit(audit(&o, 1000, AuditOp::Import))).unwrap_err();
    same!(stores, |s| s.append_audit(audit(&o, 1001, AuditOp::Import))).unwrap();
    let mut filters = vec![AuditFilter::default()];
    let mut f = AuditFilter::default();
    f.operation = Some(AuditOp::MemoryRemember);
    filters.push(f);
    let mut f = AuditFilter::default();
    f.namespace = Some(ns("default"));
    f.outcome = Some(AuditOutcome::Ok);
    filters.push(f);
    for filter in &filters {
        let mut cursor = None;
        loop {
            let page = PageRequest { cursor: cursor.clone(), limit: 2 };
            let page = same!(stores, |s| s.list_audit(&t, filter, &page)).unwrap();
            cursor = page.next_cursor;
            if cursor.is_none() {
                break;
            }
        }
    }

    // ---- API keys
    same!(stores, |s| s.create_api_key(api_key(&t, 2000, "s1"))).unwrap();
    same!(stores, |s| s.create_api_key(api_key(&o, 2001, "s2"))).unwrap();
    same!(stores, |s| s.create_api_key(api_key(&o, 2002, "s1"))).unwrap_err();
    same!(stores, |s| s.create_api_key(api_key(&o, 2000, "s3"))).unwrap_err();
    let mut bad = api_key(&t, 2003, "s4");
    bad.label = String::new();
    same!(stores, |s| s.create_api_key(bad.clone())).unwrap_err();
    same!(stores, |s| s.find_api_key(&KeyHash::of_secret("s2"))).unwrap();
    same!(stores, |s| s.get_api_key(&t, api_key(&t, 2001, "").id)).unwrap();
    same!(stores, |s| s.list_api_keys(&o)).unwrap();
    let scopes = vec![KeyScope { namespace: ns("default"), permission: Permission::Read }];
    let twice = vec![scopes[0].clone(), scopes[0].clone()];
    let kid = api_key(&t, 2000, "").id;
    same!(stores, |s| s.update_api_key_scopes(&t, kid, scopes.clone(), Some(ns("default")), at(3))).unwrap();
    same!(stores, |s| s.update_api_key_scopes(&o, kid, twice.clone(), None, at(3))).unwrap_err();
    same!(stores, |s| s.update_api_key_scopes(&o, kid, scopes.clone(), None, at(3))).unwrap_err();
    assert!(same!(stores, |s| s.revoke_api_key(&t, kid, at(4))).unwrap());
    assert!(!same!(stores, |s| s.revoke_api_key(&t, kid, at(5))).unwrap());
    same!(stores, |s| s.update_api_key_scopes(&t, kid, scopes.clone(), None, at(3))).unwrap_err();
    same!(stores, |s| s.find_api_key(&KeyHash::of_secret("s1"))).unwrap();
    same!(stores, |s| s.list_api_keys(&t)).unwrap();

    // ---- proposals
    for n in 0..5u128 {
        same!(stores, |s| s.create_proposal(proposal(&t, 3000 + n, &format!("I am {n}")))).unwrap();
    }
    same!(stores, |s| s.create_proposal(proposal(&t, 3000, "dup"))).unwrap_err();
    same!(stores, |s| s.create_proposal(proposal(&o, 3000, "the same id in another tenant"))).unwrap();
    same!(stores, |s| s.create_proposal(proposal(&o, 3000, " "))).unwrap_err();
    let pid = proposal(&t, 3001, "").id;
    same!(stores, |s| s.decide_proposal(&t, pid, Decision::Approve, Principal::new("bob").unwrap(), at(9))).unwrap();
    same!(stores, |s| s.decide_proposal(&t, pid, Decision::Reject, Principal::new("bob").unwrap(), at(9))).unwrap_err();
    same!(stores, |s| s.decide_proposal(&o, pid, Decision::Reject, Principal::new("bob").unwrap(), at(9))).unwrap_err();
    same!(stores, |s| s.get_proposal(&t, pid)).unwrap();
    same!(stores, |s| s.get_proposal(&o, proposal(&o, 3000, "").id)).unwrap();
    let mut f = ProposalFilter::default();
    f.status = Some(ProposalStatus::Pending);
    same!(stores, |s| s.list_proposals(&t, &f, &PageRequest::first(2))).unwrap();
    same!(stores, |s| s.list_proposals(&t, &ProposalFilter::default(), &PageRequest::first(100))).unwrap();
}
