//! Checks of maintenance job locks and run records.

use memory_core::{ErrorKind, Job, JobStatus, MAX_SHORT_TEXT_BYTES, Store};

use crate::fixtures::*;

/// A free lock is taken (`Ok(true)`), on a namespace that need not exist; locks are per
/// job and namespace, so other pairs stay free.
pub async fn check_try_lock_job_takes_a_free_lock(store: &dyn Store) {
    let t = tenant();
    assert!(store.try_lock_job(&job_lock(&t, Job::Purge, "nowhere", "worker-1", 1, 60)).await.unwrap());
    assert!(store.try_lock_job(&job_lock(&t, Job::Expire, "nowhere", "worker-2", 1, 60)).await.unwrap());
    assert!(store.try_lock_job(&job_lock(&t, Job::Purge, "elsewhere", "worker-2", 1, 60)).await.unwrap());
    assert!(!store.try_lock_job(&job_lock(&t, Job::Purge, "nowhere", "worker-2", 2, 60)).await.unwrap());
}

/// The holder renews its lock with new times (`Ok(true)`): the lease then runs to the new
/// expiry, past the old one.
pub async fn check_try_lock_job_renews_for_its_holder(store: &dyn Store) {
    let t = tenant();
    assert!(store.try_lock_job(&job_lock(&t, Job::Consolidate, "research", "worker-1", 1, 10)).await.unwrap());
    assert!(store.try_lock_job(&job_lock(&t, Job::Consolidate, "research", "worker-1", 5, 30)).await.unwrap());
    let other = job_lock(&t, Job::Consolidate, "research", "worker-2", 20, 80);
    assert!(!store.try_lock_job(&other).await.unwrap(), "the renewed lease runs to its new expiry");
    assert!(store.try_lock_job(&job_lock(&t, Job::Consolidate, "research", "worker-2", 30, 80)).await.unwrap());
}

/// While another holder's lease runs, `try_lock_job` is `Ok(false)` and changes nothing: the
/// holder keeps the lock with its own lease.
pub async fn check_try_lock_job_refuses_another_holder_while_the_lease_runs(store: &dyn Store) {
    let t = tenant();
    assert!(store.try_lock_job(&job_lock(&t, Job::Index, "research", "worker-1", 1, 10)).await.unwrap());
    assert!(!store.try_lock_job(&job_lock(&t, Job::Index, "research", "worker-2", 2, 100)).await.unwrap());
    assert!(!store.try_lock_job(&job_lock(&t, Job::Index, "research", "worker-3", 9, 100)).await.unwrap());
    assert!(
        !store.unlock_job(&t, Job::Index, &ns("research"), "worker-2").await.unwrap(),
        "a refused holder did not take the lock"
    );
    let renew = job_lock(&t, Job::Index, "research", "worker-1", 3, 10);
    assert!(store.try_lock_job(&renew).await.unwrap(), "the holder still holds it");
    assert!(store.try_lock_job(&job_lock(&t, Job::Index, "research", "worker-3", 10, 20)).await.unwrap());
}

/// A lock whose `expires_at <= acquired_at` of the request is stale and taken over
/// (`Ok(true)`); the old holder has then lost it.
pub async fn check_try_lock_job_takes_over_a_stale_lock(store: &dyn Store) {
    let t = tenant();
    assert!(store.try_lock_job(&job_lock(&t, Job::Retention, "research", "crashed", 1, 10)).await.unwrap());
    assert!(!store.try_lock_job(&job_lock(&t, Job::Retention, "research", "worker-2", 9, 40)).await.unwrap());
    assert!(
        store.try_lock_job(&job_lock(&t, Job::Retention, "research", "worker-2", 10, 40)).await.unwrap(),
        "a lease that ends at the request's start is stale"
    );
    assert!(!store.try_lock_job(&job_lock(&t, Job::Retention, "research", "crashed", 11, 50)).await.unwrap());
    assert!(!store.unlock_job(&t, Job::Retention, &ns("research"), "crashed").await.unwrap());
    assert!(store.unlock_job(&t, Job::Retention, &ns("research"), "worker-2").await.unwrap());
}

