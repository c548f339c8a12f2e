//! The namespace catalog: the SQL behind the namespace methods of [`memory_core::Store`].
//!
//! Each function runs inside a transaction opened by the caller and checks things in the
//! reference store's order, so both report the same error when several things are wrong.

use std::collections::{HashMap, HashSet};

use memory_core::{
    Error, ErrorKind, Namespace, NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceStatus, NamespaceTouch,
    Result, Sensitivity, TenantId, Timestamp,
};
use sqlx::AssertSqlSafe;
use sqlx::PgConnection;

use crate::error::Classify;
use crate::memories::notify;
use crate::rows::{Cols, NAMESPACE_COLUMNS, json_text, micros, namespace_from_row, opt_micros};
use crate::{entities, maintenance, memories};

fn not_found(key: &NamespaceKey) -> Error {
    Error::not_found(format!("namespace {:?} not found", key.as_str()))
}

/// Records a change of the tenant's catalog (see `Store::namespace_version`) in the
/// transaction of the change, and rings other processes' doorbells.
async fn bump_version(c: &mut PgConnection, tenant: &TenantId) -> Result<()> {
    sqlx::query(
        "INSERT INTO namespace_versions (tenant_id, version) VALUES ($1, 1) \
         ON CONFLICT (tenant_id) DO UPDATE SET version = namespace_versions.version + 1",
    )
    .bind(tenant.as_str())
    .execute(&mut *c)
    .await
    .classify()?;
    notify(c, tenant).await
}

pub(crate) async fn version(c: &mut PgConnection, tenant: &TenantId) -> Result<u64> {
    let v: Option<i64> = sqlx::query_scalar("SELECT version FROM namespace_versions WHERE tenant_id = $1")
        .bind(tenant.as_str())
        .fetch_optional(&mut *c)
        .await
        .classify()?;
    Ok(v.unwrap_or(0) as u64)
}

/// Binds every column of `ns` in [`NAMESPACE_COLUMNS`] order to `sql`, and runs it.
async fn execute_namespace(c: &mut PgConnection, sql: &str, ns: &Namespace) -> Result<u64> {
    let done = sqlx::query(AssertSqlSafe(sql.to_owned()))
        .bind(ns.tenant.as_str())
        .bind(ns.key.as_str())
        .bind(&ns.display_name)
        .bind(&ns.description)
        .bind(&ns.team)
        .bind(ns.sensitivity.as_str())
        .bind(ns.default_access.as_str())
        .bind(ns.retention_days.map(i64::from))
        .bind(ns.kind.as_str())
        .bind(ns.status.as_str())
        .bind(json_text(&ns.metadata)?)
        .bind(micros(ns.created_at))
        .bind(micros(ns.updated_at))
        .bind(opt_micros(ns.last_write_at))
        .bind(opt_micros(ns.last_read_at))
        .bind(opt_micros(ns.last_maintenance_at))
        .bind(ns.created_by.as_ref().map(|p| p.as_str()))
        .bind(ns.created_by_key.map(|k| k.as_uuid()))
        .execute(&mut *c)
        .await
        .classify()?;
    Ok(done.rows_affected())
}

pub(crate) async fn create(c: &mut PgConnection, ns: &Namespace) -> Result<()> {
    let sql = format!(
        "INSERT INTO namespaces ({NAMESPACE_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) ON CONFLICT DO NOTHING"
    );
    // ON CONFLICT DO NOTHING instead of a unique-violation error: an error would abort the
    // transaction, and the caller wants a clean `AlreadyExists`.
    if execute_namespace(c, &sql, ns).await? == 0 {
        return Err(Error::already_exists(format!("namespace {:?} already exists", ns.key.as_str())));
    }
    bump_version(c, &ns.tenant).await
}

pub(crate) async fn get(c: &mut PgConnection, tenant: &TenantId, key: &NamespaceKey) -> Result<Option<Namespace>> {
    let sql = format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = $1 AND key = $2");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(key.as_str())
        .fetch_optional(&mut *c)
        .await
        .classify()?;
    row.as_ref().map(namespace_from_row).transpose()
}

