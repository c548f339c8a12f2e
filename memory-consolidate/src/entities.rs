//! Named entities mentioned by a text (people, places, organisations, projects, tools).

use memory_core::EntityKind;
use serde::{Deserialize, Serialize};

/// One entity a text mentions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityMention {
    /// The name as written (trimmed).
    pub name: String,
    /// What it is.
    pub kind: EntityKind,
}

/// Named entities mentioned by `text`, each distinct name once (compared case-insensitively),
/// in order of first appearance.
///
/// Rules, no model:
/// - A built-in list of well-known tools and languages (Rust, Python, PostgreSQL, Docker, ...)
///   and places (countries, big cities) is recognised wherever it appears (lowercase too, for
///   names that are not also common words).
/// - Other names are runs of capitalized words not at a sentence start (a sentence-initial
///   word is only taken as part of a longer name: "Fjord Analytics hired me").
/// - The kind comes from the list, from a suffix ("Acme Inc", "University of Oslo"), or from the
///   words before it: "my friend X", "with X" (person), "in X", "from X" (place), "work at X"
///   (organisation), "project X" (project), "using X" (tool); otherwise it is `Other`.
pub fn extract_entities(text: &str) -> Vec<EntityMention> {
    let words = entity_words(text);
    let mut out: Vec<EntityMention> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut push = |name: String, kind: EntityKind, out: &mut Vec<EntityMention>| {
        let name = name.trim().to_owned();
        let key = memory_core::Entity::key_of(&name);
        if name.is_empty() || name.len() > 200 || !seen.insert(key) {
            return;
        }
        out.push(EntityMention { name, kind });
    };
    let mut i = 0;
    while i < words.len() {
        // Known names, longest first (up to three words: "New York City").
        if let Some((len, kind)) = known_at(&words, i) {
            let name = words[i..i + len].iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
            push(name, kind, &mut out);
            i += len;
            continue;
        }
        let w = &words[i];
        if !w.capitalized || is_stop_capital(&w.lower) {
            i += 1;
            continue;
        }
        // A run of capitalized words in one clause, with connectors ("Bank of America").
        let mut j = i + 1;
        while j < words.len() && !words[j - 1].brk && !words[j].sentence_start {
            if words[j].capitalized && !is_stop_capital(&words[j].lower) && known_at(&words, j).is_none() {
                j += 1;
            } else if matches!(words[j].lower.as_str(), "of" | "de" | "van" | "von" | "der" | "da" | "del" | "la" | "&")
                && words.get(j + 1).is_some_and(|n| n.capitalized && !is_stop_capital(&n.lower))
                && !words[j].brk
            {
                j += 2;
            } else {
                break;
            }
        }
        let run = &words[i..j];
        let org = org_suffix(run);
        if w.sentence_start && run.len() == 1 && !org {
            i = j;
            continue;
        }
        let name = run.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" ");
        let kind = if org { EntityKind::Organization } else { kind_from_context(&words, i, j) };
        push(name, kind, &mut out);
        i = j;
    }
    out
}

/// One word of a text, as entity extraction reads it.
#[derive(Debug, Clone)]
struct EntityWord {
    /// As written, without surrounding punctuation or a possessive `'s`.
    text: String,
    lower: String,
    capitalized: bool,
    sentence_start: bool,
    /// A clause boundary follows.
    brk: bool,
}

fn entity_words(text: &str) -> Vec<EntityWord> {
    let mut out: Vec<EntityWord> = Vec::new();
    for line in text.lines() {
        let mut sentence_start = true;
        for chunk in line.split_whitespace() {
            let core = chunk.trim_matches(|c: char| !(c.is_alphanumeric() || c == '+' || c == '#'));
            let core = core.trim_start_matches(['+', '#']);
            if core.is_empty() {
                if chunk.contains(['.', '!', '?']) {
                    sentence_start = true;
                }
                if let Some(last) = out.last_mut() {
                    last.brk = true;
                }
                continue;
            }
            let start = chunk.find(core).unwrap_or(0);
            let trail = &chunk[start + core.len()..];
            let core = core
                .strip_suffix("'s")
                .or_else(|| core.strip_suffix("\u{2019}s"))
                .filter(|c| !c.is_empty())
                .unwrap_or(core);
            let lower = core.to_lowercase();
            let capitalized = core.chars().next().is_some_and(char::is_uppercase);
            let abbreviation =
                matches!(lower.as_str(), "st" | "dr" | "mr" | "mrs" | "ms" | "prof" | "mt" | "jr" | "sr");
            let ends = trail.contains(['!', '?']) || (trail.contains('.') && !abbreviation);
            out.push(EntityWord {
                text: core.to_owned(),
                lower,
                capitalized,
                sentence_start,
                brk: ends || trail.contains([',', ';', ':', ')', '(', '"']),
            });
            sentence_start = ends;
        }
        if let Some(last) = out.last_mut() {
            last.brk = true;
        }
    }
    out
}

