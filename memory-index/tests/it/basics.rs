//! Isolation, filters, upsert/move/delete, read-your-writes, fusion and input validation.

use std::collections::HashSet;

use memory_core::{Category, ErrorKind, Layer, MemoryId};
use memory_index::{Fusion, IndexOptions, MemoryIndex};

use crate::{Clustered, doc, mem_index, ns, query, t0};

#[test]
fn no_hit_ever_crosses_namespaces() {
    let idx = mem_index(16, 1000);
    let mut vecs = Clustered::new(1, 16, 4, 0.1);
    let mut docs = Vec::new();
    for i in 0..300 {
        let key = ["alpha", "beta", "gamma"][i % 3];
        docs.push(doc(key, &format!("shared words about rust deadline {i}"), Some(vecs.point())));
    }
    idx.upsert(docs.clone()).unwrap();
    for sets in [vec!["alpha"], vec!["beta"], vec!["alpha", "gamma"], vec!["nobody"]] {
        for d in docs.iter().take(20) {
            let mut q = query(&sets, "rust deadline shared", d.vector.clone());
            q.limit = 50;
            let r = idx.search(&q).unwrap();
            for h in &r.hits {
                assert!(sets.contains(&h.namespace.as_str()), "{} leaked into {sets:?}", h.namespace);
                let original = docs.iter().find(|x| x.id == h.id).unwrap();
                assert_eq!(original.namespace, h.namespace);
            }
            if sets == ["nobody"] {
                assert!(r.hits.is_empty());
            } else {
                assert!(r.stats.text_candidates > 0 && r.stats.vector_candidates > 0);
            }
        }
    }
    // No namespaces: nothing, whatever the query.
    assert!(idx.search(&query(&[], "rust", docs[0].vector.clone())).unwrap().hits.is_empty());
}

#[test]
fn layer_category_and_time_filters_apply_to_both_sides() {
    let idx = mem_index(8, 1000);
    let mut vecs = Clustered::new(2, 8, 2, 0.2);
    let mut docs = Vec::new();
    for i in 0..60i64 {
        let mut d = doc("n", "budget review meeting", Some(vecs.point()));
        d.layer = [Layer::Semantic, Layer::Episodic, Layer::Procedural][i as usize % 3];
        d.category = if i % 2 == 0 { Category::fact() } else { Category::new("decision").unwrap() };
        d.created_at = t0().plus_days(i);
        docs.push(d);
    }
    idx.upsert(docs.clone()).unwrap();
    let by_id = |id: MemoryId| docs.iter().find(|d| d.id == id).unwrap().clone();

    for (text, vector) in [("budget meeting", None), ("", docs[5].vector.clone())] {
        let mut q = query(&["n"], text, vector);
        q.limit = 100;
        q.layers = Some(vec![Layer::Episodic]);
        let hits = idx.search(&q).unwrap().hits;
        assert_eq!(hits.len(), 20, "text {text:?}");
        assert!(hits.iter().all(|h| by_id(h.id).layer == Layer::Episodic));

        q.layers = None;
        q.categories = Some(vec![Category::new("decision").unwrap()]);
        let hits = idx.search(&q).unwrap().hits;
        assert_eq!(hits.len(), 30);
        assert!(hits.iter().all(|h| by_id(h.id).category.as_str() == "decision"));

        q.categories = Some(vec![Category::new("never-used").unwrap()]);
        assert!(idx.search(&q).unwrap().hits.is_empty());

        q.categories = None;
        q.created_from = Some(t0().plus_days(10));
        q.created_before = Some(t0().plus_days(20));
        let hits = idx.search(&q).unwrap().hits;
        assert_eq!(hits.len(), 10, "from is inclusive, before exclusive");
        assert!(hits.iter().all(|h| {
            let c = by_id(h.id).created_at;
            c >= t0().plus_days(10) && c < t0().plus_days(20)
        }));

        q.created_from = None;
        q.created_before = None;
        q.layers = Some(vec![]);
        assert!(idx.search(&q).unwrap().hits.is_empty(), "an empty layer list matches nothing");
    }
}

