//! The rule extractor, statement by statement.

use expect_test::{Expect, expect};
use memory_consolidate::{Candidate, CandidateKind, Episode, Extractor, RuleExtractor};
use memory_core::{MemoryId, Timestamp};

/// Monday 2026-12-07, 10:00 UTC: relative dates below resolve against it.
const MONDAY: &str = "2026-12-07T10:00:00Z";

fn episodes(messages: &[(&str, &str)]) -> Vec<Episode> {
    let start = Timestamp::parse_rfc3339(MONDAY).unwrap();
    messages
        .iter()
        .enumerate()
        .map(|(i, (role, content))| Episode {
            id: MemoryId::new_v7(),
            conversation: Some("c1".to_owned()),
            role: (!role.is_empty()).then(|| (*role).to_owned()),
            content: (*content).to_owned(),
            at: start.plus_micros(i as i64 * 60_000_000),
        })
        .collect()
}

fn extract(episodes: &[Episode]) -> Vec<Candidate> {
    RuleExtractor::new().extract(episodes).expect("the rule extractor never fails")
}

fn show(candidates: &[Candidate]) -> String {
    candidates
        .iter()
        .map(|c| {
            format!("{} {:.2} [{}] {}\n", c.kind, c.confidence.value(), c.slot.as_deref().unwrap_or("-"), c.content)
        })
        .collect()
}

/// Every message from the user.
fn check(messages: &[&str], expected: Expect) {
    let messages: Vec<(&str, &str)> = messages.iter().map(|m| ("user", *m)).collect();
    check_roles(&messages, expected);
}

fn check_roles(messages: &[(&str, &str)], expected: Expect) {
    let eps = episodes(messages);
    let candidates = extract(&eps);
    for c in &candidates {
        assert!(!c.sources.is_empty() && c.sources.iter().all(|s| eps.iter().any(|e| &e.id == s)), "{c:?}");
        assert_eq!(c.content, c.content.trim());
        assert!(!c.content.is_empty());
        let latest = eps.iter().filter(|e| c.sources.contains(&e.id)).map(|e| e.at).max().unwrap();
        assert_eq!(c.at, latest, "at is the latest source time");
    }
    expected.assert_eq(&show(&candidates));
}

#[test]
fn name_is_rules() {
    assert_eq!(RuleExtractor::new().name(), "rules");
    assert_eq!(RuleExtractor::default().name(), "rules");
}

