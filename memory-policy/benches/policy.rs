//! `cargo xtask bench policy`: time per `Policy::plan` on a seeded synthetic configuration of
//! 1,000 namespace policies and 100 teams (target: under 5 us per plan).
//!
//! Sizes come from the environment: `MEMORY_BENCH_PLANS` (100000 per scenario),
//! `MEMORY_BENCH_POLICIES` (1000), `MEMORY_BENCH_TEAMS` (100), `MEMORY_BENCH_SEED` (42),
//! `MEMORY_BENCH_INCLUDE_PERCENT` (2: policies included in recall by default, each a layer row
//! of every plan); and
//! `MEMORY_BENCH_ONLY` runs only the scenarios whose name contains it (for profiling).

use std::hint::black_box;
use std::time::{Duration, Instant};

use memory_core::{KeyScope, NamespaceKey, Permission, Principal};
use memory_policy::{
    Caller, ConfiguredCatalog, DEFAULT_TEAM_PROJECT_TEMPLATE, KeyGrant, NamespacePolicy, PlanRequest, Policy,
    PolicyConfig, PrincipalRef, ProjectContext, ReadRequest, ScopeLayer, ScopeProfile, Team,
};

/// SplitMix64: a tiny seeded generator, so inputs are the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a positive integer")),
        Err(_) => default,
    }
}

struct Sizes {
    plans: usize,
    policies: usize,
    teams: usize,
    include_percent: u64,
    seed: u64,
}

/// Principals: mostly plain agent names, some that are no valid key (hashed self namespaces
/// under a profile), some that have a policy named after them (self namespaces without one).
fn principals(count: usize) -> Vec<Principal> {
    (0..count)
        .map(|i| {
            let name = match i % 10 {
                0 => format!("user/{i}"),
                1 => format!("ns-{:04}", i % 1000),
                _ => format!("agent-{i}"),
            };
            Principal::new(name).expect("valid principal")
        })
        .collect()
}

struct World {
    plain: Policy,
    profiled: Policy,
    principals: Vec<Principal>,
    members: Vec<Principal>,
    open_namespaces: Vec<String>,
}

fn world(sizes: &Sizes) -> World {
    let mut rng = Rng(sizes.seed);
    let principals = principals(2000);
    let mut teams = Vec::with_capacity(sizes.teams);
    let mut members = Vec::new();
    for t in 0..sizes.teams {
        let size = 5 + rng.below(25);
        let team: Vec<Principal> = (0..size).map(|_| principals[rng.below(principals.len())].clone()).collect();
        let pick = |rng: &mut Rng, percent| team.iter().filter(|_| rng.chance(percent)).cloned().collect::<Vec<_>>();
        let read = pick(&mut rng, 90);
        let write = pick(&mut rng, 60);
        let promote = pick(&mut rng, 30);
        members.extend(team.iter().cloned());
        teams.push(Team { id: format!("team{t:03}"), principals: team, read, write, promote });
    }
    members.sort();
    members.dedup();
    let mut open_namespaces = vec!["shared".to_owned(), "default".to_owned()];
    let policies: Vec<NamespacePolicy> = (0..sizes.policies)
        .map(|i| {
            let name = format!("ns-{i:04}");
            let refs = |rng: &mut Rng, n: usize| -> Vec<PrincipalRef> {
                (0..n)
                    .map(|_| match rng.below(10) {
                        0 => PrincipalRef::Team(format!("team{:03}", rng.below(sizes.teams.max(1)))),
                        _ => PrincipalRef::Principal(principals[rng.below(principals.len())].clone()),
                    })
                    .filter(|r| sizes.teams > 0 || !matches!(r, PrincipalRef::Team(_)))
                    .collect()
            };
            let n = 1 + rng.below(8);
            let mut read = refs(&mut rng, n);
            if rng.chance(10) {
                read.push(PrincipalRef::Any);
                open_namespaces.push(name.clone());
            }
            let n = rng.below(4);
            let write = refs(&mut rng, n);
            NamespacePolicy {
                namespace: NamespaceKey::new(&name).expect("valid key"),
                read,
                write,
                include_in_recall_by_default: rng.chance(sizes.include_percent),
            }
        })
        .collect();
    let plain = PolicyConfig { policies, teams, ..PolicyConfig::default() };
    let profile = ScopeProfile {
        name: "teamCoding".into(),
        read_order: vec![
            ScopeLayer::UserProject,
            ScopeLayer::TeamProject,
            ScopeLayer::UserGlobal,
            ScopeLayer::ServerShared,
        ],
        write_default: ScopeLayer::UserProject,
        promotion_targets: vec![ScopeLayer::TeamProject, ScopeLayer::ServerShared],
        team_project_template: DEFAULT_TEAM_PROJECT_TEMPLATE.into(),
        auto_promote: None,
    };
    let profiled = PolicyConfig {
        scope_profiles: vec![profile],
        default_scope_profile: Some("teamCoding".into()),
        ..plain.clone()
    };
    World { plain: Policy::new(plain), profiled: Policy::new(profiled), principals, members, open_namespaces }
}

#[derive(Clone, Copy)]
enum Scenario {
    DefaultRead,
    ExplicitThree,
    ProfileWithProject,
    ProfileWithoutProject,
    ScopedKey,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::DefaultRead => "no profile, default read",
            Scenario::ExplicitThree => "no profile, explicit list of 3",
            Scenario::ProfileWithProject => "profile, project (+branch)",
            Scenario::ProfileWithoutProject => "profile, no project",
            Scenario::ScopedKey => "no profile, scoped API key",
        }
    }
}

