//! The table-test vocabulary: configurations as TOML text, requests as one line of data, a
//! catalog with statuses, and compact, deterministic renderings of plans and verdicts.
//!
//! A request line is whitespace-separated `key=value` tokens:
//! `as=P` (server principal), `header=P`, `session=K`, `key=P` (API key acting as P),
//! `scopes=ns:r,ns:rw`, `key-default=NS`, `read=*` or `read=a,b` (`read=` is an empty list),
//! `write=NS`, `project=ID`, `branch=B`; and for the catalog: `exists=a,b`, `archived=a,b`,
//! `deleted=a,b`, `bare` (start from an empty store instead of the configured namespaces).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use expect_test::Expect;
use memory_core::{
    Category, Confidence, KeyScope, NamespaceKey, NamespaceKind, NamespaceStatus, Permission, Principal,
};
use memory_policy::load::{self, Dialect};
use memory_policy::{
    Caller, KeyGrant, NamespaceCatalog, Operation, PlanRequest, Policy, PrincipalSource, ProjectContext, ReadRequest,
    ScopePlan,
};

/// Compiles TOML configuration text; panics with the diagnostics when it does not load.
pub fn policy(toml: &str) -> Policy {
    compile(toml, Dialect::Toml).0
}

/// Compiles JSON (seeds/002 dialect) configuration text.
pub fn policy_json(json: &str) -> Policy {
    compile(json, Dialect::Json).0
}

pub fn compile(text: &str, dialect: Dialect) -> (Policy, Vec<String>) {
    match load::parse(text, dialect) {
        Ok(loaded) => {
            let warnings = loaded.warnings.iter().map(ToString::to_string).collect();
            (Policy::new(loaded.config), warnings)
        }
        Err(diags) => {
            let shown: Vec<String> = diags.iter().map(ToString::to_string).collect();
            panic!("test configuration does not load:\n{}", shown.join("\n"))
        }
    }
}

/// Existing namespaces and their statuses, as a store would report them.
#[derive(Debug, Clone, Default)]
pub struct TestCatalog {
    pub statuses: BTreeMap<NamespaceKey, NamespaceStatus>,
    /// Stored records' facts (creator, team, default access, sensitivity); a namespace
    /// without is one only the configuration knows.
    pub facts: BTreeMap<NamespaceKey, memory_policy::NamespaceFacts>,
}

impl TestCatalog {
    /// The configured namespaces (default, shared, every policy namespace), all active.
    pub fn configured(policy: &Policy) -> Self {
        TestCatalog {
            statuses: policy.configured_namespaces().map(|k| (k.clone(), NamespaceStatus::Active)).collect(),
            facts: BTreeMap::new(),
        }
    }

    /// Adds an active namespace created over the API with these facts.
    pub fn created(&mut self, ns: &str, facts: memory_policy::NamespaceFacts) {
        self.statuses.insert(key(ns), NamespaceStatus::Active);
        self.facts.insert(key(ns), facts);
    }

    pub fn set(&mut self, ns: &str, status: NamespaceStatus) {
        self.statuses.insert(key(ns), status);
    }
}

impl NamespaceCatalog for TestCatalog {
    fn status(&self, key: &NamespaceKey) -> Option<NamespaceStatus> {
        self.statuses.get(key).copied()
    }

    /// Test catalogs know no kinds: names that the default template renders (`team-...`) are
    /// team-project namespaces, the rest explicit ones.
    fn facts(&self, key: &NamespaceKey) -> Option<&memory_policy::NamespaceFacts> {
        self.facts.get(key)
    }

    fn kind(&self, key: &NamespaceKey) -> Option<NamespaceKind> {
        if let Some(f) = self.facts.get(key) {
            return Some(f.kind);
        }
        self.statuses.get(key).map(|_| {
            if key.as_str().starts_with("team-") { NamespaceKind::TeamProject } else { NamespaceKind::Explicit }
        })
    }

    fn active_keys(&self) -> Vec<NamespaceKey> {
        self.statuses.iter().filter(|(_, s)| **s == NamespaceStatus::Active).map(|(k, _)| k.clone()).collect()
    }
}

pub fn key(ns: &str) -> NamespaceKey {
    NamespaceKey::new(ns).unwrap_or_else(|e| panic!("test namespace {ns:?}: {e}"))
}

