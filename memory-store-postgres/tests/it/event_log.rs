//! The event logs on PostgreSQL: the same puts give the same files as the SQLite store's
//! `log/` directory, line for line, restricted content withheld alike.

use std::collections::BTreeMap;
use std::path::Path;

use memory_core::{NamespacePatch, NewMemory, Sensitivity, Store, TenantId};
use memory_store_postgres::testing::TestSchema;
use memory_store_sqlite::SqliteStore;
use memory_testkit::fixtures::{at, create_namespace, new_memory_at, ns, other_tenant, tenant};

/// Every file under `dir` (relative path -> content).
fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "jsonl") {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

/// The puts both stores take, in order: (tenant, batch).
fn puts() -> Vec<(TenantId, Vec<NewMemory>)> {
    let (t, o) = (tenant(), other_tenant());
    vec![
        (
            t.clone(),
            vec![
                new_memory_at("default", "first day", at(10)),
                new_memory_at("vault", "the code is 1234", at(20)),
                new_memory_at("default", "first day", at(30)),
            ],
        ),
        (t, vec![new_memory_at("default", "second day", at(86_400 + 5))]),
        (o, vec![new_memory_at("default", "another tenant", at(40))]),
    ]
}

async fn write_the_same(store: &dyn Store, puts: &[(TenantId, Vec<NewMemory>)]) {
    let (t, o) = (tenant(), other_tenant());
    create_namespace(store, &t, "default").await;
    create_namespace(store, &t, "vault").await;
    create_namespace(store, &o, "default").await;
    let mut patch = NamespacePatch::default();
    patch.sensitivity = Some(Sensitivity::Restricted);
    store.update_namespace(&t, &ns("vault"), &patch, at(0)).await.unwrap();
    for (tenant, batch) in puts {
        store.put_memories(tenant, batch.clone()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_logs_match_the_sqlite_stores_files() {
    let Some((pg, _schema)) = TestSchema::store().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("data")).unwrap();
    let puts = puts();
    write_the_same(&sqlite, &puts).await;
    write_the_same(&pg, &puts).await;

    let out = tempfile::tempdir().unwrap();
    let report = pg.export_event_logs(out.path(), None).await.unwrap();
    assert_eq!((report.lines, report.files), (4, 4), "a deduplicated input writes no line");
    let exported = files(out.path());
    assert_eq!(exported, files(&sqlite.log_dir().unwrap()));
    let vault_file = memory_core::log_relative_path(&tenant(), &ns("vault"), at(20));
    let vault: Vec<&String> = exported.iter().filter(|(p, _)| Path::new(p) == vault_file).map(|(_, l)| l).collect();
    assert!(vault.len() == 1 && vault[0].contains("withheld") && !vault[0].contains("1234"), "{vault:?}");

    // Exporting again rewrites the same files; one tenant alone gets only its own.
    pg.export_event_logs(out.path(), None).await.unwrap();
    assert_eq!(files(out.path()), exported);
    let one = tempfile::tempdir().unwrap();
    let report = pg.export_event_logs(one.path(), Some(&other_tenant())).await.unwrap();
    assert_eq!(report.lines, 1);
}
