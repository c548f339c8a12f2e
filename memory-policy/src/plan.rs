//! Scope plans: for one request, as whom, reading which namespaces in which order, writing
//! where, promotable where, and why (SPEC 1 and 4). [`Policy::plan`] is the one resolver every
//! path uses.

use std::collections::HashSet;

use memory_core::{NamespaceKey, NamespaceKind, NamespaceStatus, Principal, Sensitivity};
use serde::Serialize;

use crate::catalog::NamespaceCatalog;
use crate::config::{RecallEntry, ScopeLayer};
use crate::policy::{Access, BRANCH_MARK, OVERLAY_MARK, Piece, Policy, Subject, sentence};
use crate::principal::{Caller, PrincipalSource};
use crate::template::{TemplateValues, fnv1a32, project_hash};

/// The project (and branch) a request works in, for project layers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectContext {
    /// Project id (e.g. a repository URL or name).
    pub project_id: String,
    /// Branch, for branch overlays.
    pub branch: Option<String>,
}

/// Which namespaces a request wants to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReadRequest {
    /// None named: the default read set.
    #[default]
    Default,
    /// `*`: every namespace the caller can read.
    All,
    /// These namespaces (raw strings from the caller; `*` among them means [`ReadRequest::All`]).
    Explicit(Vec<String>),
}

impl ReadRequest {
    /// The read request of a list of raw names: none is the default read set, any `*` every
    /// readable namespace, anything else those names.
    pub fn from_raw(names: &[String]) -> Self {
        match names {
            [] => ReadRequest::Default,
            list if list.iter().any(|n| n.trim() == "*") => ReadRequest::All,
            list => ReadRequest::Explicit(list.to_vec()),
        }
    }

    /// The names of a really explicit list: `None` for the default read set, `*`, an empty
    /// list (the default read set) and a list containing `*` (everything readable).
    /// `*`, alone or in a list.
    fn is_everything(&self) -> bool {
        match self {
            ReadRequest::All => true,
            ReadRequest::Explicit(list) => list.iter().any(|n| n.trim() == "*"),
            ReadRequest::Default => false,
        }
    }

    fn named(&self) -> Option<&[String]> {
        match self {
            ReadRequest::Explicit(list) if !list.is_empty() && !list.iter().any(|n| n.trim() == "*") => Some(list),
            _ => None,
        }
    }
}

/// One request to plan.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PlanRequest {
    /// Identity facts.
    pub caller: Caller,
    /// Project context, if any.
    pub project: Option<ProjectContext>,
    /// What to read.
    pub read: ReadRequest,
    /// An explicit write namespace (raw string from the caller).
    pub write: Option<String>,
    /// `*` also reads `sensitive` namespaces (`restricted` ones are only ever read when named).
    pub include_sensitive: bool,
}

/// One candidate namespace the plan considered, and what the caller may do there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerInfo {
    /// The layer (`userProject`, `teamProject`, ... with a profile; `self`, `shared`, `policy`,
    /// `recall`, `key-scope`, `key-default`, `explicit` without).
    pub layer: String,
    /// Its namespace, or `None` when the layer is unavailable for this request.
    pub namespace: Option<NamespaceKey>,
    /// May be read.
    pub readable: bool,
    /// May be written (and is readable).
    pub writable: bool,
    /// Memories may be promoted into it.
    pub promotable: bool,
    /// Why.
    pub reason: String,
}

/// A place memories may be promoted into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromotionTarget {
    /// The profile layer (`teamProject`, `serverShared`, ...) or `shared` without a profile.
    pub target: String,
    /// Its namespace, when the layer resolves.
    pub namespace: Option<NamespaceKey>,
    /// Whether this caller may promote into it.
    pub authorized: bool,
    /// Why.
    pub reason: String,
}

/// Why a plan refuses the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanErrorCode {
    /// A named namespace exists but is not allowed (403).
    Forbidden,
    /// A named namespace does not exist or is archived (404).
    NotFound,
    /// Nobody is identified and namespaces are on (401).
    Unauthenticated,
    /// The request itself is malformed (400).
    Invalid,
}

/// The error of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanError {
    /// Classification.
    pub code: PlanErrorCode,
    /// What and why.
    pub message: String,
}

