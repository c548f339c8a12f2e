//! Every route and every error status over real HTTP, and the seeds' behaviours.

use memory_server::ServerConfig;
use serde_json::{Value, json};

use crate::support::{TestServer, code};

#[test]
fn memories_are_created_repeated_read_listed_and_deleted() {
    let s = TestServer::start();
    let alice = s.key(json!({ "principal": "alice" }));
    let body = json!({ "content": "Alice prefers Python", "layer": "semantic", "category": "preference",
        "confidence": 0.9, "metadata": { "source": "chat" } });
    let (status, first) = s.call("POST", "/v1/memories", Some(&alice), Some(body.clone()));
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["duplicate"], false);
    assert_eq!(first["memory"]["namespace"], "default");
    assert_eq!(first["memory"]["category"], "preference");
    let (status, again) = s.call("POST", "/v1/memories", Some(&alice), Some(body));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["memory"]["id"], first["memory"]["id"]);
    let id = first["memory"]["id"].as_str().unwrap();

    let (status, got) = s.call("GET", &format!("/v1/memories/{id}"), Some(&alice), None);
    assert_eq!((status, got["content"].as_str()), (200, Some("Alice prefers Python")));
    assert_eq!(got["stats"]["evidence_count"], 2);

    for i in 0..3 {
        s.remember(&alice, &format!("event {i}"), None);
    }
    let (status, page) = s.call("GET", "/v1/memories?layer=episodic&limit=2", Some(&alice), None);
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["memories"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = s.call("GET", &format!("/v1/memories?layer=episodic&limit=2&cursor={cursor}"), Some(&alice), None);
    assert_eq!(rest["memories"].as_array().unwrap().len(), 1);
    assert!(rest.get("next_cursor").is_none());
    let (_, prefs) = s.call("GET", "/v1/memories?category=preference&namespace=default", Some(&alice), None);
    assert_eq!(prefs["memories"].as_array().unwrap().len(), 1);

    let (status, gone) = s.call("DELETE", &format!("/v1/memories/{id}"), Some(&alice), None);
    assert_eq!((status, gone["forgotten"].as_str()), (200, Some(id)));
    let (status, missing) = s.call("GET", &format!("/v1/memories/{id}"), Some(&alice), None);
    assert_eq!((status, code(&missing)), (404, "not_found"));
}