/// Capitalized words that are not names (sentence openers, pronouns, days, months, greetings).
fn is_stop_capital(lower: &str) -> bool {
    const STOP: &[&str] = &[
        "i",
        "i'm",
        "i'll",
        "i've",
        "i'd",
        "im",
        "the",
        "this",
        "that",
        "these",
        "those",
        "my",
        "we",
        "you",
        "it",
        "he",
        "she",
        "they",
        "our",
        "your",
        "his",
        "her",
        "their",
        "also",
        "and",
        "but",
        "so",
        "then",
        "if",
        "when",
        "what",
        "why",
        "how",
        "where",
        "who",
        "which",
        "can",
        "could",
        "would",
        "should",
        "will",
        "do",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "yes",
        "no",
        "not",
        "just",
        "please",
        "thanks",
        "thank",
        "hi",
        "hey",
        "hello",
        "ok",
        "okay",
        "oh",
        "well",
        "maybe",
        "sure",
        "great",
        "cool",
        "let's",
        "let",
        "here",
        "there",
        "today",
        "tomorrow",
        "yesterday",
        "tonight",
        "next",
        "last",
        "every",
        "some",
        "any",
        "all",
        "one",
        "two",
        "a",
        "an",
        "in",
        "on",
        "at",
        "for",
        "from",
        "with",
        "after",
        "before",
        "since",
        "as",
        "actually",
        "honestly",
        "btw",
        "sorry",
        "good",
        "nice",
        "awesome",
        "love",
        "like",
        "always",
        "never",
        "don't",
        "dont",
        "stop",
        "keep",
        "give",
        "write",
        "make",
        "remember",
        "note",
        "lol",
        "haha",
        "tbh",
        "fyi",
        "asap",
        "imo",
        "ps",
        "am",
        "pm",
        "tv",
        "id",
        "faq",
        "api",
        "url",
        "pdf",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "oct",
        "nov",
        "dec",
        "christmas",
        "easter",
        "spring",
        "summer",
        "autumn",
        "fall",
        "winter",
        "mom",
        "dad",
        "mum",
        "grandma",
        "grandpa",
        "god",
        "omg",
        "wow",
        "yeah",
        "yep",
        "nope",
        "hmm",
        "um",
        "uh",
        "ugh",
        "anyway",
        "whatever",
        "everyone",
        "someone",
        "anyone",
        "nobody",
        "everything",
        "nothing",
        "something",
        "q1",
        "q2",
        "q3",
        "q4",
        "eta",
        "tldr",
        "tl;dr",
        "re",
        "fwd",
        "cc",
        "ceo",
        "cto",
        "usd",
        "eur",
        "gbp",
        "english",
        "french",
        "german",
        "spanish",
        "italian",
        "portuguese",
        "chinese",
        "japanese",
        "korean",
        "dutch",
        "russian",
        "arabic",
        "hindi",
        "user",
        "assistant",
        "rule",
        "correction",
        "update",
        "reminder",
        "todo",
        "to-do",
        "fixme",
        "note",
        // Verbs that open sentences ("Ask Maria ...", "Met Jonas ...").
        "ask",
        "tell",
        "call",
        "email",
        "text",
        "message",
        "ping",
        "meet",
        "see",
        "check",
        "send",
        "get",
        "go",
        "try",
        "find",
        "show",
        "help",
        "book",
        "buy",
        "use",
        "add",
        "put",
        "take",
        "bring",
        "told",
        "met",
        "saw",
        "visited",
        "called",
        "asked",
        "had",
        "got",
        "went",
        "talked",
        "spoke",
        "heard",
        "remind",
        "thank",
        "congrats",
        "happy",
        "dear",
        "cheers",
        "regards",
        "best",
    ];
    STOP.contains(&lower)
}

