//! `memory remember | recall | get | forget | outcome | promote`: memories, as `--principal`
//! under the policy. Flags are checked before the home is opened, so a bad value costs nothing
//! and changes nothing.

use std::io::Write;

use memory_core::{Layer, Timestamp};
use memory_engine::MAX_RECALL_LIMIT;
use memory_server::dto::{
    CreateMemory, ExplainDto, MemoryDto, OutcomeBody, RecallBody, RecallFilters, RecallResponse, WrittenDto,
};

use super::backend::Backend;
use super::home::Acting;
use super::parse;
use crate::args::{GlobalArgs, IdArgs, OutcomeArgs, PromoteMemoryArgs, RecallArgs, RememberArgs};
use crate::error::{CliError, Status};

/// Opens the backend, runs `call` on it, prints its answer as JSON or with `text`, and closes.
fn answer<T: serde::Serialize>(
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    call: impl FnOnce(&Backend) -> Result<T, CliError>,
    text: impl FnOnce(&mut dyn Write, &mut dyn Write, &T) -> Result<(), CliError>,
) -> Result<Status, CliError> {
    let backend = Backend::open(global, Acting::Principal, err)?;
    let result = call(&backend).and_then(|answer| {
        if global.json {
            super::write_json(out, &answer)?;
        } else {
            text(out, err, &answer)?;
        }
        Ok(Status::Success)
    });
    backend.close(result, err)
}

/// `memory remember`: prints the id and namespace (or the written memory as JSON).
pub fn remember(
    args: &RememberArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let mut body = memory_body(args)?;
    body.session_key.clone_from(&global.session_key);
    answer(global, out, err, |b| b.remember(&body), write_written)
}

