//! Integration tests of `memory-index` (one binary): isolation, filters (including expiry and
//! metadata), writes, persistence,
//! path counters, recall and fusion. Sizes are small by default; `MEMORY_INDEX_TEST_SCALE=10`
//! multiplies the corpus sizes of the recall tests.

mod basics;
mod filters;
mod fresh;
mod persistence;
mod recall;

use std::path::Path;

use memory_core::{Category, Layer, MemoryId, Metadata, NamespaceKey, Timestamp};
use memory_index::{IndexDoc, IndexOptions, MemoryIndex, SearchQuery};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const MODEL: &str = "test-model";

pub fn scale() -> usize {
    std::env::var("MEMORY_INDEX_TEST_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1).max(1)
}

pub fn ns(key: &str) -> NamespaceKey {
    NamespaceKey::new(key).expect("valid key")
}

pub fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2026-05-08T00:00:00Z").expect("valid")
}

/// An in-memory index of `dim`-dimensional vectors with the given exact threshold.
pub fn mem_index(dim: usize, threshold: usize) -> MemoryIndex {
    let mut o = IndexOptions::new(None, dim, MODEL);
    o.exact_threshold = threshold;
    MemoryIndex::open(o).expect("open in memory")
}

pub fn dir_index(dir: &Path, dim: usize, threshold: usize) -> memory_core::Result<MemoryIndex> {
    let mut o = IndexOptions::new(Some(dir.to_path_buf()), dim, MODEL);
    o.exact_threshold = threshold;
    MemoryIndex::open(o)
}

pub fn doc(namespace: &str, content: &str, vector: Option<Vec<f32>>) -> IndexDoc {
    IndexDoc {
        id: MemoryId::new_v7(),
        namespace: ns(namespace),
        layer: Layer::Semantic,
        category: Category::fact(),
        created_at: t0(),
        expires_at: None,
        metadata: Metadata::new(),
        content: content.to_owned(),
        vector,
    }
}

pub fn query(namespaces: &[&str], text: &str, vector: Option<Vec<f32>>) -> SearchQuery {
    SearchQuery {
        text: text.to_owned(),
        vector,
        namespaces: namespaces.iter().map(|n| ns(n)).collect(),
        limit: 10,
        ..SearchQuery::default()
    }
}

/// Seeded clustered unit vectors: `clusters` Gaussian centres, points at noise `sigma` around them.
#[derive(Debug)]
pub struct Clustered {
    rng: StdRng,
    centres: Vec<Vec<f32>>,
    dim: usize,
    sigma: f32,
}

impl Clustered {
    pub fn new(seed: u64, dim: usize, clusters: usize, sigma: f32) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let centres = (0..clusters).map(|_| unit((0..dim).map(|_| gaussian(&mut rng)).collect())).collect();
        Clustered { rng, centres, dim, sigma }
    }

    pub fn point(&mut self) -> Vec<f32> {
        let c = self.rng.random_range(0..self.centres.len());
        let centre = &self.centres[c];
        unit((0..self.dim).map(|i| centre[i] + self.sigma * gaussian(&mut self.rng)).collect())
    }
}

pub fn gaussian(rng: &mut StdRng) -> f32 {
    // Box-Muller; rand 0.9 has no normal distribution without rand_distr.
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f32::consts::PI * u2).cos()
}

pub fn unit(mut v: Vec<f32>) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter_mut().for_each(|x| *x /= n);
    v
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn the_index_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<MemoryIndex>();
}
