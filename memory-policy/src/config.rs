//! `PolicyConfig`: the validated configuration model, the same for both file dialects.
//!
//! Values here are already checked one by one and against each other (the loader in
//! `load.rs` is the only way to build one from text, and it reports every problem with its
//! path). Compiling a `PolicyConfig` into a [`crate::Policy`] therefore cannot fail.
//!
//! The model also holds the engine's settings from the same file ([`EngineSettings`]): they
//! are not policy, but one strict loader checks the whole file.

use memory_core::{Category, ConfidenceTier, NamespaceKey, Principal};

/// Everything the operator configures about namespaces and access, plus the engine's own
/// settings from the same file.
///
/// `memory.toml` is the one configuration file of the product. Its engine sections (`[recall]`,
/// `[embedder]`; flat `recall...`/`embedder` keys in JSON) are validated here, by the same
/// strict walker as the policy, so one loader checks the whole file: an unknown key or a value
/// out of range anywhere is an error with its path. They live in [`PolicyConfig::engine`];
/// the resolver ignores them.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyConfig {
    /// `namespaces.enabled` / `namespacesEnabled`. When off, every caller reads and writes
    /// the default namespace only. Default: on.
    pub enabled: bool,
    /// `default_namespace` / `defaultNamespace`. Default `default`.
    pub default_namespace: NamespaceKey,
    /// `shared_namespace` / `sharedNamespace`. Default `shared`.
    pub shared_namespace: NamespaceKey,
    /// `default_recall` / `defaultRecallNamespaces`: the read set of a recall that names no
    /// namespaces (without an active scope profile). Default `["self", "shared"]`.
    pub default_recall: Vec<RecallEntry>,
    /// `trust_principal_header` / `trustPrincipalHeader`. Default false.
    pub trust_principal_header: bool,
    /// `fallback_principal` / `fallbackPrincipal`: who an unauthenticated caller becomes.
    /// Default none (unauthenticated callers are denied).
    pub fallback_principal: Option<Principal>,
    /// Session-key rules in config order; the first that matches names the principal.
    pub session_key_rules: Vec<SessionKeyRule>,
    /// Namespace policies in config order; names are unique.
    pub policies: Vec<NamespacePolicy>,
    /// Teams in config order; ids are unique.
    pub teams: Vec<Team>,
    /// Scope profiles in config order; names are unique.
    pub scope_profiles: Vec<ScopeProfile>,
    /// `default_scope_profile` / `defaultScopeProfile`: the name of the active profile.
    pub default_scope_profile: Option<String>,
    /// Legacy auto-promotion into the shared namespace.
    pub auto_promote_to_shared: AutoPromoteToShared,
    /// `catalog_enabled` / `namespaceCatalogEnabled`. Default true.
    pub catalog_enabled: bool,
    /// Per-namespace maintenance fan-out settings.
    pub maintenance: MaintenanceSettings,
    /// The engine's settings (`[recall]`, `[embedder]`); not used by the resolver.
    pub engine: EngineSettings,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            enabled: true,
            default_namespace: NamespaceKey::default_ns(),
            shared_namespace: NamespaceKey::shared(),
            default_recall: vec![RecallEntry::SelfNamespace, RecallEntry::Shared],
            trust_principal_header: false,
            fallback_principal: None,
            session_key_rules: Vec::new(),
            policies: Vec::new(),
            teams: Vec::new(),
            scope_profiles: Vec::new(),
            default_scope_profile: None,
            auto_promote_to_shared: AutoPromoteToShared::default(),
            catalog_enabled: true,
            maintenance: MaintenanceSettings::default(),
            engine: EngineSettings::default(),
        }
    }
}

/// One entry of `default_recall`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecallEntry {
    /// `"self"`: the principal's self namespace.
    SelfNamespace,
    /// `"shared"`: the configured shared namespace.
    Shared,
    /// `"*"`: every namespace the principal can read.
    All,
    /// Any other valid key: that namespace, when readable.
    Namespace(NamespaceKey),
}

/// Who a policy grants: written as `"*"`, `"team:<id>"` or a principal id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalRef {
    /// `"*"`: any authenticated principal.
    Any,
    /// `"team:<id>"`: the `principals` of a configured team.
    Team(String),
    /// A principal id.
    Principal(Principal),
}

/// Read and write lists of one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePolicy {
    /// The namespace (`name` / `namespace`).
    pub namespace: NamespaceKey,
    /// `read` / `readPrincipals`.
    pub read: Vec<PrincipalRef>,
    /// `write` / `writePrincipals`.
    pub write: Vec<PrincipalRef>,
    /// `include_in_recall_by_default` / `includeInRecallByDefault`. Default false.
    pub include_in_recall_by_default: bool,
}

