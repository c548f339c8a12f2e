//! Named entities and their links to memories: the SQL behind the entity methods of
//! [`memory_core::Store`], and the parts of `move_memories` and `purge` that concern them.

use std::collections::HashSet;

use memory_core::{
    Entity, EntityFilter, EntityId, EntityKind, EntityLink, Error, MemoryId, NamespaceKey, Page, PageRequest, Result,
    TenantId, Timestamp,
};
use sqlx::AssertSqlSafe;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::Classify;
use crate::paging::{cursor_after, into_page, push_page};
use crate::rows::{ENTITY_COLUMNS, entity_from_row, micros};
use crate::{memories, namespaces};

pub(crate) async fn get(c: &mut PgConnection, tenant: &TenantId, id: EntityId) -> Result<Option<Entity>> {
    let sql = format!("SELECT {ENTITY_COLUMNS} FROM entities e WHERE e.tenant_id = $1 AND e.id = $2");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .classify()?;
    row.as_ref().map(entity_from_row).transpose()
}

/// The entity of (namespace, kind, key of `name`), created with `name` (trimmed) at `at` when
/// missing. An upsert, so two processes linking the same new name meet in one entity.
async fn entity_for(
    c: &mut PgConnection,
    tenant: &TenantId,
    namespace: &NamespaceKey,
    kind: EntityKind,
    name: &str,
    at: Timestamp,
) -> Result<EntityId> {
    let key = Entity::key_of(name);
    // `DO UPDATE` with no change, so the existing row's id is returned too.
    let id: Uuid = sqlx::query_scalar(
        "INSERT INTO entities (tenant_id, id, namespace, name, key, kind, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
         ON CONFLICT (tenant_id, namespace, kind, key) DO UPDATE SET key = excluded.key RETURNING id",
    )
    .bind(tenant.as_str())
    .bind(EntityId::new_v7().as_uuid())
    .bind(namespace.as_str())
    .bind(name.trim())
    .bind(&key)
    .bind(kind.as_str())
    .bind(micros(at))
    .fetch_one(&mut *c)
    .await
    .classify()?;
    Ok(EntityId::from_uuid(id))
}

/// Links `memory` to `entity`; a new link stamps the entity's `updated_at`.
async fn add_link(
    c: &mut PgConnection,
    tenant: &TenantId,
    entity: EntityId,
    memory: MemoryId,
    at: Timestamp,
) -> Result<()> {
    let added = sqlx::query(
        "INSERT INTO entity_links (tenant_id, entity_id, memory_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
    )
    .bind(tenant.as_str())
    .bind(entity.as_uuid())
    .bind(memory.as_uuid())
    .execute(&mut *c)
    .await
    .classify()?;
    if added.rows_affected() > 0 {
        sqlx::query("UPDATE entities SET updated_at = greatest(updated_at, $3) WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(entity.as_uuid())
            .bind(micros(at))
            .execute(&mut *c)
            .await
            .classify()?;
    }
    Ok(())
}

pub(crate) async fn link(
    c: &mut PgConnection,
    tenant: &TenantId,
    namespace: &NamespaceKey,
    links: &[EntityLink],
    at: Timestamp,
) -> Result<Vec<Entity>> {
    namespaces::get_live(c, tenant, namespace).await?;
    for l in links {
        let home = memories::live_namespace_of(c, tenant, l.memory).await?;
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
        let entity = entity_for(c, tenant, namespace, l.kind, &l.name, at).await?;
        add_link(c, tenant, entity, l.memory, at).await?;
        if !linked.contains(&entity) {
            linked.push(entity);
        }
    }
    let mut out = Vec::with_capacity(linked.len());
    for id in linked {
        out.push(get(c, tenant, id).await?.ok_or_else(|| Error::internal(format!("entity {id} vanished")))?);
    }
    Ok(out)
}

pub(crate) async fn list(
    c: &mut PgConnection,
    tenant: &TenantId,
    filter: &EntityFilter,
    page: &PageRequest,
) -> Result<Page<Entity>> {
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {ENTITY_COLUMNS} FROM entities e WHERE e.tenant_id = "));
    qb.push_bind(tenant.as_str().to_owned());
    if let Some(namespaces) = &filter.namespaces {
        let keys: Vec<String> = namespaces.iter().map(|n| n.as_str().to_owned()).collect();
        qb.push(" AND e.namespace = ANY(").push_bind(keys).push(")");
    }
    if let Some(kind) = filter.kind {
        qb.push(" AND e.kind = ").push_bind(kind.as_str().to_owned());
    }
    if let Some(query) = &filter.query {
        for word in Entity::key_of(query).split(' ').filter(|w| !w.is_empty()) {
            qb.push(" AND strpos(e.key, ").push_bind(word.to_owned()).push(") > 0");
        }
    }
    push_page(&mut qb, "e.id", page, |id: EntityId| id.as_uuid())?;
    let rows = qb.build().fetch_all(&mut *c).await.classify()?;
    let rows = rows.iter().map(entity_from_row).collect::<Result<Vec<_>>>()?;
    debug_assert!(rows.iter().all(|e| filter.matches(e)), "SQL filter disagrees with EntityFilter::matches");
    Ok(into_page(rows, page.limit, |e| e.id))
}

pub(crate) async fn memories(
    c: &mut PgConnection,
    tenant: &TenantId,
    id: EntityId,
    page: &PageRequest,
) -> Result<Page<MemoryId>> {
    // A bad page is refused before the entity is looked up (input checks come first).
    cursor_after::<MemoryId>(page)?;
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM entities WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .classify()?;
    if exists.is_none() {
        return Err(Error::not_found(format!("entity {id} not found")));
    }
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT l.memory_id FROM entity_links l JOIN memories m ON m.tenant_id = l.tenant_id AND m.id = l.memory_id \
         WHERE m.deleted_at IS NULL AND l.tenant_id = ",
    );
    qb.push_bind(tenant.as_str().to_owned()).push(" AND l.entity_id = ").push_bind(id.as_uuid());
    push_page(&mut qb, "l.memory_id", page, |id: MemoryId| id.as_uuid())?;
    let rows: Vec<Uuid> = qb.build_query_scalar().fetch_all(&mut *c).await.classify()?;
    let rows: Vec<MemoryId> = rows.into_iter().map(MemoryId::from_uuid).collect();
    Ok(into_page(rows, page.limit, |m| *m))
}

