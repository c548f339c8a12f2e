//! `memory namespaces ls | create | rename | archive | restore | delete | verify`, as the
//! operator of the home.

use std::io::Write;

use memory_engine::core::{NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceStatus};
use memory_engine::{NamespaceInfo, VerifyReport};
use serde::Serialize;

use super::home::{Acting, Session};
use super::parse;
use crate::args::{GlobalArgs, NamespacesCommand, NamespacesCreateArgs, NamespacesLsArgs, NamespacesRenameArgs};
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
        NamespacesCommand::Create(args) => {
            let key = parse::namespace("KEY", &args.key)?;
            Action::Create(key, create_patch(&args)?)
        }
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
        NamespacesCommand::Verify => Action::Verify,
    };
    let session = Session::open(global, Acting::Operator, err)?;
    let result = action.run(&session, global.json, out);
    session.close(result, err)
}

/// One checked subcommand.
#[derive(Debug)]
enum Action {
    List(NamespaceFilter),
    Create(NamespaceKey, NamespacePatch),
    Rename(NamespaceKey, NamespacePatch),
    /// Archive, restore (to active) or delete.
    Status(NamespaceKey, NamespaceStatus),
    Verify,
}

impl Action {
    fn run(self, session: &Session, json: bool, out: &mut dyn Write) -> Result<Status, CliError> {
        let (engine, caller) = (&session.engine, &session.caller);
        match self {
            Action::List(filter) => {
                let list = session.block_on(engine.list_namespaces(caller, &filter))?;
                if json {
                    super::write_json(out, &list)?;
                } else {
                    write_list(out, &list)?;
                }
            }
            Action::Create(key, patch) => {
                let ns = session.block_on(engine.create_namespace(caller, key.as_str(), &patch))?;
                if json {
                    super::write_json(out, &ns)?;
                } else {
                    writeln!(out, "created namespace {}", ns.key)?;
                }
            }
            Action::Rename(key, patch) => {
                let ns = session.block_on(engine.update_namespace(caller, key.as_str(), &patch))?;
                if json {
                    super::write_json(out, &ns)?;
                } else {
                    writeln!(out, "renamed namespace {}: display name {:?}", ns.key, ns.display_name)?;
                }
            }
            Action::Status(key, to) => {
                let changed = session.block_on(async {
                    match to {
                        NamespaceStatus::Archived => engine.archive_namespace(caller, key.as_str()).await,
                        NamespaceStatus::Active => engine.restore_namespace(caller, key.as_str()).await,
                        NamespaceStatus::Deleted => engine.delete_namespace(caller, key.as_str()).await,
                    }
                })?;
                if json {
                    super::write_json(out, &StatusChange { namespace: key, status: to, changed })?;
                } else {
                    let verb = match to {
                        NamespaceStatus::Archived => "archived",
                        NamespaceStatus::Active => "restored",
                        NamespaceStatus::Deleted => "deleted",
                    };
                    if changed {
                        writeln!(out, "{verb} namespace {key}")?;
                    } else {
                        writeln!(out, "namespace {key} is already {to}; nothing changed")?;
                    }
                }
            }
            Action::Verify => {
                let report = session.block_on(engine.verify_namespaces(caller))?;
                if json {
                    super::write_json(out, &report)?;
                } else {
                    write_verify(out, &report)?;
                }
                if !report.problems.is_empty() {
                    return Ok(Status::Negative);
                }
            }
        }
        Ok(Status::Success)
    }
}

/// The `--json` answer of archive, restore and delete.
#[derive(Debug, Serialize)]
struct StatusChange {
    namespace: NamespaceKey,
    status: NamespaceStatus,
    changed: bool,
}

fn filter(args: &NamespacesLsArgs) -> Result<NamespaceFilter, CliError> {
    let mut filter = NamespaceFilter::default();
    filter.team = args.team.as_deref().map(|t| team("--team", t)).transpose()?;
    filter.sensitivity = args.sensitivity.as_deref().map(|s| parse::text_enum("--sensitivity", s)).transpose()?;
    filter.kind = args.kind.as_deref().map(|k| parse::text_enum("--kind", k)).transpose()?;
    filter.status = args.status.as_deref().map(|s| parse::text_enum("--status", s)).transpose()?;
    Ok(filter)
}

fn create_patch(args: &NamespacesCreateArgs) -> Result<NamespacePatch, CliError> {
    let mut patch = NamespacePatch::default();
    patch.display_name = args.display_name.as_deref().map(|n| display_name("--display-name", n)).transpose()?;
    if let Some(description) = &args.description {
        patch.description = Some(Some(description.clone()));
    }
    if let Some(t) = &args.team {
        patch.team = Some(Some(team("--team", t)?));
    }
    patch.sensitivity = args.sensitivity.as_deref().map(|s| parse::text_enum("--sensitivity", s)).transpose()?;
    patch.default_access =
        args.default_access.as_deref().map(|a| parse::text_enum("--default-access", a)).transpose()?;
    if let Some(days) = &args.retention_days {
        let days = parse::whole("--retention-days", days, 1, u64::from(u32::MAX))?;
        patch.retention_days = Some(Some(u32::try_from(days).expect("bounded above")));
    }
    Ok(patch)
}

fn rename(args: &NamespacesRenameArgs) -> Result<Action, CliError> {
    let key = parse::namespace("KEY", &args.key)?;
    let mut patch = NamespacePatch::default();
    patch.display_name = Some(display_name("NAME", &args.name)?);
    Ok(Action::Rename(key, patch))
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
fn write_list(out: &mut dyn Write, list: &[NamespaceInfo]) -> Result<(), CliError> {
    let rows = list
        .iter()
        .map(|info| {
            let ns = &info.namespace;
            vec![
                ns.key.to_string(),
                ns.kind.to_string(),
                ns.status.to_string(),
                info.memories.to_string(),
                ns.display_name.clone(),
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
