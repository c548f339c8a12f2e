//! End-to-end tests of the `memory` binary: each runs the real executable on files written to
//! a fresh temporary directory and checks its exit code, stdout and stderr.

mod check;
mod cli;
mod configs;
mod eval;
mod policy_can;
mod policy_plan;
mod policy_promote;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// A temporary directory holding the files one test needs.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        Fixture { dir: tempfile::tempdir().expect("create a temporary directory") }
    }

    /// Writes `text` to `name` inside the fixture and returns its path as a string argument.
    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write a fixture file");
        arg(&path)
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

fn arg(path: &Path) -> String {
    path.to_str().expect("temporary paths are UTF-8").to_owned()
}

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Stdout parsed as JSON; fails the test with the whole run when it is not.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// Asserts the exit code, showing the whole run when it differs.
    fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "unexpected exit code: {self:#?}");
        assert!(!self.stderr.contains("panicked"), "the binary panicked: {self:#?}");
        self
    }
}

/// Runs `memory` with `args`.
fn memory<S: AsRef<str>>(args: &[S]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_memory"))
        .args(args.iter().map(AsRef::as_ref))
        .output()
        .expect("run the memory binary");
    Run {
        // A signal (no code) shows up as -1, which no assertion expects.
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// The keys of a JSON object, sorted, for shape assertions.
fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> =
        value.as_object().unwrap_or_else(|| panic!("not an object: {value}")).keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// The strings of a JSON array.
fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap_or_else(|| panic!("not an array: {value}")).iter().map(|v| v.as_str().unwrap()).collect()
}

/// `{projectHash}` of seeds/002: 8 lowercase hex digits of the 32-bit FNV-1a of the project id,
/// computed here independently so the tests pin the rendered names, not just their shape.
fn project_hash(project_id: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in project_id.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    format!("{hash:08x}")
}
