//! Hostile inputs for the resolver (the loader has its own): huge configurations, huge session
//! keys, control characters in a trusted header, and backtracking-shaped regexes against long
//! keys. Each must give a clean answer in bounded (linear) time. Time bounds are generous for
//! debug builds on a loaded machine; they catch quadratic behaviour, not slowness.

use std::time::{Duration, Instant};

use memory_core::NamespaceKey;
use memory_policy::{
    Caller, ConfiguredCatalog, NamespacePolicy, PlanErrorCode, PlanRequest, Policy, PolicyConfig, PrincipalRef,
    PrincipalSource, ReadRequest, SessionKeyMode, SessionKeyRule, Team,
};

use crate::support::{TestCatalog, key, principal};

fn timed<T>(what: &str, limit: Duration, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    eprintln!("{what}: {took:?}");
    assert!(took < limit, "{what} took {took:?}, more than {limit:?}");
    out
}

fn as_principal(p: &str) -> PlanRequest {
    PlanRequest { caller: Caller::principal(principal(p)), ..PlanRequest::default() }
}

#[test]
fn a_hundred_thousand_policies_compile_and_plan_in_bounded_time() {
    const N: usize = 100_000;
    let policies = (0..N)
        .map(|i| NamespacePolicy {
            namespace: key(&format!("ns-{i:06}")),
            read: match i % 3 {
                0 => vec![PrincipalRef::Any],
                1 => vec![PrincipalRef::Principal(principal(&format!("agent-{}", i % 1000)))],
                _ => vec![PrincipalRef::Team("crowd".into())],
            },
            write: vec![PrincipalRef::Principal(principal(&format!("agent-{}", i % 1000)))],
            // Half of them are recalled by default: the worst case for de-duplication.
            include_in_recall_by_default: i % 2 == 0,
        })
        .collect();
    let teams = vec![Team {
        id: "crowd".into(),
        principals: (0..1000).map(|i| principal(&format!("agent-{i}"))).collect(),
        read: Vec::new(),
        write: Vec::new(),
        promote: Vec::new(),
    }];
    let config = PolicyConfig { policies, teams, ..PolicyConfig::default() };
    let policy = timed("compiling", Duration::from_secs(10), || Policy::new(config));
    let catalog = ConfiguredCatalog::new(&policy);
    let plan = timed("a default plan", Duration::from_secs(10), || policy.plan(&as_principal("agent-7"), &catalog));
    assert!(plan.error.is_none());
    // shared, default (self), then every included policy agent-7 can read.
    assert!(plan.read.len() > N / 3, "{}", plan.read.len());
    let request = PlanRequest { read: ReadRequest::All, ..as_principal("agent-7") };
    let plan = timed("a `*` plan", Duration::from_secs(10), || policy.plan(&request, &catalog));
    assert!(plan.error.is_none());
    assert!(plan.read.len() > 2 * N / 3, "{}", plan.read.len());
    let request = PlanRequest {
        read: ReadRequest::Explicit(vec!["ns-099999".into(), "ns-000000".into()]),
        ..as_principal("agent-7")
    };
    let plan = timed("an explicit plan", Duration::from_secs(10), || policy.plan(&request, &catalog));
    assert!(plan.error.is_none(), "{:?}", plan.error);
}

fn rules(rules: &[(SessionKeyMode, &str, &str)]) -> Policy {
    let session_key_rules = rules
        .iter()
        .map(|(mode, pattern, principal)| SessionKeyRule {
            mode: *mode,
            pattern: (*pattern).to_owned(),
            principal: (*principal).to_owned(),
        })
        .collect();
    Policy::new(PolicyConfig { session_key_rules, ..PolicyConfig::default() })
}

fn by_session(policy: &Policy, session_key: String) -> memory_policy::ScopePlan {
    let request =
        PlanRequest { caller: Caller { session_key: Some(session_key), ..Caller::default() }, ..Default::default() };
    policy.plan(&request, &TestCatalog::configured(policy))
}

#[test]
fn a_one_megabyte_session_key_matches_no_rule_quickly() {
    let policy = rules(&[(SessionKeyMode::Prefix, "a", "prefixed"), (SessionKeyMode::Regex, "^(a+)+$", "regexed")]);
    let plan = timed("a 1 MB session key", Duration::from_secs(2), || by_session(&policy, "a".repeat(1 << 20)));
    assert_eq!(plan.principal_source, PrincipalSource::Unauthenticated);
    assert_eq!(plan.error.as_ref().map(|e| e.code), Some(PlanErrorCode::Unauthenticated));
    assert!(plan.warnings.iter().all(|w| w.len() < 200), "warnings never echo the key: {:?}", plan.warnings);
    // The same rules do match a short key.
    let plan = by_session(&policy, "aaa".into());
    assert_eq!(plan.principal.as_ref().map(|p| p.as_str()), Some("prefixed"));
}

