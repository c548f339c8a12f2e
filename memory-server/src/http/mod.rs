//! The HTTP API (axum): [`router`] builds it over one engine, [`serve`] runs it until a
//! shutdown signal, then drains requests and flushes the index.
//!
//! A request travels: metrics and limits (body size, timeout, secret headers kept out of logs)
//! -> [`auth`] (bearer key -> tenant and caller, per-tenant rate limit) -> a route of
//! [`routes`] -> the shared operation in [`crate::ops`] -> the engine.

mod auth;
mod error;
mod metrics;
mod routes;
mod stream;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use memory_core::ApiKeyId;
use memory_engine::Engine;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

pub use self::error::ApiError;
use crate::config::ServerConfig;

/// What every request handler shares.
#[derive(Debug)]
pub(crate) struct App {
    pub engine: Engine,
    pub config: ServerConfig,
    /// The key of the local operator credential (`memory serve` leaves it in the home), which
    /// may act as any principal of its tenant, as the local CLI does on its own files.
    pub local_key: Option<ApiKeyId>,
    pub limiter: auth::TenantLimiter,
    pub ready: AtomicBool,
    pub embedder: String,
}

/// How [`router`] builds the API.
#[derive(Debug, Clone, Default)]
pub struct RouterOptions {
    /// The server's settings.
    pub config: ServerConfig,
    /// The local operator credential's key id (see [`App::local_key`]).
    pub local_key: Option<ApiKeyId>,
    /// Which embedder runs, for `/readyz`.
    pub embedder: String,
}

/// The whole HTTP API over `engine`: `/v1/...`, `/mcp`, `/healthz`, `/readyz`, `/metrics` and
/// `/openapi.json`. `/readyz` says ready once the default tenant is open.
pub fn router(engine: Engine, options: RouterOptions) -> Router {
    let app = Arc::new(App {
        limiter: auth::TenantLimiter::new(options.config.rate_per_second, options.config.rate_burst),
        engine,
        local_key: options.local_key,
        ready: AtomicBool::new(false),
        embedder: options.embedder,
        config: options.config,
    });
    let (api, openapi) = routes::api().split_for_parts();
    let openapi = Arc::new(openapi);
    let mcp = crate::mcp::http_service(crate::mcp::McpServer::new(
        app.engine.clone(),
        None,
        None,
        app.config.max_recall_limit,
    ));
    let authed = api
        .nest_service("/mcp", mcp)
        .layer(axum::middleware::from_fn_with_state(app.clone(), auth::authenticate))
        .with_state(app.clone());
    let open = routes::open(openapi).with_state(app.clone());
    let timeout = app.config.request_timeout;
    authed
        .merge(open)
        .fallback(|| async { ApiError::no_route() })
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(DefaultBodyLimit::max(app.config.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(timeout, deadline))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
        .layer(CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed on this request",
            ))
        }))
        .layer(axum::Extension(app))
}

/// Answers 503 in the one error shape when a request outlives the request timeout (the work it
/// started is dropped with it).
async fn deadline(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => axum::response::IntoResponse::into_response(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            memory_core::ErrorKind::Unavailable.code(),
            format!("the request took longer than the server's request timeout ({} s)", limit.as_secs_f64()),
        )),
    }
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets
/// running requests finish, and flushes the index. While it runs, it opens the default tenant
/// at once (so the first requests do not pay for it; `/readyz` says when it is done), flushes
/// the index every `config.flush_every`, and runs a maintenance cycle of every tenant each
/// `config.maintenance_interval` after the last one ended (a cycle that is running when the
/// shutdown comes is finished first; none starts after it).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    engine: Engine,
    config: &ServerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let warm = engine.clone();
    tokio::spawn(async move {
        if let Err(e) = warm.open_tenant(&memory_core::TenantId::default_tenant()).await {
            eprintln!("warning: cannot open the default tenant: {}", e.message());
        }
    });
    let flusher = engine.clone();
    let flush_every = config.flush_every;
    let periodic = tokio::spawn(async move {
        let mut tick = tokio::time::interval(flush_every);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = flusher.flush().await {
                eprintln!("warning: index flush failed: {}", e.message());
            }
        }
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let maintenance =
        config.maintenance_interval.map(|every| tokio::spawn(maintain_every(engine.clone(), every, stopped)));
    let result = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
    periodic.abort();
    let _ = stop.send(true);
    if let Some(task) = maintenance {
        let _ = task.await;
    }
    let flushed = engine.flush().await;
    for notice in engine.take_notices() {
        eprintln!("warning: {notice}");
    }
    result?;
    flushed.map_err(|e| std::io::Error::other(e.message().to_owned()))
}

/// The maintenance scheduler: waits `every`, runs a cycle of every tenant, and again, until
/// `stop` turns true. A failure is a warning naming the tenant, never the end of the server.
async fn maintain_every(engine: Engine, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        // A cycle runs to its end: cutting it off would leave its job locks to go stale. It runs
        // as a task of its own, so even a panic in it is only a warning.
        let cycle = engine.clone();
        let reports =
            match tokio::spawn(async move { cycle.maintain_all(&memory_engine::MaintainRequest::default()).await })
                .await
            {
                Ok(reports) => reports,
                Err(e) => {
                    eprintln!("warning: a maintenance cycle failed: {e}");
                    Vec::new()
                }
            };
        for (tenant, report) in reports {
            match report {
                Err(e) => eprintln!("warning: maintenance of tenant {tenant} failed: {}", e.message()),
                Ok(report) => {
                    for run in report.runs.iter().filter(|r| r.status == memory_core::JobStatus::Failed) {
                        eprintln!(
                            "warning: maintenance job {} of namespace {:?} (tenant {tenant}) failed: {}",
                            run.job,
                            run.namespace.as_str(),
                            run.reason.as_deref().unwrap_or("no reason given")
                        );
                    }
                }
            }
        }
        if *stop.borrow() {
            return;
        }
    }
}
