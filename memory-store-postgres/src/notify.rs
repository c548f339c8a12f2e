//! The doorbell: a task that LISTENs for the notifications writers send at commit and rings
//! the store's [`ChangeSignal`]. Notifications sent while it is disconnected are lost, so it is
//! only ever a doorbell: the signal goes dead while the connection is down, readers poll the
//! change feed meanwhile, and reconnecting rings once more so they catch up from their
//! checkpoints.

use std::sync::{Arc, Weak};
use std::time::Duration;

use memory_core::ChangeSignal;
use sqlx::PgPool;
use sqlx::postgres::PgListener;

/// The channel writers notify (the payload is the tenant).
pub(crate) const CHANNEL: &str = "memory_changes";

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Starts the listener; it stops once the signal has no other owner (the store is gone).
pub(crate) fn spawn(pool: PgPool, signal: &Arc<ChangeSignal>) {
    let weak = Arc::downgrade(signal);
    tokio::spawn(async move { listen(pool, weak).await });
}

async fn listen(pool: PgPool, signal: Weak<ChangeSignal>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let Some(live) = signal.upgrade() else { return };
        let mut listener = match connect(&pool).await {
            Ok(l) => l,
            Err(_) => {
                live.set_live(false);
                drop(live);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        backoff = Duration::from_millis(50);
        live.set_live(true);
        drop(live);
        loop {
            // Wake now and then to notice that the store is gone.
            match tokio::time::timeout(Duration::from_secs(1), listener.try_recv()).await {
                Ok(Ok(Some(_))) => match signal.upgrade() {
                    Some(s) => s.ring(),
                    None => return,
                },
                Err(_elapsed) => {
                    if signal.strong_count() == 0 {
                        return;
                    }
                }
                // The connection was lost (`Ok(None)`) or failed: go dead and reconnect.
                Ok(Ok(None)) | Ok(Err(_)) => {
                    if let Some(s) = signal.upgrade() {
                        s.set_live(false);
                    }
                    break;
                }
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
