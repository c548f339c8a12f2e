//! The math of distilling a static model from a sentence model, following Model2Vec's recipe:
//! embed every vocabulary token alone with the teacher, project the token matrix onto its
//! principal components (PCA, which also removes the mean direction all tokens share), and scale
//! each row by a weight that falls with the token's frequency (its Zipf rank), so frequent tokens
//! count for less in a text's mean. The `distill-static` binary supplies the teacher vectors
//! (MiniLM) and writes the result with [`crate::model2vec`].
//!
//! Everything here is plain `f64` arithmetic with no dependency: PCA is a covariance matrix and a
//! cyclic Jacobi eigendecomposition, which is exact enough and fast for a few hundred dimensions.

use memory_core::{Error, Result};

/// Principal components of a set of row vectors.
#[derive(Debug, Clone)]
pub struct Pca {
    /// The mean row, subtracted before projecting.
    pub mean: Vec<f64>,
    /// The kept components, strongest first, each of the input dimension and unit length.
    pub components: Vec<Vec<f64>>,
    /// The variance along each kept component.
    pub variances: Vec<f64>,
    /// The total variance of the input, to report how much the kept components explain.
    pub total_variance: f64,
}

impl Pca {
    /// Fits `keep` components to `rows` (row-major, `dim` columns).
    pub fn fit(rows: &[f32], dim: usize, keep: usize) -> Result<Pca> {
        if dim == 0 || !rows.len().is_multiple_of(dim) {
            return Err(Error::invalid_input(format!(
                "PCA input of {} floats is not a whole number of {dim}-dimensional rows",
                rows.len()
            )));
        }
        let n = rows.len() / dim;
        if n < 2 || keep == 0 || keep > dim {
            return Err(Error::invalid_input(format!(
                "PCA needs at least 2 rows and 1..={dim} components, got {n} rows and {keep} components"
            )));
        }
        let mut mean = vec![0.0_f64; dim];
        for row in rows.chunks_exact(dim) {
            for (m, &x) in mean.iter_mut().zip(row) {
                *m += f64::from(x);
            }
        }
        mean.iter_mut().for_each(|m| *m /= n as f64);

        // Upper triangle of the covariance, mirrored afterwards.
        let mut cov = vec![0.0_f64; dim * dim];
        let mut centered = vec![0.0_f64; dim];
        for row in rows.chunks_exact(dim) {
            for ((c, &x), m) in centered.iter_mut().zip(row).zip(&mean) {
                *c = f64::from(x) - m;
            }
            for i in 0..dim {
                let ci = centered[i];
                let out = &mut cov[i * dim + i..(i + 1) * dim];
                for (o, &cj) in out.iter_mut().zip(&centered[i..]) {
                    *o += ci * cj;
                }
            }
        }
        for i in 0..dim {
            for j in i..dim {
                let v = cov[i * dim + j] / (n - 1) as f64;
                cov[i * dim + j] = v;
                cov[j * dim + i] = v;
            }
        }
        let total_variance = (0..dim).map(|i| cov[i * dim + i]).sum();

        let (values, vectors) = symmetric_eigen(cov, dim);
        let mut order: Vec<usize> = (0..dim).collect();
        order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
        let mut components = Vec::with_capacity(keep);
        let mut variances = Vec::with_capacity(keep);
        for &j in order.iter().take(keep) {
            let mut component: Vec<f64> = (0..dim).map(|i| vectors[i * dim + j]).collect();
            // Eigenvectors have no inherent sign; fix one so repeated runs give identical files.
            let largest = component.iter().copied().fold(0.0_f64, |a, x| if x.abs() > a.abs() { x } else { a });
            if largest < 0.0 {
                component.iter_mut().for_each(|x| *x = -*x);
            }
            components.push(component);
            variances.push(values[j].max(0.0));
        }
        Ok(Pca { mean, components, variances, total_variance })
    }

    /// The share of the total variance the kept components explain (0..=1).
    pub fn explained(&self) -> f64 {
        if self.total_variance > 0.0 { self.variances.iter().sum::<f64>() / self.total_variance } else { 1.0 }
    }

    /// Projects row-major `rows` (of the fitted dimension) onto the components.
    pub fn transform(&self, rows: &[f32]) -> Vec<f32> {
        let dim = self.mean.len();
        let mut out = Vec::with_capacity(rows.len() / dim * self.components.len());
        let mut centered = vec![0.0_f64; dim];
        for row in rows.chunks_exact(dim) {
            for ((c, &x), m) in centered.iter_mut().zip(row).zip(&self.mean) {
                *c = f64::from(x) - m;
            }
            for component in &self.components {
                out.push(component.iter().zip(&centered).map(|(a, b)| a * b).sum::<f64>() as f32);
            }
        }
        out
    }
}

