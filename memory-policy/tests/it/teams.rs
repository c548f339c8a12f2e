//! Teams and scope profiles (seeds/002 `teamCoding`): project and branch overlays, isolation
//! between team members, non-members and members without rights, protected names, unsafe
//! renderings, caller-supplied team-project names, and principals that mimic rendered names.

use expect_test::expect;
use memory_policy::project_hash;

use crate::support::{check, check_can};

/// seeds/002's hosted coding profile, in the TOML dialect.
pub const TEAM_CODING: &str = r#"
[namespaces]
default_scope_profile = "teamCoding"

[namespaces.scope_profiles.teamCoding]
read_order = ["userProject", "teamProject", "userGlobal", "serverShared"]
write_default = "userProject"
promotion_targets = ["teamProject", "serverShared"]
team_project = { namespace_template = "team-{teamId}-project-{projectHash}" }

[namespaces.scope_profiles.teamCoding.auto_promote]
enabled = false
targets = ["teamProject"]
categories = ["decision", "rule", "procedure", "correction"]
min_confidence_tier = "explicit"

[namespaces.teams.pi]
principals = ["pi-geek", "pi-friend"]
read = ["pi-geek", "pi-friend"]
write = ["pi-geek", "pi-friend"]
promote = ["pi-geek", "pi-friend"]
"#;

