//! The OpenAI-compatible embedder against a mock server on 127.0.0.1: success, batching,
//! retries, error messages, timeouts, and that the key never shows in `Debug`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use memory_core::ErrorKind;
use memory_embed::{Embedder, OpenAiConfig, OpenAiEmbedder};
use serde_json::{Value, json};

use crate::contract::check_contract;

/// What the mock answers: status, body, and how long to wait before answering.
struct Reply {
    status: u16,
    body: String,
    delay: Duration,
    /// Extra header lines, each ending in `\r\n`.
    headers: String,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Reply { status: 200, body: body.to_string(), delay: Duration::ZERO, headers: String::new() }
    }
    fn status(status: u16, body: &str) -> Self {
        Reply { status, body: body.to_owned(), delay: Duration::ZERO, headers: String::new() }
    }
}

/// One request the mock received.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    authorization: Option<String>,
    body: Value,
}

/// A one-thread HTTP/1.1 server on an ephemeral loopback port. It serves at most `limit`
/// requests and gives up after 20 s, so it never outlives a test run.
struct MockServer {
    base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl MockServer {
    fn start(limit: usize, reply: impl Fn(usize, &Value) -> Reply + Send + 'static) -> MockServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut served = 0;
            while served < limit && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        if let Some(request) = read_request(&stream) {
                            let answer = reply(served, &request.body);
                            log.lock().unwrap().push(request);
                            served += 1;
                            thread::sleep(answer.delay);
                            write_reply(stream, &answer);
                        }
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        MockServer { base_url, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1)?.to_owned();
    let (mut length, mut authorization) = (0, None);
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "authorization" => authorization = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Seen { path, authorization, body: serde_json::from_slice(&body).unwrap_or(Value::Null) })
}

fn write_reply(mut stream: TcpStream, reply: &Reply) {
    let head = format!(
        "HTTP/1.1 {} Mock\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n",
        reply.status,
        reply.body.len(),
        reply.headers
    );
    // The client may have given up already (timeout test); that is fine.
    let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(reply.body.as_bytes()));
}

/// The vector the mock gives a text: unnormalized and text-dependent, so order and
/// re-normalization are checkable.
fn fake_vector(text: &str, dim: usize) -> Vec<f32> {
    (0..dim).map(|i| ((text.len() * (i + 1)) % 7) as f32 + 1.0).collect()
}

