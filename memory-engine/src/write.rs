//! Writes (SPEC 2 and 4): `remember` (episodic), `remember_now` (any layer), batches, `observe`
//! (chat messages), corrections that supersede, deduplication, auto-promotion.
//!
//! One pipeline serves every write: plan each distinct target through the scope resolver,
//! validate every input (nothing is written when one is bad), embed outside any lock, create
//! namespaces that come into being on first write, put the batch atomically (durable in the
//! store and its log when it returns), mark superseded memories, bring the index up to date,
//! auto-promote, audit.

use std::collections::HashMap;

use memory_core::{
    AuditOp, AuditOutcome, Category, Confidence, ContentHash, Error, Layer, MAX_CONTENT_BYTES, Memory, MemoryId,
    Merged, Metadata, NamespaceKey, NewMemory, Provenance, PutOutcome, Result, Timestamp,
};
use memory_policy::{PlanRequest, ReadRequest, ScopePlan};
use serde::Serialize;
use serde_json::json;

use crate::caller::Caller;
use crate::engine::{Engine, Tenant, plan_error};
use crate::pipeline::{Audit, IndexUpdate, Staged};
use crate::promote::Promoted;
use crate::sync::blocking_value;

/// Most memories in one batch write.
pub const MAX_BATCH: usize = 10_000;

/// One memory to write.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryInput {
    /// The text (trimmed; 1 byte ..= [`MAX_CONTENT_BYTES`]).
    pub content: String,
    /// Its layer. `working` needs `expires_at` in the future; no other layer takes one.
    pub layer: Layer,
    /// The namespace to write into (raw, as the caller gave it); `None` is the plan's write
    /// default.
    pub namespace: Option<String>,
    /// Its category; default `event` for episodic memories, else `fact`.
    pub category: Option<Category>,
    /// Confidence in 0..=1; default 1 (an explicit write).
    pub confidence: Option<Confidence>,
    /// Expiry, for working memories.
    pub expires_at: Option<Timestamp>,
    /// Free-form metadata (top-level keys can be filtered on in recall).
    pub metadata: Metadata,
    /// The conversation it came from; default the caller's session key.
    pub conversation_id: Option<String>,
    /// An earlier memory this one corrects: once written, the old one is no longer recalled
    /// but stays retrievable by id.
    pub supersedes: Option<MemoryId>,
    /// A precomputed embedding (the embedder's dimension); `None` embeds the content.
    pub vector: Option<Vec<f32>>,
}

impl MemoryInput {
    /// A memory of `layer` with defaults everywhere else.
    pub fn new(layer: Layer, content: impl Into<String>) -> Self {
        MemoryInput {
            content: content.into(),
            layer,
            namespace: None,
            category: None,
            confidence: None,
            expires_at: None,
            metadata: Metadata::new(),
            conversation_id: None,
            supersedes: None,
            vector: None,
        }
    }

    /// Into this namespace.
    pub fn in_namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = Some(ns.into());
        self
    }

    /// With this category.
    pub fn category(mut self, category: Category) -> Self {
        self.category = Some(category);
        self
    }

    /// With this confidence.
    pub fn confidence(mut self, confidence: Confidence) -> Self {
        self.confidence = Some(confidence);
        self
    }

    /// Expiring at `at` (working memories).
    pub fn expires_at(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// With one metadata entry.
    pub fn meta(mut self, key: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// From this conversation.
    pub fn conversation(mut self, id: impl Into<String>) -> Self {
        self.conversation_id = Some(id.into());
        self
    }

    /// Correcting (superseding) `old`.
    pub fn superseding(mut self, old: MemoryId) -> Self {
        self.supersedes = Some(old);
        self
    }

    /// With a precomputed embedding.
    pub fn vector(mut self, vector: Vec<f32>) -> Self {
        self.vector = Some(vector);
        self
    }
}

/// One chat message for [`Engine::observe`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Message {
    /// `user`, `assistant`, `system`, `tool`, ... (1..=64 characters).
    pub role: String,
    /// The text; messages with blank text are skipped (and counted in the warnings).
    pub content: String,
}

/// What one write did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Written {
    /// The memory: new, or the existing one with the same content in the namespace.
    pub id: MemoryId,
    /// Where it is.
    pub namespace: NamespaceKey,
    /// `false` when the content was already there (same namespace and layer): the existing
    /// memory's evidence count grew, and `merged` says what else this write added to it.
    pub created: bool,
    /// For a duplicate: what it handed to the existing memory (a later expiry, a higher
    /// confidence, new metadata); `None` for a new memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged: Option<Merged>,
    /// Copies made by auto-promotion.
    pub promoted: Vec<Promoted>,
    /// Anything the caller should know (e.g. the embedder failed: indexed for text only).
    pub warnings: Vec<String>,
}

