//! The seeds/002 examples, verbatim in the JSON dialect, load and mean what the seed says.

use memory_policy::{Caller, Operation, PlanRequest, Policy, ProjectContext, ReadRequest, ScopePlan, project_hash};

use crate::support::{TestCatalog, key, policy_json, principal};

/// seeds/002, "a generic configuration isolating two tenants with a shared knowledge layer".
const MULTI_TENANT: &str = include_str!("../../../examples/policy/multi-tenant.json");

/// seeds/002, "Example hosted coding profile".
const TEAM_CODING: &str = include_str!("../../../examples/policy/team-coding.json");

fn session(key: &str) -> Caller {
    Caller { session_key: Some(key.to_owned()), ..Caller::default() }
}

fn plan(policy: &Policy, caller: Caller, read: ReadRequest, write: Option<&str>) -> ScopePlan {
    let request =
        PlanRequest { caller, project: None, read, write: write.map(str::to_owned), include_sensitive: false };
    policy.plan(&request, &TestCatalog::configured(policy))
}

fn names(keys: &[memory_core::NamespaceKey]) -> Vec<&str> {
    keys.iter().map(|k| k.as_str()).collect()
}

#[test]
fn multi_tenant_alpha_agent_reads_and_writes_project_alpha_reads_shared_and_never_sees_beta() {
    let policy = policy_json(MULTI_TENANT);
    let alpha = || session("project-alpha:session-123");

    let p = plan(&policy, alpha(), ReadRequest::Default, None);
    assert_eq!(p.principal, Some(principal("alpha-agent")), "{p:#?}");
    assert_eq!(names(&p.read), ["shared"], "defaultRecallNamespaces is [\"shared\"]: {p:#?}");
    // Its self namespace is `default` (no policy is named after it), which it may not write.
    assert_eq!(p.write, None, "{p:#?}");

    let p = plan(&policy, alpha(), ReadRequest::Explicit(vec!["project-alpha".into()]), Some("project-alpha"));
    assert_eq!((names(&p.read), p.write.as_ref().map(|w| w.as_str())), (vec!["project-alpha"], Some("project-alpha")));
    assert!(p.error.is_none(), "{p:#?}");

    for (read, write) in [(Some("project-beta"), None), (None, Some("project-beta")), (None, Some("shared"))] {
        let read = read.map_or(ReadRequest::Default, |r| ReadRequest::Explicit(vec![r.into()]));
        let p = plan(&policy, alpha(), read, write);
        let code = p.error.as_ref().map(|e| e.code);
        assert_eq!(code, Some(memory_policy::PlanErrorCode::Forbidden), "{p:#?}");
        assert!(p.read.is_empty() && p.write.is_none());
    }

    let all = plan(&policy, alpha(), ReadRequest::All, None);
    assert_eq!(names(&all.read), ["shared", "default", "project-alpha"], "{all:#?}");

    assert!(policy.can(&alpha(), Operation::Read, "default", &memory_policy::ConfiguredCatalog::new(&policy)).allowed);
    assert!(
        !policy.can(&alpha(), Operation::Write, "default", &memory_policy::ConfiguredCatalog::new(&policy)).allowed
    );
    assert!(
        !policy.can(&alpha(), Operation::Read, "project-beta", &memory_policy::ConfiguredCatalog::new(&policy)).allowed
    );
}

#[test]
fn multi_tenant_beta_agent_mirrors_alpha() {
    let policy = policy_json(MULTI_TENANT);
    let beta = session("project-beta:s2");
    assert!(
        policy.can(&beta, Operation::Write, "project-beta", &memory_policy::ConfiguredCatalog::new(&policy)).allowed
    );
    assert!(
        !policy.can(&beta, Operation::Read, "project-alpha", &memory_policy::ConfiguredCatalog::new(&policy)).allowed
    );
    assert!(!policy.can(&beta, Operation::Write, "shared", &memory_policy::ConfiguredCatalog::new(&policy)).allowed);
}

#[test]
fn multi_tenant_admin_reads_both_projects_and_writes_shared() {
    let policy = policy_json(MULTI_TENANT);
    let admin = || Caller::principal(principal("admin"));
    for ns in ["project-alpha", "project-beta", "shared", "default"] {
        assert!(
            policy.can(&admin(), Operation::Read, ns, &memory_policy::ConfiguredCatalog::new(&policy)).allowed,
            "admin reads {ns}"
        );
    }
    assert!(policy.can(&admin(), Operation::Write, "shared", &memory_policy::ConfiguredCatalog::new(&policy)).allowed);
    assert!(
        policy.can(&admin(), Operation::Promote, "shared", &memory_policy::ConfiguredCatalog::new(&policy)).allowed
    );
    assert!(
        !policy
            .can(&admin(), Operation::Write, "project-alpha", &memory_policy::ConfiguredCatalog::new(&policy))
            .allowed
    );
    let p = plan(&policy, admin(), ReadRequest::Default, Some("shared"));
    assert_eq!((names(&p.read), p.write.as_ref().map(|w| w.as_str())), (vec!["shared"], Some("shared")));
    let promote = &p.promotion_targets;
    assert!(promote.len() == 1 && promote[0].authorized, "{promote:#?}");
}

