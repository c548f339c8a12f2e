//! The strict configuration loader: the whole configuration file, TOML (`[namespaces]` for
//! the policy, `[recall]` and `[embedder]` for the engine, snake_case) or camelCase JSON
//! (seeds/002, every key flat at the top level) text to a validated [`PolicyConfig`], every
//! problem reported with its path.
//!
//! Both dialects are first parsed into one generic tree (`Node`); a hand-written walker,
//! parameterized only by the dialect's key names (`Keys`), then checks it. Walking by hand
//! (rather than deriving serde) is what lets the loader keep going after the first error,
//! name exact paths (`namespaces.policies[2].write[0]`), say which keys are allowed, and
//! check references between sections (teams, profiles) in the same pass.
//!
//! Hostile input is bounded: text over [`MAX_CONFIG_BYTES`] is refused before parsing (and
//! [`load_file`] refuses before reading it all), both parsers have nesting limits (TOML 80,
//! JSON 128) so nothing recurses deeply, every check is linear or `n log n` in the input,
//! regexes go through the linear-time `regex` crate with compiled-size limits, and at most
//! [`MAX_DIAGNOSTICS`] diagnostics are kept.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Read;
use std::path::Path;

use memory_core::{Category, ConfidenceTier, NamespaceKey, Principal};

use crate::config::{
    AutoPromoteToShared, DEFAULT_TEAM_PROJECT_TEMPLATE, Diagnostic, EMBEDDER_NAMES, EngineSettings, MAX_PATTERN_CHARS,
    MaintenanceSettings, NamespacePolicy, PolicyConfig, PrincipalRef, ProfileAutoPromote, RecallEntry, RecallSettings,
    ScopeLayer, ScopeProfile, SessionKeyMode, SessionKeyRule, Severity, Team,
};
use crate::template::Template;

#[cfg(test)]
mod tests;

/// Largest configuration accepted, in bytes (4 MiB), by [`load_file`] and [`parse`] alike.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// At most this many diagnostics are returned; the rest are counted in a final one. A hostile
/// file of 4 MiB could otherwise produce millions of them.
pub const MAX_DIAGNOSTICS: usize = 1000;

/// Compiled-program size limit for session-key regexes (see [`compile_session_regex`]).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Lazy-DFA cache limit for session-key regexes (see [`compile_session_regex`]).
pub const REGEX_DFA_SIZE_LIMIT: usize = 1 << 20;

/// Most regex session-key rules accepted. Compiling one near the size limit takes
/// milliseconds, and every unauthenticated request may try them all in order; without a cap a
/// 4 MiB file of tiny patterns like `\w{300}` would take minutes to load.
pub const MAX_REGEX_RULES: usize = 256;

/// Longest message kept in a diagnostic; longer ones keep their head and tail (the tail of a
/// library message usually states the rule, the head names the value).
const MAX_MESSAGE_CHARS: usize = 600;

/// Longest quoted value or key inside a message or path.
const MAX_QUOTED_CHARS: usize = 80;

/// Which file format the text is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// snake_case keys in top-level tables: `[namespaces]`, `[recall]`, `[embedder]`.
    Toml,
    /// camelCase keys at the top level of one object (the seeds/002 plugin form, with the
    /// maintenance and engine settings flat beside the policy keys).
    Json,
}

impl Dialect {
    /// The dialect a file name implies: `.json` (any case) is JSON, anything else TOML.
    pub fn for_path(path: &Path) -> Dialect {
        match path.extension() {
            Some(ext) if ext.eq_ignore_ascii_case("json") => Dialect::Json,
            _ => Dialect::Toml,
        }
    }

    fn keys(self) -> &'static Keys {
        match self {
            Dialect::Toml => &TOML_KEYS,
            Dialect::Json => &JSON_KEYS,
        }
    }
}

/// Top-level TOML sections that other crates own (`[server]`: memory-server's settings). The
/// loader only checks that each is a table and hands it over in [`Loaded::sections`]; the
/// owning crate validates it as strictly, naming paths under the section.
pub const FOREIGN_SECTIONS: &[&str] = &["server"];

/// A successfully loaded configuration and the warnings found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The validated configuration.
    pub config: PolicyConfig,
    /// The [`FOREIGN_SECTIONS`] present, as JSON objects, by name.
    pub sections: std::collections::BTreeMap<String, serde_json::Value>,
    /// Things that are accepted but probably not meant (severity [`Severity::Warning`]).
    pub warnings: Vec<Diagnostic>,
}

/// Parses and validates configuration text.
///
/// On failure returns every error found (and any warnings), each with its path. Never panics;
/// time and memory are bounded for any input (see the module documentation). Empty text
/// (or only whitespace) is a valid configuration with all defaults, in both dialects; a
/// leading byte-order mark is ignored.
pub fn parse(text: &str, dialect: Dialect) -> Result<Loaded, Vec<Diagnostic>> {
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(vec![too_big(text.len() as u64, "the configuration text")]);
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let doc = if text.trim().is_empty() {
        Node::Table(Vec::new())
    } else {
        match dialect {
            Dialect::Toml => parse_toml(text)?,
            Dialect::Json => parse_json(text)?,
        }
    };
    let keys = dialect.keys();
    let mut walker = Walker::new(keys);
    let config = walker.document(&doc);
    let failed = walker.errors > 0;
    let sections = std::mem::take(&mut walker.foreign);
    let diags = walker.finish();
    if failed { Err(diags) } else { Ok(Loaded { config, sections, warnings: diags }) }
}

/// Reads and validates a configuration file; `.json` is JSON, anything else TOML.
///
/// The size is checked before the file is read (and reading stops after
/// [`MAX_CONFIG_BYTES`] in case the file grows or is not a regular file); invalid UTF-8 is
/// reported with its byte offset and line.
pub fn load_file(path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let shown = path.display();
    let io_error = |what: &str, e: std::io::Error| vec![error_at("", format!("cannot {what} {shown}: {e}"))];
    let file = std::fs::File::open(path).map_err(|e| io_error("open", e))?;
    let meta = file.metadata().map_err(|e| io_error("inspect", e))?;
    if meta.is_dir() {
        return Err(vec![error_at("", format!("{shown} is a directory, not a configuration file"))]);
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(vec![too_big(meta.len(), &shown.to_string())]);
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes).map_err(|e| io_error("read", e))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(vec![error_at(
            "",
            format!("{shown} is larger than {MAX_CONFIG_BYTES} bytes (4 MiB), the largest configuration accepted"),
        )]);
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
        vec![error_at("", format!("{shown} is not valid UTF-8: invalid byte at offset {at} (line {line})"))]
    })?;
    parse(&text, Dialect::for_path(path))
}

/// Compiles a session-key regex exactly as the loader validates it: the linear-time `regex`
/// crate (no catastrophic backtracking is possible), at most [`MAX_PATTERN_CHARS`]
/// characters, and compiled-size limits so a pattern like `a{1000}{1000}` is refused rather
/// than allocating without bound. Use this wherever rules are compiled so that what loads
/// also compiles.
pub fn compile_session_regex(pattern: &str) -> Result<regex::Regex, String> {
    let chars = pattern.chars().count();
    if chars > MAX_PATTERN_CHARS {
        return Err(format!("the pattern is {chars} characters long; at most {MAX_PATTERN_CHARS} are allowed"));
    }
    regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).dfa_size_limit(REGEX_DFA_SIZE_LIMIT).build().map_err(
        |e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("the regex is too big: it compiles to more than the limit of {limit} bytes")
            }
            other => format!("invalid regex: {other}"),
        },
    )
}

fn error_at(path: &str, message: String) -> Diagnostic {
    Diagnostic { path: path.to_owned(), message, severity: Severity::Error }
}

fn too_big(size: u64, what: &str) -> Diagnostic {
    error_at(
        "",
        format!("{what} is {size} bytes; at most {MAX_CONFIG_BYTES} bytes (4 MiB) are accepted for a configuration"),
    )
}

// ---------------------------------------------------------------------------------------------
// The generic tree.

/// A parsed document, the same for both dialects. Tables keep every entry in file order,
/// including repeated keys (which only JSON can produce), so the walker can report them
/// instead of the parser silently keeping the last one.
#[derive(Debug, Clone, PartialEq)]
enum Node {
    Null,
    Bool(bool),
    /// Wide enough for every TOML integer and every JSON integer (`i64` and `u64`).
    Int(i128),
    Float(f64),
    Str(String),
    /// TOML only; never valid in this configuration, kept to name it in errors.
    Datetime,
    Array(Vec<Node>),
    Table(Vec<(String, Node)>),
}

