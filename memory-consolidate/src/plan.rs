//! Merging candidates into what a namespace already holds (SPEC 7): the decisions of
//! consolidation, as data. The engine carries them out through its one write pipeline.
//!
//! For each candidate, in order (each also compared with the candidates planned before it):
//! - it **restates** a memory (same layer, and the same words once normalized, or at least
//!   [`RESTATE_OVERLAP`] of them shared with no conflicting slot): evidence is added, with the
//!   new source ids appended and the confidence raised; when every source is already recorded
//!   nothing happens, so consolidating the same episodes twice changes nothing;
//! - it **contradicts** a memory (same slot, other words): it is written and supersedes that
//!   memory, unless it was stated before that memory was (an old episode never overrules newer
//!   knowledge);
//! - it is about **identity**: it is only proposed for review, never written (a pending or
//!   stored identity with the same words makes it a no-op);
//! - otherwise it is **created**.

use std::collections::BTreeSet;

use memory_core::{Confidence, Layer, MemoryId, Timestamp};

use crate::extract::{Candidate, CandidateKind};
use crate::text::{normalize, words};

/// Share of words (Jaccard over word sets) above which two texts restate each other.
pub const RESTATE_OVERLAP: f64 = 0.75;

/// A memory the namespace holds (live, unsuperseded, of a durable layer) that candidates are
/// compared with.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    /// Its id.
    pub id: MemoryId,
    /// Its layer.
    pub layer: Layer,
    /// Its content.
    pub content: String,
    /// Its confidence.
    pub confidence: Confidence,
    /// What it is about (recorded by the consolidation that wrote it), if known.
    pub slot: Option<String>,
    /// The episodes it was read from (recorded by consolidation; empty for explicit writes).
    pub sources: Vec<MemoryId>,
    /// When its knowledge was stated (the latest source time, else when it was written).
    pub stated_at: Timestamp,
}

/// The memory an action refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A stored memory.
    Stored(MemoryId),
    /// The memory written by the plan's action with this index (an earlier action).
    Planned(usize),
}

/// One thing consolidation does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Write the candidate as a new memory.
    Create {
        /// What to write.
        candidate: Candidate,
    },
    /// The candidate restates a stored memory: record the evidence.
    AddEvidence {
        /// The memory restated.
        target: MemoryId,
        /// All its sources after this action (the old ones, then the new ones).
        sources: Vec<MemoryId>,
        /// Its raised confidence.
        confidence: Confidence,
    },
    /// Write the candidate, superseding `old` (which stays in history, no longer recalled).
    Supersede {
        /// The memory corrected.
        old: Target,
        /// The correction.
        candidate: Candidate,
    },
    /// Queue the identity candidate for review (never written by consolidation).
    Propose {
        /// What would be written on approval.
        candidate: Candidate,
        /// The stored identity memory it would correct, if any.
        supersedes: Option<MemoryId>,
    },
}

/// What consolidation of one batch does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// The actions, in the order to apply them.
    pub actions: Vec<Action>,
    /// Candidates that changed nothing (already known, or older than what they contradict).
    pub unchanged: usize,
}

/// A memory known while planning: stored, or planned by an earlier action.
struct Known {
    target: Target,
    layer: Layer,
    normalized: String,
    words: BTreeSet<String>,
    slot: Option<String>,
    sources: Vec<MemoryId>,
    confidence: Confidence,
    stated_at: Timestamp,
    /// No longer current: a later action superseded it.
    superseded: bool,
}

impl Known {
    fn new(target: Target, layer: Layer, content: &str, slot: Option<String>) -> Self {
        Known {
            target,
            layer,
            normalized: normalize(content),
            words: words(content).into_iter().collect(),
            slot,
            sources: Vec::new(),
            confidence: Confidence::certain(),
            stated_at: Timestamp::MIN,
            superseded: false,
        }
    }

    fn restated_by(&self, layer: Layer, normalized: &str, words: &BTreeSet<String>, slot: Option<&str>) -> bool {
        if self.layer != layer {
            return false;
        }
        if self.normalized == normalized {
            return true;
        }
        if let (Some(a), Some(b)) = (self.slot.as_deref(), slot)
            && a != b
        {
            return false;
        }
        jaccard(&self.words, words) >= RESTATE_OVERLAP
    }
}

