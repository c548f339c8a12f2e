//! `cargo xtask bench server`: a load benchmark of `memory serve` over HTTP, from a second
//! process. xtask builds the release `memory` binary, starts `memory serve --embedder hash` on a
//! fresh home in a temporary directory (with `MEMORY_RATE_PER_SECOND=0`: no per-tenant rate
//! limit), and then is the load generator itself: one OS thread per connection, each holding
//! one keep-alive HTTP/1.1 connection (a minimal client below, so the load generator costs as
//! little CPU as it can: it shares the machine with the server).
//!
//! Steps:
//! - setup (not measured): `POST /v1/namespaces` `ns-000`..; one key of principal `bench` that
//!   may read and write them all.
//! - seed (timed apart, not part of the phases): `POST /v1/memories/batch` of up to 1,000
//!   semantic memories of one namespace each, spreading the memories evenly.
//! - `recall` phase: every connection sends `POST /v1/recall` (a three-word query, three random
//!   namespaces, limit 10) back to back for the phase's duration.
//! - `remember` phase: likewise `POST /v1/memories`, one memory of unique content in a random
//!   namespace each (the store's default durability, `full`).
//!
//! Each phase runs 1 s of warm-up first (not counted). It reports requests, errors (any answer
//! that is not 2xx, or a broken connection), requests/s and the p50/p99/max latency of the
//! per-request timings, and the CPU the server and the load generator used. The run fails when
//! more than 0.1% of a phase's requests failed; missed targets are reported, not failed.
//!
//! Environment: `MEMORY_BENCH_SERVER_MEMORIES` (100000), `MEMORY_BENCH_SERVER_NAMESPACES`
//! (100), `MEMORY_BENCH_SERVER_CONNECTIONS` (64), `MEMORY_BENCH_SERVER_SECS` (10, per phase).
//! A quick run: `MEMORY_BENCH_SERVER_MEMORIES=10000 MEMORY_BENCH_SERVER_SECS=3 cargo xtask bench
//! server`.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::process::{Failure, Step, workspace_root};

/// Topics of the synthetic corpus; a query is three words of one topic.
const TOPICS: usize = 1000;
/// Most memories of one batch request (the server's limit).
const BATCH: usize = 1000;
/// Warm-up before each measured phase.
const WARMUP: Duration = Duration::from_secs(1);
/// Longest the bench waits for one answer.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// Share of failed requests above which the run fails.
const MAX_ERROR_RATE: f64 = 0.001;

/// Targets of issue 10, for 2 cores.
const RECALL_TARGET_RPS: f64 = 5000.0;
const RECALL_TARGET_P99_MS: f64 = 20.0;
const REMEMBER_TARGET_RPS: f64 = 3000.0;

#[derive(Debug, Clone)]
struct Config {
    memories: usize,
    namespaces: usize,
    connections: usize,
    secs: u64,
}

fn env_usize(name: &str, default: usize) -> Result<usize, Failure> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().map_err(|_| Failure::usage(format!("{name}={v:?} is not a non-negative integer"))),
        Err(_) => Ok(default),
    }
}

impl Config {
    fn from_env() -> Result<Self, Failure> {
        Ok(Config {
            memories: env_usize("MEMORY_BENCH_SERVER_MEMORIES", 100_000)?,
            namespaces: env_usize("MEMORY_BENCH_SERVER_NAMESPACES", 100)?.clamp(3, 10_000),
            connections: env_usize("MEMORY_BENCH_SERVER_CONNECTIONS", 64)?.clamp(1, 4096),
            secs: env_usize("MEMORY_BENCH_SERVER_SECS", 10)?.max(1) as u64,
        })
    }

    fn namespace(&self, i: usize) -> String {
        format!("ns-{i:03}")
    }
}

