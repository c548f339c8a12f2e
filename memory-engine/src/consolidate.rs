//! Consolidation (SPEC 7): a namespace's new episodes become durable memories, entities and
//! identity proposals.
//!
//! The decisions are `memory-consolidate`'s (pure: episodes and existing memories in, actions
//! out); this module reads their inputs and carries the actions out through the one write
//! pipeline, so every consolidated memory is planned, validated, embedded, deduplicated,
//! auto-promoted and audited like any other write. Identity is never written here: it goes to
//! the review queue ([`Engine::approve_proposal`] writes it).
//!
//! Each namespace keeps a checkpoint (the last episode read, in the status record of its
//! `consolidate` job), so a run reads only episodes remembered since the last one; the plan
//! also skips evidence it already recorded, so running twice over the same episodes changes
//! nothing.

use std::collections::{BTreeMap, HashMap};

use memory_consolidate::{Action, Candidate, Episode, Existing, Extractor, Target, extract_entities};
use memory_core::{
    AuditOp, AuditOutcome, Decision, EntityLink, Error, ErrorKind, Job, JobLock, JobStatus, Layer, Memory,
    MemoryFilter, MemoryId, NamespaceKey, Page, PageRequest, Proposal, ProposalFilter, ProposalId, ProposalStatus,
    Result, Timestamp,
};
use serde::Serialize;
use serde_json::json;

use crate::caller::Caller;
use crate::engine::{Engine, Tenant};
use crate::promote::Promoted;
use crate::sync::blocking_value;
use crate::write::MemoryInput;

/// Default most episodes one consolidation run reads.
pub const DEFAULT_CONSOLIDATE_EPISODES: usize = 10_000;

/// Episodes read from the store (and handed to the extractor) at a time.
const EPISODE_PAGE: usize = 500;

/// Metadata keys consolidation records on what it writes.
pub mod meta {
    /// The extractor that read it (`rules`, `llm:<model>`).
    pub const CONSOLIDATED: &str = "consolidated";
    /// The episode ids it was read from.
    pub const SOURCES: &str = "sources";
    /// What it is about: candidates with the same slot contradict each other.
    pub const SLOT: &str = "slot";
    /// When its knowledge was stated (the latest source time).
    pub const STATED_AT: &str = "stated_at";
    /// The extracted kind (`preference`, `rule`, ...).
    pub const KIND: &str = "kind";
    /// The proposal an approved identity memory came from.
    pub const PROPOSAL: &str = "proposal";
}

/// What [`Engine::consolidate`] is asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsolidateRequest {
    /// The namespace (raw); `None` is the caller's write default.
    pub namespace: Option<String>,
    /// Most episodes to read in this run (default [`DEFAULT_CONSOLIDATE_EPISODES`]); the
    /// checkpoint makes the next run go on from there.
    pub max_episodes: Option<usize>,
}

/// What one consolidation run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Consolidation {
    /// The namespace consolidated.
    pub namespace: Option<NamespaceKey>,
    /// The extractor used.
    pub extractor: String,
    /// Episodes read.
    pub episodes: usize,
    /// Candidates the extractor found.
    pub candidates: usize,
    /// New memories written.
    pub created: Vec<MemoryId>,
    /// Memories that gained evidence.
    pub evidence: Vec<MemoryId>,
    /// Corrections: (old, new).
    pub superseded: Vec<(MemoryId, MemoryId)>,
    /// Identity proposals queued for review.
    pub proposed: Vec<ProposalId>,
    /// Copies made by auto-promotion.
    pub promoted: Vec<Promoted>,
    /// Entity links made (episodes and new memories).
    pub entity_links: usize,
    /// Candidates that changed nothing (already known, or older than what they contradict).
    pub unchanged: usize,
    /// Whether episodes remain after this run (over `max_episodes`).
    pub more: bool,
    /// Anything the caller should know.
    pub warnings: Vec<String>,
}

