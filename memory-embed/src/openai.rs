//! The OpenAI-compatible embedder: `POST {base_url}/v1/embeddings` with
//! `{"model", "input": [...]}`, answered by `{"data": [{"embedding": [...], "index": i}]}`.
//! Works with OpenAI itself and with local servers that copy its API (llama.cpp, vLLM, Ollama,
//! LM Studio, text-embeddings-inference).
//!
//! Requests go out in batches of `batch_size`. A 429, a 5xx, a connection error or a timeout is
//! retried up to `max_retries` times with exponential backoff (honouring `Retry-After`); any
//! other failure is an error at once, naming the status and the start of the answer's body.

use std::time::Duration;

use memory_core::{Error, ErrorKind, Result};
use serde::Deserialize;

use crate::{Embedder, l2_normalize};

/// Where and how to call an OpenAI-compatible embeddings endpoint.
///
/// It holds the *name* of the environment variable with the API key, never the key itself, so
/// printing it (`Debug`) shows no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// Scheme, host and optional path prefix, e.g. `https://api.openai.com` or
    /// `http://127.0.0.1:8080`; `/v1/embeddings` is appended (a trailing `/v1` is tolerated).
    pub base_url: String,
    /// The `model` field of each request, e.g. `text-embedding-3-small`.
    pub model: String,
    /// The environment variable holding the API key, sent as `Authorization: Bearer`; no header
    /// when `None` or when the variable is unset or empty.
    pub api_key_env: Option<String>,
    /// The vector length; when `None`, building the embedder sends one probe request to learn it.
    pub dimension: Option<usize>,
    /// The limit for one HTTP request, from connecting to reading the whole answer.
    pub timeout: Duration,
    /// How often a retryable failure (429, 5xx, connection error, timeout) is retried.
    pub max_retries: u32,
    /// Texts per request.
    pub batch_size: usize,
}

impl OpenAiConfig {
    /// The environment variable read for the API key by default.
    pub const DEFAULT_API_KEY_ENV: &'static str = "MEMORY_OPENAI_API_KEY";
    /// The environment variable read for the base URL by [`OpenAiConfig::from_env`].
    pub const BASE_URL_ENV: &'static str = "MEMORY_OPENAI_BASE_URL";
    /// The environment variable read for the model by [`OpenAiConfig::from_env`].
    pub const MODEL_ENV: &'static str = "MEMORY_OPENAI_MODEL";
    /// The base URL when [`Self::BASE_URL_ENV`] is unset.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com";
    /// The model when [`Self::MODEL_ENV`] is unset.
    pub const DEFAULT_MODEL: &'static str = "text-embedding-3-small";

    /// A config with the defaults: key from `MEMORY_OPENAI_API_KEY`, dimension learned, 30 s
    /// timeout, 3 retries, 64 texts per request.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key_env: Some(Self::DEFAULT_API_KEY_ENV.to_owned()),
            dimension: None,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            batch_size: 64,
        }
    }

    /// A config from `MEMORY_OPENAI_BASE_URL` and `MEMORY_OPENAI_MODEL` (each falling back to
    /// OpenAI's defaults), otherwise as [`OpenAiConfig::new`].
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`OpenAiConfig::from_env`], reading variables through `lookup` (tests pass a map,
    /// since changing the process environment is unsafe).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let read = |name: &str, default: &str| {
            lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
        };
        Self::new(read(Self::BASE_URL_ENV, Self::DEFAULT_BASE_URL), read(Self::MODEL_ENV, Self::DEFAULT_MODEL))
    }

    /// The full endpoint URL: the base URL without trailing `/` or `/v1`, plus `/v1/embeddings`.
    pub fn endpoint(&self) -> String {
        let base = self.base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}/v1/embeddings")
    }

    fn validate(&self) -> Result<()> {
        let url = self.base_url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::invalid_input(format!(
                "OpenAI-compatible base URL must start with http:// or https://, got `{}`",
                self.base_url
            )));
        }
        if self.model.trim().is_empty() {
            return Err(Error::invalid_input("OpenAI-compatible embedder needs a model name"));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid_input("OpenAI-compatible embedder batch size must be at least 1"));
        }
        if self.timeout.is_zero() {
            return Err(Error::invalid_input("OpenAI-compatible embedder timeout must be positive"));
        }
        if self.dimension == Some(0) {
            return Err(Error::invalid_input("OpenAI-compatible embedder dimension must be positive"));
        }
        Ok(())
    }
}

/// Embeds through an OpenAI-compatible endpoint; see the module docs for batching and retries.
pub struct OpenAiEmbedder {
    config: OpenAiConfig,
    endpoint: String,
    api_key: Option<String>,
    agent: ureq::Agent,
    model_id: String,
    dimension: usize,
}