impl Engine {
    /// Remembers an episodic memory (a timestamped event of a conversation) in the plan's write
    /// default.
    pub async fn remember(&self, caller: &Caller, content: &str, conversation_id: Option<&str>) -> Result<Written> {
        let mut input = MemoryInput::new(Layer::Episodic, content);
        input.conversation_id = conversation_id.map(str::to_owned);
        self.write_one(caller, input, AuditOp::MemoryRemember).await
    }

    /// Remembers a memory of any layer, identity included (the only way to write identity).
    pub async fn remember_now(&self, caller: &Caller, input: MemoryInput) -> Result<Written> {
        self.write_one(caller, input, AuditOp::MemoryRemember).await
    }

    /// Writes `old`'s correction: `input` is stored and `old` is superseded by it.
    pub async fn supersede(&self, caller: &Caller, old: MemoryId, input: MemoryInput) -> Result<Written> {
        self.write_one(caller, input.superseding(old), AuditOp::MemorySupersede).await
    }

    /// Writes many memories at once: validated as a whole (one bad input writes nothing), then
    /// stored in one transaction per namespace. Identity memories are refused here: they are
    /// written one at a time with [`Engine::remember_now`].
    pub async fn remember_batch(&self, caller: &Caller, inputs: Vec<MemoryInput>) -> Result<Vec<Written>> {
        if let Some(i) = inputs.iter().position(|m| m.layer == Layer::Identity) {
            return Err(Error::invalid_input(format!(
                "input {i}: identity memories are written one at a time with remember_now, never in a batch"
            )));
        }
        self.write(caller, inputs, AuditOp::MemoryBatch).await
    }

    /// Turns chat messages into episodic memories of the conversation (the caller's session key
    /// unless `conversation_id` is given), with the role in the metadata (`role`), written into
    /// `namespace` (checked like any explicit namespace) or the plan's write default.
    pub async fn observe(
        &self,
        caller: &Caller,
        conversation_id: Option<&str>,
        namespace: Option<&str>,
        messages: Vec<Message>,
    ) -> Result<Vec<Written>> {
        let mut inputs = Vec::with_capacity(messages.len());
        let mut skipped = 0;
        for (i, m) in messages.into_iter().enumerate() {
            let role = m.role.trim();
            if role.is_empty() || role.chars().count() > 64 {
                return Err(Error::invalid_input(format!("message {i}: the role must be 1..=64 characters")));
            }
            if m.content.trim().is_empty() {
                skipped += 1;
                continue;
            }
            let mut input = MemoryInput::new(Layer::Episodic, m.content).meta("role", role);
            input.conversation_id = conversation_id.map(str::to_owned);
            input.namespace = namespace.map(str::to_owned);
            inputs.push(input);
        }
        let mut written = self.write(caller, inputs, AuditOp::MemoryObserve).await?;
        if skipped > 0
            && let Some(first) = written.first_mut()
        {
            first.warnings.push(format!("{skipped} message(s) with blank content skipped"));
        }
        Ok(written)
    }

    /// The memories `written` names, as stored now, in the same order: what front ends answer
    /// a write with. One store read; no second plan, since each write target was readable by
    /// the writer (a write never lands where its writer cannot read).
    pub async fn written_memories(&self, caller: &Caller, written: &[Written]) -> Result<Vec<Memory>> {
        let ids: Vec<MemoryId> = written.iter().map(|w| w.id).collect();
        let found = self.inner.store.get_memories(&caller.tenant, &ids).await?;
        written
            .iter()
            .map(|w| {
                found.iter().find(|m| m.id == w.id).cloned().ok_or_else(|| {
                    // Deleted by another request between the write and this read.
                    Error::not_found(format!("memory {} not found", w.id))
                })
            })
            .collect()
    }

    pub(crate) async fn write_one(&self, caller: &Caller, input: MemoryInput, op: AuditOp) -> Result<Written> {
        let mut written = self.write(caller, vec![input], op).await?;
        Ok(written.pop().expect("one input, one result"))
    }

