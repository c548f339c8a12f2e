//! The layering check: which workspace crates and which external crates each workspace crate
//! may use as a normal dependency. [`RULES`] is the machine-checked form of the table "Who may
//! depend on whom" in ARCHITECTURE.md; change both together.
//!
//! Only normal dependencies count: dev-dependencies (tests may use a runtime or the testkit) and
//! build-dependencies are free.

use std::fmt;

use crate::metadata::{DependencyKind, Workspace};

/// What one workspace crate may depend on.
#[derive(Debug)]
pub struct Rule {
    pub krate: &'static str,
    /// The only workspace crates it may use; every other member is a violation.
    pub workspace: &'static [&'static str],
    /// External crates it must not use, grouped with the reason.
    pub banned: &'static [Ban],
}

/// A group of external crates that a crate must not use, and why.
#[derive(Debug)]
pub struct Ban {
    pub crates: &'static [&'static str],
    pub why: &'static str,
}

const RUNTIME: Ban =
    Ban { crates: &["tokio", "async-std", "smol"], why: "an async runtime (the domain knows no runtime)" };
const DRIVERS: Ban = Ban {
    crates: &["rusqlite", "libsqlite3-sys", "sqlx", "tokio-postgres", "postgres"],
    why: "a database driver (only memory-store-* talk to databases)",
};
const SQLITE: Ban =
    Ban { crates: &["rusqlite", "libsqlite3-sys"], why: "the SQLite driver (each store has its own driver)" };
const POSTGRES: Ban =
    Ban { crates: &["sqlx", "tokio-postgres", "postgres"], why: "a Postgres driver (each store has its own driver)" };
const SEARCH: Ban =
    Ban { crates: &["tantivy", "hnsw_rs"], why: "a search index (only memory-index builds derived search state)" };
const SERVING: Ban = Ban {
    crates: &["axum", "hyper", "hyper-util", "tower-http", "actix-web", "warp", "rmcp"],
    why: "HTTP or MCP serving (only memory-server knows wire formats)",
};
const HTTP_CLIENT: Ban = Ban { crates: &["reqwest", "ureq"], why: "an HTTP client (this crate does no network IO)" };
const TERMINAL: Ban = Ban {
    crates: &["clap", "indicatif", "crossterm", "dialoguer"],
    why: "argv or terminal handling (only memory-cli knows these)",
};

/// One rule per workspace member. A member without a rule is itself a violation, so a new
/// crate cannot slip past the check.
pub const RULES: &[Rule] = &[
    Rule { krate: "memory-core", workspace: &[], banned: &[RUNTIME, DRIVERS, SEARCH, SERVING, HTTP_CLIENT, TERMINAL] },
    Rule {
        krate: "memory-policy",
        workspace: &["memory-core"],
        banned: &[RUNTIME, DRIVERS, SEARCH, SERVING, HTTP_CLIENT, TERMINAL],
    },
    Rule { krate: "memory-index", workspace: &["memory-core"], banned: &[DRIVERS, SERVING, HTTP_CLIENT, TERMINAL] },
    Rule {
        krate: "memory-store-sqlite",
        workspace: &["memory-core"],
        banned: &[POSTGRES, SEARCH, SERVING, HTTP_CLIENT, TERMINAL],
    },
    Rule {
        krate: "memory-store-postgres",
        workspace: &["memory-core"],
        banned: &[SQLITE, SEARCH, SERVING, HTTP_CLIENT, TERMINAL],
    },
    // Calls OpenAI-compatible endpoints, so an HTTP client is fine.
    Rule { krate: "memory-embed", workspace: &["memory-core"], banned: &[DRIVERS, SEARCH, SERVING, TERMINAL] },
    // Calls OpenAI-compatible chat models, so an HTTP client is fine.
    Rule {
        krate: "memory-consolidate",
        workspace: &["memory-core", "memory-policy"],
        banned: &[DRIVERS, SEARCH, SERVING, TERMINAL],
    },
    Rule {
        krate: "memory-engine",
        workspace: &[
            "memory-core",
            "memory-policy",
            "memory-index",
            "memory-embed",
            "memory-store-sqlite",
            "memory-store-postgres",
            "memory-consolidate",
        ],
        banned: &[SERVING, TERMINAL],
    },
    Rule { krate: "memory-server", workspace: &["memory-engine", "memory-core"], banned: &[DRIVERS, SEARCH, TERMINAL] },
    // Hosts the server (`memory serve`, `memory mcp`) and uses its client; the policy commands
    // validate and ask policy files without any store.
    Rule {
        krate: "memory-cli",
        workspace: &["memory-engine", "memory-core", "memory-policy", "memory-server"],
        banned: &[DRIVERS, SEARCH, SERVING],
    },
    // Test support: generic over `Store`, so it never names a concrete backend.
    Rule { krate: "memory-testkit", workspace: &["memory-core"], banned: &[] },
    Rule { krate: "xtask", workspace: &[], banned: &[] },
];

