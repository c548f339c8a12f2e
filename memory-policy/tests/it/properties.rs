//! Property test of the resolver: random configurations, principals (some hostile), requests
//! and catalogs; every plan must keep the access invariants of SPEC 4, checked against an
//! independent model of the namespace-policy rule.
//!
//! Cases come from `MEMORY_POLICY_PROPTEST_CASES` (default 256). Inputs are built from a
//! byte string of choices, so proptest's shrinking (fewer, smaller bytes) shrinks toward the
//! simplest configuration and request.

use memory_core::{Category, Confidence, KeyScope, NamespaceKey, NamespaceStatus, Permission, Principal};
use memory_policy::{
    Caller, KeyGrant, NamespacePolicy, Operation, PlanRequest, Policy, PolicyConfig, PrincipalRef, PrincipalSource,
    ProfileAutoPromote, ProjectContext, ReadRequest, RecallEntry, ScopeLayer, ScopePlan, ScopeProfile, SessionKeyMode,
    SessionKeyRule, Team, project_hash,
};
use proptest::prelude::*;

use crate::support::TestCatalog;

const PRINCIPALS: &[&str] = &[
    "alice",
    "bob",
    "pi-geek",
    "pi-friend",
    "admin",
    "principal-0123456789abcdef",
    "x.p-12345678",
    "alice.p-d3b4ca9d",
    "team-pi-project-d3b4ca9d",
    "default",
    "shared",
    "Alice",
    "jane/doe",
    "ns-a",
    "café",
    "cafe\u{301}",
];

const NAMESPACES: &[&str] = &[
    "default",
    "shared",
    "ns-a",
    "ns-b",
    "alice",
    "bob",
    "pi-geek",
    "research",
    "team-pi-project-d3b4ca9d",
    "alice.p-d3b4ca9d",
    "x.p-12345678",
    "café",
];

const TEAM_IDS: &[&str] = &["pi", "core", "alice"];

const TEMPLATES: &[&str] = &[
    "team-{teamId}-project-{projectHash}",
    "team-{teamId}",
    "{projectNamespace}",
    "u-{principal}-{projectId}",
    "{teamId}-{projectHash}",
    "{teamId}.p-{projectHash}",
];

const PROJECTS: &[&str] = &["repo", "github.com/x/y", "repo/x", "research", "shared", "alice", "a\u{0}b"];

/// A cursor over proptest-chosen bytes; exhausted means 0, the simplest choice.
struct Choices<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Choices<'_> {
    fn pick(&mut self, n: usize) -> usize {
        let b = self.bytes.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        usize::from(b) % n
    }

    fn flag(&mut self) -> bool {
        self.pick(2) == 1
    }

    fn one<'s>(&mut self, from: &[&'s str]) -> &'s str {
        from[self.pick(from.len())]
    }

    fn subset<'s>(&mut self, from: &[&'s str]) -> Vec<&'s str> {
        from.iter().copied().filter(|_| self.flag()).collect()
    }
}

fn p(name: &str) -> Principal {
    Principal::new(name).expect("valid test principal")
}

fn ns(name: &str) -> NamespaceKey {
    NamespaceKey::new(name).expect("valid test namespace")
}

