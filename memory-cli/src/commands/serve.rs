//! `memory serve`, `memory mcp`, `memory tenants`, `memory keys` and `memory inspect`: the
//! server the home can run, and the management of who may talk to it.
//!
//! `memory serve` holds `<home>/server.lock` while it runs (a second one on the same home
//! refuses to start), and leaves `<home>/server.json` (owner-only) with its address and a local
//! operator credential, so that other commands on the home go through it. The credential is
//! revoked and the file removed when it stops.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;

use memory_core::{KeyScope, NamespaceKey, Permission, TenantId};
use memory_engine::{Caller, Engine, NewKey};
use memory_server::dto::{IssuedKeyDto, KeyDto, KeyList};
use memory_server::{RouterOptions, ServerConfig};

use super::backend::{SERVER_LOCK, ServerFile, server_file};
use super::home::{self, Acting, Session};
use super::parse;
use crate::args::{GlobalArgs, InspectArgs, KeysCommand, KeysCreateArgs, ServeArgs, TenantsCommand};
use crate::error::{CliError, ErrorKind, Status};

/// The label of the admin key the first start prints.
const FIRST_ADMIN_LABEL: &str = "admin (printed by the first memory serve)";
/// The label of the local operator credential.
const LOCAL_LABEL: &str = "local operator (memory serve)";

/// `memory serve`.
pub fn serve(
    args: &ServeArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let addr: SocketAddr = args
        .addr
        .trim()
        .parse()
        .map_err(|_| CliError::invalid_input(format!("--addr: expected HOST:PORT, got {:?}", args.addr)))?;
    let maintenance_interval = args.maintenance_interval.as_deref().map(maintenance_interval).transpose()?;
    let dir = home::home_dir(global)?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| CliError::new(ErrorKind::Failed, format!("cannot create the home {}: {e}", dir.display())))?;
    let lock = server_lock(&dir)?;
    let trust = args.trust_principal_header;
    let session = Session::open_options(global, Acting::Operator, true, err, |o| o.trust_principal_header = trust)?;
    let operator = session.caller.clone();
    let engine = session.engine.clone();
    let result = session.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| CliError::new(ErrorKind::Failed, format!("cannot listen on {addr}: {e}")))?;
        let bound = listener.local_addr().map_err(|e| CliError::new(ErrorKind::Failed, e.to_string()))?;
        let url = format!("http://{bound}");
        if let Some(first) = first_admin_key(&engine, &operator).await? {
            writeln!(out, "admin key (shown once; keep it safe): {}", first.secret)?;
            out.flush()?;
        }
        let local = local_credential(&engine, &operator, &dir, &url).await?;
        writeln!(
            err,
            "memory serve: listening on {url} (home {}, store {}, embedder {})",
            dir.display(),
            session.home.store_description,
            session.home.embedder
        )?;
        let mut config = ServerConfig::load(session.home.sections.get(memory_server::config::SECTION), home::env_text)?;
        if let Some(every) = maintenance_interval {
            config.maintenance_interval = every;
        }
        let router = memory_server::router(
            engine.clone(),
            RouterOptions {
                config: config.clone(),
                local_key: Some(local.key.id),
                embedder: session.home.embedder.clone(),
            },
        );
        let served = memory_server::serve(listener, router, engine.clone(), &config, shutdown_signal()).await;
        // The credential dies with the server: a leftover file can grant nothing.
        let _ = std::fs::remove_file(server_file(&dir));
        let _ = engine.revoke_key(&operator, local.key.id).await;
        served.map_err(|e| CliError::new(ErrorKind::Failed, format!("the server failed: {e}")))?;
        writeln!(err, "memory serve: stopped")?;
        Ok(Status::Success)
    });
    drop(lock);
    session.close(result, err)
}

/// `--maintenance-interval`: whole seconds, or `off` (as is 0).
fn maintenance_interval(raw: &str) -> Result<Option<std::time::Duration>, CliError> {
    if raw.trim().eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let secs = parse::whole("--maintenance-interval", raw, 0, 365 * 86_400).map_err(|_| {
        CliError::invalid_input(format!(
            "--maintenance-interval: expected a whole number of seconds or `off`, got {raw:?}"
        ))
    })?;
    // 0 means off, as in the configuration.
    Ok((secs > 0).then(|| std::time::Duration::from_secs(secs)))
}

/// Takes the home's server lock, or says which server holds it.
fn server_lock(dir: &std::path::Path) -> Result<File, CliError> {
    let path = dir.join(SERVER_LOCK);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| CliError::new(ErrorKind::Failed, format!("cannot open {}: {e}", path.display())))?;
    if file.try_lock().is_err() {
        let at =
            super::backend::running_server(dir).map(|s| format!(" at {} (pid {})", s.url, s.pid)).unwrap_or_default();
        return Err(CliError::new(
            ErrorKind::Failed,
            format!("another memory serve is running on the home {}{at}; stop it first", dir.display()),
        ));
    }
    Ok(file)
}

