//! API keys (SPEC 1 and 4): issued by an operator, bound to one tenant and one principal,
//! optionally narrowed to (namespace, permission) scopes. Only the hash is stored; the secret is
//! shown once, at creation. Every change is audited.

use memory_core::{
    ApiKey, ApiKeyId, AuditOutcome, Error, KeyHash, KeyScope, NamespaceKey, Principal, Result, TenantId,
    validate_scopes,
};
use memory_policy::KeyGrant;
use rand::RngCore;
use serde_json::json;

use crate::caller::Caller;
use crate::engine::Engine;

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
        self.operator_only(caller, "key.create").await?;
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
        };
        key.validate()?;
        self.inner.store.create_api_key(key.clone()).await?;
        let detail = json!({ "key": key.id, "principal": key.principal, "scopes": key.scopes.len() });
        self.audit(caller, None, "key.create", AuditOutcome::Ok, detail).await?;
        Ok(IssuedKey { key, secret })
    }

    /// The tenant's keys, revoked ones included. Operators only.
    pub async fn list_keys(&self, caller: &Caller) -> Result<Vec<ApiKey>> {
        self.operator_only(caller, "key.list").await?;
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
        self.operator_only(caller, "key.update").await?;
        let key =
            self.inner.store.update_api_key_scopes(&caller.tenant, id, scopes, default_namespace, self.now()).await?;
        let detail = json!({ "key": id, "scopes": key.scopes.len() });
        self.audit(caller, None, "key.update", AuditOutcome::Ok, detail).await?;
        Ok(key)
    }

    /// Revokes a key; returns whether it changed. Operators only.
    pub async fn revoke_key(&self, caller: &Caller, id: ApiKeyId) -> Result<bool> {
        self.operator_only(caller, "key.revoke").await?;
        let changed = self.inner.store.revoke_api_key(&caller.tenant, id, self.now()).await?;
        self.audit(caller, None, "key.revoke", AuditOutcome::Ok, json!({ "key": id, "changed": changed })).await?;
        Ok(changed)
    }

    /// The tenant and grant of an unrevoked key with this secret, for front ends that
    /// authenticate requests; `None` for an unknown or revoked secret.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<(TenantId, KeyGrant)>> {
        let Some(key) = self.inner.store.find_api_key(&KeyHash::of_secret(secret.trim())).await? else {
            return Ok(None);
        };
        let grant = KeyGrant {
            key_id: Some(key.id),
            principal: key.principal,
            scopes: key.scopes,
            default_namespace: key.default_namespace,
        };
        Ok(Some((key.tenant, grant)))
    }

    async fn operator_only(&self, caller: &Caller, op: &str) -> Result<()> {
        if caller.operator {
            return Ok(());
        }
        let err = Error::forbidden("API keys are managed by operators");
        self.audit_denied(caller, None, op, &err).await;
        Err(err)
    }
}
