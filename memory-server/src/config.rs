//! The server's settings: limits with sane defaults, every one configurable in the `[server]`
//! section of `memory.toml` (handed over by the one configuration loader, validated here as
//! strictly: an unknown key or a wrong type is an error naming its path) and, for the rate,
//! by `MEMORY_RATE_PER_SECOND`.

use std::time::Duration;

use memory_core::{Error, Result};
use serde::Deserialize;

/// The configuration section this crate owns.
pub const SECTION: &str = "server";

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
    /// How long a running server waits between maintenance cycles of every tenant (SPEC 7);
    /// `None`: no scheduled maintenance.
    pub maintenance_interval: Option<Duration>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 8 * 1024 * 1024,
            max_batch: memory_engine::MAX_BATCH,
            max_recall_limit: memory_engine::MAX_RECALL_LIMIT,
            request_timeout: Duration::from_secs(30),
            rate_per_second: 1000,
            rate_burst: 2000,
            flush_every: Duration::from_secs(60),
            maintenance_interval: Some(Duration::from_secs(600)),
        }
    }
}

/// `[server]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    max_body_bytes: Option<usize>,
    max_batch: Option<usize>,
    max_recall_limit: Option<usize>,
    request_timeout_secs: Option<u64>,
    rate_per_second: Option<u32>,
    rate_burst: Option<u32>,
    flush_every_secs: Option<u64>,
    maintenance_interval_secs: Option<u64>,
}

impl ServerConfig {
    /// The defaults, overridden by the `[server]` section (when there is one), then by
    /// `MEMORY_RATE_PER_SECOND` in `env` (a lookup of environment variables).
    pub fn load(section: Option<&serde_json::Value>, env: impl Fn(&str) -> Option<String>) -> Result<ServerConfig> {
        let s: Section = match section {
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| Error::invalid_input(format!("invalid configuration: {SECTION}: {e}")))?,
            None => Section::default(),
        };
        let d = ServerConfig::default();
        let positive = |name: &str, v: Option<usize>, default: usize| match v {
            Some(0) => {
                Err(Error::invalid_input(format!("invalid configuration: {SECTION}.{name}: must be at least 1")))
            }
            Some(v) => Ok(v),
            None => Ok(default),
        };
        let mut c = ServerConfig {
            max_body_bytes: positive("max_body_bytes", s.max_body_bytes, d.max_body_bytes)?,
            max_batch: positive("max_batch", s.max_batch, d.max_batch)?.min(memory_engine::MAX_BATCH),
            max_recall_limit: positive("max_recall_limit", s.max_recall_limit, d.max_recall_limit)?
                .min(memory_engine::MAX_RECALL_LIMIT),
            request_timeout: Duration::from_secs(positive(
                "request_timeout_secs",
                s.request_timeout_secs.map(|v| v as usize),
                30,
            )? as u64),
            rate_per_second: s.rate_per_second.unwrap_or(d.rate_per_second),
            rate_burst: s.rate_burst.unwrap_or(d.rate_burst),
            flush_every: Duration::from_secs(
                positive("flush_every_secs", s.flush_every_secs.map(|v| v as usize), 60)? as u64
            ),
            // 0 turns scheduled maintenance off.
            maintenance_interval: match s.maintenance_interval_secs {
                Some(0) => None,
                Some(secs) => Some(Duration::from_secs(secs)),
                None => d.maintenance_interval,
            },
        };
        if let Some(raw) = env("MEMORY_RATE_PER_SECOND") {
            c.rate_per_second = raw.trim().parse().map_err(|_| {
                Error::invalid_input(format!(
                    "MEMORY_RATE_PER_SECOND: expected a whole number (0: no limit), got {raw:?}"
                ))
            })?;
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_overrides_defaults_and_rejects_unknown_keys() {
        let none = |_: &str| None;
        assert_eq!(ServerConfig::load(None, none).unwrap(), ServerConfig::default());
        let v = serde_json::json!({ "max_body_bytes": 1024, "rate_per_second": 5, "request_timeout_secs": 2 });
        let c = ServerConfig::load(Some(&v), none).unwrap();
        assert_eq!((c.max_body_bytes, c.rate_per_second, c.request_timeout), (1024, 5, Duration::from_secs(2)));
        let e = ServerConfig::load(Some(&serde_json::json!({ "colour": 1 })), none).unwrap_err();
        assert!(e.message().contains("server") && e.message().contains("colour"), "{e}");
        let e = ServerConfig::load(Some(&serde_json::json!({ "max_batch": 0 })), none).unwrap_err();
        assert!(e.message().contains("server.max_batch"), "{e}");
        let env = |k: &str| (k == "MEMORY_RATE_PER_SECOND").then(|| "0".to_owned());
        assert_eq!(ServerConfig::load(None, env).unwrap().rate_per_second, 0);
        let bad = |_: &str| Some("lots".to_owned());
        assert!(ServerConfig::load(None, bad).is_err());
    }

    #[test]
    fn maintenance_runs_every_ten_minutes_unless_set_or_turned_off() {
        let none = |_: &str| None;
        assert_eq!(ServerConfig::default().maintenance_interval, Some(Duration::from_secs(600)));
        let every = |secs: i64| {
            let v = serde_json::json!({ "maintenance_interval_secs": secs });
            ServerConfig::load(Some(&v), none)
        };
        assert_eq!(every(30).unwrap().maintenance_interval, Some(Duration::from_secs(30)));
        assert_eq!(every(0).unwrap().maintenance_interval, None);
        let e = every(-1).unwrap_err();
        assert!(e.message().contains("server") && e.message().contains("-1"), "{e}");
        let e =
            ServerConfig::load(Some(&serde_json::json!({ "maintenance_interval_secs": "often" })), none).unwrap_err();
        assert!(e.message().contains("server"), "{e}");
    }

    /// docs/configuration.md shows every key of the section in its `[server]` example. The
    /// destructuring fails to compile when a key is added, so the list cannot fall behind.
    #[test]
    fn the_configuration_reference_shows_every_key() {
        let Section {
            max_body_bytes: _,
            max_batch: _,
            max_recall_limit: _,
            request_timeout_secs: _,
            rate_per_second: _,
            rate_burst: _,
            flush_every_secs: _,
            maintenance_interval_secs: _,
        } = Section::default();
        let keys = [
            "max_body_bytes",
            "max_batch",
            "max_recall_limit",
            "request_timeout_secs",
            "rate_per_second",
            "rate_burst",
            "flush_every_secs",
            "maintenance_interval_secs",
        ];
        let doc = include_str!("../../docs/configuration.md");
        let section = doc.split("[server]\n").nth(1).expect("a [server] example");
        for key in keys {
            assert!(
                section.lines().any(|l| l.starts_with(&format!("{key} ="))),
                "{key} is not in the [server] example"
            );
        }
    }
}
