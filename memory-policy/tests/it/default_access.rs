//! Default access and sensitivity (seeds/004), as a table: every combination of a created
//! namespace's default access, owning team and sensitivity, of a policy naming it or not, and of
//! an API key's scopes, for its creator, a team writer, a team reader, another principal and a
//! tenant admin. The expectation is written out from the rules in docs/configuration.md, not
//! from the resolver.

use memory_core::{DefaultAccess, KeyScope, NamespaceKind, Permission, Sensitivity};
use memory_policy::{Caller, KeyGrant, NamespaceFacts, Operation, PlanRequest, Policy, ReadRequest};

use crate::support::{TestCatalog, key, policy, principal};

/// `team_789` (seeds/004): tom writes and reads, rita reads; a policy may name `named`.
const CONFIG: &str = r#"
[namespaces]
[[namespaces.policies]]
name = "named"
read = ["oscar"]
write = ["oscar"]
include_in_recall_by_default = true

[namespaces.teams.team_789]
principals = ["tom", "rita"]
read = ["tom", "rita"]
write = ["tom"]
"#;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Who {
    Creator,
    TeamWriter,
    TeamReader,
    Other,
    Admin,
}

const EVERYONE: [Who; 5] = [Who::Creator, Who::TeamWriter, Who::TeamReader, Who::Other, Who::Admin];

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Creator => "cara",
            Who::TeamWriter => "tom",
            Who::TeamReader => "rita",
            Who::Other => "oscar",
            Who::Admin => "ada",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scope {
    None,
    Read,
    ReadWrite,
}

fn caller(who: Who, scope: Scope, ns: &str) -> Caller {
    let scopes = match scope {
        Scope::None => Vec::new(),
        Scope::Read => vec![KeyScope { namespace: key(ns), permission: Permission::Read }],
        Scope::ReadWrite => vec![KeyScope { namespace: key(ns), permission: Permission::ReadWrite }],
    };
    Caller {
        api_key: Some(KeyGrant {
            key_id: None,
            principal: principal(who.name()),
            scopes,
            default_namespace: None,
            admin: who == Who::Admin,
        }),
        ..Caller::default()
    }
}

/// (read, write) by the rules: a key's scopes win, then a policy naming the namespace, then
/// its default access.
fn expected(who: Who, access: DefaultAccess, team: bool, policy: bool, scope: Scope) -> (bool, bool) {
    match scope {
        Scope::Read => return (true, false),
        Scope::ReadWrite => return (true, true),
        Scope::None => {}
    }
    if policy {
        return if who == Who::Other { (true, true) } else { (false, false) };
    }
    let owner = matches!(who, Who::Creator | Who::Admin);
    match access {
        DefaultAccess::Public | DefaultAccess::Org => (true, owner || (team && who == Who::TeamWriter)),
        DefaultAccess::Team if team => {
            let read = matches!(who, Who::TeamWriter | Who::TeamReader);
            (read, who == Who::TeamWriter)
        }
        DefaultAccess::Team | DefaultAccess::Private => (owner, owner),
    }
}

fn catalog(policy: &Policy, ns: &str, access: DefaultAccess, team: bool, sensitivity: Sensitivity) -> TestCatalog {
    let mut catalog = TestCatalog::configured(policy);
    catalog.created(
        ns,
        NamespaceFacts {
            kind: NamespaceKind::Explicit,
            created_by: Some(principal(Who::Creator.name())),
            team: team.then(|| "team_789".to_owned()),
            default_access: access,
            sensitivity,
        },
    );
    catalog
}

