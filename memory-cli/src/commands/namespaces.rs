//! `memory namespaces ls | create | rename | archive | restore | delete | migrate | verify |
//! rebuild`, as the operator of the home.

use std::io::Write;

use memory_core::{DefaultAccess, NamespaceFilter, NamespaceKey, NamespaceStatus, Sensitivity};
use memory_engine::VerifyReport;
use memory_server::dto::{
    CatalogRebuildDto, CreateNamespace, MigrateBody, MigrationDto, NamespaceDto, UpdateNamespace,
};

use super::backend::Backend;
use super::home::{Acting, Session};
use super::parse;
use crate::args::{
    GlobalArgs, NamespacesCommand, NamespacesCreateArgs, NamespacesLsArgs, NamespacesMigrateArgs, NamespacesRenameArgs,
};
use crate::error::{CliError, Status, plural};

/// Runs one `memory namespaces` subcommand.
pub fn run(
    command: NamespacesCommand,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    // Every argument is checked before the home is opened.
    let action = match command {
        NamespacesCommand::Ls(args) => Action::List(filter(&args)?),
        NamespacesCommand::Create(args) => Action::Create(create_body(&args)?),
        NamespacesCommand::Rename(args) => rename(&args)?,
        NamespacesCommand::Archive(args) => {
            Action::Status(parse::namespace("KEY", &args.key)?, NamespaceStatus::Archived)
        }
        NamespacesCommand::Restore(args) => {
            Action::Status(parse::namespace("KEY", &args.key)?, NamespaceStatus::Active)
        }
        NamespacesCommand::Delete(args) => {
            Action::Status(parse::namespace("KEY", &args.key)?, NamespaceStatus::Deleted)
        }
        NamespacesCommand::Migrate(args) => migrate(&args)?,
        NamespacesCommand::Verify => {
            // Verification reads the home's own files (store, index), whoever serves it.
            let session = Session::open(global, Acting::Operator, err)?;
            let result = verify(&session, global.json, out);
            return session.close(result, err);
        }
        NamespacesCommand::Rebuild(args) => {
            // Like verify, it reads the store's own memories, whoever serves the home.
            let session = Session::open(global, Acting::Operator, err)?;
            let result = rebuild(&session, args.apply, global.json, out);
            return session.close(result, err);
        }
    };
    let backend = Backend::open(global, Acting::Operator, err)?;
    let result = action.run(&backend, global.json, out);
    backend.close(result, err)
}

/// One checked subcommand.
#[derive(Debug)]
enum Action {
    List(NamespaceFilter),
    Create(CreateNamespace),
    Rename(NamespaceKey, UpdateNamespace),
    /// Archive, restore (to active) or delete.
    Status(NamespaceKey, NamespaceStatus),
    /// Plan or apply moving every memory of a namespace into another.
    Migrate(NamespaceKey, MigrateBody),
}

impl Action {
    fn run(self, backend: &Backend, json: bool, out: &mut dyn Write) -> Result<Status, CliError> {
        match self {
            Action::List(filter) => {
                let list = backend.namespaces(&filter)?;
                if json {
                    super::write_json(out, &list)?;
                } else {
                    write_list(out, &list.namespaces)?;
                }
            }
            Action::Create(body) => {
                let ns = backend.create_namespace(&body)?;
                if json {
                    super::write_json(out, &ns)?;
                } else {
                    writeln!(out, "created namespace {}", ns.key)?;
                }
            }
            Action::Rename(key, body) => {
                let ns = backend.update_namespace(key.as_str(), &body)?;
                if json {
                    super::write_json(out, &ns)?;
                } else {
                    writeln!(out, "renamed namespace {}: display name {:?}", ns.key, ns.name)?;
                }
            }
            Action::Migrate(from, body) => {
                let plan = backend.migrate_namespace(from.as_str(), &body)?;
                if json {
                    super::write_json(out, &plan)?;
                } else {
                    write_migration(out, &plan)?;
                }
                if !plan.applied && !plan.conflicts.is_empty() {
                    return Ok(Status::Negative);
                }
            }
            Action::Status(key, to) => {
                let verb = match to {
                    NamespaceStatus::Archived => "archive",
                    NamespaceStatus::Active => "restore",
                    NamespaceStatus::Deleted => "delete",
                };
                let changed = backend.lifecycle(key.as_str(), verb)?;
                if json {
                    super::write_json(out, &changed)?;
                } else if changed.changed {
                    let done = match to {
                        NamespaceStatus::Archived => "archived",
                        NamespaceStatus::Active => "restored",
                        NamespaceStatus::Deleted => "deleted",
                    };
                    writeln!(out, "{done} namespace {key}")?;
                } else {
                    writeln!(out, "namespace {key} is already {to}; nothing changed")?;
                }
            }
        }
        Ok(Status::Success)
    }
}

