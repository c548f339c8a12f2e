//! Checks of API key storage: create, find by hash, get, list, scope updates and revocation.

use memory_core::{ErrorKind, KeyHash, KeyScope, Permission, Store};

use crate::fixtures::*;

fn scope(key: &str, permission: Permission) -> KeyScope {
    KeyScope { namespace: ns(key), permission }
}

/// A created key is returned as given by `get_api_key` and by `find_api_key` with its hash.
pub async fn check_create_api_key_then_get_and_find(store: &dyn Store) {
    let mut key = api_key(&tenant(), "s3cret");
    key.scopes = vec![scope("research", Permission::ReadWrite), scope("shared", Permission::Read)];
    key.default_namespace = Some(ns("research"));
    key.admin = true;
    store.create_api_key(key.clone()).await.unwrap();
    assert_eq!(store.get_api_key(&tenant(), key.id).await.unwrap(), Some(key.clone()));
    assert_eq!(store.find_api_key(&KeyHash::of_secret("s3cret")).await.unwrap(), Some(key));
}

/// `get_api_key` of a missing id and `find_api_key` of an unknown hash are `Ok(None)`.
pub async fn check_missing_api_key_is_none(store: &dyn Store) {
    assert_eq!(store.get_api_key(&tenant(), key_id()).await.unwrap(), None);
    assert_eq!(store.find_api_key(&KeyHash::of_secret("never issued")).await.unwrap(), None);
}

/// A key whose id or hash is taken, in any tenant, is `AlreadyExists`.
pub async fn check_api_key_with_a_taken_id_or_hash_is_already_exists(store: &dyn Store) {
    let first = api_key(&tenant(), "s3cret");
    store.create_api_key(first.clone()).await.unwrap();
    let mut same_id = api_key(&tenant(), "other secret");
    same_id.id = first.id;
    expect_err(store.create_api_key(same_id).await, ErrorKind::AlreadyExists, "key with a taken id");
    let same_hash = api_key(&other_tenant(), "s3cret");
    expect_err(store.create_api_key(same_hash.clone()).await, ErrorKind::AlreadyExists, "hash taken elsewhere");
    assert_eq!(store.get_api_key(&other_tenant(), same_hash.id).await.unwrap(), None);
    assert_eq!(store.find_api_key(&first.hash).await.unwrap(), Some(first));
}

/// A key failing `ApiKey::validate` (blank label, a namespace scoped twice) is
/// `InvalidInput` and is not stored.
pub async fn check_invalid_api_key_is_invalid_input(store: &dyn Store) {
    let mut blank = api_key(&tenant(), "blank");
    blank.label = "  ".to_owned();
    expect_err(store.create_api_key(blank.clone()).await, ErrorKind::InvalidInput, "blank label");
    let mut twice = api_key(&tenant(), "twice");
    twice.scopes = vec![scope("research", Permission::Read), scope("research", Permission::ReadWrite)];
    expect_err(store.create_api_key(twice.clone()).await, ErrorKind::InvalidInput, "namespace scoped twice");
    assert_eq!(store.list_api_keys(&tenant()).await.unwrap(), []);
}

/// A revoked key is not found by hash, but `get_api_key` still returns it with `revoked_at`.
pub async fn check_find_revoked_api_key_is_none(store: &dyn Store) {
    let key = api_key(&tenant(), "s3cret");
    store.create_api_key(key.clone()).await.unwrap();
    store.revoke_api_key(&tenant(), key.id, at(5)).await.unwrap();
    assert_eq!(store.find_api_key(&key.hash).await.unwrap(), None);
    let revoked = store.get_api_key(&tenant(), key.id).await.unwrap().expect("revoked keys stay");
    assert_eq!(revoked.revoked_at, Some(at(5)));
}

