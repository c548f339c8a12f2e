//! One module per command; [`run`] dispatches a parsed command line to it.
//!
//! Commands write their answer to `out` and everything else (warnings) to `err`, and return a
//! [`Status`] when they answered or a [`CliError`] when they could not.

mod policy;

use std::io::Write;

use crate::args::Command;
use crate::error::{CliError, Status};

/// Runs `command`.
pub fn run(command: Command, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    match command {
        Command::Policy(command) => policy::run(command, out, err),
    }
}
