//! `Policy`: a compiled configuration and the one access rule (SPEC 4) every decision uses.

use std::collections::{BTreeSet, HashMap};

use memory_core::{DefaultAccess, KeyScope, NamespaceKey, NamespaceKind, Permission, Principal};
use regex::{Regex, RegexSet};
use sha2::{Digest, Sha256};

use crate::catalog::{NamespaceCatalog, NamespaceFacts};
use crate::config::{PolicyConfig, PrincipalRef, ScopeProfile, SessionKeyMode};
use crate::template::Template;

/// Read and write rights on one namespace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Access {
    /// May read.
    pub read: bool,
    /// May write.
    pub write: bool,
}

impl Access {
    pub(crate) const NONE: Access = Access { read: false, write: false };
    pub(crate) const READ: Access = Access { read: true, write: false };
    pub(crate) const READ_WRITE: Access = Access { read: true, write: true };

    /// A write target must be readable too: a principal never writes where it cannot read.
    pub fn can_write_target(self) -> bool {
        self.read && self.write
    }

    fn and(self, other: Access) -> Access {
        Access { read: self.read && other.read, write: self.write && other.write }
    }

    pub(crate) fn describe(self) -> &'static str {
        match (self.read, self.write) {
            (true, true) => "read and write",
            (true, false) => "read only",
            (false, true) => "write but not read",
            (false, false) => "no access",
        }
    }
}

/// An allow/deny answer with its reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Verdict {
    /// Whether it is allowed.
    pub allowed: bool,
    /// Why, in a sentence.
    pub reason: String,
}

/// Who is asking, as far as rights go: the resolved principal and, for an API key with
/// scopes, how the scopes apply; and what is known of the namespaces asked about.
#[derive(Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub principal: Option<&'a Principal>,
    /// The principal as the compiled grants know it (looked up once per request).
    pub member: Member<'a>,
    pub scopes: Option<ScopeRule<'a>>,
    /// The principal's self namespace when the caller already has it (a plan computes it
    /// once; without it, every own-namespace check redoes NFC, template matching and SHA-256).
    pub own: Option<&'a NamespaceKey>,
    /// A tenant admin acting with its own key.
    pub admin: bool,
    /// The existing namespaces: their owners and default access decide where no policy does.
    pub catalog: &'a dyn NamespaceCatalog,
}

/// How a key's scopes bound the rights of a request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ScopeRule<'a> {
    /// The key is granted exactly its scopes, whatever the policies say.
    Exactly(&'a [KeyScope]),
    /// Behind a trusted principal header: the header principal's rights, narrowed by the scopes.
    Narrowing(&'a [KeyScope]),
}

/// A principal as the compiled policy sees it: its number among the principals the
/// configuration names (none if it names it nowhere) and the teams it is a member of. Looked
/// up once per request, so each rule check is a binary search instead of hashing the name.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Member<'a> {
    id: Option<u32>,
    /// Teams the principal is a member of, in config order.
    pub teams: &'a [usize],
}

/// Sorted principal ids.
#[derive(Debug, Default)]
pub(crate) struct IdSet(Vec<u32>);

impl IdSet {
    pub(crate) fn contains(&self, member: Member<'_>) -> bool {
        member.id.is_some_and(|id| self.0.binary_search(&id).is_ok())
    }
}

#[derive(Debug, Default)]
struct Grant {
    any: bool,
    principals: IdSet,
    /// `team:` refs as team indices. Kept as indices rather than copied member lists: 100k
    /// policies naming a 1,000-member team would otherwise hold 100M principal copies.
    teams: Vec<usize>,
}

impl Grant {
    fn allows(&self, member: Member<'_>) -> bool {
        self.any
            || self.principals.contains(member)
            || (!self.teams.is_empty() && member.teams.iter().any(|t| self.teams.contains(t)))
    }
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub mode: SessionKeyMode,
    pub pattern: String,
    pub regex: Option<Regex>,
    pub principal: String,
}