/// The resolved answer for one request. When `error` is set, `read` is empty and `write` is
/// `None`: a refused request reads and writes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScopePlan {
    /// Who the request runs as.
    pub principal: Option<Principal>,
    /// Where the principal came from.
    pub principal_source: PrincipalSource,
    /// Why that principal.
    pub principal_reason: String,
    /// Namespaces to read, in read order.
    pub read: Vec<NamespaceKey>,
    /// Where writes go; always readable.
    pub write: Option<NamespaceKey>,
    /// Every layer considered, with rights and reasons.
    pub layers: Vec<LayerInfo>,
    /// Promotion targets, authorized or not, with reasons.
    pub promotion_targets: Vec<PromotionTarget>,
    /// What an operator should know.
    pub warnings: Vec<String>,
    /// Why the request is refused, if it is.
    pub error: Option<PlanError>,
    /// Why writes are refused under this plan when `write` is `None` and there is no `error`:
    /// the write default the configuration defines is unavailable to this caller (archived,
    /// deleted, not writable). Writes are then refused, never sent to another namespace.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_refusal: Option<PlanError>,
    /// Namespaces the caller may read that this read set leaves out for their sensitivity
    /// (`restricted` ones always, `sensitive` ones from `*` unless asked for): readable when
    /// named explicitly, as a request for one memory of them does.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub readable_when_named: Vec<NamespaceKey>,
}

impl Policy {
    /// Plans `request` against the namespaces `catalog` knows. Never fails: refusals are in
    /// [`ScopePlan::error`].
    pub fn plan(&self, request: &PlanRequest, catalog: &dyn NamespaceCatalog) -> ScopePlan {
        let mut resolved = self.resolve_principal(&request.caller);
        let plan = ScopePlan {
            principal: resolved.principal.clone(),
            principal_source: resolved.source,
            principal_reason: std::mem::take(&mut resolved.reason),
            read: Vec::new(),
            write: None,
            layers: Vec::new(),
            promotion_targets: Vec::new(),
            warnings: std::mem::take(&mut resolved.warnings),
            error: None,
            write_refusal: None,
            readable_when_named: Vec::new(),
        };
        if let Some(message) = &resolved.invalid {
            return plan.refuse(PlanErrorCode::Invalid, message.clone());
        }
        if !self.config.enabled {
            return self.plan_disabled(request, plan);
        }
        if resolved.principal.is_none() {
            let message = "no principal: namespaces are enabled and unauthenticated requests are denied".to_owned();
            return plan.refuse(PlanErrorCode::Unauthenticated, message);
        }
        let own = self.self_namespace(resolved.principal.as_ref().expect("checked above"));
        let subject = Subject { own: Some(&own), ..self.subject(&request.caller, &resolved, catalog) };
        let mut planner = Planner { policy: self, subject, own: &own, request, catalog, plan };
        planner.run();
        planner.plan
    }

    /// The kind of namespace `ns` is for `plan`: what a namespace that comes into being on a
    /// write through this plan is created as (the layer that named it decides).
    pub fn kind_of(&self, plan: &ScopePlan, ns: &NamespaceKey) -> NamespaceKind {
        if *ns == self.config.default_namespace {
            return NamespaceKind::Default;
        }
        if *ns == self.config.shared_namespace {
            return NamespaceKind::Shared;
        }
        let layer = plan.layers.iter().find(|l| l.namespace.as_ref() == Some(ns)).map(|l| l.layer.as_str());
        match layer.and_then(ScopeLayer::parse) {
            Some(ScopeLayer::TeamProject) => NamespaceKind::TeamProject,
            Some(ScopeLayer::UserProject) if ns.as_str().contains(BRANCH_MARK) => NamespaceKind::Branch,
            Some(ScopeLayer::UserProject) => NamespaceKind::Project,
            Some(ScopeLayer::UserGlobal) => NamespaceKind::SelfNs,
            _ if layer == Some("self") => NamespaceKind::SelfNs,
            _ => NamespaceKind::Explicit,
        }
    }

