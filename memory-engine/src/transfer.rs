//! Export and import (SPEC 6): a versioned JSON-lines format that round-trips losslessly.
//!
//! ```text
//! {"type":"header","format":"memory-export","version":2,"tenant":"default","exported_at":"..."}
//! {"type":"namespace","namespace":{...the catalog record...}}
//! {"type":"memory","memory":{...every field: content, layer, category, confidence,
//!                             provenance, times, metadata, links, usage statistics...}}
//! {"type":"audit","audit":{...structured detail, and the origin of imported records...}}   (when asked for)
//! {"type":"end","namespaces":N,"memories":M,"audit":K}
//! ```
//! Namespaces come in key order, each followed by its live memories in id order. Store-internal
//! fields (the change sequence, the tenant, tombstones) are not exported. The `end` line makes a
//! truncated file detectable. Version 2 made audit details structured (version 1 files, whose
//! details are text, still import).
//!
//! Import reads the file twice, one bounded line at a time, so memory use does not grow with
//! it: the first pass validates everything (format, every record, the end counts, the caller's
//! right to write each namespace, the file's tenant, and every memory id against the store: an
//! id held by a different memory, or by a deleted one, is a conflict naming it), and only then
//! the second pass writes. Memories keep their ids, so importing twice changes nothing. Imported
//! audit records are marked with their origin (they were not recorded here), and the import
//! itself is audited.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Read, Seek, SeekFrom, Write};

use memory_core::{
    AuditFilter, AuditId, AuditOp, AuditOrigin, AuditOutcome, AuditRecord, ContentHash, Error, ErrorKind,
    MAX_PAGE_LIMIT, Memory, MemoryFilter, MemoryId, Namespace, NamespaceFilter, NamespaceKey, NamespaceKind,
    NamespacePatch, NamespaceStatus, NewMemory, PageRequest, PutOutcome, Result, Timestamp,
};
use memory_policy::Operation;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::caller::Caller;
use crate::engine::{Engine, error_detail};
use crate::pipeline::{Audit, IndexUpdate, Staged};

/// The format name in the header line.
pub const EXPORT_FORMAT: &str = "memory-export";
/// The newest format version this build writes and reads (it reads 1 too).
pub const EXPORT_VERSION: u32 = 2;

/// Longest line an import reads: a memory of the largest content, escaped, and its metadata
/// fit several times over; anything longer is not a line of an export.
pub const MAX_IMPORT_LINE_BYTES: usize = 16 << 20;

/// Memories checked against the store, and written, per step of an import.
const IMPORT_CHUNK: usize = MAX_PAGE_LIMIT;

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

/// Options of an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRequest {
    /// The tenant the file may say it came from when that is not the caller's (a file of
    /// another tenant is refused unless named here).
    pub from_tenant: Option<String>,
    /// Import an export of one namespace into this namespace instead (seeds/002 `import
    /// --namespace`): its memories become copies there, each under an id derived from its own
    /// and the target ([`MemoryId::copy_in`]), so importing twice changes nothing; an existing
    /// target keeps its attributes. A file of several namespaces is an error naming them.
    pub namespace: Option<String>,
}

/// What an import reads: seekable, because it reads the file twice (validate, then write).
pub trait ImportInput: BufRead + Seek + Send {}

impl<T: BufRead + Seek + Send> ImportInput for T {}

/// Counts of an export or import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TransferReport {
    /// Namespaces exported, or created by the import.
    pub namespaces: u64,
    /// Memories exported, or written by the import.
    pub memories: u64,
    /// Memories the import skipped because they were already there (the same id holding the
    /// same content in the same namespace and layer).
    pub skipped: u64,
    /// Imported memories whose content a different memory of the namespace and layer already
    /// held: that memory absorbed them (evidence, and what they added).
    pub merged: u64,
    /// Audit records exported or appended.
    pub audit: u64,
}

