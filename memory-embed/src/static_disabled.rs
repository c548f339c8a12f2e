//! Stand-in for the static embedder when the `static` feature is compiled out: the type exists
//! so callers need no `cfg`, but it cannot be built and loading says which feature is missing.

use std::path::Path;

use memory_core::{Error, Result};

use crate::Embedder;

/// Uninhabited: this build has no static-model support.
#[derive(Debug, Clone)]
pub enum StaticEmbedder {}

impl StaticEmbedder {
    /// Whether this build can load static models (the `static` feature).
    pub const COMPILED: bool = false;

    /// Whether this build carries the shipped model (never without the `static` feature).
    pub const SHIPPED: bool = false;

    /// The model id the shipped model has in builds with the `static` feature.
    pub const SHIPPED_MODEL_ID: &'static str = "static:shipped-minilm-v1";

    /// Always fails: the `static` feature is compiled out.
    pub fn shipped() -> Result<Self> {
        Err(Error::invalid_input("the shipped static model needs memory-embed's `static` feature"))
    }

    /// Always fails: the `static` feature is compiled out.
    pub fn load(dir: &Path) -> Result<Self> {
        Err(Error::invalid_input(format!(
            "cannot load the static model at {}: memory-embed was built without its `static` feature",
            dir.display()
        )))
    }
}

impl Embedder for StaticEmbedder {
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