/// `namespaces verify`: problems make a negative answer.
fn verify(session: &Session, json: bool, out: &mut dyn Write) -> Result<Status, CliError> {
    let report = session.block_on(session.engine.verify_namespaces(&session.caller))?;
    if json {
        super::write_json(out, &report)?;
    } else {
        write_verify(out, &report)?;
    }
    Ok(if report.problems.is_empty() { Status::Success } else { Status::Negative })
}

/// `namespaces rebuild --dry-run | --apply`.
fn rebuild(session: &Session, apply: bool, json: bool, out: &mut dyn Write) -> Result<Status, CliError> {
    let report = session.block_on(session.engine.rebuild_catalog(&session.caller, apply))?;
    let report = CatalogRebuildDto::from(&report);
    if json {
        super::write_json(out, &report)?;
        return Ok(Status::Success);
    }
    let verb = if report.applied { "created" } else { "would create" };
    for n in &report.created {
        writeln!(out, "{verb} namespace {} ({}, {})", n.namespace, n.kind, super::transfer::memories(n.memories))?;
    }
    let live = if report.memories == 1 { "live memory" } else { "live memories" };
    let read = format!("{}, {} {live}", plural(report.namespaces, "namespace"), report.memories);
    match (report.created.is_empty(), report.applied) {
        (true, _) => writeln!(out, "the catalog is complete ({read}): nothing to create")?,
        (false, true) => {
            writeln!(out, "rebuilt the catalog ({read}): {}", plural(report.created.len(), "record") + " created")?
        }
        (false, false) => writeln!(out, "dry run ({read}): nothing changed; --apply creates them")?,
    }
    Ok(Status::Success)
}

fn filter(args: &NamespacesLsArgs) -> Result<NamespaceFilter, CliError> {
    let mut filter = NamespaceFilter::default();
    filter.team = args.team.as_deref().map(|t| team("--team", t)).transpose()?;
    filter.sensitivity = args.sensitivity.as_deref().map(|s| parse::text_enum("--sensitivity", s)).transpose()?;
    filter.kind = args.kind.as_deref().map(|k| parse::text_enum("--kind", k)).transpose()?;
    filter.status = args.status.as_deref().map(|s| parse::text_enum("--status", s)).transpose()?;
    Ok(filter)
}

fn create_body(args: &NamespacesCreateArgs) -> Result<CreateNamespace, CliError> {
    let key = args.key.as_deref().map(|k| parse::namespace("KEY", k)).transpose()?;
    let mut body = CreateNamespace { key: key.map(|k| k.to_string()), ..CreateNamespace::default() };
    body.name = args.display_name.as_deref().map(|n| display_name("--display-name", n)).transpose()?;
    // Derive the key here too, so that a name with nothing usable in it fails before any request.
    body.key = Some(body.key()?);
    body.description.clone_from(&args.description);
    body.team = args.team.as_deref().map(|t| team("--team", t)).transpose()?;
    let sensitivity: Option<Sensitivity> =
        args.sensitivity.as_deref().map(|s| parse::text_enum("--sensitivity", s)).transpose()?;
    body.sensitivity = sensitivity.map(|s| s.to_string());
    let access: Option<DefaultAccess> =
        args.default_access.as_deref().map(|a| parse::text_enum("--default-access", a)).transpose()?;
    body.default_access = access.map(|a| a.to_string());
    if let Some(days) = &args.retention_days {
        let days = parse::whole("--retention-days", days, 1, u64::from(u32::MAX))?;
        body.retention_days = Some(u32::try_from(days).expect("bounded above"));
    }
    Ok(body)
}

