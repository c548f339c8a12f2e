//! `memory policy plan`: the seeds/002 examples end to end, the JSON shape, and exit codes.

use crate::configs::{
    AUTO_PROMOTE_TO_SHARED_JSON, MULTI_TENANT_JSON, MULTI_TENANT_TOML, TEAM_CODING_AUTO_PROMOTE_TOML, TEAM_CODING_JSON,
};
use crate::{Fixture, keys, memory, project_hash, strings};

const PLAN_KEYS: [&str; 9] = [
    "error",
    "layers",
    "principal",
    "principal_reason",
    "principal_source",
    "promotion_targets",
    "read",
    "warnings",
    "write",
];

#[test]
fn alpha_agent_via_its_session_key_reads_its_project_and_shared_in_both_dialects() {
    let fx = Fixture::new();
    for file in [fx.file("multi.json", MULTI_TENANT_JSON), fx.file("multi.toml", MULTI_TENANT_TOML)] {
        let args = [
            "policy",
            "plan",
            &file,
            "--session-key",
            "project-alpha:session-1",
            "--namespace",
            "project-alpha",
            "--namespace",
            "shared",
            "--json",
        ];
        let plan = memory(&args).expect_code(0).json();
        // `write_refusal` appears when writes are refused: alpha-agent may only read `default`.
        let mut expected = PLAN_KEYS.to_vec();
        expected.push("write_refusal");
        assert_eq!(keys(&plan), expected);
        assert_eq!(plan["write_refusal"]["code"], "forbidden");
        assert_eq!(plan["principal"], "alpha-agent");
        assert_eq!(plan["principal_source"], serde_json::json!({"kind": "session_key", "rule": 0}));
        assert_eq!(strings(&plan["read"]), ["project-alpha", "shared"]);
        assert_eq!(plan["error"], serde_json::Value::Null);
        for layer in plan["layers"].as_array().unwrap() {
            assert_eq!(keys(layer), ["layer", "namespace", "promotable", "readable", "reason", "writable"]);
        }
        for target in plan["promotion_targets"].as_array().unwrap() {
            assert_eq!(keys(target), ["authorized", "namespace", "reason", "target"]);
        }

        // Its default read set is the configured one: shared only.
        let plan = memory(&["policy", "plan", &file, "--session-key", "project-alpha:session-1", "--json"])
            .expect_code(0)
            .json();
        assert_eq!(strings(&plan["read"]), ["shared"]);

        // `*`: every namespace it may read, which never includes project-beta.
        let plan = memory(&["policy", "plan", &file, "--session-key", "project-alpha:s", "--namespace", "*", "--json"])
            .expect_code(0)
            .json();
        let read = strings(&plan["read"]);
        assert!(read.contains(&"project-alpha") && read.contains(&"shared"), "{plan:#}");
        assert!(!read.contains(&"project-beta"), "{plan:#}");

        // An explicit write it is allowed.
        let plan = memory(&[
            "policy",
            "plan",
            &file,
            "--session-key",
            "project-alpha:s",
            "--write",
            "project-alpha",
            "--json",
        ])
        .expect_code(0)
        .json();
        assert_eq!(plan["write"], "project-alpha");
    }
}

#[test]
fn a_refused_plan_exits_1_and_carries_the_error() {
    let fx = Fixture::new();
    let file = fx.file("multi.json", MULTI_TENANT_JSON);
    let alpha = ["policy", "plan", file.as_str(), "--session-key", "project-alpha:session-1"];
    for (extra, code) in [
        (&["--namespace", "project-beta"][..], "forbidden"),
        (&["--namespace", "no-such-namespace"][..], "not_found"),
        (&["--write", "shared"][..], "forbidden"),
    ] {
        let mut args = alpha.to_vec();
        args.extend_from_slice(extra);
        args.push("--json");
        let plan = memory(&args).expect_code(1).json();
        assert_eq!(keys(&plan), PLAN_KEYS);
        assert_eq!(keys(&plan["error"]), ["code", "message"]);
        assert_eq!(plan["error"]["code"], code, "{extra:?}: {plan:#}");
        assert_eq!(strings(&plan["read"]), Vec::<&str>::new());
        assert_eq!(plan["write"], serde_json::Value::Null);

        // The human form says the same.
        args.pop();
        let run = memory(&args).expect_code(1);
        assert!(run.stdout.contains(&format!("refused ({code}): ")), "{run:#?}");
    }

    // A session key no rule maps, and no fallback principal: unauthenticated.
    let plan = memory(&["policy", "plan", &file, "--session-key", "project-gamma:1", "--json"]).expect_code(1).json();
    assert_eq!(plan["principal"], serde_json::Value::Null);
    assert_eq!(plan["error"]["code"], "unauthenticated");
}

