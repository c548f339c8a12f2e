//! The conformance suite: one `pub async fn check_*(store: &dyn Store)` per bullet of the
//! [`Store`](memory_core::Store) contract, grouped by area. Each check expects an empty store,
//! states one documented behaviour, and panics with a message naming it when the store
//! breaks it.
//!
//! [`store_conformance!`](crate::store_conformance) turns every check into a test; the list
//! of checks lives in one place (the hidden `__conformance_checks!` macro below), from which
//! both the tests and [`CHECKS`] are generated, and a test of this crate fails when a
//! `check_*` function is missing from it.

pub mod audit;
pub mod capabilities;
pub mod changes;
pub mod embeddings;
pub mod entities;
pub mod keys;
pub mod maintenance;
pub mod memories;
pub mod namespaces;
pub mod paging;
pub mod proposals;
pub mod tenancy;
pub mod usage;
pub mod visibility;

pub use audit::*;
pub use capabilities::*;
pub use changes::*;
pub use embeddings::*;
pub use entities::*;
pub use keys::*;
pub use maintenance::*;
pub use memories::*;
pub use namespaces::*;
pub use paging::*;
pub use proposals::*;
pub use tenancy::*;
pub use usage::*;
pub use visibility::*;

/// The one list of checks. Calls `$callback!` (a macro of this crate) with `[$args]` followed
/// by every check name, so everything that needs the list is generated from here.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    ($callback:ident [$($args:tt)*]) => {
        $crate::$callback! {
            [$($args)*]
            // namespaces
            check_create_namespace_then_get_returns_it,
            check_get_missing_namespace_is_none,
            check_create_duplicate_namespace_is_already_exists,
            check_deleted_namespace_key_stays_taken,
            check_create_invalid_namespace_is_invalid_input,
            check_list_namespaces_orders_by_key_bytes,
            check_list_namespaces_hides_deleted_unless_asked,
            check_list_namespaces_applies_every_filter,
            check_update_namespace_applies_patch_and_stamps_updated_at,
            check_update_namespace_needs_a_live_namespace,
            check_invalid_namespace_update_changes_nothing,
            check_touch_namespace_records_usage_times,
            check_touch_namespace_needs_a_live_namespace,
            check_archive_namespace_reports_whether_it_changed,
            check_restore_namespace_reports_whether_it_changed,
            check_archive_and_restore_need_a_live_namespace,
            check_archived_namespace_rejects_puts,
            check_archived_namespace_keeps_its_memories,
            check_delete_namespace_reports_whether_it_changed,
            check_delete_missing_namespace_is_not_found,
            check_delete_namespace_tombstones_its_memories,
            check_purge_frees_a_deleted_namespace_key,
            check_purge_keeps_a_deleted_namespace_with_memories_left,
            check_put_advances_last_write_at,
            check_namespace_version_grows_with_every_catalog_change,
            check_namespace_creator_round_trips,
            // memories
            check_put_then_get_returns_the_memory,
            check_put_marks_the_memory_an_input_supersedes,
            check_get_missing_memory_is_none,
            check_put_trims_content,
            check_put_duplicate_content_bumps_evidence,
            check_put_duplicate_within_batch_bumps_evidence,
            check_dedupe_is_per_namespace,
            check_dedupe_ignores_tombstoned_memories,
            check_dedupe_is_per_layer,
            check_dedupe_ignores_superseded_memories,
            check_duplicate_merges_what_it_adds,
            check_duplicate_within_batch_merges,
            check_duplicate_of_another_category_is_conflict,
            check_update_conflict_is_per_layer,
            check_put_bounds_provenance_text,
            check_find_duplicates_agrees_with_put,
            check_a_superseded_input_is_no_dedupe_target,
            check_put_batch_with_an_invalid_input_writes_nothing,
            check_put_into_missing_namespace_writes_nothing,
            check_put_with_a_taken_id_is_already_exists,
            check_put_with_an_id_repeated_in_batch_is_already_exists,
            check_put_working_memory_requires_expiry,
            check_put_empty_batch_is_ok,
            check_get_memories_keeps_order_and_skips_missing,
            check_get_returns_superseded_and_expired_memories,
            check_update_memory_bumps_seq_and_updated_at,
            check_update_missing_or_tombstoned_memory_is_not_found,
            check_update_to_duplicate_content_is_conflict,
            check_update_content_moves_the_dedupe_key,
            check_invalid_memory_update_changes_nothing,
            check_delete_memory_reports_whether_it_was_live,
            check_delete_missing_memory_is_not_found,
            check_tombstoned_memory_is_invisible,
            check_purge_removes_tombstones_up_to_the_cutoff,
            check_move_memories_keeps_ids_and_merges_duplicates,
            check_move_memories_is_all_or_nothing,
            // embeddings
            check_get_embeddings_returns_each_memorys_vector_of_the_model,
            check_tombstoned_memory_has_no_embedding,
            check_content_update_drops_embeddings_and_other_updates_keep_them,
            check_duplicate_inputs_embedding_is_ignored,
            check_move_keeps_embeddings,
            check_purge_removes_embeddings,
            check_put_with_an_invalid_embedding_writes_nothing,
            // paging
            check_list_paging_visits_every_item_once,
            check_list_orders_by_id,
            check_list_filters_select_exactly_the_matches,
            check_count_matches_list,
            check_page_limit_out_of_range_is_invalid_input,
            check_malformed_cursor_is_invalid_input,
            check_next_cursor_is_set_exactly_when_more_follow,
            check_paging_during_writes_visits_stable_items_once,
            // changes
            check_changes_since_lists_latest_states_in_seq_order,
            check_changes_since_pages_by_limit,
            check_changes_since_forgets_purged_memories,
            check_seq_strictly_increases_across_operations,
            check_seq_is_shared_by_all_tenants,
            check_last_seq_is_the_latest_change,
            check_store_id_is_stable,
            check_taken_memory_ids_include_tombstones_not_other_tenants,
            // usage
            check_usage_statistics_do_not_advance_seq,
            check_record_outcomes_applies_each_listed_id,
            check_record_outcomes_decays_utility_between_reports,
            check_record_outcomes_with_a_missing_id_changes_nothing,
            check_record_outcomes_rejects_rewards_out_of_range,
            check_record_outcomes_rejects_times_out_of_range,
            check_record_access_skips_missing_memories,
            // audit
            check_append_audit_then_list_returns_it,
            check_append_audit_with_a_taken_id_is_already_exists,
            check_append_invalid_audit_is_invalid_input,
            check_list_audit_applies_every_filter,
            check_list_audit_pages_in_id_order,
            // keys
            check_create_api_key_then_get_and_find,
            check_missing_api_key_is_none,
            check_api_key_with_a_taken_id_or_hash_is_already_exists,
            check_invalid_api_key_is_invalid_input,
            check_find_revoked_api_key_is_none,
            check_update_api_key_scopes_replaces_them,
            check_update_revoked_api_key_scopes_is_conflict,
            check_update_api_key_scopes_naming_a_namespace_twice_is_invalid_input,
            check_update_missing_api_key_scopes_is_not_found,
            check_revoke_api_key_reports_whether_it_changed,
            check_list_api_keys_orders_by_id_including_revoked,
            // proposals
            check_create_proposal_then_get_returns_it,
            check_get_missing_proposal_is_none,
            check_create_proposal_with_a_taken_id_is_already_exists,
            check_invalid_proposal_is_invalid_input,
            check_decide_proposal_records_the_decision,
            check_deciding_twice_is_conflict,
            check_decide_missing_proposal_is_not_found,
            check_list_proposals_filters_and_pages,
            // tenancy
            check_tenants_have_separate_namespace_catalogs,
            check_list_tenants_names_each_tenant_with_a_namespace,
            check_other_tenants_memories_behave_as_missing,
            check_memory_ids_are_scoped_by_tenant,
            check_audit_ids_are_scoped_by_tenant,
            check_proposal_ids_are_scoped_by_tenant,
            check_dedupe_never_crosses_tenants,
            check_put_into_other_tenants_namespace_is_not_found,
            check_other_tenants_audit_records_are_invisible,
            check_other_tenants_api_keys_behave_as_missing,
            check_other_tenants_proposals_behave_as_missing,
            // visibility
            check_read_your_writes_across_tasks,
            check_concurrent_puts_of_the_same_content_store_it_once,
            check_concurrent_writers_get_distinct_seqs,
            // entities
            check_link_entities_creates_then_finds_entities_by_kind_and_key,
            check_relinking_changes_nothing,
            check_mentions_count_live_memories_only,
            check_link_entities_with_a_bad_name_changes_nothing,
            check_link_entities_needs_live_memories_of_the_namespace,
            check_list_entities_applies_every_filter,
            check_list_entities_pages_in_id_order,
            check_entity_memories_pages_live_memories_in_id_order,
            check_entities_of_orders_by_position_then_entity_id,
            check_move_memories_moves_entity_links,
            check_purge_removes_links_and_unlinked_entities,
            check_purge_removes_a_deleted_namespaces_entities_and_job_runs,
            check_other_tenants_entities_behave_as_missing,
            // maintenance
            check_try_lock_job_takes_a_free_lock,
            check_try_lock_job_renews_for_its_holder,
            check_try_lock_job_refuses_another_holder_while_the_lease_runs,
            check_try_lock_job_takes_over_a_stale_lock,
            check_try_lock_job_rejects_an_invalid_lock,
            check_unlock_job_releases_only_for_its_holder,
            check_record_job_run_replaces_the_latest,
            check_record_invalid_job_run_is_invalid_input,
            check_list_job_runs_orders_by_namespace_then_job,
            check_other_tenants_locks_and_job_runs_are_separate,
            // capabilities
            check_capabilities_are_stable_and_match_the_change_signal,
        }
    };
}