#[test]
fn preferences() {
    check(
        &["I love hiking and swimming", "i hate cilantro lol", "I prefer tea over coffee"],
        expect![[r#"
        preference 0.95 [preference:hiking swimming] User loves hiking and swimming
        preference 0.95 [preference:cilantro] User hates cilantro
        preference 0.95 [preference:tea] User prefers tea over coffee
    "#]],
    );
    check(
        &["I really don't like horror movies", "I can't stand loud restaurants", "My favourite drink is coffee"],
        expect![[r#"
        preference 0.95 [preference:horror movies] User doesn't like horror movies
        preference 0.95 [preference:loud restaurants] User can't stand loud restaurants
        preference 0.95 [favourite:drink] User's favourite drink is coffee
    "#]],
    );
    check(
        &["Blue is my favorite color.", "I'm a huge fan of jazz", "I'd rather read a book"],
        expect![[r#"
        preference 0.95 [favourite:color] User's favourite color is Blue
        preference 0.95 [preference:jazz] User is a fan of jazz
        preference 0.95 [preference:read book] User would rather read a book
    "#]],
    );
}

#[test]
fn vague_or_transient_likes_are_not_preferences() {
    check(
        &["I love it!", "I'd like to book a table", "I like how you did that", "I love that idea", "do you like tea?"],
        expect![[""]],
    );
}

#[test]
fn identity() {
    check(
        &["Hi, I'm Dana.", "My name is Dana Whitfield", "call me Dee"],
        expect![[r#"
        identity 0.95 [name] User's name is Dana
        identity 0.95 [name] User's name is Dana Whitfield
        identity 0.95 [name] User goes by Dee
    "#]],
    );
    check(
        &["I'm a software engineer at Acme Corp", "I work as a nurse", "I work at Google"],
        expect![[r#"
        identity 0.95 [job] User is a software engineer at Acme Corp
        identity 0.95 [job] User works as a nurse
        identity 0.95 [employer] User works at Google
    "#]],
    );
    check(
        &["I live in Lisbon", "I'm originally from Porto", "I'm 34 and I grew up in Leeds"],
        expect![[r#"
        identity 0.95 [home] User lives in Lisbon
        identity 0.95 [origin] User is from Porto
        identity 0.95 [age] User is 34 years old
        identity 0.95 [origin] User grew up in Leeds
    "#]],
    );
}

#[test]
fn plans_resolve_relative_dates() {
    check(
        &["I'm flying to Lisbon next Friday", "I'm going to the dentist tomorrow at 9:30"],
        expect![[r#"
        plan 0.95 [plan:flying lisbon] User is flying to Lisbon on 2026-12-11
        plan 0.95 [plan:dentist] User is going to the dentist on 2026-12-08 at 09:30
    "#]],
    );
    check(
        &["Next week I'm starting a new job", "I'll visit my parents in 3 days", "I have a job interview on Thursday"],
        expect![[r#"
        plan 0.95 [plan:starting job] User is starting a new job in the week of 2026-12-14
        plan 0.95 [plan:visit parents] User will visit their parents on 2026-12-10
        plan 0.95 [plan:job interview] User has a job interview on 2026-12-10
    "#]],
    );
    check(
        &["maybe I'll go climbing this weekend", "I plan to learn Japanese", "My exam is in two weeks"],
        expect![[r#"
        plan 0.75 [plan:climbing] User will go climbing on the weekend of 2026-12-12
        plan 0.95 [plan:learn japanese] User plans to learn Japanese
        plan 0.95 [plan:exam] User's exam is on 2026-12-21
    "#]],
    );
}

#[test]
fn passing_remarks_are_not_plans() {
    check(
        &[
            "I'll think about it",
            "ok I'll call them",
            "I'm going to be honest",
            "I'll be right back",
            "I'm thinking about it",
        ],
        expect![[""]],
    );
}

#[test]
fn decisions() {
    check(
        &["We decided to use Postgres for billing.", "Let's go with the blue logo", "I've decided to quit my job"],
        expect![[r#"
        decision 0.95 [decision:use postgres billing] User and others decided to use Postgres for billing
        decision 0.95 [decision:blue logo] User decided to go with the blue logo
        decision 0.95 [decision:quit job] User decided to quit their job
    "#]],
    );
    check(
        &["OK we decided: SQLite it is.", "We're going with Vercel for hosting"],
        expect![[r#"
        decision 0.95 [decision:sqlite] User and others decided on SQLite
        decision 0.95 [decision:vercel hosting] User and others are going with Vercel for hosting
    "#]],
    );
}

#[test]
fn facts() {
    check(
        &["I have a dog named Rex", "my sister lives in Paris", "I'm allergic to peanuts"],
        expect![[r#"
        fact 0.95 [has:dog] User has a dog named Rex
        fact 0.95 [sister:live] User's sister lives in Paris
        fact 0.95 [allergy:peanuts] User is allergic to peanuts
    "#]],
    );
    check(
        &["I'm vegetarian", "I speak French and German", "I have two kids", "I run 5 days a week"],
        expect![[r#"
        fact 0.95 [diet] User is vegetarian
        fact 0.95 [languages] User speaks French and German
        fact 0.95 [has:two kids] User has two kids
        fact 0.95 [habit:run] User runs 5 days a week
    "#]],
    );
    check(
        &["My dog Biscuit chews everything", "my wife Priya is a doctor", "I don't own a car"],
        expect![[r#"
        fact 0.95 [dog:name] User has a dog named Biscuit
        fact 0.95 [wife:is a] User's wife Priya is a doctor
        fact 0.95 [has:car] User doesn't own a car
    "#]],
    );
}

#[test]
fn rules_for_the_agent() {
    check(
        &["Always answer in French.", "never use emojis", "From now on, reply in Spanish please"],
        expect![[r#"
        rule 0.95 [rule:answer in french] Rule: always answer in French
        rule 0.95 [rule:use emojis] Rule: never use emojis
        rule 0.95 [rule:reply in spanish] Rule: always reply in Spanish
    "#]],
    );
    check(
        &[
            "Please don't use bullet points in your answers.",
            "Stop apologizing so much",
            "Whenever I ask for a summary, give me three bullet points.",
        ],
        expect![[r#"
        rule 0.95 [rule:use bullet points in your answers] Rule: do not use bullet points in your answers
        rule 0.95 [rule:apologizing so much] Rule: stop apologizing so much
        rule 0.95 [rule:whenever user asks for summary give user three] Rule: whenever the user asks for a summary, give the user three bullet points
    "#]],
    );
    check(&["Don't worry about it", "never mind", "Give me a recipe for soup", "can you write a poem?"], expect![[""]]);
}

#[test]
fn corrections_restate_the_latest_candidate() {
    check(
        &["My favourite drink is coffee", "Actually, it's tea"],
        expect![[r#"
        preference 0.95 [favourite:drink] User's favourite drink is coffee
        correction 0.95 [favourite:drink] User's favourite drink is tea
    "#]],
    );
    check(
        &["I'm meeting Jonas for lunch on Wednesday", "Oh wait, it's Thursday not Wednesday"],
        expect![[r#"
        plan 0.95 [plan:meeting jonas lunch] User is meeting Jonas for lunch on 2026-12-09
        correction 0.95 [plan:meeting jonas lunch] User is meeting Jonas for lunch on 2026-12-10
    "#]],
    );
    check(
        &["We're going with Vercel for hosting.", "Correction: we're going with Netlify."],
        expect![[r#"
        decision 0.95 [decision:vercel hosting] User and others are going with Vercel for hosting
        correction 0.95 [decision:vercel hosting] User and others are going with Netlify
    "#]],
    );
    check(
        &["my favorite food is sushi", "no wait, ramen"],
        expect![[r#"
        preference 0.95 [favourite:food] User's favourite food is sushi
        correction 0.95 [favourite:food] User's favourite food is ramen
    "#]],
    );
}

#[test]
fn a_correction_keeps_the_slot_of_what_it_corrects() {
    let eps = episodes(&[("user", "My favourite drink is coffee"), ("user", "Actually, it's tea")]);
    let c = extract(&eps);
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(c[1].kind, CandidateKind::Correction);
    assert_eq!(c[1].content, "User's favourite drink is tea");
    assert_eq!(c[1].slot, c[0].slot);
    assert!(c[0].slot.is_some());
    assert_eq!(c[1].sources, vec![eps[0].id, eps[1].id]);
    assert_eq!(c[1].confidence.value(), 0.95);
}

#[test]
fn a_no_that_answers_the_assistant_corrects_nothing() {
    check_roles(
        &[("user", "I love tea"), ("assistant", "Do you live in Toronto?"), ("user", "No, Montreal.")],
        expect![[r#"
            preference 0.95 [preference:tea] User loves tea
        "#]],
    );
    // An explicit marker still corrects, question or not.
    check_roles(
        &[("user", "My favourite drink is coffee"), ("assistant", "Hot or iced?"), ("user", "Correction: it's tea")],
        expect![[r#"
            preference 0.95 [favourite:drink] User's favourite drink is coffee
            correction 0.95 [favourite:drink] User's favourite drink is tea
        "#]],
    );
}

#[test]
fn corrections_stay_in_their_conversation() {
    let mut eps = episodes(&[("user", "My favourite drink is coffee"), ("user", "Actually, it's tea")]);
    eps[1].conversation = Some("another".to_owned());
    let c = extract(&eps);
    assert_eq!(show(&c), "preference 0.95 [favourite:drink] User's favourite drink is coffee\n");
}

#[test]
fn hedged_statements_are_implied() {
    check(
        &["I think I prefer shorter answers", "probably going hiking on Sunday", "I might move to Oslo next year"],
        expect![[r#"
        preference 0.75 [preference:shorter answers] User prefers shorter answers
        plan 0.75 [plan:hiking] User is going hiking on 2026-12-13
        plan 0.75 [plan:move oslo] User might move to Oslo in 2027
    "#]],
    );
}

#[test]
fn only_the_users_messages_are_read() {
    check_roles(
        &[
            ("assistant", "I love geography! My favourite city is Sydney."),
            ("system", "Always answer in JSON."),
            ("", "I love tea"),
        ],
        expect![[r#"
            preference 0.95 [preference:tea] User loves tea
        "#]],
    );
}

#[test]
fn restatements_merge_into_one_candidate_with_every_source() {
    let eps = episodes(&[("user", "I love tea"), ("user", "I love tea!")]);
    let c = extract(&eps);
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].sources.len(), 2);
    assert_eq!(c[0].at, eps[1].at);
}

#[test]
fn same_slot_different_content_contradicts() {
    let eps = episodes(&[("user", "I live in Lisbon"), ("user", "I live in Berlin now")]);
    let c = extract(&eps);
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!(c[0].slot, c[1].slot);
    assert_ne!(c[0].content, c[1].content);
}

#[test]
fn episodes_out_of_order_are_read_in_time_order() {
    let mut eps = episodes(&[("user", "My favourite drink is coffee"), ("user", "Actually, it's tea")]);
    eps.swap(0, 1);
    let c = extract(&eps);
    assert_eq!(c.last().map(|c| c.kind), Some(CandidateKind::Correction));
}

/// A large batch (the fixtures' user messages many times over, in many conversations) reads
/// the same twice and keeps the contract. Nothing here is timed: throughput is measured by a
/// bench, not by tests.
#[test]
fn a_large_batch_is_deterministic_and_keeps_the_contract() {
    let lines = [
        "I love tea",
        "I'm flying to Lisbon next Friday",
        "Actually, it's Thursday",
        "my sister lives in Paris",
        "From now on answer in French",
        "ok thanks",
    ];
    let start = Timestamp::parse_rfc3339(MONDAY).unwrap();
    let eps: Vec<Episode> = (0..6_000)
        .map(|i| Episode {
            id: MemoryId::new_v7(),
            conversation: Some(format!("c{}", i / 6)),
            role: Some(if i % 7 == 3 { "assistant" } else { "user" }.to_owned()),
            content: lines[i % lines.len()].to_owned(),
            at: start.plus_micros(i as i64 * 1_000_000),
        })
        .collect();
    let first = extract(&eps);
    let second = extract(&eps);
    assert_eq!(first, second);
    assert!(!first.is_empty());
    for c in &first {
        assert!(!c.sources.is_empty());
        assert!(c.content.len() <= memory_core::MAX_CONTENT_BYTES);
        let mut unique = c.sources.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), c.sources.len(), "no source twice");
    }
}

/// Random word soups over the words the patterns look for (and some that break them): no
/// input may panic. A fixed seed keeps it deterministic.
#[test]
fn random_word_soup_never_panics() {
    const WORDS: &[&str] = &[
        "I",
        "I'm",
        "i",
        "my",
        "we",
        "we're",
        "let's",
        "actually,",
        "no,",
        "wait",
        "it's",
        "not",
        "always",
        "never",
        "from",
        "now",
        "on",
        "please",
        "don't",
        "favourite",
        "is",
        "are",
        "a",
        "an",
        "the",
        "love",
        "hate",
        "prefer",
        "tea",
        "Dana",
        "Lisbon",
        "next",
        "Friday",
        "tomorrow",
        "at",
        "6pm",
        "in",
        "3",
        "days",
        "week",
        "have",
        "dog",
        "named",
        "Rex",
        "sister",
        "lives",
        "decided",
        "to",
        "go",
        "with",
        "call",
        "me",
        "name",
        "'s",
        ",",
        ".",
        "?",
        "!",
        ":",
        "—",
        "(",
        ")",
        "🙂",
        "é",
        "ß",
        "中文",
        "\u{200b}",
        "12:30",
        "99:99",
        "am",
        "pm",
        "work",
        "as",
        "at",
        "Acme",
        "Corp",
        "when",
        "you",
        "whenever",
        "stop",
        "using",
        "going",
        "will",
        "I'll",
        "might",
        "moved",
        "been",
        "learning",
        "my",
        "exam",
        "due",
        "got",
        "laid",
        "off",
        "on",
        "time",
        "than",
        "over",
    ];
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2_000 {
        let len = (next() % 30) as usize;
        let text: Vec<&str> = (0..len).map(|_| WORDS[(next() % WORDS.len() as u64) as usize]).collect();
        let joined = text.join(if next() % 5 == 0 { "" } else { " " });
        let eps = episodes(&[("user", joined.as_str()), ("user", "actually, it's tea"), ("user", joined.as_str())]);
        for c in extract(&eps) {
            assert!(!c.content.is_empty() && c.content == c.content.trim(), "{joined:?} gave {c:?}");
        }
        let _ = memory_consolidate::extract_entities(&joined);
    }
}

#[test]
fn odd_input_never_panics() {
    let odd = [
        "",
        " ",
        "\n\n\t",
        "🙂",
        "I",
        "I'm",
        "my",
        "my favourite",
        "my favourite is",
        "actually",
        "actually,",
        "no, it's",
        "I'm a",
        "I have a",
        "call me",
        "always",
        "from now on",
        "at",
        "at 99:99pm",
        "in 99999999999 days",
        "next",
        "I'll",
        "let's go with",
        "we decided:",
        "it is",
        "'s 's ’s",
        "I ’m ’ll",
        "Ünïcödé: ich heiße Jürgen, 我喜欢茶, أنا أحب الشاي",
        "I love 😀😀😀",
        "I love\u{0}tea",
        "I'm flying to Lisbon next Friday at 25:61",
        "My exam is in 1000 years",
        "...!!!???",
        "I, I, I, my, my, we, let us",
    ];
    for text in odd {
        let eps = episodes(&[("user", text), ("user", "actually, it's tea"), ("user", text)]);
        let _ = extract(&eps);
    }
    let huge = "I love tea and I'm flying to Lisbon next Friday, actually it's Thursday. ".repeat(5_000);
    let no_punctuation = "i love tea ".repeat(20_000);
    // Long sentences of many clauses: nothing may scan the whole sentence per clause.
    let commas = "always, ".repeat(40_000);
    let whens = "when you write, ".repeat(10_000);
    let wants = "i want you to always ".repeat(10_000);
    let one_word = "x".repeat(1 << 20);
    for text in
        [huge.as_str(), no_punctuation.as_str(), commas.as_str(), whens.as_str(), wants.as_str(), one_word.as_str()]
    {
        let c = extract(&episodes(&[("user", text)]));
        assert!(c.iter().all(|c| c.content.len() <= memory_core::MAX_CONTENT_BYTES));
    }
    // Far outside the domain's time range.
    let mut eps = episodes(&[("user", "I'm flying to Oslo tomorrow")]);
    eps[0].at = Timestamp::from_micros(i64::MAX);
    let _ = extract(&eps);
    eps[0].at = Timestamp::from_micros(i64::MIN);
    let _ = extract(&eps);
    assert!(extract(&[]).is_empty());
}
