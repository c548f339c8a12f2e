//! `memory consolidate`, `memory proposals`, `memory entities`, `memory maintain` and
//! `memory namespaces rebuild` on a home: what the rule-based extractor makes of clear
//! first-person statements, the review queue, and the exit codes of bad input.

use crate::{Home, arg, keys, memory};

#[test]
fn consolidate_then_recall_finds_the_semantic_memory() {
    let home = Home::new();
    home.remember("dana", "I prefer tea over coffee.", &[]);
    let run = home.run("dana", &["consolidate"]).expect_code(0);
    assert!(run.stdout.starts_with("Consolidated 1 episode of \"default\""), "{run:#?}");
    assert!(run.stdout.contains("1 created"), "{run:#?}");

    // A second run has nothing new to read.
    let again = home.run("dana", &["consolidate", "--namespace", "default", "--json"]).expect_code(0).json();
    assert_eq!(
        keys(&again),
        [
            "candidates",
            "created",
            "entity_links",
            "episodes",
            "evidence",
            "extractor",
            "more",
            "namespace",
            "promoted",
            "proposed",
            "superseded",
            "unchanged",
            "warnings"
        ]
    );
    assert_eq!((again["episodes"].as_u64(), again["namespace"].as_str()), (Some(0), Some("default")));
    let run = home.run("dana", &["consolidate"]).expect_code(0);
    assert!(run.stdout.starts_with("Nothing new to consolidate"), "{run:#?}");

    let semantic = home.recall("dana", "tea or coffee", &["--layer", "semantic"]);
    assert!(semantic.iter().any(|c| c.to_lowercase().contains("tea")), "{semantic:?}");
}

