//! Audit records, API keys and review-queue proposals: the SQL behind those methods of
//! [`memory_core::Store`].
//!
//! Inserts use `ON CONFLICT DO NOTHING` and report a taken id as `AlreadyExists` themselves:
//! a unique-violation error would abort the whole transaction.

use memory_core::{
    ApiKey, ApiKeyId, AuditFilter, AuditId, AuditRecord, Decision, Error, KeyHash, KeyScope, NamespaceKey, Page,
    PageRequest, Principal, Proposal, ProposalFilter, ProposalId, Result, StoreId, TenantId, Timestamp,
};
use sqlx::AssertSqlSafe;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::Classify;
use crate::paging::{into_page, push_page};
use crate::rows::{
    API_KEY_COLUMNS, AUDIT_COLUMNS, PROPOSAL_COLUMNS, api_key_from_row, audit_from_row, json_text, micros, opt_micros,
    proposal_from_row,
};

/// The identity created with the database (the first migration).
pub(crate) async fn store_id(c: &mut PgConnection) -> Result<StoreId> {
    let id: Uuid = sqlx::query_scalar("SELECT store_id FROM store_meta").fetch_one(&mut *c).await.classify()?;
    Ok(StoreId::from_uuid(id))
}

// ---- audit ------------------------------------------------------------------------------------

pub(crate) async fn append_audit(c: &mut PgConnection, r: &AuditRecord) -> Result<()> {
    let sql = format!(
        "INSERT INTO audit ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING"
    );
    let origin = r.origin.as_ref().map(json_text).transpose()?;
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(r.id.as_uuid())
        .bind(r.tenant.as_str())
        .bind(r.namespace.as_ref().map(NamespaceKey::as_str))
        .bind(r.principal.as_ref().map(Principal::as_str))
        .bind(r.key_id.map(|k| k.as_uuid()))
        .bind(r.operation.as_str())
        .bind(r.outcome.as_str())
        .bind(json_text(&r.detail)?)
        .bind(micros(r.at))
        .bind(origin)
        .execute(&mut *c)
        .await
        .classify()?;
    if done.rows_affected() == 0 {
        return Err(Error::already_exists(format!("audit record {} already exists", r.id)));
    }
    Ok(())
}