#[test]
fn excluded_ids_are_never_returned() {
    let idx = mem_index(8, 1000);
    let mut vecs = Clustered::new(3, 8, 2, 0.2);
    let docs: Vec<_> = (0..20).map(|i| doc("n", &format!("pinned rule {i}"), Some(vecs.point()))).collect();
    idx.upsert(docs.clone()).unwrap();
    let mut q = query(&["n"], "pinned rule", docs[0].vector.clone());
    q.limit = 100;
    q.exclude = docs.iter().take(5).map(|d| d.id).collect();
    let hits = idx.search(&q).unwrap().hits;
    assert_eq!(hits.len(), 15);
    assert!(hits.iter().all(|h| !q.exclude.contains(&h.id)));
}

#[test]
fn upsert_replaces_and_moves_between_namespaces() {
    let idx = mem_index(4, 1000);
    let mut d = doc("a", "the flight departs thursday", Some(vec![1.0, 0.0, 0.0, 0.0]));
    idx.upsert(vec![d.clone()]).unwrap();
    assert_eq!(idx.search(&query(&["a"], "flight", None)).unwrap().hits.len(), 1);

    d.content = "the dentist call is at noon".to_owned();
    d.vector = Some(vec![0.0, 1.0, 0.0, 0.0]);
    idx.upsert(vec![d.clone()]).unwrap();
    assert!(idx.search(&query(&["a"], "flight", None)).unwrap().hits.is_empty(), "old text is gone");
    let hits = idx.search(&query(&["a"], "dentist", Some(vec![0.0, 1.0, 0.0, 0.0]))).unwrap().hits;
    assert_eq!(hits.len(), 1);
    assert!((hits[0].vector_score.unwrap() - 1.0).abs() < 1e-5, "new vector is used");
    assert_eq!(idx.len(), 1);

    d.namespace = ns("b");
    idx.upsert(vec![d.clone()]).unwrap();
    assert_eq!((idx.namespace_len(&ns("a")), idx.namespace_len(&ns("b")), idx.len()), (0, 1, 1));
    assert!(idx.search(&query(&["a"], "dentist", d.vector.clone())).unwrap().hits.is_empty());
    let hits = idx.search(&query(&["b"], "dentist", d.vector.clone())).unwrap().hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].namespace, ns("b"));
    assert!(hits[0].text_rank.is_some() && hits[0].vector_rank.is_some());
}

#[test]
fn deletes_remove_from_both_sides_and_ignore_unknown_ids() {
    let idx = mem_index(4, 1000);
    let docs: Vec<_> = (0..10).map(|i| doc("n", "customer pricing", Some(vec![1.0, i as f32, 0.0, 0.0]))).collect();
    idx.upsert(docs.clone()).unwrap();
    idx.delete(&[docs[0].id, docs[1].id, MemoryId::new_v7()]).unwrap();
    assert_eq!(idx.len(), 8);
    let mut q = query(&["n"], "pricing", Some(vec![1.0, 0.0, 0.0, 0.0]));
    q.limit = 100;
    let r = idx.search(&q).unwrap();
    assert_eq!(r.hits.len(), 8);
    assert!(r.hits.iter().all(|h| h.id != docs[0].id && h.id != docs[1].id));
    assert_eq!(r.stats.text_candidates, 8);
    assert_eq!(r.stats.vector_candidates, 8);
    // Deleting most of a namespace compacts it; the survivors stay findable.
    idx.delete(&docs[2..9].iter().map(|d| d.id).collect::<Vec<_>>()).unwrap();
    let r = idx.search(&q).unwrap();
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![docs[9].id]);
}

#[test]
fn a_search_sees_the_writes_that_returned_before_it() {
    // Nothing commits in the background: only read-your-writes can make the doc visible.
    let idx = MemoryIndex::open(IndexOptions::new(None, 4, crate::MODEL)).unwrap();
    for i in 0..20 {
        let d = doc("n", &format!("reminder number{i}"), Some(vec![1.0, 0.0, 0.0, i as f32]));
        idx.upsert(vec![d.clone()]).unwrap();
        let hits = idx.search(&query(&["n"], &format!("number{i}"), None)).unwrap().hits;
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), vec![d.id]);
        idx.delete(&[d.id]).unwrap();
        assert!(idx.search(&query(&["n"], &format!("number{i}"), None)).unwrap().hits.is_empty());
    }
    // Also across threads sharing the index.
    let idx = std::sync::Arc::new(idx);
    let d = doc("n", "crossthread marker", None);
    let writer = {
        let (idx, d) = (idx.clone(), d.clone());
        std::thread::spawn(move || idx.upsert(vec![d]).unwrap())
    };
    writer.join().unwrap();
    assert_eq!(idx.search(&query(&["n"], "crossthread", None)).unwrap().hits.len(), 1);
}

