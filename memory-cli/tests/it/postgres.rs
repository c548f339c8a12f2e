//! Two `memory serve` processes on one PostgreSQL database (`MEMORY_TEST_PG_URL`), each with a
//! home (configuration, derived index) of its own: one takes thousands of writes over HTTP
//! while the other recalls; every write becomes visible to the other within a second, an
//! archive through one is honoured by the other within a second, and two principals never see
//! each other's memories through either.
//!
//! Without `MEMORY_TEST_PG_URL` the test skips (under `CI=true` it fails). Its size is
//! `MEMORY_TEST_PG_PROCESS_WRITES` writes: 1,000 by default, 10,000 under `CI=true`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use memory_store_postgres::testing::TestSchema;
use serde_json::{Value, json};

use super::Home;

/// How many writes the load sends (default: [`LOCAL_WRITES`], or [`CI_WRITES`] under CI).
const WRITES_VAR: &str = "MEMORY_TEST_PG_PROCESS_WRITES";
const LOCAL_WRITES: usize = 1_000;
const CI_WRITES: usize = 10_000;
/// Writes in flight at once.
const IN_FLIGHT: usize = 8;
/// Threads that watch sampled writes appear on the other server.
const WATCHERS: usize = 4;
/// Threads that check the other principal cannot find the watched writes.
const INTRUDERS: usize = 2;
/// About this many writes are watched (plus the last one).
const SAMPLES: usize = 200;
/// The bound the issue sets on cross-process visibility (writes and archives).
const WITHIN: Duration = Duration::from_secs(1);
/// How long a watcher keeps looking before it records a write as never seen.
const GIVE_UP: Duration = Duration::from_secs(10);
/// Pause between two looks.
const POLL: Duration = Duration::from_millis(5);

/// The namespaces the load spreads over: key, owner, and a word only its memories contain.
const SPACES: [(&str, &str, &str); 4] = [
    ("team-a", "alice", "falcon"),
    ("team-a-notes", "alice", "quokka"),
    ("team-b", "bob", "walrus"),
    ("team-b-notes", "bob", "ibis"),
];
/// The namespace archived after the load (alice's).
const ARCHIVED: &str = "team-a-notes";

/// Both homes: each principal alone in the namespaces of their team; no rate limit (the load
/// is the point) and no scheduled maintenance (it would add memories the test does not expect).
const CONFIG: &str = r#"
[[namespaces.policies]]
name = "team-a"
read = ["alice"]
write = ["alice"]

[[namespaces.policies]]
name = "team-a-notes"
read = ["alice"]
write = ["alice"]

[[namespaces.policies]]
name = "team-b"
read = ["bob"]
write = ["bob"]

[[namespaces.policies]]
name = "team-b-notes"
read = ["bob"]
write = ["bob"]

[server]
rate_per_second = 0
maintenance_interval_secs = 0
"#;

fn writes() -> usize {
    match std::env::var(WRITES_VAR) {
        Ok(raw) if !raw.trim().is_empty() => {
            raw.trim().parse().unwrap_or_else(|_| panic!("{WRITES_VAR}: expected a whole number, got {raw:?}"))
        }
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => CI_WRITES,
        _ => LOCAL_WRITES,
    }
}

/// `url` with the store's tables in `schema` (the driver sends `options` at connect).
fn url_in_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

/// A fresh schema on the test server (created and migrated), dropped when the value is dropped.
fn fresh_schema() -> Option<TestSchema> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (store, schema) = TestSchema::store().await?;
        store.pool().close().await;
        Some(schema)
    })
}