#[test]
fn a_batch_is_validated_whole_and_observe_outcomes_and_promote_work() {
    let config = r#"
[[namespaces.policies]]
name = "shared"
read = ["*"]
write = ["alice"]
"#;
    let s = TestServer::with(config, false, ServerConfig::default());
    let alice = s.key(json!({ "principal": "alice" }));
    let bad = json!({ "memories": [{ "content": "fine" }, { "content": "bad", "layer": "nonsense" }] });
    let (status, answer) = s.call("POST", "/v1/memories/batch", Some(&alice), Some(bad));
    assert_eq!((status, code(&answer)), (400, "invalid_input"));
    assert!(answer["error"]["message"].as_str().unwrap().contains("memories[1].layer"), "{answer}");
    let (_, page) = s.call("GET", "/v1/memories", Some(&alice), None);
    assert_eq!(page["memories"].as_array().unwrap().len(), 0, "a refused batch writes nothing");

    let good = json!({ "memories": [{ "content": "one" }, { "content": "two", "layer": "semantic" }] });
    let (status, answer) = s.call("POST", "/v1/memories/batch", Some(&alice), Some(good));
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["memories"].as_array().unwrap().len(), 2);

    let observe = json!({ "session_key": "s-1", "messages": [
        { "role": "user", "content": "I moved to Lisbon" }, { "role": "assistant", "content": "Noted" }] });
    let (status, observed) = s.call("POST", "/v1/observe", Some(&alice), Some(observe));
    assert_eq!(status, 202, "{observed}");
    let ids: Vec<&str> =
        observed["memories"].as_array().unwrap().iter().map(|m| m["memory"]["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(observed["memories"][0]["memory"]["provenance"]["conversation_id"], "s-1");

    let (status, reported) =
        s.call("POST", "/v1/outcomes", Some(&alice), Some(json!({ "memory_ids": ids, "outcome": "helpful" })));
    assert_eq!((status, reported["reward"].as_f64()), (200, Some(1.0)));
    let (status, answer) =
        s.call("POST", "/v1/outcomes", Some(&alice), Some(json!({ "memory_ids": ids, "outcome": 3 })));
    assert_eq!((status, code(&answer)), (400, "invalid_input"));

    let promote = format!("/v1/memories/{}/promote", ids[0]);
    let (status, promoted) = s.call("POST", &promote, Some(&alice), None);
    assert_eq!((status, promoted["namespace"].as_str()), (201, Some("shared")), "{promoted}");
    let (status, again) = s.call("POST", &promote, Some(&alice), Some(json!({ "to": "shared" })));
    assert_eq!((status, again["created"].as_bool()), (200, Some(false)));
    // bob may read shared but not write it: 403.
    let bob = s.key(json!({ "principal": "bob" }));
    let bobs = s.remember(&bob, "bob's episode", None);
    let (status, answer) = s.call("POST", &format!("/v1/memories/{bobs}/promote"), Some(&bob), None);
    assert_eq!((status, code(&answer)), (403, "forbidden"));
}

#[test]
fn recall_answers_results_with_outcome_and_read_set() {
    let s = TestServer::start();
    let alice = s.key(json!({ "principal": "alice" }));
    s.remember(&alice, "The deploy runs on Fridays", None);
    let (status, answer) =
        s.call("POST", "/v1/recall", Some(&alice), Some(json!({ "query": "when is the deploy", "explain": true })));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"], "ok");
    assert_eq!(answer["namespaces"], json!(["default", "shared"]));
    assert_eq!(answer["results"][0]["memory"]["content"], "The deploy runs on Fridays");
    assert_eq!(answer["results"][0]["pinned"], false);
    assert!(answer["results"][0]["explain"]["relevance"].is_number());
    let (_, empty) =
        s.call("POST", "/v1/recall", Some(&alice), Some(json!({ "query": "zebra", "namespaces": ["shared"] })));
    assert_eq!(empty["outcome"], "empty");
    let (status, answer) = s.call("POST", "/v1/recall", Some(&alice), Some(json!({ "query": "x", "limit": 0 })));
    assert_eq!((status, code(&answer)), (400, "invalid_input"));
}

#[test]
fn error_statuses_follow_the_contract() {
    let s = TestServer::with("", false, ServerConfig { max_body_bytes: 4096, ..ServerConfig::default() });
    let alice = s.key(json!({ "principal": "alice" }));
    // 401: no key, a malformed header, an unknown key.
    let (status, answer) = s.call("GET", "/v1/memories", None, None);
    assert_eq!((status, code(&answer)), (401, "unauthenticated"));
    let (status, _) = s.raw("GET", "/v1/memories", None, &[("authorization", "Basic abc")], None);
    assert_eq!(status, 401);
    let (status, _) = s.call("GET", "/v1/memories", Some("mem_sk_nonsense"), None);
    assert_eq!(status, 401);
    // 400, never 422: bad JSON, a wrong type, an unknown field, a missing field, a bad id.
    for body in ["{", r#"{"content": 5}"#, r#"{"content": "x", "colour": "red"}"#, "{}"] {
        let (status, text) =
            s.raw("POST", "/v1/memories", Some(&alice), &[("content-type", "application/json")], Some(body.into()));
        assert_eq!(status, 400, "{body}: {text}");
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(code(&answer), "invalid_input");
    }
    let (status, _) = s.call("GET", "/v1/memories/not-a-uuid", Some(&alice), None);
    assert_eq!(status, 400);
    // A working memory without an expiry, one already expired.
    let (status, _) = s.call("POST", "/v1/memories", Some(&alice), Some(json!({ "content": "x", "layer": "working" })));
    assert_eq!(status, 400);
    let (status, _) = s.call(
        "POST",
        "/v1/memories",
        Some(&alice),
        Some(json!({ "content": "x", "layer": "working", "expires_at": "2001-01-01T00:00:00Z" })),
    );
    assert_eq!(status, 400);
    // 413.
    let big = json!({ "content": "x".repeat(10_000) });
    let (status, answer) = s.call("POST", "/v1/memories", Some(&alice), Some(big));
    assert_eq!((status, code(&answer)), (413, "payload_too_large"));
    // 404: an unknown route, an unknown namespace, another's memory.
    let (status, answer) = s.call("GET", "/v1/nothing-here", Some(&alice), None);
    assert_eq!((status, code(&answer)), (404, "not_found"));
    let (status, _) =
        s.call("POST", "/v1/recall", Some(&alice), Some(json!({ "query": "x", "namespaces": ["nowhere"] })));
    assert_eq!(status, 404);
    // 409: a namespace key taken.
    s.namespace("research");
    let (status, answer) = s.call("POST", "/v1/namespaces", Some(&s.admin), Some(json!({ "key": "research" })));
    assert_eq!(status, 409, "{answer}");
    // Any principal creates a namespace no policy names (and becomes its creator); a key with
    // scopes only within them: 403.
    let (status, answer) = s.call("POST", "/v1/namespaces", Some(&alice), Some(json!({ "key": "mine" })));
    assert_eq!((status, answer["created_by"].as_str()), (201, Some("alice")), "{answer}");
    let scoped =
        s.key(json!({ "principal": "carol", "scopes": [{ "namespace": "default", "permissions": ["read"] }] }));
    let (status, answer) = s.call("POST", "/v1/namespaces", Some(&scoped), Some(json!({ "key": "theirs" })));
    assert_eq!((status, code(&answer)), (403, "forbidden"));
    let (status, _) = s.call("POST", "/v1/keys", Some(&alice), Some(json!({ "principal": "mallory", "admin": true })));
    assert_eq!(status, 403);
}

#[test]
fn a_tenant_over_its_rate_gets_429_with_retry_after() {
    let s = TestServer::with("", false, ServerConfig { rate_per_second: 1, rate_burst: 2, ..ServerConfig::default() });
    let mut limited = None;
    for _ in 0..10 {
        let (status, text) = s.raw("GET", "/v1/namespaces", Some(&s.admin), &[], None);
        if status == 429 {
            limited = Some(text);
            break;
        }
    }
    let text = limited.expect("the tenant was never limited");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(code(&answer), "rate_limited");
    // The header is there: ask again and read it.
    let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
    let r = agent
        .get(format!("{}/v1/namespaces", s.url))
        .header("authorization", format!("Bearer {}", s.admin))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let retry: u64 = r.headers().get("retry-after").unwrap().to_str().unwrap().parse().unwrap();
    assert!(retry >= 1);
}

/// A request that outlives the request timeout is answered 503 (here: a recall of a tenant
/// whose index another process keeps locked, so opening it waits), and the server goes on
/// answering other requests.
#[test]
fn a_request_past_its_timeout_gets_503() {
    let server = ServerConfig { request_timeout: std::time::Duration::from_secs(1), ..ServerConfig::default() };
    let s = TestServer::with("", false, server);
    let acme = s.other_tenant_key();
    let dir = s.dir.path().join("index").join(memory_core::TenantId::new("acme").unwrap().path_token());
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.join("lock")).unwrap();
    lock.lock().unwrap();
    let (status, answer) = s.call("POST", "/v1/recall", Some(&acme), Some(json!({ "query": "anything" })));
    assert_eq!((status, code(&answer)), (503, "unavailable"), "{answer}");
    let (status, _) = s.call("GET", "/v1/namespaces", Some(&s.admin), None);
    assert_eq!(status, 200, "the server answers others meanwhile");
    lock.unlock().unwrap();
}

