//! The MCP server end to end: a real rmcp client against [`McpServer`] over an in-process pipe
//! (what `memory mcp` serves on stdio) and over streamable HTTP (what `memory serve` nests at
//! `/mcp`), on a real SQLite home in a temporary directory.

use std::path::Path;

use axum::extract::Request;
use axum::middleware::Next;
use memory_core::NamespacePatch;
use memory_engine::{Caller, Engine, HomeOptions, open_home};
use memory_server::dto::{
    ConsolidationDto, Forgotten, NamespaceList, PromotedDto, ProposalApproved, ProposalPage, ProposalRejected,
    RecallResponse, Reported, WrittenDto,
};
use memory_server::mcp::{McpServer, http_service};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService, ServiceError};
use rmcp::transport::StreamableHttpClientTransport;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

type Client = RunningService<RoleClient, ()>;

const TOOLS: [&str; 10] = [
    "memory_consolidate",
    "memory_forget",
    "memory_namespaces",
    "memory_promote",
    "memory_proposal_approve",
    "memory_proposal_reject",
    "memory_proposals_list",
    "memory_recall",
    "memory_report_outcome",
    "memory_store",
];

/// Lets alice write (and so promote) into `shared`, which every principal may read.
const SHARED_WRITABLE_BY_ALICE: &str =
    "[[namespaces.policies]]\nname = \"shared\"\nread = [\"*\"]\nwrite = [\"alice\"]\n";

/// A home in `dir` with `config` as its memory.toml.
async fn engine_with(dir: &Path, config: &str) -> Engine {
    std::fs::write(dir.join(memory_engine::CONFIG_FILE), config).expect("write memory.toml");
    engine(dir).await
}

/// A home in `dir` with the deterministic hash embedder (no model files).
async fn engine(dir: &Path) -> Engine {
    let options = HomeOptions { embedder: Some("hash".into()), ..HomeOptions::new(dir) };
    open_home(options).await.expect("open home").engine
}

fn alice() -> Caller {
    Caller::principal("alice").expect("principal")
}

/// Connects a client to `server` over an in-memory duplex pipe, exactly as over stdio.
async fn connect(server: McpServer) -> Client {
    let (server_io, client_io) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        if let Ok(running) = server.serve(server_io).await {
            let _ = running.waiting().await;
        }
    });
    ().serve(client_io).await.expect("client connects")
}

async fn try_call(client: &Client, tool: &'static str, args: Value) -> Result<CallToolResult, ServiceError> {
    let args = args.as_object().cloned().unwrap_or_default();
    client.call_tool(CallToolRequestParams::new(tool).with_arguments(args)).await
}

async fn call(client: &Client, tool: &'static str, args: Value) -> CallToolResult {
    try_call(client, tool, args).await.expect("tool call answers")
}

/// The structured output of a successful call, as its DTO.
fn ok<T: DeserializeOwned>(r: &CallToolResult) -> T {
    assert_ne!(r.is_error, Some(true), "unexpected tool error: {r:?}");
    let value = r.structured_content.clone().expect("structured content");
    serde_json::from_value(value).expect("structured content parses as the DTO")
}

/// The text of a tool error.
fn tool_error(r: &CallToolResult) -> String {
    assert_eq!(r.is_error, Some(true), "expected a tool error: {r:?}");
    r.content.iter().filter_map(|c| c.as_text()).map(|t| t.text.clone()).collect::<Vec<_>>().join("\n")
}

