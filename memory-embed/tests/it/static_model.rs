//! The static embedder on the tiny generated model: loading, pooling, the contract, errors, and
//! `auto` preferring it.

use memory_core::ErrorKind;
use memory_embed::{Embedder, EmbedderSpec, StaticEmbedder, build, cosine};

use crate::contract::{assert_vectors_close, check_contract};
use crate::tiny_model::{self, row};

fn normalized(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= norm);
    v
}

fn tiny() -> (tempfile::TempDir, StaticEmbedder) {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("tiny-static");
    tiny_model::write(&model_dir);
    let embedder = StaticEmbedder::load(&model_dir).unwrap();
    (dir, embedder)
}

#[test]
fn loads_a_model2vec_folder() {
    let (_dir, e) = tiny();
    assert_eq!(e.model_id(), "static:tiny-static");
    assert_eq!(e.dimension(), 4);
    assert!(!format!("{e:?}").contains("9.0"), "Debug must not dump the table: {e:?}");
}

#[test]
fn a_text_is_the_normalized_mean_of_its_known_tokens() {
    let (_dir, e) = tiny();
    let v = e.embed(&["Cat", "the cats", "cat zebra"]).unwrap();
    assert_vectors_close(&v[0], &normalized(row("cat").to_vec()), "one token");
    let mean: Vec<f32> = (0..4).map(|i| (row("the")[i] + row("cat")[i] + row("##s")[i]) / 3.0).collect();
    assert_vectors_close(&v[1], &normalized(mean), "word pieces");
    // "zebra" is unknown: [UNK] is skipped rather than averaged in.
    assert_vectors_close(&v[2], &v[0], "unknown tokens are skipped");
    assert_eq!(e.embed(&["zebra"]).unwrap()[0], vec![0.0; 4], "only unknown tokens: zero vector");
}

#[test]
fn similar_rows_make_similar_texts() {
    let (_dir, e) = tiny();
    let v = e.embed(&["the cat", "a kitten", "the truck"]).unwrap();
    assert!(cosine(&v[0], &v[1]) > 0.9);
    assert!(cosine(&v[0], &v[2]) < 0.3);
}

#[test]
fn keeps_the_contract() {
    let (_dir, e) = tiny();
    // The tiny vocabulary knows little of the shared samples, so use texts it knows.
    let texts = ["the cat", "dogs", "", " ", "car truck cat"];
    let v = e.embed(&texts).unwrap();
    for (t, v) in texts.iter().zip(&v) {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(if t.trim().is_empty() { norm == 0.0 } else { (norm - 1.0).abs() < 1e-5 }, "{t:?}: {norm}");
    }
    check_contract_on_known_words(&e);
}

fn check_contract_on_known_words(e: &StaticEmbedder) {
    #[derive(Debug)]
    struct OnlyKnownWords<'a>(&'a StaticEmbedder);
    impl Embedder for OnlyKnownWords<'_> {
        fn model_id(&self) -> &str {
            self.0.model_id()
        }
        fn dimension(&self) -> usize {
            self.0.dimension()
        }
        fn embed(&self, texts: &[&str]) -> memory_core::Result<Vec<Vec<f32>>> {
            // Map the shared samples onto known words, keeping blanks blank.
            let mapped: Vec<String> = texts
                .iter()
                .map(|t| if t.trim().is_empty() { (*t).to_owned() } else { format!("cat {} dog", t.len() % 7) })
                .collect();
            let refs: Vec<&str> = mapped.iter().map(String::as_str).collect();
            self.0.embed(&refs)
        }
    }
    check_contract(&OnlyKnownWords(e));
}

#[test]
fn missing_and_broken_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model::write(dir.path());
    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    let err = StaticEmbedder::load(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.to_string(), format!("missing model file {}", dir.path().join("tokenizer.json").display()));

    tiny_model::write(dir.path());
    let wrong_name = memory_embed::model2vec::safetensors_bytes("weights_of_something", &[0.0; 4], 1, 4).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), wrong_name).unwrap();
    let err = StaticEmbedder::load(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().starts_with(&format!("cannot load static model from {}", dir.path().display())), "{err}");
    assert!(err.to_string().contains("embeddings tensor not found"), "{err}");
}

#[test]
fn auto_prefers_a_prepared_static_model() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model::write(&dir.path().join("static-minilm"));
    let (embedder, why) = build(&EmbedderSpec::Auto { models_dir: dir.path().into() }).unwrap();
    assert_eq!(embedder.model_id(), "static:static-minilm");
    assert_eq!(why, format!("static model found at {}", dir.path().join("static-minilm").display()));
}

/// The distilled model from `cargo xtask models`, when prepared: it must tell paraphrases that
/// share no words from unrelated text, which the hash embedder cannot.
#[test]
fn the_prepared_static_model_separates_paraphrases() {
    let dir =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models").join(memory_embed::STATIC_DIR_NAME);
    if !dir.join("model.safetensors").is_file() {
        eprintln!("skipped: no static model at {} (run `cargo xtask models`)", dir.display());
        return;
    }
    let e = StaticEmbedder::load(&dir).unwrap();
    assert_eq!(e.model_id(), "static:static-minilm");
    check_contract(&e);
    let v = e
        .embed(&["How do I reset my password?", "I forgot my login credentials.", "The cat sleeps on the sofa."])
        .unwrap();
    let (paraphrase, unrelated) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
    assert!(paraphrase > unrelated + 0.2, "{paraphrase} vs {unrelated}");
}
