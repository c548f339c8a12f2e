//! The routes: each parses its request, calls the engine (through [`crate::ops`] where MCP does
//! the same), and answers with a DTO. The OpenAPI document is generated from these handlers.

use std::io::Cursor;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use memory_core::{ApiKeyId, NamespaceFilter, PageRequest};
use memory_engine::{Caller, ExportRequest, ImportRequest, ListRequest, Message, NewKey};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::App;
use super::error::{ApiError, Body, Path, Query};
use super::metrics;
use crate::dto::{
    self, AuditDto, AuditPage, BatchWritten, ConsolidateBody, ConsolidationDto, CreateBatch, CreateKey, CreateMemory,
    CreateNamespace, EntitiesQuery, EntityMemoriesDto, EntityPage, ErrorBody, Forgotten, Health, IssuedKeyDto,
    JobRunList, KeyDto, KeyList, KeyRevoked, MaintainBody, MaintenanceDto, MaintenanceQuery, MemoryDto, MemoryPage,
    MigrateBody, MigrationDto, NamespaceChange, NamespaceDto, NamespaceList, Observed, OutcomeBody, PageQuery,
    PromoteBody, PromotedDto, ProposalApproved, ProposalPage, ProposalRejected, ProposalsQuery, RecallBody,
    RecallResponse, Reported, TransferDto, UpdateKey, UpdateNamespace, WrittenDto,
};
use crate::ops;

type AppState = State<Arc<App>>;
type Result<T> = std::result::Result<T, ApiError>;

#[derive(OpenApi)]
#[openapi(
    info(title = "memory", description = "A memory system for AI agents: the HTTP API."),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The authenticated API under `/v1`.
pub(super) fn api() -> OpenApiRouter<Arc<App>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(create_memory, list_memories))
        .routes(routes!(create_batch))
        .routes(routes!(get_memory, delete_memory))
        .routes(routes!(promote))
        .routes(routes!(recall))
        .routes(routes!(observe))
        .routes(routes!(outcomes))
        .routes(routes!(list_namespaces, create_namespace))
        .routes(routes!(get_namespace, update_namespace, delete_namespace))
        .routes(routes!(archive_namespace))
        .routes(routes!(restore_namespace))
        .routes(routes!(migrate_namespace))
        .routes(routes!(create_key, list_keys))
        .routes(routes!(get_key, update_key, revoke_key))
        .routes(routes!(plan))
        .routes(routes!(audit))
        .routes(routes!(export))
        .routes(routes!(import))
        .routes(routes!(consolidate))
        .routes(routes!(list_proposals))
        .routes(routes!(approve_proposal))
        .routes(routes!(reject_proposal))
        .routes(routes!(list_entities))
        .routes(routes!(get_entity))
        .routes(routes!(maintain, maintenance_status))
}

/// The routes without a key: health, readiness, metrics and the OpenAPI document.
pub(super) fn open(openapi: Arc<utoipa::openapi::OpenApi>) -> axum::Router<Arc<App>> {
    let doc = move || {
        let openapi = openapi.clone();
        async move { axum::Json(openapi.as_ref().clone()) }
    };
    axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .route("/metrics", axum::routing::get(prometheus))
        .route("/openapi.json", axum::routing::get(doc))
}

// ---- memories -----------------------------------------------------------------------------

/// Remember a memory: 201 when new, 200 with `duplicate: true` when the namespace and layer
/// already held the content.
#[utoipa::path(post, path = "/v1/memories", request_body = CreateMemory, security(("bearer" = [])),
    responses((status = 201, body = WrittenDto), (status = 200, body = WrittenDto), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn create_memory(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Body(body): Body<CreateMemory>,
) -> Result<Response> {
    if body.content.len() > app.config.max_body_bytes {
        return Err(ApiError::too_large("content is larger than the server accepts"));
    }
    let w = ops::store(&app.engine, &caller, &body, None).await?;
    let status = if w.duplicate { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, axum::Json(w)).into_response())
}

/// Remember several memories at once; the batch is validated whole (one bad memory: 400,
/// nothing written).
#[utoipa::path(post, path = "/v1/memories/batch", request_body = CreateBatch, security(("bearer" = [])),
    responses((status = 201, body = BatchWritten), (status = 400, body = ErrorBody)))]