/// Eigenvalues and eigenvectors of the symmetric `n`x`n` matrix `a` (row-major) by cyclic
/// Jacobi rotations. Returns the eigenvalues (unsorted) and the eigenvectors as the columns of
/// a row-major `n`x`n` matrix.
pub fn symmetric_eigen(mut a: Vec<f64>, n: usize) -> (Vec<f64>, Vec<f64>) {
    assert_eq!(a.len(), n * n, "symmetric_eigen needs an n x n matrix");
    let mut v = vec![0.0_f64; n * n];
    (0..n).for_each(|i| v[i * n + i] = 1.0);
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j].powi(2))
            .sum();
        if off <= 1e-22 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * n + q] - a[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // A <- J^T A J: columns p and q, then rows p and q.
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i * n + i]).collect(), v)
}

/// Model2Vec's SIF weight for a token of Zipf rank `rank` (0 = most frequent) in a vocabulary of
/// `ranked` tokens: `a / (a + p(rank))` with `p(rank) ∝ 1 / (rank + 2)`. Frequent tokens get
/// weights near 0, rare ones near 1; Model2Vec's default coefficient is 1e-4.
pub fn sif_weight(rank: usize, ranked: usize, coefficient: f64) -> f32 {
    // Harmonic normalizer of p over the ranked vocabulary.
    let normalizer: f64 = (0..ranked).map(|r| 1.0 / (r as f64 + 2.0)).sum();
    sif_weight_with(rank, normalizer, coefficient)
}

/// [`sif_weight`] with the normalizer precomputed (it is the same for every token).
pub fn sif_weight_with(rank: usize, normalizer: f64, coefficient: f64) -> f32 {
    let p = 1.0 / ((rank as f64 + 2.0) * normalizer);
    (coefficient / (coefficient + p)) as f32
}

/// Model2Vec's older Zipf weight: `ln(2 + rank)`, growing slowly with rarity.
pub fn log_rank_weight(rank: usize) -> f32 {
    (rank as f64 + 2.0).ln() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_of_a_known_matrix() {
        // [[2,1,0],[1,2,0],[0,0,5]] has eigenvalues 1, 3 and 5.
        let (mut values, vectors) = symmetric_eigen(vec![2.0, 1.0, 0.0, 1.0, 2.0, 0.0, 0.0, 0.0, 5.0], 3);
        let original = [[2.0, 1.0, 0.0], [1.0, 2.0, 0.0], [0.0, 0.0, 5.0]];
        for (j, &lambda) in values.iter().enumerate() {
            // A v = lambda v for each column v.
            for (i, row) in original.iter().enumerate() {
                let av: f64 = (0..3).map(|k| row[k] * vectors[k * 3 + j]).sum();
                assert!((av - lambda * vectors[i * 3 + j]).abs() < 1e-9);
            }
        }
        values.sort_by(f64::total_cmp);
        for (got, want) in values.iter().zip([1.0, 3.0, 5.0]) {
            assert!((got - want).abs() < 1e-9, "{values:?}");
        }
    }

    #[test]
    fn pca_finds_the_stretched_direction_and_centers() {
        // Points along (3, 4) / 5 with a little noise across it, far from the origin.
        let mut rows = Vec::new();
        for i in 0..200 {
            let t = (i as f32 - 100.0) / 10.0;
            let noise = if i % 2 == 0 { 0.05 } else { -0.05 };
            rows.extend([100.0 + 0.6 * t - 0.8 * noise, 50.0 + 0.8 * t + 0.6 * noise]);
        }
        let pca = Pca::fit(&rows, 2, 1).unwrap();
        let c = &pca.components[0];
        assert!((c[0] - 0.6).abs() < 1e-3 && (c[1] - 0.8).abs() < 1e-3, "{c:?}");
        assert!(pca.explained() > 0.999);
        let projected = pca.transform(&rows);
        assert_eq!(projected.len(), 200);
        assert!(projected.iter().sum::<f32>().abs() < 1e-2, "projections are centered");
    }

    #[test]
    fn pca_rejects_bad_shapes() {
        assert!(Pca::fit(&[1.0, 2.0, 3.0], 2, 1).unwrap_err().to_string().contains("not a whole number"));
        assert!(Pca::fit(&[1.0, 2.0, 3.0, 4.0], 2, 3).unwrap_err().to_string().contains("components"));
    }

    #[test]
    fn weights_fall_with_frequency() {
        let n = 30_000;
        assert!(sif_weight(0, n, 1e-4) < 0.01);
        assert!(sif_weight(100, n, 1e-4) < sif_weight(5_000, n, 1e-4));
        assert!(sif_weight(29_999, n, 1e-4) > 0.9);
        assert!(log_rank_weight(0) < log_rank_weight(1_000));
    }
}
