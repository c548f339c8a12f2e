//! `memory export | import | reindex`: whole-home operations, as the operator, with a progress
//! bar driven by the engine's progress callbacks.

use std::fs::File;
use std::io::{BufReader, Write};

use memory_core::{MemoryFilter, NamespaceFilter, NamespaceKey, TenantId};
use memory_engine::sync::SyncReport;
use memory_engine::{BackupReport, ExportRequest, ImportRequest, TransferReport};

use memory_server::client::Client;
use memory_server::dto::TransferDto;

use super::backend::Backend;
use super::home::{Acting, Session};
use super::output::Output;
use super::parse;
use super::progress::{self, CountBar};
use crate::args::{BackupArgs, ExportArgs, GlobalArgs, ImportArgs, LogsArgs};
use crate::error::{CliError, ErrorKind, Status, kind_of, plural};

/// `memory export`: see [`Output`] for where the file goes.
pub fn export(
    args: &ExportArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    for ns in &args.namespaces {
        parse::namespace("--namespace", ns)?;
    }
    let request = ExportRequest { namespaces: args.namespaces.clone(), audit: args.audit };
    let target = Output::resolve("--out", &args.out)?;
    let backend = Backend::open(global, Acting::Operator, err)?;
    let result = match &backend {
        Backend::Local(session) => write_export(session, &request, &target, global.json),
        Backend::Remote(client) => remote_export(client, &request, &target),
    };
    if result.is_err() {
        target.abandon();
    }
    let result = result.and_then(|report| {
        // With the file on standard output, the summary must not mix into it.
        let summary: &mut dyn Write = if target.is_stdout() { &mut *err } else { &mut *out };
        if global.json {
            super::write_json(summary, &TransferDto::from(&report))?;
        } else {
            let audit = if args.audit {
                format!(" and {}", plural(report.audit as usize, "audit record"))
            } else {
                String::new()
            };
            writeln!(
                summary,
                "exported {}, {}{audit} to {}",
                plural(report.namespaces as usize, "namespace"),
                memories(report.memories),
                target.describe()
            )?;
        }
        Ok(Status::Success)
    });
    backend.close(result, err)
}

/// An export through the server: its answer is the file.
fn remote_export(client: &Client, request: &ExportRequest, target: &Output) -> Result<TransferReport, CliError> {
    let mut query = vec![format!("audit={}", request.audit)];
    if !request.namespaces.is_empty() {
        query.push(format!("namespace={}", request.namespaces.join(",")));
    }
    let bytes = client.get_bytes(&format!("/v1/export?{}", query.join("&")))?;
    // The last line of an export counts what it holds.
    let end: serde_json::Value = bytes
        .split(|b| *b == b'\n')
        .rev()
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .and_then(|l| serde_json::from_slice(l).ok())
        .unwrap_or_default();
    let count = |k: &str| end.get(k).and_then(serde_json::Value::as_u64).unwrap_or(0);
    let mut file = target.open("--out")?;
    file.write_all(&bytes)?;
    target.commit("--out", file)?;
    Ok(TransferReport {
        namespaces: count("namespaces"),
        memories: count("memories"),
        audit: count("audit"),
        ..TransferReport::default()
    })
}

fn write_export(
    session: &Session,
    request: &ExportRequest,
    target: &Output,
    json: bool,
) -> Result<TransferReport, CliError> {
    let visible = progress::visible(json);
    let total = if visible { Some(export_total(session, request)?) } else { None };
    let mut file = target.open("--out")?;
    let bar = CountBar::new(visible, "exporting", total);
    let result =
        session.block_on(session.engine.export(&session.caller, request, &mut file, &mut |r| bar.set(r.memories)));
    bar.clear();
    let report = result?;
    target.commit("--out", file)?;
    Ok(report)
}

/// The memories an export will write, for the bar's length.
fn export_total(session: &Session, request: &ExportRequest) -> Result<u64, CliError> {
    let all = session.block_on(session.engine.list_namespaces(&session.caller, &NamespaceFilter::default()))?;
    let chosen = |key: &NamespaceKey| {
        request.namespaces.is_empty() || request.namespaces.iter().any(|n| n.trim() == key.as_str())
    };
    Ok(all.iter().filter(|info| chosen(&info.namespace.key)).map(|info| info.memories).sum())
}

