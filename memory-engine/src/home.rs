//! A memory home: one directory holding everything of an embedded installation.
//!
//! ```text
//! <home>/
//!   memory.toml     configuration (optional; defaults apply without it)
//!   memory.db       SQLite store (WAL), the source of truth
//!   log/            per-namespace JSONL event logs
//!   index/          derived search index, one folder per tenant (rebuildable: `memory reindex`)
//!   models/         local embedding models (`cargo xtask models`), used by the `auto` embedder
//! ```
//!
//! The store may live elsewhere: a database URL (`--database-url`, `MEMORY_DATABASE_URL`)
//! names it, `postgres://...` for a PostgreSQL database that several servers share (cargo
//! feature `postgres`) or `sqlite:///dir` for the SQLite store in another directory. The home
//! keeps the configuration, models and the derived index (each process has an index of its
//! own, caught up from the store's change feed).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use memory_core::{AuditOp, Error, Result, Store};
use memory_embed::EmbedderSpec;
use memory_policy::Policy;
use memory_policy::load::{Loaded, load_file};

use crate::clock::{Clock, SystemClock};
use crate::engine::{DEFAULT_WAIT, Engine, EngineParts};

/// The configuration file's name inside a home.
pub const CONFIG_FILE: &str = "memory.toml";

/// How to open a home.
#[derive(Debug, Clone)]
pub struct HomeOptions {
    /// The home directory (created when missing).
    pub home: PathBuf,
    /// A configuration file to use instead of `<home>/memory.toml` (which must then exist).
    pub config: Option<PathBuf>,
    /// The embedder name, overriding the configuration (`auto`, `hash`, `static`, `minilm`,
    /// `openai`).
    pub embedder: Option<String>,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// How long a command waits for other processes on the same home (the database's write
    /// lock, the index lock) before it reports "busy".
    pub wait: Duration,
    /// Trust the `X-Memory-Principal` header whatever the configuration says
    /// (`memory serve --trust-principal-header`).
    pub trust_principal_header: bool,
    /// Where the store is ([`StoreUrl`]); `None` is the SQLite store in the home.
    pub database_url: Option<String>,
}

/// The environment variable that names the store when `--database-url` does not.
pub const DATABASE_URL_VAR: &str = "MEMORY_DATABASE_URL";

/// A parsed database URL: which backend, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `sqlite:///path/to/dir`: the SQLite store (`memory.db` and `log/`) in that directory.
    Sqlite(PathBuf),
    /// `postgres://...` or `postgresql://...`: a PostgreSQL database, as the driver reads it.
    Postgres(String),
}

impl StoreUrl {
    /// Parses a database URL; an unknown scheme is `InvalidInput` naming the ones there are.
    pub fn parse(url: &str) -> Result<StoreUrl> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(Error::invalid_input("the database URL sqlite:// names no directory (sqlite:///path)"));
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(url.to_owned()));
        }
        Err(Error::invalid_input(format!(
            "the database URL scheme {:?} is not one this build knows: use postgres://... or sqlite:///path",
            url.split_once("://").map_or(url, |(scheme, _)| scheme)
        )))
    }
}

impl HomeOptions {
    /// Options for `home` with its own configuration file, the system clock and the default
    /// wait.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        HomeOptions {
            home: home.into(),
            config: None,
            embedder: None,
            clock: Arc::new(SystemClock),
            wait: DEFAULT_WAIT,
            trust_principal_header: false,
            database_url: None,
        }
    }
}

/// An opened home.
#[derive(Debug)]
pub struct Home {
    /// The engine over the home's store and index.
    pub engine: Engine,
    /// The configuration file read, if any.
    pub config: Option<PathBuf>,
    /// Which embedder runs, and why.
    pub embedder: String,
    /// Configuration warnings.
    pub warnings: Vec<String>,
    /// The configuration's sections owned by front ends (`[server]`), for them to validate.
    pub sections: std::collections::BTreeMap<String, serde_json::Value>,
    /// Which store it opened, for humans (`sqlite <dir>`, `postgres <url without password>`).
    pub store_description: String,
    backend: Backend,
}

