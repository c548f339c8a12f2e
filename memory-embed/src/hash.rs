//! The built-in hash embedder: feature hashing of words, word pairs and character n-grams into
//! signed buckets. It needs no files, costs microseconds per sentence and never changes its
//! output, which makes it the default for tests and the fallback of `auto`.
//!
//! The recipe, version 1 (the "v1" in the model id; any change to it needs a new version):
//! 1. NFC-normalize and lowercase the text (Unicode-aware).
//! 2. Split it into tokens: a word is a maximal run of alphanumeric characters (combining marks
//!    stay in their word); every other character that is neither whitespace nor punctuation
//!    (emoji, symbols) is a token of its own.
//! 3. Features, each with a base weight: word unigrams (1.0, but 0.25 for a short list of English
//!    function words), adjacent word bigrams (0.6), and character 3-, 4- and 5-grams of each
//!    non-function word wrapped as `<word>` (0.35 each, doubled for the three that start the
//!    word), so words sharing a stem overlap: the word-start boost is a language-neutral stand-in
//!    for a stemmer ("deployment" and "deploying" reach cosine 0.43, unrelated words 0).
//! 4. Each distinct feature adds `sign * base * (1 + ln tf)` to one bucket. Bucket and sign come
//!    from 64-bit FNV-1a over a kind byte and the feature's UTF-8 bytes, finished with
//!    MurmurHash3's fmix64: the bucket from the high bits (`h * dim >> 64`), the sign from the
//!    lowest bit. Both are written out here, so no Rust or platform upgrade changes a vector.
//! 5. L2-normalize.

use memory_core::{Error, Result};
use unicode_normalization::UnicodeNormalization;

use crate::{Embedder, is_blank, l2_normalize};

/// Feature kinds, hashed in front of the feature so a word and an identical n-gram differ.
const KIND_WORD: u8 = 1;
const KIND_BIGRAM: u8 = 2;
const KIND_CHARS: u8 = 3;

const WORD_WEIGHT: f32 = 1.0;
const FUNCTION_WORD_WEIGHT: f32 = 0.25;
const BIGRAM_WEIGHT: f32 = 0.6;
const CHAR_NGRAM_WEIGHT: f32 = 0.35;
/// Word-start n-grams carry the stem in most languages written with spaces.
const WORD_START_BOOST: f32 = 2.0;
const CHAR_NGRAM_SIZES: std::ops::RangeInclusive<usize> = 3..=5;

/// Separates the two words of a bigram; 0xFF never occurs in UTF-8, so "ab c" and "a bc" differ.
const BIGRAM_SEPARATOR: u8 = 0xFF;

/// English function words: present in almost every sentence, so at full weight they would make
/// unrelated texts look alike. Sorted for binary search.
const FUNCTION_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "am", "an", "and", "any", "are", "as", "at", "be", "been", "but", "by",
    "can", "could", "did", "do", "does", "for", "from", "had", "has", "have", "he", "her", "his", "how", "i", "if",
    "in", "into", "is", "it", "its", "just", "me", "my", "no", "not", "of", "on", "or", "our", "she", "so", "than",
    "that", "the", "their", "them", "then", "there", "these", "they", "this", "those", "to", "too", "very", "was",
    "we", "were", "what", "when", "which", "who", "will", "with", "would", "you", "your",
];

/// Deterministic feature-hashing embedder; see the module docs for the exact recipe.
#[derive(Debug, Clone)]
pub struct HashEmbedder {
    dimension: usize,
    model_id: String,
}

impl HashEmbedder {
    /// A hash embedder with `dimension` buckets (at least 8, so collisions stay rare enough to
    /// matter little).
    pub fn new(dimension: usize) -> Result<Self> {
        if dimension < 8 {
            return Err(Error::invalid_input(format!("hash embedder dimension must be at least 8, got {dimension}")));
        }
        Ok(HashEmbedder { dimension, model_id: format!("hash-v1-d{dimension}") })
    }

    /// Embeds one text (the zero vector for a blank one).
    pub fn embed_one(&self, text: &str) -> Vec<f32> {
        let mut vector = vec![0.0_f32; self.dimension];
        if is_blank(text) {
            return vector;
        }
        let mut features = Vec::with_capacity(text.len() * 4);
        collect_features(text, &mut features);
        // Sorting groups equal features, so term frequencies need no hash map.
        features.sort_unstable_by_key(|f| f.hash);
        for run in features.chunk_by(|a, b| a.hash == b.hash) {
            let tf = run.len() as f32;
            let weight = run[0].base_weight * (1.0 + tf.ln());
            let (bucket, sign) = bucket_and_sign(run[0].hash, self.dimension);
            vector[bucket] += sign * weight;
        }
        l2_normalize(&mut vector);
        vector
    }
}

impl Embedder for HashEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        Ok(texts.iter().map(|t| self.embed_one(t)).collect())
    }
}

/// One occurrence of a feature.
#[derive(Debug, Clone, Copy)]
struct Feature {
    hash: u64,
    base_weight: f32,
}

fn collect_features(text: &str, out: &mut Vec<Feature>) {
    let tokens = tokenize(text);
    for (i, token) in tokens.iter().enumerate() {
        let function_word = is_function_word(token);
        let weight = if function_word { FUNCTION_WORD_WEIGHT } else { WORD_WEIGHT };
        out.push(Feature { hash: feature_hash(KIND_WORD, &[token.as_bytes()]), base_weight: weight });
        if let Some(next) = tokens.get(i + 1) {
            let hash = feature_hash(KIND_BIGRAM, &[token.as_bytes(), &[BIGRAM_SEPARATOR], next.as_bytes()]);
            out.push(Feature { hash, base_weight: BIGRAM_WEIGHT });
        }
        if !function_word {
            push_char_ngrams(token, out);
        }
    }
}

