//! `memory policy promote`: automatic promotion targets from a profile and from the legacy
//! shared switch, and the argument checks.

use crate::configs::{AUTO_PROMOTE_TO_SHARED_JSON, MULTI_TENANT_JSON, TEAM_CODING_AUTO_PROMOTE_TOML, TEAM_CODING_JSON};
use crate::{Fixture, keys, memory, project_hash, strings};

fn promote(file: &str, principal: &str, from: &str, category: &str, confidence: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["policy", "promote", file, "--principal", principal, "--from", from];
    args.extend(["--category", category, "--confidence", confidence]);
    args.extend_from_slice(extra);
    args.into_iter().map(str::to_owned).collect()
}

#[test]
fn the_profile_promotes_into_the_team_project_when_switched_on() {
    let fx = Fixture::new();
    let file = fx.file("team.toml", TEAM_CODING_AUTO_PROMOTE_TOML);
    let project = ["--project-id", "repo", "--json"];
    let json = memory(&promote(&file, "pi-geek", "pi-geek", "decision", "0.97", &project)).expect_code(0).json();
    assert_eq!(keys(&json), ["reason", "targets"]);
    assert_eq!(strings(&json["targets"]), [format!("team-pi-project-{}", project_hash("repo")).as_str()]);

    // Below the minimum tier, outside the categories, or without a project: no targets, exit 0.
    for (category, confidence, extra) in
        [("decision", "0.5", &project[..]), ("fact", "1", &project[..]), ("decision", "1", &["--json"][..])]
    {
        let json = memory(&promote(&file, "pi-geek", "pi-geek", category, confidence, extra)).expect_code(0).json();
        assert_eq!(strings(&json["targets"]), Vec::<&str>::new(), "{category} {confidence}: {json:#}");
        assert!(!json["reason"].as_str().unwrap().is_empty());
    }

    // The seed example keeps it off.
    let seed = fx.file("team.json", TEAM_CODING_JSON);
    let run = memory(&promote(&seed, "pi-geek", "pi-geek", "decision", "1", &["--project-id", "repo"])).expect_code(0);
    assert!(run.stdout.starts_with("targets: (none)\nreason: "), "{run:#?}");
}

#[test]
fn the_legacy_switch_promotes_into_shared_but_never_from_it() {
    let fx = Fixture::new();
    let file = fx.file("shared.json", AUTO_PROMOTE_TO_SHARED_JSON);
    let json = memory(&promote(&file, "alice", "research", "fact", "0.8", &["--json"])).expect_code(0).json();
    assert_eq!(strings(&json["targets"]), ["shared"]);
    let run = memory(&promote(&file, "alice", "research", "fact", "0.8", &[])).expect_code(0);
    assert!(run.stdout.starts_with("targets: shared\nreason: "), "{run:#?}");
    let json = memory(&promote(&file, "alice", "shared", "fact", "0.8", &["--json"])).expect_code(0).json();
    assert_eq!(strings(&json["targets"]), Vec::<&str>::new());
    let json = memory(&promote(&file, "alice", "research", "fact", "0.3", &["--json"])).expect_code(0).json();
    assert_eq!(strings(&json["targets"]), Vec::<&str>::new());

    // Off by default.
    let multi = fx.file("multi.json", MULTI_TENANT_JSON);
    let json = memory(&promote(&multi, "alpha-agent", "project-alpha", "fact", "1", &["--json"])).expect_code(0).json();
    assert_eq!(strings(&json["targets"]), Vec::<&str>::new());
}

#[test]
fn bad_category_confidence_or_namespace_exit_2_with_one_line() {
    let fx = Fixture::new();
    let file = fx.file("shared.json", AUTO_PROMOTE_TO_SHARED_JSON);
    for (from, category, confidence, flag) in [
        ("research", "Fact!", "0.9", "--category"),
        ("research", "", "0.9", "--category"),
        ("research", "fact", "1.5", "--confidence"),
        ("research", "fact", "-0.1", "--confidence"),
        ("research", "fact", "NaN", "--confidence"),
        ("research", "fact", "high", "--confidence"),
        ("a/b", "fact", "0.9", "--from"),
    ] {
        let run = memory(&promote(&file, "alice", from, category, confidence, &[])).expect_code(2);
        assert_eq!(run.stdout, "");
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
        assert!(run.stderr.starts_with(&format!("error: {flag}: ")), "{run:#?}");
    }
    let bad = fx.file("bad.json", r#"{"autoPromoteMinConfidenceTier": "sure"}"#);
    let run = memory(&promote(&bad, "alice", "research", "fact", "0.9", &["--json"])).expect_code(2);
    assert!(run.stderr.starts_with("error: autoPromoteMinConfidenceTier: "), "{run:#?}");
    assert_eq!(run.stdout, "");
}