#[test]
fn every_combination_of_default_access_sensitivity_policy_and_scope() {
    let policy = policy(CONFIG);
    let accesses = [DefaultAccess::Public, DefaultAccess::Org, DefaultAccess::Team, DefaultAccess::Private];
    let sensitivities = [Sensitivity::Normal, Sensitivity::Sensitive, Sensitivity::Restricted];
    let mut cases = 0;
    for access in accesses {
        for team in [false, true] {
            for sensitivity in sensitivities {
                for named in [false, true] {
                    let ns = if named { "named" } else { "created" };
                    let catalog = catalog(&policy, ns, access, team, sensitivity);
                    for scope in [Scope::None, Scope::Read, Scope::ReadWrite] {
                        for who in EVERYONE {
                            cases += 1;
                            let case =
                                format!("{who:?} on {ns} ({access}, team {team}, {sensitivity}, scope {scope:?})");
                            let c = caller(who, scope, ns);
                            let (read, write) = expected(who, access, team, named, scope);
                            let can_read = policy.can(&c, Operation::Read, ns, &catalog);
                            let can_write = policy.can(&c, Operation::Write, ns, &catalog);
                            assert_eq!(
                                (can_read.allowed, can_write.allowed),
                                (read, write),
                                "{case}: {} / {}",
                                can_read.reason,
                                can_write.reason
                            );
                            check_read_sets(&policy, &catalog, &c, ns, read, sensitivity, &case);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(cases, 4 * 2 * 3 * 2 * 3 * 5);
}

/// `*` reads a readable namespace unless it is restricted, or sensitive and not asked for; a
/// default read set (here through the policy's include_in_recall_by_default or a key's
/// scopes) never holds a restricted one; naming it reads it when readable.
fn check_read_sets(
    policy: &Policy,
    catalog: &TestCatalog,
    c: &Caller,
    ns: &str,
    readable: bool,
    sensitivity: Sensitivity,
    case: &str,
) {
    let plan = |read: ReadRequest, include_sensitive: bool| {
        let req = PlanRequest { caller: c.clone(), read, include_sensitive, ..PlanRequest::default() };
        policy.plan(&req, catalog)
    };
    let holds = |read: &[memory_core::NamespaceKey]| read.iter().any(|k| k.as_str() == ns);
    for include_sensitive in [false, true] {
        let all = plan(ReadRequest::All, include_sensitive);
        let in_star = readable
            && match sensitivity {
                Sensitivity::Normal => true,
                Sensitivity::Sensitive => include_sensitive,
                Sensitivity::Restricted => false,
            };
        assert_eq!(holds(&all.read), in_star, "{case}: * (include_sensitive {include_sensitive}): {:?}", all.read);
        let row = all.layers.iter().find(|l| l.namespace.as_ref().is_some_and(|k| k.as_str() == ns));
        let row = row.unwrap_or_else(|| panic!("{case}: * names no row for {ns}: {:?}", all.layers));
        assert!(!row.reason.is_empty(), "{case}: the plan says why");
        if readable && !in_star {
            assert!(row.reason.contains(&sensitivity.to_string()), "{case}: {}", row.reason);
        }
    }
    let default = plan(ReadRequest::Default, false);
    if sensitivity == Sensitivity::Restricted {
        assert!(!holds(&default.read), "{case}: a restricted namespace in the default read set");
    }
    let named = plan(ReadRequest::Explicit(vec![ns.to_owned()]), false);
    assert_eq!(named.error.is_none() && holds(&named.read), readable, "{case}: named: {:?}", named.error);
}

#[test]
fn the_plan_names_the_rule() {
    let policy = policy(CONFIG);
    let catalog = catalog(&policy, "created", DefaultAccess::Private, false, Sensitivity::Normal);
    let denied = policy.can(&caller(Who::Other, Scope::None, "created"), Operation::Read, "created", &catalog);
    assert!(denied.reason.contains("private: only its creator"), "{}", denied.reason);
    let catalog = catalog_restricted(&policy);
    let plan = policy.plan(
        &PlanRequest {
            caller: caller(Who::Creator, Scope::None, "created"),
            read: ReadRequest::All,
            ..Default::default()
        },
        &catalog,
    );
    let row = plan.layers.iter().find(|l| l.namespace.as_ref().is_some_and(|k| k.as_str() == "created")).unwrap();
    assert!(row.reason.contains("restricted: never in a default read set or *"), "{}", row.reason);
}

fn catalog_restricted(policy: &Policy) -> TestCatalog {
    catalog(policy, "created", DefaultAccess::Public, false, Sensitivity::Restricted)
}