    fn plan_disabled(&self, request: &PlanRequest, mut plan: ScopePlan) -> ScopePlan {
        let default = self.config.default_namespace.clone();
        let named = request.write.iter().chain(match &request.read {
            ReadRequest::Explicit(list) => list.iter(),
            _ => [].iter(),
        });
        for ns in named.filter(|n| n.trim() != default.as_str()) {
            plan.warnings.push(format!("namespaces are disabled: {ns:?} resolves to {:?}", default.as_str()));
        }
        plan.layers.push(LayerInfo {
            layer: "default".into(),
            namespace: Some(default.clone()),
            readable: true,
            writable: true,
            promotable: false,
            reason: "namespaces are disabled: every caller reads and writes the default namespace".into(),
        });
        plan.read = vec![default.clone()];
        plan.write = Some(default);
        plan
    }
}

impl ScopePlan {
    fn refuse(mut self, code: PlanErrorCode, message: String) -> ScopePlan {
        self.read.clear();
        self.write = None;
        self.write_refusal = None;
        self.readable_when_named.clear();
        self.error = Some(PlanError { code, message });
        self
    }
}

/// A layer resolved for this request, before it becomes a [`LayerInfo`].
struct Slot {
    layer: String,
    namespace: Option<NamespaceKey>,
    access: Access,
    promotable: bool,
    reason: String,
    /// Rendered by a template or profile for this request: it counts as existing.
    rendered: bool,
}

struct Planner<'a> {
    policy: &'a Policy,
    subject: Subject<'a>,
    /// The principal's self namespace, computed once per plan.
    own: &'a NamespaceKey,
    request: &'a PlanRequest,
    catalog: &'a dyn NamespaceCatalog,
    plan: ScopePlan,
}