async fn create_batch(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Body(body): Body<CreateBatch>,
) -> Result<Response> {
    let memories = ops::store_batch(&app.engine, &caller, &body, app.config.max_batch).await?;
    Ok((StatusCode::CREATED, axum::Json(BatchWritten { memories })).into_response())
}

/// One memory the caller may read (404 otherwise, whether it exists or not).
#[utoipa::path(get, path = "/v1/memories/{id}", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = MemoryDto), (status = 404, body = ErrorBody)))]
async fn get_memory(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<MemoryDto>> {
    let id = dto::memory_id("id", &id)?;
    let m = app.engine.get(&caller, id).await?;
    Ok(axum::Json(MemoryDto::from(&m)))
}

/// Delete a memory.
#[utoipa::path(delete, path = "/v1/memories/{id}", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = Forgotten), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_memory(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<Forgotten>> {
    Ok(axum::Json(ops::forget(&app.engine, &caller, &id).await?))
}

/// Filters of a memory listing.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    /// Only this namespace [default: every readable one].
    namespace: Option<String>,
    /// Only this layer.
    layer: Option<String>,
    /// Only this category.
    category: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (1..=1000, default 100).
    limit: Option<usize>,
}

/// A page of the memories the caller may read, in id order.
#[utoipa::path(get, path = "/v1/memories", params(ListQuery), security(("bearer" = [])),
    responses((status = 200, body = MemoryPage), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn list_memories(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<MemoryPage>> {
    let mut request = ListRequest::default();
    if let Some(ns) = &q.namespace {
        dto::namespace_key("namespace", ns)?;
        request.namespaces = vec![ns.clone()];
    }
    request.layers = q.layer.as_deref().map(|l| dto::parse("layer", l).map(|l| vec![l])).transpose()?;
    request.category = q
        .category
        .as_deref()
        .map(|c| memory_core::Category::new(c).map_err(|e| ApiError::invalid(format!("category: {}", e.message()))))
        .transpose()?;
    let page = page_request(q.cursor, q.limit)?;
    let page = app.engine.list(&caller, &request, &page).await?;
    Ok(axum::Json(MemoryPage {
        memories: page.items.iter().map(MemoryDto::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

fn page_request(cursor: Option<String>, limit: Option<usize>) -> Result<PageRequest> {
    Ok(dto::page_request(cursor, limit)?)
}

/// Copy a memory into a promotion target (default: the first authorized one).
#[utoipa::path(post, path = "/v1/memories/{id}/promote", params(("id" = String, Path)), request_body = PromoteBody,
    security(("bearer" = [])),
    responses((status = 201, body = PromotedDto), (status = 200, body = PromotedDto), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn promote(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response> {
    // The body is optional: none promotes to the first authorized target.
    let to = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<PromoteBody>(&body)
            .map_err(|e| ApiError::invalid(format!("invalid JSON body: {e}")))?
            .to
    };
    let p = ops::promote(&app.engine, &caller, &id, to.as_deref()).await?;
    let status = if p.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, axum::Json(p)).into_response())
}

// ---- recall, observe, outcomes ------------------------------------------------------------

/// Recall what matters for a query: pinned memories first, then the best ranked ones.
#[utoipa::path(post, path = "/v1/recall", request_body = RecallBody, security(("bearer" = [])),
    responses((status = 200, body = RecallResponse), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn recall(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Body(body): Body<RecallBody>,
) -> Result<axum::Json<RecallResponse>> {
    let r = ops::recall(&app.engine, &caller, &body, app.config.max_recall_limit).await?;
    metrics::recall_outcome(&r.outcome);
    Ok(axum::Json(r))
}

/// Remember chat messages as episodes of the session's conversation.
#[utoipa::path(post, path = "/v1/observe", request_body = dto::ObserveBody, security(("bearer" = [])),
    responses((status = 202, body = Observed), (status = 400, body = ErrorBody)))]
async fn observe(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Body(body): Body<dto::ObserveBody>,
) -> Result<Response> {
    if body.messages.len() > app.config.max_batch {
        return Err(ApiError::invalid(format!("messages: at most {} per request", app.config.max_batch)));
    }
    let caller = ops::with_session_key(&caller, Some(&body.session_key))?;
    if let Some(ns) = &body.namespace {
        dto::namespace_key("namespace", ns)?;
    }
    let messages = body.messages.iter().map(|m| Message { role: m.role.clone(), content: m.content.clone() }).collect();
    let written = app.engine.observe(&caller, None, body.namespace.as_deref(), messages).await?;
    let memories = ops::written(&app.engine, &caller, &written).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(Observed { memories })).into_response())
}

/// Report how useful recalled memories were.
#[utoipa::path(post, path = "/v1/outcomes", request_body = OutcomeBody, security(("bearer" = [])),
    responses((status = 200, body = Reported), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn outcomes(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Body(body): Body<OutcomeBody>,
) -> Result<axum::Json<Reported>> {
    Ok(axum::Json(ops::report_outcome(&app.engine, &caller, &body).await?))
}

// ---- namespaces ---------------------------------------------------------------------------

/// Filters of the catalog.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct NamespaceQuery {
    /// Only this team's.
    team: Option<String>,
    /// normal, sensitive or restricted.
    sensitivity: Option<String>,
    /// default, shared, self, project, branch, team-project or explicit.
    kind: Option<String>,
    /// active, archived or deleted [default: active and archived].
    status: Option<String>,
}

/// The namespaces the caller may read (every one for an admin key).
#[utoipa::path(get, path = "/v1/namespaces", params(NamespaceQuery), security(("bearer" = [])),
    responses((status = 200, body = NamespaceList), (status = 400, body = ErrorBody)))]
async fn list_namespaces(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Query(q): Query<NamespaceQuery>,
) -> Result<axum::Json<NamespaceList>> {
    let mut filter = NamespaceFilter::default();
    filter.team = q.team;
    filter.sensitivity = q.sensitivity.as_deref().map(|s| dto::parse("sensitivity", s)).transpose()?;
    filter.kind = q.kind.as_deref().map(|s| dto::parse("kind", s)).transpose()?;
    filter.status = q.status.as_deref().map(|s| dto::parse("status", s)).transpose()?;
    Ok(axum::Json(ops::namespaces(&app.engine, &caller, &filter).await?))
}

/// Create a namespace (admin keys).
#[utoipa::path(post, path = "/v1/namespaces", request_body = CreateNamespace, security(("bearer" = [])),
    responses((status = 201, body = NamespaceDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn create_namespace(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Body(body): Body<CreateNamespace>,
) -> Result<Response> {
    let patch = body.patch()?;
    let ns = app.engine.create_namespace(&caller, &body.key()?, &patch).await?;
    Ok((StatusCode::CREATED, axum::Json(NamespaceDto::from(&ns))).into_response())
}

/// One namespace, with its live memory count.
#[utoipa::path(get, path = "/v1/namespaces/{key}", params(("key" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = NamespaceDto), (status = 404, body = ErrorBody)))]
async fn get_namespace(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
) -> Result<axum::Json<NamespaceDto>> {
    let info = app.engine.namespace(&caller, &key).await?;
    Ok(axum::Json(NamespaceDto::from(&info)))
}

/// Change a namespace's attributes (admin keys); its key never changes.
#[utoipa::path(patch, path = "/v1/namespaces/{key}", params(("key" = String, Path)), request_body = UpdateNamespace,
    security(("bearer" = [])),
    responses((status = 200, body = NamespaceDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn update_namespace(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    Body(body): Body<UpdateNamespace>,
) -> Result<axum::Json<NamespaceDto>> {
    let ns = app.engine.update_namespace(&caller, &key, &body.patch()?).await?;
    Ok(axum::Json(NamespaceDto::from(&ns)))
}

/// Delete a namespace (admin keys): its memories stop being retrievable at once.
#[utoipa::path(delete, path = "/v1/namespaces/{key}", params(("key" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = NamespaceChange), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn delete_namespace(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
) -> Result<axum::Json<NamespaceChange>> {
    let changed = app.engine.delete_namespace(&caller, &key).await?;
    Ok(axum::Json(NamespaceChange { namespace: key, status: "deleted".into(), changed }))
}

/// Move every memory of a namespace into another (seeds/002 `namespaces migrate`): without
/// `apply` only the plan (counts, duplicates that merge, conflicts); with it, atomic batches,
/// resumable, audited, ids and history kept, the source left empty but not deleted.
#[utoipa::path(post, path = "/v1/namespaces/{key}/migrate", params(("key" = String, Path)), request_body = MigrateBody,
    security(("bearer" = [])),
    responses((status = 200, body = MigrationDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn migrate_namespace(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
    Body(body): Body<MigrateBody>,
) -> Result<axum::Json<MigrationDto>> {
    let migration = app.engine.migrate_namespace(&caller, &body.request(&key)).await?;
    Ok(axum::Json(MigrationDto::from(&migration)))
}

/// Archive a namespace (admin keys): no reads or writes until restored.
#[utoipa::path(post, path = "/v1/namespaces/{key}/archive", params(("key" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = NamespaceChange), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn archive_namespace(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
) -> Result<axum::Json<NamespaceChange>> {
    let changed = app.engine.archive_namespace(&caller, &key).await?;
    Ok(axum::Json(NamespaceChange { namespace: key, status: "archived".into(), changed }))
}

/// Restore an archived namespace (admin keys).
#[utoipa::path(post, path = "/v1/namespaces/{key}/restore", params(("key" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = NamespaceChange), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn restore_namespace(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(key): Path<String>,
) -> Result<axum::Json<NamespaceChange>> {
    let changed = app.engine.restore_namespace(&caller, &key).await?;
    Ok(axum::Json(NamespaceChange { namespace: key, status: "active".into(), changed }))
}

// ---- keys ---------------------------------------------------------------------------------

fn key_id(raw: &str) -> Result<ApiKeyId> {
    raw.trim().parse::<ApiKeyId>().map_err(|e| ApiError::invalid(format!("id: {}", e.message())))
}

/// Issue a key (admin keys); the secret is in this answer only.
#[utoipa::path(post, path = "/v1/keys", request_body = CreateKey, security(("bearer" = [])),
    responses((status = 201, body = IssuedKeyDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_key(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Body(body): Body<CreateKey>,
) -> Result<Response> {
    let new = NewKey {
        label: body.label.clone().unwrap_or_else(|| body.principal.clone()),
        principal: body.principal,
        scopes: dto::parse_scopes(body.scopes.as_deref().unwrap_or_default())?,
        default_namespace: body
            .default_namespace
            .as_deref()
            .map(|n| dto::namespace_key("default_namespace", n))
            .transpose()?,
        admin: body.admin,
    };
    let issued = app.engine.create_key(&caller, new).await?;
    Ok((StatusCode::CREATED, axum::Json(IssuedKeyDto::from(&issued))).into_response())
}

/// The tenant's keys, revoked ones included (admin keys).
#[utoipa::path(get, path = "/v1/keys", security(("bearer" = [])),
    responses((status = 200, body = KeyList), (status = 403, body = ErrorBody)))]
async fn list_keys(State(app): AppState, Extension(caller): Extension<Caller>) -> Result<axum::Json<KeyList>> {
    let keys = app.engine.list_keys(&caller).await?;
    Ok(axum::Json(KeyList { keys: keys.iter().map(KeyDto::from).collect() }))
}

/// One key (admin keys).
#[utoipa::path(get, path = "/v1/keys/{id}", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = KeyDto), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_key(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<KeyDto>> {
    let key = app.engine.get_key(&caller, key_id(&id)?).await?;
    Ok(axum::Json(KeyDto::from(&key)))
}

/// Replace a key's scopes and default namespace (admin keys).
#[utoipa::path(patch, path = "/v1/keys/{id}", params(("id" = String, Path)), request_body = UpdateKey,
    security(("bearer" = [])),
    responses((status = 200, body = KeyDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_key(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Body(body): Body<UpdateKey>,
) -> Result<axum::Json<KeyDto>> {
    let id = key_id(&id)?;
    let current = app.engine.get_key(&caller, id).await?;
    let scopes = match &body.scopes {
        Some(s) => dto::parse_scopes(s)?,
        None => current.scopes,
    };
    let default_namespace = match &body.default_namespace {
        Some(d) => d.as_deref().map(|n| dto::namespace_key("default_namespace", n)).transpose()?,
        None => current.default_namespace,
    };
    let key = app.engine.update_key_scopes(&caller, id, scopes, default_namespace).await?;
    Ok(axum::Json(KeyDto::from(&key)))
}

/// Revoke a key (admin keys): it authenticates nothing from now on.
#[utoipa::path(delete, path = "/v1/keys/{id}", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = KeyRevoked), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn revoke_key(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<KeyRevoked>> {
    let changed = app.engine.revoke_key(&caller, key_id(&id)?).await?;
    Ok(axum::Json(KeyRevoked { key: id, changed }))
}

// ---- plan, audit, export, import ----------------------------------------------------------

/// What to plan.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct PlanQuery {
    /// Namespaces to read, comma-separated (`*` = every readable one) [default: the default
    /// read set].
    namespaces: Option<String>,
    /// An explicit write namespace [default: the write default].
    write: Option<String>,
    /// The client's session key.
    session_key: Option<String>,
    /// With `*`: also read sensitive namespaces.
    include_sensitive: Option<bool>,
}

/// The caller's scope plan: as whom, reading where in which order, writing where, and why.
#[utoipa::path(get, path = "/v1/plan", params(PlanQuery), security(("bearer" = [])),
    responses((status = 200, description = "The scope plan", body = Object)))]
async fn plan(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Query(q): Query<PlanQuery>,
) -> Result<Response> {
    let caller = ops::with_session_key(&caller, q.session_key.as_deref())?;
    let names: Vec<String> = q
        .namespaces
        .as_deref()
        .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let plan = app.engine.inspect(&caller, &names, q.write, q.include_sensitive.unwrap_or(false)).await?;
    Ok(axum::Json(plan).into_response())
}

/// Which audit records.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Only this namespace's.
    namespace: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size (1..=1000, default 100).
    limit: Option<usize>,
}

