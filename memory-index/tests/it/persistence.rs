//! Flush and reopen, model mismatch, damaged files.

use memory_core::ErrorKind;
use memory_index::{IndexOptions, MemoryIndex, SearchQuery, SearchResults};

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
        let counts = (idx.len(), idx.namespace_len(&ns("big")), idx.namespace_len(&ns("tiny")));
        (before, queries, counts)
    };
    let idx = dir_index(dir.path(), DIM, 100).unwrap();
    assert_eq!((idx.len(), idx.namespace_len(&ns("big")), idx.namespace_len(&ns("tiny"))), counts);
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

fn damaged(damage: impl Fn(&std::path::Path)) -> memory_core::Error {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = dir_index(dir.path(), DIM, 100).unwrap();
        fill(&idx);
        idx.flush().unwrap();
    }
    damage(dir.path());
    dir_index(dir.path(), DIM, 100).expect_err("a damaged index must not open")
}

fn truncate(path: &std::path::Path, keep: u64) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(keep).unwrap();
}

#[test]
fn damaged_files_are_errors_that_ask_for_a_reindex() {
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
        ("text index removed", Box::new(|d| std::fs::remove_dir_all(d.join("text")).unwrap())),
    ];
    for (what, damage) in cases {
        let e = damaged(damage);
        assert!(e.message().contains("memory reindex"), "{what}: {e}");
    }
}
