//! Flush and reopen, model mismatch, damaged files.

use memory_core::ErrorKind;
use memory_index::{Checkpoint, IndexOptions, MemoryIndex, Opened, SearchQuery, SearchResults};

use crate::{Clustered, MODEL, dir_index, doc, ns, query};

const DIM: usize = 16;

/// An index with one graph namespace ("big", threshold 100) and a few exact ones.
fn fill(idx: &MemoryIndex) -> Vec<SearchQuery> {
    let mut vecs = Clustered::new(7, DIM, 8, 0.15);
    let mut docs = Vec::new();
    for i in 0..400 {
        docs.push(doc("big", &format!("project budget review item{i}"), Some(vecs.point())));
    }
    for i in 0..30 {
        docs.push(doc(["small", "tiny"][i % 2], &format!("dentist reminder item{i}"), Some(vecs.point())));
    }
    docs.push(doc("small", "no vector at all item", None));
    idx.upsert(docs.clone()).unwrap();
    // Tombstones and a move survive the round trip too.
    idx.delete(&[docs[0].id, docs[401].id]).unwrap();
    let mut moved = docs[2].clone();
    moved.namespace = ns("tiny");
    idx.upsert(vec![moved]).unwrap();
    idx.set_applied_seq(1234).unwrap();

    let mut queries = Vec::new();
    for d in docs.iter().step_by(37) {
        queries.push(query(&["big"], "budget item5", d.vector.clone()));
        queries.push(query(&["small", "tiny"], "reminder item", d.vector.clone()));
        queries.push(query(&["big", "small", "tiny"], "item", d.vector.clone()));
    }
    queries
}

fn run(idx: &MemoryIndex, queries: &[SearchQuery]) -> Vec<SearchResults> {
    queries.iter().map(|q| idx.search(q).unwrap()).collect()
}

fn without_stats(r: Vec<SearchResults>) -> Vec<Vec<memory_index::Hit>> {
    r.into_iter().map(|r| r.hits).collect()
}

#[test]
fn flush_and_reopen_give_identical_results() {
    let dir = tempfile::tempdir().unwrap();
    let (before, queries, counts) = {
        let idx = dir_index(dir.path(), DIM, 100).unwrap();
        let queries = fill(&idx);
        idx.wait_for_graphs();
        let before = run(&idx, &queries);
        assert!(idx.counters().hnsw_searches > 0, "the big namespace has a graph");
        idx.flush().unwrap();
        // After the flush the view reads what it saved; that is what a reopen must reproduce.
        // (It may order equal scores unlike the view before the flush: background merges
        // reorder segments, and ties go by document order.)
        let saved = run(&idx, &queries);
        assert_eq!(before.len(), saved.len());
        let semantic = [memory_core::Layer::Semantic];
        let mut ids = idx.ids_in(&[ns("big"), ns("small"), ns("tiny")], &semantic);
        ids.sort();
        let counts = (idx.len(), idx.namespace_len(&ns("big")), idx.namespace_len(&ns("tiny")), ids);
        (saved, queries, counts)
    };
    let idx = dir_index(dir.path(), DIM, 100).unwrap();
    let mut ids = idx.ids_in(&[ns("big"), ns("small"), ns("tiny")], &[memory_core::Layer::Semantic]);
    ids.sort();
    assert_eq!((idx.len(), idx.namespace_len(&ns("big")), idx.namespace_len(&ns("tiny")), ids), counts);
    assert_eq!(counts.3.len(), counts.0, "every document is semantic");
    assert_eq!(idx.applied_seq(), 1234);
    let after = run(&idx, &queries);
    assert!(idx.counters().hnsw_searches > 0, "the graph was reloaded, not replaced by scans");
    assert_eq!(without_stats(before), without_stats(after));

    // A reloaded graph takes new points.
    let mut fresh = doc("big", "fresh point", Some(vec![0.0; DIM]));
    fresh.vector.as_mut().unwrap()[3] = 1.0;
    idx.upsert(vec![fresh.clone()]).unwrap();
    let r = idx.search(&query(&["big"], "", fresh.vector.clone())).unwrap();
    assert_eq!(r.hits[0].id, fresh.id);
    assert_eq!(r.stats.hnsw_searches, 1);

    // A second flush after more writes, and a reopen again.
    idx.upsert(vec![doc("tiny", "late addition", None)]).unwrap();
    idx.flush().unwrap();
    drop(idx);
    let idx = dir_index(dir.path(), DIM, 100).unwrap();
    assert_eq!(idx.search(&query(&["tiny"], "late addition", None)).unwrap().hits.len(), 1);
}

