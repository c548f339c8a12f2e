//! `memory policy can`: allow / deny with reasons, exit codes, the JSON shape.

use crate::configs::{MULTI_TENANT_JSON, MULTI_TENANT_TOML, TEAM_CODING_JSON};
use crate::{Fixture, keys, memory};

#[test]
fn alpha_agent_may_use_project_alpha_but_not_project_beta() {
    let fx = Fixture::new();
    for file in [fx.file("multi.json", MULTI_TENANT_JSON), fx.file("multi.toml", MULTI_TENANT_TOML)] {
        let can = |op: &str, ns: &str, code: i32| {
            memory(&["policy", "can", &file, "--session-key", "project-alpha:session-1", op, ns]).expect_code(code)
        };
        let run = can("--read", "project-alpha", 0);
        assert!(run.stdout.starts_with("allow: "), "{run:#?}");
        assert_eq!(run.stdout.lines().count(), 1);
        can("--write", "project-alpha", 0);
        can("--read", "shared", 0);
        let run = can("--read", "project-beta", 1);
        assert!(run.stdout.starts_with("deny: "), "{run:#?}");
        can("--write", "project-beta", 1);
        can("--write", "shared", 1);
        can("--promote", "shared", 1);
        // The same answers by principal.
        memory(&["policy", "can", &file, "--principal", "alpha-agent", "--read", "project-alpha"]).expect_code(0);
        memory(&["policy", "can", &file, "--principal", "admin", "--promote", "shared"]).expect_code(0);
    }
}

#[test]
fn json_is_allowed_and_reason() {
    let fx = Fixture::new();
    let file = fx.file("multi.json", MULTI_TENANT_JSON);
    let json = memory(&["policy", "can", &file, "--principal", "beta-agent", "--read", "project-beta", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(keys(&json), ["allowed", "reason"]);
    assert_eq!(json["allowed"], true);
    assert!(json["reason"].as_str().is_some_and(|r| !r.is_empty()));
    let json = memory(&["policy", "can", &file, "--principal", "beta-agent", "--read", "project-alpha", "--json"])
        .expect_code(1)
        .json();
    assert_eq!(json["allowed"], false);
}

#[test]
fn a_team_project_name_given_by_the_caller_is_an_ordinary_namespace() {
    // Team-project namespaces come from trusted configuration, never from a caller's string.
    let fx = Fixture::new();
    let file = fx.file("team.json", TEAM_CODING_JSON);
    let name = format!("team-pi-project-{}", crate::project_hash("repo"));
    memory(&["policy", "can", &file, "--principal", "pi-geek", "--read", &name]).expect_code(1);
    memory(&["policy", "can", &file, "--principal", "pi-geek", "--write", "pi-geek"]).expect_code(0);
    memory(&["policy", "can", &file, "--principal", "pi-geek", "--read", "pi-friend"]).expect_code(1);
}

#[test]
fn an_invalid_configuration_exits_2() {
    let fx = Fixture::new();
    let file = fx.file("bad.toml", "[namespaces]\nenabled = \"yes\"\n");
    let run = memory(&["policy", "can", &file, "--principal", "alice", "--read", "shared"]).expect_code(2);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.starts_with("error: namespaces.enabled: "), "{run:#?}");
    let run = memory(&["policy", "can", &file, "--principal", "alice", "--read", "shared", "--json"]).expect_code(2);
    assert_eq!(run.stdout, "");
}
