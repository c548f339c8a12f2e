//! `memory remember | recall | get | forget | outcome | promote`: memories, as `--principal`
//! under the policy. Flags are checked before the home is opened, so a bad value costs nothing
//! and changes nothing.

use std::io::Write;

use memory_engine::core::{Layer, Memory, MemoryId, Outcome, Timestamp};
use memory_engine::{Explain, MAX_RECALL_LIMIT, MemoryInput, Recall, RecallOutcome, RecallRequest, Written};
use serde::Serialize;

use super::home::{Acting, Session};
use super::parse;
use crate::args::{GlobalArgs, IdArgs, OutcomeArgs, PromoteMemoryArgs, RecallArgs, RememberArgs};
use crate::error::{CliError, Status};

/// `memory remember`: prints the id and namespace (or the `Written` JSON).
pub fn remember(
    args: &RememberArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let input = memory_input(args)?;
    let session = Session::open(global, Acting::Principal, err)?;
    let result = session.block_on(session.engine.remember_now(&session.caller, input)).map_err(CliError::from);
    session.close(
        result.and_then(|written| {
            if global.json {
                super::write_json(out, &written)?;
            } else {
                write_written(out, err, &written)?;
            }
            Ok(Status::Success)
        }),
        err,
    )
}

/// The memory the flags describe.
fn memory_input(args: &RememberArgs) -> Result<MemoryInput, CliError> {
    if args.text.trim().is_empty() {
        return Err(CliError::invalid_input("TEXT: the text to remember is empty"));
    }
    let mut input = MemoryInput::new(parse::layer("--layer", &args.layer)?, args.text.clone());
    if let Some(ns) = &args.namespace {
        parse::namespace("--namespace", ns)?;
        input.namespace = Some(ns.clone());
    }
    input.category = args.category.as_deref().map(|c| parse::category("--category", c)).transpose()?;
    input.confidence = args.confidence.as_deref().map(|c| parse::confidence("--confidence", c)).transpose()?;
    input.expires_at = args.expires_at.as_deref().map(|t| parse::timestamp("--expires-at", t)).transpose()?;
    // The engine checks these rules too (by its own clock); checked here first so the message
    // names the flag.
    match (input.layer, input.expires_at) {
        (Layer::Working, None) => {
            return Err(CliError::invalid_input("--expires-at: a working memory needs an expiry time"));
        }
        (layer, Some(_)) if layer != Layer::Working => {
            return Err(CliError::invalid_input(format!(
                "--expires-at: only working memories expire, not {layer} ones"
            )));
        }
        (_, Some(at)) if at <= Timestamp::now() => {
            return Err(CliError::invalid_input(format!("--expires-at: {at} is not in the future")));
        }
        _ => {}
    }
    if let Some(conversation) = &args.conversation {
        if conversation.trim().is_empty() {
            return Err(CliError::invalid_input("--conversation: the conversation id is empty"));
        }
        input.conversation_id = Some(conversation.clone());
    }
    input.metadata = parse::metadata("--meta", &args.meta)?;
    Ok(input)
}

fn write_written(out: &mut dyn Write, err: &mut dyn Write, written: &Written) -> Result<(), CliError> {
    let known = match &written.merged {
        None => String::new(),
        Some(merged) => {
            let mut parts = vec!["evidence +1".to_owned()];
            if let Some(t) = merged.expires_at {
                parts.push(format!("expiry moved to {t}"));
            }
            if let Some(c) = merged.confidence {
                parts.push(format!("confidence raised to {}", c.value()));
            }
            if !merged.metadata.is_empty() {
                parts.push(format!("metadata {} set", merged.metadata.join(", ")));
            }
            format!(" (already known: {})", parts.join("; "))
        }
    };
    writeln!(out, "remembered {} in {}{known}", written.id, written.namespace)?;
    for p in &written.promoted {
        let known = if p.created { "" } else { " (already there)" };
        writeln!(out, "promoted to {} as {}{known}", p.namespace, p.id)?;
    }
    for warning in &written.warnings {
        writeln!(err, "warning: {warning}")?;
    }
    Ok(())
}

/// `memory recall`: one line per memory, then the outcome (or the `Recall` JSON).
pub fn recall(
    args: &RecallArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let request = recall_request(args)?;
    let session = Session::open(global, Acting::Principal, err)?;
    let result = session.block_on(session.engine.recall(&session.caller, &request)).map_err(CliError::from);
    session.close(
        result.and_then(|recall| {
            if global.json {
                super::write_json(out, &recall)?;
            } else {
                write_recall(out, err, &recall)?;
            }
            Ok(Status::Success)
        }),
        err,
    )
}

