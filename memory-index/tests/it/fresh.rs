//! Read-your-writes without a commit: documents written since the overlay's last commit are
//! searched from the fresh set, and must rank and score exactly as they do once committed.

use memory_core::{Category, Layer, Metadata, Timestamp};
use memory_index::{Hit, MemoryIndex, SearchQuery};
use serde_json::json;

use super::{doc, mem_index, ns, query, t0};

/// (id, text score) of every hit, best first.
fn scored(index: &MemoryIndex, q: &SearchQuery) -> Vec<(memory_core::MemoryId, f32)> {
    index.search(q).unwrap().hits.iter().map(|h: &Hit| (h.id, h.text_score.expect("text hit"))).collect()
}

/// The same hits with the same scores; the order follows from the scores, except among ties,
/// which float rounding may order either way.
fn assert_same(before: &[(memory_core::MemoryId, f32)], after: &[(memory_core::MemoryId, f32)], what: &str) {
    assert_eq!(before.len(), after.len(), "{what}: {before:?} vs {after:?}");
    let (mut before, mut after) = (before.to_vec(), after.to_vec());
    before.sort_by_key(|(id, _)| *id);
    after.sort_by_key(|(id, _)| *id);
    for ((a, sa), (b, sb)) in before.iter().zip(&after) {
        assert_eq!(a, b, "{what}: other hits: {before:?} vs {after:?}");
        assert!((sa - sb).abs() <= 1e-4 * sa.abs().max(1.0), "{what}: score {sa} before the commit, {sb} after");
    }
}

const WORDS: &[&str] = &[
    "garden",
    "tomato",
    "seed",
    "water",
    "harvest",
    "soil",
    "compost",
    "sun",
    "rain",
    "fence",
    "trip",
    "train",
    "ticket",
    "hotel",
    "museum",
    "dentist",
    "appointment",
    "tuesday",
    "invoice",
    "budget",
];

fn sentence(i: usize) -> String {
    (0..3 + i % 7).map(|j| WORDS[(i * 7 + j * 3 + j * j) % WORDS.len()]).collect::<Vec<_>>().join(" ")
}

#[test]
fn fresh_writes_rank_and_score_as_committed_ones() {
    let index = mem_index(4, 10_000);
    let committed: Vec<_> = (0..60).map(|i| doc(if i % 2 == 0 { "a" } else { "b" }, &sentence(i), None)).collect();
    index.upsert(committed).unwrap();
    index.flush().unwrap();
    // New documents only: a commit may merge segments, which drops replaced versions from the
    // statistics, so scores compare exactly only when nothing was replaced.
    index.upsert((60..90).map(|i| doc("a", &sentence(i), None)).collect()).unwrap();
    let queries: Vec<SearchQuery> = ["tomato harvest", "dentist tuesday", "garden", "train ticket hotel", "budget"]
        .into_iter()
        .flat_map(|t| [query(&["a"], t, None), query(&["a", "b"], t, None)])
        .map(|mut q| {
            q.limit = 40;
            q
        })
        .collect();
    let before: Vec<_> = queries.iter().map(|q| scored(&index, q)).collect();
    index.flush().unwrap();
    for (q, before) in queries.iter().zip(&before) {
        assert_same(before, &scored(&index, q), &q.text);
    }
}

