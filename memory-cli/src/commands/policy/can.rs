//! `memory policy can FILE --principal P (--read NS | --write NS | --promote NS) [--json]`:
//! one allow/deny answer with its reason.

use std::io::Write;

use memory_policy::Operation;

use super::request;
use crate::args::{CanArgs, OperationArgs};
use crate::error::{CliError, Status};

/// Prints `allow: reason` or `deny: reason` (or the verdict as JSON); allowed is success,
/// denied is negative.
pub fn run(args: &CanArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    let caller = request::caller(&args.caller)?;
    let (operation, flag, raw) = operation(&args.operation)?;
    // A malformed key is a bad argument (exit 2), not a denial (exit 1).
    let namespace = request::namespace_arg(flag, raw)?;
    let policy = super::compile(&args.file, err)?;
    let verdict = policy.can(&caller, operation, namespace.as_str(), &memory_policy::ConfiguredCatalog::new(&policy));
    if args.json {
        super::write_json(out, &verdict)?;
    } else {
        let word = if verdict.allowed { "allow" } else { "deny" };
        writeln!(out, "{word}: {}", verdict.reason)?;
    }
    Ok(if verdict.allowed { Status::Success } else { Status::Negative })
}

/// The one question asked; clap guarantees exactly one flag, this keeps that total anyway.
fn operation(args: &OperationArgs) -> Result<(Operation, &'static str, &str), CliError> {
    match (&args.read, &args.write, &args.promote) {
        (Some(ns), None, None) => Ok((Operation::Read, "--read", ns)),
        (None, Some(ns), None) => Ok((Operation::Write, "--write", ns)),
        (None, None, Some(ns)) => Ok((Operation::Promote, "--promote", ns)),
        _ => Err(CliError::invalid_input("give exactly one of --read, --write or --promote")),
    }
}
