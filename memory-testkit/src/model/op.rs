//! The operations of the model test and how one is applied to a store, giving a reply that can
//! be compared between the store under test and the reference.
//!
//! Replies hide what the contract leaves to each backend: `seq` values (only their order is
//! specified, and that is compared through the change feed) and cursor strings (opaque; each
//! store pages with its own).

use crate::fixtures::PageFuture;
use memory_core::{
    ApiKey, ApiKeyId, AuditFilter, AuditRecord, Decision, Error, ErrorKind, KeyHash, KeyScope, MAX_PAGE_LIMIT, Memory,
    MemoryFilter, MemoryId, MemoryPatch, Namespace, NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceTouch,
    NewMemory, Outcome, PageRequest, Principal, Proposal, ProposalFilter, ProposalId, PurgeReport, PutOutcome, Result,
    Store, TenantId, Timestamp,
};

/// Where a change-feed read starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ChangePoint {
    /// `after_seq = 0`.
    Start,
    /// After the current `seq` of this memory, as each store numbers it.
    After(MemoryId),
    /// After the store's latest change of the tenant.
    End,
}

/// One call (or, for paged calls, one full walk over the pages) of the `Store` API.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    CreateNamespace(Namespace),
    GetNamespace {
        tenant: TenantId,
        key: NamespaceKey,
    },
    ListNamespaces {
        tenant: TenantId,
        filter: NamespaceFilter,
    },
    UpdateNamespace {
        tenant: TenantId,
        key: NamespaceKey,
        patch: NamespacePatch,
        at: Timestamp,
    },
    TouchNamespace {
        tenant: TenantId,
        key: NamespaceKey,
        touch: NamespaceTouch,
        at: Timestamp,
    },
    ArchiveNamespace {
        tenant: TenantId,
        key: NamespaceKey,
        at: Timestamp,
    },
    RestoreNamespace {
        tenant: TenantId,
        key: NamespaceKey,
        at: Timestamp,
    },
    DeleteNamespace {
        tenant: TenantId,
        key: NamespaceKey,
        at: Timestamp,
    },
    PutMemories {
        tenant: TenantId,
        memories: Vec<NewMemory>,
    },
    GetMemory {
        tenant: TenantId,
        id: MemoryId,
    },
    GetMemories {
        tenant: TenantId,
        ids: Vec<MemoryId>,
    },
    /// Pages through every match with `limit`, following cursors.
    ListMemories {
        tenant: TenantId,
        filter: MemoryFilter,
        limit: usize,
    },
    /// One page; `cursor` is `None` or deliberately malformed.
    ListMemoriesPage {
        tenant: TenantId,
        filter: MemoryFilter,
        limit: usize,
        cursor: Option<String>,
    },
    CountMemories {
        tenant: TenantId,
        filter: MemoryFilter,
    },
    UpdateMemory {
        tenant: TenantId,
        id: MemoryId,
        patch: MemoryPatch,
        at: Timestamp,
    },
    DeleteMemory {
        tenant: TenantId,
        id: MemoryId,
        at: Timestamp,
    },
    Purge {
        tenant: TenantId,
        before: Timestamp,
    },
    /// Reads the change feed from `after` to its end, `limit` changes a call.
    ChangesSince {
        tenant: TenantId,
        after: ChangePoint,
        limit: usize,
    },
    TakenMemoryIds {
        tenant: TenantId,
        ids: Vec<MemoryId>,
    },
    RecordOutcomes {
        tenant: TenantId,
        ids: Vec<MemoryId>,
        outcome: Outcome,
        at: Timestamp,
    },
    RecordAccess {
        tenant: TenantId,
        ids: Vec<MemoryId>,
        at: Timestamp,
    },
    AppendAudit(AuditRecord),
    ListAudit {
        tenant: TenantId,
        filter: AuditFilter,
        limit: usize,
    },
    CreateApiKey(ApiKey),
    FindApiKey(KeyHash),
    GetApiKey {
        tenant: TenantId,
        id: ApiKeyId,
    },
    ListApiKeys {
        tenant: TenantId,
    },
    UpdateApiKeyScopes {
        tenant: TenantId,
        id: ApiKeyId,
        scopes: Vec<KeyScope>,
        default_namespace: Option<NamespaceKey>,
        at: Timestamp,
    },
    RevokeApiKey {
        tenant: TenantId,
        id: ApiKeyId,
        at: Timestamp,
    },
    CreateProposal(Proposal),
    GetProposal {
        tenant: TenantId,
        id: ProposalId,
    },
    ListProposals {
        tenant: TenantId,
        filter: ProposalFilter,
        limit: usize,
    },
    DecideProposal {
        tenant: TenantId,
        id: ProposalId,
        decision: Decision,
        by: Principal,
        at: Timestamp,
    },
}

