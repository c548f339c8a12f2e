//! The policy files the tests run on: the seeds/002 examples verbatim (camelCase JSON) and the
//! same policies in the snake_case TOML dialect.

/// seeds/002, "multi-tenant deployments": two tenants with a shared knowledge layer, principals
/// from session-key prefixes, policies in the documented object-map form.
pub const MULTI_TENANT_JSON: &str = r#"{
"namespacesEnabled": true,
"sharedNamespace": "shared",
"defaultRecallNamespaces": ["shared"],
"namespacePolicies": {
"default": { "read": ["*"], "write": ["default-principal"] },
"project-alpha": { "read": ["alpha-agent", "admin"], "write": ["alpha-agent"] },
"project-beta": { "read": ["beta-agent", "admin"], "write": ["beta-agent"] },
"shared": { "read": ["*"], "write": ["admin"] }
},
"principalFromSessionKeyMode": "prefix",
"principalFromSessionKeyRules": {
"project-alpha:": "alpha-agent",
"project-beta:": "beta-agent"
}
}"#;

/// [`MULTI_TENANT_JSON`] in the TOML dialect.
pub const MULTI_TENANT_TOML: &str = r#"
[namespaces]
enabled = true
shared_namespace = "shared"
default_recall = ["shared"]
principal_from_session_key_mode = "prefix"

[[namespaces.policies]]
name = "default"
read = ["*"]
write = ["default-principal"]

[[namespaces.policies]]
name = "project-alpha"
read = ["alpha-agent", "admin"]
write = ["alpha-agent"]

[[namespaces.policies]]
name = "project-beta"
read = ["beta-agent", "admin"]
write = ["beta-agent"]

[[namespaces.policies]]
name = "shared"
read = ["*"]
write = ["admin"]

[[namespaces.session_key_rules]]
match = "project-alpha:"
principal = "alpha-agent"

[[namespaces.session_key_rules]]
match = "project-beta:"
principal = "beta-agent"
"#;

/// seeds/002, "example hosted coding profile": the `teamCoding` scope profile and team `pi`.
pub const TEAM_CODING_JSON: &str = r#"{
"namespacesEnabled": true,
"scopeProfiles": {
"teamCoding": {
"readOrder": ["userProject", "teamProject", "userGlobal", "serverShared"],
"writeDefault": "userProject",
"promotionTargets": ["teamProject", "serverShared"],
"teamProject": {
"namespaceTemplate": "team-{teamId}-project-{projectHash}"
},
"autoPromote": {
"enabled": false,
"targets": ["teamProject"],
"categories": ["decision", "rule", "procedure", "correction"],
"minConfidenceTier": "explicit"
}
}
},
"defaultScopeProfile": "teamCoding",
"teams": {
"pi": {
"principals": ["pi-geek", "pi-friend"],
"read": ["pi-geek", "pi-friend"],
"write": ["pi-geek", "pi-friend"],
"promote": ["pi-geek", "pi-friend"]
}
}
}"#;

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