#[test]
fn an_unflushed_index_reopens_at_its_last_flush() {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = dir_index(dir.path(), 4, 100).unwrap();
        idx.upsert(vec![doc("n", "flushed", Some(vec![1.0, 0.0, 0.0, 0.0]))]).unwrap();
        idx.set_applied_seq(1).unwrap();
        idx.flush().unwrap();
        idx.upsert(vec![doc("n", "unflushed", Some(vec![0.0, 1.0, 0.0, 0.0]))]).unwrap();
        idx.set_applied_seq(2).unwrap();
        // Searching commits the text side, so the text index is ahead of the catalog on disk.
        assert_eq!(idx.search(&query(&["n"], "unflushed", None)).unwrap().hits.len(), 1);
    }
    let idx = dir_index(dir.path(), 4, 100).unwrap();
    assert_eq!(idx.applied_seq(), 1, "catch-up replays from the flushed sequence");
    assert_eq!(idx.len(), 1);
    assert!(idx.search(&query(&["n"], "unflushed", None)).unwrap().hits.is_empty(), "the catalog is authoritative");
}

#[test]
fn another_model_or_dimension_is_refused_with_a_reindex_hint() {
    let dir = tempfile::tempdir().unwrap();
    dir_index(dir.path(), 8, 100).unwrap().flush().unwrap();
    let e = MemoryIndex::open(IndexOptions::new(Some(dir.path().to_path_buf()), 8, "other-model")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        e.message(),
        "index was built with model test-model (dim 8); this embedder is other-model (dim 8): run `memory reindex`"
    );
    let e = dir_index(dir.path(), 16, 100).unwrap_err();
    assert!(e.message().contains("(dim 8); this embedder is test-model (dim 16)"), "{e}");
    let mut o = IndexOptions::new(Some(dir.path().to_path_buf()), 8, MODEL);
    o.remove_stop_words = false;
    assert_eq!(MemoryIndex::open(o).unwrap_err().kind(), ErrorKind::InvalidInput);

    // `recreate` is how a reindex starts over with the new model.
    let mut o = IndexOptions::new(Some(dir.path().to_path_buf()), 16, "other-model");
    o.recreate = true;
    let idx = MemoryIndex::open(o).unwrap();
    assert_eq!(idx.len(), 0);
    idx.flush().unwrap();
    drop(idx);
    assert!(MemoryIndex::open(IndexOptions::new(Some(dir.path().to_path_buf()), 16, "other-model")).is_ok());
}

#[test]
fn a_missing_directory_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("a/b/index");
    let idx = dir_index(&nested, 4, 100).unwrap();
    idx.flush().unwrap();
    assert!(nested.join("meta.json").is_file());
}

/// Damages a flushed index, reopens it and returns the reason it was discarded; a checkpoint
/// then writes a usable index again.
fn damaged(damage: impl Fn(&std::path::Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = dir_index(dir.path(), DIM, 100).unwrap();
        fill(&idx);
        idx.flush().unwrap();
    }
    damage(dir.path());
    let idx = dir_index(dir.path(), DIM, 100).expect("a damaged index opens empty");
    let Opened::Discarded { reason } = idx.opened().clone() else {
        panic!("a damaged index must be discarded, not {:?}", idx.opened())
    };
    assert_eq!((idx.len(), idx.applied_seq()), (0, 0), "the view starts empty");
    idx.upsert(vec![doc("small", "rebuilt after damage", None)]).unwrap();
    idx.set_applied_seq(7).unwrap();
    idx.flush().unwrap();
    drop(idx);
    let idx = dir_index(dir.path(), DIM, 100).unwrap();
    assert_eq!(idx.opened(), &Opened::Loaded { applied_seq: 7 }, "after {reason}");
    assert_eq!(idx.search(&query(&["small"], "rebuilt", None)).unwrap().hits.len(), 1);
    reason
}