/// A successful reply, normalized for comparison (memories carry `seq = 0`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Answer {
    Done,
    Flag(bool),
    Count(u64),
    Namespace(Namespace),
    MaybeNamespace(Option<Namespace>),
    Namespaces(Vec<Namespace>),
    Outcomes(Vec<PutOutcome>),
    Memory(Memory),
    MaybeMemory(Option<Memory>),
    Memories(Vec<Memory>),
    MemoryIds(Vec<MemoryId>),
    MemoryPages(Vec<Vec<Memory>>),
    MemoryPage { items: Vec<Memory>, more: bool },
    Purged(PurgeReport),
    AuditPages(Vec<Vec<AuditRecord>>),
    Key(ApiKey),
    MaybeKey(Option<ApiKey>),
    Keys(Vec<ApiKey>),
    Proposal(Proposal),
    MaybeProposal(Option<Proposal>),
    ProposalPages(Vec<Vec<Proposal>>),
}

/// Why a call produced no answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// The store returned an error; only its kind is compared (messages are free text).
    Kind(ErrorKind),
    /// The reply broke the contract on its own, whatever the reference says (a page longer
    /// than its limit, a change feed out of order...). Always reported.
    Violation(String),
}

pub(crate) type Reply = std::result::Result<Answer, Failure>;

fn kind(e: Error) -> Failure {
    Failure::Kind(e.kind())
}

fn answer<T>(result: Result<T>, to_answer: impl FnOnce(T) -> Answer) -> Reply {
    result.map(to_answer).map_err(kind)
}

/// The memory with its backend-specific `seq` hidden.
pub(crate) fn normalized(mut memory: Memory) -> Memory {
    memory.seq = 0;
    memory
}

fn normalized_all(memories: Vec<Memory>) -> Vec<Memory> {
    memories.into_iter().map(normalized).collect()
}

/// Follows cursors from the first page to the last, checking each page's shape.
async fn walk<'a, T>(
    limit: usize,
    mut fetch: impl FnMut(PageRequest) -> PageFuture<'a, T>,
) -> std::result::Result<Vec<Vec<T>>, Failure> {
    let mut pages = Vec::new();
    let mut request = PageRequest::first(limit);
    loop {
        let page = fetch(request).await.map_err(kind)?;
        if page.items.len() > limit {
            return Err(Failure::Violation(format!("a page of limit {limit} held {} items", page.items.len())));
        }
        if page.next_cursor.is_some() && page.items.len() < limit {
            return Err(Failure::Violation(format!(
                "a page of {} items (limit {limit}) has a next_cursor although it is short",
                page.items.len()
            )));
        }
        pages.push(page.items);
        match page.next_cursor {
            Some(cursor) => request = PageRequest::after(cursor, limit),
            None => return Ok(pages),
        }
        if pages.len() > 100_000 {
            return Err(Failure::Violation(format!("paging with limit {limit} did not end")));
        }
    }
}

/// The tenant's whole change feed, checking that `seq` strictly increases.
async fn change_feed(
    store: &dyn Store,
    tenant: &TenantId,
    mut after: u64,
    limit: usize,
) -> Result<Vec<Memory>, Failure> {
    let mut out: Vec<Memory> = Vec::new();
    for _ in 0..100_000 {
        let batch = store.changes_since(tenant, after, limit).await.map_err(kind)?;
        if batch.len() > limit {
            return Err(Failure::Violation(format!(
                "changes_since returned {} changes for limit {limit}",
                batch.len()
            )));
        }
        let Some(last) = batch.last() else { return Ok(out) };
        let mut previous = after;
        for change in &batch {
            if change.seq <= previous {
                return Err(Failure::Violation(format!(
                    "changes_since({after}) returned seq {} after seq {previous}",
                    change.seq
                )));
            }
            previous = change.seq;
        }
        after = last.seq;
        out.extend(batch);
    }
    Err(Failure::Violation("the change feed did not end".to_owned()))
}