#[tokio::test]
async fn lists_exactly_the_ten_tools_with_schemas() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = connect(McpServer::new(engine(dir.path()).await, Some(alice()), None, 100)).await;

    let info = client.peer_info().expect("server info");
    let implementation = info.server_info.as_ref().expect("implementation");
    assert_eq!(implementation.name, "memory");
    assert_eq!(implementation.version, env!("CARGO_PKG_VERSION"));
    assert!(info.instructions.as_deref().is_some_and(|i| !i.is_empty()));

    let tools = client.list_all_tools().await.expect("list tools");
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort_unstable();
    assert_eq!(names, TOOLS);
    for t in &tools {
        assert!(t.description.as_deref().is_some_and(|d| d.len() > 40), "{} needs a description", t.name);
        assert!(t.output_schema.is_some(), "{} answers structured output", t.name);
    }
    let store = tools.iter().find(|t| t.name == "memory_store").expect("memory_store");
    assert_eq!(store.input_schema.get("required"), Some(&json!(["content"])));
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn every_tool_over_the_stdio_transport() {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = engine_with(dir.path(), SHARED_WRITABLE_BY_ALICE).await;
    let client = connect(McpServer::new(engine, Some(alice()), None, 100)).await;

    let stored: WrittenDto = ok(&call(
        &client,
        "memory_store",
        json!({ "content": "The deploy script lives in ops/deploy.sh", "namespace": "default", "layer": "semantic" }),
    )
    .await);
    assert_eq!(stored.memory.namespace, "default");
    assert_eq!(stored.memory.provenance.principal.as_deref(), Some("alice"));
    assert!(!stored.duplicate);
    let id = stored.memory.id.clone();

    let again: WrittenDto = ok(&call(
        &client,
        "memory_store",
        json!({ "content": "The deploy script lives in ops/deploy.sh", "namespace": "default", "layer": "semantic" }),
    )
    .await);
    assert!(again.duplicate);
    assert_eq!(again.memory.id, id);

    let recall = json!({ "query": "where is the deploy script", "namespaces": ["default"] });
    let found: RecallResponse = ok(&call(&client, "memory_recall", recall.clone()).await);
    assert_eq!(found.namespaces, ["default"]);
    assert!(found.results.iter().any(|r| r.memory.id == id), "recall finds the memory: {found:?}");

    let reported: Reported =
        ok(&call(&client, "memory_report_outcome", json!({ "memory_ids": [id], "outcome": "helpful" })).await);
    assert_eq!(reported.memory_ids, std::slice::from_ref(&id));
    assert!((reported.reward - 1.0).abs() < f64::EPSILON);

    let promoted: PromotedDto = ok(&call(&client, "memory_promote", json!({ "id": id, "to": "shared" })).await);
    assert_eq!(promoted.namespace, "shared");
    assert!(promoted.created);
    assert_ne!(promoted.id, id);

    let list: NamespaceList = ok(&call(&client, "memory_namespaces", json!({})).await);
    let keys: Vec<&str> = list.namespaces.iter().map(|n| n.key.as_str()).collect();
    assert!(keys.contains(&"default") && keys.contains(&"shared"), "{keys:?}");
    let shared: NamespaceList = ok(&call(&client, "memory_namespaces", json!({ "kind": "shared" })).await);
    assert_eq!(shared.namespaces.iter().map(|n| n.key.as_str()).collect::<Vec<_>>(), ["shared"]);
    assert_eq!(shared.namespaces[0].memories, Some(1));

    let forgotten: Forgotten = ok(&call(&client, "memory_forget", json!({ "id": id })).await);
    assert_eq!(forgotten.forgotten, id);
    let after: RecallResponse = ok(&call(&client, "memory_recall", recall).await);
    assert!(after.results.iter().all(|r| r.memory.id != id), "forgotten memory is recalled: {after:?}");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn consolidation_and_the_review_queue_as_tools() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = connect(McpServer::new(engine(dir.path()).await, Some(alice()), None, 100)).await;
    for text in ["I prefer tea over coffee.", "My name is Dana Whitfield.", "I live in Lisbon."] {
        let _: WrittenDto =
            ok(&call(&client, "memory_store", json!({ "content": text, "namespace": "default" })).await);
    }
    let run: ConsolidationDto = ok(&call(&client, "memory_consolidate", json!({})).await);
    assert_eq!((run.namespace.as_str(), run.episodes), ("default", 3));
    assert!(!run.created.is_empty(), "{run:?}");
    assert_eq!(run.proposed.len(), 2, "{run:?}");

    let queue: ProposalPage = ok(&call(&client, "memory_proposals_list", json!({ "status": "pending" })).await);
    let queued: Vec<&str> = queue.proposals.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(queued, run.proposed.iter().map(String::as_str).collect::<Vec<_>>(), "{queue:?}");
    let approved: ProposalApproved =
        ok(&call(&client, "memory_proposal_approve", json!({ "id": run.proposed[0] })).await);
    assert_eq!((approved.proposal.status.as_str(), approved.memory.layer.as_str()), ("approved", "identity"));
    assert_eq!(approved.memory.content, approved.proposal.content);
    let rejected: ProposalRejected =
        ok(&call(&client, "memory_proposal_reject", json!({ "id": run.proposed[1] })).await);
    assert_eq!(rejected.proposal.status, "rejected");
    let again = tool_error(&call(&client, "memory_proposal_reject", json!({ "id": run.proposed[0] })).await);
    assert!(again.starts_with("conflict:"), "{again}");
    let bad = tool_error(&call(&client, "memory_proposal_approve", json!({ "id": "nope" })).await);
    assert!(bad.starts_with("invalid_input: id:"), "{bad}");
    let status = tool_error(&call(&client, "memory_proposals_list", json!({ "status": "maybe" })).await);
    assert!(status.starts_with("invalid_input: status:"), "{status}");
    let missing = tool_error(&call(&client, "memory_proposal_reject", json!({ "id": uuid_v7() })).await);
    assert!(missing.starts_with("not_found:"), "{missing}");
    let decided: ProposalPage = ok(&call(&client, "memory_proposals_list", json!({ "status": "approved" })).await);
    assert_eq!(decided.proposals.len(), 1);
    let pending: ProposalPage = ok(&call(&client, "memory_proposals_list", json!({ "status": "pending" })).await);
    assert!(pending.proposals.is_empty(), "{pending:?}");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn bad_input_is_a_tool_error_and_the_server_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = connect(McpServer::new(engine(dir.path()).await, Some(alice()), None, 100)).await;

    let empty = tool_error(&call(&client, "memory_store", json!({ "content": "   " })).await);
    assert!(empty.starts_with("invalid_input: content:"), "{empty}");
    let bad_id = tool_error(&call(&client, "memory_forget", json!({ "id": "not-an-id" })).await);
    assert!(bad_id.starts_with("invalid_input: id:"), "{bad_id}");
    let missing = tool_error(&call(&client, "memory_forget", json!({ "id": uuid_v7() })).await);
    assert!(missing.starts_with("not_found:"), "{missing}");
    let limit = tool_error(&call(&client, "memory_recall", json!({ "query": "x", "limit": 101 })).await);
    assert!(limit.starts_with("invalid_input: limit:"), "{limit}");
    let outcome =
        tool_error(&call(&client, "memory_report_outcome", json!({ "memory_ids": [], "outcome": "helpful" })).await);
    assert!(outcome.starts_with("invalid_input: memory_ids:"), "{outcome}");
    let kind = tool_error(&call(&client, "memory_namespaces", json!({ "kind": "galaxy" })).await);
    assert!(kind.starts_with("invalid_input: kind:"), "{kind}");

    // Arguments that do not fit the schema never reach the tool; rmcp answers a tool error too.
    let unknown = tool_error(&call(&client, "memory_store", json!({ "content": "x", "colour": "red" })).await);
    assert!(unknown.contains("unknown field `colour`"), "{unknown}");

    // Still serving.
    let ok_after: WrittenDto =
        ok(&call(&client, "memory_store", json!({ "content": "still here", "namespace": "default" })).await);
    assert_eq!(ok_after.memory.content, "still here");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn the_default_namespace_is_used_and_checked_like_an_explicit_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = "[[namespaces.policies]]\nname = \"alice-notes\"\nread = [\"alice\"]\nwrite = [\"alice\"]\n";
    let engine = engine_with(dir.path(), config).await;
    let operator = Caller::principal("ops").expect("principal").as_operator();
    engine.create_namespace(&operator, "alice-notes", &NamespacePatch::default()).await.expect("create namespace");

    let client = connect(McpServer::new(engine.clone(), Some(alice()), Some("alice-notes".into()), 100)).await;
    let stored: WrittenDto = ok(&call(&client, "memory_store", json!({ "content": "Alice prefers tabs" })).await);
    assert_eq!(stored.memory.namespace, "alice-notes");
    // An explicit namespace still wins over the default.
    let explicit: WrittenDto =
        ok(&call(&client, "memory_store", json!({ "content": "Team uses spaces", "namespace": "default" })).await);
    assert_eq!(explicit.memory.namespace, "default");
    client.cancel().await.expect("close");

    // Bob may not write there: the default namespace gives him no rights.
    let bob = Caller::principal("bob").expect("principal");
    let client = connect(McpServer::new(engine, Some(bob), Some("alice-notes".into()), 100)).await;
    let denied = tool_error(&call(&client, "memory_store", json!({ "content": "Bob was here" })).await);
    assert!(denied.starts_with("forbidden:"), "{denied}");
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn no_caller_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = connect(McpServer::new(engine(dir.path()).await, None, None, 100)).await;
    let refused = try_call(&client, "memory_store", json!({ "content": "x", "namespace": "default" })).await;
    match refused {
        Err(ServiceError::McpError(e)) => assert!(e.message.contains("unauthenticated"), "{e:?}"),
        other => panic!("expected an MCP error, got {other:?}"),
    }
    client.cancel().await.expect("close");
}

