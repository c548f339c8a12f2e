//! The MCP server (rmcp): ten tools over one engine, served over stdio (`memory mcp`) or as a
//! streamable-HTTP service nested at `/mcp` of the HTTP API (`memory serve`).
//!
//! Every tool calls the same [`ops`] function as its HTTP route and answers with the same DTO
//! as structured JSON output, so MCP and HTTP can never answer differently. Engine errors are
//! tool errors (`is_error: true`, text `code: message`) that the model can read and act on;
//! only a request with no caller at all is refused with a JSON-RPC error.
//!
//! Who a request runs as: over HTTP, the auth middleware puts a [`Caller`] into the request's
//! extensions and rmcp hands the request's [`Parts`] to the tool; over stdio, the fallback
//! caller given to [`McpServer::new`] is used.

use std::sync::Arc;

use axum::http::request::Parts;
use memory_core::{Error, NamespaceFilter};
use memory_engine::{Caller, Engine};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::IntoCallToolResult;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, ErrorCode, Implementation, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, Json, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::dto::{
    self, ConsolidateBody, ConsolidationDto, CreateMemory, Forgotten, NamespaceList, OutcomeBody, PromotedDto,
    ProposalApproved, ProposalIdParams, ProposalPage, ProposalRejected, ProposalsQuery, RecallBody, RecallResponse,
    Reported, WrittenDto,
};
use crate::ops;

/// The MCP server: the ten tools over one engine.
#[derive(Debug, Clone)]
pub struct McpServer {
    engine: Engine,
    /// Who requests without an HTTP caller run as (stdio).
    caller: Option<Caller>,
    /// Where `memory_store` writes when the call names no namespace.
    default_namespace: Option<String>,
    max_recall_limit: usize,
    // Shared: the HTTP service clones the server for every request (stateless mode).
    tool_router: Arc<ToolRouter<McpServer>>,
}

impl McpServer {
    /// `caller`: who stdio requests run as (None for HTTP, where each request's caller comes
    /// from the auth middleware); `default_namespace`: where memory_store writes when the call
    /// names no namespace (MEMORY_NAMESPACE), checked like an explicit one; `max_recall_limit`:
    /// the largest `limit` a recall may ask for.
    pub fn new(
        engine: Engine,
        caller: Option<Caller>,
        default_namespace: Option<String>,
        max_recall_limit: usize,
    ) -> Self {
        McpServer { engine, caller, default_namespace, max_recall_limit, tool_router: Arc::new(Self::tool_router()) }
    }

    /// The caller of this request: the HTTP middleware's, else the fallback one.
    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Result<Caller, ToolError> {
        let from_http = ctx.extensions.get::<Parts>().and_then(|parts| parts.extensions.get::<Caller>());
        from_http.or(self.caller.as_ref()).cloned().ok_or(ToolError::Unauthenticated)
    }
}

/// Serves MCP over stdin/stdout until the client disconnects.
pub async fn serve_stdio(server: McpServer) -> std::io::Result<()> {
    let running = server.serve(rmcp::transport::stdio()).await.map_err(std::io::Error::other)?;
    running.waiting().await.map_err(std::io::Error::other)?;
    Ok(())
}

/// The streamable-HTTP MCP service to nest at `/mcp`. Stateless (no sessions: every POST is
/// answered on its own, as plain JSON), so several server processes may share a home or
/// database behind one address; rmcp's default `Host` check (loopback names only) stays on
/// against DNS rebinding.
pub fn http_service(server: McpServer) -> StreamableHttpService<McpServer, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default().with_legacy_session_mode(false).with_json_response(true);
    StreamableHttpService::new(move || Ok(server.clone()), Arc::new(LocalSessionManager::default()), config)
}

/// Parameters of `memory_promote`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteParams {
    /// The id of the memory to copy.
    pub id: String,
    /// The target namespace [default: the first authorized promotion target, `shared` without
    /// a scope profile].
    #[serde(default)]
    pub to: Option<String>,
}

/// Parameters of `memory_forget`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgetParams {
    /// The id of the memory to delete.
    pub id: String,
}

