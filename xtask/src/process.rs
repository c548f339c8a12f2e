//! Running cargo and other programs: each command is printed before it runs, and a failing
//! command's exit code becomes xtask's exit code.

use std::ffi::OsString;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

/// Where local and CI Postgres listens (see README "Requirements").
const PG_ADDR: &str = "127.0.0.1:5432";
/// The URL Postgres-backed tests read from `MEMORY_TEST_PG_URL`.
const PG_TEST_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Why xtask stopped, and which exit code it should report.
#[derive(Debug)]
pub struct Failure {
    message: String,
    exit_code: u8,
}

impl Failure {
    /// The command line was wrong; exit code 2 like most CLIs.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure { message: format!("{}\nrun `cargo xtask help` for usage", message.into()), exit_code: 2 }
    }

    /// A check found problems (already printed); exit code 1.
    pub fn check(message: impl Into<String>) -> Self {
        Failure { message: message.into(), exit_code: 1 }
    }

    /// Names the `cargo xtask ci` step that failed.
    pub fn in_step(self, step: &str) -> Self {
        Failure { message: format!("step `{step}` failed: {}", self.message), ..self }
    }

    /// Prints the message and turns the failure into the process exit code.
    pub fn report(self) -> ExitCode {
        eprintln!("error: {}", self.message);
        ExitCode::from(self.exit_code)
    }
}

/// One external command, run from the workspace root.
#[derive(Debug)]
pub struct Step {
    command: Command,
}

impl Step {
    /// `cargo ARGS...`, using the cargo that runs xtask.
    pub fn cargo<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut command = Command::new(cargo);
        command.args(args.into_iter().map(Into::into)).current_dir(workspace_root());
        Step { command }
    }

    /// Any other program (`python3`, ...) with `args`, run from the workspace root.
    pub fn program<I, S>(program: &str, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        let mut command = Command::new(program);
        command.args(args.into_iter().map(Into::into)).current_dir(workspace_root());
        Step { command }
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.command.args(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    /// Prints the command, runs it with inherited stdio, and fails with its exit code.
    pub fn run(mut self) -> Result<(), Failure> {
        eprintln!("$ {}", self.display());
        let status =
            self.command.status().map_err(|e| Failure::check(format!("could not start `{}`: {e}", self.display())))?;
        if status.success() {
            return Ok(());
        }
        let code = status.code().and_then(|c| u8::try_from(c).ok()).filter(|&c| c != 0).unwrap_or(1);
        Err(Failure { message: format!("`{}` failed ({status})", self.display()), exit_code: code })
    }

    /// Runs the command quietly and returns its stdout.
    pub fn output(mut self) -> Result<String, Failure> {
        eprintln!("$ {}", self.display());
        let out =
            self.command.output().map_err(|e| Failure::check(format!("could not start `{}`: {e}", self.display())))?;
        if !out.status.success() {
            eprint!("{}", String::from_utf8_lossy(&out.stderr));
            return Err(Failure::check(format!("`{}` failed ({})", self.display(), out.status)));
        }
        String::from_utf8(out.stdout)
            .map_err(|e| Failure::check(format!("`{}` printed non-UTF-8: {e}", self.display())))
    }

    fn display(&self) -> String {
        let envs: Vec<String> = self
            .command
            .get_envs()
            .filter_map(|(k, v)| Some(format!("{}={}", k.to_string_lossy(), v?.to_string_lossy())))
            .collect();
        let program = match self.command.get_program().to_string_lossy() {
            // Show `cargo`, not the absolute path of the toolchain's cargo binary.
            p if p.ends_with("cargo") || p.ends_with("cargo.exe") => "cargo".to_owned(),
            p => p.into_owned(),
        };
        let args = self.command.get_args().map(|a| a.to_string_lossy().into_owned());
        envs.into_iter().chain([program]).chain(args).collect::<Vec<_>>().join(" ")
    }
}

/// The directory holding the workspace `Cargo.toml` (xtask's parent).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().map(PathBuf::from).unwrap_or(manifest_dir)
}

/// `cargo test --workspace ARGS...`, with Postgres tests switched on when Postgres is there.
pub fn run_tests(extra: &[String]) -> Result<(), Failure> {
    let mut step = Step::cargo(["test", "--workspace"]).args(extra);
    if let Some(url) = postgres_test_url() {
        step = step.env("MEMORY_TEST_PG_URL", &url);
    }
    step.run()
}

/// The URL to set for Postgres tests: none when the caller set one (the tests inherit it),
/// else the local one when it answers, and always under CI, where a missing Postgres must fail
/// the tests instead of letting them skip.
fn postgres_test_url() -> Option<String> {
    if std::env::var_os("MEMORY_TEST_PG_URL").is_some_and(|u| !u.is_empty()) {
        return None;
    }
    if is_ci() || postgres_answers() {
        return Some(PG_TEST_URL.to_owned());
    }
    eprintln!("note: no PostgreSQL on {PG_ADDR} and MEMORY_TEST_PG_URL is unset; Postgres tests will skip");
    None
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

fn postgres_answers() -> bool {
    let addr: SocketAddr = PG_ADDR.parse().expect("PG_ADDR is a socket address");
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}
