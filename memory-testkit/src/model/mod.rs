//! The model-based test: a seeded random sequence of operations is applied to the store under
//! test and to a fresh [`InMemoryStore`], and every reply is compared (`Ok` values equal,
//! errors by [`ErrorKind`](memory_core::ErrorKind) only). Every so often the whole state of
//! both tenants is compared too.
//!
//! Backend-specific details the contract leaves open are normalized away: `seq` values (their
//! order is compared through the change feed instead) and cursor strings (each store follows
//! its own). A divergence panics with the seed, the iteration, the operation and both replies,
//! so `MEMORY_MODEL_SEED` and `MEMORY_MODEL_ITERATIONS` replay it.

mod generator;
mod op;

use std::collections::BTreeMap;
use std::env::VarError;
use std::fmt::Debug;

use memory_core::{
    AuditFilter, InMemoryStore, MAX_PAGE_LIMIT, MemoryFilter, NamespaceFilter, NamespaceStatus, ProposalFilter, Store,
};

use generator::Generator;
use op::{ChangePoint, Failure, Op, Reply};

/// Iterations when `MEMORY_MODEL_ITERATIONS` is not set.
pub const DEFAULT_ITERATIONS: usize = 1000;
/// Seed when `MEMORY_MODEL_SEED` is not set.
pub const DEFAULT_SEED: u64 = 0x6d65_6d6f_7279;
/// Operations between two full-state comparisons.
const FULL_COMPARISON_EVERY: usize = 64;

/// The iteration count from `MEMORY_MODEL_ITERATIONS` ([`DEFAULT_ITERATIONS`] when unset or
/// empty). Panics with a clear message when it is not a whole number.
pub fn iterations_from_env() -> usize {
    parse_env("MEMORY_MODEL_ITERATIONS", std::env::var("MEMORY_MODEL_ITERATIONS"), DEFAULT_ITERATIONS)
}

/// The seed from `MEMORY_MODEL_SEED` ([`DEFAULT_SEED`] when unset or empty). Panics with a
/// clear message when it is not a whole number.
pub fn seed_from_env() -> u64 {
    parse_env("MEMORY_MODEL_SEED", std::env::var("MEMORY_MODEL_SEED"), DEFAULT_SEED)
}

fn parse_env<T: std::str::FromStr>(name: &str, value: Result<String, VarError>, default: T) -> T {
    match value {
        Err(VarError::NotPresent) => default,
        Ok(text) if text.trim().is_empty() => default,
        Ok(text) => text
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a non-negative whole number such as 20000, but it is {text:?}")),
        Err(VarError::NotUnicode(text)) => panic!("{name} must be a non-negative whole number, but it is {text:?}"),
    }
}

