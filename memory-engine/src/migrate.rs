//! Namespace migration (seeds/002 `namespaces migrate`): every memory of one namespace moves
//! into another, keeping its id and history. A dry run only plans; an apply moves batch by
//! batch, each batch one atomic [`memory_core::Store::move_memories`], so a killed apply leaves
//! whole batches moved and the next apply moves the rest.

use memory_core::{
    AuditOp, AuditOutcome, Error, MemoryFilter, MemoryId, MoveOutcome, NamespaceKey, NamespaceStatus, NewMemory,
    PageRequest, Result,
};
use serde::Serialize;
use serde_json::json;

use crate::caller::Caller;
use crate::engine::Engine;
use crate::namespaces::parse_key;

/// Memories moved per batch unless the request says otherwise.
pub const DEFAULT_MIGRATE_BATCH: usize = 500;

/// A migration to plan or apply.
#[derive(Debug, Clone)]
pub struct MigrateRequest {
    /// The namespace emptied.
    pub from: String,
    /// The namespace that receives its memories.
    pub to: String,
    /// Move them (else only plan).
    pub apply: bool,
    /// Memories per atomic batch (1..=1000).
    pub batch: usize,
}

impl MigrateRequest {
    /// A dry run of moving `from` into `to`.
    pub fn dry_run(from: &str, to: &str) -> Self {
        MigrateRequest { from: from.to_owned(), to: to.to_owned(), apply: false, batch: DEFAULT_MIGRATE_BATCH }
    }

    /// Moving `from` into `to`.
    pub fn apply(from: &str, to: &str) -> Self {
        MigrateRequest { apply: true, ..Self::dry_run(from, to) }
    }
}

/// A memory of the source that duplicates one of the target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicate {
    /// The memory of the source.
    pub id: MemoryId,
    /// The memory of the target with the same layer and content.
    pub into: MemoryId,
    /// Why it cannot merge (another category); `None` when it merges.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
}

/// What a migration does (dry run) or did (apply).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Migration {
    /// The source.
    pub from: NamespaceKey,
    /// The target.
    pub to: NamespaceKey,
    /// Whether memories were moved.
    pub applied: bool,
    /// Live memories of the source when planned (superseded ones included).
    pub memories: u64,
    /// Those that move as they are.
    pub moves: u64,
    /// Duplicates that merge into a memory of the target (they move in superseded by it).
    pub merges: Vec<Duplicate>,
    /// Duplicates that cannot merge; an apply refuses while there are any.
    pub conflicts: Vec<Duplicate>,
    /// Memories moved by this apply (merged ones included).
    pub moved: u64,
    /// Batches this apply committed.
    pub batches: u64,
}

