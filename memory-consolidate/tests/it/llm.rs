//! The LLM extractor against a scripted OpenAI-compatible server on 127.0.0.1.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use memory_consolidate::{CandidateKind, Episode, ExtractError, Extractor, LlmConfig, LlmExtractor};
use memory_core::{MemoryId, Timestamp};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 server: one request per connection, answers from a script (the last answer
// repeats), every request captured.

#[derive(Clone)]
struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

impl Reply {
    fn ok(body: String) -> Self {
        Reply { status: 200, body, delay: Duration::ZERO }
    }

    fn status(status: u16, body: &str) -> Self {
        Reply { status, body: body.to_owned(), delay: Duration::ZERO }
    }

    fn slow(delay: Duration) -> Self {
        Reply { delay, ..Reply::ok(completion(&json!({ "items": [] }).to_string())) }
    }
}

#[derive(Debug, Clone)]
struct Captured {
    request_line: String,
    headers: HashMap<String, String>,
    body: String,
}

impl Captured {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("the request body is JSON")
    }
}

struct Server {
    base_url: String,
    requests: Arc<Mutex<Vec<Captured>>>,
}

impl Server {
    fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let captured = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let (script, captured) = (Arc::clone(&script), Arc::clone(&captured));
                std::thread::spawn(move || handle(stream, &script, &captured));
            }
        });
        Server { base_url, requests }
    }

    fn requests(&self) -> Vec<Captured> {
        self.requests.lock().unwrap().clone()
    }

    fn config(&self) -> LlmConfig {
        let mut config = LlmConfig::new(&self.base_url, "test-model");
        config.timeout = Duration::from_secs(3);
        config.max_retries = 2;
        config
    }
}

fn handle(stream: TcpStream, script: &Mutex<VecDeque<Reply>>, captured: &Mutex<Vec<Captured>>) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut headers = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    let length = headers.get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body = String::from_utf8(body).unwrap();
    captured.lock().unwrap().push(Captured { request_line: request_line.trim().to_owned(), headers, body });
    let reply = {
        let mut script = script.lock().unwrap();
        if script.len() > 1 { script.pop_front().unwrap() } else { script.front().cloned().expect("a scripted reply") }
    };
    std::thread::sleep(reply.delay);
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {} Scripted\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        reply.status,
        reply.body.len(),
        reply.body
    );
    let _ = stream.flush();
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn completion(content: &str) -> String {
    completion_with(json!({ "role": "assistant", "content": content }), "stop")
}

fn completion_with(message: Value, finish_reason: &str) -> String {
    json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{ "index": 0, "message": message, "finish_reason": finish_reason }],
    })
    .to_string()
}

fn at(text: &str) -> Timestamp {
    Timestamp::parse_rfc3339(text).unwrap()
}

fn episode(role: &str, content: &str, when: &str) -> Episode {
    Episode {
        id: MemoryId::new_v7(),
        conversation: Some("c1".to_owned()),
        role: Some(role.to_owned()),
        content: content.to_owned(),
        at: at(when),
    }
}

fn episodes() -> Vec<Episode> {
    vec![
        episode("user", "I prefer tea over coffee, by the way.", "2026-05-08T12:00:00Z"),
        episode("assistant", "Noted, tea it is.", "2026-05-08T12:00:05Z"),
        episode("user", "I'm flying to Lisbon next Friday.", "2026-05-08T12:01:00Z"),
    ]
}

fn good_answer() -> String {
    json!({
        "items": [
            { "kind": "preference", "content": "  User prefers tea over coffee ", "confidence": 0.97, "slot": "Drink", "sources": ["e1", "e2"] },
            { "kind": "plan", "content": "User is flying to Lisbon on 2026-05-15", "confidence": 0.9, "slot": null, "sources": ["e3"] },
        ]
    })
    .to_string()
}

