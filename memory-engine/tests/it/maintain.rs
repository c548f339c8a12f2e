//! Maintenance (SPEC 7, issue 12) with a controllable clock: retention and expiry delete
//! exactly what they should, a held lock skips the job until it goes stale, the budget picks
//! `default` and `shared` first and then the least recently maintained, one failing namespace
//! never stops the others, and deleted namespaces are purged.

use memory_core::{Job, JobLock, JobStatus, Layer, NamespacePatch, PageRequest, TenantId};
use memory_engine::{Caller, Engine, ListRequest, MaintainRequest, MaintenanceReport, MemoryInput};

use crate::support::{START, engine, who};

fn ops() -> Caller {
    who("ops").as_operator()
}

async fn maintain(e: &Engine, request: MaintainRequest) -> MaintenanceReport {
    e.maintain(&ops(), &request, &mut |_, _| {}).await.unwrap()
}

fn only(jobs: &[Job], ns: Option<&str>) -> MaintainRequest {
    MaintainRequest { namespace: ns.map(str::to_owned), jobs: Some(jobs.to_vec()), budget: None }
}

async fn live(e: &Engine, ns: &str) -> Vec<String> {
    let request = ListRequest { namespaces: vec![ns.to_owned()], ..ListRequest::default() };
    let mut out: Vec<String> = e
        .list(&ops(), &request, &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|m| m.content)
        .collect();
    out.sort();
    out
}

async fn write(e: &Engine, ns: &str, layer: Layer, content: &str) {
    let input = MemoryInput::new(layer, content).in_namespace(ns);
    e.remember_now(&ops(), input).await.unwrap();
}

#[tokio::test]
async fn retention_deletes_exactly_the_memories_older_than_the_namespace_keeps() {
    let (e, clock) = engine("");
    let mut patch = NamespacePatch::default();
    patch.retention_days = Some(Some(30));
    e.create_namespace(&ops(), "diary", &patch).await.unwrap();
    e.create_namespace(&ops(), "forever", &NamespacePatch::default()).await.unwrap();
    write(&e, "diary", Layer::Semantic, "old entry").await;
    write(&e, "forever", Layer::Semantic, "old forever").await;
    clock.advance_days(20);
    write(&e, "diary", Layer::Semantic, "newer entry").await;
    clock.advance_days(10); // "old entry" is exactly 30 days old now: kept until it is older.
    let report = maintain(&e, only(&[Job::Retention], None)).await;
    assert!(report.runs.iter().all(|r| r.status == JobStatus::Ran), "{report:?}");
    assert_eq!(live(&e, "diary").await, ["newer entry", "old entry"]);
    clock.advance_micros(1);
    let report = maintain(&e, only(&[Job::Retention], Some("diary"))).await;
    assert_eq!(report.runs[0].counts["deleted"], 1, "{report:?}");
    assert_eq!(live(&e, "diary").await, ["newer entry"]);
    assert_eq!(live(&e, "forever").await, ["old forever"], "no retention: kept forever");
    let audit = e.audit_log(&ops(), Some("diary"), &PageRequest::first(100)).await.unwrap();
    assert!(audit.items.iter().any(|r| r.operation == "memory.retention"), "deletions are audited");
}

#[tokio::test]
async fn expiry_deletes_only_working_memories_past_their_expiry() {
    let (e, clock) = engine("");
    let soon = MemoryInput::new(Layer::Working, "in a meeting").expires_at(START.plus_days(1));
    let later = MemoryInput::new(Layer::Working, "on holiday").expires_at(START.plus_days(3));
    for input in [soon, later] {
        e.remember_now(&ops(), input).await.unwrap();
    }
    write(&e, "default", Layer::Semantic, "likes tea").await;
    clock.advance_days(2);
    let report = maintain(&e, only(&[Job::Expire], Some("default"))).await;
    assert_eq!(report.runs[0].counts["deleted"], 1, "{report:?}");
    assert_eq!(live(&e, "default").await, ["likes tea", "on holiday"]);
}

#[tokio::test]
async fn a_held_lock_skips_the_job_until_it_goes_stale() {
    // Locks go stale after 60 s here.
    let (e, clock) = engine("[namespaces.maintenance]\nlock_stale_ms = 60000\n");
    let tenant = TenantId::default_tenant();
    let held = JobLock {
        tenant: tenant.clone(),
        job: Job::Expire,
        namespace: "default".parse().unwrap(),
        holder: "crashed-worker".into(),
        acquired_at: START,
        expires_at: START.plus_micros(60_000_000),
    };
    assert!(e.store().try_lock_job(&held).await.unwrap());
    let report = maintain(&e, only(&[Job::Expire], Some("default"))).await;
    assert_eq!(report.runs[0].status, JobStatus::Skipped, "{report:?}");
    assert!(report.runs[0].reason.as_deref().unwrap().contains("lock"));

    clock.advance_micros(60_000_000);
    let report = maintain(&e, only(&[Job::Expire], Some("default"))).await;
    assert_eq!(report.runs[0].status, JobStatus::Ran, "a stale lock is taken over: {report:?}");
    assert!(!e.store().unlock_job(&tenant, Job::Expire, &"default".parse().unwrap(), "crashed-worker").await.unwrap());
}