/// A lock that fails [`memory_core::JobLock::validate`] (empty or too long holder, a lease
/// that does not end after it starts) is `InvalidInput` and changes nothing.
pub async fn check_try_lock_job_rejects_an_invalid_lock(store: &dyn Store) {
    let t = tenant();
    assert!(store.try_lock_job(&job_lock(&t, Job::Catalog, "research", "worker-1", 1, 10)).await.unwrap());
    let long = "w".repeat(MAX_SHORT_TEXT_BYTES + 1);
    let invalid = [
        job_lock(&t, Job::Catalog, "research", "", 2, 10),
        job_lock(&t, Job::Catalog, "research", "   ", 2, 10),
        job_lock(&t, Job::Catalog, "research", &long, 2, 10),
        job_lock(&t, Job::Catalog, "research", "worker-1", 5, 5),
        job_lock(&t, Job::Catalog, "research", "worker-1", 50, 40),
        job_lock(&t, Job::Catalog, "research", "worker-2", 50, 40),
    ];
    for lock in invalid {
        let what = format!("lock by {:?} from {} to {}", lock.holder, lock.acquired_at, lock.expires_at);
        expect_err(store.try_lock_job(&lock).await, ErrorKind::InvalidInput, &what);
    }
    assert!(
        store.try_lock_job(&job_lock(&t, Job::Catalog, "research", "worker-2", 10, 20)).await.unwrap(),
        "refused renewals did not extend the lease"
    );
}

/// `unlock_job` releases the lock only for its holder (`Ok(true)`); for a free lock or
/// another holder it is `Ok(false)` and changes nothing.
pub async fn check_unlock_job_releases_only_for_its_holder(store: &dyn Store) {
    let t = tenant();
    let key = ns("research");
    assert!(!store.unlock_job(&t, Job::Expire, &key, "worker-1").await.unwrap(), "a free lock");
    assert!(store.try_lock_job(&job_lock(&t, Job::Expire, "research", "worker-1", 1, 100)).await.unwrap());
    assert!(!store.unlock_job(&t, Job::Expire, &key, "worker-2").await.unwrap(), "another holder");
    assert!(!store.unlock_job(&t, Job::Purge, &key, "worker-1").await.unwrap(), "another job");
    assert!(!store.try_lock_job(&job_lock(&t, Job::Expire, "research", "worker-2", 2, 100)).await.unwrap());
    assert!(store.unlock_job(&t, Job::Expire, &key, "worker-1").await.unwrap());
    assert!(!store.unlock_job(&t, Job::Expire, &key, "worker-1").await.unwrap(), "a second unlock");
    assert!(
        store.try_lock_job(&job_lock(&t, Job::Expire, "research", "worker-2", 3, 100)).await.unwrap(),
        "a released lock is free"
    );
}

/// `record_job_run` stores a run as the latest record of its tenant, job and namespace,
/// replacing the one before; every field round-trips.
pub async fn check_record_job_run_replaces_the_latest(store: &dyn Store) {
    let t = tenant();
    let first = job_run(&t, Job::Consolidate, "research", 5);
    store.record_job_run(&first).await.unwrap();
    assert_eq!(store.list_job_runs(&t, None).await.unwrap(), [first]);
    let mut second = job_run(&t, Job::Consolidate, "research", 9);
    second.status = JobStatus::Failed;
    second.reason = Some("the embedder timed out".to_owned());
    second.checkpoint = Some("0190a1b2-0000-7000-8000-000000000000".to_owned());
    second.counts = [("episodes".to_owned(), 3), ("created".to_owned(), u64::MAX)].into();
    store.record_job_run(&second).await.unwrap();
    assert_eq!(store.list_job_runs(&t, None).await.unwrap(), [second.clone()], "the latest replaces the one before");
    let mut skipped = job_run(&t, Job::Consolidate, "research", 12);
    skipped.status = JobStatus::Skipped;
    skipped.counts.clear();
    store.record_job_run(&skipped).await.unwrap();
    assert_eq!(store.list_job_runs(&t, Some(&ns("research"))).await.unwrap(), [skipped]);
}