/// The namespace unless it is missing or deleted (archived ones count), locked for the rest of
/// the transaction.
async fn get_live_for_update(c: &mut PgConnection, tenant: &TenantId, key: &NamespaceKey) -> Result<Namespace> {
    let sql = format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = $1 AND key = $2 FOR UPDATE");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(key.as_str())
        .fetch_optional(&mut *c)
        .await
        .classify()?;
    row.as_ref()
        .map(namespace_from_row)
        .transpose()?
        .filter(|ns| ns.status != NamespaceStatus::Deleted)
        .ok_or_else(|| not_found(key))
}

/// The namespace unless it is missing or deleted (archived ones count).
pub(crate) async fn get_live(c: &mut PgConnection, tenant: &TenantId, key: &NamespaceKey) -> Result<Namespace> {
    get(c, tenant, key).await?.filter(|ns| ns.status != NamespaceStatus::Deleted).ok_or_else(|| not_found(key))
}

/// Rewrites every column of an existing namespace.
async fn save(c: &mut PgConnection, ns: &Namespace) -> Result<()> {
    let sql = "UPDATE namespaces SET display_name = $3, description = $4, team = $5, sensitivity = $6, \
               default_access = $7, retention_days = $8, kind = $9, status = $10, metadata = $11, created_at = $12, \
               updated_at = $13, last_write_at = $14, last_read_at = $15, last_maintenance_at = $16, created_by = $17, \
               created_by_key = $18 WHERE tenant_id = $1 AND key = $2";
    execute_namespace(c, sql, ns).await.map(drop)
}

pub(crate) async fn list(c: &mut PgConnection, tenant: &TenantId, filter: &NamespaceFilter) -> Result<Vec<Namespace>> {
    // Catalogs are small: filter in Rust with the filter's own rule, so no field can be missed.
    // `COLLATE "C"`: byte order, whatever the database's collation.
    let sql = format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = $1 ORDER BY key COLLATE \"C\"");
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(tenant.as_str()).fetch_all(&mut *c).await.classify()?;
    let mut out = Vec::new();
    for row in &rows {
        let ns = namespace_from_row(row)?;
        if filter.matches(&ns) {
            out.push(ns);
        }
    }
    Ok(out)
}

pub(crate) async fn tenants(c: &mut PgConnection) -> Result<Vec<TenantId>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT tenant_id COLLATE \"C\" AS t FROM namespaces ORDER BY t")
            .fetch_all(&mut *c)
            .await
            .classify()?;
    rows.into_iter().map(TenantId::new).collect()
}

pub(crate) async fn update(
    c: &mut PgConnection,
    tenant: &TenantId,
    key: &NamespaceKey,
    patch: &NamespacePatch,
    at: Timestamp,
) -> Result<Namespace> {
    let mut ns = get_live_for_update(c, tenant, key).await?;
    patch.apply(&mut ns, at)?;
    save(c, &ns).await?;
    bump_version(c, tenant).await?;
    Ok(ns)
}

pub(crate) async fn touch(
    c: &mut PgConnection,
    tenant: &TenantId,
    key: &NamespaceKey,
    touch: NamespaceTouch,
    at: Timestamp,
) -> Result<()> {
    let column = match touch {
        NamespaceTouch::Read => "last_read_at",
        NamespaceTouch::Maintenance => "last_maintenance_at",
        // A touch this store does not know would be recorded nowhere: refuse it loudly.
        other => return Err(Error::internal(format!("unsupported namespace touch {other:?}"))),
    };
    let sql = format!("UPDATE namespaces SET {column} = $3 WHERE tenant_id = $1 AND key = $2 AND status <> 'deleted'");
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(key.as_str())
        .bind(micros(at))
        .execute(&mut *c)
        .await
        .classify()?;
    if done.rows_affected() == 0 {
        return Err(not_found(key));
    }
    Ok(())
}

/// Moves a live namespace between active and archived; `Ok(false)` when it already was `to`.
pub(crate) async fn set_status(
    c: &mut PgConnection,
    tenant: &TenantId,
    key: &NamespaceKey,
    to: NamespaceStatus,
    at: Timestamp,
) -> Result<bool> {
    let mut ns = get_live_for_update(c, tenant, key).await?;
    if !ns.set_status(to, at) {
        return Ok(false);
    }
    save(c, &ns).await?;
    bump_version(c, tenant).await?;
    Ok(true)
}

