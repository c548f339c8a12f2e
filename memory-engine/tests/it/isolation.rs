//! The isolation property of issue 5 (SPEC 4, and 9 "Safe"): over random policies, principals,
//! namespaces and operation sequences, no recall, get, list or export returns a memory outside
//! the caller's read set, and no write lands outside the caller's write permissions.
//!
//! Each case generates a model: principals `p0`.., namespaces `n0`.. (plus `default`, `shared`,
//! `p0`/`p1` as self namespaces and the never-configured `x0`), teams (members, `read` and
//! `write` lists), namespace policies with `"*"`, team and principal grants, `default_recall`,
//! header trust and legacy auto-promotion. The model is written as TOML for the engine. Random
//! callers (server principals, API keys with and without scopes and default namespaces, an
//! admin key, trusted and untrusted principal headers, an operator, an unauthenticated caller, a
//! principal of a second tenant) then run random operations: remember (explicit, default
//! target, observe), batches, corrections, recall (explicit, `*` with and without sensitive
//! namespaces, default), get, list, forget, outcome reports, promotion, export, namespace
//! listing, audit reads, import, archive, restore, delete, create (with an owning team, default
//! access and sensitivity, by any caller), updates of who may use a namespace, consolidation
//! (some contents are first-person statements the rule extractor reads: knowledge, identity
//! proposals, entities) and entity reads. No consolidated memory, proposal, promotion copy or
//! entity link ever leaves the namespace consolidated.
//!
//! The oracle ([`Run::access`] and friends) computes every caller's rights from the generated
//! model alone: a small, direct implementation of the SPEC 4 rules and of the default access
//! and sensitivity of namespaces created over the API (docs/configuration.md, seeds/004) for
//! exactly the constructs generated here (no scope profiles, no session-key rules), never the
//! engine's resolver. It keeps its own record of every namespace's creator, owning team,
//! default access and sensitivity, and checks the store's against it. After
//! every operation the answer is checked against it (memories returned only from the read set,
//! refusals with the right kind, successful writes only inside the write set), and the whole
//! store against a shadow of what should be in it, so a write that lands anywhere unexpected, or
//! a refused operation that changed something, fails the case.
//!
//! Known findings (the constants below, each with a minimal reproduction among the ignored tests
//! at the end of this file) are counted and printed rather than failing the property, until they
//! are fixed; `MEMORY_ENGINE_PROPERTY_STRICT=1` fails on them too.
//!
//! Size: `MEMORY_ENGINE_PROPERTY_OPS` operations in total (default 10,000), in cases of 150-400.
//! Seed: `MEMORY_ENGINE_PROPERTY_SEED` (default from the clock; printed on failure, and the
//! same seed replays the same run).

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;

use memory_core::{
    Category, Confidence, DefaultAccess, EntityFilter, Error, ErrorKind, KeyScope, Layer, Memory, MemoryFilter,
    MemoryId, Namespace, NamespaceFilter, NamespaceKey, NamespaceKind, NamespacePatch, NamespaceStatus, NewMemory,
    Outcome, PageRequest, Permission, Principal, Sensitivity, Store, TenantId, Timestamp,
};
use memory_engine::{
    Caller, ConsolidateRequest, EXPORT_FORMAT, EXPORT_VERSION, Engine, ExportLine, ExportRequest, ListRequest,
    ManualClock, MemoryInput, Message, RecallRequest, Written,
};
use memory_policy::{Caller as Identity, KeyGrant};

use crate::support::{engine, engine_on, who};
use memory_store_postgres::testing::TestSchema;

// ---- the property ---------------------------------------------------------------------------

#[tokio::test]
async fn no_operation_crosses_the_callers_read_or_write_set() {
    property(Backend::Reference).await;
}

/// The same property on the shared PostgreSQL store (`MEMORY_TEST_PG_URL`; a schema per case):
/// isolation is the engine's, whatever the store, and the store must not get in its way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_operation_crosses_the_callers_read_or_write_set_on_postgres() {
    if memory_store_postgres::testing::test_url().is_none() {
        return;
    }
    property(Backend::Postgres).await;
}

/// Which store the property's engines run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// The in-memory reference store.
    Reference,
    /// A fresh schema of the test PostgreSQL server per case.
    Postgres,
}

async fn property(backend: Backend) {
    let total: usize = env_number("MEMORY_ENGINE_PROPERTY_OPS").unwrap_or(10_000) as usize;
    let seed = env_number("MEMORY_ENGINE_PROPERTY_SEED").unwrap_or_else(|| {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock");
        now.as_nanos() as u64
    });
    let mut master = Rng(seed);
    let strict = env_number("MEMORY_ENGINE_PROPERTY_STRICT").is_some_and(|n| n != 0);
    let mut done = 0;
    let mut stats = Stats::default();
    let mut case = 0;
    while done < total {
        let ops = master.range(150, 400).min(total - done);
        let case_seed = master.next_u64();
        let mut run = match backend {
            Backend::Reference => Run::new(case_seed, None),
            Backend::Postgres => {
                let (store, schema) = TestSchema::store().await.expect("checked: a test server is configured");
                Run::new(case_seed, Some((Arc::new(store), schema)))
            }
        };
        run.strict = strict;
        if let Err(failure) = run.play(ops).await {
            panic!(
                "isolation violated (MEMORY_ENGINE_PROPERTY_SEED={seed}, case {case}, case seed {case_seed}):\n\
                 {failure}\n\nconfiguration:\n{}\ncallers:\n{}\nlast operations:\n{}",
                run.toml,
                run.pool.iter().map(|w| format!("  {}", w.label)).collect::<Vec<_>>().join("\n"),
                run.log.iter().rev().take(40).rev().cloned().collect::<Vec<_>>().join("\n")
            );
        }
        stats.add(&run.stats);
        done += ops;
        case += 1;
    }
    eprintln!("isolation: seed {seed}, {case} cases, {done} operations: {stats:#?}");
    // The checks must not hold vacuously: memories were returned, and refusals happened.
    if total >= 2_000 {
        assert!(stats.returned > 1_000, "too few memories returned to mean anything: {stats:?}");
        assert!(stats.refused > 200, "too few refusals to mean anything: {stats:?}");
        assert!(stats.written > 500, "too few writes to mean anything: {stats:?}");
        assert!(stats.consolidated > 20, "too few consolidated memories to mean anything: {stats:?}");
        assert!(stats.proposed > 5, "too few identity proposals to mean anything: {stats:?}");
        assert!(stats.entities > 5, "too few entities read to mean anything: {stats:?}");
    }
}

/// The oracle is not vacuous: on a handcrafted policy it refuses what the policy refuses and
/// what the default access of created namespaces refuses, leaves restricted and sensitive
/// namespaces out where it must, and the checker rejects deliberately wrong answers (a memory
/// of `n1` returned to `p0`, one of a restricted namespace returned by `*`).
#[test]
fn the_oracle_rejects_a_wrong_answer() {
    let spec = Spec {
        principals: vec!["p0".into(), "p1".into(), "p2".into()],
        universe: ["default", "shared", "n0", "n1", "p0", "p1", "x0"].map(String::from).to_vec(),
        teams: vec![Team { principals: vec![1, 2], read: vec![1, 2], write: vec![1] }],
        policies: vec![
            Pol { ns: "n0".into(), read: vec![Ref::Any], write: vec![Ref::P(0)], include: true },
            Pol { ns: "n1".into(), read: vec![Ref::Team(0)], write: vec![Ref::P(1)], include: false },
            Pol { ns: "shared".into(), read: vec![Ref::P(2)], write: vec![], include: false },
        ],
        default_recall: DefaultRecall::SelfShared,
        trust_header: false,
        auto_promote: false,
        session_rules: vec![2],
        fallback: None,
    };
    let toml = spec.toml();
    assert!(toml.contains("read = [\"team:t0\"]"), "{toml}");
    assert!(
        toml.contains(
            "[namespaces.teams.t0]\nprincipals = [\"p1\", \"p2\"]\nread = [\"p1\", \"p2\"]\nwrite = [\"p1\"]"
        ),
        "{toml}"
    );
    let run = Run::with_spec(Rng(1), spec, toml, None);
    let p0 = Who::resolve(&run.spec, "p0", 0, Facts::server(0), false);
    let p2 = Who::resolve(&run.spec, "p2", 0, Facts::server(2), false);
    let key = Key { principal: 0, scopes: vec![("n1".into(), false)], default: Some("n0".into()), admin: false };
    let scoped = Who::resolve(&run.spec, "key", 0, Facts::key(key), false);
    // Policies decide; `default` is read-write and `shared` read-only without a policy.
    assert_eq!(run.access(&p0, "n1"), (false, false));
    assert_eq!(run.access(&p2, "n1"), (true, false), "team members read");
    assert_eq!(run.access(&p0, "n0"), (true, true));
    assert_eq!(run.access(&p0, "default"), (true, true));
    assert_eq!(run.access(&p0, "shared"), (false, false), "the shared policy names only p2");
    assert_eq!(run.access(&p0, "x0"), (false, false));
    // A scoped key has exactly its scopes: not n0, whatever the policy says; n1 read-only.
    assert_eq!(run.access(&scoped, "n0"), (false, false));
    assert_eq!(run.access(&scoped, "n1"), (true, false));
    assert_eq!(run.default_target(&scoped), Err(ErrorKind::Forbidden), "the key default is not writable: refused");
    assert_eq!(run.write_target(&p0, Some("n1")), Err(ErrorKind::Forbidden));
    assert_eq!(run.write_target(&p0, Some("x0")), Err(ErrorKind::NotFound));
    assert_eq!(run.write_target(&p0, None), Ok("default".into()));
    assert_eq!(run.read_request(&p0, &["n1".into()], false), Err(ErrorKind::Forbidden));
    assert_eq!(run.default_read_set(&p0), ["default", "n0"].map(String::from).into_iter().collect());
    // The checker refuses a memory of n1 returned to p0, and accepts one of n0.
    let allowed = run.visible_set(&p0);
    let wrong = run.check_returned(&p0, "recall", &allowed, [(MemoryId::new_v7(), "n1".into())], false);
    assert!(wrong.is_err_and(|e| e.contains("outside")), "a memory of n1 must be rejected for p0");
    let id = MemoryId::new_v7();
    let mut run = run;
    run.mems.insert(
        (0, id),
        Known {
            tenant: 0,
            ns: "n0".into(),
            layer: Layer::Semantic,
            category: "fact".into(),
            content: "c".into(),
            expires_at: None,
            forgotten: false,
            superseded: false,
        },
    );
    assert!(run.check_returned(&p0, "recall", &allowed, [(id, "n0".into())], false).is_ok());

    // Namespaces created over the API that no policy names follow their default access (n1
    // keeps its policy's rules whatever its record says); a key's scopes win.
    let p1 = Who::resolve(&run.spec, "p1", 0, Facts::server(1), false);
    let admin_key = Key { principal: 2, scopes: Vec::new(), default: None, admin: true };
    let admin = Who::resolve(&run.spec, "admin", 0, Facts::key(admin_key.clone()), true);
    let trusting = Spec { trust_header: true, ..run.spec.clone() };
    let facts = Facts { header: Some(2), key: Some(admin_key), ..Facts::default() };
    let behind_header = Who::resolve(&trusting, "header", 0, facts, true);
    let created = |creator, team, access, sensitivity| Meta { explicit: true, creator, team, access, sensitivity };
    for (ns, meta) in [
        ("x0", created(Some(0), None, DefaultAccess::Private, Sensitivity::Normal)),
        ("p0", created(Some(0), Some(0), DefaultAccess::Team, Sensitivity::Sensitive)),
        ("p1", created(Some(1), None, DefaultAccess::Org, Sensitivity::Restricted)),
        ("n1", created(Some(0), None, DefaultAccess::Public, Sensitivity::Normal)),
    ] {
        run.stored[0].insert(ns.into(), Status::Active);
        run.meta[0].insert(ns.into(), meta);
    }
    assert_eq!(run.access(&p0, "x0"), (true, true), "private: its creator");
    assert_eq!(run.access(&p2, "x0"), (false, false), "private: nobody else");
    assert_eq!(run.access(&admin, "x0"), (true, true), "private: a tenant admin");
    assert!(!behind_header.admin, "behind a trusted header the header principal acts, not the admin");
    assert_eq!(run.access(&behind_header, "x0"), (false, false));
    assert_eq!(run.access(&scoped, "x0"), (false, false), "the key's scopes win");
    assert_eq!(run.access(&p0, "p0"), (false, false), "team: its creator is not in the team");
    assert_eq!(run.access(&p1, "p0"), (true, true), "team: the team's read and write lists");
    assert_eq!(run.access(&p2, "p0"), (true, false));
    assert_eq!(run.access(&p0, "p1"), (true, false), "org: everyone reads, others do not write");
    assert_eq!(run.access(&p1, "p1"), (true, true), "org: its creator writes");
    assert_eq!(run.access(&admin, "p1"), (true, true), "org: a tenant admin writes");
    assert_eq!(run.access(&p0, "n1"), (false, false), "a policy names n1: it decides");
    // A restricted namespace is read only when named; a sensitive one is in `*` only when asked.
    assert!(run.visible_set(&p0).contains("p1") && !run.everything(&p0, true).contains("p1"));
    assert_eq!(run.read_request(&p0, &["p1".into()], false), Ok(["p1".to_owned()].into_iter().collect()));
    assert!(!run.read_request(&p1, &[], false).unwrap().contains("p1"), "not in the default read set");
    assert!(!run.everything(&p1, false).contains("p0") && run.everything(&p1, true).contains("p0"));
    let star = run.everything(&p0, false);
    let wrong = run.check_returned(&p0, "recall", &star, [(MemoryId::new_v7(), "p1".into())], false);
    assert!(wrong.is_err_and(|e| e.contains("outside")), "a memory of restricted p1 must be rejected in *");
}

fn env_number(name: &str) -> Option<u64> {
    let raw = std::env::var(name).ok()?;
    Some(raw.trim().parse().unwrap_or_else(|_| panic!("{name} must be a number, got {raw:?}")))
}

// ---- a small deterministic generator (splitmix64) ---------------------------------------------

#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

// ---- the generated model ----------------------------------------------------------------------

/// Who a policy list grants.
#[derive(Debug, Clone)]
enum Ref {
    /// `"*"`.
    Any,
    /// `"team:t<i>"`.
    Team(usize),
    /// `"p<i>"`.
    P(usize),
}

/// One namespace policy.
#[derive(Debug, Clone)]
struct Pol {
    ns: String,
    read: Vec<Ref>,
    write: Vec<Ref>,
    include: bool,
}

#[derive(Debug, Clone)]
enum DefaultRecall {
    /// Not configured: `["self", "shared"]`.
    SelfShared,
    /// `["*"]`.
    All,
    /// `["self"]`.
    SelfOnly,
    /// `["shared", <ns>]`.
    SharedAnd(String),
}

/// Team `t<i>` (principal indices): `principals` are its members (what `team:t<i>` in a
/// policy grants); `read` and `write` decide on namespaces it owns under `team` access.
#[derive(Debug, Clone)]
struct Team {
    principals: Vec<usize>,
    read: Vec<usize>,
    write: Vec<usize>,
}

