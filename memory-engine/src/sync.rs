//! Keeping the derived index in step with the store (SPEC 5): catch-up from the store's change
//! sequence after a crash or restart, and a full rebuild (`reindex`). The store is the source
//! of truth; these functions only ever read it.

use std::sync::Arc;

use memory_core::{MAX_PAGE_LIMIT, Memory, MemoryId, Result, Store, TenantId};
use memory_embed::Embedder;
use memory_index::{IndexDoc, MemoryIndex};

/// What a catch-up or rebuild did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Live memories (re)indexed.
    pub indexed: u64,
    /// Tombstoned memories removed from the index.
    pub removed: u64,
    /// The store change sequence the index has now applied.
    pub applied_seq: u64,
}

/// Applies every store change after the index's checkpoint: live memories are embedded and
/// upserted, tombstoned ones deleted, and the checkpoint advances page by page, so a crash in
/// the middle resumes where it stopped. Superseded and expired memories stay indexed: recall
/// filters them, and a superseded memory must stay retrievable by id.
pub async fn catch_up(
    store: &dyn Store,
    tenant: &TenantId,
    embedder: Arc<dyn Embedder>,
    index: Arc<MemoryIndex>,
    progress: &mut (dyn FnMut(SyncReport) + Send),
) -> Result<SyncReport> {
    let mut report = SyncReport { applied_seq: index.applied_seq(), ..SyncReport::default() };
    loop {
        let changes = store.changes_since(tenant, report.applied_seq, MAX_PAGE_LIMIT).await?;
        let Some(last) = changes.last().map(|m| m.seq) else { break };
        let (live, gone): (Vec<Memory>, Vec<Memory>) = changes.into_iter().partition(|m| m.deleted_at.is_none());
        let gone: Vec<MemoryId> = gone.iter().map(|m| m.id).collect();
        let (embedder, idx) = (embedder.clone(), index.clone());
        let (indexed, removed) = (live.len() as u64, gone.len() as u64);
        blocking("catch-up", move || {
            let texts: Vec<&str> = live.iter().map(|m| m.content.as_str()).collect();
            let vectors = embedder.embed(&texts)?;
            let docs = live.iter().zip(vectors).map(|(m, v)| index_doc(m, v)).collect();
            idx.upsert(docs)?;
            idx.delete(&gone)?;
            idx.set_applied_seq(last)
        })
        .await?;
        report.indexed += indexed;
        report.removed += removed;
        report.applied_seq = last;
        progress(report);
    }
    let idx = index.clone();
    blocking("flush", move || idx.flush()).await?;
    Ok(report)
}

/// Empties the index and rebuilds it from the store (`memory reindex`).
pub async fn rebuild(
    store: &dyn Store,
    tenant: &TenantId,
    embedder: Arc<dyn Embedder>,
    index: Arc<MemoryIndex>,
    progress: &mut (dyn FnMut(SyncReport) + Send),
) -> Result<SyncReport> {
    let idx = index.clone();
    blocking("clear", move || idx.clear()).await?;
    catch_up(store, tenant, embedder, index, progress).await
}

/// Runs index work (embedding, tantivy, file IO) on the blocking pool, never on async workers.
async fn blocking(what: &str, work: impl FnOnce() -> Result<()> + Send + 'static) -> Result<()> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| memory_core::Error::internal(format!("index {what} task failed: {e}")))?
}

/// The index document of a stored memory.
pub fn index_doc(memory: &Memory, vector: Vec<f32>) -> IndexDoc {
    IndexDoc {
        id: memory.id,
        namespace: memory.namespace.clone(),
        layer: memory.layer,
        category: memory.category.clone(),
        created_at: memory.created_at,
        content: memory.content.clone(),
        expires_at: memory.expires_at,
        metadata: memory.metadata.clone(),
        vector: Some(vector),
    }
}
