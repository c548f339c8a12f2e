//! The rule extractor measured on annotated dialogues (`testdata/dialogues.json`).
//!
//! Each dialogue lists the durable items a careful reader would take from it, as a kind and the
//! words the content must contain. A candidate matches an annotation when its kind is one the
//! annotation allows and its content contains every word (case-insensitive). Recall counts the
//! required annotations some candidate matches; a candidate matching no annotation (optional
//! ones included) is wrong.
//!
//! The dialogues come in two sets, both printed; the thresholds hold for the whole file.
//! - `dev`: read while the rules were written. The first 62 were written before any rule; two
//!   later batches (31 and 30) were written after, measured as unseen text (recall 0.32 and
//!   0.30), then fitted to.
//! - `holdout`: 25 written last, in fresh phrasing, measured once before any change (recall
//!   0.40, wrong share 0.17); since then only two bug fixes were made with it in view (a
//!   question's own "I" read as a statement; a time-only correction), no new patterns. Its
//!   numbers are the honest estimate of how the rules do on text they were not fitted to.
//!
//! `testdata/holdout2.json` (set `holdout2`, 60 dialogues, 15 with nothing durable) is a second
//! unseen set, written without reading the rules or their tests. It is measured for information
//! only: its numbers are printed, never asserted, and the rules must not be fitted to it.

use std::collections::BTreeMap;

use memory_consolidate::{Candidate, CandidateKind, Episode, Extractor, RuleExtractor};
use memory_core::{MemoryId, Timestamp};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Dialogue {
    id: String,
    set: String,
    messages: Vec<Message>,
    expected: Vec<Annotation>,
}

#[derive(Debug, Deserialize)]
struct Message {
    role: String,
    at: Timestamp,
    content: String,
}

#[derive(Debug, Deserialize)]
struct Annotation {
    kind: Kinds,
    must_contain: Vec<String>,
    #[serde(default)]
    optional: bool,
}

/// One kind, or several a reader could fairly choose between.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Kinds {
    One(CandidateKind),
    Any(Vec<CandidateKind>),
}

impl Kinds {
    fn allows(&self, kind: CandidateKind) -> bool {
        match self {
            Kinds::One(k) => *k == kind,
            Kinds::Any(ks) => ks.contains(&kind),
        }
    }

    fn first(&self) -> CandidateKind {
        match self {
            Kinds::One(k) => *k,
            Kinds::Any(ks) => ks[0],
        }
    }
}

impl Annotation {
    fn matches(&self, c: &Candidate) -> bool {
        let content = c.content.to_lowercase();
        self.kind.allows(c.kind) && self.must_contain.iter().all(|w| content.contains(&w.to_lowercase()))
    }
}