impl std::fmt::Debug for OpenAiEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEmbedder")
            .field("model_id", &self.model_id)
            .field("dimension", &self.dimension)
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("config", &self.config)
            .finish()
    }
}

/// The most of an error body quoted in a message.
const BODY_EXCERPT_CHARS: usize = 300;
/// First retry delay; doubled per attempt up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The longest `Retry-After` we wait for; a server asking for more is treated as down.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Answers are a few MB at most (64 texts x 3072 floats as JSON); this bounds a broken server.
const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;
const PROBE_TEXT: &str = "dimension probe";

impl OpenAiEmbedder {
    /// Validates the config, reads the API key from its environment variable and, when no
    /// dimension is configured, learns it from one probe request (so a wrong URL, model or key
    /// fails here, at startup, rather than on the first write).
    pub fn new(config: OpenAiConfig) -> Result<Self> {
        config.validate()?;
        let api_key = config
            .api_key_env
            .as_deref()
            .and_then(|name| std::env::var(name).ok())
            .map(|key| key.trim().to_owned())
            .filter(|key| !key.is_empty());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            // Error statuses come back as responses so their body can be quoted.
            .http_status_as_error(false)
            .build()
            .into();
        let endpoint = config.endpoint();
        let model_id = format!("openai:{}@{}", config.model, config.base_url.trim_end_matches('/'));
        let mut embedder =
            OpenAiEmbedder { dimension: config.dimension.unwrap_or(0), config, endpoint, api_key, agent, model_id };
        if embedder.dimension == 0 {
            let probe = embedder.request_with_retries(&[PROBE_TEXT])?;
            embedder.dimension = probe[0].len();
            if embedder.dimension == 0 {
                return Err(Error::unavailable(format!(
                    "embedding endpoint {} returned an empty vector for the probe",
                    embedder.endpoint
                )));
            }
        }
        Ok(embedder)
    }

    /// The configuration this embedder was built from.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// One batch, retried as the module docs say; vectors are normalized and in input order.
    fn request_with_retries(&self, inputs: &[&str]) -> Result<Vec<Vec<f32>>> {
        let body = serde_json::json!({ "model": self.config.model, "input": inputs }).to_string();
        let attempts = self.config.max_retries.saturating_add(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.send_once(&body, inputs.len()) {
                Outcome::Done(vectors) => return Ok(vectors),
                Outcome::Fatal(error) => return Err(error),
                Outcome::Retryable { error, retry_after } => {
                    if attempt >= attempts {
                        let message = format!("{} (gave up after {attempt} attempt(s))", error.message());
                        return Err(Error::new(error.kind(), message));
                    }
                    std::thread::sleep(retry_after.unwrap_or_else(|| backoff(attempt)));
                }
            }
        }
    }

    fn send_once(&self, body: &str, expected: usize) -> Outcome {
        let mut request = self.agent.post(&self.endpoint).header("Content-Type", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let mut response = match request.send(body) {
            Ok(response) => response,
            Err(error) => return self.transport_failure(error),
        };
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let text = match response.body_mut().with_config().limit(MAX_RESPONSE_BYTES).read_to_string() {
            Ok(text) => text,
            Err(error) => return self.transport_failure(error),
        };
        if (200..300).contains(&status) {
            return match self.parse(&text, expected) {
                Ok(vectors) => Outcome::Done(vectors),
                Err(error) => Outcome::Fatal(error),
            };
        }
        let message = format!("embedding endpoint {} answered {status}: {}", self.endpoint, excerpt(&text));
        match status {
            429 | 500..=599 => match retry_after {
                // A Retry-After beyond our patience means "down for a while": fail now.
                Some(wait) if wait > MAX_RETRY_AFTER => {
                    Outcome::Fatal(Error::unavailable(format!("{message} (asked to retry after {wait:?})")))
                }
                retry_after => Outcome::Retryable { error: Error::unavailable(message), retry_after },
            },
            401 => Outcome::Fatal(Error::new(ErrorKind::Unauthenticated, self.key_hint(message))),
            403 => Outcome::Fatal(Error::forbidden(self.key_hint(message))),
            _ => Outcome::Fatal(Error::invalid_input(message)),
        }
    }

    fn transport_failure(&self, error: ureq::Error) -> Outcome {
        let message = match &error {
            ureq::Error::Timeout(_) => {
                format!("embedding endpoint {} did not answer within {:?}", self.endpoint, self.config.timeout)
            }
            other => format!("cannot reach embedding endpoint {}: {other}", self.endpoint),
        };
        let retryable = matches!(
            error,
            ureq::Error::Timeout(_) | ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound
        ) || matches!(error, ureq::Error::Protocol(_));
        let error = Error::unavailable(message).with_source(error);
        if retryable { Outcome::Retryable { error, retry_after: None } } else { Outcome::Fatal(error) }
    }

    fn key_hint(&self, message: String) -> String {
        match (&self.api_key, &self.config.api_key_env) {
            (None, Some(env)) => format!("{message} (no API key sent: {env} is unset)"),
            _ => message,
        }
    }

    /// Checks the answer's shape: one vector per input, each index once, equal lengths that
    /// match the known dimension; then normalizes (servers do not all normalize).
    fn parse(&self, text: &str, expected: usize) -> Result<Vec<Vec<f32>>> {
        let malformed = |what: String| Error::unavailable(format!("embedding endpoint {} sent {what}", self.endpoint));
        let parsed: EmbeddingResponse = serde_json::from_str(text)
            .map_err(|e| malformed(format!("an unreadable answer ({e}): {}", excerpt(text))))?;
        if parsed.data.len() != expected {
            return Err(malformed(format!("{} embeddings for {expected} inputs", parsed.data.len())));
        }
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; expected];
        for (position, item) in parsed.data.into_iter().enumerate() {
            let index = item.index.unwrap_or(position);
            match slots.get_mut(index) {
                Some(slot @ None) => *slot = Some(item.embedding),
                Some(Some(_)) => return Err(malformed(format!("index {index} twice"))),
                None => return Err(malformed(format!("index {index} for {expected} inputs"))),
            }
        }
        let mut vectors: Vec<Vec<f32>> = slots.into_iter().flatten().collect();
        let want = if self.dimension == 0 { vectors[0].len() } else { self.dimension };
        if let Some(bad) = vectors.iter().find(|v| v.len() != want) {
            return Err(malformed(format!("a vector of {} floats where {want} were expected", bad.len())));
        }
        vectors.iter_mut().for_each(|v| l2_normalize(v));
        Ok(vectors)
    }
}