/// The recall the flags describe.
fn recall_request(args: &RecallArgs) -> Result<RecallRequest, CliError> {
    let mut request = RecallRequest::new(args.query.clone());
    for ns in &args.namespaces {
        if ns.trim() != "*" {
            parse::namespace("--namespace", ns)?;
        }
    }
    request.namespaces.clone_from(&args.namespaces);
    if !args.layers.is_empty() {
        request.layers = Some(args.layers.iter().map(|l| parse::layer("--layer", l)).collect::<Result<_, _>>()?);
    }
    request.limit = parse::whole("--limit", &args.limit, 1, MAX_RECALL_LIMIT as u64)? as usize;
    if !args.categories.is_empty() {
        request.categories =
            Some(args.categories.iter().map(|c| parse::category("--category", c)).collect::<Result<_, _>>()?);
    }
    request.created_from = args.since.as_deref().map(|t| parse::timestamp("--since", t)).transpose()?;
    request.created_before = args.until.as_deref().map(|t| parse::timestamp("--until", t)).transpose()?;
    if let (Some(since), Some(until)) = (request.created_from, request.created_before)
        && since >= until
    {
        return Err(CliError::invalid_input("--since: must be before --until"));
    }
    request.metadata = parse::metadata("--meta", &args.meta)?;
    request.explain = args.explain;
    Ok(request)
}

/// `[pinned]` or the score, layer, namespace, id and content of each memory; the components
/// under each one when explained; then the outcome. Warnings go to `err`.
fn write_recall(out: &mut dyn Write, err: &mut dyn Write, recall: &Recall) -> Result<(), CliError> {
    let width = recall.memories.iter().map(|r| r.memory.namespace.as_str().chars().count()).max().unwrap_or(0);
    for r in &recall.memories {
        let rank = if r.pinned { "[pinned]".to_owned() } else { format!("{:.3}", r.score) };
        let m = &r.memory;
        let ns = m.namespace.as_str();
        writeln!(out, "{rank:>8}  {:<10}  {ns:<width$}  {}  {}", m.layer.as_str(), m.id, one_line(&m.content))?;
        if let Some(explain) = &r.explain {
            write_explain(out, explain)?;
        }
    }
    let outcome = match recall.outcome {
        RecallOutcome::Ok => "ok",
        RecallOutcome::Empty => "empty",
        RecallOutcome::Degraded => "degraded",
    };
    let read: Vec<&str> = recall.namespaces.iter().map(|n| n.as_str()).collect();
    let read = if read.is_empty() { "(none)".to_owned() } else { read.join(", ") };
    writeln!(out, "outcome: {outcome}, {} (read: {read})", count(recall.memories.len(), "memory", "memories"))?;
    for warning in &recall.warnings {
        writeln!(err, "warning: {warning}")?;
    }
    Ok(())
}

/// Every component of one memory's place, indented under it.
fn write_explain(out: &mut dyn Write, e: &Explain) -> Result<(), CliError> {
    if let Some(reason) = &e.pinned_reason {
        writeln!(out, "          pinned: {reason}")?;
        writeln!(out, "          utility {:.3}, age {:.1} days", e.utility, e.age_days)?;
        return Ok(());
    }
    let side = |score: Option<f32>, rank: Option<usize>| match (score, rank) {
        (Some(s), Some(r)) => format!("{s:.4} (rank {r})"),
        (Some(s), None) => format!("{s:.4}"),
        _ => "-".to_owned(),
    };
    writeln!(
        out,
        "          fused {:.4}: text {}, vector {}",
        e.fused,
        side(e.text_score, e.text_rank),
        side(e.vector_score, e.vector_rank)
    )?;
    writeln!(
        out,
        "          score {:.4} = relevance {:.4} x utility {:.4} (utility {:.3}) x recency {:.4} (age {:.1} days) x position {:.4} (read position {})",
        e.score, e.relevance, e.utility_factor, e.utility, e.recency, e.age_days, e.position_factor, e.read_position
    )?;
    Ok(())
}

/// `memory get`: the memory's fields (or its JSON).
pub fn get(args: &IdArgs, global: &GlobalArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    let id = parse::memory_id(&args.id)?;
    let session = Session::open(global, Acting::Principal, err)?;
    let result = session.block_on(session.engine.get(&session.caller, id)).map_err(CliError::from);
    let now = session.engine.now();
    session.close(
        result.and_then(|memory| {
            if global.json {
                super::write_json(out, &memory)?;
            } else {
                write_memory(out, &memory, now)?;
            }
            Ok(Status::Success)
        }),
        err,
    )
}

