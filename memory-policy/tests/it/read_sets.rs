//! Default read sets (SPEC 4): self, then shared, then every readable namespace included in
//! recall by default; `default_recall` variants including `["*"]`; `*` requests; the self
//! namespace with and without a scope profile.

use expect_test::expect;

use crate::support::check;

const AGENTS: &str = r#"
[namespaces.policies]
alice = { read = ["alice"], write = ["alice"] }
handbook = { read = ["*"], write = ["curator"], include_in_recall_by_default = true }
secrets = { read = ["curator"], write = ["curator"], include_in_recall_by_default = true }
research = { read = ["alice", "bob"], write = ["bob"] }
"#;

#[test]
fn self_shared_then_included_policies() {
    check(
        AGENTS,
        "as=alice",
        expect![[r#"
            principal: alice (server)
            read: [alice, shared, handbook]
            write: alice
            layers:
              self   alice    rw-
              shared shared   r--
              policy handbook r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn without_a_policy_of_its_own_self_is_default() {
    check(
        AGENTS,
        "as=bob",
        expect![[r#"
            principal: bob (server)
            read: [default, shared, handbook]
            write: default
            layers:
              self   default  rw-
              shared shared   r--
              policy handbook r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn default_recall_can_be_narrowed() {
    let config = format!("[namespaces]\ndefault_recall = [\"shared\"]\n{AGENTS}");
    check(
        &config,
        "as=alice",
        expect![[r#"
            principal: alice (server)
            read: [shared, handbook, alice]
            write: alice
            layers:
              shared shared   r--
              policy handbook r--
            promote: shared=shared no
        "#]],
    );
    let config = format!("[namespaces]\ndefault_recall = [\"self\"]\n{AGENTS}");
    check(
        &config,
        "as=bob",
        expect![[r#"
            principal: bob (server)
            read: [default, handbook]
            write: default
            layers:
              self   default  rw-
              policy handbook r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn default_recall_can_name_namespaces() {
    let config = format!("[namespaces]\ndefault_recall = [\"research\", \"self\"]\n{AGENTS}");
    check(
        &config,
        "as=alice",
        expect![[r#"
            principal: alice (server)
            read: [research, alice, handbook]
            write: alice
            layers:
              recall research r--
              self   alice    rw-
              policy handbook r--
            promote: shared=shared no
        "#]],
    );
    // Unreadable named entries are listed but not read.
    check(
        &config,
        "as=curator",
        expect![[r#"
            principal: curator (server)
            read: [default, handbook, secrets]
            write: default
            layers:
              recall research ---
              self   default  rw-
              policy handbook rw-
              policy secrets  rw-
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn default_recall_star_reads_everything_readable() {
    let config = format!("[namespaces]\ndefault_recall = [\"*\"]\n{AGENTS}");
    check(
        &config,
        "as=bob exists=bob-notes",
        expect![[r#"
            principal: bob (server)
            read: [default, handbook, research, shared]
            write: default
            layers:
              recall alice     ---
              recall bob-notes ---
              recall default   rw-
              recall handbook  r--
              recall research  rw-
              recall secrets   ---
              recall shared    r--
              policy handbook  r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn a_star_request_reads_everything_readable() {
    check(
        AGENTS,
        "as=alice read=* exists=zzz archived=research",
        expect![[r#"
            principal: alice (server)
            read: [alice, shared, handbook, default]
            write: alice
            layers:
              self   alice    rw-
              shared shared   r--
              policy handbook r--
              all    default  rw-
              all    secrets  ---
              all    zzz      ---
            promote: shared=shared no
        "#]],
    );
    check(
        AGENTS,
        "as=alice read=a,*",
        expect![[r#"
            principal: alice (server)
            read: [alice, shared, handbook, default, research]
            write: alice
            layers:
              self   alice    rw-
              shared shared   r--
              policy handbook r--
              all    default  rw-
              all    research r--
              all    secrets  ---
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn an_empty_explicit_list_is_the_default_read_set() {
    check(
        AGENTS,
        "as=alice read=",
        expect![[r#"
            principal: alice (server)
            read: [alice, shared, handbook]
            write: alice
            layers:
              self   alice    rw-
              shared shared   r--
              policy handbook r--
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn archived_layers_are_skipped_with_a_warning() {
    check(
        AGENTS,
        "as=alice archived=handbook deleted=alice",
        expect![[r#"
            principal: alice (server)
            read: [shared]
            write: - (refused: NotFound)
            layers:
              self   alice    rw-
              shared shared   r--
              policy handbook r--
            promote: shared=shared no
            warning: the self namespace "alice" unavailable: it is archived or deleted; writes are refused rather than sent to another namespace
            warning: self layer "alice" is archived or deleted; not read
            warning: policy layer "handbook" is archived or deleted; not read
        "#]],
    );
}

const PROFILE: &str = r#"
[namespaces]
default_scope_profile = "personal"

[namespaces.scope_profiles.personal]
read_order = ["userProject", "userGlobal", "serverShared"]
write_default = "userProject"

[namespaces.policies]
carol = { read = ["carol", "dave"], write = ["dave"] }
"#;

#[test]
fn with_a_profile_the_own_namespace_is_implicit() {
    check(
        PROFILE,
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
        PROFILE,
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
}

#[test]
fn with_a_profile_an_explicit_policy_for_the_own_namespace_wins() {
    // carol may read her namespace but only dave may write it.
    check(
        PROFILE,
        "as=carol",
        expect![[r#"
            principal: carol (server)
            read: [carol, shared]
            write: - (refused: Forbidden)
            layers:
              userProject  -      --- (skipped: missing project context)
              userGlobal   carol  r--
              serverShared shared r--
            warning: writeDefault userProject unavailable: skipped: missing project context
            warning: the self namespace "carol" unavailable: the policy for "carol" gives "carol" read only; writes are refused rather than sent to another namespace
        "#]],
    );
    check(
        PROFILE,
        "as=dave read=carol write=carol",
        expect![[r#"
            principal: dave (server)
            read: [carol]
            write: carol
            layers:
              userProject  -      --- (skipped: missing project context)
              userGlobal   dave   rw-
              serverShared shared r--
              explicit     carol  rw-
        "#]],
    );
}

#[test]
fn with_a_profile_names_that_are_no_own_namespace_are_hashed() {
    check(
        PROFILE,
        "as=default",
        expect![[r#"
            principal: default (server)
            read: [principal-37a8eec1ce19687d, shared]
            write: principal-37a8eec1ce19687d
            layers:
              userProject  -                          --- (skipped: missing project context)
              userGlobal   principal-37a8eec1ce19687d rw-
              serverShared shared                     r--
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
    check(
        PROFILE,
        "as=shared",
        expect![[r#"
            principal: shared (server)
            read: [principal-a4d26868017c0ccf, shared]
            write: principal-a4d26868017c0ccf
            layers:
              userProject  -                          --- (skipped: missing project context)
              userGlobal   principal-a4d26868017c0ccf rw-
              serverShared shared                     r--
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
    check(
        PROFILE,
        "as=jane/doe",
        expect![[r#"
            principal: jane/doe (server)
            read: [principal-8176055513275ab8, shared]
            write: principal-8176055513275ab8
            layers:
              userProject  -                          --- (skipped: missing project context)
              userGlobal   principal-8176055513275ab8 rw-
              serverShared shared                     r--
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
    check(
        PROFILE,
        "as=principal-0123456789abcdef",
        expect![[r#"
            principal: principal-0123456789abcdef (server)
            read: [principal-5a61f4c938a20def, shared]
            write: principal-5a61f4c938a20def
            layers:
              userProject  -                          --- (skipped: missing project context)
              userGlobal   principal-5a61f4c938a20def rw-
              serverShared shared                     r--
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
    check(
        PROFILE,
        "as=alice.p-12345678",
        expect![[r#"
            principal: alice.p-12345678 (server)
            read: [principal-bfb62c40871f09a2, shared]
            write: principal-bfb62c40871f09a2
            layers:
              userProject  -                          --- (skipped: missing project context)
              userGlobal   principal-bfb62c40871f09a2 rw-
              serverShared shared                     r--
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
}

#[test]
fn without_a_profile_names_are_never_hashed() {
    check(
        AGENTS,
        "as=jane/doe",
        expect![[r#"
            principal: jane/doe (server)
            read: [default, shared, handbook]
            write: default
            layers:
              self   default  rw-
              shared shared   r--
              policy handbook r--
            promote: shared=shared no
        "#]],
    );
}
