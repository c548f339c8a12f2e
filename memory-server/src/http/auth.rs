//! Authentication: `Authorization: Bearer <key>` names the tenant and the key's grant; the
//! caller goes into the request's extensions for the routes (and the MCP tools) to use.
//!
//! The principal is decided by the one resolver in the engine's policy: the
//! `X-Memory-Principal` header is handed to it, and it honours the header only when the
//! configuration trusts it (`memory serve --trust-principal-header`). One exception, the local
//! operator credential `memory serve` leaves in its home: it speaks for the local CLI, which
//! acts as whoever runs it on its own files, so its headers say who that is.

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use memory_core::{Principal, TenantId};
use memory_engine::Caller;

use super::App;
use super::error::ApiError;

/// The principal header (trusted only when configured so).
pub const PRINCIPAL_HEADER: &str = "x-memory-principal";
/// The local CLI's OS account (local operator credential only).
pub const ACCOUNT_HEADER: &str = "x-memory-account";
/// The local CLI acting as the operator of its home (local operator credential only).
pub const OPERATOR_HEADER: &str = "x-memory-operator";
/// The local CLI's session key (local operator credential only; bodies carry it otherwise).
pub const SESSION_KEY_HEADER: &str = "x-memory-session-key";

/// A rate limiter per tenant.
#[derive(Debug)]
pub struct TenantLimiter(Option<DefaultKeyedRateLimiter<TenantId>>);

impl TenantLimiter {
    /// `per_second` sustained with bursts of `burst`; 0 per second: no limit.
    pub fn new(per_second: u32, burst: u32) -> Self {
        TenantLimiter(NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        }))
    }

    /// `Err(seconds to wait)` when the tenant is over its rate.
    fn check(&self, tenant: &TenantId) -> Result<(), u64> {
        let Some(limiter) = &self.0 else { return Ok(()) };
        limiter.check_key(tenant).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// The middleware: 401 without a valid key, 429 over the tenant's rate, else the request goes
/// on with its [`Caller`] in the extensions.
pub async fn authenticate(State(app): State<Arc<App>>, mut request: Request, next: Next) -> Response {
    match caller(&app, request.headers()).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

async fn caller(app: &App, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
        return Err(ApiError::unauthenticated("missing API key: send Authorization: Bearer <key>"));
    };
    let secret = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::unauthenticated("malformed Authorization header: expected Bearer <key>"))?;
    let auth = app
        .engine
        .authenticate(secret)
        .await?
        .ok_or_else(|| ApiError::unauthenticated("unknown or revoked API key"))?;
    app.limiter.check(&auth.tenant).map_err(ApiError::rate_limited)?;
    let header = |name: &str| -> Result<Option<String>, ApiError> {
        match headers.get(name) {
            None => Ok(None),
            Some(v) => v
                .to_str()
                .map(|s| Some(s.trim().to_owned()))
                .map_err(|_| ApiError::invalid(format!("the {name} header is not visible ASCII"))),
        }
    };
    if app.local_key.is_some() && auth.grant.key_id == app.local_key {
        return local_caller(&auth.tenant, &header);
    }
    Ok(auth.caller(header(PRINCIPAL_HEADER)?, None))
}

/// The caller the local CLI is: who runs it (principal, session key, OS account), as the
/// operator of its home when it says so.
fn local_caller(
    tenant: &TenantId,
    header: &dyn Fn(&str) -> Result<Option<String>, ApiError>,
) -> Result<Caller, ApiError> {
    let principal = |name: &str| -> Result<Option<Principal>, ApiError> {
        header(name)?
            .map(|p| Principal::new(p).map_err(|e| ApiError::invalid(format!("{name}: {}", e.message()))))
            .transpose()
    };
    let identity = memory_engine::Identity {
        server_principal: principal(PRINCIPAL_HEADER)?,
        account: principal(ACCOUNT_HEADER)?,
        session_key: header(SESSION_KEY_HEADER)?,
        ..memory_engine::Identity::default()
    };
    let caller = Caller::new(tenant.clone(), identity);
    Ok(if header(OPERATOR_HEADER)?.as_deref() == Some("true") { caller.as_operator() } else { caller })
}
