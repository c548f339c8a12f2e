//! The examples of seeds/000 (namespaces) and seeds/003 (memory layers), through the Rust API.

use memory_core::{Confidence, ErrorKind, Layer, Outcome, Timestamp};
use memory_engine::{MemoryInput, RecallOutcome, RecallRequest};

use crate::support::{contents, engine, who};

const ISOLATION: &str = r#"
[namespaces]
[[namespaces.policies]]
name = "alice"
read = ["alice"]
write = ["alice"]
[[namespaces.policies]]
name = "bob"
read = ["bob"]
write = ["bob"]
[[namespaces.policies]]
name = "team_alpha"
read = ["research-agent", "writing-agent"]
write = ["research-agent", "writing-agent"]
"#;

#[tokio::test]
async fn per_user_isolation_alice_never_sees_bobs_go() {
    let (e, _) = engine(ISOLATION);
    let (alice, bob) = (who("alice"), who("bob"));
    let a = e.remember(&alice, "Alice prefers Python", Some("a1")).await.unwrap();
    let b = e.remember(&bob, "Bob prefers Go", Some("b1")).await.unwrap();
    assert_eq!(a.namespace.as_str(), "alice");
    assert_eq!(b.namespace.as_str(), "bob");
    let r = e.recall(&alice, &RecallRequest::new("language preference")).await.unwrap();
    assert!(!contents(&r).iter().any(|c| c.contains("Go")), "{:?}", contents(&r));
    assert!(contents(&r).iter().any(|c| c.contains("Python")));
    let r = e.recall(&bob, &RecallRequest::new("language preference")).await.unwrap();
    assert_eq!(contents(&r), ["Bob prefers Go"]);
    // Naming the other's namespace is refused, and ids leak nothing.
    let mut req = RecallRequest::new("language");
    req.namespaces = vec!["bob".into()];
    assert_eq!(e.recall(&alice, &req).await.unwrap_err().kind(), ErrorKind::Forbidden);
    assert_eq!(e.get(&alice, b.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(e.forget(&alice, b.id).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn agents_share_one_namespace() {
    let (e, _) = engine(ISOLATION);
    let research = who("research-agent");
    let writing = who("writing-agent");
    let w = MemoryInput::new(Layer::Semantic, "GPT-4 outperforms on math by 12%").in_namespace("team_alpha");
    e.remember_now(&research, w).await.unwrap();
    let mut req = RecallRequest::new("GPT-4 performance");
    req.namespaces = vec!["team_alpha".into()];
    let r = e.recall(&writing, &req).await.unwrap();
    assert_eq!(r.outcome, RecallOutcome::Ok);
    assert_eq!(contents(&r)[0], "GPT-4 outperforms on math by 12%");
    // Someone outside the team cannot read it.
    assert_eq!(e.recall(&who("alice"), &req).await.unwrap_err().kind(), ErrorKind::Forbidden);
}

#[tokio::test]
async fn identity_and_procedural_are_pinned_first_whatever_the_query() {
    let (e, _) = engine("");
    let me = who("ashwani");
    let identity = MemoryInput::new(Layer::Identity, "User is Ashwani Jha, a senior engineer based in Dubai")
        .confidence(Confidence::new(1.0).unwrap());
    e.remember_now(&me, identity).await.unwrap();
    let rule = MemoryInput::new(Layer::Procedural, "Always ask about the user's deadline before suggesting a solution");
    e.remember_now(&me, rule).await.unwrap();
    let fact = MemoryInput::new(Layer::Semantic, "User is a Python developer, prefers FastAPI over Flask")
        .confidence(Confidence::new(0.9).unwrap());
    e.remember_now(&me, fact).await.unwrap();
    e.remember(&me, "User mentioned their flight departs Thursday at 06:00", Some("session_42")).await.unwrap();

    let mut req = RecallRequest::new("Python web framework");
    req.explain = true;
    let r = e.recall(&me, &req).await.unwrap();
    let got = contents(&r);
    assert_eq!(got[0], "User is Ashwani Jha, a senior engineer based in Dubai");
    assert_eq!(got[1], "Always ask about the user's deadline before suggesting a solution");
    assert_eq!(got[2], "User is a Python developer, prefers FastAPI over Flask");
    assert!(r.memories[0].pinned && r.memories[1].pinned && !r.memories[2].pinned);
    let why = r.memories[0].explain.as_ref().unwrap().pinned_reason.as_ref().unwrap();
    assert!(why.contains("identity"), "{why}");
    let ex = r.memories[2].explain.as_ref().unwrap();
    assert!(ex.pinned_reason.is_none() && ex.relevance > 0.0 && ex.score > 0.0);

    // Only semantic: procedural stays, identity goes.
    let mut req = RecallRequest::new("Python web framework");
    req.layers = Some(vec![Layer::Semantic]);
    let got = contents(&e.recall(&me, &req).await.unwrap());
    assert_eq!(
        got,
        [
            "Always ask about the user's deadline before suggesting a solution",
            "User is a Python developer, prefers FastAPI over Flask"
        ]
    );
    // Identity only: identity and procedural, no ranked results.
    let mut req = RecallRequest::new("who is this user?");
    req.layers = Some(vec![Layer::Identity]);
    let got = contents(&e.recall(&me, &req).await.unwrap());
    assert_eq!(got.len(), 2, "{got:?}");
}

#[tokio::test]
async fn working_memories_expire() {
    let (e, clock) = engine("");
    let me = who("u");
    let in_two_hours = e.now().plus_micros(2 * 3_600_000_000);
    let w = MemoryInput::new(Layer::Working, "User is currently in a meeting until 3pm").expires_at(in_two_hours);
    let written = e.remember_now(&me, w).await.unwrap();
    let r = e.recall(&me, &RecallRequest::new("is the user in a meeting")).await.unwrap();
    assert_eq!(contents(&r), ["User is currently in a meeting until 3pm"]);
    clock.advance_micros(2 * 3_600_000_000);
    let r = e.recall(&me, &RecallRequest::new("is the user in a meeting")).await.unwrap();
    assert_eq!(r.outcome, RecallOutcome::Empty);
    assert_eq!(e.get(&me, written.id).await.unwrap_err().kind(), ErrorKind::NotFound);
    // A working memory needs a future expiry; other layers take none.
    let past = MemoryInput::new(Layer::Working, "stale").expires_at(e.now());
    assert_eq!(e.remember_now(&me, past).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    let none = MemoryInput::new(Layer::Working, "no expiry");
    assert_eq!(e.remember_now(&me, none).await.unwrap_err().kind(), ErrorKind::InvalidInput);
    let semantic = MemoryInput::new(Layer::Semantic, "fact").expires_at(in_two_hours.plus_days(1));
    assert_eq!(e.remember_now(&me, semantic).await.unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn old_episodic_memories_fade() {
    let (e, clock) = engine("");
    let me = who("u");
    e.remember(&me, "The user's flight to Lisbon departs Thursday", None).await.unwrap();
    clock.advance_days(60);
    e.remember(&me, "The user's flight to Porto departs Friday", None).await.unwrap();
    let mut req = RecallRequest::new("user's flight departs");
    req.explain = true;
    let r = e.recall(&me, &req).await.unwrap();
    assert_eq!(contents(&r)[0], "The user's flight to Porto departs Friday");
    let old = r.memories.iter().find(|m| m.memory.content.contains("Lisbon")).unwrap();
    let recency = old.explain.as_ref().unwrap().recency;
    // Two half-lives: the decaying part is a quarter of itself, above the floor.
    let expected = memory_engine::RECENCY_FLOOR + (1.0 - memory_engine::RECENCY_FLOOR) * 0.25;
    assert!((recency - expected).abs() < 1e-3, "two half-lives: {recency}");
}

#[tokio::test]
async fn a_time_the_query_names_lifts_what_was_said_then() {
    let (e, clock) = engine("");
    let me = who("u");
    // Tuesday 2026-03-10: last week, seen from Wednesday 2026-03-18.
    clock.set(Timestamp::parse_rfc3339("2026-03-10T09:00:00Z").unwrap());
    e.remember(&me, "We decided to take the night train to Vienna", None).await.unwrap();
    // Monday 2026-03-16: this week, and newer.
    clock.set(Timestamp::parse_rfc3339("2026-03-16T09:00:00Z").unwrap());
    e.remember(&me, "We decided to take the morning bus to Graz", None).await.unwrap();
    clock.set(Timestamp::parse_rfc3339("2026-03-18T10:00:00Z").unwrap());
    let mut asked = RecallRequest::new("What did we decide last week?");
    asked.explain = true;
    let r = e.recall(&me, &asked).await.unwrap();
    assert_eq!(contents(&r)[0], "We decided to take the night train to Vienna", "{:?}", contents(&r));
    let factor = |r: &memory_engine::Recall, text: &str| {
        r.memories.iter().find(|m| m.memory.content.contains(text)).unwrap().explain.as_ref().unwrap().time_factor
    };
    assert_eq!(factor(&r, "Vienna"), 1.0 + memory_engine::TIME_BOOST, "made last week");
    assert_eq!(factor(&r, "Graz"), 1.0, "made this week");
    // Without time words nothing is lifted.
    let mut plain = RecallRequest::new("What did we decide?");
    plain.explain = true;
    let r = e.recall(&me, &plain).await.unwrap();
    assert_eq!((factor(&r, "Vienna"), factor(&r, "Graz")), (1.0, 1.0));
}

#[tokio::test]
async fn outcomes_change_rank_order() {
    let (e, _) = engine("");
    let me = who("u");
    let a = e
        .remember_now(&me, MemoryInput::new(Layer::Semantic, "Deploys go through the staging cluster first"))
        .await
        .unwrap();
    let b = e
        .remember_now(&me, MemoryInput::new(Layer::Semantic, "Deploys are announced in the team channel"))
        .await
        .unwrap();
    let before = contents(&e.recall(&me, &RecallRequest::new("how do deploys work")).await.unwrap());
    let (first, second) = if before[0].contains("staging") { (a.id, b.id) } else { (b.id, a.id) };
    for _ in 0..5 {
        e.report_outcome(&me, &[second], Outcome::Helpful).await.unwrap();
        e.report_outcome(&me, &[first], Outcome::Unhelpful).await.unwrap();
    }
    let after = e.recall(&me, &RecallRequest::new("how do deploys work")).await.unwrap();
    assert_eq!(after.memories[0].memory.id, second, "{before:?} then {:?}", contents(&after));
    assert_eq!(
        e.report_outcome(&me, &[first], Outcome::Reward(2.0)).await.unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}
