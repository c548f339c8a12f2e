//! The namespace catalog: the SQL behind the namespace methods of [`memory_core::Store`].
//!
//! Each function runs inside a transaction opened by the caller and checks things in the
//! reference store's order, so both report the same error when several things are wrong.

use memory_core::{
    Error, Namespace, NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceStatus, NamespaceTouch, Result,
    Sensitivity, TenantId, Timestamp,
};
use rusqlite::{Connection, OptionalExtension};

use crate::error::Classify;
use crate::event_log::LogContent;
use crate::rows::{NAMESPACE_COLUMNS, NAMESPACE_VALUES, execute_namespace, micros, namespace_from_row};
use crate::{entities, maintenance, memories};

fn not_found(key: &NamespaceKey) -> Error {
    Error::not_found(format!("namespace {:?} not found", key.as_str()))
}

/// Records a change of the tenant's catalog (see `Store::namespace_version`), in the
/// transaction of the change.
fn bump_version(conn: &Connection, tenant: &TenantId) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO namespace_versions (tenant, version) VALUES (?1, 1) \
         ON CONFLICT (tenant) DO UPDATE SET version = version + 1",
    )
    .classify()?
    .execute([tenant.as_str()])
    .classify()
    .map(drop)
}

pub(crate) fn version(conn: &Connection, tenant: &TenantId) -> Result<u64> {
    let version: Option<i64> = conn
        .prepare_cached("SELECT version FROM namespace_versions WHERE tenant = ?1")
        .classify()?
        .query_row([tenant.as_str()], |r| r.get(0))
        .optional()
        .classify()?;
    Ok(version.unwrap_or(0) as u64)
}

pub(crate) fn create(conn: &Connection, ns: &Namespace) -> Result<()> {
    let sql = format!("INSERT INTO namespaces ({NAMESPACE_COLUMNS}) VALUES ({NAMESPACE_VALUES})");
    let mut stmt = conn.prepare_cached(&sql).classify()?;
    match execute_namespace(&mut stmt, ns) {
        Err(e) if e.kind() == memory_core::ErrorKind::AlreadyExists => {
            return Err(Error::already_exists(format!("namespace {:?} already exists", ns.key.as_str())));
        }
        other => other.map(drop)?,
    }
    bump_version(conn, &ns.tenant)
}

pub(crate) fn get(conn: &Connection, tenant: &TenantId, key: &NamespaceKey) -> Result<Option<Namespace>> {
    let sql = format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE tenant = ?1 AND key = ?2");
    conn.prepare_cached(&sql)
        .classify()?
        .query_row((tenant.as_str(), key.as_str()), namespace_from_row)
        .optional()
        .classify()
}

/// The namespace unless it is missing or deleted (archived ones count).
pub(crate) fn get_live(conn: &Connection, tenant: &TenantId, key: &NamespaceKey) -> Result<Namespace> {
    get(conn, tenant, key)?.filter(|ns| ns.status != NamespaceStatus::Deleted).ok_or_else(|| not_found(key))
}

/// Rewrites every column of an existing namespace (placeholders as in [`NAMESPACE_VALUES`]).
fn save(conn: &Connection, ns: &Namespace) -> Result<()> {
    let mut stmt = conn
        .prepare_cached(
            "UPDATE namespaces SET display_name = ?3, description = ?4, team = ?5, sensitivity = ?6, \
             default_access = ?7, retention_days = ?8, kind = ?9, status = ?10, metadata = ?11, created_at = ?12, \
             updated_at = ?13, last_write_at = ?14, last_read_at = ?15, last_maintenance_at = ?16, created_by = ?17, \
             created_by_key = ?18 WHERE tenant = ?1 AND key = ?2",
        )
        .classify()?;
    execute_namespace(&mut stmt, ns).map(drop)
}

pub(crate) fn list(conn: &Connection, tenant: &TenantId, filter: &NamespaceFilter) -> Result<Vec<Namespace>> {
    // Catalogs are small: filter in Rust with the filter's own rule, so no field can be missed.
    let sql = format!("SELECT {NAMESPACE_COLUMNS} FROM namespaces WHERE tenant = ?1 ORDER BY key");
    let mut stmt = conn.prepare_cached(&sql).classify()?;
    let rows = stmt.query_map([tenant.as_str()], namespace_from_row).classify()?;
    let mut out = Vec::new();
    for ns in rows {
        let ns = ns.classify()?;
        if filter.matches(&ns) {
            out.push(ns);
        }
    }
    Ok(out)
}

pub(crate) fn tenants(conn: &Connection) -> Result<Vec<TenantId>> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT tenant FROM namespaces ORDER BY tenant").classify()?;
    let rows = stmt.query_map([], |row| row.get::<_, String>(0)).classify()?;
    let mut out = Vec::new();
    for tenant in rows {
        out.push(TenantId::new(tenant.classify()?)?);
    }
    Ok(out)
}

