//! Promotion (SPEC 4): who may promote where, profile promotion targets, and automatic
//! promotion by category and confidence tier (legacy flags and profile `auto_promote`).

use expect_test::expect;
use memory_policy::project_hash;

use crate::support::{check, check_auto, check_can};
use crate::teams::TEAM_CODING;

const LEGACY: &str = r#"
[namespaces]
auto_promote_to_shared = true
auto_promote_min_confidence_tier = "implied"

[namespaces.policies]
shared = { read = ["*"], write = ["curator"] }
"#;

#[test]
fn promoting_needs_write_access_to_the_target() {
    check_can(
        LEGACY,
        "as=curator",
        "promote shared",
        expect![[
            r#"allow: promotion into "shared" needs write access: the policy for "shared" gives "curator" read and write"#
        ]],
    );
    check_can(
        LEGACY,
        "as=alice",
        "promote shared",
        expect![[
            r#"deny: promotion into "shared" needs write access: the policy for "shared" gives "alice" read only"#
        ]],
    );
}

#[test]
fn the_plan_lists_shared_as_the_promotion_target_without_a_profile() {
    check(
        LEGACY,
        "as=curator",
        expect![[r#"
            principal: curator (server)
            read: [default, shared]
            write: default
            layers:
              self   default rw-
              shared shared  rwp
            promote: shared=shared yes
        "#]],
    );
}

#[test]
fn legacy_auto_promotion_by_category_and_tier() {
    check_auto(
        LEGACY,
        "as=alice",
        "default fact 0.8",
        expect![
            "[shared]: auto-promotion to shared is on: fact is promoted and tier implied meets the minimum implied"
        ],
    );
    check_auto(
        LEGACY,
        "as=alice",
        "default fact 0.5",
        expect!["[]: confidence tier inferred is below auto_promote_min_confidence_tier implied"],
    );
    check_auto(
        LEGACY,
        "as=alice",
        "default event 0.99",
        expect!["[]: category event is not in auto_promote_categories"],
    );
    check_auto(
        "",
        "as=alice",
        "default fact 0.99",
        expect!["[]: auto-promotion to shared is off (auto_promote_to_shared)"],
    );
}

#[test]
fn never_from_shared_into_itself() {
    check_auto(LEGACY, "as=curator", "shared fact 0.99", expect!["[]: the memory is already in the shared namespace"]);
}

#[test]
fn a_scoped_key_limits_auto_promotion() {
    check_auto(
        LEGACY,
        "key=alice scopes=default:rw,shared:r",
        "default fact 0.99",
        expect!["[]: the API key's scopes do not allow writing the shared namespace"],
    );
    check_auto(
        LEGACY,
        "key=alice scopes=default:rw,shared:rw",
        "default fact 0.99",
        expect![
            "[shared]: auto-promotion to shared is on: fact is promoted and tier explicit meets the minimum implied"
        ],
    );
}

#[test]
fn auto_promotion_of_an_unauthenticated_request_is_none() {
    check_auto(
        LEGACY,
        "",
        "default fact 0.99",
        expect!["[]: no plan: no principal: namespaces are enabled and unauthenticated requests are denied"],
    );
}

const AUTO: &str = r#"
[namespaces]
default_scope_profile = "teamCoding"
auto_promote_to_shared = true

[namespaces.scope_profiles.teamCoding]
read_order = ["userProject", "teamProject", "userGlobal", "serverShared"]
write_default = "userProject"
promotion_targets = ["teamProject", "serverShared"]

[namespaces.scope_profiles.teamCoding.auto_promote]
enabled = true
targets = ["teamProject", "serverShared"]
categories = ["decision", "rule"]
min_confidence_tier = "implied"

[namespaces.teams.pi]
principals = ["pi-geek", "pi-friend"]
read = ["pi-geek", "pi-friend"]
write = ["pi-geek", "pi-friend"]
promote = ["pi-geek"]

[namespaces.policies]
shared = { read = ["*"], write = ["pi-geek"] }
"#;

#[test]
fn profile_promotion_targets_are_authorized_per_principal() {
    check(
        AUTO,
        "as=pi-geek project=repo",
        expect![[r#"
            principal: pi-geek (server)
            read: [pi-geek.p-d3b4ca9d, team-pi-project-d3b4ca9d, pi-geek, shared]
            write: pi-geek.p-d3b4ca9d
            layers:
              userProject  pi-geek.p-d3b4ca9d       rw-
              teamProject  team-pi-project-d3b4ca9d rwp
              userGlobal   pi-geek                  rw-
              serverShared shared                   rwp
            promote: teamProject=team-pi-project-d3b4ca9d yes; serverShared=shared yes
        "#]],
    );
    check(
        AUTO,
        "as=pi-friend project=repo",
        expect![[r#"
            principal: pi-friend (server)
            read: [pi-friend.p-d3b4ca9d, team-pi-project-d3b4ca9d, pi-friend, shared]
            write: pi-friend.p-d3b4ca9d
            layers:
              userProject  pi-friend.p-d3b4ca9d     rw-
              teamProject  team-pi-project-d3b4ca9d rw-
              userGlobal   pi-friend                rw-
              serverShared shared                   r--
            promote: teamProject=team-pi-project-d3b4ca9d no; serverShared=shared no
        "#]],
    );
}

#[test]
fn profile_auto_promotion_goes_to_authorized_targets() {
    let overlay = format!("pi-geek.p-{}", project_hash("repo"));
    check_auto(
        AUTO,
        "as=pi-geek project=repo",
        &format!("{overlay} decision 0.9"),
        expect![
            "[team-pi-project-d3b4ca9d, shared]: the scope profile promotes decision at tier implied into its authorized targets"
        ],
    );
    check_auto(
        AUTO,
        "as=pi-friend project=repo",
        "pi-friend decision 0.9",
        expect![[
            r#"[]: the scope profile would promote decision at tier implied, but no target is authorized (skipped: teamProject not authorized: team "pi" gives "pi-friend" read and write; serverShared not authorized: the policy for "shared" gives "pi-friend" read only)"#
        ]],
    );
    check_auto(
        AUTO,
        "as=pi-geek",
        "pi-geek decision 0.9",
        expect![
            "[shared]: the scope profile promotes decision at tier implied into its authorized targets (skipped: teamProject not authorized: skipped: missing project context)"
        ],
    );
}

#[test]
fn profile_auto_promotion_filters_category_and_tier() {
    check_auto(
        AUTO,
        "as=pi-geek project=repo",
        "pi-geek fact 0.99",
        expect!["[]: category fact is not in the profile's autoPromote categories"],
    );
    check_auto(
        AUTO,
        "as=pi-geek project=repo",
        "pi-geek rule 0.5",
        expect!["[]: confidence tier inferred is below the profile's minimum implied"],
    );
}

#[test]
fn profile_auto_promotion_never_promotes_into_the_source() {
    let team_ns = format!("team-pi-project-{}", project_hash("repo"));
    check_auto(
        AUTO,
        "as=pi-geek project=repo",
        &format!("{team_ns} decision 0.99"),
        expect![
            "[shared]: the scope profile promotes decision at tier explicit into its authorized targets (skipped: teamProject is the source namespace)"
        ],
    );
}

#[test]
fn a_profile_auto_promote_supersedes_the_legacy_flags() {
    // teamCoding's autoPromote is off: nothing is promoted although it would be a legacy fact.
    let config = TEAM_CODING.replace("[namespaces]\n", "[namespaces]\nauto_promote_to_shared = true\n");
    check_auto(
        &config,
        "as=pi-geek project=repo",
        "pi-geek fact 0.99",
        expect!["[]: the scope profile's autoPromote is off"],
    );
    // Without autoPromote in the profile the legacy flags still apply.
    let config = AUTO.replace("[namespaces.scope_profiles.teamCoding.auto_promote]\nenabled = true\ntargets = [\"teamProject\", \"serverShared\"]\ncategories = [\"decision\", \"rule\"]\nmin_confidence_tier = \"implied\"\n", "");
    check_auto(
        &config,
        "as=pi-friend project=repo",
        "pi-friend fact 0.99",
        expect![
            "[shared]: auto-promotion to shared is on: fact is promoted and tier explicit meets the minimum explicit"
        ],
    );
}

#[test]
fn a_scoped_key_gets_no_profile_auto_promotion() {
    check_auto(
        AUTO,
        "key=pi-geek scopes=shared:rw project=repo",
        "shared decision 0.99",
        expect!["[]: the scope profile would promote decision at tier explicit, but no target is authorized"],
    );
    check_auto(
        AUTO,
        "key=pi-geek scopes=shared:rw,pi-geek:rw project=repo",
        "pi-geek decision 0.99",
        expect!["[]: the scope profile would promote decision at tier explicit, but no target is authorized"],
    );
}
