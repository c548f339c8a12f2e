//! End-to-end tests of the `memory` binary: each runs the real executable on files written to
//! a fresh temporary directory (or a fresh memory home) and checks its exit code, stdout and
//! stderr.

mod check;
mod cli;
mod configs;
mod consolidation;
mod eval;
mod homes;
mod memories;
mod namespaces;
mod policy_can;
mod policy_plan;
mod policy_promote;
mod postgres;
mod safety;
mod seeds;
mod serve;
mod transfer;

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
    memory_with_env(args, &[])
}

/// Runs `memory` with `args` and these environment variables set (`Some`) or removed (`None`).
/// The variables that choose a home or a principal are always removed first, so a developer's
/// own setup never leaks into a test.
fn memory_with_env<S: AsRef<str>>(args: &[S], env: &[(&str, Option<&str>)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memory"));
    command.args(args.iter().map(AsRef::as_ref)).env_remove("MEMORY_HOME").env_remove("MEMORY_PRINCIPAL");
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let output = command.output().expect("run the memory binary");
    Run {
        // A signal (no code) shows up as -1, which no assertion expects.
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A fresh memory home in a temporary directory. Every run uses the hash embedder, so no
/// model files are needed.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    /// An empty home with the default configuration.
    fn new() -> Self {
        Home { dir: tempfile::tempdir().expect("create a temporary directory") }
    }

    /// A home whose `memory.toml` is `config`.
    fn with_config(config: &str) -> Self {
        let home = Home::new();
        std::fs::write(home.dir.path().join("memory.toml"), config).expect("write memory.toml");
        home
    }

    fn path(&self) -> String {
        arg(self.dir.path())
    }

    /// Runs `memory --home <home> --embedder hash --principal <principal> <args>`.
    fn run(&self, principal: &str, args: &[&str]) -> Run {
        let home = self.path();
        let mut all = vec!["--home", home.as_str(), "--embedder", "hash", "--principal", principal];
        all.extend_from_slice(args);
        memory(&all)
    }

    /// Remembers `text` as `principal` with `extra` flags and returns the new memory's id.
    fn remember(&self, principal: &str, text: &str, extra: &[&str]) -> String {
        let mut args = vec!["remember", text, "--json"];
        args.extend_from_slice(extra);
        let json = self.run(principal, &args).expect_code(0).json();
        json["id"].as_str().unwrap_or_else(|| panic!("no id: {json}")).to_owned()
    }

    /// The contents of `recall <query> <extra> --json` as `principal`, in order.
    fn recall(&self, principal: &str, query: &str, extra: &[&str]) -> Vec<String> {
        let mut args = vec!["recall", query, "--json"];
        args.extend_from_slice(extra);
        let json = self.run(principal, &args).expect_code(0).json();
        contents(&json)
    }
}

/// The memory contents of a recall's JSON, in order.
fn contents(recall: &Value) -> Vec<String> {
    recall["results"]
        .as_array()
        .unwrap_or_else(|| panic!("not a recall: {recall}"))
        .iter()
        .map(|r| r["memory"]["content"].as_str().unwrap().to_owned())
        .collect()
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