#[derive(Debug, Clone)]
struct Spec {
    principals: Vec<String>,
    /// Every namespace name operations use.
    universe: Vec<String>,
    teams: Vec<Team>,
    policies: Vec<Pol>,
    default_recall: DefaultRecall,
    trust_header: bool,
    auto_promote: bool,
    /// Principals with a session-key rule `s-<principal>:` (prefix), in config order.
    session_rules: Vec<usize>,
    /// The fallback principal for callers nothing else identifies.
    fallback: Option<usize>,
}

impl Spec {
    fn session_prefix(principal: &str) -> String {
        format!("s-{principal}:")
    }

    fn generate(rng: &mut Rng) -> Spec {
        let principals: Vec<String> = (0..rng.range(3, 6)).map(|i| format!("p{i}")).collect();
        let np = principals.len();
        let mut teams = Vec::new();
        for _ in 0..rng.below(4) {
            let mut principals: Vec<usize> = (0..np).filter(|_| rng.percent(45)).collect();
            if principals.is_empty() {
                principals.push(rng.below(np));
            }
            let read = principals.iter().copied().filter(|_| rng.percent(70)).collect();
            let write = principals.iter().copied().filter(|_| rng.percent(50)).collect();
            teams.push(Team { principals, read, write });
        }
        let mut universe: Vec<String> = vec!["default".into(), "shared".into()];
        universe.extend((0..rng.range(4, 8)).map(|i| format!("n{i}")));
        universe.extend(["p0".into(), "p1".into(), "x0".into()]);
        let mut policies = Vec::new();
        for ns in &universe {
            let chance = match ns.as_str() {
                "default" | "shared" => 25,
                "x0" => 0,
                n if n.starts_with('n') => 80,
                _ => 40,
            };
            if rng.percent(chance) {
                let read = Self::refs(rng, np, teams.len());
                let write = Self::refs(rng, np, teams.len());
                policies.push(Pol { ns: ns.clone(), read, write, include: rng.percent(30) });
            }
        }
        let default_recall = match rng.below(6) {
            0 => DefaultRecall::All,
            1 => DefaultRecall::SelfOnly,
            2 => DefaultRecall::SharedAnd(format!("n{}", rng.below(4))),
            _ => DefaultRecall::SelfShared,
        };
        Spec {
            principals,
            universe,
            teams,
            policies,
            default_recall,
            trust_header: rng.percent(40),
            auto_promote: rng.percent(25),
            session_rules: (0..np).filter(|_| rng.percent(50)).collect(),
            fallback: rng.percent(20).then(|| rng.below(np)),
        }
    }

    fn refs(rng: &mut Rng, principals: usize, teams: usize) -> Vec<Ref> {
        match rng.below(10) {
            0 => Vec::new(),
            1 => vec![Ref::Any],
            _ => {
                let mut refs = Vec::new();
                for _ in 0..rng.range(1, 3) {
                    refs.push(match rng.below(8) {
                        0 => Ref::Any,
                        1 | 2 if teams > 0 => Ref::Team(rng.below(teams)),
                        _ => Ref::P(rng.below(principals)),
                    });
                }
                refs
            }
        }
    }

    fn toml(&self) -> String {
        let list =
            |items: Vec<String>| format!("[{}]", items.iter().map(|i| format!("{i:?}")).collect::<Vec<_>>().join(", "));
        let refs = |refs: &[Ref]| {
            list(
                refs.iter()
                    .map(|r| match r {
                        Ref::Any => "*".to_owned(),
                        Ref::Team(t) => format!("team:t{t}"),
                        Ref::P(p) => self.principals[*p].clone(),
                    })
                    .collect(),
            )
        };
        let mut out = String::from("[namespaces]\n");
        match &self.default_recall {
            DefaultRecall::SelfShared => {}
            DefaultRecall::All => out.push_str("default_recall = [\"*\"]\n"),
            DefaultRecall::SelfOnly => out.push_str("default_recall = [\"self\"]\n"),
            DefaultRecall::SharedAnd(ns) => out.push_str(&format!("default_recall = [\"shared\", {ns:?}]\n")),
        }
        if self.trust_header {
            out.push_str("trust_principal_header = true\n");
        }
        if self.auto_promote {
            out.push_str("auto_promote_to_shared = true\n");
        }
        if let Some(p) = self.fallback {
            out.push_str(&format!("fallback_principal = {:?}\n", self.principals[p]));
        }
        for p in &self.session_rules {
            let name = &self.principals[*p];
            out.push_str(&format!(
                "\n[[namespaces.session_key_rules]]\nmatch = {:?}\nprincipal = {name:?}\n",
                Spec::session_prefix(name)
            ));
        }
        for p in &self.policies {
            out.push_str(&format!(
                "\n[[namespaces.policies]]\nname = {:?}\nread = {}\nwrite = {}\ninclude_in_recall_by_default = {}\n",
                p.ns,
                refs(&p.read),
                refs(&p.write),
                p.include
            ));
        }
        let names = |members: &[usize]| list(members.iter().map(|m| self.principals[*m].clone()).collect());
        for (i, team) in self.teams.iter().enumerate() {
            out.push_str(&format!(
                "\n[namespaces.teams.t{i}]\nprincipals = {}\nread = {}\nwrite = {}\n",
                names(&team.principals),
                names(&team.read),
                names(&team.write)
            ));
        }
        out
    }

    fn policy(&self, ns: &str) -> Option<&Pol> {
        self.policies.iter().find(|p| p.ns == ns)
    }

    fn grants(&self, refs: &[Ref], principal: usize) -> bool {
        refs.iter().any(|r| match r {
            Ref::Any => true,
            Ref::Team(t) => self.teams[*t].principals.contains(&principal),
            Ref::P(p) => *p == principal,
        })
    }

    /// SPEC 4 "Precise rules", without a scope profile: the namespace named after the principal
    /// when a policy names it, else `default`.
    fn self_ns(&self, principal: usize) -> String {
        let name = &self.principals[principal];
        if self.policy(name).is_some() { name.clone() } else { "default".into() }
    }

    fn configured(&self, ns: &str) -> bool {
        ns == "default" || ns == "shared" || self.policy(ns).is_some()
    }
}

/// An API key: its principal, scopes (`(namespace, read_write)`; empty: the principal's
/// rights), default namespace, and whether it is an admin key of its tenant.
#[derive(Debug, Clone)]
struct Key {
    principal: usize,
    scopes: Vec<(String, bool)>,
    default: Option<String>,
    admin: bool,
}

/// One caller, with the facts the oracle resolved from its identity.
#[derive(Debug, Clone)]
struct Who {
    label: String,
    tenant: usize,
    /// The principal the request runs as, if any.
    principal: Option<usize>,
    /// A key's non-empty scopes.
    scopes: Option<Vec<(String, bool)>>,
    /// The scopes narrow a trusted header principal's rights instead of replacing them.
    narrowing: bool,
    key_default: Option<String>,
    /// A tenant admin: an admin key acting as its own principal (not behind a trusted header).
    admin: bool,
    operator: bool,
    caller: Caller,
}

impl Who {
    /// SPEC 4 principal resolution for the facts generated here, first that applies: the header
    /// when trusted, the key's principal, the server principal, the first session-key rule
    /// whose prefix the session key starts with, the fallback principal; else nobody. An admin
    /// key is a tenant admin when its own principal acts; the engine caller of an admin key is
    /// an operator (as `Authenticated::caller` makes it), pass `operator` accordingly.
    fn resolve(spec: &Spec, label: &str, tenant: usize, facts: Facts, operator: bool) -> Who {
        let Facts { header, key, server, session } = facts;
        let by_session = session.as_ref().and_then(|s| {
            spec.session_rules.iter().copied().find(|&p| s.starts_with(&Spec::session_prefix(&spec.principals[p])))
        });
        let (principal, narrowing) = match (header, &key, server) {
            (Some(h), _, _) if spec.trust_header => (Some(h), true),
            (_, Some(k), _) => (Some(k.principal), false),
            (_, None, Some(s)) => (Some(s), false),
            (_, None, None) => (by_session.or(spec.fallback), false),
        };
        let admin = key.as_ref().is_some_and(|k| k.admin) && !(header.is_some() && spec.trust_header);
        let p = |i: usize| Principal::new(&spec.principals[i]).expect("valid principal");
        let identity = Identity {
            header_principal: header.map(|h| spec.principals[h].clone()),
            api_key: key.as_ref().map(|k| KeyGrant {
                key_id: None,
                principal: p(k.principal),
                scopes: k
                    .scopes
                    .iter()
                    .map(|(ns, rw)| KeyScope {
                        namespace: NamespaceKey::new(ns).expect("valid key"),
                        permission: if *rw { Permission::ReadWrite } else { Permission::Read },
                    })
                    .collect(),
                default_namespace: k.default.as_ref().map(|d| NamespaceKey::new(d).expect("valid key")),
                admin: k.admin,
            }),
            server_principal: server.map(p),
            session_key: session.clone(),
            account: None,
        };
        let mut caller = Caller::new(tenant_id(tenant), identity);
        caller.operator = operator;
        let scopes = key.as_ref().map(|k| k.scopes.clone()).filter(|s| !s.is_empty());
        let label = format!(
            "{label}: tenant {tenant}, principal {:?}, scopes {scopes:?}, narrowing {narrowing}, key default {:?}, session {session:?}, admin {admin}, operator {operator}",
            principal.map(|i| &spec.principals[i]),
            key.as_ref().and_then(|k| k.default.clone())
        );
        let key_default = key.and_then(|k| k.default);
        Who { label, tenant, principal, scopes, narrowing, key_default, admin, operator, caller }
    }
}

/// The identity facts of a generated caller (principal indices).
#[derive(Debug, Clone, Default)]
struct Facts {
    header: Option<usize>,
    key: Option<Key>,
    server: Option<usize>,
    session: Option<String>,
}

impl Facts {
    fn server(p: usize) -> Facts {
        Facts { server: Some(p), ..Facts::default() }
    }

    fn key(key: Key) -> Facts {
        Facts { key: Some(key), ..Facts::default() }
    }
}

fn tenant_id(i: usize) -> TenantId {
    if i == 0 { TenantId::default_tenant() } else { TenantId::new("beta").expect("valid tenant") }
}

// ---- the shadow of the store -----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Active,
    Archived,
    Deleted,
}

#[derive(Debug, Clone)]
struct Known {
    tenant: usize,
    ns: String,
    layer: Layer,
    category: String,
    content: String,
    expires_at: Option<Timestamp>,
    forgotten: bool,
    superseded: bool,
}

impl Known {
    /// A working memory past its expiry.
    fn expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|t| t <= now)
    }
}

/// What the store records of a namespace about who may use it and how it is read (seeds/004):
/// its creator, owning team (`t<i>`), default access and sensitivity. Only namespaces of kind
/// `explicit` that no policy names follow their default access; sensitivity counts for all.
#[derive(Debug, Clone, PartialEq)]
struct Meta {
    /// Of kind `explicit`: created over the API, from an import file, or on a first write into
    /// a name the configuration does not name (a key's scope). Checked against the store only
    /// for names the configuration does not name (the others keep its rules whatever the kind).
    explicit: bool,
    creator: Option<usize>,
    team: Option<usize>,
    access: DefaultAccess,
    sensitivity: Sensitivity,
}

impl Meta {
    /// As a namespace that comes into being on a write, or from the record this test puts in
    /// its import files, is stored: no creator, no team, `team` access, `normal`.
    fn plain(ns: &str) -> Meta {
        Meta {
            explicit: ns != "default" && ns != "shared",
            creator: None,
            team: None,
            access: DefaultAccess::Team,
            sensitivity: Sensitivity::Normal,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Stats {
    ops: usize,
    refused: usize,
    written: usize,
    returned: usize,
    auto_promoted: usize,
    imported: usize,
    /// Namespaces created, and updated, over the API.
    created: usize,
    updated: usize,
    /// Memories written and identity proposals made by consolidation; entities read.
    consolidated: usize,
    proposed: usize,
    entities: usize,
    /// Known findings tolerated outside strict mode: how often, and the first occurrence.
    findings: BTreeMap<&'static str, (usize, String)>,
}

impl Stats {
    fn add(&mut self, o: &Stats) {
        self.ops += o.ops;
        self.refused += o.refused;
        self.written += o.written;
        self.returned += o.returned;
        self.auto_promoted += o.auto_promoted;
        self.imported += o.imported;
        self.created += o.created;
        self.updated += o.updated;
        self.consolidated += o.consolidated;
        self.proposed += o.proposed;
        self.entities += o.entities;
        for (name, (n, example)) in &o.findings {
            let e = self.findings.entry(name).or_insert((0, example.clone()));
            e.0 += n;
        }
    }
}

/// Isolation findings of this property. The first two, [`WRITE_TARGET_SENSITIVITY`] and
/// [`IMPORT_CHANGES_ACCESS`] are fixed and fail the property again if they come back; the others (see the ignored tests at
/// the end of this file, which fail until they are fixed) are counted and reported outside
/// strict mode (`MEMORY_ENGINE_PROPERTY_STRICT=1`); every other violation fails it.
const AUTO_PROMOTION_PROBE: &str = "auto-promotion reveals content of an unreadable shared namespace";
const EXPORT_AUDIT: &str = "export hands audit records to callers that may not read the audit log";
/// Within a tenant only: ids are scoped by tenant, so another tenant's id is free and imports
/// like a fresh one (`importing_an_id_the_caller_may_not_read_behaves_like_a_fresh_id`). An id
/// of the caller's own tenant that it may not read is held there, so it is skipped or refused.
const IMPORT_ID_PROBE: &str = "import treats an id the caller may not read unlike a fresh one";
/// Not an isolation finding, but one the model must know: auto-promotion plans with the
/// catalog from before the write, so the first write into a namespace that came into being on
/// that write (a key's default namespace nobody configured) is never auto-promoted.
const AUTO_PROMOTION_NEW_NAMESPACE: &str = "auto-promotion skips the first write into a namespace created by it";
/// The write target joined every implicit read set (no names, `*`, a listing or export of
/// everything) even when it was `restricted` (never in a default read set or `*`) or, for `*`
/// without `include_sensitive`, `sensitive` (fixed: docs/configuration.md, "Sensitivity").
const WRITE_TARGET_SENSITIVITY: &str = "the write target joins implicit read sets whatever its sensitivity";
/// An import by a caller that may write a namespace but is no operator gives an existing
/// namespace the file's team, default access and sensitivity: a change of who may use it that
/// `update_namespace` refuses such a caller (docs/configuration.md: "a tenant admin's change").
const IMPORT_CHANGES_ACCESS: &str = "a non-operator's import changes who may use a namespace";

const WORDS: &[&str] = &[
    "tea", "berlin", "deploy", "friday", "budget", "alpha", "review", "release", "coffee", "python", "rust", "meeting",
    "invoice", "garden", "secret", "password", "launch", "cat", "ticket", "database",
];

type Expected = Result<String, ErrorKind>;

macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            return Err(format!($($arg)*));
        }
    };
}

/// Checks that `res` is an error of `kind`.
fn refused<T>(what: &str, res: &Result<T, Error>, kind: ErrorKind) -> Result<(), String> {
    match res {
        Err(e) if e.kind() == kind => Ok(()),
        Err(e) => Err(format!("{what}: expected {kind:?}, got {:?}: {}", e.kind(), e.message())),
        Ok(_) => Err(format!("{what}: expected {kind:?}, got Ok")),
    }
}

