//! Audit records, API keys and review-queue proposals: the SQL behind those methods of
//! [`memory_core::Store`].
//!
//! Each function runs inside a transaction opened by the caller and checks things in the
//! reference store's order, so both report the same error when several things are wrong.

use memory_core::{
    ApiKey, ApiKeyId, AuditFilter, AuditId, AuditRecord, Decision, Error, ErrorKind, KeyHash, KeyScope, NamespaceKey,
    Page, PageRequest, Principal, Proposal, ProposalFilter, ProposalId, Result, StoreId, TenantId, Timestamp,
};
use rusqlite::{Connection, OptionalExtension};

use crate::error::Classify;
use crate::paging::{fetch_limit, into_page, start_after};
use crate::rows::{
    API_KEY_COLUMNS, AUDIT_COLUMNS, PROPOSAL_COLUMNS, api_key_from_row, audit_from_row, json_text, micros, opt_micros,
    proposal_from_row,
};

/// Turns the unique-constraint error of an insert into `AlreadyExists` with `message`.
fn taken(result: Result<usize>, message: impl FnOnce() -> String) -> Result<()> {
    match result {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(Error::already_exists(message())),
        other => other.map(drop),
    }
}

/// The identity created with the database (migration 4).
pub(crate) fn store_id(conn: &Connection) -> Result<StoreId> {
    let id: uuid::Uuid =
        conn.prepare_cached("SELECT id FROM store_identity").classify()?.query_row([], |r| r.get(0)).classify()?;
    Ok(StoreId::from_uuid(id))
}

// ---- audit ------------------------------------------------------------------------------------