/// A node as JSON (datetimes, never valid here, become their name).
fn json_of(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => i64::try_from(*i)
            .map(Value::from)
            .or_else(|_| u64::try_from(*i).map(Value::from))
            .unwrap_or_else(|_| Value::from(*i as f64)),
        Node::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        Node::Str(s) => Value::String(s.clone()),
        Node::Datetime => Value::String("datetime".into()),
        Node::Array(items) => Value::Array(items.iter().map(json_of).collect()),
        Node::Table(entries) => Value::Object(entries.iter().map(|(k, v)| (k.clone(), json_of(v))).collect()),
    }
}

fn parse_toml(text: &str) -> Result<Node, Vec<Diagnostic>> {
    // Straight into `Node` (not via `toml::Table`, which hashes every key into an index map
    // only for us to copy it). `toml` limits nesting itself (80 levels), so this cannot
    // recurse deeply.
    toml::from_str::<Node>(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_column(text, s.start)).unwrap_or((1, 1));
        let message = e.message().trim_end();
        vec![error_at("", format!("TOML syntax error at line {line}, column {column}: {message}"))]
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

fn parse_json(text: &str) -> Result<Node, Vec<Diagnostic>> {
    // serde_json stops at 128 levels of nesting whatever the target type, so deserializing
    // into `Node` cannot overflow the stack.
    serde_json::from_str::<Node>(text).map_err(|e| vec![error_at("", format!("JSON syntax error: {e}"))])
}

impl<'de> serde::Deserialize<'de> for Node {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

/// The one key of the map `toml` deserializes a datetime as (`toml_datetime`'s private field).
const TOML_DATETIME_FIELD: &str = "$__toml_private_datetime";

impl<'de> serde::de::Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }

    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            if entries.is_empty() && key == TOML_DATETIME_FIELD {
                // How `toml` hands a datetime to serde; never valid here, kept to name it.
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                return Ok(Node::Datetime);
            }
            entries.push((key, map.next_value::<Node>()?));
        }
        Ok(Node::Table(entries))
    }
}

// ---------------------------------------------------------------------------------------------
// Key names of the two dialects.

/// The spellings of one setting; the first is the canonical one, the others aliases.
type Key = &'static [&'static str];

/// Where a dialect puts its settings.
#[derive(Debug)]
enum Layout {
    /// TOML: the policy keys in one top-level table, the engine settings in tables of their own.
    Sections { policy: Key, recall: Key, embedder: Key },
    /// JSON: every key flat at the top level of the document.
    Flat,
}

/// Every key name the walker looks for, per dialect.
#[derive(Debug)]
struct Keys {
    layout: Layout,
    /// "a table" / "an object", for type errors.
    table_word: &'static str,
    enabled: Key,
    default_namespace: Key,
    shared_namespace: Key,
    default_recall: Key,
    trust_principal_header: Key,
    fallback_principal: Key,
    session_key_mode: Key,
    session_key_rules: Key,
    policies: Key,
    teams: Key,
    scope_profiles: Key,
    default_scope_profile: Key,
    auto_promote_to_shared: Key,
    auto_promote_categories: Key,
    auto_promote_min_tier: Key,
    catalog_enabled: Key,
    /// TOML nests the maintenance keys in a table; JSON has them flat at the top level.
    maintenance: Option<Key>,
    fanout_enabled: Key,
    max_namespaces_per_cycle: Key,
    include_project: Key,
    include_branch: Key,
    include_team_project: Key,
    lock_stale_ms: Key,
    policy_name: Key,
    policy_read: Key,
    policy_write: Key,
    policy_include: Key,
    rule_match: Key,
    rule_principal: Key,
    rule_mode: Key,
    team_id: Key,
    team_principals: Key,
    team_read: Key,
    team_write: Key,
    team_promote: Key,
    profile_name: Key,
    read_order: Key,
    write_default: Key,
    promotion_targets: Key,
    team_project: Key,
    namespace_template: Key,
    auto_promote: Key,
    ap_enabled: Key,
    ap_targets: Key,
    ap_categories: Key,
    ap_min_tier: Key,
    pinned_limit: Key,
    recency_half_life_days: Key,
    read_order_weight: Key,
    candidates: Key,
    /// The embedder's name: `name` in TOML's `[embedder]`, `embedder` itself in JSON.
    embedder_name: Key,
}

static TOML_KEYS: Keys = Keys {
    layout: Layout::Sections { policy: &["namespaces"], recall: &["recall"], embedder: &["embedder"] },
    table_word: "a table",
    enabled: &["enabled"],
    default_namespace: &["default_namespace"],
    shared_namespace: &["shared_namespace"],
    default_recall: &["default_recall"],
    trust_principal_header: &["trust_principal_header"],
    fallback_principal: &["fallback_principal"],
    session_key_mode: &["principal_from_session_key_mode"],
    session_key_rules: &["session_key_rules"],
    policies: &["policies"],
    teams: &["teams"],
    scope_profiles: &["scope_profiles"],
    default_scope_profile: &["default_scope_profile"],
    auto_promote_to_shared: &["auto_promote_to_shared"],
    auto_promote_categories: &["auto_promote_categories"],
    auto_promote_min_tier: &["auto_promote_min_confidence_tier"],
    catalog_enabled: &["catalog_enabled"],
    maintenance: Some(&["maintenance"]),
    fanout_enabled: &["fanout_enabled"],
    max_namespaces_per_cycle: &["max_namespaces_per_cycle"],
    include_project: &["include_project_namespaces"],
    include_branch: &["include_branch_namespaces"],
    include_team_project: &["include_team_project_namespaces"],
    lock_stale_ms: &["lock_stale_ms"],
    policy_name: &["name", "namespace"],
    policy_read: &["read"],
    policy_write: &["write"],
    policy_include: &["include_in_recall_by_default"],
    rule_match: &["match"],
    rule_principal: &["principal"],
    rule_mode: &["mode"],
    team_id: &["id"],
    team_principals: &["principals"],
    team_read: &["read"],
    team_write: &["write"],
    team_promote: &["promote"],
    profile_name: &["name"],
    read_order: &["read_order"],
    write_default: &["write_default"],
    promotion_targets: &["promotion_targets"],
    team_project: &["team_project"],
    namespace_template: &["namespace_template"],
    auto_promote: &["auto_promote"],
    ap_enabled: &["enabled"],
    ap_targets: &["targets"],
    ap_categories: &["categories"],
    ap_min_tier: &["min_confidence_tier"],
    pinned_limit: &["pinned_limit"],
    recency_half_life_days: &["recency_half_life_days"],
    read_order_weight: &["read_order_weight"],
    candidates: &["candidates"],
    embedder_name: &["name"],
};

static JSON_KEYS: Keys = Keys {
    layout: Layout::Flat,
    table_word: "an object",
    enabled: &["namespacesEnabled"],
    default_namespace: &["defaultNamespace"],
    shared_namespace: &["sharedNamespace"],
    default_recall: &["defaultRecallNamespaces"],
    trust_principal_header: &["trustPrincipalHeader"],
    fallback_principal: &["fallbackPrincipal"],
    session_key_mode: &["principalFromSessionKeyMode"],
    session_key_rules: &["principalFromSessionKeyRules"],
    policies: &["namespacePolicies"],
    teams: &["teams"],
    scope_profiles: &["scopeProfiles"],
    default_scope_profile: &["defaultScopeProfile"],
    auto_promote_to_shared: &["autoPromoteToSharedEnabled"],
    auto_promote_categories: &["autoPromoteToSharedCategories"],
    auto_promote_min_tier: &["autoPromoteMinConfidenceTier"],
    catalog_enabled: &["namespaceCatalogEnabled"],
    maintenance: None,
    fanout_enabled: &["maintenanceNamespaceFanoutEnabled"],
    max_namespaces_per_cycle: &["maintenanceMaxNamespacesPerCycle"],
    include_project: &["maintenanceIncludeProjectNamespaces"],
    include_branch: &["maintenanceIncludeBranchNamespaces"],
    include_team_project: &["maintenanceIncludeTeamProjectNamespaces"],
    lock_stale_ms: &["maintenanceNamespaceLockStaleMs"],
    policy_name: &["name", "namespace"],
    policy_read: &["readPrincipals", "read"],
    policy_write: &["writePrincipals", "write"],
    policy_include: &["includeInRecallByDefault"],
    rule_match: &["match"],
    rule_principal: &["principal"],
    rule_mode: &["mode"],
    team_id: &["id"],
    team_principals: &["principals"],
    team_read: &["read"],
    team_write: &["write"],
    team_promote: &["promote"],
    profile_name: &["name"],
    read_order: &["readOrder"],
    write_default: &["writeDefault"],
    promotion_targets: &["promotionTargets"],
    team_project: &["teamProject"],
    namespace_template: &["namespaceTemplate"],
    auto_promote: &["autoPromote"],
    ap_enabled: &["enabled"],
    ap_targets: &["targets"],
    ap_categories: &["categories"],
    ap_min_tier: &["minConfidenceTier"],
    pinned_limit: &["recallPinnedLimit"],
    recency_half_life_days: &["recencyHalfLifeDays"],
    read_order_weight: &["recallReadOrderWeight"],
    candidates: &["recallCandidates"],
    embedder_name: &["embedder"],
};

