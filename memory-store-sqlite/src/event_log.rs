//! The per-namespace, per-day JSONL event logs (SPEC 6): one `remember` line per memory a put
//! created, so data can be replayed or audited without the database.
//!
//! A line is `{"event":"remember","memory":<Memory>}` followed by `\n`. A memory of a
//! `restricted` namespace keeps its content out of the log (`seeds/004`): its line is
//! `{"event":"withheld","id":..,"namespace":..,"created_at":..,"content_hash":..}`, unless the
//! namespace's metadata opts in with `"log_content": true`. Lines are written
//! after the database commit and before the put returns, one `write` per file per group commit
//! (see `connections`). A crash can therefore leave a final line without its `\n`; that line
//! was never acknowledged, so [`read_log`] ignores it and the next append cuts it off before
//! writing.
//!
//! A process killed between its commit and its append leaves memories in the database without
//! their lines: the put never returned (nothing was acknowledged), but the rows are there. So
//! the logs hold every acknowledged write, and the database may hold a little more.
//!
//! Several processes may write one data directory. A put holds the log lock (an exclusive
//! `flock` on `log/.lock`) from before its transaction begins until its lines are written, so
//! log order is commit order across processes too, and checking a file's tail for a cut-off
//! line is safe.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use memory_core::{ContentHash, Error, Memory, MemoryId, NamespaceKey, Result, TenantId, Timestamp};
use serde::Serialize;

use crate::error::io_error;
use crate::options::Durability;

pub use memory_core::{LOG_CONTENT_KEY, LogEvent};

/// How much of a created memory its event log line carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LogContent {
    /// The whole record.
    Full,
    /// Id, namespace, time and hash only.
    Withheld,
}

/// A memory a put created, for the log.
pub(crate) struct ToLog {
    pub memory: Memory,
    pub content: LogContent,
}

/// Borrowing twins of [`LogEvent`]'s lines, so writing a line does not copy the memory.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
enum Line<'a> {
    Remember { memory: &'a Memory },
    Withheld { id: MemoryId, namespace: &'a NamespaceKey, created_at: Timestamp, content_hash: &'a ContentHash },
}

impl<'a> Line<'a> {
    fn of(entry: &'a ToLog) -> Self {
        let m = &entry.memory;
        match entry.content {
            LogContent::Full => Line::Remember { memory: m },
            LogContent::Withheld => Line::Withheld {
                id: m.id,
                namespace: &m.namespace,
                created_at: m.created_at,
                content_hash: &m.content_hash,
            },
        }
    }
}

/// The log file of `namespace` for the UTC day of `at`, under `log_dir` (`<data_dir>/log`):
/// [`memory_core::log_relative_path`] there.
pub fn log_file_path(log_dir: &Path, tenant: &TenantId, namespace: &NamespaceKey, at: Timestamp) -> PathBuf {
    log_dir.join(memory_core::log_relative_path(tenant, namespace, at))
}

/// Reads every complete line of a log file. A final line without `\n` is a write that a crash
/// cut short, never acknowledged: it is skipped. Any other line that does not parse is an
/// `InvalidInput` error naming its line number.
pub fn read_log(path: &Path) -> Result<Vec<LogEvent>> {
    let text = fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::not_found(format!("no event log at {}", path.display())).with_source(e),
        _ => io_error(format_args!("cannot read {}", path.display()), e),
    })?;
    let complete = match text.iter().rposition(|&b| b == b'\n') {
        Some(last) => &text[..=last],
        None => &[][..],
    };
    complete
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.is_empty())
        .map(|(i, line)| {
            serde_json::from_slice(line).map_err(|e| {
                Error::invalid_input(format!("{} line {}: not an event: {e}", path.display(), i + 1)).with_source(e)
            })
        })
        .collect()
}

/// Most log files kept open at once; beyond it the least recently used is closed.
const MAX_OPEN_FILES: usize = 256;
/// Most threads that fsync log files of one batch at once.
const MAX_SYNC_THREADS: usize = 8;

/// Name of the lock file inside the log directory.
pub(crate) const LOCK_FILE: &str = ".lock";

/// The appending side of the logs of one data directory.
pub(crate) struct EventLog {
    dir: PathBuf,
    durability: Durability,
    /// How long [`EventLog::lock`] waits for another process.
    busy: Duration,
    files: Mutex<OpenFiles>,
    lock_file: Mutex<Option<File>>,
}

/// Proof that this process holds the log lock; released when dropped.
pub(crate) struct LogLock<'a> {
    file: MutexGuard<'a, Option<File>>,
}

impl Drop for LogLock<'_> {
    fn drop(&mut self) {
        if let Some(f) = self.file.as_ref() {
            let _ = f.unlock();
        }
    }
}

#[derive(Default)]
struct OpenFiles {
    by_path: HashMap<PathBuf, (File, u64)>,
    clock: u64,
}

impl EventLog {
    pub(crate) fn new(dir: PathBuf, durability: Durability, busy: Duration) -> Self {
        EventLog { dir, durability, busy, files: Mutex::new(OpenFiles::default()), lock_file: Mutex::new(None) }
    }

