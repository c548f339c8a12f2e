//! Opening the memory home for one command: where it is, who is asking, one runtime to drive
//! the engine's async API, and the flush of the index before the process exits.

use std::ffi::OsString;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;

use memory_engine::core::{Principal, TenantId};
use memory_engine::policy::Caller as Identity;
use memory_engine::{Caller, Engine, HomeOptions};

use crate::args::GlobalArgs;
use crate::error::{CliError, ErrorKind, Status};

/// How a command acts on the home.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acting {
    /// As `--principal`, under the policy like any agent (memories).
    Principal,
    /// As the operator of the home's own files: every namespace, whatever the policy says
    /// (namespaces, export, import, reindex). The principal, when known, is still recorded.
    Operator,
}

/// An opened home and the caller of the command.
#[derive(Debug)]
pub struct Session {
    runtime: tokio::runtime::Runtime,
    /// The engine over the home.
    pub engine: Engine,
    /// Who the command runs as.
    pub caller: Caller,
}

impl Session {
    /// Resolves the caller (before touching the disk, so a missing principal creates nothing),
    /// then opens the home and prints its configuration warnings to `err`.
    pub fn open(global: &GlobalArgs, acting: Acting, err: &mut dyn Write) -> Result<Session, CliError> {
        let caller = caller(global, acting)?;
        let mut options = HomeOptions::new(home_dir(global)?);
        options.config.clone_from(&global.config);
        options.embedder.clone_from(&global.embedder);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CliError::new(ErrorKind::Failed, format!("cannot start the runtime: {e}")))?;
        let home = runtime.block_on(memory_engine::open_home(options))?;
        for warning in &home.warnings {
            writeln!(err, "warning: {warning}")?;
        }
        Ok(Session { runtime, engine: home.engine, caller })
    }

    /// Runs one engine call to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Makes the index durable, then returns the command's `result` (whose error wins over a
    /// failed flush: it happened first and says more).
    pub fn close(self, result: Result<Status, CliError>) -> Result<Status, CliError> {
        let flushed = self.runtime.block_on(self.engine.flush());
        let status = result?;
        flushed?;
        Ok(status)
    }
}

/// The default tenant, with the principal and session key of the flags or the environment.
fn caller(global: &GlobalArgs, acting: Acting) -> Result<Caller, CliError> {
    let principal = principal(global)?;
    let session_key = global.session_key.clone();
    if let Some(key) = &session_key
        && key.trim().is_empty()
    {
        return Err(CliError::invalid_input("--session-key: the session key is empty"));
    }
    if acting == Acting::Principal && principal.is_none() && session_key.is_none() {
        return Err(CliError::invalid_input(
            "no principal: give --principal P (or set MEMORY_PRINCIPAL or USER) to say who is asking",
        ));
    }
    let identity = Identity { server_principal: principal, session_key, ..Identity::default() };
    let caller = Caller::new(TenantId::default_tenant(), identity);
    Ok(match acting {
        Acting::Principal => caller,
        Acting::Operator => caller.as_operator(),
    })
}

/// `--principal`, else `$MEMORY_PRINCIPAL`, else `$USER`; a bad value names where it came from.
fn principal(global: &GlobalArgs) -> Result<Option<Principal>, CliError> {
    let (source, raw) = match &global.principal {
        Some(p) => ("--principal", p.clone()),
        None => match env("MEMORY_PRINCIPAL").or_else(|| env("USER")) {
            Some(p) => ("the environment's principal", p.to_string_lossy().into_owned()),
            None => return Ok(None),
        },
    };
    Principal::new(&raw).map(Some).map_err(|e| CliError::invalid_input(format!("{source}: {}", e.message())))
}

/// `--home`, else `$MEMORY_HOME`, else `$HOME/.memory`.
fn home_dir(global: &GlobalArgs) -> Result<PathBuf, CliError> {
    if let Some(home) = &global.home {
        if home.as_os_str().is_empty() {
            return Err(CliError::invalid_input("--home: the path is empty"));
        }
        return Ok(home.clone());
    }
    if let Some(home) = env("MEMORY_HOME") {
        return Ok(home.into());
    }
    match env("HOME") {
        Some(home) => Ok(PathBuf::from(home).join(".memory")),
        None => Err(CliError::invalid_input("no memory home: give --home DIR or set MEMORY_HOME")),
    }
}

/// An environment variable that is set and not blank.
fn env(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.to_string_lossy().trim().is_empty())
}