/// The entities a memory links to, by entity id (whatever the memory's state).
async fn linked_to(c: &mut PgConnection, tenant: &TenantId, memory: MemoryId) -> Result<Vec<Entity>> {
    let sql = format!(
        "SELECT {ENTITY_COLUMNS} FROM entity_links k JOIN entities e ON e.tenant_id = k.tenant_id AND e.id = k.entity_id \
         WHERE k.tenant_id = $1 AND k.memory_id = $2 ORDER BY e.id"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(memory.as_uuid())
        .fetch_all(&mut *c)
        .await
        .classify()?;
    rows.iter().map(entity_from_row).collect()
}

pub(crate) async fn of(c: &mut PgConnection, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<(MemoryId, Entity)>> {
    // The live ones among `ids` in one query, then their links in one more.
    let live: HashSet<MemoryId> = memories::get_many(c, tenant, ids).await?.into_iter().map(|m| m.id).collect();
    if live.is_empty() {
        return Ok(Vec::new());
    }
    let uuids: Vec<Uuid> = live.iter().map(|id| id.as_uuid()).collect();
    let sql = format!(
        "SELECT k.memory_id AS memory_id, {ENTITY_COLUMNS} FROM entity_links k JOIN entities e \
         ON e.tenant_id = k.tenant_id AND e.id = k.entity_id WHERE k.tenant_id = $1 AND k.memory_id = ANY($2) \
         ORDER BY e.id"
    );
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(tenant.as_str()).bind(uuids).fetch_all(&mut *c).await.classify()?;
    let mut links: Vec<(MemoryId, Entity)> = Vec::with_capacity(rows.len());
    for row in &rows {
        let memory: Uuid = sqlx::Row::try_get(row, "memory_id").classify()?;
        links.push((MemoryId::from_uuid(memory), entity_from_row(row)?));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        if seen.insert(*id) {
            out.extend(links.iter().filter(|(m, _)| m == id).cloned());
        }
    }
    Ok(out)
}

/// Moves the links of the memories `ids` (just moved into `to`) to the entities of the same
/// kind and key in `to`, creating those that are missing.
pub(crate) async fn move_links(
    c: &mut PgConnection,
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
        for entity in linked_to(c, tenant, *id).await? {
            if entity.namespace == *to {
                continue;
            }
            let target = entity_for(c, tenant, to, entity.kind, &entity.name, at).await?;
            sqlx::query("DELETE FROM entity_links WHERE tenant_id = $1 AND entity_id = $2 AND memory_id = $3")
                .bind(tenant.as_str())
                .bind(entity.id.as_uuid())
                .bind(id.as_uuid())
                .execute(&mut *c)
                .await
                .classify()?;
            add_link(c, tenant, target, *id, at).await?;
        }
    }
    Ok(())
}

/// Removes the links of the memories a purge with `before` removes (call it before them).
pub(crate) async fn unlink_purged(c: &mut PgConnection, tenant: &TenantId, before: Timestamp) -> Result<()> {
    sqlx::query(
        "DELETE FROM entity_links l USING memories m WHERE l.tenant_id = $1 AND m.tenant_id = $1 \
         AND m.id = l.memory_id AND m.deleted_at IS NOT NULL AND m.deleted_at <= $2",
    )
    .bind(tenant.as_str())
    .bind(micros(before))
    .execute(&mut *c)
    .await
    .classify()
    .map(drop)
}

/// Removes the tenant's entities that no memory links to.
pub(crate) async fn purge_unlinked(c: &mut PgConnection, tenant: &TenantId) -> Result<()> {
    sqlx::query(
        "DELETE FROM entities e WHERE e.tenant_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM entity_links l WHERE l.tenant_id = e.tenant_id AND l.entity_id = e.id)",
    )
    .bind(tenant.as_str())
    .execute(&mut *c)
    .await
    .classify()
    .map(drop)
}

/// Removes every entity of a namespace, with its links (the namespace is being purged).
pub(crate) async fn remove_namespace(c: &mut PgConnection, tenant: &TenantId, namespace: &NamespaceKey) -> Result<()> {
    sqlx::query(
        "DELETE FROM entity_links l USING entities e WHERE l.tenant_id = $1 AND e.tenant_id = $1 \
         AND e.id = l.entity_id AND e.namespace = $2",
    )
    .bind(tenant.as_str())
    .bind(namespace.as_str())
    .execute(&mut *c)
    .await
    .classify()?;
    sqlx::query("DELETE FROM entities WHERE tenant_id = $1 AND namespace = $2")
        .bind(tenant.as_str())
        .bind(namespace.as_str())
        .execute(&mut *c)
        .await
        .classify()
        .map(drop)
}