/// How a refusal reads, with `id` blanked out.
fn refusal_text<T>(res: &Result<T, Error>, id: MemoryId) -> String {
    match res {
        Ok(_) => "Ok".to_owned(),
        Err(e) => format!("{:?}: {}", e.kind(), e.message().replace(&id.to_string(), "<id>")),
    }
}

/// Two refusals, of `id` and of a never-existing id, say the same but for the id.
fn same_refusal<T, U>(
    what: &str,
    a: (&Result<T, Error>, MemoryId),
    b: (&Result<U, Error>, MemoryId),
) -> Result<(), String> {
    let (first, second) = (refusal_text(a.0, a.1), refusal_text(b.0, b.1));
    ensure!(
        first == second,
        "{what} refuses a memory the caller may not read with {first:?}, a missing one with {second:?}"
    );
    Ok(())
}

fn succeeded<T>(what: &str, res: Result<T, Error>) -> Result<T, String> {
    res.map_err(|e| format!("{what}: expected Ok, got {:?}: {}", e.kind(), e.message()))
}

struct Run {
    rng: Rng,
    spec: Spec,
    toml: String,
    engine: Engine,
    clock: ManualClock,
    pool: Vec<Who>,
    /// Stored namespaces per tenant.
    stored: [BTreeMap<String, Status>; 2],
    /// What the store records of each stored namespace, per tenant.
    meta: [BTreeMap<String, Meta>; 2],
    /// Every memory written, by tenant and id (ids are scoped by tenant: two tenants may hold
    /// the same id, which an import of another tenant's id does).
    mems: BTreeMap<(usize, MemoryId), Known>,
    /// The keys of `mems`, in the order written.
    ids: Vec<(usize, MemoryId)>,
    log: Vec<String>,
    stats: Stats,
    serial: u64,
    strict: bool,
    /// Drops the case's PostgreSQL schema after the engine (declared last, dropped last).
    _schema: Option<TestSchema>,
}

impl Run {
    /// A random case; its engine runs on `store` (with the guard that drops its schema) when
    /// given, else on a fresh in-memory store.
    fn new(seed: u64, store: Option<(Arc<dyn Store>, TestSchema)>) -> Run {
        let mut rng = Rng(seed);
        let spec = Spec::generate(&mut rng);
        let toml = spec.toml();
        let mut run = Run::with_spec(rng, spec, toml, store.as_ref().map(|(s, _)| s.clone()));
        run._schema = store.map(|(_, schema)| schema);
        run
    }

    fn with_spec(mut rng: Rng, spec: Spec, toml: String, store: Option<Arc<dyn Store>>) -> Run {
        let (engine, clock) = match store {
            Some(store) => engine_on(&toml, store),
            None => engine(&toml),
        };
        let pool = Self::pool(&spec, &mut rng);
        let stored = std::array::from_fn(|_| {
            [("default".to_owned(), Status::Active), ("shared".to_owned(), Status::Active)].into_iter().collect()
        });
        let meta = std::array::from_fn(|_| ["default", "shared"].map(|ns| (ns.to_owned(), Meta::plain(ns))).into());
        Run {
            rng,
            spec,
            toml,
            engine,
            clock,
            pool,
            stored,
            meta,
            mems: BTreeMap::new(),
            ids: Vec::new(),
            log: Vec::new(),
            stats: Stats::default(),
            serial: 0,
            strict: false,
            _schema: None,
        }
    }

    fn pool(spec: &Spec, rng: &mut Rng) -> Vec<Who> {
        let np = spec.principals.len();
        let key = |rng: &mut Rng| {
            let mut scopes = Vec::new();
            if rng.percent(65) {
                for ns in &spec.universe {
                    if rng.percent(35) {
                        scopes.push((ns.clone(), rng.percent(50)));
                    }
                }
            }
            let default = rng.percent(40).then(|| rng.pick(&spec.universe).clone());
            Key { principal: rng.below(np), scopes, default, admin: false }
        };
        let mut pool = Vec::new();
        for p in 0..np {
            pool.push(Who::resolve(
                spec,
                &format!("server principal {}", spec.principals[p]),
                0,
                Facts::server(p),
                false,
            ));
        }
        for i in 0..3 {
            let k = key(rng);
            pool.push(Who::resolve(spec, &format!("API key {i}"), 0, Facts::key(k), false));
        }
        // A tenant admin: an admin key is the operator of its tenant, and acting as its own
        // principal it reads and writes private and public/org namespaces (unless scoped).
        let mut admin = key(rng);
        admin.admin = true;
        if rng.percent(70) {
            admin.scopes.clear();
        }
        pool.push(Who::resolve(spec, "admin key", 0, Facts::key(admin), true));
        for i in 0..2 {
            let header = Some(rng.below(np));
            // Now and then with an admin key: behind a trusted header, the header principal
            // acts, not the admin (the engine caller is an operator all the same).
            let admin = rng.percent(25);
            let facts = if admin || rng.percent(50) {
                Facts { header, key: Some(Key { admin, ..key(rng) }), ..Facts::default() }
            } else {
                Facts { header, server: Some(rng.below(np)), ..Facts::default() }
            };
            pool.push(Who::resolve(spec, &format!("header caller {i}"), 0, facts, admin));
        }
        // Session keys: a rule may name the principal; else the fallback, else nobody.
        let session = Some(Spec::session_prefix(&spec.principals[rng.below(np)]) + "chat-1");
        pool.push(Who::resolve(spec, "session caller", 0, Facts { session, ..Facts::default() }, false));
        let session = Some(Spec::session_prefix(&spec.principals[rng.below(np)]) + "chat-2");
        let server = Some(rng.below(np));
        pool.push(Who::resolve(
            spec,
            "server principal with a session",
            0,
            Facts { session, server, ..Facts::default() },
            false,
        ));
        pool.push(Who::resolve(spec, "no identity", 0, Facts::default(), false));
        pool.push(Who::resolve(spec, "operator", 0, Facts::server(rng.below(np)), true));
        pool.push(Who::resolve(spec, "other tenant's principal", 1, Facts::server(rng.below(np)), false));
        let k = key(rng);
        pool.push(Who::resolve(spec, "other tenant's API key", 1, Facts::key(k), false));
        pool
    }

    // ---- the oracle: SPEC 4 for the generated constructs ----------------------------------------

    /// (read, write) of `who` on `ns`: a key with scopes gets exactly its scopes (narrowing a
    /// trusted header principal's rights instead); otherwise the namespace's policy decides,
    /// without one `default` is read-write, `shared` read-only, a namespace created over the API
    /// follows its default access, and everything else is denied.
    fn access(&self, who: &Who, ns: &str) -> (bool, bool) {
        let Some(p) = who.principal else { return (false, false) };
        let base = match self.spec.policy(ns) {
            Some(pol) => (self.spec.grants(&pol.read, p), self.spec.grants(&pol.write, p)),
            None if ns == "default" => (true, true),
            None if ns == "shared" => (true, false),
            None => match self.meta[who.tenant].get(ns) {
                Some(m) if m.explicit => self.default_access(who, p, m),
                _ => (false, false),
            },
        };
        let Some(scopes) = &who.scopes else { return base };
        let scope = scopes.iter().find(|(n, _)| n == ns).map_or((false, false), |(_, rw)| (true, *rw));
        if who.narrowing { (base.0 && scope.0, base.1 && scope.1) } else { scope }
    }

    /// seeds/004 default access of a namespace created over the API that no policy names, for
    /// principal `p`: `public`/`org`: everyone reads, the creator, the owning team's writers and
    /// tenant admins write; `team`: the owning team's `read` and `write` lists, or without a
    /// team as `private`; `private`: the creator and tenant admins read and write.
    fn default_access(&self, who: &Who, p: usize, m: &Meta) -> (bool, bool) {
        let creator = m.creator == Some(p);
        let team = m.team.map(|t| &self.spec.teams[t]);
        let team_writer = team.is_some_and(|t| t.write.contains(&p));
        match (m.access, team) {
            (DefaultAccess::Public | DefaultAccess::Org, _) => (true, creator || team_writer || who.admin),
            (DefaultAccess::Team, Some(team)) => (team.read.contains(&p), team_writer),
            (DefaultAccess::Team | DefaultAccess::Private, _) => {
                let own = creator || who.admin;
                (own, own)
            }
        }
    }

    fn sensitivity(&self, tenant: usize, ns: &str) -> Sensitivity {
        self.meta[tenant].get(ns).map_or(Sensitivity::Normal, |m| m.sensitivity)
    }

    /// Left out of an implicit read set for its sensitivity: `restricted` always, `sensitive`
    /// from `*` (`everything`) unless the request asks for sensitive namespaces.
    fn left_out(&self, tenant: usize, ns: &str, everything: bool, include_sensitive: bool) -> bool {
        match self.sensitivity(tenant, ns) {
            Sensitivity::Restricted => true,
            Sensitivity::Sensitive => everything && !include_sensitive,
            Sensitivity::Normal => false,
        }
    }

    fn readable(&self, who: &Who, ns: &str) -> bool {
        self.access(who, ns).0
    }

    /// A write target must be readable too.
    fn writable(&self, who: &Who, ns: &str) -> bool {
        self.access(who, ns) == (true, true)
    }

    fn status(&self, tenant: usize, ns: &str) -> Option<Status> {
        self.stored[tenant].get(ns).copied()
    }

    /// Archived or deleted: no reads or writes.
    fn gone(&self, tenant: usize, ns: &str) -> bool {
        matches!(self.status(tenant, ns), Some(Status::Archived | Status::Deleted))
    }

    fn visible(&self, who: &Who, ns: &str) -> bool {
        self.readable(who, ns) && !self.gone(who.tenant, ns)
    }

    /// A name a request may use: stored and active, or configured and not stored yet.
    fn exists(&self, tenant: usize, ns: &str) -> bool {
        match self.status(tenant, ns) {
            Some(s) => s == Status::Active,
            None => self.spec.configured(ns),
        }
    }

    /// Every namespace `who` may read when it names it (restricted ones included): what a
    /// memory by id, a named listing or a named export may come from.
    fn visible_set(&self, who: &Who) -> BTreeSet<String> {
        self.spec.universe.iter().filter(|ns| self.visible(who, ns)).cloned().collect()
    }

    /// `*`: every visible namespace but restricted ones and, unless asked for, sensitive ones
    /// (listings and exports of everything ask for them).
    fn everything(&self, who: &Who, include_sensitive: bool) -> BTreeSet<String> {
        let mut set = self.visible_set(who);
        set.retain(|ns| !self.left_out(who.tenant, ns, true, include_sensitive));
        set
    }

    /// The write target when an implicit read set must leave it out for its sensitivity (the
    /// engine used to add the write target to every implicit read set).
    fn left_out_target(&self, who: &Who, everything: bool, include_sensitive: bool) -> Option<String> {
        let target = self.default_target(who).ok()?;
        self.left_out(who.tenant, &target, everything, include_sensitive).then_some(target)
    }

    /// The write default: the first the configuration defines (the key's default namespace,
    /// else the self namespace, which is `default` without a policy of the principal's name).
    /// Archived or deleted: 404; not writable: 403; never another namespace instead.
    fn default_target(&self, who: &Who) -> Expected {
        let Some(p) = who.principal else { return Err(ErrorKind::Unauthenticated) };
        let chosen = who.key_default.clone().unwrap_or_else(|| self.spec.self_ns(p));
        if self.gone(who.tenant, &chosen) {
            Err(ErrorKind::NotFound)
        } else if !self.writable(who, &chosen) {
            Err(ErrorKind::Forbidden)
        } else {
            Ok(chosen)
        }
    }

    fn write_target(&self, who: &Who, explicit: Option<&str>) -> Expected {
        if who.principal.is_none() {
            return Err(ErrorKind::Unauthenticated);
        }
        match explicit {
            None => self.default_target(who),
            Some(ns) if !self.exists(who.tenant, ns) => Err(ErrorKind::NotFound),
            Some(ns) if !self.writable(who, ns) => Err(ErrorKind::Forbidden),
            Some(ns) => Ok(ns.to_owned()),
        }
    }

    /// The default read set: a key's scopes, else `default_recall` then the policies included
    /// in recall by default; readable and not archived; plus the write target; never a
    /// restricted namespace.
    fn default_read_set(&self, who: &Who) -> BTreeSet<String> {
        let Some(p) = who.principal else { return BTreeSet::new() };
        let mut candidates: Vec<String> = Vec::new();
        if let Some(scopes) = &who.scopes {
            candidates.extend(scopes.iter().map(|(ns, _)| ns.clone()));
        } else {
            match &self.spec.default_recall {
                DefaultRecall::SelfShared => candidates.extend([self.spec.self_ns(p), "shared".into()]),
                DefaultRecall::SelfOnly => candidates.push(self.spec.self_ns(p)),
                DefaultRecall::SharedAnd(ns) => candidates.extend(["shared".into(), ns.clone()]),
                DefaultRecall::All => candidates.extend(self.spec.universe.iter().cloned()),
            }
            candidates.extend(self.spec.policies.iter().filter(|pol| pol.include).map(|pol| pol.ns.clone()));
        }
        let mut set: BTreeSet<String> = candidates.into_iter().filter(|ns| self.visible(who, ns)).collect();
        set.extend(self.default_target(who).ok());
        set.retain(|ns| !self.left_out(who.tenant, ns, false, false));
        set
    }

    /// The read set of a recall naming `names`: none is the default read set, `*` everything
    /// visible but restricted (and sensitive, unless `include_sensitive`) namespaces; otherwise
    /// each must exist (else 404) and be readable (else 403), whatever its sensitivity.
    fn read_request(
        &self,
        who: &Who,
        names: &[String],
        include_sensitive: bool,
    ) -> Result<BTreeSet<String>, ErrorKind> {
        if who.principal.is_none() {
            return Err(ErrorKind::Unauthenticated);
        }
        if names.is_empty() {
            return Ok(self.default_read_set(who));
        }
        if names.iter().any(|n| n == "*") {
            return Ok(self.everything(who, include_sensitive));
        }
        for ns in names {
            if !self.exists(who.tenant, ns) {
                return Err(ErrorKind::NotFound);
            }
            if !self.readable(who, ns) {
                return Err(ErrorKind::Forbidden);
            }
        }
        Ok(names.iter().cloned().collect())
    }

    /// A memory `who` may read now (`expiring`: expired working memories count as gone).
    fn may_read(&self, who: &Who, id: MemoryId, expiring: bool) -> bool {
        self.known(who.tenant, id)
            .is_some_and(|k| !k.forgotten && self.visible(who, &k.ns) && !(expiring && k.expired(self.engine.now())))
    }

