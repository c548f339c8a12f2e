//! Tests of the loader: the seeds/002 examples in both dialects and both forms, every error
//! kind with its exact path, the warnings, and hostile inputs (size, nesting, regexes, bytes).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use memory_core::{Category, ConfidenceTier, NamespaceKey, Principal};

use super::*;
use crate::config::MAX_REGEX_SESSION_KEY_CHARS;

// --- Helpers ---------------------------------------------------------------------------------

fn ok(text: &str, dialect: Dialect) -> Loaded {
    match parse(text, dialect) {
        Ok(loaded) => loaded,
        Err(diags) => panic!("expected {dialect:?} to load, got:\n{}", render(&diags)),
    }
}

fn toml_ok(text: &str) -> PolicyConfig {
    let loaded = ok(text, Dialect::Toml);
    assert!(loaded.warnings.is_empty(), "unexpected warnings:\n{}", render(&loaded.warnings));
    loaded.config
}

fn json_ok(text: &str) -> PolicyConfig {
    let loaded = ok(text, Dialect::Json);
    assert!(loaded.warnings.is_empty(), "unexpected warnings:\n{}", render(&loaded.warnings));
    loaded.config
}

fn errs(text: &str, dialect: Dialect) -> Vec<Diagnostic> {
    match parse(text, dialect) {
        Ok(loaded) => panic!("expected {dialect:?} to fail, it loaded: {:#?}", loaded.config),
        Err(diags) => {
            assert!(diags.iter().any(|d| d.severity == Severity::Error), "an Err without errors");
            diags
        }
    }
}

fn render(diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| format!("  {} [{}]", d, d.path)).collect::<Vec<_>>().join("\n")
}

/// Asserts one diagnostic of `severity` at exactly `path` whose message contains `needle`.
#[track_caller]
fn has(diags: &[Diagnostic], severity: Severity, path: &str, needle: &str) {
    assert!(
        diags.iter().any(|d| d.severity == severity && d.path == path && d.message.contains(needle)),
        "no {severity:?} at {path:?} containing {needle:?} in:\n{}",
        render(diags)
    );
}

#[track_caller]
fn has_error(diags: &[Diagnostic], path: &str, needle: &str) {
    has(diags, Severity::Error, path, needle);
}

/// The only error of a TOML text (the text holds exactly one mistake).
#[track_caller]
fn toml_error(text: &str, path: &str, needle: &str) {
    let diags = errs(text, Dialect::Toml);
    has_error(&diags, path, needle);
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    assert_eq!(errors, 1, "expected exactly one error:\n{}", render(&diags));
}

#[track_caller]
fn json_error(text: &str, path: &str, needle: &str) {
    let diags = errs(text, Dialect::Json);
    has_error(&diags, path, needle);
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    assert_eq!(errors, 1, "expected exactly one error:\n{}", render(&diags));
}

fn ns(key: &str) -> NamespaceKey {
    NamespaceKey::new(key).unwrap()
}

fn p(id: &str) -> Principal {
    Principal::new(id).unwrap()
}

fn pr(id: &str) -> PrincipalRef {
    match id {
        "*" => PrincipalRef::Any,
        _ => match id.strip_prefix("team:") {
            Some(team) => PrincipalRef::Team(team.to_owned()),
            None => PrincipalRef::Principal(p(id)),
        },
    }
}

fn prs(ids: &[&str]) -> Vec<PrincipalRef> {
    ids.iter().map(|id| pr(id)).collect()
}

fn cats(names: &[&str]) -> Vec<Category> {
    names.iter().map(|c| Category::new(c).unwrap()).collect()
}

fn policy(name: &str, read: &[&str], write: &[&str], include: bool) -> NamespacePolicy {
    NamespacePolicy { namespace: ns(name), read: prs(read), write: prs(write), include_in_recall_by_default: include }
}

fn rule(mode: SessionKeyMode, pattern: &str, principal: &str) -> SessionKeyRule {
    SessionKeyRule { mode, pattern: pattern.to_owned(), principal: principal.to_owned() }
}

/// A file under the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, bytes: &[u8]) -> TempFile {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "memory-policy-load-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs `f`, asserting it finishes within `limit`, and prints the time (`--nocapture`).
#[track_caller]
fn timed<T>(what: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    eprintln!("{what}: {took:?}");
    assert!(took < limit, "{what} took {took:?}, more than {limit:?}");
    out
}

// --- The seeds/002 examples ------------------------------------------------------------------

const TEAM_CODING_JSON: &str = include_str!("../../../examples/policy/team-coding.json");

const TEAM_CODING_TOML: &str = r#"
[namespaces]
enabled = true
default_scope_profile = "teamCoding"

[namespaces.scope_profiles.teamCoding]
read_order = ["userProject", "teamProject", "userGlobal", "serverShared"]
write_default = "userProject"
promotion_targets = ["teamProject", "serverShared"]
team_project = { namespace_template = "team-{teamId}-project-{projectHash}" }

[namespaces.scope_profiles.teamCoding.auto_promote]
enabled = false
targets = ["teamProject"]
categories = ["decision", "rule", "procedure", "correction"]
min_confidence_tier = "explicit"

[namespaces.teams.pi]
principals = ["pi-geek", "pi-friend"]
read = ["pi-geek", "pi-friend"]
write = ["pi-geek", "pi-friend"]
promote = ["pi-geek", "pi-friend"]
"#;

/// The same in array form, in both dialects.
const TEAM_CODING_TOML_ARRAYS: &str = r#"
[namespaces]
default_scope_profile = "teamCoding"

[[namespaces.teams]]
id = "pi"
principals = ["pi-geek", "pi-friend"]
read = ["pi-geek", "pi-friend"]
write = ["pi-geek", "pi-friend"]
promote = ["pi-geek", "pi-friend"]

[[namespaces.scope_profiles]]
name = "teamCoding"
read_order = ["userProject", "teamProject", "userGlobal", "serverShared"]
write_default = "userProject"
promotion_targets = ["teamProject", "serverShared"]
auto_promote = { targets = ["teamProject"], categories = ["decision", "rule", "procedure", "correction"] }
"#;

const TEAM_CODING_JSON_ARRAYS: &str = r#"{
"defaultScopeProfile": "teamCoding",
"teams": [{"id": "pi", "principals": ["pi-geek", "pi-friend"], "read": ["pi-geek", "pi-friend"],
           "write": ["pi-geek", "pi-friend"], "promote": ["pi-geek", "pi-friend"]}],
"scopeProfiles": [{"name": "teamCoding",
  "readOrder": ["userProject", "teamProject", "userGlobal", "serverShared"],
  "writeDefault": "userProject", "promotionTargets": ["teamProject", "serverShared"],
  "autoPromote": {"targets": ["teamProject"], "categories": ["decision", "rule", "procedure", "correction"]}}]
}"#;

fn expected_team_coding() -> PolicyConfig {
    let pi = [p("pi-geek"), p("pi-friend")];
    PolicyConfig {
        enabled: true,
        teams: vec![Team {
            id: "pi".to_owned(),
            principals: pi.to_vec(),
            read: pi.to_vec(),
            write: pi.to_vec(),
            promote: pi.to_vec(),
        }],
        scope_profiles: vec![ScopeProfile {
            name: "teamCoding".to_owned(),
            read_order: vec![
                ScopeLayer::UserProject,
                ScopeLayer::TeamProject,
                ScopeLayer::UserGlobal,
                ScopeLayer::ServerShared,
            ],
            write_default: ScopeLayer::UserProject,
            promotion_targets: vec![ScopeLayer::TeamProject, ScopeLayer::ServerShared],
            team_project_template: "team-{teamId}-project-{projectHash}".to_owned(),
            auto_promote: Some(ProfileAutoPromote {
                enabled: false,
                targets: vec![ScopeLayer::TeamProject],
                categories: cats(&["decision", "rule", "procedure", "correction"]),
                min_confidence_tier: ConfidenceTier::Explicit,
            }),
        }],
        default_scope_profile: Some("teamCoding".to_owned()),
        ..PolicyConfig::default()
    }
}

#[test]
fn the_team_coding_example_loads_the_same_in_both_dialects_and_forms() {
    let json = json_ok(TEAM_CODING_JSON);
    assert_eq!(json, expected_team_coding());
    assert_eq!(toml_ok(TEAM_CODING_TOML), json);
    assert_eq!(toml_ok(TEAM_CODING_TOML_ARRAYS), json);
    assert_eq!(json_ok(TEAM_CODING_JSON_ARRAYS), json);
}

const MULTI_TENANT_JSON: &str = include_str!("../../../examples/policy/multi-tenant.json");

const MULTI_TENANT_TOML: &str = r#"
[namespaces]
enabled = true
shared_namespace = "shared"
default_recall = ["shared"]
principal_from_session_key_mode = "prefix"

[namespaces.policies]
default = { read = ["*"], write = ["default-principal"] }
project-alpha = { read = ["alpha-agent", "admin"], write = ["alpha-agent"] }
project-beta = { read = ["beta-agent", "admin"], write = ["beta-agent"] }
shared = { read = ["*"], write = ["admin"] }

[namespaces.session_key_rules]
"project-alpha:" = "alpha-agent"
"project-beta:" = "beta-agent"
"#;