/// A configuration the loader would accept (unique names, known references, write default
/// inside the read order, auto-promote targets among the promotion targets).
fn config(c: &mut Choices<'_>) -> PolicyConfig {
    let mut cfg = PolicyConfig { enabled: c.pick(10) != 9, ..PolicyConfig::default() };
    let team_count = c.pick(TEAM_IDS.len() + 1);
    for id in &TEAM_IDS[..team_count] {
        let members = c.subset(PRINCIPALS);
        let mut rights = members.clone();
        rights.push("outsider");
        cfg.teams.push(Team {
            id: (*id).to_owned(),
            principals: members.iter().map(|m| p(m)).collect(),
            read: c.subset(&rights).into_iter().map(p).collect(),
            write: c.subset(&rights).into_iter().map(p).collect(),
            promote: c.subset(&rights).into_iter().map(p).collect(),
        });
    }
    let refs = |c: &mut Choices<'_>, teams: usize| -> Vec<PrincipalRef> {
        (0..c.pick(4))
            .map(|_| match c.pick(4) {
                0 => PrincipalRef::Any,
                1 if teams > 0 => PrincipalRef::Team(TEAM_IDS[c.pick(teams)].to_owned()),
                _ => PrincipalRef::Principal(p(c.one(PRINCIPALS))),
            })
            .collect()
    };
    for name in NAMESPACES {
        if c.flag() {
            let read = refs(c, team_count);
            let write = refs(c, team_count);
            cfg.policies.push(NamespacePolicy {
                namespace: ns(name),
                read,
                write,
                include_in_recall_by_default: c.flag(),
            });
        }
    }
    cfg.default_recall = match c.pick(5) {
        0 => vec![RecallEntry::SelfNamespace, RecallEntry::Shared],
        1 => vec![RecallEntry::Shared],
        2 => vec![RecallEntry::All],
        3 => vec![RecallEntry::SelfNamespace],
        _ => vec![RecallEntry::Namespace(ns(c.one(NAMESPACES))), RecallEntry::SelfNamespace, RecallEntry::Shared],
    };
    cfg.trust_principal_header = c.flag();
    if c.pick(4) == 3 {
        cfg.fallback_principal = Some(p(c.one(PRINCIPALS)));
    }
    for _ in 0..c.pick(3) {
        let rule = match c.pick(3) {
            0 => SessionKeyRule {
                mode: SessionKeyMode::Prefix,
                pattern: "s-".into(),
                principal: c.one(PRINCIPALS).into(),
            },
            1 => SessionKeyRule { mode: SessionKeyMode::Map, pattern: "k".into(), principal: c.one(PRINCIPALS).into() },
            _ => SessionKeyRule { mode: SessionKeyMode::Regex, pattern: r"^r-(\S+)$".into(), principal: "$1".into() },
        };
        cfg.session_key_rules.push(rule);
    }
    if c.pick(3) != 0 {
        let mut read_order: Vec<ScopeLayer> = ScopeLayer::ALL.into_iter().filter(|_| c.pick(4) != 0).collect();
        if read_order.is_empty() {
            read_order.push(ScopeLayer::UserGlobal);
        }
        if c.flag() {
            read_order.reverse();
        }
        let write_default = read_order[c.pick(read_order.len())];
        let promotion_targets: Vec<ScopeLayer> = ScopeLayer::ALL.into_iter().filter(|_| c.flag()).collect();
        let auto_promote = (c.flag() && !promotion_targets.is_empty()).then(|| ProfileAutoPromote {
            enabled: c.pick(4) != 0,
            targets: promotion_targets.iter().copied().filter(|_| c.flag()).collect(),
            categories: vec![Category::new("decision").unwrap(), Category::new("fact").unwrap()],
            min_confidence_tier: memory_core::ConfidenceTier::Implied,
        });
        cfg.scope_profiles.push(ScopeProfile {
            name: "profile".into(),
            read_order,
            write_default,
            promotion_targets,
            team_project_template: c.one(TEMPLATES).into(),
            auto_promote,
        });
        cfg.default_scope_profile = Some("profile".into());
    }
    cfg.auto_promote_to_shared.enabled = c.flag();
    cfg
}