/// Well-known tools, languages and services.
const TOOLS: &[&str] = &[
    "rust",
    "python",
    "postgresql",
    "postgres",
    "docker",
    "kubernetes",
    "k8s",
    "github",
    "gitlab",
    "bitbucket",
    "slack",
    "javascript",
    "typescript",
    "java",
    "golang",
    "ruby",
    "rails",
    "ruby on rails",
    "django",
    "flask",
    "fastapi",
    "react",
    "vue",
    "angular",
    "svelte",
    "node.js",
    "nodejs",
    "deno",
    "bun",
    "sqlite",
    "mysql",
    "mariadb",
    "mongodb",
    "redis",
    "kafka",
    "rabbitmq",
    "elasticsearch",
    "opensearch",
    "aws",
    "gcp",
    "azure",
    "terraform",
    "ansible",
    "jenkins",
    "jira",
    "confluence",
    "notion",
    "figma",
    "vscode",
    "vs code",
    "visual studio code",
    "vim",
    "neovim",
    "emacs",
    "linux",
    "ubuntu",
    "debian",
    "fedora",
    "arch linux",
    "windows",
    "macos",
    "ios",
    "android",
    "excel",
    "google sheets",
    "tableau",
    "pandas",
    "numpy",
    "pytorch",
    "tensorflow",
    "scikit-learn",
    "jupyter",
    "git",
    "npm",
    "yarn",
    "pnpm",
    "cargo",
    "webpack",
    "vite",
    "vercel",
    "netlify",
    "heroku",
    "cloudflare",
    "chatgpt",
    "claude",
    "zoom",
    "discord",
    "trello",
    "asana",
    "c++",
    "c#",
    "haskell",
    "kotlin",
    "swift",
    "scala",
    "elixir",
    "erlang",
    "php",
    "perl",
    "bash",
    "zsh",
    "powershell",
    "graphql",
    "grpc",
    "nginx",
    "apache",
    "spark",
    "hadoop",
    "airflow",
    "dbt",
    "snowflake",
    "bigquery",
    "databricks",
    "postman",
    "xcode",
    "intellij",
    "pycharm",
    "supabase",
    "firebase",
    "tailwind",
    "next.js",
    "nextjs",
    "llvm",
    "webassembly",
    "wasm",
    "tokio",
    "serde",
    "excel",
    "word",
    "powerpoint",
    "google docs",
    "gmail",
    "outlook",
    "teams",
    "microsoft teams",
    "obsidian",
    "photoshop",
    "blender",
    "unity",
    "unreal",
    "godot",
    "matlab",
    "r",
    "julia",
    "fortran",
    "cobol",
    "lua",
    "dart",
    "flutter",
    "zig",
    "ocaml",
    "clojure",
    "prometheus",
    "grafana",
    "datadog",
    "sentry",
    "helm",
    "istio",
    "openai",
    "hugging face",
    "huggingface",
    "langchain",
    "kotlin",
    "mongodb atlas",
    "dynamodb",
    "s3",
    "ec2",
    "lambda",
    "cloud run",
    "app engine",
];

/// Tools whose lowercase spelling is also an everyday word: only recognised when capitalized.
const AMBIGUOUS_TOOLS: &[&str] = &[
    "rust", "slack", "java", "ruby", "rails", "flask", "react", "vue", "bun", "notion", "excel", "git", "cargo",
    "zoom", "swift", "spark", "apache", "word", "teams", "unity", "r", "julia", "lua", "dart", "zig", "lambda",
    "windows", "claude", "sentry", "helm", "vite", "yarn", "angular", "scala", "go",
];

