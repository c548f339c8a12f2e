//! Draws random operations from a seeded generator: small pools of tenants, namespace keys,
//! contents and secrets make collisions (deduplication, taken keys and ids, conflicts)
//! frequent, and a few percent of inputs are deliberately invalid.
//!
//! Everything, ids and times included, comes from the seeded `StdRng`, so a seed replays the
//! same sequence. The generator may read the reference store to aim at existing records.

use memory_core::{
    ApiKey, ApiKeyId, AuditFilter, AuditId, AuditOp, AuditOutcome, AuditRecord, Category, Confidence, Decision,
    DefaultAccess, KeyHash, KeyScope, Layer, MAX_PAGE_LIMIT, MemoryFilter, MemoryId, MemoryPatch, Metadata, Namespace,
    NamespaceFilter, NamespaceKey, NamespaceKind, NamespacePatch, NamespaceStatus, NamespaceTouch, NewMemory, Outcome,
    PageRequest, Permission, Principal, Proposal, ProposalFilter, ProposalId, ProposalStatus, Sensitivity, Store,
    TenantId, Timestamp, UsageStats,
};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;
use uuid::Uuid;

use super::op::{ChangePoint, Op};
use crate::fixtures::BASE;

const SECOND: i64 = 1_000_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 3600 * SECOND;
const DAY: i64 = 24 * HOUR;

/// Namespace keys: byte order differs from case-insensitive order, and one is not ASCII.
const KEYS: &[&str] = &["default", "team.alpha", "项目", "Research", "research", "ops_2"];
/// Never created, so puts into it are `NotFound`.
const GHOST_KEY: &str = "ghost";
/// Few enough that the same content is written again often; "Café" has two Unicode spellings
/// that hash alike.
const CONTENTS: &[&str] = &[
    "Alice prefers Python",
    "Bob owns the deploy pipeline",
    "the build uses cargo",
    "Café opens at nine",
    "Cafe\u{301} opens at nine",
    "meeting moved to Tuesday",
    "never force-push main",
    "项目 uses SQLite",
    "latency budget is 200ms",
    "the sky is blue",
    "grass is green",
    "tests run in CI",
    "prefer small crates",
    "deadline is Friday",
];
/// Secrets reused on purpose, so key hashes collide; most keys get a secret of their own.
const SECRETS: &[&str] = &["alpha-secret", "beta-secret", "gamma-secret"];
const PRINCIPALS: &[&str] = &["alice", "bob", "consolidator"];
const CATEGORIES: &[&str] = &["fact", "preference", "event", "decision"];
const OPERATIONS: &[AuditOp] = &[AuditOp::MemoryRemember, AuditOp::MemoryRecall, AuditOp::NamespaceArchive];
const TEAMS: &[&str] = &["alpha", "beta"];
/// How many recently made ids of each kind are remembered for reuse.
const POOL: usize = 256;

/// The seeded source of operations.
pub(crate) struct Generator {
    rng: StdRng,
    now: Timestamp,
    tenants: [TenantId; 2],
    memory_ids: Vec<MemoryId>,
    audit_ids: Vec<AuditId>,
    key_ids: Vec<ApiKeyId>,
    proposal_ids: Vec<ProposalId>,
    secrets: Vec<String>,
}

fn remember<T>(pool: &mut Vec<T>, item: T) {
    if pool.len() == POOL {
        pool.remove(0);
    }
    pool.push(item);
}

