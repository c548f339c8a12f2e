//! The static embedder: a Model2Vec-format model (one vector per vocabulary token, weights
//! already folded in) loaded from a local folder through `model2vec-rs`. A text's vector is the
//! mean of its tokens' rows, L2-normalized: about a microsecond per sentence and no neural
//! network at query time.
//!
//! One such model ships inside the binary ([`StaticEmbedder::shipped`]): MiniLM distilled,
//! reduced and quantized to fit in 8 MB (`memory-embed/model/`, whose README says how it was
//! made), so `auto` has a semantic embedder on a fresh install, with no setup and no network.

use std::path::Path;

use memory_core::{Error, Result};
use model2vec_rs::model::StaticModel;

use crate::{Embedder, folder_name, require_files};

/// Tokens per text that count; the rest of a longer text is ignored (Model2Vec's default).
const MAX_TOKENS: usize = 512;
/// Texts handed to model2vec-rs at once; it parallelizes within a batch.
const BATCH: usize = 1024;

/// A Model2Vec-format static model; see the module docs.
#[derive(Clone)]
pub struct StaticEmbedder {
    model: StaticModel,
    model_id: String,
    dimension: usize,
}

impl std::fmt::Debug for StaticEmbedder {
    // The derived Debug of the model would print the whole embedding table.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticEmbedder").field("model_id", &self.model_id).field("dimension", &self.dimension).finish()
    }
}

/// The shipped model's files (see `memory-embed/model/README.md`): tokenizer, table, config.
#[cfg(feature = "shipped")]
const SHIPPED: Option<(&[u8], &[u8], &[u8])> = Some((
    include_bytes!("../model/tokenizer.json"),
    include_bytes!("../model/model.safetensors"),
    include_bytes!("../model/config.json"),
));
/// Builds without the `shipped` feature (such as the one that distills it) carry no model.
#[cfg(not(feature = "shipped"))]
const SHIPPED: Option<(&[u8], &[u8], &[u8])> = None;

impl StaticEmbedder {
    /// Whether this build can load static models (the `static` feature).
    pub const COMPILED: bool = true;

    /// The model id of the shipped model; a new model gets a new name, since the index refuses
    /// vectors of another model id.
    pub const SHIPPED_MODEL_ID: &'static str = "static:shipped-minilm-v1";

    /// Whether this build carries the shipped model (the `shipped` feature).
    pub const SHIPPED: bool = SHIPPED.is_some();

    /// The static model compiled into this binary.
    pub fn shipped() -> Result<Self> {
        let Some((tokenizer, table, config)) = SHIPPED else {
            return Err(Error::invalid_input(
                "this build has no shipped model: memory-embed's `shipped` feature is off",
            ));
        };
        let model = StaticModel::from_bytes(tokenizer, table, config, Some(true))
            .map_err(|e| Error::internal(format!("cannot load the shipped static model: {e:#}")))?;
        let dimension = model.dim();
        Ok(StaticEmbedder { model, model_id: Self::SHIPPED_MODEL_ID.to_owned(), dimension })
    }

    /// Loads `dir/config.json`, `dir/tokenizer.json` and `dir/model.safetensors` (an
    /// `embeddings` tensor of shape [vocabulary, dimension]). Only local files are read.
    pub fn load(dir: &Path) -> Result<Self> {
        require_files(dir, &["config.json", "tokenizer.json", "model.safetensors"])?;
        // Output is always normalized, whatever config.json says, as the Embedder contract asks.
        let model = StaticModel::from_pretrained(dir, None, Some(true), None)
            .map_err(|e| Error::invalid_input(format!("cannot load static model from {}: {e:#}", dir.display())))?;
        let dimension = model.dim();
        if dimension == 0 {
            return Err(Error::invalid_input(format!("static model at {} has dimension 0", dir.display())));
        }
        Ok(StaticEmbedder { model, model_id: format!("static:{}", folder_name(dir)), dimension })
    }
}

impl Embedder for StaticEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let owned: Vec<String> = texts.iter().map(|t| (*t).to_owned()).collect();
        // Blank texts tokenize to nothing and come back as zero vectors, as the contract says.
        Ok(self.model.encode_with_args(&owned, Some(MAX_TOKENS), BATCH))
    }
}
