//! Naming embedders and building them: parsing, errors, and what `auto` picks and says.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use memory_core::ErrorKind;
use memory_embed::{EmbedderSpec, OpenAiConfig, build};

#[test]
fn parses_every_name() {
    let models = Path::new("/m");
    assert_eq!(EmbedderSpec::parse("auto", models).unwrap(), EmbedderSpec::Auto { models_dir: models.into() });
    assert_eq!(EmbedderSpec::parse("hash", models).unwrap(), EmbedderSpec::Hash { dimension: 384 });
    assert_eq!(
        EmbedderSpec::parse(" MiniLM ", models).unwrap(),
        EmbedderSpec::MiniLm { dir: "/m/all-MiniLM-L6-v2".into() }
    );
    assert_eq!(EmbedderSpec::parse("static", models).unwrap(), EmbedderSpec::Static { dir: "/m/static-minilm".into() });
    assert!(matches!(EmbedderSpec::parse("openai", models).unwrap(), EmbedderSpec::OpenAi(_)));
    assert_eq!(EmbedderSpec::parse("Shipped", models).unwrap(), EmbedderSpec::Shipped);
}

#[test]
fn unknown_name_lists_the_choices() {
    let err = EmbedderSpec::parse("bert", Path::new("/m")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.to_string(),
        "unknown embedder `bert`; expected one of: auto, hash, shipped, minilm, static, openai"
    );
}

#[test]
fn openai_reads_its_environment_with_defaults() {
    let env: HashMap<&str, &str> =
        HashMap::from([("MEMORY_OPENAI_BASE_URL", "http://127.0.0.1:8080/"), ("MEMORY_OPENAI_MODEL", "nomic")]);
    let spec = EmbedderSpec::parse_with_env("openai", Path::new("/m"), |k| env.get(k).map(|v| v.to_string())).unwrap();
    let EmbedderSpec::OpenAi(config) = spec else { panic!("not openai: {spec:?}") };
    assert_eq!(config.base_url, "http://127.0.0.1:8080/");
    assert_eq!(config.model, "nomic");
    assert_eq!(config.api_key_env.as_deref(), Some("MEMORY_OPENAI_API_KEY"));
    assert_eq!(config.endpoint(), "http://127.0.0.1:8080/v1/embeddings");
    assert_eq!(config.timeout, Duration::from_secs(30));

    let defaults = OpenAiConfig::from_lookup(|_| None);
    assert_eq!(
        (defaults.base_url.as_str(), defaults.model.as_str()),
        ("https://api.openai.com", "text-embedding-3-small")
    );
}

#[test]
fn build_hash() {
    let (embedder, why) = build(&EmbedderSpec::Hash { dimension: 128 }).unwrap();
    assert_eq!((embedder.model_id(), embedder.dimension()), ("hash-v1-d128", 128));
    assert_eq!(why, "built-in hash embedder (128 dimensions), as configured");
}

#[test]
fn auto_without_models_uses_the_shipped_model_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let (embedder, why) = build(&EmbedderSpec::Auto { models_dir: dir.path().into() }).unwrap();
    let prefix = format!("no prepared model under {}; using ", dir.path().display());
    assert!(why.starts_with(&prefix), "{why}");
    if cfg!(feature = "shipped") {
        assert_eq!(embedder.model_id(), "static:shipped-minilm-v1");
        assert!(why.contains("the shipped static model static:shipped-minilm-v1"), "{why}");
    } else {
        assert_eq!(embedder.model_id(), "hash-v1-d384");
        assert!(why.contains("the built-in hash embedder"), "{why}");
    }
}

#[cfg(feature = "shipped")]
#[test]
fn the_shipped_model_is_semantic() {
    let (embedder, why) =
        build(&EmbedderSpec::parse("shipped", std::path::Path::new("/nonexistent")).unwrap()).unwrap();
    assert!(why.contains("as configured"), "{why}");
    let v = embedder
        .embed(&["The cat is sleeping on the sofa.", "A kitten naps on the couch.", "Quarterly tax filing deadline."])
        .unwrap();
    let near = memory_embed::cosine(&v[0], &v[1]);
    let far = memory_embed::cosine(&v[0], &v[2]);
    assert!(near > far + 0.2, "paraphrase {near} vs unrelated {far}");
}

#[test]
fn missing_model_folders_are_named() {
    let err = build(&EmbedderSpec::Static { dir: "/nonexistent/static-minilm".into() }).unwrap_err();
    if cfg!(feature = "static") {
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(err.to_string(), "model folder /nonexistent/static-minilm does not exist");
    } else {
        assert!(err.to_string().contains("without its `static` feature"), "{err}");
    }
    let err = build(&EmbedderSpec::MiniLm { dir: "/nonexistent/all-MiniLM-L6-v2".into() }).unwrap_err();
    if cfg!(feature = "minilm") {
        assert_eq!(err.to_string(), "model folder /nonexistent/all-MiniLM-L6-v2 does not exist");
    } else {
        assert!(err.to_string().contains("built without its `minilm` feature"), "{err}");
    }
}

/// A MiniLM folder without the `minilm` feature is mentioned, not silently ignored.
#[cfg(not(feature = "minilm"))]
#[test]
fn auto_mentions_a_minilm_model_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let minilm = dir.path().join("all-MiniLM-L6-v2");
    std::fs::create_dir(&minilm).unwrap();
    for file in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::write(minilm.join(file), "{}").unwrap();
    }
    let (_, why) = build(&EmbedderSpec::Auto { models_dir: dir.path().into() }).unwrap();
    assert!(why.contains("needs the `minilm` feature"), "{why}");
}