#[test]
fn catastrophic_looking_regexes_run_in_linear_time_and_long_keys_are_not_regex_matched() {
    let hostile = ["^(a+)+$", "^(a|aa)+$", "^(a|a?)+$", "^(.*a){12}$", r"^(\w+\s?)*$", "^([a-zA-Z]+)*$", "^(a*)*b$"];
    let mut list: Vec<(SessionKeyMode, &str, &str)> =
        hostile.iter().map(|p| (SessionKeyMode::Regex, *p, "never")).collect();
    list.push((SessionKeyMode::Regex, "^(?P<who>a+)!$", "a-${who}"));
    let policy = rules(&list);
    // 511 'a's and a '!' (512 characters): every hostile pattern fails, the last one matches.
    let key = format!("{}!", "a".repeat(511));
    let plan = timed("1000 plans against backtracking-shaped regexes", Duration::from_secs(10), || {
        let mut last = None;
        for _ in 0..1000 {
            last = Some(by_session(&policy, key.clone()));
        }
        last.unwrap()
    });
    assert!(plan.error.is_some(), "the capture expands to a 513-character name > 256, which is no principal");
    assert_eq!(plan.principal, None);
    // A shorter key that the last rule turns into a valid principal.
    let plan = by_session(&policy, format!("{}!", "a".repeat(100)));
    assert_eq!(plan.principal, Some(principal(&format!("a-{}", "a".repeat(100)))));
    // Over 512 characters: never regex-matched, whatever the rule.
    let plan = by_session(&policy, format!("{}!", "a".repeat(512)));
    assert_eq!(plan.principal, None);
}

#[test]
fn control_characters_in_a_trusted_header_are_a_clean_error() {
    let policy = Policy::new(PolicyConfig { trust_principal_header: true, ..PolicyConfig::default() });
    let catalog = ConfiguredCatalog::new(&policy);
    for header in ["bob\u{0}", "\u{0}", "a\u{1b}[31mred", "line\nbreak", "tab\there", " ", "", &"x".repeat(1 << 20)] {
        let request = PlanRequest {
            caller: Caller { header_principal: Some(header.to_owned()), ..Caller::principal(principal("server")) },
            ..PlanRequest::default()
        };
        let plan = policy.plan(&request, &catalog);
        let error = plan.error.as_ref().unwrap_or_else(|| panic!("{header:?} was accepted: {plan:?}"));
        assert_eq!(error.code, PlanErrorCode::Invalid, "{header:?}");
        assert!(plan.read.is_empty() && plan.write.is_none() && plan.principal.is_none());
        assert!(error.message.len() < 1000, "the message stays short: {} bytes", error.message.len());
        let verdict = policy.can(
            &request.caller,
            memory_policy::Operation::Read,
            "default",
            &memory_policy::ConfiguredCatalog::new(&policy),
        );
        assert!(!verdict.allowed, "{header:?}: {verdict:?}");
    }
}

#[test]
fn a_principal_in_ten_thousand_teams_plans_in_bounded_time() {
    let p = principal("joiner");
    let teams = (0..10_000)
        .map(|i| Team {
            id: format!("t{i}"),
            principals: vec![p.clone()],
            read: vec![p.clone()],
            write: vec![p.clone()],
            promote: vec![p.clone()],
        })
        .collect();
    let profile = memory_policy::ScopeProfile {
        name: "teams".into(),
        read_order: vec![memory_policy::ScopeLayer::TeamProject, memory_policy::ScopeLayer::UserGlobal],
        write_default: memory_policy::ScopeLayer::TeamProject,
        promotion_targets: vec![memory_policy::ScopeLayer::TeamProject],
        team_project_template: memory_policy::DEFAULT_TEAM_PROJECT_TEMPLATE.into(),
        auto_promote: None,
    };
    let config = PolicyConfig {
        teams,
        scope_profiles: vec![profile],
        default_scope_profile: Some("teams".into()),
        ..PolicyConfig::default()
    };
    let policy = Policy::new(config);
    let request = PlanRequest {
        project: Some(memory_policy::ProjectContext { project_id: "repo".into(), branch: None }),
        read: ReadRequest::All,
        ..as_principal("joiner")
    };
    let plan = timed("a plan across 10k teams", Duration::from_secs(10), || {
        policy.plan(&request, &ConfiguredCatalog::new(&policy))
    });
    assert_eq!(plan.read.len(), 10_003, "every team project, the own namespace, default and shared");
    assert_eq!(plan.write.as_ref().map(NamespaceKey::as_str), Some("team-t0-project-d3b4ca9d"));
}
