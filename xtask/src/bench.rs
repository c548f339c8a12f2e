//! `cargo xtask bench <name> [--backend sqlite|postgres] [ARGS...]`: the benchmarks, by name.
//! Add a row to [`BENCHES`] for a new one.
//!
//! `--backend` (default `sqlite`) picks the store of the benches that have more than one
//! (`store`, `engine`; see [`How::Cargo`]). xtask passes the choice to the bench binary as
//! `MEMORY_BENCH_BACKEND`. On `postgres`, the bench reads the server's URL from
//! `MEMORY_BENCH_PG_URL`, else `MEMORY_TEST_PG_URL`, and works in a schema of its own, dropped
//! when it ends.

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
        /// How it runs with `--backend postgres`; `None`: the bench has the SQLite store only.
        postgres: Option<Target>,
    },
    /// xtask runs it itself with ARGS (it needs a second process, e.g. a server under load).
    Xtask(fn(&[String]) -> Result<(), Failure>),
}

/// A `[[bench]]` target and the cargo features it needs.
#[derive(Debug)]
pub struct Target {
    pub package: &'static str,
    pub target: &'static str,
    pub features: &'static [&'static str],
}

/// The environment variable that tells a bench binary which store to run on.
pub const BACKEND_VAR: &str = "MEMORY_BENCH_BACKEND";
/// Where PostgreSQL benches find the server: the first of these that is set.
pub const PG_URL_VARS: [&str; 2] = ["MEMORY_BENCH_PG_URL", "MEMORY_TEST_PG_URL"];

pub const BENCHES: &[Bench] = &[
    Bench {
        name: "store",
        how: How::Cargo {
            package: "memory-store-sqlite",
            target: "store",
            postgres: Some(Target { package: "memory-store-postgres", target: "store", features: &[] }),
        },
        about: "a store end to end: batched inserts, gets (100k memories in 100 namespaces; --backend postgres: memory-store-postgres)",
    },
    Bench {
        name: "policy",
        how: How::Cargo { package: "memory-policy", target: "policy", postgres: None },
        about: "the scope resolver: time per plan with 1,000 policies and 100 teams",
    },
    Bench {
        name: "index",
        how: How::Cargo { package: "memory-index", target: "index", postgres: None },
        about: "tantivy + per-namespace vectors: build, recall latency, recall@10, RSS, reopen (100k and 1M memories)",
    },
    Bench {
        name: "engine",
        how: How::Cargo {
            package: "memory-engine",
            target: "engine",
            postgres: Some(Target { package: "memory-engine", target: "engine", features: &["postgres"] }),
        },
        about: "the Engine end to end on SQLite (or --backend postgres) + on-disk index: remember_batch throughput, recall latency (100k memories)",
    },
    Bench {
        name: "consolidate",
        how: How::Cargo { package: "memory-engine", target: "consolidate", postgres: None },
        about: "Engine::consolidate with the rule extractor: episodes/s end to end and extractor alone (20k episodes); one maintenance cycle over 1,000 namespaces",
    },
    Bench {
        name: "server",
        how: How::Xtask(crate::bench_server::run),
        about: "`memory serve` under HTTP load from a second process: recall and remember req/s, p50/p99 (64 connections, 100k memories; ARGS: --no-build)",
    },
];

/// The store a bench runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn parse(value: &str) -> Result<Backend, Failure> {
        match value {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            other => Err(Failure::usage(format!(
                "unknown backend `{other}`; use `--backend sqlite` or `--backend postgres`"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Takes `--backend B` / `--backend=B` out of the arguments before a `--` (those after it
/// belong to the bench binary); `None` when it is not given.
fn take_backend(args: &[String]) -> Result<(Option<Backend>, Vec<String>), Failure> {
    let mut backend = None;
    let mut rest = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let value = if arg == "--" {
            rest.push(arg.clone());
            rest.extend(it.by_ref().cloned());
            break;
        } else if arg == "--backend" {
            it.next().ok_or_else(|| Failure::usage("`--backend` needs a value: sqlite or postgres"))?.as_str()
        } else if let Some(value) = arg.strip_prefix("--backend=") {
            value
        } else {
            rest.push(arg.clone());
            continue;
        };
        if backend.replace(Backend::parse(value)?).is_some() {
            return Err(Failure::usage("`--backend` is given twice"));
        }
    }
    Ok((backend, rest))
}

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
    match &bench.how {
        How::Cargo { package, target, postgres } => {
            let (backend, rest) = take_backend(rest)?;
            let backend = backend.unwrap_or(Backend::Sqlite);
            let (package, target, features) = match (backend, postgres) {
                (Backend::Sqlite, _) => (*package, *target, &[][..]),
                (Backend::Postgres, Some(pg)) => {
                    if !PG_URL_VARS.iter().any(|v| std::env::var_os(v).is_some_and(|u| !u.is_empty())) {
                        return Err(Failure::usage(format!(
                            "`--backend postgres` needs a server: set {} (or {}), e.g. \
                             {}=postgres://postgres@127.0.0.1:5432/test",
                            PG_URL_VARS[0], PG_URL_VARS[1], PG_URL_VARS[0]
                        )));
                    }
                    (pg.package, pg.target, pg.features)
                }
                (Backend::Postgres, None) => {
                    let with: Vec<&str> = BENCHES
                        .iter()
                        .filter(|b| matches!(b.how, How::Cargo { postgres: Some(_), .. }))
                        .map(|b| b.name)
                        .collect();
                    return Err(Failure::usage(format!(
                        "benchmark `{name}` has no `--backend postgres`; these do: {}",
                        with.join(", ")
                    )));
                }
            };
            let mut step = Step::cargo(["bench", "--package", package, "--bench", target]);
            if !features.is_empty() {
                step = step.args(["--features", &features.join(",")]);
            }
            step.env(BACKEND_VAR, backend.name()).args(rest).run()
        }
        How::Xtask(run) => {
            if take_backend(rest)?.0.is_some() {
                return Err(Failure::usage(format!("benchmark `{name}` takes no `--backend`")));
            }
            run(rest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn backend_is_taken_out_of_the_cargo_args() {
        let (b, rest) = take_backend(&strings(&["--backend", "postgres", "--", "--x"])).unwrap();
        assert_eq!(b, Some(Backend::Postgres));
        assert_eq!(rest, strings(&["--", "--x"]));
        let (b, rest) = take_backend(&strings(&["--backend=sqlite"])).unwrap();
        assert_eq!(b, Some(Backend::Sqlite));
        assert!(rest.is_empty());
        // After `--` it belongs to the bench binary.
        let (b, rest) = take_backend(&strings(&["--", "--backend", "postgres"])).unwrap();
        assert_eq!(b, None);
        assert_eq!(rest.len(), 3);
        assert!(take_backend(&strings(&["--backend"])).is_err());
        assert!(take_backend(&strings(&["--backend", "mysql"])).is_err());
        assert!(take_backend(&strings(&["--backend=sqlite", "--backend=postgres"])).is_err());
    }
}