    /// Every memory returned to `who` is a live memory of its tenant in a namespace of `allowed`
    /// (never archived); `ranked`: recall also never returns expired or superseded ones.
    fn check_returned(
        &self,
        who: &Who,
        what: &str,
        allowed: &BTreeSet<String>,
        returned: impl IntoIterator<Item = (MemoryId, String)>,
        ranked: bool,
    ) -> Result<usize, String> {
        let now = self.engine.now();
        let mut n = 0;
        for (id, ns) in returned {
            n += 1;
            ensure!(
                allowed.contains(&ns) && self.visible(who, &ns),
                "{what} returned memory {id} of namespace {ns:?}, outside the caller's read set {allowed:?}"
            );
            let Some(k) = self.known(who.tenant, id) else {
                let other = self.known(1 - who.tenant, id).map(|_| format!(" (tenant {} holds it)", 1 - who.tenant));
                return Err(format!(
                    "{what} returned unknown memory {id} to tenant {}{}",
                    who.tenant,
                    other.unwrap_or_default()
                ));
            };
            ensure!(k.ns == ns, "{what} says memory {id} is in {ns:?}; it was written into {:?}", k.ns);
            ensure!(!k.forgotten, "{what} returned forgotten memory {id}");
            if ranked {
                ensure!(!k.expired(now), "{what} returned expired memory {id}");
                ensure!(!k.superseded, "{what} returned superseded memory {id}");
            }
        }
        Ok(n)
    }

    // ---- the run ----------------------------------------------------------------------------------

    async fn play(&mut self, ops: usize) -> Result<(), String> {
        for t in 0..2 {
            succeeded("open tenant", self.engine.open_tenant(&tenant_id(t)).await)?;
        }
        for i in 0..ops {
            self.clock.advance_micros(self.rng.below(300) as i64 * 1_000_000);
            let who = self.pool[self.rng.below(self.pool.len())].clone();
            self.note(format!("#{i} by {}", who.label.split(':').next().unwrap_or_default()));
            let before = self.snapshot().await?;
            let refused_before = self.stats.refused;
            let op = self.rng.below(100);
            let result = match op {
                0..=15 => self.remember(&who).await,
                16..=23 => self.remember_default(&who).await,
                24..=27 => self.batch(&who).await,
                28..=31 => self.supersede(&who).await,
                32..=47 => self.recall(&who).await,
                48..=56 => self.get(&who).await,
                57..=63 => self.list(&who).await,
                64..=67 => self.forget(&who).await,
                68..=71 => self.report(&who).await,
                72..=78 => self.promote(&who).await,
                79..=82 => self.export(&who).await,
                83..=84 => self.namespaces(&who).await,
                85..=86 => self.audit(&who).await,
                87..=89 => self.import(&who).await,
                90..=93 => self.lifecycle(&who).await,
                94..=95 => self.create(&who).await,
                96..=97 => self.consolidate(&who).await,
                98 => self.entities(&who).await,
                _ => self.update(&who).await,
            };
            self.stats.ops += 1;
            if let Err(e) = result {
                return Err(format!("operation {i} by {}: {e}", who.label));
            }
            let after = self.snapshot().await?;
            if self.stats.refused > refused_before && after != before {
                return Err(format!("operation {i} by {} was refused but changed the store", who.label));
            }
            self.cross_check(&after).map_err(|e| format!("after operation {i} by {}: {e}", who.label))?;
        }
        Ok(())
    }

    fn note(&mut self, line: String) {
        self.log.push(line);
    }

    fn pick_ns(&mut self) -> String {
        self.rng.pick(&self.spec.universe).clone()
    }

    /// Half the time a namespace the caller may write (`write`) or read, so that successful
    /// operations are common; otherwise any.
    fn pick_ns_for(&mut self, who: &Who, write: bool) -> String {
        if self.rng.percent(50) {
            let fit: Vec<String> = self
                .spec
                .universe
                .iter()
                .filter(|ns| if write { self.writable(who, ns) } else { self.readable(who, ns) })
                .cloned()
                .collect();
            if !fit.is_empty() {
                return self.rng.pick(&fit).clone();
            }
        }
        self.pick_ns()
    }

    /// A known finding: fails in strict mode, else counted.
    fn finding(&mut self, name: &'static str, message: String) -> Result<(), String> {
        if self.strict {
            return Err(format!("{name}: {message}"));
        }
        self.stats.findings.entry(name).or_insert((0, message)).0 += 1;
        Ok(())
    }

    /// The memory `id` of `tenant`, as written (possibly forgotten).
    fn known(&self, tenant: usize, id: MemoryId) -> Option<&Known> {
        self.mems.get(&(tenant, id))
    }

    fn known_mut(&mut self, tenant: usize, id: MemoryId) -> Option<&mut Known> {
        self.mems.get_mut(&(tenant, id))
    }

    /// A known id (of any tenant, possibly forgotten) or, now and then, one that never existed.
    fn pick_id(&mut self) -> MemoryId {
        if self.ids.is_empty() || self.rng.percent(8) {
            return MemoryId::new_v7();
        }
        // Favour recent memories: they are more often live.
        let n = self.ids.len();
        let i = if self.rng.percent(60) { n - 1 - self.rng.below(n.min(20)) } else { self.rng.below(n) };
        self.ids[i].1
    }

    fn content(&mut self) -> String {
        if !self.ids.is_empty() && self.rng.percent(12) {
            let key = self.ids[self.rng.below(self.ids.len())];
            return self.mems[&key].content.clone();
        }
        self.serial += 1;
        let words: Vec<&str> = (0..3).map(|_| *self.rng.pick(WORDS)).collect();
        if self.rng.percent(25) {
            // A first-person statement that consolidation turns into knowledge, an identity
            // proposal or entities.
            let n = self.serial;
            return match self.rng.below(5) {
                0 => format!("I prefer {} over {} number {n}.", words[0], words[1]),
                1 => format!("My name is {}. Ref {n}.", self.rng.pick(&["Dana", "Ravi", "Mei", "Tomas", "Ines"])),
                2 => format!("Always mention {} {n}.", words[2]),
                3 => format!(
                    "I met my friend {} in Lisbon to talk about {} {n}.",
                    self.rng.pick(&["Priya", "Omar", "Lena"]),
                    words[0]
                ),
                _ => format!("Actually, my favourite drink is {} {n}.", words[1]),
            };
        }
        format!("{} {}", words.join(" "), self.serial)
    }

    /// A random input into `ns`, with its category and confidence as the engine will store them.
    fn input(&mut self, ns: Option<String>, identity: bool) -> (MemoryInput, &'static str, f64) {
        let layer = match self.rng.below(100) {
            0..=34 => Layer::Semantic,
            35..=64 => Layer::Episodic,
            65..=74 => Layer::Procedural,
            75..=82 if identity => Layer::Identity,
            _ => Layer::Working,
        };
        let mut input = MemoryInput::new(layer, self.content());
        input.namespace = ns;
        if layer == Layer::Working {
            let minutes = self.rng.range(5, 120) as i64;
            input.expires_at = Some(Timestamp::from_micros(self.engine.now().as_micros() + minutes * 60_000_000));
        }
        let mut category = if layer == Layer::Episodic { "event" } else { "fact" };
        if self.rng.percent(30) {
            category =
                *self.rng.pick(&["fact", "preference", "decision", "correction", "rule", "event", "observation"]);
            input.category = Some(Category::new(category).expect("known category"));
        }
        let mut confidence = 1.0;
        if self.rng.percent(25) {
            confidence = *self.rng.pick(&[0.5, 0.8, 0.96]);
            input.confidence = Some(Confidence::new(confidence).expect("valid confidence"));
        }
        (input, category, confidence)
    }

    // ---- writes ---------------------------------------------------------------------------------

    async fn remember(&mut self, who: &Who) -> Result<(), String> {
        let ns = if self.rng.percent(85) { Some(self.pick_ns_for(who, true)) } else { None };
        let (input, category, confidence) = self.input(ns.clone(), true);
        let expected = self.write_target(who, ns.as_deref());
        self.note(format!("remember_now into {ns:?} ({:?} {:?}), expect {expected:?}", input.layer, input.content));
        let res = self.engine.remember_now(&who.caller, input.clone()).await.map(|w| vec![w]);
        self.check_writes(who, "remember_now", vec![(input, category, confidence, expected)], res, None).await
    }

    /// Writes into the default target through `remember`, `observe` or `remember_now`.
    async fn remember_default(&mut self, who: &Who) -> Result<(), String> {
        let expected = self.write_target(who, None);
        let how = self.rng.below(3);
        let (res, inputs) = match how {
            0 => {
                let content = self.content();
                self.note(format!("remember {content:?}, expect {expected:?}"));
                let input = MemoryInput::new(Layer::Episodic, content.clone());
                (
                    self.engine.remember(&who.caller, &content, None).await.map(|w| vec![w]),
                    vec![(input, "event", 1.0, expected)],
                )
            }
            1 => {
                let contents = [self.content(), self.content()];
                self.note(format!("observe {contents:?}, expect {expected:?}"));
                let messages = contents.iter().map(|c| Message { role: "user".into(), content: c.clone() }).collect();
                let inputs = contents
                    .iter()
                    .map(|c| (MemoryInput::new(Layer::Episodic, c.clone()), "event", 1.0, expected.clone()))
                    .collect();
                (self.engine.observe(&who.caller, None, None, messages).await, inputs)
            }
            _ => {
                let (input, category, confidence) = self.input(None, true);
                self.note(format!("remember_now default ({:?} {:?}), expect {expected:?}", input.layer, input.content));
                let res = self.engine.remember_now(&who.caller, input.clone()).await.map(|w| vec![w]);
                (res, vec![(input, category, confidence, expected)])
            }
        };
        self.check_writes(who, "default write", inputs, res, None).await
    }

    async fn batch(&mut self, who: &Who) -> Result<(), String> {
        let mut inputs = Vec::new();
        for _ in 0..self.rng.range(2, 4) {
            let ns = if self.rng.percent(70) { Some(self.pick_ns_for(who, true)) } else { None };
            let (input, category, confidence) = self.input(ns.clone(), false);
            let expected = self.write_target(who, ns.as_deref());
            inputs.push((input, category, confidence, expected));
        }
        let summary: Vec<_> = inputs.iter().map(|(i, _, _, e)| format!("{:?}->{e:?}", i.namespace)).collect();
        self.note(format!("remember_batch {summary:?}"));
        let res = self.engine.remember_batch(&who.caller, inputs.iter().map(|i| i.0.clone()).collect()).await;
        self.check_writes(who, "remember_batch", inputs, res, None).await
    }

    async fn supersede(&mut self, who: &Who) -> Result<(), String> {
        let old = self.pick_id();
        let ns = if self.rng.percent(60) { Some(self.pick_ns_for(who, true)) } else { None };
        let (input, category, confidence) = self.input(ns.clone(), true);
        let mut expected = self.write_target(who, ns.as_deref());
        if expected.is_ok() {
            let known = self.known(who.tenant, old).filter(|k| !k.forgotten);
            expected = match known {
                Some(k) if self.visible(who, &k.ns) && !self.writable(who, &k.ns) => Err(ErrorKind::Forbidden),
                Some(k) if self.visible(who, &k.ns) => expected,
                _ => Err(ErrorKind::NotFound),
            };
        }
        self.note(format!(
            "supersede {old} (in {:?}) with a memory into {ns:?}, expect {expected:?}",
            self.known(who.tenant, old).map(|k| &k.ns)
        ));
        let res = self.engine.supersede(&who.caller, old, input.clone()).await.map(|w| vec![w]);
        self.check_writes(who, "supersede", vec![(input, category, confidence, expected)], res, Some(old)).await
    }

