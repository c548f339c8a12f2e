//! Namespaces (SPEC 3): the validated key, its path token, and the catalog metadata.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::error::Error;
use crate::ids::{ApiKeyId, Principal, TenantId};
use crate::limits::{MAX_LONG_TEXT_BYTES, MAX_SHORT_TEXT_BYTES, check_text};
use crate::memory::Metadata;
use crate::timestamp::Timestamp;

/// Longest key, in code points after NFC.
pub const MAX_NAMESPACE_KEY_CHARS: usize = 64;

/// Why a namespace key was rejected; each variant names one rule of SPEC 3.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NamespaceKeyError {
    /// Nothing left after trimming.
    #[error("namespace key is empty")]
    Empty,
    /// More than [`MAX_NAMESPACE_KEY_CHARS`] code points.
    #[error("namespace key {key:?} is {chars} code points long; at most 64 are allowed")]
    TooLong {
        /// The normalized key.
        key: String,
        /// Its length in code points.
        chars: usize,
    },
    /// The key `.` alone.
    #[error("namespace key \".\" is not allowed")]
    Dot,
    /// Contains `..`.
    #[error("namespace key {key:?} contains \"..\", which is not allowed")]
    DotDot {
        /// The normalized key.
        key: String,
    },
    /// Contains `/` or `\`.
    #[error("namespace key {key:?} contains {ch:?}; '/' and '\\' are not allowed")]
    Separator {
        /// The normalized key.
        key: String,
        /// The separator found.
        ch: char,
    },
    /// Contains whitespace inside.
    #[error("namespace key {key:?} contains whitespace ({ch:?}); use '-', '_' or '.' instead")]
    Whitespace {
        /// The normalized key.
        key: String,
        /// The whitespace character.
        ch: char,
    },
    /// Contains a control character.
    #[error("namespace key {key:?} contains the control character U+{:04X}", *ch as u32)]
    Control {
        /// The normalized key.
        key: String,
        /// The control character.
        ch: char,
    },
    /// Contains a character outside letters, marks, digits, `.`, `_`, `-`.
    #[error("namespace key {key:?} contains {ch:?} (U+{:04X}); only letters, marks, digits, '.', '_' and '-' are allowed", *ch as u32)]
    Character {
        /// The normalized key.
        key: String,
        /// The offending character.
        ch: char,
    },
}

impl From<NamespaceKeyError> for Error {
    fn from(e: NamespaceKeyError) -> Self {
        Error::invalid_input(e.to_string())
    }
}

/// The stable API identifier of a namespace, e.g. `research`, `team.alpha`, `项目`.
///
/// Always trimmed and NFC-normalized; case is preserved and significant. Construct it with
/// [`NamespaceKey::new`], which enforces the rules of SPEC 3.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct NamespaceKey(String);

impl NamespaceKey {
    /// Trims, normalizes to NFC and validates `key`.
    pub fn new(key: impl AsRef<str>) -> Result<Self, NamespaceKeyError> {
        let key = trim_nfc(key.as_ref());
        if key.is_empty() {
            return Err(NamespaceKeyError::Empty);
        }
        let chars = key.chars().count();
        if chars > MAX_NAMESPACE_KEY_CHARS {
            return Err(NamespaceKeyError::TooLong { key, chars });
        }
        if key == "." {
            return Err(NamespaceKeyError::Dot);
        }
        if key.contains("..") {
            return Err(NamespaceKeyError::DotDot { key });
        }
        for ch in key.chars() {
            if ch == '/' || ch == '\\' {
                return Err(NamespaceKeyError::Separator { key, ch });
            }
            if ch.is_whitespace() {
                return Err(NamespaceKeyError::Whitespace { key, ch });
            }
            if ch.is_control() {
                return Err(NamespaceKeyError::Control { key, ch });
            }
            let allowed = ch.is_alphanumeric() || is_combining_mark(ch) || matches!(ch, '.' | '_' | '-');
            if !allowed {
                return Err(NamespaceKeyError::Character { key, ch });
            }
        }
        Ok(NamespaceKey(key))
    }

