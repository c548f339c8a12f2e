//! Where a data command runs: on the home's own engine ([`Session`]), or against a memory
//! server ([`Client`]) — the one given with `--url` / `$MEMORY_URL`, or the `memory serve`
//! running on the home (which leaves its address and a local operator credential in
//! `<home>/server.json`). Either way a command gets the same wire DTOs back, so its output,
//! `--json` included, is the same.

use std::io::Write;
use std::path::{Path, PathBuf};

use memory_core::NamespaceFilter;
use memory_engine::MAX_RECALL_LIMIT;
use memory_server::client::{Acting as Headers, Client};
use memory_server::dto::{
    ConsolidateBody, ConsolidationDto, CreateMemory, CreateNamespace, EntitiesQuery, EntityMemoriesDto, EntityPage,
    Forgotten, JobRunDto, JobRunList, MaintainBody, MaintenanceDto, MemoryDto, MigrateBody, MigrationDto,
    NamespaceChange, NamespaceDto, NamespaceList, OutcomeBody, PageQuery, PromoteBody, PromotedDto, ProposalApproved,
    ProposalPage, ProposalRejected, ProposalsQuery, RecallBody, RecallResponse, Reported, UpdateNamespace, WrittenDto,
};
use memory_server::ops;
use serde::{Deserialize, Serialize};

use super::home::{self, Acting, Session};
use crate::args::GlobalArgs;
use crate::error::{CliError, Status};

/// The file `memory serve` leaves in its home while it runs (owner-only permissions).
pub const SERVER_FILE: &str = "server.json";
/// The file `memory serve` holds locked while it runs.
pub const SERVER_LOCK: &str = "server.lock";

/// What `<home>/server.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerFile {
    /// Where the server listens.
    pub url: String,
    /// The local operator credential.
    pub key: String,
    /// The credential's key id (revoked when the server stops).
    pub key_id: String,
    /// The server's process id.
    pub pid: u32,
}

/// Where a command runs.
#[derive(Debug)]
pub enum Backend {
    /// On the home's engine (boxed: a session is large, and a backend lives once per command).
    Local(Box<Session>),
    /// Against a server.
    Remote(Client),
}

impl Backend {
    /// `--url` (or `$MEMORY_URL`) with `--key` (or `$MEMORY_KEY`); else the server running on
    /// the home; else the home itself.
    pub fn open(global: &GlobalArgs, acting: Acting, err: &mut dyn Write) -> Result<Backend, CliError> {
        let wait = home::wait(global)?;
        let identity = home::identity(global, acting)?;
        let mut headers = Headers {
            principal: identity.server_principal.as_ref().map(ToString::to_string),
            session_key: identity.session_key.clone(),
            ..Headers::default()
        };
        if let Some(url) = global.url.clone().or_else(|| home::env_text("MEMORY_URL")) {
            let key =
                global.key.clone().or_else(|| home::env_text("MEMORY_KEY")).ok_or_else(|| {
                    CliError::invalid_input("--url: give the API key with --key KEY (or set MEMORY_KEY)")
                })?;
            return Ok(Backend::Remote(Client::new(&url, &key, wait)?.acting(headers)));
        }
        let dir = home::home_dir(global)?;
        if let Some(server) = running_server(&dir) {
            // The local credential speaks for whoever runs the CLI on its own home.
            headers.account = identity.account.as_ref().map(ToString::to_string);
            headers.operator = acting == Acting::Operator;
            return Ok(Backend::Remote(Client::new(&server.url, &server.key, wait)?.acting(headers)));
        }
        Ok(Backend::Local(Box::new(Session::open(global, acting, err)?)))
    }

    /// Finishes the command (see [`Session::close`]).
    pub fn close(self, result: Result<Status, CliError>, err: &mut dyn Write) -> Result<Status, CliError> {
        match self {
            Backend::Local(session) => (*session).close(result, err),
            Backend::Remote(_) => result,
        }
    }

