//! Checks on the suite itself: the list of checks that drives `store_conformance!` is complete.

use std::collections::BTreeSet;
use std::path::Path;

use memory_testkit::conformance::CHECKS;

/// Every `pub async fn check_*` in `src/conformance/` is in `CHECKS` (so it gets a test in
/// every backend), and `CHECKS` names nothing else.
#[test]
fn every_check_function_is_listed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/conformance");
    let mut defined = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for rest in text.split("pub async fn ").skip(1) {
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if !rest[name.len()..].starts_with('(') {
                continue; // prose, such as the module doc, not a definition
            }
            assert!(name.starts_with("check_"), "public async fn {name} in src/conformance should be a check_*");
            defined.insert(name);
        }
    }
    let listed: BTreeSet<String> = CHECKS.iter().map(|c| (*c).to_owned()).collect();
    assert_eq!(listed.len(), CHECKS.len(), "a check is listed twice");
    let unlisted: Vec<_> = defined.difference(&listed).collect();
    assert!(unlisted.is_empty(), "add these to __conformance_checks! in src/conformance/mod.rs: {unlisted:?}");
    let stale: Vec<_> = listed.difference(&defined).collect();
    assert!(stale.is_empty(), "listed but not defined: {stale:?}");
    assert!(CHECKS.len() >= 45, "the suite has {} checks", CHECKS.len());
}
