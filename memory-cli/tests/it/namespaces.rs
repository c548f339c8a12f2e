//! `memory namespaces`: the lifecycle create, ls, rename, archive (recall then finds nothing to
//! read: 4), restore, delete, verify, and its bad inputs.

use serde_json::Value;

use crate::{Home, keys};

/// The keys `namespaces ls --json` lists.
fn listed(home: &Home, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["namespaces", "ls", "--json"];
    args.extend_from_slice(extra);
    let json = home.run("admin", &args).expect_code(0).json();
    json["namespaces"]
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {json}"))
        .iter()
        .map(|ns| ns["key"].as_str().unwrap().to_owned())
        .collect()
}

/// Namespace management needs no policy (the CLI is the operator); writing and reading
/// `team.alpha` as `admin` does.
const ADMIN_OWNS_TEAM_ALPHA: &str = r#"
[namespaces.teams.alpha]
principals = ["admin"]

[[namespaces.policies]]
name = "team.alpha"
read = ["admin"]
write = ["admin"]
"#;

#[test]
fn namespace_lifecycle() {
    let home = Home::with_config(ADMIN_OWNS_TEAM_ALPHA);
    let run = home.run("admin", &["namespaces", "ls"]).expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["KEY", "KIND", "STATUS", "MEMORIES", "DISPLAY", "NAME"]
    );
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["default", "default", "active", "0", "default"]);
    assert_eq!(lines.len(), 3, "{run:#?}");

    let created = home
        .run(
            "admin",
            &[
                "namespaces",
                "create",
                "team.alpha",
                "--display-name",
                "Team Alpha",
                "--description",
                "Research findings",
                "--team",
                "alpha",
                "--sensitivity",
                "sensitive",
                "--default-access",
                "private",
                "--retention-days",
                "30",
                "--json",
            ],
        )
        .expect_code(0)
        .json();
    assert_eq!(created["key"], "team.alpha");
    assert_eq!(created["kind"], "explicit");
    for (field, value) in [
        ("display_name", Value::from("Team Alpha")),
        ("description", Value::from("Research findings")),
        ("team", Value::from("alpha")),
        ("sensitivity", Value::from("sensitive")),
        ("default_access", Value::from("private")),
        ("retention_days", Value::from(30)),
    ] {
        assert_eq!(created[field], value, "{field}: {created:#}");
    }
    // The key is taken: a conflict, exit 1.
    let run = home.run("admin", &["namespaces", "create", "team.alpha"]).expect_code(1);
    assert!(run.stderr.starts_with("error: ") && run.stderr.contains("already exists"), "{run:#?}");
    let run = home.run("admin", &["namespaces", "create", "scratch"]).expect_code(0);
    assert_eq!(run.stdout, "created namespace scratch\n");

    // Admin writes into it under the policy; the filters of ls.
    home.remember("admin", "GPT-4 outperforms on math by 12%", &["--namespace", "team.alpha"]);
    assert_eq!(listed(&home, &[]), ["default", "scratch", "shared", "team.alpha"]);
    assert_eq!(listed(&home, &["--team", "alpha"]), ["team.alpha"]);
    assert_eq!(listed(&home, &["--sensitivity", "sensitive"]), ["team.alpha"]);
    assert_eq!(listed(&home, &["--kind", "shared"]), ["shared"]);
    let json = home.run("admin", &["namespaces", "ls", "--team", "alpha", "--json"]).expect_code(0).json();
    assert_eq!(json["namespaces"][0]["key"], "team.alpha");
    assert_eq!(json["namespaces"][0]["memories"], 1);

    let run = home.run("admin", &["namespaces", "rename", "team.alpha", "Alpha research"]).expect_code(0);
    assert_eq!(run.stdout, "renamed namespace team.alpha: display name \"Alpha research\"\n");
    let run = home.run("admin", &["namespaces", "ls", "--team", "alpha"]).expect_code(0);
    assert!(run.stdout.lines().nth(1).unwrap().ends_with("  1         Alpha research"), "{run:#?}");

    // Archived: no reads, named or not, until restored.
    let run = home.run("admin", &["namespaces", "archive", "team.alpha"]).expect_code(0);
    assert_eq!(run.stdout, "archived namespace team.alpha\n");
    let json = home.run("admin", &["namespaces", "archive", "team.alpha", "--json"]).expect_code(0).json();
    assert_eq!(json, serde_json::json!({"namespace": "team.alpha", "status": "archived", "changed": false}));
    home.run("admin", &["recall", "GPT-4", "--namespace", "team.alpha"]).expect_code(4);
    home.run("admin", &["remember", "more", "--namespace", "team.alpha"]).expect_code(4);
    assert!(home.recall("admin", "GPT-4", &["--namespace", "*"]).is_empty());
    assert_eq!(listed(&home, &["--status", "archived"]), ["team.alpha"]);

    home.run("admin", &["namespaces", "restore", "team.alpha"]).expect_code(0);
    let found = home.recall("admin", "GPT-4", &["--namespace", "team.alpha"]);
    assert_eq!(found, ["GPT-4 outperforms on math by 12%"]);

    let run = home.run("admin", &["namespaces", "verify"]).expect_code(0);
    assert_eq!(run.stdout, "checked 4 namespaces and 1 live memory: ok\n");

    let run = home.run("admin", &["namespaces", "delete", "team.alpha"]).expect_code(0);
    assert_eq!(run.stdout, "deleted namespace team.alpha\n");
    assert_eq!(listed(&home, &[]), ["default", "scratch", "shared"]);
    assert_eq!(listed(&home, &["--status", "deleted"]), ["team.alpha"]);
    home.run("admin", &["recall", "GPT-4", "--namespace", "team.alpha"]).expect_code(4);
    let report = home.run("admin", &["namespaces", "verify", "--json"]).expect_code(0).json();
    assert_eq!(keys(&report), ["applied_seq", "memories", "namespaces", "problems", "store_seq"]);
    assert_eq!(report["problems"], serde_json::json!([]));
}

