//! `cargo xtask bench <name>`: the benchmarks, by name. Add a row to [`BENCHES`] for a new one.

use crate::process::{Failure, Step};

/// One benchmark target that `cargo xtask bench` knows by name.
#[derive(Debug)]
pub struct Bench {
    pub name: &'static str,
    pub how: How,
    pub about: &'static str,
}

/// How a benchmark runs.
#[derive(Debug)]
pub enum How {
    /// `cargo bench --package P --bench T ARGS...`.
    Cargo {
        package: &'static str,
        /// The `[[bench]]` target in that package.
        target: &'static str,
    },
    /// xtask runs it itself with ARGS (it needs a second process, e.g. a server under load).
    Xtask(fn(&[String]) -> Result<(), Failure>),
}

pub const BENCHES: &[Bench] = &[
    Bench {
        name: "store",
        how: How::Cargo { package: "memory-store-sqlite", target: "store" },
        about: "the embedded SQLite store end to end (100k memories in 100 namespaces)",
    },
    Bench {
        name: "policy",
        how: How::Cargo { package: "memory-policy", target: "policy" },
        about: "the scope resolver: time per plan with 1,000 policies and 100 teams",
    },
    Bench {
        name: "index",
        how: How::Cargo { package: "memory-index", target: "index" },
        about: "tantivy + per-namespace vectors: build, recall latency, recall@10, RSS, reopen (100k and 1M memories)",
    },
    Bench {
        name: "engine",
        how: How::Cargo { package: "memory-engine", target: "engine" },
        about: "the Engine end to end on SQLite + on-disk index: remember_batch throughput, recall latency (100k memories)",
    },
    Bench {
        name: "consolidate",
        how: How::Cargo { package: "memory-engine", target: "consolidate" },
        about: "Engine::consolidate with the rule extractor: episodes/s end to end and extractor alone (20k episodes); one maintenance cycle over 1,000 namespaces",
    },
    Bench {
        name: "server",
        how: How::Xtask(crate::bench_server::run),
        about: "`memory serve` under HTTP load from a second process: recall and remember req/s, p50/p99 (64 connections, 100k memories; ARGS: --no-build)",
    },
];

/// Runs the bench named first in `args` with the rest of `args`: `cargo bench --package P
/// --bench T ARGS...`, or xtask's own runner.
pub fn run(args: &[String]) -> Result<(), Failure> {
    let known = || BENCHES.iter().map(|b| b.name).collect::<Vec<_>>().join(", ");
    let Some((name, rest)) = args.split_first() else {
        return Err(Failure::usage(format!("`bench` needs a benchmark name: one of {}", known())));
    };
    let Some(bench) = BENCHES.iter().find(|b| b.name == name) else {
        return Err(Failure::usage(format!("unknown benchmark `{name}`; known: {}", known())));
    };
    match bench.how {
        How::Cargo { package, target } => {
            Step::cargo(["bench", "--package", package, "--bench", target]).args(rest).run()
        }
        How::Xtask(run) => run(rest),
    }
}
