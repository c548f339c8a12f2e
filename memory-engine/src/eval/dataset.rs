//! The evaluation dataset: a strict JSON-lines reader for memories and queries grouped into
//! collections.
//!
//! Each non-blank line is one JSON object, either a memory
//! `{"type":"memory","collection":C,"id":ID,"text":T,"timestamp":RFC3339?,"speaker":S?,"session":S?}`
//! or a query
//! `{"type":"query","collection":C,"id":ID,"text":Q,"relevant":[ID...],"category":K?,"asked_at":RFC3339?}`.
//! `timestamp` is when the memory was said, `session` names the conversation it belongs to
//! within its collection, and `asked_at` is when the question is asked. Lines may come in any
//! order. Every problem is an `InvalidInput` error naming its line: a wrong score is worse than
//! no score, so nothing is skipped or guessed, and an unknown field is an error too.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::Path;

use memory_core::{Error, Result, Timestamp};
use serde::Deserialize;
use serde_json::Value;

/// A parsed and cross-checked dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Collections in the order their first line appears.
    pub collections: Vec<Collection>,
}

/// One collection: an isolated set of memories and the queries asked against it.
#[derive(Debug, Clone, PartialEq)]
pub struct Collection {
    /// The name used in the dataset.
    pub name: String,
    /// Memories in file order; ids are unique within the collection.
    pub memories: Vec<DatasetMemory>,
    /// Queries in file order; ids are unique within the collection.
    pub queries: Vec<DatasetQuery>,
}

/// A memory line.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetMemory {
    /// The dataset's id, unique within its collection.
    pub id: String,
    /// The text as written (without the speaker).
    pub text: String,
    /// When it was said, if the dataset says.
    pub timestamp: Option<Timestamp>,
    /// Who said it, if the dataset says.
    pub speaker: Option<String>,
    /// The conversation (session) it belongs to, a name within its collection, if the dataset
    /// says.
    pub session: Option<String>,
    /// 1-based line number, for messages.
    pub line: usize,
}

impl DatasetMemory {
    /// The text that is embedded and indexed: `"Speaker: text"` when there is a speaker, so
    /// that questions naming a person ("what did Ravi say about...") can match who said it.
    pub fn indexed_content(&self) -> String {
        match &self.speaker {
            Some(speaker) => format!("{speaker}: {}", self.text),
            None => self.text.clone(),
        }
    }
}

/// A query line.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetQuery {
    /// The dataset's id, unique within its collection.
    pub id: String,
    /// The question.
    pub text: String,
    /// Ids of the memories that answer it: at least one, no repeats, all in the collection.
    pub relevant: Vec<String>,
    /// The category metrics are grouped by, if any.
    pub category: Option<String>,
    /// When the question is asked, if the dataset says.
    pub asked_at: Option<Timestamp>,
    /// 1-based line number, for messages.
    pub line: usize,
}

/// The fields of a memory line. Unknown fields are errors so a typo ("speker") is caught
/// instead of silently dropping data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryLine {
    #[serde(rename = "type")]
    _kind: String,
    collection: String,
    id: String,
    text: String,
    timestamp: Option<String>,
    speaker: Option<String>,
    session: Option<String>,
}

/// The fields of a query line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueryLine {
    #[serde(rename = "type")]
    _kind: String,
    collection: String,
    id: String,
    text: String,
    relevant: Vec<String>,
    category: Option<String>,
    asked_at: Option<String>,
}

impl Dataset {
    /// Reads and parses the dataset file at `path`; errors name the file and the line.
    pub fn load(path: &Path) -> Result<Dataset> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::invalid_input(format!("cannot read the dataset {}: {e}", path.display())))?;
        Dataset::parse(&text).map_err(|e| Error::invalid_input(format!("{}: {}", path.display(), e.message())))
    }

    /// Parses dataset text. Blank lines are skipped; everything else must be a valid memory or
    /// query line, and the whole must be consistent (see the module docs).
    pub fn parse(text: &str) -> Result<Dataset> {
        let mut builder = Builder::default();
        for (index, line) in text.lines().enumerate() {
            if !line.trim().is_empty() {
                builder.line(index + 1, line)?;
            }
        }
        builder.finish()
    }

    /// Memories over all collections.
    pub fn memory_count(&self) -> usize {
        self.collections.iter().map(|c| c.memories.len()).sum()
    }

    /// Queries over all collections.
    pub fn query_count(&self) -> usize {
        self.collections.iter().map(|c| c.queries.len()).sum()
    }
}

/// Collects lines; checks that need the whole file (relevant ids, unknown collections) run in
/// [`Builder::finish`] so queries may precede their memories.
#[derive(Debug, Default)]
struct Builder {
    collections: Vec<Collection>,
    by_name: HashMap<String, usize>,
    /// (collection index, memory id) -> line, for duplicate reports.
    memory_lines: HashMap<(usize, String), usize>,
    /// (collection index, query id) -> line.
    query_lines: HashMap<(usize, String), usize>,
}