    /// Checks the result of a write of `inputs` (each with its expected target): refused with
    /// the first expected refusal, or every memory where the oracle says, verified in the store.
    async fn check_writes(
        &mut self,
        who: &Who,
        what: &str,
        inputs: Vec<(MemoryInput, &'static str, f64, Expected)>,
        res: Result<Vec<Written>, Error>,
        superseding: Option<MemoryId>,
    ) -> Result<(), String> {
        if let Some(kind) = inputs.iter().find_map(|i| i.3.clone().err()) {
            self.stats.refused += 1;
            return refused(what, &res, kind);
        }
        // A stated category other than the one of the memory it repeats (same namespace, layer
        // and content, live and unsuperseded; or an earlier input of the call) is a conflict.
        let mut seen: Vec<(&str, Layer, &str, Option<&str>)> = Vec::new();
        for (input, _, _, expected) in &inputs {
            let target = expected.as_deref().expect("checked above");
            let same = |ns: &str, layer: Layer, content: &str| {
                ns == target && layer == input.layer && content.split_whitespace().eq(input.content.split_whitespace())
            };
            let stated = input.category.as_ref().map(|c| c.as_str());
            let before = self
                .mems
                .values()
                .find(|k| k.tenant == who.tenant && !k.forgotten && !k.superseded && same(&k.ns, k.layer, &k.content))
                .map(|k| k.category.as_str())
                .or_else(|| seen.iter().find(|s| same(s.0, s.1, s.2)).and_then(|s| s.3));
            if let (Some(stated), Some(before)) = (stated, before)
                && stated != before
            {
                self.stats.refused += 1;
                return refused(what, &res, ErrorKind::Conflict);
            }
            let category = stated.or(before).unwrap_or(if input.layer == Layer::Episodic { "event" } else { "fact" });
            seen.push((target, input.layer, &input.content, Some(category)));
        }
        let written = succeeded(what, res)?;
        ensure!(written.len() == inputs.len(), "{what}: {} inputs, {} results", inputs.len(), written.len());
        let existed: BTreeSet<String> =
            self.spec.universe.iter().filter(|ns| self.exists(who.tenant, ns)).cloned().collect();
        for (w, (input, category, confidence, expected)) in written.iter().zip(inputs) {
            let target = expected.expect("checked above");
            ensure!(
                w.namespace.as_str() == target,
                "{what} wrote into {:?}; the oracle's target is {target:?}",
                w.namespace.as_str()
            );
            self.landed(who, what, w.id, &target, &input.content, w.created).await?;
            self.stats.written += 1;
            let promote = self.spec.auto_promote
                && w.created
                && ["fact", "correction", "decision", "preference"].contains(&category)
                && confidence >= 0.95
                && target != "shared"
                // Never from a sensitive or restricted namespace, never into a restricted one.
                && self.sensitivity(who.tenant, &target) == Sensitivity::Normal
                && self.sensitivity(who.tenant, "shared") != Sensitivity::Restricted
                && who.scopes.as_ref().is_none_or(|s| s.iter().any(|(ns, rw)| ns == "shared" && *rw))
                // Never into a namespace the writer cannot read: the copy would be a probe.
                && self.visible(who, "shared");
            if promote && w.promoted.is_empty() && !existed.contains(&target) {
                let message =
                    format!("{what} into {target:?}, which came into being on this write, was not auto-promoted");
                return Err(format!("{AUTO_PROMOTION_NEW_NAMESPACE}: {message}"));
            }
            ensure!(
                w.promoted.len() == usize::from(promote),
                "{what}: auto-promotion made {:?}; the oracle expects {} copies",
                w.promoted,
                usize::from(promote)
            );
            for p in &w.promoted {
                ensure!(p.namespace.as_str() == "shared", "auto-promotion into {:?}", p.namespace.as_str());
                // A copy that found the content already there hands back the id of a memory of
                // `shared`: that must be a memory the caller may read, or the write is a probe.
                if !p.created && !self.visible(who, "shared") {
                    let message = format!(
                        "auto-promotion told a caller that cannot read \"shared\" that it already holds {:?} (memory {})",
                        input.content, p.id
                    );
                    return Err(format!("{AUTO_PROMOTION_PROBE}: {message}"));
                }
                self.landed(who, "auto-promotion", p.id, "shared", &input.content, p.created).await?;
                self.stats.auto_promoted += 1;
            }
        }
        if let (Some(old), Some(w)) = (superseding, written.first())
            && w.id != old
        {
            self.known_mut(who.tenant, old).expect("checked by the oracle").superseded = true;
        }
        Ok(())
    }

    /// Verifies in the store that memory `id` is in `ns` of the caller's tenant, and records it.
    async fn landed(
        &mut self,
        who: &Who,
        what: &str,
        id: MemoryId,
        ns: &str,
        content: &str,
        created: bool,
    ) -> Result<(), String> {
        let stored = succeeded("store get", self.engine.store().get_memory(&tenant_id(who.tenant), id).await)?;
        let Some(m) = stored else {
            return Err(format!("{what}: memory {id} is not in the store of tenant {}", who.tenant));
        };
        ensure!(
            m.namespace.as_str() == ns,
            "{what}: memory {id} landed in {:?}, expected {ns:?}",
            m.namespace.as_str()
        );
        ensure!(
            m.content.split_whitespace().eq(content.split_whitespace()),
            "{what}: memory {id} holds {:?}, expected {content:?}",
            m.content
        );
        if created {
            ensure!(self.known(who.tenant, id).is_none(), "{what}: 'created' memory {id} existed before");
            self.mems.insert(
                (who.tenant, id),
                Known {
                    tenant: who.tenant,
                    ns: ns.to_owned(),
                    layer: m.layer,
                    category: m.category.as_str().to_owned(),
                    content: m.content.clone(),
                    expires_at: m.expires_at,
                    forgotten: false,
                    superseded: false,
                },
            );
            self.ids.push((who.tenant, id));
        } else {
            let k = self.known(who.tenant, id);
            ensure!(
                k.is_some_and(|k| k.ns == ns && !k.forgotten && !k.superseded),
                "{what}: deduplicated into memory {id}, which is not a live, unsuperseded memory of {ns:?}: {k:?}"
            );
            // A duplicate may hand over a later expiry.
            self.known_mut(who.tenant, id).expect("checked").expires_at = m.expires_at;
        }
        if !self.stored[who.tenant].contains_key(ns) {
            // It came into being on this write.
            self.stored[who.tenant].insert(ns.to_owned(), Status::Active);
            self.meta[who.tenant].insert(ns.to_owned(), Meta::plain(ns));
        }
        Ok(())
    }

    // ---- reads ----------------------------------------------------------------------------------

    async fn recall(&mut self, who: &Who) -> Result<(), String> {
        let mut names: Vec<String> = match self.rng.below(10) {
            0..=3 => Vec::new(),
            4..=5 => vec!["*".into()],
            _ => (0..self.rng.range(1, 3)).map(|_| self.pick_ns_for(who, false)).collect(),
        };
        if names.len() > 1 && self.rng.percent(10) {
            names.push("*".into());
        }
        let query = if !self.ids.is_empty() && self.rng.percent(40) {
            let key = self.ids[self.rng.below(self.ids.len())];
            self.mems[&key].content.clone()
        } else {
            format!("{} {}", self.rng.pick(WORDS), self.rng.pick(WORDS))
        };
        let mut request = RecallRequest::new(query);
        request.namespaces = names.clone();
        request.limit = self.rng.range(1, 40);
        request.include_sensitive = self.rng.percent(30);
        if self.rng.percent(25) {
            request.layers =
                Some(vec![*self.rng.pick(&[Layer::Semantic, Layer::Episodic, Layer::Identity, Layer::Working])]);
        }
        let expected = self.read_request(who, &names, request.include_sensitive);
        self.note(format!(
            "recall {:?} in {names:?} limit {} include_sensitive {}, expect {expected:?}",
            request.query, request.limit, request.include_sensitive
        ));
        let res = self.engine.recall(&who.caller, &request).await;
        let allowed = match expected {
            Err(kind) => {
                self.stats.refused += 1;
                return refused("recall", &res, kind);
            }
            Ok(allowed) => allowed,
        };
        let recall = succeeded("recall", res)?;
        let implicit = names.is_empty() || names.iter().any(|n| n == "*");
        let everything = !names.is_empty();
        let leaked = implicit.then(|| self.left_out_target(who, everything, request.include_sensitive)).flatten();
        for ns in &recall.namespaces {
            if leaked.as_deref() == Some(ns.as_str()) && !allowed.contains(ns.as_str()) {
                let message = format!(
                    "recall of {names:?} (include_sensitive {}) read the write target {:?}, which is {}",
                    request.include_sensitive,
                    ns.as_str(),
                    self.sensitivity(who.tenant, ns.as_str())
                );
                return Err(format!("{WRITE_TARGET_SENSITIVITY}: {message}"));
            }
            ensure!(allowed.contains(ns.as_str()), "recall read namespace {:?}, outside {allowed:?}", ns.as_str());
        }
        // The read set is exactly the model's: nothing left out that the caller may read either
        // (a sensitive namespace is in `*` with `include_sensitive`, a restricted one when named).
        let read: BTreeSet<String> = recall.namespaces.iter().map(|ns| ns.to_string()).collect();
        ensure!(read == allowed, "recall read {read:?}; the model's read set is {allowed:?}");
        ensure!(recall.memories.len() <= request.limit, "recall returned more than its limit");
        let returned = recall.memories.iter().map(|r| (r.memory.id, r.memory.namespace.to_string()));
        self.stats.returned += self.check_returned(who, "recall", &allowed, returned, true)?;
        Ok(())
    }

    async fn get(&mut self, who: &Who) -> Result<(), String> {
        let id = self.pick_id();
        let expect_ok = self.may_read(who, id, true);
        self.note(format!("get {id} (in {:?}), expect ok {expect_ok}", self.known(who.tenant, id).map(|k| &k.ns)));
        let res = self.engine.get(&who.caller, id).await;
        if !expect_ok {
            self.stats.refused += 1;
            let kind = if who.principal.is_none() { ErrorKind::Unauthenticated } else { ErrorKind::NotFound };
            refused("get", &res, kind)?;
            // Ids leak nothing: a memory the caller may not read is refused like a missing one.
            let fresh = MemoryId::new_v7();
            let missing = self.engine.get(&who.caller, fresh).await;
            return same_refusal("get", (&res, id), (&missing, fresh));
        }
        let m = succeeded("get", res)?;
        ensure!(m.id == id, "get {id} returned memory {}", m.id);
        self.stats.returned +=
            self.check_returned(who, "get", &self.visible_set(who), [(m.id, m.namespace.to_string())], false)?;
        Ok(())
    }

    async fn list(&mut self, who: &Who) -> Result<(), String> {
        let names: Vec<String> = if self.rng.percent(50) {
            Vec::new()
        } else {
            (0..self.rng.range(1, 2)).map(|_| self.pick_ns_for(who, false)).collect()
        };
        let request = ListRequest {
            namespaces: names.clone(),
            layers: self
                .rng
                .percent(20)
                .then(|| vec![*self.rng.pick(&[Layer::Semantic, Layer::Episodic, Layer::Procedural, Layer::Working])]),
            category: None,
            exclude_superseded: self.rng.percent(30),
        };
        let limit = self.rng.range(1, 60);
        // Names that are visible but neither stored nor configured nor in the caller's scopes
        // may be either 404 or empty; the test does not decide for the engine there.
        let known = |ns: &String| {
            self.status(who.tenant, ns).is_some()
                || self.spec.configured(ns)
                || who.scopes.as_ref().is_some_and(|s| s.iter().any(|(n, _)| n == ns))
        };
        // Without names: `*` with sensitive namespaces, never restricted ones. Named: any
        // namespace the caller may read.
        let expected: Option<Result<BTreeSet<String>, ErrorKind>> = if who.principal.is_none() {
            Some(Err(ErrorKind::Unauthenticated))
        } else if names.is_empty() {
            Some(Ok(self.everything(who, true)))
        } else if let Some(_hidden) = names.iter().find(|ns| !self.visible(who, ns)) {
            Some(Err(ErrorKind::NotFound))
        } else if names.iter().all(known) {
            Some(Ok(names.iter().cloned().collect()))
        } else {
            None
        };
        self.note(format!("list {names:?} page {limit}, expect {expected:?}"));
        let mut page = PageRequest::first(limit);
        let mut items: Vec<Memory> = Vec::new();
        loop {
            let res = self.engine.list(&who.caller, &request, &page).await;
            match &expected {
                Some(Err(kind)) => {
                    self.stats.refused += 1;
                    return refused("list", &res, *kind);
                }
                None if res.is_err() => {
                    refused("list", &res, ErrorKind::NotFound)?;
                    return Ok(());
                }
                _ => {}
            }
            let p = succeeded("list", res)?;
            items.extend(p.items);
            match p.next_cursor {
                Some(c) => page = PageRequest::after(c, limit),
                None => break,
            }
        }
        let allowed = match expected {
            Some(Ok(allowed)) => allowed,
            _ => names.iter().cloned().collect(),
        };
        let leaked = if names.is_empty() { self.left_out_target(who, true, true) } else { None };
        if let Some(target) = leaked.filter(|t| items.iter().any(|m| m.namespace.as_str() == t)) {
            let message = format!(
                "a listing of everything returned memories of the write target {target:?}, which is {}",
                self.sensitivity(who.tenant, &target)
            );
            return Err(format!("{WRITE_TARGET_SENSITIVITY}: {message}"));
        }
        let returned = items.iter().map(|m| (m.id, m.namespace.to_string()));
        self.stats.returned += self.check_returned(who, "list", &allowed, returned, false)?;
        // Complete: every live, unexpired memory of the allowed namespaces passing the filter.
        let now = self.engine.now();
        let want: BTreeSet<MemoryId> = self
            .mems
            .iter()
            .filter(|(_, k)| {
                k.tenant == who.tenant
                    && !k.forgotten
                    && allowed.contains(&k.ns)
                    && !k.expired(now)
                    && request.layers.as_ref().is_none_or(|l| l.contains(&k.layer))
                    && !(request.exclude_superseded && k.superseded)
            })
            .map(|((_, id), _)| *id)
            .collect();
        let got: BTreeSet<MemoryId> = items.iter().map(|m| m.id).collect();
        ensure!(got.len() == items.len(), "list returned a memory twice");
        ensure!(
            got == want,
            "list returned {} memories, the model expects {}: {:?}",
            got.len(),
            want.len(),
            got.symmetric_difference(&want).collect::<Vec<_>>()
        );
        Ok(())
    }

    async fn export(&mut self, who: &Who) -> Result<(), String> {
        let one = self.rng.percent(30).then(|| self.pick_ns_for(who, false));
        let request = ExportRequest { namespaces: one.iter().cloned().collect(), audit: self.rng.percent(30) };
        let may = |ns: &str| who.operator || self.visible(who, ns);
        let exportable: BTreeSet<String> = self.stored[who.tenant]
            .iter()
            .filter(|(ns, s)| **s != Status::Deleted && may(ns))
            .map(|(ns, _)| ns.clone())
            .collect();
        let expected: Result<BTreeSet<String>, ErrorKind> = if who.principal.is_none() && !who.operator {
            Err(ErrorKind::Unauthenticated)
        } else {
            match &one {
                Some(ns) if exportable.contains(ns) => Ok([ns.clone()].into_iter().collect()),
                Some(_) => Err(ErrorKind::NotFound),
                // Everything: restricted namespaces only when named (or for operators).
                None => Ok(exportable
                    .into_iter()
                    .filter(|ns| who.operator || !self.left_out(who.tenant, ns, true, true))
                    .collect()),
            }
        };
        self.note(format!("export {one:?}, expect {expected:?}"));
        let mut out: Vec<u8> = Vec::new();
        let res = self.engine.export(&who.caller, &request, &mut out, &mut |_| {}).await;
        let allowed = match expected {
            Err(kind) => {
                self.stats.refused += 1;
                return refused("export", &res, kind);
            }
            Ok(allowed) => allowed,
        };
        succeeded("export", res)?;
        let leaked = if one.is_none() && !who.operator { self.left_out_target(who, true, true) } else { None };
        let mut namespaces = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for line in String::from_utf8(out).map_err(|e| e.to_string())?.lines() {
            match serde_json::from_str::<ExportLine>(line).map_err(|e| format!("export line {line:?}: {e}"))? {
                ExportLine::Namespace { namespace } => {
                    let key = namespace.key.to_string();
                    if leaked.as_ref() == Some(&key) && !allowed.contains(&key) {
                        let message = format!(
                            "an export of everything holds the write target {key:?}, which is {}",
                            namespace.sensitivity
                        );
                        return Err(format!("{WRITE_TARGET_SENSITIVITY}: {message}"));
                    }
                    namespaces.insert(key);
                }
                ExportLine::Memory { memory } => {
                    ensure!(ids.insert(memory.id), "export holds memory {} twice", memory.id);
                    if !who.operator {
                        self.check_returned(
                            who,
                            "export",
                            &allowed,
                            [(memory.id, memory.namespace.to_string())],
                            false,
                        )?;
                    }
                    ensure!(
                        allowed.contains(memory.namespace.as_str()),
                        "export holds memory {} of {:?}",
                        memory.id,
                        memory.namespace.as_str()
                    );
                    self.stats.returned += 1;
                }
                ExportLine::Audit { audit } => {
                    ensure!(request.audit, "export holds audit records it was not asked for");
                    let ns = audit.namespace.as_ref().map(|n| n.to_string()).unwrap_or_default();
                    ensure!(allowed.contains(&ns), "export holds an audit record of {ns:?}, outside {allowed:?}");
                    ensure!(audit.tenant == tenant_id(who.tenant), "export holds an audit record of another tenant");
                    // The audit log of a namespace is for operators and its writers (audit_log).
                    let audit_reader = who.operator || (self.writable(who, &ns) && !self.gone(who.tenant, &ns));
                    if !audit_reader {
                        let message = format!(
                            "export gave a caller that may not read the audit log of {ns:?} its record {:?} by {:?}: {:?}",
                            audit.operation, audit.principal, audit.detail
                        );
                        return Err(format!("{EXPORT_AUDIT}: {message}"));
                    }
                }
                ExportLine::Header { .. } | ExportLine::End { .. } => {}
            }
        }
        ensure!(namespaces == allowed, "export holds namespaces {namespaces:?}; the model expects {allowed:?}");
        let want: BTreeSet<MemoryId> = self
            .mems
            .iter()
            .filter(|(_, k)| k.tenant == who.tenant && !k.forgotten && allowed.contains(&k.ns))
            .map(|((_, id), _)| *id)
            .collect();
        ensure!(ids == want, "export holds {} memories, the model expects {}", ids.len(), want.len());
        Ok(())
    }

    /// Imports a small export file of fresh memories into one namespace: non-operators need
    /// write access to every namespace of the file.
    async fn import(&mut self, who: &Who) -> Result<(), String> {
        let ns = self.pick_ns_for(who, true);
        let now = self.engine.now();
        let tenant = tenant_id(who.tenant);
        let key = NamespaceKey::new(&ns).expect("valid key");
        let mut news = Vec::new();
        for _ in 0..self.rng.range(1, 3) {
            let content = self.content();
            news.push(NewMemory::new(key.clone(), Layer::Semantic, content, now));
        }
        // Now and then a known id: another tenant's memory, a forgotten one, or one in a
        // namespace the caller may or may not read. It must never change that memory.
        let reused = (!self.ids.is_empty() && self.rng.percent(20)).then(|| self.ids[self.rng.below(self.ids.len())].1);
        if let Some(id) = reused {
            news[0] = news[0].clone().with_id(id);
        }
        let mut lines = vec![
            ExportLine::Header {
                format: EXPORT_FORMAT.into(),
                version: EXPORT_VERSION,
                tenant: tenant.as_str().into(),
                exported_at: now,
            },
            ExportLine::Namespace {
                namespace: Namespace::new(tenant.clone(), key.clone(), NamespaceKind::Explicit, now),
            },
        ];
        lines.extend(news.iter().map(|m| ExportLine::Memory { memory: m.clone() }));
        lines.push(ExportLine::End { namespaces: 1, memories: news.len() as u64, audit: 0 });
        let text: String = lines.iter().map(|l| serde_json::to_string(l).expect("serializable") + "\n").collect();
        // Ids are scoped by tenant: only a memory of the caller's tenant takes the id here; one
        // that only another tenant holds is free, and imported like a fresh one. An id held by
        // the same memory (live, same namespace, layer and content) is skipped ("already
        // there"); any other taken id (another memory, a forgotten one) is a conflict found
        // before anything is written.
        let taken = reused.and_then(|id| self.known(who.tenant, id).map(|k| (id, k.clone())));
        let skipped = taken.as_ref().is_some_and(|(_, k)| {
            !k.forgotten
                && k.ns == ns
                && k.layer == Layer::Semantic
                && k.content.split_whitespace().eq(news[0].content.split_whitespace())
        });
        let clash = taken.is_some() && !skipped;
        // A fresh memory of the file that repeats a memory here of another category would lose
        // its category: a conflict too, found before anything is written.
        let miscategorized = news.iter().skip(usize::from(skipped)).any(|m| {
            self.mems.values().any(|k| {
                k.tenant == who.tenant
                    && k.ns == ns
                    && k.layer == m.layer
                    && !k.forgotten
                    && !k.superseded
                    && k.category != m.category.as_str()
                    && k.content.split_whitespace().eq(m.content.split_whitespace())
            })
        });
        let clash = clash || miscategorized;
        let expected = if !who.operator && !self.writable(who, &ns) {
            Some(ErrorKind::Forbidden)
        } else if self.status(who.tenant, &ns) == Some(Status::Deleted) || clash {
            Some(ErrorKind::Conflict)
        } else {
            None
        };
        self.note(format!(
            "import {} memories into {ns:?} (status {:?}, known id {reused:?}, taken here {:?}), expect refusal \
             {expected:?}",
            news.len(),
            self.status(who.tenant, &ns),
            taken.as_ref().map(|(_, k)| (&k.ns, k.forgotten))
        ));
        let res = self
            .engine
            .import(&who.caller, &mut std::io::Cursor::new(text.as_bytes()), &Default::default(), &mut |_| {})
            .await;
        if let Some((id, k)) = &taken
            && (expected.is_none() || clash && expected == Some(ErrorKind::Conflict))
            && !who.operator
            && !self.may_read(who, *id, false)
        {
            let outcome = match &res {
                Ok(r) => format!("skipped it ({} skipped)", r.skipped),
                Err(e) => format!("failed with {:?}: {}", e.kind(), e.message()),
            };
            let message = format!(
                "importing id {id} (tenant {}, namespace {:?}, forgotten {}) {outcome}",
                k.tenant, k.ns, k.forgotten
            );
            self.finding(IMPORT_ID_PROBE, message)?;
        }
        if let Some(kind) = expected {
            self.stats.refused += usize::from(kind == ErrorKind::Forbidden);
            return refused("import", &res, kind);
        }
        let report = succeeded("import", res)?;
        // The namespace is active afterwards (created, or restored: the file says active). A new
        // one is created from the file's record; an existing one takes the file's team, default
        // access and sensitivity (its kind and creator stay) from an operator's import only: a
        // change of who may use it is an admin's.
        let file = Meta::plain(&ns);
        let before = self.meta[who.tenant].get(&ns).cloned();
        let mut after = match &before {
            None => file,
            Some(m) => Meta { team: file.team, access: file.access, sensitivity: file.sensitivity, ..m.clone() },
        };
        if let Some(before) = before.filter(|m| *m != after && !who.operator) {
            let key = NamespaceKey::new(&ns).expect("valid key");
            let got = succeeded("store namespace", self.engine.store().get_namespace(&tenant, &key).await)?;
            let got = got.ok_or_else(|| format!("import: namespace {ns:?} is gone from the store"))?;
            if (got.team.as_deref(), got.default_access, got.sensitivity) == (None, after.access, after.sensitivity) {
                let message = format!(
                    "a non-operator's import changed {ns:?} from team {:?}, {}, {} to the file's team {:?}, {}, {}",
                    before.team.map(|t| format!("t{t}")),
                    before.access,
                    before.sensitivity,
                    got.team,
                    got.default_access,
                    got.sensitivity
                );
                return Err(format!("{IMPORT_CHANGES_ACCESS}: {message}"));
            } else {
                after = before;
            }
        }
        self.stored[who.tenant].insert(ns.clone(), Status::Active);
        self.meta[who.tenant].insert(ns.clone(), after);
        ensure!(
            report.skipped == u64::from(skipped),
            "import skipped {}, the model expects {}",
            report.skipped,
            u64::from(skipped)
        );
        if skipped {
            news.remove(0);
        }
        let mut created = 0;
        for m in news {
            let duplicate = self.mems.values().any(|k| {
                k.tenant == who.tenant
                    && k.ns == ns
                    && k.layer == m.layer
                    && !k.forgotten
                    && !k.superseded
                    && k.content.split_whitespace().eq(m.content.split_whitespace())
            });
            if !duplicate {
                created += 1;
                self.ids.push((who.tenant, m.id));
                let known = Known {
                    tenant: who.tenant,
                    ns: ns.clone(),
                    layer: m.layer,
                    category: m.category.as_str().to_owned(),
                    content: m.content,
                    expires_at: None,
                    forgotten: false,
                    superseded: false,
                };
                self.mems.insert((who.tenant, m.id), known);
            }
        }
        ensure!(report.memories == created, "import wrote {} memories, the model expects {created}", report.memories);
        self.stats.imported += created as usize;
        Ok(())
    }

    async fn namespaces(&mut self, who: &Who) -> Result<(), String> {
        if self.rng.percent(40) {
            return self.one_namespace(who).await;
        }
        let expected: Result<BTreeSet<String>, ErrorKind> = if who.principal.is_none() && !who.operator {
            Err(ErrorKind::Unauthenticated)
        } else {
            Ok(self.stored[who.tenant]
                .iter()
                .filter(|(ns, s)| **s != Status::Deleted && (who.operator || self.visible(who, ns)))
                .map(|(ns, _)| ns.clone())
                .collect())
        };
        self.note(format!("list namespaces, expect {expected:?}"));
        let res = self.engine.list_namespaces(&who.caller, &NamespaceFilter::default()).await;
        match expected {
            Err(kind) => {
                self.stats.refused += 1;
                refused("list namespaces", &res, kind)
            }
            Ok(want) => {
                let got: BTreeSet<String> =
                    succeeded("list namespaces", res)?.into_iter().map(|i| i.namespace.key.to_string()).collect();
                ensure!(got == want, "list namespaces returned {got:?}; the model expects {want:?}");
                Ok(())
            }
        }
    }

    async fn one_namespace(&mut self, who: &Who) -> Result<(), String> {
        let ns = self.pick_ns_for(who, false);
        let status = self.status(who.tenant, &ns);
        let expected = if status.is_none_or(|s| s == Status::Deleted) {
            Some(ErrorKind::NotFound)
        } else if who.operator {
            None
        } else if who.principal.is_none() {
            Some(ErrorKind::Unauthenticated)
        } else if !self.visible(who, &ns) {
            Some(ErrorKind::NotFound)
        } else {
            None
        };
        self.note(format!("namespace {ns:?} (status {status:?}), expect refusal {expected:?}"));
        let res = self.engine.namespace(&who.caller, &ns).await;
        if let Some(kind) = expected {
            self.stats.refused += 1;
            return refused("namespace", &res, kind);
        }
        let info = succeeded("namespace", res)?;
        ensure!(info.namespace.key.as_str() == ns, "namespace {ns:?} returned {:?}", info.namespace.key.as_str());
        let live = self.mems.values().filter(|k| k.tenant == who.tenant && k.ns == ns && !k.forgotten).count();
        ensure!(info.memories == live as u64, "namespace {ns:?} counts {} memories, the model {live}", info.memories);
        Ok(())
    }

    async fn audit(&mut self, who: &Who) -> Result<(), String> {
        let ns = self.rng.percent(90).then(|| self.pick_ns());
        let expected: Option<ErrorKind> = if who.operator {
            None
        } else if who.principal.is_none() {
            Some(ErrorKind::Unauthenticated)
        } else {
            match &ns {
                Some(ns) if self.writable(who, ns) && !self.gone(who.tenant, ns) => None,
                _ => Some(ErrorKind::Forbidden),
            }
        };
        self.note(format!("audit log of {ns:?}, expect refusal {expected:?}"));
        let res = self.engine.audit_log(&who.caller, ns.as_deref(), &PageRequest::first(1000)).await;
        if let Some(kind) = expected {
            self.stats.refused += 1;
            return refused("audit log", &res, kind);
        }
        let page = succeeded("audit log", res)?;
        if let Some(ns) = &ns {
            for r in &page.items {
                ensure!(
                    r.namespace.as_ref().is_some_and(|n| n.as_str() == ns),
                    "audit log of {ns:?} returned a record of {:?}",
                    r.namespace
                );
                ensure!(r.tenant == tenant_id(who.tenant), "audit log returned a record of another tenant");
            }
        }
        Ok(())
    }

    // ---- changes by id ----------------------------------------------------------------------------

    async fn forget(&mut self, who: &Who) -> Result<(), String> {
        let id = self.pick_id();
        let expected = if who.principal.is_none() {
            Some(ErrorKind::Unauthenticated)
        } else if !self.may_read(who, id, true) {
            Some(ErrorKind::NotFound)
        } else if !self.writable(who, &self.mems[&(who.tenant, id)].ns) {
            Some(ErrorKind::Forbidden)
        } else {
            None
        };
        let known_ns = self.known(who.tenant, id).map(|k| &k.ns);
        self.note(format!("forget {id} (in {known_ns:?}), expect refusal {expected:?}"));
        let res = self.engine.forget(&who.caller, id).await;
        if let Some(kind) = expected {
            self.stats.refused += 1;
            refused("forget", &res, kind)?;
            if kind == ErrorKind::NotFound {
                let fresh = MemoryId::new_v7();
                let missing = self.engine.forget(&who.caller, fresh).await;
                return same_refusal("forget", (&res, id), (&missing, fresh));
            }
            return Ok(());
        }
        succeeded("forget", res)?;
        self.known_mut(who.tenant, id).expect("known").forgotten = true;
        Ok(())
    }

    async fn report(&mut self, who: &Who) -> Result<(), String> {
        let ids: Vec<MemoryId> = (0..self.rng.range(1, 3)).map(|_| self.pick_id()).collect();
        let outcome = *self.rng.pick(&[Outcome::Helpful, Outcome::Unhelpful, Outcome::Reward(0.4)]);
        // Feedback needs read access only; expiry does not matter here.
        let expected = if who.principal.is_none() {
            Some(ErrorKind::Unauthenticated)
        } else if ids.iter().all(|id| self.may_read(who, *id, false)) {
            None
        } else {
            Some(ErrorKind::NotFound)
        };
        self.note(format!("report {outcome:?} on {ids:?}, expect refusal {expected:?}"));
        let res = self.engine.report_outcome(&who.caller, &ids, outcome).await;
        if let Some(kind) = expected {
            self.stats.refused += 1;
            return refused("report outcome", &res, kind);
        }
        succeeded("report outcome", res)
    }

    async fn promote(&mut self, who: &Who) -> Result<(), String> {
        let id = self.pick_id();
        let target = self.rng.percent(60).then(|| self.pick_ns_for(who, true));
        let to = target.clone().unwrap_or_else(|| "shared".into());
        let expected: Expected = if who.principal.is_none() {
            Err(ErrorKind::Unauthenticated)
        } else if !self.may_read(who, id, true) {
            Err(ErrorKind::NotFound)
        } else if !self.writable(who, &to) || (target.is_none() && self.gone(who.tenant, &to)) {
            Err(ErrorKind::Forbidden)
        } else if self.mems[&(who.tenant, id)].ns == to {
            Err(ErrorKind::InvalidInput)
        } else if self.gone(who.tenant, &to) {
            // Archived and deleted namespaces take no writes (SPEC 3).
            Err(ErrorKind::NotFound)
        } else {
            Ok(to.clone())
        };
        self.note(format!(
            "promote {id} (in {:?}) into {target:?}, expect {expected:?}",
            self.known(who.tenant, id).map(|k| &k.ns)
        ));
        let res = self.engine.promote(&who.caller, id, target.as_deref()).await;
        let to = match expected {
            Err(kind) => {
                self.stats.refused += 1;
                return refused("promote", &res, kind);
            }
            Ok(to) => to,
        };
        let p = succeeded("promote", res)?;
        ensure!(
            p.namespace.as_str() == to,
            "promote copied into {:?}; the oracle's target is {to:?}",
            p.namespace.as_str()
        );
        let content = self.mems[&(who.tenant, id)].content.clone();
        self.landed(who, "promote", p.id, &to, &content, p.created).await?;
        self.stats.written += 1;
        Ok(())
    }

    // ---- consolidation and entities -----------------------------------------------------------------

    /// Consolidates a namespace the caller may write (explicit or its write default): whatever
    /// it writes, supersedes, proposes, promotes or links stays in that namespace (promotions
    /// in `shared`, which the caller reads), and every entity links memories of one namespace.
    async fn consolidate(&mut self, who: &Who) -> Result<(), String> {
        // Operators consolidate as the principals that remembered the episodes; the oracle
        // models a caller writing as itself.
        let mut who = who.clone();
        who.operator = false;
        who.caller.operator = false;
        let ns = self.rng.percent(70).then(|| self.pick_ns_for(&who, true));
        let expected = match self.write_target(&who, ns.as_deref()) {
            Ok(target) if self.status(who.tenant, &target).is_none() => Err(ErrorKind::NotFound),
            other => other,
        };
        self.note(format!("consolidate {ns:?}, expect {expected:?}"));
        let request = ConsolidateRequest { namespace: ns, max_episodes: None };
        let res = self.engine.consolidate(&who.caller, &request, &mut |_| {}).await;
        let target = match expected {
            Err(kind) => {
                self.stats.refused += 1;
                return refused("consolidate", &res, kind);
            }
            Ok(target) => target,
        };
        let report = succeeded("consolidate", res)?;
        let tenant = tenant_id(who.tenant);
        let store = self.engine.store().clone();
        let new_ids: Vec<MemoryId> =
            report.created.iter().copied().chain(report.superseded.iter().map(|s| s.1)).collect();
        for id in new_ids {
            let m = succeeded("store get", store.get_memory(&tenant, id).await)?
                .ok_or_else(|| format!("consolidation wrote memory {id}, which the store lacks"))?;
            self.landed(&who, "consolidate", id, &target, &m.content, true).await?;
            self.stats.consolidated += 1;
            let sources: Vec<MemoryId> =
                serde_json::from_value(m.metadata.get("sources").cloned().unwrap_or_default()).unwrap_or_default();
            ensure!(!sources.is_empty(), "consolidated memory {id} names no source episode");
            for source in sources {
                let k = self.known(who.tenant, source);
                ensure!(
                    k.is_some_and(|k| k.ns == target),
                    "consolidated memory {id} in {target:?} was read from memory {source}, of {:?}",
                    k.map(|k| (k.tenant, &k.ns))
                );
            }
            self.stats.written += 1;
        }
        for &(old, _) in &report.superseded {
            let k = self.known(who.tenant, old);
            ensure!(
                k.is_some_and(|k| k.ns == target && !k.forgotten),
                "consolidation of {target:?} superseded memory {old} of {:?}",
                k.map(|k| (k.tenant, k.ns.clone()))
            );
            self.known_mut(who.tenant, old).expect("checked").superseded = true;
        }
        for id in &report.evidence {
            let k = self.known(who.tenant, *id);
            ensure!(
                k.is_some_and(|k| k.ns == target && !k.forgotten),
                "consolidation of {target:?} added evidence to memory {id} of {:?}",
                k.map(|k| (k.tenant, &k.ns))
            );
        }
        for p in &report.promoted {
            ensure!(
                p.namespace.as_str() == "shared" && self.visible(&who, "shared") && target != "shared",
                "consolidation of {target:?} promoted into {:?} for a caller that may read it: {}",
                p.namespace.as_str(),
                self.visible(&who, "shared")
            );
            let m = succeeded("store get", store.get_memory(&tenant, p.id).await)?
                .ok_or_else(|| format!("auto-promotion copy {} is not in the store", p.id))?;
            self.landed(&who, "consolidation auto-promotion", p.id, "shared", &m.content, p.created).await?;
            self.stats.auto_promoted += usize::from(p.created);
        }
        for id in &report.proposed {
            let proposal = succeeded("store get proposal", store.get_proposal(&tenant, *id).await)?;
            ensure!(
                proposal.as_ref().is_some_and(|p| p.namespace.as_str() == target && p.layer == Layer::Identity),
                "consolidation of {target:?} proposed {proposal:?}"
            );
            self.stats.proposed += 1;
        }
        self.check_entities(who.tenant).await?;
        // The consolidating caller reads the entities of the namespace it consolidated (when it
        // may): entities of that namespace only.
        if !self.visible(&who, &target) {
            return Ok(());
        }
        let page = succeeded(
            "entities after consolidation",
            self.engine.entities(&who.caller, Some(target.as_str()), None, None, &PageRequest::first(100)).await,
        )?;
        for e in &page.items {
            ensure!(
                e.namespace.as_str() == target && e.tenant == tenant,
                "entities of {target:?} returned {:?} of {:?}",
                e.name,
                e.namespace.as_str()
            );
        }
        self.stats.entities += page.items.len();
        Ok(())
    }

    /// Every entity of the tenant links only live memories of its own namespace and tenant.
    async fn check_entities(&self, tenant: usize) -> Result<(), String> {
        let store = self.engine.store();
        let t = tenant_id(tenant);
        let entities = succeeded(
            "store entities",
            store.list_entities(&t, &EntityFilter::default(), &PageRequest::first(1000)).await,
        )?;
        for e in entities.items {
            let ids = succeeded("entity memories", store.entity_memories(&t, e.id, &PageRequest::first(1000)).await)?;
            for id in ids.items {
                let k = self.known(tenant, id);
                ensure!(
                    k.is_some_and(|k| k.ns == e.namespace.as_str()),
                    "entity {:?} of {:?} links memory {id} of {:?}",
                    e.name,
                    e.namespace.as_str(),
                    k.map(|k| (k.tenant, &k.ns))
                );
            }
        }
        Ok(())
    }

    /// Lists entities (named or everything) and reads one: only entities of namespaces the
    /// caller may read, and 404 for any other.
    async fn entities(&mut self, who: &Who) -> Result<(), String> {
        let ns = self.rng.percent(50).then(|| self.pick_ns_for(who, false));
        let res = self.engine.entities(&who.caller, ns.as_deref(), None, None, &PageRequest::first(100)).await;
        match (&ns, res) {
            (_, Ok(page)) => {
                for e in &page.items {
                    ensure!(
                        self.visible(who, e.namespace.as_str()) && tenant_id(who.tenant) == e.tenant,
                        "entities {ns:?} returned entity {:?} of {:?} (tenant {}) to a caller that may not read it",
                        e.name,
                        e.namespace.as_str(),
                        e.tenant.as_str()
                    );
                    ensure!(ns.as_ref().is_none_or(|n| n == e.namespace.as_str()), "entities of {ns:?} returned {e:?}");
                }
                self.stats.entities += page.items.len();
            }
            (Some(n), Err(e)) => ensure!(
                !self.visible(who, n) || who.principal.is_none() || self.status(who.tenant, n).is_none(),
                "entities of readable namespace {n:?} failed: {e}"
            ),
            (None, Err(e)) => ensure!(who.principal.is_none(), "entities failed for a caller with a principal: {e}"),
        }
        // One entity of the tenant by id: visible exactly when its namespace is.
        let t = tenant_id(self.rng.below(2));
        let all = succeeded(
            "store entities",
            self.engine.store().list_entities(&t, &EntityFilter::default(), &PageRequest::first(1000)).await,
        )?;
        if all.items.is_empty() {
            return Ok(());
        }
        let e = all.items[self.rng.below(all.items.len())].clone();
        let res = self.engine.entity(&who.caller, e.id, &PageRequest::first(100)).await;
        let allowed = t == tenant_id(who.tenant) && self.visible(who, e.namespace.as_str());
        self.note(format!("entity {} of {:?} in {}, expect allowed {allowed}", e.id, e.namespace.as_str(), t.as_str()));
        if !allowed {
            if who.principal.is_none() {
                ensure!(res.is_err(), "an unauthenticated caller read entity {}", e.id);
                return Ok(());
            }
            return refused("entity", &res, ErrorKind::NotFound);
        }
        let found = succeeded("entity", res)?;
        self.stats.entities += 1;
        for m in &found.memories {
            ensure!(
                m.namespace == e.namespace,
                "entity {} of {:?} returned memory {} of {:?}",
                e.id,
                e.namespace.as_str(),
                m.id,
                m.namespace.as_str()
            );
        }
        Ok(())
    }

    // ---- namespace lifecycle ----------------------------------------------------------------------

    async fn lifecycle(&mut self, who: &Who) -> Result<(), String> {
        let mut who = who.clone();
        if self.rng.percent(60) {
            who.operator = true;
            who.caller.operator = true;
        }
        let ns = self.pick_ns();
        let op = match self.rng.below(20) {
            0 if who.operator => "delete",
            0..=9 => "archive",
            _ => "restore",
        };
        let status = self.status(who.tenant, &ns);
        let expected: Result<bool, ErrorKind> = if op != "restore" && (ns == "default" || ns == "shared") {
            Err(ErrorKind::InvalidInput)
        } else if !who.operator && !self.writable(&who, &ns) {
            Err(ErrorKind::Forbidden)
        } else {
            match (op, status) {
                (_, None) => Err(ErrorKind::NotFound),
                ("delete", Some(s)) => Ok(s != Status::Deleted),
                (_, Some(Status::Deleted)) => Err(ErrorKind::NotFound),
                ("archive", Some(s)) => Ok(s == Status::Active),
                (_, Some(s)) => Ok(s == Status::Archived),
            }
        };
        self.note(format!("{op} {ns:?} (operator {}, status {status:?}), expect {expected:?}", who.operator));
        let res = match op {
            "archive" => self.engine.archive_namespace(&who.caller, &ns).await,
            "restore" => self.engine.restore_namespace(&who.caller, &ns).await,
            _ => self.engine.delete_namespace(&who.caller, &ns).await,
        };
        let changed = match expected {
            Err(kind) => {
                if kind != ErrorKind::InvalidInput && kind != ErrorKind::NotFound {
                    self.stats.refused += 1;
                }
                return refused(op, &res, kind);
            }
            Ok(changed) => changed,
        };
        let got = succeeded(op, res)?;
        ensure!(got == changed, "{op} {ns:?} reported changed {got}, expected {changed}");
        let new = match op {
            "archive" => Status::Archived,
            "restore" => Status::Active,
            _ => Status::Deleted,
        };
        self.stored[who.tenant].insert(ns.clone(), new);
        if new == Status::Deleted {
            for k in self.mems.values_mut().filter(|k| k.tenant == who.tenant && k.ns == ns) {
                k.forgotten = true;
            }
        }
        Ok(())
    }

    /// An owning team for a create or update: a team of the configuration, none, or now and
    /// then `tx`, which is none of the configuration's.
    fn pick_team(&mut self) -> Option<String> {
        match self.rng.below(10) {
            0 => Some("tx".into()),
            1..=6 if !self.spec.teams.is_empty() => Some(format!("t{}", self.rng.below(self.spec.teams.len()))),
            _ => None,
        }
    }

    /// The index of team `name` in the configuration.
    fn team_index(&self, name: &str) -> Option<usize> {
        name.strip_prefix('t').and_then(|i| i.parse().ok()).filter(|i| *i < self.spec.teams.len())
    }

    /// seeds/004: who other than an operator may create `ns` over the API: a principal, within
    /// a key's scopes read-write; a configured name (`default`, `shared`, a policy's) needs
    /// write access under its rules; any other name is free to every principal.
    fn may_create(&self, who: &Who, ns: &str) -> bool {
        who.principal.is_some() && ((who.scopes.is_none() && !self.spec.configured(ns)) || self.writable(who, ns))
    }

    /// Creates a namespace with a random owning team, default access and sensitivity. Unknown
    /// team: 400; not an operator and not allowed to create it: 403; taken: 409.
    async fn create(&mut self, who: &Who) -> Result<(), String> {
        let mut who = who.clone();
        if self.rng.percent(20) {
            who.operator = true;
            who.caller.operator = true;
        }
        // Mostly a name not taken yet, so that namespaces get varied creators and settings.
        let fresh: Vec<String> =
            self.spec.universe.iter().filter(|ns| self.status(who.tenant, ns).is_none()).cloned().collect();
        let ns = if !fresh.is_empty() && self.rng.percent(70) { self.rng.pick(&fresh).clone() } else { self.pick_ns() };
        let team = self.pick_team();
        let mut patch = NamespacePatch::default();
        patch.team = team.clone().map(Some);
        if self.rng.percent(75) {
            patch.default_access = Some(*self.rng.pick(DefaultAccess::ALL));
        }
        if self.rng.percent(60) {
            patch.sensitivity = Some(*self.rng.pick(Sensitivity::ALL));
        }
        let known_team = team.as_deref().map(|t| self.team_index(t));
        let expected = if known_team == Some(None) {
            Some(ErrorKind::InvalidInput)
        } else if !who.operator && !self.may_create(&who, &ns) {
            Some(ErrorKind::Forbidden)
        } else if self.status(who.tenant, &ns).is_some() {
            Some(ErrorKind::Conflict)
        } else {
            None
        };
        self.note(format!(
            "create namespace {ns:?} (team {team:?}, {:?}, {:?}, operator {}), expect refusal {expected:?}",
            patch.default_access, patch.sensitivity, who.operator
        ));
        let res = self.engine.create_namespace(&who.caller, &ns, &patch).await;
        if let Some(kind) = expected {
            if kind == ErrorKind::Forbidden {
                self.stats.refused += 1;
            }
            return refused("create namespace", &res, kind);
        }
        let created = succeeded("create namespace", res)?;
        let meta = Meta {
            explicit: true,
            creator: who.principal,
            team: known_team.flatten(),
            access: patch.default_access.unwrap_or(DefaultAccess::Team),
            sensitivity: patch.sensitivity.unwrap_or(Sensitivity::Normal),
        };
        ensure!(
            created.key.as_str() == ns && created.kind == NamespaceKind::Explicit,
            "create namespace {ns:?} made {:?} of kind {}",
            created.key.as_str(),
            created.kind
        );
        self.stored[who.tenant].insert(ns.clone(), Status::Active);
        self.meta[who.tenant].insert(ns, meta);
        self.stats.created += 1;
        Ok(())
    }

    /// Changes who may use a namespace (default access, owning team, sensitivity; only an
    /// operator may) and its description (anyone who may write it).
    async fn update(&mut self, who: &Who) -> Result<(), String> {
        let mut who = who.clone();
        if self.rng.percent(50) {
            who.operator = true;
            who.caller.operator = true;
        }
        let stored: Vec<String> = self.stored[who.tenant].keys().cloned().collect();
        let ns = if self.rng.percent(75) { self.rng.pick(&stored).clone() } else { self.pick_ns() };
        let mut patch = NamespacePatch::default();
        if self.rng.percent(40) {
            patch.default_access = Some(*self.rng.pick(DefaultAccess::ALL));
        }
        if self.rng.percent(40) {
            patch.sensitivity = Some(*self.rng.pick(Sensitivity::ALL));
        }
        if self.rng.percent(30) {
            patch.team = Some(self.pick_team());
        }
        if self.rng.percent(40) {
            patch.description = Some(Some(format!("about {ns}")));
        }
        let who_may_use = patch.default_access.is_some() || patch.team.is_some() || patch.sensitivity.is_some();
        let team = patch.team.clone().map(|t| t.map(|t| self.team_index(&t)));
        let status = self.status(who.tenant, &ns);
        let expected = if team == Some(Some(None)) {
            Some(ErrorKind::InvalidInput)
        } else if !who.operator && (who_may_use || !self.writable(&who, &ns)) {
            Some(ErrorKind::Forbidden)
        } else if status.is_none_or(|s| s == Status::Deleted) {
            Some(ErrorKind::NotFound)
        } else {
            None
        };
        self.note(format!(
            "update namespace {ns:?} (status {status:?}, operator {}) with team {:?}, {:?}, {:?}, description {}, expect refusal {expected:?}",
            who.operator,
            patch.team,
            patch.default_access,
            patch.sensitivity,
            patch.description.is_some()
        ));
        let res = self.engine.update_namespace(&who.caller, &ns, &patch).await;
        if let Some(kind) = expected {
            if kind == ErrorKind::Forbidden {
                self.stats.refused += 1;
            }
            return refused("update namespace", &res, kind);
        }
        succeeded("update namespace", res)?;
        let meta = self.meta[who.tenant].get_mut(&ns).expect("stored namespaces have a record");
        if let Some(access) = patch.default_access {
            meta.access = access;
        }
        if let Some(sensitivity) = patch.sensitivity {
            meta.sensitivity = sensitivity;
        }
        if let Some(team) = team {
            meta.team = team.flatten();
        }
        self.stats.updated += 1;
        Ok(())
    }

    // ---- the store against the shadow -------------------------------------------------------------

    /// Every live memory and every namespace of both tenants (with what decides who may use it
    /// and how it is read), as the store has them.
    async fn snapshot(&self) -> Result<Snapshot, String> {
        let mut snap = Snapshot::default();
        for t in 0..2 {
            let tenant = tenant_id(t);
            let mut page = PageRequest::first(1000);
            loop {
                let p = succeeded(
                    "store list",
                    self.engine.store().list_memories(&tenant, &MemoryFilter::all(), &page).await,
                )?;
                snap.memories.extend(p.items.into_iter().map(|m| ((t, m.id), m)));
                match p.next_cursor {
                    Some(c) => page = PageRequest::after(c, 1000),
                    None => break,
                }
            }
            let mut deleted = NamespaceFilter::default();
            deleted.status = Some(NamespaceStatus::Deleted);
            for filter in [NamespaceFilter::default(), deleted] {
                let list = succeeded("store namespaces", self.engine.store().list_namespaces(&tenant, &filter).await)?;
                snap.namespaces.extend(list.into_iter().map(|n| ((t, n.key.to_string()), Row::of(n))));
            }
        }
        Ok(snap)
    }

    /// The store holds exactly the shadow: the same live memories in the same namespaces and
    /// tenants, superseded as modelled, and the same namespaces with the same statuses,
    /// creators, owning teams, default access and sensitivity (and kind `explicit` where no
    /// configuration names them).
    fn cross_check(&self, snap: &Snapshot) -> Result<(), String> {
        let live: BTreeMap<(usize, MemoryId), &Known> =
            self.mems.iter().filter(|(_, k)| !k.forgotten).map(|(key, k)| (*key, k)).collect();
        for ((t, id), m) in &snap.memories {
            let Some(k) = live.get(&(*t, *id)) else {
                return Err(format!(
                    "the store holds memory {id} in {:?} ({:?}) that no successful write put there",
                    m.namespace.as_str(),
                    m.content
                ));
            };
            ensure!(
                tenant_id(k.tenant) == m.tenant,
                "memory {id} is in tenant {:?}, written by tenant {}",
                m.tenant.as_str(),
                k.tenant
            );
            ensure!(
                k.ns == m.namespace.as_str(),
                "memory {id} is in {:?}, written into {:?}",
                m.namespace.as_str(),
                k.ns
            );
            ensure!(k.content == m.content, "memory {id} holds {:?}, written as {:?}", m.content, k.content);
            ensure!(
                k.superseded == m.superseded_by.is_some(),
                "memory {id}: superseded_by {:?}, the model says superseded {}",
                m.superseded_by,
                k.superseded
            );
        }
        ensure!(
            snap.memories.len() == live.len(),
            "the store holds {} live memories, the model {}",
            snap.memories.len(),
            live.len()
        );
        let model: BTreeMap<(usize, String), Row> = (0..2)
            .flat_map(|t| {
                self.stored[t].iter().map(move |(ns, s)| {
                    let status = match s {
                        Status::Active => NamespaceStatus::Active,
                        Status::Archived => NamespaceStatus::Archived,
                        Status::Deleted => NamespaceStatus::Deleted,
                    };
                    let m = &self.meta[t][ns];
                    let kind = match snap.namespaces.get(&(t, ns.clone())) {
                        // The configuration's rules hold for these whatever their kind.
                        Some(row) if self.spec.configured(ns) => row.kind,
                        _ if m.explicit => NamespaceKind::Explicit,
                        _ if ns == "default" => NamespaceKind::Default,
                        _ => NamespaceKind::Shared,
                    };
                    let row = Row {
                        status,
                        kind,
                        creator: m.creator.map(|p| self.spec.principals[p].clone()),
                        team: m.team.map(|i| format!("t{i}")),
                        access: m.access,
                        sensitivity: m.sensitivity,
                    };
                    ((t, ns.clone()), row)
                })
            })
            .collect();
        let differ: Vec<_> = model
            .keys()
            .chain(snap.namespaces.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|k| model.get(k) != snap.namespaces.get(k))
            .map(|k| format!("{k:?}: store {:?}, model {:?}", snap.namespaces.get(k), model.get(k)))
            .collect();
        ensure!(differ.is_empty(), "the store's namespaces differ from the model's:\n  {}", differ.join("\n  "));
        Ok(())
    }
}

#[derive(Debug, Default, PartialEq)]
struct Snapshot {
    /// By tenant and id.
    memories: BTreeMap<(usize, MemoryId), Memory>,
    namespaces: BTreeMap<(usize, String), Row>,
}

/// A stored namespace, as far as the model follows it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    status: NamespaceStatus,
    kind: NamespaceKind,
    creator: Option<String>,
    team: Option<String>,
    access: DefaultAccess,
    sensitivity: Sensitivity,
}

