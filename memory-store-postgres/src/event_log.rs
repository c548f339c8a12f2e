//! The event logs of SPEC 6 on PostgreSQL: `put_memories` appends a line per created memory to
//! the `event_log` table in its own transaction (see `memories::put`), and
//! [`PgStore::export_event_logs`] writes the per-namespace, per-day JSONL files from it, in the
//! layout and format of the SQLite store's `log/` directory.
//!
//! A table rather than files: several servers on several machines write one database, so no
//! machine's files could hold a namespace's whole log, and a line written in the transaction
//! of its memory is never lost or doubled, in commit order, and replicated and backed up with
//! the database.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memory_core::{Error, NamespaceKey, Result, TenantId, Timestamp, log_relative_path};
use serde::Serialize;
use sqlx::Row;

use crate::PgStore;
use crate::error::Classify;

/// Lines read per query.
const PAGE: i64 = 5_000;

/// What an export of the event logs wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogExport {
    /// Lines written.
    pub lines: u64,
    /// Files written (each rewritten whole).
    pub files: u64,
}

impl PgStore {
    /// Writes the event logs of every tenant (or of `tenant`) under `dir`: one file per
    /// namespace and UTC day ([`memory_core::log_relative_path`]), each rewritten whole with
    /// its lines in commit order, so exporting again gives the same files (plus what was
    /// written since).
    pub async fn export_event_logs(&self, dir: &Path, tenant: Option<&TenantId>) -> Result<LogExport> {
        let (store, dir, tenant) = (self.clone(), dir.to_path_buf(), tenant.cloned());
        // On the store's runtime, as all its work (see `PgStore::run`); the files are few
        // and written in large buffered pieces.
        self.run(async move { store.export_logs(&dir, tenant.as_ref()).await }).await
    }

    async fn export_logs(&self, dir: &Path, tenant: Option<&TenantId>) -> Result<LogExport> {
        let mut report = LogExport::default();
        let mut files: HashMap<PathBuf, BufWriter<File>> = HashMap::new();
        let (mut after_tenant, mut after_seq) = (String::new(), -1i64);
        loop {
            let rows = sqlx::query(
                "SELECT tenant_id, seq, namespace, created_at, line FROM event_log \
                 WHERE ($1::text IS NULL OR tenant_id = $1) AND (tenant_id, seq) > ($2, $3) \
                 ORDER BY tenant_id, seq LIMIT $4",
            )
            .bind(tenant.map(TenantId::as_str))
            .bind(&after_tenant)
            .bind(after_seq)
            .bind(PAGE)
            .fetch_all(self.pool())
            .await
            .classify()?;
            let Some(last) = rows.last() else { break };
            after_tenant = last.try_get("tenant_id").classify()?;
            after_seq = last.try_get("seq").classify()?;
            for row in &rows {
                let t = TenantId::new(row.try_get::<String, _>("tenant_id").classify()?)?;
                let ns = NamespaceKey::new(row.try_get::<String, _>("namespace").classify()?)
                    .map_err(|e| Error::internal(format!("stored event of a bad namespace key: {e}")))?;
                let at = Timestamp::from_micros(row.try_get("created_at").classify()?);
                let line: String = row.try_get("line").classify()?;
                let path = dir.join(log_relative_path(&t, &ns, at));
                let file = match files.entry(path) {
                    std::collections::hash_map::Entry::Occupied(f) => f.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let path = v.key();
                        if let Some(parent) = path.parent() {
                            fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
                        }
                        let f = File::create(path).map_err(|e| io_error(path, e))?;
                        report.files += 1;
                        v.insert(BufWriter::new(f))
                    }
                };
                file.write_all(line.as_bytes()).and_then(|()| file.write_all(b"\n")).map_err(|e| io_error(dir, e))?;
                report.lines += 1;
            }
        }
        for (path, file) in files {
            let file = file.into_inner().map_err(|e| io_error(&path, e.into_error()))?;
            file.sync_all().map_err(|e| io_error(&path, e))?;
        }
        Ok(report)
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::unavailable(format!("cannot write the event log {}: {e}", path.display())).with_source(e)
}