#[test]
fn a_member_in_a_project_reads_four_layers_and_writes_its_user_project() {
    check(
        TEAM_CODING,
        "as=pi-geek project=github.com/pi/repo",
        expect![[r#"
            principal: pi-geek (server)
            read: [pi-geek.p-cdc6d3da, team-pi-project-cdc6d3da, pi-geek, shared]
            write: pi-geek.p-cdc6d3da
            layers:
              userProject  pi-geek.p-cdc6d3da       rw-
              teamProject  team-pi-project-cdc6d3da rwp
              userGlobal   pi-geek                  rw-
              serverShared shared                   r--
            promote: teamProject=team-pi-project-cdc6d3da yes; serverShared=shared no
        "#]],
    );
}

#[test]
fn missing_project_context_skips_project_layers() {
    check(
        TEAM_CODING,
        "as=pi-geek",
        expect![[r#"
            principal: pi-geek (server)
            read: [pi-geek, shared]
            write: pi-geek
            layers:
              userProject  -       --- (skipped: missing project context)
              teamProject  -       --- (skipped: missing project context)
              userGlobal   pi-geek rw-
              serverShared shared  r--
            promote: teamProject=- no; serverShared=shared no
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
}

#[test]
fn a_branch_gets_its_own_overlay() {
    check(
        TEAM_CODING,
        "as=pi-geek project=github.com/pi/repo branch=main",
        expect![[r#"
            principal: pi-geek (server)
            read: [pi-geek.p-cdc6d3da.b-ea90e208, team-pi-project-cdc6d3da, pi-geek, shared]
            write: pi-geek.p-cdc6d3da.b-ea90e208
            layers:
              userProject  pi-geek.p-cdc6d3da.b-ea90e208 rw-
              teamProject  team-pi-project-cdc6d3da      rwp
              userGlobal   pi-geek                       rw-
              serverShared shared                        r--
            promote: teamProject=team-pi-project-cdc6d3da yes; serverShared=shared no
        "#]],
    );
}

#[test]
fn members_share_the_team_project_but_not_their_user_projects() {
    check(
        TEAM_CODING,
        "as=pi-friend project=github.com/pi/repo",
        expect![[r#"
            principal: pi-friend (server)
            read: [pi-friend.p-cdc6d3da, team-pi-project-cdc6d3da, pi-friend, shared]
            write: pi-friend.p-cdc6d3da
            layers:
              userProject  pi-friend.p-cdc6d3da     rw-
              teamProject  team-pi-project-cdc6d3da rwp
              userGlobal   pi-friend                rw-
              serverShared shared                   r--
            promote: teamProject=team-pi-project-cdc6d3da yes; serverShared=shared no
        "#]],
    );
    let geek_overlay = format!("pi-geek.p-{}", project_hash("github.com/pi/repo"));
    check_can(
        TEAM_CODING,
        "as=pi-friend",
        &format!("read {geek_overlay}"),
        expect![[r#"deny: no policy names "pi-geek.p-cdc6d3da", so it is denied"#]],
    );
    check_can(
        TEAM_CODING,
        "as=pi-geek",
        &format!("write {geek_overlay}"),
        expect![[r#"allow: "pi-geek.p-cdc6d3da" is "pi-geek"'s own namespace and no policy names it"#]],
    );
}

#[test]
fn a_non_member_gets_no_team_layer() {
    check(
        TEAM_CODING,
        "as=outsider project=github.com/pi/repo",
        expect![[r#"
            principal: outsider (server)
            read: [outsider.p-cdc6d3da, outsider, shared]
            write: outsider.p-cdc6d3da
            layers:
              userProject  outsider.p-cdc6d3da rw-
              teamProject  -                   --- (skipped: "outsider" is in no team)
              userGlobal   outsider            rw-
              serverShared shared              r--
            promote: teamProject=- no; serverShared=shared no
        "#]],
    );
}

const LOPSIDED: &str = r#"
[namespaces]
default_scope_profile = "teamFirst"

[namespaces.scope_profiles.teamFirst]
read_order = ["teamProject", "userGlobal", "serverShared"]
write_default = "teamProject"
promotion_targets = ["teamProject"]

[namespaces.teams.pi]
principals = ["pi-geek", "pi-friend", "pi-lurker"]
read = ["pi-geek", "pi-friend"]
write = ["pi-geek"]
promote = ["pi-geek", "pi-lurker"]
"#;

#[test]
fn a_member_without_write_reads_the_team_project_and_its_writes_are_refused() {
    check(
        LOPSIDED,
        "as=pi-geek project=repo",
        expect![[r#"
            principal: pi-geek (server)
            read: [team-pi-project-d3b4ca9d, pi-geek, shared]
            write: team-pi-project-d3b4ca9d
            layers:
              teamProject  team-pi-project-d3b4ca9d rwp
              userGlobal   pi-geek                  rw-
              serverShared shared                   r--
            promote: teamProject=team-pi-project-d3b4ca9d yes
        "#]],
    );
    check(
        LOPSIDED,
        "as=pi-friend project=repo",
        expect![[r#"
            principal: pi-friend (server)
            read: [team-pi-project-d3b4ca9d, pi-friend, shared]
            write: - (refused: Forbidden)
            layers:
              teamProject  team-pi-project-d3b4ca9d r--
              userGlobal   pi-friend                rw-
              serverShared shared                   r--
            promote: teamProject=team-pi-project-d3b4ca9d no
            warning: writeDefault teamProject "team-pi-project-d3b4ca9d" unavailable: team "pi" gives "pi-friend" read only; writes are refused rather than sent to another namespace
        "#]],
    );
}

#[test]
fn a_member_without_read_gets_nothing_from_the_team() {
    check(
        LOPSIDED,
        "as=pi-lurker project=repo",
        expect![[r#"
            principal: pi-lurker (server)
            read: [pi-lurker, shared]
            write: - (refused: Forbidden)
            layers:
              teamProject  team-pi-project-d3b4ca9d ---
              userGlobal   pi-lurker                rw-
              serverShared shared                   r--
            promote: teamProject=team-pi-project-d3b4ca9d no
            warning: writeDefault teamProject "team-pi-project-d3b4ca9d" unavailable: team "pi" gives "pi-lurker" no access and promotion; writes are refused rather than sent to another namespace
        "#]],
    );
}

#[test]
fn a_principal_in_two_teams_gets_both_team_projects() {
    let config = format!("{TEAM_CODING}\n[namespaces.teams.core]\nprincipals = [\"pi-geek\"]\nread = [\"pi-geek\"]\n");
    check(
        &config,
        "as=pi-geek project=repo",
        expect![[r#"
            principal: pi-geek (server)
            read: [pi-geek.p-d3b4ca9d, team-pi-project-d3b4ca9d, team-core-project-d3b4ca9d, pi-geek, shared]
            write: pi-geek.p-d3b4ca9d
            layers:
              userProject  pi-geek.p-d3b4ca9d         rw-
              teamProject  team-pi-project-d3b4ca9d   rwp
              teamProject  team-core-project-d3b4ca9d r--
              userGlobal   pi-geek                    rw-
              serverShared shared                     r--
            promote: teamProject=team-pi-project-d3b4ca9d yes; teamProject=team-core-project-d3b4ca9d no; serverShared=shared no
        "#]],
    );
}

#[test]
fn a_template_without_project_placeholders_needs_no_project() {
    let config = TEAM_CODING.replace("team-{teamId}-project-{projectHash}", "team-{teamId}");
    check(
        &config,
        "as=pi-geek",
        expect![[r#"
            principal: pi-geek (server)
            read: [team-pi, pi-geek, shared]
            write: pi-geek
            layers:
              userProject  -       --- (skipped: missing project context)
              teamProject  team-pi rwp
              userGlobal   pi-geek rw-
              serverShared shared  r--
            promote: teamProject=team-pi yes; serverShared=shared no
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
}

#[test]
fn a_template_never_grants_rights_on_a_protected_name() {
    let config = r#"
[namespaces]
default_scope_profile = "byName"

[namespaces.scope_profiles.byName]
read_order = ["teamProject", "userGlobal", "serverShared"]
write_default = "teamProject"
team_project = { namespace_template = "{projectNamespace}" }

[namespaces.teams.pi]
principals = ["pi-geek"]
read = ["pi-geek"]
write = ["pi-geek"]

[namespaces.policies]
research = { read = ["pi-geek"], write = ["lead"] }
"#;
    // The project is called like a policy namespace: its policy decides, not the team.
    check(
        config,
        "as=pi-geek project=research",
        expect![[r#"
            principal: pi-geek (server)
            read: [research, principal-76bcb503ab76f9ca, shared]
            write: - (refused: Forbidden)
            layers:
              teamProject  research                   r--
              userGlobal   principal-76bcb503ab76f9ca rw-
              serverShared shared                     r--
            warning: team "pi" renders the protected namespace "research"; only its policy grants access
            warning: writeDefault teamProject "research" unavailable: team "pi" renders a protected name; the policy for "research" gives "pi-geek" read only; writes are refused rather than sent to another namespace
        "#]],
    );
    // ... or like the shared namespace.
    check(
        config,
        "as=pi-geek project=shared",
        expect![[r#"
            principal: pi-geek (server)
            read: [shared, principal-76bcb503ab76f9ca]
            write: - (refused: Forbidden)
            layers:
              teamProject  shared                     r--
              userGlobal   principal-76bcb503ab76f9ca rw-
              serverShared shared                     r--
            warning: team "pi" renders the protected namespace "shared"; only its policy grants access
            warning: writeDefault teamProject "shared" unavailable: team "pi" renders a protected name; no policy names "shared"; the shared namespace is readable by every authenticated principal; writes are refused rather than sent to another namespace
        "#]],
    );
    // An ordinary project renders an ordinary team namespace.
    check(
        config,
        "as=pi-geek project=widgets",
        expect![[r#"
            principal: pi-geek (server)
            read: [widgets, principal-76bcb503ab76f9ca, shared]
            write: widgets
            layers:
              teamProject  widgets                    rw-
              userGlobal   principal-76bcb503ab76f9ca rw-
              serverShared shared                     r--
        "#]],
    );
}

#[test]
fn an_unsafe_rendering_disables_the_layer_for_that_project_only() {
    let config = TEAM_CODING.replace("team-{teamId}-project-{projectHash}", "team-{teamId}-{projectId}");
    check(
        &config,
        "as=pi-geek project=repo/x",
        expect![[r#"
            principal: pi-geek (server)
            read: [pi-geek.p-17241cca, pi-geek, shared]
            write: pi-geek.p-17241cca
            layers:
              userProject  pi-geek.p-17241cca rw-
              teamProject  -                  --- (disabled for team "pi": the template renders "team-pi-repo/x", which is not a valid key: namespace key "team-pi-repo/x" contains '/'; '/' and '\' are not allowed)
              userGlobal   pi-geek            rw-
              serverShared shared             r--
            promote: teamProject=- no; serverShared=shared no
            warning: teamProject layer of team "pi" disabled: the template renders "team-pi-repo/x", which is not a valid key: namespace key "team-pi-repo/x" contains '/'; '/' and '\' are not allowed
        "#]],
    );
    check(
        &config,
        "as=pi-geek project=repo-x",
        expect![[r#"
            principal: pi-geek (server)
            read: [pi-geek.p-0b1f8cb8, team-pi-repo-x, pi-geek, shared]
            write: pi-geek.p-0b1f8cb8
            layers:
              userProject  pi-geek.p-0b1f8cb8 rw-
              teamProject  team-pi-repo-x     rwp
              userGlobal   pi-geek            rw-
              serverShared shared             r--
            promote: teamProject=team-pi-repo-x yes; serverShared=shared no
        "#]],
    );
}

#[test]
fn a_user_project_overlay_that_is_too_long_is_disabled() {
    let long = "a".repeat(60);
    check(
        TEAM_CODING,
        &format!("as={long} project=repo"),
        expect![[r#"
            principal: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (server)
            read: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, shared]
            write: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
            layers:
              userProject  -                                                            --- (disabled: the project overlay "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.p-d3b4ca9d" is not a valid key (namespace key "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.p-d3b4ca9d" is 71 code points long; at most 64 are allowed))
              teamProject  -                                                            --- (skipped: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" is in no team)
              userGlobal   aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa rw-
              serverShared shared                                                       r--
            promote: teamProject=- no; serverShared=shared no
            warning: writeDefault userProject unavailable: disabled: the project overlay "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.p-d3b4ca9d" is not a valid key (namespace key "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.p-d3b4ca9d" is 71 code points long; at most 64 are allowed)
        "#]],
    );
}

#[test]
fn a_caller_supplied_team_project_name_is_an_ordinary_namespace() {
    let team_ns = format!("team-pi-project-{}", project_hash("repo"));
    // Rendered for this very request (so it exists), but named by the caller: policies decide.
    check(
        TEAM_CODING,
        &format!("as=pi-geek project=repo read={team_ns}"),
        expect![[r#"
            principal: pi-geek (server)
            read: []
            write: -
            layers:
              userProject  pi-geek.p-d3b4ca9d       rw-
              teamProject  team-pi-project-d3b4ca9d rwp
              userGlobal   pi-geek                  rw-
              serverShared shared                   r--
            promote: teamProject=team-pi-project-d3b4ca9d yes; serverShared=shared no
            error: forbidden — may not read "team-pi-project-d3b4ca9d": no policy names "team-pi-project-d3b4ca9d", so it is denied
        "#]],
    );
    check(
        TEAM_CODING,
        &format!("as=pi-geek project=repo write={team_ns}"),
        expect![[r#"
            principal: pi-geek (server)
            read: []
            write: -
            layers:
              userProject  pi-geek.p-d3b4ca9d       rw-
              teamProject  team-pi-project-d3b4ca9d rwp
              userGlobal   pi-geek                  rw-
              serverShared shared                   r--
            promote: teamProject=team-pi-project-d3b4ca9d yes; serverShared=shared no
            error: forbidden — may not write "team-pi-project-d3b4ca9d": no policy names "team-pi-project-d3b4ca9d", so it is denied
        "#]],
    );
    // Not rendered here and not in the store: 404; in the store: 403.
    check(
        TEAM_CODING,
        &format!("as=pi-geek read={team_ns}"),
        expect![[r#"
            principal: pi-geek (server)
            read: []
            write: -
            layers:
              userProject  -       --- (skipped: missing project context)
              teamProject  -       --- (skipped: missing project context)
              userGlobal   pi-geek rw-
              serverShared shared  r--
            promote: teamProject=- no; serverShared=shared no
            warning: writeDefault userProject unavailable: skipped: missing project context
            error: not_found — namespace "team-pi-project-d3b4ca9d" not found
        "#]],
    );
    check(
        TEAM_CODING,
        &format!("as=outsider read={team_ns} exists={team_ns}"),
        expect![[r#"
            principal: outsider (server)
            read: []
            write: -
            layers:
              userProject  -        --- (skipped: missing project context)
              teamProject  -        --- (skipped: "outsider" is in no team)
              userGlobal   outsider rw-
              serverShared shared   r--
            promote: teamProject=- no; serverShared=shared no
            warning: writeDefault userProject unavailable: skipped: missing project context
            error: forbidden — may not read "team-pi-project-d3b4ca9d": no policy names "team-pi-project-d3b4ca9d", so it is denied
        "#]],
    );
    // A policy for that name is what lets a caller name it.
    let config = format!("{TEAM_CODING}\n[namespaces.policies.{team_ns}]\nread = [\"auditor\"]\n");
    check(
        &config,
        &format!("as=auditor read={team_ns}"),
        expect![[r#"
            principal: auditor (server)
            read: [team-pi-project-d3b4ca9d]
            write: auditor
            layers:
              userProject  -                        --- (skipped: missing project context)
              teamProject  -                        --- (skipped: "auditor" is in no team)
              userGlobal   auditor                  rw-
              serverShared shared                   r--
              explicit     team-pi-project-d3b4ca9d r--
            promote: teamProject=- no; serverShared=shared no
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
}

#[test]
fn principals_that_mimic_rendered_names_get_hashed_self_namespaces() {
    let team_ns = format!("team-pi-project-{}", project_hash("repo"));
    let overlay = format!("pi-geek.p-{}", project_hash("repo"));
    check(
        TEAM_CODING,
        &format!("as={team_ns} project=repo"),
        expect![[r#"
            principal: team-pi-project-d3b4ca9d (server)
            read: [principal-ee939d3c4a279792.p-d3b4ca9d, principal-ee939d3c4a279792, shared]
            write: principal-ee939d3c4a279792.p-d3b4ca9d
            layers:
              userProject  principal-ee939d3c4a279792.p-d3b4ca9d rw-
              teamProject  -                                     --- (skipped: "team-pi-project-d3b4ca9d" is in no team)
              userGlobal   principal-ee939d3c4a279792            rw-
              serverShared shared                                r--
            promote: teamProject=- no; serverShared=shared no
        "#]],
    );
    check(
        TEAM_CODING,
        &format!("as={overlay}"),
        expect![[r#"
            principal: pi-geek.p-d3b4ca9d (server)
            read: [principal-1b78c3ff72dd3e9b, shared]
            write: principal-1b78c3ff72dd3e9b
            layers:
              userProject  -                          --- (skipped: missing project context)
              teamProject  -                          --- (skipped: "pi-geek.p-d3b4ca9d" is in no team)
              userGlobal   principal-1b78c3ff72dd3e9b rw-
              serverShared shared                     r--
            promote: teamProject=- no; serverShared=shared no
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
    check(
        TEAM_CODING,
        "as=principal-0123456789abcdef",
        expect![[r#"
            principal: principal-0123456789abcdef (server)
            read: [principal-5a61f4c938a20def, shared]
            write: principal-5a61f4c938a20def
            layers:
              userProject  -                          --- (skipped: missing project context)
              teamProject  -                          --- (skipped: "principal-0123456789abcdef" is in no team)
              userGlobal   principal-5a61f4c938a20def rw-
              serverShared shared                     r--
            promote: teamProject=- no; serverShared=shared no
            warning: writeDefault userProject unavailable: skipped: missing project context
        "#]],
    );
    check_can(
        TEAM_CODING,
        &format!("as={team_ns}"),
        &format!("read {team_ns}"),
        expect![[r#"deny: no policy names "team-pi-project-d3b4ca9d", so it is denied"#]],
    );
    check_can(
        TEAM_CODING,
        &format!("as={overlay}"),
        &format!("read {overlay}"),
        expect![[r#"deny: no policy names "pi-geek.p-d3b4ca9d", so it is denied"#]],
    );
}

#[test]
fn a_caller_chosen_project_id_never_renders_someone_elses_own_namespace() {
    // `{projectNamespace}` is the caller's project id when that is a valid key: a team member
    // could name a project after another principal's (hashed) own namespace or its overlay.
    let config = TEAM_CODING.replace("team-{teamId}-project-{projectHash}", "{projectNamespace}");
    let geek_self = crate::support::policy(&config).self_namespace(&crate::support::principal("pi-geek"));
    let geek_overlay = format!("{geek_self}.p-{}", project_hash("repo"));
    check(
        &config,
        &format!("as=pi-friend project={geek_self}"),
        expect![[r#"
            principal: pi-friend (server)
            read: [principal-dd041eee82090113.p-923ec301, principal-dd041eee82090113, shared]
            write: principal-dd041eee82090113.p-923ec301
            layers:
              userProject  principal-dd041eee82090113.p-923ec301 rw-
              teamProject  -                                     --- (disabled for team "pi": renders "principal-76bcb503ab76f9ca", a name reserved for principals' own namespaces)
              userGlobal   principal-dd041eee82090113            rw-
              serverShared shared                                r--
            promote: teamProject=- no; serverShared=shared no
            warning: teamProject layer of team "pi" disabled: renders "principal-76bcb503ab76f9ca", a name reserved for principals' own namespaces
        "#]],
    );
    check(
        &config,
        &format!("as=pi-friend project={geek_overlay}"),
        expect![[r#"
            principal: pi-friend (server)
            read: [principal-dd041eee82090113.p-5d1cafb0, principal-dd041eee82090113, shared]
            write: principal-dd041eee82090113.p-5d1cafb0
            layers:
              userProject  principal-dd041eee82090113.p-5d1cafb0 rw-
              teamProject  -                                     --- (disabled for team "pi": renders "principal-76bcb503ab76f9ca.p-d3b4ca9d", a name reserved for principals' own namespaces)
              userGlobal   principal-dd041eee82090113            rw-
              serverShared shared                                r--
            promote: teamProject=- no; serverShared=shared no
            warning: teamProject layer of team "pi" disabled: renders "principal-76bcb503ab76f9ca.p-d3b4ca9d", a name reserved for principals' own namespaces
        "#]],
    );
    // Names merely containing the marks are fine.
    check(
        &config,
        "as=pi-friend project=principal-x.p-1",
        expect![[r#"
            principal: pi-friend (server)
            read: [principal-dd041eee82090113.p-ce1d3e74, principal-x.p-1, principal-dd041eee82090113, shared]
            write: principal-dd041eee82090113.p-ce1d3e74
            layers:
              userProject  principal-dd041eee82090113.p-ce1d3e74 rw-
              teamProject  principal-x.p-1                       rwp
              userGlobal   principal-dd041eee82090113            rw-
              serverShared shared                                r--
            promote: teamProject=principal-x.p-1 yes; serverShared=shared no
        "#]],
    );
}

#[test]
fn a_template_never_takes_over_an_existing_namespace_of_another_kind() {
    // `{projectId}` is the caller's: with this template, project "research" would land the
    // team layer on the explicit namespace "pi-research" that exists already.
    let config = TEAM_CODING.replace("team-{teamId}-project-{projectHash}", "{teamId}-{projectId}");
    check(
        &config,
        "as=pi-geek project=research exists=pi-research",
        expect![[r#"
        principal: pi-geek (server)
        read: [principal-76bcb503ab76f9ca.p-62dbcecc, principal-76bcb503ab76f9ca, shared]
        write: principal-76bcb503ab76f9ca.p-62dbcecc
        layers:
          userProject  principal-76bcb503ab76f9ca.p-62dbcecc rw-
          teamProject  -                                     --- (disabled for team "pi": renders "pi-research", an existing explicit namespace)
          userGlobal   principal-76bcb503ab76f9ca            rw-
          serverShared shared                                r--
        promote: teamProject=- no; serverShared=shared no
        warning: teamProject layer of team "pi" disabled: renders "pi-research", an existing explicit namespace
    "#]],
    );
    // A namespace the template created before (kind team-project) is the team's, as it should be.
    check(
        TEAM_CODING,
        "as=pi-geek project=github.com/pi/repo exists=team-pi-project-cdc6d3da",
        expect![[r#"
        principal: pi-geek (server)
        read: [pi-geek.p-cdc6d3da, team-pi-project-cdc6d3da, pi-geek, shared]
        write: pi-geek.p-cdc6d3da
        layers:
          userProject  pi-geek.p-cdc6d3da       rw-
          teamProject  team-pi-project-cdc6d3da rwp
          userGlobal   pi-geek                  rw-
          serverShared shared                   r--
        promote: teamProject=team-pi-project-cdc6d3da yes; serverShared=shared no
    "#]],
    );
}
