//! Checks of the review queue: create, get, list, decide.

use memory_core::{Decision, ErrorKind, PageRequest, Proposal, ProposalFilter, ProposalStatus, Store};

use crate::fixtures::*;

async fn all_proposals(store: &dyn Store, filter: &ProposalFilter, limit: usize) -> Vec<Proposal> {
    collect_pages(limit, move |page| Box::pin(async move { store.list_proposals(&tenant(), filter, &page).await }))
        .await
}

/// A created proposal is returned as given by `get_proposal`.
pub async fn check_create_proposal_then_get_returns_it(store: &dyn Store) {
    let mut p = proposal(&tenant(), "self", "Alice is a vegetarian");
    p.source_memory_ids = vec![memory_id(), memory_id()];
    store.create_proposal(p.clone()).await.unwrap();
    assert_eq!(store.get_proposal(&tenant(), p.id).await.unwrap(), Some(p));
}

/// `get_proposal` of a missing id is `Ok(None)`.
pub async fn check_get_missing_proposal_is_none(store: &dyn Store) {
    assert_eq!(store.get_proposal(&tenant(), proposal_id()).await.unwrap(), None);
}

/// A proposal whose id is taken is `AlreadyExists`; the first one stays.
pub async fn check_create_proposal_with_a_taken_id_is_already_exists(store: &dyn Store) {
    let first = proposal(&tenant(), "self", "first");
    store.create_proposal(first.clone()).await.unwrap();
    let mut again = proposal(&tenant(), "self", "second");
    again.id = first.id;
    expect_err(store.create_proposal(again).await, ErrorKind::AlreadyExists, "proposal with a taken id");
    assert_eq!(store.get_proposal(&tenant(), first.id).await.unwrap(), Some(first));
}

/// A proposal that is not pending or has blank content is `InvalidInput` and is not stored.
pub async fn check_invalid_proposal_is_invalid_input(store: &dyn Store) {
    let mut decided = proposal(&tenant(), "self", "approved already");
    decided.status = ProposalStatus::Approved;
    let blank = proposal(&tenant(), "self", " \n ");
    for p in [decided, blank] {
        let id = p.id;
        expect_err(store.create_proposal(p).await, ErrorKind::InvalidInput, "invalid proposal");
        assert_eq!(store.get_proposal(&tenant(), id).await.unwrap(), None);
    }
}

/// Deciding a pending proposal sets status, `decided_at` and `decided_by`, and returns it.
pub async fn check_decide_proposal_records_the_decision(store: &dyn Store) {
    for (decision, status) in
        [(Decision::Approve, ProposalStatus::Approved), (Decision::Reject, ProposalStatus::Rejected)]
    {
        let p = proposal(&tenant(), "self", "to review");
        store.create_proposal(p.clone()).await.unwrap();
        let decided = store.decide_proposal(&tenant(), p.id, decision, principal("reviewer"), at(4)).await.unwrap();
        let mut expected = p;
        expected.status = status;
        expected.decided_at = Some(at(4));
        expected.decided_by = Some(principal("reviewer"));
        assert_eq!(decided, expected);
        assert_eq!(store.get_proposal(&tenant(), expected.id).await.unwrap(), Some(expected));
    }
}

/// Deciding a decided proposal is `Conflict` and keeps the first decision.
pub async fn check_deciding_twice_is_conflict(store: &dyn Store) {
    let p = proposal(&tenant(), "self", "to review");
    store.create_proposal(p.clone()).await.unwrap();
    let first = store.decide_proposal(&tenant(), p.id, Decision::Approve, principal("ann"), at(1)).await.unwrap();
    expect_err(
        store.decide_proposal(&tenant(), p.id, Decision::Reject, principal("bob"), at(2)).await,
        ErrorKind::Conflict,
        "second decision",
    );
    assert_eq!(store.get_proposal(&tenant(), p.id).await.unwrap(), Some(first));
}

/// Deciding a missing proposal is `NotFound`.
pub async fn check_decide_missing_proposal_is_not_found(store: &dyn Store) {
    expect_err(
        store.decide_proposal(&tenant(), proposal_id(), Decision::Approve, principal("ann"), at(1)).await,
        ErrorKind::NotFound,
        "decide missing",
    );
}

/// `list_proposals` filters by namespace and status and pages in id order.
pub async fn check_list_proposals_filters_and_pages(store: &dyn Store) {
    let mut all = Vec::new();
    for (i, key) in ["self", "team", "self", "self", "team"].into_iter().enumerate() {
        let p = proposal(&tenant(), key, &format!("proposal {i}"));
        store.create_proposal(p.clone()).await.unwrap();
        all.push(p);
    }
    all[2] = store.decide_proposal(&tenant(), all[2].id, Decision::Reject, principal("ann"), at(1)).await.unwrap();
    for limit in [1, 2, 5] {
        assert_eq!(all_proposals(store, &ProposalFilter::default(), limit).await, all, "limit {limit}");
    }
    let mut f = ProposalFilter::default();
    f.namespace = Some(ns("self"));
    let expected: Vec<_> = [0, 2, 3].map(|i| all[i].clone()).into();
    assert_eq!(all_proposals(store, &f, 2).await, expected);
    f.status = Some(ProposalStatus::Pending);
    let expected: Vec<_> = [0, 3].map(|i| all[i].clone()).into();
    assert_eq!(all_proposals(store, &f, 1).await, expected);
    let mut f = ProposalFilter::default();
    f.status = Some(ProposalStatus::Rejected);
    assert_eq!(all_proposals(store, &f, 10).await, [all[2].clone()]);
    let first = store.list_proposals(&tenant(), &ProposalFilter::default(), &PageRequest::first(2)).await.unwrap();
    assert_eq!(first.items, all[..2]);
}
