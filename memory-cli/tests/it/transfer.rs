//! `memory export | import | reindex`: a round trip through a fresh home keeps every memory
//! line, importing twice changes nothing, and the index can be rebuilt from the store.

use crate::{Home, arg, keys};

/// Alice owns `alice`; `team.alpha` is hers too, and she is team `alpha`.
const CONFIG: &str = r#"
[namespaces.teams.alpha]
principals = ["alice"]

[[namespaces.policies]]
name = "alice"
read = ["alice"]
write = ["alice"]

[[namespaces.policies]]
name = "team.alpha"
read = ["alice"]
write = ["alice"]
"#;

/// A home with memories of every kind in three namespaces, one of them archived.
fn populated() -> Home {
    let home = Home::with_config(CONFIG);
    home.run("op", &["namespaces", "create", "team.alpha", "--display-name", "Team Alpha", "--team", "alpha"])
        .expect_code(0);
    home.run("op", &["namespaces", "create", "old"]).expect_code(0);
    let python = home.remember("alice", "Alice prefers Python", &["--meta", "source=chat", "--conversation", "a1"]);
    home.remember("alice", "Alice is Alice Liddell", &["--layer", "identity"]);
    home.remember("alice", "Answer in English", &["--layer", "procedural"]);
    home.remember("alice", "In a meeting", &["--layer", "working", "--expires-at", "2999-01-01T00:00:00Z"]);
    home.remember("alice", "GPT-4 outperforms on math by 12%", &["--namespace", "team.alpha", "--layer", "semantic"]);
    home.remember("bob", "Bob's note in default", &[]);
    home.run("alice", &["outcome", &python, "--helpful"]).expect_code(0);
    home.run("op", &["namespaces", "archive", "old"]).expect_code(0);
    home
}

/// Every line of an export file but the header (which says when it was written).
fn body(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("read the export");
    let mut lines = text.lines().map(str::to_owned);
    let header: serde_json::Value = serde_json::from_str(&lines.next().expect("a header")).unwrap();
    assert_eq!((header["type"].as_str(), header["format"].as_str()), (Some("header"), Some("memory-export")));
    lines.collect()
}

