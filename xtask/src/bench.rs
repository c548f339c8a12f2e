//! `cargo xtask bench <name>`: the benchmarks, by name. Add a row to [`BENCHES`] for a new one.

use crate::process::{Failure, Step};

/// One benchmark target that `cargo xtask bench` knows by name.
#[derive(Debug)]
pub struct Bench {
    pub name: &'static str,
    pub package: &'static str,
    /// The `[[bench]]` target in that package.
    pub target: &'static str,
    pub about: &'static str,
}

pub const BENCHES: &[Bench] = &[
    Bench {
        name: "store",
        package: "memory-store-sqlite",
        target: "store",
        about: "the embedded SQLite store end to end (100k memories in 100 namespaces)",
    },
    Bench {
        name: "policy",
        package: "memory-policy",
        target: "policy",
        about: "the scope resolver: time per plan with 1,000 policies and 100 teams",
    },
    Bench {
        name: "index",
        package: "memory-index",
        target: "index",
        about: "tantivy + per-namespace vectors: build, recall latency, recall@10, RSS, reopen (100k and 1M memories)",
    },
    Bench {
        name: "engine",
        package: "memory-engine",
        target: "engine",
        about: "the Engine end to end on SQLite + on-disk index: remember_batch throughput, recall latency (100k memories)",
    },
];

/// Runs `cargo bench --package P --bench T ARGS...` for the bench named first in `args`.
pub fn run(args: &[String]) -> Result<(), Failure> {
    let known = || BENCHES.iter().map(|b| b.name).collect::<Vec<_>>().join(", ");
    let Some((name, rest)) = args.split_first() else {
        return Err(Failure::usage(format!("`bench` needs a benchmark name: one of {}", known())));
    };
    let Some(bench) = BENCHES.iter().find(|b| b.name == name) else {
        return Err(Failure::usage(format!("unknown benchmark `{name}`; known: {}", known())));
    };
    Step::cargo(["bench", "--package", bench.package, "--bench", bench.target]).args(rest).run()
}