/// How a session-key rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKeyMode {
    /// The session key starts with the pattern.
    Prefix,
    /// The session key equals the pattern.
    Map,
    /// The regex (linear-time `regex` crate) matches the session key; `$1`, `${name}` in the
    /// principal are expanded from its captures.
    Regex,
}

/// One session-key rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKeyRule {
    /// How it matches (the global `principal_from_session_key_mode` unless the rule says).
    pub mode: SessionKeyMode,
    /// The prefix, exact key or regex (at most [`MAX_PATTERN_CHARS`] characters).
    pub pattern: String,
    /// The principal it names (a template with captures for regex rules).
    pub principal: String,
}

/// Longest accepted session-key pattern.
pub const MAX_PATTERN_CHARS: usize = 1024;
/// Session keys longer than this are never regex-matched.
pub const MAX_REGEX_SESSION_KEY_CHARS: usize = 512;

/// A team from trusted configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Team id (a valid namespace key, as it is rendered into namespace names).
    pub id: String,
    /// Members.
    pub principals: Vec<Principal>,
    /// Who may read the team's project namespaces.
    pub read: Vec<Principal>,
    /// Who may write them.
    pub write: Vec<Principal>,
    /// Who may promote memories into them.
    pub promote: Vec<Principal>,
}

/// The layers of a scope profile (seeds/002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScopeLayer {
    /// The principal's self namespace overlaid with the project (and branch) context.
    UserProject,
    /// The team's namespace for the project, rendered from the team-project template.
    TeamProject,
    /// The principal's self namespace without overlay.
    UserGlobal,
    /// The configured shared namespace.
    ServerShared,
}

impl ScopeLayer {
    /// Every layer.
    pub const ALL: [ScopeLayer; 4] =
        [ScopeLayer::UserProject, ScopeLayer::TeamProject, ScopeLayer::UserGlobal, ScopeLayer::ServerShared];

    /// The name used in both dialects (`userProject`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeLayer::UserProject => "userProject",
            ScopeLayer::TeamProject => "teamProject",
            ScopeLayer::UserGlobal => "userGlobal",
            ScopeLayer::ServerShared => "serverShared",
        }
    }

    /// Parses a layer name.
    pub fn parse(name: &str) -> Option<ScopeLayer> {
        ScopeLayer::ALL.into_iter().find(|l| l.as_str() == name)
    }
}

/// A named, layered read order and write default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeProfile {
    /// Profile name.
    pub name: String,
    /// `read_order` / `readOrder`: layers in recall order (no repeats).
    pub read_order: Vec<ScopeLayer>,
    /// `write_default` / `writeDefault`: one of `read_order`.
    pub write_default: ScopeLayer,
    /// `promotion_targets` / `promotionTargets`.
    pub promotion_targets: Vec<ScopeLayer>,
    /// `team_project.namespace_template` / `teamProject.namespaceTemplate`. Default
    /// `team-{teamId}-project-{projectHash}`.
    pub team_project_template: String,
    /// `auto_promote` / `autoPromote`; when present it supersedes the legacy flags while the
    /// profile is active.
    pub auto_promote: Option<ProfileAutoPromote>,
}

/// The default team-project template.
pub const DEFAULT_TEAM_PROJECT_TEMPLATE: &str = "team-{teamId}-project-{projectHash}";

/// A profile's automatic promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileAutoPromote {
    /// Off unless set.
    pub enabled: bool,
    /// Target layers (each one of the profile's `promotion_targets`).
    pub targets: Vec<ScopeLayer>,
    /// Categories that are promoted.
    pub categories: Vec<Category>,
    /// Least confidence tier promoted. Default `explicit`.
    pub min_confidence_tier: ConfidenceTier,
}

/// The legacy auto-promotion into the shared namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoPromoteToShared {
    /// `auto_promote_to_shared` / `autoPromoteToSharedEnabled`. Default false.
    pub enabled: bool,
    /// `auto_promote_categories` / `autoPromoteToSharedCategories`. Default
    /// `fact, correction, decision, preference`.
    pub categories: Vec<Category>,
    /// `auto_promote_min_confidence_tier` / `autoPromoteMinConfidenceTier`. Default `explicit`.
    pub min_confidence_tier: ConfidenceTier,
}