impl Generator {
    pub(crate) fn new(seed: u64) -> Self {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            now: BASE,
            tenants: [TenantId::new("tenant-one").expect("valid"), TenantId::new("tenant-two").expect("valid")],
            memory_ids: Vec::new(),
            audit_ids: Vec::new(),
            key_ids: Vec::new(),
            proposal_ids: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// Both tenants, for full-state comparisons.
    pub(crate) fn tenants(&self) -> &[TenantId; 2] {
        &self.tenants
    }

    /// The key hash of every secret the generator used recently.
    pub(crate) fn hashes(&self) -> Vec<KeyHash> {
        SECRETS.iter().copied().chain(self.secrets.iter().map(String::as_str)).map(KeyHash::of_secret).collect()
    }

    /// A secret for a new key: a quarter of them from a tiny shared pool (hash collisions).
    fn new_secret(&mut self) -> String {
        if self.chance(0.25) {
            return self.pick(SECRETS).to_owned();
        }
        let secret = format!("secret-{}", self.rng.random_range(0..1_000_000));
        remember(&mut self.secrets, secret.clone());
        secret
    }

    /// A secret to look up: mostly one used before, sometimes one never issued.
    fn known_secret(&mut self) -> String {
        match self.rng.random_range(0..10) {
            0..6 if !self.secrets.is_empty() => self.pick(&self.secrets.clone()),
            0..8 => self.pick(SECRETS).to_owned(),
            _ => "never-issued".to_owned(),
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items.choose(&mut self.rng).expect("non-empty choice").clone()
    }

    fn maybe<T>(&mut self, p: f64, make: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.chance(p) { Some(make(self)) } else { None }
    }

    /// Moves the clock forward by up to 1.5 s (sometimes not at all, so equal times occur).
    fn tick(&mut self) -> Timestamp {
        if self.chance(0.9) {
            self.now = self.now.plus_micros(self.rng.random_range(1..=3 * SECOND / 2));
        }
        self.now
    }

    /// When an outcome is reported: mostly `now`, sometimes late (before earlier reports) or
    /// months ahead (so utility decays noticeably), rarely outside the accepted years.
    fn outcome_time(&mut self, now: Timestamp) -> Timestamp {
        match self.rng.random_range(0..100) {
            0..70 => now,
            70..80 => self.ago(HOUR),
            80..98 => now.plus_micros(self.rng.random_range(DAY..=400 * DAY)),
            98 => Timestamp::MAX.plus_micros(1),
            _ => Timestamp::MIN.plus_micros(-1),
        }
    }

    fn ago(&mut self, up_to: i64) -> Timestamp {
        self.now.plus_micros(-self.rng.random_range(0..=up_to))
    }

    /// A UUIDv7 at the model clock with random bits from the seeded generator.
    fn uuid(&mut self) -> Uuid {
        let mut random = [0u8; 10];
        self.rng.fill(&mut random);
        let millis = u64::try_from(self.now.as_micros() / 1000).expect("model time is after 1970");
        uuid::Builder::from_unix_timestamp_millis(millis, &random).into_uuid()
    }

    fn tenant(&mut self) -> TenantId {
        let tenants = self.tenants.clone();
        self.pick(&tenants)
    }

    fn key(&mut self) -> NamespaceKey {
        let key = if self.chance(0.03) { GHOST_KEY } else { self.pick(KEYS) };
        NamespaceKey::new(key).expect("valid key")
    }

    fn principal(&mut self) -> Principal {
        Principal::new(self.pick(PRINCIPALS)).expect("valid principal")
    }

    fn category(&mut self) -> Category {
        Category::new(self.pick(CATEGORIES)).expect("valid category")
    }

    fn confidence(&mut self) -> Confidence {
        Confidence::new(self.pick(&[1.0, 0.9, 0.6, 0.3])).expect("valid confidence")
    }

    fn metadata(&mut self) -> Metadata {
        let n: u8 = self.rng.random_range(0..3);
        Metadata::from([("n".to_owned(), json!(n)), ("tags".to_owned(), json!(["a", n]))])
    }

    /// A content from the pool, re-spaced at random; rarely blank or with a NUL (invalid).
    fn content(&mut self) -> String {
        if self.chance(0.015) {
            return self.pick(&["", "  \n\t ", "bad\0byte"]).to_owned();
        }
        let base = self.pick(CONTENTS);
        match self.rng.random_range(0..6) {
            0 => format!("  {base}\n"),
            1 => base.replacen(' ', "  ", 1),
            2 => base.replacen(' ', "\t", 1),
            _ => base.to_owned(),
        }
    }

    fn memory_id(&mut self) -> MemoryId {
        let id = MemoryId::from_uuid(self.uuid());
        remember(&mut self.memory_ids, id);
        id
    }

    fn old_memory_id(&mut self) -> MemoryId {
        if self.memory_ids.is_empty() { self.memory_id() } else { self.pick(&self.memory_ids.clone()) }
    }

    /// A memory id to act on: mostly a live memory of `tenant`, sometimes a tombstoned one,
    /// else a recent id (perhaps purged, never stored or another tenant's) or a fresh one.
    async fn target(&mut self, oracle: &dyn Store, tenant: &TenantId) -> MemoryId {
        let roll = self.rng.random_range(0..10);
        let candidates: Vec<MemoryId> = match roll {
            0..6 => {
                let page =
                    oracle.list_memories(tenant, &MemoryFilter::all(), &PageRequest::first(MAX_PAGE_LIMIT)).await;
                page.expect("the reference lists").items.iter().map(|m| m.id).collect()
            }
            6 => {
                let feed = crate::fixtures::all_changes(oracle, tenant, 0, MAX_PAGE_LIMIT).await;
                feed.iter().filter(|m| m.deleted_at.is_some()).map(|m| m.id).collect()
            }
            _ => Vec::new(),
        };
        if !candidates.is_empty() {
            return self.pick(&candidates);
        }
        if roll < 9 { self.old_memory_id() } else { self.memory_id() }
    }

    async fn targets(&mut self, oracle: &dyn Store, tenant: &TenantId) -> Vec<MemoryId> {
        let n = self.rng.random_range(0..=3);
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(self.target(oracle, tenant).await);
        }
        ids
    }

    fn new_memory(&mut self, key: NamespaceKey) -> NewMemory {
        let layer = self.pick(Layer::ALL);
        let created_at = self.ago(3 * DAY);
        let content = self.content();
        let id = if self.chance(0.05) { self.old_memory_id() } else { self.memory_id() };
        let mut memory = NewMemory::new(key, layer, content, created_at).with_id(id);
        memory.category = self.category();
        memory.confidence = self.confidence();
        let expiry = self.now.plus_micros(self.rng.random_range(-HOUR..2 * HOUR));
        // Working memories need an expiry and only they may have one; a few break the rule.
        if (layer == Layer::Working) != self.chance(0.015) {
            memory.expires_at = Some(expiry);
        }
        if self.chance(0.2) {
            memory.updated_at = created_at.plus_micros(self.rng.random_range(0..HOUR));
        } else if self.chance(0.01) {
            memory.updated_at = created_at.plus_micros(-1);
        }
        if self.chance(0.2) {
            memory.metadata = self.metadata();
        }
        memory.supersedes = self.maybe(0.1, Self::old_memory_id);
        memory.superseded_by = self.maybe(0.05, Self::old_memory_id);
        if self.chance(0.005) {
            memory.superseded_by = Some(memory.id);
        }
        memory.promoted_from = self.maybe(0.05, Self::old_memory_id);
        memory.provenance.principal = self.maybe(0.2, Self::principal);
        memory.provenance.conversation_id = self.maybe(0.1, |g| format!("conv-{}", g.rng.random_range(0..5)));
        if self.chance(0.05) {
            memory.stats = UsageStats {
                evidence_count: 3,
                access_count: 2,
                utility: 0.7,
                last_outcome_at: self.maybe(0.5, |g| g.ago(DAY)),
                ..UsageStats::default()
            };
        }
        if self.chance(0.005) {
            memory.stats.evidence_count = 0;
        }
        memory
    }

    fn put(&mut self, tenant: TenantId) -> Op {
        let n = self.pick(&[0, 1, 1, 1, 2, 2, 3, 4]);
        // Most batches write into one namespace, as a client would.
        let shared_key = self.maybe(0.7, Self::key);
        let mut memories: Vec<NewMemory> = (0..n)
            .map(|_| {
                let key = shared_key.clone().unwrap_or_else(|| self.key());
                self.new_memory(key)
            })
            .collect();
        if !memories.is_empty() && self.chance(0.1) {
            // The same content again in the batch, under a new id.
            let mut again = self.pick(&memories);
            again.id = self.memory_id();
            memories.push(again);
        }
        if !memories.is_empty() && self.chance(0.03) {
            // An id repeated in the batch with other content.
            let key = self.key();
            let mut twin = self.new_memory(key);
            twin.id = self.pick(&memories).id;
            memories.push(twin);
        }
        Op::PutMemories { tenant, memories }
    }

    fn memory_filter(&mut self) -> MemoryFilter {
        let mut filter = MemoryFilter::all();
        if self.chance(0.5) {
            let n = self.rng.random_range(0..=3);
            filter.namespaces = Some((0..n).map(|_| self.key()).collect());
        }
        if self.chance(0.3) {
            let n = self.rng.random_range(0..=2);
            filter.layers = Some((0..n).map(|_| self.pick(Layer::ALL)).collect());
        }
        filter.category = self.maybe(0.2, Self::category);
        filter.created_from = self.maybe(0.2, |g| g.ago(3 * DAY));
        filter.created_before = self.maybe(0.2, |g| g.ago(2 * DAY));
        filter.exclude_superseded = self.chance(0.2);
        filter
    }

    fn limit(&mut self) -> usize {
        match self.rng.random_range(0..100) {
            0 => 0,
            1 => MAX_PAGE_LIMIT + 1,
            2..10 => MAX_PAGE_LIMIT,
            10..20 => 50,
            _ => self.rng.random_range(1..=7),
        }
    }

    fn memory_patch(&mut self, id: MemoryId) -> MemoryPatch {
        let mut patch = MemoryPatch::default();
        patch.content = self.maybe(0.35, Self::content);
        patch.layer = self.maybe(0.1, |g| g.pick(Layer::ALL));
        patch.category = self.maybe(0.15, Self::category);
        patch.confidence = self.maybe(0.15, Self::confidence);
        patch.expires_at = self.maybe(0.12, |g| g.maybe(0.6, |g| g.now.plus_micros(HOUR)));
        patch.metadata = self.maybe(0.1, Self::metadata);
        patch.superseded_by = self.maybe(0.15, |g| match g.rng.random_range(0..20) {
            0 => Some(id),
            1..6 => None,
            _ => Some(g.old_memory_id()),
        });
        patch
    }

    /// A namespace record; its key is mostly one the tenant lacks, so most creates succeed.
    async fn namespace(&mut self, oracle: &dyn Store, tenant: TenantId) -> Namespace {
        let mut free = Vec::new();
        for key in KEYS {
            let key = NamespaceKey::new(key).expect("valid key");
            if oracle.get_namespace(&tenant, &key).await.expect("the reference reads").is_none() {
                free.push(key);
            }
        }
        let key = if !free.is_empty() && self.chance(0.7) {
            self.pick(&free)
        } else {
            NamespaceKey::new(self.pick(KEYS)).expect("valid key")
        };
        let kind = self.pick(NamespaceKind::ALL);
        let mut ns = Namespace::new(tenant, key, kind, self.now);
        ns.team = self.maybe(0.5, |g| g.pick(TEAMS).to_owned());
        ns.sensitivity = self.pick(Sensitivity::ALL);
        ns.default_access = self.pick(DefaultAccess::ALL);
        ns.description = self.maybe(0.3, |g| format!("about {}", g.rng.random_range(0..10)));
        ns.retention_days = self.maybe(0.2, |g| g.pick(&[30, 365]));
        if self.chance(0.2) {
            ns.metadata = self.metadata();
        }
        match self.rng.random_range(0..100) {
            0 => ns.display_name = "  ".to_owned(),
            1 => ns.retention_days = Some(0),
            2..30 => ns.display_name = format!("Display {}", self.rng.random_range(0..10)),
            _ => {}
        }
        ns
    }

    fn namespace_patch(&mut self) -> NamespacePatch {
        let mut patch = NamespacePatch::default();
        patch.display_name = self.maybe(0.3, |g| {
            if g.chance(0.1) { String::new() } else { format!("Renamed {}", g.rng.random_range(0..10)) }
        });
        patch.description = self.maybe(0.2, |g| g.maybe(0.5, |g| format!("now {}", g.rng.random_range(0..10))));
        patch.team = self.maybe(0.2, |g| g.maybe(0.7, |g| g.pick(TEAMS).to_owned()));
        patch.sensitivity = self.maybe(0.2, |g| g.pick(Sensitivity::ALL));
        patch.default_access = self.maybe(0.2, |g| g.pick(DefaultAccess::ALL));
        patch.retention_days = self.maybe(0.2, |g| g.pick(&[None, Some(7), Some(0)]));
        patch.metadata = self.maybe(0.1, Self::metadata);
        patch
    }

    fn namespace_filter(&mut self) -> NamespaceFilter {
        let mut filter = NamespaceFilter::default();
        filter.team = self.maybe(0.2, |g| g.pick(TEAMS).to_owned());
        filter.sensitivity = self.maybe(0.2, |g| g.pick(Sensitivity::ALL));
        filter.kind = self.maybe(0.2, |g| g.pick(NamespaceKind::ALL));
        filter.status = self.maybe(0.4, |g| g.pick(NamespaceStatus::ALL));
        filter
    }

    fn audit_record(&mut self, tenant: TenantId) -> AuditRecord {
        let id = if self.chance(0.05) && !self.audit_ids.is_empty() {
            self.pick(&self.audit_ids.clone())
        } else {
            let id = AuditId::from_uuid(self.uuid());
            remember(&mut self.audit_ids, id);
            id
        };
        AuditRecord {
            id,
            tenant,
            namespace: self.maybe(0.7, Self::key),
            principal: self.maybe(0.8, Self::principal),
            key_id: self.maybe(0.2, Self::key_id),
            operation: self.pick(OPERATIONS),
            outcome: self.pick(AuditOutcome::ALL),
            detail: self
                .maybe(0.3, |g| {
                    let n = g.rng.random_range(0..10);
                    memory_core::AuditDetail::from([("n".to_owned(), serde_json::json!(n))])
                })
                .unwrap_or_default(),
            at: self.now,
            origin: self.maybe(0.1, |g| memory_core::AuditOrigin {
                import: AuditId::from_uuid(g.uuid()),
                tenant: "elsewhere".to_owned(),
                exported_at: g.now,
            }),
        }
    }

    fn audit_filter(&mut self) -> AuditFilter {
        let mut filter = AuditFilter::default();
        filter.namespace = self.maybe(0.2, Self::key);
        filter.principal = self.maybe(0.2, Self::principal);
        filter.operation = self.maybe(0.2, |g| g.pick(OPERATIONS));
        filter.outcome = self.maybe(0.2, |g| g.pick(AuditOutcome::ALL));
        filter
    }

    fn key_id(&mut self) -> ApiKeyId {
        if self.chance(0.9) && !self.key_ids.is_empty() {
            self.pick(&self.key_ids.clone())
        } else {
            let id = ApiKeyId::from_uuid(self.uuid());
            remember(&mut self.key_ids, id);
            id
        }
    }

    /// Distinct namespaces, except in 5% of cases (invalid).
    fn scopes(&mut self) -> Vec<KeyScope> {
        let n = self.rng.random_range(0..=3);
        let mut keys: Vec<&str> = KEYS.choose_multiple(&mut self.rng, n).copied().collect();
        if !keys.is_empty() && self.chance(0.05) {
            keys.push(keys[0]);
        }
        keys.into_iter()
            .map(|k| KeyScope {
                namespace: NamespaceKey::new(k).expect("valid key"),
                permission: self.pick(Permission::ALL),
            })
            .collect()
    }

    fn api_key(&mut self, tenant: TenantId) -> ApiKey {
        let id = if self.chance(0.05) && !self.key_ids.is_empty() {
            self.pick(&self.key_ids.clone())
        } else {
            let id = ApiKeyId::from_uuid(self.uuid());
            remember(&mut self.key_ids, id);
            id
        };
        ApiKey {
            id,
            tenant,
            principal: self.principal(),
            label: if self.chance(0.03) { " ".to_owned() } else { format!("key {}", self.rng.random_range(0..10)) },
            hash: KeyHash::of_secret(&self.new_secret()),
            scopes: self.scopes(),
            default_namespace: self.maybe(0.3, Self::key),
            created_at: self.now,
            updated_at: self.now,
            revoked_at: self.maybe(0.03, |g| g.now),
            admin: self.chance(0.2),
        }
    }

    fn proposal_id(&mut self) -> ProposalId {
        if self.chance(0.9) && !self.proposal_ids.is_empty() {
            self.pick(&self.proposal_ids.clone())
        } else {
            let id = ProposalId::from_uuid(self.uuid());
            remember(&mut self.proposal_ids, id);
            id
        }
    }

    fn proposal(&mut self, tenant: TenantId) -> Proposal {
        let id = if self.chance(0.05) && !self.proposal_ids.is_empty() {
            self.pick(&self.proposal_ids.clone())
        } else {
            let id = ProposalId::from_uuid(self.uuid());
            remember(&mut self.proposal_ids, id);
            id
        };
        let status = match self.rng.random_range(0..100) {
            0 => ProposalStatus::Approved,
            1 => ProposalStatus::Rejected,
            _ => ProposalStatus::Pending,
        };
        let n = self.rng.random_range(0..=2);
        Proposal {
            id,
            tenant,
            namespace: self.key(),
            layer: self.pick(Layer::ALL),
            content: self.content(),
            category: self.category(),
            confidence: self.confidence(),
            reason: format!("reason {}", self.rng.random_range(0..5)),
            source_memory_ids: (0..n).map(|_| self.old_memory_id()).collect(),
            proposed_by: self.maybe(0.7, Self::principal),
            status,
            created_at: self.now,
            decided_at: None,
            decided_by: None,
            supersedes: None,
            metadata: Default::default(),
        }
    }

    fn proposal_filter(&mut self) -> ProposalFilter {
        let mut filter = ProposalFilter::default();
        filter.namespace = self.maybe(0.3, Self::key);
        filter.status = self.maybe(0.4, |g| g.pick(ProposalStatus::ALL));
        filter
    }

    /// The next operation; `oracle` is the reference store, read only to aim at records that
    /// exist.
    pub(crate) async fn next(&mut self, oracle: &dyn Store) -> Op {
        let at = self.tick();
        let tenant = self.tenant();
        let key = self.key();
        match self.rng.random_range(0..100) {
            0..4 => Op::CreateNamespace(self.namespace(oracle, tenant).await),
            4 => Op::GetNamespace { tenant, key },
            5..7 => Op::ListNamespaces { filter: self.namespace_filter(), tenant },
            7..9 => Op::UpdateNamespace { patch: self.namespace_patch(), tenant, key, at },
            9 => {
                let touch = if self.chance(0.5) { NamespaceTouch::Read } else { NamespaceTouch::Maintenance };
                Op::TouchNamespace { tenant, key, touch, at }
            }
            10 => Op::ArchiveNamespace { tenant, key, at },
            11..13 => Op::RestoreNamespace { tenant, key, at },
            // A deleted namespace is gone until its tombstones are purged, so deletes are rare.
            13 if self.chance(0.3) => Op::DeleteNamespace { tenant, key, at },
            13 => Op::RestoreNamespace { tenant, key, at },
            14..33 => self.put(tenant),
            33..37 => Op::GetMemory { id: self.target(oracle, &tenant).await, tenant },
            37..39 => {
                let mut ids = self.targets(oracle, &tenant).await;
                if let Some(first) = ids.first().copied().filter(|_| self.chance(0.3)) {
                    ids.push(first);
                }
                Op::GetMemories { tenant, ids }
            }
            39..43 => Op::ListMemories { filter: self.memory_filter(), limit: self.limit(), tenant },
            43..45 => {
                let cursor = self.maybe(0.1, |g| g.pick(&["garbage", "", "{}"]).to_owned());
                Op::ListMemoriesPage { filter: self.memory_filter(), limit: self.limit(), cursor, tenant }
            }
            45..48 => Op::CountMemories { filter: self.memory_filter(), tenant },
            48..56 => {
                let id = self.target(oracle, &tenant).await;
                Op::UpdateMemory { patch: self.memory_patch(id), tenant, id, at }
            }
            56..61 => Op::DeleteMemory { id: self.target(oracle, &tenant).await, tenant, at },
            61..63 => Op::Purge { before: if self.chance(0.2) { at } else { self.ago(10 * MINUTE) }, tenant },
            // Ids of the tenant, live or tombstoned, and recent ids (perhaps another tenant's).
            63 => Op::TakenMemoryIds { ids: self.targets(oracle, &tenant).await, tenant },
            64..67 => {
                let after = match self.rng.random_range(0..10) {
                    0..3 => ChangePoint::Start,
                    3 => ChangePoint::End,
                    _ => {
                        let feed = crate::fixtures::all_changes(oracle, &tenant, 0, MAX_PAGE_LIMIT).await;
                        match feed.choose(&mut self.rng) {
                            Some(change) => ChangePoint::After(change.id),
                            None => ChangePoint::Start,
                        }
                    }
                };
                Op::ChangesSince { after, limit: self.limit(), tenant }
            }
            67..71 => {
                let outcome = match self.rng.random_range(0..10) {
                    0..4 => Outcome::Helpful,
                    4..7 => Outcome::Unhelpful,
                    7 => Outcome::Reward(self.pick(&[0.0, 0.25, -0.5, 1.0, -1.0])),
                    8 => Outcome::Reward(self.pick(&[1.5, -1.01, f64::NAN])),
                    _ => Outcome::Reward(0.5),
                };
                Op::RecordOutcomes {
                    ids: self.targets(oracle, &tenant).await,
                    tenant,
                    outcome,
                    at: self.outcome_time(at),
                }
            }
            71..74 => Op::RecordAccess { ids: self.targets(oracle, &tenant).await, tenant, at },
            74..78 => Op::AppendAudit(self.audit_record(tenant)),
            78..80 => Op::ListAudit { filter: self.audit_filter(), limit: self.limit(), tenant },
            80..83 => Op::CreateApiKey(self.api_key(tenant)),
            83..85 => Op::FindApiKey(KeyHash::of_secret(&self.known_secret())),
            85 => Op::GetApiKey { id: self.key_id(), tenant },
            86 => Op::ListApiKeys { tenant },
            87..89 => {
                let default_namespace = self.maybe(0.3, Self::key);
                Op::UpdateApiKeyScopes { id: self.key_id(), scopes: self.scopes(), default_namespace, tenant, at }
            }
            89..91 => Op::RevokeApiKey { id: self.key_id(), tenant, at },
            91..94 => Op::CreateProposal(self.proposal(tenant)),
            94 => Op::GetProposal { id: self.proposal_id(), tenant },
            95..97 => Op::ListProposals { filter: self.proposal_filter(), limit: self.limit(), tenant },
            _ => {
                let decision = if self.chance(0.5) { Decision::Approve } else { Decision::Reject };
                Op::DecideProposal { id: self.proposal_id(), decision, by: self.principal(), tenant, at }
            }
        }
    }
}