// ---- streamable HTTP ----------------------------------------------------------------------

/// Serves `/mcp` on a loopback port; `caller` is what the test's stand-in for the auth
/// middleware inserts into each request's extensions (none: nothing is inserted).
async fn serve_http(engine: Engine, caller: Option<Caller>) -> std::net::SocketAddr {
    let router = axum::Router::new()
        .nest_service("/mcp", http_service(McpServer::new(engine, None, None, 1000)))
        .layer(axum::middleware::from_fn(move |mut request: Request, next: Next| {
            let caller = caller.clone();
            async move {
                if let Some(c) = caller {
                    request.extensions_mut().insert(c);
                }
                next.run(request).await
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

async fn connect_http(addr: std::net::SocketAddr) -> Client {
    let transport = StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
    ().serve(transport).await.expect("client connects over HTTP")
}

#[tokio::test]
async fn store_and_recall_over_streamable_http_as_the_middleware_caller() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = serve_http(engine(dir.path()).await, Some(alice())).await;
    let client = connect_http(addr).await;

    let tools = client.list_all_tools().await.expect("list tools");
    assert_eq!(tools.len(), TOOLS.len());
    let stored: WrittenDto = ok(&call(
        &client,
        "memory_store",
        json!({ "content": "Releases are cut on Thursdays", "namespace": "default" }),
    )
    .await);
    assert_eq!(stored.memory.provenance.principal.as_deref(), Some("alice"), "runs as the middleware's caller");
    let found: RecallResponse =
        ok(&call(&client, "memory_recall", json!({ "query": "when are releases cut", "namespaces": ["default"] }))
            .await);
    assert!(found.results.iter().any(|r| r.memory.id == stored.memory.id), "{found:?}");
    // The HTTP limit is the one given to `new`, not the stdio one.
    let big: RecallResponse =
        ok(&call(&client, "memory_recall", json!({ "query": "releases", "limit": 1000, "namespaces": ["default"] }))
            .await);
    assert_eq!(big.results.len(), 1);
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn over_http_a_request_without_a_caller_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = serve_http(engine(dir.path()).await, None).await;
    let client = connect_http(addr).await;
    let refused = try_call(&client, "memory_store", json!({ "content": "x", "namespace": "default" })).await;
    match refused {
        Err(ServiceError::McpError(e)) => assert!(e.message.contains("unauthenticated"), "{e:?}"),
        other => panic!("expected an MCP error, got {other:?}"),
    }
    client.cancel().await.expect("close");
}

#[tokio::test]
async fn the_http_service_is_stateless_and_checks_the_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = serve_http(engine(dir.path()).await, Some(alice())).await;
    let initialize = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": { "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": { "name": "t", "version": "0" } }
    });

    let (status, head) = raw_post(addr, &format!("127.0.0.1:{}", addr.port()), &initialize).await;
    assert_eq!(status, 200, "{head}");
    assert!(head.to_ascii_lowercase().contains("content-type: application/json"), "plain JSON answers: {head}");
    assert!(!head.to_ascii_lowercase().contains("mcp-session-id"), "stateless: no session id: {head}");

    // DNS-rebinding protection: a foreign Host is refused before any tool runs.
    let (status, head) = raw_post(addr, "evil.example", &initialize).await;
    assert_eq!(status, 403, "{head}");
}

/// POSTs `body` to `/mcp` with `host` as the Host header; the status and the response head.
async fn raw_post(addr: std::net::SocketAddr, host: &str, body: &Value) -> (u16, String) {
    let body = body.to_string();
    let request = format!(
        "POST /mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let head = text.split("\r\n\r\n").next().unwrap_or_default().to_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head)
}

/// A well-formed memory id that names no memory.
fn uuid_v7() -> String {
    uuid::Uuid::now_v7().to_string()
}
