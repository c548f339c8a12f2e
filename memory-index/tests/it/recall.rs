//! Which path ran (exact scan vs HNSW), and recall@10 against brute force on clustered vectors.

use std::collections::HashSet;

use memory_core::MemoryId;
use memory_index::{IndexDoc, MemoryIndex, SearchQuery};

use crate::{Clustered, cosine, doc, mem_index, query, scale};

const DIM: usize = 32;

/// Exact top `k` ids among `docs` for `q`.
fn brute_force(docs: &[IndexDoc], q: &[f32], k: usize) -> Vec<MemoryId> {
    let mut scored: Vec<(f32, MemoryId)> =
        docs.iter().filter_map(|d| d.vector.as_ref().map(|v| (cosine(v, q), d.id))).collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(k).map(|(_, id)| id).collect()
}

/// Mean recall@10 of vector-only searches of `namespace` for `queries`.
fn recall(idx: &MemoryIndex, namespace: &str, docs: &[IndexDoc], queries: &[Vec<f32>]) -> f64 {
    let own: Vec<IndexDoc> = docs.iter().filter(|d| d.namespace.as_str() == namespace).cloned().collect();
    let mut total = 0.0;
    for qv in queries {
        let truth: HashSet<MemoryId> = brute_force(&own, qv, 10).into_iter().collect();
        let q = SearchQuery { limit: 10, ..query(&[namespace], "", Some(qv.clone())) };
        let got = idx.search(&q).unwrap().hits;
        let found = got.iter().filter(|h| truth.contains(&h.id)).count();
        total += found as f64 / truth.len().max(1) as f64;
    }
    total / queries.len() as f64
}

#[test]
fn a_tiny_namespace_in_a_huge_index_is_scanned_exactly_with_full_recall() {
    // 0.01% of the vectors live in "tiny"; the rest fill 50 other namespaces.
    let total = 100_000 * scale();
    let tiny = total / 10_000;
    let mut vecs = Clustered::new(11, DIM, 200, 0.15);
    let idx = mem_index(DIM, 2_500);
    let mut docs = Vec::with_capacity(total);
    for i in 0..total {
        let key = if i < tiny { "tiny".to_owned() } else { format!("bulk{}", i % 50) };
        docs.push(doc(&key, "", Some(vecs.point())));
    }
    for chunk in docs.chunks(10_000) {
        idx.upsert(chunk.to_vec()).unwrap();
    }
    let queries: Vec<Vec<f32>> = (0..50).map(|_| vecs.point()).collect();
    let before = idx.counters();
    let r = recall(&idx, "tiny", &docs, &queries);
    let after = idx.counters();
    assert!(r >= 0.95, "recall@10 {r}");
    assert_eq!(after.exact_scans - before.exact_scans, queries.len() as u64);
    assert_eq!(after.hnsw_searches, before.hnsw_searches, "no graph walk for a tiny namespace");
}

#[test]
fn a_big_namespace_uses_hnsw_with_high_recall() {
    let n = 3_000 * scale();
    let mut vecs = Clustered::new(12, DIM, 100, 0.15);
    let idx = mem_index(DIM, 500);
    let mut docs: Vec<IndexDoc> = (0..n).map(|_| doc("big", "", Some(vecs.point()))).collect();
    // A few below the threshold elsewhere: they keep scanning exactly.
    docs.extend((0..50).map(|_| doc("side", "", Some(vecs.point()))));
    for chunk in docs.chunks(1_000) {
        idx.upsert(chunk.to_vec()).unwrap();
    }
    idx.wait_for_graphs();
    let queries: Vec<Vec<f32>> = (0..50).map(|_| vecs.point()).collect();

    let before = idx.counters();
    let r = recall(&idx, "big", &docs, &queries);
    let after = idx.counters();
    assert!(r >= 0.95, "HNSW recall@10 {r}");
    assert_eq!(after.hnsw_searches - before.hnsw_searches, queries.len() as u64);
    assert_eq!(after.exact_scans, before.exact_scans);

    let before = idx.counters();
    assert!(recall(&idx, "side", &docs, &queries[..5]) >= 0.999);
    let after = idx.counters();
    assert_eq!((after.exact_scans - before.exact_scans, after.hnsw_searches - before.hnsw_searches), (5, 0));

    // Replacing a third of the big namespace leaves tombstones past 20%: it is compacted and its
    // graph rebuilt, and recall holds.
    let replaced: Vec<IndexDoc> =
        docs.iter().take(n / 3 + 10).map(|d| IndexDoc { vector: Some(vecs.point()), ..d.clone() }).collect();
    for (d, r) in docs.iter_mut().zip(&replaced) {
        d.vector = r.vector.clone();
    }
    idx.upsert(replaced).unwrap();
    // Until the new graph is installed the namespace is scanned exactly: recall holds either way.
    assert!(recall(&idx, "big", &docs, &queries) >= 0.95);
    idx.wait_for_graphs();
    let before = idx.counters();
    assert!(recall(&idx, "big", &docs, &queries) >= 0.95);
    let after = idx.counters();
    assert_eq!(after.hnsw_searches - before.hnsw_searches, queries.len() as u64, "the graph was rebuilt");
}

#[test]
fn a_selective_filter_inside_a_graph_namespace_scans_the_survivors_exactly() {
    let n = 3_000;
    let mut vecs = Clustered::new(13, DIM, 50, 0.15);
    let idx = mem_index(DIM, 500);
    let docs: Vec<IndexDoc> = (0..n)
        .map(|i| {
            let mut d = doc("big", "", Some(vecs.point()));
            if i % 100 == 0 {
                d.layer = memory_core::Layer::Episodic;
            }
            d
        })
        .collect();
    idx.upsert(docs.clone()).unwrap();
    idx.wait_for_graphs();
    let episodic: Vec<IndexDoc> = docs.iter().filter(|d| d.layer == memory_core::Layer::Episodic).cloned().collect();
    let qv = vecs.point();
    let mut q = query(&["big"], "", Some(qv.clone()));
    q.layers = Some(vec![memory_core::Layer::Episodic]);
    let r = idx.search(&q).unwrap();
    assert_eq!((r.stats.exact_scans, r.stats.hnsw_searches), (1, 0), "30 survivors: exact");
    let truth = brute_force(&episodic, &qv, 10);
    assert_eq!(r.hits.iter().map(|h| h.id).collect::<Vec<_>>(), truth);

    // A broad filter (99% pass) still walks the graph.
    q.layers = Some(vec![memory_core::Layer::Semantic]);
    let r = idx.search(&q).unwrap();
    assert_eq!((r.stats.exact_scans, r.stats.hnsw_searches), (0, 1));
    assert_eq!(r.hits.len(), 10);
}
