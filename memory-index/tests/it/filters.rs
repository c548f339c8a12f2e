//! The expiry (`valid_at`) and metadata-equality filters: inside both retrievers, inside graph
//! namespaces, through compaction, and across a flush and reopen.

use std::collections::HashSet;

use memory_core::{MemoryId, Metadata, Timestamp};
use memory_index::{IndexDoc, MemoryIndex, SearchQuery};
use serde_json::{Value, json};

use crate::{Clustered, dir_index, doc, mem_index, query, t0};

fn meta(value: Value) -> Metadata {
    serde_json::from_value(value).expect("a JSON object")
}

fn ids(docs: &[&IndexDoc]) -> HashSet<MemoryId> {
    docs.iter().map(|d| d.id).collect()
}

/// Asserts that text-only, vector-only and hybrid searches all return exactly `expected`. Every
/// document of the small corpora below shares the query words and has a vector, so without
/// filters each side would return all of them.
#[track_caller]
fn check(idx: &MemoryIndex, q: &SearchQuery, expected: &HashSet<MemoryId>, what: &str) {
    let text = SearchQuery { vector: None, ..q.clone() };
    let vector = SearchQuery { text: String::new(), ..q.clone() };
    for (side, q) in [("text", text), ("vector", vector), ("hybrid", q.clone())] {
        let r = idx.search(&q).unwrap();
        let got: HashSet<MemoryId> = r.hits.iter().map(|h| h.id).collect();
        assert_eq!(&got, expected, "{what}, {side} side");
        if side == "hybrid" {
            assert_eq!(r.stats.text_candidates, expected.len(), "{what}: text candidates are filtered");
            assert_eq!(r.stats.vector_candidates, expected.len(), "{what}: vector candidates are filtered");
        }
    }
}

/// Four documents around `t0`: no expiry, expired a day before, expiring exactly at `t0`, and
/// expiring a day after.
fn expiry_corpus(idx: &MemoryIndex) -> [IndexDoc; 4] {
    let mut vecs = Clustered::new(21, 8, 2, 0.3);
    let mut mk = |expires_at: Option<Timestamp>| {
        let mut d = doc("n", "quarterly budget review", Some(vecs.point()));
        d.expires_at = expires_at;
        d
    };
    let docs = [mk(None), mk(Some(t0().plus_days(-1))), mk(Some(t0())), mk(Some(t0().plus_days(1)))];
    idx.upsert(docs.to_vec()).unwrap();
    docs
}

#[test]
fn expired_documents_are_excluded_on_both_sides_and_the_boundary_is_expired() {
    let idx = mem_index(8, 1000);
    let [never, past, at, future] = expiry_corpus(&idx);
    let mut q = query(&["n"], "budget review", past.vector.clone());
    q.limit = 100;

    check(&idx, &q, &ids(&[&never, &past, &at, &future]), "no valid_at: no expiry filtering");
    q.valid_at = Some(t0());
    check(&idx, &q, &ids(&[&never, &future]), "expires_at == valid_at is expired");
    q.valid_at = Some(t0().plus_micros(-1));
    check(&idx, &q, &ids(&[&never, &at, &future]), "a microsecond earlier it is still valid");
    q.valid_at = Some(t0().plus_days(-2));
    check(&idx, &q, &ids(&[&never, &past, &at, &future]), "before every expiry");
    q.valid_at = Some(Timestamp::MAX);
    check(&idx, &q, &ids(&[&never]), "a memory without expires_at never expires");
    q.valid_at = Some(Timestamp::from_micros(i64::MAX));
    check(&idx, &q, &ids(&[&never]), "even past the end of the domain");

    // Re-upserting with a later expiry revives a memory; with none, it never expires.
    let mut revived = past.clone();
    revived.expires_at = None;
    idx.upsert(vec![revived]).unwrap();
    q.valid_at = Some(t0());
    check(&idx, &q, &ids(&[&never, &past, &future]), "the replaced document's expiry counts");
}

/// Five documents with metadata of every JSON kind (and one with none).
fn metadata_corpus(idx: &MemoryIndex) -> Vec<IndexDoc> {
    let mut vecs = Clustered::new(22, 8, 2, 0.3);
    let metas = [
        json!({"project": "apollo", "priority": 1, "urgent": true, "owner": {"name": "ann", "team": "core"}}),
        json!({"project": "apollo", "priority": 1.0, "urgent": false}),
        json!({"project": "gemini", "priority": 2, "urgent": true, "tags": ["a", "b"]}),
        json!({"project": "Apollo", "priority": "1"}),
        json!({}),
    ];
    let docs: Vec<IndexDoc> = metas
        .into_iter()
        .map(|m| {
            let mut d = doc("n", "launch checklist item", Some(vecs.point()));
            d.metadata = meta(m);
            d
        })
        .collect();
    idx.upsert(docs.clone()).unwrap();
    docs
}