fn item(overrides: Value) -> String {
    let mut item =
        json!({ "kind": "fact", "content": "User has a cat", "confidence": 0.8, "slot": "pet", "sources": ["e1"] });
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() && k != "slot" {
            item.as_object_mut().unwrap().remove(k);
        } else {
            item[k] = v.clone();
        }
    }
    json!({ "items": [{ "kind": "rule", "content": "Always answer in English", "confidence": 1.0, "slot": null, "sources": ["e1"] }, item] })
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn a_good_answer_maps_to_candidates_with_their_sources() {
    let server = Server::start(vec![Reply::ok(completion(&good_answer()))]);
    let extractor = LlmExtractor::new(server.config()).unwrap();
    let episodes = episodes();

    let candidates = extractor.extract(&episodes).unwrap();

    assert_eq!(candidates.len(), 2);
    let tea = &candidates[0];
    assert_eq!(tea.kind, CandidateKind::Preference);
    assert_eq!(tea.content, "User prefers tea over coffee");
    assert_eq!(tea.confidence.value(), 0.97);
    assert_eq!(tea.slot.as_deref(), Some("drink"));
    assert_eq!(tea.sources, vec![episodes[0].id, episodes[1].id]);
    assert_eq!(tea.at, episodes[1].at, "the latest source's time");
    let trip = &candidates[1];
    assert_eq!(trip.kind, CandidateKind::Plan);
    assert_eq!(trip.content, "User is flying to Lisbon on 2026-05-15");
    assert_eq!(trip.confidence.value(), 0.9);
    assert_eq!(trip.slot, None);
    assert_eq!(trip.sources, vec![episodes[2].id]);
    assert_eq!(trip.at, episodes[2].at);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn the_request_carries_model_strict_schema_temperature_episodes_and_key() {
    let server = Server::start(vec![Reply::ok(completion(r#"{"items": []}"#))]);
    let mut config = server.config();
    config.api_key = Some("sk-test-key".to_owned());
    let extractor = LlmExtractor::new(config).unwrap();
    assert_eq!(extractor.name(), "llm:test-model");

    assert_eq!(extractor.extract(&episodes()).unwrap(), vec![]);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(request.headers.get("authorization").map(String::as_str), Some("Bearer sk-test-key"));
    assert!(request.headers.get("content-type").unwrap().starts_with("application/json"));
    let body = request.json();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["temperature"], 0);
    let format = &body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["strict"], true);
    assert!(format["json_schema"]["name"].as_str().is_some_and(|n| !n.is_empty()));
    let schema = &format["json_schema"]["schema"];
    assert_eq!(schema["required"], json!(["items"]));
    assert_eq!(schema["additionalProperties"], false);
    let item = &schema["properties"]["items"]["items"];
    assert_eq!(item["required"], json!(["kind", "content", "confidence", "slot", "sources"]));
    assert_eq!(item["additionalProperties"], false);
    assert_eq!(
        item["properties"]["kind"]["enum"],
        json!(["identity", "preference", "plan", "decision", "fact", "rule", "correction"])
    );
    assert_eq!(item["properties"]["slot"]["type"], json!(["string", "null"]));
    assert_eq!(item["properties"]["sources"]["items"]["enum"], json!(["e1", "e2", "e3"]));

    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages[0]["role"], "system");
    let system = messages[0]["content"].as_str().unwrap();
    for needle in ["durable", "third person", "relative dates", "correction", "identity"] {
        assert!(system.contains(needle), "the system prompt mentions {needle:?}");
    }
    assert_eq!(messages[1]["role"], "user");
    let user = messages[1]["content"].as_str().unwrap();
    let lines: Vec<Value> =
        user.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["id"], "e1");
    assert_eq!(lines[0]["role"], "user");
    assert_eq!(lines[0]["at"], "2026-05-08T12:00:00.000000Z");
    assert_eq!(lines[0]["content"], "I prefer tea over coffee, by the way.");
    assert_eq!(lines[1]["id"], "e2");
    assert_eq!(lines[1]["role"], "assistant");
    assert_eq!(lines[2]["id"], "e3");
    assert_eq!(lines[2]["at"], "2026-05-08T12:01:00.000000Z");
}

#[test]
fn no_authorization_header_without_a_key_and_no_request_for_no_episodes() {
    let server = Server::start(vec![Reply::ok(completion(r#"{"items": []}"#))]);
    let extractor = LlmExtractor::new(server.config()).unwrap();
    assert_eq!(extractor.extract(&[]).unwrap(), vec![]);
    assert!(server.requests().is_empty());

    extractor.extract(&episodes()).unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(!requests[0].headers.contains_key("authorization"));
}

#[test]
fn long_batches_are_split_and_labels_restart_per_request() {
    let first = json!({ "items": [{ "kind": "preference", "content": "User prefers tea", "confidence": 1.0, "slot": "drink", "sources": ["e1"] }] });
    let second = json!({ "items": [{ "kind": "plan", "content": "User flies to Lisbon on 2026-05-15", "confidence": 0.9, "slot": null, "sources": ["e1"] }] });
    let server =
        Server::start(vec![Reply::ok(completion(&first.to_string())), Reply::ok(completion(&second.to_string()))]);
    let mut config = server.config();
    config.max_episodes_per_request = 2;
    let episodes = episodes();

    let candidates = LlmExtractor::new(config).unwrap().extract(&episodes).unwrap();

    assert_eq!(candidates.len(), 2);
    assert_eq!(candidates[0].sources, vec![episodes[0].id]);
    assert_eq!(candidates[1].sources, vec![episodes[2].id], "e1 of the second request is the third episode");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let enum_of = |r: &Captured| {
        r.json()["response_format"]["json_schema"]["schema"]["properties"]["items"]["items"]["properties"]["sources"]
            ["items"]["enum"]
            .clone()
    };
    assert_eq!(enum_of(&requests[0]), json!(["e1", "e2"]));
    assert_eq!(enum_of(&requests[1]), json!(["e1"]));
}

#[test]
fn one_bad_request_rejects_the_whole_batch() {
    let good = json!({ "items": [{ "kind": "fact", "content": "User has a cat", "confidence": 1.0, "slot": null, "sources": ["e1"] }] });
    let server =
        Server::start(vec![Reply::ok(completion(&good.to_string())), Reply::ok(completion("not json at all"))]);
    let mut config = server.config();
    config.max_episodes_per_request = 2;
    let error = LlmExtractor::new(config).unwrap().extract(&episodes()).unwrap_err();
    assert!(matches!(error, ExtractError::InvalidOutput(_)), "{error:?}");
}

#[test]
fn invalid_answers_are_rejected_whole_naming_the_problem() {
    let oversize = "x".repeat(memory_core::MAX_CONTENT_BYTES + 1);
    let cases: Vec<(&str, String, &str)> = vec![
        ("non-JSON content", completion("Sure! Here are the memories: ..."), "not JSON"),
        ("truncated JSON", completion(r#"{"items": [{"kind": "fact", "content": "User has"#), "not JSON"),
        ("not an object", completion("[]"), "not a JSON object"),
        ("no items", completion("{}"), "no `items`"),
        ("missing field", completion(&item(json!({ "confidence": null }))), "items[1]: missing field `confidence`"),
        (
            "missing slot",
            completion(&item(json!({ "slot": "x" })).replace(r#""slot":"x","#, "")),
            "missing field `slot`",
        ),
        ("unknown kind", completion(&item(json!({ "kind": "opinion" }))), "items[1]: unknown kind \"opinion\""),
        (
            "unknown source",
            completion(&item(json!({ "sources": ["e1", "e9"] }))),
            "items[1]: source \"e9\" names no given episode",
        ),
        ("empty sources", completion(&item(json!({ "sources": [] }))), "items[1]: `sources` is empty"),
        (
            "confidence above 1",
            completion(&item(json!({ "confidence": 1.5 }))),
            "items[1]: `confidence` 1.5 is outside 0..=1",
        ),
        ("negative confidence", completion(&item(json!({ "confidence": -0.1 }))), "outside 0..=1"),
        ("confidence as text", completion(&item(json!({ "confidence": "high" }))), "`confidence` is not a number"),
        ("empty content", completion(&item(json!({ "content": "   " }))), "items[1]: `content` is empty"),
        ("oversize content", completion(&item(json!({ "content": oversize }))), "items[1]: `content` is 1048577 bytes"),
        ("extra field", completion(&item(json!({ "reason": "because" }))), "unexpected field \"reason\""),
        (
            "cut off",
            completion_with(json!({ "role": "assistant", "content": r#"{"items": []}"# }), "length"),
            "cut off",
        ),
        (
            "refusal",
            completion_with(
                json!({ "role": "assistant", "content": null, "refusal": "I can't help with that." }),
                "stop",
            ),
            "refused",
        ),
        ("no content", completion_with(json!({ "role": "assistant", "content": null }), "stop"), "no content"),
        ("no choices", json!({ "choices": [] }).to_string(), "no choices"),
        ("not a completion", "<html>gateway</html>".to_owned(), "not a chat completion"),
    ];
    for (name, body, expected) in cases {
        let server = Server::start(vec![Reply::ok(body)]);
        let result = LlmExtractor::new(server.config()).unwrap().extract(&episodes());
        match result {
            Err(ExtractError::InvalidOutput(message)) => {
                assert!(message.contains(expected), "{name}: {message:?} should mention {expected:?}")
            }
            other => panic!("{name}: expected InvalidOutput, got {other:?}"),
        }
        assert_eq!(server.requests().len(), 1, "{name}: invalid output is not retried");
    }
}

#[test]
fn a_slow_server_is_retried_then_unavailable() {
    let server = Server::start(vec![Reply::slow(Duration::from_millis(1500))]);
    let mut config = server.config();
    config.timeout = Duration::from_millis(300);
    config.max_retries = 1;
    let started = Instant::now();

    let error = LlmExtractor::new(config).unwrap().extract(&episodes()).unwrap_err();

    let ExtractError::Unavailable(message) = &error else { panic!("expected Unavailable, got {error:?}") };
    assert!(message.contains("did not answer within 300ms"), "{message}");
    assert!(message.contains("gave up after 2 attempt(s)"), "{message}");
    assert_eq!(server.requests().len(), 2, "one retry");
    assert!(started.elapsed() < Duration::from_millis(1400), "gave up after {:?}", started.elapsed());
}

#[test]
fn a_503_or_429_then_an_answer_succeeds_on_retry() {
    let server = Server::start(vec![
        Reply::status(503, r#"{"error": "overloaded"}"#),
        Reply::status(429, r#"{"error": "slow down"}"#),
        Reply::ok(completion(&good_answer())),
    ]);
    let candidates = LlmExtractor::new(server.config()).unwrap().extract(&episodes()).unwrap();
    assert_eq!(candidates.len(), 2);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn server_errors_give_up_after_the_retries() {
    let server = Server::start(vec![Reply::status(500, "boom")]);
    let error = LlmExtractor::new(server.config()).unwrap().extract(&episodes()).unwrap_err();
    let ExtractError::Unavailable(message) = &error else { panic!("expected Unavailable, got {error:?}") };
    assert!(message.contains("answered 500: boom"), "{message}");
    assert!(message.contains("gave up after 3 attempt(s)"), "{message}");
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn a_401_is_not_retried_and_never_shows_the_key() {
    let body =
        r#"{"error": {"message": "Incorrect API key provided: sk-secret-123", "type": "invalid_request_error"}}"#;
    let server = Server::start(vec![Reply::status(401, body), Reply::ok(completion(&good_answer()))]);
    let mut config = server.config();
    config.api_key = Some("sk-secret-123".to_owned());

    let error = LlmExtractor::new(config).unwrap().extract(&episodes()).unwrap_err();

    let ExtractError::Unavailable(message) = &error else { panic!("expected Unavailable, got {error:?}") };
    assert!(message.contains("401"), "{message}");
    assert!(message.contains("Incorrect API key provided"), "{message}");
    assert!(!message.contains("sk-secret-123"), "{message}");
    assert_eq!(server.requests().len(), 1, "a 401 is not retried");

    // A key straddling the excerpt's cut is not shown in part either.
    let body = format!("{}sk-secret-123 {}", "x".repeat(295), "y".repeat(100));
    let server = Server::start(vec![Reply::status(403, &body)]);
    let mut config = server.config();
    config.api_key = Some("sk-secret-123".to_owned());
    let error = LlmExtractor::new(config).unwrap().extract(&episodes()).unwrap_err();
    assert!(!error.to_string().contains("sk-sec"), "{error}");
}

#[test]
fn an_unreachable_endpoint_is_unavailable() {
    // Bind then drop: nothing listens on the port any more.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut config = LlmConfig::new(format!("http://127.0.0.1:{port}/v1"), "m");
    config.max_retries = 1;
    let error = LlmExtractor::new(config).unwrap().extract(&episodes()).unwrap_err();
    let ExtractError::Unavailable(message) = &error else { panic!("expected Unavailable, got {error:?}") };
    assert!(message.contains("gave up after 2 attempt(s)"), "{message}");
}

#[test]
fn configs_are_validated() {
    let bad = |f: fn(&mut LlmConfig)| {
        let mut config = LlmConfig::new("http://127.0.0.1:9/v1", "m");
        f(&mut config);
        match LlmExtractor::new(config) {
            Err(ExtractError::Config(message)) => message,
            other => panic!("expected a Config error, got {other:?}"),
        }
    };
    assert!(bad(|c| c.base_url = "127.0.0.1:9/v1".into()).contains("http:// or https://"));
    assert!(bad(|c| c.base_url = "ftp://host/v1".into()).contains("http:// or https://"));
    assert!(bad(|c| c.base_url = "http:///v1".into()).contains("no valid host"));
    assert!(bad(|c| c.model = " ".into()).contains("model"));
    assert!(bad(|c| c.timeout = Duration::ZERO).contains("timeout"));
    assert!(bad(|c| c.max_episodes_per_request = 0).contains("episode"));
    let message = bad(|c| c.api_key = Some("sk-secret\nX-Evil: 1".into()));
    assert!(message.contains("API key") && !message.contains("sk-secret"), "{message}");

    let config = LlmConfig::new("https://api.example.com/v1/", "m");
    assert_eq!(config.endpoint(), "https://api.example.com/v1/chat/completions");
    assert_eq!(config.timeout, Duration::from_secs(30));
    assert_eq!(config.max_retries, 2);
    assert_eq!(config.max_episodes_per_request, 50);
    assert_eq!(config.api_key, None);

    let mut config = config;
    config.api_key = Some("sk-hidden".to_owned());
    let shown = format!("{:?}", LlmExtractor::new(config).unwrap());
    assert!(!shown.contains("sk-hidden") && shown.contains("<redacted>"), "{shown}");
}

fn from_vars(vars: &[(&str, &str)]) -> Result<Option<LlmConfig>, ExtractError> {
    let vars: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    LlmConfig::from_lookup(|name| vars.get(name).cloned())
}

fn config_error(vars: &[(&str, &str)]) -> String {
    match from_vars(vars) {
        Err(ExtractError::Config(message)) => message,
        other => panic!("expected a Config error for {vars:?}, got {other:?}"),
    }
}

#[test]
fn config_from_the_environment() {
    const URL: &str = "MEMORY_LLM_BASE_URL";
    const MODEL: &str = "MEMORY_LLM_MODEL";

    assert_eq!(from_vars(&[]).unwrap(), None);
    assert_eq!(from_vars(&[(URL, "  "), (MODEL, "")]).unwrap(), None, "blank counts as unset");
    assert_eq!(from_vars(&[("OPENAI_API_KEY", "sk-x")]).unwrap(), None, "a key alone configures nothing");

    let config = from_vars(&[(URL, "http://127.0.0.1:8080/v1"), (MODEL, "qwen3")]).unwrap().unwrap();
    assert_eq!(config, LlmConfig::new("http://127.0.0.1:8080/v1", "qwen3"));

    let config = from_vars(&[
        (URL, " https://api.openai.com/v1 "),
        (MODEL, "gpt-4o-mini"),
        ("OPENAI_API_KEY", "sk-openai"),
        ("MEMORY_LLM_TIMEOUT_MS", "1500"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(config.base_url, "https://api.openai.com/v1");
    assert_eq!(config.model, "gpt-4o-mini");
    assert_eq!(config.api_key.as_deref(), Some("sk-openai"), "falls back to OPENAI_API_KEY");
    assert_eq!(config.timeout, Duration::from_millis(1500));

    let config = from_vars(&[
        (URL, "http://h/v1"),
        (MODEL, "m"),
        ("MEMORY_LLM_API_KEY", "sk-memory"),
        ("OPENAI_API_KEY", "sk-openai"),
    ])
    .unwrap()
    .unwrap();
    assert_eq!(config.api_key.as_deref(), Some("sk-memory"), "MEMORY_LLM_API_KEY wins");

    assert!(config_error(&[(URL, "http://h/v1")]).contains(MODEL));
    assert!(config_error(&[(MODEL, "m")]).contains(URL));
    for timeout in ["abc", "0", "-5", "1.5"] {
        let message = config_error(&[(URL, "http://h/v1"), (MODEL, "m"), ("MEMORY_LLM_TIMEOUT_MS", timeout)]);
        assert!(message.contains("MEMORY_LLM_TIMEOUT_MS"), "{timeout}: {message}");
    }
    let message = config_error(&[(URL, "localhost:8080/v1"), (MODEL, "m")]);
    assert!(message.contains(URL) && message.contains("http://"), "{message}");
}