pub fn principal(p: &str) -> Principal {
    Principal::new(p).unwrap_or_else(|e| panic!("test principal {p:?}: {e}"))
}

fn list(value: &str) -> Vec<String> {
    if value.is_empty() { Vec::new() } else { value.split(',').map(str::to_owned).collect() }
}

/// Parses a request line (see the module documentation) against `policy`'s configured catalog.
pub fn request(policy: &Policy, line: &str) -> (PlanRequest, TestCatalog) {
    let mut req = PlanRequest::default();
    let mut catalog = TestCatalog::configured(policy);
    let mut key_principal = None;
    let mut scopes = Vec::new();
    let mut key_default = None;
    let mut project: Option<ProjectContext> = None;
    let mut branch = None;
    let mut tweaks: Vec<(String, NamespaceStatus)> = Vec::new();
    for token in line.split_whitespace() {
        if token == "bare" {
            catalog.statuses.clear();
            continue;
        }
        let (name, value) = token.split_once('=').unwrap_or_else(|| panic!("request token {token:?} is not key=value"));
        match name {
            "as" => req.caller.server_principal = Some(principal(value)),
            "header" => req.caller.header_principal = Some(value.to_owned()),
            "session" => req.caller.session_key = Some(value.to_owned()),
            "account" => req.caller.account = Some(principal(value)),
            "key" => key_principal = Some(principal(value)),
            "scopes" => {
                for scope in list(value) {
                    let (ns, perm) = scope.split_once(':').unwrap_or_else(|| panic!("scope {scope:?} is not ns:perm"));
                    let permission = match perm {
                        "r" => Permission::Read,
                        "rw" => Permission::ReadWrite,
                        other => panic!("scope permission {other:?} is not r or rw"),
                    };
                    scopes.push(KeyScope { namespace: key(ns), permission });
                }
            }
            "key-default" => key_default = Some(key(value)),
            "read" if value == "*" => req.read = ReadRequest::All,
            "read" => req.read = ReadRequest::Explicit(list(value)),
            "write" => req.write = Some(value.to_owned()),
            "project" => project = Some(ProjectContext { project_id: value.to_owned(), branch: None }),
            "branch" => branch = Some(value.to_owned()),
            "exists" => tweaks.extend(list(value).into_iter().map(|n| (n, NamespaceStatus::Active))),
            "archived" => tweaks.extend(list(value).into_iter().map(|n| (n, NamespaceStatus::Archived))),
            "deleted" => tweaks.extend(list(value).into_iter().map(|n| (n, NamespaceStatus::Deleted))),
            other => panic!("unknown request token {other:?}"),
        }
    }
    for (ns, status) in tweaks {
        catalog.set(&ns, status);
    }
    if let Some(p) = key_principal {
        req.caller.api_key =
            Some(KeyGrant { key_id: None, principal: p, scopes, default_namespace: key_default, admin: false });
    } else {
        assert!(scopes.is_empty() && key_default.is_none(), "scopes and key-default need key=P");
    }
    if let Some(mut project) = project {
        project.branch = branch;
        req.project = Some(project);
    } else {
        assert!(branch.is_none(), "branch needs project");
    }
    (req, catalog)
}

pub fn source(source: PrincipalSource) -> String {
    match source {
        PrincipalSource::Header => "header".into(),
        PrincipalSource::ApiKey => "api key".into(),
        PrincipalSource::Server => "server".into(),
        PrincipalSource::SessionKey { rule } => format!("session-key rule {rule}"),
        PrincipalSource::Fallback => "fallback".into(),
        PrincipalSource::Account => "account".into(),
        PrincipalSource::Unauthenticated => "unauthenticated".into(),
    }
}

fn names(keys: &[NamespaceKey]) -> String {
    keys.iter().map(NamespaceKey::as_str).collect::<Vec<_>>().join(", ")
}