fn migrate(args: &NamespacesMigrateArgs) -> Result<Action, CliError> {
    let from = parse::namespace("FROM", &args.from)?;
    let to = parse::namespace("--to", &args.to)?;
    let batch = args
        .batch
        .as_deref()
        .map(|b| parse::whole("--batch", b, 1, 1000).map(|n| usize::try_from(n).expect("bounded above")))
        .transpose()?;
    Ok(Action::Migrate(from, MigrateBody { to: to.to_string(), apply: args.apply, batch }))
}

/// The plan (or what an apply did), then its duplicates and conflicts.
fn write_migration(out: &mut dyn Write, m: &MigrationDto) -> Result<(), CliError> {
    let what = if m.applied { "moved" } else { "would move" };
    writeln!(
        out,
        "{} -> {}: {} {what} ({} as they are, {} merging into a duplicate), {}",
        m.from,
        m.to,
        super::transfer::memories(m.memories),
        m.moves,
        m.merges.len(),
        plural(m.conflicts.len(), "conflict")
    )?;
    for d in &m.merges {
        writeln!(out, "  merge    {} -> {}", d.id, d.into)?;
    }
    for d in &m.conflicts {
        writeln!(out, "  conflict {} / {}: {}", d.id, d.into, d.conflict.as_deref().unwrap_or("-"))?;
    }
    if m.applied {
        let batches = if m.batches == 1 { "1 batch".to_owned() } else { format!("{} batches", m.batches) };
        writeln!(out, "moved {} in {batches}; {} is empty", super::transfer::memories(m.moved), m.from)?;
    } else if m.conflicts.is_empty() {
        writeln!(out, "dry run: nothing changed; --apply moves them")?;
    } else {
        writeln!(out, "dry run: resolve the conflicts (forget or change one of each pair) before --apply")?;
    }
    Ok(())
}

fn rename(args: &NamespacesRenameArgs) -> Result<Action, CliError> {
    let key = parse::namespace("KEY", &args.key)?;
    let body = UpdateNamespace { name: Some(display_name("NAME", &args.name)?), ..UpdateNamespace::default() };
    Ok(Action::Rename(key, body))
}

/// A display name: not blank (the engine checks the rest: length, control characters).
fn display_name(flag: &str, raw: &str) -> Result<String, CliError> {
    if raw.trim().is_empty() {
        return Err(CliError::invalid_input(format!("{flag}: the display name is empty")));
    }
    Ok(raw.to_owned())
}

fn team(flag: &str, raw: &str) -> Result<String, CliError> {
    if raw.trim().is_empty() {
        return Err(CliError::invalid_input(format!("{flag}: the team id is empty")));
    }
    Ok(raw.trim().to_owned())
}

/// A table of key, kind, status, live memories and display name.
fn write_list(out: &mut dyn Write, list: &[NamespaceDto]) -> Result<(), CliError> {
    let rows = list
        .iter()
        .map(|ns| {
            vec![
                ns.key.clone(),
                ns.kind.clone(),
                ns.status.clone(),
                ns.memories.unwrap_or(0).to_string(),
                ns.name.clone(),
            ]
        })
        .collect();
    super::write_table(out, "", &["KEY", "KIND", "STATUS", "MEMORIES", "DISPLAY NAME"], rows)
}

/// Each problem on its own line, then a summary.
fn write_verify(out: &mut dyn Write, report: &VerifyReport) -> Result<(), CliError> {
    for problem in &report.problems {
        writeln!(out, "problem: {problem}")?;
    }
    let checked = format!(
        "checked {} and {} live {}",
        plural(report.namespaces, "namespace"),
        report.memories,
        if report.memories == 1 { "memory" } else { "memories" }
    );
    if report.problems.is_empty() {
        writeln!(out, "{checked}: ok")?;
    } else {
        writeln!(out, "{checked}: {}", plural(report.problems.len(), "problem"))?;
    }
    Ok(())
}
