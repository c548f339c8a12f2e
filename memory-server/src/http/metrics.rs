//! Prometheus metrics: requests by route and status, request latency, recall outcomes, index
//! sizes. One recorder per process (the `metrics` facade is global), installed on first use.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Request latency buckets, in seconds: from 0.1 ms to 10 s.
const BUCKETS: &[f64] = &[0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The process's recorder handle (installed on first call).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("memory_http_request_duration_seconds".into()), BUCKETS)
            .expect("the buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder (an embedding program's own) wins; then /metrics shows only ours,
        // which stays empty.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The middleware: counts and times every request by its route pattern and status.
pub async fn track(request: Request, next: Next) -> Response {
    handle();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("memory_http_requests_total", &labels).increment(1);
    metrics::histogram!("memory_http_request_duration_seconds", &labels).record(start.elapsed().as_secs_f64());
    response
}

/// Counts one recall by its outcome (`ok`, `empty`, `degraded`).
pub fn recall_outcome(outcome: &str) {
    metrics::counter!("memory_recall_outcomes_total", "outcome" => outcome.to_owned()).increment(1);
}

/// Sets the index gauges from the engine's open indexes (called at each scrape, so they are
/// current without a timer).
pub fn index_sizes(sizes: &[memory_engine::IndexSize]) {
    handle();
    for size in sizes {
        let tenant = size.tenant.as_str().to_owned();
        metrics::gauge!("memory_index_memories", "tenant" => tenant.clone()).set(size.memories as f64);
        metrics::gauge!("memory_index_unsaved_changes", "tenant" => tenant).set(size.unsaved as f64);
    }
}
