//! Writes: deduplication, corrections, batches, observe, promotion, audit.

use memory_core::{AuditOutcome, Category, ErrorKind, Layer, PageRequest};
use memory_engine::{ListRequest, MemoryInput, Message, RecallRequest};

use crate::support::{contents, engine, who};

#[tokio::test]
async fn the_same_content_twice_is_one_memory_with_more_evidence() {
    let (e, _) = engine("");
    let me = who("u");
    let a = e.remember(&me, "User likes green tea", None).await.unwrap();
    let b = e.remember(&me, "  User likes green tea ", None).await.unwrap();
    assert!(a.created && !b.created);
    assert_eq!(a.id, b.id);
    assert_eq!(e.get(&me, a.id).await.unwrap().stats.evidence_count, 2);
}

#[tokio::test]
async fn a_correction_supersedes_but_stays_retrievable() {
    let (e, _) = engine("[namespaces]\n[[namespaces.policies]]\nname = \"u\"\nread = [\"u\"]\nwrite = [\"u\"]\n");
    let me = who("u");
    let old = e.remember_now(&me, MemoryInput::new(Layer::Semantic, "User lives in Berlin")).await.unwrap();
    let new = e
        .supersede(
            &me,
            old.id,
            MemoryInput::new(Layer::Semantic, "User lives in Munich").category(Category::new("correction").unwrap()),
        )
        .await
        .unwrap();
    let r = e.recall(&me, &RecallRequest::new("where does the user live")).await.unwrap();
    assert_eq!(contents(&r), ["User lives in Munich"]);
    let old_now = e.get(&me, old.id).await.unwrap();
    assert_eq!(old_now.superseded_by, Some(new.id));
    assert_eq!(e.get(&me, new.id).await.unwrap().supersedes, Some(old.id));
    // Superseding something invisible is 404 and writes nothing.
    let other = who("someone-else");
    let before = e.list(&me, &ListRequest::default(), &PageRequest::first(100)).await.unwrap().items.len();
    let err = e.supersede(&other, new.id, MemoryInput::new(Layer::Semantic, "nope")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(e.list(&me, &ListRequest::default(), &PageRequest::first(100)).await.unwrap().items.len(), before);
}

#[tokio::test]
async fn a_bad_input_in_a_batch_writes_nothing() {
    let (e, _) = engine("");
    let me = who("u");
    let batch = vec![
        MemoryInput::new(Layer::Semantic, "one"),
        MemoryInput::new(Layer::Semantic, "   "),
        MemoryInput::new(Layer::Semantic, "three"),
    ];
    let err = e.remember_batch(&me, batch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("input 1"), "{err}");
    let listed = e.list(&me, &ListRequest::default(), &PageRequest::first(10)).await.unwrap();
    assert!(listed.items.is_empty());
    let identity = vec![MemoryInput::new(Layer::Identity, "who")];
    assert_eq!(e.remember_batch(&me, identity).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    let wrong_dim = vec![MemoryInput::new(Layer::Semantic, "x").vector(vec![0.5; 3])];
    assert_eq!(e.remember_batch(&me, wrong_dim).await.unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn observe_turns_messages_into_episodic_memories() {
    let (e, _) = engine("");
    let me = who("u").with_session_key("sess-1");
    let messages = vec![
        Message { role: "user".into(), content: "My flight is on Thursday".into() },
        Message { role: "assistant".into(), content: "".into() },
        Message { role: "assistant".into(), content: "Noted, Thursday it is".into() },
    ];
    let written = e.observe(&me, None, None, messages).await.unwrap();
    assert_eq!(written.len(), 2);
    assert!(written[0].warnings.iter().any(|w| w.contains("1 message")));
    let m = e.get(&me, written[0].id).await.unwrap();
    assert_eq!(m.layer, Layer::Episodic);
    assert_eq!(m.provenance.conversation_id.as_deref(), Some("sess-1"));
    assert_eq!(m.metadata["role"], "user");
    let bad = vec![Message { role: " ".into(), content: "x".into() }];
    assert_eq!(e.observe(&me, None, None, bad).await.unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn writes_outside_the_plan_are_refused_and_audited() {
    let (e, _) = engine("");
    let me = who("u");
    let err = e.remember_now(&me, MemoryInput::new(Layer::Semantic, "x").in_namespace("shared")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    let err = e.remember_now(&me, MemoryInput::new(Layer::Semantic, "x").in_namespace("nowhere")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let op = who("ops").as_operator();
    let log = e.audit_log(&op, Some("shared"), &PageRequest::first(10)).await.unwrap();
    assert!(
        log.items.iter().any(|r| r.outcome == AuditOutcome::Denied && r.principal.as_ref().unwrap().as_str() == "u")
    );
}

#[tokio::test]
async fn promotion_copies_into_shared_with_a_link_and_dedupes() {
    let config = r#"
[namespaces]
[[namespaces.policies]]
name = "shared"
read = ["*"]
write = ["lead"]
"#;
    let (e, _) = engine(config);
    let lead = who("lead");
    let m = e.remember_now(&lead, MemoryInput::new(Layer::Semantic, "The API freeze is on May 3")).await.unwrap();
    let p = e.promote(&lead, m.id, None).await.unwrap();
    assert_eq!(p.namespace.as_str(), "shared");
    assert!(p.created);
    let copy = e.get(&lead, p.id).await.unwrap();
    assert_eq!(copy.promoted_from, Some(m.id));
    let again = e.promote(&lead, m.id, Some("shared")).await.unwrap();
    assert_eq!((again.id, again.created), (p.id, false));
    // Another principal reads shared but may not promote into it.
    let dev = who("dev");
    let mine = e.remember_now(&dev, MemoryInput::new(Layer::Semantic, "dev note")).await.unwrap();
    assert_eq!(e.promote(&dev, mine.id, None).await.unwrap_err().kind(), ErrorKind::Forbidden);
    let r = e.recall(&dev, &RecallRequest::new("API freeze")).await.unwrap();
    assert!(contents(&r).contains(&"The API freeze is on May 3".to_owned()));
}

#[tokio::test]
async fn auto_promotion_follows_the_policy_on_every_write_path() {
    let config = r#"
[namespaces]
auto_promote_to_shared = true
auto_promote_categories = ["decision"]
auto_promote_min_confidence_tier = "implied"
"#;
    let (e, _) = engine(config);
    let me = who("u");
    let decision = MemoryInput::new(Layer::Semantic, "We chose Postgres for the ledger")
        .category(Category::new("decision").unwrap())
        .confidence(memory_core::Confidence::new(0.8).unwrap());
    let w = e.remember_now(&me, decision).await.unwrap();
    assert_eq!(w.promoted.len(), 1, "{w:?}");
    assert_eq!(w.promoted[0].namespace.as_str(), "shared");
    let fact = MemoryInput::new(Layer::Semantic, "The ledger has 3 tables");
    let w = e.remember_batch(&me, vec![fact]).await.unwrap();
    assert!(w[0].promoted.is_empty());
}

/// A repeated write takes the category and confidence it did not state from the memory it
/// repeats; only a stated category can conflict, only a stated confidence can raise it.
#[tokio::test]
async fn a_repeat_adopts_what_it_did_not_state() {
    let (e, _) = engine("");
    let me = who("u");
    let preference = Category::new("preference").unwrap();
    let first = MemoryInput::new(Layer::Semantic, "likes tea")
        .category(preference.clone())
        .confidence(memory_core::Confidence::new(0.6).unwrap());
    let a = e.remember_now(&me, first).await.unwrap();
    let b = e.remember_now(&me, MemoryInput::new(Layer::Semantic, "likes tea")).await.unwrap();
    assert_eq!((b.id, b.created), (a.id, false));
    assert_eq!(b.merged, Some(Default::default()), "nothing stated, nothing merged");
    let stored = e.get(&me, a.id).await.unwrap();
    assert_eq!((stored.category, stored.confidence.value()), (preference, 0.6));
    let surer = MemoryInput::new(Layer::Semantic, "likes tea").confidence(memory_core::Confidence::new(0.9).unwrap());
    let c = e.remember_now(&me, surer).await.unwrap();
    assert_eq!(c.merged.unwrap().confidence.map(|c| c.value()), Some(0.9));
    let other = MemoryInput::new(Layer::Semantic, "likes tea").category(Category::new("rule").unwrap());
    assert_eq!(e.remember_now(&me, other).await.unwrap_err().kind(), ErrorKind::Conflict);
}

/// A memory id the caller may not read is a 404 like a missing one, and the denial is
/// audited in the memory's own namespace (where its writers see who looked).
#[tokio::test]
async fn a_denied_access_by_id_is_audited_in_the_memorys_namespace() {
    let config = "[namespaces]\n[[namespaces.policies]]\nname = \"bob\"\nread = [\"bob\"]\nwrite = [\"bob\"]\n";
    let (e, _) = engine(config);
    let bob = who("bob");
    let id = e.remember(&bob, "bob's secret", None).await.unwrap().id;
    let mallory = who("mallory");
    assert_eq!(e.get(&mallory, id).await.unwrap_err().kind(), ErrorKind::NotFound);
    let missing = memory_core::MemoryId::new_v7();
    assert_eq!(e.get(&mallory, missing).await.unwrap_err().kind(), ErrorKind::NotFound);
    let op = who("op").as_operator();
    let log = e.audit_log(&op, None, &PageRequest::first(100)).await.unwrap().items;
    let denied: Vec<_> = log.iter().filter(|r| r.outcome == AuditOutcome::Denied).collect();
    assert_eq!(denied.len(), 2, "{denied:#?}");
    assert_eq!(denied[0].namespace.as_ref().map(|n| n.as_str()), Some("bob"));
    assert_eq!(denied[1].namespace, None, "a missing memory has no namespace");
    assert_eq!(denied[0].detail["status"], "not_found", "{:?}", denied[0].detail);
    assert!(denied[0].detail["reason"].as_str().is_some_and(|r| r.contains("not found")));
}