    /// The one write pipeline.
    pub(crate) async fn write(&self, caller: &Caller, inputs: Vec<MemoryInput>, op: AuditOp) -> Result<Vec<Written>> {
        if inputs.len() > MAX_BATCH {
            return Err(Error::invalid_input(format!(
                "a batch holds at most {MAX_BATCH} memories; got {}",
                inputs.len()
            )));
        }
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let t = self.tenant(&caller.tenant).await?;
        let catalog = self.catalog(&t).await?;
        let now = self.now();

        // Plan each distinct target once.
        let mut plans: HashMap<Option<String>, ScopePlan> = HashMap::new();
        for input in &inputs {
            if !plans.contains_key(&input.namespace) {
                let plan = self.write_plan(caller, catalog.as_ref(), input.namespace.as_deref(), op).await?;
                plans.insert(input.namespace.clone(), plan);
            }
        }

        // Validate everything before anything is written.
        let batch = inputs.len() > 1;
        let principal = plans.values().next().and_then(|p| p.principal.clone());
        let dimension = self.inner.embedder.dimension();
        let mut news = Vec::with_capacity(inputs.len());
        let mut vectors: Vec<Option<Vec<f32>>> = Vec::with_capacity(inputs.len());
        // Per input: whether it stated its category and its confidence.
        let mut stated: Vec<(bool, bool)> = Vec::with_capacity(inputs.len());
        for (i, input) in inputs.into_iter().enumerate() {
            // A batch names the bad input; a single write's error is about the write itself.
            let at = |e: Error| match batch {
                true => Error::new(e.kind(), format!("input {i}: {}", e.message())),
                false => e,
            };
            let target = plans[&input.namespace].write.clone().expect("checked above");
            check_input(&input, now, dimension).map_err(at)?;
            let mut m = NewMemory::new(target, input.layer, input.content, now);
            stated.push((input.category.is_some(), input.confidence.is_some()));
            if let Some(c) = input.category {
                m.category = c;
            }
            if let Some(c) = input.confidence {
                m.confidence = c;
            }
            m.expires_at = input.expires_at;
            m.metadata = input.metadata;
            m.supersedes = input.supersedes;
            m.provenance = Provenance {
                conversation_id: input.conversation_id.or_else(|| caller.identity.session_key.clone()),
                session_key: caller.identity.session_key.clone(),
                principal: principal.clone(),
            };
            m.validate().map_err(at)?;
            vectors.push(input.vector);
            news.push(m);
        }
        self.check_supersedes(caller, &t, &news).await?;
        self.settle_duplicates(caller, &mut news, &stated).await?;

        // Embed what has no vector, outside every lock. A failing embedder degrades the write
        // (indexed for text only), it never loses it.
        let mut warnings = Vec::new();
        let missing: Vec<usize> = (0..news.len()).filter(|&i| vectors[i].is_none()).collect();
        if !missing.is_empty() {
            let texts: Vec<String> = missing.iter().map(|&i| news[i].content.clone()).collect();
            let embedder = self.inner.embedder.clone();
            let embedded = blocking_value("embed", move || {
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                embedder.embed(&refs)
            })
            .await;
            match embedded {
                Ok(vs) => {
                    for (&i, v) in missing.iter().zip(vs) {
                        vectors[i] = Some(v);
                    }
                }
                Err(e) => warnings.push(format!("degraded: the embedder failed ({e}); indexed for full text only")),
            }
        }

        self.index_before_writing(&t).await;
        // Namespaces that come into being on this write.
        for plan in plans.values() {
            let ns = plan.write.as_ref().expect("checked above");
            self.ensure_namespace(caller, &t, plan, ns).await?;
        }
        // Auto-promotion plans below must see the namespaces this write created.
        let catalog = self.catalog(&t).await?;

        let meta: Vec<(NamespaceKey, Category, Confidence)> =
            news.iter().map(|m| (m.namespace.clone(), m.category.clone(), m.confidence)).collect();
        let expiries: Vec<Option<Timestamp>> = news.iter().map(|m| m.expires_at).collect();
        let staged = Staged { news, vectors: Some(vectors) };
        let committed = self.commit(caller, &t, staged, Audit::PerNamespace(op), IndexUpdate::Now).await?;
        warnings.extend(committed.warnings);
        let outcomes = committed.outcomes;

        // Auto-promotion of what was created, on every write path alike.
        let mut written = Vec::with_capacity(outcomes.len());
        // Promotion never reaches where the caller cannot read: a copy's id (or "already
        // there") would tell it what that namespace holds.
        let promotion = match self.auto_promotion_configured() {
            true => Some((
                self.visibility(caller, &t).await?,
                self.plan(caller, catalog.as_ref(), ReadRequest::Default, None, false),
            )),
            false => None,
        };
        for (((ns, category, confidence), o), expiry) in meta.into_iter().zip(outcomes).zip(expiries) {
            let created = o.created();
            let id = o.id();
            let mut notes = warnings.clone();
            let merged = match o {
                PutOutcome::Created { .. } => None,
                PutOutcome::Existing { merged, .. } => {
                    if merged.expires_at.is_none()
                        && let Some(asked) = expiry
                    {
                        notes.push(format!(
                            "memory {id} already expires later than the {asked} this write asked for; it keeps the later expiry"
                        ));
                    }
                    Some(merged)
                }
            };
            let promoted = if created && self.auto_promotion_configured() {
                let request = PlanRequest {
                    caller: caller.identity.clone(),
                    project: caller.project.clone(),
                    read: ReadRequest::Default,
                    write: Some(ns.to_string()),
                    include_sensitive: false,
                };
                let auto = self.inner.policy.auto_promotion(&request, catalog.as_ref(), &ns, &category, confidence);
                let (vis, plan) = promotion.as_ref().expect("set when auto-promotion is configured");
                let targets: Vec<NamespaceKey> =
                    auto.targets.into_iter().filter(|ns| vis.readable.contains(ns)).collect();
                let mut done = Vec::with_capacity(targets.len());
                if !targets.is_empty() {
                    let source = self.inner.store.get_memory(&caller.tenant, id).await?;
                    let source = source.ok_or_else(|| Error::not_found(format!("memory {id} not found")))?;
                    for target in targets {
                        self.ensure_namespace(caller, &t, plan, &target).await?;
                        let op = AuditOp::MemoryAutoPromote;
                        done.push(self.copy_into(caller, &t, &source, &target, op, &auto.reason).await?);
                    }
                }
                done
            } else {
                Vec::new()
            };
            written.push(Written { id, namespace: ns, created, merged, promoted, warnings: notes });
        }
        Ok(written)
    }