impl Default for AutoPromoteToShared {
    fn default() -> Self {
        AutoPromoteToShared {
            enabled: false,
            categories: ["fact", "correction", "decision", "preference"]
                .into_iter()
                .map(|c| Category::new(c).expect("known category"))
                .collect(),
            min_confidence_tier: ConfidenceTier::Explicit,
        }
    }
}

/// Maintenance fan-out over namespaces (read here so one file configures everything; the
/// maintenance crate acts on it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceSettings {
    /// `maintenance.fanout_enabled` / `maintenanceNamespaceFanoutEnabled`. Default true.
    pub fanout_enabled: bool,
    /// `max_namespaces_per_cycle` / `maintenanceMaxNamespacesPerCycle`. Default 20.
    pub max_namespaces_per_cycle: u32,
    /// `include_project_namespaces` / `maintenanceIncludeProjectNamespaces`. Default true.
    pub include_project_namespaces: bool,
    /// `include_branch_namespaces` / `maintenanceIncludeBranchNamespaces`. Default false.
    pub include_branch_namespaces: bool,
    /// `include_team_project_namespaces` / `maintenanceIncludeTeamProjectNamespaces`. Default true.
    pub include_team_project_namespaces: bool,
    /// `lock_stale_ms` / `maintenanceNamespaceLockStaleMs`. Default 600000.
    pub lock_stale_ms: u64,
}

impl Default for MaintenanceSettings {
    fn default() -> Self {
        MaintenanceSettings {
            fanout_enabled: true,
            max_namespaces_per_cycle: 20,
            include_project_namespaces: true,
            include_branch_namespaces: false,
            include_team_project_namespaces: true,
            lock_stale_ms: 600_000,
        }
    }
}

/// The engine's settings from the configuration file (read here so one file configures
/// everything and one loader checks it; the engine acts on them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineSettings {
    /// `[recall]` / the flat `recall...` keys.
    pub recall: RecallSettings,
    /// `embedder.name` / `embedder`: one of [`EMBEDDER_NAMES`], lowercased and trimmed. `None`
    /// when not configured; the engine then uses its own default.
    pub embedder: Option<String>,
}

/// The embedder names the configuration accepts (matched case-insensitively, surrounding
/// spaces ignored). The same names as `memory-embed`'s `EmbedderSpec::NAMES`, which this
/// crate may not depend on.
pub const EMBEDDER_NAMES: [&str; 6] = ["auto", "hash", "shipped", "minilm", "static", "openai"];

/// How recall ranks and limits what it returns.
#[derive(Debug, Clone, PartialEq)]
pub struct RecallSettings {
    /// `recall.pinned_limit` / `recallPinnedLimit`: most pinned (identity and procedural)
    /// memories per recall, `0..=1000`. Default 20.
    pub pinned_limit: u32,
    /// `recall.recency_half_life_days` / `recencyHalfLifeDays`: half-life of the episodic
    /// recency factor, in days, `> 0` and `<= 36500`. Default 30.
    pub recency_half_life_days: f64,
    /// `recall.read_order_weight` / `recallReadOrderWeight`: rank penalty per read-order
    /// position, as the factor `1 / (1 + weight * position)`, `0..=1`. Default 0.05.
    pub read_order_weight: f64,
    /// `recall.candidates` / `recallCandidates`: ranked candidates fetched from the index before
    /// re-scoring, `1..=1000` (at least the recall's limit is always fetched). Default 50.
    pub candidates: u32,
}

impl RecallSettings {
    /// Largest `pinned_limit`.
    pub const MAX_PINNED_LIMIT: u32 = 1000;
    /// Largest `recency_half_life_days` (100 years).
    pub const MAX_RECENCY_HALF_LIFE_DAYS: f64 = 36_500.0;
    /// Largest `read_order_weight`.
    pub const MAX_READ_ORDER_WEIGHT: f64 = 1.0;
    /// Largest `candidates`.
    pub const MAX_CANDIDATES: u32 = 1000;
}

impl Default for RecallSettings {
    fn default() -> Self {
        RecallSettings { pinned_limit: 20, recency_half_life_days: 30.0, read_order_weight: 0.05, candidates: 50 }
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The configuration is invalid; no policy is produced.
    Error,
    /// Accepted, but probably not what was meant.
    Warning,
}

/// One finding about a configuration, located by its path (`namespaces.policies[2].write[0]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Where: dotted keys and `[index]`, in the file's own dialect.
    pub path: String,
    /// What is wrong, in a sentence.
    pub message: String,
    /// Error or warning.
    pub severity: Severity,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        if self.path.is_empty() {
            write!(f, "{level}: {}", self.message)
        } else {
            write!(f, "{level}: {}: {}", self.path, self.message)
        }
    }
}