/// Filters of `memory_namespaces`; every given one must match.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespacesParams {
    /// Only this team's.
    #[serde(default)]
    pub team: Option<String>,
    /// normal, sensitive or restricted.
    #[serde(default)]
    pub sensitivity: Option<String>,
    /// default, shared, self, project, branch, team-project or explicit.
    #[serde(default)]
    pub kind: Option<String>,
    /// active, archived or deleted [default: active and archived].
    #[serde(default)]
    pub status: Option<String>,
}

impl NamespacesParams {
    fn filter(&self) -> memory_core::Result<NamespaceFilter> {
        let mut filter = NamespaceFilter::default();
        filter.team.clone_from(&self.team);
        filter.sensitivity = self.sensitivity.as_deref().map(|s| dto::parse("sensitivity", s)).transpose()?;
        filter.kind = self.kind.as_deref().map(|s| dto::parse("kind", s)).transpose()?;
        filter.status = self.status.as_deref().map(|s| dto::parse("status", s)).transpose()?;
        Ok(filter)
    }
}

/// Why a tool call failed.
#[derive(Debug)]
enum ToolError {
    /// The engine refused: a tool error the model can read.
    Engine(Error),
    /// No caller at all: a protocol error (the front end is misconfigured or bypassed).
    Unauthenticated,
}

impl From<Error> for ToolError {
    fn from(e: Error) -> Self {
        ToolError::Engine(e)
    }
}

impl IntoCallToolResult for ToolError {
    fn into_call_tool_result(self) -> Result<CallToolResponse, ErrorData> {
        match self {
            ToolError::Engine(e) => {
                let text = format!("{}: {}", e.kind().code(), e.message());
                Ok(CallToolResult::error(vec![ContentBlock::text(text)]).into())
            }
            ToolError::Unauthenticated => Err(ErrorData::new(
                ErrorCode::INVALID_REQUEST,
                "unauthenticated: the request carries no credentials",
                Some(serde_json::json!({ "code": "unauthenticated" })),
            )),
        }
    }
}

