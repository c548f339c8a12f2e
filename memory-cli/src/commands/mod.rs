//! One module per command; [`run`] dispatches a parsed command line to it.
//!
//! Commands write their answer to `out` and everything else (warnings) to `err`, and return a
//! [`Status`] when they answered or a [`CliError`] when they could not.

mod eval;
mod policy;

use std::io::Write;

use crate::args::Command;
use crate::error::{CliError, ErrorKind, Status};

/// Runs `command`.
pub fn run(command: Command, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    match command {
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