impl Engine {
    /// Writes the requested namespaces to `out`. Operators may export any namespace of the
    /// tenant; other callers only namespaces they can read (so an export never holds a memory
    /// outside the caller's read set). Deleted namespaces are not exported. Reads only the
    /// store, namespace by namespace, so it costs what the exported memories cost.
    pub async fn export(
        &self,
        caller: &Caller,
        request: &ExportRequest,
        out: &mut (dyn Write + Send),
        progress: &mut (dyn FnMut(TransferReport) + Send),
    ) -> Result<TransferReport> {
        let t = self.tenant(&caller.tenant).await?;
        let all = self.inner.store.list_namespaces(&caller.tenant, &NamespaceFilter::default()).await?;
        let vis = if caller.operator { None } else { Some(self.visibility(caller, &t).await?) };
        let may = |ns: &NamespaceKey| vis.as_ref().is_none_or(|v| v.readable.contains(ns));
        let chosen: Vec<Namespace> = if request.namespaces.is_empty() {
            // All of them: restricted namespaces only when named (as `*` leaves them out).
            all.into_iter().filter(|n| vis.as_ref().is_none_or(|v| v.read_order.contains(&n.key))).collect()
        } else {
            let mut keys = Vec::new();
            for raw in &request.namespaces {
                let key = NamespaceKey::new(raw).map_err(|e| Error::invalid_input(e.to_string()))?;
                let Some(ns) = all.iter().find(|n| n.key == key && may(&n.key)) else {
                    let err = Error::not_found(format!("namespace {:?} not found", key.as_str()));
                    self.audit_denied(caller, Some(&key), AuditOp::Export, &err).await;
                    return Err(err);
                };
                if !keys.iter().any(|k: &Namespace| k.key == key) {
                    keys.push(ns.clone());
                }
            }
            keys.sort_by(|a, b| a.key.cmp(&b.key));
            if let Some(v) = &vis {
                let named: Vec<&NamespaceKey> = keys.iter().map(|n| &n.key).collect();
                self.audit_restricted_read(caller, &v.catalog, &named, AuditOp::Export, json!({})).await?;
            }
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
        let names: Vec<&NamespaceKey> = chosen.iter().map(|n| &n.key).collect();
        let detail = json!({
            "namespaces": names,
            "memories": report.memories,
            "audit": report.audit,
        });
        self.audit(caller, None, AuditOp::Export, AuditOutcome::Ok, detail).await?;
        Ok(report)
    }

    /// Imports an export file into the caller's tenant: validates all of it first (see the
    /// module documentation), then writes. A file of another tenant needs
    /// `request.from_tenant`; operators may import into any namespace, others only where the
    /// policies let them write. An id held here by a memory with other content, in another
    /// namespace or layer, or by a deleted memory, is a `Conflict` naming it, and nothing is
    /// written.
    pub async fn import(
        &self,
        caller: &Caller,
        input: &mut dyn ImportInput,
        request: &ImportRequest,
        progress: &mut (dyn FnMut(TransferReport) + Send),
    ) -> Result<TransferReport> {
        let t = self.tenant(&caller.tenant).await?;
        let start = input.stream_position().map_err(read_err)?;
        let checked = self.check_import(caller, input, request).await?;
        self.index_before_writing(&t).await;
        let import_id = AuditId::new_v7();
        let result = self.write_import(caller, input, start, &checked, import_id, progress).await;
        if let Err(e) = self.catch_up(&t).await {
            t.note(format!("the index could not take in the import yet ({e}); the next command catches up"));
        }
        let (report, created) = match result {
            Ok(done) => done,
            Err(e) => {
                // The namespaces the file has archived were active while their memories went in:
                // archived again, so a failed import leaves none writable.
                for ns in checked.namespaces.iter().filter(|n| n.status == NamespaceStatus::Archived) {
                    let _ = self.inner.store.archive_namespace(&caller.tenant, &ns.key, ns.updated_at).await;
                }
                let mut detail = error_detail(&e);
                detail["file_tenant"] = checked.tenant.clone().into();
                let _ =
                    self.audit_with_id(caller, import_id, None, AuditOp::Import, AuditOutcome::Failed, detail).await;
                return Err(e);
            }
        };
        let detail = json!({
            "file_tenant": checked.tenant,
            "exported_at": checked.exported_at,
            "namespaces_created": created,
            "memories": report.memories,
            "skipped": report.skipped,
            "merged": report.merged,
            "audit": report.audit,
        });
        self.audit_with_id(caller, import_id, None, AuditOp::Import, AuditOutcome::Ok, detail).await?;
        Ok(report)
    }

    /// The checking passes of an import: everything that could refuse it. The first reads and
    /// validates every line, then checks the caller's rights and the namespaces; only then
    /// does a second read check every memory id against the store (so a refusal for rights
    /// comes before one for a conflicting id, wherever they are in the file).
    async fn check_import(
        &self,
        caller: &Caller,
        input: &mut dyn ImportInput,
        request: &ImportRequest,
    ) -> Result<CheckedImport> {
        let start = input.stream_position().map_err(read_err)?;
        let mut lines = Lines::new(input);
        let target = request
            .namespace
            .as_deref()
            .map(|raw| NamespaceKey::new(raw).map_err(|e| Error::invalid_input(format!("namespace: {e}"))))
            .transpose()?;
        let mut checked = CheckedImport { target, ..CheckedImport::default() };
        let mut ids = HashSet::new();
        let mut counts = (0u64, 0u64, 0u64);
        let mut end = None;
        while let Some((n, line)) = lines.next_line()? {
            let at = |msg: String| Error::invalid_input(format!("line {n}: {msg}"));
            checked.line_hashes.push(checked.fingerprint(&line));
            if line.trim().is_empty() {
                continue;
            }
            if end.is_some() {
                return Err(at("nothing may follow the end line".into()));
            }
            let parsed: ExportLine = serde_json::from_str(&line).map_err(|e| at(e.to_string()))?;
            match parsed {
                ExportLine::Header { format, version, tenant, exported_at } => {
                    if checked.exported_at.is_some() || n != 1 {
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
                    if tenant != caller.tenant.as_str() && request.from_tenant.as_deref() != Some(tenant.as_str()) {
                        return Err(at(format!(
                            "the file was exported from tenant {tenant:?}, and this import writes tenant {:?}; \
                             name the file's tenant (--from-tenant {tenant}) to import it anyway",
                            caller.tenant.as_str()
                        )));
                    }
                    checked.tenant = tenant;
                    checked.exported_at = Some(exported_at);
                }
                _ if checked.exported_at.is_none() => {
                    return Err(at("the file does not start with a memory-export header".into()));
                }
                ExportLine::Namespace { mut namespace } => {
                    namespace.tenant = caller.tenant.clone();
                    namespace.validate().map_err(|e| at(e.message().to_owned()))?;
                    if let Some(target) = &checked.target {
                        checked.file_namespaces.push(namespace.key.clone());
                        if checked.file_namespaces.len() > 1 {
                            continue;
                        }
                        namespace.key = target.clone();
                        namespace.display_name = target.to_string();
                        namespace.kind = NamespaceKind::Explicit;
                        namespace.status = NamespaceStatus::Active;
                        namespace.created_by = self.principal_of(caller);
                        namespace.created_by_key = caller.key_id();
                    }
                    if namespace.status == NamespaceStatus::Deleted {
                        return Err(at(format!(
                            "namespace {:?} is deleted; exports never hold one",
                            namespace.key.as_str()
                        )));
                    }
                    if checked.namespaces.iter().any(|n: &Namespace| n.key == namespace.key) {
                        return Err(at(format!("namespace {:?} appears twice", namespace.key.as_str())));
                    }
                    counts.0 += 1;
                    checked.namespaces.push(namespace);
                }
                ExportLine::Memory { memory } => {
                    memory.validate().map_err(|e| at(e.message().to_owned()))?;
                    if checked.file_namespaces.len() > 1 {
                        continue;
                    }
                    let memory = checked.copied(memory);
                    if !checked.namespaces.iter().any(|n| n.key == memory.namespace) {
                        return Err(at(format!(
                            "memory {} is in namespace {:?}, which no earlier line declares",
                            memory.id,
                            memory.namespace.as_str()
                        )));
                    }
                    if !ids.insert(memory.id) {
                        return Err(at(format!("memory {} appears twice", memory.id)));
                    }
                    counts.1 += 1;
                }
                ExportLine::Audit { mut audit } => {
                    audit.tenant = caller.tenant.clone();
                    audit.validate().map_err(|e| at(e.message().to_owned()))?;
                    counts.2 += 1;
                }
                ExportLine::End { namespaces, memories, audit } => end = Some((namespaces, memories, audit)),
            }
        }
        drop(ids);
        if checked.file_namespaces.len() > 1 {
            let names: Vec<&str> = checked.file_namespaces.iter().map(NamespaceKey::as_str).collect();
            return Err(Error::invalid_input(format!(
                "the file holds {} namespaces ({}); importing into one namespace takes an export of one",
                names.len(),
                names.join(", ")
            )));
        }
        let Some(declared) = end else {
            return Err(Error::invalid_input("the file has no end line: it is truncated or not an export"));
        };
        if counts != declared {
            return Err(Error::invalid_input(format!(
                "the end line counts {} namespaces, {} memories and {} audit records; the file holds {}, {} and {}",
                declared.0, declared.1, declared.2, counts.0, counts.1, counts.2
            )));
        }
        if !caller.operator {
            let t = self.tenant(&caller.tenant).await?;
            let catalog = self.catalog(&t).await?;
            for ns in &checked.namespaces {
                let verdict =
                    self.inner.policy.can(&caller.identity, Operation::Write, ns.key.as_str(), catalog.as_ref());
                if !verdict.allowed {
                    let err =
                        Error::forbidden(format!("may not import into {:?}: {}", ns.key.as_str(), verdict.reason));
                    self.audit_denied(caller, Some(&ns.key), AuditOp::Import, &err).await;
                    return Err(err);
                }
            }
        }
        for ns in &checked.namespaces {
            let existing = self.inner.store.get_namespace(&caller.tenant, &ns.key).await?;
            if checked.target.is_some() && existing.as_ref().is_some_and(|n| n.status == NamespaceStatus::Archived) {
                return Err(Error::not_found(format!(
                    "namespace {:?} is archived; restore it to import into it",
                    ns.key.as_str()
                )));
            }
            if let Some(existing) = existing
                && existing.status == NamespaceStatus::Deleted
            {
                return Err(Error::conflict(format!(
                    "namespace {:?} is deleted here; purge it before importing it again",
                    ns.key.as_str()
                )));
            }
        }
        // Every memory id against the store, a chunk at a time.
        input.seek(SeekFrom::Start(start)).map_err(read_err)?;
        let mut lines = Lines::new(input);
        let mut chunk: Vec<NewMemory> = Vec::new();
        while let Some((_, line)) = lines.next_unchanged(&checked)? {
            if let Ok(ExportLine::Memory { memory }) = serde_json::from_str::<ExportLine>(&line) {
                chunk.push(checked.copied(memory));
                if chunk.len() == IMPORT_CHUNK {
                    self.check_import_ids(caller, &mut chunk, &mut checked).await?;
                }
            }
        }
        self.check_import_ids(caller, &mut chunk, &mut checked).await?;
        Ok(checked)
    }

    /// Sorts a chunk of the file's memories by what the store holds under their ids: free (to
    /// write), the same memory (already there), or a conflict.
    async fn check_import_ids(
        &self,
        caller: &Caller,
        chunk: &mut Vec<NewMemory>,
        checked: &mut CheckedImport,
    ) -> Result<()> {
        if chunk.is_empty() {
            return Ok(());
        }
        let ids: Vec<MemoryId> = chunk.iter().map(|m| m.id).collect();
        let live: HashMap<MemoryId, Memory> =
            self.inner.store.get_memories(&caller.tenant, &ids).await?.into_iter().map(|m| (m.id, m)).collect();
        let others: Vec<MemoryId> = ids.iter().filter(|id| !live.contains_key(id)).copied().collect();
        // Ids are scoped by tenant: only this tenant's tombstones can hold one (another
        // tenant's memory with the same id is no concern of this import, and never named).
        if let Some(taken) = self.inner.store.taken_memory_ids(&caller.tenant, &others).await?.first() {
            return Err(Error::conflict(format!(
                "memory {taken} of the file cannot be imported: its id belongs to a deleted memory here; nothing \
                 was written"
            )));
        }
        let repeated = self.inner.store.find_duplicates(&caller.tenant, chunk).await?;
        for (m, repeated) in chunk.drain(..).zip(repeated) {
            let Some(here) = live.get(&m.id) else {
                // A fresh id: its content may repeat a memory here, which must agree on the
                // category (else the write would discard it, SPEC 2).
                if let Some(d) = repeated
                    && d.category != m.category
                {
                    return Err(Error::conflict(format!(
                        "memory {} of the file repeats memory {} here (namespace {:?}, layer {}) as category {}, \
                         which holds it as {}; nothing was written",
                        m.id,
                        d.id,
                        m.namespace.as_str(),
                        m.layer,
                        m.category,
                        d.category
                    )));
                }
                continue;
            };
            let same = here.namespace == m.namespace
                && here.layer == m.layer
                && here.content_hash == ContentHash::of(&m.content);
            if !same {
                return Err(Error::conflict(format!(
                    "memory {} of the file conflicts with memory {} here: the file has it in namespace {:?}, layer {}, \
                     the store in {:?}, layer {}{}; nothing was written",
                    m.id,
                    here.id,
                    m.namespace.as_str(),
                    m.layer,
                    here.namespace.as_str(),
                    here.layer,
                    if here.content_hash == ContentHash::of(&m.content) { "" } else { ", with other content" }
                )));
            }
            checked.present.insert(m.id);
        }
        Ok(())
    }

    /// The second pass: writes what the first pass checked. Returns the report and the keys of
    /// the namespaces it created.
    async fn write_import(
        &self,
        caller: &Caller,
        input: &mut dyn ImportInput,
        start: u64,
        checked: &CheckedImport,
        import_id: AuditId,
        progress: &mut (dyn FnMut(TransferReport) + Send),
    ) -> Result<(TransferReport, Vec<NamespaceKey>)> {
        let mut report = TransferReport::default();
        let now = self.now();
        let mut created = Vec::new();
        // Namespaces first, created active so their memories can be put, then given their status.
        for ns in &checked.namespaces {
            match self.inner.store.get_namespace(&caller.tenant, &ns.key).await? {
                None => {
                    let mut active = ns.clone();
                    active.status = NamespaceStatus::Active;
                    self.inner.store.create_namespace(active).await?;
                    created.push(ns.key.clone());
                    report.namespaces += 1;
                }
                // Importing into another namespace leaves an existing target as it is.
                Some(_) if checked.target.is_some() => {}
                Some(current) => {
                    // Existing namespaces (the tenant's default and shared, say) take the file's
                    // metadata; who may use them (team, sensitivity, default access) only from an
                    // operator's import, as only an admin changes it (seeds/004).
                    let mut patch = NamespacePatch::default();
                    patch.display_name = Some(ns.display_name.clone());
                    patch.description = Some(ns.description.clone());
                    if caller.operator {
                        patch.team = Some(ns.team.clone());
                        patch.sensitivity = Some(ns.sensitivity);
                        patch.default_access = Some(ns.default_access);
                    }
                    patch.retention_days = Some(ns.retention_days);
                    patch.metadata = Some(ns.metadata.clone());
                    if current.status == NamespaceStatus::Archived {
                        self.inner.store.restore_namespace(&caller.tenant, &ns.key, now).await?;
                    }
                    self.inner.store.update_namespace(&caller.tenant, &ns.key, &patch, ns.updated_at).await?;
                }
            }
        }
        let origin = AuditOrigin {
            import: import_id,
            tenant: checked.tenant.clone(),
            exported_at: checked.exported_at.unwrap_or(now),
        };
        input.seek(SeekFrom::Start(start)).map_err(read_err)?;
        let mut lines = Lines::new(input);
        let mut batch: Vec<NewMemory> = Vec::new();
        while let Some((n, line)) = lines.next_unchanged(checked)? {
            if line.trim().is_empty() {
                continue;
            }
            let parsed: ExportLine =
                serde_json::from_str(&line).map_err(|e| Error::internal(format!("line {n}: {e}")))?;
            match parsed {
                ExportLine::Memory { memory } => {
                    let memory = checked.copied(memory);
                    if checked.present.contains(&memory.id) {
                        report.skipped += 1;
                        continue;
                    }
                    batch.push(memory);
                    if batch.len() == IMPORT_CHUNK {
                        self.put_import_batch(caller, &mut batch, &mut report).await?;
                        progress(report);
                    }
                }
                ExportLine::Audit { mut audit } => {
                    audit.tenant = caller.tenant.clone();
                    audit.origin = Some(origin.clone());
                    match self.inner.store.append_audit(audit).await {
                        Ok(()) => report.audit += 1,
                        // Imported before (ids are kept): it is already here.
                        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(e),
                    }
                }
                ExportLine::Header { .. } | ExportLine::Namespace { .. } | ExportLine::End { .. } => {}
            }
        }
        self.put_import_batch(caller, &mut batch, &mut report).await?;
        progress(report);
        for ns in &checked.namespaces {
            if ns.status == NamespaceStatus::Archived {
                self.inner.store.archive_namespace(&caller.tenant, &ns.key, ns.updated_at).await?;
            }
        }
        Ok((report, created))
    }

    async fn put_import_batch(
        &self,
        caller: &Caller,
        batch: &mut Vec<NewMemory>,
        report: &mut TransferReport,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        // The import's own record audits it as a whole; the index catches up once at the end.
        let t = self.tenant(&caller.tenant).await?;
        let staged = Staged::plain(std::mem::take(batch));
        for o in self.commit(caller, &t, staged, Audit::ByCaller, IndexUpdate::Later).await?.outcomes {
            match o {
                PutOutcome::Created { .. } => report.memories += 1,
                PutOutcome::Existing { .. } => report.merged += 1,
            }
        }
        Ok(())
    }
}

/// What the first pass of an import established.
#[derive(Debug, Default)]
struct CheckedImport {
    /// The tenant the file says it came from.
    tenant: String,
    /// When the file says it was exported; set once its header is read.
    exported_at: Option<Timestamp>,
    namespaces: Vec<Namespace>,
    /// Ids the store already holds with the same memory.
    present: HashSet<MemoryId>,
    /// The namespace everything goes into instead of the file's own (`import --namespace`).
    target: Option<NamespaceKey>,
    /// With a target: the namespaces the file declares (one, or an error naming them).
    file_namespaces: Vec<NamespaceKey>,
    /// Per line, a fingerprint of its bytes: later passes must read the same file.
    line_hashes: Vec<u64>,
    /// Keyed at random for this import, so nobody can craft a changed line that fingerprints
    /// like the one checked.
    hasher: std::hash::RandomState,
}

impl CheckedImport {
    /// A memory of the file as it is imported: unchanged, or with a target its copy there
    /// (its id and its links within the file's namespace derived for the target).
    fn copied(&self, mut memory: NewMemory) -> NewMemory {
        let (Some(target), Some(source)) = (&self.target, self.file_namespaces.first()) else { return memory };
        if memory.namespace != *source {
            return memory;
        }
        memory.namespace = target.clone();
        memory.id = memory.id.copy_in(target);
        memory.supersedes = memory.supersedes.map(|id| id.copy_in(target));
        memory.superseded_by = memory.superseded_by.map(|id| id.copy_in(target));
        memory
    }

    fn fingerprint(&self, line: &str) -> u64 {
        std::hash::BuildHasher::hash_one(&self.hasher, line)
    }
}

fn read_err(e: std::io::Error) -> Error {
    Error::invalid_input(format!("cannot read the file: {e}"))
}

/// The lines of an import, each read with a bound ([`MAX_IMPORT_LINE_BYTES`]).
struct Lines<'a> {
    input: &'a mut dyn ImportInput,
    n: usize,
    buf: Vec<u8>,
}

impl<'a> Lines<'a> {
    fn new(input: &'a mut dyn ImportInput) -> Self {
        Lines { input, n: 0, buf: Vec::new() }
    }