/// A page of the audit log (admin keys; others, of namespaces they may write).
#[utoipa::path(get, path = "/v1/audit", params(AuditQuery), security(("bearer" = [])),
    responses((status = 200, body = AuditPage), (status = 403, body = ErrorBody)))]
async fn audit(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Query(q): Query<AuditQuery>,
) -> Result<axum::Json<AuditPage>> {
    let page = page_request(q.cursor, q.limit)?;
    let page = app.engine.audit_log(&caller, q.namespace.as_deref(), &page).await?;
    Ok(axum::Json(AuditPage {
        records: page.items.iter().map(AuditDto::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// What to export.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ExportQuery {
    /// Namespaces, comma-separated [default: every one the caller may read].
    namespace: Option<String>,
    /// Include the audit records (`true`).
    audit: Option<bool>,
}

/// Namespaces and their memories as JSON lines (the export format), only what the caller may
/// read, streamed as it is written.
#[utoipa::path(get, path = "/v1/export", params(ExportQuery), security(("bearer" = [])),
    responses((status = 200, description = "JSON lines", content_type = "application/x-ndjson"),
        (status = 404, body = ErrorBody)))]
async fn export(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ExportQuery>,
) -> Result<Response> {
    let request = ExportRequest {
        namespaces: q
            .namespace
            .as_deref()
            .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default(),
        audit: q.audit.unwrap_or(false),
    };
    super::stream::export(app.engine.clone(), caller, request).await
}

/// Which tenant an import may come from.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// Accept a file exported from this other tenant.
    from_tenant: Option<String>,
    /// Import an export of one namespace into this namespace instead.
    namespace: Option<String>,
}

/// Read an export file (the body, JSON lines) into the caller's tenant; all of it is checked
/// first, and nothing is written when any of it is refused.
#[utoipa::path(post, path = "/v1/import", params(ImportQuery), request_body(content = String, content_type = "application/x-ndjson"),
    security(("bearer" = [])),
    responses((status = 200, body = TransferDto), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn import(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Result<axum::Json<TransferDto>> {
    let request = ImportRequest { from_tenant: q.from_tenant, namespace: q.namespace };
    let mut input = Cursor::new(body.to_vec());
    let report = app.engine.import(&caller, &mut input, &request, &mut |_| {}).await?;
    Ok(axum::Json(TransferDto::from(&report)))
}

// ---- consolidation, proposals, entities, maintenance ---------------------------------------

/// Consolidate the new episodes of one namespace (the caller must read and write it) into
/// semantic and procedural memories, entity links and identity proposals. Identity is never
/// written here: it waits in the review queue.
#[utoipa::path(post, path = "/v1/consolidate", request_body = ConsolidateBody, security(("bearer" = [])),
    responses((status = 200, body = ConsolidationDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn consolidate(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Body(body): Body<ConsolidateBody>,
) -> Result<axum::Json<ConsolidationDto>> {
    Ok(axum::Json(ops::consolidate(&app.engine, &caller, &body, &mut |_| {}).await?))
}

/// A page of the review queue: proposals of the namespaces the caller may write (every one
/// for an admin key).
#[utoipa::path(get, path = "/v1/proposals", params(ProposalsQuery), security(("bearer" = [])),
    responses((status = 200, body = ProposalPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_proposals(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Query(q): Query<ProposalsQuery>,
) -> Result<axum::Json<ProposalPage>> {
    Ok(axum::Json(ops::proposals(&app.engine, &caller, &q).await?))
}

/// Approve a pending proposal: its memory is written as the reviewer (who must be allowed to
/// write it), superseding what it corrects.
#[utoipa::path(post, path = "/v1/proposals/{id}/approve", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProposalApproved), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn approve_proposal(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<ProposalApproved>> {
    Ok(axum::Json(ops::approve_proposal(&app.engine, &caller, &id).await?))
}

/// Reject a pending proposal; nothing is written.
#[utoipa::path(post, path = "/v1/proposals/{id}/reject", params(("id" = String, Path)), security(("bearer" = [])),
    responses((status = 200, body = ProposalRejected), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn reject_proposal(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<ProposalRejected>> {
    Ok(axum::Json(ops::reject_proposal(&app.engine, &caller, &id).await?))
}

/// A page of the named entities of the namespaces the caller reads.
#[utoipa::path(get, path = "/v1/entities", params(EntitiesQuery), security(("bearer" = [])),
    responses((status = 200, body = EntityPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn list_entities(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Query(q): Query<EntitiesQuery>,
) -> Result<axum::Json<EntityPage>> {
    Ok(axum::Json(ops::entities(&app.engine, &caller, &q).await?))
}

/// One entity and a page of the memories that mention it (404 unless its namespace is
/// readable).
#[utoipa::path(get, path = "/v1/entities/{id}", params(("id" = String, Path), PageQuery), security(("bearer" = [])),
    responses((status = 200, body = EntityMemoriesDto), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_entity(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<axum::Json<EntityMemoriesDto>> {
    Ok(axum::Json(ops::entity(&app.engine, &caller, &id, &q).await?))
}

/// Run one maintenance cycle now (admin keys): every job on each namespace the budget covers,
/// each under its lock; one failing never stops the others.
#[utoipa::path(post, path = "/v1/maintenance", request_body = MaintainBody, security(("bearer" = [])),
    responses((status = 200, body = MaintenanceDto), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn maintain(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Body(body): Body<MaintainBody>,
) -> Result<axum::Json<MaintenanceDto>> {
    Ok(axum::Json(ops::maintain(&app.engine, &caller, &body, &mut |_, _| {}).await?))
}

/// The latest status record of every maintenance job and namespace (admin keys).
#[utoipa::path(get, path = "/v1/maintenance", params(MaintenanceQuery), security(("bearer" = [])),
    responses((status = 200, body = JobRunList), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn maintenance_status(
    State(app): AppState,
    Extension(caller): Extension<Caller>,
    Query(q): Query<MaintenanceQuery>,
) -> Result<axum::Json<JobRunList>> {
    Ok(axum::Json(ops::maintenance_status(&app.engine, &caller, q.namespace.as_deref()).await?))
}

// ---- health -------------------------------------------------------------------------------

fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Alive.
async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok".into(), embedder: None, version: version() })
}

/// Ready once the default tenant is open (its index caught up with the store); 503 before.
async fn readyz(State(app): AppState) -> Response {
    if !app.ready.load(Ordering::SeqCst) {
        match app.engine.open_tenant(&memory_core::TenantId::default_tenant()).await {
            Ok(_) => app.ready.store(true, Ordering::SeqCst),
            Err(e) => {
                let mut e = ApiError::from(e);
                if e.status() != StatusCode::SERVICE_UNAVAILABLE {
                    e = ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "unavailable",
                        "not ready: cannot open the store",
                    );
                }
                return e.into_response();
            }
        }
    }
    axum::Json(Health { status: "ready".into(), embedder: Some(app.embedder.clone()), version: version() })
        .into_response()
}

/// Prometheus text format.
async fn prometheus(State(app): AppState) -> Response {
    metrics::index_sizes(&app.engine.index_sizes());
    let text = metrics::handle().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}