#[test]
fn metadata_filters_require_every_pair_with_an_equal_json_value() {
    let idx = mem_index(8, 1000);
    let d = metadata_corpus(&idx);
    let mut q = query(&["n"], "launch checklist", d[0].vector.clone());
    q.limit = 100;
    let cases: Vec<(Value, Vec<&IndexDoc>, &str)> = vec![
        (json!({}), d.iter().collect(), "empty: no filter"),
        (json!({"project": "apollo"}), vec![&d[0], &d[1]], "string, case-sensitive"),
        (json!({"priority": 1}), vec![&d[0]], "integer 1 is not 1.0 nor \"1\""),
        (json!({"priority": 1.0}), vec![&d[1]], "float 1.0"),
        (json!({"priority": "1"}), vec![&d[3]], "string \"1\""),
        (json!({"urgent": true}), vec![&d[0], &d[2]], "bool true"),
        (json!({"urgent": false}), vec![&d[1]], "bool false"),
        (json!({"project": "apollo", "urgent": true}), vec![&d[0]], "two pairs: AND"),
        (json!({"project": "gemini", "priority": 1}), vec![], "pairs from different documents"),
        (json!({"tags": ["a", "b"]}), vec![&d[2]], "an array matches whole"),
        (json!({"tags": ["b", "a"]}), vec![], "array order matters"),
        (json!({"tags": "a"}), vec![], "no element matching"),
        (json!({"owner": {"team": "core", "name": "ann"}}), vec![&d[0]], "object key order does not matter"),
        (json!({"owner": {"name": "ann"}}), vec![], "an object matches whole"),
        (json!({"project": "hermes"}), vec![], "a value no document has"),
        (json!({"missing": "x"}), vec![], "a key no document has"),
        (json!({"urgent": null}), vec![], "null is a value, not absence"),
    ];
    for (filter, expected, what) in cases {
        q.metadata = meta(filter);
        check(&idx, &q, &ids(&expected), what);
    }

    // Filters combine with expiry and the other filters.
    let mut expiring = d[0].clone();
    expiring.expires_at = Some(t0());
    idx.upsert(vec![expiring]).unwrap();
    q.metadata = meta(json!({"project": "apollo"}));
    q.valid_at = Some(t0());
    check(&idx, &q, &ids(&[&d[1]]), "metadata and expiry together");
    q.exclude = vec![d[1].id];
    check(&idx, &q, &HashSet::new(), "and exclusions");
}

#[test]
fn filters_inside_a_graph_namespace_return_only_and_all_matching_documents() {
    const DIM: usize = 16;
    let idx = mem_index(DIM, 50);
    let mut vecs = Clustered::new(23, DIM, 6, 0.2);
    let mut docs = Vec::new();
    for i in 0..400 {
        let mut d = doc("big", &format!("shared report words item{i}"), Some(vecs.point()));
        if i % 40 == 0 {
            d.metadata = meta(json!({"tag": "rare", "n": i}));
        }
        if i % 10 == 3 || i % 80 == 0 {
            d.expires_at = Some(t0().plus_days(-(i as i64 % 5)));
        }
        docs.push(d);
    }
    idx.upsert(docs.clone()).unwrap();
    idx.wait_for_graphs();
    let rare: HashSet<MemoryId> = docs.iter().filter(|d| d.metadata.contains_key("tag")).map(|d| d.id).collect();
    let valid = |d: &&IndexDoc| d.expires_at.is_none_or(|e| e > t0());
    assert_eq!((rare.len(), docs.iter().filter(valid).count()), (10, 355));

    // A non-selective filter (355 of 400 valid, threshold 50) goes through the graph, and the
    // graph's candidates are filtered too: an expired document's own vector does not find it.
    let before = idx.counters();
    for d in docs.iter().step_by(7) {
        let mut q = query(&["big"], "", d.vector.clone());
        q.valid_at = Some(t0());
        let hits = idx.search(&q).unwrap().hits;
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| valid(&docs.iter().find(|x| x.id == h.id).unwrap())), "an expired hit");
        if valid(&d) {
            assert_eq!(hits[0].id, d.id, "the graph finds the query's own document");
        }
    }
    let after = idx.counters();
    assert!(after.hnsw_searches > before.hnsw_searches, "the graph ran");

    // A selective filter (10 rare documents, 5 of them expired) is scanned exactly, so every
    // match is found even though the graph would bury them among 400.
    for (valid_at, expected) in [(None, rare.clone()), (Some(t0()), docs.iter().filter(valid).map(|d| d.id).collect())]
    {
        let expected: HashSet<MemoryId> = expected.intersection(&rare).copied().collect();
        assert_eq!(expected.len(), if valid_at.is_some() { 5 } else { 10 });
        let mut q = query(&["big"], "report", docs[1].vector.clone());
        q.limit = 30;
        q.metadata = meta(json!({"tag": "rare"}));
        q.valid_at = valid_at;
        let before = idx.counters();
        let r = idx.search(&SearchQuery { text: String::new(), ..q.clone() }).unwrap();
        let after = idx.counters();
        assert_eq!(r.hits.iter().map(|h| h.id).collect::<HashSet<_>>(), expected);
        assert_eq!((after.exact_scans - before.exact_scans, after.hnsw_searches - before.hnsw_searches), (1, 0));
        check(&idx, &q, &expected, "selective filter in a graph namespace");
    }

    // A metadata term never seen matches nothing, without a graph walk.
    let before = idx.counters();
    let mut q = query(&["big"], "report", docs[1].vector.clone());
    q.metadata = meta(json!({"tag": "unknown"}));
    assert!(idx.search(&q).unwrap().hits.is_empty());
    assert_eq!(idx.counters().hnsw_searches, before.hnsw_searches);
}

