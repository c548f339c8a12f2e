//! Named-entity extraction.

use memory_consolidate::{EntityMention, extract_entities};
use memory_core::EntityKind;

fn check(text: &str, expected: &[(&str, EntityKind)]) {
    let got = extract_entities(text);
    let want: Vec<EntityMention> =
        expected.iter().map(|(n, k)| EntityMention { name: (*n).to_owned(), kind: *k }).collect();
    assert_eq!(got, want, "{text}");
}

#[test]
fn known_tools_and_places() {
    check(
        "We moved the service from MySQL to PostgreSQL and deploy it with Docker on Kubernetes.",
        &[
            ("MySQL", EntityKind::Tool),
            ("PostgreSQL", EntityKind::Tool),
            ("Docker", EntityKind::Tool),
            ("Kubernetes", EntityKind::Tool),
        ],
    );
    check("i write python at work and live in berlin", &[("python", EntityKind::Tool), ("berlin", EntityKind::Place)]);
    check("Rust is great. Paris in the spring, too.", &[("Rust", EntityKind::Tool), ("Paris", EntityKind::Place)]);
    check(
        "I flew from New York to San Francisco",
        &[("New York", EntityKind::Place), ("San Francisco", EntityKind::Place)],
    );
    // Everyday words are not tools or places when lowercase.
    check("the rust on my bike, a slack rope, we met in turkey season", &[]);
}

#[test]
fn cues_give_the_kind() {
    check(
        "Had lunch with my friend Jonas and then met Priya Raman.",
        &[("Jonas", EntityKind::Person), ("Priya Raman", EntityKind::Person)],
    );
    check("She works at Fjord Analytics now.", &[("Fjord Analytics", EntityKind::Organization)]);
    check("I studied at the University of Queensland", &[("University of Queensland", EntityKind::Organization)]);
    check("My employer is Acme Corp.", &[("Acme Corp", EntityKind::Organization)]);
    check("I'm leading project Apollo this quarter", &[("Apollo", EntityKind::Project)]);
    check("We're building it using Tantivy for search", &[("Tantivy", EntityKind::Tool)]);
    check("Next spring we're going to Kerala and Lyon", &[("Kerala", EntityKind::Place), ("Lyon", EntityKind::Place)]);
    check("Dr. Patel said it's fine", &[("Dr Patel", EntityKind::Person)]);
}

#[test]
fn sentence_starts_are_not_names_unless_known_or_longer() {
    check("Thanks! Honestly, I love it. Maybe Tuesday?", &[]);
    check("Dana said hi. Fjord Analytics hired me.", &[("Fjord Analytics", EntityKind::Organization)]);
    check(
        "Ask Maria. Met Jonas at Acme Labs.",
        &[("Maria", EntityKind::Person), ("Jonas", EntityKind::Person), ("Acme Labs", EntityKind::Organization)],
    );
    check("Python is my favourite.", &[("Python", EntityKind::Tool)]);
}

#[test]
fn each_name_once_in_order_of_appearance() {
    check(
        "Ask Maria about Docker. Maria knows docker well, and Docker Compose too. I told Maria.",
        &[("Maria", EntityKind::Person), ("Docker", EntityKind::Tool), ("Compose", EntityKind::Other)],
    );
    check("Sam's dog and Sam's cat", &[("Sam", EntityKind::Other)]);
    check("I met Sam's dog", &[("Sam", EntityKind::Person)]);
}

#[test]
fn odd_input_never_panics() {
    for text in ["", " ", "\n\n", "🙂🙂", "'s", "A", "’s ’s", "Ünïcödé Straße in München", "a\u{0}b", "(((", "U.S.A."]
    {
        let _ = extract_entities(text);
    }
    let many: String = (0..20_000).map(|i| format!("met Person{i} ")).collect();
    assert_eq!(extract_entities(&many).len(), 20_000);
    let long = "Alice met Bob in Paris using Rust. ".repeat(5_000);
    let found = extract_entities(&long);
    let names: Vec<&str> = found.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["Bob", "Paris", "Rust"], "a sentence-initial single word is not taken");
}

#[test]
fn names_given_as_names_are_people() {
    check("My name is Dana Whitfield.", &[("Dana Whitfield", EntityKind::Person)]);
    check("User's friend is Priya", &[("Priya", EntityKind::Person)]);
    check("Everyone can call me Benji", &[("Benji", EntityKind::Person)]);
}