const MULTI_TENANT_TOML_ARRAYS: &str = r#"
[namespaces]
default_recall = ["shared"]
session_key_rules = [
  { match = "project-alpha:", principal = "alpha-agent" },
  { match = "project-beta:", principal = "beta-agent", mode = "prefix" },
]

[[namespaces.policies]]
name = "default"
read = ["*"]
write = ["default-principal"]

[[namespaces.policies]]
name = "project-alpha"
read = ["alpha-agent", "admin"]
write = ["alpha-agent"]
include_in_recall_by_default = false

[[namespaces.policies]]
namespace = "project-beta"
read = ["beta-agent", "admin"]
write = ["beta-agent"]

[[namespaces.policies]]
name = "shared"
read = ["*"]
write = ["admin"]
"#;

const MULTI_TENANT_JSON_ARRAYS: &str = r#"{
"defaultRecallNamespaces": ["shared"],
"namespacePolicies": [
  {"name": "default", "readPrincipals": ["*"], "writePrincipals": ["default-principal"]},
  {"name": "project-alpha", "readPrincipals": ["alpha-agent", "admin"], "write": ["alpha-agent"]},
  {"name": "project-beta", "read": ["beta-agent", "admin"], "writePrincipals": ["beta-agent"],
   "includeInRecallByDefault": false},
  {"name": "shared", "read": ["*"], "write": ["admin"]}
],
"principalFromSessionKeyRules": [
  {"match": "project-alpha:", "principal": "alpha-agent"},
  {"match": "project-beta:", "principal": "beta-agent", "mode": "prefix"}
]
}"#;

fn expected_multi_tenant() -> PolicyConfig {
    PolicyConfig {
        enabled: true,
        default_recall: vec![RecallEntry::Shared],
        policies: vec![
            policy("default", &["*"], &["default-principal"], false),
            policy("project-alpha", &["alpha-agent", "admin"], &["alpha-agent"], false),
            policy("project-beta", &["beta-agent", "admin"], &["beta-agent"], false),
            policy("shared", &["*"], &["admin"], false),
        ],
        session_key_rules: vec![
            rule(SessionKeyMode::Prefix, "project-alpha:", "alpha-agent"),
            rule(SessionKeyMode::Prefix, "project-beta:", "beta-agent"),
        ],
        ..PolicyConfig::default()
    }
}

#[test]
fn the_multi_tenant_example_loads_the_same_in_both_dialects_and_forms() {
    let json = json_ok(MULTI_TENANT_JSON);
    assert_eq!(json, expected_multi_tenant());
    assert_eq!(toml_ok(MULTI_TENANT_TOML), json);
    assert_eq!(toml_ok(MULTI_TENANT_TOML_ARRAYS), json);
    assert_eq!(json_ok(MULTI_TENANT_JSON_ARRAYS), json);
}

const MAINTENANCE_JSON: &str = r#"{
"maintenanceNamespaceFanoutEnabled": true,
"maintenanceMaxNamespacesPerCycle": 20,
"maintenanceIncludeProjectNamespaces": true,
"maintenanceIncludeBranchNamespaces": false,
"maintenanceIncludeTeamProjectNamespaces": true,
"maintenanceNamespaceLockStaleMs": 600000
}"#;

#[test]
fn the_maintenance_example_loads_and_matches_the_nested_toml_form() {
    let json = json_ok(MAINTENANCE_JSON);
    assert_eq!(json, PolicyConfig::default(), "the example spells out the defaults");
    let changed = json_ok(
        r#"{"maintenanceNamespaceFanoutEnabled": false, "maintenanceMaxNamespacesPerCycle": 5,
            "maintenanceIncludeProjectNamespaces": false, "maintenanceIncludeBranchNamespaces": true,
            "maintenanceIncludeTeamProjectNamespaces": false, "maintenanceNamespaceLockStaleMs": 1000}"#,
    );
    assert_eq!(
        changed.maintenance,
        MaintenanceSettings {
            fanout_enabled: false,
            max_namespaces_per_cycle: 5,
            include_project_namespaces: false,
            include_branch_namespaces: true,
            include_team_project_namespaces: false,
            lock_stale_ms: 1000,
        }
    );
    let toml = toml_ok(
        "[namespaces.maintenance]\nfanout_enabled = false\nmax_namespaces_per_cycle = 5\n\
         include_project_namespaces = false\ninclude_branch_namespaces = true\n\
         include_team_project_namespaces = false\nlock_stale_ms = 1000\n",
    );
    assert_eq!(toml, changed);
}

// --- Engine settings ([recall], [embedder]) ----------------------------------------------------

/// Loads a TOML and a JSON text that must mean the same, and returns their (equal) engine settings.
#[track_caller]
fn engine_both(toml: &str, json: &str) -> EngineSettings {
    let (toml, json) = (toml_ok(toml), json_ok(json));
    assert_eq!(toml, json, "the dialects disagree");
    toml.engine
}

/// One setting out of range (or of the wrong type) in both dialects: one error at each path.
#[track_caller]
fn engine_error(toml: &str, json: &str, (toml_path, json_path): (&str, &str), needle: &str) {
    toml_error(toml, toml_path, needle);
    json_error(json, json_path, needle);
}

