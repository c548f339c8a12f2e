//! Consolidation, the review queue, entities and maintenance over HTTP, and the server's
//! maintenance scheduler.

use std::time::{Duration, Instant};

use memory_server::ServerConfig;
use serde_json::{Value, json};

use crate::support::{TestServer, code};

/// Polls `check` until it answers `Some`, for at most ten seconds.
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|i| i.as_str().unwrap().to_owned()).collect()
}

#[test]
fn consolidation_writes_memories_queues_identity_and_links_entities() {
    let s = TestServer::start();
    let alice = s.key(json!({ "principal": "alice" }));
    for text in ["I prefer tea over coffee.", "My name is Dana Whitfield.", "I met my friend Priya in Lisbon."] {
        s.remember(&alice, text, None);
    }
    let (status, run) = s.call("POST", "/v1/consolidate", Some(&alice), Some(json!({})));
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["namespace"], "default");
    assert_eq!(run["episodes"], 3);
    assert!(!ids(&run["created"]).is_empty(), "{run}");
    let proposed = ids(&run["proposed"]);
    assert_eq!(proposed.len(), 1, "{run}");
    assert!(run["entity_links"].as_u64().unwrap() > 0, "{run}");
    // Nothing new: the checkpoint makes a second run read nothing.
    let (status, again) = s.call("POST", "/v1/consolidate", Some(&alice), Some(json!({ "namespace": "default" })));
    assert_eq!((status, again["episodes"].as_u64()), (200, Some(0)), "{again}");

    let (status, semantic) = s.call("GET", "/v1/memories?layer=semantic", Some(&alice), None);
    assert_eq!(status, 200);
    let contents: Vec<&str> =
        semantic["memories"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert!(contents.iter().any(|c| c.to_lowercase().contains("tea")), "{contents:?}");

    // The review queue.
    let (status, queue) = s.call("GET", "/v1/proposals?status=pending", Some(&alice), None);
    assert_eq!(status, 200, "{queue}");
    let pending = queue["proposals"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{queue}");
    let p = &pending[0];
    assert_eq!(
        (p["id"].as_str(), p["layer"].as_str(), p["status"].as_str()),
        (Some(&*proposed[0]), Some("identity"), Some("pending"))
    );
    assert!(p["content"].as_str().unwrap().contains("Dana Whitfield"), "{p}");
    assert_eq!(p["proposed_by"], "alice");
    let (status, approved) = s.call("POST", &format!("/v1/proposals/{}/approve", proposed[0]), Some(&alice), None);
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["proposal"]["status"], "approved");
    assert_eq!(approved["proposal"]["decided_by"], "alice");
    assert_eq!(approved["memory"]["layer"], "identity");
    assert!(approved["memory"]["content"].as_str().unwrap().contains("Dana Whitfield"));
    let (status, answer) = s.call("POST", &format!("/v1/proposals/{}/approve", proposed[0]), Some(&alice), None);
    assert_eq!((status, code(&answer)), (409, "conflict"), "{answer}");
    let (status, answer) = s.call("POST", &format!("/v1/proposals/{}/reject", proposed[0]), Some(&alice), None);
    assert_eq!(status, 409, "{answer}");
    let (_, left) = s.call("GET", "/v1/proposals?status=pending", Some(&alice), None);
    assert_eq!(left["proposals"], json!([]));
    // Another principal's key sees nothing of a namespace it may not write... but `default`
    // is everyone's; a proposal nobody may review is a 404 like a missing one.
    let (status, answer) = s.call("POST", &format!("/v1/proposals/{}/reject", uuid()), Some(&alice), None);
    assert_eq!((status, code(&answer)), (404, "not_found"));

    // Entities.
    let (status, found) = s.call("GET", "/v1/entities?q=priya&kind=person", Some(&alice), None);
    assert_eq!(status, 200, "{found}");
    let entities = found["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 1, "{found}");
    assert_eq!((entities[0]["name"].as_str(), entities[0]["kind"].as_str()), (Some("Priya"), Some("person")));
    assert!(entities[0]["mentions"].as_u64().unwrap() >= 1);
    let (status, places) = s.call("GET", "/v1/entities?kind=place&namespace=default", Some(&alice), None);
    assert_eq!(status, 200);
    assert!(places["entities"].as_array().unwrap().iter().any(|e| e["name"] == "Lisbon"), "{places}");
    let id = entities[0]["id"].as_str().unwrap();
    let (status, one) = s.call("GET", &format!("/v1/entities/{id}?limit=10"), Some(&alice), None);
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["entity"]["id"], id);
    assert!(
        one["memories"].as_array().unwrap().iter().any(|m| m["content"].as_str().unwrap().contains("Priya")),
        "{one}"
    );
    let (status, answer) = s.call("GET", &format!("/v1/entities/{}", uuid()), Some(&alice), None);
    assert_eq!((status, code(&answer)), (404, "not_found"));
}