async fn seq_at(store: &dyn Store, tenant: &TenantId, point: &ChangePoint) -> Result<u64, Failure> {
    match point {
        ChangePoint::Start => Ok(0),
        ChangePoint::End => Ok(change_feed(store, tenant, 0, MAX_PAGE_LIMIT).await?.last().map_or(0, |m| m.seq)),
        ChangePoint::After(id) => {
            let feed = change_feed(store, tenant, 0, MAX_PAGE_LIMIT).await?;
            feed.iter()
                .find(|m| m.id == *id)
                .map(|m| m.seq)
                .ok_or_else(|| Failure::Violation(format!("memory {id} is missing from the change feed")))
        }
    }
}

impl Op {
    /// The operation's name, for the coverage summary.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::CreateNamespace(..) => "CreateNamespace",
            Op::GetNamespace { .. } => "GetNamespace",
            Op::ListNamespaces { .. } => "ListNamespaces",
            Op::UpdateNamespace { .. } => "UpdateNamespace",
            Op::TouchNamespace { .. } => "TouchNamespace",
            Op::ArchiveNamespace { .. } => "ArchiveNamespace",
            Op::RestoreNamespace { .. } => "RestoreNamespace",
            Op::DeleteNamespace { .. } => "DeleteNamespace",
            Op::PutMemories { .. } => "PutMemories",
            Op::GetMemory { .. } => "GetMemory",
            Op::GetMemories { .. } => "GetMemories",
            Op::ListMemories { .. } => "ListMemories",
            Op::ListMemoriesPage { .. } => "ListMemoriesPage",
            Op::CountMemories { .. } => "CountMemories",
            Op::UpdateMemory { .. } => "UpdateMemory",
            Op::DeleteMemory { .. } => "DeleteMemory",
            Op::Purge { .. } => "Purge",
            Op::ChangesSince { .. } => "ChangesSince",
            Op::TakenMemoryIds { .. } => "TakenMemoryIds",
            Op::RecordOutcomes { .. } => "RecordOutcomes",
            Op::RecordAccess { .. } => "RecordAccess",
            Op::AppendAudit(..) => "AppendAudit",
            Op::ListAudit { .. } => "ListAudit",
            Op::CreateApiKey(..) => "CreateApiKey",
            Op::FindApiKey(..) => "FindApiKey",
            Op::GetApiKey { .. } => "GetApiKey",
            Op::ListApiKeys { .. } => "ListApiKeys",
            Op::UpdateApiKeyScopes { .. } => "UpdateApiKeyScopes",
            Op::RevokeApiKey { .. } => "RevokeApiKey",
            Op::CreateProposal(..) => "CreateProposal",
            Op::GetProposal { .. } => "GetProposal",
            Op::ListProposals { .. } => "ListProposals",
            Op::DecideProposal { .. } => "DecideProposal",
        }
    }

    /// Runs the operation on `store`.
    pub(crate) async fn apply(&self, store: &dyn Store) -> Reply {
        match self {
            Op::CreateNamespace(namespace) => {
                answer(store.create_namespace(namespace.clone()).await, |()| Answer::Done)
            }
            Op::GetNamespace { tenant, key } => answer(store.get_namespace(tenant, key).await, Answer::MaybeNamespace),
            Op::ListNamespaces { tenant, filter } => {
                answer(store.list_namespaces(tenant, filter).await, Answer::Namespaces)
            }
            Op::UpdateNamespace { tenant, key, patch, at } => {
                answer(store.update_namespace(tenant, key, patch, *at).await, Answer::Namespace)
            }
            Op::TouchNamespace { tenant, key, touch, at } => {
                answer(store.touch_namespace(tenant, key, *touch, *at).await, |()| Answer::Done)
            }
            Op::ArchiveNamespace { tenant, key, at } => {
                answer(store.archive_namespace(tenant, key, *at).await, Answer::Flag)
            }
            Op::RestoreNamespace { tenant, key, at } => {
                answer(store.restore_namespace(tenant, key, *at).await, Answer::Flag)
            }
            Op::DeleteNamespace { tenant, key, at } => {
                answer(store.delete_namespace(tenant, key, *at).await, Answer::Flag)
            }
            Op::PutMemories { tenant, memories } => {
                answer(store.put_memories(tenant, memories.clone()).await, Answer::Outcomes)
            }
            Op::GetMemory { tenant, id } => {
                answer(store.get_memory(tenant, *id).await, |m| Answer::MaybeMemory(m.map(normalized)))
            }
            Op::GetMemories { tenant, ids } => {
                answer(store.get_memories(tenant, ids).await, |m| Answer::Memories(normalized_all(m)))
            }
            Op::ListMemories { tenant, filter, limit } => {
                let pages =
                    walk(*limit, move |page| Box::pin(async move { store.list_memories(tenant, filter, &page).await }))
                        .await?;
                Ok(Answer::MemoryPages(pages.into_iter().map(normalized_all).collect()))
            }
            Op::ListMemoriesPage { tenant, filter, limit, cursor } => {
                let request = PageRequest { cursor: cursor.clone(), limit: *limit };
                answer(store.list_memories(tenant, filter, &request).await, |page| Answer::MemoryPage {
                    more: page.next_cursor.is_some(),
                    items: normalized_all(page.items),
                })
            }
            Op::CountMemories { tenant, filter } => answer(store.count_memories(tenant, filter).await, Answer::Count),
            Op::UpdateMemory { tenant, id, patch, at } => {
                answer(store.update_memory(tenant, *id, patch, *at).await, |m| Answer::Memory(normalized(m)))
            }
            Op::DeleteMemory { tenant, id, at } => answer(store.delete_memory(tenant, *id, *at).await, Answer::Flag),
            Op::Purge { tenant, before } => answer(store.purge(tenant, *before).await, Answer::Purged),
            Op::ChangesSince { tenant, after, limit } => {
                let after_seq = seq_at(store, tenant, after).await?;
                Ok(Answer::Memories(normalized_all(change_feed(store, tenant, after_seq, *limit).await?)))
            }
            Op::TakenMemoryIds { tenant, ids } => answer(store.taken_memory_ids(tenant, ids).await, Answer::MemoryIds),
            Op::RecordOutcomes { tenant, ids, outcome, at } => {
                answer(store.record_outcomes(tenant, ids, *outcome, *at).await, |()| Answer::Done)
            }
            Op::RecordAccess { tenant, ids, at } => answer(store.record_access(tenant, ids, *at).await, Answer::Count),
            Op::AppendAudit(record) => answer(store.append_audit(record.clone()).await, |()| Answer::Done),
            Op::ListAudit { tenant, filter, limit } => {
                let pages =
                    walk(*limit, move |page| Box::pin(async move { store.list_audit(tenant, filter, &page).await }))
                        .await?;
                Ok(Answer::AuditPages(pages))
            }
            Op::CreateApiKey(key) => answer(store.create_api_key(key.clone()).await, |()| Answer::Done),
            Op::FindApiKey(hash) => answer(store.find_api_key(hash).await, Answer::MaybeKey),
            Op::GetApiKey { tenant, id } => answer(store.get_api_key(tenant, *id).await, Answer::MaybeKey),
            Op::ListApiKeys { tenant } => answer(store.list_api_keys(tenant).await, Answer::Keys),
            Op::UpdateApiKeyScopes { tenant, id, scopes, default_namespace, at } => answer(
                store.update_api_key_scopes(tenant, *id, scopes.clone(), default_namespace.clone(), *at).await,
                Answer::Key,
            ),
            Op::RevokeApiKey { tenant, id, at } => answer(store.revoke_api_key(tenant, *id, *at).await, Answer::Flag),
            Op::CreateProposal(proposal) => answer(store.create_proposal(proposal.clone()).await, |()| Answer::Done),
            Op::GetProposal { tenant, id } => answer(store.get_proposal(tenant, *id).await, Answer::MaybeProposal),
            Op::ListProposals { tenant, filter, limit } => {
                let pages = walk(*limit, move |page| {
                    Box::pin(async move { store.list_proposals(tenant, filter, &page).await })
                })
                .await?;
                Ok(Answer::ProposalPages(pages))
            }
            Op::DecideProposal { tenant, id, decision, by, at } => {
                answer(store.decide_proposal(tenant, *id, *decision, by.clone(), *at).await, Answer::Proposal)
            }
        }
    }
}