impl Builder {
    fn line(&mut self, line: usize, text: &str) -> Result<()> {
        let at = |message: String| Error::invalid_input(format!("line {line}: {message}"));
        let value: Value = serde_json::from_str(text).map_err(|e| at(format!("not valid JSON ({e})")))?;
        let kind = match value.get("type") {
            None if value.is_object() => return Err(at("missing field `type`".to_owned())),
            None => return Err(at("expected a JSON object".to_owned())),
            Some(Value::String(kind)) => kind.clone(),
            Some(other) => return Err(at(format!("`type` must be a string, not {other}"))),
        };
        match kind.as_str() {
            "memory" => {
                let m: MemoryLine = serde_json::from_value(value).map_err(|e| at(e.to_string()))?;
                let collection = self.collection(nonempty(&m.collection, "collection").map_err(at)?);
                let id = nonempty(&m.id, "id").map_err(at)?;
                let text = nonempty(&m.text, "text").map_err(at)?;
                let timestamp = m
                    .timestamp
                    .as_deref()
                    .map(Timestamp::parse_rfc3339)
                    .transpose()
                    .map_err(|e| at(e.message().to_owned()))?;
                let speaker = m.speaker.as_deref().map(|s| nonempty(s, "speaker")).transpose().map_err(at)?;
                let session = m.session.as_deref().map(|s| nonempty(s, "session")).transpose().map_err(at)?;
                match self.memory_lines.entry((collection, id.to_owned())) {
                    Entry::Occupied(first) => {
                        return Err(at(format!(
                            "duplicate memory id {id:?} in collection {:?} (first on line {})",
                            self.collections[collection].name,
                            first.get()
                        )));
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(line);
                    }
                }
                self.collections[collection].memories.push(DatasetMemory {
                    id: id.to_owned(),
                    text: text.to_owned(),
                    timestamp,
                    speaker: speaker.map(str::to_owned),
                    session: session.map(str::to_owned),
                    line,
                });
            }
            "query" => {
                let q: QueryLine = serde_json::from_value(value).map_err(|e| at(e.to_string()))?;
                let collection = self.collection(nonempty(&q.collection, "collection").map_err(at)?);
                let id = nonempty(&q.id, "id").map_err(at)?;
                let text = nonempty(&q.text, "text").map_err(at)?;
                let category = q.category.as_deref().map(|c| nonempty(c, "category")).transpose().map_err(at)?;
                let asked_at = q
                    .asked_at
                    .as_deref()
                    .map(Timestamp::parse_rfc3339)
                    .transpose()
                    .map_err(|e| at(format!("`asked_at`: {}", e.message())))?;
                if q.relevant.is_empty() {
                    return Err(at(format!("query {id:?} has no relevant ids")));
                }
                for (i, r) in q.relevant.iter().enumerate() {
                    if q.relevant[..i].contains(r) {
                        return Err(at(format!("query {id:?} lists relevant id {r:?} twice")));
                    }
                }
                match self.query_lines.entry((collection, id.to_owned())) {
                    Entry::Occupied(first) => {
                        return Err(at(format!(
                            "duplicate query id {id:?} in collection {:?} (first on line {})",
                            self.collections[collection].name,
                            first.get()
                        )));
                    }
                    Entry::Vacant(slot) => {
                        slot.insert(line);
                    }
                }
                self.collections[collection].queries.push(DatasetQuery {
                    id: id.to_owned(),
                    text: text.to_owned(),
                    relevant: q.relevant,
                    category: category.map(str::to_owned),
                    asked_at,
                    line,
                });
            }
            other => return Err(at(format!("unknown type {other:?} (expected \"memory\" or \"query\")"))),
        }
        Ok(())
    }

    /// The index of the collection named `name`, created on first sight.
    fn collection(&mut self, name: &str) -> usize {
        if let Some(&i) = self.by_name.get(name) {
            return i;
        }
        let i = self.collections.len();
        self.collections.push(Collection { name: name.to_owned(), memories: Vec::new(), queries: Vec::new() });
        self.by_name.insert(name.to_owned(), i);
        i
    }