/// A fresh admin key of the default tenant when it has none yet (the first start).
async fn first_admin_key(engine: &Engine, operator: &Caller) -> Result<Option<memory_engine::IssuedKey>, CliError> {
    let keys = engine.list_keys(operator).await?;
    if keys.iter().any(|k| k.admin && k.label != LOCAL_LABEL) {
        return Ok(None);
    }
    let new = NewKey {
        principal: "admin".into(),
        label: FIRST_ADMIN_LABEL.into(),
        scopes: Vec::new(),
        default_namespace: None,
        admin: true,
    };
    Ok(Some(engine.create_key(operator, new).await?))
}

/// Issues the local operator credential and leaves it, with the address, in the home (owner
/// only), revoking the one a crashed server left behind.
async fn local_credential(
    engine: &Engine,
    operator: &Caller,
    dir: &std::path::Path,
    url: &str,
) -> Result<memory_engine::IssuedKey, CliError> {
    for old in engine.list_keys(operator).await? {
        if old.label == LOCAL_LABEL && old.revoked_at.is_none() {
            engine.revoke_key(operator, old.id).await?;
        }
    }
    let new = NewKey {
        principal: "operator".into(),
        label: LOCAL_LABEL.into(),
        scopes: Vec::new(),
        default_namespace: None,
        admin: true,
    };
    let issued = engine.create_key(operator, new).await?;
    let file = ServerFile {
        url: url.to_owned(),
        key: issued.secret.clone(),
        key_id: issued.key.id.to_string(),
        pid: std::process::id(),
    };
    let path = server_file(dir);
    let text = serde_json::to_string_pretty(&file).map_err(|e| CliError::new(ErrorKind::Failed, e.to_string()))?;
    write_private(&path, text.as_bytes())
        .map_err(|e| CliError::new(ErrorKind::Failed, format!("cannot write {}: {e}", path.display())))?;
    Ok(issued)
}

/// Writes a file only its owner may read.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// `memory mcp`: MCP over stdio, as the principal of the flags or the environment.
pub fn mcp(global: &GlobalArgs, err: &mut dyn Write) -> Result<Status, CliError> {
    let default_namespace = home::env_text("MEMORY_NAMESPACE").map(|n| n.trim().to_owned());
    if let Some(ns) = &default_namespace {
        parse::namespace("MEMORY_NAMESPACE", ns)?;
    }
    let session = Session::open_with(global, Acting::Principal, true, err)?;
    let server = memory_server::mcp::McpServer::new(
        session.engine.clone(),
        Some(session.caller.clone()),
        default_namespace,
        memory_engine::MAX_RECALL_LIMIT,
    );
    let result = session
        .block_on(memory_server::mcp::serve_stdio(server))
        .map(|()| Status::Success)
        .map_err(|e| CliError::new(ErrorKind::Failed, format!("MCP over stdio failed: {e}")));
    session.close(result, err)
}

/// `memory tenants create | ls`.
pub fn tenants(
    command: TenantsCommand,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let create = match &command {
        TenantsCommand::Create(args) => Some(tenant("TENANT", &args.tenant)?),
        TenantsCommand::Ls => None,
    };
    let session = Session::open(global, Acting::Operator, err)?;
    let (engine, caller) = (&session.engine, &session.caller);
    let result = (|| {
        match create {
            Some(t) => {
                let created = session.block_on(engine.create_tenant(caller, &t))?;
                if global.json {
                    super::write_json(out, &serde_json::json!({ "tenant": t, "created": created }))?;
                } else if created {
                    writeln!(out, "created tenant {t}")?;
                } else {
                    writeln!(out, "tenant {t} already exists; nothing changed")?;
                }
            }
            None => {
                let all = session.block_on(engine.list_tenants(caller))?;
                if global.json {
                    super::write_json(out, &serde_json::json!({ "tenants": all }))?;
                } else {
                    for t in all {
                        writeln!(out, "{t}")?;
                    }
                }
            }
        }
        Ok(Status::Success)
    })();
    session.close(result, err)
}

fn tenant(flag: &str, raw: &str) -> Result<TenantId, CliError> {
    TenantId::new(raw.trim()).map_err(|e| CliError::invalid_input(format!("{flag}: {}", e.message())))
}

