//! MiniLM (only with the `minilm` feature): the published check values, the contract, and that
//! paraphrases beat unrelated text. Skipped, with a message, when `models/all-MiniLM-L6-v2` has
//! not been prepared (`cargo xtask models`).

use std::path::PathBuf;

use memory_embed::{Embedder, MiniLmEmbedder, cosine};

use crate::contract::check_contract;

fn model() -> Option<MiniLmEmbedder> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models").join(memory_embed::MINILM_DIR_NAME);
    if !dir.join("model.safetensors").is_file() {
        eprintln!("skipped: no MiniLM model at {} (run `cargo xtask models`)", dir.display());
        return None;
    }
    Some(MiniLmEmbedder::load(&dir).expect("load MiniLM"))
}

#[test]
fn matches_the_reference_values() {
    let Some(e) = model() else { return };
    assert_eq!((e.model_id(), e.dimension()), ("minilm:all-MiniLM-L6-v2", 384));
    let v = e.embed(&["This is an example sentence"]).unwrap();
    let expected = [0.0677, 0.0635, 0.0487, 0.0793, 0.0374];
    for (got, want) in v[0].iter().zip(expected) {
        assert!((got - want).abs() < 5e-4, "{:?} vs {expected:?}", &v[0][..5]);
    }
}

#[test]
fn keeps_the_contract_and_separates_paraphrases() {
    let Some(e) = model() else { return };
    check_contract(&e);
    let v = e
        .embed(&["How do I reset my password?", "I forgot my login credentials.", "The cat sleeps on the sofa."])
        .unwrap();
    let (paraphrase, unrelated) = (cosine(&v[0], &v[1]), cosine(&v[0], &v[2]));
    assert!(paraphrase > unrelated + 0.2, "{paraphrase} vs {unrelated}");
}
