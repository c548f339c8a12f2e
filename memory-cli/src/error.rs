//! How a command ends: a [`Status`] when it answered, a [`CliError`] when it could not, and
//! the exit code each one means. Scripts rely on these codes, so they live in one place.

use std::fmt;
use std::io;
use std::path::Path;

use memory_policy::Diagnostic;

/// How a command that ran to the end answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Yes: valid, allowed, planned without error. Exit 0.
    Success,
    /// No: denied, the plan refuses the request, or a check found problems. Exit 1.
    Negative,
    /// The input examined is invalid (what `policy check` reports). Exit 2.
    Invalid,
}

impl Status {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::Negative => 1,
            Status::Invalid => 2,
        }
    }
}

/// What kind of failure an error is; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad arguments or an unreadable input file. Exit 2.
    InvalidInput,
    /// The policy file has errors. Exit 2.
    InvalidConfig,
    /// The caller is not allowed to do this. Exit 3.
    Forbidden,
    /// The thing named does not exist. Exit 4.
    NotFound,
    /// Anything else (a conflict with the current state, I/O, an unavailable dependency, a
    /// bug). Exit 1.
    Failed,
}

impl ErrorKind {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Failed => 1,
            ErrorKind::InvalidInput | ErrorKind::InvalidConfig => 2,
            ErrorKind::Forbidden => 3,
            ErrorKind::NotFound => 4,
        }
    }
}

/// A command that could not answer. Printed as `error: <message>` on stderr, preceded by the
/// configuration diagnostics when there are any.
#[derive(Debug)]
pub struct CliError {
    kind: ErrorKind,
    message: String,
    /// Diagnostics of an invalid policy file, printed one per line before the message.
    diagnostics: Vec<Diagnostic>,
    /// Set for a closed stdout (`memory ... | head`): not worth a message.
    broken_pipe: bool,
}

impl CliError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        CliError { kind, message: message.into(), diagnostics: Vec::new(), broken_pipe: false }
    }

    /// Bad arguments or input.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        CliError::new(ErrorKind::InvalidInput, message)
    }

    /// An invalid policy file, with the loader's diagnostics.
    pub fn invalid_config(path: &Path, diagnostics: Vec<Diagnostic>) -> Self {
        let errors = diagnostics.iter().filter(|d| d.severity == memory_policy::Severity::Error).count();
        let message = format!("the policy file {} is invalid ({})", path.display(), plural(errors, "error"));
        CliError { diagnostics, ..CliError::new(ErrorKind::InvalidConfig, message) }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }

    /// Whether stdout was closed under us; the reader left, so nothing is reported.
    pub fn is_broken_pipe(&self) -> bool {
        self.broken_pipe
    }

    /// Writes the diagnostics and the `error:` line.
    pub fn report(&self, err: &mut dyn io::Write) -> io::Result<()> {
        for d in &self.diagnostics {
            writeln!(err, "{d}")?;
        }
        writeln!(err, "error: {}", self.message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<io::Error> for CliError {
    /// Only output failures arrive here; input files give their own error with the path.
    fn from(e: io::Error) -> Self {
        CliError {
            broken_pipe: e.kind() == io::ErrorKind::BrokenPipe,
            ..CliError::new(ErrorKind::Failed, format!("cannot write output: {e}"))
        }
    }
}

impl From<memory_core::Error> for CliError {
    /// Errors from the engine keep their classification, so a command that calls it exits 3
    /// for forbidden and 4 for not found without mapping each call by hand.
    fn from(e: memory_core::Error) -> Self {
        CliError::new(kind_of(e.kind()), e.message())
    }
}

/// The one mapping of the engine's error kinds to the CLI's (and so to exit codes): bad input
/// 2, refused 3, missing 4, everything else (a taken key, a conflicting state, an unavailable
/// disk, a bug) 1.
pub fn kind_of(kind: memory_core::ErrorKind) -> ErrorKind {
    use memory_core::ErrorKind as Core;
    match kind {
        Core::InvalidInput => ErrorKind::InvalidInput,
        Core::Forbidden | Core::Unauthenticated => ErrorKind::Forbidden,
        Core::NotFound => ErrorKind::NotFound,
        Core::AlreadyExists | Core::Conflict | Core::Unavailable | Core::Internal => ErrorKind::Failed,
        // The kinds are non-exhaustive; a new one is a failure until it gets its own code.
        _ => ErrorKind::Failed,
    }
}

/// `1 error`, `2 errors`.
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 { format!("{n} {noun}") } else { format!("{n} {noun}s") }
}
