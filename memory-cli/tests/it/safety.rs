//! Writes that must not go where they should not, and inputs that must not be half taken
//! (issue 9, findings 5-11): a refused write default, dedupe per layer with explicit merges,
//! import conflicts and tenants, output targets that are not regular files, bounds.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::{Home, arg, memory};

const ALICE_ALONE: &str = r#"
[[namespaces.policies]]
name = "alice"
read = ["alice"]
write = ["alice"]
"#;

#[test]
fn a_write_whose_namespace_is_archived_is_refused_not_sent_to_default() {
    let home = Home::with_config(ALICE_ALONE);
    home.remember("alice", "before the archive", &[]);
    home.run("op", &["namespaces", "archive", "alice"]).expect_code(0);
    let run = home.run("alice", &["remember", "after the archive"]).expect_code(4);
    assert!(run.stderr.contains("\"alice\" unavailable: it is archived"), "{run:#?}");
    assert!(run.stderr.contains("refused rather than sent to another namespace"), "{run:#?}");
    // Nothing reached `default`, which every principal reads.
    let listed = home.run("op", &["namespaces", "ls", "--json"]).expect_code(0).json();
    let default = listed["namespaces"].as_array().unwrap().iter().find(|n| n["key"] == "default").unwrap().clone();
    assert_eq!(default["memories"], 0, "{listed}");
    // The plan says so too.
    let config = home.dir.path().join("memory.toml");
    let plan = memory(&["policy", "plan", &arg(&config), "--principal", "alice", "--json"]).expect_code(0).json();
    assert_eq!(plan["write"], "alice", "the policy CLI has no store: alice exists there");
    home.run("op", &["namespaces", "restore", "alice"]).expect_code(0);
    home.run("alice", &["remember", "after the restore"]).expect_code(0);
}

#[test]
fn the_same_content_in_another_layer_is_another_memory_and_merges_are_reported() {
    let home = Home::new();
    let working =
        home.remember("alice", "standup at ten", &["--layer", "working", "--expires-at", "2999-01-01T00:00:00Z"]);
    let semantic =
        home.run("alice", &["remember", "standup at ten", "--layer", "semantic", "--json"]).expect_code(0).json();
    assert_eq!(semantic["created"], true, "another layer, another memory: {semantic}");
    assert_ne!(semantic["id"], working.as_str());
    // The working memory keeps its expiry; a later one extends it, and says so.
    let again = home
        .run(
            "alice",
            &["remember", "standup at ten", "--layer", "working", "--expires-at", "2999-06-01T00:00:00Z", "--json"],
        )
        .expect_code(0)
        .json();
    assert_eq!((again["created"].as_bool(), again["id"].as_str()), (Some(false), Some(working.as_str())));
    assert!(again["merged"]["expires_at"].as_str().unwrap().starts_with("2999-06-01T00:00:00"), "{again}");
    let run =
        home.run("alice", &["remember", "standup at ten", "--layer", "semantic", "--meta", "room=b"]).expect_code(0);
    assert!(run.stdout.contains("(already known: evidence +1; metadata room set)"), "{run:#?}");
    let memory = home.run("alice", &["get", semantic["id"].as_str().unwrap(), "--json"]).expect_code(0).json();
    assert_eq!(memory["metadata"]["room"], "b");
    // A stated category that differs would be lost: refused, nothing changes.
    let run =
        home.run("alice", &["remember", "standup at ten", "--layer", "semantic", "--category", "rule"]).expect_code(1);
    assert!(run.stderr.contains("as category fact; this write says rule"), "{run:#?}");
}

/// An export of `home` to a file in `dir`.
fn export(home: &Home, dir: &std::path::Path, name: &str, extra: &[&str]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut args = vec!["export", "--out"];
    let out = arg(&path);
    args.push(&out);
    args.extend_from_slice(extra);
    home.run("op", &args).expect_code(0);
    path
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn write_lines(path: &std::path::Path, lines: &[Value]) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
}

#[test]
fn an_import_whose_id_holds_other_content_here_is_a_conflict_and_writes_nothing() {
    let files = tempfile::tempdir().unwrap();
    let home = Home::new();
    let id = home.remember("alice", "the original text", &[]);
    let file = export(&home, files.path(), "out.jsonl", &[]);
    let mut changed = lines(&file);
    for l in &mut changed {
        if l["type"] == "memory" {
            l["memory"]["content"] = "a forged text".into();
        }
    }
    // And one fresh memory, which must not be written either.
    let mut fresh = changed.iter().find(|l| l["type"] == "memory").unwrap().clone();
    fresh["memory"]["id"] = "0190a000-0000-7000-8000-00000000abcd".into();
    fresh["memory"]["content"] = "fresh in the forged file".into();
    let end = changed.pop().unwrap();
    changed.push(fresh);
    let mut end = end;
    end["memories"] = (end["memories"].as_u64().unwrap() + 1).into();
    changed.push(end);
    let forged = files.path().join("forged.jsonl");
    write_lines(&forged, &changed);
    let run = home.run("op", &["import", &arg(&forged)]).expect_code(1);
    assert!(run.stderr.contains(&format!("memory {id} of the file conflicts")), "{run:#?}");
    assert!(run.stderr.contains("nothing was written"), "{run:#?}");
    let export = home.run("op", &["export", "--out", "-"]).expect_code(0);
    assert!(!export.stdout.contains("fresh in the forged file"), "nothing was written");
    let kept = home.run("alice", &["get", &id, "--json"]).expect_code(0).json();
    assert_eq!(kept["content"], "the original text");
    // The unchanged file imports as "already there".
    let report = home.run("op", &["import", &arg(&file), "--json"]).expect_code(0).json();
    assert_eq!((report["memories"].as_u64(), report["skipped"].as_u64()), (Some(0), Some(1)));
}