#[test]
fn fresh_replacements_moves_and_deletes_hide_the_committed_versions() {
    let index = mem_index(4, 10_000);
    let docs: Vec<_> = (0..3).map(|i| doc("a", &format!("original{i} text"), None)).collect();
    index.upsert(docs.clone()).unwrap();
    index.flush().unwrap();
    let mut replaced = docs[0].clone();
    replaced.content = "rewritten words".into();
    let mut moved = docs[1].clone();
    moved.namespace = ns("b");
    index.upsert(vec![replaced, moved]).unwrap();
    index.delete(&[docs[2].id]).unwrap();
    let ids = |ns: &[&str], text: &str| -> Vec<_> {
        index.search(&query(ns, text, None)).unwrap().hits.iter().map(|h| h.id).collect()
    };
    for committed in [false, true] {
        assert!(ids(&["a", "b"], "original0").is_empty(), "the old text is gone (committed: {committed})");
        assert_eq!(ids(&["a", "b"], "rewritten"), vec![docs[0].id]);
        assert!(ids(&["a"], "original1").is_empty(), "moved out of a");
        assert_eq!(ids(&["b"], "original1"), vec![docs[1].id]);
        assert!(ids(&["a", "b"], "original2").is_empty(), "deleted");
        index.flush().unwrap();
    }
}

#[test]
fn every_filter_applies_to_fresh_writes() {
    let index = mem_index(4, 10_000);
    let day = 86_400_000_000;
    let mut docs = Vec::new();
    for i in 0..40_usize {
        let mut d = doc(["a", "b", "c"][i % 3], &format!("{} tomato", sentence(i)), None);
        d.layer = [Layer::Semantic, Layer::Episodic, Layer::Working][i % 3 / 2 + i % 2];
        d.category = if i % 4 == 0 { Category::event() } else { Category::fact() };
        d.created_at = Timestamp::from_micros(t0().as_micros() + (i as i64) * day);
        d.expires_at = (i % 5 == 0).then(|| Timestamp::from_micros(t0().as_micros() + 10 * day));
        if i % 3 == 0 {
            d.metadata = Metadata::from_iter([("project".to_owned(), json!("apollo"))]);
        }
        docs.push(d);
    }
    index.upsert(docs.clone()).unwrap();
    let base = || {
        let mut q = query(&["a", "b"], "tomato garden", None);
        q.limit = 50;
        q
    };
    let filters: Vec<(&str, SearchQuery)> = vec![
        ("none", base()),
        ("layers", SearchQuery { layers: Some(vec![Layer::Episodic]), ..base() }),
        ("categories", SearchQuery { categories: Some(vec![Category::event()]), ..base() }),
        (
            "time",
            SearchQuery {
                created_from: Some(Timestamp::from_micros(t0().as_micros() + 5 * day)),
                created_before: Some(Timestamp::from_micros(t0().as_micros() + 30 * day)),
                ..base()
            },
        ),
        ("valid_at", SearchQuery { valid_at: Some(Timestamp::from_micros(t0().as_micros() + 20 * day)), ..base() }),
        (
            "metadata",
            SearchQuery { metadata: Metadata::from_iter([("project".to_owned(), json!("apollo"))]), ..base() },
        ),
        ("exclude", SearchQuery { exclude: vec![docs[0].id, docs[1].id], ..base() }),
    ];
    let before: Vec<_> = filters.iter().map(|(_, q)| scored(&index, q)).collect();
    index.flush().unwrap();
    for ((what, q), before) in filters.iter().zip(&before) {
        let after = scored(&index, q);
        assert!(!after.is_empty(), "{what}: the filter leaves something");
        assert_same(before, &after, what);
    }
}

#[test]
fn many_writes_commit_on_their_own_and_stay_visible() {
    let index = mem_index(4, 10_000);
    // More than one fresh set's worth, in batches: the writer commits along the way.
    let batch = 2_500;
    let mut last = None;
    for b in 0..10 {
        let docs: Vec<_> = (0..batch).map(|i| doc("a", &sentence(b * batch + i), None)).collect();
        last = Some(docs[batch - 1].id);
        index.upsert(docs).unwrap();
    }
    let mut q = query(&["a"], &sentence(10 * batch - 1), None);
    q.exclude = Vec::new();
    q.limit = 1000;
    let hits = scored(&index, &q);
    assert!(hits.iter().any(|(id, _)| Some(*id) == last), "the last write is found");
    assert_eq!(index.len(), 10 * batch);
}
