//! API keys (SPEC 1 and 4): issued by an operator, bound to one tenant and one principal,
//! optionally narrowed to (namespace, permission) scopes. Only the hash is stored; the secret is
//! shown once, at creation. Every change is audited.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use memory_core::{
    ApiKey, ApiKeyId, AuditOp, AuditOutcome, Error, KeyHash, KeyScope, NamespaceKey, Principal, Result, TenantId,
    validate_scopes,
};
use memory_policy::KeyGrant;
use rand::RngCore;
use serde_json::json;

use crate::caller::Caller;
use crate::engine::Engine;

/// How long an accepted key is trusted without reading the store again (see
/// [`Engine::authenticate`]).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);

/// Most keys remembered at once; beyond, the cache starts over.
const KEY_CACHE_CAPACITY: usize = 10_000;

/// Recently accepted keys, by hash (never by secret).
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    known: Mutex<HashMap<KeyHash, (Authenticated, Instant)>>,
}

impl KeyCache {
    fn get(&self, hash: &KeyHash) -> Option<Authenticated> {
        let known = self.known.lock().expect("key cache");
        known.get(hash).filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL).map(|(k, _)| k.clone())
    }

    fn put(&self, hash: KeyHash, key: Authenticated) {
        let mut known = self.known.lock().expect("key cache");
        if known.len() >= KEY_CACHE_CAPACITY {
            known.clear();
        }
        known.insert(hash, (key, Instant::now()));
    }

    fn clear(&self) {
        self.known.lock().expect("key cache").clear();
    }
}

/// Prefix of every secret, so leaked keys are easy to recognise and scan for.
pub const SECRET_PREFIX: &str = "mem_sk_";

/// A key to issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewKey {
    /// The principal the key acts as.
    pub principal: String,
    /// A human label (1..=200 characters).
    pub label: String,
    /// Scopes; empty means "the principal's rights under the policy".
    pub scopes: Vec<KeyScope>,
    /// Where writes without a namespace go.
    pub default_namespace: Option<NamespaceKey>,
    /// Whether the key manages its tenant (see [`ApiKey::admin`]).
    pub admin: bool,
}

/// What an accepted secret stands for: the caller of a request that presented it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The key's tenant: the request happens there and nowhere else.
    pub tenant: TenantId,
    /// What the key contributes to principal resolution and the plan.
    pub grant: KeyGrant,
    /// Whether the key is an admin key of its tenant.
    pub admin: bool,
}

impl Authenticated {
    /// The caller of a request made with this key, with the request's other identity facts
    /// (a header principal, which the policy honours only when it trusts the header, and a
    /// session key). An admin key is the operator of its tenant.
    pub fn caller(&self, header_principal: Option<String>, session_key: Option<String>) -> Caller {
        let identity = memory_policy::Caller {
            header_principal,
            api_key: Some(self.grant.clone()),
            session_key,
            ..memory_policy::Caller::default()
        };
        let caller = Caller::new(self.tenant.clone(), identity);
        if self.admin { caller.as_operator() } else { caller }
    }
}

/// An issued key and its secret (never stored, never shown again).
#[derive(Debug, Clone, PartialEq)]
pub struct IssuedKey {
    /// The stored record.
    pub key: ApiKey,
    /// The secret to hand to the client.
    pub secret: String,
}