/// One dependency that breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub krate: String,
    pub dependency: String,
    pub reason: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}: {}", self.krate, self.dependency, self.reason)
    }
}

/// Checks every member's normal dependencies against [`RULES`].
pub fn check(workspace: &Workspace) -> Vec<Violation> {
    check_with(workspace, RULES)
}

fn check_with(workspace: &Workspace, rules: &[Rule]) -> Vec<Violation> {
    let mut violations = Vec::new();
    for package in &workspace.members {
        let Some(rule) = rules.iter().find(|r| r.krate == package.name) else {
            violations.push(Violation {
                krate: package.name.clone(),
                dependency: "*".to_owned(),
                reason: "no layering rule for this crate; add one to RULES in xtask/src/layering.rs".to_owned(),
            });
            continue;
        };
        for dep in package.dependencies.iter().filter(|d| d.kind == DependencyKind::Normal) {
            let reason = if workspace.is_member(&dep.name) {
                (!rule.workspace.contains(&dep.name.as_str())).then(|| workspace_reason(rule))
            } else {
                rule.banned
                    .iter()
                    .find(|ban| ban.crates.iter().any(|c| same_crate(c, &dep.name)))
                    .map(|ban| format!("{} must not use {}", rule.krate, ban.why))
            };
            if let Some(reason) = reason {
                violations.push(Violation { krate: package.name.clone(), dependency: dep.name.clone(), reason });
            }
        }
    }
    violations
}

fn workspace_reason(rule: &Rule) -> String {
    match rule.workspace {
        [] => format!("{} may not use any workspace crate", rule.krate),
        allowed => format!("{} may use only {} among workspace crates", rule.krate, allowed.join(", ")),
    }
}

