//! `memory policy check | plan | can | promote`: the resolver's answers for a policy file alone,
//! with no store (SPEC 4 "Precise rules": configured and rendered namespaces count as existing).

mod can;
mod check;
pub mod plan;
mod promote;
mod request;

use std::io::Write;
use std::path::Path;

use memory_policy::{Diagnostic, Policy, load};

// The submodules reach them as `super::write_json` and `super::write_table`.
use super::{write_json, write_table};
use crate::args::PolicyCommand;
use crate::error::{CliError, Status};

/// Runs one `memory policy` subcommand.
pub fn run(command: PolicyCommand, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    match command {
        PolicyCommand::Check(args) => check::run(&args, out),
        PolicyCommand::Plan(args) => plan::run(&args, out, err),
        PolicyCommand::Can(args) => can::run(&args, out, err),
        PolicyCommand::Promote(args) => promote::run(&args, out, err),
    }
}

/// The outcome of loading a policy file: its configuration (with warnings), or its errors.
type Loaded = Result<load::Loaded, Vec<Diagnostic>>;

/// Loads the policy file at `path` for validation. A file that cannot be read is an error of
/// the command, not a diagnostic of the configuration: there is no configuration to judge.
fn load_file(path: &Path) -> Result<Loaded, CliError> {
    // Checked here so that a typo gets one plain line instead of a configuration report.
    let cannot_read = |why: &dyn std::fmt::Display| {
        CliError::invalid_input(format!("cannot read the policy file {}: {why}", path.display()))
    };
    match std::fs::metadata(path) {
        Err(e) => return Err(cannot_read(&e)),
        Ok(meta) if meta.is_dir() => return Err(cannot_read(&"it is a directory")),
        Ok(_) => {}
    }
    Ok(load::load_file(path))
}

/// Loads and compiles the policy file at `path` for a question about it: an invalid file fails
/// the command with its diagnostics; warnings go to `err` so that stdout stays the answer alone.
fn compile(path: &Path, err: &mut dyn Write) -> Result<Policy, CliError> {
    match load_file(path)? {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                writeln!(err, "{warning}")?;
            }
            Ok(Policy::new(loaded.config))
        }
        Err(diagnostics) => Err(CliError::invalid_config(path, diagnostics)),
    }
}