#[test]
fn bad_ids_enums_and_parameters_are_400_naming_the_problem() {
    let s = TestServer::start();
    let alice = s.key(json!({ "principal": "alice" }));
    let bad = |method: &str, path: &str, body: Option<Value>, needle: &str| {
        let (status, answer) = s.call(method, path, Some(&s.admin), body);
        assert_eq!((status, code(&answer)), (400, "invalid_input"), "{method} {path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(needle), "{method} {path}: {message:?} should name {needle:?}");
    };
    bad("POST", "/v1/proposals/not-a-uuid/approve", None, "id:");
    bad("POST", "/v1/proposals/not-a-uuid/reject", None, "id:");
    bad("GET", "/v1/proposals?status=maybe", None, "maybe");
    bad("GET", "/v1/proposals?namespace=a%20b", None, "namespace:");
    bad("GET", "/v1/proposals?limit=0", None, "limit");
    bad("GET", "/v1/proposals?colour=red", None, "colour");
    bad("GET", "/v1/entities?kind=galaxy", None, "galaxy");
    bad("GET", "/v1/entities/not-a-uuid", None, "id:");
    bad("GET", "/v1/entities/0190a0a0-0000-7000-8000-000000000000?limit=5000", None, "limit");
    bad("POST", "/v1/consolidate", Some(json!({ "max_episodes": 0 })), "max_episodes");
    bad("POST", "/v1/consolidate", Some(json!({ "namespace": "" })), "namespace:");
    bad("POST", "/v1/consolidate", Some(json!({ "colour": "red" })), "colour");
    bad("POST", "/v1/maintenance", Some(json!({ "jobs": ["consolidate", "dust"] })), "dust");
    bad("POST", "/v1/maintenance", Some(json!({ "jobs": [] })), "jobs");
    bad("POST", "/v1/maintenance", Some(json!({ "budget": 0 })), "budget");
    bad("GET", "/v1/maintenance?namespace=a%20b", None, "namespace:");
    // Consolidating a namespace that holds nothing yet.
    let (status, answer) = s.call("POST", "/v1/consolidate", Some(&alice), Some(json!({ "namespace": "nowhere" })));
    assert_eq!(status, 404, "{answer}");
}

#[test]
fn maintenance_is_for_admin_keys_and_leaves_status_records() {
    let s = TestServer::start();
    let alice = s.key(json!({ "principal": "alice" }));
    s.remember(&alice, "I prefer tea over coffee.", None);
    let (status, answer) = s.call("POST", "/v1/maintenance", Some(&alice), Some(json!({})));
    assert_eq!((status, code(&answer)), (403, "forbidden"), "{answer}");
    let (status, answer) = s.call("GET", "/v1/maintenance", Some(&alice), None);
    assert_eq!((status, code(&answer)), (403, "forbidden"), "{answer}");

    let (status, cycle) = s.call("POST", "/v1/maintenance", Some(&s.admin), Some(json!({})));
    assert_eq!(status, 200, "{cycle}");
    assert_eq!(cycle["failed"], 0, "{cycle}");
    let runs = cycle["runs"].as_array().unwrap();
    let jobs: Vec<&str> = runs.iter().map(|r| r["job"].as_str().unwrap()).collect();
    for job in ["consolidate", "expire", "retention", "purge", "index", "catalog"] {
        assert!(jobs.contains(&job), "{job} did not run: {cycle}");
    }
    let consolidated = runs.iter().find(|r| r["job"] == "consolidate" && r["namespace"] == "default").unwrap();
    assert_eq!(consolidated["status"], "ran");
    assert_eq!(consolidated["counts"]["episodes"], 1, "{consolidated}");

    let (status, only) =
        s.call("POST", "/v1/maintenance", Some(&s.admin), Some(json!({ "jobs": ["expire"], "namespace": "default" })));
    assert_eq!(status, 200, "{only}");
    assert!(only["runs"].as_array().unwrap().iter().all(|r| r["job"] == "expire"), "{only}");

    let (status, records) = s.call("GET", "/v1/maintenance?namespace=default", Some(&s.admin), None);
    assert_eq!(status, 200, "{records}");
    let records = records["runs"].as_array().unwrap();
    assert!(records.iter().any(|r| r["job"] == "consolidate" && r["checkpoint"].is_string()), "{records:?}");
    assert!(records.iter().all(|r| r["namespace"] == "default"));
}

#[test]
fn the_scheduler_maintains_every_tenant_without_a_request() {
    let config = ServerConfig { maintenance_interval: Some(Duration::from_millis(200)), ..ServerConfig::default() };
    let s = TestServer::with("", false, config);
    let alice = s.key(json!({ "principal": "alice" }));
    s.remember(&alice, "I prefer tea over coffee.", None);
    let expires = memory_core::Timestamp::now().plus_micros(1_500_000).to_string();
    let (status, working) = s.call(
        "POST",
        "/v1/memories",
        Some(&alice),
        Some(json!({ "content": "the build is red right now", "layer": "working", "expires_at": expires })),
    );
    assert_eq!(status, 201, "{working}");

    let semantic = eventually("a consolidated memory", || {
        let (_, page) = s.call("GET", "/v1/memories?layer=semantic", Some(&alice), None);
        page["memories"].as_array().filter(|m| !m.is_empty()).cloned()
    });
    assert!(semantic.iter().any(|m| m["content"].as_str().unwrap().to_lowercase().contains("tea")), "{semantic:?}");
    let deleted = eventually("the expired working memory deleted", || {
        let (_, records) = s.call("GET", "/v1/maintenance?namespace=default", Some(&s.admin), None);
        records["runs"]
            .as_array()?
            .iter()
            .find(|r| r["job"] == "expire")
            .and_then(|r| r["counts"]["deleted"].as_u64())
            .filter(|n| *n > 0)
    });
    assert_eq!(deleted, 1);
}

#[test]
fn no_scheduled_maintenance_when_it_is_off() {
    let config = ServerConfig { maintenance_interval: None, ..ServerConfig::default() };
    let s = TestServer::with("", false, config);
    let alice = s.key(json!({ "principal": "alice" }));
    s.remember(&alice, "I prefer tea over coffee.", None);
    std::thread::sleep(Duration::from_millis(800));
    let (status, records) = s.call("GET", "/v1/maintenance", Some(&s.admin), None);
    assert_eq!((status, records["runs"].clone()), (200, json!([])), "{records}");
    let (_, page) = s.call("GET", "/v1/memories?layer=semantic", Some(&alice), None);
    assert_eq!(page["memories"], json!([]));
}

/// A well-formed id that names nothing.
fn uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}