    /// [`Lines::next_line`] of a later pass, which must read exactly what the first pass read
    /// (line by line, to the same end): a file changed meanwhile is a `Conflict`.
    fn next_unchanged(&mut self, checked: &CheckedImport) -> Result<Option<(usize, String)>> {
        let changed =
            |n: usize| Error::conflict(format!("line {n} changed while the file was imported; import it again"));
        match self.next_line()? {
            Some((n, line)) if checked.line_hashes.get(n - 1) != Some(&checked.fingerprint(&line)) => Err(changed(n)),
            None if self.n != checked.line_hashes.len() => Err(changed(self.n + 1)),
            next => Ok(next),
        }
    }

    /// The next line (1-based number, text without the newline), or `None` at the end.
    fn next_line(&mut self) -> Result<Option<(usize, String)>> {
        self.buf.clear();
        let limit = MAX_IMPORT_LINE_BYTES as u64 + 1;
        let read = (&mut *self.input).take(limit).read_until(b'\n', &mut self.buf).map_err(read_err)?;
        if read == 0 {
            return Ok(None);
        }
        self.n += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() as u64 >= limit {
            return Err(Error::invalid_input(format!(
                "line {}: longer than {MAX_IMPORT_LINE_BYTES} bytes; not a line of an export",
                self.n
            )));
        }
        let text = String::from_utf8(std::mem::take(&mut self.buf))
            .map_err(|_| Error::invalid_input(format!("line {}: not UTF-8", self.n)))?;
        Ok(Some((self.n, text)))
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
        embedding: None,
    }
}

fn write_line(out: &mut (dyn Write + Send), line: &ExportLine) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}