/// Plans the consolidation of `candidates` (in the order they were stated) into a namespace
/// holding `existing`, with `proposed` the contents of its pending identity proposals.
pub fn plan(candidates: Vec<Candidate>, existing: &[Existing], proposed: &[String]) -> Plan {
    let mut known: Vec<Known> = existing
        .iter()
        .map(|e| Known {
            sources: e.sources.clone(),
            confidence: e.confidence,
            stated_at: e.stated_at,
            ..Known::new(Target::Stored(e.id), e.layer, &e.content, e.slot.clone())
        })
        .collect();
    let mut pending: BTreeSet<String> = proposed.iter().map(|p| normalize(p)).collect();
    let mut out = Plan::default();

    for mut candidate in candidates {
        // A correction of an identity statement is itself about identity.
        if candidate.kind == CandidateKind::Correction
            && candidate.slot.is_some()
            && known.iter().any(|k| k.layer == Layer::Identity && !k.superseded && k.slot == candidate.slot)
        {
            candidate.kind = CandidateKind::Identity;
        }
        let layer = candidate.layer();
        let normalized = normalize(&candidate.content);
        let cwords: BTreeSet<String> = words(&candidate.content).into_iter().collect();
        let slot = candidate.slot.clone();

        let restated =
            known.iter().position(|k| !k.superseded && k.restated_by(layer, &normalized, &cwords, slot.as_deref()));
        if let Some(i) = restated {
            if layer == Layer::Identity {
                out.unchanged += 1;
                continue;
            }
            let k = &mut known[i];
            let new: Vec<MemoryId> = candidate.sources.iter().filter(|s| !k.sources.contains(s)).copied().collect();
            if new.is_empty() {
                out.unchanged += 1;
                continue;
            }
            k.sources.extend(&new);
            k.confidence = raised(k.confidence, candidate.confidence);
            k.stated_at = k.stated_at.max(candidate.at);
            match k.target {
                Target::Stored(id) => out.actions.push(Action::AddEvidence {
                    target: id,
                    sources: k.sources.clone(),
                    confidence: k.confidence,
                }),
                Target::Planned(a) => match &mut out.actions[a] {
                    Action::Create { candidate: c } | Action::Supersede { candidate: c, .. } => {
                        c.sources.extend(new);
                        c.confidence = k.confidence;
                        c.at = k.stated_at;
                    }
                    Action::AddEvidence { .. } | Action::Propose { .. } => {}
                },
            }
            continue;
        }

        let contradicted = slot.as_ref().and_then(|s| {
            known.iter().rposition(|k| !k.superseded && k.slot.as_ref() == Some(s) && same_family(k.layer, layer))
        });

        if layer == Layer::Identity {
            if !pending.insert(normalized) {
                out.unchanged += 1;
                continue;
            }
            let supersedes = contradicted.and_then(|i| match known[i].target {
                Target::Stored(id) => Some(id),
                Target::Planned(_) => None,
            });
            out.actions.push(Action::Propose { candidate, supersedes });
            continue;
        }

        let index = out.actions.len();
        let mut next = Known::new(Target::Planned(index), layer, &candidate.content, slot);
        next.sources = candidate.sources.clone();
        next.confidence = candidate.confidence;
        next.stated_at = candidate.at;
        match contradicted {
            Some(i) if candidate.at < known[i].stated_at => {
                // Stated before what it contradicts: newer knowledge stands.
                out.unchanged += 1;
                continue;
            }
            Some(i) => {
                known[i].superseded = true;
                out.actions.push(Action::Supersede { old: known[i].target, candidate });
            }
            None => out.actions.push(Action::Create { candidate }),
        }
        known.push(next);
    }
    out
}

/// Whether memories of these layers can contradict each other: durable knowledge (semantic
/// and procedural) among itself, identity with identity.
fn same_family(a: Layer, b: Layer) -> bool {
    (a == Layer::Identity) == (b == Layer::Identity)
}