    /// Remembers one memory.
    pub fn remember(&self, body: &CreateMemory) -> Result<WrittenDto, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::store(&s.engine, &s.caller, body, None))?),
            Backend::Remote(c) => Ok(c.post("/v1/memories", body)?),
        }
    }

    /// Recalls.
    pub fn recall(&self, body: &RecallBody) -> Result<RecallResponse, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::recall(&s.engine, &s.caller, body, MAX_RECALL_LIMIT))?),
            Backend::Remote(c) => Ok(c.post("/v1/recall", body)?),
        }
    }

    /// One memory.
    pub fn get(&self, id: &str) -> Result<MemoryDto, CliError> {
        match self {
            Backend::Local(s) => {
                let id = memory_server::dto::memory_id("ID", id)?;
                let m = s.block_on(s.engine.get(&s.caller, id))?;
                Ok(MemoryDto::from(&m))
            }
            Backend::Remote(c) => Ok(c.get(&format!("/v1/memories/{}", segment(id)))?),
        }
    }

    /// Deletes a memory.
    pub fn forget(&self, id: &str) -> Result<Forgotten, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::forget(&s.engine, &s.caller, id))?),
            Backend::Remote(c) => Ok(c.delete(&format!("/v1/memories/{}", segment(id)))?),
        }
    }

    /// Reports an outcome.
    pub fn outcome(&self, body: &OutcomeBody) -> Result<Reported, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::report_outcome(&s.engine, &s.caller, body))?),
            Backend::Remote(c) => Ok(c.post("/v1/outcomes", body)?),
        }
    }

    /// Promotes a memory.
    pub fn promote(&self, id: &str, to: Option<&str>) -> Result<PromotedDto, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::promote(&s.engine, &s.caller, id, to))?),
            Backend::Remote(c) => Ok(
                c.post(&format!("/v1/memories/{}/promote", segment(id)), &PromoteBody { to: to.map(str::to_owned) })?
            ),
        }
    }

    /// The catalog.
    pub fn namespaces(&self, filter: &NamespaceFilter) -> Result<NamespaceList, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::namespaces(&s.engine, &s.caller, filter))?),
            Backend::Remote(c) => {
                let mut query = Vec::new();
                if let Some(t) = &filter.team {
                    query.push(format!("team={}", segment(t)));
                }
                if let Some(v) = filter.sensitivity {
                    query.push(format!("sensitivity={v}"));
                }
                if let Some(v) = filter.kind {
                    query.push(format!("kind={v}"));
                }
                if let Some(v) = filter.status {
                    query.push(format!("status={v}"));
                }
                let q = if query.is_empty() { String::new() } else { format!("?{}", query.join("&")) };
                Ok(c.get(&format!("/v1/namespaces{q}"))?)
            }
        }
    }

    /// Creates a namespace.
    pub fn create_namespace(&self, body: &CreateNamespace) -> Result<NamespaceDto, CliError> {
        match self {
            Backend::Local(s) => {
                let ns = s.block_on(s.engine.create_namespace(&s.caller, &body.key()?, &body.patch()?))?;
                Ok(NamespaceDto::from(&ns))
            }
            Backend::Remote(c) => Ok(c.post("/v1/namespaces", body)?),
        }
    }

    /// Changes a namespace.
    pub fn update_namespace(&self, key: &str, body: &UpdateNamespace) -> Result<NamespaceDto, CliError> {
        match self {
            Backend::Local(s) => {
                let ns = s.block_on(s.engine.update_namespace(&s.caller, key, &body.patch()?))?;
                Ok(NamespaceDto::from(&ns))
            }
            Backend::Remote(c) => Ok(c.patch(&format!("/v1/namespaces/{}", segment(key)), body)?),
        }
    }

    /// Plans or applies a namespace migration.
    pub fn migrate_namespace(&self, from: &str, body: &MigrateBody) -> Result<MigrationDto, CliError> {
        match self {
            Backend::Local(s) => {
                let migration = s.block_on(s.engine.migrate_namespace(&s.caller, &body.request(from)))?;
                Ok(MigrationDto::from(&migration))
            }
            Backend::Remote(c) => Ok(c.post(&format!("/v1/namespaces/{}/migrate", segment(from)), body)?),
        }
    }

    /// Archives (`archive`), restores (`restore`) or deletes (`delete`) a namespace.
    pub fn lifecycle(&self, key: &str, verb: &str) -> Result<NamespaceChange, CliError> {
        match self {
            Backend::Local(s) => {
                let (e, c) = (&s.engine, &s.caller);
                let changed = s.block_on(async {
                    match verb {
                        "archive" => e.archive_namespace(c, key).await,
                        "restore" => e.restore_namespace(c, key).await,
                        _ => e.delete_namespace(c, key).await,
                    }
                })?;
                let status = match verb {
                    "archive" => "archived",
                    "restore" => "active",
                    _ => "deleted",
                };
                Ok(NamespaceChange { namespace: key.to_owned(), status: status.to_owned(), changed })
            }
            Backend::Remote(c) => {
                let path = format!("/v1/namespaces/{}", segment(key));
                Ok(match verb {
                    "delete" => c.delete(&path)?,
                    _ => c.post(&format!("{path}/{verb}"), &serde_json::json!({}))?,
                })
            }
        }
    }
}