impl Row {
    fn of(n: Namespace) -> Row {
        Row {
            status: n.status,
            kind: n.kind,
            creator: n.created_by.map(|p| p.as_str().to_owned()),
            team: n.team,
            access: n.default_access,
            sensitivity: n.sensitivity,
        }
    }
}

// ---- known findings, minimal reproductions (fail until fixed) ----------------------------------

/// Legacy auto-promotion copies a caller's write into `shared` even when the caller cannot read
/// `shared`, and `Written::promoted` then says whether `shared` already held that content
/// (`created: false`, with the id of the memory there): a write-and-look probe of a namespace
/// the caller may not read.
#[tokio::test]
async fn auto_promotion_does_not_reveal_what_an_unreadable_shared_namespace_holds() {
    let config = "[namespaces]\nauto_promote_to_shared = true\n\n[[namespaces.policies]]\nname = \"shared\"\nread = [\"boss\"]\nwrite = [\"boss\"]\n";
    let (e, _) = engine(config);
    let secret = "the merger closes on friday";
    e.remember_now(&who("boss"), MemoryInput::new(Layer::Semantic, secret).in_namespace("shared")).await.unwrap();
    let spy = who("spy");
    let mut request = RecallRequest::new(secret);
    request.namespaces = vec!["shared".into()];
    assert_eq!(e.recall(&spy, &request).await.unwrap_err().kind(), ErrorKind::Forbidden, "spy may not read shared");
    let w = e.remember_now(&spy, MemoryInput::new(Layer::Semantic, secret)).await.unwrap();
    assert!(
        w.promoted.iter().all(|p| p.created),
        "the write told spy that \"shared\" already holds its content: {:?}",
        w.promoted
    );
}

