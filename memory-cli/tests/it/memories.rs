//! `memory remember | recall | get | forget | outcome | promote` on a home: their answers in
//! both forms, and the exit codes 2 (bad input), 3 (forbidden) and 4 (not found).

use crate::{Home, arg, keys, memory, memory_with_env};

/// Alice owns `alice` and may write `shared`; Bob owns `bob`.
const TWO_USERS: &str = r#"
[namespaces]

[[namespaces.policies]]
name = "alice"
read = ["alice"]
write = ["alice"]

[[namespaces.policies]]
name = "bob"
read = ["bob"]
write = ["bob"]

[[namespaces.policies]]
name = "shared"
read = ["*"]
write = ["alice"]
"#;

const UNKNOWN_ID: &str = "01900000-0000-7000-8000-000000000000";

#[test]
fn bad_values_exit_2_with_one_line_and_leave_no_home_behind() {
    let parent = Home::new();
    let home = parent.dir.path().join("never-created");
    let home = arg(&home);
    for (args, start) in [
        (vec!["remember", "x", "--layer", "deep"], "error: --layer: unknown layer \"deep\""),
        (vec!["remember", "x", "--namespace", "a/b"], "error: --namespace: "),
        (vec!["remember", "  "], "error: TEXT: "),
        (vec!["remember", "x", "--confidence", "2"], "error: --confidence: "),
        (vec!["remember", "x", "--category", "Not A Category"], "error: --category: "),
        (vec!["remember", "x", "--meta", "novalue"], "error: --meta \"novalue\": "),
        (vec!["remember", "x", "--meta", "k=1", "--meta", "k=2"], "error: --meta: "),
        (vec!["recall", "x", "--limit", "0"], "error: --limit: "),
        (vec!["recall", "x", "--limit", "many"], "error: --limit: "),
        (vec!["recall", "x", "--namespace", ".."], "error: --namespace: "),
        (vec!["recall", "x", "--layer", "all"], "error: --layer: "),
        (vec!["recall", "x", "--since", "yesterday"], "error: --since: "),
        (vec!["recall", "x", "--since", "2026-02-01T00:00:00Z", "--until", "2026-01-01T00:00:00Z"], "error: --since: "),
        (vec!["get", "42"], "error: invalid memory id \"42\""),
        (vec!["outcome", UNKNOWN_ID, "--reward", "1.5"], "error: --reward: "),
        (vec!["promote", UNKNOWN_ID, "--to", "a b"], "error: --to: "),
        (vec!["--principal", " ", "recall", "x"], "error: --principal: "),
    ] {
        let mut all = vec!["--home", home.as_str(), "--embedder", "hash"];
        if !args.contains(&"--principal") {
            all.extend(["--principal", "alice"]);
        }
        all.extend(args.iter().copied());
        let run = memory(&all).expect_code(2);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run:#?}");
        assert!(run.stderr.starts_with(start), "{args:?}: {run:#?}");
    }
    assert!(!std::path::Path::new(&home).exists(), "a bad value must not create the home");
    // Usage errors are clap's, also exit 2.
    memory(&["outcome", UNKNOWN_ID, "--helpful", "--unhelpful"]).expect_code(2);
    memory(&["outcome", UNKNOWN_ID]).expect_code(2);
}

#[test]
fn forbidden_exits_3_and_missing_exits_4() {
    let home = Home::with_config(TWO_USERS);
    let bobs = home.remember("bob", "Bob prefers Go", &[]);
    let run = home.run("alice", &["recall", "Go", "--namespace", "bob"]).expect_code(3);
    assert!(run.stderr.starts_with("error: ") && run.stderr.lines().count() == 1, "{run:#?}");
    home.run("alice", &["remember", "Mine now", "--namespace", "bob"]).expect_code(3);
    home.run("bob", &["promote", &bobs, "--to", "shared"]).expect_code(3);
    for args in [
        vec!["get", UNKNOWN_ID],
        vec!["forget", UNKNOWN_ID],
        vec!["outcome", UNKNOWN_ID, "--helpful"],
        vec!["promote", UNKNOWN_ID],
        vec!["get", bobs.as_str()],
        vec!["outcome", bobs.as_str(), "--unhelpful"],
        vec!["recall", "x", "--namespace", "nowhere"],
    ] {
        let run = home.run("alice", &args).expect_code(4);
        assert!(run.stderr.starts_with("error: ") && run.stderr.lines().count() == 1, "{args:?}: {run:#?}");
        assert_eq!(run.stdout, "");
    }
    // A bad configuration is bad input.
    let broken = Home::with_config("[namespaces]\nenabled = \"yes\"\n");
    let run = broken.run("alice", &["recall", "x"]).expect_code(2);
    assert!(run.stderr.starts_with("error: invalid configuration "), "{run:#?}");
}