#[derive(Debug)]
pub(crate) struct TeamSets {
    pub read: IdSet,
    pub write: IdSet,
    pub promote: IdSet,
}

/// A compiled, validated policy: the only source of namespace decisions.
#[derive(Debug)]
pub struct Policy {
    pub(crate) config: PolicyConfig,
    by_namespace: HashMap<NamespaceKey, usize>,
    grants: Vec<(Grant, Grant)>,
    pub(crate) include_by_default: Vec<usize>,
    /// Every principal the configuration names (grants and teams), numbered.
    principal_ids: HashMap<Principal, u32>,
    /// Per principal id, the teams it is a member of, in config order.
    teams_of: Vec<Vec<usize>>,
    pub(crate) team_sets: Vec<TeamSets>,
    /// Team ids to their index in `config.teams`.
    team_index: HashMap<String, usize>,
    pub(crate) rules: Vec<CompiledRule>,
    /// The active scope profile and its parsed team-project template.
    pub(crate) profile: Option<(usize, Template)>,
    /// Every name any profile's template could render; principals whose names fit one get a
    /// hashed self namespace, so a principal can never own a team's namespace by its name.
    template_shapes: RegexSet,
    configured: BTreeSet<NamespaceKey>,
}

/// Marks a user-project overlay: `<self>.p-<projectHash>[.b-<branchHash>]`. Self namespaces
/// never contain it, so overlays and self names cannot collide.
pub(crate) const OVERLAY_MARK: &str = ".p-";
/// Marks the branch part of a user-project overlay (see [`OVERLAY_MARK`]).
pub(crate) const BRANCH_MARK: &str = ".b-";
const HASHED_SELF_PREFIX: &str = "principal-";

impl Policy {
    /// Compiles a validated configuration. Cannot fail: [`crate::load`] checked everything.
    pub fn new(config: PolicyConfig) -> Policy {
        let mut principal_ids: HashMap<Principal, u32> = HashMap::new();
        let mut id_of = |p: &Principal| -> u32 {
            let next = u32::try_from(principal_ids.len()).expect("fewer than 2^32 principals");
            *principal_ids.entry(p.clone()).or_insert(next)
        };
        let id_set = |ids: Vec<u32>| {
            let mut ids = ids;
            ids.sort_unstable();
            ids.dedup();
            IdSet(ids)
        };
        let mut team_index = HashMap::new();
        let mut teams_of: Vec<Vec<usize>> = Vec::new();
        let mut team_sets = Vec::with_capacity(config.teams.len());
        for (i, team) in config.teams.iter().enumerate() {
            team_index.insert(team.id.clone(), i);
            for p in &team.principals {
                let id = id_of(p) as usize;
                if teams_of.len() <= id {
                    teams_of.resize_with(id + 1, Vec::new);
                }
                // Teams come in order, so a repeat of this team is the list's last entry.
                if teams_of[id].last() != Some(&i) {
                    teams_of[id].push(i);
                }
            }
            let mut ids = |list: &[Principal]| id_set(list.iter().map(&mut id_of).collect());
            team_sets.push(TeamSets { read: ids(&team.read), write: ids(&team.write), promote: ids(&team.promote) });
        }
        let mut grant = |refs: &[PrincipalRef]| {
            let mut g = Grant::default();
            let mut ids = Vec::new();
            for r in refs {
                match r {
                    PrincipalRef::Any => g.any = true,
                    PrincipalRef::Principal(p) => ids.push(id_of(p)),
                    PrincipalRef::Team(id) => {
                        if let Some(&t) = team_index.get(id)
                            && !g.teams.contains(&t)
                        {
                            g.teams.push(t);
                        }
                    }
                }
            }
            g.principals = id_set(ids);
            g
        };
        let mut by_namespace = HashMap::with_capacity(config.policies.len());
        let mut grants = Vec::with_capacity(config.policies.len());
        let mut include_by_default = Vec::new();
        for (i, p) in config.policies.iter().enumerate() {
            // The first policy for a name decides (the loader rejects repeats); recall entries
            // point at it, so a plan need not look the name up again.
            let first = *by_namespace.entry(p.namespace.clone()).or_insert(i);
            grants.push((grant(&p.read), grant(&p.write)));
            if p.include_in_recall_by_default {
                include_by_default.push(first);
            }
        }
        let rules = config
            .session_key_rules
            .iter()
            .map(|r| CompiledRule {
                mode: r.mode,
                pattern: r.pattern.clone(),
                // Compiled as the loader checked it (size limits); a rule that does not compile
                // matches nothing.
                regex: (r.mode == SessionKeyMode::Regex)
                    .then(|| crate::load::compile_session_regex(&r.pattern).ok())
                    .flatten(),
                principal: r.principal.clone(),
            })
            .collect();
        let templates: Vec<Template> =
            config.scope_profiles.iter().filter_map(|p| Template::parse(&p.team_project_template).ok()).collect();
        let template_shapes =
            RegexSet::new(templates.iter().map(Template::shape_regex)).unwrap_or_else(|_| RegexSet::empty());
        let profile = config.default_scope_profile.as_ref().and_then(|name| {
            let i = config.scope_profiles.iter().position(|p| &p.name == name)?;
            Some((i, Template::parse(&config.scope_profiles[i].team_project_template).ok()?))
        });
        let mut configured: BTreeSet<NamespaceKey> = config.policies.iter().map(|p| p.namespace.clone()).collect();
        configured.insert(config.default_namespace.clone());
        configured.insert(config.shared_namespace.clone());
        Policy {
            config,
            by_namespace,
            grants,
            include_by_default,
            principal_ids,
            teams_of,
            team_sets,
            team_index,
            rules,
            profile,
            template_shapes,
            configured,
        }
    }

