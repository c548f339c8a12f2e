//! `memory consolidate` and `memory proposals ls | approve | reject`, as the operator:
//! distilling episodes into durable memories, and the review queue of the identity memories
//! consolidation may only propose.

use std::io::Write;

use memory_core::ProposalStatus;
use memory_server::dto::{ConsolidateBody, ConsolidationDto, ProposalDto, ProposalPage, ProposalsQuery};

use super::backend::Backend;
use super::home::Acting;
use super::parse;
use super::progress::{self, CountBar};
use crate::args::{ConsolidateArgs, GlobalArgs, ProposalsCommand, ProposalsLsArgs};
use crate::error::{CliError, Status, plural};

/// `memory consolidate`: a progress bar of the episodes read, then a summary (or the run as
/// JSON).
pub fn consolidate(
    args: &ConsolidateArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let mut body = ConsolidateBody::default();
    if let Some(ns) = &args.namespace {
        body.namespace = Some(parse::namespace("--namespace", ns)?.to_string());
    }
    if let Some(n) = &args.max_episodes {
        body.max_episodes = Some(parse::whole("--max-episodes", n, 1, u64::from(u32::MAX))? as usize);
    }
    let backend = Backend::open(global, Acting::Operator, err)?;
    let bar = CountBar::counting(progress::visible(global.json), "reading", "episodes", None);
    let result = backend.consolidate(&body, &mut |episodes| bar.set(episodes as u64));
    bar.clear();
    let result = result.and_then(|run| {
        if global.json {
            super::write_json(out, &run)?;
        } else {
            write_consolidation(out, &run)?;
        }
        for warning in &run.warnings {
            writeln!(err, "warning: {warning}")?;
        }
        Ok(Status::Success)
    });
    backend.close(result, err)
}

/// `Consolidated 12 episodes of "default": 3 created, 1 correction, ...`, and what to do next.
fn write_consolidation(out: &mut dyn Write, run: &ConsolidationDto) -> Result<(), CliError> {
    if run.episodes == 0 {
        writeln!(out, "Nothing new to consolidate in {:?}.", run.namespace)?;
        return Ok(());
    }
    let mut parts = vec![format!("{} created", run.created.len())];
    let mut add = |n: usize, what: String| {
        if n > 0 {
            parts.push(what);
        }
    };
    add(run.evidence.len(), format!("{} restated (evidence added)", run.evidence.len()));
    add(run.superseded.len(), plural(run.superseded.len(), "correction"));
    add(
        run.proposed.len(),
        format!("{} (review with `memory proposals ls`)", plural(run.proposed.len(), "identity proposal")),
    );
    add(run.promoted.len(), format!("{} promoted", run.promoted.len()));
    add(run.entity_links, plural(run.entity_links, "entity link"));
    add(run.unchanged, format!("{} unchanged", run.unchanged));
    writeln!(
        out,
        "Consolidated {} of {:?} with the {} extractor: {}.",
        plural(run.episodes, "episode"),
        run.namespace,
        run.extractor,
        parts.join(", ")
    )?;
    if run.more {
        writeln!(out, "More episodes are waiting: run `memory consolidate` again to go on.")?;
    }
    Ok(())
}

/// Runs one `memory proposals` subcommand.
pub fn proposals(
    command: ProposalsCommand,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    // Every argument is checked before the home is opened.
    match command {
        ProposalsCommand::Ls(args) => {
            let query = list_query(&args)?;
            let backend = Backend::open(global, Acting::Operator, err)?;
            let result = all_proposals(&backend, query).and_then(|page| {
                if global.json {
                    super::write_json(out, &page)?;
                } else {
                    write_proposals(out, &page.proposals)?;
                }
                Ok(Status::Success)
            });
            backend.close(result, err)
        }
        ProposalsCommand::Approve(args) => {
            let id = proposal_id(&args.id)?;
            let backend = Backend::open(global, Acting::Operator, err)?;
            let result = backend.approve_proposal(&id).and_then(|approved| {
                if global.json {
                    super::write_json(out, &approved)?;
                } else {
                    let m = &approved.memory;
                    writeln!(out, "approved proposal {id}: {} memory {} in {}", m.layer, m.id, m.namespace)?;
                    if let Some(old) = &approved.proposal.supersedes {
                        writeln!(out, "it supersedes {old}")?;
                    }
                }
                Ok(Status::Success)
            });
            backend.close(result, err)
        }
        ProposalsCommand::Reject(args) => {
            let id = proposal_id(&args.id)?;
            let backend = Backend::open(global, Acting::Operator, err)?;
            let result = backend.reject_proposal(&id).and_then(|rejected| {
                if global.json {
                    super::write_json(out, &rejected)?;
                } else {
                    writeln!(out, "rejected proposal {id}; nothing was written")?;
                }
                Ok(Status::Success)
            });
            backend.close(result, err)
        }
    }
}

fn list_query(args: &ProposalsLsArgs) -> Result<ProposalsQuery, CliError> {
    let namespace = args.namespace.as_deref().map(|n| parse::namespace("--namespace", n)).transpose()?;
    let status: Option<ProposalStatus> = args.status.as_deref().map(|s| parse::text_enum("--status", s)).transpose()?;
    Ok(ProposalsQuery {
        namespace: namespace.map(|n| n.to_string()),
        status: status.map(|s| s.to_string()),
        cursor: None,
        limit: Some(memory_core::MAX_PAGE_LIMIT),
    })
}

/// Every page of the queue, as one page.
fn all_proposals(backend: &Backend, mut query: ProposalsQuery) -> Result<ProposalPage, CliError> {
    let mut all = Vec::new();
    loop {
        let page = backend.proposals(&query)?;
        all.extend(page.proposals);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return Ok(ProposalPage { proposals: all, next_cursor: None }),
        }
    }
}

/// A proposal id given as `ID`, normalized.
fn proposal_id(raw: &str) -> Result<String, CliError> {
    let id = memory_server::dto::proposal_id("ID", raw)?;
    Ok(id.to_string())
}

/// A table of id, namespace, status, and content.
fn write_proposals(out: &mut dyn Write, list: &[ProposalDto]) -> Result<(), CliError> {
    if list.is_empty() {
        writeln!(out, "no proposals")?;
        return Ok(());
    }
    let rows = list
        .iter()
        .map(|p| vec![p.id.clone(), p.namespace.clone(), p.status.clone(), super::memories::one_line(&p.content)])
        .collect();
    super::write_table(out, "", &["ID", "NAMESPACE", "STATUS", "CONTENT"], rows)
}