impl Keys {
    /// The keys of the policy settings: the `[namespaces]` table in TOML, part of the top
    /// level in JSON.
    fn policy_keys(&self) -> Vec<Key> {
        let mut spec = vec![
            self.enabled,
            self.default_namespace,
            self.shared_namespace,
            self.default_recall,
            self.trust_principal_header,
            self.fallback_principal,
            self.session_key_mode,
            self.session_key_rules,
            self.policies,
            self.teams,
            self.scope_profiles,
            self.default_scope_profile,
            self.auto_promote_to_shared,
            self.auto_promote_categories,
            self.auto_promote_min_tier,
            self.catalog_enabled,
        ];
        match self.maintenance {
            Some(nested) => spec.push(nested),
            None => spec.extend(self.maintenance_keys()),
        }
        spec
    }

    /// Every key of the JSON top level (the policy, maintenance and engine settings).
    fn flat_keys(&self) -> Vec<Key> {
        let mut spec = self.policy_keys();
        spec.extend(self.recall_keys());
        spec.push(self.embedder_name);
        spec
    }

    fn recall_keys(&self) -> [Key; 4] {
        [self.pinned_limit, self.recency_half_life_days, self.read_order_weight, self.candidates]
    }

    /// Every key name of the dialect, nested ones included; destructured whole, so a new key
    /// cannot be left out (the configuration reference is checked against it).
    #[cfg(test)]
    fn every_name(&self) -> Vec<&'static str> {
        let Keys {
            layout,
            table_word: _,
            maintenance,
            enabled,
            default_namespace,
            shared_namespace,
            default_recall,
            trust_principal_header,
            fallback_principal,
            session_key_mode,
            session_key_rules,
            policies,
            teams,
            scope_profiles,
            default_scope_profile,
            auto_promote_to_shared,
            auto_promote_categories,
            auto_promote_min_tier,
            catalog_enabled,
            fanout_enabled,
            max_namespaces_per_cycle,
            include_project,
            include_branch,
            include_team_project,
            lock_stale_ms,
            policy_name,
            policy_read,
            policy_write,
            policy_include,
            rule_match,
            rule_principal,
            rule_mode,
            team_id,
            team_principals,
            team_read,
            team_write,
            team_promote,
            profile_name,
            read_order,
            write_default,
            promotion_targets,
            team_project,
            namespace_template,
            auto_promote,
            ap_enabled,
            ap_targets,
            ap_categories,
            ap_min_tier,
            pinned_limit,
            recency_half_life_days,
            read_order_weight,
            candidates,
            embedder_name,
        } = self;
        let mut names: Vec<&'static str> = match layout {
            Layout::Sections { policy, recall, embedder } => [*policy, *recall, *embedder].concat(),
            Layout::Flat => Vec::new(),
        };
        names.extend(maintenance.iter().flat_map(|k| k.iter()));
        for key in [
            enabled,
            default_namespace,
            shared_namespace,
            default_recall,
            trust_principal_header,
            fallback_principal,
            session_key_mode,
            session_key_rules,
            policies,
            teams,
            scope_profiles,
            default_scope_profile,
            auto_promote_to_shared,
            auto_promote_categories,
            auto_promote_min_tier,
            catalog_enabled,
            fanout_enabled,
            max_namespaces_per_cycle,
            include_project,
            include_branch,
            include_team_project,
            lock_stale_ms,
            policy_name,
            policy_read,
            policy_write,
            policy_include,
            rule_match,
            rule_principal,
            rule_mode,
            team_id,
            team_principals,
            team_read,
            team_write,
            team_promote,
            profile_name,
            read_order,
            write_default,
            promotion_targets,
            team_project,
            namespace_template,
            auto_promote,
            ap_enabled,
            ap_targets,
            ap_categories,
            ap_min_tier,
            pinned_limit,
            recency_half_life_days,
            read_order_weight,
            candidates,
            embedder_name,
        ] {
            names.extend(key.iter());
        }
        names
    }

    fn maintenance_keys(&self) -> [Key; 6] {
        [
            self.fanout_enabled,
            self.max_namespaces_per_cycle,
            self.include_project,
            self.include_branch,
            self.include_team_project,
            self.lock_stale_ms,
        ]
    }
}

// ---------------------------------------------------------------------------------------------
// Paths and message helpers.

/// A key as a path segment: bare when it is a plain identifier, else quoted like a TOML key.
fn segment(key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if bare && key.len() <= MAX_QUOTED_CHARS { key.to_owned() } else { quote(key) }
}

/// A value for a message or path: quoted and escaped the way TOML and JSON write strings, and
/// cut short when long.
fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(4 * MAX_QUOTED_CHARS) + 2);
    out.push('"');
    for c in value.chars().take(MAX_QUOTED_CHARS) {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    if value.len() > MAX_QUOTED_CHARS {
        let total = value.chars().count();
        if total > MAX_QUOTED_CHARS {
            out.push_str(&format!("... ({total} characters)"));
        }
    }
    out
}

/// Keeps head and tail of an overlong message.
fn clip_message(message: String) -> String {
    let chars = message.chars().count();
    if chars <= MAX_MESSAGE_CHARS {
        return message;
    }
    let head: String = message.chars().take(MAX_MESSAGE_CHARS / 2).collect();
    let tail: String = message.chars().skip(chars - MAX_MESSAGE_CHARS / 3).collect();
    format!("{head} [...] {tail}")
}

fn kind(node: &Node, table_word: &'static str) -> &'static str {
    match node {
        Node::Null => "null",
        Node::Bool(_) => "a boolean",
        Node::Int(_) => "an integer",
        Node::Float(_) => "a float",
        Node::Str(_) => "a string",
        Node::Datetime => "a datetime",
        Node::Array(_) => "an array",
        Node::Table(_) => table_word,
    }
}

fn describe(key: Key) -> String {
    match key {
        [one] => (*one).to_owned(),
        [first, rest @ ..] => format!("{first} (or {})", rest.join(", ")),
        [] => String::new(),
    }
}

/// A list of names for a message, at most ten of them.
fn name_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        return "none".to_owned();
    }
    let mut shown: Vec<String> = names.iter().take(10).map(|n| quote(n)).collect();
    if names.len() > 10 {
        shown.push(format!("and {} more", names.len() - 10));
    }
    shown.join(", ")
}

// ---------------------------------------------------------------------------------------------
// The walker.

/// A path, as an index into the walker's path arena. Paths are rendered to text only when a
/// diagnostic needs one: building a `String` for every node visited made loading 100k
/// policies several times slower.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PathId(usize);

/// The root path (the empty string).
const ROOT: PathId = PathId(0);

/// The last segment of a path.
#[derive(Debug, Clone, Copy)]
enum Seg<'n> {
    Key(&'n str),
    Index(usize),
}

/// A node and where it is.
#[derive(Debug, Clone, Copy)]
struct At<'n> {
    node: &'n Node,
    path: PathId,
}

/// The entries of one table matched against the keys it may contain.
#[derive(Debug)]
struct Fields<'n> {
    /// Per allowed key: the spelling used and the value.
    slots: Vec<(Key, Option<(&'n str, At<'n>)>)>,
}

impl<'n> Fields<'n> {
    fn empty() -> Fields<'n> {
        Fields { slots: Vec::new() }
    }

    /// The value of `key`, if the table has it (each is taken once).
    fn take(&mut self, key: Key) -> Option<At<'n>> {
        self.slots.iter_mut().find(|(k, _)| k[0] == key[0]).and_then(|(_, slot)| slot.take()).map(|(_, at)| at)
    }
}

/// One entry of a section written either as a map (`name = {...}`) or an array of tables
/// with a name key.
#[derive(Debug)]
struct Entry<'n> {
    /// The entry's own path (`policies[2]` or `policies.alpha`).
    path: PathId,
    /// The name (map key, or the name key's value) and its path; `None` when missing or
    /// invalid (already reported).
    name: Option<(&'n str, PathId)>,
    fields: Fields<'n>,
}

/// What the keys of a table are called in messages.
#[derive(Debug, Clone, Copy)]
enum Level {
    /// Keys inside a table.
    Key,
    /// The top-level tables of a TOML file.
    Section,
}