#[test]
fn compaction_keeps_expiry_and_metadata() {
    let idx = mem_index(8, 1000);
    let mut vecs = Clustered::new(24, 8, 2, 0.3);
    let docs: Vec<IndexDoc> = (0..50)
        .map(|i| {
            let mut d = doc("n", "moving boxes", Some(vecs.point()));
            d.metadata = meta(json!({"parity": i % 2}));
            d.expires_at = (i % 3 == 0).then(t0);
            d
        })
        .collect();
    idx.upsert(docs.clone()).unwrap();
    // Deleting 40% of the rows compacts the partition: surviving rows move.
    let gone: Vec<MemoryId> = docs.iter().take(20).map(|d| d.id).collect();
    idx.delete(&gone).unwrap();
    let mut q = query(&["n"], "boxes", docs[30].vector.clone());
    q.limit = 100;
    q.metadata = meta(json!({"parity": 1}));
    q.valid_at = Some(t0());
    let expected: HashSet<MemoryId> = (20..50).filter(|i| i % 2 == 1 && i % 3 != 0).map(|i| docs[i].id).collect();
    assert_eq!(expected.len(), 10);
    check(&idx, &q, &expected, "after compaction");
}

#[test]
fn filters_survive_a_flush_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut vecs = Clustered::new(25, 8, 3, 0.2);
    let docs: Vec<IndexDoc> = (0..120)
        .map(|i| {
            // "big" gets a graph (threshold 40); "small" is scanned.
            let mut d = doc(["big", "big", "small"][i % 3], "harvest schedule note", Some(vecs.point()));
            let season = ["spring", "summer", "autumn", "winter"][i % 4];
            d.metadata = meta(json!({"season": season, "i": i}));
            d.expires_at = (i % 5 == 0).then(|| t0().plus_days(i as i64 % 3 - 1));
            d
        })
        .collect();
    let queries: Vec<SearchQuery> = [json!({"season": "spring"}), json!({"i": 7}), json!({"i": 7, "season": "autumn"})]
        .into_iter()
        .flat_map(|m| {
            [None, Some(t0())].map(|valid_at| {
                let mut q = query(&["big", "small"], "harvest", docs[4].vector.clone());
                q.limit = 100;
                q.metadata = meta(m.clone());
                q.valid_at = valid_at;
                q
            })
        })
        .collect();
    let run = |idx: &MemoryIndex| -> Vec<HashSet<MemoryId>> {
        queries.iter().map(|q| idx.search(q).unwrap().hits.iter().map(|h| h.id).collect()).collect()
    };
    let before = {
        let idx = dir_index(dir.path(), 8, 40).unwrap();
        idx.upsert(docs.clone()).unwrap();
        idx.wait_for_graphs();
        idx.flush().unwrap();
        run(&idx)
    };
    // The expected sets, computed from the documents.
    let spring_valid: HashSet<MemoryId> = docs
        .iter()
        .filter(|d| d.metadata["season"] == "spring" && d.expires_at.is_none_or(|e| e > t0()))
        .map(|d| d.id)
        .collect();
    assert_eq!(before[1], spring_valid);
    assert_eq!(before[2], ids(&[&docs[7]]));
    assert_eq!(before[3], ids(&[&docs[7]]), "7 never expires");
    assert!(before[4].is_empty() && before[5].is_empty(), "7 is winter");

    let idx = dir_index(dir.path(), 8, 40).unwrap();
    assert_eq!(run(&idx), before, "same results after reopening");
    for q in &queries {
        let mut text = q.clone();
        text.vector = None;
        let hits: HashSet<MemoryId> = idx.search(&text).unwrap().hits.iter().map(|h| h.id).collect();
        let vector: HashSet<MemoryId> =
            idx.search(&SearchQuery { text: String::new(), ..q.clone() }).unwrap().hits.iter().map(|h| h.id).collect();
        assert_eq!(hits, vector, "the reopened text and vector sides agree");
    }
    // New terms after reopening get new ids; old ones keep matching.
    let mut late = doc("small", "harvest late", Some(vecs.point()));
    late.metadata = meta(json!({"season": "spring", "late": true}));
    idx.upsert(vec![late.clone()]).unwrap();
    let mut q = queries[0].clone();
    q.metadata = meta(json!({"late": true}));
    check(&idx, &q, &ids(&[&late]), "a term added after reopening");
    q.metadata = meta(json!({"season": "spring"}));
    let mut all_spring = before[0].clone();
    all_spring.insert(late.id);
    check(&idx, &q, &all_spring, "an old term after reopening");
}