impl Engine {
    /// Plans or applies moving every memory of `from` into `to` (both readable and writable
    /// by the caller, or the caller an operator; `to` active). An apply refuses (`Conflict`,
    /// nothing moved) while a duplicate has another category, moves in atomic batches, audits
    /// each, and leaves `from` empty but not deleted. Running it again after an interruption
    /// moves what is left.
    pub async fn migrate_namespace(&self, caller: &Caller, request: &MigrateRequest) -> Result<Migration> {
        let from = parse_key(&request.from)?;
        let to = parse_key(&request.to)?;
        if from == to {
            return Err(Error::invalid_input(format!("cannot migrate {:?} into itself", from.as_str())));
        }
        if !(1..=1000).contains(&request.batch) {
            return Err(Error::invalid_input(format!("batch: must be 1..=1000; got {}", request.batch)));
        }
        let t = self.tenant(&caller.tenant).await?;
        self.authorize_manage(caller, &from, AuditOp::NamespaceMigrate).await?;
        self.authorize_manage(caller, &to, AuditOp::NamespaceMigrate).await?;
        let store = &self.inner.store;
        let status = |ns: Option<memory_core::Namespace>| ns.map(|n| n.status);
        if !matches!(
            status(store.get_namespace(&caller.tenant, &from).await?),
            Some(NamespaceStatus::Active | NamespaceStatus::Archived)
        ) {
            return Err(Error::not_found(format!("the source namespace {:?} is missing or deleted", from.as_str())));
        }
        if status(store.get_namespace(&caller.tenant, &to).await?) != Some(NamespaceStatus::Active) {
            return Err(Error::not_found(format!(
                "the target namespace {:?} is missing, archived or deleted",
                to.as_str()
            )));
        }
        let mut report = self.plan_migration(caller, &from, &to).await?;
        if !request.apply {
            return Ok(report);
        }
        if !report.conflicts.is_empty() {
            let ids: Vec<String> = report.conflicts.iter().map(|c| c.id.to_string()).collect();
            return Err(Error::conflict(format!(
                "cannot migrate {:?} into {:?}: {} memories duplicate one of the target with another category \
                 ({}); forget or change one of each pair first",
                from.as_str(),
                to.as_str(),
                ids.len(),
                ids.join(", ")
            )));
        }
        self.index_before_writing(&t).await;
        let mut filter = MemoryFilter::default();
        filter.namespaces = Some(vec![from.clone()]);
        loop {
            let page = store.list_memories(&caller.tenant, &filter, &PageRequest::first(request.batch)).await?;
            if page.items.is_empty() {
                break;
            }
            let ids: Vec<MemoryId> = page.items.iter().map(|m| m.id).collect();
            let outcomes = store.move_memories(&caller.tenant, &from, &to, &ids, self.now()).await?;
            let merged = outcomes.iter().filter(|o| matches!(o, MoveOutcome::Merged { .. })).count();
            report.moved += outcomes.len() as u64;
            report.batches += 1;
            let detail = json!({ "to": to, "batch": report.batches, "moved": outcomes.len(), "merged": merged });
            self.audit(caller, Some(&from), AuditOp::NamespaceMigrate, AuditOutcome::Ok, detail).await?;
        }
        report.applied = true;
        let _ = self.catch_up(&t).await;
        Ok(report)
    }

    /// The plan: every live memory of `from`, and which of them duplicate a memory of `to`.
    async fn plan_migration(&self, caller: &Caller, from: &NamespaceKey, to: &NamespaceKey) -> Result<Migration> {
        let store = &self.inner.store;
        let mut report = Migration {
            from: from.clone(),
            to: to.clone(),
            applied: false,
            memories: 0,
            moves: 0,
            merges: Vec::new(),
            conflicts: Vec::new(),
            moved: 0,
            batches: 0,
        };
        let mut filter = MemoryFilter::default();
        filter.namespaces = Some(vec![from.clone()]);
        let mut page = PageRequest::first(memory_core::MAX_PAGE_LIMIT);
        loop {
            let got = store.list_memories(&caller.tenant, &filter, &page).await?;
            report.memories += got.items.len() as u64;
            // Only live, unsuperseded memories take part in deduplication.
            let candidates: Vec<_> = got.items.iter().filter(|m| m.superseded_by.is_none()).collect();
            let probes: Vec<NewMemory> =
                candidates.iter().map(|m| NewMemory::new(to.clone(), m.layer, &m.content, m.created_at)).collect();
            let twins = store.find_duplicates(&caller.tenant, &probes).await?;
            for (m, twin) in candidates.iter().zip(twins) {
                let Some(twin) = twin else { continue };
                let conflict = (twin.category != m.category).then(|| {
                    format!(
                        "category {:?} here, {:?} in {:?}",
                        m.category.as_str(),
                        twin.category.as_str(),
                        to.as_str()
                    )
                });
                let dup = Duplicate { id: m.id, into: twin.id, conflict };
                if dup.conflict.is_some() { report.conflicts.push(dup) } else { report.merges.push(dup) }
            }
            match got.next_cursor {
                Some(cursor) => page = PageRequest { cursor: Some(cursor), ..page },
                None => break,
            }
        }
        report.moves = report.memories - (report.merges.len() + report.conflicts.len()) as u64;
        Ok(report)
    }
}