/// A map-form or array-form section.
enum Form<'n> {
    Map(Vec<(&'n str, At<'n>)>),
    Array(Vec<At<'n>>),
}

/// The ids of the configured teams, for `team:<id>` references.
#[derive(Debug, Default)]
struct TeamIds {
    /// In config order, for messages.
    order: Vec<String>,
    set: HashSet<String>,
}

/// A parsed session-key rule and where it came from, for the shadowing warnings.
struct RuleAt {
    rule: SessionKeyRule,
    path: PathId,
}

struct Walker<'n> {
    keys: &'static Keys,
    diags: Vec<Diagnostic>,
    /// Every error, including those not kept.
    errors: usize,
    dropped_errors: usize,
    dropped_warnings: usize,
    /// Parent and last segment of every path handed out; entry 0 is the root.
    paths: Vec<(PathId, Seg<'n>)>,
    /// Regex rules seen so far, for [`MAX_REGEX_RULES`].
    regex_rules: usize,
    /// The foreign sections found (see [`FOREIGN_SECTIONS`]).
    foreign: std::collections::BTreeMap<String, serde_json::Value>,
}

impl<'n> Walker<'n> {
    fn new(keys: &'static Keys) -> Walker<'n> {
        Walker {
            keys,
            diags: Vec::new(),
            errors: 0,
            dropped_errors: 0,
            dropped_warnings: 0,
            paths: vec![(ROOT, Seg::Key(""))],
            regex_rules: 0,
            foreign: std::collections::BTreeMap::new(),
        }
    }

    // --- Paths and diagnostics --------------------------------------------------------------

    fn child(&mut self, parent: PathId, key: &'n str) -> PathId {
        self.paths.push((parent, Seg::Key(key)));
        PathId(self.paths.len() - 1)
    }

    fn index(&mut self, parent: PathId, i: usize) -> PathId {
        self.paths.push((parent, Seg::Index(i)));
        PathId(self.paths.len() - 1)
    }

    /// The text of a path: dotted keys and `[index]`, in the file's own spelling.
    fn path(&self, id: PathId) -> String {
        let mut segs = Vec::new();
        let mut at = id;
        while at != ROOT {
            let (parent, seg) = self.paths[at.0];
            segs.push(seg);
            at = parent;
        }
        let mut out = String::new();
        for seg in segs.into_iter().rev() {
            match seg {
                Seg::Key(key) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(&segment(key));
                }
                Seg::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn push(&mut self, path: PathId, message: String, severity: Severity) {
        if severity == Severity::Error {
            self.errors += 1;
        }
        if self.diags.len() >= MAX_DIAGNOSTICS {
            match severity {
                Severity::Error => self.dropped_errors += 1,
                Severity::Warning => self.dropped_warnings += 1,
            }
            return;
        }
        let path = self.path(path);
        self.diags.push(Diagnostic { path, message: clip_message(message), severity });
    }

    fn error(&mut self, path: PathId, message: impl Into<String>) {
        self.push(path, message.into(), Severity::Error);
    }

    fn warn(&mut self, path: PathId, message: impl Into<String>) {
        self.push(path, message.into(), Severity::Warning);
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        let dropped = self.dropped_errors + self.dropped_warnings;
        if dropped > 0 {
            let severity = if self.dropped_errors > 0 { Severity::Error } else { Severity::Warning };
            self.diags.push(Diagnostic {
                path: String::new(),
                message: format!(
                    "{dropped} more problems not shown ({} errors, {} warnings); only the first {MAX_DIAGNOSTICS} are listed",
                    self.dropped_errors, self.dropped_warnings
                ),
                severity,
            });
        }
        self.diags
    }

    // --- Shapes -----------------------------------------------------------------------------

    fn type_error(&mut self, at: At<'n>, expected: &str) {
        let found = kind(at.node, self.keys.table_word);
        self.error(at.path, format!("expected {expected}, found {found}"));
    }

    fn repeated_key(&mut self, path: PathId, key: &str) {
        self.error(path, format!("the key {} appears more than once; give it only once", quote(key)));
    }

    /// The entries of a table, first occurrence of each key only; repeated keys (JSON) are
    /// errors, since a parser would otherwise silently keep one of them.
    fn table(&mut self, at: At<'n>) -> Option<Vec<(&'n str, At<'n>)>> {
        let Node::Table(entries) = at.node else {
            let expected = self.keys.table_word;
            self.type_error(at, expected);
            return None;
        };
        let mut out = Vec::with_capacity(entries.len());
        let mut seen: HashSet<&str> = HashSet::with_capacity(entries.len());
        for (key, node) in entries {
            let path = self.child(at.path, key);
            if seen.insert(key.as_str()) {
                out.push((key.as_str(), At { node, path }));
            } else {
                self.repeated_key(path, key);
            }
        }
        Some(out)
    }

    /// Matches a table's keys against the allowed ones; unknown keys, repeated keys and two
    /// spellings of one setting are errors.
    fn fields(&mut self, at: At<'n>, spec: &[Key]) -> Option<Fields<'n>> {
        self.match_keys(at, spec, Level::Key)
    }

    /// [`Walker::fields`] for the top-level tables of a TOML file, which are called sections
    /// in messages (`unknown section "server"; allowed sections: [namespaces], ...`).
    fn sections(&mut self, at: At<'n>, spec: &[Key]) -> Option<Fields<'n>> {
        self.match_keys(at, spec, Level::Section)
    }

    fn match_keys(&mut self, at: At<'n>, spec: &[Key], level: Level) -> Option<Fields<'n>> {
        let Node::Table(entries) = at.node else {
            let expected = self.keys.table_word;
            self.type_error(at, expected);
            return None;
        };
        let mut fields = Fields { slots: spec.iter().map(|k| (*k, None)).collect() };
        for (key, node) in entries {
            let path = self.child(at.path, key);
            match spec.iter().position(|k| k.contains(&key.as_str())) {
                None => {
                    let message = match level {
                        Level::Key => {
                            let allowed: Vec<String> = spec.iter().copied().map(describe).collect();
                            format!("unknown key {}; allowed keys: {}", quote(key), allowed.join(", "))
                        }
                        Level::Section => {
                            let allowed: Vec<String> = spec.iter().map(|k| format!("[{}]", k[0])).collect();
                            format!("unknown section {}; allowed sections: {}", quote(key), allowed.join(", "))
                        }
                    };
                    self.error(path, message);
                }
                Some(i) => match fields.slots[i].1 {
                    Some((earlier, _)) if earlier == key => self.repeated_key(path, key),
                    Some((earlier, _)) => {
                        self.error(
                            path,
                            format!("{} and {} are the same setting; give only one", quote(key), quote(earlier)),
                        );
                    }
                    None => fields.slots[i].1 = Some((key, At { node, path })),
                },
            }
        }
        Some(fields)
    }

    fn form(&mut self, at: At<'n>) -> Option<Form<'n>> {
        match at.node {
            Node::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, node) in items.iter().enumerate() {
                    out.push(At { node, path: self.index(at.path, i) });
                }
                Some(Form::Array(out))
            }
            Node::Table(_) => self.table(at).map(Form::Map),
            _ => {
                let expected = format!("an array or {}", self.keys.table_word);
                self.type_error(at, &expected);
                None
            }
        }
    }

    /// The entries of a section in map form (`name = {body}`) or array form (`[{name, body}]`).
    fn named_entries(&mut self, at: At<'n>, name_key: Key, body: &[Key]) -> Vec<Entry<'n>> {
        let mut out = Vec::new();
        match self.form(at) {
            None => {}
            Some(Form::Map(entries)) => {
                out.reserve(entries.len());
                for (key, value) in entries {
                    let name = self.key_text(key, value.path).map(|k| (k, value.path));
                    let fields = self.fields(value, body).unwrap_or_else(Fields::empty);
                    out.push(Entry { path: value.path, name, fields });
                }
            }
            Some(Form::Array(items)) => {
                out.reserve(items.len());
                let mut spec = vec![name_key];
                spec.extend_from_slice(body);
                for item in items {
                    let Some(mut fields) = self.fields(item, &spec) else { continue };
                    let name = match fields.take(name_key) {
                        Some(n) => self.string(n).map(|s| (s, n.path)),
                        None => {
                            self.error(item.path, format!("missing required key {}", quote(name_key[0])));
                            None
                        }
                    };
                    out.push(Entry { path: item.path, name, fields });
                }
            }
        }
        out
    }

    // --- Scalars ----------------------------------------------------------------------------

    fn boolean(&mut self, at: At<'n>) -> Option<bool> {
        match at.node {
            Node::Bool(b) => Some(*b),
            _ => {
                self.type_error(at, "a boolean");
                None
            }
        }
    }

    fn set_bool(&mut self, fields: &mut Fields<'n>, key: Key, target: &mut bool) {
        if let Some(at) = fields.take(key)
            && let Some(b) = self.boolean(at)
        {
            *target = b;
        }
    }

    fn uint(&mut self, at: At<'n>, max: u64) -> Option<u64> {
        match at.node {
            Node::Int(i) if *i < 0 => {
                self.error(at.path, format!("must not be negative (found {i})"));
                None
            }
            Node::Int(i) if *i > i128::from(max) => {
                self.error(at.path, format!("{i} is too large; at most {max} is allowed"));
                None
            }
            Node::Int(i) => u64::try_from(*i).ok(),
            _ => {
                self.type_error(at, "a non-negative integer");
                None
            }
        }
    }

    /// An integer in `min..=max`.
    fn uint_in(&mut self, at: At<'n>, min: u64, max: u64) -> Option<u64> {
        let n = self.uint(at, max)?;
        if n < min {
            self.error(at.path, format!("{n} is too small; at least {min} is required"));
            return None;
        }
        Some(n)
    }

    /// A number, integer or float, in `min..=max` (`min < x <= max` when `min` is exclusive).
    /// NaN and the infinities (which TOML can write) are out of every range.
    fn number(&mut self, at: At<'n>, min: f64, min_exclusive: bool, max: f64) -> Option<f64> {
        let (value, shown) = match at.node {
            // Precision lost above 2^53 cannot matter: such integers are out of every range.
            Node::Int(i) => (*i as f64, i.to_string()),
            Node::Float(f) => (*f, f.to_string()),
            _ => {
                self.type_error(at, "a number");
                return None;
            }
        };
        let above_min = if min_exclusive { value > min } else { value >= min };
        if above_min && value <= max {
            // -0.0 becomes 0.0, so both dialects give bit-identical values.
            return Some(value + 0.0);
        }
        let range = if min_exclusive {
            format!("greater than {min} and at most {max}")
        } else {
            format!("between {min} and {max}")
        };
        self.error(at.path, format!("must be {range} (found {shown})"));
        None
    }

    fn string(&mut self, at: At<'n>) -> Option<&'n str> {
        match at.node {
            Node::Str(s) => self.key_text(s, at.path),
            _ => {
                self.type_error(at, "a string");
                None
            }
        }
    }

    /// Text from the file used as a value (a string, or a map key used as a name): NUL bytes
    /// are refused everywhere, as they truncate names in C-based tools and logs.
    fn key_text(&mut self, text: &'n str, path: PathId) -> Option<&'n str> {
        if text.contains('\0') {
            self.error(path, format!("{} contains a NUL byte, which is not allowed", quote(text)));
            None
        } else {
            Some(text)
        }
    }

    fn namespace(&mut self, text: &str, path: PathId) -> Option<NamespaceKey> {
        match NamespaceKey::new(text) {
            Ok(key) => Some(key),
            Err(e) => {
                self.error(path, format!("invalid namespace key: {e}"));
                None
            }
        }
    }

    fn namespace_at(&mut self, at: At<'n>) -> Option<NamespaceKey> {
        let text = self.string(at)?;
        self.namespace(text, at.path)
    }

    /// A concrete principal id: not `"*"`, not a team reference.
    fn principal(&mut self, text: &str, path: PathId) -> Option<Principal> {
        let trimmed = text.trim();
        if trimmed == "*" {
            self.error(path, "\"*\" (any principal) is not allowed here; name one principal");
            return None;
        }
        if trimmed.starts_with("team:") {
            self.error(
                path,
                format!("{} is a team reference, which is not allowed here; name one principal", quote(text)),
            );
            return None;
        }
        match Principal::new(trimmed) {
            Ok(p) => Some(p),
            Err(e) => {
                self.error(path, e.message().to_owned());
                None
            }
        }
    }

    fn principal_at(&mut self, at: At<'n>) -> Option<Principal> {
        let text = self.string(at)?;
        self.principal(text, at.path)
    }

    /// A policy grant: `"*"`, `"team:<id>"` (the team must exist) or a principal.
    fn principal_ref(&mut self, at: At<'n>, teams: &TeamIds) -> Option<PrincipalRef> {
        let text = self.string(at)?;
        let trimmed = text.trim();
        if trimmed == "*" {
            return Some(PrincipalRef::Any);
        }
        let Some(id) = trimmed.strip_prefix("team:") else {
            return self.principal(trimmed, at.path).map(PrincipalRef::Principal);
        };
        let id = id.trim();
        if id.is_empty() {
            self.error(at.path, "\"team:\" names no team; write \"team:<id>\"");
            return None;
        }
        // Team ids are stored normalized (they are namespace keys), so normalize the reference too.
        let normalized = NamespaceKey::new(id).map(|k| k.as_str().to_owned()).unwrap_or_else(|_| id.to_owned());
        if teams.set.contains(&normalized) {
            Some(PrincipalRef::Team(normalized))
        } else {
            let known = name_list(teams.order.iter().map(String::as_str));
            self.error(at.path, format!("unknown team {}; configured teams: {known}", quote(id)));
            None
        }
    }

    /// Applies `item` to each element of an array; failed elements are reported and skipped.
    fn list<T>(&mut self, at: At<'n>, mut item: impl FnMut(&mut Self, At<'n>) -> Option<T>) -> Vec<(T, PathId)> {
        let Node::Array(items) = at.node else {
            self.type_error(at, "an array");
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, node) in items.iter().enumerate() {
            let at = At { node, path: self.index(at.path, i) };
            if let Some(value) = item(self, at) {
                out.push((value, at.path));
            }
        }
        out
    }

    fn principals(&mut self, at: At<'n>) -> Vec<(Principal, PathId)> {
        self.list(at, Self::principal_at)
    }

    fn principal_refs(&mut self, at: At<'n>, teams: &TeamIds) -> Vec<PrincipalRef> {
        self.list(at, |w, at| w.principal_ref(at, teams)).into_iter().map(|(r, _)| r).collect()
    }

    fn layer(&mut self, at: At<'n>) -> Option<ScopeLayer> {
        let text = self.string(at)?;
        let layer = ScopeLayer::parse(text.trim());
        if layer.is_none() {
            let known: Vec<&str> = ScopeLayer::ALL.iter().map(|l| l.as_str()).collect();
            self.error(at.path, format!("unknown layer {}; expected one of: {}", quote(text), known.join(", ")));
        }
        layer
    }

    /// Distinct layers and where each is; a repeat is an error naming the first occurrence.
    fn layers_at(&mut self, at: At<'n>) -> Vec<(ScopeLayer, PathId)> {
        let mut out: Vec<(ScopeLayer, PathId)> = Vec::new();
        for (layer, path) in self.list(at, Self::layer) {
            if let Some(&(_, first)) = out.iter().find(|(l, _)| *l == layer) {
                let first = self.path(first);
                self.error(path, format!("layer {} is listed twice (first at {first})", layer.as_str()));
            } else {
                out.push((layer, path));
            }
        }
        out
    }

    fn layers(&mut self, at: At<'n>) -> Vec<ScopeLayer> {
        self.layers_at(at).into_iter().map(|(l, _)| l).collect()
    }

    fn categories(&mut self, at: At<'n>) -> Vec<Category> {
        self.list(at, |w, at| {
            let text = w.string(at)?;
            match Category::new(text) {
                Ok(c) => Some(c),
                Err(e) => {
                    w.error(at.path, e.message().to_owned());
                    None
                }
            }
        })
        .into_iter()
        .map(|(c, _)| c)
        .collect()
    }

    fn tier(&mut self, at: At<'n>) -> Option<ConfidenceTier> {
        let text = self.string(at)?;
        match text.parse::<ConfidenceTier>() {
            Ok(t) => Some(t),
            Err(e) => {
                self.error(at.path, e.message().to_owned());
                None
            }
        }
    }

    fn mode(&mut self, at: At<'n>) -> Option<SessionKeyMode> {
        let text = self.string(at)?;
        match text.trim() {
            "prefix" => Some(SessionKeyMode::Prefix),
            "map" => Some(SessionKeyMode::Map),
            "regex" => Some(SessionKeyMode::Regex),
            _ => {
                self.error(at.path, format!("unknown mode {}; expected one of: prefix, map, regex", quote(text)));
                None
            }
        }
    }

    // --- The document -----------------------------------------------------------------------

    fn document(&mut self, doc: &'n Node) -> PolicyConfig {
        let k = self.keys;
        let mut cfg = PolicyConfig::default();
        let doc_at = At { node: doc, path: ROOT };
        match k.layout {
            Layout::Sections { policy, recall, embedder } => {
                let Some(mut top) = self.sections(doc_at, &[policy, recall, embedder, FOREIGN_SECTIONS]) else {
                    return cfg;
                };
                if let Some(at) = top.take(FOREIGN_SECTIONS) {
                    match json_of(at.node) {
                        serde_json::Value::Object(table) => {
                            self.foreign.insert(FOREIGN_SECTIONS[0].to_owned(), serde_json::Value::Object(table));
                        }
                        _ => self.type_error(at, k.table_word),
                    }
                }
                if let Some(at) = top.take(policy)
                    && let Some(mut f) = self.fields(at, &k.policy_keys())
                {
                    self.policy(&mut f, &mut cfg);
                }
                if let Some(at) = top.take(recall)
                    && let Some(mut f) = self.fields(at, &k.recall_keys())
                {
                    self.recall(&mut f, &mut cfg.engine.recall);
                }
                if let Some(at) = top.take(embedder)
                    && let Some(mut f) = self.fields(at, &[k.embedder_name])
                {
                    self.embedder(&mut f, &mut cfg.engine);
                }
            }
            Layout::Flat => {
                if !matches!(doc, Node::Table(_)) {
                    let found = kind(doc, k.table_word);
                    self.error(ROOT, format!("the document must be a JSON object, found {found}"));
                    return cfg;
                }
                let Some(mut f) = self.fields(doc_at, &k.flat_keys()) else { return cfg };
                self.policy(&mut f, &mut cfg);
                self.recall(&mut f, &mut cfg.engine.recall);
                self.embedder(&mut f, &mut cfg.engine);
            }
        }
        cfg
    }

    /// The policy settings (and maintenance's); `f` holds at least [`Keys::policy_keys`].
    fn policy(&mut self, f: &mut Fields<'n>, cfg: &mut PolicyConfig) {
        let k = self.keys;
        self.set_bool(f, k.enabled, &mut cfg.enabled);
        self.set_bool(f, k.trust_principal_header, &mut cfg.trust_principal_header);
        self.set_bool(f, k.catalog_enabled, &mut cfg.catalog_enabled);
        self.default_and_shared(f, cfg);
        if let Some(at) = f.take(k.fallback_principal) {
            cfg.fallback_principal = self.principal_at(at);
        }
        match k.maintenance {
            Some(nested) => {
                if let Some(at) = f.take(nested)
                    && let Some(mut m) = self.fields(at, &k.maintenance_keys())
                {
                    self.maintenance(&mut m, &mut cfg.maintenance);
                }
            }
            None => self.maintenance(f, &mut cfg.maintenance),
        }
        self.legacy_auto_promote(f, &mut cfg.auto_promote_to_shared);

        // Teams first: policies refer to them, wherever they appear in the file.
        let mut team_ids = TeamIds::default();
        if let Some(at) = f.take(k.teams) {
            cfg.teams = self.teams(at, &mut team_ids);
        }
        if let Some(at) = f.take(k.policies) {
            cfg.policies = self.policies(at, &team_ids);
        }
        if let Some(at) = f.take(k.default_recall) {
            cfg.default_recall = self.default_recall(at, cfg);
        }
        let mode = f.take(k.session_key_mode).and_then(|at| self.mode(at)).unwrap_or(SessionKeyMode::Prefix);
        if let Some(at) = f.take(k.session_key_rules) {
            cfg.session_key_rules = self.rules(at, mode).into_iter().map(|r| r.rule).collect();
        }
        let mut profile_names = Vec::new();
        if let Some(at) = f.take(k.scope_profiles) {
            cfg.scope_profiles = self.profiles(at, !cfg.teams.is_empty(), &mut profile_names);
        }
        if let Some(at) = f.take(k.default_scope_profile)
            && let Some(name) = self.string(at)
        {
            let name = name.trim();
            if profile_names.iter().any(|n| n == name) {
                cfg.default_scope_profile = Some(name.to_owned());
            } else {
                let known = name_list(profile_names.iter().map(String::as_str));
                self.error(at.path, format!("unknown scope profile {}; configured profiles: {known}", quote(name)));
            }
        }
    }

    /// The recall settings; `f` holds at least [`Keys::recall_keys`].
    fn recall(&mut self, f: &mut Fields<'n>, r: &mut RecallSettings) {
        let k = self.keys;
        if let Some(at) = f.take(k.pinned_limit)
            && let Some(n) = self.uint_in(at, 0, RecallSettings::MAX_PINNED_LIMIT.into())
        {
            r.pinned_limit = u32::try_from(n).unwrap_or(RecallSettings::MAX_PINNED_LIMIT);
        }
        if let Some(at) = f.take(k.recency_half_life_days)
            && let Some(days) = self.number(at, 0.0, true, RecallSettings::MAX_RECENCY_HALF_LIFE_DAYS)
        {
            r.recency_half_life_days = days;
        }
        if let Some(at) = f.take(k.read_order_weight)
            && let Some(weight) = self.number(at, 0.0, false, RecallSettings::MAX_READ_ORDER_WEIGHT)
        {
            r.read_order_weight = weight;
        }
        if let Some(at) = f.take(k.candidates)
            && let Some(n) = self.uint_in(at, 1, RecallSettings::MAX_CANDIDATES.into())
        {
            r.candidates = u32::try_from(n).unwrap_or(RecallSettings::MAX_CANDIDATES);
        }
    }

    /// The embedder's name, checked against [`EMBEDDER_NAMES`] the way the engine parses it
    /// (trimmed, case-insensitive) and kept in its canonical lowercase spelling.
    fn embedder(&mut self, f: &mut Fields<'n>, e: &mut EngineSettings) {
        let Some(at) = f.take(self.keys.embedder_name) else { return };
        let Some(text) = self.string(at) else { return };
        let name = text.trim().to_ascii_lowercase();
        if EMBEDDER_NAMES.contains(&name.as_str()) {
            e.embedder = Some(name);
        } else {
            self.error(
                at.path,
                format!("unknown embedder {}; expected one of: {}", quote(text), EMBEDDER_NAMES.join(", ")),
            );
        }
    }

    fn default_and_shared(&mut self, f: &mut Fields<'n>, cfg: &mut PolicyConfig) {
        let k = self.keys;
        let default_at = f.take(k.default_namespace);
        let shared_at = f.take(k.shared_namespace);
        if let Some(at) = default_at
            && let Some(key) = self.namespace_at(at)
        {
            cfg.default_namespace = key;
        }
        if let Some(at) = shared_at
            && let Some(key) = self.namespace_at(at)
        {
            cfg.shared_namespace = key;
        }
        if cfg.default_namespace == cfg.shared_namespace {
            // Report where the operator wrote it: the later setting if both were given.
            let path = shared_at.or(default_at).map_or(ROOT, |at| at.path);
            self.error(
                path,
                format!(
                    "{} and {} are both {}; the default and shared namespaces must differ",
                    k.default_namespace[0],
                    k.shared_namespace[0],
                    quote(cfg.shared_namespace.as_str())
                ),
            );
        }
    }

    fn maintenance(&mut self, f: &mut Fields<'n>, m: &mut MaintenanceSettings) {
        let k = self.keys;
        self.set_bool(f, k.fanout_enabled, &mut m.fanout_enabled);
        self.set_bool(f, k.include_project, &mut m.include_project_namespaces);
        self.set_bool(f, k.include_branch, &mut m.include_branch_namespaces);
        self.set_bool(f, k.include_team_project, &mut m.include_team_project_namespaces);
        if let Some(at) = f.take(k.max_namespaces_per_cycle)
            && let Some(n) = self.uint(at, u64::from(u32::MAX))
        {
            m.max_namespaces_per_cycle = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(at) = f.take(k.lock_stale_ms)
            && let Some(n) = self.uint(at, u64::MAX)
        {
            m.lock_stale_ms = n;
        }
    }

    fn legacy_auto_promote(&mut self, f: &mut Fields<'n>, a: &mut AutoPromoteToShared) {
        let k = self.keys;
        self.set_bool(f, k.auto_promote_to_shared, &mut a.enabled);
        if let Some(at) = f.take(k.auto_promote_categories) {
            a.categories = self.categories(at);
        }
        if let Some(at) = f.take(k.auto_promote_min_tier)
            && let Some(t) = self.tier(at)
        {
            a.min_confidence_tier = t;
        }
    }

    /// Teams; `ids` receives every id that parsed, even of teams with other errors, so a
    /// broken team does not also make every reference to it an "unknown team".
    fn teams(&mut self, at: At<'n>, ids: &mut TeamIds) -> Vec<Team> {
        let k = self.keys;
        let body = [k.team_principals, k.team_read, k.team_write, k.team_promote];
        let mut teams = Vec::new();
        let mut first_at: HashMap<String, PathId> = HashMap::new();
        for mut entry in self.named_entries(at, k.team_id, &body) {
            let id = entry.name.and_then(|(text, path)| {
                if text.trim().is_empty() {
                    self.error(path, "the team id must not be empty");
                    return None;
                }
                match NamespaceKey::new(text) {
                    Ok(key) => Some(key.as_str().to_owned()),
                    Err(e) => {
                        self.error(path, format!("invalid team id (it is rendered into namespace names): {e}"));
                        None
                    }
                }
            });
            let mut lists: [Vec<(Principal, PathId)>; 4] = Default::default();
            for (list, key) in lists.iter_mut().zip(body) {
                if let Some(at) = entry.fields.take(key) {
                    *list = self.principals(at);
                }
            }
            let Some(id) = id else { continue };
            if let Some(&first) = first_at.get(&id) {
                let first = self.path(first);
                self.error(entry.path, format!("duplicate team {}; first defined at {first}", quote(&id)));
                continue;
            }
            first_at.insert(id.clone(), entry.path);
            ids.order.push(id.clone());
            ids.set.insert(id.clone());
            let [principals, read, write, promote] = lists;
            let members: HashSet<&Principal> = principals.iter().map(|(p, _)| p).collect();
            for (list, key) in [(&read, k.team_read), (&write, k.team_write), (&promote, k.team_promote)] {
                for (p, path) in list {
                    if !members.contains(p) {
                        self.warn(
                            *path,
                            format!(
                                "{} is in {} but not in {} of team {}; is it a member?",
                                quote(p.as_str()),
                                key[0],
                                k.team_principals[0],
                                quote(&id)
                            ),
                        );
                    }
                }
            }
            let strip = |list: Vec<(Principal, PathId)>| list.into_iter().map(|(p, _)| p).collect();
            teams.push(Team {
                id,
                principals: strip(principals),
                read: strip(read),
                write: strip(write),
                promote: strip(promote),
            });
        }
        teams
    }

    fn policies(&mut self, at: At<'n>, teams: &TeamIds) -> Vec<NamespacePolicy> {
        let k = self.keys;
        let body = [k.policy_read, k.policy_write, k.policy_include];
        let mut policies = Vec::new();
        let mut first_at: HashMap<NamespaceKey, PathId> = HashMap::new();
        for mut entry in self.named_entries(at, k.policy_name, &body) {
            let namespace = entry.name.and_then(|(text, path)| self.namespace(text, path));
            let read = entry.fields.take(k.policy_read).map(|at| self.principal_refs(at, teams)).unwrap_or_default();
            let write = entry.fields.take(k.policy_write).map(|at| self.principal_refs(at, teams)).unwrap_or_default();
            let mut include = false;
            self.set_bool(&mut entry.fields, k.policy_include, &mut include);
            let Some(namespace) = namespace else { continue };
            // Same key after trim and NFC: the policies would silently overlap.
            if let Some(&first) = first_at.get(&namespace) {
                let first = self.path(first);
                self.error(
                    entry.path,
                    format!("duplicate policy for namespace {}; first defined at {first}", quote(namespace.as_str())),
                );
                continue;
            }
            first_at.insert(namespace.clone(), entry.path);
            policies.push(NamespacePolicy { namespace, read, write, include_in_recall_by_default: include });
        }
        policies
    }

    fn default_recall(&mut self, at: At<'n>, cfg: &PolicyConfig) -> Vec<RecallEntry> {
        let named: HashSet<&NamespaceKey> = cfg.policies.iter().map(|p| &p.namespace).collect();
        let entries = self.list(at, |w, at| {
            let text = w.string(at)?;
            match text.trim() {
                "self" => Some(RecallEntry::SelfNamespace),
                "shared" => Some(RecallEntry::Shared),
                "*" => Some(RecallEntry::All),
                _ => w.namespace(text, at.path).map(RecallEntry::Namespace),
            }
        });
        let mut out: Vec<RecallEntry> = Vec::with_capacity(entries.len());
        for (entry, path) in entries {
            if let RecallEntry::Namespace(key) = &entry
                && !named.contains(key)
                && *key != cfg.default_namespace
                && *key != cfg.shared_namespace
            {
                self.warn(
                    path,
                    format!(
                        "no policy names namespace {}; unless it is created and made readable later, this entry recalls nothing",
                        quote(key.as_str())
                    ),
                );
            }
            if out.contains(&entry) {
                self.warn(path, "this entry is listed twice; the repeat has no effect");
            } else {
                out.push(entry);
            }
        }
        out
    }

    fn rules(&mut self, at: At<'n>, default_mode: SessionKeyMode) -> Vec<RuleAt> {
        let k = self.keys;
        let mut rules = Vec::new();
        match self.form(at) {
            None => {}
            Some(Form::Map(entries)) => {
                // `"pattern" = "principal"`, in the section's mode (seeds/002 object form).
                for (pattern, value) in entries {
                    let pattern = self.key_text(pattern, value.path);
                    let principal = self.string(value);
                    if let (Some(pattern), Some(principal)) = (pattern, principal)
                        && let Some(rule) = self.rule(default_mode, (pattern, value.path), (principal, value.path))
                    {
                        rules.push(RuleAt { rule, path: value.path });
                    }
                }
            }
            Some(Form::Array(items)) => {
                for item in items {
                    let Some(mut f) = self.fields(item, &[k.rule_match, k.rule_principal, k.rule_mode]) else {
                        continue;
                    };
                    let mut required = |w: &mut Self, key: Key| {
                        let found = f.take(key);
                        if found.is_none() {
                            w.error(item.path, format!("missing required key {}", quote(key[0])));
                        }
                        found
                    };
                    let pattern_at = required(self, k.rule_match);
                    let principal_at = required(self, k.rule_principal);
                    let mode = match f.take(k.rule_mode) {
                        Some(at) => self.mode(at),
                        None => Some(default_mode),
                    };
                    let pattern = pattern_at.and_then(|at| self.string(at));
                    let principal = principal_at.and_then(|at| self.string(at));
                    if let (Some(mode), Some(pattern), Some(principal), Some(pattern_at), Some(principal_at)) =
                        (mode, pattern, principal, pattern_at, principal_at)
                        && let Some(rule) = self.rule(mode, (pattern, pattern_at.path), (principal, principal_at.path))
                    {
                        rules.push(RuleAt { rule, path: item.path });
                    }
                }
            }
        }
        self.shadowed_rules(&rules);
        rules
    }

    /// Checks one rule's pattern and principal.
    fn rule(
        &mut self,
        mode: SessionKeyMode,
        (pattern, pattern_path): (&str, PathId),
        (principal, principal_path): (&str, PathId),
    ) -> Option<SessionKeyRule> {
        let mut ok = true;
        let mut regex = None;
        if pattern.trim().is_empty() {
            self.error(pattern_path, "the pattern must not be empty (it would match every session key)");
            ok = false;
        } else if pattern.len() > MAX_PATTERN_CHARS && pattern.chars().count() > MAX_PATTERN_CHARS {
            let chars = pattern.chars().count();
            self.error(
                pattern_path,
                format!("the pattern is {chars} characters long; at most {MAX_PATTERN_CHARS} are allowed"),
            );
            ok = false;
        } else if mode == SessionKeyMode::Regex {
            self.regex_rules += 1;
            if self.regex_rules > MAX_REGEX_RULES {
                self.error(
                    pattern_path,
                    format!("too many regex rules: at most {MAX_REGEX_RULES} are allowed (use prefix or map rules)"),
                );
                return None;
            }
            match compile_session_regex(pattern) {
                Ok(re) => regex = Some(re),
                Err(message) => {
                    self.error(pattern_path, message);
                    ok = false;
                }
            }
        }
        // For regex rules the principal is a template: check what can be checked before
        // expansion (not empty, no control characters, not "*" or a team), and that each
        // capture group it uses exists.
        let principal = self.principal(principal, principal_path).map(|p| p.as_str().to_owned());
        if let (Some(template), Some(re)) = (&principal, &regex)
            && let Err(message) = check_capture_refs(template, re)
        {
            self.error(principal_path, message);
            ok = false;
        }
        let principal = principal?;
        ok.then(|| SessionKeyRule { mode, pattern: pattern.to_owned(), principal })
    }

    /// Warns about rules that can never match: a later prefix or map rule whose pattern
    /// starts with an earlier prefix rule's pattern, and exact repeats. Runs in `n log n`:
    /// sorted by pattern, the prefix rules that are prefixes of a pattern form a stack.
    fn shadowed_rules(&mut self, rules: &[RuleAt]) {
        let mut order: Vec<usize> = (0..rules.len()).filter(|&i| rules[i].rule.mode != SessionKeyMode::Regex).collect();
        order.sort_by(|&a, &b| rules[a].rule.pattern.cmp(&rules[b].rule.pattern).then(a.cmp(&b)));
        // (pattern of a prefix rule, earliest prefix rule among it and those below it)
        let mut stack: Vec<(&str, usize)> = Vec::new();
        let mut shadow: Vec<Option<usize>> = vec![None; rules.len()];
        for &j in &order {
            let pattern = rules[j].rule.pattern.as_str();
            while stack.last().is_some_and(|(p, _)| !pattern.starts_with(p)) {
                stack.pop();
            }
            let earliest = stack.last().map(|(_, e)| *e);
            if let Some(i) = earliest
                && i < j
            {
                shadow[j] = Some(i);
            }
            if rules[j].rule.mode == SessionKeyMode::Prefix {
                stack.push((pattern, earliest.map_or(j, |e| e.min(j))));
            }
        }
        let mut first: HashMap<(u8, &str), usize> = HashMap::new();
        for (j, r) in rules.iter().enumerate() {
            let repeat_of = *first.entry((r.rule.mode as u8, r.rule.pattern.as_str())).or_insert(j);
            let message = match shadow[j] {
                Some(i) if rules[i].rule.pattern == r.rule.pattern && rules[i].rule.mode == r.rule.mode => format!(
                    "duplicate pattern {}; the earlier rule at {} wins",
                    quote(&r.rule.pattern),
                    self.path(rules[i].path)
                ),
                Some(i) => format!(
                    "this rule can never match: the earlier prefix rule at {} ({}) matches every session key it would",
                    self.path(rules[i].path),
                    quote(&rules[i].rule.pattern)
                ),
                None if repeat_of != j => format!(
                    "duplicate pattern {}; the earlier rule at {} wins",
                    quote(&r.rule.pattern),
                    self.path(rules[repeat_of].path)
                ),
                None => continue,
            };
            self.warn(r.path, message);
        }
    }

    fn profiles(&mut self, at: At<'n>, have_teams: bool, names: &mut Vec<String>) -> Vec<ScopeProfile> {
        let k = self.keys;
        let body = [k.read_order, k.write_default, k.promotion_targets, k.team_project, k.auto_promote];
        let mut profiles = Vec::new();
        let mut first_at: HashMap<String, PathId> = HashMap::new();
        for mut entry in self.named_entries(at, k.profile_name, &body) {
            let name = entry.name.and_then(|(text, path)| {
                let name = text.trim();
                if name.is_empty() {
                    self.error(path, "the profile name must not be empty");
                    return None;
                }
                Some(name.to_owned())
            });
            let profile = self.profile(&mut entry, have_teams);
            let Some(name) = name else { continue };
            if let Some(&first) = first_at.get(&name) {
                let first = self.path(first);
                self.error(entry.path, format!("duplicate scope profile {}; first defined at {first}", quote(&name)));
                continue;
            }
            first_at.insert(name.clone(), entry.path);
            names.push(name.clone());
            if let Some(mut profile) = profile {
                profile.name = name;
                profiles.push(profile);
            }
        }
        profiles
    }

    /// One profile's body (the name is filled in by the caller).
    fn profile(&mut self, entry: &mut Entry<'n>, have_teams: bool) -> Option<ScopeProfile> {
        let k = self.keys;
        let f = &mut entry.fields;
        let read_order = match f.take(k.read_order) {
            Some(at) => {
                let layers = self.layers(at);
                if matches!(at.node, Node::Array(items) if items.is_empty()) {
                    self.error(at.path, "must list at least one layer");
                }
                Some(layers)
            }
            None => {
                self.error(entry.path, format!("missing required key {}", quote(k.read_order[0])));
                None
            }
        };
        let write_default = match f.take(k.write_default) {
            Some(at) => self.layer(at).map(|l| (l, at.path)),
            None => {
                self.error(entry.path, format!("missing required key {}", quote(k.write_default[0])));
                None
            }
        };
        if let (Some(order), Some((write, path))) = (&read_order, write_default)
            && !order.is_empty()
            && !order.contains(&write)
        {
            self.error(
                path,
                format!(
                    "{} is not in {}; the write target must be readable, so add it there",
                    write.as_str(),
                    k.read_order[0]
                ),
            );
        }
        let promotion_targets = f.take(k.promotion_targets).map(|at| self.layers(at)).unwrap_or_default();
        let mut team_project_template = DEFAULT_TEAM_PROJECT_TEMPLATE.to_owned();
        if let Some(at) = f.take(k.team_project)
            && let Some(mut tp) = self.fields(at, &[k.namespace_template])
            && let Some(at) = tp.take(k.namespace_template)
            && let Some(text) = self.string(at)
        {
            match Template::parse(text) {
                Ok(_) => team_project_template = text.to_owned(),
                Err(message) => self.error(at.path, message),
            }
        }
        let auto_promote = match f.take(k.auto_promote) {
            Some(at) => self.profile_auto_promote(at, &promotion_targets),
            None => None,
        };
        let uses_team = read_order.as_ref().is_some_and(|o| o.contains(&ScopeLayer::TeamProject))
            || promotion_targets.contains(&ScopeLayer::TeamProject);
        if uses_team && !have_teams {
            self.warn(
                entry.path,
                format!(
                    "the profile uses the teamProject layer but no {} are configured, so it is always skipped",
                    k.teams[0]
                ),
            );
        }
        Some(ScopeProfile {
            name: String::new(),
            read_order: read_order?,
            write_default: write_default?.0,
            promotion_targets,
            team_project_template,
            auto_promote,
        })
    }

    fn profile_auto_promote(&mut self, at: At<'n>, promotion_targets: &[ScopeLayer]) -> Option<ProfileAutoPromote> {
        let k = self.keys;
        let mut f = self.fields(at, &[k.ap_enabled, k.ap_targets, k.ap_categories, k.ap_min_tier])?;
        let mut out = ProfileAutoPromote {
            enabled: false,
            targets: Vec::new(),
            categories: AutoPromoteToShared::default().categories,
            min_confidence_tier: ConfidenceTier::Explicit,
        };
        self.set_bool(&mut f, k.ap_enabled, &mut out.enabled);
        if let Some(at) = f.take(k.ap_targets) {
            let targets = self.layers_at(at);
            for &(layer, path) in &targets {
                if !promotion_targets.contains(&layer) {
                    self.error(
                        path,
                        format!("{} is not one of the profile's {}", layer.as_str(), k.promotion_targets[0]),
                    );
                }
            }
            out.targets = targets.into_iter().map(|(l, _)| l).collect();
        }
        if let Some(at) = f.take(k.ap_categories) {
            out.categories = self.categories(at);
        }
        if let Some(at) = f.take(k.ap_min_tier)
            && let Some(t) = self.tier(at)
        {
            out.min_confidence_tier = t;
        }
        Some(out)
    }
}

/// Checks that every capture reference in a regex rule's principal (`$1`, `$name`,
/// `${name}`, with `$$` a literal `$`) names a group of the regex. References are read
/// exactly as `regex::Captures::expand` reads them, where an unknown group silently expands
/// to nothing; here it is an error instead.
fn check_capture_refs(template: &str, re: &regex::Regex) -> Result<(), String> {
    let bytes = template.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' {
            i += 1;
            continue;
        }
        if bytes.get(i + 1) == Some(&b'$') {
            i += 2;
            continue;
        }
        let (name, end) = if bytes.get(i + 1) == Some(&b'{') {
            match bytes[i + 2..].iter().position(|b| *b == b'}') {
                Some(len) => (&template[i + 2..i + 2 + len], i + 3 + len),
                None => {
                    i += 1;
                    continue;
                }
            }
        } else {
            let len = bytes[i + 1..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
            (&template[i + 1..i + 1 + len], i + 1 + len)
        };
        if name.is_empty() && bytes.get(i + 1) != Some(&b'{') {
            // A lone `$` is literal text for `expand`.
            i += 1;
            continue;
        }
        match name.parse::<usize>() {
            Ok(n) if n < re.captures_len() => {}
            Ok(n) => {
                let groups = re.captures_len() - 1;
                return Err(format!("the principal uses capture group ${n}, but the regex has only {groups} group(s)"));
            }
            Err(_) if re.capture_names().flatten().any(|g| g == name) => {}
            Err(_) => {
                let hint = if name.starts_with(|c: char| c.is_ascii_digit()) {
                    format!(
                        " (\"${name}\" is read as one group name; write \"${{{}}}...\" to follow a group number with text)",
                        name.chars().take_while(char::is_ascii_digit).collect::<String>()
                    )
                } else {
                    String::new()
                };
                return Err(format!(
                    "the principal uses the capture group {}, which the regex does not define{hint}",
                    quote(name)
                ));
            }
        }
        i = end;
    }
    Ok(())
}