/// Character n-grams of `<token>`, counted in characters, not bytes.
fn push_char_ngrams(token: &str, out: &mut Vec<Feature>) {
    let wrapped = format!("<{token}>");
    // Byte offsets of every character boundary, including the end.
    let bounds: Vec<usize> = wrapped.char_indices().map(|(i, _)| i).chain([wrapped.len()]).collect();
    let chars = bounds.len() - 1;
    for n in CHAR_NGRAM_SIZES {
        for start in 0..chars.saturating_sub(n - 1) {
            let gram = &wrapped.as_bytes()[bounds[start]..bounds[start + n]];
            let weight = if start == 0 { CHAR_NGRAM_WEIGHT * WORD_START_BOOST } else { CHAR_NGRAM_WEIGHT };
            out.push(Feature { hash: feature_hash(KIND_CHARS, &[gram]), base_weight: weight });
        }
    }
    // A one-character token like "<a>" is shorter than every n-gram size but one; make sure even
    // the shortest token leaves a trace.
    if chars < *CHAR_NGRAM_SIZES.start() {
        out.push(Feature { hash: feature_hash(KIND_CHARS, &[wrapped.as_bytes()]), base_weight: CHAR_NGRAM_WEIGHT });
    }
}

/// Lowercased tokens: words (alphanumeric runs, combining marks included) and single symbol
/// characters; whitespace and punctuation separate them.
fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in text.nfc() {
        if c.is_alphanumeric() || (is_combining_mark(c) && !word.is_empty()) {
            word.extend(c.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() && !is_punctuation(c) && !c.is_control() {
            tokens.push(c.to_lowercase().collect());
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    tokens
}

fn is_function_word(token: &str) -> bool {
    FUNCTION_WORDS.binary_search(&token).is_ok()
}

/// Punctuation blocks that separate words without carrying meaning: ASCII, Latin-1, General
/// Punctuation, CJK symbols and punctuation, and the fullwidth ASCII punctuation.
fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(c,
            '\u{00A1}'..='\u{00BF}' | '\u{00D7}' | '\u{00F7}'
            | '\u{2000}'..='\u{206F}'
            | '\u{3000}'..='\u{303F}'
            | '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF40}' | '\u{FF5B}'..='\u{FF65}')
}

/// Combining marks left after NFC (no precomposed form exists), which belong to their word.
fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}' | '\u{200C}' | '\u{200D}')
}

/// 64-bit FNV-1a over a kind byte and the parts, finished with MurmurHash3's fmix64 because
/// FNV's output bits are not independent enough to split into a bucket and a sign.
fn feature_hash(kind: u8, parts: &[&[u8]]) -> u64 {
    const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = FNV_OFFSET_BASIS;
    for &byte in std::iter::once(&kind).chain(parts.iter().flat_map(|p| p.iter())) {
        h ^= u64::from(byte);
        h = h.wrapping_mul(FNV_PRIME);
    }
    fmix64(h)
}

fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    h
}

/// Bucket from the high bits (Lemire's multiply-shift, no modulo bias), sign from the lowest.
fn bucket_and_sign(hash: u64, dimension: usize) -> (usize, f32) {
    let bucket = ((u128::from(hash) * dimension as u128) >> 64) as usize;
    let sign = if hash & 1 == 0 { 1.0 } else { -1.0 };
    (bucket, sign)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosine;

    #[test]
    fn function_words_are_sorted_for_binary_search() {
        assert!(FUNCTION_WORDS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn hash_values_are_pinned() {
        // The expected value was computed by an independent (Python) FNV-1a + fmix64; a drift
        // would silently invalidate every stored index.
        assert_eq!(fmix64(0), 0);
        assert_eq!(feature_hash(KIND_WORD, &[b"memory"]), 0x2a17_f926_f3e8_1f51);
        assert_eq!(bucket_and_sign(u64::MAX, 384).0, 383);
        assert_eq!(bucket_and_sign(0, 384), (0, 1.0));
    }

    #[test]
    fn tokenizer_is_unicode_aware() {
        assert_eq!(tokenize("Hello, WORLD! Straße naïve"), ["hello", "world", "straße", "naïve"]);
        // NFD input ("e" + combining acute) gives the same token as NFC.
        assert_eq!(tokenize("cafe\u{301} ok"), tokenize("café ok"));
        assert_eq!(tokenize("日本語 テキスト"), ["日本語", "テキスト"]);
        assert_eq!(tokenize("party 🎉 — “time”"), ["party", "🎉", "time"]);
        assert_eq!(tokenize("don't"), ["don", "t"]);
    }

    #[test]
    fn char_ngrams_count_characters() {
        let mut out = Vec::new();
        push_char_ngrams("日本", &mut out);
        // "<日本>" has 4 characters: two 3-grams and one 4-gram.
        assert_eq!(out.len(), 3);
        out.clear();
        push_char_ngrams("a", &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn symbols_alone_still_embed() {
        let e = HashEmbedder::new(64).unwrap();
        let v = e.embed_one("🎉");
        assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(e.embed_one(" \n\t"), vec![0.0; 64]);
    }

    #[test]
    fn case_and_punctuation_do_not_matter() {
        let e = HashEmbedder::new(DIM).unwrap();
        let a = e.embed_one("The deploy failed!");
        let b = e.embed_one("the DEPLOY failed");
        assert!(cosine(&a, &b) > 0.999);
    }

    const DIM: usize = crate::DEFAULT_HASH_DIMENSION;
}
