//! Checks of usage statistics: outcomes, accesses, and that neither advances the change
//! sequence.

use memory_core::{ErrorKind, Outcome, Store, UsageStats};

use crate::fixtures::*;

/// Evidence bumps, outcomes and accesses change statistics but never `seq`: the change feed
/// stays empty after them.
pub async fn check_usage_statistics_do_not_advance_seq(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["used", "also used"]).await;
    let seq_before = latest_seq(store, &tenant()).await;
    let stored_seq = live(store, &tenant(), ids[0]).await.seq;
    store.record_outcomes(&tenant(), &ids, Outcome::Helpful).await.unwrap();
    store.record_access(&tenant(), &ids, at(5)).await.unwrap();
    store.put_memories(&tenant(), vec![new_memory("research", "used")]).await.unwrap();
    let after = live(store, &tenant(), ids[0]).await;
    assert_eq!((after.stats.evidence_count, after.stats.access_count, after.stats.helpful_count), (2, 1, 1));
    assert_eq!(after.seq, stored_seq);
    assert!(store.changes_since(&tenant(), seq_before, 10).await.unwrap().is_empty());
}

/// `record_outcomes` applies the outcome to each listed id as `UsageStats::apply_outcome`
/// does, an id listed twice twice.
pub async fn check_record_outcomes_applies_each_listed_id(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["twice", "once"]).await;
    store.record_outcomes(&tenant(), &[ids[0], ids[1], ids[0]], Outcome::Helpful).await.unwrap();
    store.record_outcomes(&tenant(), &[ids[1]], Outcome::Unhelpful).await.unwrap();
    store.record_outcomes(&tenant(), &[ids[1]], Outcome::Reward(0.25)).await.unwrap();
    store.record_outcomes(&tenant(), &[], Outcome::Unhelpful).await.unwrap();
    let mut twice = UsageStats::default();
    twice.apply_outcome(Outcome::Helpful).unwrap();
    twice.apply_outcome(Outcome::Helpful).unwrap();
    let mut once = UsageStats::default();
    for outcome in [Outcome::Helpful, Outcome::Unhelpful, Outcome::Reward(0.25)] {
        once.apply_outcome(outcome).unwrap();
    }
    assert_eq!(live(store, &tenant(), ids[0]).await.stats, twice);
    assert_eq!(live(store, &tenant(), ids[1]).await.stats, once);
}

/// An id that is missing or tombstoned makes `record_outcomes` fail with `NotFound`, and no
/// listed memory changes.
pub async fn check_record_outcomes_with_a_missing_id_changes_nothing(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["present", "tombstoned"]).await;
    store.delete_memory(&tenant(), ids[1], at(1)).await.unwrap();
    let before = live(store, &tenant(), ids[0]).await;
    let what = "outcome for a missing id";
    expect_err(
        store.record_outcomes(&tenant(), &[ids[0], memory_id()], Outcome::Helpful).await,
        ErrorKind::NotFound,
        what,
    );
    let what = "outcome for a tombstoned id";
    expect_err(store.record_outcomes(&tenant(), &[ids[0], ids[1]], Outcome::Helpful).await, ErrorKind::NotFound, what);
    assert_eq!(live(store, &tenant(), ids[0]).await, before);
}

/// A graded reward outside -1..=1 (or NaN) is `InvalidInput` and changes nothing; the bounds
/// themselves are accepted.
pub async fn check_record_outcomes_rejects_rewards_out_of_range(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "graded")).await;
    for reward in [1.01, -1.5, f64::NAN, f64::INFINITY] {
        let result = store.record_outcomes(&tenant(), &[id], Outcome::Reward(reward)).await;
        expect_err(result, ErrorKind::InvalidInput, &format!("reward {reward}"));
    }
    assert_eq!(live(store, &tenant(), id).await.stats, UsageStats::default());
    store.record_outcomes(&tenant(), &[id], Outcome::Reward(1.0)).await.unwrap();
    store.record_outcomes(&tenant(), &[id], Outcome::Reward(-1.0)).await.unwrap();
    let stats = live(store, &tenant(), id).await.stats;
    assert_eq!((stats.helpful_count, stats.unhelpful_count), (1, 1));
}

/// `record_access` counts one access and sets `last_accessed_at = at` on each live memory
/// listed, skips missing and tombstoned ids, and returns how many it updated.
pub async fn check_record_access_skips_missing_memories(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["recalled", "deleted meanwhile", "not recalled"]).await;
    store.delete_memory(&tenant(), ids[1], at(1)).await.unwrap();
    let updated = store.record_access(&tenant(), &[ids[0], memory_id(), ids[1]], at(9)).await.unwrap();
    assert_eq!(updated, 1);
    let recalled = live(store, &tenant(), ids[0]).await.stats;
    assert_eq!((recalled.access_count, recalled.last_accessed_at), (1, Some(at(9))));
    assert_eq!(live(store, &tenant(), ids[2]).await.stats, UsageStats::default());
    assert_eq!(store.record_access(&tenant(), &[], at(10)).await.unwrap(), 0);
}