/// Expands to one test per check; see [`store_conformance!`](crate::store_conformance).
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ([$factory:path] $($check:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let fixture = $factory().await;
                $crate::conformance::$check(&*fixture.store).await;
            }
        )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_names {
    ([] $($check:ident,)*) => {
        /// The name of every check, in suite order (areas: namespaces, memories, embeddings, paging,
        /// changes, usage, audit, keys, proposals, tenancy, visibility, entities, maintenance,
        /// capabilities).
        pub const CHECKS: &[&str] = &[$(stringify!($check)),*];
    };
}

crate::__conformance_checks!(__conformance_names []);

/// Runs the whole conformance suite against a store factory: expands, in the calling module,
/// into one `#[tokio::test]` per check, named after the check, that builds a fresh
/// [`Fixture`](crate::Fixture) with `$factory().await` and runs the check on its store.
///
/// `$factory` is a path to an `async fn() -> Fixture`. The calling crate needs `tokio` as a
/// dev-dependency with the features `macros` and `rt-multi-thread`; the tests run on a
/// two-worker multi-threaded runtime, so blocking backends behave as in production.
///
/// ```no_run
/// async fn fresh() -> memory_testkit::Fixture {
///     memory_testkit::Fixture::new(std::sync::Arc::new(memory_core::InMemoryStore::new()))
/// }
/// memory_testkit::store_conformance!(fresh);
/// ```
#[macro_export]
macro_rules! store_conformance {
    ($factory:path) => {
        $crate::__conformance_checks!(__conformance_tests[$factory]);
    };
}
