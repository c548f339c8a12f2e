//! The rule-based extractor: first-person statements of a conversation read by hand-written
//! patterns over lowercase words, no model and no regex.
//!
//! How a message is read:
//! 1. Only the user's messages (role `user`, or no role) are read; the assistant's are context
//!    the rules do not need.
//! 2. Each message is split into sentences and words; contractions are expanded (`I'm` -> `i
//!    am`), so patterns match plain word sequences.
//! 3. A clause starts at a sentence start, after a comma or a conjunction, or at a subject (`I`,
//!    `we`, `my`) that no subordinator (`if`, `when`, `that`) governs. Leading fillers (`oh`,
//!    `btw`), hedges (`I think`, `maybe`: confidence 0.75) and a leading date (`next week`) are
//!    read off first.
//! 4. Patterns by kind: rules (`always`, `never`, `from now on`, `please don't`, imperatives
//!    with a standing marker), identity (`my name is`, `I'm a <role>`, `I live in`), preferences
//!    (`I love`, `my favourite X is Y`), plans (`I'm going to`, `I'll`, `I have a meeting
//!    tomorrow`), decisions (`we decided`, `let's go with`), facts (`I'm allergic to`, `my sister
//!    lives in`, `I have a dog named Rex`).
//! 5. A sentence opened by a correction marker (`actually`, `no`, `correction:`, `scratch
//!    that`) restates the latest candidate of its conversation: with a full statement, that
//!    statement becomes the correction; with a fragment (`it's tea`, `Thursday not Wednesday`),
//!    the fragment replaces the earlier value or date.
//!
//! Content is third person about the user ("User's favourite drink is tea"), with relative
//! dates resolved ([`crate::text`]).

use std::collections::{HashMap, HashSet};

use memory_core::{Confidence, MemoryId, Timestamp};

use crate::extract::{Candidate, CandidateKind, Episode, ExtractError, Extractor};
use crate::text::{self, Date};

/// Confidence of an explicit statement and of a correction.
const EXPLICIT: f64 = 0.95;
/// Confidence of a hedged statement ("I think", "maybe", "probably").
const HEDGED: f64 = 0.75;
/// The most words an object (what a statement is about) keeps.
const MAX_OBJECT_WORDS: usize = 24;
/// The most words a rule keeps.
const MAX_RULE_WORDS: usize = 60;
/// The most bytes a candidate's content keeps.
const MAX_CONTENT: usize = 2_000;

/// The rule-based extractor: works out of the box, deterministic, no IO.
///
/// See the module documentation for what it reads. It is fast (plain word matching, no regex)
/// and never fails: `extract` always returns `Ok`.
#[derive(Debug, Clone, Copy, Default)]
pub struct RuleExtractor {
    _private: (),
}

impl RuleExtractor {
    /// A rule-based extractor.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Extractor for RuleExtractor {
    fn name(&self) -> String {
        "rules".to_owned()
    }

    fn extract(&self, episodes: &[Episode]) -> Result<Vec<Candidate>, ExtractError> {
        Ok(extract_all(episodes))
    }
}

// ---------------------------------------------------------------------------------------------
// Driving: episodes -> conversations -> sentences -> drafts -> candidates.

/// A candidate as it is built: its content in parts, so that a correction can replace the value
/// or the date of an earlier one.
#[derive(Debug, Clone)]
struct Draft {
    kind: CandidateKind,
    /// What comes before the value ("User's favourite drink is").
    head: String,
    /// The part a correction fragment replaces ("coffee").
    value: String,
    /// What follows the value (a leading date moved to the end).
    tail: String,
    slot: Option<String>,
    hedged: bool,
    /// The day phrase inside the content (`on 2026-12-09`), which a dated fragment replaces.
    day: Option<String>,
    /// The clock time inside the content (`at 15:00`), which a fragment's time replaces.
    time: Option<String>,
}

impl Draft {
    fn new(kind: CandidateKind, head: impl Into<String>, value: impl Into<String>, slot: Option<String>) -> Draft {
        Draft {
            kind,
            head: head.into(),
            value: value.into(),
            tail: String::new(),
            slot,
            hedged: false,
            day: None,
            time: None,
        }
    }

    fn with_day(mut self, day: Option<String>) -> Draft {
        self.day = day;
        self
    }

    fn content(&self) -> String {
        let mut out = String::with_capacity(self.head.len() + self.value.len() + self.tail.len() + 2);
        for part in [&self.head, &self.value, &self.tail] {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(part);
        }
        truncate(out.trim().to_owned(), MAX_CONTENT)
    }
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// A candidate emitted so far, with what a later correction needs.
#[derive(Debug, Clone)]
struct Emitted {
    draft: Draft,
    kind: CandidateKind,
    content: String,
    confidence: f64,
    sources: Vec<MemoryId>,
    at: Timestamp,
}

fn extract_all(episodes: &[Episode]) -> Vec<Candidate> {
    let mut order: Vec<usize> = (0..episodes.len()).collect();
    // Callers give time order; a stable sort keeps theirs and mends a stray one.
    order.sort_by_key(|&i| episodes[i].at);

    let mut emitted: Vec<Emitted> = Vec::new();
    let mut last_of: HashMap<Option<&str>, usize> = HashMap::new();
    // Whether a conversation's latest message is the assistant asking something: then a
    // "no, ..." answers it rather than correcting the user.
    let mut asked: HashMap<Option<&str>, bool> = HashMap::new();
    for &index in &order {
        let episode = &episodes[index];
        let conversation = episode.conversation.as_deref();
        if !is_user(episode.role.as_deref()) {
            let question = episode.content.trim_end().ends_with('?');
            asked.insert(conversation, question);
            continue;
        }
        let answering = asked.insert(conversation, false).unwrap_or(false);
        let today = Date::of(episode.at);
        let mut pending_correction = false;
        for (k, sentence) in sentences(&episode.content).into_iter().enumerate() {
            let prev = last_of.get(&conversation).copied();
            let outcome = read_sentence(&sentence, today, prev.map(|p| &emitted[p].draft), answering && k == 0);
            let mut first = true;
            for (draft, correction) in outcome.drafts {
                let corrects = if correction || (pending_correction && first) { prev } else { None };
                first = false;
                let new = match corrects {
                    Some(p) => {
                        pending_correction = false;
                        let earlier = &emitted[p];
                        let mut draft = draft;
                        draft.slot = earlier.draft.slot.clone().or(draft.slot);
                        draft.hedged = false;
                        let mut sources = earlier.sources.clone();
                        sources.push(episode.id);
                        Emitted {
                            kind: CandidateKind::Correction,
                            content: draft.content(),
                            confidence: EXPLICIT,
                            at: earlier.at.max(episode.at),
                            sources,
                            draft,
                        }
                    }
                    None => Emitted {
                        kind: draft.kind,
                        content: draft.content(),
                        confidence: if draft.hedged { HEDGED } else { EXPLICIT },
                        sources: vec![episode.id],
                        at: episode.at,
                        draft,
                    },
                };
                if new.content.is_empty() {
                    continue;
                }
                emitted.push(new);
                last_of.insert(conversation, emitted.len() - 1);
            }
            pending_correction |= outcome.unresolved_correction && prev.is_some();
            // "Translate this: I am a doctor ...": the rest of the message is the pasted text.
            if outcome.pasted_rest {
                break;
            }
        }
    }
    merge(emitted)
}

fn is_user(role: Option<&str>) -> bool {
    role.is_none_or(|r| r.trim().eq_ignore_ascii_case("user"))
}

/// One candidate per kind and content: restatements become more sources of the first.
fn merge(emitted: Vec<Emitted>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::with_capacity(emitted.len());
    let mut seen: HashMap<(CandidateKind, String), usize> = HashMap::new();
    let mut sources_of: Vec<HashSet<MemoryId>> = Vec::with_capacity(emitted.len());
    for e in emitted {
        let key = (e.kind, text::normalize(&e.content));
        if let Some(&i) = seen.get(&key) {
            let c: &mut Candidate = &mut out[i];
            for s in e.sources {
                if sources_of[i].insert(s) {
                    c.sources.push(s);
                }
            }
            c.at = c.at.max(e.at);
            if e.confidence > c.confidence.value() {
                c.confidence = confidence(e.confidence);
            }
            continue;
        }
        seen.insert(key, out.len());
        sources_of.push(e.sources.iter().copied().collect());
        out.push(Candidate {
            kind: e.kind,
            content: e.content,
            confidence: confidence(e.confidence),
            slot: e.draft.slot,
            sources: e.sources,
            at: e.at,
        });
    }
    out
}

fn confidence(value: f64) -> Confidence {
    Confidence::new(value).unwrap_or_else(|_| Confidence::certain())
}

// ---------------------------------------------------------------------------------------------
// Words.

/// One word of a sentence.
#[derive(Debug, Clone)]
struct Tok {
    /// Lowercase, without surrounding punctuation, typographic apostrophes made straight.
    w: String,
    /// As written (without surrounding punctuation).
    text: String,
    /// A clause boundary follows (comma, colon, dash, bracket).
    brk: bool,
    /// A comma follows (kept when rendering).
    comma: bool,
    /// A colon follows: an object may go on past it ("a name for the baby: Iris").
    colon: bool,
    /// Inside quotation marks: someone else's words, no statement of the user's.
    quoted: bool,
}

impl Tok {
    fn capitalized(&self) -> bool {
        self.text.chars().next().is_some_and(char::is_uppercase)
    }
}

/// Abbreviations whose full stop does not end a sentence.
const ABBREVIATIONS: &[&str] = &["st", "dr", "mr", "mrs", "ms", "prof", "jr", "sr", "vs", "approx", "mt", "ft", "no"];

/// Which quotation mark opened the quote being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quote {
    Double,
    Single,
}

fn sentences(content: &str) -> Vec<Vec<Tok>> {
    let mut out = Vec::new();
    let mut current: Vec<Tok> = Vec::new();
    let mut quote: Option<Quote> = None;
    for line in content.lines() {
        for chunk in line.split_whitespace() {
            let core = chunk.trim_matches(|c: char| !c.is_alphanumeric());
            if core.is_empty() {
                if chunk.contains(['"', '\u{201c}', '\u{201d}']) {
                    quote = match quote {
                        Some(_) => None,
                        None => Some(Quote::Double),
                    };
                }
                if chunk.contains(['.', '!', '?', '\u{2026}']) {
                    finish(&mut current, &mut out);
                } else if chunk.contains([',', ':', ';', '-', '\u{2013}', '\u{2014}', '(', ')', '"', '/', '&'])
                    && let Some(last) = current.last_mut()
                {
                    last.brk = true;
                }
                continue;
            }
            let start = chunk.find(core).unwrap_or(0);
            let lead = &chunk[..start];
            let trail = &chunk[start + core.len()..];
            // Quotation marks: a straight one opens when none is open; a single one only before
            // a capital ("'I can't stand Python'"), so that "'90s" and "'cause" open nothing.
            if quote.is_none() {
                if lead.contains(['"', '\u{201c}']) {
                    quote = Some(Quote::Double);
                } else if lead.contains(['\'', '\u{2018}']) && core.starts_with(char::is_uppercase) {
                    quote = Some(Quote::Single);
                }
            }
            let quoted = quote.is_some();
            match quote {
                Some(Quote::Double) if trail.contains(['"', '\u{201d}']) => quote = None,
                Some(Quote::Single) if trail.contains(['\'', '\u{2019}']) => quote = None,
                _ => {}
            }
            if lead.contains(['(', '"', '\u{201c}', '['])
                && let Some(last) = current.last_mut()
            {
                last.brk = true;
            }
            let w: String =
                core.chars().map(|c| if text::is_apostrophe(c) { '\'' } else { c }).collect::<String>().to_lowercase();
            let ends = trail.contains(['!', '?', '\u{2026}', ';'])
                || (trail.contains('.')
                    && !(ABBREVIATIONS.contains(&w.as_str()) || core.contains('.') || is_initial(core)));
            let brk = ends || trail.contains([',', ':', ')', '(', '"', '\u{201d}', '-', '\u{2013}', '\u{2014}', ']']);
            let comma = trail.contains(',');
            let colon = trail.starts_with(':');
            push_expanded(&mut current, &w, core, Marks { brk, comma, colon, quoted });
            if ends {
                finish(&mut current, &mut out);
            }
        }
        finish(&mut current, &mut out);
    }
    out
}

fn is_initial(core: &str) -> bool {
    let mut chars = core.chars();
    matches!((chars.next(), chars.next()), (Some(c), None) if c.is_uppercase())
}

fn finish(current: &mut Vec<Tok>, out: &mut Vec<Vec<Tok>>) {
    if !current.is_empty() {
        if let Some(last) = current.last_mut() {
            last.brk = true;
        }
        out.push(std::mem::take(current));
    }
}

/// Contractions read as their words.
fn expansion(w: &str) -> Option<&'static [&'static str]> {
    Some(match w {
        "i'm" | "im" => &["i", "am"],
        "i've" | "ive" => &["i", "have"],
        "i'll" => &["i", "will"],
        "i'd" => &["i", "would"],
        "don't" | "dont" => &["do", "not"],
        "doesn't" | "doesnt" => &["does", "not"],
        "didn't" | "didnt" => &["did", "not"],
        "can't" | "cant" | "cannot" => &["can", "not"],
        "won't" => &["will", "not"],
        "isn't" | "isnt" => &["is", "not"],
        "aren't" | "arent" => &["are", "not"],
        "wasn't" | "wasnt" => &["was", "not"],
        "haven't" | "havent" => &["have", "not"],
        "hasn't" | "hasnt" => &["has", "not"],
        "wouldn't" | "wouldnt" => &["would", "not"],
        "shouldn't" | "shouldnt" => &["should", "not"],
        "couldn't" | "couldnt" => &["could", "not"],
        "it's" => &["it", "is"],
        "that's" | "thats" => &["that", "is"],
        "what's" | "whats" => &["what", "is"],
        "here's" | "heres" => &["here", "is"],
        "there's" | "theres" => &["there", "is"],
        "let's" => &["let", "us"],
        "we're" => &["we", "are"],
        "we've" => &["we", "have"],
        "we'll" => &["we", "will"],
        "we'd" => &["we", "would"],
        "you're" | "youre" => &["you", "are"],
        "they're" => &["they", "are"],
        "he's" => &["he", "is"],
        "she's" => &["she", "is"],
        "gonna" => &["going", "to"],
        "wanna" => &["want", "to"],
        "gotta" => &["got", "to"],
        "name's" => &["name", "is"],
        "birthday's" => &["birthday", "is"],
        _ => return None,
    })
}

/// The marks a written word carries (see [`Tok`]).
#[derive(Debug, Clone, Copy)]
struct Marks {
    brk: bool,
    comma: bool,
    colon: bool,
    quoted: bool,
}

