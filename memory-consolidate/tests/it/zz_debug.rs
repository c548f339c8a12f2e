use memory_consolidate::{Episode, Extractor, RuleExtractor};
use memory_core::{MemoryId, Timestamp};
#[test]
fn debug_print() {
    let texts = std::env::var("DBG").unwrap_or_default();
    let at = Timestamp::parse_rfc3339(&std::env::var("DBG_AT").unwrap_or("2026-12-07T10:00:00Z".into())).unwrap();
    let eps: Vec<Episode> = texts.split(" || ").enumerate().map(|(i, t)| Episode { id: MemoryId::new_v7(), conversation: None, role: None, content: t.to_owned(), at: at.plus_micros(i as i64) }).collect();
    for c in RuleExtractor::new().extract(&eps).unwrap() { println!("{} {:.2} [{}] {}", c.kind, c.confidence.value(), c.slot.unwrap_or_default(), c.content); }
}