/// A running `memory serve`: killed (and reaped) when dropped, so a failing test leaves no
/// process behind.
struct Server {
    name: &'static str,
    child: Child,
    url: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `memory serve` on `home` and the database `database` (given by `--database-url`,
    /// or by `MEMORY_DATABASE_URL` when `via_env`), and waits until it listens.
    fn start(name: &'static str, home: &Home, database: &str, via_env: bool) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_memory"));
        command.args(["serve", "--addr", "127.0.0.1:0", "--home", &home.path(), "--embedder", "hash"]);
        for var in ["MEMORY_HOME", "MEMORY_PRINCIPAL", "MEMORY_URL", "MEMORY_KEY", "MEMORY_RATE_PER_SECOND"] {
            command.env_remove(var);
        }
        if via_env {
            command.env("MEMORY_DATABASE_URL", database);
        } else {
            command.env_remove("MEMORY_DATABASE_URL").args(["--database-url", database]);
        }
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let out = BufReader::new(child.stdout.take().unwrap());
        let lines = stdout.clone();
        std::thread::spawn(move || out.lines().map_while(Result::ok).for_each(|l| lines.lock().unwrap().push(l)));
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        let url = loop {
            line.clear();
            if err.read_line(&mut line).unwrap() == 0 {
                let status = child.wait().unwrap();
                panic!("memory serve {name} ended before listening ({status}): {:?}", stderr.lock().unwrap());
            }
            stderr.lock().unwrap().push(line.trim_end().to_owned());
            if let Some(rest) = line.split("listening on ").nth(1) {
                assert!(line.contains("store postgres"), "{name} does not use PostgreSQL: {line}");
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        let lines = stderr.clone();
        std::thread::spawn(move || err.lines().map_while(Result::ok).for_each(|l| lines.lock().unwrap().push(l)));
        Server { name, child, url, stdout, stderr }
    }

    /// The admin key this server printed on stdout (it does so before it listens).
    fn printed_admin_key(&self) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let printed =
                self.stdout.lock().unwrap().iter().find_map(|l| {
                    l.strip_prefix("admin key (shown once; keep it safe): ").map(|k| k.trim().to_owned())
                });
            if printed.is_some() || Instant::now() > deadline {
                return printed;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Stops the server with SIGTERM and returns its exit code (-1: killed after 60 s).
    fn terminate(&mut self) -> i32 {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return -1;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            let log = self.stderr.lock().map(|l| l.join("\n")).unwrap_or_default();
            eprintln!("--- stderr of memory serve {} ---\n{log}", self.name);
        }
    }
}

/// An HTTP client (one per thread: it keeps its connections).
struct Api {
    agent: ureq::Agent,
}

impl Api {
    fn new() -> Api {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .max_idle_connections_per_host(4)
            .build();
        Api { agent: config.new_agent() }
    }

    fn call(&self, method: &str, url: &str, key: &str, body: Option<&Value>) -> (u16, Value) {
        let request =
            ureq::http::Request::builder().method(method).uri(url).header("authorization", format!("Bearer {key}"));
        let mut response = match body {
            Some(b) => self.agent.run(request.header("content-type", "application/json").body(b.to_string()).unwrap()),
            None => self.agent.run(request.body(()).unwrap()),
        }
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn post(&self, url: &str, key: &str, body: &Value) -> (u16, Value) {
        self.call("POST", url, key, Some(body))
    }

    fn get(&self, url: &str, key: &str) -> (u16, Value) {
        self.call("GET", url, key, None)
    }

    /// A recall through `server` (no `namespaces`: the default read set): the status and the
    /// (id, namespace) of every result.
    fn recall(&self, server: &Server, key: &str, query: &str, namespaces: &[&str]) -> (u16, Vec<(String, String)>) {
        let mut body = json!({ "query": query, "limit": 20 });
        if !namespaces.is_empty() {
            body["namespaces"] = json!(namespaces);
        }
        let (status, answer) = self.post(&server.at("/v1/recall"), key, &body);
        if status != 200 {
            return (status, Vec::new());
        }
        let results = answer["results"].as_array().unwrap_or_else(|| panic!("not a recall: {answer}"));
        let found = results
            .iter()
            .map(|r| {
                (r["memory"]["id"].as_str().unwrap().to_owned(), r["memory"]["namespace"].as_str().unwrap().to_owned())
            })
            .collect();
        (status, found)
    }
}

/// The keys the test acts with.
struct Keys {
    admin: String,
    by_principal: BTreeMap<&'static str, String>,
}

impl Keys {
    fn of(&self, principal: &str) -> &str {
        &self.by_principal[principal]
    }
}

/// One acknowledged write.
#[derive(Debug, Clone)]
struct Written {
    index: usize,
    space: usize,
    id: String,
    /// When the writing server acknowledged it.
    acked: Instant,
}

impl Written {
    fn namespace(&self) -> &'static str {
        SPACES[self.space].0
    }

    fn owner(&self) -> &'static str {
        SPACES[self.space].1
    }
}

/// The word only memory `index` contains.
fn token(index: usize) -> String {
    format!("w{index:06}")
}

fn content(index: usize, space: usize) -> String {
    let (ns, owner, topic) = SPACES[space];
    format!("{owner} {topic} note {index}: {} filed under {ns}", token(index))
}

/// The other principal.
fn other(principal: &str) -> &'static str {
    if principal == "alice" { "bob" } else { "alice" }
}

fn namespaces_of(principal: &str) -> Vec<&'static str> {
    SPACES.iter().filter(|s| s.1 == principal).map(|s| s.0).collect()
}

