//! `InMemoryStore`: the reference implementation of [`Store`], kept simple enough to be obviously
//! right. It serves tests and is the oracle of the model-based test in `memory-testkit`.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::api_key::{ApiKey, KeyHash, KeyScope};
use crate::audit::{AuditFilter, AuditRecord};
use crate::checks;
use crate::entity::{Entity, EntityFilter, EntityKind, EntityLink};
use crate::error::{Error, Result};
use crate::ids::{ApiKeyId, AuditId, EntityId, MemoryId, Principal, ProposalId, StoreId, TenantId};
use crate::maintenance::{Job, JobLock, JobRun};
use crate::memory::{
    ContentHash, Layer, Memory, MemoryFilter, MemoryPatch, MoveOutcome, NewMemory, Outcome, PutOutcome,
};
use crate::namespace::{Namespace, NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceStatus, NamespaceTouch};
use crate::proposal::{Decision, Proposal, ProposalFilter};
use crate::store::{Capabilities, ChangeSignal, Page, PageRequest, PurgeReport, Store};
use crate::timestamp::Timestamp;

/// A [`Store`] held in process memory. Cheap to create; nothing survives the process.
#[derive(Debug)]
pub struct InMemoryStore {
    id: StoreId,
    state: Mutex<State>,
}

impl Default for InMemoryStore {
    fn default() -> Self {
        InMemoryStore { id: StoreId::new_v7(), state: Mutex::default() }
    }
}

/// (tenant, namespace, layer, content hash): what makes two memories duplicates.
type DedupeKey = (TenantId, NamespaceKey, Layer, ContentHash);

/// Memories, audit records and proposals are keyed by (tenant, id): ids are scoped by tenant,
/// and a map so keyed holds each tenant's records as one range, in id order.
#[derive(Debug, Default)]
struct State {
    seq: u64,
    namespaces: BTreeMap<(TenantId, NamespaceKey), Namespace>,
    memories: BTreeMap<(TenantId, MemoryId), Memory>,
    /// Live, unsuperseded memories by their dedupe key (which names the tenant): the dedupe index.
    by_hash: HashMap<DedupeKey, MemoryId>,
    audit: BTreeMap<(TenantId, AuditId), AuditRecord>,
    /// API keys are found by hash alone, so their ids are unique store-wide.
    keys: BTreeMap<ApiKeyId, ApiKey>,
    proposals: BTreeMap<(TenantId, ProposalId), Proposal>,
    /// [`Store::namespace_version`] per tenant.
    namespace_versions: HashMap<TenantId, u64>,
    /// Entities by id, stored with `mentions = 0` (counted on read).
    entities: BTreeMap<EntityId, Entity>,
    /// Entity ids by what identifies them: the entity index.
    entity_keys: HashMap<EntityKey, EntityId>,
    /// (entity, memory) links; the memory is one of the entity's tenant.
    links: BTreeSet<(EntityId, MemoryId)>,
    /// The same links as (tenant, memory, entity).
    links_by_memory: BTreeSet<(TenantId, MemoryId, EntityId)>,
    /// The held (or stale, not yet taken over) lock of each tenant, job and namespace.
    job_locks: BTreeMap<(TenantId, Job, NamespaceKey), JobLock>,
    /// Ordered as [`Store::list_job_runs`] returns them.
    job_runs: BTreeMap<(TenantId, NamespaceKey, Job), JobRun>,
    /// Stored vectors by (tenant, memory, model).
    embeddings: BTreeMap<(TenantId, MemoryId, String), Vec<f32>>,
}

/// (tenant, namespace, kind, key): what identifies an entity.
type EntityKey = (TenantId, NamespaceKey, EntityKind, String);

const MIN_MEMORY: MemoryId = MemoryId::from_uuid(uuid::Uuid::nil());
const MAX_MEMORY: MemoryId = MemoryId::from_uuid(uuid::Uuid::max());
const MIN_ENTITY: EntityId = EntityId::from_uuid(uuid::Uuid::nil());
const MAX_ENTITY: EntityId = EntityId::from_uuid(uuid::Uuid::max());

/// An id type with a least and a greatest value, so a map keyed by (tenant, id) can be read
/// one tenant at a time.
trait ScopedId: Ord + Copy {
    const MIN: Self;
    const MAX: Self;
}

impl ScopedId for MemoryId {
    const MIN: Self = MIN_MEMORY;
    const MAX: Self = MAX_MEMORY;
}

impl ScopedId for AuditId {
    const MIN: Self = AuditId::from_uuid(uuid::Uuid::nil());
    const MAX: Self = AuditId::from_uuid(uuid::Uuid::max());
}

impl ScopedId for ProposalId {
    const MIN: Self = ProposalId::from_uuid(uuid::Uuid::nil());
    const MAX: Self = ProposalId::from_uuid(uuid::Uuid::max());
}

