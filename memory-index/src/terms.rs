//! How the expiry and metadata filters become index terms. Both retrievers (tantivy and the
//! vector partitions) go through these functions, for documents and queries alike, so the two
//! sides can never disagree about what matches.

use std::fmt::Write as _;

use memory_core::{ContentHash, Metadata, Timestamp};
use serde_json::Value;

use crate::query::SearchQuery;

/// Separates the key from the value in a metadata term. Serialized JSON never holds a raw
/// U+001F (control characters in strings are escaped), so the last separator in a term is this
/// one and `(key, value)` is recoverable from the term: distinct pairs give distinct terms.
const KEY_END: char = '\u{1f}';

/// Starts a term that stands for a long pair by its digest. Such a term holds no [`KEY_END`],
/// so it never equals the term of a short pair.
const DIGEST_MARK: char = '\u{1e}';

/// Longest literal term; longer pairs are replaced by their SHA-256. Keeps every term far below
/// tantivy's token limit (65,530 bytes; longer tokens are silently dropped) and the vectors
/// file's string limit, whatever size of metadata a caller hands in.
const MAX_LITERAL_TERM: usize = 1024;

/// The stored expiry of a document: microseconds, `i64::MAX` for "never expires".
pub(crate) fn expiry_micros(expires_at: Option<Timestamp>) -> i64 {
    expires_at.map_or(i64::MAX, in_domain)
}

/// The query's expiry bound: a document is returned only if its stored expiry is strictly
/// greater. `None` when the query does not filter by expiry.
pub(crate) fn valid_after(q: &SearchQuery) -> Option<i64> {
    q.valid_at.map(in_domain)
}

/// Microseconds clamped to the years the domain accepts, so no instant collides with the
/// `i64::MAX` of "never expires" or the `i64::MIN` of "no expiry filter" (both sides compare
/// exactly within the domain).
fn in_domain(t: Timestamp) -> i64 {
    t.clamp(Timestamp::MIN, Timestamp::MAX).as_micros()
}

/// The term of one metadata pair: `key`, U+001F, then the value as canonical JSON (compact,
/// object keys sorted, numbers as serde_json writes them, so `1` and `1.0` differ).
pub(crate) fn metadata_term(key: &str, value: &Value) -> String {
    let mut term = String::with_capacity(key.len() + 16);
    term.push_str(key);
    term.push(KEY_END);
    write_canonical(value, &mut term);
    if term.len() <= MAX_LITERAL_TERM {
        return term;
    }
    // `ContentHash` folds whitespace and normalizes Unicode; hex digits have neither, so this
    // is the plain SHA-256 of the (injectively hex-encoded) term.
    let mut hex = String::with_capacity(term.len() * 2);
    for b in term.bytes() {
        let _ = write!(hex, "{b:02x}");
    }
    format!("{DIGEST_MARK}{}", ContentHash::of(&hex).as_str())
}

/// Every pair's term, in key order.
pub(crate) fn metadata_terms(metadata: &Metadata) -> impl Iterator<Item = String> + '_ {
    metadata.iter().map(|(k, v)| metadata_term(k, v))
}

/// Compact JSON with object keys sorted: the workspace enables serde_json's `preserve_order`, so
/// plain serialization would make `{"a":1,"b":2}` and `{"b":2,"a":1}` (equal values) differ.
fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{}", Value::String(k.clone()));
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        // `Display` of a value is its compact JSON.
        scalar => {
            let _ = write!(out, "{scalar}");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn equal_values_give_equal_terms_and_different_ones_differ() {
        let a: Value = serde_json::from_str(r#"{"x":1,"y":[true,{"b":null,"a":"s"}]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y":[true,{"a":"s","b":null}],"x":1}"#).unwrap();
        assert_eq!(a, b);
        assert_eq!(metadata_term("k", &a), metadata_term("k", &b), "object key order does not matter");
        assert_eq!(metadata_term("k", &a), "k\u{1f}{\"x\":1,\"y\":[true,{\"a\":\"s\",\"b\":null}]}");
        assert_ne!(metadata_term("k", &json!(1)), metadata_term("k", &json!(1.0)));
        assert_ne!(metadata_term("k", &json!(1)), metadata_term("k", &json!("1")));
        assert_ne!(metadata_term("k", &json!(true)), metadata_term("k", &json!("true")));
        assert_ne!(metadata_term("k", &json!("v")), metadata_term("kv", &json!("")));
        // A separator inside a key or a string value cannot fake another pair.
        assert_ne!(metadata_term("a\u{1f}\"b\"", &json!("c")), metadata_term("a", &json!("b")));
        assert_eq!(metadata_term("a", &json!("x\u{1f}y")), "a\u{1f}\"x\\u001fy\"");
    }

    #[test]
    fn long_pairs_become_bounded_digests_that_still_tell_values_apart() {
        // Same words, different spacing: equal if whitespace were folded.
        let long = "w ".repeat(600);
        let other = "w  ".repeat(600);
        let t = metadata_term("k", &json!(long));
        assert!(t.len() < 100 && t.starts_with(DIGEST_MARK), "{t}");
        assert_eq!(t, metadata_term("k", &json!(long)));
        assert_ne!(t, metadata_term("k", &json!(other)), "whitespace is not folded");
        assert_ne!(t, metadata_term("j", &json!(long)));
    }
}
