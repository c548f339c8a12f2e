//! Keeping the derived index in step with the store (SPEC 5): catch-up from the store's change
//! sequence, after a crash, a restart, or another process's writes, and for a full rebuild
//! (`reindex`: an emptied index caught up from 0). The store is the source of truth; these
//! functions only ever read it. Saving the index (checkpoints) is the engine's business.

use std::sync::Arc;

use memory_core::{MAX_PAGE_LIMIT, Memory, MemoryId, Result, Store, TenantId};
use memory_embed::Embedder;
use memory_index::{IndexDoc, MemoryIndex};

/// What a catch-up or rebuild did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SyncReport {
    /// Live memories (re)indexed.
    pub indexed: u64,
    /// Tombstoned memories removed from the index.
    pub removed: u64,
    /// The store change sequence the index has now applied.
    pub applied_seq: u64,
    /// Memories indexed for full text only, because the embedder refused their text (others
    /// of the same page were embedded, so the embedder itself works).
    #[serde(skip_serializing_if = "is_zero")]
    pub text_only: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Applies every store change after the index's checkpoint: live memories are embedded and
/// upserted, tombstoned and superseded ones deleted, and the checkpoint advances page by page,
/// so a crash in the middle resumes where it stopped. A superseded memory stays retrievable by
/// id from the store; recall never returns it, so the index drops it. Expired working memories
/// stay indexed until deleted: searches filter them by time.
pub async fn catch_up(
    store: &dyn Store,
    tenant: &TenantId,
    embedder: Arc<dyn Embedder>,
    index: Arc<MemoryIndex>,
    progress: &mut (dyn FnMut(SyncReport) + Send),
) -> Result<SyncReport> {
    catch_up_with(store, tenant, embedder, index, &|ids: &[MemoryId]| vec![None; ids.len()], progress).await
}

/// Vectors already known for some memories: per id, `Some(Some(v))` is its vector,
/// `Some(None)` means "index it for text only" (its embedding failed when it was written), and
/// `None` means "embed it now".
pub type KnownVectors<'a> = dyn Fn(&[MemoryId]) -> Vec<Option<Option<Vec<f32>>>> + Send + Sync + 'a;

/// [`catch_up`], taking the vectors of memories whose embedding is already known from `known`
/// (the engine passes the vectors of the memories it just wrote, so they are not embedded twice).
/// The changes are searchable at once and saved by the next checkpoint (saving per batch cost
/// 70% of ingest).
pub async fn catch_up_with(
    store: &dyn Store,
    tenant: &TenantId,
    embedder: Arc<dyn Embedder>,
    index: Arc<MemoryIndex>,
    known: &KnownVectors<'_>,
    progress: &mut (dyn FnMut(SyncReport) + Send),
) -> Result<SyncReport> {
    let mut report = SyncReport { applied_seq: index.applied_seq(), ..SyncReport::default() };
    loop {
        let changes = store.changes_since(tenant, report.applied_seq, MAX_PAGE_LIMIT).await?;
        let Some(last) = changes.last().map(|m| m.seq) else { break };
        let (live, gone): (Vec<Memory>, Vec<Memory>) =
            changes.into_iter().partition(|m| m.deleted_at.is_none() && m.superseded_by.is_none());
        let gone: Vec<MemoryId> = gone.iter().map(|m| m.id).collect();
        let ids: Vec<MemoryId> = live.iter().map(|m| m.id).collect();
        let mut vectors = known(&ids);
        stored_vectors(store, tenant, embedder.as_ref(), &ids, &mut vectors).await?;
        let (embedder, idx) = (embedder.clone(), index.clone());
        let (indexed, removed) = (live.len() as u64, gone.len() as u64);
        let text_only = blocking_value("catch-up", move || {
            let missing: Vec<&str> =
                live.iter().zip(&vectors).filter(|(_, v)| v.is_none()).map(|(m, _)| m.content.as_str()).collect();
            let embedded = embed_each_if_needed(embedder.as_ref(), &missing)?;
            let text_only = embedded.iter().filter(|v| v.is_none()).count() as u64;
            let mut embedded = embedded.into_iter();
            let docs = live
                .iter()
                .zip(vectors)
                .map(|(m, v)| {
                    let vector = match v {
                        Some(known) => known,
                        None => embedded.next().flatten(),
                    };
                    index_doc(m, vector)
                })
                .collect();
            idx.upsert(docs)?;
            idx.delete(&gone)?;
            idx.set_applied_seq(last)?;
            Ok(text_only)
        })
        .await?;
        report.text_only += text_only;
        report.indexed += indexed;
        report.removed += removed;
        report.applied_seq = last;
        progress(report);
    }
    Ok(report)
}

/// Fills the vectors still unknown (`None`) with those the store keeps for the embedder's
/// model (written with the memory by whichever process wrote it), so catching up with other
/// processes' writes, or rebuilding, embeds only what was never embedded. A stored vector of
/// another dimension is not this embedder's: it is embedded again.
async fn stored_vectors(
    store: &dyn Store,
    tenant: &TenantId,
    embedder: &dyn Embedder,
    ids: &[MemoryId],
    vectors: &mut [Option<Option<Vec<f32>>>],
) -> Result<()> {
    let missing: Vec<MemoryId> =
        ids.iter().zip(vectors.iter()).filter(|(_, v)| v.is_none()).map(|(id, _)| *id).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut stored = store.get_embeddings(tenant, embedder.model_id(), &missing).await?.into_iter();
    for slot in vectors.iter_mut().filter(|v| v.is_none()) {
        if let Some(Some(v)) = stored.next()
            && v.len() == embedder.dimension()
        {
            *slot = Some(Some(v));
        }
    }
    Ok(())
}

/// The embeddings of `texts`: one batch, or, when the embedder refuses the batch, one text at
/// a time, `None` for each text it refuses. A memory the embedder never takes (too long for an
/// endpoint, say) is then indexed for full text only instead of stopping every catch-up and
/// reindex; an embedder that refuses every text is down, and that is an error.
fn embed_each_if_needed(embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Option<Vec<f32>>>> {
    if texts.is_empty() {
        return Ok(Vec::new());
    }
    let batch_error = match embedder.embed(texts) {
        Ok(vs) => return Ok(vs.into_iter().map(Some).collect()),
        Err(e) => e,
    };
    let each: Vec<Option<Vec<f32>>> =
        texts.iter().map(|t| embedder.embed(&[*t]).ok().and_then(|mut v| v.pop())).collect();
    if each.iter().all(Option::is_none) {
        return Err(batch_error);
    }
    Ok(each)
}

/// Runs blocking work (embedding, index, file IO) on the blocking pool and returns its value.
pub(crate) async fn blocking_value<T: Send + 'static>(
    what: &str,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| memory_core::Error::internal(format!("{what} task failed: {e}")))?
}

/// The index document of a stored memory.
pub fn index_doc(memory: &Memory, vector: Option<Vec<f32>>) -> IndexDoc {
    IndexDoc {
        id: memory.id,
        namespace: memory.namespace.clone(),
        layer: memory.layer,
        category: memory.category.clone(),
        created_at: memory.created_at,
        content: memory.content.clone(),
        expires_at: memory.expires_at,
        metadata: memory.metadata.clone(),
        vector,
    }
}