#[test]
fn seed_001_scoped_keys_default_namespace_read_sets_403_and_404() {
    let s = TestServer::start();
    for ns in ["research", "work", "archive-me"] {
        s.namespace(ns);
    }
    let agent = s.key(json!({ "principal": "research-agent", "default_namespace": "research",
        "scopes": [{ "namespace": "research", "permissions": ["read", "write"] },
                   { "namespace": "shared", "permissions": ["read"] },
                   { "namespace": "archive-me", "permissions": ["read"] }] }));
    // Write with no namespace: the key's default namespace.
    let (_, w) = s.call("POST", "/v1/memories", Some(&agent), Some(json!({ "content": "ranking experiment v3" })));
    assert_eq!(w["memory"]["namespace"], "research");
    // Read with no namespaces, with ["*"]: every namespace the key can read.
    let (_, r) = s.call("POST", "/v1/recall", Some(&agent), Some(json!({ "query": "ranking" })));
    let mut read: Vec<&str> = r["namespaces"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    read.sort();
    assert_eq!(read, ["archive-me", "research", "shared"]);
    let (_, r) = s.call("POST", "/v1/recall", Some(&agent), Some(json!({ "query": "ranking", "namespaces": ["*"] })));
    assert_eq!(r["namespaces"].as_array().unwrap().len(), 3);
    // An explicit list: each must be granted; an existing ungranted one is 403, a missing one 404.
    let (_, r) = s.call(
        "POST",
        "/v1/recall",
        Some(&agent),
        Some(json!({ "query": "ranking", "namespaces": ["research", "shared"] })),
    );
    assert_eq!(r["namespaces"], json!(["research", "shared"]));
    let (status, _) = s.call("POST", "/v1/recall", Some(&agent), Some(json!({ "query": "x", "namespaces": ["work"] })));
    assert_eq!(status, 403);
    let (status, _) =
        s.call("POST", "/v1/recall", Some(&agent), Some(json!({ "query": "x", "namespaces": ["ghost"] })));
    assert_eq!(status, 404);
    // Writing where the key may only read: 403. Archived: 404.
    let (status, _) =
        s.call("POST", "/v1/memories", Some(&agent), Some(json!({ "content": "x", "namespace": "shared" })));
    assert_eq!(status, 403);
    let (status, answer) = s.call("POST", "/v1/namespaces/archive-me/archive", Some(&s.admin), None);
    assert_eq!((status, answer["changed"].as_bool()), (200, Some(true)));
    let (status, _) =
        s.call("POST", "/v1/recall", Some(&agent), Some(json!({ "query": "x", "namespaces": ["archive-me"] })));
    assert_eq!(status, 404);
    // A key without scopes: its principal's rights with no configuration (read-write default,
    // read shared).
    let plain = s.key(json!({ "principal": "bob" }));
    let (_, w) = s.call("POST", "/v1/memories", Some(&plain), Some(json!({ "content": "bob's note" })));
    assert_eq!(w["memory"]["namespace"], "default");
    let (status, _) =
        s.call("POST", "/v1/recall", Some(&plain), Some(json!({ "query": "x", "namespaces": ["research"] })));
    assert_eq!(status, 403);
    assert!(!s.recall(&plain, json!({ "query": "ranking experiment" })).iter().any(|c| c.contains("ranking")));
}

#[test]
fn seed_000_per_user_keys_isolate_and_a_team_namespace_is_shared() {
    let s = TestServer::start();
    for ns in ["alice", "bob", "team_alpha"] {
        s.namespace(ns);
    }
    let scoped = |principal: &str, own: &str| {
        s.key(json!({ "principal": principal, "default_namespace": own,
            "scopes": [{ "namespace": own, "permissions": ["read", "write"] },
                       { "namespace": "team_alpha", "permissions": ["read", "write"] }] }))
    };
    let (alice, bob) = (scoped("alice", "alice"), scoped("bob", "bob"));
    s.remember(&alice, "Alice prefers Python", None);
    s.remember(&bob, "Bob prefers Go", None);
    assert!(!s.recall(&alice, json!({ "query": "language preference" })).iter().any(|c| c.contains("Go")));
    assert!(!s.recall(&bob, json!({ "query": "language preference" })).iter().any(|c| c.contains("Python")));
    s.remember(&alice, "GPT-4 outperforms on math by 12%", Some("team_alpha"));
    let found = s.recall(&bob, json!({ "query": "GPT-4 performance", "namespaces": ["team_alpha"] }));
    assert_eq!(found[0], "GPT-4 outperforms on math by 12%");
}

#[test]
fn seed_003_pinned_layers_and_working_expiry() {
    let s = TestServer::start();
    let alice = s.key(json!({ "principal": "alice" }));
    for (content, layer) in [("My name is Alice", "identity"), ("Always answer in English", "procedural")] {
        let (status, _) =
            s.call("POST", "/v1/memories", Some(&alice), Some(json!({ "content": content, "layer": layer })));
        assert_eq!(status, 201);
    }
    let soon = memory_core::Timestamp::now().plus_micros(2_000_000).to_string();
    let (status, w) = s.call(
        "POST",
        "/v1/memories",
        Some(&alice),
        Some(json!({ "content": "The build is red right now", "layer": "working", "expires_at": soon })),
    );
    assert_eq!(status, 201, "{w}");
    let (_, r) = s.call(
        "POST",
        "/v1/recall",
        Some(&alice),
        Some(json!({ "query": "build status", "layers": ["semantic", "identity"] })),
    );
    let results = r["results"].as_array().unwrap();
    assert!(results.len() >= 2);
    assert!(results[0]["pinned"].as_bool().unwrap() && results[1]["pinned"].as_bool().unwrap());
    assert!(
        results.iter().any(|m| m["memory"]["layer"] == "procedural"),
        "procedural stays pinned under a layers filter"
    );
    assert!(s.recall(&alice, json!({ "query": "build red" })).iter().any(|c| c.contains("build is red")));
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(!s.recall(&alice, json!({ "query": "build red" })).iter().any(|c| c.contains("build is red")));
}

#[test]
fn seed_004_namespace_fields_are_stored_filtered_and_updated() {
    let s = TestServer::with("[namespaces.teams.sales]\nprincipals = [\"sam\"]\n", false, ServerConfig::default());
    let body = json!({ "key": "customer-data", "name": "Customer Data", "description": "CRM notes", "team": "sales",
        "sensitivity": "restricted", "default_access": "private", "retention_days": 30, "metadata": { "owner": "ops" } });
    let (status, ns) = s.call("POST", "/v1/namespaces", Some(&s.admin), Some(body));
    assert_eq!(status, 201, "{ns}");
    assert_eq!((ns["sensitivity"].as_str(), ns["default_access"].as_str()), (Some("restricted"), Some("private")));
    assert_eq!(ns["retention_days"], 30);
    let (_, list) = s.call("GET", "/v1/namespaces?sensitivity=restricted", Some(&s.admin), None);
    assert_eq!(list["namespaces"].as_array().unwrap().len(), 1);
    let (_, list) = s.call("GET", "/v1/namespaces?team=sales&kind=explicit", Some(&s.admin), None);
    assert_eq!(list["namespaces"][0]["key"], "customer-data");
    let (status, _) = s.call("GET", "/v1/namespaces?sensitivity=secret", Some(&s.admin), None);
    assert_eq!(status, 400);
    let (status, ns) = s.call(
        "PATCH",
        "/v1/namespaces/customer-data",
        Some(&s.admin),
        Some(json!({ "name": "Customers", "retention_days": null, "sensitivity": "sensitive" })),
    );
    assert_eq!(status, 200, "{ns}");
    assert_eq!(ns["name"], "Customers");
    assert!(ns.get("retention_days").is_none());
    let (status, got) = s.call("GET", "/v1/namespaces/customer-data", Some(&s.admin), None);
    assert_eq!((status, got["memories"].as_u64()), (200, Some(0)));
    let (status, _) = s.call("POST", "/v1/namespaces/customer-data/archive", Some(&s.admin), None);
    assert_eq!(status, 200);
    let (_, restored) = s.call("POST", "/v1/namespaces/customer-data/restore", Some(&s.admin), None);
    assert_eq!(restored["changed"], true);
    let (status, deleted) = s.call("DELETE", "/v1/namespaces/customer-data", Some(&s.admin), None);
    assert_eq!((status, deleted["changed"].as_bool()), (200, Some(true)));
    let (status, _) = s.call("GET", "/v1/namespaces/customer-data", Some(&alice_key(&s)), None);
    assert_eq!(status, 404);
}

fn alice_key(s: &TestServer) -> String {
    s.key(json!({ "principal": "alice" }))
}

#[test]
fn requests_of_another_tenant_are_always_404() {
    let s = TestServer::start();
    let alice = alice_key(&s);
    let id = s.remember(&alice, "tenant A secret", None);
    // A key of another tenant, issued by the home's operator.
    let other = s.other_tenant_key();
    let (status, answer) = s.call("GET", &format!("/v1/memories/{id}"), Some(&other), None);
    assert_eq!((status, code(&answer)), (404, "not_found"));
    let (status, _) = s.call("DELETE", &format!("/v1/memories/{id}"), Some(&other), None);
    assert_eq!(status, 404);
    let (status, _) = s.call("POST", &format!("/v1/memories/{id}/promote"), Some(&other), None);
    assert_eq!(status, 404);
    let (status, _) =
        s.call("POST", "/v1/outcomes", Some(&other), Some(json!({ "memory_ids": [id], "outcome": "helpful" })));
    assert_eq!(status, 404);
    assert!(
        !s.recall(&other, json!({ "query": "tenant A secret", "namespaces": ["*"] }))
            .iter()
            .any(|c| c.contains("secret"))
    );
    let (_, page) = s.call("GET", "/v1/memories", Some(&other), None);
    assert_eq!(page["memories"].as_array().unwrap().len(), 0);
    let (_, keys) = s.call("GET", "/v1/keys", Some(&other), None);
    assert!(keys["keys"].as_array().unwrap().iter().all(|k| k["tenant"] == "acme"));
}

#[test]
fn the_principal_header_counts_only_when_trusted() {
    let config = r#"
[[namespaces.policies]]
name = "alice"
read = ["alice"]
write = ["alice"]
"#;
    for trust in [false, true] {
        let s = TestServer::with(config, trust, ServerConfig::default());
        let gateway = s.key(json!({ "principal": "gateway" }));
        let (status, answer) = s.raw(
            "POST",
            "/v1/memories",
            Some(&gateway),
            &[("x-memory-principal", "alice"), ("content-type", "application/json")],
            Some(json!({ "content": "from the gateway", "namespace": "alice" }).to_string()),
        );
        if trust {
            assert_eq!(status, 201, "trusted header: {answer}");
        } else {
            assert_eq!(status, 403, "untrusted header is ignored: {answer}");
        }
    }
}

#[test]
fn keys_are_issued_listed_narrowed_and_revoked() {
    let s = TestServer::start();
    s.namespace("research");
    let (status, issued) = s.call(
        "POST",
        "/v1/keys",
        Some(&s.admin),
        Some(json!({ "principal": "carol", "label": "carol ci",
        "scopes": [{ "namespace": "research", "permissions": ["read", "write"] }] })),
    );
    assert_eq!(status, 201, "{issued}");
    let (id, secret) =
        (issued["key"]["id"].as_str().unwrap().to_owned(), issued["secret"].as_str().unwrap().to_owned());
    assert!(secret.starts_with("mem_sk_"));
    let (_, list) = s.call("GET", "/v1/keys", Some(&s.admin), None);
    let listed = list["keys"].as_array().unwrap().iter().find(|k| k["id"] == id.as_str()).unwrap().clone();
    assert!(listed.get("secret").is_none() && !list.to_string().contains(&secret), "secrets are never listed");
    let (status, key) = s.call("GET", &format!("/v1/keys/{id}"), Some(&s.admin), None);
    assert_eq!((status, key["label"].as_str()), (200, Some("carol ci")));
    let (status, key) = s.call(
        "PATCH",
        &format!("/v1/keys/{id}"),
        Some(&s.admin),
        Some(json!({ "scopes": [{ "namespace": "research", "permissions": ["read"] }], "default_namespace": null })),
    );
    assert_eq!(status, 200, "{key}");
    assert_eq!(key["scopes"][0]["permissions"], json!(["read"]));
    let (status, _) =
        s.call("POST", "/v1/memories", Some(&secret), Some(json!({ "content": "x", "namespace": "research" })));
    assert_eq!(status, 403, "narrowed to read");
    let (status, _) = s.call(
        "POST",
        "/v1/keys",
        Some(&s.admin),
        Some(json!({ "principal": "carol",
        "scopes": [{ "namespace": "research", "permissions": ["admin"] }] })),
    );
    assert_eq!(status, 400);
    let (status, revoked) = s.call("DELETE", &format!("/v1/keys/{id}"), Some(&s.admin), None);
    assert_eq!((status, revoked["changed"].as_bool()), (200, Some(true)));
    let (status, _) = s.call("GET", "/v1/memories", Some(&secret), None);
    assert_eq!(status, 401);
    let (status, _) = s.call("GET", "/v1/keys/0190a0a0-0000-7000-8000-000000000000", Some(&s.admin), None);
    assert_eq!(status, 404);
}

#[test]
fn plan_audit_export_and_import() {
    let s = TestServer::start();
    s.namespace("research");
    let alice = alice_key(&s);
    s.remember(&alice, "default note", None);
    let (status, plan) = s.call("GET", "/v1/plan", Some(&alice), None);
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["principal"], "alice");
    assert_eq!(plan["write"], "default");
    assert!(plan["principal_reason"].is_string());
    let (_, plan) = s.call("GET", "/v1/plan?namespaces=research", Some(&alice), None);
    assert!(plan["error"].is_object(), "research is not readable by alice: {plan}");

    let (status, audit) = s.call("GET", "/v1/audit?namespace=default&limit=50", Some(&s.admin), None);
    assert_eq!(status, 200, "{audit}");
    assert!(audit["records"].as_array().unwrap().iter().any(|r| r["operation"] == "memory.remember"));

    // Export as alice: only what alice may read (default, shared), never research.
    let (status, text) = s.raw("GET", "/v1/export", Some(&alice), &[], None);
    assert_eq!(status, 200);
    assert!(text.contains("default note") && !text.contains("\"research\""), "{text}");
    // A namespace the caller may not read is refused before anything is sent.
    let (status, answer) = s.raw("GET", "/v1/export?namespace=research", Some(&alice), &[], None);
    assert_eq!(status, 404, "{answer}");
    assert!(answer.contains("not_found"), "{answer}");
    // Import it into a fresh server as its admin.
    let t = TestServer::start();
    let (status, report) =
        t.raw("POST", "/v1/import", Some(&t.admin), &[("content-type", "application/x-ndjson")], Some(text.clone()));
    assert_eq!(status, 200, "{report}");
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["memories"], 1);
    let (status, answer) = t.raw("POST", "/v1/import", Some(&t.admin), &[], Some("not an export".into()));
    assert_eq!(status, 400, "{answer}");
}