#[test]
fn team_members_get_their_own_user_project_and_one_team_project() {
    let fx = Fixture::new();
    let hash = project_hash("github.com/pi/app");
    for file in [fx.file("team.json", TEAM_CODING_JSON), fx.file("team.toml", TEAM_CODING_AUTO_PROMOTE_TOML)] {
        let plan_of = |principal: &str| {
            memory(&["policy", "plan", &file, "--principal", principal, "--project-id", "github.com/pi/app", "--json"])
                .expect_code(0)
                .json()
        };
        let layer = |plan: &serde_json::Value, name: &str| {
            let layers = plan["layers"].as_array().unwrap();
            let layer = layers.iter().find(|l| l["layer"] == name).unwrap_or_else(|| panic!("no {name}: {plan:#}"));
            layer["namespace"].as_str().unwrap().to_owned()
        };
        let geek = plan_of("pi-geek");
        let friend = plan_of("pi-friend");
        let team = format!("team-pi-project-{hash}");
        assert_eq!(layer(&geek, "teamProject"), team);
        assert_eq!(layer(&friend, "teamProject"), team);
        let geek_project = layer(&geek, "userProject");
        let friend_project = layer(&friend, "userProject");
        assert_ne!(geek_project, friend_project);
        assert!(geek_project.starts_with("pi-geek") && geek_project.contains(&hash), "{geek_project}");
        // Read order userProject, teamProject, userGlobal, serverShared; writes go to userProject.
        assert_eq!(strings(&geek["read"]), [geek_project.as_str(), team.as_str(), "pi-geek", "shared"]);
        assert_eq!(geek["write"], geek_project.as_str());
        let targets: Vec<(&str, bool)> = geek["promotion_targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["target"].as_str().unwrap(), t["authorized"].as_bool().unwrap()))
            .collect();
        assert_eq!(targets, [("teamProject", true), ("serverShared", false)]);
    }
}

#[test]
fn without_project_context_project_layers_are_skipped_with_a_warning() {
    let fx = Fixture::new();
    let file = fx.file("team.json", TEAM_CODING_JSON);
    let plan = memory(&["policy", "plan", &file, "--principal", "pi-geek", "--json"]).expect_code(0).json();
    for name in ["userProject", "teamProject"] {
        let layers = plan["layers"].as_array().unwrap();
        let layer = layers.iter().find(|l| l["layer"] == name).unwrap();
        assert_eq!(layer["namespace"], serde_json::Value::Null, "{name}: {plan:#}");
        assert!(layer["reason"].as_str().unwrap().contains("missing project context"), "{plan:#}");
    }
    assert!(strings(&plan["warnings"]).iter().any(|w| w.contains("missing project context")), "{plan:#}");
    // It falls back to the next authorized layer.
    assert_eq!(strings(&plan["read"]), ["pi-geek", "shared"]);
    assert_eq!(plan["write"], "pi-geek");

    let run = memory(&["policy", "plan", &file, "--principal", "pi-geek"]).expect_code(0);
    assert!(run.stdout.contains("missing project context"), "{run:#?}");
}

#[test]
fn the_human_summary_shows_principal_read_write_layers_and_targets() {
    let fx = Fixture::new();
    let file = fx.file("team.toml", TEAM_CODING_AUTO_PROMOTE_TOML);
    let run = memory(&["policy", "plan", &file, "--principal", "pi-geek", "--project-id", "repo", "--branch", "main"])
        .expect_code(0);
    let out = &run.stdout;
    assert!(out.starts_with("principal: pi-geek\n  because the server runs as "), "{out}");
    let team = format!("team-pi-project-{}", project_hash("repo"));
    assert!(out.lines().any(|l| l.starts_with("read:") && l.contains(&team)), "{out}");
    assert!(out.lines().any(|l| l.starts_with("write:") && l.contains(".b-")), "{out}");
    assert!(out.contains("\nlayers:\n  LAYER"), "{out}");
    assert!(out.lines().any(|l| l.trim_start().starts_with("teamProject") && l.contains(&team)), "{out}");
    assert!(out.contains("\npromotion targets:\n  TARGET"), "{out}");
    assert_eq!(run.stderr, "");
}

#[test]
fn api_key_scopes_and_the_trusted_header_shape_the_plan() {
    let fx = Fixture::new();
    let file = fx.file("shared.json", AUTO_PROMOTE_TO_SHARED_JSON);
    let plan = memory(&[
        "policy",
        "plan",
        &file,
        "--principal",
        "carol",
        "--api-key-scope",
        "research=read_write",
        "--api-key-scope",
        "shared=read",
        "--api-key-default",
        "research",
        "--json",
    ])
    .expect_code(0)
    .json();
    assert_eq!(plan["principal_source"]["kind"], "api_key");
    assert_eq!(strings(&plan["read"]), ["research", "shared"]);
    assert_eq!(plan["write"], "research");

    // The header wins when the policy trusts it.
    let plan = memory(&["policy", "plan", &file, "--principal", "server", "--header-principal", "alice", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(plan["principal"], "alice");
    assert_eq!(plan["principal_source"]["kind"], "header");

    // ...and is ignored, with a warning, when it does not.
    let multi = fx.file("multi.json", MULTI_TENANT_JSON);
    let plan =
        memory(&["policy", "plan", &multi, "--principal", "admin", "--header-principal", "alpha-agent", "--json"])
            .expect_code(0)
            .json();
    assert_eq!(plan["principal"], "admin");
    assert!(strings(&plan["warnings"]).iter().any(|w| w.contains("header")), "{plan:#}");
}

#[test]
fn an_invalid_configuration_exits_2_with_its_diagnostics_on_stderr() {
    let fx = Fixture::new();
    let file = fx.file(
        "bad.json",
        r#"{"namespacesEnabled": true, "defaultScopeProfile": "nope", "namespacePolicies": {"x": {"reed": []}}}"#,
    );
    for json in [false, true] {
        let mut args = vec!["policy", "plan", file.as_str(), "--principal", "alice"];
        if json {
            args.push("--json");
        }
        let run = memory(&args).expect_code(2);
        assert_eq!(run.stdout, "", "{run:#?}");
        assert!(run.stderr.lines().any(|l| l.starts_with("error: defaultScopeProfile: ")), "{run:#?}");
        assert!(run.stderr.lines().any(|l| l.starts_with("error: namespacePolicies.x.reed: ")), "{run:#?}");
        assert!(run.stderr.lines().last().unwrap().contains("is invalid (2 errors)"), "{run:#?}");
    }
    let missing = fx.path().join("missing.json");
    let run = memory(&["policy", "plan", missing.to_str().unwrap(), "--principal", "alice"]).expect_code(2);
    assert!(run.stderr.starts_with("error: cannot read the policy file"), "{run:#?}");
}

#[test]
fn configuration_warnings_go_to_stderr_and_keep_stdout_json() {
    let fx = Fixture::new();
    let file = fx.file("warn.toml", "[namespaces]\ndefault_recall = [\"self\", \"self\"]\n");
    let run = memory(&["policy", "plan", &file, "--principal", "alice", "--json"]).expect_code(0);
    assert!(run.stderr.starts_with("warning: namespaces.default_recall[1]: "), "{run:#?}");
    run.json();
}