/// Countries and big cities.
const PLACES: &[&str] = &[
    "afghanistan",
    "albania",
    "algeria",
    "argentina",
    "armenia",
    "australia",
    "austria",
    "bangladesh",
    "belgium",
    "bolivia",
    "brazil",
    "bulgaria",
    "cambodia",
    "cameroon",
    "canada",
    "chile",
    "china",
    "colombia",
    "croatia",
    "cuba",
    "cyprus",
    "czechia",
    "czech republic",
    "denmark",
    "ecuador",
    "egypt",
    "estonia",
    "ethiopia",
    "finland",
    "france",
    "georgia",
    "germany",
    "ghana",
    "greece",
    "guatemala",
    "hungary",
    "iceland",
    "india",
    "indonesia",
    "iran",
    "iraq",
    "ireland",
    "israel",
    "italy",
    "jamaica",
    "japan",
    "jordan",
    "kazakhstan",
    "kenya",
    "korea",
    "south korea",
    "north korea",
    "kuwait",
    "latvia",
    "lebanon",
    "lithuania",
    "luxembourg",
    "malaysia",
    "malta",
    "mexico",
    "morocco",
    "nepal",
    "netherlands",
    "the netherlands",
    "new zealand",
    "nigeria",
    "norway",
    "pakistan",
    "panama",
    "peru",
    "philippines",
    "poland",
    "portugal",
    "qatar",
    "romania",
    "russia",
    "saudi arabia",
    "scotland",
    "senegal",
    "serbia",
    "singapore",
    "slovakia",
    "slovenia",
    "south africa",
    "spain",
    "sri lanka",
    "sweden",
    "switzerland",
    "syria",
    "taiwan",
    "tanzania",
    "thailand",
    "tunisia",
    "turkey",
    "uganda",
    "ukraine",
    "united arab emirates",
    "uae",
    "united kingdom",
    "uk",
    "england",
    "wales",
    "united states",
    "usa",
    "us",
    "uruguay",
    "venezuela",
    "vietnam",
    "zimbabwe",
    "europe",
    "asia",
    "africa",
    "antarctica",
    "north america",
    "south america",
    "new york",
    "new york city",
    "nyc",
    "los angeles",
    "san francisco",
    "chicago",
    "boston",
    "seattle",
    "austin",
    "miami",
    "denver",
    "portland",
    "atlanta",
    "washington",
    "philadelphia",
    "toronto",
    "vancouver",
    "montreal",
    "london",
    "manchester",
    "liverpool",
    "leeds",
    "edinburgh",
    "glasgow",
    "dublin",
    "paris",
    "lyon",
    "marseille",
    "berlin",
    "munich",
    "hamburg",
    "frankfurt",
    "cologne",
    "amsterdam",
    "rotterdam",
    "brussels",
    "madrid",
    "barcelona",
    "valencia",
    "seville",
    "lisbon",
    "porto",
    "rome",
    "milan",
    "naples",
    "florence",
    "venice",
    "vienna",
    "zurich",
    "geneva",
    "prague",
    "warsaw",
    "krakow",
    "budapest",
    "athens",
    "istanbul",
    "stockholm",
    "oslo",
    "copenhagen",
    "helsinki",
    "reykjavik",
    "moscow",
    "kyiv",
    "kiev",
    "tel aviv",
    "jerusalem",
    "dubai",
    "abu dhabi",
    "cairo",
    "lagos",
    "nairobi",
    "cape town",
    "johannesburg",
    "casablanca",
    "mumbai",
    "delhi",
    "new delhi",
    "bangalore",
    "bengaluru",
    "chennai",
    "kolkata",
    "hyderabad",
    "karachi",
    "lahore",
    "dhaka",
    "beijing",
    "shanghai",
    "shenzhen",
    "hong kong",
    "taipei",
    "tokyo",
    "osaka",
    "kyoto",
    "seoul",
    "singapore",
    "bangkok",
    "hanoi",
    "ho chi minh city",
    "manila",
    "jakarta",
    "kuala lumpur",
    "sydney",
    "melbourne",
    "brisbane",
    "perth",
    "auckland",
    "wellington",
    "mexico city",
    "sao paulo",
    "são paulo",
    "rio de janeiro",
    "buenos aires",
    "santiago",
    "lima",
    "bogota",
    "bogotá",
    "havana",
    "kerala",
    "bavaria",
    "california",
    "texas",
    "florida",
    "ontario",
    "quebec",
    "queensland",
    "catalonia",
    "tuscany",
];

/// Places whose lowercase spelling is also an everyday word.
const AMBIGUOUS_PLACES: &[&str] = &[
    "georgia",
    "jordan",
    "turkey",
    "chile",
    "china",
    "us",
    "nice",
    "reading",
    "bath",
    "washington",
    "perth",
    "lima",
    "santiago",
    "austin",
    "portland",
    "wales",
];

/// A known tool or place starting at `i`: how many words it spans and its kind.
fn known_at(words: &[EntityWord], i: usize) -> Option<(usize, EntityKind)> {
    for len in (1..=3).rev() {
        if i + len > words.len() || words[i..i + len - 1].iter().any(|w| w.brk) {
            continue;
        }
        let lower = words[i..i + len].iter().map(|w| w.lower.as_str()).collect::<Vec<_>>().join(" ");
        let capitalized = words[i].capitalized || words[i].text.chars().any(char::is_uppercase);
        if TOOLS.contains(&lower.as_str()) && (capitalized || !AMBIGUOUS_TOOLS.contains(&lower.as_str())) {
            return Some((len, EntityKind::Tool));
        }
        if PLACES.contains(&lower.as_str()) {
            let cue = i > 0
                && matches!(
                    words[i - 1].lower.as_str(),
                    "in" | "from" | "to" | "near" | "visit" | "visiting" | "visited"
                );
            // "US" must be written in capitals: "us" is a pronoun.
            let ok = if lower == "us" || lower == "uk" {
                words[i].text.chars().all(char::is_uppercase)
            } else {
                capitalized || (cue && !AMBIGUOUS_PLACES.contains(&lower.as_str()))
            };
            if ok {
                return Some((len, EntityKind::Place));
            }
        }
    }
    None
}

