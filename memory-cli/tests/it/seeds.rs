//! The examples of seeds/000 (namespaces) and seeds/003 (memory layers), through the command
//! line: per-user isolation and cross-agent sharing under a policy in `<home>/memory.toml`,
//! pinned identity and procedural memories, layer filters, and working-memory expiry.

use crate::{Home, contents};

/// Alice and Bob each own a namespace; two agents share `team_alpha`.
const ISOLATION: &str = r#"
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
name = "team_alpha"
read = ["research-agent", "writing-agent"]
write = ["research-agent", "writing-agent"]
"#;

#[test]
fn per_user_isolation_alice_never_sees_bobs_go() {
    let home = Home::with_config(ISOLATION);
    let run = home.run("alice", &["remember", "Alice prefers Python", "--conversation", "a1"]).expect_code(0);
    assert!(run.stdout.starts_with("remembered ") && run.stdout.trim_end().ends_with(" in alice"), "{run:#?}");
    let bob = home.remember("bob", "Bob prefers Go", &["--conversation", "b1"]);

    let alice_sees = home.recall("alice", "language preference", &[]);
    assert!(!alice_sees.iter().any(|c| c.contains("Go")), "{alice_sees:?}");
    assert!(alice_sees.iter().any(|c| c == "Alice prefers Python"), "{alice_sees:?}");
    let run = home.run("alice", &["recall", "language preference"]).expect_code(0);
    assert!(!run.stdout.contains("Bob prefers Go") && run.stdout.contains("Alice prefers Python"), "{run:#?}");
    assert_eq!(home.recall("bob", "language preference", &[]), ["Bob prefers Go"]);
    // Even every readable namespace is only Alice's.
    assert!(!home.recall("alice", "language preference", &["--namespace", "*"]).iter().any(|c| c.contains("Go")));

    // Naming Bob's namespace is refused (3); his memory's id leaks nothing (4).
    let run = home.run("alice", &["recall", "language", "--namespace", "bob"]).expect_code(3);
    assert!(run.stderr.starts_with("error: ") && run.stdout.is_empty(), "{run:#?}");
    home.run("alice", &["get", &bob]).expect_code(4);
    home.run("alice", &["forget", &bob]).expect_code(4);
    home.run("bob", &["get", &bob]).expect_code(0);
}

#[test]
fn agents_share_one_namespace() {
    let home = Home::with_config(ISOLATION);
    let args = ["--namespace", "team_alpha", "--layer", "semantic"];
    home.remember("research-agent", "GPT-4 outperforms on math by 12%", &args);
    home.remember("research-agent", "The user's deadline is Friday", &args);
    let found = home.recall("writing-agent", "GPT-4 performance", &["--namespace", "team_alpha"]);
    assert_eq!(found[0], "GPT-4 outperforms on math by 12%", "{found:?}");
    // Someone outside the team may not read it.
    home.run("alice", &["recall", "GPT-4 performance", "--namespace", "team_alpha"]).expect_code(3);
}

#[test]
fn identity_and_procedural_are_pinned_first_whatever_the_query() {
    let home = Home::new();
    let me = "ashwani";
    let identity = "User is Ashwani Jha, a senior engineer based in Dubai";
    let rule = "Always ask about the user's deadline before suggesting a solution";
    let fact = "User is a Python developer, prefers FastAPI over Flask";
    home.remember(me, identity, &["--layer", "identity", "--confidence", "1.0"]);
    home.remember(me, rule, &["--layer", "procedural"]);
    home.remember(me, fact, &["--layer", "semantic", "--confidence", "0.9"]);
    home.remember(me, "User mentioned their flight departs Thursday at 06:00", &["--conversation", "session_42"]);

    let json = home.run(me, &["recall", "Python web framework", "--json", "--explain"]).expect_code(0).json();
    assert_eq!(json["outcome"], "ok");
    let got = contents(&json);
    assert_eq!(got[..3], [identity, rule, fact], "{got:?}");
    let memories = json["results"].as_array().unwrap();
    assert_eq!(
        memories.iter().map(|m| m["pinned"].as_bool().unwrap()).take(3).collect::<Vec<_>>(),
        [true, true, false]
    );
    let why = memories[0]["explain"]["pinned_reason"].as_str().unwrap();
    assert!(why.contains("identity"), "{why}");
    assert!(memories[2]["explain"]["relevance"].as_f64().unwrap() > 0.0);

    // The human form: pinned first, each explained, then the outcome.
    let run = home.run(me, &["recall", "Python web framework", "--explain"]).expect_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("[pinned]  identity ") && lines[0].ends_with(identity), "{run:#?}");
    assert!(lines[1].trim_start().starts_with("pinned: identity memory"), "{run:#?}");
    assert!(run.stdout.contains("score ") && run.stdout.contains(" = relevance "), "{run:#?}");
    // The flight is unrelated to the query (no shared word, no similar vector): not recalled.
    assert!(lines.last().unwrap().starts_with("outcome: ok, 3 memories (read: default, shared)"), "{run:#?}");

    // Only semantic: procedural stays, identity goes.
    assert_eq!(home.recall(me, "Python web framework", &["--layer", "semantic"]), [rule, fact]);
    // Identity only: identity and procedural, nothing ranked.
    assert_eq!(home.recall(me, "who is this user?", &["--layer", "identity"]), [identity, rule]);
}

#[test]
fn working_memories_need_a_future_expiry() {
    let home = Home::new();
    let text = "User is currently in a meeting until 3pm";
    home.remember("u", text, &["--layer", "working", "--expires-at", "2999-01-01T15:00:00+02:00"]);
    assert_eq!(home.recall("u", "is the user in a meeting", &[]), [text]);
    for args in [
        &["--layer", "working", "--expires-at", "2020-01-01T00:00:00Z"][..],
        &["--layer", "working"],
        &["--layer", "semantic", "--expires-at", "2999-01-01T00:00:00Z"],
        &["--layer", "working", "--expires-at", "tomorrow"],
    ] {
        let mut all = vec!["remember", "stale"];
        all.extend_from_slice(args);
        let run = home.run("u", &all).expect_code(2);
        assert!(run.stderr.starts_with("error: --expires-at: "), "{args:?}: {run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
    }
    // None of the refused writes was stored: the meeting is still the only memory.
    assert_eq!(home.recall("u", "stale meeting", &[]), [text]);
}