/// The records of `tenant` in a map keyed by (tenant, id), in id order.
fn of_tenant<'a, K: ScopedId, V>(
    map: &'a BTreeMap<(TenantId, K), V>,
    tenant: &TenantId,
) -> impl Iterator<Item = (K, &'a V)> + use<'a, K, V> {
    map.range((tenant.clone(), K::MIN)..=(tenant.clone(), K::MAX)).map(|((_, id), v)| (*id, v))
}

impl InMemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave a half-applied change: every method
        // validates before it mutates. So a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Shared by the in-memory store and backends that page in Rust: the position after a cursor.
fn parse_cursor<T: std::str::FromStr>(page: &PageRequest) -> Result<Option<T>> {
    checks::page(page)?;
    page.cursor
        .as_deref()
        .map(|c| c.parse::<T>().map_err(|_| Error::invalid_input(format!("invalid page cursor {c:?}"))))
        .transpose()
}

fn paginate<K: Ord + Copy + ToString, T: Clone>(items: impl Iterator<Item = (K, T)>, limit: usize) -> Page<T> {
    let mut out: Vec<(K, T)> = items.take(limit + 1).collect();
    let more = out.len() > limit;
    out.truncate(limit);
    let next_cursor = if more { out.last().map(|(k, _)| k.to_string()) } else { None };
    Page { items: out.into_iter().map(|(_, t)| t).collect(), next_cursor }
}

impl State {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Records a change of the tenant's catalog ([`Store::namespace_version`]).
    fn bump_namespaces(&mut self, tenant: &TenantId) {
        *self.namespace_versions.entry(tenant.clone()).or_insert(0) += 1;
    }

    fn live_namespace(&mut self, tenant: &TenantId, key: &NamespaceKey) -> Result<&mut Namespace> {
        match self.namespaces.get_mut(&(tenant.clone(), key.clone())) {
            Some(ns) if ns.status != NamespaceStatus::Deleted => Ok(ns),
            _ => Err(Error::not_found(format!("namespace {:?} not found", key.as_str()))),
        }
    }

    /// The tenant's memory `id`, live or tombstoned.
    fn memory(&self, tenant: &TenantId, id: MemoryId) -> Option<&Memory> {
        self.memories.get(&(tenant.clone(), id))
    }

    fn memory_mut(&mut self, tenant: &TenantId, id: MemoryId) -> Option<&mut Memory> {
        self.memories.get_mut(&(tenant.clone(), id))
    }

    /// Removes every stored vector of a memory.
    fn drop_embeddings(&mut self, tenant: &TenantId, id: MemoryId) {
        self.embeddings.retain(|(t, m, _), _| !(t == tenant && *m == id));
    }

    fn live_memory(&self, tenant: &TenantId, id: MemoryId) -> Option<&Memory> {
        self.memory(tenant, id).filter(|m| m.deleted_at.is_none())
    }

    /// The tenant's memories (live and tombstoned), in id order.
    fn memories_of<'a>(&'a self, tenant: &TenantId) -> impl Iterator<Item = &'a Memory> + use<'a> {
        of_tenant(&self.memories, tenant).map(|(_, m)| m)
    }

    /// Stores `m` under its tenant and id.
    fn store_memory(&mut self, m: Memory) {
        self.memories.insert((m.tenant.clone(), m.id), m);
    }

    fn hash_key(m: &Memory) -> DedupeKey {
        (m.tenant.clone(), m.namespace.clone(), m.layer, m.content_hash.clone())
    }

    /// Whether `m` takes part in deduplication (live and unsuperseded).
    fn dedupes(m: &Memory) -> bool {
        m.deleted_at.is_none() && m.superseded_by.is_none()
    }

    /// The entity as callers see it: `mentions` counts its links to live memories.
    fn entity_view(&self, e: &Entity) -> Entity {
        let mentions = self
            .links
            .range((e.id, MIN_MEMORY)..=(e.id, MAX_MEMORY))
            .filter(|(_, m)| self.live_memory(&e.tenant, *m).is_some())
            .count() as u64;
        Entity { mentions, ..e.clone() }
    }

    /// The entity of (namespace, kind, key of `name`), created with `name` (trimmed) at `at`
    /// when missing.
    fn entity_for(
        &mut self,
        tenant: &TenantId,
        namespace: &NamespaceKey,
        kind: EntityKind,
        name: &str,
        at: Timestamp,
    ) -> EntityId {
        let key = Entity::key_of(name);
        let index_key = (tenant.clone(), namespace.clone(), kind, key.clone());
        if let Some(id) = self.entity_keys.get(&index_key) {
            return *id;
        }
        let entity = Entity {
            id: EntityId::new_v7(),
            tenant: tenant.clone(),
            namespace: namespace.clone(),
            name: name.trim().to_owned(),
            key,
            kind,
            mentions: 0,
            created_at: at,
            updated_at: at,
        };
        let id = entity.id;
        self.entity_keys.insert(index_key, id);
        self.entities.insert(id, entity);
        id
    }

    /// Links `memory` (of the entity's tenant) to `entity`; a new link stamps the entity's
    /// `updated_at`.
    fn add_link(&mut self, entity: EntityId, memory: MemoryId, at: Timestamp) {
        if self.links.insert((entity, memory)) {
            let e = self.entities.get_mut(&entity).expect("linked entities exist");
            e.updated_at = e.updated_at.max(at);
            self.links_by_memory.insert((e.tenant.clone(), memory, entity));
        }
    }

    fn remove_link(&mut self, entity: EntityId, memory: MemoryId) {
        self.links.remove(&(entity, memory));
        let tenant = self.entities[&entity].tenant.clone();
        self.links_by_memory.remove(&(tenant, memory, entity));
    }

    /// The entities the tenant's `memory` links to, by entity id.
    fn entities_linked_to(&self, tenant: &TenantId, memory: MemoryId) -> Vec<EntityId> {
        let (from, to) = ((tenant.clone(), memory, MIN_ENTITY), (tenant.clone(), memory, MAX_ENTITY));
        self.links_by_memory.range(from..=to).map(|(_, _, e)| *e).collect()
    }

    fn remove_entity(&mut self, id: EntityId) {
        if let Some(e) = self.entities.remove(&id) {
            self.entity_keys.remove(&(e.tenant, e.namespace, e.kind, e.key));
        }
    }

    /// Applies `patch` to live memory `id` (the rule of [`Store::update_memory`]).
    fn update(&mut self, tenant: &TenantId, id: MemoryId, patch: &MemoryPatch, at: Timestamp) -> Result<Memory> {
        let s = self;
        let old = s.live_memory(tenant, id).ok_or_else(|| Error::not_found(format!("memory {id} not found")))?;
        let mut next = patch.applied_to(old)?;
        let (old_key, old_dedupes) = (State::hash_key(old), State::dedupes(old));
        let new_key = State::hash_key(&next);
        if State::dedupes(&next) && s.by_hash.get(&new_key).is_some_and(|other| *other != id) {
            return Err(Error::conflict(format!(
                "namespace {:?} already holds a {} memory with this content",
                next.namespace.as_str(),
                next.layer
            )));
        }
        next.updated_at = at.max(next.created_at);
        next.seq = s.next_seq();
        if old_dedupes {
            s.by_hash.remove(&old_key);
        }
        if State::dedupes(&next) {
            s.by_hash.insert(new_key, id);
        }
        s.store_memory(next.clone());
        Ok(next)
    }

    fn tombstone(&mut self, tenant: &TenantId, id: MemoryId, at: Timestamp) {
        let seq = self.next_seq();
        let m = self.memory_mut(tenant, id).expect("caller checked");
        let indexed = Self::dedupes(m);
        m.deleted_at = Some(at);
        m.seq = seq;
        let key = Self::hash_key(m);
        if indexed {
            self.by_hash.remove(&key);
        }
    }
}