fn org_suffix(run: &[EntityWord]) -> bool {
    const SUFFIXES: &[&str] = &[
        "inc",
        "corp",
        "corporation",
        "ltd",
        "llc",
        "gmbh",
        "ag",
        "sa",
        "co",
        "company",
        "university",
        "college",
        "institute",
        "bank",
        "labs",
        "lab",
        "foundation",
        "group",
        "technologies",
        "systems",
        "analytics",
        "hospital",
        "school",
        "academy",
        "agency",
        "ministry",
        "council",
        "partners",
        "studio",
        "studios",
        "press",
        "records",
        "software",
        "solutions",
        "consulting",
        "ventures",
        "capital",
        "holdings",
        "airlines",
        "motors",
    ];
    run.len() >= 2
        && (run.last().is_some_and(|w| SUFFIXES.contains(&w.lower.as_str()))
            || matches!(run[0].lower.as_str(), "university" | "bank" | "institute" | "college"))
}

fn kind_from_context(words: &[EntityWord], i: usize, j: usize) -> EntityKind {
    let before = |k: usize| if i >= k { words[i - k].lower.as_str() } else { "" };
    let after = words.get(j).map_or("", |w| w.lower.as_str());
    let first = words[i].lower.as_str();
    if matches!(first, "mr" | "mrs" | "ms" | "dr" | "prof") {
        return EntityKind::Person;
    }
    if first == "project" || before(1) == "project" || matches!(after, "project" | "app") {
        return EntityKind::Project;
    }
    const PEOPLE: &[&str] = &[
        "friend",
        "colleague",
        "boss",
        "sister",
        "brother",
        "wife",
        "husband",
        "partner",
        "mom",
        "dad",
        "mum",
        "son",
        "daughter",
        "cousin",
        "uncle",
        "aunt",
        "manager",
        "coworker",
        "co-worker",
        "roommate",
        "flatmate",
        "girlfriend",
        "boyfriend",
        "neighbor",
        "neighbour",
        "teacher",
        "doctor",
        "therapist",
        "grandma",
        "grandpa",
        "niece",
        "nephew",
        "fiance",
        "fiancée",
        "fiancee",
        "mentor",
        "coach",
        "landlord",
        "bestie",
    ];
    if PEOPLE.contains(&before(1))
        || matches!(
            before(1),
            "with"
                | "met"
                | "meeting"
                | "meet"
                | "told"
                | "ask"
                | "asked"
                | "called"
                | "texted"
                | "emailed"
                | "dear"
                | "thanks"
                | "hi"
                | "hey"
        )
    {
        return EntityKind::Person;
    }
    if matches!(after, "said" | "says" | "thinks" | "wants" | "told" | "asked" | "called" | "texted" | "emailed") {
        return EntityKind::Person;
    }
    // "my name is Dana Whitfield", "call me Benji", "friend is Priya": a name of a person.
    if (before(1) == "is" && matches!(before(2), "name" | "friend" | "wife" | "husband" | "partner" | "boss"))
        || (before(1) == "me" && matches!(before(2), "call" | "calls"))
    {
        return EntityKind::Person;
    }
    if matches!(before(1), "at" | "for" | "join" | "joined" | "joining")
        && matches!(
            before(2),
            "work"
                | "works"
                | "working"
                | "worked"
                | "job"
                | "intern"
                | "interning"
                | "engineer"
                | "developer"
                | "manager"
        )
    {
        return EntityKind::Organization;
    }
    if matches!(before(1), "using" | "use" | "uses" | "used" | "via") {
        return EntityKind::Tool;
    }
    if matches!(
        before(1),
        "in" | "from" | "to" | "near" | "visit" | "visiting" | "visited" | "around" | "outside" | "across"
    ) {
        return EntityKind::Place;
    }
    EntityKind::Other
}
