//! Maintenance job locks and run records: the SQL behind those methods of
//! [`memory_core::Store`].
//!
//! A lock is one conditional upsert: PostgreSQL's row lock on the conflicting row makes it
//! atomic across every connection and process, so two workers can never both hold it.

use memory_core::{Job, JobLock, JobRun, NamespaceKey, Result, TenantId};
use sqlx::AssertSqlSafe;
use sqlx::PgConnection;

use crate::error::Classify;
use crate::rows::{JOB_RUN_COLUMNS, job_run_from_row, json_text, micros};

pub(crate) async fn try_lock(c: &mut PgConnection, lock: &JobLock) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO job_locks (tenant_id, job, namespace, holder, acquired_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, job, namespace) DO UPDATE SET holder = excluded.holder, \
         acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
         WHERE job_locks.holder = excluded.holder OR job_locks.expires_at <= excluded.acquired_at",
    )
    .bind(lock.tenant.as_str())
    .bind(lock.job.as_str())
    .bind(lock.namespace.as_str())
    .bind(&lock.holder)
    .bind(micros(lock.acquired_at))
    .bind(micros(lock.expires_at))
    .execute(&mut *c)
    .await
    .classify()?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn unlock(
    c: &mut PgConnection,
    tenant: &TenantId,
    job: Job,
    namespace: &NamespaceKey,
    holder: &str,
) -> Result<bool> {
    let done =
        sqlx::query("DELETE FROM job_locks WHERE tenant_id = $1 AND job = $2 AND namespace = $3 AND holder = $4")
            .bind(tenant.as_str())
            .bind(job.as_str())
            .bind(namespace.as_str())
            .bind(holder)
            .execute(&mut *c)
            .await
            .classify()?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn record_run(c: &mut PgConnection, run: &JobRun) -> Result<()> {
    let sql = format!(
        "INSERT INTO job_runs ({JOB_RUN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant_id, namespace, job) DO UPDATE SET status = excluded.status, reason = excluded.reason, \
         counts = excluded.counts, checkpoint = excluded.checkpoint, started_at = excluded.started_at, \
         finished_at = excluded.finished_at"
    );
    sqlx::query(AssertSqlSafe(sql))
        .bind(run.tenant.as_str())
        .bind(run.job.as_str())
        .bind(run.namespace.as_str())
        .bind(run.status.as_str())
        .bind(&run.reason)
        .bind(json_text(&run.counts)?)
        .bind(&run.checkpoint)
        .bind(micros(run.started_at))
        .bind(micros(run.finished_at))
        .execute(&mut *c)
        .await
        .classify()
        .map(drop)
}

/// Ordered by namespace key, then job in declaration order (the order a cycle runs them).
pub(crate) async fn list_runs(
    c: &mut PgConnection,
    tenant: &TenantId,
    namespace: Option<&NamespaceKey>,
) -> Result<Vec<JobRun>> {
    let sql =
        format!("SELECT {JOB_RUN_COLUMNS} FROM job_runs WHERE tenant_id = $1 AND ($2::text IS NULL OR namespace = $2)");
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(namespace.map(NamespaceKey::as_str))
        .fetch_all(&mut *c)
        .await
        .classify()?;
    let mut runs = rows.iter().map(job_run_from_row).collect::<Result<Vec<_>>>()?;
    runs.sort_by(|a, b| (&a.namespace, a.job).cmp(&(&b.namespace, b.job)));
    Ok(runs)
}

/// Removes the run records and locks of a namespace (the namespace is being purged).
pub(crate) async fn remove_namespace(c: &mut PgConnection, tenant: &TenantId, namespace: &NamespaceKey) -> Result<()> {
    sqlx::query("DELETE FROM job_runs WHERE tenant_id = $1 AND namespace = $2")
        .bind(tenant.as_str())
        .bind(namespace.as_str())
        .execute(&mut *c)
        .await
        .classify()
        .map(drop)
}
