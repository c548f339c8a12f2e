//! Choosing an embedder: names parsed into an [`EmbedderSpec`], and [`build`] turning a spec into
//! an embedder plus a sentence saying which one was chosen and why.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use memory_core::{Error, Result};

use crate::{Embedder, HashEmbedder, MiniLmEmbedder, OpenAiConfig, OpenAiEmbedder, StaticEmbedder};

/// The folder under a models folder that holds all-MiniLM-L6-v2 (made by `cargo xtask models`).
pub const MINILM_DIR_NAME: &str = "all-MiniLM-L6-v2";
/// The folder under a models folder that holds the distilled static model.
pub const STATIC_DIR_NAME: &str = "static-minilm";

/// Which embedder to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbedderSpec {
    /// The best model at hand: a prepared static model under `models_dir`, else prepared MiniLM
    /// (when compiled in), else the static model shipped in the binary (when compiled in), else
    /// the hash embedder.
    Auto { models_dir: PathBuf },
    /// The static model compiled into the binary.
    Shipped,
    /// The built-in hash embedder with this many dimensions.
    Hash { dimension: usize },
    /// all-MiniLM-L6-v2 from a folder with config.json, tokenizer.json and model.safetensors.
    MiniLm { dir: PathBuf },
    /// A Model2Vec-format static model from a folder.
    Static { dir: PathBuf },
    /// An OpenAI-compatible endpoint.
    OpenAi(OpenAiConfig),
}

impl EmbedderSpec {
    /// The names [`EmbedderSpec::parse`] accepts.
    pub const NAMES: &'static [&'static str] = &["auto", "hash", "shipped", "minilm", "static", "openai"];

    /// Parses an embedder name; model folders are the standard ones under `models_dir`.
    ///
    /// `openai` reads `MEMORY_OPENAI_BASE_URL` (default `https://api.openai.com`) and
    /// `MEMORY_OPENAI_MODEL` (default `text-embedding-3-small`); the key is read from
    /// `MEMORY_OPENAI_API_KEY` when the embedder is built.
    pub fn parse(name: &str, models_dir: &Path) -> Result<Self> {
        Self::parse_with_env(name, models_dir, |var| std::env::var(var).ok())
    }

    /// As [`EmbedderSpec::parse`], reading environment variables through `lookup`.
    pub fn parse_with_env(name: &str, models_dir: &Path, lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(EmbedderSpec::Auto { models_dir: models_dir.to_path_buf() }),
            "hash" => Ok(EmbedderSpec::Hash { dimension: crate::DEFAULT_HASH_DIMENSION }),
            "shipped" => Ok(EmbedderSpec::Shipped),
            "minilm" => Ok(EmbedderSpec::MiniLm { dir: models_dir.join(MINILM_DIR_NAME) }),
            "static" => Ok(EmbedderSpec::Static { dir: models_dir.join(STATIC_DIR_NAME) }),
            "openai" => Ok(EmbedderSpec::OpenAi(OpenAiConfig::from_lookup(lookup))),
            other => Err(Error::invalid_input(format!(
                "unknown embedder `{other}`; expected one of: {}",
                Self::NAMES.join(", ")
            ))),
        }
    }
}

/// Builds the embedder; the String says which one was chosen and why (for `auto`).
pub fn build(spec: &EmbedderSpec) -> Result<(Arc<dyn Embedder>, String)> {
    match spec {
        EmbedderSpec::Auto { models_dir } => build_auto(models_dir),
        EmbedderSpec::Hash { dimension } => {
            let embedder = HashEmbedder::new(*dimension)?;
            Ok((Arc::new(embedder), format!("built-in hash embedder ({dimension} dimensions), as configured")))
        }
        EmbedderSpec::Shipped => {
            let embedder = StaticEmbedder::shipped()?;
            Ok((
                Arc::new(embedder),
                format!("the shipped static model {}, as configured", StaticEmbedder::SHIPPED_MODEL_ID),
            ))
        }
        EmbedderSpec::MiniLm { dir } => {
            let embedder = MiniLmEmbedder::load(dir)?;
            Ok((Arc::new(embedder), format!("MiniLM model at {}, as configured", dir.display())))
        }
        EmbedderSpec::Static { dir } => {
            let embedder = StaticEmbedder::load(dir)?;
            Ok((Arc::new(embedder), format!("static model at {}, as configured", dir.display())))
        }
        EmbedderSpec::OpenAi(config) => {
            let embedder = OpenAiEmbedder::new(config.clone())?;
            Ok((Arc::new(embedder), format!("OpenAI-compatible endpoint {}, as configured", config.endpoint())))
        }
    }
}

/// The best prepared model. A prepared model that fails to load is an error, not a silent
/// fallback: falling back would change the model id and so invalidate the index.
fn build_auto(models_dir: &Path) -> Result<(Arc<dyn Embedder>, String)> {
    let static_dir = models_dir.join(STATIC_DIR_NAME);
    let minilm_dir = models_dir.join(MINILM_DIR_NAME);
    // Prepared models that this build cannot use; mentioned so the fallback is not a mystery.
    let mut unusable = Vec::new();
    if is_prepared(&static_dir) {
        if StaticEmbedder::COMPILED {
            let embedder = StaticEmbedder::load(&static_dir)?;
            return Ok((Arc::new(embedder), format!("static model found at {}", static_dir.display())));
        }
        unusable.push(format!("{} needs the `static` feature", static_dir.display()));
    }
    if is_prepared(&minilm_dir) {
        if MiniLmEmbedder::COMPILED {
            let embedder = MiniLmEmbedder::load(&minilm_dir)?;
            return Ok((
                Arc::new(embedder),
                format!("no static model; MiniLM model found at {}", minilm_dir.display()),
            ));
        }
        unusable.push(format!("{} needs the `minilm` feature", minilm_dir.display()));
    }
    let found = if unusable.is_empty() {
        format!("no prepared model under {}", models_dir.display())
    } else {
        format!("no usable prepared model under {} ({})", models_dir.display(), unusable.join("; "))
    };
    if StaticEmbedder::SHIPPED {
        let embedder = StaticEmbedder::shipped()?;
        let why = format!(
            "{found}; using the shipped static model {} (`cargo xtask models` prepares larger ones)",
            StaticEmbedder::SHIPPED_MODEL_ID
        );
        return Ok((Arc::new(embedder), why));
    }
    let embedder = HashEmbedder::new(crate::DEFAULT_HASH_DIMENSION)?;
    let why = format!("{found}; using the built-in hash embedder (this build has no `shipped` feature)");
    Ok((Arc::new(embedder), why))
}

/// A folder holding the three files both local model kinds need.
fn is_prepared(dir: &Path) -> bool {
    crate::require_files(dir, &["config.json", "tokenizer.json", "model.safetensors"]).is_ok()
}