    /// The key `seeds/004` derives from a display name: NFC, lowercased, each run of whitespace
    /// and separators (`/`, `\`) a `-`, characters the key rule does not allow dropped, runs of
    /// `-` and `.` collapsed, and neither at either end (`"Customer Data"` -> `customer-data`).
    /// `InvalidInput` when nothing usable is left.
    pub fn from_name(name: &str) -> Result<Self, Error> {
        let mut key = String::new();
        let mut gap = false;
        for ch in trim_nfc(name).chars().flat_map(char::to_lowercase) {
            if ch.is_whitespace() || matches!(ch, '/' | '\\' | '-') {
                gap = true;
                continue;
            }
            let allowed = ch.is_alphanumeric() || is_combining_mark(ch) || matches!(ch, '.' | '_');
            if !allowed || (ch == '.' && key.ends_with('.')) {
                continue;
            }
            if gap && !key.is_empty() && !key.ends_with('.') {
                key.push('-');
            }
            gap = false;
            key.push(ch);
        }
        let key: String = key.trim_matches(|c| c == '.' || c == '-').chars().take(MAX_NAMESPACE_KEY_CHARS).collect();
        let key = key.trim_end_matches(['.', '-']);
        NamespaceKey::new(key).map_err(|e| {
            Error::invalid_input(format!("the name {name:?} gives no usable namespace key ({e}); give a key"))
        })
    }

    /// The tenant's default namespace, `default`.
    pub fn default_ns() -> Self {
        NamespaceKey("default".to_owned())
    }

