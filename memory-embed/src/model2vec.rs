//! Writing models in Model2Vec's folder format, which the `static` embedder (and Model2Vec's
//! own Python and Rust libraries) load: `tokenizer.json` (a Hugging Face tokenizer),
//! `model.safetensors` with one F32 tensor `embeddings` of shape [vocabulary, dimension] whose
//! rows already include the token weights, and `config.json`.
//!
//! safetensors is written by hand (an 8-byte little-endian header length, a JSON header padded
//! to 8 bytes, then the raw little-endian data): a dozen lines instead of a dependency.

use std::path::Path;

use memory_core::{Error, Result};
use serde_json::{Value, json};

/// The tensor name Model2Vec loaders look for.
pub const EMBEDDINGS_TENSOR: &str = "embeddings";

/// A safetensors file holding one F32 tensor `name` of shape [rows, cols].
pub fn safetensors_bytes(name: &str, data: &[f32], rows: usize, cols: usize) -> Result<Vec<u8>> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(Error::invalid_input(format!(
            "tensor `{name}` of shape [{rows}, {cols}] needs {} floats, got {}",
            rows.saturating_mul(cols),
            data.len()
        )));
    }
    let byte_len = data.len() * 4;
    let mut header = json!({
        name: { "dtype": "F32", "shape": [rows, cols], "data_offsets": [0, byte_len] },
        "__metadata__": { "format": "pt" },
    })
    .to_string();
    // The data must start 8-byte aligned; the format allows trailing spaces in the header.
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + byte_len);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&x.to_le_bytes());
    }
    Ok(out)
}

/// The `config.json` of a static model; `extra` entries (how it was made) are merged in.
pub fn config_json(dimension: usize, extra: Value) -> Value {
    let mut config = json!({
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "hidden_dim": dimension,
        "normalize": true,
        "seq_length": 1_000_000,
    });
    if let (Some(config), Value::Object(extra)) = (config.as_object_mut(), extra) {
        config.extend(extra);
    }
    config
}

/// Writes a complete Model2Vec folder at `dir` (created if missing; existing files replaced).
/// `embeddings` is row-major [rows, cols]; `tokenizer_json` must have `rows` token ids.
pub fn write_model(
    dir: &Path,
    tokenizer_json: &str,
    embeddings: &[f32],
    rows: usize,
    cols: usize,
    extra_config: Value,
) -> Result<()> {
    let tensors = safetensors_bytes(EMBEDDINGS_TENSOR, embeddings, rows, cols)?;
    let config = serde_json::to_string_pretty(&config_json(cols, extra_config))
        .map_err(|e| Error::internal(format!("cannot serialize config.json: {e}")))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::unavailable(format!("cannot create model folder {}: {e}", dir.display())))?;
    for (name, bytes) in [
        ("tokenizer.json", tokenizer_json.as_bytes()),
        ("model.safetensors", &tensors),
        ("config.json", config.as_bytes()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, bytes)
            .map_err(|e| Error::unavailable(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_layout_is_aligned_and_complete() {
        let bytes = safetensors_bytes("embeddings", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(header_len % 8, 0);
        let header: Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
        assert_eq!(header["embeddings"]["shape"], json!([3, 2]));
        assert_eq!(header["embeddings"]["data_offsets"], json!([0, 24]));
        let data = &bytes[8 + header_len..];
        assert_eq!(data.len(), 24);
        assert_eq!(f32::from_le_bytes(data[20..24].try_into().unwrap()), 6.0);
    }

    #[test]
    fn wrong_shape_is_a_clear_error() {
        let err = safetensors_bytes("embeddings", &[1.0; 5], 3, 2).unwrap_err();
        assert_eq!(err.to_string(), "tensor `embeddings` of shape [3, 2] needs 6 floats, got 5");
    }

    #[test]
    fn config_merges_extras() {
        let c = config_json(256, json!({ "apply_pca": 256 }));
        assert_eq!(c["hidden_dim"], 256);
        assert_eq!(c["apply_pca"], 256);
        assert_eq!(c["normalize"], true);
    }
}