/// `memory keys create | ls | revoke`.
pub fn keys(
    command: KeysCommand,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    enum Action {
        Create(NewKey),
        List,
        Revoke(memory_core::ApiKeyId),
    }
    let (t, action) = match &command {
        KeysCommand::Create(args) => (tenant("--tenant", &args.tenant)?, Action::Create(new_key(args, global)?)),
        KeysCommand::Ls(args) => (tenant("--tenant", &args.tenant)?, Action::List),
        KeysCommand::Revoke(args) => {
            let id = args
                .id
                .trim()
                .parse()
                .map_err(|e: memory_core::Error| CliError::invalid_input(format!("ID: {}", e.message())))?;
            (tenant("--tenant", &args.tenant)?, Action::Revoke(id))
        }
    };
    // Keys are managed as the operator; the principal flag names the key's principal here.
    let options = GlobalArgs { principal: None, ..global.clone() };
    let session = Session::open(&options, Acting::Operator, err)?;
    let mut caller = session.caller.clone();
    caller.tenant = t.clone();
    let engine = &session.engine;
    let result = (|| {
        match action {
            Action::Create(new) => {
                session.block_on(engine.open_tenant(&t))?;
                let issued = session.block_on(engine.create_key(&caller, new))?;
                if global.json {
                    super::write_json(out, &IssuedKeyDto::from(&issued))?;
                } else {
                    writeln!(out, "created key {} for {} in tenant {t}", issued.key.id, issued.key.principal)?;
                    writeln!(out, "secret (shown once; keep it safe): {}", issued.secret)?;
                }
            }
            Action::List => {
                let keys = session.block_on(engine.list_keys(&caller))?;
                if global.json {
                    super::write_json(out, &KeyList { keys: keys.iter().map(KeyDto::from).collect() })?;
                } else {
                    let rows = keys
                        .iter()
                        .map(|k| {
                            let dto = KeyDto::from(k);
                            let scopes: Vec<String> = dto
                                .scopes
                                .iter()
                                .map(|s| format!("{}={}", s.namespace, s.permissions.join("+")))
                                .collect();
                            vec![
                                dto.id,
                                dto.principal,
                                if dto.admin { "admin".into() } else { "-".into() },
                                if scopes.is_empty() { "(policy)".into() } else { scopes.join(",") },
                                if dto.revoked_at.is_some() { "revoked".into() } else { "active".into() },
                                dto.label,
                            ]
                        })
                        .collect();
                    super::write_table(out, "", &["ID", "PRINCIPAL", "ADMIN", "SCOPES", "STATUS", "LABEL"], rows)?;
                }
            }
            Action::Revoke(id) => {
                let changed = session.block_on(engine.revoke_key(&caller, id))?;
                if global.json {
                    super::write_json(out, &serde_json::json!({ "key": id.to_string(), "changed": changed }))?;
                } else if changed {
                    writeln!(out, "revoked key {id}")?;
                } else {
                    writeln!(out, "key {id} was already revoked; nothing changed")?;
                }
            }
        }
        Ok(Status::Success)
    })();
    session.close(result, err)
}

/// The key `memory keys create` describes.
fn new_key(args: &KeysCreateArgs, global: &GlobalArgs) -> Result<NewKey, CliError> {
    let principal = global
        .principal
        .clone()
        .ok_or_else(|| CliError::invalid_input("keys create: give the key's principal with --principal P"))?;
    let mut scopes = Vec::new();
    for raw in &args.scopes {
        let (ns, perm) = raw
            .split_once('=')
            .ok_or_else(|| CliError::invalid_input(format!("--scope: expected NS=read or NS=rw, got {raw:?}")))?;
        let namespace: NamespaceKey = parse::namespace("--scope", ns)?;
        let permission = match perm.trim() {
            "read" | "r" => Permission::Read,
            "rw" | "read_write" | "write" => Permission::ReadWrite,
            other => {
                return Err(CliError::invalid_input(format!("--scope: unknown permission {other:?} (read or rw)")));
            }
        };
        scopes.push(KeyScope { namespace, permission });
    }
    Ok(NewKey {
        label: args.label.clone().unwrap_or_else(|| principal.clone()),
        principal,
        scopes,
        default_namespace: args
            .default_namespace
            .as_deref()
            .map(|n| parse::namespace("--default-namespace", n))
            .transpose()?,
        admin: args.admin,
    })
}

/// `memory inspect`: the plan of the principal of the flags, with reasons.
pub fn inspect(
    args: &InspectArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    for ns in &args.namespaces {
        if ns.trim() != "*" {
            parse::namespace("--namespace", ns)?;
        }
    }
    let session = Session::open(global, Acting::Principal, err)?;
    let result = session
        .block_on(session.engine.inspect(&session.caller, &args.namespaces, args.write.clone(), args.include_sensitive))
        .map_err(CliError::from)
        .and_then(|plan| {
            if global.json {
                super::write_json(out, &plan)?;
            } else {
                super::policy::plan::write_summary(out, &plan)?;
            }
            Ok(if plan.error.is_some() { Status::Negative } else { Status::Success })
        });
    session.close(result, err)
}
