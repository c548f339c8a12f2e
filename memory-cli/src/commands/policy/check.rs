//! `memory policy check FILE [--json]`: validates a policy file and lists every diagnostic.

use std::io::Write;

use memory_policy::{Diagnostic, Severity};
use serde::Serialize;

use crate::args::CheckArgs;
use crate::error::{CliError, Status, plural};

/// The `--json` answer.
#[derive(Debug, Serialize)]
struct CheckReport<'a> {
    valid: bool,
    diagnostics: &'a [Diagnostic],
}

/// Prints the diagnostics and a summary; valid (warnings allowed) is success, else invalid.
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> Result<Status, CliError> {
    let (valid, diagnostics) = match super::load_file(&args.file)? {
        Ok(loaded) => (true, loaded.warnings),
        Err(diagnostics) => (false, diagnostics),
    };
    if args.json {
        super::write_json(out, &CheckReport { valid, diagnostics: &diagnostics })?;
    } else {
        for d in &diagnostics {
            writeln!(out, "{d}")?;
        }
        if valid {
            writeln!(out, "valid")?;
        } else {
            let errors = diagnostics.iter().filter(|d| d.severity == Severity::Error).count();
            writeln!(out, "invalid: {}", plural(errors, "error"))?;
        }
    }
    Ok(if valid { Status::Success } else { Status::Invalid })
}
