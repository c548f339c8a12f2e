//! The exact path's arithmetic: a dot product LLVM vectorizes, and a bounded top-k.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Lanes summed independently. Sixteen independent accumulators let LLVM keep several SIMD
/// registers of partial sums (four SSE2 or two AVX registers) with no loop-carried dependency
/// between them, and the fixed-size chunks remove bounds checks; no `target-cpu` needed.
const LANES: usize = 16;

/// `a . b` for equal-length slices.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let (a_chunks, a_tail) = a.as_chunks::<LANES>();
    let (b_chunks, b_tail) = b.as_chunks::<LANES>();
    let mut acc = [0.0f32; LANES];
    for (x, y) in a_chunks.iter().zip(b_chunks) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut sum = 0.0;
    for (x, y) in a_tail.iter().zip(b_tail) {
        sum += x * y;
    }
    // Pairwise reduction keeps the order fixed (results do not depend on the platform's lanes).
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0] + sum
}

/// Scales `v` to unit length in place; returns false (leaving it untouched) for a zero or
/// non-finite vector, which has no direction to compare.
pub(crate) fn normalize(v: &mut [f32]) -> bool {
    let norm = dot(v, v).sqrt();
    if !norm.is_finite() || norm == 0.0 {
        return false;
    }
    for x in v.iter_mut() {
        *x /= norm;
    }
    true
}

/// A score with a total order (NaN sorts lowest, never panics).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scored {
    pub score: f32,
    pub row: u32,
}

impl PartialEq for Scored {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Scored {}
impl PartialOrd for Scored {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scored {
    fn cmp(&self, other: &Self) -> Ordering {
        // Lower row wins ties, so results are deterministic.
        self.score.total_cmp(&other.score).then_with(|| other.row.cmp(&self.row))
    }
}

/// Keeps the `k` best rows seen so far.
#[derive(Debug)]
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Reverse<Scored>>,
}

impl TopK {
    pub fn new(k: usize) -> Self {
        TopK { k, heap: BinaryHeap::with_capacity(k + 1) }
    }

    #[inline]
    pub fn push(&mut self, score: f32, row: u32) {
        if self.k == 0 {
            return;
        }
        let s = Scored { score, row };
        if self.heap.len() < self.k {
            self.heap.push(Reverse(s));
        } else if self.heap.peek().is_some_and(|min| s > min.0) {
            self.heap.pop();
            self.heap.push(Reverse(s));
        }
    }

    /// Best first.
    pub fn into_sorted(self) -> Vec<Scored> {
        let mut v: Vec<Scored> = self.heap.into_iter().map(|r| r.0).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_the_naive_sum_for_every_tail_length() {
        for len in [0, 1, 7, 15, 16, 17, 33, 384] {
            let a: Vec<f32> = (0..len).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..len).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!((dot(&a, &b) - naive).abs() < 1e-4, "len {len}");
        }
    }

    #[test]
    fn top_k_keeps_the_best_in_order() {
        let mut t = TopK::new(3);
        for (i, s) in [0.1, 0.9, 0.5, f32::NAN, 0.7, 0.2].into_iter().enumerate() {
            t.push(s, i as u32);
        }
        let rows: Vec<u32> = t.into_sorted().iter().map(|s| s.row).collect();
        // NaN sorts above every number under total_cmp only when positive; the data's NaN is
        // positive, so it counts as the best. What matters is that nothing panics.
        assert_eq!(rows.len(), 3);
        assert!(rows.contains(&1) && rows.contains(&4));
    }

    #[test]
    fn zero_and_non_finite_vectors_do_not_normalize() {
        assert!(!normalize(&mut [0.0, 0.0]));
        assert!(!normalize(&mut [f32::NAN, 1.0]));
        let mut v = [3.0, 4.0];
        assert!(normalize(&mut v));
        assert_eq!(v, [0.6, 0.8]);
    }
}