#[test]
fn remember_get_outcome_promote_forget() {
    let home = Home::with_config(TWO_USERS);
    let args = ["--layer", "semantic", "--category", "preference", "--confidence", "0.8"];
    let meta = ["--meta", "source=chat", "--meta", "turn=3", "--meta", r#"tags=["lang"]"#];
    let written = home
        .run("alice", &[&["remember", "Alice prefers Python", "--json"][..], &args, &meta].concat())
        .expect_code(0)
        .json();
    assert_eq!(keys(&written), ["created", "duplicate", "id", "memory", "namespace", "promoted", "warnings"]);
    assert_eq!((written["namespace"].as_str(), written["created"].as_bool()), (Some("alice"), Some(true)));
    let id = written["id"].as_str().unwrap().to_owned();

    // The same content again: the same memory, one more piece of evidence.
    let run = home.run("alice", &["remember", "Alice prefers Python", "--layer", "semantic"]).expect_code(0);
    assert_eq!(run.stdout, format!("remembered {id} in alice (already known: evidence +1)\n"));

    let memory = home.run("alice", &["get", &id, "--json"]).expect_code(0).json();
    assert_eq!(memory["content"], "Alice prefers Python");
    assert_eq!((memory["layer"].as_str(), memory["category"].as_str()), (Some("semantic"), Some("preference")));
    assert_eq!(memory["confidence"], 0.8);
    assert_eq!(memory["metadata"], serde_json::json!({"source": "chat", "turn": 3, "tags": ["lang"]}));
    assert_eq!(memory["provenance"]["principal"], "alice");
    assert_eq!(memory["stats"]["evidence_count"], 2);
    let run = home.run("alice", &["get", &id]).expect_code(0);
    for needle in ["namespace     alice\n", "layer         semantic\n", "content\n  Alice prefers Python\n"] {
        assert!(run.stdout.contains(needle), "{needle}: {run:#?}");
    }

    // The metadata filter of recall.
    assert_eq!(home.recall("alice", "Python", &["--meta", "source=chat"]), ["Alice prefers Python"]);
    assert!(home.recall("alice", "Python", &["--meta", "source=mail"]).is_empty());
    let json = home.run("alice", &["recall", "Python", "--meta", "source=mail", "--json"]).expect_code(0).json();
    assert_eq!(json["outcome"], "empty");
    let run = home.run("alice", &["recall", "Python", "--meta", "source=mail"]).expect_code(0);
    assert_eq!(run.stdout, "outcome: empty, 0 memories (read: alice, shared)\n");

    let run = home.run("alice", &["outcome", &id, &id, "--helpful"]).expect_code(0);
    assert_eq!(run.stdout, "recorded helpful for 1 memory\n");
    let json = home.run("alice", &["outcome", &id, "--reward", "-0.5", "--json"]).expect_code(0).json();
    assert_eq!(json, serde_json::json!({"memory_ids": [id], "reward": -0.5}));
    let memory = home.run("alice", &["get", &id, "--json"]).expect_code(0).json();
    assert_eq!(
        (memory["stats"]["helpful_count"].as_u64(), memory["stats"]["unhelpful_count"].as_u64()),
        (Some(1), Some(1))
    );

    // Promotion copies into `shared` (the default target), once.
    let promoted = home.run("alice", &["promote", &id, "--json"]).expect_code(0).json();
    assert_eq!((promoted["namespace"].as_str(), promoted["created"].as_bool()), (Some("shared"), Some(true)));
    let copy = promoted["id"].as_str().unwrap().to_owned();
    let run = home.run("alice", &["promote", &id, "--to", "shared"]).expect_code(0);
    assert_eq!(run.stdout, format!("promoted {id} to shared as {copy} (already there)\n"));
    assert_eq!(home.recall("bob", "Python", &["--namespace", "shared"]), ["Alice prefers Python"]);
    // Bob reads the copy but may not change `shared`.
    home.run("bob", &["get", &copy]).expect_code(0);
    home.run("bob", &["forget", &copy]).expect_code(3);

    let run = home.run("alice", &["forget", &id]).expect_code(0);
    assert_eq!(run.stdout, format!("forgot {id}\n"));
    home.run("alice", &["get", &id]).expect_code(4);
    let json = home.run("alice", &["forget", &copy, "--json"]).expect_code(0).json();
    assert_eq!(json["forgotten"], copy.as_str());
    assert!(home.recall("alice", "Python", &["--namespace", "*"]).is_empty());
}

#[test]
fn the_principal_comes_from_the_flag_or_the_environment() {
    let home = Home::new();
    let path = home.path();
    let base = ["--home", path.as_str(), "--embedder", "hash"];
    let env_alice = [("MEMORY_PRINCIPAL", Some("alice")), ("USER", Some("someone-else"))];
    let run = memory_with_env(&[&base[..], &["remember", "from the environment", "--json"]].concat(), &env_alice);
    let id = run.expect_code(0).json()["id"].as_str().unwrap().to_owned();
    let memory = home.run("x", &["get", &id, "--json"]).expect_code(0).json();
    assert_eq!(memory["provenance"]["principal"], "alice");
    // $USER when nothing else says; global options also come after the subcommand.
    let run = memory_with_env(
        &["remember", "from USER", "--json", "--home", &path, "--embedder", "hash"],
        &[("USER", Some("carol"))],
    );
    let id = run.expect_code(0).json()["id"].as_str().unwrap().to_owned();
    assert_eq!(home.run("x", &["get", &id, "--json"]).expect_code(0).json()["provenance"]["principal"], "carol");
    // Without USER (a container), the account name comes from the system.
    let system = std::process::Command::new("id").arg("-un").output().expect("id -un");
    let system = String::from_utf8(system.stdout).unwrap().trim().to_owned();
    let run = memory_with_env(&[&base[..], &["remember", "no USER", "--json"]].concat(), &[("USER", None)]);
    let id = run.expect_code(0).json()["id"].as_str().unwrap().to_owned();
    assert_eq!(home.run("x", &["get", &id, "--json"]).expect_code(0).json()["provenance"]["principal"], system);
}

/// Session-key rules outrank the OS account: in an ordinary shell (`USER` set) they apply.
#[test]
fn session_key_rules_outrank_the_os_account() {
    let home = Home::with_config("[namespaces]\nsession_key_rules = { \"agent:\" = \"agent-7\" }\n");
    let path = home.path();
    let base = ["--home", path.as_str(), "--embedder", "hash", "--session-key", "agent:1"];
    let run = memory_with_env(
        &[&base[..], &["remember", "said by the agent", "--json"]].concat(),
        &[("USER", Some("carol"))],
    );
    let id = run.expect_code(0).json()["id"].as_str().unwrap().to_owned();
    let memory = home.run("x", &["get", &id, "--json"]).expect_code(0).json();
    assert_eq!(memory["provenance"]["principal"], "agent-7");
    // MEMORY_PRINCIPAL still outranks the rules.
    let env = [("USER", Some("carol")), ("MEMORY_PRINCIPAL", Some("dave"))];
    let run = memory_with_env(&[&base[..], &["remember", "said by dave", "--json"]].concat(), &env);
    let id = run.expect_code(0).json()["id"].as_str().unwrap().to_owned();
    assert_eq!(home.run("x", &["get", &id, "--json"]).expect_code(0).json()["provenance"]["principal"], "dave");
}