/// One plan as compact text: principal and source, read list, write target, one row per
/// layer (`layer namespace rwp`, with the reason only when the layer is unavailable),
/// promotion targets, warnings and the error.
pub fn render_plan(plan: &ScopePlan) -> String {
    let mut out = String::new();
    let who = plan.principal.as_ref().map_or("-", |p| p.as_str());
    writeln!(out, "principal: {who} ({})", source(plan.principal_source)).unwrap();
    writeln!(out, "read: [{}]", names(&plan.read)).unwrap();
    match (&plan.write, &plan.write_refusal) {
        (Some(w), _) => writeln!(out, "write: {}", w.as_str()).unwrap(),
        (None, Some(refusal)) => writeln!(out, "write: - (refused: {:?})", refusal.code).unwrap(),
        (None, None) => writeln!(out, "write: -").unwrap(),
    }
    if !plan.layers.is_empty() {
        let width = plan.layers.iter().map(|l| l.layer.len()).max().unwrap_or(0);
        let ns_width =
            plan.layers.iter().map(|l| l.namespace.as_ref().map_or(1, |n| n.as_str().len())).max().unwrap_or(0);
        writeln!(out, "layers:").unwrap();
        for l in &plan.layers {
            let flags: String = [(l.readable, 'r'), (l.writable, 'w'), (l.promotable, 'p')]
                .iter()
                .map(|(on, c)| if *on { *c } else { '-' })
                .collect();
            match &l.namespace {
                Some(ns) => writeln!(out, "  {:<width$} {:<ns_width$} {flags}", l.layer, ns.as_str()).unwrap(),
                None => writeln!(out, "  {:<width$} {:<ns_width$} {flags} ({})", l.layer, "-", l.reason).unwrap(),
            }
        }
    }
    if !plan.promotion_targets.is_empty() {
        let targets: Vec<String> = plan
            .promotion_targets
            .iter()
            .map(|t| {
                let ns = t.namespace.as_ref().map_or("-", |n| n.as_str());
                if t.authorized { format!("{}={ns} yes", t.target) } else { format!("{}={ns} no", t.target) }
            })
            .collect();
        writeln!(out, "promote: {}", targets.join("; ")).unwrap();
    }
    for w in &plan.warnings {
        writeln!(out, "warning: {w}").unwrap();
    }
    if let Some(e) = &plan.error {
        let code = serde_json::to_value(e.code).unwrap();
        writeln!(out, "error: {} — {}", code.as_str().unwrap(), e.message).unwrap();
    }
    out
}

/// THE table-test helper: plans `request` (a request line) under the TOML configuration
/// `config` and compares the rendered plan (with any configuration warnings first).
pub fn check(config: &str, request_line: &str, expect: Expect) {
    let (policy, config_warnings) = compile(config, Dialect::Toml);
    let (req, catalog) = request(&policy, request_line);
    let plan = policy.plan(&req, &catalog);
    let mut out = String::new();
    for w in config_warnings {
        writeln!(out, "config {w}").unwrap();
    }
    out.push_str(&render_plan(&plan));
    expect.assert_eq(&out);
}

/// Sibling of [`check`] for [`Policy::can`]: `question` is `read NS`, `write NS` or
/// `promote NS`; renders `allow: reason` or `deny: reason`.
pub fn check_can(config: &str, request_line: &str, question: &str, expect: Expect) {
    let policy = policy(config);
    let (req, _) = request(&policy, request_line);
    expect.assert_eq(&can_line(&policy, &req.caller, question));
}

pub fn can_line(policy: &Policy, caller: &Caller, question: &str) -> String {
    let (op, ns) = question.split_once(' ').unwrap_or_else(|| panic!("question {question:?} is not `op NS`"));
    let op = match op {
        "read" => Operation::Read,
        "write" => Operation::Write,
        "promote" => Operation::Promote,
        other => panic!("unknown operation {other:?}"),
    };
    let v = policy.can(caller, op, ns, &memory_policy::ConfiguredCatalog::new(policy));
    format!("{}: {}", if v.allowed { "allow" } else { "deny" }, v.reason)
}

/// Sibling of [`check`] for [`Policy::auto_promotion`]: `memory` is `FROM CATEGORY CONFIDENCE`;
/// renders `[targets]: reason`.
pub fn check_auto(config: &str, request_line: &str, memory: &str, expect: Expect) {
    let policy = policy(config);
    let (req, catalog) = request(&policy, request_line);
    let parts: Vec<&str> = memory.split_whitespace().collect();
    let [from, category, confidence] = parts[..] else { panic!("memory {memory:?} is not `FROM CATEGORY CONFIDENCE`") };
    let category = Category::new(category).expect("test category");
    let confidence = Confidence::new(confidence.parse().expect("test confidence")).expect("test confidence");
    let auto = policy.auto_promotion(&req, &catalog, &key(from), &category, confidence);
    expect.assert_eq(&format!("[{}]: {}", names(&auto.targets), auto.reason));
}