/// Crate names compare like cargo compares them: `-` and `_` are the same.
fn same_crate(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes().zip(b.bytes()).all(|(x, y)| x == y || (x == b'-' || x == b'_') && (y == b'-' || y == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::parse;

    /// A workspace in `cargo metadata` shape: core uses tokio only for tests, the store breaks
    /// two rules, the engine is fine, `memory-extra` has no rule, and `serde` is no member.
    const METADATA: &str = r#"{
      "workspace_members": ["core-id", "store-id", "engine-id", "extra-id", "index-id"],
      "packages": [
        {"id": "core-id", "name": "memory-core", "manifest_path": "/ws/memory-core/Cargo.toml",
         "dependencies": [
           {"name": "serde", "kind": null},
           {"name": "tokio", "kind": "dev"}
         ]},
        {"id": "store-id", "name": "memory-store-sqlite", "manifest_path": "/ws/memory-store-sqlite/Cargo.toml",
         "dependencies": [
           {"name": "memory-core", "kind": null},
           {"name": "rusqlite", "kind": null},
           {"name": "memory-index", "kind": null},
           {"name": "hnsw-rs", "kind": null},
           {"name": "memory-testkit", "kind": "dev"},
           {"name": "cc", "kind": "build"}
         ]},
        {"id": "engine-id", "name": "memory-engine", "manifest_path": "/ws/memory-engine/Cargo.toml",
         "dependencies": [
           {"name": "memory-store-sqlite", "kind": null},
           {"name": "memory-index", "kind": null},
           {"name": "tokio", "kind": null}
         ]},
        {"id": "extra-id", "name": "memory-extra", "manifest_path": "/ws/memory-extra/Cargo.toml",
         "dependencies": []},
        {"id": "index-id", "name": "memory-index", "manifest_path": "/ws/memory-index/Cargo.toml",
         "dependencies": []},
        {"id": "serde-id", "name": "serde", "manifest_path": "/registry/serde/Cargo.toml",
         "dependencies": [{"name": "memory-core", "kind": null}]}
      ]
    }"#;

    fn violations() -> Vec<String> {
        check(&parse(METADATA).unwrap()).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn parse_keeps_members_only_with_dependency_kinds() {
        let workspace = parse(METADATA).unwrap();
        let names: Vec<&str> = workspace.members.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["memory-core", "memory-store-sqlite", "memory-engine", "memory-extra", "memory-index"]);
        let core = &workspace.members[0];
        assert_eq!(core.dir, std::path::Path::new("/ws/memory-core"));
        assert_eq!(core.dependencies[1].kind, DependencyKind::Dev);
    }

    #[test]
    fn reports_each_violation_once_as_crate_arrow_dependency() {
        assert_eq!(
            violations(),
            [
                "memory-store-sqlite -> memory-index: memory-store-sqlite may use only memory-core among workspace crates",
                "memory-store-sqlite -> hnsw-rs: memory-store-sqlite must not use a search index (only memory-index builds derived search state)",
                "memory-extra -> *: no layering rule for this crate; add one to RULES in xtask/src/layering.rs",
            ]
        );
    }

    #[test]
    fn dev_and_build_dependencies_are_free() {
        // memory-core's dev-dependency on tokio and the store's dev/build ones are not reported.
        assert!(!violations().iter().any(|v| v.contains("tokio") || v.contains("testkit") || v.contains("cc")));
    }

    #[test]
    fn core_may_use_no_workspace_crate_and_no_runtime() {
        let workspace = parse(
            r#"{"workspace_members": ["c", "p"], "packages": [
                {"id": "c", "name": "memory-core", "manifest_path": "/ws/memory-core/Cargo.toml",
                 "dependencies": [{"name": "tokio", "kind": null}, {"name": "memory-policy", "kind": null},
                                  {"name": "axum", "kind": null}]},
                {"id": "p", "name": "memory-policy", "manifest_path": "/ws/memory-policy/Cargo.toml",
                 "dependencies": [{"name": "memory-core", "kind": null}]}]}"#,
        )
        .unwrap();
        let found: Vec<String> = check(&workspace).iter().map(|v| v.dependency.clone()).collect();
        assert_eq!(found, ["tokio", "memory-policy", "axum"]);
    }

    #[test]
    fn every_rule_names_known_crates_and_is_unique() {
        let names: Vec<&str> = RULES.iter().map(|r| r.krate).collect();
        for rule in RULES {
            assert_eq!(names.iter().filter(|&&n| n == rule.krate).count(), 1, "{} has two rules", rule.krate);
            for allowed in rule.workspace {
                assert!(names.contains(allowed), "{} allows unknown crate {allowed}", rule.krate);
                assert_ne!(*allowed, rule.krate, "{} allows itself", rule.krate);
            }
        }
    }

    #[test]
    fn crate_names_compare_across_dash_and_underscore() {
        assert!(same_crate("hnsw_rs", "hnsw-rs"));
        assert!(same_crate("tokio", "tokio"));
        assert!(!same_crate("tokio", "tokio-util"));
    }
}