/// `(median, p95, max)` of `delays`.
fn spread(delays: &[Duration]) -> (Duration, Duration, Duration) {
    let mut sorted = delays.to_vec();
    sorted.sort_unstable();
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95), at(1.0))
}

/// Whether a read of another principal's namespace was refused (403/404) or found nothing.
fn refused_or_empty(status: u16, found: &[(String, String)]) -> bool {
    matches!(status, 403 | 404) || (status == 200 && found.is_empty())
}

#[test]
fn two_servers_on_one_database_see_each_others_writes_and_archives_and_keep_principals_apart() {
    let Some(schema) = fresh_schema() else { return };
    let database = url_in_schema(schema.url(), schema.name());
    let total = writes();
    let started = Instant::now();

    // Two servers, two homes, one database; the second is told where it is by the environment.
    let (home_a, home_b) = (Home::with_config(CONFIG), Home::with_config(CONFIG));
    let mut a = Server::start("A", &home_a, &database, false);
    let admin = a.printed_admin_key().expect("the first server on a fresh database prints an admin key");
    let mut b = Server::start("B", &home_b, &database, true);
    let api = Api::new();
    let keys = setup(&api, &a, &b, admin);

    // The load: writes through A, watched through B.
    let load = run_load(&a, &b, &keys, total);
    let written = &load.written;
    assert_eq!(written.len(), total);
    let (write_median, write_p95, write_max) = spread(&load.write_latencies);
    let (median, p95, max) = spread(&load.delays);
    let late: Vec<String> =
        load.late.iter().map(|(w, d)| format!("write {} ({}) after {d:?}", w.index, w.namespace())).collect();
    assert!(load.late.is_empty(), "writes through A not visible through B within {WITHIN:?}: {late:?}");
    assert!(max <= WITHIN, "visibility delay {max:?} exceeds {WITHIN:?}");

    // Nothing was lost: B lists exactly what A acknowledged, namespace by namespace.
    for (space, (ns, owner, _)) in SPACES.iter().enumerate() {
        let expected: BTreeSet<&str> = written.iter().filter(|w| w.space == space).map(|w| w.id.as_str()).collect();
        let listed = list_ids(&api, &b, keys.of(owner), ns);
        assert_eq!(
            listed.len(),
            expected.len(),
            "B lists {} memories of {ns}, A acknowledged {}",
            listed.len(),
            expected.len()
        );
        assert!(listed.iter().all(|id| expected.contains(id.as_str())), "B lists memories of {ns} A never wrote");
    }

    // The other way round: writes through B are visible through A within the bound.
    let reverse = reverse_writes(&api, &a, &b, &keys, total);

    // Isolation after the load, through both servers.
    for server in [&a, &b] {
        for principal in ["alice", "bob"] {
            assert_isolated(&api, server, &keys, principal, written);
        }
    }

    // An archive through A is honoured by B within the bound.
    let archive_delay = archive_through_a(&api, &a, &b, &keys, written);

    // B never printed an admin key: the database already had one.
    assert!(b.stdout.lock().unwrap().iter().all(|l| !l.contains("admin key")), "B printed an admin key");
    assert_eq!(a.terminate(), 0, "A stops cleanly on SIGTERM");
    assert_eq!(b.terminate(), 0, "B stops cleanly on SIGTERM");

    let seconds = load.elapsed.as_secs_f64();
    println!(
        "{total} writes through A ({IN_FLIGHT} in flight) in {seconds:.1} s ({:.0}/s; write latency median {write_median:?}, \
         p95 {write_p95:?}, max {write_max:?}); {} watched through B: visible after median {median:?}, p95 {p95:?}, \
         max {max:?} (watchers picked a write up {:?} after its ack at most); writes through B visible through A \
         after at most {reverse:?}; archive through A honoured by B after {archive_delay:?}; whole test {:.1} s",
        total as f64 / seconds,
        load.delays.len(),
        load.max_pickup,
        started.elapsed().as_secs_f64(),
    );
}