/// `update_api_key_scopes` replaces scopes and default namespace, sets `updated_at = at`,
/// and returns the stored key.
pub async fn check_update_api_key_scopes_replaces_them(store: &dyn Store) {
    let mut key = api_key(&tenant(), "s3cret");
    key.scopes = vec![scope("old", Permission::Read)];
    key.default_namespace = Some(ns("old"));
    store.create_api_key(key.clone()).await.unwrap();
    let scopes = vec![scope("new", Permission::ReadWrite), scope("shared", Permission::Read)];
    let updated = store.update_api_key_scopes(&tenant(), key.id, scopes.clone(), None, at(8)).await.unwrap();
    let mut expected = key;
    expected.scopes = scopes;
    expected.default_namespace = None;
    expected.updated_at = at(8);
    assert_eq!(updated, expected);
    assert_eq!(store.get_api_key(&tenant(), expected.id).await.unwrap(), Some(expected));
}

/// Changing the scopes of a revoked key is `Conflict` and changes nothing.
pub async fn check_update_revoked_api_key_scopes_is_conflict(store: &dyn Store) {
    let key = api_key(&tenant(), "s3cret");
    store.create_api_key(key.clone()).await.unwrap();
    store.revoke_api_key(&tenant(), key.id, at(1)).await.unwrap();
    let before = store.get_api_key(&tenant(), key.id).await.unwrap();
    let scopes = vec![scope("research", Permission::Read)];
    expect_err(
        store.update_api_key_scopes(&tenant(), key.id, scopes, None, at(2)).await,
        ErrorKind::Conflict,
        "scopes of a revoked key",
    );
    assert_eq!(store.get_api_key(&tenant(), key.id).await.unwrap(), before);
}

/// Scopes naming a namespace twice are `InvalidInput` and change nothing.
pub async fn check_update_api_key_scopes_naming_a_namespace_twice_is_invalid_input(store: &dyn Store) {
    let key = api_key(&tenant(), "s3cret");
    store.create_api_key(key.clone()).await.unwrap();
    let scopes = vec![scope("research", Permission::Read), scope("research", Permission::ReadWrite)];
    expect_err(
        store.update_api_key_scopes(&tenant(), key.id, scopes, None, at(2)).await,
        ErrorKind::InvalidInput,
        "a namespace scoped twice",
    );
    assert_eq!(store.get_api_key(&tenant(), key.id).await.unwrap(), Some(key));
}

/// Changing the scopes of a missing key is `NotFound`.
pub async fn check_update_missing_api_key_scopes_is_not_found(store: &dyn Store) {
    expect_err(
        store.update_api_key_scopes(&tenant(), key_id(), Vec::new(), None, at(1)).await,
        ErrorKind::NotFound,
        "scopes of a missing key",
    );
}

/// `revoke_api_key` is `Ok(true)` the first time, `Ok(false)` after (keeping the first
/// `revoked_at`), and `NotFound` for a missing key.
pub async fn check_revoke_api_key_reports_whether_it_changed(store: &dyn Store) {
    let key = api_key(&tenant(), "s3cret");
    store.create_api_key(key.clone()).await.unwrap();
    assert!(store.revoke_api_key(&tenant(), key.id, at(1)).await.unwrap());
    assert!(!store.revoke_api_key(&tenant(), key.id, at(2)).await.unwrap());
    let revoked = store.get_api_key(&tenant(), key.id).await.unwrap().unwrap();
    assert_eq!(revoked.revoked_at, Some(at(1)));
    expect_err(store.revoke_api_key(&tenant(), key_id(), at(3)).await, ErrorKind::NotFound, "revoke missing");
}

/// `list_api_keys` returns the tenant's keys, revoked ones included, ordered by id.
pub async fn check_list_api_keys_orders_by_id_including_revoked(store: &dyn Store) {
    let mut keys: Vec<_> = (0..4).map(|i| api_key(&tenant(), &format!("secret {i}"))).collect();
    for key in keys.iter().rev() {
        store.create_api_key(key.clone()).await.unwrap();
    }
    store.revoke_api_key(&tenant(), keys[1].id, at(3)).await.unwrap();
    keys[1].revoked_at = Some(at(3));
    assert_eq!(store.list_api_keys(&tenant()).await.unwrap(), keys);
}