/// `cargo xtask bench server [--no-build]`.
pub fn run(args: &[String]) -> Result<(), Failure> {
    let mut build = true;
    for arg in args {
        match arg.as_str() {
            "--no-build" => build = false,
            other => {
                return Err(Failure::usage(format!(
                    "`bench server` takes only --no-build (use the existing target/release/memory), got `{other}`"
                )));
            }
        }
    }
    let cfg = Config::from_env()?;
    if build {
        Step::cargo(["build", "--release", "--package", "memory-cli"]).run()?;
    }
    let binary =
        workspace_root().join("target").join("release").join(format!("memory{}", std::env::consts::EXE_SUFFIX));
    if !binary.exists() {
        return Err(Failure::check(format!("{} is missing; run without --no-build", binary.display())));
    }
    let started = Instant::now();
    let server = Server::start(&binary)?;
    let result = bench(&cfg, &server);
    let rss = server.rss_mb();
    let home_mb = dir_mb(&server.home);
    drop(server);
    let failed = result?;
    println!("\n  server RSS at the end {rss:.0} MB; home {home_mb:.0} MB on disk");
    println!("total {:.0} s", started.elapsed().as_secs_f64());
    match failed {
        None => Ok(()),
        Some(message) => Err(Failure::check(message)),
    }
}

/// Everything once the server runs; `Ok(Some(message))` when too many requests failed.
fn bench(cfg: &Config, server: &Server) -> Result<Option<String>, Failure> {
    let corpus = Corpus::new(42);
    let mut admin = Conn::new(server.addr);
    wait_ready(&mut admin)?;

    let t = Instant::now();
    for i in 0..cfg.namespaces {
        let body = json!({ "key": cfg.namespace(i) });
        expect(&mut admin, "POST", "/v1/namespaces", &server.admin_key, &body, 201)?;
    }
    let scopes: Vec<Value> = (0..cfg.namespaces)
        .map(|i| json!({ "namespace": cfg.namespace(i), "permissions": ["read", "write"] }))
        .collect();
    let key_body =
        json!({ "principal": "bench", "scopes": scopes, "default_namespace": cfg.namespace(0), "label": "bench" });
    let issued = expect(&mut admin, "POST", "/v1/keys", &server.admin_key, &key_body, 201)?;
    let key = issued["secret"]
        .as_str()
        .ok_or_else(|| Failure::check(format!("POST /v1/keys answered without a secret: {issued}")))?
        .to_owned();
    let setup = t.elapsed();

    let seeded = seed(cfg, &corpus, server, &key)?;
    println!(
        "\n== server: `memory serve --embedder hash` under load from a second process (xtask), {} connections ==",
        cfg.connections
    );
    println!(
        "  {} cores on this machine, shared by the server and the load generator; store durability: the default (full)",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!("  setup: {} namespaces and a key in {:.1} s", cfg.namespaces, setup.as_secs_f64());
    println!(
        "  seed: {} memories in {} namespaces by {} batch requests in {:.1} s ({:.0} memories/s; not part of the phases)",
        cfg.memories,
        cfg.namespaces.min(cfg.memories),
        seeded.batches,
        seeded.elapsed.as_secs_f64(),
        cfg.memories as f64 / seeded.elapsed.as_secs_f64().max(1e-9)
    );

    // A recall must find something, or the recall numbers measure nothing.
    let mut conn = Conn::new(server.addr);
    let mut rng = Rng::new(7);
    let probe = expect(&mut conn, "POST", "/v1/recall", &key, &recall_body(cfg, &corpus, &mut rng), 200)?;
    let hits = probe["results"].as_array().map_or(0, Vec::len);
    if cfg.memories > 0 && hits == 0 {
        eprintln!("warning: a probe recall found nothing: {probe}");
    }

    let duration = Duration::from_secs(cfg.secs);
    let mut rows = Vec::new();
    for kind in [Kind::Recall, Kind::Remember] {
        run_phase(cfg, &corpus, server, &key, kind, WARMUP, 0);
        let stats = run_phase(cfg, &corpus, server, &key, kind, duration, 1);
        rows.push((kind, stats));
    }

    println!("\n  {} s per phase after {} s of warm-up; latency per request, client side", cfg.secs, WARMUP.as_secs());
    println!(
        "  {:<9} {:>9} {:>7} {:>9} {:>8} {:>8} {:>8} {:>11} {:>11}",
        "phase", "requests", "errors", "req/s", "p50 ms", "p99 ms", "max ms", "server CPU", "loadgen CPU"
    );
    for (kind, s) in &rows {
        println!(
            "  {:<9} {:>9} {:>7} {:>9.0} {:>8.2} {:>8.2} {:>8.1} {:>10.0}% {:>10.0}%",
            kind.name(),
            s.requests(),
            s.error_count(),
            s.rps(),
            ms(s.percentile(0.50)),
            ms(s.percentile(0.99)),
            ms(s.percentile(1.0)),
            s.server_cpu * 100.0,
            s.loadgen_cpu * 100.0
        );
    }
    println!("  (CPU: share of one core over the phase; 200% is both cores of a 2-core machine)");

    println!("\n  targets (issue 10, 2 cores):");
    let mut failed = Vec::new();
    for (kind, s) in &rows {
        let (target, met) = match kind {
            Kind::Recall => (
                format!("recall >= {RECALL_TARGET_RPS:.0} req/s with p99 <= {RECALL_TARGET_P99_MS:.0} ms"),
                s.rps() >= RECALL_TARGET_RPS && ms(s.percentile(0.99)) <= RECALL_TARGET_P99_MS,
            ),
            Kind::Remember => {
                (format!("single remembers >= {REMEMBER_TARGET_RPS:.0} req/s"), s.rps() >= REMEMBER_TARGET_RPS)
            }
        };
        let got = format!("{:.0} req/s, p99 {:.2} ms", s.rps(), ms(s.percentile(0.99)));
        println!("    {target:<46} {got:<24} {}", if met { "met" } else { "MISSED" });
        if !s.errors.is_empty() {
            let kinds: Vec<String> = s.errors.iter().map(|(what, n)| format!("{what}: {n}")).collect();
            println!("    {} errors: {}", kind.name(), kinds.join(", "));
            if s.errors.keys().any(|k| k.starts_with("429")) {
                println!(
                    "    (429: the server's per-tenant rate limit; this bench sets MEMORY_RATE_PER_SECOND=0, \
                     which the server must honour)"
                );
            }
        }
        let rate = s.error_count() as f64 / s.requests().max(1) as f64;
        if rate > MAX_ERROR_RATE {
            failed.push(format!("{}: {} of {} requests failed", kind.name(), s.error_count(), s.requests()));
        }
    }
    Ok((!failed.is_empty()).then(|| format!("more than 0.1% of requests failed ({})", failed.join("; "))))
}

/// `GET /readyz` until it answers 200 (the server opens the default tenant first).
fn wait_ready(conn: &mut Conn) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match conn.send("GET", "/readyz", None, b"") {
            Ok((200, _)) => return Ok(()),
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok((status, body)) => {
                return Err(Failure::check(format!(
                    "the server is not ready after 120 s: {status} {}",
                    String::from_utf8_lossy(&body)
                )));
            }
            Err(e) => return Err(Failure::check(format!("the server does not answer: {e}"))),
        }
    }
}

