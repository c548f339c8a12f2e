//! Who a request runs as (SPEC 4 "Principal resolution"): trusted header, API key, server
//! principal, session-key rules, then the optional fallback, and last the front end's implicit
//! account (the CLI's OS user); first that applies wins.

use memory_core::{ApiKeyId, KeyScope, NamespaceKey, Principal};

use crate::catalog::NamespaceCatalog;
use crate::config::{MAX_REGEX_SESSION_KEY_CHARS, SessionKeyMode};
use crate::policy::Piece::{Q, T};
use crate::policy::{Policy, ScopeRule, Subject, sentence};

/// Longest session key considered at all; longer keys match no rule.
const MAX_SESSION_KEY_CHARS: usize = 4096;

/// What an authenticated API key contributes to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyGrant {
    /// The key's record id, for audit.
    pub key_id: Option<ApiKeyId>,
    /// The principal the key acts as.
    pub principal: Principal,
    /// Its scopes; empty means "the principal's rights under the policy".
    pub scopes: Vec<KeyScope>,
    /// Where its writes go by default.
    pub default_namespace: Option<NamespaceKey>,
    /// A tenant admin's key: with its own principal, it reads and writes `private` and
    /// `public`/`org` namespaces like their creator (seeds/004). Behind a trusted principal
    /// header it is not: the header principal acts, not the admin.
    pub admin: bool,
}

/// The identity facts of one request, as the front end found them. Nothing here is trusted
/// until resolution decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The `X-Memory-Principal` header (honoured only with header trust on).
    pub header_principal: Option<String>,
    /// The API key the request authenticated with.
    pub api_key: Option<KeyGrant>,
    /// The server's `--principal`.
    pub server_principal: Option<Principal>,
    /// The client's session key.
    pub session_key: Option<String>,
    /// Who is running the front end when nobody said (the CLI: the OS account name): the last
    /// resort, after session-key rules and the configured fallback, so those rules apply in
    /// any ordinary shell.
    pub account: Option<Principal>,
}

impl Caller {
    /// A caller that is simply `principal` (as the server principal).
    pub fn principal(principal: Principal) -> Self {
        Caller { server_principal: Some(principal), ..Caller::default() }
    }
}

/// Where the principal came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PrincipalSource {
    /// The trusted principal header.
    Header,
    /// The API key.
    ApiKey,
    /// The server's configured principal.
    Server,
    /// Session-key rule number `rule` (0-based, config order).
    SessionKey {
        /// Index of the rule.
        rule: usize,
    },
    /// The configured fallback principal.
    Fallback,
    /// The front end's implicit account (the CLI's OS user).
    Account,
    /// Nobody: the request is unauthenticated.
    Unauthenticated,
}

/// The outcome of principal resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPrincipal {
    /// The principal, if any.
    pub principal: Option<Principal>,
    /// Where it came from.
    pub source: PrincipalSource,
    /// Why, in a sentence.
    pub reason: String,
    /// Things the operator should know (an ignored header, a failed capture expansion...).
    pub warnings: Vec<String>,
    /// A malformed trusted header: the request must be refused.
    pub invalid: Option<String>,
}