    /// The scope plan of a write into `raw` (or the write default), refused (and audited) when
    /// the plan has an error or no write target: an unavailable target is never redirected
    /// (SPEC 4, precise rules). `plan.write` is set on success.
    pub(crate) async fn write_plan(
        &self,
        caller: &Caller,
        catalog: &crate::catalog::Catalog,
        raw: Option<&str>,
        op: AuditOp,
    ) -> Result<ScopePlan> {
        let plan = self.plan(caller, catalog, ReadRequest::Default, raw.map(str::to_owned), false);
        if let Some(e) = &plan.error {
            let err = plan_error(e.code, &e.message);
            let ns = raw.and_then(|n| NamespaceKey::new(n).ok());
            self.audit_denied(caller, ns.as_ref(), op, &err).await;
            return Err(err);
        }
        if plan.write.is_none() {
            let err = match &plan.write_refusal {
                Some(r) => plan_error(r.code, &r.message),
                None => {
                    Error::forbidden(format!("no writable namespace for this caller: {}", plan.warnings.join("; ")))
                }
            };
            self.audit_denied(caller, None, op, &err).await;
            return Err(err);
        }
        Ok(plan)
    }

    /// A repeated write takes the category and confidence it did not state from the memory it
    /// repeats, so only what a caller says can conflict (another category) or merge (a higher
    /// confidence); a default is never mistaken for a statement. A stated category that differs
    /// from the repeated memory's (stored, or an earlier input of the batch) is a `Conflict`
    /// here, before anything is written (namespaces that would come into being included); the
    /// store's own check only catches a race with another writer.
    async fn settle_duplicates(&self, caller: &Caller, news: &mut [NewMemory], stated: &[(bool, bool)]) -> Result<()> {
        let batch = news.len() > 1;
        // One read for the whole batch; an earlier input of the batch stands in for a stored memory.
        let stored = self.inner.store.find_duplicates(&caller.tenant, news).await?;
        let mut earlier: HashMap<(NamespaceKey, Layer, ContentHash), Memory> = HashMap::new();
        for (i, ((m, &(category, confidence)), found)) in news.iter_mut().zip(stated).zip(stored).enumerate() {
            let key = (m.namespace.clone(), m.layer, ContentHash::of(&m.content));
            if let Some(repeated) = earlier.get(&key).or(found.as_ref()) {
                if !category {
                    m.category = repeated.category.clone();
                }
                if !confidence {
                    m.confidence = repeated.confidence;
                }
                if m.category != repeated.category {
                    let err = repeated.category_conflict(&m.category);
                    return Err(if batch { Error::conflict(format!("input {i}: {}", err.message())) } else { err });
                }
            }
            earlier.entry(key).or_insert_with(|| m.clone().into_memory(caller.tenant.clone(), 0));
        }
        Ok(())
    }

