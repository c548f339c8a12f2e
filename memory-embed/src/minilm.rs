//! The MiniLM embedder: sentence-transformers/all-MiniLM-L6-v2 (a 6-layer BERT, 384 dimensions)
//! run on the CPU with candle, from a local folder holding config.json, tokenizer.json and
//! model.safetensors. Output matches sentence-transformers: mean of the last hidden states over
//! real (unpadded) tokens, then L2 norm.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use memory_core::{Error, Result};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use crate::{Embedder, folder_name, l2_normalize, require_files};

/// Texts per forward pass; 32 is where candle's CPU throughput levels off (DEPENDENCIES.md).
const BATCH: usize = 32;
/// Longer inputs are cut here: the model was trained on at most 256 word pieces.
const MAX_TOKENS: usize = 256;

/// all-MiniLM-L6-v2 on candle; see the module docs.
pub struct MiniLmEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    pad_id: u32,
    model_id: String,
    dimension: usize,
}

impl std::fmt::Debug for MiniLmEmbedder {
    // BertModel has no Debug, and the weights would be noise anyway.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLmEmbedder").field("model_id", &self.model_id).field("dimension", &self.dimension).finish()
    }
}

impl MiniLmEmbedder {
    /// Whether this build can run MiniLM (the `minilm` feature).
    pub const COMPILED: bool = true;

    /// Loads the model from `dir`. Only local files are read.
    pub fn load(dir: &Path) -> Result<Self> {
        require_files(dir, &["config.json", "tokenizer.json", "model.safetensors"])?;
        let bad = |file: &str, e: &dyn std::fmt::Display| {
            Error::invalid_input(format!("cannot load MiniLM file {}: {e}", dir.join(file).display()))
        };
        let config_text = std::fs::read_to_string(dir.join("config.json")).map_err(|e| bad("config.json", &e))?;
        let config: Config = serde_json::from_str(&config_text).map_err(|e| bad("config.json", &e))?;

        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).map_err(|e| bad("tokenizer.json", &e))?;
        // The shipped tokenizer pads every input to 128 tokens; padding to the longest text of
        // the batch gives the same vectors (padding is masked out) for much less work.
        let mut padding = tokenizer.get_padding().cloned().unwrap_or_default();
        padding.strategy = PaddingStrategy::BatchLongest;
        let pad_id = padding.pad_id;
        tokenizer.with_padding(Some(PaddingParams { ..padding }));
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|e| bad("tokenizer.json", &e))?;

        let device = Device::Cpu;
        // Read into memory rather than mmap: mmap needs `unsafe`, which the workspace forbids.
        let weights = std::fs::read(dir.join("model.safetensors")).map_err(|e| bad("model.safetensors", &e))?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| bad("model.safetensors", &e))?;
        let model = BertModel::load(vb, &config).map_err(|e| bad("model.safetensors", &e))?;
        Ok(MiniLmEmbedder {
            model,
            tokenizer,
            device,
            pad_id,
            model_id: format!("minilm:{}", folder_name(dir)),
            dimension: config.hidden_size,
        })
    }

    /// The tokenizer, as configured for inference (batch-longest padding, 256-token truncation).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Mean-pooled, *unnormalized* last hidden states for sequences of token ids (special tokens
    /// included by the caller); shorter sequences are padded and masked. The distiller uses this
    /// to embed each vocabulary token on its own.
    pub fn embed_token_ids(&self, sequences: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let longest = sequences.iter().map(Vec::len).max().unwrap_or(0);
        if longest == 0 {
            return Ok(vec![vec![0.0; self.dimension]; sequences.len()]);
        }
        let mut ids = Vec::with_capacity(sequences.len() * longest);
        let mut mask = Vec::with_capacity(sequences.len() * longest);
        for seq in sequences {
            ids.extend_from_slice(seq);
            ids.extend(std::iter::repeat_n(self.pad_id, longest - seq.len()));
            mask.extend(std::iter::repeat_n(1_u32, seq.len()));
            mask.extend(std::iter::repeat_n(0_u32, longest - seq.len()));
        }
        self.mean_pooled(ids, mask, sequences.len(), longest)
            .map_err(|e| Error::internal(format!("MiniLM inference failed: {e}")))
    }

    fn mean_pooled(
        &self,
        ids: Vec<u32>,
        mask: Vec<u32>,
        rows: usize,
        len: usize,
    ) -> candle_core::Result<Vec<Vec<f32>>> {
        let input_ids = Tensor::from_vec(ids, (rows, len), &self.device)?;
        let attention_mask = Tensor::from_vec(mask, (rows, len), &self.device)?;
        let token_type_ids = input_ids.zeros_like()?;
        let hidden = self.model.forward(&input_ids, &token_type_ids, Some(&attention_mask))?;
        let mask = attention_mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f32::MAX)?;
        summed.broadcast_div(&counts)?.to_vec2::<f32>()
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| Error::internal(format!("MiniLM tokenization failed: {e}")))?;
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let mut ids = Vec::with_capacity(texts.len() * len);
        let mut mask = Vec::with_capacity(texts.len() * len);
        for encoding in &encodings {
            ids.extend_from_slice(encoding.get_ids());
            mask.extend_from_slice(encoding.get_attention_mask());
        }
        let mut vectors = self
            .mean_pooled(ids, mask, texts.len(), len)
            .map_err(|e| Error::internal(format!("MiniLM inference failed: {e}")))?;
        vectors.iter_mut().for_each(|v| l2_normalize(v));
        Ok(vectors)
    }
}

impl Embedder for MiniLmEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        crate::embed_non_blank(texts, self.dimension, BATCH, true, |batch| self.embed_batch(batch))
    }
}
