//! The operations the HTTP routes and the MCP tools share: a wire request in, the engine call,
//! the wire answer out. Both front ends call these, so a tool and a route of the same
//! operation can never answer differently.

use memory_core::{EntityKind, Error, NamespaceFilter, ProposalStatus, Result};
use memory_engine::{Caller, Engine, Written};

use crate::dto::{
    self, ConsolidateBody, ConsolidationDto, CreateBatch, CreateMemory, EntitiesQuery, EntityDto, EntityMemoriesDto,
    EntityPage, Forgotten, JobRunDto, JobRunList, MaintainBody, MaintenanceDto, MemoryDto, NamespaceDto, NamespaceList,
    OutcomeBody, PageQuery, PromotedDto, ProposalApproved, ProposalDto, ProposalPage, ProposalRejected, ProposalsQuery,
    RecallBody, RecallResponse, Reported, WrittenDto,
};

/// The caller with the session key a body carries, when it carries one.
pub fn with_session_key(caller: &Caller, session_key: Option<&str>) -> Result<Caller> {
    match session_key {
        None => Ok(caller.clone()),
        Some(k) if k.trim().is_empty() => Err(Error::invalid_input("session_key: the session key is empty")),
        Some(k) => Ok(caller.clone().with_session_key(k)),
    }
}

/// The wire answers of writes: each memory as stored now (a repeat returns the memory that
/// already held the content, with what it absorbed), read back in one go.
pub async fn written(engine: &Engine, caller: &Caller, all: &[Written]) -> Result<Vec<WrittenDto>> {
    let memories = engine.written_memories(caller, all).await?;
    Ok(all.iter().zip(&memories).map(|(w, m)| WrittenDto::new(w, m)).collect())
}

/// Remembers one memory. `default_namespace` is the front end's default write namespace
/// (`MEMORY_NAMESPACE` for MCP over stdio), used when the body names none and checked like an
/// explicit one.
pub async fn store(
    engine: &Engine,
    caller: &Caller,
    body: &CreateMemory,
    default_namespace: Option<&str>,
) -> Result<WrittenDto> {
    let mut input = body.to_input("")?;
    if input.namespace.is_none() {
        input.namespace = default_namespace.map(str::to_owned);
    }
    let caller = with_session_key(caller, body.session_key.as_deref())?;
    let w = engine.remember_now(&caller, input).await?;
    let mut one = written(engine, &caller, std::slice::from_ref(&w)).await?;
    one.pop().ok_or_else(|| Error::internal("a write answered no memory"))
}

/// Remembers a batch, validated whole, each at most `max_batch`.
pub async fn store_batch(
    engine: &Engine,
    caller: &Caller,
    body: &CreateBatch,
    max_batch: usize,
) -> Result<Vec<WrittenDto>> {
    if body.memories.is_empty() {
        return Err(Error::invalid_input("memories: the batch is empty"));
    }
    if body.memories.len() > max_batch {
        return Err(Error::invalid_input(format!(
            "memories: a batch holds at most {max_batch} memories; got {}",
            body.memories.len()
        )));
    }
    let mut inputs = Vec::with_capacity(body.memories.len());
    for (i, m) in body.memories.iter().enumerate() {
        if m.session_key.is_some() && m.session_key != body.session_key {
            return Err(Error::invalid_input(format!(
                "memories[{i}].session_key: a batch has one session key; give it as the batch's session_key"
            )));
        }
        inputs.push(m.to_input(&format!("memories[{i}]"))?);
    }
    let caller = with_session_key(caller, body.session_key.as_deref())?;
    let all = engine.remember_batch(&caller, inputs).await?;
    written(engine, &caller, &all).await
}

/// Recalls.
pub async fn recall(engine: &Engine, caller: &Caller, body: &RecallBody, max_limit: usize) -> Result<RecallResponse> {
    let request = body.to_request(max_limit)?;
    let caller = with_session_key(caller, body.session_key.as_deref())?;
    let recall = engine.recall(&caller, &request).await?;
    Ok(RecallResponse::from(&recall))
}

/// Copies a memory into a promotion target.
pub async fn promote(engine: &Engine, caller: &Caller, id: &str, to: Option<&str>) -> Result<PromotedDto> {
    let id = dto::memory_id("id", id)?;
    if let Some(to) = to {
        dto::namespace_key("to", to)?;
    }
    let p = engine.promote(caller, id, to).await?;
    Ok(PromotedDto::from(&p))
}

/// Deletes a memory.
pub async fn forget(engine: &Engine, caller: &Caller, id: &str) -> Result<Forgotten> {
    let id = dto::memory_id("id", id)?;
    engine.forget(caller, id).await?;
    Ok(Forgotten { forgotten: id.to_string() })
}

/// Records an outcome report.
pub async fn report_outcome(engine: &Engine, caller: &Caller, body: &OutcomeBody) -> Result<Reported> {
    let (ids, outcome) = body.parse()?;
    engine.report_outcome(caller, &ids, outcome).await?;
    Ok(Reported { memory_ids: ids.iter().map(ToString::to_string).collect(), reward: outcome.reward()? })
}

