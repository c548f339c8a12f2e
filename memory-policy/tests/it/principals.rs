//! Principal resolution (SPEC 4): trusted header, API key, server principal, session-key rules
//! in config order (prefix, map, regex with captures; long keys never regex-matched), the
//! fallback principal, else unauthenticated.

use expect_test::expect;

use crate::support::check;

const TRUSTING: &str = r#"
[namespaces]
trust_principal_header = true
"#;

const RULES: &str = r#"
[namespaces]
principal_from_session_key_mode = "prefix"

[[namespaces.session_key_rules]]
match = "project-alpha:"
principal = "alpha-agent"

[[namespaces.session_key_rules]]
match = "exact-key"
principal = "mapped"
mode = "map"

[[namespaces.session_key_rules]]
match = '^agent-(?P<name>[a-z]+)-(\d+)$'
principal = "${name}-$2"
mode = "regex"

[[namespaces.session_key_rules]]
match = '^(x*)$'
principal = "$1"
mode = "regex"

[[namespaces.session_key_rules]]
match = "agent-"
principal = "any-agent"
"#;

#[test]
fn a_trusted_header_wins_over_everything() {
    check(
        TRUSTING,
        "header=bob key=alice as=server session=s",
        expect![[r#"
            principal: bob (header)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn an_untrusted_header_is_ignored_with_a_warning() {
    check(
        "",
        "header=bob as=alice",
        expect![[r#"
            principal: alice (server)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            warning: the principal header was ignored: header trust is off (trust_principal_header)
        "#]],
    );
}

#[test]
fn a_trusted_header_must_be_a_valid_principal() {
    check(
        TRUSTING,
        "header=bo\u{0}b as=alice",
        expect![[r#"
        principal: - (unauthenticated)
        read: []
        write: -
        error: invalid — X-Memory-Principal: invalid principal "bo\0b": contains a control character
    "#]],
    );
    check(
        TRUSTING,
        "header=\u{7}",
        expect![[r#"
        principal: - (unauthenticated)
        read: []
        write: -
        error: invalid — X-Memory-Principal: invalid principal "\u{7}": contains a control character
    "#]],
    );
}

#[test]
fn the_api_key_comes_before_the_server_principal() {
    check(
        "",
        "key=alice as=server",
        expect![[r#"
            principal: alice (api key)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn the_server_principal_comes_before_session_keys() {
    check(
        RULES,
        "as=server session=project-alpha:1",
        expect![[r#"
            principal: server (server)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn session_key_rules_apply_in_config_order() {
    check(
        RULES,
        "session=project-alpha:session-123",
        expect![[r#"
            principal: alpha-agent (session-key rule 0)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
        "#]],
    );
    check(
        RULES,
        "session=exact-key",
        expect![[r#"
            principal: mapped (session-key rule 1)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
        "#]],
    );
    check(
        RULES,
        "session=exact-key-2",
        expect![[r#"
        principal: - (unauthenticated)
        read: []
        write: -
        warning: no session-key rule matched the session key
        error: unauthenticated — no principal: namespaces are enabled and unauthenticated requests are denied
    "#]],
    );
    // Rule 2 (regex, with captures) comes before rule 4 (prefix "agent-").
    check(
        RULES,
        "session=agent-bob-42",
        expect![[r#"
            principal: bob-42 (session-key rule 2)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
        "#]],
    );
    check(
        RULES,
        "session=agent-Bob-42",
        expect![[r#"
            principal: any-agent (session-key rule 4)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn a_regex_rule_that_expands_to_no_principal_falls_through() {
    // `^(x*)$` matches the empty capture, which is no principal; no later rule matches.
    check(
        RULES,
        "session=",
        expect![[r#"
            principal: - (unauthenticated)
            read: []
            write: -
            error: unauthenticated — no principal: namespaces are enabled and unauthenticated requests are denied
        "#]],
    );
}

#[test]
fn keys_over_512_characters_are_never_regex_matched() {
    let at_limit = format!("session={}", "x".repeat(512));
    let over = format!("session={}", "x".repeat(513));
    check(
        RULES,
        &at_limit,
        expect![[r#"
        principal: - (unauthenticated)
        read: []
        write: -
        warning: session-key rule 3 matched but gives no valid principal: invalid principal: longer than 256 characters
        warning: no session-key rule matched the session key
        error: unauthenticated — no principal: namespaces are enabled and unauthenticated requests are denied
    "#]],
    );
    check(
        RULES,
        &over,
        expect![[r#"
        principal: - (unauthenticated)
        read: []
        write: -
        warning: no session-key rule matched the session key
        error: unauthenticated — no principal: namespaces are enabled and unauthenticated requests are denied
    "#]],
    );
}

#[test]
fn the_fallback_principal_catches_everyone_else() {
    let config = r#"
[namespaces]
fallback_principal = "guest"
session_key_rules = { "project-alpha:" = "alpha-agent" }
"#;
    check(
        config,
        "session=nobody-knows-me",
        expect![[r#"
            principal: guest (fallback)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            warning: no session-key rule matched the session key
        "#]],
    );
    check(
        config,
        "session=project-alpha:1",
        expect![[r#"
            principal: alpha-agent (session-key rule 0)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
        "#]],
    );
    check(
        config,
        "",
        expect![[r#"
            principal: guest (fallback)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn without_any_source_the_request_is_unauthenticated() {
    check(
        RULES,
        "session=nobody-knows-me",
        expect![[r#"
        principal: - (unauthenticated)
        read: []
        write: -
        warning: no session-key rule matched the session key
        error: unauthenticated — no principal: namespaces are enabled and unauthenticated requests are denied
    "#]],
    );
}

#[test]
fn an_empty_session_key_names_nobody() {
    check(
        "[namespaces]\nsession_key_rules = [{ match = \"a:\", principal = \"agent-a\" }]\n",
        "session=",
        expect![[r#"
            principal: - (unauthenticated)
            read: []
            write: -
            error: unauthenticated — no principal: namespaces are enabled and unauthenticated requests are denied
        "#]],
    );
}

/// The front end's implicit account (the CLI's OS user) is the last resort: session-key rules
/// and the configured fallback come first, so `$USER` never hides them.
#[test]
fn the_account_is_the_last_resort() {
    let rules = r#"
[namespaces]
session_key_rules = { "project-alpha:" = "alpha-agent" }
"#;
    let who = |config: &str, request: &str| {
        let (policy, _) = crate::support::compile(config, memory_policy::load::Dialect::Toml);
        let (req, _) = crate::support::request(&policy, request);
        let r = policy.resolve_principal(&req.caller);
        format!("{} ({})", r.principal.map_or("-".to_owned(), |p| p.to_string()), crate::support::source(r.source))
    };
    assert_eq!(who(rules, "session=project-alpha:1 account=root"), "alpha-agent (session-key rule 0)");
    assert_eq!(who(rules, "session=unknown account=root"), "root (account)");
    assert_eq!(who(rules, "account=root"), "root (account)");
    assert_eq!(who(rules, "as=alice account=root"), "alice (server)");
    let fallback = "[namespaces]\nfallback_principal = \"guest\"\n";
    assert_eq!(who(fallback, "account=root"), "guest (fallback)");
    assert_eq!(who("", ""), "- (unauthenticated)");
}