    /// How the compiled grants know `principal`.
    pub(crate) fn member(&self, principal: &Principal) -> Member<'_> {
        match self.principal_ids.get(principal) {
            Some(&id) => Member { id: Some(id), teams: self.teams_of.get(id as usize).map_or(&[], Vec::as_slice) },
            None => Member::default(),
        }
    }

    /// The configuration it was compiled from.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// The active scope profile, if any.
    pub fn active_profile(&self) -> Option<&ScopeProfile> {
        self.profile.as_ref().map(|(i, _)| &self.config.scope_profiles[*i])
    }

    /// The namespaces the configuration names: default, shared and every policy namespace.
    pub fn configured_namespaces(&self) -> impl Iterator<Item = &NamespaceKey> {
        self.configured.iter()
    }

    pub(crate) fn is_configured(&self, ns: &NamespaceKey) -> bool {
        self.configured.contains(ns)
    }

    /// Whether some profile's team-project template could render `ns`.
    pub(crate) fn is_template_shaped(&self, ns: &NamespaceKey) -> bool {
        self.template_shapes.is_match(ns.as_str())
    }

    /// Whether the configuration has a team with this id (a namespace's owning team must be one).
    pub fn has_team(&self, id: &str) -> bool {
        self.team_index.contains_key(id)
    }

    /// Names that templates may not produce unless a policy allows: default, shared and every
    /// policy namespace.
    pub(crate) fn is_protected(&self, ns: &NamespaceKey) -> bool {
        self.configured.contains(ns)
    }

    /// The principal's self namespace (SPEC 4 "Precise rules").
    ///
    /// Without a scope profile: the namespace named after the principal when a policy names
    /// it, else the default namespace. With one: the principal's own namespace: its name when
    /// that is a valid key that cannot be mistaken for a configured, hashed, overlay or
    /// template-rendered name; otherwise `principal-` plus 16 hex digits of its SHA-256.
    pub fn self_namespace(&self, principal: &Principal) -> NamespaceKey {
        if self.profile.is_none() {
            return match NamespaceKey::new(principal.as_str()) {
                Ok(key) if self.by_namespace.contains_key(&key) => key,
                _ => self.config.default_namespace.clone(),
            };
        }
        self.own_namespace(principal)
    }

    fn own_namespace(&self, principal: &Principal) -> NamespaceKey {
        let name = principal.as_str();
        if let Ok(key) = NamespaceKey::new(name)
            && key.as_str() == name
            && key != self.config.default_namespace
            && key != self.config.shared_namespace
            && !name.starts_with(HASHED_SELF_PREFIX)
            && !name.contains(OVERLAY_MARK)
            && !self.template_shapes.is_match(name)
        {
            return key;
        }
        let digest = hex::encode(&Sha256::digest(name.as_bytes())[..8]);
        NamespaceKey::new(format!("{HASHED_SELF_PREFIX}{digest}")).expect("hex is a valid key")
    }

    /// Whether `ns` is the principal's own namespace or one of its project overlays (scope
    /// profile active only).
    pub(crate) fn is_own(&self, principal: &Principal, own: Option<&NamespaceKey>, ns: &NamespaceKey) -> bool {
        let computed;
        let own = match own {
            Some(own) => own,
            None => {
                computed = self.own_namespace(principal);
                &computed
            }
        };
        if ns == own {
            return true;
        }
        ns.as_str().strip_prefix(own.as_str()).and_then(|r| r.strip_prefix(OVERLAY_MARK)).is_some_and(overlay_suffix)
    }

    /// Whether `ns` is shaped like a principal's own namespace in a way template shapes cannot
    /// rule out: a hashed self namespace (`principal-` + 16 hex) or a project overlay
    /// (`<self>.p-<8 hex>[.b-<8 hex>]`). Plain own names never fit a template (see
    /// `own_namespace`), but a template fed a caller-chosen project id (`{projectId}`,
    /// `{projectNamespace}`) can render these two, and a team layer on one would hand a
    /// principal's private namespace to the team.
    pub(crate) fn is_principal_shaped(ns: &NamespaceKey) -> bool {
        let name = ns.as_str();
        if name.strip_prefix(HASHED_SELF_PREFIX).is_some_and(|rest| lower_hex(rest, 16)) {
            return true;
        }
        name.rfind(OVERLAY_MARK).is_some_and(|i| i > 0 && overlay_suffix(&name[i + OVERLAY_MARK.len()..]))
    }

    /// Rights of `principal` on `ns` under the namespace policies alone (SPEC 4), with a reason.
    /// Rights the policy at index `i` gives.
    fn policy_grant(&self, i: usize, principal: &Principal, member: Member<'_>, note: &str) -> (Access, String) {
        let (read, write) = &self.grants[i];
        let access = Access { read: read.allows(member), write: write.allows(member) };
        let ns = self.config.policies[i].namespace.as_str();
        let reason = sentence(&[
            T(note),
            T("the policy for "),
            Q(ns),
            T(" gives "),
            Q(principal.as_str()),
            T(" "),
            T(access.describe()),
        ]);
        (access, reason)
    }

    /// [`Policy::access_noted`] for the namespace of the policy at index `i` (the first policy
    /// for its name), without looking the name up: plans ask it for every policy included in
    /// recall by default.
    pub(crate) fn policy_access(&self, subject: Subject<'_>, i: usize, note: &str) -> (Access, String) {
        match subject.principal {
            Some(principal) if self.config.enabled && subject.scopes.is_none() => {
                self.policy_grant(i, principal, subject.member, note)
            }
            _ => self.access_noted(subject, &self.config.policies[i].namespace, note),
        }
    }

    pub(crate) fn principal_access(&self, subject: Subject<'_>, ns: &NamespaceKey, note: &str) -> (Access, String) {
        let principal = subject.principal.expect("callers check for a principal");
        if let Some(&i) = self.by_namespace.get(ns) {
            return self.policy_grant(i, principal, subject.member, note);
        }
        if *ns == self.config.default_namespace {
            return (
                Access::READ_WRITE,
                sentence(&[
                    T(note),
                    T("no policy names "),
                    Q(ns.as_str()),
                    T("; the default namespace is readable and writable by every authenticated principal"),
                ]),
            );
        }
        if *ns == self.config.shared_namespace {
            return (
                Access::READ,
                sentence(&[
                    T(note),
                    T("no policy names "),
                    Q(ns.as_str()),
                    T("; the shared namespace is readable by every authenticated principal"),
                ]),
            );
        }
        // A namespace created over the API or the CLI follows its default access, even when
        // its name is some principal's own: that principal did not create it.
        if let Some(facts) = subject.catalog.facts(ns).filter(|f| f.kind == NamespaceKind::Explicit) {
            return self.default_access(subject, principal, ns, facts, note);
        }
        if self.profile.is_some() && self.is_own(principal, subject.own, ns) {
            return (
                Access::READ_WRITE,
                sentence(&[
                    T(note),
                    Q(ns.as_str()),
                    T(" is "),
                    Q(principal.as_str()),
                    T("'s own namespace and no policy names it"),
                ]),
            );
        }
        (Access::NONE, sentence(&[T(note), T("no policy names "), Q(ns.as_str()), T(", so it is denied")]))
    }

    /// Rights on a namespace created over the API or the CLI that no policy names: its default
    /// access (seeds/004). `public` and `org`: every principal of the tenant reads, its
    /// creator, its team's writers and admins write; `team`: the owning team's lists (without
    /// a team, as `private`); `private`: its creator and admins.
    fn default_access(
        &self,
        subject: Subject<'_>,
        principal: &Principal,
        ns: &NamespaceKey,
        facts: &NamespaceFacts,
        note: &str,
    ) -> (Access, String) {
        let creator = facts.created_by.as_ref() == Some(principal);
        let team = facts.team.as_deref().and_then(|id| Some((id, self.team_index.get(id)?)));
        let team_sets = team.map(|(_, &t)| &self.team_sets[t]);
        let in_team_write = team_sets.is_some_and(|s| s.write.contains(subject.member));
        let (access, why): (Access, String) = match facts.default_access {
            DefaultAccess::Public | DefaultAccess::Org => {
                let write = creator || subject.admin || in_team_write;
                let who = if creator {
                    "its creator"
                } else if subject.admin {
                    "a tenant admin"
                } else if in_team_write {
                    "a writer of its team"
                } else {
                    "not its creator, a writer of its team or an admin, so read only"
                };
                let level = facts.default_access.as_str();
                (Access { read: true, write }, format!("{level}: every principal of the tenant reads it; {who}"))
            }
            DefaultAccess::Team if team.is_some() => {
                let (id, _) = team.expect("checked");
                let sets = team_sets.expect("checked");
                let access = Access { read: sets.read.contains(subject.member), write: in_team_write };
                (access, sentence(&[T("team: its owning team "), Q(id), T(" gives "), T(access.describe())]))
            }
            DefaultAccess::Team | DefaultAccess::Private => {
                let level = match facts.default_access {
                    DefaultAccess::Team => "team without an owning team, so private",
                    _ => "private",
                };
                let (access, who) = if creator {
                    (Access::READ_WRITE, "its creator")
                } else if subject.admin {
                    (Access::READ_WRITE, "a tenant admin")
                } else {
                    (Access::NONE, "only its creator and tenant admins")
                };
                (access, format!("{level}: {who}"))
            }
        };
        let reason = sentence(&[
            T(note),
            T("no policy names "),
            Q(ns.as_str()),
            T("; its default access is "),
            T(&why),
            T(" ("),
            Q(principal.as_str()),
            T(": "),
            T(access.describe()),
            T(")"),
        ]);
        (access, reason)
    }

    /// Rights of a subject on `ns`: the policies, bounded by a key's scopes (SPEC 4).
    pub(crate) fn access(&self, subject: Subject<'_>, ns: &NamespaceKey) -> (Access, String) {
        self.access_noted(subject, ns, "")
    }

    /// [`Policy::access`] with `note` in front of the reason (built in one go: plans ask this
    /// for every layer).
    pub(crate) fn access_noted(&self, subject: Subject<'_>, ns: &NamespaceKey, note: &str) -> (Access, String) {
        if !self.config.enabled {
            return if *ns == self.config.default_namespace {
                let why = "namespaces are disabled: every caller reads and writes the default namespace";
                (Access::READ_WRITE, sentence(&[T(note), T(why)]))
            } else {
                (Access::NONE, sentence(&[T(note), T("namespaces are disabled: only the default namespace exists")]))
            };
        }
        if subject.principal.is_none() {
            return (Access::NONE, sentence(&[T(note), T("no principal: unauthenticated callers are denied")]));
        }
        match subject.scopes {
            None => self.principal_access(subject, ns, note),
            Some(ScopeRule::Exactly(scopes)) => scope_access(scopes, ns, note),
            Some(ScopeRule::Narrowing(scopes)) => {
                let (base, why) = self.principal_access(subject, ns, note);
                let (scope, scope_why) = scope_access(scopes, ns, "");
                (base.and(scope), format!("{why}; {scope_why}"))
            }
        }
    }

    /// Narrows rights computed elsewhere (team layers) by a key's scopes.
    pub(crate) fn bound_by_scopes(
        &self,
        subject: Subject<'_>,
        ns: &NamespaceKey,
        access: Access,
    ) -> (Access, Option<String>) {
        match subject.scopes {
            None => (access, None),
            Some(ScopeRule::Exactly(scopes)) => {
                let (scope, why) = scope_access(scopes, ns, "");
                (scope, Some(why))
            }
            Some(ScopeRule::Narrowing(scopes)) => {
                let (scope, why) = scope_access(scopes, ns, "");
                (access.and(scope), Some(why))
            }
        }
    }
}

