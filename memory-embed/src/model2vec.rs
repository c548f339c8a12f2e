//! Writing models in Model2Vec's folder format, which the `static` embedder (and Model2Vec's
//! own Python and Rust libraries) load: `tokenizer.json` (a Hugging Face tokenizer),
//! `model.safetensors` with a tensor `embeddings` of shape [vocabulary, dimension] whose rows
//! already include the token weights, and `config.json`. The table is stored as F32, F16, or
//! I8 codes with one F32 scale per row in a `weights` tensor (which Model2Vec loaders multiply
//! each row by): a quarter of the F32 size.
//!
//! safetensors is written by hand (an 8-byte little-endian header length, a JSON header padded
//! to 8 bytes, then the raw little-endian data): a dozen lines instead of a dependency.

use std::path::Path;

use memory_core::{Error, Result};
use serde_json::{Value, json};

/// The tensor name Model2Vec loaders look for.
pub const EMBEDDINGS_TENSOR: &str = "embeddings";
/// The per-row scale tensor Model2Vec loaders multiply rows by.
pub const WEIGHTS_TENSOR: &str = "weights";

/// How the embedding table's numbers are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// 4 bytes per number, exact.
    F32,
    /// 2 bytes per number (IEEE half precision).
    F16,
    /// 1 byte per number: codes `round(x / scale)` with `scale = max |x| / 127` per row.
    Int8,
}

impl Storage {
    /// The names `--dtype` accepts.
    pub const NAMES: &'static [&'static str] = &["f32", "f16", "int8"];

    /// Parses `f32`, `f16` or `int8`.
    pub fn parse(name: &str) -> Result<Storage> {
        match name {
            "f32" => Ok(Storage::F32),
            "f16" => Ok(Storage::F16),
            "int8" => Ok(Storage::Int8),
            other => Err(Error::invalid_input(format!(
                "unknown storage `{other}`; expected one of: {}",
                Storage::NAMES.join(", ")
            ))),
        }
    }

    /// The name [`Storage::parse`] takes.
    pub fn name(self) -> &'static str {
        match self {
            Storage::F32 => "f32",
            Storage::F16 => "f16",
            Storage::Int8 => "int8",
        }
    }
}

/// One tensor to write: name, safetensors dtype, shape, little-endian bytes.
struct Tensor<'a> {
    name: &'a str,
    dtype: &'static str,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

/// A safetensors file of `tensors`, laid out in order.
fn tensors_bytes(tensors: &[Tensor<'_>]) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    let mut offset = 0;
    for t in tensors {
        header.insert(
            t.name.to_owned(),
            json!({ "dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.len()] }),
        );
        offset += t.bytes.len();
    }
    header.insert("__metadata__".into(), json!({ "format": "pt" }));
    let mut header = Value::Object(header).to_string();
    // The data must start 8-byte aligned; the format allows trailing spaces in the header.
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for t in tensors {
        out.extend_from_slice(&t.bytes);
    }
    out
}

/// The safetensors file of an embedding table of shape [rows, cols] stored as `storage`.
pub fn table_bytes(data: &[f32], rows: usize, cols: usize, storage: Storage) -> Result<Vec<u8>> {
    if rows.checked_mul(cols) != Some(data.len()) || cols == 0 {
        return Err(Error::invalid_input(format!(
            "a table of shape [{rows}, {cols}] needs {} numbers, got {}",
            rows.saturating_mul(cols),
            data.len()
        )));
    }
    let table = |dtype, bytes| Tensor { name: EMBEDDINGS_TENSOR, dtype, shape: vec![rows, cols], bytes };
    Ok(match storage {
        Storage::F32 => tensors_bytes(&[table("F32", data.iter().flat_map(|x| x.to_le_bytes()).collect())]),
        Storage::F16 => {
            tensors_bytes(&[table("F16", data.iter().flat_map(|&x| half::f16::from_f32(x).to_le_bytes()).collect())])
        }
        Storage::Int8 => {
            let mut codes = Vec::with_capacity(data.len());
            let mut scales = Vec::with_capacity(rows * 4);
            for row in data.chunks_exact(cols) {
                let max = row.iter().fold(0.0_f32, |m, x| m.max(x.abs()));
                let scale = if max > 0.0 && max.is_finite() { max / 127.0 } else { 0.0 };
                codes.extend(row.iter().map(|&x| {
                    let code = if scale > 0.0 { (x / scale).round().clamp(-127.0, 127.0) } else { 0.0 };
                    (code as i8).to_le_bytes()[0]
                }));
                scales.extend_from_slice(&scale.to_le_bytes());
            }
            tensors_bytes(&[
                table("I8", codes),
                Tensor { name: WEIGHTS_TENSOR, dtype: "F32", shape: vec![rows], bytes: scales },
            ])
        }
    })
}

/// A safetensors file holding one F32 tensor `name` of shape [rows, cols].
pub fn safetensors_bytes(name: &str, data: &[f32], rows: usize, cols: usize) -> Result<Vec<u8>> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(Error::invalid_input(format!(
            "tensor `{name}` of shape [{rows}, {cols}] needs {} floats, got {}",
            rows.saturating_mul(cols),
            data.len()
        )));
    }
    let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    Ok(tensors_bytes(&[Tensor { name, dtype: "F32", shape: vec![rows, cols], bytes }]))
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
    storage: Storage,
    extra_config: Value,
) -> Result<()> {
    let tensors = table_bytes(embeddings, rows, cols, storage)?;
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
    fn int8_tables_keep_one_scale_per_row_and_f16_halves_the_size() {
        let data = [0.5, -1.0, 0.25, 0.0, 0.0, 0.0];
        let bytes = table_bytes(&data, 2, 3, Storage::Int8).unwrap();
        let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: Value = serde_json::from_slice(&bytes[8..8 + header_len]).unwrap();
        assert_eq!(header["embeddings"]["dtype"], "I8");
        assert_eq!(header["weights"]["shape"], json!([2]));
        let body = &bytes[8 + header_len..];
        let codes: Vec<i8> = body[..6].iter().map(|&b| b as i8).collect();
        assert_eq!(codes, [64, -127, 32, 0, 0, 0]);
        let scale = f32::from_le_bytes(body[6..10].try_into().unwrap());
        assert!((scale * 127.0 - 1.0).abs() < 1e-6, "{scale}");
        assert_eq!(f32::from_le_bytes(body[10..14].try_into().unwrap()), 0.0, "a zero row has scale 0");
        let f16 = table_bytes(&data, 2, 3, Storage::F16).unwrap();
        let f32 = table_bytes(&data, 2, 3, Storage::F32).unwrap();
        assert!(f16.len() < f32.len());
        assert!(table_bytes(&data, 3, 3, Storage::Int8).unwrap_err().to_string().contains("[3, 3]"));
        assert_eq!(Storage::parse("int8").unwrap(), Storage::Int8);
        assert!(Storage::parse("f8").unwrap_err().to_string().contains("f32, f16, int8"));
    }

    #[test]
    fn config_merges_extras() {
        let c = config_json(256, json!({ "apply_pca": 256 }));
        assert_eq!(c["hidden_dim"], 256);
        assert_eq!(c["apply_pca"], 256);
        assert_eq!(c["normalize"], true);
    }
}