impl Embedder for OpenAiEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        // Blank texts are not sent: OpenAI rejects empty input, and the contract says zero.
        crate::embed_non_blank(texts, self.dimension, self.config.batch_size, false, |inputs| {
            self.request_with_retries(inputs)
        })
    }
}

enum Outcome {
    Done(Vec<Vec<f32>>),
    Retryable { error: Error, retry_after: Option<Duration> },
    Fatal(Error),
}

#[derive(Deserialize)]
struct EmbeddingResponse {
    data: Vec<EmbeddingItem>,
}

#[derive(Deserialize)]
struct EmbeddingItem {
    embedding: Vec<f32>,
    index: Option<usize>,
}

/// 250 ms, 500 ms, 1 s, ... up to 8 s before attempt `attempt + 1`.
fn backoff(attempt: u32) -> Duration {
    FIRST_BACKOFF.saturating_mul(1 << attempt.saturating_sub(1).min(16)).min(MAX_BACKOFF)
}

/// `Retry-After` in seconds (the HTTP-date form is rare for APIs and ignored).
fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<f64>().ok().filter(|s| s.is_finite() && *s >= 0.0).map(Duration::from_secs_f64)
}

/// The start of a body, on one line, for error messages.
fn excerpt(body: &str) -> String {
    let flat: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(BODY_EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}...", &flat[..cut]),
        None if flat.is_empty() => "(empty body)".to_owned(),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_tolerates_trailing_slash_and_v1() {
        for base in ["http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/"] {
            assert_eq!(OpenAiConfig::new(base, "m").endpoint(), "http://h:1/v1/embeddings");
        }
        assert_eq!(OpenAiConfig::new("https://h/proxy", "m").endpoint(), "https://h/proxy/v1/embeddings");
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_secs(1));
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn excerpt_is_one_short_line() {
        assert_eq!(excerpt("{\n  \"error\": \"bad\"\n}"), "{ \"error\": \"bad\" }");
        assert_eq!(excerpt(""), "(empty body)");
        assert_eq!(excerpt(&"x".repeat(1000)).len(), BODY_EXCERPT_CHARS + 3);
    }

    #[test]
    fn invalid_configs_are_rejected_with_the_reason() {
        let bad = |f: fn(&mut OpenAiConfig)| {
            let mut c = OpenAiConfig::new("http://127.0.0.1:9", "m");
            f(&mut c);
            OpenAiEmbedder::new(c).unwrap_err().to_string()
        };
        assert!(bad(|c| c.base_url = "127.0.0.1:9".into()).contains("must start with http"));
        assert!(bad(|c| c.model = " ".into()).contains("needs a model name"));
        assert!(bad(|c| c.batch_size = 0).contains("batch size"));
        assert!(bad(|c| c.timeout = Duration::ZERO).contains("timeout"));
    }
}
