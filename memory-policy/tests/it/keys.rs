//! API keys (SPEC 4): a scoped key gets exactly its scopes whatever the policies say and reads
//! all of them by default; an unscoped key has its principal's rights; behind a trusted header
//! the header principal's rights apply, narrowed by the key's scopes.

use expect_test::expect;

use crate::support::{check, check_can};

const CONFIG: &str = r#"
[namespaces]
trust_principal_header = true

[namespaces.policies]
research = { read = ["bob"], write = ["bob"] }
ops = { read = ["alice", "bob"], write = ["alice"] }
"#;

#[test]
fn a_scoped_key_reads_exactly_its_scopes() {
    // alice may not read research under the policy; the key grants it anyway.
    check(
        CONFIG,
        "key=alice scopes=research:r,shared:rw",
        expect![[r#"
            principal: alice (api key)
            read: [research, shared]
            write: - (refused: Forbidden)
            layers:
              key-scope research r--
              key-scope shared   rwp
            promote: shared=shared yes
            warning: the default namespace "default" unavailable: the API key's scopes do not include "default"; writes are refused rather than sent to another namespace
        "#]],
    );
}

#[test]
fn a_scoped_key_writes_its_default_namespace_only_with_read_write() {
    check(
        CONFIG,
        "key=alice scopes=research:rw,shared:r key-default=research",
        expect![[r#"
            principal: alice (api key)
            read: [research, shared]
            write: research
            layers:
              key-scope research rw-
              key-scope shared   r--
            promote: shared=shared no
        "#]],
    );
    check(
        CONFIG,
        "key=alice scopes=research:r,shared:rw key-default=research",
        expect![[r#"
            principal: alice (api key)
            read: [research, shared]
            write: - (refused: Forbidden)
            layers:
              key-scope research r--
              key-scope shared   rwp
            promote: shared=shared yes
            warning: the API key's default namespace "research" unavailable: the API key's scopes grant read on "research"; writes are refused rather than sent to another namespace
        "#]],
    );
}

#[test]
fn a_scoped_key_never_reaches_outside_its_scopes() {
    check(
        CONFIG,
        "key=alice scopes=research:r read=ops",
        expect![[r#"
            principal: alice (api key)
            read: []
            write: -
            layers:
              key-scope research r--
            promote: shared=shared no
            warning: the default namespace "default" unavailable: the API key's scopes do not include "default"; writes are refused rather than sent to another namespace
            error: forbidden — may not read "ops": the API key's scopes do not include "ops"
        "#]],
    );
    check(
        CONFIG,
        "key=alice scopes=research:r read=*",
        expect![[r#"
            principal: alice (api key)
            read: [research]
            write: - (refused: Forbidden)
            layers:
              key-scope research r--
              all       default  ---
              all       ops      ---
              all       shared   ---
            promote: shared=shared no
            warning: the default namespace "default" unavailable: the API key's scopes do not include "default"; writes are refused rather than sent to another namespace
        "#]],
    );
    check(
        CONFIG,
        "key=alice scopes=research:r write=default",
        expect![[r#"
            principal: alice (api key)
            read: []
            write: -
            layers:
              key-scope research r--
            promote: shared=shared no
            error: forbidden — may not write "default": the API key's scopes do not include "default"
        "#]],
    );
    check_can(
        CONFIG,
        "key=alice scopes=research:r",
        "read default",
        expect![[r#"deny: the API key's scopes do not include "default""#]],
    );
    check_can(
        CONFIG,
        "key=alice scopes=research:r",
        "write research",
        expect![[r#"deny: the API key's scopes grant read on "research""#]],
    );
}

#[test]
fn an_unscoped_key_has_its_principals_rights() {
    check(
        CONFIG,
        "key=alice",
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
    check(
        CONFIG,
        "key=alice read=research",
        expect![[r#"
            principal: alice (api key)
            read: []
            write: -
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            error: forbidden — may not read "research": the policy for "research" gives "alice" no access
        "#]],
    );
}

#[test]
fn behind_a_trusted_header_scopes_narrow_the_header_principal() {
    // carol (header) may read research? No: only bob. The key's scopes cannot widen that.
    check(
        CONFIG,
        "header=carol key=alice scopes=research:rw,shared:rw",
        expect![[r#"
            principal: carol (header)
            read: [shared]
            write: - (refused: Forbidden)
            layers:
              key-scope research ---
              key-scope shared   r--
            promote: shared=shared no
            warning: the default namespace "default" unavailable: no policy names "default"; the default namespace is readable and writable by every authenticated principal; the API key's scopes do not include "default"; writes are refused rather than sent to another namespace
        "#]],
    );
    // bob (header) may write research; the key narrows it to read.
    check(
        CONFIG,
        "header=bob key=alice scopes=research:r,shared:rw read=research write=research",
        expect![[r#"
            principal: bob (header)
            read: []
            write: -
            layers:
              key-scope research r--
              key-scope shared   r--
              explicit  research r--
            promote: shared=shared no
            error: forbidden — may not write "research": the policy for "research" gives "bob" read and write; the API key's scopes grant read on "research"
        "#]],
    );
    check(
        CONFIG,
        "header=bob key=alice scopes=research:r,shared:rw",
        expect![[r#"
            principal: bob (header)
            read: [research, shared]
            write: - (refused: Forbidden)
            layers:
              key-scope research r--
              key-scope shared   r--
            promote: shared=shared no
            warning: the default namespace "default" unavailable: no policy names "default"; the default namespace is readable and writable by every authenticated principal; the API key's scopes do not include "default"; writes are refused rather than sent to another namespace
        "#]],
    );
    check_can(
        CONFIG,
        "header=bob key=alice scopes=research:r",
        "read ops",
        expect![[r#"deny: the policy for "ops" gives "bob" read only; the API key's scopes do not include "ops""#]],
    );
}

#[test]
fn behind_a_trusted_header_an_unscoped_key_is_the_header_principal() {
    check(
        CONFIG,
        "header=bob key=alice",
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
fn an_untrusted_header_leaves_the_key_in_charge() {
    check(
        "",
        "header=bob key=alice scopes=shared:r",
        expect![[r#"
            principal: alice (api key)
            read: [shared]
            write: - (refused: Forbidden)
            layers:
              key-scope shared r--
            promote: shared=shared no
            warning: the principal header was ignored: header trust is off (trust_principal_header)
            warning: the default namespace "default" unavailable: the API key's scopes do not include "default"; writes are refused rather than sent to another namespace
        "#]],
    );
}

#[test]
fn a_scoped_key_ignores_the_scope_profile() {
    let config = r#"
[namespaces]
default_scope_profile = "p"

[namespaces.scope_profiles.p]
read_order = ["userProject", "userGlobal", "serverShared"]
write_default = "userProject"
"#;
    check(
        config,
        "key=alice scopes=shared:rw project=repo",
        expect![[r#"
            principal: alice (api key)
            read: [shared]
            write: - (refused: Forbidden)
            layers:
              key-scope shared rw-
            warning: writeDefault userProject unavailable: an API key with scopes uses its scopes instead of the scope profile's layers
            warning: the self namespace "alice" unavailable: the API key's scopes do not include "alice"; writes are refused rather than sent to another namespace
        "#]],
    );
}

#[test]
fn an_archived_scope_is_not_read() {
    check(
        CONFIG,
        "key=alice scopes=research:r,ops:rw key-default=ops archived=ops",
        expect![[r#"
            principal: alice (api key)
            read: [research]
            write: - (refused: NotFound)
            layers:
              key-scope research r--
              key-scope ops      rw-
            promote: shared=shared no
            warning: the API key's default namespace "ops" unavailable: it is archived or deleted; writes are refused rather than sent to another namespace
            warning: key-scope layer "ops" is archived or deleted; not read
        "#]],
    );
}