impl Policy {
    /// Resolves who `caller` is.
    pub fn resolve_principal(&self, caller: &Caller) -> ResolvedPrincipal {
        let mut warnings = Vec::new();
        let done = |principal: Principal, source, reason: String, warnings| ResolvedPrincipal {
            principal: Some(principal),
            source,
            reason,
            warnings,
            invalid: None,
        };
        if let Some(header) = &caller.header_principal {
            if self.config.trust_principal_header {
                return match Principal::new(header) {
                    Ok(p) => {
                        let reason = sentence(&[T("the trusted principal header names "), Q(p.as_str())]);
                        done(p, PrincipalSource::Header, reason, warnings)
                    }
                    Err(e) => ResolvedPrincipal {
                        principal: None,
                        source: PrincipalSource::Unauthenticated,
                        reason: "the trusted principal header is malformed".into(),
                        warnings,
                        invalid: Some(format!("X-Memory-Principal: {}", e.message())),
                    },
                };
            }
            warnings.push("the principal header was ignored: header trust is off (trust_principal_header)".into());
        }
        if let Some(p) = caller.api_key.as_ref().map(|k| k.principal.clone()) {
            let reason = sentence(&[T("the API key acts as "), Q(p.as_str())]);
            return done(p, PrincipalSource::ApiKey, reason, warnings);
        }
        if let Some(p) = &caller.server_principal {
            let reason = sentence(&[T("the server runs as "), Q(p.as_str())]);
            return done(p.clone(), PrincipalSource::Server, reason, warnings);
        }
        // An empty session key names nobody; it must not match an empty prefix by accident.
        if let Some(key) = caller.session_key.as_deref().filter(|k| !k.is_empty()) {
            if let Some((rule, p)) = self.match_session_key(key, &mut warnings) {
                let r = &self.rules[rule];
                let how = match r.mode {
                    SessionKeyMode::Prefix => "prefix",
                    SessionKeyMode::Map => "map",
                    SessionKeyMode::Regex => "regex",
                };
                let reason = format!(
                    "session-key rule {} ({how} {:?}) maps the session key to {:?}",
                    rule,
                    r.pattern,
                    p.as_str()
                );
                return done(p, PrincipalSource::SessionKey { rule }, reason, warnings);
            }
            warnings.push("no session-key rule matched the session key".into());
        }
        if let Some(p) = &self.config.fallback_principal {
            let reason = format!("no principal given; the fallback principal is {:?}", p.as_str());
            return done(p.clone(), PrincipalSource::Fallback, reason, warnings);
        }
        if let Some(p) = &caller.account {
            let reason = sentence(&[T("nothing else names a principal; the account running this is "), Q(p.as_str())]);
            return done(p.clone(), PrincipalSource::Account, reason, warnings);
        }
        ResolvedPrincipal {
            principal: None,
            source: PrincipalSource::Unauthenticated,
            reason: "no header, API key, server principal, session-key rule, fallback or account names a principal"
                .into(),
            warnings,
            invalid: None,
        }
    }

    /// The first rule, in config order, that maps `key` to a valid principal.
    fn match_session_key(&self, key: &str, warnings: &mut Vec<String>) -> Option<(usize, Principal)> {
        if key.chars().count() > MAX_SESSION_KEY_CHARS {
            warnings
                .push(format!("the session key is longer than {MAX_SESSION_KEY_CHARS} characters; no rule is applied"));
            return None;
        }
        let regex_ok = key.chars().count() <= MAX_REGEX_SESSION_KEY_CHARS;
        for (i, rule) in self.rules.iter().enumerate() {
            let candidate = match rule.mode {
                SessionKeyMode::Prefix if key.starts_with(&rule.pattern) => rule.principal.clone(),
                SessionKeyMode::Map if key == rule.pattern => rule.principal.clone(),
                SessionKeyMode::Regex if regex_ok => {
                    let Some(caps) = rule.regex.as_ref().and_then(|re| re.captures(key)) else { continue };
                    let mut out = String::new();
                    caps.expand(&rule.principal, &mut out);
                    out
                }
                _ => continue,
            };
            match Principal::new(&candidate) {
                Ok(p) => return Some((i, p)),
                Err(e) => {
                    warnings.push(format!("session-key rule {i} matched but gives no valid principal: {}", e.message()))
                }
            }
        }
        None
    }

    pub(crate) fn subject<'a>(
        &'a self,
        caller: &'a Caller,
        resolved: &'a ResolvedPrincipal,
        catalog: &'a dyn NamespaceCatalog,
    ) -> Subject<'a> {
        let scopes = caller.api_key.as_ref().map(|k| k.scopes.as_slice()).filter(|s| !s.is_empty());
        Subject {
            principal: resolved.principal.as_ref(),
            member: resolved.principal.as_ref().map(|p| self.member(p)).unwrap_or_default(),
            scopes: scopes.map(|s| match resolved.source {
                PrincipalSource::Header => ScopeRule::Narrowing(s),
                _ => ScopeRule::Exactly(s),
            }),
            own: None,
            admin: resolved.source == PrincipalSource::ApiKey && caller.api_key.as_ref().is_some_and(|k| k.admin),
            catalog,
        }
    }
}