/// A piece of a [`sentence`]: literal text, or a name quoted as `{:?}` would quote it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Piece<'a> {
    /// Literal text.
    T(&'a str),
    /// A name, quoted and escaped.
    Q(&'a str),
}
use Piece::{Q, T};

/// Builds a reason in one allocation. Every layer of every plan carries a reason, and
/// `format!` with `{:?}` (per-character escaping, growing buffers) was the largest share of
/// planning time; the output is the same.
pub(crate) fn sentence(pieces: &[Piece<'_>]) -> String {
    let len = pieces.iter().map(|p| match p {
        T(text) => text.len(),
        Q(name) => name.len() + 2,
    });
    let mut out = String::with_capacity(len.sum());
    for piece in pieces {
        match piece {
            T(text) => out.push_str(text),
            Q(name) => push_quoted(&mut out, name),
        }
    }
    out
}

/// Appends `name` as `{:?}` would write it, without the escaping work for plain names.
fn push_quoted(out: &mut String, name: &str) {
    if name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b' ' | b'/' | b':')) {
        out.push('"');
        out.push_str(name);
        out.push('"');
    } else {
        use std::fmt::Write as _;
        write!(out, "{name:?}").expect("writing to a String cannot fail");
    }
}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What follows [`OVERLAY_MARK`] in an overlay: `<8 hex>` or `<8 hex>.b-<8 hex>`.
fn overlay_suffix(rest: &str) -> bool {
    match rest.split_once(BRANCH_MARK) {
        None => lower_hex(rest, 8),
        Some((project, branch)) => lower_hex(project, 8) && lower_hex(branch, 8),
    }
}

fn scope_access(scopes: &[KeyScope], ns: &NamespaceKey, note: &str) -> (Access, String) {
    match scopes.iter().find(|s| s.namespace == *ns) {
        Some(s) if s.permission == Permission::ReadWrite => {
            (Access::READ_WRITE, sentence(&[T(note), T("the API key's scopes grant read_write on "), Q(ns.as_str())]))
        }
        Some(_) => (Access::READ, sentence(&[T(note), T("the API key's scopes grant read on "), Q(ns.as_str())])),
        None => (Access::NONE, sentence(&[T(note), T("the API key's scopes do not include "), Q(ns.as_str())])),
    }
}