impl Backend {
    /// Consolidates a namespace; `progress` hears the episodes read so far (a local run only:
    /// a server answers when it is done).
    pub fn consolidate(
        &self,
        body: &ConsolidateBody,
        progress: &mut (dyn FnMut(usize) + Send),
    ) -> Result<ConsolidationDto, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::consolidate(&s.engine, &s.caller, body, progress))?),
            Backend::Remote(c) => Ok(c.post("/v1/consolidate", body)?),
        }
    }

    /// A page of the review queue.
    pub fn proposals(&self, query: &ProposalsQuery) -> Result<ProposalPage, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::proposals(&s.engine, &s.caller, query))?),
            Backend::Remote(c) => {
                let q = query_string(&[
                    ("namespace", query.namespace.as_deref()),
                    ("status", query.status.as_deref()),
                    ("cursor", query.cursor.as_deref()),
                    ("limit", query.limit.map(|l| l.to_string()).as_deref()),
                ]);
                Ok(c.get(&format!("/v1/proposals{q}"))?)
            }
        }
    }

    /// Approves a proposal.
    pub fn approve_proposal(&self, id: &str) -> Result<ProposalApproved, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::approve_proposal(&s.engine, &s.caller, id))?),
            Backend::Remote(c) => {
                Ok(c.post(&format!("/v1/proposals/{}/approve", segment(id)), &serde_json::json!({}))?)
            }
        }
    }

    /// Rejects a proposal.
    pub fn reject_proposal(&self, id: &str) -> Result<ProposalRejected, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::reject_proposal(&s.engine, &s.caller, id))?),
            Backend::Remote(c) => Ok(c.post(&format!("/v1/proposals/{}/reject", segment(id)), &serde_json::json!({}))?),
        }
    }

    /// A page of entities.
    pub fn entities(&self, query: &EntitiesQuery) -> Result<EntityPage, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::entities(&s.engine, &s.caller, query))?),
            Backend::Remote(c) => {
                let q = query_string(&[
                    ("namespace", query.namespace.as_deref()),
                    ("q", query.q.as_deref()),
                    ("kind", query.kind.as_deref()),
                    ("cursor", query.cursor.as_deref()),
                    ("limit", query.limit.map(|l| l.to_string()).as_deref()),
                ]);
                Ok(c.get(&format!("/v1/entities{q}"))?)
            }
        }
    }

    /// One entity and a page of its memories.
    pub fn entity(&self, id: &str, page: &PageQuery) -> Result<EntityMemoriesDto, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::entity(&s.engine, &s.caller, id, page))?),
            Backend::Remote(c) => {
                let q = query_string(&[
                    ("cursor", page.cursor.as_deref()),
                    ("limit", page.limit.map(|l| l.to_string()).as_deref()),
                ]);
                Ok(c.get(&format!("/v1/entities/{}{q}", segment(id)))?)
            }
        }
    }

    /// One maintenance cycle; `progress` hears each finished run and the number planned (a
    /// local run only).
    pub fn maintain(
        &self,
        body: &MaintainBody,
        progress: &mut (dyn FnMut(&JobRunDto, usize) + Send),
    ) -> Result<MaintenanceDto, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::maintain(&s.engine, &s.caller, body, progress))?),
            Backend::Remote(c) => Ok(c.post("/v1/maintenance", body)?),
        }
    }

    /// The latest maintenance records.
    pub fn maintenance_status(&self, namespace: Option<&str>) -> Result<JobRunList, CliError> {
        match self {
            Backend::Local(s) => Ok(s.block_on(ops::maintenance_status(&s.engine, &s.caller, namespace))?),
            Backend::Remote(c) => Ok(c.get(&format!("/v1/maintenance{}", query_string(&[("namespace", namespace)])))?),
        }
    }
}

/// `?k=v&...` of the pairs that have a value (empty when none has), each value escaped.
fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let set: Vec<String> = pairs.iter().filter_map(|(k, v)| v.map(|v| format!("{k}={}", segment(v)))).collect();
    if set.is_empty() { String::new() } else { format!("?{}", set.join("&")) }
}

/// The server running on `home`, if one is: its file is there and its lock is held.
pub fn running_server(home: &Path) -> Option<ServerFile> {
    let file = std::fs::File::open(home.join(SERVER_LOCK)).ok()?;
    match file.try_lock() {
        Ok(()) => {
            // Nobody holds it: no server runs (a stale server.json is left from a crash).
            let _ = file.unlock();
            None
        }
        Err(_) => {
            let text = std::fs::read_to_string(home.join(SERVER_FILE)).ok()?;
            serde_json::from_str(&text).ok()
        }
    }
}

/// The path of the server file of `home`.
pub fn server_file(home: &Path) -> PathBuf {
    home.join(SERVER_FILE)
}

/// A path segment: keys and ids never need escaping, but a stray character must not change the
/// route.
fn segment(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