    fn finish(self) -> Result<Dataset> {
        // Report the earliest bad line, whatever collection it is in, so fixing errors top to
        // bottom works.
        let mut problems: Vec<(usize, String)> = Vec::new();
        for (ci, c) in self.collections.iter().enumerate() {
            for q in &c.queries {
                if c.memories.is_empty() {
                    problems.push((
                        q.line,
                        format!("query {:?} is on collection {:?}, which has no memories", q.id, c.name),
                    ));
                    continue;
                }
                if let Some(missing) = q.relevant.iter().find(|r| !self.memory_lines.contains_key(&(ci, (*r).clone())))
                {
                    problems.push((
                        q.line,
                        format!("query {:?}: relevant id {missing:?} is not a memory of collection {:?}", q.id, c.name),
                    ));
                }
            }
        }
        if let Some((line, message)) = problems.into_iter().min_by_key(|(line, _)| *line) {
            return Err(Error::invalid_input(format!("line {line}: {message}")));
        }
        let dataset = Dataset { collections: self.collections };
        if dataset.query_count() == 0 {
            return Err(Error::invalid_input("the dataset has no queries, so there is nothing to measure"));
        }
        Ok(dataset)
    }
}

/// `value` trimmed, or an error naming `field` when nothing is left.
fn nonempty<'a>(value: &'a str, field: &str) -> std::result::Result<&'a str, String> {
    let trimmed = value.trim();
    if trimmed.is_empty() { Err(format!("`{field}` is empty")) } else { Ok(trimmed) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMORY_A: &str = r#"{"type":"memory","collection":"c","id":"a","text":"alpha"}"#;
    const MEMORY_B: &str = r#"{"type":"memory","collection":"c","id":"b","text":"beta","speaker":"Ann","timestamp":"2026-01-02T03:04:05Z","session":" S1 "}"#;
    const QUERY: &str = r#"{"type":"query","collection":"c","id":"q","text":"which?","relevant":["a","b"]}"#;
    const QUERY_ASKED: &str = r#"{"type":"query","collection":"c","id":"later","text":"which?","relevant":["a"],"asked_at":"2026-01-09T10:00:00+02:00"}"#;

    /// The error message of parsing `lines` joined by newlines.
    fn error(lines: &[&str]) -> String {
        let e = Dataset::parse(&lines.join("\n")).expect_err("the dataset should be rejected");
        assert_eq!(e.kind(), memory_core::ErrorKind::InvalidInput);
        e.message().to_owned()
    }

    #[test]
    fn a_valid_dataset_parses_with_blank_lines_and_queries_first() {
        let d = Dataset::parse(&["", QUERY, "   ", MEMORY_A, MEMORY_B, ""].join("\n")).unwrap();
        assert_eq!(d.collections.len(), 1);
        let c = &d.collections[0];
        assert_eq!((c.name.as_str(), c.memories.len(), c.queries.len()), ("c", 2, 1));
        assert_eq!(c.memories[1].speaker.as_deref(), Some("Ann"));
        assert_eq!(c.memories[1].indexed_content(), "Ann: beta");
        assert_eq!(c.memories[0].indexed_content(), "alpha");
        assert_eq!(c.memories[1].timestamp.unwrap().to_string(), "2026-01-02T03:04:05.000000Z");
        assert_eq!(c.queries[0].line, 2);
        assert_eq!(c.queries[0].category, None);
        assert_eq!((d.memory_count(), d.query_count()), (2, 1));
        // Optional fields absent: nothing assumed.
        assert_eq!((c.memories[0].session.as_deref(), c.queries[0].asked_at), (None, None));
    }

    #[test]
    fn sessions_and_asked_at_are_read_trimmed_and_in_utc() {
        let d = Dataset::parse(&[MEMORY_A, MEMORY_B, QUERY, QUERY_ASKED].join("\n")).unwrap();
        let c = &d.collections[0];
        assert_eq!(c.memories[1].session.as_deref(), Some("S1"));
        assert_eq!(c.queries[1].asked_at.unwrap().to_string(), "2026-01-09T08:00:00.000000Z");
        assert_eq!(c.queries[1].line, 4);
    }

    #[test]
    fn broken_lines_are_errors_naming_the_line() {
        for (bad, expected) in [
            ("{not json", "line 2: not valid JSON"),
            ("[1, 2]", "line 2: expected a JSON object"),
            (r#"{"collection":"c","id":"x","text":"t"}"#, "line 2: missing field `type`"),
            (r#"{"type":7}"#, "line 2: `type` must be a string"),
            (r#"{"type":"note","collection":"c","id":"x","text":"t"}"#, "line 2: unknown type \"note\""),
            (r#"{"type":"memory","collection":"c","id":"x"}"#, "line 2: missing field `text`"),
            (r#"{"type":"memory","collection":"c","text":"t"}"#, "line 2: missing field `id`"),
            (r#"{"type":"memory","collection":"c","id":"x","text":" "}"#, "line 2: `text` is empty"),
            (
                r#"{"type":"memory","collection":"c","id":"x","text":"t","speker":"A"}"#,
                "line 2: unknown field `speker`",
            ),
            (
                r#"{"type":"memory","collection":"c","id":"x","text":"t","timestamp":"soon"}"#,
                "line 2: invalid timestamp",
            ),
            (r#"{"type":"memory","collection":"c","id":"x","text":"t","speaker":""}"#, "line 2: `speaker` is empty"),
            (r#"{"type":"memory","collection":"c","id":"x","text":"t","session":" "}"#, "line 2: `session` is empty"),
            (r#"{"type":"memory","collection":"c","id":"x","text":"t","session":7}"#, "line 2: invalid type"),
            (
                r#"{"type":"memory","collection":"c","id":"x","text":"t","asked_at":"2026-01-01T00:00:00Z"}"#,
                "line 2: unknown field `asked_at`",
            ),
            (r#"{"type":"query","collection":"c","id":"x","text":"t"}"#, "line 2: missing field `relevant`"),
            (
                r#"{"type":"query","collection":"c","id":"x","text":"t","relevant":[]}"#,
                "line 2: query \"x\" has no relevant ids",
            ),
            (r#"{"type":"query","collection":"c","id":"x","text":"t","relevant":["a","a"]}"#, "twice"),
            (r#"{"type":"query","collection":"c","id":"x","text":"t","relevant":"a"}"#, "line 2: invalid type"),
            (
                r#"{"type":"query","collection":"c","id":"x","text":"t","relevant":["a"],"category":""}"#,
                "`category` is empty",
            ),
            (
                r#"{"type":"query","collection":"c","id":"x","text":"t","relevant":["a"],"asked_at":"tomorrow"}"#,
                "line 2: `asked_at`: invalid timestamp \"tomorrow\"",
            ),
            (
                r#"{"type":"query","collection":"c","id":"x","text":"t","relevant":["a"],"asked_at":"2026-01-01"}"#,
                "line 2: `asked_at`: invalid timestamp",
            ),
            (
                r#"{"type":"query","collection":"c","id":"x","text":"t","relevant":["a"],"session":"S1"}"#,
                "line 2: unknown field `session`",
            ),
            (
                r#"{"type":"query","collection":"c","id":"x","text":"t","relevant":["a"],"askedAt":"2026-01-01T00:00:00Z"}"#,
                "line 2: unknown field `askedAt`",
            ),
        ] {
            let message = error(&[MEMORY_A, bad]);
            assert!(message.starts_with("line 2: ") && message.contains(expected), "{bad}: {message}");
        }
    }

    #[test]
    fn duplicate_ids_within_a_collection_are_errors_but_not_across_collections() {
        let message = error(&[MEMORY_A, MEMORY_B, MEMORY_A]);
        assert_eq!(message, "line 3: duplicate memory id \"a\" in collection \"c\" (first on line 1)");
        let message = error(&[MEMORY_A, QUERY, MEMORY_B, QUERY]);
        assert!(message.starts_with("line 4: duplicate query id \"q\""), "{message}");
        let other = r#"{"type":"memory","collection":"d","id":"a","text":"alpha"}"#;
        let d = Dataset::parse(&[MEMORY_A, MEMORY_B, other, QUERY].join("\n")).unwrap();
        assert_eq!(d.collections.len(), 2);
    }

    #[test]
    fn queries_must_point_at_memories_of_their_own_collection() {
        let message = error(&[MEMORY_A, QUERY]);
        assert_eq!(message, "line 2: query \"q\": relevant id \"b\" is not a memory of collection \"c\"");
        // "b" exists, but in another collection.
        let other_b = r#"{"type":"memory","collection":"d","id":"b","text":"beta"}"#;
        assert!(error(&[MEMORY_A, other_b, QUERY]).starts_with("line 3: query \"q\": relevant id \"b\""));
        let lost = r#"{"type":"query","collection":"nowhere","id":"q","text":"t","relevant":["a"]}"#;
        let message = error(&[MEMORY_A, MEMORY_B, QUERY, lost]);
        assert_eq!(message, "line 4: query \"q\" is on collection \"nowhere\", which has no memories");
    }

    #[test]
    fn the_earliest_bad_line_is_reported() {
        let lost = r#"{"type":"query","collection":"z","id":"q","text":"t","relevant":["a"]}"#;
        // The collection of line 1 is checked later than "c", but its line comes first.
        let message = error(&[lost, MEMORY_A, QUERY]);
        assert!(message.starts_with("line 1: "), "{message}");
    }

    #[test]
    fn a_dataset_without_queries_is_an_error() {
        assert!(error(&[MEMORY_A]).contains("no queries"));
        assert!(error(&[""]).contains("no queries"));
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.jsonl");
        std::fs::write(&path, "{}\n").unwrap();
        let e = Dataset::load(&path).unwrap_err();
        assert!(e.message().starts_with(&format!("{}: line 1: ", path.display())), "{e}");
        let e = Dataset::load(&dir.path().join("missing.jsonl")).unwrap_err();
        assert!(e.message().starts_with("cannot read the dataset"), "{e}");
    }
}
