//! Maintenance job locks and run records: the SQL behind those methods of
//! [`memory_core::Store`].
//!
//! A lock is taken by one upsert inside the writer's IMMEDIATE transaction, so two processes
//! sharing the database file can never both hold it.

use memory_core::{Job, JobLock, JobRun, NamespaceKey, Result, TenantId};
use rusqlite::Connection;

use crate::error::Classify;
use crate::rows::{JOB_RUN_COLUMNS, job_run_from_row, json_text, micros};

pub(crate) fn try_lock(conn: &Connection, lock: &JobLock) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO job_locks (tenant, job, namespace, holder, acquired_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (tenant, job, namespace) DO UPDATE SET holder = excluded.holder, \
             acquired_at = excluded.acquired_at, expires_at = excluded.expires_at \
             WHERE job_locks.holder = excluded.holder OR job_locks.expires_at <= excluded.acquired_at",
        )
        .classify()?
        .execute(rusqlite::params![
            lock.tenant.as_str(),
            lock.job.as_str(),
            lock.namespace.as_str(),
            lock.holder,
            micros(lock.acquired_at),
            micros(lock.expires_at),
        ])
        .classify()?;
    Ok(changed > 0)
}

pub(crate) fn unlock(
    conn: &Connection,
    tenant: &TenantId,
    job: Job,
    namespace: &NamespaceKey,
    holder: &str,
) -> Result<bool> {
    let removed = conn
        .prepare_cached("DELETE FROM job_locks WHERE tenant = ?1 AND job = ?2 AND namespace = ?3 AND holder = ?4")
        .classify()?
        .execute((tenant.as_str(), job.as_str(), namespace.as_str(), holder))
        .classify()?;
    Ok(removed > 0)
}

pub(crate) fn record_run(conn: &Connection, run: &JobRun) -> Result<()> {
    let sql =
        format!("INSERT OR REPLACE INTO job_runs ({JOB_RUN_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    conn.prepare_cached(&sql)
        .classify()?
        .execute(rusqlite::params![
            run.tenant.as_str(),
            run.job.as_str(),
            run.namespace.as_str(),
            run.status.as_str(),
            run.reason,
            json_text(&run.counts)?,
            run.checkpoint,
            micros(run.started_at),
            micros(run.finished_at),
        ])
        .classify()
        .map(drop)
}

/// Ordered by namespace key, then job in declaration order (the order a cycle runs them).
pub(crate) fn list_runs(conn: &Connection, tenant: &TenantId, namespace: Option<&NamespaceKey>) -> Result<Vec<JobRun>> {
    // Two statements, so each uses the primary key (tenant, namespace, job) as a range.
    let mut runs = match namespace {
        Some(ns) => {
            let sql = format!("SELECT {JOB_RUN_COLUMNS} FROM job_runs WHERE tenant = ?1 AND namespace = ?2");
            let mut stmt = conn.prepare_cached(&sql).classify()?;
            let rows = stmt.query_map((tenant.as_str(), ns.as_str()), job_run_from_row).classify()?;
            rows.collect::<rusqlite::Result<Vec<_>>>().classify()?
        }
        None => {
            let sql = format!("SELECT {JOB_RUN_COLUMNS} FROM job_runs WHERE tenant = ?1");
            let mut stmt = conn.prepare_cached(&sql).classify()?;
            let rows = stmt.query_map([tenant.as_str()], job_run_from_row).classify()?;
            rows.collect::<rusqlite::Result<Vec<_>>>().classify()?
        }
    };
    runs.sort_by(|a, b| (&a.namespace, a.job).cmp(&(&b.namespace, b.job)));
    Ok(runs)
}

/// Removes the run records of a namespace (the namespace is being purged).
pub(crate) fn remove_namespace(conn: &Connection, tenant: &TenantId, namespace: &NamespaceKey) -> Result<()> {
    conn.prepare_cached("DELETE FROM job_runs WHERE tenant = ?1 AND namespace = ?2")
        .classify()?
        .execute((tenant.as_str(), namespace.as_str()))
        .classify()
        .map(drop)
}
