//! `memory export | import | reindex`: whole-home operations, as the operator, with a progress
//! bar driven by the engine's progress callbacks.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use memory_engine::core::{MemoryFilter, NamespaceFilter, NamespaceKey, TenantId};
use memory_engine::sync::SyncReport;
use memory_engine::{ExportRequest, TransferReport};

use super::home::{Acting, Session};
use super::parse;
use super::progress::{self, CountBar};
use crate::args::{ExportArgs, GlobalArgs, ImportArgs};
use crate::error::{CliError, Status, kind_of, plural};

/// `memory export`: writes the file next to `--out` and moves it into place once complete, so
/// a failed export never leaves a truncated file under the name asked for.
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
    let partial = partial_path(&args.out)?;
    let session = Session::open(global, Acting::Operator, err)?;
    let result = write_export(&session, &request, &args.out, &partial, global.json);
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    session.close(result.and_then(|report| {
        if global.json {
            super::write_json(out, &report)?;
        } else {
            let audit = if args.audit {
                format!(" and {}", plural(report.audit as usize, "audit record"))
            } else {
                String::new()
            };
            writeln!(
                out,
                "exported {}, {}{audit} to {}",
                plural(report.namespaces as usize, "namespace"),
                memories(report.memories),
                args.out.display()
            )?;
        }
        Ok(Status::Success)
    }))
}

fn write_export(
    session: &Session,
    request: &ExportRequest,
    target: &Path,
    partial: &Path,
    json: bool,
) -> Result<TransferReport, CliError> {
    let visible = progress::visible(json);
    let total = if visible { Some(export_total(session, request)?) } else { None };
    let cannot = |e: std::io::Error| CliError::invalid_input(format!("--out: cannot write {}: {e}", partial.display()));
    let mut file = BufWriter::new(File::create(partial).map_err(cannot)?);
    let bar = CountBar::new(visible, "exporting", total);
    let result =
        session.block_on(session.engine.export(&session.caller, request, &mut file, &mut |r| bar.set(r.memories)));
    bar.clear();
    let report = result?;
    let file = file.into_inner().map_err(|e| cannot(e.into_error()))?;
    file.sync_all().map_err(cannot)?;
    std::fs::rename(partial, target)
        .map_err(|e| CliError::invalid_input(format!("--out: cannot write {}: {e}", target.display())))?;
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

/// `.<name>.partial` next to `target`.
fn partial_path(target: &Path) -> Result<PathBuf, CliError> {
    let Some(name) = target.file_name() else {
        return Err(CliError::invalid_input(format!("--out: {} is not a file name", target.display())));
    };
    if target.is_dir() {
        return Err(CliError::invalid_input(format!("--out: {} is a directory", target.display())));
    }
    let mut partial = std::ffi::OsString::from(".");
    partial.push(name);
    partial.push(".partial");
    Ok(target.with_file_name(partial))
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
    let file = File::open(path).map_err(|e| cannot(&e))?;
    let session = Session::open(global, Acting::Operator, err)?;
    let bar = CountBar::new(progress::visible(global.json), "importing", None);
    let mut input = BufReader::new(file);
    let result = session.block_on(session.engine.import(&session.caller, &mut input, &mut |r| {
        bar.set(r.memories + r.skipped + r.merged);
    }));
    bar.clear();
    session.close(result.map_err(CliError::from).and_then(|report| {
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
    }))
}

/// `memory reindex`.
pub fn reindex(global: &GlobalArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<Status, CliError> {
    let session = Session::open(global, Acting::Operator, err)?;
    let result = rebuild(&session, global.json);
    session.close(result.and_then(|report| {
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
    }))
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
fn memories(n: u64) -> String {
    if n == 1 { "1 memory".to_owned() } else { format!("{n} memories") }
}