#[async_trait]
impl Store for InMemoryStore {
    fn capabilities(&self) -> Capabilities {
        // One process, one handle: its lock excludes every other holder there can be.
        Capabilities { durable: false, shared: false, change_notification: false, cross_process_locks: false }
    }

    fn change_signal(&self) -> Option<std::sync::Arc<ChangeSignal>> {
        None
    }

    async fn create_namespace(&self, namespace: Namespace) -> Result<()> {
        checks::create_namespace(&namespace)?;
        let mut s = self.lock();
        let key = (namespace.tenant.clone(), namespace.key.clone());
        if s.namespaces.contains_key(&key) {
            return Err(Error::already_exists(format!("namespace {:?} already exists", namespace.key.as_str())));
        }
        s.bump_namespaces(&namespace.tenant);
        s.namespaces.insert(key, namespace);
        Ok(())
    }

    async fn get_namespace(&self, tenant: &TenantId, key: &NamespaceKey) -> Result<Option<Namespace>> {
        Ok(self.lock().namespaces.get(&(tenant.clone(), key.clone())).cloned())
    }

    async fn list_namespaces(&self, tenant: &TenantId, filter: &NamespaceFilter) -> Result<Vec<Namespace>> {
        let s = self.lock();
        Ok(s.namespaces.values().filter(|ns| ns.tenant == *tenant && filter.matches(ns)).cloned().collect())
    }

    async fn namespace_version(&self, tenant: &TenantId) -> Result<u64> {
        Ok(self.lock().namespace_versions.get(tenant).copied().unwrap_or(0))
    }

    async fn list_tenants(&self) -> Result<Vec<TenantId>> {
        let s = self.lock();
        let tenants: std::collections::BTreeSet<TenantId> = s.namespaces.values().map(|ns| ns.tenant.clone()).collect();
        Ok(tenants.into_iter().collect())
    }

