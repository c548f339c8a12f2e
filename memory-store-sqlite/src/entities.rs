//! Named entities and their links to memories: the SQL behind the entity methods of
//! [`memory_core::Store`], and the parts of `move_memories` and `purge` that concern them.
//!
//! Each function runs inside a transaction opened by the caller and checks things in the
//! reference store's order, so both report the same error when several things are wrong.

use std::collections::HashSet;

use memory_core::{
    Entity, EntityFilter, EntityId, EntityKind, EntityLink, Error, MemoryId, NamespaceKey, Page, PageRequest, Result,
    TenantId, Timestamp,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use crate::error::Classify;
use crate::namespaces;
use crate::paging::{fetch_limit, into_page, start_after};
use crate::rows::{ENTITY_COLUMNS, entity_from_row, json_text, memory_id, micros};

pub(crate) fn get(conn: &Connection, tenant: &TenantId, id: EntityId) -> Result<Option<Entity>> {
    let sql = format!("SELECT {ENTITY_COLUMNS} FROM entities e WHERE e.id = ?1 AND e.tenant = ?2");
    conn.prepare_cached(&sql)
        .classify()?
        .query_row((id.as_uuid(), tenant.as_str()), entity_from_row)
        .optional()
        .classify()
}

/// The entity of (namespace, kind, key of `name`), created with `name` (trimmed) at `at` when
/// missing.
fn entity_for(
    conn: &Connection,
    tenant: &TenantId,
    namespace: &NamespaceKey,
    kind: EntityKind,
    name: &str,
    at: Timestamp,
) -> Result<EntityId> {
    let key = Entity::key_of(name);
    let found: Option<uuid::Uuid> = conn
        .prepare_cached("SELECT id FROM entities WHERE tenant = ?1 AND namespace = ?2 AND kind = ?3 AND key = ?4")
        .classify()?
        .query_row((tenant.as_str(), namespace.as_str(), kind.as_str(), key.as_str()), |r| r.get(0))
        .optional()
        .classify()?;
    if let Some(id) = found {
        return Ok(EntityId::from_uuid(id));
    }
    let id = EntityId::new_v7();
    conn.prepare_cached(
        "INSERT INTO entities (tenant, id, namespace, name, key, kind, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    )
    .classify()?
    .execute(rusqlite::params![
        tenant.as_str(),
        id.as_uuid(),
        namespace.as_str(),
        name.trim(),
        key,
        kind.as_str(),
        micros(at)
    ])
    .classify()?;
    Ok(id)
}

/// Links `memory` to `entity`; a new link stamps the entity's `updated_at`.
fn add_link(conn: &Connection, tenant: &TenantId, entity: EntityId, memory: MemoryId, at: Timestamp) -> Result<()> {
    let added = conn
        .prepare_cached("INSERT OR IGNORE INTO entity_links (tenant, entity_id, memory_id) VALUES (?1, ?2, ?3)")
        .classify()?
        .execute((tenant.as_str(), entity.as_uuid(), memory.as_uuid()))
        .classify()?;
    if added > 0 {
        conn.prepare_cached("UPDATE entities SET updated_at = max(updated_at, ?2) WHERE id = ?1")
            .classify()?
            .execute((entity.as_uuid(), micros(at)))
            .classify()?;
    }
    Ok(())
}

pub(crate) fn link(
    conn: &Connection,
    tenant: &TenantId,
    namespace: &NamespaceKey,
    links: &[EntityLink],
    at: Timestamp,
) -> Result<Vec<Entity>> {
    namespaces::get_live(conn, tenant, namespace)?;
    for l in links {
        let home: Option<String> = conn
            .prepare_cached("SELECT namespace FROM memories WHERE tenant = ?1 AND id = ?2 AND deleted_at IS NULL")
            .classify()?
            .query_row((tenant.as_str(), l.memory.as_uuid()), |r| r.get(0))
            .optional()
            .classify()?;
        if home.as_deref() != Some(namespace.as_str()) {
            return Err(Error::not_found(format!(
                "memory {} is not a live memory of namespace {:?}",
                l.memory,
                namespace.as_str()
            )));
        }
    }
    let mut linked = Vec::new();
    for l in links {
        let entity = entity_for(conn, tenant, namespace, l.kind, &l.name, at)?;
        add_link(conn, tenant, entity, l.memory, at)?;
        if !linked.contains(&entity) {
            linked.push(entity);
        }
    }
    linked
        .into_iter()
        .map(|id| get(conn, tenant, id)?.ok_or_else(|| Error::internal(format!("entity {id} vanished"))))
        .collect()
}

pub(crate) fn list(
    conn: &Connection,
    tenant: &TenantId,
    filter: &EntityFilter,
    page: &PageRequest,
) -> Result<Page<Entity>> {
    let after = start_after(page, |id: EntityId| id.as_uuid())?;
    // Only the set fields become terms, so the statement (and its plan) depends on which are.
    let mut sql = format!("SELECT {ENTITY_COLUMNS} FROM entities e WHERE e.tenant = ?");
    let mut args: Vec<Value> = vec![tenant.as_str().to_owned().into()];
    if let Some(namespaces) = &filter.namespaces {
        sql.push_str(" AND e.namespace IN (SELECT value FROM json_each(?))");
        let keys: Vec<&str> = namespaces.iter().map(NamespaceKey::as_str).collect();
        args.push(json_text(&keys)?.into());
    }
    if let Some(kind) = filter.kind {
        sql.push_str(" AND e.kind = ?");
        args.push(kind.as_str().to_owned().into());
    }
    if let Some(query) = &filter.query {
        for word in Entity::key_of(query).split(' ').filter(|w| !w.is_empty()) {
            sql.push_str(" AND instr(e.key, ?) > 0");
            args.push(word.to_owned().into());
        }
    }
    sql.push_str(" AND e.id > ? ORDER BY e.id LIMIT ?");
    args.push(after.into());
    args.push(fetch_limit(page.limit).into());
    let rows = conn
        .prepare_cached(&sql)
        .classify()?
        .query_map(rusqlite::params_from_iter(args), entity_from_row)
        .classify()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .classify()?;
    debug_assert!(rows.iter().all(|e| filter.matches(e)), "SQL filter disagrees with EntityFilter::matches");
    Ok(into_page(rows, page.limit, |e| e.id))
}

pub(crate) fn memories(
    conn: &Connection,
    tenant: &TenantId,
    id: EntityId,
    page: &PageRequest,
) -> Result<Page<MemoryId>> {
    let after = start_after(page, |id: MemoryId| id.as_uuid())?;
    let exists = conn
        .prepare_cached("SELECT 1 FROM entities WHERE id = ?1 AND tenant = ?2")
        .classify()?
        .exists((id.as_uuid(), tenant.as_str()))
        .classify()?;
    if !exists {
        return Err(Error::not_found(format!("entity {id} not found")));
    }
    let rows = conn
        .prepare_cached(
            "SELECT l.memory_id FROM entity_links l JOIN memories m ON m.tenant = l.tenant AND m.id = l.memory_id \
             WHERE l.tenant = ?1 AND l.entity_id = ?2 AND m.deleted_at IS NULL AND l.memory_id > ?3 \
             ORDER BY l.memory_id LIMIT ?4",
        )
        .classify()?
        .query_map(rusqlite::params![tenant.as_str(), id.as_uuid(), after, fetch_limit(page.limit)], |r| {
            memory_id(r, 0)
        })
        .classify()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .classify()?;
    Ok(into_page(rows, page.limit, |m| *m))
}

/// The entities a memory links to, by entity id (whatever the memory's state).
fn linked_to(conn: &Connection, tenant: &TenantId, memory: MemoryId) -> Result<Vec<Entity>> {
    let sql = format!(
        "SELECT {ENTITY_COLUMNS} FROM entity_links k JOIN entities e ON e.id = k.entity_id \
         WHERE k.tenant = ?1 AND k.memory_id = ?2 ORDER BY e.id"
    );
    conn.prepare_cached(&sql)
        .classify()?
        .query_map((tenant.as_str(), memory.as_uuid()), entity_from_row)
        .classify()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .classify()
}

pub(crate) fn of(conn: &Connection, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<(MemoryId, Entity)>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        if !seen.insert(*id) {
            continue;
        }
        let live = conn
            .prepare_cached("SELECT 1 FROM memories WHERE tenant = ?1 AND id = ?2 AND deleted_at IS NULL")
            .classify()?
            .exists((tenant.as_str(), id.as_uuid()))
            .classify()?;
        if live {
            out.extend(linked_to(conn, tenant, *id)?.into_iter().map(|e| (*id, e)));
        }
    }
    Ok(out)
}

/// Moves the links of the memories `ids` (just moved into `to`) to the entities of the same
/// kind and key in `to`, creating those that are missing.
pub(crate) fn move_links(
    conn: &Connection,
    tenant: &TenantId,
    to: &NamespaceKey,
    ids: &[MemoryId],
    at: Timestamp,
) -> Result<()> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(*id) {
            continue;
        }
        for entity in linked_to(conn, tenant, *id)? {
            if entity.namespace == *to {
                continue;
            }
            let target = entity_for(conn, tenant, to, entity.kind, &entity.name, at)?;
            conn.prepare_cached("DELETE FROM entity_links WHERE tenant = ?1 AND entity_id = ?2 AND memory_id = ?3")
                .classify()?
                .execute((tenant.as_str(), entity.id.as_uuid(), id.as_uuid()))
                .classify()?;
            add_link(conn, tenant, target, *id, at)?;
        }
    }
    Ok(())
}