#[test]
fn bad_namespace_arguments_exit_2() {
    let home = Home::new();
    for (args, start) in [
        (vec!["namespaces", "create", "a/b"], "error: KEY: "),
        (vec!["namespaces", "create", "ok", "--retention-days", "0"], "error: --retention-days: "),
        (vec!["namespaces", "create", "ok", "--sensitivity", "secret"], "error: --sensitivity: "),
        (vec!["namespaces", "create", "ok", "--default-access", "world"], "error: --default-access: "),
        (vec!["namespaces", "create", "ok", "--display-name", " "], "error: --display-name: "),
        (vec!["namespaces", "ls", "--kind", "mine"], "error: --kind: "),
        (vec!["namespaces", "ls", "--status", "gone"], "error: --status: "),
        (vec!["namespaces", "rename", "default", ""], "error: NAME: "),
        // The tenant's own namespaces stay.
        (vec!["namespaces", "archive", "default"], "error: "),
        (vec!["namespaces", "delete", "shared"], "error: "),
    ] {
        let run = home.run("admin", &args).expect_code(2);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run:#?}");
        assert!(run.stderr.starts_with(start), "{args:?}: {run:#?}");
    }
    home.run("admin", &["namespaces", "archive", "nowhere"]).expect_code(4);
    home.run("admin", &["namespaces", "rename", "nowhere", "Name"]).expect_code(4);
}

/// `team_789` of seeds/004: tom writes and reads, rita reads.
const TEAM_789: &str = r#"
[namespaces.teams.team_789]
principals = ["tom", "rita"]
read = ["tom", "rita"]
write = ["tom"]
"#;

