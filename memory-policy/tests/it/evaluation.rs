//! Policy evaluation (SPEC 4 "Namespace policy"): the first policy decides, `"*"` is any
//! authenticated principal, `team:` refs, the defaults for `default` and `shared`, deny
//! otherwise and without a principal, NFC-equivalent names, case, and namespaces disabled.

use expect_test::expect;

use crate::support::{check, check_can};

const RESEARCH: &str = r#"
[namespaces.teams.pi]
principals = ["pi-geek", "pi-friend"]

[namespaces.policies]
research = { read = ["alice", "team:pi"], write = ["alice"] }
open = { read = ["*"], write = ["*"] }
drop-box = { read = [], write = ["alice"] }
"café" = { read = ["alice"], write = ["alice"] }
"#;

#[test]
fn a_policy_grants_exactly_its_lists() {
    check_can(
        RESEARCH,
        "as=alice",
        "write research",
        expect![[r#"allow: the policy for "research" gives "alice" read and write"#]],
    );
    check_can(
        RESEARCH,
        "as=bob",
        "read research",
        expect![[r#"deny: the policy for "research" gives "bob" no access"#]],
    );
    check_can(
        RESEARCH,
        "as=pi-friend",
        "read research",
        expect![[r#"allow: the policy for "research" gives "pi-friend" read only"#]],
    );
    check_can(
        RESEARCH,
        "as=pi-friend",
        "write research",
        expect![[r#"deny: the policy for "research" gives "pi-friend" read only"#]],
    );
}

#[test]
fn star_is_any_authenticated_principal() {
    check_can(
        RESEARCH,
        "as=zed",
        "write open",
        expect![[r#"allow: the policy for "open" gives "zed" read and write"#]],
    );
    check_can(RESEARCH, "", "read open", expect![[r#"deny: no principal: unauthenticated callers are denied"#]]);
}

#[test]
fn defaults_without_a_policy() {
    check_can(
        "",
        "as=zed",
        "write default",
        expect![[
            r#"allow: no policy names "default"; the default namespace is readable and writable by every authenticated principal"#
        ]],
    );
    check_can(
        "",
        "as=zed",
        "read shared",
        expect![[
            r#"allow: no policy names "shared"; the shared namespace is readable by every authenticated principal"#
        ]],
    );
    check_can(
        "",
        "as=zed",
        "write shared",
        expect![[
            r#"deny: no policy names "shared"; the shared namespace is readable by every authenticated principal"#
        ]],
    );
    check_can("", "as=zed", "read elsewhere", expect![[r#"deny: no policy names "elsewhere", so it is denied"#]]);
    check_can("", "", "read default", expect![[r#"deny: no principal: unauthenticated callers are denied"#]]);
}

#[test]
fn a_policy_for_default_or_shared_replaces_the_default_rights() {
    let config = r#"
[namespaces.policies]
default = { read = ["*"], write = ["curator"] }
shared = { read = ["*"], write = ["curator"] }
"#;
    check_can(config, "as=zed", "write default", expect![[r#"deny: the policy for "default" gives "zed" read only"#]]);
    check_can(
        config,
        "as=curator",
        "write shared",
        expect![[r#"allow: the policy for "shared" gives "curator" read and write"#]],
    );
}

#[test]
fn write_without_read_is_never_a_write() {
    check_can(
        RESEARCH,
        "as=alice",
        "write drop-box",
        expect![[
            r#"deny: the policy for "drop-box" gives "alice" write but not read; a namespace that cannot be read is never written"#
        ]],
    );
}

#[test]
fn names_are_nfc_equivalent_and_case_sensitive() {
    // "cafe" + U+0301 is the NFD spelling of the policy's "café".
    check_can(
        RESEARCH,
        "as=alice",
        "read cafe\u{301}",
        expect![[r#"allow: the policy for "café" gives "alice" read and write"#]],
    );
    check_can(RESEARCH, "as=alice", "read Research", expect![[r#"deny: no policy names "Research", so it is denied"#]]);
    check_can(
        RESEARCH,
        "as=Alice",
        "read research",
        expect![[r#"deny: the policy for "research" gives "Alice" no access"#]],
    );
}

#[test]
fn no_configuration_reads_self_and_shared_and_writes_default() {
    check(
        "",
        "as=alice",
        expect![[r#"
            principal: alice (server)
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
fn unauthenticated_requests_are_refused() {
    check(
        RESEARCH,
        "read=open",
        expect![[r#"
            principal: - (unauthenticated)
            read: []
            write: -
            error: unauthenticated — no principal: namespaces are enabled and unauthenticated requests are denied
        "#]],
    );
}

#[test]
fn namespaces_disabled_means_default_for_everyone() {
    let disabled = r#"
[namespaces]
enabled = false

[namespaces.policies]
research = { read = ["alice"], write = ["alice"] }
"#;
    check(
        disabled,
        "as=alice read=research,shared write=research",
        expect![[r#"
            principal: alice (server)
            read: [default]
            write: default
            layers:
              default default rw-
            warning: namespaces are disabled: "research" resolves to "default"
            warning: namespaces are disabled: "research" resolves to "default"
            warning: namespaces are disabled: "shared" resolves to "default"
        "#]],
    );
    check(
        disabled,
        "",
        expect![[r#"
            principal: - (unauthenticated)
            read: [default]
            write: default
            layers:
              default default rw-
        "#]],
    );
    check_can(
        disabled,
        "",
        "write default",
        expect![[r#"allow: namespaces are disabled: every caller reads and writes the default namespace"#]],
    );
    check_can(
        disabled,
        "as=alice",
        "read research",
        expect![[r#"deny: namespaces are disabled: only the default namespace exists"#]],
    );
}
