//! `memory policy check`: valid and invalid files in both dialects, both output forms.

use crate::configs::{MULTI_TENANT_JSON, MULTI_TENANT_TOML, TEAM_CODING_AUTO_PROMOTE_TOML, TEAM_CODING_JSON};
use crate::{Fixture, keys, memory};

#[test]
fn the_seed_examples_are_valid_in_both_dialects() {
    let fx = Fixture::new();
    for (name, text) in [
        ("multi.json", MULTI_TENANT_JSON),
        ("multi.toml", MULTI_TENANT_TOML),
        ("team.json", TEAM_CODING_JSON),
        ("team.toml", TEAM_CODING_AUTO_PROMOTE_TOML),
    ] {
        let file = fx.file(name, text);
        let run = memory(&["policy", "check", &file]).expect_code(0);
        assert_eq!(run.stdout, "valid\n", "{name}");
        let json = memory(&["policy", "check", &file, "--json"]).expect_code(0).json();
        assert_eq!(json, serde_json::json!({"valid": true, "diagnostics": []}), "{name}");
    }
}

#[test]
fn an_invalid_file_lists_each_error_with_its_path_and_exits_2() {
    let fx = Fixture::new();
    let file = fx.file(
        "bad.toml",
        r#"
[namespaces]
enabled = true

[[namespaces.policies]]
name = "research"
raed = ["alice"]
write = ["team:nobody"]
"#,
    );
    let run = memory(&["policy", "check", &file]).expect_code(2);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("error: namespaces.policies[0].raed: ")), "{run:#?}");
    assert!(lines.iter().any(|l| l.starts_with("error: namespaces.policies[0].write[0]: ")), "{run:#?}");
    assert_eq!(lines.last(), Some(&"invalid: 2 errors"), "{run:#?}");

    let json = memory(&["policy", "check", &file, "--json"]).expect_code(2).json();
    assert_eq!(keys(&json), ["diagnostics", "valid"]);
    assert_eq!(json["valid"], false);
    let diagnostics = json["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 2, "{json:#}");
    for d in diagnostics {
        assert_eq!(keys(d), ["message", "path", "severity"]);
        assert_eq!(d["severity"], "error");
    }
    assert_eq!(diagnostics[0]["path"], "namespaces.policies[0].raed");
}

#[test]
fn json_paths_are_in_the_camel_case_dialect() {
    let fx = Fixture::new();
    let file = fx.file("bad.json", r#"{"namespacesEnabled": true, "namespacePolicies": {"a/b": {"read": ["*"]}}}"#);
    let run = memory(&["policy", "check", &file]).expect_code(2);
    assert!(run.stdout.lines().any(|l| l.starts_with("error: namespacePolicies")), "{run:#?}");
    assert!(run.stdout.ends_with("invalid: 1 error\n"), "{run:#?}");
}

#[test]
fn warnings_are_listed_but_the_file_stays_valid() {
    let fx = Fixture::new();
    let file = fx.file(
        "warn.toml",
        r#"
[namespaces]
default_recall = ["self", "shared", "shared"]
"#,
    );
    let run = memory(&["policy", "check", &file]).expect_code(0);
    assert!(run.stdout.starts_with("warning: namespaces.default_recall[2]: "), "{run:#?}");
    assert!(run.stdout.ends_with("\nvalid\n"), "{run:#?}");
    let json = memory(&["policy", "check", &file, "--json"]).expect_code(0).json();
    assert_eq!(json["valid"], true);
    assert_eq!(json["diagnostics"][0]["severity"], "warning");
    assert_eq!(json["diagnostics"][0]["path"], "namespaces.default_recall[2]");
}

#[test]
fn unparsable_text_is_invalid_not_a_crash() {
    let fx = Fixture::new();
    for (name, text) in [("garbage.toml", "[[[ = \u{0}\u{7f}"), ("garbage.json", "{\"namespacePolicies\": [")] {
        let file = fx.file(name, text);
        let run = memory(&["policy", "check", &file]).expect_code(2);
        assert!(run.stdout.starts_with("error: "), "{run:#?}");
    }
}

#[test]
fn a_missing_file_is_one_clear_error() {
    let fx = Fixture::new();
    let missing = fx.path().join("nope.toml");
    let missing = missing.to_str().unwrap();
    for json in [false, true] {
        let mut args = vec!["policy", "check", missing];
        if json {
            args.push("--json");
        }
        let run = memory(&args).expect_code(2);
        assert_eq!(run.stdout, "");
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
        assert!(run.stderr.starts_with("error: cannot read the policy file"), "{run:#?}");
        assert!(run.stderr.contains("nope.toml"), "{run:#?}");
    }
    let run = memory(&["policy", "check", crate::arg(fx.path()).as_str()]).expect_code(2);
    assert!(run.stderr.contains("is a directory"), "{run:#?}");
}
