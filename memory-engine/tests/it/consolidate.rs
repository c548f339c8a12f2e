//! Consolidation (SPEC 7, issue 12) through the engine: episodes become semantic and procedural
//! memories through the one write pipeline, twice changes nothing, a correction supersedes,
//! identity is only proposed (approval writes it), auto-promotion follows the policy exactly,
//! and entities stay in their namespace.

use memory_core::{Category, Layer, MemoryFilter, PageRequest, ProposalStatus, TenantId};
use memory_engine::{Caller, ConsolidateRequest, Consolidation, Engine, ListRequest, Message, RecallRequest};

use crate::support::{engine, who};

async fn consolidate(e: &Engine, caller: &Caller, ns: Option<&str>) -> Consolidation {
    let request = ConsolidateRequest { namespace: ns.map(str::to_owned), max_episodes: None };
    e.consolidate(caller, &request, &mut |_| {}).await.unwrap()
}

async fn say(e: &Engine, caller: &Caller, conversation: &str, lines: &[&str]) {
    let messages = lines.iter().map(|l| Message { role: "user".into(), content: (*l).into() }).collect();
    e.observe(caller, Some(conversation), None, messages).await.unwrap();
}

/// Live memories of `layer` in the default namespace, by content.
async fn contents(e: &Engine, caller: &Caller, layer: Layer) -> Vec<String> {
    let request =
        ListRequest { namespaces: vec!["default".into()], layers: Some(vec![layer]), ..ListRequest::default() };
    let mut out: Vec<String> = e
        .list(caller, &request, &PageRequest::first(100))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|m| m.content)
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn episodes_become_durable_memories_and_a_second_run_changes_nothing() {
    let (e, _) = engine("");
    let alice = who("alice");
    say(&e, &alice, "c1", &["I prefer tea over coffee.", "Always answer in French.", "nice weather today"]).await;
    let first = consolidate(&e, &alice, None).await;
    assert_eq!(first.episodes, 3);
    assert_eq!(first.created.len(), 2, "{first:?}");
    let semantic = contents(&e, &alice, Layer::Semantic).await;
    assert!(semantic.iter().any(|c| c.to_lowercase().contains("tea")), "{semantic:?}");
    let procedural = contents(&e, &alice, Layer::Procedural).await;
    assert!(procedural.iter().any(|c| c.to_lowercase().contains("french")), "{procedural:?}");

    // Nothing new: the checkpoint skips the episodes read.
    let second = consolidate(&e, &alice, None).await;
    assert_eq!((second.episodes, second.created.len(), second.evidence.len()), (0, 0, 0), "{second:?}");

    // The same statement again later adds evidence to the memory, never a second one.
    say(&e, &alice, "c2", &["Honestly, I prefer tea over coffee."]).await;
    let third = consolidate(&e, &alice, None).await;
    assert!(third.created.is_empty(), "{third:?}");
    assert_eq!(third.evidence.len(), 1, "{third:?}");
    assert_eq!(contents(&e, &alice, Layer::Semantic).await, semantic);
    let id = third.evidence[0];
    let m = e.get(&alice, id).await.unwrap();
    assert_eq!(m.stats.evidence_count, 2);
    let sources = m.metadata["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 2, "both episodes are its sources: {m:?}");
}

#[tokio::test]
async fn a_correction_supersedes_and_the_old_memory_stays_in_history() {
    let (e, _) = engine("");
    let alice = who("alice");
    say(&e, &alice, "c1", &["My favourite drink is coffee."]).await;
    let first = consolidate(&e, &alice, None).await;
    assert_eq!(first.created.len(), 1, "{first:?}");
    let old = first.created[0];

    say(&e, &alice, "c2", &["Actually, my favourite drink is tea."]).await;
    let second = consolidate(&e, &alice, None).await;
    assert_eq!(second.superseded.len(), 1, "{second:?}");
    let (was, now) = second.superseded[0];
    assert_eq!(was, old);
    let old_memory = e.get(&alice, old).await.unwrap();
    assert_eq!(old_memory.superseded_by, Some(now), "the old one stays retrievable by id, superseded");
    let recall = e.recall(&alice, &RecallRequest::new("favourite drink")).await.unwrap();
    let recalled: Vec<&str> = recall.memories.iter().map(|r| r.memory.content.as_str()).collect();
    assert!(recalled.iter().any(|c| c.contains("tea")), "{recalled:?}");
    assert!(!recall.memories.iter().any(|r| r.memory.id == old), "a superseded memory is not recalled");
}

#[tokio::test]
async fn identity_is_only_proposed_and_approval_writes_it_through_the_pipeline() {
    let (e, _) = engine("");
    let alice = who("alice");
    say(&e, &alice, "c1", &["My name is Dana Whitfield."]).await;
    let run = consolidate(&e, &alice, None).await;
    assert_eq!(run.proposed.len(), 1, "{run:?}");
    assert!(contents(&e, &alice, Layer::Identity).await.is_empty(), "consolidation never writes identity");

    // Consolidating the same statement again proposes nothing new.
    say(&e, &alice, "c2", &["My name is Dana Whitfield."]).await;
    let again = consolidate(&e, &alice, None).await;
    assert!(again.proposed.is_empty(), "{again:?}");

    let pending = e.proposals(&alice, None, Some(ProposalStatus::Pending), &PageRequest::first(10)).await.unwrap();
    assert_eq!(pending.items.len(), 1);
    let (decided, id) = e.approve_proposal(&alice, pending.items[0].id).await.unwrap();
    assert_eq!(decided.status, ProposalStatus::Approved);
    let identity = e.get(&alice, id).await.unwrap();
    assert_eq!(identity.layer, Layer::Identity);
    assert!(identity.content.contains("Dana"), "{identity:?}");
    let err = e.approve_proposal(&alice, decided.id).await.unwrap_err();
    assert_eq!(err.kind(), memory_core::ErrorKind::Conflict);

    // Audited: the proposal, the write and the decision.
    let audit = e.audit_log(&alice, Some("default"), &PageRequest::first(100)).await.unwrap();
    for op in ["proposal.create", "proposal.approve", "proposal.decide"] {
        assert!(audit.items.iter().any(|r| r.operation == op), "{op} audited");
    }
}

#[tokio::test]
async fn a_rejected_proposal_writes_nothing_and_strangers_cannot_see_it() {
    let config = "[namespaces]\nenabled = true\n\n[[namespaces.policies]]\nname = \"alice\"\nread = [\"alice\"]\nwrite = [\"alice\"]\n";
    let (e, _) = engine(config);
    let alice = who("alice");
    say(&e, &alice, "c1", &["My name is Dana Whitfield."]).await;
    let run = consolidate(&e, &alice, Some("alice")).await;
    assert_eq!(run.proposed.len(), 1, "{run:?}");
    let id = run.proposed[0];

    let bob = who("bob");
    let err = e.reject_proposal(&bob, id).await.unwrap_err();
    assert_eq!(err.kind(), memory_core::ErrorKind::NotFound, "another principal's proposal is 404");
    assert!(e.proposals(&bob, None, None, &PageRequest::first(10)).await.unwrap().items.is_empty());

    let rejected = e.reject_proposal(&alice, id).await.unwrap();
    assert_eq!(rejected.status, ProposalStatus::Rejected);
    let mut filter = MemoryFilter::all();
    filter.layers = Some(vec![Layer::Identity]);
    assert_eq!(e.store().count_memories(&TenantId::default_tenant(), &filter).await.unwrap(), 0);
}

#[tokio::test]
async fn auto_promotion_of_consolidated_memories_follows_the_policy_exactly() {
    // Preferences and facts are promoted at the implied tier and above; rules never.
    let config = "[namespaces]\nenabled = true\nauto_promote_to_shared = true\n\
                  auto_promote_categories = [\"preference\", \"fact\"]\nauto_promote_min_confidence_tier = \"implied\"\n\n\
                  [[namespaces.policies]]\nname = \"shared\"\nread = [\"*\"]\nwrite = [\"*\"]\n\n\
                  [[namespaces.policies]]\nname = \"alice\"\nread = [\"alice\"]\nwrite = [\"alice\"]\n";
    let (e, _) = engine(config);
    let alice = who("alice");
    say(
        &e,
        &alice,
        "c1",
        &["I prefer tea over coffee.", "I think I like jazz.", "Always answer in French.", "I have a dog named Rex."],
    )
    .await;
    let run = consolidate(&e, &alice, Some("alice")).await;
    assert!(run.created.len() >= 3, "{run:?}");
    let mut expected = Vec::new();
    let policy = e.policy();
    for id in &run.created {
        let m = e.get(&alice, *id).await.unwrap();
        let request = memory_policy::PlanRequest {
            caller: alice.identity.clone(),
            project: None,
            read: memory_policy::ReadRequest::Default,
            write: Some("alice".into()),
            include_sensitive: false,
        };
        let catalog = memory_policy::ConfiguredCatalog::new(policy);
        let decision = policy.auto_promotion(&request, &catalog, &m.namespace, &m.category, m.confidence);
        if !decision.targets.is_empty() {
            expected.push(m.content.clone());
        }
        if m.category == Category::new("rule").unwrap() {
            assert!(decision.targets.is_empty(), "rules are not in the allow-list");
        }
    }
    let promoted: Vec<String> = {
        let mut out = Vec::new();
        for p in &run.promoted {
            out.push(e.get(&alice, p.id).await.unwrap().content);
        }
        out
    };
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    let mut promoted_sorted = promoted.clone();
    promoted_sorted.sort();
    assert_eq!(promoted_sorted, expected_sorted, "promoted exactly what the policy decides");
    assert!(!promoted.is_empty(), "the preference is promoted");
}

#[tokio::test]
async fn entities_are_linked_per_namespace_and_boost_recall() {
    let config = "[namespaces]\nenabled = true\n\n[[namespaces.policies]]\nname = \"alice\"\nread = [\"alice\"]\nwrite = [\"alice\"]\n\n\
                  [[namespaces.policies]]\nname = \"bob\"\nread = [\"bob\"]\nwrite = [\"bob\"]\n";
    let (e, _) = engine(config);
    let (alice, bob) = (who("alice"), who("bob"));
    e.observe(
        &alice,
        Some("c1"),
        Some("alice"),
        vec![Message { role: "user".into(), content: "I met my friend Priya in Lisbon last week.".into() }],
    )
    .await
    .unwrap();
    e.observe(
        &bob,
        Some("c2"),
        Some("bob"),
        vec![Message { role: "user".into(), content: "Priya joined Acme Corp as a designer.".into() }],
    )
    .await
    .unwrap();
    consolidate(&e, &alice, Some("alice")).await;
    consolidate(&e, &bob, Some("bob")).await;

    let mine = e.entities(&alice, None, None, None, &PageRequest::first(100)).await.unwrap();
    assert!(mine.items.iter().any(|x| x.name == "Priya"), "{mine:?}");
    assert!(mine.items.iter().all(|x| x.namespace.as_str() == "alice"), "only alice's namespace: {mine:?}");
    let priya = mine.items.iter().find(|x| x.name == "Priya").unwrap();
    let linked = e.entity(&alice, priya.id, &PageRequest::first(10)).await.unwrap();
    assert!(linked.memories.iter().all(|m| m.namespace.as_str() == "alice"));
    assert!(!linked.memories.is_empty());
    let err = e.entity(&bob, priya.id, &PageRequest::first(10)).await.unwrap_err();
    assert_eq!(err.kind(), memory_core::ErrorKind::NotFound, "another namespace's entity is 404");
    let err = e.entities(&bob, Some("alice"), None, None, &PageRequest::first(10)).await.unwrap_err();
    assert_eq!(err.kind(), memory_core::ErrorKind::Forbidden);

    let mut request = RecallRequest::new("What did Priya do?");
    request.explain = true;
    let recall = e.recall(&alice, &request).await.unwrap();
    let boosted = recall.memories.iter().filter_map(|r| r.explain.as_ref()).any(|x| x.entity_factor > 1.0);
    assert!(boosted, "a memory linked to Priya is boosted: {recall:?}");
}
