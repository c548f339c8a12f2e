//! `cargo xtask bench consolidate`: consolidation and maintenance through the engine, as a user
//! runs them: an on-disk SQLite store (durability `full`, the default), an on-disk index
//! directory, the hash embedder, the rule-based extractor, no policy file (every namespace is
//! created by principal `bench` as an operator, so `bench` may read and write it as its creator).
//!
//! Sections (both on by default):
//! - `consolidate`: `MEMORY_BENCH_EPISODES` (20000) chat messages, written as episodic memories
//!   (role in the metadata, conversation id) into one namespace with `remember_batch` (not
//!   timed), then ONE `Engine::consolidate` over all of them, timed: episodes/s end to end
//!   (target >= 5,000/s on 2 cores). Before it, the same stored episodes are handed to
//!   `RuleExtractor` alone, in the engine's pages of 500, with no store: extractor speed apart
//!   from planning, embedding, writing, indexing and auditing. Medians of `MEMORY_BENCH_RUNS`
//!   (3) fresh setups; the counts (candidates, created, evidence, proposed, ...) are a sanity
//!   check.
//! - `maintain`: `MEMORY_BENCH_MAINTAIN_NAMESPACES` (1000) namespaces created with
//!   `create_namespace`, each holding one short conversation (6 episodes), one working memory
//!   past its expiry and one semantic memory; every fourth has `retention_days = 30` and one
//!   memory older than that (a manual clock moves time). Then one full maintenance cycle (all
//!   jobs, a budget of every namespace) and a second one with nothing left to do, each timed,
//!   with the runs that ran, were skipped and failed (0 expected) and the time per job.
//!
//! Chat: conversations of 6-16 messages, user and assistant in turn. Half the user's messages
//! are first-person statements the rule extractor reads (preferences, plans with dates, rules
//! for the agent, identity, decisions, facts naming people, places and pets, and corrections of
//! the statement just before), half small talk and questions; the assistant answers in one to
//! three sentences. Every message is unique, so no write is a duplicate.
//!
//! Environment: `MEMORY_BENCH_EPISODES` (20000), `MEMORY_BENCH_RUNS` (3),
//! `MEMORY_BENCH_MAINTAIN_NAMESPACES` (1000), `MEMORY_BENCH_SEED` (42),
//! `MEMORY_BENCH_CONSOLIDATE_SECTIONS` (comma list, default `consolidate,maintain`). A quick
//! run: `MEMORY_BENCH_EPISODES=2000 MEMORY_BENCH_MAINTAIN_NAMESPACES=100 cargo xtask bench
//! consolidate`.
//!
//! The default takes about 60 s on 2 cores; other work on the machine shows in every number.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use memory_consolidate::{CandidateKind, Episode, Extractor, RuleExtractor};
use memory_core::{
    Job, JobRun, JobStatus, Layer, MAX_PAGE_LIMIT, Memory, MemoryFilter, NamespaceFilter, NamespaceKey, NamespacePatch,
    PageRequest, TenantId, Timestamp,
};
use memory_embed::{DEFAULT_HASH_DIMENSION, Embedder, HashEmbedder};
use memory_engine::{
    Caller, Clock, ConsolidateRequest, Consolidation, Engine, EngineParts, MaintainRequest, MaintenanceReport,
    ManualClock, MemoryInput, SystemClock,
};
use memory_policy::Policy;
use memory_policy::load::{Dialect, parse};
use memory_store_sqlite::SqliteStore;

const PRINCIPAL: &str = "bench";
/// The namespace of the `consolidate` section.
const CHAT_NAMESPACE: &str = "chat";
/// Episodes per `remember_batch` while filling the store.
const WRITE_BATCH: usize = 1000;
/// Episodes the engine reads (and hands to the extractor) at a time; the extract-only timing
/// uses the same pages so both see the same batches.
const EPISODE_PAGE: usize = 500;
/// Target of issue 12, on 2 cores.
const TARGET_EPISODES_PER_S: f64 = 5000.0;
/// `retention_days` of every fourth namespace of the `maintain` section.
const RETENTION_DAYS: u32 = 30;
/// Messages of the conversation each namespace of the `maintain` section holds.
const MAINTAIN_MESSAGES: usize = 6;

// ---------------------------------------------------------------------------------------------
// Configuration

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a positive integer")),
        Err(_) => default,
    }
}

#[derive(Debug, Clone)]
struct Config {
    episodes: usize,
    runs: usize,
    namespaces: usize,
    seed: u64,
    sections: String,
}

impl Config {
    fn from_env() -> Self {
        Config {
            episodes: env_usize("MEMORY_BENCH_EPISODES", 20_000).max(1),
            runs: env_usize("MEMORY_BENCH_RUNS", 3).max(1),
            namespaces: env_usize("MEMORY_BENCH_MAINTAIN_NAMESPACES", 1000).max(1),
            seed: env_usize("MEMORY_BENCH_SEED", 42) as u64,
            sections: std::env::var("MEMORY_BENCH_CONSOLIDATE_SECTIONS")
                .unwrap_or_else(|_| "consolidate,maintain".into()),
        }
    }