pub(crate) async fn delete(c: &mut PgConnection, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
    let sql = format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE tenant_id = $1 AND key = $2 FOR UPDATE");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(key.as_str())
        .fetch_optional(&mut *c)
        .await
        .classify()?;
    let mut ns = row.as_ref().map(namespace_from_row).transpose()?.ok_or_else(|| not_found(key))?;
    if !ns.set_status(NamespaceStatus::Deleted, at) {
        return Ok(false);
    }
    save(c, &ns).await?;
    bump_version(c, tenant).await?;
    memories::tombstone_namespace(c, tenant, key, at).await?;
    Ok(true)
}

/// Fails with `NotFound` (naming why, as the reference store does) unless every namespace of
/// `keys`, checked in order, is active; holds a share lock on them until commit, so an archive
/// or delete cannot slip in between the check and the write. Returns those whose event log
/// keeps content out ([`memory_core::withholds_content`]).
pub(crate) async fn check_writable(
    c: &mut PgConnection,
    tenant: &TenantId,
    keys: &[NamespaceKey],
) -> Result<HashSet<NamespaceKey>> {
    let names: Vec<&str> = keys.iter().map(NamespaceKey::as_str).collect();
    let rows = sqlx::query(
        "SELECT key, status, sensitivity, metadata FROM namespaces WHERE tenant_id = $1 AND key = ANY($2) FOR SHARE",
    )
    .bind(tenant.as_str())
    .bind(names)
    .fetch_all(&mut *c)
    .await
    .classify()?;
    let mut found: HashMap<String, (String, String, String)> = HashMap::new();
    for row in &rows {
        let cols = Cols(row);
        found.insert(cols.get("key")?, (cols.get("status")?, cols.get("sensitivity")?, cols.get("metadata")?));
    }
    let mut withheld = HashSet::new();
    for key in keys {
        let Some((status, sensitivity, metadata)) = found.get(key.as_str()) else { return Err(not_found(key)) };
        match status.parse::<NamespaceStatus>()? {
            NamespaceStatus::Active => {}
            s => return Err(Error::not_found(format!("namespace {:?} is {s}; it takes no writes", key.as_str()))),
        }
        // Metadata that does not parse opts in to nothing.
        let metadata: memory_core::Metadata = serde_json::from_str(metadata).unwrap_or_default();
        if memory_core::withholds_content(sensitivity.parse::<Sensitivity>()?, &metadata) {
            withheld.insert(key.clone());
        }
    }
    Ok(withheld)
}

/// Raises `last_write_at` to `at` if it is earlier (or unset).
pub(crate) async fn note_write(
    c: &mut PgConnection,
    tenant: &TenantId,
    key: &NamespaceKey,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "UPDATE namespaces SET last_write_at = greatest(coalesce(last_write_at, $3), $3) \
         WHERE tenant_id = $1 AND key = $2",
    )
    .bind(tenant.as_str())
    .bind(key.as_str())
    .bind(micros(at))
    .execute(&mut *c)
    .await
    .classify()
    .map(drop)
}

/// Removes the tenant's deleted namespaces that hold no memories, with their entities and job
/// run records; returns how many.
pub(crate) async fn purge_deleted(c: &mut PgConnection, tenant: &TenantId) -> Result<u64> {
    let keys: Vec<String> = sqlx::query_scalar(
        "SELECT key FROM namespaces n WHERE tenant_id = $1 AND status = 'deleted' AND NOT EXISTS \
         (SELECT 1 FROM memories m WHERE m.tenant_id = n.tenant_id AND m.namespace = n.key) FOR UPDATE",
    )
    .bind(tenant.as_str())
    .fetch_all(&mut *c)
    .await
    .classify()?;
    for key in &keys {
        let key = NamespaceKey::new(key).map_err(|e| Error::new(ErrorKind::Internal, e.to_string()))?;
        entities::remove_namespace(c, tenant, &key).await?;
        maintenance::remove_namespace(c, tenant, &key).await?;
        sqlx::query("DELETE FROM namespaces WHERE tenant_id = $1 AND key = $2")
            .bind(tenant.as_str())
            .bind(key.as_str())
            .execute(&mut *c)
            .await
            .classify()?;
    }
    if !keys.is_empty() {
        bump_version(c, tenant).await?;
    }
    Ok(keys.len() as u64)
}