fn request(c: &mut Choices<'_>) -> PlanRequest {
    let mut caller = Caller::default();
    if c.pick(4) == 1 {
        caller.header_principal = Some(if c.pick(8) == 0 { "bad\u{0}".into() } else { c.one(PRINCIPALS).into() });
    }
    if c.pick(3) == 1 {
        let mut scopes: Vec<KeyScope> = Vec::new();
        for name in NAMESPACES {
            if c.pick(3) == 1 {
                let permission = if c.flag() { Permission::ReadWrite } else { Permission::Read };
                scopes.push(KeyScope { namespace: ns(name), permission });
            }
        }
        let default_namespace = c.flag().then(|| ns(c.one(NAMESPACES)));
        caller.api_key =
            Some(KeyGrant { key_id: None, principal: p(c.one(PRINCIPALS)), scopes, default_namespace, admin: false });
    }
    if c.pick(3) == 1 {
        caller.server_principal = Some(p(c.one(PRINCIPALS)));
    }
    if c.pick(3) == 1 {
        let long = format!("r-{}", "a".repeat(600));
        caller.session_key = Some(c.one(&["s-1", "k", "r-bob", "r-pi-geek", "zzz", long.as_str()]).to_owned());
    }
    let project = match c.pick(3) {
        0 => None,
        1 => Some("repo"),
        _ => Some(c.one(PROJECTS)),
    }
    .map(|id| ProjectContext { project_id: id.to_owned(), branch: c.flag().then(|| "main".to_owned()) });
    let mut names: Vec<&str> = NAMESPACES.to_vec();
    names.extend(["*", "../x", "nope", "Research", "cafe\u{301}"]);
    let read = match c.pick(4) {
        0 => ReadRequest::Default,
        1 => ReadRequest::All,
        2 => ReadRequest::Explicit(c.subset(&names).into_iter().map(str::to_owned).collect()),
        _ => ReadRequest::Explicit(vec![c.one(&names).to_owned()]),
    };
    let write = (c.pick(3) == 1).then(|| c.one(&names).to_owned());
    PlanRequest { caller, project, read, write, include_sensitive: false }
}

fn catalog(c: &mut Choices<'_>) -> TestCatalog {
    let mut catalog = TestCatalog::default();
    let overlay = format!("alice.p-{}", project_hash("repo"));
    let team = format!("team-pi-project-{}", project_hash("repo"));
    let mut names: Vec<&str> = NAMESPACES.to_vec();
    names.extend([overlay.as_str(), team.as_str()]);
    for name in names {
        match c.pick(5) {
            0 => {}
            1 => catalog.set(name, NamespaceStatus::Archived),
            2 => catalog.set(name, NamespaceStatus::Deleted),
            _ => catalog.set(name, NamespaceStatus::Active),
        }
    }
    catalog
}

/// The rights the SPEC 4 rule gives, computed here without the resolver's code (but for the
/// self namespace, whose hashing rules are the resolver's to define).
fn model(policy: &Policy, plan: &ScopePlan, caller: &Caller, name: &NamespaceKey) -> (bool, bool) {
    let cfg = policy.config();
    if !cfg.enabled {
        let on = *name == cfg.default_namespace;
        return (on, on);
    }
    let Some(who) = &plan.principal else { return (false, false) };
    let member = |r: &PrincipalRef| match r {
        PrincipalRef::Any => true,
        PrincipalRef::Principal(x) => x == who,
        PrincipalRef::Team(id) => cfg.teams.iter().any(|t| &t.id == id && t.principals.contains(who)),
    };
    let base = if let Some(pol) = cfg.policies.iter().find(|pol| pol.namespace == *name) {
        (pol.read.iter().any(member), pol.write.iter().any(member))
    } else if *name == cfg.default_namespace {
        (true, true)
    } else if *name == cfg.shared_namespace {
        (true, false)
    } else if policy.active_profile().is_some() && is_own(policy, who, name) {
        (true, true)
    } else {
        (false, false)
    };
    let scopes = caller.api_key.as_ref().map(|k| &k.scopes).filter(|s| !s.is_empty());
    let Some(scopes) = scopes else { return base };
    let scope = match scopes.iter().find(|s| s.namespace == *name) {
        Some(s) => (true, s.permission == Permission::ReadWrite),
        None => (false, false),
    };
    match plan.principal_source {
        PrincipalSource::Header => (base.0 && scope.0, base.1 && scope.1),
        _ => scope,
    }
}

