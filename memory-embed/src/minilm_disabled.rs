//! Stand-in for the MiniLM embedder when the `minilm` feature is compiled out (the default, as
//! candle is slow to build): the type exists so callers need no `cfg`, but loading says which
//! feature is missing.

use std::path::Path;

use memory_core::{Error, Result};

use crate::Embedder;

/// Uninhabited: this build has no MiniLM support.
#[derive(Debug, Clone)]
pub enum MiniLmEmbedder {}

impl MiniLmEmbedder {
    /// Whether this build can run MiniLM (the `minilm` feature).
    pub const COMPILED: bool = false;

    /// Always fails: the `minilm` feature is compiled out.
    pub fn load(dir: &Path) -> Result<Self> {
        Err(Error::invalid_input(format!(
            "cannot load the MiniLM model at {}: memory-embed was built without its `minilm` feature \
             (build with `--features memory-embed/minilm`)",
            dir.display()
        )))
    }
}

impl Embedder for MiniLmEmbedder {
    fn model_id(&self) -> &str {
        match *self {}
    }

    fn dimension(&self) -> usize {
        match *self {}
    }

    fn embed(&self, _texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        match *self {}
    }
}