/// Namespaces and keys: alice's key issued through A, bob's through B (keys live in the
/// database, so every key works on both servers).
fn setup(api: &Api, a: &Server, b: &Server, admin: String) -> Keys {
    for (i, (ns, ..)) in SPACES.iter().enumerate() {
        let server = if i < 2 { a } else { b };
        let (status, created) = api.post(&server.at("/v1/namespaces"), &admin, &json!({ "key": ns }));
        assert_eq!(status, 201, "creating {ns} through {}: {created}", server.name);
    }
    let mut by_principal = BTreeMap::new();
    for (principal, server) in [("alice", a), ("bob", b)] {
        let scopes: Vec<Value> = namespaces_of(principal)
            .iter()
            .map(|ns| json!({ "namespace": ns, "permissions": ["read", "write"] }))
            .collect();
        let body =
            json!({ "principal": principal, "scopes": scopes, "default_namespace": namespaces_of(principal)[0] });
        let (status, issued) = api.post(&server.at("/v1/keys"), &admin, &body);
        assert_eq!(status, 201, "issuing {principal}'s key through {}: {issued}", server.name);
        by_principal.insert(principal, issued["secret"].as_str().unwrap().to_owned());
    }
    // Each server knows the other's namespaces and keys at once.
    for server in [a, b] {
        let (status, list) = api.get(&server.at("/v1/namespaces"), &admin);
        assert_eq!(status, 200, "{list}");
        let listed: BTreeSet<&str> =
            list["namespaces"].as_array().unwrap().iter().filter_map(|n| n["key"].as_str()).collect();
        assert!(SPACES.iter().all(|s| listed.contains(s.0)), "{} lists {listed:?}", server.name);
        for (principal, key) in &by_principal {
            let (status, found) = api.recall(server, key, "anything", &namespaces_of(principal));
            assert_eq!((status, found.len()), (200, 0), "{principal}'s key through {}", server.name);
        }
    }
    Keys { admin, by_principal }
}

/// What the load measured.
struct Load {
    written: Vec<Written>,
    write_latencies: Vec<Duration>,
    elapsed: Duration,
    /// Ack-to-visible delays of the watched writes.
    delays: Vec<Duration>,
    /// Watched writes seen late (or never, after [`GIVE_UP`]).
    late: Vec<(Written, Duration)>,
    /// Longest wait between a watched write's ack and a watcher taking it up.
    max_pickup: Duration,
}