/// The namespaces the caller may see (every one for an admin), passing `filter`.
pub async fn namespaces(engine: &Engine, caller: &Caller, filter: &NamespaceFilter) -> Result<NamespaceList> {
    let list = engine.list_namespaces(caller, filter).await?;
    Ok(NamespaceList { namespaces: list.iter().map(NamespaceDto::from).collect() })
}

/// Consolidates the new episodes of one namespace; `progress` hears the episodes read so far.
pub async fn consolidate(
    engine: &Engine,
    caller: &Caller,
    body: &ConsolidateBody,
    progress: &mut (dyn FnMut(usize) + Send),
) -> Result<ConsolidationDto> {
    let request = body.to_request()?;
    let report = engine.consolidate(caller, &request, progress).await?;
    Ok(ConsolidationDto::from(&report))
}

/// A page of the review queue.
pub async fn proposals(engine: &Engine, caller: &Caller, query: &ProposalsQuery) -> Result<ProposalPage> {
    let namespace = query.namespace.as_deref().map(|n| dto::namespace_key("namespace", n)).transpose()?;
    let status: Option<ProposalStatus> = query.status.as_deref().map(|s| dto::parse("status", s)).transpose()?;
    let page = dto::page_request(query.cursor.clone(), query.limit)?;
    let page = engine.proposals(caller, namespace.as_ref().map(|n| n.as_str()), status, &page).await?;
    Ok(ProposalPage { proposals: page.items.iter().map(ProposalDto::from).collect(), next_cursor: page.next_cursor })
}

/// Approves a pending proposal: its memory is written as the reviewer, and read back.
pub async fn approve_proposal(engine: &Engine, caller: &Caller, id: &str) -> Result<ProposalApproved> {
    let id = dto::proposal_id("id", id)?;
    let (proposal, memory) = engine.approve_proposal(caller, id).await?;
    // Read back as written (the reviewer was just allowed to write it), not through a read
    // plan: an approval that succeeded must not answer 404.
    let written = Written {
        id: memory,
        namespace: proposal.namespace.clone(),
        created: true,
        merged: None,
        promoted: Vec::new(),
        warnings: Vec::new(),
    };
    let memory = engine.written_memories(caller, std::slice::from_ref(&written)).await?;
    let memory = memory.first().ok_or_else(|| Error::internal("an approval wrote no memory"))?;
    Ok(ProposalApproved { proposal: ProposalDto::from(&proposal), memory: MemoryDto::from(memory) })
}

/// Rejects a pending proposal; nothing is written.
pub async fn reject_proposal(engine: &Engine, caller: &Caller, id: &str) -> Result<ProposalRejected> {
    let id = dto::proposal_id("id", id)?;
    let proposal = engine.reject_proposal(caller, id).await?;
    Ok(ProposalRejected { proposal: ProposalDto::from(&proposal) })
}

/// A page of the entities of the namespaces the caller reads.
pub async fn entities(engine: &Engine, caller: &Caller, query: &EntitiesQuery) -> Result<EntityPage> {
    let namespace = query.namespace.as_deref().map(|n| dto::namespace_key("namespace", n)).transpose()?;
    let text = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let kind: Option<EntityKind> = query.kind.as_deref().map(|k| dto::parse("kind", k)).transpose()?;
    let page = dto::page_request(query.cursor.clone(), query.limit)?;
    let page = engine.entities(caller, namespace.as_ref().map(|n| n.as_str()), text, kind, &page).await?;
    Ok(EntityPage { entities: page.items.iter().map(EntityDto::from).collect(), next_cursor: page.next_cursor })
}

/// One entity and a page of the memories that mention it.
pub async fn entity(engine: &Engine, caller: &Caller, id: &str, query: &PageQuery) -> Result<EntityMemoriesDto> {
    let id = dto::entity_id("id", id)?;
    let page = query.page()?;
    let found = engine.entity(caller, id, &page).await?;
    Ok(EntityMemoriesDto::from(&found))
}

/// One maintenance cycle (operators only); `progress` hears each finished run and the number
/// planned.
pub async fn maintain(
    engine: &Engine,
    caller: &Caller,
    body: &MaintainBody,
    progress: &mut (dyn FnMut(&JobRunDto, usize) + Send),
) -> Result<MaintenanceDto> {
    let request = body.to_request()?;
    let report = engine.maintain(caller, &request, &mut |run, total| progress(&JobRunDto::from(run), total)).await?;
    Ok(MaintenanceDto::from(&report))
}

/// The latest maintenance record of every job and namespace (operators only).
pub async fn maintenance_status(engine: &Engine, caller: &Caller, namespace: Option<&str>) -> Result<JobRunList> {
    if let Some(ns) = namespace {
        dto::namespace_key("namespace", ns)?;
    }
    let runs = engine.maintenance_status(caller, namespace).await?;
    Ok(JobRunList { runs: runs.iter().map(JobRunDto::from).collect() })
}