#[test]
fn fusion_components_are_reported_and_selectable() {
    let idx = mem_index(4, 1000);
    let a = doc("n", "alpha team decided postgres", Some(unit4([1.0, 0.1, 0.0, 0.0])));
    let b = doc("n", "postgres postgres postgres", Some(unit4([0.0, 1.0, 0.0, 0.0])));
    let c = doc("n", "unrelated words entirely", Some(unit4([0.9, 0.2, 0.0, 0.0])));
    idx.upsert(vec![a.clone(), b.clone(), c.clone()]).unwrap();

    let mut q = query(&["n"], "postgres", Some(vec![1.0, 0.0, 0.0, 0.0]));
    let rrf = idx.search(&q).unwrap().hits;
    let Fusion::Rrf { k } = Fusion::default() else { panic!("the default fusion is RRF") };
    for h in &rrf {
        let expected =
            h.text_rank.map_or(0.0, |r| 1.0 / (k + r as f32)) + h.vector_rank.map_or(0.0, |r| 1.0 / (k + r as f32));
        assert!((h.score - expected).abs() < 1e-6);
    }
    assert_eq!(rrf[0].id, a.id, "a is second by text and first by vector");
    let hb = rrf.iter().find(|h| h.id == b.id).unwrap();
    assert_eq!(hb.text_rank, Some(1));
    assert!(hb.text_score.unwrap() > 0.0);
    assert!(rrf.iter().find(|h| h.id == c.id).unwrap().text_rank.is_none());

    q.fusion = Fusion::Blend { text_weight: 1.0 };
    let text_only = idx.search(&q).unwrap().hits;
    assert_eq!(text_only[0].id, b.id);
    assert!((text_only[0].score - 1.0).abs() < 1e-6);
    q.fusion = Fusion::Blend { text_weight: 0.0 };
    let vector_only = idx.search(&q).unwrap().hits;
    assert_eq!(vector_only[0].id, a.id);
    let va = vector_only[0].vector_score.unwrap();
    assert!((vector_only[0].score - (va + 1.0) / 2.0).abs() < 1e-6);
}

fn unit4(v: [f32; 4]) -> Vec<f32> {
    crate::unit(v.to_vec())
}

