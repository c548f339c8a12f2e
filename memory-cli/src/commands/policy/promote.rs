//! `memory policy promote FILE --principal P --from NS --category C --confidence X`: where an
//! extracted memory would be auto-promoted, and why.

use std::io::Write;

use memory_policy::{ConfiguredCatalog, PlanRequest, ReadRequest};

use super::request;
use crate::args::PromoteArgs;
use crate::commands::parse;
use crate::error::{CliError, Status};

/// Prints the targets and the reason; no targets is still an answer, so always success.
pub fn run(args: &PromoteArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    let caller = request::caller(&args.caller)?;
    let project = request::project(&args.project)?;
    let from = request::namespace_arg("--from", &args.from)?;
    let category = parse::category("--category", &args.category)?;
    let confidence = parse::confidence("--confidence", &args.confidence)?;
    let policy = super::compile(&args.file, err)?;
    let catalog = ConfiguredCatalog::new(&policy);
    let request = PlanRequest { caller, project, read: ReadRequest::Default, write: None, include_sensitive: false };
    let promotion = policy.auto_promotion(&request, &catalog, &from, &category, confidence);
    if args.json {
        super::write_json(out, &promotion)?;
    } else {
        let targets: Vec<&str> = promotion.targets.iter().map(|ns| ns.as_str()).collect();
        let targets = if targets.is_empty() { "(none)".to_owned() } else { targets.join(", ") };
        writeln!(out, "targets: {targets}")?;
        writeln!(out, "reason: {}", promotion.reason)?;
    }
    Ok(Status::Success)
}