/// A run that fails [`memory_core::JobRun::validate`] (finished before it started, a NUL in
/// its text, text too long) is `InvalidInput` and changes nothing.
pub async fn check_record_invalid_job_run_is_invalid_input(store: &dyn Store) {
    let t = tenant();
    let kept = job_run(&t, Job::Index, "research", 5);
    store.record_job_run(&kept).await.unwrap();
    let mut backwards = job_run(&t, Job::Index, "research", 9);
    backwards.finished_at = at(1);
    let mut nul = job_run(&t, Job::Index, "research", 9);
    nul.reason = Some("bad\0reason".to_owned());
    let mut long = job_run(&t, Job::Index, "research", 9);
    long.checkpoint = Some("c".repeat(MAX_SHORT_TEXT_BYTES + 1));
    let mut count_name = job_run(&t, Job::Index, "research", 9);
    count_name.counts.insert("n".repeat(MAX_SHORT_TEXT_BYTES + 1), 1);
    for (run, what) in [(backwards, "backwards"), (nul, "NUL"), (long, "long checkpoint"), (count_name, "count name")] {
        expect_err(store.record_job_run(&run).await, ErrorKind::InvalidInput, what);
    }
    assert_eq!(store.list_job_runs(&t, None).await.unwrap(), [kept], "a refused run replaces nothing");
}

/// `list_job_runs` orders runs by namespace key (byte order), then job (in declaration
/// order, the order a cycle runs them), and keeps to one namespace when given.
pub async fn check_list_job_runs_orders_by_namespace_then_job(store: &dyn Store) {
    let t = tenant();
    let runs = [
        job_run(&t, Job::Index, "beta", 1),
        job_run(&t, Job::Purge, "alpha", 2),
        job_run(&t, Job::Consolidate, "beta", 3),
        job_run(&t, Job::Index, "alpha", 4),
        job_run(&t, Job::Catalog, "Alpha", 5),
        job_run(&t, Job::Expire, "alpha", 6),
    ];
    for run in &runs {
        store.record_job_run(run).await.unwrap();
    }
    let order: Vec<(String, Job)> = store
        .list_job_runs(&t, None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.namespace.as_str().to_owned(), r.job))
        .collect();
    let expected: Vec<(String, Job)> = [
        ("Alpha", Job::Catalog),
        ("alpha", Job::Expire),
        ("alpha", Job::Purge),
        ("alpha", Job::Index),
        ("beta", Job::Consolidate),
        ("beta", Job::Index),
    ]
    .into_iter()
    .map(|(k, j)| (k.to_owned(), j))
    .collect();
    assert_eq!(order, expected);
    let alpha = store.list_job_runs(&t, Some(&ns("alpha"))).await.unwrap();
    assert_eq!(alpha, [runs[5].clone(), runs[1].clone(), runs[3].clone()]);
    assert!(store.list_job_runs(&t, Some(&ns("gamma"))).await.unwrap().is_empty());
}

/// Locks and run records never cross tenants: another tenant takes the same job and
/// namespace freely, cannot release this tenant's lock, and never sees its runs.
pub async fn check_other_tenants_locks_and_job_runs_are_separate(store: &dyn Store) {
    let (a, b) = (tenant(), other_tenant());
    assert!(store.try_lock_job(&job_lock(&a, Job::Purge, "research", "worker-1", 1, 100)).await.unwrap());
    assert!(store.try_lock_job(&job_lock(&b, Job::Purge, "research", "worker-2", 2, 100)).await.unwrap());
    assert!(store.unlock_job(&b, Job::Purge, &ns("research"), "worker-2").await.unwrap());
    assert!(!store.unlock_job(&b, Job::Purge, &ns("research"), "worker-1").await.unwrap());
    assert!(
        !store.try_lock_job(&job_lock(&a, Job::Purge, "research", "worker-3", 3, 100)).await.unwrap(),
        "tenant b's unlock left tenant a's lock held"
    );
    let mine = job_run(&a, Job::Purge, "research", 5);
    store.record_job_run(&mine).await.unwrap();
    assert!(store.list_job_runs(&b, None).await.unwrap().is_empty());
    assert!(store.list_job_runs(&b, Some(&ns("research"))).await.unwrap().is_empty());
    store.record_job_run(&job_run(&b, Job::Purge, "research", 7)).await.unwrap();
    create_namespace(store, &b, "research").await;
    store.delete_namespace(&b, &ns("research"), at(8)).await.unwrap();
    store.purge(&b, at(8)).await.unwrap();
    assert!(store.list_job_runs(&b, None).await.unwrap().is_empty(), "b's purge removed b's runs");
    assert_eq!(store.list_job_runs(&a, None).await.unwrap(), [mine], "and left a's alone");
}