pub(crate) fn update(
    conn: &Connection,
    tenant: &TenantId,
    key: &NamespaceKey,
    patch: &NamespacePatch,
    at: Timestamp,
) -> Result<Namespace> {
    let mut ns = get_live(conn, tenant, key)?;
    patch.apply(&mut ns, at)?;
    save(conn, &ns)?;
    bump_version(conn, tenant)?;
    Ok(ns)
}

pub(crate) fn touch(
    conn: &Connection,
    tenant: &TenantId,
    key: &NamespaceKey,
    touch: NamespaceTouch,
    at: Timestamp,
) -> Result<()> {
    let mut ns = get_live(conn, tenant, key)?;
    match touch {
        NamespaceTouch::Read => ns.last_read_at = Some(at),
        NamespaceTouch::Maintenance => ns.last_maintenance_at = Some(at),
        // A touch this store does not know would be recorded nowhere: refuse it loudly.
        other => return Err(Error::internal(format!("unsupported namespace touch {other:?}"))),
    }
    save(conn, &ns)
}

/// Moves a live namespace between active and archived; `Ok(false)` when it already was `to`.
pub(crate) fn set_status(
    conn: &Connection,
    tenant: &TenantId,
    key: &NamespaceKey,
    to: NamespaceStatus,
    at: Timestamp,
) -> Result<bool> {
    let mut ns = get_live(conn, tenant, key)?;
    if !ns.set_status(to, at) {
        return Ok(false);
    }
    save(conn, &ns)?;
    bump_version(conn, tenant)?;
    Ok(true)
}

pub(crate) fn delete(conn: &Connection, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
    let mut ns = get(conn, tenant, key)?.ok_or_else(|| not_found(key))?;
    if !ns.set_status(NamespaceStatus::Deleted, at) {
        return Ok(false);
    }
    save(conn, &ns)?;
    bump_version(conn, tenant)?;
    memories::tombstone_namespace(conn, tenant, key, at)?;
    Ok(true)
}

/// Whether the namespace takes writes (`NotFound` naming why not, as the reference store
/// does), and whether the event log may carry its memories' content: not for a `restricted`
/// namespace, unless its metadata opts in with `"log_content": true`.
pub(crate) fn check_writable(conn: &Connection, tenant: &TenantId, key: &NamespaceKey) -> Result<LogContent> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT status, sensitivity, metadata FROM namespaces WHERE tenant = ?1 AND key = ?2")
        .classify()?
        .query_row((tenant.as_str(), key.as_str()), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .classify()?;
    let Some((status, sensitivity, metadata)) = row else { return Err(not_found(key)) };
    match status.parse::<NamespaceStatus>()? {
        NamespaceStatus::Active => {}
        status => {
            return Err(Error::not_found(format!("namespace {:?} is {status}; it takes no writes", key.as_str())));
        }
    }
    // Metadata that does not parse opts in to nothing.
    let metadata: memory_core::Metadata = serde_json::from_str(&metadata).unwrap_or_default();
    let withheld = memory_core::withholds_content(sensitivity.parse::<Sensitivity>()?, &metadata);
    Ok(if withheld { LogContent::Withheld } else { LogContent::Full })
}

/// Raises `last_write_at` to `at` if it is earlier (or unset).
pub(crate) fn note_write(conn: &Connection, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<()> {
    conn.prepare_cached(
        "UPDATE namespaces SET last_write_at = max(coalesce(last_write_at, ?3), ?3) WHERE tenant = ?1 AND key = ?2",
    )
    .classify()?
    .execute((tenant.as_str(), key.as_str(), micros(at)))
    .classify()
    .map(drop)
}

/// Removes the tenant's deleted namespaces that hold no memories, with their entities and job
/// run records; returns how many.
pub(crate) fn purge_deleted(conn: &Connection, tenant: &TenantId) -> Result<u64> {
    let keys = conn
        .prepare_cached(
            "SELECT key FROM namespaces WHERE tenant = ?1 AND status = 'deleted' AND NOT EXISTS \
             (SELECT 1 FROM memories m WHERE m.tenant = namespaces.tenant AND m.namespace = namespaces.key)",
        )
        .classify()?
        .query_map([tenant.as_str()], |r| r.get::<_, String>(0))
        .classify()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .classify()?;
    for key in &keys {
        let key = NamespaceKey::new(key)?;
        entities::remove_namespace(conn, tenant, &key)?;
        maintenance::remove_namespace(conn, tenant, &key)?;
        conn.prepare_cached("DELETE FROM namespaces WHERE tenant = ?1 AND key = ?2")
            .classify()?
            .execute((tenant.as_str(), key.as_str()))
            .classify()?;
    }
    if !keys.is_empty() {
        bump_version(conn, tenant)?;
    }
    Ok(keys.len() as u64)
}