#[test]
fn identity_is_only_proposed_approve_writes_it_and_reject_writes_nothing() {
    let home = Home::new();
    home.remember("dana", "My name is Dana Whitfield.", &[]);
    home.remember("dana", "I live in Lisbon.", &[]);
    let run = home.run("dana", &["consolidate"]).expect_code(0);
    assert!(run.stdout.contains("2 identity proposals (review with `memory proposals ls`)"), "{run:#?}");
    // Nothing identity is written yet.
    let identity = |home: &Home| {
        let json = home.run("dana", &["recall", "Dana", "--layer", "identity", "--json"]).expect_code(0).json();
        json["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["memory"]["layer"] == "identity")
            .map(|r| r["memory"]["content"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(identity(&home), Vec::<String>::new());

    let queue = home.run("dana", &["proposals", "ls", "--status", "pending", "--json"]).expect_code(0).json();
    assert_eq!(keys(&queue), ["proposals"]);
    let proposals = queue["proposals"].as_array().unwrap();
    assert_eq!(proposals.len(), 2, "{queue}");
    let name = proposals.iter().find(|p| p["content"].as_str().unwrap().contains("Dana Whitfield")).expect("the name");
    let place = proposals.iter().find(|p| p["content"].as_str().unwrap().contains("Lisbon")).expect("the place");
    let (name_id, place_id) = (name["id"].as_str().unwrap(), place["id"].as_str().unwrap());
    assert_eq!((name["layer"].as_str(), name["status"].as_str()), (Some("identity"), Some("pending")));
    let table = home.run("dana", &["proposals", "ls"]).expect_code(0);
    assert!(table.stdout.starts_with("ID ") && table.stdout.contains(name_id), "{table:#?}");

    let approved = home.run("dana", &["proposals", "approve", name_id, "--json"]).expect_code(0).json();
    assert_eq!(keys(&approved), ["memory", "proposal"]);
    assert_eq!(approved["proposal"]["status"], "approved");
    assert_eq!(approved["memory"]["layer"], "identity");
    let rejected = home.run("dana", &["proposals", "reject", place_id]).expect_code(0);
    assert!(rejected.stdout.contains("nothing was written"), "{rejected:#?}");

    let written = identity(&home);
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].contains("Dana Whitfield"), "{written:?}");
    // Decided once: a second decision is a conflict (exit 1).
    let again = home.run("dana", &["proposals", "approve", place_id]).expect_code(1);
    assert!(again.stderr.contains("already rejected"), "{again:#?}");
    let pending = home.run("dana", &["proposals", "ls", "--status", "pending", "--json"]).expect_code(0).json();
    assert_eq!(pending["proposals"], serde_json::json!([]));
    let decided = home.run("dana", &["proposals", "ls", "--status", "rejected", "--json"]).expect_code(0).json();
    assert_eq!(decided["proposals"][0]["id"], place_id);
}

#[test]
fn entities_are_listed_after_consolidation() {
    let home = Home::new();
    home.remember("dana", "I met my friend Priya in Lisbon.", &[]);
    let before = home.run("dana", &["entities", "ls"]).expect_code(0);
    assert_eq!(before.stdout, "no entities\n");
    home.run("dana", &["consolidate"]).expect_code(0);

    let table = home.run("dana", &["entities", "ls"]).expect_code(0);
    let priya = table.stdout.lines().find(|l| l.contains("Priya") && l.contains("person"));
    assert!(priya.is_some(), "{table:#?}");
    let places = home.run("dana", &["entities", "ls", "--kind", "place", "--json"]).expect_code(0).json();
    assert_eq!(keys(&places), ["entities"]);
    let lisbon = &places["entities"][0];
    assert_eq!((lisbon["name"].as_str(), lisbon["kind"].as_str()), (Some("Lisbon"), Some("place")), "{places}");
    let found =
        home.run("dana", &["entities", "ls", "--query", "priya", "--kind", "person", "--json"]).expect_code(0).json();
    assert_eq!(found["entities"].as_array().unwrap().len(), 1, "{found}");

    let id = lisbon["id"].as_str().unwrap();
    let shown = home.run("dana", &["entities", "show", id]).expect_code(0);
    assert!(shown.stdout.starts_with("Lisbon (place) in default"), "{shown:#?}");
    assert!(shown.stdout.contains("I met my friend Priya in Lisbon."), "{shown:#?}");
    let json = home.run("dana", &["entities", "show", id, "--json"]).expect_code(0).json();
    assert_eq!(keys(&json), ["entity", "memories"]);
    home.run("dana", &["entities", "show", "01900000-0000-7000-8000-000000000000"]).expect_code(4);
}

#[test]
fn maintain_runs_a_cycle_and_status_shows_the_records() {
    let home = Home::new();
    home.remember("dana", "I prefer tea over coffee.", &[]);
    let none = home.run("op", &["maintain", "--status"]).expect_code(0);
    assert_eq!(none.stdout, "no maintenance has run yet\n");

    let cycle = home.run("op", &["maintain"]).expect_code(0);
    let lines: Vec<&str> = cycle.stdout.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["JOB", "NAMESPACE", "STATUS", "DETAIL"]);
    let consolidated = lines.iter().find(|l| l.starts_with("consolidate") && l.contains("default")).unwrap();
    assert!(consolidated.contains("ran") && consolidated.contains("created=1"), "{cycle:#?}");
    assert!(lines.last().unwrap().ends_with("0 failed"), "{cycle:#?}");
    let semantic = home.recall("dana", "tea", &["--layer", "semantic"]);
    assert!(!semantic.is_empty(), "maintenance consolidated the episode");

    let only =
        home.run("op", &["maintain", "--job", "expire", "--job", "retention", "--namespace", "default", "--json"]);
    let only = only.expect_code(0).json();
    assert_eq!(keys(&only), ["deferred", "failed", "runs"]);
    let jobs: Vec<&str> = only["runs"].as_array().unwrap().iter().map(|r| r["job"].as_str().unwrap()).collect();
    assert_eq!(jobs, ["expire", "retention"]);

    let status = home.run("op", &["maintain", "--status", "--json"]).expect_code(0).json();
    assert_eq!(keys(&status), ["runs"]);
    let runs = status["runs"].as_array().unwrap();
    for job in ["consolidate", "expire", "retention", "purge", "index", "catalog"] {
        assert!(runs.iter().any(|r| r["job"] == job && r["status"] == "ran"), "no record of {job}: {status}");
    }
    let table = home.run("op", &["maintain", "--status", "--namespace", "default"]).expect_code(0);
    assert!(table.stdout.starts_with("JOB ") && table.stdout.contains("FINISHED"), "{table:#?}");
    home.run("op", &["maintain", "--namespace", "nowhere"]).expect_code(4);
}

#[test]
fn namespaces_rebuild_finds_nothing_to_create_on_a_healthy_home() {
    let home = Home::new();
    home.remember("dana", "I prefer tea over coffee.", &[]);
    let run = home.run("op", &["namespaces", "rebuild", "--dry-run"]).expect_code(0);
    assert!(run.stdout.contains("nothing to create"), "{run:#?}");
    let json = home.run("op", &["namespaces", "rebuild", "--dry-run", "--json"]).expect_code(0).json();
    assert_eq!(keys(&json), ["applied", "created", "memories", "namespaces"]);
    assert_eq!((json["applied"].as_bool(), json["created"].as_array().map(Vec::len)), (Some(false), Some(0)));
    assert_eq!(json["memories"], 1);
    let applied = home.run("op", &["namespaces", "rebuild", "--apply", "--json"]).expect_code(0).json();
    assert_eq!((applied["applied"].as_bool(), applied["created"].as_array().map(Vec::len)), (Some(true), Some(0)));
    // Exactly one of the two.
    home.run("op", &["namespaces", "rebuild"]).expect_code(2);
    home.run("op", &["namespaces", "rebuild", "--dry-run", "--apply"]).expect_code(2);
}

#[test]
fn bad_input_exits_2_naming_it_before_the_home_is_opened() {
    let parent = Home::new();
    let home = parent.dir.path().join("never-created");
    let home = arg(&home);
    for (args, start) in [
        (vec!["maintain", "--job", "dust"], "error: --job: unknown maintenance job \"dust\""),
        (vec!["maintain", "--budget", "0"], "error: --budget: "),
        (vec!["maintain", "--namespace", "a b"], "error: --namespace: "),
        (vec!["proposals", "approve", "nope"], "error: ID: invalid proposal id \"nope\""),
        (vec!["proposals", "reject", "nope"], "error: ID: invalid proposal id \"nope\""),
        (vec!["proposals", "ls", "--status", "maybe"], "error: --status: unknown proposal status \"maybe\""),
        (vec!["entities", "show", "nope"], "error: ID: invalid entity id \"nope\""),
        (vec!["entities", "ls", "--kind", "galaxy"], "error: --kind: unknown entity kind \"galaxy\""),
        (vec!["entities", "ls", "--query", " "], "error: --query: "),
        (vec!["consolidate", "--max-episodes", "0"], "error: --max-episodes: "),
        (vec!["consolidate", "--namespace", ".."], "error: --namespace: "),
        (vec!["serve", "--maintenance-interval", "soon"], "error: --maintenance-interval: "),
    ] {
        let mut all = vec!["--home", home.as_str(), "--embedder", "hash", "--principal", "dana"];
        all.extend(args.iter().copied());
        let run = memory(&all).expect_code(2);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run:#?}");
        assert!(run.stderr.starts_with(start), "{args:?}: {run:#?}");
    }
    assert!(!std::path::Path::new(&home).exists(), "a bad value must not create the home");
    // A well-formed id that names no proposal: 4.
    let home = Home::new();
    home.run("dana", &["proposals", "approve", "01900000-0000-7000-8000-000000000000"]).expect_code(4);
}