    /// The tenant's shared namespace, `shared`.
    pub fn shared() -> Self {
        NamespaceKey("shared".to_owned())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A reversible, case-safe relative path for this key, for directory and file names:
    /// `ns-` plus the lowercase hex of the UTF-8 bytes. Keys longer than 64 bytes are split
    /// into `/`-separated segments of at most 128 hex digits, so no path component exceeds
    /// common file-name limits. Distinct keys never share a token, even on case-insensitive
    /// file systems.
    pub fn path_token(&self) -> String {
        let hex = hex::encode(self.0.as_bytes());
        let mut token = String::with_capacity(hex.len() + 8);
        token.push_str("ns-");
        for (i, chunk) in hex.as_bytes().chunks(TOKEN_SEGMENT_HEX).enumerate() {
            if i > 0 {
                token.push('/');
            }
            token.push_str(std::str::from_utf8(chunk).expect("hex is ASCII"));
        }
        token
    }

    /// Inverts [`NamespaceKey::path_token`]; anything that is not a token of a valid key is an error.
    pub fn from_path_token(token: &str) -> Result<Self, Error> {
        let bad = || Error::invalid_input(format!("{token:?} is not a namespace path token"));
        let body = token.strip_prefix("ns-").ok_or_else(bad)?;
        let segments: Vec<&str> = body.split('/').collect();
        let well_formed = segments.iter().enumerate().all(|(i, s)| {
            let last = i + 1 == segments.len();
            !s.is_empty()
                && (last || s.len() == TOKEN_SEGMENT_HEX)
                && s.len() <= TOKEN_SEGMENT_HEX
                && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if !well_formed {
            return Err(bad());
        }
        let bytes = hex::decode(segments.concat()).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let key = NamespaceKey::new(&text).map_err(|_| bad())?;
        // Only the canonical spelling is a token, so a token names exactly one key.
        if key.0 != text {
            return Err(bad());
        }
        Ok(key)
    }
}

const TOKEN_SEGMENT_HEX: usize = 128;

/// Trims and normalizes to NFC. ASCII text is already NFC, and most keys and principals are
/// ASCII, so they skip the normalizer (it dominates the cost of building a key).
pub(crate) fn trim_nfc(text: &str) -> String {
    let trimmed = text.trim();
    if trimmed.is_ascii() { trimmed.to_owned() } else { trimmed.nfc().collect() }
}

impl fmt::Display for NamespaceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for NamespaceKey {
    type Err = NamespaceKeyError;
    fn from_str(s: &str) -> Result<Self, NamespaceKeyError> {
        NamespaceKey::new(s)
    }
}

impl<'de> Deserialize<'de> for NamespaceKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        NamespaceKey::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lowercase name used in files and on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::Error;
            fn from_str(s: &str) -> Result<Self, $crate::Error> {
                match s.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::Error::invalid_input(format!(
                        concat!("unknown ", $what, " {:?}; expected one of: {}"),
                        other,
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// How sensitive a namespace's data is.
    Sensitivity, "sensitivity" {
        /// Ordinary data.
        Normal = "normal",
        /// Personal or confidential data.
        Sensitive = "sensitive",
        /// Data under strict handling rules.
        Restricted = "restricted",
    }
);

text_enum!(
    /// Who may access a namespace when no policy says otherwise (informational; policies decide).
    DefaultAccess, "default access" {
        /// Anyone in the tenant.
        Public = "public",
        /// All members of the organization.
        Org = "org",
        /// Members of the owning team.
        Team = "team",
        /// The creator and admins.
        Private = "private",
    }
);

text_enum!(
    /// How a namespace came to be.
    NamespaceKind, "namespace kind" {
        /// The tenant's `default` namespace.
        Default = "default",
        /// The tenant's `shared` namespace.
        Shared = "shared",
        /// A principal's own namespace.
        SelfNs = "self",
        /// A project overlay.
        Project = "project",
        /// A branch overlay.
        Branch = "branch",
        /// A namespace rendered from a team-project template.
        TeamProject = "team-project",
        /// Created explicitly by an operator or API call.
        Explicit = "explicit",
    }
);

text_enum!(
    /// Lifecycle state of a namespace.
    NamespaceStatus, "namespace status" {
        /// Readable and writable (subject to policy).
        Active = "active",
        /// No reads or writes through the engine (the store refuses only puts); can be restored.
        Archived = "archived",
        /// Memories are tombstoned; the key stays taken until purged.
        Deleted = "deleted",
    }
);

/// A namespace's catalog record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Namespace {
    /// Owning tenant.
    pub tenant: TenantId,
    /// Stable key (never changes).
    pub key: NamespaceKey,
    /// Human-readable label (renaming changes only this).
    pub display_name: String,
    /// What the namespace is for.
    pub description: Option<String>,
    /// Owning team id, if any.
    pub team: Option<String>,
    /// Data sensitivity.
    pub sensitivity: Sensitivity,
    /// Default access level.
    pub default_access: DefaultAccess,
    /// Memories older than this many days are deleted by maintenance; `None` keeps them.
    pub retention_days: Option<u32>,
    /// How the namespace came to be.
    pub kind: NamespaceKind,
    /// Lifecycle state.
    pub status: NamespaceStatus,
    /// Free-form metadata.
    pub metadata: Metadata,
    /// The principal that created it (through the API or the CLI); `None` for namespaces
    /// that came into being from configuration or a first write, and for older records.
    #[serde(default)]
    pub created_by: Option<Principal>,
    /// The API key it was created with, if any.
    #[serde(default)]
    pub created_by_key: Option<ApiKeyId>,
    /// When it was created.
    pub created_at: Timestamp,
    /// Last change to this record.
    pub updated_at: Timestamp,
    /// Last memory written into it.
    pub last_write_at: Option<Timestamp>,
    /// Last recall that read it.
    pub last_read_at: Option<Timestamp>,
    /// Last maintenance run over it.
    pub last_maintenance_at: Option<Timestamp>,
}

impl Namespace {
    /// A new active namespace with default metadata: display name = key, `normal`, `team`.
    pub fn new(tenant: TenantId, key: NamespaceKey, kind: NamespaceKind, at: Timestamp) -> Self {
        Namespace {
            tenant,
            display_name: key.as_str().to_owned(),
            key,
            description: None,
            team: None,
            sensitivity: Sensitivity::Normal,
            default_access: DefaultAccess::Team,
            retention_days: None,
            kind,
            status: NamespaceStatus::Active,
            metadata: Metadata::new(),
            created_by: None,
            created_by_key: None,
            created_at: at,
            updated_at: at,
            last_write_at: None,
            last_read_at: None,
            last_maintenance_at: None,
        }
    }

    /// Moves to status `to`, stamping `updated_at`; `false` when it already was there.
    pub fn set_status(&mut self, to: NamespaceStatus, at: Timestamp) -> bool {
        if self.status == to {
            return false;
        }
        self.status = to;
        self.updated_at = at.max(self.created_at);
        true
    }

    /// Checks the record's own fields (the key is valid by construction).
    pub fn validate(&self) -> Result<(), Error> {
        validate_display_name(&self.display_name)?;
        if let Some(d) = &self.description {
            check_text("namespace description", d, MAX_LONG_TEXT_BYTES)?;
        }
        if let Some(t) = &self.team {
            check_text("namespace team", t, MAX_SHORT_TEXT_BYTES)?;
        }
        crate::memory::validate_metadata(&self.metadata)?;
        if self.retention_days == Some(0) {
            return Err(Error::invalid_input("retention_days must be at least 1 (omit it to keep memories forever)"));
        }
        if self.updated_at < self.created_at {
            return Err(Error::invalid_input("namespace updated_at is before created_at"));
        }
        Ok(())
    }
}

fn validate_display_name(name: &str) -> Result<(), Error> {
    if name.trim().is_empty() {
        return Err(Error::invalid_input("namespace display name is empty"));
    }
    if name.chars().count() > 200 {
        return Err(Error::invalid_input("namespace display name is longer than 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_input("namespace display name contains a control character"));
    }
    Ok(())
}

/// Changes to a namespace's metadata; `None` leaves a field as it is. The key, kind and status
/// never change through a patch (status has its own operations).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamespacePatch {
    /// New display name.
    pub display_name: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New owning team (`Some(None)` clears it).
    pub team: Option<Option<String>>,
    /// New sensitivity.
    pub sensitivity: Option<Sensitivity>,
    /// New default access.
    pub default_access: Option<DefaultAccess>,
    /// New retention (`Some(None)` keeps memories forever).
    pub retention_days: Option<Option<u32>>,
    /// Replaces the metadata map.
    pub metadata: Option<Metadata>,
}

impl NamespacePatch {
    /// Applies the patch to `ns` (validated), setting `updated_at`.
    pub fn apply(&self, ns: &mut Namespace, at: Timestamp) -> Result<(), Error> {
        let mut next = ns.clone();
        if let Some(v) = &self.display_name {
            next.display_name = v.clone();
        }
        if let Some(v) = &self.description {
            next.description = v.clone();
        }
        if let Some(v) = &self.team {
            next.team = v.clone();
        }
        if let Some(v) = self.sensitivity {
            next.sensitivity = v;
        }
        if let Some(v) = self.default_access {
            next.default_access = v;
        }
        if let Some(v) = self.retention_days {
            next.retention_days = v;
        }
        if let Some(v) = &self.metadata {
            next.metadata = v.clone();
        }
        next.updated_at = at.max(ns.created_at);
        next.validate()?;
        *ns = next;
        Ok(())
    }
}

/// Which usage time of a namespace to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NamespaceTouch {
    /// A recall read it.
    Read,
    /// A maintenance run covered it.
    Maintenance,
}

/// Filters for listing namespaces; every set field must match.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct NamespaceFilter {
    /// Owning team.
    pub team: Option<String>,
    /// Sensitivity.
    pub sensitivity: Option<Sensitivity>,
    /// Kind.
    pub kind: Option<NamespaceKind>,
    /// Status. `None` lists active and archived namespaces; deleted ones only when asked for.
    pub status: Option<NamespaceStatus>,
}

impl NamespaceFilter {
    /// Whether `ns` passes the filter.
    pub fn matches(&self, ns: &Namespace) -> bool {
        self.team.as_ref().is_none_or(|t| ns.team.as_ref() == Some(t))
            && self.sensitivity.is_none_or(|s| ns.sensitivity == s)
            && self.kind.is_none_or(|k| ns.kind == k)
            && match self.status {
                Some(s) => ns.status == s,
                None => ns.status != NamespaceStatus::Deleted,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_are_derived_from_names_as_seeds_004_does() {
        for (name, key) in [
            ("Customer Data", "customer-data"),
            ("  Customer   Data  ", "customer-data"),
            ("Team #7 / Research!", "team-7-research"),
            ("v1.2 Release", "v1.2-release"),
            ("...hidden...", "hidden"),
            ("Ärger über Öl", "ärger-über-öl"),
            ("a--b", "a-b"),
            ("snake_case Name", "snake_case-name"),
        ] {
            assert_eq!(NamespaceKey::from_name(name).unwrap().as_str(), key, "{name:?}");
        }
        for bad in ["", "   ", "!!!", "--", ".."] {
            let e = NamespaceKey::from_name(bad).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{bad:?}");
            assert!(e.message().contains("give a key"), "{e}");
        }
        let long = "x".repeat(100);
        assert_eq!(NamespaceKey::from_name(&long).unwrap().as_str().chars().count(), MAX_NAMESPACE_KEY_CHARS);
    }

    /// What a key must become: `Ok(normalized)` or the rule it breaks.
    #[derive(Debug)]
    enum Want {
        Ok(&'static str),
        Empty,
        TooLong,
        Dot,
        DotDot,
        Separator,
        Whitespace,
        Control,
        Character,
    }

    #[test]
    fn key_rules_table() {
        let long_64 = "a".repeat(64);
        let long_65 = "a".repeat(65);
        let cjk_64 = "项".repeat(64);
        let cjk_65 = "项".repeat(65);
        let leaked = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        let table: Vec<(&str, Want)> = vec![
            // Valid keys.
            ("default", Want::Ok("default")),
            ("shared", Want::Ok("shared")),
            ("research", Want::Ok("research")),
            ("team.alpha", Want::Ok("team.alpha")),
            ("project-x", Want::Ok("project-x")),
            ("team_alpha", Want::Ok("team_alpha")),
            ("项目", Want::Ok("项目")),
            ("Alice", Want::Ok("Alice")),
            ("v1.2", Want::Ok("v1.2")),
            ("ns-7", Want::Ok("ns-7")),
            ("a", Want::Ok("a")),
            ("-", Want::Ok("-")),
            (".hidden", Want::Ok(".hidden")),
            ("трактор", Want::Ok("трактор")),
            ("مرحبا", Want::Ok("مرحبا")),
            ("हिन्दी", Want::Ok("हिन्दी")),
            ("  padded  ", Want::Ok("padded")),
            // NFC/NFD pair: both spell the same key.
            ("caf\u{e9}", Want::Ok("caf\u{e9}")),
            ("cafe\u{301}", Want::Ok("caf\u{e9}")),
            ("\u{212b}ngstr\u{f6}m", Want::Ok("\u{c5}ngstr\u{f6}m")),
            // A mark with no precomposed form stays a mark, and marks are allowed.
            ("q\u{301}", Want::Ok("q\u{301}")),
            (leaked(long_64.clone()), Want::Ok(leaked(long_64))),
            (leaked(cjk_64.clone()), Want::Ok(leaked(cjk_64))),
            // Invalid keys, one per rule.
            ("", Want::Empty),
            ("   ", Want::Empty),
            (leaked(long_65), Want::TooLong),
            (leaked(cjk_65), Want::TooLong),
            (".", Want::Dot),
            ("..", Want::DotDot),
            ("a..b", Want::DotDot),
            ("../etc", Want::DotDot),
            ("a/b", Want::Separator),
            ("/root", Want::Separator),
            ("a\\b", Want::Separator),
            ("team alpha", Want::Whitespace),
            ("a\tb", Want::Whitespace),
            ("a\u{a0}b", Want::Whitespace),
            ("a\u{3000}b", Want::Whitespace),
            ("a\u{0}b", Want::Control),
            ("a\u{1b}b", Want::Control),
            ("a\u{7f}", Want::Control),
            ("a:b", Want::Character),
            ("a@b", Want::Character),
            ("emoji😀", Want::Character),
            ("zero\u{200b}width", Want::Character),
            ("a*", Want::Character),
        ];
        assert!(table.len() >= 30);
        for (input, want) in table {
            let got = NamespaceKey::new(input);
            let ok = match (&want, &got) {
                (Want::Ok(expected), Ok(key)) => key.as_str() == *expected,
                (Want::Empty, Err(NamespaceKeyError::Empty))
                | (Want::TooLong, Err(NamespaceKeyError::TooLong { .. }))
                | (Want::Dot, Err(NamespaceKeyError::Dot))
                | (Want::DotDot, Err(NamespaceKeyError::DotDot { .. }))
                | (Want::Separator, Err(NamespaceKeyError::Separator { .. }))
                | (Want::Whitespace, Err(NamespaceKeyError::Whitespace { .. }))
                | (Want::Control, Err(NamespaceKeyError::Control { .. }))
                | (Want::Character, Err(NamespaceKeyError::Character { .. })) => true,
                _ => false,
            };
            assert!(ok, "key {input:?}: wanted {want:?}, got {got:?}");
        }
    }

    #[test]
    fn errors_name_the_rule() {
        let msg = |k: &str| NamespaceKey::new(k).unwrap_err().to_string();
        assert!(msg("a/b").contains("'/' and '\\' are not allowed"), "{}", msg("a/b"));
        assert!(msg("a..b").contains("\"..\""));
        assert!(msg(&"x".repeat(65)).contains("at most 64"));
        assert!(msg("a b").contains("whitespace"));
        assert!(msg("a\u{1}").contains("control character U+0001"));
        assert!(msg("a:b").contains("only letters, marks, digits"));
    }

    #[test]
    fn path_tokens_are_hex_case_safe_and_short_enough_for_file_names() {
        let lower = NamespaceKey::new("alpha").unwrap().path_token();
        let upper = NamespaceKey::new("Alpha").unwrap().path_token();
        assert_eq!(lower, "ns-616c706861");
        assert_ne!(lower.to_lowercase(), upper.to_lowercase());
        let widest = NamespaceKey::new("𝒜".repeat(64)).unwrap().path_token();
        assert!(widest.split('/').all(|part| part.len() <= 131), "{widest}");
        assert_eq!(NamespaceKey::from_path_token(&widest).unwrap().as_str(), "𝒜".repeat(64));
    }

    #[test]
    fn foreign_tokens_are_rejected() {
        for bad in ["", "ns-", "alpha", "ns-ZZ", "ns-2e2e", "ns-2f", "ns-4", "ns-616C", "ns-61/62", "ns-c3"] {
            assert!(NamespaceKey::from_path_token(bad).is_err(), "{bad:?} was accepted");
        }
        // A non-canonical (NFD) spelling of a valid key is not a token: tokens are unique.
        let nfd = format!("ns-{}", hex::encode("cafe\u{301}"));
        assert!(NamespaceKey::from_path_token(&nfd).is_err());
    }

    fn key_char() -> impl Strategy<Value = char> {
        prop_oneof![
            4 => proptest::char::range('a', 'z'),
            2 => proptest::char::range('A', 'Z'),
            1 => proptest::char::range('0', '9'),
            1 => Just('.'),
            1 => Just('_'),
            1 => Just('-'),
            2 => any::<char>(),
        ]
    }

    proptest! {
        #[test]
        fn every_valid_key_round_trips_through_its_token(raw in proptest::collection::vec(key_char(), 1..80)) {
            let raw: String = raw.into_iter().collect();
            if let Ok(key) = NamespaceKey::new(&raw) {
                let token = key.path_token();
                prop_assert!(token.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'/'));
                prop_assert_eq!(NamespaceKey::from_path_token(&token).unwrap(), key.clone());
                // Normalizing twice changes nothing.
                prop_assert_eq!(NamespaceKey::new(key.as_str()).unwrap(), key);
            }
        }

        #[test]
        fn validation_never_panics(raw in ".{0,100}") {
            let _ = NamespaceKey::new(&raw);
        }
    }
}
