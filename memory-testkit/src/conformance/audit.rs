//! Checks of the append-only audit log.

use memory_core::{AuditFilter, AuditOp, AuditOutcome, AuditRecord, ErrorKind, PageRequest, Store};

use crate::fixtures::*;

async fn all_audit(store: &dyn Store, filter: &AuditFilter, limit: usize) -> Vec<AuditRecord> {
    collect_pages(limit, move |page| Box::pin(async move { store.list_audit(&tenant(), filter, &page).await })).await
}

/// An appended record is listed exactly as given.
pub async fn check_append_audit_then_list_returns_it(store: &dyn Store) {
    let mut record = audit_record(&tenant(), AuditOp::MemoryRemember);
    record.namespace = Some(ns("research"));
    record.key_id = Some(key_id());
    record.outcome = AuditOutcome::Denied;
    record.detail = memory_core::AuditDetail::from([
        ("reason".to_owned(), serde_json::json!("policy said no")),
        ("ids".to_owned(), serde_json::json!(["a", "b"])),
    ]);
    record.at = at(7);
    record.origin =
        Some(memory_core::AuditOrigin { import: audit_id(), tenant: "elsewhere".to_owned(), exported_at: at(6) });
    store.append_audit(record.clone()).await.unwrap();
    assert_eq!(all_audit(store, &AuditFilter::default(), 10).await, [record]);
}

/// Appending a record whose id is taken is `AlreadyExists`; the first record stays.
pub async fn check_append_audit_with_a_taken_id_is_already_exists(store: &dyn Store) {
    let first = audit_record(&tenant(), AuditOp::MemoryRemember);
    store.append_audit(first.clone()).await.unwrap();
    let mut again = first.clone();
    again.operation = AuditOp::MemoryForget;
    expect_err(store.append_audit(again).await, ErrorKind::AlreadyExists, "append with a taken id");
    assert_eq!(all_audit(store, &AuditFilter::default(), 10).await, [first]);
}

/// Every set field of an `AuditFilter` must match: namespace, principal, operation, outcome.
pub async fn check_list_audit_applies_every_filter(store: &dyn Store) {
    let mut records = Vec::new();
    for (i, (namespace, who, operation, outcome)) in [
        (Some("a"), "alice", AuditOp::MemoryRemember, AuditOutcome::Ok),
        (Some("b"), "bob", AuditOp::MemoryRemember, AuditOutcome::Denied),
        (None, "alice", AuditOp::MemoryRecall, AuditOutcome::Ok),
        (Some("a"), "bob", AuditOp::MemoryRecall, AuditOutcome::Failed),
    ]
    .into_iter()
    .enumerate()
    {
        let mut record = audit_record(&tenant(), operation);
        record.namespace = namespace.map(ns);
        record.principal = Some(principal(who));
        record.outcome = outcome;
        record.at = at(i as i64);
        store.append_audit(record.clone()).await.unwrap();
        records.push(record);
    }
    let records = &records;
    let ops = |filter: AuditFilter| async move {
        let listed = all_audit(store, &filter, 10).await;
        listed.iter().map(|r| records.iter().position(|x| x == r).unwrap()).collect::<Vec<_>>()
    };
    let mut f = AuditFilter::default();
    f.namespace = Some(ns("a"));
    assert_eq!(ops(f).await, [0, 3]);
    let mut f = AuditFilter::default();
    f.principal = Some(principal("alice"));
    assert_eq!(ops(f).await, [0, 2]);
    let mut f = AuditFilter::default();
    f.operation = Some(AuditOp::MemoryRecall);
    assert_eq!(ops(f.clone()).await, [2, 3]);
    f.outcome = Some(AuditOutcome::Failed);
    assert_eq!(ops(f).await, [3]);
    let mut f = AuditFilter::default();
    f.outcome = Some(AuditOutcome::Denied);
    f.principal = Some(principal("alice"));
    assert!(ops(f).await.is_empty());
}

/// The log pages in id order (not in append order), every record once, at most `limit` a page.
pub async fn check_list_audit_pages_in_id_order(store: &dyn Store) {
    let mut records: Vec<AuditRecord> =
        (0..9).map(|i| audit_record(&tenant(), AuditOp::ALL[i % AuditOp::ALL.len()])).collect();
    for record in records.iter().rev() {
        store.append_audit(record.clone()).await.unwrap();
    }
    records.sort_by_key(|r| r.id);
    for limit in [1, 2, 4, 9] {
        assert_eq!(all_audit(store, &AuditFilter::default(), limit).await, records, "limit {limit}");
    }
    let first = store.list_audit(&tenant(), &AuditFilter::default(), &PageRequest::first(4)).await.unwrap();
    assert_eq!(first.items, records[..4]);
}

/// A record with a detail over [`memory_core::MAX_LONG_TEXT_BYTES`] is `InvalidInput` and not
/// stored.
pub async fn check_append_invalid_audit_is_invalid_input(store: &dyn Store) {
    let mut empty = audit_record(&tenant(), AuditOp::MemoryRemember);
    empty.detail.insert("blob".to_owned(), serde_json::json!("x".repeat(memory_core::MAX_LONG_TEXT_BYTES)));
    expect_err(store.append_audit(empty).await, ErrorKind::InvalidInput, "oversized detail");
    assert!(all_audit(store, &AuditFilter::default(), 10).await.is_empty());
}