/// Answers every request like an embeddings endpoint, listing `data` in reverse to prove the
/// client orders by `index`.
fn embeddings_reply(body: &Value, dim: usize) -> Reply {
    let inputs: Vec<&str> = body["input"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .rev()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": fake_vector(t, dim)}))
        .collect();
    Reply::ok(json!({"object": "list", "data": data, "model": body["model"]}))
}

fn config(server: &MockServer) -> OpenAiConfig {
    OpenAiConfig {
        api_key_env: None,
        timeout: Duration::from_secs(5),
        max_retries: 0,
        ..OpenAiConfig::new(server.base_url.clone(), "mock-model")
    }
}

fn inputs(seen: &Seen) -> Vec<String> {
    seen.body["input"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn learns_the_dimension_and_keeps_the_contract() {
    let server = MockServer::start(100, |_, body| embeddings_reply(body, 5));
    let embedder = OpenAiEmbedder::new(config(&server)).unwrap();
    assert_eq!(embedder.dimension(), 5);
    assert_eq!(embedder.model_id(), format!("openai:mock-model@{}", server.base_url));
    let v = embedder.embed(&["one", "three"]).unwrap();
    let expected: Vec<f32> = {
        let raw = fake_vector("three", 5);
        let norm = raw.iter().map(|x| x * x).sum::<f32>().sqrt();
        raw.iter().map(|x| x / norm).collect()
    };
    crate::contract::assert_vectors_close(&v[1], &expected, "re-normalized, in input order");
    check_contract(&embedder);

    let seen = server.seen();
    assert_eq!(seen[0].path, "/v1/embeddings");
    assert_eq!(inputs(&seen[0]), ["dimension probe"]);
    assert_eq!(seen[1].body, json!({"model": "mock-model", "input": ["one", "three"]}));
    assert_eq!(seen[1].authorization, None);
}

#[test]
fn batches_and_skips_blank_texts() {
    let server = MockServer::start(10, |_, body| embeddings_reply(body, 3));
    let embedder = OpenAiEmbedder::new(OpenAiConfig { dimension: Some(3), batch_size: 2, ..config(&server) }).unwrap();
    let v = embedder.embed(&["a", "bb", "", "ccc", "dddd", "  ", "eeeee"]).unwrap();
    assert_eq!(v.len(), 7);
    assert_eq!(v[2], vec![0.0; 3]);
    let batches: Vec<Vec<String>> = server.seen().iter().map(inputs).collect();
    assert_eq!(batches, [vec!["a", "bb"], vec!["ccc", "dddd"], vec!["eeeee"]]);
}

#[test]
fn retries_a_server_error_then_succeeds() {
    let server = MockServer::start(10, |n, body| {
        if n == 0 { Reply::status(500, "{\"error\": \"overloaded\"}") } else { embeddings_reply(body, 3) }
    });
    let embedder = OpenAiEmbedder::new(OpenAiConfig { dimension: Some(3), max_retries: 2, ..config(&server) }).unwrap();
    let v = embedder.embed(&["hello"]).unwrap();
    assert_eq!(v[0].len(), 3);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn gives_up_after_the_configured_retries() {
    let server = MockServer::start(10, |_, _| Reply::status(503, "try later"));
    let embedder = OpenAiEmbedder::new(OpenAiConfig { dimension: Some(3), max_retries: 1, ..config(&server) }).unwrap();
    let err = embedder.embed(&["hello"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(
        err.to_string(),
        format!(
            "embedding endpoint {}/v1/embeddings answered 503: try later (gave up after 2 attempt(s))",
            server.base_url
        )
    );
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn honours_retry_after_unless_it_is_too_long() {
    let rate_limited =
        |after: &str| Reply { headers: format!("Retry-After: {after}\r\n"), ..Reply::status(429, "slow down") };
    let server =
        MockServer::start(10, move |n, body| if n == 0 { rate_limited("0.6") } else { embeddings_reply(body, 3) });
    let embedder = OpenAiEmbedder::new(OpenAiConfig { dimension: Some(3), max_retries: 1, ..config(&server) }).unwrap();
    let started = Instant::now();
    embedder.embed(&["hello"]).unwrap();
    // The first backoff would be 250 ms; only honouring the header waits this long.
    assert!(started.elapsed() >= Duration::from_millis(600), "waited {:?}, not the 600 ms asked", started.elapsed());

    let server = MockServer::start(10, move |_, _| rate_limited("3600"));
    let embedder = OpenAiEmbedder::new(OpenAiConfig { dimension: Some(3), max_retries: 3, ..config(&server) }).unwrap();
    let err = embedder.embed(&["hello"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().ends_with("answered 429: slow down (asked to retry after 3600s)"), "{err}");
    assert_eq!(server.seen().len(), 1);
}

#[test]
fn a_rejected_request_fails_at_once_with_status_and_body() {
    let server = MockServer::start(10, |_, _| {
        Reply::status(400, "{\"error\": {\"message\": \"model `mock-model` does not exist\"}}")
    });
    let err = OpenAiEmbedder::new(OpenAiConfig { max_retries: 3, ..config(&server) }).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    let message = err.to_string();
    assert!(message.contains("answered 400"), "{message}");
    assert!(message.contains("model `mock-model` does not exist"), "{message}");
    assert_eq!(server.seen().len(), 1, "4xx is not retried");
}

#[test]
fn unauthorized_says_the_key_variable_is_unset() {
    let server = MockServer::start(10, |_, _| Reply::status(401, "{\"error\": \"no key\"}"));
    let cfg = OpenAiConfig { api_key_env: Some("MEMORY_EMBED_TEST_UNSET_KEY".into()), ..config(&server) };
    let err = OpenAiEmbedder::new(cfg).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.to_string().ends_with("(no API key sent: MEMORY_EMBED_TEST_UNSET_KEY is unset)"), "{err}");
}

#[test]
fn a_slow_server_times_out() {
    let server =
        MockServer::start(10, |_, body| Reply { delay: Duration::from_millis(1500), ..embeddings_reply(body, 3) });
    let embedder = OpenAiEmbedder::new(OpenAiConfig {
        dimension: Some(3),
        timeout: Duration::from_millis(200),
        ..config(&server)
    })
    .unwrap();
    let started = Instant::now();
    let err = embedder.embed(&["hello"]).unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(1200), "took {:?}", started.elapsed());
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("did not answer within 200ms"), "{err}");
}

#[test]
fn an_unreachable_endpoint_is_unavailable() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // The listener is dropped, so nothing listens on the port any more.
    let cfg = OpenAiConfig {
        dimension: Some(3),
        api_key_env: None,
        max_retries: 0,
        ..OpenAiConfig::new(format!("http://127.0.0.1:{port}"), "m")
    };
    let err = OpenAiEmbedder::new(cfg).unwrap().embed(&["hello"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().starts_with(&format!("cannot reach embedding endpoint http://127.0.0.1:{port}")), "{err}");
}

#[test]
fn malformed_answers_are_reported() {
    let server = MockServer::start(10, |n, _| match n {
        0 => Reply::ok(json!({"data": []})),
        _ => Reply::ok(json!({"data": [{"index": 0, "embedding": [1.0, 2.0]}]})),
    });
    let embedder = OpenAiEmbedder::new(OpenAiConfig { dimension: Some(3), ..config(&server) }).unwrap();
    let err = embedder.embed(&["x"]).unwrap_err();
    assert!(err.to_string().ends_with("sent 0 embeddings for 1 inputs"), "{err}");
    let err = embedder.embed(&["x"]).unwrap_err();
    assert!(err.to_string().ends_with("sent a vector of 2 floats where 3 were expected"), "{err}");
}

/// The key goes out as a bearer token but never shows in `Debug`. Cargo sets `CARGO_PKG_NAME`
/// for test runs, which stands in for a key variable (tests cannot set variables safely).
#[test]
fn sends_the_key_and_hides_it_from_debug() {
    let Ok(key) = std::env::var("CARGO_PKG_NAME") else {
        eprintln!("skipped: CARGO_PKG_NAME is unset (not run through cargo)");
        return;
    };
    let server = MockServer::start(10, |_, body| embeddings_reply(body, 3));
    let cfg = OpenAiConfig { api_key_env: Some("CARGO_PKG_NAME".into()), dimension: Some(3), ..config(&server) };
    let embedder = OpenAiEmbedder::new(cfg).unwrap();
    embedder.embed(&["x"]).unwrap();
    assert_eq!(server.seen()[0].authorization, Some(format!("Bearer {key}")));
    let debug = format!("{embedder:?}");
    assert!(!debug.contains(&key), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
}