/// Removes the links of the memories a purge with `before` removes (call it before them).
pub(crate) fn unlink_purged(conn: &Connection, tenant: &TenantId, before: Timestamp) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM entity_links WHERE tenant = ?1 AND memory_id IN (SELECT id FROM memories \
         WHERE tenant = ?1 AND deleted_at IS NOT NULL AND deleted_at <= ?2)",
    )
    .classify()?
    .execute((tenant.as_str(), micros(before)))
    .classify()
    .map(drop)
}

/// Removes the tenant's entities that no memory links to.
pub(crate) fn purge_unlinked(conn: &Connection, tenant: &TenantId) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM entities WHERE tenant = ?1 AND NOT EXISTS \
         (SELECT 1 FROM entity_links l WHERE l.tenant = entities.tenant AND l.entity_id = entities.id)",
    )
    .classify()?
    .execute([tenant.as_str()])
    .classify()
    .map(drop)
}

/// Removes every entity of a namespace, with its links (the namespace is being purged).
pub(crate) fn remove_namespace(conn: &Connection, tenant: &TenantId, namespace: &NamespaceKey) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM entity_links WHERE tenant = ?1 AND entity_id IN \
         (SELECT id FROM entities WHERE tenant = ?1 AND namespace = ?2)",
    )
    .classify()?
    .execute((tenant.as_str(), namespace.as_str()))
    .classify()?;
    conn.prepare_cached("DELETE FROM entities WHERE tenant = ?1 AND namespace = ?2")
        .classify()?
        .execute((tenant.as_str(), namespace.as_str()))
        .classify()
        .map(drop)
}
