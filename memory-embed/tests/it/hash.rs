//! The built-in hash embedder: contract, pinned output, and that it ranks paraphrases sharing
//! words or stems clearly above unrelated text.

use memory_embed::{DEFAULT_HASH_DIMENSION, Embedder, HashEmbedder, cosine};

use crate::contract::check_contract;

fn embedder() -> HashEmbedder {
    HashEmbedder::new(DEFAULT_HASH_DIMENSION).unwrap()
}

fn cos(e: &HashEmbedder, a: &str, b: &str) -> f32 {
    cosine(&e.embed_one(a), &e.embed_one(b))
}

#[test]
fn keeps_the_contract() {
    check_contract(&embedder());
    check_contract(&HashEmbedder::new(64).unwrap());
}

#[test]
fn model_id_names_version_and_dimension() {
    assert_eq!(embedder().model_id(), "hash-v1-d384");
    assert_eq!(HashEmbedder::new(1024).unwrap().model_id(), "hash-v1-d1024");
    let err = HashEmbedder::new(4).unwrap_err();
    assert_eq!(err.to_string(), "hash embedder dimension must be at least 8, got 4");
}

/// Stored indexes hold these vectors: any change to the recipe must bump "hash-v1".
#[test]
fn output_is_pinned() {
    let v = embedder().embed_one("Memory systems remember things");
    let nonzero: Vec<(usize, String)> =
        v.iter().enumerate().filter(|(_, x)| x.abs() > 0.1).map(|(i, x)| (i, format!("{x:.4}"))).take(6).collect();
    expect_test::expect![[
        r#"[(5, "-0.1617"), (28, "-0.1617"), (63, "-0.1501"), (68, "-0.1386"), (76, "0.1369"), (81, "-0.1617")]"#
    ]]
    .assert_eq(&format!("{nonzero:?}"));
}

/// Paraphrases that share words or stems, each with an unrelated sentence.
const PARAPHRASES: &[(&str, &str)] = &[
    (
        "The deployment failed because the database ran out of disk space.",
        "Deploying failed: the database disk ran out of free space.",
    ),
    ("How do I reset my password?", "Resetting a forgotten password"),
    ("Alice prefers dark mode in her editor.", "Alice's editor preference: dark mode"),
    ("The meeting was moved to Thursday afternoon.", "Meetings moved to Thursday"),
    ("Customers complain that the app starts slowly.", "customer complaints about slow app start"),
];

#[test]
fn paraphrases_score_clearly_above_unrelated_text() {
    let e = embedder();
    let mut worst_paraphrase = f32::MAX;
    let mut best_unrelated = f32::MIN;
    for (i, &(a, b)) in PARAPHRASES.iter().enumerate() {
        worst_paraphrase = worst_paraphrase.min(cos(&e, a, b));
        for (j, &(c, d)) in PARAPHRASES.iter().enumerate() {
            if i != j {
                best_unrelated = best_unrelated.max(cos(&e, a, c)).max(cos(&e, a, d));
            }
        }
    }
    // Measured: paraphrases 0.52..0.79, unrelated pairs at most 0.08.
    assert!(worst_paraphrase > 0.45, "weakest paraphrase only {worst_paraphrase}");
    assert!(best_unrelated < 0.15, "an unrelated pair reached {best_unrelated}");
    assert!(worst_paraphrase > best_unrelated + 0.3, "{worst_paraphrase} vs {best_unrelated}");
}

#[test]
fn shared_stems_count() {
    let e = embedder();
    let stem = cos(&e, "deployment", "deploying");
    let unrelated = cos(&e, "deployment", "banana");
    assert!(stem > 0.35 && unrelated < 0.1, "stem {stem}, unrelated {unrelated}");
    // Word order matters a little (bigrams), but far less than words.
    let reordered = cos(&e, "database disk full", "full disk database");
    assert!(reordered > 0.8 && reordered < 0.99, "{reordered}");
}

#[test]
fn function_words_alone_do_not_make_texts_similar() {
    let e = embedder();
    let c = cos(&e, "the report is on the table", "the dog is in the garden");
    assert!(c < 0.2, "{c}");
}
