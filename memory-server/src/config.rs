//! The server's settings: limits with sane defaults, every one configurable.

use std::time::Duration;

/// How the server runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// Largest request body, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Most memories of one batch write.
    pub max_batch: usize,
    /// Largest `limit` of a recall.
    pub max_recall_limit: usize,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Sustained requests per second per tenant (429 with `Retry-After` above it; 0: no limit).
    pub rate_per_second: u32,
    /// Requests a tenant may make at once above the sustained rate.
    pub rate_burst: u32,
    /// How often a running server saves its index.
    pub flush_every: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 8 * 1024 * 1024,
            max_batch: memory_engine::MAX_BATCH,
            max_recall_limit: 100,
            request_timeout: Duration::from_secs(30),
            rate_per_second: 1000,
            rate_burst: 2000,
            flush_every: Duration::from_secs(60),
        }
    }
}
