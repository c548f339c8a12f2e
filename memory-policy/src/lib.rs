//! Compiles trusted namespace policies, teams and scope profiles into one scope resolver that
//! answers, per request, where a principal reads and writes and why (SPEC 1 and 4).
//!
//! Pure code, no IO but reading the configuration file; it fails closed: an invalid
//! configuration yields diagnostics and no [`Policy`], and every question a policy cannot
//! answer positively is a denial with a reason.
//!
//! The flow: [`load::parse`] / [`load::load_file`] -> [`PolicyConfig`] (validated) ->
//! [`Policy::new`] (indexes, compiled regexes) -> [`Policy::plan`] for every request.
//!
//! Rights, first that applies: a key's scopes (narrowing a trusted header principal's rights
//! instead), the policy naming the namespace, the defaults of `default` and `shared`, then a
//! namespace created over the API or the CLI ([`NamespaceFacts`], kind `explicit`) follows its
//! default access (seeds/004): `public`/`org` every principal of the tenant reads and its
//! creator, its team's writers and admins write; `team` its owning team's `read`/`write` lists
//! (`private` without a team); `private` its creator and tenant admins. Then, with a profile,
//! the principal's own namespaces; everything else is denied. Sensitivity shapes implicit read
//! sets only: `restricted` is never in a default read set or `*`, `sensitive` not in `*` unless
//! asked for; both stay readable when named ([`ScopePlan::readable_when_named`]), and neither is
//! a source of auto-promotion (`restricted` no target either). docs/configuration.md has the
//! table and the seed's example.
//!
//! The loader reads the whole configuration file, so it also validates the engine's settings
//! ([`EngineSettings`], in [`PolicyConfig::engine`]); the resolver ignores them.

mod catalog;
mod config;
pub mod load;
mod plan;
mod policy;
mod principal;
mod promotion;
mod template;

pub use catalog::{ConfiguredCatalog, NamespaceCatalog, NamespaceFacts};
pub use config::{
    AutoPromoteToShared, DEFAULT_TEAM_PROJECT_TEMPLATE, Diagnostic, EMBEDDER_NAMES, EngineSettings, MAX_PATTERN_CHARS,
    MAX_REGEX_SESSION_KEY_CHARS, MaintenanceSettings, NamespacePolicy, PolicyConfig, PrincipalRef, ProfileAutoPromote,
    RecallEntry, RecallSettings, ScopeLayer, ScopeProfile, SessionKeyMode, SessionKeyRule, Severity, Team,
};
pub use plan::{
    LayerInfo, PlanError, PlanErrorCode, PlanRequest, ProjectContext, PromotionTarget, ReadRequest, ScopePlan,
};
pub use policy::{Access, Policy, Verdict};
pub use principal::{Caller, KeyGrant, PrincipalSource, ResolvedPrincipal};
pub use promotion::{AutoPromotion, Operation};
pub use template::{Template, TemplateValues, fnv1a32, project_hash, project_namespace};