/// `total` writes through A, [`IN_FLIGHT`] at a time, round-robin over [`SPACES`], each as its
/// namespace's owner; every `total / SAMPLES`-th write and the last are watched through B by
/// [`WATCHERS`] threads; once seen, [`INTRUDERS`] threads check that the other principal finds
/// none of them (apart from the watchers, so the timing of the next watched write is not held up).
fn run_load(a: &Server, b: &Server, keys: &Keys, total: usize) -> Load {
    let every = (total / SAMPLES).max(1);
    let next = AtomicUsize::new(0);
    let (send, receive) = mpsc::channel::<Written>();
    let receive = Mutex::new(receive);
    let (seen, check) = mpsc::channel::<Written>();
    let check = Mutex::new(check);
    let begun = Instant::now();
    std::thread::scope(|scope| {
        let writers: Vec<_> = (0..IN_FLIGHT)
            .map(|_| {
                let (next, send) = (&next, send.clone());
                scope.spawn(move || {
                    let api = Api::new();
                    let (mut written, mut latencies) = (Vec::new(), Vec::new());
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        if index >= total {
                            break (written, latencies);
                        }
                        let space = index % SPACES.len();
                        let (ns, owner, _) = SPACES[space];
                        let body = json!({ "content": content(index, space), "namespace": ns });
                        let sent = Instant::now();
                        let (status, answer) = api.post(&a.at("/v1/memories"), keys.of(owner), &body);
                        let acked = Instant::now();
                        assert_eq!(status, 201, "write {index} through A: {answer}");
                        assert_eq!(answer["memory"]["namespace"], ns, "{answer}");
                        let id = answer["id"].as_str().unwrap().to_owned();
                        latencies.push(acked - sent);
                        let w = Written { index, space, id, acked };
                        if index.is_multiple_of(every) || index == total - 1 {
                            send.send(w.clone()).unwrap();
                        }
                        written.push(w);
                    }
                })
            })
            .collect();
        drop(send);
        let watchers: Vec<_> = (0..WATCHERS)
            .map(|_| {
                let (receive, seen) = (&receive, seen.clone());
                scope.spawn(move || {
                    let api = Api::new();
                    let mut watched = Vec::new();
                    loop {
                        let next = receive.lock().unwrap().recv();
                        let Ok(w) = next else { break watched };
                        let pickup = w.acked.elapsed();
                        let delay = watch(&api, b, keys, &w);
                        seen.send(w.clone()).unwrap();
                        watched.push((w, delay, pickup));
                    }
                })
            })
            .collect();
        drop(seen);
        let intruders: Vec<_> = (0..INTRUDERS)
            .map(|_| {
                let check = &check;
                scope.spawn(move || {
                    let api = Api::new();
                    loop {
                        let next = check.lock().unwrap().recv();
                        let Ok(w) = next else { break };
                        intrude(&api, a, b, keys, &w);
                    }
                })
            })
            .collect();
        let (mut written, mut write_latencies) = (Vec::new(), Vec::new());
        for writer in writers {
            let (w, l) = writer.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            written.extend(w);
            write_latencies.extend(l);
        }
        let elapsed = begun.elapsed();
        written.sort_by_key(|w| w.index);
        let (mut delays, mut late, mut max_pickup) = (Vec::new(), Vec::new(), Duration::ZERO);
        for watcher in watchers {
            for (w, delay, pickup) in watcher.join().unwrap_or_else(|e| std::panic::resume_unwind(e)) {
                delays.push(delay);
                max_pickup = max_pickup.max(pickup);
                if delay > WITHIN {
                    late.push((w, delay));
                }
            }
        }
        for intruder in intruders {
            intruder.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        }
        Load { written, write_latencies, elapsed, delays, late, max_pickup }
    })
}

/// Recalls the write's word through B as its owner until the write is among the results, and
/// returns how long after its ack that was ([`GIVE_UP`] and more: never).
fn watch(api: &Api, b: &Server, keys: &Keys, w: &Written) -> Duration {
    let word = token(w.index);
    loop {
        let (status, found) = api.recall(b, keys.of(w.owner()), &word, &[w.namespace()]);
        assert_eq!(status, 200, "{}'s recall of {} through B", w.owner(), w.namespace());
        let elapsed = w.acked.elapsed();
        if found.iter().any(|(id, _)| *id == w.id) {
            break elapsed;
        }
        if elapsed > GIVE_UP {
            break elapsed;
        }
        std::thread::sleep(POLL);
    }
}