fn is_own(policy: &Policy, who: &Principal, name: &NamespaceKey) -> bool {
    let own = policy.self_namespace(who);
    let hex8 = |s: &str| s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    match name.as_str().strip_prefix(own.as_str()) {
        Some("") => true,
        Some(rest) => match rest.strip_prefix(".p-") {
            Some(rest) => match rest.split_once(".b-") {
                None => hex8(rest),
                Some((project, branch)) => hex8(project) && hex8(branch),
            },
            None => false,
        },
        None => false,
    }
}

fn team_row(plan: &ScopePlan, name: &NamespaceKey, write: bool) -> bool {
    plan.layers
        .iter()
        .any(|l| l.layer == "teamProject" && l.namespace.as_ref() == Some(name) && l.readable && (!write || l.writable))
}

fn check_plan(policy: &Policy, request: &PlanRequest, catalog: &TestCatalog) -> Result<(), TestCaseError> {
    let plan = policy.plan(request, catalog);
    prop_assert_eq!(&plan, &policy.plan(request, catalog), "plans are deterministic");
    let caller = &request.caller;
    let enabled = policy.config().enabled;
    // (d) a refused request reads and writes nothing.
    if plan.error.is_some() {
        prop_assert!(plan.read.is_empty() && plan.write.is_none(), "error plan with access: {:#?}", plan);
        return Ok(());
    }
    let implicit = match &request.read {
        ReadRequest::Default | ReadRequest::All => true,
        ReadRequest::Explicit(list) => list.is_empty() || list.iter().any(|n| n.trim() == "*"),
    };
    if let Some(w) = &plan.write {
        // (a) the write target is in the read set of an implicit read, and always readable and writable.
        prop_assert!(!implicit || plan.read.contains(w), "write {:?} not read: {:#?}", w, plan);
        let (r, wr) = model(policy, &plan, caller, w);
        prop_assert!((r && wr) || team_row(&plan, w, true), "write {:?} not allowed: {:#?}", w, plan);
        if !team_row(&plan, w, true) {
            prop_assert!(
                policy
                    .can(caller, Operation::Write, w.as_str(), &memory_policy::ConfiguredCatalog::new(policy))
                    .allowed
            );
        }
        prop_assert!(
            !enabled || !matches!(catalog.statuses.get(w), Some(NamespaceStatus::Archived | NamespaceStatus::Deleted)),
            "writes archived {:?}: {:#?} {:#?} {:#?}",
            w,
            request,
            catalog,
            plan
        );
    }
    // (b) every namespace read is readable by the resolved principal.
    for r in &plan.read {
        let (readable, _) = model(policy, &plan, caller, r);
        prop_assert!(readable || team_row(&plan, r, false), "reads {:?} without right: {:#?}", r, plan);
        // With namespaces disabled the catalog is inert (seeds/002): `default` is always used.
        prop_assert!(
            !enabled || !matches!(catalog.statuses.get(r), Some(NamespaceStatus::Archived | NamespaceStatus::Deleted)),
            "reads archived {:?}: {:#?}",
            r,
            plan
        );
    }
    let mut dedup = plan.read.clone();
    dedup.sort();
    dedup.dedup();
    prop_assert_eq!(dedup.len(), plan.read.len(), "read has no repeats");
    // (c) a scoped key never reaches outside its scopes, with or without a trusted header.
    if let Some(key) = caller.api_key.as_ref().filter(|k| !k.scopes.is_empty())
        && policy.config().enabled
    {
        let scope = |n: &NamespaceKey| key.scopes.iter().find(|s| s.namespace == *n).map(|s| s.permission);
        for r in &plan.read {
            prop_assert!(scope(r).is_some(), "scoped key reads {:?}: {:#?}", r, plan);
        }
        if let Some(w) = &plan.write {
            prop_assert_eq!(scope(w), Some(Permission::ReadWrite), "scoped key writes {:?}", w);
        }
        for t in plan.promotion_targets.iter().filter(|t| t.authorized) {
            let n = t.namespace.as_ref().expect("authorized targets have a namespace");
            prop_assert_eq!(scope(n), Some(Permission::ReadWrite), "scoped key promotes into {:?}", n);
        }
    }
    // `can` agrees with the model on every namespace this test knows.
    let mut names: Vec<NamespaceKey> = NAMESPACES.iter().map(|n| ns(n)).collect();
    names.extend(plan.read.iter().cloned());
    names.extend(plan.layers.iter().filter_map(|l| l.namespace.clone()));
    for n in &names {
        let (r, w) = model(policy, &plan, caller, n);
        let can_read =
            policy.can(caller, Operation::Read, n.as_str(), &memory_policy::ConfiguredCatalog::new(policy)).allowed;
        let can_write =
            policy.can(caller, Operation::Write, n.as_str(), &memory_policy::ConfiguredCatalog::new(policy)).allowed;
        prop_assert_eq!((can_read, can_write), (r, r && w), "can disagrees with the model on {:?}: {:#?}", n, plan);
    }
    // Authorized promotion targets are readable and never archived.
    for t in plan.promotion_targets.iter().filter(|t| t.authorized) {
        let n = t.namespace.as_ref().expect("authorized targets have a namespace");
        prop_assert!(
            model(policy, &plan, caller, n).0 || team_row(&plan, n, false),
            "promotes into unreadable {:?}",
            n
        );
    }
    // Team-project rows never land on a principal's own namespace or overlay.
    if policy.active_profile().is_some() {
        for l in plan.layers.iter().filter(|l| l.layer == "teamProject" && l.readable) {
            let n = l.namespace.as_ref().expect("readable rows have a namespace");
            for who in PRINCIPALS {
                prop_assert!(
                    !is_own(policy, &p(who), n) || policy.config().policies.iter().any(|pol| pol.namespace == *n),
                    "team namespace {:?} is {:?}'s own: {:#?}",
                    n,
                    who,
                    plan
                );
            }
        }
    }
    // Auto-promotion never targets the source and stays among the plan's authorized targets.
    for from in [plan.write.clone(), Some(policy.config().shared_namespace.clone())].into_iter().flatten() {
        let auto =
            policy.auto_promotion(request, catalog, &from, &Category::new("decision").unwrap(), Confidence::certain());
        prop_assert!(!auto.targets.contains(&from), "auto-promotes {:?} into itself", from);
        if policy.active_profile().is_some_and(|pr| pr.auto_promote.is_some()) {
            for t in &auto.targets {
                prop_assert!(
                    plan.promotion_targets.iter().any(|pt| pt.authorized && pt.namespace.as_ref() == Some(t)),
                    "auto-promotes into unauthorized {:?}",
                    t
                );
            }
        }
    }
    Ok(())
}

