//! Two handles with pools of their own on one schema behave as two processes: each reads the
//! other's writes at once, maintenance locks exclude across them, and a namespace archived
//! through one refuses writes through the other.

use memory_core::{ErrorKind, Job, NamespaceStatus, Store};
use memory_store_postgres::testing::TestSchema;
use memory_testkit::fixtures::{at, create_namespace, expect_err, job_lock, new_memory, ns, tenant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_share_writes_locks_and_the_catalog() {
    let Some((first, schema)) = TestSchema::store().await else { return };
    let second = schema.open().await;
    let t = tenant();
    create_namespace(&first, &t, "team").await;
    assert_eq!(first.store_id().await.unwrap(), second.store_id().await.unwrap());
    let v = second.namespace_version(&t).await.unwrap();

    let m = new_memory("team", "written by the first");
    first.put_memories(&t, vec![m.clone()]).await.unwrap();
    assert_eq!(second.get_memory(&t, m.id).await.unwrap().map(|m| m.content), Some(m.content.clone()));

    let lock = job_lock(&t, Job::Consolidate, "team", "one", 0, 60);
    assert!(first.try_lock_job(&lock).await.unwrap());
    let other = job_lock(&t, Job::Consolidate, "team", "two", 1, 61);
    assert!(!second.try_lock_job(&other).await.unwrap(), "the second process took a held lock");
    let stale = job_lock(&t, Job::Consolidate, "team", "two", 60, 120);
    assert!(second.try_lock_job(&stale).await.unwrap(), "a stale lock is taken over");

    assert!(first.archive_namespace(&t, &ns("team"), at(2)).await.unwrap());
    assert!(second.namespace_version(&t).await.unwrap() > v);
    let got = second.get_namespace(&t, &ns("team")).await.unwrap().unwrap();
    assert_eq!(got.status, NamespaceStatus::Archived);
    expect_err(second.put_memories(&t, vec![new_memory("team", "late")]).await, ErrorKind::NotFound, "archived");
}
