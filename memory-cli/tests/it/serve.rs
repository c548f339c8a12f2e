//! `memory serve` as a user runs it: the admin key printed once, commands on the home going
//! through the running server, one server per home, client mode, a clean stop on SIGTERM; and
//! `memory mcp` over standard input and output.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::{Home, keys, memory, memory_with_env};

/// A `memory serve` on a random port: its URL and the admin key it printed.
struct Served {
    child: Child,
    url: String,
    admin: Option<String>,
}

fn serve(home: &Home) -> Served {
    serve_with(home, &[])
}

/// [`serve`] with more `memory serve` flags.
fn serve_with(home: &Home, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_memory"))
        .args(["serve", "--addr", "127.0.0.1:0", "--home", &home.path(), "--embedder", "hash"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let url = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "memory serve ended before listening");
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    // The admin key line comes before the listening line, on stdout; read what is there.
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    // Every test home is fresh, so this is the first start: the key is printed.
    out.read_line(&mut first).unwrap();
    let admin = first.rsplit(' ').next().map(|k| k.trim().to_owned());
    std::thread::spawn(move || for _ in err.lines() {});
    Served { child, url, admin }
}

fn http(method: &str, url: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
    let req = ureq::http::Request::builder().method(method).uri(url).header("authorization", format!("Bearer {key}"));
    let mut response = match body {
        Some(b) => agent.run(req.header("content-type", "application/json").body(b.to_string()).unwrap()),
        None => agent.run(req.body(()).unwrap()),
    }
    .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn terminate(child: &mut Child) -> i32 {
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap().code().unwrap_or(-1)
}

#[test]
fn serve_prints_an_admin_key_owns_its_home_and_stops_cleanly() {
    let home = Home::new();
    let mut s = serve(&home);
    let admin = s.admin.clone().expect("the first start prints an admin key");
    assert!(admin.starts_with("mem_sk_"), "{admin}");
    let (status, ready) = http("GET", &format!("{}/readyz", s.url), "", None);
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")));

    // The server left its address and a local credential, readable by the owner only.
    let file = std::path::Path::new(&home.path()).join("server.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Commands on the home go through it, as their principal.
    let id = home.remember("alice", "through the server", &[]);
    let (status, m) = http("GET", &format!("{}/v1/memories/{id}", s.url), &admin, None);
    assert_eq!((status, m["provenance"]["principal"].as_str()), (200, Some("alice")), "{m}");
    assert_eq!(home.recall("alice", "through the server", &[]), ["through the server"]);
    home.run("op", &["namespaces", "create", "research"]).expect_code(0);
    let (_, list) = http("GET", &format!("{}/v1/namespaces", s.url), &admin, None);
    assert!(list["namespaces"].as_array().unwrap().iter().any(|n| n["key"] == "research"), "{list}");

    // One server per home.
    let second = memory(&["serve", "--addr", "127.0.0.1:0", "--home", &home.path(), "--embedder", "hash"]);
    let second = second.expect_code(1);
    assert!(second.stderr.contains("another memory serve is running"), "{second:#?}");

    // Client mode with a key of its own.
    let (status, issued) = http("POST", &format!("{}/v1/keys", s.url), &admin, Some(json!({ "principal": "bob" })));
    assert_eq!(status, 201, "{issued}");
    let key = issued["secret"].as_str().unwrap();
    let other = Home::new();
    let run = memory_with_env(
        &["--home", &other.path(), "remember", "bob via the url", "--json"],
        &[("MEMORY_URL", Some(s.url.as_str())), ("MEMORY_KEY", Some(key))],
    );
    let written = run.expect_code(0).json();
    assert_eq!(written["memory"]["provenance"]["principal"], "bob");
    let run = memory(&["--url", &s.url, "--key", key, "recall", "bob via the url", "--json"]).expect_code(0);
    assert_eq!(run.json()["results"][0]["memory"]["content"], "bob via the url");
    memory(&["--url", &s.url, "--key", "mem_sk_wrong", "recall", "x"]).expect_code(3);
    // A namespace bob may not create: the server's rules, not the home operator's.
    memory(&["--url", &s.url, "--key", key, "namespaces", "create", "bobs"]).expect_code(3);

    assert_eq!(terminate(&mut s.child), 0, "SIGTERM drains, flushes and exits 0");
    assert!(!file.exists(), "the credential file goes with the server");
    // Without the server the home works on its own, and holds everything written through it.
    assert_eq!(home.recall("alice", "through the server", &[])[0], "through the server");
}

#[test]
fn mcp_over_stdio_stores_and_recalls_into_memory_namespace() {
    let home =
        Home::with_config("[[namespaces.policies]]\nname = \"alice\"\nread = [\"alice\"]\nwrite = [\"alice\"]\n");
    let mut child = Command::new(env!("CARGO_BIN_EXE_memory"))
        .args(["mcp", "--home", &home.path(), "--embedder", "hash", "--principal", "alice"])
        .env("MEMORY_NAMESPACE", "alice")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = |message: Value| -> Option<Value> {
        writeln!(stdin, "{message}").unwrap();
        stdin.flush().unwrap();
        message.get("id")?;
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        Some(serde_json::from_str(&line).unwrap())
    };
    let init = ask(json!({ "jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "test", "version": "1" } } }))
    .unwrap();
    assert_eq!(init["result"]["serverInfo"]["name"], "memory", "{init}");
    ask(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
    let tools = ask(json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/list" })).unwrap();
    let mut names: Vec<&str> =
        tools["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "memory_consolidate",
            "memory_forget",
            "memory_namespaces",
            "memory_promote",
            "memory_proposal_approve",
            "memory_proposal_reject",
            "memory_proposals_list",
            "memory_recall",
            "memory_report_outcome",
            "memory_store"
        ]
    );
    let stored = ask(json!({ "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": { "name": "memory_store", "arguments": { "content": "Alice prefers Python" } } }))
    .unwrap();
    assert_eq!(stored["result"]["structuredContent"]["memory"]["namespace"], "alice", "{stored}");
    let recalled = ask(json!({ "jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": { "name": "memory_recall", "arguments": { "query": "what does Alice prefer", "namespaces": ["alice"] } } }))
    .unwrap();
    assert_eq!(recalled["result"]["structuredContent"]["results"][0]["memory"]["content"], "Alice prefers Python");
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn consolidation_proposals_and_maintenance_go_through_the_running_server() {
    let home = Home::new();
    // The scheduler of this server runs a cycle every second.
    let mut s = serve_with(&home, &["--maintenance-interval", "1"]);
    let admin = s.admin.clone().expect("the first start prints an admin key");
    home.remember("dana", "My name is Dana Whitfield.", &[]);
    home.remember("dana", "I prefer tea over coffee.", &[]);

    // The scheduler consolidates without being asked; `maintain --status` reads its records
    // through the server, and answers what the HTTP API answers.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        let status = home.run("op", &["maintain", "--status", "--json"]).expect_code(0).json();
        let ran = status["runs"].as_array().unwrap().iter().any(|r| {
            r["job"] == "consolidate" && r["namespace"] == "default" && r["counts"]["episodes"].as_u64() > Some(0)
        });
        if ran {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the scheduler never consolidated: {status}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let (code, body) = http("GET", &format!("{}/v1/maintenance", s.url), &admin, None);
    assert_eq!(code, 200);
    assert_eq!(keys(&body), keys(&status));

    // The identity statement waits in the review queue; the CLI reviews it through the server.
    let queue = home.run("op", &["proposals", "ls", "--status", "pending", "--json"]).expect_code(0).json();
    let (_, over_http) = http("GET", &format!("{}/v1/proposals?status=pending", s.url), &admin, None);
    assert_eq!(queue, over_http);
    let id = queue["proposals"][0]["id"].as_str().expect("a pending proposal").to_owned();
    let approved = home.run("op", &["proposals", "approve", &id, "--json"]).expect_code(0).json();
    assert_eq!(approved["memory"]["layer"], "identity", "{approved}");
    home.run("op", &["proposals", "reject", &id]).expect_code(1);

    let run = home.run("op", &["consolidate", "--json"]).expect_code(0).json();
    let (_, over_http) = http("POST", &format!("{}/v1/consolidate", s.url), &admin, Some(json!({})));
    assert_eq!(keys(&run), keys(&over_http));
    let cycle = home.run("op", &["maintain", "--job", "expire", "--json"]).expect_code(0).json();
    assert_eq!(keys(&cycle), ["deferred", "failed", "runs"]);
    assert!(cycle["runs"].as_array().unwrap().iter().all(|r| r["job"] == "expire"), "{cycle}");
    assert_eq!(terminate(&mut s.child), 0);
}
