//! Export and import (SPEC 6): a versioned JSON-lines format that round-trips losslessly.
//!
//! ```text
//! {"type":"header","format":"memory-export","version":1,"tenant":"default","exported_at":"..."}
//! {"type":"namespace","namespace":{...the catalog record...}}
//! {"type":"memory","memory":{...every field: content, layer, category, confidence,
//!                             provenance, times, metadata, links, usage statistics...}}
//! {"type":"audit","audit":{...}}                      (only when asked for)
//! {"type":"end","namespaces":N,"memories":M,"audit":K}
//! ```
//! Namespaces come in key order, each followed by its live memories in id order. Store-internal
//! fields (the change sequence, the tenant, tombstones) are not exported. The `end` line makes a
//! truncated file detectable. Import reads and validates the whole file before it writes
//! anything, keeps ids (so importing twice changes nothing), and restores archived namespaces as
//! archived.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, Write};

use memory_core::{
    AuditFilter, AuditOutcome, AuditRecord, Error, ErrorKind, MAX_PAGE_LIMIT, Memory, MemoryFilter, MemoryId,
    Namespace, NamespaceFilter, NamespaceKey, NamespacePatch, NamespaceStatus, NewMemory, PageRequest, PutOutcome,
    Result, Timestamp,
};
use memory_policy::Operation;
use serde::{Deserialize, Serialize};

use crate::caller::Caller;
use crate::engine::Engine;

/// The format name in the header line.
pub const EXPORT_FORMAT: &str = "memory-export";
/// The newest format version this build writes and reads.
pub const EXPORT_VERSION: u32 = 1;

/// One line of an export file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ExportLine {
    /// The first line.
    Header {
        /// Always [`EXPORT_FORMAT`].
        format: String,
        /// The format version.
        version: u32,
        /// The tenant it came from.
        tenant: String,
        /// When it was written.
        exported_at: Timestamp,
    },
    /// A namespace's catalog record.
    Namespace {
        /// The record.
        namespace: Namespace,
    },
    /// A memory, with every field but the store-internal ones.
    Memory {
        /// The memory.
        memory: NewMemory,
    },
    /// An audit record.
    Audit {
        /// The record.
        audit: AuditRecord,
    },
    /// The last line, with the counts of the lines before it.
    End {
        /// Namespace lines.
        namespaces: u64,
        /// Memory lines.
        memories: u64,
        /// Audit lines.
        audit: u64,
    },
}

/// What to export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportRequest {
    /// Namespaces (raw keys); empty exports every namespace the caller may export.
    pub namespaces: Vec<String>,
    /// Include the audit records of the exported namespaces.
    pub audit: bool,
}

/// Counts of an export or import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TransferReport {
    /// Namespaces exported, or created by the import.
    pub namespaces: u64,
    /// Memories exported, or written by the import.
    pub memories: u64,
    /// Memories the import skipped because they were already there (same id).
    pub skipped: u64,
    /// Imported memories whose content a different memory of the namespace already held: the
    /// store kept one (and counted the evidence).
    pub merged: u64,
    /// Audit records exported or appended.
    pub audit: u64,
}