/// `memory import`.
pub fn import(
    args: &ImportArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let path = &args.file;
    let cannot =
        |why: &dyn std::fmt::Display| CliError::invalid_input(format!("cannot read {}: {why}", path.display()));
    if path.is_dir() {
        return Err(cannot(&"it is a directory"));
    }
    if let Some(t) = &args.from_tenant
        && t.trim().is_empty()
    {
        return Err(CliError::invalid_input("--from-tenant: the tenant is empty"));
    }
    let file = File::open(path).map_err(|e| cannot(&e))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(cannot(&"it is not a regular file (an import reads its file twice)"));
    }
    let namespace = args.namespace.as_deref().map(|n| parse::namespace("--namespace", n)).transpose()?;
    let request = ImportRequest { from_tenant: args.from_tenant.clone(), namespace: namespace.map(|n| n.to_string()) };
    let backend = Backend::open(global, Acting::Operator, err)?;
    let result = match &backend {
        Backend::Local(session) => {
            let bar = CountBar::new(progress::visible(global.json), "importing", None);
            let mut input = BufReader::new(file);
            let result = session.block_on(session.engine.import(&session.caller, &mut input, &request, &mut |r| {
                bar.set(r.memories + r.skipped + r.merged);
            }));
            bar.clear();
            result.map(|r| TransferDto::from(&r)).map_err(CliError::from)
        }
        Backend::Remote(client) => {
            let bytes = std::fs::read(path).map_err(|e| cannot(&e))?;
            let mut pairs = Vec::new();
            if let Some(t) = &request.from_tenant {
                pairs.push(format!("from_tenant={}", t.trim()));
            }
            if let Some(ns) = &request.namespace {
                pairs.push(format!("namespace={ns}"));
            }
            let query = if pairs.is_empty() { String::new() } else { format!("?{}", pairs.join("&")) };
            client.post_bytes::<TransferDto>(&format!("/v1/import{query}"), &bytes).map_err(CliError::from)
        }
    };
    let result = result.and_then(|report| {
        if global.json {
            super::write_json(out, &report)?;
        } else {
            writeln!(
                out,
                "imported: {} created, {} written, {} skipped (already there), {} merged (same content as another), {}",
                plural(report.namespaces as usize, "namespace"),
                memories(report.memories),
                report.skipped,
                report.merged,
                plural(report.audit as usize, "audit record")
            )?;
        }
        Ok(Status::Success)
    });
    backend.close(result, err)
}

/// `memory logs`: the store's event logs written into a directory.
pub fn logs(
    args: &LogsArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let session = Session::open(global, Acting::Operator, err)?;
    let result = session.block_on(session.home.export_event_logs(&session.caller, &args.out)).map_err(CliError::from);
    let result = result.and_then(|report| {
        if global.json {
            super::write_json(out, &report)?;
        } else {
            writeln!(
                out,
                "wrote {} event log lines in {} files to {}",
                report.lines,
                report.files,
                args.out.display()
            )?;
        }
        Ok(Status::Success)
    });
    session.close(result, err)
}

/// `memory backup`: a consistent copy of the database, see [`Output`] for where it goes.
pub fn backup(
    args: &BackupArgs,
    global: &GlobalArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Status, CliError> {
    let target = Output::resolve("--out", &args.out)?;
    let session = Session::open(global, Acting::Operator, err)?;
    let result = write_backup(&session, &target);
    if result.is_err() {
        target.abandon();
    }
    let result = result.and_then(|report| {
        let summary: &mut dyn Write = if target.is_stdout() { &mut *err } else { &mut *out };
        if global.json {
            super::write_json(summary, &report)?;
        } else {
            writeln!(summary, "backed up the database ({} bytes) to {}", report.bytes, target.describe())?;
        }
        Ok(Status::Success)
    });
    session.close(result, err)
}

fn write_backup(session: &Session, target: &Output) -> Result<BackupReport, CliError> {
    match target {
        Output::Replace { partial, .. } => {
            // A partial file of an earlier, failed backup is in the way of a new one.
            let _ = std::fs::remove_file(partial);
            // The copy is complete and synced when the backup returns: move it into place.
            let report = session.block_on(session.home.backup(&session.caller, partial))?;
            target.move_into_place("--out")?;
            Ok(report)
        }
        Output::Stdout | Output::InPlace(_) => {
            // The backup API writes a database file: make one, then copy its bytes out.
            let tmp = std::env::temp_dir().join(format!(".memory-backup-{}.db", std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            let result = (|| {
                let report = session.block_on(session.home.backup(&session.caller, &tmp))?;
                let mut file = target.open("--out")?;
                let mut copy = File::open(&tmp)
                    .map_err(|e| CliError::new(ErrorKind::Failed, format!("cannot read the backup: {e}")))?;
                std::io::copy(&mut copy, &mut file)
                    .map_err(|e| CliError::invalid_input(format!("--out: cannot write {}: {e}", target.describe())))?;
                target.commit("--out", file)?;
                Ok(report)
            })();
            let _ = std::fs::remove_file(&tmp);
            result
        }
    }
}

/// `memory reindex`.
pub fn reindex(global: &GlobalArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    let session = Session::open(global, Acting::Operator, err)?;
    let result = rebuild(&session, global.json);
    session.close(
        result.and_then(|report| {
            if global.json {
                super::write_json(out, &report)?;
            } else {
                writeln!(
                    out,
                    "reindexed {} ({} deleted or superseded left out), at change {}",
                    memories(report.indexed),
                    report.removed,
                    report.applied_seq
                )?;
            }
            Ok(Status::Success)
        }),
        err,
    )
}

fn rebuild(session: &Session, json: bool) -> Result<SyncReport, CliError> {
    let tenant = TenantId::default_tenant();
    let visible = progress::visible(json);
    let total = if visible {
        // What the index will hold: the live memories no correction superseded.
        let mut searchable = MemoryFilter::all();
        searchable.exclude_superseded = true;
        Some(session.block_on(session.engine.store().count_memories(&tenant, &searchable))?)
    } else {
        None
    };
    let bar = CountBar::new(visible, "indexing", total);
    let result = session.block_on(session.engine.reindex(&tenant, &mut |r| bar.set(r.indexed)));
    bar.clear();
    result.map_err(|e| CliError::new(kind_of(e.kind()), format!("reindex: {}", e.message())))
}

/// `1 memory`, `2 memories`.
pub(super) fn memories(n: u64) -> String {
    if n == 1 { "1 memory".to_owned() } else { format!("{n} memories") }
}
