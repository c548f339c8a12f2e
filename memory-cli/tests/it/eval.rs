//! `memory eval`: the JSON report's shape and ranges on the tiny dataset, the human table, and
//! exit code 2 with one `error:` line for bad datasets and arguments.

use std::path::Path;

use serde_json::Value;

use crate::{Fixture, arg, keys, memory};

/// The committed tiny dataset.
fn tiny() -> String {
    arg(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/eval/tiny.jsonl"))
}

/// Asserts that `metrics` has recall@k and hit@k for each k plus mrr and queries, all rates in 0..=1.
fn check_metrics(metrics: &Value, ks: &[usize]) {
    let mut expected: Vec<String> = ks.iter().flat_map(|k| [format!("recall@{k}"), format!("hit@{k}")]).collect();
    expected.extend(["mrr".to_owned(), "queries".to_owned()]);
    expected.sort_unstable();
    assert_eq!(keys(metrics), expected, "{metrics}");
    for (key, value) in metrics.as_object().unwrap() {
        let x = value.as_f64().unwrap_or_else(|| panic!("{key} is not a number: {metrics}"));
        if key != "queries" {
            assert!((0.0..=1.0).contains(&x), "{key} = {x}");
        }
    }
}

#[test]
fn json_report_of_the_tiny_dataset() {
    let run = memory(&["eval", &tiny(), "--json", "--embedder", "hash"]).expect_code(0);
    let json = run.json();
    assert_eq!(
        keys(&json),
        [
            "by_category",
            "collections",
            "embedder",
            "fusion",
            "ingest_s",
            "memories",
            "overall",
            "queries",
            "query_ms_p50",
            "query_ms_p95"
        ]
    );
    assert_eq!((json["memories"].as_u64(), json["queries"].as_u64()), (Some(7), Some(4)));
    check_metrics(&json["overall"], &[5, 10]);
    assert_eq!(keys(&json["by_category"]), ["multi-hop", "paraphrase", "temporal", "uncategorized"]);
    for metrics in json["by_category"].as_object().unwrap().values() {
        check_metrics(metrics, &[5, 10]);
    }
    // Seven memories, k = 10: everything relevant is found.
    assert_eq!(json["overall"]["recall@10"].as_f64(), Some(1.0));
    let ingest = json["ingest_s"].as_f64().unwrap();
    let (p50, p95) = (json["query_ms_p50"].as_f64().unwrap(), json["query_ms_p95"].as_f64().unwrap());
    assert!(ingest >= 0.0 && p50 >= 0.0 && p50 <= p95, "{json}");
    assert!(json["embedder"]["model_id"].as_str().unwrap().starts_with("hash"), "{json}");
    assert!(
        json["fusion"].as_str().unwrap().starts_with("rrf(") || json["fusion"].as_str().unwrap().starts_with("blend(")
    );
    // No progress bar or anything else around the JSON.
    assert_eq!(run.stderr, "");
}

#[test]
fn the_k_flag_shapes_the_report() {
    let args = ["eval", &tiny(), "--json", "--embedder", "hash", "--k", "3, 1,3"];
    let json = memory(&args).expect_code(0).json();
    check_metrics(&json["overall"], &[1, 3]);
    check_metrics(&json["by_category"]["temporal"], &[1, 3]);
}

#[test]
fn the_index_can_be_kept_in_a_folder_and_is_replaced_each_run() {
    let fx = Fixture::new();
    let dir = arg(&fx.path().join("index"));
    for _ in 0..2 {
        let run = memory(&["eval", &tiny(), "--json", "--embedder", "hash", "--index-dir", &dir]).expect_code(0);
        assert_eq!(run.json()["overall"]["recall@10"].as_f64(), Some(1.0));
    }
    assert!(fx.path().join("index").read_dir().unwrap().next().is_some(), "the index was saved there");
}

#[test]
fn the_engine_decides_the_fusion_so_there_is_no_flag_for_it() {
    for flag in ["--fusion", "--rrf-k", "--text-weight"] {
        let run = memory(&["eval", &tiny(), "--embedder", "hash", flag, "1"]).expect_code(2);
        assert_eq!(run.stdout, "", "{run:#?}");
        assert!(run.stderr.contains(&format!("unexpected argument '{flag}'")), "{run:#?}");
    }
}

#[test]
fn human_report_is_a_table() {
    let run = memory(&["eval", &tiny(), "--embedder", "hash"]).expect_code(0);
    let out = &run.stdout;
    for needle in
        ["embedder  hash", "fusion    ", "recall@5", "hit@10", "MRR", "memories  7 in 2 collections", "queries   4"]
    {
        assert!(out.contains(needle), "{needle}: {run:#?}");
    }
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("overall") || l.starts_with("temporal")).collect();
    assert_eq!(rows.len(), 2, "{run:#?}");
    // stderr is not a terminal here, so no progress bar.
    assert_eq!(run.stderr, "");
}

#[test]
fn bad_datasets_exit_2_with_one_error_line_naming_the_line() {
    let fx = Fixture::new();
    let memory_line = r#"{"type":"memory","collection":"c","id":"a","text":"alpha"}"#;
    for (text, expected) in [
        (format!("{memory_line}\n\n{{\"type\":\"fact\"}}\n"), "line 3: unknown type"),
        (format!("{memory_line}\n{memory_line}\n"), "line 2: duplicate memory id"),
        (
            format!(
                "{memory_line}\n{{\"type\":\"query\",\"collection\":\"c\",\"id\":\"q\",\"text\":\"?\",\"relevant\":[\"b\"]}}\n"
            ),
            "line 2: query \"q\": relevant id \"b\"",
        ),
        (
            format!(
                "{memory_line}\n{{\"type\":\"query\",\"collection\":\"d\",\"id\":\"q\",\"text\":\"?\",\"relevant\":[\"a\"]}}\n"
            ),
            "line 2: query \"q\" is on collection \"d\"",
        ),
        (format!("{memory_line}\nnot json\n"), "line 2: not valid JSON"),
        (format!("{memory_line}\n"), "no queries"),
    ] {
        let file = fx.file("bad.jsonl", &text);
        let run = memory(&["eval", &file, "--embedder", "hash"]).expect_code(2);
        assert_eq!(run.stdout, "", "{run:#?}");
        assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
        assert!(run.stderr.starts_with("error: ") && run.stderr.contains(expected), "{expected}: {run:#?}");
    }
    let missing = arg(&fx.path().join("missing.jsonl"));
    let run = memory(&["eval", &missing]).expect_code(2);
    assert!(run.stderr.starts_with("error: cannot read the dataset"), "{run:#?}");
}

#[test]
fn bad_flags_exit_2_with_one_line_naming_the_flag() {
    let tiny = tiny();
    for (extra, flag) in [
        (vec!["--k", "5,x"], "--k"),
        (vec!["--k", "0"], "--k"),
        (vec!["--k", ""], "--k"),
        (vec!["--k", "5,1001"], "--k"),
        (vec!["--embedder", "word2vec"], "--embedder"),
    ] {
        let mut args = vec!["eval", tiny.as_str()];
        args.extend(extra.iter().copied());
        if !extra.contains(&"--embedder") {
            args.extend(["--embedder", "hash"]);
        }
        let run = memory(&args).expect_code(2);
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {run:#?}");
        assert!(run.stderr.starts_with(&format!("error: {flag}")), "{args:?}: {run:#?}");
    }
}
