//! `memory policy plan FILE (--principal P | --session-key K) ...`: the scope plan of one
//! request, as a readable summary or as the plan's JSON.

use std::io::Write;

use memory_core::NamespaceKey;
use memory_policy::{ConfiguredCatalog, PlanErrorCode, PlanRequest, ReadRequest, ScopePlan};

use super::request;
use crate::args::PlanArgs;
use crate::error::{CliError, Status};

/// Prints the plan; a plan that refuses the request is a negative answer.
pub fn run(args: &PlanArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    let request = plan_request(args)?;
    let policy = super::compile(&args.file, err)?;
    let plan = policy.plan(&request, &ConfiguredCatalog::new(&policy));
    if args.json {
        super::write_json(out, &plan)?;
    } else {
        write_summary(out, &plan)?;
    }
    Ok(if plan.error.is_some() { Status::Negative } else { Status::Success })
}

/// The request the flags describe. Namespace flags are checked here, so a malformed key is a
/// bad argument (exit 2) rather than a refused plan (exit 1).
fn plan_request(args: &PlanArgs) -> Result<PlanRequest, CliError> {
    let read = if args.namespaces.is_empty() {
        ReadRequest::Default
    } else if args.namespaces.iter().any(|ns| ns.trim() == "*") {
        ReadRequest::All
    } else {
        for ns in &args.namespaces {
            request::namespace_arg("--namespace", ns)?;
        }
        ReadRequest::Explicit(args.namespaces.clone())
    };
    if let Some(ns) = &args.write {
        request::namespace_arg("--write", ns)?;
    }
    Ok(PlanRequest {
        caller: request::caller(&args.caller)?,
        project: request::project(&args.project)?,
        read,
        write: args.write.clone(),
        include_sensitive: args.include_sensitive,
    })
}

/// The human-readable plan: who and why, read order, write target, a layer table, promotion
/// targets, warnings, and the error if the request is refused.
pub fn write_summary(out: &mut dyn Write, plan: &ScopePlan) -> Result<(), CliError> {
    let principal = plan.principal.as_ref().map_or("(none)", |p| p.as_str());
    writeln!(out, "principal: {principal}")?;
    writeln!(out, "  because {}", plan.principal_reason)?;
    writeln!(out, "read:      {}", list(&plan.read))?;
    writeln!(out, "write:     {}", plan.write.as_ref().map_or("(none)", NamespaceKey::as_str))?;
    if let Some(refusal) = &plan.write_refusal {
        writeln!(out, "  refused: {}", refusal.message)?;
    }

    if !plan.layers.is_empty() {
        writeln!(out)?;
        writeln!(out, "layers:")?;
        let rows = plan
            .layers
            .iter()
            .map(|l| {
                vec![
                    l.layer.clone(),
                    namespace(l.namespace.as_ref()).to_owned(),
                    yes_no(l.readable).to_owned(),
                    yes_no(l.writable).to_owned(),
                    yes_no(l.promotable).to_owned(),
                    l.reason.clone(),
                ]
            })
            .collect();
        super::write_table(out, "  ", &["LAYER", "NAMESPACE", "READ", "WRITE", "PROMOTE", "REASON"], rows)?;
    }

    if !plan.promotion_targets.is_empty() {
        writeln!(out)?;
        writeln!(out, "promotion targets:")?;
        let rows = plan
            .promotion_targets
            .iter()
            .map(|t| {
                vec![
                    t.target.clone(),
                    namespace(t.namespace.as_ref()).to_owned(),
                    if t.authorized { "authorized" } else { "not authorized" }.to_owned(),
                    t.reason.clone(),
                ]
            })
            .collect();
        super::write_table(out, "  ", &["TARGET", "NAMESPACE", "AUTHORIZED", "REASON"], rows)?;
    }

    if !plan.warnings.is_empty() {
        writeln!(out)?;
        writeln!(out, "warnings:")?;
        for w in &plan.warnings {
            writeln!(out, "  - {w}")?;
        }
    }

    if let Some(error) = &plan.error {
        writeln!(out)?;
        writeln!(out, "refused ({}): {}", code(error.code), error.message)?;
    }
    Ok(())
}

fn list(namespaces: &[NamespaceKey]) -> String {
    if namespaces.is_empty() {
        return "(none)".to_owned();
    }
    namespaces.iter().map(NamespaceKey::as_str).collect::<Vec<_>>().join(", ")
}

fn namespace(ns: Option<&NamespaceKey>) -> &str {
    ns.map_or("-", NamespaceKey::as_str)
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The same codes the JSON form and the HTTP API use.
fn code(code: PlanErrorCode) -> &'static str {
    match code {
        PlanErrorCode::Forbidden => "forbidden",
        PlanErrorCode::NotFound => "not_found",
        PlanErrorCode::Unauthenticated => "unauthenticated",
        PlanErrorCode::Invalid => "invalid",
    }
}
