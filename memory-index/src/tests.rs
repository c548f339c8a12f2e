//! Unit tests of the pure parts: fusion arithmetic.

use memory_core::MemoryId;

use crate::fusion::{Candidate, fuse};
use crate::query::Fusion;

fn ids(n: usize) -> Vec<MemoryId> {
    (0..n).map(|i| MemoryId::from_uuid(uuid::Uuid::from_u128(i as u128 + 1))).collect()
}

#[test]
fn rrf_sums_reciprocal_ranks() {
    let id = ids(3);
    let text = [Candidate { id: id[0], score: 9.0 }, Candidate { id: id[1], score: 3.0 }];
    let vector = [Candidate { id: id[1], score: 0.9 }, Candidate { id: id[2], score: 0.5 }];
    let out = fuse(&text, &vector, Fusion::Rrf { k: 60.0 }, 10);
    assert_eq!(out[0].id, id[1]);
    assert!((out[0].score - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-7);
    assert_eq!(out[0].text, Some((3.0, 2)));
    assert_eq!(out[0].vector, Some((0.9, 1)));
    // id0 (text rank 1) and id2 (vector rank 2) follow: 1/61 > 1/62.
    assert_eq!(out[1].id, id[0]);
    assert!((out[1].score - 1.0 / 61.0).abs() < 1e-7);
    assert_eq!(out[2].id, id[2]);
    assert!((out[2].score - 1.0 / 62.0).abs() < 1e-7);
}

#[test]
fn blend_min_max_normalizes_bm25_and_maps_cosine() {
    let id = ids(3);
    let text = [
        Candidate { id: id[0], score: 10.0 },
        Candidate { id: id[1], score: 4.0 },
        Candidate { id: id[2], score: 2.0 },
    ];
    let vector = [Candidate { id: id[2], score: 0.6 }];
    let out = fuse(&text, &vector, Fusion::Blend { text_weight: 0.25 }, 10);
    let score = |i: usize| out.iter().find(|f| f.id == id[i]).unwrap().score;
    assert!((score(0) - 0.25).abs() < 1e-6); // bm25' = 1, no vector
    assert!((score(1) - 0.25 * 0.25).abs() < 1e-6); // bm25' = (4-2)/8
    assert!((score(2) - 0.75 * 0.8).abs() < 1e-6); // bm25' = 0, cos' = 0.8
    assert_eq!(out[0].id, id[2]);
}

#[test]
fn blend_with_a_single_text_candidate_gives_it_full_weight() {
    let id = ids(1);
    let out = fuse(&[Candidate { id: id[0], score: 1.5 }], &[], Fusion::Blend { text_weight: 0.5 }, 10);
    assert!((out[0].score - 0.5).abs() < 1e-6);
}

#[test]
fn fusion_truncates_and_breaks_ties_deterministically() {
    let id = ids(4);
    let text: Vec<Candidate> = id.iter().map(|&id| Candidate { id, score: 1.0 }).collect();
    let a = fuse(&text, &[], Fusion::Rrf { k: 60.0 }, 2);
    let b = fuse(&text, &[], Fusion::Rrf { k: 60.0 }, 2);
    assert_eq!(a, b);
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].id, id[0]);
}