fn requests(w: &World, scenario: Scenario, n: usize, rng: &mut Rng) -> Vec<PlanRequest> {
    (0..n)
        .map(|_| {
            let who = |rng: &mut Rng, from: &[Principal]| Caller::principal(from[rng.below(from.len())].clone());
            match scenario {
                Scenario::DefaultRead => PlanRequest { caller: who(rng, &w.principals), ..PlanRequest::default() },
                Scenario::ExplicitThree => PlanRequest {
                    caller: who(rng, &w.principals),
                    read: ReadRequest::Explicit(
                        (0..3).map(|_| w.open_namespaces[rng.below(w.open_namespaces.len())].clone()).collect(),
                    ),
                    ..PlanRequest::default()
                },
                Scenario::ProfileWithProject => PlanRequest {
                    caller: who(rng, &w.members),
                    project: Some(ProjectContext {
                        project_id: format!("git@example.com:org/repo-{}.git", rng.below(50)),
                        branch: rng.chance(30).then(|| format!("feature-{}", rng.below(20))),
                    }),
                    ..PlanRequest::default()
                },
                Scenario::ProfileWithoutProject => {
                    PlanRequest { caller: who(rng, &w.members), ..PlanRequest::default() }
                }
                Scenario::ScopedKey => {
                    let principal = w.principals[rng.below(w.principals.len())].clone();
                    let scopes = (0..1 + rng.below(4))
                        .map(|_| KeyScope {
                            namespace: NamespaceKey::new(format!("ns-{:04}", rng.below(1000))).expect("valid"),
                            permission: if rng.chance(50) { Permission::ReadWrite } else { Permission::Read },
                        })
                        .collect::<Vec<_>>();
                    let default_namespace = scopes.first().map(|s| s.namespace.clone());
                    let key = KeyGrant { key_id: None, principal, scopes, default_namespace, admin: false };
                    PlanRequest { caller: Caller { api_key: Some(key), ..Caller::default() }, ..PlanRequest::default() }
                }
            }
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn run(w: &World, scenario: Scenario, sizes: &Sizes) {
    let policy = match scenario {
        Scenario::ProfileWithProject | Scenario::ProfileWithoutProject => &w.profiled,
        _ => &w.plain,
    };
    let catalog = ConfiguredCatalog::new(policy);
    let mut rng = Rng(sizes.seed ^ scenario as u64);
    let reqs = requests(w, scenario, sizes.plans, &mut rng);
    // Warm up caches and the allocator on a slice of the same requests.
    for r in reqs.iter().take(1000) {
        black_box(policy.plan(r, &catalog));
    }
    let mut latencies = Vec::with_capacity(reqs.len());
    let (mut reads, mut writes, mut errors) = (0usize, 0usize, 0usize);
    let started = Instant::now();
    for r in &reqs {
        let t = Instant::now();
        let plan = black_box(policy.plan(black_box(r), &catalog));
        latencies.push(t.elapsed());
        reads += plan.read.len();
        writes += usize::from(plan.write.is_some());
        errors += usize::from(plan.error.is_some());
    }
    let total = started.elapsed();
    latencies.sort();
    let mean = latencies.iter().sum::<Duration>() / latencies.len() as u32;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{:<32} p50 {:>6.2} us  p95 {:>6.2} us  p99 {:>6.2} us  mean {:>6.2} us  ({:>8.0} plans/s; {:.1} reads, {:>3.0}% write, {:>3.0}% error)",
        scenario.name(),
        us(percentile(&latencies, 0.50)),
        us(percentile(&latencies, 0.95)),
        us(percentile(&latencies, 0.99)),
        us(mean),
        reqs.len() as f64 / total.as_secs_f64(),
        reads as f64 / reqs.len() as f64,
        100.0 * writes as f64 / reqs.len() as f64,
        100.0 * errors as f64 / reqs.len() as f64,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; this target takes no arguments of its own.
    let sizes = Sizes {
        plans: env_usize("MEMORY_BENCH_PLANS", 100_000).max(1),
        policies: env_usize("MEMORY_BENCH_POLICIES", 1000),
        teams: env_usize("MEMORY_BENCH_TEAMS", 100),
        include_percent: env_usize("MEMORY_BENCH_INCLUDE_PERCENT", 2) as u64,
        seed: env_usize("MEMORY_BENCH_SEED", 42) as u64,
    };
    let started = Instant::now();
    let w = world(&sizes);
    println!(
        "Scope resolver: {} policies ({}% recalled by default), {} teams ({} members), {} plans per scenario (seed {}); compiled in {:.1} ms",
        sizes.policies,
        sizes.include_percent,
        sizes.teams,
        w.members.len(),
        sizes.plans,
        sizes.seed,
        started.elapsed().as_secs_f64() * 1e3,
    );
    for scenario in [
        Scenario::DefaultRead,
        Scenario::ExplicitThree,
        Scenario::ProfileWithProject,
        Scenario::ProfileWithoutProject,
        Scenario::ScopedKey,
    ] {
        if std::env::var("MEMORY_BENCH_ONLY").is_ok_and(|only| !scenario.name().contains(only.as_str())) {
            continue;
        }
        run(&w, scenario, &sizes);
    }
}