/// An index written by this build, then altered by `age` to look like an older one: it opens
/// discarded (the view starts empty, to be rebuilt from the store); returns why.
fn aged(age: impl FnOnce(&std::path::Path)) -> String {
    let dir = tempfile::tempdir().unwrap();
    {
        let idx = dir_index(dir.path(), 4, 100).unwrap();
        idx.upsert(vec![doc("n", "old words", Some(vec![1.0, 0.0, 0.0, 0.0]))]).unwrap();
        idx.flush().unwrap();
    }
    age(dir.path());
    let idx = dir_index(dir.path(), 4, 100).expect("an old index opens empty");
    assert!(idx.is_empty());
    match idx.opened() {
        memory_index::Opened::Discarded { reason } => reason.clone(),
        other => panic!("an old index must be discarded, not {other:?}"),
    }
}

/// The text directory named in `meta.json`.
fn text_dir(d: &std::path::Path) -> std::path::PathBuf {
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(d.join("meta.json")).unwrap()).unwrap();
    d.join(meta["text_dir"].as_str().unwrap())
}

#[test]
fn an_index_of_a_previous_format_is_discarded() {
    // meta.json of format 2 (before store ids and named text directories).
    let why = aged(|d| {
        let text = std::fs::read_to_string(d.join("meta.json")).unwrap();
        let old = text.replace("\"format_version\": 3", "\"format_version\": 2");
        assert_ne!(old, text);
        std::fs::write(d.join("meta.json"), old).unwrap();
    });
    assert!(why.contains("format version 2; this build writes 3"), "{why}");

    // A vectors file of format 2 (its version follows the 8-byte magic).
    let why = aged(|d| {
        let mut b = std::fs::read(d.join("vectors.bin")).unwrap();
        assert_eq!(b[8..12], 3u32.to_le_bytes());
        b[8..12].copy_from_slice(&2u32.to_le_bytes());
        std::fs::write(d.join("vectors.bin"), b).unwrap();
    });
    assert!(why.contains("format version 2"), "{why}");

    // A text index with the format-1 schema (no expires_at, no metadata field).
    let why = aged(|d| {
        use tantivy::schema::{
            IndexRecordOption, NumericOptions, STRING, SchemaBuilder, TextFieldIndexing, TextOptions,
        };
        let text = text_dir(d);
        std::fs::remove_dir_all(&text).unwrap();
        std::fs::create_dir(&text).unwrap();
        let mut b = SchemaBuilder::new();
        b.add_text_field("id", STRING);
        b.add_u64_field("id_hi", NumericOptions::default().set_fast());
        b.add_u64_field("id_lo", NumericOptions::default().set_fast());
        b.add_text_field("namespace", STRING);
        b.add_text_field("layer", STRING);
        b.add_text_field("category", STRING);
        b.add_i64_field("created_at", NumericOptions::default().set_indexed().set_fast());
        b.add_text_field(
            "content",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("en_stem_stop")
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        );
        tantivy::Index::create_in_dir(&text, b.build()).unwrap();
    });
    assert!(why.contains("another schema"), "{why}");
}
