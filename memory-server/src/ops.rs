//! The operations the HTTP routes and the MCP tools share: a wire request in, the engine call,
//! the wire answer out. Both front ends call these, so a tool and a route of the same
//! operation can never answer differently.

use memory_core::{Error, NamespaceFilter, Result};
use memory_engine::{Caller, Engine, Written};

use crate::dto::{
    self, CreateBatch, CreateMemory, Forgotten, NamespaceDto, NamespaceList, OutcomeBody, PromotedDto, RecallBody,
    RecallResponse, Reported, WrittenDto,
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