pub(crate) fn append_audit(conn: &Connection, r: &AuditRecord) -> Result<()> {
    let sql = format!("INSERT INTO audit ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    let origin = r.origin.as_ref().map(json_text).transpose()?;
    let result = conn
        .prepare_cached(&sql)
        .classify()?
        .execute(rusqlite::params![
            r.id.as_uuid(),
            r.tenant.as_str(),
            r.namespace.as_ref().map(NamespaceKey::as_str),
            r.principal.as_ref().map(Principal::as_str),
            r.key_id.map(|k| k.as_uuid()),
            r.operation.as_str(),
            r.outcome.as_str(),
            json_text(&r.detail)?,
            micros(r.at),
            origin,
        ])
        .classify();
    taken(result, || format!("audit record {} already exists", r.id))
}

pub(crate) fn list_audit(
    conn: &Connection,
    tenant: &TenantId,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditRecord>> {
    let after = start_after(page, |id: AuditId| id.as_uuid())?;
    // Only the set fields become terms, so an index can serve them (`?2 IS NULL OR ...` would
    // hide `namespace = ?` from the planner and scan the tenant's whole log).
    let mut sql = format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE tenant = ?");
    let mut args: Vec<rusqlite::types::Value> = vec![tenant.as_str().to_owned().into()];
    let mut term = |column: &str, value: Option<String>| {
        if let Some(v) = value {
            sql.push_str(&format!(" AND {column} = ?"));
            args.push(v.into());
        }
    };
    term("namespace", filter.namespace.as_ref().map(|n| n.as_str().to_owned()));
    term("principal", filter.principal.as_ref().map(|p| p.as_str().to_owned()));
    term("operation", filter.operation.map(|o| o.as_str().to_owned()));
    term("outcome", filter.outcome.map(|o| o.as_str().to_owned()));
    sql.push_str(" AND id > ? ORDER BY id LIMIT ?");
    args.push(after.into());
    args.push(fetch_limit(page.limit).into());
    let rows = conn
        .prepare_cached(&sql)
        .classify()?
        .query_map(rusqlite::params_from_iter(args), audit_from_row)
        .classify()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .classify()?;
    debug_assert!(rows.iter().all(|r| filter.matches(r)), "SQL filter disagrees with AuditFilter::matches");
    Ok(into_page(rows, page.limit, |r| r.id))
}

// ---- API keys ---------------------------------------------------------------------------------

pub(crate) fn create_api_key(conn: &Connection, k: &ApiKey) -> Result<()> {
    let sql = format!("INSERT INTO api_keys ({API_KEY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    let scopes = json_text(&k.scopes)?;
    let result = conn
        .prepare_cached(&sql)
        .classify()?
        .execute(rusqlite::params![
            k.id.as_uuid(),
            k.tenant.as_str(),
            k.principal.as_str(),
            k.label,
            k.hash.as_str(),
            scopes,
            k.default_namespace.as_ref().map(NamespaceKey::as_str),
            micros(k.created_at),
            micros(k.updated_at),
            opt_micros(k.revoked_at),
            k.admin,
        ])
        .classify();
    taken(result, || "an API key with this id or secret already exists".to_owned())
}

pub(crate) fn find_api_key(conn: &Connection, hash: &KeyHash) -> Result<Option<ApiKey>> {
    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE hash = ?1 AND revoked_at IS NULL");
    conn.prepare_cached(&sql).classify()?.query_row([hash.as_str()], api_key_from_row).optional().classify()
}

pub(crate) fn get_api_key(conn: &Connection, tenant: &TenantId, id: ApiKeyId) -> Result<Option<ApiKey>> {
    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE id = ?1 AND tenant = ?2");
    conn.prepare_cached(&sql)
        .classify()?
        .query_row((id.as_uuid(), tenant.as_str()), api_key_from_row)
        .optional()
        .classify()
}

pub(crate) fn list_api_keys(conn: &Connection, tenant: &TenantId) -> Result<Vec<ApiKey>> {
    let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE tenant = ?1 ORDER BY id");
    conn.prepare_cached(&sql)
        .classify()?
        .query_map([tenant.as_str()], api_key_from_row)
        .classify()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .classify()
}

fn existing_api_key(conn: &Connection, tenant: &TenantId, id: ApiKeyId) -> Result<ApiKey> {
    get_api_key(conn, tenant, id)?.ok_or_else(|| Error::not_found(format!("API key {id} not found")))
}

pub(crate) fn update_api_key_scopes(
    conn: &Connection,
    tenant: &TenantId,
    id: ApiKeyId,
    scopes: Vec<KeyScope>,
    default_namespace: Option<NamespaceKey>,
    at: Timestamp,
) -> Result<ApiKey> {
    let mut key = existing_api_key(conn, tenant, id)?;
    if key.revoked_at.is_some() {
        return Err(Error::conflict(format!("API key {id} is revoked")));
    }
    key.scopes = scopes;
    key.default_namespace = default_namespace;
    key.updated_at = at.max(key.created_at);
    conn.prepare_cached("UPDATE api_keys SET scopes = ?2, default_namespace = ?3, updated_at = ?4 WHERE id = ?1")
        .classify()?
        .execute((
            id.as_uuid(),
            json_text(&key.scopes)?,
            key.default_namespace.as_ref().map(NamespaceKey::as_str),
            micros(key.updated_at),
        ))
        .classify()?;
    Ok(key)
}

pub(crate) fn revoke_api_key(conn: &Connection, tenant: &TenantId, id: ApiKeyId, at: Timestamp) -> Result<bool> {
    let key = existing_api_key(conn, tenant, id)?;
    if key.revoked_at.is_some() {
        return Ok(false);
    }
    conn.prepare_cached("UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1")
        .classify()?
        .execute((id.as_uuid(), micros(at)))
        .classify()?;
    Ok(true)
}

// ---- proposals --------------------------------------------------------------------------------

pub(crate) fn create_proposal(conn: &Connection, p: &Proposal) -> Result<()> {
    let sql = format!(
        "INSERT INTO proposals ({PROPOSAL_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    );
    let sources = json_text(&p.source_memory_ids)?;
    let metadata = json_text(&p.metadata)?;
    let result = conn
        .prepare_cached(&sql)
        .classify()?
        .execute(rusqlite::params![
            p.id.as_uuid(),
            p.tenant.as_str(),
            p.namespace.as_str(),
            p.layer.as_str(),
            p.content,
            p.category.as_str(),
            p.confidence.value(),
            p.reason,
            sources,
            p.proposed_by.as_ref().map(Principal::as_str),
            p.status.as_str(),
            micros(p.created_at),
            opt_micros(p.decided_at),
            p.decided_by.as_ref().map(Principal::as_str),
            p.supersedes.map(|m| m.as_uuid()),
            metadata,
        ])
        .classify();
    taken(result, || format!("proposal {} already exists", p.id))
}

pub(crate) fn get_proposal(conn: &Connection, tenant: &TenantId, id: ProposalId) -> Result<Option<Proposal>> {
    let sql = format!("SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE tenant = ?1 AND id = ?2");
    conn.prepare_cached(&sql)
        .classify()?
        .query_row((tenant.as_str(), id.as_uuid()), proposal_from_row)
        .optional()
        .classify()
}

pub(crate) fn list_proposals(
    conn: &Connection,
    tenant: &TenantId,
    filter: &ProposalFilter,
    page: &PageRequest,
) -> Result<Page<Proposal>> {
    let after = start_after(page, |id: ProposalId| id.as_uuid())?;
    let sql = format!(
        "SELECT {PROPOSAL_COLUMNS} FROM proposals WHERE tenant = ?1 AND (?2 IS NULL OR namespace = ?2) \
         AND (?3 IS NULL OR status = ?3) AND id > ?4 ORDER BY id LIMIT ?5"
    );
    let rows = conn
        .prepare_cached(&sql)
        .classify()?
        .query_map(
            rusqlite::params![
                tenant.as_str(),
                filter.namespace.as_ref().map(NamespaceKey::as_str),
                filter.status.map(|s| s.as_str()),
                after,
                fetch_limit(page.limit),
            ],
            proposal_from_row,
        )
        .classify()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .classify()?;
    debug_assert!(rows.iter().all(|p| filter.matches(p)), "SQL filter disagrees with ProposalFilter::matches");
    Ok(into_page(rows, page.limit, |p| p.id))
}

pub(crate) fn decide_proposal(
    conn: &Connection,
    tenant: &TenantId,
    id: ProposalId,
    decision: Decision,
    by: Principal,
    at: Timestamp,
) -> Result<Proposal> {
    let mut p = get_proposal(conn, tenant, id)?.ok_or_else(|| Error::not_found(format!("proposal {id} not found")))?;
    p.decide(decision, by, at)?;
    conn.prepare_cached(
        "UPDATE proposals SET status = ?3, decided_at = ?4, decided_by = ?5 WHERE tenant = ?1 AND id = ?2",
    )
    .classify()?
    .execute((
        tenant.as_str(),
        id.as_uuid(),
        p.status.as_str(),
        micros(at),
        p.decided_by.as_ref().map(Principal::as_str),
    ))
    .classify()?;
    Ok(p)
}
