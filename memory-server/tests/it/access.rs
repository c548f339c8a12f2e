//! seeds/004 over HTTP: default access, sensitivity and ownership of namespaces created over
//! the API, keys derived from names, migrate and import into another namespace.

use memory_server::ServerConfig;
use serde_json::json;

use crate::support::{TestServer, code};

/// `team_789` of seeds/004: tom writes and reads, rita reads.
const CONFIG: &str = r#"
[namespaces.teams.team_789]
principals = ["tom", "rita"]
read = ["tom", "rita"]
write = ["tom"]
"#;

fn server() -> TestServer {
    TestServer::with(CONFIG, false, ServerConfig::default())
}

fn recall_in(s: &TestServer, key: &str, namespaces: serde_json::Value) -> (u16, Vec<String>) {
    let (status, answer) =
        s.call("POST", "/v1/recall", Some(key), Some(json!({ "query": "customer notes", "namespaces": namespaces })));
    let contents = answer["results"]
        .as_array()
        .map(|a| a.iter().map(|r| r["memory"]["content"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    (status, contents)
}

#[test]
fn a_team_namespace_of_team_789_is_read_by_its_members_only() {
    let s = server();
    let (status, ns) = s.call(
        "POST",
        "/v1/namespaces",
        Some(&s.admin),
        Some(json!({ "name": "Customer Data", "team": "team_789", "default_access": "team" })),
    );
    assert_eq!(status, 201, "{ns}");
    assert_eq!((ns["key"].as_str(), ns["name"].as_str()), (Some("customer-data"), Some("Customer Data")));
    let tom = s.key(json!({ "principal": "tom" }));
    let rita = s.key(json!({ "principal": "rita" }));
    let oscar = s.key(json!({ "principal": "oscar" }));
    s.remember(&tom, "Customer notes: ACME renews in May", Some("customer-data"));
    let (status, _) = s.call(
        "POST",
        "/v1/memories",
        Some(&rita),
        Some(json!({ "content": "Customer notes: rita's", "namespace": "customer-data" })),
    );
    assert_eq!(status, 403, "a team reader does not write");
    let (status, got) = recall_in(&s, &rita, json!(["customer-data"]));
    assert_eq!((status, got.len()), (200, 1), "a team reader reads");
    let (status, _) = recall_in(&s, &oscar, json!(["customer-data"]));
    assert_eq!(status, 403, "anyone else is refused");
    let (_, got) = recall_in(&s, &oscar, json!(["*"]));
    assert!(got.is_empty(), "and * never reaches it");
    let (status, plan) = s.call("GET", "/v1/plan?namespaces=*", Some(&oscar), None);
    assert_eq!(status, 200, "{plan}");
    let row = plan["layers"].as_array().unwrap().iter().find(|l| l["namespace"] == "customer-data").unwrap();
    assert!(row["reason"].as_str().unwrap().contains("team_789"), "the plan names the rule: {row}");
    // Who may use it is an admin's change, and the next request sees it.
    let (status, _) =
        s.call("PATCH", "/v1/namespaces/customer-data", Some(&tom), Some(json!({ "default_access": "public" })));
    assert_eq!(status, 403);
    let (status, _) =
        s.call("PATCH", "/v1/namespaces/customer-data", Some(&s.admin), Some(json!({ "default_access": "public" })));
    assert_eq!(status, 200);
    let (status, got) = recall_in(&s, &oscar, json!(["customer-data"]));
    assert_eq!((status, got.len()), (200, 1), "public: every principal reads");
    let (status, _) = s.call("PATCH", "/v1/namespaces/customer-data", Some(&s.admin), Some(json!({ "team": "sales" })));
    assert_eq!(status, 400, "an unknown team is refused");
}

#[test]
fn a_private_namespace_is_its_creators_and_the_admins() {
    let s = server();
    let alice = s.key(json!({ "principal": "alice" }));
    let bob = s.key(json!({ "principal": "bob" }));
    let (status, ns) =
        s.call("POST", "/v1/namespaces", Some(&alice), Some(json!({ "key": "diary", "default_access": "private" })));
    assert_eq!((status, ns["created_by"].as_str()), (201, Some("alice")), "{ns}");
    let id = s.remember(&alice, "Customer notes: alice's diary", Some("diary"));
    let (status, _) = s.call("GET", &format!("/v1/memories/{id}"), Some(&bob), None);
    assert_eq!(status, 404, "another principal does not see it");
    let (status, _) = recall_in(&s, &bob, json!(["diary"]));
    assert_eq!(status, 403);
    let (status, _) = s.call("GET", &format!("/v1/memories/{id}"), Some(&s.admin), None);
    assert_eq!(status, 200, "a tenant admin does");
    let (status, got) = recall_in(&s, &alice, json!(["diary"]));
    assert_eq!((status, got.len()), (200, 1));
    // Over the API, a namespace without default_access is `team`; without a team, private.
    let (_, ns) = s.call("POST", "/v1/namespaces", Some(&alice), Some(json!({ "key": "notes" })));
    assert_eq!(ns["default_access"], "team");
    s.remember(&alice, "Customer notes: alice's notes", Some("notes"));
    let (status, _) = recall_in(&s, &bob, json!(["notes"]));
    assert_eq!(status, 403);
}

#[test]
fn a_restricted_namespace_is_read_only_when_named_and_every_read_is_audited() {
    let s = server();
    let (status, _) = s.call(
        "POST",
        "/v1/namespaces",
        Some(&s.admin),
        Some(json!({ "key": "vault", "sensitivity": "restricted", "default_access": "public" })),
    );
    assert_eq!(status, 201);
    let (status, _) = s.call(
        "POST",
        "/v1/namespaces",
        Some(&s.admin),
        Some(json!({ "key": "hr", "sensitivity": "sensitive", "default_access": "public" })),
    );
    assert_eq!(status, 201);
    let alice = s.key(json!({ "principal": "alice" }));
    s.remember(&s.admin, "Customer notes: the vault code", Some("vault"));
    s.remember(&s.admin, "Customer notes: the hr file", Some("hr"));
    let (_, got) = recall_in(&s, &alice, json!(["*"]));
    assert!(got.is_empty(), "neither restricted nor (unasked) sensitive is in *: {got:?}");
    let (status, answer) = s.call(
        "POST",
        "/v1/recall",
        Some(&alice),
        Some(json!({ "query": "customer notes", "namespaces": ["*"], "include_sensitive": true })),
    );
    assert_eq!(status, 200);
    let contents: Vec<&str> =
        answer["results"].as_array().unwrap().iter().map(|r| r["memory"]["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["Customer notes: the hr file"], "include_sensitive adds sensitive, never restricted");
    let (status, got) = recall_in(&s, &alice, json!(["vault"]));
    assert_eq!((status, got.len()), (200, 1), "named, it is read");
    let (_, audit) = s.call("GET", "/v1/audit?namespace=vault", Some(&s.admin), None);
    let reads: Vec<&serde_json::Value> =
        audit["records"].as_array().unwrap().iter().filter(|r| r["operation"] == "memory.recall").collect();
    assert_eq!(reads.len(), 1, "the read is audited: {audit}");
    let (_, listing) = s.call("GET", "/v1/memories", Some(&alice), None);
    assert!(!listing.to_string().contains("vault code"), "a listing of all leaves it out");
}

#[test]
fn keys_come_from_names_and_a_taken_one_is_a_409_naming_it() {
    let s = server();
    let (status, ns) = s.call("POST", "/v1/namespaces", Some(&s.admin), Some(json!({ "name": "Customer Data" })));
    assert_eq!((status, ns["key"].as_str()), (201, Some("customer-data")));
    let (status, answer) = s.call("POST", "/v1/namespaces", Some(&s.admin), Some(json!({ "name": "customer  DATA" })));
    assert_eq!((status, code(&answer)), (409, "conflict"));
    assert!(answer["error"]["message"].as_str().unwrap().contains("customer-data"), "{answer}");
    let (status, _) = s.call("POST", "/v1/namespaces", Some(&s.admin), Some(json!({ "name": "!!!" })));
    assert_eq!(status, 400);
    let (status, _) = s.call("POST", "/v1/namespaces", Some(&s.admin), Some(json!({})));
    assert_eq!(status, 400);
}

#[test]
fn migrate_and_import_into_another_namespace() {
    let s = server();
    s.namespace("old");
    s.namespace("new");
    s.remember(&s.admin, "Customer notes: one", Some("old"));
    s.remember(&s.admin, "Customer notes: two", Some("old"));
    let (status, plan) = s.call("POST", "/v1/namespaces/old/migrate", Some(&s.admin), Some(json!({ "to": "new" })));
    assert_eq!((status, plan["memories"].as_u64(), plan["applied"].as_bool()), (200, Some(2), Some(false)), "{plan}");
    let (status, done) =
        s.call("POST", "/v1/namespaces/old/migrate", Some(&s.admin), Some(json!({ "to": "new", "apply": true })));
    assert_eq!((status, done["moved"].as_u64()), (200, Some(2)), "{done}");
    let (_, old) = s.call("GET", "/v1/namespaces/old", Some(&s.admin), None);
    assert_eq!((old["status"].as_str(), old["memories"].as_u64()), (Some("active"), Some(0)));
    let (status, export) = s.raw("GET", "/v1/export?namespace=new", Some(&s.admin), &[], None);
    assert_eq!(status, 200);
    let (status, report) = s.raw("POST", "/v1/import?namespace=copy", Some(&s.admin), &[], Some(export));
    assert_eq!(status, 200, "{report}");
    let (_, copy) = s.call("GET", "/v1/namespaces/copy", Some(&s.admin), None);
    assert_eq!(copy["memories"].as_u64(), Some(2));
}