#[test]
fn a_file_of_another_tenant_needs_from_tenant_and_imported_audit_keeps_its_origin() {
    let files = tempfile::tempdir().unwrap();
    let source = Home::new();
    source.remember("alice", "travelling memory", &[]);
    let file = export(&source, files.path(), "out.jsonl", &["--audit"]);
    let mut other = lines(&file);
    other[0]["tenant"] = "acme".into();
    let foreign = files.path().join("acme.jsonl");
    write_lines(&foreign, &other);
    let target = Home::new();
    let run = target.run("op", &["import", &arg(&foreign)]).expect_code(2);
    assert!(
        run.stderr.contains("exported from tenant \"acme\"") && run.stderr.contains("--from-tenant acme"),
        "{run:#?}"
    );
    target.run("op", &["import", &arg(&foreign), "--from-tenant", "acme"]).expect_code(0);
    assert_eq!(target.recall("alice", "travelling", &[]), ["travelling memory"]);
    // Its audit records came along, marked as imported; their details are structured.
    let again = export(&target, files.path(), "again.jsonl", &["--audit"]);
    let audit: Vec<Value> =
        lines(&again).into_iter().filter(|l| l["type"] == "audit").map(|l| l["audit"].clone()).collect();
    let imported: Vec<&Value> = audit.iter().filter(|a| a["origin"].is_object()).collect();
    assert!(!imported.is_empty(), "{audit:#?}");
    for a in &imported {
        assert_eq!(a["origin"]["tenant"], "acme");
        assert!(a["detail"].is_object(), "{a}");
    }
    assert!(audit.iter().all(|a| a["detail"].is_object()), "every detail is structured: {audit:#?}");
}

#[test]
fn export_to_standard_output_or_a_device_never_replaces_it() {
    let home = Home::new();
    home.remember("alice", "exported to a stream", &[]);
    let run = home.run("op", &["export", "--out", "-"]).expect_code(0);
    assert!(run.stdout.starts_with(r#"{"type":"header""#), "{run:#?}");
    assert!(run.stdout.contains("exported to a stream"));
    assert!(run.stderr.contains("exported 2 namespaces, 1 memory to standard output"), "{run:#?}");
    // /dev/stdout (a link to this process's pipe) is written through, not replaced.
    let run = home.run("op", &["export", "--out", "/dev/stdout"]).expect_code(0);
    assert!(run.stdout.contains("exported to a stream"), "{run:#?}");
    let meta = std::fs::symlink_metadata("/dev/stdout").unwrap();
    assert!(!meta.is_file(), "/dev/stdout must still be what it was");
    // A named pipe is written in place while a reader reads it.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read_to_string(fifo).unwrap())
    };
    home.run("op", &["export", "--out", &arg(&fifo)]).expect_code(0);
    assert!(reader.join().unwrap().contains("exported to a stream"));
    assert!(!std::fs::symlink_metadata(&fifo).unwrap().is_file(), "the pipe is still a pipe");
    // A directory is refused.
    let run = home.run("op", &["export", "--out", &arg(dir.path())]).expect_code(2);
    assert!(run.stderr.contains("is a directory"), "{run:#?}");
}

#[test]
fn free_text_fields_are_bounded() {
    let home = Home::new();
    let long = "c".repeat(5000);
    let run = home.run("alice", &["remember", "bounded", "--conversation", &long]).expect_code(2);
    assert!(run.stderr.contains("the conversation id is 5000 bytes; at most 4096"), "{run:#?}");
    let run = home.run("alice", &["--session-key", &long, "remember", "bounded"]).expect_code(2);
    // (The session key is also the default conversation id; either bound names the 5000 bytes.)
    assert!(run.stderr.contains("is 5000 bytes; at most 4096"), "{run:#?}");
    let description = "d".repeat(70_000);
    let run = home.run("op", &["namespaces", "create", "wordy", "--description", &description]).expect_code(2);
    assert!(run.stderr.contains("namespace description is 70000 bytes"), "{run:#?}");
    let export = home.run("op", &["export", "--out", "-"]).expect_code(0);
    assert!(!export.stdout.contains("bounded") && !export.stdout.contains("wordy"), "nothing was written");
}

#[test]
fn an_import_file_must_be_a_regular_file() {
    let home = Home::new();
    let child = Command::new(env!("CARGO_BIN_EXE_memory"))
        .args(["--home", &home.path(), "--embedder", "hash", "import", "/dev/stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a regular file"));
}
