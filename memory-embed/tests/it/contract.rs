//! Checks every embedder must pass (the `Embedder` contract), run against each implementation.

use memory_embed::Embedder;

/// Sentences with varied length, case, script and punctuation.
pub const SAMPLES: &[&str] = &[
    "The deployment failed because the database ran out of disk space.",
    "cat",
    "Straße, naïve café — 日本語のテキスト!",
    "A much longer text that goes on for a while, so that batching and padding of texts with very \
     different lengths get exercised by the contract checks as well.",
];

/// One vector per text in order, each of `dimension()` floats with norm 1, blank texts zero,
/// and the same text twice gives the same vector (also across separate calls and batch mates).
pub fn check_contract(embedder: &dyn Embedder) {
    let dim = embedder.dimension();
    assert!(dim > 0, "{embedder:?}: dimension 0");
    assert!(!embedder.model_id().is_empty(), "{embedder:?}: empty model id");

    let mut texts: Vec<&str> = SAMPLES.to_vec();
    texts.extend(["", "   \n", SAMPLES[0]]);
    let vectors = embedder.embed(&texts).expect("embed");
    assert_eq!(vectors.len(), texts.len(), "{embedder:?}: one vector per text");
    for (text, vector) in texts.iter().zip(&vectors) {
        assert_eq!(vector.len(), dim, "{embedder:?}: length for {text:?}");
        let norm: f32 = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if text.trim().is_empty() {
            assert_eq!(norm, 0.0, "{embedder:?}: blank text gives the zero vector");
        } else {
            assert!((norm - 1.0).abs() < 1e-4, "{embedder:?}: norm {norm} for {text:?}");
        }
    }
    assert_vectors_close(&vectors[0], &vectors[texts.len() - 1], "same text in one call");

    // Alone versus in a batch: batch mates (and their padding) must not change a vector.
    for (i, text) in SAMPLES.iter().enumerate() {
        let alone = embedder.embed(&[text]).expect("embed one");
        assert_vectors_close(&alone[0], &vectors[i], text);
    }
    assert!(embedder.embed(&[]).expect("embed nothing").is_empty());
}

pub fn assert_vectors_close(a: &[f32], b: &[f32], what: &str) {
    let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0_f32, f32::max);
    assert!(worst < 1e-4, "{what}: vectors differ by up to {worst}");
}