    fn wants(&self, section: &str) -> bool {
        self.sections.split(',').any(|s| s.trim() == section)
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic synthetic chat

/// SplitMix64: tiny, fast and seedable.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5851_F42D_4C95_7F2D)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
    /// Two different words of `xs`.
    fn two<'a>(&mut self, xs: &[&'a str]) -> (&'a str, &'a str) {
        let a = self.below(xs.len());
        let b = (a + 1 + self.below(xs.len() - 1)) % xs.len();
        (xs[a], xs[b])
    }
}

const NAMES: &[&str] = &[
    "Alice", "Bruno", "Carmen", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Keiko", "Liam", "Maya",
    "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Yusuf", "Zoe",
];
const SURNAMES: &[&str] = &[
    "Whitfield",
    "Okafor",
    "Silva",
    "Novak",
    "Tanaka",
    "Moreau",
    "Lindqvist",
    "Haddad",
    "Kowalski",
    "Brennan",
    "Castillo",
    "Fischer",
];
const PLACES: &[&str] = &[
    "Lisbon",
    "Porto",
    "Berlin",
    "Paris",
    "Tokyo",
    "Nairobi",
    "Toronto",
    "Oslo",
    "Seville",
    "Kyoto",
    "Denver",
    "Austin",
    "Dublin",
    "Prague",
    "Vienna",
    "Melbourne",
    "Montreal",
    "Edinburgh",
    "Singapore",
    "Reykjavik",
    "Chicago",
    "Hamburg",
];
const DRINKS: &[&str] = &[
    "tea",
    "coffee",
    "espresso",
    "matcha",
    "chai",
    "lemonade",
    "kombucha",
    "hot chocolate",
    "green tea",
    "oat latte",
    "orange juice",
    "sparkling water",
];
const FOODS: &[&str] = &[
    "sushi",
    "ramen",
    "tacos",
    "pizza",
    "curry",
    "falafel",
    "pho",
    "dumplings",
    "paella",
    "lasagna",
    "risotto",
    "pad thai",
];
const DISLIKES: &[&str] = &[
    "cilantro",
    "olives",
    "mushrooms",
    "horror movies",
    "loud restaurants",
    "spicy food",
    "early meetings",
    "crowded trains",
    "reality TV",
    "blue cheese",
    "long phone calls",
    "open offices",
];
const ACTIVITIES: &[&str] = &[
    "hiking",
    "swimming",
    "climbing",
    "chess",
    "running",
    "baking",
    "painting",
    "cycling",
    "kayaking",
    "gardening",
    "photography",
    "yoga",
    "surfing",
    "skiing",
];
const MUSIC: &[&str] =
    &["jazz", "classical music", "punk rock", "k-pop", "bossa nova", "techno", "folk music", "opera"];
const RELATIONS: &[&str] = &["sister", "brother", "mother", "father", "cousin", "aunt", "uncle", "grandmother"];
const PETS: &[&str] = &["dog", "cat", "parrot", "rabbit", "turtle", "hamster"];
const PET_NAMES: &[&str] =
    &["Rex", "Biscuit", "Luna", "Mochi", "Pepper", "Ziggy", "Olive", "Nugget", "Shadow", "Maple"];
const JOBS: &[&str] = &[
    "software engineer",
    "nurse",
    "teacher",
    "graphic designer",
    "data scientist",
    "architect",
    "product manager",
    "pharmacist",
    "journalist",
    "civil engineer",
];
const ORGS: &[&str] =
    &["Acme Corp", "Globex", "Initech", "Umbrella Labs", "Hooli", "Wayne Enterprises", "Tyrell Systems", "Soylent"];
const TOOLS: &[&str] = &[
    "Postgres",
    "SQLite",
    "Redis",
    "Kafka",
    "Vercel",
    "Netlify",
    "Kubernetes",
    "Terraform",
    "React",
    "Svelte",
    "Django",
];
const PURPOSES: &[&str] = &[
    "billing",
    "the landing page",
    "analytics",
    "the mobile app",
    "search",
    "the internal dashboard",
    "hosting",
    "logging",
];
const LANGUAGES: &[&str] = &["French", "Spanish", "German", "Portuguese", "Japanese", "Italian", "Dutch"];
const ALLERGENS: &[&str] = &["peanuts", "shellfish", "penicillin", "pollen", "gluten", "latex", "sesame"];
const WEEKDAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const WHEN: &[&str] =
    &["tomorrow", "next Friday", "on Thursday", "next week", "this weekend", "in 3 days", "in two weeks", "on Monday"];
