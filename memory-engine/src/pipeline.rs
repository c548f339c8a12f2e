//! The commit stage of the one write pipeline: every path that stores memories (remember and
//! batches, observe, corrections, consolidation, promotion copies, import) ends here, so each
//! write is put atomically, its vectors handed to the index, its corrections marked, the index
//! brought up to date and the write audited the same way.
//!
//! The stages before it differ by path and are typed by what they produce: a plan (the scope
//! resolver's write target, `write.rs`), validated [`NewMemory`] records, their vectors (the
//! embedder, outside every lock). Auto-promotion runs after it, on what it created.

use std::collections::HashMap;

use memory_core::{
    AuditOp, AuditOutcome, Embedding, Error, Memory, MemoryId, NamespaceKey, NewMemory, PutOutcome, Result,
};
use serde_json::json;

use crate::caller::Caller;
use crate::engine::{Engine, Tenant, error_detail};

/// Ids listed per namespace in a write's audit record (the rest are counted).
const AUDITED_IDS: usize = 20;

/// Validated memories ready to store (a record's `supersedes` is marked by the put itself).
#[derive(Debug, Default)]
pub(crate) struct Staged {
    /// The records, in input order.
    pub news: Vec<NewMemory>,
    /// Per record, what the embedder made of it (`None` inside: it failed, so the record is
    /// indexed for text only); `None`: nothing embedded yet, the index embeds at catch-up.
    pub vectors: Option<Vec<Option<Vec<f32>>>>,
}

impl Staged {
    /// Records without vectors or corrections (copies and imports).
    pub fn plain(news: Vec<NewMemory>) -> Self {
        Staged { news, vectors: None }
    }
}

/// How a commit is audited.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Audit<'a> {
    /// One record per namespace written, with the ids (writes).
    PerNamespace(AuditOp),
    /// One record for a copy of `source` (promotion, auto-promotion).
    Copy { op: AuditOp, source: &'a Memory, reason: &'a str },
    /// The caller writes its own record (an import audits itself as a whole).
    ByCaller,
}

/// When the index takes the commit in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IndexUpdate {
    /// Before the commit returns (a writer reads its own writes at once).
    Now,
    /// The caller catches up once after many commits (import).
    Later,
}

/// What a commit stored.
#[derive(Debug)]
pub(crate) struct Committed {
    /// One outcome per record, in order.
    pub outcomes: Vec<PutOutcome>,
    /// A degraded index update, when there was one.
    pub warnings: Vec<String>,
}

impl Engine {
    /// Stores `staged` in one atomic put (durable when it returns), marks the memories it
    /// corrects, brings the index up to date and audits, the last two side by side.
    pub(crate) async fn commit(
        &self,
        caller: &Caller,
        t: &Tenant,
        staged: Staged,
        audit: Audit<'_>,
        index: IndexUpdate,
    ) -> Result<Committed> {
        let Staged { mut news, vectors } = staged;
        if news.is_empty() {
            return Ok(Committed { outcomes: Vec::new(), warnings: Vec::new() });
        }
        if let Some(vectors) = vectors {
            // The store keeps each vector with its memory (so other processes, and a rebuild,
            // need not embed it again), and this engine's catch-up takes it from `pending`.
            let model = self.inner.embedder.model_id().to_owned();
            let mut pending = t.pending.lock().expect("pending vectors");
            for (m, v) in news.iter_mut().zip(vectors) {
                if let Some(vector) = &v {
                    m.embedding = Some(Embedding { model: model.clone(), vector: vector.clone() });
                }
                pending.insert(m.id, v);
            }
        }
        let ids: Vec<MemoryId> = news.iter().map(|m| m.id).collect();
        let namespaces: Vec<NamespaceKey> = news.iter().map(|m| m.namespace.clone()).collect();
        let outcomes = match self.inner.store.put_memories(&caller.tenant, news).await {
            Ok(o) => o,
            Err(e) => {
                t.forget_pending(&ids);
                if let Audit::PerNamespace(op) | Audit::Copy { op, .. } = audit {
                    let _ = self.audit(caller, None, op, AuditOutcome::Failed, error_detail(&e)).await;
                }
                return Err(e);
            }
        };
        let existing: Vec<MemoryId> =
            ids.iter().zip(&outcomes).filter(|(_, o)| !o.created()).map(|(id, _)| *id).collect();
        t.forget_pending(&existing);

        // Corrections (each record's `supersedes`) were marked by the put, in its transaction:
        // a crash never leaves a correction stored beside a still-current memory.

        // The index takes the write in while its audit records are written: neither waits
        // for the other.
        let index_update = async {
            if index == IndexUpdate::Later {
                return Ok(());
            }
            let caught_up = self.catch_up(t).await.map(|_| ());
            self.checkpoint_if_due(t).await;
            caught_up
        };
        let audits = self.audit_commit(caller, &namespaces, &outcomes, audit);
        let (caught_up, audited) = tokio::join!(index_update, audits);
        let mut warnings = Vec::new();
        if let Err(e) = caught_up {
            warnings.push(format!(
                "degraded: the index could not be updated ({e}); it catches up on the next write or start"
            ));
        }
        audited?;
        Ok(Committed { outcomes, warnings })
    }

    async fn audit_commit(
        &self,
        caller: &Caller,
        namespaces: &[NamespaceKey],
        outcomes: &[PutOutcome],
        audit: Audit<'_>,
    ) -> Result<()> {
        match audit {
            Audit::ByCaller => Ok(()),
            Audit::Copy { op, source, reason } => {
                let o = &outcomes[0];
                let detail = json!({
                    "source": source.id,
                    "from": source.namespace,
                    "copy": o.id(),
                    "created": o.created(),
                    "reason": reason,
                });
                self.audit(caller, Some(&namespaces[0]), op, AuditOutcome::Ok, detail).await
            }
            Audit::PerNamespace(op) => {
                // One record per namespace written: created, deduplicated, merged, the ids.
                let mut per_ns: HashMap<&NamespaceKey, (usize, usize, usize, Vec<MemoryId>)> = HashMap::new();
                for (ns, o) in namespaces.iter().zip(outcomes) {
                    let e = per_ns.entry(ns).or_default();
                    match o {
                        PutOutcome::Created { .. } => e.0 += 1,
                        PutOutcome::Existing { merged, .. } => {
                            e.1 += 1;
                            e.2 += usize::from(!merged.is_empty());
                        }
                    }
                    e.3.push(o.id());
                }
                for (ns, (created, existing, merged, ids)) in per_ns {
                    let shown: Vec<MemoryId> = ids.iter().take(AUDITED_IDS).copied().collect();
                    let detail = json!({
                        "created": created,
                        "deduplicated": existing,
                        "merged": merged,
                        "ids": shown,
                        "more_ids": ids.len().saturating_sub(AUDITED_IDS),
                    });
                    self.audit(caller, Some(ns), op, AuditOutcome::Ok, detail).await?;
                }
                Ok::<(), Error>(())
            }
        }
    }
}