fn write_memory(out: &mut dyn Write, m: &Memory, now: Timestamp) -> Result<(), CliError> {
    let mut rows: Vec<(&str, String)> = vec![
        ("id", m.id.to_string()),
        ("namespace", m.namespace.to_string()),
        ("layer", m.layer.to_string()),
        ("category", m.category.to_string()),
        ("confidence", m.confidence.value().to_string()),
        ("created", m.created_at.to_string()),
        ("updated", m.updated_at.to_string()),
    ];
    let optional = [
        ("expires", m.expires_at.map(|t| t.to_string())),
        ("conversation", m.provenance.conversation_id.clone()),
        ("principal", m.provenance.principal.as_ref().map(ToString::to_string)),
        ("session key", m.provenance.session_key.clone()),
        ("supersedes", m.supersedes.map(|id| id.to_string())),
        ("superseded by", m.superseded_by.map(|id| id.to_string())),
        ("promoted from", m.promoted_from.map(|id| id.to_string())),
        ("metadata", (!m.metadata.is_empty()).then(|| serde_json::to_string(&m.metadata).unwrap_or_default())),
    ];
    rows.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    let s = &m.stats;
    rows.push((
        "usage",
        format!(
            "utility {:.3}, helpful {}, unhelpful {}, evidence {}, recalled {}",
            s.effective_utility(now),
            s.helpful_count,
            s.unhelpful_count,
            s.evidence_count,
            s.access_count
        ),
    ));
    for (key, value) in rows {
        writeln!(out, "{key:<14}{value}")?;
    }
    writeln!(out, "content")?;
    for line in m.content.lines() {
        writeln!(out, "  {line}")?;
    }
    Ok(())
}

/// The `--json` answer of `memory forget`.
#[derive(Debug, Serialize)]
struct Forgotten {
    forgotten: MemoryId,
}

/// `memory forget`.
pub fn forget(
    args: &IdArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let id = parse::memory_id(&args.id)?;
    let session = Session::open(global, Acting::Principal, err)?;
    let result = session.block_on(session.engine.forget(&session.caller, id)).map_err(CliError::from);
    session.close(
        result.and_then(|()| {
            if global.json {
                super::write_json(out, &Forgotten { forgotten: id })?;
            } else {
                writeln!(out, "forgot {id}")?;
            }
            Ok(Status::Success)
        }),
        err,
    )
}

/// The `--json` answer of `memory outcome`.
#[derive(Debug, Serialize)]
struct Reported {
    outcome: Outcome,
    ids: Vec<MemoryId>,
}

/// `memory outcome`.
pub fn outcome(
    args: &OutcomeArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let mut ids: Vec<MemoryId> = Vec::with_capacity(args.ids.len());
    for raw in &args.ids {
        let id = parse::memory_id(raw)?;
        // One report per memory, however often it is named.
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let kind = &args.outcome;
    let outcome = match (kind.helpful, kind.unhelpful, &kind.reward) {
        (true, false, None) => Outcome::Helpful,
        (false, true, None) => Outcome::Unhelpful,
        (false, false, Some(raw)) => {
            let reward = raw.trim().parse::<f64>().ok().filter(|r| (-1.0..=1.0).contains(r)).ok_or_else(|| {
                CliError::invalid_input(format!("--reward: expected a number in -1..=1, got {raw:?}"))
            })?;
            Outcome::Reward(reward)
        }
        _ => return Err(CliError::invalid_input("give exactly one of --helpful, --unhelpful or --reward")),
    };
    let session = Session::open(global, Acting::Principal, err)?;
    let result =
        session.block_on(session.engine.report_outcome(&session.caller, &ids, outcome)).map_err(CliError::from);
    session.close(
        result.and_then(|()| {
            if global.json {
                super::write_json(out, &Reported { outcome, ids })?;
            } else {
                let what = match outcome {
                    Outcome::Helpful => "helpful".to_owned(),
                    Outcome::Unhelpful => "unhelpful".to_owned(),
                    Outcome::Reward(r) => format!("reward {r}"),
                };
                writeln!(out, "recorded {what} for {}", count(ids.len(), "memory", "memories"))?;
            }
            Ok(Status::Success)
        }),
        err,
    )
}

/// `memory promote`.
pub fn promote(
    args: &PromoteMemoryArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let id = parse::memory_id(&args.id)?;
    if let Some(to) = &args.to {
        parse::namespace("--to", to)?;
    }
    let session = Session::open(global, Acting::Principal, err)?;
    let result =
        session.block_on(session.engine.promote(&session.caller, id, args.to.as_deref())).map_err(CliError::from);
    session.close(
        result.and_then(|promoted| {
            if global.json {
                super::write_json(out, &promoted)?;
            } else {
                let known = if promoted.created { "" } else { " (already there)" };
                writeln!(out, "promoted {id} to {} as {}{known}", promoted.namespace, promoted.id)?;
            }
            Ok(Status::Success)
        }),
        err,
    )
}

/// Text on one line: line breaks and tabs become spaces.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// `1 memory`, `2 memories`.
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") }
}