fn memory_lines(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| l.starts_with(r#"{"type":"memory""#)).collect()
}

#[test]
fn export_import_export_keeps_every_memory_line() {
    let source = populated();
    let files = Home::new();
    let first = files.dir.path().join("first.jsonl");
    let report = source.run("op", &["export", "--out", &arg(&first), "--json"]).expect_code(0).json();
    assert_eq!(keys(&report), ["audit", "memories", "merged", "namespaces", "skipped"]);
    assert_eq!((report["namespaces"].as_u64(), report["memories"].as_u64()), (Some(5), Some(6)));
    let first_body = body(&first);
    assert_eq!(memory_lines(&first_body).len(), 6);
    assert!(first_body.last().unwrap().starts_with(r#"{"type":"end","namespaces":5,"memories":6,"audit":0}"#));

    let target = Home::with_config(CONFIG);
    let run = target.run("op", &["import", &arg(&first)]).expect_code(0);
    assert!(run.stdout.starts_with("imported: 3 namespaces created, 6 memories written, 0 skipped"), "{run:#?}");
    let second = files.dir.path().join("second.jsonl");
    let run = target.run("op", &["export", "--out", &arg(&second)]).expect_code(0);
    assert_eq!(run.stdout, format!("exported 5 namespaces, 6 memories to {}\n", arg(&second)));
    let second_body = body(&second);
    assert_eq!(memory_lines(&second_body), memory_lines(&first_body));
    // The namespaces this home did not create itself come back exactly (the tenant's `default`
    // and `shared` keep the dates of the home that made them).
    let made_here = |l: &&String| l.contains(r#""key":"default""#) || l.contains(r#""key":"shared""#);
    let others = |body: &[String]| body.iter().filter(|l| !made_here(l)).cloned().collect::<Vec<_>>();
    assert_eq!(others(&second_body), others(&first_body));

    // The imported home works: recall, the archived namespace stays archived, importing again
    // changes nothing.
    assert_eq!(
        target.recall("alice", "GPT-4", &["--namespace", "team.alpha", "--layer", "semantic"]),
        ["GPT-4 outperforms on math by 12%"]
    );
    let archived = target.run("op", &["namespaces", "ls", "--status", "archived", "--json"]).expect_code(0).json();
    assert_eq!(archived["namespaces"][0]["key"], "old");
    let again = target.run("op", &["import", &arg(&first), "--json"]).expect_code(0).json();
    assert_eq!(
        (again["memories"].as_u64(), again["skipped"].as_u64(), again["namespaces"].as_u64()),
        (Some(0), Some(6), Some(0))
    );
    let run = target.run("op", &["namespaces", "verify"]).expect_code(0);
    assert!(run.stdout.ends_with(": ok\n"), "{run:#?}");
}

#[test]
fn export_choices_and_import_errors() {
    let source = populated();
    let files = Home::new();
    let out = files.dir.path().join("alpha.jsonl");
    let run = source.run("op", &["export", "--namespace", "team.alpha", "--audit", "--out", &arg(&out)]).expect_code(0);
    assert!(run.stdout.starts_with("exported 1 namespace, 1 memory and "), "{run:#?}");
    let lines = body(&out);
    assert_eq!(memory_lines(&lines).len(), 1);
    assert!(lines.iter().any(|l| l.starts_with(r#"{"type":"audit""#)), "{lines:#?}");

    // A missing namespace is 4 and leaves no file behind.
    let missing = files.dir.path().join("missing.jsonl");
    source.run("op", &["export", "--namespace", "nowhere", "--out", &arg(&missing)]).expect_code(4);
    assert_eq!(std::fs::read_dir(files.dir.path()).unwrap().count(), 1, "only alpha.jsonl");

    let target = Home::new();
    let not_export = files.dir.path().join("notes.txt");
    std::fs::write(&not_export, "hello\n").unwrap();
    let run = target.run("op", &["import", &arg(&not_export)]).expect_code(2);
    assert!(run.stderr.starts_with("error: line 1: "), "{run:#?}");
    let truncated = files.dir.path().join("truncated.jsonl");
    let text = std::fs::read_to_string(&out).unwrap();
    std::fs::write(&truncated, text.lines().take(3).collect::<Vec<_>>().join("\n")).unwrap();
    target.run("op", &["import", &arg(&truncated)]).expect_code(2);
    let run = target.run("op", &["import", &arg(&files.dir.path().join("absent.jsonl"))]).expect_code(2);
    assert!(run.stderr.starts_with("error: cannot read "), "{run:#?}");
    // Nothing was imported.
    let json = target.run("op", &["namespaces", "ls", "--json"]).expect_code(0).json();
    assert_eq!(json["namespaces"].as_array().unwrap().len(), 2, "{json:#}");
}

#[test]
fn reindex_rebuilds_the_index_from_the_store() {
    let home = populated();
    let json = home.run("op", &["reindex", "--json"]).expect_code(0).json();
    assert_eq!(keys(&json), ["applied_seq", "indexed", "removed"]);
    // Every live memory but the pinned ones is ranked; all of them are indexed.
    assert_eq!(json["indexed"], 6);
    let run = home.run("op", &["reindex"]).expect_code(0);
    assert!(run.stdout.starts_with("reindexed 6 memories (0 deleted or superseded left out), at change "), "{run:#?}");
    assert_eq!(run.stderr, "", "no progress bar outside a terminal");
    assert_eq!(home.recall("alice", "Python", &["--layer", "episodic"]), ["Answer in English", "Alice prefers Python"]);
    home.run("op", &["namespaces", "verify"]).expect_code(0);
}

/// `memory logs --out DIR` writes the event logs (one JSONL file per namespace and day): a line
/// per created memory, none for a repeated write, each line a `remember` event.
#[test]
fn logs_writes_the_event_logs_into_a_directory() {
    let home = populated();
    let out = tempfile::tempdir().unwrap();
    let json = home.run("op", &["logs", "--out", &arg(out.path()), "--json"]).expect_code(0).json();
    assert_eq!(json["lines"], 6, "{json}");
    let mut lines = Vec::new();
    let mut stack = vec![out.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                lines.extend(std::fs::read_to_string(path).unwrap().lines().map(str::to_owned));
            }
        }
    }
    assert_eq!(lines.len(), 6);
    assert!(lines.iter().any(|l| l.contains("Alice prefers Python")));
    assert!(lines.iter().all(|l| l.starts_with(r#"{"event":"remember""#)), "{lines:?}");
    assert_eq!(json["files"].as_u64().unwrap() as usize, walk(out.path()));
    // Refused without a place to write.
    home.run("op", &["logs"]).expect_code(2);
}

/// How many files are under `dir`.
fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).map(|p| if p.is_dir() { walk(&p) } else { 1 }).sum()
}
