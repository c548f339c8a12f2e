//! Checks of what a backend says it offers: the same answer on every call, and a change
//! signal exactly when it offers change notification.

use memory_core::Store;

use crate::fixtures::*;

/// `capabilities` answers the same on every call, before and after writes, and
/// `change_signal` is `Some` exactly when `change_notification` is set.
pub async fn check_capabilities_are_stable_and_match_the_change_signal(store: &dyn Store) {
    let first = store.capabilities();
    let signal_matches = |when: &str| {
        let caps = store.capabilities();
        assert_eq!(caps, first, "capabilities changed {when}");
        assert_eq!(
            store.change_signal().is_some(),
            caps.change_notification,
            "change_signal must be Some exactly when change_notification is set ({when}; {caps:?})"
        );
    };
    signal_matches("on a second call");
    create_namespace(store, &tenant(), "research").await;
    put(store, &tenant(), new_memory("research", "a write")).await;
    signal_matches("after writes");
}
