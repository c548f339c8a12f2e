//! Promotion rules (SPEC 4 "Promotion"): may a principal promote into a namespace, and where
//! does an extracted memory get promoted automatically.

use memory_core::{Category, Confidence, NamespaceKey, Sensitivity};
use serde::Serialize;

use crate::catalog::NamespaceCatalog;
use crate::plan::PlanRequest;
use crate::policy::{Policy, Verdict};
use crate::principal::Caller;

/// Where an extracted memory is promoted automatically, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutoPromotion {
    /// Target namespaces, in order (empty: none).
    pub targets: Vec<NamespaceKey>,
    /// Why these (or why none).
    pub reason: String,
}

impl AutoPromotion {
    fn none(reason: impl Into<String>) -> Self {
        AutoPromotion { targets: Vec::new(), reason: reason.into() }
    }
}

/// What [`Policy::can`] is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Read (recall, get, list).
    Read,
    /// Write (remember, update, forget).
    Write,
    /// Promote a memory into the namespace.
    Promote,
}

impl Policy {
    /// May `caller` do `operation` on the explicitly named namespace `namespace`? Explicit names
    /// are judged by the namespace policies and key scopes, and for namespaces of `catalog`
    /// created over the API or the CLI by their default access (a team-project name given by
    /// a caller is an ordinary namespace); a write or promotion also needs read access.
    pub fn can(
        &self,
        caller: &Caller,
        operation: Operation,
        namespace: &str,
        catalog: &dyn NamespaceCatalog,
    ) -> Verdict {
        let ns = match NamespaceKey::new(namespace) {
            Ok(ns) => ns,
            Err(e) => return Verdict { allowed: false, reason: e.to_string() },
        };
        let resolved = self.resolve_principal(caller);
        if let Some(invalid) = resolved.invalid {
            return Verdict { allowed: false, reason: invalid };
        }
        let (access, reason) = self.access(self.subject(caller, &resolved, catalog), &ns);
        let allowed = match operation {
            Operation::Read => access.read,
            Operation::Write | Operation::Promote => access.can_write_target(),
        };
        let reason = match operation {
            Operation::Write | Operation::Promote if access.write && !access.read => {
                format!("{reason}; a namespace that cannot be read is never written")
            }
            Operation::Promote => format!("promotion into {:?} needs write access: {reason}", ns.as_str()),
            _ => reason,
        };
        Verdict { allowed, reason }
    }

    /// May `caller` create the namespace `namespace` over the API or the CLI (and so become its
    /// creator)? A key with scopes only within them, read-write; a namespace the configuration
    /// names (`default`, `shared`, a policy's) needs write access under its rules; a name a
    /// template or a principal's own namespace could render is reserved for that, and under a
    /// scope profile (where any name may be some principal's own) so is every name but the
    /// caller's own; any other name is free to every authenticated principal, and its default
    /// access then decides who else may use it (seeds/004).
    pub fn can_create(&self, caller: &Caller, namespace: &str, catalog: &dyn NamespaceCatalog) -> Verdict {
        let deny = |reason: String| Verdict { allowed: false, reason };
        let ns = match NamespaceKey::new(namespace) {
            Ok(ns) => ns,
            Err(e) => return deny(e.to_string()),
        };
        let resolved = self.resolve_principal(caller);
        if let Some(invalid) = resolved.invalid {
            return deny(invalid);
        }
        let subject = self.subject(caller, &resolved, catalog);
        if !self.config.enabled || subject.principal.is_none() || subject.scopes.is_some() || self.is_configured(&ns) {
            return self.can(caller, Operation::Write, namespace, catalog);
        }
        let principal = subject.principal.expect("checked above");
        if self.profile.is_some() && !self.is_own(principal, subject.own, &ns) {
            // Under a scope profile any name may be some principal's own namespace: a creator
            // would gain rights on what that principal writes there.
            return deny(format!(
                "with a scope profile any name may be a principal's own namespace; only an operator \
                 may create {:?}",
                ns.as_str()
            ));
        }
        if Policy::is_principal_shaped(&ns) || self.is_template_shaped(&ns) {
            return deny(format!(
                "{:?} is shaped like a namespace a team template or a principal's own namespace renders; \
                 only an operator may create it",
                ns.as_str()
            ));
        }
        Verdict {
            allowed: true,
            reason: format!(
                "no policy names {:?}: any principal may create it, and its default access decides who else uses it",
                ns.as_str()
            ),
        }
    }