/// Confidence after more evidence: each new statement closes half the gap its own confidence
/// would, never above 0.99 unless it already was (certainty comes from explicit writes).
fn raised(old: Confidence, new: Confidence) -> Confidence {
    let gained = 1.0 - (1.0 - old.value()) * (1.0 - new.value() / 2.0);
    let value = if old.value() >= 0.99 { old.value() } else { gained.min(0.99) };
    Confidence::new(value.max(old.value())).unwrap_or(old)
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let shared = a.intersection(b).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: i64) -> Timestamp {
        Timestamp::from_micros(1_780_000_000_000_000).plus_days(day)
    }

    fn candidate(kind: CandidateKind, content: &str, slot: Option<&str>, day: i64) -> Candidate {
        Candidate {
            kind,
            content: content.into(),
            confidence: Confidence::new(0.95).unwrap(),
            slot: slot.map(str::to_owned),
            sources: vec![MemoryId::new_v7()],
            at: at(day),
        }
    }

    fn existing(layer: Layer, content: &str, slot: Option<&str>, sources: Vec<MemoryId>, day: i64) -> Existing {
        Existing {
            id: MemoryId::new_v7(),
            layer,
            content: content.into(),
            confidence: Confidence::new(0.8).unwrap(),
            slot: slot.map(str::to_owned),
            sources,
            stated_at: at(day),
        }
    }

    #[test]
    fn a_new_candidate_is_created() {
        let c = candidate(CandidateKind::Preference, "User prefers tea", Some("drink"), 0);
        let p = plan(vec![c.clone()], &[], &[]);
        assert_eq!(p.actions, vec![Action::Create { candidate: c }]);
    }

    #[test]
    fn a_restatement_adds_evidence_once() {
        let c = candidate(CandidateKind::Preference, "User prefers tea.", Some("drink"), 1);
        let old = existing(Layer::Semantic, "user prefers TEA", Some("drink"), vec![MemoryId::new_v7()], 0);
        let p = plan(vec![c.clone()], std::slice::from_ref(&old), &[]);
        let [Action::AddEvidence { target, sources, confidence }] = p.actions.as_slice() else { panic!("{p:?}") };
        assert_eq!(*target, old.id);
        assert_eq!(sources, &[old.sources[0], c.sources[0]]);
        assert!(confidence.value() > old.confidence.value());

        // The same episode again: nothing.
        let again = Existing { sources: sources.clone(), ..old };
        let p = plan(vec![c], &[again], &[]);
        assert!(p.actions.is_empty());
        assert_eq!(p.unchanged, 1);
    }

    #[test]
    fn a_contradiction_supersedes_unless_it_is_older() {
        let old = existing(Layer::Semantic, "User's favourite drink is coffee", Some("drink"), vec![], 1);
        let newer = candidate(CandidateKind::Correction, "User's favourite drink is tea", Some("drink"), 2);
        let p = plan(vec![newer.clone()], std::slice::from_ref(&old), &[]);
        assert_eq!(p.actions, vec![Action::Supersede { old: Target::Stored(old.id), candidate: newer }]);

        let older = candidate(CandidateKind::Preference, "User's favourite drink is tea", Some("drink"), 0);
        let p = plan(vec![older], &[old], &[]);
        assert!(p.actions.is_empty());
    }

    #[test]
    fn a_correction_within_the_batch_supersedes_the_planned_memory() {
        let first = candidate(CandidateKind::Preference, "User's favourite drink is coffee", Some("drink"), 0);
        let second = candidate(CandidateKind::Correction, "User's favourite drink is tea", Some("drink"), 0);
        let p = plan(vec![first.clone(), second.clone()], &[], &[]);
        assert_eq!(
            p.actions,
            vec![Action::Create { candidate: first }, Action::Supersede { old: Target::Planned(0), candidate: second }]
        );
    }

    #[test]
    fn identity_is_only_proposed_and_never_twice() {
        let c = candidate(CandidateKind::Identity, "User's name is Dana", Some("name"), 0);
        let old = existing(Layer::Identity, "User's name is Dan", Some("name"), vec![], 0);
        let p = plan(vec![c.clone(), c.clone()], std::slice::from_ref(&old), &[]);
        assert_eq!(p.actions, vec![Action::Propose { candidate: c.clone(), supersedes: Some(old.id) }]);
        assert_eq!(p.unchanged, 1);
        let p = plan(vec![c.clone()], &[], &["User's name is Dana".into()]);
        assert!(p.actions.is_empty());

        // A correction of identity is identity too.
        let fix = candidate(CandidateKind::Correction, "User's name is Dana", Some("name"), 1);
        let p = plan(vec![fix], &[old], &[]);
        assert!(matches!(&p.actions[..], [Action::Propose { .. }]), "{p:?}");
    }

    #[test]
    fn restatement_within_a_batch_merges_sources_into_the_planned_write() {
        let a = candidate(CandidateKind::Rule, "Rule: always answer in French", Some("rule:language"), 0);
        let b = candidate(CandidateKind::Rule, "Rule: always answer in French!", Some("rule:language"), 0);
        let p = plan(vec![a.clone(), b.clone()], &[], &[]);
        let [Action::Create { candidate }] = p.actions.as_slice() else { panic!("{p:?}") };
        assert_eq!(candidate.sources, vec![a.sources[0], b.sources[0]]);
    }
}