fn push_expanded(current: &mut Vec<Tok>, w: &str, core: &str, m: Marks) {
    match expansion(w) {
        Some(parts) => {
            let n = parts.len();
            for (k, part) in parts.iter().enumerate() {
                let last = k + 1 == n;
                let text = if *part == "i" { "I".to_owned() } else { (*part).to_owned() };
                current.push(Tok {
                    w: (*part).to_owned(),
                    text,
                    brk: m.brk && last,
                    comma: m.comma && last,
                    colon: m.colon && last,
                    quoted: m.quoted,
                });
            }
        }
        None => current.push(Tok {
            w: w.to_owned(),
            text: core.to_owned(),
            brk: m.brk,
            comma: m.comma,
            colon: m.colon,
            quoted: m.quoted,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Word-matching helpers.

fn at(t: &[Tok], i: usize) -> &str {
    t.get(i).map_or("", |x| x.w.as_str())
}

/// Whether the words from `i` are `pat` (space-separated words, `|` between alternatives);
/// the index after them.
fn seq(t: &[Tok], i: usize, pat: &str) -> Option<usize> {
    let mut j = i;
    for part in pat.split(' ') {
        let w = at(t, j);
        if w.is_empty() || !part.split('|').any(|p| p == w) {
            return None;
        }
        j += 1;
    }
    Some(j)
}

fn is(t: &[Tok], i: usize, alternatives: &str) -> bool {
    let w = at(t, i);
    !w.is_empty() && alternatives.split('|').any(|p| p == w)
}

fn brk_before(t: &[Tok], i: usize) -> bool {
    i == 0 || t.get(i - 1).is_some_and(|x| x.brk)
}

/// Words between a verb and its object that change nothing ("I *really* love").
const ADVERBS: &str = "really|just|also|actually|totally|absolutely|definitely|honestly|seriously|genuinely|truly|still|much|so|quite|usually|generally|mostly|now|finally|already|certainly|literally|super|deeply|originally|currently|basically|personally|def|defo|fully|officially|recently|even|too|always";
/// Adverbs that hedge a statement.
const HEDGE_ADVERBS: &str = "probably|maybe|perhaps|possibly|likely|kinda|prob|hopefully";

/// What a clause's opening told about the statement that follows it.
#[derive(Debug, Default)]
struct Cx {
    /// A hedge was read ("I think", "probably").
    hedged: bool,
    /// A leading date was read ("Next week I'm ..."): the statement refers to a time.
    lead_dated: bool,
}

fn skip_adverbs(t: &[Tok], mut i: usize, hedged: &mut bool) -> usize {
    loop {
        if is(t, i, ADVERBS) && !t[i].brk {
            i += 1;
        } else if is(t, i, HEDGE_ADVERBS) {
            *hedged = true;
            i += 1;
        } else if let Some(j) = seq(t, i, "kind|sort of") {
            *hedged = true;
            i = j;
        } else {
            return i;
        }
    }
}

/// Pronouns and vague words that make an object useless on its own ("I love *it*").
const VAGUE: &str = "it|that|this|them|those|these|you|him|her|your|how|what|when|where|why|which|who|whatever|everything|anything|something|nothing|one|ones|there|here|myself|yourself|if";

/// Words that end an object: a new clause or a side remark begins.
const OBJECT_STOPS: &str = "but|because|cause|cuz|coz|bc|since|if|unless|although|though|tho|which|whereas|while|lol|haha|hahaha|lmao|tbh|btw|fyi|imo|honestly|anyway|anyways|whenever|so|plus|what|who|ngl";

/// Subjects after which `and` / `or` begin a new clause.
const NEW_SUBJECTS: &str = "i|my|we|our|she|he|they|it|you|that|then|also|now|there|this|the|her|his";

/// The end (exclusive) of an object starting at `from`.
fn object_end(t: &[Tok], from: usize) -> usize {
    let limit = t.len().min(from + MAX_OBJECT_WORDS);
    let mut k = from;
    let mut past_colon = false;
    while k < limit {
        if k > from && t[k - 1].brk {
            if !(t[k - 1].colon && !past_colon && k < t.len()) {
                break;
            }
            past_colon = true;
        }
        if k > from && is(t, k, OBJECT_STOPS) {
            break;
        }
        if k > from && is(t, k, "and|or") && is(t, k + 1, NEW_SUBJECTS) {
            break;
        }
        k += 1;
    }
    // Trailing words that carry nothing ("tea these days", "ramen too").
    while k > from {
        let w = at(t, k - 1);
        let two = if k >= from + 2 { format!("{} {}", at(t, k - 2), w) } else { String::new() };
        if matches!(
            two.as_str(),
            "these days"
                | "a lot"
                | "so much"
                | "very much"
                | "as well"
                | "for sure"
                | "i think"
                | "i guess"
                | "right now"
        ) {
            k -= 2;
        } else if matches!(
            w,
            "too"
                | "also"
                | "now"
                | "nowadays"
                | "anymore"
                | "though"
                | "really"
                | "lol"
                | "haha"
                | "tbh"
                | "btw"
                | "honestly"
                | "please"
                | "ever"
                | "anyway"
                | "instead"
                | "actually"
                | "tho"
                | "and"
                | "or"
                | "then"
                | "etc"
        ) {
            k -= 1;
        } else {
            break;
        }
    }
    k
}

fn trailing_hedge(t: &[Tok], from: usize, to: usize) -> bool {
    let end = t.len().min(to + 3);
    (from..end).any(|k| is(t, k, HEDGE_ADVERBS) || seq(t, k, "i think|guess|suppose").is_some())
}

/// An object rendered for content.
#[derive(Debug, Clone)]
struct Obj {
    text: String,
    day: Option<String>,
    time: Option<String>,
    dated: bool,
}

/// Renders `t[from..to]`: first-person words become third person ("my" -> "their"; in a rule,
/// "me" -> "the user"), relative dates are resolved.
fn render(t: &[Tok], from: usize, to: usize, today: Date, rule: bool) -> Obj {
    let to = to.min(t.len());
    let from = from.min(to);
    let span = &t[from..to];
    let cores: Vec<&str> = span.iter().map(|x| x.w.as_str()).collect();
    let n = span.len();
    let resolved = text::resolve(
        &cores,
        today,
        |k| {
            let tok = &span[k];
            let prev = if k > 0 { cores[k - 1] } else { "" };
            let mut word = match (tok.w.as_str(), rule) {
                ("i", true) => "the user".to_owned(),
                ("i", false) => "they".to_owned(),
                ("me" | "myself", true) => "the user".to_owned(),
                ("me", false) => "them".to_owned(),
                ("myself", false) => "themselves".to_owned(),
                ("my" | "our", _) => "their".to_owned(),
                ("mine" | "ours", _) => "theirs".to_owned(),
                ("we", _) => "they".to_owned(),
                ("us", _) => "them".to_owned(),
                ("am", false) if prev == "i" => "are".to_owned(),
                (_, true) if prev == "i" => third_person(&tok.text),
                _ => tok.text.clone(),
            };
            if tok.comma && k + 1 < n {
                word.push(',');
            } else if tok.colon && k + 1 < n {
                word.push(':');
            }
            word
        },
        |k| {
            if span[k].comma && k + 1 < n {
                ",".to_owned()
            } else if span[k].colon && k + 1 < n {
                ":".to_owned()
            } else {
                String::new()
            }
        },
    );
    Obj { text: resolved.words.join(" "), day: resolved.day, time: resolved.time, dated: resolved.found }
}

/// A verb in the third person singular ("ask" -> "asks", "am" -> "is").
fn third_person(verb: &str) -> String {
    let lower = verb.to_lowercase();
    match lower.as_str() {
        "am" => return "is".to_owned(),
        "have" => return "has".to_owned(),
        "do" => return "does".to_owned(),
        "go" => return "goes".to_owned(),
        "was" | "will" | "would" | "can" | "could" | "should" | "might" | "must" | "may" | "shall" | "always"
        | "never" | "usually" | "often" | "sometimes" | "really" | "just" | "also" | "did" | "had" | "not" => {
            return verb.to_owned();
        }
        _ => {}
    }
    if !lower.chars().all(|c| c.is_alphabetic()) || lower.len() < 2 {
        return verb.to_owned();
    }
    if lower.ends_with('s')
        || lower.ends_with("sh")
        || lower.ends_with("ch")
        || lower.ends_with('x')
        || lower.ends_with('z')
    {
        format!("{verb}es")
    } else if lower.ends_with('y')
        && !lower.ends_with("ay")
        && !lower.ends_with("ey")
        && !lower.ends_with("oy")
        && !lower.ends_with("uy")
    {
        let stem = verb.char_indices().last().map_or(verb, |(k, _)| &verb[..k]);
        format!("{stem}ies")
    } else {
        format!("{verb}s")
    }
}

/// Words left out of slot keys.
const KEY_STOPS: &str = "a|an|the|to|of|for|in|on|at|with|my|their|your|our|some|any|and|or|very|really|so|just|this|that|these|those|is|are|be|up|off|out|about|more|most|much|lot|bit|by|from|it|me|them|i|we|into|over|than|not|do|does|all|get|go|going|will|would|new";

/// A stable lowercase key from the content words of `t[from..to]`, dates left out.
fn key(t: &[Tok], from: usize, to: usize, today: Date, n: usize) -> String {
    let to = to.min(t.len());
    let cores: Vec<&str> = t[from.min(to)..to].iter().map(|x| x.w.as_str()).collect();
    let mut out: Vec<String> = Vec::new();
    let mut k = 0;
    while k < cores.len() && out.len() < n {
        if let Some(m) = text::match_date(&cores, k, today) {
            k += m.len;
            continue;
        }
        let w = cores[k];
        if !KEY_STOPS.split('|').any(|s| s == w) {
            let normalized = text::normalize(w);
            if !normalized.is_empty() {
                out.push(normalized);
            }
        }
        k += 1;
    }
    out.join(" ")
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        // "I" stays, and so do names and acronyms ("SQL", "JSON").
        Some(first) if first.is_uppercase() && chars.clone().next().is_some_and(char::is_lowercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether `t[from..to]` holds a content word outside its date expressions ("ordering
/// tonight" and "buying it tomorrow" hold none).
fn has_content_outside_dates(t: &[Tok], from: usize, to: usize, today: Date) -> bool {
    let to = to.min(t.len());
    let cores: Vec<&str> = t[from.min(to)..to].iter().map(|x| x.w.as_str()).collect();
    let mut k = 0;
    while k < cores.len() {
        if let Some(m) = text::match_date(&cores, k, today) {
            k += m.len;
            continue;
        }
        if !is_word(cores[k], VAGUE) && !is_word(cores[k], KEY_STOPS) && cores[k].chars().any(char::is_alphanumeric) {
            return true;
        }
        k += 1;
    }
    false
}

fn has_content_word(t: &[Tok], from: usize, to: usize) -> bool {
    (from..to.min(t.len()))
        .any(|k| !is(t, k, VAGUE) && !is(t, k, KEY_STOPS) && t[k].w.chars().any(char::is_alphanumeric))
}

/// Whether a clause refers to a time: a resolved date, a month, a season, a weekday.
fn refers_to_time(t: &[Tok], from: usize, to: usize, obj: &Obj, lead_dated: bool) -> bool {
    lead_dated || obj.dated || (from..to.min(t.len())).any(|k| text::is_time_word(&t[k].w) || t[k].text == "May")
}

// ---------------------------------------------------------------------------------------------
// Sentences.

/// What a sentence yields: drafts (each flagged when it is a correction of the latest one) and
/// whether it announced a correction it did not state ("Sorry, I meant ...").
#[derive(Debug, Default)]
struct Outcome {
    drafts: Vec<(Draft, bool)>,
    unresolved_correction: bool,
    /// The sentence introduced a text to work on ("proofread this:"): what follows is not the
    /// user speaking about themselves.
    pasted_rest: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Marker {
    None,
    Weak,
    Strong,
}

/// Reads one sentence; `answering` when it opens the user's reply to an assistant's question
/// (a weak marker, "no, ...", then answers instead of correcting).
fn read_sentence(t: &[Tok], today: Date, prev: Option<&Draft>, answering: bool) -> Outcome {
    let mut out = Outcome::default();
    // Quoted words are someone else's; a task, a story or a hypothetical states nothing.
    if t.first().is_some_and(|x| x.quoted) {
        return out;
    }
    if let Some(pasted) = not_a_statement(t) {
        out.pasted_rest = pasted;
        return out;
    }
    let (body, marker) = correction_marker(t);
    if marker == Marker::None || prev.is_none() || (answering && marker == Marker::Weak) {
        out.drafts = clauses(t, today).into_iter().map(|d| (d, false)).collect();
        return out;
    }
    let Some(prev) = prev else { return out };
    let body_toks = &t[body.0..body.1];
    let drafts = clauses(body_toks, today);
    let additive = body_toks.iter().any(|x| matches!(x.w.as_str(), "also" | "too" | "another"));
    // "actually let's do Saturday instead": only the date changes.
    let date_only = drafts.first().is_some_and(|d| {
        d.day.as_ref().is_some_and(|day| {
            let rest = d.value.replacen(day.as_str(), " ", 1);
            text::words(&rest).iter().all(|w| {
                matches!(
                    w.as_str(),
                    "do" | "it"
                        | "instead"
                        | "that"
                        | "then"
                        | "rather"
                        | "the"
                        | "make"
                        | "go"
                        | "with"
                        | "for"
                        | "on"
                )
            })
        })
    });
    if date_only
        && prev.day.is_some()
        && let Some(d) = fragment_correction(body_toks, today, prev)
    {
        out.drafts.push((d, true));
        return out;
    }
    if let Some(first) = drafts.first() {
        let corrects = !additive
            && (marker == Marker::Strong
                || first.kind == prev.kind
                || (first.slot.is_some() && first.slot == prev.slot));
        for (k, d) in drafts.into_iter().enumerate() {
            out.drafts.push((d, corrects && k == 0));
        }
        return out;
    }
    match fragment_correction(body_toks, today, prev) {
        Some(d) => out.drafts.push((d, true)),
        None => out.unresolved_correction = marker == Marker::Strong,
    }
    out
}

/// Verbs whose object is always a text or a role ("translate to Spanish: ...", "pretend").
const TEXT_VERBS: &str =
    "translate|proofread|rephrase|paraphrase|summarize|summarise|reword|roleplay|role-play|pretend|imagine";
/// Verbs of a request that works on a text when one is named ("write a story", "edit this").
const TASK_VERBS: &str = "write|draft|compose|rewrite|edit|polish|generate|create|continue|critique|review|grade|analyze|analyse|improve|shorten|simplify|tweak|fix|check|make";
/// Nouns that name a text the user pastes ("here's the review:").
const TEXTS: &str = "review|reviews|sample|example|text|story|poem|script|transcript|excerpt|passage|quote|tweet|post|essay|dialogue|paragraph|sentence|sentences|message|reply|comment|caption|lyrics|prompt|bio|email|letter|draft";

/// Whether a sentence states nothing about the user: a request to work on a text or to tell a
/// story, a hypothetical. `Some(true)` when it introduces a text that the rest of the message
/// holds (a colon after the request, "here's the review:").
fn not_a_statement(t: &[Tok]) -> Option<bool> {
    let mut ignored = false;
    let mut i = skip_fillers(t, 0, &mut ignored).unwrap_or(0);
    if let Some(n) = seq(t, i, "can|could|would|will you").or_else(|| seq(t, i, "help me")) {
        i = n;
    }
    while is(t, i, "please|pls|plz|kindly|quickly|just") {
        i += 1;
    }
    let colon = t.iter().any(|x| x.colon);
    // A standing rule may open with one of these verbs ("always check my spelling").
    let names_text = || {
        (i + 1..t.len().min(i + 7))
            .take_while(|&k| !t[k - 1].brk || t[k - 1].colon)
            .any(|k| is(t, k, TEXTS) || is(t, k, "this|following|these|below|above"))
    };
    if (is(t, i, TEXT_VERBS) || (is(t, i, TASK_VERBS) && names_text())) && !standing_marker(t) {
        return Some(colon);
    }
    // "if I were rich", "imagine you are", "hypothetically".
    if seq(t, i, "if i|we were|was|had|could").is_some()
        || seq(t, i, "what if").is_some()
        || seq(t, i, "let us say|pretend").is_some()
        || is(t, i, "hypothetically|imagine|pretend|suppose|supposing")
    {
        return Some(false);
    }
    // "here's the review:", "sample text:".
    if colon {
        let before_colon = t.iter().position(|x| x.colon).unwrap_or(0);
        if (i..=before_colon).any(|k| is(t, k, TEXTS)) && !(i..before_colon).any(|k| is(t, k, "i|we")) {
            return Some(true);
        }
    }
    None
}

/// The words after a leading correction marker, and how strong the marker is.
fn correction_marker(t: &[Tok]) -> ((usize, usize), Marker) {
    let mut end = t.len();
    let mut marker = Marker::None;
    // "..., actually" at the end.
    if end >= 2 && at(t, end - 1) == "actually" && t[end - 2].brk {
        marker = Marker::Weak;
        end -= 1;
    }
    let mut i = 0;
    loop {
        if is(t, i, "oh|ok|okay|hmm|um|uh|ah|oops|whoops|ugh|err|erm") {
            if is(t, i, "oops|whoops") {
                marker = Marker::Strong;
            }
            i += 1;
        } else if is(t, i, "actually") {
            marker = marker.max(Marker::Weak);
            i += 1;
        } else if is(t, i, "typo|mistake|oops") && (marker > Marker::None || t[i].brk) {
            marker = Marker::Strong;
            i += 1;
        } else if is(t, i, "no|nope|nah") && t[i].brk {
            marker = marker.max(Marker::Weak);
            i += 1;
        } else if (is(t, i, "no") && is(t, i + 1, "wait|sorry"))
            || (is(t, i, "wait|correction|sorry|update")
                && (t[i].brk || is(t, i + 1, "i|it|its|make|no|actually|that")))
        {
            marker = Marker::Strong;
            i += 1;
        } else if let Some(j) = seq(t, i, "i meant|mean")
            .or_else(|| seq(t, i, "scratch|strike that"))
            .or_else(|| seq(t, i, "my bad"))
            .or_else(|| seq(t, i, "hold on"))
            .or_else(|| seq(t, i, "change of plan|plans"))
            .or_else(|| seq(t, i, "let me correct that|myself"))
        {
            marker = Marker::Strong;
            i = j;
        } else if is(t, i, "make") && is(t, i + 1, "that|it") && marker > Marker::None {
            i += 2;
        } else {
            break;
        }
        if i >= end {
            break;
        }
    }
    if marker == Marker::None {
        // "well, vegetarian actually, I still eat cheese", "ugh, 42 actually", "teal really": a
        // fragment, then the marker ("really" only when it ends the sentence).
        let mut start = 0;
        while is(t, start, "well|hmm|hm|so|oh|um|uh|ugh|ah|erm|err|ok|okay|lol|sorry|oops|nah|no")
            && t.len() > start + 1
        {
            start += 1;
        }
        if let Some(k) = (start + 1..t.len().min(start + 5)).find(|&k| {
            (at(t, k) == "actually" && (t[k].brk || k + 1 == t.len()))
                || (at(t, k) == "really" && t[k].brk && (k + 1 == t.len() || t[k].comma))
        }) && !(start..k)
            .any(|x| is(t, x, "i|we|my|it|you|this|that|not|is|are|was|do|does|did|have|has|love|like|hate"))
            && !(start..k - 1).any(|x| t[x].brk)
        {
            return ((start, k), Marker::Weak);
        }
        return ((0, t.len()), Marker::None);
    }
    ((i.min(end), end), marker)
}

/// A correction stated as a fragment ("it's tea", "Thursday not Wednesday", "moved to next
/// month"): the earlier draft with its value or its date replaced.
fn fragment_correction(t: &[Tok], today: Date, prev: &Draft) -> Option<Draft> {
    let mut i = 0;
    loop {
        let next = seq(t, i, "it|that|its is|was|will")
            .map(|j| if is(t, j, "be") { j + 1 } else { j })
            .or_else(|| seq(t, i, "its"))
            .or_else(|| seq(t, i, "make|made that|it"))
            .or_else(|| seq(t, i, "i meant|mean"))
            .or_else(|| seq(t, i, "it|that got|was|has|is been moved|changed|pushed|rescheduled|postponed|delayed"))
            .or_else(|| seq(t, i, "it|that got|was|has|is moved|changed|pushed|rescheduled|postponed|delayed"))
            .or_else(|| seq(t, i, "moved|changed|pushed|rescheduled|postponed|delayed"))
            .map(|j| if is(t, j, "to|until|till|back") { j + 1 } else { j })
            .or_else(|| seq(t, i, "actually|rather|instead|no|not|wait|sorry|oh|ok"))
            .or_else(|| seq(t, i, "been"));
        match next {
            Some(j) if j > i => i = j,
            _ => break,
        }
    }
    // "tea, not coffee" / "not coffee, tea": the negated part goes.
    let mut words: Vec<usize> = Vec::new();
    let mut k = i;
    while k < t.len() {
        if is(t, k, "not") {
            k += 1;
            while k < t.len() && !t[k - 1].brk {
                k += 1;
            }
            continue;
        }
        words.push(k);
        k += 1;
    }
    let kept: Vec<Tok> = words.iter().map(|&k| t[k].clone()).collect();
    if kept.is_empty() {
        return None;
    }
    // A date in the fragment's first clause: replace the earlier one's day.
    let cores: Vec<&str> = kept.iter().map(|x| x.w.as_str()).collect();
    let first_clause = kept.iter().position(|x| x.brk).map_or(kept.len(), |k| k + 1);
    let dated = (0..first_clause).find_map(|k| {
        let mut with_on: Vec<&str> = Vec::with_capacity(cores.len() + 1 - k);
        if !matches!(
            cores[k],
            "on" | "by"
                | "until"
                | "till"
                | "before"
                | "after"
                | "from"
                | "at"
                | "in"
                | "for"
                | "next"
                | "this"
                | "last"
                | "to"
        ) {
            with_on.push("on");
        }
        with_on.extend(cores[k..].iter().copied());
        text::match_date(&with_on, 0, today).map(|m| (m, with_on))
    });
    // A clock time alone ("sorry, 4pm"): replace the earlier one's time.
    if dated.as_ref().is_none_or(|(m, _)| m.is_time) {
        let mut with_at: Vec<&str> = vec!["at"];
        with_at.extend(cores[..first_clause].iter().copied().skip_while(|w| *w == "at"));
        if let Some(m) = text::match_date(&with_at, 0, today).filter(|m| m.is_time) {
            let mut d = prev.clone();
            match prev.time.as_deref() {
                Some(old) if d.value.contains(old) => d.value = d.value.replacen(old, &m.phrase, 1),
                Some(old) if d.tail.contains(old) => d.tail = d.tail.replacen(old, &m.phrase, 1),
                _ => d.tail = format!("{} {}", d.tail, m.phrase),
            }
            d.time = Some(m.phrase);
            return Some(d);
        }
    }
    if let Some((m, with_on)) = dated.filter(|(m, _)| !m.is_time) {
        let mut phrase = m.phrase;
        // "Thursday at 7" : a following time is kept.
        if let Some(time) = text::match_date(&with_on, m.len, today).filter(|t| t.is_time) {
            phrase = format!("{phrase} {}", time.phrase);
        }
        let mut d = prev.clone();
        let replaced = match &prev.day {
            Some(old) if !old.is_empty() => {
                let (head, value, tail) = (d.head.clone(), d.value.clone(), d.tail.clone());
                d.head = head.replacen(old.as_str(), &phrase, 1);
                d.value = value.replacen(old.as_str(), &phrase, 1);
                d.tail = tail.replacen(old.as_str(), &phrase, 1);
                d.head != head || d.value != value || d.tail != tail
            }
            _ => false,
        };
        if !replaced {
            d.tail = format!("{} {phrase}", d.tail);
        }
        d.day = Some(m.day_phrase);
        return Some(d);
    }
    // A value: a short noun phrase, not a new statement.
    let end = object_end(&kept, 0);
    if end == 0
        || end > 6
        || is(&kept, 0, "i|we|my|you|he|she|they|so|and|but|just|ok|yes|thanks")
        || !has_content_word(&kept, 0, end)
    {
        return None;
    }
    if prev.value.trim().is_empty() {
        return None;
    }
    let value = render(&kept, 0, end, today, false);
    let mut d = prev.clone();
    // "meeting Jonas for lunch" + "it's Jonah": only the name changes.
    let names_only = kept[..end].iter().all(Tok::capitalized);
    let old_name = prev.value.split(' ').skip(1).find(|w| w.chars().next().is_some_and(char::is_uppercase));
    let number = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_digit());
    // "41 years old" + "42", "is 6 and loves trains" + "7": the number changes.
    let old_number = prev.value.split(' ').find(|w| number(w));
    d.value = match old_name {
        Some(old) if names_only && end == 1 && !prev.value.starts_with(old) => prev.value.replacen(old, &value.text, 1),
        _ if end == 1 && number(&value.text) && old_number.is_some() => {
            let old = old_number.unwrap_or_default();
            let mut words: Vec<&str> = prev.value.split(' ').collect();
            if let Some(w) = words.iter_mut().find(|w| **w == old) {
                *w = value.text.as_str();
            }
            words.join(" ")
        }
        _ => value.text,
    };
    Some(d)
}

/// The drafts of a sentence's clauses.
fn clauses(t: &[Tok], today: Date) -> Vec<Draft> {
    let mut out = Vec::new();
    let mut ignored = false;
    // A question's own clause states nothing ("should I use tabs?"), except a request for a
    // standing rule, which `clause` reads at the sentence start.
    let opening = skip_fillers(t, 0, &mut ignored).unwrap_or(0);
    let question_end =
        if is_question(t, opening) { t.iter().position(|x| x.brk).map_or(t.len(), |k| k + 1) } else { 0 };
    // Computed once: a per-clause scan of the sentence would be quadratic on a long one.
    let standing = standing_marker(t);
    let reported = reported_speech(t);
    let mut consumed = 0;
    for k in 0..t.len() {
        if k < consumed || t[k].quoted || k > reported {
            continue;
        }
        let clause_start = k == 0
            || t[k - 1].brk
            || is(t, k - 1, "and|but|so|also|plus|then|because|cause|cuz|though|tho|although|while|or");
        let subject_start = is(t, k, "i|we|my|let") && (k == 0 || !is(t, k - 1, SUBORDINATORS));
        if (!clause_start && !subject_start) || (k > 0 && k < question_end) {
            continue;
        }
        if let Some((draft, end)) = clause(t, k, clause_start, standing, today) {
            let identity =
                draft.kind == CandidateKind::Identity && matches!(draft.slot.as_deref(), Some("name" | "job"));
            let hedged = draft.hedged;
            out.push(draft);
            consumed = end.max(k + 1);
            // "I'm Sam, a nurse from Leeds": the role and the place said alongside.
            if identity {
                let mut end = end;
                while let Some((mut more, next)) = appositive(t, end, today) {
                    more.hedged = hedged;
                    out.push(more);
                    end = next;
                }
                consumed = consumed.max(end);
            }
        }
    }
    out
}

/// What follows a name or a role and says more about the same person: ", a nurse", "from
/// Leeds", "in Leeds", "at Acme".
fn appositive(t: &[Tok], i: usize, today: Date) -> Option<(Draft, usize)> {
    if i == 0 || i >= t.len() {
        return None;
    }
    if t[i - 1].comma && is(t, i, "a|an") {
        let (_, end) = role_phrase(t, i + 1)?;
        let end = workplace(t, end).unwrap_or(end);
        let obj = render(t, i, end, today, false);
        return Some((Draft::new(CandidateKind::Identity, "User is", obj.text, Some("job".into())), end));
    }
    if t[i - 1].brk && !t[i - 1].comma {
        return None;
    }
    let n = i;
    if let Some(m) = seq(t, n, "from").or_else(|| seq(t, n, "originally from")) {
        if !t.get(m).is_some_and(Tok::capitalized) {
            return None;
        }
        let end = place_at(t, m)?;
        let obj = render(t, m, end, today, false);
        return Some((Draft::new(CandidateKind::Identity, "User is from", obj.text, Some("origin".into())), end));
    }
    if let Some(m) = seq(t, n, "in").or_else(|| seq(t, n, "based|living in")).or_else(|| seq(t, n, "out of")) {
        if !t.get(m).is_some_and(Tok::capitalized) || is(t, m, "i") || text::is_time_word(&t[m].w) {
            return None;
        }
        let end = place_at(t, m)?;
        let obj = render(t, m, end, today, false);
        return Some((Draft::new(CandidateKind::Identity, "User lives in", obj.text, Some("home".into())), end));
    }
    None
}

/// Verbs that report someone else's words or thoughts ("he told me", "my coworker said").
const REPORTING: &str = "said|says|say|told|tells|tell|claims|claimed|wrote|writes|asked|asks|thinks|thought|reckons|insists|insisted|mentioned|mentions|swears|swore|texted|messaged|announced|explained|joked|admitted|complained";

/// Where reported speech begins: the index of a reporting verb whose subject is someone else
/// ("my coworker said I ..."); what follows it in the sentence is their statement. `usize::MAX`
/// when there is none.
fn reported_speech(t: &[Tok]) -> usize {
    for k in 1..t.len() {
        // "after a lot of thought" is no report.
        if !is(t, k, REPORTING) || t[k].quoted || is(t, k - 1, "of|a|the|some|any|no|much|second|more") {
            continue;
        }
        // The subject: the words back to the clause start (at most four).
        let from = (k.saturating_sub(4)..k).rev().find(|&j| j == 0 || t[j - 1].brk).unwrap_or(k.saturating_sub(4));
        let subject = &t[from..k];
        let first_person = subject.iter().any(|x| matches!(x.w.as_str(), "i" | "we"));
        let someone = subject.iter().enumerate().any(|(o, x)| {
            matches!(
                x.w.as_str(),
                "he" | "she" | "they" | "my" | "our" | "his" | "her" | "their" | "everyone" | "someone"
            ) || (x.capitalized() && from + o > 0)
        });
        if !first_person && someone {
            return k;
        }
        // "according to my boss"
    }
    (0..t.len().saturating_sub(1)).find(|&k| seq(t, k, "according to").is_some()).map_or(usize::MAX, |k| k + 1)
}

/// Words after which a subject does not state anything about the user ("if I", "what I").
const SUBORDINATORS: &str = "if|when|whenever|what|that|which|who|whom|whether|unless|than|as|where|how|why|until|once|thing|things|stuff|everything|anything|something|one|ones|like|know|wonder|wish|hope|whatever|before|after|say|said|tell|told|because|cause|cuz|think|guess|suppose|believe|see|remember|forget|mean";

/// Fillers read off the start of a clause.
fn skip_fillers(t: &[Tok], mut i: usize, hedged: &mut bool) -> Option<usize> {
    loop {
        let before = i;
        if let Some(j) = seq(t, i, "by the way")
            .or_else(|| seq(t, i, "for context|reference"))
            .or_else(|| seq(t, i, "for the record"))
            .or_else(|| seq(t, i, "just so you know"))
            .or_else(|| seq(t, i, "just fyi"))
            .or_else(|| seq(t, i, "heads up"))
            .or_else(|| seq(t, i, "note that"))
            .or_else(|| seq(t, i, "please|pls|just|also remember|note that"))
            .or_else(|| seq(t, i, "remember|recall that"))
            .or_else(|| seq(t, i, "keep in mind that"))
            .or_else(|| seq(t, i, "keep in mind"))
            .or_else(|| seq(t, i, "to be honest"))
            .or_else(|| seq(t, i, "hi|hey|hello there"))
            .or_else(|| seq(t, i, "fun fact"))
            .or_else(|| seq(t, i, "in any case"))
            .or_else(|| seq(t, i, "good to know"))
            .or_else(|| seq(t, i, "oh|ok|okay|and so"))
            .or_else(|| seq(t, i, "oh|hey|hi|hello|well|so|ok|okay|k|yeah|yes|yep|yup|ya|yea|also|and|but|btw|fyi|honestly|anyway|anyways|lol|haha|um|uh|hmm|hm|plus|alright|right|cool|great|sure|now|then|just|tbh|ngl|ah|aha|wow|sweet|nice|awesome|thanks|ps|update|reminder|note|context|fwiw|basically"))
        {
            i = j;
        } else if let Some(j) = seq(t, i, "i think|guess|believe|suppose|reckon")
            .or_else(|| seq(t, i, "i feel like"))
            .or_else(|| seq(t, i, "i would say"))
            .or_else(|| seq(t, i, "not sure but"))
            .or_else(|| seq(t, i, "if i remember correctly"))
            .or_else(|| seq(t, i, "maybe|probably|perhaps|possibly|likely|imo|hopefully"))
        {
            *hedged = true;
            i = if is(t, j, "that") { j + 1 } else { j };
        } else if seq(t, i, "i do not think|believe").is_some()
            || seq(t, i, "i am not sure").is_some()
            || seq(t, i, "not sure").is_some()
            || seq(t, i, "i doubt|wonder").is_some()
        {
            return None;
        }
        if i == before {
            return Some(i);
        }
    }
}

/// One clause starting at `k`: the draft and the index after what it used.
fn clause(t: &[Tok], k: usize, clause_start: bool, standing: bool, today: Date) -> Option<(Draft, usize)> {
    let mut cx = Cx::default();
    let mut i = k;
    let mut lead_date: Option<(String, Option<String>)> = None;
    if clause_start {
        i = skip_fillers(t, i, &mut cx.hedged)?;
        // A leading date belongs to the statement that follows: "Next week I'm ...".
        let cores: Vec<&str> = t[i.min(t.len())..t.len().min(i + 6)].iter().map(|x| x.w.as_str()).collect();
        if let Some(m) = text::match_date(&cores, 0, today) {
            let after = i + m.len;
            if is(t, after, "i|we|my|let") || (t[after - 1].brk && after < t.len()) {
                lead_date = Some((m.phrase, Some(m.day_phrase)));
                i = skip_fillers(t, after, &mut cx.hedged)?;
                cx.lead_dated = true;
            }
        }
        if is_question(t, i) {
            return rule(t, i, standing, today).filter(|_| is(t, i, "can|could|would|will"));
        }
        if let Some(found) = rule(t, i, standing, today) {
            return Some(found);
        }
    }
    let found = special(t, i, today)
        .or_else(|| match at(t, i) {
            "i" => after_i(t, i + 1, today, &mut cx),
            "we" => after_we(t, i + 1, today, &mut cx),
            "my" => after_my(t, i + 1, today),
            "let" => after_let(t, i + 1, today),
            _ => None,
        })
        .or_else(|| if clause_start { subjectless(t, i, today, &mut cx) } else { None });
    let (mut draft, end) = found?;
    if trailing_hedge(t, i, end) {
        cx.hedged = true;
    }
    draft.hedged |= cx.hedged;
    if let Some((phrase, day)) = lead_date
        && draft.kind != CandidateKind::Rule
    {
        draft.tail = format!("{} {phrase}", draft.tail);
        if draft.day.is_none() {
            draft.day = day;
        }
    }
    Some((draft, end))
}

fn is_question(t: &[Tok], i: usize) -> bool {
    if is(
        t,
        i,
        "what|who|where|why|how|which|whats|anyone|anybody|any|does|did|is|are|was|were|should|shall|has|have|isnt|arent",
    ) {
        return !(is(t, i, "have|has") && is(t, i + 1, "a|an|two|three|got|been|lived|decided|moved"));
    }
    (is(t, i, "can|could|would|will|do|am") && is(t, i + 1, "you|i|we|u|someone|it|ya"))
        || (is(t, i, "when") && !is(t, i + 1, "you|i"))
}

// ---------------------------------------------------------------------------------------------
// Rules for the agent.

/// Markers that make an imperative a standing rule rather than a one-off request.
fn standing_marker(t: &[Tok]) -> bool {
    (0..t.len()).any(|k| {
        is(t, k, "always|never|whenever|anytime|default")
            || seq(t, k, "from now on").is_some()
            || seq(t, k, "going|moving forward").is_some()
            || seq(t, k, "in the future").is_some()
            || seq(t, k, "in future").is_some()
            || seq(t, k, "when you").is_some()
            || seq(t, k, "every|each time").is_some()
            || seq(t, k, "in your replies|answers|responses|messages|emails|code|answer|reply|response|writing").is_some()
            || seq(t, k, "for everything").is_some()
            || seq(t, k, "in any|all emails|messages|replies|answers|responses|documents|drafts|letters|code").is_some()
            || is(t, k, "spelling|tone|formatting|markdown|emojis|emoji|units|headings|headers|verbosity|jargon|register|dialect")
            || seq(t, k, "all the time").is_some()
            // "keep replies under 100 words", "no bullet points", "no tables".
            || (seq(t, k, "under|below|within|max|maximum|than").is_some() && t.get(k + 2).is_some_and(|x| is_word(&x.w, "words|sentences|paragraphs|lines|characters|bullets|points|items")) && t.get(k + 1).is_some_and(|x| x.w.chars().all(|c| c.is_ascii_digit())))
            || is(t, k, "bullet|bullets|tables|table|exclamation|caps|hashtags|preamble|preambles|disclaimers|disclaimer|apologies|apologizing|apologising|waffle|fluff|filler|clichés|cliches|buzzwords|lists|sign-off|signoff|greetings|pleasantries|summaries|recap|recaps")
    })
}

/// Imperative verbs that can open a standing rule.
const IMPERATIVES: &str = "keep|use|write|answer|reply|respond|give|format|avoid|include|speak|talk|be|assume|show|explain|address|add|stick|cite|refer|spell|sign|put|list|start|end|skip|limit|translate|check|ask|default|mention|remind|tell|focus|make|stop|quit|call|double-check|prefer|sort|round|convert|label|number|summarize|summarise|structure|reference|provide|treat|let";

/// After `do not` at a clause start, verbs of a passing remark, not a rule.
const NOT_RULES: &str = "worry|forget|mind|bother|be|hesitate|know|get|laugh|judge|panic|stress|care|think|ask|feel|understand|see|remember|want|need|have|like|love|say|tell";

/// A rule for the agent at `i`; `standing` tells whether the sentence has a standing marker
/// (see [`standing_marker`]).
fn rule(t: &[Tok], i: usize, standing: bool, today: Date) -> Option<(Draft, usize)> {
    let mut j = i;
    let mut explicit = false;
    // Openers that need no standing marker.
    if let Some(n) = seq(t, j, "from now on")
        .or_else(|| seq(t, j, "going|moving forward"))
        .or_else(|| seq(t, j, "in the future"))
        .or_else(|| seq(t, j, "in future"))
        .or_else(|| seq(t, j, "for future reference"))
        .or_else(|| seq(t, j, "from here on out"))
        .or_else(|| seq(t, j, "from here on"))
        .or_else(|| seq(t, j, "henceforth"))
    {
        j = n;
        explicit = true;
    }
    if let Some(n) = seq(t, j, "can|could|would|will you") {
        if !is(t, n, "please|always|never|stop") {
            return None;
        }
        j = n;
    }
    if let Some(n) = seq(t, j, "i want|need you to").or_else(|| seq(t, j, "i would like|love you to")) {
        j = n;
        if !explicit && !standing {
            return None;
        }
        explicit = true;
    } else if let Some(n) = seq(t, j, "you do not need|have to").or_else(|| seq(t, j, "no need to")) {
        let end = rule_end(t, n);
        if !has_content_word(t, n, end) {
            return None;
        }
        let body = render(t, n, end, today, true);
        let words: Vec<String> = text::words(&body.text).into_iter().take(8).collect();
        let slot = format!("rule:{}", words.join(" "));
        return Some((Draft::new(CandidateKind::Rule, "Rule: no need to", body.text, Some(slot)), end));
    } else if let Some(n) = seq(t, j, "you should|must|need").map(|n| if is(t, n, "to") { n + 1 } else { n }) {
        if !is(t, n, "always|never") {
            return None;
        }
        j = n;
    } else if let Some(n) = seq(t, j, "make sure").map(|n| if is(t, n, "to|you|that") { n + 1 } else { n }) {
        if !explicit && !standing {
            return None;
        }
        j = n;
        explicit = true;
    }
    while is(t, j, "please|pls|plz|kindly|just") {
        j += 1;
    }
    let opener = at(t, j);
    let ok = match opener {
        // "never the window" names no action.
        "always" | "never" => {
            !is(
                t,
                j + 1,
                "mind|ever|the|a|an|my|your|this|that|again|once|before|been|had|have|did|was|thought|could|would|can|will|should|do|does|is|are|am|knew|liked|got|tried|said|understood|heard|seen|really|happened|works|worked|again",
            ) && has_content_word(t, j + 1, t.len().min(j + 8))
        }
        "nevermind" => false,
        "do" => is(t, j + 1, "not") && !is(t, j + 2, NOT_RULES) && has_content_word(t, j + 2, t.len().min(j + 8)),
        // "no more emojis", "no imperial units please", "no emojis".
        "no" => {
            (is(t, j + 1, "more") && has_content_word(t, j + 2, t.len().min(j + 8)))
                || (standing
                    && brk_before(t, j)
                    && (j + 1..t.len().min(j + 5)).any(|k| t[k].brk)
                    && has_content_word(t, j + 1, j + 2)
                    && !is(
                        t,
                        j + 1,
                        "way|problem|worries|idea|clue|thanks|rush|need|one|wonder|matter|doubt|offense|offence",
                    ))
                || ((j + 2..t.len().min(j + 5)).any(|k| is(t, k, "please|pls|plz") && !t[k - 1].brk)
                    && has_content_word(t, j + 1, j + 2))
        }
        "stop" | "quit" => t.get(j + 1).is_some_and(|x| x.w.ends_with("ing") && x.w.len() > 4),
        "when" | "whenever" | "anytime" | "every" | "each" => {
            let n = if opener == "every" || opener == "each" {
                if is(t, j + 1, "time") { j + 2 } else { return None }
            } else {
                j + 1
            };
            is(t, n, "you|i") && when_has_instruction(t, n)
        }
        "call" if is(t, j + 1, "me") => false,
        _ => (explicit || standing) && is(t, j, IMPERATIVES),
    };
    let explicit_body = explicit && has_content_word(t, j, t.len().min(j + 8)) && !is(t, j, "i|we|my|it|you");
    if !(ok || explicit_body) {
        return None;
    }
    let mut end = rule_end(t, j);
    while end > j + 1 && is(t, end - 1, "please|pls|plz|thanks|thx|ok|okay") {
        end -= 1;
    }
    if end <= j || !has_content_word(t, j, end) {
        return None;
    }
    let body = render(t, j, end, today, true);
    let text = lowercase_first(body.text.trim());
    let lower = text.to_lowercase();
    let starts_marked = [
        "always",
        "never",
        "do not",
        "don't",
        "stop",
        "quit",
        "no ",
        "when",
        "whenever",
        "every time",
        "each time",
        "anytime",
    ]
    .iter()
    .any(|p| lower.starts_with(p));
    let content = if starts_marked { text.clone() } else { format!("always {text}") };
    let slot_words: Vec<String> = text::words(&lower)
        .into_iter()
        .filter(|w| {
            !matches!(
                w.as_str(),
                "always" | "never" | "do" | "not" | "dont" | "please" | "stop" | "quit" | "the" | "a" | "an"
            )
        })
        .take(8)
        .collect();
    let slot = (!slot_words.is_empty()).then(|| format!("rule:{}", slot_words.join(" ")));
    Some((Draft::new(CandidateKind::Rule, "Rule:", content, slot).with_day(body.day), end))
}

/// Whether a "when you ..." clause goes on to an instruction: ", give me", ", always ...".
fn when_has_instruction(t: &[Tok], from: usize) -> bool {
    (from + 1..t.len().min(from + 30))
        .any(|k| t[k - 1].brk && (is(t, k, IMPERATIVES) || is(t, k, "always|never|please|do|dont")))
}

/// Where a rule ends: the sentence's end, or a boundary before a new subject or a reason.
fn rule_end(t: &[Tok], from: usize) -> usize {
    let limit = t.len().min(from + MAX_RULE_WORDS);
    let mut k = from + 1;
    while k < limit {
        if t[k - 1].brk
            && is(
                t,
                k,
                "i|my|we|it|that|this|they|he|she|thanks|thank|so|because|since|as|lol|haha|ok|okay|its|thx|cheers",
            )
        {
            break;
        }
        if is(t, k, "because|cause|cuz|since|lol|haha") {
            break;
        }
        k += 1;
    }
    k.min(limit)
}

// ---------------------------------------------------------------------------------------------
// Statements with "I".

/// Words a role phrase stops before.
const ROLE_STOPS: &str = "at|in|for|with|from|on|and|but|so|who|that|since|because|by|working|living|based|currently|now|here|there|of|to|myself|too|also|lol|btw";

/// Roles known by name.
const ROLES: &str = "nurse|doctor|chef|cook|student|teacher|engineer|developer|designer|lawyer|accountant|architect|artist|musician|writer|author|journalist|scientist|researcher|professor|lecturer|pilot|firefighter|paramedic|pharmacist|dentist|vet|veterinarian|programmer|consultant|analyst|manager|director|founder|ceo|cto|cfo|intern|freelancer|contractor|plumber|electrician|carpenter|mechanic|farmer|barista|bartender|waiter|waitress|cashier|clerk|secretary|assistant|therapist|psychologist|psychiatrist|surgeon|physician|midwife|soldier|officer|cop|detective|judge|priest|pastor|rabbi|imam|monk|nun|dancer|actor|actress|singer|photographer|filmmaker|editor|translator|interpreter|tutor|coach|trainer|librarian|economist|mathematician|physicist|chemist|biologist|statistician|sre|devops|pm|phd|postdoc|undergrad|grad|retiree|homemaker|mom|dad|parent|caregiver|nanny|driver|courier|entrepreneur|marketer|recruiter|banker|trader|broker|investor|realtor|sailor|fisherman|tailor|baker|butcher|jeweler|florist|gardener|janitor|cleaner|guard|technician|administrator|admin|sysadmin|dba|specialist|coordinator|representative|executive|officer|resident|fellow|apprentice|volunteer|medic|ux|ui|qa|tester|hacker|gamer|streamer|youtuber|blogger|influencer|creator|maker|builder|owner|lead|head|vp|president";
/// Words with a role-like ending that are not roles.
const NOT_ROLES: &str = "fan|lover|sucker|believer|other|number|order|paper|water|letter|answer|corner|center|centre|winter|summer|never|ever|after|under|over|together|person|bit|lot|little|mess|fool|mother|father|brother|sister|daughter|beginner|newbie|noob|member|user|customer|client|patient|fanatic|nerd|geek|talker|worrier|procrastinator|perfectionist|introvert|extrovert|dog|cat|morning|night|big|huge|massive|total|complete|real|bad|good|great|terrible|slow|fast|quick";

fn is_role(head: &str) -> bool {
    if is_word(head, NOT_ROLES) {
        return false;
    }
    if is_word(head, ROLES) {
        return true;
    }
    head.len() >= 5
        && head.chars().all(|c| c.is_alphabetic() || c == '-')
        && ["er", "or", "ist", "ian", "ant", "eer", "ive", "ect", "ent"].iter().any(|s| head.ends_with(s))
}

fn is_word(w: &str, alternatives: &str) -> bool {
    !w.is_empty() && alternatives.split('|').any(|p| p == w)
}

/// `a <role>` at `i` (after "am a", "work as a"): the phrase and the index after it.
fn role_phrase(t: &[Tok], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    while j < t.len() && j < i + 6 && !is(t, j, ROLE_STOPS) {
        j += 1;
        if t[j - 1].brk {
            break;
        }
    }
    if j == i
        || is(t, i, "bit|little|lot|big|huge|massive|total|complete|real|very|bad|good|great|kind|sort|fan|member")
    {
        return None;
    }
    let head = at(t, j - 1);
    is_role(head).then_some((i, j))
}

/// `at|for <organisation>` after a role: the index after it.
fn workplace(t: &[Tok], i: usize) -> Option<usize> {
    if t.get(i.wrapping_sub(1)).is_some_and(|x| x.brk) || !is(t, i, "at|for|with") {
        return None;
    }
    let from = i + 1;
    let mut j = from;
    while j < t.len() && j < from + 5 {
        if j > from && is(t, j, OBJECT_STOPS) {
            break;
        }
        if j > from && is(t, j, "and|now|since|for") {
            break;
        }
        j += 1;
        if t[j - 1].brk {
            break;
        }
    }
    (j > from && has_content_word(t, from, j)).then_some(j)
}

/// Nationalities read as identity ("I'm Canadian").
const NATIONALITIES: &str = "american|canadian|mexican|brazilian|argentinian|chilean|colombian|peruvian|british|english|scottish|welsh|irish|french|german|dutch|belgian|swiss|austrian|italian|spanish|portuguese|swedish|norwegian|danish|finnish|icelandic|polish|czech|slovak|hungarian|romanian|bulgarian|greek|turkish|russian|ukrainian|israeli|egyptian|moroccan|nigerian|kenyan|ghanaian|ethiopian|south african|indian|pakistani|bangladeshi|chinese|japanese|korean|vietnamese|thai|filipino|indonesian|malaysian|singaporean|australian|kiwi|lebanese|iranian|iraqi|syrian|saudi|emirati|croatian|serbian|slovenian|estonian|latvian|lithuanian|taiwanese|nepali|sri lankan";
/// Capitalized words after "I'm" that are not names.
const NOT_NAMES: &str = "sorry|not|so|just|here|back|fine|good|ok|okay|done|ready|sure|happy|sad|tired|home|free|available|busy|excited|glad|new|still|also|really|very|in|at|on|off|out|up|going|trying|looking|working|thinking|the|a|an|afraid|confused|curious|stuck|lost|late|alive|well|great|bored|hungry|sick|ill|interested|planning|currently|always|never|pretty|kinda|literally|honestly|gonna|about|over|down|like|all|married|single|retired|vegan|vegetarian|allergic|able|unable|unsure|certain|convinced|aware|no|yes|one|two|both|only|sure";

/// A person's name at `i`: capitalized words (or, with a strong cue, one lowercase word).
fn name_at(t: &[Tok], i: usize, strong_cue: bool) -> Option<(String, usize)> {
    let first = t.get(i)?;
    let alphabetic = |x: &Tok| x.w.chars().all(|c| c.is_alphabetic() || c == '-' || c == '\'') && !x.w.is_empty();
    if !alphabetic(first) || is_word(&first.w, NOT_NAMES) || is_word(&first.w, NATIONALITIES) {
        return None;
    }
    if !first.capitalized() && !strong_cue {
        return None;
    }
    let mut j = i + 1;
    if first.capitalized() {
        while j < t.len()
            && j < i + 3
            && !t[j - 1].brk
            && t[j].capitalized()
            && alphabetic(&t[j])
            && !is_word(&t[j].w, NOT_NAMES)
        {
            j += 1;
        }
    }
    let name = t[i..j].iter().map(|x| capitalize(&x.text)).collect::<Vec<_>>().join(" ");
    Some((name, j))
}

/// A place at `i`: a capitalized run ("New York", "the Netherlands"), else up to three words.
fn place_at(t: &[Tok], i: usize) -> Option<usize> {
    let mut j = i;
    if is(t, j, "the") && t.get(j + 1).is_some_and(Tok::capitalized) {
        j += 1;
    }
    if t.get(j).is_some_and(Tok::capitalized) {
        j += 1;
        while j < t.len() && j < i + 5 && !t[j - 1].brk {
            if t[j].capitalized() {
                j += 1;
            } else if is(t, j, "of|de|del|la|upon|am") && t.get(j + 1).is_some_and(Tok::capitalized) {
                j += 2;
            } else {
                break;
            }
        }
        return Some(j);
    }
    let mut j = i;
    while j < t.len()
        && j < i + 3
        && !is(t, j, "for|since|with|and|but|now|because|so|when|where|while|right|until|at|as|lol|too|near|by|though")
    {
        j += 1;
        if t[j - 1].brk {
            break;
        }
    }
    (j > i && has_content_word(t, i, j)).then_some(j)
}

fn object(t: &[Tok], i: usize) -> Option<usize> {
    let end = object_end(t, i);
    (end > i && !is(t, i, VAGUE) && has_content_word(t, i, end)).then_some(end)
}

/// Preference verbs and their third-person form.
fn preference_verb(w: &str) -> Option<&'static str> {
    Some(match w {
        "love" => "loves",
        "adore" => "adores",
        "enjoy" => "enjoys",
        "like" => "likes",
        "prefer" => "prefers",
        "hate" => "hates",
        "dislike" => "dislikes",
        "detest" => "detests",
        "loathe" => "loathes",
        "despise" => "despises",
        _ => return None,
    })
}

fn preference(t: &[Tok], verb_head: &str, i: usize, today: Date) -> Option<(Draft, usize)> {
    let end = object(t, i)?;
    // "I like to think", "I love how": not a taste.
    if is(t, i, "to") && is(t, i + 1, "think|say|believe|imagine|know|see|hear") {
        return None;
    }
    // "prefer tea over coffee": the key is the preferred thing.
    let key_end = (i..end).find(|&k| is(t, k, "over|to|than|rather")).filter(|&k| k > i).unwrap_or(end);
    let obj = render(t, i, end, today, false);
    let slot = format!("preference:{}", key(t, i, key_end, today, 3));
    Some((
        Draft::new(CandidateKind::Preference, format!("User {verb_head}"), obj.text, Some(slot)).with_day(obj.day),
        end,
    ))
}

fn plan_draft(
    t: &[Tok],
    head: &str,
    verb_at: usize,
    from: usize,
    end: usize,
    today: Date,
    kind: CandidateKind,
) -> Draft {
    let obj = render(t, from, end, today, false);
    let slot_prefix = if kind == CandidateKind::Decision { "decision" } else { "plan" };
    let k = key(t, verb_at, end, today, 3);
    let mut d =
        Draft::new(kind, head, obj.text, (!k.is_empty()).then(|| format!("{slot_prefix}:{k}"))).with_day(obj.day);
    d.time = obj.time;
    d
}

/// Verbs whose future needs no date to be a plan ("I'll move to Oslo").
const CONCRETE_VERBS: &str = "go|travel|fly|visit|move|start|begin|quit|join|leave|buy|sell|apply|marry|graduate|attend|learn|study|retire|switch|launch|adopt|build|host|propose|enroll|enrol|relocate|celebrate|resign|publish|release|emigrate";
/// Progressive verbs that are plans without a date ("I'm flying to Rome").
const STRONG_PROGRESSIVE: &str = "flying|moving|relocating|heading|traveling|travelling|visiting|emigrating|leaving";

fn future(t: &[Tok], head: &str, i: usize, today: Date, cx: &mut Cx, kind: CandidateKind) -> Option<(Draft, usize)> {
    let v = skip_adverbs(t, i, &mut cx.hedged);
    let end = object_end(t, v);
    if end <= v || !has_content_word(t, v, end) || is(t, v, VAGUE) {
        return None;
    }
    if is(t, v, "be")
        && is(t, v + 1, "honest|fine|ok|okay|right|quick|brief|back|there|careful|good|happy|glad|sure|done|late")
    {
        return None;
    }
    let obj = render(t, v, end, today, false);
    let place = is(t, v, "to") && t.get(v + 1).is_some_and(Tok::capitalized);
    // "we're going to use Supabase instead of Firebase": a choice made.
    let chosen = is(t, v, "use|adopt|switch|pick|choose|migrate|standardize|standardise")
        || (v..end).any(|k| seq(t, k, "instead of").is_some() || seq(t, k, "rather than").is_some());
    if !(chosen || refers_to_time(t, v, end, &obj, cx.lead_dated) || is(t, v, CONCRETE_VERBS) || place) {
        return None;
    }
    // Objects that are only pronouns after the verb: "I'll call them".
    if !has_content_word(t, v + 1, end) && !obj.dated {
        return None;
    }
    let kind = if chosen { CandidateKind::Decision } else { kind };
    Some((plan_draft(t, head, v, v, end, today, kind), end))
}

fn after_i(t: &[Tok], i: usize, today: Date, cx: &mut Cx) -> Option<(Draft, usize)> {
    let j = skip_adverbs(t, i, &mut cx.hedged);
    let w = at(t, j);
    let habitual = (i..j).find(|&k| is(t, k, "always|usually|normally|typically|generally|never"));
    if let Some(third) = preference_verb(w) {
        return preference(t, third, j + 1, today);
    }
    match w {
        "am" => after_i_am(t, skip_adverbs(t, j + 1, &mut cx.hedged), today, cx),
        "was" => {
            if let Some(n) = seq(t, j + 1, "born in") {
                let end = place_at(t, n)?;
                let obj = render(t, n, end, today, false);
                return Some((
                    Draft::new(CandidateKind::Identity, "User was born in", obj.text, Some("birthplace".into())),
                    end,
                ));
            }
            if let Some(n) = seq(t, j + 1, "born on") {
                let end = object(t, n)?;
                let obj = render(t, n, end, today, false);
                return Some((
                    Draft::new(CandidateKind::Fact, "User was born on", obj.text, Some("birthday".into())),
                    end,
                ));
            }
            if is(t, j + 1, LIFE_EVENTS) {
                return life_event(t, "User was", j + 1, today);
            }
            None
        }
        "got" if is(t, j + 1, LIFE_EVENTS) => life_event(t, "User got", j + 1, today),
        "have" | "has" | "got" => after_i_have(t, j, today, cx),
        "will" | "shall" => {
            let n = skip_adverbs(t, j + 1, &mut cx.hedged);
            if let Some(m) = seq(t, n, "go|stick with") {
                let end = object(t, m)?;
                return Some((plan_draft(t, "User will go with", n, m, end, today, CandidateKind::Decision), end));
            }
            if is(t, n, "not|never") {
                return None;
            }
            future(t, "User will", n, today, cx, CandidateKind::Plan)
        }
        "would" => {
            let after = skip_adverbs(t, j + 1, &mut cx.hedged);
            if is(t, after, "take|pick|choose|go|have") {
                let end = object(t, after + 1)?;
                if !(after + 1..end).any(|k| is(t, k, "over|than")) {
                    return None;
                }
                let obj = render(t, after, end, today, false);
                let key_end = (after + 1..end).find(|&k| is(t, k, "over|than")).unwrap_or(end);
                let slot = format!("preference:{}", key(t, after + 1, key_end, today, 3));
                return Some((Draft::new(CandidateKind::Preference, "User would", obj.text, Some(slot)), end));
            }
            if let Some(n) = seq(t, after, "rather|prefer") {
                let end = object(t, n)?;
                let obj = render(t, n, end, today, false);
                let slot = format!("preference:{}", key(t, n, end, today, 3));
                return Some((Draft::new(CandidateKind::Preference, "User would rather", obj.text, Some(slot)), end));
            }
            None
        }
        "do" | "does" => {
            let n = j + 1;
            if is(t, n, "not|never") {
                let m = skip_adverbs(t, n + 1, &mut cx.hedged);
                return negative_habit(t, m, today);
            }
            if let Some(third) = preference_verb(at(t, n)) {
                return preference(t, third, n + 1, today);
            }
            None
        }
        "can" => {
            if let Some(n) = seq(t, j + 1, "not stand|bear") {
                return preference(t, "can't stand", n, today);
            }
            if let Some(n) = seq(t, j + 1, "speak") {
                return speaks(t, n, today);
            }
            None
        }
        "might" | "may" | "could" => {
            cx.hedged = true;
            if is(t, j + 1, "not|be")
                && !is(t, j + 2, "going|traveling|travelling|flying|moving|visiting|starting|in|at|away")
            {
                return None;
            }
            let (d, end) = future(t, "User might", j + 1, today, cx, CandidateKind::Plan)?;
            let obj = render(t, j + 1, end, today, false);
            refers_to_time(t, j + 1, end, &obj, cx.lead_dated).then_some((d, end))
        }
        "plan" | "intend" | "expect" | "aim" => {
            let n = seq(t, j + 1, "to|on")?;
            let end = object(t, n)?;
            Some((plan_draft(t, &format!("User {w}s to"), n, n, end, today, CandidateKind::Plan), end))
        }
        "want" | "need" | "hope" => {
            let n = seq(t, j + 1, "to")?;
            if w == "hope" {
                cx.hedged = true;
            }
            let end = object(t, n)?;
            let obj = render(t, n, end, today, false);
            if !refers_to_time(t, n, end, &obj, cx.lead_dated) {
                return None;
            }
            Some((plan_draft(t, &format!("User {w}s to"), n, n, end, today, CandidateKind::Plan), end))
        }
        "picked" if is(t, j + 1, "up") => took_up(t, j, today),
        "decided" | "chose" | "picked" | "settled" | "agreed" | "committed" => decision(t, "User", w, j + 1, today),
        "live" | "reside" => {
            let n = seq(t, j + 1, "in|near|on|at").or_else(|| {
                // "I live with two roommates in a flat in Brooklyn": the named place.
                (j + 2..t.len().min(j + 10))
                    .take_while(|&k| !t[k - 1].brk)
                    .filter(|&k| is(t, k - 1, "in|near") && t[k].capitalized())
                    .last()
            })?;
            let end = place_at(t, n)?;
            let obj = render(t, n, end, today, false);
            Some((
                Draft::new(
                    CandidateKind::Identity,
                    format!("User lives {}", at(t, n - 1)),
                    obj.text,
                    Some("home".into()),
                ),
                end,
            ))
        }
        "moved" | "relocated" => {
            let n = seq(t, j + 1, "to|into")?;
            let end = place_at(t, n)?;
            let obj = render(t, n, end, today, false);
            Some((Draft::new(CandidateKind::Identity, "User lives in", obj.text, Some("home".into())), end))
        }
        "grew" => {
            let n = seq(t, j + 1, "up in|near|on")?;
            let end = place_at(t, n)?;
            let obj = render(t, n, end, today, false);
            Some((Draft::new(CandidateKind::Identity, "User grew up in", obj.text, Some("origin".into())), end))
        }
        "come" => {
            let n = seq(t, j + 1, "from")?;
            let end = place_at(t, n)?;
            let obj = render(t, n, end, today, false);
            Some((Draft::new(CandidateKind::Identity, "User is from", obj.text, Some("origin".into())), end))
        }
        "work" | "teach" | "study" => work(t, w, j + 1, today),
        "speak" => speaks(t, j + 1, today),
        "use" | "drive" | "own" | "ride" | "play" => {
            let n = j + 1;
            let end = object(t, n)?;
            if is(t, n, "to|it|that|this|them") {
                return None;
            }
            let obj = render(t, n, end, today, false);
            let slot = format!("{w}:{}", key(t, n, end, today, 2));
            Some((Draft::new(CandidateKind::Fact, format!("User {}", third_person(w)), obj.text, Some(slot)), end))
        }
        "go" if is(t, j + 1, "by") => {
            let (name, end) = name_at(t, j + 2, true)?;
            Some((Draft::new(CandidateKind::Identity, "User goes by", name, Some("name".into())), end))
        }
        "bought" | "purchased" | "adopted" => bought(t, "User", w, j + 1, today),
        "started" | "began" | "took" | "quit" | "stopped" | "gave" => took_up(t, j, today),
        // "I just turned 40".
        "turned" => {
            let age = at(t, j + 1).parse::<u32>().ok().filter(|a| (1..=120).contains(a))?;
            Some((
                Draft::new(CandidateKind::Identity, "User is", format!("{age} years old"), Some("age".into())),
                j + 2,
            ))
        }
        _ => habit(t, j, habitual.map(|k| at(t, k)), today),
    }
}

/// "I started running", "I took up the cello", "I quit smoking": a habit begun or ended.
fn took_up(t: &[Tok], j: usize, today: Date) -> Option<(Draft, usize)> {
    let n = match at(t, j) {
        "took" | "picked" => seq(t, j + 1, "up")?,
        "gave" => seq(t, j + 1, "up")?,
        _ => j + 1,
    };
    // "started to think", "started the meeting", "stopped by".
    if is(
        t,
        n,
        "to|by|the|a|an|it|that|this|with|on|at|in|off|out|over|working|thinking|feeling|getting|looking|wondering|talking|asking|saying",
    ) && !(is(t, n, "the|a|an") && at(t, j) != "started" && at(t, j) != "began")
    {
        return None;
    }
    let end = object(t, n)?;
    let gerund = t[n].w.ends_with("ing") && t[n].w.len() > 4;
    if !gerund && !matches!(at(t, j), "took" | "picked" | "gave") {
        return None;
    }
    let obj = render(t, n, end, today, false);
    let verb = t[j..n].iter().map(|x| x.w.as_str()).collect::<Vec<_>>().join(" ");
    let slot = format!("habit:{}", key(t, n, end.min(n + 2), today, 2));
    Some((Draft::new(CandidateKind::Fact, format!("User {verb}"), obj.text, Some(slot)).with_day(obj.day), end))
}

/// "I run 5 days a week": a verb with an explicit frequency is a durable habit.
/// Words of a frequency ("5 days a week"), left out of habit slots.
const FREQUENCY_WORDS: &str = "every|daily|weekly|nightly|twice|thrice|once|times|day|days|week|weeks|month|months|morning|mornings|night|nights|evening|evenings|weekend|weekends|weekdays|per|each|most";

/// Verbs of choosing: "I always pick the aisle seat" is a preference, not only a habit.
const CHOICE_VERBS: &str = "pick|choose|order|get|take|book|opt|prefer|drink|eat|wear|buy|go|sit|use|have";

fn habit(t: &[Tok], j: usize, habitual: Option<&str>, today: Date) -> Option<(Draft, usize)> {
    let verb = t.get(j)?;
    if !verb.w.chars().all(char::is_alphabetic)
        || verb.w.len() < 2
        || is(
            t,
            j,
            "am|is|are|was|were|be|been|have|had|do|did|does|not|it|that|you|think|thought|said|went|got|just|need|want|know|mean|feel|felt|guess|hope|wish|see|saw|told|asked|can|could|would|should|must",
        )
        || verb.w.ends_with("ed")
    {
        return None;
    }
    let end = object_end(t, j + 1);
    let frequent = (j + 1..end).any(|k| {
        is(t, k, "every|daily|weekly|nightly|twice|thrice|weekdays|weekends")
            || seq(t, k, "a|per|each day|week|month|morning|night|evening|weekend").is_some()
            || seq(t, k, "times a|per").is_some()
            || seq(t, k, "most days|mornings|nights|evenings|weekends").is_some()
            || seq(t, k, "on weekends|weekdays").is_some()
    });
    if !frequent && habitual.is_none() {
        return None;
    }
    if end <= j + 1 || !has_content_word(t, j + 1, end) {
        return None;
    }
    let obj = render(t, j + 1, end, today, false);
    let adverb = habitual.map(|a| format!("{a} ")).unwrap_or_default();
    let head = format!(
        "User {adverb}{}",
        if adverb == "never " { verb.text.to_lowercase() } else { third_person(&verb.text) }
    );
    let choice = habitual.is_some() && is(t, j, CHOICE_VERBS);
    let (kind, slot) = if choice {
        (CandidateKind::Preference, format!("preference:{} {}", text::normalize(&verb.w), key(t, j + 1, end, today, 2)))
    } else {
        let object = (j + 1..end)
            .map(|k| at(t, k))
            .find(|w| w.chars().all(char::is_alphabetic) && !is_word(w, KEY_STOPS) && !is_word(w, FREQUENCY_WORDS))
            .unwrap_or("");
        (CandidateKind::Fact, format!("habit:{} {object}", text::normalize(&verb.w)))
    };
    Some((Draft::new(kind, head, obj.text, Some(slot.trim().to_owned())), end))
}

/// Life events that stay true: "I got laid off", "I was promoted".
const LIFE_EVENTS: &str = "laid|fired|promoted|married|engaged|divorced|hired|accepted|diagnosed|admitted|dumped|pregnant|sacked|retired|adopted|baptized|elected|certified";

fn life_event(t: &[Tok], head: &str, n: usize, today: Date) -> Option<(Draft, usize)> {
    let end = object_end(t, n).max(n + 1);
    let obj = render(t, n, end, today, false);
    let slot = format!("life:{}", at(t, n));
    Some((Draft::new(CandidateKind::Fact, head, obj.text, Some(slot)).with_day(obj.day), end))
}

/// "I bought a Tesla", "we adopted a puppy": a durable possession.
fn bought(t: &[Tok], subject: &str, verb: &str, n: usize, today: Date) -> Option<(Draft, usize)> {
    if !is(t, n, "a|an|my|our|two|three|the|some") {
        return None;
    }
    let end = object(t, n)?;
    let named = (n + 1..end).any(|k| t[k].capitalized());
    if verb != "adopted" && !named && !(n..end).any(|k| is(t, k, DURABLE_HAVE)) {
        return None;
    }
    let obj = render(t, n, end, today, false);
    let slot = format!("has:{}", key(t, n, end, today, 2));
    Some((Draft::new(CandidateKind::Fact, format!("{subject} {verb}"), obj.text, Some(slot)), end))
}

fn negative_habit(t: &[Tok], n: usize, today: Date) -> Option<(Draft, usize)> {
    let w = at(t, n);
    if let Some(third) = preference_verb(w) {
        let (mut d, end) = preference(t, third, n + 1, today)?;
        d.head = format!("User doesn't {w}");
        return Some((d, end));
    }
    match w {
        "care" if is(t, n + 1, "for|about") => {
            let (mut d, end) = preference(t, "", n + 2, today)?;
            d.head = format!("User doesn't care {}", at(t, n + 1));
            Some((d, end))
        }
        "drink" | "eat" | "smoke" | "watch" | "read" => {
            let end = object(t, n + 1).unwrap_or(n + 1);
            if end == n + 1 && w != "drink" && w != "smoke" {
                return None;
            }
            let obj = render(t, n + 1, end, today, false);
            let slot = format!("preference:{w} {}", key(t, n + 1, end, today, 2)).trim().to_owned();
            Some((Draft::new(CandidateKind::Preference, format!("User doesn't {w}"), obj.text, Some(slot)), end))
        }
        "own" | "have" => {
            let m = if is(t, n + 1, "a|an|any") { n + 2 } else { n + 1 };
            let end = object(t, m)?;
            if w == "have" && !(m..end).any(|k| is(t, k, DURABLE_HAVE)) {
                return None;
            }
            let obj = render(t, n + 1, end, today, false);
            let slot = format!("has:{}", key(t, m, end, today, 2));
            Some((Draft::new(CandidateKind::Fact, format!("User doesn't {w}"), obj.text, Some(slot)), end))
        }
        _ => None,
    }
}

fn speaks(t: &[Tok], n: usize, today: Date) -> Option<(Draft, usize)> {
    let end = object(t, n)?;
    let obj = render(t, n, end, today, false);
    Some((Draft::new(CandidateKind::Fact, "User speaks", obj.text, Some("languages".into())), end))
}

fn work(t: &[Tok], verb: &str, n: usize, today: Date) -> Option<(Draft, usize)> {
    let mut m = n;
    while is(
        t,
        m,
        "remotely|nights|days|weekends|full-time|part-time|fulltime|parttime|freelance|mostly|currently|now|here|mainly|primarily",
    ) {
        m += 1;
    }
    let third = third_person(verb);
    // "I work night shifts", "I work the early shift at a bakery".
    let shift = (n..t.len().min(n + 4)).take_while(|&k| k == n || !t[k - 1].brk).find(|&k| is(t, k, "shift|shifts"));
    // "I work nights", "I work weekends at the hospital".
    let shift = shift.or_else(|| (n..m).rfind(|&k| is(t, k, "nights|weekends|days")));
    if verb == "work"
        && let Some(shift) = shift
    {
        let end = workplace(t, shift + 1).unwrap_or(shift + 1);
        let obj = render(t, n, end, today, false);
        return Some((Draft::new(CandidateKind::Fact, "User works", obj.text, Some("work:shifts".into())), end));
    }
    if verb == "work" && is(t, m, "from") && is(t, m + 1, "home|house") {
        let end = object_end(t, m).max(m + 2);
        let obj = render(t, n, end, today, false);
        return Some((Draft::new(CandidateKind::Fact, "User works", obj.text, Some("work:place".into())), end));
    }
    if verb == "work" {
        if let Some(r) = seq(t, m, "as") {
            let r = if is(t, r, "a|an") { r + 1 } else { r };
            let end = role_phrase(t, r).map(|(_, end)| end).or_else(|| object(t, r).map(|e| e.min(r + 4)))?;
            let end = workplace(t, end).unwrap_or(end);
            let obj = render(t, m, end, today, false);
            return Some((
                Draft::new(CandidateKind::Identity, format!("User {third}"), obj.text, Some("job".into())),
                end,
            ));
        }
        if is(t, m, "at|for|with") {
            let end = workplace(t, m)?;
            let obj = render(t, n, end, today, false);
            return Some((
                Draft::new(CandidateKind::Identity, format!("User {third}"), obj.text, Some("employer".into())),
                end,
            ));
        }
        if is(t, m, "in") {
            let end = object(t, m + 1)?;
            let obj = render(t, n, end, today, false);
            return Some((
                Draft::new(CandidateKind::Identity, format!("User {third}"), obj.text, Some("work:field".into())),
                end,
            ));
        }
        return None;
    }
    // "I teach chemistry at a high school", "I study law".
    let end = object(t, m)?;
    let end = workplace(t, end).unwrap_or(end);
    let obj = render(t, n, end, today, false);
    let slot = if verb == "teach" { "job" } else { "study" };
    Some((Draft::new(CandidateKind::Identity, format!("User {third}"), obj.text, Some(slot.into())), end))
}

fn decision(t: &[Tok], subject: &str, verb: &str, n: usize, today: Date) -> Option<(Draft, usize)> {
    // "agreed in standup to freeze": a short aside before the object.
    let mut m = n;
    if !is(t, m, "to|on|that|upon|against|not") && !brk_before(t, m) {
        m = (n..t.len().min(n + 4)).find(|&k| is(t, k, "to|on|that") && !t[k - 1].brk).unwrap_or(n);
    }
    let (link, from) = match at(t, m) {
        "to" => ("to", m + 1),
        "not" if is(t, m + 1, "to") => ("not to", m + 2),
        "on" | "upon" => ("on", m + 1),
        "against" => ("against", m + 1),
        "that" => ("that", m + 1),
        _ if brk_before(t, m) => ("on", m),
        _ if verb == "chose" || verb == "picked" => ("", m),
        _ => return None,
    };
    let mut end = object(t, from)?;
    // "Postgres it is".
    if end >= from + 3 && at(t, end - 2) == "it" && at(t, end - 1) == "is" {
        end -= 2;
    }
    let obj = render(t, from, end, today, false);
    let head = format!("{subject} {verb} {link}").trim().replace("  ", " ");
    let k = key(t, from, end, today, 3);
    Some((
        Draft::new(CandidateKind::Decision, head, obj.text, (!k.is_empty()).then(|| format!("decision:{k}")))
            .with_day(obj.day),
        end,
    ))
}

const DIETS: &str = "vegetarian|vegan|pescatarian|pescetarian|keto|diabetic|celiac|coeliac|teetotal|kosher|halal|paleo";
const EVENTS: &str = "appointment|meeting|interview|exam|test|call|flight|date|wedding|party|trip|surgery|presentation|deadline|concert|game|match|vacation|holiday|class|lecture|defense|defence|talk|demo|review|checkup|check-up|shift|race|marathon|dinner|lunch|breakfast|conference|workshop|session|doctor's|dentist|reservation|gig|show|recital|ceremony|funeral|move|visit|training|course|hearing|audition|standup|retreat|party";
const DURABLE_HAVE: &str = "disease|syndrome|disorder|condition|diabetic|celiac|coeliac|cancer|ibs|pcos|hypertension|tinnitus|eczema|psoriasis|lupus|endometriosis|dog|dogs|cat|cats|puppy|kitten|kittens|parrot|rabbit|hamster|horse|bird|fish|pet|pets|turtle|snake|lizard|kid|kids|child|children|son|sons|daughter|daughters|brother|brothers|sister|sisters|sibling|siblings|twins|grandkids|grandchildren|baby|wife|husband|partner|boyfriend|girlfriend|diabetes|asthma|adhd|autism|dyslexia|allergy|allergies|migraines|arthritis|anxiety|depression|insomnia|epilepsy|car|house|apartment|flat|bike|motorcycle|garden|boat|cabin|degree|phd|masters|license|licence|tattoo|tattoos|pool|farm|business|company|startup|shop";

fn after_i_am(t: &[Tok], j: usize, today: Date, cx: &mut Cx) -> Option<(Draft, usize)> {
    let w = at(t, j);
    // "I'm not a fan of", "I'm not into", "I'm not a morning person".
    if w == "not" {
        let n = skip_adverbs(t, j + 1, &mut cx.hedged);
        if let Some(found) = kind_of_person(t, n, "is not", today) {
            return Some(found);
        }
        if let Some(m) = seq(t, n, "a|an")
            .map(|m| if is(t, m, "big|huge|massive|great|real") { m + 1 } else { m })
            .and_then(|m| seq(t, m, "fan of"))
        {
            return preference(t, "is not a fan of", m, today);
        }
        if let Some(m) = seq(t, n, "into") {
            return preference(t, "is not into", m, today);
        }
        return None;
    }
    if let Some(m) = seq(t, j, "a|an").map(|m| if is(t, m, "big|huge|massive|great|real") { m + 1 } else { m })
        && let Some(f) = seq(t, m, "fan of")
    {
        return preference(t, "is a fan of", f, today);
    }
    if let Some(found) = kind_of_person(t, j, "is", today) {
        return Some(found);
    }
    // "I'm more comfortable in German than English".
    if let Some(m) = seq(t, j, "more|most|much comfortable|happier in|with|using")
        .or_else(|| seq(t, j, "more|most|much at home in|with|using"))
        .or_else(|| seq(t, j, "comfortable|happier|happiest in|with|using").filter(|_| is(t, j, "happier|happiest")))
    {
        let end = object(t, m)?;
        let obj = render(t, j, end, today, false);
        let slot = format!("preference:{}", key(t, m, end, today, 2));
        return Some((Draft::new(CandidateKind::Preference, "User is", obj.text, Some(slot)), end));
    }
    // "I'm on Pacific time", "I'm on Postgres 16".
    if let Some(m) = seq(t, j, "on") {
        if let Some(end) = (m..t.len().min(m + 3)).find(|&k| is(t, k, "time")).map(|k| k + 1) {
            let obj = render(t, m, end, today, false);
            return Some((Draft::new(CandidateKind::Fact, "User is on", obj.text, Some("timezone".into())), end));
        }
        if t.get(m).is_some_and(Tok::capitalized)
            && !is(t, m, "monday|tuesday|wednesday|thursday|friday|saturday|sunday|i")
        {
            let mut end = m + 1;
            while end < t.len()
                && end < m + 4
                && !t[end - 1].brk
                && (t[end].capitalized() || t[end].w.chars().all(|c| c.is_ascii_digit() || c == '.'))
            {
                end += 1;
            }
            let obj = render(t, m, end, today, false);
            let slot = format!("uses:{}", key(t, m, m + 1, today, 1));
            return Some((Draft::new(CandidateKind::Fact, "User is on", obj.text, Some(slot)), end));
        }
        return None;
    }
    if let Some(m) = seq(t, j, "into|obsessed with|addicted to|crazy about|passionate about") {
        let verb = t[j..m].iter().map(|x| x.w.as_str()).collect::<Vec<_>>().join(" ");
        return preference(t, &format!("is {verb}"), m, today);
    }
    // "I'm the best man at my brother's wedding", "I'm a bridesmaid in my friend's wedding".
    if let Some(found) = event_role(t, j, today) {
        return Some(found);
    }
    // "I'm the head of data at a small fintech".
    if let Some(m) = seq(t, j, "the") {
        let (_, mut end) = role_phrase(t, m)?;
        if is(t, end, "of") && !t[end - 1].brk {
            end = object_end(t, end + 1).min(end + 3);
            while end > m && is(t, end - 1, "at|for|with|in") {
                end -= 1;
            }
            let at_work = (m..end).find(|&k| is(t, k, "at|for")).unwrap_or(end);
            end = workplace(t, at_work).unwrap_or(end);
        } else {
            end = workplace(t, end).unwrap_or(end);
        }
        let obj = render(t, j, end, today, false);
        return Some((Draft::new(CandidateKind::Identity, "User is", obj.text, Some("job".into())), end));
    }
    if let Some(m) = seq(t, j, "a|an") {
        if is(t, m, DIETS) {
            return diet(t, m, today);
        }
        let (_, end) = role_phrase(t, m)?;
        let end = workplace(t, end).unwrap_or(end);
        let obj = render(t, j, end, today, false);
        return Some((Draft::new(CandidateKind::Identity, "User is", obj.text, Some("job".into())), end));
    }
    if is(t, j, DIETS) {
        return diet(t, j, today);
    }
    if let Some(m) = seq(t, j, "lactose|gluten|fructose|histamine intolerant") {
        let obj = render(t, j, m, today, false);
        return Some((Draft::new(CandidateKind::Fact, "User is", obj.text, Some(format!("diet:{}", at(t, j)))), m));
    }
    if let Some(m) = seq(t, j, "allergic|intolerant to") {
        let end = object(t, m)?;
        let obj = render(t, m, end, today, false);
        let slot = format!("allergy:{}", key(t, m, end, today, 2));
        return Some((Draft::new(CandidateKind::Fact, format!("User is {w} to"), obj.text, Some(slot)), end));
    }
    if let Some(m) = seq(t, j, "from") {
        let end = place_at(t, m)?;
        let obj = render(t, m, end, today, false);
        return Some((Draft::new(CandidateKind::Identity, "User is from", obj.text, Some("origin".into())), end));
    }
    if let Some(m) = seq(t, j, "based|living|staying in|near|out").map(|m| if is(t, m, "of") { m + 1 } else { m }) {
        let end = place_at(t, m)?;
        let obj = render(t, m, end, today, false);
        return Some((Draft::new(CandidateKind::Identity, "User lives in", obj.text, Some("home".into())), end));
    }
    if let Some(m) = seq(t, j, "called|named") {
        let (name, end) = name_at(t, m, true)?;
        return Some((Draft::new(CandidateKind::Identity, "User's name is", name, Some("name".into())), end));
    }
    if is(t, j, "married|single|divorced|engaged|widowed|separated") && brk_before(t, j + 1)
        || is(t, j, "married|engaged") && is(t, j + 1, "to")
    {
        let end = if is(t, j + 1, "to") { object(t, j + 2).unwrap_or(j + 1) } else { j + 1 };
        let obj = render(t, j, end, today, false);
        return Some((Draft::new(CandidateKind::Fact, "User is", obj.text, Some("relationship".into())), end));
    }
    if is(t, j, "retired|unemployed|self-employed|freelance|freelancing") {
        let obj = render(t, j, j + 1, today, false);
        return Some((Draft::new(CandidateKind::Identity, "User is", obj.text, Some("job".into())), j + 1));
    }
    if is(t, j, "studying|majoring") {
        let n = if is(t, j + 1, "in") { j + 2 } else { j + 1 };
        let end = object(t, n)?;
        let end = workplace(t, end).unwrap_or(end);
        let obj = render(t, j, end, today, false);
        return Some((Draft::new(CandidateKind::Identity, "User is", obj.text, Some("study".into())), end));
    }
    if is(t, j, NATIONALITIES) {
        let obj = render(t, j, j + 1, today, false);
        return Some((
            Draft::new(CandidateKind::Identity, "User is", capitalize(&obj.text), Some("nationality".into())),
            j + 1,
        ));
    }
    // "I'm 34", "I'm 34 years old".
    if let Ok(age) = w.parse::<u32>() {
        if (1..=120).contains(&age) {
            let end = seq(t, j + 1, "years old").or_else(|| seq(t, j + 1, "yo|y/o")).unwrap_or(j + 1);
            if brk_before(t, end) || end > j + 1 || is(t, end, "and|but|so|btw|lol|haha|now|today|tbh|yo|actually|by") {
                return Some((
                    Draft::new(CandidateKind::Identity, "User is", format!("{age} years old"), Some("age".into())),
                    end,
                ));
            }
        }
        return None;
    }
    if let Some(m) = seq(t, j, "going to") {
        let n = skip_adverbs(t, m, &mut cx.hedged);
        let (d, end) = future(t, "User is going to", n, today, cx, CandidateKind::Plan)?;
        return Some((d, end));
    }
    if let Some(m) = seq(t, j, "going|sticking with").or_else(|| seq(t, j, "switching to")) {
        let end = object(t, m)?;
        let head = format!("User is {}", t[j..m].iter().map(|x| x.w.as_str()).collect::<Vec<_>>().join(" "));
        return Some((plan_draft(t, &head, m, m, end, today, CandidateKind::Decision), end));
    }
    if let Some(m) = seq(t, j, "planning|hoping|intending|aiming").map(|m| if is(t, m, "to|on") { m + 1 } else { m }) {
        if w == "hoping" {
            cx.hedged = true;
        }
        let end = object(t, m)?;
        let head = format!(
            "User is {}{}",
            w,
            if is(t, m - 1, "to|on") { format!(" {}", at(t, m - 1)) } else { String::new() }
        );
        return Some((plan_draft(t, &head, m, m, end, today, CandidateKind::Plan), end));
    }
    // "I'm flying to Lisbon next Friday", "I'm meeting Jonas on Wednesday".
    if w.len() > 4
        && w.ends_with("ing")
        && w.chars().all(char::is_alphabetic)
        && !is(
            t,
            j,
            "thinking|wondering|feeling|trying|looking|getting|being|asking|saying|kidding|joking|doing|working|using|reading|watching|learning",
        )
    {
        let end = object_end(t, j + 1).max(j + 1);
        // "starting to think" is not a plan; "driving to my sister's" is.
        let destination =
            is(t, j + 2, "the|a|an|my|our|his|her|their|work|school|town|church|class|bed|see|visit|meet")
                || t.get(j + 2).is_some_and(Tok::capitalized);
        if is(t, j + 1, "to") && !is(t, j, STRONG_PROGRESSIVE) && !destination {
            return None;
        }
        let obj = render(t, j + 1, end, today, false);
        let strong = is(t, j, STRONG_PROGRESSIVE)
            && (t.get(j + 2).is_some_and(Tok::capitalized) || t.get(j + 1).is_some_and(Tok::capitalized));
        if !(refers_to_time(t, j + 1, end, &obj, cx.lead_dated) || strong) {
            return None;
        }
        return Some((
            plan_draft(t, &format!("User is {}", t[j].text.to_lowercase()), j, j + 1, end, today, CandidateKind::Plan),
            end,
        ));
    }
    // "I'm Dana".
    if let Some((name, end)) = name_at(t, j, false)
        && (brk_before(t, end) || is(t, end, "by|btw|and|here|from|but|lol|nice|hi|hey"))
    {
        return Some((Draft::new(CandidateKind::Identity, "User's name is", name, Some("name".into())), end));
    }
    None
}

/// A role at an event: "the best man at my brother's wedding".
fn event_role(t: &[Tok], j: usize, today: Date) -> Option<(Draft, usize)> {
    let m = seq(t, j, "the|a|an")?;
    let prep = (m + 1..t.len().min(m + 5)).take_while(|&k| !t[k - 1].brk).find(|&k| is(t, k, "at|for|in|of"))?;
    if is(t, prep, "of") && !is(t, prep + 1, "honour|honor|ceremonies") {
        return None;
    }
    let (prep, from) = if is(t, prep, "of") {
        let p = (prep + 2..t.len().min(prep + 4)).find(|&k| is(t, k, "at|for|in"))?;
        (p, p)
    } else {
        (prep, prep)
    };
    let end = object_end(t, prep + 1);
    let event = (prep + 1..end).any(|k| is(t, k, "wedding|weddings|party|funeral|ceremony|graduation|christening|baptism|bar|bat|shower|reunion|gala|celebration"));
    if !event || from <= m {
        return None;
    }
    let obj = render(t, j, end, today, false);
    let slot = format!("role:{}", key(t, m, prep, today, 3));
    Some((Draft::new(CandidateKind::Fact, "User is", obj.text, Some(slot)).with_day(obj.day), end))
}

/// "a morning person", "a cat person": a taste.
fn kind_of_person(t: &[Tok], j: usize, verb: &str, today: Date) -> Option<(Draft, usize)> {
    // "more of a tea person", "much more of a night owl", "not much of a morning person".
    let j = seq(t, j, "much more of").or_else(|| seq(t, j, "more|much of")).unwrap_or(j);
    let m = seq(t, j, "a|an")?;
    let person = (m + 1..t.len().min(m + 4))
        .find(|&k| is(t, k, "person|people|guy|girl|type") || (k == m + 1 && is(t, k, "owl|bird|riser|lark")))?;
    if is(t, person, "owl|bird|riser|lark") && !is(t, m, "night|early|late|morning") {
        return None;
    }
    if (m..person).any(|k| t[k].brk) || is(t, m, "nice|good|bad|great|private|busy|different|shy|simple") {
        return None;
    }
    let obj = render(t, j, person + 1, today, false);
    let slot = format!("preference:{} person", key(t, m, person, today, 2));
    Some((Draft::new(CandidateKind::Preference, format!("User {verb}"), obj.text, Some(slot)), person + 1))
}

fn diet(t: &[Tok], j: usize, today: Date) -> Option<(Draft, usize)> {
    let obj = render(t, j, j + 1, today, false);
    Some((Draft::new(CandidateKind::Fact, "User is", obj.text, Some("diet".into())), j + 1))
}

fn after_i_have(t: &[Tok], j: usize, today: Date, cx: &mut Cx) -> Option<(Draft, usize)> {
    let mut n = skip_adverbs(t, j + 1, &mut cx.hedged);
    if at(t, j) != "got" && is(t, n, "got") {
        n += 1;
    }
    // "I've been learning Korean for about a year".
    if is(t, n, "been")
        && is(
            t,
            n + 1,
            "learning|studying|playing|practicing|practising|training|running|teaching|working|doing|using|coding|writing|painting|volunteering|dating|married|vegan|vegetarian",
        )
    {
        let end = object(t, n + 2).unwrap_or(n + 2);
        if end > n + 2 || is(t, n + 1, "married|vegan|vegetarian") {
            let obj = render(t, n, end, today, false);
            let slot = format!("{}:{}", at(t, n + 1), key(t, n + 2, end, today, 2));
            return Some((Draft::new(CandidateKind::Fact, "User has", obj.text, Some(slot)), end));
        }
    }
    match at(t, n) {
        "lived" | "been" => {
            let m = if at(t, n) == "been" { seq(t, n + 1, "living|based|staying")? } else { n + 1 };
            let m = seq(t, m, "in|near")?;
            let end = place_at(t, m)?;
            let obj = render(t, m, end, today, false);
            return Some((Draft::new(CandidateKind::Identity, "User lives in", obj.text, Some("home".into())), end));
        }
        "moved" | "relocated" => {
            let m = seq(t, n + 1, "to|into")?;
            let end = place_at(t, m)?;
            let obj = render(t, m, end, today, false);
            return Some((Draft::new(CandidateKind::Identity, "User lives in", obj.text, Some("home".into())), end));
        }
        "decided" | "chosen" | "picked" | "settled" | "agreed" | "committed" => {
            let verb = if at(t, n) == "chosen" { "chose" } else { at(t, n) };
            return decision(t, "User", verb, n + 1, today);
        }
        "to" => {
            // "I have to submit it by Friday".
            let end = object(t, n + 1)?;
            let obj = render(t, n + 1, end, today, false);
            if !obj.dated {
                return None;
            }
            return Some((plan_draft(t, "User has to", n + 1, n + 1, end, today, CandidateKind::Plan), end));
        }
        _ => {}
    }
    // "I have a dog named Rex", "I have two kids", "I've got a call at 6pm".
    let count = is(t, n, "a|an|one|two|three|four|five|six|seven|eight|nine|ten|no|some|twin")
        || at(t, n).parse::<u32>().is_ok();
    // "I have type 1 diabetes", "I have celiac disease".
    let condition = (n..t.len().min(n + 4)).take_while(|&k| k == n || !t[k - 1].brk).any(|k| is(t, k, DURABLE_HAVE));
    if !count && !condition {
        return None;
    }
    let end = object_end(t, n);
    let head_end =
        (n..end).find(|&k| is(t, k, "named|called|with|at|on|in|for|tomorrow|tonight|today|next|this")).unwrap_or(end);
    let event = (n..head_end).any(|k| is(t, k, EVENTS));
    let durable = (n..head_end).any(|k| is(t, k, DURABLE_HAVE));
    let obj = render(t, n, end, today, false);
    if event {
        if !refers_to_time(t, n, end, &obj, cx.lead_dated) {
            return None;
        }
        return Some((plan_draft(t, "User has", n, n, end, today, CandidateKind::Plan), end));
    }
    if !durable {
        return None;
    }
    let slot = format!("has:{}", key(t, n, head_end, today, 2));
    Some((Draft::new(CandidateKind::Fact, "User has", obj.text, Some(slot)), end))
}

// ---------------------------------------------------------------------------------------------
// Statements with "we", "my", "let's", and without a subject.

fn after_we(t: &[Tok], i: usize, today: Date, cx: &mut Cx) -> Option<(Draft, usize)> {
    let mut j = skip_adverbs(t, i, &mut cx.hedged);
    // "we have two cats", "we've got a cabin": the household's.
    if is(t, j, "have|own|got")
        && let Some(found) = after_i_have(t, j, today, cx).filter(|(d, _)| d.kind == CandidateKind::Fact)
    {
        return Some(found);
    }
    if is(t, j, "have|all|both") {
        j = skip_adverbs(t, j + 1, &mut cx.hedged);
    }
    let w = at(t, j);
    match w {
        "bought" | "purchased" | "adopted" => bought(t, "User and others", w, j + 1, today),
        "decided" | "chose" | "picked" | "settled" | "agreed" | "voted" | "committed" => {
            decision(t, "User and others", w, j + 1, today)
        }
        "are" | "will" => {
            let n = skip_adverbs(t, j + 1, &mut cx.hedged);
            if let Some(m) = seq(t, n, "going|sticking|go|stick with").or_else(|| seq(t, n, "switching|migrating to")) {
                let end = object(t, m)?;
                if !t.get(m).is_some_and(Tok::capitalized) && !is(t, m, "the|a|an|option|plan") && !is(t, m, "with") {
                    // "we're going with" takes anything; "moving to" wants a name.
                    if is(t, m - 1, "to") {
                        return None;
                    }
                }
                let phrase = t[n..m].iter().map(|x| x.w.as_str()).collect::<Vec<_>>().join(" ");
                let head = if w == "will" {
                    format!("User and others will {phrase}")
                } else {
                    format!("User and others are {phrase}")
                };
                return Some((plan_draft(t, &head, m, m, end, today, CandidateKind::Decision), end));
            }
            if w == "are" {
                if let Some(m) = seq(t, n, "going to") {
                    return future(t, "User and others are going to", m, today, cx, CandidateKind::Plan);
                }
                let v = at(t, n);
                if v.len() > 4
                    && v.ends_with("ing")
                    && !is(t, n, "thinking|wondering|trying|looking|getting|doing|working|using")
                {
                    let end = object_end(t, n + 1).max(n + 1);
                    let obj = render(t, n + 1, end, today, false);
                    if !refers_to_time(t, n + 1, end, &obj, cx.lead_dated) || !has_content_word(t, n + 1, end) {
                        return None;
                    }
                    let head = format!("User and others are {}", t[n].text.to_lowercase());
                    return Some((plan_draft(t, &head, n, n + 1, end, today, CandidateKind::Plan), end));
                }
                return None;
            }
            future(t, "User and others will", n, today, cx, CandidateKind::Plan)
        }
        _ => None,
    }
}

fn after_let(t: &[Tok], i: usize, today: Date) -> Option<(Draft, usize)> {
    let n = seq(t, i, "us")?;
    let m = seq(t, n, "go|stick with")
        .or_else(|| seq(t, n, "switch|move|migrate to"))
        .or_else(|| seq(t, n, "use|pick|choose|keep|book|order|get|schedule|plan|meet|buy|hire|adopt|name|call"))
        .or_else(|| {
            seq(t, n, "do|try").filter(|&m| t.get(m).is_some_and(|x| x.capitalized() || x.w.ends_with("day")))
        })?;
    let end = object(t, m)?;
    if is(t, m, "it|that|this|something|some|a|an|the")
        && !(m..end).any(|k| t[k].capitalized())
        && !is(t, n, "go|stick|switch|move|migrate|use|pick|choose")
    {
        return None;
    }
    let phrase = t[n..m].iter().map(|x| x.w.as_str()).collect::<Vec<_>>().join(" ");
    Some((plan_draft(t, &format!("User decided to {phrase}"), m, m, end, today, CandidateKind::Decision), end))
}

/// Relations whose statements are facts about the user's world.
const RELATIONS: &str = "wife|husband|partner|boyfriend|girlfriend|fiance|fiancé|fiancee|spouse|sister|brother|sibling|siblings|mom|mum|mother|dad|father|parents|son|daughter|kid|kids|child|children|baby|grandma|grandmother|grandpa|grandfather|granddad|nana|aunt|uncle|cousin|niece|nephew|friend|roommate|flatmate|housemate|boss|manager|colleague|coworker|co-worker|team|company|dog|cat|puppy|kitten|pet|bird|parrot|rabbit|hamster|horse|fish|turtle|in-laws|stepmom|stepdad|stepson|stepdaughter|twin|bestie|bff|son-in-law|daughter-in-law|mother-in-law|father-in-law|landlord|therapist|doctor";
const PETS: &str = "dog|cat|puppy|kitten|pet|bird|parrot|rabbit|hamster|horse|fish|turtle|snake|lizard";
/// Attributes of the user; identity ones are only ever proposed.
const IDENTITY_ATTRIBUTES: &str = "name|nickname|full name|last name|surname|middle name|first name|pronouns|hometown|home town|job|role|title|job title|age|nationality|employer|occupation|profession";
const FACT_ATTRIBUTES: &str = "birthday|email|e-mail|email address|phone|phone number|number|address|home address|blood type|timezone|time zone|native language|first language|mother tongue|star sign|zodiac sign|height|religion|major|degree|salary|goal|shoe size|dress size|username|handle|github|website|diet";

fn after_my(t: &[Tok], i: usize, today: Date) -> Option<(Draft, usize)> {
    // "my favourite drink is coffee".
    if let Some(n) = seq(t, i, "favourite|favorite|fave|fav").or_else(|| seq(t, i, "all-time favourite|favorite")) {
        let verb = (n..t.len().min(n + 4)).find(|&k| is(t, k, "is|are|was|has|would") && !brk_before(t, k))?;
        if verb == n || !is(t, verb, "is|are") {
            return None;
        }
        let mut v = verb + 1;
        if is(t, v, "probably|definitely|still|now|actually|either") {
            v += 1;
        }
        let end = object(t, v)?;
        let what = t[n..verb].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
        let obj = render(t, v, end, today, false);
        let slot = format!("favourite:{}", text::normalize(&what));
        return Some((
            Draft::new(
                CandidateKind::Preference,
                format!("User's favourite {what} {}", at(t, verb)),
                obj.text,
                Some(slot),
            ),
            end,
        ));
    }
    // "my name is Dana", "my name's Dana".
    if let Some(m) = seq(t, i, "name is|was") {
        let (name, end) = name_at(t, m, true)?;
        return Some((Draft::new(CandidateKind::Identity, "User's name is", name, Some("name".into())), end));
    }
    // The noun phrase: up to three words before its verb.
    let mut n = i;
    while n < t.len()
        && n < i + 3
        && !is(t, n, "is|are|was|lives|works|live|work|studies|moved|teaches|has|had|name|just|and|who|keeps|wants|got")
        && !is(t, n, ADVERBS)
        && !t[n].capitalized()
    {
        n += 1;
        // The head noun ends the phrase: "my daughter | starts kindergarten".
        if is(t, n - 1, RELATIONS) && !is(t, n, RELATIONS) {
            break;
        }
        if t[n - 1].brk {
            break;
        }
    }
    if n == i {
        // "my PhD defence is on March 10th": a capitalized word before an event.
        n = (i + 1..t.len().min(i + 3))
            .take_while(|&k| !t[k - 1].brk)
            .find(|&k| is(t, k, EVENTS) || is(t, k, ACTIVITIES))
            .map_or(i, |k| k + 1);
        if n == i || !is(t, n, "is|are|was|got|has") {
            return None;
        }
    }
    let noun = t[i..n].iter().map(|x| x.w.as_str()).collect::<Vec<_>>().join(" ");
    let relation = is(t, n - 1, RELATIONS) || noun == "best friend";
    // "my dog Biscuit", "my wife Priya".
    if relation
        && !t[n - 1].brk
        && let Some((name, _)) = name_at(t, n, false).filter(|(name, _)| !is_word(&name.to_lowercase(), "i"))
    {
        let end = n + name.split(' ').count();
        let noun_text = t[i..n].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
        // "my daughter Mia starts school in September": the whole statement, name and all.
        if let Some(found) = named_relation_statement(t, i, n, end, &noun, &name, today) {
            return Some(found);
        }
        let slot = Some(format!("{}:name", text::normalize(&noun)));
        let d = if is(t, n - 1, PETS) {
            Draft::new(CandidateKind::Fact, format!("User has a {noun_text} named"), name, slot)
        } else {
            Draft::new(CandidateKind::Fact, format!("User's {noun_text} is"), name, slot)
        };
        return Some((d, end));
    }
    if relation {
        if let Some(m) = seq(t, n, "name is|was").or_else(|| seq(t, n, "is called|named")) {
            let (name, end) = name_at(t, m, true)?;
            let noun_text = t[i..n].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
            return Some((
                Draft::new(
                    CandidateKind::Fact,
                    format!("User's {noun_text} is called"),
                    name,
                    Some(format!("{}:name", text::normalize(&noun))),
                ),
                end,
            ));
        }
        let mut ignored = false;
        let n_verb = skip_adverbs(t, n, &mut ignored);
        let verb = at(t, n_verb);
        // "my parents are visiting next weekend", "my daughter starts kindergarten in September".
        let end = object_end(t, n_verb + 1).max(n_verb + 1);
        let progressive =
            is(t, n_verb, "is|are") && t.get(n_verb + 1).is_some_and(|x| x.w.ends_with("ing") && x.w.len() > 4);
        let present = verb.len() > 3
            && verb.ends_with('s')
            && !is(t, n_verb, "is|was|has|lives|works|studies|teaches|keeps|wants|says|thinks|likes|loves|hates|needs");
        if progressive || present {
            let obj = render(t, n, end, today, false);
            let words: Vec<&str> = t[n..end].iter().map(|x| x.w.as_str()).collect();
            if refers_to_time(t, n, end, &obj, false) && words.len() > 1 {
                let noun_text = t[i..n].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
                let slot = format!("plan:{} {}", text::normalize(&noun), key(t, n_verb, end, today, 2));
                return Some((
                    Draft::new(CandidateKind::Plan, format!("User's {noun_text}"), obj.text, Some(slot))
                        .with_day(obj.day),
                    end,
                ));
            }
        }
        let ok = match verb {
            "lives" | "works" | "studies" | "moved" | "teaches" | "live" | "work" => true,
            // "my son just turned 5".
            "turned" => t.get(n_verb + 1).is_some_and(|x| x.w.parse::<u32>().is_ok()),
            "is" | "are" | "was" => {
                is(
                    t,
                    n_verb + 1,
                    "a|an|from|allergic|vegan|vegetarian|married|pregnant|retired|diabetic|called|named|based|in|at|the",
                ) || t.get(n_verb + 1).is_some_and(|x| x.capitalized() || x.w.parse::<u32>().is_ok())
            }
            _ => false,
        };
        if !ok {
            return None;
        }
        let end = object_end(t, n_verb + 1);
        if end <= n_verb + 1 || !has_content_word(t, n_verb + 1, end) {
            return None;
        }
        let obj = render(t, n, end, today, false);
        let noun_text = t[i..n].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
        let slot_tail = if matches!(verb, "is" | "are" | "was") {
            format!("is {}", at(t, n_verb + 1))
        } else {
            verb.trim_end_matches('s').to_owned()
        };
        let slot = format!("{}:{slot_tail}", text::normalize(&noun));
        return Some((
            Draft::new(CandidateKind::Fact, format!("User's {noun_text}"), obj.text, Some(slot)).with_day(obj.day),
            end,
        ));
    }
    // "my exam is in 3 days", "my dentist appointment got moved to next Tuesday", "my thesis
    // submission is on April 22nd".
    let dated_is = is(t, n, "is|are")
        && !is_word(&noun, FACT_ATTRIBUTES)
        && !is_word(&noun, IDENTITY_ATTRIBUTES)
        && text::match_date(&t[n + 1..t.len().min(n + 8)].iter().map(|x| x.w.as_str()).collect::<Vec<_>>(), 0, today)
            .is_some_and(|m| !m.is_time);
    if is(t, n - 1, EVENTS) || is(t, n - 1, ACTIVITIES) || dated_is {
        let end = object_end(t, n);
        let obj = render(t, n, end, today, false);
        if end > n && obj.dated {
            let noun_text = t[i..n].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
            let slot = format!("plan:{}", text::normalize(&noun));
            return Some((
                Draft::new(CandidateKind::Plan, format!("User's {noun_text}"), obj.text, Some(slot)).with_day(obj.day),
                end,
            ));
        }
        return None;
    }
    if !is(t, n, "is|are") {
        return None;
    }
    let v = n + 1;
    let end = object(t, v)?;
    let noun_text = t[i..n].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
    let obj = render(t, v, end, today, false);
    let verb = at(t, n);
    if is_word(&noun, IDENTITY_ATTRIBUTES) {
        return Some((
            Draft::new(
                CandidateKind::Identity,
                format!("User's {noun_text} {verb}"),
                obj.text,
                Some(text::normalize(&noun)),
            ),
            end,
        ));
    }
    if is_word(&noun, FACT_ATTRIBUTES) {
        // A birthday comes back every year: its date stays as written ("the 3rd of March").
        let obj = if is_word(&noun, "birthday") {
            Obj {
                text: t[v..end].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" "),
                day: None,
                time: None,
                dated: false,
            }
        } else {
            obj
        };
        return Some((
            Draft::new(
                CandidateKind::Fact,
                format!("User's {noun_text} {verb}"),
                obj.text,
                Some(text::normalize(&noun)),
            )
            .with_day(obj.day),
            end,
        ));
    }
    None
}

/// "my daughter Mia starts school in September", "my sister Ana lives in Porto": a statement
/// about a named relation, kept whole. `i` is the noun's start, `n` the name's, `end` after it.
fn named_relation_statement(
    t: &[Tok],
    i: usize,
    n: usize,
    end: usize,
    noun: &str,
    name: &str,
    today: Date,
) -> Option<(Draft, usize)> {
    if t[end - 1].brk {
        return None;
    }
    let mut ignored = false;
    let v = skip_adverbs(t, end, &mut ignored);
    let verb = at(t, v);
    let progressive = is(t, v, "is|are") && t.get(v + 1).is_some_and(|x| x.w.ends_with("ing") && x.w.len() > 4);
    let present =
        verb.len() > 3 && verb.ends_with('s') && verb.chars().all(char::is_alphabetic) && !verb.ends_with("ss");
    let state = is(t, v, "is|was")
        && (is(t, v + 1, "a|an|allergic|vegan|vegetarian|diabetic|pregnant|married|retired|from|in|at|turning")
            || t.get(v + 1).is_some_and(|x| x.w.parse::<u32>().is_ok()));
    let past =
        is(t, v, "turned|started|moved|got|just|graduated|joined|passed|died|left|finished|began|lost|broke|had|has");
    if !(progressive || present || state || past) || is(t, v, "says|thinks|wants|needs|likes|loves|hates|keeps") {
        return None;
    }
    let stop = object_end(t, v + 1).max(v + 1);
    if stop <= v + 1 || !has_content_word(t, v + 1, stop) {
        return None;
    }
    let obj = render(t, v, stop, today, false);
    let noun_text = t[i..n].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
    let head = format!("User's {noun_text} {name}");
    let dated = refers_to_time(t, v, stop, &obj, false) && (progressive || present);
    let kind = if dated { CandidateKind::Plan } else { CandidateKind::Fact };
    let slot = if dated {
        format!("plan:{} {}", text::normalize(noun), key(t, v, stop, today, 2))
    } else if is(t, v, "is|are|was") {
        format!("{}:is {}", text::normalize(noun), at(t, v + 1))
    } else {
        format!("{}:{}", text::normalize(noun), key(t, v, stop, today, 1))
    };
    Some((Draft::new(kind, head, obj.text, Some(slot)).with_day(obj.day), stop))
}

/// Names, value-first favourites and other patterns that do not start with the subject.
fn special(t: &[Tok], i: usize, today: Date) -> Option<(Draft, usize)> {
    let i = if is(t, i, "please|pls|kindly") { i + 1 } else { i };
    // "address me as Dr. Okafor", "refer to me as Sam".
    if let Some(n) = seq(t, i, "address me as").or_else(|| seq(t, i, "refer to me as")) {
        let (name, end) = name_at(t, n, true)?;
        return Some((Draft::new(CandidateKind::Identity, "User goes by", name, Some("name".into())), end));
    }
    // "name's Ollie" in a list of facts.
    if let Some(n) = seq(t, i, "name is").filter(|_| brk_before(t, i)) {
        let (name, end) = name_at(t, n, true)?;
        return Some((Draft::new(CandidateKind::Identity, "User's name is", name, Some("name".into())), end));
    }
    // "It's my daughter's 6th birthday on Saturday".
    if let Some(n) = seq(t, i, "it|its is my").or_else(|| seq(t, i, "its my")) {
        let limit = t.len().min(n + 5);
        let event = (n..limit).find(|&k| is(t, k, "birthday|anniversary|wedding|graduation") || is(t, k, EVENTS))?;
        let end = object_end(t, event + 1);
        let obj = render(t, event + 1, end, today, false);
        if !obj.dated {
            return None;
        }
        let noun = t[n..=event].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
        let slot = format!("plan:{}", text::normalize(&noun));
        return Some((
            Draft::new(CandidateKind::Plan, format!("It is User's {noun}"), obj.text, Some(slot)).with_day(obj.day),
            end,
        ));
    }
    // "you can call me Benji", "everyone calls me Benji", "friends call me Benji".
    if let Some(n) = seq(t, i, "you can|may|could call me")
        .or_else(|| seq(t, i, "everyone|everybody|people|friends|most|folks call|calls me"))
        .or_else(|| seq(t, i, "my friends call me"))
        .or_else(|| seq(t, i, "i go by"))
    {
        let (name, end) = name_at(t, n, true)?;
        return Some((Draft::new(CandidateKind::Identity, "User goes by", name, Some("name".into())), end));
    }
    // "call me Marc".
    if let Some(n) = seq(t, i, "call me|us")
        && !is(t, n, "back|later|tomorrow|when|if|at|on|crazy|old-fashioned")
    {
        let (name, end) = name_at(t, n, true)?;
        return Some((Draft::new(CandidateKind::Identity, "User goes by", name, Some("name".into())), end));
    }
    // "it's Marco here", "this is Dana".
    if let Some(n) = seq(t, i, "it|this is").or_else(|| seq(t, i, "its")) {
        let (name, end) = name_at(t, n, is(t, n + 1, "here|speaking"))?;
        if is(t, end, "here|speaking") || (at(t, i) == "this" && brk_before(t, end) && t[n].capitalized()) {
            return Some((Draft::new(CandidateKind::Identity, "User's name is", name, Some("name".into())), end + 1));
        }
        return None;
    }
    if let Some(n) = seq(t, i, "the name is") {
        let (name, end) = name_at(t, n, true)?;
        return Some((Draft::new(CandidateKind::Identity, "User's name is", name, Some("name".into())), end));
    }
    // "the grant proposal is due Monday".
    if is(t, i, "the|my|our")
        && let Some(v) = (i + 1..t.len().min(i + 5)).find(|&v| seq(t, v, "is|are due").is_some() && !t[v - 1].brk)
    {
        let end = object_end(t, v + 2);
        let obj = render(t, v + 2, end, today, false);
        if obj.dated {
            let noun = t[i + 1..v].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
            let slot = format!("plan:{} due", text::normalize(&noun));
            return Some((
                Draft::new(CandidateKind::Plan, format!("User has the {noun} due"), obj.text, Some(slot))
                    .with_day(obj.day),
                end,
            ));
        }
    }
    // "Green is my favourite colour".
    let limit = t.len().min(i + 5);
    for v in i + 1..limit {
        if t[v - 1].brk {
            break;
        }
        let after_verb = seq(t, v, "is|are").or_else(|| seq(t, v, "has|have been")).map(|m| {
            let m = seq(t, m, "hands down").or_else(|| seq(t, m, "by far")).unwrap_or(m);
            if is(t, m, "definitely|easily|still|always|probably|totally|absolutely|really") { m + 1 } else { m }
        });
        // "neovim is my go-to", "ramen is my go-to comfort food".
        if let Some(n) = after_verb.and_then(|m| seq(t, m, "my go-to|goto|usual|staple")) {
            if !has_content_word(t, i, v) || is(t, i, VAGUE) || (i..v).any(|k| is(t, k, "i|you|he|she|we|they")) {
                return None;
            }
            let end = object_end(t, n);
            let label = at(t, n - 1).replace("goto", "go-to");
            let what = t[n..end].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
            let value = render(t, i, v, today, false);
            let head = if what.is_empty() { format!("User's {label} is") } else { format!("User's {label} {what} is") };
            let slot =
                format!("favourite:{}", if what.is_empty() { key(t, i, v, today, 2) } else { text::normalize(&what) });
            return Some((Draft::new(CandidateKind::Preference, head, value.text, Some(slot)), end));
        }
        if let Some(n) = after_verb.and_then(|m| seq(t, m, "my favourite|favorite|fave|fav")) {
            let end = object_end(t, n);
            if end <= n || !has_content_word(t, i, v) || is(t, i, VAGUE) {
                return None;
            }
            let what = t[n..end].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
            let value = render(t, i, v, today, false);
            let slot = format!("favourite:{}", text::normalize(&what));
            return Some((
                Draft::new(
                    CandidateKind::Preference,
                    format!("User's favourite {what} {}", at(t, v)),
                    value.text,
                    Some(slot),
                ),
                end,
            ));
        }
    }
    // "the big move is 1 July", "our anniversary is February 2nd".
    if is(t, i, "the|our")
        && let Some(v) = (i + 1..t.len().min(i + 5)).find(|&v| is(t, v, "is|are") && !t[v - 1].brk)
        && (i + 1..v).any(|k| is(t, k, EVENTS) || is(t, k, ACTIVITIES) || is(t, k, "anniversary|birthday"))
    {
        let end = object_end(t, v + 1);
        let cores: Vec<&str> = t[v + 1..end].iter().map(|x| x.w.as_str()).collect();
        if text::match_date(&cores, 0, today).is_some_and(|m| !m.is_time) {
            let obj = render(t, v + 1, end, today, false);
            let noun = t[i + 1..v].iter().map(|x| x.text.as_str()).collect::<Vec<_>>().join(" ");
            let owner = if is(t, i, "our") { "User's" } else { "User has the" };
            let slot = format!("plan:{}", text::normalize(&noun));
            return Some((
                Draft::new(CandidateKind::Plan, format!("{owner} {noun} {}", at(t, v)), obj.text, Some(slot))
                    .with_day(obj.day),
                end,
            ));
        }
    }
    // "olives on pizza are disgusting", "mint chocolate chip is the best ice cream".
    if let Some(found) = verdict(t, i, today) {
        return Some(found);
    }
    // "Postgres it is."
    if !is(t, i, "i|we|my|let|it|that|this|you")
        && t.len() >= i + 3
        && t.len() <= i + 6
        && at(t, t.len() - 2) == "it"
        && at(t, t.len() - 1) == "is"
        && has_content_word(t, i, t.len() - 2)
    {
        let end = t.len() - 2;
        let obj = render(t, i, end, today, false);
        let k = key(t, i, end, today, 3);
        return Some((
            Draft::new(CandidateKind::Decision, "User decided on", obj.text, Some(format!("decision:{k}"))),
            t.len(),
        ));
    }
    None
}

/// "pineapple on pizza is great", "olives are disgusting": an opinion on a thing, at a
/// sentence start, about no person and no time.
fn verdict(t: &[Tok], i: usize, today: Date) -> Option<(Draft, usize)> {
    if !brk_before(t, i) || t.get(i).is_none_or(|x| x.quoted) {
        return None;
    }
    if is(
        t,
        i,
        "the|a|an|this|that|these|those|it|its|your|his|her|their|our|my|i|you|he|she|we|they|there|here|what|who|how|why|which|today|tonight|tomorrow|life|work|everything|nothing|something|anything|everyone|weather|traffic",
    ) {
        return None;
    }
    let v = (i + 1..t.len().min(i + 6)).take_while(|&k| !t[k - 1].brk).find(|&k| is(t, k, "is|are"))?;
    if (i..v).any(|k| is(t, k, "i|you|he|she|we|they|it|is|was|will|would|can|should|not|my|your|his|her|that|which"))
        || (i..v).any(|k| text::is_time_word(&t[k].w))
    {
        return None;
    }
    let mut a = v + 1;
    while is(
        t,
        a,
        "so|really|just|honestly|absolutely|totally|seriously|literally|objectively|truly|easily|simply|genuinely|pretty|actually",
    ) {
        a += 1;
    }
    let positive = is(
        t,
        a,
        "great|amazing|incredible|awesome|delicious|elite|unbeatable|superior|perfection|goated|sublime|heavenly|yummy|tasty|underrated|good",
    ) || seq(t, a, "the best").is_some()
        || seq(t, a, "so good").is_some();
    let negative = is(t, a, "disgusting|gross|vile|revolting|nasty|awful|overrated|horrible|terrible|inedible|bad")
        || seq(t, a, "the worst").is_some()
        || seq(t, a, "a crime|sin").is_some();
    if !(positive || negative) || (is(t, a, "good|bad") && a == v + 1) {
        return None;
    }
    let end = object_end(t, a);
    if !has_content_word(t, i, v) {
        return None;
    }
    let obj = render(t, i, end, today, false);
    let slot = format!("preference:{}", key(t, i, v, today, 3));
    Some((Draft::new(CandidateKind::Preference, "User thinks", lowercase_first(&obj.text), Some(slot)), end))
}

/// Activities that, followed by a date, are an appointment ("gym at 7 tonight").
const ACTIVITIES: &str = "defence|defense|viva|move|anniversary|graduation|ceremony|audition|hearing|submission|appointment|physiotherapy|checkup|check-up|gym|yoga|pilates|run|swim|practice|rehearsal|dentist|doctor|vet|haircut|therapy|physio|soccer|football|tennis|climbing|training|church|choir|dinner|lunch|brunch|drinks|coffee|date|appointment|meeting|interview|exam|call|flight|party|class|lecture|game|match|concert|shift|standup|presentation|deadline|wedding|trip|surgery|checkup|demo|review|workshop|conference|lesson|lessons|recital|hike|hiking";

/// A note-style appointment: an activity and a date, no verb ("dentist tomorrow at 9:30").
fn dated_event(t: &[Tok], i: usize, today: Date) -> Option<(Draft, usize)> {
    // "chem exam tmrw", "the wedding on the 14th": a word or two may qualify the activity.
    let activity = (i..t.len().min(i + 3)).take_while(|&k| k == i || !t[k - 1].brk).find(|&k| is(t, k, ACTIVITIES))?;
    if (i..activity).any(|k| {
        is(t, k, VAGUE)
            || is(t, k, "i|we|my|no|not|is|are|was|to|for|at|in|on|with|and|or|but|so|if|did|do|does|had|have|has|got|after|before")
            || !t[k].w.chars().all(|c| c.is_alphanumeric() || c == '-')
            || (t[k].w.len() > 4 && (t[k].w.ends_with("ing") || t[k].w.ends_with("ed")))
            || text::match_date(&[t[k].w.as_str()], 0, today).is_some()
    }) {
        return None;
    }
    let limit = t.len().min(activity + 5);
    let cores: Vec<&str> = t[i..t.len().min(i + 16)].iter().map(|x| x.w.as_str()).collect();
    let mut k = activity + 1;
    while k < limit && !t[k - 1].brk {
        if let Some(m) = text::match_date(&cores, k - i, today).filter(|m| !m.is_time) {
            let mut end = k + m.len;
            while let Some(more) = (!t[end - 1].brk).then(|| text::match_date(&cores, end - i, today)).flatten() {
                end += more.len;
            }
            if !(brk_before(t, end) || is(t, end, "then|and|with|for|so|at|around|in|near")) {
                return None;
            }
            // "vet tomorrow at 4 with the cat": the rest of the clause goes along.
            if is(t, end, "at|around|with|in|near") {
                end = object_end(t, end).max(end);
            }
            let obj = render(t, i, end, today, false);
            let slot = format!("plan:{}", key(t, i, k, today, 2));
            return Some((Draft::new(CandidateKind::Plan, "User has", obj.text, Some(slot)).with_day(obj.day), end));
        }
        if is(t, k, "is|was|will|sucks|looks|went|got|has") {
            return None;
        }
        k += 1;
    }
    None
}

/// Clauses that drop their "I" ("Just moved to Berlin", "probably going hiking on Sunday").
fn subjectless(t: &[Tok], i: usize, today: Date, cx: &mut Cx) -> Option<(Draft, usize)> {
    if let Some(found) = dated_event(t, i, today) {
        return Some(found);
    }
    let i = skip_adverbs(t, i, &mut cx.hedged);
    let w = at(t, i);
    match w {
        "moved" | "relocated" => {
            let n = seq(t, i + 1, "to|into")?;
            let end = place_at(t, n)?;
            let obj = render(t, n, end, today, false);
            Some((Draft::new(CandidateKind::Identity, "User lives in", obj.text, Some("home".into())), end))
        }
        "not" | "a" | "big" | "huge" | "massive" | "total" | "major" | "diehard" | "lifelong" => {
            let neg = w == "not";
            let mut n = if neg { skip_adverbs(t, i + 1, &mut cx.hedged) } else { i };
            if neg && let Some(m) = seq(t, n, "into") {
                return preference(t, "is not into", m, today);
            }
            if is(t, n, "a|an") {
                n += 1;
            }
            if is(t, n, "big|huge|massive|great|real|total|major|diehard|lifelong") {
                n += 1;
            }
            let m = seq(t, n, "fan of")?;
            preference(t, if neg { "is not a fan of" } else { "is a fan of" }, m, today)
        }
        // "can't stand olives".
        "can" => {
            let n = seq(t, i + 1, "not stand|bear")?;
            preference(t, "can't stand", n, today)
        }
        // "going with Hetzner", "sticking with Postgres".
        "going" | "sticking" if is(t, i + 1, "with") => {
            let end = object(t, i + 2)?;
            let head = format!("User is {w} with");
            Some((plan_draft(t, &head, i + 2, i + 2, end, today, CandidateKind::Decision), end))
        }
        "started" | "took" | "quit" => took_up(t, i, today),
        "picked" if is(t, i + 1, "up") => took_up(t, i, today),
        "decided" | "settled" | "chose" | "opted" | "picked" => {
            let verb = if w == "opted" { "decided" } else { w };
            decision(t, "User", verb, i + 1, today)
        }
        "work" | "working" if is(t, i + 1, "as|at|for|remotely|nights|full-time|part-time") => {
            work(t, "work", i + 1, today)
        }
        "live" | "living" if is(t, i + 1, "in") => {
            let end = place_at(t, i + 2)?;
            let obj = render(t, i + 2, end, today, false);
            Some((Draft::new(CandidateKind::Identity, "User lives in", obj.text, Some("home".into())), end))
        }
        "allergic" => after_i_am(t, i, today, cx),
        _ if w.len() > 4 && w.ends_with("ing") && w.chars().all(char::is_alphabetic) => {
            if w != "going"
                && is(
                    t,
                    i,
                    "thinking|wondering|feeling|trying|looking|getting|being|asking|saying|kidding|joking|doing|working|using|reading|watching|learning|figuring",
                )
            {
                return None;
            }
            let m = if w == "going" && is(t, i + 1, "to") {
                if !t.get(i + 2).is_some_and(Tok::capitalized) {
                    return None;
                }
                i + 1
            } else {
                i + 1
            };
            let end = object_end(t, m).max(m);
            let obj = render(t, m, end, today, false);
            if !refers_to_time(t, m, end, &obj, cx.lead_dated) || !has_content_outside_dates(t, m, end, today) {
                return None;
            }
            Some((
                plan_draft(t, &format!("User is {}", t[i].text.to_lowercase()), i, m, end, today, CandidateKind::Plan),
                end,
            ))
        }
        _ => None,
    }
}
