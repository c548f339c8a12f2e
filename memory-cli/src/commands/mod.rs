//! One module per command; [`run`] dispatches a parsed command line to it.
//!
//! Commands write their answer to `out` and everything else (warnings, progress) to `err`, and
//! return a [`Status`] when they answered or a [`CliError`] when they could not. The ones that
//! work on a memory home open it through [`home::Session`].

mod backend;
mod consolidate;
mod entities;
mod eval;
mod home;
mod maintain;
mod memories;
mod namespaces;
mod output;
mod parse;
mod policy;
mod progress;
mod serve;
mod transfer;

use std::io::Write;

use crate::args::{Cli, Command};
use crate::error::{CliError, ErrorKind, Status};

/// Runs the command of `cli`.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    let global = &cli.global;
    match cli.command {
        Command::Remember(args) => memories::remember(&args, global, out, err),
        Command::Recall(args) => memories::recall(&args, global, out, err),
        Command::Get(args) => memories::get(&args, global, out, err),
        Command::Forget(args) => memories::forget(&args, global, out, err),
        Command::Outcome(args) => memories::outcome(&args, global, out, err),
        Command::Promote(args) => memories::promote(&args, global, out, err),
        Command::Namespaces(command) => namespaces::run(command, global, out, err),
        Command::Export(args) => transfer::export(&args, global, out, err),
        Command::Import(args) => transfer::import(&args, global, out, err),
        Command::Backup(args) => transfer::backup(&args, global, out, err),
        Command::Logs(args) => transfer::logs(&args, global, out, err),
        Command::Reindex => transfer::reindex(global, out, err),
        Command::Consolidate(args) => consolidate::consolidate(&args, global, out, err),
        Command::Proposals(command) => consolidate::proposals(command, global, out, err),
        Command::Entities(command) => entities::run(command, global, out, err),
        Command::Maintain(args) => maintain::run(&args, global, out, err),
        Command::Serve(args) => serve::serve(&args, global, out, err),
        Command::Mcp => serve::mcp(global, err),
        Command::Tenants(command) => serve::tenants(command, global, out, err),
        Command::Keys(command) => serve::keys(command, global, out, err),
        Command::Inspect(args) => serve::inspect(&args, global, out, err),
        Command::Policy(command) => policy::run(command, out, err),
        Command::Eval(args) => eval::run(&args, out),
    }
}

/// Writes `value` as pretty JSON and a newline.
fn write_json(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(ErrorKind::Failed, format!("cannot encode JSON: {e}")))?;
    writeln!(out, "{text}")?;
    Ok(())
}

/// Left-aligned columns separated by two spaces, each line after `indent`; the last column is
/// not padded.
fn write_table(out: &mut dyn Write, indent: &str, header: &[&str], rows: Vec<Vec<String>>) -> Result<(), CliError> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(&rows) {
        let mut line = String::from(indent);
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