/// Sends one JSON request and fails unless the server answers `want`; returns the answer.
fn expect(conn: &mut Conn, method: &str, path: &str, key: &str, body: &Value, want: u16) -> Result<Value, Failure> {
    let bytes = serde_json::to_vec(body).map_err(|e| Failure::check(e.to_string()))?;
    let (status, answer) =
        conn.send(method, path, Some(key), &bytes).map_err(|e| Failure::check(format!("{method} {path}: {e}")))?;
    if status != want {
        return Err(Failure::check(format!(
            "{method} {path}: expected {want}, got {status}: {}",
            String::from_utf8_lossy(&answer)
        )));
    }
    serde_json::from_slice(&answer)
        .map_err(|e| Failure::check(format!("{method} {path}: the answer is not JSON ({e})")))
}

#[derive(Debug)]
struct Seeded {
    batches: usize,
    elapsed: Duration,
}

/// Writes the corpus through the batch API: namespace `i` gets `memories / namespaces` memories
/// (the first ones one more when it does not divide), in batches of at most 1,000.
fn seed(cfg: &Config, corpus: &Corpus, server: &Server, key: &str) -> Result<Seeded, Failure> {
    let mut rng = Rng::new(0xD0C5);
    let mut bodies = Vec::new();
    for ns in 0..cfg.namespaces {
        let mut left = cfg.memories / cfg.namespaces + usize::from(ns < cfg.memories % cfg.namespaces);
        while left > 0 {
            let size = left.min(BATCH);
            let memories: Vec<Value> = (0..size)
                .map(|_| json!({ "content": corpus.text(&mut rng), "namespace": cfg.namespace(ns), "layer": "semantic" }))
                .collect();
            bodies.push(json!({ "memories": memories }));
            left -= size;
        }
    }
    let mut conn = Conn::new(server.addr);
    let t = Instant::now();
    for body in &bodies {
        expect(&mut conn, "POST", "/v1/memories/batch", key, body, 201)?;
    }
    Ok(Seeded { batches: bodies.len(), elapsed: t.elapsed() })
}

