//! Where a command writes a file it produces (`export --out`, `backup --out`).
//!
//! - `-` is standard output.
//! - An existing target that is not a regular file (a device such as `/dev/stdout`, a FIFO, a
//!   symbolic link) is written in place: replacing it would swap a device or a link for a
//!   plain file.
//! - Anything else is written to `.<name>.partial` beside the target and renamed over it when
//!   complete, so a failed command never leaves a truncated file under the name asked for.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::CliError;

/// A resolved `--out`.
#[derive(Debug)]
pub enum Output {
    /// Standard output.
    Stdout,
    /// An existing non-regular file, written in place.
    InPlace(PathBuf),
    /// A regular file (or none yet), replaced once complete.
    Replace {
        /// The name asked for.
        target: PathBuf,
        /// Where it is written first.
        partial: PathBuf,
    },
}

impl Output {
    /// Resolves `path` given with `flag`.
    pub fn resolve(flag: &str, path: &Path) -> Result<Output, CliError> {
        if path.as_os_str() == "-" {
            return Ok(Output::Stdout);
        }
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => Err(CliError::invalid_input(format!("{flag}: {} is a directory", path.display()))),
            Ok(m) if !m.is_file() => {
                if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
                    return Err(CliError::invalid_input(format!("{flag}: {} is a directory", path.display())));
                }
                Ok(Output::InPlace(path.to_path_buf()))
            }
            _ => {
                let Some(name) = path.file_name() else {
                    return Err(CliError::invalid_input(format!("{flag}: {} is not a file name", path.display())));
                };
                let mut partial = OsString::from(".");
                partial.push(name);
                partial.push(".partial");
                Ok(Output::Replace { target: path.to_path_buf(), partial: path.with_file_name(partial) })
            }
        }
    }

    /// Whether the output is standard output (then a command's summary goes to stderr).
    pub fn is_stdout(&self) -> bool {
        matches!(self, Output::Stdout)
    }

    /// The name to show in messages.
    pub fn describe(&self) -> String {
        match self {
            Output::Stdout => "standard output".to_owned(),
            Output::InPlace(p) | Output::Replace { target: p, .. } => p.display().to_string(),
        }
    }

    /// Opens the output for writing.
    pub fn open(&self, flag: &str) -> Result<Writer, CliError> {
        let cannot =
            |p: &Path, e: std::io::Error| CliError::invalid_input(format!("{flag}: cannot write {}: {e}", p.display()));
        Ok(match self {
            Output::Stdout => Writer::Stdout(BufWriter::new(std::io::stdout())),
            Output::InPlace(p) => {
                Writer::File(BufWriter::new(OpenOptions::new().write(true).open(p).map_err(|e| cannot(p, e))?))
            }
            Output::Replace { partial, .. } => {
                Writer::File(BufWriter::new(File::create(partial).map_err(|e| cannot(partial, e))?))
            }
        })
    }

    /// Finishes a complete output: flushes and syncs it and, for a replaced file, moves it into
    /// place.
    pub fn commit(&self, flag: &str, writer: Writer) -> Result<(), CliError> {
        let cannot =
            |e: std::io::Error| CliError::invalid_input(format!("{flag}: cannot write {}: {e}", self.describe()));
        match writer {
            Writer::Stdout(mut w) => w.flush().map_err(cannot)?,
            Writer::File(w) => {
                let file = w.into_inner().map_err(|e| cannot(e.into_error()))?;
                // Devices and pipes may not sync; their bytes are written either way.
                if matches!(self, Output::Replace { .. }) {
                    file.sync_all().map_err(cannot)?;
                }
            }
        }
        self.move_into_place(flag)
    }

    /// For a replaced file whose partial file is complete and synced: moves it into place.
    pub fn move_into_place(&self, flag: &str) -> Result<(), CliError> {
        if let Output::Replace { target, partial } = self {
            std::fs::rename(partial, target)
                .map_err(|e| CliError::invalid_input(format!("{flag}: cannot write {}: {e}", target.display())))?;
        }
        Ok(())
    }

    /// Cleans up after a failure: removes the partial file.
    pub fn abandon(&self) {
        if let Output::Replace { partial, .. } = self {
            let _ = std::fs::remove_file(partial);
        }
    }
}

/// An open output.
#[derive(Debug)]
pub enum Writer {
    /// Standard output.
    Stdout(BufWriter<std::io::Stdout>),
    /// A file.
    File(BufWriter<File>),
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Writer::Stdout(w) => w.write(buf),
            Writer::File(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Writer::Stdout(w) => w.flush(),
            Writer::File(w) => w.flush(),
        }
    }
}
