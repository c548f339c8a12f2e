//! A tiny Model2Vec-format model written by the tests: a BERT-style WordPiece tokenizer with a
//! dozen tokens and a 4-dimensional table, so the static embedder is tested everywhere without
//! downloading anything.

use std::path::Path;

use serde_json::json;

/// Vocabulary in id order, with each token's row.
pub const ROWS: &[(&str, [f32; 4])] = &[
    ("[UNK]", [9.0, 9.0, 9.0, 9.0]),
    ("[CLS]", [0.0; 4]),
    ("[SEP]", [0.0; 4]),
    ("[PAD]", [0.0; 4]),
    ("cat", [1.0, 0.2, 0.0, 0.0]),
    ("kitten", [0.9, 0.3, 0.1, 0.0]),
    ("dog", [0.6, 0.6, 0.0, 0.0]),
    ("car", [0.0, 0.0, 1.0, 0.1]),
    ("truck", [0.0, 0.1, 0.9, 0.3]),
    ("the", [0.05, 0.05, 0.05, 0.05]),
    ("##s", [0.0, 0.0, 0.0, 0.5]),
];

pub fn row(token: &str) -> [f32; 4] {
    ROWS.iter().find(|(t, _)| *t == token).map(|(_, r)| *r).expect("token in tiny vocabulary")
}

/// The tokenizer.json of the tiny model: lowercasing BERT normalizer, BERT pre-tokenizer,
/// WordPiece with `[UNK]`.
pub fn tokenizer_json() -> String {
    let vocab: serde_json::Map<String, serde_json::Value> =
        ROWS.iter().enumerate().map(|(id, (token, _))| ((*token).to_owned(), json!(id))).collect();
    let added: Vec<_> = ROWS
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| t.starts_with('['))
        .map(|(id, (t, _))| {
            json!({"id": id, "content": t, "single_word": false, "lstrip": false, "rstrip": false,
                   "normalized": false, "special": true})
        })
        .collect();
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                       "strip_accents": null, "lowercase": true},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": null,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab}
    })
    .to_string()
}

/// Writes the tiny model into `dir`.
pub fn write(dir: &Path) {
    let table: Vec<f32> = ROWS.iter().flat_map(|(_, r)| r.iter().copied()).collect();
    memory_embed::model2vec::write_model(
        dir,
        &tokenizer_json(),
        &table,
        ROWS.len(),
        4,
        memory_embed::model2vec::Storage::F32,
        json!({"note": "test"}),
    )
    .expect("write tiny model");
}