impl Planner<'_> {
    fn principal(&self) -> &Principal {
        self.subject.principal.expect("checked before planning")
    }

    fn run(&mut self) {
        let slots = self.layer_slots();
        let write = self.write_target(&slots);
        let read = self.read_set(&slots);
        self.plan.promotion_targets = self.promotion_targets(&slots);
        // `promotable` means "an authorized promotion target of this plan", nothing looser.
        let promotable = |ns: &Option<NamespaceKey>| {
            ns.is_some() && self.plan.promotion_targets.iter().any(|t| t.authorized && t.namespace == *ns)
        };
        let everything = self.request.read.is_everything();
        let mut layers: Vec<LayerInfo> = slots
            .into_iter()
            .map(|s| {
                // A readable layer that sensitivity kept out of the read set says so.
                let left_out =
                    s.namespace.as_ref().filter(|ns| s.access.read && self.plan.readable_when_named.contains(ns));
                let reason = match left_out.and_then(|ns| self.left_out_for_sensitivity(ns, everything)) {
                    Some(why) => format!("{}; not read: {why}", s.reason),
                    None => s.reason,
                };
                LayerInfo {
                    promotable: promotable(&s.namespace),
                    layer: s.layer,
                    namespace: s.namespace,
                    readable: s.access.read,
                    writable: s.access.can_write_target(),
                    reason,
                }
            })
            .collect();
        layers.append(&mut self.plan.layers);
        // A refused plan keeps its layers and warnings, the explanation of the refusal.
        self.plan.layers = layers;
        let (read, write) = match (read, write) {
            (Ok(read), Ok(write)) => (read, write),
            (Err((code, message)), _) | (_, Err((code, message))) => return self.refuse(code, message),
        };
        let mut read = read;
        // An empty list or one with `*` is an implicit read set too (see `read_set`); testing
        // only for `Explicit(_)` let `read: ["a", "*"]` write outside its read set.
        let everything = self.request.read.is_everything();
        if let Some(w) = &write
            && self.request.read.named().is_none()
            && !read.contains(w)
        {
            // A principal never writes where it cannot read: the write target joins the read
            // set, unless its sensitivity keeps it out of implicit ones (seeds/004); then it
            // is read only where a request names it.
            if self.left_out_for_sensitivity(w, everything).is_some() {
                self.note_readable_when_named(w);
            } else {
                read.push(w.clone());
            }
        }
        self.plan.read = read;
        self.plan.write = write;
    }

    fn refuse(&mut self, code: PlanErrorCode, message: String) {
        self.plan.read.clear();
        self.plan.readable_when_named.clear();
        self.plan.write = None;
        // The whole request is refused: a refusal of its writes alone says nothing more.
        self.plan.write_refusal = None;
        self.plan.error = Some(PlanError { code, message });
    }

    // ---- layers ------------------------------------------------------------------------------

    /// The layers of the default read set, in order: the profile's read order, or the key's
    /// scopes, or `default_recall`; then policies included in recall by default.
    fn layer_slots(&mut self) -> Vec<Slot> {
        if let Some(key) = self.request.caller.api_key.as_ref().filter(|k| !k.scopes.is_empty()) {
            let mut slots = Vec::with_capacity(key.scopes.len());
            for scope in &key.scopes {
                slots.push(self.policy_slot("key-scope", scope.namespace.clone()));
            }
            return slots;
        }
        let mut slots = Vec::new();
        if let Some(profile) = self.policy.active_profile() {
            for layer in &profile.read_order {
                self.profile_slots(*layer, &mut slots);
            }
            // Promotion targets outside the read order are listed too, so every layer the
            // plan speaks of has a row.
            for layer in &profile.promotion_targets {
                if !profile.read_order.contains(layer) {
                    self.profile_slots(*layer, &mut slots);
                }
            }
        } else {
            for entry in &self.policy.config.default_recall {
                match entry {
                    RecallEntry::SelfNamespace => {
                        slots.push(self.policy_slot("self", self.own.clone()));
                    }
                    RecallEntry::Shared => {
                        slots.push(self.policy_slot("shared", self.policy.config.shared_namespace.clone()));
                    }
                    RecallEntry::Namespace(ns) => slots.push(self.policy_slot("recall", ns.clone())),
                    RecallEntry::All => {
                        for ns in self.all_candidates(&[]) {
                            slots.push(self.policy_slot("recall", ns));
                        }
                    }
                }
            }
        }
        for &i in &self.policy.include_by_default {
            let ns = self.policy.config.policies[i].namespace.clone();
            let (access, reason) = self.policy.policy_access(self.subject, i, "included in recall by default; ");
            if !access.read {
                // Policies the caller cannot read are no layer of its plan; listing every one
                // would bury the layers that matter (and cost time on every request).
                continue;
            }
            let promotable = access.can_write_target();
            slots.push(Slot {
                layer: "policy".into(),
                namespace: Some(ns),
                access,
                promotable,
                reason,
                rendered: false,
            });
        }
        slots
    }

    /// A slot whose rights come from the policies (and key scopes) alone.
    fn policy_slot(&self, layer: &str, ns: NamespaceKey) -> Slot {
        let (access, reason) = self.policy.access(self.subject, &ns);
        Slot {
            layer: layer.into(),
            namespace: Some(ns),
            access,
            promotable: access.can_write_target(),
            reason,
            rendered: false,
        }
    }

    fn unavailable(layer: ScopeLayer, reason: String) -> Slot {
        Slot {
            layer: layer.as_str().into(),
            namespace: None,
            access: Access::NONE,
            promotable: false,
            reason,
            rendered: false,
        }
    }

    /// Appends the slots of one profile layer (several for `teamProject` when the principal is
    /// in several teams).
    fn profile_slots(&mut self, layer: ScopeLayer, slots: &mut Vec<Slot>) {
        let own = self.own;
        match layer {
            ScopeLayer::UserGlobal => {
                let mut slot = self.policy_slot(layer.as_str(), own.clone());
                slot.rendered = true;
                slots.push(slot);
            }
            ScopeLayer::ServerShared => {
                slots.push(self.policy_slot(layer.as_str(), self.policy.config.shared_namespace.clone()));
            }
            ScopeLayer::UserProject => {
                let Some(project) = &self.request.project else {
                    return slots.push(Self::unavailable(layer, "skipped: missing project context".into()));
                };
                let mut name = format!("{own}{OVERLAY_MARK}{}", project_hash(&project.project_id));
                if let Some(branch) = &project.branch {
                    name.push_str(&format!("{BRANCH_MARK}{:08x}", fnv1a32(branch.as_bytes())));
                }
                match NamespaceKey::new(&name) {
                    Ok(ns) => {
                        let mut slot = self.policy_slot(layer.as_str(), ns);
                        slot.rendered = true;
                        slots.push(slot);
                    }
                    Err(e) => slots.push(Self::unavailable(
                        layer,
                        format!("disabled: the project overlay {name:?} is not a valid key ({e})"),
                    )),
                }
            }
            ScopeLayer::TeamProject => {
                let principal = self.principal().clone();
                self.team_slots(&principal, slots);
            }
        }
    }

    fn team_slots(&mut self, principal: &Principal, slots: &mut Vec<Slot>) {
        let layer = ScopeLayer::TeamProject;
        let (_, template) = self.policy.profile.as_ref().expect("profile layers need a profile");
        let teams = self.subject.member.teams;
        if teams.is_empty() {
            return slots.push(Self::unavailable(layer, format!("skipped: {:?} is in no team", principal.as_str())));
        }
        let project_id = match &self.request.project {
            Some(p) => p.project_id.as_str(),
            None if template.needs_project() => {
                return slots.push(Self::unavailable(layer, "skipped: missing project context".into()));
            }
            None => "",
        };
        for &t in teams {
            let team = &self.policy.config.teams[t];
            let values = TemplateValues { team_id: &team.id, principal: principal.as_str(), project_id };
            let ns = match template.render(values) {
                Ok(ns) => ns,
                Err(e) => {
                    self.plan.warnings.push(format!("teamProject layer of team {:?} disabled: {e}", team.id));
                    slots.push(Self::unavailable(layer, format!("disabled for team {:?}: {e}", team.id)));
                    continue;
                }
            };
            if !self.policy.is_protected(&ns) && Policy::is_principal_shaped(&ns) {
                // The project id is the caller's: it must not steer a team layer onto some
                // principal's own namespace or overlay (seeds/002: user namespaces stay
                // principal-isolated). Unsafe for this project only: the layer is disabled.
                let why = format!("renders {:?}, a name reserved for principals' own namespaces", ns.as_str());
                self.plan.warnings.push(format!("teamProject layer of team {:?} disabled: {why}", team.id));
                slots.push(Self::unavailable(layer, format!("disabled for team {:?}: {why}", team.id)));
                continue;
            }
            if let Some(kind) = self.catalog.kind(&ns).filter(|k| *k != NamespaceKind::TeamProject)
                && !self.policy.is_protected(&ns)
            {
                // A template only ever creates team-project namespaces; it never takes over one
                // that exists as something else (an explicit namespace a key is scoped to, say).
                let why = format!("renders {:?}, an existing {kind} namespace", ns.as_str());
                self.plan.warnings.push(format!("teamProject layer of team {:?} disabled: {why}", team.id));
                slots.push(Self::unavailable(layer, format!("disabled for team {:?}: {why}", team.id)));
                continue;
            }
            if self.policy.is_protected(&ns) {
                // A template never grants rights on a protected name: its policy decides.
                self.plan.warnings.push(format!(
                    "team {:?} renders the protected namespace {:?}; only its policy grants access",
                    team.id,
                    ns.as_str()
                ));
                let mut slot = self.policy_slot(layer.as_str(), ns);
                slot.reason = format!("team {:?} renders a protected name; {}", team.id, slot.reason);
                slots.push(slot);
                continue;
            }
            let sets = &self.policy.team_sets[t];
            let member = self.subject.member;
            let team_access = Access { read: sets.read.contains(member), write: sets.write.contains(member) };
            let promote = sets.promote.contains(member);
            let (access, scope_why) = self.policy.bound_by_scopes(self.subject, &ns, team_access);
            let promotable = match scope_why {
                Some(_) => promote && access.can_write_target(),
                None => promote && access.read,
            };
            let mut reason = sentence(&[
                Piece::T("team "),
                Piece::Q(&team.id),
                Piece::T(" gives "),
                Piece::Q(principal.as_str()),
                Piece::T(" "),
                Piece::T(team_access.describe()),
                Piece::T(if promote { " and promotion" } else { "" }),
            ]);
            if let Some(why) = scope_why {
                reason.push_str("; ");
                reason.push_str(&why);
            }
            slots.push(Slot {
                layer: layer.as_str().into(),
                namespace: Some(ns),
                access,
                promotable,
                reason,
                rendered: true,
            });
        }
    }

    // ---- existence -----------------------------------------------------------------------------

    /// `Ok(())` when `ns` exists and is active (or is rendered or configured and so comes into
    /// being on first write); else the 404 message.
    fn check_exists(&self, ns: &NamespaceKey, slots: &[Slot], for_write: bool) -> Result<(), String> {
        match self.catalog.status(ns) {
            Some(NamespaceStatus::Active) => Ok(()),
            Some(status) => Err(format!("namespace {:?} is {status}", ns.as_str())),
            None if slots.iter().any(|s| s.rendered && s.namespace.as_ref() == Some(ns)) => Ok(()),
            None if for_write && self.policy.is_configured(ns) => Ok(()),
            None => Err(format!("namespace {:?} not found", ns.as_str())),
        }
    }

    fn is_gone(&self, ns: &NamespaceKey) -> bool {
        matches!(self.catalog.status(ns), Some(NamespaceStatus::Archived | NamespaceStatus::Deleted))
    }

    // ---- read set -------------------------------------------------------------------------------

    fn read_set(&mut self, slots: &[Slot]) -> Result<Vec<NamespaceKey>, (PlanErrorCode, String)> {
        let Some(explicit) = self.request.read.named() else {
            return Ok(match &self.request.read {
                ReadRequest::Explicit(list) if list.is_empty() => self.default_read_set(slots),
                ReadRequest::Default => self.default_read_set(slots),
                _ => self.readable_everywhere(slots),
            });
        };
        let mut read = OrderedKeys::default();
        for raw in explicit {
            let ns = NamespaceKey::new(raw).map_err(|e| (PlanErrorCode::Invalid, e.to_string()))?;
            self.check_exists(&ns, slots, false).map_err(|m| (PlanErrorCode::NotFound, m))?;
            // Explicit names are ordinary namespaces: policies decide, never team templates.
            let (access, reason) = self.policy.access(self.subject, &ns);
            if !access.read {
                return Err((PlanErrorCode::Forbidden, format!("may not read {:?}: {reason}", ns.as_str())));
            }
            // One row per namespace, however often the caller repeats it.
            if !read.insert(&ns) {
                continue;
            }
            self.plan.layers.push(LayerInfo {
                layer: "explicit".into(),
                namespace: Some(ns),
                readable: true,
                writable: access.can_write_target(),
                promotable: false,
                reason,
            });
        }
        Ok(read.keys)
    }

    fn default_read_set(&mut self, slots: &[Slot]) -> Vec<NamespaceKey> {
        let mut read = OrderedKeys::default();
        for slot in slots.iter().filter(|s| s.access.read) {
            let ns = slot.namespace.as_ref().expect("readable slots have a namespace");
            if self.is_gone(ns) {
                self.plan.warnings.push(format!(
                    "{} layer {:?} is archived or deleted; not read",
                    slot.layer,
                    ns.as_str()
                ));
            } else if let Some(why) = self.left_out_for_sensitivity(ns, false) {
                self.plan.warnings.push(format!("{} layer {:?} not read: {why}", slot.layer, ns.as_str()));
                self.note_readable_when_named(ns);
            } else {
                read.insert(ns);
            }
        }
        read.keys
    }

    /// Why a readable namespace stays out of an implicit read set (the default one, or `*`
    /// when `everything`), if it does: seeds/004 sensitivity.
    fn left_out_for_sensitivity(&self, ns: &NamespaceKey, everything: bool) -> Option<&'static str> {
        match self.catalog.facts(ns).map(|f| f.sensitivity) {
            Some(Sensitivity::Restricted) => Some("restricted: never in a default read set or *; name it to read it"),
            Some(Sensitivity::Sensitive) if everything && !self.request.include_sensitive => {
                Some("sensitive: not in * unless sensitive namespaces are asked for (include_sensitive)")
            }
            _ => None,
        }
    }

    fn note_readable_when_named(&mut self, ns: &NamespaceKey) {
        if !self.plan.readable_when_named.contains(ns) {
            self.plan.readable_when_named.push(ns.clone());
        }
    }

    /// `*`: every namespace the caller can read: the readable layers, then every other known
    /// namespace (catalog, configuration, key scopes) that the policies let it read, by key.
    fn readable_everywhere(&mut self, slots: &[Slot]) -> Vec<NamespaceKey> {
        let mut read: Vec<NamespaceKey> = self.default_read_set(slots);
        // Sensitive layers of the default read set are not part of `*` unless asked for.
        let layers = std::mem::take(&mut read);
        for ns in layers {
            match self.left_out_for_sensitivity(&ns, true) {
                Some(why) => {
                    self.plan.warnings.push(format!("{:?} not read: {why}", ns.as_str()));
                    self.note_readable_when_named(&ns);
                }
                None => read.push(ns),
            }
        }
        // Candidates are unique and never layers, so none repeats a namespace already read.
        for ns in self.all_candidates(slots) {
            let (access, reason) = self.policy.access(self.subject, &ns);
            let left_out = access.read.then(|| self.left_out_for_sensitivity(&ns, true)).flatten();
            let admitted = access.read && left_out.is_none();
            if let Some(why) = left_out {
                self.note_readable_when_named(&ns);
                self.plan.layers.push(LayerInfo {
                    layer: "all".into(),
                    namespace: Some(ns),
                    readable: false,
                    writable: false,
                    promotable: false,
                    reason: format!("{reason}; not in *: {why}"),
                });
                continue;
            }
            self.plan.layers.push(LayerInfo {
                layer: "all".into(),
                namespace: Some(ns.clone()),
                readable: admitted,
                writable: admitted && access.can_write_target(),
                promotable: false,
                reason,
            });
            if admitted {
                read.push(ns);
            }
        }
        read
    }

    /// Known, active namespaces that are not already layers, sorted by key.
    fn all_candidates(&self, slots: &[Slot]) -> Vec<NamespaceKey> {
        let mut all: Vec<NamespaceKey> = self.catalog.active_keys();
        all.extend(self.policy.configured_namespaces().filter(|ns| !self.is_gone(ns)).cloned());
        if let Some(key) = &self.request.caller.api_key {
            all.extend(key.scopes.iter().map(|s| s.namespace.clone()).filter(|ns| !self.is_gone(ns)));
        }
        all.sort();
        all.dedup();
        // Sorted layer keys and a binary search: a scan per candidate was quadratic with many
        // policies included in recall by default.
        let mut layers: Vec<&NamespaceKey> = slots.iter().filter_map(|s| s.namespace.as_ref()).collect();
        layers.sort();
        all.retain(|ns| layers.binary_search(&ns).is_err());
        all
    }

    // ---- write target ---------------------------------------------------------------------------

    fn write_target(&mut self, slots: &[Slot]) -> Result<Option<NamespaceKey>, (PlanErrorCode, String)> {
        if let Some(raw) = &self.request.write {
            let ns = NamespaceKey::new(raw).map_err(|e| (PlanErrorCode::Invalid, e.to_string()))?;
            self.check_exists(&ns, slots, true).map_err(|m| (PlanErrorCode::NotFound, m))?;
            let (access, reason) = self.policy.access(self.subject, &ns);
            if !access.can_write_target() {
                return Err((PlanErrorCode::Forbidden, format!("may not write {:?}: {reason}", ns.as_str())));
            }
            return Ok(Some(ns));
        }
        // The default chain (SPEC 4, precise rules): the first target the configuration
        // defines wins: the key's default namespace, else the profile's write layer (skipped
        // when it renders nothing, e.g. without project context), else self (which is
        // `default` for a principal without a self namespace). A chosen target that is
        // unavailable refuses the write; the chain never moves on to a namespace that more
        // principals may read.
        let policy = self.policy;
        if let Some(ns) = self.request.caller.api_key.as_ref().and_then(|k| k.default_namespace.as_ref()) {
            let (access, reason) = policy.access(self.subject, ns);
            return Ok(self.choose_write("the API key's default namespace", ns, access, &reason));
        }
        if let Some(profile) = policy.active_profile() {
            let layer = profile.write_default;
            let what = match layer {
                ScopeLayer::UserProject => "writeDefault userProject",
                ScopeLayer::TeamProject => "writeDefault teamProject",
                ScopeLayer::UserGlobal => "writeDefault userGlobal",
                ScopeLayer::ServerShared => "writeDefault serverShared",
            };
            let rows: Vec<&Slot> = slots.iter().filter(|s| s.layer == layer.as_str()).collect();
            if rows.is_empty() {
                // Only a scoped key's plan has no profile rows: its scopes replace the layers.
                let why = "an API key with scopes uses its scopes instead of the scope profile's layers";
                self.plan.warnings.push(format!("{what} unavailable: {why}"));
            }
            let rendered: Vec<&Slot> = rows.iter().copied().filter(|s| s.namespace.is_some()).collect();
            for slot in rows.iter().filter(|s| s.namespace.is_none()) {
                self.plan.warnings.push(format!("{what} unavailable: {}", slot.reason));
            }
            // Several teams may each render one: the first available of them is the target.
            if let Some(slot) = rendered
                .iter()
                .find(|s| s.access.can_write_target() && !self.is_gone(s.namespace.as_ref().expect("rendered")))
            {
                return Ok(slot.namespace.clone());
            }
            if let Some(first) = rendered.first() {
                let ns = first.namespace.clone().expect("rendered");
                return Ok(self.choose_write(what, &ns, first.access, &first.reason));
            }
        }
        let own = self.own;
        let (access, reason) = policy.access(self.subject, own);
        let what = if *own == policy.config.default_namespace { "the default namespace" } else { "the self namespace" };
        Ok(self.choose_write(what, own, access, &reason))
    }

    /// The write default `ns` the chain chose, when it is available to this caller; else
    /// `None`, with the refusal recorded in the plan.
    fn choose_write(&mut self, what: &str, ns: &NamespaceKey, access: Access, reason: &str) -> Option<NamespaceKey> {
        let (code, why) = if self.is_gone(ns) {
            (PlanErrorCode::NotFound, "it is archived or deleted".to_owned())
        } else if access.can_write_target() {
            return Some(ns.clone());
        } else {
            (PlanErrorCode::Forbidden, reason.to_owned())
        };
        let message = format!(
            "{what} {:?} unavailable: {why}; writes are refused rather than sent to another namespace",
            ns.as_str()
        );
        self.plan.warnings.push(message.clone());
        self.plan.write_refusal = Some(PlanError { code, message });
        None
    }

    // ---- promotion ------------------------------------------------------------------------------

    fn promotion_targets(&self, slots: &[Slot]) -> Vec<PromotionTarget> {
        let Some(profile) = self.policy.active_profile() else {
            let shared = self.policy.config.shared_namespace.clone();
            let (access, reason) = self.policy.access(self.subject, &shared);
            return vec![PromotionTarget {
                target: "shared".into(),
                authorized: access.can_write_target() && !self.is_gone(&shared),
                namespace: Some(shared),
                reason,
            }];
        };
        let mut targets = Vec::new();
        for layer in &profile.promotion_targets {
            for slot in slots.iter().filter(|s| s.layer == layer.as_str()) {
                let gone = slot.namespace.as_ref().is_some_and(|ns| self.is_gone(ns));
                targets.push(PromotionTarget {
                    target: layer.as_str().into(),
                    namespace: slot.namespace.clone(),
                    authorized: slot.promotable && !gone,
                    reason: if gone { "archived or deleted".into() } else { slot.reason.clone() },
                });
            }
        }
        targets
    }
}

/// Keys in insertion order without repeats: linear probing while small (a plan usually names
/// a handful of namespaces), a hash index once large, so 100k layers or requested names stay
/// linear overall.
#[derive(Default)]
struct OrderedKeys {
    keys: Vec<NamespaceKey>,
    index: Option<HashSet<NamespaceKey>>,
}

impl OrderedKeys {
    const LINEAR_UP_TO: usize = 32;

    /// Appends `ns` unless present; whether it was new.
    fn insert(&mut self, ns: &NamespaceKey) -> bool {
        let new = match &mut self.index {
            Some(index) => index.insert(ns.clone()),
            None => !self.keys.contains(ns),
        };
        if !new {
            return false;
        }
        if self.index.is_none() && self.keys.len() >= Self::LINEAR_UP_TO {
            self.index = Some(self.keys.iter().chain([ns]).cloned().collect());
        }
        self.keys.push(ns.clone());
        true
    }
}