/// The audit log of a namespace is readable by operators and its writers (`audit_log`), but a
/// read-only caller gets the same records through `export` with `audit: true`.
#[tokio::test]
async fn export_gives_audit_records_only_to_callers_that_may_read_the_audit_log() {
    let config = "[[namespaces.policies]]\nname = \"ops\"\nread = [\"*\"]\nwrite = [\"owner\"]\n";
    let (e, _) = engine(config);
    e.remember_now(&who("owner"), MemoryInput::new(Layer::Semantic, "rotate the keys").in_namespace("ops"))
        .await
        .unwrap();
    let reader = who("reader");
    let denied = e.audit_log(&reader, Some("ops"), &PageRequest::first(100)).await.unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::Forbidden);
    let mut out = Vec::new();
    let request = ExportRequest { namespaces: vec!["ops".into()], audit: true };
    let exported = e.export(&reader, &request, &mut out, &mut |_| {}).await;
    let audit_lines = String::from_utf8(out).unwrap().lines().filter(|l| l.contains("\"type\":\"audit\"")).count();
    assert!(
        exported.is_err() || audit_lines == 0,
        "a caller refused the audit log of \"ops\" got {audit_lines} of its records by export"
    );
}

/// A caller of one tenant that imports a file holding another tenant's memory id gets it
/// imported like a fresh id: ids are scoped by tenant, so nothing about the other tenant shows
/// (SPEC 1). (Memory ids were once unique store-wide, and such an import was a `Conflict`
/// saying the id belonged to another tenant's memory.)
#[tokio::test]
async fn importing_an_id_the_caller_may_not_read_behaves_like_a_fresh_id() {
    let (e, _) = engine("");
    let alice = who("alice");
    let theirs = e.remember_now(&alice, MemoryInput::new(Layer::Semantic, "alice's note")).await.unwrap().id;
    let beta = TenantId::new("beta").unwrap();
    let mallory = Caller::new(beta.clone(), Identity::principal(Principal::new("mallory").unwrap()));
    let now = e.now();
    let default = NamespaceKey::new("default").unwrap();
    let lines = [
        ExportLine::Header {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            tenant: "beta".into(),
            exported_at: now,
        },
        ExportLine::Namespace { namespace: Namespace::new(beta, default.clone(), NamespaceKind::Default, now) },
        ExportLine::Memory { memory: NewMemory::new(default, Layer::Semantic, "probe", now).with_id(theirs) },
        ExportLine::End { namespaces: 1, memories: 1, audit: 0 },
    ];
    let file: String = lines.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect();
    let res = e.import(&mallory, &mut std::io::Cursor::new(file.as_bytes()), &Default::default(), &mut |_| {}).await;
    assert!(
        res.as_ref().is_ok_and(|r| r.memories == 1),
        "an id of another tenant must behave like a fresh one: {res:?}"
    );
    // Two memories under one id, one per tenant, each untouched by the other.
    let store = e.store();
    let mine = store.get_memory(&TenantId::new("beta").unwrap(), theirs).await.unwrap().map(|m| m.content);
    assert_eq!(mine.as_deref(), Some("probe"));
    let alices = store.get_memory(&alice.tenant, theirs).await.unwrap().map(|m| m.content);
    assert_eq!(alices.as_deref(), Some("alice's note"));
}