impl Consolidation {
    /// The run's counts, for its status record.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        BTreeMap::from([
            ("episodes".to_owned(), self.episodes as u64),
            ("candidates".to_owned(), self.candidates as u64),
            ("created".to_owned(), self.created.len() as u64),
            ("evidence".to_owned(), self.evidence.len() as u64),
            ("superseded".to_owned(), self.superseded.len() as u64),
            ("proposed".to_owned(), self.proposed.len() as u64),
            ("promoted".to_owned(), self.promoted.len() as u64),
            ("entity_links".to_owned(), self.entity_links as u64),
            ("unchanged".to_owned(), self.unchanged as u64),
        ])
    }
}

impl Engine {
    /// Consolidates the caller's new episodes of one namespace (one it may read and write):
    /// extraction, merging, identity proposals, entities, auto-promotion. Holds the namespace's
    /// `consolidate` lock, so it never runs beside a maintenance worker's consolidation of the
    /// same namespace (`Conflict` while one runs), and records the run's status.
    pub async fn consolidate(
        &self,
        caller: &Caller,
        request: &ConsolidateRequest,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<Consolidation> {
        let t = self.tenant(&caller.tenant).await?;
        let ns = self.writable_namespace(caller, &t, request.namespace.as_deref(), AuditOp::MemoryConsolidate).await?;
        let holder = format!("consolidate-{}", uuid::Uuid::now_v7());
        let lease = self.maintenance_lease();
        let lock = JobLock {
            tenant: caller.tenant.clone(),
            job: Job::Consolidate,
            namespace: ns.clone(),
            holder: holder.clone(),
            acquired_at: self.now(),
            expires_at: self.now().plus_micros(lease),
        };
        if !self.inner.store.try_lock_job(&lock).await? {
            return Err(Error::conflict(format!(
                "namespace {:?} is being consolidated by another worker; try again later",
                ns.as_str()
            )));
        }
        let started = self.now();
        let result = self.consolidate_locked(caller, &ns, request.max_episodes, progress, &mut |_| {}).await;
        let _ = self.inner.store.unlock_job(&caller.tenant, Job::Consolidate, &ns, &holder).await;
        let (report, checkpoint) = match result {
            Ok(done) => done,
            Err(e) => {
                let failed = Err((JobStatus::Failed, e.message().to_owned()));
                let _ = self.record_run(&caller.tenant, Job::Consolidate, &ns, started, failed).await;
                return Err(e);
            }
        };
        self.record_run(&caller.tenant, Job::Consolidate, &ns, started, Ok((report.counts(), checkpoint))).await?;
        Ok(report)
    }

    /// The namespace `raw` (or the caller's write default) when the caller may write it.
    pub(crate) async fn writable_namespace(
        &self,
        caller: &Caller,
        t: &Tenant,
        raw: Option<&str>,
        op: AuditOp,
    ) -> Result<NamespaceKey> {
        let catalog = self.catalog(t).await?;
        let plan = self.write_plan(caller, catalog.as_ref(), raw, op).await?;
        match plan.write {
            Some(ns) if catalog.is_stored(&ns) => Ok(ns),
            Some(ns) => Err(Error::not_found(format!("namespace {:?} holds nothing yet", ns.as_str()))),
            None => Err(Error::internal("a write plan without a write target")),
        }
    }

    /// One consolidation run over `ns`, its lock held by the caller. `writer` picks who writes
    /// what a batch of episodes teaches: the caller for an explicit run; for maintenance, the
    /// principal who remembered the episodes. Returns the report and the new checkpoint.
    pub(crate) async fn consolidate_locked(
        &self,
        caller: &Caller,
        ns: &NamespaceKey,
        max_episodes: Option<usize>,
        progress: &mut (dyn FnMut(usize) + Send),
        renew: &mut (dyn FnMut(Timestamp) + Send),
    ) -> Result<(Consolidation, Option<String>)> {
        let extractor = self.inner.extractor.clone();
        let mut report =
            Consolidation { namespace: Some(ns.clone()), extractor: extractor.name(), ..Consolidation::default() };
        let max = max_episodes.unwrap_or(DEFAULT_CONSOLIDATE_EPISODES).max(1);
        let mut checkpoint = self.consolidation_checkpoint(&caller.tenant, ns).await?;
        let mut filter = MemoryFilter::namespace(ns.clone());
        filter.layers = Some(vec![Layer::Episodic]);
        // What the namespace holds of durable layers: read once per run (when there are
        // episodes), then kept up to date with what each batch writes.
        let mut existing: Option<HashMap<MemoryId, Memory>> = None;
        while report.episodes < max {
            let limit = EPISODE_PAGE.min(max - report.episodes);
            let page = PageRequest { cursor: checkpoint.clone(), limit };
            let Page { items, next_cursor } = self.inner.store.list_memories(&caller.tenant, &filter, &page).await?;
            let Some(last) = items.last().map(|m| m.id) else { break };
            // Episodes of each writer are consolidated as that writer (a caller's explicit run
            // writes everything as itself).
            for (writer, episodes) in by_writer(caller, &items) {
                if existing.is_none() {
                    existing = Some(self.durable_memories(&caller.tenant, ns).await?);
                }
                let known = existing.as_mut().expect("loaded above");
                self.consolidate_batch(&writer, ns, &extractor, &episodes, known, &mut report).await?;
            }
            report.episodes += items.len();
            checkpoint = Some(last.to_string());
            progress(report.episodes);
            renew(self.now());
            if next_cursor.is_none() {
                break;
            }
            report.more = report.episodes >= max;
        }
        Ok((report, checkpoint))
    }

    /// Where the namespace's next consolidation starts: the last episode the previous run read.
    async fn consolidation_checkpoint(
        &self,
        tenant: &memory_core::TenantId,
        ns: &NamespaceKey,
    ) -> Result<Option<String>> {
        let runs = self.inner.store.list_job_runs(tenant, Some(ns)).await?;
        Ok(runs.into_iter().find(|r| r.job == Job::Consolidate).and_then(|r| r.checkpoint))
    }

    /// Extracts from one writer's episodes, plans against what the namespace holds and applies
    /// the plan.
    async fn consolidate_batch(
        &self,
        writer: &Caller,
        ns: &NamespaceKey,
        extractor: &std::sync::Arc<dyn Extractor>,
        episodes: &[&Memory],
        existing: &mut HashMap<MemoryId, Memory>,
        report: &mut Consolidation,
    ) -> Result<()> {
        let input: Vec<Episode> = episodes
            .iter()
            .map(|m| Episode {
                id: m.id,
                conversation: m.provenance.conversation_id.clone(),
                role: m.metadata.get("role").and_then(|r| r.as_str()).map(str::to_owned),
                content: m.content.clone(),
                at: m.created_at,
            })
            .collect();
        let ex = extractor.clone();
        let candidates = blocking_value("extract", move || {
            ex.extract(&input).map_err(|e| Error::unavailable(format!("consolidation: {e}")))
        })
        .await?;
        report.candidates += candidates.len();

        let proposed = self.pending_identity(&writer.tenant, ns).await?;
        let known: Vec<Existing> = existing.values().map(existing_of).collect();
        let plan = memory_consolidate::plan(candidates, &known, &proposed);
        report.unchanged += plan.unchanged;

        // Writes go in rounds: an action that supersedes a memory planned in the same batch
        // waits for the round that writes it.
        let mut written: HashMap<usize, MemoryId> = HashMap::new();
        let mut skipped: std::collections::HashSet<usize> = std::collections::HashSet::new();
        let mut proposed: Vec<ProposalId> = Vec::new();
        let mut left: Vec<usize> = (0..plan.actions.len()).collect();
        let mut new_memories: Vec<MemoryId> = Vec::new();
        while !left.is_empty() {
            let mut inputs = Vec::new();
            let mut order = Vec::new();
            let mut later = Vec::new();
            for &i in &left {
                let input = match &plan.actions[i] {
                    Action::Create { candidate } => Some(candidate_input(ns, candidate, &report.extractor)),
                    Action::Supersede { old, candidate } => match old {
                        Target::Stored(id) => Some(candidate_input(ns, candidate, &report.extractor).superseding(*id)),
                        Target::Planned(p) => match written.get(p) {
                            Some(id) => Some(candidate_input(ns, candidate, &report.extractor).superseding(*id)),
                            // What it corrects was skipped: it is new knowledge.
                            None if skipped.contains(p) => Some(candidate_input(ns, candidate, &report.extractor)),
                            None => {
                                later.push(i);
                                None
                            }
                        },
                    },
                    Action::AddEvidence { target, sources, confidence } => {
                        existing.get(target).map(|m| evidence_input(m, sources, *confidence))
                    }
                    Action::Propose { candidate, supersedes } => {
                        let id = self.propose(writer, ns, candidate, *supersedes, &report.extractor).await?;
                        report.proposed.push(id);
                        proposed.push(id);
                        None
                    }
                };
                if let Some(input) = input {
                    inputs.push(input);
                    order.push(i);
                }
            }
            if inputs.is_empty() && !later.is_empty() {
                // Cannot happen (a planned target always comes first); never loop forever.
                return Err(Error::internal("consolidation plan refers to a memory it never writes"));
            }
            let outcomes = self.write_candidates(writer, inputs, &mut report.warnings).await?;
            for (i, w) in order.into_iter().zip(outcomes) {
                let Some(w) = w else {
                    skipped.insert(i);
                    continue;
                };
                written.insert(i, w.id);
                report.promoted.extend(w.promoted);
                report.warnings.extend(w.warnings);
                match &plan.actions[i] {
                    Action::AddEvidence { target, .. } => report.evidence.push(*target),
                    Action::Supersede { old, .. } => {
                        let old = match old {
                            Target::Stored(id) => Some(*id),
                            Target::Planned(p) => written.get(p).copied(),
                        };
                        match old {
                            Some(old) => report.superseded.push((old, w.id)),
                            None => report.created.push(w.id),
                        }
                        new_memories.push(w.id);
                    }
                    Action::Create { .. } if w.created => {
                        report.created.push(w.id);
                        new_memories.push(w.id);
                    }
                    Action::Create { .. } => report.evidence.push(w.id),
                    Action::Propose { .. } => {}
                }
            }
            left = later;
        }

        // One audit record for the batch's proposals (each proposal records its sources and
        // what it would supersede).
        if !proposed.is_empty() {
            let shown: Vec<&ProposalId> = proposed.iter().take(20).collect();
            let detail =
                json!({ "proposals": shown, "count": proposed.len(), "more": proposed.len().saturating_sub(20) });
            self.audit(writer, Some(ns), AuditOp::ProposalCreate, AuditOutcome::Ok, detail).await?;
        }

        // Keep the known durable memories current: what this batch wrote, corrected or added
        // evidence to, as stored now.
        let mut touched: Vec<MemoryId> = new_memories.clone();
        for action in &plan.actions {
            match action {
                Action::AddEvidence { target, .. } => touched.push(*target),
                Action::Supersede { old: Target::Stored(old), .. } => {
                    existing.remove(old);
                }
                _ => {}
            }
        }
        touched.extend(written.values().copied());
        if !touched.is_empty() {
            for m in self.inner.store.get_memories(&writer.tenant, &touched).await? {
                let durable = matches!(m.layer, Layer::Identity | Layer::Procedural | Layer::Semantic);
                if m.namespace == *ns && durable && m.superseded_by.is_none() {
                    existing.insert(m.id, m);
                } else {
                    existing.remove(&m.id);
                }
            }
        }

        // Entities of the episodes and of what was written, in this namespace only.
        let mut links = Vec::new();
        for m in episodes {
            links.extend(links_of(m.id, &m.content));
        }
        if !new_memories.is_empty() {
            for m in self.inner.store.get_memories(&writer.tenant, &new_memories).await? {
                if m.namespace == *ns {
                    links.extend(links_of(m.id, &m.content));
                }
            }
        }
        if !links.is_empty() {
            // One name, one kind within a run: a mention whose kind the context told ("my friend
            // Priya": a person) settles the kind of bare mentions of the same name.
            let mut kinds: HashMap<String, memory_core::EntityKind> = HashMap::new();
            for l in &links {
                let k = kinds.entry(memory_core::Entity::key_of(&l.name)).or_insert(l.kind);
                if *k == memory_core::EntityKind::Other {
                    *k = l.kind;
                }
            }
            for l in &mut links {
                l.kind = kinds[&memory_core::Entity::key_of(&l.name)];
            }
            report.entity_links += links.len();
            self.inner.store.link_entities(&writer.tenant, ns, &links, self.now()).await?;
        }
        Ok(())
    }

    /// Writes one round of a plan through the write pipeline. A candidate that conflicts with
    /// what the namespace holds (the same text under another category) must not block the
    /// others, nor the namespace's every later run: on a conflict each input is written alone
    /// and a conflicting one is skipped (`None`) with a warning.
    async fn write_candidates(
        &self,
        writer: &Caller,
        inputs: Vec<MemoryInput>,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Option<crate::write::Written>>> {
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        let op = AuditOp::MemoryConsolidate;
        match self.write(writer, inputs.clone(), op).await {
            Ok(all) => return Ok(all.into_iter().map(Some).collect()),
            Err(e) if e.kind() == ErrorKind::Conflict => {}
            Err(e) => return Err(e),
        }
        let mut out = Vec::with_capacity(inputs.len());
        for input in inputs {
            let content = input.content.clone();
            match self.write_one(writer, input, op).await {
                Ok(w) => out.push(Some(w)),
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    warnings.push(format!("skipped {content:?}: {}", e.message()));
                    out.push(None);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// The namespace's live, unsuperseded memories of durable layers, by id.
    async fn durable_memories(
        &self,
        tenant: &memory_core::TenantId,
        ns: &NamespaceKey,
    ) -> Result<HashMap<MemoryId, Memory>> {
        let mut filter = MemoryFilter::namespace(ns.clone());
        filter.layers = Some(vec![Layer::Identity, Layer::Procedural, Layer::Semantic]);
        filter.exclude_superseded = true;
        let mut out = HashMap::new();
        let mut page = PageRequest::first(memory_core::MAX_PAGE_LIMIT);
        loop {
            let p = self.inner.store.list_memories(tenant, &filter, &page).await?;
            out.extend(p.items.into_iter().map(|m| (m.id, m)));
            match p.next_cursor {
                Some(c) => page = PageRequest::after(c, memory_core::MAX_PAGE_LIMIT),
                None => return Ok(out),
            }
        }
    }

    /// Contents of the namespace's pending proposals.
    async fn pending_identity(&self, tenant: &memory_core::TenantId, ns: &NamespaceKey) -> Result<Vec<String>> {
        let mut filter = ProposalFilter::default();
        filter.namespace = Some(ns.clone());
        filter.status = Some(ProposalStatus::Pending);
        let mut out = Vec::new();
        let mut page = PageRequest::first(memory_core::MAX_PAGE_LIMIT);
        loop {
            let p = self.inner.store.list_proposals(tenant, &filter, &page).await?;
            out.extend(p.items.into_iter().map(|p| p.content));
            match p.next_cursor {
                Some(c) => page = PageRequest::after(c, memory_core::MAX_PAGE_LIMIT),
                None => return Ok(out),
            }
        }
    }

    /// Queues an identity candidate for review (audited per batch by the caller).
    async fn propose(
        &self,
        writer: &Caller,
        ns: &NamespaceKey,
        candidate: &Candidate,
        supersedes: Option<MemoryId>,
        extractor: &str,
    ) -> Result<ProposalId> {
        let proposal = Proposal {
            id: ProposalId::new_v7(),
            tenant: writer.tenant.clone(),
            namespace: ns.clone(),
            layer: Layer::Identity,
            content: candidate.content.clone(),
            category: candidate.category(),
            confidence: candidate.confidence,
            reason: format!("{} statement found by consolidation ({extractor})", candidate.kind),
            source_memory_ids: candidate.sources.clone(),
            proposed_by: self.principal_of(writer),
            status: ProposalStatus::Pending,
            created_at: self.now(),
            decided_at: None,
            decided_by: None,
            supersedes,
            metadata: candidate_metadata(candidate, extractor),
        };
        let id = proposal.id;
        self.inner.store.create_proposal(proposal).await?;
        Ok(id)
    }

    /// A page of the review queue: proposals of the namespaces the caller may write (all of
    /// the tenant's for an operator), optionally of one namespace and status.
    pub async fn proposals(
        &self,
        caller: &Caller,
        namespace: Option<&str>,
        status: Option<ProposalStatus>,
        page: &PageRequest,
    ) -> Result<Page<Proposal>> {
        let t = self.tenant(&caller.tenant).await?;
        let ns = namespace.map(NamespaceKey::new).transpose().map_err(|e| Error::invalid_input(e.to_string()))?;
        let vis = self.visibility(caller, &t).await?;
        if let Some(ns) = &ns
            && !caller.operator
            && !self.may_write(caller, &vis, ns)
        {
            let err = Error::forbidden(format!("may not review proposals of namespace {:?}", ns.as_str()));
            self.audit_denied(caller, Some(ns), AuditOp::ProposalList, &err).await;
            return Err(err);
        }
        let mut filter = ProposalFilter::default();
        filter.namespace = ns;
        filter.status = status;
        // Filter by what the caller may review, page by page, so a page never leaks a count.
        let mut out = Vec::new();
        let mut page = page.clone();
        loop {
            let p = self.inner.store.list_proposals(&caller.tenant, &filter, &page).await?;
            out.extend(p.items.into_iter().filter(|p| caller.operator || self.may_write(caller, &vis, &p.namespace)));
            match p.next_cursor {
                Some(c) if out.len() < page.limit => page = PageRequest::after(c, page.limit),
                next => {
                    let next_cursor = match out.len() > page.limit {
                        true => {
                            out.truncate(page.limit);
                            out.last().map(|p| p.id.to_string())
                        }
                        false => next,
                    };
                    return Ok(Page { items: out, next_cursor });
                }
            }
        }
    }

    /// One proposal the caller may review; 404 otherwise.
    async fn reviewable(&self, caller: &Caller, t: &Tenant, id: ProposalId, op: AuditOp) -> Result<Proposal> {
        let found = self.inner.store.get_proposal(&caller.tenant, id).await?;
        let vis = self.visibility(caller, t).await?;
        match found {
            Some(p) if caller.operator || self.may_write(caller, &vis, &p.namespace) => Ok(p),
            other => {
                let err = Error::not_found(format!("proposal {id} not found"));
                self.audit_denied(caller, other.as_ref().map(|p| &p.namespace), op, &err).await;
                Err(err)
            }
        }
    }

    /// Approves a pending proposal: its memory is written through the normal pipeline (as the
    /// reviewer, so the reviewer must be allowed to write it), superseding what it corrects,
    /// and the decision is recorded and audited.
    pub async fn approve_proposal(&self, caller: &Caller, id: ProposalId) -> Result<(Proposal, MemoryId)> {
        let t = self.tenant(&caller.tenant).await?;
        let p = self.reviewable(caller, &t, id, AuditOp::ProposalApprove).await?;
        if p.status != ProposalStatus::Pending {
            return Err(Error::conflict(format!("proposal {id} is already {}", p.status)));
        }
        let mut input = MemoryInput::new(p.layer, p.content.clone())
            .in_namespace(p.namespace.as_str())
            .category(p.category.clone())
            .confidence(p.confidence);
        input.metadata = p.metadata.clone();
        input.metadata.insert(meta::PROPOSAL.to_owned(), json!(p.id));
        // What it corrects may have gone meanwhile: then it is a plain write.
        if let Some(old) = p.supersedes
            && self.inner.store.get_memory(&caller.tenant, old).await?.is_some_and(|m| m.superseded_by.is_none())
        {
            input = input.superseding(old);
        }
        let written = self.write_one(caller, input, AuditOp::ProposalApprove).await?;
        let by = self.principal_of(caller).unwrap_or_else(|| memory_core::Principal::new("operator").expect("valid"));
        let decided = self.inner.store.decide_proposal(&caller.tenant, id, Decision::Approve, by, self.now()).await?;
        let detail = json!({ "proposal": id, "memory": written.id, "created": written.created });
        self.audit(caller, Some(&p.namespace), AuditOp::ProposalDecide, AuditOutcome::Ok, detail).await?;
        Ok((decided, written.id))
    }

    /// Rejects a pending proposal; nothing is written. Audited.
    pub async fn reject_proposal(&self, caller: &Caller, id: ProposalId) -> Result<Proposal> {
        let t = self.tenant(&caller.tenant).await?;
        let p = self.reviewable(caller, &t, id, AuditOp::ProposalReject).await?;
        let by = self.principal_of(caller).unwrap_or_else(|| memory_core::Principal::new("operator").expect("valid"));
        let decided = self.inner.store.decide_proposal(&caller.tenant, id, Decision::Reject, by, self.now()).await?;
        self.audit(
            caller,
            Some(&p.namespace),
            AuditOp::ProposalDecide,
            AuditOutcome::Ok,
            json!({ "proposal": id, "decision": "reject" }),
        )
        .await?;
        Ok(decided)
    }
}

/// Groups episodes by who remembered them; an explicit run (a caller that is not an
/// operator's maintenance worker) writes everything as itself.
fn by_writer<'a>(caller: &Caller, episodes: &'a [Memory]) -> Vec<(Caller, Vec<&'a Memory>)> {
    if !caller.operator {
        return vec![(caller.clone(), episodes.iter().collect())];
    }
    let mut groups: Vec<(Option<memory_core::Principal>, Vec<&Memory>)> = Vec::new();
    for m in episodes {
        let p = m.provenance.principal.clone();
        match groups.iter_mut().find(|(g, _)| *g == p) {
            Some((_, list)) => list.push(m),
            None => groups.push((p, vec![m])),
        }
    }
    groups
        .into_iter()
        .map(|(p, list)| {
            let identity = match p {
                Some(p) => memory_policy::Caller::principal(p),
                None => memory_policy::Caller::default(),
            };
            let mut writer = Caller::new(caller.tenant.clone(), identity);
            writer.project = caller.project.clone();
            (writer, list)
        })
        .collect()
}

/// What the planner needs to know of a stored memory.
fn existing_of(m: &Memory) -> Existing {
    let sources = m
        .metadata
        .get(meta::SOURCES)
        .and_then(|v| serde_json::from_value::<Vec<MemoryId>>(v.clone()).ok())
        .unwrap_or_default();
    let stated_at = m
        .metadata
        .get(meta::STATED_AT)
        .and_then(|v| v.as_str())
        .and_then(|s| Timestamp::parse_rfc3339(s).ok())
        .unwrap_or(m.created_at);
    Existing {
        id: m.id,
        layer: m.layer,
        content: m.content.clone(),
        confidence: m.confidence,
        slot: m.metadata.get(meta::SLOT).and_then(|v| v.as_str()).map(str::to_owned),
        sources,
        stated_at,
    }
}

/// The metadata a consolidated memory is written with.
fn candidate_metadata(c: &Candidate, extractor: &str) -> memory_core::Metadata {
    let mut m = memory_core::Metadata::new();
    m.insert(meta::CONSOLIDATED.to_owned(), json!(extractor));
    m.insert(meta::SOURCES.to_owned(), json!(c.sources));
    m.insert(meta::KIND.to_owned(), json!(c.kind.as_str()));
    m.insert(meta::STATED_AT.to_owned(), json!(c.at.to_string()));
    if let Some(slot) = &c.slot {
        m.insert(meta::SLOT.to_owned(), json!(slot));
    }
    m
}

/// A candidate as a write into `ns`.
fn candidate_input(ns: &NamespaceKey, c: &Candidate, extractor: &str) -> MemoryInput {
    let mut input = MemoryInput::new(c.layer(), c.content.clone())
        .in_namespace(ns.as_str())
        .category(c.category())
        .confidence(c.confidence);
    input.metadata = candidate_metadata(c, extractor);
    input
}

/// New evidence for `m`, as a repeated write of its content: the duplicate path raises its
/// evidence count and takes the higher confidence and the longer source list over.
fn evidence_input(m: &Memory, sources: &[MemoryId], confidence: memory_core::Confidence) -> MemoryInput {
    let mut input = MemoryInput::new(m.layer, m.content.clone())
        .in_namespace(m.namespace.as_str())
        .category(m.category.clone())
        .confidence(confidence);
    input.metadata = m.metadata.clone();
    input.metadata.insert(meta::SOURCES.to_owned(), json!(sources));
    input
}

/// The entity links of one memory's text.
fn links_of(id: MemoryId, text: &str) -> Vec<EntityLink> {
    extract_entities(text).into_iter().map(|e| EntityLink { memory: id, name: e.name, kind: e.kind }).collect()
}
