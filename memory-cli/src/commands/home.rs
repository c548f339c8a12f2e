//! Opening the memory home for one command: where it is, who is asking, one runtime to drive
//! the engine's async API, and the flush of the index before the process exits.

use std::ffi::OsString;
use std::future::Future;
use std::io::Write;
use std::path::PathBuf;

use std::time::Duration;

use memory_core::{Principal, TenantId};
use memory_engine::{Caller, Engine, Home, HomeOptions, Identity};

use super::parse;
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
    /// The opened home.
    pub home: Home,
    /// The engine over the home.
    pub engine: Engine,
    /// Who the command runs as.
    pub caller: Caller,
}

impl Session {
    /// Resolves the caller (before touching the disk, so a missing principal creates nothing),
    /// then opens the home and prints its configuration warnings to `err`.
    pub fn open(global: &GlobalArgs, acting: Acting, err: &mut dyn Write) -> Result<Session, CliError> {
        Session::open_with(global, acting, false, err)
    }

    /// [`Session::open`] with a multi-threaded runtime when `server` (for `memory serve`).
    pub fn open_with(
        global: &GlobalArgs,
        acting: Acting,
        server: bool,
        err: &mut dyn Write,
    ) -> Result<Session, CliError> {
        Session::open_options(global, acting, server, err, |_| {})
    }

    /// [`Session::open_with`], with a last say on the home's options.
    pub fn open_options(
        global: &GlobalArgs,
        acting: Acting,
        server: bool,
        err: &mut dyn Write,
        adjust: impl FnOnce(&mut HomeOptions),
    ) -> Result<Session, CliError> {
        let caller = caller(global, acting)?;
        let mut options = HomeOptions::new(home_dir(global)?);
        options.config.clone_from(&global.config);
        options.embedder.clone_from(&global.embedder);
        options.wait = wait(global)?;
        options.database_url = database_url(global);
        adjust(&mut options);
        let mut builder = if server {
            tokio::runtime::Builder::new_multi_thread()
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let runtime = builder
            .enable_all()
            .build()
            .map_err(|e| CliError::new(ErrorKind::Failed, format!("cannot start the runtime: {e}")))?;
        let home = runtime.block_on(memory_engine::open_home(options))?;
        for warning in &home.warnings {
            writeln!(err, "warning: {warning}")?;
        }
        let engine = home.engine.clone();
        Ok(Session { runtime, home, engine, caller })
    }

    /// Runs one engine call to completion.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Saves the index when no other process is saving it (the store needs nothing: every
    /// acknowledged write is durable already), prints what the operator should know about the
    /// index to `err`, then returns the command's `result` (whose error wins over a failed
    /// save: it happened first and says more).
    pub fn close(self, result: Result<Status, CliError>, err: &mut dyn Write) -> Result<Status, CliError> {
        let flushed = self.runtime.block_on(self.engine.flush());
        for notice in self.engine.take_notices() {
            writeln!(err, "warning: {notice}")?;
        }
        let status = result?;
        flushed?;
        Ok(status)
    }
}

/// `--database-url`, else `$MEMORY_DATABASE_URL`; `None` is the SQLite store in the home.
pub fn database_url(global: &GlobalArgs) -> Option<String> {
    global
        .database_url
        .clone()
        .or_else(|| std::env::var(memory_engine::DATABASE_URL_VAR).ok().filter(|v| !v.trim().is_empty()))
}

/// `--wait` in seconds, else the default.
pub fn wait(global: &GlobalArgs) -> Result<Duration, CliError> {
    match &global.wait {
        Some(w) => parse::seconds("--wait", w),
        None => Ok(memory_engine::DEFAULT_WAIT),
    }
}

/// The default tenant, with the principal and session key of the flags or the environment.
fn caller(global: &GlobalArgs, acting: Acting) -> Result<Caller, CliError> {
    let caller = Caller::new(TenantId::default_tenant(), identity(global, acting)?);
    Ok(match acting {
        Acting::Principal => caller,
        Acting::Operator => caller.as_operator(),
    })
}

/// Who is asking, from the flags and the environment.
pub fn identity(global: &GlobalArgs, acting: Acting) -> Result<Identity, CliError> {
    let principal = principal(global)?;
    let session_key = global.session_key.clone();
    if let Some(key) = &session_key
        && key.trim().is_empty()
    {
        return Err(CliError::invalid_input("--session-key: the session key is empty"));
    }
    let account = account();
    if acting == Acting::Principal && principal.is_none() && session_key.is_none() && account.is_none() {
        return Err(CliError::invalid_input(
            "no principal: give --principal P (or set MEMORY_PRINCIPAL) to say who is asking",
        ));
    }
    // The OS account is only the last resort (after session-key rules and the configured
    // fallback), so it goes to the resolver as such, never as the principal.
    Ok(Identity { server_principal: principal, session_key, account, ..Identity::default() })
}

/// `--principal`, else `$MEMORY_PRINCIPAL`; a bad value names where it came from.
fn principal(global: &GlobalArgs) -> Result<Option<Principal>, CliError> {
    let (source, raw) = match &global.principal {
        Some(p) => ("--principal", p.clone()),
        None => match env("MEMORY_PRINCIPAL") {
            Some(p) => ("MEMORY_PRINCIPAL", p.to_string_lossy().into_owned()),
            None => return Ok(None),
        },
    };
    Principal::new(&raw).map(Some).map_err(|e| CliError::invalid_input(format!("{source}: {}", e.message())))
}

/// The OS account running the command: `$USER`, else the system's name for the current user
/// (containers often have no `USER`). `None` when neither gives a valid principal.
fn account() -> Option<Principal> {
    let name = match env("USER") {
        Some(user) => user.to_string_lossy().into_owned(),
        None => whoami::username().ok()?,
    };
    Principal::new(name).ok()
}

/// `--home`, else `$MEMORY_HOME`, else `$HOME/.memory`.
pub fn home_dir(global: &GlobalArgs) -> Result<PathBuf, CliError> {
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

/// An environment variable that is set, not blank and Unicode.
pub fn env_text(name: &str) -> Option<String> {
    env(name).and_then(|v| v.into_string().ok())
}

/// An environment variable that is set and not blank.
fn env(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|v| !v.to_string_lossy().trim().is_empty())
}