fn dialogues() -> Vec<Dialogue> {
    load(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/dialogues.json"))
}

/// The second unseen set (`testdata/holdout2.json`): measured for information, never asserted.
fn holdout2() -> Vec<Dialogue> {
    load(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/holdout2.json"))
}

fn load(path: &str) -> Vec<Dialogue> {
    let text = std::fs::read_to_string(path).expect("the fixture file");
    serde_json::from_str(&text).expect("valid fixtures")
}

fn episodes(d: &Dialogue) -> Vec<Episode> {
    d.messages
        .iter()
        .map(|m| Episode {
            id: MemoryId::new_v7(),
            conversation: Some(d.id.clone()),
            role: Some(m.role.clone()),
            content: m.content.clone(),
            at: m.at,
        })
        .collect()
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    expected: usize,
    found: usize,
    candidates: usize,
    right: usize,
}

#[test]
fn fixtures_are_well_formed() {
    let all = dialogues();
    assert!(all.len() >= 40, "at least 40 dialogues, got {}", all.len());
    let mut ids = std::collections::HashSet::new();
    for d in &all {
        assert!(ids.insert(d.id.as_str()), "duplicate id {}", d.id);
        assert!((1..=8).contains(&d.messages.len()), "{}: 1..=8 messages", d.id);
        assert!(d.messages.windows(2).all(|w| w[0].at <= w[1].at), "{}: messages in time order", d.id);
        assert!(d.messages.iter().all(|m| m.role == "user" || m.role == "assistant"), "{}: roles", d.id);
        assert!(d.expected.iter().all(|a| !a.must_contain.is_empty()), "{}: every annotation names words", d.id);
        assert!(d.set == "dev" || d.set == "holdout", "{}: set is dev or holdout", d.id);
    }
    let kinds: std::collections::HashSet<CandidateKind> =
        all.iter().flat_map(|d| d.expected.iter().map(|a| a.kind.first())).collect();
    for kind in CandidateKind::ALL {
        assert!(kinds.contains(kind), "some dialogue expects a {kind}");
    }
    assert!(all.iter().filter(|d| d.expected.is_empty()).count() >= 5, "some dialogues hold nothing durable");
}

#[test]
fn holdout2_is_well_formed() {
    let all = holdout2();
    let first = dialogues();
    let mut ids: std::collections::HashSet<&str> = first.iter().map(|d| d.id.as_str()).collect();
    for d in &all {
        assert!(ids.insert(d.id.as_str()), "duplicate id {}", d.id);
        assert!((1..=8).contains(&d.messages.len()), "{}: 1..=8 messages", d.id);
        assert!(d.messages.windows(2).all(|w| w[0].at <= w[1].at), "{}: messages in time order", d.id);
        assert!(d.messages.iter().all(|m| m.role == "user" || m.role == "assistant"), "{}: roles", d.id);
        assert!(d.expected.iter().all(|a| !a.must_contain.is_empty()), "{}: every annotation names words", d.id);
        assert_eq!(d.set, "holdout2", "{}: set is holdout2", d.id);
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Precision and recall of the rule extractor on `dialogues`, printed per kind; returns the
/// overall (precision, recall).
fn measure(title: &str, dialogues: &[Dialogue]) -> (f64, f64) {
    let extractor = RuleExtractor::new();
    let mut by_kind: BTreeMap<CandidateKind, Tally> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut wrong = Vec::new();
    for d in dialogues {
        let candidates = extractor.extract(&episodes(d)).expect("the rule extractor never fails");
        for a in &d.expected {
            let found = candidates.iter().any(|c| a.matches(c));
            if a.optional {
                continue;
            }
            let t = by_kind.entry(a.kind.first()).or_default();
            t.expected += 1;
            if found {
                t.found += 1;
            } else {
                misses.push(format!("{}: {} {:?}", d.id, a.kind.first(), a.must_contain));
            }
        }
        for c in &candidates {
            let t = by_kind.entry(c.kind).or_default();
            t.candidates += 1;
            if d.expected.iter().any(|a| a.matches(c)) {
                t.right += 1;
            } else {
                wrong.push(format!("{}: {} {:?}", d.id, c.kind, c.content));
            }
        }
    }
    let total = by_kind.values().fold(Tally::default(), |acc, t| Tally {
        expected: acc.expected + t.expected,
        found: acc.found + t.found,
        candidates: acc.candidates + t.candidates,
        right: acc.right + t.right,
    });
    println!("== {title}: {} dialogues", dialogues.len());
    println!("{:<11} {:>9} {:>9} {:>7} {:>7}", "kind", "precision", "recall", "cands", "expect");
    for (kind, t) in &by_kind {
        println!(
            "{:<11} {:>9.2} {:>9.2} {:>7} {:>7}",
            kind.as_str(),
            ratio(t.right, t.candidates),
            ratio(t.found, t.expected),
            t.candidates,
            t.expected
        );
    }
    let precision = ratio(total.right, total.candidates);
    let recall = ratio(total.found, total.expected);
    println!("{:<11} {:>9.2} {:>9.2} {:>7} {:>7}", "overall", precision, recall, total.candidates, total.expected);
    println!("missed ({}):", misses.len());
    for m in &misses {
        println!("  {m}");
    }
    println!("wrong ({}):", wrong.len());
    for w in &wrong {
        println!("  {w}");
    }
    println!();
    (precision, recall)
}

#[test]
fn rule_extractor_on_annotated_dialogues() {
    let all = dialogues();
    let (dev, holdout): (Vec<Dialogue>, Vec<Dialogue>) = all.into_iter().partition(|d| d.set == "dev");
    measure("dev", &dev);
    measure("holdout", &holdout);
    let all: Vec<Dialogue> = dev.into_iter().chain(holdout).collect();
    let (precision, recall) = measure("all", &all);
    assert!(recall >= 0.80, "overall recall {recall:.2} < 0.80");
    assert!(1.0 - precision <= 0.10, "wrong candidates {:.2} > 0.10", 1.0 - precision);
}

/// The second unseen set, measured for information: printed, not asserted against thresholds,
/// and not to be fitted to (see the module comment).
#[test]
fn rule_extractor_on_holdout2() {
    measure("holdout2 (unseen, not asserted)", &holdout2());
}