    /// Checks each `supersedes`: the old memory must be visible to the caller (else 404) and in
    /// a namespace it may change (else 403).
    async fn check_supersedes(&self, caller: &Caller, t: &Tenant, news: &[NewMemory]) -> Result<()> {
        let wanted: Vec<(usize, MemoryId)> =
            news.iter().enumerate().filter_map(|(i, m)| m.supersedes.map(|old| (i, old))).collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let vis = self.visibility(caller, t).await?;
        let olds =
            self.inner.store.get_memories(&caller.tenant, &wanted.iter().map(|w| w.1).collect::<Vec<_>>()).await?;
        for &(i, old) in &wanted {
            let stored = olds.iter().find(|m| m.id == old);
            let Some(m) = stored.filter(|m| vis.readable.contains(&m.namespace)) else {
                let err = Error::not_found(format!("memory {old} to supersede not found (input {i})"));
                self.audit_denied(caller, stored.map(|m| &m.namespace), AuditOp::MemorySupersede, &err).await;
                return Err(err);
            };
            if !self.may_write(caller, &vis, &m.namespace) {
                let err = Error::forbidden(format!(
                    "may not supersede memory {old} (input {i}): namespace {:?} is not writable",
                    m.namespace.as_str()
                ));
                self.audit_denied(caller, Some(&m.namespace), AuditOp::MemorySupersede, &err).await;
                return Err(err);
            }
        }
        Ok(())
    }

    /// Creates `ns` in the store when it does not exist yet (first authorized write into a
    /// namespace the configuration names or a template renders).
    pub(crate) async fn ensure_namespace(
        &self,
        caller: &Caller,
        t: &Tenant,
        plan: &ScopePlan,
        ns: &NamespaceKey,
    ) -> Result<()> {
        let catalog = self.catalog(t).await?;
        if catalog.is_stored(ns) {
            return Ok(());
        }
        let kind = self.inner.policy.kind_of(plan, ns);
        let record = memory_core::Namespace::new(caller.tenant.clone(), ns.clone(), kind, self.now());
        match self.inner.store.create_namespace(record).await {
            Ok(()) => {
                self.audit(
                    caller,
                    Some(ns),
                    AuditOp::NamespaceCreate,
                    AuditOutcome::Ok,
                    json!({ "kind": kind.to_string(), "on": "first write" }),
                )
                .await
            }
            Err(e) if e.kind() == memory_core::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn auto_promotion_configured(&self) -> bool {
        let policy = &self.inner.policy;
        policy.config().auto_promote_to_shared.enabled
            || policy.active_profile().and_then(|p| p.auto_promote.as_ref()).is_some_and(|a| a.enabled)
    }
}

impl Tenant {
    pub(crate) fn forget_pending(&self, ids: &[MemoryId]) {
        let mut pending = self.pending.lock().expect("pending vectors");
        for id in ids {
            pending.remove(id);
        }
    }
}

/// The checks of an input that need the engine's view (the rest is [`NewMemory::validate`]).
fn check_input(input: &MemoryInput, now: Timestamp, dimension: usize) -> Result<()> {
    let content = input.content.trim();
    if content.is_empty() {
        return Err(Error::invalid_input("the content is empty"));
    }
    if content.len() > MAX_CONTENT_BYTES {
        return Err(Error::invalid_input(format!(
            "the content is {} bytes; at most {MAX_CONTENT_BYTES} are accepted",
            content.len()
        )));
    }
    match (input.layer, input.expires_at) {
        (Layer::Working, None) => {
            return Err(Error::invalid_input("a working memory needs expires_at"));
        }
        (Layer::Working, Some(at)) if at <= now => {
            return Err(Error::invalid_input(format!("expires_at {at} is not in the future")));
        }
        (Layer::Working, Some(_)) | (_, None) => {}
        (layer, Some(_)) => {
            return Err(Error::invalid_input(format!(
                "only working memories expire; a {layer} memory cannot take expires_at"
            )));
        }
    }
    if let Some(v) = &input.vector {
        if v.len() != dimension {
            return Err(Error::invalid_input(format!(
                "the vector has {} dimensions; the embedder has {dimension}",
                v.len()
            )));
        }
        if v.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid_input("the vector holds a NaN or infinite value"));
        }
    }
    Ok(())
}