/// The text directory a checkpoint wrote.
fn text_dir(d: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("text-"))
        .expect("a text directory")
}

fn truncate(path: &std::path::Path, keep: u64) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(keep).unwrap();
}

#[test]
fn damaged_files_are_discarded_and_rebuilt() {
    type Damage = Box<dyn Fn(&std::path::Path)>;
    let cases: Vec<(&str, Damage)> = vec![
        ("truncated vectors", Box::new(|d| truncate(&d.join("vectors.bin"), 1000))),
        ("vectors cut inside the header", Box::new(|d| truncate(&d.join("vectors.bin"), 11))),
        ("vectors missing", Box::new(|d| std::fs::remove_file(d.join("vectors.bin")).unwrap())),
        ("garbage vectors", Box::new(|d| std::fs::write(d.join("vectors.bin"), b"garbage").unwrap())),
        ("garbage meta", Box::new(|d| std::fs::write(d.join("meta.json"), b"{not json").unwrap())),
        ("meta missing", Box::new(|d| std::fs::remove_file(d.join("meta.json")).unwrap())),
        (
            "damaged end marker",
            Box::new(|d| {
                let mut b = std::fs::read(d.join("vectors.bin")).unwrap();
                // The last 8 bytes are the end marker: damage it.
                let n = b.len();
                b[n - 3] ^= 0xff;
                std::fs::write(d.join("vectors.bin"), b).unwrap();
            }),
        ),
        (
            "truncated graph",
            Box::new(|d| {
                for e in std::fs::read_dir(d.join("graphs")).unwrap() {
                    let p = e.unwrap().path();
                    if p.to_string_lossy().ends_with(".hnsw.graph") {
                        truncate(&p, 100);
                    }
                }
            }),
        ),
        (
            "missing graph",
            Box::new(|d| {
                for e in std::fs::read_dir(d.join("graphs")).unwrap() {
                    std::fs::remove_file(e.unwrap().path()).unwrap();
                }
            }),
        ),
        ("text index removed", Box::new(|d| std::fs::remove_dir_all(text_dir(d)).unwrap())),
        (
            "a segment file deleted",
            Box::new(|d| {
                let seg = std::fs::read_dir(text_dir(d))
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .find(|p| p.extension().is_some_and(|x| x == "idx"))
                    .expect("a segment file");
                std::fs::remove_file(seg).unwrap();
            }),
        ),
        ("text meta garbage", Box::new(|d| std::fs::write(text_dir(d).join("meta.json"), b"][").unwrap())),
        (
            "an older format",
            Box::new(|d| {
                let meta = std::fs::read_to_string(d.join("meta.json")).unwrap();
                std::fs::write(d.join("meta.json"), meta.replace("\"format_version\": 3", "\"format_version\": 2"))
                    .unwrap();
            }),
        ),
    ];
    for (what, damage) in cases {
        let reason = damaged(damage);
        assert!(!reason.is_empty(), "{what}");
    }
}

#[test]
fn an_index_of_another_store_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let open = |store: &str| {
        let mut o = IndexOptions::new(Some(dir.path().to_path_buf()), DIM, MODEL);
        o.store_id = Some(store.to_owned());
        MemoryIndex::open(o).unwrap()
    };
    let idx = open("store-a");
    idx.upsert(vec![doc("small", "from store a", None)]).unwrap();
    idx.set_applied_seq(3).unwrap();
    idx.flush().unwrap();
    drop(idx);
    assert_eq!(open("store-a").opened(), &Opened::Loaded { applied_seq: 3 });
    let other = open("store-b");
    let Opened::Discarded { reason } = other.opened() else { panic!("{:?}", other.opened()) };
    assert!(reason.contains("another store (store-a, this one is store-b)"), "{reason}");
    assert!(other.is_empty());
}