/// The memory the flags describe, checked so that every message names its flag.
fn memory_body(args: &RememberArgs) -> Result<CreateMemory, CliError> {
    if args.text.trim().is_empty() {
        return Err(CliError::invalid_input("TEXT: the text to remember is empty"));
    }
    let layer = parse::layer("--layer", &args.layer)?;
    let mut body =
        CreateMemory { content: args.text.clone(), layer: Some(layer.to_string()), ..CreateMemory::default() };
    if let Some(ns) = &args.namespace {
        parse::namespace("--namespace", ns)?;
        body.namespace = Some(ns.clone());
    } else if let Some(ns) = super::home::env_text("MEMORY_NAMESPACE") {
        // As an explicit namespace: checked by the policy like one.
        parse::namespace("MEMORY_NAMESPACE", &ns)?;
        body.namespace = Some(ns.trim().to_owned());
    }
    body.category =
        args.category.as_deref().map(|c| parse::category("--category", c)).transpose()?.map(|c| c.to_string());
    body.confidence =
        args.confidence.as_deref().map(|c| parse::confidence("--confidence", c)).transpose()?.map(|c| c.value());
    let expires_at = args.expires_at.as_deref().map(|t| parse::timestamp("--expires-at", t)).transpose()?;
    // The engine checks these rules too (by its own clock); checked here first so the message
    // names the flag.
    match (layer, expires_at) {
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
    body.expires_at = expires_at.map(|t| t.to_string());
    if let Some(conversation) = &args.conversation {
        if conversation.trim().is_empty() {
            return Err(CliError::invalid_input("--conversation: the conversation id is empty"));
        }
        body.conversation_id = Some(conversation.clone());
    }
    let metadata = parse::metadata("--meta", &args.meta)?;
    body.metadata = (!metadata.is_empty()).then_some(metadata);
    Ok(body)
}

fn write_written(out: &mut dyn Write, err: &mut dyn Write, written: &WrittenDto) -> Result<(), CliError> {
    let known = match &written.merged {
        Some(merged) => {
            let mut parts = vec!["evidence +1".to_owned()];
            if let Some(t) = &merged.expires_at {
                parts.push(format!("expiry moved to {t}"));
            }
            if let Some(c) = merged.confidence {
                parts.push(format!("confidence raised to {c}"));
            }
            if !merged.metadata.is_empty() {
                parts.push(format!("metadata {} set", merged.metadata.join(", ")));
            }
            format!(" (already known: {})", parts.join("; "))
        }
        None if written.duplicate => " (already known: evidence +1)".to_owned(),
        None => String::new(),
    };
    writeln!(out, "remembered {} in {}{known}", written.memory.id, written.memory.namespace)?;
    for p in &written.promoted {
        let known = if p.created { "" } else { " (already there)" };
        writeln!(out, "promoted to {} as {}{known}", p.namespace, p.id)?;
    }
    for warning in &written.warnings {
        writeln!(err, "warning: {warning}")?;
    }
    Ok(())
}

/// `memory recall`: one line per memory, then the outcome (or the recall as JSON).
pub fn recall(
    args: &RecallArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let mut body = recall_body(args)?;
    body.session_key.clone_from(&global.session_key);
    answer(global, out, err, |b| b.recall(&body), write_recall)
}

/// The recall the flags describe.
fn recall_body(args: &RecallArgs) -> Result<RecallBody, CliError> {
    let mut body = RecallBody { query: args.query.clone(), ..RecallBody::default() };
    for ns in &args.namespaces {
        if ns.trim() != "*" {
            parse::namespace("--namespace", ns)?;
        }
    }
    if !args.namespaces.is_empty() {
        body.namespaces = Some(args.namespaces.clone());
    }
    if !args.layers.is_empty() {
        let layers: Vec<Layer> = args.layers.iter().map(|l| parse::layer("--layer", l)).collect::<Result<_, _>>()?;
        body.layers = Some(layers.iter().map(ToString::to_string).collect());
    }
    body.limit = Some(parse::whole("--limit", &args.limit, 1, MAX_RECALL_LIMIT as u64)? as usize);
    let mut filters = RecallFilters::default();
    if !args.categories.is_empty() {
        let categories: Vec<String> = args
            .categories
            .iter()
            .map(|c| parse::category("--category", c).map(|c| c.to_string()))
            .collect::<Result<_, _>>()?;
        filters.categories = Some(categories);
    }
    let since = args.since.as_deref().map(|t| parse::timestamp("--since", t)).transpose()?;
    let until = args.until.as_deref().map(|t| parse::timestamp("--until", t)).transpose()?;
    if let (Some(since), Some(until)) = (since, until)
        && since >= until
    {
        return Err(CliError::invalid_input("--since: must be before --until"));
    }
    filters.since = since.map(|t| t.to_string());
    filters.until = until.map(|t| t.to_string());
    let metadata = parse::metadata("--meta", &args.meta)?;
    filters.metadata = (!metadata.is_empty()).then_some(metadata);
    if filters != RecallFilters::default() {
        body.filters = Some(filters);
    }
    body.explain = args.explain;
    body.include_sensitive = args.include_sensitive;
    Ok(body)
}

/// `[pinned]` or the score, layer, namespace, id and content of each memory; the components
/// under each one when explained; then the outcome. Warnings go to `err`.
fn write_recall(out: &mut dyn Write, err: &mut dyn Write, recall: &RecallResponse) -> Result<(), CliError> {
    let width = recall.results.iter().map(|r| r.memory.namespace.chars().count()).max().unwrap_or(0);
    for r in &recall.results {
        let rank = if r.pinned { "[pinned]".to_owned() } else { format!("{:.3}", r.score) };
        let m = &r.memory;
        let ns = &m.namespace;
        writeln!(out, "{rank:>8}  {:<10}  {ns:<width$}  {}  {}", m.layer, m.id, one_line(&m.content))?;
        if let Some(explain) = &r.explain {
            write_explain(out, explain)?;
        }
    }
    let read = if recall.namespaces.is_empty() { "(none)".to_owned() } else { recall.namespaces.join(", ") };
    writeln!(out, "outcome: {}, {} (read: {read})", recall.outcome, count(recall.results.len(), "memory", "memories"))?;
    for warning in &recall.warnings {
        writeln!(err, "warning: {warning}")?;
    }
    Ok(())
}

/// Every component of one memory's place, indented under it.
fn write_explain(out: &mut dyn Write, e: &ExplainDto) -> Result<(), CliError> {
    if let Some(reason) = &e.pinned_reason {
        writeln!(out, "          pinned: {reason}")?;
        writeln!(out, "          utility {:.3}, age {:.1} days", e.utility, e.age_days)?;
        return Ok(());
    }
    let side = |score: Option<f64>, rank: Option<usize>| match (score, rank) {
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
    parse::memory_id(&args.id)?;
    answer(global, out, err, |b| b.get(&args.id), |out, _, m| write_memory(out, m))
}

pub(super) fn write_memory(out: &mut dyn Write, m: &MemoryDto) -> Result<(), CliError> {
    let mut rows: Vec<(&str, String)> = vec![
        ("id", m.id.clone()),
        ("namespace", m.namespace.clone()),
        ("layer", m.layer.clone()),
        ("category", m.category.clone()),
        ("confidence", m.confidence.to_string()),
        ("created", m.created_at.clone()),
        ("updated", m.updated_at.clone()),
    ];
    let optional = [
        ("expires", m.expires_at.clone()),
        ("conversation", m.provenance.conversation_id.clone()),
        ("principal", m.provenance.principal.clone()),
        ("session key", m.provenance.session_key.clone()),
        ("supersedes", m.supersedes.clone()),
        ("superseded by", m.superseded_by.clone()),
        ("promoted from", m.promoted_from.clone()),
        ("metadata", (!m.metadata.is_empty()).then(|| serde_json::to_string(&m.metadata).unwrap_or_default())),
    ];
    rows.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    let s = &m.stats;
    rows.push((
        "usage",
        format!(
            "utility {:.3}, helpful {}, unhelpful {}, evidence {}, recalled {}",
            s.utility, s.helpful_count, s.unhelpful_count, s.evidence_count, s.access_count
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

/// `memory forget`.
pub fn forget(
    args: &IdArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    parse::memory_id(&args.id)?;
    answer(global, out, err, |b| b.forget(&args.id), |out, _, f| Ok(writeln!(out, "forgot {}", f.forgotten)?))
}

/// `memory outcome`.
pub fn outcome(
    args: &OutcomeArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    for raw in &args.ids {
        parse::memory_id(raw)?;
    }
    let kind = &args.outcome;
    let outcome = match (kind.helpful, kind.unhelpful, &kind.reward) {
        (true, false, None) => serde_json::Value::from("helpful"),
        (false, true, None) => serde_json::Value::from("unhelpful"),
        (false, false, Some(raw)) => {
            let reward = raw.trim().parse::<f64>().ok().filter(|r| (-1.0..=1.0).contains(r)).ok_or_else(|| {
                CliError::invalid_input(format!("--reward: expected a number in -1..=1, got {raw:?}"))
            })?;
            serde_json::Value::from(reward)
        }
        _ => return Err(CliError::invalid_input("give exactly one of --helpful, --unhelpful or --reward")),
    };
    let body = OutcomeBody { memory_ids: args.ids.clone(), outcome: outcome.clone() };
    answer(
        global,
        out,
        err,
        |b| b.outcome(&body),
        |out, _, r| {
            let what = match outcome.as_str() {
                Some(word) => word.to_owned(),
                None => format!("reward {}", r.reward),
            };
            writeln!(out, "recorded {what} for {}", count(r.memory_ids.len(), "memory", "memories"))?;
            Ok(())
        },
    )
}

/// `memory promote`.
pub fn promote(
    args: &PromoteMemoryArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    parse::memory_id(&args.id)?;
    if let Some(to) = &args.to {
        parse::namespace("--to", to)?;
    }
    answer(
        global,
        out,
        err,
        |b| b.promote(&args.id, args.to.as_deref()),
        |out, _, p| {
            let known = if p.created { "" } else { " (already there)" };
            writeln!(out, "promoted {} to {} as {}{known}", args.id, p.namespace, p.id)?;
            Ok(())
        },
    )
}

/// Text on one line: line breaks and tabs become spaces.
pub(super) fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// `1 memory`, `2 memories`.
fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 { format!("{n} {one}") } else { format!("{n} {many}") }
}