#[test]
fn engine_settings_default_when_absent() {
    let defaults = EngineSettings {
        recall: RecallSettings {
            pinned_limit: 20,
            recency_half_life_days: 30.0,
            read_order_weight: 0.05,
            candidates: 50,
        },
        embedder: None,
    };
    assert_eq!(EngineSettings::default(), defaults);
    assert_eq!(PolicyConfig::default().engine, defaults);
    assert_eq!(engine_both("", "{}"), defaults);
    assert_eq!(engine_both("[namespaces]\nenabled = true\n", r#"{"namespacesEnabled": true}"#), defaults);
    // Empty sections are valid and change nothing.
    assert_eq!(toml_ok("[recall]\n[embedder]\n"), PolicyConfig::default());
}

#[test]
fn a_file_with_only_engine_sections_is_valid() {
    let config = toml_ok("[recall]\npinned_limit = 5\n");
    assert_eq!(
        config,
        PolicyConfig {
            engine: EngineSettings {
                recall: RecallSettings { pinned_limit: 5, ..RecallSettings::default() },
                embedder: None,
            },
            ..PolicyConfig::default()
        }
    );
    assert_eq!(toml_ok("[embedder]\nname = \"hash\"\n").engine.embedder.as_deref(), Some("hash"));
}

#[test]
fn each_engine_setting_is_read_in_both_dialects() {
    let recall = |f: fn(&mut RecallSettings)| {
        let mut r = RecallSettings::default();
        f(&mut r);
        EngineSettings { recall: r, embedder: None }
    };
    let cases = [
        ("[recall]\npinned_limit = 3\n", r#"{"recallPinnedLimit": 3}"#, recall(|r| r.pinned_limit = 3)),
        ("[recall]\npinned_limit = 0\n", r#"{"recallPinnedLimit": 0}"#, recall(|r| r.pinned_limit = 0)),
        ("[recall]\npinned_limit = 1000\n", r#"{"recallPinnedLimit": 1000}"#, recall(|r| r.pinned_limit = 1000)),
        (
            "[recall]\nrecency_half_life_days = 7.5\n",
            r#"{"recencyHalfLifeDays": 7.5}"#,
            recall(|r| r.recency_half_life_days = 7.5),
        ),
        // An integer is a number too, in either dialect.
        (
            "[recall]\nrecency_half_life_days = 7\n",
            r#"{"recencyHalfLifeDays": 7.0}"#,
            recall(|r| r.recency_half_life_days = 7.0),
        ),
        (
            "[recall]\nrecency_half_life_days = 36500\n",
            r#"{"recencyHalfLifeDays": 36500}"#,
            recall(|r| r.recency_half_life_days = 36_500.0),
        ),
        (
            "[recall]\nrecency_half_life_days = 0.001\n",
            r#"{"recencyHalfLifeDays": 0.001}"#,
            recall(|r| r.recency_half_life_days = 0.001),
        ),
        (
            "[recall]\nread_order_weight = 0.25\n",
            r#"{"recallReadOrderWeight": 0.25}"#,
            recall(|r| r.read_order_weight = 0.25),
        ),
        (
            "[recall]\nread_order_weight = 0\n",
            r#"{"recallReadOrderWeight": 0.0}"#,
            recall(|r| r.read_order_weight = 0.0),
        ),
        (
            "[recall]\nread_order_weight = 1.0\n",
            r#"{"recallReadOrderWeight": 1}"#,
            recall(|r| r.read_order_weight = 1.0),
        ),
        ("[recall]\ncandidates = 200\n", r#"{"recallCandidates": 200}"#, recall(|r| r.candidates = 200)),
        ("[recall]\ncandidates = 1\n", r#"{"recallCandidates": 1}"#, recall(|r| r.candidates = 1)),
        ("[recall]\ncandidates = 1000\n", r#"{"recallCandidates": 1000}"#, recall(|r| r.candidates = 1000)),
        (
            "[embedder]\nname = \"minilm\"\n",
            r#"{"embedder": "minilm"}"#,
            EngineSettings { embedder: Some("minilm".to_owned()), ..EngineSettings::default() },
        ),
    ];
    for (toml, json, expected) in cases {
        assert_eq!(engine_both(toml, json), expected, "{toml}");
    }
    // -0.0 is accepted as 0 and stored as +0.0 in both dialects.
    let weight = engine_both("[recall]\nread_order_weight = -0.0\n", r#"{"recallReadOrderWeight": -0.0}"#)
        .recall
        .read_order_weight;
    assert!(weight == 0.0 && weight.is_sign_positive(), "{weight}");
}

/// A full file with policy and engine settings compiles to the same `PolicyConfig` in both
/// dialects; the engine settings sit beside the `[namespaces]` table in TOML and flat at the top
/// level in JSON.
#[test]
fn engine_settings_load_the_same_in_both_dialects() {
    let toml = toml_ok(
        r#"
[namespaces]
default_recall = ["shared"]
maintenance = { max_namespaces_per_cycle = 5 }

[namespaces.policies.research]
read = ["*"]
write = ["alice"]

[recall]
pinned_limit = 12
recency_half_life_days = 14
read_order_weight = 0.1
candidates = 80

[embedder]
name = "Static"
"#,
    );
    let json = json_ok(
        r#"{
"defaultRecallNamespaces": ["shared"], "maintenanceMaxNamespacesPerCycle": 5,
"namespacePolicies": {"research": {"readPrincipals": ["*"], "writePrincipals": ["alice"]}},
"recallPinnedLimit": 12, "recencyHalfLifeDays": 14.0, "recallReadOrderWeight": 0.1, "recallCandidates": 80,
"embedder": "static"
}"#,
    );
    assert_eq!(toml, json);
    assert_eq!(
        toml.engine,
        EngineSettings {
            recall: RecallSettings {
                pinned_limit: 12,
                recency_half_life_days: 14.0,
                read_order_weight: 0.1,
                candidates: 80
            },
            embedder: Some("static".to_owned()),
        }
    );
    assert_eq!(toml.policies, vec![policy("research", &["*"], &["alice"], false)]);
    assert_eq!(toml.maintenance.max_namespaces_per_cycle, 5);
    // The engine settings change nothing else.
    let without_engine = json_ok(
        r#"{"defaultRecallNamespaces": ["shared"], "maintenanceMaxNamespacesPerCycle": 5,
            "namespacePolicies": {"research": {"readPrincipals": ["*"], "writePrincipals": ["alice"]}}}"#,
    );
    assert_eq!(PolicyConfig { engine: EngineSettings::default(), ..toml }, without_engine);
}

#[test]
fn recall_values_out_of_range_are_errors_with_their_paths() {
    let pinned = ("recall.pinned_limit", "recallPinnedLimit");
    engine_error(
        "[recall]\npinned_limit = 1001\n",
        r#"{"recallPinnedLimit": 1001}"#,
        pinned,
        "1001 is too large; at most 1000",
    );
    engine_error(
        "[recall]\npinned_limit = -1\n",
        r#"{"recallPinnedLimit": -1}"#,
        pinned,
        "must not be negative (found -1)",
    );
    engine_error(
        "[recall]\npinned_limit = 2.5\n",
        r#"{"recallPinnedLimit": 2.5}"#,
        pinned,
        "expected a non-negative integer, found a float",
    );
    engine_error(
        "[recall]\npinned_limit = \"20\"\n",
        r#"{"recallPinnedLimit": "20"}"#,
        pinned,
        "expected a non-negative integer, found a string",
    );

    let days = ("recall.recency_half_life_days", "recencyHalfLifeDays");
    let days_range = "must be greater than 0 and at most 36500";
    engine_error("[recall]\nrecency_half_life_days = 0\n", r#"{"recencyHalfLifeDays": 0}"#, days, "(found 0)");
    engine_error("[recall]\nrecency_half_life_days = 0.0\n", r#"{"recencyHalfLifeDays": 0.0}"#, days, days_range);
    engine_error("[recall]\nrecency_half_life_days = -3\n", r#"{"recencyHalfLifeDays": -3}"#, days, days_range);
    engine_error(
        "[recall]\nrecency_half_life_days = 36500.5\n",
        r#"{"recencyHalfLifeDays": 36500.5}"#,
        days,
        "(found 36500.5)",
    );
    engine_error(
        "[recall]\nrecency_half_life_days = true\n",
        r#"{"recencyHalfLifeDays": true}"#,
        days,
        "expected a number, found a boolean",
    );
    // TOML can write NaN and infinities; none is in range.
    for value in ["nan", "inf", "-inf"] {
        toml_error(&format!("[recall]\nrecency_half_life_days = {value}\n"), days.0, days_range);
    }

    let weight = ("recall.read_order_weight", "recallReadOrderWeight");
    let weight_range = "must be between 0 and 1";
    engine_error("[recall]\nread_order_weight = 1.01\n", r#"{"recallReadOrderWeight": 1.01}"#, weight, "(found 1.01)");
    engine_error("[recall]\nread_order_weight = -0.05\n", r#"{"recallReadOrderWeight": -0.05}"#, weight, weight_range);
    engine_error("[recall]\nread_order_weight = 2\n", r#"{"recallReadOrderWeight": 2}"#, weight, "(found 2)");
    engine_error(
        "[recall]\nread_order_weight = \"0.1\"\n",
        r#"{"recallReadOrderWeight": "0.1"}"#,
        weight,
        "expected a number, found a string",
    );
    toml_error("[recall]\nread_order_weight = nan\n", weight.0, weight_range);

    let candidates = ("recall.candidates", "recallCandidates");
    engine_error("[recall]\ncandidates = 0\n", r#"{"recallCandidates": 0}"#, candidates, "0 is too small; at least 1");
    engine_error("[recall]\ncandidates = 1001\n", r#"{"recallCandidates": 1001}"#, candidates, "at most 1000");
    engine_error("[recall]\ncandidates = -5\n", r#"{"recallCandidates": -5}"#, candidates, "must not be negative");
    engine_error(
        "[recall]\ncandidates = 50.0\n",
        r#"{"recallCandidates": 50.0}"#,
        candidates,
        "expected a non-negative integer, found a float",
    );

    // Every bad value is reported, not only the first.
    let diags = errs(
        "[recall]\npinned_limit = 5000\nrecency_half_life_days = 0\nread_order_weight = 9\ncandidates = 0\n",
        Dialect::Toml,
    );
    assert_eq!(diags.len(), 4, "{}", render(&diags));
    for path in
        ["recall.pinned_limit", "recall.recency_half_life_days", "recall.read_order_weight", "recall.candidates"]
    {
        has_error(&diags, path, "");
    }
}

#[test]
fn unknown_keys_in_engine_sections_are_errors() {
    toml_error(
        "[recall]\npinned = 3\n",
        "recall.pinned",
        "unknown key \"pinned\"; allowed keys: pinned_limit, recency_half_life_days, read_order_weight, candidates",
    );
    toml_error("[embedder]\nmodel = \"x\"\n", "embedder.model", "unknown key \"model\"; allowed keys: name");
    // Engine keys belong in their own sections, not in [namespaces], and sections do not nest.
    toml_error("[namespaces]\npinned_limit = 3\n", "namespaces.pinned_limit", "unknown key \"pinned_limit\"");
    toml_error("[namespaces.recall]\ncandidates = 3\n", "namespaces.recall", "unknown key \"recall\"");
    toml_error("[recall.namespaces]\nenabled = true\n", "recall.namespaces", "unknown key \"namespaces\"");
    // A section must be a table.
    toml_error("recall = 3\n", "recall", "expected a table, found an integer");
    toml_error("embedder = \"hash\"\n", "embedder", "expected a table, found a string");
    // JSON: flat camelCase keys only.
    json_error(r#"{"recallPinned": 3}"#, "recallPinned", "unknown key \"recallPinned\"");
    json_error(r#"{"pinned_limit": 3}"#, "pinned_limit", "unknown key \"pinned_limit\"");
    json_error(r#"{"recall": {"pinnedLimit": 3}}"#, "recall", "unknown key \"recall\"");
    let diags = errs(r#"{"recallCandidate": 3}"#, Dialect::Json);
    has_error(
        &diags,
        "recallCandidate",
        "recallPinnedLimit, recencyHalfLifeDays, recallReadOrderWeight, recallCandidates, embedder",
    );
    // A repeated JSON key is still an error.
    json_error(r#"{"recallCandidates": 3, "recallCandidates": 4}"#, "recallCandidates", "appears more than once");
}

#[test]
fn the_unknown_section_message_lists_every_allowed_section() {
    let diags = errs("[serve]\nport = 1\n", Dialect::Toml);
    assert_eq!(
        diags,
        vec![Diagnostic {
            path: "serve".to_owned(),
            message: "unknown section \"serve\"; allowed sections: [namespaces], [recall], [embedder], [server]"
                .to_owned(),
            severity: Severity::Error,
        }]
    );
    // A misspelt section next to valid ones: only it is reported.
    let diags = errs("[namespaces]\n[recal]\npinned_limit = 2\n[embedder]\nname = \"hash\"\n", Dialect::Toml);
    assert_eq!(diags.len(), 1, "{}", render(&diags));
    has_error(
        &diags,
        "recal",
        "unknown section \"recal\"; allowed sections: [namespaces], [recall], [embedder], [server]",
    );
}

#[test]
fn embedder_names_are_checked_case_insensitively() {
    for name in EMBEDDER_NAMES {
        let upper = name.to_ascii_uppercase();
        let engine =
            engine_both(&format!("[embedder]\nname = \" {upper} \"\n"), &format!(r#"{{"embedder": "{upper}"}}"#));
        assert_eq!(engine.embedder.as_deref(), Some(name), "stored in its canonical spelling");
    }
    assert_eq!(EMBEDDER_NAMES, ["auto", "hash", "shipped", "minilm", "static", "openai"]);
    let expected = "expected one of: auto, hash, shipped, minilm, static, openai";
    engine_error(
        "[embedder]\nname = \"bert\"\n",
        r#"{"embedder": "bert"}"#,
        ("embedder.name", "embedder"),
        &format!("unknown embedder \"bert\"; {expected}"),
    );
    engine_error("[embedder]\nname = \"\"\n", r#"{"embedder": ""}"#, ("embedder.name", "embedder"), expected);
    engine_error(
        "[embedder]\nname = \"mini lm\"\n",
        r#"{"embedder": "open-ai"}"#,
        ("embedder.name", "embedder"),
        "unknown embedder",
    );
    engine_error(
        "[embedder]\nname = 1\n",
        r#"{"embedder": {"name": "hash"}}"#,
        ("embedder.name", "embedder"),
        "expected a string, found",
    );
    json_error(r#"{"embedder": null}"#, "embedder", "expected a string, found null");
}

#[test]
fn every_top_level_setting_is_read_in_both_dialects() {
    let toml = toml_ok(
        r#"
[namespaces]
enabled = false
default_namespace = "main"
shared_namespace = "common"
default_recall = ["self", "common", "*", "team.alpha"]
trust_principal_header = true
fallback_principal = "guest"
catalog_enabled = false
auto_promote_to_shared = true
auto_promote_categories = ["fact", "rule"]
auto_promote_min_confidence_tier = "implied"

[namespaces.policies."team.alpha"]
read = ["team:alpha", "bob"]
include_in_recall_by_default = true

[namespaces.teams.alpha]
principals = ["alice"]
"#,
    );
    let json = json_ok(
        r#"{
"namespacesEnabled": false, "defaultNamespace": "main", "sharedNamespace": "common",
"defaultRecallNamespaces": ["self", "common", "*", "team.alpha"], "trustPrincipalHeader": true,
"fallbackPrincipal": "guest", "namespaceCatalogEnabled": false, "autoPromoteToSharedEnabled": true,
"autoPromoteToSharedCategories": ["fact", "rule"], "autoPromoteMinConfidenceTier": "implied",
"namespacePolicies": {"team.alpha": {"readPrincipals": ["team:alpha", "bob"], "includeInRecallByDefault": true}},
"teams": {"alpha": {"principals": ["alice"]}}
}"#,
    );
    assert_eq!(toml, json);
    assert!(!toml.enabled);
    assert_eq!(toml.default_namespace, ns("main"));
    assert_eq!(toml.shared_namespace, ns("common"));
    assert_eq!(
        toml.default_recall,
        vec![
            RecallEntry::SelfNamespace,
            RecallEntry::Namespace(ns("common")),
            RecallEntry::All,
            RecallEntry::Namespace(ns("team.alpha"))
        ]
    );
    assert!(toml.trust_principal_header);
    assert_eq!(toml.fallback_principal, Some(p("guest")));
    assert!(!toml.catalog_enabled);
    assert_eq!(
        toml.auto_promote_to_shared,
        AutoPromoteToShared {
            enabled: true,
            categories: cats(&["fact", "rule"]),
            min_confidence_tier: ConfidenceTier::Implied
        }
    );
    assert_eq!(toml.policies, vec![policy("team.alpha", &["team:alpha", "bob"], &[], true)]);
    assert_eq!(toml.teams[0].principals, vec![p("alice")]);
}

#[test]
fn order_follows_the_file() {
    let config = toml_ok(
        r#"
[namespaces.policies]
zeta = {}
alpha = {}
mid = {}

[namespaces.teams]
z = {}
a = {}

[namespaces.session_key_rules]
"z:" = "zed"
"a:" = "ay"
"#,
    );
    let names: Vec<&str> = config.policies.iter().map(|p| p.namespace.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha", "mid"]);
    let teams: Vec<&str> = config.teams.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(teams, ["z", "a"]);
    let rules: Vec<&str> = config.session_key_rules.iter().map(|r| r.pattern.as_str()).collect();
    assert_eq!(rules, ["z:", "a:"]);
    let json = json_ok(r#"{"namespacePolicies": {"zeta": {}, "alpha": {}, "mid": {}}}"#);
    let names: Vec<&str> = json.policies.iter().map(|p| p.namespace.as_str()).collect();
    assert_eq!(names, ["zeta", "alpha", "mid"]);
}

#[test]
fn session_key_rules_in_all_modes() {
    let config = toml_ok(
        r#"
[namespaces]
principal_from_session_key_mode = "map"
session_key_rules = [
  { match = "exact-key", principal = "exact-agent" },
  { match = "pre:", principal = "pre-agent", mode = "prefix" },
  { match = '^agent-(\d+)-(?P<team>\w+)$', principal = "agent-$1-${team}", mode = "regex" },
  { match = '^x(.*)$', principal = "cost-$$-${1}x", mode = "regex" },
]
"#,
    );
    assert_eq!(
        config.session_key_rules,
        vec![
            rule(SessionKeyMode::Map, "exact-key", "exact-agent"),
            rule(SessionKeyMode::Prefix, "pre:", "pre-agent"),
            rule(SessionKeyMode::Regex, r"^agent-(\d+)-(?P<team>\w+)$", "agent-$1-${team}"),
            rule(SessionKeyMode::Regex, "^x(.*)$", "cost-$$-${1}x"),
        ]
    );
    // The global mode applies to the JSON object-map form.
    let json = json_ok(r#"{"principalFromSessionKeyMode": "map", "principalFromSessionKeyRules": {"k1": "a"}}"#);
    assert_eq!(json.session_key_rules, vec![rule(SessionKeyMode::Map, "k1", "a")]);
}

#[test]
fn empty_text_and_bom_give_the_defaults() {
    for dialect in [Dialect::Toml, Dialect::Json] {
        for text in ["", "  \n\t\r\n", "\u{feff}", "\u{feff}\n  "] {
            let loaded = ok(text, dialect);
            assert_eq!(loaded.config, PolicyConfig::default(), "{dialect:?} {text:?}");
            assert!(loaded.warnings.is_empty());
        }
    }
    assert_eq!(toml_ok("# only a comment\n"), PolicyConfig::default());
    assert_eq!(toml_ok("[namespaces]\n"), PolicyConfig::default());
    assert_eq!(json_ok("{}"), PolicyConfig::default());
    assert!(PolicyConfig::default().enabled, "namespaces are on by default");
    assert!(!toml_ok("\u{feff}[namespaces]\nenabled = false\n").enabled);
    assert!(!json_ok("\u{feff}{\"namespacesEnabled\": false}").enabled);
}

#[test]
fn principal_lists_understand_any_teams_and_trim() {
    let config = toml_ok(
        r#"
[namespaces.teams.devs]
principals = ["a"]

[[namespaces.policies]]
name = "  café  "
read = [" * ", "team:devs", "team: devs ", " bob "]
"#,
    );
    // The key is trimmed and NFC-normalized, principals are trimmed.
    assert_eq!(config.policies[0].namespace.as_str(), "café");
    assert_eq!(config.policies[0].read, prs(&["*", "team:devs", "team:devs", "bob"]));
}

// --- Errors, each at its exact path ----------------------------------------------------------

#[test]
fn syntax_errors_name_line_and_column() {
    let diags = errs("[namespaces]\nenabled = \n", Dialect::Toml);
    assert_eq!(diags.len(), 1);
    assert!(diags[0].message.starts_with("TOML syntax error at line 2, column"), "{}", diags[0].message);
    let diags = errs("{\n \"namespacesEnabled\": true,\n}", Dialect::Json);
    assert!(diags[0].message.contains("JSON syntax error") && diags[0].message.contains("line 3"), "{diags:?}");
    let diags = errs("[1, 2]", Dialect::Json);
    has_error(&diags, "", "must be a JSON object, found an array");
    // TOML rejects repeated keys itself.
    errs("[namespaces]\nenabled = true\nenabled = false\n", Dialect::Toml);
}

#[test]
fn unknown_sections_and_keys_are_errors_that_list_the_allowed_keys() {
    toml_error("[sever]\nport = 1\n", "sever", "unknown section \"sever\"");
    toml_error("namespace = {}\n", "namespace", "allowed sections: [namespaces], [recall], [embedder], [server]");
    toml_error("[namespaces]\nenable = true\n", "namespaces.enable", "unknown key \"enable\"; allowed keys: enabled,");
    toml_error(
        "[[namespaces.policies]]\nname = \"a\"\nreed = []\n",
        "namespaces.policies[0].reed",
        "allowed keys: name (or namespace), read, write, include_in_recall_by_default",
    );
    toml_error("[namespaces.policies.a]\nname = \"a\"\n", "namespaces.policies.a.name", "allowed keys: read, write");
    toml_error("[namespaces.maintenance]\nfanout = true\n", "namespaces.maintenance.fanout", "unknown key");
    toml_error(
        "[namespaces.scope_profiles.p]\nread_order = [\"userGlobal\"]\nwrite_default = \"userGlobal\"\nteam_project = { template = \"x-{teamId}\" }\n",
        "namespaces.scope_profiles.p.team_project.template",
        "allowed keys: namespace_template",
    );
    json_error(r#"{"namespacesEnabled": true, "memoryDir": "/x"}"#, "memoryDir", "unknown key \"memoryDir\"");
    // A snake_case key in the JSON dialect is unknown there.
    json_error(r#"{"default_namespace": "x"}"#, "default_namespace", "allowed keys: namespacesEnabled");
    json_error(
        r#"{"namespacePolicies": {"a": {"read": [], "readers": []}}}"#,
        "namespacePolicies.a.readers",
        "allowed keys: readPrincipals (or read), writePrincipals (or write), includeInRecallByDefault",
    );
}

#[test]
fn wrong_types_say_what_was_expected_and_found() {
    toml_error("[namespaces]\nenabled = \"yes\"\n", "namespaces.enabled", "expected a boolean, found a string");
    toml_error("namespaces = 3\n", "namespaces", "expected a table, found an integer");
    toml_error(
        "[namespaces]\ndefault_namespace = [\"a\"]\n",
        "namespaces.default_namespace",
        "expected a string, found an array",
    );
    toml_error(
        "[namespaces]\npolicies = \"a\"\n",
        "namespaces.policies",
        "expected an array or a table, found a string",
    );
    toml_error(
        "[namespaces]\ndefault_recall = \"self\"\n",
        "namespaces.default_recall",
        "expected an array, found a string",
    );
    toml_error(
        "[namespaces]\nfallback_principal = 1979-05-27\n",
        "namespaces.fallback_principal",
        "expected a string, found a datetime",
    );
    toml_error(
        "[namespaces]\npolicies = [{name = \"a\"}, {name = \"b\"}, {name = \"c\", write = [7]}]\n",
        "namespaces.policies[2].write[0]",
        "expected a string, found an integer",
    );
    toml_error("[namespaces]\npolicies = [\"a\"]\n", "namespaces.policies[0]", "expected a table, found a string");
    json_error(
        r#"{"namespacePolicies": [{"name": "a"}, {"name": "b"}, {"name": "c", "writePrincipals": [null]}]}"#,
        "namespacePolicies[2].writePrincipals[0]",
        "expected a string, found null",
    );
    json_error(
        r#"{"namespacePolicies": {"project-alpha": {"read": [true]}}}"#,
        "namespacePolicies.project-alpha.read[0]",
        "expected a string, found a boolean",
    );
    json_error(r#"{"namespacePolicies": {"a": []}}"#, "namespacePolicies.a", "expected an object, found an array");
    json_error(r#"{"teams": 1.5}"#, "teams", "expected an array or an object, found a float");
    json_error(r#"{"trustPrincipalHeader": 1}"#, "trustPrincipalHeader", "expected a boolean, found an integer");
}

#[test]
fn json_aliases_and_repeated_keys() {
    json_error(
        r#"{"namespacePolicies": {"a": {"read": ["x"], "readPrincipals": ["y"]}}}"#,
        "namespacePolicies.a.readPrincipals",
        "\"readPrincipals\" and \"read\" are the same setting",
    );
    json_error(
        r#"{"namespacePolicies": [{"name": "a", "namespace": "a"}]}"#,
        "namespacePolicies[0].namespace",
        "same setting",
    );
    json_error(
        r#"{"namespacesEnabled": true, "namespacesEnabled": false}"#,
        "namespacesEnabled",
        "appears more than once",
    );
    json_error(
        r#"{"namespacePolicies": {"a": {}, "b": {}, "a": {"write": ["*"]}}}"#,
        "namespacePolicies.a",
        "appears more than once",
    );
    // TOML only has the one spelling.
    toml_error("[namespaces.policies.a]\nreadPrincipals = []\n", "namespaces.policies.a.readPrincipals", "unknown key");
}

#[test]
fn names_and_strings_are_checked() {
    toml_error("[[namespaces.policies]]\nname = \"\"\n", "namespaces.policies[0].name", "namespace key is empty");
    toml_error(
        "[[namespaces.policies]]\nname = \"a/b\"\n",
        "namespaces.policies[0].name",
        "'/' and '\\' are not allowed",
    );
    toml_error("[namespaces.policies.\"..\"]\n", "namespaces.policies.\"..\"", "invalid namespace key");
    toml_error("[[namespaces.policies]]\nread = []\n", "namespaces.policies[0]", "missing required key \"name\"");
    toml_error("[namespaces]\ndefault_namespace = \"a b\"\n", "namespaces.default_namespace", "whitespace");
    toml_error(
        "[namespaces]\ndefault_recall = [\"self\", \"no/pe\"]\n",
        "namespaces.default_recall[1]",
        "invalid namespace key",
    );
    toml_error("[namespaces]\nfallback_principal = \"  \"\n", "namespaces.fallback_principal", "it is empty");
    toml_error("[namespaces]\nfallback_principal = \"*\"\n", "namespaces.fallback_principal", "not allowed here");
    toml_error(
        "[namespaces.policies.a]\nread = [\"bad\\u0001id\"]\n",
        "namespaces.policies.a.read[0]",
        "contains a control character",
    );
    toml_error("[namespaces.policies.a]\nwrite = [\"\"]\n", "namespaces.policies.a.write[0]", "it is empty");
    // NUL bytes, in values and in keys, in both dialects.
    toml_error("[namespaces]\nfallback_principal = \"a\\u0000b\"\n", "namespaces.fallback_principal", "NUL byte");
    toml_error("[namespaces.policies.\"a\\u0000b\"]\n", "namespaces.policies.\"a\\u0000b\"", "NUL byte");
    json_error(r#"{"defaultScopeProfile": "p\u0000"}"#, "defaultScopeProfile", "NUL byte");
    json_error(
        r#"{"principalFromSessionKeyRules": {"k\u0000": "a"}}"#,
        r#"principalFromSessionKeyRules."k\u0000""#,
        "NUL byte",
    );
}

#[test]
fn default_and_shared_must_differ() {
    toml_error(
        "[namespaces]\ndefault_namespace = \"x\"\nshared_namespace = \"x\"\n",
        "namespaces.shared_namespace",
        "must differ",
    );
    toml_error("[namespaces]\ndefault_namespace = \"shared\"\n", "namespaces.default_namespace", "must differ");
    json_error(r#"{"sharedNamespace": " default "}"#, "sharedNamespace", "must differ");
}

#[test]
fn team_references_must_name_a_configured_team() {
    toml_error(
        "[namespaces.teams.devs]\n[namespaces.policies.a]\nread = [\"team:ops\"]\n",
        "namespaces.policies.a.read[0]",
        "unknown team \"ops\"; configured teams: \"devs\"",
    );
    toml_error("[namespaces.policies.a]\nwrite = [\"team:\"]\n", "namespaces.policies.a.write[0]", "names no team");
    // Teams may come after the policies that use them.
    let config = json_ok(r#"{"namespacePolicies": {"a": {"read": ["team:devs"]}}, "teams": {"devs": {}}}"#);
    assert_eq!(config.policies[0].read, prs(&["team:devs"]));
    // A team with other errors still exists for references (no cascade of "unknown team").
    let diags = errs(
        r#"{"teams": {"devs": {"principals": [1]}}, "namespacePolicies": {"a": {"read": ["team:devs"]}}}"#,
        Dialect::Json,
    );
    assert_eq!(diags.len(), 1, "{}", render(&diags));
    has_error(&diags, "teams.devs.principals[0]", "expected a string");
}

#[test]
fn duplicates_are_errors_at_the_later_one() {
    toml_error(
        "[[namespaces.policies]]\nname = \"a\"\n[[namespaces.policies]]\nname = \"b\"\n[[namespaces.policies]]\nname = \" a \"\n",
        "namespaces.policies[2]",
        "duplicate policy for namespace \"a\"; first defined at namespaces.policies[0]",
    );
    // Composed and decomposed forms are the same key after NFC.
    toml_error(
        "[namespaces.policies]\n\"caf\\u00e9\" = {}\n\"cafe\\u0301\" = {}\n",
        "namespaces.policies.\"cafe\u{301}\"",
        "first defined at namespaces.policies.\"café\"",
    );
    toml_error(
        "[[namespaces.teams]]\nid = \"t\"\n[[namespaces.teams]]\nid = \"t\"\n",
        "namespaces.teams[1]",
        "duplicate team \"t\"; first defined at namespaces.teams[0]",
    );
    json_error(
        r#"{"scopeProfiles": [{"name": "p", "readOrder": ["userGlobal"], "writeDefault": "userGlobal"},
                              {"name": "p", "readOrder": ["userGlobal"], "writeDefault": "userGlobal"}]}"#,
        "scopeProfiles[1]",
        "duplicate scope profile \"p\"; first defined at scopeProfiles[0]",
    );
}

#[test]
fn teams_are_checked() {
    toml_error("[[namespaces.teams]]\nid = \"a b\"\n", "namespaces.teams[0].id", "invalid team id");
    toml_error("[[namespaces.teams]]\nid = \"\"\n", "namespaces.teams[0].id", "must not be empty");
    toml_error("[[namespaces.teams]]\nprincipals = []\n", "namespaces.teams[0]", "missing required key \"id\"");
    toml_error("[namespaces.teams.t]\nprincipals = [\"*\"]\n", "namespaces.teams.t.principals[0]", "not allowed here");
    toml_error("[namespaces.teams.t]\nread = [\"team:t\"]\n", "namespaces.teams.t.read[0]", "team reference");
    toml_error("[namespaces.teams.t]\npromote = [\"\"]\n", "namespaces.teams.t.promote[0]", "it is empty");
    toml_error("[namespaces.teams.\"a/b\"]\n", "namespaces.teams.\"a/b\"", "invalid team id");
}

const PROFILE_HEAD: &str = "[namespaces.scope_profiles.p]\n";

#[test]
fn scope_profiles_are_checked() {
    let at = "namespaces.scope_profiles.p";
    let profile = |body: &str| format!("{PROFILE_HEAD}{body}");
    toml_error(
        &profile("read_order = []\nwrite_default = \"userGlobal\"\n"),
        &format!("{at}.read_order"),
        "at least one layer",
    );
    toml_error(&profile("write_default = \"userGlobal\"\n"), at, "missing required key \"read_order\"");
    toml_error(&profile("read_order = [\"userGlobal\"]\n"), at, "missing required key \"write_default\"");
    toml_error(
        &profile("read_order = [\"userGlobal\", \"user_project\"]\nwrite_default = \"userGlobal\"\n"),
        &format!("{at}.read_order[1]"),
        "unknown layer \"user_project\"; expected one of: userProject, teamProject, userGlobal, serverShared",
    );
    toml_error(
        &profile("read_order = [\"userGlobal\", \"serverShared\", \"userGlobal\"]\nwrite_default = \"userGlobal\"\n"),
        &format!("{at}.read_order[2]"),
        "listed twice (first at namespaces.scope_profiles.p.read_order[0])",
    );
    toml_error(
        &profile("read_order = [\"userGlobal\"]\nwrite_default = \"serverShared\"\n"),
        &format!("{at}.write_default"),
        "serverShared is not in read_order; the write target must be readable",
    );
    toml_error(
        &profile("read_order = [\"userGlobal\"]\nwrite_default = \"nowhere\"\n"),
        &format!("{at}.write_default"),
        "unknown layer",
    );
    let ok_head = "read_order = [\"userGlobal\", \"serverShared\"]\nwrite_default = \"userGlobal\"\n";
    toml_error(
        &profile(&format!("{ok_head}promotion_targets = [\"serverShared\", \"serverShared\"]\n")),
        &format!("{at}.promotion_targets[1]"),
        "listed twice",
    );
    toml_error(
        &profile(&format!("{ok_head}team_project = {{ namespace_template = \"team-{{teamid}}\" }}\n")),
        &format!("{at}.team_project.namespace_template"),
        "unknown placeholder {teamid}",
    );
    toml_error(
        &profile(&format!("{ok_head}team_project = {{ namespace_template = \"fixed\" }}\n")),
        &format!("{at}.team_project.namespace_template"),
        "no placeholder",
    );
    toml_error(
        &profile(&format!(
            "{ok_head}promotion_targets = [\"serverShared\"]\nauto_promote = {{ targets = [\"serverShared\", \"userGlobal\"] }}\n"
        )),
        &format!("{at}.auto_promote.targets[1]"),
        "userGlobal is not one of the profile's promotion_targets",
    );
    toml_error(
        &profile(&format!("{ok_head}auto_promote = {{ categories = [\"Fact\"] }}\n")),
        &format!("{at}.auto_promote.categories[0]"),
        "invalid category \"Fact\"",
    );
    toml_error(
        &profile(&format!("{ok_head}auto_promote = {{ min_confidence_tier = \"certain\" }}\n")),
        &format!("{at}.auto_promote.min_confidence_tier"),
        "unknown confidence tier \"certain\"; expected one of: speculative, inferred, implied, explicit",
    );
    toml_error(
        &profile(&format!("{ok_head}auto_promote = {{ enabled = 1 }}\n")),
        &format!("{at}.auto_promote.enabled"),
        "expected a boolean",
    );
    toml_error(
        "[[namespaces.scope_profiles]]\nname = \" \"\nread_order = [\"userGlobal\"]\nwrite_default = \"userGlobal\"\n",
        "namespaces.scope_profiles[0].name",
        "must not be empty",
    );
    // Defaults of an omitted team_project and auto_promote.
    let config = toml_ok(&profile(ok_head));
    let profile = &config.scope_profiles[0];
    assert_eq!(profile.team_project_template, DEFAULT_TEAM_PROJECT_TEMPLATE);
    assert_eq!(profile.auto_promote, None);
    assert!(profile.promotion_targets.is_empty());
    let config = toml_ok(&format!("{PROFILE_HEAD}{ok_head}auto_promote = {{}}\n"));
    assert_eq!(
        config.scope_profiles[0].auto_promote,
        Some(ProfileAutoPromote {
            enabled: false,
            targets: vec![],
            categories: AutoPromoteToShared::default().categories,
            min_confidence_tier: ConfidenceTier::Explicit,
        })
    );
}

#[test]
fn the_default_scope_profile_must_exist() {
    toml_error(
        "[namespaces]\ndefault_scope_profile = \"teamcoding\"\n[namespaces.scope_profiles.teamCoding]\nread_order = [\"userGlobal\"]\nwrite_default = \"userGlobal\"\n",
        "namespaces.default_scope_profile",
        "unknown scope profile \"teamcoding\"; configured profiles: \"teamCoding\"",
    );
    json_error(r#"{"defaultScopeProfile": "x"}"#, "defaultScopeProfile", "configured profiles: none");
}

#[test]
fn legacy_auto_promotion_and_maintenance_values_are_checked() {
    toml_error(
        "[namespaces]\nauto_promote_categories = [\"fact\", \"\"]\n",
        "namespaces.auto_promote_categories[1]",
        "invalid category",
    );
    toml_error(
        "[namespaces]\nauto_promote_min_confidence_tier = \"high\"\n",
        "namespaces.auto_promote_min_confidence_tier",
        "unknown confidence tier",
    );
    toml_error(
        "[namespaces.maintenance]\nmax_namespaces_per_cycle = -1\n",
        "namespaces.maintenance.max_namespaces_per_cycle",
        "must not be negative",
    );
    toml_error(
        "[namespaces.maintenance]\nmax_namespaces_per_cycle = 4294967296\n",
        "namespaces.maintenance.max_namespaces_per_cycle",
        "at most 4294967295",
    );
    toml_error(
        "[namespaces.maintenance]\nlock_stale_ms = 1.5\n",
        "namespaces.maintenance.lock_stale_ms",
        "expected a non-negative integer, found a float",
    );
    json_error(r#"{"maintenanceNamespaceLockStaleMs": -5}"#, "maintenanceNamespaceLockStaleMs", "must not be negative");
    json_error(r#"{"maintenanceMaxNamespacesPerCycle": "20"}"#, "maintenanceMaxNamespacesPerCycle", "found a string");
    json_error(r#"{"maintenanceMaxNamespacesPerCycle": 20.0}"#, "maintenanceMaxNamespacesPerCycle", "found a float");
    // The whole u64 range is accepted where the field is a u64.
    let config = json_ok(r#"{"maintenanceNamespaceLockStaleMs": 18446744073709551615}"#);
    assert_eq!(config.maintenance.lock_stale_ms, u64::MAX);
    assert_eq!(
        toml_ok("[namespaces.maintenance]\nmax_namespaces_per_cycle = 0\n").maintenance.max_namespaces_per_cycle,
        0
    );
}

#[test]
fn session_key_rules_are_checked() {
    let rules = |body: &str| format!("[namespaces]\nsession_key_rules = [{body}]\n");
    let at = "namespaces.session_key_rules[0]";
    toml_error(
        "[namespaces]\nprincipal_from_session_key_mode = \"glob\"\n",
        "namespaces.principal_from_session_key_mode",
        "unknown mode \"glob\"; expected one of: prefix, map, regex",
    );
    toml_error(
        &rules("{ match = \"a\", principal = \"b\", mode = \"Prefix\" }"),
        &format!("{at}.mode"),
        "unknown mode",
    );
    toml_error(&rules("{ match = \"\", principal = \"b\" }"), &format!("{at}.match"), "must not be empty");
    toml_error(&rules("{ principal = \"b\" }"), at, "missing required key \"match\"");
    toml_error(&rules("{ match = \"a\" }"), at, "missing required key \"principal\"");
    toml_error(&rules("{ match = \"a\", principal = \"\" }"), &format!("{at}.principal"), "it is empty");
    toml_error(&rules("{ match = \"a\", principal = \"team:x\" }"), &format!("{at}.principal"), "team reference");
    toml_error(
        &rules("{ match = \"a\", principal = \"b\", pattern = \"c\" }"),
        &format!("{at}.pattern"),
        "allowed keys: match, principal, mode",
    );
    let long = "x".repeat(MAX_PATTERN_CHARS + 1);
    toml_error(
        &rules(&format!("{{ match = \"{long}\", principal = \"b\" }}")),
        &format!("{at}.match"),
        "1025 characters long; at most 1024",
    );
    let exact = "é".repeat(MAX_PATTERN_CHARS); // more bytes than the limit, but not more characters
    assert_eq!(toml_ok(&rules(&format!("{{ match = \"{exact}\", principal = \"b\" }}"))).session_key_rules.len(), 1);
    toml_error(
        &rules("{ match = \"(a\", principal = \"b\", mode = \"regex\" }"),
        &format!("{at}.match"),
        "invalid regex",
    );
    toml_error(
        &rules("{ match = \"a{1000}{1000}\", principal = \"b\", mode = \"regex\" }"),
        &format!("{at}.match"),
        "the regex is too big",
    );
    // Capture references in a regex rule's principal must exist.
    toml_error(
        &rules("{ match = '^(a)$', principal = \"u-$2\", mode = \"regex\" }"),
        &format!("{at}.principal"),
        "capture group $2, but the regex has only 1 group(s)",
    );
    toml_error(
        &rules("{ match = '^(?P<x>a)$', principal = \"u-${y}\", mode = \"regex\" }"),
        &format!("{at}.principal"),
        "capture group \"y\", which the regex does not define",
    );
    toml_error(
        &rules("{ match = '^(a)$', principal = \"u-$1a\", mode = \"regex\" }"),
        &format!("{at}.principal"),
        "write \"${1}...\"",
    );
    toml_error(
        &rules("{ match = '^(a)$', principal = \"u-${}\", mode = \"regex\" }"),
        &format!("{at}.principal"),
        "capture group \"\"",
    );
    // Literal dollars are fine: `$$`, a lone `$`, an unclosed `${`.
    toml_ok(&rules("{ match = '^(a)$', principal = \"u$$-$-${0}-${1\", mode = \"regex\" }"));
    // The map form's principal is a string, and a prefix-rule principal a valid principal.
    json_error(
        r#"{"principalFromSessionKeyRules": {"a:": ["x"]}}"#,
        "principalFromSessionKeyRules.\"a:\"",
        "expected a string, found an array",
    );
    json_error(
        r#"{"principalFromSessionKeyRules": {"a:": "*"}}"#,
        "principalFromSessionKeyRules.\"a:\"",
        "not allowed here",
    );
    json_error(
        r#"{"principalFromSessionKeyRules": {"": "x"}}"#,
        "principalFromSessionKeyRules.\"\"",
        "must not be empty",
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let diags = errs(
        r#"
[namespaces]
enabled = 1
default_namespace = "a/b"
bogus = true
policies = [{ name = "" }, { name = "x", read = ["team:none"] }]
default_scope_profile = "none"

[other]
"#,
        Dialect::Toml,
    );
    has_error(&diags, "other", "unknown section");
    has_error(&diags, "namespaces.enabled", "expected a boolean");
    has_error(&diags, "namespaces.default_namespace", "invalid namespace key");
    has_error(&diags, "namespaces.bogus", "unknown key");
    has_error(&diags, "namespaces.policies[0].name", "empty");
    has_error(&diags, "namespaces.policies[1].read[0]", "unknown team");
    has_error(&diags, "namespaces.default_scope_profile", "unknown scope profile");
    assert_eq!(diags.len(), 7, "{}", render(&diags));
}

// --- Warnings --------------------------------------------------------------------------------

#[test]
fn shadowed_and_repeated_rules_are_warnings() {
    let loaded = ok(
        r#"
[namespaces]
session_key_rules = [
  { match = "project-", principal = "generic" },
  { match = "project-alpha:", principal = "alpha" },
  { match = "project-beta", principal = "beta", mode = "map" },
  { match = "other", principal = "o", mode = "map" },
  { match = "other", principal = "o2", mode = "map" },
  { match = "other", principal = "o3", mode = "prefix" },
  { match = "proj", principal = "late" },
  { match = "^project-", principal = "r", mode = "regex" },
  { match = "^project-", principal = "r2", mode = "regex" },
  { match = "project-", principal = "again" },
]
"#,
        Dialect::Toml,
    );
    let w = &loaded.warnings;
    let at = |i: usize| format!("namespaces.session_key_rules[{i}]");
    has(
        w,
        Severity::Warning,
        &at(1),
        "can never match: the earlier prefix rule at namespaces.session_key_rules[0] (\"project-\")",
    );
    has(w, Severity::Warning, &at(2), "can never match: the earlier prefix rule at namespaces.session_key_rules[0]");
    has(
        w,
        Severity::Warning,
        &at(4),
        "duplicate pattern \"other\"; the earlier rule at namespaces.session_key_rules[3] wins",
    );
    has(
        w,
        Severity::Warning,
        &at(8),
        "duplicate pattern \"^project-\"; the earlier rule at namespaces.session_key_rules[7] wins",
    );
    has(
        w,
        Severity::Warning,
        &at(9),
        "duplicate pattern \"project-\"; the earlier rule at namespaces.session_key_rules[0] wins",
    );
    // A later prefix ("proj") does not shadow earlier rules; a map rule before a prefix rule
    // with the same text does not make the prefix rule dead; regexes are not compared.
    assert_eq!(w.len(), 5, "{}", render(w));
    assert_eq!(loaded.config.session_key_rules.len(), 10, "warnings do not drop rules");
    // The JSON object-map form gets the same analysis.
    let loaded = ok(r#"{"principalFromSessionKeyRules": {"a": "x", "ab": "y"}}"#, Dialect::Json);
    has(
        &loaded.warnings,
        Severity::Warning,
        "principalFromSessionKeyRules.ab",
        "earlier prefix rule at principalFromSessionKeyRules.a",
    );
}

#[test]
fn other_warnings() {
    let loaded = ok(
        r#"
[namespaces]
default_recall = ["self", "shared", "nowhere", "known", "default", "self"]

[namespaces.policies.known]

[namespaces.teams.t]
principals = ["a"]
read = ["a", "b"]
promote = ["c"]
"#,
        Dialect::Toml,
    );
    let w = &loaded.warnings;
    has(w, Severity::Warning, "namespaces.default_recall[2]", "no policy names namespace \"nowhere\"");
    has(w, Severity::Warning, "namespaces.default_recall[5]", "listed twice");
    has(w, Severity::Warning, "namespaces.teams.t.read[1]", "\"b\" is in read but not in principals of team \"t\"");
    has(w, Severity::Warning, "namespaces.teams.t.promote[0]", "\"c\" is in promote but not in principals");
    assert_eq!(w.len(), 4, "{}", render(w));
    assert_eq!(loaded.config.default_recall.len(), 5, "the repeat is dropped");
    let loaded = ok(
        r#"{"scopeProfiles": {"p": {"readOrder": ["teamProject", "userGlobal"], "writeDefault": "userGlobal"}}}"#,
        Dialect::Json,
    );
    has(&loaded.warnings, Severity::Warning, "scopeProfiles.p", "no teams are configured");
    // Warnings travel with the errors when loading fails.
    let diags = errs(r#"{"defaultRecallNamespaces": ["nowhere"], "teams": 1}"#, Dialect::Json);
    has(&diags, Severity::Warning, "defaultRecallNamespaces[0]", "no policy names");
}

// --- Files -----------------------------------------------------------------------------------

#[test]
fn load_file_picks_the_dialect_by_extension() {
    let json = TempFile::new("policy.JSON", MULTI_TENANT_JSON.as_bytes());
    assert_eq!(load_file(&json.0).unwrap().config, expected_multi_tenant());
    let toml = TempFile::new("policy.toml", MULTI_TENANT_TOML.as_bytes());
    assert_eq!(load_file(&toml.0).unwrap().config, expected_multi_tenant());
    let other = TempFile::new("policy.conf", TEAM_CODING_TOML.as_bytes());
    assert_eq!(load_file(&other.0).unwrap().config, expected_team_coding());
    let empty = TempFile::new("empty.json", b"");
    assert_eq!(load_file(&empty.0).unwrap().config, PolicyConfig::default());
    let bom = TempFile::new("bom.toml", "\u{feff}[namespaces]\nenabled = false\n".as_bytes());
    assert!(!load_file(&bom.0).unwrap().config.enabled);
}

#[test]
fn load_file_errors_are_clear() {
    let missing = std::env::temp_dir().join("memory-policy-load-does-not-exist.toml");
    let diags = load_file(&missing).unwrap_err();
    assert!(diags[0].message.starts_with("cannot open"), "{diags:?}");
    let dir = TempFile::new("x.toml", b"");
    let diags = load_file(dir.0.parent().unwrap()).unwrap_err();
    assert!(diags[0].message.contains("is a directory"), "{diags:?}");
    let bad = TempFile::new("bad.toml", b"[namespaces]\nfallback_principal = \"a\xff\"\n");
    let diags = load_file(&bad.0).unwrap_err();
    assert_eq!(diags.len(), 1);
    assert!(diags[0].message.contains("is not valid UTF-8: invalid byte at offset 36 (line 2)"), "{diags:?}");
    let nul = TempFile::new("nul.toml", b"[namespaces]\x00\n");
    let diags = load_file(&nul.0).unwrap_err();
    assert!(diags[0].message.contains("TOML syntax error at line 1"), "{diags:?}");
}

// --- Hostile input ---------------------------------------------------------------------------

const FAST: Duration = Duration::from_secs(2);
/// For the biggest inputs: generous, as tests share a busy machine (typical times are in the
/// printed output, `--nocapture`).
const BIG: Duration = Duration::from_secs(15);

#[test]
fn a_huge_file_is_refused_before_it_is_read() {
    let big = TempFile::new("big.toml", &vec![b'#'; 10 << 20]);
    let diags = timed("10 MB file", FAST, || load_file(&big.0).unwrap_err());
    assert_eq!(diags.len(), 1);
    assert!(diags[0].message.contains("is 10485760 bytes; at most 4194304 bytes (4 MiB)"), "{diags:?}");
    let text = " ".repeat((MAX_CONFIG_BYTES + 1) as usize);
    let diags = parse(&text, Dialect::Json).unwrap_err();
    assert!(diags[0].message.contains("4194305 bytes"), "{diags:?}");
}

#[test]
fn a_hundred_thousand_policies_load_quickly() {
    let mut toml = String::from("[namespaces.policies]\n");
    for i in 0..100_000 {
        toml.push_str(&format!("p{i:05}={{read=[\"*\"],write=[\"a\"]}}\n"));
    }
    assert!(toml.len() > 3_000_000 && (toml.len() as u64) < MAX_CONFIG_BYTES, "{}", toml.len());
    let config = timed(&format!("100k policies, TOML map form, {} bytes", toml.len()), BIG, || {
        parse(&toml, Dialect::Toml).unwrap().config
    });
    assert_eq!(config.policies.len(), 100_000);
    assert_eq!(config.policies[99_999].namespace.as_str(), "p99999");

    let mut json = String::from("{\"namespacePolicies\":[");
    for i in 0..100_000 {
        json.push_str(&format!("{}{{\"name\":\"p{i:05}\",\"read\":[\"*\"]}}", if i > 0 { "," } else { "" }));
    }
    json.push_str("]}");
    let config = timed(&format!("100k policies, JSON array form, {} bytes", json.len()), BIG, || {
        parse(&json, Dialect::Json).unwrap().config
    });
    assert_eq!(config.policies.len(), 100_000);

    // Many rules: the shadowing analysis is n log n, not quadratic.
    let mut rules = String::from("[namespaces.session_key_rules]\n");
    for i in 0..100_000 {
        rules.push_str(&format!("\"k{i:06}:\"=\"a\"\n"));
    }
    let config = timed("100k session-key rules", BIG, || parse(&rules, Dialect::Toml).unwrap().config);
    assert_eq!(config.session_key_rules.len(), 100_000);
}

#[test]
fn a_flood_of_errors_is_capped() {
    let mut toml = String::from("[namespaces.policies]\n");
    for i in 0..100_000 {
        toml.push_str(&format!("\"p/{i}\"={{}}\n"));
    }
    let diags = timed("100k invalid policies", BIG, || parse(&toml, Dialect::Toml).unwrap_err());
    assert_eq!(diags.len(), MAX_DIAGNOSTICS + 1);
    let last = diags.last().unwrap();
    assert_eq!(last.severity, Severity::Error);
    assert!(last.message.starts_with("99000 more problems not shown"), "{}", last.message);
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    const DEPTH: usize = 100_000;
    let cases = [
        ("TOML arrays", format!("a = {}{}", "[".repeat(DEPTH), "]".repeat(DEPTH)), Dialect::Toml),
        ("TOML unclosed arrays", format!("a = {}", "[".repeat(DEPTH)), Dialect::Toml),
        ("TOML inline tables", format!("a = {}1{}", "{b = ".repeat(DEPTH), "}".repeat(DEPTH)), Dialect::Toml),
        ("TOML dotted key", format!("{} = 1", vec!["a"; DEPTH].join(".")), Dialect::Toml),
        ("TOML table header", format!("[{}]", vec!["a"; DEPTH].join(".")), Dialect::Toml),
        ("TOML array-of-tables header", format!("[[{}]]", vec!["a"; DEPTH].join(".")), Dialect::Toml),
        ("JSON arrays", format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH)), Dialect::Json),
        ("JSON objects", format!("{}1{}", "{\"a\":".repeat(DEPTH), "}".repeat(DEPTH)), Dialect::Json),
        ("JSON in a policy", format!("{{\"namespacePolicies\": {}", "[".repeat(DEPTH)), Dialect::Json),
    ];
    for (what, text, dialect) in cases {
        let diags = timed(what, FAST, || parse(&text, dialect).unwrap_err());
        assert_eq!(diags.len(), 1, "{what}: {diags:?}");
        assert!(diags[0].message.contains("syntax error"), "{what}: {}", diags[0].message);
        assert!(diags[0].message.len() < 1000, "{what}: the message stays short");
    }
    // Nesting just within the parsers' limits (TOML 80, JSON 128) is merely a wrong shape.
    let text = format!("[namespaces]\ndefault_recall = {}{}\n", "[".repeat(78), "]".repeat(78));
    toml_error(&text, "namespaces.default_recall[0]", "expected a string, found an array");
    let text = format!("{{\"defaultRecallNamespaces\": {}{}}}", "[".repeat(126), "]".repeat(126));
    json_error(&text, "defaultRecallNamespaces[0]", "expected a string, found an array");
}

#[test]
fn catastrophic_regexes_compile_and_match_in_linear_time() {
    let key = format!("{}b", "a".repeat(MAX_REGEX_SESSION_KEY_CHARS - 1));
    let xs = "x".repeat(MAX_REGEX_SESSION_KEY_CHARS);
    for (pattern, subject) in [("(a*)*$", key.as_str()), ("(a|aa)+c", key.as_str()), ("(x+x+)+y", xs.as_str())] {
        let re = compile_session_regex(pattern).unwrap();
        timed(&format!("regex {pattern}"), Duration::from_millis(500), || {
            for _ in 0..100 {
                std::hint::black_box(re.captures(subject));
            }
        });
        let config = toml_ok(&format!(
            "[namespaces]\nsession_key_rules = [{{ match = '{pattern}', principal = \"p\", mode = \"regex\" }}]\n"
        ));
        assert_eq!(config.session_key_rules[0].pattern, pattern);
    }
    let too_big = timed("regex a{1000}{1000}", FAST, || compile_session_regex("a{1000}{1000}").unwrap_err());
    assert!(too_big.contains("too big"), "{too_big}");
    let unicode_big = timed("regex (\\w{100}){100}", FAST, || compile_session_regex(r"(?:\w{100}){100}").unwrap_err());
    assert!(unicode_big.contains("too big"), "{unicode_big}");
    let long = compile_session_regex(&"a".repeat(MAX_PATTERN_CHARS + 1)).unwrap_err();
    assert!(long.contains("at most 1024"), "{long}");
    // Expensive regexes are capped in number, so a file of them still loads in bounded time.
    let mut text = String::from("[namespaces]\nsession_key_rules = [\n");
    for i in 0..10_000 {
        text.push_str(&format!("{{ match = '^\\w{{{}}}', principal = \"p\", mode = \"regex\" }},\n", 100 + i % 150));
    }
    text.push(']');
    let diags = timed("10k unicode-class regex rules (256 compiled)", BIG, || parse(&text, Dialect::Toml).unwrap_err());
    has_error(
        &diags,
        &format!("namespaces.session_key_rules[{MAX_REGEX_RULES}].match"),
        "too many regex rules: at most 256",
    );
}

#[test]
fn long_values_do_not_make_long_messages() {
    let key = "k".repeat(1 << 20);
    let diags = errs(&format!("[namespaces]\ndefault_namespace = \"{key}\"\n"), Dialect::Toml);
    assert!(diags[0].message.contains("at most 64 are allowed"), "{}", diags[0].message);
    assert!(diags[0].message.chars().count() <= MAX_MESSAGE_CHARS + 10);
    let diags = errs(&format!("{{\"{key}\": 1}}"), Dialect::Json);
    assert!(diags[0].path.len() < 200 && diags[0].message.len() < 1000, "{:?}", diags[0]);
}

#[test]
fn a_server_section_is_handed_over_to_its_owner_and_must_be_a_table() {
    let loaded = ok("[server]\nrate_per_second = 5\n", Dialect::Toml);
    assert_eq!(loaded.sections["server"], serde_json::json!({ "rate_per_second": 5 }));
    let diags = errs("server = 3\n", Dialect::Toml);
    has_error(&diags, "server", "expected a table");
}

// --- The configuration reference ----------------------------------------------------------------

/// Whether the reference names `key`: in backticks or quotes, as a table path (`a.key`,
/// `key.b`, `[key]`), or in a TOML example (`key = ...`).
fn documented(doc: &str, key: &str) -> bool {
    let forms = [
        format!("`{key}`"),
        format!("\"{key}\""),
        format!(".{key}`"),
        format!("`{key}."),
        format!("[{key}]"),
        format!("[{key}."),
        format!(".{key}]"),
        format!("{{ {key} ="),
        format!(", {key} ="),
    ];
    forms.iter().any(|f| doc.contains(f.as_str()))
        || doc.lines().any(|l| l.trim_start().starts_with(&format!("{key} =")))
}

/// docs/configuration.md documents every key of both dialects, so it cannot drift from the
/// loader.
#[test]
fn the_configuration_reference_names_every_key() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
    let doc = std::fs::read_to_string(path).expect("the configuration reference");
    for (dialect, keys) in [("TOML", &TOML_KEYS), ("JSON", &JSON_KEYS)] {
        let missing: Vec<&str> = keys.every_name().into_iter().filter(|k| !documented(&doc, k)).collect();
        assert!(missing.is_empty(), "docs/configuration.md does not document these {dialect} keys: {missing:?}");
    }
}
