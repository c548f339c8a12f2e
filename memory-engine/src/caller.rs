//! Who is asking: the tenant, the identity facts the front end found (handed to the one scope
//! resolver, never interpreted here), the project context, and whether the front end is a
//! trusted operator.

use memory_core::{ApiKeyId, Principal, Result, TenantId};
use memory_policy::{Caller as Identity, ProjectContext};

/// The caller of one engine operation. Every operation takes one and gets its namespaces from
/// the scope resolver ([`memory_policy::Policy::plan`]); nothing here grants access by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The tenant everything happens in; nothing ever crosses tenants.
    pub tenant: TenantId,
    /// Header principal, API key grant, server principal and session key, as found.
    pub identity: Identity,
    /// The project (and branch) the request works in, for project layers.
    pub project: Option<ProjectContext>,
    /// A trusted operator (the local CLI on its own files, an admin credential of the server):
    /// may manage namespaces, import, export and read the audit log of any namespace of the
    /// tenant. Recall, get and writes of memories still go through the policy like everyone
    /// else's, so an operator's own reads never leak either.
    pub operator: bool,
}

impl Caller {
    /// A caller of `tenant` with these identity facts.
    pub fn new(tenant: TenantId, identity: Identity) -> Self {
        Caller { tenant, identity, project: None, operator: false }
    }

    /// The default tenant, acting as `principal` (as a server principal would).
    pub fn principal(principal: &str) -> Result<Self> {
        Ok(Caller::new(TenantId::default_tenant(), Identity::principal(Principal::new(principal)?)))
    }

    /// Sets the session key (for session-key rules and provenance).
    pub fn with_session_key(mut self, key: impl Into<String>) -> Self {
        self.identity.session_key = Some(key.into());
        self
    }

    /// Sets the project context.
    pub fn with_project(mut self, project: ProjectContext) -> Self {
        self.project = Some(project);
        self
    }

    /// Marks the caller as a trusted operator.
    pub fn as_operator(mut self) -> Self {
        self.operator = true;
        self
    }

    /// The API key id, for audit.
    pub(crate) fn key_id(&self) -> Option<ApiKeyId> {
        self.identity.api_key.as_ref().and_then(|k| k.key_id)
    }
}