fn cases() -> u32 {
    std::env::var("MEMORY_POLICY_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

proptest! {
    // Failures print their minimal input; no regression files are written into the tree.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_the_access_invariants(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut c = Choices { bytes: &bytes, at: 0 };
        let policy = Policy::new(config(&mut c));
        let catalog = catalog(&mut c);
        for _ in 0..4 {
            let request = request(&mut c);
            check_plan(&policy, &request, &catalog)?;
        }
    }
}

#[test]
fn the_model_knows_the_own_overlay_shape() {
    // Guards the model itself: a hashed principal's overlays are its own, others' are not.
    let policy = Policy::new(PolicyConfig {
        scope_profiles: vec![ScopeProfile {
            name: "p".into(),
            read_order: vec![ScopeLayer::UserProject],
            write_default: ScopeLayer::UserProject,
            promotion_targets: Vec::new(),
            team_project_template: memory_policy::DEFAULT_TEAM_PROJECT_TEMPLATE.into(),
            auto_promote: None,
        }],
        default_scope_profile: Some("p".into()),
        ..PolicyConfig::default()
    });
    let own = policy.self_namespace(&p("jane/doe"));
    assert!(own.as_str().starts_with("principal-"));
    assert!(is_own(&policy, &p("jane/doe"), &ns(&format!("{own}.p-{}", project_hash("x")))));
    assert!(!is_own(&policy, &p("alice"), &ns(&format!("{own}.p-{}", project_hash("x")))));
}