const TIMES: &[&str] = &["9:30", "10am", "2pm", "6pm", "noon", "8:15"];
const EVENTS: &[&str] = &[
    "a dentist appointment",
    "a job interview",
    "a team offsite",
    "a piano lesson",
    "a doctor's appointment",
    "a haircut",
    "a conference talk",
    "a parent-teacher meeting",
];
const AVOID: &[&str] =
    &["emojis", "bullet points", "tables", "jargon", "exclamation marks", "headers", "passive voice"];
const TOPICS: &[&str] = &[
    "climate policy",
    "the new phone releases",
    "quantum computing",
    "the World Cup",
    "interest rates",
    "black holes",
    "medieval history",
    "the housing market",
    "electric cars",
    "sleep science",
    "sourdough",
    "the stock market",
    "volcanoes",
    "remote work",
    "the Roman empire",
    "coral reefs",
];
const TASKS: &[&str] = &[
    "center a div",
    "reverse a list in Python",
    "fix a flat tire",
    "descale a kettle",
    "write a cover letter",
    "set up SSH keys",
    "make cold brew",
    "split a bill fairly",
    "repot a cactus",
    "read a nutrition label",
];
const GREETINGS: &[&str] = &["hi", "hey", "hello", "good morning", "yo", "hiya", "morning"];

/// One message of a conversation.
#[derive(Debug, Clone)]
struct Said {
    user: bool,
    text: String,
}

