//! A real server on a random loopback port over a real SQLite home, and a blocking HTTP caller.

use std::sync::mpsc;
use std::thread::JoinHandle;

use memory_engine::{Caller, HomeOptions, NewKey};
use memory_server::{RouterOptions, ServerConfig};
use serde_json::Value;
use tempfile::TempDir;

/// A running server; stopped (gracefully) when dropped.
pub struct TestServer {
    pub url: String,
    /// An admin key of the default tenant.
    pub admin: String,
    pub dir: TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server over a fresh home with no configuration.
    pub fn start() -> TestServer {
        TestServer::with("", false, ServerConfig::default())
    }

    /// A server over a fresh home with `memory.toml` = `config`.
    pub fn with(config: &str, trust_header: bool, server: ServerConfig) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        if !config.is_empty() {
            std::fs::write(dir.path().join("memory.toml"), config).unwrap();
        }
        let home = dir.path().to_path_buf();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move {
                let mut options = HomeOptions::new(home);
                options.embedder = Some("hash".into());
                options.trust_principal_header = trust_header;
                let home = memory_engine::open_home(options).await.unwrap();
                let engine = home.engine.clone();
                let operator = Caller::principal("ops").unwrap().as_operator();
                let admin = engine
                    .create_key(
                        &operator,
                        NewKey {
                            principal: "admin".into(),
                            label: "test admin".into(),
                            scopes: vec![],
                            default_namespace: None,
                            admin: true,
                        },
                    )
                    .await
                    .unwrap();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}", listener.local_addr().unwrap());
                let router = memory_server::router(
                    engine.clone(),
                    RouterOptions { config: server.clone(), local_key: None, embedder: home.embedder.clone() },
                );
                ready_tx.send((url, admin.secret)).unwrap();
                memory_server::serve(listener, router, engine, &server, async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let (url, admin) = ready_rx.recv().unwrap();
        TestServer { url, admin, dir, stop: Some(stop_tx), thread: Some(thread) }
    }

    /// A `method path` request with `key` and an optional JSON body: status and JSON answer
    /// (`Value::Null` for a body that is not JSON).
    pub fn call(&self, method: &str, path: &str, key: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let (status, text) = self.raw(method, path, key, &[], body.map(|b| b.to_string()));
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A request with extra headers and a raw body: status and body text.
    pub fn raw(
        &self,
        method: &str,
        path: &str,
        key: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<String>,
    ) -> (u16, String) {
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().new_agent();
        let uri = format!("{}{path}", self.url);
        let mut request = ureq::http::Request::builder().method(method).uri(uri);
        if let Some(k) = key {
            request = request.header("authorization", format!("Bearer {k}"));
        }
        for (n, v) in headers {
            request = request.header(*n, *v);
        }
        let response = match body {
            Some(b) => {
                let request = request.header("content-type", "application/json").body(b).unwrap();
                agent.run(request)
            }
            None => agent.run(request.body(()).unwrap()),
        };
        let mut response = response.unwrap();
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(u64::MAX).read_to_string().unwrap_or_default();
        (status, text)
    }

    /// Creates a key as the admin: its secret.
    pub fn key(&self, body: Value) -> String {
        let (status, answer) = self.call("POST", "/v1/keys", Some(&self.admin), Some(body));
        assert_eq!(status, 201, "{answer}");
        answer["secret"].as_str().unwrap().to_owned()
    }

    /// An admin key of another tenant (`acme`). An admin key manages its own tenant only, so it
    /// is made by the engine on the same home, as an installation operator would.
    pub fn other_tenant_key(&self) -> String {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut options = HomeOptions::new(self.dir.path());
            options.embedder = Some("hash".into());
            let home = memory_engine::open_home(options).await.unwrap();
            let tenant = memory_core::TenantId::new("acme").unwrap();
            let operator = Caller::new(tenant, memory_engine::Identity::default()).as_operator();
            let key = NewKey {
                principal: "alice".into(),
                label: "acme admin".into(),
                scopes: vec![],
                default_namespace: None,
                admin: true,
            };
            home.engine.create_key(&operator, key).await.unwrap().secret
        })
    }

    /// Creates a namespace as the admin.
    pub fn namespace(&self, key: &str) {
        let (status, answer) =
            self.call("POST", "/v1/namespaces", Some(&self.admin), Some(serde_json::json!({ "key": key })));
        assert_eq!(status, 201, "{answer}");
    }

    /// Remembers `content` with `key` (into `namespace` when given): the memory's id.
    pub fn remember(&self, key: &str, content: &str, namespace: Option<&str>) -> String {
        let mut body = serde_json::json!({ "content": content });
        if let Some(ns) = namespace {
            body["namespace"] = ns.into();
        }
        let (status, answer) = self.call("POST", "/v1/memories", Some(key), Some(body));
        assert_eq!(status, 201, "{answer}");
        answer["memory"]["id"].as_str().unwrap().to_owned()
    }

    /// The contents a recall with `key` and `body` returns.
    pub fn recall(&self, key: &str, body: Value) -> Vec<String> {
        let (status, answer) = self.call("POST", "/v1/recall", Some(key), Some(body));
        assert_eq!(status, 200, "{answer}");
        answer["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["memory"]["content"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The `error.code` of an answer.
pub fn code(answer: &Value) -> &str {
    answer["error"]["code"].as_str().unwrap_or("(no error code)")
}