    /// Takes the log lock, waiting up to the busy timeout for other processes; then
    /// `Unavailable` ("busy").
    pub(crate) fn lock(&self) -> Result<LogLock<'_>> {
        let mut guard = self.lock_file.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let path = self.dir.join(LOCK_FILE);
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| io_error(format_args!("cannot open the log lock {}", path.display()), e))?;
            *guard = Some(file);
        }
        let file = guard.as_ref().expect("opened above");
        let started = Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LogLock { file: guard }),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < self.busy => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(25));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(Error::unavailable(format!(
                        "the store is busy: another process kept writing for longer than the busy timeout ({} s); try again",
                        self.busy.as_secs_f64()
                    )));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io_error(format_args!("cannot lock {}", self.dir.join(LOCK_FILE).display()), e));
                }
            }
        }
    }

    /// Appends one line per memory, grouped into one write per file, under the log lock
    /// `_held`.
    pub(crate) fn append(&self, _held: &LogLock<'_>, created: &[ToLog]) -> Result<()> {
        let mut batches: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
        for entry in created {
            let memory = &entry.memory;
            let path = log_file_path(&self.dir, &memory.tenant, &memory.namespace, memory.created_at);
            let buf = batches.entry(path).or_default();
            serde_json::to_writer(&mut *buf, &Line::of(entry))
                .map_err(|e| Error::internal(format!("cannot encode a log line: {e}")).with_source(e))?;
            buf.push(b'\n');
        }
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        for (path, buf) in &batches {
            files
                .append(path, buf, self.durability)
                .map_err(|e| io_error(format_args!("stored, but cannot append to {}", path.display()), e))?;
        }
        if self.durability == Durability::Full {
            files.sync(batches.keys())?;
        }
        Ok(())
    }
}

impl OpenFiles {
    /// Writes `buf` to the end of the file at `path` (opening and repairing it if needed). A
    /// failed write is taken back, so the file never keeps a partial line of a live process.
    fn append(&mut self, path: &Path, buf: &[u8], durability: Durability) -> io::Result<()> {
        self.clock += 1;
        let now = self.clock;
        if !self.by_path.contains_key(path) {
            let file = open_for_append(path, durability)?;
            if self.by_path.len() >= MAX_OPEN_FILES
                && let Some(oldest) = self.by_path.iter().min_by_key(|(_, (_, used))| *used).map(|(p, _)| p.clone())
            {
                self.by_path.remove(&oldest);
            }
            self.by_path.insert(path.to_path_buf(), (file, now));
        }
        let (file, used) = self.by_path.get_mut(path).expect("inserted above");
        *used = now;
        // Another process may have died mid-line since this file was opened: cut that off
        // first (safe under the log lock), so no line is ever glued to a partial one.
        cut_partial_line(file, durability == Durability::Full)?;
        let before = file.metadata()?.len();
        if let Err(e) = file.write_all(buf) {
            // Take back a partial line now, and reopen (and re-check) the file next time.
            let _ = file.set_len(before);
            self.by_path.remove(path);
            return Err(e);
        }
        Ok(())
    }

    /// Fsyncs the files at `paths` (all written by this batch and still open). Concurrently:
    /// a batch spread over many namespaces would otherwise wait for one disk flush per file
    /// in turn, while concurrent flushes share journal commits.
    fn sync<'a>(&self, paths: impl Iterator<Item = &'a PathBuf>) -> Result<()> {
        let files: Vec<(&PathBuf, &File)> =
            paths.filter_map(|p| self.by_path.get(p).map(|(file, _)| (p, file))).collect();
        let sync = |chunk: &[(&PathBuf, &File)]| -> Result<()> {
            for (path, file) in chunk {
                file.sync_data()
                    .map_err(|e| io_error(format_args!("stored, but cannot sync {}", path.display()), e))?;
            }
            Ok(())
        };
        if files.len() <= 1 {
            return sync(&files);
        }
        let per_thread = files.len().div_ceil(MAX_SYNC_THREADS);
        std::thread::scope(|scope| {
            let handles: Vec<_> = files.chunks(per_thread).map(|chunk| scope.spawn(move || sync(chunk))).collect();
            handles.into_iter().try_for_each(|h| h.join().unwrap_or_else(|_| Err(Error::internal("log sync panicked"))))
        })
    }
}

/// Opens (creating it and its directories) a log file for appending, after cutting off a
/// partial final line that a crash may have left.
fn open_for_append(path: &Path, durability: Durability) -> io::Result<File> {
    let sync = durability == Durability::Full;
    let dir = path.parent().expect("log paths have a directory");
    create_dirs(dir, sync)?;
    let existed = path.exists();
    let mut file = OpenOptions::new().read(true).append(true).create(true).open(path)?;
    if !existed && sync {
        sync_dir(dir)?;
    }
    cut_partial_line(&mut file, sync)?;
    Ok(file)
}

/// `create_dir_all` that, for durability, also syncs each parent that gained an entry.
fn create_dirs(dir: &Path, sync: bool) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs(parent, sync)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    match dir.parent() {
        Some(parent) if sync => sync_dir(parent),
        _ => Ok(()),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    // Directories cannot be opened as files here; creating the file is durable enough.
    Ok(())
}

/// Truncates `file` to just after its last `\n` (to nothing if it has none).
fn cut_partial_line(file: &mut File, sync: bool) -> io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(len - 1))?;
    file.read_exact(&mut last)?;
    if last[0] == b'\n' {
        return Ok(());
    }
    let mut end = len;
    let mut chunk = vec![0u8; 8192];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..n])?;
        if let Some(pos) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            end = start + pos as u64 + 1;
            break;
        }
        end = start;
    }
    if end != len {
        file.set_len(end)?;
        if sync {
            file.sync_data()?;
        }
    }
    Ok(())
}

impl std::fmt::Debug for EventLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLog").field("dir", &self.dir).field("durability", &self.durability).finish()
    }
}
