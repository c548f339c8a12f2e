//! Combines the text and vector candidate lists into one ranking (RRF or a normalized blend).

use std::collections::HashMap;

use memory_core::MemoryId;

use crate::query::Fusion;

/// One candidate of one retriever, best first in its list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub id: MemoryId,
    pub score: f32,
}

/// A fused result before the namespace is attached.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fused {
    pub id: MemoryId,
    pub score: f32,
    pub text: Option<(f32, usize)>,
    pub vector: Option<(f32, usize)>,
}

/// Fuses two ranked lists (each sorted best first, ids unique within a list) and keeps `limit`.
pub(crate) fn fuse(text: &[Candidate], vector: &[Candidate], fusion: Fusion, limit: usize) -> Vec<Fused> {
    let mut by_id: HashMap<MemoryId, Fused> = HashMap::with_capacity(text.len() + vector.len());
    for (i, c) in text.iter().enumerate() {
        by_id.insert(c.id, Fused { id: c.id, score: 0.0, text: Some((c.score, i + 1)), vector: None });
    }
    for (i, c) in vector.iter().enumerate() {
        by_id.entry(c.id).or_insert(Fused { id: c.id, score: 0.0, text: None, vector: None }).vector =
            Some((c.score, i + 1));
    }

    match fusion {
        Fusion::Rrf { k } => {
            for f in by_id.values_mut() {
                f.score = f.text.map_or(0.0, |(_, r)| 1.0 / (k + r as f32))
                    + f.vector.map_or(0.0, |(_, r)| 1.0 / (k + r as f32));
            }
        }
        Fusion::Blend { text_weight } => {
            let w = text_weight.clamp(0.0, 1.0);
            let (min, max) =
                text.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), c| (lo.min(c.score), hi.max(c.score)));
            // One candidate, or all tied: each is as good as the best, so each gets the full weight.
            let span = max - min;
            let norm_text = |s: f32| if span > 0.0 { (s - min) / span } else { 1.0 };
            for f in by_id.values_mut() {
                let t = f.text.map_or(0.0, |(s, _)| norm_text(s));
                let v = f.vector.map_or(0.0, |(s, _)| ((s + 1.0) / 2.0).clamp(0.0, 1.0));
                f.score = w * t + (1.0 - w) * v;
            }
        }
    }

    let mut fused: Vec<Fused> = by_id.into_values().collect();
    // Ties fall back to the better single rank, then the id, so equal inputs give equal outputs.
    let best_rank = |f: &Fused| f.text.map_or(usize::MAX, |t| t.1).min(f.vector.map_or(usize::MAX, |v| v.1));
    fused.sort_by(|a, b| {
        b.score.total_cmp(&a.score).then_with(|| best_rank(a).cmp(&best_rank(b))).then_with(|| a.id.cmp(&b.id))
    });
    fused.truncate(limit);
    fused
}
