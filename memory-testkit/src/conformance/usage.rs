//! Checks of usage statistics: outcomes, accesses, and that neither advances the change
//! sequence.

use memory_core::{ErrorKind, Outcome, Store, Timestamp, UsageStats};

use crate::fixtures::*;

/// Evidence bumps, outcomes and accesses change statistics but never `seq`: the change feed
/// stays empty after them.
pub async fn check_usage_statistics_do_not_advance_seq(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["used", "also used"]).await;
    let seq_before = latest_seq(store, &tenant()).await;
    let stored_seq = live(store, &tenant(), ids[0]).await.seq;
    store.record_outcomes(&tenant(), &ids, Outcome::Helpful, at(4)).await.unwrap();
    store.record_access(&tenant(), &ids, at(5)).await.unwrap();
    store.put_memories(&tenant(), vec![new_memory("research", "used")]).await.unwrap();
    let after = live(store, &tenant(), ids[0]).await;
    assert_eq!((after.stats.evidence_count, after.stats.access_count, after.stats.helpful_count), (2, 1, 1));
    assert_eq!(after.seq, stored_seq);
    assert!(store.changes_since(&tenant(), seq_before, 10).await.unwrap().is_empty());
}

/// `record_outcomes` applies the outcome at `at` to each listed id as
/// `UsageStats::apply_outcome(outcome, at)` does, an id listed twice twice, and stores
/// `last_outcome_at`.
pub async fn check_record_outcomes_applies_each_listed_id(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let ids = put_contents(store, &tenant(), "research", &["twice", "once"]).await;
    store.record_outcomes(&tenant(), &[ids[0], ids[1], ids[0]], Outcome::Helpful, at(1)).await.unwrap();
    store.record_outcomes(&tenant(), &[ids[1]], Outcome::Unhelpful, at(2)).await.unwrap();
    store.record_outcomes(&tenant(), &[ids[1]], Outcome::Reward(0.25), at(3)).await.unwrap();
    store.record_outcomes(&tenant(), &[], Outcome::Unhelpful, at(4)).await.unwrap();
    let mut twice = UsageStats::default();
    twice.apply_outcome(Outcome::Helpful, at(1)).unwrap();
    twice.apply_outcome(Outcome::Helpful, at(1)).unwrap();
    let mut once = UsageStats::default();
    for (outcome, t) in [(Outcome::Helpful, at(1)), (Outcome::Unhelpful, at(2)), (Outcome::Reward(0.25), at(3))] {
        once.apply_outcome(outcome, t).unwrap();
    }
    let stored_twice = live(store, &tenant(), ids[0]).await.stats;
    let stored_once = live(store, &tenant(), ids[1]).await.stats;
    assert_eq!((stored_twice.last_outcome_at, stored_once.last_outcome_at), (Some(at(1)), Some(at(3))));
    assert_eq!(stored_twice, twice);
    assert_eq!(stored_once, once);
}

/// Between reports, utility decays toward neutral: a report 90 days (one half-life) after the
/// last one first halves the distance from 0.5, then moves 20% toward the reward. A late report
/// (timed before the last one) applies without decay and leaves `last_outcome_at` at the
/// latest time.
pub async fn check_record_outcomes_decays_utility_between_reports(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "decaying")).await;
    let t0 = at(10);
    let t90 = t0.plus_days(90);
    store.record_outcomes(&tenant(), &[id], Outcome::Helpful, t0).await.unwrap();
    let first = live(store, &tenant(), id).await.stats;
    assert_eq!(first.last_outcome_at, Some(t0), "last_outcome_at is stored");
    assert_eq!(first.utility, 0.5 + 0.2 * (1.0 - 0.5));

    store.record_outcomes(&tenant(), &[id], Outcome::Helpful, t90).await.unwrap();
    let second = live(store, &tenant(), id).await.stats;
    let decayed = 0.5 + (first.utility - 0.5) * 0.5;
    let formula = decayed + 0.2 * (1.0 - decayed);
    assert!((second.utility - formula).abs() < 1e-12, "utility {} should be {formula}", second.utility);
    let mut expected = first.clone();
    expected.apply_outcome(Outcome::Helpful, t90).unwrap();
    assert_eq!(second, expected);
    assert_eq!((second.last_outcome_at, second.helpful_count), (Some(t90), 2));

    store.record_outcomes(&tenant(), &[id], Outcome::Unhelpful, t0.plus_days(1)).await.unwrap();
    let late = live(store, &tenant(), id).await.stats;
    assert_eq!(late.utility, second.utility + 0.2 * (0.0 - second.utility), "a late report does not decay");
    assert_eq!(late.last_outcome_at, Some(t90), "last_outcome_at never moves back");
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
        store.record_outcomes(&tenant(), &[ids[0], memory_id()], Outcome::Helpful, at(2)).await,
        ErrorKind::NotFound,
        what,
    );
    let what = "outcome for a tombstoned id";
    expect_err(
        store.record_outcomes(&tenant(), &[ids[0], ids[1]], Outcome::Helpful, at(2)).await,
        ErrorKind::NotFound,
        what,
    );
    assert_eq!(live(store, &tenant(), ids[0]).await, before);
}

/// A graded reward outside -1..=1 (or NaN) is `InvalidInput` and changes nothing; the bounds
/// themselves are accepted.
pub async fn check_record_outcomes_rejects_rewards_out_of_range(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "graded")).await;
    for reward in [1.01, -1.5, f64::NAN, f64::INFINITY] {
        let result = store.record_outcomes(&tenant(), &[id], Outcome::Reward(reward), at(1)).await;
        expect_err(result, ErrorKind::InvalidInput, &format!("reward {reward}"));
    }
    assert_eq!(live(store, &tenant(), id).await.stats, UsageStats::default());
    store.record_outcomes(&tenant(), &[id], Outcome::Reward(1.0), at(1)).await.unwrap();
    store.record_outcomes(&tenant(), &[id], Outcome::Reward(-1.0), at(1)).await.unwrap();
    let stats = live(store, &tenant(), id).await.stats;
    assert_eq!((stats.helpful_count, stats.unhelpful_count), (1, 1));
}

/// A report time outside the accepted years (`Timestamp::MIN..=MAX`) is `InvalidInput`, even
/// next to a missing id, and changes nothing.
pub async fn check_record_outcomes_rejects_times_out_of_range(store: &dyn Store) {
    create_namespace(store, &tenant(), "research").await;
    let id = put(store, &tenant(), new_memory("research", "timed")).await;
    for t in [Timestamp::MAX.plus_micros(1), Timestamp::MIN.plus_micros(-1)] {
        let result = store.record_outcomes(&tenant(), &[id], Outcome::Helpful, t).await;
        expect_err(result, ErrorKind::InvalidInput, &format!("outcome at {}", t.as_micros()));
        let result = store.record_outcomes(&tenant(), &[id, memory_id()], Outcome::Helpful, t).await;
        expect_err(result, ErrorKind::InvalidInput, "bad time and a missing id");
    }
    assert_eq!(live(store, &tenant(), id).await.stats, UsageStats::default());
    store.record_outcomes(&tenant(), &[id], Outcome::Helpful, Timestamp::MAX).await.unwrap();
    assert_eq!(live(store, &tenant(), id).await.stats.last_outcome_at, Some(Timestamp::MAX));
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
