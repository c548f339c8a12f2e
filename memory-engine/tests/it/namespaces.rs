//! Namespace lifecycle through the engine.

use memory_core::{ErrorKind, Layer, NamespaceFilter, NamespacePatch, NamespaceStatus};
use memory_engine::{MemoryInput, RecallRequest};

use crate::support::{engine, who};

const CONFIG: &str = r#"
[namespaces]
[[namespaces.policies]]
name = "research"
read = ["r"]
write = ["r"]

[namespaces.teams.alpha]
principals = ["r"]
"#;

#[tokio::test]
async fn default_and_shared_exist_from_the_start() {
    let (e, _) = engine("");
    let op = who("ops").as_operator();
    let keys: Vec<String> = e
        .list_namespaces(&op, &NamespaceFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|n| n.namespace.key.to_string())
        .collect();
    assert_eq!(keys, ["default", "shared"]);
}

#[tokio::test]
async fn lifecycle_create_rename_archive_restore_delete() {
    let (e, _) = engine(CONFIG);
    let op = who("ops").as_operator();
    let r = who("r");
    let mut patch = NamespacePatch::default();
    patch.display_name = Some("Research".into());
    patch.team = Some(Some("alpha".into()));
    let ns = e.create_namespace(&op, "research", &patch).await.unwrap();
    assert_eq!(ns.display_name, "Research");
    assert_eq!(e.create_namespace(&op, "research", &patch).await.unwrap_err().kind(), ErrorKind::Conflict);
    assert_eq!(e.create_namespace(&op, "bad/key", &patch).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    let w =
        e.remember_now(&r, MemoryInput::new(Layer::Semantic, "finding one").in_namespace("research")).await.unwrap();
    let info = e.namespace(&r, "research").await.unwrap();
    assert_eq!(info.memories, 1);
    let mut filter = NamespaceFilter::default();
    filter.team = Some("alpha".into());
    assert_eq!(e.list_namespaces(&op, &filter).await.unwrap().len(), 1);

    let mut rename = NamespacePatch::default();
    rename.display_name = Some("Research lab".into());
    assert_eq!(e.update_namespace(&op, "research", &rename).await.unwrap().display_name, "Research lab");

    assert!(e.archive_namespace(&op, "research").await.unwrap());
    let mut req = RecallRequest::new("finding");
    req.namespaces = vec!["research".into()];
    assert_eq!(e.recall(&r, &req).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.get(&r, w.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    let write = MemoryInput::new(Layer::Semantic, "more").in_namespace("research");
    assert_eq!(e.remember_now(&r, write).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(e.restore_namespace(&op, "research").await.unwrap());
    assert_eq!(e.recall(&r, &req).await.unwrap().memories.len(), 1);

    assert!(e.delete_namespace(&op, "research").await.unwrap());
    assert_eq!(e.get(&r, w.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    let mut deleted = NamespaceFilter::default();
    deleted.status = Some(NamespaceStatus::Deleted);
    assert_eq!(e.list_namespaces(&op, &deleted).await.unwrap().len(), 1);
    assert_eq!(e.create_namespace(&op, "research", &patch).await.unwrap_err().kind(), ErrorKind::Conflict);
    assert_eq!(e.delete_namespace(&op, "default").await.unwrap_err().kind(), ErrorKind::InvalidInput);
    assert!(e.verify_namespaces(&op).await.unwrap().problems.is_empty());
}

#[tokio::test]
async fn non_operators_manage_only_what_they_may_write() {
    let (e, _) = engine(CONFIG);
    let stranger = who("stranger");
    let patch = NamespacePatch::default();
    assert_eq!(e.create_namespace(&stranger, "research", &patch).await.unwrap_err().kind(), ErrorKind::Forbidden);
    assert_eq!(e.namespace(&stranger, "research").await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(e.create_namespace(&who("r"), "research", &patch).await.is_ok());
    assert_eq!(e.archive_namespace(&stranger, "research").await.unwrap_err().kind(), ErrorKind::Forbidden);
}

#[tokio::test]
async fn operators_issue_scoped_keys_that_authenticate_and_are_audited() {
    use memory_core::{KeyScope, NamespaceKey, PageRequest, Permission};
    let (e, _) = engine(CONFIG);
    let op = who("ops").as_operator();
    let new = memory_engine::NewKey {
        principal: "alice".into(),
        label: "alice prod".into(),
        scopes: vec![KeyScope { namespace: NamespaceKey::new("research").unwrap(), permission: Permission::ReadWrite }],
        default_namespace: Some(NamespaceKey::new("research").unwrap()),
        admin: false,
    };
    assert_eq!(e.create_key(&who("alice"), new.clone()).await.unwrap_err().kind(), ErrorKind::Forbidden);
    let issued = e.create_key(&op, new).await.unwrap();
    assert!(issued.secret.starts_with(memory_engine::SECRET_PREFIX));
    let auth = e.authenticate(&issued.secret).await.unwrap().unwrap();
    assert!(!auth.admin);
    let caller = auth.caller(None, None);
    assert!(!caller.operator);
    // The key writes where its scope says, whatever the policy says about "alice".
    let w = e.remember(&caller, "scoped write", None).await.unwrap();
    assert_eq!(w.namespace.as_str(), "research");
    // Accepted keys are cached; a change through the engine shows on the next request.
    let read_only = vec![KeyScope { namespace: NamespaceKey::new("research").unwrap(), permission: Permission::Read }];
    e.update_key_scopes(&op, issued.key.id, read_only.clone(), None).await.unwrap();
    assert_eq!(e.authenticate(&issued.secret).await.unwrap().unwrap().grant.scopes, read_only);
    assert!(e.revoke_key(&op, issued.key.id).await.unwrap());
    assert!(e.authenticate(&issued.secret).await.unwrap().is_none());
    let log = e.audit_log(&op, None, &PageRequest::first(100)).await.unwrap();
    assert!(log.items.iter().any(|r| r.operation == "key.revoke"));
    assert!(log.items.iter().any(|r| r.operation == "memory.remember" && r.key_id == Some(issued.key.id)));
}

/// Operations that read only the store never need the index: with an index the engine
/// refuses to open (another model's), export, get, listings and namespace management work,
/// and recall says what is wrong.
#[tokio::test]
async fn store_only_operations_never_need_the_index() {
    use memory_engine::{ExportRequest, HomeOptions, open_home};
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let mut options = HomeOptions::new(dir.path());
        options.embedder = Some("hash".into());
        open_home(options)
    };
    let me = who("u");
    let id = {
        let home = open().await.unwrap();
        let id = home.engine.remember(&me, "kept in the store", None).await.unwrap().id;
        home.engine.flush().await.unwrap();
        id
    };
    let index = dir.path().join("index").join(memory_core::TenantId::default_tenant().path_token());
    let meta = std::fs::read_to_string(index.join("meta.json")).unwrap();
    std::fs::write(index.join("meta.json"), meta.replace("hash-v1-d384", "another-model")).unwrap();
    let home = open().await.expect("opening a home does not open its index");
    let e = &home.engine;
    let op = who("op").as_operator();
    assert_eq!(e.get(&me, id).await.unwrap().content, "kept in the store");
    let mut out = Vec::new();
    let report = e.export(&op, &ExportRequest::default(), &mut out, &mut |_| {}).await.unwrap();
    assert_eq!(report.memories, 1);
    assert_eq!(e.list_namespaces(&op, &Default::default()).await.unwrap().len(), 2);
    e.create_namespace(&op, "fresh", &Default::default()).await.unwrap();
    let request = memory_engine::RecallRequest::new("kept");
    let err = e.recall(&me, &request).await.unwrap_err();
    assert!(err.message().contains("another-model") && err.message().contains("memory reindex"), "{err}");
}
