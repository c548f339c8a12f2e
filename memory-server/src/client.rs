//! A small blocking client of the HTTP API, for the CLI's client mode (`--url`, `--key`) and
//! for CLI commands on a home that a running `memory serve` owns. Error answers come back as
//! [`memory_core::Error`]s of the kind the server named, so a front end maps them exactly as
//! it maps the engine's own errors.

use std::time::Duration;

use memory_core::{Error, ErrorKind, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dto::ErrorBody;

/// Who the local CLI is, for the local operator credential (see `http::auth`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acting {
    /// `X-Memory-Principal`: the principal asked for.
    pub principal: Option<String>,
    /// `X-Memory-Account`: the OS account running the CLI.
    pub account: Option<String>,
    /// `X-Memory-Session-Key`.
    pub session_key: Option<String>,
    /// `X-Memory-Operator: true`: the operator of the home's own files.
    pub operator: bool,
}

/// A client of one server with one key.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    key: String,
    acting: Acting,
    agent: ureq::Agent,
}

impl Client {
    /// A client of the server at `url` (e.g. `http://127.0.0.1:8420`) using `key`, waiting at
    /// most `timeout` for an answer.
    pub fn new(url: &str, key: &str, timeout: Duration) -> Result<Self> {
        let base = url.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::invalid_input(format!("invalid server URL {url:?}: expected http://HOST:PORT")));
        }
        if key.trim().is_empty() {
            return Err(Error::invalid_input("the API key is empty"));
        }
        let agent =
            ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout)).build().new_agent();
        Ok(Client { base, key: key.trim().to_owned(), acting: Acting::default(), agent })
    }

    /// Sends these identity headers with every request (honoured for the local operator
    /// credential; the principal header elsewhere only when the server trusts it).
    pub fn acting(mut self, acting: Acting) -> Self {
        self.acting = acting;
        self
    }

    /// The server's address.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// `GET path` (with its query), answered with JSON.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        json(self.send(self.agent.get(self.url_of(path)))?)
    }

    /// `DELETE path`, answered with JSON.
    pub fn delete<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        json(self.send(self.agent.delete(self.url_of(path)))?)
    }

    /// `POST path` with a JSON body, answered with JSON.
    pub fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let request = self.with_headers(self.agent.post(self.url_of(path)));
        json(self.answer(request.send_json(body))?)
    }

    /// `PATCH path` with a JSON body, answered with JSON.
    pub fn patch<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let request = self.with_headers(self.agent.patch(self.url_of(path)));
        json(self.answer(request.send_json(body))?)
    }

    /// `GET path`, answered with raw bytes (an export).
    pub fn get_bytes(&self, path: &str) -> Result<Vec<u8>> {
        let mut response = self.send(self.agent.get(self.url_of(path)))?;
        response.body_mut().with_config().limit(u64::MAX).read_to_vec().map_err(transport)
    }

    /// `POST path` with raw bytes (an import file), answered with JSON.
    pub fn post_bytes<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> Result<T> {
        let request =
            self.with_headers(self.agent.post(self.url_of(path))).header("content-type", "application/x-ndjson");
        json(self.answer(request.send(body))?)
    }

    fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn with_headers<B>(&self, mut r: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        r = r.header("authorization", format!("Bearer {}", self.key));
        let a = &self.acting;
        for (name, value) in [
            ("x-memory-principal", a.principal.as_deref()),
            ("x-memory-account", a.account.as_deref()),
            ("x-memory-session-key", a.session_key.as_deref()),
            ("x-memory-operator", a.operator.then_some("true")),
        ] {
            if let Some(v) = value {
                r = r.header(name, v);
            }
        }
        r
    }

    fn send(&self, r: ureq::RequestBuilder<ureq::typestate::WithoutBody>) -> Result<ureq::http::Response<ureq::Body>> {
        self.answer(self.with_headers(r).call())
    }

    /// A success answer, or the server's error as the error kind it named.
    fn answer(
        &self,
        result: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let mut response =
            result.map_err(|e| Error::unavailable(format!("cannot reach the memory server at {}: {e}", self.base)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let text = response.body_mut().read_to_string().unwrap_or_default();
        let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(body) => (body.error.code, body.error.message),
            Err(_) => (String::new(), format!("the server answered {status}: {}", text.trim())),
        };
        let kind = match (code.as_str(), status.as_u16()) {
            ("invalid_input" | "payload_too_large", _) | (_, 400 | 413) => ErrorKind::InvalidInput,
            ("unauthenticated", _) | (_, 401) => ErrorKind::Unauthenticated,
            ("forbidden", _) | (_, 403) => ErrorKind::Forbidden,
            ("not_found", _) | (_, 404) => ErrorKind::NotFound,
            ("already_exists", _) => ErrorKind::AlreadyExists,
            ("conflict", _) | (_, 409) => ErrorKind::Conflict,
            ("unavailable" | "rate_limited", _) | (_, 429 | 503) => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        };
        Err(Error::new(kind, message))
    }
}

fn json<T: DeserializeOwned>(mut response: ureq::http::Response<ureq::Body>) -> Result<T> {
    response
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_json()
        .map_err(|e| Error::unavailable(format!("the server's answer is not the expected JSON: {e}")))
}

fn transport(e: ureq::Error) -> Error {
    Error::unavailable(format!("cannot read the server's answer: {e}"))
}