/// The other principal finds nothing of a write (already visible) through either server, by
/// `["*"]` or by naming its namespace.
fn intrude(api: &Api, a: &Server, b: &Server, keys: &Keys, w: &Written) {
    let word = token(w.index);
    let intruder = other(w.owner());
    let allowed = namespaces_of(intruder);
    for server in [a, b] {
        let (status, found) = api.recall(server, keys.of(intruder), &word, &["*"]);
        assert_eq!(status, 200, "{intruder}'s recall of * through {}", server.name);
        assert!(
            found.iter().all(|(id, ns)| *id != w.id && allowed.contains(&ns.as_str())),
            "{intruder} recalled {found:?} through {} (write {} in {})",
            server.name,
            w.index,
            w.namespace()
        );
    }
    let server = if w.index.is_multiple_of(2) { a } else { b };
    let (status, found) = api.recall(server, keys.of(intruder), &word, &[w.namespace()]);
    assert!(
        refused_or_empty(status, &found),
        "{intruder} read {} through {}: {status} {found:?}",
        w.namespace(),
        server.name
    );
}

/// The ids of every memory of `ns` that `server` lists to `key`.
fn list_ids(api: &Api, server: &Server, key: &str, ns: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut url = server.at(&format!("/v1/memories?namespace={ns}&limit=1000"));
        if let Some(c) = &cursor {
            url.push_str(&format!("&cursor={c}"));
        }
        let (status, page) = api.get(&url, key);
        assert_eq!(status, 200, "listing {ns} through {}: {page}", server.name);
        ids.extend(page["memories"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return ids,
        }
    }
}

/// A few writes through B (one per namespace), each recalled through A by its owner; returns
/// the longest ack-to-visible delay, which must be within the bound.
fn reverse_writes(api: &Api, a: &Server, b: &Server, keys: &Keys, total: usize) -> Duration {
    let mut longest = Duration::ZERO;
    for (space, (ns, owner, _)) in SPACES.iter().enumerate() {
        let index = total + space;
        let body = json!({ "content": content(index, space), "namespace": ns });
        let (status, answer) = api.post(&b.at("/v1/memories"), keys.of(owner), &body);
        let acked = Instant::now();
        assert_eq!(status, 201, "write through B: {answer}");
        let id = answer["id"].as_str().unwrap().to_owned();
        let delay = loop {
            let (status, found) = api.recall(a, keys.of(owner), &token(index), &[ns]);
            assert_eq!(status, 200);
            if found.iter().any(|(f, _)| *f == id) {
                break acked.elapsed();
            }
            assert!(acked.elapsed() <= WITHIN, "a write through B into {ns} is not visible through A after {WITHIN:?}");
            std::thread::sleep(POLL);
        };
        assert!(delay <= WITHIN, "a write through B into {ns} became visible through A after {delay:?}");
        longest = longest.max(delay);
    }
    longest
}

