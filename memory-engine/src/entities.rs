//! Entities (issue 12): the named people, places, organisations, projects and tools that
//! consolidation linked to memories, per namespace, read under the same rules as memories.

use memory_core::{AuditOp, Entity, EntityFilter, EntityId, EntityKind, Error, Memory, Page, PageRequest, Result};
use memory_policy::ReadRequest;
use serde::Serialize;

use crate::caller::Caller;
use crate::engine::Engine;

/// One entity and a page of the memories that mention it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntityMemories {
    /// The entity.
    pub entity: Entity,
    /// Live memories linked to it (expired working memories left out), in id order.
    pub memories: Vec<Memory>,
    /// Cursor of the next page of memories.
    pub next_cursor: Option<String>,
}

impl Engine {
    /// A page of the entities of the namespaces the caller reads: the one named (readable,
    /// else 403/404), or its `*` read set (sensitive and restricted namespaces only when
    /// named). `query` keeps entities whose name holds every word of it.
    pub async fn entities(
        &self,
        caller: &Caller,
        namespace: Option<&str>,
        query: Option<&str>,
        kind: Option<EntityKind>,
        page: &PageRequest,
    ) -> Result<Page<Entity>> {
        let t = self.tenant(&caller.tenant).await?;
        let catalog = self.catalog(&t).await?;
        let read = match namespace {
            Some(ns) => ReadRequest::from_raw(&[ns.to_owned()]),
            None => ReadRequest::All,
        };
        let plan = self.plan(caller, catalog.as_ref(), read, None, false);
        if let Some(e) = &plan.error {
            let err = crate::engine::plan_error(e.code, &e.message);
            let ns = namespace.and_then(|n| memory_core::NamespaceKey::new(n).ok());
            self.audit_denied(caller, ns.as_ref(), AuditOp::EntityList, &err).await;
            return Err(err);
        }
        let names: Vec<&memory_core::NamespaceKey> = plan.read.iter().collect();
        self.audit_restricted_read(caller, &catalog, &names, AuditOp::EntityList, serde_json::json!({})).await?;
        let mut filter = EntityFilter::default();
        filter.namespaces = Some(plan.read.clone());
        filter.kind = kind;
        filter.query = query.map(str::trim).filter(|q| !q.is_empty()).map(str::to_owned);
        self.inner.store.list_entities(&caller.tenant, &filter, page).await
    }

    /// One entity and a page of its memories; 404 unless the caller may read its namespace.
    pub async fn entity(&self, caller: &Caller, id: EntityId, page: &PageRequest) -> Result<EntityMemories> {
        let t = self.tenant(&caller.tenant).await?;
        let vis = self.visibility(caller, &t).await?;
        let found = self.inner.store.get_entity(&caller.tenant, id).await?;
        let entity = match found {
            Some(e) if vis.readable.contains(&e.namespace) => e,
            other => {
                let err = Error::not_found(format!("entity {id} not found"));
                self.audit_denied(caller, other.as_ref().map(|e| &e.namespace), AuditOp::EntityGet, &err).await;
                return Err(err);
            }
        };
        self.audit_restricted_read(
            caller,
            &vis.catalog,
            &[&entity.namespace],
            AuditOp::EntityGet,
            serde_json::json!({ "entity": id }),
        )
        .await?;
        let ids = self.inner.store.entity_memories(&caller.tenant, id, page).await?;
        let now = self.now();
        let memories = self
            .inner
            .store
            .get_memories(&caller.tenant, &ids.items)
            .await?
            .into_iter()
            .filter(|m| m.namespace == entity.namespace && !m.is_expired(now))
            .collect();
        Ok(EntityMemories { entity, memories, next_cursor: ids.next_cursor })
    }
}