/// Not an isolation leak, found by the same property: auto-promotion plans with the namespace
/// catalog from before the write, so the first write into a namespace that comes into being on
/// that write (here an API key's default namespace that no policy names) is never promoted.
#[tokio::test]
async fn the_first_write_into_a_new_namespace_is_auto_promoted_too() {
    let (e, _) = engine("[namespaces]\nauto_promote_to_shared = true\n");
    let scope = |ns: &str| KeyScope { namespace: NamespaceKey::new(ns).unwrap(), permission: Permission::ReadWrite };
    let key = KeyGrant {
        key_id: None,
        principal: Principal::new("agent").unwrap(),
        scopes: vec![scope("mine"), scope("shared")],
        default_namespace: Some(NamespaceKey::new("mine").unwrap()),
        admin: false,
    };
    let caller = Caller::new(TenantId::default_tenant(), Identity { api_key: Some(key), ..Identity::default() });
    let first = e.remember_now(&caller, MemoryInput::new(Layer::Semantic, "the deploy runs on fridays")).await.unwrap();
    let second = e.remember_now(&caller, MemoryInput::new(Layer::Semantic, "the budget is fixed")).await.unwrap();
    assert_eq!(second.promoted.len(), 1, "the second write is promoted: {second:?}");
    assert_eq!(first.promoted.len(), 1, "so must the first be: {first:?}");
}

/// A `restricted` namespace is never part of a default read set or of `*` (docs/configuration.md,
/// "Sensitivity"), not even as the write target: a key whose default namespace is restricted
/// reads it only where a request names it, not in a recall that names nothing, in `*`, or in a
/// listing of everything (found by the property as [`WRITE_TARGET_SENSITIVITY`]).
#[tokio::test]
async fn a_restricted_write_target_stays_out_of_implicit_read_sets() {
    let (e, _) = engine("");
    let key = KeyGrant {
        key_id: None,
        principal: Principal::new("agent").unwrap(),
        scopes: Vec::new(),
        default_namespace: Some(NamespaceKey::new("vault").unwrap()),
        admin: false,
    };
    let agent = Caller::new(TenantId::default_tenant(), Identity { api_key: Some(key), ..Identity::default() });
    let mut patch = NamespacePatch::default();
    patch.default_access = Some(DefaultAccess::Private);
    patch.sensitivity = Some(Sensitivity::Restricted);
    e.create_namespace(&agent, "vault", &patch).await.unwrap();
    let w = e.remember_now(&agent, MemoryInput::new(Layer::Semantic, "the vault code is 1234")).await.unwrap();
    assert_eq!(w.namespace.as_str(), "vault", "the key's default namespace is the write target");
    for names in [Vec::new(), vec!["*".to_owned()]] {
        let mut request = RecallRequest::new("vault code");
        request.namespaces = names.clone();
        let read = e.recall(&agent, &request).await.unwrap().namespaces;
        assert!(
            !read.iter().any(|n| n.as_str() == "vault"),
            "a recall of {names:?} read restricted \"vault\": {read:?}"
        );
    }
    let listed = e.list(&agent, &ListRequest::default(), &PageRequest::first(10)).await.unwrap();
    assert!(
        listed.items.is_empty(),
        "a listing of everything holds {} memories of restricted \"vault\"",
        listed.items.len()
    );
}

/// Who may use a namespace (its default access, owning team and sensitivity) is a tenant
/// admin's to change (docs/configuration.md; `update_namespace` refuses everyone else), but an
/// import by anyone who may write the namespace gives an existing namespace the file's: here
/// its creator turns its private, restricted namespace into a public, normal one that every
/// principal of the tenant reads.
#[tokio::test]
async fn only_an_admin_changes_who_may_use_a_namespace_by_import_too() {
    let (e, _) = engine("");
    let tom = who("tom");
    let mut patch = NamespacePatch::default();
    patch.default_access = Some(DefaultAccess::Private);
    patch.sensitivity = Some(Sensitivity::Restricted);
    e.create_namespace(&tom, "mine", &patch).await.unwrap();
    e.remember_now(&tom, MemoryInput::new(Layer::Semantic, "tom's secret").in_namespace("mine")).await.unwrap();
    let mut public = NamespacePatch::default();
    public.default_access = Some(DefaultAccess::Public);
    let denied = e.update_namespace(&tom, "mine", &public).await.unwrap_err();
    assert_eq!(denied.kind(), ErrorKind::Forbidden, "only an admin changes who may use it");
    let (tenant, now) = (TenantId::default_tenant(), e.now());
    let key = NamespaceKey::new("mine").unwrap();
    let mut record = Namespace::new(tenant.clone(), key.clone(), NamespaceKind::Explicit, now);
    record.default_access = DefaultAccess::Public;
    let lines = [
        ExportLine::Header {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            tenant: "default".into(),
            exported_at: now,
        },
        ExportLine::Namespace { namespace: record },
        ExportLine::End { namespaces: 1, memories: 0, audit: 0 },
    ];
    let file: String = lines.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect();
    let imported = e.import(&tom, &mut std::io::Cursor::new(file.as_bytes()), &Default::default(), &mut |_| {}).await;
    let after = e.store().get_namespace(&tenant, &key).await.unwrap().unwrap();
    assert!(
        imported.is_err()
            || (after.default_access, after.sensitivity) == (DefaultAccess::Private, Sensitivity::Restricted),
        "tom's import made \"mine\" {} and {}",
        after.default_access,
        after.sensitivity
    );
    let mut request = RecallRequest::new("secret");
    request.namespaces = vec!["mine".into()];
    let other = e.recall(&who("other"), &request).await;
    assert_eq!(other.map(|r| r.memories.len()).unwrap_err().kind(), ErrorKind::Forbidden, "others may not read it");
}
