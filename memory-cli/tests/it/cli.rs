//! The command line itself: help, usage errors and their exit codes.

use crate::configs::MULTI_TENANT_JSON;
use crate::{Fixture, memory};

#[test]
fn help_is_printed_and_succeeds() {
    let run = memory(&["--help"]).expect_code(0);
    assert!(run.stdout.contains("policy"), "{run:#?}");
    let run = memory(&["policy", "--help"]).expect_code(0);
    for command in ["check", "plan", "can", "promote"] {
        assert!(run.stdout.contains(command), "{command}: {run:#?}");
    }
    let run = memory(&["policy", "plan", "--help"]).expect_code(0);
    for flag in ["--principal", "--session-key", "--header-principal", "--namespace", "--api-key-scope", "--json"] {
        assert!(run.stdout.contains(flag), "{flag}: {run:#?}");
    }
}

#[test]
fn help_names_the_home_commands_and_who_they_run_as() {
    let run = memory(&["--help"]).expect_code(0);
    for needle in ["remember", "recall", "namespaces", "export", "import", "reindex", "--home", "as the operator"] {
        assert!(run.stdout.contains(needle), "{needle}: {run:#?}");
    }
    let run = memory(&["namespaces", "--help"]).expect_code(0);
    for command in ["ls", "create", "rename", "archive", "restore", "delete", "verify"] {
        assert!(run.stdout.contains(command), "{command}: {run:#?}");
    }
    let run = memory(&["recall", "--help"]).expect_code(0);
    for flag in ["--namespace", "--layer", "--limit", "--since", "--meta", "--explain", "--principal", "--json"] {
        assert!(run.stdout.contains(flag), "{flag}: {run:#?}");
    }
}

#[test]
fn usage_errors_exit_2_with_an_error_line() {
    let fx = Fixture::new();
    let file = fx.file("multi.json", MULTI_TENANT_JSON);
    for args in [
        vec![],
        vec!["nope"],
        vec!["policy"],
        vec!["policy", "check"],
        vec!["policy", "plan", &file],
        vec!["policy", "plan", &file, "--principal", "a", "--session-key", "k"],
        vec!["policy", "plan", &file, "--principal", "a", "--bogus"],
        vec!["policy", "plan", &file, "--session-key", "k", "--api-key-scope", "shared=read"],
        vec!["policy", "plan", &file, "--principal", "a", "--branch", "main"],
        vec!["policy", "can", &file, "--principal", "a"],
        vec!["policy", "can", &file, "--principal", "a", "--read", "shared", "--write", "shared"],
        vec!["policy", "promote", &file, "--principal", "a", "--from", "shared", "--category", "fact"],
    ] {
        let run = memory(&args).expect_code(2);
        assert!(run.stderr.starts_with("error:") || run.stderr.contains("Usage:"), "{args:?}: {run:#?}");
    }
}

#[test]
fn bad_values_exit_2_with_one_line_naming_the_flag() {
    let fx = Fixture::new();
    let file = fx.file("multi.json", MULTI_TENANT_JSON);
    for (args, flag) in [
        (vec!["policy", "plan", &file, "--principal", " "], "--principal"),
        (vec!["policy", "plan", &file, "--principal", "a", "--namespace", "a/b"], "--namespace"),
        (vec!["policy", "plan", &file, "--principal", "a", "--write", ".."], "--write"),
        (vec!["policy", "plan", &file, "--principal", "a", "--api-key-scope", "shared"], "--api-key-scope"),
        (vec!["policy", "plan", &file, "--principal", "a", "--api-key-scope", "shared=admin"], "--api-key-scope"),
        (
            vec!["policy", "plan", &file, "--principal", "a", "--api-key-scope", "x=read", "--api-key-scope", "x=read"],
            "--api-key-scope",
        ),
        (vec!["policy", "plan", &file, "--principal", "a", "--api-key-default", "a b"], "--api-key-default"),
        (vec!["policy", "plan", &file, "--principal", "a", "--project-id", ""], "--project-id"),
        (vec!["policy", "can", &file, "--principal", "a", "--read", "a\\b"], "--read"),
    ] {
        let run = memory(&args).expect_code(2);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run:#?}");
        assert!(run.stderr.starts_with(&format!("error: {flag}")), "{args:?}: {run:#?}");
    }
}