impl Engine {
    /// Writes the requested namespaces to `out`. Operators may export any namespace of the
    /// tenant; other callers only namespaces they can read (so an export never holds a memory
    /// outside the caller's read set). Deleted namespaces are not exported.
    pub async fn export(
        &self,
        caller: &Caller,
        request: &ExportRequest,
        out: &mut (dyn Write + Send),
        progress: &mut (dyn FnMut(TransferReport) + Send),
    ) -> Result<TransferReport> {
        let t = self.tenant(&caller.tenant).await?;
        let all = self.inner.store.list_namespaces(&caller.tenant, &NamespaceFilter::default()).await?;
        let readable = if caller.operator { None } else { Some(self.visibility(caller, &t).await?.readable) };
        let may = |ns: &NamespaceKey| readable.as_ref().is_none_or(|r| r.contains(ns));
        let chosen: Vec<Namespace> = if request.namespaces.is_empty() {
            all.into_iter().filter(|n| may(&n.key)).collect()
        } else {
            let mut keys = Vec::new();
            for raw in &request.namespaces {
                let key = NamespaceKey::new(raw).map_err(|e| Error::invalid_input(e.to_string()))?;
                let Some(ns) = all.iter().find(|n| n.key == key && may(&n.key)) else {
                    let err = Error::not_found(format!("namespace {:?} not found", key.as_str()));
                    self.audit_denied(caller, Some(&key), "export", &err).await;
                    return Err(err);
                };
                if !keys.iter().any(|k: &Namespace| k.key == key) {
                    keys.push(ns.clone());
                }
            }
            keys.sort_by(|a, b| a.key.cmp(&b.key));
            keys
        };
        let io = |e: std::io::Error| Error::unavailable(format!("cannot write the export: {e}"));
        let mut report = TransferReport::default();
        let header = ExportLine::Header {
            format: EXPORT_FORMAT.into(),
            version: EXPORT_VERSION,
            tenant: caller.tenant.as_str().into(),
            exported_at: self.now(),
        };
        write_line(out, &header).map_err(io)?;
        for ns in &chosen {
            write_line(out, &ExportLine::Namespace { namespace: ns.clone() }).map_err(io)?;
            report.namespaces += 1;
            let filter = MemoryFilter::namespace(ns.key.clone());
            let mut page = PageRequest::first(MAX_PAGE_LIMIT);
            loop {
                let p = self.inner.store.list_memories(&caller.tenant, &filter, &page).await?;
                for m in p.items {
                    write_line(out, &ExportLine::Memory { memory: exported(m) }).map_err(io)?;
                    report.memories += 1;
                }
                progress(report);
                match p.next_cursor {
                    Some(c) => page = PageRequest::after(c, MAX_PAGE_LIMIT),
                    None => break,
                }
            }
        }
        if request.audit {
            // The audit log is for operators and, per namespace, its writers (as `audit_log`).
            let vis = if caller.operator { None } else { Some(self.visibility(caller, &t).await?) };
            for ns in chosen.iter().filter(|ns| vis.as_ref().is_none_or(|v| self.may_write(caller, v, &ns.key))) {
                let mut filter = AuditFilter::default();
                filter.namespace = Some(ns.key.clone());
                let mut page = PageRequest::first(MAX_PAGE_LIMIT);
                loop {
                    let p = self.inner.store.list_audit(&caller.tenant, &filter, &page).await?;
                    for a in p.items {
                        write_line(out, &ExportLine::Audit { audit: a }).map_err(io)?;
                        report.audit += 1;
                    }
                    match p.next_cursor {
                        Some(c) => page = PageRequest::after(c, MAX_PAGE_LIMIT),
                        None => break,
                    }
                }
            }
        }
        let end = ExportLine::End { namespaces: report.namespaces, memories: report.memories, audit: report.audit };
        write_line(out, &end).map_err(io)?;
        out.flush().map_err(io)?;
        let detail = format!("{} namespaces, {} memories", report.namespaces, report.memories);
        self.audit(caller, None, "export", AuditOutcome::Ok, detail).await?;
        Ok(report)
    }

