//! The policy files the tests run on: the seeds/002 examples verbatim (camelCase JSON) and the
//! same policies in the snake_case TOML dialect.

/// seeds/002, "multi-tenant deployments": two tenants with a shared knowledge layer, principals
/// from session-key prefixes, policies in the documented object-map form.
pub const MULTI_TENANT_JSON: &str = include_str!("../../../examples/policy/multi-tenant.json");

/// [`MULTI_TENANT_JSON`] in the TOML dialect.
pub const MULTI_TENANT_TOML: &str = include_str!("../../../examples/policy/multi-tenant.toml");

/// seeds/002, "example hosted coding profile": the `teamCoding` scope profile and team `pi`.
pub const TEAM_CODING_JSON: &str = include_str!("../../../examples/policy/team-coding.json");

/// [`TEAM_CODING_JSON`] in the TOML dialect, with automatic promotion switched on.
pub const TEAM_CODING_AUTO_PROMOTE_TOML: &str = r#"
[namespaces]
enabled = true
default_scope_profile = "teamCoding"

[[namespaces.scope_profiles]]
name = "teamCoding"
read_order = ["userProject", "teamProject", "userGlobal", "serverShared"]
write_default = "userProject"
promotion_targets = ["teamProject", "serverShared"]
team_project = { namespace_template = "team-{teamId}-project-{projectHash}" }
auto_promote = { enabled = true, targets = ["teamProject"], categories = ["decision", "rule", "procedure", "correction"], min_confidence_tier = "explicit" }

[[namespaces.teams]]
id = "pi"
principals = ["pi-geek", "pi-friend"]
read = ["pi-geek", "pi-friend"]
write = ["pi-geek", "pi-friend"]
promote = ["pi-geek", "pi-friend"]
"#;

/// Legacy auto-promotion into `shared` (seeds/002 "Shared namespace promotion"), with header
/// trust on so `--header-principal` counts.
pub const AUTO_PROMOTE_TO_SHARED_JSON: &str = r#"{
"namespacesEnabled": true,
"trustPrincipalHeader": true,
"autoPromoteToSharedEnabled": true,
"autoPromoteMinConfidenceTier": "implied",
"namespacePolicies": [
{ "name": "research", "read": ["alice", "bob"], "write": ["alice"] }
]
}"#;