/// Applies `iterations` random operations drawn from `seed` to `store` and to a fresh
/// [`InMemoryStore`], panicking at the first divergence. `store` must start empty.
pub async fn run(store: &dyn Store, iterations: usize, seed: u64) {
    eprintln!(
        "model test: {iterations} iterations from seed {seed} \
         (replay with MEMORY_MODEL_SEED={seed} MEMORY_MODEL_ITERATIONS={iterations})"
    );
    let oracle = InMemoryStore::new();
    let mut generator = Generator::new(seed);
    // Per operation: how often the reference answered Ok and Err, to show what was covered.
    let mut tally: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for iteration in 0..iterations {
        let op = generator.next(&oracle).await;
        let actual = op.apply(store).await;
        let expected = op.apply(&oracle).await;
        compare(seed, iteration, &op, &actual, &expected);
        let counts = tally.entry(op.name()).or_default();
        if expected.is_ok() {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
        if (iteration + 1) % FULL_COMPARISON_EVERY == 0 || iteration + 1 == iterations {
            for op in full_state(&generator) {
                compare(seed, iteration, &op, &op.apply(store).await, &op.apply(&oracle).await);
            }
        }
    }
    let summary: Vec<String> = tally.iter().map(|(name, (ok, err))| format!("{name} {ok}/{err}")).collect();
    eprintln!("model test passed; operations (ok/err): {}", summary.join(", "));
}

/// Reads that together cover the whole state of both tenants.
fn full_state(generator: &Generator) -> Vec<Op> {
    let mut ops = Vec::new();
    for tenant in generator.tenants() {
        let tenant = tenant.clone();
        for status in [None, Some(NamespaceStatus::Deleted)] {
            let mut filter = NamespaceFilter::default();
            filter.status = status;
            ops.push(Op::ListNamespaces { tenant: tenant.clone(), filter });
        }
        let all = MemoryFilter::all();
        ops.push(Op::ListMemories { tenant: tenant.clone(), filter: all.clone(), limit: MAX_PAGE_LIMIT });
        ops.push(Op::CountMemories { tenant: tenant.clone(), filter: all });
        ops.push(Op::ChangesSince { tenant: tenant.clone(), after: ChangePoint::Start, limit: MAX_PAGE_LIMIT });
        ops.push(Op::ListApiKeys { tenant: tenant.clone() });
        ops.push(Op::ListAudit { tenant: tenant.clone(), filter: AuditFilter::default(), limit: MAX_PAGE_LIMIT });
        ops.push(Op::ListProposals { tenant, filter: ProposalFilter::default(), limit: MAX_PAGE_LIMIT });
    }
    ops.extend(generator.hashes().into_iter().map(Op::FindApiKey));
    ops
}

fn compare(seed: u64, iteration: usize, op: &Op, actual: &Reply, expected: &Reply) {
    let violation = [actual, expected].into_iter().find_map(|r| match r {
        Err(Failure::Violation(v)) => Some(v),
        _ => None,
    });
    if actual == expected && violation.is_none() {
        return;
    }
    let replay = format!("MEMORY_MODEL_SEED={seed} MEMORY_MODEL_ITERATIONS={}", iteration + 1);
    let what = match violation {
        Some(v) if matches!(expected, Err(Failure::Violation(_))) => format!("the reference broke the contract: {v}"),
        Some(v) => format!("the store under test broke the contract: {v}"),
        None => "the store under test disagrees with the reference".to_owned(),
    };
    panic!(
        "model test failed at iteration {iteration} (seed {seed}): {what}\nreplay with {replay}\n\
         operation: {op:#?}\n{}",
        difference(actual, expected)
    );
}

/// Both replies, or, when they are long, the region where they first differ.
fn difference(actual: &impl Debug, expected: &impl Debug) -> String {
    const CONTEXT: usize = 12;
    let (a, b) = (format!("{actual:#?}"), format!("{expected:#?}"));
    let (a_lines, b_lines): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    if a_lines.len() + b_lines.len() <= 200 {
        return format!("store under test: {a}\nreference:        {b}");
    }
    let first = a_lines.iter().zip(&b_lines).position(|(x, y)| x != y).unwrap_or(a_lines.len().min(b_lines.len()));
    let window = |lines: &[&str]| {
        let start = first.saturating_sub(CONTEXT);
        let end = (first + CONTEXT).min(lines.len());
        lines[start.min(end)..end].join("\n")
    };
    format!(
        "replies differ from line {first} ({} lines vs {} lines); around it:\n\
         --- store under test ---\n{}\n--- reference ---\n{}",
        a_lines.len(),
        b_lines.len(),
        window(&a_lines),
        window(&b_lines)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_parse_or_panic_clearly() {
        assert_eq!(parse_env("X", Err(VarError::NotPresent), 7usize), 7);
        assert_eq!(parse_env("X", Ok(" ".to_owned()), 7usize), 7);
        assert_eq!(parse_env("X", Ok(" 20000 ".to_owned()), 7usize), 20000);
        let panic = std::panic::catch_unwind(|| parse_env("MEMORY_MODEL_ITERATIONS", Ok("lots".to_owned()), 7usize))
            .expect_err("an invalid value panics");
        let message = panic.downcast_ref::<String>().expect("a formatted message");
        assert!(message.contains("MEMORY_MODEL_ITERATIONS") && message.contains("\"lots\""), "{message}");
    }
}