#[tokio::test]
async fn the_budget_takes_default_and_shared_first_then_the_least_recently_maintained() {
    let (e, clock) = engine("");
    for ns in ["a", "b", "c", "d"] {
        e.create_namespace(&ops(), ns, &NamespacePatch::default()).await.unwrap();
    }
    let request = MaintainRequest { namespace: None, jobs: Some(vec![Job::Expire]), budget: Some(3) };
    let first = maintain(&e, request.clone()).await;
    let covered: Vec<&str> = first.runs.iter().map(|r| r.namespace.as_str()).collect();
    assert_eq!(covered, ["default", "shared", "a"]);
    assert_eq!(first.deferred, 3);
    clock.advance_days(1);
    let second = maintain(&e, request).await;
    let covered: Vec<&str> = second.runs.iter().map(|r| r.namespace.as_str()).collect();
    assert_eq!(covered, ["default", "shared", "b"], "never maintained before, then by key");
    let status = e.maintenance_status(&ops(), None).await.unwrap();
    assert_eq!(status.iter().filter(|r| r.job == Job::Expire).count(), 4, "a record per namespace run");
}

#[tokio::test]
async fn one_failing_namespace_never_stops_the_others() {
    // alice remembered episodes in her namespace; then the policy took her write access away:
    // consolidating as her fails there, and everywhere else maintenance goes on.
    let writable = "[namespaces]\nenabled = true\n\n[[namespaces.policies]]\nname = \"alice\"\nread = [\"alice\"]\nwrite = [\"alice\"]\n";
    let (e, clock) = engine(writable);
    let alice = who("alice");
    let input = MemoryInput::new(Layer::Episodic, "I prefer tea over coffee.").in_namespace("alice");
    e.remember_now(&alice, input).await.unwrap();
    e.remember_now(&ops(), MemoryInput::new(Layer::Episodic, "I prefer green tea.").in_namespace("default"))
        .await
        .unwrap();

    let read_only = writable.replace("write = [\"alice\"]", "write = []");
    let loaded = memory_policy::load::parse(&read_only, memory_policy::load::Dialect::Toml).unwrap();
    let mut parts = memory_engine::EngineParts::new(e.store().clone(), e.embedder().clone());
    parts.policy = memory_policy::Policy::new(loaded.config);
    parts.clock = std::sync::Arc::new(clock.clone());
    let later = Engine::new(parts);
    let report = later
        .maintain(&ops(), &MaintainRequest { jobs: Some(vec![Job::Consolidate]), ..Default::default() }, &mut |_, _| {})
        .await
        .unwrap();
    let by_ns = |ns: &str| report.runs.iter().find(|r| r.namespace.as_str() == ns).unwrap().clone();
    assert_eq!(by_ns("alice").status, JobStatus::Failed, "{report:?}");
    assert!(by_ns("alice").reason.is_some());
    assert_eq!(by_ns("default").status, JobStatus::Ran, "{report:?}");
    assert_eq!(report.failed(), 1);
}

#[tokio::test]
async fn maintenance_purges_deleted_namespaces_after_the_grace_period() {
    let (e, clock) = engine("");
    e.create_namespace(&ops(), "scratch", &NamespacePatch::default()).await.unwrap();
    write(&e, "scratch", Layer::Semantic, "temporary").await;
    e.delete_namespace(&ops(), "scratch").await.unwrap();
    let err = e.create_namespace(&ops(), "scratch", &NamespacePatch::default()).await.unwrap_err();
    assert_eq!(err.kind(), memory_core::ErrorKind::Conflict, "taken until purged");
    let report = maintain(&e, only(&[Job::Purge], None)).await;
    assert_eq!(report.runs[0].counts["namespaces"], 0, "within the grace period: {report:?}");
    clock.advance_days(memory_engine::PURGE_GRACE_DAYS + 1);
    let report = maintain(&e, only(&[Job::Purge], None)).await;
    assert_eq!((report.runs[0].counts["memories"], report.runs[0].counts["namespaces"]), (1, 1), "{report:?}");
    e.create_namespace(&ops(), "scratch", &NamespacePatch::default()).await.unwrap();
}

#[tokio::test]
async fn a_full_cycle_records_every_job_and_is_operator_only() {
    let (e, _) = engine("");
    write(&e, "default", Layer::Semantic, "likes tea").await;
    let report = maintain(&e, MaintainRequest::default()).await;
    let jobs: Vec<Job> = report.runs.iter().map(|r| r.job).collect();
    for job in Job::ALL {
        assert!(jobs.contains(job), "{job} ran: {report:?}");
    }
    assert_eq!(report.failed(), 0, "{report:?}");
    let err = e.maintain(&who("alice"), &MaintainRequest::default(), &mut |_, _| {}).await.unwrap_err();
    assert_eq!(err.kind(), memory_core::ErrorKind::Forbidden);
    let touched = e.store().get_namespace(&TenantId::default_tenant(), &"default".parse().unwrap()).await.unwrap();
    assert!(touched.unwrap().last_maintenance_at.is_some());
}
