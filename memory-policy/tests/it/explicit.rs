//! Explicit read lists (SPEC 4): each must be readable; existing but unreadable is 403
//! (`forbidden`), unknown or archived is 404 (`not_found`), a malformed name is `invalid`.

use expect_test::expect;

use crate::support::check;

const CONFIG: &str = r#"
[namespaces.policies]
research = { read = ["alice"], write = ["alice"] }
payroll = { read = ["hr"], write = ["hr"] }
"#;

#[test]
fn readable_names_are_read_in_request_order() {
    check(
        CONFIG,
        "as=alice read=shared,research,shared",
        expect![[r#"
            principal: alice (server)
            read: [shared, research]
            write: default
            layers:
              self     default  rw-
              shared   shared   r--
              explicit shared   r--
              explicit research rw-
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn an_existing_unreadable_name_is_forbidden() {
    check(
        CONFIG,
        "as=alice read=research,payroll",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self     default  rw-
              shared   shared   r--
              explicit research rw-
            promote: shared=shared no
            error: forbidden — may not read "payroll": the policy for "payroll" gives "alice" no access
        "#]],
    );
}

#[test]
fn an_unknown_name_is_not_found() {
    check(
        CONFIG,
        "as=alice read=research,nowhere",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self     default  rw-
              shared   shared   r--
              explicit research rw-
            promote: shared=shared no
            error: not_found — namespace "nowhere" not found
        "#]],
    );
    // Even a readable-by-default name must exist.
    check(
        CONFIG,
        "as=alice read=default bare",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            error: not_found — namespace "default" not found
        "#]],
    );
}

#[test]
fn an_archived_or_deleted_name_is_not_found() {
    check(
        CONFIG,
        "as=alice read=research archived=research",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            error: not_found — namespace "research" is archived
        "#]],
    );
    check(
        CONFIG,
        "as=hr read=payroll deleted=payroll",
        expect![[r#"
            principal: hr (server)
            read: []
            write: -
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            error: not_found — namespace "payroll" is deleted
        "#]],
    );
    // An archived namespace the caller could not read anyway is also 404, never 403.
    check(
        CONFIG,
        "as=alice read=payroll archived=payroll",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            error: not_found — namespace "payroll" is archived
        "#]],
    );
}

#[test]
fn a_created_namespace_without_policy_is_forbidden() {
    check(
        CONFIG,
        "as=alice read=scratch exists=scratch",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            error: forbidden — may not read "scratch": no policy names "scratch", so it is denied
        "#]],
    );
}

#[test]
fn a_malformed_name_is_invalid() {
    check(
        CONFIG,
        "as=alice read=../etc",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            error: invalid — namespace key "../etc" contains "..", which is not allowed
        "#]],
    );
}

#[test]
fn names_are_normalized_before_lookup() {
    let config = r#"
[namespaces.policies]
"café" = { read = ["alice"], write = ["alice"] }
"#;
    check(
        config,
        "as=alice read=cafe\u{301}",
        expect![[r#"
            principal: alice (server)
            read: [café]
            write: default
            layers:
              self     default rw-
              shared   shared  r--
              explicit café    rw-
            promote: shared=shared no
        "#]],
    );
    check(
        config,
        "as=alice read=Café",
        expect![[r#"
            principal: alice (server)
            read: []
            write: -
            layers:
              self   default rw-
              shared shared  r--
            promote: shared=shared no
            error: not_found — namespace "Café" not found
        "#]],
    );
}

#[test]
fn star_in_a_list_means_everything_readable() {
    check(
        CONFIG,
        "as=hr read=payroll,*",
        expect![[r#"
            principal: hr (server)
            read: [default, shared, payroll]
            write: default
            layers:
              self   default  rw-
              shared shared   r--
              all    payroll  rw-
              all    research ---
            promote: shared=shared no
        "#]],
    );
}

#[test]
fn an_explicit_read_keeps_the_default_write_target() {
    check(
        CONFIG,
        "as=alice read=shared",
        expect![[r#"
            principal: alice (server)
            read: [shared]
            write: default
            layers:
              self     default rw-
              shared   shared  r--
              explicit shared  r--
            promote: shared=shared no
        "#]],
    );
}