/// An export larger than one streamed chunk arrives whole: every memory, then the end line.
#[test]
fn a_large_export_streams_whole() {
    let s = TestServer::start();
    let alice = alice_key(&s);
    let filler = "x".repeat(900);
    for chunk in 0..3 {
        let memories: Vec<Value> =
            (0..100).map(|i| json!({ "content": format!("memory {chunk}-{i} {filler}") })).collect();
        let (status, answer) =
            s.call("POST", "/v1/memories/batch", Some(&alice), Some(json!({ "memories": memories })));
        assert_eq!(status, 201, "{answer}");
    }
    let (status, text) = s.raw("GET", "/v1/export", Some(&alice), &[], None);
    assert_eq!(status, 200);
    assert!(text.len() > 256 * 1024, "{} bytes", text.len());
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let end = lines.last().unwrap();
    assert_eq!(end["type"], "end", "{end}");
    assert_eq!(end["memories"], 300);
    assert_eq!(lines.iter().filter(|l| l["type"] == "memory").count(), 300);
}

#[test]
fn health_readiness_metrics_and_the_openapi_document() {
    let s = TestServer::start();
    let (status, health) = s.call("GET", "/healthz", None, None);
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, ready) = s.call("GET", "/readyz", None, None);
    assert_eq!((status, ready["status"].as_str()), (200, Some("ready")));
    assert!(ready["embedder"].as_str().unwrap().contains("hash"));
    let alice = alice_key(&s);
    s.recall(&alice, json!({ "query": "anything" }));
    let (status, text) = s.raw("GET", "/metrics", None, &[], None);
    assert_eq!(status, 200);
    assert!(text.contains("memory_http_requests_total"), "{text}");
    assert!(text.contains("route=\"/v1/recall\""), "{text}");
    assert!(text.contains("memory_recall_outcomes_total"), "{text}");
    assert!(text.contains("memory_http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("memory_index_memories{tenant=\"default\"}"), "{text}");
    assert!(text.contains("memory_index_unsaved_changes"), "{text}");

    let (status, doc) = s.call("GET", "/openapi.json", None, None);
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/v1/memories", &["post", "get"][..]),
        ("/v1/memories/batch", &["post"]),
        ("/v1/memories/{id}", &["get", "delete"]),
        ("/v1/memories/{id}/promote", &["post"]),
        ("/v1/recall", &["post"]),
        ("/v1/observe", &["post"]),
        ("/v1/outcomes", &["post"]),
        ("/v1/namespaces", &["get", "post"]),
        ("/v1/namespaces/{key}", &["get", "patch", "delete"]),
        ("/v1/namespaces/{key}/archive", &["post"]),
        ("/v1/namespaces/{key}/restore", &["post"]),
        ("/v1/namespaces/{key}/migrate", &["post"]),
        ("/v1/keys", &["post", "get"]),
        ("/v1/keys/{id}", &["get", "patch", "delete"]),
        ("/v1/plan", &["get"]),
        ("/v1/audit", &["get"]),
        ("/v1/export", &["get"]),
        ("/v1/import", &["post"]),
        ("/v1/consolidate", &["post"]),
        ("/v1/proposals", &["get"]),
        ("/v1/proposals/{id}/approve", &["post"]),
        ("/v1/proposals/{id}/reject", &["post"]),
        ("/v1/entities", &["get"]),
        ("/v1/entities/{id}", &["get"]),
        ("/v1/maintenance", &["post", "get"]),
    ];
    for (path, methods) in expected {
        let item = paths.get(path).unwrap_or_else(|| panic!("{path} is missing from the OpenAPI document"));
        for m in methods {
            assert!(item.get(*m).is_some(), "{m} {path} is missing from the OpenAPI document");
        }
    }
    assert_eq!(paths.len(), expected.len(), "a documented route the test does not know: {:?}", paths.keys());
    // Every documented route answers (not the router's 404), so document and router agree.
    for (path, _) in expected {
        let concrete = path.replace("{id}", "0190a0a0-0000-7000-8000-000000000000").replace("{key}", "default");
        let (status, text) = s.raw("GET", &concrete, Some(&s.admin), &[], None);
        assert!(!(status == 404 && text.contains("no such route")), "{path} is documented but not routed");
    }
}