    /// Where an extracted memory of `category` and `confidence`, written into `from` by the
    /// request's caller, is promoted automatically.
    ///
    /// With an active profile that has `auto_promote`, the profile decides (its legacy
    /// counterparts are ignored): enabled, category allowed, tier high enough, and each target
    /// layer must be an authorized promotion target of the plan. Otherwise the legacy flags
    /// decide: promotion into the shared namespace, an operator-level switch that needs no
    /// write right of the principal but stays inside an API key's scopes. Never into `from`
    /// itself, so nothing is promoted from the shared namespace into itself.
    pub fn auto_promotion(
        &self,
        request: &PlanRequest,
        catalog: &dyn NamespaceCatalog,
        from: &NamespaceKey,
        category: &Category,
        confidence: Confidence,
    ) -> AutoPromotion {
        if !self.config.enabled {
            return AutoPromotion::none("namespaces are disabled");
        }
        match catalog.facts(from).map(|f| f.sensitivity) {
            Some(Sensitivity::Restricted) => {
                return AutoPromotion::none("the source namespace is restricted: never a source of auto-promotion");
            }
            Some(Sensitivity::Sensitive) => {
                return AutoPromotion::none("the source namespace is sensitive: never a source of auto-promotion");
            }
            _ => {}
        }
        let restricted =
            |ns: &NamespaceKey| catalog.facts(ns).is_some_and(|f| f.sensitivity == Sensitivity::Restricted);
        let plan = self.plan(request, catalog);
        if let Some(error) = &plan.error {
            return AutoPromotion::none(format!("no plan: {}", error.message));
        }
        let tier = confidence.tier();
        if let Some(auto) = self.active_profile().and_then(|p| p.auto_promote.as_ref()) {
            if !auto.enabled {
                return AutoPromotion::none("the scope profile's autoPromote is off");
            }
            if !auto.categories.contains(category) {
                return AutoPromotion::none(format!(
                    "category {category} is not in the profile's autoPromote categories"
                ));
            }
            if tier < auto.min_confidence_tier {
                return AutoPromotion::none(format!(
                    "confidence tier {tier} is below the profile's minimum {}",
                    auto.min_confidence_tier
                ));
            }
            let mut targets = Vec::new();
            let mut skipped = Vec::new();
            for layer in &auto.targets {
                for t in plan.promotion_targets.iter().filter(|t| t.target == layer.as_str()) {
                    match &t.namespace {
                        Some(ns) if restricted(ns) => {
                            skipped.push(format!("{} is restricted: never a target of auto-promotion", layer.as_str()))
                        }
                        Some(ns) if t.authorized && ns != from => {
                            if !targets.contains(ns) {
                                targets.push(ns.clone());
                            }
                        }
                        Some(ns) if ns == from => skipped.push(format!("{} is the source namespace", layer.as_str())),
                        _ => skipped.push(format!("{} not authorized: {}", layer.as_str(), t.reason)),
                    }
                }
            }
            // Say so when nothing is left, rather than "promotes ... into its authorized targets".
            let mut reason = if targets.is_empty() {
                format!("the scope profile would promote {category} at tier {tier}, but no target is authorized")
            } else {
                format!("the scope profile promotes {category} at tier {tier} into its authorized targets")
            };
            if !skipped.is_empty() {
                reason.push_str(&format!(" (skipped: {})", skipped.join("; ")));
            }
            return AutoPromotion { targets, reason };
        }
        let legacy = &self.config.auto_promote_to_shared;
        let shared = &self.config.shared_namespace;
        if !legacy.enabled {
            return AutoPromotion::none("auto-promotion to shared is off (auto_promote_to_shared)");
        }
        if !legacy.categories.contains(category) {
            return AutoPromotion::none(format!("category {category} is not in auto_promote_categories"));
        }
        if tier < legacy.min_confidence_tier {
            return AutoPromotion::none(format!(
                "confidence tier {tier} is below auto_promote_min_confidence_tier {}",
                legacy.min_confidence_tier
            ));
        }
        if from == shared {
            return AutoPromotion::none("the memory is already in the shared namespace");
        }
        if restricted(shared) {
            return AutoPromotion::none("the shared namespace is restricted: never a target of auto-promotion");
        }
        if let Some(key) = request.caller.api_key.as_ref().filter(|k| !k.scopes.is_empty())
            && !key.scopes.iter().any(|s| s.namespace == *shared && s.permission == memory_core::Permission::ReadWrite)
        {
            return AutoPromotion::none("the API key's scopes do not allow writing the shared namespace");
        }
        AutoPromotion {
            targets: vec![shared.clone()],
            reason: format!(
                "auto-promotion to shared is on: {category} is promoted and tier {tier} meets the minimum {}",
                legacy.min_confidence_tier
            ),
        }
    }
}