/// The concrete store behind the engine, for what only one backend can do (backups).
#[derive(Debug)]
enum Backend {
    #[cfg(feature = "sqlite")]
    Sqlite(memory_store_sqlite::SqliteStore),
    #[cfg(feature = "postgres")]
    Postgres(memory_store_postgres::PgStore),
}

#[cfg(feature = "sqlite")]
impl Home {
    /// Writes a consistent copy of the home's database to `to` (a new file) while other
    /// processes go on using the home (SQLite's online backup API), and audits it. Restoring
    /// is copying the file back as `memory.db` with no process running: the index notices the
    /// older store and rebuilds itself. A PostgreSQL store is backed up with PostgreSQL's own
    /// tools (`pg_dump`, replication): `InvalidInput` saying so.
    // Without the `postgres` feature the match below has one arm; it stays a match for when it has two.
    #[cfg_attr(not(feature = "postgres"), allow(clippy::infallible_destructuring_match))]
    pub async fn backup(&self, caller: &crate::Caller, to: &Path) -> Result<memory_store_sqlite::BackupReport> {
        let store = match &self.backend {
            Backend::Sqlite(store) => store,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => {
                return Err(Error::invalid_input(
                    "the store is a PostgreSQL database: back it up with pg_dump or PostgreSQL replication",
                ));
            }
        };
        let report = store.backup_to(to).await?;
        let detail = serde_json::json!({ "to": to.display().to_string(), "bytes": report.bytes });
        self.engine.audit(caller, None, AuditOp::StoreBackup, memory_core::AuditOutcome::Ok, detail).await?;
        Ok(report)
    }
}

/// What [`Home::export_event_logs`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LogsReport {
    /// Lines written.
    pub lines: u64,
    /// Files written.
    pub files: u64,
}

impl Home {
    /// Writes the store's event logs (SPEC 6: one JSONL file per namespace and UTC day) under
    /// `dir`, and audits it: the SQLite store's own `log/` files copied, or the PostgreSQL
    /// store's `event_log` table written out in the same layout and format. Operators only
    /// (the logs hold every tenant's memories).
    pub async fn export_event_logs(&self, caller: &crate::Caller, dir: &Path) -> Result<LogsReport> {
        if !caller.operator {
            return Err(Error::forbidden("only an operator may export the event logs"));
        }
        let report = match &self.backend {
            #[cfg(feature = "sqlite")]
            Backend::Sqlite(store) => match store.log_dir() {
                Some(from) => copy_logs(&from, dir)?,
                None => LogsReport::default(),
            },
            #[cfg(feature = "postgres")]
            Backend::Postgres(store) => {
                let done = store.export_event_logs(dir, None).await?;
                LogsReport { lines: done.lines, files: done.files }
            }
        };
        let detail = serde_json::json!({ "event_logs": dir.display().to_string(), "lines": report.lines });
        self.engine.audit(caller, None, AuditOp::Export, memory_core::AuditOutcome::Ok, detail).await?;
        Ok(report)
    }
}

/// Copies every `.jsonl` file under `from` to the same place under `to`, counting lines.
#[cfg(feature = "sqlite")]
fn copy_logs(from: &Path, to: &Path) -> Result<LogsReport> {
    let io = |what: &Path, e: std::io::Error| Error::unavailable(format!("cannot copy {}: {e}", what.display()));
    let mut report = LogsReport::default();
    let mut stack = vec![from.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let path = entry.map_err(|e| io(&dir, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                let target = to.join(path.strip_prefix(from).expect("under from"));
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
                }
                let text = std::fs::read(&path).map_err(|e| io(&path, e))?;
                // Complete lines only: a last line without its newline was never acknowledged.
                let complete = text.iter().rposition(|&b| b == b'\n').map_or(&[][..], |i| &text[..=i]);
                std::fs::write(&target, complete).map_err(|e| io(&target, e))?;
                report.lines += complete.iter().filter(|&&b| b == b'\n').count() as u64;
                report.files += 1;
            }
        }
    }
    Ok(report)
}