/// What a user statement left open for a correction in the next user message.
#[derive(Debug, Clone)]
enum Correctable {
    Drink(&'static str),
    Food(&'static str),
    Day(&'static str),
    Tool,
}

/// A user statement the rule extractor reads, and what a correction of it would say.
fn statement(rng: &mut Rng) -> (String, Option<Correctable>) {
    let r = rng;
    match r.below(33) {
        // Preferences.
        0 => (format!("I love {}.", r.pick(ACTIVITIES)), None),
        1 => (format!("I really don't like {}", r.pick(DISLIKES)), None),
        2 => {
            let d = r.pick(DRINKS);
            (format!("My favourite drink is {d}"), Some(Correctable::Drink(d)))
        }
        3 => {
            let f = r.pick(FOODS);
            (format!("my favorite food is {f}"), Some(Correctable::Food(f)))
        }
        4 => {
            let (a, b) = r.two(DRINKS);
            (format!("I prefer {a} over {b}"), None)
        }
        5 => (format!("I'm a huge fan of {}", r.pick(MUSIC)), None),
        6 => (format!("honestly I can't stand {}", r.pick(DISLIKES)), None),
        // Plans with dates.
        7 => (format!("I'm flying to {} {}", r.pick(PLACES), r.pick(WHEN)), None),
        8 => {
            let day = r.pick(WEEKDAYS);
            (format!("I have {} on {day}", r.pick(EVENTS)), Some(Correctable::Day(day)))
        }
        9 => (format!("I'll visit my {} in {} {}", r.pick(RELATIONS), r.pick(PLACES), r.pick(WHEN)), None),
        10 => {
            let day = r.pick(WEEKDAYS);
            (format!("I'm meeting {} for lunch on {day}", r.pick(NAMES)), Some(Correctable::Day(day)))
        }
        11 => (format!("maybe I'll go {} this weekend", r.pick(ACTIVITIES)), None),
        12 => (format!("I plan to learn {}", r.pick(LANGUAGES)), None),
        13 => (format!("I'm going to the dentist {} at {}", r.pick(WHEN), r.pick(TIMES)), None),
        // Rules for the agent.
        14 => (format!("Always answer in {}.", r.pick(LANGUAGES)), None),
        15 => (format!("Please don't use {} in your answers.", r.pick(AVOID)), None),
        16 => (format!("From now on, reply in {} please", r.pick(LANGUAGES)), None),
        17 => (format!("Whenever I ask for a summary, give me {} bullet points.", 2 + r.below(5)), None),
        18 => (format!("never use {} when you write to me", r.pick(AVOID)), None),
        // Identity (proposed for review, never written).
        19 => (format!("My name is {} {}", r.pick(NAMES), r.pick(SURNAMES)), None),
        20 => (format!("I live in {}", r.pick(PLACES)), None),
        21 => (format!("I work as a {}", r.pick(JOBS)), None),
        22 => (format!("I'm a {} at {}", r.pick(JOBS), r.pick(ORGS)), None),
        23 => (format!("I'm originally from {}", r.pick(PLACES)), None),
        // Decisions.
        24 => (format!("We decided to use {} for {}.", r.pick(TOOLS), r.pick(PURPOSES)), Some(Correctable::Tool)),
        25 => (format!("Let's go with {} for {}", r.pick(TOOLS), r.pick(PURPOSES)), None),
        26 => (format!("We're going with {} for {}", r.pick(TOOLS), r.pick(PURPOSES)), Some(Correctable::Tool)),
        // Facts naming pets, people and places.
        27 => (format!("I have a {} named {}", r.pick(PETS), r.pick(PET_NAMES)), None),
        28 => (format!("my {} lives in {}", r.pick(RELATIONS), r.pick(PLACES)), None),
        29 => (format!("I'm allergic to {}", r.pick(ALLERGENS)), None),
        30 => {
            let (a, b) = r.two(LANGUAGES);
            (format!("I speak {a} and {b}"), None)
        }
        31 => (format!("my {} {} is a {}", r.pick(RELATIONS), r.pick(NAMES), r.pick(JOBS)), None),
        _ => (format!("I run {} days a week", 2 + r.below(5)), None),
    }
}

/// A correction of the statement before it.
fn correction(rng: &mut Rng, of: &Correctable) -> String {
    let other = |rng: &mut Rng, xs: &[&'static str], not: &str| loop {
        let x = rng.pick(xs);
        if x != not {
            return x;
        }
    };
    match of {
        Correctable::Drink(d) => format!("Actually, it's {}", other(rng, DRINKS, d)),
        Correctable::Food(f) => format!("no wait, {}", other(rng, FOODS, f)),
        Correctable::Day(d) => format!("Oh wait, it's {} not {d}", other(rng, WEEKDAYS, d)),
        Correctable::Tool => format!("Correction: we're going with {}.", rng.pick(TOOLS)),
    }
}

/// Small talk and questions: nothing durable to learn.
fn small_talk(r: &mut Rng) -> String {
    match r.below(10) {
        0 => format!("{}! how are you doing this {}?", r.pick(GREETINGS), r.pick(&["morning", "afternoon", "evening"])),
        1 => format!("can you summarise the article about {}?", r.pick(TOPICS)),
        2 => format!("what's the weather like in {} {}?", r.pick(PLACES), r.pick(WHEN)),
        3 => format!("thanks, that helps with the {} question", r.pick(TOPICS)),
        4 => format!("how do I {}?", r.pick(TASKS)),
        5 => format!("haha fair enough, what about {}?", r.pick(TOPICS)),
        6 => format!(
            "Give me a recipe for {} with {}",
            r.pick(FOODS),
            r.pick(&["rice", "noodles", "tofu", "chicken", "beans"])
        ),
        7 => format!("can you write a short poem about {} and {}?", r.pick(TOPICS), r.pick(ACTIVITIES)),
        8 => {
            let (a, b) = r.two(PLACES);
            format!("ok, and how long does it take to get from {a} to {b} by train?")
        }
        _ => format!("is {} really better than {} for {}?", r.pick(TOOLS), r.pick(TOOLS), r.pick(PURPOSES)),
    }
}

/// An assistant's answer of one to three sentences.
fn answer(r: &mut Rng) -> String {
    let first = match r.below(6) {
        0 => format!("Sure! Here is a quick overview of {}.", r.pick(TOPICS)),
        1 => format!("Got it, I'll keep that in mind when we talk about {}.", r.pick(TOPICS)),
        2 => format!("The weather in {} looks mild, with highs around {} degrees.", r.pick(PLACES), 8 + r.below(25)),
        3 => format!("Here's a simple recipe for {}: it takes about {} minutes.", r.pick(FOODS), 15 + r.below(60)),
        4 => format!("Good question! To {}, start with the basics.", r.pick(TASKS)),
        _ => format!("That sounds lovely. {} is a great choice for {}.", r.pick(TOOLS), r.pick(PURPOSES)),
    };
    let more = [
        "Let me know if you want more detail.",
        "I can also compare a few options if that helps.",
        "Most people find the second step the trickiest.",
        "Would you like a shorter version?",
        "I've kept it brief on purpose.",
    ];
    match r.below(3) {
        0 => first,
        1 => format!("{first} {}", r.pick(&more)),
        _ => {
            let (a, b) = r.two(&more);
            format!("{first} {a} {b}")
        }
    }
}

/// Conversations of `total` messages in all, every message unique.
struct Chat {
    conversations: Vec<Vec<Said>>,
}

impl Chat {
    fn generate(seed: u64, total: usize, per_conversation: (usize, usize)) -> Chat {
        let mut rng = Rng::new(seed);
        let mut seen: HashSet<String> = HashSet::with_capacity(total);
        let mut conversations = Vec::new();
        let mut left = total;
        while left > 0 {
            let (lo, hi) = per_conversation;
            let len = (lo + rng.below(hi - lo + 1)).min(left);
            let mut messages = Vec::with_capacity(len);
            let mut open: Option<Correctable> = None;
            for m in 0..len {
                let user = m % 2 == 0;
                let text = unique(&mut seen, &mut rng, |rng| {
                    if !user {
                        return answer(rng);
                    }
                    match open.take() {
                        Some(c) if rng.chance(40) => correction(rng, &c),
                        _ if rng.chance(50) => {
                            let (s, c) = statement(rng);
                            open = c;
                            s
                        }
                        _ => small_talk(rng),
                    }
                });
                messages.push(Said { user, text });
            }
            left -= len;
            conversations.push(messages);
        }
        Chat { conversations }
    }

    fn messages(&self) -> usize {
        self.conversations.iter().map(Vec::len).sum()
    }

    /// The messages as episodic memories of `ns`, role in the metadata; conversation `c` of
    /// this chat is `<prefix>-<c>`.
    fn inputs(&self, ns: &str, prefix: &str) -> Vec<MemoryInput> {
        let mut out = Vec::with_capacity(self.messages());
        for (c, conversation) in self.conversations.iter().enumerate() {
            for said in conversation {
                out.push(
                    MemoryInput::new(Layer::Episodic, said.text.clone())
                        .in_namespace(ns)
                        .conversation(format!("{prefix}-{c}"))
                        .meta("role", if said.user { "user" } else { "assistant" }),
                );
            }
        }
        out
    }
}

/// A message `make` makes that was not made before (the store would merge a repeat into the
/// first); after 50 tries, one made unique by a number.
fn unique(seen: &mut HashSet<String>, rng: &mut Rng, mut make: impl FnMut(&mut Rng) -> String) -> String {
    for _ in 0..50 {
        let text = make(rng);
        if seen.insert(text.clone()) {
            return text;
        }
    }
    let text = format!("{} ({})", make(rng), seen.len());
    seen.insert(text.clone());
    text
}

// ---------------------------------------------------------------------------------------------
// Measuring

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(ds: &[Duration]) -> Duration {
    let mut sorted = ds.to_vec();
    sorted.sort();
    let n = sorted.len();
    if n == 0 {
        Duration::ZERO
    } else if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}

fn mean(ds: &[Duration]) -> Duration {
    if ds.is_empty() { Duration::ZERO } else { ds.iter().sum::<Duration>() / ds.len() as u32 }
}

fn runs_of(ds: &[Duration]) -> String {
    ds.iter().map(|d| format!("{:.2}", d.as_secs_f64())).collect::<Vec<_>>().join(" / ")
}

// ---------------------------------------------------------------------------------------------
// The engine

/// An engine as `memory` runs it: SQLite (durability full) and index on disk under `dir`, the
/// rule extractor, no policy file.
async fn open_engine(dir: &Path, clock: Arc<dyn Clock>) -> Engine {
    let store = SqliteStore::open(dir.join("store")).expect("open store");
    let embedder: Arc<dyn Embedder> = Arc::new(HashEmbedder::new(DEFAULT_HASH_DIMENSION).expect("hash embedder"));
    let loaded = parse("", Dialect::Toml).expect("the empty policy is valid");
    let mut parts = EngineParts::new(Arc::new(store), embedder);
    parts.recall = loaded.config.engine.recall.clone();
    parts.policy = Policy::new(loaded.config);
    parts.index_dir = Some(dir.join("index"));
    parts.clock = clock;
    parts.extractor = Arc::new(RuleExtractor::new());
    let engine = Engine::new(parts);
    engine.open_tenant(&TenantId::default_tenant()).await.expect("open tenant");
    engine
}

fn caller() -> Caller {
    Caller::principal(PRINCIPAL).expect("valid principal")
}

/// Writes `inputs` in batches; panics unless every one is a new memory.
async fn write_all(engine: &Engine, inputs: Vec<MemoryInput>) {
    let caller = caller();
    let wanted = inputs.len();
    let mut created = 0;
    let mut inputs = inputs.into_iter().peekable();
    while inputs.peek().is_some() {
        let batch: Vec<MemoryInput> = inputs.by_ref().take(WRITE_BATCH).collect();
        let written = engine.remember_batch(&caller, batch).await.expect("remember_batch");
        created += written.iter().filter(|w| w.created).count();
        if let Some(w) = written.iter().find(|w| !w.warnings.is_empty()) {
            panic!("degraded write: {:?}", w.warnings);
        }
    }
    assert_eq!(created, wanted, "every message is new (no deduplication)");
}

/// Every live memory of `layer` in `ns`, in store order (the order consolidation reads).
async fn stored(engine: &Engine, ns: &str, layer: Layer) -> Vec<Memory> {
    let tenant = TenantId::default_tenant();
    let mut filter = MemoryFilter::namespace(NamespaceKey::new(ns).expect("valid key"));
    filter.layers = Some(vec![layer]);
    let mut out = Vec::new();
    let mut page = PageRequest::first(MAX_PAGE_LIMIT);
    loop {
        let p = engine.store().list_memories(&tenant, &filter, &page).await.expect("list");
        out.extend(p.items);
        match p.next_cursor {
            Some(c) => page = PageRequest::after(c, MAX_PAGE_LIMIT),
            None => return out,
        }
    }
}

/// A stored episode as the engine hands it to the extractor.
fn episode_of(m: &Memory) -> Episode {
    Episode {
        id: m.id,
        conversation: m.provenance.conversation_id.clone(),
        role: m.metadata.get("role").and_then(|r| r.as_str()).map(str::to_owned),
        content: m.content.clone(),
        at: m.created_at,
    }
}

// ---------------------------------------------------------------------------------------------
// Consolidation

/// What one fresh setup measured.
struct ConsolidateRun {
    setup: Duration,
    consolidate: Duration,
    extract: Duration,
    report: Consolidation,
    /// Time per page of episodes, in the order the run read them.
    pages: Vec<Duration>,
    /// Candidates the extractor alone found, by kind.
    extracted: BTreeMap<CandidateKind, usize>,
}

async fn consolidate_run(cfg: &Config, chat: &Chat) -> ConsolidateRun {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = open_engine(dir.path(), Arc::new(SystemClock)).await;
    engine
        .create_namespace(&caller().as_operator(), CHAT_NAMESPACE, &NamespacePatch::default())
        .await
        .expect("namespace");
    let inputs = chat.inputs(CHAT_NAMESPACE, "conversation");
    let t = Instant::now();
    write_all(&engine, inputs).await;
    engine.flush().await.expect("flush");
    let setup = t.elapsed();

    // The extractor alone, on the stored episodes, in the engine's pages.
    let episodes: Vec<Episode> =
        stored(&engine, CHAT_NAMESPACE, Layer::Episodic).await.iter().map(episode_of).collect();
    assert_eq!(episodes.len(), cfg.episodes);
    let extractor = RuleExtractor::new();
    let mut extracted: BTreeMap<CandidateKind, usize> = BTreeMap::new();
    let t = Instant::now();
    for page in episodes.chunks(EPISODE_PAGE) {
        for c in extractor.extract(page).expect("the rule extractor never fails") {
            *extracted.entry(c.kind).or_default() += 1;
        }
    }
    let extract = t.elapsed();

    // One consolidation over every episode, end to end.
    let request =
        ConsolidateRequest { namespace: Some(CHAT_NAMESPACE.to_owned()), max_episodes: Some(cfg.episodes + 1) };
    let t = Instant::now();
    // `progress` hears the end of every page: the time between two is one page's work.
    let mut pages: Vec<Duration> = Vec::new();
    let mut last = t;
    let report = engine
        .consolidate(&caller(), &request, &mut |_| {
            let now = Instant::now();
            pages.push(now - last);
            last = now;
        })
        .await
        .expect("consolidate");
    let consolidate = t.elapsed();
    assert_eq!(report.episodes, cfg.episodes, "one run reads every episode");
    assert!(!report.more, "nothing left for a second run");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    ConsolidateRun { setup, consolidate, extract, report, pages, extracted }
}

async fn consolidate_section(cfg: &Config) {
    let chat = Chat::generate(cfg.seed ^ 0xC0_75, cfg.episodes, (6, 16));
    let user = chat.conversations.iter().flatten().filter(|s| s.user).count();
    println!(
        "\n== consolidate: one Engine::consolidate over {} episodes ({} conversations, {} user messages) in one namespace, median of {} fresh setups (target >= {:.0} episodes/s) ==",
        cfg.episodes,
        chat.conversations.len(),
        user,
        cfg.runs,
        TARGET_EPISODES_PER_S
    );
    let mut runs = Vec::with_capacity(cfg.runs);
    for _ in 0..cfg.runs {
        runs.push(consolidate_run(cfg, &chat).await);
    }
    let n = cfg.episodes as f64;
    let setup: Vec<Duration> = runs.iter().map(|r| r.setup).collect();
    let whole: Vec<Duration> = runs.iter().map(|r| r.consolidate).collect();
    let extract: Vec<Duration> = runs.iter().map(|r| r.extract).collect();
    let rest: Vec<Duration> = runs.iter().map(|r| r.consolidate.saturating_sub(r.extract)).collect();
    let (whole_m, extract_m, rest_m) = (median(&whole), median(&extract), median(&rest));
    let rate = n / whole_m.as_secs_f64();
    println!(
        "  {:<40} {:>9.0} episodes/s  ({:.2} s; runs {} s)",
        "setup: remember_batch + flush (untimed)",
        n / median(&setup).as_secs_f64(),
        median(&setup).as_secs_f64(),
        runs_of(&setup)
    );
    println!(
        "  {:<40} {:>9.0} episodes/s  ({:.2} s; runs {} s) {}",
        "consolidate, end to end",
        rate,
        whole_m.as_secs_f64(),
        runs_of(&whole),
        if rate >= TARGET_EPISODES_PER_S { "target met" } else { "TARGET MISSED" }
    );
    println!(
        "  {:<40} {:>9.0} episodes/s  ({:.3} s; runs {} s) {:>5.1}% of consolidate",
        "extract only (RuleExtractor, no store)",
        n / extract_m.as_secs_f64(),
        extract_m.as_secs_f64(),
        runs_of(&extract),
        100.0 * extract_m.as_secs_f64() / whole_m.as_secs_f64()
    );
    println!(
        "  {:<40} {:>9.0} episodes/s  ({:.2} s) {:>5.1}% of consolidate",
        "the rest: plan, embed, store, index, audit",
        n / rest_m.as_secs_f64(),
        rest_m.as_secs_f64(),
        100.0 * rest_m.as_secs_f64() / whole_m.as_secs_f64()
    );
    // Pages of the median run: whether a page costs more as the namespace grows.
    let mid = runs.iter().position(|r| r.consolidate == whole_m).unwrap_or(0);
    let pages = &runs[mid].pages;
    let tenth = (pages.len() / 10).max(1);
    println!(
        "  {:<40} p50 {:.0} ms, first 10% {:.0} ms, last 10% {:.0} ms (median run, {} pages)",
        format!("one page of {EPISODE_PAGE} episodes"),
        ms(median(pages)),
        ms(mean(&pages[..tenth])),
        ms(mean(&pages[pages.len() - tenth..])),
        pages.len()
    );
    // The counts are the same in every run (same chat, same extractor); the first one speaks.
    let r = &runs[0].report;
    let kinds: Vec<String> = runs[0].extracted.iter().map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "  counts: candidates {} (extract only: {}: {}), created {}, evidence {}, superseded {}, proposed {}, unchanged {}, entity links {}",
        r.candidates,
        runs[0].extracted.values().sum::<usize>(),
        kinds.join(", "),
        r.created.len(),
        r.evidence.len(),
        r.superseded.len(),
        r.proposed.len(),
        r.unchanged,
        r.entity_links
    );
    // Past the index's exact-scan threshold a namespace gets an HNSW graph, and every write
    // into it pays a graph insert.
    println!(
        "  the namespace then holds {} memories (episodes and what consolidation wrote; the index builds an HNSW graph per namespace past {})",
        cfg.episodes + r.created.len() + r.superseded.len(),
        memory_index::DEFAULT_EXACT_THRESHOLD
    );
}

// ---------------------------------------------------------------------------------------------
// Maintenance

fn maintain_key(i: usize) -> String {
    format!("m-{i:04}")
}

/// Namespaces, memories and what the first cycle must delete.
struct MaintainSetup {
    retained: usize,
    episodes: usize,
}

/// `cfg.namespaces` namespaces, each with a conversation, an expired working memory and a
/// semantic memory; every fourth keeps memories for [`RETENTION_DAYS`] and holds one older.
async fn maintain_setup(cfg: &Config, engine: &Engine, clock: &ManualClock) -> MaintainSetup {
    let op = caller().as_operator();
    let caller = caller();
    let mut retained = 0;
    for i in 0..cfg.namespaces {
        let key = maintain_key(i);
        let mut patch = NamespacePatch::default();
        if i % 4 == 0 {
            patch.retention_days = Some(Some(RETENTION_DAYS));
            retained += 1;
        }
        engine.create_namespace(&op, &key, &patch).await.expect("create namespace");
        if i % 4 == 0 {
            let old = MemoryInput::new(Layer::Semantic, format!("The {key} project kicked off in the old office"))
                .in_namespace(key.as_str());
            engine.remember_batch(&caller, vec![old]).await.expect("old memory");
        }
    }
    clock.advance_days(i64::from(RETENTION_DAYS) + 10);
    let chat =
        Chat::generate(cfg.seed ^ 0x3A1, cfg.namespaces * MAINTAIN_MESSAGES, (MAINTAIN_MESSAGES, MAINTAIN_MESSAGES));
    let in_an_hour = clock.now().plus_micros(3_600_000_000);
    for (i, conversation) in chat.conversations.iter().enumerate() {
        let key = maintain_key(i);
        let one = Chat { conversations: vec![conversation.clone()] };
        let mut inputs = one.inputs(&key, &key);
        inputs.push(
            MemoryInput::new(Layer::Working, format!("Waiting on the {key} build to finish"))
                .in_namespace(key.as_str())
                .expires_at(in_an_hour),
        );
        inputs.push(
            MemoryInput::new(Layer::Semantic, format!("The {key} team meets on {}", WEEKDAYS[i % 7]))
                .in_namespace(key.as_str()),
        );
        let wanted = inputs.len();
        let written = engine.remember_batch(&caller, inputs).await.expect("remember_batch");
        assert_eq!(written.iter().filter(|w| w.created).count(), wanted, "every memory is new");
    }
    clock.advance_micros(2 * 3_600_000_000);
    engine.flush().await.expect("flush");
    MaintainSetup { retained, episodes: chat.messages() }
}

/// One cycle over every namespace, timed, with the time between finished runs summed per job.
async fn cycle(engine: &Engine, budget: usize) -> (Duration, MaintenanceReport, BTreeMap<Job, Duration>) {
    let request = MaintainRequest { namespace: None, jobs: None, budget: Some(budget) };
    let mut per_job: BTreeMap<Job, Duration> = BTreeMap::new();
    let started = Instant::now();
    let mut last = started;
    let report = engine
        .maintain(&caller().as_operator(), &request, &mut |run: &JobRun, _| {
            let now = Instant::now();
            *per_job.entry(run.job).or_default() += now - last;
            last = now;
        })
        .await
        .expect("maintain");
    (started.elapsed(), report, per_job)
}

fn count(report: &MaintenanceReport, job: Job, key: &str) -> u64 {
    report.runs.iter().filter(|r| r.job == job).filter_map(|r| r.counts.get(key)).sum()
}

fn print_cycle(
    label: &str,
    namespaces: usize,
    took: Duration,
    report: &MaintenanceReport,
    per_job: &BTreeMap<Job, Duration>,
) {
    let status = |s: JobStatus| report.runs.iter().filter(|r| r.status == s).count();
    println!(
        "  {label:<26} {:>9.1} ms  {:>7.3} ms/namespace  runs: {} ran, {} skipped, {} failed; {} namespaces deferred",
        ms(took),
        ms(took) / namespaces as f64,
        status(JobStatus::Ran),
        status(JobStatus::Skipped),
        status(JobStatus::Failed),
        report.deferred
    );
    let jobs: Vec<String> = per_job
        .iter()
        .map(|(job, d)| {
            format!("{job} {:.0} ms ({} runs)", ms(*d), report.runs.iter().filter(|r| r.job == *job).count())
        })
        .collect();
    println!("  {:<26} {}", "", jobs.join(", "));
    if let Some(failed) = report.runs.iter().find(|r| r.status == JobStatus::Failed) {
        panic!("{} failed on {}: {:?}", failed.job, failed.namespace, failed.reason);
    }
}

async fn maintain_section(cfg: &Config) {
    println!(
        "\n== maintain: full maintenance cycles (all jobs) over {} namespaces, {RETENTION_DAYS}-day retention on every fourth ==",
        cfg.namespaces
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(Timestamp::now());
    let engine = open_engine(dir.path(), Arc::new(clock.clone())).await;
    let t = Instant::now();
    let setup = maintain_setup(cfg, &engine, &clock).await;
    println!(
        "  setup (untimed): {} namespaces, {} episodes, {} expired working memories, {} past retention: {:.1} s",
        cfg.namespaces,
        setup.episodes,
        cfg.namespaces,
        setup.retained,
        t.elapsed().as_secs_f64()
    );
    // Every namespace in one cycle: ours, and `default` and `shared`, which a tenant always has.
    let budget = engine
        .store()
        .list_namespaces(&TenantId::default_tenant(), &NamespaceFilter::default())
        .await
        .expect("list namespaces")
        .len();
    println!(
        "  each cycle: MaintainRequest {{ namespace: None, jobs: None (all), budget: Some({budget}) }} (with default and shared)"
    );

    let (took, first, per_job) = cycle(&engine, budget).await;
    print_cycle("cycle 1 (work to do)", budget, took, &first, &per_job);
    println!(
        "  {:<26} consolidated {} episodes (created {}, proposed {}), expired {}, retention deleted {}",
        "",
        count(&first, Job::Consolidate, "episodes"),
        count(&first, Job::Consolidate, "created"),
        count(&first, Job::Consolidate, "proposed"),
        count(&first, Job::Expire, "deleted"),
        count(&first, Job::Retention, "deleted"),
    );
    assert_eq!(count(&first, Job::Consolidate, "episodes") as usize, setup.episodes, "every episode consolidated");
    assert_eq!(count(&first, Job::Expire, "deleted") as usize, cfg.namespaces, "one expired memory per namespace");
    assert_eq!(
        count(&first, Job::Retention, "deleted") as usize,
        setup.retained,
        "one old memory per retaining namespace"
    );

    let (took, second, per_job) = cycle(&engine, budget).await;
    print_cycle("cycle 2 (nothing to do)", budget, took, &second, &per_job);
    let deleted = count(&second, Job::Expire, "deleted") + count(&second, Job::Retention, "deleted");
    assert_eq!((count(&second, Job::Consolidate, "episodes"), deleted), (0, 0), "the second cycle finds nothing");
}

fn main() {
    // `cargo bench` passes `--bench`; this target takes no arguments of its own.
    let cfg = Config::from_env();
    println!(
        "memory-engine consolidate bench: {} episodes x {} runs, maintenance over {} namespaces, seed {}, sections {}",
        cfg.episodes, cfg.runs, cfg.namespaces, cfg.seed, cfg.sections
    );
    println!(
        "engine: SQLite store (durability full) + index on disk in a temp dir, hash embedder ({DEFAULT_HASH_DIMENSION}-d), rule extractor, caller principal {PRINCIPAL:?}, default tenant, 2 runtime threads"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let started = Instant::now();
    runtime.block_on(async {
        if cfg.wants("consolidate") {
            consolidate_section(&cfg).await;
        }
        if cfg.wants("maintain") {
            maintain_section(&cfg).await;
        }
    });
    println!("\ntotal {:.0} s", started.elapsed().as_secs_f64());
}