#[test]
fn multi_tenant_unknown_session_keys_are_unauthenticated_and_default_principal_writes_default() {
    let policy = policy_json(MULTI_TENANT);
    let p = plan(&policy, session("project-gamma:1"), ReadRequest::Default, None);
    assert_eq!(p.error.as_ref().map(|e| e.code), Some(memory_policy::PlanErrorCode::Unauthenticated));
    let p = plan(&policy, Caller::principal(principal("default-principal")), ReadRequest::Default, None);
    assert_eq!(p.write.as_ref().map(|w| w.as_str()), Some("default"), "{p:#?}");
    assert_eq!(names(&p.read), ["shared", "default"], "the write target joins the read set: {p:#?}");
}

fn coding(policy: &Policy, who: &str, project: Option<&str>) -> ScopePlan {
    let request = PlanRequest {
        caller: Caller::principal(principal(who)),
        project: project.map(|p| ProjectContext { project_id: p.into(), branch: None }),
        ..PlanRequest::default()
    };
    policy.plan(&request, &TestCatalog::configured(policy))
}

#[test]
fn team_coding_isolates_user_projects_and_shares_the_team_project() {
    let policy = policy_json(TEAM_CODING);
    let repo = "git@example.com:pi/app.git";
    let team_ns = format!("team-pi-project-{}", project_hash(repo));
    let geek = coding(&policy, "pi-geek", Some(repo));
    let friend = coding(&policy, "pi-friend", Some(repo));
    let geek_project = format!("pi-geek.p-{}", project_hash(repo));
    let friend_project = format!("pi-friend.p-{}", project_hash(repo));
    assert_eq!(names(&geek.read), [geek_project.as_str(), team_ns.as_str(), "pi-geek", "shared"], "{geek:#?}");
    assert_eq!(names(&friend.read), [friend_project.as_str(), team_ns.as_str(), "pi-friend", "shared"]);
    assert_eq!(geek.write, Some(key(&geek_project)), "writeDefault userProject");
    assert_eq!(friend.write, Some(key(&friend_project)));
    let targets: Vec<(&str, bool)> = geek.promotion_targets.iter().map(|t| (t.target.as_str(), t.authorized)).collect();
    // teamProject: pi-geek is in promote; serverShared: nobody writes `shared` without a policy.
    assert_eq!(targets, [("teamProject", true), ("serverShared", false)]);
    let caller = Caller::principal(principal("pi-friend"));
    assert!(
        !policy.can(&caller, Operation::Read, &geek_project, &memory_policy::ConfiguredCatalog::new(&policy)).allowed
    );
}

#[test]
fn team_coding_without_project_context_falls_back_to_the_next_layers() {
    let policy = policy_json(TEAM_CODING);
    let p = coding(&policy, "pi-geek", None);
    assert_eq!(names(&p.read), ["pi-geek", "shared"], "{p:#?}");
    assert_eq!(p.write, Some(key("pi-geek")));
    assert!(p.warnings.iter().any(|w| w.contains("writeDefault userProject unavailable")), "{p:#?}");
    assert!(p.warnings.iter().any(|w| w.contains("missing project context")), "{p:#?}");
}

#[test]
fn team_coding_outsiders_get_no_team_namespace_and_auto_promotion_is_off() {
    let policy = policy_json(TEAM_CODING);
    let p = coding(&policy, "stranger", Some("repo"));
    assert!(!p.read.iter().any(|n| n.as_str().starts_with("team-")), "{p:#?}");
    let request = PlanRequest {
        caller: Caller::principal(principal("pi-geek")),
        project: Some(ProjectContext { project_id: "repo".into(), branch: None }),
        ..PlanRequest::default()
    };
    let auto = policy.auto_promotion(
        &request,
        &TestCatalog::configured(&policy),
        &key("pi-geek"),
        &memory_core::Category::new("decision").unwrap(),
        memory_core::Confidence::certain(),
    );
    assert!(auto.targets.is_empty(), "{auto:?}");
}

/// The example files in `examples/policy/` (shown in the README) load without diagnostics, and
/// the two dialects of the multi-tenant example are the same configuration.
#[test]
fn the_shipped_examples_load_and_agree_across_dialects() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/policy");
    let load = |name: &str| match memory_policy::load::load_file(&dir.join(name)) {
        Ok(loaded) => {
            assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
            loaded.config
        }
        Err(diags) => panic!("{name} does not load: {diags:?}"),
    };
    assert_eq!(load("multi-tenant.json"), load("multi-tenant.toml"));
    let team = load("team-coding.json");
    assert_eq!(team.default_scope_profile.as_deref(), Some("teamCoding"));
}