pub(crate) async fn list_audit(
    c: &mut PgConnection,
    tenant: &TenantId,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditRecord>> {
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE tenant_id = "));
    qb.push_bind(tenant.as_str().to_owned());
    let mut term = |column: &str, value: Option<String>| {
        if let Some(v) = value {
            qb.push(format!(" AND {column} = ")).push_bind(v);
        }
    };
    term("namespace", filter.namespace.as_ref().map(|n| n.as_str().to_owned()));
    term("principal", filter.principal.as_ref().map(|p| p.as_str().to_owned()));
    term("operation", filter.operation.map(|o| o.as_str().to_owned()));
    term("outcome", filter.outcome.map(|o| o.as_str().to_owned()));
    push_page(&mut qb, "id", page, |id: AuditId| id.as_uuid())?;
    let rows = qb.build().fetch_all(&mut *c).await.classify()?;
    let rows = rows.iter().map(audit_from_row).collect::<Result<Vec<_>>>()?;
    debug_assert!(rows.iter().all(|r| filter.matches(r)), "SQL filter disagrees with AuditFilter::matches");
    Ok(into_page(rows, page.limit, |r| r.id))
}

// ---- API keys ---------------------------------------------------------------------------------

pub(crate) async fn create_api_key(c: &mut PgConnection, k: &ApiKey) -> Result<()> {
    let sql = format!(
        "INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT DO NOTHING"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(k.id.as_uuid())
        .bind(k.tenant.as_str())
        .bind(k.principal.as_str())
        .bind(&k.label)
        .bind(k.hash.as_str())
        .bind(json_text(&k.scopes)?)
        .bind(k.default_namespace.as_ref().map(NamespaceKey::as_str))
        .bind(micros(k.created_at))
        .bind(micros(k.updated_at))
        .bind(opt_micros(k.revoked_at))
        .bind(k.admin)
        .execute(&mut *c)
        .await
        .classify()?;
    if done.rows_affected() == 0 {
        return Err(Error::already_exists("an API key with this id or secret already exists"));
    }
    Ok(())
}

pub(crate) async fn find_api_key(c: &mut PgConnection, hash: &KeyHash) -> Result<Option<ApiKey>> {
    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE hash = $1 AND revoked_at IS NULL");
    let row = sqlx::query(AssertSqlSafe(sql)).bind(hash.as_str()).fetch_optional(&mut *c).await.classify()?;
    row.as_ref().map(api_key_from_row).transpose()
}

pub(crate) async fn get_api_key(c: &mut PgConnection, tenant: &TenantId, id: ApiKeyId) -> Result<Option<ApiKey>> {
    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 AND id = $2");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .classify()?;
    row.as_ref().map(api_key_from_row).transpose()
}

pub(crate) async fn list_api_keys(c: &mut PgConnection, tenant: &TenantId) -> Result<Vec<ApiKey>> {
    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY id");
    let rows = sqlx::query(AssertSqlSafe(sql)).bind(tenant.as_str()).fetch_all(&mut *c).await.classify()?;
    rows.iter().map(api_key_from_row).collect()
}

async fn existing_api_key(c: &mut PgConnection, tenant: &TenantId, id: ApiKeyId) -> Result<ApiKey> {
    get_api_key(c, tenant, id).await?.ok_or_else(|| Error::not_found(format!("API key {id} not found")))
}

pub(crate) async fn update_api_key_scopes(
    c: &mut PgConnection,
    tenant: &TenantId,
    id: ApiKeyId,
    scopes: Vec<KeyScope>,
    default_namespace: Option<NamespaceKey>,
    at: Timestamp,
) -> Result<ApiKey> {
    let mut key = existing_api_key(c, tenant, id).await?;
    if key.revoked_at.is_some() {
        return Err(Error::conflict(format!("API key {id} is revoked")));
    }
    key.scopes = scopes;
    key.default_namespace = default_namespace;
    key.updated_at = at.max(key.created_at);
    // `revoked_at IS NULL`: a revocation that committed meanwhile wins.
    let done = sqlx::query(
        "UPDATE api_keys SET scopes = $3, default_namespace = $4, updated_at = $5 \
         WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant.as_str())
    .bind(id.as_uuid())
    .bind(json_text(&key.scopes)?)
    .bind(key.default_namespace.as_ref().map(NamespaceKey::as_str))
    .bind(micros(key.updated_at))
    .execute(&mut *c)
    .await
    .classify()?;
    if done.rows_affected() == 0 {
        return Err(Error::conflict(format!("API key {id} is revoked")));
    }
    Ok(key)
}

pub(crate) async fn revoke_api_key(
    c: &mut PgConnection,
    tenant: &TenantId,
    id: ApiKeyId,
    at: Timestamp,
) -> Result<bool> {
    existing_api_key(c, tenant, id).await?;
    let done =
        sqlx::query("UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
            .bind(tenant.as_str())
            .bind(id.as_uuid())
            .bind(micros(at))
            .execute(&mut *c)
            .await
            .classify()?;
    Ok(done.rows_affected() > 0)
}

// ---- proposals --------------------------------------------------------------------------------

pub(crate) async fn create_proposal(c: &mut PgConnection, p: &Proposal) -> Result<()> {
    let sql = format!(
        "INSERT INTO proposals ({PROPOSAL_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT DO NOTHING"
    );
    let done = sqlx::query(AssertSqlSafe(sql))
        .bind(p.id.as_uuid())
        .bind(p.tenant.as_str())
        .bind(p.namespace.as_str())
        .bind(p.layer.as_str())
        .bind(&p.content)
        .bind(p.category.as_str())
        .bind(p.confidence.value())
        .bind(&p.reason)
        .bind(json_text(&p.source_memory_ids)?)
        .bind(p.proposed_by.as_ref().map(Principal::as_str))
        .bind(p.status.as_str())
        .bind(micros(p.created_at))
        .bind(opt_micros(p.decided_at))
        .bind(p.decided_by.as_ref().map(Principal::as_str))
        .bind(p.supersedes.map(|m| m.as_uuid()))
        .bind(json_text(&p.metadata)?)
        .execute(&mut *c)
        .await
        .classify()?;
    if done.rows_affected() == 0 {
        return Err(Error::already_exists(format!("proposal {} already exists", p.id)));
    }
    Ok(())
}

async fn fetch_proposal(
    c: &mut PgConnection,
    tenant: &TenantId,
    id: ProposalId,
    for_update: bool,
) -> Result<Option<Proposal>> {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE tenant_id = $1 AND id = $2{lock}");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .fetch_optional(&mut *c)
        .await
        .classify()?;
    row.as_ref().map(proposal_from_row).transpose()
}

pub(crate) async fn get_proposal(c: &mut PgConnection, tenant: &TenantId, id: ProposalId) -> Result<Option<Proposal>> {
    fetch_proposal(c, tenant, id, false).await
}

pub(crate) async fn list_proposals(
    c: &mut PgConnection,
    tenant: &TenantId,
    filter: &ProposalFilter,
    page: &PageRequest,
) -> Result<Page<Proposal>> {
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new(format!("SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE tenant_id = "));
    qb.push_bind(tenant.as_str().to_owned());
    if let Some(ns) = &filter.namespace {
        qb.push(" AND namespace = ").push_bind(ns.as_str().to_owned());
    }
    if let Some(status) = filter.status {
        qb.push(" AND status = ").push_bind(status.as_str().to_owned());
    }
    push_page(&mut qb, "id", page, |id: ProposalId| id.as_uuid())?;
    let rows = qb.build().fetch_all(&mut *c).await.classify()?;
    let rows = rows.iter().map(proposal_from_row).collect::<Result<Vec<_>>>()?;
    debug_assert!(rows.iter().all(|p| filter.matches(p)), "SQL filter disagrees with ProposalFilter::matches");
    Ok(into_page(rows, page.limit, |p| p.id))
}

pub(crate) async fn decide_proposal(
    c: &mut PgConnection,
    tenant: &TenantId,
    id: ProposalId,
    decision: Decision,
    by: Principal,
    at: Timestamp,
) -> Result<Proposal> {
    let mut p = fetch_proposal(c, tenant, id, true)
        .await?
        .ok_or_else(|| Error::not_found(format!("proposal {id} not found")))?;
    p.decide(decision, by, at)?;
    sqlx::query("UPDATE proposals SET status = $3, decided_at = $4, decided_by = $5 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant.as_str())
        .bind(id.as_uuid())
        .bind(p.status.as_str())
        .bind(micros(at))
        .bind(p.decided_by.as_ref().map(Principal::as_str))
        .execute(&mut *c)
        .await
        .classify()?;
    Ok(p)
}