/// Two views of one directory, as two processes have: each checkpoint saves its view on top
/// of the other's, and each view hides the base versions of what it changed.
#[test]
fn two_views_checkpoint_into_one_directory() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir_index(dir.path(), 4, 100).unwrap();
    let kept = doc("n", "kept everywhere", None);
    let edited = doc("n", "before the edit", None);
    first.upsert(vec![kept.clone(), edited.clone()]).unwrap();
    first.set_applied_seq(2).unwrap();
    first.flush().unwrap();

    let second = dir_index(dir.path(), 4, 100).unwrap();
    assert_eq!(second.opened(), &Opened::Loaded { applied_seq: 2 });
    let mut after = edited.clone();
    after.content = "after the edit".into();
    second.upsert(vec![after.clone()]).unwrap();
    assert!(second.search(&query(&["n"], "before", None)).unwrap().hits.is_empty(), "the base version is hidden");
    assert_eq!(second.search(&query(&["n"], "after edit", None)).unwrap().hits[0].id, after.id);
    second.set_applied_seq(3).unwrap();
    second.flush().unwrap();

    // The first view goes on from its own state and saves it on top (both replay one store).
    let late = doc("n", "written late", None);
    first.upsert(vec![after.clone(), late.clone()]).unwrap();
    first.set_applied_seq(4).unwrap();
    first.flush().unwrap();

    let third = dir_index(dir.path(), 4, 100).unwrap();
    assert_eq!(third.opened(), &Opened::Loaded { applied_seq: 4 });
    let found = |text: &str| third.search(&query(&["n"], text, None)).unwrap().hits.len();
    assert_eq!((found("kept"), found("after edit"), found("before"), found("late")), (1, 1, 0, 1));
    assert!(third.check().unwrap().is_empty(), "{:?}", third.check());

    // A view that started from a checkpoint the directory no longer holds does not save.
    std::fs::remove_dir_all(text_dir(dir.path())).unwrap();
    std::fs::remove_file(dir.path().join("meta.json")).unwrap();
    third.upsert(vec![doc("n", "orphan", None)]).unwrap();
    let lock = third.lock_for_checkpoint(std::time::Duration::ZERO).unwrap().unwrap();
    assert!(matches!(third.checkpoint(&lock).unwrap(), Checkpoint::Skipped { .. }));
}

#[test]
fn a_checkpoint_waits_for_nobody_and_skips_when_the_lock_is_taken() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir_index(dir.path(), 4, 100).unwrap();
    let b = dir_index(dir.path(), 4, 100).unwrap();
    let held = a.lock_for_checkpoint(std::time::Duration::ZERO).unwrap().expect("free");
    assert!(b.lock_for_checkpoint(std::time::Duration::from_millis(30)).unwrap().is_none(), "taken");
    // Opening needs only the shared lock, which a checkpoint holds briefly; here it is held
    // for longer than the wait, so the view starts empty rather than failing.
    let mut o = IndexOptions::new(Some(dir.path().to_path_buf()), 4, MODEL);
    o.lock_wait = std::time::Duration::from_millis(30);
    let c = MemoryIndex::open(o).unwrap();
    assert!(matches!(c.opened(), Opened::Discarded { .. }), "{:?}", c.opened());
    drop(held);
    assert!(b.lock_for_checkpoint(std::time::Duration::ZERO).unwrap().is_some());
}

/// A query whose best base matches were all changed since the checkpoint still finds the
/// untouched matches below them.
#[test]
fn many_changed_base_matches_do_not_crowd_out_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir_index(dir.path(), 4, 100).unwrap();
    // 300 strong matches (the word three times) and 10 weak ones.
    let strong: Vec<_> = (0..300).map(|i| doc("n", &format!("apple apple apple {i}"), None)).collect();
    let weak: Vec<_> = (0..10).map(|i| doc("n", &format!("apple and many other words here {i}"), None)).collect();
    first.upsert(strong.iter().chain(&weak).cloned().collect()).unwrap();
    first.set_applied_seq(1).unwrap();
    first.flush().unwrap();
    drop(first);
    let view = dir_index(dir.path(), 4, 100).unwrap();
    view.delete(&strong.iter().map(|d| d.id).collect::<Vec<_>>()).unwrap();
    let mut q = query(&["n"], "apple", None);
    q.limit = 10;
    let hits = view.search(&q).unwrap().hits;
    let mut found: Vec<_> = hits.iter().map(|h| h.id).collect();
    found.sort();
    let mut expected: Vec<_> = weak.iter().map(|d| d.id).collect();
    expected.sort();
    assert_eq!(found, expected);
}