    async fn update_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        patch: &NamespacePatch,
        at: Timestamp,
    ) -> Result<Namespace> {
        let mut s = self.lock();
        let ns = s.live_namespace(tenant, key)?;
        patch.apply(ns, at)?;
        let ns = ns.clone();
        s.bump_namespaces(tenant);
        Ok(ns)
    }

    async fn touch_namespace(
        &self,
        tenant: &TenantId,
        key: &NamespaceKey,
        touch: NamespaceTouch,
        at: Timestamp,
    ) -> Result<()> {
        let mut s = self.lock();
        let ns = s.live_namespace(tenant, key)?;
        match touch {
            NamespaceTouch::Read => ns.last_read_at = Some(at),
            NamespaceTouch::Maintenance => ns.last_maintenance_at = Some(at),
        }
        Ok(())
    }

    async fn archive_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        let mut s = self.lock();
        let changed = s.live_namespace(tenant, key)?.set_status(NamespaceStatus::Archived, at);
        s.bump_namespaces(tenant);
        Ok(changed)
    }

    async fn restore_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        let mut s = self.lock();
        let changed = s.live_namespace(tenant, key)?.set_status(NamespaceStatus::Active, at);
        s.bump_namespaces(tenant);
        Ok(changed)
    }

    async fn delete_namespace(&self, tenant: &TenantId, key: &NamespaceKey, at: Timestamp) -> Result<bool> {
        let mut s = self.lock();
        let ns = s
            .namespaces
            .get_mut(&(tenant.clone(), key.clone()))
            .ok_or_else(|| Error::not_found(format!("namespace {:?} not found", key.as_str())))?;
        if !ns.set_status(NamespaceStatus::Deleted, at) {
            return Ok(false);
        }
        s.bump_namespaces(tenant);
        let doomed: Vec<MemoryId> =
            s.memories_of(tenant).filter(|m| m.namespace == *key && m.deleted_at.is_none()).map(|m| m.id).collect();
        for id in doomed {
            s.tombstone(tenant, id, at);
        }
        Ok(true)
    }

    async fn put_memories(&self, tenant: &TenantId, memories: Vec<NewMemory>) -> Result<Vec<PutOutcome>> {
        checks::put_memories(&memories)?;
        let mut s = self.lock();
        for m in &memories {
            match s.namespaces.get(&(tenant.clone(), m.namespace.clone())) {
                Some(ns) if ns.status == NamespaceStatus::Active => {}
                Some(ns) => {
                    return Err(Error::not_found(format!(
                        "namespace {:?} is {}; it takes no writes",
                        m.namespace.as_str(),
                        ns.status
                    )));
                }
                None => {
                    return Err(Error::not_found(format!("namespace {:?} not found", m.namespace.as_str())));
                }
            }
        }
        // Plan the whole batch before touching state, so an error leaves nothing behind. Each
        // input either becomes a fresh memory or folds into a planned copy of the memory it
        // duplicates (an earlier input of the batch, or a stored one).
        let mut planned: HashMap<DedupeKey, usize> = HashMap::new();
        let mut changed: Vec<(Memory, bool)> = Vec::new();
        let mut new_ids = std::collections::HashSet::new();
        let mut outcomes = Vec::with_capacity(memories.len());
        let mut corrections = Vec::new();
        let mut embeddings = Vec::new();
        for m in memories {
            if let Some(old) = m.supersedes {
                corrections.push((outcomes.len(), old, m.updated_at));
            }
            let key = (tenant.clone(), m.namespace.clone(), m.layer, ContentHash::of(&m.content));
            let slot = match planned.get(&key) {
                Some(&slot) => Some(slot),
                None => s.by_hash.get(&key).map(|id| {
                    changed.push((s.memories[&(tenant.clone(), *id)].clone(), false));
                    planned.insert(key.clone(), changed.len() - 1);
                    changed.len() - 1
                }),
            };
            if let Some(slot) = slot {
                let merged = changed[slot].0.absorb_duplicate(&m)?;
                changed[slot].1 |= !merged.is_empty();
                outcomes.push(PutOutcome::Existing { id: changed[slot].0.id, merged });
                continue;
            }
            if s.memory(tenant, m.id).is_some() || !new_ids.insert(m.id) {
                return Err(Error::already_exists(format!("memory id {} is already taken", m.id)));
            }
            outcomes.push(PutOutcome::Created { id: m.id });
            if let Some(e) = &m.embedding {
                embeddings.push(((tenant.clone(), m.id, e.model.clone()), e.vector.clone()));
            }
            // A memory that arrives superseded (an import) is no dedupe target, as when stored.
            if m.superseded_by.is_none() {
                planned.insert(key, changed.len());
            }
            // A fresh memory's seq is assigned below; `true` marks it as needing one.
            changed.push((m.into_memory(tenant.clone(), 0), true));
        }
        s.embeddings.extend(embeddings);
        // In order of first appearance: new memories, and stored ones a duplicate changed,
        // take the next seqs; stored ones that only gained evidence keep theirs.
        for (mut memory, needs_seq) in changed {
            let fresh = s.memory(tenant, memory.id).is_none();
            if needs_seq {
                memory.seq = s.next_seq();
            }
            if fresh {
                let ns = s.namespaces.get_mut(&(tenant.clone(), memory.namespace.clone())).expect("checked");
                ns.last_write_at = ns.last_write_at.max(Some(memory.created_at));
                if State::dedupes(&memory) {
                    s.by_hash.insert(State::hash_key(&memory), memory.id);
                }
            }
            s.store_memory(memory);
        }
        // Corrections: the memory each input corrects stops being current.
        for (i, old, at) in corrections {
            let new = outcomes[i].id();
            if new != old && s.live_memory(tenant, old).is_some_and(|m| m.superseded_by != Some(new)) {
                let patch = MemoryPatch { superseded_by: Some(Some(new)), ..MemoryPatch::default() };
                s.update(tenant, old, &patch, at)?;
            }
        }
        Ok(outcomes)
    }

    async fn find_duplicates(&self, tenant: &TenantId, inputs: &[NewMemory]) -> Result<Vec<Option<Memory>>> {
        let s = self.lock();
        Ok(inputs
            .iter()
            .map(|m| {
                let key = (tenant.clone(), m.namespace.clone(), m.layer, ContentHash::of(&m.content));
                s.by_hash.get(&key).map(|id| s.memories[&(tenant.clone(), *id)].clone())
            })
            .collect())
    }

    async fn get_memory(&self, tenant: &TenantId, id: MemoryId) -> Result<Option<Memory>> {
        Ok(self.lock().live_memory(tenant, id).cloned())
    }

    async fn get_memories(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<Memory>> {
        let s = self.lock();
        let mut seen = std::collections::HashSet::new();
        Ok(ids.iter().filter(|id| seen.insert(**id)).filter_map(|id| s.live_memory(tenant, *id).cloned()).collect())
    }

    async fn list_memories(
        &self,
        tenant: &TenantId,
        filter: &MemoryFilter,
        page: &PageRequest,
    ) -> Result<Page<Memory>> {
        let after: Option<MemoryId> = parse_cursor(page)?;
        let s = self.lock();
        let items = of_tenant(&s.memories, tenant)
            .filter(|(id, m)| after.is_none_or(|a| *id > a) && filter.matches(m))
            .map(|(id, m)| (id, m.clone()));
        Ok(paginate(items, page.limit))
    }

    async fn count_memories(&self, tenant: &TenantId, filter: &MemoryFilter) -> Result<u64> {
        let s = self.lock();
        Ok(s.memories_of(tenant).filter(|m| filter.matches(m)).count() as u64)
    }

    async fn update_memory(
        &self,
        tenant: &TenantId,
        id: MemoryId,
        patch: &MemoryPatch,
        at: Timestamp,
    ) -> Result<Memory> {
        let mut s = self.lock();
        let before = s.live_memory(tenant, id).map(|m| m.content_hash.clone());
        let updated = s.update(tenant, id, patch, at)?;
        if before.is_some_and(|h| h != updated.content_hash) {
            s.drop_embeddings(tenant, id);
        }
        Ok(updated)
    }

    async fn get_embeddings(&self, tenant: &TenantId, model: &str, ids: &[MemoryId]) -> Result<Vec<Option<Vec<f32>>>> {
        let s = self.lock();
        Ok(ids
            .iter()
            .map(|id| {
                s.live_memory(tenant, *id)?;
                s.embeddings.get(&(tenant.clone(), *id, model.to_owned())).cloned()
            })
            .collect())
    }

    async fn move_memories(
        &self,
        tenant: &TenantId,
        from: &NamespaceKey,
        to: &NamespaceKey,
        ids: &[MemoryId],
        at: Timestamp,
    ) -> Result<Vec<MoveOutcome>> {
        let mut s = self.lock();
        match s.namespaces.get(&(tenant.clone(), to.clone())) {
            Some(ns) if ns.status == NamespaceStatus::Active => {}
            _ => return Err(Error::not_found(format!("namespace {:?} not found or not active", to.as_str()))),
        }
        let mut memories = Vec::with_capacity(ids.len());
        for id in ids {
            let m = s.live_memory(tenant, *id).ok_or_else(|| Error::not_found(format!("memory {id} not found")))?;
            memories.push(m.clone());
        }
        let (records, outcomes) = crate::plan_move(memories, from, to, at, |m| {
            let key = (tenant.clone(), to.clone(), m.layer, m.content_hash.clone());
            Ok(s.by_hash.get(&key).map(|id| s.memories[&(tenant.clone(), *id)].clone()))
        })?;
        for mut record in records {
            if let Some(old) = s.memory(tenant, record.id)
                && State::dedupes(old)
            {
                let key = State::hash_key(old);
                s.by_hash.remove(&key);
            }
            record.seq = s.next_seq();
            if State::dedupes(&record) {
                s.by_hash.insert(State::hash_key(&record), record.id);
            }
            s.store_memory(record);
        }
        // Links move with their memories, to the entity of the same kind and key in `to`.
        let mut moved = HashSet::new();
        for id in ids {
            if !moved.insert(*id) {
                continue;
            }
            for entity in s.entities_linked_to(tenant, *id) {
                let (kind, name) = {
                    let e = &s.entities[&entity];
                    (e.kind, e.name.clone())
                };
                let target = s.entity_for(tenant, to, kind, &name, at);
                s.remove_link(entity, *id);
                s.add_link(target, *id, at);
            }
        }
        Ok(outcomes)
    }

    async fn delete_memory(&self, tenant: &TenantId, id: MemoryId, at: Timestamp) -> Result<bool> {
        let mut s = self.lock();
        match s.memory(tenant, id) {
            Some(m) if m.deleted_at.is_some() => Ok(false),
            Some(_) => {
                s.tombstone(tenant, id, at);
                Ok(true)
            }
            None => Err(Error::not_found(format!("memory {id} not found"))),
        }
    }

    async fn purge(&self, tenant: &TenantId, before: Timestamp) -> Result<PurgeReport> {
        let mut s = self.lock();
        let doomed: Vec<MemoryId> =
            s.memories_of(tenant).filter(|m| m.deleted_at.is_some_and(|d| d <= before)).map(|m| m.id).collect();
        for id in &doomed {
            s.memories.remove(&(tenant.clone(), *id));
            s.drop_embeddings(tenant, *id);
            for entity in s.entities_linked_to(tenant, *id) {
                s.remove_link(entity, *id);
            }
        }
        let unlinked: Vec<EntityId> = s
            .entities
            .values()
            .filter(|e| e.tenant == *tenant)
            .filter(|e| s.links.range((e.id, MIN_MEMORY)..=(e.id, MAX_MEMORY)).next().is_none())
            .map(|e| e.id)
            .collect();
        for id in unlinked {
            s.remove_entity(id);
        }
        let empty_deleted: Vec<(TenantId, NamespaceKey)> = s
            .namespaces
            .iter()
            .filter(|((t, key), ns)| {
                t == tenant
                    && ns.status == NamespaceStatus::Deleted
                    && !s.memories_of(tenant).any(|m| m.namespace == *key)
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in &empty_deleted {
            s.namespaces.remove(k);
            let (_, key) = k;
            let entities: Vec<EntityId> =
                s.entities.values().filter(|e| e.tenant == *tenant && e.namespace == *key).map(|e| e.id).collect();
            for id in entities {
                for (_, memory) in s.links.range((id, MIN_MEMORY)..=(id, MAX_MEMORY)).copied().collect::<Vec<_>>() {
                    s.remove_link(id, memory);
                }
                s.remove_entity(id);
            }
            s.job_runs.retain(|(t, ns, _), _| !(t == tenant && ns == key));
        }
        if !empty_deleted.is_empty() {
            s.bump_namespaces(tenant);
        }
        Ok(PurgeReport { memories: doomed.len() as u64, namespaces: empty_deleted.len() as u64 })
    }

    async fn changes_since(&self, tenant: &TenantId, after_seq: u64, limit: usize) -> Result<Vec<Memory>> {
        checks::changes_since(limit)?;
        let s = self.lock();
        let mut changed: Vec<Memory> = s.memories_of(tenant).filter(|m| m.seq > after_seq).cloned().collect();
        changed.sort_by_key(|m| m.seq);
        changed.truncate(limit);
        Ok(changed)
    }

    async fn taken_memory_ids(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<MemoryId>> {
        let s = self.lock();
        let mut seen = std::collections::HashSet::new();
        Ok(ids.iter().filter(|id| s.memory(tenant, **id).is_some() && seen.insert(**id)).copied().collect())
    }

    async fn last_seq(&self) -> Result<u64> {
        Ok(self.lock().seq)
    }

    async fn store_id(&self) -> Result<StoreId> {
        Ok(self.id)
    }

    async fn record_outcomes(
        &self,
        tenant: &TenantId,
        ids: &[MemoryId],
        outcome: Outcome,
        at: Timestamp,
    ) -> Result<()> {
        checks::record_outcomes(outcome, at)?;
        let mut s = self.lock();
        if let Some(missing) = ids.iter().find(|id| s.live_memory(tenant, **id).is_none()) {
            return Err(Error::not_found(format!("memory {missing} not found")));
        }
        for id in ids {
            let m = s.memory_mut(tenant, *id).expect("checked");
            m.stats.apply_outcome(outcome, at)?;
        }
        Ok(())
    }

    async fn record_access(&self, tenant: &TenantId, ids: &[MemoryId], at: Timestamp) -> Result<u64> {
        let mut s = self.lock();
        let mut updated = 0;
        for id in ids {
            if s.live_memory(tenant, *id).is_some() {
                let m = s.memory_mut(tenant, *id).expect("checked");
                m.stats.access_count = m.stats.access_count.saturating_add(1);
                m.stats.last_accessed_at = Some(at);
                updated += 1;
            }
        }
        Ok(updated)
    }

    async fn append_audit(&self, record: AuditRecord) -> Result<()> {
        checks::append_audit(&record)?;
        let mut s = self.lock();
        let key = (record.tenant.clone(), record.id);
        if s.audit.contains_key(&key) {
            return Err(Error::already_exists(format!("audit record {} already exists", record.id)));
        }
        s.audit.insert(key, record);
        Ok(())
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>> {
        let after: Option<AuditId> = parse_cursor(page)?;
        let s = self.lock();
        let items = of_tenant(&s.audit, tenant)
            .filter(|(id, r)| after.is_none_or(|a| *id > a) && filter.matches(r))
            .map(|(id, r)| (id, r.clone()));
        Ok(paginate(items, page.limit))
    }

    async fn create_api_key(&self, key: ApiKey) -> Result<()> {
        checks::create_api_key(&key)?;
        let mut s = self.lock();
        if s.keys.contains_key(&key.id) || s.keys.values().any(|k| k.hash == key.hash) {
            return Err(Error::already_exists("an API key with this id or secret already exists"));
        }
        s.keys.insert(key.id, key);
        Ok(())
    }

    async fn find_api_key(&self, hash: &KeyHash) -> Result<Option<ApiKey>> {
        let s = self.lock();
        Ok(s.keys.values().find(|k| k.hash == *hash && k.revoked_at.is_none()).cloned())
    }

    async fn get_api_key(&self, tenant: &TenantId, id: ApiKeyId) -> Result<Option<ApiKey>> {
        Ok(self.lock().keys.get(&id).filter(|k| k.tenant == *tenant).cloned())
    }

    async fn list_api_keys(&self, tenant: &TenantId) -> Result<Vec<ApiKey>> {
        Ok(self.lock().keys.values().filter(|k| k.tenant == *tenant).cloned().collect())
    }

    async fn update_api_key_scopes(
        &self,
        tenant: &TenantId,
        id: ApiKeyId,
        scopes: Vec<KeyScope>,
        default_namespace: Option<NamespaceKey>,
        at: Timestamp,
    ) -> Result<ApiKey> {
        checks::update_api_key_scopes(&scopes)?;
        let mut s = self.lock();
        let key = s
            .keys
            .get_mut(&id)
            .filter(|k| k.tenant == *tenant)
            .ok_or_else(|| Error::not_found(format!("API key {id} not found")))?;
        if key.revoked_at.is_some() {
            return Err(Error::conflict(format!("API key {id} is revoked")));
        }
        key.scopes = scopes;
        key.default_namespace = default_namespace;
        key.updated_at = at.max(key.created_at);
        Ok(key.clone())
    }

    async fn revoke_api_key(&self, tenant: &TenantId, id: ApiKeyId, at: Timestamp) -> Result<bool> {
        let mut s = self.lock();
        let key = s
            .keys
            .get_mut(&id)
            .filter(|k| k.tenant == *tenant)
            .ok_or_else(|| Error::not_found(format!("API key {id} not found")))?;
        if key.revoked_at.is_some() {
            return Ok(false);
        }
        key.revoked_at = Some(at);
        Ok(true)
    }

    async fn create_proposal(&self, proposal: Proposal) -> Result<()> {
        checks::create_proposal(&proposal)?;
        let mut s = self.lock();
        let key = (proposal.tenant.clone(), proposal.id);
        if s.proposals.contains_key(&key) {
            return Err(Error::already_exists(format!("proposal {} already exists", proposal.id)));
        }
        s.proposals.insert(key, proposal);
        Ok(())
    }

    async fn get_proposal(&self, tenant: &TenantId, id: ProposalId) -> Result<Option<Proposal>> {
        Ok(self.lock().proposals.get(&(tenant.clone(), id)).cloned())
    }

    async fn list_proposals(
        &self,
        tenant: &TenantId,
        filter: &ProposalFilter,
        page: &PageRequest,
    ) -> Result<Page<Proposal>> {
        let after: Option<ProposalId> = parse_cursor(page)?;
        let s = self.lock();
        let items = of_tenant(&s.proposals, tenant)
            .filter(|(id, p)| after.is_none_or(|a| *id > a) && filter.matches(p))
            .map(|(id, p)| (id, p.clone()));
        Ok(paginate(items, page.limit))
    }

    async fn decide_proposal(
        &self,
        tenant: &TenantId,
        id: ProposalId,
        decision: Decision,
        by: Principal,
        at: Timestamp,
    ) -> Result<Proposal> {
        let mut s = self.lock();
        let p = s
            .proposals
            .get_mut(&(tenant.clone(), id))
            .ok_or_else(|| Error::not_found(format!("proposal {id} not found")))?;
        p.decide(decision, by, at)?;
        Ok(p.clone())
    }

    async fn link_entities(
        &self,
        tenant: &TenantId,
        namespace: &NamespaceKey,
        links: &[EntityLink],
        at: Timestamp,
    ) -> Result<Vec<Entity>> {
        checks::link_entities(links)?;
        if links.is_empty() {
            return Ok(vec![]);
        }
        let mut s = self.lock();
        s.live_namespace(tenant, namespace)?;
        for link in links {
            match s.live_memory(tenant, link.memory) {
                Some(m) if m.namespace == *namespace => {}
                _ => {
                    return Err(Error::not_found(format!(
                        "memory {} is not a live memory of namespace {:?}",
                        link.memory,
                        namespace.as_str()
                    )));
                }
            }
        }
        let mut linked = Vec::new();
        for link in links {
            let entity = s.entity_for(tenant, namespace, link.kind, &link.name, at);
            s.add_link(entity, link.memory, at);
            if !linked.contains(&entity) {
                linked.push(entity);
            }
        }
        Ok(linked.iter().map(|id| s.entity_view(&s.entities[id])).collect())
    }

    async fn get_entity(&self, tenant: &TenantId, id: EntityId) -> Result<Option<Entity>> {
        let s = self.lock();
        Ok(s.entities.get(&id).filter(|e| e.tenant == *tenant).map(|e| s.entity_view(e)))
    }

    async fn list_entities(
        &self,
        tenant: &TenantId,
        filter: &EntityFilter,
        page: &PageRequest,
    ) -> Result<Page<Entity>> {
        let after: Option<EntityId> = parse_cursor(page)?;
        let s = self.lock();
        let items = s
            .entities
            .iter()
            .filter(|(id, e)| after.is_none_or(|a| **id > a) && e.tenant == *tenant && filter.matches(e))
            .map(|(id, e)| (*id, s.entity_view(e)));
        Ok(paginate(items, page.limit))
    }

    async fn entity_memories(&self, tenant: &TenantId, id: EntityId, page: &PageRequest) -> Result<Page<MemoryId>> {
        let after: Option<MemoryId> = parse_cursor(page)?;
        let s = self.lock();
        if s.entities.get(&id).is_none_or(|e| e.tenant != *tenant) {
            return Err(Error::not_found(format!("entity {id} not found")));
        }
        let items = s
            .links
            .range((id, MIN_MEMORY)..=(id, MAX_MEMORY))
            .map(|(_, m)| *m)
            .filter(|m| after.is_none_or(|a| *m > a) && s.live_memory(tenant, *m).is_some())
            .map(|m| (m, m));
        Ok(paginate(items, page.limit))
    }

    async fn entities_of(&self, tenant: &TenantId, ids: &[MemoryId]) -> Result<Vec<(MemoryId, Entity)>> {
        let s = self.lock();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for id in ids {
            if !seen.insert(*id) || s.live_memory(tenant, *id).is_none() {
                continue;
            }
            for entity in s.entities_linked_to(tenant, *id) {
                out.push((*id, s.entity_view(&s.entities[&entity])));
            }
        }
        Ok(out)
    }

    async fn try_lock_job(&self, lock: &JobLock) -> Result<bool> {
        checks::try_lock_job(lock)?;
        let mut s = self.lock();
        let key = (lock.tenant.clone(), lock.job, lock.namespace.clone());
        if let Some(held) = s.job_locks.get(&key)
            && held.holder != lock.holder
            && held.expires_at > lock.acquired_at
        {
            return Ok(false);
        }
        s.job_locks.insert(key, lock.clone());
        Ok(true)
    }

    async fn unlock_job(&self, tenant: &TenantId, job: Job, namespace: &NamespaceKey, holder: &str) -> Result<bool> {
        let mut s = self.lock();
        let key = (tenant.clone(), job, namespace.clone());
        if s.job_locks.get(&key).is_some_and(|l| l.holder == holder) {
            s.job_locks.remove(&key);
            return Ok(true);
        }
        Ok(false)
    }

    async fn record_job_run(&self, run: &JobRun) -> Result<()> {
        checks::record_job_run(run)?;
        self.lock().job_runs.insert((run.tenant.clone(), run.namespace.clone(), run.job), run.clone());
        Ok(())
    }

    async fn list_job_runs(&self, tenant: &TenantId, namespace: Option<&NamespaceKey>) -> Result<Vec<JobRun>> {
        let s = self.lock();
        Ok(s.job_runs
            .iter()
            .filter(|((t, ns, _), _)| t == tenant && namespace.is_none_or(|n| n == ns))
            .map(|(_, r)| r.clone())
            .collect())
    }
}