/// Opens (creating when needed) the home: configuration, store (the SQLite store in the home,
/// or the one [`HomeOptions::database_url`] names), embedder. Indexes open on first use by an
/// operation that needs one (caught up with the store then, so nothing a crash or another
/// process left unsaved is missed); store-only operations never touch them.
pub async fn open_home(options: HomeOptions) -> Result<Home> {
    let home = &options.home;
    std::fs::create_dir_all(home)
        .map_err(|e| Error::unavailable(format!("cannot create the home directory {}: {e}", home.display())))?;
    let (config_path, loaded) = load_config(home, options.config.as_deref())?;
    let warnings = loaded.warnings.iter().map(|d| format!("{}: {}", d.path, d.message)).collect();
    let sections = loaded.sections;
    let mut config = loaded.config;
    config.trust_principal_header |= options.trust_principal_header;
    let name = options.embedder.clone().or_else(|| config.engine.embedder.clone()).unwrap_or_else(|| "auto".into());
    let spec = EmbedderSpec::parse(&name, &home.join("models"))?;
    let (embedder, note) = memory_embed::build(&spec)?;
    let url = match &options.database_url {
        Some(url) => StoreUrl::parse(url)?,
        None => StoreUrl::Sqlite(home.clone()),
    };
    let (store, backend, store_description) = open_store(&url, &options).await?;
    let recall = config.engine.recall.clone();
    // An OpenAI-compatible chat model extracts when one is configured; the rules otherwise.
    let extractor: Arc<dyn memory_consolidate::Extractor> =
        match memory_consolidate::LlmConfig::from_env().map_err(|e| Error::invalid_input(e.to_string()))? {
            Some(llm) => {
                Arc::new(memory_consolidate::LlmExtractor::new(llm).map_err(|e| Error::invalid_input(e.to_string()))?)
            }
            None => Arc::new(memory_consolidate::RuleExtractor::new()),
        };
    let engine = Engine::new(EngineParts {
        store,
        embedder,
        policy: Policy::new(config),
        recall,
        index_dir: Some(home.join("index")),
        clock: options.clock.clone(),
        wait: options.wait,
        extractor,
    });
    Ok(Home { engine, config: config_path, embedder: note, warnings, sections, store_description, backend })
}

/// Opens the store `url` names, or says which cargo feature the build lacks for it.
async fn open_store(url: &StoreUrl, options: &HomeOptions) -> Result<(Arc<dyn Store>, Backend, String)> {
    match url {
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite(dir) => {
            let sqlite = memory_store_sqlite::SqliteOptions::new(dir.clone()).busy_timeout(options.wait);
            let store = memory_store_sqlite::SqliteStore::open_with(sqlite)?;
            Ok((Arc::new(store.clone()), Backend::Sqlite(store), format!("sqlite {}", dir.display())))
        }
        #[cfg(not(feature = "sqlite"))]
        StoreUrl::Sqlite(_) => Err(Error::invalid_input(
            "this build has no SQLite store: rebuild with the cargo feature `sqlite` of memory-engine",
        )),
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres(url) => {
            let _ = options;
            let store = memory_store_postgres::PgStore::connect(url).await?;
            let shown = memory_store_postgres::redact_url(url);
            Ok((Arc::new(store.clone()), Backend::Postgres(store), format!("postgres {shown}")))
        }
        #[cfg(not(feature = "postgres"))]
        StoreUrl::Postgres(_) => Err(Error::invalid_input(
            "this build has no PostgreSQL store: rebuild with the cargo feature `postgres` \
             (cargo build --release -p memory-cli --features postgres)",
        )),
    }
}

/// Reads the explicit configuration file, or `<home>/memory.toml` when it exists, or defaults.
fn load_config(home: &Path, explicit: Option<&Path>) -> Result<(Option<PathBuf>, Loaded)> {
    let path = match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(home.join(CONFIG_FILE)).filter(|p| p.exists()),
    };
    let Some(path) = path else {
        return Ok((None, memory_policy::load::parse("", memory_policy::load::Dialect::Toml).expect("empty is valid")));
    };
    match load_file(&path) {
        Ok(loaded) => Ok((Some(path), loaded)),
        Err(diags) => {
            let lines: Vec<String> = diags
                .iter()
                .map(|d| if d.path.is_empty() { d.message.clone() } else { format!("{}: {}", d.path, d.message) })
                .collect();
            Err(Error::invalid_input(format!("invalid configuration {}: {}", path.display(), lines.join("; "))))
        }
    }
}