#[test]
fn bad_vectors_are_invalid_input_and_unnormalized_ones_are_normalized() {
    let idx = mem_index(4, 1000);
    let e = idx.upsert(vec![doc("n", "x", Some(vec![1.0, 2.0]))]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("2 dimensions"), "{e}");
    let e = idx.upsert(vec![doc("n", "x", Some(vec![f32::NAN, 0.0, 0.0, 0.0]))]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(idx.len(), 0, "a rejected batch writes nothing");
    let e = idx.search(&query(&["n"], "", Some(vec![1.0]))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);

    let d = doc("n", "scaled", Some(vec![10.0, 0.0, 0.0, 0.0]));
    let zero = doc("n", "zero vector", Some(vec![0.0; 4]));
    idx.upsert(vec![d.clone(), zero.clone()]).unwrap();
    let hits = idx.search(&query(&["n"], "", Some(vec![3.0, 0.0, 0.0, 0.0]))).unwrap().hits;
    assert_eq!(hits.len(), 1, "a zero vector has no direction and is text-only");
    assert!((hits[0].vector_score.unwrap() - 1.0).abs() < 1e-5);
    assert_eq!(idx.search(&query(&["n"], "zero", None)).unwrap().hits[0].id, zero.id);
    let mut o = IndexOptions::new(None, 4, crate::MODEL);
    o.hnsw.max_connections = 300;
    assert_eq!(MemoryIndex::open(o).unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[test]
fn clear_empties_everything() {
    let idx = mem_index(4, 2);
    let docs: Vec<_> = (0..10).map(|i| doc("n", "gone soon", Some(vec![1.0, i as f32, 1.0, 0.0]))).collect();
    idx.upsert(docs).unwrap();
    idx.set_applied_seq(42).unwrap();
    idx.clear().unwrap();
    assert_eq!((idx.len(), idx.namespace_len(&ns("n")), idx.applied_seq()), (0, 0, 0));
    assert!(idx.search(&query(&["n"], "gone", Some(vec![1.0, 0.0, 0.0, 0.0]))).unwrap().hits.is_empty());
}

#[test]
fn stop_words_and_stemming_shape_text_matches() {
    let idx = mem_index(0, 1000);
    let d = doc("n", "Alice prefers running meetings", None);
    idx.upsert(vec![d.clone()]).unwrap();
    assert_eq!(idx.search(&query(&["n"], "PREFER run meeting", None)).unwrap().hits.len(), 1);
    assert!(idx.search(&query(&["n"], "the and of", None)).unwrap().hits.is_empty(), "stop words alone match nothing");
    let ids: HashSet<_> =
        idx.search(&query(&["n"], "alice?! (prefers)", None)).unwrap().hits.iter().map(|h| h.id).collect();
    assert!(ids.contains(&d.id), "query syntax characters are just separators");
}

/// `ids_in` lists the live documents of the asked layers in the asked namespaces, in the
/// namespaces' order, also after deletes, moves and text-only documents.
#[test]
fn ids_in_lists_the_live_documents_of_some_layers() {
    let idx = mem_index(4, 1000);
    let mut vecs = Clustered::new(3, 4, 2, 0.2);
    let mut docs = Vec::new();
    for i in 0..30 {
        let key = ["alpha", "beta", "gamma"][i % 3];
        let vector = (i % 4 != 0).then(|| vecs.point());
        let mut d = doc(key, &format!("doc {i}"), vector);
        d.layer = [Layer::Identity, Layer::Semantic, Layer::Procedural, Layer::Episodic, Layer::Semantic][i % 5];
        docs.push(d);
    }
    idx.upsert(docs.clone()).unwrap();
    let pinned = [Layer::Identity, Layer::Procedural];
    let expect = |docs: &[memory_index::IndexDoc], namespaces: &[&str]| -> Vec<MemoryId> {
        namespaces
            .iter()
            .flat_map(|n| docs.iter().filter(move |d| d.namespace.as_str() == *n && pinned.contains(&d.layer)))
            .map(|d| d.id)
            .collect()
    };
    let sorted = |mut v: Vec<MemoryId>| {
        v.sort();
        v
    };
    assert_eq!(sorted(idx.ids_in(&[ns("gamma"), ns("alpha")], &pinned)), sorted(expect(&docs, &["gamma", "alpha"])));
    let got = idx.ids_in(&[ns("gamma"), ns("alpha")], &pinned);
    let first_alpha = got.iter().position(|id| docs.iter().any(|d| d.id == *id && d.namespace.as_str() == "alpha"));
    assert!(
        got[..first_alpha.unwrap()]
            .iter()
            .all(|id| docs.iter().any(|d| d.id == *id && d.namespace.as_str() == "gamma"))
    );
    assert!(idx.ids_in(&[ns("nobody")], &pinned).is_empty());
    assert!(idx.ids_in(&[ns("alpha")], &[Layer::Working]).is_empty());

    // Delete one pinned document, move another to a namespace outside the question.
    let gone = docs.iter().find(|d| d.layer == Layer::Identity).unwrap().id;
    idx.delete(&[gone]).unwrap();
    let mut moved = docs.iter().find(|d| d.layer == Layer::Procedural && d.id != gone).unwrap().clone();
    moved.namespace = ns("delta");
    idx.upsert(vec![moved.clone()]).unwrap();
    let rest: Vec<memory_index::IndexDoc> = docs.iter().filter(|d| d.id != gone && d.id != moved.id).cloned().collect();
    let all = ["alpha", "beta", "gamma"].map(ns);
    assert_eq!(sorted(idx.ids_in(&all, &pinned)), sorted(expect(&rest, &["alpha", "beta", "gamma"])));
    assert_eq!(idx.ids_in(&[ns("delta")], &pinned), vec![moved.id]);
}