#[test]
fn seed_004_a_team_namespace_created_by_name_is_read_by_its_members_only() {
    let home = Home::with_config(TEAM_789);
    let created = home
        .run(
            "admin",
            &[
                "namespaces",
                "create",
                "--name",
                "Customer Data",
                "--team",
                "team_789",
                "--default-access",
                "team",
                "--json",
            ],
        )
        .expect_code(0)
        .json();
    assert_eq!(created["key"], "customer-data");
    home.run("admin", &["namespaces", "create", "--name", "customer data"]).expect_code(1);
    home.remember("tom", "ACME renews in May", &["--namespace", "customer-data"]);
    home.run("rita", &["remember", "Rita was here", "--namespace", "customer-data"]).expect_code(3);
    assert_eq!(home.recall("rita", "ACME renewal", &["--namespace", "customer-data"]), ["ACME renews in May"]);
    home.run("oscar", &["recall", "ACME renewal", "--namespace", "customer-data"]).expect_code(3);
    // Private: its creator only; restricted: only when named, and the plan says why.
    home.run("alice", &["namespaces", "create", "diary", "--default-access", "private"]).expect_code(0);
    home.run("admin", &["namespaces", "create", "vault", "--default-access", "public", "--sensitivity", "restricted"])
        .expect_code(0);
    home.remember("admin", "The vault code is 1234", &["--namespace", "vault"]);
    assert!(home.recall("oscar", "vault code", &["--namespace", "*"]).is_empty());
    assert_eq!(home.recall("oscar", "vault code", &["--namespace", "vault"]), ["The vault code is 1234"]);
    let plan = home.run("oscar", &["inspect", "--namespace", "*"]).expect_code(0);
    assert!(plan.stdout.contains("restricted: never in a default read set or *"), "{}", plan.stdout);
    assert!(plan.stdout.contains("private: only its creator"), "{}", plan.stdout);
}

#[test]
fn migrate_moves_a_namespace_and_import_copies_one_into_another() {
    let home = Home::new();
    for ns in ["old", "new"] {
        home.run("admin", &["namespaces", "create", ns]).expect_code(0);
    }
    home.remember("admin", "Alice prefers Python", &["--namespace", "old"]);
    home.remember("admin", "Bob is on call", &["--namespace", "old"]);
    home.remember("admin", "Bob is on call", &["--namespace", "new"]);
    let dry = home.run("admin", &["namespaces", "migrate", "old", "--to", "new", "--dry-run"]).expect_code(0);
    assert!(dry.stdout.contains("2 memories would move (1 as they are, 1 merging into a duplicate)"), "{}", dry.stdout);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.jsonl");
    let file = file.to_str().unwrap();
    home.run("admin", &["export", "--namespace", "old", "--out", file]).expect_code(0);
    let done =
        home.run("admin", &["namespaces", "migrate", "old", "--to", "new", "--apply", "--json"]).expect_code(0).json();
    assert_eq!((done["applied"].as_bool(), done["moved"].as_u64()), (Some(true), Some(2)));
    let listed = home.run("admin", &["namespaces", "ls", "--json"]).expect_code(0).json();
    let count = |key: &str| {
        listed["namespaces"].as_array().unwrap().iter().find(|n| n["key"] == key).unwrap()["memories"].as_u64()
    };
    assert_eq!(
        (count("old"), count("new")),
        (Some(0), Some(3)),
        "old is empty, not deleted; new holds its own and both moved"
    );
    // The export taken before the move imports into a third namespace as copies.
    let report = home.run("admin", &["import", file, "--namespace", "copy", "--json"]).expect_code(0).json();
    assert_eq!(report["memories"].as_u64(), Some(2), "{report}");
    let copied = home.recall("admin", "Who is on call?", &["--namespace", "copy"]);
    assert_eq!(copied, ["Bob is on call"]);
    assert_eq!(home.recall("admin", "What does Alice prefer?", &["--namespace", "copy"]), ["Alice prefers Python"]);
}