/// Neither by `["*"]`, by the default read set, by naming them, by id, by listing nor by
/// writing does `principal` reach the other principal's namespaces through `server`.
fn assert_isolated(api: &Api, server: &Server, keys: &Keys, principal: &str, written: &[Written]) {
    let key = keys.of(principal);
    let own = namespaces_of(principal);
    let theirs = namespaces_of(other(principal));
    let at = server.name;
    for (ns, _, topic) in SPACES.iter().filter(|s| theirs.contains(&s.0)) {
        for namespaces in [&["*"][..], &[][..]] {
            let (status, found) = api.recall(server, key, topic, namespaces);
            assert_eq!(status, 200, "{principal}'s recall of {namespaces:?} through {at}");
            assert!(
                found.iter().all(|(_, n)| own.contains(&n.as_str())),
                "{principal} recalled {found:?} through {at} asking for {topic} in {namespaces:?}"
            );
        }
        let (status, found) = api.recall(server, key, topic, &[ns]);
        assert!(refused_or_empty(status, &found), "{principal} read {ns} through {at}: {status} {found:?}");
        let (status, found) = api.recall(server, key, topic, &[own[0], ns]);
        assert!(refused_or_empty(status, &found), "{principal} read {own:?} + {ns} through {at}: {status} {found:?}");
        let (status, page) = api.get(&server.at(&format!("/v1/memories?namespace={ns}")), key);
        assert!(matches!(status, 403 | 404), "{principal} listed {ns} through {at}: {status} {page}");
        let body = json!({ "content": format!("{principal} intrudes on {ns}"), "namespace": ns });
        let (status, answer) = api.post(&server.at("/v1/memories"), key, &body);
        assert!(matches!(status, 403 | 404), "{principal} wrote into {ns} through {at}: {status} {answer}");
    }
    for w in written.iter().filter(|w| w.owner() != principal).take(8) {
        let (status, m) = api.get(&server.at(&format!("/v1/memories/{}", w.id)), key);
        assert!(matches!(status, 403 | 404), "{principal} read {} of {} through {at}: {status} {m}", w.id, w.owner());
    }
    let (status, page) = api.get(&server.at("/v1/memories?limit=1000"), key);
    assert_eq!(status, 200, "{page}");
    for m in page["memories"].as_array().unwrap() {
        let ns = m["namespace"].as_str().unwrap();
        assert!(own.contains(&ns), "{principal} listed a memory of {ns} through {at}");
    }
}

/// Archives [`ARCHIVED`] through A; B must stop returning its memories, answer 404 for it and
/// refuse writes into it within the bound (A at once). Returns how long B took.
fn archive_through_a(api: &Api, a: &Server, b: &Server, keys: &Keys, written: &[Written]) -> Duration {
    let key = keys.of("alice");
    let topic = SPACES.iter().find(|s| s.0 == ARCHIVED).unwrap().2;
    let member = written.iter().find(|w| w.namespace() == ARCHIVED).expect("the load wrote into it");
    // Before: both servers return its memories, so the checks below are not vacuous.
    for server in [a, b] {
        let (status, found) = api.recall(server, key, topic, &["*"]);
        assert_eq!(status, 200);
        assert!(found.iter().any(|(_, ns)| ns == ARCHIVED), "{} returns nothing of {ARCHIVED}: {found:?}", server.name);
    }
    let (status, answer) = api.post(&a.at(&format!("/v1/namespaces/{ARCHIVED}/archive")), &keys.admin, &json!({}));
    let acked = Instant::now();
    assert_eq!((status, &answer["changed"]), (200, &json!(true)), "{answer}");

    let mut delays = Vec::new();
    for server in [a, b] {
        let delay = loop {
            // The store has the archive: a write into it must fail from now on, on any server.
            let body =
                json!({ "content": format!("late into {ARCHIVED} through {}", server.name), "namespace": ARCHIVED });
            let (write, answer) = api.post(&server.at("/v1/memories"), key, &body);
            assert!(
                !(200..300).contains(&write),
                "a write into archived {ARCHIVED} through {} succeeded: {answer}",
                server.name
            );
            let (all, found) = api.recall(server, key, topic, &["*"]);
            let (named, _) = api.recall(server, key, topic, &[ARCHIVED]);
            let (by_id, _) = api.get(&server.at(&format!("/v1/memories/{}", member.id)), key);
            let elapsed = acked.elapsed();
            let hidden = all == 200 && found.iter().all(|(_, ns)| ns != ARCHIVED);
            if hidden && write == 404 && named == 404 && by_id == 404 {
                break elapsed;
            }
            assert!(
                elapsed <= WITHIN,
                "{} still serves archived {ARCHIVED} after {elapsed:?}: write {write}, recall * {all} {found:?}, \
                 recall {ARCHIVED} {named}, get {by_id}",
                server.name
            );
            std::thread::sleep(POLL);
        };
        delays.push(delay);
    }
    // The rest of alice's namespaces still work through B.
    let (status, answer) =
        api.post(&b.at("/v1/memories"), key, &json!({ "content": "after the archive", "namespace": "team-a" }));
    assert_eq!(status, 201, "{answer}");
    delays[1]
}