impl Engine {
    /// Issues a key. Operators only.
    pub async fn create_key(&self, caller: &Caller, new: NewKey) -> Result<IssuedKey> {
        self.operator_only(caller, AuditOp::KeyCreate).await?;
        let principal = Principal::new(&new.principal)?;
        validate_scopes(&new.scopes)?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("{SECRET_PREFIX}{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let now = self.now();
        let key = ApiKey {
            id: ApiKeyId::new_v7(),
            tenant: caller.tenant.clone(),
            principal,
            label: new.label.trim().to_owned(),
            hash: KeyHash::of_secret(&secret),
            scopes: new.scopes,
            default_namespace: new.default_namespace,
            created_at: now,
            updated_at: now,
            revoked_at: None,
            admin: new.admin,
        };
        key.validate()?;
        self.inner.store.create_api_key(key.clone()).await?;
        let detail =
            json!({ "key": key.id, "principal": key.principal, "scopes": key.scopes.len(), "admin": key.admin });
        self.audit(caller, None, AuditOp::KeyCreate, AuditOutcome::Ok, detail).await?;
        Ok(IssuedKey { key, secret })
    }

    /// The tenant's keys, revoked ones included. Operators only.
    pub async fn list_keys(&self, caller: &Caller) -> Result<Vec<ApiKey>> {
        self.operator_only(caller, AuditOp::KeyList).await?;
        self.inner.store.list_api_keys(&caller.tenant).await
    }

    /// Replaces a key's scopes and default namespace. Operators only.
    pub async fn update_key_scopes(
        &self,
        caller: &Caller,
        id: ApiKeyId,
        scopes: Vec<KeyScope>,
        default_namespace: Option<NamespaceKey>,
    ) -> Result<ApiKey> {
        self.operator_only(caller, AuditOp::KeyUpdate).await?;
        let key =
            self.inner.store.update_api_key_scopes(&caller.tenant, id, scopes, default_namespace, self.now()).await?;
        self.inner.keys.clear();
        let detail = json!({ "key": id, "scopes": key.scopes.len() });
        self.audit(caller, None, AuditOp::KeyUpdate, AuditOutcome::Ok, detail).await?;
        Ok(key)
    }

    /// Revokes a key; returns whether it changed. Operators only.
    pub async fn revoke_key(&self, caller: &Caller, id: ApiKeyId) -> Result<bool> {
        self.operator_only(caller, AuditOp::KeyRevoke).await?;
        let changed = self.inner.store.revoke_api_key(&caller.tenant, id, self.now()).await?;
        self.inner.keys.clear();
        self.audit(caller, None, AuditOp::KeyRevoke, AuditOutcome::Ok, json!({ "key": id, "changed": changed }))
            .await?;
        Ok(changed)
    }

    /// What an unrevoked key with this secret stands for, for front ends that authenticate
    /// requests; `None` for an unknown or revoked secret.
    ///
    /// Accepted keys are remembered for [`KEY_CACHE_TTL`], so a busy server does not read the
    /// store on every request: a change made through this engine (revoke, new scopes) takes
    /// effect on the next request, one made by another process within that time.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<Authenticated>> {
        let hash = KeyHash::of_secret(secret.trim());
        if let Some(known) = self.inner.keys.get(&hash) {
            return Ok(Some(known));
        }
        let Some(key) = self.inner.store.find_api_key(&hash).await? else {
            return Ok(None);
        };
        let grant = KeyGrant {
            key_id: Some(key.id),
            principal: key.principal,
            scopes: key.scopes,
            default_namespace: key.default_namespace,
            admin: key.admin,
        };
        let known = Authenticated { tenant: key.tenant, grant, admin: key.admin };
        self.inner.keys.put(hash, known.clone());
        Ok(Some(known))
    }

    /// One key of the caller's tenant. Operators only; another tenant's key is `NotFound`.
    pub async fn get_key(&self, caller: &Caller, id: ApiKeyId) -> Result<ApiKey> {
        self.operator_only(caller, AuditOp::KeyGet).await?;
        self.inner
            .store
            .get_api_key(&caller.tenant, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("API key {id} not found")))
    }

    /// Every tenant of the store. For the operator of the whole installation (the local CLI):
    /// an admin key manages its own tenant only, so it may not list the others.
    pub async fn list_tenants(&self, caller: &Caller) -> Result<Vec<TenantId>> {
        if !(caller.operator && caller.identity.api_key.is_none()) {
            return Err(Error::forbidden("tenants are managed by the installation's operator"));
        }
        self.inner.store.list_tenants().await
    }

    /// Creates `tenant` (its `default` and `shared` namespaces) when it does not exist yet;
    /// returns whether it was new. For the operator of the whole installation.
    pub async fn create_tenant(&self, caller: &Caller, tenant: &TenantId) -> Result<bool> {
        let existed = self.list_tenants(caller).await?.contains(tenant);
        self.open_tenant(tenant).await?;
        if !existed {
            let mut as_tenant = caller.clone();
            as_tenant.tenant = tenant.clone();
            self.audit(&as_tenant, None, AuditOp::TenantCreate, AuditOutcome::Ok, json!({ "tenant": tenant })).await?;
        }
        Ok(!existed)
    }

    async fn operator_only(&self, caller: &Caller, op: AuditOp) -> Result<()> {
        if caller.operator {
            return Ok(());
        }
        let err = Error::forbidden("API keys are managed by operators");
        self.audit_denied(caller, None, op, &err).await;
        Err(err)
    }
}