// ---------------------------------------------------------------------------------------------
// Phases

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Recall,
    Remember,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Recall => "recall",
            Kind::Remember => "remember",
        }
    }
}

/// Three distinct random namespaces, a three-word query of one topic, limit 10.
fn recall_body(cfg: &Config, corpus: &Corpus, rng: &mut Rng) -> Value {
    let mut picked: Vec<usize> = Vec::with_capacity(3);
    while picked.len() < 3 {
        let n = rng.below(cfg.namespaces);
        if !picked.contains(&n) {
            picked.push(n);
        }
    }
    let namespaces: Vec<String> = picked.into_iter().map(|n| cfg.namespace(n)).collect();
    json!({ "query": corpus.query(rng), "namespaces": namespaces, "limit": 10 })
}

#[derive(Debug, Default)]
struct PhaseStats {
    /// Latency of every request that got a 2xx answer.
    ok: Vec<Duration>,
    /// Failed requests by what went wrong (`429 Too Many Requests`, `io: ...`).
    errors: BTreeMap<String, u64>,
    elapsed: Duration,
    /// CPU time over wall time (1.0 = one core busy).
    server_cpu: f64,
    loadgen_cpu: f64,
}

impl PhaseStats {
    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
    fn requests(&self) -> u64 {
        self.ok.len() as u64 + self.error_count()
    }
    /// Successful requests per second.
    fn rps(&self) -> f64 {
        self.ok.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    /// Of the successful requests, sorted.
    fn percentile(&self, p: f64) -> Duration {
        if self.ok.is_empty() {
            return Duration::ZERO;
        }
        self.ok[((self.ok.len() as f64 - 1.0) * p).round() as usize]
    }
}

/// Every connection sends requests of `kind` back to back until `duration` is over; `run`
/// makes remembered contents unique across runs.
fn run_phase(
    cfg: &Config,
    corpus: &Corpus,
    server: &Server,
    key: &str,
    kind: Kind,
    duration: Duration,
    run: u64,
) -> PhaseStats {
    let cpu_before = (cpu_seconds(&format!("/proc/{}/stat", server.child.id())), cpu_seconds("/proc/self/stat"));
    let start = Instant::now();
    let deadline = start + duration;
    let per_thread: Vec<PhaseStats> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..cfg.connections)
            .map(|c| {
                scope.spawn(move || {
                    let mut conn = Conn::new(server.addr);
                    let mut rng = Rng::new((run << 32) ^ ((c as u64) << 8) ^ kind as u64);
                    let mut stats = PhaseStats::default();
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        let (path, want_created, body) = match kind {
                            Kind::Recall => ("/v1/recall", false, recall_body(cfg, corpus, &mut rng)),
                            Kind::Remember => {
                                n += 1;
                                let content = format!("{} r{run}c{c}n{n}", corpus.text(&mut rng));
                                let ns = cfg.namespace(rng.below(cfg.namespaces));
                                ("/v1/memories", true, json!({ "content": content, "namespace": ns }))
                            }
                        };
                        let bytes = serde_json::to_vec(&body).expect("a JSON value serializes");
                        let t = Instant::now();
                        let answer = conn.send("POST", path, Some(key), &bytes);
                        let took = t.elapsed();
                        match answer {
                            // A remember of unique content must create (201, not 200 duplicate).
                            Ok((status, _)) if (200..300).contains(&status) && (!want_created || status == 201) => {
                                stats.ok.push(took);
                            }
                            Ok((status, _)) => *stats.errors.entry(format!("{status}")).or_default() += 1,
                            Err(e) => *stats.errors.entry(format!("io: {e}")).or_default() += 1,
                        }
                    }
                    stats
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a load thread panicked")).collect()
    });
    let elapsed = start.elapsed();
    let cpu_after = (cpu_seconds(&format!("/proc/{}/stat", server.child.id())), cpu_seconds("/proc/self/stat"));
    let mut all = PhaseStats { elapsed, ..PhaseStats::default() };
    for s in per_thread {
        all.ok.extend(s.ok);
        for (what, n) in s.errors {
            *all.errors.entry(what).or_default() += n;
        }
    }
    all.ok.sort_unstable();
    let wall = elapsed.as_secs_f64().max(1e-9);
    all.server_cpu = (cpu_after.0 - cpu_before.0) / wall;
    all.loadgen_cpu = (cpu_after.1 - cpu_before.1) / wall;
    all
}

// ---------------------------------------------------------------------------------------------
// The server process

/// `memory serve` on a fresh home, stopped (SIGTERM) and its home removed on drop.
#[derive(Debug)]
struct Server {
    child: Child,
    addr: SocketAddr,
    admin_key: String,
    home: PathBuf,
}

impl Server {
    fn start(binary: &Path) -> Result<Self, Failure> {
        let home = std::env::temp_dir().join(format!("memory-bench-server-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).map_err(|e| Failure::check(format!("cannot create {}: {e}", home.display())))?;
        let mut command = Command::new(binary);
        command
            .args(["serve", "--addr", "127.0.0.1:0", "--embedder", "hash", "--home"])
            .arg(&home)
            .env("MEMORY_RATE_PER_SECOND", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        eprintln!(
            "$ MEMORY_RATE_PER_SECOND=0 {} serve --addr 127.0.0.1:0 --embedder hash --home {}",
            binary.display(),
            home.display()
        );
        let mut child =
            command.spawn().map_err(|e| Failure::check(format!("cannot start {}: {e}", binary.display())))?;
        let (tx, rx) = mpsc::channel::<Result<String, String>>();
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let tx_out = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                match line.split_once("admin key (shown once; keep it safe): ") {
                    Some((_, key)) => {
                        let _ = tx_out.send(Ok(format!("key {}", key.trim())));
                    }
                    None => println!("  [server] {line}"),
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("  [server] {line}");
                if let Some((_, rest)) = line.split_once("listening on http://") {
                    let addr = rest.split_whitespace().next().unwrap_or_default().to_owned();
                    let _ = tx.send(Ok(format!("addr {addr}")));
                }
            }
            let _ = tx.send(Err("the server closed its stderr".into()));
        });
        let mut server = Server { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)), admin_key: String::new(), home };
        let deadline = Instant::now() + Duration::from_secs(120);
        while server.admin_key.is_empty() || server.addr.port() == 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = match rx.recv_timeout(left) {
                Ok(Ok(m)) => m,
                Ok(Err(why)) => return Err(Failure::check(format!("memory serve did not start: {why}"))),
                Err(_) => return Err(Failure::check("memory serve did not start within 120 s")),
            };
            if let Some(key) = message.strip_prefix("key ") {
                server.admin_key = key.to_owned();
            } else if let Some(addr) = message.strip_prefix("addr ") {
                server.addr = addr
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .ok_or_else(|| Failure::check(format!("memory serve printed a bad address {addr:?}")))?;
            }
        }
        Ok(server)
    }

    fn rss_mb(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(60);
            while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Ok(None) = self.child.try_wait() {
                eprintln!("warning: memory serve did not stop within 60 s of SIGTERM; killing it");
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// User plus system CPU seconds of the process of `/proc/PID/stat` (NaN off Linux).
fn cpu_seconds(stat_path: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(stat_path) else { return f64::NAN };
    // Fields after the command name, which is in parentheses: state is field 3, utime 14, stime 15.
    let Some((_, rest)) = stat.rsplit_once(')') else { return f64::NAN };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn dir_mb(dir: &Path) -> f64 {
    fn walk(p: &Path) -> u64 {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| match e.metadata() {
                        Ok(m) if m.is_dir() => walk(&e.path()),
                        Ok(m) => m.len(),
                        Err(_) => 0,
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(dir) as f64 / (1024.0 * 1024.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 keep-alive client

/// One keep-alive HTTP/1.1 connection, reopened after an error or `Connection: close`: just
/// what JSON requests to `memory serve` need (Content-Length or chunked answers).
#[derive(Debug)]
struct Conn {
    addr: SocketAddr,
    host: String,
    stream: Option<BufReader<TcpStream>>,
    out: Vec<u8>,
    line: String,
}

impl Conn {
    fn new(addr: SocketAddr) -> Self {
        Conn { addr, host: addr.to_string(), stream: None, out: Vec::with_capacity(4096), line: String::new() }
    }

    /// Sends one request and reads the answer: (status, body).
    fn send(&mut self, method: &str, path: &str, key: Option<&str>, body: &[u8]) -> io::Result<(u16, Vec<u8>)> {
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT)?;
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(IO_TIMEOUT))?;
            stream.set_write_timeout(Some(IO_TIMEOUT))?;
            self.stream = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        let result = self.exchange(method, path, key, body);
        if !matches!(result, Ok((_, _, false))) {
            self.stream = None;
        }
        result.map(|(status, body, _)| (status, body))
    }

    /// (status, body, whether the server closes the connection).
    fn exchange(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: &[u8],
    ) -> io::Result<(u16, Vec<u8>, bool)> {
        let stream = self.stream.as_mut().expect("connected above");
        let out = &mut self.out;
        out.clear();
        write!(out, "{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host)?;
        if let Some(key) = key {
            write!(out, "Authorization: Bearer {key}\r\n")?;
        }
        if method != "GET" {
            write!(out, "Content-Type: application/json\r\nContent-Length: {}\r\n", body.len())?;
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        stream.get_mut().write_all(out)?;

        let line = &mut self.line;
        read_line(stream, line)?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad(format!("bad status line {:?}", line.trim_end())))?;
        let (mut length, mut chunked, mut close) = (None, false, false);
        loop {
            read_line(stream, line)?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            let Some((name, value)) = header.split_once(':') else { continue };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>().map_err(|_| bad(format!("bad Content-Length {value:?}")))?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.to_ascii_lowercase().contains("chunked");
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        let mut answer = Vec::new();
        if status == 204 || status == 304 || (100..200).contains(&status) {
            // No body.
        } else if chunked {
            loop {
                read_line(stream, line)?;
                let size = line.trim().split(';').next().unwrap_or_default();
                let size = usize::from_str_radix(size, 16).map_err(|_| bad(format!("bad chunk size {size:?}")))?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    loop {
                        read_line(stream, line)?;
                        if line.trim_end().is_empty() {
                            break;
                        }
                    }
                    break;
                }
                let start = answer.len();
                answer.resize(start + size, 0);
                stream.read_exact(&mut answer[start..])?;
                read_line(stream, line)?;
            }
        } else if let Some(n) = length {
            answer.resize(n, 0);
            stream.read_exact(&mut answer)?;
        } else {
            stream.read_to_end(&mut answer)?;
            close = true;
        }
        Ok((status, answer, close))
    }
}

/// Reads one line into `line` (cleared first); end of stream is an error.
fn read_line(stream: &mut BufReader<TcpStream>, line: &mut String) -> io::Result<()> {
    line.clear();
    if stream.read_line(line)? == 0 {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the server closed the connection"));
    }
    Ok(())
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

// ---------------------------------------------------------------------------------------------
// Deterministic synthetic data (as in `cargo xtask bench engine`)

/// SplitMix64: tiny, fast and seedable.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_F42D_4C95_7F2D)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

const STOP: &[&str] = &["the", "and", "of", "to", "a", "in", "is", "it", "that", "for", "on", "with", "as", "was"];

fn syllable_word(rng: &mut Rng) -> String {
    const SYL: &[&str] = &["ka", "lo", "mi", "ter", "san", "vo", "rin", "dul", "pe", "zor", "qui", "nam", "bex", "tho"];
    let n = 2 + rng.below(3);
    (0..n).map(|_| SYL[rng.below(SYL.len())]).collect()
}

/// Word salad with topics: 1,000 topics of 12 words, 300 common words and stop words.
#[derive(Debug)]
struct Corpus {
    topic_words: Vec<Vec<String>>,
    common: Vec<String>,
}

impl Corpus {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let topic_words = (0..TOPICS).map(|_| (0..12).map(|_| syllable_word(&mut rng)).collect()).collect();
        let common = (0..300).map(|_| syllable_word(&mut rng)).collect();
        Corpus { topic_words, common }
    }

    /// A memory: 8-20 words, half of them from one topic.
    fn text(&self, rng: &mut Rng) -> String {
        let topic = &self.topic_words[rng.below(TOPICS)];
        let len = 8 + rng.below(13);
        let words: Vec<&str> = (0..len)
            .map(|_| match rng.below(10) {
                0..5 => topic[rng.below(12)].as_str(),
                5..8 => self.common[rng.below(self.common.len())].as_str(),
                _ => STOP[rng.below(STOP.len())],
            })
            .collect();
        words.join(" ")
    }

    /// A query: three words of one topic.
    fn query(&self, rng: &mut Rng) -> String {
        let topic = &self.topic_words[rng.below(TOPICS)];
        (0..3).map(|_| topic[rng.below(12)].as_str()).collect::<Vec<_>>().join(" ")
    }
}