    /// Imports an export file into the caller's tenant. The whole file is read and validated
    /// first (format, version, every record, the end counts, the caller's right to write each
    /// namespace: operators may import anything); only then is anything written. Memories keep
    /// their ids and every field; ones already present (same id) are skipped, so importing
    /// twice changes nothing.
    pub async fn import(
        &self,
        caller: &Caller,
        input: &mut (dyn BufRead + Send),
        progress: &mut (dyn FnMut(TransferReport) + Send),
    ) -> Result<TransferReport> {
        let parsed = parse_export(input, &caller.tenant)?;
        let t = self.tenant(&caller.tenant).await?;
        if !caller.operator {
            for ns in &parsed.namespaces {
                let verdict = self.inner.policy.can(&caller.identity, Operation::Write, ns.key.as_str());
                if !verdict.allowed {
                    let err =
                        Error::forbidden(format!("may not import into {:?}: {}", ns.key.as_str(), verdict.reason));
                    self.audit_denied(caller, Some(&ns.key), "import", &err).await;
                    return Err(err);
                }
            }
        }
        // Existing state: a namespace deleted here cannot take memories until purged.
        let mut create = Vec::new();
        for ns in &parsed.namespaces {
            match self.inner.store.get_namespace(&caller.tenant, &ns.key).await? {
                Some(existing) if existing.status == NamespaceStatus::Deleted => {
                    return Err(Error::conflict(format!(
                        "namespace {:?} is deleted here; purge it before importing it again",
                        ns.key.as_str()
                    )));
                }
                Some(_) => {}
                None => create.push(ns.clone()),
            }
        }
        let mut report = TransferReport::default();
        let now = self.now();
        // Namespaces are created active so their memories can be put, then given their status.
        for ns in &create {
            let mut active = ns.clone();
            active.status = NamespaceStatus::Active;
            self.inner.store.create_namespace(active).await?;
            report.namespaces += 1;
        }
        self.forget_catalog(&t);
        for ns in &parsed.namespaces {
            if create.iter().any(|c| c.key == ns.key) {
                continue;
            }
            // Existing namespaces (the tenant's default and shared, say) take the file's metadata.
            let mut patch = NamespacePatch::default();
            patch.display_name = Some(ns.display_name.clone());
            patch.description = Some(ns.description.clone());
            patch.team = Some(ns.team.clone());
            patch.sensitivity = Some(ns.sensitivity);
            patch.default_access = Some(ns.default_access);
            patch.retention_days = Some(ns.retention_days);
            patch.metadata = Some(ns.metadata.clone());
            let current = self.inner.store.get_namespace(&caller.tenant, &ns.key).await?;
            if current.as_ref().is_some_and(|c| c.status == NamespaceStatus::Archived) {
                self.inner.store.restore_namespace(&caller.tenant, &ns.key, now).await?;
            }
            self.inner.store.update_namespace(&caller.tenant, &ns.key, &patch, ns.updated_at).await?;
        }
        for memories in parsed.memories.values() {
            for chunk in memories.chunks(MAX_PAGE_LIMIT) {
                let ids: Vec<MemoryId> = chunk.iter().map(|m| m.id).collect();
                let present: HashSet<MemoryId> =
                    self.inner.store.get_memories(&caller.tenant, &ids).await?.into_iter().map(|m| m.id).collect();
                let fresh: Vec<NewMemory> = chunk.iter().filter(|m| !present.contains(&m.id)).cloned().collect();
                report.skipped += (chunk.len() - fresh.len()) as u64;
                let fresh_ids: Vec<MemoryId> = fresh.iter().map(|m| m.id).collect();
                let outcomes = self.inner.store.put_memories(&caller.tenant, fresh).await?;
                for (id, o) in fresh_ids.iter().zip(outcomes) {
                    match o {
                        PutOutcome::Created(_) => report.memories += 1,
                        PutOutcome::Existing(other) if other != *id => report.merged += 1,
                        PutOutcome::Existing(_) => report.skipped += 1,
                    }
                }
                progress(report);
            }
        }
        for ns in &parsed.namespaces {
            if ns.status == NamespaceStatus::Archived {
                self.inner.store.archive_namespace(&caller.tenant, &ns.key, ns.updated_at).await?;
            }
        }
        self.forget_catalog(&t);
        for a in parsed.audit {
            match self.inner.store.append_audit(a).await {
                Ok(()) => report.audit += 1,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        self.catch_up(&t).await?;
        let detail = format!(
            "{} namespaces created, {} memories written, {} skipped, {} merged",
            report.namespaces, report.memories, report.skipped, report.merged
        );
        self.audit(caller, None, "import", AuditOutcome::Ok, detail).await?;
        Ok(report)
    }
}

/// The memory as exported: every field but the store-internal ones.
fn exported(m: Memory) -> NewMemory {
    NewMemory {
        id: m.id,
        namespace: m.namespace,
        layer: m.layer,
        content: m.content,
        category: m.category,
        confidence: m.confidence,
        provenance: m.provenance,
        created_at: m.created_at,
        updated_at: m.updated_at,
        expires_at: m.expires_at,
        metadata: m.metadata,
        supersedes: m.supersedes,
        superseded_by: m.superseded_by,
        promoted_from: m.promoted_from,
        stats: m.stats,
    }
}

fn write_line(out: &mut (dyn Write + Send), line: &ExportLine) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// A validated export file.
struct Parsed {
    namespaces: Vec<Namespace>,
    memories: BTreeMap<NamespaceKey, Vec<NewMemory>>,
    audit: Vec<AuditRecord>,
}

/// Reads and checks a whole export file; the records are rebound to `tenant`.
fn parse_export(input: &mut (dyn BufRead + Send), tenant: &memory_core::TenantId) -> Result<Parsed> {
    let mut parsed = Parsed { namespaces: Vec::new(), memories: BTreeMap::new(), audit: Vec::new() };
    let mut ids = HashSet::new();
    let mut header = false;
    let mut end = None;
    let mut line = String::new();
    let mut n = 0usize;
    loop {
        line.clear();
        let read =
            input.read_line(&mut line).map_err(|e| Error::invalid_input(format!("cannot read the file: {e}")))?;
        if read == 0 {
            break;
        }
        n += 1;
        let at = |msg: String| Error::invalid_input(format!("line {n}: {msg}"));
        if line.trim().is_empty() {
            continue;
        }
        if end.is_some() {
            return Err(at("nothing may follow the end line".into()));
        }
        let parsed_line: ExportLine = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
        match parsed_line {
            ExportLine::Header { format, version, .. } => {
                if header || n != 1 {
                    return Err(at("the header must be the first line, once".into()));
                }
                if format != EXPORT_FORMAT {
                    return Err(at(format!("format {format:?} is not {EXPORT_FORMAT:?}")));
                }
                if version == 0 || version > EXPORT_VERSION {
                    return Err(at(format!(
                        "format version {version} is not supported (this build reads 1..={EXPORT_VERSION})"
                    )));
                }
                header = true;
            }
            _ if !header => return Err(at("the file does not start with a memory-export header".into())),
            ExportLine::Namespace { mut namespace } => {
                namespace.tenant = tenant.clone();
                namespace.validate().map_err(|e| at(e.message().to_owned()))?;
                if namespace.status == NamespaceStatus::Deleted {
                    return Err(at(format!(
                        "namespace {:?} is deleted; exports never hold one",
                        namespace.key.as_str()
                    )));
                }
                if parsed.namespaces.iter().any(|n: &Namespace| n.key == namespace.key) {
                    return Err(at(format!("namespace {:?} appears twice", namespace.key.as_str())));
                }
                parsed.namespaces.push(namespace);
            }
            ExportLine::Memory { memory } => {
                memory.validate().map_err(|e| at(e.message().to_owned()))?;
                if !parsed.namespaces.iter().any(|n| n.key == memory.namespace) {
                    return Err(at(format!(
                        "memory {} is in namespace {:?}, which no earlier line declares",
                        memory.id,
                        memory.namespace.as_str()
                    )));
                }
                if !ids.insert(memory.id) {
                    return Err(at(format!("memory {} appears twice", memory.id)));
                }
                parsed.memories.entry(memory.namespace.clone()).or_default().push(memory);
            }
            ExportLine::Audit { mut audit } => {
                audit.tenant = tenant.clone();
                parsed.audit.push(audit);
            }
            ExportLine::End { namespaces, memories, audit } => end = Some((namespaces, memories, audit)),
        }
    }
    let Some((namespaces, memories, audit)) = end else {
        return Err(Error::invalid_input("the file has no end line: it is truncated or not an export"));
    };
    let found = (parsed.namespaces.len() as u64, ids.len() as u64, parsed.audit.len() as u64);
    if found != (namespaces, memories, audit) {
        return Err(Error::invalid_input(format!(
            "the end line counts {namespaces} namespaces, {memories} memories and {audit} audit records; the file holds {}, {} and {}",
            found.0, found.1, found.2
        )));
    }
    Ok(parsed)
}
