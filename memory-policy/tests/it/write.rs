//! The write target (SPEC 4): the explicit one (writable, else 403/404), else the first target
//! the configuration defines (the key's default namespace, the profile's write layer, self,
//! which is `default` for a principal without one). A chosen target that is unavailable
//! (archived, not writable) refuses the write: the chain never falls back to a namespace more
//! principals can read. A namespace that may be written but not read is never a target, and the
//! target is always in the read set.

use expect_test::expect;

use crate::support::check;

const CONFIG: &str = r#"
[namespaces.policies]
alice = { read = ["alice"], write = ["alice"] }
research = { read = ["alice", "bob"], write = ["alice"] }
inbox = { read = [], write = ["*"] }
bob = { read = [], write = ["bob"] }
default = { read = ["*"], write = ["alice"] }
"#;

#[test]
fn an_explicit_writable_target_is_used_and_joins_the_read_set() {
    check(
        CONFIG,
        "as=alice write=research",
        expect![[r#"
            principal: alice (server)
            read: [alice, shared, research]
            write: research
            layers:
              self   alice  rw-
              shared shared r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn an_explicit_read_only_target_is_forbidden() {
    check(
        CONFIG,
        "as=bob write=research",
        expect![[r#"
            principal: bob (server)
            read: []
            write: -
            layers:
              self   bob    ---
              shared shared r--
            promote: shared=shared no
            error: forbidden — may not write "research": the policy for "research" gives "bob" read only
        "#]],
    );
}

#[test]
fn an_explicit_write_only_target_is_forbidden() {
    check(
        CONFIG,
        "as=alice write=inbox",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   alice  rw-
              shared shared r--
            promote: shared=shared no
            error: forbidden — may not write "inbox": the policy for "inbox" gives "alice" write but not read
        "#]],
    );
}

#[test]
fn an_explicit_unknown_or_archived_target_is_not_found() {
    check(
        CONFIG,
        "as=alice write=nowhere",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   alice  rw-
              shared shared r--
            promote: shared=shared no
            error: not_found — namespace "nowhere" not found
        "#]],
    );
    check(
        CONFIG,
        "as=alice write=research archived=research",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   alice  rw-
              shared shared r--
            promote: shared=shared no
            error: not_found — namespace "research" is archived
        "#]],
    );
}

#[test]
fn a_configured_namespace_comes_into_being_on_its_first_write() {
    // Not in the store yet: writable (configured), but not readable by name until created.
    check(
        CONFIG,
        "as=alice write=research bare",
        expect![[r#"
            principal: alice (server)
            read: [alice, shared, research]
            write: research
            layers:
              self   alice  rw-
              shared shared r--
            promote: shared=shared no
        "#]],
    );
    check(
        CONFIG,
        "as=alice read=research bare",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   alice  rw-
              shared shared r--
            promote: shared=shared no
            error: not_found — namespace "research" not found
        "#]],
    );
}

#[test]
fn the_key_default_namespace_comes_first() {
    check(
        CONFIG,
        "key=alice key-default=research",
        expect![[r#"
            principal: alice (api key)
            read: [alice, shared, research]
            write: research
            layers:
              self   alice  rw-
              shared shared r--
            promote: shared=shared no
        "#]],
    );
    // Not writable for bob: the chain goes on.
    check(
        CONFIG,
        "key=bob key-default=research",
        expect![[r#"
            principal: bob (api key)
            read: [shared]
            write: - (refused: Forbidden)
            layers:
              self   bob    ---
              shared shared r--
            promote: shared=shared no
            warning: the API key's default namespace "research" unavailable: the policy for "research" gives "bob" read only; writes are refused rather than sent to another namespace
        "#]],
    );
}

#[test]
fn an_unavailable_self_refuses_the_write_instead_of_falling_back() {
    check(
        CONFIG,
        "as=alice",
        expect![[r#"
            principal: alice (server)
            read: [alice, shared]
            write: alice
            layers:
              self   alice  rw-
              shared shared r--
            promote: shared=shared no
        "#]],
    );
    // alice's self namespace is archived: refused (not `default`, which everyone reads).
    check(
        CONFIG,
        "as=alice archived=alice",
        expect![[r#"
            principal: alice (server)
            read: [shared]
            write: - (refused: NotFound)
            layers:
              self   alice  rw-
              shared shared r--
            promote: shared=shared no
            warning: the self namespace "alice" unavailable: it is archived or deleted; writes are refused rather than sent to another namespace
            warning: self layer "alice" is archived or deleted; not read
        "#]],
    );
}

#[test]
fn a_write_only_self_is_never_the_target() {
    // bob may write "bob" but not read it: refused, whatever `default` allows.
    check(
        CONFIG,
        "as=bob",
        expect![[r#"
            principal: bob (server)
            read: [shared]
            write: - (refused: Forbidden)
            layers:
              self   bob    ---
              shared shared r--
            promote: shared=shared no
            warning: the self namespace "bob" unavailable: the policy for "bob" gives "bob" write but not read; writes are refused rather than sent to another namespace
        "#]],
    );
}

#[test]
fn the_profile_write_layer_then_self() {
    let config = r#"
[namespaces]
default_scope_profile = "p"

[namespaces.scope_profiles.p]
read_order = ["userProject", "userGlobal", "serverShared"]
write_default = "userProject"
"#;
    check(
        config,
        "as=alice project=repo",
        expect![[r#"
            principal: alice (server)
            read: [alice.p-d3b4ca9d, alice, shared]
            write: alice.p-d3b4ca9d
            layers:
              userProject  alice.p-d3b4ca9d rw-
              userGlobal   alice            rw-
              serverShared shared           r--
        "#]],
    );
    check(
        config,
        "as=alice",
        expect![[r#"
            principal: alice (server)
            read: [alice, shared]
            write: alice
            layers:
              userProject  -      --- (skipped: missing project context)
              userGlobal   alice  rw-
              serverShared shared r--
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
    check(
        config,
        "as=alice project=repo write=shared",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              userProject  alice.p-d3b4ca9d rw-
              userGlobal   alice            rw-
              serverShared shared           r--
            error: forbidden — may not write "shared": no policy names "shared"; the shared namespace is readable by every authenticated principal
        "#]],
    );
}

#[test]
fn the_write_target_joins_a_star_list_too() {
    // No userGlobal layer and an own namespace the catalog does not know yet: `*` alone would
    // not list it, so the write target is added (as for `read=*` and the default read set).
    let config = r#"
[namespaces]
default_scope_profile = "p"

[namespaces.scope_profiles.p]
read_order = ["userProject", "serverShared"]
write_default = "userProject"
"#;
    check(
        config,
        "as=alice read=shared,*",
        expect![[r#"
            principal: alice (server)
            read: [shared, default, alice]
            write: alice
            layers:
              userProject  -       --- (skipped: missing project context)
              serverShared shared  r--
              all          default rw-
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
    check(
        config,
        "as=alice read=*",
        expect![[r#"
            principal: alice (server)
            read: [shared, default, alice]
            write: alice
            layers:
              userProject  -       --- (skipped: missing project context)
              serverShared shared  r--
              all          default rw-
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
}