// Every tool returns `Result<Json<Dto>, ToolError>` spelled out: the `#[tool]` macro derives
// the output schema from that literal return type and would not see through an alias.
#[tool_router(router = tool_router)]
impl McpServer {
    #[tool(
        name = "memory_store",
        description = "Remember one memory: a fact, preference, decision, correction, rule, procedure or event \
                       worth keeping beyond this conversation. Give the content; layer (identity, procedural, \
                       semantic, episodic, working; default episodic), category, confidence and namespace are \
                       optional. Storing the same content again merges into the existing memory (duplicate: true). \
                       Use `supersedes` with an old memory's id to correct it."
    )]
    async fn memory_store(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(body): Parameters<CreateMemory>,
    ) -> Result<Json<WrittenDto>, ToolError> {
        let caller = self.caller(&ctx)?;
        Ok(Json(ops::store(&self.engine, &caller, &body, self.default_namespace.as_deref()).await?))
    }

    #[tool(
        name = "memory_recall",
        description = "Recall the memories relevant to what you are working on: pinned identity and procedural \
                       memories first, then the best matches of the query, best first. Call it at the start of a \
                       task and whenever past decisions, preferences or facts may matter. Optional: namespaces \
                       (default read set, or [\"*\"] for every readable one), layers, limit, filters, explain."
    )]
    async fn memory_recall(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(body): Parameters<RecallBody>,
    ) -> Result<Json<RecallResponse>, ToolError> {
        let caller = self.caller(&ctx)?;
        Ok(Json(ops::recall(&self.engine, &caller, &body, self.max_recall_limit).await?))
    }

    #[tool(
        name = "memory_promote",
        description = "Copy a memory into a namespace others read (default: the first authorized promotion \
                       target, usually `shared`), when it is useful beyond the namespace it is in. The copy links \
                       to its source; promoting content the target already holds returns that memory \
                       (created: false)."
    )]
    async fn memory_promote(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(p): Parameters<PromoteParams>,
    ) -> Result<Json<PromotedDto>, ToolError> {
        let caller = self.caller(&ctx)?;
        Ok(Json(ops::promote(&self.engine, &caller, &p.id, p.to.as_deref()).await?))
    }

    #[tool(
        name = "memory_forget",
        description = "Delete a memory by id, when it is wrong, obsolete or should not be kept. To correct a \
                       memory instead, store the correction with `supersedes` set to its id."
    )]
    async fn memory_forget(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(p): Parameters<ForgetParams>,
    ) -> Result<Json<Forgotten>, ToolError> {
        let caller = self.caller(&ctx)?;
        Ok(Json(ops::forget(&self.engine, &caller, &p.id).await?))
    }

    #[tool(
        name = "memory_report_outcome",
        description = "Report whether recalled memories helped: outcome \"helpful\", \"unhelpful\" or a reward in \
                       -1..=1, for the memory ids it is about. Reports tune how memories rank in later recalls."
    )]
    async fn memory_report_outcome(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(body): Parameters<OutcomeBody>,
    ) -> Result<Json<Reported>, ToolError> {
        let caller = self.caller(&ctx)?;
        Ok(Json(ops::report_outcome(&self.engine, &caller, &body).await?))
    }

    #[tool(
        name = "memory_namespaces",
        description = "List the namespaces you may see, with what each is for and how many memories it holds. \
                       Optional filters: team, sensitivity (normal, sensitive, restricted), kind (default, shared, \
                       self, project, branch, team-project, explicit) and status (active, archived, deleted)."
    )]
    async fn memory_namespaces(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(p): Parameters<NamespacesParams>,
    ) -> Result<Json<NamespaceList>, ToolError> {
        let caller = self.caller(&ctx)?;
        let filter = p.filter()?;
        Ok(Json(ops::namespaces(&self.engine, &caller, &filter).await?))
    }

    #[tool(
        name = "memory_consolidate",
        description = "Distil the new episodes of a namespace (default: your write namespace) into durable \
                       semantic and procedural memories: restatements add evidence, corrections supersede, and \
                       identity statements are only proposed for review (see memory_proposals_list). Optional: \
                       namespace, max_episodes. Running it again reads only episodes remembered since."
    )]
    async fn memory_consolidate(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(body): Parameters<ConsolidateBody>,
    ) -> Result<Json<ConsolidationDto>, ToolError> {
        let caller = self.caller(&ctx)?;
        Ok(Json(ops::consolidate(&self.engine, &caller, &body, &mut |_| {}).await?))
    }

    #[tool(
        name = "memory_proposals_list",
        description = "List the review queue: identity memories consolidation proposed but never wrote, in the \
                       namespaces you may write. Optional: namespace, status (pending, approved, rejected), cursor \
                       and limit. Approve or reject each with memory_proposal_approve / memory_proposal_reject."
    )]
    async fn memory_proposals_list(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(q): Parameters<ProposalsQuery>,
    ) -> Result<Json<ProposalPage>, ToolError> {
        let caller = self.caller(&ctx)?;
        Ok(Json(ops::proposals(&self.engine, &caller, &q).await?))
    }

    #[tool(
        name = "memory_proposal_approve",
        description = "Approve a pending proposal by id: its memory is written (as you, so you must be allowed to \
                       write its namespace), superseding the statement it corrects. Answers the proposal and the \
                       memory."
    )]
    async fn memory_proposal_approve(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(p): Parameters<ProposalIdParams>,
    ) -> Result<Json<ProposalApproved>, ToolError> {
        let caller = self.caller(&ctx)?;
        Ok(Json(ops::approve_proposal(&self.engine, &caller, &p.id).await?))
    }

    #[tool(
        name = "memory_proposal_reject",
        description = "Reject a pending proposal by id, when what it says is wrong or should not be kept: nothing \
                       is written, and the decision is recorded."
    )]
    async fn memory_proposal_reject(
        &self,
        ctx: RequestContext<RoleServer>,
        Parameters(p): Parameters<ProposalIdParams>,
    ) -> Result<Json<ProposalRejected>, ToolError> {
        let caller = self.caller(&ctx)?;
        Ok(Json(ops::reject_proposal(&self.engine, &caller, &p.id).await?))
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("memory", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Long-term memory: recall relevant memories before a task, store what is worth keeping after, \
                 and report whether recalled memories helped.",
            )
    }
}
